/* tests/unit/avro/test_encode.c — the encoder, type by type, and its error messages.
 *
 * Expected bytes were checked against the Avro spec's zig-zag/varint rules and, for doubles,
 * Python's struct.pack('<d', x). Each success case also decodes back to the same JSON text.
 */
#include "avro_test_util.h"

#include <float.h>

#define REC(fields) "{\"type\":\"record\",\"name\":\"R\",\"fields\":[" fields "]}"

TEST(test_long_boundaries)
{
    ASSERT_ROUNDTRIP("\"long\"", "0", "00");
    ASSERT_ROUNDTRIP("\"long\"", "-1", "01");
    ASSERT_ROUNDTRIP("\"long\"", "1", "02");
    ASSERT_ROUNDTRIP("\"long\"", "63", "7e");
    ASSERT_ROUNDTRIP("\"long\"", "64", "8001");
    ASSERT_ROUNDTRIP("\"long\"", "-64", "7f");
    ASSERT_ROUNDTRIP("\"long\"", "-65", "8101");
    ASSERT_ROUNDTRIP("\"long\"", "8191", "fe7f");
    ASSERT_ROUNDTRIP("\"long\"", "8192", "808001");
    ASSERT_ROUNDTRIP("\"long\"", "9223372036854775807", "feffffffffffffffff01");
    ASSERT_ROUNDTRIP("\"long\"", "-9223372036854775808", "ffffffffffffffffff01");
}

TEST(test_int_bounds)
{
    ASSERT_ROUNDTRIP("\"int\"", "2147483647", "feffffff0f");
    ASSERT_ROUNDTRIP("\"int\"", "-2147483648", "ffffffff0f");
    ASSERT_ENCODE_FAILS("\"int\"", "2147483648", "out of int range");
    ASSERT_ENCODE_FAILS("\"int\"", "-2147483649", "out of int range");
    ASSERT_ENCODE_FAILS("\"int\"", "1.5", "expected int, got real 1.5");
}

TEST(test_doubles_and_floats)
{
    ASSERT_ROUNDTRIP("\"double\"", "-0.0", "0000000000000080");
    ASSERT_ROUNDTRIP("\"double\"", "1e-300", "59f3f8c21f6ea501");
    ASSERT_ROUNDTRIP("\"double\"", "1.7976931348623157e+308", "ffffffffffffef7f");
    ASSERT_ROUNDTRIP("\"double\"", "5e-324", "0100000000000000");
    ASSERT_ROUNDTRIP("\"double\"", "0.1", "9a9999999999b93f");
    /* a JSON integer is a fine double; it reads back as a real */
    ASSERT_ENCODES("\"double\"", "3", "0000000000000840");
    ASSERT_DECODES("\"double\"", "0000000000000840", "3.0");
    ASSERT_ROUNDTRIP("\"float\"", "1.5", "0000c03f");
    /* floats are 4 bytes; 0.1 comes back as the float nearest it, printed as Python would */
    ASSERT_ENCODES("\"float\"", "0.1", "cdcccc3d");
    ASSERT_DECODES("\"float\"", "cdcccc3d", "0.10000000149011612");
    ASSERT_ENCODE_FAILS("\"double\"", "\"1.0\"", "expected double, got string \"1.0\"");
    ASSERT_ENCODE_FAILS("\"float\"", "1e300", "real 1e+300 is out of float range");
}

TEST(test_booleans_only_true_false)
{
    ASSERT_ROUNDTRIP("\"boolean\"", "true", "01");
    ASSERT_ROUNDTRIP("\"boolean\"", "false", "00");
    ASSERT_ENCODE_FAILS("\"boolean\"", "1", "expected boolean, got integer 1");
    ASSERT_ENCODE_FAILS("\"boolean\"", "null", "expected boolean, got null");
}

TEST(test_strings)
{
    ASSERT_ROUNDTRIP("\"string\"", "\"\"", "00");
    ASSERT_ENCODES("\"string\"", "\"h\\u00e9llo\"", "0c68c3a96c6c6f");
    ASSERT_DECODES("\"string\"", "0c68c3a96c6c6f", "\"h\xc3\xa9llo\"");
    /* NUL inside a string is data, not an end */
    ASSERT_ROUNDTRIP("\"string\"", "\"a\\u0000b\"", "06610062");
    /* 4-byte UTF-8 (U+1F600), written raw */
    ASSERT_ENCODES("\"string\"", "\"\\ud83d\\ude00\"", "08f09f9880");
    ASSERT_DECODES("\"string\"", "08f09f9880", "\"\xf0\x9f\x98\x80\"");
    ASSERT_ENCODE_FAILS("\"string\"", "5", "expected string, got integer 5");
}

