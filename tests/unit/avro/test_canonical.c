/* Parsing Canonical Form and CRC-64-AVRO fingerprints (src/avro/canonical.c).
 *
 * Every expected fingerprint below was computed independently, from the canonical text, with
 * this hand-written Python rendering of the algorithm in the Avro 1.11 specification:
 *
 *     EMPTY = 0xc15d213aa4d7a795
 *     T = []
 *     for i in range(256):
 *         fp = i
 *         for _ in range(8):
 *             fp = (fp >> 1) ^ (EMPTY & -(fp & 1))
 *         T.append(fp & 0xffffffffffffffff)
 *     def fp64(b):
 *         fp = EMPTY
 *         for c in b:
 *             fp = (fp >> 8) ^ T[(fp ^ c) & 0xff]
 *         return fp
 *
 * fp64(b'"null"') == 0x63dd24e7cc258f8a is also the well-known value 7195948357588979594 that
 * other Avro implementations print for the null schema.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "avro/avro_int.h"
#include "test.h"

static edxbus_avro_schema_t *parse_ok(const char *text)
{
    char errstr[EDXBUS_ERRSTR_SIZE] = "";
    edxbus_avro_schema_t *schema =
        edxbus_avro_schema_parse(text, strlen(text), errstr, sizeof errstr);
    if (schema == NULL)
        fprintf(stderr, "  parse failed: %s\n  schema: %s\n", errstr, text);
    return schema;
}

/* Parse @p text, check its canonical form and fingerprint, and that the canonical form parses
 * back to itself. */
static int canon_is(const char *text, const char *want, uint64_t want_fp)
{
    edxbus_avro_schema_t *schema = parse_ok(text), *again = NULL;
    char *canon = NULL, *canon2 = NULL;
    int ok = 0;

    if (schema == NULL)
        return 0;
    canon = edxbus_avro_schema_canonical(schema);
    if (canon == NULL || strcmp(canon, want) != 0) {
        fprintf(stderr, "  canonical of %s\n  got:  %s\n  want: %s\n", text,
                canon ? canon : "(null)", want);
        goto out;
    }
    if (edxbus_avro_schema_fingerprint(schema) != want_fp) {
        fprintf(stderr, "  fingerprint of %s: got 0x%016llx want 0x%016llx\n", want,
                (unsigned long long)edxbus_avro_schema_fingerprint(schema),
                (unsigned long long)want_fp);
        goto out;
    }
    again = parse_ok(canon);
    canon2 = again ? edxbus_avro_schema_canonical(again) : NULL;
    if (canon2 == NULL || strcmp(canon2, canon) != 0) {
        fprintf(stderr, "  canonical form is not stable: %s\n", canon2 ? canon2 : "(null)");
        goto out;
    }
    ok = 1;
out:
    free(canon2);
    free(canon);
    edxbus_avro_schema_destroy(again);
    edxbus_avro_schema_destroy(schema);
    return ok;
}

TEST(test_crc64_of_bytes)
{
    ASSERT_EQ_UINT(edxbus_avro_crc64("\"null\"", 6), 0x63dd24e7cc258f8aULL);
    ASSERT_EQ_UINT(edxbus_avro_crc64("", 0), 0xc15d213aa4d7a795ULL);
}

TEST(test_primitives_fingerprints)
{
    ASSERT_TRUE(canon_is("\"null\"", "\"null\"", 0x63dd24e7cc258f8aULL));
    ASSERT_TRUE(canon_is("\"int\"", "\"int\"", 0x7275d51a3f395c8fULL));
    ASSERT_TRUE(canon_is("\"long\"", "\"long\"", 0xd054e14493f41db7ULL));
    ASSERT_TRUE(canon_is("\"string\"", "\"string\"", 0x8f014872634503c7ULL));
    ASSERT_TRUE(canon_is("\"bytes\"", "\"bytes\"", 0x4fc016dac3201965ULL));
    ASSERT_TRUE(canon_is("\"boolean\"", "\"boolean\"", 0x9f42fc78a4d4f764ULL));
    ASSERT_TRUE(canon_is("\"float\"", "\"float\"", 0x4d7c02cb3ea8d790ULL));
    ASSERT_TRUE(canon_is("\"double\"", "\"double\"", 0x8e7535c032ab957eULL));
}

/* [PRIMITIVES]: the object form of a primitive collapses to the bare name, extra attributes
 * such as logicalType go. [WHITESPACE]: none survives outside strings. */
TEST(test_primitive_object_form_collapses)
{
    ASSERT_TRUE(canon_is("{\"type\": \"int\"}", "\"int\"", 0x7275d51a3f395c8fULL));
    ASSERT_TRUE(canon_is(" { \"type\" : \"long\" , \"logicalType\" : \"timestamp-millis\" } ",
                         "\"long\"", 0xd054e14493f41db7ULL));
}

