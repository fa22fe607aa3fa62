#!/usr/bin/env bash
# tests/cli/test_reliability.sh EDXBUS — delivery guarantees through the real command, on the
# embedded broker:
#   1. a consumer killed with SIGKILL part way through 10,000 events, with events still arriving
#      while it is down, restarted in the same group: every event delivered at least once;
#   2. two consumers in one group share the work (both get some, together all);
#   3. two groups each get everything;
#   4. a consumer stopped with SIGTERM exits 0 and loses nothing.
# Sets of event ids are compared: those `produce --print-ids` reported delivered to the broker,
# and those the consumers printed. Only processes this script started are signalled, by pid.
# Waits have generous deadlines; nothing asserts on timing.
set -uo pipefail

EDXBUS=${1:?usage: test_reliability.sh /path/to/edxbus}
tmp=$(mktemp -d /tmp/edxbus-reliability-XXXXXX)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT

failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
ok() { echo "ok: $*"; }

export EVENT_BUS_SQLITE_PATH="$tmp/bus.db"
export EVENT_BUS_PRODUCER=sqlite EVENT_BUS_CONSUMER=sqlite
export EVENT_BUS_AUDIT_LOGGING_ENABLED=false
unset EDXBUS_CONFIG EVENT_BUS_TOPIC_PREFIX

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
    "$EDXBUS" consume -t "$topic" -g "$group" --extra '{"start": "earliest"}' "$@" \
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

at_least() { [ "$(lines "$1")" -ge "$2" ]; }

# stop PID: SIGTERM, then its exit status.
stop() {
    kill -TERM "$1"
    wait "$1"
}

# --- 1. SIGKILL part way, events arriving while down, restart: at least once ----------------
: >"$tmp/ids1"
start_consumer t1 g1 "$tmp/c1a.out"
c1=$last_pid
produce t1 10000 "$tmp/ids1" &
prod=$!
pids+=("$prod")
if wait_until 120 at_least "$tmp/c1a.out" 2000; then
    kill -KILL "$c1"
    wait "$c1" 2>/dev/null
    killed_at=$(lines "$tmp/c1a.out")
    wait "$prod" || fail "1: produce failed: $(cat "$tmp/produce.err")"
    produce t1 500 "$tmp/ids1" || fail "1: produce while down failed"
    [ "$(lines "$tmp/ids1")" -eq 10500 ] || fail "1: produced $(lines "$tmp/ids1") of 10500"
    start_consumer t1 g1 "$tmp/c1b.out"
    c1b=$last_pid
    if wait_until 180 covers "$tmp/ids1" "$tmp/c1a.out" "$tmp/c1b.out"; then
        stop "$c1b" || fail "1: restarted consumer exited $?"
        dups=$(($(lines "$tmp/c1a.out" "$tmp/c1b.out") - $(ids_of "$tmp/c1a.out" "$tmp/c1b.out" | wc -l)))
        ok "1: killed after $killed_at printed; all 10500 delivered after restart ($dups redelivered)"
    else
        missing=$(comm -23 <(sort -u "$tmp/ids1") <(ids_of "$tmp/c1a.out" "$tmp/c1b.out") | wc -l)
        fail "1: $missing events never delivered"
        stop "$c1b"
    fi
else
    fail "1: the consumer printed only $(lines "$tmp/c1a.out") events"
fi

# --- 2. two consumers in one group share the work ------------------------------------------
: >"$tmp/ids2"
start_consumer t2 shared "$tmp/c2a.out"
c2a=$last_pid
start_consumer t2 shared "$tmp/c2b.out"
c2b=$last_pid
for _ in 1 2 3 4; do produce t2 500 "$tmp/ids2" || fail "2: produce failed"; done
if wait_until 120 covers "$tmp/ids2" "$tmp/c2a.out" "$tmp/c2b.out"; then
    a=$(lines "$tmp/c2a.out")
    b=$(lines "$tmp/c2b.out")
    [ "$a" -gt 0 ] && [ "$b" -gt 0 ] && ok "2: one group, two members: $a + $b events, all 2000" ||
        fail "2: the work was not shared ($a and $b)"
else
    fail "2: the group did not get every event"
fi
stop "$c2a" || fail "2: member a exited $?"
stop "$c2b" || fail "2: member b exited $?"

# --- 3. two groups each get everything --------------------------------------------------------
for g in ga gb; do
    "$EDXBUS" consume -t t2 -g "$g" --extra '{"start": "earliest"}' --max-events 2000 \
        >"$tmp/c3$g.out" 2>"$tmp/c3$g.err" || fail "3: group $g exited $?"
    if [ "$(ids_of "$tmp/c3$g.out")" = "$(sort -u "$tmp/ids2")" ]; then
        ok "3: group $g got all 2000"
    else
        fail "3: group $g got $(ids_of "$tmp/c3$g.out" | wc -l) distinct of 2000"
    fi
done

# --- 4. SIGTERM: exit 0, nothing lost ---------------------------------------------------------
: >"$tmp/ids4"
start_consumer t4 g4 "$tmp/c4a.out"
c4=$last_pid
produce t4 3000 "$tmp/ids4" &
prod=$!
pids+=("$prod")
if wait_until 120 at_least "$tmp/c4a.out" 300; then
    stop "$c4"
    rc=$?
    [ $rc -eq 0 ] && ok "4: SIGTERM after $(lines "$tmp/c4a.out") events: exit 0" ||
        fail "4: SIGTERM exit status $rc"
    wait "$prod" || fail "4: produce failed"
    start_consumer t4 g4 "$tmp/c4b.out"
    c4b=$last_pid
    if wait_until 120 covers "$tmp/ids4" "$tmp/c4a.out" "$tmp/c4b.out"; then
        ok "4: nothing lost across the SIGTERM"
    else
        fail "4: events lost across the SIGTERM"
    fi
    stop "$c4b" || fail "4: second consumer exited $?"
else
    fail "4: the consumer printed only $(lines "$tmp/c4a.out") events"
fi

if [ $failures -gt 0 ]; then
    echo "--- consumer stderr:" >&2
    tail -n 5 "$tmp"/*.err >&2
    exit 1
fi
echo "all reliability checks passed"
