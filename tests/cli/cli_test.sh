#!/bin/bash
# The gantry command line as a user meets it: exit codes, one-line messages, round-tripping IR files, and
# output files that are never damaged by a failed run.
#   cli_test.sh PATH/TO/gantry PATH/TO/tests
set -uo pipefail
source "$(dirname "$0")/harness.sh" "$1" "$2"

# --version, --help, no arguments
expect_run version 0 "" -- "$gantry" --version
head -1 "$work/out" | grep -qE '^gantry [0-9]+\.[0-9]+\.[0-9]+$' || fail "version: first line was '$(head -1 "$work/out")'"
grep -q '^LLVM 19\.' "$work/out" || fail "version: no LLVM 19 line in '$(cat "$work/out")'"
expect_run help 0 "" -- "$gantry" --help
grep -q 'ir  *Print the IR of a .gan program or an IR file' "$work/out" || fail "help: the ir subcommand is not listed"
expect_run no-arguments 0 "" -- "$gantry"
grep -q '^Usage: gantry' "$work/out" || fail "no arguments: no usage"

# Bad command lines exit 2 with one message.
expect_run unknown-flag 2 "gantry: error: The following argument was not expected: --frobnicate
Run 'gantry --help' for usage." -- "$gantry" --frobnicate
expect_run ir-without-file 2 "gantry: error: file is required
Run 'gantry --help' for usage." -- "$gantry" ir

# Unreadable inputs exit 1 with one line.
expect_run missing-file 1 "gantry: error: cannot open '$work/nope.gir': No such file or directory" -- \
  "$gantry" ir "$work/nope.gir"
expect_run directory 1 "gantry: error: cannot read '$work': it is a directory" -- "$gantry" ir "$work"

