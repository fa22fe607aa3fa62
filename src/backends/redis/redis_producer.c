/* src/backends/redis/redis_producer.c — XADD, one entry per event, sync or pipelined.
 *
 * Synchronous produce (no callback) is one XADD round trip: produce() returns EDXBUS_OK only
 * once Redis answered with the entry id (delivery contract 1). Asynchronous produce (callback
 * given) pipelines: the command is formatted once, appended to the connection's output buffer
 * and kept, with a copy of the message, in a FIFO of commands in flight. Redis answers in
 * order, so each reply settles the oldest entry of the FIFO: its callback runs with the entry
 * id as position, or with the error. Replies are read as they arrive (produce() writes and
 * reads whatever is ready every few messages without waiting) and flush() waits for all.
 *
 * Lost connections: the socket has read/write timeouts, so a silent server counts as gone.
 * After an I/O error the connection is rebuilt with backoff and every command still in flight
 * is sent again, in order (delivery is at least once: an XADD whose reply was lost may be
 * stored twice). When the server stays away, every message in flight is reported failed with
 * a message naming its stream and event id; the core logs what it needs to replay it.
 *
 * Invariants: q holds, oldest first, every asynchronous message not yet reported; when the
 * connection is up, each of them is exactly once either sent on it or waiting in `out` (sent
 * by the next pump) since it was (re)made. Synchronous produce first settles the FIFO, so
 * replies never interleave. We write the socket ourselves (MSG_NOSIGNAL); hiredis only reads.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redis_int.h"

#define PUMP_EVERY 64           /* messages between two opportunistic pumps */
#define PUMP_BYTES (256 * 1024) /* or this much unsent output */
#define MAX_IN_FLIGHT 20000     /* produce() waits for replies beyond this */

/* One asynchronous message until its reply: a copy of what produce() was given. */
struct inflight {
    struct edxbus_msg msg; /* pointers into this block (and md) */
    struct edxbus_metadata md;
    edxbus_delivery_fn cb;
    void *cb_opaque;
    char *cmd; /* the formatted RESP command, to send again after a reconnect */
    size_t cmd_len;
    /* then: topic, key, value, headers, header names and values */
};

struct redis_producer {
    struct redis_conn conn;
    struct redis_trim trim;    /* EVENT_BUS_REDIS_STREAM_MAX_LEN, trimmed safely */
    struct redis_wire_cmd cmd; /* reused for every XADD */
    struct inflight **q;       /* ring buffer of messages in flight, oldest at head */
    struct edxbus_buf out;     /* formatted commands not yet sent */
    size_t q_cap, q_head, q_len;
    size_t since_pump; /* messages appended since the last pump */
};

/* ------------------------------------------------------------------------------------------ */
/* The FIFO */

static struct inflight *q_at(const struct redis_producer *prod, size_t i)
{
    return prod->q[(prod->q_head + i) % prod->q_cap];
}

static edxbus_err_t q_push(struct redis_producer *prod, struct inflight *f)
{
    if (prod->q_len == prod->q_cap) {
        size_t cap = prod->q_cap ? prod->q_cap * 2 : 256;
        struct inflight **q = malloc(cap * sizeof *q);
        if (q == NULL)
            return EDXBUS_ERR_NOMEM;
        for (size_t i = 0; i < prod->q_len; i++)
            q[i] = q_at(prod, i);
        free(prod->q);
        prod->q = q;
        prod->q_cap = cap;
        prod->q_head = 0;
    }
    prod->q[(prod->q_head + prod->q_len) % prod->q_cap] = f;
    prod->q_len++;
    return EDXBUS_OK;
}

static struct inflight *q_pop(struct redis_producer *prod)
{
    struct inflight *f = prod->q[prod->q_head];
    prod->q_head = (prod->q_head + 1) % prod->q_cap;
    prod->q_len--;
    return f;
}

static void *copy_into(uint8_t **p, const void *src, size_t len)
{
    void *dst = *p;
    if (len > 0)
        memcpy(dst, src, len);
    *p += len;
    return dst;
}

