/* src/backends/redis/redis_consumer.c — consumer groups and tail mode over Redis Streams.
 *
 * In a group, poll() serves, in this order:
 *   1. this member's own pending entries (read before a restart, never acknowledged):
 *      `XREADGROUP GROUP g c COUNT n STREAMS s <cursor>` from 0 until a read comes back empty;
 *   2. with claim_msgs_older_than (ms, `--extra`): entries other members left idle that long,
 *      taken over with XAUTOCLAIM (at start, then once per that interval), so a member that died
 *      for good does not strand its entries;
 *   3. new entries: `XREADGROUP GROUP g c COUNT n BLOCK t STREAMS s >`.
 * ack() is XACK, batched: the ids of a batch go out in one XACK when the last message of the
 * batch is acknowledged, or at the next poll() or close(), whichever comes first. A
 * consumer that dies before that has the entries delivered again (contract 2), as it would
 * with one XACK per message. Tail mode (no group) is XREAD from a remembered id.
 *
 * Joining: `XGROUP CREATE s g <id> MKSTREAM`. A new group starts at `$` (latest) unless
 * opts->start says "earliest" or a position, or check_backlog asks for the backlog (the
 * reference's option). BUSYGROUP means the group exists: it resumes where it left off. (The
 * reference moves an existing group to `$` and so drops whatever arrived while its consumers
 * were down; we do not.) last_read_msg_id and start_time_ms move the group explicitly
 * (XGROUP SETID). A position handed to us (opts->start) is the first entry to deliver,
 * so the group is set to the id just before it; last_read_msg_id keeps the reference's meaning
 * (the last entry already read).
 *
 * Members: opts->consumer_name, else extra consumer_name, else "<host>-<pid>". A default-named
 * member takes over, at open, what dead default-named members of the same host left pending
 * (adopt_orphans()), so restarting a worker without --name loses nothing either.
 *
 * Failures: an I/O error drops the connection and poll() returns it (retriable); the next
 * poll() reconnects and reads this member's own pending entries again (step 1) before new
 * ones: a read that timed out may have been served after all once a stalled server resumed.
 * poll() neither counts failures nor sleeps after one: the worker alone owns that policy
 * (EVENT_BUS_REDIS_CONSUMER_CONSECUTIVE_ERRORS_LIMIT and _POLL_FAILURE_SLEEP, read by the bus,
 * whose sleep a stop request interrupts). Authentication errors are EDXBUS_ERR_AUTH, which the
 * worker does not retry. A group that vanished (server restarted without persistence) is
 * created again at 0, so nothing that producers wrote since is skipped.
 *
 * This file reads, acknowledges and moves; opening, joining and closing are in
 * redis_consumer_open.c (what they share is at the bottom of redis_int.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "redis_int.h"

/* ------------------------------------------------------------------------------------------ */
/* Stream ids */

/* The decimal digits at *@p p (at least one), as strtoull reads them: UINT64_MAX when the
 * number does not fit. By hand: every message read parses its id. */
static uint64_t take_u64(const char **p)
{
    uint64_t v = 0;
    bool over = false;
    for (; **p >= '0' && **p <= '9'; ++*p) {
        unsigned d = (unsigned)(**p - '0');
        over = over || v > (UINT64_MAX - d) / 10;
        v = v * 10 + d;
    }
    return over ? UINT64_MAX : v;
}

bool edxbus__redis_id_parse(const char *id, uint64_t *ms, uint64_t *seq)
{
    if (id[0] < '0' || id[0] > '9')
        return false;
    const char *end = id;
    *ms = take_u64(&end);
    *seq = 0;
    if (*end == '-') {
        if (end[1] < '0' || end[1] > '9')
            return false;
        end++;
        *seq = take_u64(&end);
    }
    return *end == '\0';
}

void edxbus__redis_id_before(uint64_t ms, uint64_t seq, char *out, size_t out_size)
{
    if (seq > 0)
        snprintf(out, out_size, "%" PRIu64 "-%" PRIu64, ms, seq - 1);
    else if (ms > 0)
        snprintf(out, out_size, "%" PRIu64 "-%" PRIu64, ms - 1, UINT64_MAX);
    else
        snprintf(out, out_size, "0-0");
}

/* The group/tail id that makes @p position ("earliest", "latest" or an id) the next read:
 * "0-0", "$" or the id before it. */
