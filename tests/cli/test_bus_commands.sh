#!/usr/bin/env bash
# tests/cli/test_bus_commands.sh EDXBUS — produce, consume, config, dlq and lag: --help, exit
# codes (2 usage/bad input, 1 failure), one-line errors, the --print line, dead letters through
# --exec, replay once. Runs on a fresh embedded broker in the scratch directory.
source "$(dirname "$0")/lib.sh" "$@"

export EVENT_BUS_SQLITE_PATH="$SCRATCH/bus.db"
export EVENT_BUS_CONSUMER_RETRY_BACKOFF_MS=1
export EVENT_BUS_AUDIT_LOGGING_ENABLED=false
unset EDXBUS_CONFIG EVENT_BUS_TOPIC_PREFIX EVENT_BUS_PRODUCER_CONFIG

TYPE=org.openedx.content_authoring.xblock.published.v1
DATA='{"xblock_info": {"block_type": "problem", "usage_key": "block-v1:edX+DemoX+Demo_Course+type@problem+block@d2", "version": null}}'

for c in produce consume "config check" "dlq list" "dlq replay" lag; do
  run $c --help
  expect_ok
  expect_grep "Usage: edxbus $c"
done

# The --extra keys come from each backend's module (its extra_options), for every command that
# takes --extra.
for c in consume bridge; do
  run $c --help
  expect_ok
  expect_grep "^  redis  *consumer_name, last_read_msg_id, check_backlog, claim_msgs_older_than$"
  expect_grep "^  sqlite  *claim_msgs_older_than$"
  expect_grep "^  every backend  *start, offset_time, check_backlog, last_read_msg_id$"
done
run produce --help
grep -q "extra keys" "$OUT" && fail "produce takes no --extra, yet its help lists the keys"

# Usage errors: exit 2, one line.
run produce --topic t --data "$DATA"
expect_error 2 "produce" "--event-type"
run produce -e org.openedx.nope.v1 -t t -d "$DATA"
expect_error 2 "unknown event type"
run produce -e $TYPE -t t -d '{"xblock_info": {"block_type": 1}}'
expect_error 2 "xblock_info"
run produce -e $TYPE -t t -d '{not json'
expect_error 2 "--data"
run produce -e $TYPE -t t -d "$DATA" --count many
expect_error 2 "--count"
run produce -e $TYPE -d "$DATA"
expect_error 2 "EVENT_BUS_PRODUCER_CONFIG"
run consume -t t
expect_error 2 "GROUP"
run consume -t t -g g --extra '[1]'
expect_error 2 "--extra"
run consume -t t -g g --offset-time yesterday
expect_error 2 "offset_time"
run lag t
expect_error 2 "GROUP"

# Settings that cannot work are bad input too: exit 2 (a broker that fails us: exit 1).
run produce -e $TYPE -t t -d "$DATA" --config "$SCRATCH/missing.yaml"
expect_error 2 "missing.yaml"
EVENT_BUS_PRODUCER=redsi run produce -e $TYPE -t t -d "$DATA"
expect_error 2 "EVENT_BUS_PRODUCER"
EVENT_BUS_PRODUCER=redis EVENT_BUS_REDIS_CONNECTION_URL=redis://127.0.0.1:1/0 \
  run produce -e $TYPE -t t -d "$DATA"
expect_error 1 "127.0.0.1:1"

# produce -> consume --print: the line carries the metadata and the data.
run produce -e $TYPE -t blocks -d "$DATA" --count 3 --print-ids \
  --metadata '{"source": "openedx/cms/web"}'
