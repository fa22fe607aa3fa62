/* tests/unit/bus/test_sqlite_retention.c — the embedded broker removes what every group
 * acknowledged, and nothing else: 200,000 events through two groups with retention 0 (the count
 * drops to what the rule keeps, the file shrinks) while a third group that is behind keeps every
 * event it has not read; the length cap never drops unacknowledged events; a group idle past
 * EVENT_BUS_SQLITE_GROUP_IDLE_LIMIT stops holding events back and is named in a warning; bad
 * retention settings are refused with the setting's name.
 *
 * Retention runs by itself inside poll() and produce(); tests that need it to have finished at
 * a given point call retain_now(), which runs the same steps until nothing is left to do.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "backends/sqlite/sqlite_int.h"
#include "edxbus/conf.h"
#include "test.h"

extern const struct edxbus_backend_ops edxbus_backend_sqlite;

static char dir[256];

#if defined(__SANITIZE_ADDRESS__)
#define BIG_N 60000 /* under ASan the same test with fewer events (runtime) */
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BIG_N 60000
#endif
#endif
#ifndef BIG_N
#define BIG_N 200000
#endif

static edxbus_conf_t *conf_for(const char *file, const char *const *kv)
{
    char path[512], errstr[EDXBUS_ERRSTR_SIZE];
    edxbus_conf_t *conf = edxbus_conf_new();
    snprintf(path, sizeof path, "%s/%s", dir, file);
    if (conf == NULL ||
        edxbus_conf_set(conf, "EVENT_BUS_SQLITE_PATH", path, errstr, sizeof errstr) != EDXBUS_OK)
        TEST_FAIL_("conf: %s", errstr);
    for (size_t i = 0; kv != NULL && kv[i] != NULL; i += 2)
        if (edxbus_conf_set(conf, kv[i], kv[i + 1], errstr, sizeof errstr) != EDXBUS_OK)
            TEST_FAIL_("conf: %s", errstr);
    return conf;
}

/* Run retention on @p conf's file until it has nothing left to remove or give back. */
static void retain_now(const edxbus_conf_t *conf)
{
    char errstr[EDXBUS_ERRSTR_SIZE] = "";
    struct sq_db db;
    struct sq_retain r;
    if (edxbus__sq_db_open(&db, conf, false, errstr, sizeof errstr) != EDXBUS_OK ||
        edxbus__sq_retain_init(&r, conf, errstr, sizeof errstr) != EDXBUS_OK)
        TEST_FAIL_("retain_now: %s", errstr);
    int64_t deleted = 0, left = 0;
    do {
        if (edxbus__sq_retain_step(&db, &r, edxbus_clock_wall_ms(), &deleted, errstr,
                                   sizeof errstr) != EDXBUS_OK)
            TEST_FAIL_("retention: %s", errstr);
    } while (deleted == SQ_RETAIN_BATCH);
    do {
        if (edxbus__sq_vacuum_step(&db, SQ_VACUUM_PAGES, &left, errstr, sizeof errstr) != EDXBUS_OK)
            TEST_FAIL_("vacuum: %s", errstr);
    } while (left > 0 && edxbus__sq_auto_vacuum(&db) == 2);
    edxbus__sq_retain_fini(&r);
    edxbus__sq_db_close(&db);
}

/* Rows of @p topic in @p conf's file (read with plain SQLite). */
static int64_t stored(const edxbus_conf_t *conf, const char *topic)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int64_t n = -1;
    const char *path = edxbus_conf_get_str(conf, "EVENT_BUS_SQLITE_PATH", NULL);
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db,
                           "SELECT count(*) FROM messages WHERE id >> 40 ="
                           " (SELECT tid FROM topics WHERE name = ?1)",
                           -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, topic, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW)
            n = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

/* The database file's size on disk after a full checkpoint (the WAL folded in and cut). */
static int64_t file_size(const edxbus_conf_t *conf)
{
    const char *path = edxbus_conf_get_str(conf, "EVENT_BUS_SQLITE_PATH", NULL);
    sqlite3 *db = NULL;
    struct stat sb;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK ||
        sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL) != SQLITE_OK)
        TEST_FAIL_("checkpoint %s: %s", path, sqlite3_errmsg(db));
    sqlite3_close(db);
    ASSERT_EQ_INT(stat(path, &sb), 0);
    return (int64_t)sb.st_size;
}

