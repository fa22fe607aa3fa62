/* bench/bench_e2e_kafka.c — the whole produce and consume paths on Kafka against raw librdkafka,
 * side by side in one run, on librdkafka's mock cluster with a 100-partition topic (on one
 * partition the mock's fetch rate caps both sides near 7,000 events/s and says nothing about
 * edxbus; with 100 the raw consumer reaches hundreds of thousands per second).
 *
 * The mock cluster and the in-memory Schema Registry run in this process; the `edxbus` command
 * reaches both over loopback like any other client. N events (BENCH_N, 100,000):
 *   produce_cli     `edxbus produce --count N`, routed with the enrollment's key field;
 *   produce_capi    edxbus_send_event() through the asynchronous producer, then flush;
 *     raw: rd_kafka_producev() of the same framed key and value and the same ten headers
 *     (acks=all and idempotence, as the backend sets them), then flush;
 *   consume_worker  edxbus_consumer_run() with a no-op receiver, from the first event;
 *   consume_print   `edxbus consume --print -n N` into a pipe, from the first line;
 *   audit_cost      the worker with its audit lines written / with audit logging off;
 *     raw: rd_kafka_consumer_poll() in a group, reading the ce_type header, from the first
 *     record. The consumed topic holds N events with keys spread over the partitions
 *     (produced by the backend, so that edxbus can read them: registry framing, headers).
 * Each pair runs BENCH_ROUNDS times (2) and each side keeps its best round.
 * Output: a fixed-column table, then `ratio kafka_<case> <edxbus / raw>` lines.
 * `bench_e2e_kafka cg-worker` (for bench/callgrind.sh): only the worker (audit lines as by
 * default) over BENCH_N events of a 100-partition topic filled first; run under callgrind with
 * --toggle-collect=edxbus_consumer_run, so that only the worker's thread inside the run is
 * counted (librdkafka's own threads and the mock cluster are not).
 */
#include "backends/kafka/kafka_int.h"
#include "bench_kafka_raw.h"

#define PARTITIONS 100

static struct bench_event ev;
static struct test_kafka k;
static char dir[256];
static long n_events = 100000;
static int rounds = 2;
static int seq;

/* One line on stderr per step: a slow mock (a loaded machine) shows where it is. */
static void stage(const char *what)
{
    fprintf(stderr, "bench_e2e_kafka: %s\n", what);
}

static void cleanup(void)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (dir[0] != '\0' && system(cmd) != 0)
        fprintf(stderr, "bench_e2e_kafka: could not remove %s\n", dir);
}

/* Settings for the command and this program: the cluster, the registry, one route. */
static void write_config(const char *path, const char *topic)
{
    char lines[512];
    snprintf(lines, sizeof lines,
             "EVENT_BUS_PRODUCER: kafka\nEVENT_BUS_CONSUMER: kafka\n"
             "EVENT_BUS_KAFKA_BOOTSTRAP_SERVERS: \"%s\"\n"
             "EVENT_BUS_KAFKA_SCHEMA_REGISTRY_URL: \"%s\"\n"
             "EVENT_BUS_KAFKA_CONSUMER_POLL_TIMEOUT: 0.2\n",
             k.bootstraps, k.registry.url);
    bench_write_config(path, lines, topic);
}

static void fill_report(void *opaque, const struct edxbus_msg *msg, edxbus_err_t err,
                        const char *errstr, const char *position)
{
    (void)msg, (void)errstr, (void)position;
    if (err != EDXBUS_OK)
        ++*(long *)opaque;
}

/* Fill @p topic with n events whose keys spread over the partitions, through the backend. */
static void fill(const char *topic, long n)
{
    char err[EDXBUS_ERRSTR_SIZE];
    edxbus_conf_t *conf = test_kafka_conf(&k);
    void *be = NULL;
    if (edxbus_backend_kafka.producer_open(conf, &be, err, sizeof err) != EDXBUS_OK)
        die("producer_open: %s", err);
    struct edxbus_metadata md;
    edxbus_metadata_generate(&md, BENCH_ENROLLMENT_TYPE, 0, "lms", err, sizeof err);
    uint8_t key[64];
    struct edxbus_msg msg = {.topic = topic,
                             .metadata = &md,
                             .key = key,
                             .value = ev.value,
                             .value_len = ev.value_len,
                             .key_schema = "{\"name\": \"course_key\", \"type\": \"string\"}",
                             .value_schema = NULL};
    edxbus_bus_t *bus = edxbus_bus_new(test_kafka_conf(&k), err, sizeof err);
    if (bus == NULL)
        die("bus: %s", err);
    msg.value_schema = edxbus_event_type_schema_text(
        edxbus_catalog_find(edxbus_bus_catalog(bus), BENCH_ENROLLMENT_TYPE));
    long failed = 0;
    for (long i = 0; i < n; i++) {
        int len = snprintf((char *)key + 1, sizeof key - 1, "course-v1:edX+B+%ld", i % 1000);
        key[0] = (uint8_t)(len * 2);
        msg.key_len = (size_t)len + 1;
        edxbus_err_t e;
        while ((e = edxbus_backend_kafka.produce(be, &msg, fill_report, &failed, err,
                                                 sizeof err)) == EDXBUS_ERR_QUEUE_FULL)
            edxbus_backend_kafka.flush(be, 10, err, sizeof err);
        failed += e != EDXBUS_OK;
        if (i == 0) /* the schema registered before the rest */
            edxbus_backend_kafka.flush(be, 60000, err, sizeof err);
    }
    if (edxbus_backend_kafka.flush(be, 120000, err, sizeof err) != EDXBUS_OK || failed)
        die("filling %s: %s", topic, err);
    edxbus_backend_kafka.producer_close(be);
    edxbus_bus_destroy(bus);
    edxbus_conf_destroy(conf);
}

