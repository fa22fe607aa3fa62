# tests/integration/kafka/test_kafka_doctor.sh — `edxbus doctor` against the Kafka test servers
# (kafka_registry_main: librdkafka's mock cluster and the in-memory Schema Registry, in a process
# of their own, killed by its pid at the end):
#   1. a route to a topic that exists and one to a topic that does not: the missing one is a
#      warning (the mock cannot say whether its brokers create topics: DescribeConfigs is not
#      served, which is an info line), the schemas not registered yet are info, exit 0;
#   2. a group that read 1 of 5 events: its backlog sampled (-g; the mock does not list groups);
#      dead letters stored in <topic>-dlq: a warning with the count;
#   3. an older schema registered under a route's subject (the catalog's cannot read its data):
#      an error naming the subject, exit 1; --json parsed;
#   4. the registry unreachable: an error, exit 1; no broker at all: one error, exit 1.
# Waits are bounded; nothing is timed.
#
# Usage: bash test_kafka_doctor.sh PATH-TO-EDXBUS PATH-TO-KAFKA_REGISTRY_MAIN
SERVER_BIN=${2:?usage: bash test_kafka_doctor.sh PATH-TO-EDXBUS PATH-TO-KAFKA_REGISTRY_MAIN}
source "$(dirname "$0")/../../cli/lib.sh" "$1"

source "$(dirname "$0")/kafka_servers_lib.sh"
kafka_servers_start "$SERVER_BIN" dev-present:2 dev-present-dlq:1

ENROLL=org.openedx.learning.course.enrollment.created.v1
DATA='{"enrollment": {"user": {"id": 42, "is_active": true, "pii": {"username": "ada", "email": "ada@example.com", "name": "Ada"}}, "course": {"course_key": "course-v1:edX+DemoX+2024", "display_name": "Demo", "start": null, "end": null}, "mode": "audit", "is_active": true, "creation_date": "2024-05-01T10:00:00+00:00", "created_by": null}}'
unset EDXBUS_CONFIG EVENT_BUS_CONSUMER
export EVENT_BUS_PRODUCER=kafka EVENT_BUS_TOPIC_PREFIX=dev EVENT_BUS_KAFKA_AUDIT_LOGGING_ENABLED=false
export EVENT_BUS_KAFKA_BOOTSTRAP_SERVERS=$BOOTSTRAP EVENT_BUS_KAFKA_SCHEMA_REGISTRY_URL=$REGISTRY
route() { echo "\"$1\": {\"event_key_field\": \"enrollment.course.course_key\", \"enabled\": true}"; }
export EVENT_BUS_PRODUCER_CONFIG="{\"$ENROLL\": {$(route present), $(route absent)}}"

expect_finding() {
  check
  grep -qE -- "$1" "$OUT" || fail "no line matches /$1/ in: $(cat "$OUT")"
}

# --- 1. topics and schemas ------------------------------------------------------------------------
run doctor --interval 0.1
expect_ok
expect_finding "^info +kafka kafka\\.cluster: $BOOTSTRAP: 1 broker"
expect_finding "^info +kafka kafka\\.topic: dev-present: exists, 2 partition"
expect_finding "^warning kafka kafka\\.topic-missing: dev-absent: EVENT_BUS_PRODUCER_CONFIG routes $ENROLL here, but the topic does not exist"
expect_finding "^info +kafka kafka\\.auto-create: .*could not read"
expect_finding "^info +kafka kafka\\.schema: dev-present-$ENROLL\\.CloudEvent: not registered yet"

# --- 2. a group's backlog, dead letters -----------------------------------------------------------
"$EDXBUS" produce -e "$ENROLL" -t present -d "$DATA" --count 5 2>"$SCRATCH/p.err" ||
  fail "produce: $(cat "$SCRATCH/p.err")"
EVENT_BUS_CONSUMER_BATCH_SIZE=1 timeout 120 "$EDXBUS" consume -t present -g g1 \
  --extra '{"start": "earliest"}' -n 1 >/dev/null 2>"$SCRATCH/c.err" || fail "consume: $(cat "$SCRATCH/c.err")"
"$EDXBUS" produce -e "$ENROLL" -t present-dlq -d "$DATA" --count 2 2>"$SCRATCH/p.err" ||
  fail "produce to the dlq: $(cat "$SCRATCH/p.err")"
run doctor --interval 0.1 -t present -g g1
expect_ok
expect_finding "^info +kafka lag\\.steady: topic dev-present, group g1: backlog 4 event\\(s\\), then 4"
expect_finding "^warning kafka dead-letters\\.waiting: dev-present-dlq: 2 dead letter"
expect_finding "^info +kafka kafka\\.schema: dev-present-$ENROLL\\.CloudEvent: the catalog's schema is compatible"

# --- 3. an incompatible schema in the registry ----------------------------------------------------
run schema show --compact "$ENROLL"
older=$(sed 's/{"name": "mode", "type": "string"}, //' "$OUT")
check
[[ $older != "$(cat "$OUT")" ]] || fail "could not drop mode from the schema"
if command -v curl >/dev/null; then
  body="{\"schema\": \"$(printf '%s' "$older" | sed 's/\\/\\\\/g; s/"/\\"/g')\"}"
  curl -sf -X POST -H 'Content-Type: application/vnd.schemaregistry.v1+json' -d "$body" \
    "$REGISTRY/subjects/dev-absent-$ENROLL.CloudEvent/versions" >/dev/null ||
    fail "curl could not register the older schema"
  run doctor --interval 0.1 -j
  check
  [[ $RC -eq 1 ]] || fail "exit $RC, expected 1"
  check
  python3 -c "
import json
d = json.load(open('$OUT'))
bad = [f for f in d['findings'] if f['check'] == 'kafka.schema-incompatible']
assert len(bad) == 1 and bad[0]['severity'] == 'error', d
assert bad[0]['subject'] == 'dev-absent-$ENROLL.CloudEvent', bad
assert bad[0]['details']['topic'] == 'dev-absent' and d['errors'] == 1, bad
" || fail "--json: $(cat "$OUT")"
else
  echo "note: curl not found; the incompatible case is not checked" >&2
fi

# --- 4. the registry unreachable; no broker -------------------------------------------------------
EVENT_BUS_KAFKA_SCHEMA_REGISTRY_URL=http://127.0.0.1:1 run doctor --interval 0.1
check
[[ $RC -eq 1 ]] || fail "exit $RC, expected 1"
expect_finding "^error +kafka kafka\\.registry-unreachable: .*127\\.0\\.0\\.1:1"
kafka_servers_stop
run doctor --interval 0.1
check
[[ $RC -eq 1 ]] || fail "exit $RC, expected 1"
expect_finding "^error +kafka broker\\.unreachable: kafka: the brokers $BOOTSTRAP did not answer"

finish