static void *open_group(const edxbus_conf_t *conf, const char *topic, const char *group)
{
    char errstr[EDXBUS_ERRSTR_SIZE] = "";
    void *cons = NULL;
    struct edxbus_consumer_opts opts = {
        .topic = topic, .group = group, .start = "earliest", .start_time_ms = -1};
    if (edxbus_backend_sqlite.consumer_open(conf, &opts, &cons, errstr, sizeof errstr) != EDXBUS_OK)
        TEST_FAIL_("consumer_open %s: %s", group, errstr);
    return cons;
}

/* Poll up to @p max with timeout 0 and ack all; @p next checks the order (event i is "e<i>"
 * with a 200-byte value, so the file is big enough to shrink visibly). Returns how many. */
static size_t take(void *cons, size_t max, int64_t *next)
{
    char errstr[EDXBUS_ERRSTR_SIZE] = "";
    struct edxbus_batch b = {0};
    if (edxbus_backend_sqlite.poll(cons, &b, max, 0, errstr, sizeof errstr) != EDXBUS_OK)
        TEST_FAIL_("poll: %s", errstr);
    for (size_t i = 0; i < b.n; i++) {
        int64_t idx = strtoll((const char *)b.msgs[i].value + 1, NULL, 10);
        if (idx != *next)
            TEST_FAIL_("got event %lld, expected %lld", (long long)idx, (long long)*next);
        (*next)++;
        if (edxbus_backend_sqlite.ack(cons, &b.msgs[i], errstr, sizeof errstr) != EDXBUS_OK)
            TEST_FAIL_("ack: %s", errstr);
    }
    return b.n;
}

/* Take and acknowledge until event @p n - 1, then one more poll to commit the acks. */
static void read_to(void *cons, int64_t n, int64_t *next)
{
    while (*next < n)
        if (take(cons, 1000, next) == 0)
            TEST_FAIL_("event %lld is missing", (long long)*next);
    take(cons, 1000, next);
}

/* Run @p sql on @p conf's file with plain SQLite (what time or an operator would do). */
static void sql_on(const edxbus_conf_t *conf, const char *sql)
{
    sqlite3 *db = NULL;
    const char *path = edxbus_conf_get_str(conf, "EVENT_BUS_SQLITE_PATH", NULL);
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK ||
        sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
        TEST_FAIL_("%s: %s", sql, sqlite3_errmsg(db));
    sqlite3_close(db);
}

static int failed_sends;

/* EDXBUS_TEST_VERBOSE: how long each phase of the big test took (information only). */
static void phase(const char *what)
{
    static int64_t last;
    int64_t now = edxbus_clock_wall_ms();
    if (getenv("EDXBUS_TEST_VERBOSE") != NULL && last != 0)
        fprintf(stderr, "  %s: %lld ms\n", what, (long long)(now - last));
    last = now;
}

static void on_report(void *opaque, const struct edxbus_msg *msg, edxbus_err_t err,
                      const char *errstr, const char *position)
{
    (void)opaque, (void)msg, (void)errstr, (void)position;
    failed_sends += err != EDXBUS_OK;
}

/* Produce events "e<from>".."e<to - 1>" asynchronously (batched commits). */
static void produce_range(const edxbus_conf_t *conf, const char *topic, int64_t from, int64_t to)
{
    char errstr[EDXBUS_ERRSTR_SIZE] = "", value[224];
    void *prod = NULL;
    if (edxbus_backend_sqlite.producer_open(conf, &prod, errstr, sizeof errstr) != EDXBUS_OK)
        TEST_FAIL_("producer_open: %s", errstr);
    struct edxbus_metadata md = {.event_type = "org.openedx.learning.course.enrollment.created.v1",
                                 .id = "d36ab1b0-1466-11ef-9f8e-0242ac120002",
                                 .source = "openedx/lms/web",
                                 .sourcehost = "lms",
                                 .time_us = INT64_C(1715954607123456),
                                 .sourcelib = {11, 2, 0},
                                 .nsourcelib = 3};
    for (int64_t i = from; i < to; i++) {
        int len = snprintf(value, sizeof value, "e%lld ", (long long)i);
        memset(value + len, 'x', 200 - (size_t)len);
        struct edxbus_msg msg = {
            .topic = topic, .value = (const uint8_t *)value, .value_len = 200, .metadata = &md};
        if (edxbus_backend_sqlite.produce(prod, &msg, on_report, NULL, errstr, sizeof errstr) !=
            EDXBUS_OK)
            TEST_FAIL_("produce: %s", errstr);
    }
    if (edxbus_backend_sqlite.flush(prod, 10000, errstr, sizeof errstr) != EDXBUS_OK)
        TEST_FAIL_("flush: %s", errstr);
    edxbus_backend_sqlite.producer_close(prod);
    ASSERT_EQ_INT(failed_sends, 0);
}

