/* tests/unit/bus/test_worker.c — the worker loop on the embedded broker: re-emission with the
 * original metadata, acks, retries, dead letters (and the log-only policy), undecodable
 * messages, start positions, the stop flag, the kill switch, the consecutive-errors limit, and
 * the lazy decode: every row of tests/vectors/avro.jsonl consumed gives the reference tree when a
 * receiver asks for it (once per event), and its bytes unchanged when a receiver reads them.
 */
#include "test.h"

#include "unit/bus/bus_fixtures.h"

#define ROUTES                                                                                     \
    "{\"" ENROLLMENT_TYPE "\": {"                                                                  \
    "\"enrollments\": {\"event_key_field\": \"enrollment.course.course_key\", \"enabled\": "       \
    "true}}}"

static void send_n(edxbus_bus_t *bus, int n, char ids[][EDXBUS_METADATA_ID_MAX])
{
    json_t *data = fx_json(ENROLLMENT_JSON);
    for (int i = 0; i < n; i++) {
        struct edxbus_send_report rep = {0};
        char err[EDXBUS_ERRSTR_SIZE] = "";
        if (edxbus_send_event(bus, ENROLLMENT_TYPE, data, 0, &rep, err, sizeof err) != EDXBUS_OK)
            TEST_FAIL_("send: %s", err);
        if (ids != NULL)
            snprintf(ids[i], EDXBUS_METADATA_ID_MAX, "%s", rep.metadata.id);
    }
    json_decref(data);
}

static edxbus_consumer_t *consumer(edxbus_bus_t *bus, const char *group, const char *extra,
                                   uint64_t max, volatile sig_atomic_t *stop)
{
    json_t *x = extra ? fx_json(extra) : NULL;
    struct edxbus_consumer_config cfg = {.topic = "enrollments",
                                         .group = group,
                                         .extra = x,
                                         .start_time_ms = -1,
                                         .max_events = max,
                                         .stop = stop};
    char err[EDXBUS_ERRSTR_SIZE] = "";
    edxbus_consumer_t *cons = edxbus_consumer_new(bus, &cfg, err, sizeof err);
    json_decref(x);
    if (cons == NULL)
        TEST_FAIL_("consumer_new: %s", err);
    return cons;
}

/* Run until @p n events were handled or a few idle polls pass. */
static void drain(edxbus_consumer_t *cons)
{
    char err[EDXBUS_ERRSTR_SIZE];
    for (int idle = 0; idle < 3;) {
        size_t h = 0;
        edxbus_err_t e = edxbus_consumer_poll_once(cons, 50, &h, err, sizeof err);
        if (e != EDXBUS_OK)
            TEST_FAIL_("poll_once: %s", err);
        idle = h == 0 ? idle + 1 : 0;
    }
}

static size_t count_topic(const edxbus_bus_t *bus, const char *topic, json_t **first_headers)
{
    char err[EDXBUS_ERRSTR_SIZE];
    const struct edxbus_backend_ops *ops = edxbus_backend_find("sqlite", NULL, err, sizeof err);
    struct edxbus_consumer_opts opts = {.topic = topic, .start = "earliest", .start_time_ms = -1};
    void *be = NULL;
    if (ops->consumer_open(edxbus_bus_conf(bus), &opts, &be, err, sizeof err) != EDXBUS_OK)
        return 0;
    size_t n = 0;
    for (;;) {
        struct edxbus_batch b = {0};
        if (ops->poll(be, &b, 100, 50, err, sizeof err) != EDXBUS_OK || b.n == 0)
            break;
        if (n == 0 && first_headers != NULL) {
            *first_headers = json_object();
            for (size_t h = 0; h < b.msgs[0].nheaders; h++)
                json_object_set_new(*first_headers, b.msgs[0].headers[h].name,
                                    json_stringn((const char *)b.msgs[0].headers[h].value,
                                                 b.msgs[0].headers[h].len));
            json_object_set_new(*first_headers, "id", json_string(b.msgs[0].metadata->id));
        }
        n += b.n;
    }
    ops->consumer_close(be);
    return n;
}

