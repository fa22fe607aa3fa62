/* src/backends/redis/redis_producer.c — XADD, one entry per event, sync or pipelined.
 *
 * Synchronous produce (no callback) is one XADD round trip: produce() returns EDXBUS_OK only
 * once Redis answered with the entry id (delivery contract 1). The whole call, connecting
 * included, takes at most EVENT_BUS_REDIS_SOCKET_TIMEOUT; when the XADD was written but not
 * answered in time it fails with EDXBUS_ERR_TIMEOUT saying the event may or may not be stored.
 *
 * Asynchronous produce (callback given) pipelines: the command is formatted once (RESP written
 * by redis_wire.c) and kept, in one block with a copy of the message, in a FIFO of events in
 * flight; the socket is written without blocking
 * as it takes data. Redis answers in order, so each reply settles the oldest written event.
 *
 * A stalled server: a reply that is late is waited for on the same connection (the server
 * still runs what it received and answers when it resumes), never sent again. After
 * EVENT_BUS_REDIS_SOCKET_TIMEOUT without a reply one warning line says so; an event that stays
 * unconfirmed for EVENT_BUS_REDIS_DELIVERY_TIMEOUT gives the connection up: the events written
 * on it and not confirmed are reported EDXBUS_ERR_TIMEOUT ("not confirmed: may or may not be
 * stored"), those never written are sent on a new connection or, once their own delivery
 * timeout passed, reported EDXBUS_ERR_IO ("not sent"). A connection the server closed is given
 * up the same way. So no event is ever written twice by this producer, and each report says
 * exactly whether the event is stored (OK), not stored (not sent) or unknown (not confirmed).
 *
 * Invariants: q holds, oldest first, every asynchronous message not yet reported; its first
 * q_written entries were taken by the socket in full, the next one w_off bytes of it; replies
 * belong to written entries. Synchronous produce first settles the FIFO, so replies never
 * interleave. The transport is redis_io.c's (the same over TCP and TLS); hiredis parses.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "redis_int.h"

#define PUMP_EVERY 64           /* messages between two opportunistic pumps */
#define PUMP_BYTES (256 * 1024) /* or this much unwritten output */
#define MAX_IN_FLIGHT 2000      /* produce() waits for replies beyond this */
#define IOV_BATCH 64            /* commands per sendmsg() */

/* One asynchronous message until its reply: a copy of what produce() was given (the toolkit's,
 * with its callback and the monotonic time produce() took it) and its command. */
struct inflight {
    struct edxbus_msg_copy c; /* first: edxbus_msg_copy_new() allocates the whole struct */
    char *cmd;                /* the formatted RESP command: right after this struct, one block */
    size_t cmd_len;
};

struct redis_producer {
    struct redis_conn conn;
    struct redis_trim trim;    /* EVENT_BUS_REDIS_STREAM_MAX_LEN, trimmed safely */
    struct redis_wire_cmd cmd; /* reused for every XADD */
    int64_t delivery_timeout_ms; /* EVENT_BUS_REDIS_DELIVERY_TIMEOUT */
    struct edxbus_fifo q;        /* struct inflight *: messages in flight, oldest first */
    size_t q_written;  /* entries from the head the socket took in full (awaiting replies) */
    size_t w_off;      /* bytes of the next entry the socket took */
    size_t unwritten;  /* bytes of commands the socket has not taken yet */
    size_t since_pump; /* messages appended since the last pump */
    bool stalled;      /* the "has not answered" line was logged for this stall */
    bool out_full;     /* the socket took nothing at the last write: wait for POLLOUT */
    int64_t quiet_since; /* monotonic: the last reply, or when replies were first awaited */
    int64_t down_until;  /* monotonic: a connect failed; produce() does not retry before */
};

/* ------------------------------------------------------------------------------------------ */
/* The FIFO */

static struct inflight *q_at(const struct redis_producer *prod, size_t i)
{
    return edxbus_fifo_at(&prod->q, i);
}

