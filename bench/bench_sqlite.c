/* bench/bench_sqlite.c — the embedded SQLite broker against plain SQLite on the same bytes.
 *
 * Every row is the enrollment-created event of tests/vectors/avro.jsonl (case "realistic",
 * 271 bytes of Avro) with a realistic EventsMetadata. The ceiling ("raw") is plain SQLite on a
 * table holding the same columns (topic, time, the seven metadata fields, key, value, headers),
 * with the same journal (WAL) and synchronous level, and no bus logic:
 *   produce_durable  edxbus: synchronous produce(), one transaction per event, synchronous=FULL
 *                    (every commit fsynced). raw: BEGIN IMMEDIATE; INSERT; COMMIT per row.
 *   produce_normal   the same with synchronous=NORMAL (no fsync per commit) on both sides.
 *   produce_batched  edxbus: asynchronous produce() (committed 1000 per transaction) + flush.
 *                    raw: one transaction per 1000 INSERTs. synchronous=FULL.
 *   consume          edxbus: poll(100) in a group + ack() of every message (acks commit with
 *                    the next poll). raw: per 100 rows one transaction of SELECT (bytes
 *                    copied out, as the backend copies them) and UPDATE of a cursor row.
 *                    synchronous=FULL on both sides.
 * Each case runs its two sides alternately, three times, and keeps each side's best run.
 * Output: a fixed-column table, then `ratio <case> <edxbus / raw>` (1.0 = as fast as plain
 * SQLite; the goal is >= 0.70). Nothing here asserts on time.
 */
#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"
#include "edxbus/backend.h"
#include "edxbus/conf.h"

#define ENROLLMENT_TYPE "org.openedx.learning.course.enrollment.created.v1"
#define TOPIC "dev-learning-course-enrollment"
#define REPS 3

static uint8_t value[4096];
static size_t value_len;
static struct edxbus_metadata md;
static char dir[256];
static const struct edxbus_backend_ops *ops;

static void load_event(void)
{
    char path[512], line[1 << 16];
    snprintf(path, sizeof path, "%s/avro.jsonl", EDXBUS_TEST_DATA_DIR);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        die("cannot open: %s", path);
    while (value_len == 0 && fgets(line, sizeof line, f) != NULL) {
        json_t *row = json_loads(line, 0, NULL);
        const char *type = json_string_value(json_object_get(row, "event_type"));
        const char *kase = json_string_value(json_object_get(row, "case"));
        const char *hex = json_string_value(json_object_get(row, "avro_hex"));
        if (type && kase && hex && strcmp(type, ENROLLMENT_TYPE) == 0 &&
            strcmp(kase, "realistic") == 0) {
            for (size_t i = 0; hex[2 * i] && hex[2 * i + 1] && i < sizeof value; i++) {
                char byte[3] = {hex[2 * i], hex[2 * i + 1], 0};
                value[i] = (uint8_t)strtoul(byte, NULL, 16);
                value_len = i + 1;
            }
        }
        json_decref(row);
    }
    fclose(f);
    if (value_len == 0)
        die("no realistic enrollment row in: %s", path);
    snprintf(md.event_type, sizeof md.event_type, "%s", ENROLLMENT_TYPE);
    snprintf(md.id, sizeof md.id, "d36ab1b0-1466-11ef-9f8e-0242ac120003");
    snprintf(md.source, sizeof md.source, "openedx/lms/web");
    snprintf(md.sourcehost, sizeof md.sourcehost, "edx.devstack.lms");
    md.time_us = 1715954607123456;
    md.sourcelib[0] = 11;
    md.sourcelib[1] = 2;
    md.nsourcelib = 3;
}

/* --- edxbus side ---------------------------------------------------------------------------- */

static edxbus_conf_t *conf_for(const char *file, const char *sync)
{
    char path[512], errstr[EDXBUS_ERRSTR_SIZE];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    unlink(path);
    edxbus_conf_t *conf = edxbus_conf_new();
    if (edxbus_conf_set(conf, "EVENT_BUS_SQLITE_PATH", path, errstr, sizeof errstr) ||
        edxbus_conf_set(conf, "EVENT_BUS_SQLITE_SYNCHRONOUS", sync, errstr, sizeof errstr))
        die("conf: %s", errstr);
    return conf;
}

static int reported;

static void on_report(void *opaque, const struct edxbus_msg *msg, edxbus_err_t err,
                      const char *errstr, const char *position)
{
    if (err != EDXBUS_OK)
        die("delivery: %s", errstr);
    reported++;
}

static double bus_produce(const edxbus_conf_t *conf, int n, bool async)
{
    char errstr[EDXBUS_ERRSTR_SIZE];
    void *prod = NULL;
    if (ops->producer_open(conf, &prod, errstr, sizeof errstr) != EDXBUS_OK)
        die("producer_open: %s", errstr);
    struct edxbus_msg msg = {
        .topic = TOPIC, .value = value, .value_len = value_len, .metadata = &md};
    reported = 0;
    double t0 = now_s();
    for (int i = 0; i < n; i++)
        if (ops->produce(prod, &msg, async ? on_report : NULL, NULL, errstr, sizeof errstr))
            die("produce: %s", errstr);
    if (ops->flush(prod, 60000, errstr, sizeof errstr) != EDXBUS_OK)
        die("flush: %s", errstr);
    double t = now_s() - t0;
    if (async && reported != n)
        die("flush: %s", "not every message was reported");
    ops->producer_close(prod);
    return n / t;
}

