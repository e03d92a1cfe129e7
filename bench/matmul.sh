#!/bin/bash
# Matmul GFLOP/s on one and on two threads: Gantry's JIT, NumPy's OpenBLAS and torch.mm, measured one after the other in one
# run on this machine, with the ratios. Installs what is missing (python3-numpy, python3-torch and the threaded
# OpenBLAS, without which NumPy falls back to the slow reference BLAS).
#   bench/matmul.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-missing.sh python3-numpy python3-torch libopenblas0-pthread
bash scripts/setup.sh >/dev/null
echo "host: $(build/tools/gantry --version | tail -1)"
# OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE, set on some machines here, slow OpenBLAS down: unset for this run only.
for threads in 1 2; do
  # Gantry first, to the end, then NumPy and torch: never two measurements at once on this 2-core machine.
  gantry=$(build/bench/gantry-bench-matmul "$threads")
  echo "$gantry" |
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS="$threads" OMP_NUM_THREADS="$threads" \
      /usr/bin/python3 bench/matmul.py "$threads"
done