TEST(test_consumed_events_keep_metadata_and_are_acked)
{
    edxbus_bus_t *bus = fx_bus(ROUTES, "dev");
    struct fx_recorder r = {0};
    edxbus_signal_connect(edxbus_bus_signal(bus, ENROLLMENT_TYPE), "rec", fx_record, &r);
    char ids[3][EDXBUS_METADATA_ID_MAX];
    edxbus_consumer_t *cons = consumer(bus, "g1", "{\"start\": \"earliest\"}", 0, NULL);
    ASSERT_EQ_STR(edxbus_consumer_topic(cons), "dev-enrollments");
    send_n(bus, 3, ids);
    r.calls = 0;
    drain(cons);
    ASSERT_EQ_INT(r.calls, 3);
    ASSERT_TRUE(r.from_bus);
    ASSERT_EQ_STR(r.id, ids[2]);
    ASSERT_EQ_STR(r.source, "openedx/lms/web");
    ASSERT_EQ_INT(edxbus_consumer_stats(cons)->events, 3);
    edxbus_consumer_destroy(cons);
    /* Acked: the group resumes after them; nothing was produced again. */
    cons = consumer(bus, "g1", "{\"start\": \"earliest\"}", 0, NULL);
    r.calls = 0;
    drain(cons);
    ASSERT_EQ_INT(r.calls, 0);
    ASSERT_EQ_INT(count_topic(bus, "dev-enrollments", NULL), 3);
    edxbus_consumer_destroy(cons);
    fx_recorder_fini(&r);
    edxbus_bus_destroy(bus);
}

TEST(test_failing_receiver_is_retried_then_dead_lettered)
{
    edxbus_bus_t *bus = fx_bus(ROUTES, NULL);
    struct fx_recorder ok = {.tag = 1};
    struct fx_recorder bad = {.tag = 2, .fail_times = -1};
    edxbus_signal_t *sig = edxbus_bus_signal(bus, ENROLLMENT_TYPE);
    edxbus_consumer_t *cons = consumer(bus, "g", "{\"start\": \"earliest\"}", 0, NULL);
    char ids[1][EDXBUS_METADATA_ID_MAX];
    send_n(bus, 1, ids);
    edxbus_signal_connect(sig, "ok", fx_record, &ok);
    edxbus_signal_connect(sig, "bad", fx_record, &bad);
    drain(cons);
    ASSERT_EQ_INT(bad.calls, 3); /* EVENT_BUS_CONSUMER_RETRIES: 3 tries in all */
    ASSERT_EQ_INT(bad.attempt, 3);
    ASSERT_EQ_INT(ok.calls, 1); /* the receiver that succeeded is not called again */
    const struct edxbus_consumer_stats *st = edxbus_consumer_stats(cons);
    ASSERT_EQ_INT(st->dead_lettered, 1);
    ASSERT_EQ_INT(st->retries, 2);
    ASSERT_EQ_INT(st->events, 1);
    json_t *h = NULL;
    ASSERT_EQ_INT(count_topic(bus, "enrollments-dlq", &h), 1);
    ASSERT_EQ_STR(json_string_value(json_object_get(h, "id")), ids[0]);
    ASSERT_EQ_STR(json_string_value(json_object_get(h, "group")), "g");
    ASSERT_EQ_STR(json_string_value(json_object_get(h, "attempts")), "3");
    ASSERT_EQ_STR(json_string_value(json_object_get(h, "original_topic")), "enrollments");
    ASSERT_TRUE(json_object_get(h, "original_position") != NULL);
    ASSERT_CONTAINS(json_string_value(json_object_get(h, "error")), "recorder 2 says no");
    json_decref(h);
    edxbus_consumer_destroy(cons);

    /* Replay puts it back on the original topic, once. */
    uint64_t n = 0;
    char err[EDXBUS_ERRSTR_SIZE] = "";
    ASSERT_EQ_INT(edxbus_dlq_replay(edxbus_bus_conf(bus), "enrollments", &n, err, sizeof err),
                  EDXBUS_OK);
    ASSERT_EQ_INT(n, 1);
    ASSERT_EQ_INT(edxbus_dlq_replay(edxbus_bus_conf(bus), "enrollments", &n, err, sizeof err),
                  EDXBUS_OK);
    ASSERT_EQ_INT(n, 0);
    ASSERT_EQ_INT(count_topic(bus, "enrollments", NULL), 2);
    fx_recorder_fini(&ok);
    fx_recorder_fini(&bad);
    edxbus_bus_destroy(bus);
}

