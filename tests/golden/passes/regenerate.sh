#!/bin/bash
# Rewrites NAME.out for every NAME.gir here by running the pipeline on its `// RUN:` line. Run it after an
# intended change to a pass, then review `git diff tests/golden/passes` before committing.
#   tests/golden/passes/regenerate.sh build/tools/gantry
set -euo pipefail
gantry=$(realpath "${1:-build/tools/gantry}")
cd "$(dirname "$0")"
for f in *.gir; do
  pipeline=$(head -1 "$f" | sed -n 's|^// RUN: ||p')
  [ -n "$pipeline" ] || { echo "$f: first line must be '// RUN: PIPELINE'" >&2; exit 1; }
  "$gantry" ir "$f" --passes="$pipeline" --verify-each -o "${f%.gir}.out"
done
