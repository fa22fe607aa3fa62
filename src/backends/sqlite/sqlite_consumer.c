/* src/backends/sqlite/sqlite_consumer.c — joining a group (or tailing), polling, acks.
 *
 * consumer_open() creates the group when it is new, at opts->start: "latest" (default: the
 * cursor goes past the topic's newest message), "earliest" or a position (a message number:
 * that message is the first delivered). An existing group keeps its cursor. opts->start_time_ms
 * >= 0 then moves the cursor to the first row of the topic stored at or after that time
 * (replay). The member registers under its name (default "<host>-<pid>"); a member that
 * restarts under the same name gets its unacknowledged messages first.
 *
 * poll() blocks without holding any lock: it asks SQLite whether anything changed since it last
 * looked (PRAGMA data_version, a shared-memory read), and only then whether rows exist past the
 * cursor; it sleeps 1, 2, 4… up to SQ_POLL_SLEEP_MAX_MS ms between looks, so a new row is seen
 * within that time; wake() ends the sleep at once (a stopping consumer). Only when there is
 * something to do (rows, acks to commit, a claim check due) does it run the write transaction
 * of sqlite_take.c. An idle member writes nothing but its
 * heartbeat (seen_ms, every SQ_HEARTBEAT_MS), and looks for dead members read-only every
 * SQ_CLAIM_CHECK_MS.
 *
 * consumer_close() commits the acks and leaves the group: a member with nothing pending is
 * removed; one with pending messages is marked closed (pid 0), so any member may claim them,
 * itself first if it comes back under the same name.
 *
 * extra (JSON object, optional): {"claim_msgs_older_than": ms} also takes messages pending that
 * long from live members (a member on another host, or a stuck one). {"delete_acked": true}
 * deletes a message's row in the transaction that commits its ack, for a topic this group alone
 * reads (the outbox relay, src/bus/relay.c): only rows at or below the highest acknowledged id
 * that no member holds pending, and never the topic's newest row (its id keeps positions from
 * being reused, sqlite_int.h). {"exclusive": true}, only with delete_acked, is for a caller that
 * guarantees one member at a time (the relay's lock): new rows are taken without writing
 * pending rows and without moving the group cursor; the next poll (or close) moves the cursor
 * to the first row of the last poll that was not acknowledged (that poll delivers it again;
 * after a crash, the cursor is where it was) and deletes the rows below it. Other keys are
 * ignored.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sqlite_int.h"

struct stmt_def {
    size_t offset; /* of the sqlite3_stmt * in struct sq_consumer */
    const char *sql;
    bool group_only;
};

#define STMT(field, sql, grp)                                                                      \
    {                                                                                              \
        offsetof(struct sq_consumer, field), sql, grp                                              \
    }

