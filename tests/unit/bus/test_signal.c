/* tests/unit/bus/test_signal.c — signals: validation before sending, metadata, receivers in
 * order, robust and strict modes, custom metadata, disabled signals.
 */
#include "test.h"

#include "unit/bus/bus_fixtures.h"

static edxbus_bus_t *plain_bus(void)
{
    return fx_bus(NULL, NULL);
}

TEST(test_send_calls_receiver_with_metadata_and_data)
{
    edxbus_bus_t *bus = plain_bus();
    struct fx_recorder r = {0};
    edxbus_signal_t *sig = edxbus_bus_signal(bus, ENROLLMENT_TYPE);
    ASSERT_TRUE(sig != NULL);
    ASSERT_EQ_INT(edxbus_signal_connect(sig, "rec", fx_record, &r), EDXBUS_OK);
    json_t *data = fx_json(ENROLLMENT_JSON);
    struct edxbus_send_report rep = {0};
    char err[EDXBUS_ERRSTR_SIZE] = "";
    ASSERT_EQ_INT(edxbus_send_event(bus, ENROLLMENT_TYPE, data, 0, &rep, err, sizeof err),
                  EDXBUS_OK);
    ASSERT_EQ_INT(r.calls, 1);
    ASSERT_TRUE(!r.from_bus);
    ASSERT_EQ_STR(r.source, "openedx/lms/web");
    ASSERT_EQ_STR(rep.metadata.event_type, ENROLLMENT_TYPE);
    ASSERT_EQ_STR(r.id, rep.metadata.id);
    ASSERT_EQ_INT(strlen(r.id), 36);
    char *want = json_dumps(data, JSON_SORT_KEYS);
    ASSERT_EQ_STR(r.data, want);
    free(want);
    ASSERT_EQ_INT(rep.ncalled, 1);
    ASSERT_EQ_INT(rep.nfailed, 0);
    json_decref(data);
    fx_recorder_fini(&r);
    edxbus_bus_destroy(bus);
}

static void expect_invalid(const char *text, const char *needle)
{
    edxbus_bus_t *bus = plain_bus();
    struct fx_recorder r = {0};
    edxbus_signal_connect(edxbus_bus_signal(bus, ENROLLMENT_TYPE), "rec", fx_record, &r);
    json_t *data = fx_json(text);
    char err[EDXBUS_ERRSTR_SIZE] = "";
    edxbus_err_t e = edxbus_send_event(bus, ENROLLMENT_TYPE, data, 0, NULL, err, sizeof err);
    json_decref(data);
    edxbus_bus_destroy(bus);
    if (e == EDXBUS_OK)
        TEST_FAIL_("expected an error for %s", text);
    if (r.calls != 0)
        TEST_FAIL_("a receiver was called for invalid data");
    ASSERT_CONTAINS(err, needle);
}

TEST(test_missing_field_is_refused_naming_it)
{
    expect_invalid("{\"enrollment\": {\"user\": {\"id\": 1, \"is_active\": true, \"pii\": "
                   "{\"username\": \"a\", \"email\": \"b\", \"name\": \"c\"}}, \"course\": "
                   "{\"course_key\": \"course-v1:a+b+c\", \"display_name\": \"x\"}, "
                   "\"is_active\": true, \"creation_date\": \"2024-05-01T10:00:00+00:00\"}}",
                   "mode");
}

TEST(test_extra_field_is_refused_naming_it)
{
    json_t *d = fx_json(ENROLLMENT_JSON);
    json_object_set_new(json_object_get(d, "enrollment"), "bogus_field", json_integer(1));
    char *text = json_dumps(d, 0);
    json_decref(d);
    expect_invalid(text, "bogus_field");
    free(text);
}

TEST(test_wrong_type_is_refused_naming_it)
{
    json_t *d = fx_json(ENROLLMENT_JSON);
    json_object_set_new(json_object_get(json_object_get(d, "enrollment"), "user"), "id",
                        json_string("forty-two"));
    char *text = json_dumps(d, 0);
    json_decref(d);
    expect_invalid(text, "enrollment.user.id");
    free(text);
}

