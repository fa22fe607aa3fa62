/* bench/bench_redis.c — the Redis backend against raw hiredis carrying the same bytes.
 *
 * Starts its own redis-server on a free loopback port (no persistence) and measures, side by
 * side in one run, for the enrollment-created event of tests/vectors/avro.jsonl (case
 * "realistic": its Avro body, with generated metadata):
 *   produce_sync       ops->produce without callback (one XADD round trip, reply checked)
 *                      vs raw redisCommandArgv XADD of the same 8 fields, one per round trip;
 *   produce_pipelined  ops->produce with a delivery callback, then flush
 *                      vs raw redisAppendCommandArgv in chunks of 1000, then 1000 replies;
 *                      the raw side writes the reference's `XADD … MAXLEN ~ 10000`, edxbus a
 *                      plain XADD plus its safe trim (redis_trim.c) every 1000 entries;
 *   produce_safe_trim_group_behind  the same on a stream whose one group reads nothing: the
 *                      raw side drops its entries past ~10000, edxbus keeps all 100000;
 *   consume            ops->poll (100 at a time) + ops->ack of each (parsing the metadata)
 *                      vs raw XREADGROUP COUNT 100 + one XACK of the 100 ids (no parsing);
 *   redis_tls_produce, redis_tls_consume  produce_pipelined and consume of edxbus over TLS
 *                      (rediss://, a second, TLS-only server with certificates made by the
 *                      `openssl` command, verification on) vs the same raw hiredis rows over
 *                      plain TCP: what encryption costs against the plain ceiling.
 * The raw side is the ceiling: text forms prepared once, no copies, no parsing. Each pair runs
 * in alternation for five rounds and the fastest round of each counts (the machine is shared).
 * Output: a fixed-column table, then `ratio <name> <value>` lines (edxbus / raw; 1.0 = as fast
 * as the ceiling). `bench_redis --rss` instead reports the resident set size of a consume loop
 * after 100k and 1M events (produced alongside, the stream capped). Nothing asserts on time.
 */
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../tests/integration/redis/redis_server.h"
#include "backends/redis/redis_int.h"
#include "edxbus/backend.h"

#define ENROLLMENT_TYPE "org.openedx.learning.course.enrollment.created.v1"
#define N_SYNC 20000
#define N_PIPE 100000
#define N_CONSUME 100000
#define ROUNDS 5
#define CHUNK 1000

static struct test_redis server;
static struct test_redis tls_server; /* TLS only; tls_url empty when it could not start */
static char tls_url[600];
static const char *bench_url;        /* the server the next bench_conf() points at */
static const struct edxbus_backend_ops *ops = &edxbus_backend_redis;
static unsigned char *value;
static size_t value_len;
static struct edxbus_metadata md;
static struct redis_wire_cmd raw_cmd; /* the same argv the backend builds, prepared once */

