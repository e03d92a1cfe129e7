#!/bin/bash
# The second build configuration (issue 8): build-asan/, clang 19 with AddressSanitizer and
# UndefinedBehaviorSanitizer (every UB check fatal) and libFuzzer's coverage instrumentation, so the same build
# serves the fuzzers (scripts/fuzz.sh). Builds it and runs the whole test suite in it.
#   scripts/sanitize.sh [--configure-only]
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-missing.sh clang-19 libclang-rt-19-dev >/dev/null || exit 1
bash scripts/setup.sh --deps-only >/dev/null || exit 1
if [ ! -f build-asan/build.ninja ]; then
  CC=clang-19 CXX=clang++-19 meson setup build-asan --native-file native/llvm19.ini -Dfuzz=true \
    -Db_sanitize=address,undefined -Db_lundef=false -Dcpp_args=-fno-sanitize-recover=all >/dev/null || exit 1
fi
[ "${1:-}" != "--configure-only" ] || exit 0
ninja -C build-asan || { echo "sanitizer build failed"; exit 1; }
# Leaks are reported too; stack traces name the line.
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
meson test -C build-asan --print-errorlogs --num-processes 2 --timeout-multiplier 4