TEST(test_bytes_and_fixed)
{
    ASSERT_ENCODES("\"bytes\"", "\"\\u00ff\\u0000A\"", "06ff0041");
    ASSERT_DECODES("\"bytes\"", "06ff0041", "\"\xc3\xbf\\u0000A\"");
    ASSERT_ROUNDTRIP("\"bytes\"", "\"\"", "00");
    ASSERT_ENCODE_FAILS("\"bytes\"", "\"\\u0100\"", "code points 0-255");
    const char *fixed = "{\"type\":\"fixed\",\"name\":\"F\",\"size\":2}";
    ASSERT_ENCODES(fixed, "\"\\u00e9z\"", "e97a");
    ASSERT_DECODES(fixed, "e97a", "\"\xc3\xa9z\"");
    ASSERT_ENCODE_FAILS(fixed, "\"abc\"", "exactly 2");
}

TEST(test_enums)
{
    const char *e = "{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"A\",\"B\",\"C\"]}";
    ASSERT_ROUNDTRIP(e, "\"C\"", "04");
    ASSERT_ENCODE_FAILS(e, "\"D\"", "\"D\" is not a symbol of enum E");
}

TEST(test_arrays_and_maps)
{
    const char *arr = "{\"type\":\"array\",\"items\":\"long\"}";
    /* an empty array is the single byte 00, as fastavro writes it */
    ASSERT_ROUNDTRIP(arr, "[]", "00");
    ASSERT_ROUNDTRIP(arr, "[1, 2]", "04020400");
    const char *map = "{\"type\":\"map\",\"values\":{\"type\":\"array\",\"items\":\"long\"}}";
    ASSERT_ROUNDTRIP(map, "{}", "00");
    ASSERT_ROUNDTRIP(map, "{\"a\": [1], \"b\": []}",
                     "0402610202000262"
                     "0000");
    /* a non-ASCII map key; one with a NUL in it decodes (jansson cannot parse it from text) */
    ASSERT_ROUNDTRIP("{\"type\":\"map\",\"values\":\"null\"}", "{\"\xc3\xa9\": null}",
                     "0204c3a900");
    ASSERT_DECODES("{\"type\":\"map\",\"values\":\"null\"}", "0206c3a90000",
                   "{\"\xc3\xa9\\u0000\": null}");
    /* 120 items: the count 120 is f001 */
    char json[600] = "[";
    for (int i = 0; i < 120; i++)
        snprintf(json + strlen(json), sizeof json - strlen(json), "%s0", i ? ", " : "");
    snprintf(json + strlen(json), sizeof json - strlen(json), "]");
    const char *hex = encode_hex(arr, json);
    ASSERT_TRUE(hex != NULL && strncmp(hex, "f001", 4) == 0);
    ASSERT_ENCODE_FAILS(arr, "[1, \"x\"]", "[1]: expected long, got string \"x\"");
    ASSERT_ENCODE_FAILS(map, "{\"k\": [1, null]}", "[\"k\"][1]: expected long, got null");
}

TEST(test_arrays_of_records)
{
    const char *s =
        "{\"type\":\"array\",\"items\":" REC("{\"name\":\"a\",\"type\":\"long\"},"
                                             "{\"name\":\"b\",\"type\":\"string\"}") "}";
    ASSERT_ROUNDTRIP(s, "[{\"a\": 1, \"b\": \"x\"}, {\"a\": -1, \"b\": \"\"}]", "04020278010000");
}

TEST(test_unions)
{
    const char *opt = "[\"null\",\"string\"]";
    ASSERT_ROUNDTRIP(opt, "null", "00");
    ASSERT_ROUNDTRIP(opt, "\"\"", "0200");
    ASSERT_ENCODE_FAILS(opt, "5", "expected union [null, string], got integer 5");
    /* nested: an optional array of optional longs */
    const char *nested = "[\"null\",{\"type\":\"array\",\"items\":[\"null\",\"long\"]}]";
    ASSERT_ROUNDTRIP(nested, "[null, 5]", "020400020a00");
    /* int when it fits, else long */
    const char *il = "[\"int\",\"long\"]";
    ASSERT_ENCODES(il, "5", "000a");
    ASSERT_ENCODES(il, "4294967296", "028080808020");
    /* avro.h's examples: the first of int/long in schema order; string before bytes */
    ASSERT_ENCODES("[\"null\",\"long\",\"int\"]", "5", "020a");
    ASSERT_ENCODES("[\"null\",\"string\",\"bytes\"]", "\"x\"", "020278");
    ASSERT_ENCODES("[\"null\",\"bytes\",\"string\"]", "\"x\"", "040278"); /* still string */
    /* reals prefer double over float */
    ASSERT_ENCODES("[\"float\",\"double\"]", "1.5", "02000000000000f83f");
    /* strings: string, then bytes, then enum */
    const char *se = "[{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"A\"]},\"bytes\"]";
    ASSERT_ENCODES(se, "\"A\"", "020241");
    const char *eo = "[\"null\",{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"A\"]}]";
    ASSERT_ENCODES(eo, "\"A\"", "0200");
    /* objects: the record whose fields fit, else the map */
    const char *rm =
        "[{\"type\":\"map\",\"values\":\"long\"}," REC("{\"name\":\"a\",\"type\":\"long\"}") "]";
    ASSERT_ENCODES(rm, "{\"a\": 1}", "0202");
    ASSERT_ENCODES(rm, "{\"b\": 1}", "000202620200");
}