/* Report the oldest message in flight and forget it. */
static void settle_head(struct redis_producer *prod, edxbus_err_t err, const char *errstr,
                        const char *position)
{
    struct inflight *f = edxbus_fifo_pop(&prod->q);
    if (prod->q_written > 0) {
        prod->q_written--;
    } else { /* reported without being written (its bytes no longer count) */
        prod->unwritten -= f->cmd_len - prod->w_off;
        prod->w_off = 0;
    }
    if (err == EDXBUS_OK && prod->conn.audit)
        edxbus_conf_log(prod->conn.conf, EDXBUS_LOG_INFO,
                        "redis: produced event %s (%s) to stream %s as entry %s", f->c.md.id,
                        f->c.md.event_type, f->c.msg.topic, position);
    edxbus_msg_copy_report(&f->c, err, errstr, position);
    if (err == EDXBUS_OK)
        edxbus__redis_trim_added(&prod->trim, f->c.msg.topic);
    free(f); /* one block, the command included */
}

/* "redis: XADD of event <id> to stream "<s>" failed: <why>"; @p why may be @p errstr. */
static void fail_message_text(const struct edxbus_msg *msg, const char *why, char *errstr,
                              size_t errstr_size)
{
    char copy[EDXBUS_ERRSTR_SIZE];
    snprintf(copy, sizeof copy, "%s", strncmp(why, "redis: ", 7) == 0 ? why + 7 : why);
    edxbus_errf(errstr, errstr_size, "redis: XADD of event %s to stream \"%s\" failed: %s",
                msg->metadata->id, msg->topic, copy);
}

/* The report of an event written but never confirmed. */
static void unknown_message_text(const struct edxbus_msg *msg, const char *why, char *errstr,
                                 size_t errstr_size)
{
    char copy[EDXBUS_ERRSTR_SIZE];
    snprintf(copy, sizeof copy, "%s", strncmp(why, "redis: ", 7) == 0 ? why + 7 : why);
    edxbus_errf(errstr, errstr_size,
                "redis: XADD of event %s to stream \"%s\" not confirmed (%s): it may or may not be "
                "stored; not sent again, so it is never stored twice",
                msg->metadata->id, msg->topic, copy);
}

/* Report every message in flight as failed with @p err (none written: "not sent"). */
static void settle_all_failed(struct redis_producer *prod, edxbus_err_t err, const char *why)
{
    char text[EDXBUS_ERRSTR_SIZE];
    while (prod->q.len > 0) {
        struct inflight *f = q_at(prod, 0);
        bool written = prod->q_written > 0;
        if (written)
            unknown_message_text(&f->c.msg, why, text, sizeof text);
        else
            fail_message_text(&f->c.msg, why, text, sizeof text);
        settle_head(prod, written ? EDXBUS_ERR_TIMEOUT : err, text, NULL);
    }
}

/* Give the connection up: what was written on it and not confirmed is reported unknown (never
 * sent again); a command the socket took only part of is sent again in full on the next
 * connection (the server drops an incomplete command with the connection). */
static void abandon(struct redis_producer *prod, const char *why)
{
    char reason[EDXBUS_ERRSTR_SIZE], text[EDXBUS_ERRSTR_SIZE];
    snprintf(reason, sizeof reason, "%s", why);
    while (prod->q_written > 0) {
        unknown_message_text(&q_at(prod, 0)->c.msg, reason, text, sizeof text);
        settle_head(prod, EDXBUS_ERR_TIMEOUT, text, NULL);
    }
    prod->unwritten += prod->w_off;
    prod->w_off = 0;
    prod->stalled = false;
    prod->out_full = false;
    edxbus__redis_conn_drop(&prod->conn);
}

/* Report the unwritten events at the head whose delivery timeout passed as not sent. */
static void expire_unwritten(struct redis_producer *prod, int64_t now, const char *why)
{
    char text[EDXBUS_ERRSTR_SIZE];
    while (prod->q.len > 0 && prod->q_written == 0 &&
           now - q_at(prod, 0)->c.queued_ms >= prod->delivery_timeout_ms) {
        struct inflight *f = q_at(prod, 0);
        char reason[EDXBUS_ERRSTR_SIZE];
        snprintf(reason, sizeof reason, "not sent within %lld ms: %s",
                 (long long)prod->delivery_timeout_ms, why);
        fail_message_text(&f->c.msg, reason, text, sizeof text);
        settle_head(prod, EDXBUS_ERR_IO, text, NULL);
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
        fail_message_text(&f->c.msg, text, text, sizeof text);
        settle_head(prod, err, text, NULL);
    } else {
        fail_message_text(&f->c.msg, "unexpected reply type", text, sizeof text);
        settle_head(prod, EDXBUS_ERR_BROKER, text, NULL);
    }
    freeReplyObject(reply);
}

