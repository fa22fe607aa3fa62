/* src/backends/sqlite/sqlite_retain.c — removing what nobody needs any more, and giving the
 * space back.
 *
 * An event is removable once every consumer group of its topic has acknowledged it: its id is
 * below the group's hold, min(cursor, oldest pending id). A group none of whose members has
 * polled for EVENT_BUS_SQLITE_GROUP_IDLE_LIMIT (off by default) holds nothing back; it is named
 * in a warning (once per process). A topic without groups holds nothing back either: its
 * events live by the rules below only. The newest event of a topic is always kept (its number
 * gives the next one). Among the removable events, one goes when any rule says so:
 *   EVENT_BUS_SQLITE_RETENTION        it was stored longer ago than this (default 7d;
 *                                     "forever" keeps removable events, "0" removes them at once)
 *   EVENT_BUS_SQLITE_MAX_LEN          more than this many events of the topic are newer (0: off)
 *   EVENT_BUS_SQLITE_RETENTION_BYTES  the data in the file is larger than this (0: off);
 *                                     removable events go oldest first, whatever their age
 *
 * Every producer and consumer handle runs it (a producer too, so a topic nobody consumes does not
 * grow for ever): every SQ_RETAIN_EVERY_MS; while there is a backlog, a consumer works on it
 * whenever a poll finds nothing to hand out (idle time, off the path of events), and a busy
 * handle again after SQ_RETAIN_BUSY_SHARE times as long as the last run took (so catching up
 * takes at most a twentieth of a busy handle's time). A run is one short write transaction that
 * removes at most SQ_RETAIN_BATCH events with one range DELETE (the range is chosen first, with
 * a few lookups), so a producer waits at most that long for the lock; once more than
 * SQ_VACUUM_MIN_FREE pages are free, the same transaction hands up to SQ_VACUUM_PAGES of them
 * back to the file system with PRAGMA incremental_vacuum (the file shrinks at the next
 * checkpoint). It commits at the settings' synchronous level, so that the time a run is
 * measured by includes the fsync of what it wrote. Files are created with auto_vacuum=INCREMENTAL; a file from before (auto_vacuum NONE)
 * reuses its free pages but only shrinks after a VACUUM, which `edxbus sqlite status` points
 * out.
 *
 * Retention never fails a send or a poll: a run that fails (the lock was busy, the disk is full)
 * is logged and tried again at the next turn.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sqlite_int.h"
#include "edxbus/conf.h"

static const struct {
    const char *name;
    int64_t ms;
} UNITS[] = {{"ms", 1},           {"s", 1000},         {"m", 60000},
             {"h", 3600000},      {"d", 86400000},     {"w", 604800000}};

bool edxbus__sq_duration_parse(const char *text, int64_t *ms)
{
    if (text == NULL || *text == '\0' || strcasecmp(text, "forever") == 0 ||
        strcasecmp(text, "never") == 0 || strcasecmp(text, "off") == 0) {
        *ms = -1;
        return true;
    }
    const char *p = text;
    if (!isdigit((unsigned char)*p))
        return false;
    int64_t n = 0;
    while (isdigit((unsigned char)*p)) {
        if (n > INT64_MAX / 10 - 10)
            return false;
        n = n * 10 + (*p++ - '0');
    }
    if (*p == '\0')
        return n == 0 ? (*ms = 0, true) : false; /* a bare number needs a unit, except 0 */
    for (size_t i = 0; i < sizeof UNITS / sizeof UNITS[0]; i++) {
        if (strcmp(p, UNITS[i].name) == 0) {
            if (n > INT64_MAX / UNITS[i].ms / 4)
                return false;
            *ms = n * UNITS[i].ms;
            return true;
        }
    }
    return false;
}

const char *edxbus__sq_duration_text(int64_t ms, char *out, size_t size)
{
    if (ms < 0) {
        snprintf(out, size, "forever");
        return out;
    }
    size_t i = sizeof UNITS / sizeof UNITS[0];
    while (i > 1 && (ms < UNITS[i - 1].ms || (ms % UNITS[i - 1].ms != 0 && ms < 10 * UNITS[i - 1].ms)))
        i--;
    snprintf(out, size, "%" PRId64 "%s", ms / UNITS[i - 1].ms, UNITS[i - 1].name);
    return out;
}

