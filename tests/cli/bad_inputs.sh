#!/bin/bash
# The catalogue of bad inputs (issue 8) that are not single .gan/.gir files with expectations (those are in
# tests/bad/gan and tests/bad/ir): each case's exact message and exit code, and that a refused run starts nothing,
# writes nothing, and leaves the files it was given untouched. docs/reliability.md lists every case.
#   bad_inputs.sh PATH/TO/gantry PATH/TO/tests
set -uo pipefail
source "$(dirname "$0")/harness.sh" "$1" "$2"
cd "$work"

# A small program over a data file; `run` it for a few steps.
program() {  # program FILE.gan DATA_EXPR WIDTH
  printf 'data x ~ %s\nnoise z ~ normal(dim: 2)\nnet G(z) -> %s { relu(linear(8)); linear(%s) }\nnet D(x) -> 1 { relu(linear(8)); linear(1) }\nobjective { losses nonsaturating }\ntrain { batch 8; steps 4; eval_every 2 }\n' "$2" "$3" "$3" > "$1"
}

# --- .gan sources -------------------------------------------------------------------------------------------
: > empty.gan
expect_run empty-gan 1 "empty.gan: error: the program has no data: declare it as in 'data x ~ ring(modes: 8)'
empty.gan: error: the program has no noise: declare it as in 'noise z ~ normal(dim: 64)'
empty.gan: error: the program has no objective: add 'objective { losses nonsaturating }' or write both losses
3 errors generated." -- "$gantry" check empty.gan
head -c 10485760 /dev/zero | tr '\0' '#' > big.gan
expect_run ten-megabytes 1 "gantry: error: cannot read 'big.gan': it is 10485760 bytes, more than the 1048576 allowed" -- "$gantry" check big.gan
{
  printf 'data x ~ ring(modes: 8)\nnoise z ~ normal(dim: 4)\nnet G(z) -> 2 { linear(2) }\nnet D(x) -> 1 { linear(1) }\n'
  printf 'objective {\n  loss D = mean(D(x))\n  loss G = '
  for _ in $(seq 10000); do printf '('; done
  printf 'mean(D(G(z)))'
  for _ in $(seq 10000); do printf ')'; done
  printf '\n}\n'
} > deep.gan
checks=$((checks + 1))
"$gantry" check deep.gan > out 2> err
code=$?
[ "$code" -eq 1 ] && [ "$(head -1 err)" == "deep.gan:7:212: error: expression nested too deeply (more than 200 levels)" ] && [ "$(tail -1 err)" == "1 error generated." ] ||
  fail "nesting-10000: exit $code, stderr starting '$(head -1 err)'"
expect_run dev-zero 1 "gantry: error: cannot read '/dev/zero': not a regular file" -- "$gantry" check /dev/zero
expect_run folder 1 "gantry: error: cannot read '$work': it is a directory" -- "$gantry" check "$work"

