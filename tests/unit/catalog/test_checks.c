/* The checks on custom-typed string fields: valid and invalid values of each type, and the
 * encoder naming the field path on failure unless EDXBUS_AVRO_NO_CHECKS. */
#include "catalog/catalog_int.h"
#include "test.h"

static bool check(enum edxbus__check kind, const char *s)
{
    char why[128] = "";
    bool ok = edxbus__check_fn(kind)(s, strlen(s), why, sizeof why);
    if (!ok && why[0] == '\0')
        TEST_FAIL_("check %s refused \"%s\" without saying why", edxbus__check_name(kind), s);
    return ok;
}

#define VALID(kind, s)                                                                             \
    do {                                                                                           \
        if (!check(kind, s))                                                                       \
            TEST_FAIL_("%s should accept \"%s\"", edxbus__check_name(kind), s);                    \
    } while (0)
#define INVALID(kind, s)                                                                           \
    do {                                                                                           \
        if (check(kind, s))                                                                        \
            TEST_FAIL_("%s should refuse \"%s\"", edxbus__check_name(kind), s);                    \
    } while (0)

TEST(test_datetime)
{
    enum edxbus__check k = EDXBUS__CHECK_DATETIME;
    VALID(k, "2024-05-17T14:03:27.123456+00:00");
    VALID(k, "1970-01-01T00:00:00+00:00");
    VALID(k, "2038-01-19T03:14:07.000001+05:30");
    VALID(k, "2024-02-29T12:00:00.500000"); /* naive */
    VALID(k, "0001-01-01T00:00:00+00:00");
    VALID(k, "9999-12-31T23:59:59.999999-23:59");
    VALID(k, "2000-02-29T00:00:00+01:02:03");
    VALID(k, "2000-02-29T00:00:00+01:02:03.000004");
    INVALID(k, "");
    INVALID(k, "2024-05-17");
    INVALID(k, "2024-05-17 14:03:27+00:00");
    INVALID(k, "2024-05-17T14:03:27Z");
    INVALID(k, "2024-05-17T14:03:27.123+00:00");
    INVALID(k, "2024-05-17T14:03:27.1234567+00:00");
    INVALID(k, "2023-02-29T00:00:00+00:00");
    INVALID(k, "1900-02-29T00:00:00+00:00");
    INVALID(k, "0000-01-01T00:00:00+00:00");
    INVALID(k, "2024-13-01T00:00:00+00:00");
    INVALID(k, "2024-04-31T00:00:00+00:00");
    INVALID(k, "2024-01-01T24:00:00+00:00");
    INVALID(k, "2024-01-01T23:60:00+00:00");
    INVALID(k, "2024-01-01T23:59:60+00:00");
    INVALID(k, "2024-01-01T00:00:00+24:00");
    INVALID(k, "2024-01-01T00:00:00+0000");
    INVALID(k, "2024-01-01T00:00:00+00:00 ");
    INVALID(k, "2024-01-01T00:00+00:00");
    INVALID(k, "24-01-01T00:00:00+00:00");
}

TEST(test_uuid)
{
    enum edxbus__check k = EDXBUS__CHECK_UUID;
    VALID(k, "12345678-1234-5678-1234-567812345678");
    VALID(k, "ABCDEF01-abcd-ef01-2345-6789abcdef01");
    INVALID(k, "12345678123456781234567812345678");
    INVALID(k, "{12345678-1234-5678-1234-567812345678}");
    INVALID(k, "12345678-1234-5678-1234-56781234567g");
    INVALID(k, "12345678-1234-5678-1234-5678123456789");
    INVALID(k, "");
}

TEST(test_course_key)
{
    enum edxbus__check k = EDXBUS__CHECK_COURSE_KEY;
    VALID(k, "course-v1:edX+DemoX+Demo_Course");
    VALID(k, "course-v1:a+b+c");
    VALID(k, "course-v1:mit.eecs+6.002x+2014~T2");
    VALID(k, "course-v1:edX+DemoX+Demo_Course+branch@published");
    VALID(k, "course-v1:edX+DemoX+Demo+branch@draft+version@519665f6223ebd6980884f2b");
    VALID(k, "course-v1:version@519665f6223ebd6980884f2b");
    VALID(k, "ccx-v1:edX+DemoX+Demo_Course+ccx@3");
    VALID(k, "library-v1:edX+Lib1");
    VALID(k, "edX/DemoX/Demo_Course");
    VALID(k, "course-v1:Üni+Kurs+2024");
    INVALID(k, "");
    INVALID(k, "course-v1:edX+DemoX");
    INVALID(k, "course-v1:edX+DemoX+");
    INVALID(k, "course-v1:edX++Demo");
    INVALID(k, "course-v1:edX+Demo X+Demo");
    INVALID(k, "course-v1:a+b+c+d");
    INVALID(k, "course-v1:a+b+c+version@xyz");
    INVALID(k, "course-v1:a+b+c+type@html+block@d");
    INVALID(k, "lib:edX:CSSTUDY");
    INVALID(k, "edX/DemoX");
    INVALID(k, "block-v1:a+b+c+type@html+block@d");
}