TEST(test_unknown_event_type_suggests)
{
    edxbus_bus_t *bus = plain_bus();
    json_t *data = fx_json(ENROLLMENT_JSON);
    char err[EDXBUS_ERRSTR_SIZE] = "";
    ASSERT_EQ_INT(edxbus_send_event(bus, "org.openedx.learning.course.enrollment.created.v2", data,
                                    0, NULL, err, sizeof err),
                  EDXBUS_ERR_NOT_FOUND);
    ASSERT_CONTAINS(err, "did you mean");
    json_decref(data);
    edxbus_bus_destroy(bus);
}

static void robust_or_strict(unsigned flags, int want_calls)
{
    edxbus_bus_t *bus = plain_bus();
    int order[8], n = 0;
    struct fx_recorder a = {.tag = 1, .order = order, .order_n = &n};
    struct fx_recorder b = {.tag = 2, .fail_times = -1, .order = order, .order_n = &n};
    struct fx_recorder c = {.tag = 3, .order = order, .order_n = &n};
    edxbus_signal_t *sig = edxbus_bus_signal(bus, ENROLLMENT_TYPE);
    edxbus_signal_connect(sig, "a", fx_record, &a);
    edxbus_signal_connect(sig, "b", fx_record, &b);
    edxbus_signal_connect(sig, "c", fx_record, &c);
    json_t *data = fx_json(ENROLLMENT_JSON);
    struct edxbus_receiver_result res[3];
    struct edxbus_send_report rep = {.results = res, .cap = 3};
    char err[EDXBUS_ERRSTR_SIZE] = "";
    edxbus_err_t e = edxbus_signal_send(sig, data, flags, &rep, err, sizeof err);
    json_decref(data);
    ASSERT_EQ_INT(e, EDXBUS_ERR_RECEIVER);
    ASSERT_CONTAINS(err, "receiver \"b\"");
    ASSERT_EQ_INT(n, want_calls);
    ASSERT_EQ_INT(order[0], 1);
    ASSERT_EQ_INT(order[1], 2);
    ASSERT_EQ_INT(rep.ncalled, want_calls);
    ASSERT_EQ_INT(rep.nfailed, 1);
    ASSERT_EQ_STR(res[0].receiver, "a");
    ASSERT_EQ_INT(res[0].err, EDXBUS_OK);
    ASSERT_EQ_INT(res[1].err, EDXBUS_ERR_RECEIVER);
    ASSERT_CONTAINS(res[1].errstr, "recorder 2 says no");
    if (want_calls == 3)
        ASSERT_EQ_INT(res[2].err, EDXBUS_OK);
    fx_recorder_fini(&a);
    fx_recorder_fini(&b);
    fx_recorder_fini(&c);
    edxbus_bus_destroy(bus);
}

TEST(test_robust_mode_calls_every_receiver)
{
    robust_or_strict(0, 3);
}

TEST(test_strict_mode_stops_at_first_failure)
{
    robust_or_strict(EDXBUS_SEND_STRICT, 2);
}

TEST(test_custom_metadata_is_kept_and_marked_from_bus)
{
    edxbus_bus_t *bus = plain_bus();
    struct fx_recorder r = {0};
    edxbus_signal_connect(edxbus_bus_signal(bus, ENROLLMENT_TYPE), "rec", fx_record, &r);
    struct edxbus_metadata md;
    char err[EDXBUS_ERRSTR_SIZE] = "";
    ASSERT_EQ_INT(edxbus_metadata_generate(&md, ENROLLMENT_TYPE, 7, "cms", err, sizeof err),
                  EDXBUS_OK);
    json_t *data = fx_json(ENROLLMENT_JSON);
    ASSERT_EQ_INT(edxbus_send_event_with_custom_metadata(bus, &md, data, 0, NULL, err, sizeof err),
                  EDXBUS_OK);
    ASSERT_EQ_INT(r.calls, 1);
    ASSERT_TRUE(r.from_bus);
    ASSERT_EQ_STR(r.id, md.id);
    ASSERT_EQ_STR(r.source, "openedx/cms/web");
    ASSERT_EQ_INT(r.minorversion, 7);
    json_decref(data);
    fx_recorder_fini(&r);
    edxbus_bus_destroy(bus);
}