TEST(test_receiver_that_recovers_is_not_dead_lettered)
{
    edxbus_bus_t *bus = fx_bus(ROUTES, NULL);
    struct fx_recorder flaky = {.fail_times = 2};
    edxbus_consumer_t *cons = consumer(bus, "g", "{\"start\": \"earliest\"}", 0, NULL);
    send_n(bus, 1, NULL);
    edxbus_signal_connect(edxbus_bus_signal(bus, ENROLLMENT_TYPE), "flaky", fx_record, &flaky);
    drain(cons);
    ASSERT_EQ_INT(flaky.calls, 3);
    ASSERT_EQ_INT(edxbus_consumer_stats(cons)->delivered, 1);
    ASSERT_EQ_INT(edxbus_consumer_stats(cons)->dead_lettered, 0);
    ASSERT_EQ_INT(count_topic(bus, "enrollments-dlq", NULL), 0);
    edxbus_consumer_destroy(cons);
    fx_recorder_fini(&flaky);
    edxbus_bus_destroy(bus);
}

TEST(test_dead_letters_off_logs_for_replay_and_acks)
{
    edxbus_conf_t *conf = fx_conf(ROUTES, NULL);
    char err[EDXBUS_ERRSTR_SIZE];
    edxbus_conf_set(conf, "EVENT_BUS_DEAD_LETTER_ENABLED", "false", err, sizeof err);
    edxbus_bus_t *bus = edxbus_bus_new(conf, err, sizeof err);
    struct fx_recorder bad = {.fail_times = -1};
    edxbus_consumer_t *cons = consumer(bus, "g", "{\"start\": \"earliest\"}", 0, NULL);
    char ids[1][EDXBUS_METADATA_ID_MAX];
    send_n(bus, 1, ids);
    edxbus_signal_connect(edxbus_bus_signal(bus, ENROLLMENT_TYPE), "bad", fx_record, &bad);
    fx_log_clear();
    drain(cons);
    ASSERT_EQ_INT(edxbus_consumer_stats(cons)->logged, 1);
    ASSERT_EQ_INT(edxbus_consumer_stats(cons)->events, 1);
    ASSERT_CONTAINS(fx_log, ids[0]);
    ASSERT_CONTAINS(fx_log, "topic=enrollments");
    ASSERT_CONTAINS(fx_log, "\"course_key\": \"course-v1:edX+DemoX+2024\"");
    ASSERT_EQ_INT(count_topic(bus, "enrollments-dlq", NULL), 0);
    edxbus_consumer_destroy(cons);
    fx_recorder_fini(&bad);
    edxbus_bus_destroy(bus);
}

