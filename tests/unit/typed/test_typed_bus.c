/* tests/unit/typed/test_typed_bus.c — the typed API on a real bus (src/typed/typed_bus.c):
 * edxbus_send_<signal>() and edxbus_connect_<signal>() on a bus whose producer is the embedded
 * SQLite backend, routed by EVENT_BUS_PRODUCER_CONFIG to a temp database.
 *
 * A typed send reaches a typed receiver (the struct's values), a generic receiver on the same
 * signal (the equal plain JSON form) and the producer; the consumer reads the message back and
 * both receivers get the same data again, marked as coming from the bus. A struct that fails a
 * check is refused with the field's name and nothing is sent. Typed receivers also get events
 * sent as JSON, get lists longer than their stack arena, report their own failures, and go
 * away when disconnected.
 */
#include "test.h"

#include "edxbus/events.h"
#include "unit/bus/bus_fixtures.h"

#define ROUTES                                                                                     \
    "{\"" ENROLLMENT_TYPE "\": {"                                                                  \
    "\"enrollments\": {\"event_key_field\": \"enrollment.course.course_key\", \"enabled\": "       \
    "true}}}"

static struct edxbus_course_enrollment_created_data enrollment(void)
{
    struct edxbus_course_enrollment_created_data d = {0};
    d.enrollment.user.id = 42;
    d.enrollment.user.is_active = true;
    d.enrollment.user.pii.username = EDXBUS_STR("ada");
    d.enrollment.user.pii.email = EDXBUS_STR("ada@example.com");
    d.enrollment.user.pii.name = EDXBUS_STR("Ada Lovelace \xc3\xa9");
    d.enrollment.course.course_key = EDXBUS_STR("course-v1:edX+DemoX+Demo_Course");
    d.enrollment.course.display_name = EDXBUS_STR("Demonstration Course");
    d.enrollment.course.has_start = true;
    d.enrollment.course.start = EDXBUS_STR("2024-01-01T00:00:00+00:00");
    d.enrollment.mode = EDXBUS_STR("verified");
    d.enrollment.is_active = true;
    d.enrollment.creation_date = EDXBUS_STR("2024-05-17T14:03:27.123456+00:00");
    d.enrollment.has_created_by = true;
    d.enrollment.created_by.id = -7;
    d.enrollment.created_by.pii.username = EDXBUS_STR("staff");
    d.enrollment.created_by.pii.email = EDXBUS_STR("staff@example.com");
    return d;
}

/* What a typed receiver saw: copies, since the struct is borrowed for the call only. */
struct typed_seen {
    int calls;
    int fail_times; /* fail this many calls first */
    bool from_bus;
    int64_t user_id, created_by_id;
    bool has_start, has_end, has_created_by;
    char username[64], course_key[64], start[64], mode[16], creation_date[64];
    char id[EDXBUS_METADATA_ID_MAX];
    char *json; /* to_json of the struct, sorted keys */
};

static void copy(char *dst, size_t size, struct edxbus_str s)
{
    snprintf(dst, size, "%.*s", (int)s.len, s.ptr != NULL ? s.ptr : "");
}

static edxbus_err_t on_enrollment(const struct edxbus_course_enrollment_created_data *data,
                                  const edxbus_event_t *ev, void *opaque, char *errstr,
                                  size_t errstr_size)
{
    struct typed_seen *seen = opaque;
    const struct edxbus_course_enrollment_data *e = &data->enrollment;
    seen->calls++;
    seen->from_bus = edxbus_event_is_from_bus(ev);
    seen->user_id = e->user.id;
    seen->created_by_id = e->created_by.id;
    seen->has_start = e->course.has_start;
    seen->has_end = e->course.has_end;
    seen->has_created_by = e->has_created_by;
    copy(seen->username, sizeof seen->username, e->user.pii.username);
    copy(seen->course_key, sizeof seen->course_key, e->course.course_key);
    copy(seen->start, sizeof seen->start, e->course.start);
    copy(seen->mode, sizeof seen->mode, e->mode);
    copy(seen->creation_date, sizeof seen->creation_date, e->creation_date);
    snprintf(seen->id, sizeof seen->id, "%s", edxbus_event_get_metadata(ev)->id);
    json_t *j = edxbus_course_enrollment_created_to_json(data);
    free(seen->json);
    seen->json = j != NULL ? json_dumps(j, JSON_SORT_KEYS) : NULL;
    json_decref(j);
    if (seen->calls <= seen->fail_times) {
        snprintf(errstr, errstr_size, "typed receiver says no");
        return EDXBUS_ERR_RECEIVER;
    }
    return EDXBUS_OK;
}

