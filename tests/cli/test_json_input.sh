#!/usr/bin/env bash
# tests/cli/test_json_input.sh EDXBUS — what Python's json writes, edxbus reads, on every JSON
# input path: strings holding U+0000, other control characters and non-BMP characters, and the
# bare words NaN, Infinity and -Infinity (as `avro decode` prints them) for doubles — through
# `avro encode`, `produce --data JSON`, `--data @FILE`, `--data @-` and `--metadata`. The bytes
# are compared with the reference vector's bytes, spliced where the values differ, and, for
# produce, with the bytes the embedded broker stored (read with Python's sqlite3 module).
# The string "NaN" stays a string. Errors never show a library's flag names.
source "$(dirname "$0")/lib.sh" "$@"

command -v python3 >/dev/null || { echo "python3 not found: skipped"; exit 77; }
export EVENT_BUS_SQLITE_PATH="$SCRATCH/bus.db"
export EVENT_BUS_AUDIT_LOGGING_ENABLED=false
unset EDXBUS_CONFIG EVENT_BUS_TOPIC_PREFIX EVENT_BUS_PRODUCER_CONFIG

GRADE=org.openedx.learning.course.persistent_grade_summary.changed.v1
row=$(grep -F "$GRADE"$'\trealistic\t' "$DATA/vectors.tsv")
hex=$(cut -f 3 <<<"$row")
data=$(cut -f 4 <<<"$row")
# The reference bytes of percent_grade 0.85 and letter_grade "Pass".
[[ $hex == *333333333333eb3f* && $hex == *0850617373* ]] || fail "vector changed: $hex"

# payload GRADE_TEXT LETTER_TEXT: the realistic data with percent_grade and letter_grade
# replaced by raw JSON text.
payload() {
  local d=${data/'"percent_grade": 0.85'/'"percent_grade": '"$1"}
  printf '%s\n' "${d/'"letter_grade": "Pass"'/'"letter_grade": '"$2"}"
}
# expected DOUBLE_HEX LETTER_HEX: the reference bytes with those two values spliced in.
expected() {
  local h=${hex/333333333333eb3f/$1}
  printf '%s' "${h/0850617373/$2}"
}

# U+0000, U+0001, U+001F and U+1F600 (a surrogate pair in JSON): 8 bytes, length 16 zigzag.
NUL_TEXT='"P\u0000\u0001\u001f\ud83d\ude00"'
NUL_HEX=105000011ff09f9880
NAN_HEX=000000000000f87f
INF_HEX=000000000000f07f
NINF_HEX=000000000000f0ff

# 1. avro encode: every case byte for byte; then decode prints the words, and what it prints
#    encodes back to the same bytes.
cases=("NaN|$NUL_TEXT|$NAN_HEX|$NUL_HEX"
       "Infinity|\"NaN\"|$INF_HEX|064e614e"
       "-Infinity|\"Infinity\"|$NINF_HEX|10496e66696e697479"
       "0.85|\"\\u0000\"|333333333333eb3f|0200")
for c in "${cases[@]}"; do
  IFS='|' read -r dbl letter dhex lhex <<<"$c"
  payload "$dbl" "$letter" >"$SCRATCH/in.json"
  run avro encode -e $GRADE --hex "$SCRATCH/in.json"
  CMD="$CMD [$dbl $letter]"
  expect_ok
  expect_stdout "$(expected "$dhex" "$lhex")"
  run avro encode -e $GRADE "$SCRATCH/in.json"
  cp "$OUT" "$SCRATCH/bytes.avro"
  run avro decode -e $GRADE "$SCRATCH/bytes.avro"
  expect_ok
  cp "$OUT" "$SCRATCH/printed.json"
  run avro encode -e $GRADE --hex "$SCRATCH/printed.json"
  CMD="$CMD [printed back: $(head -c 120 "$SCRATCH/printed.json")]"
  expect_ok
  expect_stdout "$(expected "$dhex" "$lhex")"
done
check
grep -qF '"percent_grade": -Infinity' "$SCRATCH/printed.json" ||
  grep -qF '"percent_grade": 0.85' "$SCRATCH/printed.json" || fail "decode printed no double"

