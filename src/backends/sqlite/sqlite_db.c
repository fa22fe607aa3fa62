/* src/backends/sqlite/sqlite_db.c — opening the broker file, its schema, and shared helpers.
 *
 * Every handle (producer, consumer, lag) opens its own connection: WAL journal (readers never
 * block the writer and the writer never blocks readers; writers take turns on the file lock),
 * a busy timeout so that contending processes wait instead of failing, and the synchronous
 * level from EVENT_BUS_SQLITE_SYNCHRONOUS. FULL (the default) fsyncs the WAL at every commit,
 * so a synchronous produce() that returned EDXBUS_OK survives a power cut; NORMAL survives a
 * crash of the process but may lose the last commits on power loss, and is several times
 * faster for per-event commits (bench/bench_sqlite.c measures both).
 *
 * The schema is created on first open, inside BEGIN IMMEDIATE so that racing processes create
 * it once, and stamped with PRAGMA user_version. To change the layout: bump SQ_SCHEMA_VERSION,
 * add the migration step to schema_create(), and describe the tables in sqlite_int.h.
 *
 * Also here: the column form of metadata and headers (shared by producer and consumer), error
 * mapping, the clock, and the process identity used to tell dead consumers from live ones.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "edxbus/conf.h"
#include "sqlite_int.h"

static const char *const SCHEMA_SQL =
    /* id = tid << SQ_SEQ_BITS | seq: a topic's rows are one range of the rowid, so reading a
     * topic needs no index and an insert writes one table page (plain SQLite's cost). */
    "CREATE TABLE IF NOT EXISTS messages("
    " id INTEGER PRIMARY KEY,"
    " stored_ms INTEGER NOT NULL," /* when the producer committed it (ms since the epoch) */
    " event_type TEXT, event_id TEXT, minorversion INTEGER, source TEXT, sourcehost TEXT,"
    " time_us INTEGER, sourcelib TEXT," /* EventsMetadata; time in µs, exact */
    " key BLOB, value BLOB NOT NULL, headers BLOB);"
    "CREATE TABLE IF NOT EXISTS topics("
    " tid INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, created_ms INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS groups("
    " gid INTEGER PRIMARY KEY, topic TEXT NOT NULL, name TEXT NOT NULL,"
    " next_id INTEGER NOT NULL, created_ms INTEGER NOT NULL, seen_ms INTEGER,"
    " UNIQUE(topic, name));"
    "CREATE TABLE IF NOT EXISTS consumers("
    " cid INTEGER PRIMARY KEY, gid INTEGER NOT NULL, name TEXT NOT NULL, host TEXT NOT NULL,"
    " pid INTEGER NOT NULL, pstart INTEGER NOT NULL, seen_ms INTEGER NOT NULL,"
    " UNIQUE(gid, name));"
    "CREATE TABLE IF NOT EXISTS pending("
    " gid INTEGER NOT NULL, msg_id INTEGER NOT NULL, cid INTEGER NOT NULL,"
    " delivered_ms INTEGER NOT NULL, deliveries INTEGER NOT NULL,"
    " PRIMARY KEY(gid, msg_id)) WITHOUT ROWID;";

int64_t edxbus__sq_proc_start(pid_t pid)
{
    char path[64], line[1024];
    snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    size_t n = fread(line, 1, sizeof line - 1, f);
    fclose(f);
    line[n] = '\0';
    /* The command name (field 2) may hold spaces and parentheses: count fields after the last
     * ')'. starttime is field 22, i.e. the 20th after it. */
    const char *p = strrchr(line, ')');
    if (p == NULL)
        return 0;
    for (int field = 2; field < 22 && p != NULL; field++)
        p = strchr(p + 1, ' ');
    if (p == NULL)
        return 0;
    return strtoll(p + 1, NULL, 10);
}