static char *expected_json(const struct edxbus_course_enrollment_created_data *d)
{
    json_t *j = edxbus_course_enrollment_created_to_json(d);
    char *s = json_dumps(j, JSON_SORT_KEYS);
    json_decref(j);
    return s;
}

static edxbus_consumer_t *consumer(edxbus_bus_t *bus, const char *group)
{
    json_t *extra = fx_json("{\"start\": \"earliest\"}");
    struct edxbus_consumer_config cfg = {
        .topic = "enrollments", .group = group, .extra = extra, .start_time_ms = -1};
    char err[EDXBUS_ERRSTR_SIZE] = "";
    edxbus_consumer_t *cons = edxbus_consumer_new(bus, &cfg, err, sizeof err);
    json_decref(extra);
    if (cons == NULL)
        TEST_FAIL_("consumer_new: %s", err);
    return cons;
}

/* Poll until a few polls in a row find nothing; returns the events handled. */
static size_t drain(edxbus_consumer_t *cons)
{
    char err[EDXBUS_ERRSTR_SIZE];
    size_t total = 0;
    for (int idle = 0; idle < 3;) {
        size_t h = 0;
        if (edxbus_consumer_poll_once(cons, 50, &h, err, sizeof err) != EDXBUS_OK)
            TEST_FAIL_("poll_once: %s", err);
        total += h;
        idle = h == 0 ? idle + 1 : 0;
    }
    return total;
}

TEST(test_typed_send_reaches_typed_generic_and_producer_then_consumer)
{
    edxbus_bus_t *bus = fx_bus(ROUTES, "dev");
    struct typed_seen seen = {0};
    struct fx_recorder generic = {0};
    struct edxbus_typed_receiver rcv;
    ASSERT_EQ_INT(
        edxbus_connect_course_enrollment_created(bus, &rcv, "typed", on_enrollment, &seen),
        EDXBUS_OK);
    edxbus_signal_t *sig = edxbus_bus_signal(bus, ENROLLMENT_TYPE);
    ASSERT_EQ_INT(edxbus_signal_connect(sig, "generic", fx_record, &generic), EDXBUS_OK);
    edxbus_consumer_t *cons = consumer(bus, "g1");

    struct edxbus_course_enrollment_created_data d = enrollment();
    char *want = expected_json(&d);
    struct edxbus_receiver_result results[4];
    struct edxbus_send_report rep = {.results = results, .cap = 4};
    char err[EDXBUS_ERRSTR_SIZE] = "";
    ASSERT_EQ_INT(edxbus_send_course_enrollment_created(bus, &d, 0, &rep, err, sizeof err),
                  EDXBUS_OK);
    ASSERT_EQ_INT(rep.ncalled, 3); /* the producer's receiver, typed, generic */
    ASSERT_EQ_INT(rep.nfailed, 0);

    /* the typed receiver got the struct's values */
    ASSERT_EQ_INT(seen.calls, 1);
    ASSERT_TRUE(!seen.from_bus);
    ASSERT_EQ_INT(seen.user_id, 42);
    ASSERT_EQ_INT(seen.created_by_id, -7);
    ASSERT_TRUE(seen.has_start && !seen.has_end && seen.has_created_by);
    ASSERT_EQ_STR(seen.username, "ada");
    ASSERT_EQ_STR(seen.course_key, "course-v1:edX+DemoX+Demo_Course");
    ASSERT_EQ_STR(seen.start, "2024-01-01T00:00:00+00:00");
    ASSERT_EQ_STR(seen.mode, "verified");
    ASSERT_EQ_STR(seen.creation_date, "2024-05-17T14:03:27.123456+00:00");
    ASSERT_EQ_STR(seen.id, rep.metadata.id);
    ASSERT_EQ_STR(seen.json, want);
    /* the generic receiver on the same signal got the equal JSON */
    ASSERT_EQ_INT(generic.calls, 1);
    ASSERT_EQ_STR(generic.data, want);
    ASSERT_EQ_STR(generic.id, rep.metadata.id);
    ASSERT_EQ_STR(generic.source, "openedx/lms/web");

    /* the producer put it on dev-enrollments; the consumer reads it back and re-emits it */
    ASSERT_EQ_INT(drain(cons), 1);
    ASSERT_EQ_INT(edxbus_consumer_stats(cons)->delivered, 1);
    ASSERT_EQ_INT(seen.calls, 2);
    ASSERT_TRUE(seen.from_bus);
    ASSERT_EQ_STR(seen.id, rep.metadata.id);
    ASSERT_EQ_STR(seen.json, want);
    ASSERT_EQ_STR(seen.username, "ada");
    ASSERT_EQ_STR(seen.creation_date, "2024-05-17T14:03:27.123456+00:00");
    ASSERT_EQ_INT(generic.calls, 2);
    ASSERT_TRUE(generic.from_bus);
    ASSERT_EQ_STR(generic.data, want);
    ASSERT_EQ_STR(generic.id, rep.metadata.id);

    edxbus_consumer_destroy(cons);
    edxbus_typed_disconnect(&rcv);
    free(seen.json);
    free(want);
    fx_recorder_fini(&generic);
    edxbus_bus_destroy(bus);
}

