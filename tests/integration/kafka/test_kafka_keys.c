/* tests/integration/kafka/test_kafka_keys.c — dotted event_key_field paths through the producer
 * front end, on the mock cluster and the test registry.
 *
 * Every row of tests/vectors/kafka.jsonl is sent through a bus routed to Kafka
 * (EVENT_BUS_PRODUCER=kafka, EVENT_BUS_TOPIC_PREFIX=dev, EVENT_BUS_PRODUCER_CONFIG giving the
 * row's event_key_field, e.g. enrollment.course.course_key or certificate.user.id), with the
 * row's own metadata: the record must carry the row's framed key and value and its headers, so
 * the producer's key walk (routing.c, producer.c) agrees with the reference on all 216 rows.
 * Then enrollment.user.id (a long key, not among the vectors' key fields) through
 * edxbus_send_event, and key fields the reference cannot produce (nullable, or reached through
 * a nullable record) refused with a clear error and nothing produced.
 */
#include "backends/kafka/kafka_int.h"
#include "edxbus/edxbus.h"
#include "kafka_harness.h"
#include "test.h"
#include "wire_check.h"

static struct test_kafka k;
static json_t *rows;
static const char *enrollment = "org.openedx.learning.course.enrollment.created.v1";

/* A bus producing to Kafka, routing @p type to topic @p topic (without the "dev" prefix) keyed
 * by @p key_field. */
static edxbus_bus_t *kafka_bus(const char *type, const char *topic, const char *key_field)
{
    char errstr[EDXBUS_ERRSTR_SIZE];
    edxbus_conf_t *conf = test_kafka_conf(&k);
    edxbus_conf_set(conf, "EVENT_BUS_PRODUCER", "kafka", errstr, sizeof errstr);
    edxbus_conf_set(conf, "EVENT_BUS_TOPIC_PREFIX", "dev", errstr, sizeof errstr);
    json_t *routing =
        json_pack("{s:{s:{s:s, s:b}}}", type, topic, "event_key_field", key_field, "enabled", 1);
    if (edxbus_conf_set_json(conf, "EVENT_BUS_PRODUCER_CONFIG", routing, errstr, sizeof errstr) !=
        EDXBUS_OK)
        fprintf(stderr, "routing: %s\n", errstr);
    json_decref(routing);
    edxbus_bus_t *bus = edxbus_bus_new(conf, errstr, sizeof errstr);
    if (bus == NULL) {
        fprintf(stderr, "bus: %s\n", errstr);
        edxbus_conf_destroy(conf);
    } else if (edxbus_bus_producer_problem(bus) != NULL) {
        fprintf(stderr, "producer: %s\n", edxbus_bus_producer_problem(bus));
    }
    return bus;
}

static json_t *row_data(const edxbus_bus_t *bus, const json_t *row)
{
    const edxbus_event_type_t *et =
        edxbus_catalog_find(edxbus_bus_catalog(bus), test_row_str(row, "event_type"));
    size_t len;
    unsigned char *body = test_unhex(test_row_str(row, "value_body_hex"), &len);
    json_t *data = NULL;
    char errstr[EDXBUS_ERRSTR_SIZE];
    if (et == NULL || edxbus_event_decode(et, body, len, &data, errstr, sizeof errstr) != EDXBUS_OK)
        fprintf(stderr, "row %s: cannot decode\n", test_row_str(row, "event_type"));
    free(body);
    return data;
}

static void check_record(const rd_kafka_message_t *m, const json_t *row)
{
    char *key = test_hex(m->key, m->key_len), *value = test_hex(m->payload, m->len);
    bool same = strcmp(key, test_row_str(row, "key_framed_hex")) == 0 &&
                strcmp(value, test_row_str(row, "value_framed_hex")) == 0;
    if (!same)
        fprintf(stderr, "row %s/%s (%s):\n key   %s\n want  %s\n value %s\n want  %s\n",
                test_row_str(row, "event_type"), test_row_str(row, "case"),
                test_row_str(row, "event_key_field"), key, test_row_str(row, "key_framed_hex"),
                value, test_row_str(row, "value_framed_hex"));
    free(key);
    free(value);
    ASSERT_TRUE(same);
    assert_headers_equal(m, json_object_get(row, "headers"));
}

/* The rows come three per event type, all keyed by the same field. One bus per event type on
 * a fresh registry, as the vectors were made: the key gets id 1 and the value id 2. */
