#!/usr/bin/env bash
# tests/integration/nats/test_nats_cli.sh EDXBUS — the edxbus command on NATS JetStream, as a
# deployment configures it:
#   EVENT_BUS_PRODUCER=nats EVENT_BUS_CONSUMER=nats EVENT_BUS_NATS_URL=nats://127.0.0.1:PORT
# against a nats-server of its own (JetStream, file storage in a scratch directory, a free
# loopback port; only its pid is ever signalled): `tail` (from the earliest, from a time, a bad
# position), `lag` (table and JSON), replay by time against stored records (consume with
# offset_time: exactly the events stored after the time, then it goes on consuming), then the
# reliability scenarios of tests/cli/reliability_lib.sh (SIGKILL mid-stream with events
# arriving while down, two members sharing a group, two groups, SIGTERM exits 0 and loses
# nothing), and EVENT_BUS_PRODUCER=nats alone (no EVENT_BUS_CONSUMER): tail, consume, lag and dlq
# use NATS. The ack wait is 2 s so that what a killed consumer held comes back soon. Without
# nats-server it exits 77 (ctest: skipped) with a loud message.
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../../cli/reliability_lib.sh" "$@"

nats_server=${EDXBUS_NATS_SERVER:-$(command -v nats-server)}
if [ -z "$nats_server" ] || [ ! -x "$nats_server" ]; then
    echo "" >&2
    echo "*** SKIP $(basename "$0"): nats-server is not installed, so the CLI was NOT tested" \
        "against NATS." >&2
    echo "*** Install it with \`make deps\` (Debian package nats-server) or set" \
        "EDXBUS_NATS_SERVER=/path/to/nats-server." >&2
    echo "" >&2
    exit 77
fi

nats_start() {
    mkdir -p "$tmp/nats"
    local attempt
    for attempt in 1 2 3 4 5; do
        port=$((20000 + RANDOM % 12000)) # below the ephemeral ports
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && continue
        "$nats_server" -js -a 127.0.0.1 -p "$port" -sd "$tmp/nats" -l "$tmp/nats/nats.log" &
        nats_pid=$!
        pids+=("$nats_pid")
        local deadline=$((SECONDS + 30))
        while kill -0 "$nats_pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do
            grep -q "Server is ready" "$tmp/nats/nats.log" 2>/dev/null && return 0
            sleep 0.05
        done
        kill -KILL "$nats_pid" 2>/dev/null
        wait "$nats_pid" 2>/dev/null
    done
    return 1
}

if ! nats_start; then
    echo "FAIL: cannot start nats-server: $(tail -n 3 "$tmp/nats/nats.log" 2>/dev/null)" >&2
    exit 1
fi
export EVENT_BUS_PRODUCER=nats EVENT_BUS_CONSUMER=nats
export EVENT_BUS_NATS_URL="nats://127.0.0.1:$port" EVENT_BUS_NATS_ACK_WAIT=2
echo "nats-server pid $nats_pid on port $port"

# --- tail: no group, from the earliest, from a time, a bad position ---------------------------
: >"$tmp/tail.ids"
produce tailed 5 "$tmp/tail.ids" || fail "tail: produce failed: $(cat "$tmp/produce.err")"
"$EDXBUS" tail tailed --from earliest --max-events 5 --timeout 60 >"$tmp/tail.out" \
    2>"$tmp/tail.err" || fail "tail: exit $?: $(cat "$tmp/tail.err")"
[ "$(ids_of "$tmp/tail.out")" = "$(sort -u "$tmp/tail.ids")" ] && [ "$(lines "$tmp/tail.out")" = 5 ] &&
    ok "tail: 5 events from the earliest" || fail "tail: got $(lines "$tmp/tail.out") lines"
"$EDXBUS" tail tailed --from-time 2999-01-01T00:00:00Z --timeout 0.5 >"$tmp/tail.out" \
    2>"$tmp/tail.err" || fail "tail --from-time: exit $?: $(cat "$tmp/tail.err")"
[ ! -s "$tmp/tail.out" ] && ok "tail: nothing after a future time" || fail "tail: printed a future event"
"$EDXBUS" tail tailed --from not-a-sequence --timeout 0.5 >"$tmp/tail.out" 2>"$tmp/tail.err"
rc=$?
[ $rc -eq 2 ] && [ "$(lines "$tmp/tail.err")" = 1 ] && ok "tail: a bad position exits 2" ||
    fail "tail --from not-a-sequence: exit $rc: $(cat "$tmp/tail.err")"

# --- replay by time against stored records ------------------------------------------------------
: >"$tmp/before.ids"
: >"$tmp/after.ids"
produce replayed 5 "$tmp/before.ids" || fail "replay: produce failed"
"$EDXBUS" consume -t replayed -g r1 --extra '{"start": "earliest"}' -n 5 >"$tmp/r1a.out" \
    2>"$tmp/r1a.err" || fail "replay: first consume exit $?: $(cat "$tmp/r1a.err")"
sleep 0.05 # the five above were acknowledged by the server before this time is read
since=$(date -u +%Y-%m-%dT%H:%M:%S.%6N+00:00)
produce replayed 5 "$tmp/after.ids" || fail "replay: produce failed"
"$EDXBUS" consume -t replayed -g r1 --extra "{\"offset_time\": \"$since\"}" -n 5 \
    >"$tmp/r1b.out" 2>"$tmp/r1b.err" || fail "replay: consume exit $?: $(cat "$tmp/r1b.err")"
