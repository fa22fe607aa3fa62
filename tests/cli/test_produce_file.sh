#!/usr/bin/env bash
# tests/cli/test_produce_file.sh EDXBUS — `produce --data @FILE` streams (issue 16, issue 10
# item 4): a large JSON-lines file goes through the embedded broker with flat memory (the peak
# RSS of 1,000,000 lines is within 2x of that of 10,000 lines; both printed), and a file with bad
# lines — one near the end of a large file — sends nothing, names every bad line, exits 2.
# Standard input (@-) is spooled and checked the same way. SIGTERM part way: what was sent is
# flushed and reported, exit 143. Peak RSS comes from getrusage(RUSAGE_CHILDREN) in Python.
# Under AddressSanitizer (slower, and its allocator keeps freed memory in quarantine) the large
# file has 200,000 lines and the quarantine is kept small.
source "$(dirname "$0")/lib.sh" "$@"

command -v python3 >/dev/null || { echo "python3 not found: skipped"; exit 77; }
export EVENT_BUS_SQLITE_PATH="$SCRATCH/bus.db"
export EVENT_BUS_AUDIT_LOGGING_ENABLED=false
export EVENT_BUS_SQLITE_SYNCHRONOUS=NORMAL # the memory is the same; no fsync per batch
unset EDXBUS_CONFIG EVENT_BUS_TOPIC_PREFIX EVENT_BUS_PRODUCER_CONFIG

TYPE=org.openedx.content_authoring.xblock.published.v1
BIG=1000000
if ldd "$EDXBUS" 2>/dev/null | grep -q libasan; then
  BIG=200000
  export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=8"
fi

# gen N FILE [BAD_LINE...]: N events, one per line; the BAD_LINEs lack a required field.
gen() {
  python3 - "$@" <<'PY'
import sys
n, path, bad = int(sys.argv[1]), sys.argv[2], set(int(x) for x in sys.argv[3:])
with open(path, "w") as f:
    for i in range(1, n + 1):
        if i in bad:
            f.write('{"xblock_info": {"usage_key": "block-v1:edX+DemoX+Demo_Course+type@problem+block@b%d"}}\n' % i)
        else:
            f.write('{"xblock_info": {"usage_key": "block-v1:edX+DemoX+Demo_Course+type@problem+block@b%d", "block_type": "problem", "version": null}}\n' % i)
PY
}
count() {
  python3 - "$EVENT_BUS_SQLITE_PATH" "$1" <<'PY'
import sqlite3, sys, os
if not os.path.exists(sys.argv[1]):
    print(0); sys.exit()
db = sqlite3.connect(sys.argv[1])
try:
    print(db.execute("SELECT count(*) FROM messages m JOIN topics t ON 1=1 WHERE t.name = ?", (sys.argv[2],)).fetchone()[0] if False else
          db.execute("SELECT count(*) FROM messages").fetchone()[0])
except sqlite3.OperationalError:
    print(0)
PY
}
# peak_rss ARGS...: run edxbus ARGS, print "EXIT PEAK_RSS_KB".
peak_rss() {
  python3 - "$EDXBUS" "$@" <<'PY'
import resource, subprocess, sys
r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
sys.stderr.write(r.stderr.decode(errors="replace"))
print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
PY
}

# 1. Bad lines, one of them near the end of a large file: nothing sent, each named, exit 2.
gen 100000 "$SCRATCH/bad.jsonl" 7 99998
run produce -e $TYPE -t bad -d @"$SCRATCH/bad.jsonl"
check
[[ $RC -eq 2 ]] || fail "exit $RC, expected 2"
grep -q "bad.jsonl:7: " "$ERR" || fail "line 7 not named"
grep -q "bad.jsonl:99998: " "$ERR" || fail "line 99998 not named"
grep -q "2 of 100000 events in .*bad.jsonl are bad.*nothing was sent" "$ERR" || fail "no summary line"
[[ $(count bad) -eq 0 ]] || fail "$(count bad) events were sent"
# One bad line: exactly one line on stderr; the same through standard input.
gen 1000 "$SCRATCH/one.jsonl" 999
run produce -e $TYPE -t bad -d @"$SCRATCH/one.jsonl"
expect_error 2 "one.jsonl:999:" "block_type" "nothing was sent"
run produce -e $TYPE -t bad -d @- <"$SCRATCH/one.jsonl"
expect_error 2 "standard input:999:" "nothing was sent"
printf '{"xblock_info": {}}\nnot json\n' >"$SCRATCH/syntax.jsonl"
run produce -e $TYPE -t bad -d @"$SCRATCH/syntax.jsonl"
check
grep -q "syntax.jsonl:1: " "$ERR" && grep -q "syntax.jsonl:2: not JSON (column" "$ERR" ||
  fail "bad lines not named: $(cat "$ERR")"
check
[[ $(count bad) -eq 0 ]] || fail "$(count bad) events were sent"

# 2. Flat memory: 10,000 lines, then $BIG lines, through the embedded broker.
gen 10000 "$SCRATCH/small.jsonl"
gen $BIG "$SCRATCH/big.jsonl"
read -r rc_small rss_small < <(peak_rss produce -e $TYPE -t small -d @"$SCRATCH/small.jsonl")
read -r rc_big rss_big < <(peak_rss produce -e $TYPE -t big -d @"$SCRATCH/big.jsonl")
echo "peak RSS: 10000 lines ${rss_small} KB, $BIG lines ${rss_big} KB"
check
[[ $rc_small -eq 0 && $rc_big -eq 0 ]] || fail "produce exited $rc_small / $rc_big"
check
[[ $(count x) -eq $((10000 + BIG)) ]] || fail "$(count x) events stored, expected $((10000 + BIG))"
check
((rss_big <= 2 * rss_small)) || fail "peak RSS grew with the file: $rss_small KB -> $rss_big KB"

# 3. SIGTERM part way through a large file: flushed and reported, exit 143; what the report says
#    was delivered is what the broker holds.
#    Sending has begun when the first delivered id comes out of --print-ids (read from a FIFO,
#    so the signal follows it at once; polling the database was slower than a fast producer).
before=$(count x)
gen 100000 "$SCRATCH/term.jsonl"
mkfifo "$SCRATCH/term.ids"
"$EDXBUS" produce -e $TYPE -t term --print-ids -d @"$SCRATCH/term.jsonl" 2>"$SCRATCH/term.err" \
  >"$SCRATCH/term.ids" &
pid=$!
exec 3<"$SCRATCH/term.ids"
read -r -t 120 _ <&3 || true # bounded wait for the first delivered event
kill -TERM $pid
cat <&3 >/dev/null # the ids of the rest, until it exits (it must never block writing them)
exec 3<&-
rc=0
wait $pid || rc=$?
check
[[ $rc -eq 143 ]] || fail "exit $rc after SIGTERM, expected 143 ($(cat "$SCRATCH/term.err"))"
check
delivered=$(sed -n 's/.*interrupted by SIGTERM: [0-9]* of [0-9]* events sent, \([0-9]*\) delivered, 0 not delivered.*/\1/p' "$SCRATCH/term.err")
[[ -n $delivered ]] || fail "no report: $(cat "$SCRATCH/term.err")"
check
[[ $(($(count x) - before)) -eq ${delivered:--1} ]] ||
  fail "the broker holds $(($(count x) - before)) new events, the report says $delivered"

finish
