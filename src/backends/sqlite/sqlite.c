/* src/backends/sqlite/sqlite.c — the embedded broker: a durable event log in one SQLite file.
 *
 * The default backend when no broker is configured. The file is EVENT_BUS_SQLITE_PATH (default
 * `edxbus.db` in the working directory); any number of producer and consumer processes on one
 * machine share it (WAL journal, busy timeout). It keeps topics, consumer groups with committed
 * cursors, per-group pending entries for at-least-once delivery (what a member took and did not
 * acknowledge is delivered again after it dies), seeking by position or time, and a length cap
 * (EVENT_BUS_SQLITE_MAX_LEN). Positions are message numbers within a topic (1, 2, …) as text.
 *
 * Settings read (all optional):
 *   EVENT_BUS_SQLITE_PATH          the file (default edxbus.db)
 *   EVENT_BUS_SQLITE_SYNCHRONOUS   FULL (default: every commit fsynced) or NORMAL
 *   EVENT_BUS_SQLITE_MAX_LEN       approximate cap on rows per topic (default 0: none)
 *
 * Files: sqlite_db.c (file, schema, column forms), sqlite_producer.c (append, batching,
 * trimming), sqlite_consumer.c (groups, blocking poll, acks), sqlite_take.c (the poll
 * transaction, claiming dead members' entries), and this file (lag, the ops table).
 * To add a slot of the contract: implement it in the file of its concern, declare it in
 * sqlite_int.h and add it to the table below.
 */
#include <stdio.h>
#include <string.h>

#include "sqlite_int.h"

/* One group's rows of the lag report; each also says what the group holds back from
 * retention (holds_back, first_unacknowledged, idle_past_limit). */
static edxbus_err_t lag_group(struct sq_db *db, const struct sq_retain *r,
                              const struct sq_group_hold *g, int64_t hi, json_t *arr, char *errstr,
                              size_t errstr_size)
{
    sqlite3_stmt *st = NULL;
    int64_t gid = g->gid, next_id = g->next_id, held = 0;
    const char *group = g->name;
    size_t first_row = json_array_size(arr);
    int64_t undelivered = 0, total_pending = 0, now = edxbus_clock_wall_ms();
    bool any = false;
    edxbus_err_t err = edxbus__sq_prepare(db,
                                          "SELECT (SELECT count(*) FROM messages WHERE id <= ?1"
                                          " AND id >= ?2), (SELECT count(*) FROM pending WHERE"
                                          " gid = ?3)",
                                          &st, "count undelivered", errstr, errstr_size);
    if (err != EDXBUS_OK)
        return err;
    sqlite3_bind_int64(st, 1, hi);
    sqlite3_bind_int64(st, 2, next_id);
    sqlite3_bind_int64(st, 3, gid);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        undelivered = sqlite3_column_int64(st, 0);
        total_pending = sqlite3_column_int64(st, 1);
        rc = SQLITE_DONE;
    }
    sqlite3_finalize(st);
    st = NULL;
    if (rc != SQLITE_DONE)
        return edxbus__sq_fail(db, rc, "count undelivered", errstr, errstr_size);

    err = edxbus__sq_prepare(db,
                             "SELECT c.name, c.seen_ms, (SELECT count(*) FROM pending p WHERE"
                             " p.gid = c.gid AND p.cid = c.cid) FROM consumers c WHERE c.gid = ?1"
                             " ORDER BY c.name",
                             &st, "list members", errstr, errstr_size);
    if (err != EDXBUS_OK)
        return err;
    sqlite3_bind_int64(st, 1, gid);
    for (;;) {
        rc = sqlite3_step(st);
        if (rc != SQLITE_ROW)
            break;
        int64_t idle = now - sqlite3_column_int64(st, 1);
        json_t *row = edxbus_lag_row(group, (const char *)sqlite3_column_text(st, 0), -1,
                                     sqlite3_column_int64(st, 2), undelivered,
                                     idle > 0 ? idle : 0);
        if (row == NULL || json_array_append_new(arr, row) != 0) {
            sqlite3_finalize(st);
            edxbus_errf(errstr, errstr_size, "sqlite: lag: out of memory");
            return EDXBUS_ERR_NOMEM;
        }
        any = true;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return edxbus__sq_fail(db, rc, "list members", errstr, errstr_size);
    if (!any) {
        /* A group nobody is in: still report what it owes. */
        json_t *row = edxbus_lag_row(group, NULL, -1, total_pending, undelivered, -1);
        if (row == NULL || json_array_append_new(arr, row) != 0) {
            edxbus_errf(errstr, errstr_size, "sqlite: lag: out of memory");
            return EDXBUS_ERR_NOMEM;
        }
    }
    err = edxbus__sq_holds_back(db, g, hi, &held, errstr, errstr_size);
    json_t *hold = err == EDXBUS_OK ? edxbus__sq_hold_json(r, g, held, now) : NULL;
    for (size_t i = first_row; hold != NULL && i < json_array_size(arr); i++)
        if (json_object_update(json_array_get(arr, i), hold) != 0)
            err = EDXBUS_ERR_NOMEM;
    if (err == EDXBUS_OK && hold == NULL)
        err = EDXBUS_ERR_NOMEM;
    json_decref(hold);
    if (err == EDXBUS_ERR_NOMEM)
        edxbus_errf(errstr, errstr_size, "sqlite: lag: out of memory");
    return err;
}

