/* src/backends/redis/redis.c — the Redis Streams backend: connection, lag, and its ops table.
 *
 * The wire is edx-event-bus-redis's (WIRE.md §3): one stream per full topic, one entry per
 * event holding the 8 fields type, id, source, time, minorversion, sourcehost, sourcelib,
 * event_data, written with `XADD <stream> MAXLEN ~ N *` and read through consumer groups.
 * Python producers and consumers share streams with this backend in both directions.
 *
 * This file owns the connection every handle uses (struct redis_conn): it parses the URL,
 * connects over TCP, TLS (rediss://) or a unix socket with connect/read/write timeouts (so a
 * silent server makes a call fail instead of hang), authenticates (password, or ACL user and
 * password), SELECTs the database, and reconnects with doubling backoff after the connection
 * breaks. A failed command drops the connection (its protocol state is unknown) and the next
 * call reconnects. Commands are formatted by hiredis; the transport (redis_io.c) is ours: it
 * writes with send(MSG_NOSIGNAL), so a server that went away cannot kill the process with
 * SIGPIPE, runs TLS with OpenSSL, and feeds hiredis's reply reader.
 * Errors fall into the classes the worker acts on: AUTH (NOAUTH, WRONGPASS, NOPERM: fatal, never
 * retried), IO and TIMEOUT (retriable), BROKER (other error replies). Passwords never reach a
 * message or a log line: both name the URL in its masked form.
 *
 * The rest lives next door: redis_producer.c, redis_consumer.c, redis_wire.c, redis_url.c,
 * redis_doctor.c (`edxbus doctor`, which reads lag rows from here). To
 * add a setting, read it in edxbus__redis_conn_open() (or the handle's open) and add its row to
 * src/bus/conf_table.c.
 */
#include <errno.h>
#include <openssl/ssl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "redis_int.h"

/* ------------------------------------------------------------------------------------------ */
/* Small helpers */

bool edxbus__redis_reply_is(const redisReply *reply, const char *code)
{
    size_t n = strlen(code);
    return reply != NULL && reply->type == REDIS_REPLY_ERROR && reply->len >= n &&
           memcmp(reply->str, code, n) == 0 && (reply->len == n || reply->str[n] == ' ');
}

edxbus_err_t edxbus__redis_reply_error(const redisReply *reply, const char *what, char *errstr,
                                       size_t errstr_size)
{
    static const char *const auth_codes[] = {"NOAUTH", "WRONGPASS", "NOPERM"};
    edxbus_err_t err = EDXBUS_ERR_BROKER;
    for (size_t i = 0; i < sizeof auth_codes / sizeof auth_codes[0]; i++)
        if (edxbus__redis_reply_is(reply, auth_codes[i]))
            err = EDXBUS_ERR_AUTH;
    /* Servers before 6.0 (and AUTH without a configured password) answer "ERR … password". */
    if (reply->len >= 4 && memcmp(reply->str, "ERR ", 4) == 0 &&
        (strstr(reply->str, "password") != NULL || strstr(reply->str, "AUTH") != NULL))
        err = EDXBUS_ERR_AUTH;
    edxbus_errf(errstr, errstr_size, "redis: %s: %.*s", what,
                (int)(reply->len > 160 ? 160 : reply->len), reply->str);
    return err;
}

void edxbus__redis_conn_drop(struct redis_conn *conn)
{
    edxbus__redis_io_close(&conn->io);
}

/* The message of a failed transport call (@p why from redis_io.c); drops the connection. */
static edxbus_err_t io_failed(struct redis_conn *conn, edxbus_err_t err, const char *what,
                              const char *why, char *errstr, size_t errstr_size)
{
    if (err == EDXBUS_ERR_TIMEOUT && strncmp(why, "did not answer", 14) == 0)
        edxbus_errf(errstr, errstr_size, "redis: %s: %s did not answer within %d ms", what,
                 conn->url.display, conn->cur_timeout_ms);
    else if (err == EDXBUS_ERR_TIMEOUT)
        edxbus_errf(errstr, errstr_size, "redis: %s: %s %s", what, conn->url.display, why);
    else
        edxbus_errf(errstr, errstr_size, "redis: %s: %s: %s", what, conn->url.display, why);
    edxbus__redis_conn_drop(conn);
    return err;
}

