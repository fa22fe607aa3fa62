/* tests/integration/kafka/test_kafka_evolution.c — schema evolution through the consumer front
 * end (consumer.h) on the mock cluster and the test registry.
 *
 * A Kafka record names its writer's schema by registry id; the worker resolves it against the
 * catalog's schema (the reader) with edxbus_avro_resolver. Here records of the enrollment event
 * are written under four writer schemas and read by edxbus_consumer_* on a bus whose
 * EVENT_BUS_CONSUMER is kafka:
 *   newer     the catalog schema plus CourseData.language (["null","string"], default null)
 *             and a top-level trace_id (string, default ""): the receiver gets the catalog's
 *             shape, the added fields dropped;
 *   older     the catalog schema minus CourseEnrollmentData.created_by: the reader's default
 *             (null) appears;
 *   same      the catalog schema itself: decoded directly, no resolver, and the record's body
 *             is the event's value as it is;
 *   broken    the catalog schema minus a field with no default (mode): not resolvable, so the
 *             event fails with a line naming the field, and is logged and acknowledged.
 * The receiver also checks that the event's Avro body under the catalog schema (what a
 * receiver that forwards bytes gets) decodes to the same data.
 */
#include "backends/kafka/kafka_int.h"
#include "edxbus/edxbus.h"
#include "kafka_harness.h"
#include "test.h"

static struct test_kafka k;
static const struct edxbus_backend_ops *ops = &edxbus_backend_kafka;
static const char *type = "org.openedx.learning.course.enrollment.created.v1";
static const char *topic = "evolution";

/* What the receiver saw, in order. */
#define MAX_SEEN 8
static json_t *seen[MAX_SEEN];
static char *seen_writer[MAX_SEEN]; /* msg->value_schema of each */
static bool seen_body[MAX_SEEN];    /* the event's value is the record's body, not re-encoded */
static int nseen;
static int value_mismatches;

static edxbus_err_t on_event(const edxbus_event_t *ev, void *opaque, char *errstr,
                             size_t errstr_size)
{
    (void)opaque;
    (void)errstr;
    (void)errstr_size;
    if (nseen >= MAX_SEEN)
        return EDXBUS_OK;
    const json_t *data = edxbus_event_get_data(ev);
    size_t len = 0;
    const uint8_t *value = edxbus_event_get_value(ev, &len);
    json_t *again = NULL;
    char err[EDXBUS_ERRSTR_SIZE];
    if (value == NULL ||
        edxbus_event_decode(edxbus_event_get_type(ev), value, len, &again, err, sizeof err) !=
            EDXBUS_OK ||
        !json_equal(again, data))
        value_mismatches++;
    json_decref(again);
    const struct edxbus_msg *msg = edxbus_event_get_msg(ev);
    seen_writer[nseen] = msg != NULL && msg->value_schema ? strdup(msg->value_schema) : NULL;
    seen_body[nseen] = msg != NULL && value == msg->value;
    seen[nseen++] = json_deep_copy(data);
    return EDXBUS_OK;
}

/* The "realistic" enrollment row of the vectors, decoded under the catalog schema. */
static json_t *realistic_enrollment(const edxbus_event_type_t *et)
{
    json_t *rows = test_kafka_rows();
    json_t *data = NULL;
    for (size_t i = 0; i < json_array_size(rows) && data == NULL; i++) {
        const json_t *row = json_array_get(rows, i);
        if (strcmp(test_row_str(row, "event_type"), type) != 0 ||
            strcmp(test_row_str(row, "case"), "realistic") != 0)
            continue;
        size_t len;
        unsigned char *body = test_unhex(test_row_str(row, "value_body_hex"), &len);
        char errstr[EDXBUS_ERRSTR_SIZE];
        if (edxbus_event_decode(et, body, len, &data, errstr, sizeof errstr) != EDXBUS_OK)
            fprintf(stderr, "decode: %s\n", errstr);
        free(body);
    }
    json_decref(rows);
    return data;
}

/* The fields array of the record named @p name inside the schema @p node (a JSON tree). */
static json_t *record_fields(json_t *node, const char *name)
{
    if (json_is_array(node)) {
        size_t i;
        json_t *item;
        json_array_foreach(node, i, item)
        {
            json_t *r = record_fields(item, name);
            if (r != NULL)
                return r;
        }
        return NULL;
    }
    if (!json_is_object(node))
        return NULL;
    const char *n = json_string_value(json_object_get(node, "name"));
    if (n != NULL && strcmp(n, name) == 0 && json_is_array(json_object_get(node, "fields")))
        return json_object_get(node, "fields");
    json_t *r = record_fields(json_object_get(node, "fields"), name);
    return r != NULL ? r : record_fields(json_object_get(node, "type"), name);
}