TEST(test_every_row_keyed_through_the_producer_matches_reference_bytes)
{
    const char *topic = "dev-event-bus-vectors"; /* "dev" + "event-bus-vectors" */
    test_kafka_topic(&k, topic, 1);
    char errstr[EDXBUS_ERRSTR_SIZE];
    size_t n = json_array_size(rows);
    for (size_t i = 0; i < n;) {
        const json_t *first = json_array_get(rows, i);
        const char *type = test_row_str(first, "event_type");
        const char *key_field = test_row_str(first, "event_key_field");
        ASSERT_TRUE(strchr(key_field, '.') != NULL); /* every vector key field is dotted */
        test_registry_reset(&k.registry);
        edxbus_bus_t *bus = kafka_bus(type, "event-bus-vectors", key_field);
        ASSERT_TRUE(bus != NULL);
        ASSERT_TRUE(edxbus_bus_producer(bus) != NULL);
        for (; i < n && strcmp(test_row_str(json_array_get(rows, i), "event_type"), type) == 0;
             i++) {
            const json_t *row = json_array_get(rows, i);
            ASSERT_EQ_STR(test_row_str(row, "event_key_field"), key_field);
            json_t *data = row_data(bus, row);
            ASSERT_TRUE(data != NULL);
            struct edxbus_metadata md;
            test_row_metadata(row, &md);
            struct edxbus_send_report report = {0};
            edxbus_err_t err = edxbus_send_event_with_custom_metadata(
                bus, &md, data, EDXBUS_SEND_OWN_METADATA | EDXBUS_SEND_NO_CHECKS, &report, errstr,
                sizeof errstr);
            json_decref(data);
            if (err != EDXBUS_OK)
                fprintf(stderr, "send %s/%s: %s\n", type, test_row_str(row, "case"), errstr);
            ASSERT_EQ_INT(err, EDXBUS_OK);
        }
        ASSERT_EQ_INT(edxbus_bus_flush(bus, 10000, errstr, sizeof errstr), EDXBUS_OK);
        /* Key first, then value: the key subject names the key's type, not the field. */
        ASSERT_EQ_INT(k.registry.nrequests, 2);
        ASSERT_EQ_STR(k.registry.requests[0].path,
                      test_row_str(json_object_get(first, "key_register_request_2_12_0"), "path"));
        ASSERT_EQ_STR(k.registry.requests[0].body,
                      test_row_str(json_object_get(first, "key_register_request_2_12_0"), "body"));
        edxbus_bus_destroy(bus);
    }
    rd_kafka_t *reader = test_kafka_raw_reader(&k, topic, 1);
    for (size_t i = 0; i < n; i++) {
        rd_kafka_message_t *m = test_kafka_raw_next(reader, 10000);
        ASSERT_TRUE(m != NULL);
        check_record(m, json_array_get(rows, i));
        rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(reader);
    rd_kafka_destroy(reader);
}

/* Avro long: zigzag varint, hex. */
static void long_hex(int64_t v, char *out, size_t size)
{
    uint64_t z = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
    size_t n = 0;
    while (z >= 0x80 && n + 3 < size) {
        snprintf(out + n, size - n, "%02x", (unsigned)(z & 0x7f) | 0x80);
        n += 2;
        z >>= 7;
    }
    snprintf(out + n, size - n, "%02x", (unsigned)z);
}

TEST(test_long_key_enrollment_user_id)
{
    const char *topic = "dev-event-bus-userid";
    test_kafka_topic(&k, topic, 1);
    test_registry_reset(&k.registry);
    char errstr[EDXBUS_ERRSTR_SIZE];
    edxbus_bus_t *bus = kafka_bus(enrollment, "event-bus-userid", "enrollment.user.id");
    ASSERT_TRUE(bus != NULL);
    const json_t *row = NULL;
    for (size_t i = 0; i < json_array_size(rows) && row == NULL; i++)
        if (strcmp(test_row_str(json_array_get(rows, i), "event_type"), enrollment) == 0 &&
            strcmp(test_row_str(json_array_get(rows, i), "case"), "realistic") == 0)
            row = json_array_get(rows, i);
    ASSERT_TRUE(row != NULL);
    json_t *data = row_data(bus, row);
    ASSERT_TRUE(data != NULL);
    json_int_t user_id = json_integer_value(
        json_object_get(json_object_get(json_object_get(data, "enrollment"), "user"), "id"));
    ASSERT_TRUE(user_id != 0);
    ASSERT_EQ_INT(edxbus_send_event(bus, enrollment, data, 0, NULL, errstr, sizeof errstr),
                  EDXBUS_OK);
    ASSERT_EQ_INT(edxbus_bus_flush(bus, 10000, errstr, sizeof errstr), EDXBUS_OK);
    edxbus_bus_destroy(bus);
    json_decref(data);
    /* The key schema is the field definition with its name; its subject the type's. */
    ASSERT_EQ_INT(k.registry.nrequests, 2);
    ASSERT_EQ_STR(k.registry.requests[0].path,
                  "/subjects/dev-event-bus-userid-long/versions?normalize=False");
    ASSERT_EQ_STR(k.registry.requests[0].body,
                  "{\"schema\": \"{\\\"name\\\": \\\"id\\\", \\\"type\\\": \\\"long\\\"}\", "
                  "\"schemaType\": \"AVRO\", \"references\": []}");
    char want_key[64] = "0000000001";
    long_hex(user_id, want_key + 10, sizeof want_key - 10);
    rd_kafka_t *reader = test_kafka_raw_reader(&k, topic, 1);
    rd_kafka_message_t *m = test_kafka_raw_next(reader, 10000);
    ASSERT_TRUE(m != NULL);
    char *key = test_hex(m->key, m->key_len), *value = test_hex(m->payload, m->len);
    ASSERT_EQ_STR(key, want_key);
    ASSERT_EQ_STR(value, test_row_str(row, "value_framed_hex")); /* value id 2 here too */
    free(key);
    free(value);
    rd_kafka_message_destroy(m);
    rd_kafka_consumer_close(reader);
    rd_kafka_destroy(reader);
}

/* Count the records of @p topic (reading from the start for @p wait_ms). */
static int count_records(const char *topic, int wait_ms)
{
    rd_kafka_t *reader = test_kafka_raw_reader(&k, topic, 1);
    int n = 0;
    for (rd_kafka_message_t *m = test_kafka_raw_next(reader, wait_ms); m != NULL;
         m = test_kafka_raw_next(reader, wait_ms)) {
        n++;
        rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(reader);
    rd_kafka_destroy(reader);
    return n;
}

TEST(test_nullable_key_fields_are_refused)
{
    static const char *const paths[] = {
        "enrollment.course.start",  /* ["null", "string"] */
        "enrollment.created_by.id", /* reached through ["null", "UserData"] */
    };
    const char *topic = "dev-event-bus-nullable";
    test_kafka_topic(&k, topic, 1);
    const json_t *row = NULL;
    for (size_t i = 0; i < json_array_size(rows) && row == NULL; i++)
        if (strcmp(test_row_str(json_array_get(rows, i), "event_type"), enrollment) == 0 &&
            strcmp(test_row_str(json_array_get(rows, i), "case"), "realistic") == 0)
            row = json_array_get(rows, i);
    ASSERT_TRUE(row != NULL);
    for (size_t p = 0; p < sizeof paths / sizeof paths[0]; p++) {
        test_registry_reset(&k.registry);
        edxbus_bus_t *bus = kafka_bus(enrollment, "event-bus-nullable", paths[p]);
        ASSERT_TRUE(bus != NULL);
        json_t *data = row_data(bus, row);
        char errstr[EDXBUS_ERRSTR_SIZE] = "";
        struct edxbus_send_report report = {0};
        edxbus_err_t err =
            edxbus_send_event(bus, enrollment, data, 0, &report, errstr, sizeof errstr);
        json_decref(data);
        ASSERT_EQ_INT(err, EDXBUS_ERR_ENCODE); /* the bus's producer refused it: not retriable */
        ASSERT_EQ_INT(report.producer_err, EDXBUS_ERR_ENCODE);
        ASSERT_CONTAINS(errstr, paths[p]);
        ASSERT_CONTAINS(errstr, "nullable");
        ASSERT_CONTAINS(errstr, "cannot be produced");
        ASSERT_EQ_INT(edxbus_bus_flush(bus, 10000, errstr, sizeof errstr), EDXBUS_OK);
        edxbus_bus_destroy(bus);
        ASSERT_EQ_INT(k.registry.nrequests, 0); /* nothing registered */
    }
    ASSERT_EQ_INT(count_records(topic, 1000), 0); /* nothing produced */
}

int main(void)
{
    rows = test_kafka_rows();
    if (rows == NULL || json_array_size(rows) != 216) {
        fprintf(stderr, "cannot read kafka.jsonl\n");
        return 1;
    }
    test_kafka_start(&k, 1);
    RUN(test_every_row_keyed_through_the_producer_matches_reference_bytes);
    RUN(test_long_key_enrollment_user_id);
    RUN(test_nullable_key_fields_are_refused);
    test_kafka_stop(&k);
    json_decref(rows);
    return test_report();
}