/* [ORDER] items/values after type; [STRIP] drops foreign attributes. */
TEST(test_array_and_map)
{
    ASSERT_TRUE(canon_is("{\"items\": {\"values\": \"double\", \"type\": \"map\"}, \"type\": "
                         "\"array\", \"doc\": \"x\"}",
                         "{\"type\":\"array\",\"items\":{\"type\":\"map\",\"values\":\"double\"}}",
                         0x70bb2895e3afa214ULL));
}

/* [FULLNAMES] + [INTEGERS]: size written bare; namespace folded into the name. */
TEST(test_fixed_and_enum)
{
    ASSERT_TRUE(canon_is("{\"size\": 16, \"namespace\": \"x\", \"name\": \"Md5\", \"type\": "
                         "\"fixed\", \"aliases\": [\"Hash\"]}",
                         "{\"name\":\"x.Md5\",\"type\":\"fixed\",\"size\":16}",
                         0x3740015a5bcef694ULL));
    ASSERT_TRUE(
        canon_is("{\"type\": \"enum\", \"name\": \"Suit\", \"doc\": \"cards\", "
                 "\"symbols\": [\"SPADES\", \"HEARTS\"], \"default\": \"HEARTS\"}",
                 "{\"name\":\"Suit\",\"type\":\"enum\",\"symbols\":[\"SPADES\",\"HEARTS\"]}",
                 0x5864ee3df3ba448fULL));
}

/* A named type is written in full once, then by full name; recursion becomes a reference. */
TEST(test_recursive_record)
{
    ASSERT_TRUE(
        canon_is("{\"type\": \"record\", \"name\": \"Node\", \"namespace\": \"ns\", "
                 "\"doc\": \"a linked list\", \"fields\": ["
                 "{\"name\": \"value\", \"type\": \"long\", \"default\": 0, \"order\": "
                 "\"descending\"},"
                 "{\"name\": \"next\", \"type\": [\"null\", \"Node\"], \"default\": null}]}",
                 "{\"name\":\"ns.Node\",\"type\":\"record\",\"fields\":["
                 "{\"name\":\"value\",\"type\":\"long\"},"
                 "{\"name\":\"next\",\"type\":[\"null\",\"ns.Node\"]}]}",
                 0x4f3ffe12c653c63cULL));
}

TEST(test_names_everywhere_are_full)
{
    ASSERT_TRUE(canon_is(
        "{\"type\": \"record\", \"name\": \"a.b.R\", \"namespace\": \"ignored\", \"fields\": ["
        "{\"name\": \"f\", \"type\": [\"null\", \"R\", {\"type\": \"enum\", \"name\": \"E\", "
        "\"symbols\": [\"A\", \"B\"]}], \"default\": null},"
        "{\"name\": \"g\", \"type\": {\"type\": \"map\", \"values\": \"E\"}},"
        "{\"name\": \"h\", \"type\": {\"type\": \"fixed\", \"name\": \"F\", \"size\": 16}}]}",
        "{\"name\":\"a.b.R\",\"type\":\"record\",\"fields\":["
        "{\"name\":\"f\",\"type\":[\"null\",\"a.b.R\",{\"name\":\"a.b.E\",\"type\":\"enum\","
        "\"symbols\":[\"A\",\"B\"]}]},"
        "{\"name\":\"g\",\"type\":{\"type\":\"map\",\"values\":\"a.b.E\"}},"
        "{\"name\":\"h\",\"type\":{\"name\":\"a.b.F\",\"type\":\"fixed\",\"size\":16}}]}",
        0xe5826affb01a45f5ULL));
}

TEST(test_empty_union)
{
    ASSERT_TRUE(canon_is("[]", "[]", 0xeec6e173d23fb9d1ULL));
}

/* [STRINGS]: \u escapes in the input come out as plain characters. */
TEST(test_escapes_in_input_are_decoded)
{
    ASSERT_TRUE(canon_is("{\"type\": \"\\u0069nt\"}", "\"int\"", 0x7275d51a3f395c8fULL));
    ASSERT_TRUE(
        canon_is("{\"type\": \"enum\", \"name\": \"\\u0053uit\", "
                 "\"symbols\": [\"SPADES\", \"H\\u0045ARTS\"]}",
                 "{\"name\":\"Suit\",\"type\":\"enum\",\"symbols\":[\"SPADES\",\"HEARTS\"]}",
                 0x5864ee3df3ba448fULL));
}

