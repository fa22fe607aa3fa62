/* bench/bench_e2e.c — the whole produce and consume paths, as users run them, against the raw
 * broker on the same bytes, side by side in one run: the embedded broker (SQLite) and Redis.
 *
 * The event is the enrollment-created row "realistic" of tests/vectors/avro.jsonl, routed by
 * EVENT_BUS_PRODUCER_CONFIG with its key field. For each broker, N events (BENCH_N, 100,000):
 *   produce_cli     `edxbus produce --count N` (the whole process);
 *   produce_capi    edxbus_send_event() on a bus whose producer is asynchronous (a delivery
 *                   callback), then flush: validate, metadata, route, key, broker;
 *   consume_worker  edxbus_consumer_run() with a no-op receiver on every signal (audit lines
 *                   on, as by default, with the default log sink, which drops info lines);
 *   consume_print   `edxbus consume --print -n N` into a pipe this program reads;
 *   audit_cost      the worker with its audit lines written (a sink that takes info lines and
 *                   writes them to /dev/null through stdio) against the worker with audit
 *                   logging off: the ratio is on / off (the target is >= 0.8).
 * against the ceilings:
 *   SQLite  plain INSERTs of the same columns and bytes, 1000 per transaction; consuming:
 *           SELECT 100 rows + UPDATE of a cursor row per transaction (bench_util.h, as
 *           bench_sqlite). WAL and synchronous=NORMAL on both sides.
 *   Redis   hiredis XADD of the same fields pipelined x1000; consuming: XREADGROUP COUNT 100 +
 *           one XACK of the ids; a redis-server of its own on a free loopback port.
 * The edxbus consumers read 100 at a time as well (EVENT_BUS_CONSUMER_BATCH_SIZE=100).
 * Also: metadata generation ns/event (target < 150) and, with `rss`, the RSS of one worker over
 * 1,000,000 events on the embedded broker, every 100,000 events (memory must stay flat).
 * Each pair runs alternately BENCH_ROUNDS times (3) and each side keeps its best round.
 * Usage: bench_e2e [meta] [sqlite] [redis] [rss]   (default: meta sqlite redis)
 *        bench_e2e cg-worker   (BENCH_N events through the worker on SQLite, for callgrind.sh)
 *        bench_e2e cg-capi-sqlite | cg-capi-redis   (BENCH_N events sent by the C API and
 *                              flushed, for callgrind.sh; Redis: a server of its own)
 * Output: a fixed-column table, then `ratio <name> <edxbus / raw>` lines.
 */
#include "../tests/integration/redis/redis_server.h"
#include "backends/redis/redis_int.h"
#include "bench_util.h"

#define GROUP_RAW "raw"

static struct bench_event ev;
static struct edxbus_metadata md;
static char dir[256];
static long n_events = 100000;
static int rounds = 3;
static struct test_redis server;
static int seq; /* makes every topic, group and file name unique */

static void cleanup(void)
{
    test_redis_stop(&server);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (dir[0] != '\0' && system(cmd) != 0)
        fprintf(stderr, "bench_e2e: could not remove %s\n", dir);
}

struct row {
    const char *name;
    double edx, raw; /* events/s, best round */
};

static void print_rows(const char *broker, const struct row *rows, size_t n)
{
    for (size_t i = 0; i < n; i++)
        printf("%-8s %-16s %14.0f %14.0f %7.2f\n", broker, rows[i].name, rows[i].edx, rows[i].raw,
               rows[i].edx / rows[i].raw);
}

static double cli_consume(const char *cli, const char *config, const char *topic, long n)
{
    char group[64];
    snprintf(group, sizeof group, "print%d", ++seq);
    return bench_cli_consume(cli, config, topic, group, n);
}

/* The four edxbus paths of one broker, one round: produce fills the topics the consumers read.
 * rows: produce_cli, produce_capi, consume_worker, consume_print, audit on, audit off. */