# --- data files ---------------------------------------------------------------------------------------------
csv_case() {  # csv_case NAME CONTENTS EXPECTED_STDERR
  printf "$2" > "$1.csv"
  program "$1.gan" "csv(\"$1.csv\")" 2
  expect_run "csv-$1" 1 "$3" -- "$gantry" run "$1.gan" --out "run-$1" --quiet
  [ ! -e "run-$1" ] || fail "csv-$1: the run made its folder"
}
csv_case ragged '1,2\n3,4\n5\n' "gantry: error: 'ragged.csv' line 3: 1 columns, the file's first row has 2"
csv_case nan '1,2\nnan,4\n' "gantry: error: 'nan.csv' line 2: nan is not a finite number"
csv_case inf '1,2\n3,-inf\n' "gantry: error: 'inf.csv' line 2: -inf is not a finite number"
csv_case text 'a,b\n1,2\nthree,4\n' "gantry: error: 'text.csv' line 3: not a row of numbers"
csv_case beyond_float '1,2\n3,1e39\n' "gantry: error: 'beyond_float.csv' line 2: 1e39 is beyond float32's range"
: > empty.csv
program empty-csv.gan 'csv("empty.csv")' 2
expect_run csv-empty 1 "empty-csv.gan:1:14: error: 'empty.csv' has no data rows
data x ~ csv(\"empty.csv\")
             ^~~~~~~~~~~
1 error generated." -- "$gantry" check empty-csv.gan

npy() {  # npy FILE DESCR SHAPE PAYLOAD_BYTES
  local header="{'descr': '$2', 'fortran_order': False, 'shape': $3, }"
  { printf '\x93NUMPY\x01\x00'; printf "$(printf '\\x%02x\\x%02x' $(( ${#header} + 1 )) 0)"; printf '%s\n' "$header"; head -c "$4" /dev/zero; } > "$1"
}
npy ints.npy '<i4' '(4, 2)' 32
npy rank3.npy '<f4' '(2, 2, 2)' 32
npy truncated.npy '<f4' '(4, 2)' 20
npy lying.npy '<f4' '(100, 2)' 32
npy good.npy '<f4' '(4, 2)' 32
for f in ints rank3; do program "$f.gan" "npy(\"$f.npy\")" 2; done
expect_run npy-dtype 1 "ints.gan:1:14: error: 'ints.npy': .npy dtype '<i4' is not supported (use float32 '<f4' or float64 '<f8')
data x ~ npy(\"ints.npy\")
             ^~~~~~~~~~
1 error generated." -- "$gantry" check ints.gan
expect_run npy-rank 1 "rank3.gan:1:14: error: 'rank3.npy': .npy array has rank 3; samples need rank 1 or 2 (rows are samples)
data x ~ npy(\"rank3.npy\")
             ^~~~~~~~~~~
1 error generated." -- "$gantry" check rank3.gan
for f in truncated lying; do program "$f.gan" "npy(\"$f.npy\")" 2; done
expect_run npy-truncated 1 "gantry: error: 'truncated.npy': the header says 8 values (32 bytes), the payload has 20 bytes" -- \
  "$gantry" run truncated.gan --out run-truncated --quiet
expect_run npy-lying-header 1 "gantry: error: 'lying.npy': the header says 200 values (800 bytes), the payload has 32 bytes" -- \
  "$gantry" run lying.gan --out run-lying --quiet
[ ! -e run-truncated ] && [ ! -e run-lying ] || fail "npy: a refused run made its folder"

# --- checkpoints: refused before the run starts; the file and the run folder untouched ------------------------
program model.gan 'ring(modes: 8)' 2
expect_run train-model 0 "" -- "$gantry" run model.gan --out good --quiet --threads 1
resume_case() {  # resume_case NAME CHECKPOINT_FILE PROGRAM EXPECTED_STDERR
  rm -rf "resume-$1"
  mkdir "resume-$1"
  cp "$2" "resume-$1/checkpoint.npz"
  local before
  before=$(sha256sum < "resume-$1/checkpoint.npz")
  expect_run "checkpoint-$1" 1 "$4" -- "$gantry" run "$3" --resume "resume-$1" --quiet --threads 1
  [ "$(sha256sum < "resume-$1/checkpoint.npz")" == "$before" ] || fail "checkpoint-$1: the checkpoint changed"
  [ "$(ls "resume-$1")" == "checkpoint.npz" ] || fail "checkpoint-$1: the refused run wrote $(ls "resume-$1")"
}
size=$(stat -c %s good/checkpoint.npz)
head -c $((size / 2)) good/checkpoint.npz > truncated.npz
resume_case truncated truncated.npz model.gan "gantry: error: cannot read 'resume-truncated/checkpoint.npz': Not a zip archive"
resume_case wrong-keys "$tests/data/numpy_savez.npz" model.gan \
  "gantry: error: 'resume-wrong-keys/checkpoint.npz' has no float64 scalar meta.step (is it a Gantry checkpoint?)"
program wider.gan 'ring(modes: 8)' 2
sed -i 's/relu(linear(8)); linear(2) }/relu(linear(16)); linear(2) }/' wider.gan
resume_case wrong-shape good/checkpoint.npz wider.gan \
  "gantry: error: array 'G.l0.w' in 'resume-wrong-shape/checkpoint.npz' has shape [2, 8], expected [2, 16]"
program named.gan 'ring(modes: 8)' 2
sed -i 's/net G(z) -> 2 { relu(linear(8))/net G(z) -> 2 { hidden = relu(linear(8))/' named.gan
resume_case other-model good/checkpoint.npz named.gan \
  "gantry: error: 'resume-other-model/checkpoint.npz' has no array 'G.hidden.w': it is from another model"
expect_run sample-other-model 1 "gantry: error: 'good/checkpoint.npz' has no array 'G.hidden.w': it is from another model" -- \
  "$gantry" sample named.gan --checkpoint good -n 4 -o never.npy
[ ! -e never.npy ] || fail "sample-other-model: wrote an output"

# --- the command line ---------------------------------------------------------------------------------------
expect_run unknown-flag 2 "gantry: error: The following argument was not expected: --speed
Run 'gantry --help' for usage." -- "$gantry" run model.gan --speed
expect_run missing-file 1 "gantry: error: cannot open 'nowhere.gan': No such file or directory" -- "$gantry" run nowhere.gan
touch afile
expect_run unwritable-out 1 "gantry: error: cannot create the folder 'afile/run': Not a directory" -- "$gantry" run model.gan --out afile/run --quiet
expect_run threads-zero 2 "gantry: error: --threads: '0' is not a thread count from 1 to 1024
Run 'gantry --help' for usage." -- "$gantry" run model.gan --threads 0
expect_run steps-negative 2 "gantry: error: --steps: Value -1 not in range 1 to 1000000000
Run 'gantry --help' for usage." -- "$gantry" run model.gan --steps -1

# --- resource limits: refused at compile time with the size, not killed by the OS ---------------------------
printf 'data x ~ ring(modes: 8)\nnoise z ~ normal(dim: 65536)\nnet G(z) -> 2 { relu(linear(1048576)); linear(2) }\nnet D(x) -> 1 { relu(linear(8)); linear(1) }\nobjective { losses nonsaturating }\ntrain { batch 8; steps 4 }\n' > huge.gan
checks=$((checks + 1))
"$gantry" run huge.gan --out run-huge --quiet > out 2> err
code=$?
[ "$code" -eq 1 ] || fail "huge-model: exit code $code, expected 1 ($(cat err))"
grep -qE '^gantry: error: @step needs [0-9.]+ (GB|TB) of memory \([0-9.]+ [A-Z]*B of working memory, [0-9.]+ (GB|TB) of parameters and results\); [0-9.]+ [A-Z]*B is available$' err ||
  fail "huge-model: stderr was '$(cat err)'"
[ ! -e run-huge ] || fail "huge-model: the refused run made its folder"

echo "$checks checks, $failures failures"
[ "$failures" -eq 0 ]
