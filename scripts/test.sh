#!/bin/bash
# Builds Gantry (installing what is missing) and runs the whole test suite; ends with `N passed, N failed`.
# Exits non-zero if the build or any test fails. This is README's test command and what CI runs.
set -uo pipefail
cd "$(dirname "$0")/.."

# What only the tests need: PyTorch and NumPy for the comparison with an independent implementation.
bash scripts/install-missing.sh python3-torch python3-numpy libopenblas0-pthread

if ! bash scripts/setup.sh; then
  echo "build failed"
  echo "0 passed, 1 failed"
  exit 1
fi

meson test -C build --print-errorlogs --num-processes 2
status=$?

/usr/bin/python3 - build/meson-logs/testlog.json <<'PY'
import json, sys
passed = failed = skipped = 0
for line in open(sys.argv[1]):
    result = json.loads(line)["result"]
    if result in ("OK", "EXPECTEDFAIL"):
        passed += 1
    elif result == "SKIP":
        skipped += 1
    else:
        failed += 1
print(f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
PY
exit $status