void edxbus__sq_position_text(int64_t seq, char *pos)
{
    char digits[24];
    size_t n = 0;
    uint64_t u = (uint64_t)seq;
    do {
        digits[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    for (size_t i = 0; i < n; i++)
        pos[i] = digits[n - 1 - i];
    pos[n] = '\0';
}

bool edxbus__sq_parse_position(const char *text, int64_t *id)
{
    /* Decimal digits only, at least one, no overflow (as strtoll would read them; by hand: an
     * ack parses one per message). */
    if (text == NULL || *text < '0' || *text > '9')
        return false;
    int64_t v = 0;
    for (; *text >= '0' && *text <= '9'; text++) {
        int d = *text - '0';
        if (v > (INT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    if (*text != '\0')
        return false;
    *id = v;
    return true;
}

/* The directory of @p path, into @p dir. */
static void dir_of(const char *path, char *dir, size_t size)
{
    const char *slash = strrchr(path, '/');
    if (slash == NULL)
        snprintf(dir, size, ".");
    else if (slash == path)
        snprintf(dir, size, "/");
    else
        snprintf(dir, size, "%.*s", (int)(slash - path), path);
}

/* @p bytes as "12.3 MB". */
static const char *human(int64_t bytes, char *out, size_t size)
{
    static const char *const units[] = {"bytes", "KB", "MB", "GB", "TB"};
    double v = (double)bytes;
    size_t u = 0;
    while (v >= 1000 && u + 1 < sizeof units / sizeof units[0]) {
        v /= 1000;
        u++;
    }
    snprintf(out, size, u ? "%.1f %s" : "%.0f %s", v, units[u]);
    return out;
}

/* What to do about a failure that comes from the file system, or NULL: a full disk or a
 * file-size limit, a directory or file this user may not write, a missing directory. */
static const char *fs_advice(struct sq_db *db, int rc, int sys, char *out, size_t size)
{
    char dir[4096], a[32];
    dir_of(db->path, dir, sizeof dir);
    int prim = rc & 0xff;
    /* SQLite keeps the OS's reason for a failed write only sometimes (errno may be gone by
     * the time it asks): treat every failed write as possibly a full disk and say how much
     * room there is. */
    if (prim == SQLITE_FULL || sys == ENOSPC || sys == EFBIG || sys == EDQUOT ||
        rc == SQLITE_IOERR_WRITE || rc == SQLITE_IOERR_FSYNC || rc == SQLITE_IOERR_TRUNCATE) {
        struct rlimit rl;
        int64_t free_bytes = edxbus__sq_disk_free(db->path);
        int used = snprintf(out, size, "could not write: %s free on the disk of %.300s",
                            free_bytes < 0 ? "unknown" : human(free_bytes, a, sizeof a), dir);
        if (used > 0 && (size_t)used < size && getrlimit(RLIMIT_FSIZE, &rl) == 0 &&
            rl.rlim_cur != RLIM_INFINITY)
            used += snprintf(out + used, size - (size_t)used,
                             ", and this process may not write files over %s (ulimit -f)",
                             human((int64_t)rl.rlim_cur, a, sizeof a));
        if (used > 0 && (size_t)used < size)
            snprintf(out + used, size - (size_t)used,
                     "; nothing stored was changed: free some space (or raise the limit) and "
                     "send again");
        return out;
    }
    if (prim == SQLITE_READONLY || prim == SQLITE_CANTOPEN || prim == SQLITE_PERM ||
        sys == EACCES || sys == EROFS || sys == ENOENT) {
        struct stat sb;
        if (stat(dir, &sb) != 0)
            snprintf(out, size,
                     "the directory %.300s does not exist: create it, or set "
                     "EVENT_BUS_SQLITE_PATH to a file in a directory that does",
                     dir);
        else if (access(dir, W_OK) != 0 || sys == EROFS)
            snprintf(out, size,
                     "the directory %.300s must be writable by this user: SQLite keeps "
                     "the -wal and -shm files beside the database",
                     dir);
        else if (access(db->path, F_OK) == 0 && access(db->path, W_OK) != 0)
            snprintf(out, size, "the file is read-only for this user: make it writable");
        else
            return NULL;
        return out;
    }
    return NULL;
}

edxbus_err_t edxbus__sq_fail(struct sq_db *db, int rc, const char *what, char *errstr,
                             size_t errstr_size)
{
    const char *msg = db->h ? sqlite3_errmsg(db->h) : sqlite3_errstr(rc);
    int sys = db->h ? sqlite3_system_errno(db->h) : 0;
    char advice[768], reason[160] = "";
    if (sys != 0 && (rc & 0xff) != SQLITE_BUSY)
        snprintf(reason, sizeof reason, " (%s)", strerror(sys));
    const char *fix = fs_advice(db, rc, sys, advice, sizeof advice);
    if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED)
        edxbus_errf(errstr, errstr_size, "sqlite: %s: %s after waiting %d ms (%s)", what, msg,
                    db->busy_ms, db->path);
    else if (fix != NULL)
        edxbus_errf(errstr, errstr_size, "sqlite: %s in %s: %s%s; %s", what, db->path, msg, reason,
                    fix);
    else
        edxbus_errf(errstr, errstr_size, "sqlite: %s: %s%s (%s)", what, msg, reason, db->path);
    switch (rc & 0xff) {
    case SQLITE_NOMEM:
        return EDXBUS_ERR_NOMEM;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return EDXBUS_ERR_BROKER;
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
        return EDXBUS_ERR_IO;
    default:
        return EDXBUS_ERR_BROKER;
    }
}

edxbus_err_t edxbus__sq_prepare(struct sq_db *db, const char *sql, sqlite3_stmt **st,
                                const char *what, char *errstr, size_t errstr_size)
{
    int rc = sqlite3_prepare_v3(db->h, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL);
    if (rc != SQLITE_OK)
        return edxbus__sq_fail(db, rc, what, errstr, errstr_size);
    return EDXBUS_OK;
}

edxbus_err_t edxbus__sq_exec(struct sq_db *db, sqlite3_stmt *st, const char *what, char *errstr,
                             size_t errstr_size)
{
    int rc;
    do {
        rc = sqlite3_step(st);
    } while (rc == SQLITE_ROW);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return edxbus__sq_fail(db, rc, what, errstr, errstr_size);
    return EDXBUS_OK;
}

edxbus_err_t edxbus__sq_int(struct sq_db *db, sqlite3_stmt *st, int64_t def, int64_t *out,
                            const char *what, char *errstr, size_t errstr_size)
{
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *out = sqlite3_column_type(st, 0) == SQLITE_NULL ? def : sqlite3_column_int64(st, 0);
        rc = SQLITE_DONE;
    } else if (rc == SQLITE_DONE) {
        *out = def;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return edxbus__sq_fail(db, rc, what, errstr, errstr_size);
    return EDXBUS_OK;
}

edxbus_err_t edxbus__sq_begin(struct sq_db *db, char *errstr, size_t errstr_size)
{
    /* The busy handler covers most waits; a few SQLITE_BUSY cases in WAL mode (recovery, a
     * checkpoint resetting the WAL) return at once, so retry those until the timeout. */
    int64_t deadline = edxbus_clock_wall_ms() + db->busy_ms;
    for (;;) {
        int rc = sqlite3_step(db->begin);
        sqlite3_reset(db->begin);
        if (rc == SQLITE_DONE)
            return EDXBUS_OK;
        if ((rc & 0xff) != SQLITE_BUSY || edxbus_clock_wall_ms() >= deadline)
            return edxbus__sq_fail(db, rc, "begin a write transaction", errstr, errstr_size);
        edxbus_clock_sleep_ms(2);
    }
}

edxbus_err_t edxbus__sq_commit(struct sq_db *db, char *errstr, size_t errstr_size)
{
    int rc = sqlite3_step(db->commit);
    sqlite3_reset(db->commit);
    if (rc != SQLITE_DONE) {
        edxbus_err_t err = edxbus__sq_fail(db, rc, "commit", errstr, errstr_size);
        edxbus__sq_rollback(db);
        return err;
    }
    return EDXBUS_OK;
}

void edxbus__sq_rollback(struct sq_db *db)
{
    if (!sqlite3_get_autocommit(db->h))
        sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
}

/* Run @p sql (no rows wanted), retrying SQLITE_BUSY that bypassed the busy handler. */
static edxbus_err_t exec_retry(struct sq_db *db, const char *sql, const char *what, char *errstr,
                               size_t errstr_size)
{
    int64_t deadline = edxbus_clock_wall_ms() + db->busy_ms;
    for (;;) {
        int rc = sqlite3_exec(db->h, sql, NULL, NULL, NULL);
        if (rc == SQLITE_OK)
            return EDXBUS_OK;
        if ((rc & 0xff) != SQLITE_BUSY || edxbus_clock_wall_ms() >= deadline)
            return edxbus__sq_fail(db, rc, what, errstr, errstr_size);
        edxbus_clock_sleep_ms(2);
    }
}

static bool file_is_empty(struct sq_db *db)
{
    sqlite3_stmt *st = NULL;
    bool empty = false;
    if (sqlite3_prepare_v2(db->h, "PRAGMA page_count", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        empty = sqlite3_column_int64(st, 0) == 0;
    sqlite3_finalize(st);
    return empty;
}

static int user_version(struct sq_db *db)
{
    sqlite3_stmt *st = NULL;
    int v = -1;
    if (sqlite3_prepare_v2(db->h, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return v;
}

static edxbus_err_t schema_create(struct sq_db *db, char *errstr, size_t errstr_size)
{
    char sql[64];
    edxbus_err_t err = edxbus__sq_begin(db, errstr, errstr_size);
    if (err != EDXBUS_OK)
        return err;
    int v = user_version(db); /* again, under the lock: another process may have won */
    if (v == 0)
        err = exec_retry(db, SCHEMA_SQL, "create the schema", errstr, errstr_size);
    else if (v == 2) /* version 3 added groups.seen_ms (retention's idle limit) */
        err = exec_retry(db, "ALTER TABLE groups ADD COLUMN seen_ms INTEGER",
                         "add the groups' activity column", errstr, errstr_size);
    if (err != EDXBUS_OK)
        goto out_rollback;
    if (v < SQ_SCHEMA_VERSION) {
        snprintf(sql, sizeof sql, "PRAGMA user_version=%d", SQ_SCHEMA_VERSION);
        err = exec_retry(db, sql, "stamp the schema version", errstr, errstr_size);
        if (err != EDXBUS_OK)
            goto out_rollback;
    }
    return edxbus__sq_commit(db, errstr, errstr_size);
out_rollback:
    edxbus__sq_rollback(db);
    return err;
}

edxbus_err_t edxbus__sq_schema_in_tx(struct sq_db *db, char *errstr, size_t errstr_size)
{
    char sql[64];
    int v = user_version(db);
    if (v == SQ_SCHEMA_VERSION)
        return EDXBUS_OK;
    if (v != 0) {
        edxbus_errf(errstr, errstr_size,
                    "sqlite: %s has PRAGMA user_version %d, which is not the embedded log's (%d); "
                    "the database is used by something else that owns user_version: keep the "
                    "outbox in a database of its own",
                    db->path, v, SQ_SCHEMA_VERSION);
        return EDXBUS_ERR_STATE;
    }
    edxbus_err_t err = exec_retry(db, SCHEMA_SQL, "create the schema", errstr, errstr_size);
    if (err != EDXBUS_OK)
        return err;
    snprintf(sql, sizeof sql, "PRAGMA user_version=%d", SQ_SCHEMA_VERSION);
    return exec_retry(db, sql, "stamp the schema version", errstr, errstr_size);
}

static edxbus_err_t set_journal_wal(struct sq_db *db, char *errstr, size_t errstr_size)
{
    int64_t deadline = edxbus_clock_wall_ms() + db->busy_ms;
    /* A file in WAL mode already needs no switch (which would write: a read-only file that
     * a tail may still read would fail here). */
    const char *sql = "PRAGMA journal_mode";
    for (;;) {
        sqlite3_stmt *st = NULL;
        int rc = sqlite3_prepare_v2(db->h, sql, -1, &st, NULL);
        if (rc == SQLITE_OK)
            rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            const char *mode = (const char *)sqlite3_column_text(st, 0);
            bool wal = mode != NULL && strcasecmp(mode, "wal") == 0;
            sqlite3_finalize(st);
            if (wal)
                return EDXBUS_OK;
            if (strcmp(sql, "PRAGMA journal_mode") == 0) {
                sql = "PRAGMA journal_mode=WAL";
                continue;
            }
            edxbus_errf(errstr, errstr_size,
                        "sqlite: %s cannot use the WAL journal (the file system may not support "
                        "shared memory); put EVENT_BUS_SQLITE_PATH on a local disk",
                        db->path);
            return EDXBUS_ERR_IO;
        }
        sqlite3_finalize(st);
        if ((rc & 0xff) != SQLITE_BUSY || edxbus_clock_wall_ms() >= deadline)
            return edxbus__sq_fail(db, rc, "switch to the WAL journal", errstr, errstr_size);
        edxbus_clock_sleep_ms(2);
    }
}

static edxbus_err_t set_synchronous(struct sq_db *db, const edxbus_conf_t *conf, char *errstr,
                                    size_t errstr_size)
{
    static const char *const levels[] = {"FULL", "NORMAL", "EXTRA", "OFF"};
    const char *want =
        conf ? edxbus_conf_get_str(conf, "EVENT_BUS_SQLITE_SYNCHRONOUS", "FULL") : "FULL";
    for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++) {
        if (strcasecmp(want, levels[i]) == 0) {
            char sql[48];
            snprintf(sql, sizeof sql, "PRAGMA synchronous=%s", levels[i]);
            snprintf(db->sync, sizeof db->sync, "%s", levels[i]);
            return exec_retry(db, sql, "set the synchronous level", errstr, errstr_size);
        }
    }
    edxbus_errf(errstr, errstr_size,
                "EVENT_BUS_SQLITE_SYNCHRONOUS: \"%s\" is not a level; expected FULL (durable per "
                "commit) or NORMAL (faster; the last commits may be lost on power loss)",
                want);
    return EDXBUS_ERR_CONF;
}

edxbus_err_t edxbus__sq_db_open(struct sq_db *db, const edxbus_conf_t *conf, bool create,
                                char *errstr, size_t errstr_size)
{
    memset(db, 0, sizeof *db);
    const char *path = conf ? edxbus_conf_get_str(conf, "EVENT_BUS_SQLITE_PATH", SQ_DEFAULT_PATH)
                            : SQ_DEFAULT_PATH;
    if (path == NULL || *path == '\0')
        path = SQ_DEFAULT_PATH;
    if (strlen(path) >= sizeof db->path) {
        edxbus_errf(errstr, errstr_size, "EVENT_BUS_SQLITE_PATH: path is longer than %zu bytes",
                    sizeof db->path - 1);
        return EDXBUS_ERR_CONF;
    }
    memcpy(db->path, path, strlen(path) + 1);
    db->busy_ms = SQ_BUSY_MS;

    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
    int rc = sqlite3_open_v2(db->path, &db->h, flags, NULL);
    edxbus_err_t err;
    if (rc != SQLITE_OK) {
        err = edxbus__sq_fail(db, rc, "open the database", errstr, errstr_size);
        goto out_close;
    }
    sqlite3_extended_result_codes(db->h, 1);
    sqlite3_busy_timeout(db->h, db->busy_ms);
    /* A new (empty) file gets incremental vacuum, so retention can give space back; it must be
     * set before the first table (and before the WAL switch writes the first page). On an
     * existing file the pragma would open a write transaction, so it is not run. The WAL file
     * is cut back to 64 MiB after a checkpoint instead of staying at its largest. */
    err = exec_retry(db, "PRAGMA journal_size_limit=67108864", "limit the WAL file", errstr,
                     errstr_size);
    if (err == EDXBUS_OK && file_is_empty(db))
        err = exec_retry(db, "PRAGMA auto_vacuum=INCREMENTAL", "set up space reclaiming", errstr,
                         errstr_size);
    if (err != EDXBUS_OK)
        goto out_close;
    err = set_journal_wal(db, errstr, errstr_size);
    if (err != EDXBUS_OK)
        goto out_close;
    err = set_synchronous(db, conf, errstr, errstr_size);
    if (err != EDXBUS_OK)
        goto out_close;
    err =
        edxbus__sq_prepare(db, "BEGIN IMMEDIATE", &db->begin, "prepare BEGIN", errstr, errstr_size);
    if (err != EDXBUS_OK)
        goto out_close;
    err = edxbus__sq_prepare(db, "COMMIT", &db->commit, "prepare COMMIT", errstr, errstr_size);
    if (err != EDXBUS_OK)
        goto out_close;

    int v = user_version(db);
    if (v > 0 && v < 2) {
        edxbus_errf(errstr, errstr_size,
                    "sqlite: %s has schema version %d, from a development build of edxbus; move it "
                    "away or delete it",
                    db->path, v);
        err = EDXBUS_ERR_BROKER;
        goto out_close;
    }
    if (v > SQ_SCHEMA_VERSION) {
        edxbus_errf(errstr, errstr_size,
                    "sqlite: %s has schema version %d; this edxbus knows up to %d; upgrade edxbus",
                    db->path, v, SQ_SCHEMA_VERSION);
        err = EDXBUS_ERR_BROKER;
        goto out_close;
    }
    if (v < SQ_SCHEMA_VERSION) {
        err = schema_create(db, errstr, errstr_size);
        if (err != EDXBUS_OK)
            goto out_close;
    }
    struct stat sb;
    if (stat(db->path, &sb) == 0) {
        db->dev = sb.st_dev;
        db->ino = sb.st_ino;
    }
    db->next_stat_ms = edxbus_clock_wall_ms() + SQ_STAT_EVERY_MS;
    return EDXBUS_OK;
out_close:
    edxbus__sq_db_close(db);
    return err;
}

edxbus_err_t edxbus__sq_db_still_there(struct sq_db *db, int64_t now, char *errstr,
                                       size_t errstr_size)
{
    if (now < db->next_stat_ms || db->ino == 0)
        return EDXBUS_OK;
    db->next_stat_ms = now + SQ_STAT_EVERY_MS;
    struct stat sb;
    bool gone = false;
    if (stat(db->path, &sb) != 0) {
        if (errno != ENOENT)
            return EDXBUS_OK; /* cannot tell */
        gone = true;
    } else if (sb.st_dev == db->dev && sb.st_ino == db->ino) {
        return EDXBUS_OK;
    }
    edxbus_errf(errstr, errstr_size,
                "sqlite: %s was %s while this process was using it: the events it reads and writes "
                "are no longer the ones other processes see; restart this process to use the %s",
                db->path, gone ? "deleted" : "replaced by another file",
                gone ? "file a producer creates next" : "new file");
    return EDXBUS_ERR_FATAL;
}

void edxbus__sq_db_close(struct sq_db *db)
{
    sqlite3_finalize(db->begin);
    sqlite3_finalize(db->commit);
    sqlite3_close_v2(db->h); /* statements a handle still holds are finalized by its owner */
    db->h = NULL;
    db->begin = db->commit = NULL;
}

edxbus_err_t edxbus__sq_topic_id(struct sq_db *db, const char *topic, bool create, int64_t *tid,
                                 char *errstr, size_t errstr_size)
{
    sqlite3_stmt *st = NULL;
    edxbus_err_t err = EDXBUS_OK;
    *tid = 0;
    if (create) {
        err = edxbus__sq_prepare(db,
                                 "INSERT INTO topics(name, created_ms) VALUES(?1, ?2)"
                                 " ON CONFLICT(name) DO NOTHING",
                                 &st, "prepare a topic insert", errstr, errstr_size);
        if (err != EDXBUS_OK)
            return err;
        sqlite3_bind_text(st, 1, topic, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, edxbus_clock_wall_ms());
        err = edxbus__sq_exec(db, st, "create the topic", errstr, errstr_size);
        sqlite3_finalize(st);
        if (err != EDXBUS_OK)
            return err;
    }
    err = edxbus__sq_prepare(db, "SELECT tid FROM topics WHERE name = ?1", &st,
                             "prepare a topic lookup", errstr, errstr_size);
    if (err != EDXBUS_OK)
        return err;
    sqlite3_bind_text(st, 1, topic, -1, SQLITE_STATIC);
    err = edxbus__sq_int(db, st, 0, tid, "look up the topic", errstr, errstr_size);
    sqlite3_finalize(st);
    if (err == EDXBUS_OK && *tid > SQ_TID_MAX) {
        edxbus_errf(errstr, errstr_size, "sqlite: %s holds more than %lld topics", db->path,
                    (long long)SQ_TID_MAX);
        err = EDXBUS_ERR_BROKER;
    }
    return err;
}

/* --- column forms -------------------------------------------------------------------------- */

static void put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

edxbus_err_t edxbus__sq_headers_encode(const struct edxbus_header *hdrs, size_t n,
                                       struct edxbus_buf *out)
{
    for (size_t i = 0; i < n; i++) {
        size_t nlen = strlen(hdrs[i].name);
        uint8_t len[4];
        if (nlen > UINT32_MAX || hdrs[i].len > UINT32_MAX)
            return EDXBUS_ERR_INVALID_ARG;
        put_u32(len, (uint32_t)nlen);
        if (edxbus_buf_append(out, len, 4) != EDXBUS_OK ||
            edxbus_buf_append(out, hdrs[i].name, nlen) != EDXBUS_OK)
            return EDXBUS_ERR_NOMEM;
        put_u32(len, (uint32_t)hdrs[i].len);
        if (edxbus_buf_append(out, len, 4) != EDXBUS_OK ||
            (hdrs[i].len && edxbus_buf_append(out, hdrs[i].value, hdrs[i].len) != EDXBUS_OK))
            return EDXBUS_ERR_NOMEM;
    }
    return EDXBUS_OK;
}

edxbus_err_t edxbus__sq_metadata_bind(sqlite3_stmt *st, int first, const struct edxbus_metadata *md,
                                      char *tmp, size_t tmpsz)
{
    if (md == NULL) {
        for (int i = 0; i < 7; i++)
            sqlite3_bind_null(st, first + i);
        return EDXBUS_OK;
    }
    /* sourcelib as "11.2.0", digits by hand (snprintf per integer was a tenth of a send). */
    size_t used = 0;
    tmp[0] = '\0';
    for (size_t i = 0; i < md->nsourcelib && i < EDXBUS_SOURCELIB_MAX; i++) {
        char digits[24];
        size_t nd = 0;
        int64_t v = md->sourcelib[i];
        uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
        do {
            digits[nd++] = (char)('0' + u % 10);
            u /= 10;
        } while (u != 0);
        if (v < 0)
            digits[nd++] = '-';
        if (used + (i > 0) + nd + 1 > tmpsz)
            return EDXBUS_ERR_INVALID_ARG;
        if (i > 0)
            tmp[used++] = '.';
        while (nd > 0)
            tmp[used++] = digits[--nd];
        tmp[used] = '\0';
    }
    sqlite3_bind_text(st, first, md->event_type, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, first + 1, md->id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, first + 2, md->minorversion);
    sqlite3_bind_text(st, first + 3, md->source, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, first + 4, md->sourcehost, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, first + 5, md->time_us);
    sqlite3_bind_text(st, first + 6, tmp, (int)used, SQLITE_STATIC);
    return EDXBUS_OK;
}

static bool copy_text(sqlite3_stmt *st, int col, char *dst, size_t cap)
{
    const unsigned char *s = sqlite3_column_text(st, col);
    size_t n = (size_t)sqlite3_column_bytes(st, col);
    if (s == NULL || n >= cap)
        return false;
    memcpy(dst, s, n);
    dst[n] = '\0';
    return true;
}

const char *edxbus__sq_metadata_read(sqlite3_stmt *st, int first, struct edxbus_metadata *md)
{
    /* Not cleared whole (1.6 kB a row): every field is set below or, on failure, left empty. */
    md->event_type[0] = md->id[0] = md->source[0] = md->sourcehost[0] = '\0';
    md->minorversion = md->time_us = 0;
    md->nsourcelib = 0;
    if (sqlite3_column_type(st, first) == SQLITE_NULL)
        return "the message has no metadata";
    if (!copy_text(st, first, md->event_type, sizeof md->event_type) ||
        !copy_text(st, first + 1, md->id, sizeof md->id) ||
        !copy_text(st, first + 3, md->source, sizeof md->source) ||
        !copy_text(st, first + 4, md->sourcehost, sizeof md->sourcehost))
        return "a metadata column is missing or too long";
    md->minorversion = sqlite3_column_int64(st, first + 2);
    md->time_us = sqlite3_column_int64(st, first + 5);
    const char *p = (const char *)sqlite3_column_text(st, first + 6);
    while (p != NULL && *p != '\0') {
        char *end = NULL;
        if (md->nsourcelib == EDXBUS_SOURCELIB_MAX)
            return "sourcelib has too many parts";
        /* Plain short digits (every real row) by hand, anything else as strtoll reads it. */
        int64_t v = 0;
        size_t k = 0;
        while (k < 18 && p[k] >= '0' && p[k] <= '9')
            v = v * 10 + (p[k++] - '0');
        if (k > 0 && (p[k] == '.' || p[k] == '\0')) {
            md->sourcelib[md->nsourcelib++] = v;
            p += p[k] == '.' ? k + 1 : k;
            continue;
        }
        errno = 0;
        md->sourcelib[md->nsourcelib++] = strtoll(p, &end, 10);
        if (errno != 0 || end == p || (*end != '.' && *end != '\0'))
            return "sourcelib is not dotted integers";
        p = *end == '.' ? end + 1 : end;
    }
    return NULL;
}