static void remove_field(json_t *fields, const char *name)
{
    for (size_t i = 0; i < json_array_size(fields); i++)
        if (strcmp(json_string_value(json_object_get(json_array_get(fields, i), "name")), name) ==
            0) {
            json_array_remove(fields, i);
            return;
        }
}

static char *dump(const json_t *schema)
{
    return json_dumps(schema, JSON_COMPACT | JSON_SORT_KEYS);
}

/* Produce @p data encoded under @p writer_text, naming that schema (registered by the backend
 * under the topic-record subject, as a Python producer of another version would). */
static void produce(void *be, const char *writer_text, const json_t *data)
{
    char errstr[EDXBUS_ERRSTR_SIZE];
    edxbus_avro_schema_t *writer =
        edxbus_avro_schema_parse(writer_text, strlen(writer_text), errstr, sizeof errstr);
    ASSERT_TRUE(writer != NULL);
    struct edxbus_buf body = EDXBUS_BUF_INIT;
    edxbus_err_t err = edxbus_avro_encode(writer, data, 0, &body, errstr, sizeof errstr);
    if (err != EDXBUS_OK)
        fprintf(stderr, "encode: %s\n", errstr);
    ASSERT_EQ_INT(err, EDXBUS_OK);
    struct edxbus_metadata md;
    ASSERT_EQ_INT(edxbus_metadata_generate(&md, type, 0, "lms", errstr, sizeof errstr), EDXBUS_OK);
    struct edxbus_msg msg = {.topic = topic,
                             .metadata = &md,
                             .value = body.data,
                             .value_len = body.len,
                             .value_schema = writer_text};
    err = ops->produce(be, &msg, NULL, NULL, errstr, sizeof errstr);
    if (err != EDXBUS_OK)
        fprintf(stderr, "produce: %s\n", errstr);
    ASSERT_EQ_INT(err, EDXBUS_OK);
    edxbus_buf_fini(&body);
    edxbus_avro_schema_destroy(writer);
}

static int errors_logged;
static char last_error[1024];
static void log_errors(edxbus_log_level_t level, const char *line, void *opaque)
{
    (void)opaque;
    if (level == EDXBUS_LOG_ERROR) {
        errors_logged++;
        snprintf(last_error, sizeof last_error, "%s", line);
    }
    if (getenv("EDXBUS_TEST_VERBOSE") != NULL)
        fprintf(stderr, "log %d: %s\n", (int)level, line);
}