static void edxbus_round(const char *cli, const char *cfg_cli, const char *cfg_capi,
                         const char *topic_capi, double best[6])
{
    bench_keep_best(&best[0], bench_cli_produce(cli, cfg_cli, &ev, n_events));
    bench_keep_best(&best[1], bench_capi_produce(cfg_capi, ev.data, n_events, false));
    bench_keep_best(&best[2],
                    bench_worker(cfg_capi, topic_capi, BENCH_AUDIT_DEFAULT, n_events, NULL));
    bench_keep_best(&best[3], cli_consume(cli, cfg_capi, topic_capi, n_events));
    bench_keep_best(&best[4],
                    bench_worker(cfg_capi, topic_capi, BENCH_AUDIT_WRITTEN, n_events, NULL));
    bench_keep_best(&best[5], bench_worker(cfg_capi, topic_capi, BENCH_AUDIT_OFF, n_events, NULL));
}

static void report(const char *broker, double best[6], double raw_produce, double raw_consume)
{
    struct row rows[] = {
        {"produce_cli", best[0], raw_produce},    {"produce_capi", best[1], raw_produce},
        {"consume_worker", best[2], raw_consume}, {"consume_print", best[3], raw_consume},
        {"audit_cost", best[4], best[5]},
    };
    print_rows(broker, rows, sizeof rows / sizeof *rows);
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++)
        printf("ratio %s_%s %.2f\n", broker, rows[i].name, rows[i].edx / rows[i].raw);
    fflush(stdout);
}

/* ------------------------------------------------------------------------------------------ */
/* SQLite */

/* The enrollment's key, as the producer encodes it: the course key as an Avro string. */
static const uint8_t sq_key[] = "\x3e"
                                "course-v1:edX+DemoX+Demo_Course";

static void bench_sqlite(const char *cli)
{
    double best[6] = {0}, raw_p = 0, raw_c = 0;
    for (int r = 0; r < rounds; r++) {
        char db[320], raw[320], cfg_cli[320], cfg_capi[320], lines[512], topic[32];
        snprintf(db, sizeof db, "%s/sq%d.db", dir, r);
        snprintf(raw, sizeof raw, "%s/raw%d.db", dir, r);
        snprintf(lines, sizeof lines,
                 "EVENT_BUS_PRODUCER: sqlite\nEVENT_BUS_CONSUMER: sqlite\n"
                 "EVENT_BUS_SQLITE_PATH: %s\nEVENT_BUS_SQLITE_SYNCHRONOUS: NORMAL\n",
                 db);
        snprintf(cfg_cli, sizeof cfg_cli, "%s/sq-cli%d.yaml", dir, r);
        bench_write_config(cfg_cli, lines, "cli");
        snprintf(topic, sizeof topic, "capi%d", r);
        snprintf(cfg_capi, sizeof cfg_capi, "%s/sq-capi%d.yaml", dir, r);
        bench_write_config(cfg_capi, lines, topic);

        bench_keep_best(&raw_p, bench_sq_raw_produce(raw, "NORMAL", &md, sq_key, sizeof sq_key - 1,
                                                     ev.value, ev.value_len, n_events, 1000));
        edxbus_round(cli, cfg_cli, cfg_capi, topic, best);
        bench_keep_best(&raw_c, bench_sq_raw_consume(raw, "NORMAL", GROUP_RAW, n_events));
    }
    report("sqlite", best, raw_p, raw_c);
}

/* The worker's memory over 1,000,000 events on the embedded broker: one worker, its RSS taken
 * every 100,000 events while it runs (the events produced by the C API first). */
