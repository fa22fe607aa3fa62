/* tests/integration/kafka/test_kafka_wire.c — byte-for-byte wire compatibility with
 * edx-event-bus-kafka, against tests/vectors/kafka.jsonl, on librdkafka's mock cluster.
 *
 * Producing: every row's metadata, key and value, produced through the backend (synchronously,
 * and with delivery callbacks), must give a record with the same ten headers in order, the same
 * framed key and value bytes, and the registry must have seen the reference's 2.x register
 * requests. Consuming: every row's record, written raw as the Python producer writes it, must
 * come back with the same metadata, key and value bodies and the writer schemas. Then the
 * reference's header rules (duplicates, missing ce_type/ce_id, defaults, empty values), extra
 * headers, unframed values, and the subjects of dotted key fields.
 */
#include <time.h>

#include "backends/kafka/kafka_int.h"
#include "kafka_harness.h"
#include "test.h"
#include "wire_check.h"

static struct test_kafka k;
static json_t *rows;
static const struct edxbus_backend_ops *ops = &edxbus_backend_kafka;

static void *open_producer(void)
{
    char errstr[EDXBUS_ERRSTR_SIZE];
    edxbus_conf_t *conf = test_kafka_conf(&k);
    void *be = NULL;
    if (ops->producer_open(conf, &be, errstr, sizeof errstr) != EDXBUS_OK)
        fprintf(stderr, "producer_open: %s\n", errstr);
    edxbus_conf_destroy(conf);
    return be;
}

static void *open_consumer(const char *topic, const char *group, const char *start)
{
    char errstr[EDXBUS_ERRSTR_SIZE];
    edxbus_conf_t *conf = test_kafka_consumer_conf(&k);
    struct edxbus_consumer_opts opts = {.topic = topic, .group = group, .start = start,
                                        .start_time_ms = -1};
    void *be = NULL;
    if (ops->consumer_open(conf, &opts, &be, errstr, sizeof errstr) != EDXBUS_OK)
        fprintf(stderr, "consumer_open: %s\n", errstr);
    edxbus_conf_destroy(conf);
    return be;
}

/* The row as a message to produce; free the returned key and value. */
static void row_msg(const json_t *row, struct edxbus_msg *msg, struct edxbus_metadata *md,
                    unsigned char **key, unsigned char **value, const char *topic)
{
    test_row_metadata(row, md);
    memset(msg, 0, sizeof *msg);
    msg->topic = topic;
    msg->metadata = md;
    *key = test_unhex(test_row_str(row, "key_body_hex"), &msg->key_len);
    *value = test_unhex(test_row_str(row, "value_body_hex"), &msg->value_len);
    msg->key = *key;
    msg->value = *value;
    msg->key_schema = test_row_str(row, "key_schema");
    msg->value_schema = test_row_str(row, "value_schema");
}

static void check_record(const rd_kafka_message_t *m, const json_t *row)
{
    char *key = test_hex(m->key, m->key_len), *value = test_hex(m->payload, m->len);
    bool same = strcmp(key, test_row_str(row, "key_framed_hex")) == 0 &&
                strcmp(value, test_row_str(row, "value_framed_hex")) == 0;
    if (!same)
        fprintf(stderr, "row %s/%s:\n key   %s\n want  %s\n value %s\n want  %s\n",
                test_row_str(row, "event_type"), test_row_str(row, "case"), key,
                test_row_str(row, "key_framed_hex"), value, test_row_str(row, "value_framed_hex"));
    free(key);
    free(value);
    ASSERT_TRUE(same);
    assert_headers_equal(m, json_object_get(row, "headers"));
}

static void check_requests(const json_t *row)
{
    ASSERT_EQ_INT(k.registry.nrequests, 2);
    /* Key first, then value, as the reference. */
    const json_t *kreq = json_object_get(row, "key_register_request_2_12_0");
    const json_t *vreq = json_object_get(row, "value_register_request_2_12_0");
    ASSERT_EQ_STR(k.registry.requests[0].method, "POST");
    ASSERT_EQ_STR(k.registry.requests[0].path, test_row_str(kreq, "path"));
    ASSERT_EQ_STR(k.registry.requests[0].body, test_row_str(kreq, "body"));
    ASSERT_EQ_STR(k.registry.requests[1].path, test_row_str(vreq, "path"));
    ASSERT_EQ_STR(k.registry.requests[1].body, test_row_str(vreq, "body"));
}