expect_ok
expect_lines 3
cp "$OUT" "$SCRATCH/ids"
run consume -t blocks -g printer --extra '{"start": "earliest"}' --max-events 3
check
[[ $RC -eq 0 ]] || fail "consume exit $RC"
expect_lines 3
expect_grep '^\{"metadata": \{"event_type": "'$TYPE'", "id": "[0-9a-f-]*", "minorversion": 0, "source": "openedx/cms/web", "sourcehost": "[^"]*", "time": "[^"]*", "sourcelib": \[11, 2, 0\]\}, "data": \{"xblock_info": \{"usage_key": "block-v1:edX\+DemoX\+Demo_Course\+type@problem\+block@d2", "block_type": "problem", "version": null\}\}\}$'
check
diff <(sed 's/.*"id": "\([^"]*\)".*/\1/' "$OUT" | sort) <(sort "$SCRATCH/ids") >/dev/null ||
  fail "consumed ids differ from produced ids"

# --count N of one event without --metadata: encoded once, sent N times, each with its own id.
run produce -e $TYPE -t repeated -d "$DATA" --count 3 --print-ids
expect_ok
expect_lines 3
[[ $(sort -u "$OUT" | wc -l) -eq 3 ]] || fail "--count 3 gave repeated ids"
cp "$OUT" "$SCRATCH/ids3"
run consume -t repeated -g printer --extra '{"start": "earliest"}' --max-events 3
check
[[ $RC -eq 0 ]] || fail "consume exit $RC"
expect_lines 3
expect_grep '"source": "openedx/[^"]*/web".*"data": \{"xblock_info": \{"usage_key": "block-v1:edX\+DemoX\+Demo_Course\+type@problem\+block@d2", "block_type": "problem", "version": null\}\}\}$'
check
[[ $(grep -c '"data": {"xblock_info"' "$OUT") -eq 3 ]] || fail "not every repeated event has the data"
diff <(sed 's/.*"id": "\([^"]*\)".*/\1/' "$OUT" | sort) <(sort "$SCRATCH/ids3") >/dev/null ||
  fail "consumed ids differ from produced ids"

# --exec failing: retried, dead-lettered, acked; dlq list shows them; replay once.
run consume -t blocks -g failing --extra '{"start": "earliest"}' --max-events 3 \
  --exec 'cat >/dev/null; exit 3'
check
[[ $RC -eq 0 ]] || fail "consume --exec exit $RC"
check
grep -q "dead-lettered" "$ERR" || fail "no dead-letter line on stderr"
run dlq list blocks
check
[[ $RC -eq 0 ]] || fail "dlq list exit $RC"
expect_lines 3
expect_grep '"original_topic": "blocks"'
expect_grep '"attempts": "3"'
run dlq replay blocks -g other-group
expect_ok
expect_stdout "read 3 dead letter(s): replayed 0, skipped 3"
run dlq replay blocks -g failing
expect_ok
expect_stdout "read 3 dead letter(s): replayed 3, skipped 0"
run dlq replay blocks
expect_ok
expect_stdout "read 0 dead letter(s): replayed 0, skipped 0"

# --exec succeeding gets the line on stdin.
run consume -t blocks -g exec-ok --extra '{"start": "earliest"}' --max-events 1 \
  --exec "cat >>$SCRATCH/exec.out"
check
grep -q '"xblock_info"' "$SCRATCH/exec.out" || fail "--exec got no event on stdin"

run lag -g printer blocks --json
expect_ok
expect_grep '"pending": 0'

# config list: the core's rows and each backend's own.
run config list
expect_ok
expect_grep 'EVENT_BUS_TOPIC_PREFIX'
expect_grep 'EVENT_BUS_REDIS_CONNECTION_URL .*(secret)'
expect_grep 'EVENT_BUS_KAFKA_BOOTSTRAP_SERVERS'
expect_grep 'EVENT_BUS_SQLITE_SYNCHRONOUS'

# config check: every problem at once (a bad value in the file does not hide the others), each
# as a command would meet it, and no secret in any form on either stream.
cat >"$SCRATCH/three.yaml" <<'YAML'
EVENT_BUS_CONSUMER_RETRIES: many
EVENT_BUS_PRODUCER: redis
EVENT_BUS_REDIS_CONNECTION_URL: "redis://:pw-in-userinfo@cache:6379/abc?password=pw-in-query"
EVENT_BUS_PRODUCER_CONFIG:
  org.openedx.learning.course.enrollment.created.v1:
    t1: {event_key_field: enrollment.created_by, enabled: true}
