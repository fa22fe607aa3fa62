#!/usr/bin/env bash
# tests/cli/test_bridge_http.sh EDXBUS — `edxbus bridge --to URL`: events of the embedded
# broker (a real SQLite file) POSTed as CloudEvents to a real HTTP server of the test's own
# (tests/cli/http_sink.py, python3):
#   1. an endpoint that answers 503 to the first three requests, then 200: every event arrives
#      once accepted (the accepted ce-ids are exactly the source's ids), with ce-specversion,
#      ce-id, ce-type, ce-source, ce-time and the Open edX extensions from the metadata,
#      content-type application/json, the data as the body, the bearer token from the settings
#      — and the token appears in no output;
#   2. an endpoint that always fails: after the retries the events are dead-lettered on the
#      source (`edxbus dlq list`) and the bridge exits 0;
#   3. a URL that is not http(s), one with a space, a token holding CR LF (a header injection),
#      basic auth without ':': exit 2, one line, no secret in it, nothing sent;
#   4. EVENT_BUS_BRIDGE_HTTP_CONTENT_MODE=structured: each body is one CloudEvent in JSON
#      (content-type application/cloudevents+json): specversion, the ids of the source, type,
#      source, time and the extensions from the metadata, datacontenttype, and "data" equal to
#      the event's data; no ce- header; an unknown mode: exit 2, one line, nothing sent;
#   5. EVENT_BUS_BRIDGE_HTTP_IN_FLIGHT=4 on 8 events of 8 keys: 4 requests reach the endpoint
#      together (it holds the first 4 until they are), never more; 1: one at a time, in order;
#      0, 257, "many": exit 2, one line, nothing sent; config check names 257;
#   6. 30 events of 3 keys, the first 5 requests refused (503), 8 in flight, the first 3 held
#      until they are in progress together: retried, every event accepted once, each key's
#      requests in the source's order while keys overlap;
#   7. a bridge SIGKILLed with 4 requests in flight at an endpoint that never answers, run
#      again against one that accepts: every event accepted (the 4 sent again).
# Only processes this script started are signalled, by pid; waits are bounded.
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/reliability_lib.sh" "$@"
if ! command -v python3 >/dev/null; then
    echo "*** SKIP $(basename "$0"): python3 is not installed, so the HTTP destination was NOT" \
        "tested. Install it with \`make deps\`." >&2
    exit 77
fi
export EVENT_BUS_PRODUCER=sqlite EVENT_BUS_CONSUMER=sqlite EVENT_BUS_SQLITE_PATH="$tmp/a.db"
export EVENT_BUS_CONSUMER_RETRY_BACKOFF_MS=10 EVENT_BUS_BRIDGE_HTTP_TOKEN=s3cret-t0ken
printf 'EVENTS_SERVICE_NAME: lms\n' >"$tmp/a.yaml" # the rest comes from the environment
MD='{"id": "0d1e2f3a-4b5c-11ee-8a6b-0242ac120002", "source": "openedx/cms/web", "sourcehost": "edx host%7", "time": "2024-05-01T10:00:00.123456+00:00"}'

# start_sink NAME FAIL_FIRST [HOLD]: an HTTP server (http_sink.py); its port in $sink_port, its
# log $tmp/NAME.log.
start_sink() {
    rm -f "$tmp/$1.port"
    python3 "$HERE/http_sink.py" "$tmp/$1.port" "$tmp/$1.log" "$2" "${3:-0}" 2>"$tmp/$1.err" &
    pids+=($!)
    wait_until 30 test -s "$tmp/$1.port" || { fail "$1: the HTTP server did not start"; return 1; }
    sink_port=$(cat "$tmp/$1.port")
}

# field LOG STATUS PYEXPR: one line per request answered STATUS, PYEXPR of the record r.
field() {
    python3 -c 'import json,sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["status"] == int(sys.argv[2]):
        print(eval(sys.argv[3]))' "$@"
}

