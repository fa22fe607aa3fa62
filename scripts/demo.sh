#!/usr/bin/env bash
# scripts/demo.sh [BUILD_DIR] — the event bus end to end on the embedded broker, in a minute.
#
# In a temp dir: a YAML settings file routes three Open edX events (an enrollment, a certificate
# and a published XBlock) to topics under the prefix "demo"; one `edxbus consume` worker per
# topic starts in the background; `edxbus produce` sends real events through their signals;
# the workers print them decoded; then each worker gets SIGTERM (by its pid), finishes the event
# in hand and exits 0. `make demo` runs this after building.
set -euo pipefail

BUILD=${1:-build}
EDXBUS=$(cd "$BUILD" && pwd)/cli/edxbus
[ -x "$EDXBUS" ] || { echo "demo: $EDXBUS not found; build first (make build)" >&2; exit 1; }

tmp=$(mktemp -d /tmp/edxbus-demo-XXXXXX)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "Settings ($tmp/settings.yaml)"
cat >"$tmp/settings.yaml" <<EOF
# Paste-compatible with Tutor / devstack: the Django setting names.
EVENTS_SERVICE_NAME: lms
EVENT_BUS_PRODUCER: sqlite          # the embedded broker: one SQLite file, no server
EVENT_BUS_CONSUMER: sqlite
EVENT_BUS_SQLITE_PATH: $tmp/bus.db
EVENT_BUS_TOPIC_PREFIX: demo
EVENT_BUS_PRODUCER_CONFIG:
  org.openedx.learning.course.enrollment.created.v1:
    learning-course-enrollment-lifecycle:
      event_key_field: enrollment.course.course_key
      enabled: true
  org.openedx.learning.certificate.created.v1:
    learning-certificate-lifecycle:
      event_key_field: certificate.course.course_key
      enabled: true
  org.openedx.content_authoring.xblock.published.v1:
    content-authoring-xblock-lifecycle:
      event_key_field: xblock_info.usage_key
      enabled: true
EOF
cat "$tmp/settings.yaml"
export EDXBUS_CONFIG="$tmp/settings.yaml"
"$EDXBUS" config check >/dev/null

topics=(learning-course-enrollment-lifecycle learning-certificate-lifecycle
        content-authoring-xblock-lifecycle)

step "Starting one worker per topic (group demo-workers, from the earliest event)"
for t in "${topics[@]}"; do
    "$EDXBUS" consume -v -t "$t" -g demo-workers --extra '{"start": "earliest"}' \
        >"$tmp/$t.out" 2>"$tmp/$t.log" &
    pids+=($!)
    echo "  worker for demo-$t: pid $!"
done

step "Sending events through their signals (edxbus produce, routed by the settings)"
enrollment='{"enrollment": {"course": {"course_key": "course-v1:edX+DemoX+Demo_Course", "display_name": "Demonstration Course", "end": "2024-05-17T15:03:27.123456+00:00", "start": "2024-05-17T14:03:27.123456+00:00"}, "created_by": null, "creation_date": "2024-05-17T16:03:27.123456+00:00", "is_active": true, "mode": "verified", "user": {"id": 42, "is_active": true, "pii": {"email": "ada.lovelace@example.com", "name": "Ada Lovelace", "username": "ada_lovelace"}}}}'
certificate='{"certificate": {"course": {"course_key": "course-v1:edX+DemoX+Demo_Course", "display_name": "Demonstration Course", "end": null, "start": null}, "current_status": "downloadable", "download_url": "https://courses.example.com/certificates/42", "grade": "Pass", "mode": "verified", "name": "Ada Lovelace", "previous_status": "notpassing", "user": {"id": 42, "is_active": true, "pii": {"email": "ada.lovelace@example.com", "name": "Ada Lovelace", "username": "ada_lovelace"}}}}'
xblock='{"xblock_info": {"block_type": "problem", "usage_key": "block-v1:edX+DemoX+Demo_Course+type@problem+block@d2f0a1b5c6e34f1e9e8a7b6c5d4e3f2a", "version": null}}'

send() {
    local type=$1 data=$2 id
    id=$("$EDXBUS" produce -e "$type" -d "$data" --print-ids)
    echo "  $type  id=$id"
}
send org.openedx.learning.course.enrollment.created.v1 "$enrollment"
send org.openedx.learning.course.enrollment.created.v1 "${enrollment/ada_lovelace/grace_hopper}"
send org.openedx.learning.certificate.created.v1 "$certificate"
send org.openedx.content_authoring.xblock.published.v1 "$xblock"

step "A bad payload is refused before anything is sent"
"$EDXBUS" produce -e org.openedx.learning.certificate.created.v1 \
    -d '{"certificate": {"grade": "Pass"}}' || echo "  (exit status $?, nothing sent)"

step "Waiting for the workers to print the 4 events"
want=(2 1 1)
deadline=$((SECONDS + 30))
for i in "${!topics[@]}"; do
    f="$tmp/${topics[$i]}.out"
    while [ "$(wc -l <"$f")" -lt "${want[$i]}" ]; do
        if [ $SECONDS -ge $deadline ]; then
            echo "demo: timed out waiting for $f" >&2
            cat "$tmp/${topics[$i]}.log" >&2
            exit 1
        fi
        sleep 0.1
    done
done
for t in "${topics[@]}"; do
    echo "-- demo-$t (consume --print):"
    if command -v python3 >/dev/null; then
        python3 -c 'import json,sys
for line in sys.stdin:
    e = json.loads(line); m = e["metadata"]
    print("  %s  id=%s  source=%s\n  data: %s" % (m["event_type"], m["id"], m["source"], json.dumps(e["data"])[:150] + "..."))' <"$tmp/$t.out"
    else
        sed 's/^/  /' "$tmp/$t.out"
    fi
done

step "Lag of the group (nothing pending)"
"$EDXBUS" lag -t learning-course-enrollment-lifecycle -g demo-workers

step "Stopping the workers with SIGTERM"
for pid in "${pids[@]}"; do kill -TERM "$pid"; done
status=0
for pid in "${pids[@]}"; do
    if wait "$pid"; then echo "  pid $pid exited 0"; else echo "  pid $pid exited $?"; status=1; fi
done
pids=()
echo "-- one worker's log (consume -v: info lines; quiet by default):"
sed 's/^/  /' "$tmp/${topics[0]}.log"
exit $status