/* Every row is produced by a new producer on a fresh registry, as the vectors were made: the
 * key gets id 1 and the value id 2. */
static int delivered;
static void on_delivered(void *opaque, const struct edxbus_msg *msg, edxbus_err_t err,
                         const char *errstr, const char *position)
{
    (void)opaque;
    (void)msg;
    (void)position;
    if (err != EDXBUS_OK)
        fprintf(stderr, "delivery: %s\n", errstr);
    else
        delivered++;
}

static void produce_rows(bool async, size_t skip)
{
    const char *topic = "dev-event-bus-vectors"; /* the vectors' topic: it is in the subjects */
    char errstr[EDXBUS_ERRSTR_SIZE];
    test_kafka_topic(&k, topic, 1);
    for (size_t i = 0; i < json_array_size(rows); i++) {
        const json_t *row = json_array_get(rows, i);
        test_registry_reset(&k.registry);
        void *be = open_producer();
        ASSERT_TRUE(be != NULL);
        struct edxbus_msg msg;
        struct edxbus_metadata md;
        unsigned char *key, *value;
        row_msg(row, &msg, &md, &key, &value, topic);
        edxbus_err_t err = ops->produce(be, &msg, async ? on_delivered : NULL, NULL, errstr,
                                        sizeof errstr);
        free(key);
        free(value);
        if (err != EDXBUS_OK)
            fprintf(stderr, "produce: %s\n", errstr);
        ASSERT_EQ_INT(err, EDXBUS_OK);
        if (async)
            ASSERT_EQ_INT(ops->flush(be, 10000, errstr, sizeof errstr), EDXBUS_OK);
        ops->producer_close(be);
        check_requests(row);
    }
    rd_kafka_t *reader = test_kafka_raw_reader(&k, topic, 1);
    for (size_t i = 0; i < skip; i++)
        rd_kafka_message_destroy(test_kafka_raw_next(reader, 10000));
    for (size_t i = 0; i < json_array_size(rows); i++) {
        rd_kafka_message_t *m = test_kafka_raw_next(reader, 10000);
        ASSERT_TRUE(m != NULL);
        check_record(m, json_array_get(rows, i));
        rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(reader);
    rd_kafka_destroy(reader);
}

TEST(test_every_row_produced_sync_matches_reference_bytes)
{
    produce_rows(false, 0);
}

TEST(test_every_row_produced_async_matches_reference_bytes)
{
    delivered = 0;
    produce_rows(true, json_array_size(rows)); /* after the sync ones */
    ASSERT_EQ_INT(delivered, json_array_size(rows));
}

/* Write @p row raw (headers from the row, framing with the ids the registry gives). */
static void raw_write(rd_kafka_t *rk, const char *topic, const json_t *row,
                      const char *const *extra_headers)
{
    char errstr[EDXBUS_ERRSTR_SIZE];
    struct test_registry *reg = &k.registry;
    kreg_t *client = NULL;
    struct kreg_opts o = {.url = reg->url};
    edxbus__kreg_new(&o, &client, errstr, sizeof errstr);
    uint32_t kid, vid;
    edxbus__kreg_register(client, test_row_str(row, "key_subject"), test_row_str(row, "key_schema"),
                          &kid, errstr, sizeof errstr);
    edxbus__kreg_register(client, test_row_str(row, "value_subject"),
                          test_row_str(row, "value_schema"), &vid, errstr, sizeof errstr);
    edxbus__kreg_free(client);
    size_t klen, vlen;
    unsigned char *key = test_unhex(test_row_str(row, "key_body_hex"), &klen);
    unsigned char *value = test_unhex(test_row_str(row, "value_body_hex"), &vlen);
    struct edxbus_buf kf = EDXBUS_BUF_INIT, vf = EDXBUS_BUF_INIT;
    edxbus__kafka_frame(&kf, kid, key, klen);
    edxbus__kafka_frame(&vf, vid, value, vlen);
    rd_kafka_headers_t *hdrs = rd_kafka_headers_new(12);
    const json_t *want = json_object_get(row, "headers");
    for (size_t i = 0; i < json_array_size(want); i++) {
        const char *v = json_string_value(json_array_get(json_array_get(want, i), 1));
        rd_kafka_header_add(hdrs, json_string_value(json_array_get(json_array_get(want, i), 0)),
                            -1, v, (ssize_t)strlen(v));
    }
    for (size_t i = 0; extra_headers != NULL && extra_headers[i] != NULL; i += 2)
        rd_kafka_header_add(hdrs, extra_headers[i], -1, extra_headers[i + 1],
                            (ssize_t)strlen(extra_headers[i + 1]));
    rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                      RD_KAFKA_V_KEY(kf.data, kf.len), RD_KAFKA_V_VALUE(vf.data, vf.len),
                      RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_END);
    edxbus_buf_fini(&kf);
    edxbus_buf_fini(&vf);
    free(key);
    free(value);
}

