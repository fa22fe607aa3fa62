/* tests/integration/nats/test_nats_wire.c — the NATS wire against the recorded vectors
 * (tests/vectors/kafka.jsonl: what edx-event-bus-kafka writes), on a real nats-server.
 *
 * Producing: each of the 216 rows' metadata and Avro body, produced through the backend
 * (synchronously, then with delivery reports), must be stored as a message whose payload is
 * the row's Avro body byte for byte and whose headers are the row's ten headers with the same
 * text, plus Nats-Msg-Id = the event id; read back raw with libnats (js_GetMsg).
 * Consuming: each row published raw with libnats (the row's headers and body) must come back
 * through the backend with the row's metadata and body. Then: header values a NATS header line
 * cannot carry (NUL, CR/LF, spaces at the ends, empty, "base64:…") come back byte for byte; the
 * reference's header rules (ce_type twice, no ce_id: unusable; a missing ce_source: default);
 * the same event id twice is stored once (the duplicate window).
 */
#include "backends/nats/nats_int.h"
#include "nats_server.h"
#include "test.h"
#include "vector_rows.h"

static struct test_nats server;
static edxbus_conf_t *conf;
static json_t *rows;
static const struct edxbus_backend_ops *ops = &edxbus_backend_nats;

/* A raw libnats connection and JetStream context to the test server. */
static natsConnection *raw_nc;
static jsCtx *raw_js;

static void *open_consumer(const char *topic, const char *group)
{
    char errstr[EDXBUS_ERRSTR_SIZE];
    struct edxbus_consumer_opts opts = {
        .topic = topic, .group = group, .start = "earliest", .start_time_ms = -1};
    void *be = NULL;
    if (ops->consumer_open(conf, &opts, &be, errstr, sizeof errstr) != EDXBUS_OK)
        fprintf(stderr, "consumer_open: %s\n", errstr);
    return be;
}

static int delivered, failed;
static void on_delivered(void *opaque, const struct edxbus_msg *msg, edxbus_err_t err,
                         const char *errstr, const char *position)
{
    if (err == EDXBUS_OK && position != NULL)
        delivered++;
    else {
        failed++;
        fprintf(stderr, "delivery: %s\n", errstr ? errstr : "(no position)");
    }
}

/* The message stored at @p seq of @p topic's stream (natsMsg_Destroy), or NULL. */
static natsMsg *raw_get(const char *topic, uint64_t seq)
{
    char stream[NATS_STREAM_NAME_MAX], errstr[EDXBUS_ERRSTR_SIZE];
    if (edxbus__nats_stream_name(topic, stream, sizeof stream, errstr, sizeof errstr))
        return NULL;
    natsMsg *m = NULL;
    jsErrCode code = 0;
    if (js_GetMsg(&m, raw_js, stream, seq, NULL, &code) != NATS_OK)
        return NULL;
    return m;
}

/* @p m holds exactly the row's headers with the row's text, plus Nats-Msg-Id = its ce_id, and
 * the row's Avro body. */
static void check_stored(natsMsg *m, const json_t *row)
{
    char *body = test_hex(natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m));
    ASSERT_EQ_STR(body, test_row_str(row, "value_body_hex"));
    free(body);
    const json_t *want = json_object_get(row, "headers");
    const char **keys = NULL;
    int nkeys = 0;
    ASSERT_EQ_INT(natsMsgHeader_Keys(m, &keys, &nkeys), NATS_OK);
    free(keys);
    ASSERT_EQ_INT(nkeys, json_array_size(want) + 1);
    const char *id = NULL;
    for (size_t i = 0; i < json_array_size(want); i++) {
        const char *name = json_string_value(json_array_get(json_array_get(want, i), 0));
        const char *text = json_string_value(json_array_get(json_array_get(want, i), 1));
        const char **vals = NULL;
        int n = 0;
        ASSERT_EQ_INT(natsMsgHeader_Values(m, name, &vals, &n), NATS_OK);
        const char *got = vals[0];
        free(vals);
        ASSERT_EQ_INT(n, 1);
        ASSERT_EQ_STR(got, text);
        if (strcmp(name, "ce_id") == 0)
            id = text;
    }
    const char *msg_id = NULL;
    ASSERT_EQ_INT(natsMsgHeader_Get(m, "Nats-Msg-Id", &msg_id), NATS_OK);
    ASSERT_EQ_STR(msg_id, id);
}

