/* tests/unit/bus/test_routing.c — EVENT_BUS_PRODUCER_CONFIG: validation (openedx-events'
 * rules, every problem named by its place), lookup, merge, topic prefix, key paths.
 */
#include <stdbool.h>

#include "edxbus/catalog.h"
#include "edxbus/routing.h"
#include "test.h"

#define ENROLL "org.openedx.learning.course.enrollment.created.v1"
#define XBLOCK "org.openedx.content_authoring.xblock.published.v1"

static char errstr[EDXBUS_ERRSTR_SIZE];

static json_t *parse(const char *text)
{
    json_error_t jerr;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &jerr);
    if (v == NULL)
        TEST_FAIL_("bad test JSON: %s: %s", jerr.text, text);
    return v;
}

/* Validate @p text; the problems, joined with " | ". */
static const char *problems(const char *text, const edxbus_catalog_t *cat)
{
    static char all[2048];
    json_t *cfg = parse(text), *errors = json_array();
    edxbus_err_t err = edxbus_routing_validate(cfg, cat, errors, errstr, sizeof errstr);
    size_t i, n = 0;
    json_t *line;
    all[0] = '\0';
    json_array_foreach(errors, i, line) n +=
        (size_t)snprintf(all + n, sizeof all - n, "%s%s", i ? " | " : "", json_string_value(line));
    if ((err == EDXBUS_OK) != (json_array_size(errors) == 0))
        snprintf(all, sizeof all, "(return code and problem list disagree)");
    if (json_array_size(errors) > 0 && strstr(all, errstr) != all)
        snprintf(all, sizeof all, "(errstr is not the first problem: %s)", errstr);
    json_decref(cfg);
    json_decref(errors);
    return all;
}

TEST(test_validation_rules)
{
    edxbus_catalog_t *cat = edxbus_catalog_new();
    ASSERT_TRUE(cat != NULL);
    ASSERT_EQ_STR(problems("{}", cat), "");
    ASSERT_EQ_STR(problems("{\"" ENROLL "\": {\"a\": {\"event_key_field\": \"enrollment.user.id\","
                           " \"enabled\": false, \"extra\": 1}}}",
                           cat),
                  "");
    ASSERT_EQ_STR(problems("[]", cat),
                  "EVENT_BUS_PRODUCER_CONFIG: expected a mapping of event types to {topic: "
                  "{\"event_key_field\": \"a.b\", \"enabled\": true}}, got a list");
    ASSERT_EQ_STR(problems("{\"" ENROLL "\": [\"topic-a\"]}", cat),
                  "EVENT_BUS_PRODUCER_CONFIG[\"" ENROLL "\"]: expected a mapping of topics to "
                  "{\"event_key_field\": \"a.b\", \"enabled\": true}, got a list");
    ASSERT_EQ_STR(problems("{\"org.openedx.x.v1\": {}}", cat),
                  "EVENT_BUS_PRODUCER_CONFIG[\"org.openedx.x.v1\"]: unknown event type (see "
                  "`edxbus events list`)");
    ASSERT_EQ_STR(problems("{\"org.openedx.learning.course.enrolment.created.v1\": {}}", cat),
                  "EVENT_BUS_PRODUCER_CONFIG[\"org.openedx.learning.course.enrolment.created.v1"
                  "\"]: unknown event type; did you mean " ENROLL "?");
    ASSERT_EQ_STR(problems("{\"ORG.OPENEDX.LEARNING.COURSE.ENROLLMENT.CREATED.V1\": {}}", cat),
                  "EVENT_BUS_PRODUCER_CONFIG[\"ORG.OPENEDX.LEARNING.COURSE.ENROLLMENT.CREATED.V1"
                  "\"]: unknown event type; did you mean " ENROLL "?");
    ASSERT_EQ_STR(problems("{\"" ENROLL "\": {\"topic-a\": {\"enabled\": true}}}", cat),
                  "EVENT_BUS_PRODUCER_CONFIG[\"" ENROLL "\"][\"topic-a\"]: missing "
                  "\"event_key_field\"");
    ASSERT_EQ_STR(problems("{\"" ENROLL "\": {\"topic-a\": {\"event_key_field\": \"x\"}}}", cat),
                  "EVENT_BUS_PRODUCER_CONFIG[\"" ENROLL "\"][\"topic-a\"]: missing \"enabled\"");
    ASSERT_EQ_STR(problems("{\"" ENROLL "\": {\"topic-a\": {\"event_key_field\": 5, "
                           "\"enabled\": 1}}}",
                           cat),
                  "EVENT_BUS_PRODUCER_CONFIG[\"" ENROLL "\"][\"topic-a\"][\"event_key_field\"]: "
                  "expected a string (a dotted path such as \"user.id\"), got a number | "
                  "EVENT_BUS_PRODUCER_CONFIG[\"" ENROLL "\"][\"topic-a\"][\"enabled\"]: expected "
                  "a boolean (true or false), got a number");
    ASSERT_EQ_STR(problems("{\"" ENROLL "\": {\"topic-a\": \"yes\"}}", cat),
                  "EVENT_BUS_PRODUCER_CONFIG[\"" ENROLL "\"][\"topic-a\"]: expected a mapping "
                  "{\"event_key_field\": \"a.b\", \"enabled\": true}, got a string");
    /* Without a catalog, event types are not checked. */
    ASSERT_EQ_STR(problems("{\"org.openedx.x.v1\": {}}", NULL), "");
    ASSERT_EQ_INT(edxbus_routing_validate(NULL, cat, NULL, errstr, sizeof errstr), EDXBUS_OK);

    json_t *cfg = parse("{\"org.openedx.x.v1\": {}}");
    ASSERT_TRUE(edxbus_routing_new(cfg, cat, errstr, sizeof errstr) == NULL);
    ASSERT_CONTAINS(errstr, "unknown event type");
    json_decref(cfg);
    edxbus_catalog_destroy(cat);
}

