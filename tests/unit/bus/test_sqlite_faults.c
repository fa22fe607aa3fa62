/* tests/unit/bus/test_sqlite_faults.c — the embedded broker on a bad day: a send that cannot be
 * stored (a file-size limit, RLIMIT_FSIZE, in a forked producer) fails with an error naming the
 * path and the free space, consumers keep working, and once the limit is lifted the same
 * producer sends again with every acknowledged send still readable and the file intact; a
 * directory this user may not write (SQLite needs it for the -wal and -shm files) and a missing
 * directory are named with the fix; a tail of a read-only file does not try to create its
 * topic; a consumer or producer whose file was deleted or replaced stops with a fatal error.
 *
 * Checks that need a user without write permission run in a child that drops to "nobody" when
 * the tests run as root (root may write anywhere).
 */
#include <errno.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "edxbus/backend.h"
#include "edxbus/conf.h"
#include "test.h"

extern const struct edxbus_backend_ops edxbus_backend_sqlite;
#define OPS edxbus_backend_sqlite

static char dir[256];

static edxbus_conf_t *conf_at(const char *path)
{
    char errstr[EDXBUS_ERRSTR_SIZE];
    edxbus_conf_t *conf = edxbus_conf_new();
    if (conf == NULL ||
        edxbus_conf_set(conf, "EVENT_BUS_SQLITE_PATH", path, errstr, sizeof errstr) != EDXBUS_OK)
        TEST_FAIL_("conf: %s", errstr);
    return conf;
}

/* One synchronous send of "e<i>" padded to @p size bytes. */
static edxbus_err_t send_one(void *prod, const char *topic, int i, size_t size, char *errstr,
                             size_t errstr_size)
{
    static char value[4096];
    int len = snprintf(value, sizeof value, "e%d ", i);
    memset(value + len, 'x', size - (size_t)len);
    struct edxbus_msg msg = {.topic = topic, .value = (const uint8_t *)value, .value_len = size};
    return OPS.produce(prod, &msg, NULL, NULL, errstr, errstr_size);
}

static void *open_consumer(const edxbus_conf_t *conf, const char *topic, const char *group)
{
    char errstr[EDXBUS_ERRSTR_SIZE] = "";
    void *cons = NULL;
    struct edxbus_consumer_opts opts = {
        .topic = topic, .group = group, .start = "earliest", .start_time_ms = -1};
    if (OPS.consumer_open(conf, &opts, &cons, errstr, sizeof errstr) != EDXBUS_OK)
        TEST_FAIL_("consumer_open: %s", errstr);
    return cons;
}

/* Read and acknowledge until @p want events came ("e<next>" in order). */
static void read_in_order(void *cons, int *next, int want)
{
    char errstr[EDXBUS_ERRSTR_SIZE] = "";
    int empty = 0;
    while (*next < want && empty < 50) {
        struct edxbus_batch b = {0};
        size_t max = want - *next < 100 ? (size_t)(want - *next) : 100;
        if (OPS.poll(cons, &b, max, 100, errstr, sizeof errstr) != EDXBUS_OK)
            TEST_FAIL_("poll: %s", errstr);
        empty = b.n ? 0 : empty + 1;
        for (size_t i = 0; i < b.n; i++) {
            int idx = atoi((const char *)b.msgs[i].value + 1);
            if (idx != *next)
                TEST_FAIL_("got e%d, expected e%d", idx, *next);
            (*next)++;
            OPS.ack(cons, &b.msgs[i], errstr, sizeof errstr);
        }
    }
    ASSERT_EQ_INT(*next, want);
}

static void write_all(int fd, const void *p, size_t n)
{
    if (write(fd, p, n) != (ssize_t)n)
        _exit(90);
}

/* The forked producer: sends until the file-size limit stops it, reports (count, error) on
 * @p out, waits for a byte on @p in, lifts the limit and sends 10 more. Exit 0 when all went
 * as expected. */
