#!/usr/bin/env bash
# tests/cli/test_doctor_redis.sh EDXBUS — `edxbus doctor` against real redis-servers the test
# starts on free loopback ports:
#   1. a server as Tutor's default Redis is set up (maxmemory-policy allkeys-lru, no AOF, no RDB
#      save point): the eviction finding (error) and the persistence one (warning), exit 1, the
#      findings on stdout all the same; --json parsed: the same two, with their counts; Celery's
#      keys in the bus's database: a warning;
#   2. a well-configured server (noeviction, appendonly yes): exit 0, no warning;
#   3. a stream trimmed (XTRIM, as a Python producer's MAXLEN ~ does) under a group that read 2
#      of 10 entries: an error naming the group and the 5 entries it lost, exit 1; a backlog
#      above EVENT_BUS_REDIS_STREAM_MAX_LEN: a warning; dead letters waiting: a warning with the
#      count;
#   4. a group whose lag grows while the doctor samples it (entries added all along): a warning;
#   5. no server: one error finding, exit 1; a bad URL: exit 2, one line on stderr, no stdout.
# Only processes this script started are signalled, by pid; waits are bounded, nothing is timed.
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/reliability_lib.sh" "$@"
source "$HERE/redis_server_lib.sh"
redis_require
unset EVENT_BUS_CONSUMER EVENT_BUS_SQLITE_PATH
export EVENT_BUS_PRODUCER=redis EVENT_BUS_REDIS_AUDIT_LOGGING_ENABLED=false

# doctor ARGS...: run it; stdout in $tmp/out, stderr in $tmp/err, the exit code in $rc.
doctor() {
    rc=0
    timeout 60 "$EDXBUS" doctor --interval 0.2 "$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
}
has() { grep -qE -- "$1" "$tmp/out"; }
# json_has PYTHON-EXPRESSION: true when it holds for d, the parsed --json output.
json_has() { python3 -c "import json,sys; d=json.load(open('$tmp/out')); sys.exit(0 if ($1) else 1)"; }
finding() { echo "any(f['check'] == '$1' and f['severity'] == '$2' ${3:-} for f in d['findings'])"; }

start() {
    port=
    if ! redis_start; then
        echo "FAIL: cannot start redis-server: $(tail -n 3 "$tmp/redis/redis.log")" >&2
        exit 1
    fi
    export EVENT_BUS_REDIS_CONNECTION_URL=redis://127.0.0.1:$port/0
}

# --- 1. Tutor's default Redis -------------------------------------------------------------------
REDIS_EXTRA_ARGS=(--maxmemory-policy allkeys-lru)
start
doctor
[ "$rc" = 1 ] && ok "1: exit 1" || fail "1: exit $rc, expected 1: $(cat "$tmp/err")"
has '^error +redis redis\.eviction: .*allkeys-lru.*; fix: .*noeviction' &&
    ok "1: maxmemory-policy allkeys-lru is an error with its fix" ||
    fail "1: no eviction error in: $(cat "$tmp/out")"
has '^warning redis redis\.persistence: .*persistence is off.*; fix: ' &&
    ok "1: persistence off is a warning" || fail "1: no persistence warning in: $(cat "$tmp/out")"
[ ! -s "$tmp/err" ] && ok "1: nothing on stderr" || fail "1: stderr: $(cat "$tmp/err")"
doctor --json
[ "$rc" = 1 ] && json_has "$(finding redis.eviction error "and f['details']['maxmemory_policy'] == 'allkeys-lru'") and $(finding redis.persistence warning) and d['errors'] == 1 and d['warnings'] == 1" &&
    ok "1: --json: the same findings and counts" || fail "1: --json (exit $rc): $(cat "$tmp/out")"
redis-cli -p "$port" LPUSH celery '{"task": "x"}' >/dev/null
redis-cli -p "$port" SADD _kombu.binding.celery x >/dev/null
doctor
has '^warning redis redis\.shared-with-celery: .*database 0' && ok "1: Celery's keys: a warning" ||
    fail "1: no Celery warning in: $(cat "$tmp/out")"
redis_stop

