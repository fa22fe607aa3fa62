#!/usr/bin/env bash
# tests/cli/test_quiet.sh EDXBUS — quiet by default: on the embedded broker, produce, consume,
# tail, dlq list and lag write nothing on stderr when all goes well (the library's info lines,
# audit logging included, need -v); -v shows them, -q keeps even warnings away, and -v/-q work
# before the command as after it. (The same on Redis, with a restart in a group: the end of
# test_reliability_redis.sh.)
source "$(dirname "$0")/lib.sh" "$@"

export EVENT_BUS_SQLITE_PATH="$SCRATCH/bus.db"
unset EDXBUS_CONFIG EVENT_BUS_TOPIC_PREFIX EVENT_BUS_PRODUCER_CONFIG EDXBUS_DEBUG
unset EVENT_BUS_AUDIT_LOGGING_ENABLED # the default: audit lines on, at info level
export EVENT_BUS_PRODUCER=sqlite EVENT_BUS_CONSUMER=sqlite

TYPE=org.openedx.content_authoring.xblock.published.v1
DATA='{"xblock_info": {"block_type": "problem", "usage_key": "block-v1:edX+DemoX+Demo_Course+type@problem+block@d2", "version": null}}'

run produce -e $TYPE -t q -d "$DATA" --count 3
expect_ok
run consume -t q -g g --extra '{"start": "earliest"}' -n 1
expect_ok
expect_lines 1
run tail -t q --from earliest -n 3 --timeout 30
expect_ok
expect_lines 3
run dlq list -t q
expect_ok
run lag -t q -g g
expect_ok

# -v: the info lines (what the worker does, and the audit line per event).
run consume -v -t q -g g -n 1
check
[[ $RC -eq 0 ]] || fail "exit $RC"
check
grep -q "^edxbus consume: info: event bus: consuming q in group g" "$ERR" ||
  fail "no info line about consuming with -v"
check
grep -q "^edxbus consume: info: event bus: message received: topic=q" "$ERR" ||
  fail "no audit line with -v"
run -v consume -t q -g g -n 1
check
grep -q "info: event bus: consuming" "$ERR" || fail "-v before the command shows no info line"

# -q: errors only (a warning, here an unknown setting, is left out; the error itself is not).
EVENT_BUS_NOT_A_SETTING=1 run lag -t q -g g
check
grep -q "warning" "$ERR" || fail "expected a warning about EVENT_BUS_NOT_A_SETTING without -q"
EVENT_BUS_NOT_A_SETTING=1 run lag -q -t q -g g
expect_ok

finish
