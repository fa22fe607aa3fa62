/* src/backends/sqlite/sqlite_status.c — what the file holds and what holds it: the admin
 * command "sqlite-status" (`edxbus sqlite status`, admin.h) and what each group holds back from
 * retention (also in lag rows).
 *
 * "sqlite-status" takes no arguments and returns {path, file_bytes, wal_bytes, data_bytes,
 * free_inside_bytes, disk_free_bytes, auto_vacuum ("incremental" or "none"), retention: {age,
 * max_len, max_bytes, group_idle_limit}, topics: [{topic, events, first_position,
 * last_position, oldest_stored, groups: [{group, holds_back, first_unacknowledged, pending,
 * idle_ms, idle_past_limit}]}]}. It opens the file without creating it and writes nothing, so
 * it is safe on a live broker.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "sqlite_int.h"
#include "edxbus/metadata.h"

edxbus_err_t edxbus__sq_holds_back(struct sq_db *db, const struct sq_group_hold *g, int64_t hi,
                                   int64_t *count, char *errstr, size_t errstr_size)
{
    sqlite3_stmt *st = NULL;
    edxbus_err_t err = edxbus__sq_prepare(db,
                                          "SELECT count(*) FROM messages WHERE id >= ?1 AND"
                                          " id <= ?2",
                                          &st, "count what a group holds back", errstr,
                                          errstr_size);
    if (err != EDXBUS_OK)
        return err;
    sqlite3_bind_int64(st, 1, g->hold);
    sqlite3_bind_int64(st, 2, hi);
    err = edxbus__sq_int(db, st, 0, count, "count what a group holds back", errstr, errstr_size);
    sqlite3_finalize(st);
    return err;
}

json_t *edxbus__sq_hold_json(const struct sq_retain *r, const struct sq_group_hold *g,
                             int64_t count, int64_t now)
{
    bool idle = edxbus__sq_group_idle(r, g->seen_ms, now);
    return json_pack("{s:I, s:I, s:b}", "holds_back", (json_int_t)(idle ? 0 : count),
                     "first_unacknowledged", (json_int_t)(g->hold & SQ_SEQ_MASK),
                     "idle_past_limit", idle);
}

static int64_t file_bytes(const char *path, const char *suffix)
{
    char p[4200];
    struct stat sb;
    snprintf(p, sizeof p, "%s%s", path, suffix);
    return stat(p, &sb) == 0 ? (int64_t)sb.st_size : 0;
}

int64_t edxbus__sq_disk_free(const char *path)
{
    char dir[4096];
    struct statvfs vfs;
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == NULL)
        snprintf(dir, sizeof dir, ".");
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
    if (statvfs(dir, &vfs) != 0)
        return -1;
    return (int64_t)vfs.f_bavail * (int64_t)vfs.f_frsize;
}

/* One pragma's integer. */
static int64_t pragma_int(struct sq_db *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    int64_t v = 0;
    if (sqlite3_prepare_v2(db->h, sql, -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static json_t *time_json(int64_t ms)
{
    char text[64];
    if (edxbus_metadata_format_time(ms * 1000, text, sizeof text) != EDXBUS_OK)
        return json_null();
    return json_string(text);
}

/* The groups of @p topic (range lo..hi), as JSON. */
static edxbus_err_t groups_json(struct sq_db *db, const struct sq_retain *r, const char *topic,
                                int64_t hi, int64_t now, json_t *arr, char *errstr,
                                size_t errstr_size)
{
    sqlite3_stmt *st = NULL;
    edxbus_err_t err =
        edxbus__sq_prepare(db, SQ_GROUP_HOLDS_SQL, &st, "list groups", errstr, errstr_size);
    if (err != EDXBUS_OK)
        return err;
    sqlite3_bind_text(st, 1, topic, -1, SQLITE_STATIC);
    int rc;
    while (err == EDXBUS_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct sq_group_hold g;
        int64_t count = 0;
        edxbus__sq_group_hold_row(st, &g);
        err = edxbus__sq_holds_back(db, &g, hi, &count, errstr, errstr_size);
        json_t *o = err == EDXBUS_OK ? edxbus__sq_hold_json(r, &g, count, now) : NULL;
        if (err == EDXBUS_OK &&
            (o == NULL || json_object_set_new(o, "group", json_string(g.name)) != 0 ||
             json_object_set_new(o, "pending", json_integer(g.pending)) != 0 ||
             json_object_set_new(o, "idle_ms", json_integer(now > g.seen_ms ? now - g.seen_ms
                                                                               : 0)) != 0 ||
             json_array_append_new(arr, o) != 0))
            err = EDXBUS_ERR_NOMEM;
    }
    sqlite3_finalize(st);
    if (err == EDXBUS_OK && rc != SQLITE_DONE)
        err = edxbus__sq_fail(db, rc, "list groups", errstr, errstr_size);
    return err;
}

/* One topic's row. */
static edxbus_err_t topic_json(struct sq_db *db, const struct sq_retain *r, int64_t tid,
                               const char *name, int64_t now, json_t *arr, char *errstr,
                               size_t errstr_size)
{
    int64_t lo = tid << SQ_SEQ_BITS, hi = lo | SQ_SEQ_MASK;
    sqlite3_stmt *st = NULL;
    edxbus_err_t err = edxbus__sq_prepare(
        db,
        "SELECT (SELECT count(*) FROM messages WHERE id >= ?1 AND id <= ?2),"
        " (SELECT id FROM messages WHERE id >= ?1 AND id <= ?2 ORDER BY id LIMIT 1),"
        " (SELECT id FROM messages WHERE id >= ?1 AND id <= ?2 ORDER BY id DESC LIMIT 1),"
        " (SELECT stored_ms FROM messages WHERE id >= ?1 AND id <= ?2 ORDER BY id LIMIT 1)",
        &st, "describe a topic", errstr, errstr_size);
    if (err != EDXBUS_OK)
        return err;
    sqlite3_bind_int64(st, 1, lo);
    sqlite3_bind_int64(st, 2, hi);
    int rc = sqlite3_step(st);
    json_t *o = NULL, *groups = json_array();
    if (rc == SQLITE_ROW) {
        bool any = sqlite3_column_type(st, 1) != SQLITE_NULL;
        o = json_pack("{s:s, s:I, s:o, s:o, s:o, s:o}", "topic", name, "events",
                      (json_int_t)sqlite3_column_int64(st, 0), "first_position",
                      any ? json_integer(sqlite3_column_int64(st, 1) & SQ_SEQ_MASK) : json_null(),
                      "last_position",
                      any ? json_integer(sqlite3_column_int64(st, 2) & SQ_SEQ_MASK) : json_null(),
                      "oldest_stored",
                      any ? time_json(sqlite3_column_int64(st, 3)) : json_null(), "groups",
                      groups);
        groups = NULL;
        rc = SQLITE_DONE;
    }
    sqlite3_finalize(st);
    json_decref(groups);
    if (rc != SQLITE_DONE) {
        json_decref(o);
        return edxbus__sq_fail(db, rc, "describe a topic", errstr, errstr_size);
    }
    if (o == NULL || json_array_append_new(arr, o) != 0)
        return EDXBUS_ERR_NOMEM;
    return groups_json(db, r, name, hi, now, json_object_get(o, "groups"), errstr, errstr_size);
}

static json_t *duration_json(int64_t ms)
{
    char text[32];
    return ms < 0 ? json_null() : json_string(edxbus__sq_duration_text(ms, text, sizeof text));
}

edxbus_err_t edxbus__sq_status(const edxbus_conf_t *conf, json_t **out, char *errstr,
                               size_t errstr_size)
{
    struct sq_db db;
    struct sq_retain r;
    sqlite3_stmt *st = NULL;
    json_t *o = NULL, *topics = NULL;
    *out = NULL;
    edxbus_err_t err = edxbus__sq_retain_init(&r, conf, errstr, errstr_size);
    if (err != EDXBUS_OK)
        return err;
    err = edxbus__sq_db_open(&db, conf, false, errstr, errstr_size);
    if (err != EDXBUS_OK) {
        edxbus__sq_retain_fini(&r);
        return err;
    }
    static const char *const vacuum[] = {"none", "full", "incremental"};
    int av = edxbus__sq_auto_vacuum(&db);
    int64_t page = pragma_int(&db, "PRAGMA page_size"), now = edxbus_clock_wall_ms();
    int64_t pages = pragma_int(&db, "PRAGMA page_count");
    int64_t freep = pragma_int(&db, "PRAGMA freelist_count");
    topics = json_array();
    o = json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:s, s:{s:o, s:I, s:I, s:o}}", "path", db.path,
                  "file_bytes", (json_int_t)file_bytes(db.path, ""), "wal_bytes",
                  (json_int_t)file_bytes(db.path, "-wal"), "data_bytes",
                  (json_int_t)((pages - freep) * page), "free_inside_bytes",
                  (json_int_t)(freep * page), "disk_free_bytes",
                  (json_int_t)edxbus__sq_disk_free(db.path), "auto_vacuum",
                  av >= 0 && av <= 2 ? vacuum[av] : "unknown", "retention", "age",
                  duration_json(r.age_ms), "max_len", (json_int_t)r.max_len, "max_bytes",
                  (json_int_t)r.max_bytes, "group_idle_limit", duration_json(r.idle_ms));
    if (o == NULL || topics == NULL || json_object_set(o, "topics", topics) != 0) {
        err = EDXBUS_ERR_NOMEM;
        goto out;
    }
    err = edxbus__sq_prepare(&db, "SELECT tid, name FROM topics ORDER BY name", &st,
                             "list topics", errstr, errstr_size);
    int rc = SQLITE_DONE;
    while (err == EDXBUS_OK && (rc = sqlite3_step(st)) == SQLITE_ROW)
        err = topic_json(&db, &r, sqlite3_column_int64(st, 0),
                         (const char *)sqlite3_column_text(st, 1), now, topics, errstr,
                         errstr_size);
    if (err == EDXBUS_OK && rc != SQLITE_DONE)
        err = edxbus__sq_fail(&db, rc, "list topics", errstr, errstr_size);
    if (err == EDXBUS_OK) {
        *out = o;
        o = NULL;
    }
out:
    if (err == EDXBUS_ERR_NOMEM)
        edxbus_errf(errstr, errstr_size, "sqlite: status: out of memory");
    sqlite3_finalize(st);
    json_decref(topics);
    json_decref(o);
    edxbus__sq_db_close(&db);
    edxbus__sq_retain_fini(&r);
    return err;
}

const char *const edxbus__sq_admin_commands[] = {"sqlite-status", NULL};

/* A session only keeps the settings: every command opens the file itself. */
edxbus_err_t edxbus__sq_admin_open(const edxbus_conf_t *conf, void **adm, char *errstr,
                                   size_t errstr_size)
{
    (void)errstr, (void)errstr_size;
    *adm = (void *)conf;
    return EDXBUS_OK;
}

edxbus_err_t edxbus__sq_admin_run(void *adm, const char *command, const json_t *args,
                                  json_t **out, char *errstr, size_t errstr_size)
{
    (void)args;
    if (command == NULL || strcmp(command, "sqlite-status") != 0) {
        edxbus_errf(errstr, errstr_size, "sqlite: no admin command \"%s\"",
                    command ? command : "(null)");
        return EDXBUS_ERR_UNSUPPORTED;
    }
    return edxbus__sq_status(adm, out, errstr, errstr_size);
}

void edxbus__sq_admin_close(void *adm)
{
    (void)adm;
}
