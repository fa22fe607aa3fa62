/* tests/unit/bus/test_producer.c — the producer front end on the embedded broker: routing to
 * several topics with a prefix, keys and their schemas, no re-production of bus events,
 * inactive producers, async delivery, and the key read from the Avro bytes of every row of
 * tests/vectors/kafka.jsonl (sent as bytes and as JSON) equal to the reference's key bytes.
 */
#include "test.h"

#include "unit/bus/bus_fixtures.h"

#define ROUTES                                                                                     \
    "{\"" ENROLLMENT_TYPE "\": {"                                                                  \
    "\"enrollments\": {\"event_key_field\": \"enrollment.course.course_key\", \"enabled\": true}," \
    "\"by-user\": {\"event_key_field\": \"enrollment.user.id\", \"enabled\": true},"               \
    "\"off\": {\"event_key_field\": \"enrollment.course.course_key\", \"enabled\": false}}}"

/* Read every message of @p full_topic (tail, from the start) into a JSON array of
 * {key_hex, key_schema?, id, type, value_len, headers...}. */
static json_t *read_topic(const edxbus_bus_t *bus, const char *full_topic)
{
    char err[EDXBUS_ERRSTR_SIZE];
    const struct edxbus_backend_ops *ops = edxbus_backend_find("sqlite", NULL, err, sizeof err);
    if (ops == NULL)
        return NULL;
    struct edxbus_consumer_opts opts = {
        .topic = full_topic, .start = "earliest", .start_time_ms = -1};
    void *be = NULL;
    if (ops->consumer_open(edxbus_bus_conf(bus), &opts, &be, err, sizeof err) != EDXBUS_OK) {
        fprintf(stderr, "read_topic: %s\n", err);
        return NULL;
    }
    json_t *out = json_array();
    for (;;) {
        struct edxbus_batch b = {0};
        if (ops->poll(be, &b, 100, 50, err, sizeof err) != EDXBUS_OK || b.n == 0)
            break;
        for (size_t i = 0; i < b.n; i++) {
            const struct edxbus_msg *m = &b.msgs[i];
            char hex[256] = "";
            for (size_t k = 0; k < m->key_len && k < 100; k++)
                snprintf(hex + 2 * k, sizeof hex - 2 * k, "%02x", m->key[k]);
            json_t *o = json_pack("{s:s, s:s, s:s, s:I}", "key", hex, "id", m->metadata->id, "type",
                                  m->metadata->event_type, "value_len", (json_int_t)m->value_len);
            for (size_t h = 0; h < m->nheaders; h++)
                json_object_set_new(
                    o, m->headers[h].name,
                    json_stringn((const char *)m->headers[h].value, m->headers[h].len));
            json_array_append_new(out, o);
        }
    }
    ops->consumer_close(be);
    return out;
}

TEST(test_routes_to_every_enabled_topic_with_prefix)
{
    edxbus_bus_t *bus = fx_bus(ROUTES, "dev");
    ASSERT_TRUE(edxbus_bus_producer(bus) != NULL);
    ASSERT_TRUE(edxbus_bus_producer_problem(bus) == NULL);
    json_t *data = fx_json(ENROLLMENT_JSON);
    struct edxbus_send_report rep = {0};
    char err[EDXBUS_ERRSTR_SIZE] = "";
    ASSERT_EQ_INT(edxbus_send_event(bus, ENROLLMENT_TYPE, data, 0, &rep, err, sizeof err),
                  EDXBUS_OK);
    json_t *a = read_topic(bus, "dev-enrollments");
    json_t *b = read_topic(bus, "dev-by-user");
    json_t *off = read_topic(bus, "dev-off");
    json_t *bare = read_topic(bus, "enrollments");
    ASSERT_EQ_INT(json_array_size(a), 1);
    ASSERT_EQ_INT(json_array_size(b), 1);
    ASSERT_EQ_INT(json_array_size(off), 0);
    ASSERT_EQ_INT(json_array_size(bare), 0);
    ASSERT_EQ_STR(json_string_value(json_object_get(json_array_get(a, 0), "id")), rep.metadata.id);
    ASSERT_EQ_STR(json_string_value(json_object_get(json_array_get(a, 0), "type")),
                  ENROLLMENT_TYPE);
    /* Avro string "course-v1:edX+DemoX+2024" (24 bytes: zigzag 48 = 0x30) */
    ASSERT_EQ_STR(json_string_value(json_object_get(json_array_get(a, 0), "key")),
                  "30636f757273652d76313a6564582b44656d6f582b32303234");
    /* Avro long 42: zigzag 84 = 0x54 */
    ASSERT_EQ_STR(json_string_value(json_object_get(json_array_get(b, 0), "key")), "54");
    json_decref(a);
    json_decref(b);
    json_decref(off);
    json_decref(bare);
    json_decref(data);
    edxbus_bus_destroy(bus);
}