TEST(test_undecodable_message_is_dead_lettered_without_retries)
{
    edxbus_bus_t *bus = fx_bus(NULL, NULL);
    char err[EDXBUS_ERRSTR_SIZE];
    const struct edxbus_backend_ops *ops = edxbus_backend_find("sqlite", NULL, err, sizeof err);
    void *be = NULL;
    ASSERT_EQ_INT(ops->producer_open(edxbus_bus_conf(bus), &be, err, sizeof err), EDXBUS_OK);
    struct edxbus_metadata md;
    edxbus_metadata_generate(&md, ENROLLMENT_TYPE, 0, "lms", err, sizeof err);
    struct edxbus_msg m = {.topic = "enrollments",
                           .value = (const uint8_t *)"\x07\x01",
                           .value_len = 2,
                           .metadata = &md};
    ASSERT_EQ_INT(ops->produce(be, &m, NULL, NULL, err, sizeof err), EDXBUS_OK);
    ops->producer_close(be);
    struct fx_recorder r = {0};
    edxbus_signal_connect(edxbus_bus_signal(bus, ENROLLMENT_TYPE), "rec", fx_record, &r);
    edxbus_consumer_t *cons = consumer(bus, "g", "{\"start\": \"earliest\"}", 0, NULL);
    drain(cons);
    ASSERT_EQ_INT(r.calls, 0);
    ASSERT_EQ_INT(edxbus_consumer_stats(cons)->dead_lettered, 1);
    ASSERT_EQ_INT(edxbus_consumer_stats(cons)->retries, 0);
    json_t *h = NULL;
    ASSERT_EQ_INT(count_topic(bus, "enrollments-dlq", &h), 1);
    ASSERT_CONTAINS(json_string_value(json_object_get(h, "error")), "undecodable");
    json_decref(h);
    edxbus_consumer_destroy(cons);
    edxbus_bus_destroy(bus);
}

/* Per event: the tree asked twice (the same pointer: decoded once), its text, and the bytes. */
struct lazy_seen {
    json_t *trees; /* event id -> the tree as the receiver got it */
    json_t *bytes; /* event id -> the bytes, as hex */
    int same_pointer;
    int wrong_type; /* events whose signal is not their metadata's type (the worker looks the
                       signal up only when the type changes from one event to the next) */
};

static edxbus_err_t lazy_receiver(const edxbus_event_t *ev, void *opaque, char *errstr,
                                  size_t errstr_size)
{
    (void)errstr;
    (void)errstr_size;
    struct lazy_seen *s = opaque;
    const char *id = edxbus_event_get_metadata(ev)->id;
    s->wrong_type += strcmp(edxbus_event_type_name(edxbus_event_get_type(ev)),
                            edxbus_event_get_metadata(ev)->event_type) != 0;
    size_t len = 0;
    const uint8_t *value = edxbus_event_get_value(ev, &len);
    char *hex = malloc(len * 2 + 1);
    for (size_t i = 0; i < len; i++)
        snprintf(hex + 2 * i, 3, "%02x", value[i]);
    hex[len * 2] = '\0';
    json_object_set_new(s->bytes, id, json_string(hex));
    free(hex);
    const json_t *a = edxbus_event_get_data(ev), *b = edxbus_event_get_data(ev);
    s->same_pointer += a != NULL && a == b;
    json_object_set_new(s->trees, id, a != NULL ? json_deep_copy(a) : json_null());
    return EDXBUS_OK;
}