static void bench_rss(void)
{
    char db[320], cfg[320], lines[512];
    snprintf(db, sizeof db, "%s/rss.db", dir);
    snprintf(lines, sizeof lines,
             "EVENT_BUS_PRODUCER: sqlite\nEVENT_BUS_CONSUMER: sqlite\n"
             "EVENT_BUS_SQLITE_PATH: %s\nEVENT_BUS_SQLITE_SYNCHRONOUS: NORMAL\n",
             db);
    snprintf(cfg, sizeof cfg, "%s/rss.yaml", dir);
    bench_write_config(cfg, lines, "rss");
    enum { TOTAL = 1000000, POINTS = TOTAL / BENCH_RSS_EVERY };
    double t0 = now_s();
    bench_capi_produce(cfg, ev.data, TOTAL, false);
    fprintf(stderr, "bench_e2e: rss: %d events produced in %.1f s\n", TOTAL, now_s() - t0);
    long rss[POINTS] = {0};
    bench_worker(cfg, "rss", BENCH_AUDIT_DEFAULT, TOTAL, rss);
    long lo = rss[0], hi = rss[0];
    for (int k = 0; k < POINTS; k++) {
        printf("rss worker_after_%dk_kb %ld\n", (k + 1) * BENCH_RSS_EVERY / 1000, rss[k]);
        lo = rss[k] < lo ? rss[k] : lo;
        hi = rss[k] > hi ? rss[k] : hi;
    }
    printf("rss worker_growth_100k_to_1M_kb %ld\n", rss[POINTS - 1] - rss[0]);
    printf("ratio worker_rss_100k_vs_1M %.2f\n", (double)rss[0] / (double)rss[POINTS - 1]);
    printf("ratio worker_rss_min_vs_max %.2f\n", (double)lo / (double)hi);
}

/* The settings of the callgrind.sh modes, written to DIR/NAME.yaml (path into @p cfg): the
 * embedded broker (producer and consumer) or the redis-server this bench starts. */
static void cg_config(char *cfg, size_t size, const char *name, bool redis)
{
    char db[320], lines[512];
    snprintf(db, sizeof db, "%s/%s.db", dir, name);
    if (redis) {
        test_redis_require("bench_e2e");
        if (!test_redis_start(&server, NULL))
            die("cannot start redis-server");
        snprintf(lines, sizeof lines,
                 "EVENT_BUS_PRODUCER: redis\nEVENT_BUS_REDIS_CONNECTION_URL: %s\n"
                 "EVENT_BUS_REDIS_STREAM_MAX_LEN: 10000000\n",
                 server.url);
    } else {
        snprintf(lines, sizeof lines,
                 "EVENT_BUS_PRODUCER: sqlite\nEVENT_BUS_CONSUMER: sqlite\n"
                 "EVENT_BUS_SQLITE_PATH: %s\nEVENT_BUS_SQLITE_SYNCHRONOUS: NORMAL\n",
                 db);
    }
    snprintf(cfg, size, "%s/%s.yaml", dir, name);
    bench_write_config(cfg, lines, name);
}

/* For bench/callgrind.sh: BENCH_N events through edxbus_send_event() and a flush, on the
 * embedded broker or on a redis-server of its own. Run under callgrind with
 * --toggle-collect=edxbus_send_event --toggle-collect=edxbus_bus_flush. */
static void bench_cg_capi(bool redis)
{
    char cfg[320];
    cg_config(cfg, sizeof cfg, "cgp", redis);
    bench_capi_produce(cfg, ev.data, n_events, false);
}

/* For bench/callgrind.sh: the worker (no-op receiver, audit lines as by default) over BENCH_N
 * events on the embedded broker, produced first by the C API. Run under callgrind with
 * --toggle-collect=edxbus_consumer_run, so that only the worker is counted. */
static void bench_cg_worker(void)
{
    char cfg[320];
    cg_config(cfg, sizeof cfg, "cg", false);
    bench_capi_produce(cfg, ev.data, n_events, false);
    /* BENCH_AUDIT: "written" (a sink writing every audit line to /dev/null) or "off"; unset:
     * as by default (on, the default sink, which drops info lines) */
    const char *a = getenv("BENCH_AUDIT");
    enum bench_audit audit = a == NULL                   ? BENCH_AUDIT_DEFAULT
                             : strcmp(a, "written") == 0 ? BENCH_AUDIT_WRITTEN
                             : strcmp(a, "off") == 0     ? BENCH_AUDIT_OFF
                                                         : BENCH_AUDIT_DEFAULT;
    bench_worker(cfg, "cg", audit, n_events, NULL);
}

