# tests/cli/test_schema.sh — `edxbus schema generate | show | fingerprint`.
#
# data/schemas/ holds the expected files: the run-time schema strings of
# tests/vectors/schemas_generated.jsonl (what openedx-events' serializer builds) written out with
# Python's json.dumps(indent=2) in openedx-events' key order, as its own .avsc files are. So
# `cmp` checks JSON equality with the reference schema and the file format at once.
source "$(dirname "$0")/lib.sh" "$@"

ENROLLMENT=org.openedx.learning.course.enrollment.created.v1
ENROLLMENT_FILE=org+openedx+learning+course+enrollment+created+v1_schema.avsc

# All serializable events into a new directory.
gen="$SCRATCH/gen"
run schema generate -o "$gen"
expect_ok
expect_lines 72
check
[[ $(find "$gen" -type f | wc -l) -eq 72 ]] || fail "$(find "$gen" -type f | wc -l) files written, expected 72"
for want in "$DATA"/schemas/*.avsc; do
  check
  name=$(basename "$want")
  if [[ ! -f "$gen/$name" ]]; then
    fail "missing $name"
  elif ! cmp -s "$want" "$gen/$name"; then
    fail "$name differs from the reference: $(diff "$want" "$gen/$name" | head -n 6 | tr '\n' ' ')"
  fi
done

# Named types only; the default directory is the current one.
mkdir -p "$SCRATCH/cwd"
(cd "$SCRATCH/cwd" && "$EDXBUS" schema generate "$ENROLLMENT" >"$OUT" 2>"$ERR") && RC=0 || RC=$?
CMD="edxbus schema generate $ENROLLMENT (in an empty directory)"
expect_ok
check
[[ $(ls "$SCRATCH/cwd") == "$ENROLLMENT_FILE" ]] || fail "wrote $(ls "$SCRATCH/cwd" | tr '\n' ' ')"
check
cmp -s "$DATA/schemas/$ENROLLMENT_FILE" "$SCRATCH/cwd/$ENROLLMENT_FILE" || fail "content differs"

# show: the same text plus a newline.
run schema show "$ENROLLMENT"
expect_ok
check
{ cat "$DATA/schemas/$ENROLLMENT_FILE"; echo; } | cmp -s - "$OUT" || fail "show differs from the .avsc"
run schema show --compact "$ENROLLMENT"
expect_ok
expect_lines 1
expect_grep '^\{"doc": "Avro Event Format for CloudEvents created with openedx_events/schema", "fields": \[\{"name": "enrollment", '
run schema show --canonical org.openedx.analytics.tracking.event.emitted.v1
expect_ok
expect_stdout '{"name":"org.openedx.analytics.tracking.event.emitted.v1.CloudEvent","type":"record","fields":[{"name":"tracking_log","type":{"name":"org.openedx.analytics.tracking.event.emitted.v1.TrackingLogData","type":"record","fields":[{"name":"name","type":"string"},{"name":"timestamp","type":"string"},{"name":"data","type":"string"},{"name":"context","type":"string"}]}}]}'

# fingerprint: values computed independently (Python, the specification's CRC-64-AVRO over the
# Parsing Canonical Form).
run schema fingerprint "$ENROLLMENT"
expect_ok
expect_stdout dc54599b34251ba6
run schema fingerprint org.openedx.learning.ora.submission.created.v1
expect_ok
expect_stdout d23ce1781c5ee2a4
run schema fingerprint org.openedx.analytics.tracking.event.emitted.v1
expect_ok
expect_stdout f7a0ad7668f30547

# The generated files read back through --schemas give the same schemas.
for type in "$ENROLLMENT" org.openedx.learning.ora.submission.created.v1; do
  run schema fingerprint "$type"
  want=$(cat "$OUT")
  run --schemas "$gen" schema fingerprint "$type"
  expect_ok
  expect_stdout "$want"
done

# Errors: exit 2, one line, nothing written.
run schema generate -o "$SCRATCH/none" org.openedx.learning.external_grader.score.submitted.v1
expect_error 2 "org.openedx.learning.external_grader.score.submitted.v1"
check
[[ ! -e "$SCRATCH/none" ]] || fail "created the output directory although nothing can be written"
run schema generate -o "$SCRATCH/none" "$ENROLLMENT" org.openedx.learning.course.enrollment.creatd.v1
expect_error 2 "unknown event type" "did you mean $ENROLLMENT?"
check
[[ ! -e "$SCRATCH/none" ]] || fail "wrote files before checking every type"
run schema show org.openedx.learning.course.enrollment.creatd.v1
expect_error 2 "unknown event type" "did you mean $ENROLLMENT?"
run schema fingerprint
expect_error 2 "missing TYPE"
run schema show --compact --canonical "$ENROLLMENT"
expect_error 2 "exclude"

finish