# --- 2. a well-configured server ----------------------------------------------------------------
REDIS_EXTRA_ARGS=(--maxmemory-policy noeviction --appendonly yes)
start
doctor
[ "$rc" = 0 ] && ok "2: exit 0" || fail "2: exit $rc, expected 0: $(cat "$tmp/out" "$tmp/err")"
has '^info +redis redis\.eviction: .*noeviction' && has '^info +redis redis\.persistence: .*AOF on' &&
    ok "2: eviction and persistence are fine (info)" || fail "2: $(cat "$tmp/out")"
! has '^(error|warning)' && ok "2: no error, no warning" || fail "2: $(grep -E '^(error|warning)' "$tmp/out")"

# --- 3. a stream trimmed under a lagging group --------------------------------------------------
"$EDXBUS" produce -e "$TYPE" -t t1 -d "$DATA" --count 10 2>"$tmp/p.err" || fail "3: produce: $(cat "$tmp/p.err")"
EVENT_BUS_CONSUMER_BATCH_SIZE=1 timeout 60 "$EDXBUS" consume -t t1 -g lagging \
    --extra '{"start": "earliest"}' -n 2 >/dev/null 2>"$tmp/c.err" || fail "3: consume: $(cat "$tmp/c.err")"
redis-cli -p "$port" XTRIM t1 MAXLEN 3 >/dev/null # what a Python producer's MAXLEN ~ 3 would do
doctor
[ "$rc" = 1 ] && ok "3: exit 1" || fail "3: exit $rc, expected 1"
has '^error +redis redis\.trimmed: stream t1, group lagging: 5 entries were trimmed' &&
    ok "3: the group and the 5 entries it lost are named" || fail "3: $(cat "$tmp/out")"
doctor --json -g lagging
json_has "$(finding redis.trimmed error "and f['details'] == {'stream': 't1', 'group': 'lagging', 'lost': 5}")" &&
    ok "3: --json: details {stream, group, lost: 5}" || fail "3: --json: $(cat "$tmp/out")"
EVENT_BUS_REDIS_STREAM_MAX_LEN=2 doctor -t t1
has '^warning redis redis\.backlog-over-cap: stream t1, group lagging: the group has [0-9]+ entries not acknowledged, more than EVENT_BUS_REDIS_STREAM_MAX_LEN \(2\)' &&
    ok "3: a backlog above EVENT_BUS_REDIS_STREAM_MAX_LEN: a warning" || fail "3: cap: $(cat "$tmp/out")"
redis-cli -p "$port" XADD t1-dlq '*' a 1 >/dev/null
redis-cli -p "$port" XADD t1-dlq '*' a 2 >/dev/null
doctor -t t1
has '^warning redis dead-letters\.waiting: t1-dlq: 2 dead letter' && ok "3: 2 dead letters waiting" ||
    fail "3: dead letters: $(cat "$tmp/out")"

# --- 4. a group whose lag grows -----------------------------------------------------------------
redis-cli -p "$port" XGROUP CREATE t2 slow '$' MKSTREAM >/dev/null
(while :; do redis-cli -p "$port" XADD t2 '*' a b >/dev/null; sleep 0.01; done) &
pids+=($!)
adder=$!
rc=0
timeout 60 "$EDXBUS" doctor -t t2 --interval 1 >"$tmp/out" 2>"$tmp/err" || rc=$?
kill -KILL "$adder" 2>/dev/null
wait "$adder" 2>/dev/null
has '^warning redis lag\.growing: topic t2, group slow: the group.s backlog grew from [0-9]+ to [0-9]+' &&
    ok "4: a growing lag is a warning" || fail "4: $(cat "$tmp/out" "$tmp/err")"
redis_stop

# --- 5. no server; bad settings -----------------------------------------------------------------
doctor
[ "$rc" = 1 ] && has '^error +redis broker\.unreachable: .*127\.0\.0\.1' &&
    ok "5: no server: one error finding, exit 1" || fail "5: exit $rc: $(cat "$tmp/out")"
EVENT_BUS_REDIS_CONNECTION_URL=http://example.com doctor
[ "$rc" = 2 ] && [ ! -s "$tmp/out" ] && [ "$(wc -l <"$tmp/err")" = 1 ] &&
    grep -q '^edxbus doctor: EVENT_BUS_REDIS_CONNECTION_URL' "$tmp/err" &&
    ok "5: a bad URL: exit 2, one line" || fail "5: bad URL: exit $rc: $(cat "$tmp/out" "$tmp/err")"

[ "$failures" = 0 ] || exit 1