/* Fields are found whatever the order of the object's keys: in schema order (read without a
 * hash lookup), reversed, interleaved, with a key missing (its default) or one too many, in a
 * record and in a union's record branch; the bytes and the errors do not depend on the order. */
TEST(test_record_key_order)
{
    const char *s = REC("{\"name\":\"a\",\"type\":\"long\"},"
                        "{\"name\":\"b\",\"type\":\"string\"},"
                        "{\"name\":\"c\",\"type\":\"long\",\"default\":9},"
                        "{\"name\":\"d\",\"type\":[\"null\",\"long\"]}");
    ASSERT_ENCODES(s, "{\"a\": 1, \"b\": \"x\", \"c\": 2, \"d\": 3}", "020278040206");
    ASSERT_ENCODES(s, "{\"d\": 3, \"c\": 2, \"b\": \"x\", \"a\": 1}", "020278040206");
    ASSERT_ENCODES(s, "{\"b\": \"x\", \"a\": 1, \"d\": 3, \"c\": 2}", "020278040206");
    ASSERT_ENCODES(s, "{\"a\": 1, \"c\": 2, \"b\": \"x\", \"d\": 3}", "020278040206");
    ASSERT_ENCODES(s, "{\"a\": 1, \"b\": \"x\", \"d\": 3}", "020278120206");
    ASSERT_ENCODES(s, "{\"b\": \"x\", \"a\": 1}", "0202781200");
    ASSERT_ENCODE_FAILS(s, "{\"a\": 1, \"e\": 0, \"b\": \"x\"}",
                        "unknown field \"e\"; expected one of: a, b, c, d");
    ASSERT_ENCODE_FAILS(s, "{\"c\": 2, \"a\": 1}", "b: missing field (string, no default)");
    const char *opt = "[\"null\"," REC("{\"name\":\"a\",\"type\":\"long\"},"
                                       "{\"name\":\"b\",\"type\":\"long\"}") "]";
    ASSERT_ENCODES(opt, "{\"a\": 1, \"b\": 2}", "020204");
    ASSERT_ENCODES(opt, "{\"b\": 2, \"a\": 1}", "020204");
    ASSERT_ENCODE_FAILS(opt, "{\"b\": 2}", "expected union [null, R], got object");
}

TEST(test_record_defaults_and_nulls)
{
    const char *s = REC("{\"name\":\"a\",\"type\":\"long\",\"default\":7},"
                        "{\"name\":\"b\",\"type\":[\"null\",\"string\"]},"
                        "{\"name\":\"c\",\"type\":[\"string\",\"null\"],\"default\":\"d\"},"
                        "{\"name\":\"d\",\"type\":\"bytes\",\"default\":\"\\u00ff\"}");
    /* a, c and d take their defaults (c's is of its first branch), b is null: its union has null */
    ASSERT_ENCODES(s, "{}", "0e0000026402ff");
    ASSERT_DECODES(s, "0e0000026402ff",
                   "{\"a\": 7, \"b\": null, \"c\": \"d\", \"d\": \"\xc3\xbf\"}");
}

#define ENROLLMENT                                                                                 \
    "{\"type\":\"record\",\"name\":\"CloudEvent\",\"fields\":[{\"name\":\"enrollment\","           \
    "\"type\":{\"type\":\"record\",\"name\":\"Enrollment\",\"fields\":["                           \
    "{\"name\":\"user\",\"type\":{\"type\":\"record\",\"name\":\"User\",\"fields\":["              \
    "{\"name\":\"id\",\"type\":\"long\"},{\"name\":\"name\",\"type\":[\"null\",\"string\"]}]}},"   \
    "{\"name\":\"mode\",\"type\":\"string\"}]}}]}"

TEST(test_record_errors_name_the_path)
{
    ASSERT_ENCODES(ENROLLMENT, "{\"enrollment\": {\"user\": {\"id\": 1}, \"mode\": \"m\"}}",
                   "0200026d");
    ASSERT_ENCODE_FAILS(
        ENROLLMENT,
        "{\"enrollment\": {\"user\": {\"id\": \"x\", \"name\": null}, \"mode\": \"m\"}}",
        "enrollment.user.id: expected long, got string \"x\"");
    ASSERT_ENCODE_FAILS(ENROLLMENT, "{\"enrollment\": {\"user\": {\"id\": 1}}}",
                        "enrollment.mode: missing field (string, no default)");
    ASSERT_ENCODE_FAILS(ENROLLMENT,
                        "{\"enrollment\": {\"user\": {\"id\": 1, \"foo\": 2}, \"mode\": \"m\"}}",
                        "enrollment.user: unknown field \"foo\"; expected one of: id, name");
    ASSERT_ENCODE_FAILS(ENROLLMENT, "[]", "expected record CloudEvent, got array");
}

