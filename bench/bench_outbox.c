/* bench/bench_outbox.c — the producer outbox against its ceilings, side by side in one run.
 *
 * The event is the enrollment-created payload of tests/vectors/avro.jsonl (case "realistic"),
 * its Avro body encoded once. Cases (each pair run in alternation ROUNDS times, best kept; the
 * machine is shared):
 *   outbox_sync     edxbus_signal_send_encoded() on a bus whose producer has an outbox
 *                   (EVENT_BUS_OUTBOX_PATH, relay off): metadata, routing, key, one durable
 *                   commit per event (EVENT_BUS_SQLITE_SYNCHRONOUS FULL, the default)
 *                   vs raw SQLite: one INSERT of the same bytes (value, key, seven metadata
 *                   texts, destination topic) per transaction, same file settings (WAL, FULL);
 *   outbox_batched  the same with a delivery callback (the producer commits in batches) + flush
 *                   vs raw SQLite: the same INSERTs, 1000 per transaction;
 *   relay_redis     edxbus_relay_run(once) moving N entries from the outbox to a redis-server
 *                   of its own (read, XADD pipelined, confirm, delete)
 *                   vs raw hiredis: the same XADD commands pipelined in chunks of 1000.
 * Output: a fixed-column table, then `ratio <name> <value>` lines (edxbus throughput / ceiling
 * throughput; 1.0 = as fast as the ceiling). Nothing asserts on time.
 */
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../tests/integration/redis/redis_server.h"
#include "backends/redis/redis_int.h"
#include "edxbus/edxbus.h"

#define ENROLLMENT_TYPE "org.openedx.learning.course.enrollment.created.v1"
#define TOPIC "bench-outbox"
#define KEY_FIELD "enrollment.course.course_key"
#define N_SYNC 300
#define N_BATCHED 50000
#define N_RELAY 50000
#define ROUNDS 3
#define CHUNK 1000

static struct test_redis server;
static char dir[256];
static int seq;
static struct edxbus_buf value = EDXBUS_BUF_INIT;