TEST(test_lazy_decode_gives_the_reference_tree_for_every_vector)
{
    char err[EDXBUS_ERRSTR_SIZE];
    json_t *rows = fx_vector_rows("avro.jsonl");
    edxbus_bus_t *bus = fx_bus(NULL, NULL);
    const struct edxbus_backend_ops *ops = edxbus_backend_find("sqlite", NULL, err, sizeof err);
    void *be = NULL;
    ASSERT_EQ_INT(ops->producer_open(edxbus_bus_conf(bus), &be, err, sizeof err), EDXBUS_OK);
    json_t *want = json_object(), *want_hex = json_object();
    size_t r;
    json_t *row;
    json_array_foreach(rows, r, row)
    {
        const char *hex = json_string_value(json_object_get(row, "avro_hex"));
        size_t len;
        uint8_t *value = fx_unhex(hex, &len);
        struct edxbus_metadata md;
        edxbus_metadata_generate(&md, json_string_value(json_object_get(row, "event_type")), 0,
                                 "lms", err, sizeof err);
        struct edxbus_msg m = {
            .topic = "vectors", .value = value, .value_len = len, .metadata = &md};
        ASSERT_EQ_INT(ops->produce(be, &m, NULL, NULL, err, sizeof err), EDXBUS_OK);
        json_object_set(want, md.id, json_object_get(row, "decoded"));
        json_object_set_new(want_hex, md.id, json_string(hex));
        free(value);
    }
    ops->producer_close(be);
    ASSERT_EQ_INT(json_array_size(rows), 216);

    struct lazy_seen seen = {.trees = json_object(), .bytes = json_object()};
    ASSERT_EQ_INT(edxbus_bus_connect_all(bus, "lazy", lazy_receiver, &seen), EDXBUS_OK);
    json_t *x = fx_json("{\"start\": \"earliest\"}");
    struct edxbus_consumer_config cfg = {
        .topic = "vectors", .group = "lazy", .extra = x, .start_time_ms = -1, .max_events = 216};
    edxbus_consumer_t *cons = edxbus_consumer_new(bus, &cfg, err, sizeof err);
    ASSERT_TRUE(cons != NULL);
    ASSERT_EQ_INT(edxbus_consumer_run(cons, err, sizeof err), EDXBUS_OK);
    ASSERT_EQ_INT(edxbus_consumer_stats(cons)->delivered, 216);
    ASSERT_EQ_INT(seen.same_pointer, 216);
    ASSERT_EQ_INT(seen.wrong_type, 0);
    ASSERT_EQ_INT(json_object_size(seen.trees), 216);
    const char *id;
    json_t *tree;
    json_object_foreach(seen.trees, id, tree)
    {
        if (!json_equal(tree, json_object_get(want, id)))
            TEST_FAIL_("event %s: the tree differs from the vector's", id);
        ASSERT_EQ_STR(json_string_value(json_object_get(seen.bytes, id)),
                      json_string_value(json_object_get(want_hex, id)));
    }
    edxbus_consumer_destroy(cons);
    json_decref(x);
    json_decref(want);
    json_decref(want_hex);
    json_decref(rows);
    json_decref(seen.trees);
    json_decref(seen.bytes);
    edxbus_bus_destroy(bus);
}

/* The before-ack call: counts its calls and the receiver calls seen at each, fails when asked. */
struct before_ack_state {
    int calls;
    int received;      /* receiver calls so far */
    int received_seen; /* receiver calls when the before-ack call last ran */
    bool fail;
};

static edxbus_err_t counting_receiver(const edxbus_event_t *ev, void *opaque, char *errstr,
                                      size_t errstr_size)
{
    (void)ev, (void)errstr, (void)errstr_size;
    ((struct before_ack_state *)opaque)->received++;
    return EDXBUS_OK;
}

static edxbus_err_t before_ack(void *opaque, char *errstr, size_t errstr_size)
{
    struct before_ack_state *s = opaque;
    s->calls++;
    s->received_seen = s->received;
    if (s->fail) {
        snprintf(errstr, errstr_size, "output lost");
        return EDXBUS_ERR_IO;
    }
    return EDXBUS_OK;
}