TEST(test_failed_encode_leaves_buffer_alone)
{
    edxbus_avro_schema_t *s = schema_of(ENROLLMENT);
    json_t *v = json_loads("{\"enrollment\": {\"user\": {\"id\": 1}, \"mode\": 5}}", 0, NULL);
    struct edxbus_buf out = EDXBUS_BUF_INIT;
    edxbus_buf_append(&out, "abc", 3);
    ASSERT_EQ_INT(edxbus_avro_encode(s, v, 0, &out, errbuf, sizeof errbuf), EDXBUS_ERR_ENCODE);
    ASSERT_EQ_UINT(out.len, 3);
    ASSERT_CONTAINS(errbuf, "enrollment.mode: expected string, got integer 5");
    edxbus_buf_fini(&out);
    json_decref(v);
    edxbus_avro_schema_destroy(s);
}

static bool upper_only(const char *s, size_t len, char *why, size_t why_size)
{
    for (size_t i = 0; i < len; i++) {
        if (s[i] >= 'a' && s[i] <= 'z') {
            snprintf(why, why_size, "lower-case letter at %zu", i);
            return false;
        }
    }
    return true;
}

TEST(test_field_checks)
{
    edxbus_avro_schema_t *s = schema_of(ENROLLMENT);
    struct edxbus_avro_node *enr = s->root->u.record.fields[0].type;
    struct edxbus_avro_node *user = enr->u.record.fields[0].type;
    struct edxbus_avro_field *name = edxbus__avro_record_field(user, "name");
    name->check = upper_only;
    name->check_name = "shout";
    json_t *v = json_loads(
        "{\"enrollment\": {\"user\": {\"id\": 1, \"name\": \"Ada\"}, \"mode\": \"m\"}}", 0, NULL);
    struct edxbus_buf out = EDXBUS_BUF_INIT;
    ASSERT_EQ_INT(edxbus_avro_encode(s, v, 0, &out, errbuf, sizeof errbuf), EDXBUS_ERR_ENCODE);
    ASSERT_EQ_STR(errbuf,
                  "enrollment.user.name: \"Ada\" is not a valid shout: lower-case letter at 1");
    ASSERT_EQ_UINT(out.len, 0);
    ASSERT_EQ_INT(edxbus_avro_encode(s, v, EDXBUS_AVRO_NO_CHECKS, &out, errbuf, sizeof errbuf),
                  EDXBUS_OK);
    ASSERT_EQ_STR(bytes_to_hex(out.data, out.len), "020206416461026d");
    edxbus_buf_fini(&out);
    json_decref(v);
    edxbus_avro_schema_destroy(s);
}

TEST(test_depth_limit)
{
    const char *list = "{\"type\":\"record\",\"name\":\"N\",\"fields\":"
                       "[{\"name\":\"next\",\"type\":[\"null\",\"N\"]}]}";
    char json[2048];
    for (int depth = 60; depth <= 70; depth += 10) {
        size_t n = 0;
        for (int i = 0; i < depth; i++)
            n += (size_t)snprintf(json + n, sizeof json - n, "{\"next\": ");
        n += (size_t)snprintf(json + n, sizeof json - n, "null");
        for (int i = 0; i < depth; i++)
            n += (size_t)snprintf(json + n, sizeof json - n, "}");
        edxbus_err_t err;
        const char *hex = encode_hex_f(list, json, 0, &err);
        if (depth == 60) {
            ASSERT_TRUE(hex != NULL);
        } else {
            ASSERT_EQ_INT(err, EDXBUS_ERR_ENCODE);
            ASSERT_CONTAINS(errbuf, "nesting deeper than 64");
        }
    }
}

int main(void)
{
    RUN(test_long_boundaries);
    RUN(test_int_bounds);
    RUN(test_doubles_and_floats);
    RUN(test_booleans_only_true_false);
    RUN(test_strings);
    RUN(test_bytes_and_fixed);
    RUN(test_enums);
    RUN(test_arrays_and_maps);
    RUN(test_arrays_of_records);
    RUN(test_unions);
    RUN(test_record_key_order);
    RUN(test_record_defaults_and_nulls);
    RUN(test_record_errors_name_the_path);
    RUN(test_failed_encode_leaves_buffer_alone);
    RUN(test_field_checks);
    RUN(test_depth_limit);
    return test_report();
}
