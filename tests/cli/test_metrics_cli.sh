#!/usr/bin/env bash
# tests/cli/test_metrics_cli.sh EDXBUS — running a worker for a supervisor, through the command:
#   1. `consume --metrics-address 127.0.0.1:PORT` (a free port) on the embedded broker: /readyz
#      and /healthz answer 200, /metrics counts the events consumed (scraped with curl), and
#      SIGTERM exits 0;
#   2. the exit codes: a bad --metrics-address or EVENT_BUS_METRICS_ADDRESS and a port already
#      taken exit 2 with one line; the consecutive-errors limit exits 3; a Redis server that
#      refuses the password exits 4 (skipped loudly without redis-server);
#   3. hostile addresses are refused with one line each, never a crash;
#   4. `consume --help` lists the exit codes.
# Only processes this script started are signalled, by pid; waits are bounded.
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/reliability_lib.sh" "$@"
source "$HERE/redis_server_lib.sh"
export EVENT_BUS_PRODUCER=sqlite EVENT_BUS_CONSUMER=sqlite EVENT_BUS_SQLITE_PATH="$tmp/bus.db"
command -v curl >/dev/null || { echo "*** SKIP: curl not installed" >&2; exit 77; }

# free_port: a loopback port nothing listens on.
free_port() {
    local p
    for _ in $(seq 1 50); do
        p=$((20000 + RANDOM % 12000))
        (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return 0; }
    done
    return 1
}
# wait_http URL CODE: until curl gets CODE (bounded: 30 s).
wait_http() {
    local deadline=$((SECONDS + 30)) code
    while [ $SECONDS -lt $deadline ]; do
        code=$(curl -s -o /dev/null -w '%{http_code}' "$1")
        [ "$code" = "$2" ] && return 0
        sleep 0.05
    done
    return 1
}

# --- 1. a consumer with metrics on ---------------------------------------------------------
produce m1 5 "$tmp/ids" || fail "1: produce: $(cat "$tmp/produce.err")"
PORT=$(free_port) || fail "1: no free port"
"$EDXBUS" consume -t m1 -g g1 --extra '{"start": "earliest"}' --metrics-address "127.0.0.1:$PORT" \
    >"$tmp/c1.out" 2>"$tmp/c1.err" &
cpid=$!
pids+=("$cpid")
wait_http "http://127.0.0.1:$PORT/readyz" 200 && ok "1: /readyz answers 200" ||
    fail "1: /readyz never answered 200: $(cat "$tmp/c1.err")"
wait_http "http://127.0.0.1:$PORT/healthz" 200 && ok "1: /healthz answers 200" ||
    fail "1: /healthz never answered 200"
deadline=$((SECONDS + 30))
while [ $SECONDS -lt $deadline ]; do
    curl -s "http://127.0.0.1:$PORT/metrics" >"$tmp/metrics.txt"
    grep -q '^edxbus_events_consumed_total{topic="m1",group="g1",event_type="'"$TYPE"'"} 5$' \
        "$tmp/metrics.txt" && break
    sleep 0.05
done
grep -q '^edxbus_events_consumed_total{topic="m1",group="g1",event_type="'"$TYPE"'"} 5$' \
    "$tmp/metrics.txt" && ok "1: /metrics counts the 5 events" ||
    fail "1: /metrics: $(grep consumed "$tmp/metrics.txt")"
grep -q '^# TYPE edxbus_handle_seconds histogram$' "$tmp/metrics.txt" &&
    ok "1: the handling histogram is served" || fail "1: no handling histogram"
kill -TERM "$cpid"
wait "$cpid"
rc=$?
[ $rc = 0 ] && ok "1: SIGTERM exits 0" || fail "1: SIGTERM exit $rc: $(cat "$tmp/c1.err")"

# --- 2. exit codes ------------------------------------------------------------------------
"$EDXBUS" consume -t m1 -g g2 --metrics-address 127.0.0.1:99999 >/dev/null 2>"$tmp/e.err"
rc=$?
[ $rc = 2 ] && [ "$(wc -l <"$tmp/e.err")" = 1 ] && grep -q -- '--metrics-address' "$tmp/e.err" &&
    ok "2: a bad --metrics-address exits 2 with one line" ||
    fail "2: bad --metrics-address: exit $rc: $(cat "$tmp/e.err")"