/* A copy of @p msg that outlives produce(), for the delivery report. */
static struct inflight *inflight_new(const struct edxbus_msg *msg)
{
    size_t topic_len = strlen(msg->topic) + 1;
    size_t size = sizeof(struct inflight) + topic_len + msg->key_len + msg->value_len +
                  msg->nheaders * sizeof(struct edxbus_header);
    for (size_t i = 0; i < msg->nheaders; i++)
        size += strlen(msg->headers[i].name) + 1 + msg->headers[i].len;
    struct inflight *f = malloc(size);
    if (f == NULL)
        return NULL;
    memset(f, 0, sizeof *f);
    uint8_t *p = (uint8_t *)(f + 1);
    /* Headers first: their array wants the block's alignment. */
    struct edxbus_header *h =
        copy_into(&p, msg->headers, msg->nheaders * sizeof(struct edxbus_header));
    for (size_t i = 0; i < msg->nheaders; i++) {
        h[i].name = copy_into(&p, msg->headers[i].name, strlen(msg->headers[i].name) + 1);
        h[i].value = copy_into(&p, msg->headers[i].value, msg->headers[i].len);
    }
    f->md = *msg->metadata;
    f->msg = *msg;
    f->msg.metadata = &f->md;
    f->msg.headers = msg->nheaders ? h : NULL;
    f->msg.topic = copy_into(&p, msg->topic, topic_len);
    f->msg.key = msg->key ? copy_into(&p, msg->key, msg->key_len) : NULL;
    f->msg.value = copy_into(&p, msg->value, msg->value_len);
    /* Only the produce-side fields mean anything in a delivery report. */
    f->msg.key_schema = NULL;
    f->msg.value_schema = NULL;
    return f;
}

static void inflight_free(struct inflight *f)
{
    if (f == NULL)
        return;
    redisFreeCommand(f->cmd);
    free(f);
}

/* Report the oldest message in flight and forget it. */
static void settle_head(struct redis_producer *prod, edxbus_err_t err, const char *errstr,
                        const char *position)
{
    struct inflight *f = q_pop(prod);
    if (err == EDXBUS_OK && prod->conn.audit)
        edxbus_conf_log(prod->conn.conf, EDXBUS_LOG_INFO,
                        "redis: produced event %s (%s) to stream %s as entry %s", f->md.id,
                        f->md.event_type, f->msg.topic, position);
    f->cb(f->cb_opaque, &f->msg, err, err == EDXBUS_OK ? NULL : errstr, position);
    if (err == EDXBUS_OK)
        edxbus__redis_trim_added(&prod->trim, f->msg.topic);
    inflight_free(f);
}

/* "redis: XADD of event <id> to stream "<s>" failed: <why>"; @p why may be @p errstr. */
static void fail_message_text(const struct edxbus_msg *msg, const char *why, char *errstr,
                              size_t errstr_size)
{
    char copy[EDXBUS_ERRSTR_SIZE];
    snprintf(copy, sizeof copy, "%s", strncmp(why, "redis: ", 7) == 0 ? why + 7 : why);
    snprintf(errstr, errstr_size, "redis: XADD of event %s to stream \"%s\" failed: %s",
             msg->metadata->id, msg->topic, copy);
}