static void die(const char *what, const char *detail)
{
    fprintf(stderr, "bench_redis: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    test_redis_stop(&server);
    test_redis_stop(&tls_server);
    exit(1);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void load_enrollment(void)
{
    FILE *f = fopen(EDXBUS_TEST_DATA_DIR "/avro.jsonl", "r");
    if (f == NULL)
        die("cannot open", EDXBUS_TEST_DATA_DIR "/avro.jsonl");
    char *line = NULL;
    size_t cap = 0;
    while (value == NULL && getline(&line, &cap, f) > 0) {
        json_t *row = json_loads(line, JSON_ALLOW_NUL, NULL);
        const char *type = json_string_value(json_object_get(row, "event_type"));
        const char *kase = json_string_value(json_object_get(row, "case"));
        if (type && kase && !strcmp(type, ENROLLMENT_TYPE) && !strcmp(kase, "realistic"))
            value = test_unhex(json_string_value(json_object_get(row, "avro_hex")), &value_len);
        json_decref(row);
    }
    free(line);
    fclose(f);
    if (value == NULL)
        die("no realistic enrollment row in avro.jsonl", NULL);
    char errstr[EDXBUS_ERRSTR_SIZE];
    if (edxbus_metadata_generate(&md, ENROLLMENT_TYPE, 0, "lms", errstr, sizeof errstr))
        die("metadata", errstr);
}

static struct edxbus_msg message(const char *topic)
{
    struct edxbus_msg msg = {
        .topic = topic, .value = value, .value_len = value_len, .metadata = &md};
    return msg;
}

/* The server's URL, a 2 s socket timeout; audit lines stay on (no log callback is set). */
static edxbus_conf_t *bench_conf(void)
{
    edxbus_conf_t *conf = test_redis_conf(bench_url);
    char errstr[EDXBUS_ERRSTR_SIZE];
    if (conf == NULL || edxbus_conf_set(conf, "EVENT_BUS_REDIS_AUDIT_LOGGING_ENABLED", "true",
                                        errstr, sizeof errstr) != EDXBUS_OK)
        die("conf", NULL);
    return conf;
}

static void *open_producer(void)
{
    char errstr[EDXBUS_ERRSTR_SIZE];
    edxbus_conf_t *conf = bench_conf();
    void *be = NULL;
    if (ops->producer_open(conf, &be, errstr, sizeof errstr) != EDXBUS_OK)
        die("producer_open", errstr);
    edxbus_conf_destroy(conf);
    return be;
}

static void prepare_raw(const char *topic)
{
    struct edxbus_msg msg = message(topic);
    char errstr[EDXBUS_ERRSTR_SIZE];
    edxbus__redis_wire_cmd_init(&raw_cmd);
    if (edxbus__redis_wire_xadd(&raw_cmd, &msg, REDIS_DEFAULT_MAX_LEN, errstr, sizeof errstr))
        die("xadd", errstr);
}

static void set_topic(const char *topic)
{
    raw_cmd.argv[1] = topic;
    raw_cmd.lens[1] = strlen(topic);
}

static void raw_reply_ok(redisReply *r, const char *what)
{
    if (r == NULL || r->type == REDIS_REPLY_ERROR)
        die(what, r ? r->str : "connection");
    freeReplyObject(r);
}

/* ------------------------------------------------------------------------------------------ */
/* The measured loops: each returns seconds for n events. */

static double raw_sync(redisContext *c, const char *topic, int n)
{
    set_topic(topic);
    double t0 = now_s();
    for (int i = 0; i < n; i++)
        raw_reply_ok(redisCommandArgv(c, raw_cmd.argc, raw_cmd.argv, raw_cmd.lens), "XADD");
    return now_s() - t0;
}

static double ours_sync(void *prod, const char *topic, int n)
{
    struct edxbus_msg msg = message(topic);
    char errstr[EDXBUS_ERRSTR_SIZE];
    double t0 = now_s();
    for (int i = 0; i < n; i++)
        if (ops->produce(prod, &msg, NULL, NULL, errstr, sizeof errstr) != EDXBUS_OK)
            die("produce", errstr);
    return now_s() - t0;
}

static double raw_pipelined(redisContext *c, const char *topic, int n)
{
    set_topic(topic);
    double t0 = now_s();
    for (int done = 0; done < n; done += CHUNK) {
        int k = n - done < CHUNK ? n - done : CHUNK;
        for (int i = 0; i < k; i++)
            redisAppendCommandArgv(c, raw_cmd.argc, raw_cmd.argv, raw_cmd.lens);
        for (int i = 0; i < k; i++) {
            void *r = NULL;
            if (redisGetReply(c, &r) != REDIS_OK)
                die("pipelined XADD", c->errstr);
            raw_reply_ok(r, "XADD");
        }
    }
    return now_s() - t0;
}

static long delivered;

static void on_delivery(void *opaque, const struct edxbus_msg *msg, edxbus_err_t err,
                        const char *errstr, const char *position)
{
    if (err != EDXBUS_OK)
        die("delivery", errstr);
    delivered++;
}

static double ours_pipelined(void *prod, const char *topic, int n)
{
    struct edxbus_msg msg = message(topic);
    char errstr[EDXBUS_ERRSTR_SIZE];
    delivered = 0;
    double t0 = now_s();
    for (int i = 0; i < n; i++)
        if (ops->produce(prod, &msg, on_delivery, NULL, errstr, sizeof errstr) != EDXBUS_OK)
            die("produce", errstr);
    if (ops->flush(prod, 60000, errstr, sizeof errstr) != EDXBUS_OK)
        die("flush", errstr);
    double t = now_s() - t0;
    if (delivered != n)
        die("not every message was reported", NULL);
    return t;
}

static double raw_consume(redisContext *c, const char *stream, const char *group, int n)
{
    raw_reply_ok(redisCommand(c, "XGROUP CREATE %s %s 0", stream, group), "XGROUP");
    const char *ack_argv[3 + 100];
    size_t ack_lens[3 + 100];
    ack_argv[0] = "XACK", ack_argv[1] = stream, ack_argv[2] = group;
    for (int i = 0; i < 3; i++)
        ack_lens[i] = strlen(ack_argv[i]);
    int got = 0;
    double t0 = now_s();
    while (got < n) {
        redisReply *r =
            redisCommand(c, "XREADGROUP GROUP %s c COUNT 100 STREAMS %s >", group, stream);
        if (r == NULL || r->type != REDIS_REPLY_ARRAY)
            die("XREADGROUP", c->errstr);
        const redisReply *entries = r->element[0]->element[1];
        for (size_t i = 0; i < entries->elements; i++) {
            ack_argv[3 + i] = entries->element[i]->element[0]->str;
            ack_lens[3 + i] = entries->element[i]->element[0]->len;
        }
        raw_reply_ok(redisCommandArgv(c, 3 + (int)entries->elements, ack_argv, ack_lens), "XACK");
        got += (int)entries->elements;
        freeReplyObject(r);
    }
    return now_s() - t0;
}

static double ours_consume(const char *stream, const char *group, int n)
{
    char errstr[EDXBUS_ERRSTR_SIZE];
    edxbus_conf_t *conf = bench_conf();
    struct edxbus_consumer_opts opts = {.topic = stream,
                                        .group = group,
                                        .consumer_name = "c",
                                        .start = "earliest",
                                        .start_time_ms = -1};
    void *cons = NULL;
    if (ops->consumer_open(conf, &opts, &cons, errstr, sizeof errstr) != EDXBUS_OK)
        die("consumer_open", errstr);
    edxbus_conf_destroy(conf);
    int got = 0;
    double t0 = now_s();
    while (got < n) {
        struct edxbus_batch b;
        if (ops->poll(cons, &b, 100, 1000, errstr, sizeof errstr) != EDXBUS_OK)
            die("poll", errstr);
        if (b.n == 0)
            die("poll came back empty", NULL);
        for (size_t i = 0; i < b.n; i++) {
            if (b.msgs[i].unusable || b.msgs[i].value_len != value_len)
                die("consumed a different message", b.msgs[i].unusable);
            if (ops->ack(cons, &b.msgs[i], errstr, sizeof errstr) != EDXBUS_OK)
                die("ack", errstr);
        }
        got += (int)b.n;
    }
    double t = now_s() - t0;
    ops->consumer_close(cons);
    return t;
}

/* ------------------------------------------------------------------------------------------ */

static void fill(redisContext *c, const char *stream, int n)
{
    set_topic(stream);
    raw_cmd.argv[4] = "100000000"; /* MAXLEN: keep every entry for the consume runs */
    raw_cmd.lens[4] = 9;
    raw_pipelined(c, stream, n);
    raw_cmd.argv[4] = (const char *)raw_cmd.text.data;
    raw_cmd.lens[4] = 5; /* "10000" */
}

static void row(const char *name, int n, double secs)
{
    printf("%-28s %9d %10.3f %12.0f\n", name, n, secs, n / secs);
}

static double min2(double a, double b)
{
    return a < b ? a : b;
}

/* Fill @p stream of the TLS server with n entries (through the backend: no plain port). */
static void fill_tls(const char *stream, int n)
{
    char errstr[EDXBUS_ERRSTR_SIZE];
    bench_url = tls_url;
    edxbus_conf_t *conf = bench_conf();
    edxbus_conf_set(conf, "EVENT_BUS_REDIS_AUDIT_LOGGING_ENABLED", "false", errstr, sizeof errstr);
    edxbus_conf_set(conf, "EVENT_BUS_REDIS_STREAM_MAX_LEN", "100000000", errstr, sizeof errstr);
    void *prod = NULL;
    if (ops->producer_open(conf, &prod, errstr, sizeof errstr) != EDXBUS_OK)
        die("producer_open (TLS)", errstr);
    edxbus_conf_destroy(conf);
    ours_pipelined(prod, stream, n);
    ops->producer_close(prod);
}

/* DEL @p stream on the TLS server (the raw connection speaks plain TCP only). */
static void drop_tls(const char *stream)
{
    char errstr[EDXBUS_ERRSTR_SIZE];
    bench_url = tls_url;
    edxbus_conf_t *conf = bench_conf();
    struct redis_conn conn;
    if (edxbus__redis_conn_open(&conn, conf, errstr, sizeof errstr) != EDXBUS_OK)
        die("connect (TLS)", errstr);
    edxbus_conf_destroy(conf);
    const char *argv[] = {"DEL", stream};
    redisReply *reply = NULL;
    if (edxbus__redis_conn_command(&conn, 2, argv, NULL, &reply, "DEL", errstr, sizeof errstr))
        die("DEL (TLS)", errstr);
    freeReplyObject(reply);
    edxbus__redis_conn_close(&conn);
}

static void bench(void)
{
    redisContext *c = test_redis_connect(&server);
    if (c == NULL)
        die("raw connection", NULL);
    prepare_raw("bench-sync");
    bench_url = server.url;
    void *prod = open_producer();
    void *tls_prod = NULL;
    if (tls_url[0] != '\0') {
        bench_url = tls_url;
        tls_prod = open_producer();
    }
    double best[10] = {1e9, 1e9, 1e9, 1e9, 1e9, 1e9, 1e9, 1e9, 1e9, 1e9};
    char stream[64], group[64];
    for (int round = 0; round < ROUNDS; round++) {
        best[0] = min2(best[0], raw_sync(c, "bench-raw-sync", N_SYNC));
        best[1] = min2(best[1], ours_sync(prod, "bench-sync", N_SYNC));
        best[2] = min2(best[2], raw_pipelined(c, "bench-raw-pipe", N_PIPE));
        best[3] = min2(best[3], ours_pipelined(prod, "bench-pipe", N_PIPE));
        /* A group that reads nothing: the reference's MAXLEN ~ drops its entries, the safe
         * trim keeps them all (and checks the groups every 1000 entries). */
        raw_reply_ok(redisCommand(c, "DEL bench-raw-behind bench-behind"), "DEL");
        raw_reply_ok(redisCommand(c, "XGROUP CREATE bench-raw-behind g $ MKSTREAM"), "XGROUP");
        raw_reply_ok(redisCommand(c, "XGROUP CREATE bench-behind g $ MKSTREAM"), "XGROUP");
        best[6] = min2(best[6], raw_pipelined(c, "bench-raw-behind", N_PIPE));
        best[7] = min2(best[7], ours_pipelined(prod, "bench-behind", N_PIPE));
        snprintf(stream, sizeof stream, "bench-consume-%d", round);
        fill(c, stream, N_CONSUME);
        snprintf(group, sizeof group, "raw-%d", round);
        best[4] = min2(best[4], raw_consume(c, stream, group, N_CONSUME));
        snprintf(group, sizeof group, "ours-%d", round);
        bench_url = server.url;
        best[5] = min2(best[5], ours_consume(stream, group, N_CONSUME));
        raw_reply_ok(redisCommand(c, "DEL %s", stream), "DEL");
        if (tls_prod != NULL) {
            best[8] = min2(best[8], ours_pipelined(tls_prod, "bench-tls-pipe", N_PIPE));
            fill_tls(stream, N_CONSUME);
            bench_url = tls_url;
            best[9] = min2(best[9], ours_consume(stream, group, N_CONSUME));
            drop_tls(stream);
        }
    }
    ops->producer_close(prod);
    if (tls_prod != NULL)
        ops->producer_close(tls_prod);
    redisFree(c);
    printf("event: %s, Avro body %zu bytes, 8 fields; best of %d rounds\n", ENROLLMENT_TYPE,
           value_len, ROUNDS);
    printf("%-28s %9s %10s %12s\n", "name", "events", "seconds", "events/s");
    row("produce_sync raw hiredis", N_SYNC, best[0]);
    row("produce_sync edxbus", N_SYNC, best[1]);
    row("produce_pipelined raw", N_PIPE, best[2]);
    row("produce_pipelined edxbus", N_PIPE, best[3]);
    row("group_behind raw MAXLEN ~", N_PIPE, best[6]);
    row("group_behind edxbus safe", N_PIPE, best[7]);
    row("consume raw", N_CONSUME, best[4]);
    row("consume edxbus", N_CONSUME, best[5]);
    if (tls_prod != NULL) {
        row("produce_pipelined edxbus TLS", N_PIPE, best[8]);
        row("consume edxbus TLS", N_CONSUME, best[9]);
    }
    printf("ratio produce_sync %.3f\n", best[0] / best[1]);
    printf("ratio produce_pipelined %.3f\n", best[2] / best[3]);
    printf("ratio consume %.3f\n", best[4] / best[5]);
    printf("ratio produce_safe_trim_group_behind %.3f\n", best[6] / best[7]);
    /* edxbus over TLS / raw hiredis over plain TCP (reported; no target). */
    if (tls_prod != NULL) {
        printf("ratio redis_tls_produce %.3f\n", best[2] / best[8]);
        printf("ratio redis_tls_consume %.3f\n", best[4] / best[9]);
    }
}

static long rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0)
            kb = strtol(line + 6, NULL, 10);
    if (f)
        fclose(f);
    return kb;
}

