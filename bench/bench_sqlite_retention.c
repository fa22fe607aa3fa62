/* bench/bench_sqlite_retention.c — what retention costs the embedded broker: the same work with
 * retention removing every acknowledged event as soon as it may (EVENT_BUS_SQLITE_RETENTION 0,
 * the most work it can have) and with retention off (forever), side by side in one run.
 *
 * The work, per case, on a fresh file with synchronous=FULL:
 *   cycle    a producer (asynchronous, 1000 per commit) and a consumer group (poll 100 + ack
 *            each) in turns of 1000 events, 500,000 events in all (seconds of steady state:
 *            retention runs every second, more often with a backlog). Retention takes at most
 *            a twentieth of a busy handle's time, so at this full speed it may not keep up: the
 *            events left at the end say how far it got.
 *   produce  100,000 events produced asynchronously while 100,000 older, acknowledged events
 *            wait to be removed (retention has a backlog; the producer runs it between sends).
 *   remove   the backlog alone removed by back-to-back retention runs (what the two cases above
 *            leave for idle time): `ratio retention_keepup` = cycle / (cycle + remove) time, the
 *            share of the cycle's throughput left if every event were also removed at once.
 * Each runs its two sides alternately, three times, and keeps each side's best run. Output: a
 * fixed-column table and `ratio <case> <on / off>` (1.0 = retention costs nothing; the target
 * is >= 0.90), the events and file sizes left. Nothing asserts on time.
 *
 * Usage: bench_sqlite_retention [EVENTS [REPEATS]] (fewer to run it under callgrind).
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "backends/sqlite/sqlite_int.h"
#include "edxbus/backend.h"
#include "edxbus/conf.h"

#define TOPIC "dev-learning-course-enrollment"
#define N_DEFAULT 100000
#define TURN 1000
#define CYCLE 5 /* the cycle case runs CYCLE * EVENTS */
#define REPS_DEFAULT 3
#define VALUE_LEN 271 /* the realistic enrollment event's Avro size (bench_sqlite.c) */

static uint8_t value[VALUE_LEN];
static struct edxbus_metadata md = {.event_type =
                                        "org.openedx.learning.course.enrollment.created.v1",
                                    .id = "d36ab1b0-1466-11ef-9f8e-0242ac120002",
                                    .source = "openedx/lms/web",
                                    .sourcehost = "lms.example.com",
                                    .time_us = INT64_C(1715954607123456),
                                    .sourcelib = {11, 2, 0},
                                    .nsourcelib = 3};
static char dir[256];
static int N = N_DEFAULT, REPS = REPS_DEFAULT; /* argv[1], argv[2]: fewer for callgrind */
static const struct edxbus_backend_ops *ops;

