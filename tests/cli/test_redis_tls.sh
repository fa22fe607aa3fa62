#!/usr/bin/env bash
# tests/cli/test_redis_tls.sh EDXBUS — the command over rediss:// against TLS-only redis-servers
# of the test's own (`--port 0 --tls-port P`), with certificates made here by `openssl`:
#   1. produce 20 events (pipelined) and one synchronously, consume them back, tail them, lag:
#      the CA given as the URL's ssl_ca_certs (a redis-py URL, pasted as it is);
#   2. the wrong CA: refused, exit 1, one line naming the server and the fix;
#   3. ssl_cert_reqs=none: works, and says once on stderr that verification is off;
#   4. a server with --tls-auth-clients yes: refused without a client certificate (the line
#      says which settings to set), accepted with EVENT_BUS_REDIS_TLS_CERT_FILE/KEY_FILE;
#   5. `config check`: an unreadable certificate file named with the fix;
#   6. produce, consume and tail with an unreadable CA file: exit 2, one line, nothing sent.
# Only processes this script started are signalled, by pid; waits are bounded.
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/reliability_lib.sh" "$@"
source "$HERE/redis_server_lib.sh"
redis_require
command -v openssl >/dev/null || { echo "*** SKIP: no openssl command (make deps)" >&2; exit 77; }
unset EVENT_BUS_PRODUCER EVENT_BUS_CONSUMER EVENT_BUS_SQLITE_PATH EVENT_BUS_REDIS_CONNECTION_URL

# --- certificates: a CA, a server certificate for localhost, a client certificate, another CA
(
    cd "$tmp" && K=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes) &&
        openssl req -x509 "${K[@]}" -keyout ca.key -out ca.pem -days 2 -subj /CN=test-ca &&
        openssl req -x509 "${K[@]}" -keyout other.key -out other.pem -days 2 -subj /CN=other &&
        printf 'subjectAltName=DNS:localhost\n' >san.ext &&
        openssl req "${K[@]}" -keyout server.key -out server.csr -subj /CN=localhost &&
        openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
            -out server.pem -days 2 -extfile san.ext &&
        openssl req "${K[@]}" -keyout client.key -out client.csr -subj /CN=client &&
        openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
            -out client.pem -days 2
) >"$tmp/openssl.log" 2>&1 || { echo "FAIL: openssl: $(tail -n 3 "$tmp/openssl.log")" >&2; exit 1; }

# tls_start AUTH_CLIENTS: a TLS-only server; sets $tport and $tpid.
tls_start() {
    local attempt dir="$tmp/r$1"
    mkdir -p "$dir"
    for attempt in 1 2 3 4 5; do
        tport=$((20000 + RANDOM % 12000))
        (exec 3<>"/dev/tcp/127.0.0.1/$tport") 2>/dev/null && continue
        "$redis_server" --port 0 --tls-port "$tport" --bind 127.0.0.1 --save '' --dir "$dir" \
            --tls-cert-file "$tmp/server.pem" --tls-key-file "$tmp/server.key" \
            --tls-ca-cert-file "$tmp/ca.pem" --tls-auth-clients "$1" \
            --logfile "$dir/redis.log" --daemonize no &
        tpid=$!
        pids+=("$tpid")
        local deadline=$((SECONDS + 30))
        while kill -0 "$tpid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do
            (exec 3<>"/dev/tcp/127.0.0.1/$tport") 2>/dev/null && return 0
            sleep 0.05
        done
        kill -KILL "$tpid" 2>/dev/null
        wait "$tpid" 2>/dev/null
    done
    return 1
}

tls_start no || { echo "FAIL: cannot start a TLS redis-server" >&2; exit 1; }
port1=$tport
url="rediss://localhost:$port1/0?ssl_ca_certs=$tmp/ca.pem"
export EVENT_BUS_PRODUCER=redis EVENT_BUS_REDIS_AUDIT_LOGGING_ENABLED=false