TEST(test_usage_key)
{
    enum edxbus__check k = EDXBUS__CHECK_USAGE_KEY;
    VALID(k, "block-v1:edX+DemoX+Demo_Course+type@problem+block@d2f0a1b5c6e34f1e9e8a7b6c5d4e3f2a");
    VALID(k, "block-v1:a+b+c+type@html+block@d");
    VALID(k, "block-v1:a+b+c+branch@draft+version@519665f6223ebd6980884f2b+type@html+block@d");
    VALID(k, "block-v1:a+b+c+type@html+block@d%20e");
    VALID(k, "lb:edX:CSSTUDY:problem:a4e9c1b2");
    VALID(k, "lib-block-v1:edX+Lib+type@html+block@x");
    VALID(k, "ccx-block-v1:edX+DemoX+Demo+ccx@3+type@html+block@x");
    VALID(k, "i4x://edX/DemoX/problem/name");
    VALID(k, "i4x://edX/DemoX/problem/name@draft");
    INVALID(k, "block-v1:a+b+c+type@html");
    INVALID(k, "block-v1:a+b+c+block@d+type@html");
    INVALID(k, "block-v1:a+b+c");
    INVALID(k, "course-v1:a+b+c");
    INVALID(k, "lb:edX:CSSTUDY:problem");
    INVALID(k, "lb:ed X:CSSTUDY:problem:a");
    INVALID(k, "i4x://edX/DemoX/problem");
    INVALID(k, "");
}

TEST(test_library_keys)
{
    VALID(EDXBUS__CHECK_LIBRARY_LOCATOR_V2, "lib:edX:CSSTUDY");
    VALID(EDXBUS__CHECK_LIBRARY_LOCATOR_V2, "lib:a.b-c_d:slug-1");
    INVALID(EDXBUS__CHECK_LIBRARY_LOCATOR_V2, "lib:edX");
    INVALID(EDXBUS__CHECK_LIBRARY_LOCATOR_V2, "lib:edX:CS:X");
    INVALID(EDXBUS__CHECK_LIBRARY_LOCATOR_V2, "lib:edX:CS STUDY");
    INVALID(EDXBUS__CHECK_LIBRARY_LOCATOR_V2, "lib::x");
    INVALID(EDXBUS__CHECK_LIBRARY_LOCATOR_V2, "library-v1:edX+Lib");
    VALID(EDXBUS__CHECK_LIBRARY_USAGE_LOCATOR_V2, "lb:edX:CSSTUDY:problem:a4e9c1b2");
    INVALID(EDXBUS__CHECK_LIBRARY_USAGE_LOCATOR_V2, "lb:edX:CSSTUDY:problem");
    INVALID(EDXBUS__CHECK_LIBRARY_USAGE_LOCATOR_V2, "block-v1:a+b+c+type@html+block@d");
    VALID(EDXBUS__CHECK_LIBRARY_COLLECTION_LOCATOR, "lib-collection:edX:CSSTUDY:col1");
    INVALID(EDXBUS__CHECK_LIBRARY_COLLECTION_LOCATOR, "lib-collection:edX:CSSTUDY");
    INVALID(EDXBUS__CHECK_LIBRARY_COLLECTION_LOCATOR, "lib-collection:edX:CSSTUDY:a:b");
    VALID(EDXBUS__CHECK_LIBRARY_CONTAINER_LOCATOR, "lct:edX:CSSTUDY:unit:u1");
    INVALID(EDXBUS__CHECK_LIBRARY_CONTAINER_LOCATOR, "lct:edX:CSSTUDY:unit");
    INVALID(EDXBUS__CHECK_LIBRARY_CONTAINER_LOCATOR, "lct:edX:CSSTUDY:un it:u1");
    VALID(EDXBUS__CHECK_CCX_LOCATOR, "ccx-v1:edX+DemoX+Demo_Course+ccx@3");
    VALID(EDXBUS__CHECK_CCX_LOCATOR, "ccx-v1:a+b+c+ccx@0");
    INVALID(EDXBUS__CHECK_CCX_LOCATOR, "ccx-v1:a+b+c");
    INVALID(EDXBUS__CHECK_CCX_LOCATOR, "ccx-v1:a+b+c+ccx@x");
    INVALID(EDXBUS__CHECK_CCX_LOCATOR, "course-v1:a+b+c");
}

TEST(test_nul_inside_a_value_is_refused)
{
    char why[128];
    ASSERT_TRUE(
        !edxbus__check_fn(EDXBUS__CHECK_COURSE_KEY)("course-v1:a+b\0+c", 16, why, sizeof why));
    ASSERT_TRUE(
        !edxbus__check_fn(EDXBUS__CHECK_DATETIME)("1970-01-01T00:00:00\0", 20, why, sizeof why));
    ASSERT_TRUE(edxbus__check_fn(EDXBUS__CHECK_NONE) == NULL);
}