edxbus_err_t edxbus__redis_position_to_id(const char *position, char *out, size_t out_size,
                                          char *errstr, size_t errstr_size)
{
    uint64_t ms, seq;
    if (position == NULL || strcmp(position, "latest") == 0) {
        snprintf(out, out_size, "$");
    } else if (strcmp(position, "earliest") == 0) {
        snprintf(out, out_size, "0-0");
    } else if (edxbus__redis_id_parse(position, &ms, &seq)) {
        edxbus__redis_id_before(ms, seq, out, out_size);
    } else {
        edxbus_errf(errstr, errstr_size,
                    "redis: position \"%s\" is not a stream id; expected \"earliest\", \"latest\" "
                    "or e.g. 1700000000000-0",
                    position);
        return EDXBUS_ERR_INVALID_ARG;
    }
    return EDXBUS_OK;
}

/* ------------------------------------------------------------------------------------------ */
/* Commands */

edxbus_err_t edxbus__redis_cons_command(struct redis_consumer *cons, int argc, const char **argv,
                                        redisReply **out, char *errstr, size_t errstr_size)
{
    char what[320];
    bool sub = strcmp(argv[0], "XGROUP") == 0 || strcmp(argv[0], "XINFO") == 0;
    snprintf(what, sizeof what, "%s%s%s on stream \"%s\"", argv[0], sub ? " " : "",
             sub ? argv[1] : "", cons->stream);
    return edxbus__redis_conn_command(&cons->conn, argc, argv, NULL, out, what, errstr,
                                      errstr_size);
}

/* A command whose reply only says yes or no. */
static edxbus_err_t command_ok(struct redis_consumer *cons, int argc, const char **argv,
                               char *errstr, size_t errstr_size)
{
    redisReply *reply;
    edxbus_err_t err = edxbus__redis_cons_command(cons, argc, argv, &reply, errstr, errstr_size);
    freeReplyObject(reply);
    return err;
}

edxbus_err_t edxbus__redis_group_setid(struct redis_consumer *cons, const char *id, char *errstr,
                                       size_t errstr_size)
{
    const char *argv[] = {"XGROUP", "SETID", cons->stream, cons->group, id};
    return command_ok(cons, 5, argv, errstr, errstr_size);
}

/* XGROUP CREATE at @p id; an existing group is left where it is (BUSYGROUP). */
edxbus_err_t edxbus__redis_group_create(struct redis_consumer *cons, const char *id, bool *created,
                                        char *errstr, size_t errstr_size)
{
    const char *argv[] = {"XGROUP", "CREATE", cons->stream, cons->group, id, "MKSTREAM"};
    redisReply *reply;
    edxbus_err_t err = edxbus__redis_cons_command(cons, 6, argv, &reply, errstr, errstr_size);
    *created = err == EDXBUS_OK;
    if (edxbus__redis_reply_is(reply, "BUSYGROUP"))
        err = EDXBUS_OK;
    freeReplyObject(reply);
    return err;
}

/* The stream or the group is gone (a server restarted without persistence, a DEL): make it
 * again from 0 so that entries written since are not skipped. */
static edxbus_err_t group_recreate(struct redis_consumer *cons, const char *why, char *errstr,
                                   size_t errstr_size)
{
    edxbus_conf_log(cons->conn.conf, EDXBUS_LOG_WARNING,
                    "%s; creating group %s again from the start of the stream", why, cons->group);
    bool created;
    cons->nacks = 0; /* acknowledgements of a group that no longer exists */
    return edxbus__redis_group_create(cons, "0-0", &created, errstr, errstr_size);
}

/* Send the acknowledged ids in one XACK; they stay queued when that fails. */
edxbus_err_t edxbus__redis_flush_acks(struct redis_consumer *cons, char *errstr, size_t errstr_size)
{
    if (cons->nacks == 0 || cons->group == NULL)
        return EDXBUS_OK;
    const char **argv = malloc((cons->nacks + 3) * sizeof *argv);
    if (argv == NULL) {
        edxbus_errf(errstr, errstr_size, "redis: out of memory acknowledging");
        return EDXBUS_ERR_NOMEM;
    }
    argv[0] = "XACK";
    argv[1] = cons->stream;
    argv[2] = cons->group;
    for (size_t i = 0; i < cons->nacks; i++)
        argv[3 + i] = cons->acks[i];
    redisReply *reply = NULL;
    edxbus_err_t err = edxbus__redis_conn_ensure(&cons->conn, 1, errstr, errstr_size);
    if (err == EDXBUS_OK)
        err = edxbus__redis_cons_command(cons, (int)cons->nacks + 3, argv, &reply, errstr,
                                         errstr_size);
    free(argv);
    if (edxbus__redis_reply_is(reply, "NOGROUP"))
        err = group_recreate(cons, errstr, errstr, errstr_size);
    freeReplyObject(reply);
    if (err == EDXBUS_OK)
        cons->nacks = 0;
    return err;
}

