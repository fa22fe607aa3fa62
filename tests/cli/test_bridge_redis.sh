#!/usr/bin/env bash
# tests/cli/test_bridge_redis.sh EDXBUS — `edxbus bridge` between the embedded broker (a real
# SQLite file) and a redis-server of the test's own, both ways:
#   1. sqlite -> redis: 101 events (one with every metadata field fixed by --metadata) bridged in
#      two runs of the same group (60, then the 41 left: a bridge resumes); what a consumer
#      prints on the destination is line for line what `tail` prints on the source — ids,
#      metadata and data unchanged — and the stream holds each event once;
#   2. redis -> sqlite to another topic (--to-topic): the same comparison;
#   3. bad input: a missing --to-config, a destination with an unknown backend: exit 2, one line.
# Only processes this script started are signalled, by pid; waits are bounded.
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/reliability_lib.sh" "$@"
source "$HERE/redis_server_lib.sh"
redis_require
unset EVENT_BUS_PRODUCER EVENT_BUS_CONSUMER EVENT_BUS_SQLITE_PATH EVENT_BUS_REDIS_CONNECTION_URL
if ! redis_start; then
    echo "FAIL: cannot start redis-server: $(tail -n 3 "$tmp/redis/redis.log")" >&2
    exit 1
fi
cat >"$tmp/a.yaml" <<YAML
EVENT_BUS_PRODUCER: sqlite
EVENT_BUS_CONSUMER: sqlite
EVENT_BUS_SQLITE_PATH: $tmp/a.db
YAML
cat >"$tmp/b.yaml" <<YAML
EVENT_BUS_PRODUCER: redis
EVENT_BUS_CONSUMER: redis
EVENT_BUS_REDIS_CONNECTION_URL: redis://127.0.0.1:$port/0
EVENT_BUS_REDIS_AUDIT_LOGGING_ENABLED: false
YAML
MD='{"id": "0d1e2f3a-4b5c-11ee-8a6b-0242ac120002", "source": "openedx/cms/web", "sourcehost": "edx-host-7", "time": "2024-05-01T10:00:00.123456+00:00", "minorversion": 0}'

# same_lines WHAT SOURCE DEST: the two outputs hold the same lines (order aside).
same_lines() {
    if [ "$(lines "$2")" -gt 0 ] && [ "$(sort "$2")" = "$(sort "$3")" ]; then
        ok "$1: $(lines "$3") events identical on both sides (ids, metadata, data)"
    else
        fail "$1: source and destination differ: $(diff <(sort "$2") <(sort "$3") | head -n 4)"
    fi
}

# --- 1. sqlite -> redis ----------------------------------------------------------------------
"$EDXBUS" produce -c "$tmp/a.yaml" -e "$TYPE" -t t1 -d "$DATA" --count 100 2>"$tmp/p1.err" &&
    "$EDXBUS" produce -c "$tmp/a.yaml" -e "$TYPE" -t t1 -d "$DATA" -m "$MD" 2>>"$tmp/p1.err" ||
    fail "1: produce: $(cat "$tmp/p1.err")"
for n in 60 41; do
    timeout 120 "$EDXBUS" bridge --from-config "$tmp/a.yaml" -t t1 -g br --to-config "$tmp/b.yaml" \
        --extra '{"start": "earliest"}' -n $n >"$tmp/b1.out" 2>"$tmp/b1.err" ||
        fail "1: bridge -n $n: exit $?: $(cat "$tmp/b1.err")"
done
[ ! -s "$tmp/b1.out" ] && ok "1: the bridge is quiet" || fail "1: bridge printed $(cat "$tmp/b1.out")"
[ "$(redis-cli -p "$port" xlen t1)" = 101 ] && ok "1: the destination holds each event once" ||
    fail "1: the stream holds $(redis-cli -p "$port" xlen t1) entries, not 101"
"$EDXBUS" tail -c "$tmp/a.yaml" t1 --from earliest -n 101 --timeout 30 >"$tmp/src1" 2>/dev/null
timeout 120 "$EDXBUS" consume -c "$tmp/b.yaml" -t t1 -g check --extra '{"check_backlog": true}' \
    -n 101 >"$tmp/dst1" 2>"$tmp/dst1.err" || fail "1: consume: $(tail -n 2 "$tmp/dst1.err")"
same_lines 1 "$tmp/src1" "$tmp/dst1"
grep -qF '"id": "0d1e2f3a-4b5c-11ee-8a6b-0242ac120002", "minorversion": 0, "source": "openedx/cms/web", "sourcehost": "edx-host-7", "time": "2024-05-01T10:00:00.123456+00:00"' \
    "$tmp/dst1" && ok "1: the fixed metadata arrived as it was" ||
    fail "1: the event with fixed metadata is not on the destination as it was"

# --- 2. redis -> sqlite, to another topic ----------------------------------------------------
"$EDXBUS" produce -c "$tmp/b.yaml" -e "$TYPE" -t t2 -d "$DATA" --count 50 2>"$tmp/p2.err" ||
    fail "2: produce: $(cat "$tmp/p2.err")"
timeout 120 "$EDXBUS" bridge --from-config "$tmp/b.yaml" -t t2 -g br --to-config "$tmp/a.yaml" \
    --to-topic t2copy --extra '{"check_backlog": true}' -n 50 2>"$tmp/b2.err" ||
    fail "2: bridge: exit $?: $(cat "$tmp/b2.err")"
"$EDXBUS" tail -c "$tmp/b.yaml" t2 --from earliest -n 50 --timeout 30 >"$tmp/src2" 2>/dev/null
"$EDXBUS" tail -c "$tmp/a.yaml" t2copy --from earliest -n 50 --timeout 30 >"$tmp/dst2" 2>/dev/null
same_lines 2 "$tmp/src2" "$tmp/dst2"

# --- 3. bad input ------------------------------------------------------------------------------
"$EDXBUS" bridge --from-config "$tmp/a.yaml" -t t1 -g br >/dev/null 2>"$tmp/e.err"
rc=$?
[ $rc -eq 2 ] && [ "$(lines "$tmp/e.err")" = 1 ] && ok "3: a missing --to-config exits 2" ||
    fail "3: missing --to-config: exit $rc: $(cat "$tmp/e.err")"
printf 'EVENT_BUS_PRODUCER: redsi\n' >"$tmp/bad.yaml"
"$EDXBUS" bridge --from-config "$tmp/a.yaml" -t t1 -g br --to-config "$tmp/bad.yaml" >/dev/null \
    2>"$tmp/e.err"
rc=$?
[ $rc -eq 2 ] && [ "$(lines "$tmp/e.err")" = 1 ] && grep -q "redsi" "$tmp/e.err" &&
    ok "3: an unknown destination backend exits 2 with one line" ||
    fail "3: bad destination: exit $rc: $(cat "$tmp/e.err")"

[ $failures -eq 0 ] || exit 1
echo "all bridge scenarios passed"