TEST(test_events_from_the_bus_are_not_produced_again)
{
    edxbus_bus_t *bus = fx_bus(ROUTES, NULL);
    json_t *data = fx_json(ENROLLMENT_JSON);
    struct edxbus_metadata md;
    char err[EDXBUS_ERRSTR_SIZE] = "";
    edxbus_metadata_generate(&md, ENROLLMENT_TYPE, 0, "lms", err, sizeof err);
    ASSERT_EQ_INT(edxbus_send_event_with_custom_metadata(bus, &md, data, 0, NULL, err, sizeof err),
                  EDXBUS_OK);
    json_t *a = read_topic(bus, "enrollments");
    ASSERT_EQ_INT(json_array_size(a), 0);
    json_decref(a);
    /* ... but with its own metadata (edxbus produce --metadata) it is produced, id kept. */
    ASSERT_EQ_INT(edxbus_send_event_with_custom_metadata(bus, &md, data, EDXBUS_SEND_OWN_METADATA,
                                                         NULL, err, sizeof err),
                  EDXBUS_OK);
    a = read_topic(bus, "enrollments");
    ASSERT_EQ_INT(json_array_size(a), 1);
    ASSERT_EQ_STR(json_string_value(json_object_get(json_array_get(a, 0), "id")), md.id);
    json_decref(a);
    json_decref(data);
    edxbus_bus_destroy(bus);
}

/* The README's example with a misspelt backend: the bus refuses to start and says why, rather
 * than sending every event nowhere. */
TEST(test_typo_in_backend_fails_bus_new)
{
    char err[EDXBUS_ERRSTR_SIZE] = "";
    edxbus_conf_t *conf = fx_conf("{\"" ENROLLMENT_TYPE "\": {\"t\": {\"event_key_field\": "
                                  "\"enrollment.user.id\", \"enabled\": true}}}",
                                  NULL);
    ASSERT_EQ_INT(edxbus_conf_set(conf, "EVENT_BUS_PRODUCER", "redsi", err, sizeof err), EDXBUS_OK);
    fx_log_clear();
    ASSERT_TRUE(edxbus_bus_new(conf, err, sizeof err) == NULL);
    ASSERT_CONTAINS(err, "event bus producer cannot start");
    ASSERT_CONTAINS(err, "unknown backend \"redsi\"; did you mean redis?");
    ASSERT_EQ_STR(fx_log, ""); /* told once, through errstr */
    edxbus_conf_destroy(conf); /* still ours after a failure */

    /* A broken routing entry is a producer that cannot start too. */
    conf = fx_conf("{\"org.openedx.nope.v1\": {\"t\": {\"event_key_field\": \"a\", "
                   "\"enabled\": true}}}",
                   NULL);
    ASSERT_TRUE(edxbus_bus_new(conf, err, sizeof err) == NULL);
    ASSERT_CONTAINS(err, "org.openedx.nope.v1");
    edxbus_conf_destroy(conf);
}