/* ------------------------------------------------------------------------------------------ */
/* Redis: the raw ceiling */

static double redis_raw_produce(redisContext *c, struct redis_wire_cmd *cmd, long n)
{
    double t0 = now_s();
    for (long done = 0; done < n;) {
        long chunk = n - done < 1000 ? n - done : 1000;
        for (long i = 0; i < chunk; i++)
            redisAppendCommandArgv(c, cmd->argc, cmd->argv, cmd->lens);
        for (long i = 0; i < chunk; i++) {
            redisReply *r = NULL;
            if (redisGetReply(c, (void **)&r) != REDIS_OK || r == NULL ||
                r->type == REDIS_REPLY_ERROR)
                die("raw XADD: %s", r != NULL ? r->str : c->errstr);
            freeReplyObject(r);
        }
        done += chunk;
    }
    return (double)n / (now_s() - t0);
}

static double redis_raw_consume(redisContext *c, const char *stream, const char *group, long n)
{
    redisReply *r = redisCommand(c, "XGROUP CREATE %s %s 0", stream, group);
    freeReplyObject(r);
    const char *ids[103];
    size_t lens[103];
    long got = 0;
    double t0 = now_s();
    while (got < n) {
        r = redisCommand(c, "XREADGROUP GROUP %s c COUNT 100 STREAMS %s >", group, stream);
        if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements == 0)
            die("raw XREADGROUP: %s", r != NULL && r->str ? r->str : "no entries");
        redisReply *entries = r->element[0]->element[1];
        ids[0] = "XACK";
        ids[1] = stream;
        ids[2] = group;
        lens[0] = 4;
        lens[1] = strlen(stream);
        lens[2] = strlen(group);
        size_t k = entries->elements < 100 ? entries->elements : 100;
        for (size_t i = 0; i < k; i++) {
            ids[3 + i] = entries->element[i]->element[0]->str;
            lens[3 + i] = entries->element[i]->element[0]->len;
        }
        redisReply *a = redisCommandArgv(c, (int)k + 3, ids, lens);
        freeReplyObject(a);
        got += (long)entries->elements;
        freeReplyObject(r);
    }
    return (double)n / (now_s() - t0);
}

static void bench_redis(const char *cli)
{
    test_redis_require("bench_e2e");
    if (!test_redis_start(&server, NULL))
        die("cannot start redis-server");
    redisContext *c = redisConnect("127.0.0.1", server.port);
    if (c == NULL || c->err)
        die("cannot connect to redis-server");
    double best[6] = {0}, raw_p = 0, raw_c = 0;
    for (int r = 0; r < rounds; r++) {
        char cfg_cli[320], cfg_capi[320], lines[512], topic[32], raw[32], err[EDXBUS_ERRSTR_SIZE];
        /* No trimming on either side: every event stays for the consumers. */
        snprintf(lines, sizeof lines,
                 "EVENT_BUS_PRODUCER: redis\nEVENT_BUS_CONSUMER: redis\n"
                 "EVENT_BUS_REDIS_CONNECTION_URL: %s\nEVENT_BUS_REDIS_STREAM_MAX_LEN: 10000000\n",
                 server.url);
        snprintf(cfg_cli, sizeof cfg_cli, "%s/redis-cli%d.yaml", dir, r);
        bench_write_config(cfg_cli, lines, "cli");
        snprintf(topic, sizeof topic, "capi%d", r);
        snprintf(cfg_capi, sizeof cfg_capi, "%s/redis-capi%d.yaml", dir, r);
        bench_write_config(cfg_capi, lines, topic);

        snprintf(raw, sizeof raw, "raw%d", r);
        struct edxbus_msg msg = {
            .topic = raw, .value = ev.value, .value_len = ev.value_len, .metadata = &md};
        struct redis_wire_cmd cmd;
        edxbus__redis_wire_cmd_init(&cmd);
        if (edxbus__redis_wire_xadd(&cmd, &msg, 0, err, sizeof err) != EDXBUS_OK)
            die("xadd: %s", err);
        bench_keep_best(&raw_p, redis_raw_produce(c, &cmd, n_events));
        edxbus__redis_wire_cmd_fini(&cmd);
        edxbus_round(cli, cfg_cli, cfg_capi, topic, best);
        bench_keep_best(&raw_c, redis_raw_consume(c, raw, GROUP_RAW, n_events));
        freeReplyObject(redisCommand(c, "FLUSHALL"));
    }
    redisFree(c);
    report("redis", best, raw_p, raw_c);
    test_redis_stop(&server);
}