/* Produce in chunks alongside, so the stream (capped at 10000 ~) never holds a million. */
static void bench_rss(void)
{
    redisContext *c = test_redis_connect(&server);
    bench_url = server.url;
    prepare_raw("bench-rss");
    raw_reply_ok(redisCommand(c, "XGROUP CREATE bench-rss g $ MKSTREAM"), "XGROUP");
    char errstr[EDXBUS_ERRSTR_SIZE];
    edxbus_conf_t *conf = bench_conf();
    struct edxbus_consumer_opts opts = {
        .topic = "bench-rss", .group = "g", .consumer_name = "c", .start_time_ms = -1};
    void *cons = NULL;
    if (ops->consumer_open(conf, &opts, &cons, errstr, sizeof errstr) != EDXBUS_OK)
        die("consumer_open", errstr);
    edxbus_conf_destroy(conf);
    long got = 0, next_report = 100000;
    printf("%-28s %9s %10s\n", "consume loop", "events", "rss_kb");
    printf("%-28s %9d %10ld\n", "rss before", 0, rss_kb());
    while (got < 1000000) {
        raw_pipelined(c, "bench-rss", 5000);
        long chunk = 0;
        while (chunk < 5000) {
            struct edxbus_batch b;
            if (ops->poll(cons, &b, 100, 1000, errstr, sizeof errstr) != EDXBUS_OK)
                die("poll", errstr);
            for (size_t i = 0; i < b.n; i++)
                ops->ack(cons, &b.msgs[i], errstr, sizeof errstr);
            chunk += (long)b.n;
        }
        got += chunk;
        if (got >= next_report) {
            printf("%-28s %9ld %10ld\n", "rss", got, rss_kb());
            next_report *= 10;
        }
    }
    ops->consumer_close(cons);
    redisFree(c);
}

int main(int argc, char **argv)
{
    if (test_redis_binary() == NULL) {
        printf("SKIP bench_redis: redis-server is not installed (make deps installs it)\n");
        return 0;
    }
    load_enrollment();
    if (!test_redis_start(&server, NULL))
        die("cannot start redis-server", NULL);
    if (argc > 1 && strcmp(argv[1], "--rss") == 0) {
        bench_rss();
    } else {
        if (test_redis_start_tls(&tls_server, false))
            snprintf(tls_url, sizeof tls_url, "%s?ssl_ca_certs=%s/ca.pem", tls_server.url,
                     tls_server.dir);
        else
            printf("no TLS rows: a TLS redis-server could not start (see %s)\n", tls_server.dir);
        bench();
        test_redis_stop(&tls_server);
    }
    edxbus__redis_wire_cmd_fini(&raw_cmd);
    free(value);
    test_redis_stop(&server);
    return 0;
}