/* A duration setting into *@p ms; an error line naming it otherwise. */
static edxbus_err_t duration_setting(const edxbus_conf_t *conf, const char *name, const char *def,
                                     int64_t *ms, char *errstr, size_t errstr_size)
{
    const char *text = conf ? edxbus_conf_get_str(conf, name, def) : def;
    if (edxbus__sq_duration_parse(text, ms))
        return EDXBUS_OK;
    edxbus_errf(
        errstr, errstr_size,
        "%s: \"%s\" is not a duration; expected a number and a unit (ms, s, m, h, d, w) such "
        "as 7d or 12h, 0, or forever",
        name, text);
    return EDXBUS_ERR_CONF;
}

edxbus_err_t edxbus__sq_retain_init(struct sq_retain *r, const edxbus_conf_t *conf, char *errstr,
                                    size_t errstr_size)
{
    memset(r, 0, sizeof *r);
    r->auto_vacuum = -1;
    edxbus_err_t err = duration_setting(conf, "EVENT_BUS_SQLITE_RETENTION", SQ_DEFAULT_RETENTION,
                                        &r->age_ms, errstr, errstr_size);
    if (err == EDXBUS_OK)
        err = duration_setting(conf, "EVENT_BUS_SQLITE_GROUP_IDLE_LIMIT", NULL, &r->idle_ms,
                               errstr, errstr_size);
    if (err != EDXBUS_OK)
        return err;
    if (r->idle_ms == 0) {
        edxbus_errf(
            errstr, errstr_size,
            "EVENT_BUS_SQLITE_GROUP_IDLE_LIMIT: 0 would let no group hold events back; give "
            "a duration such as 30d, or leave it unset (groups always hold)");
        return EDXBUS_ERR_CONF;
    }
    static const char *const counts[] = {"EVENT_BUS_SQLITE_MAX_LEN",
                                         "EVENT_BUS_SQLITE_RETENTION_BYTES"};
    int64_t *dst[] = {&r->max_len, &r->max_bytes};
    for (size_t i = 0; i < 2; i++) {
        *dst[i] = conf ? edxbus_conf_get_int(conf, counts[i], 0) : 0;
        if (*dst[i] < 0) {
            edxbus_errf(errstr, errstr_size, "%s: %lld is negative; expected 0 (off) or a limit",
                        counts[i], (long long)*dst[i]);
            return EDXBUS_ERR_CONF;
        }
    }
    r->off = r->age_ms < 0 && r->max_len == 0 && r->max_bytes == 0;
    if (conf != NULL && !r->off) {
        r->log = edxbus_conf_dup(conf);
        if (r->log == NULL)
            return EDXBUS_ERR_NOMEM;
    }
    return EDXBUS_OK;
}

void edxbus__sq_retain_fini(struct sq_retain *r)
{
    edxbus_conf_destroy(r->log);
    free(r->warned);
    memset(r, 0, sizeof *r);
}

bool edxbus__sq_group_idle(const struct sq_retain *r, int64_t last_seen_ms, int64_t now)
{
    return r->idle_ms > 0 && now - last_seen_ms > r->idle_ms;
}

/* Warn once per process about an idle group. */
static void warn_idle(struct sq_retain *r, int64_t gid, const char *group, const char *topic,
                      int64_t idle)
{
    for (size_t i = 0; i < r->nwarned; i++)
        if (r->warned[i] == gid)
            return;
    int64_t *grown = realloc(r->warned, (r->nwarned + 1) * sizeof *grown);
    if (grown == NULL)
        return;
    r->warned = grown;
    r->warned[r->nwarned++] = gid;
    char a[32], b[32];
    edxbus_conf_log(r->log, EDXBUS_LOG_WARNING,
                    "sqlite: consumer group \"%s\" of topic \"%s\" has not polled for %s (over "
                    "EVENT_BUS_SQLITE_GROUP_IDLE_LIMIT %s): it no longer holds events back, and "
                    "events it has not read may be removed",
                    group, topic, edxbus__sq_duration_text(idle, a, sizeof a),
                    edxbus__sq_duration_text(r->idle_ms, b, sizeof b));
}

/* The statements of one run, prepared per run (a run is rare; the handles stay lean). */
struct run {
    struct sq_db *db;
    sqlite3_stmt *topics, *first, *newest, *groups, *age, *del, *unpend;
};

