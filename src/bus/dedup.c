/* src/bus/dedup.c — effectively-once receivers: the ids a group has handled (EVENT_BUS_CONSUMER_DEDUP).
 *
 * Delivery is at least once: a consumer that dies after its receivers ran but before the broker
 * took its ack, or a producer that sent an event twice (an outbox relay killed mid-batch, a
 * replay), hands the same event to the receivers again. With EVENT_BUS_CONSUMER_DEDUP on, the
 * worker keeps the ids of the events it has finished with, per group, in a small SQLite file of
 * its own, "<EVENT_BUS_CONSUMER_DEDUP_PATH>/edxbus-dedup-<group>.db" (one table, keyed by topic
 * and event id; SQLite used as a library, not the broker's storage). Before running receivers
 * the worker asks edxbus__dedup_seen(); after it decided an event is done (handled, or
 * dead-lettered) and before it acks, it calls edxbus__dedup_record(), which commits the id.
 * So a crash between that commit and the ack gives a redelivery the worker skips (acks without
 * running receivers); a crash before it runs the receivers again (at least once still holds).
 *
 * Ids older than EVENT_BUS_CONSUMER_DEDUP_WINDOW seconds (default 7 days) are forgotten: a
 * duplicate arriving later than that runs the receivers again. The prune runs at open and then
 * every PRUNE_EVERY records, one DELETE on the time index.
 */
#include "consumer_int.h"

#include <ctype.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PRUNE_EVERY 1000 /* records between two prunes of the window */
#define BUSY_MS 5000     /* how long a write waits for another member's transaction (ms) */

struct edxbus__dedup {
    sqlite3 *db;
    sqlite3_stmt *seen, *record, *prune;
    char path[4096];
    int64_t window_ms;
    unsigned since_prune;
};

static edxbus_err_t fail(struct edxbus__dedup *d, const char *what, char *errstr,
                         size_t errstr_size)
{
    edxbus__errf(errstr, errstr_size, "EVENT_BUS_CONSUMER_DEDUP: %s: %s (%s)", what,
                 d->db != NULL ? sqlite3_errmsg(d->db) : "out of memory", d->path);
    return EDXBUS_ERR_IO;
}

static edxbus_err_t prune(struct edxbus__dedup *d, char *errstr, size_t errstr_size)
{
    sqlite3_bind_int64(d->prune, 1, edxbus__now_ms() - d->window_ms);
    int rc = sqlite3_step(d->prune);
    sqlite3_reset(d->prune);
    d->since_prune = 0;
    return rc == SQLITE_DONE ? EDXBUS_OK : fail(d, "forget old ids", errstr, errstr_size);
}

struct edxbus__dedup *edxbus__dedup_open(const edxbus_conf_t *conf, const char *group,
                                         char *errstr, size_t errstr_size)
{
    struct edxbus__dedup *d = calloc(1, sizeof *d);
    if (d == NULL) {
        edxbus__errf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    const char *dir = edxbus_conf_get_str(conf, "EVENT_BUS_CONSUMER_DEDUP_PATH", ".");
    if (dir == NULL || dir[0] == '\0')
        dir = ".";
    /* The group name goes into a file name: keep [A-Za-z0-9._-], the rest becomes '_'. */
    int n = snprintf(d->path, sizeof d->path, "%s/edxbus-dedup-", dir);
    for (const char *g = group; *g != '\0' && n > 0 && (size_t)n < sizeof d->path - 4; g++)
        d->path[n++] = isalnum((unsigned char)*g) || *g == '.' || *g == '-' || *g == '_' ? *g : '_';
    if (n <= 0 || (size_t)n >= sizeof d->path - 4) {
        edxbus__errf(errstr, errstr_size, "EVENT_BUS_CONSUMER_DEDUP_PATH: \"%s\" is too long", dir);
        free(d);
        return NULL;
    }
    memcpy(d->path + n, ".db", 4);
    d->window_ms = edxbus_conf_get_int(conf, "EVENT_BUS_CONSUMER_DEDUP_WINDOW", 604800) * 1000;
    if (sqlite3_open_v2(d->path, &d->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        fail(d, "cannot open the file", errstr, errstr_size);
        goto out_close;
    }
    sqlite3_busy_timeout(d->db, BUSY_MS);
    /* WAL: members of the group in other processes read while one writes. synchronous=FULL:
     * a recorded id survives a power cut, as the ack it precedes would. */
    if (sqlite3_exec(d->db,
                     "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                     "CREATE TABLE IF NOT EXISTS handled(topic TEXT NOT NULL, id TEXT NOT NULL,"
                     " handled_ms INTEGER NOT NULL, PRIMARY KEY(topic, id)) WITHOUT ROWID;"
                     "CREATE INDEX IF NOT EXISTS handled_time ON handled(handled_ms);",
                     NULL, NULL, NULL) != SQLITE_OK) {
        fail(d, "cannot create its table", errstr, errstr_size);
        goto out_close;
    }
    if (sqlite3_prepare_v2(d->db, "SELECT 1 FROM handled WHERE topic = ?1 AND id = ?2", -1,
                           &d->seen, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(d->db,
                           "INSERT INTO handled(topic, id, handled_ms) VALUES(?1, ?2, ?3)"
                           " ON CONFLICT(topic, id) DO UPDATE SET handled_ms = excluded.handled_ms",
                           -1, &d->record, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(d->db, "DELETE FROM handled WHERE handled_ms < ?1", -1, &d->prune,
                           NULL) != SQLITE_OK) {
        fail(d, "cannot prepare its statements", errstr, errstr_size);
        goto out_close;
    }
    if (prune(d, errstr, errstr_size) != EDXBUS_OK)
        goto out_close;
    return d;
out_close:
    edxbus__dedup_close(d);
    return NULL;
}

void edxbus__dedup_close(struct edxbus__dedup *d)
{
    if (d == NULL)
        return;
    sqlite3_finalize(d->seen);
    sqlite3_finalize(d->record);
    sqlite3_finalize(d->prune);
    sqlite3_close_v2(d->db);
    free(d);
}

edxbus_err_t edxbus__dedup_seen(struct edxbus__dedup *d, const char *topic, const char *id,
                                bool *seen, char *errstr, size_t errstr_size)
{
    sqlite3_bind_text(d->seen, 1, topic, -1, SQLITE_STATIC);
    sqlite3_bind_text(d->seen, 2, id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(d->seen);
    *seen = rc == SQLITE_ROW;
    sqlite3_reset(d->seen);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return fail(d, "cannot look an id up", errstr, errstr_size);
    return EDXBUS_OK;
}

edxbus_err_t edxbus__dedup_record(struct edxbus__dedup *d, const char *topic, const char *id,
                                  char *errstr, size_t errstr_size)
{
    sqlite3_bind_text(d->record, 1, topic, -1, SQLITE_STATIC);
    sqlite3_bind_text(d->record, 2, id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(d->record, 3, edxbus__now_ms());
    int rc = sqlite3_step(d->record);
    sqlite3_reset(d->record);
    if (rc != SQLITE_DONE)
        return fail(d, "cannot record an id", errstr, errstr_size);
    if (++d->since_prune >= PRUNE_EVERY)
        return prune(d, errstr, errstr_size);
    return EDXBUS_OK;
}