TEST(test_two_groups_done_third_behind)
{
    static const char *const kv[] = {"EVENT_BUS_SQLITE_RETENTION", "0", NULL};
    edxbus_conf_t *conf = conf_for("big.db", kv);
    const char *topic = "big";
    const int64_t n = BIG_N, behind = BIG_N / 4;
    void *a = open_group(conf, topic, "a"), *b = open_group(conf, topic, "b");
    void *c = open_group(conf, topic, "c");
    phase("start");
    produce_range(conf, topic, 0, n);
    ASSERT_EQ_INT(stored(conf, topic), n);
    int64_t peak = file_size(conf);

    int64_t next_a = 0, next_b = 0, next_c = 0;
    phase("produced");
    while (next_c < behind) /* the third group reads a quarter, then stops */
        take(c, (size_t)(behind - next_c < 1000 ? behind - next_c : 1000), &next_c);
    take(c, 1, &next_c);               /* commits the acks; event `behind` stays pending */
    while (next_a < n || next_b < n) { /* retention runs inside these polls */
        take(a, 1000, &next_a);
        take(b, 1000, &next_b);
    }
    /* One more poll each commits the last acks; then polls with nothing to read let the
     * retention that runs inside them finish. Retention gets a share of each poll's time, so
     * how many polls that takes depends on the machine's load: the bound is a deadline (a
     * safety net against hanging), not a count. */
    take(a, 1000, &next_a);
    take(b, 1000, &next_b);
    int64_t left = stored(conf, topic);
    time_t until = time(NULL) + 120;
    while (left > n - behind && time(NULL) < until) {
        take(a, 1000, &next_a);
        left = stored(conf, topic);
    }
    phase("consumed by a and b");
    ASSERT_EQ_INT(left, n - behind); /* exactly what the third group has not acknowledged */
    /* Every event the third group has not read is still there, in order, once. */
    read_to(c, n, &next_c);
    ASSERT_EQ_INT(next_c, n);
    edxbus_backend_sqlite.consumer_close(a);
    edxbus_backend_sqlite.consumer_close(b);
    edxbus_backend_sqlite.consumer_close(c);
    phase("consumed by c");
    retain_now(conf);
    phase("retained");
    ASSERT_EQ_INT(stored(conf, topic), 1); /* retention 0 keeps only the newest (numbering) */
    int64_t after = file_size(conf);
    if (after * 10 > peak)
        TEST_FAIL_("the file did not shrink: %lld bytes at the peak, %lld after", (long long)peak,
                   (long long)after);
    edxbus_conf_destroy(conf);
}

TEST(test_cap_never_drops_unacknowledged)
{
    static const char *const kv[] = {"EVENT_BUS_SQLITE_MAX_LEN", "10", "EVENT_BUS_SQLITE_RETENTION",
                                     "forever", NULL};
    edxbus_conf_t *conf = conf_for("cap.db", kv);
    const char *topic = "cap";
    void *slow = open_group(conf, topic, "slow");
    int64_t next = 0;
    produce_range(conf, topic, 0, 40);
    ASSERT_EQ_INT(take(slow, 2, &next), 2); /* e0, e1 acknowledged (at the next poll) */
    ASSERT_EQ_INT(take(slow, 3, &next), 3); /* e2..e4 pending */
    retain_now(conf);
    ASSERT_EQ_INT(stored(conf, topic), 38); /* only the two acknowledged went */
    read_to(slow, 40, &next);
    retain_now(conf);
    ASSERT_EQ_INT(stored(conf, topic), 10); /* all acknowledged: the cap applies */
    edxbus_backend_sqlite.consumer_close(slow);
    edxbus_conf_destroy(conf);
}

