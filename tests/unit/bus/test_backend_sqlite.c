/* tests/unit/bus/test_backend_sqlite.c — the embedded SQLite broker: the conformance suite on a
 * real file, then what only it does: claiming a dead member's messages (a
 * forked member that exits without closing), claim_msgs_older_than, the relay's exclusive
 * mode and its retire_rows, settings errors, and
 * several processes sharing one group while one of them is killed with SIGKILL. Retention and
 * the length cap: test_sqlite_retention.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "backend/backend_suite.h"
#include "edxbus/conf.h"

extern const struct edxbus_backend_ops edxbus_backend_sqlite;

static char dir[256];

/* A conf on a fresh file in the temp directory, plus @p name = @p value when given. */
static edxbus_conf_t *fresh_conf(const char *file, const char *name, const char *value)
{
    char path[512], errstr[EDXBUS_ERRSTR_SIZE];
    edxbus_conf_t *conf = edxbus_conf_new();
    snprintf(path, sizeof path, "%s/%s", dir, file);
    if (conf == NULL ||
        edxbus_conf_set(conf, "EVENT_BUS_SQLITE_PATH", path, errstr, sizeof errstr) != EDXBUS_OK ||
        (name && edxbus_conf_set(conf, name, value, errstr, sizeof errstr) != EDXBUS_OK)) {
        fprintf(stderr, "conf: %s\n", errstr);
        exit(1);
    }
    return conf;
}

