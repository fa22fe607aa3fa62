#!/usr/bin/env bash
# tests/cli/test_outbox_redis.sh EDXBUS — the producer outbox (EVENT_BUS_OUTBOX_PATH) through the
# command, against a redis-server of the test's own (append-only file, so a restart keeps what
# it acknowledged) and real SQLite outbox files:
#   1. no server at all: 10,000 events produced, exit 0, all waiting; `relay --once` fails with
#      one line while the server is away, then, once it runs, sends them all;
#   2. the server stopped in the middle of 10,000 events (sent by three producers: before, during,
#      after the outage) and restarted: every event arrives, every producer exits 0;
#   3. a relay SIGKILLed mid-drain (it has taken entries and sent them; the server's writes are
#      paused, CLIENT PAUSE WRITE, so none is confirmed), then run again: nothing lost;
#   4. four producers writing one outbox file at once: nothing lost, no "database is locked".
# Each time the distinct event ids on the stream must be exactly the ids `produce --print-ids`
# reported committed: read by `edxbus consume` in 1 and 2, and straight from the stream's id
# fields (redis-cli XRANGE, quicker) in 3 and 4. Only processes this script started
# are signalled, by pid; waits are bounded, nothing asserts on timing.
HERE=$(cd "$(dirname "$0")" && pwd)
START_EXTRA='{"check_backlog": true}'
source "$HERE/reliability_lib.sh" "$@"
source "$HERE/redis_server_lib.sh"
redis_require
REDIS_AOF=yes

export EVENT_BUS_PRODUCER=redis EVENT_BUS_CONSUMER=redis
export EVENT_BUS_REDIS_STREAM_MAX_LEN=1000000 EVENT_BUS_REDIS_SOCKET_TIMEOUT=2
export EVENT_BUS_OUTBOX_RETRY_MAX=0.5 EVENT_BUS_REDIS_AUDIT_LOGGING_ENABLED=false EVENT_BUS_CONSUMER_BATCH_SIZE=256

# No server at all for the first scenario: a URL on a port where nothing listens.
until port=$((20000 + RANDOM % 12000)) && ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
    :
done
export EVENT_BUS_REDIS_CONNECTION_URL="redis://127.0.0.1:$port/0"

# oproduce OUTBOX TOPIC N IDS [VAR=VALUE...]: N events through OUTBOX; ids appended to IDS,
# stderr to IDS.err; returns produce's exit status.
oproduce() {
    local outbox=$1 topic=$2 n=$3 ids=$4
    shift 4
    env EVENT_BUS_OUTBOX_PATH="$outbox" "$@" "$EDXBUS" produce -e "$TYPE" -t "$topic" -d "$DATA" \
        --count "$n" --print-ids >>"$ids" 2>>"$ids.err"
}

# receive_all TOPIC OUT: consume every entry of the stream in a new group into OUT.
receive_all() {
    local n
    n=$(redis-cli -p "$port" xlen "$1")
    [ "$n" -gt 0 ] || return 1
    timeout 300 "$EDXBUS" consume -t "$1" -g "check-$1" --extra "$START_EXTRA" --max-events "$n" \
        >"$2" 2>"$2.err"
}

# stream_ids TOPIC OUT: the value of every entry's id field, one per line (as ids_of reads
# consumer output, so same_ids works on both).
stream_ids() {
    redis-cli -p "$port" --raw xrange "$1" - + |
        awk 'prev == "id" { print } { prev = $0 }' | grep -E '^[0-9a-f]{8}-[0-9a-f]{4}-' |
        sed 's/.*/{"metadata": {"event_type": "t", "id": "&"}}/' >"$2"
}

# same_ids IDS OUT WHAT: the distinct ids received are exactly the 10,000 committed.
same_ids() {
    local want got
    want=$(sort -u "$1" | wc -l)
    got=$(ids_of "$2" | wc -l)
    if [ "$want" -eq 10000 ] && [ "$(sort -u "$1")" = "$(ids_of "$2")" ]; then
        ok "$3: all 10000 distinct ids received ($(lines "$2") deliveries)"
    else
        fail "$3: committed $want distinct ids, received $got; missing $(comm -23 \
            <(sort -u "$1") <(ids_of "$2") | wc -l)"
    fi
}

# waiting OUTBOX: the count `outbox status --json` reports.
waiting() {
    EVENT_BUS_OUTBOX_PATH="$1" "$EDXBUS" outbox status --json 2>"$tmp/status.err" |
        sed -n 's/.*"waiting": \([0-9]*\).*/\1/p'
}