/* Log lines, captured. */
static char logged[4096];

static void capture(edxbus_log_level_t level, const char *line, void *opaque)
{
    (void)opaque;
    if (level <= EDXBUS_LOG_WARNING && strlen(logged) + strlen(line) + 2 < sizeof logged) {
        strcat(logged, line);
        strcat(logged, "\n");
    }
}

static void age_group(const edxbus_conf_t *conf, const char *group, int64_t days)
{
    char sql[256];
    snprintf(sql, sizeof sql,
             "UPDATE groups SET seen_ms = seen_ms - %lld, created_ms = created_ms - %lld"
             " WHERE name = '%s'",
             (long long)days * 86400000, (long long)days * 86400000, group);
    sql_on(conf, sql);
}

TEST(test_idle_group_stops_holding_back)
{
    static const char *const kv[] = {"EVENT_BUS_SQLITE_RETENTION", "0",
                                     "EVENT_BUS_SQLITE_GROUP_IDLE_LIMIT", "30d", NULL};
    edxbus_conf_t *conf = conf_for("idle.db", kv);
    edxbus_conf_set_log(conf, capture, NULL);
    const char *topic = "idle";
    void *gone = open_group(conf, topic, "gone");
    edxbus_backend_sqlite.consumer_close(gone); /* joined, read nothing, left */
    void *live = open_group(conf, topic, "live");
    int64_t next = 0;
    produce_range(conf, topic, 0, 100);
    read_to(live, 100, &next);
    retain_now(conf);
    ASSERT_EQ_INT(stored(conf, topic), 100); /* "gone" read nothing: everything kept */
    ASSERT_EQ_INT((int64_t)strlen(logged), 0);

    age_group(conf, "gone", 29); /* not yet past the limit */
    retain_now(conf);
    ASSERT_EQ_INT(stored(conf, topic), 100);
    age_group(conf, "gone", 2); /* 31 days */
    retain_now(conf);
    ASSERT_EQ_INT(stored(conf, topic), 1);
    ASSERT_CONTAINS(logged, "\"gone\"");
    ASSERT_CONTAINS(logged, "EVENT_BUS_SQLITE_GROUP_IDLE_LIMIT");
    ASSERT_TRUE(strstr(logged, "\"live\"") == NULL);
    edxbus_backend_sqlite.consumer_close(live);
    edxbus_conf_destroy(conf);
}

TEST(test_young_events_stay_for_the_retention_time)
{
    static const char *const kv[] = {"EVENT_BUS_SQLITE_RETENTION", "1h", NULL};
    edxbus_conf_t *conf = conf_for("young.db", kv);
    const char *topic = "young";
    void *g = open_group(conf, topic, "g");
    int64_t next = 0;
    produce_range(conf, topic, 0, 20);
    read_to(g, 20, &next);
    retain_now(conf);
    ASSERT_EQ_INT(stored(conf, topic), 20); /* acknowledged, but younger than an hour */
    sql_on(conf, "UPDATE messages SET stored_ms = stored_ms - 7200000 WHERE" /* 2 h old */
                 " rowid IN (SELECT rowid FROM messages ORDER BY id LIMIT 5)");
    retain_now(conf);
    ASSERT_EQ_INT(stored(conf, topic), 15);
    edxbus_backend_sqlite.consumer_close(g);
    edxbus_conf_destroy(conf);
}

/* The age rule finds its boundary with a few lookups per batch (a binary search over ids):
 * events older than the retention time go, the younger stay, wherever the boundary falls, also
 * past a gap in the ids and across batches. */
