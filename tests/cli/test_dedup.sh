#!/usr/bin/env bash
# tests/cli/test_dedup.sh EDXBUS — effectively-once receivers (EVENT_BUS_CONSUMER_DEDUP) through
# the command, on the embedded broker (real SQLite files for the log and for the handled ids):
#   1. the same event id produced twice (`--metadata` with a fixed id): the --exec receiver runs
#      once, both messages are acknowledged, and the skip is logged;
#   2. a consumer SIGKILLed after it handled an event (its id recorded) but before its ack reached
#      the broker (the embedded log commits acks with the next poll): after the restart the
#      redelivered event is skipped, the receiver does not run for it again;
#   3. with dedup off, the same redelivery runs the receiver again (what 2 guards against).
# Only processes this script started are signalled, by pid; waits are bounded.
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/reliability_lib.sh" "$@"
export EVENT_BUS_PRODUCER=sqlite EVENT_BUS_CONSUMER=sqlite EVENT_BUS_SQLITE_PATH="$tmp/bus.db"
export EVENT_BUS_CONSUMER_DEDUP_PATH="$tmp"

ID1=11111111-2222-1333-8444-555555555555
# count ID FILE: lines of the receiver's output carrying event ID.
count() { grep -c "\"id\": \"$1\"" "$2"; }

# --- 1. the same id twice -------------------------------------------------------------------
for i in 1 2; do
    "$EDXBUS" produce -e "$TYPE" -t d1 -d "$DATA" --metadata "{\"id\": \"$ID1\"}" \
        2>>"$tmp/produce.err" || fail "1: produce $i: $(cat "$tmp/produce.err")"
done
EVENT_BUS_CONSUMER_DEDUP=true "$EDXBUS" consume -v -t d1 -g g1 --extra '{"start": "earliest"}' \
    --max-events 2 --exec "cat >>'$tmp/r1.out'" >/dev/null 2>"$tmp/c1.err" ||
    fail "1: consume: $(tail -n 3 "$tmp/c1.err")"
[ "$(count $ID1 "$tmp/r1.out")" = 1 ] && ok "1: the receiver ran once for an id produced twice" ||
    fail "1: the receiver ran $(count $ID1 "$tmp/r1.out") times"
grep -q "event_id=$ID1 was already handled by group g1" "$tmp/c1.err" &&
    ok "1: the skip is logged" || fail "1: no skip line: $(tail -n 3 "$tmp/c1.err")"
[ "$(lag_sum g1 d1 pending)" = 0 ] && [ "$(lag_sum g1 d1 undelivered)" = 0 ] &&
    ok "1: both messages acknowledged" || fail "1: lag: $(cat "$tmp/lag.json" "$tmp/lag.err")"

# --- 2. SIGKILL between handling and acknowledging --------------------------------------------
# scenario2 TOPIC GROUP DEDUP: three events; the receiver of the 2nd kills the consumer (its
# parent) with SIGKILL, so the 1st was handled but its ack never committed; then a restart.
scenario2() {
    local topic=$1 group=$2 out=$tmp/r-$2.out
    : >"$tmp/ids-$2"
    "$EDXBUS" produce -e "$TYPE" -t "$topic" -d "$DATA" --count 3 --print-ids >"$tmp/ids-$2" \
        2>>"$tmp/produce.err" || fail "2: produce: $(cat "$tmp/produce.err")"
    local killer="cat >>'$out'; [ \$(wc -l <'$out') -eq 2 ] && kill -KILL \$PPID; exit 0"
    EVENT_BUS_CONSUMER_DEDUP=$3 "$EDXBUS" consume -t "$topic" -g "$group" \
        --extra '{"start": "earliest"}' --max-events 3 --exec "$killer" >/dev/null \
        2>"$tmp/c-$2a.err" &
    local consumer=$!
    pids+=("$consumer")
    wait "$consumer" 2>/dev/null
    local rc=$?
    [ $rc -eq 137 ] || fail "2: the consumer was not killed by its receiver (exit $rc)"
    EVENT_BUS_CONSUMER_DEDUP=$3 timeout 120 "$EDXBUS" consume -v -t "$topic" -g "$group" \
        --max-events 3 --exec "cat >>'$out'" >/dev/null 2>"$tmp/c-$2b.err" ||
        fail "2: restart: $(tail -n 3 "$tmp/c-$2b.err")"
    first=$(head -n 1 "$tmp/ids-$2")
}
scenario2 d2 g2 true
[ "$(count "$first" "$tmp/r-g2.out")" = 1 ] &&
    ok "2: the event handled before the SIGKILL is skipped when redelivered" ||
    fail "2: the receiver ran $(count "$first" "$tmp/r-g2.out") times for it"
grep -q "event_id=$first was already handled" "$tmp/c-g2b.err" ||
    fail "2: the redelivery was not logged as skipped"
[ -z "$(comm -23 <(sort -u "$tmp/ids-g2") <(ids_of "$tmp/r-g2.out"))" ] &&
    ok "2: every event reached the receiver" || fail "2: an event never reached the receiver"

# --- 3. the same without dedup: the receiver runs again -----------------------------------------
scenario2 d3 g3 false
[ "$(count "$first" "$tmp/r-g3.out")" = 2 ] &&
    ok "3: without dedup the redelivered event runs the receiver again" ||
    fail "3: without dedup the receiver ran $(count "$first" "$tmp/r-g3.out") times"

[ $failures -eq 0 ] || exit 1
echo "all dedup scenarios passed"