/* Poll until @p n messages came (acking each); call @p check on each. */
static size_t consume_n(void *be, size_t n, void (*check)(const struct edxbus_msg *, size_t))
{
    char errstr[EDXBUS_ERRSTR_SIZE];
    size_t got = 0;
    /* Give up after 60 s without a record (a deadline, not a count of empty polls: a poll can
     * return at once, many times, while the group is joining on a loaded machine). */
    time_t deadline = time(NULL) + 60;
    while (got < n && time(NULL) < deadline) {
        struct edxbus_batch batch;
        edxbus_err_t err = ops->poll(be, &batch, 64, 200, errstr, sizeof errstr);
        if (err != EDXBUS_OK)
            fprintf(stderr, "poll: %s\n", errstr);
        if (batch.n == 0)
            continue;
        deadline = time(NULL) + 60;
        for (size_t i = 0; i < batch.n; i++) {
            if (check != NULL)
                check(&batch.msgs[i], got);
            got++;
            ops->ack(be, &batch.msgs[i], errstr, sizeof errstr);
        }
    }
    return got;
}

static int consume_failures;
static void check_row_msg(const struct edxbus_msg *msg, size_t i)
{
    const json_t *row = json_array_get(rows, i);
    struct edxbus_metadata want;
    test_row_metadata(row, &want);
    bool ok = msg->unusable == NULL && msg->metadata != NULL &&
              memcmp(msg->metadata, &want, sizeof want) == 0;
    char *key = test_hex(msg->key, msg->key_len), *value = test_hex(msg->value, msg->value_len);
    ok = ok && strcmp(key, test_row_str(row, "key_body_hex")) == 0 &&
         strcmp(value, test_row_str(row, "value_body_hex")) == 0 && msg->value_schema != NULL &&
         strcmp(msg->value_schema, test_row_str(row, "value_schema")) == 0 &&
         msg->key_schema != NULL && strcmp(msg->key_schema, test_row_str(row, "key_schema")) == 0;
    if (!ok) {
        consume_failures++;
        fprintf(stderr, "row %zu %s/%s consumed differently (%s)\n", i,
                test_row_str(row, "event_type"), test_row_str(row, "case"),
                msg->unusable ? msg->unusable : "");
    }
    free(key);
    free(value);
}

TEST(test_every_reference_record_consumed)
{
    const char *topic = "wire-consume";
    test_kafka_topic(&k, topic, 1);
    test_registry_reset(&k.registry);
    rd_kafka_t *rk = test_kafka_raw_producer(&k);
    for (size_t i = 0; i < json_array_size(rows); i++)
        raw_write(rk, topic, json_array_get(rows, i), NULL);
    ASSERT_EQ_INT(rd_kafka_flush(rk, 10000), 0);
    rd_kafka_destroy(rk);
    void *be = open_consumer(topic, "wire-group", "earliest");
    ASSERT_TRUE(be != NULL);
    consume_failures = 0;
    ASSERT_EQ_INT(consume_n(be, json_array_size(rows), check_row_msg), json_array_size(rows));
    ASSERT_EQ_INT(consume_failures, 0);
    ops->consumer_close(be);
}

/* ------------------------------------------------------------------------------------------ */
/* Header rules */

static const struct edxbus_msg *one(void *be, struct edxbus_batch *batch)
{
    char errstr[EDXBUS_ERRSTR_SIZE];
    for (int i = 0; i < 50; i++) {
        if (ops->poll(be, batch, 1, 200, errstr, sizeof errstr) == EDXBUS_OK && batch->n == 1)
            return &batch->msgs[0];
    }
    return NULL;
}