static void produce_rows(const char *topic, bool async)
{
    char errstr[EDXBUS_ERRSTR_SIZE];
    void *prod = NULL;
    ASSERT_EQ_INT(ops->producer_open(conf, &prod, errstr, sizeof errstr), EDXBUS_OK);
    delivered = failed = 0;
    for (size_t i = 0; i < json_array_size(rows); i++) {
        const json_t *row = json_array_get(rows, i);
        struct edxbus_metadata md;
        test_row_metadata(row, &md);
        size_t klen = 0, vlen = 0;
        unsigned char *key = test_unhex(test_row_str(row, "key_body_hex"), &klen);
        unsigned char *value = test_unhex(test_row_str(row, "value_body_hex"), &vlen);
        struct edxbus_msg msg = {.topic = topic, .key = key, .key_len = klen, .value = value,
                                 .value_len = vlen, .metadata = &md};
        edxbus_err_t err = ops->produce(prod, &msg, async ? on_delivered : NULL, NULL, errstr,
                                        sizeof errstr);
        free(key);
        free(value);
        if (err != EDXBUS_OK)
            fprintf(stderr, "produce: %s\n", errstr);
        ASSERT_EQ_INT(err, EDXBUS_OK);
    }
    ASSERT_EQ_INT(ops->flush(prod, 20000, errstr, sizeof errstr), EDXBUS_OK);
    ops->producer_close(prod);
    if (async) {
        ASSERT_EQ_INT(delivered, json_array_size(rows));
        ASSERT_EQ_INT(failed, 0);
    }
    for (size_t i = 0; i < json_array_size(rows); i++) {
        natsMsg *m = raw_get(topic, i + 1);
        ASSERT_TRUE(m != NULL);
        check_stored(m, json_array_get(rows, i));
        natsMsg_Destroy(m);
    }
}

TEST(test_every_row_produced_sync_is_stored_as_the_reference_writes_it)
{
    produce_rows("dev-vectors-sync", false);
}

TEST(test_every_row_produced_async_is_stored_as_the_reference_writes_it)
{
    produce_rows("dev-vectors-async", true);
}

/* Publish raw: @p headers ([name, text] pairs, NULL-terminated) and @p body. */
static void raw_publish(const char *topic, const char *const *headers, const void *body,
                        size_t len)
{
    natsMsg *m = NULL;
    ASSERT_EQ_INT(natsMsg_Create(&m, topic, NULL, body, (int)len), NATS_OK);
    for (size_t i = 0; headers[i] != NULL; i += 2)
        ASSERT_EQ_INT(natsMsgHeader_Add(m, headers[i], headers[i + 1]), NATS_OK);
    jsPubAck *pa = NULL;
    ASSERT_EQ_INT(js_PublishMsg(&pa, raw_js, m, NULL, NULL), NATS_OK);
    jsPubAck_Destroy(pa);
    natsMsg_Destroy(m);
}

/* The next @p n messages of @p cons, acked; each checked by @p check with its index. */
static void consume_n(void *cons, size_t n, void (*check)(const struct edxbus_msg *, size_t))
{
    char errstr[EDXBUS_ERRSTR_SIZE];
    size_t got = 0;
    for (int empty = 0; got < n && empty < 50;) {
        struct edxbus_batch b = {0};
        ASSERT_EQ_INT(ops->poll(cons, &b, 64, 200, errstr, sizeof errstr), EDXBUS_OK);
        empty = b.n == 0 ? empty + 1 : 0;
        for (size_t i = 0; i < b.n; i++) {
            check(&b.msgs[i], got++);
            ASSERT_EQ_INT(ops->ack(cons, &b.msgs[i], errstr, sizeof errstr), EDXBUS_OK);
        }
    }
    ASSERT_EQ_INT(got, n);
}

static void check_row(const struct edxbus_msg *m, size_t i)
{
    const json_t *row = json_array_get(rows, i);
    struct edxbus_metadata want;
    test_row_metadata(row, &want);
    if (m->unusable != NULL)
        fprintf(stderr, "row %zu unusable: %s\n", i, m->unusable);
    ASSERT_TRUE(m->unusable == NULL);
    ASSERT_TRUE(memcmp(m->metadata, &want, sizeof want) == 0);
    char *body = test_hex(m->value, m->value_len);
    ASSERT_EQ_STR(body, test_row_str(row, "value_body_hex"));
    free(body);
    ASSERT_EQ_INT(m->nheaders, 0);
}