TEST(test_before_ack_runs_once_per_batch_and_its_failure_leaves_the_batch_unacked)
{
    edxbus_bus_t *bus = fx_bus(ROUTES, NULL);
    struct before_ack_state st = {.fail = true};
    edxbus_signal_connect(edxbus_bus_signal(bus, ENROLLMENT_TYPE), "count", counting_receiver, &st);
    edxbus_consumer_t *cons = consumer(bus, "g", "{\"start\": \"earliest\"}", 0, NULL);
    edxbus_consumer_set_before_ack(cons, before_ack, &st);
    send_n(bus, 5, NULL);
    st.received = 0;
    char err[EDXBUS_ERRSTR_SIZE];
    size_t h = 99;
    ASSERT_EQ_INT(edxbus_consumer_poll_once(cons, 1000, &h, err, sizeof err), EDXBUS_OK);
    /* One call, after the five events ran; nothing acknowledged. */
    ASSERT_EQ_INT(st.calls, 1);
    ASSERT_EQ_INT(st.received, 5);
    ASSERT_EQ_INT(st.received_seen, 5);
    ASSERT_EQ_INT(h, 0);
    ASSERT_EQ_INT(edxbus_consumer_stats(cons)->events, 0);
    ASSERT_CONTAINS(fx_log, "output lost");
    edxbus_consumer_destroy(cons);
    /* Not acknowledged: a member of the group gets all five again; this time they are acked. */
    cons = consumer(bus, "g", "{\"start\": \"earliest\"}", 0, NULL);
    edxbus_consumer_set_before_ack(cons, before_ack, &st);
    st.fail = false;
    st.received = 0;
    st.calls = 0;
    drain(cons);
    ASSERT_EQ_INT(st.received, 5);
    ASSERT_TRUE(st.calls >= 1);
    ASSERT_EQ_INT(edxbus_consumer_stats(cons)->events, 5);
    edxbus_consumer_destroy(cons);
    cons = consumer(bus, "g", "{\"start\": \"earliest\"}", 0, NULL);
    st.received = 0;
    drain(cons);
    ASSERT_EQ_INT(st.received, 0);
    edxbus_consumer_destroy(cons);
    edxbus_bus_destroy(bus);
}

TEST(test_new_group_starts_at_newest_unless_earliest)
{
    edxbus_bus_t *bus = fx_bus(ROUTES, NULL);
    send_n(bus, 2, NULL); /* before any group exists */
    struct fx_recorder r = {0};
    edxbus_signal_connect(edxbus_bus_signal(bus, ENROLLMENT_TYPE), "rec", fx_record, &r);
    edxbus_consumer_t *latest = consumer(bus, "new-latest", NULL, 0, NULL);
    drain(latest);
    ASSERT_EQ_INT(r.calls, 0);
    send_n(bus, 1, NULL);
    r.calls = 0;
    drain(latest);
    ASSERT_EQ_INT(r.calls, 1);
    edxbus_consumer_destroy(latest);

    edxbus_consumer_t *early = consumer(bus, "new-earliest", "{\"start\": \"earliest\"}", 0, NULL);
    r.calls = 0;
    drain(early);
    ASSERT_EQ_INT(r.calls, 3);
    edxbus_consumer_destroy(early);

    /* An existing group resumes, whatever start says. */
    send_n(bus, 1, NULL);
    early = consumer(bus, "new-earliest", "{\"start\": \"earliest\"}", 0, NULL);
    r.calls = 0;
    drain(early);
    ASSERT_EQ_INT(r.calls, 1);
    edxbus_consumer_destroy(early);
    fx_recorder_fini(&r);
    edxbus_bus_destroy(bus);
}

TEST(test_offset_time_replays_from_a_time)
{
    edxbus_bus_t *bus = fx_bus(ROUTES, NULL);
    send_n(bus, 2, NULL);
    struct fx_recorder r = {0};
    edxbus_signal_connect(edxbus_bus_signal(bus, ENROLLMENT_TYPE), "rec", fx_record, &r);
    edxbus_consumer_t *cons =
        consumer(bus, "replay", "{\"offset_time\": \"2000-01-01T00:00:00+00:00\"}", 0, NULL);
    drain(cons);
    ASSERT_EQ_INT(r.calls, 2);
    edxbus_consumer_destroy(cons);
    cons = consumer(bus, "replay2", "{\"offset_time\": \"2999-01-01T00:00:00+00:00\"}", 0, NULL);
    r.calls = 0;
    drain(cons);
    ASSERT_EQ_INT(r.calls, 0);
    edxbus_consumer_destroy(cons);
    json_t *x = fx_json("{\"offset_time\": \"yesterday\"}");
    struct edxbus_consumer_config cfg = {
        .topic = "enrollments", .group = "g", .extra = x, .start_time_ms = -1};
    char err[EDXBUS_ERRSTR_SIZE] = "";
    ASSERT_TRUE(edxbus_consumer_new(bus, &cfg, err, sizeof err) == NULL);
    ASSERT_CONTAINS(err, "offset_time");
    json_decref(x);
    fx_recorder_fini(&r);
    edxbus_bus_destroy(bus);
}