static const struct stmt_def STMTS[] = {
    STMT(st_upsert,
         "INSERT INTO consumers(gid, name, host, pid, pstart, seen_ms) VALUES(?1,?2,?3,?4,?5,?6)"
         " ON CONFLICT(gid, name) DO UPDATE SET host = excluded.host, pid = excluded.pid,"
         " pstart = excluded.pstart, seen_ms = excluded.seen_ms RETURNING cid",
         true),
    STMT(st_own,
         "SELECT " SQ_MSG_COLS " FROM pending p JOIN messages m ON m.id = p.msg_id"
         " WHERE p.gid = ?1 AND p.cid = ?2 AND p.msg_id > ?3 ORDER BY p.msg_id LIMIT ?4",
         true),
    STMT(st_retake,
         "UPDATE pending SET cid = ?1, delivered_ms = ?2, deliveries = deliveries + 1"
         " WHERE gid = ?3 AND msg_id = ?4 RETURNING deliveries",
         true),
    STMT(st_members, "SELECT cid, host, pid, pstart FROM consumers WHERE gid = ?1 AND cid <> ?2",
         true),
    STMT(st_drop_member,
         "DELETE FROM consumers WHERE cid = ?1"
         " AND NOT EXISTS(SELECT 1 FROM pending WHERE gid = ?2 AND cid = ?1)",
         true),
    STMT(st_idle,
         "SELECT " SQ_MSG_COLS " FROM pending p JOIN messages m ON m.id = p.msg_id"
         " WHERE p.gid = ?1 AND p.cid <> ?2 AND p.delivered_ms < ?3 ORDER BY p.msg_id LIMIT ?4",
         true),
    STMT(st_cursor, "SELECT next_id FROM groups WHERE gid = ?1", true),
    STMT(st_new,
         "SELECT " SQ_MSG_COLS " FROM messages m WHERE m.id <= ?1 AND m.id >= ?2"
         " ORDER BY m.id LIMIT ?3",
         false),
    STMT(st_pend_probe,
         "SELECT msg_id, deliveries FROM pending WHERE gid = ?1 AND msg_id >= ?2"
         " AND msg_id <= ?3 ORDER BY msg_id",
         true),
    STMT(st_pend,
         "INSERT INTO pending(gid, msg_id, cid, delivered_ms, deliveries)"
         " SELECT ?1, id, ?2, ?3, 1 FROM messages WHERE id >= ?4 AND id <= ?5"
         " ON CONFLICT(gid, msg_id) DO UPDATE SET cid = excluded.cid,"
         " delivered_ms = excluded.delivered_ms, deliveries = deliveries + 1",
         true),
    STMT(st_set_cursor, "UPDATE groups SET next_id = ?2 WHERE gid = ?1", true),
    STMT(st_unpend, "DELETE FROM pending WHERE gid = ?1 AND msg_id >= ?2 AND msg_id <= ?3", true),
    STMT(st_has_new, "SELECT 1 FROM messages WHERE id <= ?1 AND id >= ?2 LIMIT 1", false),
    STMT(st_dv, "PRAGMA data_version", false),
    STMT(st_count_own, "SELECT count(*) FROM pending WHERE gid = ?1 AND cid = ?2", true),
    STMT(st_retire,
         "DELETE FROM messages WHERE id >= ?1 AND id <= ?2 AND id < (SELECT max(id) FROM messages"
         " WHERE id >= ?1 AND id <= ?3) AND id NOT IN (SELECT msg_id FROM pending WHERE gid = ?4)",
         true),
    STMT(st_group_seen, "UPDATE groups SET seen_ms = ?2 WHERE gid = ?1", true),
    /* Exclusive mode's clearing (sqlite_take.c): the file's id span, any pending row; the
     * newest row copied out and back around a DELETE without WHERE (SQLite frees the table's
     * pages without visiting its rows). */
    STMT(st_span,
         "SELECT (SELECT min(id) FROM messages), (SELECT max(id) FROM messages),"
         " EXISTS(SELECT 1 FROM pending)",
         true),
    STMT(st_keep_read, "SELECT " SQ_ROW_COLS " FROM messages WHERE id = ?1", true),
    STMT(st_clear, "DELETE FROM messages", true),
    STMT(st_first, "SELECT min(id) FROM messages WHERE id >= ?1 AND id <= ?2", true),
    STMT(st_keep_write,
         "INSERT INTO messages(" SQ_ROW_COLS ") VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12)",
         true),
    STMT(st_idle_any,
         "SELECT 1 FROM pending WHERE gid = ?1 AND cid <> ?2 AND delivered_ms < ?3 LIMIT 1", true),
};

static sqlite3_stmt **stmt_at(struct sq_consumer *cons, size_t i)
{
    return (sqlite3_stmt **)((char *)cons + STMTS[i].offset);
}

