/* The built-in catalog against openedx-events 11.2.0: every generated schema text byte-equal to
 * the reference run's schema_string(), every signal's metadata equal to signals.json, the three
 * unserializable events present and refusing with their reason. */
#include "edxbus/catalog.h"
#include "test.h"

static json_t *load_json(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", EDXBUS_TEST_DATA_DIR, name);
    json_error_t jerr;
    json_t *j = json_load_file(path, 0, &jerr);
    if (j == NULL)
        fprintf(stderr, "%s: %s\n", path, jerr.text);
    return j;
}

TEST(test_all_72_generated_schemas_are_byte_equal)
{
    char path[512];
    snprintf(path, sizeof path, "%s/schemas_generated.jsonl", EDXBUS_TEST_DATA_DIR);
    FILE *f = fopen(path, "r");
    ASSERT_TRUE(f != NULL);
    edxbus_catalog_t *cat = edxbus_catalog_new();
    ASSERT_TRUE(cat != NULL);
    char line[65536];
    int rows = 0;
    while (fgets(line, sizeof line, f) != NULL) {
        json_t *row = json_loads(line, 0, NULL);
        ASSERT_TRUE(row != NULL);
        const char *type = json_string_value(json_object_get(row, "event_type"));
        const edxbus_event_type_t *et = edxbus_catalog_find(cat, type);
        if (et == NULL)
            TEST_FAIL_("event %s missing from the catalog", type);
        ASSERT_TRUE(edxbus_event_type_is_serializable(et));
        ASSERT_EQ_STR(edxbus_event_type_schema_text(et),
                      json_string_value(json_object_get(row, "schema_string")));
        ASSERT_TRUE(edxbus_event_type_schema(et) != NULL);
        json_decref(row);
        rows++;
    }
    fclose(f);
    ASSERT_EQ_INT(rows, 72);
    edxbus_catalog_destroy(cat);
}

TEST(test_signals_metadata_equals_signals_json)
{
    json_t *doc = load_json("signals.json");
    ASSERT_TRUE(doc != NULL);
    json_t *signals = json_object_get(doc, "signals");
    edxbus_catalog_t *cat = edxbus_catalog_new();
    ASSERT_EQ_INT(edxbus_catalog_count(cat), 75);
    ASSERT_EQ_INT(json_array_size(signals), 75);
    size_t i;
    json_t *s;
    int unserializable = 0;
    json_array_foreach(signals, i, s)
    {
        const char *type = json_string_value(json_object_get(s, "event_type"));
        const edxbus_event_type_t *et = edxbus_catalog_find(cat, type);
        if (et == NULL)
            TEST_FAIL_("event %s missing from the catalog", type);
        ASSERT_EQ_STR(edxbus_event_type_name(et), type);
        ASSERT_EQ_STR(edxbus_event_type_signal(et), json_string_value(json_object_get(s, "name")));
        ASSERT_EQ_INT(edxbus_event_type_minor_version(et),
                      json_integer_value(json_object_get(s, "minor_version")));
        ASSERT_EQ_STR(edxbus_event_type_description(et),
                      json_string_value(json_object_get(s, "description")));
        const char *key = json_string_value(json_object_get(s, "event_key_field"));
        if (key == NULL)
            ASSERT_TRUE(edxbus_event_type_key_field(et) == NULL);
        else
            ASSERT_EQ_STR(edxbus_event_type_key_field(et), key);
        bool ser = json_is_true(json_object_get(s, "serializable"));
        ASSERT_EQ_INT(edxbus_event_type_is_serializable(et), ser);
        if (!ser) {
            unserializable++;
            ASSERT_TRUE(edxbus_event_type_unserializable_reason(et) != NULL);
            ASSERT_CONTAINS(edxbus_event_type_unserializable_reason(et),
                            "KNOWN_UNSERIALIZABLE_SIGNALS");
            ASSERT_TRUE(edxbus_event_type_schema_text(et) == NULL);
            ASSERT_TRUE(edxbus_event_type_schema(et) == NULL);
        }
    }
    ASSERT_EQ_INT(unserializable, 3);
    edxbus_catalog_destroy(cat);
    json_decref(doc);
}

