#!/bin/bash
# Training steps per second, Gantry against an independent PyTorch implementation, side by side in one run on this
# machine (bench/steps.py: same-step check, compile time cold and cached, 1 and 2 threads, GFLOP/s, peak RSS).
# Installs what is missing (python3-torch, the threaded OpenBLAS, matplotlib for the scaling plot) and builds.
#   bench/steps.sh [--scaling] [--cases ring8,wgan_gp_toy] [--repeats N] [--quick]
# Writes bench/results/steps.md, steps.json and (with --scaling) scaling.png.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-missing.sh python3-numpy python3-torch libopenblas0-pthread python3-matplotlib
bash scripts/setup.sh >/dev/null
exec /usr/bin/python3 bench/steps.py --gantry build/tools/gantry "$@"