/* Hand the socket what it takes without blocking. Errors: EDXBUS_ERR_IO (connection lost).
 * Once the socket took nothing (the server reads slower than we produce), nothing is tried
 * until poll() says it is writable: trying at every pump cost a failed sendmsg() per 64
 * events, and the CPU it took was the server's. */
static edxbus_err_t write_some(struct redis_producer *prod, char *errstr, size_t errstr_size)
{
    if (prod->out_full)
        return EDXBUS_OK;
    if (edxbus__redis_io_pending_out(&prod->conn.io) > 0) { /* TLS: what it holds goes first */
        size_t sent;
        char why[160];
        if (edxbus__redis_io_writev(&prod->conn.io, NULL, 0, &sent, why, sizeof why) !=
            EDXBUS_OK) {
            edxbus_errf(errstr, errstr_size, "redis: XADD (pipelined): %s: %s",
                     prod->conn.url.display, why);
            return EDXBUS_ERR_IO;
        }
    }
    while (prod->q_written < prod->q.len) {
        struct iovec iov[IOV_BATCH];
        int n = 0;
        for (size_t i = prod->q_written; i < prod->q.len && n < IOV_BATCH; i++, n++) {
            struct inflight *f = q_at(prod, i);
            size_t off = i == prod->q_written ? prod->w_off : 0;
            iov[n].iov_base = f->cmd + off;
            iov[n].iov_len = f->cmd_len - off;
        }
        size_t sent = 0;
        char why[160];
        if (edxbus__redis_io_writev(&prod->conn.io, iov, n, &sent, why, sizeof why) != EDXBUS_OK) {
            edxbus_errf(errstr, errstr_size, "redis: XADD (pipelined): %s: %s",
                     prod->conn.url.display, why);
            return EDXBUS_ERR_IO;
        }
        if (sent == 0) {
            prod->out_full = true; /* would block */
            return EDXBUS_OK;
        }
        prod->unwritten -= sent;
        if (prod->q_written == 0)
            prod->quiet_since = edxbus_clock_mono_ms(); /* replies awaited from now */
        for (size_t left = sent; left > 0;) {
            size_t rest = q_at(prod, prod->q_written)->cmd_len - prod->w_off;
            if (left < rest) {
                prod->w_off += left;
                break;
            }
            left -= rest;
            prod->q_written++;
            prod->w_off = 0;
        }
    }
    return EDXBUS_OK;
}

/* Settle every reply hiredis has read. Returns false when the reply stream is broken (the
 * connection is then given up, @p why says why). */
static bool drain_replies(struct redis_producer *prod, bool *progress, char *why, size_t why_size)
{
    while (prod->q_written > 0) {
        redisReply *reply = NULL;
        char text[160];
        if (edxbus__redis_io_get_reply(&prod->conn.io, &reply, text, sizeof text) != EDXBUS_OK) {
            snprintf(why, why_size, "redis: %s: %s", prod->conn.url.display, text);
            return false;
        }
        if (reply == NULL)
            break;
        settle_reply(prod, reply);
        *progress = true;
    }
    return true;
}

static int64_t min_deadline(int64_t a, int64_t b)
{
    return a < 0 ? b : (b < 0 ? a : (a < b ? a : b));
}

/* Write and read until at most @p target messages are in flight (SIZE_MAX: only what is ready
 * now, without waiting), the queue is empty, or @p deadline_ms (monotonic; -1: none) passes
 * (EDXBUS_ERR_TIMEOUT, nothing reported). Every wait is bounded by the oldest event's delivery
 * timeout, after which the connection is given up (see the top of this file). Failures are
 * reported through the callbacks; the return value is EDXBUS_OK unless the deadline passed or
 * the settings cannot work (EDXBUS_ERR_AUTH: everything failed). */
