#!/bin/bash
# Rewrites the golden AST and IR of every example from what gantry prints now. Run it after an intended change to
# the parser or the lowering, then review `git diff tests/golden` before committing.
#   tests/golden/regenerate.sh build/tools/gantry
set -euo pipefail
gantry=$(realpath "${1:-build/tools/gantry}")
cd "$(dirname "$0")/../../examples"
for f in *.gan; do
  name=${f%.gan}
  "$gantry" ir "$f" --emit=ast -o "../tests/golden/$name.ast"
  "$gantry" ir "$f" --emit=ir -o "../tests/golden/$name.gir"
done
