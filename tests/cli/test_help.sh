# tests/cli/test_help.sh — --version, --help on every command and subcommand (found by walking
# the "Commands:" lists of the help texts, so a new row in cli/commands.c is covered with no
# change here), and the usage errors of dispatch: unknown command with a suggestion, missing
# command, unknown option.
source "$(dirname "$0")/lib.sh" "$@"

run --version
expect_ok
check
grep -qE '^edxbus [0-9]+\.[0-9]+\.[0-9]+ \(openedx-events 11\.2\.0\)$' "$OUT" ||
  fail "version line is \"$(cat "$OUT")\""
expect_lines 1

# commands_of ARGS...: the names listed under "Commands:" in `edxbus ARGS --help`.
commands_of() {
  "$EDXBUS" "$@" --help | sed -n '/^Commands:$/,/^$/p' | sed -n 's/^  \([a-z][a-z0-9-]*\) .*/\1/p'
}

# help_ok ARGS...: --help and -h on ARGS print the usage of ARGS on stdout and exit 0.
help_ok() {
  local flag
  for flag in --help -h; do
    run "$@" "$flag"
    expect_ok
    check
    local want="^Usage: edxbus "
    [[ $# -gt 0 ]] && want="^Usage: edxbus $*( |\$)"
    head -n 1 "$OUT" | grep -qE "$want" ||
      fail "first line is \"$(head -n 1 "$OUT")\", expected \"Usage: edxbus $* ...\""
  done
}

help_ok
top=$(commands_of)
for want in events schema avro; do
  check
  grep -qx "$want" <<<"$top" || fail "edxbus --help does not list $want"
done
n_sub=0
for cmd in $top; do
  help_ok "$cmd"
  for sub in $(commands_of "$cmd"); do
    help_ok "$cmd" "$sub"
    n_sub=$((n_sub + 1))
  done
done
check
[[ $n_sub -ge 7 ]] || fail "found $n_sub subcommands, expected at least 7 (events list/show, schema generate/show/fingerprint, avro encode/decode)"

# --help wins over missing arguments.
run avro encode --help
expect_ok
expect_grep -- '--event-type'

# Dispatch errors: exit 2, one line on stderr, nothing on stdout.
run evnts list
expect_error 2 'unknown command "evnts"' "did you mean events"
run schema generat
expect_error 2 'unknown command "generat"' "did you mean generate"
run
expect_error 2 "missing command"
run schema
expect_error 2 "missing command" "generate"
run avro encode --hexx
expect_error 2 "unknown option --hexx" "did you mean --hex"
run avro decode --event-type
expect_error 2 "needs a value"
run events list extra
expect_error 2 "unexpected argument"
run --frobnicate
expect_error 2 "unknown option"

finish
