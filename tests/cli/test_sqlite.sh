#!/usr/bin/env bash
# tests/cli/test_sqlite.sh EDXBUS — the embedded broker's own commands and bad days, through the
# binary: `sqlite status` (text and --json: events per topic, the oldest, what each group holds
# back), `lag` naming what retention waits for, a consumer whose database file is deleted while
# it runs exits non-zero with one line naming the file, and a send into a full filesystem (a
# small tmpfs this script mounts when it runs as root and may mount; skipped otherwise) fails
# with the path and the free space, then works again once space is freed, every event sent
# before still readable. Only processes this script started are signalled, by pid.
source "$(dirname "$0")/lib.sh" "$@"

export EVENT_BUS_SQLITE_PATH="$SCRATCH/bus.db"
export EVENT_BUS_AUDIT_LOGGING_ENABLED=false
unset EDXBUS_CONFIG EVENT_BUS_TOPIC_PREFIX EVENT_BUS_PRODUCER_CONFIG EVENT_BUS_PRODUCER \
  EVENT_BUS_CONSUMER EVENT_BUS_SQLITE_RETENTION EVENT_BUS_SQLITE_GROUP_IDLE_LIMIT

TYPE=org.openedx.learning.course.enrollment.created.v1
DATA='{"enrollment": {"user": {"id": 42, "is_active": true, "pii": {"username": "ada", "email": "ada@example.com", "name": "Ada"}}, "course": {"course_key": "course-v1:edX+DemoX+2024", "display_name": "Demo", "start": null, "end": null}, "mode": "audit", "is_active": true, "creation_date": "2024-05-01T10:00:00+00:00", "created_by": null}}'

run sqlite status --help
expect_ok
expect_grep "^Usage: edxbus sqlite status"

# --- status and lag: 5 events, group "reader" read 2 and acknowledged them ---------------------
run produce -e $TYPE -t t1 -d "$DATA" --count 5
expect_ok
run consume -t t1 -g reader --extra '{"start": "earliest"}' --max-events 2
[[ $RC -eq 0 ]] || fail "consume exit $RC"
run sqlite status --json
expect_ok
check
python3 - "$OUT" <<'EOF' || fail "sqlite status --json: unexpected content"
import json, sys
s = json.load(open(sys.argv[1]))
t = [t for t in s["topics"] if t["topic"] == "t1"][0]
g = [g for g in t["groups"] if g["group"] == "reader"][0]
assert t["events"] == 5 and t["first_position"] == 1 and t["last_position"] == 5, t
assert t["oldest_stored"].endswith("+00:00"), t
assert g["holds_back"] == 3 and g["first_unacknowledged"] == 3 and g["pending"] == 0, g
assert s["auto_vacuum"] == "incremental" and s["retention"]["age"] == "1w", s
assert s["file_bytes"] > 0 and s["disk_free_bytes"] > 0, s
EOF
run sqlite status
expect_ok
expect_grep "^topic t1: 5 events \(positions 1\.\.5\)"
expect_grep "^  group reader: holds back 3 events \(from position 3\)"
run lag -g reader -t t1
expect_ok
expect_grep "^retention: group reader holds back 3 event\(s\), from position 3$"
run lag -g reader t1 --json
expect_ok
check
grep -q '"holds_back": 3' "$OUT" || fail "lag --json does not say what the group holds back"

# --- a consumer whose file is deleted under it stops, non-zero, naming the file -----------------
"$EDXBUS" consume -t t1 -g reader >"$SCRATCH/c.out" 2>"$SCRATCH/c.err" &
cpid=$!
deadline=$((SECONDS + 60))
until grep -q . "$SCRATCH/c.out" 2>/dev/null || [[ $SECONDS -ge $deadline ]]; do sleep 0.05; done
rm -f "$EVENT_BUS_SQLITE_PATH" "$EVENT_BUS_SQLITE_PATH-wal" "$EVENT_BUS_SQLITE_PATH-shm"
deadline=$((SECONDS + 60))
while kill -0 $cpid 2>/dev/null && [[ $SECONDS -lt $deadline ]]; do sleep 0.05; done
kill -0 $cpid 2>/dev/null && kill $cpid
crc=0
wait $cpid || crc=$?
check
[[ $crc -ne 0 ]] || fail "consume of a deleted file exited 0"
grep -q "bus.db was deleted" "$SCRATCH/c.err" || fail "consume did not say the file was deleted: $(cat "$SCRATCH/c.err")"