void edxbus__redis_conn_read_timeout(struct redis_conn *conn, int ms)
{
    if (ms <= 0)
        ms = conn->io_timeout_ms;
    if (!edxbus__redis_conn_up(conn) || ms == conn->cur_timeout_ms)
        return;
    edxbus__redis_io_set_timeout(&conn->io, ms);
    conn->cur_timeout_ms = ms;
}

edxbus_err_t edxbus__redis_conn_send(struct redis_conn *conn, const char *data, size_t len,
                                     const char *what, char *errstr, size_t errstr_size)
{
    char why[EDXBUS_ERRSTR_SIZE];
    edxbus_err_t err = edxbus__redis_io_write(&conn->io, data, len, why, sizeof why);
    return err == EDXBUS_OK ? EDXBUS_OK : io_failed(conn, err, what, why, errstr, errstr_size);
}

edxbus_err_t edxbus__redis_conn_reply(struct redis_conn *conn, redisReply **out, const char *what,
                                      char *errstr, size_t errstr_size)
{
    char why[EDXBUS_ERRSTR_SIZE];
    edxbus_err_t err = edxbus__redis_io_read_reply(&conn->io, out, why, sizeof why);
    return err == EDXBUS_OK ? EDXBUS_OK : io_failed(conn, err, what, why, errstr, errstr_size);
}

/* edxbus__redis_conn_reply() for a blocking read that a stop request may cut short: between
 * reads it waits on the socket and @p waker together. Woken first, the connection is dropped
 * (the server may still serve the command) and the read fails with EDXBUS_ERR_STATE. */
static edxbus_err_t reply_or_wake(struct redis_conn *conn, const edxbus_waker_t *waker,
                                  redisReply **out, const char *what, char *errstr,
                                  size_t errstr_size)
{
    char why[EDXBUS_ERRSTR_SIZE];
    for (;;) {
        edxbus_err_t err = edxbus__redis_io_get_reply(&conn->io, out, why, sizeof why);
        if (err == EDXBUS_OK && *out != NULL)
            return EDXBUS_OK;
        if (err == EDXBUS_OK) {
            enum edxbus_wait w = edxbus_waker_wait(waker, conn->io.fd, conn->cur_timeout_ms);
            if (w == EDXBUS_WAIT_WOKEN) {
                edxbus_errf(errstr, errstr_size, "redis: %s: stopped", what);
                edxbus__redis_conn_drop(conn);
                return EDXBUS_ERR_STATE;
            }
            if (w == EDXBUS_WAIT_TIMEOUT) {
                snprintf(why, sizeof why, "did not answer within %d ms", conn->cur_timeout_ms);
                err = EDXBUS_ERR_TIMEOUT;
            } else {
                err = edxbus__redis_io_read(&conn->io, false, why, sizeof why);
            }
        }
        if (err != EDXBUS_OK)
            return io_failed(conn, err, what, why, errstr, errstr_size);
    }
}

edxbus_err_t edxbus__redis_conn_command(struct redis_conn *conn, int argc, const char **argv,
                                        const size_t *lens, redisReply **out, const char *what,
                                        char *errstr, size_t errstr_size)
{
    *out = NULL;
    if (!edxbus__redis_conn_up(conn)) {
        edxbus_errf(errstr, errstr_size, "redis: %s: not connected to %s", what, conn->url.display);
        return EDXBUS_ERR_IO;
    }
    char *cmd = malloc(edxbus__redis_resp_size(argc, argv, lens));
    if (cmd == NULL) {
        edxbus_errf(errstr, errstr_size, "redis: %s: out of memory", what);
        return EDXBUS_ERR_NOMEM;
    }
    size_t len = edxbus__redis_resp_write(cmd, argc, argv, lens);
    const edxbus_waker_t *waker = conn->wake_next;
    conn->wake_next = NULL;
    edxbus_err_t err = edxbus__redis_conn_send(conn, cmd, len, what, errstr, errstr_size);
    free(cmd);
    if (err == EDXBUS_OK)
        err = waker != NULL ? reply_or_wake(conn, waker, out, what, errstr, errstr_size)
                            : edxbus__redis_conn_reply(conn, out, what, errstr, errstr_size);
    if (err != EDXBUS_OK)
        return err;
    if ((*out)->type == REDIS_REPLY_ERROR)
        return edxbus__redis_reply_error(*out, what, errstr, errstr_size);
    return EDXBUS_OK;
}

/* ------------------------------------------------------------------------------------------ */
/* Connecting */