TEST(test_file_is_where_the_setting_says)
{
    char path[512];
    struct stat stbuf;
    snprintf(path, sizeof path, "%s/suite.db", dir);
    ASSERT_EQ_INT(stat(path, &stbuf), 0);
    sqlite3 *db = NULL; /* the WAL journal mode is stored in the file */
    sqlite3_stmt *st = NULL;
    ASSERT_EQ_INT(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    ASSERT_EQ_INT(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
    ASSERT_EQ_INT(sqlite3_step(st), SQLITE_ROW);
    ASSERT_EQ_STR((const char *)sqlite3_column_text(st, 0), "wal");
    sqlite3_finalize(st);
    sqlite3_close(db);
}

TEST(test_dead_member_is_claimed)
{
    const char *topic = suite_topic();
    int seen[SUITE_MAX] = {0};
    suite_produce(topic, 0, 6);
    void *other = suite_open(topic, "g", "survivor", "earliest"); /* joins before the victim */
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) { /* never back into the harness: failures are the exit status */
        char errstr[EDXBUS_ERRSTR_SIZE];
        void *victim = NULL;
        struct edxbus_batch b = {0};
        struct edxbus_consumer_opts opts = {
            .topic = topic, .group = "g", .consumer_name = "victim", .start_time_ms = -1};
        if (suite.ops->consumer_open(suite.conf, &opts, &victim, errstr, sizeof errstr) ||
            suite.ops->poll(victim, &b, 4, 0, errstr, sizeof errstr))
            _exit(2);
        _exit(b.n == 4 ? 0 : 3); /* dies holding v0..v3, without closing */
    }
    int status = 0;
    ASSERT_EQ_INT(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    int64_t dl = 0;
    size_t n = suite_poll(other, 10, 0, seen, true, &dl);
    ASSERT_EQ_INT(n, 6); /* v0..v3 claimed from the dead member, then v4 v5 */
    suite_expect_once(seen, 0, 6);

    char errstr[EDXBUS_ERRSTR_SIZE];
    json_t *lag = NULL;
    suite.ops->consumer_close(other);
    ASSERT_EQ_INT(suite.ops->lag(suite.conf, topic, "g", &lag, errstr, sizeof errstr), EDXBUS_OK);
    ASSERT_EQ_INT(json_array_size(lag), 1); /* the dead member is gone, survivor left cleanly */
    ASSERT_TRUE(json_is_null(json_object_get(json_array_get(lag, 0), "consumer")));
    ASSERT_EQ_INT(json_integer_value(json_object_get(json_array_get(lag, 0), "pending")), 0);
    json_decref(lag);
}

TEST(test_claim_msgs_older_than_takes_from_live_members)
{
    const char *topic = suite_topic();
    int seen[SUITE_MAX] = {0};
    suite_produce(topic, 0, 2);
    void *slow = suite_open(topic, "g", "slow", "earliest");
    ASSERT_EQ_INT(suite_poll(slow, 2, 0, NULL, false, NULL), 2);
    usleep(5000);
    json_t *extra = json_pack("{s:i}", "claim_msgs_older_than", 1);
    void *fast = suite_open_ex(topic, "g", "fast", NULL, -1, extra);
    json_decref(extra);
    int64_t dl = 0;
    ASSERT_EQ_INT(suite_poll(fast, 5, 0, seen, true, &dl), 2);
    ASSERT_EQ_INT(dl, 2);
    suite_expect_once(seen, 0, 2);
    suite.ops->consumer_close(fast);
    suite.ops->consumer_close(slow);
}

/* Rows of a topic still in file @p file of the temp directory (messages table). */
static int rows_in(const char *file, const char *topic)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int n = -1;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db,
                           "SELECT count(*) FROM messages WHERE id >> 40 ="
                           " (SELECT tid FROM topics WHERE name = ?1)",
                           -1, &st, NULL) == SQLITE_OK &&
        sqlite3_bind_text(st, 1, topic, -1, SQLITE_STATIC) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

/* Rows of a topic still in the suite's file. */
static int rows_left(const char *topic)
{
    return rows_in("suite.db", topic);
}

/* Poll up to @p max; ack the messages whose index has acks[index] set; the indexes in got[]. */
static size_t poll_ack_some(void *cons, size_t max, const bool *acks, int *got)
{
    char errstr[EDXBUS_ERRSTR_SIZE] = "";
    struct edxbus_batch b = {0};
    if (suite.ops->poll(cons, &b, max, 0, errstr, sizeof errstr) != EDXBUS_OK)
        TEST_FAIL_("poll: %s", errstr);
    for (size_t i = 0; i < b.n; i++) {
        got[i] = suite_index(&b.msgs[i]);
        if (acks[got[i]] && suite.ops->ack(cons, &b.msgs[i], errstr, sizeof errstr) != EDXBUS_OK)
            TEST_FAIL_("ack: %s", errstr);
    }
    return b.n;
}

/* Joining group "other" of @p topic with @p extra (taken) is refused, naming @p word. */
static void open_refused(const char *topic, json_t *extra, const char *word)
{
    char errstr[EDXBUS_ERRSTR_SIZE] = "";
    void *be = NULL;
    struct edxbus_consumer_opts opts = {
        .topic = topic, .group = "other", .start_time_ms = -1, .extra = extra};
    ASSERT_EQ_INT(suite.ops->consumer_open(suite.conf, &opts, &be, errstr, sizeof errstr),
                  EDXBUS_ERR_INVALID_ARG);
    ASSERT_CONTAINS(errstr, word);
    json_decref(extra);
}

/* The outbox relay's mode: no pending rows; what was not acknowledged comes again at the next
 * poll, after a close and after a crash (a child that exits without closing); acknowledged
 * rows below the cursor are deleted (the newest kept); only with delete_acked in a group. */
TEST(test_exclusive_redelivers_what_was_not_acknowledged)
{
    const char *topic = suite_topic();
    suite_produce(topic, 0, 6);
    json_t *extra = json_pack("{s:b, s:b}", "delete_acked", 1, "exclusive", 1);
    void *c = suite_open_ex(topic, "relay", "relay", "earliest", -1, extra);
    bool acks[SUITE_MAX] = {[0] = true, [1] = true, [3] = true}; /* not v2 */
    int got[SUITE_MAX];
    ASSERT_EQ_INT(poll_ack_some(c, 4, acks, got), 4);
    ASSERT_TRUE(got[0] == 0 && got[1] == 1 && got[2] == 2 && got[3] == 3);
    /* v0 v1 go; v2 comes again, then v3 (acknowledged after v2: sent again), v4 v5. */
    bool all[SUITE_MAX];
    for (int i = 0; i < SUITE_MAX; i++)
        all[i] = i != 4;
    ASSERT_EQ_INT(poll_ack_some(c, 10, all, got), 4);
    ASSERT_TRUE(got[0] == 2 && got[1] == 3 && got[2] == 4 && got[3] == 5);
    ASSERT_EQ_INT(rows_left(topic), 4); /* v0 v1 went at that poll */
    suite.ops->consumer_close(c);       /* commits: v0..v3 go; v4 waits; v5 (the newest) stays */
    ASSERT_EQ_INT(rows_left(topic), 2);
    json_t *lag = NULL;
    char errstr[EDXBUS_ERRSTR_SIZE];
    ASSERT_EQ_INT(suite.ops->lag(suite.conf, topic, "relay", &lag, errstr, sizeof errstr),
                  EDXBUS_OK); /* v4 and v5 are owed: undelivered, none pending */
    ASSERT_EQ_INT(json_integer_value(json_object_get(json_array_get(lag, 0), "undelivered")), 2);
    ASSERT_EQ_INT(json_integer_value(json_object_get(json_array_get(lag, 0), "pending")), 0);
    json_decref(lag);
    /* A member that takes v4 v5, acknowledges v4 and dies without closing: both come again. */
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        void *victim = NULL;
        struct edxbus_batch b = {0};
        struct edxbus_consumer_opts opts = {.topic = topic,
                                            .group = "relay",
                                            .consumer_name = "relay",
                                            .start_time_ms = -1,
                                            .extra = extra};
        if (suite.ops->consumer_open(suite.conf, &opts, &victim, errstr, sizeof errstr) ||
            suite.ops->poll(victim, &b, 8, 0, errstr, sizeof errstr) || b.n != 2 ||
            suite.ops->ack(victim, &b.msgs[0], errstr, sizeof errstr))
            _exit(2);
        _exit(0);
    }
    int status = 0;
    ASSERT_EQ_INT(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    bool every[SUITE_MAX];
    for (int i = 0; i < SUITE_MAX; i++)
        every[i] = true;
    c = suite_open_ex(topic, "relay", "relay", "earliest", -1, extra);
    ASSERT_EQ_INT(poll_ack_some(c, 10, every, got), 2);
    ASSERT_TRUE(got[0] == 4 && got[1] == 5);
    suite.ops->consumer_close(c);
    ASSERT_EQ_INT(rows_left(topic), 1); /* the newest */
    c = suite_open_ex(topic, "relay", "relay", "earliest", -1, extra);
    ASSERT_EQ_INT(poll_ack_some(c, 10, every, got), 0);
    suite.ops->consumer_close(c);
    json_decref(extra);
    /* Only for a group that deletes what it acknowledged. */
    open_refused(topic, json_pack("{s:b}", "exclusive", 1), "delete_acked");
}

TEST(test_settings_errors)
{
    char errstr[EDXBUS_ERRSTR_SIZE] = "";
    void *prod = NULL;
    edxbus_conf_t *conf = fresh_conf("bad.db", "EVENT_BUS_SQLITE_SYNCHRONOUS", "SOMETIMES");
    ASSERT_EQ_INT(suite.ops->producer_open(conf, &prod, errstr, sizeof errstr), EDXBUS_ERR_CONF);
    ASSERT_CONTAINS(errstr, "EVENT_BUS_SQLITE_SYNCHRONOUS");
    ASSERT_CONTAINS(errstr, "SOMETIMES");
    edxbus_conf_destroy(conf);

    conf = fresh_conf("no-such-dir/x.db", NULL, NULL);
    ASSERT_TRUE(suite.ops->producer_open(conf, &prod, errstr, sizeof errstr) != EDXBUS_OK);
    ASSERT_CONTAINS(errstr, "no-such-dir/x.db");
    edxbus_conf_destroy(conf);

    json_t *extra = json_pack("{s:s}", "claim_msgs_older_than", "soon");
    struct edxbus_consumer_opts opts = {
        .topic = "t", .group = "g", .start_time_ms = -1, .extra = extra};
    ASSERT_EQ_INT(suite.ops->consumer_open(suite.conf, &opts, &prod, errstr, sizeof errstr),
                  EDXBUS_ERR_INVALID_ARG);
    ASSERT_CONTAINS(errstr, "claim_msgs_older_than");
    json_decref(extra);
}

/* Acks given in any order commit exactly the messages acknowledged (the backend sorts them only
 * when they are out of order): the one left out comes back to the same member, alone. */
TEST(test_acks_out_of_order_leave_only_the_unacked)
{
    const char *topic = suite_topic();
    char errstr[EDXBUS_ERRSTR_SIZE] = "";
    int seen[SUITE_MAX] = {0};
    suite_produce(topic, 0, 12);
    void *c = suite_open(topic, "g", "m", "earliest");
    struct edxbus_batch b = {0};
    ASSERT_EQ_INT(suite.ops->poll(c, &b, 12, 0, errstr, sizeof errstr), EDXBUS_OK);
    ASSERT_EQ_INT(b.n, 12);
    for (size_t i = b.n; i-- > 0;) /* newest first, 5 and 9 left out */
        if (suite_index(&b.msgs[i]) != 5 && suite_index(&b.msgs[i]) != 9)
            ASSERT_EQ_INT(suite.ops->ack(c, &b.msgs[i], errstr, sizeof errstr), EDXBUS_OK);
    suite.ops->consumer_close(c);
    c = suite_open(topic, "g", "m", NULL);
    ASSERT_EQ_INT(suite_poll(c, 12, 0, seen, true, NULL), 2);
    ASSERT_EQ_INT(seen[5], 1);
    ASSERT_EQ_INT(seen[9], 1);
    ASSERT_EQ_INT(suite_poll(c, 12, 0, NULL, false, NULL), 0);
    suite.ops->consumer_close(c);
}

/* An ack names its message by the position text: anything but plain decimal digits that fit in
 * 64 bits is refused with the text in the message; leading zeros are the same number. */
TEST(test_ack_position_text)
{
    const char *topic = suite_topic();
    char errstr[EDXBUS_ERRSTR_SIZE] = "";
    suite_produce(topic, 0, 2);
    void *c = suite_open(topic, "g", "m", "earliest");
    struct edxbus_batch b = {0};
    ASSERT_EQ_INT(suite.ops->poll(c, &b, 2, 0, errstr, sizeof errstr), EDXBUS_OK);
    ASSERT_EQ_INT(b.n, 2);
    ASSERT_EQ_STR(b.msgs[0].position, "1");
    ASSERT_EQ_STR(b.msgs[1].position, "2");
    static const char *const bad[] = {
        "", "-1", "+1", " 1", "1 ", "1a", "0x1", "99999999999999999999", "9223372036854775808"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct edxbus_msg m = b.msgs[0];
        snprintf(m.position, sizeof m.position, "%s", bad[i]);
        ASSERT_EQ_INT(suite.ops->ack(c, &m, errstr, sizeof errstr), EDXBUS_ERR_INVALID_ARG);
        ASSERT_CONTAINS(errstr, "is not a position");
    }
    struct edxbus_msg m = b.msgs[0];
    snprintf(m.position, sizeof m.position, "0001");
    ASSERT_EQ_INT(suite.ops->ack(c, &m, errstr, sizeof errstr), EDXBUS_OK);
    suite.ops->consumer_close(c);
    c = suite_open(topic, "g", "m", NULL);
    int seen[SUITE_MAX] = {0};
    ASSERT_EQ_INT(suite_poll(c, 4, 0, seen, true, NULL), 1); /* v1 only: v0 was acked */
    ASSERT_EQ_INT(seen[1], 1);
    suite.ops->consumer_close(c);
}

/* sourcelib comes back as stored, whatever the width of its parts; a column that is not dotted
 * integers makes the message unusable (named), not a crash or a wrong version. */
TEST(test_sourcelib_read_back)
{
    static const struct {
        const char *text; /* as stored in the column */
        size_t n;
        int64_t parts[3];
        bool ok;
    } cases[] = {
        {"11.2.0", 3, {11, 2, 0}, true},
        {"123.45.6789", 3, {123, 45, 6789}, true},
        {"0", 1, {0}, true},
        {"1.", 1, {1}, true}, /* a trailing dot ends the list, as before */
        {"9223372036854775807", 1, {INT64_MAX}, true},
        {"1..2", 0, {0}, false},
        {"a.1", 0, {0}, false},
        {"1.2x", 0, {0}, false},
        {"99999999999999999999", 0, {0}, false},
    };
    const char *topic = suite_topic();
    char errstr[EDXBUS_ERRSTR_SIZE] = "", path[512];
    size_t ncases = sizeof cases / sizeof cases[0];
    suite_produce(topic, 0, (int)ncases);
    snprintf(path, sizeof path, "%s/suite.db", dir);
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    ASSERT_EQ_INT(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    ASSERT_EQ_INT(sqlite3_prepare_v2(db,
                                     "UPDATE messages SET sourcelib = ?1 WHERE id = (SELECT tid"
                                     " FROM topics WHERE name = ?2) * 1099511627776 + ?3",
                                     -1, &st, NULL),
                  SQLITE_OK);
    for (size_t i = 0; i < ncases; i++) {
        sqlite3_bind_text(st, 1, cases[i].text, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, topic, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, (int64_t)i + 1);
        ASSERT_EQ_INT(sqlite3_step(st), SQLITE_DONE);
        ASSERT_EQ_INT(sqlite3_changes(db), 1);
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    void *c = suite_open(topic, "g", "m", "earliest");
    struct edxbus_batch b = {0};
    ASSERT_EQ_INT(suite.ops->poll(c, &b, ncases, 0, errstr, sizeof errstr), EDXBUS_OK);
    ASSERT_EQ_INT(b.n, ncases);
    for (size_t i = 0; i < ncases; i++) {
        const struct edxbus_msg *m = &b.msgs[i];
        if (!cases[i].ok) {
            ASSERT_TRUE(m->unusable != NULL);
            ASSERT_CONTAINS(m->unusable, "sourcelib");
            continue;
        }
        ASSERT_TRUE(m->unusable == NULL);
        ASSERT_EQ_INT(m->metadata->nsourcelib, cases[i].n);
        for (size_t k = 0; k < cases[i].n; k++)
            ASSERT_EQ_INT(m->metadata->sourcelib[k], cases[i].parts[k]);
        ASSERT_EQ_STR(m->metadata->source, "openedx/lms/web");
    }
    suite.ops->consumer_close(c);
}

/* --- several processes ------------------------------------------------------------------ */

#define MP_N 300

static void mp_consumer(const char *topic, int who, int gen)
{
    char path[512], name[32], line[32];
    snprintf(path, sizeof path, "%s/seen-%d-%d.txt", dir, who, gen);
    snprintf(name, sizeof name, "mp-%d", who);
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);
    char errstr[EDXBUS_ERRSTR_SIZE];
    void *cons = NULL;
    struct edxbus_consumer_opts opts = {.topic = topic,
                                        .group = "mp",
                                        .consumer_name = name,
                                        .start = "earliest",
                                        .start_time_ms = -1};
    if (fd < 0 || suite.ops->consumer_open(suite.conf, &opts, &cons, errstr, sizeof errstr)) {
        fprintf(stderr, "mp consumer: %s\n", errstr);
        _exit(2);
    }
    for (;;) { /* until killed */
        struct edxbus_batch b = {0};
        if (suite.ops->poll(cons, &b, 5, 50, errstr, sizeof errstr) != EDXBUS_OK) {
            fprintf(stderr, "mp consumer: %s\n", errstr);
            _exit(3);
        }
        for (size_t i = 0; i < b.n; i++) {
            int len = snprintf(line, sizeof line, "%d\n", suite_index(&b.msgs[i]));
            if (write(fd, line, (size_t)len) != len)
                _exit(4);
            usleep(500); /* work: gives the kill a chance to land between take and ack */
            suite.ops->ack(cons, &b.msgs[i], errstr, sizeof errstr);
        }
    }
}

static pid_t children[8]; /* killed at the end even when a check failed half-way */
static int nchildren;

static pid_t spawn(void (*fn)(const char *, int, int), const char *topic, int who, int gen)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        fn(topic, who, gen);
        _exit(0);
    }
    if (pid > 0 && nchildren < 8)
        children[nchildren++] = pid;
    return pid;
}

