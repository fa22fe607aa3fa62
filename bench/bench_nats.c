/* bench/bench_nats.c — the NATS JetStream backend against raw libnats carrying the same bytes.
 *
 * Starts its own nats-server (JetStream, file storage, a free loopback port) and measures, side
 * by side in one run, for the enrollment-created event of tests/vectors/avro.jsonl (case
 * "realistic": its Avro body, with generated metadata):
 *   produce  ops->produce with a delivery callback for every event, then flush
 *            vs raw js_PublishMsgAsync of a message with the same ten headers and payload and
 *            the same Nats-Msg-Id option, then js_PublishAsyncComplete (and the same with an
 *            ack handler that only frees the message: what reports cost libnats itself);
 *   consume  ops->poll (BATCH at a time: the metadata read back from the headers) + ops->ack
 *            of each vs raw natsSubscription_Fetch of BATCH + natsMsg_Ack of each (no parsing),
 *            each on a durable pull consumer of its own over the same stored events.
 * The raw side is the ceiling: header texts prepared once (only the id differs), no copies, no
 * parsing. Each pair runs in alternation for ROUNDS rounds and the fastest round of each counts
 * (the machine is shared). Output: a fixed-column table, then `ratio <name> <value>` lines
 * (edxbus / raw; 1.0 = as fast as the ceiling). Audit lines are off on the edxbus side (the
 * raw side writes none either). Nothing asserts on time.
 */
#include <jansson.h>
#include <nats/nats.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../tests/integration/nats/nats_server.h"
#include "../tests/vector_rows.h"
#include "backends/nats/nats_int.h"
#include "edxbus/backend.h"

#define ENROLLMENT_TYPE "org.openedx.learning.course.enrollment.created.v1"
#define BATCH 64
/* Events per run and rounds: 50000 and 3, or BENCH_NATS_EVENTS / BENCH_NATS_ROUNDS (a callgrind
 * run: bench/callgrind_nats.sh). */
static int N_PRODUCE = 50000, N_CONSUME = 50000, ROUNDS = 3;
#define NHDR 10

static struct test_nats server;
static const struct edxbus_backend_ops *ops = &edxbus_backend_nats;
static edxbus_conf_t *conf;
static unsigned char *value;
static size_t value_len;
static struct edxbus_metadata md;
static const char *hdr_names[NHDR] = {"ce_specversion", "content-type", "ce_datacontenttype",
                                      "ce_type", "ce_id", "ce_source", "ce_time",
                                      "ce_minorversion", "sourcehost", "sourcelib"};
static char hdr_values[NHDR][EDXBUS_METADATA_TEXT_MAX];
static natsConnection *nc;
static jsCtx *js;
static jsCtx *js_reports; /* the same connection, with an ack handler that frees */
static int raw_acks;
static void raw_on_ack(jsCtx *ctx, natsMsg *m, jsPubAck *pa, jsPubAckErr *pae, void *closure)
{
    raw_acks += pa != NULL;
    natsMsg_Destroy(m);
}
static long seq; /* makes every event id unique (the duplicate window) */