/* ------------------------------------------------------------------------------------------ */
/* Batches */

/* Turn an array of entries into the batch. @p reply is kept until the next poll. */
static edxbus_err_t fill_batch(struct redis_consumer *cons, redisReply *reply,
                               const redisReply *entries, int64_t deliveries, char *errstr,
                               size_t errstr_size)
{
    cons->batch_reply = reply;
    size_t n = entries ? entries->elements : 0;
    if (edxbus_slots_reserve(&cons->batch, n) != EDXBUS_OK)
        goto nomem;
    for (size_t i = 0; i < n; i++) {
        struct edxbus_slot *s = &cons->batch.slots[i];
        struct edxbus_msg *msg = &cons->batch.msgs[i];
        if (edxbus__redis_wire_parse(entries->element[i], cons->stream, cons->service_name, msg,
                                     s) != EDXBUS_OK)
            goto nomem;
        msg->deliveries = deliveries;
        if (msg->unusable != NULL)
            edxbus_conf_log(cons->conn.conf, EDXBUS_LOG_WARNING, "%s", msg->unusable);
        else if (cons->conn.audit)
            edxbus_conf_log(cons->conn.conf, EDXBUS_LOG_INFO,
                            "redis: consumed event %s (%s) from stream %s entry %s", s->md.id,
                            s->md.event_type, cons->stream, msg->position);
    }
    cons->batch_n = n;
    return EDXBUS_OK;
nomem:
    edxbus_errf(errstr, errstr_size, "redis: out of memory reading stream \"%s\"", cons->stream);
    return EDXBUS_ERR_NOMEM;
}

/* The entries of the one stream in an XREAD/XREADGROUP reply, or NULL (timeout, nil). */
static const redisReply *read_entries(const redisReply *reply)
{
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY || reply->elements < 1)
        return NULL;
    const redisReply *s = reply->element[0];
    if (s->type != REDIS_REPLY_ARRAY || s->elements != 2 ||
        s->element[1]->type != REDIS_REPLY_ARRAY)
        return NULL;
    return s->element[1];
}

/* Delivery counts of the current batch from XPENDING (re-deliveries: pending, claimed). */
static void fill_deliveries(struct redis_consumer *cons)
{
    if (cons->batch_n == 0)
        return;
    char count[24];
    snprintf(count, sizeof count, "%zu", cons->batch_n);
    const char *argv[] = {"XPENDING",
                          cons->stream,
                          cons->group,
                          cons->batch.msgs[0].position,
                          cons->batch.msgs[cons->batch_n - 1].position,
                          count,
                          cons->consumer};
    redisReply *reply;
    char errstr[EDXBUS_ERRSTR_SIZE];
    if (edxbus__redis_cons_command(cons, 7, argv, &reply, errstr, sizeof errstr) == EDXBUS_OK &&
        reply->type == REDIS_REPLY_ARRAY) {
        size_t j = 0;
        for (size_t i = 0; i < reply->elements; i++) {
            const redisReply *p = reply->element[i];
            if (p->type != REDIS_REPLY_ARRAY || p->elements < 4)
                continue;
            while (j < cons->batch_n &&
                   strcmp(cons->batch.msgs[j].position, p->element[0]->str) != 0)
                j++;
            if (j < cons->batch_n)
                cons->batch.msgs[j].deliveries = p->element[3]->integer;
        }
    }
    freeReplyObject(reply);
}