static void die(const char *what, const char *detail)
{
    fprintf(stderr, "bench_sqlite_retention: %s%s%s\n", what, detail ? ": " : "",
            detail ? detail : "");
    exit(1);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static edxbus_conf_t *conf_for(const char *file, const char *retention)
{
    char path[512], errstr[EDXBUS_ERRSTR_SIZE];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    unlink(path);
    edxbus_conf_t *conf = edxbus_conf_new();
    if (edxbus_conf_set(conf, "EVENT_BUS_SQLITE_PATH", path, errstr, sizeof errstr) ||
        edxbus_conf_set(conf, "EVENT_BUS_SQLITE_RETENTION", retention, errstr, sizeof errstr))
        die("conf", errstr);
    return conf;
}

static void on_report(void *opaque, const struct edxbus_msg *msg, edxbus_err_t err,
                      const char *errstr, const char *position)
{
    (void)opaque, (void)msg, (void)position;
    if (err != EDXBUS_OK)
        die("delivery", errstr);
}

static void produce(void *prod, int n)
{
    char errstr[EDXBUS_ERRSTR_SIZE];
    struct edxbus_msg msg = {
        .topic = TOPIC, .value = value, .value_len = VALUE_LEN, .metadata = &md};
    for (int i = 0; i < n; i++)
        if (ops->produce(prod, &msg, on_report, NULL, errstr, sizeof errstr) != EDXBUS_OK)
            die("produce", errstr);
    if (ops->flush(prod, 60000, errstr, sizeof errstr) != EDXBUS_OK)
        die("flush", errstr);
}

static void consume(void *cons, int n)
{
    char errstr[EDXBUS_ERRSTR_SIZE];
    for (int got = 0; got < n;) {
        struct edxbus_batch b;
        if (ops->poll(cons, &b, 100, 1000, errstr, sizeof errstr) != EDXBUS_OK)
            die("poll", errstr);
        if (b.n == 0)
            die("poll", "ran dry");
        for (size_t i = 0; i < b.n; i++)
            if (ops->ack(cons, &b.msgs[i], errstr, sizeof errstr) != EDXBUS_OK)
                die("ack", errstr);
        got += (int)b.n;
    }
}

static void *open_pair(const edxbus_conf_t *conf, void **cons)
{
    char errstr[EDXBUS_ERRSTR_SIZE];
    void *prod = NULL;
    struct edxbus_consumer_opts opts = {
        .topic = TOPIC, .group = "g", .start = "earliest", .start_time_ms = -1};
    if (ops->producer_open(conf, &prod, errstr, sizeof errstr) != EDXBUS_OK ||
        ops->consumer_open(conf, &opts, cons, errstr, sizeof errstr) != EDXBUS_OK)
        die("open", errstr);
    return prod;
}

/* Events in @p file (plain SQLite, read-only), or -1. */
static long long events_in(const char *file)
{
    char path[512];
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    long long n = -1;
    snprintf(path, sizeof path, "%s/%s", dir, file);
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, "SELECT count(*) FROM messages", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

static long long file_size(const char *file)
{
    char path[512];
    struct stat sb;
    snprintf(path, sizeof path, "%s/%s", dir, file);
    return stat(path, &sb) == 0 ? (long long)sb.st_size : -1;
}

/* Events per second of the cycle case; *@p size gets the file's size at the end, *@p left
 * the events still in it. */
static double cycle(const char *retention, long long *size, long long *left)
{
    edxbus_conf_t *conf = conf_for("cycle.db", retention);
    void *cons = NULL, *prod = open_pair(conf, &cons);
    double t0 = now_s();
    for (int done = 0; done < CYCLE * N; done += TURN) {
        produce(prod, TURN);
        consume(cons, TURN);
    }
    double t = now_s() - t0;
    ops->consumer_close(cons);
    ops->producer_close(prod);
    *size = file_size("cycle.db");
    *left = events_in("cycle.db");
    edxbus_conf_destroy(conf);
    return CYCLE * N / t;
}

/* Events per second of the produce case; *@p left gets the events in the file at the end. */
static double produce_with_backlog(const char *retention, long long *left)
{
    edxbus_conf_t *conf = conf_for("backlog.db", "forever");
    void *cons = NULL, *prod = open_pair(conf, &cons);
    produce(prod, N); /* the backlog: produced and acknowledged with retention off */
    consume(cons, N);
    ops->consumer_close(cons); /* commits the last acks */
    ops->producer_close(prod);
    char errstr[EDXBUS_ERRSTR_SIZE];
    if (edxbus_conf_set(conf, "EVENT_BUS_SQLITE_RETENTION", retention, errstr, sizeof errstr))
        die("conf", errstr);
    if (ops->producer_open(conf, &prod, errstr, sizeof errstr) != EDXBUS_OK)
        die("producer_open", errstr);
    double t0 = now_s();
    produce(prod, N);
    double t = now_s() - t0;
    ops->producer_close(prod);
    *left = events_in("backlog.db");
    edxbus_conf_destroy(conf);
    return N / t;
}

/* Events per second removed by back-to-back retention runs from a file of N acknowledged
 * events (produced and consumed with retention off first). */
static double remove_all(void)
{
    edxbus_conf_t *conf = conf_for("remove.db", "forever");
    void *cons = NULL, *prod = open_pair(conf, &cons);
    produce(prod, N);
    consume(cons, N);
    ops->consumer_close(cons);
    ops->producer_close(prod);
    char errstr[EDXBUS_ERRSTR_SIZE];
    struct sq_db db;
    struct sq_retain r;
    if (edxbus_conf_set(conf, "EVENT_BUS_SQLITE_RETENTION", "0", errstr, sizeof errstr) ||
        edxbus__sq_db_open(&db, conf, false, errstr, sizeof errstr) != EDXBUS_OK ||
        edxbus__sq_retain_init(&r, conf, errstr, sizeof errstr) != EDXBUS_OK)
        die("remove", errstr);
    int64_t deleted = 0, total = 0;
    double t0 = now_s();
    do {
        if (edxbus__sq_retain_step(&db, &r, edxbus_clock_wall_ms(), &deleted, errstr,
                                   sizeof errstr) != EDXBUS_OK)
            die("retention", errstr);
        total += deleted;
    } while (deleted == SQ_RETAIN_BATCH);
    double t = now_s() - t0;
    edxbus__sq_retain_fini(&r);
    edxbus__sq_db_close(&db);
    edxbus_conf_destroy(conf);
    if (total != N - 1) /* the newest is kept */
        die("remove", "retention did not remove the whole backlog");
    return total / t;
}

int main(int argc, char **argv)
{
    if (argc > 1)
        N = atoi(argv[1]) / TURN * TURN;
    if (argc > 2)
        REPS = atoi(argv[2]);
    if (N < TURN || REPS < 1)
        die("usage", "bench_sqlite_retention [EVENTS >= 1000 [REPEATS >= 1]]");
    snprintf(dir, sizeof dir, "/tmp/edxbus-bench-ret-XXXXXX");
    if (mkdtemp(dir) == NULL)
        die("mkdtemp", dir);
    char errstr[EDXBUS_ERRSTR_SIZE];
    ops = edxbus_backend_find("sqlite", NULL, errstr, sizeof errstr);
    if (ops == NULL)
        die("backend", errstr);
    for (size_t i = 0; i < VALUE_LEN; i++)
        value[i] = (uint8_t)(i * 31 + 7);
    double cyc[2] = {0, 0}, prod[2] = {0, 0};
    long long size[2] = {0, 0}, left[2] = {0, 0}, bleft[2] = {0, 0};
    double rem = 0;
    static const char *const setting[2] = {"0", "forever"}; /* on, off */
    for (int rep = 0; rep < REPS; rep++) {
        for (int side = 0; side < 2; side++) {
            double v = cycle(setting[side], &size[side], &left[side]);
            if (v > cyc[side])
                cyc[side] = v;
            v = produce_with_backlog(setting[side], &bleft[side]);
            if (v > prod[side])
                prod[side] = v;
        }
        double v = remove_all();
        if (v > rem)
            rem = v;
    }
    printf("%-52s %8s %14s %14s %7s\n", "case", "events", "on ev/s", "off ev/s", "ratio");
    printf("%-52s %8d %14.0f %14.0f %7.2f\n", "cycle: produce 1000 + consume 1000, FULL",
           CYCLE * N, cyc[0], cyc[1], cyc[0] / cyc[1]);
    printf("%-52s %8d %14.0f %14.0f %7.2f\n", "produce with the same number acknowledged to remove",
           N, prod[0], prod[1], prod[0] / prod[1]);
    printf("%-52s %8d %14.0f %14s\n", "remove: back-to-back runs, nothing else", N, rem, "-");
    /* What retention got done in the time it had (the last repetition): the cost above is only
     * meaningful next to it. */
    printf("after the cycle case: %lld events and %lld bytes with retention, %lld and %lld "
           "without\n",
           left[0], size[0], left[1], size[1]);
    printf("after the produce case: %lld events with retention, %lld without\n", bleft[0],
           bleft[1]);
    printf("ratio retention_cycle %.2f\n", cyc[0] / cyc[1]);
    printf("ratio retention_produce_backlog %.2f\n", prod[0] / prod[1]);
    printf("ratio retention_keepup %.2f\n", (1 / cyc[1]) / (1 / cyc[1] + 1 / rem));
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_sqlite_retention: could not remove %s\n", dir);
    return 0;
}