YAML
run config check --config "$SCRATCH/three.yaml"
check
[[ $RC -eq 1 ]] || fail "exit $RC, expected 1"
[[ ! -s "$OUT" ]] || fail "stdout not empty"
[[ $(wc -l <"$ERR") -eq 3 ]] || fail "$(wc -l <"$ERR") problems reported, expected 3"
grep -q 'three.yaml:1: EVENT_BUS_CONSUMER_RETRIES' "$ERR" || fail "the bad number is not reported"
grep -q 'EVENT_BUS_REDIS_CONNECTION_URL: .*bad db number' "$ERR" || fail "/abc is not reported"
grep -q 'event_key_field "enrollment.created_by" is nullable' "$ERR" ||
  fail "the nullable key field is not reported"
! grep -q 'pw-in' "$ERR" || fail "a password is shown: $(grep pw-in "$ERR")"
# Every secret form masked in the dump too: user-info, query parameter, secret settings and keys.
cat >"$SCRATCH/secrets.yaml" <<'YAML'
EVENT_BUS_REDIS_CONNECTION_URL: "redis://alice:pw-userinfo@cache:6379/0?password=pw-query&ssl_password=pw-sslkey"
EVENT_BUS_KAFKA_SCHEMA_REGISTRY_URL: "https://key:pw-registry@registry:8081"
EVENT_BUS_KAFKA_SCHEMA_REGISTRY_API_SECRET: pw-api-secret
EVENT_BUS_KAFKA_API_SECRET: pw-sasl
EVENT_BUS_KAFKA_CONFIG: {"sasl.password": "pw-kafka-config", "ssl.key.password": "pw-keypass"}
YAML
run config check --config "$SCRATCH/secrets.yaml"
expect_ok
expect_grep '"EVENT_BUS_REDIS_CONNECTION_URL": "redis://alice:\*+@cache:6379/0\?password=\*+&ssl_password=\*+"'
check
! grep -q 'pw-' "$OUT" || fail "a secret is shown: $(grep -o '"[^"]*pw-[^"]*"' "$OUT" | head -3)"

# config check: every error with its place, exit 1.
printf 'EVENT_BUS_CONSUMER_RETRIES: many\n' >"$SCRATCH/bad.yaml"
run config check --config "$SCRATCH/bad.yaml"
expect_error 1 "bad.yaml:1" "EVENT_BUS_CONSUMER_RETRIES"
printf 'EVENT_BUS_KAFKA_API_SECRET: hunter2\nEVENT_BUS_TOPIC_PREFIX: dev\n' >"$SCRATCH/ok.yaml"
run --config "$SCRATCH/ok.yaml" config check
expect_ok
expect_grep '"EVENT_BUS_TOPIC_PREFIX": "dev"'
check
! grep -q hunter2 "$OUT" || fail "a secret was printed"
# Unknown names are warnings, not errors (a Tutor settings file holds many unrelated ones):
# exit 0, the settings on stdout, and a warning with a suggestion for each EVENT_BUS_* typo on
# stderr; a name that is not ours stays quiet.
printf 'EVENT_BUS_TOPIC_PREFX: dev\nLMS_BASE: lms.example.com\n' >"$SCRATCH/typo.yaml"
run config check --config "$SCRATCH/typo.yaml"
check
[[ $RC -eq 0 ]] || fail "exit $RC, expected 0"
grep -q '"EVENT_BUS_TOPIC_PREFIX": null' "$OUT" || fail "no settings on stdout"
grep -q 'warning: .*typo.yaml:1: unknown setting "EVENT_BUS_TOPIC_PREFX"; did you mean EVENT_BUS_TOPIC_PREFIX?' \
  "$ERR" || fail "no warning on stderr: $(cat "$ERR")"
! grep -q LMS_BASE "$ERR" || fail "a setting that is not ours was warned about"

finish