/* ------------------------------------------------------------------------------------------ */

static void bench_metadata(void)
{
    char err[EDXBUS_ERRSTR_SIZE];
    struct edxbus_metadata m;
    double best = 1e9;
    const long n = 1000000;
    for (int r = 0; r < 5; r++) {
        double t0 = now_s();
        for (long i = 0; i < n; i++)
            edxbus_metadata_generate(&m, BENCH_ENROLLMENT_TYPE, 0, "lms", err, sizeof err);
        double ns = (now_s() - t0) / (double)n * 1e9;
        best = ns < best ? ns : best;
    }
    printf("metadata_generate_ns %.1f\n", best);
    printf("ratio metadata_vs_150ns_budget %.2f\n", 150.0 / best);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    bench_set_name("bench_e2e");
    (void)test_redis_conf; /* the shared server header's helper; settings come from YAML here */
    bench_on_die(cleanup);
    n_events = bench_env_long("BENCH_N", n_events);
    rounds = (int)bench_env_long("BENCH_ROUNDS", rounds);
    bool want_meta = argc < 2, want_sqlite = argc < 2, want_redis = argc < 2, want_rss = false;
    bool want_cg = false, want_cg_sq = false, want_cg_redis = false;
    for (int i = 1; i < argc; i++) {
        want_meta |= strcmp(argv[i], "meta") == 0;
        want_sqlite |= strcmp(argv[i], "sqlite") == 0;
        want_redis |= strcmp(argv[i], "redis") == 0;
        want_rss |= strcmp(argv[i], "rss") == 0;
        want_cg |= strcmp(argv[i], "cg-worker") == 0;
        want_cg_sq |= strcmp(argv[i], "cg-capi-sqlite") == 0;
        want_cg_redis |= strcmp(argv[i], "cg-capi-redis") == 0;
    }
    snprintf(dir, sizeof dir, "/tmp/edxbus-bench-e2e-XXXXXX");
    if (mkdtemp(dir) == NULL)
        die("mkdtemp: %s", strerror(errno));
    signal(SIGPIPE, SIG_IGN);
    bench_event_load(&ev);
    char err[EDXBUS_ERRSTR_SIZE];
    if (edxbus_metadata_generate(&md, BENCH_ENROLLMENT_TYPE, 0, "lms", err, sizeof err))
        die("metadata: %s", err);
    printf("# %ld events per case, best of %d rounds, load average %.2f, %ld CPUs\n", n_events,
           rounds, bench_loadavg(), sysconf(_SC_NPROCESSORS_ONLN));
    if (want_meta)
        bench_metadata();
    printf("%-8s %-16s %14s %14s %7s\n", "broker", "case", "edxbus ev/s", "raw ev/s", "ratio");
    if (want_sqlite)
        bench_sqlite(EDXBUS_CLI);
    if (want_redis)
        bench_redis(EDXBUS_CLI);
    if (want_rss)
        bench_rss();
    if (want_cg)
        bench_cg_worker();
    if (want_cg_sq || want_cg_redis)
        bench_cg_capi(want_cg_redis);
    printf("# load average at the end %.2f\n", bench_loadavg());
    bench_event_fini(&ev);
    cleanup();
    return 0;
}