TEST(test_age_boundary_anywhere)
{
    static const char *const kv[] = {"EVENT_BUS_SQLITE_RETENTION", "1h", NULL};
    edxbus_conf_t *conf = conf_for("boundary.db", kv);
    const char *topic = "boundary";
    const int64_t n = SQ_RETAIN_BATCH + 500; /* two batches */
    void *g = open_group(conf, topic, "g");
    int64_t next = 0;
    produce_range(conf, topic, 0, n);
    read_to(g, n, &next);
    sql_on(conf, "DELETE FROM messages WHERE id & 1099511627775 BETWEEN 21 AND 30"); /* a gap */
    static const int64_t aged[] = {1, 2, 20, 35, 36, 1000, SQ_RETAIN_BATCH + 3, 0};
    for (size_t i = 0; aged[i] != 0; i++) {
        char sql[200];
        snprintf(sql, sizeof sql,
                 "UPDATE messages SET stored_ms = stored_ms - 7200000 WHERE" /* 2 h old */
                 " (id & 1099511627775) <= %lld AND stored_ms > %lld",
                 (long long)aged[i], (long long)(edxbus_clock_wall_ms() - 3600000));
        sql_on(conf, sql);
        retain_now(conf);
        /* Left: positions aged[i] + 1 .. n, less the gap 21..30 while it is among them. */
        ASSERT_EQ_INT(stored(conf, topic), n - aged[i] - (aged[i] < 21 ? 10 : 0));
    }
    edxbus_backend_sqlite.consumer_close(g);
    edxbus_conf_destroy(conf);
}

/* A tail (no group) reads and never acknowledges, and holds nothing back: retention goes by the
 * groups alone. While one tail reads ahead of a group and another has read nothing, retention
 * removes exactly what the group acknowledged; once the group has acknowledged everything, the
 * tail that had read nothing finds only the newest event left (what `edxbus tail --help` says). */
TEST(test_tails_hold_nothing_back)
{
    static const char *const kv[] = {"EVENT_BUS_SQLITE_RETENTION", "0", NULL};
    edxbus_conf_t *conf = conf_for("tails.db", kv);
    const char *topic = "tails";
    char errstr[EDXBUS_ERRSTR_SIZE] = "";
    void *g = open_group(conf, topic, "g"), *ahead = NULL, *idle = NULL;
    produce_range(conf, topic, 0, 100);
    struct edxbus_consumer_opts topts = {.topic = topic, .start = "earliest", .start_time_ms = -1};
    if (edxbus_backend_sqlite.consumer_open(conf, &topts, &ahead, errstr, sizeof errstr) !=
            EDXBUS_OK ||
        edxbus_backend_sqlite.consumer_open(conf, &topts, &idle, errstr, sizeof errstr) !=
            EDXBUS_OK)
        TEST_FAIL_("tail open: %s", errstr);
    int64_t tail_next = 0, next = 0;
    while (tail_next < 100) /* the tail reads all 100 (its acks do nothing) */
        if (take(ahead, 1000, &tail_next) == 0)
            TEST_FAIL_("the tail stopped at event %lld", (long long)tail_next);
    ASSERT_EQ_INT(take(g, 40, &next), 40); /* e0..e39 acknowledged (at the next poll) */
    ASSERT_EQ_INT(take(g, 5, &next), 5);   /* e40..e44 taken, pending */
    retain_now(conf);
    ASSERT_EQ_INT(stored(conf, topic), 60); /* the 60 the group has not acknowledged stay */
    read_to(g, 100, &next); /* in order, none missing (read_to checks) */
    retain_now(conf);
    ASSERT_EQ_INT(stored(conf, topic), 1); /* the newest is always kept */
    int64_t idle_next = 99; /* the tail that read nothing gets the newest, "e99", only */
    ASSERT_EQ_INT(take(idle, 1000, &idle_next), 1);
    edxbus_backend_sqlite.consumer_close(idle);
    edxbus_backend_sqlite.consumer_close(ahead);
    edxbus_backend_sqlite.consumer_close(g);
    edxbus_conf_destroy(conf);
}