static void die(const char *what, const char *detail)
{
    fprintf(stderr, "bench_nats: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    test_nats_stop(&server);
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
    json_t *rows = test_vector_rows("avro.jsonl");
    for (size_t i = 0; value == NULL && i < json_array_size(rows); i++) {
        const json_t *row = json_array_get(rows, i);
        const char *type = test_row_str(row, "event_type"), *kase = test_row_str(row, "case");
        if (type && kase && !strcmp(type, ENROLLMENT_TYPE) && !strcmp(kase, "realistic"))
            value = test_unhex(test_row_str(row, "avro_hex"), &value_len);
    }
    json_decref(rows);
    if (value == NULL)
        die("no realistic enrollment row in avro.jsonl", NULL);
    char errstr[EDXBUS_ERRSTR_SIZE];
    if (edxbus_metadata_generate(&md, ENROLLMENT_TYPE, 0, "lms", errstr, sizeof errstr))
        die("metadata", errstr);
    /* The raw side's header texts: the metadata's, as the backend writes them. */
    static const char *const fields[] = {"event_type", "id", "source", "time", "minorversion",
                                         "sourcehost", "sourcelib"};
    snprintf(hdr_values[0], sizeof hdr_values[0], "1.0");
    snprintf(hdr_values[1], sizeof hdr_values[1], "application/avro");
    snprintf(hdr_values[2], sizeof hdr_values[2], "application/avro");
    for (int k = 0; k < 7; k++) {
        struct edxbus_buf b = EDXBUS_BUF_INIT;
        edxbus_metadata_field_text(&md, fields[k], &b);
        snprintf(hdr_values[3 + k], sizeof hdr_values[3 + k], "%.*s", (int)b.len,
                 (const char *)b.data);
        edxbus_buf_fini(&b);
    }
}

/* A fresh event id into @p id (the metadata's and the raw header's). */
static void next_id(char *id, size_t size)
{
    snprintf(id, size, "d36ab1b0-1466-11ef-9f8e-%012ld", ++seq);
}

static void make_stream(const char *topic)
{
    char errstr[EDXBUS_ERRSTR_SIZE];
    struct nats_conn c;
    if (edxbus__nats_conn_open(&c, conf, NULL, errstr, sizeof errstr) != EDXBUS_OK ||
        edxbus__nats_stream_ensure(&c, topic, true, errstr, sizeof errstr) != EDXBUS_OK)
        die("stream", errstr);
    edxbus__nats_conn_close(&c);
}

__attribute__((noinline)) static double raw_produce_ctx(jsCtx *ctx, const char *topic, int n);
static double raw_produce(const char *topic, int n)
{
    return raw_produce_ctx(js, topic, n);
}

__attribute__((noinline)) static double raw_produce_ctx(jsCtx *ctx, const char *topic, int n)
{
    make_stream(topic);
    double t0 = now_s();
    for (int i = 0; i < n; i++) {
        natsMsg *m = NULL;
        if (natsMsg_Create(&m, topic, NULL, (const char *)value, (int)value_len) != NATS_OK)
            die("natsMsg_Create", NULL);
        next_id(hdr_values[4], sizeof hdr_values[4]);
        for (int k = 0; k < NHDR; k++)
            natsMsgHeader_Set(m, hdr_names[k], hdr_values[k]);
        jsPubOptions po;
        jsPubOptions_Init(&po);
        po.MsgId = hdr_values[4];
        po.MaxWait = 30000;
        natsStatus s = js_PublishMsgAsync(ctx, &m, &po);
        natsMsg_Destroy(m);
        if (s != NATS_OK)
            die("js_PublishMsgAsync", natsStatus_GetText(s));
    }
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = 60000;
    if (js_PublishAsyncComplete(ctx, &po) != NATS_OK)
        die("js_PublishAsyncComplete", NULL);
    return now_s() - t0;
}

static int reports, failures;
static void on_report(void *opaque, const struct edxbus_msg *msg, edxbus_err_t err,
                      const char *errstr, const char *position)
{
    reports++;
    failures += err != EDXBUS_OK;
}

__attribute__((noinline)) static double ours_produce(void *prod, const char *topic, int n)
{
    char errstr[EDXBUS_ERRSTR_SIZE];
    make_stream(topic);
    reports = failures = 0;
    double t0 = now_s();
    for (int i = 0; i < n; i++) {
        next_id(md.id, sizeof md.id);
        struct edxbus_msg msg = {
            .topic = topic, .value = value, .value_len = value_len, .metadata = &md};
        if (ops->produce(prod, &msg, on_report, NULL, errstr, sizeof errstr) != EDXBUS_OK)
            die("produce", errstr);
    }
    if (ops->flush(prod, 60000, errstr, sizeof errstr) != EDXBUS_OK)
        die("flush", errstr);
    double t = now_s() - t0;
    if (reports != n || failures != 0)
        die("produce: not every event was reported delivered", NULL);
    return t;
}

__attribute__((noinline)) static double raw_consume(const char *topic, const char *group, int n)
{
    char stream[NATS_STREAM_NAME_MAX], errstr[EDXBUS_ERRSTR_SIZE];
    edxbus__nats_stream_name(topic, stream, sizeof stream, errstr, sizeof errstr);
    jsConsumerConfig cc;
    jsConsumerConfig_Init(&cc);
    cc.Durable = group;
    cc.DeliverPolicy = js_DeliverAll;
    cc.AckPolicy = js_AckExplicit;
    jsConsumerInfo *ci = NULL;
    if (js_AddConsumer(&ci, js, stream, &cc, NULL, NULL) != NATS_OK)
        die("js_AddConsumer", NULL);
    jsConsumerInfo_Destroy(ci);
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = stream;
    so.Consumer = group;
    natsSubscription *sub = NULL;
    if (js_PullSubscribe(&sub, js, topic, group, NULL, &so, NULL) != NATS_OK)
        die("js_PullSubscribe", NULL);
    double t0 = now_s();
    int got = 0;
    while (got < n) {
        natsMsgList list = {0};
        natsStatus s = natsSubscription_Fetch(&list, sub, BATCH, 5000, NULL);
        if (s != NATS_OK)
            die("fetch", natsStatus_GetText(s));
        for (int i = 0; i < list.Count; i++)
            natsMsg_Ack(list.Msgs[i], NULL);
        got += list.Count;
        natsMsgList_Destroy(&list);
    }
    natsConnection_Flush(nc);
    double t = now_s() - t0;
    natsSubscription_Destroy(sub);
    return t;
}

__attribute__((noinline)) static double ours_consume(const char *topic, const char *group, int n)
{
    char errstr[EDXBUS_ERRSTR_SIZE];
    struct edxbus_consumer_opts opts = {
        .topic = topic, .group = group, .start = "earliest", .start_time_ms = -1};
    void *cons = NULL;
    if (ops->consumer_open(conf, &opts, &cons, errstr, sizeof errstr) != EDXBUS_OK)
        die("consumer_open", errstr);
    double t0 = now_s();
    int got = 0;
    while (got < n) {
        struct edxbus_batch b = {0};
        if (ops->poll(cons, &b, BATCH, 5000, errstr, sizeof errstr) != EDXBUS_OK)
            die("poll", errstr);
        if (b.n == 0)
            die("poll: nothing came", NULL);
        for (size_t i = 0; i < b.n; i++) {
            if (b.msgs[i].unusable != NULL)
                die("unusable", b.msgs[i].unusable);
            if (ops->ack(cons, &b.msgs[i], errstr, sizeof errstr) != EDXBUS_OK)
                die("ack", errstr);
        }
        got += (int)b.n;
    }
    ops->consumer_close(cons); /* flushes the acks */
    return now_s() - t0;
}

static void row(const char *name, int n, double secs)
{
    printf("%-28s %9d %10.3f %12.0f\n", name, n, secs, n / secs);
}

static double min2(double a, double b)
{
    return a < b ? a : b;
}

static void bench(void)
{
    char errstr[EDXBUS_ERRSTR_SIZE];
    void *prod = NULL;
    if (ops->producer_open(conf, &prod, errstr, sizeof errstr) != EDXBUS_OK)
        die("producer_open", errstr);
    double best[5] = {1e9, 1e9, 1e9, 1e9, 1e9};
    char topic[64], group[64];
    for (int round = 0; round < ROUNDS; round++) {
        snprintf(topic, sizeof topic, "bench-raw-%d", round);
        best[0] = min2(best[0], raw_produce(topic, N_PRODUCE));
        snprintf(topic, sizeof topic, "bench-rawrep-%d", round);
        best[4] = min2(best[4], raw_produce_ctx(js_reports, topic, N_PRODUCE));
        snprintf(topic, sizeof topic, "bench-ours-%d", round);
        best[1] = min2(best[1], ours_produce(prod, topic, N_PRODUCE));
        /* Both consume the events edxbus stored this round, each with a group of its own. */
        snprintf(group, sizeof group, "raw-%d", round);
        best[2] = min2(best[2], raw_consume(topic, group, N_CONSUME));
        snprintf(group, sizeof group, "ours-%d", round);
        best[3] = min2(best[3], ours_consume(topic, group, N_CONSUME));
    }
    ops->producer_close(prod);
    printf("event: %s, Avro body %zu bytes, %d headers; best of %d rounds; batch %d\n",
           ENROLLMENT_TYPE, value_len, NHDR, ROUNDS, BATCH);
    printf("%-28s %9s %10s %12s\n", "name", "events", "seconds", "events/s");
    row("produce raw libnats async", N_PRODUCE, best[0]);
    row("produce raw with ack handler", N_PRODUCE, best[4]);
    row("produce edxbus async", N_PRODUCE, best[1]);
    row("consume raw fetch+ack", N_CONSUME, best[2]);
    row("consume edxbus poll+ack", N_CONSUME, best[3]);
    printf("ratio nats_produce %.3f\n", best[0] / best[1]);
    printf("ratio nats_consume %.3f\n", best[2] / best[3]);
    printf("ratio nats_produce_vs_raw_with_ack_handler %.3f\n", best[4] / best[1]);
}

int main(void)
{
    if (test_nats_binary() == NULL) {
        printf("SKIP bench_nats: nats-server is not installed (make deps installs it)\n");
        return 0;
    }
    const char *e = getenv("BENCH_NATS_EVENTS"), *r = getenv("BENCH_NATS_ROUNDS");
    if (e != NULL && atoi(e) > 0)
        N_PRODUCE = N_CONSUME = atoi(e);
    if (r != NULL && atoi(r) > 0)
        ROUNDS = atoi(r);
    load_enrollment();
    if (!test_nats_start(&server))
        die("cannot start nats-server", NULL);
    conf = test_nats_conf(server.url);
    char errstr[EDXBUS_ERRSTR_SIZE];
    if (conf == NULL ||
        edxbus_conf_set(conf, "EVENT_BUS_NATS_TIMEOUT", "10", errstr, sizeof errstr) != 0)
        die("conf", errstr);
    if (natsConnection_ConnectTo(&nc, server.url) != NATS_OK ||
        natsConnection_JetStream(&js, nc, NULL) != NATS_OK)
        die("raw connection", NULL);
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.PublishAsync.AckHandler = raw_on_ack;
    if (natsConnection_JetStream(&js_reports, nc, &jo) != NATS_OK)
        die("raw connection", NULL);
    bench();
    jsCtx_Destroy(js_reports);
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
    edxbus_conf_destroy(conf);
    free(value);
    test_nats_stop(&server);
    return 0;
}