TEST(test_broken_producer_settings_leave_producer_inactive_with_warning)
{
    fx_log_clear();
    char err0[EDXBUS_ERRSTR_SIZE] = "";
    edxbus_conf_t *conf = fx_conf("{\"org.openedx.nope.v1\": {\"t\": {\"event_key_field\": "
                                  "\"a\", \"enabled\": true}}}",
                                  NULL);
    ASSERT_EQ_INT(edxbus_conf_set(conf, "EVENT_BUS_PRODUCER_LAZY_START", "true", err0, sizeof err0),
                  EDXBUS_OK);
    edxbus_bus_t *bus = edxbus_bus_new(conf, err0, sizeof err0);
    ASSERT_TRUE(bus != NULL);
    ASSERT_TRUE(edxbus_bus_producer(bus) == NULL);
    ASSERT_TRUE(edxbus_bus_producer_problem(bus) != NULL);
    ASSERT_CONTAINS(edxbus_bus_producer_problem(bus), "org.openedx.nope.v1");
    ASSERT_CONTAINS(fx_log, "producer inactive");
    /* The bus still works for local receivers. */
    struct fx_recorder r = {0};
    edxbus_signal_connect(edxbus_bus_signal(bus, ENROLLMENT_TYPE), "rec", fx_record, &r);
    json_t *data = fx_json(ENROLLMENT_JSON);
    char err[EDXBUS_ERRSTR_SIZE];
    ASSERT_EQ_INT(edxbus_send_event(bus, ENROLLMENT_TYPE, data, 0, NULL, err, sizeof err),
                  EDXBUS_OK);
    ASSERT_EQ_INT(r.calls, 1);
    json_decref(data);
    fx_recorder_fini(&r);
    edxbus_bus_destroy(bus);
}

TEST(test_no_routing_means_no_producer_and_no_problem)
{
    edxbus_bus_t *bus = fx_bus(NULL, NULL);
    ASSERT_TRUE(edxbus_bus_producer(bus) == NULL);
    ASSERT_TRUE(edxbus_bus_producer_problem(bus) == NULL);
    edxbus_bus_destroy(bus);
}

TEST(test_bad_key_fields_are_errors_of_the_send)
{
    edxbus_bus_t *bus = fx_bus("{\"" ENROLLMENT_TYPE "\": {"
                               "\"t1\": {\"event_key_field\": \"enrollment.created_by\", "
                               "\"enabled\": true},"
                               "\"t2\": {\"event_key_field\": \"enrollment.user.nope\", "
                               "\"enabled\": true}}}",
                               NULL);
    ASSERT_TRUE(edxbus_bus_producer(bus) != NULL);
    json_t *data = fx_json(ENROLLMENT_JSON);
    struct edxbus_receiver_result res[2];
    struct edxbus_send_report rep = {.results = res, .cap = 2};
    char err[EDXBUS_ERRSTR_SIZE] = "";
    edxbus_producer_t *prod = edxbus_bus_producer(bus);
    uint64_t failed_before = edxbus_producer_failed(prod);
    /* The producer's own class, not EDXBUS_ERR_RECEIVER: a careful service does not retry an
     * event whose key can never be encoded. */
    edxbus_err_t e = edxbus_send_event(bus, ENROLLMENT_TYPE, data, 0, &rep, err, sizeof err);
    ASSERT_EQ_INT(e, EDXBUS_ERR_ENCODE);
    ASSERT_TRUE(!edxbus_err_is_retriable(e));
    ASSERT_EQ_INT(rep.producer_err, EDXBUS_ERR_ENCODE);
    ASSERT_CONTAINS(err, "nullable");
    ASSERT_CONTAINS(err, "event-bus-producer");
    ASSERT_CONTAINS(fx_log, "nope");
    /* Both topics refused the event: each failure is counted. */
    ASSERT_EQ_INT(edxbus_producer_failed(prod) - failed_before, 2);
    ASSERT_EQ_INT(edxbus_producer_delivered(prod), 0);
    json_decref(data);
    edxbus_bus_destroy(bus);
}

/* A local receiver's failure is still EDXBUS_ERR_RECEIVER, with no producer class. */
static edxbus_err_t failing_receiver(const edxbus_event_t *ev, void *opaque, char *errstr,
                                     size_t errstr_size)
{
    (void)ev;
    (void)opaque;
    snprintf(errstr, errstr_size, "no");
    return EDXBUS_ERR_IO;
}

