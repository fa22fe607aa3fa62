#!/usr/bin/env bash
# tests/cli/test_usage.sh EDXBUS — input errors are exit 2 with one line in the user's words,
# and nothing is sent: an empty option value, an option given twice, a --key-field that cannot
# be a key, counts of 0, --print with --exec. Runs on a fresh embedded broker in the scratch
# directory; after all the refused produces, the topic holds nothing.
source "$(dirname "$0")/lib.sh" "$@"

export EVENT_BUS_SQLITE_PATH="$SCRATCH/bus.db"
unset EDXBUS_CONFIG EVENT_BUS_TOPIC_PREFIX EVENT_BUS_PRODUCER_CONFIG
export EVENT_BUS_PRODUCER=sqlite EVENT_BUS_CONSUMER=sqlite

TYPE=org.openedx.content_authoring.xblock.published.v1
DATA='{"xblock_info": {"block_type": "problem", "usage_key": "block-v1:edX+DemoX+Demo_Course+type@problem+block@d2", "version": null}}'

# run_bounded ARGS...: run, but end it after 20 s (an accepted consume would wait for events).
run_bounded() {
  CMD="edxbus $*"
  RC=0
  timeout 20 "$EDXBUS" "$@" >"$OUT" 2>"$ERR" || RC=$?
}

# expect_usage WORDS...: exit 2, one line naming WORDS, and none of the library's internal words.
expect_usage() {
  expect_error 2 "$@"
  check
  grep -qE 'receiver "|failed:' "$ERR" && fail "stderr speaks of receivers: $(cat "$ERR")"
}

# --- empty values --------------------------------------------------------------------------------
run produce -e $TYPE -t '' -d "$DATA"
expect_usage "-t" "empty TOPIC"
run produce -e $TYPE --topic= -d "$DATA"
expect_usage "--topic" "empty TOPIC"
run produce -e '' -t t -d "$DATA"
expect_usage "-e" "empty TYPE"
run_bounded consume -t t -g ''
expect_usage "-g" "empty GROUP"
run lag -t '' -g g
expect_usage "-t" "empty TOPIC"

# --- an option with a value given twice -----------------------------------------------------------
run produce -e $TYPE -t a -t b -d "$DATA"
expect_usage "--topic given twice"
run_bounded consume -t t -g a -g b
expect_usage "--group given twice"

# --- --key-field that cannot be a key: said as such, nothing sent ------------------------------------
run produce -e $TYPE -t t -k nope.x -d "$DATA"
expect_usage '"nope"' "--key-field"
run produce -e $TYPE -t t -k xblock_info -d "$DATA" --count 3
expect_usage "xblock_info" "record" "--key-field"
run produce -e $TYPE -t t -k xblock_info.version -d "$DATA" --count 2
expect_usage "nullable" "--key-field"

# --- counts of 0 ------------------------------------------------------------------------------------
run produce -e $TYPE -t t -d "$DATA" --count 0
expect_usage "--count" "at least 1"
run_bounded consume -t t -g g --max-events 0
expect_usage "--max-events" "at least 1"
run_bounded consume -t t -g g -n 0
expect_usage "--max-events" "at least 1"
run_bounded tail -t t -n 0 --timeout 1
expect_usage "--max-events" "at least 1"

# --- --print and --exec together ----------------------------------------------------------------
run_bounded consume -t t -g g --print --exec cat
expect_usage "--print" "--exec"
run_bounded consume -t t -g g --exec cat --print -n 1
expect_usage "--print" "--exec"

# Nothing of the above reached the broker.
run tail -t t --from earliest --timeout 1
expect_ok
expect_lines 0

# And the good form of each still works.
run produce -e $TYPE -t t -k xblock_info.usage_key -d "$DATA" --count 2
expect_ok
run_bounded consume -t t -g g --extra '{"start": "earliest"}' -n 2
expect_ok
expect_lines 2

finish