TEST(test_every_row_written_raw_is_consumed_with_its_metadata_and_body)
{
    const char *topic = "dev-vectors-raw";
    void *cons = open_consumer(topic, "g"); /* makes the stream */
    ASSERT_TRUE(cons != NULL);
    for (size_t i = 0; i < json_array_size(rows); i++) {
        const json_t *row = json_array_get(rows, i);
        const json_t *want = json_object_get(row, "headers");
        const char *headers[2 * 12 + 1] = {NULL};
        for (size_t k = 0; k < json_array_size(want) && k < 12; k++) {
            headers[2 * k] = json_string_value(json_array_get(json_array_get(want, k), 0));
            headers[2 * k + 1] = json_string_value(json_array_get(json_array_get(want, k), 1));
        }
        size_t vlen = 0;
        unsigned char *value = test_unhex(test_row_str(row, "value_body_hex"), &vlen);
        raw_publish(topic, headers, value, vlen);
        free(value);
    }
    consume_n(cons, json_array_size(rows), check_row);
    ops->consumer_close(cons);
}

/* Extra header values that a NATS header line cannot carry as they are. */
static const uint8_t nul[] = {'a', 0, 'b'};
static const struct edxbus_header odd[] = {
    {"nul", nul, sizeof nul},
    {"crlf", (const uint8_t *)"x\r\ny", 4},
    {"spaces", (const uint8_t *)"  padded  ", 10},
    {"empty", (const uint8_t *)"", 0},
    {"prefixed", (const uint8_t *)"base64:notreally", 16},
    {"plain", (const uint8_t *)"error text: 1/2", 15},
};
#define NODD (sizeof odd / sizeof odd[0])

static void check_odd(const struct edxbus_msg *m, size_t i)
{
    ASSERT_TRUE(m->unusable == NULL);
    ASSERT_EQ_INT(m->nheaders, NODD);
    for (size_t k = 0; k < NODD; k++) {
        size_t j = 0;
        while (j < m->nheaders && strcmp(m->headers[j].name, odd[k].name) != 0)
            j++;
        ASSERT_TRUE(j < m->nheaders);
        ASSERT_EQ_INT(m->headers[j].len, odd[k].len);
        ASSERT_TRUE(memcmp(m->headers[j].value, odd[k].value, odd[k].len) == 0);
    }
}

TEST(test_header_values_come_back_byte_for_byte)
{
    const char *topic = "dev-odd-headers";
    char errstr[EDXBUS_ERRSTR_SIZE];
    struct edxbus_metadata md;
    test_row_metadata(json_array_get(rows, 0), &md);
    struct edxbus_msg msg = {.topic = topic, .value = (const uint8_t *)"v", .value_len = 1,
                             .metadata = &md, .headers = odd, .nheaders = NODD};
    void *prod = NULL;
    ASSERT_EQ_INT(ops->producer_open(conf, &prod, errstr, sizeof errstr), EDXBUS_OK);
    ASSERT_EQ_INT(ops->produce(prod, &msg, NULL, NULL, errstr, sizeof errstr), EDXBUS_OK);
    ops->producer_close(prod);
    natsMsg *m = raw_get(topic, 1);
    ASSERT_TRUE(m != NULL);
    const char *v = NULL;
    ASSERT_EQ_INT(natsMsgHeader_Get(m, "plain", &v), NATS_OK);
    ASSERT_EQ_STR(v, "error text: 1/2"); /* plain text travels as it is */
    ASSERT_EQ_INT(natsMsgHeader_Get(m, "nul", &v), NATS_OK);
    ASSERT_EQ_STR(v, "base64:YQBi");
    natsMsg_Destroy(m);
    void *cons = open_consumer(topic, "g");
    consume_n(cons, 1, check_odd);
    ops->consumer_close(cons);
}

static int rule_case;
static void check_rule(const struct edxbus_msg *m, size_t i)
{
    if (i == 0) /* ce_type twice */
        ASSERT_CONTAINS(m->unusable ? m->unusable : "", "ce_type header appears more than once");
    else if (i == 1) /* no ce_id */
        ASSERT_CONTAINS(m->unusable ? m->unusable : "", "no ce_id header");
    else { /* no ce_source: EventsMetadata's default, the rest from the headers */
        ASSERT_TRUE(m->unusable == NULL);
        ASSERT_EQ_STR(m->metadata->id, "93283f74-1b83-c9e2-9908-ef79f9b6d8d0");
        ASSERT_TRUE(strncmp(m->metadata->source, "openedx/", 8) == 0);
    }
    rule_case++;
}

