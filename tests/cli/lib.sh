# tests/cli/lib.sh — what every tests/cli/test_*.sh sources: run the edxbus binary, capture its
# stdout, stderr and exit code, and check them. A check that fails prints why and counts; the
# script ends with `finish`, which exits 1 when anything failed. Not a test itself (no test_ prefix).
#
# Usage in a test:   source "$(dirname "$0")/lib.sh" "$@"
#                    run events list;  expect_ok;  expect_lines 75
#                    run avro encode --event-type nope;  expect_error 2 "unknown event type"
set -u

EDXBUS=${1:?usage: bash test_x.sh PATH-TO-EDXBUS}
[[ $EDXBUS == /* ]] || EDXBUS="$PWD/$EDXBUS"
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DATA="$HERE/data"
VECTORS=${EDXBUS_TEST_DATA_DIR:-$HERE/../vectors}
SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/edxbus-cli-test.XXXXXX")
trap 'rm -rf "$SCRATCH"' EXIT
# The user's schema path would change what the catalog holds.
unset EVENT_BUS_SCHEMA_PATH

FAILED=0
CHECKS=0
OUT="$SCRATCH/stdout"
ERR="$SCRATCH/stderr"
RC=0
CMD=""

# run ARGS...: run edxbus with ARGS (stdin from the caller), capturing stdout, stderr and the code.
run() {
  CMD="edxbus $*"
  RC=0
  "$EDXBUS" "$@" >"$OUT" 2>"$ERR" || RC=$?
}

fail() {
  FAILED=$((FAILED + 1))
  echo "FAIL: $CMD: $*" >&2
  if [[ -s "$ERR" ]]; then
    echo "  stderr: $(head -c 600 "$ERR")" >&2
  fi
}

check() {
  CHECKS=$((CHECKS + 1))
}

# expect_ok: exit 0 and nothing on stderr.
expect_ok() {
  check
  [[ $RC -eq 0 ]] || { fail "exit $RC, expected 0"; return; }
  [[ ! -s "$ERR" ]] || fail "stderr not empty"
}

# expect_error CODE WORDS...: exit CODE, exactly one line on stderr that starts with "edxbus" and
# contains every WORD, and nothing on stdout.
expect_error() {
  check
  local code=$1
  shift
  [[ $RC -eq $code ]] || fail "exit $RC, expected $code"
  [[ ! -s "$OUT" ]] || fail "stdout not empty: $(head -c 200 "$OUT")"
  local lines
  lines=$(wc -l <"$ERR")
  [[ $lines -eq 1 ]] || fail "$lines lines on stderr, expected exactly 1"
  [[ $(head -c 6 "$ERR") == "edxbus" ]] || fail "stderr does not start with 'edxbus'"
  local word
  for word in "$@"; do
    grep -qF -- "$word" "$ERR" || fail "stderr lacks \"$word\""
  done
}

# expect_lines N: stdout has exactly N lines.
expect_lines() {
  check
  local n
  n=$(wc -l <"$OUT")
  [[ $n -eq $1 ]] || fail "$n lines on stdout, expected $1"
}

# expect_stdout TEXT: stdout is exactly TEXT plus a newline.
expect_stdout() {
  check
  local want="$SCRATCH/want"
  printf '%s\n' "$1" >"$want"
  cmp -s "$want" "$OUT" || fail "stdout is \"$(head -c 300 "$OUT")\", expected \"$(head -c 300 "$want")\""
}

# expect_grep PATTERN: some line of stdout matches the extended regular expression PATTERN.
expect_grep() {
  check
  grep -qE -- "$1" "$OUT" || fail "no line of stdout matches /$1/"
}

finish() {
  if [[ $FAILED -gt 0 ]]; then
    echo "$(basename "$0"): $FAILED of $CHECKS checks failed" >&2
    exit 1
  fi
  echo "$(basename "$0"): $CHECKS checks passed"
  exit 0
}
