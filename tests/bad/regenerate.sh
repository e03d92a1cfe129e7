#!/bin/bash
# Rewrites the expectations of every bad program from what gantry prints now. Run it after an intended change to
# a diagnostic, then review `git diff tests/bad` before committing.
#   tests/bad/regenerate.sh build/tools/gantry
#  - tests/bad/ir/*.gir: the first line, `// expect: DIAGNOSTIC`;
#  - tests/bad/gan/*.gan: the leading `# expect: DIAGNOSTIC` lines (errors and notes, in order), after any
#    `# set: KEY=VALUE` lines, which are passed to `gantry check` as --set.
# A new file gets its expectation lines in a first pass and its line numbers right in a second; the script runs
# until nothing changes. It stops, changing nothing more, if gantry does not answer a bad program with exit code 1.
set -euo pipefail
gantry=$(realpath "${1:-build/tools/gantry}")
"$gantry" --version >/dev/null || { echo "regenerate: cannot run $gantry" >&2; exit 1; }
cd "$(dirname "$0")"

# Runs gantry on a bad program; prints its stderr; fails unless the exit code is 1.
diagnose() {
  local out status=0
  out=$("$gantry" "$@" 2>&1 >/dev/null) || status=$?
  if [ "$status" -ne 1 ]; then
    echo "regenerate: 'gantry $*' exited with $status, not 1:" >&2
    echo "$out" >&2
    exit 1
  fi
  printf '%s' "$out"
}

regenerate_ir() {
  (cd ir && for f in *.gir; do
    msg=$(diagnose ir "$f")
    /usr/bin/python3 - "$f" "$msg" <<'PY'
import sys
path, msg = sys.argv[1], sys.argv[2]
data = open(path, 'rb').read()
rest = data[data.index(b'\n') + 1:] if b'\n' in data else b''
open(path, 'wb').write(b'// expect: ' + msg.encode() + b'\n' + rest)
PY
  done)
}

regenerate_gan() {
  (cd gan && for f in *.gan; do
    sets=()
    while IFS= read -r line; do
      case "$line" in
        "# set: "*) sets+=(--set "${line#\# set: }") ;;
        "# expect: "*) ;;
        *) break ;;
      esac
    done < "$f"
    out=$(diagnose check "$f" "${sets[@]}")
    /usr/bin/python3 - "$f" "$out" <<'PY'
import sys
path, out = sys.argv[1], sys.argv[2]
data = open(path, 'rb').read()
lines = data.split(b'\n')
i = 0
sets = []
while i < len(lines) and (lines[i].startswith(b'# set: ') or lines[i].startswith(b'# expect: ')):
    if lines[i].startswith(b'# set: '):
        sets.append(lines[i])
    i += 1
# Diagnostics start with the file's name; the source lines and carets under them do not.
diags = [l for l in out.split('\n') if l.startswith(path + ':') and (': error: ' in l or ': note: ' in l)]
head = sets + [b'# expect: ' + d.encode() for d in diags]
open(path, 'wb').write(b'\n'.join(head + lines[i:]))
PY
  done)
}

for round in 1 2 3; do
  before=$(cat ir/*.gir gan/*.gan | md5sum)
  regenerate_ir
  regenerate_gan
  [ "$before" != "$(cat ir/*.gir gan/*.gan | md5sum)" ] || exit 0
done
echo "regenerate: expectations still changing after 3 rounds" >&2
exit 1
