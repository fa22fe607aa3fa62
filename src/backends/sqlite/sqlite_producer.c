/* src/backends/sqlite/sqlite_producer.c — appending to the log.
 *
 * Synchronous produce() (no callback) is one write transaction per message: it returns
 * EDXBUS_OK after COMMIT, which with synchronous=FULL (the default) means the WAL was fsynced.
 * Asynchronous produce() (a callback) copies the message into an in-memory queue; the queue is
 * committed as one transaction when it holds SQ_ASYNC_BATCH messages, when its oldest message
 * is older than SQ_ASYNC_LINGER_MS (checked on the next produce), and at flush()/close(). Then
 * every callback runs, in produce order, with the message number as position. A failed batch commit
 * reports the error to each message's callback; nothing is dropped silently.
 *
 * edxbus_sqlite_append_tx() (outbox.h) runs the same insert on a database handle the caller owns,
 * inside the caller's transaction: a producer that neither begins nor commits.
 *
 * Ids: the first message of a topic in a transaction looks up the topic's newest id; the rest
 * count up in memory (the transaction holds the write lock). See sqlite_int.h for the layout.
 *
 * Removing old messages (retention, EVENT_BUS_SQLITE_MAX_LEN included) is sqlite_retain.c's: a
 * producer runs it between sends when it is due, in its own short transaction, so a topic that
 * nobody consumes does not grow for ever either. It never removes what a group has not
 * acknowledged.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sqlite_int.h"
#include "edxbus/conf.h"
#include "edxbus/outbox.h"

/* What a producer remembers per topic it wrote to. */
struct topic_count {
    char *topic;
    int64_t tid;     /* 0 until looked up */
    int64_t last_id; /* the newest id, valid inside transaction number txn only */
    uint64_t txn;
};

struct sq_producer {
    struct sq_db db;
    sqlite3_stmt *insert;
    sqlite3_stmt *newest; /* the newest id of a topic */
    uint64_t txn;         /* transactions begun, to tell topic_count.last_id's age */
    struct sq_retain ret;
    struct topic_count *topics;
    size_t ntopics;
    struct edxbus_fifo queue; /* struct edxbus_msg_copy *: queued asynchronous messages */
    int64_t queue_since_ms;   /* when the oldest queued message arrived */
    struct edxbus_buf hdrbuf; /* headers column of the message being inserted */
};

static const char *const INSERT_SQL =
    "INSERT INTO messages(id, stored_ms, event_type, event_id, minorversion, source,"
    " sourcehost, time_us, sourcelib, key, value, headers) VALUES(?,?,?,?,?,?,?,?,?,?,?,?)";

static const char *const NEWEST_SQL =
    "SELECT id FROM messages WHERE id >= ?1 AND id <= ?2 ORDER BY id DESC LIMIT 1";

edxbus_err_t edxbus__sq_producer_open(const edxbus_conf_t *conf, void **be, char *errstr,
                                      size_t errstr_size)
{
    struct sq_producer *prod = calloc(1, sizeof *prod);
    if (prod == NULL)
        return EDXBUS_ERR_NOMEM;
    edxbus_err_t err = edxbus__sq_db_open(&prod->db, conf, true, errstr, errstr_size);
    if (err != EDXBUS_OK) {
        free(prod);
        return err;
    }
    err = edxbus__sq_retain_init(&prod->ret, conf, errstr, errstr_size);
    if (err != EDXBUS_OK)
        goto out_close;
    err = edxbus__sq_prepare(&prod->db, INSERT_SQL, &prod->insert, "prepare the insert", errstr,
                             errstr_size);
    if (err != EDXBUS_OK)
        goto out_close;
    err = edxbus__sq_prepare(&prod->db, NEWEST_SQL, &prod->newest, "prepare the newest lookup",
                             errstr, errstr_size);
    if (err != EDXBUS_OK)
        goto out_close;
    *be = prod;
    return EDXBUS_OK;
out_close:
    sqlite3_finalize(prod->insert);
    sqlite3_finalize(prod->newest);
    edxbus__sq_retain_fini(&prod->ret);
    edxbus__sq_db_close(&prod->db);
    free(prod);
    return err;
}

