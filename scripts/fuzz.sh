#!/bin/bash
# Fuzzes Gantry's readers with libFuzzer (clang 19, AddressSanitizer + UndefinedBehaviorSanitizer): the .gan
# frontend, the IR parser and verifier, the .npy and CSV readers and the checkpoint loader.
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]      (default 60 s each, every target)
# It uses build-asan/ (scripts/sanitize.sh configures it: clang 19, ASan + UBSan, libFuzzer coverage). Seeds come
# from the folders fuzz/meson.build names; corpora grow in build-asan/corpus/. A crashing input is copied to
# fuzz/regressions/TARGET/ (so the fuzz_regressions tests replay it from then on) and the script exits 1.
set -uo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(gan ir npy csv checkpoint)

bash scripts/sanitize.sh --configure-only || exit 1
ninja -C build-asan $(for t in "${targets[@]}"; do echo "fuzz/fuzz_$t"; done) >/dev/null || { echo "fuzz build failed"; exit 1; }

declare -A seeds=([gan]="examples tests/bad/gan" [ir]="tests/ir tests/bad/ir tests/golden" [npy]="tests/data tests/bad/gan"
                  [csv]="tests/data tests/bad/gan" [checkpoint]="tests/data")
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
status=0
for t in "${targets[@]}"; do
  corpus=build-asan/corpus/$t crashes=build-asan/crashes/$t
  rm -rf "$crashes"
  mkdir -p "$corpus" "$crashes"
  dict=()
  [ "$t" != gan ] || dict=(-dict=fuzz/gan.dict)
  # shellcheck disable=SC2086
  build-asan/fuzz/fuzz_$t "${dict[@]}" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 -max_len=65536 \
    -artifact_prefix="$crashes/" -print_final_stats=1 "$corpus" fuzz/regressions/$t ${seeds[$t]} >"build-asan/fuzz_$t.log" 2>&1
  code=$?
  runs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "build-asan/fuzz_$t.log" | grep -oE '[0-9]+$')
  found=$(find "$crashes" -type f | wc -l)
  if [ "$code" -ne 0 ] || [ "$found" -gt 0 ]; then
    status=1
    for f in "$crashes"/*; do [ -f "$f" ] && cp "$f" "fuzz/regressions/$t/"; done
    echo "fuzz_$t: FOUND A BUG after ${runs:-?} runs (exit $code; inputs copied to fuzz/regressions/$t/, log build-asan/fuzz_$t.log)"
    grep -m3 -E 'ERROR|runtime error|terminate|SUMMARY' "build-asan/fuzz_$t.log" | sed 's/^/    /'
  else
    echo "fuzz_$t: ${runs:-?} runs in ${seconds} s, no crash"
  fi
done
exit $status