/* One command during the handshake; error replies are classified, the reply freed. */
static edxbus_err_t handshake(struct redis_conn *conn, int argc, const char **argv,
                              const char *what, char *errstr, size_t errstr_size)
{
    redisReply *reply;
    edxbus_err_t err =
        edxbus__redis_conn_command(conn, argc, argv, NULL, &reply, what, errstr, errstr_size);
    freeReplyObject(reply);
    return err;
}

/* Connect and authenticate, each step within @p timeout_ms. */
static edxbus_err_t connect_once(struct redis_conn *conn, int timeout_ms, char *errstr,
                                 size_t errstr_size)
{
    const struct redis_url *url = &conn->url;
    char why[EDXBUS_ERRSTR_SIZE];
    edxbus_err_t cerr = edxbus__redis_io_connect(&conn->io, url, conn->tls, &conn->tls_opts,
                                                 timeout_ms, why, sizeof why);
    if (cerr != EDXBUS_OK) {
        edxbus_errf(errstr, errstr_size, "redis: cannot connect to %s: %s", url->display, why);
        return cerr;
    }
    conn->cur_timeout_ms = timeout_ms;

    edxbus_err_t err;
    if (url->password != NULL) {
        const char *argv[3] = {"AUTH", url->user, url->password};
        if (url->user == NULL)
            argv[1] = url->password;
        /* The message names the user, never the password. */
        char what[160];
        snprintf(what, sizeof what, "AUTH as %s%s%s at %s", url->user ? "user \"" : "default user",
                 url->user ? url->user : "", url->user ? "\"" : "", url->display);
        err = handshake(conn, url->user ? 3 : 2, argv, what, errstr, errstr_size);
    } else {
        /* Without a password, PING finds out now whether the server wants one (NOAUTH). */
        const char *argv[1] = {"PING"};
        err = handshake(conn, 1, argv, "PING", errstr, errstr_size);
    }
    if (err == EDXBUS_OK && url->db != 0) {
        char db[16];
        snprintf(db, sizeof db, "%d", url->db);
        const char *argv[2] = {"SELECT", db};
        err = handshake(conn, 2, argv, "SELECT", errstr, errstr_size);
    }
    if (err != EDXBUS_OK)
        edxbus__redis_conn_drop(conn);
    else
        edxbus__redis_conn_read_timeout(conn, conn->io_timeout_ms);
    return err;
}

edxbus_err_t edxbus__redis_conn_ensure_until(struct redis_conn *conn, int64_t deadline_ms,
                                             char *errstr, size_t errstr_size)
{
    if (edxbus__redis_conn_up(conn))
        return EDXBUS_OK;
    int64_t backoff = REDIS_BACKOFF_MS;
    edxbus_err_t err = EDXBUS_ERR_TIMEOUT;
    edxbus_errf(errstr, errstr_size, "redis: no time left to connect to %s", conn->url.display);
    for (int i = 0; i < REDIS_CONNECT_ATTEMPTS; i++) {
        int64_t left = deadline_ms - edxbus_clock_mono_ms();
        if (i > 0) {
            if (left <= backoff)
                break;
            edxbus_clock_sleep_ms(backoff);
            backoff *= 2;
            left = deadline_ms - edxbus_clock_mono_ms();
        }
        if (left <= 0)
            break;
        err = connect_once(conn, left < conn->io_timeout_ms ? (int)left : conn->io_timeout_ms,
                           errstr, errstr_size);
        if (err == EDXBUS_OK || !edxbus_err_is_retriable(err))
            break;
    }
    return err;
}

bool edxbus__redis_conn_idle_closed(struct redis_conn *conn)
{
    return edxbus__redis_io_idle_closed(&conn->io);
}

/* Up to @p attempts connects, doubling the backoff; @p say_retries logs each retry. */
static edxbus_err_t ensure(struct redis_conn *conn, int attempts, bool say_retries, char *errstr,
                           size_t errstr_size)
{
    if (edxbus__redis_conn_up(conn))
        return EDXBUS_OK;
    int64_t backoff = REDIS_BACKOFF_MS;
    edxbus_err_t err = EDXBUS_ERR_IO;
    for (int i = 0; i < attempts; i++) {
        if (i > 0) {
            if (say_retries)
                edxbus_conf_log(conn->conf, EDXBUS_LOG_WARNING, "%s; retrying in %lld ms", errstr,
                                (long long)backoff);
            edxbus_clock_sleep_ms(backoff);
            backoff *= 2;
        }
        err = connect_once(conn, conn->io_timeout_ms, errstr, errstr_size);
        if (err == EDXBUS_OK || !edxbus_err_is_retriable(err))
            break;
    }
    return err;
}

