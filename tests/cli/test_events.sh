# tests/cli/test_events.sh — `edxbus events list` (75 types, sorted, --json) and `events show`.
source "$(dirname "$0")/lib.sh" "$@"

ENROLLMENT=org.openedx.learning.course.enrollment.created.v1

run events list
expect_ok
expect_lines 75
check
LC_ALL=C sort -c "$OUT" 2>/dev/null || fail "the list is not sorted"
check
[[ $(sort -u "$OUT" | wc -l) -eq 75 ]] || fail "the list has duplicates"
expect_grep "^$ENROLLMENT\$"
# The three events openedx-events cannot serialize are listed too.
expect_grep '^org\.openedx\.learning\.external_grader\.score\.submitted\.v1$'
cp "$OUT" "$SCRATCH/list"

run events list --json
expect_ok
check
[[ $(head -c 1 "$OUT") == "[" && $(tail -n 1 "$OUT") == "]" ]] || fail "--json is not a JSON array"
# Every type of the plain list appears in the JSON, as a string value.
while read -r type; do
  check
  grep -qF "\"$type\"" "$OUT" || fail "--json lacks $type"
done <"$SCRATCH/list"

run events show "$ENROLLMENT"
expect_ok
expect_grep "^type: +$ENROLLMENT\$"
expect_grep '^signal: +COURSE_ENROLLMENT_CREATED$'
expect_grep '^minor version: +0$'
expect_grep '^key field: +enrollment\.course\.course_key$'
expect_grep '^description: +[A-Z]'
expect_grep '^serializable: +yes$'
expect_grep '^schema:$'
expect_grep '^  "name": "CloudEvent",$'

run events show org.openedx.learning.external_grader.score.submitted.v1
expect_ok
expect_grep '^serializable: +no: .+'
check
grep -q '^schema:' "$OUT" && fail "an event that cannot be serialized shows a schema"

run events show org.openedx.learning.course.enrollment.creatd.v1
expect_error 2 "unknown event type" "did you mean $ENROLLMENT?"
run events show
expect_error 2 "missing TYPE"

finish
