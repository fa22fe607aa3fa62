#!/usr/bin/env bash
# tests/cli/test_tail.sh EDXBUS — `edxbus tail` on the embedded broker: the events in order as
# the same line `consume --print` writes, where it begins (--from, --from-time), entries arriving
# while it runs, --max-events and the idle --timeout (so nothing here can hang), a warning (and
# no stop) for entries that do not decode, SIGTERM exits 0, usage errors exit 2 with one line.
# Waits have generous deadlines; nothing asserts on timing. Only processes this script started
# are signalled, by pid.
source "$(dirname "$0")/lib.sh" "$@"

export EVENT_BUS_SQLITE_PATH="$SCRATCH/bus.db"
export EVENT_BUS_AUDIT_LOGGING_ENABLED=false
unset EDXBUS_CONFIG EVENT_BUS_TOPIC_PREFIX EVENT_BUS_PRODUCER_CONFIG EVENT_BUS_PRODUCER \
  EVENT_BUS_CONSUMER

TYPE=org.openedx.learning.course.enrollment.created.v1
DATA='{"enrollment": {"user": {"id": 42, "is_active": true, "pii": {"username": "ada", "email": "ada@example.com", "name": "Ada"}}, "course": {"course_key": "course-v1:edX+DemoX+2024", "display_name": "Demo", "start": null, "end": null}, "mode": "audit", "is_active": true, "creation_date": "2024-05-01T10:00:00+00:00", "created_by": null}}'

# ids_of FILE: the event ids of tail/consume lines, in order.
ids_of() {
  sed -n 's/^{"metadata": {"event_type": "[^"]*", "id": "\([^"]*\)".*/\1/p' "$1"
}

# wait_lines FILE N: until FILE has N lines (false after a generous deadline).
wait_lines() {
  local deadline=$((SECONDS + 60))
  until [[ $(cat "$1" 2>/dev/null | wc -l) -ge $2 ]]; do
    [[ $SECONDS -lt $deadline ]] || return 1
    sleep 0.05
  done
}

# Every tail below that waits for entries has a generous --timeout: a missing entry fails the
# check instead of hanging the test.
run tail --help
expect_ok
expect_grep "Usage: edxbus tail -t TOPIC"
expect_grep "^  -n, --max-events N"

# --- five events, from the earliest: five lines, the produced ids in order --------------------
run produce -e $TYPE -t t1 -d "$DATA" --count 5 --print-ids
expect_ok
cp "$OUT" "$SCRATCH/ids1"
run tail t1 --from earliest --max-events 5 --timeout 30
expect_ok
expect_lines 5
cp "$OUT" "$SCRATCH/tail1"
check
[[ "$(ids_of "$SCRATCH/tail1")" == "$(cat "$SCRATCH/ids1")" ]] || fail "ids differ from produced"

# The same line as consume --print, byte for byte.
run consume -t t1 -g printer --extra '{"start": "earliest"}' --max-events 5
check
[[ $RC -eq 0 ]] || fail "exit $RC"
check
cmp -s "$OUT" "$SCRATCH/tail1" || fail "tail and consume --print lines differ"

# A tail takes nothing from a group: a second tail, and a group made after, still see all five.
run tail -t t1 --from earliest --max-events 5 --timeout 30
expect_ok
expect_lines 5
run consume -t t1 -g after-tails --extra '{"start": "earliest"}' --max-events 5
check
[[ $RC -eq 0 ]] || fail "exit $RC"
expect_lines 5

# --- where it begins --------------------------------------------------------------------------
# Default latest: only what arrives after it started; nothing arrives, so --timeout ends it.
run tail t1 --timeout 0.5
expect_ok
expect_lines 0
run tail t1 --from-time 2000-01-01T00:00:00+00:00 --max-events 5 --timeout 30
expect_ok
expect_lines 5
run tail t1 --from-time 2999-01-01T00:00:00Z --timeout 0.5
expect_ok
expect_lines 0
# --timeout is an idle time: with more entries than --max-events, --max-events ends it first.
run tail t1 --from earliest --max-events 2 --timeout 60
expect_ok
expect_lines 2

# --- entries arriving while it runs -----------------------------------------------------------
: >"$SCRATCH/live"
"$EDXBUS" tail t1 --from earliest --max-events 8 --timeout 120 >"$SCRATCH/live" \
  2>"$SCRATCH/live.err" &
live=$!
wait_lines "$SCRATCH/live" 5 || fail "tail printed $(wc -l <"$SCRATCH/live") of the first 5"
"$EDXBUS" produce -e $TYPE -t t1 -d "$DATA" --count 3 --print-ids >>"$SCRATCH/ids1" ||
  fail "produce while tailing failed"