static struct topic_count *topic_entry(struct sq_producer *prod, const char *topic)
{
    for (size_t i = 0; i < prod->ntopics; i++)
        if (strcmp(prod->topics[i].topic, topic) == 0)
            return &prod->topics[i];
    struct topic_count *grown = realloc(prod->topics, (prod->ntopics + 1) * sizeof *grown);
    if (grown == NULL)
        return NULL;
    prod->topics = grown;
    struct topic_count *tc = &grown[prod->ntopics];
    memset(tc, 0, sizeof *tc);
    tc->topic = strdup(topic);
    if (tc->topic == NULL)
        return NULL;
    prod->ntopics++;
    return tc;
}

/* The id for the next message to @p tc (inside the open transaction, which holds the write
 * lock: nobody else appends meanwhile, so after one lookup per transaction ids count up). */
static edxbus_err_t next_id(struct sq_producer *prod, struct topic_count *tc, int64_t *id,
                            char *errstr, size_t errstr_size)
{
    edxbus_err_t err;
    if (tc->tid == 0) {
        err = edxbus__sq_topic_id(&prod->db, tc->topic, true, &tc->tid, errstr, errstr_size);
        if (err != EDXBUS_OK)
            return err;
    }
    int64_t lo = tc->tid << SQ_SEQ_BITS;
    if (tc->txn != prod->txn) {
        sqlite3_bind_int64(prod->newest, 1, lo);
        sqlite3_bind_int64(prod->newest, 2, lo | SQ_SEQ_MASK);
        err = edxbus__sq_int(&prod->db, prod->newest, lo, &tc->last_id, "find the newest id",
                             errstr, errstr_size);
        if (err != EDXBUS_OK)
            return err;
        tc->txn = prod->txn;
    }
    if ((tc->last_id & SQ_SEQ_MASK) == SQ_SEQ_MASK) {
        edxbus_errf(errstr, errstr_size, "sqlite: topic %s is full (%lld messages)", tc->topic,
                    (long long)SQ_SEQ_MASK);
        return EDXBUS_ERR_BROKER;
    }
    *id = ++tc->last_id;
    return EDXBUS_OK;
}

/* BEGIN IMMEDIATE, numbering the transaction for next_id(). */
static edxbus_err_t begin(struct sq_producer *prod, char *errstr, size_t errstr_size)
{
    prod->txn++;
    return edxbus__sq_begin(&prod->db, errstr, errstr_size);
}

/* INSERT one message inside the open transaction; *id gets its id. */
static edxbus_err_t insert_one(struct sq_producer *prod, const struct edxbus_msg *msg,
                               int64_t stored_ms, int64_t *id, char *errstr, size_t errstr_size)
{
    sqlite3_stmt *st = prod->insert;
    char sourcelib[EDXBUS_SOURCELIB_MAX * 24];
    struct topic_count *tc = topic_entry(prod, msg->topic);
    if (tc == NULL) {
        edxbus_errf(errstr, errstr_size, "sqlite: out of memory producing to %s", msg->topic);
        return EDXBUS_ERR_NOMEM;
    }
    edxbus_err_t err = next_id(prod, tc, id, errstr, errstr_size);
    if (err != EDXBUS_OK)
        return err;
    edxbus_buf_reset(&prod->hdrbuf);
    if (msg->nheaders &&
        edxbus__sq_headers_encode(msg->headers, msg->nheaders, &prod->hdrbuf) != EDXBUS_OK) {
        edxbus_errf(errstr, errstr_size, "sqlite: cannot encode the headers of a message to %s",
                    msg->topic);
        return EDXBUS_ERR_NOMEM;
    }
    if (edxbus__sq_metadata_bind(st, 3, msg->metadata, sourcelib, sizeof sourcelib) != EDXBUS_OK) {
        edxbus_errf(errstr, errstr_size, "sqlite: metadata sourcelib does not fit");
        return EDXBUS_ERR_INVALID_ARG;
    }
    sqlite3_bind_int64(st, 1, *id);
    sqlite3_bind_int64(st, 2, stored_ms);
    if (msg->key != NULL)
        sqlite3_bind_blob(st, 10, msg->key, (int)msg->key_len, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 10);
    /* An empty value is still a value (zeroblob keeps NOT NULL satisfied). */
    if (msg->value_len)
        sqlite3_bind_blob(st, 11, msg->value, (int)msg->value_len, SQLITE_STATIC);
    else
        sqlite3_bind_zeroblob(st, 11, 0);
    if (msg->nheaders)
        sqlite3_bind_blob(st, 12, prod->hdrbuf.data, (int)prod->hdrbuf.len, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, 12);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc != SQLITE_DONE)
        return edxbus__sq_fail(&prod->db, rc, "insert a message", errstr, errstr_size);
    return EDXBUS_OK;
}