TEST(test_typed_send_bad_datetime_names_the_field_and_sends_nothing)
{
    edxbus_bus_t *bus = fx_bus(ROUTES, NULL);
    struct typed_seen seen = {0};
    struct fx_recorder generic = {0};
    struct edxbus_typed_receiver rcv;
    ASSERT_EQ_INT(
        edxbus_connect_course_enrollment_created(bus, &rcv, "typed", on_enrollment, &seen),
        EDXBUS_OK);
    edxbus_signal_connect(edxbus_bus_signal(bus, ENROLLMENT_TYPE), "generic", fx_record, &generic);
    edxbus_consumer_t *cons = consumer(bus, "g");

    struct edxbus_course_enrollment_created_data d = enrollment();
    d.enrollment.creation_date = EDXBUS_STR("2024-05-17 14:03:27");
    /* a report reused from an earlier send must not keep its old counts */
    struct edxbus_send_report rep = {.ncalled = 9, .nfailed = 9, .disabled = true};
    char err[EDXBUS_ERRSTR_SIZE] = "";
    ASSERT_EQ_INT(edxbus_send_course_enrollment_created(bus, &d, 0, &rep, err, sizeof err),
                  EDXBUS_ERR_ENCODE);
    ASSERT_CONTAINS(err, ENROLLMENT_TYPE ": enrollment.creation_date: \"2024-05-17 14:03:27\" "
                                         "is not a valid datetime");
    ASSERT_EQ_INT(rep.ncalled, 0);
    ASSERT_EQ_INT(rep.nfailed, 0);
    ASSERT_TRUE(!rep.disabled);
    /* a bad optional datetime too, and bad UTF-8 in a plain string */
    d = enrollment();
    d.enrollment.course.start = EDXBUS_STR("2024-02-30T00:00:00");
    ASSERT_EQ_INT(edxbus_send_course_enrollment_created(bus, &d, 0, NULL, err, sizeof err),
                  EDXBUS_ERR_ENCODE);
    ASSERT_CONTAINS(err, "enrollment.course.start: \"2024-02-30T00:00:00\" is not a valid "
                         "datetime: no such date");
    d = enrollment();
    d.enrollment.created_by.pii.name = (struct edxbus_str){"x\xff", 2};
    ASSERT_EQ_INT(edxbus_send_course_enrollment_created(bus, &d, 0, NULL, err, sizeof err),
                  EDXBUS_ERR_ENCODE);
    ASSERT_CONTAINS(err, "enrollment.created_by.pii.name: invalid UTF-8");
    ASSERT_EQ_INT(seen.calls, 0);
    ASSERT_EQ_INT(generic.calls, 0);
    ASSERT_EQ_INT(drain(cons), 0); /* nothing reached the broker */

    /* with the checks off the bad datetime goes through (UTF-8 is still checked) */
    d = enrollment();
    d.enrollment.creation_date = EDXBUS_STR("2024-05-17 14:03:27");
    ASSERT_EQ_INT(edxbus_send_course_enrollment_created(bus, &d, EDXBUS_SEND_NO_CHECKS, NULL, err,
                                                        sizeof err),
                  EDXBUS_OK);
    ASSERT_EQ_INT(seen.calls, 1);
    ASSERT_EQ_STR(seen.creation_date, "2024-05-17 14:03:27");
    ASSERT_EQ_INT(generic.calls, 1);

    edxbus_consumer_destroy(cons);
    edxbus_typed_disconnect(&rcv);
    free(seen.json);
    fx_recorder_fini(&generic);
    edxbus_bus_destroy(bus);
}