TEST(test_stop_flag_finishes_and_acks_the_current_event)
{
    edxbus_bus_t *bus = fx_bus(ROUTES, NULL);
    static volatile sig_atomic_t stop;
    stop = 0;
    struct fx_recorder r = {.stop_after = &stop};
    edxbus_consumer_t *cons = consumer(bus, "g", "{\"start\": \"earliest\"}", 0, &stop);
    send_n(bus, 5, NULL);
    edxbus_signal_connect(edxbus_bus_signal(bus, ENROLLMENT_TYPE), "rec", fx_record, &r);
    char err[EDXBUS_ERRSTR_SIZE] = "";
    ASSERT_EQ_INT(edxbus_consumer_run(cons, err, sizeof err), EDXBUS_OK);
    ASSERT_EQ_INT(r.calls, 1);
    ASSERT_EQ_INT(edxbus_consumer_stats(cons)->events, 1);
    edxbus_consumer_destroy(cons);
    /* The other four are still owed to the group. */
    r.stop_after = NULL;
    r.calls = 0;
    cons = consumer(bus, "g", NULL, 0, NULL);
    drain(cons);
    ASSERT_EQ_INT(r.calls, 4);
    edxbus_consumer_destroy(cons);
    fx_recorder_fini(&r);
    edxbus_bus_destroy(bus);
}

TEST(test_max_events_stops_the_run)
{
    edxbus_bus_t *bus = fx_bus(ROUTES, NULL);
    struct fx_recorder r = {0};
    edxbus_consumer_t *cons = consumer(bus, "g", "{\"start\": \"earliest\"}", 3, NULL);
    send_n(bus, 5, NULL);
    edxbus_signal_connect(edxbus_bus_signal(bus, ENROLLMENT_TYPE), "rec", fx_record, &r);
    char err[EDXBUS_ERRSTR_SIZE] = "";
    ASSERT_EQ_INT(edxbus_consumer_run(cons, err, sizeof err), EDXBUS_OK);
    ASSERT_EQ_INT(r.calls, 3);
    edxbus_consumer_destroy(cons);
    fx_recorder_fini(&r);
    edxbus_bus_destroy(bus);
}

TEST(test_kill_switch_returns_without_consuming)
{
    edxbus_conf_t *conf = fx_conf(ROUTES, NULL);
    char err[EDXBUS_ERRSTR_SIZE];
    edxbus_conf_set(conf, "EVENT_BUS_SQLITE_CONSUMERS_ENABLED", "false", err, sizeof err);
    edxbus_bus_t *bus = edxbus_bus_new(conf, err, sizeof err);
    send_n(bus, 1, NULL);
    fx_log_clear();
    edxbus_consumer_t *cons = consumer(bus, "g", "{\"start\": \"earliest\"}", 0, NULL);
    ASSERT_EQ_INT(edxbus_consumer_run(cons, err, sizeof err), EDXBUS_OK);
    ASSERT_TRUE(edxbus_consumer_stats(cons)->disabled);
    ASSERT_EQ_INT(edxbus_consumer_stats(cons)->events, 0);
    ASSERT_CONTAINS(fx_log, "EVENT_BUS_SQLITE_CONSUMERS_ENABLED");
    edxbus_consumer_destroy(cons);
    edxbus_bus_destroy(bus);
}