TEST(test_local_receiver_failure_stays_receiver_class)
{
    edxbus_bus_t *bus = fx_bus("{\"" ENROLLMENT_TYPE "\": {\"t1\": {\"event_key_field\": "
                               "\"enrollment.user.id\", \"enabled\": true}}}",
                               NULL);
    edxbus_signal_connect(edxbus_bus_signal(bus, ENROLLMENT_TYPE), "local", failing_receiver, NULL);
    json_t *data = fx_json(ENROLLMENT_JSON);
    struct edxbus_send_report rep = {0};
    char err[EDXBUS_ERRSTR_SIZE] = "";
    ASSERT_EQ_INT(edxbus_send_event(bus, ENROLLMENT_TYPE, data, 0, &rep, err, sizeof err),
                  EDXBUS_ERR_RECEIVER);
    ASSERT_EQ_INT(rep.producer_err, EDXBUS_OK);
    ASSERT_EQ_INT(rep.ncalled, 2);
    ASSERT_EQ_INT(rep.nfailed, 1);
    ASSERT_EQ_STR(err, "receiver \"local\" failed: no");
    json_decref(data);
    edxbus_bus_destroy(bus);
}

/* The schema walk of the key reads the path by routing.c's rule, as the data walk does. */
TEST(test_key_path_rule_is_routing_s)
{
    edxbus_bus_t *bus = fx_bus("{\"" ENROLLMENT_TYPE "\": {"
                               "\"t1\": {\"event_key_field\": \"enrollment..user\", "
                               "\"enabled\": true}}}",
                               NULL);
    ASSERT_TRUE(edxbus_bus_producer(bus) != NULL);
    json_t *data = fx_json(ENROLLMENT_JSON);
    const json_t *key;
    char err[EDXBUS_ERRSTR_SIZE] = "", rerr[EDXBUS_ERRSTR_SIZE] = "";
    ASSERT_EQ_INT(edxbus_send_event(bus, ENROLLMENT_TYPE, data, 0, NULL, err, sizeof err),
                  EDXBUS_ERR_ENCODE); /* the producer refused it */
    ASSERT_EQ_INT(edxbus_routing_key(data, "enrollment..user", &key, rerr, sizeof rerr),
                  EDXBUS_ERR_INVALID_ARG);
    ASSERT_CONTAINS(rerr, "empty name at byte 11");
    ASSERT_CONTAINS(err, rerr);
    json_decref(data);
    edxbus_bus_destroy(bus);
}

TEST(test_keys_of_every_vector_read_from_the_bytes_are_the_reference_keys)
{
    char err[EDXBUS_ERRSTR_SIZE];
    json_t *rows = fx_vector_rows("kafka.jsonl"), *routes = json_object();
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row)
    {
        const char *type = json_string_value(json_object_get(row, "event_type"));
        json_object_set_new(routes, type,
                            json_pack("{s:{s:O, s:b}}", "keys", "event_key_field",
                                      json_object_get(row, "event_key_field"), "enabled", 1));
    }
    ASSERT_EQ_INT(json_array_size(rows), 216);
    char *routes_text = json_dumps(routes, 0);
    edxbus_bus_t *bus = fx_bus(routes_text, NULL);
    free(routes_text);
    json_array_foreach(rows, i, row)
    {
        size_t vlen;
        unsigned char *value =
            fx_unhex(json_string_value(json_object_get(row, "value_body_hex")), &vlen);
        edxbus_signal_t *sig =
            edxbus_bus_signal(bus, json_string_value(json_object_get(row, "event_type")));
        ASSERT_TRUE(sig != NULL);
        if (edxbus_signal_send_encoded(sig, value, vlen, 0, NULL, err, sizeof err) != EDXBUS_OK)
            TEST_FAIL_("row %zu: send_encoded: %s", i, err);
        /* The same event as JSON (the tree the reference's bytes decode to). */
        json_t *data = NULL;
        ASSERT_EQ_INT(
            edxbus_event_decode(edxbus_signal_event_type(sig), value, vlen, &data, err, sizeof err),
            EDXBUS_OK);
        if (edxbus_signal_send(sig, data, 0, NULL, err, sizeof err) != EDXBUS_OK)
            TEST_FAIL_("row %zu: send: %s", i, err);
        json_decref(data);
        free(value);
    }
    json_t *got = read_topic(bus, "keys");
    ASSERT_EQ_INT(json_array_size(got), 2 * 216);
    json_array_foreach(rows, i, row)
    {
        const char *want = json_string_value(json_object_get(row, "key_body_hex"));
        for (size_t k = 0; k < 2; k++) {
            const char *key =
                json_string_value(json_object_get(json_array_get(got, 2 * i + k), "key"));
            if (strlen(want) <= 200 && strcmp(key, want) != 0)
                TEST_FAIL_("row %zu (%s): key %s, want %s", i, k ? "json" : "bytes", key, want);
        }
    }
    json_decref(got);
    json_decref(rows);
    json_decref(routes);
    edxbus_bus_destroy(bus);
}