TEST(test_lookup)
{
    edxbus_catalog_t *cat = edxbus_catalog_new();
    json_t *cfg = parse("{\"" XBLOCK "\": {"
                        "  \"lifecycle\": {\"event_key_field\": \"xblock_info.usage_key\", "
                        "\"enabled\": true},"
                        "  \"off\": {\"event_key_field\": \"xblock_info.usage_key\", "
                        "\"enabled\": false},"
                        "  \"audit\": {\"event_key_field\": \"xblock_info.block_type\", "
                        "\"enabled\": true}},"
                        " \"" ENROLL "\": {\"off\": {\"event_key_field\": \"x\", "
                        "\"enabled\": false}},"
                        " \"org.openedx.learning.auth.session.login.completed.v1\": {\"logins\": "
                        "{\"event_key_field\": \"user.id\", \"enabled\": true}}}");
    edxbus_routing_t *r = edxbus_routing_new(cfg, cat, errstr, sizeof errstr);
    json_decref(cfg); /* the routing keeps its own copy */
    if (r == NULL)
        TEST_FAIL_("%s", errstr);
    const struct edxbus_route *routes;
    ASSERT_EQ_INT(edxbus_routing_routes(r, XBLOCK, &routes), 2);
    ASSERT_EQ_STR(routes[0].topic, "lifecycle");
    ASSERT_EQ_STR(routes[0].event_key_field, "xblock_info.usage_key");
    ASSERT_EQ_STR(routes[1].topic, "audit");
    ASSERT_EQ_STR(routes[1].event_key_field, "xblock_info.block_type");
    ASSERT_EQ_INT(edxbus_routing_routes(r, ENROLL, &routes), 0);
    ASSERT_TRUE(routes == NULL);
    ASSERT_EQ_INT(edxbus_routing_routes(r, "nope", &routes), 0);
    ASSERT_EQ_INT(edxbus_routing_count(r), 2);
    ASSERT_EQ_STR(edxbus_routing_event_type_at(r, 0), XBLOCK);
    ASSERT_EQ_STR(edxbus_routing_event_type_at(r, 1),
                  "org.openedx.learning.auth.session.login.completed.v1");
    ASSERT_TRUE(edxbus_routing_event_type_at(r, 2) == NULL);
    edxbus_routing_destroy(r);
    edxbus_routing_destroy(NULL);

    r = edxbus_routing_new(NULL, cat, errstr, sizeof errstr);
    ASSERT_TRUE(r != NULL);
    ASSERT_EQ_INT(edxbus_routing_count(r), 0);
    edxbus_routing_destroy(r);
    edxbus_catalog_destroy(cat);
}

TEST(test_merge_as_openedx_events)
{
    json_t *base = parse("{\"a\": {\"t1\": {\"event_key_field\": \"k\", \"enabled\": true},"
                         "       \"t2\": {\"event_key_field\": \"k\", \"enabled\": true}},"
                         " \"b\": {\"t\": {\"event_key_field\": \"k\", \"enabled\": true}}}");
    json_t *over = parse("{\"a\": {\"t1\": {\"enabled\": false},"
                         "       \"t2\": {\"event_key_field\": \"k2\", \"enabled\": null},"
                         "       \"t3\": {\"event_key_field\": \"k3\", \"enabled\": true}},"
                         " \"c\": {\"t\": {\"event_key_field\": \"kc\", \"enabled\": false}}}");
    json_t *want = parse("{\"a\": {\"t1\": {\"event_key_field\": \"k\", \"enabled\": false},"
                         "       \"t2\": {\"event_key_field\": \"k2\", \"enabled\": true},"
                         "       \"t3\": {\"event_key_field\": \"k3\", \"enabled\": true}},"
                         " \"b\": {\"t\": {\"event_key_field\": \"k\", \"enabled\": true}},"
                         " \"c\": {\"t\": {\"event_key_field\": \"kc\", \"enabled\": false}}}");
    json_t *before = json_deep_copy(base);
    json_t *got = edxbus_routing_merge(base, over);
    ASSERT_TRUE(got != NULL);
    if (!json_equal(got, want)) {
        char *text = json_dumps(got, JSON_SORT_KEYS);
        fprintf(stderr, "merged: %s\n", text);
        free(text);
        ASSERT_TRUE(json_equal(got, want));
    }
    ASSERT_TRUE(json_equal(base, before)); /* inputs untouched */
    json_decref(got);
    got = edxbus_routing_merge(NULL, over);
    ASSERT_TRUE(json_equal(got, over));
    json_decref(got);
    got = edxbus_routing_merge(base, NULL);
    ASSERT_TRUE(json_equal(got, base));
    json_decref(got);
    json_decref(base);
    json_decref(over);
    json_decref(want);
    json_decref(before);
}

