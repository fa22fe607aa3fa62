# tests/integration/kafka/test_kafka_cli.sh — the real `edxbus` binary against the Kafka test
# servers: kafka_registry_main (the in-memory Schema Registry and a librdkafka mock cluster, in a
# process of their own, killed by its pid at the end).
#
#   schema register / check   subjects, ids, "compatible" / "incompatible" / "not registered",
#                             exit codes, the routed events as the default, errors
#   produce, consume, lag     events produced and consumed through Kafka, then the group's lag
#   tail                      when the tail command exists: the same events, no group
#   dlq list / replay         dead letters read without joining a group: exact counts of
#                             read, replayed and skipped; one by position; one group's only
#
# Usage: bash test_kafka_cli.sh PATH-TO-EDXBUS PATH-TO-KAFKA_REGISTRY_MAIN
SERVER_BIN=${2:?usage: bash test_kafka_cli.sh PATH-TO-EDXBUS PATH-TO-KAFKA_REGISTRY_MAIN}
source "$(dirname "$0")/../../cli/lib.sh" "$1"

source "$(dirname "$0")/kafka_servers_lib.sh"
kafka_servers_start "$SERVER_BIN" dev-lag:1 dev-dlqt:2 dev-dlqt-dlq:1

ENROLL=org.openedx.learning.course.enrollment.created.v1
UNENROLL=org.openedx.learning.course.unenrollment.completed.v1
export EVENT_BUS_TOPIC_PREFIX=dev

# ---------------------------------------------------------------------------------------------
# schema register / check

run schema check -t ev "$ENROLL"
expect_error 2 "EVENT_BUS_KAFKA_SCHEMA_REGISTRY_URL"
export EVENT_BUS_KAFKA_SCHEMA_REGISTRY_URL=$REGISTRY

run schema register "$ENROLL"
expect_error 2 "--topic"
run schema register -t ev org.openedx.nope.v1
expect_error 2 "unknown event type"

run schema check -t ev "$ENROLL" "$UNENROLL"
expect_ok
expect_stdout "dev-ev-$ENROLL.CloudEvent not registered
dev-ev-$UNENROLL.CloudEvent not registered"

# A fresh registry gives ids from 1, in order; registering again changes nothing.
run schema register -t ev "$ENROLL" "$UNENROLL"
expect_ok
expect_stdout "dev-ev-$ENROLL.CloudEvent 1
dev-ev-$UNENROLL.CloudEvent 2"
run schema register --topic=ev "$UNENROLL"
expect_ok
expect_stdout "dev-ev-$UNENROLL.CloudEvent 2"

run schema check -t ev "$ENROLL" "$UNENROLL"
expect_ok
expect_stdout "dev-ev-$ENROLL.CloudEvent compatible
dev-ev-$UNENROLL.CloudEvent compatible"

# What an older producer registered under topic old: the enrollment without "mode". The
# catalog's schema cannot read its data (mode has no default): incompatible, exit 1, every line
# printed first.
run schema show --compact "$ENROLL"
expect_ok
older=$(sed 's/{"name": "mode", "type": "string"}, //' "$OUT")
check
[[ $older != "$(cat "$OUT")" ]] || fail "could not drop mode from the schema"
if command -v curl >/dev/null; then
  body="{\"schema\": \"$(printf '%s' "$older" | sed 's/\\/\\\\/g; s/"/\\"/g')\"}"
  curl -sf -X POST -H 'Content-Type: application/vnd.schemaregistry.v1+json' -d "$body" \
    "$REGISTRY/subjects/dev-old-$ENROLL.CloudEvent/versions" >/dev/null ||
    fail "curl could not register the older schema"
  run schema check -t old "$ENROLL" "$UNENROLL"
  check
  [[ $RC -eq 1 ]] || fail "exit $RC, expected 1"
  expect_stdout "dev-old-$ENROLL.CloudEvent incompatible
dev-old-$UNENROLL.CloudEvent not registered"
  check
  [[ $(wc -l <"$ERR") -eq 1 ]] || fail "expected one line on stderr"
  grep -qF "edxbus schema check: 1 of 2 schemas are incompatible" "$ERR" ||
    fail "stderr: $(cat "$ERR")"
  grep -qF "first: $ENROLL" "$ERR" || fail "stderr does not name the event: $(cat "$ERR")"
else
  echo "note: curl not found; the incompatible case is not checked" >&2
fi

# No TYPE: the events EVENT_BUS_PRODUCER_CONFIG routes to the topic.
export EVENT_BUS_PRODUCER_CONFIG="{\"$ENROLL\": {\"ev\": {\"event_key_field\": \"enrollment.user.id\", \"enabled\": true}}, \"$UNENROLL\": {\"other\": {\"event_key_field\": \"enrollment.user.id\", \"enabled\": true}}}"
run schema check -t ev
expect_ok
expect_stdout "dev-ev-$ENROLL.CloudEvent compatible"
run schema register -t nothing
expect_error 2 "routes no event to topic \"nothing\""