# --- 1. 503 three times, then accepted ------------------------------------------------------
"$EDXBUS" produce -e "$TYPE" -t th -d "$DATA" --count 9 --print-ids >"$tmp/ids1" \
    2>"$tmp/p.err" && "$EDXBUS" produce -e "$TYPE" -t th -d "$DATA" -m "$MD" --print-ids \
    >>"$tmp/ids1" 2>>"$tmp/p.err" || fail "1: produce: $(cat "$tmp/p.err")"
start_sink s1 3
EVENT_BUS_CONSUMER_RETRIES=5 timeout 120 "$EDXBUS" bridge --from-config "$tmp/a.yaml" -t th -g h \
    --to "http://127.0.0.1:$sink_port/events" --extra '{"start": "earliest"}' -n 10 \
    >"$tmp/b1.out" 2>"$tmp/b1.err"
rc=$?
[ $rc -eq 0 ] && ok "1: the bridge exits 0" || fail "1: bridge exit $rc: $(cat "$tmp/b1.err")"
[ "$(field "$tmp/s1.log" 503 'r["headers"]["ce-id"]' | wc -l)" = 3 ] ||
    fail "1: $(field "$tmp/s1.log" 503 1 | wc -l) requests refused, not 3"
[ "$(field "$tmp/s1.log" 200 'r["headers"]["ce-id"]' | sort)" = "$(sort "$tmp/ids1")" ] &&
    ok "1: every event accepted exactly once (10 ce-ids = the source's ids)" ||
    fail "1: accepted ids differ from the source's"
[ "$(field "$tmp/s1.log" 200 'r["headers"]["ce-specversion"], r["headers"]["ce-type"], r["headers"]["content-type"], r["headers"]["authorization"]' | sort -u)" = \
    "('1.0', '$TYPE', 'application/json', 'Bearer s3cret-t0ken')" ] &&
    ok "1: ce-specversion, ce-type, content-type and the bearer token on every request" ||
    fail "1: headers: $(field "$tmp/s1.log" 200 'r["headers"]' | head -n 1)"
fixed=$(field "$tmp/s1.log" 200 '(r["headers"]["ce-source"], r["headers"]["ce-time"], r["headers"]["ce-sourcehost"], r["headers"]["ce-minorversion"], r["headers"]["ce-sourcelib"]) if r["headers"]["ce-id"].startswith("0d1e2f3a") else ""' | grep .)
[ "$fixed" = "('openedx/cms/web', '2024-05-01T10:00:00.123456+00:00', 'edx%20host%257', '0', '11.2.0')" ] &&
    ok "1: the metadata travels as ce- headers, percent-encoded" || fail "1: got $fixed"
"$EDXBUS" tail th --from earliest -n 1 --timeout 30 2>/dev/null |
    sed 's/^{"metadata": {[^}]*}, "data": //; s/}$//' >"$tmp/data1"
[ "$(field "$tmp/s1.log" 200 'r["body"]' | sort -u)" = "$(cat "$tmp/data1")" ] &&
    ok "1: the body is the event's data as JSON" ||
    fail "1: body $(field "$tmp/s1.log" 200 'r["body"]' | head -c 200)"
! grep -q s3cret "$tmp/b1.out" "$tmp/b1.err" && ok "1: the token is never printed" ||
    fail "1: the token was printed"

# --- 2. an endpoint that always fails: dead letters ---------------------------------------------
"$EDXBUS" produce -e "$TYPE" -t th2 -d "$DATA" --count 3 2>"$tmp/p.err" ||
    fail "2: produce: $(cat "$tmp/p.err")"
start_sink s2 -1
EVENT_BUS_CONSUMER_RETRIES=2 timeout 120 "$EDXBUS" bridge --from-config "$tmp/a.yaml" -t th2 -g h \
    --to "http://127.0.0.1:$sink_port/events" --extra '{"start": "earliest"}' -n 3 \
    >/dev/null 2>"$tmp/b2.err"
rc=$?
[ $rc -eq 0 ] && [ "$(field "$tmp/s2.log" 503 1 | wc -l)" = 6 ] &&
    ok "2: each event tried twice, the bridge exits 0" ||
    fail "2: exit $rc, $(field "$tmp/s2.log" 503 1 | wc -l) requests: $(tail -n 2 "$tmp/b2.err")"
