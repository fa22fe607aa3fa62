# tests/cli/reliability_lib.sh — delivery guarantees through the real command, on whatever
# backend the environment selects. Sourced by test_reliability.sh (the embedded broker) and
# test_reliability_redis.sh (a redis-server of its own); not a test itself (no test_ prefix).
#
#   1. a consumer killed with SIGKILL part way through 10,000 events, with events still arriving
#      while it is down, restarted in the same group: every event delivered at least once; and
#      `edxbus lag --json` agrees: while it is down, the group owes every event it did not print
#      (pending + undelivered >= 10,500 - printed, and at least the 500 sent while down are
#      undelivered); after the restart drained the topic, it owes nothing;
#   2. two consumers in one group share the work (both get some, together all);
#   3. two groups each get everything;
#   4. a consumer stopped with SIGTERM exits 0 and loses nothing.
# Sets of event ids are compared: those `produce --print-ids` reported delivered to the broker,
# and those the consumers printed. Only processes this script started are signalled, by pid.
# Waits have generous deadlines; nothing asserts on timing.
#
# Usage:  source "$(dirname "$0")/reliability_lib.sh" /path/to/edxbus
#         export EVENT_BUS_PRODUCER=... EVENT_BUS_CONSUMER=... (and the backend's settings)
#         reliability_run            # the four scenarios; exits 1 when any check failed
# After sourcing, $tmp is a fresh scratch directory and `pids+=(PID)` registers a process of
# the caller's to be killed (by pid) at exit, before $tmp is removed. START_EXTRA is the
# `consume --extra` that makes a new group read from the oldest event (default
# {"start": "earliest"}).
set -uo pipefail