edxbus_err_t edxbus__redis_conn_ensure(struct redis_conn *conn, int attempts, char *errstr,
                                       size_t errstr_size)
{
    return ensure(conn, attempts, true, errstr, errstr_size);
}

/* The first problem of the TLS settings, for tls_setup(). */
static void first_problem(void *opaque, const char *line)
{
    char *out = opaque;
    if (out[0] == '\0')
        snprintf(out, EDXBUS_ERRSTR_SIZE, "%s", line);
}

/* Whether the warning about verification being off was logged (once per process). */
static atomic_bool verify_off_warned;

/* Check the TLS settings and make the context every connect of @p conn uses (rediss://).
 * Errors: EDXBUS_ERR_CONF. */
static edxbus_err_t tls_setup(struct redis_conn *conn, char *errstr, size_t errstr_size)
{
    char problem[EDXBUS_ERRSTR_SIZE] = "";
    if (edxbus__redis_tls_opts(conn->conf, &conn->url, &conn->tls_opts, first_problem,
                               problem) > 0) {
        edxbus_errf(errstr, errstr_size, "%s", problem);
        return EDXBUS_ERR_CONF;
    }
    if (!conn->url.tls)
        return EDXBUS_OK;
    conn->tls = edxbus__redis_tls_ctx(&conn->tls_opts, errstr, errstr_size);
    if (conn->tls == NULL)
        return EDXBUS_ERR_CONF;
    if (!conn->tls_opts.verify && !atomic_exchange(&verify_off_warned, true))
        edxbus_conf_log(conn->conf, EDXBUS_LOG_WARNING,
                        "redis: TLS certificate verification is OFF for %s (%s): the connection "
                        "is encrypted but the server is not authenticated, so anyone on the "
                        "network path can pose as it and read or change every event; give the "
                        "server's CA (%s) and verify instead",
                        conn->url.display, conn->tls_opts.verify_off_by,
                        REDIS_SETTING_TLS_CA_FILE);
    return EDXBUS_OK;
}

edxbus_err_t edxbus__redis_conn_open(struct redis_conn *conn, const edxbus_conf_t *conf,
                                     char *errstr, size_t errstr_size)
{
    return edxbus__redis_conn_open_tries(conn, conf, REDIS_CONNECT_ATTEMPTS, errstr, errstr_size);
}

edxbus_err_t edxbus__redis_conn_open_tries(struct redis_conn *conn, const edxbus_conf_t *conf,
                                           int attempts, char *errstr, size_t errstr_size)
{
    memset(conn, 0, sizeof *conn);
    conn->io.fd = -1;
    conn->conf = edxbus_conf_dup(conf);
    if (conn->conf == NULL) {
        edxbus_errf(errstr, errstr_size, "redis: out of memory");
        return EDXBUS_ERR_NOMEM;
    }
    double secs =
        edxbus_conf_get_double(conf, REDIS_SETTING_SOCKET_TIMEOUT, REDIS_DEFAULT_SOCKET_TIMEOUT);
    if (!(secs > 0) || secs > 86400)
        secs = REDIS_DEFAULT_SOCKET_TIMEOUT;
    conn->io_timeout_ms = (int)(secs * 1000);
    if (conn->io_timeout_ms < 1)
        conn->io_timeout_ms = 1;
    conn->audit = edxbus_conf_get_bool(conf, REDIS_SETTING_AUDIT, true);
    const char *text = edxbus_conf_get_str(conf, REDIS_SETTING_URL, REDIS_DEFAULT_URL);
    if (text == NULL || text[0] == '\0')
        text = REDIS_DEFAULT_URL;
    edxbus_err_t err = edxbus__redis_url_parse(text, &conn->url, errstr, errstr_size);
    if (err == EDXBUS_OK)
        err = tls_setup(conn, errstr, errstr_size);
    /* Opening: a failure is the caller's error, so the retries are not logged one by one. */
    if (err == EDXBUS_OK)
        err = ensure(conn, attempts, false, errstr, errstr_size);
    if (err != EDXBUS_OK)
        edxbus__redis_conn_close(conn);
    return err;
}

void edxbus__redis_conn_close(struct redis_conn *conn)
{
    edxbus__redis_conn_drop(conn);
    SSL_CTX_free(conn->tls);
    conn->tls = NULL;
    edxbus__redis_url_fini(&conn->url);
    edxbus_conf_destroy(conn->conf);
    conn->conf = NULL;
}