/* Wait for child @p pid (after killing it when @p kill_it) and forget it. */
static int reap(pid_t pid, bool kill_it)
{
    int status = -1;
    for (int i = 0; i < nchildren; i++) {
        if (children[i] == pid) {
            if (kill_it)
                kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            children[i] = children[--nchildren];
            break;
        }
    }
    return status;
}

static void kill_children(void)
{
    while (nchildren > 0)
        reap(children[0], true);
}

/* A child never returns into the test harness: a failure is its exit status. */
static void mp_producer(const char *topic, int who, int gen)
{
    char errstr[EDXBUS_ERRSTR_SIZE];
    void *prod = NULL;
    if (suite.ops->producer_open(suite.conf, &prod, errstr, sizeof errstr) != EDXBUS_OK) {
        fprintf(stderr, "mp producer: %s\n", errstr);
        _exit(5);
    }
    for (int i = 0; i < MP_N; i++) {
        char value[16];
        struct edxbus_metadata md;
        suite_metadata(&md, i);
        snprintf(value, sizeof value, "v%d", i);
        struct edxbus_msg msg = {.topic = topic,
                                 .value = (const uint8_t *)value,
                                 .value_len = strlen(value),
                                 .metadata = &md};
        if (suite.ops->produce(prod, &msg, NULL, NULL, errstr, sizeof errstr) != EDXBUS_OK) {
            fprintf(stderr, "mp producer: %s\n", errstr);
            _exit(6);
        }
        if (i % 10 == 9)
            usleep(2000);
    }
    suite.ops->producer_close(prod);
}