good=$(ls "$tests"/ir/*.gir | head -1)

# Canonical IR files print back exactly, and printing is idempotent.
for f in "$tests"/ir/*.gir; do
  expect_run "roundtrip $(basename "$f")" 0 "" -- "$gantry" ir "$f"
  cmp -s "$work/out" "$f" || fail "roundtrip $(basename "$f"): output differs: $(diff "$work/out" "$f" | head -5)"
done

# Every example checks, compiles, and evaluates to finite losses; evaluation is reproducible from the seed.
for f in "$tests"/../examples/*.gan; do
  expect_run "check $(basename "$f")" 0 "" -- "$gantry" check "$f"
  [ "$(cat "$work/out")" == "$f: ok" ] || fail "check $(basename "$f"): printed '$(cat "$work/out")'"
done
ring8="$tests/../examples/ring8_unrolled.gan"
expect_run eval-ring8 0 "" -- "$gantry" ir "$ring8" --eval --seed 3 --set train.batch=64
grep -qE '^  loss: f32\[\] = [0-9.]+$' "$work/out" || fail "eval-ring8: no finite loss in: $(cat "$work/out")"
[ "$(grep -c '^  loss: ' "$work/out")" -eq 2 ] || fail "eval-ring8: expected two losses in: $(cat "$work/out")"
cp "$work/out" "$work/eval1"
expect_run eval-reproducible 0 "" -- "$gantry" ir "$ring8" --eval --seed 3 --set train.batch=64
cmp -s "$work/out" "$work/eval1" || fail "eval-reproducible: two runs with one seed differ"
expect_run eval-negative-seed 2 "gantry: error: --seed: '-5' is not a non-negative integer
Run 'gantry --help' for usage." -- "$gantry" ir "$ring8" --eval --seed -5
expect_run eval-huge-seed 2 "gantry: error: --seed: 18446744073709551616 is out of range (at most 2^64-1)
Run 'gantry --help' for usage." -- "$gantry" ir "$ring8" --eval --seed 18446744073709551616
expect_run emit-ast-of-ir 1 "gantry: error: --emit=ast needs a .gan file, '$good' is IR" -- "$gantry" ir "$good" --emit=ast
expect_run set-on-ir 1 "gantry: error: --set applies to .gan files only" -- "$gantry" ir "$good" --set train.batch=2
expect_run bad-emit 2 "gantry: error: --emit: ast2 not in {ast,ir,llvm,asm}
Run 'gantry --help' for usage." -- "$gantry" ir "$ring8" --emit=ast2

# The pass manager's flags: banners on stderr, dumps that read back, --print-changed, --stop-after, timing.
bimodal="$tests/../examples/bimodal1d.gan"
checks=$((checks + 1))
"$gantry" ir "$bimodal" --print-after=autodiff,dce --stop-after=cse >"$work/out" 2>"$work/err" || fail "print-after: exit $?"
[ "$(grep -c '^// \*\*\* IR Dump After' "$work/err")" -eq 1 ] || fail "print-after: expected one dump before cse: $(grep 'IR Dump' "$work/err")"
grep -q '^// \*\*\* IR Dump After autodiff \*\*\*$' "$work/err" || fail "print-after: no autodiff banner"
# The dump alone reads back with gantry ir.
checks=$((checks + 1))
"$gantry" ir "$work/err" >/dev/null 2>"$work/err2" || fail "dump-reads-back: $(cat "$work/err2")"
checks=$((checks + 1))
"$gantry" ir "$bimodal" --print-changed >/dev/null 2>"$work/err" || fail "print-changed: exit $?"
grep -q '^// \*\*\* IR Dump After autodiff \*\*\*$' "$work/err" || fail "print-changed: autodiff changed the IR but has no dump"
grep -q '^// \*\*\* IR Dump After algebraic \*\*\* (unchanged)$' "$work/err" || fail "print-changed: no '(unchanged)' line for algebraic"
checks=$((checks + 1))
"$gantry" ir "$bimodal" --passes=default --time-passes --verify-each >"$work/out" 2>"$work/err" || fail "time-passes: exit $?"
grep -q '^// === Pass execution timing report ===$' "$work/err" || fail "time-passes: no report in $(cat "$work/err")"
grep -q 'grad.D.l0.w' "$work/out" || fail "default pipeline: no gradient results"
expect_run unknown-pass 2 "gantry: error: --passes: unknown pass 'dse' (passes: autodiff, penalty, unroll, step, fold, algebraic, cse, dce, reassociate, fuse)" -- \
  "$gantry" ir "$bimodal" --passes=cse,dse
expect_run stop-after-unknown 2 "gantry: error: --stop-after: 'fold' is not in the pipeline cse,dce" -- \
  "$gantry" ir "$bimodal" --passes=cse,dce --stop-after=fold
expect_run passes-list 0 "" -- "$gantry" passes
grep -q '^default pipeline: autodiff,(fold,algebraic,cse,dce,reassociate)\*,fuse$' "$work/out" || fail "passes: no default pipeline line"

# LLVM IR and assembly of the compiled functions.
expect_run emit-llvm 0 "" -- "$gantry" ir "$good" --emit=llvm
grep -q '^define void @gantry_' "$work/out" || fail "emit-llvm: no function definition in $(head -5 "$work/out")"
expect_run emit-asm 0 "" -- "$gantry" ir "$bimodal" --emit=asm --passes=default
grep -qE '^gantry_(G|D)' "$work/out" || fail "emit-asm: no function labels"
expect_run eval-with-asm 2 "gantry: error: --eval needs --emit=ir, not --emit=asm" -- "$gantry" ir "$good" --emit=asm --eval

# --eval --jit: the JIT's values, compile times, and the cache (in a folder of this test's own).
export XDG_CACHE_HOME="$work/cache"
expect_run eval-jit-cold 0 "" -- "$gantry" ir "$bimodal" --eval --jit --set train.batch=8
grep -qE '^@D\.loss \(seed 1, JIT: compiled in [0-9.]+ s, arena [0-9]+ KiB\):$' "$work/out" || fail "eval-jit-cold: $(cat "$work/out")"
jit_loss=$(grep -A1 '^@D.loss' "$work/out" | tail -1)
expect_run eval-jit-warm 0 "" -- "$gantry" ir "$bimodal" --eval --jit --set train.batch=8
grep -qE '^@D\.loss \(seed 1, JIT: compiled in [0-9.]+ s from the cache, arena [0-9]+ KiB\):$' "$work/out" || fail "eval-jit-warm: not from the cache: $(cat "$work/out")"
expect_run eval-interpreter 0 "" -- "$gantry" ir "$bimodal" --eval --set train.batch=8
[ "$(grep -A1 '^@D.loss' "$work/out" | tail -1)" == "$jit_loss" ] || fail "eval-jit: JIT loss '$jit_loss' differs from the interpreter's $(grep -A1 '^@D.loss' "$work/out" | tail -1)"
expect_run jit-threads 0 "" -- "$gantry" ir "$bimodal" --eval --jit --threads 1 --set train.batch=8
[ "$(grep -A1 '^@D.loss' "$work/out" | tail -1)" == "$jit_loss" ] || fail "jit-threads: one thread gives another loss"
expect_run threads-zero 2 "gantry: error: --threads: '0' is not a thread count from 1 to 1024
Run 'gantry --help' for usage." -- "$gantry" ir "$bimodal" --eval --jit --threads 0
expect_run jit-without-eval 2 "gantry: error: --jit needs --eval" -- "$gantry" ir "$bimodal" --jit

# gantry compile: an object file and its header.
checks=$((checks + 1))
"$gantry" compile "$bimodal" -o "$work/model.o" --set train.batch=2 >"$work/out" 2>"$work/err" || fail "compile: $(cat "$work/err")"
[ -s "$work/model.o" ] && grep -q 'void bimodal1d_G(float \*\*buffers, float \*arena);' "$work/model.h" || fail "compile: no object or header"
expect_run compile-bad-prefix 2 "gantry: error: --prefix: must be a C identifier
Run 'gantry --help' for usage." -- "$gantry" compile "$bimodal" -o "$work/x.o" --prefix 9lives

# gantry grad: what the files must hold, and one-line errors for arrays that are missing or mis-shaped.
expect_run grad-list 0 "" -- "$gantry" grad "$bimodal" --list-inputs
grep -qE '^--params +G\.l0\.weight +\[32, 16\]$' "$work/out" || fail "grad-list: no G.l0.weight [32, 16] in $(cat "$work/out")"
grep -qE '^--batch +x +\[256, 1\]$' "$work/out" || fail "grad-list: no x [256, 1]"
expect_run grad-missing-array 1 "gantry: error: '$tests/data/numpy_savez.npz' has no array 'x' (expected shape [256, 1])" -- \
  "$gantry" grad "$bimodal" --params "$tests/data/numpy_savez.npz" --batch "$tests/data/numpy_savez.npz" -o "$work/g.npz"
expect_run grad-wrong-shape 1 "gantry: error: array 'x' in '$tests/data/batch_wrong_shape.npz' has shape [3, 5], expected [256, 1]" -- \
  "$gantry" grad "$bimodal" --params "$tests/data/numpy_savez.npz" --batch "$tests/data/batch_wrong_shape.npz" -o "$work/g.npz"
expect_run grad-no-files 2 "gantry: error: grad needs --params, --batch and -o (or --list-inputs)" -- "$gantry" grad "$bimodal"
[ ! -e "$work/g.npz" ] || fail "grad: an output was written despite the error"

# gantry run: a short run writes its files, --json prints one line per evaluation, and bad options exit 2.
expect_run run-json 0 "" -- "$gantry" run "$bimodal" --steps 20 --set train.eval_every=10 --set train.batch=16 --out "$work/run" --json
[ "$(grep -c '^{"step": ' "$work/out")" -eq 2 ] || fail "run-json: expected two JSON lines: $(cat "$work/out")"
grep -q '"modes_captured": ' "$work/out" || fail "run-json: no mode metrics"
for f in metrics.jsonl summary.json samples.npy checkpoint.npz; do
  checks=$((checks + 1))
  [ -s "$work/run/$f" ] || fail "run: no $f"
done
# Plain lines: one per evaluation, the final table, and with --terms G's gradient split on each line.
expect_run run-text 0 "" -- "$gantry" run "$bimodal" --steps 20 --set train.eval_every=10 --set train.batch=16 --set unroll.steps=2 --out "$work/run-text" --terms
[ "$(grep -cE '^step +(10|20) .*\|∇G\| direct [0-9.e+-]+ unrolled [0-9.e+-]+ cos [+-][0-9.]+$' "$work/out")" -eq 2 ] || fail "run-text: expected two evaluation lines with the gradient split: $(cat "$work/out")"
grep -qE '^\| [0-2] of 2 \| [0-9.]+ \| ([0-9.]+|—) \| [0-9]+ \| [0-9.]+ \|$' "$work/out" || fail "run-text: no final table row: $(cat "$work/out")"
grep -q '"grad_G_unrolled": ' "$work/run-text/metrics.jsonl" || fail "run-text: metrics.jsonl lacks the gradient split"
expect_run run-bad-steps 2 "gantry: error: --steps: Value 0 not in range 1 to 1000000000
Run 'gantry --help' for usage." -- "$gantry" run "$bimodal" --steps 0
expect_run run-bad-resume 1 "gantry: error: cannot read '$work/nowhere/checkpoint.npz': No such file" -- \
  "$gantry" run "$bimodal" --resume "$work/nowhere" --out "$work/run2"

# A dataset without modes is scored by the energy distance to held-out data.
printf 'data x ~ spiral(turns: 1.5, std: 0.05)\nnoise z ~ normal(dim: 4)\nnet G(z) -> 2 { relu(linear(16)); linear(2) }\nnet D(x) -> 1 { relu(linear(16)); linear(1) }\nobjective { losses nonsaturating }\ntrain { batch 32; steps 20; eval_every 10 }\n' > "$work/spiral.gan"
expect_run run-spiral 0 "" -- "$gantry" run "$work/spiral.gan" --out "$work/spiral" --json
[ "$(grep -cE '"energy_distance": [0-9.e-]+\}$' "$work/out")" -eq 2 ] || fail "run-spiral: expected an energy distance per evaluation: $(cat "$work/out")"

# Atomic checkpoints: a run that saves after every step, killed (SIGKILL, no chance to clean up) at random
# moments, always leaves a checkpoint that loads.
for i in 1 2 3 4 5 6 7 8; do
  "$gantry" run "$ring8" --set train.eval_every=1 --steps 100000 --out "$work/killed$i" --quiet --threads 1 &
  pid=$!
  for _ in $(seq 600); do [ -e "$work/killed$i/checkpoint.npz" ] && break; sleep 0.1; done
  sleep "0.$((RANDOM % 9 + 1))"
  kill -9 "$pid"
  wait "$pid" 2>/dev/null
  expect_run "killed run $i" 0 "" -- "$gantry" sample "$ring8" --checkpoint "$work/killed$i" -n 10 -o "$work/killed.npy"
done

# gantry sample: draws from the run's checkpoint, reproducibly; the seed changes the draws; bad outputs and
# foreign checkpoints are one-line errors that write nothing.
expect_run sample-npy 0 "" -- "$gantry" sample "$bimodal" --checkpoint "$work/run" -n 300 -o "$work/s.npy" --set train.batch=16
expect_run sample-csv 0 "" -- "$gantry" sample "$bimodal" --checkpoint "$work/run/checkpoint.npz" -n 300 -o "$work/s.csv" --set train.batch=16
[ "$(wc -l < "$work/s.csv")" -eq 300 ] || fail "sample-csv: expected 300 rows, got $(wc -l < "$work/s.csv")"
grep -qvE '^-?[0-9.e+-]+$' "$work/s.csv" && fail "sample-csv: a row is not one number: $(grep -vE '^-?[0-9.e+-]+$' "$work/s.csv" | head -1)"
expect_run sample-again 0 "" -- "$gantry" sample "$bimodal" --checkpoint "$work/run" -n 300 -o "$work/s2.csv" --set train.batch=16
cmp -s "$work/s.csv" "$work/s2.csv" || fail "sample: two draws with the same seed differ"
expect_run sample-seed 0 "" -- "$gantry" sample "$bimodal" --checkpoint "$work/run" -n 300 -o "$work/s3.csv" --seed 7 --set train.batch=16
cmp -s "$work/s.csv" "$work/s3.csv" && fail "sample: --seed 7 drew the same samples"
expect_run sample-bad-output 1 "gantry: error: '$work/s.txt': the output must end in .npy or .csv" -- \
  "$gantry" sample "$bimodal" --checkpoint "$work/run" -o "$work/s.txt"
expect_run sample-foreign 1 "gantry: error: array 'G.l0.w' in '$work/run/checkpoint.npz' has shape [16, 32], expected [8, 32]" -- \
  "$gantry" sample "$bimodal" --checkpoint "$work/run" -o "$work/s4.npy" --set noise.dim=8
[ ! -e "$work/s4.npy" ] || fail "sample: an output was written despite the error"
expect_run sample-no-checkpoint 1 "gantry: error: cannot read '$work/nowhere/checkpoint.npz': No such file" -- \
  "$gantry" sample "$bimodal" --checkpoint "$work/nowhere" -o "$work/s4.npy"

# gantry sweep: a bad axis is a usage error; a bad value is reported before anything is trained or written.
expect_run sweep-empty-value 2 "gantry: error: --set: 'unroll.steps=0,,5' has an empty value" -- \
  "$gantry" sweep "$bimodal" --set unroll.steps=0,,5 --out "$work/sweep"
expect_run sweep-twice 2 "gantry: error: --set: unroll.steps lists 5 twice" -- "$gantry" sweep "$bimodal" --set unroll.steps=0,5,5 --out "$work/sweep"
expect_run sweep-key-twice 2 "gantry: error: --set: unroll.steps is given twice" -- \
  "$gantry" sweep "$bimodal" --set unroll.steps=0,5 --set unroll.steps=1 --out "$work/sweep"
expect_run sweep-seed-twice 2 "gantry: error: --seeds: 2 is given twice" -- "$gantry" sweep "$bimodal" --seeds 1,2,2 --out "$work/sweep"
expect_run sweep-bad-value 1 "$bimodal: error: --set unroll.steps=abc: 'steps' of 'unroll' must be a number, got abc
1 error generated." -- "$gantry" sweep "$bimodal" --set unroll.steps=0,abc --out "$work/sweep"
[ ! -e "$work/sweep" ] || fail "sweep: the output folder was made despite the error"
expect_run sweep-small 0 "" -- "$gantry" sweep "$bimodal" --set unroll.steps=0,1 --set train.batch=16 --seeds 3,4 --steps 10 --out "$work/sweep" --quiet
[ "$(wc -l < "$work/sweep/sweep.csv")" -eq 3 ] || fail "sweep: expected a header and two rows in $(cat "$work/sweep/sweep.csv")"
grep -q '^| 1 | 2 | ' "$work/sweep/sweep.md" || fail "sweep: no row for unroll 1 over two seeds in $(cat "$work/sweep/sweep.md")"

# A bad program: every diagnostic with its source line and caret, a count, exit code 1.
printf 'data x ~ ring(modes: 0)\nnoise z ~ normal(dim: 4)\nnet G(z) -> 2 { linear(2) }\nnet D(x) -> 1 { linear(1) }\nobjective { losses hinge }\n' > "$work/bad.gan"
expect_run bad-gan 1 "$work/bad.gan:1:22: error: 'modes' of 'ring' must be from 1 to 1000, got 0
data x ~ ring(modes: 0)
                     ^
1 error generated." -- "$gantry" check "$work/bad.gan"
expect_run bad-set 1 "$ring8: error: --set train.steps=0: 'steps' of 'train' must be from 1 to 1000000000, got 0
1 error generated." -- "$gantry" check "$ring8" --set train.steps=0

# Every bad program: exit 1 and exactly the diagnostic its first line states.
cd "$tests/bad/ir"
for f in *.gir; do
  expected=$(head -1 "$f" | sed 's|^// expect: ||')
  expect_run "bad $f" 1 "$expected" -- "$gantry" ir "$f"
done

# -o writes the file; a failed run leaves an existing output untouched and no temporary files behind.
expect_run output-file 0 "" -- "$gantry" ir "$good" -o "$work/out.gir"
cmp -s "$work/out.gir" "$good" || fail "output-file: written file differs from the input"
echo "precious" >"$work/keep.gir"
expect_run output-kept 1 "$(head -1 unknown_op.gir | sed 's|^// expect: ||')" -- "$gantry" ir unknown_op.gir -o "$work/keep.gir"
[ "$(cat "$work/keep.gir")" == "precious" ] || fail "output-kept: existing output was changed"
[ -z "$(ls "$work" | grep tmp)" ] || fail "output-kept: temporary files left: $(ls "$work")"
expect_run unwritable-output 1 "gantry: error: cannot write '$work/no/such/dir/out.gir': No such file or directory" -- \
  "$gantry" ir "$good" -o "$work/no/such/dir/out.gir"

echo "$((checks - failures)) passed, $failures failed"
[ "$failures" -eq 0 ]