# A bare word where no value may stand, or glued to letters: a JSON error, in our words.
payload "NaNa" '"Pass"' >"$SCRATCH/bad.json"
run avro encode -e $GRADE "$SCRATCH/bad.json"
expect_error 2 "JSON input: line 1, column"
# NaN where a string is expected: the schema's error names the field.
payload "0.5" "NaN" >"$SCRATCH/bad.json"
run avro encode -e $GRADE "$SCRATCH/bad.json"
expect_error 2 "letter_grade"
check
! grep -q "JSON_" "$ERR" || fail "a library flag name was shown"

# stored_values TOPIC: the hex of every value the broker holds for TOPIC, one per line.
stored() {
  python3 - "$EVENT_BUS_SQLITE_PATH" "$@" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
what = sys.argv[2]
for (v,) in db.execute("SELECT %s FROM messages ORDER BY id" % what):
    print(v.hex() if isinstance(v, bytes) else v.encode("utf-8", "surrogatepass").hex())
PY
}

# 2. produce --data JSON, --data @FILE (JSON lines), --data @- : the stored bytes.
run produce -e $GRADE -k grade.user_id -t grades -d "$(payload NaN "$NUL_TEXT")"
expect_ok
{ payload Infinity '"NaN"'; echo; payload -Infinity '"Infinity"'; } >"$SCRATCH/lines.jsonl"
run produce -e $GRADE -k grade.user_id -t grades -d @"$SCRATCH/lines.jsonl"
expect_ok
payload 0.85 '"\u0000"' >"$SCRATCH/stdin.json"
run produce -e $GRADE -k grade.user_id -t grades -d @- <"$SCRATCH/stdin.json"
expect_ok
stored value >"$SCRATCH/values"
{ expected $NAN_HEX $NUL_HEX; echo
  expected $INF_HEX 064e614e; echo
  expected $NINF_HEX 10496e66696e697479; echo
  expected 333333333333eb3f 0200; echo; } >"$SCRATCH/want"
check
diff "$SCRATCH/want" "$SCRATCH/values" >/dev/null ||
  fail "stored values differ: $(diff "$SCRATCH/want" "$SCRATCH/values" | head -c 600)"

# 3. --metadata: a source holding a control character and a non-BMP character is kept byte for
#    byte; U+0000, which the metadata's fixed text fields cannot carry, is refused in our words.
run produce -e $GRADE -k grade.user_id -t meta -d "$(payload 0.5 '"Pass"')" \
  --metadata '{"source": "openedx/\u0007\ud83d\ude00/web"}'
expect_ok
check
[[ $(stored "source" | tail -n 1) == $(printf 'openedx/\a\xf0\x9f\x98\x80/web' | od -An -tx1 | tr -d ' \n') ]] ||
  fail "stored source $(stored source | tail -n 1)"
run produce -e $GRADE -k grade.user_id -t meta -d "$(payload 0.5 '"Pass"')" \
  --metadata '{"source": "openedx/\u0000/web"}'
expect_error 2 "--metadata: source:" "U+0000"

# Metadata is checked as EventsMetadata checks it, before anything is sent.
run produce -e $GRADE -k grade.user_id -t meta -d "$(payload 0.5 '"Pass"')" --metadata '{"id": "not-a-uuid"}'
expect_error 2 "--metadata: id:" "not a UUID"

# 4. Settings given as JSON text hold any string too; errors stay in our words.
EVENT_BUS_PRODUCER_CONFIG='{"'$GRADE'": {"g\u0000x": {"event_key_field": "grade.user_id", "enabled": true}}}' \
  run produce -e $GRADE -k grade.user_id -d "$(payload 0.5 '"Pass"')"
check
[[ $RC -ne 0 ]] || fail "a topic holding U+0000 was accepted"
! grep -q "JSON_" "$ERR" || fail "a library flag name was shown"
EVENT_BUS_PRODUCER_CONFIG='{"'$GRADE'": {"g": {"event_key_field": NaN}}}' \
  run produce -e $GRADE -k grade.user_id -d "$(payload 0.5 '"Pass"')"
check
[[ $RC -ne 0 ]] || fail "NaN as a key field was accepted"
! grep -q "JSON_" "$ERR" || fail "a library flag name was shown"

finish