static const char *const TOPICS_SQL = "SELECT tid, name FROM topics ORDER BY tid";
static const char *const FIRST_SQL =
    "SELECT id FROM messages WHERE id >= ?1 AND id <= ?2 ORDER BY id LIMIT 1";
static const char *const NEWEST_SQL =
    "SELECT id FROM messages WHERE id >= ?1 AND id <= ?2 ORDER BY id DESC LIMIT 1";
static const char *const AGE_SQL =
    "SELECT id, stored_ms FROM messages WHERE id >= ?1 AND id <= ?2 ORDER BY id LIMIT 1";
/* A plain range: SQLite walks it without reading a column of any row (the rows it may take
 * were chosen before, with a few lookups per batch). */
static const char *const DEL_SQL = "DELETE FROM messages WHERE id >= ?1 AND id <= ?2";
static const char *const UNPEND_SQL = "DELETE FROM pending WHERE gid = ?1 AND msg_id <= ?2";

static void run_fini(struct run *run)
{
    sqlite3_finalize(run->topics);
    sqlite3_finalize(run->first);
    sqlite3_finalize(run->newest);
    sqlite3_finalize(run->groups);
    sqlite3_finalize(run->age);
    sqlite3_finalize(run->del);
    sqlite3_finalize(run->unpend);
}

static edxbus_err_t run_init(struct run *run, struct sq_db *db, char *errstr, size_t errstr_size)
{
    memset(run, 0, sizeof *run);
    run->db = db;
    const char *sql[] = {TOPICS_SQL, FIRST_SQL,  NEWEST_SQL, SQ_GROUP_HOLDS_SQL,
                         AGE_SQL,    DEL_SQL,    UNPEND_SQL};
    sqlite3_stmt **st[] = {&run->topics, &run->first, &run->newest, &run->groups,
                           &run->age,    &run->del,   &run->unpend};
    for (size_t i = 0; i < sizeof sql / sizeof sql[0]; i++) {
        int rc = sqlite3_prepare_v2(db->h, sql[i], -1, st[i], NULL);
        if (rc != SQLITE_OK) {
            edxbus_err_t err = edxbus__sq_fail(db, rc, "prepare retention", errstr, errstr_size);
            run_fini(run);
            return err;
        }
    }
    return EDXBUS_OK;
}

static edxbus_err_t id_at(struct run *run, sqlite3_stmt *st, int64_t a, int64_t b, int64_t def,
                          int64_t *out, char *errstr, size_t errstr_size)
{
    sqlite3_bind_int64(st, 1, a);
    sqlite3_bind_int64(st, 2, b);
    return edxbus__sq_int(run->db, st, def, out, "find a topic's bounds", errstr, errstr_size);
}

edxbus_err_t edxbus__sq_group_hold_row(sqlite3_stmt *st, struct sq_group_hold *g)
{
    g->gid = sqlite3_column_int64(st, 0);
    const unsigned char *name = sqlite3_column_text(st, 1);
    snprintf(g->name, sizeof g->name, "%s", name ? (const char *)name : "");
    g->next_id = sqlite3_column_int64(st, 2);
    g->hold = g->next_id;
    if (sqlite3_column_type(st, 3) != SQLITE_NULL && sqlite3_column_int64(st, 3) < g->hold)
        g->hold = sqlite3_column_int64(st, 3);
    g->pending = sqlite3_column_int64(st, 4);
    g->seen_ms = sqlite3_column_int64(st, 5);
    return EDXBUS_OK;
}

/* The first event at or after id @p from, up to @p to: its id and when it was stored (*@p id
 * 0 when there is none). */
static edxbus_err_t row_at(struct run *run, int64_t from, int64_t to, int64_t *id,
                          int64_t *stored_ms, char *errstr, size_t errstr_size)
{
    sqlite3_bind_int64(run->age, 1, from);
    sqlite3_bind_int64(run->age, 2, to);
    int rc = sqlite3_step(run->age);
    *id = 0;
    if (rc == SQLITE_ROW) {
        *id = sqlite3_column_int64(run->age, 0);
        *stored_ms = sqlite3_column_int64(run->age, 1);
        rc = SQLITE_DONE;
    }
    sqlite3_reset(run->age);
    return rc == SQLITE_DONE ? EDXBUS_OK
                             : edxbus__sq_fail(run->db, rc, "read an event's age", errstr,
                                               errstr_size);
}