static edxbus_err_t pump(struct redis_producer *prod, size_t target, int64_t deadline_ms,
                         char *errstr, size_t errstr_size)
{
    bool opportunistic = target == SIZE_MAX;
    char why[EDXBUS_ERRSTR_SIZE] = "";
    for (;;) {
        if (prod->q.len == 0 || (!opportunistic && prod->q.len <= target))
            return EDXBUS_OK;
        int64_t now = edxbus_clock_mono_ms();
        int64_t expiry = q_at(prod, 0)->c.queued_ms + prod->delivery_timeout_ms;
        if (now >= expiry) {
            if (why[0] == '\0' || prod->q_written > 0)
                snprintf(why, sizeof why, "%s did not confirm within %lld ms",
                         prod->conn.url.display, (long long)prod->delivery_timeout_ms);
            if (prod->q_written > 0)
                abandon(prod, why);
            expire_unwritten(prod, now, why);
            continue;
        }
        if (deadline_ms >= 0 && now >= deadline_ms) {
            edxbus_errf(errstr, errstr_size,
                     "redis: flush: %zu events still unconfirmed by %s at the deadline",
                     prod->q.len, prod->conn.url.display);
            return EDXBUS_ERR_TIMEOUT;
        }
        if (!edxbus__redis_conn_up(&prod->conn)) {
            /* produce() tries to connect at most once per socket timeout: the events wait
             * queued (their delivery timeout still runs) instead of produce() blocking. */
            if (opportunistic && now < prod->down_until)
                return EDXBUS_OK;
            int64_t until = min_deadline(expiry, deadline_ms);
            if (opportunistic)
                until = min_deadline(until, now + prod->conn.io_timeout_ms);
            edxbus_err_t err = edxbus__redis_conn_ensure_until(&prod->conn, until, why, sizeof why);
            if (err != EDXBUS_OK) {
                prod->down_until = edxbus_clock_mono_ms() + prod->conn.io_timeout_ms;
                if (opportunistic && edxbus_err_is_retriable(err))
                    return EDXBUS_OK;
                /* Nothing is written yet: a server that cannot be reached fails them all. */
                settle_all_failed(prod, err, why);
                edxbus_errf(errstr, errstr_size, "%s", why);
                return err;
            }
            prod->out_full = false; /* a new socket */
            continue;
        }
        bool progress = false;
        if (!drain_replies(prod, &progress, why, sizeof why)) {
            abandon(prod, why);
            continue;
        }
        if (progress) {
            prod->quiet_since = now;
            if (prod->stalled)
                edxbus_conf_log(prod->conn.conf, EDXBUS_LOG_WARNING,
                                "redis: %s answers again", prod->conn.url.display);
            prod->stalled = false;
            continue;
        }
        if (prod->q_written == 0 && prod->w_off == 0 &&
            edxbus__redis_conn_idle_closed(&prod->conn)) {
            edxbus__redis_conn_drop(&prod->conn); /* nothing was sent on it: reconnect */
            prod->out_full = false;
            continue;
        }
        if (write_some(prod, why, sizeof why) != EDXBUS_OK) {
            abandon(prod, why);
            continue;
        }
        int64_t wake = min_deadline(expiry, deadline_ms);
        if (!prod->stalled && prod->q_written > 0)
            wake = min_deadline(wake, prod->quiet_since + prod->conn.io_timeout_ms);
        int wait_ms = opportunistic ? 0 : (int)(wake > now ? wake - now : 0);
        bool out = prod->unwritten > 0 || edxbus__redis_io_pending_out(&prod->conn.io) > 0;
        struct pollfd pfd = {.fd = prod->conn.io.fd, .events = POLLIN | (out ? POLLOUT : 0)};
        int n = poll(&pfd, 1, wait_ms);
        if (n < 0 && errno == EINTR)
            continue;
        if (n > 0 && (pfd.revents & (POLLOUT | POLLERR | POLLHUP)) != 0)
            prod->out_full = false; /* writable again (or broken: the write will say) */
        if (n > 0 && (pfd.revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
            char text[160];
            if (edxbus__redis_io_read(&prod->conn.io, false, text, sizeof text) != EDXBUS_OK) {
                snprintf(why, sizeof why, "redis: %s closed the connection: %s",
                         prod->conn.url.display, text);
                abandon(prod, why);
            }
            continue;
        }
        if (n > 0)
            continue; /* writable */
        now = edxbus_clock_mono_ms();
        if (!prod->stalled && prod->q_written > 0 &&
            now - prod->quiet_since >= prod->conn.io_timeout_ms) {
            prod->stalled = true;
            edxbus_conf_log(prod->conn.conf, EDXBUS_LOG_WARNING,
                            "redis: %s has not answered for %lld ms; waiting up to %lld ms more "
                            "for %zu events it has not confirmed (EVENT_BUS_REDIS_DELIVERY_TIMEOUT)",
                            prod->conn.url.display, (long long)(now - prod->quiet_since),
                            (long long)(expiry - now), prod->q.len);
        }
        if (opportunistic)
            return EDXBUS_OK;
    }
}

/* ------------------------------------------------------------------------------------------ */
/* The ops slots */

edxbus_err_t edxbus__redis_producer_open(const edxbus_conf_t *conf, void **be, char *errstr,
                                         size_t errstr_size)
{
    *be = NULL;
    struct redis_producer *prod = calloc(1, sizeof *prod);
    if (prod == NULL) {
        edxbus_errf(errstr, errstr_size, "redis: out of memory");
        return EDXBUS_ERR_NOMEM;
    }
    edxbus_err_t err = edxbus__redis_trim_init(&prod->trim, conf, errstr, errstr_size);
    if (err != EDXBUS_OK) {
        free(prod);
        return err;
    }
    double secs = edxbus_conf_get_double(conf, REDIS_SETTING_DELIVERY_TIMEOUT,
                                         REDIS_DEFAULT_DELIVERY_TIMEOUT);
    if (!(secs > 0) || secs > 86400) {
        edxbus_errf(errstr, errstr_size,
                    REDIS_SETTING_DELIVERY_TIMEOUT ": %g is not a number of seconds between 0 and "
                                                   "86400; expected e.g. 30",
                    secs);
        free(prod);
        return EDXBUS_ERR_CONF;
    }
    prod->delivery_timeout_ms = (int64_t)(secs * 1000) > 0 ? (int64_t)(secs * 1000) : 1;
    edxbus__redis_wire_cmd_init(&prod->cmd);
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

/* One synchronous XADD within the socket timeout. It is sent again only when the first try
 * could not have reached the server (the connection was already closed, or the write
 * failed); an XADD written and not answered is never repeated. */
static edxbus_err_t produce_sync(struct redis_producer *prod, const struct edxbus_msg *msg,
                                 char *errstr, size_t errstr_size)
{
    char why[EDXBUS_ERRSTR_SIZE] = "";
    int64_t deadline = edxbus_clock_mono_ms() + prod->conn.io_timeout_ms;
    char *cmd = malloc(edxbus__redis_resp_size(prod->cmd.argc, prod->cmd.argv, prod->cmd.lens));
    if (cmd == NULL) {
        edxbus_errf(errstr, errstr_size, "redis: out of memory building XADD");
        return EDXBUS_ERR_NOMEM;
    }
    size_t len = edxbus__redis_resp_write(cmd, prod->cmd.argc, prod->cmd.argv, prod->cmd.lens);
    edxbus_err_t err = EDXBUS_ERR_IO;
    bool written = false;
    for (int attempt = 0; attempt < 2 && !written; attempt++) {
        if (edxbus__redis_conn_idle_closed(&prod->conn))
            edxbus__redis_conn_drop(&prod->conn);
        err = edxbus__redis_conn_ensure_until(&prod->conn, deadline, why, sizeof why);
        if (err != EDXBUS_OK)
            break;
        err = edxbus__redis_conn_send(&prod->conn, cmd, len, "XADD", why, sizeof why);
        written = err == EDXBUS_OK;
    }
    free(cmd);
    redisReply *reply = NULL;
    if (written) {
        int64_t left = deadline - edxbus_clock_mono_ms();
        edxbus__redis_conn_read_timeout(&prod->conn, left < 1 ? 1 : (int)left);
        err = edxbus__redis_conn_reply(&prod->conn, &reply, "XADD", why, sizeof why);
        if (err != EDXBUS_OK) {
            unknown_message_text(msg, why, errstr, errstr_size);
            return err == EDXBUS_ERR_IO ? EDXBUS_ERR_IO : EDXBUS_ERR_TIMEOUT;
        }
        edxbus__redis_conn_read_timeout(&prod->conn, 0);
        if (reply->type == REDIS_REPLY_ERROR)
            err = edxbus__redis_reply_error(reply, "XADD", why, sizeof why);
        else if (reply->type != REDIS_REPLY_STRING) {
            snprintf(why, sizeof why, "redis: XADD: unexpected reply type %d", reply->type);
            err = EDXBUS_ERR_BROKER;
        }
    }
    if (err == EDXBUS_OK) {
        if (prod->conn.audit)
            edxbus_conf_log(prod->conn.conf, EDXBUS_LOG_INFO,
                            "redis: produced event %s (%s) to stream %s as entry %s",
                            msg->metadata->id, msg->metadata->event_type, msg->topic, reply->str);
        edxbus__redis_trim_added(&prod->trim, msg->topic);
    } else {
        fail_message_text(msg, why, errstr, errstr_size);
    }
    freeReplyObject(reply);
    return err;
}

static edxbus_err_t produce_async(struct redis_producer *prod, const struct edxbus_msg *msg,
                                  edxbus_delivery_fn cb, void *cb_opaque, char *errstr,
                                  size_t errstr_size)
{
    char why[EDXBUS_ERRSTR_SIZE];
    if (prod->q.len >= MAX_IN_FLIGHT) /* bounded by the delivery timeout */
        pump(prod, MAX_IN_FLIGHT / 2, -1, why, sizeof why);
    /* One block: the message's copy, then its command (no allocation of its own). */
    size_t len = edxbus__redis_resp_size(prod->cmd.argc, prod->cmd.argv, prod->cmd.lens);
    struct inflight *f = edxbus_msg_copy_new(msg, sizeof *f + len, cb, cb_opaque);
    if (f == NULL)
        goto nomem;
    f->cmd = (char *)(f + 1);
    f->cmd_len = edxbus__redis_resp_write(f->cmd, prod->cmd.argc, prod->cmd.argv, prod->cmd.lens);
    if (edxbus_fifo_push(&prod->q, f) != EDXBUS_OK)
        goto nomem;
    prod->unwritten += f->cmd_len;
    prod->since_pump++;
    if (prod->since_pump >= PUMP_EVERY || prod->unwritten >= PUMP_BYTES) {
        prod->since_pump = 0;
        /* Failures are reported through the callbacks; produce() itself succeeded. */
        pump(prod, SIZE_MAX, -1, why, sizeof why);
    }
    return EDXBUS_OK;
nomem:
    free(f);
    edxbus_errf(errstr, errstr_size, "redis: out of memory queueing event %s for stream \"%s\"",
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
    if (prod->q.len > 0) {
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
    if (prod->q.len == 0)
        return EDXBUS_OK;
    int64_t deadline = edxbus_clock_mono_ms() + (timeout_ms < 0 ? 0 : timeout_ms);
    return pump(prod, 0, deadline, errstr, errstr_size);
}

void edxbus__redis_producer_close(void *be)
{
    struct redis_producer *prod = be;
    if (prod == NULL)
        return;
    char errstr[EDXBUS_ERRSTR_SIZE];
    if (prod->q.len > 0 && pump(prod, 0, -1, errstr, sizeof errstr) != EDXBUS_OK)
        settle_all_failed(prod, EDXBUS_ERR_IO, errstr);
    edxbus__redis_trim_fini(&prod->trim);
    edxbus__redis_conn_close(&prod->conn);
    edxbus__redis_wire_cmd_fini(&prod->cmd);
    edxbus_fifo_fini(&prod->q);
    free(prod);
}