# --- 1. no server at all until after the producer exited -------------------------------------
ob1=$tmp/ob1.db
: >"$tmp/ids1"
oproduce "$ob1" t1 10000 "$tmp/ids1" EVENT_BUS_OUTBOX_DRAIN_TIMEOUT=0.2
rc=$?
[ $rc -eq 0 ] && ok "1: produce with no server exits 0" ||
    fail "1: produce exit $rc: $(cat "$tmp/ids1.err")"
[ "$(lines "$tmp/ids1")" -eq 10000 ] || fail "1: $(lines "$tmp/ids1") ids printed, not 10000"
grep -q "10000 events wait in the outbox $ob1; \`edxbus relay\` will send them" "$tmp/ids1.err" &&
    [ "$(lines "$tmp/ids1.err")" -eq 1 ] && ok "1: produce says 10000 events wait" ||
    fail "1: produce's stderr: $(cat "$tmp/ids1.err")"
[ "$(waiting "$ob1")" = 10000 ] && ok "1: outbox status: 10000 waiting" ||
    fail "1: outbox status: $(waiting "$ob1") waiting ($(cat "$tmp/status.err"))"
[ "$(EVENT_BUS_OUTBOX_PATH=$ob1 "$EDXBUS" outbox list | lines)" -eq 10000 ] &&
    ok "1: outbox list: 10000 lines" || fail "1: outbox list printed the wrong count"
EVENT_BUS_OUTBOX_PATH=$ob1 "$EDXBUS" relay --once --timeout 1 >"$tmp/relay1.out" \
    2>"$tmp/relay1.err"
rc=$?
[ $rc -eq 1 ] && grep -q "^edxbus relay: redis stayed unreachable" "$tmp/relay1.err" &&
    [ ! -s "$tmp/relay1.out" ] && ok "1: relay --once with no server exits 1 with a reason" ||
    fail "1: relay --once with no server: exit $rc: $(cat "$tmp/relay1.err")"
[ "$(waiting "$ob1")" = 10000 ] || fail "1: the failed relay lost entries: $(waiting "$ob1") wait"
port= # any free port: the outbox does not remember where its events go
if ! redis_start; then
    echo "FAIL: cannot start redis-server: $(tail -n 3 "$tmp/redis/redis.log")" >&2
    exit 1
fi
export EVENT_BUS_REDIS_CONNECTION_URL="redis://127.0.0.1:$port/0"
EVENT_BUS_OUTBOX_PATH=$ob1 "$EDXBUS" relay --once >"$tmp/relay1.out" 2>"$tmp/relay1.err"
rc=$?
[ $rc -eq 0 ] && ok "1: relay --once sends the outbox" ||
    fail "1: relay --once: exit $rc: $(cat "$tmp/relay1.err")"
[ "$(waiting "$ob1")" = 0 ] && ok "1: outbox empty after the relay" ||
    fail "1: $(waiting "$ob1") still wait"
receive_all t1 "$tmp/c1.out" || fail "1: consume failed: $(cat "$tmp/c1.out.err")"
same_ids "$tmp/ids1" "$tmp/c1.out" "1"

# --- 2. the server stopped in the middle, then restarted -------------------------------------
ob2=$tmp/ob2.db
: >"$tmp/ids2"
oproduce "$ob2" t2 4000 "$tmp/ids2" EVENT_BUS_OUTBOX_DRAIN_TIMEOUT=60 ||
    fail "2: produce before the outage: $(cat "$tmp/ids2.err")"
[ ! -s "$tmp/ids2.err" ] && ok "2: 4000 events forwarded while the server is up" ||
    fail "2: before the outage: $(cat "$tmp/ids2.err")"
redis_stop
oproduce "$ob2" t2 3000 "$tmp/ids2" EVENT_BUS_OUTBOX_DRAIN_TIMEOUT=0.5
rc=$?
[ $rc -eq 0 ] && grep -q "3000 events wait" "$tmp/ids2.err" &&
    ok "2: produce during the outage exits 0; 3000 wait" ||
    fail "2: produce during the outage: exit $rc: $(cat "$tmp/ids2.err")"
status=$(EVENT_BUS_OUTBOX_PATH=$ob2 "$EDXBUS" outbox status --json)
grep -q '"relay_state": "unreachable"' <<<"$status" && ! grep -q '"last_error": ""' <<<"$status" &&
    ok "2: outbox status names the outage" || fail "2: outbox status: $status"