# The registry gone: exit 1, one line naming it.
run schema check -t ev "$ENROLL"
expect_ok
EVENT_BUS_KAFKA_SCHEMA_REGISTRY_URL=http://127.0.0.1:1 run schema check -t ev "$ENROLL"
expect_error 1 "http://127.0.0.1:1" "$ENROLL"

# ---------------------------------------------------------------------------------------------
# produce, consume and lag through Kafka

export EVENT_BUS_PRODUCER=kafka EVENT_BUS_CONSUMER=kafka
export EVENT_BUS_KAFKA_BOOTSTRAP_SERVERS=$BOOTSTRAP
# Short sessions: the mock coordinator waits a departed member's session out before the next
# join.
export EVENT_BUS_KAFKA_CONFIG='{"session.timeout.ms": 6000, "heartbeat.interval.ms": 500, "log_level": 0}'
unset EVENT_BUS_PRODUCER_CONFIG
DATA='{"enrollment": {"user": {"id": 42, "is_active": true, "pii": {"username": "ada", "email": "ada@example.com", "name": "Ada"}}, "course": {"course_key": "course-v1:edX+DemoX+2024", "display_name": "Demo", "start": null, "end": null}, "mode": "audit", "is_active": true, "creation_date": "2024-05-01T10:00:00+00:00", "created_by": null}}'

run produce -e "$ENROLL" -t lag -d "$DATA" --count 5 --print-ids
expect_ok
expect_lines 5
cp "$OUT" "$SCRATCH/ids"

# A new group that consumes 2 of the 5 from the start.
run consume -t lag -g g-cli --extra '{"start": "earliest"}' -n 2
check
[[ $RC -eq 0 ]] || fail "exit $RC"
expect_lines 2
check
grep -qF "\"course_key\": \"course-v1:edX+DemoX+2024\"" "$OUT" || fail "consumed data: $(head -c 300 "$OUT")"
grep -qF "$(head -n 1 "$SCRATCH/ids")" "$OUT" || fail "the first event consumed is not the first produced"

run lag -g g-cli lag --json
expect_ok
expect_grep '"undelivered": 3'
expect_grep '"partition": 0'
expect_grep '"pending": null'
run lag -g g-never lag
expect_error 1 "g-never" "no committed offset"

# ---------------------------------------------------------------------------------------------
# tail (when this edxbus has it)

if "$EDXBUS" tail --help >/dev/null 2>&1; then
  run tail lag --from earliest -n 5 --timeout 20
  check
  [[ $RC -eq 0 ]] || fail "exit $RC"
  expect_lines 5
  while read -r id; do
    check
    grep -qF "$id" "$OUT" || fail "tail did not print event $id"
  done <"$SCRATCH/ids"
  # A tail moves no group: g-cli is still 3 behind.
  run lag -g g-cli lag --json
  expect_ok
  expect_grep '"undelivered": 3'
else
  echo "note: this edxbus has no tail command; tail is not checked" >&2
fi

# ---------------------------------------------------------------------------------------------
# dead letters: replay reads them without joining a group and counts exactly

run produce -e "$ENROLL" -t dlqt -d "$DATA" --count 4 --print-ids
expect_ok
EVENT_BUS_CONSUMER_RETRIES=1 EVENT_BUS_CONSUMER_RETRY_BACKOFF_MS=10 \
  run consume -t dlqt -g g-fail --extra '{"start": "earliest"}' -n 4 --exec 'cat >/dev/null; exit 3'
check
[[ $RC -eq 0 ]] || fail "consume --exec exit $RC"
run dlq list dlqt
expect_ok
expect_lines 4
expect_grep '"group": "g-fail"'
THIRD=$(sed -n 3p "$OUT" | sed 's/.*"position": "\([^"]*\)".*/\1/')
[[ $THIRD == 0:2 ]] || fail "the third dead letter is at \"$THIRD\", expected 0:2"
run dlq replay dlqt --position "$THIRD"
expect_ok
expect_stdout "read 3 dead letter(s): replayed 1, skipped 2"
run dlq replay dlqt --position 0:99
expect_error 1 "no dead letter at position 0:99"
run dlq replay dlqt -g g-other
expect_ok
expect_stdout "read 4 dead letter(s): replayed 0, skipped 4"
run dlq replay dlqt -g g-fail
expect_ok
expect_stdout "read 4 dead letter(s): replayed 4, skipped 0"
run dlq replay dlqt
expect_ok
expect_stdout "read 0 dead letter(s): replayed 0, skipped 0"
# 4 produced + 1 by position + 4 replayed: a new group reads 9.
run consume -t dlqt -g g-after --extra '{"start": "earliest"}' -n 9
check
[[ $RC -eq 0 ]] || fail "consume after replay exit $RC"
expect_lines 9
# Dead letters that cannot be read (no broker answers): exit 1, not "replayed 0".
EVENT_BUS_KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:1 run dlq replay dlqt
expect_error 1 "dev-dlqt-dlq"

finish
