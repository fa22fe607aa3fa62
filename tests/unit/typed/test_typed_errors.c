/* The typed codecs' refusals: what they say and that they leave nothing behind. Encoding names
 * the field path (with list indexes) and restores the buffer; decoding names the byte offset
 * and the path; from_json names the field. */
#include <math.h>

#include "edxbus/catalog.h"
#include "edxbus/json.h"
#include "test.h"
#include "typed_test_util.h"

static struct edxbus_course_enrollment_created_data enrollment(void)
{
    struct edxbus_course_enrollment_created_data d = {0};
    d.enrollment.user.id = 42;
    d.enrollment.user.is_active = true;
    d.enrollment.user.pii.username = EDXBUS_STR("ada");
    d.enrollment.user.pii.email = EDXBUS_STR("ada@example.com");
    d.enrollment.user.pii.name = EDXBUS_STR("Ada Lovelace");
    d.enrollment.course.course_key = EDXBUS_STR("course-v1:edX+DemoX+Demo_Course");
    d.enrollment.course.display_name = EDXBUS_STR("Demo");
    d.enrollment.mode = EDXBUS_STR("verified");
    d.enrollment.is_active = true;
    d.enrollment.creation_date = EDXBUS_STR("2024-05-17T14:03:27.123456+00:00");
    return d;
}

TEST(test_encode_check_failure_names_the_field_and_keeps_the_buffer)
{
    struct edxbus_course_enrollment_created_data d = enrollment();
    d.enrollment.creation_date = EDXBUS_STR("2024-05-17 14:03:27");
    struct edxbus_buf out = EDXBUS_BUF_INIT;
    edxbus_buf_append(&out, "xy", 2);
    char errstr[EDXBUS_ERRSTR_SIZE];
    ASSERT_EQ_INT(edxbus_course_enrollment_created_encode(&d, 0, &out, errstr, sizeof errstr),
                  EDXBUS_ERR_ENCODE);
    ASSERT_CONTAINS(errstr, "enrollment.creation_date: \"2024-05-17 14:03:27\" is not a valid "
                            "datetime");
    ASSERT_EQ_INT(out.len, 2);
    /* with the checks off it goes through */
    ASSERT_EQ_INT(edxbus_course_enrollment_created_encode(&d, EDXBUS_AVRO_NO_CHECKS, &out, errstr,
                                                          sizeof errstr),
                  EDXBUS_OK);
    ASSERT_TRUE(out.len > 2);
    edxbus_buf_fini(&out);
}

TEST(test_encode_refuses_bad_utf8_null_strings_and_sends_nan)
{
    struct edxbus_course_enrollment_created_data d = enrollment();
    struct edxbus_buf out = EDXBUS_BUF_INIT;
    char errstr[EDXBUS_ERRSTR_SIZE];
    d.enrollment.user.pii.name = (struct edxbus_str){"Ada \xff", 5};
    ASSERT_EQ_INT(edxbus_course_enrollment_created_encode(&d, 0, &out, errstr, sizeof errstr),
                  EDXBUS_ERR_ENCODE);
    ASSERT_CONTAINS(errstr, "enrollment.user.pii.name: invalid UTF-8");
    d.enrollment.user.pii.name = (struct edxbus_str){NULL, 3};
    ASSERT_EQ_INT(edxbus_course_enrollment_created_encode(&d, 0, &out, errstr, sizeof errstr),
                  EDXBUS_ERR_ENCODE);
    ASSERT_EQ_INT(out.len, 0);

    struct edxbus_persistent_grade_summary_changed_data g = {0};
    g.grade.user_id = 1;
    g.grade.course.course_key = EDXBUS_STR("course-v1:edX+DemoX+Demo_Course");
    g.grade.course_edited_timestamp = EDXBUS_STR("2024-05-17T14:03:27+00:00");
    g.grade.course_version = EDXBUS_STR("v");
    g.grade.grading_policy_hash = EDXBUS_STR("h");
    g.grade.percent_grade = NAN; /* the quiet NaN Python reads "NaN" as */
    g.grade.letter_grade = EDXBUS_STR("A");
    g.grade.passed_timestamp = EDXBUS_STR("2024-05-17T14:03:27+00:00");
    /* NaN is a double like any other (Python sends it): the typed and generic encoders agree */
    ASSERT_EQ_INT(
        edxbus_persistent_grade_summary_changed_encode(&g, 0, &out, errstr, sizeof errstr),
        EDXBUS_OK);
    json_t *tree = edxbus_persistent_grade_summary_changed_to_json(&g);
    ASSERT_TRUE(edxbus_json_is_nonfinite(json_object_get(json_object_get(tree, "grade"),
                                                         "percent_grade"),
                                         NULL));
    struct edxbus_buf generic = EDXBUS_BUF_INIT;
    edxbus_catalog_t *cat = edxbus_catalog_new();
    const edxbus_event_type_t *et = edxbus_catalog_find(
        cat, "org.openedx.learning.course.persistent_grade_summary.changed.v1");
    ASSERT_TRUE(et != NULL);
    ASSERT_EQ_INT(edxbus_event_encode(et, tree, 0, &generic, errstr, sizeof errstr), EDXBUS_OK);
    edxbus_catalog_destroy(cat);
    ASSERT_EQ_UINT(generic.len, out.len);
    ASSERT_TRUE(memcmp(generic.data, out.data, out.len) == 0);
    json_decref(tree);
    edxbus_buf_fini(&generic);
    edxbus_buf_fini(&out);
}

