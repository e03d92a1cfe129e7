#!/bin/bash
# Installs what Gantry needs on Debian 12 (apt-get, as root or through sudo), configures build/ and builds it.
# Idempotent: installs only missing packages and configures only once; every run rebuilds what changed.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  meson ninja-build g++ pkg-config   # the build
  llvm-19-dev                        # the backend (LLVM 14 may also be installed: native/llvm19.ini picks 19)
  libfmt-dev catch2 libcli11-dev     # formatting, tests, the command line
  libzip-dev                         # .npz files (parameters, batches, gradients)
  python3                            # Meson itself, and scripts/test.sh reading Meson's test log
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -f build/build.ninja ]; then
  meson setup build --native-file native/llvm19.ini
fi
ninja -C build