static void limited_producer(const edxbus_conf_t *conf, int in, int out)
{
    char errstr[EDXBUS_ERRSTR_SIZE] = "";
    void *prod = NULL;
    signal(SIGXFSZ, SIG_IGN); /* write() fails with EFBIG instead of the signal killing us */
    if (OPS.producer_open(conf, &prod, errstr, sizeof errstr) != EDXBUS_OK)
        _exit(10);
    struct rlimit rl;
    getrlimit(RLIMIT_FSIZE, &rl);
    struct rlimit lim = {.rlim_cur = 256 * 1024, .rlim_max = rl.rlim_max};
    if (setrlimit(RLIMIT_FSIZE, &lim) != 0)
        _exit(11);
    int sent = 0;
    edxbus_err_t err = EDXBUS_OK;
    while (sent < 100000 &&
           (err = send_one(prod, "full", 50 + sent, 1000, errstr, sizeof errstr)) == EDXBUS_OK)
        sent++;
    write_all(out, &sent, sizeof sent);
    write_all(out, &err, sizeof err);
    write_all(out, errstr, sizeof errstr);
    char go;
    if (read(in, &go, 1) != 1)
        _exit(12);
    if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
        _exit(13);
    for (int i = 0; i < 10; i++)
        if (send_one(prod, "full", 50 + sent + i, 1000, errstr, sizeof errstr) != EDXBUS_OK) {
            fprintf(stderr, "after the limit was lifted: %s\n", errstr);
            _exit(14);
        }
    OPS.producer_close(prod);
    _exit(0);
}

TEST(test_file_size_limit_fails_clearly_and_recovers)
{
    char path[512], errstr[EDXBUS_ERRSTR_SIZE] = "";
    snprintf(path, sizeof path, "%s/full.db", dir);
    edxbus_conf_t *conf = conf_at(path);
    void *prod = NULL;
    ASSERT_EQ_INT(OPS.producer_open(conf, &prod, errstr, sizeof errstr), EDXBUS_OK);
    for (int i = 0; i < 50; i++) /* acknowledged before the trouble */
        ASSERT_EQ_INT(send_one(prod, "full", i, 1000, errstr, sizeof errstr), EDXBUS_OK);
    OPS.producer_close(prod);
    void *cons = open_consumer(conf, "full", "g");
    int next = 0;
    read_in_order(cons, &next, 20);

    int to_child[2], to_parent[2];
    ASSERT_EQ_INT(pipe(to_child), 0);
    ASSERT_EQ_INT(pipe(to_parent), 0);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0)
        limited_producer(conf, to_child[0], to_parent[1]);
    int sent = -1;
    edxbus_err_t err = EDXBUS_OK;
    char why[EDXBUS_ERRSTR_SIZE] = "";
    ASSERT_EQ_INT(read(to_parent[0], &sent, sizeof sent), (ssize_t)sizeof sent);
    ASSERT_EQ_INT(read(to_parent[0], &err, sizeof err), (ssize_t)sizeof err);
    ASSERT_EQ_INT(read(to_parent[0], why, sizeof why), (ssize_t)sizeof why);
    ASSERT_TRUE(sent > 0 && sent < 100000);
    ASSERT_EQ_INT(err, EDXBUS_ERR_IO); /* retriable: space may come back */
    ASSERT_CONTAINS(why, path);
    ASSERT_CONTAINS(why, "free on the disk");
    ASSERT_CONTAINS(why, "ulimit -f");
    ASSERT_CONTAINS(why, "nothing stored was changed");

    /* The consumer (not limited) keeps working meanwhile: every acknowledged send is there. */
    read_in_order(cons, &next, 50 + sent);
    ASSERT_EQ_INT(write(to_child[1], "g", 1), 1);
    int status = 0;
    ASSERT_EQ_INT(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    ASSERT_EQ_INT(WEXITSTATUS(status), 0); /* sends work again without a restart */
    read_in_order(cons, &next, 50 + sent + 10);
    OPS.consumer_close(cons);

    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    ASSERT_EQ_INT(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    ASSERT_EQ_INT(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL), SQLITE_OK);
    ASSERT_EQ_INT(sqlite3_step(st), SQLITE_ROW);
    ASSERT_EQ_STR((const char *)sqlite3_column_text(st, 0), "ok");
    sqlite3_finalize(st);
    sqlite3_close(db);
    close(to_child[0]), close(to_child[1]), close(to_parent[0]), close(to_parent[1]);
    edxbus_conf_destroy(conf);
}

/* Run @p fn in a child as a user that cannot write where root could (nobody, when we are
 * root); the child's exit status is the check's result, its stderr says why. */
