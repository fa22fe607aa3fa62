# bench/callgrind_relay.sh — instructions per entry of `edxbus relay --once` forwarding an outbox
# to a redis-server of its own, counted by callgrind (valgrind): exact and unmoved by other load
# on the machine, unlike time.
#
# Two outbox files are filled with N1 and N2 entries (`edxbus produce` with the relay off, not
# measured), then each is drained by `edxbus relay --once` under callgrind; the difference of
# the two totals divided by N2 - N1 is the cost of one entry, without the start-up. The event is
# the enrollment row "realistic" of tests/vectors/avro.jsonl, routed with its key field. Metrics
# are on unless METRICS=false (the relay's metrics thread counts too).
#
# Usage: bash bench/callgrind_relay.sh BUILD-DIR [N1 N2]   (needs valgrind and redis-server)
# Prints: `callgrind relay_ir_per_event <n>`.
set -euo pipefail
BUILD=${1:?usage: bash bench/callgrind_relay.sh BUILD-DIR [N1 N2]}
N1=${2:-2000}
N2=${3:-12000}
EDXBUS=$(cd "$BUILD" && pwd)/cli/edxbus
HERE=$(cd "$(dirname "$0")" && pwd)
command -v valgrind >/dev/null || { echo "callgrind_relay.sh: valgrind is not installed" >&2; exit 2; }
command -v redis-server >/dev/null || { echo "callgrind_relay.sh: redis-server is not installed" >&2; exit 2; }
TMP=$(mktemp -d /tmp/edxbus-callgrind-relay-XXXXXX)
port=$((20000 + RANDOM % 12000))
redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$TMP" \
    --logfile "$TMP/redis.log" --daemonize no &
rpid=$!
trap 'kill "$rpid" 2>/dev/null; wait "$rpid" 2>/dev/null; rm -rf "$TMP"' EXIT
for _ in $(seq 1 300); do
    [ "$(redis-cli -p "$port" ping 2>/dev/null)" = PONG ] && break
    sleep 0.05
done
TYPE=org.openedx.learning.course.enrollment.created.v1
DATA=$(python3 -c '
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["event_type"] == sys.argv[2] and r["case"] == "realistic":
        print(json.dumps(r["data"])); break' "$HERE/../tests/vectors/avro.jsonl" "$TYPE")
total() { # the Ir total of a callgrind output file
    awk '/^(summary|totals):/ {print $2}' "$1" | tail -1
}
for n in "$N1" "$N2"; do
    cat >"$TMP/cg$n.yaml" <<YAML
EVENTS_SERVICE_NAME: lms
EVENT_BUS_PRODUCER: redis
EVENT_BUS_REDIS_CONNECTION_URL: redis://127.0.0.1:$port/0
EVENT_BUS_REDIS_STREAM_MAX_LEN: 10000000
EVENT_BUS_OUTBOX_PATH: $TMP/outbox$n.db
EVENT_BUS_OUTBOX_RELAY: false
EVENT_BUS_METRICS_ENABLED: ${METRICS:-true}
EVENT_BUS_PRODUCER_CONFIG:
  $TYPE:
    cg:
      event_key_field: enrollment.course.course_key
      enabled: true
YAML
    EDXBUS_CONFIG=$TMP/cg$n.yaml EVENT_BUS_OUTBOX_DRAIN_TIMEOUT=0 \
        "$EDXBUS" produce -q -e "$TYPE" -d "$DATA" --count "$n" >/dev/null 2>&1 || true
    EDXBUS_CONFIG=$TMP/cg$n.yaml valgrind --tool=callgrind --callgrind-out-file="$TMP/r$n.out" \
        "$EDXBUS" relay --once >/dev/null 2>"$TMP/vg.log" || { cat "$TMP/vg.log" >&2; exit 1; }
done
sent=$(redis-cli -p "$port" xlen cg)
[ "$sent" = $((N1 + N2)) ] || { echo "callgrind_relay.sh: $sent entries reached Redis, not $((N1 + N2))" >&2; exit 1; }
echo "callgrind relay_ir_per_event $((($(total "$TMP/r$N2.out") - $(total "$TMP/r$N1.out")) / (N2 - N1)))"