/* The last id in [@p first, @p end] stored before @p cutoff, or first - 1: a binary search
 * (a dozen lookups for a batch), as a topic's events are stored in id order, so their times
 * only grow (a wall clock set back makes the rule fuzzy for those events, never unsafe: every
 * one of them was acknowledged). */
static edxbus_err_t age_bound(struct run *run, int64_t first, int64_t end, int64_t cutoff,
                              int64_t *out, char *errstr, size_t errstr_size)
{
    /* The oldest first (young: the usual answer when idle), then the newest (old: the usual
     * answer with a backlog), then halves. */
    int64_t good = first - 1, bad = end + 1, probe = first;
    for (int step = 0; bad - good > 1; step++) {
        int64_t id, ms = 0;
        edxbus_err_t err = row_at(run, probe, bad - 1, &id, &ms, errstr, errstr_size);
        if (err != EDXBUS_OK)
            return err;
        if (id != 0 && ms < cutoff)
            good = id; /* (no event between probe and id) */
        else
            bad = probe; /* too young, or no event from probe on */
        probe = step == 0 && good == first ? end : good + (bad - good) / 2;
    }
    *out = good;
    return EDXBUS_OK;
}

/* One topic: delete up to *@p budget removable events; decrements it. */
static edxbus_err_t retain_topic(struct sq_retain *r, struct run *run, int64_t tid,
                                 const char *topic, int64_t now, bool force, int64_t *budget,
                                 char *errstr, size_t errstr_size)
{
    int64_t lo = tid << SQ_SEQ_BITS, hi = lo | SQ_SEQ_MASK, first, newest;
    edxbus_err_t err = id_at(run, run->first, lo, hi, 0, &first, errstr, errstr_size);
    if (err == EDXBUS_OK && first != 0)
        err = id_at(run, run->newest, lo, hi, 0, &newest, errstr, errstr_size);
    if (err != EDXBUS_OK || first == 0)
        return err;
    int64_t safe = newest; /* exclusive: the newest is kept */
    int64_t idle_gids[16];
    size_t nidle = 0;
    sqlite3_stmt *st = run->groups;
    sqlite3_bind_text(st, 1, topic, -1, SQLITE_STATIC);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct sq_group_hold g;
        edxbus__sq_group_hold_row(st, &g);
        if (edxbus__sq_group_idle(r, g.seen_ms, now)) {
            warn_idle(r, g.gid, g.name, topic, now - g.seen_ms);
            if (nidle < sizeof idle_gids / sizeof idle_gids[0])
                idle_gids[nidle++] = g.gid;
            else if (g.hold < safe)
                safe = g.hold; /* too many idle groups for one run: next run */
            continue;
        }
        if (g.hold < safe)
            safe = g.hold;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return edxbus__sq_fail(run->db, rc, "list the topic's groups", errstr, errstr_size);
    if (safe <= first)
        return EDXBUS_OK; /* some group still needs the oldest event */
    int64_t cutoff = r->age_ms < 0 ? INT64_MIN : now - r->age_ms;
    int64_t len_bound = lo - 1;
    if (r->max_len > 0 && newest - r->max_len >= lo)
        len_bound = newest - r->max_len;
    /* The batch: at most *budget ids from the oldest (a topic's ids are dense; a gap only
     * makes a batch smaller), all below what the groups hold. */
    int64_t end = first + *budget - 1 < safe - 1 ? first + *budget - 1 : safe - 1;
    int64_t upto = end; /* the last id this batch removes */
    if (!force && len_bound < end) {
        int64_t aged = first - 1;
        if (r->age_ms >= 0)
            err = age_bound(run, first, end, cutoff, &aged, errstr, errstr_size);
        if (err != EDXBUS_OK)
            return err;
        upto = aged > len_bound ? aged : len_bound;
    }
    if (upto < first)
        return EDXBUS_OK; /* the oldest removable event is not old enough yet */
    sqlite3_bind_int64(run->del, 1, first);
    sqlite3_bind_int64(run->del, 2, upto);
    err = edxbus__sq_exec(run->db, run->del, "remove old events", errstr, errstr_size);
    if (err != EDXBUS_OK)
        return err;
    *budget -= sqlite3_changes(run->db->h);
    for (size_t i = 0; i < nidle && err == EDXBUS_OK; i++) {
        /* What an idle group had taken and not acknowledged may be gone now. */
        sqlite3_bind_int64(run->unpend, 1, idle_gids[i]);
        sqlite3_bind_int64(run->unpend, 2, upto);
        err = edxbus__sq_exec(run->db, run->unpend, "forget an idle group's pending events",
                              errstr, errstr_size);
    }
    return err;
}