# --- 1. produce, consume, tail, lag over TLS ---------------------------------------------------
EVENT_BUS_REDIS_CONNECTION_URL=$url "$EDXBUS" produce -e "$TYPE" -t t1 -d "$DATA" --count 20 \
    --print-ids >"$tmp/ids" 2>"$tmp/p.err" &&
    EVENT_BUS_REDIS_CONNECTION_URL=$url "$EDXBUS" produce -e "$TYPE" -t t1 -d "$DATA" \
        --print-ids >>"$tmp/ids" 2>>"$tmp/p.err" ||
    fail "1: produce: $(cat "$tmp/p.err")"
[ "$(lines "$tmp/ids")" = 21 ] && ok "1: 21 events produced over TLS" ||
    fail "1: $(lines "$tmp/ids") ids printed, not 21"
EVENT_BUS_REDIS_CONNECTION_URL=$url timeout 60 "$EDXBUS" consume -t t1 -g g1 \
    --extra '{"start": "earliest"}' -n 21 >"$tmp/c.out" 2>"$tmp/c.err" ||
    fail "1: consume: exit $?: $(tail -n 2 "$tmp/c.err")"
got=$(grep -o '"id": "[^"]*"' "$tmp/c.out" | cut -d'"' -f4 | sort)
[ -n "$got" ] && [ "$got" = "$(sort "$tmp/ids")" ] &&
    ok "1: consumed exactly the 21 produced events back" ||
    fail "1: consumed ids differ: $(diff <(echo "$got") <(sort "$tmp/ids") | head -n 3)"
EVENT_BUS_REDIS_CONNECTION_URL=$url timeout 60 "$EDXBUS" tail t1 --from earliest -n 21 \
    --timeout 20 >"$tmp/t.out" 2>"$tmp/t.err"
[ "$(lines "$tmp/t.out")" = 21 ] && ok "1: tail reads them over TLS" ||
    fail "1: tail printed $(lines "$tmp/t.out") lines: $(tail -n 2 "$tmp/t.err")"
EVENT_BUS_REDIS_CONNECTION_URL=$url "$EDXBUS" lag -g g1 t1 -j >"$tmp/lag" 2>"$tmp/lag.err" &&
    grep -q '"undelivered": 0' "$tmp/lag" && ok "1: lag over TLS: nothing owed" ||
    fail "1: lag: $(cat "$tmp/lag" "$tmp/lag.err")"

# --- 2. the wrong CA -------------------------------------------------------------------------
EVENT_BUS_REDIS_CONNECTION_URL="rediss://localhost:$tport/0?ssl_ca_certs=$tmp/other.pem" \
    "$EDXBUS" produce -e "$TYPE" -t t1 -d "$DATA" >"$tmp/w.out" 2>"$tmp/w.err"
rc=$?
[ $rc = 1 ] && [ "$(lines "$tmp/w.err")" = 1 ] && [ ! -s "$tmp/w.out" ] &&
    grep -q "rediss://localhost:$tport/.*certificate not trusted: set EVENT_BUS_REDIS_TLS_CA_FILE" \
        "$tmp/w.err" && ok "2: the wrong CA is refused in one line: $(cat "$tmp/w.err")" ||
    fail "2: exit $rc: $(cat "$tmp/w.err")"

# --- 3. verification off: works, and warns once (produce shows no log line from opening the
# bus, so the warning is checked on tail, which shows them) ---------------------------------------
nurl="rediss://127.0.0.1:$tport/0?ssl_cert_reqs=none"
EVENT_BUS_REDIS_CONNECTION_URL=$nurl "$EDXBUS" produce -e "$TYPE" -t t3 -d "$DATA" --count 5 \
    2>"$tmp/n.err" && ok "3: produce with ssl_cert_reqs=none works" ||
    fail "3: produce with ssl_cert_reqs=none: $(cat "$tmp/n.err")"
