# tests/integration/kafka/kafka_servers_lib.sh — what the shell tests of this folder share: the
# Kafka test servers (kafka_registry_main: librdkafka's mock cluster and the in-memory Schema
# Registry) as a process of the test's own, stopped by its pid at exit. Sourced after
# tests/cli/lib.sh (which gives $SCRATCH); not a test itself (no test_ prefix).
#
#   kafka_servers_start BIN [TOPIC:PARTITIONS...]   start them (topics created first); sets
#                        $REGISTRY and $BOOTSTRAP; exits 77 (skipped) when they cannot start
#   kafka_servers_stop   stop them now (the exit trap does it otherwise)

SERVER_PID=
kafka_servers_stop() {
  if [[ -n $SERVER_PID ]]; then
    kill "$SERVER_PID" 2>/dev/null
    wait "$SERVER_PID" 2>/dev/null
  fi
  SERVER_PID=
}
trap 'kafka_servers_stop; rm -rf "$SCRATCH"' EXIT

kafka_servers_start() {
  local bin=$1
  shift
  "$bin" "$@" >"$SCRATCH/servers" 2>"$SCRATCH/servers.err" &
  SERVER_PID=$!
  local rc
  for _ in $(seq 100); do
    [[ $(wc -l <"$SCRATCH/servers") -ge 2 ]] && break
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
      wait "$SERVER_PID"
      rc=$?
      SERVER_PID=
      if [[ $rc -eq 77 ]]; then
        echo "SKIP: the Kafka test servers cannot start: $(cat "$SCRATCH/servers.err")" >&2
        exit 77
      fi
      echo "FAIL: kafka_registry_main exited $rc: $(cat "$SCRATCH/servers.err")" >&2
      exit 1
    fi
    sleep 0.1
  done
  REGISTRY=$(sed -n 1p "$SCRATCH/servers")
  BOOTSTRAP=$(sed -n 2p "$SCRATCH/servers")
  [[ -n $BOOTSTRAP ]] || { echo "FAIL: no server addresses" >&2; exit 1; }
}