[ "$("$EDXBUS" dlq list -t th2 2>/dev/null | grep -c 'HTTP 503')" = 3 ] &&
    ok "2: the 3 events are dead-lettered with the endpoint's answer" ||
    fail "2: dlq: $("$EDXBUS" dlq list -t th2 2>&1 | head -n 2)"
! grep -q s3cret "$tmp/b2.err" || fail "2: the token was printed"

# --- 3. bad input --------------------------------------------------------------------------------
"$EDXBUS" bridge --from-config "$tmp/a.yaml" -t th -g h --to ftp://x/y >/dev/null 2>"$tmp/e.err"
rc=$?
[ $rc -eq 2 ] && [ "$(lines "$tmp/e.err")" = 1 ] && ok "3: a URL that is not http(s) exits 2" ||
    fail "3: exit $rc: $(cat "$tmp/e.err")"
start_sink s3 0
"$EDXBUS" bridge --from-config "$tmp/a.yaml" -t th -g h3 --to "ftp://u:hunter2@h/x" \
    >/dev/null 2>"$tmp/e.err"
rc=$?
[ $rc -eq 2 ] && ! grep -q hunter2 "$tmp/e.err" && ok "3: a URL's password is never printed" ||
    fail "3: ftp URL: exit $rc: $(cat "$tmp/e.err")"
"$EDXBUS" bridge --from-config "$tmp/a.yaml" -t th -g h3 --to "http://u:hunter2@127.0.0.1:$sink_port/a b" \
    >/dev/null 2>"$tmp/e.err"
rc=$?
[ $rc -eq 2 ] && grep -qF "holds a space" "$tmp/e.err" && ! grep -q hunter2 "$tmp/e.err" &&
    [ ! -s "$tmp/s3.log" ] && ok "3: a URL with a space: exit 2, nothing sent" ||
    fail "3: space: exit $rc: $(cat "$tmp/e.err")"
crlf=$'\r\n'
for bad in "EVENT_BUS_BRIDGE_HTTP_TOKEN=s3cret${crlf}X-Evil: 1|EVENT_BUS_BRIDGE_HTTP_TOKEN: holds" \
    "EVENT_BUS_BRIDGE_HTTP_BASIC_AUTH=s3cretnocolon|expected user:password"; do
    EVENT_BUS_BRIDGE_HTTP_TOKEN= env "${bad%%|*}" "$EDXBUS" bridge --from-config "$tmp/a.yaml" \
        -t th -g h3 --to "http://127.0.0.1:$sink_port/e" >/dev/null 2>"$tmp/e.err"
    rc=$?
    [ $rc -eq 2 ] && [ "$(lines "$tmp/e.err")" = 1 ] && grep -qF "${bad#*|}" "$tmp/e.err" &&
        ! grep -q s3cret "$tmp/e.err" && [ ! -s "$tmp/s3.log" ] &&
        ok "3: ${bad#*|}: exit 2, one line, the secret not shown, nothing sent" ||
        fail "3: ${bad%%=*}: exit $rc: $(cat "$tmp/e.err")"
done

# --- 4. the structured content mode -------------------------------------------------------------
start_sink s4 0
EVENT_BUS_BRIDGE_HTTP_CONTENT_MODE=structured timeout 120 "$EDXBUS" bridge \
    --from-config "$tmp/a.yaml" -t th -g h4 --to "http://127.0.0.1:$sink_port/events" \
    --extra '{"start": "earliest"}' -n 10 >/dev/null 2>"$tmp/b4.err" ||
    fail "4: bridge exit $?: $(cat "$tmp/b4.err")"
[ "$(field "$tmp/s4.log" 200 'json.loads(r["body"])["id"]' | sort)" = "$(sort "$tmp/ids1")" ] &&
    ok "4: every event once, its id in the body" || fail "4: ids differ: $(head -c 300 "$tmp/s4.log")"