[ "$(ids_of "$tmp/r1b.out")" = "$(sort -u "$tmp/after.ids")" ] && [ "$(lines "$tmp/r1b.out")" = 5 ] &&
    ok "replay: an existing group replays exactly the 5 events stored after $since" ||
    fail "replay: got $(lines "$tmp/r1b.out") events: $(cat "$tmp/r1b.err")"
"$EDXBUS" tail replayed --from-time "$since" --max-events 5 --timeout 60 >"$tmp/r2.out" \
    2>"$tmp/r2.err" || fail "replay: tail --from-time exit $?"
[ "$(ids_of "$tmp/r2.out")" = "$(sort -u "$tmp/after.ids")" ] &&
    ok "replay: tail --from-time shows the same 5" || fail "replay: tail showed $(lines "$tmp/r2.out")"
: >"$tmp/later.ids"
start_consumer replayed r1 "$tmp/r1c.out" -n 3
r1c=$last_pid
produce replayed 3 "$tmp/later.ids" || fail "replay: produce failed"
wait_until 60 exited "$r1c" || fail "replay: the group did not go on consuming"
wait "$r1c"
[ "$(ids_of "$tmp/r1c.out")" = "$(sort -u "$tmp/later.ids")" ] &&
    ok "replay: after the replay the group goes on with new events only" ||
    fail "replay: the group then printed $(lines "$tmp/r1c.out") events"

# --- lag: the table and JSON; a group that does not exist -------------------------------------
"$EDXBUS" lag -g r1 replayed >"$tmp/lag.txt" 2>"$tmp/lag.err" || fail "lag: exit $?: $(cat "$tmp/lag.err")"
# One row for the group: JetStream does not know a pull consumer's members ("-").
[ "$(lines "$tmp/lag.txt")" = 2 ] && sed -n 2p "$tmp/lag.txt" | grep -Eq '^- +- +0 +0 +[0-9]+' &&
    ok "lag: the table has one row for the group, nothing owed" || fail "lag: $(cat "$tmp/lag.txt")"
[ "$(lag_sum r1 replayed pending)" = 0 ] && [ "$(lag_sum r1 replayed undelivered)" = 0 ] &&
    ok "lag: nothing owed after consuming everything" || fail "lag: $(cat "$tmp/lag.json")"
"$EDXBUS" lag -g nosuchgroup replayed >"$tmp/lag.txt" 2>"$tmp/lag.err"
rc=$?
[ $rc -ne 0 ] && grep -q "nosuchgroup" "$tmp/lag.err" && [ ! -s "$tmp/lag.txt" ] &&
    ok "lag: a group that does not exist is an error naming it" ||
    fail "lag nosuchgroup: exit $rc: $(cat "$tmp/lag.txt" "$tmp/lag.err")"

# --- EVENT_BUS_PRODUCER=nats alone: every consuming command uses NATS too ----------------------
# One event written straight to tailed-dlq stands for a dead letter: `dlq list` must find it on
# NATS, and `dlq replay` send it back to tailed there.
produce tailed-dlq 1 "$tmp/dl.ids" || fail "alone: produce failed: $(cat "$tmp/produce.err")"
mkdir -p "$tmp/alone"
(
    cd "$tmp/alone" || exit 1
    unset EVENT_BUS_CONSUMER
    "$EDXBUS" tail tailed --from earliest --max-events 5 --timeout 10 >tail.out 2>tail.err ||
        echo "tail exit $?: $(cat tail.err)" >>problems
    [ "$(lines tail.out)" = 5 ] || echo "tail printed $(lines tail.out) of 5 events" >>problems
    timeout 60 "$EDXBUS" consume -t tailed -g alone --extra '{"start": "earliest"}' -n 5 \
        >consume.out 2>consume.err || echo "consume exit $?: $(cat consume.err)" >>problems
    [ "$(lines consume.out)" = 5 ] || echo "consume printed $(lines consume.out) of 5" >>problems
    "$EDXBUS" lag -g alone tailed --json >lag.out 2>lag.err ||
        echo "lag exit $?: $(cat lag.err)" >>problems
    grep -q '"group": "alone"' lag.out || echo "lag: no NATS group: $(cat lag.out)" >>problems
    "$EDXBUS" dlq list -t tailed >dlq.out 2>dlq.err || echo "dlq list exit $?: $(cat dlq.err)" >>problems
    grep -q "$(cat "$tmp/dl.ids")" dlq.out ||
        echo "dlq list does not show the dead letter on NATS: $(cat dlq.out)" >>problems
    "$EDXBUS" dlq replay -t tailed >replay.out 2>replay.err ||
        echo "dlq replay exit $?: $(cat replay.err)" >>problems
    "$EDXBUS" tail tailed --from earliest --max-events 6 --timeout 10 >tail2.out 2>tail2.err ||
        echo "tail after the replay exit $?: $(cat tail2.err)" >>problems
    grep -q "$(cat "$tmp/dl.ids")" tail2.out ||
        echo "the replayed dead letter is not on tailed: $(cat tail2.out)" >>problems
    [ ! -e edxbus.db ] || echo "edxbus.db was created (the embedded broker was used)" >>problems
)
[ ! -s "$tmp/alone/problems" ] &&
    ok "EVENT_BUS_PRODUCER=nats alone: tail, consume, lag and dlq use NATS" ||
    fail "EVENT_BUS_PRODUCER=nats alone: $(cat "$tmp/alone/problems")"

reliability_run