static void as_unprivileged(void (*fn)(const char *), const char *path)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
            _exit(20);
        fn(path);
        _exit(0);
    }
    int status = 0;
    ASSERT_EQ_INT(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    ASSERT_EQ_INT(WEXITSTATUS(status), 0);
}

static void expect_dir_advice(const char *path)
{
    char errstr[EDXBUS_ERRSTR_SIZE] = "";
    edxbus_conf_t *conf = conf_at(path);
    void *prod = NULL;
    edxbus_err_t err = OPS.producer_open(conf, &prod, errstr, sizeof errstr);
    if (err == EDXBUS_OK)
        err = OPS.produce(prod,
                          &(struct edxbus_msg){.topic = "t", .value = (const uint8_t *)"v",
                                               .value_len = 1},
                          NULL, NULL, errstr, sizeof errstr);
    if (err == EDXBUS_OK || strstr(errstr, "must be writable") == NULL ||
        strstr(errstr, "-wal") == NULL || strstr(errstr, path) == NULL) {
        fprintf(stderr, "read-only directory: %s\n", errstr);
        _exit(30);
    }
    edxbus_conf_destroy(conf);
}

/* The tail of a topic that does not exist, on a read-only file: no error, nothing created;
 * the tail of one that exists reads it. (A read-only file in a read-only directory cannot be
 * read in WAL mode unless its -shm file exists: expect_dir_advice's error then says why.) */
static void tail_read_only(const char *path)
{
    char errstr[EDXBUS_ERRSTR_SIZE] = "";
    edxbus_conf_t *conf = conf_at(path);
    const char *topics[] = {"not-there", "t"};
    for (int i = 0; i < 2; i++) {
        void *tail = NULL;
        struct edxbus_batch b = {0};
        struct edxbus_consumer_opts opts = {
            .topic = topics[i], .start = "earliest", .start_time_ms = -1};
        if (OPS.consumer_open(conf, &opts, &tail, errstr, sizeof errstr) != EDXBUS_OK ||
            OPS.poll(tail, &b, 10, 50, errstr, sizeof errstr) != EDXBUS_OK) {
            fprintf(stderr, "tail of %s on a read-only file: %s\n", topics[i], errstr);
            _exit(40);
        }
        if (b.n != (size_t)i) {
            fprintf(stderr, "tail of %s: %zu events\n", topics[i], b.n);
            _exit(41);
        }
        OPS.consumer_close(tail);
    }
    edxbus_conf_destroy(conf);
}