TEST(test_full_topic)
{
    struct edxbus_buf b = EDXBUS_BUF_INIT;
    ASSERT_EQ_INT(edxbus_routing_full_topic("dev", "enrollments", &b), EDXBUS_OK);
    edxbus_buf_terminate(&b);
    ASSERT_EQ_STR((const char *)b.data, "dev-enrollments");
    edxbus_buf_reset(&b);
    edxbus_routing_full_topic("", "enrollments", &b);
    edxbus_buf_terminate(&b);
    ASSERT_EQ_STR((const char *)b.data, "enrollments");
    edxbus_buf_reset(&b);
    edxbus_routing_full_topic(NULL, "enrollments", &b);
    edxbus_buf_terminate(&b);
    ASSERT_EQ_STR((const char *)b.data, "enrollments");
    edxbus_buf_fini(&b);
}

TEST(test_key_paths)
{
    json_t *data = parse("{\"enrollment\": {\"course\": {\"course_key\": \"course-v1:a+b+c\", "
                         "\"end\": null}, \"user\": {\"id\": 42, \"pii\": \"x\"}}}");
    const json_t *key = NULL;
    ASSERT_EQ_INT(
        edxbus_routing_key(data, "enrollment.course.course_key", &key, errstr, sizeof errstr),
        EDXBUS_OK);
    ASSERT_EQ_STR(json_string_value(key), "course-v1:a+b+c");
    ASSERT_EQ_INT(edxbus_routing_key(data, "enrollment.user.id", &key, errstr, sizeof errstr),
                  EDXBUS_OK);
    ASSERT_EQ_INT(json_integer_value(key), 42);
    ASSERT_EQ_INT(edxbus_routing_key(data, "enrollment.course.end", &key, errstr, sizeof errstr),
                  EDXBUS_OK);
    ASSERT_TRUE(json_is_null(key));
    ASSERT_EQ_INT(edxbus_routing_key(data, "enrollment", &key, errstr, sizeof errstr), EDXBUS_OK);
    ASSERT_TRUE(json_is_object(key));

    ASSERT_EQ_INT(edxbus_routing_key(data, "user.id", &key, errstr, sizeof errstr),
                  EDXBUS_ERR_NOT_FOUND);
    ASSERT_EQ_STR(errstr, "event_key_field \"user.id\": no field \"user\" in the event data");
    ASSERT_EQ_INT(edxbus_routing_key(data, "enrollment.course.key", &key, errstr, sizeof errstr),
                  EDXBUS_ERR_NOT_FOUND);
    ASSERT_EQ_STR(errstr, "event_key_field \"enrollment.course.key\": no field \"key\" in "
                          "\"enrollment.course\"");
    ASSERT_EQ_INT(
        edxbus_routing_key(data, "enrollment.user.pii.username", &key, errstr, sizeof errstr),
        EDXBUS_ERR_NOT_FOUND);
    ASSERT_EQ_STR(errstr, "event_key_field \"enrollment.user.pii.username\": "
                          "\"enrollment.user.pii\" is a string, not a mapping with \"username\"");
    ASSERT_EQ_INT(edxbus_routing_key(data, "", &key, errstr, sizeof errstr),
                  EDXBUS_ERR_INVALID_ARG);
    ASSERT_CONTAINS(errstr, "empty path");
    ASSERT_EQ_INT(edxbus_routing_key(data, "enrollment..id", &key, errstr, sizeof errstr),
                  EDXBUS_ERR_INVALID_ARG);
    ASSERT_CONTAINS(errstr, "empty name at byte 11");
    ASSERT_EQ_INT(edxbus_routing_key(data, "enrollment.", &key, errstr, sizeof errstr),
                  EDXBUS_ERR_INVALID_ARG);
    json_t *arr = parse("[1]");
    ASSERT_EQ_INT(edxbus_routing_key(arr, "a", &key, errstr, sizeof errstr), EDXBUS_ERR_NOT_FOUND);
    ASSERT_CONTAINS(errstr, "the event data is a list");
    json_decref(arr);
    json_decref(data);
}

int main(void)
{
    RUN(test_validation_rules);
    RUN(test_lookup);
    RUN(test_merge_as_openedx_events);
    RUN(test_full_topic);
    RUN(test_key_paths);
    return test_report();
}