/* One-off query returning an integer, its parameters bound to @p a, @p b, @p c in turn. */
static edxbus_err_t query_int(struct sq_consumer *cons, const char *sql, int64_t a, int64_t b,
                              int64_t c, int64_t def, int64_t *out, const char *what, char *errstr,
                              size_t errstr_size)
{
    sqlite3_stmt *st = NULL;
    const int64_t args[3] = {a, b, c};
    int rc = sqlite3_prepare_v2(cons->db.h, sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return edxbus__sq_fail(&cons->db, rc, what, errstr, errstr_size);
    for (int i = 0; i < sqlite3_bind_parameter_count(st) && i < 3; i++)
        sqlite3_bind_int64(st, i + 1, args[i]);
    edxbus_err_t err = edxbus__sq_int(&cons->db, st, def, out, what, errstr, errstr_size);
    sqlite3_finalize(st);
    return err;
}

/* The id a start text means: "earliest", "latest" or a position (a seq). */
static edxbus_err_t resolve(struct sq_consumer *cons, const char *text, int64_t *id, char *errstr,
                            size_t errstr_size)
{
    int64_t seq;
    enum edxbus_start kind = edxbus_start_kind(text);
    if (kind == EDXBUS_START_LATEST) {
        edxbus_err_t err = query_int(cons,
                                     "SELECT id FROM messages WHERE id >= ?1 AND id <= ?2"
                                     " ORDER BY id DESC LIMIT 1",
                                     cons->lo, cons->hi, 0, cons->lo, id,
                                     "find the latest position", errstr, errstr_size);
        *id += 1;
        return err;
    }
    if (kind == EDXBUS_START_EARLIEST) {
        *id = cons->lo;
        return EDXBUS_OK;
    }
    if (!edxbus__sq_parse_position(text, &seq) || seq > SQ_SEQ_MASK) {
        edxbus_errf(errstr, errstr_size,
                    "sqlite: \"%s\" is not a position; expected \"earliest\", \"latest\" or a "
                    "message number such as 42",
                    text);
        return EDXBUS_ERR_INVALID_ARG;
    }
    *id = cons->lo | seq;
    return EDXBUS_OK;
}

static edxbus_err_t resolve_time(struct sq_consumer *cons, int64_t unix_ms, int64_t *id,
                                 char *errstr, size_t errstr_size)
{
    int64_t first;
    edxbus_err_t err = query_int(cons,
                                 "SELECT id FROM messages WHERE id >= ?1 AND id <= ?2 AND"
                                 " stored_ms >= ?3 ORDER BY id LIMIT 1",
                                 cons->lo, cons->hi, unix_ms, -1, &first, "find a position by time",
                                 errstr, errstr_size);
    if (err != EDXBUS_OK)
        return err;
    if (first >= 0) {
        *id = first;
        return EDXBUS_OK;
    }
    return resolve(cons, "latest", id, errstr, errstr_size);
}

/* The topic's id range, creating the topic if needed (inside the caller's transaction). */
static edxbus_err_t topic_range(struct sq_consumer *cons, char *errstr, size_t errstr_size)
{
    int64_t tid;
    edxbus_err_t err = edxbus__sq_topic_id(&cons->db, cons->topic, true, &tid, errstr, errstr_size);
    cons->lo = tid << SQ_SEQ_BITS;
    cons->hi = cons->lo | SQ_SEQ_MASK;
    return err;
}

/* A tail only reads: it looks the topic up without creating it (the file may be read-only).
 * Until the topic exists, the range is that of topic id 0, which no topic has, and the cursor
 * holds only the position to begin at; it moves into the topic's range once it appears. */
static edxbus_err_t tail_topic(struct sq_consumer *cons, char *errstr, size_t errstr_size)
{
    int64_t tid;
    edxbus_err_t err =
        edxbus__sq_topic_id(&cons->db, cons->topic, false, &tid, errstr, errstr_size);
    if (err != EDXBUS_OK)
        return err;
    cons->topic_known = tid != 0;
    cons->lo = tid << SQ_SEQ_BITS;
    cons->hi = cons->lo | SQ_SEQ_MASK;
    cons->cursor = cons->lo | (cons->cursor & SQ_SEQ_MASK);
    return EDXBUS_OK;
}

static edxbus_err_t set_group_cursor(struct sq_consumer *cons, int64_t id, char *errstr,
                                     size_t errstr_size)
{
    sqlite3_bind_int64(cons->st_set_cursor, 1, cons->gid);
    sqlite3_bind_int64(cons->st_set_cursor, 2, id);
    return edxbus__sq_exec(&cons->db, cons->st_set_cursor, "move the group cursor", errstr,
                           errstr_size);
}

/* Find or create the group, apply start_time_ms, register the member: one transaction. */
static edxbus_err_t join_group(struct sq_consumer *cons, const struct edxbus_consumer_opts *opts,
                               char *errstr, size_t errstr_size)
{
    sqlite3_stmt *st = NULL;
    int64_t cursor = 0;
    edxbus_err_t err = edxbus__sq_begin(&cons->db, errstr, errstr_size);
    if (err != EDXBUS_OK)
        return err;
    err = topic_range(cons, errstr, errstr_size);
    if (err != EDXBUS_OK)
        goto out_rollback;
    int rc = sqlite3_prepare_v2(cons->db.h,
                                "SELECT gid, next_id FROM groups WHERE topic = ?1 AND name = ?2",
                                -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, cons->topic, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, cons->group, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            cons->gid = sqlite3_column_int64(st, 0);
            cursor = sqlite3_column_int64(st, 1);
            rc = SQLITE_DONE;
        } else if (rc == SQLITE_DONE) {
            cons->gid = 0;
        }
    }
    sqlite3_finalize(st);
    st = NULL;
    if (rc != SQLITE_DONE) {
        err = edxbus__sq_fail(&cons->db, rc, "look up the group", errstr, errstr_size);
        goto out_rollback;
    }
    if (cons->gid == 0) {
        err = resolve(cons, opts->start, &cursor, errstr, errstr_size);
        if (err != EDXBUS_OK)
            goto out_rollback;
        rc = sqlite3_prepare_v2(cons->db.h,
                                "INSERT INTO groups(topic, name, next_id, created_ms, seen_ms)"
                                " VALUES(?1, ?2, ?3, ?4, ?4)",
                                -1, &st, NULL);
        if (rc == SQLITE_OK) {
            sqlite3_bind_text(st, 1, cons->topic, -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 2, cons->group, -1, SQLITE_STATIC);
            sqlite3_bind_int64(st, 3, cursor);
            sqlite3_bind_int64(st, 4, edxbus_clock_wall_ms());
            rc = sqlite3_step(st);
        }
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE) {
            err = edxbus__sq_fail(&cons->db, rc, "create the group", errstr, errstr_size);
            goto out_rollback;
        }
        cons->gid = sqlite3_last_insert_rowid(cons->db.h);
    }
    if (opts->start_time_ms >= 0) {
        err = resolve_time(cons, opts->start_time_ms, &cursor, errstr, errstr_size);
        if (err == EDXBUS_OK)
            err = set_group_cursor(cons, cursor, errstr, errstr_size);
        if (err != EDXBUS_OK)
            goto out_rollback;
    }
    cons->cursor = cursor;
    sqlite3_stmt *up = cons->st_upsert;
    sqlite3_bind_int64(up, 1, cons->gid);
    sqlite3_bind_text(up, 2, cons->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(up, 3, cons->host, -1, SQLITE_STATIC);
    sqlite3_bind_int64(up, 4, cons->pid);
    sqlite3_bind_int64(up, 5, cons->pstart);
    sqlite3_bind_int64(up, 6, edxbus_clock_wall_ms());
    err = edxbus__sq_int(&cons->db, up, 0, &cons->cid, "register the member", errstr, errstr_size);
    if (err == EDXBUS_OK)
        err = edxbus__sq_group_seen(cons, edxbus_clock_wall_ms(), errstr, errstr_size);
    if (err != EDXBUS_OK)
        goto out_rollback;
    return edxbus__sq_commit(&cons->db, errstr, errstr_size);
out_rollback:
    edxbus__sq_rollback(&cons->db);
    return err;
}