TEST(test_consecutive_errors_limit_ends_the_run)
{
    edxbus_conf_t *conf = fx_conf(ROUTES, NULL);
    char err[EDXBUS_ERRSTR_SIZE];
    edxbus_conf_set(conf, "EVENT_BUS_CONSUMER_CONSECUTIVE_ERRORS_LIMIT", "2", err, sizeof err);
    edxbus_conf_set(conf, "EVENT_BUS_CONSUMER_RETRIES", "1", err, sizeof err);
    edxbus_bus_t *bus = edxbus_bus_new(conf, err, sizeof err);
    struct fx_recorder bad = {.fail_times = -1};
    edxbus_consumer_t *cons = consumer(bus, "g", "{\"start\": \"earliest\"}", 0, NULL);
    send_n(bus, 4, NULL);
    edxbus_signal_connect(edxbus_bus_signal(bus, ENROLLMENT_TYPE), "bad", fx_record, &bad);
    ASSERT_EQ_INT(edxbus_consumer_run(cons, err, sizeof err), EDXBUS_ERR_ERRORS_LIMIT);
    ASSERT_CONTAINS(err, "consecutive errors");
    ASSERT_EQ_INT(edxbus_consumer_stats(cons)->dead_lettered, 2);
    edxbus_consumer_destroy(cons);
    fx_recorder_fini(&bad);
    edxbus_bus_destroy(bus);
}

TEST(test_audit_lines_can_be_turned_off)
{
    edxbus_bus_t *bus = fx_bus(ROUTES, NULL);
    edxbus_consumer_t *cons = consumer(bus, "g", "{\"start\": \"earliest\"}", 0, NULL);
    char ids[1][EDXBUS_METADATA_ID_MAX];
    send_n(bus, 1, ids);
    fx_log_clear();
    drain(cons);
    ASSERT_CONTAINS(fx_log, "message received");
    ASSERT_CONTAINS(fx_log, ids[0]);
    /* the text form, pieces joined by the log writer: message, then name=value per field */
    char want[256];
    snprintf(want, sizeof want,
             "event bus: message received: topic=enrollments position=1 event_id=%s event_time=",
             ids[0]);
    ASSERT_CONTAINS(fx_log, want);
    edxbus_consumer_destroy(cons);
    edxbus_bus_destroy(bus);

    edxbus_conf_t *conf = fx_conf(ROUTES, NULL);
    char err[EDXBUS_ERRSTR_SIZE];
    edxbus_conf_set(conf, "EVENT_BUS_AUDIT_LOGGING_ENABLED", "false", err, sizeof err);
    bus = edxbus_bus_new(conf, err, sizeof err);
    cons = consumer(bus, "g", "{\"start\": \"earliest\"}", 0, NULL);
    send_n(bus, 1, NULL);
    fx_log_clear();
    drain(cons);
    ASSERT_TRUE(strstr(fx_log, "message received") == NULL);
    edxbus_consumer_destroy(cons);
    edxbus_bus_destroy(bus);
}

int main(void)
{
    fx_setup();
    RUN(test_consumed_events_keep_metadata_and_are_acked);
    RUN(test_failing_receiver_is_retried_then_dead_lettered);
    RUN(test_receiver_that_recovers_is_not_dead_lettered);
    RUN(test_dead_letters_off_logs_for_replay_and_acks);
    RUN(test_undecodable_message_is_dead_lettered_without_retries);
    RUN(test_lazy_decode_gives_the_reference_tree_for_every_vector);
    RUN(test_before_ack_runs_once_per_batch_and_its_failure_leaves_the_batch_unacked);
    RUN(test_new_group_starts_at_newest_unless_earliest);
    RUN(test_offset_time_replays_from_a_time);
    RUN(test_stop_flag_finishes_and_acks_the_current_event);
    RUN(test_max_events_stops_the_run);
    RUN(test_kill_switch_returns_without_consuming);
    RUN(test_consecutive_errors_limit_ends_the_run);
    RUN(test_audit_lines_can_be_turned_off);
    fx_cleanup();
    return test_report();
}