/* ------------------------------------------------------------------------------------------ */
/* lag(): XINFO GROUPS + XINFO CONSUMERS, without joining the group */

const redisReply *edxbus__redis_info_get(const redisReply *map, const char *key)
{
    if (map == NULL || map->type != REDIS_REPLY_ARRAY)
        return NULL;
    for (size_t i = 0; i + 1 < map->elements; i += 2) {
        const redisReply *k = map->element[i];
        if (k->type == REDIS_REPLY_STRING || k->type == REDIS_REPLY_STATUS)
            if (strlen(key) == k->len && memcmp(k->str, key, k->len) == 0)
                return map->element[i + 1];
    }
    return NULL;
}

static json_t *info_int(const redisReply *v)
{
    if (v == NULL)
        return json_null();
    if (v->type == REDIS_REPLY_INTEGER)
        return json_integer(v->integer);
    if (v->type == REDIS_REPLY_STRING)
        return json_integer(strtoll(v->str, NULL, 10));
    return json_null();
}

static json_t *lag_row(const char *group, const char *consumer, json_t *pending,
                       json_t *undelivered, json_t *idle, json_t *lost)
{
    return json_pack("{s:s, s:s?, s:n, s:o, s:o, s:o, s:o}", "group", group, "consumer",
                     consumer, "partition", "pending", pending, "undelivered", undelivered,
                     "idle_ms", idle, "lost", lost);
}

/* Entries trimmed from the stream before group @p info read them (Redis >= 7.0): the stream
 * dropped entries-added - length from its front, the group read entries-read of all ever
 * added (nil with last-delivered-id 0-0: it read none). When entries-read is known Redis's lag
 * still counts the lost entries, so they are taken off @p undelivered. JSON null (unknown)
 * without the counters. */
static json_t *lag_lost(const redisReply *stream, const redisReply *info, json_t **undelivered)
{
    const redisReply *added = edxbus__redis_info_get(stream, "entries-added");
    const redisReply *len = edxbus__redis_info_get(stream, "length");
    const redisReply *read = edxbus__redis_info_get(info, "entries-read");
    const redisReply *last = edxbus__redis_info_get(info, "last-delivered-id");
    if (added == NULL || len == NULL || read == NULL || added->type != REDIS_REPLY_INTEGER ||
        len->type != REDIS_REPLY_INTEGER)
        return json_null();
    bool counted = read->type == REDIS_REPLY_INTEGER;
    if (!counted && !(last != NULL && last->type == REDIS_REPLY_STRING &&
                      strcmp(last->str, "0-0") == 0))
        return json_null();
    long long lost = added->integer - len->integer - (counted ? read->integer : 0);
    if (lost <= 0)
        return json_integer(0);
    if (counted && json_is_integer(*undelivered)) {
        long long u = json_integer_value(*undelivered) - lost;
        json_decref(*undelivered);
        *undelivered = json_integer(u < 0 ? 0 : u);
    }
    return json_integer(lost);
}