static edxbus_err_t read_extra(struct sq_consumer *cons, const json_t *extra, char *errstr,
                               size_t errstr_size)
{
    edxbus_err_t err = edxbus_extra_get_bool(extra, "sqlite", "delete_acked",
                                             &cons->delete_acked, errstr, errstr_size);
    if (err == EDXBUS_OK)
        err = edxbus_extra_get_bool(extra, "sqlite", "exclusive", &cons->exclusive, errstr,
                                    errstr_size);
    if (err == EDXBUS_OK && cons->exclusive && (!cons->delete_acked || cons->group == NULL)) {
        edxbus_errf(errstr, errstr_size,
                    "sqlite: extra \"exclusive\" is for a group with \"delete_acked\"");
        err = EDXBUS_ERR_INVALID_ARG;
    }
    if (err == EDXBUS_OK)
        err = edxbus_extra_get_ms(extra, "sqlite", "claim_msgs_older_than", &cons->claim_idle_ms,
                                  errstr, errstr_size);
    const json_t *rows = json_is_object(extra) ? json_object_get(extra, "retire_rows") : NULL;
    if (err == EDXBUS_OK && rows != NULL && !json_is_null(rows)) {
        if (!cons->exclusive || !json_is_integer(rows) || json_integer_value(rows) < 0) {
            edxbus_errf(errstr, errstr_size,
                        "sqlite: extra \"retire_rows\" is a number of rows >= 0, with \"exclusive\"");
            err = EDXBUS_ERR_INVALID_ARG;
        } else {
            cons->retire_rows = json_integer_value(rows);
        }
    }
    return err;
}