static bool msg_valid(const struct edxbus_msg *msg, char *errstr, size_t errstr_size)
{
    if (msg == NULL || msg->topic == NULL || *msg->topic == '\0') {
        edxbus_errf(errstr, errstr_size, "sqlite: produce: the message has no topic");
        return false;
    }
    if (msg->value == NULL && msg->value_len != 0) {
        edxbus_errf(errstr, errstr_size, "sqlite: produce: value is NULL with length %zu",
                    msg->value_len);
        return false;
    }
    if (msg->key_len > INT32_MAX || msg->value_len > INT32_MAX) {
        edxbus_errf(errstr, errstr_size, "sqlite: produce: message to %s is over 2 GiB",
                    msg->topic);
        return false;
    }
    return true;
}

/* Commit the whole queue in one transaction, then report every message. */
static edxbus_err_t commit_queue(struct sq_producer *prod, char *errstr, size_t errstr_size)
{
    size_t n = prod->queue.len;
    if (n == 0)
        return EDXBUS_OK;
    char why[EDXBUS_ERRSTR_SIZE] = "";
    int64_t *ids = calloc(n, sizeof *ids);
    edxbus_err_t err = ids ? EDXBUS_OK : EDXBUS_ERR_NOMEM;
    if (err == EDXBUS_OK)
        err = edxbus__sq_db_still_there(&prod->db, edxbus_clock_wall_ms(), why, sizeof why);
    if (err == EDXBUS_OK)
        err = begin(prod, why, sizeof why);
    if (err == EDXBUS_OK) {
        int64_t now = edxbus_clock_wall_ms();
        for (size_t i = 0; i < n && err == EDXBUS_OK; i++) {
            const struct edxbus_msg_copy *c = edxbus_fifo_at(&prod->queue, i);
            err = insert_one(prod, &c->msg, now, &ids[i], why, sizeof why);
        }
        if (err == EDXBUS_OK)
            err = edxbus__sq_commit(&prod->db, why, sizeof why);
        else
            edxbus__sq_rollback(&prod->db);
    }
    if (err != EDXBUS_OK && why[0] == '\0')
        snprintf(why, sizeof why, "sqlite: %s", edxbus_err2str(err));
    /* Detach the queue first: a callback may produce again. */
    struct edxbus_fifo queue = prod->queue;
    prod->queue = (struct edxbus_fifo)EDXBUS_FIFO_INIT;
    for (size_t i = 0; i < n; i++) {
        struct edxbus_msg_copy *c = edxbus_fifo_pop(&queue);
        char pos[EDXBUS_POSITION_MAX];
        if (err == EDXBUS_OK)
            edxbus__sq_position_text(ids[i] & SQ_SEQ_MASK, pos);
        edxbus_msg_copy_report(c, err, why, pos);
        free(c);
    }
    if (prod->queue.items == NULL)
        prod->queue = queue; /* reuse the array */
    else
        edxbus_fifo_fini(&queue);
    free(ids);
    if (err != EDXBUS_OK)
        edxbus_errf(errstr, errstr_size, "%s", why);
    else
        edxbus__sq_retain_tick(&prod->db, &prod->ret, edxbus_clock_wall_ms(), false);
    return err;
}