/* Lines in seen files: per index how often it was recorded; returns how many indexes seen. */
static int mp_count(int *seen, long *lines_of_0)
{
    memset(seen, 0, MP_N * sizeof *seen);
    int distinct = 0;
    for (int who = 0; who < 2; who++) {
        for (int gen = 0; gen < 2; gen++) {
            char path[512], line[32];
            snprintf(path, sizeof path, "%s/seen-%d-%d.txt", dir, who, gen);
            FILE *f = fopen(path, "r");
            while (f != NULL && fgets(line, sizeof line, f) != NULL) {
                long v = strtol(line, NULL, 10);
                if (who == 0 && gen == 0 && lines_of_0 != NULL)
                    (*lines_of_0)++;
                if (v >= 0 && v < MP_N && seen[v]++ == 0)
                    distinct++;
            }
            if (f != NULL)
                fclose(f);
        }
    }
    return distinct;
}

TEST(test_processes_share_a_group_and_survive_sigkill)
{
    static int seen[MP_N];
    const char *topic = suite_topic();
    int64_t deadline = suite_now_ms() + 120000; /* a safety net against hanging only */
    pid_t c0 = spawn(mp_consumer, topic, 0, 0);
    pid_t prod = spawn(mp_producer, topic, 0, 0);
    pid_t c1 = 0;
    long lines = 0;
    /* c0 gets going alone (a second member started at once may drain the whole topic while c0
     * is still opening on a loaded machine), then both share the group, then c0 is killed:
     * once c0 has 40, or once c1 has 20 too (c1 may take everything that is left, so waiting
     * for c0 alone could wait for nothing). */
    int distinct = 0;
    while (suite_now_ms() < deadline) {
        lines = 0;
        distinct = mp_count(seen, &lines);
        if (lines >= 20 && c1 == 0)
            c1 = spawn(mp_consumer, topic, 1, 0);
        if (lines >= 40 || (c1 != 0 && distinct - lines >= 20))
            break;
        usleep(2000);
    }
    ASSERT_TRUE(lines >= 20);
    ASSERT_TRUE(c1 > 0);
    reap(c0, true); /* reaped: its pid is gone, not a zombie */
    usleep(20000);
    pid_t c0b = spawn(mp_consumer, topic, 0, 1); /* restarted under the same name */
    int status = reap(prod, false);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    distinct = 0;
    while (distinct < MP_N && suite_now_ms() < deadline) {
        distinct = mp_count(seen, NULL);
        usleep(5000);
    }
    reap(c1, true);
    reap(c0b, true);
    for (int i = 0; i < MP_N; i++)
        if (seen[i] == 0)
            TEST_FAIL_("message v%d was never delivered", i);
    ASSERT_EQ_INT(distinct, MP_N);
    if (getenv("EDXBUS_TEST_VERBOSE") != NULL) {
        int again = 0;
        for (int i = 0; i < MP_N; i++)
            again += seen[i] > 1;
        fprintf(stderr, "multi-process: %d of %d messages delivered more than once\n", again, MP_N);
    }
}

