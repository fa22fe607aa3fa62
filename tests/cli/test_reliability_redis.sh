#!/usr/bin/env bash
# tests/cli/test_reliability_redis.sh EDXBUS — the reliability scenarios of reliability_lib.sh
# (SIGKILL mid-stream with events arriving while down, a shared group, two groups, SIGTERM loses
# nothing, `lag --json` after the SIGKILL) through the CLI against Redis, configured as a
# deployment would be:
#   EVENT_BUS_PRODUCER=redis EVENT_BUS_CONSUMER=redis
#   EVENT_BUS_REDIS_CONNECTION_URL=redis://127.0.0.1:PORT/0
# plus `edxbus tail` on Redis. The script starts its own redis-server (no snapshots, no AOF) on a
# free loopback port in a scratch directory and kills only that pid at exit. Without
# redis-server (or redis-cli) it exits 77, which ctest reports as skipped, with a loud message.
HERE=$(cd "$(dirname "$0")" && pwd)
# The reference Redis consumer's way to read a new group's backlog.
START_EXTRA='{"check_backlog": true}'
source "$HERE/reliability_lib.sh" "$@"

source "$HERE/redis_server_lib.sh"
redis_require

if ! redis_start; then
    echo "FAIL: cannot start redis-server: $(tail -n 3 "$tmp/redis/redis.log" 2>/dev/null)" >&2
    exit 1
fi
export EVENT_BUS_PRODUCER=redis EVENT_BUS_CONSUMER=redis
export EVENT_BUS_REDIS_CONNECTION_URL="redis://127.0.0.1:$port/0"
echo "redis-server pid $redis_pid on port $port"

# --- tail on Redis: no group, from the earliest, from a time, a bad position ------------------
: >"$tmp/tail.ids"
produce tailed 5 "$tmp/tail.ids" || fail "tail: produce failed: $(cat "$tmp/produce.err")"
"$EDXBUS" tail tailed --from earliest --max-events 5 --timeout 60 >"$tmp/tail.out" \
    2>"$tmp/tail.err" || fail "tail: exit $?: $(cat "$tmp/tail.err")"
[ "$(ids_of "$tmp/tail.out")" = "$(sort -u "$tmp/tail.ids")" ] &&
    [ "$(lines "$tmp/tail.out")" = 5 ] &&
    ok "tail: 5 events from the earliest" || fail "tail: got $(lines "$tmp/tail.out") lines"
[ "$(redis-cli -p "$port" xinfo groups tailed | wc -c)" -le 1 ] && ok "tail: no group created" ||
    fail "tail: a group was created: $(redis-cli -p "$port" xinfo groups tailed)"
"$EDXBUS" tail tailed --from-time 2999-01-01T00:00:00Z --timeout 0.5 >"$tmp/tail.out" \
    2>"$tmp/tail.err" || fail "tail --from-time: exit $?"
[ ! -s "$tmp/tail.out" ] && ok "tail: nothing after a future time" ||
    fail "tail: printed a future event"
"$EDXBUS" tail tailed --from not-an-id --timeout 0.5 >"$tmp/tail.out" 2>"$tmp/tail.err"
rc=$?
[ $rc -eq 2 ] && [ "$(lines "$tmp/tail.err")" = 1 ] && ok "tail: a bad position exits 2" ||
    fail "tail --from not-an-id: exit $rc: $(cat "$tmp/tail.err")"

# --- quiet by default: read-only commands and a restart in a group say nothing unless -v -------
"$EDXBUS" tail tailed --from earliest --max-events 1 --timeout 60 >/dev/null 2>"$tmp/q.err" &&
    [ ! -s "$tmp/q.err" ] && ok "quiet: tail writes nothing on stderr" ||
    fail "quiet: tail wrote: $(cat "$tmp/q.err")"
"$EDXBUS" dlq list tailed >/dev/null 2>"$tmp/q.err" && [ ! -s "$tmp/q.err" ] &&
    ok "quiet: dlq list writes nothing on stderr" || fail "quiet: dlq list wrote: $(cat "$tmp/q.err")"
for n in 1 2; do # the second run takes over what the first (gone) left pending: nothing
    "$EDXBUS" consume -t tailed -g quiet --extra "$START_EXTRA" -n 1 >/dev/null \
        2>"$tmp/q$n.err" || fail "quiet: consume $n: exit $?: $(cat "$tmp/q$n.err")"
done
[ ! -s "$tmp/q1.err" ] && [ ! -s "$tmp/q2.err" ] &&
    ok "quiet: consume and its restart in the same group write nothing on stderr" ||
    fail "quiet: consume wrote: $(cat "$tmp/q1.err" "$tmp/q2.err")"
"$EDXBUS" consume -v -t tailed -g quiet -n 1 >/dev/null 2>"$tmp/q.err"
grep -q "info: redis: joined group quiet" "$tmp/q.err" && ! grep -q "took over" "$tmp/q.err" &&
    ok "quiet: -v shows the info lines, and no take-over of nothing" ||
    fail "quiet: consume -v wrote: $(cat "$tmp/q.err")"

# --- EVENT_BUS_PRODUCER=redis alone: every consuming command uses Redis too -------------------
# (It used to mean the embedded broker: tail created ./edxbus.db and showed nothing.)
mkdir -p "$tmp/alone"
(
    cd "$tmp/alone" || exit 1
    unset EVENT_BUS_CONSUMER
    "$EDXBUS" tail tailed --from earliest --max-events 5 --timeout 10 >tail.out 2>tail.err ||
        echo "tail exit $?: $(cat tail.err)" >>problems
    [ "$(lines tail.out)" = 5 ] || echo "tail printed $(lines tail.out) of 5 events" >>problems
    timeout 60 "$EDXBUS" consume -t tailed -g alone --extra '{"check_backlog": true}' --max-events 5 \
        >consume.out 2>consume.err || echo "consume exit $?: $(cat consume.err)" >>problems
    [ "$(lines consume.out)" = 5 ] || echo "consume printed $(lines consume.out) of 5" >>problems
    "$EDXBUS" lag -g alone tailed --json >lag.out 2>lag.err ||
        echo "lag exit $?: $(cat lag.err)" >>problems
    grep -q '"group": "alone"' lag.out || echo "lag: no Redis group: $(cat lag.out)" >>problems
    "$EDXBUS" dlq list tailed >dlq.out 2>dlq.err || echo "dlq list exit $?: $(cat dlq.err)" >>problems
    [ ! -e edxbus.db ] || echo "edxbus.db was created (the embedded broker was used)" >>problems
)
[ ! -s "$tmp/alone/problems" ] &&
    ok "EVENT_BUS_PRODUCER=redis alone: tail, consume, lag and dlq use Redis" ||
    fail "EVENT_BUS_PRODUCER=redis alone: $(cat "$tmp/alone/problems")"

reliability_run