[ "$(field "$tmp/s4.log" 200 'r["headers"]["content-type"], sorted(k for k in r["headers"] if k.startswith("ce-")), r["headers"]["authorization"]' | sort -u)" = \
    "('application/cloudevents+json; charset=utf-8', [], 'Bearer s3cret-t0ken')" ] &&
    ok "4: content-type application/cloudevents+json, no ce- header" ||
    fail "4: headers: $(field "$tmp/s4.log" 200 'r["headers"]' | head -n 1)"
fixed=$(field "$tmp/s4.log" 200 'sorted((k, v) for k, v in json.loads(r["body"]).items() if k != "data") if json.loads(r["body"])["id"].startswith("0d1e2f3a") else ""' | grep .)
[ "$fixed" = "[('datacontenttype', 'application/json'), ('id', '0d1e2f3a-4b5c-11ee-8a6b-0242ac120002'), ('minorversion', 0), ('source', 'openedx/cms/web'), ('sourcehost', 'edx host%7'), ('sourcelib', '11.2.0'), ('specversion', '1.0'), ('time', '2024-05-01T10:00:00.123456+00:00'), ('type', '$TYPE')]" ] &&
    ok "4: the attributes come from the metadata, as they are" || fail "4: got $fixed"
[ "$(field "$tmp/s4.log" 200 'json.dumps(json.loads(r["body"])["data"], sort_keys=True)' | sort -u)" = \
    "$(python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1])), sort_keys=True))' "$tmp/data1")" ] &&
    ok "4: data is the event's data" || fail "4: data: $(head -c 300 "$tmp/s4.log")"
EVENT_BUS_BRIDGE_HTTP_CONTENT_MODE=structurd "$EDXBUS" bridge --from-config "$tmp/a.yaml" -t th \
    -g h5 --to "http://127.0.0.1:$sink_port/events" >/dev/null 2>"$tmp/e.err"
rc=$?
[ $rc -eq 2 ] && [ "$(lines "$tmp/e.err")" = 1 ] && grep -q 'EVENT_BUS_BRIDGE_HTTP_CONTENT_MODE' "$tmp/e.err" &&
    [ "$(wc -l <"$tmp/s4.log")" = 10 ] && ok "4: an unknown mode: exit 2, one line, nothing sent" ||
    fail "4: bad mode: exit $rc: $(cat "$tmp/e.err")"

# --- 5. several requests in flight --------------------------------------------------------------
# keyed_data FILE N K: N events, event i keyed (course_key) "course-v1:edX+K<i % K>+2024".
keyed_data() {
    python3 -c 'import json,sys
d = json.loads(sys.argv[1])
for i in range(int(sys.argv[3])):
    d["enrollment"]["course"]["course_key"] = "course-v1:edX+K%d+2024" % (i % int(sys.argv[4]))
    print(json.dumps(d))' "$DATA" "$1" "$2" "$3" >"$1"
}
# key_of: the course key of a logged body (binary mode: the data itself).
KEY='json.loads(r["body"])["enrollment"]["course"]["course_key"]'
keyed_data "$tmp/d5" 8 8
"$EDXBUS" produce -e "$TYPE" -t th5 -d @"$tmp/d5" --print-ids >"$tmp/ids5" 2>"$tmp/p.err" ||
    fail "5: produce: $(cat "$tmp/p.err")"
# The first 4 requests are held until 4 are in progress together: only a bridge that sends
# them at once gets past that (one at a time would wait out the sink's 60 s bound).
start_sink s5 0 4
EVENT_BUS_BRIDGE_HTTP_IN_FLIGHT=4 timeout 120 "$EDXBUS" bridge --from-config "$tmp/a.yaml" \
    -t th5 -g h --to "http://127.0.0.1:$sink_port/events" --extra '{"start": "earliest"}' -n 8 \
    >/dev/null 2>"$tmp/b5.err" || fail "5: bridge exit $?: $(cat "$tmp/b5.err")"
