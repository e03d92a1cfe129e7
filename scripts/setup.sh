#!/bin/bash
# Installs what Gantry needs on Debian 12 (apt-get, as root or through sudo), configures build/ and builds it.
# Idempotent: installs only missing packages and configures only once; every run rebuilds what changed.
#   scripts/setup.sh [--deps-only]      (--deps-only: install the packages, build nothing)
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  meson ninja-build g++ pkg-config   # the build
  llvm-19-dev                        # the backend (LLVM 14 may also be installed: native/llvm19.ini picks 19)
  libfmt-dev catch2 libcli11-dev     # formatting, tests, the command line
  libzip-dev                         # .npz files (parameters, batches, gradients)
  libpng-dev                         # the training pictures
  python3                            # Meson itself, and scripts/test.sh reading Meson's test log
)

bash scripts/install-missing.sh "${packages[@]}"
[ "${1:-}" != "--deps-only" ] || exit 0

if [ ! -f build/build.ninja ]; then
  meson setup build --native-file native/llvm19.ini
fi
ninja -C build
