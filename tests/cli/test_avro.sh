# tests/cli/test_avro.sh — `edxbus avro encode | decode` on reference vectors, and every kind of
# bad input: exit 2, exactly one line on stderr, nothing on stdout.
#
# data/vectors.tsv: rows of tests/vectors/avro.jsonl (event_type, case, avro_hex, data, and the
# fastavro result as Python's json.dumps writes it), one per line, tab-separated.
source "$(dirname "$0")/lib.sh" "$@"

ENROLLMENT=org.openedx.learning.course.enrollment.created.v1
rows=0
while IFS=$'\t' read -r type case hex data decoded; do
  [[ $type == \#* ]] && continue
  rows=$((rows + 1))
  printf '%s' "$data" >"$SCRATCH/data.json"

  # JSON -> hex equals the reference bytes.
  run avro encode --event-type "$type" --hex "$SCRATCH/data.json"
  CMD="$CMD [$case]"
  expect_ok
  expect_stdout "$hex"

  # JSON on stdin -> raw bytes, which decode back to the same JSON text.
  run avro encode --event-type "$type" - <"$SCRATCH/data.json"
  expect_ok
  cp "$OUT" "$SCRATCH/bytes.avro"
  run avro decode --event-type "$type" "$SCRATCH/bytes.avro"
  CMD="$CMD [$case]"
  expect_ok
  expect_stdout "$decoded"

  # hex in, with whitespace and upper case, on stdin.
  spaced=$(printf '%s' "$hex" | tr 'a-f' 'A-F' | sed 's/\(..\)/\1 /g' | fold -w 30)
  run avro decode -e "$type" --hex <<<"$spaced"
  CMD="$CMD [$case, spaced hex]"
  expect_ok
  expect_stdout "$decoded"
done <"$DATA/vectors.tsv"
check
[[ $rows -ge 5 ]] || fail "read only $rows vectors from $DATA/vectors.tsv"

# A realistic enrollment, for the error cases below.
enrollment=$(grep -F "$ENROLLMENT"$'\trealistic\t' "$DATA/vectors.tsv" | cut -f 4)
printf '%s' "$enrollment" >"$SCRATCH/enrollment.json"

# Unknown event type, with a suggestion.
run avro encode --event-type org.openedx.learning.course.enrollment.creatd.v1 "$SCRATCH/enrollment.json"
expect_error 2 'edxbus avro encode: unknown event type "org.openedx.learning.course.enrollment.creatd.v1"; did you mean org.openedx.learning.course.enrollment.created.v1?'
run avro decode --event-type org.openedx.nothing.like.this --hex <<<"00"
expect_error 2 "unknown event type"

# JSON syntax, with line and column.
printf '{"enrollment": {\n  "mode": "audit",\n  "is_active" true}}' >"$SCRATCH/bad.json"
run avro encode --event-type "$ENROLLMENT" "$SCRATCH/bad.json"
expect_error 2 "JSON" "line 3"
run avro encode --event-type "$ENROLLMENT" </dev/null
expect_error 2 "JSON"

# An integer beyond int64: jansson's "too big integer", said in Avro terms.
sed 's/"id": 42/"id": 9223372036854775808/' "$SCRATCH/enrollment.json" >"$SCRATCH/big.json"
run avro encode --event-type "$ENROLLMENT" "$SCRATCH/big.json"
expect_error 2 "9223372036854775808" "outside the 64-bit range" "line 1"
sed 's/"id": 42/"id": -9223372036854775809/' "$SCRATCH/enrollment.json" >"$SCRATCH/big.json"
run avro encode --event-type "$ENROLLMENT" "$SCRATCH/big.json"
expect_error 2 "-9223372036854775809" "outside the 64-bit range"
# int64 extremes themselves fit.
sed 's/"id": 42/"id": -9223372036854775808/' "$SCRATCH/enrollment.json" >"$SCRATCH/min.json"
run avro encode --event-type "$ENROLLMENT" --hex "$SCRATCH/min.json"
expect_ok

# Values that do not fit the schema: the encoder's message, naming the field.
sed 's/"id": 42/"id": "forty-two"/' "$SCRATCH/enrollment.json" >"$SCRATCH/type.json"
run avro encode --event-type "$ENROLLMENT" "$SCRATCH/type.json"
expect_error 2 "user.id"
sed 's/"mode": "verified"/"mode": "verified", "colour": "blue"/' "$SCRATCH/enrollment.json" >"$SCRATCH/extra.json"
run avro encode --event-type "$ENROLLMENT" "$SCRATCH/extra.json"
expect_error 2 "colour"
run avro encode --event-type "$ENROLLMENT" <<<'[1, 2]'
expect_error 2 "edxbus avro encode:"
# A course key that is not one, unless --no-checks.
sed 's/"course_key": "course-v1:edX+DemoX+Demo_Course"/"course_key": "not a key"/' "$SCRATCH/enrollment.json" >"$SCRATCH/key.json"
run avro encode --event-type "$ENROLLMENT" "$SCRATCH/key.json"
expect_error 2 "course_key"
run avro encode --event-type "$ENROLLMENT" --no-checks --hex "$SCRATCH/key.json"
expect_ok
expect_lines 1

# An event that cannot be serialized.
run avro encode --event-type org.openedx.learning.external_grader.score.submitted.v1 <<<'{}'
expect_error 2 "edxbus avro encode:"

# Bytes that do not decode: truncated, trailing bytes, bad hex.
hex=$(grep -F "$ENROLLMENT"$'\trealistic\t' "$DATA/vectors.tsv" | cut -f 3)
run avro decode --event-type "$ENROLLMENT" --hex <<<"${hex:0:100}"
expect_error 2 "byte"
run avro decode --event-type "$ENROLLMENT" --hex <<<"${hex}00"
expect_error 2 "byte"
run avro decode --event-type "$ENROLLMENT" --hex <<<"${hex}0"
expect_error 2 "hex" "odd"
run avro decode --event-type "$ENROLLMENT" --hex <<<"zz${hex}"
expect_error 2 "hex" "'z'"
run avro decode --event-type "$ENROLLMENT" </dev/null
expect_error 2 "edxbus avro decode:"

# Usage and I/O.
run avro encode "$SCRATCH/enrollment.json"
expect_error 2 "missing --event-type"
run avro encode --event-type "$ENROLLMENT" "$SCRATCH/enrollment.json" extra
expect_error 2 "unexpected argument"
# A file the user named that is not there is bad input (exit 2), as produce --data @FILE says too.
run avro encode --event-type "$ENROLLMENT" "$SCRATCH/does-not-exist.json"
expect_error 2 "cannot open" "does-not-exist.json"

finish