edxbus_err_t edxbus__sq_consumer_open(const edxbus_conf_t *conf,
                                      const struct edxbus_consumer_opts *opts, void **be,
                                      char *errstr, size_t errstr_size)
{
    if (opts == NULL || opts->topic == NULL || *opts->topic == '\0') {
        edxbus_errf(errstr, errstr_size, "sqlite: consumer_open: no topic given");
        return EDXBUS_ERR_INVALID_ARG;
    }
    struct sq_consumer *cons = calloc(1, sizeof *cons);
    if (cons == NULL)
        return EDXBUS_ERR_NOMEM;
    cons->waker = edxbus_waker_new(errstr, errstr_size);
    if (cons->waker == NULL) {
        free(cons);
        return EDXBUS_ERR_IO;
    }
    edxbus_err_t err = edxbus__sq_db_open(&cons->db, conf, true, errstr, errstr_size);
    if (err != EDXBUS_OK) {
        edxbus_waker_free(cons->waker);
        free(cons);
        return err;
    }
    gethostname(cons->host, sizeof cons->host - 1);
    cons->pid = getpid();
    cons->pstart = edxbus__sq_proc_start(cons->pid);
    cons->topic = strdup(opts->topic);
    cons->topic_known = true; /* a group creates its topic; a tail looks (tail_topic) */
    err = EDXBUS_ERR_NOMEM;
    if (cons->topic == NULL)
        goto out_close;
    if (opts->group != NULL) {
        char dflt[300];
        edxbus_member_name_default(dflt, sizeof dflt);
        cons->group = strdup(opts->group);
        cons->name = strdup(opts->consumer_name ? opts->consumer_name : dflt);
        if (cons->group == NULL || cons->name == NULL)
            goto out_close;
    }
    err = read_extra(cons, opts->extra, errstr, errstr_size);
    /* A delete_acked group removes every row it reads (the relay: all of the outbox). Debian's
     * SQLite has secure_delete on, which zeroes each page a removal frees and writes it to the
     * WAL again (the relay: 740 instructions an entry, 4%); FAST, as retention runs use
     * (sqlite_retain.c), still zeroes the removed rows' bytes on the pages written anyway. */
    if (err == EDXBUS_OK && cons->delete_acked &&
        sqlite3_exec(cons->db.h, "PRAGMA secure_delete=FAST", NULL, NULL, NULL) != SQLITE_OK) {
        edxbus_errf(errstr, errstr_size, "sqlite: cannot set secure_delete: %s (%s)",
                    sqlite3_errmsg(cons->db.h), cons->db.path);
        err = EDXBUS_ERR_IO;
    }
    if (err == EDXBUS_OK && cons->group != NULL)
        err = edxbus__sq_retain_init(&cons->ret, conf, errstr, errstr_size);
    if (err != EDXBUS_OK)
        goto out_close;
    for (size_t i = 0; i < sizeof STMTS / sizeof STMTS[0]; i++) {
        if (STMTS[i].group_only && cons->group == NULL)
            continue;
        err = edxbus__sq_prepare(&cons->db, STMTS[i].sql, stmt_at(cons, i),
                                 "prepare a consumer query", errstr, errstr_size);
        if (err != EDXBUS_OK)
            goto out_close;
    }
    if (cons->group != NULL) {
        err = join_group(cons, opts, errstr, errstr_size);
        cons->own_left = true;
        cons->own_after = -1;
        cons->beat_ms = edxbus_clock_wall_ms();
    } else {
        err = tail_topic(cons, errstr, errstr_size);
        if (err != EDXBUS_OK)
            goto out_close;
        err = opts->start_time_ms >= 0
                  ? resolve_time(cons, opts->start_time_ms, &cons->cursor, errstr, errstr_size)
                  : resolve(cons, opts->start, &cons->cursor, errstr, errstr_size);
    }
    /* Where the topic ends now, for caught_up(). */
    cons->reader = cons->group == NULL || opts->no_join;
    if (err == EDXBUS_OK && cons->reader && cons->topic_known) {
        err = resolve(cons, "latest", &cons->end_next, errstr, errstr_size);
        if (cons->end_next == cons->lo + 1)
            cons->end_next = 0; /* no message: positions count from 1 */
    }
    if (err != EDXBUS_OK)
        goto out_close;
    *be = cons;
    return EDXBUS_OK;
out_close:
    if (err == EDXBUS_ERR_NOMEM)
        edxbus_errf(errstr, errstr_size, "sqlite: out of memory opening a consumer");
    edxbus__sq_consumer_close(cons);
    return err;
}