static int deliveries_ok, deliveries_failed;
static void on_delivery(void *opaque, const struct edxbus_delivery *d)
{
    (void)opaque;
    if (d->err == EDXBUS_OK && d->event_id[0] != '\0')
        deliveries_ok++;
    else
        deliveries_failed++;
}

TEST(test_async_produce_reports_every_delivery_after_flush)
{
    edxbus_bus_t *bus = fx_bus(ROUTES, "dev");
    edxbus_producer_t *prod = edxbus_bus_producer(bus);
    edxbus_producer_set_delivery_cb(prod, on_delivery, NULL);
    json_t *data = fx_json(ENROLLMENT_JSON);
    char err[EDXBUS_ERRSTR_SIZE] = "";
    for (int i = 0; i < 50; i++)
        ASSERT_EQ_INT(edxbus_send_event(bus, ENROLLMENT_TYPE, data, 0, NULL, err, sizeof err),
                      EDXBUS_OK);
    ASSERT_EQ_INT(edxbus_bus_flush(bus, 10000, err, sizeof err), EDXBUS_OK);
    ASSERT_EQ_INT(deliveries_ok, 100);
    ASSERT_EQ_INT(deliveries_failed, 0);
    ASSERT_EQ_INT(edxbus_producer_delivered(prod), 100);
    json_t *a = read_topic(bus, "dev-enrollments");
    ASSERT_EQ_INT(json_array_size(a), 50);
    json_decref(a);
    json_decref(data);
    edxbus_bus_destroy(bus);
}

TEST(test_full_topic_rule)
{
    edxbus_bus_t *bus = fx_bus(ROUTES, "");
    ASSERT_EQ_STR(edxbus_producer_full_topic(edxbus_bus_producer(bus), "x"), "x");
    edxbus_bus_destroy(bus);
    bus = fx_bus(ROUTES, "stage");
    ASSERT_EQ_STR(edxbus_producer_full_topic(edxbus_bus_producer(bus), "x"), "stage-x");
    ASSERT_EQ_STR(edxbus_producer_backend_name(edxbus_bus_producer(bus)), "sqlite");
    edxbus_bus_destroy(bus);
}

int main(void)
{
    fx_setup();
    RUN(test_routes_to_every_enabled_topic_with_prefix);
    RUN(test_events_from_the_bus_are_not_produced_again);
    RUN(test_typo_in_backend_fails_bus_new);
    RUN(test_broken_producer_settings_leave_producer_inactive_with_warning);
    RUN(test_no_routing_means_no_producer_and_no_problem);
    RUN(test_bad_key_fields_are_errors_of_the_send);
    RUN(test_local_receiver_failure_stays_receiver_class);
    RUN(test_key_path_rule_is_routing_s);
    RUN(test_keys_of_every_vector_read_from_the_bytes_are_the_reference_keys);
    RUN(test_async_produce_reports_every_delivery_after_flush);
    RUN(test_full_topic_rule);
    fx_cleanup();
    return test_report();
}