EVENT_BUS_REDIS_CONNECTION_URL=$nurl timeout 60 "$EDXBUS" tail t3 --from earliest -n 5 \
    --timeout 20 >"$tmp/n.out" 2>"$tmp/n.err"
[ "$(lines "$tmp/n.out")" = 5 ] && [ "$(grep -c 'verification is OFF' "$tmp/n.err")" = 1 ] &&
    ok "3: tail with ssl_cert_reqs=none works and warns once" ||
    fail "3: tail: $(lines "$tmp/n.out") lines; stderr: $(cat "$tmp/n.err")"

# --- 4. client certificates -------------------------------------------------------------------
tls_start yes || { echo "FAIL: cannot start a TLS redis-server asking for certificates" >&2; exit 1; }
murl="rediss://localhost:$tport/0?ssl_ca_certs=$tmp/ca.pem"
EVENT_BUS_REDIS_CONNECTION_URL=$murl "$EDXBUS" produce -e "$TYPE" -t t4 -d "$DATA" 2>"$tmp/m.err"
rc=$?
[ $rc = 1 ] && grep -q "requires a client certificate: set EVENT_BUS_REDIS_TLS_CERT_FILE" \
    "$tmp/m.err" && ok "4: without a client certificate: refused ($(cat "$tmp/m.err"))" ||
    fail "4: without a certificate: exit $rc: $(cat "$tmp/m.err")"
EVENT_BUS_REDIS_CONNECTION_URL=$murl EVENT_BUS_REDIS_TLS_CERT_FILE=$tmp/client.pem \
    EVENT_BUS_REDIS_TLS_KEY_FILE=$tmp/client.key "$EDXBUS" produce -e "$TYPE" -t t4 -d "$DATA" \
    2>"$tmp/m2.err" && ok "4: with the client certificate: accepted" ||
    fail "4: with the certificate: $(cat "$tmp/m2.err")"

# --- 5. config check names an unreadable file ----------------------------------------------------
EVENT_BUS_REDIS_CONNECTION_URL=$url EVENT_BUS_REDIS_TLS_CERT_FILE=$tmp/missing.pem \
    "$EDXBUS" config check >/dev/null 2>"$tmp/k.err"
grep -q "EVENT_BUS_REDIS_TLS_CERT_FILE: cannot read \"$tmp/missing.pem\"" "$tmp/k.err" &&
    ok "5: config check names the unreadable certificate file" ||
    fail "5: config check: $(cat "$tmp/k.err")"

# --- 6. settings that cannot work: exit 2, one line, nothing sent ---------------------------------
# bad_settings ARGS...: the command with an unreadable CA file (the setting: the URL names none).
bad_settings() {
    EVENT_BUS_REDIS_CONNECTION_URL="rediss://localhost:$port1/0" \
        EVENT_BUS_REDIS_TLS_CA_FILE=$tmp/missing-ca.pem timeout 60 "$EDXBUS" "$@" >"$tmp/s.out" 2>"$tmp/s.err"
    local rc=$?
    [ $rc = 2 ] && [ "$(lines "$tmp/s.err")" = 1 ] && [ ! -s "$tmp/s.out" ] &&
        grep -q "EVENT_BUS_REDIS_TLS_CA_FILE: cannot read \"$tmp/missing-ca.pem\"" "$tmp/s.err" &&
        ok "6: $1 with an unreadable CA file: exit 2, one line" ||
        fail "6: $1: exit $rc: $(cat "$tmp/s.err")"
}
bad_settings produce -e "$TYPE" -t t6 -d "$DATA"
bad_settings consume -t t6 -g g6 -n 1
bad_settings tail t6 -n 1 --timeout 1
[ "$(redis-cli --tls --cacert "$tmp/ca.pem" -h localhost -p "$port1" exists t6 2>&1)" = 0 ] &&
    ok "6: nothing was sent" || fail "6: stream t6: $(redis-cli --tls --cacert "$tmp/ca.pem" \
    -h localhost -p "$port1" exists t6 2>&1)"

[ $failures = 0 ] || exit 1