/* Is there anything past the cursor? Cheap when nothing was committed since the last look. */
static edxbus_err_t maybe_new(struct sq_consumer *cons, bool *yes, char *errstr, size_t errstr_size)
{
    int64_t dv;
    edxbus_err_t err =
        edxbus__sq_int(&cons->db, cons->st_dv, 0, &dv, "read data_version", errstr, errstr_size);
    if (err != EDXBUS_OK)
        return err;
    if (!cons->checked || dv != cons->data_version) {
        int64_t one;
        cons->data_version = dv;
        cons->checked = true;
        if (!cons->topic_known) {
            err = tail_topic(cons, errstr, errstr_size);
            if (err != EDXBUS_OK)
                return err;
        }
        sqlite3_bind_int64(cons->st_has_new, 1, cons->hi);
        sqlite3_bind_int64(cons->st_has_new, 2, cons->cursor);
        err = edxbus__sq_int(&cons->db, cons->st_has_new, 0, &one, "look for new messages", errstr,
                             errstr_size);
        if (err != EDXBUS_OK)
            return err;
        cons->maybe_new = one != 0;
    }
    *yes = cons->maybe_new;
    return EDXBUS_OK;
}


edxbus_err_t edxbus__sq_poll(void *be, struct edxbus_batch *out, size_t max, int timeout_ms,
                             char *errstr, size_t errstr_size)
{
    struct sq_consumer *cons = be;
    out->msgs = NULL;
    out->n = 0;
    if (max == 0)
        return EDXBUS_OK;
    if (edxbus_slots_reserve(&cons->batch, max) != EDXBUS_OK) {
        edxbus_errf(errstr, errstr_size, "sqlite: out of memory for a batch of %zu", max);
        return EDXBUS_ERR_NOMEM;
    }
    int64_t deadline = edxbus_clock_wall_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    int sleep_ms = 1;
    for (;;) {
        if (edxbus_waker_woken(cons->waker))
            return EDXBUS_OK; /* stopping: nothing more is taken */
        bool work = false;
        int64_t now = edxbus_clock_wall_ms();
        edxbus_err_t err = edxbus__sq_db_still_there(&cons->db, now, errstr, errstr_size);
        if (err != EDXBUS_OK)
            return err;
        if (cons->group != NULL)
            edxbus__sq_retain_tick(&cons->db, &cons->ret, now, false);
        err = maybe_new(cons, &work, errstr, errstr_size);
        if (err != EDXBUS_OK)
            return err;
        if (cons->group != NULL && now >= cons->next_claim_ms) {
            cons->next_claim_ms = now + SQ_CLAIM_CHECK_MS;
            err = edxbus__sq_claim_check(cons, now, errstr, errstr_size);
            if (err != EDXBUS_OK)
                return err;
            cons->polled = true;
        }
        if (cons->group != NULL)
            work = work || cons->nacked > 0 || cons->own_left || cons->claim_more ||
                   cons->claim_now || now - cons->beat_ms >= SQ_HEARTBEAT_MS;
        if (work) {
            size_t n = 0;
            err = cons->group ? edxbus__sq_take(cons, max, &n, errstr, errstr_size)
                              : edxbus__sq_tail_read(cons, max, &n, errstr, errstr_size);
            if (err != EDXBUS_OK)
                return err;
            if (n > 0) {
                out->msgs = cons->batch.msgs;
                out->n = n;
                return EDXBUS_OK;
            }
        }
        now = edxbus_clock_wall_ms();
        if (timeout_ms >= 0 && now >= deadline)
            return EDXBUS_OK;
        if (cons->group != NULL) {
            /* Nothing to hand out: retention's backlog goes in this idle time, off the path
             * of events (one short run per nap). */
            edxbus__sq_retain_tick(&cons->db, &cons->ret, now, true);
            now = edxbus_clock_wall_ms();
        }
        int nap = sleep_ms;
        if (timeout_ms >= 0 && now >= deadline)
            return EDXBUS_OK;
        if (timeout_ms >= 0 && deadline - now < nap)
            nap = (int)(deadline - now);
        if (edxbus_waker_wait(cons->waker, -1, nap) == EDXBUS_WAIT_WOKEN)
            return EDXBUS_OK;
        sleep_ms = sleep_ms * 2 > SQ_POLL_SLEEP_MAX_MS ? SQ_POLL_SLEEP_MAX_MS : sleep_ms * 2;
    }
}

