# tests/cli/test_options.sh — every command's options, walked from the help texts (the "Commands:"
# lists, so a new command is covered with no change here):
#   - each option its --help lists is one the command accepts (no "unknown option"), by its long
#     name and by its letter;
#   - a letter means one option in every command, and an option has the same letter (or none)
#     everywhere (the letter map of README.md and cli/cli.h);
#   - the options users reach for are listed where they are accepted (lag's -t/-g/--json, the
#     aliases --signal and --group-id).
source "$(dirname "$0")/lib.sh" "$@"

commands_of() {
  "$EDXBUS" "$@" --help | sed -n '/^Commands:$/,/^$/p' | sed -n 's/^  \([a-z][a-z0-9-]*\) .*/\1/p'
}

# options_of ARGS...: "LETTER LONG VALUE" per option line of `edxbus ARGS --help` (LETTER and
# VALUE are "-" when there is none).
options_of() {
  "$EDXBUS" "$@" --help |
    sed -nE 's/^  (-(.), |    )--([a-z][a-z0-9-]*)( ([^ ]+))?( .*)?$/\2\t\3\t\5/p' |
    awk -F'\t' '{ printf "%s %s %s\n", ($1 == "" ? "-" : $1), $2, ($3 == "" ? "-" : $3) }'
}

# A value each kind of option accepts while parsing (some check it at once).
value_for() {
  case $1 in
  N | SECONDS) echo 1 ;;
  ISO) echo 2024-05-01T00:00:00+00:00 ;;
  *) echo x ;;
  esac
}

declare -A letter_of long_of where_letter where_long
paths=("")
for cmd in $(commands_of); do
  subs=$(commands_of "$cmd")
  if [[ -z $subs ]]; then
    paths+=("$cmd")
  else
    paths+=("$cmd")
    for sub in $subs; do paths+=("$cmd $sub"); done
  fi
done
check
[[ ${#paths[@]} -ge 20 ]] || fail "walked ${#paths[@]} commands, expected at least 20"

declare -A listed
for path in "${paths[@]}"; do
  # shellcheck disable=SC2086
  listed["@$path"]=$(options_of $path)
done

n_opts=0
for path in "${paths[@]}"; do
  longs=()
  letters=()
  while read -r letter long value; do
    [[ -n $long ]] || continue # a help text that lists no option
    n_opts=$((n_opts + 1))
    longs+=("--$long")
    [[ $value != - ]] && longs+=("$(value_for "$value")")
    if [[ $letter != - ]]; then
      letters+=("-$letter")
      [[ $value != - ]] && letters+=("$(value_for "$value")")
    fi
    # One meaning per letter, one letter per option.
    check
    if [[ $letter != - ]]; then
      if [[ -n ${long_of[$letter]:-} && ${long_of[$letter]} != "$long" ]]; then
        CMD="edxbus $path --help"
        fail "-$letter is --$long here but --${long_of[$letter]} in \"edxbus ${where_letter[$letter]}\""
      fi
      long_of[$letter]=$long
      where_letter[$letter]=$path
    fi
    if [[ -n ${letter_of[$long]:-} && ${letter_of[$long]} != "$letter" ]]; then
      CMD="edxbus $path --help"
      fail "--$long has letter '$letter' here but '${letter_of[$long]}' in \"edxbus ${where_long[$long]}\""
    fi
    letter_of[$long]=$letter
    where_long[$long]=$path
  done <<<"${listed["@$path"]}"
  # Accepted by the parser: every listed option, by name and by letter, before --help, is never
  # an unknown option (--help ends the parse before any check of what the options say).
  for form in longs letters; do
    declare -n given=$form
    # shellcheck disable=SC2086
    run $path "${given[@]}" --help
    check
    grep -q "unknown option" "$ERR" && fail "\"edxbus $path\" refuses an option its --help lists"
    check
    [[ $RC -eq 0 ]] || fail "exit $RC, expected 0 (--help after every listed option)"
    unset -n given
  done
done
check
[[ $n_opts -ge 60 ]] || fail "found $n_opts option lines in all the help texts, expected at least 60"

# The letter map of README.md lists every letter a command uses, with the same meaning.
readme=${EDXBUS_SOURCE_DIR:-$HERE/../..}/README.md
check
if [[ -r $readme ]]; then
  for letter in "${!long_of[@]}"; do
    [[ $letter == [hvq] ]] && continue # in the table's last row, with the other common ones
    check
    grep -qE "\| \`-$letter\` \| \`--${long_of[$letter]}( |\`)" "$readme" ||
      { CMD="README.md"; fail "the letter map lacks -$letter = --${long_of[$letter]}"; }
  done
else
  fail "cannot read $readme"
fi

# has_option "ARGS" LETTER LONG: the help of ARGS lists --LONG with letter LETTER ("-": none).
has_option() {
  check
  grep -q "^$2 $3 " <<<"${listed["@$1"]}" || { CMD="edxbus $1 --help"; fail "does not list -$2, --$3"; }
}
has_option "lag" t topic
has_option "lag" g group
has_option "lag" j json
has_option "lag" c config
has_option "consume" t topic
has_option "consume" n max-events
has_option "consume" - group-id
has_option "tail" t topic
has_option "tail" n max-events
has_option "produce" e event-type
has_option "produce" - signal
has_option "produce" t topic
has_option "avro encode" e event-type
has_option "avro decode" e event-type
has_option "dlq list" t topic
has_option "schema register" t topic
has_option "config check" c config
has_option "events list" j json
# Every command takes these, and says so.
for path in "${paths[@]}"; do
  has_option "$path" h help
  has_option "$path" v verbose
  has_option "$path" q quiet
  has_option "$path" - schemas
done

# The topic is -t in lag as in consume; the positional TOPIC of lag, tail and dlq stays accepted.
run lag -t t
expect_error 2 "-t TOPIC and -g GROUP are required"
run lag -g g -t t u
expect_error 2 'unexpected argument "u"'
# A letter a command does not take is explained by what it means everywhere (avro's event type
# was -t before -t meant the topic in every command).
run avro encode -t org.openedx.learning.course.enrollment.created.v1
expect_error 2 "unknown option -t" "-t is --topic" "avro encode does not take"
run -t x
expect_error 2 "unknown option -t" "see edxbus --help"

finish