# --- a file-size limit (ulimit -f): the command says so instead of dying of SIGXFSZ ------------
export EVENT_BUS_SQLITE_PATH="$SCRATCH/limited.db"
run produce -e $TYPE -t lim -d "$DATA" --count 10
expect_ok
limit_blocks=$(( ($(stat -c %s "$EVENT_BUS_SQLITE_PATH") + $(stat -c %s "$EVENT_BUS_SQLITE_PATH-wal" 2>/dev/null || echo 0)) / 1024 + 64 ))
CMD="edxbus produce --count 20000 under ulimit -f $limit_blocks"
RC=0
(ulimit -f "$limit_blocks" && exec "$EDXBUS" produce -e $TYPE -t lim -d "$DATA" --count 20000) \
  >"$OUT" 2>"$ERR" || RC=$?
check
[[ $RC -eq 1 ]] || fail "exit $RC, expected 1 (a signal-killed command exits 128+25)"
grep -q "ulimit -f" "$ERR" || fail "the error does not name the file-size limit: $(cat "$ERR")"
export EVENT_BUS_SQLITE_PATH="$SCRATCH/bus.db"

# --- a full filesystem: a 2 MB tmpfs, filled, then freed ---------------------------------------
MNT="$SCRATCH/small"
mkdir -p "$MNT"
if [[ $(id -u) -eq 0 ]] && mount -t tmpfs -o size=2m tmpfs "$MNT" 2>/dev/null; then
  trap 'umount "$MNT" 2>/dev/null; rm -rf "$SCRATCH"' EXIT
  export EVENT_BUS_SQLITE_PATH="$MNT/bus.db"
  run produce -e $TYPE -t full -d "$DATA" --count 10 --print-ids
  expect_ok
  cp "$OUT" "$SCRATCH/ids-before"
  # Fill what is left, then send until the disk refuses.
  dd if=/dev/zero of="$MNT/filler" bs=64k 2>/dev/null || true
  truncate -s -256K "$MNT/filler"
  run produce -e $TYPE -t full -d "$DATA" --count 2000 --print-ids
  check
  [[ $RC -ne 0 ]] || fail "produce into a full filesystem exited 0"
  grep -q "$MNT/bus.db" "$ERR" || fail "the error does not name the file: $(cat "$ERR")"
  grep -q "free on the disk" "$ERR" || fail "the error does not give the free space: $(cat "$ERR")"
  cat "$OUT" >>"$SCRATCH/ids-before" # events reported sent before the failure
  rm -f "$MNT/filler"
  run produce -e $TYPE -t full -d "$DATA" --count 5 --print-ids
  expect_ok
  cat "$OUT" >>"$SCRATCH/ids-before"
  n=$(wc -l <"$SCRATCH/ids-before")
  RC=0 # bounded: a missing event must fail the check, not hang it
  timeout 120 "$EDXBUS" consume -t full -g after --extra '{"start": "earliest"}' \
    --max-events "$n" >"$OUT" 2>"$ERR" || RC=$?
  check
  [[ $RC -eq 0 ]] || fail "consume after the disk was freed: exit $RC"
  sed -n 's/^{"metadata": {"event_type": "[^"]*", "id": "\([^"]*\)".*/\1/p' "$OUT" >"$SCRATCH/ids-after"
  cmp -s "$SCRATCH/ids-before" "$SCRATCH/ids-after" || fail "events sent before or after the full disk are missing"
  umount "$MNT"
else
  echo "test_sqlite.sh: not root or cannot mount a tmpfs: the full-filesystem check is left to test_sqlite_faults (RLIMIT_FSIZE)"
fi

finish