TEST(test_disabled_signal_sends_nothing_and_says_so)
{
    edxbus_bus_t *bus = plain_bus();
    struct fx_recorder r = {0};
    edxbus_signal_t *sig = edxbus_bus_signal(bus, ENROLLMENT_TYPE);
    edxbus_signal_connect(sig, "rec", fx_record, &r);
    edxbus_signal_disable(sig);
    ASSERT_TRUE(!edxbus_signal_is_enabled(sig));
    json_t *data = fx_json(ENROLLMENT_JSON);
    struct edxbus_send_report rep = {0};
    char err[EDXBUS_ERRSTR_SIZE] = "";
    ASSERT_EQ_INT(edxbus_signal_send(sig, data, 0, &rep, err, sizeof err), EDXBUS_ERR_STATE);
    ASSERT_TRUE(rep.disabled);
    ASSERT_CONTAINS(err, "disabled");
    ASSERT_EQ_INT(r.calls, 0);
    edxbus_signal_enable(sig);
    ASSERT_EQ_INT(edxbus_signal_send(sig, data, 0, &rep, err, sizeof err), EDXBUS_OK);
    ASSERT_EQ_INT(r.calls, 1);
    json_decref(data);
    fx_recorder_fini(&r);
    edxbus_bus_destroy(bus);
}

TEST(test_connect_disconnect_and_connect_all)
{
    edxbus_bus_t *bus = plain_bus();
    struct fx_recorder r = {0};
    edxbus_signal_t *sig = edxbus_bus_signal(bus, ENROLLMENT_TYPE);
    ASSERT_EQ_INT(edxbus_bus_connect_all(bus, "all", fx_record, &r), EDXBUS_OK);
    ASSERT_EQ_INT(edxbus_signal_receiver_count(sig), 1);
    ASSERT_EQ_INT(edxbus_signal_connect(sig, "again", fx_record, &r), EDXBUS_OK);
    ASSERT_EQ_INT(edxbus_signal_receiver_count(sig), 1);
    ASSERT_EQ_INT(edxbus_signal_disconnect(sig, fx_record, &r), EDXBUS_OK);
    ASSERT_EQ_INT(edxbus_signal_disconnect(sig, fx_record, &r), EDXBUS_ERR_NOT_FOUND);
    edxbus_bus_disconnect_all(bus, fx_record, &r);
    json_t *data = fx_json(ENROLLMENT_JSON);
    char err[EDXBUS_ERRSTR_SIZE];
    ASSERT_EQ_INT(edxbus_signal_send(sig, data, 0, NULL, err, sizeof err), EDXBUS_OK);
    ASSERT_EQ_INT(r.calls, 0);
    json_decref(data);
    edxbus_bus_destroy(bus);
}

TEST(test_send_encoded_decodes_data_on_demand)
{
    edxbus_bus_t *bus = plain_bus();
    struct fx_recorder r = {0};
    edxbus_signal_t *sig = edxbus_bus_signal(bus, ENROLLMENT_TYPE);
    edxbus_signal_connect(sig, "rec", fx_record, &r);
    json_t *data = fx_json(ENROLLMENT_JSON);
    struct edxbus_buf b = EDXBUS_BUF_INIT;
    char err[EDXBUS_ERRSTR_SIZE];
    ASSERT_EQ_INT(edxbus_event_encode(edxbus_signal_event_type(sig), data, 0, &b, err, sizeof err),
                  EDXBUS_OK);
    ASSERT_EQ_INT(edxbus_signal_send_encoded(sig, b.data, b.len, 0, NULL, err, sizeof err),
                  EDXBUS_OK);
    char *want = json_dumps(data, JSON_SORT_KEYS);
    ASSERT_EQ_STR(r.data, want);
    free(want);
    edxbus_buf_fini(&b);
    json_decref(data);
    fx_recorder_fini(&r);
    edxbus_bus_destroy(bus);
}

TEST(test_version_matches_header)
{
    ASSERT_EQ_STR(edxbus_version(), EDXBUS_VERSION);
}

int main(void)
{
    fx_setup();
    RUN(test_send_calls_receiver_with_metadata_and_data);
    RUN(test_missing_field_is_refused_naming_it);
    RUN(test_extra_field_is_refused_naming_it);
    RUN(test_wrong_type_is_refused_naming_it);
    RUN(test_unknown_event_type_suggests);
    RUN(test_robust_mode_calls_every_receiver);
    RUN(test_strict_mode_stops_at_first_failure);
    RUN(test_custom_metadata_is_kept_and_marked_from_bus);
    RUN(test_disabled_signal_sends_nothing_and_says_so);
    RUN(test_connect_disconnect_and_connect_all);
    RUN(test_send_encoded_decodes_data_on_demand);
    RUN(test_version_matches_header);
    fx_cleanup();
    return test_report();
}