/* The encoder checks a run of fields together (one test per run) but names the first failing
 * field in schema order, and lets valid non-ASCII text through. */
TEST(test_encode_names_the_first_failure_in_field_order)
{
    struct edxbus_course_enrollment_created_data d = enrollment();
    struct edxbus_buf out = EDXBUS_BUF_INIT;
    char errstr[EDXBUS_ERRSTR_SIZE];
    /* later fields bad in three ways; the course key comes first */
    d.enrollment.course.course_key = EDXBUS_STR("course-v1:edX+DemoX");
    d.enrollment.mode = (struct edxbus_str){"x\xc3", 2};
    d.enrollment.creation_date = EDXBUS_STR("2024-13-01T00:00:00");
    d.enrollment.has_created_by = true;
    d.enrollment.created_by.pii.name = (struct edxbus_str){NULL, 1};
    ASSERT_EQ_INT(edxbus_course_enrollment_created_encode(&d, 0, &out, errstr, sizeof errstr),
                  EDXBUS_ERR_ENCODE);
    ASSERT_CONTAINS(errstr, "enrollment.course.course_key: \"course-v1:edX+DemoX\" is not a valid");
    d.enrollment.course.course_key = EDXBUS_STR("course-v1:edX+DemoX+Demo_Course");
    ASSERT_EQ_INT(edxbus_course_enrollment_created_encode(&d, 0, &out, errstr, sizeof errstr),
                  EDXBUS_ERR_ENCODE);
    ASSERT_CONTAINS(errstr, "enrollment.mode: invalid UTF-8 at byte 1");
    d.enrollment.mode = EDXBUS_STR("verified");
    ASSERT_EQ_INT(edxbus_course_enrollment_created_encode(&d, 0, &out, errstr, sizeof errstr),
                  EDXBUS_ERR_ENCODE);
    ASSERT_CONTAINS(errstr, "enrollment.creation_date: \"2024-13-01T00:00:00\" is not a valid "
                            "datetime: no such date");
    /* with the checks off the datetime passes, the NULL still fails */
    ASSERT_EQ_INT(edxbus_course_enrollment_created_encode(&d, EDXBUS_AVRO_NO_CHECKS, &out, errstr,
                                                          sizeof errstr),
                  EDXBUS_ERR_ENCODE);
    ASSERT_CONTAINS(errstr, "enrollment.created_by.pii.name: string of 1 bytes at NULL");
    ASSERT_EQ_INT(out.len, 0);
    /* all fixed, with multibyte UTF-8 of every length in the run: it goes through */
    d.enrollment.creation_date = EDXBUS_STR("2024-02-29T23:59:59.999999-05:30");
    d.enrollment.created_by.pii.name = EDXBUS_STR("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80 Ada");
    d.enrollment.user.pii.name = EDXBUS_STR("Ad\xc3\xa9");
    ASSERT_EQ_INT(edxbus_course_enrollment_created_encode(&d, 0, &out, errstr, sizeof errstr),
                  EDXBUS_OK);
    edxbus_buf_fini(&out);
}

TEST(test_list_item_errors_carry_the_index)
{
    struct edxbus_course_discussions_changed_data d = {0};
    struct edxbus_discussion_topic_context ctx[2];
    memset(ctx, 0, sizeof ctx);
    d.configuration.course_key = EDXBUS_STR("course-v1:edX+DemoX+Demo_Course");
    d.configuration.provider_type = EDXBUS_STR("legacy");
    ctx[0].title = EDXBUS_STR("ok");
    ctx[0].has_usage_key = true;
    ctx[0].usage_key = EDXBUS_STR("block-v1:edX+DemoX+Demo_Course+type@problem+block@abc");
    ctx[1].title = EDXBUS_STR("bad");
    ctx[1].has_usage_key = true;
    ctx[1].usage_key = EDXBUS_STR("nope");
    d.configuration.contexts.items = ctx;
    d.configuration.contexts.len = 2;
    struct edxbus_buf out = EDXBUS_BUF_INIT;
    char errstr[EDXBUS_ERRSTR_SIZE];
    ASSERT_EQ_INT(edxbus_course_discussions_changed_encode(&d, 0, &out, errstr, sizeof errstr),
                  EDXBUS_ERR_ENCODE);
    ASSERT_CONTAINS(errstr,
                    "configuration.contexts[1].usage_key: \"nope\" is not a valid UsageKey");
    ASSERT_EQ_INT(out.len, 0);
    d.configuration.contexts.items = NULL;
    ASSERT_EQ_INT(edxbus_course_discussions_changed_encode(&d, 0, &out, errstr, sizeof errstr),
                  EDXBUS_ERR_ENCODE);
    ASSERT_CONTAINS(errstr, "configuration.contexts: 2 items but no item storage");
    edxbus_buf_fini(&out);
}