TEST(test_read_only_places_say_the_fix)
{
    char sub[300], path[400], errstr[EDXBUS_ERRSTR_SIZE] = "";
    snprintf(sub, sizeof sub, "%s/ro", dir);
    snprintf(path, sizeof path, "%s/ro/bus.db", dir);
    ASSERT_EQ_INT(mkdir(sub, 0755), 0);
    edxbus_conf_t *conf = conf_at(path);
    void *prod = NULL;
    ASSERT_EQ_INT(OPS.producer_open(conf, &prod, errstr, sizeof errstr), EDXBUS_OK);
    ASSERT_EQ_INT(send_one(prod, "t", 0, 10, errstr, sizeof errstr), EDXBUS_OK);
    OPS.producer_close(prod); /* the last close removes -wal and -shm */
    edxbus_conf_destroy(conf);
    ASSERT_EQ_INT(chmod(dir, 0755), 0); /* so that "nobody" can reach it */
    ASSERT_EQ_INT(chmod(path, 0666), 0);
    ASSERT_EQ_INT(chmod(sub, 0555), 0);
    as_unprivileged(expect_dir_advice, path);
    ASSERT_EQ_INT(chmod(sub, 0777), 0); /* a read-only file in a directory the WAL may use */
    ASSERT_EQ_INT(chmod(path, 0444), 0);
    as_unprivileged(tail_read_only, path);

    sqlite3 *db = NULL; /* the tail created nothing */
    sqlite3_stmt *st = NULL;
    ASSERT_EQ_INT(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    ASSERT_EQ_INT(sqlite3_prepare_v2(db, "SELECT count(*) FROM topics", -1, &st, NULL),
                  SQLITE_OK);
    ASSERT_EQ_INT(sqlite3_step(st), SQLITE_ROW);
    ASSERT_EQ_INT(sqlite3_column_int(st, 0), 1);
    sqlite3_finalize(st);
    sqlite3_close(db);
    chmod(sub, 0755);
    chmod(dir, 0700);

    snprintf(path, sizeof path, "%s/no-such-dir/bus.db", dir);
    conf = conf_at(path);
    ASSERT_EQ_INT(OPS.producer_open(conf, &prod, errstr, sizeof errstr), EDXBUS_ERR_IO);
    ASSERT_CONTAINS(errstr, "does not exist");
    ASSERT_CONTAINS(errstr, "No such file or directory"); /* the OS's reason */
    edxbus_conf_destroy(conf);
}

/* Poll @p cons until it fails (bounded); returns the error. */
static edxbus_err_t poll_until_error(void *cons, char *errstr, size_t errstr_size)
{
    for (int i = 0; i < 100; i++) {
        struct edxbus_batch b = {0};
        edxbus_err_t err = OPS.poll(cons, &b, 10, 100, errstr, errstr_size);
        if (err != EDXBUS_OK)
            return err;
    }
    return EDXBUS_OK;
}

TEST(test_deleted_or_replaced_file_stops_consumers_and_producers)
{
    char path[512], other[512], errstr[EDXBUS_ERRSTR_SIZE] = "";
    snprintf(path, sizeof path, "%s/gone.db", dir);
    snprintf(other, sizeof other, "%s/other.db", dir);
    edxbus_conf_t *conf = conf_at(path), *conf2 = conf_at(other);
    void *prod = NULL, *prod2 = NULL;
    ASSERT_EQ_INT(OPS.producer_open(conf, &prod, errstr, sizeof errstr), EDXBUS_OK);
    ASSERT_EQ_INT(send_one(prod, "t", 0, 10, errstr, sizeof errstr), EDXBUS_OK);
    void *cons = open_consumer(conf, "t", "g");
    int next = 0;
    read_in_order(cons, &next, 1);

    char side[600];
    snprintf(side, sizeof side, "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", path);
    unlink(side);
    ASSERT_EQ_INT(unlink(path), 0);
    ASSERT_EQ_INT(poll_until_error(cons, errstr, sizeof errstr), EDXBUS_ERR_FATAL);
    ASSERT_CONTAINS(errstr, path);
    ASSERT_CONTAINS(errstr, "was deleted");
    OPS.consumer_close(cons);

    /* A producer of the deleted file: its sends would land in a file nobody sees. */
    edxbus_err_t err = EDXBUS_OK;
    for (int i = 0; i < 100 && err == EDXBUS_OK; i++) {
        err = send_one(prod, "t", 1, 10, errstr, sizeof errstr);
        if (err == EDXBUS_OK)
            usleep(20000);
    }
    ASSERT_EQ_INT(err, EDXBUS_ERR_FATAL);
    ASSERT_CONTAINS(errstr, "was deleted");
    OPS.producer_close(prod);

    /* Replaced: another broker file moved over the path while a consumer reads it. */
    ASSERT_EQ_INT(OPS.producer_open(conf, &prod, errstr, sizeof errstr), EDXBUS_OK);
    ASSERT_EQ_INT(send_one(prod, "t", 0, 10, errstr, sizeof errstr), EDXBUS_OK);
    OPS.producer_close(prod);
    cons = open_consumer(conf, "t", "g");
    ASSERT_EQ_INT(OPS.producer_open(conf2, &prod2, errstr, sizeof errstr), EDXBUS_OK);
    ASSERT_EQ_INT(send_one(prod2, "t", 0, 10, errstr, sizeof errstr), EDXBUS_OK);
    OPS.producer_close(prod2);
    ASSERT_EQ_INT(rename(other, path), 0);
    ASSERT_EQ_INT(poll_until_error(cons, errstr, sizeof errstr), EDXBUS_ERR_FATAL);
    ASSERT_CONTAINS(errstr, "replaced");
    OPS.consumer_close(cons);
    edxbus_conf_destroy(conf);
    edxbus_conf_destroy(conf2);
}

int main(void)
{
    test_tmpdir(dir, sizeof dir, "edxbus-sqfault");
    RUN(test_file_size_limit_fails_clearly_and_recovers);
    RUN(test_read_only_places_say_the_fix);
    RUN(test_deleted_or_replaced_file_stops_consumers_and_producers);
    test_rmdir(dir);
    return test_report();
}