TEST(test_writer_schemas_resolve_to_the_catalog_schema)
{
    char errstr[EDXBUS_ERRSTR_SIZE];
    test_kafka_topic(&k, topic, 1);
    edxbus_conf_t *conf = test_kafka_consumer_conf(&k);
    edxbus_conf_set_log(conf, log_errors, NULL);
    ASSERT_EQ_INT(edxbus_conf_set(conf, "EVENT_BUS_CONSUMER", "kafka", errstr, sizeof errstr),
                  EDXBUS_OK);
    ASSERT_EQ_INT(
        edxbus_conf_set(conf, "EVENT_BUS_DEAD_LETTER_ENABLED", "false", errstr, sizeof errstr),
        EDXBUS_OK);
    edxbus_bus_t *bus = edxbus_bus_new(conf, errstr, sizeof errstr);
    ASSERT_TRUE(bus != NULL);
    edxbus_signal_t *sig = edxbus_bus_signal(bus, type);
    ASSERT_TRUE(sig != NULL);
    ASSERT_EQ_INT(edxbus_signal_connect(sig, "evolution", on_event, NULL), EDXBUS_OK);
    const edxbus_event_type_t *et = edxbus_signal_event_type(sig);

    json_t *data = realistic_enrollment(et);
    ASSERT_TRUE(data != NULL);
    json_t *enrollment = json_object_get(data, "enrollment");
    ASSERT_TRUE(json_is_object(json_object_get(enrollment, "created_by"))); /* not null */
    const char *catalog_text = edxbus_event_type_schema_text(et);

    /* Newer: CourseData.language and a top-level trace_id, both with defaults. */
    json_t *newer = json_loads(catalog_text, 0, NULL);
    json_array_append_new(
        record_fields(newer, "CourseData"),
        json_pack("{s:s, s:[s,s], s:n}", "name", "language", "type", "null", "string", "default"));
    json_array_append_new(
        json_object_get(newer, "fields"),
        json_pack("{s:s, s:s, s:s}", "name", "trace_id", "type", "string", "default", ""));
    char *newer_text = dump(newer);
    json_t *newer_data = json_deep_copy(data);
    json_object_set_new(json_object_get(json_object_get(newer_data, "enrollment"), "course"),
                        "language", json_string("fr"));
    json_object_set_new(newer_data, "trace_id", json_string("t-1"));

    /* Older: no created_by (the reader's default, null, must appear). */
    json_t *older = json_loads(catalog_text, 0, NULL);
    remove_field(record_fields(older, "CourseEnrollmentData"), "created_by");
    char *older_text = dump(older);
    json_t *older_data = json_deep_copy(data);
    json_object_del(json_object_get(older_data, "enrollment"), "created_by");
    json_t *expect_older = json_deep_copy(data);
    json_object_set_new(json_object_get(expect_older, "enrollment"), "created_by", json_null());

    /* Broken: no mode, which has no default in the reader. */
    json_t *broken = json_loads(catalog_text, 0, NULL);
    remove_field(record_fields(broken, "CourseEnrollmentData"), "mode");
    char *broken_text = dump(broken);
    json_t *broken_data = json_deep_copy(data);
    json_object_del(json_object_get(broken_data, "enrollment"), "mode");

    edxbus_conf_t *pconf = test_kafka_conf(&k);
    void *be = NULL;
    ASSERT_EQ_INT(ops->producer_open(pconf, &be, errstr, sizeof errstr), EDXBUS_OK);
    edxbus_conf_destroy(pconf);
    produce(be, newer_text, newer_data);
    produce(be, older_text, older_data);
    produce(be, catalog_text, data);
    produce(be, broken_text, broken_data);
    ops->producer_close(be);

    /* Each writer schema went to the registry under the value subject, as its own version. */
    char subject[256];
    snprintf(subject, sizeof subject, "%s-%s.CloudEvent", topic, type);
    int si = test_registry_find_subject(&k.registry, subject);
    ASSERT_TRUE(si >= 0);
    ASSERT_EQ_INT(k.registry.nversions[si], 4);

    json_t *extra = json_pack("{s:s}", "start", "earliest");
    struct edxbus_consumer_config cfg = {
        .topic = topic, .group = "g-evolution", .extra = extra, .start_time_ms = -1};
    edxbus_consumer_t *cons = edxbus_consumer_new(bus, &cfg, errstr, sizeof errstr);
    json_decref(extra);
    if (cons == NULL)
        fprintf(stderr, "consumer: %s\n", errstr);
    ASSERT_TRUE(cons != NULL);
    const struct edxbus_consumer_stats *st = edxbus_consumer_stats(cons);
    for (int idle = 0; st->events < 4 && idle < 60; idle++) {
        size_t handled = 0;
        edxbus_err_t err = edxbus_consumer_poll_once(cons, 500, &handled, errstr, sizeof errstr);
        if (err != EDXBUS_OK)
            fprintf(stderr, "poll: %s\n", errstr);
    }
    ASSERT_EQ_INT(st->events, 4);
    ASSERT_EQ_INT(st->delivered, 3);
    ASSERT_EQ_INT(st->logged, 1);
    ASSERT_EQ_INT(nseen, 3);
    ASSERT_EQ_INT(value_mismatches, 0);
    /* newer: catalog-shaped, the added fields gone */
    ASSERT_TRUE(json_equal(seen[0], data));
    ASSERT_EQ_STR(seen_writer[0], newer_text);
    /* older: created_by took the reader's default */
    ASSERT_TRUE(json_equal(seen[1], expect_older));
    ASSERT_TRUE(
        json_is_null(json_object_get(json_object_get(seen[1], "enrollment"), "created_by")));
    ASSERT_EQ_STR(seen_writer[1], older_text);
    ASSERT_TRUE(!seen_body[0] && !seen_body[1]); /* re-encoded under the catalog schema */
    /* same schema: decoded directly, the record's body is the event's value */
    ASSERT_TRUE(json_equal(seen[2], data));
    ASSERT_TRUE(seen_body[2]);
    /* broken: one error line naming the field and the writer schema problem */
    ASSERT_TRUE(errors_logged >= 1);
    ASSERT_CONTAINS(last_error, "writer schema does not resolve");
    ASSERT_CONTAINS(last_error, "mode");
    edxbus_consumer_destroy(cons);

    for (int i = 0; i < nseen; i++) {
        json_decref(seen[i]);
        free(seen_writer[i]);
    }
    json_decref(newer);
    json_decref(older);
    json_decref(broken);
    json_decref(newer_data);
    json_decref(older_data);
    json_decref(broken_data);
    json_decref(expect_older);
    free(newer_text);
    free(older_text);
    free(broken_text);
    json_decref(data);
    edxbus_bus_destroy(bus);
}

int main(void)
{
    test_kafka_start(&k, 1);
    RUN(test_writer_schemas_resolve_to_the_catalog_schema);
    test_kafka_stop(&k);
    return test_report();
}