/* For bench/callgrind.sh: see the top of the file. */
static void bench_cg_worker(void)
{
    char cfg[320];
    test_kafka_topic(&k, "cg", PARTITIONS);
    snprintf(cfg, sizeof cfg, "%s/cg.yaml", dir);
    write_config(cfg, "cg");
    fill("cg", n_events);
    bench_worker(cfg, "cg", BENCH_AUDIT_DEFAULT, n_events, NULL);
}

int main(int argc, char **argv)
{
    bench_set_name("bench_e2e_kafka");
    bench_on_die(cleanup);
    n_events = bench_env_long("BENCH_N", n_events);
    rounds = (int)bench_env_long("BENCH_ROUNDS", rounds);
    snprintf(dir, sizeof dir, "/tmp/edxbus-bench-e2e-kafka-XXXXXX");
    if (mkdtemp(dir) == NULL)
        die("mkdtemp: %s", strerror(errno));
    signal(SIGPIPE, SIG_IGN);
    bench_event_load(&ev);
    json_t *rows = test_kafka_rows();
    const json_t *row = NULL;
    for (size_t i = 0; rows != NULL && i < json_array_size(rows) && row == NULL; i++) {
        const json_t *r = json_array_get(rows, i);
        if (strcmp(test_row_str(r, "event_type"), BENCH_ENROLLMENT_TYPE) == 0 &&
            strcmp(test_row_str(r, "case"), "realistic") == 0)
            row = r;
    }
    if (row == NULL)
        die("no realistic enrollment row in kafka.jsonl");
    test_kafka_start(&k, 1);
    if (argc > 1 && strcmp(argv[1], "cg-worker") == 0) {
        bench_cg_worker();
        test_kafka_stop(&k);
        json_decref(rows);
        bench_event_fini(&ev);
        cleanup();
        return 0;
    }
    printf("# %ld events per case, best of %d rounds, %d partitions, load average %.2f\n", n_events,
           rounds, PARTITIONS, bench_loadavg());
    printf("%-8s %-16s %14s %14s %7s\n", "broker", "case", "edxbus ev/s", "raw ev/s", "ratio");
    fflush(stdout);

    double best[6] = {0}, raw_p = 0, raw_c = 0;
    for (int r = 0; r < rounds; r++) {
        char t_cli[32], t_capi[32], t_raw[32], t_cons[32], cfg_cli[320], cfg_capi[320];
        snprintf(t_cli, sizeof t_cli, "cli%d", r);
        snprintf(t_capi, sizeof t_capi, "capi%d", r);
        snprintf(t_raw, sizeof t_raw, "raw%d", r);
        snprintf(t_cons, sizeof t_cons, "cons%d", r);
        test_kafka_topic(&k, t_cli, PARTITIONS);
        test_kafka_topic(&k, t_capi, PARTITIONS);
        test_kafka_topic(&k, t_raw, PARTITIONS);
        test_kafka_topic(&k, t_cons, PARTITIONS);
        snprintf(cfg_cli, sizeof cfg_cli, "%s/cli%d.yaml", dir, r);
        write_config(cfg_cli, t_cli);
        snprintf(cfg_capi, sizeof cfg_capi, "%s/capi%d.yaml", dir, r);
        write_config(cfg_capi, t_capi);

        stage("raw produce");
        bench_keep_best(&raw_p, bench_kafka_raw_produce(k.bootstraps, t_raw, row, n_events));
        stage("edxbus_send_event");
        bench_keep_best(&best[1], bench_capi_produce(cfg_capi, ev.data, n_events, true));
        stage("edxbus produce");
        bench_keep_best(&best[0], bench_cli_produce(EDXBUS_CLI, cfg_cli, &ev, n_events));
        stage("filling the consumed topic");
        fill(t_cons, n_events);
        stage("raw consume");
        char group[32];
        snprintf(group, sizeof group, "raw%d", ++seq);
        bench_keep_best(&raw_c, bench_kafka_raw_consume(k.bootstraps, t_cons, group, n_events));
        stage("worker");
        bench_keep_best(&best[2],
                        bench_worker(cfg_capi, t_cons, BENCH_AUDIT_DEFAULT, n_events, NULL));
        snprintf(group, sizeof group, "print%d", ++seq);
        stage("edxbus consume --print");
        bench_keep_best(&best[3], bench_cli_consume(EDXBUS_CLI, cfg_capi, t_cons, group, n_events));
        stage("worker, audit lines written");
        bench_keep_best(&best[4],
                        bench_worker(cfg_capi, t_cons, BENCH_AUDIT_WRITTEN, n_events, NULL));
        stage("worker, audit off");
        bench_keep_best(&best[5], bench_worker(cfg_capi, t_cons, BENCH_AUDIT_OFF, n_events, NULL));
    }
    const char *names[] = {"produce_cli", "produce_capi", "consume_worker", "consume_print",
                           "audit_cost"};
    double edx[] = {best[0], best[1], best[2], best[3], best[4]};
    double raw[] = {raw_p, raw_p, raw_c, raw_c, best[5]};
    for (int i = 0; i < 5; i++)
        printf("%-8s %-16s %14.0f %14.0f %7.2f\n", "kafka", names[i], edx[i], raw[i],
               edx[i] / raw[i]);
    for (int i = 0; i < 5; i++)
        printf("ratio kafka_%s %.2f\n", names[i], edx[i] / raw[i]);
    printf("# load average at the end %.2f\n", bench_loadavg());
    test_kafka_stop(&k);
    json_decref(rows);
    bench_event_fini(&ev);
    cleanup();
    return 0;
}