/* 1. own pending entries. Returns with batch_n == 0 once there are none left. */
static edxbus_err_t poll_pending(struct redis_consumer *cons, size_t max, char *errstr,
                                 size_t errstr_size)
{
    char count[24];
    snprintf(count, sizeof count, "%zu", max);
    const char *argv[] = {"XREADGROUP", "GROUP",   cons->group,  cons->consumer,      "COUNT",
                          count,        "STREAMS", cons->stream, cons->pending_cursor};
    redisReply *reply;
    edxbus_err_t err = edxbus__redis_cons_command(cons, 9, argv, &reply, errstr, errstr_size);
    if (edxbus__redis_reply_is(reply, "NOGROUP")) {
        cons->pending_phase = false; /* a new group has nothing pending */
        err = group_recreate(cons, errstr, errstr, errstr_size);
    }
    if (err != EDXBUS_OK || reply->type == REDIS_REPLY_ERROR) {
        freeReplyObject(reply);
        return err;
    }
    const redisReply *entries = read_entries(reply);
    err = fill_batch(cons, reply, entries, 2, errstr, errstr_size);
    if (err == EDXBUS_OK && cons->batch_n > 0) {
        snprintf(cons->pending_cursor, sizeof cons->pending_cursor, "%s",
                 cons->batch.msgs[cons->batch_n - 1].position);
        fill_deliveries(cons);
    } else if (err == EDXBUS_OK) {
        cons->pending_phase = false;
        edxbus_conf_log(cons->conn.conf, EDXBUS_LOG_INFO,
                        "redis: %s has no pending entries left in group %s of stream %s",
                        cons->consumer, cons->group, cons->stream);
    }
    return err;
}

/* 2. entries other members left idle for claim_ms. */
static edxbus_err_t poll_claim(struct redis_consumer *cons, size_t max, char *errstr,
                               size_t errstr_size)
{
    char count[24], idle[24];
    snprintf(count, sizeof count, "%zu", max);
    snprintf(idle, sizeof idle, "%" PRId64, cons->claim_ms);
    const char *argv[] = {"XAUTOCLAIM", cons->stream,       cons->group, cons->consumer,
                          idle,         cons->claim_cursor, "COUNT",     count};
    redisReply *reply;
    edxbus_err_t err = edxbus__redis_cons_command(cons, 8, argv, &reply, errstr, errstr_size);
    if (edxbus__redis_reply_is(reply, "NOGROUP")) {
        err = group_recreate(cons, errstr, errstr, errstr_size);
    } else if (err == EDXBUS_ERR_BROKER && strstr(reply->str, "unknown command") != NULL) {
        edxbus_conf_log(cons->conn.conf, EDXBUS_LOG_WARNING,
                        "%s: claim_msgs_older_than needs XAUTOCLAIM (Redis >= 6.2); not "
                        "claiming",
                        errstr);
        cons->claim_ms = -1;
        err = EDXBUS_OK;
    }
    if (err != EDXBUS_OK || reply->type != REDIS_REPLY_ARRAY || reply->elements < 2) {
        freeReplyObject(reply);
        return err;
    }
    /* [next cursor, entries, (7.0+) ids of deleted entries, which XAUTOCLAIM drops itself] */
    const redisReply *next = reply->element[0];
    snprintf(cons->claim_cursor, sizeof cons->claim_cursor, "%.*s", (int)next->len, next->str);
    if (strcmp(cons->claim_cursor, "0-0") == 0)
        cons->next_claim_ms = edxbus_clock_mono_ms() + cons->claim_ms;
    const redisReply *entries = reply->element[1];
    err = fill_batch(cons, reply, entries->type == REDIS_REPLY_ARRAY ? entries : NULL, 2, errstr,
                     errstr_size);
    if (err == EDXBUS_OK && cons->batch_n > 0) {
        edxbus_conf_log(cons->conn.conf, EDXBUS_LOG_WARNING,
                        "redis: %s claimed %zu entries idle for over %" PRId64
                        " ms in group %s of stream %s",
                        cons->consumer, cons->batch_n, cons->claim_ms, cons->group, cons->stream);
        fill_deliveries(cons);
    }
    return err;
}

