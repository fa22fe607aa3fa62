#!/usr/bin/env bash
# tests/cli/test_outbox_hostile.sh EDXBUS — an outbox file whose entries were damaged after they
# were written (by another process, or the disk): one entry's headers column cut to a length of
# 4 GiB, one whose destination lost its terminating NUL, one left intact. `outbox list` shows
# the damaged ones without a destination; `relay --once` drops each damaged entry with one
# error line naming it and the reason, forwards the intact one (it arrives on the broker, the
# embedded one here), and exits 0; nothing is left waiting. Needs python3 (its sqlite3 module)
# to damage the file.
source "$(dirname "$0")/lib.sh" "$@"
if ! python3 -c 'import sqlite3' 2>/dev/null; then
    echo "*** SKIP $(basename "$0"): python3's sqlite3 module is missing, so damaged outbox" \
        "entries were NOT tested." >&2
    exit 77
fi
unset EDXBUS_CONFIG EVENT_BUS_PRODUCER EVENT_BUS_CONSUMER EVENT_BUS_TOPIC_PREFIX
export EVENT_BUS_OUTBOX_PATH=$SCRATCH/outbox.db EVENT_BUS_SQLITE_PATH=$SCRATCH/bus.db
export EVENT_BUS_OUTBOX_RELAY=false EVENT_BUS_OUTBOX_DRAIN_TIMEOUT=0.1
TYPE=org.openedx.learning.course.enrollment.created.v1
DATA='{"enrollment": {"user": {"id": 42, "is_active": true, "pii": {"username": "ada", "email": "ada@example.com", "name": "Ada"}}, "course": {"course_key": "course-v1:edX+DemoX+2024", "display_name": "Demo", "start": null, "end": null}, "mode": "audit", "is_active": true, "creation_date": "2024-05-01T10:00:00+00:00", "created_by": null}}'

run produce -e "$TYPE" -t t1 -d "$DATA" --count 3 --print-ids
check
[[ $RC -eq 0 ]] || fail "produce: exit $RC"
good=$(sed -n 3p "$OUT")
python3 - "$EVENT_BUS_OUTBOX_PATH" <<'PY' || fail "could not damage the outbox file"
import sqlite3, struct, sys
db = sqlite3.connect(sys.argv[1])
ids = [r[0] for r in db.execute("SELECT id FROM messages ORDER BY id")]
name = b"edxbus-outbox-topic"
db.execute("UPDATE messages SET headers = ? WHERE id = ?", (b"\xff\xff\xff\xff" + name, ids[0]))
db.execute("UPDATE messages SET headers = ? WHERE id = ?",
           (struct.pack("<I", len(name)) + name + struct.pack("<I", 2) + b"t1", ids[1]))
db.commit()
PY

run outbox list
expect_ok
expect_lines 3
check
[[ $(grep -c '^{"topic": "", ' "$OUT") -eq 2 && $(grep -c '^{"topic": "t1", ' "$OUT") -eq 1 ]] ||
    fail "the damaged entries should show no destination: $(cat "$OUT")"

run relay --once --timeout 10
check
[[ $RC -eq 0 ]] || fail "exit $RC, expected 0"
check
[[ $(wc -l <"$ERR") -eq 2 ]] || fail "$(wc -l <"$ERR") lines on stderr, expected 2"
check
grep -q "entry 1 of .* is unusable (the headers column is corrupt); dropped" "$ERR" &&
    grep -q "entry 2 of .* is unusable (no destination topic); dropped" "$ERR" ||
    fail "stderr does not name the damaged entries"

run tail t1 --from earliest -n 1 --timeout 10
check
[[ $RC -eq 0 && $(wc -l <"$OUT") -eq 1 ]] && grep -qF "\"id\": \"$good\"" "$OUT" ||
    fail "the intact entry did not arrive: $(cat "$OUT")"
run outbox status --json
check
grep -q '"waiting": 0' "$OUT" || fail "entries still wait: $(cat "$OUT")"

finish
