# bench/callgrind.sh — instructions per event of `edxbus produce` and `edxbus consume --print` on
# the embedded broker, counted by callgrind (valgrind): exact and unmoved by other load on the
# machine, unlike time.
#
# Each command runs twice under callgrind, with N1 and N2 events; the difference of the two
# totals divided by N2 - N1 is the cost of one event, without the start-up (catalog, settings,
# opening the file). The event is the enrollment row "realistic" of tests/vectors/avro.jsonl,
# routed with its key field; consume reads the events produced first (no callgrind there).
#
# The worker (edxbus_consumer_run() with a no-op receiver on every signal, audit lines on as by
# default) is counted alone inside `bench_e2e cg-worker` (--toggle-collect=edxbus_consumer_run).
#
# Usage: bash bench/callgrind.sh BUILD-DIR [N1 N2]     (needs valgrind: apt-get install valgrind)
# Prints: `callgrind produce_ir_per_event <n>`, `callgrind consume_print_ir_per_event <n>`,
# `callgrind consume_worker_ir_per_event <n>` (and with audit lines written / off:
# `consume_worker_audit_written_ir_per_event`, `..._off_...`), `callgrind produce_capi_ir_per_event <n>`,
# (with redis-server installed) `callgrind produce_capi_redis_ir_per_event <n>` and (when the build
# has bench_e2e_kafka) `callgrind consume_worker_kafka_ir_per_event <n>`: the worker on librdkafka's
# mock cluster with a 100-partition topic, its own thread inside edxbus_consumer_run() only.
set -euo pipefail
BUILD=${1:?usage: bash bench/callgrind.sh BUILD-DIR [N1 N2]}
N1=${2:-2000}
N2=${3:-12000}
EDXBUS=$(cd "$BUILD" && pwd)/cli/edxbus
BENCH_E2E=$(cd "$BUILD" && pwd)/bench/bench_e2e
HERE=$(cd "$(dirname "$0")" && pwd)
command -v valgrind >/dev/null || { echo "callgrind.sh: valgrind is not installed" >&2; exit 2; }
TMP=$(mktemp -d /tmp/edxbus-callgrind-XXXXXX)
trap 'rm -rf "$TMP"' EXIT
TYPE=org.openedx.learning.course.enrollment.created.v1
DATA=$(python3 -c '
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["event_type"] == sys.argv[2] and r["case"] == "realistic":
        print(json.dumps(r["data"])); break' "$HERE/../tests/vectors/avro.jsonl" "$TYPE")
cat >"$TMP/cg.yaml" <<EOF
EVENTS_SERVICE_NAME: lms
EVENT_BUS_PRODUCER: sqlite
EVENT_BUS_CONSUMER: sqlite
EVENT_BUS_SQLITE_PATH: $TMP/cg.db
EVENT_BUS_SQLITE_SYNCHRONOUS: NORMAL
EVENT_BUS_CONSUMER_BATCH_SIZE: 100
EVENT_BUS_PRODUCER_CONFIG:
  $TYPE:
    cg:
      event_key_field: enrollment.course.course_key
      enabled: true
EOF
export EDXBUS_CONFIG=$TMP/cg.yaml

total() { # the Ir total of a callgrind output file
  awk '/^(summary|totals):/ {print $2}' "$1" | tail -1
}
run() { # run NAME [VALGRIND-OPTIONS --] ARGS...: `edxbus ARGS` (or, after --, the program
  # named) under callgrind, stdout discarded; prints the total
  local out=$TMP/$1.out opts=()
  shift
  if [[ " $* " == *" -- "* ]]; then
    while [[ $1 != -- ]]; do opts+=("$1"); shift; done
    shift
  else
    set -- "$EDXBUS" "$@"
  fi
  valgrind --tool=callgrind "${opts[@]}" --callgrind-out-file="$out" "$@" >/dev/null 2>"$TMP/vg.log" ||
    { cat "$TMP/vg.log" >&2; exit 1; }
  total "$out"
}

p1=$(run p1 produce -q -e "$TYPE" -d "$DATA" --count "$N1")
p2=$(run p2 produce -q -e "$TYPE" -d "$DATA" --count "$N2")
"$EDXBUS" produce -q -e "$TYPE" -d "$DATA" --count "$N2" >/dev/null
c1=$(run c1 consume -t cg -g g1 --print -n "$N1" --extra '{"start": "earliest"}')
c2=$(run c2 consume -t cg -g g2 --print -n "$N2" --extra '{"start": "earliest"}')
w1=$(BENCH_N=$N1 run w1 --toggle-collect=edxbus_consumer_run -- "$BENCH_E2E" cg-worker)
w2=$(BENCH_N=$N2 run w2 --toggle-collect=edxbus_consumer_run -- "$BENCH_E2E" cg-worker)
echo "callgrind produce_ir_per_event $(((p2 - p1) / (N2 - N1)))"
echo "callgrind consume_print_ir_per_event $(((c2 - c1) / (N2 - N1)))"
echo "callgrind consume_worker_ir_per_event $(((w2 - w1) / (N2 - N1)))"
# The audit lines' cost: the same worker with every audit line formatted and written (a log sink
# writing to /dev/null through stdio) and with EVENT_BUS_AUDIT_LOGGING_ENABLED false.
for a in written off; do
  x1=$(BENCH_AUDIT=$a BENCH_N=$N1 run "x1$a" --toggle-collect=edxbus_consumer_run -- "$BENCH_E2E" cg-worker)
  x2=$(BENCH_AUDIT=$a BENCH_N=$N2 run "x2$a" --toggle-collect=edxbus_consumer_run -- "$BENCH_E2E" cg-worker)
  echo "callgrind consume_worker_audit_${a}_ir_per_event $(((x2 - x1) / (N2 - N1)))"
done
# The C API: edxbus_send_event() of the same data and the flush, counted inside those calls
# (`bench_e2e cg-capi-*`), on the embedded broker and on a redis-server the bench starts.
capi() { # capi BROKER: instructions per event
  local a b opts=(--toggle-collect=edxbus_send_event --toggle-collect=edxbus_bus_flush --)
  a=$(BENCH_N=$N1 run "a$1" "${opts[@]}" "$BENCH_E2E" "cg-capi-$1")
  b=$(BENCH_N=$N2 run "b$1" "${opts[@]}" "$BENCH_E2E" "cg-capi-$1")
  echo $(((b - a) / (N2 - N1)))
}
echo "callgrind produce_capi_ir_per_event $(capi sqlite)"
if command -v redis-server >/dev/null; then
  echo "callgrind produce_capi_redis_ir_per_event $(capi redis)"
fi
BENCH_E2E_KAFKA=$(cd "$BUILD" && pwd)/bench/bench_e2e_kafka
if [[ -x $BENCH_E2E_KAFKA ]]; then
  k1=$(BENCH_N=$N1 run k1 --toggle-collect=edxbus_consumer_run -- "$BENCH_E2E_KAFKA" cg-worker)
  k2=$(BENCH_N=$N2 run k2 --toggle-collect=edxbus_consumer_run -- "$BENCH_E2E_KAFKA" cg-worker)
  echo "callgrind consume_worker_kafka_ir_per_event $(((k2 - k1) / (N2 - N1)))"
fi