/* 3. new entries. */
static edxbus_err_t poll_new(struct redis_consumer *cons, size_t max, int timeout_ms, char *errstr,
                             size_t errstr_size)
{
    char count[24], block[24];
    snprintf(count, sizeof count, "%zu", max);
    snprintf(block, sizeof block, "%d", timeout_ms);
    const char *argv[14];
    int argc = 0;
    if (cons->group != NULL) {
        argv[argc++] = "XREADGROUP";
        argv[argc++] = "GROUP";
        argv[argc++] = cons->group;
        argv[argc++] = cons->consumer;
    } else {
        argv[argc++] = "XREAD";
    }
    argv[argc++] = "COUNT";
    argv[argc++] = count;
    if (timeout_ms > 0) { /* BLOCK 0 would wait forever */
        argv[argc++] = "BLOCK";
        argv[argc++] = block;
    }
    argv[argc++] = "STREAMS";
    argv[argc++] = cons->stream;
    argv[argc++] = cons->group ? ">" : cons->tail_last;
    edxbus__redis_conn_read_timeout(&cons->conn, timeout_ms + cons->conn.io_timeout_ms);
    cons->conn.wake_next = cons->waker; /* a stop request cuts the BLOCK short */
    redisReply *reply;
    edxbus_err_t err = edxbus__redis_cons_command(cons, argc, argv, &reply, errstr, errstr_size);
    if (edxbus__redis_reply_is(reply, "NOGROUP")) {
        freeReplyObject(reply);
        return group_recreate(cons, errstr, errstr, errstr_size);
    }
    if (err != EDXBUS_OK) {
        freeReplyObject(reply);
        return err;
    }
    err = fill_batch(cons, reply, read_entries(reply), 1, errstr, errstr_size);
    if (err == EDXBUS_OK && cons->batch_n > 0)
        snprintf(cons->group ? cons->handed_max : cons->tail_last, EDXBUS_POSITION_MAX, "%s",
                 cons->batch.msgs[cons->batch_n - 1].position);
    else if (err == EDXBUS_OK && cons->group != NULL)
        cons->new_exhausted = true;
    return err;
}

void edxbus__redis_batch_release(struct redis_consumer *cons)
{
    freeReplyObject(cons->batch_reply);
    cons->batch_reply = NULL;
    cons->batch_n = 0;
    cons->batch_acked = 0;
}

static edxbus_err_t poll_once(struct redis_consumer *cons, size_t max, int timeout_ms, char *errstr,
                              size_t errstr_size)
{
    edxbus_err_t err = edxbus__redis_conn_ensure(&cons->conn, 1, errstr, errstr_size);
    if (err == EDXBUS_OK)
        err = edxbus__redis_flush_acks(cons, errstr, errstr_size);
    if (err != EDXBUS_OK || cons->group == NULL)
        return err == EDXBUS_OK ? poll_new(cons, max, timeout_ms, errstr, errstr_size) : err;
    if (cons->pending_phase) {
        err = poll_pending(cons, max, errstr, errstr_size);
        if (err != EDXBUS_OK || cons->batch_n > 0)
            return err;
        edxbus__redis_batch_release(cons);
    }
    if (cons->claim_ms >= 0 && edxbus_clock_mono_ms() >= cons->next_claim_ms) {
        err = poll_claim(cons, max, errstr, errstr_size);
        if (err != EDXBUS_OK || cons->batch_n > 0)
            return err;
        edxbus__redis_batch_release(cons);
    }
    return poll_new(cons, max, timeout_ms, errstr, errstr_size);
}

edxbus_err_t edxbus__redis_poll(void *be, struct edxbus_batch *out, size_t max, int timeout_ms,
                                char *errstr, size_t errstr_size)
{
    struct redis_consumer *cons = be;
    out->msgs = NULL;
    out->n = 0;
    edxbus__redis_batch_release(cons);
    if (edxbus_waker_woken(cons->waker))
        return EDXBUS_OK; /* stopping: nothing more is read */
    if (max == 0)
        max = 1;
    if (timeout_ms < 0)
        timeout_ms = cons->default_timeout_ms;
    if (cons->claim_ms >= 0 && cons->group != NULL) { /* block no longer than the next claim */
        int64_t until_claim = cons->next_claim_ms - edxbus_clock_mono_ms();
        if (until_claim < timeout_ms)
            timeout_ms = until_claim < 1 ? 1 : (int)until_claim;
    }
    edxbus_err_t err = poll_once(cons, max, timeout_ms, errstr, errstr_size);
    if (err == EDXBUS_OK) {
        out->msgs = cons->batch.msgs;
        out->n = cons->batch_n;
        return EDXBUS_OK;
    }
    edxbus__redis_batch_release(cons);
    if (cons->group != NULL) {
        /* A read that failed, timed out or was cut short may still have been served: a stalled server runs
         * the XREADGROUP it received once it resumes, and the entries become pending on this
         * member although we never saw them. Read our own pending entries again first. */
        cons->pending_phase = true;
        snprintf(cons->pending_cursor, sizeof cons->pending_cursor, "0-0");
    }
    if (edxbus_waker_woken(cons->waker))
        return EDXBUS_OK; /* cut short by a stop request: an empty batch */
    return err;
}