/* Handed out everything stored at open: the cursor is past the end noted then and, for a
 * group, this member's own entries from before and dead members' ones have been taken (the
 * first poll's claim check found any). A topic that did not exist held nothing. */
edxbus_err_t edxbus__sq_caught_up(void *be, bool *done, char *errstr, size_t errstr_size)
{
    struct sq_consumer *cons = be;
    if (!cons->reader) {
        edxbus_errf(errstr, errstr_size,
                    "sqlite: caught_up is defined for a tail or a no_join reader only");
        return EDXBUS_ERR_UNSUPPORTED;
    }
    if (cons->end_next == 0)
        *done = true;
    else if (cons->group == NULL)
        *done = cons->cursor >= cons->end_next;
    else
        *done = cons->polled && !cons->own_left && !cons->claim_now && !cons->claim_more &&
                cons->cursor >= cons->end_next;
    return EDXBUS_OK;
}

edxbus_err_t edxbus__sq_ack(void *be, const struct edxbus_msg *msg, char *errstr,
                            size_t errstr_size)
{
    struct sq_consumer *cons = be;
    int64_t id;
    if (cons->group == NULL)
        return EDXBUS_OK;
    if (msg == NULL || !edxbus__sq_parse_position(msg->position, &id) || id > SQ_SEQ_MASK) {
        edxbus_errf(errstr, errstr_size, "sqlite: ack: \"%s\" is not a position of this backend",
                    msg ? msg->position : "(null)");
        return EDXBUS_ERR_INVALID_ARG;
    }
    if (cons->nacked == cons->acked_cap) {
        size_t cap = cons->acked_cap ? cons->acked_cap * 2 : 64;
        int64_t *grown = realloc(cons->acked, cap * sizeof *grown);
        if (grown == NULL) {
            edxbus_errf(errstr, errstr_size, "sqlite: out of memory recording an ack");
            return EDXBUS_ERR_NOMEM;
        }
        cons->acked = grown;
        cons->acked_cap = cap;
    }
    cons->acked[cons->nacked++] = cons->lo | id;
    return EDXBUS_OK;
}

