# tests/cli/test_user_schemas.sh — user event types from .avsc directories: --schemas DIR (before
# or after the command) and EVENT_BUS_SCHEMA_PATH.
source "$(dirname "$0")/lib.sh" "$@"

dir="$SCRATCH/avsc"
mkdir -p "$dir"
cat >"$dir/org+example+thing+happened+v1_schema.avsc" <<'AVSC'
{
  "name": "CloudEvent",
  "type": "record",
  "doc": "A user event",
  "fields": [
    {
      "name": "thing",
      "type": {
        "name": "ThingData",
        "type": "record",
        "fields": [
          {"name": "id", "type": "long"},
          {"name": "label", "type": ["null", "string"], "default": null}
        ]
      }
    }
  ],
  "namespace": "org.example.thing.happened.v1"
}
AVSC

run --schemas "$dir" events list
expect_ok
expect_lines 76
expect_grep '^org\.example\.thing\.happened\.v1$'

run events list --schemas "$dir"
expect_ok
expect_lines 76

EVENT_BUS_SCHEMA_PATH="$dir" run events list
expect_ok
expect_lines 76

# id 7 -> zigzag 0e; label "hi" -> branch 1 (02), length 2 (04), "hi" (6869).
run --schemas "$dir" avro encode --event-type org.example.thing.happened.v1 --hex <<<'{"thing": {"id": 7, "label": "hi"}}'
expect_ok
expect_stdout 0e02046869
run --schemas "$dir" avro decode --event-type org.example.thing.happened.v1 --hex <<<'0e00'
expect_ok
expect_stdout '{"thing": {"id": 7, "label": null}}'

run --schemas "$dir" events show org.example.thing.happened.v1
expect_ok
expect_grep '^type: +org\.example\.thing\.happened\.v1$'

run --schemas "$SCRATCH/no-such-dir" events list
check
[[ $RC -ne 0 ]] || fail "a missing --schemas directory was accepted"
expect_error $RC "--schemas" "no-such-dir"

mkdir -p "$SCRATCH/bad"
printf '{"type": "record", "name": "CloudEvent", "namespace": "org.example.bad.v1", "fields": [{"name": "x", "type": "strng"}]}' \
  >"$SCRATCH/bad/org+example+bad+v1_schema.avsc"
run --schemas "$SCRATCH/bad" events list
expect_error 2 "--schemas" "org+example+bad+v1_schema.avsc"

finish
