#!/usr/bin/env bash
# tests/cli/test_doctor_sqlite.sh EDXBUS — `edxbus doctor` on the embedded broker, its file on a
# tmpfs (/dev/shm; skipped loudly when that is not a tmpfs):
#   1. no file yet: the file system named (tmpfs, local: info), the free-space line with its
#      bytes, "does not exist yet", exit 0;
#   2. 10 events, a group that acknowledged 2 of them: what retention waits for (the group and
#      the 8 events it holds back), the retention rules; dead letters waiting in t1-dlq: a
#      warning with the count; --json parsed: the same, exit 0 (warnings only);
#   3. -g of another group: nothing about g1.
# Waits are bounded; nothing is timed.
source "$(dirname "$0")/lib.sh" "$@"

if [[ $(stat -f -c %T /dev/shm 2>/dev/null) != tmpfs ]]; then
    echo "*** SKIP $(basename "$0"): /dev/shm is not a tmpfs here, so the doctor's file-system" \
        "check was NOT tested on one." >&2
    exit 77
fi
dir=$(mktemp -d /dev/shm/edxbus-doctor.XXXXXX)
trap 'rm -rf "$SCRATCH" "$dir"' EXIT
unset EDXBUS_CONFIG EVENT_BUS_PRODUCER EVENT_BUS_CONSUMER EVENT_BUS_TOPIC_PREFIX
export EVENT_BUS_SQLITE_PATH=$dir/bus.db EVENT_BUS_AUDIT_LOGGING_ENABLED=false
TYPE=org.openedx.learning.course.enrollment.created.v1
DATA='{"enrollment": {"user": {"id": 42, "is_active": true, "pii": {"username": "ada", "email": "ada@example.com", "name": "Ada"}}, "course": {"course_key": "course-v1:edX+DemoX+2024", "display_name": "Demo", "start": null, "end": null}, "mode": "audit", "is_active": true, "creation_date": "2024-05-01T10:00:00+00:00", "created_by": null}}'

# expect_finding REGEX: a line of stdout matches.
expect_finding() {
    check
    grep -qE -- "$1" "$OUT" || fail "no line matches /$1/ in: $(cat "$OUT")"
}

# --- 1. no file yet ------------------------------------------------------------------------------
run doctor --interval 0.1
expect_ok
expect_finding "^info +sqlite sqlite\\.filesystem: $dir/bus\\.db: the file is on a local file system \\(tmpfs\\)"
expect_finding "^(info|warning|error) +sqlite sqlite\\.disk-free: $dir/bus\\.db: [0-9]+ bytes free of [0-9]+ on the file system of $dir"
expect_finding "^info +sqlite sqlite\\.no-file: .*does not exist yet"

# --- 2. a group holding events back, dead letters -----------------------------------------------
"$EDXBUS" produce -e "$TYPE" -t t1 -d "$DATA" --count 10 || fail "produce failed"
EVENT_BUS_CONSUMER_BATCH_SIZE=1 timeout 60 "$EDXBUS" consume -t t1 -g g1 --extra '{"start": "earliest"}' \
    -n 2 >/dev/null || fail "consume failed"
"$EDXBUS" produce -e "$TYPE" -t t1-dlq -d "$DATA" --count 3 || fail "produce to t1-dlq failed"
run doctor --interval 0.1
expect_ok
expect_finding "^info +sqlite sqlite\\.retention: .*kept 1w"
expect_finding "^info +sqlite sqlite\\.retention-held: topic t1, group g1: retention waits for this group: it holds back 8 event\\(s\\), from position 3"
expect_finding "^info +sqlite lag\\.steady: topic t1, group g1: backlog 8 event"
expect_finding "^warning sqlite dead-letters\\.waiting: t1-dlq: 3 dead letter"
expect_finding "^0 error\\(s\\), 1 warning\\(s\\)"
run doctor --interval 0.1 -j
expect_ok
check
python3 -c "
import json, sys
d = json.load(open('$OUT'))
by = {f['check']: f for f in d['findings']}
assert d['errors'] == 0 and d['warnings'] == 1, d
assert by['sqlite.retention-held']['details']['holds_back'] == 8, by
assert by['sqlite.disk-free']['details']['free_bytes'] > 0, by
assert by['sqlite.filesystem']['details']['filesystem'] == 'tmpfs', by
assert by['dead-letters.waiting']['details'] == {'topic': 't1-dlq', 'events': 3}, by
" || fail "--json does not hold the findings"

# --- 3. another group only ------------------------------------------------------------------------
run doctor --interval 0.1 -g other -t t1
expect_ok
check
! grep -q 'group g1' "$OUT" || fail "-g other still reports g1: $(cat "$OUT")"

finish