edxbus_err_t edxbus__sq_lag(const edxbus_conf_t *conf, const char *topic, const char *group,
                            json_t **out, char *errstr, size_t errstr_size)
{
    struct sq_db db;
    struct sq_retain r;
    sqlite3_stmt *st = NULL;
    json_t *arr = NULL;
    *out = NULL;
    edxbus_err_t err = edxbus__sq_retain_init(&r, conf, errstr, errstr_size);
    if (err != EDXBUS_OK)
        return err;
    err = edxbus__sq_db_open(&db, conf, false, errstr, errstr_size);
    if (err != EDXBUS_OK) {
        edxbus__sq_retain_fini(&r);
        return err;
    }
    int64_t tid = 0;
    err = edxbus__sq_topic_id(&db, topic, false, &tid, errstr, errstr_size);
    if (err != EDXBUS_OK)
        goto out_close;
    int64_t hi = (tid << SQ_SEQ_BITS) | SQ_SEQ_MASK;
    arr = json_array();
    if (arr == NULL) {
        err = EDXBUS_ERR_NOMEM;
        goto out_close;
    }
    /* A group NULL lists every group of the topic. */
    err = edxbus__sq_prepare(&db, SQ_GROUP_HOLDS_SQL, &st, "list groups", errstr, errstr_size);
    if (err != EDXBUS_OK)
        goto out_close;
    sqlite3_bind_text(st, 1, topic, -1, SQLITE_STATIC);
    int rc;
    bool found = false;
    for (;;) {
        rc = sqlite3_step(st);
        if (rc != SQLITE_ROW)
            break;
        struct sq_group_hold g;
        edxbus__sq_group_hold_row(st, &g);
        if (group != NULL && strcmp(g.name, group) != 0)
            continue;
        found = true;
        err = lag_group(&db, &r, &g, hi, arr, errstr, errstr_size);
        if (err != EDXBUS_OK)
            goto out_close;
    }
    if (rc != SQLITE_DONE) {
        err = edxbus__sq_fail(&db, rc, "list groups", errstr, errstr_size);
        goto out_close;
    }
    if (!found && group != NULL) {
        edxbus_errf(errstr, errstr_size, "sqlite: no group \"%s\" on topic \"%s\" in %s", group,
                    topic, db.path);
        err = EDXBUS_ERR_NOT_FOUND;
        goto out_close;
    }
    *out = arr;
    arr = NULL;
out_close:
    if (err == EDXBUS_ERR_NOMEM)
        edxbus_errf(errstr, errstr_size, "sqlite: lag: out of memory");
    json_decref(arr);
    sqlite3_finalize(st);
    edxbus__sq_db_close(&db);
    edxbus__sq_retain_fini(&r);
    return err;
}

const struct edxbus_backend_ops edxbus_backend_sqlite = {
    .abi_version = EDXBUS_BACKEND_ABI,
    .name = "sqlite",
    .aliases = NULL,
    .producer_open = edxbus__sq_producer_open,
    .produce = edxbus__sq_produce,
    .flush = edxbus__sq_flush,
    .producer_close = edxbus__sq_producer_close,
    .consumer_open = edxbus__sq_consumer_open,
    .poll = edxbus__sq_poll,
    .ack = edxbus__sq_ack,
    .consumer_close = edxbus__sq_consumer_close,
    .wake = edxbus__sq_wake,
    .lag = edxbus__sq_lag,
    .caught_up = edxbus__sq_caught_up,
    .settings = edxbus__sq_settings,
    .extra_options = edxbus__sq_extra_options,
    .check = edxbus__sq_check,
    .admin_commands = edxbus__sq_admin_commands,
    .admin_open = edxbus__sq_admin_open,
    .admin_run = edxbus__sq_admin_run,
    .admin_close = edxbus__sq_admin_close,
    .doctor = edxbus__sq_doctor,
};