edxbus_err_t edxbus__redis_ack(void *be, const struct edxbus_msg *msg, char *errstr,
                               size_t errstr_size)
{
    struct redis_consumer *cons = be;
    if (cons->group == NULL)
        return EDXBUS_OK;
    if (cons->nacks == cons->acks_cap) {
        size_t cap = cons->acks_cap ? cons->acks_cap * 2 : 64;
        char(*acks)[EDXBUS_POSITION_MAX] = realloc(cons->acks, cap * sizeof *acks);
        if (acks == NULL) {
            edxbus_errf(errstr, errstr_size, "redis: out of memory acknowledging %s",
                        msg->position);
            return EDXBUS_ERR_NOMEM;
        }
        cons->acks = acks;
        cons->acks_cap = cap;
    }
    memcpy(cons->acks[cons->nacks++], msg->position, EDXBUS_POSITION_MAX);
    cons->batch_acked++;
    if (cons->batch_acked < cons->batch_n)
        return EDXBUS_OK;
    return edxbus__redis_flush_acks(cons, errstr, errstr_size);
}

/* ------------------------------------------------------------------------------------------ */
/* Moving */

/* The id of the newest entry (tail mode's "latest"), "0-0" for an empty stream. */
static edxbus_err_t last_id(struct redis_consumer *cons, char *out, size_t out_size, char *errstr,
                            size_t errstr_size)
{
    const char *argv[] = {"XREVRANGE", cons->stream, "+", "-", "COUNT", "1"};
    redisReply *reply;
    edxbus_err_t err = edxbus__redis_cons_command(cons, 6, argv, &reply, errstr, errstr_size);
    snprintf(out, out_size, "0-0");
    if (err == EDXBUS_OK && reply->elements == 1 && reply->element[0]->elements == 2)
        snprintf(out, out_size, "%s", reply->element[0]->element[0]->str);
    freeReplyObject(reply);
    return err;
}

edxbus_err_t edxbus__redis_note_end(struct redis_consumer *cons, char *errstr, size_t errstr_size)
{
    snprintf(cons->handed_max, sizeof cons->handed_max, "0-0");
    return last_id(cons, cons->end_id, sizeof cons->end_id, errstr, errstr_size);
}

/* Whether stream id @p a is at or after @p b (ids that do not parse count as 0-0). */
static bool id_at_or_after(const char *a, const char *b)
{
    uint64_t ams = 0, aseq = 0, bms = 0, bseq = 0;
    edxbus__redis_id_parse(a, &ams, &aseq);
    edxbus__redis_id_parse(b, &bms, &bseq);
    return ams > bms || (ams == bms && aseq >= bseq);
}

/* Handed out everything stored at open: a tail read past the newest id noted then; a group
 * reader has read its own pending entries and then new ones past that id (or found none left:
 * XREADGROUP's ">" answers at once while the group has undelivered entries). */
edxbus_err_t edxbus__redis_caught_up(void *be, bool *done, char *errstr, size_t errstr_size)
{
    struct redis_consumer *cons = be;
    if (!cons->reader) {
        edxbus_errf(errstr, errstr_size,
                    "redis: caught_up is defined for a tail or a no_join reader only");
        return EDXBUS_ERR_UNSUPPORTED;
    }
    if (cons->group == NULL)
        *done = id_at_or_after(cons->tail_last, cons->end_id);
    else
        *done = !cons->pending_phase &&
                (cons->new_exhausted || id_at_or_after(cons->handed_max, cons->end_id));
    return EDXBUS_OK;
}

edxbus_err_t edxbus__redis_move_to(struct redis_consumer *cons, const char *id, char *errstr,
                                   size_t errstr_size)
{
    edxbus_err_t err =
        edxbus__redis_conn_ensure(&cons->conn, REDIS_CONNECT_ATTEMPTS, errstr, errstr_size);
    if (err == EDXBUS_OK)
        err = edxbus__redis_flush_acks(cons, errstr, errstr_size);
    if (err != EDXBUS_OK)
        return err;
    if (cons->group != NULL)
        return edxbus__redis_group_setid(cons, id, errstr, errstr_size);
    if (strcmp(id, "$") == 0)
        return last_id(cons, cons->tail_last, sizeof cons->tail_last, errstr, errstr_size);
    snprintf(cons->tail_last, sizeof cons->tail_last, "%s", id);
    return EDXBUS_OK;
}
