# tests/cli/redis_server_lib.sh — a redis-server of the test's own, for the CLI tests that need
# one (sourced after reliability_lib.sh, which provides $tmp and the pids list; not a test
# itself). The server listens on a free loopback port and keeps its files in $tmp/redis; with
# REDIS_AOF=yes its data goes to an append-only file fsynced at every write, so a stopped and
# restarted server still holds what it acknowledged (else: no snapshots, no AOF); the array
# REDIS_EXTRA_ARGS (empty by default) is appended to its command line (later options win). Only
# its own pid is ever signalled.
#
#   redis_require        exit 77 (ctest: skipped) with a loud message without redis-server
#   redis_start          start it (again on the same port after redis_stop); sets $port and
#                        $redis_pid; false when it does not answer PING
#   redis_stop           SIGTERM it and wait for it to exit (Redis writes its files first)

redis_server=${EDXBUS_REDIS_SERVER:-$(command -v redis-server)}

redis_require() {
    if [ -z "$redis_server" ] || [ ! -x "$redis_server" ] || ! command -v redis-cli >/dev/null; then
        echo "" >&2
        echo "*** SKIP $(basename "$0"): redis-server/redis-cli not installed, so the CLI was" \
            "NOT tested against Redis." >&2
        echo "*** Install them with \`make deps\` (Debian package redis-server) or set" \
            "EDXBUS_REDIS_SERVER=/path/to/redis-server." >&2
        echo "" >&2
        exit 77
    fi
}

port=
redis_pid=
REDIS_EXTRA_ARGS=()

redis_start() {
    mkdir -p "$tmp/redis"
    local restart=${port:+yes} attempt
    for attempt in 1 2 3 4 5; do
        if [ -z "$restart" ]; then
            port=$((20000 + RANDOM % 12000)) # below the ephemeral ports
            # Something already listening there: try another port.
            (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && continue
        fi
        local aof=(--appendonly no)
        [ "${REDIS_AOF:-no}" = yes ] && aof=(--appendonly yes --appendfsync always)
        "$redis_server" --port "$port" --bind 127.0.0.1 --save '' "${aof[@]}" --dir "$tmp/redis" \
            --logfile "$tmp/redis/redis.log" --daemonize no "${REDIS_EXTRA_ARGS[@]}" &
        redis_pid=$!
        pids+=("$redis_pid")
        local deadline=$((SECONDS + 30))
        while kill -0 "$redis_pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do
            [ "$(redis-cli -p "$port" ping 2>/dev/null)" = PONG ] && return 0
            sleep 0.05
        done
        kill -KILL "$redis_pid" 2>/dev/null
        wait "$redis_pid" 2>/dev/null
        [ -z "$restart" ] || return 1 # a restart must get its port back
    done
    return 1
}

redis_stop() {
    kill -TERM "$redis_pid" 2>/dev/null
    wait "$redis_pid" 2>/dev/null
}