edxbus_err_t edxbus__redis_lag_rows(struct redis_conn *conn, const char *topic, const char *group,
                                    json_t *rows, char *errstr, size_t errstr_size)
{
    char what[320];
    snprintf(what, sizeof what, "XINFO GROUPS on stream \"%s\"", topic);
    const char *argv[4] = {"XINFO", "GROUPS", topic, group};
    redisReply *groups = NULL, *consumers = NULL, *stream = NULL;
    edxbus_err_t err =
        edxbus__redis_conn_command(conn, 3, argv, NULL, &groups, what, errstr, errstr_size);
    if (err == EDXBUS_ERR_BROKER && groups != NULL && strstr(groups->str, "no such key")) {
        edxbus_errf(errstr, errstr_size, "redis: stream \"%s\" does not exist", topic);
        err = EDXBUS_ERR_NOT_FOUND;
    }
    const redisReply *info = NULL;
    for (size_t i = 0; err == EDXBUS_OK && i < groups->elements; i++) {
        const redisReply *name = edxbus__redis_info_get(groups->element[i], "name");
        if (name != NULL && name->type == REDIS_REPLY_STRING && strcmp(name->str, group) == 0)
            info = groups->element[i];
    }
    if (err == EDXBUS_OK && info == NULL) {
        edxbus_errf(errstr, errstr_size, "redis: stream \"%s\" has no consumer group \"%s\"", topic,
                    group);
        err = EDXBUS_ERR_NOT_FOUND;
    }
    json_t *undelivered = NULL, *lost = NULL;
    if (err == EDXBUS_OK) {
        argv[1] = "STREAM";
        snprintf(what, sizeof what, "XINFO STREAM on stream \"%s\"", topic);
        err = edxbus__redis_conn_command(conn, 3, argv, NULL, &stream, what, errstr, errstr_size);
    }
    if (err == EDXBUS_OK) {
        /* Redis >= 7.0 counts the group's lag; it is nil when trimming made it unknowable. */
        undelivered = info_int(edxbus__redis_info_get(info, "lag"));
        lost = lag_lost(stream, info, &undelivered);
        argv[1] = "CONSUMERS";
        snprintf(what, sizeof what, "XINFO CONSUMERS on stream \"%s\"", topic);
        err =
            edxbus__redis_conn_command(conn, 4, argv, NULL, &consumers, what, errstr, errstr_size);
    }
    for (size_t i = 0; err == EDXBUS_OK && i < consumers->elements; i++) {
        const redisReply *c = consumers->element[i];
        const redisReply *name = edxbus__redis_info_get(c, "name");
        if (name == NULL || name->type != REDIS_REPLY_STRING)
            continue;
        json_t *group_lag = undelivered ? undelivered : json_integer(0);
        json_t *group_lost = lost ? lost : json_integer(0);
        undelivered = lost = NULL;
        json_array_append_new(rows, lag_row(group, name->str,
                                            info_int(edxbus__redis_info_get(c, "pending")),
                                            group_lag, info_int(edxbus__redis_info_get(c, "idle")),
                                            group_lost));
    }
    if (err == EDXBUS_OK && undelivered != NULL) { /* a group without members */
        json_array_append_new(rows, lag_row(group, NULL, json_integer(0), undelivered,
                                            json_null(), lost));
    } else {
        json_decref(undelivered);
        json_decref(lost);
    }
    freeReplyObject(stream);
    freeReplyObject(groups);
    freeReplyObject(consumers);
    return err;
}

/* One row per member with what it holds unacknowledged. Entries not yet delivered belong to no
 * member in Redis: the group's count goes on the first member's row (the others say 0), or on
 * a row with consumer null when the group has no members, so that summing a column over the
 * rows gives the group's total. */
static edxbus_err_t redis_lag(const edxbus_conf_t *conf, const char *topic, const char *group,
                              json_t **out, char *errstr, size_t errstr_size)
{
    *out = NULL;
    struct redis_conn conn;
    edxbus_err_t err = edxbus__redis_conn_open(&conn, conf, errstr, errstr_size);
    if (err != EDXBUS_OK)
        return err;
    json_t *rows = json_array();
    err = rows ? edxbus__redis_lag_rows(&conn, topic, group, rows, errstr, errstr_size)
               : EDXBUS_ERR_NOMEM;
    edxbus__redis_conn_close(&conn);
    if (err != EDXBUS_OK) {
        json_decref(rows);
        return err;
    }
    *out = rows;
    return EDXBUS_OK;
}

/* ------------------------------------------------------------------------------------------ */

static const char *const redis_aliases[] = {
    "edx_event_bus_redis.create_producer",
    "edx_event_bus_redis.RedisEventConsumer",
    "edx_event_bus_redis.internal.producer.create_producer",
    "edx_event_bus_redis.internal.consumer.RedisEventConsumer",
    NULL,
};

const struct edxbus_backend_ops edxbus_backend_redis = {
    .abi_version = EDXBUS_BACKEND_ABI,
    .name = "redis",
    .aliases = redis_aliases,
    .producer_open = edxbus__redis_producer_open,
    .produce = edxbus__redis_produce,
    .flush = edxbus__redis_flush,
    .producer_close = edxbus__redis_producer_close,
    .consumer_open = edxbus__redis_consumer_open,
    .poll = edxbus__redis_poll,
    .ack = edxbus__redis_ack,
    .consumer_close = edxbus__redis_consumer_close,
    .wake = edxbus__redis_wake,
    .lag = redis_lag,
    .caught_up = edxbus__redis_caught_up,
    .settings = edxbus__redis_settings,
    .extra_options = edxbus__redis_extra_options,
    .check = edxbus__redis_check,
    .doctor = edxbus__redis_doctor,
};