/* Report every message in flight as failed with @p err. */
static void settle_all_failed(struct redis_producer *prod, edxbus_err_t err, const char *why)
{
    char text[EDXBUS_ERRSTR_SIZE];
    while (prod->q_len > 0) {
        struct inflight *f = q_at(prod, 0);
        fail_message_text(&f->msg, why, text, sizeof text);
        settle_head(prod, err, text, NULL);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Pumping the pipeline */

/* Handle one reply: it belongs to the oldest message in flight. */
static void settle_reply(struct redis_producer *prod, redisReply *reply)
{
    char text[EDXBUS_ERRSTR_SIZE];
    struct inflight *f = q_at(prod, 0);
    if (reply->type == REDIS_REPLY_STRING) {
        settle_head(prod, EDXBUS_OK, NULL, reply->str);
    } else if (reply->type == REDIS_REPLY_ERROR) {
        edxbus_err_t err = edxbus__redis_reply_error(reply, "XADD", text, sizeof text);
        fail_message_text(&f->msg, text, text, sizeof text);
        settle_head(prod, err, text, NULL);
    } else {
        fail_message_text(&f->msg, "unexpected reply type", text, sizeof text);
        settle_head(prod, EDXBUS_ERR_BROKER, text, NULL);
    }
    freeReplyObject(reply);
}

/* After a reconnect: queue every message in flight again, oldest first (what the old
 * connection had not sent is among them). */
static edxbus_err_t resend_all(struct redis_producer *prod)
{
    edxbus_buf_reset(&prod->out);
    for (size_t i = 0; i < prod->q_len; i++) {
        struct inflight *f = q_at(prod, i);
        if (edxbus_buf_append(&prod->out, f->cmd, f->cmd_len) != EDXBUS_OK)
            return EDXBUS_ERR_NOMEM;
    }
    return EDXBUS_OK;
}

/* Send all pending output, then read replies until at most @p target messages are in flight
 * (or, with @p target == SIZE_MAX, whatever is ready without waiting). Waits at most until
 * @p deadline_ms (monotonic; -1: one io timeout without progress counts as a dead server).
 * On an I/O error: EDXBUS_ERR_IO etc. with the connection dropped, the FIFO intact. */
static edxbus_err_t pump_once(struct redis_producer *prod, size_t target, int64_t deadline_ms,
                              char *errstr, size_t errstr_size)
{
    edxbus_err_t err =
        edxbus__redis_conn_send(&prod->conn, (const char *)prod->out.data, prod->out.len,
                                "XADD (pipelined)", errstr, errstr_size);
    if (err != EDXBUS_OK)
        return err;
    edxbus_buf_reset(&prod->out);
    redisContext *ctx = prod->conn.ctx;
    bool opportunistic = target == SIZE_MAX;
    for (;;) {
        void *reply = NULL;
        while (prod->q_len > 0) {
            if (redisGetReplyFromReader(ctx, &reply) != REDIS_OK)
                return edxbus__redis_conn_io_error(&prod->conn, "XADD (pipelined)", errstr,
                                                   errstr_size);
            if (reply == NULL)
                break;
            settle_reply(prod, reply);
        }
        if (prod->q_len == 0 || (!opportunistic && prod->q_len <= target))
            return EDXBUS_OK;
        int wait_ms = prod->conn.io_timeout_ms;
        if (opportunistic) {
            wait_ms = 0;
        } else if (deadline_ms >= 0) {
            int64_t left = deadline_ms - edxbus__redis_now_ms();
            wait_ms = left <= 0 ? 0 : (left < wait_ms ? (int)left : wait_ms);
        }
        struct pollfd pfd = {.fd = ctx->fd, .events = POLLIN};
        int n = poll(&pfd, 1, wait_ms);
        if (n < 0 && errno == EINTR)
            continue;
        if (n == 0) {
            if (opportunistic)
                return EDXBUS_OK;
            if (deadline_ms >= 0 && edxbus__redis_now_ms() >= deadline_ms) {
                snprintf(errstr, errstr_size,
                         "redis: flush: %zu messages still unconfirmed by %s at the deadline",
                         prod->q_len, prod->conn.url.display);
                return EDXBUS_ERR_TIMEOUT;
            }
            if (wait_ms < prod->conn.io_timeout_ms)
                continue;
            snprintf(errstr, errstr_size, "redis: XADD (pipelined): %s did not answer within %d ms",
                     prod->conn.url.display, prod->conn.io_timeout_ms);
            edxbus__redis_conn_drop(&prod->conn);
            return EDXBUS_ERR_TIMEOUT;
        }
        if (redisBufferRead(ctx) != REDIS_OK)
            return edxbus__redis_conn_io_error(&prod->conn, "XADD (pipelined)", errstr,
                                               errstr_size);
    }
}

/* pump_once, reconnecting (and resending) after connection failures; when the server stays
 * away every message in flight is reported failed and the error returned. */
static edxbus_err_t pump(struct redis_producer *prod, size_t target, int64_t deadline_ms,
                         char *errstr, size_t errstr_size)
{
    edxbus_err_t err = EDXBUS_OK;
    for (int attempt = 0; attempt < 2; attempt++) { /* as it is, and once reconnected */
        if (prod->conn.ctx == NULL) {
            if (attempt > 0)
                edxbus_conf_log(prod->conn.conf, EDXBUS_LOG_WARNING,
                                "%s; reconnecting and sending %zu messages again", errstr,
                                prod->q_len);
            err =
                edxbus__redis_conn_ensure(&prod->conn, REDIS_CONNECT_ATTEMPTS, errstr, errstr_size);
            if (err == EDXBUS_OK)
                err = resend_all(prod);
            if (err != EDXBUS_OK)
                break;
        }
        err = pump_once(prod, target, deadline_ms, errstr, errstr_size);
        if (err == EDXBUS_OK || prod->conn.ctx != NULL)
            return err; /* done, or a flush deadline with the connection still fine */
    }
    if (prod->q_len > 0) {
        char why[EDXBUS_ERRSTR_SIZE];
        snprintf(why, sizeof why, "%s", errstr);
        settle_all_failed(prod, err, why);
    }
    return err;
}

/* ------------------------------------------------------------------------------------------ */
/* The ops slots */

edxbus_err_t edxbus__redis_producer_open(const edxbus_conf_t *conf, void **be, char *errstr,
                                         size_t errstr_size)
{
    *be = NULL;
    struct redis_producer *prod = calloc(1, sizeof *prod);
    if (prod == NULL) {
        snprintf(errstr, errstr_size, "redis: out of memory");
        return EDXBUS_ERR_NOMEM;
    }
    edxbus_err_t err = edxbus__redis_trim_init(&prod->trim, conf, errstr, errstr_size);
    if (err != EDXBUS_OK) {
        free(prod);
        return err;
    }
    edxbus__redis_wire_cmd_init(&prod->cmd);
    edxbus_buf_init(&prod->out);
    err = edxbus__redis_conn_open(&prod->conn, conf, errstr, errstr_size);
    if (err != EDXBUS_OK) {
        edxbus__redis_wire_cmd_fini(&prod->cmd);
        free(prod);
        return err;
    }
    prod->trim.conf = prod->conn.conf; /* the trimming connection logs where we do */
    *be = prod;
    return EDXBUS_OK;
}

/* One synchronous XADD, reconnecting and retrying while the connection fails. */
static edxbus_err_t produce_sync(struct redis_producer *prod, const struct edxbus_msg *msg,
                                 char *errstr, size_t errstr_size)
{
    char why[EDXBUS_ERRSTR_SIZE];
    edxbus_err_t err = EDXBUS_OK;
    for (int attempt = 0; attempt < 2; attempt++) { /* the send, and one after a reconnect */
        err = edxbus__redis_conn_ensure(&prod->conn, REDIS_CONNECT_ATTEMPTS, why, sizeof why);
        if (err != EDXBUS_OK)
            break;
        redisReply *reply;
        err = edxbus__redis_conn_command(&prod->conn, prod->cmd.argc, prod->cmd.argv,
                                         prod->cmd.lens, &reply, "XADD", why, sizeof why);
        if (err == EDXBUS_OK && reply->type != REDIS_REPLY_STRING) {
            snprintf(why, sizeof why, "redis: XADD: unexpected reply type %d", reply->type);
            err = EDXBUS_ERR_BROKER;
        }
        if (err == EDXBUS_OK && prod->conn.audit)
            edxbus_conf_log(prod->conn.conf, EDXBUS_LOG_INFO,
                            "redis: produced event %s (%s) to stream %s as entry %s",
                            msg->metadata->id, msg->metadata->event_type, msg->topic, reply->str);
        freeReplyObject(reply);
        if (err == EDXBUS_OK)
            edxbus__redis_trim_added(&prod->trim, msg->topic);
        if (err == EDXBUS_OK || prod->conn.ctx != NULL)
            break; /* stored, or an error reply: retrying would not help */
        edxbus_conf_log(prod->conn.conf, EDXBUS_LOG_WARNING, "%s; reconnecting", why);
    }
    if (err != EDXBUS_OK)
        fail_message_text(msg, why, errstr, errstr_size);
    return err;
}

static edxbus_err_t produce_async(struct redis_producer *prod, const struct edxbus_msg *msg,
                                  edxbus_delivery_fn cb, void *cb_opaque, char *errstr,
                                  size_t errstr_size)
{
    if (prod->q_len >= MAX_IN_FLIGHT) {
        pump(prod, MAX_IN_FLIGHT / 2, -1, errstr, errstr_size);
        /* On failure the FIFO was reported failed; this message goes on a fresh try. */
    }
    struct inflight *f = inflight_new(msg);
    if (f == NULL)
        goto nomem;
    f->cb = cb;
    f->cb_opaque = cb_opaque;
    long long len = redisFormatCommandArgv(&f->cmd, prod->cmd.argc, prod->cmd.argv, prod->cmd.lens);
    if (len < 0)
        goto nomem;
    f->cmd_len = (size_t)len;
    if (q_push(prod, f) != EDXBUS_OK)
        goto nomem;
    if (prod->conn.ctx != NULL && edxbus_buf_append(&prod->out, f->cmd, f->cmd_len) != EDXBUS_OK)
        edxbus__redis_conn_drop(&prod->conn); /* pump() reconnects and queues it again */
    prod->since_pump++;
    bool big = prod->out.len >= PUMP_BYTES;
    if (prod->since_pump >= PUMP_EVERY || big || prod->conn.ctx == NULL) {
        prod->since_pump = 0;
        char why[EDXBUS_ERRSTR_SIZE];
        /* Failures are reported through the callbacks; produce() itself succeeded. */
        pump(prod, SIZE_MAX, -1, why, sizeof why);
    }
    return EDXBUS_OK;
nomem:
    inflight_free(f);
    snprintf(errstr, errstr_size, "redis: out of memory queueing event %s for stream \"%s\"",
             msg->metadata->id, msg->topic);
    return EDXBUS_ERR_NOMEM;
}

edxbus_err_t edxbus__redis_produce(void *be, const struct edxbus_msg *msg, edxbus_delivery_fn cb,
                                   void *cb_opaque, char *errstr, size_t errstr_size)
{
    struct redis_producer *prod = be;
    /* No trimming clause: redis_trim.c trims without dropping unread entries. */
    edxbus_err_t err = edxbus__redis_wire_xadd(&prod->cmd, msg, 0, errstr, errstr_size);
    if (err != EDXBUS_OK)
        return err;
    if (cb != NULL)
        return produce_async(prod, msg, cb, cb_opaque, errstr, errstr_size);
    if (prod->q_len > 0) {
        /* Keep order (and reply pairing): settle the pipeline first. Its failures are
         * reported through their callbacks. */
        char why[EDXBUS_ERRSTR_SIZE];
        pump(prod, 0, -1, why, sizeof why);
    }
    return produce_sync(prod, msg, errstr, errstr_size);
}

edxbus_err_t edxbus__redis_flush(void *be, int timeout_ms, char *errstr, size_t errstr_size)
{
    struct redis_producer *prod = be;
    if (prod->q_len == 0)
        return EDXBUS_OK;
    int64_t deadline = edxbus__redis_now_ms() + (timeout_ms < 0 ? 0 : timeout_ms);
    return pump(prod, 0, deadline, errstr, errstr_size);
}

void edxbus__redis_producer_close(void *be)
{
    struct redis_producer *prod = be;
    if (prod == NULL)
        return;
    char errstr[EDXBUS_ERRSTR_SIZE];
    if (prod->q_len > 0 &&
        edxbus__redis_flush(prod, prod->conn.io_timeout_ms, errstr, sizeof errstr) != EDXBUS_OK)
        settle_all_failed(prod, EDXBUS_ERR_TIMEOUT, errstr);
    edxbus__redis_trim_fini(&prod->trim);
    edxbus__redis_conn_close(&prod->conn);
    edxbus__redis_wire_cmd_fini(&prod->cmd);
    edxbus_buf_fini(&prod->out);
    free(prod->q);
    free(prod);
}