EDXBUS=${1:?usage: $(basename "$0") /path/to/edxbus}
[[ $EDXBUS == /* ]] || EDXBUS="$PWD/$EDXBUS"
tmp=$(mktemp -d /tmp/edxbus-reliability-XXXXXX)
pids=()
cleanup() {
    local pid
    for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null; done
    rm -rf "$tmp"
}
trap cleanup EXIT

failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
ok() { echo "ok: $*"; }

export EVENT_BUS_AUDIT_LOGGING_ENABLED=false
unset EDXBUS_CONFIG EVENT_BUS_TOPIC_PREFIX EVENT_BUS_PRODUCER_CONFIG

# Acknowledgements a backend may still hold unsent when its consumer is SIGKILLed (acks go out
# per batch, EVENT_BUS_CONSUMER_BATCH_SIZE, 16 by default): that many printed events may be owed
# again, and no more.
LAG_SLACK=64
START_EXTRA=${START_EXTRA:-'{"start": "earliest"}'}

TYPE=org.openedx.learning.course.enrollment.created.v1
DATA='{"enrollment": {"user": {"id": 42, "is_active": true, "pii": {"username": "ada", "email": "ada@example.com", "name": "Ada"}}, "course": {"course_key": "course-v1:edX+DemoX+2024", "display_name": "Demo", "start": null, "end": null}, "mode": "audit", "is_active": true, "creation_date": "2024-05-01T10:00:00+00:00", "created_by": null}}'

# produce TOPIC N IDSFILE: N events, ids of those the broker holds appended to IDSFILE.
produce() {
    "$EDXBUS" produce -e "$TYPE" -t "$1" -d "$DATA" --count "$2" --print-ids >>"$3" \
        2>>"$tmp/produce.err"
}

# start_consumer TOPIC GROUP OUT [extra args]: start in the background; pid in $last_pid.
start_consumer() {
    local topic=$1 group=$2 out=$3
    shift 3
    "$EDXBUS" consume -t "$topic" -g "$group" --extra "$START_EXTRA" "$@" \
        >>"$out" 2>>"$out.err" &
    last_pid=$!
    pids+=("$last_pid")
}

# ids_of FILE...: the event ids in consumer output, one per line, sorted, unique.
ids_of() {
    cat "$@" 2>/dev/null |
        sed -n 's/^{"metadata": {"event_type": "[^"]*", "id": "\([^"]*\)".*/\1/p' | sort -u
}

lines() { cat "$@" 2>/dev/null | wc -l; }

# wait_until DEADLINE_S COMMAND...: poll until the command succeeds; false on the deadline.
wait_until() {
    local deadline=$((SECONDS + $1))
    shift
    until "$@"; do
        [ $SECONDS -lt $deadline ] || return 1
        sleep 0.1
    done
}

# covers IDS OUT...: every id of IDS appears in the outputs.
covers() {
    local ids=$1
    shift
    [ -z "$(comm -23 <(sort -u "$ids") <(ids_of "$@"))" ]
}

# exited PID...: none of the processes is still running.
exited() {
    local p
    for p in "$@"; do
        ! kill -0 "$p" 2>/dev/null || return 1
    done
}

at_least() { [ "$(lines "$1")" -ge "$2" ]; }

# stop PID: SIGTERM, then its exit status.
stop() {
    kill -TERM "$1"
    wait "$1"
}

# lag_sum GROUP TOPIC FIELD: FIELD ("pending" or "undelivered") summed over the rows of
# `edxbus lag --json` (one row per member; a backend puts the group's undelivered count on one
# row). Empty output when the command failed (the reason is in $tmp/lag.err).
lag_sum() {
    "$EDXBUS" lag -g "$1" "$2" --json 2>"$tmp/lag.err" >"$tmp/lag.json" || return 1
    grep -o "\"$3\": [0-9-]*" "$tmp/lag.json" | awk '{ s += $2 } END { print s + 0 }'
}

# owes_nothing GROUP TOPIC: lag shows nothing pending and nothing undelivered.
owes_nothing() {
    [ "$(lag_sum "$1" "$2" pending)" = 0 ] && [ "$(lag_sum "$1" "$2" undelivered)" = 0 ]
}

# --- 1. SIGKILL part way, events arriving while down, restart: at least once ----------------
scenario_sigkill() {
    : >"$tmp/ids1"
    start_consumer t1 g1 "$tmp/c1a.out"
    local c1=$last_pid
    produce t1 10000 "$tmp/ids1" &
    local prod=$!
    pids+=("$prod")
    if ! wait_until 120 at_least "$tmp/c1a.out" 2000; then
        fail "1: the consumer printed only $(lines "$tmp/c1a.out") events"
        return
    fi
    kill -KILL "$c1"
    wait "$c1" 2>/dev/null
    local killed_at
    killed_at=$(lines "$tmp/c1a.out")
    wait "$prod" || fail "1: produce failed: $(cat "$tmp/produce.err")"
    produce t1 500 "$tmp/ids1" || fail "1: produce while down failed"
    [ "$(lines "$tmp/ids1")" -eq 10500 ] || fail "1: produced $(lines "$tmp/ids1") of 10500"

    # While it is down, the group owes every event it did not print (acks follow printing).
    local pending undelivered owed
    pending=$(lag_sum g1 t1 pending)
    undelivered=$(lag_sum g1 t1 undelivered)
    if [ -z "$pending" ] || [ -z "$undelivered" ]; then
        fail "1: lag failed: $(cat "$tmp/lag.err")"
    else
        owed=$((pending + undelivered))
        if [ "$pending" -ge 0 ] && [ "$undelivered" -ge 500 ] &&
            [ "$owed" -ge $((10500 - killed_at)) ] &&
            [ "$owed" -le $((10500 - killed_at + LAG_SLACK)) ]; then
            ok "1: lag while down: $pending pending + $undelivered undelivered ($killed_at printed)"
        else
            fail "1: lag while down: $pending pending + $undelivered undelivered after" \
                "$killed_at of 10500 printed: $(cat "$tmp/lag.json")"
        fi
    fi

    start_consumer t1 g1 "$tmp/c1b.out"
    local c1b=$last_pid
    if wait_until 180 covers "$tmp/ids1" "$tmp/c1a.out" "$tmp/c1b.out"; then
        # What the killed member took and did not acknowledge comes back to the group at once
        # (Redis, SQLite: its pending entries) or after the ack wait (NATS): give it that time.
        wait_until 60 owes_nothing g1 t1
        stop "$c1b" || fail "1: restarted consumer exited $?"
        local dups
        dups=$(($(lines "$tmp/c1a.out" "$tmp/c1b.out") - $(ids_of "$tmp/c1a.out" "$tmp/c1b.out" | wc -l)))
        ok "1: killed after $killed_at printed; all 10500 delivered after restart ($dups redelivered)"
        pending=$(lag_sum g1 t1 pending)
        undelivered=$(lag_sum g1 t1 undelivered)
        [ "$pending" = 0 ] && [ "$undelivered" = 0 ] && ok "1: lag after the restart: 0 and 0" ||
            fail "1: lag after the restart: ${pending:-?} pending, ${undelivered:-?} undelivered:" \
                "$(cat "$tmp/lag.json" "$tmp/lag.err")"
    else
        local missing
        missing=$(comm -23 <(sort -u "$tmp/ids1") <(ids_of "$tmp/c1a.out" "$tmp/c1b.out") | wc -l)
        fail "1: $missing events never delivered"
        stop "$c1b"
    fi
}

# --- 2. two consumers in one group share the work ------------------------------------------
scenario_shared_group() {
    : >"$tmp/ids2"
    # Each member stops by itself after its 1000th event, so neither can take all 2000: the
    # group must split the work whatever the scheduling, and the union must be every event.
    start_consumer t2 shared "$tmp/c2a.out" --max-events 1000
    local c2a=$last_pid
    start_consumer t2 shared "$tmp/c2b.out" --max-events 1000
    local c2b=$last_pid
    for _ in 1 2 3 4; do produce t2 500 "$tmp/ids2" || fail "2: produce failed"; done
    if ! wait_until 120 exited "$c2a" "$c2b"; then
        fail "2: the members did not finish 1000 events each"
        kill -TERM "$c2a" "$c2b" 2>/dev/null
    fi
    wait "$c2a" || fail "2: member a exited $?"
    wait "$c2b" || fail "2: member b exited $?"
    local a b
    a=$(ids_of "$tmp/c2a.out" | wc -l)
    b=$(ids_of "$tmp/c2b.out" | wc -l)
    if covers "$tmp/ids2" "$tmp/c2a.out" "$tmp/c2b.out" && [ "$a" -gt 0 ] && [ "$b" -gt 0 ]; then
        ok "2: one group, two members: $a + $b events, all 2000"
    else
        fail "2: the group did not share all 2000 events ($a and $b distinct)"
    fi
}

# --- 3. two groups each get everything (the events of scenario 2) ---------------------------
scenario_two_groups() {
    local g
    for g in ga gb; do
        "$EDXBUS" consume -t t2 -g "$g" --extra "$START_EXTRA" --max-events 2000 \
            >"$tmp/c3$g.out" 2>"$tmp/c3$g.err" || fail "3: group $g exited $?"
        if [ "$(ids_of "$tmp/c3$g.out")" = "$(sort -u "$tmp/ids2")" ]; then
            ok "3: group $g got all 2000"
        else
            fail "3: group $g got $(ids_of "$tmp/c3$g.out" | wc -l) distinct of 2000"
        fi
    done
}

# --- 4. SIGTERM: exit 0, nothing lost ---------------------------------------------------------
scenario_sigterm() {
    : >"$tmp/ids4"
    start_consumer t4 g4 "$tmp/c4a.out"
    local c4=$last_pid
    produce t4 3000 "$tmp/ids4" &
    local prod=$!
    pids+=("$prod")
    if ! wait_until 120 at_least "$tmp/c4a.out" 300; then
        fail "4: the consumer printed only $(lines "$tmp/c4a.out") events"
        return
    fi
    stop "$c4"
    local rc=$?
    [ $rc -eq 0 ] && ok "4: SIGTERM after $(lines "$tmp/c4a.out") events: exit 0" ||
        fail "4: SIGTERM exit status $rc"
    wait "$prod" || fail "4: produce failed"
    start_consumer t4 g4 "$tmp/c4b.out"
    local c4b=$last_pid
    if wait_until 120 covers "$tmp/ids4" "$tmp/c4a.out" "$tmp/c4b.out"; then
        ok "4: nothing lost across the SIGTERM"
    else
        fail "4: events lost across the SIGTERM"
    fi
    stop "$c4b" || fail "4: second consumer exited $?"
}

# reliability_run: the four scenarios on the backend of the environment, then the verdict.
reliability_run() {
    echo "backend: producer ${EVENT_BUS_PRODUCER:-sqlite}, consumer ${EVENT_BUS_CONSUMER:-sqlite}"
    scenario_sigkill
    scenario_shared_group
    scenario_two_groups
    scenario_sigterm
    if [ $failures -gt 0 ]; then
        echo "--- consumer stderr:" >&2
        tail -n 5 "$tmp"/*.err >&2
        exit 1
    fi
    echo "all reliability checks passed"
}
