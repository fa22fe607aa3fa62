#!/usr/bin/env bash
# tests/cli/test_reliability.sh EDXBUS — delivery guarantees through the real command on the
# embedded broker: SIGKILL mid-stream with events arriving while down, a shared group, two
# groups, SIGTERM loses nothing, and what `lag` says meanwhile. The scenarios are in
# reliability_lib.sh, shared with test_reliability_redis.sh.
source "$(dirname "$0")/reliability_lib.sh" "$@"

export EVENT_BUS_SQLITE_PATH="$tmp/bus.db"
export EVENT_BUS_PRODUCER=sqlite EVENT_BUS_CONSUMER=sqlite
reliability_run