static void die(const char *what, const char *detail)
{
    fprintf(stderr, "bench_outbox: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    test_redis_stop(&server);
    exit(1);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static json_t *load_event(void)
{
    FILE *f = fopen(EDXBUS_TEST_DATA_DIR "/avro.jsonl", "r");
    if (f == NULL)
        die("cannot open", EDXBUS_TEST_DATA_DIR "/avro.jsonl");
    char *line = NULL;
    size_t cap = 0;
    json_t *data = NULL;
    while (data == NULL && getline(&line, &cap, f) > 0) {
        json_t *row = json_loads(line, JSON_ALLOW_NUL, NULL);
        const char *type = json_string_value(json_object_get(row, "event_type"));
        const char *c = json_string_value(json_object_get(row, "case"));
        if (type && c && strcmp(type, ENROLLMENT_TYPE) == 0 && strcmp(c, "realistic") == 0)
            data = json_incref(json_object_get(row, "data"));
        json_decref(row);
    }
    free(line);
    fclose(f);
    if (data == NULL)
        die("no realistic enrollment row in avro.jsonl", NULL);
    return data;
}

/* Settings: an outbox file of its own, routing to TOPIC, the bench's redis as the broker. */
static edxbus_conf_t *conf_new(char *outbox, size_t outbox_size)
{
    char err[EDXBUS_ERRSTR_SIZE];
    snprintf(outbox, outbox_size, "%s/outbox%d.db", dir, ++seq);
    edxbus_conf_t *conf = test_redis_conf(server.url); /* the server, no audit lines */
    if (conf == NULL ||
        edxbus_conf_set(conf, "EVENT_BUS_OUTBOX_PATH", outbox, err, sizeof err) != EDXBUS_OK ||
        edxbus_conf_set(conf, "EVENT_BUS_OUTBOX_RELAY", "false", err, sizeof err) != EDXBUS_OK ||
        edxbus_conf_set(conf, "EVENT_BUS_PRODUCER", "redis", err, sizeof err) != EDXBUS_OK ||
        edxbus_conf_set(conf, "EVENT_BUS_REDIS_STREAM_MAX_LEN", "10000000", err, sizeof err) !=
            EDXBUS_OK ||
        edxbus_conf_set(conf, "EVENTS_SERVICE_NAME", "lms", err, sizeof err) != EDXBUS_OK ||
        edxbus_conf_set(conf, "EVENT_BUS_PRODUCER_CONFIG",
                        "{\"" ENROLLMENT_TYPE "\": {\"" TOPIC "\": {\"event_key_field\": \"" KEY_FIELD
                        "\", \"enabled\": true}}}",
                        err, sizeof err) != EDXBUS_OK)
        die("conf", err);
    return conf;
}

static void on_report(void *opaque, const struct edxbus_delivery *d)
{
    if (d->err != EDXBUS_OK)
        die("outbox commit", d->errstr);
    ++*(long *)opaque;
}

/* n sends through a bus with an outbox; batched: asynchronous + flush. Seconds. */
static double ours_produce(int n, bool batched)
{
    char outbox[320], err[EDXBUS_ERRSTR_SIZE];
    edxbus_bus_t *bus = edxbus_bus_new(conf_new(outbox, sizeof outbox), err, sizeof err);
    if (bus == NULL || edxbus_bus_producer(bus) == NULL)
        die("bus", bus ? edxbus_bus_producer_problem(bus) : err);
    long reported = 0;
    if (batched)
        edxbus_producer_set_delivery_cb(edxbus_bus_producer(bus), on_report, &reported);
    edxbus_signal_t *sig = edxbus_bus_signal(bus, ENROLLMENT_TYPE);
    double t0 = now_s();
    for (int i = 0; i < n; i++)
        if (edxbus_signal_send_encoded(sig, value.data, value.len, 0, NULL, err, sizeof err) !=
            EDXBUS_OK)
            die("send", err);
    if (edxbus_bus_flush(bus, 60000, err, sizeof err) != EDXBUS_OK)
        die("flush", err);
    double t = now_s() - t0;
    if (batched && reported != n)
        die("not every send was reported", NULL);
    edxbus_bus_destroy(bus);
    return t;
}

/* The ceiling: the same bytes as plain INSERTs, per_txn rows per transaction. Seconds. */
static double raw_produce(int n, int per_txn)
{
    char path[320];
    snprintf(path, sizeof path, "%s/raw%d.db", dir, ++seq);
    sqlite3 *db = NULL;
    sqlite3_stmt *ins = NULL;
    if (sqlite3_open(path, &db) != SQLITE_OK ||
        sqlite3_exec(db,
                     "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                     "CREATE TABLE m(id INTEGER PRIMARY KEY, stored_ms INTEGER, event_type TEXT,"
                     " event_id TEXT, minorversion INTEGER, source TEXT, sourcehost TEXT,"
                     " time_us INTEGER, sourcelib TEXT, key BLOB, value BLOB, topic BLOB)",
                     NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "INSERT INTO m VALUES(NULL,?,?,?,?,?,?,?,?,?,?,?)", -1, &ins,
                           NULL) != SQLITE_OK)
        die("raw sqlite", sqlite3_errmsg(db));
    static const char key[] = "\x30" "course-v1:edX+DemoX+2024";
    double t0 = now_s();
    for (int i = 0; i < n; i++) {
        if (i % per_txn == 0)
            sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
        sqlite3_bind_int64(ins, 1, (sqlite3_int64)i);
        sqlite3_bind_text(ins, 2, ENROLLMENT_TYPE, -1, SQLITE_STATIC);
        sqlite3_bind_text(ins, 3, "0bd5a4b6-f275-11f1-8000-0242ac120002", -1, SQLITE_STATIC);
        sqlite3_bind_int64(ins, 4, 0);
        sqlite3_bind_text(ins, 5, "openedx/lms/web", -1, SQLITE_STATIC);
        sqlite3_bind_text(ins, 6, "bench-host", -1, SQLITE_STATIC);
        sqlite3_bind_int64(ins, 7, 1700000000000000);
        sqlite3_bind_text(ins, 8, "11.2.0", -1, SQLITE_STATIC);
        sqlite3_bind_blob(ins, 9, key, (int)sizeof key - 1, SQLITE_STATIC);
        sqlite3_bind_blob(ins, 10, value.data, (int)value.len, SQLITE_STATIC);
        sqlite3_bind_blob(ins, 11, TOPIC, (int)strlen(TOPIC), SQLITE_STATIC);
        if (sqlite3_step(ins) != SQLITE_DONE)
            die("raw insert", sqlite3_errmsg(db));
        sqlite3_reset(ins);
        if (i % per_txn == per_txn - 1 || i == n - 1)
            if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
                die("raw commit", sqlite3_errmsg(db));
    }
    double t = now_s() - t0;
    sqlite3_finalize(ins);
    sqlite3_close(db);
    return t;
}

/* Fill an outbox with n entries (batched, not timed), then time one relay pass to Redis. */
static double ours_relay(int n)
{
    char outbox[320], err[EDXBUS_ERRSTR_SIZE];
    edxbus_conf_t *conf = conf_new(outbox, sizeof outbox);
    edxbus_conf_t *relay_conf = edxbus_conf_dup(conf);
    edxbus_bus_t *bus = edxbus_bus_new(conf, err, sizeof err);
    if (bus == NULL || relay_conf == NULL || edxbus_bus_producer(bus) == NULL)
        die("bus", err);
    long reported = 0;
    edxbus_producer_set_delivery_cb(edxbus_bus_producer(bus), on_report, &reported);
    edxbus_signal_t *sig = edxbus_bus_signal(bus, ENROLLMENT_TYPE);
    for (int i = 0; i < n; i++)
        if (edxbus_signal_send_encoded(sig, value.data, value.len, 0, NULL, err, sizeof err))
            die("send", err);
    edxbus_bus_destroy(bus);
    edxbus_relay_t *relay = edxbus_relay_new(relay_conf, err, sizeof err);
    edxbus_conf_destroy(relay_conf);
    if (relay == NULL)
        die("relay", err);
    double t0 = now_s();
    if (edxbus_relay_run(relay, true, 60000, err, sizeof err) != EDXBUS_OK)
        die("relay run", err);
    double t = now_s() - t0;
    if (edxbus_relay_sent(relay) != (uint64_t)n)
        die("the relay did not send every entry", NULL);
    edxbus_relay_destroy(relay);
    return t;
}

/* The ceiling: the same XADD (the Redis backend's own argv for this event) pipelined. */
static double raw_relay(redisContext *c, int n)
{
    struct edxbus_metadata md;
    char err[EDXBUS_ERRSTR_SIZE];
    if (edxbus_metadata_generate(&md, ENROLLMENT_TYPE, 0, "lms", err, sizeof err) != EDXBUS_OK)
        die("metadata", err);
    struct edxbus_msg msg = {.topic = TOPIC "-raw", .value = value.data, .value_len = value.len,
                             .metadata = &md};
    struct redis_wire_cmd cmd;
    edxbus__redis_wire_cmd_init(&cmd);
    if (edxbus__redis_wire_xadd(&cmd, &msg, 10000000, err, sizeof err) != EDXBUS_OK)
        die("xadd", err);
    double t0 = now_s();
    for (int done = 0; done < n; done += CHUNK) {
        int k = n - done < CHUNK ? n - done : CHUNK;
        for (int i = 0; i < k; i++)
            redisAppendCommandArgv(c, cmd.argc, cmd.argv, cmd.lens);
        for (int i = 0; i < k; i++) {
            redisReply *r = NULL;
            if (redisGetReply(c, (void **)&r) != REDIS_OK || r == NULL ||
                r->type == REDIS_REPLY_ERROR)
                die("pipelined XADD", c->errstr);
            freeReplyObject(r);
        }
    }
    double t = now_s() - t0;
    edxbus__redis_wire_cmd_fini(&cmd);
    return t;
}

static void row(const char *name, double ours, double raw, int n)
{
    printf("%-16s %8d %14.0f %14.0f\n", name, n, n / ours, n / raw);
}

int main(void)
{
    test_redis_require("bench_outbox");
    if (!test_redis_start(&server, NULL))
        die("cannot start redis-server", NULL);
    snprintf(dir, sizeof dir, "/tmp/edxbus-bench-outbox-XXXXXX");
    if (mkdtemp(dir) == NULL)
        die("mkdtemp", NULL);
    json_t *data = load_event();
    char err[EDXBUS_ERRSTR_SIZE];
    edxbus_catalog_t *cat = edxbus_catalog_new();
    const edxbus_event_type_t *et = cat ? edxbus_catalog_find(cat, ENROLLMENT_TYPE) : NULL;
    if (et == NULL || edxbus_event_encode(et, data, 0, &value, err, sizeof err) != EDXBUS_OK)
        die("encode", err);
    redisContext *c = redisConnect("127.0.0.1", server.port);
    if (c == NULL || c->err)
        die("connect", c ? c->errstr : "out of memory");

    double sync_ours = 1e9, sync_raw = 1e9, batch_ours = 1e9, batch_raw = 1e9;
    double relay_ours = 1e9, relay_raw = 1e9;
    for (int r = 0; r < ROUNDS; r++) {
        double t = ours_produce(N_SYNC, false);
        sync_ours = t < sync_ours ? t : sync_ours;
        t = raw_produce(N_SYNC, 1);
        sync_raw = t < sync_raw ? t : sync_raw;
        t = ours_produce(N_BATCHED, true);
        batch_ours = t < batch_ours ? t : batch_ours;
        t = raw_produce(N_BATCHED, CHUNK);
        batch_raw = t < batch_raw ? t : batch_raw;
        t = ours_relay(N_RELAY);
        relay_ours = t < relay_ours ? t : relay_ours;
        t = raw_relay(c, N_RELAY);
        relay_raw = t < relay_raw ? t : relay_raw;
    }
    printf("%-16s %8s %14s %14s\n", "case", "events", "edxbus ev/s", "ceiling ev/s");
    row("outbox_sync", sync_ours, sync_raw, N_SYNC);
    row("outbox_batched", batch_ours, batch_raw, N_BATCHED);
    row("relay_redis", relay_ours, relay_raw, N_RELAY);
    printf("ratio outbox_sync %.2f\n", sync_raw / sync_ours);
    printf("ratio outbox_batched %.2f\n", batch_raw / batch_ours);
    printf("ratio relay_redis %.2f\n", relay_raw / relay_ours);

    redisFree(c);
    edxbus_catalog_destroy(cat);
    edxbus_buf_fini(&value);
    json_decref(data);
    test_redis_stop(&server);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_outbox: could not remove %s\n", dir);
    return 0;
}
