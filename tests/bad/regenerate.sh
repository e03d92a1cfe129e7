#!/bin/bash
# Rewrites the expectations of every bad program from what gantry prints now. Run it after an intended change to
# a diagnostic, then review `git diff tests/bad` before committing.
#   tests/bad/regenerate.sh build/tools/gantry
#  - tests/bad/ir/*.gir: the first line, `// expect: DIAGNOSTIC`;
#  - tests/bad/gan/*.gan: the leading `# expect: DIAGNOSTIC` lines (errors and notes, in order), after any
#    `# set: KEY=VALUE` lines, which are passed to `gantry check` as --set.
set -euo pipefail
gantry=$(realpath "${1:-build/tools/gantry}")
cd "$(dirname "$0")"

(cd ir && for f in *.gir; do
  msg=$("$gantry" ir "$f" 2>&1 >/dev/null || true)
  /usr/bin/python3 - "$f" "$msg" <<'PY'
import sys
path, msg = sys.argv[1], sys.argv[2]
data = open(path, 'rb').read()
rest = data[data.index(b'\n') + 1:] if b'\n' in data else b''
open(path, 'wb').write(b'// expect: ' + msg.encode() + b'\n' + rest)
PY
done)

(cd gan && for f in *.gan; do
  sets=()
  while IFS= read -r line; do
    case "$line" in
      "# set: "*) sets+=(--set "${line#\# set: }") ;;
      "# expect: "*) ;;
      *) break ;;
    esac
  done < "$f"
  out=$("$gantry" check "$f" "${sets[@]}" 2>&1 >/dev/null || true)
  /usr/bin/python3 - "$f" "$out" <<'PY'
import re, sys
path, out = sys.argv[1], sys.argv[2]
data = open(path, 'rb').read()
lines = data.split(b'\n')
i = 0
sets = []
while i < len(lines) and (lines[i].startswith(b'# set: ') or lines[i].startswith(b'# expect: ')):
    if lines[i].startswith(b'# set: '):
        sets.append(lines[i])
    i += 1
diags = [l for l in out.split('\n') if re.match(r'^[^ ].*: (error|note): ', l)]
head = sets + [b'# expect: ' + d.encode() for d in diags]
open(path, 'wb').write(b'\n'.join(head + lines[i:]))
PY
done)