static double bus_consume(const edxbus_conf_t *conf, int n, const char *group)
{
    char errstr[EDXBUS_ERRSTR_SIZE];
    void *cons = NULL;
    struct edxbus_consumer_opts opts = {.topic = TOPIC,
                                        .group = group,
                                        .consumer_name = "b",
                                        .start = "earliest",
                                        .start_time_ms = -1};
    if (ops->consumer_open(conf, &opts, &cons, errstr, sizeof errstr) != EDXBUS_OK)
        die("consumer_open: %s", errstr);
    int got = 0;
    double t0 = now_s();
    while (got < n) {
        struct edxbus_batch b;
        if (ops->poll(cons, &b, 100, 1000, errstr, sizeof errstr) != EDXBUS_OK)
            die("poll: %s", errstr);
        if (b.n == 0)
            die("poll: %s", "ran dry");
        for (size_t i = 0; i < b.n; i++)
            if (b.msgs[i].value_len != value_len ||
                ops->ack(cons, &b.msgs[i], errstr, sizeof errstr) != EDXBUS_OK)
                die("ack: %s", errstr);
        got += (int)b.n;
    }
    ops->consumer_close(cons); /* commits the last acks */
    return n / (now_s() - t0);
}

/* --- raw side (bench_util.h) ------------------------------------------------------------- */

static double raw_produce(const char *file, const char *sync, int n, int per_txn)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    return bench_sq_raw_produce(path, sync, &md, NULL, 0, value, value_len, n, per_txn);
}

static double raw_consume(const char *file, int n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    return bench_sq_raw_consume(path, "FULL", "g", n);
}

/* --- driver --------------------------------------------------------------------------------- */

struct result {
    const char *name, *label;
    int n;
    double bus, raw;
};

static void keep_best(double *best, double v)
{
    if (v > *best)
        *best = v;
}

int main(void)
{
    bench_set_name("bench_sqlite");
    snprintf(dir, sizeof dir, "/tmp/edxbus-bench-XXXXXX");
    if (mkdtemp(dir) == NULL)
        die("mkdtemp: %s", dir);
    char errstr[EDXBUS_ERRSTR_SIZE];
    ops = edxbus_backend_find("sqlite", NULL, errstr, sizeof errstr);
    if (ops == NULL)
        die("backend: %s", errstr);
    load_event();
    printf("event: %s, %zu bytes of Avro + metadata; files in %s; SQLite %s, WAL\n",
           ENROLLMENT_TYPE, value_len, dir, sqlite3_libversion());

    struct result r[] = {
        {"produce_durable", "produce, per-event commit, FULL", 500, 0, 0},
        {"produce_normal", "produce, per-event commit, NORMAL", 20000, 0, 0},
        {"produce_batched", "produce, async 1000/commit, FULL", 100000, 0, 0},
        {"consume", "consume, poll 100 + ack each, FULL", 100000, 0, 0},
    };
    for (int rep = 0; rep < REPS; rep++) {
        edxbus_conf_t *full = conf_for("bus.db", "FULL");
        edxbus_conf_t *normal = conf_for("bus-normal.db", "NORMAL");
        keep_best(&r[0].bus, bus_produce(full, r[0].n, false));
        keep_best(&r[0].raw, raw_produce("raw.db", "FULL", r[0].n, 1));
        keep_best(&r[1].bus, bus_produce(normal, r[1].n, false));
        keep_best(&r[1].raw, raw_produce("raw-normal.db", "NORMAL", r[1].n, 1));
        edxbus_conf_destroy(full);
        full = conf_for("bus.db", "FULL"); /* fresh file: the consume reads exactly these */
        keep_best(&r[2].bus, bus_produce(full, r[2].n, true));
        keep_best(&r[2].raw, raw_produce("raw.db", "FULL", r[2].n, 1000));
        char group[16];
        snprintf(group, sizeof group, "g%d", rep);
        keep_best(&r[3].bus, bus_consume(full, r[3].n, group));
        keep_best(&r[3].raw, raw_consume("raw.db", r[3].n));
        edxbus_conf_destroy(full);
        edxbus_conf_destroy(normal);
    }
    printf("%-38s %8s %14s %14s %7s\n", "case", "events", "edxbus ev/s", "raw ev/s", "ratio");
    for (size_t i = 0; i < sizeof r / sizeof r[0]; i++)
        printf("%-38s %8d %14.0f %14.0f %7.2f\n", r[i].label, r[i].n, r[i].bus, r[i].raw,
               r[i].bus / r[i].raw);
    for (size_t i = 0; i < sizeof r / sizeof r[0]; i++)
        printf("ratio %s %.2f\n", r[i].name, r[i].bus / r[i].raw);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_sqlite: could not remove %s\n", dir);
    return 0;
}