/* The file's data and free pages, in bytes. */
static edxbus_err_t pages(struct sq_db *db, int64_t *used, int64_t *free_bytes,
                          int64_t *page_size, char *errstr, size_t errstr_size)
{
    static const char *const sql[] = {"PRAGMA page_count", "PRAGMA freelist_count",
                                      "PRAGMA page_size"};
    int64_t v[3] = {0, 0, 0};
    for (size_t i = 0; i < 3; i++) {
        sqlite3_stmt *st = NULL;
        int rc = sqlite3_prepare_v2(db->h, sql[i], -1, &st, NULL);
        if (rc != SQLITE_OK)
            return edxbus__sq_fail(db, rc, "measure the file", errstr, errstr_size);
        edxbus_err_t err = edxbus__sq_int(db, st, 0, &v[i], "measure the file", errstr,
                                          errstr_size);
        sqlite3_finalize(st);
        if (err != EDXBUS_OK)
            return err;
    }
    *used = (v[0] - v[1]) * v[2];
    *free_bytes = v[1] * v[2];
    *page_size = v[2];
    return EDXBUS_OK;
}

/* Switch the connection's synchronous level (connection-local, no I/O). A vacuum step alone
 * runs at NORMAL: losing it to a power cut loses nothing. A retention run commits at the
 * settings' level instead: its pages would otherwise be fsynced by the handle's next send,
 * outside the time the run is measured by, and catching up would take more than its share. */
static void set_sync(struct sq_db *db, const char *level)
{
    char sql[48];
    snprintf(sql, sizeof sql, "PRAGMA synchronous=%s", level);
    sqlite3_exec(db->h, sql, NULL, NULL, NULL);
}

/* PRAGMA secure_delete of the connection (0 off, 1 on, 2 fast); @p to >= 0 sets it. Debian's
 * SQLite turns it on, which zeroes every page a removal frees and writes it to the WAL: for a
 * run of retention, about as many page writes again as the removal itself. A run switches to
 * FAST, which still zeroes what it removes from the pages it writes anyway, and leaves freed
 * pages as they are until they are reused or given back by the incremental vacuum. */