edxbus_err_t edxbus__sq_produce(void *be, const struct edxbus_msg *msg, edxbus_delivery_fn cb,
                                void *cb_opaque, char *errstr, size_t errstr_size)
{
    struct sq_producer *prod = be;
    if (!msg_valid(msg, errstr, errstr_size))
        return EDXBUS_ERR_INVALID_ARG;
    if (cb == NULL) {
        /* Keep produce order: whatever was queued before goes first. */
        edxbus_err_t err = commit_queue(prod, errstr, errstr_size);
        if (err != EDXBUS_OK)
            return err;
        int64_t id;
        err = edxbus__sq_db_still_there(&prod->db, edxbus_clock_wall_ms(), errstr, errstr_size);
        if (err == EDXBUS_OK)
            err = begin(prod, errstr, errstr_size);
        if (err != EDXBUS_OK)
            return err;
        err = insert_one(prod, msg, edxbus_clock_wall_ms(), &id, errstr, errstr_size);
        if (err != EDXBUS_OK) {
            edxbus__sq_rollback(&prod->db);
            return err;
        }
        err = edxbus__sq_commit(&prod->db, errstr, errstr_size);
        if (err == EDXBUS_OK)
            edxbus__sq_retain_tick(&prod->db, &prod->ret, edxbus_clock_wall_ms(), false);
        return err;
    }
    struct edxbus_msg_copy *c = edxbus_msg_copy_new(msg, sizeof *c, cb, cb_opaque);
    if (c == NULL || edxbus_fifo_push(&prod->queue, c) != EDXBUS_OK) {
        free(c);
        edxbus_errf(errstr, errstr_size, "sqlite: out of memory queueing a message to %s",
                    msg->topic);
        return EDXBUS_ERR_NOMEM;
    }
    if (prod->queue.len == 1)
        prod->queue_since_ms = edxbus_clock_wall_ms();
    if (prod->queue.len == SQ_ASYNC_BATCH ||
        edxbus_clock_wall_ms() - prod->queue_since_ms >= SQ_ASYNC_LINGER_MS) {
        /* The outcome went to the callbacks; this call itself queued its message fine. */
        char ignored[EDXBUS_ERRSTR_SIZE];
        commit_queue(prod, ignored, sizeof ignored);
    }
    return EDXBUS_OK;
}

edxbus_err_t edxbus__sq_flush(void *be, int timeout_ms, char *errstr, size_t errstr_size)
{
    /* A commit either finishes or fails within the busy timeout; the queue is then empty, so
     * there is nothing left to wait for and timeout_ms only bounds nothing further. */
    return commit_queue(be, errstr, errstr_size);
}

void edxbus__sq_producer_close(void *be)
{
    struct sq_producer *prod = be;
    if (prod == NULL)
        return;
    char ignored[EDXBUS_ERRSTR_SIZE];
    commit_queue(prod, ignored, sizeof ignored);
    sqlite3_finalize(prod->insert);
    sqlite3_finalize(prod->newest);
    edxbus__sq_retain_fini(&prod->ret);
    edxbus__sq_db_close(&prod->db);
    for (size_t i = 0; i < prod->ntopics; i++)
        free(prod->topics[i].topic);
    free(prod->topics);
    edxbus_fifo_fini(&prod->queue);
    edxbus_buf_fini(&prod->hdrbuf);
    free(prod);
}

edxbus_err_t edxbus_sqlite_append_tx(sqlite3 *h, const struct edxbus_msg *msg, char *errstr,
                                     size_t errstr_size)
{
    if (h == NULL || sqlite3_get_autocommit(h)) {
        edxbus_errf(errstr, errstr_size,
                    "sqlite: no transaction is open on the database; BEGIN IMMEDIATE first, then "
                    "write the event with the business change and COMMIT both");
        return EDXBUS_ERR_STATE;
    }
    if (!msg_valid(msg, errstr, errstr_size))
        return EDXBUS_ERR_INVALID_ARG;
    struct sq_producer prod = {.txn = 1};
    prod.db.h = h;
    prod.db.busy_ms = SQ_BUSY_MS;
    const char *file = sqlite3_db_filename(h, "main");
    snprintf(prod.db.path, sizeof prod.db.path, "%s", file != NULL && *file ? file : ":memory:");
    int64_t id;
    edxbus_err_t err = edxbus__sq_schema_in_tx(&prod.db, errstr, errstr_size);
    if (err == EDXBUS_OK)
        err = edxbus__sq_prepare(&prod.db, INSERT_SQL, &prod.insert, "prepare the insert", errstr,
                                 errstr_size);
    if (err == EDXBUS_OK)
        err = edxbus__sq_prepare(&prod.db, NEWEST_SQL, &prod.newest, "prepare the newest lookup",
                                 errstr, errstr_size);
    if (err == EDXBUS_OK)
        err = insert_one(&prod, msg, edxbus_clock_wall_ms(), &id, errstr, errstr_size);
    sqlite3_finalize(prod.insert);
    sqlite3_finalize(prod.newest);
    for (size_t i = 0; i < prod.ntopics; i++)
        free(prod.topics[i].topic);
    free(prod.topics);
    edxbus_buf_fini(&prod.hdrbuf);
    return err;
}