wait "$live"
rc=$?
CMD="edxbus tail t1 (live)"
check
[[ $rc -eq 0 ]] || fail "exit $rc"
[[ "$(ids_of "$SCRATCH/live")" == "$(cat "$SCRATCH/ids1")" ]] ||
  fail "live tail ids differ: $(ids_of "$SCRATCH/live" | wc -l) of 8"

# --- SIGTERM exits 0 ---------------------------------------------------------------------------
: >"$SCRATCH/term"
"$EDXBUS" tail t1 --from earliest >"$SCRATCH/term" 2>"$SCRATCH/term.err" &
term=$!
wait_lines "$SCRATCH/term" 8 || fail "tail before SIGTERM printed $(wc -l <"$SCRATCH/term")"
kill -TERM "$term"
wait "$term"
rc=$?
CMD="edxbus tail t1 (SIGTERM)"
check
[[ $rc -eq 0 ]] || fail "exit $rc after SIGTERM"
[[ ! -s "$SCRATCH/term.err" ]] || fail "stderr: $(head -c 300 "$SCRATCH/term.err")"

# --- entries that cannot be shown: a warning naming the position, and on to the next ----------
# The writer's catalog here knows a type the reader's does not, and defines the enrollment
# event with another schema, so its bytes do not decode under the real one.
dir="$SCRATCH/avsc"
mkdir -p "$dir"
cat >"$dir/org+example+thing+happened+v1_schema.avsc" <<'AVSC'
{"name": "CloudEvent", "type": "record", "namespace": "org.example.thing.happened.v1",
 "fields": [{"name": "thing", "type": {"name": "ThingData", "type": "record",
             "fields": [{"name": "id", "type": "long"}]}}]}
AVSC
cat >"$dir/other_schema.avsc" <<AVSC
{"name": "CloudEvent", "type": "record", "namespace": "$TYPE",
 "fields": [{"name": "enrollment", "type": {"name": "Other", "type": "record",
             "fields": [{"name": "x", "type": "long"}]}}]}
AVSC
run --schemas "$dir" produce -e org.example.thing.happened.v1 -t t2 -k thing.id \
  -d '{"thing": {"id": 7}}'
expect_ok
run --schemas "$dir" produce -e $TYPE -t t2 -k enrollment.x -d '{"enrollment": {"x": 7}}'
expect_ok
run produce -e $TYPE -t t2 -d "$DATA" --print-ids
expect_ok
good=$(cat "$OUT")
run tail t2 --from earliest --max-events 3 --timeout 30
check
[[ $RC -eq 0 ]] || fail "exit $RC"
expect_lines 1
check
[[ "$(ids_of "$OUT")" == "$good" ]] || fail "the good event was not printed"
check
[[ $(wc -l <"$ERR") -eq 2 ]] || fail "$(wc -l <"$ERR") lines on stderr, expected 2 warnings"
grep -q '^edxbus tail: warning: t2 position [^ ]*: unknown event type "org.example.thing' "$ERR" ||
  fail "no warning for the unknown type"
grep -q '^edxbus tail: warning: t2 position [^ ]*: undecodable value' "$ERR" ||
  fail "no warning for the undecodable value"
# With the writer's schemas the first two print, and now the third is the one that does not.
run --schemas "$dir" tail t2 --from earliest --max-events 3 --timeout 30
check
[[ $RC -eq 0 ]] || fail "exit $RC"
expect_lines 2
check
[[ $(wc -l <"$ERR") -eq 1 ]] && grep -q 'undecodable value' "$ERR" || fail "expected 1 warning"

# --- usage errors: exit 2, one line -------------------------------------------------------------
run tail
expect_error 2 "TOPIC"
run tail ""
expect_error 2 "TOPIC"
run tail t1 t2
expect_error 2 "unexpected argument"
run tail t1 --from-time yesterday
expect_error 2 "--from-time" "yesterday"
run tail t1 --from-time 2024-05-01T00:00:00
expect_error 2 "--from-time" "UTC"
run tail t1 --from earliest --from-time 2024-05-01T00:00:00Z
expect_error 2 "--from" "--from-time"
run tail t1 --from not-a-position
expect_error 2 "not-a-position"
run tail t1 --max-events many
expect_error 2 "--max-events"
run tail t1 --timeout 0
expect_error 2 "--timeout"
run tail t1 --timeout soon
expect_error 2 "--timeout"
EVENT_BUS_CONSUMER=redsi run tail t1
expect_error 2 "EVENT_BUS_CONSUMER" "redis"

finish
