#!/bin/bash
# Soak test (issue 8; not in CI, about a minute or two per million steps on one core): trains a small model for
# STEPS steps twice, once straight through and once killed with SIGKILL at random moments and resumed each time
# from its last checkpoint, then checks that
#   - the two final checkpoints are bit-identical (every parameter and optimizer state array, the step, the seed);
#   - the uninterrupted run's memory stays flat: resident memory at the end exceeds that at a quarter of the run
#     by less than 8 MB (a leak of a few bytes per step would show as many megabytes here).
#   scripts/soak.sh [STEPS] [KILLS]          (defaults: 1000000 steps, 8 kills)
set -uo pipefail
cd "$(dirname "$0")/.."
steps=${1:-1000000}
kills=${2:-8}
gantry=$(realpath build/tools/gantry)
[ -x "$gantry" ] || { echo "soak: build first (bash scripts/setup.sh)"; exit 1; }
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$work"' EXIT
eval_every=$((steps / 50))
cat > "$work/soak.gan" <<GAN
data  x ~ bimodal1d(left: -2, right: 2, std: 0.2)
noise z ~ normal(dim: 4)
net G(z) -> 1 { relu(linear(16)); linear(1) }
net D(x) -> 1 { relu(linear(16)); linear(1) }
objective { losses nonsaturating; unroll D 2 }
train { batch 16; steps $steps; seed 7; eval_every $eval_every
        optimize D adam(lr: 1e-3, beta1: 0.5); optimize G adam(lr: 1e-3, beta1: 0.5) }
GAN

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
step_of() { tail -n 1 "$1/metrics.jsonl" 2>/dev/null | grep -oE '"step": [0-9]+' | grep -oE '[0-9]+$' || echo 0; }

echo "soak: $steps steps straight through"
start=$(date +%s)
"$gantry" run "$work/soak.gan" --out "$work/straight" --quiet --threads 1 &
pid=$!
quarter_rss=0 last_rss=0
while kill -0 "$pid" 2>/dev/null; do
  sleep 0.5
  rss=$(rss_kb "$pid")
  [ "${rss:-0}" -gt 0 ] || continue
  last_rss=$rss
  if [ "$quarter_rss" -eq 0 ] && [ "$(step_of "$work/straight")" -ge $((steps / 4)) ]; then quarter_rss=$rss; fi
done
wait "$pid" || { echo "soak: the straight run failed"; exit 1; }
seconds=$(( $(date +%s) - start ))
echo "soak: done in ${seconds} s; resident memory ${quarter_rss} kB at a quarter, ${last_rss} kB at the end"

echo "soak: the same run killed $kills times at random moments and resumed"
runs=0
while true; do
  resume=()
  [ -f "$work/killed/checkpoint.npz" ] && resume=(--resume "$work/killed")
  "$gantry" run "$work/soak.gan" --out "$work/killed" "${resume[@]}" --quiet --threads 1 &
  pid=$!
  runs=$((runs + 1))
  if [ "$runs" -le "$kills" ]; then
    sleep "$(awk -v s="$RANDOM" -v t="$seconds" 'BEGIN { srand(s); printf "%.2f", 0.3 + rand() * t / 4 }')"
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    echo "  killed at step $(step_of "$work/killed") or later"
  else
    wait "$pid" || { echo "soak: the last resumed run failed"; exit 1; }
    break
  fi
done

status=0
if cmp -s "$work/straight/checkpoint.npz" "$work/killed/checkpoint.npz"; then
  echo "soak: final checkpoints identical"
elif /usr/bin/python3 - "$work/straight/checkpoint.npz" "$work/killed/checkpoint.npz" <<'PY'
import sys, zipfile
a, b = (zipfile.ZipFile(p) for p in sys.argv[1:3])
same = sorted(a.namelist()) == sorted(b.namelist()) and all(a.read(n) == b.read(n) for n in a.namelist())
sys.exit(0 if same else 1)
PY
then
  echo "soak: final checkpoints hold identical arrays"
else
  echo "soak: FAIL: the resumed run's final checkpoint differs from the straight run's"
  status=1
fi
if [ $((last_rss - quarter_rss)) -ge 8192 ]; then
  echo "soak: FAIL: resident memory grew by $((last_rss - quarter_rss)) kB over three quarters of the run"
  status=1
else
  echo "soak: memory flat (grew $((last_rss - quarter_rss)) kB)"
fi
exit $status
