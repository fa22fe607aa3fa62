# bench/callgrind_nats.sh — instructions per event, on the calling thread, of bench_nats's produce
# through edxbus (ops->produce with a delivery callback, then flush) and of the raw libnats
# publish it is compared with (js_PublishMsgAsync of the same bytes and headers), counted by
# callgrind: exact and unmoved by other load, unlike bench_nats's times. The nats-server the
# bench starts runs outside valgrind; what libnats does on its own threads (the acks) is not in
# the count (--toggle-collect follows the calling thread's call tree).
#
# Each side runs with N1 and N2 events (one round); the difference of the two totals divided by
# N2 - N1 is the cost of one event, without the start-up. The raw side is entered twice a round
# (with and without an ack handler), so its difference is halved.
#
# Usage: bash bench/callgrind_nats.sh BUILD-DIR [N1 N2]     (needs valgrind and nats-server)
# Prints: `callgrind nats_produce_ir_per_event <n>` and `callgrind nats_raw_produce_ir_per_event <n>`.
set -euo pipefail
BUILD=${1:?usage: bash bench/callgrind_nats.sh BUILD-DIR [N1 N2]}
N1=${2:-1000}
N2=${3:-3000}
BENCH=$(cd "$BUILD" && pwd)/bench/bench_nats
command -v valgrind >/dev/null || { echo "callgrind_nats.sh: valgrind is not installed" >&2; exit 2; }
TMP=$(mktemp -d /tmp/edxbus-callgrind-nats-XXXXXX)
trap 'rm -rf "$TMP"' EXIT

# total FUNCTION N: the instructions collected inside FUNCTION with N events.
total() {
    BENCH_NATS_EVENTS=$2 BENCH_NATS_ROUNDS=1 valgrind --tool=callgrind \
        --callgrind-out-file="$TMP/cg.out" --toggle-collect="$1" "$BENCH" >/dev/null 2>"$TMP/cg.err"
    grep -o 'Collected : [0-9]*' "$TMP/cg.err" | grep -o '[0-9]*$'
}
ours=$(( ($(total ours_produce "$N2") - $(total ours_produce "$N1")) / (N2 - N1) ))
raw=$(( ($(total raw_produce_ctx "$N2") - $(total raw_produce_ctx "$N1")) / (2 * (N2 - N1)) ))
echo "callgrind nats_produce_ir_per_event $ours"
echo "callgrind nats_raw_produce_ir_per_event $raw"
