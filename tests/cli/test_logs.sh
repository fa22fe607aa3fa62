#!/usr/bin/env bash
# tests/cli/test_logs.sh EDXBUS — EVENT_BUS_LOG_FORMAT and EVENT_BUS_LOG_LEVEL through the command,
# on the embedded broker:
#   1. json: every stderr line of a consumer is one JSON object with time, level and message;
#      the per-event audit line carries the event's fields (topic, group, position, event_id,
#      event_type, event_time), a dead-letter warning too, and the final error line (exit 3)
#      is an object with the exit code;
#   2. text: EVENT_BUS_LOG_LEVEL=info shows the audit line without -v; error hides warnings;
#      -q wins over the setting;
#   3. bad values exit 2 with one line naming the setting, and `config check` names them;
#      `config list` shows both rows.
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/reliability_lib.sh" "$@"
export EVENT_BUS_PRODUCER=sqlite EVENT_BUS_CONSUMER=sqlite EVENT_BUS_SQLITE_PATH="$tmp/bus.db"
export EVENT_BUS_AUDIT_LOGGING_ENABLED=true EVENT_BUS_CONSUMER_RETRY_BACKOFF_MS=1
PY=${PYTHON:-python3}

produce l1 3 "$tmp/ids" || fail "produce: $(cat "$tmp/produce.err")"

# --- 1. json ----------------------------------------------------------------------------------
EVENT_BUS_LOG_FORMAT=json EVENT_BUS_LOG_LEVEL=info EVENT_BUS_CONSUMER_RETRIES=1 \
    EVENT_BUS_CONSUMER_CONSECUTIVE_ERRORS_LIMIT=3 \
    "$EDXBUS" consume -t l1 -g g1 --extra '{"start": "earliest"}' --exec 'exit 1' \
    >/dev/null 2>"$tmp/j.err"
rc=$?
[ $rc = 3 ] || fail "1: exit $rc, expected 3: $(tail -n 2 "$tmp/j.err")"
first_id=$(head -n 1 "$tmp/ids")
"$PY" - "$tmp/j.err" "$TYPE" "$first_id" <<'PYEOF' && ok "1: json lines, audit and dead-letter lines with the event's fields, error line with the exit code" || fail "1: json: $(head -c 2000 "$tmp/j.err")"
import json, sys
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
assert lines, "no lines"
objs = [json.loads(l) for l in lines]           # every line is one JSON object
for o in objs:
    assert {"time", "level", "message"} <= set(o), o
    assert o["time"].endswith("Z") and "T" in o["time"], o
audit = [o for o in objs if o["message"] == "event bus: message received"]
assert len(audit) == 3, len(audit)
for o in audit:
    assert o["level"] == "info" and o["topic"] == "l1" and o["group"] == "g1", o
    assert o["event_type"] == sys.argv[2] and o["event_id"] and o["position"] and o["event_time"], o
assert audit[0]["event_id"] == sys.argv[3], (audit[0], sys.argv[3])
dead = [o for o in objs if o["message"].startswith("event bus: dead-lettered")]
assert len(dead) == 3 and all(d["level"] == "warning" and d["event_id"] for d in dead), dead
last = objs[-1]
assert last["level"] == "error" and last["exit_code"] == 3, last
assert "consecutive errors" in last["message"], last
PYEOF

# --- 2. text and the level --------------------------------------------------------------------
produce l2 2 "$tmp/ids2" || fail "produce: $(cat "$tmp/produce.err")"
EVENT_BUS_LOG_LEVEL=info "$EDXBUS" consume -t l2 -g g1 --extra '{"start": "earliest"}' -n 2 \
    >/dev/null 2>"$tmp/t.err" || fail "2: consume: $(cat "$tmp/t.err")"
[ "$(grep -c '^edxbus consume: info: event bus: message received: topic=l2 position=' "$tmp/t.err")" = 2 ] &&
    ok "2: EVENT_BUS_LOG_LEVEL=info shows the audit lines as text" || fail "2: info: $(cat "$tmp/t.err")"
EVENT_BUS_LOG_LEVEL=info "$EDXBUS" consume -q -t l2 -g g2 --extra '{"start": "earliest"}' -n 2 \
    >/dev/null 2>"$tmp/t.err"
[ ! -s "$tmp/t.err" ] && ok "2: -q wins over EVENT_BUS_LOG_LEVEL" || fail "2: -q: $(cat "$tmp/t.err")"
EVENT_BUS_LOG_LEVEL=error EVENT_BUS_CONSUMER_RETRIES=1 "$EDXBUS" consume -t l2 -g g3 \
    --extra '{"start": "earliest"}' -n 2 --exec 'exit 1' >/dev/null 2>"$tmp/t.err"
! grep -q "warning" "$tmp/t.err" && ok "2: EVENT_BUS_LOG_LEVEL=error hides the dead-letter warnings" ||
    fail "2: error level: $(cat "$tmp/t.err")"
EVENT_BUS_CONSUMER_RETRIES=1 "$EDXBUS" consume -t l2 -g g4 --extra '{"start": "earliest"}' -n 2 \
    --exec 'exit 1' >/dev/null 2>"$tmp/t.err"
[ "$(grep -c '^edxbus consume: warning: event bus: dead-lettered' "$tmp/t.err")" = 2 ] &&
    ok "2: by default the warnings show as text" || fail "2: default: $(cat "$tmp/t.err")"

# --- 3. bad values ----------------------------------------------------------------------------
EVENT_BUS_LOG_FORMAT=xml "$EDXBUS" consume -t l2 -g g5 >/dev/null 2>"$tmp/b.err"
rc=$?
[ $rc = 2 ] && [ "$(wc -l <"$tmp/b.err")" = 1 ] && grep -q 'EVENT_BUS_LOG_FORMAT: "xml"' "$tmp/b.err" &&
    ok "3: a bad EVENT_BUS_LOG_FORMAT exits 2 naming it" || fail "3: format: exit $rc: $(cat "$tmp/b.err")"
EVENT_BUS_LOG_LEVEL=loud "$EDXBUS" consume -t l2 -g g5 >/dev/null 2>"$tmp/b.err"
rc=$?
[ $rc = 2 ] && grep -q 'EVENT_BUS_LOG_LEVEL: "loud"' "$tmp/b.err" &&
    ok "3: a bad EVENT_BUS_LOG_LEVEL exits 2 naming it" || fail "3: level: exit $rc: $(cat "$tmp/b.err")"
EVENT_BUS_LOG_LEVEL=loud "$EDXBUS" config check >/dev/null 2>"$tmp/b.err"
grep -q 'EVENT_BUS_LOG_LEVEL: "loud"' "$tmp/b.err" && ok "3: config check names a bad level" ||
    fail "3: config check: $(cat "$tmp/b.err")"
"$EDXBUS" config list >"$tmp/list.txt" 2>&1
grep -q EVENT_BUS_LOG_FORMAT "$tmp/list.txt" && grep -q EVENT_BUS_LOG_LEVEL "$tmp/list.txt" &&
    grep -q EVENT_BUS_METRICS_ADDRESS "$tmp/list.txt" && ok "3: config list shows the rows" ||
    fail "3: config list"

[ $failures = 0 ] || exit 1