static void write_with_headers(rd_kafka_t *rk, const char *topic, const char *const *hdr,
                               const void *value, size_t len)
{
    rd_kafka_headers_t *hdrs = rd_kafka_headers_new(12);
    for (size_t i = 0; hdr[i] != NULL; i += 2)
        rd_kafka_header_add(hdrs, hdr[i], -1, hdr[i + 1], (ssize_t)strlen(hdr[i + 1]));
    rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                      RD_KAFKA_V_VALUE((void *)value, len), RD_KAFKA_V_HEADERS(hdrs),
                      RD_KAFKA_V_END);
}

TEST(test_header_rules)
{
    const char *topic = "wire-rules";
    test_kafka_topic(&k, topic, 1);
    test_registry_reset(&k.registry);
    char errstr[EDXBUS_ERRSTR_SIZE];
    kreg_t *client = NULL;
    struct kreg_opts o = {.url = k.registry.url};
    edxbus__kreg_new(&o, &client, errstr, sizeof errstr);
    uint32_t id;
    edxbus__kreg_register(client, "wire-rules-x", "\"string\"", &id, errstr, sizeof errstr);
    edxbus__kreg_free(client);
    unsigned char value[] = {0, 0, 0, 0, (unsigned char)id, 2, 'h'};
    const char *type = "org.openedx.learning.course.enrollment.created.v1";
    rd_kafka_t *rk = test_kafka_raw_producer(&k);
    const char *dup_type[] = {"ce_type", type, "ce_type", type, "ce_id", "x", NULL};
    const char *no_type[] = {"ce_id", "x", NULL};
    const char *no_id[] = {"ce_type", type, NULL};
    const char *dup_source[] = {"ce_type", type, "ce_id", "x", "ce_source", "a", "ce_source", "b",
                                NULL};
    const char *defaults[] = {"ce_type", type, "ce_id", "my-id", "sourcehost", "", "error",
                              "boom", NULL};
    const char *bad_time[] = {"ce_type", type, "ce_id", "x", "ce_time", "", NULL};
    write_with_headers(rk, topic, dup_type, value, sizeof value);
    write_with_headers(rk, topic, no_type, value, sizeof value);
    write_with_headers(rk, topic, no_id, value, sizeof value);
    write_with_headers(rk, topic, dup_source, value, sizeof value);
    write_with_headers(rk, topic, defaults, value, sizeof value);
    write_with_headers(rk, topic, bad_time, value, sizeof value);
    write_with_headers(rk, topic, defaults, "\x01plain", 6);
    /* A null ce_type value (found by fuzz_kafka_headers: memchr was handed NULL). */
    rd_kafka_headers_t *null_type = rd_kafka_headers_new(2);
    rd_kafka_header_add(null_type, "ce_type", -1, NULL, 0);
    rd_kafka_header_add(null_type, "ce_id", -1, "x", 1);
    rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                      RD_KAFKA_V_VALUE(value, sizeof value), RD_KAFKA_V_HEADERS(null_type),
                      RD_KAFKA_V_END);
    ASSERT_EQ_INT(rd_kafka_flush(rk, 10000), 0);
    rd_kafka_destroy(rk);

    void *be = open_consumer(topic, NULL, "earliest"); /* a tail */
    ASSERT_TRUE(be != NULL);
    struct edxbus_batch batch;
    const struct edxbus_msg *m = one(be, &batch);
    ASSERT_TRUE(m != NULL);
    ASSERT_CONTAINS(m->unusable, "ce_type header appears more than once");
    ASSERT_CONTAINS(m->unusable, "0:0");
    m = one(be, &batch);
    ASSERT_CONTAINS(m->unusable, "no ce_type header");
    m = one(be, &batch);
    ASSERT_CONTAINS(m->unusable, "no ce_id header");
    m = one(be, &batch);
    ASSERT_CONTAINS(m->unusable, "ce_source header appears more than once");
    m = one(be, &batch);
    ASSERT_TRUE(m->unusable == NULL);
    ASSERT_EQ_STR(m->metadata->id, "my-id");
    ASSERT_EQ_STR(m->metadata->event_type, type);
    ASSERT_EQ_STR(m->metadata->sourcehost, ""); /* empty kept */
    ASSERT_EQ_INT(m->metadata->nsourcelib, 3);  /* default 11.2.0 */
    ASSERT_EQ_INT(m->nheaders, 1);
    ASSERT_EQ_STR(m->headers[0].name, "error");
    ASSERT_EQ_INT(m->headers[0].len, 4);
    ASSERT_EQ_STR(m->value_schema, "\"string\"");
    ASSERT_EQ_INT(m->value_len, 2);
    ASSERT_TRUE(m->key == NULL);
    m = one(be, &batch);
    ASSERT_CONTAINS(m->unusable, "header ce_time");
    m = one(be, &batch);
    ASSERT_CONTAINS(m->unusable, "not Confluent-framed");
    /* Tail mode: ack is a no-op. */
    ASSERT_EQ_INT(ops->ack(be, m, errstr, sizeof errstr), EDXBUS_OK);
    m = one(be, &batch);
    ASSERT_TRUE(m != NULL);
    ASSERT_CONTAINS(m->unusable, "ce_type header is not a usable event type");
    ops->consumer_close(be);
}