static int secure_delete(struct sq_db *db, int to)
{
    sqlite3_stmt *st = NULL;
    int was = 1;
    char sql[40];
    snprintf(sql, sizeof sql, to < 0 ? "PRAGMA secure_delete" : "PRAGMA secure_delete=%d", to);
    if (sqlite3_prepare_v2(db->h, sql, -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        was = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return was;
}

/* Up to @p max_pages free pages back to the file system (inside the caller's transaction when
 * there is one); *@p left gets the free pages that remain. */
static edxbus_err_t vacuum(struct sq_db *db, int64_t max_pages, int64_t *left, char *errstr,
                           size_t errstr_size)
{
    char sql[64];
    int64_t used, freeb, page = 0;
    snprintf(sql, sizeof sql, "PRAGMA incremental_vacuum(%lld)", (long long)max_pages);
    int rc = sqlite3_exec(db->h, sql, NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return edxbus__sq_fail(db, rc, "give free space back", errstr, errstr_size);
    edxbus_err_t err = pages(db, &used, &freeb, &page, errstr, errstr_size);
    *left = page > 0 ? freeb / page : 0;
    return err;
}

/* One run: remove up to SQ_RETAIN_BATCH events, then (@p vacuum_min >= 0) give up to
 * SQ_VACUUM_PAGES free pages back when more than @p vacuum_min are free, in one transaction. */
static edxbus_err_t run_once(struct sq_db *db, struct sq_retain *r, int64_t now,
                             int64_t vacuum_min, int64_t *deleted, int64_t *left, char *errstr,
                             size_t errstr_size)
{
    struct run run;
    int64_t budget = SQ_RETAIN_BATCH, used = 0, freeb = 0, page = 0;
    *deleted = *left = 0;
    edxbus_err_t err = run_init(&run, db, errstr, errstr_size);
    if (err != EDXBUS_OK)
        return err;
    int was_secure = secure_delete(db, -1);
    secure_delete(db, 2);
    err = edxbus__sq_begin(db, errstr, errstr_size);
    if (err != EDXBUS_OK)
        goto out;
    err = pages(db, &used, &freeb, &page, errstr, errstr_size);
    bool force = r->max_bytes > 0 && used > r->max_bytes;
    int rc = SQLITE_DONE;
    while (err == EDXBUS_OK && budget > 0 && (rc = sqlite3_step(run.topics)) == SQLITE_ROW) {
        char topic[1024];
        const unsigned char *name = sqlite3_column_text(run.topics, 1);
        snprintf(topic, sizeof topic, "%s", name ? (const char *)name : "");
        err = retain_topic(r, &run, sqlite3_column_int64(run.topics, 0), topic, now, force,
                           &budget, errstr, errstr_size);
    }
    sqlite3_reset(run.topics);
    if (err == EDXBUS_OK && rc != SQLITE_DONE && rc != SQLITE_ROW)
        err = edxbus__sq_fail(db, rc, "list topics", errstr, errstr_size);
    if (err == EDXBUS_OK && vacuum_min >= 0 && page > 0 &&
        freeb / page + (SQ_RETAIN_BATCH - budget) / 8 > vacuum_min)
        err = vacuum(db, SQ_VACUUM_PAGES, left, errstr, errstr_size);
    if (err == EDXBUS_OK)
        err = edxbus__sq_commit(db, errstr, errstr_size);
    else
        edxbus__sq_rollback(db);
    if (err == EDXBUS_OK)
        *deleted = SQ_RETAIN_BATCH - budget;
out:
    secure_delete(db, was_secure);
    run_fini(&run);
    return err;
}

edxbus_err_t edxbus__sq_retain_step(struct sq_db *db, struct sq_retain *r, int64_t now,
                                    int64_t *deleted, char *errstr, size_t errstr_size)
{
    int64_t left;
    return run_once(db, r, now, -1, deleted, &left, errstr, errstr_size);
}

edxbus_err_t edxbus__sq_vacuum_step(struct sq_db *db, int64_t max_pages, int64_t *left,
                                    char *errstr, size_t errstr_size)
{
    *left = 0;
    if (edxbus__sq_auto_vacuum(db) != 2)
        return EDXBUS_OK;
    set_sync(db, "NORMAL");
    edxbus_err_t err = vacuum(db, max_pages, left, errstr, errstr_size);
    set_sync(db, db->sync[0] ? db->sync : "FULL");
    return err;
}

/* PRAGMA auto_vacuum of the file: 0 none, 1 full, 2 incremental. */
int edxbus__sq_auto_vacuum(struct sq_db *db)
{
    sqlite3_stmt *st = NULL;
    int v = 0;
    if (sqlite3_prepare_v2(db->h, "PRAGMA auto_vacuum", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return v;
}

void edxbus__sq_retain_tick(struct sq_db *db, struct sq_retain *r, int64_t now, bool idle)
{
    if (r->off || (now < r->next_ms && !(idle && r->more)))
        return;
    char errstr[EDXBUS_ERRSTR_SIZE];
    int64_t deleted = 0, left = 0;
    if (r->auto_vacuum < 0)
        r->auto_vacuum = edxbus__sq_auto_vacuum(db);
    edxbus_err_t err = run_once(db, r, now, r->auto_vacuum == 2 ? SQ_VACUUM_MIN_FREE : -1,
                                &deleted, &left, errstr, sizeof errstr);
    r->more = err == EDXBUS_OK && (deleted == SQ_RETAIN_BATCH || left > SQ_VACUUM_MIN_FREE);
    /* With more to do, a busy handle comes back after SQ_RETAIN_BUSY_SHARE times as long as
     * this run took (catching up takes at most 1/(1 + SQ_RETAIN_BUSY_SHARE) of its time); an
     * idle one at its next idle moment. */
    int64_t took = edxbus_clock_wall_ms() - now;
    r->next_ms = r->more ? now + SQ_RETAIN_BUSY_SHARE * (took > 0 ? took : 1)
                         : now + SQ_RETAIN_EVERY_MS;
    if (err != EDXBUS_OK)
        edxbus_conf_log(r->log, EDXBUS_LOG_WARNING, "%s; removing old events again in %d ms",
                        errstr, SQ_RETAIN_EVERY_MS);
}