EVENT_BUS_METRICS_ADDRESS=nowhere:1 "$EDXBUS" consume -t m1 -g g2 >/dev/null 2>"$tmp/e.err"
rc=$?
[ $rc = 2 ] && grep -q EVENT_BUS_METRICS_ADDRESS "$tmp/e.err" &&
    ok "2: a bad EVENT_BUS_METRICS_ADDRESS exits 2 naming it" ||
    fail "2: bad EVENT_BUS_METRICS_ADDRESS: exit $rc: $(cat "$tmp/e.err")"
EVENT_BUS_METRICS_ADDRESS=nowhere:1 "$EDXBUS" config check >/dev/null 2>"$tmp/e.err"
grep -q EVENT_BUS_METRICS_ADDRESS "$tmp/e.err" && ok "2: config check names a bad address" ||
    fail "2: config check: $(cat "$tmp/e.err")"
# A port someone listens on (our own first consumer, started again).
"$EDXBUS" consume -t m1 -g g1 --metrics-address "127.0.0.1:$PORT" >/dev/null 2>"$tmp/c2.err" &
cpid=$!
pids+=("$cpid")
wait_http "http://127.0.0.1:$PORT/healthz" 200 || fail "2: the first listener did not start"
"$EDXBUS" consume -t m1 -g g3 --metrics-address "127.0.0.1:$PORT" >/dev/null 2>"$tmp/e.err"
rc=$?
[ $rc = 2 ] && grep -q "cannot listen" "$tmp/e.err" && ok "2: a port in use exits 2" ||
    fail "2: port in use: exit $rc: $(cat "$tmp/e.err")"
kill -TERM "$cpid"
wait "$cpid"
EVENT_BUS_CONSUMER_CONSECUTIVE_ERRORS_LIMIT=2 EVENT_BUS_CONSUMER_RETRIES=1 \
    "$EDXBUS" consume -t m1 -g g4 --extra '{"start": "earliest"}' --exec 'exit 1' \
    >/dev/null 2>"$tmp/e.err"
rc=$?
[ $rc = 3 ] && grep -q "consecutive errors" "$tmp/e.err" &&
    ok "2: the consecutive-errors limit exits 3" ||
    fail "2: errors limit: exit $rc: $(tail -n 2 "$tmp/e.err")"

# --- 3. hostile addresses -------------------------------------------------------------------
for a in '' ':' '::' '[' '[]:1' '[::1' '[::1]' '[::1]x' '1.2.3.4:' ':65536' ':-1' ':+80' \
    ':0x50' '127.0.0.1:80:80' 'a b:80' '999.1.1.1:80' "$(printf 'x%.0s' $(seq 1 300)):80" \
    ':99999999999999999999' '%s%s%n:80' $'127.0.0.1:80\nx'; do
    "$EDXBUS" consume -t m1 -g g5 --metrics-address "$a" >/dev/null 2>"$tmp/h.err"
    rc=$?
    if [ $rc != 2 ] || [ "$(wc -l <"$tmp/h.err")" != 1 ]; then
        fail "3: address '$a': exit $rc: $(cat "$tmp/h.err")"
    fi
done
ok "3: hostile addresses are refused with exit 2 and one line"

# --- 4. --help ------------------------------------------------------------------------------
"$EDXBUS" consume --help | grep -q "Exit codes: 0 stopped by SIGTERM" &&
    ok "4: consume --help lists the exit codes" || fail "4: consume --help"

# --- 2b. a broker that refuses the password exits 4 -----------------------------------------
if [ -n "$redis_server" ] && [ -x "$redis_server" ] && command -v redis-cli >/dev/null; then
    redis_start || fail "2b: redis-server did not start"
    redis-cli -p "$port" config set requirepass right >/dev/null
    EVENT_BUS_CONSUMER=redis EVENT_BUS_REDIS_CONNECTION_URL="redis://:wrong@127.0.0.1:$port/0" \
        "$EDXBUS" consume -t m1 -g g6 >/dev/null 2>"$tmp/e.err"
    rc=$?
    [ $rc = 4 ] && ok "2b: a refused password exits 4" ||
        fail "2b: refused password: exit $rc: $(cat "$tmp/e.err")"
    redis_stop
else
    echo "*** SKIP 2b: redis-server not installed; exit code 4 NOT tested" >&2
fi

[ $failures = 0 ] || exit 1