TEST(test_typed_receiver_gets_events_sent_as_json)
{
    edxbus_bus_t *bus = fx_bus(NULL, NULL);
    struct typed_seen seen = {0};
    struct edxbus_typed_receiver rcv;
    ASSERT_EQ_INT(edxbus_connect_course_enrollment_created(bus, &rcv, NULL, on_enrollment, &seen),
                  EDXBUS_OK);
    json_t *data = fx_json(ENROLLMENT_JSON);
    char err[EDXBUS_ERRSTR_SIZE] = "";
    ASSERT_EQ_INT(edxbus_send_event(bus, ENROLLMENT_TYPE, data, 0, NULL, err, sizeof err),
                  EDXBUS_OK);
    ASSERT_EQ_INT(seen.calls, 1);
    ASSERT_EQ_INT(seen.user_id, 42);
    ASSERT_EQ_STR(seen.course_key, "course-v1:edX+DemoX+2024");
    ASSERT_EQ_STR(seen.mode, "audit");
    ASSERT_TRUE(!seen.has_start && !seen.has_created_by);
    char *want = json_dumps(data, JSON_SORT_KEYS);
    ASSERT_EQ_STR(seen.json, want);
    free(want);
    json_decref(data);
    edxbus_typed_disconnect(&rcv);
    free(seen.json);
    edxbus_bus_destroy(bus);
}

TEST(test_typed_receiver_failure_is_reported_and_disconnect_stops_it)
{
    edxbus_bus_t *bus = fx_bus(NULL, NULL);
    edxbus_signal_t *sig = edxbus_bus_signal(bus, ENROLLMENT_TYPE);
    struct typed_seen seen = {.fail_times = 1};
    struct edxbus_typed_receiver rcv;
    ASSERT_EQ_INT(
        edxbus_connect_course_enrollment_created(bus, &rcv, "picky", on_enrollment, &seen),
        EDXBUS_OK);
    ASSERT_EQ_INT(edxbus_signal_receiver_count(sig), 1);
    struct edxbus_course_enrollment_created_data d = enrollment();
    struct edxbus_receiver_result results[2];
    struct edxbus_send_report rep = {.results = results, .cap = 2};
    char err[EDXBUS_ERRSTR_SIZE] = "";
    ASSERT_EQ_INT(edxbus_send_course_enrollment_created(bus, &d, 0, &rep, err, sizeof err),
                  EDXBUS_ERR_RECEIVER);
    ASSERT_CONTAINS(err, "receiver \"picky\" failed: typed receiver says no");
    ASSERT_EQ_INT(rep.nfailed, 1);
    ASSERT_EQ_STR(results[0].receiver, "picky");
    ASSERT_EQ_STR(results[0].errstr, "typed receiver says no");
    ASSERT_EQ_INT(edxbus_send_course_enrollment_created(bus, &d, 0, &rep, err, sizeof err),
                  EDXBUS_OK);
    ASSERT_EQ_INT(seen.calls, 2);

    edxbus_typed_disconnect(&rcv);
    ASSERT_EQ_INT(edxbus_signal_receiver_count(sig), 0);
    edxbus_typed_disconnect(&rcv); /* twice: a no-op */
    edxbus_typed_disconnect(NULL);
    ASSERT_EQ_INT(edxbus_send_course_enrollment_created(bus, &d, 0, &rep, err, sizeof err),
                  EDXBUS_OK);
    ASSERT_EQ_INT(rep.ncalled, 0);
    ASSERT_EQ_INT(seen.calls, 2);
    free(seen.json);
    edxbus_bus_destroy(bus);
}

/* Destroying the bus first detaches the typed receiver: the disconnect after it is a no-op
 * (it touched the freed signal before; ASan saw it). The send report keeps a copy of the
 * receiver's name, valid after the disconnect. */