/* Commit acks and leave the group (see the top of the file). Best effort: errors are dropped,
 * and whatever is left pending is claimed later as from a dead member. */
static void leave_group(struct sq_consumer *cons)
{
    char ignored[EDXBUS_ERRSTR_SIZE];
    int64_t left = 1;
    if (cons->cid == 0 || edxbus__sq_begin(&cons->db, ignored, sizeof ignored) != EDXBUS_OK)
        return;
    cons->closing = true; /* exclusive: nothing acknowledged stays behind */
    edxbus_err_t err = edxbus__sq_commit_acks(cons, ignored, sizeof ignored);
    if (err == EDXBUS_OK) {
        sqlite3_bind_int64(cons->st_count_own, 1, cons->gid);
        sqlite3_bind_int64(cons->st_count_own, 2, cons->cid);
        err = edxbus__sq_int(&cons->db, cons->st_count_own, 0, &left, "count pending", ignored,
                             sizeof ignored);
    }
    if (err == EDXBUS_OK) {
        char sql[128];
        snprintf(sql, sizeof sql,
                 left ? "UPDATE consumers SET pid = 0 WHERE cid = %lld"
                      : "DELETE FROM consumers WHERE cid = %lld",
                 (long long)cons->cid);
        err = sqlite3_exec(cons->db.h, sql, NULL, NULL, NULL) == SQLITE_OK ? EDXBUS_OK
                                                                           : EDXBUS_ERR_BROKER;
    }
    if (err == EDXBUS_OK)
        edxbus__sq_commit(&cons->db, ignored, sizeof ignored);
    else
        edxbus__sq_rollback(&cons->db);
}

void edxbus__sq_consumer_close(void *be)
{
    struct sq_consumer *cons = be;
    if (cons == NULL)
        return;
    if (cons->group != NULL && cons->db.h != NULL && cons->st_upsert != NULL)
        leave_group(cons);
    for (size_t i = 0; i < sizeof STMTS / sizeof STMTS[0]; i++)
        sqlite3_finalize(*stmt_at(cons, i));
    edxbus__sq_db_close(&cons->db);
    edxbus_slots_fini(&cons->batch);
    free(cons->acked);
    free(cons->new_ids);
    free(cons->topic);
    free(cons->group);
    free(cons->name);
    edxbus__sq_retain_fini(&cons->ret);
    edxbus_waker_free(cons->waker);
    free(cons);
}

void edxbus__sq_wake(void *be)
{
    edxbus_waker_wake(((struct sq_consumer *)be)->waker);
}