TEST(test_retention_settings_errors)
{
    static const struct {
        const char *name, *value, *expect;
    } bad[] = {{"EVENT_BUS_SQLITE_RETENTION", "7 days", "7d"},
               {"EVENT_BUS_SQLITE_RETENTION", "12", "unit"},
               {"EVENT_BUS_SQLITE_GROUP_IDLE_LIMIT", "0", "30d"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *kv[] = {bad[i].name, bad[i].value, NULL};
        edxbus_conf_t *conf = conf_for("settings.db", kv);
        char errstr[EDXBUS_ERRSTR_SIZE] = "";
        void *prod = NULL;
        ASSERT_EQ_INT(edxbus_backend_sqlite.producer_open(conf, &prod, errstr, sizeof errstr),
                      EDXBUS_ERR_CONF);
        ASSERT_CONTAINS(errstr, bad[i].name);
        ASSERT_CONTAINS(errstr, bad[i].expect);
        edxbus_conf_destroy(conf);
    }
    int64_t ms = 0;
    ASSERT_TRUE(edxbus__sq_duration_parse("250ms", &ms) && ms == 250);
    ASSERT_TRUE(edxbus__sq_duration_parse("2w", &ms) && ms == 14 * 86400000LL);
    ASSERT_TRUE(edxbus__sq_duration_parse("forever", &ms) && ms == -1);
    ASSERT_TRUE(!edxbus__sq_duration_parse("99999999999999999999d", &ms));
    char text[32];
    ASSERT_EQ_STR(edxbus__sq_duration_text(2 * 86400000LL, text, sizeof text), "2d");
    ASSERT_EQ_STR(edxbus__sq_duration_text(90000, text, sizeof text), "90s");
}

/* A file written by the previous layout (schema 2: no groups.seen_ms; auto_vacuum none) is
 * upgraded in place when opened: its events and its group's position stay, and retention runs
 * on it (its free pages are reused; it cannot shrink without a VACUUM). */
TEST(test_schema_2_file_is_upgraded)
{
    static const char *const kv[] = {"EVENT_BUS_SQLITE_RETENTION", "0", NULL};
    edxbus_conf_t *conf = conf_for("v2.db", kv);
    sql_on(conf,
           "PRAGMA journal_mode=WAL;"
           "CREATE TABLE messages(id INTEGER PRIMARY KEY, stored_ms INTEGER NOT NULL,"
           " event_type TEXT, event_id TEXT, minorversion INTEGER, source TEXT, sourcehost TEXT,"
           " time_us INTEGER, sourcelib TEXT, key BLOB, value BLOB NOT NULL, headers BLOB);"
           "CREATE TABLE topics(tid INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
           " created_ms INTEGER NOT NULL);"
           "CREATE TABLE groups(gid INTEGER PRIMARY KEY, topic TEXT NOT NULL, name TEXT NOT NULL,"
           " next_id INTEGER NOT NULL, created_ms INTEGER NOT NULL, UNIQUE(topic, name));"
           "CREATE TABLE consumers(cid INTEGER PRIMARY KEY, gid INTEGER NOT NULL, name TEXT NOT"
           " NULL, host TEXT NOT NULL, pid INTEGER NOT NULL, pstart INTEGER NOT NULL, seen_ms"
           " INTEGER NOT NULL, UNIQUE(gid, name));"
           "CREATE TABLE pending(gid INTEGER NOT NULL, msg_id INTEGER NOT NULL, cid INTEGER NOT"
           " NULL, delivered_ms INTEGER NOT NULL, deliveries INTEGER NOT NULL,"
           " PRIMARY KEY(gid, msg_id)) WITHOUT ROWID;"
           "INSERT INTO topics VALUES(1, 'old', 0);"
           "INSERT INTO groups VALUES(1, 'old', 'g', (1 << 40) | 3, 0);" /* read e0, e1 */
           "INSERT INTO messages(id, stored_ms, value) VALUES((1 << 40) | 1, 0, 'e0 '),"
           " ((1 << 40) | 2, 0, 'e1 '), ((1 << 40) | 3, 0, 'e2 '), ((1 << 40) | 4, 0, 'e3 ');"
           "PRAGMA user_version=2;");
    void *g = open_group(conf, "old", "g");
    int64_t next = 2;
    read_to(g, 4, &next); /* the group resumes at e2 */
    ASSERT_EQ_INT(next, 4);
    edxbus_backend_sqlite.consumer_close(g);
    retain_now(conf);
    ASSERT_EQ_INT(stored(conf, "old"), 1);      /* all acknowledged: only the newest stays */
    sql_on(conf, "SELECT seen_ms FROM groups"); /* the column exists now */
    edxbus_conf_destroy(conf);
}

int main(void)
{
    test_tmpdir(dir, sizeof dir, "edxbus-retain");
    RUN(test_retention_settings_errors);
    RUN(test_cap_never_drops_unacknowledged);
    RUN(test_young_events_stay_for_the_retention_time);
    RUN(test_age_boundary_anywhere);
    RUN(test_tails_hold_nothing_back);
    RUN(test_idle_group_stops_holding_back);
    RUN(test_two_groups_done_third_behind);
    RUN(test_schema_2_file_is_upgraded);
    test_rmdir(dir);
    return test_report();
}
