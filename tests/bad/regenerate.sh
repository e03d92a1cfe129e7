#!/bin/bash
# Rewrites the `// expect:` first line of every bad program from what gantry prints now. Run it after an intended
# change to a diagnostic, then review `git diff tests/bad` before committing.
#   tests/bad/regenerate.sh build/tools/gantry
set -euo pipefail
gantry=$(realpath "${1:-build/tools/gantry}")
cd "$(dirname "$0")/ir"
for f in *.gir; do
  msg=$("$gantry" ir "$f" 2>&1 >/dev/null || true)
  # Replace the first line only; the rest of the file (binary bytes included) is kept exactly.
  /usr/bin/python3 - "$f" "$msg" <<'PY'
import sys
path, msg = sys.argv[1], sys.argv[2]
data = open(path, 'rb').read()
rest = data[data.index(b'\n') + 1:] if b'\n' in data else b''
open(path, 'wb').write(b'// expect: ' + msg.encode() + b'\n' + rest)
PY
done