TEST(test_reference_header_rules)
{
    const char *topic = "dev-header-rules";
    void *cons = open_consumer(topic, "g");
    static const char *const twice[] = {"ce_type", "org.openedx.learning.course.enrollment.created.v1",
                                        "ce_type", "org.openedx.learning.course.enrollment.created.v1",
                                        "ce_id", "93283f74-1b83-c9e2-9908-ef79f9b6d8d0", NULL};
    static const char *const no_id[] = {"ce_type", "org.openedx.learning.course.enrollment.created.v1",
                                        NULL};
    static const char *const no_source[] = {
        "ce_type", "org.openedx.learning.course.enrollment.created.v1", "ce_id",
        "93283f74-1b83-c9e2-9908-ef79f9b6d8d0", "ce_time", "2024-01-01T00:00:00+00:00", NULL};
    raw_publish(topic, twice, "v", 1);
    raw_publish(topic, no_id, "v", 1);
    raw_publish(topic, no_source, "v", 1);
    rule_case = 0;
    consume_n(cons, 3, check_rule);
    ASSERT_EQ_INT(rule_case, 3);
    ops->consumer_close(cons);
}

TEST(test_same_event_id_is_stored_once)
{
    const char *topic = "dev-dedup";
    char errstr[EDXBUS_ERRSTR_SIZE];
    struct edxbus_metadata md;
    test_row_metadata(json_array_get(rows, 0), &md);
    struct edxbus_msg msg = {.topic = topic, .value = (const uint8_t *)"v", .value_len = 1,
                             .metadata = &md};
    void *prod = NULL;
    ASSERT_EQ_INT(ops->producer_open(conf, &prod, errstr, sizeof errstr), EDXBUS_OK);
    delivered = failed = 0;
    ASSERT_EQ_INT(ops->produce(prod, &msg, NULL, NULL, errstr, sizeof errstr), EDXBUS_OK);
    ASSERT_EQ_INT(ops->produce(prod, &msg, on_delivered, NULL, errstr, sizeof errstr), EDXBUS_OK);
    ASSERT_EQ_INT(ops->flush(prod, 10000, errstr, sizeof errstr), EDXBUS_OK);
    ops->producer_close(prod);
    ASSERT_EQ_INT(delivered, 1); /* the retry is reported delivered: the server holds it */
    char stream[NATS_STREAM_NAME_MAX];
    edxbus__nats_stream_name(topic, stream, sizeof stream, errstr, sizeof errstr);
    jsStreamInfo *si = NULL;
    ASSERT_EQ_INT(js_GetStreamInfo(&si, raw_js, stream, NULL, NULL), NATS_OK);
    uint64_t msgs = si->State.Msgs;
    jsStreamInfo_Destroy(si);
    ASSERT_EQ_INT(msgs, 1);
}

int main(void)
{
    test_nats_require("integration/nats/test_nats_wire");
    rows = test_vector_rows("kafka.jsonl");
    if (rows == NULL || json_array_size(rows) != 216) {
        fprintf(stderr, "cannot read the 216 rows of kafka.jsonl\n");
        return 1;
    }
    if (!test_nats_start(&server)) {
        fprintf(stderr, "cannot start nats-server\n");
        return 1;
    }
    conf = test_nats_conf(server.url);
    if (natsConnection_ConnectTo(&raw_nc, server.url) != NATS_OK ||
        natsConnection_JetStream(&raw_js, raw_nc, NULL) != NATS_OK) {
        fprintf(stderr, "raw connection failed\n");
        return 1;
    }
    RUN(test_every_row_produced_sync_is_stored_as_the_reference_writes_it);
    RUN(test_every_row_produced_async_is_stored_as_the_reference_writes_it);
    RUN(test_every_row_written_raw_is_consumed_with_its_metadata_and_body);
    RUN(test_header_values_come_back_byte_for_byte);
    RUN(test_reference_header_rules);
    RUN(test_same_event_id_is_stored_once);
    jsCtx_Destroy(raw_js);
    natsConnection_Destroy(raw_nc);
    edxbus_conf_destroy(conf);
    json_decref(rows);
    test_nats_stop(&server);
    return test_report();
}