TEST(test_decode_errors_give_offset_and_path)
{
    struct edxbus_course_enrollment_created_data d = enrollment();
    struct edxbus_buf out = EDXBUS_BUF_INIT;
    char errstr[EDXBUS_ERRSTR_SIZE];
    ASSERT_EQ_INT(edxbus_course_enrollment_created_encode(&d, 0, &out, errstr, sizeof errstr),
                  EDXBUS_OK);
    struct edxbus_arena arena;
    edxbus_arena_init(&arena, NULL, 0);
    struct edxbus_course_enrollment_created_data back;
    /* every truncation is refused, never read past */
    for (size_t n = 0; n < out.len; n++) {
        uint8_t *copy = malloc(n + 1);
        memcpy(copy, out.data, n);
        ASSERT_EQ_INT(
            edxbus_course_enrollment_created_decode(copy, n, &arena, &back, errstr, sizeof errstr),
            EDXBUS_ERR_DECODE);
        ASSERT_CONTAINS(errstr, "avro: byte ");
        free(copy);
    }
    /* byte 1 is user.is_active: 7 is no boolean */
    out.data[1] = 7;
    ASSERT_EQ_INT(edxbus_course_enrollment_created_decode(out.data, out.len, &arena, &back, errstr,
                                                          sizeof errstr),
                  EDXBUS_ERR_DECODE);
    ASSERT_EQ_STR(errstr, "avro: byte 1: boolean byte 0x07 is not 0 or 1 in field "
                          "\"enrollment.user.is_active\"");
    out.data[1] = 1;
    edxbus_buf_append(&out, "\0", 1);
    ASSERT_EQ_INT(edxbus_course_enrollment_created_decode(out.data, out.len, &arena, &back, errstr,
                                                          sizeof errstr),
                  EDXBUS_ERR_DECODE);
    ASSERT_CONTAINS(errstr, "1 trailing bytes");
    edxbus_arena_fini(&arena);
    edxbus_buf_fini(&out);
}

TEST(test_from_json_names_the_field)
{
    struct edxbus_arena arena;
    edxbus_arena_init(&arena, NULL, 0);
    struct edxbus_course_enrollment_created_data d;
    char errstr[EDXBUS_ERRSTR_SIZE];
    json_t *j = json_loads("{\"enrollment\": {\"user\": {\"id\": \"x\"}}}", 0, NULL);
    ASSERT_EQ_INT(edxbus_course_enrollment_created_from_json(j, &arena, &d, errstr, sizeof errstr),
                  EDXBUS_ERR_ENCODE);
    ASSERT_EQ_STR(errstr, "enrollment.user.id: expected long, got string");
    json_decref(j);
    j = json_loads("{\"enrollment\": {}, \"extra\": 1}", 0, NULL);
    ASSERT_EQ_INT(edxbus_course_enrollment_created_from_json(j, &arena, &d, errstr, sizeof errstr),
                  EDXBUS_ERR_ENCODE);
    ASSERT_EQ_STR(errstr, "unknown field \"extra\"");
    json_decref(j);
    j = json_loads("{}", 0, NULL);
    ASSERT_EQ_INT(edxbus_course_enrollment_created_from_json(j, &arena, &d, errstr, sizeof errstr),
                  EDXBUS_ERR_ENCODE);
    ASSERT_EQ_STR(errstr, "enrollment: missing (the field has no default)");
    json_decref(j);
    edxbus_arena_fini(&arena);
}

int main(void)
{
    RUN(test_encode_check_failure_names_the_field_and_keeps_the_buffer);
    RUN(test_encode_refuses_bad_utf8_null_strings_and_sends_nan);
    RUN(test_encode_names_the_first_failure_in_field_order);
    RUN(test_list_item_errors_carry_the_index);
    RUN(test_decode_errors_give_offset_and_path);
    RUN(test_from_json_names_the_field);
    return test_report();
}
