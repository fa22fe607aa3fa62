# tests/integration/kafka/test_kafka_bridge.sh — `edxbus bridge` to and from Kafka (librdkafka's
# mock cluster and the in-memory Schema Registry of kafka_registry_main, a process of its own
# killed by its pid at the end), with the embedded broker (real SQLite files) on the other side:
#   1. sqlite -> kafka: 31 events (one with every metadata field fixed by --metadata) bridged in
#      two runs of one group (20, then the 11 left: a bridge resumes); what `tail` prints on
#      Kafka is line for line what it prints on the source (ids, metadata, data);
#   2. kafka -> sqlite, to another topic: the rows of the destination file are the rows of the
#      first file — event id, type, source, sourcehost, time (µs), minorversion, sourcelib, and
#      the key's and the value's Avro bytes — compared byte for byte, so the round trip through
#      Kafka (framing added, then stripped) changed nothing.
# Waits are bounded; nothing is timed.
#
# Usage: bash test_kafka_bridge.sh PATH-TO-EDXBUS PATH-TO-KAFKA_REGISTRY_MAIN
SERVER_BIN=${2:?usage: bash test_kafka_bridge.sh PATH-TO-EDXBUS PATH-TO-KAFKA_REGISTRY_MAIN}
source "$(dirname "$0")/../../cli/lib.sh" "$1"

source "$(dirname "$0")/kafka_servers_lib.sh"
kafka_servers_start "$SERVER_BIN" t1:2

unset EDXBUS_CONFIG EVENT_BUS_PRODUCER EVENT_BUS_CONSUMER EVENT_BUS_TOPIC_PREFIX EVENT_BUS_SQLITE_PATH
export EVENT_BUS_AUDIT_LOGGING_ENABLED=false EVENT_BUS_KAFKA_AUDIT_LOGGING_ENABLED=false
TYPE=org.openedx.learning.course.enrollment.created.v1
DATA='{"enrollment": {"user": {"id": 42, "is_active": true, "pii": {"username": "ada", "email": "ada@example.com", "name": "Ada"}}, "course": {"course_key": "course-v1:edX+DemoX+2024", "display_name": "Demo", "start": null, "end": null}, "mode": "audit", "is_active": true, "creation_date": "2024-05-01T10:00:00+00:00", "created_by": null}}'
MD='{"id": "0d1e2f3a-4b5c-11ee-8a6b-0242ac120002", "source": "openedx/cms/web", "sourcehost": "edx-host-7", "time": "2024-05-01T10:00:00.123456+00:00", "minorversion": 0}'
printf 'EVENT_BUS_PRODUCER: sqlite\nEVENT_BUS_SQLITE_PATH: %s\n' "$SCRATCH/a.db" >"$SCRATCH/a.yaml"
printf 'EVENT_BUS_PRODUCER: sqlite\nEVENT_BUS_SQLITE_PATH: %s\n' "$SCRATCH/c.db" >"$SCRATCH/c.yaml"
cat >"$SCRATCH/k.yaml" <<YAML
EVENT_BUS_PRODUCER: kafka
EVENT_BUS_KAFKA_BOOTSTRAP_SERVERS: "$BOOTSTRAP"
EVENT_BUS_KAFKA_SCHEMA_REGISTRY_URL: "$REGISTRY"
YAML

# same_lines WHAT SOURCE DEST: both hold the same lines (order aside), at least one.
same_lines() {
  check
  if [[ ! -s $2 ]] || [[ $(sort "$2") != "$(sort "$3")" ]]; then
    fail "$1: source and destination differ: $(diff <(sort "$2") <(sort "$3") | head -n 4)"
  fi
}

# --- 1. sqlite -> kafka -----------------------------------------------------------------------------
"$EDXBUS" produce -c "$SCRATCH/a.yaml" -e "$TYPE" -t t1 -d "$DATA" --count 30 &&
  "$EDXBUS" produce -c "$SCRATCH/a.yaml" -e "$TYPE" -t t1 -d "$DATA" -m "$MD" ||
  fail "1: produce failed"
for n in 20 11; do
  CMD="bridge sqlite -> kafka -n $n"
  check
  timeout 120 "$EDXBUS" bridge --from-config "$SCRATCH/a.yaml" -t t1 -g br \
    --to-config "$SCRATCH/k.yaml" --extra '{"start": "earliest"}' -n $n >"$OUT" 2>"$ERR" ||
    fail "exit $?"
done
"$EDXBUS" tail -c "$SCRATCH/a.yaml" t1 --from earliest -n 31 --timeout 30 >"$SCRATCH/src1" 2>/dev/null
CMD="tail on kafka"
timeout 120 "$EDXBUS" tail -c "$SCRATCH/k.yaml" t1 --from earliest -n 31 --timeout 60 \
  >"$SCRATCH/dst1" 2>"$ERR"
check
[[ $(wc -l <"$SCRATCH/dst1") -eq 31 ]] || fail "Kafka holds $(wc -l <"$SCRATCH/dst1") events, not 31"
same_lines "1: sqlite -> kafka" "$SCRATCH/src1" "$SCRATCH/dst1"
check
grep -qF '"id": "0d1e2f3a-4b5c-11ee-8a6b-0242ac120002", "minorversion": 0, "source": "openedx/cms/web", "sourcehost": "edx-host-7", "time": "2024-05-01T10:00:00.123456+00:00"' \
  "$SCRATCH/dst1" || fail "1: the event with fixed metadata is not on Kafka as it was"

# --- 2. kafka -> sqlite, byte for byte ------------------------------------------------------------
CMD="bridge kafka -> sqlite"
check
timeout 120 "$EDXBUS" bridge --from-config "$SCRATCH/k.yaml" -t t1 -g back \
  --to-config "$SCRATCH/c.yaml" --to-topic t3 --extra '{"start": "earliest"}' -n 31 \
  >"$OUT" 2>"$ERR" || fail "exit $?"
CMD="compare the SQLite rows"
check
python3 - "$SCRATCH/a.db" t1 "$SCRATCH/c.db" t3 <<'PY' || fail "the rows differ"
import sqlite3, sys
def rows(path, topic):
    db = sqlite3.connect(path)
    tid = db.execute("SELECT tid FROM topics WHERE name = ?", (topic,)).fetchone()[0]
    return sorted(db.execute(
        "SELECT event_id, event_type, source, sourcehost, time_us, minorversion, sourcelib,"
        " key, value FROM messages WHERE id >> 40 = ?", (tid,)).fetchall())
a, c = rows(sys.argv[1], sys.argv[2]), rows(sys.argv[3], sys.argv[4])
if len(a) != 31 or a != c:
    print(f"{len(a)} rows on the source, {len(c)} on the destination; first difference:",
          next(((x, y) for x, y in zip(a, c) if x != y), None), file=sys.stderr)
    sys.exit(1)
PY

finish