/* A catalog schema: nested records, a named type used again by name inside a union. */
TEST(test_catalog_exam_attempt_reset)
{
    const char *text =
        "{\"doc\": \"Avro Event Format for CloudEvents created with openedx_events/schema\", "
        "\"fields\": [{\"name\": \"exam_attempt\", \"type\": {\"fields\": [{\"name\": "
        "\"student_user\", \"type\": {\"fields\": [{\"name\": \"id\", \"type\": \"long\"}, "
        "{\"name\": \"is_active\", \"type\": \"boolean\"}, {\"name\": \"pii\", \"type\": "
        "{\"fields\": [{\"name\": \"username\", \"type\": \"string\"}, {\"name\": \"email\", "
        "\"type\": \"string\"}, {\"name\": \"name\", \"type\": \"string\"}], \"name\": "
        "\"UserPersonalData\", \"type\": \"record\"}}], \"name\": \"UserData\", \"type\": "
        "\"record\"}}, {\"name\": \"course_key\", \"type\": \"string\"}, {\"name\": "
        "\"usage_key\", \"type\": \"string\"}, {\"name\": \"exam_type\", \"type\": \"string\"}, "
        "{\"default\": null, \"name\": \"requesting_user\", \"type\": [\"null\", \"UserData\"]}], "
        "\"name\": \"ExamAttemptData\", \"type\": \"record\"}}], \"name\": \"CloudEvent\", "
        "\"namespace\": \"org.openedx.learning.exam.attempt.reset.v1\", \"type\": \"record\"}";
    const char *want =
        "{\"name\":\"org.openedx.learning.exam.attempt.reset.v1.CloudEvent\",\"type\":\"record\","
        "\"fields\":[{\"name\":\"exam_attempt\",\"type\":{\"name\":"
        "\"org.openedx.learning.exam.attempt.reset.v1.ExamAttemptData\",\"type\":\"record\","
        "\"fields\":[{\"name\":\"student_user\",\"type\":{\"name\":"
        "\"org.openedx.learning.exam.attempt.reset.v1.UserData\",\"type\":\"record\",\"fields\":"
        "[{\"name\":\"id\",\"type\":\"long\"},{\"name\":\"is_active\",\"type\":\"boolean\"},"
        "{\"name\":\"pii\",\"type\":{\"name\":"
        "\"org.openedx.learning.exam.attempt.reset.v1.UserPersonalData\",\"type\":\"record\","
        "\"fields\":[{\"name\":\"username\",\"type\":\"string\"},{\"name\":\"email\",\"type\":"
        "\"string\"},{\"name\":\"name\",\"type\":\"string\"}]}}]}},{\"name\":\"course_key\","
        "\"type\":\"string\"},{\"name\":\"usage_key\",\"type\":\"string\"},{\"name\":"
        "\"exam_type\",\"type\":\"string\"},{\"name\":\"requesting_user\",\"type\":[\"null\","
        "\"org.openedx.learning.exam.attempt.reset.v1.UserData\"]}]}}]}";
    ASSERT_TRUE(canon_is(text, want, 0xabcf422003e65b38ULL));
}

/* Every catalog schema: its canonical form parses back to the same form and fingerprint. */
TEST(test_catalog_canonical_is_stable)
{
    FILE *f = fopen(EDXBUS_TEST_DATA_DIR "/schemas_generated.jsonl", "r");
    char *line = NULL;
    size_t cap = 0;
    int rows = 0, stable = 0;

    ASSERT_TRUE(f != NULL);
    while (getline(&line, &cap, f) > 0) {
        json_t *row = json_loads(line, 0, NULL);
        const char *text = json_string_value(json_object_get(row, "schema_string"));
        edxbus_avro_schema_t *schema = text ? parse_ok(text) : NULL;
        char *canon = schema ? edxbus_avro_schema_canonical(schema) : NULL;
        rows++;
        if (canon != NULL && canon_is(canon, canon, edxbus_avro_crc64(canon, strlen(canon))) &&
            edxbus_avro_schema_fingerprint(schema) == edxbus_avro_crc64(canon, strlen(canon)))
            stable++;
        free(canon);
        edxbus_avro_schema_destroy(schema);
        json_decref(row);
    }
    free(line);
    fclose(f);
    ASSERT_EQ_INT(rows, 72);
    ASSERT_EQ_INT(stable, 72);
}

TEST(test_null_schema)
{
    ASSERT_TRUE(edxbus_avro_schema_canonical(NULL) == NULL);
}

int main(void)
{
    RUN(test_crc64_of_bytes);
    RUN(test_primitives_fingerprints);
    RUN(test_primitive_object_form_collapses);
    RUN(test_array_and_map);
    RUN(test_fixed_and_enum);
    RUN(test_recursive_record);
    RUN(test_names_everywhere_are_full);
    RUN(test_empty_union);
    RUN(test_escapes_in_input_are_decoded);
    RUN(test_catalog_exam_attempt_reset);
    RUN(test_catalog_canonical_is_stable);
    RUN(test_null_schema);
    return test_report();
}