TEST(test_unserializable_encode_says_why)
{
    edxbus_catalog_t *cat = edxbus_catalog_new();
    const char *type = "org.openedx.content_authoring.course.certificate_config.changed.v1";
    const edxbus_event_type_t *et = edxbus_catalog_find(cat, type);
    ASSERT_TRUE(et != NULL);
    ASSERT_CONTAINS(edxbus_event_type_unserializable_reason(et), "BinaryIO");
    char errstr[EDXBUS_ERRSTR_SIZE] = "";
    struct edxbus_buf out = EDXBUS_BUF_INIT;
    json_t *data = json_object();
    ASSERT_EQ_INT(edxbus_event_encode(et, data, 0, &out, errstr, sizeof errstr),
                  EDXBUS_ERR_UNSERIALIZABLE);
    ASSERT_CONTAINS(errstr, type);
    ASSERT_CONTAINS(errstr, "BinaryIO");
    ASSERT_EQ_UINT(out.len, 0);
    json_t *decoded = NULL;
    ASSERT_EQ_INT(edxbus_event_decode(et, (const uint8_t *)"", 0, &decoded, errstr, sizeof errstr),
                  EDXBUS_ERR_UNSERIALIZABLE);
    ASSERT_TRUE(decoded == NULL);
    et = edxbus_catalog_find(cat, "org.openedx.learning.external_grader.score.submitted.v1");
    ASSERT_TRUE(et != NULL && !edxbus_event_type_is_serializable(et));
    ASSERT_EQ_INT(edxbus_event_encode(et, data, 0, &out, errstr, sizeof errstr),
                  EDXBUS_ERR_UNSERIALIZABLE);
    ASSERT_CONTAINS(errstr, "KNOWN_UNSERIALIZABLE_SIGNALS");
    json_decref(data);
    edxbus_buf_fini(&out);
    edxbus_catalog_destroy(cat);
}

TEST(test_sorted_find_and_suggest)
{
    edxbus_catalog_t *cat = edxbus_catalog_new();
    for (size_t i = 1; i < edxbus_catalog_count(cat); i++) {
        const char *a = edxbus_event_type_name(edxbus_catalog_at(cat, i - 1));
        const char *b = edxbus_event_type_name(edxbus_catalog_at(cat, i));
        ASSERT_TRUE(strcmp(a, b) < 0);
    }
    ASSERT_TRUE(edxbus_catalog_at(cat, edxbus_catalog_count(cat)) == NULL);
    ASSERT_TRUE(edxbus_catalog_find(cat, "org.openedx.nope.v1") == NULL);
    ASSERT_TRUE(edxbus_catalog_find(cat, NULL) == NULL);
    ASSERT_EQ_STR(edxbus_catalog_suggest(cat, "org.openedx.learning.course.enrolment.created.v1"),
                  "org.openedx.learning.course.enrollment.created.v1");
    ASSERT_EQ_STR(edxbus_catalog_suggest(cat, "org.openedx.learning.xblock.skill.verified.v2"),
                  "org.openedx.learning.xblock.skill.verified.v1");
    ASSERT_TRUE(edxbus_catalog_suggest(cat, "something else entirely") == NULL);
    edxbus_catalog_destroy(cat);
    edxbus_catalog_destroy(NULL);
}

TEST(test_to_json_describes_the_event)
{
    edxbus_catalog_t *cat = edxbus_catalog_new();
    const edxbus_event_type_t *et =
        edxbus_catalog_find(cat, "org.openedx.learning.course.enrollment.created.v1");
    json_t *j = edxbus_event_type_to_json(et);
    ASSERT_TRUE(j != NULL);
    ASSERT_EQ_STR(json_string_value(json_object_get(j, "signal")), "COURSE_ENROLLMENT_CREATED");
    ASSERT_EQ_STR(json_string_value(json_object_get(j, "key_field")),
                  "enrollment.course.course_key");
    ASSERT_TRUE(json_is_true(json_object_get(j, "serializable")));
    json_t *data = json_object_get(j, "data");
    ASSERT_EQ_INT(json_array_size(data), 1);
    ASSERT_EQ_STR(json_string_value(json_object_get(json_array_get(data, 0), "name")),
                  "enrollment");
    ASSERT_EQ_STR(json_string_value(json_object_get(json_array_get(data, 0), "type")),
                  "CourseEnrollmentData");
    json_t *checks = json_object_get(j, "checks");
    ASSERT_EQ_STR(json_string_value(json_object_get(checks, "enrollment.course.course_key")),
                  "CourseKey");
    ASSERT_EQ_STR(json_string_value(json_object_get(checks, "enrollment.creation_date")),
                  "datetime");
    json_decref(j);
    edxbus_catalog_destroy(cat);
}

int main(void)
{
    RUN(test_all_72_generated_schemas_are_byte_equal);
    RUN(test_signals_metadata_equals_signals_json);
    RUN(test_unserializable_encode_says_why);
    RUN(test_sorted_find_and_suggest);
    RUN(test_to_json_describes_the_event);
    return test_report();
}