[ "$(field "$tmp/s5.log" 200 'r["inside"]' | sort -n | tail -n 1)" = 4 ] &&
    ok "5: 4 requests in flight together, never more (EVENT_BUS_BRIDGE_HTTP_IN_FLIGHT=4)" ||
    fail "5: most in flight together: $(field "$tmp/s5.log" 200 'r["inside"]' | sort -n | tail -n 1)"
[ "$(field "$tmp/s5.log" 200 'r["headers"]["ce-id"]' | sort)" = "$(sort "$tmp/ids5")" ] &&
    ok "5: the 8 events accepted once each" || fail "5: accepted ids differ from the source's"
start_sink s5b 0
EVENT_BUS_BRIDGE_HTTP_IN_FLIGHT=1 timeout 120 "$EDXBUS" bridge --from-config "$tmp/a.yaml" \
    -t th5 -g h1 --to "http://127.0.0.1:$sink_port/events" --extra '{"start": "earliest"}' -n 8 \
    >/dev/null 2>"$tmp/b5b.err" || fail "5: bridge exit $?: $(cat "$tmp/b5b.err")"
[ "$(field "$tmp/s5b.log" 200 'r["inside"]' | sort -u)" = 1 ] &&
    [ "$(field "$tmp/s5b.log" 200 'r["headers"]["ce-id"]')" = "$(cat "$tmp/ids5")" ] &&
    ok "5: EVENT_BUS_BRIDGE_HTTP_IN_FLIGHT=1: one at a time, in the source's order" ||
    fail "5: in flight 1: $(field "$tmp/s5b.log" 200 'r["inside"]' | sort -u | tr '\n' ' ')"
for bad in 0 257 many; do
    EVENT_BUS_BRIDGE_HTTP_IN_FLIGHT=$bad "$EDXBUS" bridge --from-config "$tmp/a.yaml" -t th5 \
        -g h5x --to "http://127.0.0.1:$sink_port/events" >/dev/null 2>"$tmp/e.err"
    rc=$?
    [ $rc -eq 2 ] && [ "$(lines "$tmp/e.err")" = 1 ] &&
        grep -q "EVENT_BUS_BRIDGE_HTTP_IN_FLIGHT" "$tmp/e.err" && [ "$(wc -l <"$tmp/s5b.log")" = 8 ] &&
        ok "5: EVENT_BUS_BRIDGE_HTTP_IN_FLIGHT=$bad: exit 2, one line, nothing sent" ||
        fail "5: in flight $bad: exit $rc: $(cat "$tmp/e.err")"
done
EVENT_BUS_BRIDGE_HTTP_IN_FLIGHT=257 "$EDXBUS" config check >/dev/null 2>"$tmp/e.err"
[ $? -ne 0 ] && grep -q "EVENT_BUS_BRIDGE_HTTP_IN_FLIGHT: 257" "$tmp/e.err" &&
    ok "5: config check names EVENT_BUS_BRIDGE_HTTP_IN_FLIGHT=257" || fail "5: config check: $(cat "$tmp/e.err")"

# --- 6. failures with several in flight: retried, nothing lost, the order of each key kept ------
keyed_data "$tmp/d6" 30 3
"$EDXBUS" produce -e "$TYPE" -t th6 -d @"$tmp/d6" --print-ids >"$tmp/ids6" 2>"$tmp/p.err" ||
    fail "6: produce: $(cat "$tmp/p.err")"
start_sink s6 5 3 # the first 3 (one per key) held until they are in progress together
EVENT_BUS_CONSUMER_RETRIES=5 EVENT_BUS_CONSUMER_BATCH_SIZE=16 timeout 120 "$EDXBUS" bridge \
    --from-config "$tmp/a.yaml" -t th6 -g h --to "http://127.0.0.1:$sink_port/events" \
    --extra '{"start": "earliest"}' -n 30 >/dev/null 2>"$tmp/b6.err" ||
    fail "6: bridge exit $?: $(cat "$tmp/b6.err")"
