# What the CLI test scripts share (sourced): a scratch folder, counters and the exit-code-and-stderr check.
#   source harness.sh PATH/TO/gantry PATH/TO/tests     sets gantry, tests, work (removed on exit)
gantry=$(realpath "$1")
tests=$(realpath "$2")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
checks=0

fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# expect_run NAME EXPECTED_EXIT EXPECTED_STDERR -- COMMAND...: runs COMMAND and compares exit code and stderr
# (the whole of it); stdout goes to $work/out, stderr to $work/err.
expect_run() {
  local name=$1 code=$2 stderr=$3
  shift 4
  checks=$((checks + 1))
  "$@" >"$work/out" 2>"$work/err"
  local got=$?
  [ "$got" -eq "$code" ] || fail "$name: exit code $got, expected $code (stderr: $(cat "$work/err"))"
  [ "$(cat "$work/err")" == "$stderr" ] || fail "$name: stderr was '$(cat "$work/err")', expected '$stderr'"
}