static json_t *enrollment(const char *creation_date, const char *course_key)
{
    return json_pack("{s:{s:{s:i, s:b, s:{s:s, s:s, s:s}}, s:{s:s, s:s, s:n, s:n}, s:s, s:b, "
                     "s:s, s:n}}",
                     "enrollment", "user", "id", 42, "is_active", 1, "pii", "username", "ada",
                     "email", "ada@example.com", "name", "Ada", "course", "course_key", course_key,
                     "display_name", "Demo", "start", "end", "mode", "audit", "is_active", 1,
                     "creation_date", creation_date, "created_by");
}

TEST(test_encode_names_the_field_and_can_be_switched_off)
{
    edxbus_catalog_t *cat = edxbus_catalog_new();
    const edxbus_event_type_t *et =
        edxbus_catalog_find(cat, "org.openedx.learning.course.enrollment.created.v1");
    ASSERT_TRUE(et != NULL);
    struct edxbus_buf out = EDXBUS_BUF_INIT;
    char errstr[EDXBUS_ERRSTR_SIZE] = "";
    json_t *good = enrollment("2024-05-17T14:03:27.123456+00:00", "course-v1:edX+DemoX+Demo");
    ASSERT_EQ_INT(edxbus_event_encode(et, good, 0, &out, errstr, sizeof errstr), EDXBUS_OK);
    ASSERT_TRUE(out.len > 0);

    json_t *bad = enrollment("2024-05-17T14:03:27Z", "course-v1:edX+DemoX+Demo");
    edxbus_buf_reset(&out);
    ASSERT_EQ_INT(edxbus_event_encode(et, bad, 0, &out, errstr, sizeof errstr), EDXBUS_ERR_ENCODE);
    ASSERT_CONTAINS(errstr, "enrollment.creation_date");
    ASSERT_CONTAINS(errstr, "datetime");
    ASSERT_EQ_INT(edxbus_event_encode(et, bad, EDXBUS_AVRO_NO_CHECKS, &out, errstr, sizeof errstr),
                  EDXBUS_OK);
    json_decref(bad);

    bad = enrollment("2024-05-17T14:03:27+00:00", "edX DemoX");
    edxbus_buf_reset(&out);
    ASSERT_EQ_INT(edxbus_event_encode(et, bad, 0, &out, errstr, sizeof errstr), EDXBUS_ERR_ENCODE);
    ASSERT_CONTAINS(errstr, "enrollment.course.course_key");
    ASSERT_CONTAINS(errstr, "CourseKey");
    json_decref(bad);
    json_decref(good);
    edxbus_buf_fini(&out);
    edxbus_catalog_destroy(cat);
}

TEST(test_check_inside_a_list_of_records)
{
    /* DiscussionTopicContext.usage_key lives in configuration.contexts[] */
    edxbus_catalog_t *cat = edxbus_catalog_new();
    const edxbus_event_type_t *et =
        edxbus_catalog_find(cat, "org.openedx.learning.discussions.configuration.changed.v1");
    json_t *data =
        json_pack("{s:{s:s, s:s, s:b, s:b, s:b, s:b, s:{}, s:[{s:s, s:s, s:n, s:n, s:n, s:{}}]}}",
                  "configuration", "course_key", "course-v1:a+b+c", "provider_type", "legacy",
                  "enabled", 1, "enable_in_context", 1, "enable_graded_units", 0,
                  "unit_level_visibility", 0, "plugin_configuration", "contexts", "title", "t",
                  "usage_key", "not a key", "group_id", "external_id", "ordering", "context");
    struct edxbus_buf out = EDXBUS_BUF_INIT;
    char errstr[EDXBUS_ERRSTR_SIZE] = "";
    ASSERT_EQ_INT(edxbus_event_encode(et, data, 0, &out, errstr, sizeof errstr), EDXBUS_ERR_ENCODE);
    ASSERT_CONTAINS(errstr, "usage_key");
    ASSERT_CONTAINS(errstr, "UsageKey");
    ASSERT_EQ_INT(edxbus_event_encode(et, data, EDXBUS_AVRO_NO_CHECKS, &out, errstr, sizeof errstr),
                  EDXBUS_OK);
    json_decref(data);
    edxbus_buf_fini(&out);
    edxbus_catalog_destroy(cat);
}

int main(void)
{
    RUN(test_datetime);
    RUN(test_uuid);
    RUN(test_course_key);
    RUN(test_usage_key);
    RUN(test_library_keys);
    RUN(test_nul_inside_a_value_is_refused);
    RUN(test_encode_names_the_field_and_can_be_switched_off);
    RUN(test_check_inside_a_list_of_records);
    return test_report();
}