[ "$(field "$tmp/s6.log" 503 1 | wc -l)" = 5 ] && grep -q "retrying in" "$tmp/b6.err" &&
    [ "$(field "$tmp/s6.log" 200 'r["headers"]["ce-id"]' | sort)" = "$(sort "$tmp/ids6")" ] &&
    ok "6: 5 requests refused and retried; all 30 events accepted once each" ||
    fail "6: $(field "$tmp/s6.log" 503 1 | wc -l) refused; accepted ids differ from the source's"
# Per key: every request (refused or accepted) in the order the source holds the events, a
# retry right after its refusal: no event of a key overtakes an earlier one.
order_ok=yes
for k in 0 1 2; do
    want=$(paste -d ' ' <(python3 -c 'import json,sys
for line in open(sys.argv[1]):
    print(json.loads(line)["enrollment"]["course"]["course_key"])' "$tmp/d6") "$tmp/ids6" |
        awk -v k="course-v1:edX+K$k+2024" '$1 == k { print $2 }')
    got=$(python3 -c 'import json,sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if json.loads(r["body"])["enrollment"]["course"]["course_key"] == sys.argv[2]:
        print(r["headers"]["ce-id"])' "$tmp/s6.log" "course-v1:edX+K$k+2024" | uniq)
    [ "$want" = "$got" ] || order_ok=no
done
[ "$order_ok" = yes ] && [ "$(field "$tmp/s6.log" 503 'r["inside"]' | sort -n | tail -n 1)" = 3 ] &&
    ok "6: each key's events reached the endpoint in the source's order, others alongside" ||
    fail "6: a key's order was not kept (or nothing was in flight together)"

# --- 7. killed with requests in flight: sent again, nothing lost --------------------------------
keyed_data "$tmp/d7" 10 10
"$EDXBUS" produce -e "$TYPE" -t th7 -d @"$tmp/d7" --print-ids >"$tmp/ids7" 2>"$tmp/p.err" ||
    fail "7: produce: $(cat "$tmp/p.err")"
start_sink s7 -2 # takes requests and never answers
EVENT_BUS_BRIDGE_HTTP_IN_FLIGHT=4 EVENT_BUS_BRIDGE_HTTP_TIMEOUT=600 "$EDXBUS" bridge \
    --from-config "$tmp/a.yaml" -t th7 -g h \
    --to "http://127.0.0.1:$sink_port/events" --extra '{"start": "earliest"}' -n 10 \
    >/dev/null 2>"$tmp/b7.err" &
bridge=$!
pids+=("$bridge")
sent_at_least() { [ "$(cat "$tmp/s7.log" 2>/dev/null | wc -l)" -ge "$1" ]; }
wait_until 60 sent_at_least 4 ||
    fail "7: the bridge did not send 4 requests: $(cat "$tmp/b7.err")"
kill -KILL "$bridge"
wait "$bridge" 2>/dev/null
[ "$(wc -l <"$tmp/s7.log")" = 4 ] && ok "7: killed with 4 requests in flight (none answered)" ||
    fail "7: $(wc -l <"$tmp/s7.log") requests reached the hanging endpoint, not 4"
start_sink s7b 0
EVENT_BUS_BRIDGE_HTTP_IN_FLIGHT=4 timeout 120 "$EDXBUS" bridge --from-config "$tmp/a.yaml" \
    -t th7 -g h --to "http://127.0.0.1:$sink_port/events" -n 10 >/dev/null 2>"$tmp/b7b.err" ||
    fail "7: bridge again: exit $?: $(cat "$tmp/b7b.err")"
[ "$(field "$tmp/s7b.log" 200 'r["headers"]["ce-id"]' | sort)" = "$(sort "$tmp/ids7")" ] &&
    ok "7: run again, every event accepted once (the 4 in flight sent again)" ||
    fail "7: accepted after the restart: $(field "$tmp/s7b.log" 200 'r["headers"]["ce-id"]' | wc -l) of 10"

[ -n "${KEEP:-}" ] && cp -r "$tmp" "$KEEP"
[ $failures -eq 0 ] || exit 1
echo "all HTTP bridge scenarios passed"