/* Poll up to @p max and acknowledge all; the first and last index in *@p first, *@p last. */
static size_t poll_ack_all(void *cons, size_t max, int *first, int *last)
{
    char errstr[EDXBUS_ERRSTR_SIZE] = "";
    struct edxbus_batch b = {0};
    if (suite.ops->poll(cons, &b, max, 0, errstr, sizeof errstr) != EDXBUS_OK)
        TEST_FAIL_("poll: %s", errstr);
    for (size_t i = 0; i < b.n; i++) {
        if (i == 0)
            *first = suite_index(&b.msgs[i]);
        *last = suite_index(&b.msgs[i]);
        if (suite.ops->ack(cons, &b.msgs[i], errstr, sizeof errstr) != EDXBUS_OK)
            TEST_FAIL_("ack: %s", errstr);
    }
    return b.n;
}

/* The relay's retire_rows: acknowledged rows stay until that many are owed (the cursor moves at
 * once: they are not delivered again, after a crash either), go at close, and go all at once
 * when they are all the file holds (the newest kept: positions go on after it). */
TEST(test_exclusive_retire_rows)
{
    const char *topic = suite_topic();
    suite_produce(topic, 0, 6);
    json_t *extra = json_pack("{s:b, s:b, s:i}", "delete_acked", 1, "exclusive", 1,
                              "retire_rows", 3);
    void *c = suite_open_ex(topic, "relay", "relay", "earliest", -1, extra);
    bool every[SUITE_MAX];
    for (int i = 0; i < SUITE_MAX; i++)
        every[i] = true;
    bool v4[SUITE_MAX] = {[4] = true};
    int got[SUITE_MAX];
    ASSERT_EQ_INT(poll_ack_some(c, 2, every, got), 2);
    ASSERT_TRUE(got[0] == 0 && got[1] == 1);
    ASSERT_EQ_INT(poll_ack_some(c, 2, every, got), 2); /* v0 v1 owed: 2 < 3, they stay */
    ASSERT_TRUE(got[0] == 2 && got[1] == 3);
    ASSERT_EQ_INT(rows_left(topic), 6);
    ASSERT_EQ_INT(poll_ack_some(c, 10, v4, got), 2); /* 4 owed: v0..v3 go */
    ASSERT_TRUE(got[0] == 4 && got[1] == 5);
    ASSERT_EQ_INT(rows_left(topic), 2);
    suite.ops->consumer_close(c); /* v4 goes; v5 (not acknowledged, the newest) stays */
    ASSERT_EQ_INT(rows_left(topic), 1);
    /* A relay that acknowledges v5 v6, has them owed, takes v7 v8 and dies: v7 v8 come again,
     * v5 v6 do not (the cursor moved past them); they go at the next close. */
    suite_produce(topic, 6, 9);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        void *victim = suite_open_ex(topic, "relay", "relay", "earliest", -1, extra);
        int g[SUITE_MAX];
        if (poll_ack_some(victim, 2, every, g) != 2 || g[0] != 5 || g[1] != 6)
            _exit(2);
        if (poll_ack_some(victim, 2, (bool[SUITE_MAX]){false}, g) != 2 || g[0] != 7)
            _exit(3);
        _exit(0);
    }
    int status = 0;
    ASSERT_EQ_INT(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ASSERT_EQ_INT(rows_left(topic), 4); /* v5 v6 owed, v7 v8 waiting */
    c = suite_open_ex(topic, "relay", "relay", "earliest", -1, extra);
    ASSERT_EQ_INT(poll_ack_some(c, 10, every, got), 2);
    ASSERT_TRUE(got[0] == 7 && got[1] == 8);
    suite.ops->consumer_close(c);
    ASSERT_EQ_INT(rows_left(topic), 1); /* the newest; the file holds other topics: row by row */

    /* A file that holds only this topic: cleared at a poll once CLEAR_MIN_ROWS (256) are owed
     * and all are acknowledged (retire_rows 1000 would keep them), and at close; the newest row
     * stays, whole. */
    char errstr[EDXBUS_ERRSTR_SIZE];
    json_decref(extra);
    extra = json_pack("{s:b, s:b, s:i}", "delete_acked", 1, "exclusive", 1, "retire_rows", 1000);
    edxbus_conf_t *own = fresh_conf("clear.db", NULL, NULL);
    const edxbus_conf_t *shared = suite.conf;
    suite.conf = own;
    suite_produce(topic, 0, 300);
    c = suite_open_ex(topic, "relay", "relay", "earliest", -1, extra);
    int first = -1, last = -1;
    ASSERT_EQ_INT(poll_ack_all(c, 1000, &first, &last), 300);
    ASSERT_TRUE(first == 0 && last == 299);
    ASSERT_EQ_INT(poll_ack_all(c, 1000, &first, &last), 0);
    ASSERT_EQ_INT(rows_in("clear.db", topic), 1);
    suite_produce(topic, 300, 302); /* positions go on past the kept row */
    ASSERT_EQ_INT(poll_ack_all(c, 1000, &first, &last), 2);
    ASSERT_TRUE(first == 300 && last == 301);
    ASSERT_EQ_INT(rows_in("clear.db", topic), 3); /* 2 owed, below CLEAR_MIN_ROWS */
    suite.ops->consumer_close(c);
    ASSERT_EQ_INT(rows_in("clear.db", topic), 1);
    void *tail = suite_open(topic, NULL, NULL, "earliest");
    struct edxbus_batch b = {0};
    ASSERT_EQ_INT(suite.ops->poll(tail, &b, 10, 0, errstr, sizeof errstr), EDXBUS_OK);
    ASSERT_EQ_INT((int)b.n, 1);
    ASSERT_EQ_INT(suite_index(&b.msgs[0]), 301);
    ASSERT_TRUE(b.msgs[0].key_len == 4 && memcmp(b.msgs[0].key, "k301", 4) == 0);
    ASSERT_EQ_STR(b.msgs[0].metadata->id, "d36ab1b0-1466-11ef-9f8e-0242ac12012d");
    suite.ops->consumer_close(tail);
    c = suite_open_ex(topic, "relay", "relay", "earliest", -1, extra);
    ASSERT_EQ_INT(poll_ack_all(c, 1000, &first, &last), 0);
    suite.ops->consumer_close(c);
    suite.conf = shared;
    edxbus_conf_destroy(own);
    json_decref(extra);
    /* Past retire_rows a poll deletes the oldest owed rows, at most twice its acks plus 1,000
     * (the write lock is held about as long as deleting its own rows takes). Another topic in
     * the file keeps it from being cleared. */
    own = fresh_conf("chunk.db", "EVENT_BUS_SQLITE_SYNCHRONOUS", "OFF");
    suite.conf = own;
    suite_produce("other-topic", 0, 1);
    suite_produce(topic, 0, 5000);
    extra = json_pack("{s:b, s:b, s:i}", "delete_acked", 1, "exclusive", 1, "retire_rows", 3000);
    c = suite_open_ex(topic, "relay", "relay", "earliest", -1, extra);
    for (int poll = 1; poll <= 6; poll++) { /* 500 owed per poll from the second: 2,500 */
        ASSERT_EQ_INT(poll_ack_all(c, 500, &first, &last), 500);
        ASSERT_EQ_INT(rows_in("chunk.db", topic), 5000);
    }
    ASSERT_EQ_INT(poll_ack_all(c, 500, &first, &last), 500); /* 3,000 owed: v0..v1999 go */
    ASSERT_TRUE(first == 3000 && last == 3499);
    ASSERT_EQ_INT(rows_in("chunk.db", topic), 3000);
    suite.ops->consumer_close(c); /* v2000..v3499 go; the 1,500 not taken stay */
    ASSERT_EQ_INT(rows_in("chunk.db", topic), 1500);
    c = suite_open_ex(topic, "relay", "relay", "earliest", -1, extra);
    ASSERT_EQ_INT(poll_ack_all(c, 5000, &first, &last), 1500);
    ASSERT_TRUE(first == 3500 && last == 4999);
    suite.ops->consumer_close(c);
    ASSERT_EQ_INT(rows_in("chunk.db", topic), 1);
    suite.conf = shared;
    edxbus_conf_destroy(own);
    json_decref(extra);
    /* Only with exclusive, a number >= 0. */
    open_refused(topic, json_pack("{s:b, s:i}", "delete_acked", 1, "retire_rows", 3),
                 "retire_rows");
    open_refused(topic, json_pack("{s:b, s:b, s:i}", "delete_acked", 1, "exclusive", 1,
                                  "retire_rows", -1),
                 "retire_rows");
}

int main(void)
{
    test_tmpdir(dir, sizeof dir, "edxbus-sqlite");
    edxbus_conf_t *conf = fresh_conf("suite.db", NULL, NULL);
    suite.ops = &edxbus_backend_sqlite;
    suite.conf = conf;
    suite.caps = SUITE_CAP_ALL;
    suite.poll_ms = 20;
    suite_run();
    RUN(test_file_is_where_the_setting_says);
    RUN(test_dead_member_is_claimed);
    RUN(test_claim_msgs_older_than_takes_from_live_members);
    RUN(test_exclusive_redelivers_what_was_not_acknowledged);
    RUN(test_exclusive_retire_rows);
    RUN(test_settings_errors);
    RUN(test_acks_out_of_order_leave_only_the_unacked);
    RUN(test_ack_position_text);
    RUN(test_sourcelib_read_back);
    RUN(test_processes_share_a_group_and_survive_sigkill);
    kill_children();
    edxbus_conf_destroy(conf);
    test_rmdir(dir);
    return test_report();
}