redis_start || fail "2: cannot restart redis-server"
: >"$tmp/ids2.err"
oproduce "$ob2" t2 3000 "$tmp/ids2" EVENT_BUS_OUTBOX_DRAIN_TIMEOUT=120 ||
    fail "2: produce after the outage: $(cat "$tmp/ids2.err")"
[ ! -s "$tmp/ids2.err" ] && [ "$(waiting "$ob2")" = 0 ] &&
    ok "2: after the restart the waiting events went too" ||
    fail "2: after the restart: $(waiting "$ob2") wait; $(cat "$tmp/ids2.err")"
receive_all t2 "$tmp/c2.out" || fail "2: consume failed: $(cat "$tmp/c2.out.err")"
same_ids "$tmp/ids2" "$tmp/c2.out" "2"

# --- 3. the relay SIGKILLed mid-drain ---------------------------------------------------------
ob3=$tmp/ob3.db
: >"$tmp/ids3"
oproduce "$ob3" t3 10000 "$tmp/ids3" EVENT_BUS_OUTBOX_RELAY=false EVENT_BUS_OUTBOX_DRAIN_TIMEOUT=0 \
    || fail "3: produce: $(cat "$tmp/ids3.err")"
[ "$(waiting "$ob3")" = 10000 ] || fail "3: $(waiting "$ob3") wait, not 10000"
# xadd_blocked: a client of the server (the relay) has XADDs waiting: sent, not confirmed.
xadd_blocked() {
    redis-cli -p "$port" client list | grep -q 'flags=b .*cmd=xadd'
}
# Writes paused: the server takes the relay's XADDs (and answers its PING) but confirms none.
[ "$(redis-cli -p "$port" client pause 600000 write)" = OK ] || fail "3: CLIENT PAUSE refused"
EVENT_BUS_OUTBOX_PATH=$ob3 "$EDXBUS" relay >"$tmp/relay3.out" 2>"$tmp/relay3.err" &
relay=$!
pids+=("$relay")
if wait_until 60 xadd_blocked; then
    ok "3: the relay took entries and sent them; none confirmed"
else
    fail "3: the relay never sent entries: $(cat "$tmp/relay3.err")"
fi
kill -KILL "$relay"
wait "$relay" 2>/dev/null
redis-cli -p "$port" client unpause >/dev/null
[ "$(waiting "$ob3")" = 10000 ] && ok "3: after the SIGKILL all 10000 still wait" ||
    fail "3: after the SIGKILL $(waiting "$ob3") wait, not 10000"
EVENT_BUS_OUTBOX_PATH=$ob3 "$EDXBUS" relay --once --timeout 60 >"$tmp/relay3.out" \
    2>"$tmp/relay3.err" && ok "3: the relay run again exits 0" ||
    fail "3: relay again: $(cat "$tmp/relay3.err")"
[ "$(waiting "$ob3")" = 0 ] || fail "3: $(waiting "$ob3") still wait"
stream_ids t3 "$tmp/c3.out"
same_ids "$tmp/ids3" "$tmp/c3.out" "3"

# --- 4. four producers, one outbox file, at once ----------------------------------------------
ob4=$tmp/ob4.db
writers=()
for w in 1 2 3 4; do
    : >"$tmp/ids4.$w"
    oproduce "$ob4" t4 2500 "$tmp/ids4.$w" EVENT_BUS_OUTBOX_DRAIN_TIMEOUT=0 &
    writers+=($!)
    pids+=($!)
done
for w in 1 2 3 4; do
    wait "${writers[$((w - 1))]}" || fail "4: writer $w exit $?: $(cat "$tmp/ids4.$w.err")"
done
cat "$tmp"/ids4.[1-4] >"$tmp/ids4"
! grep -qi "locked" "$tmp"/ids4.*.err && ok "4: no writer was refused with \"database is locked\"" ||
    fail "4: $(grep -hi locked "$tmp"/ids4.*.err | head -n 1)"
EVENT_BUS_OUTBOX_PATH=$ob4 "$EDXBUS" relay --once --timeout 60 2>"$tmp/relay4.err" ||
    fail "4: relay: $(cat "$tmp/relay4.err")"
stream_ids t4 "$tmp/c4.out"
same_ids "$tmp/ids4" "$tmp/c4.out" "4"

[ $failures -eq 0 ] || exit 1
echo "all outbox scenarios passed"