TEST(test_destroy_then_disconnect_is_clean_and_report_names_are_copies)
{
    edxbus_bus_t *bus = fx_bus(NULL, NULL);
    struct typed_seen seen = {.fail_times = 1};
    struct edxbus_typed_receiver rcv;
    ASSERT_EQ_INT(
        edxbus_connect_course_enrollment_created(bus, &rcv, "short-lived", on_enrollment, &seen),
        EDXBUS_OK);
    struct edxbus_course_enrollment_created_data d = enrollment();
    struct edxbus_receiver_result results[1];
    struct edxbus_send_report rep = {.results = results, .cap = 1};
    char err[EDXBUS_ERRSTR_SIZE] = "";
    ASSERT_EQ_INT(edxbus_send_course_enrollment_created(bus, &d, 0, &rep, err, sizeof err),
                  EDXBUS_ERR_RECEIVER);
    edxbus_bus_destroy(bus);
    ASSERT_EQ_STR(results[0].receiver, "short-lived"); /* the signal that named it is gone */
    edxbus_typed_disconnect(&rcv);
    edxbus_typed_disconnect(&rcv);
    ASSERT_EQ_INT(seen.calls, 1);
    free(seen.json);
}

/* A list far longer than the receiver's stack arena: the arena grows for that call. */
static edxbus_err_t on_skills(const struct edxbus_xblock_skill_verified_data *data,
                              const edxbus_event_t *ev, void *opaque, char *errstr,
                              size_t errstr_size)
{
    (void)ev;
    int64_t *sum = opaque;
    const struct edxbus_list_long *l = &data->xblock_info.verified_skills;
    if (l->len != 3000) {
        snprintf(errstr, errstr_size, "got %zu skills", l->len);
        return EDXBUS_ERR_RECEIVER;
    }
    for (size_t i = 0; i < l->len; i++)
        *sum += l->items[i];
    return EDXBUS_OK;
}

TEST(test_typed_receiver_decodes_long_lists)
{
    edxbus_bus_t *bus = fx_bus(NULL, NULL);
    static int64_t skills[3000];
    for (size_t i = 0; i < 3000; i++)
        skills[i] = (int64_t)i * 1000;
    struct edxbus_xblock_skill_verified_data d = {0};
    d.xblock_info.usage_key = EDXBUS_STR("block-v1:edX+DemoX+2024+type@problem+block@p1");
    d.xblock_info.verified_skills = (struct edxbus_list_long){skills, 3000};
    int64_t sum = 0;
    struct edxbus_typed_receiver rcv;
    ASSERT_EQ_INT(edxbus_connect_xblock_skill_verified(bus, &rcv, "skills", on_skills, &sum),
                  EDXBUS_OK);
    char err[EDXBUS_ERRSTR_SIZE] = "";
    ASSERT_EQ_INT(edxbus_send_xblock_skill_verified(bus, &d, 0, NULL, err, sizeof err), EDXBUS_OK);
    ASSERT_EQ_INT(sum, (int64_t)1000 * 2999 * 3000 / 2);
    edxbus_typed_disconnect(&rcv);
    edxbus_bus_destroy(bus);
}

TEST(test_typed_event_missing_from_the_catalog)
{
    edxbus_bus_t *bus = fx_bus(NULL, NULL);
    struct edxbus_typed_event unknown = edxbus_course_enrollment_created_event;
    unknown.event_type = "org.openedx.learning.no.such.event.v1";
    struct edxbus_course_enrollment_created_data d = enrollment();
    char err[EDXBUS_ERRSTR_SIZE] = "";
    ASSERT_EQ_INT(edxbus_typed_send(bus, &unknown, &d, 0, NULL, err, sizeof err),
                  EDXBUS_ERR_NOT_FOUND);
    ASSERT_CONTAINS(err, "org.openedx.learning.no.such.event.v1");
    struct typed_seen seen = {0};
    struct edxbus_typed_receiver rcv;
    ASSERT_EQ_INT(
        edxbus_typed_connect(bus, &rcv, &unknown, NULL, (edxbus_typed_fn)on_enrollment, &seen),
        EDXBUS_ERR_NOT_FOUND);
    edxbus_typed_disconnect(&rcv); /* never connected: a no-op */
    edxbus_bus_destroy(bus);
}

int main(void)
{
    fx_setup();
    RUN(test_typed_send_reaches_typed_generic_and_producer_then_consumer);
    RUN(test_typed_send_bad_datetime_names_the_field_and_sends_nothing);
    RUN(test_typed_receiver_gets_events_sent_as_json);
    RUN(test_typed_receiver_failure_is_reported_and_disconnect_stops_it);
    RUN(test_destroy_then_disconnect_is_clean_and_report_names_are_copies);
    RUN(test_typed_receiver_decodes_long_lists);
    RUN(test_typed_event_missing_from_the_catalog);
    fx_cleanup();
    return test_report();
}