TEST(test_extra_headers_follow_the_ten)
{
    const char *topic = "wire-extra";
    test_kafka_topic(&k, topic, 1);
    test_registry_reset(&k.registry);
    void *be = open_producer();
    const json_t *row = json_array_get(rows, 5);
    struct edxbus_msg msg;
    struct edxbus_metadata md;
    unsigned char *key, *value;
    row_msg(row, &msg, &md, &key, &value, topic);
    struct edxbus_header extra[2] = {{"error", (const uint8_t *)"bad", 3},
                                     {"attempts", (const uint8_t *)"3", 1}};
    msg.headers = extra;
    msg.nheaders = 2;
    char errstr[EDXBUS_ERRSTR_SIZE];
    ASSERT_EQ_INT(ops->produce(be, &msg, NULL, NULL, errstr, sizeof errstr), EDXBUS_OK);
    free(key);
    free(value);
    ops->producer_close(be);
    rd_kafka_t *reader = test_kafka_raw_reader(&k, topic, 1);
    rd_kafka_message_t *m = test_kafka_raw_next(reader, 10000);
    ASSERT_TRUE(m != NULL);
    rd_kafka_headers_t *hdrs;
    rd_kafka_message_headers(m, &hdrs);
    ASSERT_EQ_INT(rd_kafka_header_cnt(hdrs), 12);
    const char *name;
    const void *v;
    size_t len;
    rd_kafka_header_get_all(hdrs, 9, &name, &v, &len);
    ASSERT_EQ_STR(name, "sourcelib");
    rd_kafka_header_get_all(hdrs, 10, &name, &v, &len);
    ASSERT_EQ_STR(name, "error");
    rd_kafka_header_get_all(hdrs, 11, &name, &v, &len);
    ASSERT_EQ_STR(name, "attempts");
    rd_kafka_message_destroy(m);
    rd_kafka_consumer_close(reader);
    rd_kafka_destroy(reader);
}

TEST(test_subjects)
{
    /* Dotted key fields: the subject names the key's type, whatever the field's name. */
    char *s = edxbus__kafka_subject("t", "{\"name\": \"name\", \"type\": \"string\"}", true);
    ASSERT_EQ_STR(s, "t-string");
    free(s);
    s = edxbus__kafka_subject("t", "{\"name\": \"id\", \"type\": \"long\"}", true);
    ASSERT_EQ_STR(s, "t-long");
    free(s);
    s = edxbus__kafka_subject("t", "\"string\"", true);
    ASSERT_EQ_STR(s, "t-string");
    free(s);
    for (size_t i = 0; i < json_array_size(rows); i++) {
        const json_t *row = json_array_get(rows, i);
        s = edxbus__kafka_subject(test_row_str(row, "topic"), test_row_str(row, "value_schema"),
                                  false);
        ASSERT_EQ_STR(s, test_row_str(row, "value_subject"));
        free(s);
        s = edxbus__kafka_subject(test_row_str(row, "topic"), test_row_str(row, "key_schema"),
                                  true);
        ASSERT_EQ_STR(s, test_row_str(row, "key_subject"));
        free(s);
    }
}

int main(void)
{
    rows = test_kafka_rows();
    if (rows == NULL || json_array_size(rows) != 216) {
        fprintf(stderr, "cannot read kafka.jsonl\n");
        return 1;
    }
    test_kafka_start(&k, 1);
    RUN(test_subjects);
    RUN(test_every_row_produced_sync_matches_reference_bytes);
    RUN(test_every_row_produced_async_matches_reference_bytes);
    RUN(test_every_reference_record_consumed);
    RUN(test_header_rules);
    RUN(test_extra_headers_follow_the_ten);
    test_kafka_stop(&k);
    json_decref(rows);
    return test_report();
}
