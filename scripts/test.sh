#!/bin/bash
# Builds Gantry (installing what is missing) and runs the whole test suite; ends with `N passed, N failed`.
# Exits non-zero if a build or any test fails. This is README's test command and what CI runs:
#   1. build/ (g++): every test;
#   2. build-asan/ (clang 19, AddressSanitizer + UndefinedBehaviorSanitizer, scripts/sanitize.sh): every test again;
#   3. each libFuzzer target for CI_FUZZ_SECONDS (default 60) seconds (scripts/fuzz.sh).
set -uo pipefail
cd "$(dirname "$0")/.."

# What only the tests need: PyTorch and NumPy for the comparison with an independent implementation.
bash scripts/install-missing.sh python3-torch python3-numpy libopenblas0-pthread

summary() {  # summary TESTLOG.json...: prints "passed failed skipped" over Meson test logs
  /usr/bin/python3 - "$@" <<'PY'
import json, sys
passed = failed = skipped = 0
for path in sys.argv[1:]:
    try:
        lines = open(path).readlines()
    except OSError:
        failed += 1
        continue
    for line in lines:
        result = json.loads(line)["result"]
        if result in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif result == "SKIP":
            skipped += 1
        else:
            failed += 1
print(passed, failed, skipped)
PY
}

status=0
extra_passed=0 extra_failed=0
if ! bash scripts/setup.sh; then
  echo "build failed"
  echo "0 passed, 1 failed"
  exit 1
fi
meson test -C build --print-errorlogs --num-processes 2 || status=1

echo "== the suite again under AddressSanitizer and UndefinedBehaviorSanitizer (build-asan/)"
rm -f build-asan/meson-logs/testlog.json
if ! bash scripts/sanitize.sh; then
  status=1
  [ -f build-asan/meson-logs/testlog.json ] || extra_failed=$((extra_failed + 1))  # the build itself failed
fi

echo "== fuzzing each reader for ${CI_FUZZ_SECONDS:-60} s"
fuzz_log=$(mktemp)
bash scripts/fuzz.sh "${CI_FUZZ_SECONDS:-60}" | tee "$fuzz_log" || status=1
extra_passed=$((extra_passed + $(grep -c ', no crash$' "$fuzz_log")))
extra_failed=$((extra_failed + $(grep -c 'FOUND A BUG\|fuzz build failed' "$fuzz_log")))
rm -f "$fuzz_log"

logs=(build/meson-logs/testlog.json)
[ -f build-asan/meson-logs/testlog.json ] && logs+=(build-asan/meson-logs/testlog.json)
read -r passed failed skipped < <(summary "${logs[@]}")
passed=$((passed + extra_passed))
failed=$((failed + extra_failed))
echo "$passed passed, $failed failed$([ "$skipped" -gt 0 ] && echo ", $skipped skipped")"
[ "$failed" -eq 0 ] || status=1
exit $status
