/* tests/unit/avro/test_json_write.c — JSON text as CPython 3 json.dumps writes it.
 *
 * Every expected string below was printed by CPython (repr(float) / json.dumps) and pasted in.
 */
#include "avro_test_util.h"

#include <float.h>
#include <math.h>

static const char *repr(double d)
{
    static char text[64];
    struct edxbus_buf out = EDXBUS_BUF_INIT;
    edxbus_json_write_double(d, &out);
    snprintf(text, sizeof text, "%.*s", (int)out.len, (char *)out.data);
    edxbus_buf_fini(&out);
    return text;
}

TEST(test_double_repr)
{
    ASSERT_EQ_STR(repr(1e16), "1e+16");
    ASSERT_EQ_STR(repr(1e15), "1000000000000000.0");
    ASSERT_EQ_STR(repr(1e-5), "1e-05");
    ASSERT_EQ_STR(repr(0.0001), "0.0001");
    ASSERT_EQ_STR(repr(1.5e-7), "1.5e-07");
    ASSERT_EQ_STR(repr(DBL_MAX), "1.7976931348623157e+308");
    ASSERT_EQ_STR(repr(5e-324), "5e-324");
    ASSERT_EQ_STR(repr(1e-300), "1e-300");
    ASSERT_EQ_STR(repr(123.0), "123.0");
    ASSERT_EQ_STR(repr(-0.0), "-0.0");
    ASSERT_EQ_STR(repr(0.0), "0.0");
    ASSERT_EQ_STR(repr(0.1), "0.1");
    ASSERT_EQ_STR(repr(1e22), "1e+22");
    ASSERT_EQ_STR(repr(1e21), "1e+21");
    ASSERT_EQ_STR(repr(-1.5), "-1.5");
    ASSERT_EQ_STR(repr(2.5e-5), "2.5e-05");
    ASSERT_EQ_STR(repr(1.0 / 3.0), "0.3333333333333333");
    ASSERT_EQ_STR(repr(9007199254740992.0), "9007199254740992.0");
    ASSERT_EQ_STR(repr(9999999999999998.0), "9999999999999998.0");
    ASSERT_EQ_STR(repr(12345678901234567.0), "1.2345678901234568e+16");
    ASSERT_EQ_STR(repr(1e100), "1e+100");
    ASSERT_EQ_STR(repr(123456.789), "123456.789");
    ASSERT_EQ_STR(repr(DBL_MIN), "2.2250738585072014e-308");
    ASSERT_EQ_STR(repr(0.1 + 0.2), "0.30000000000000004");
    ASSERT_EQ_STR(repr(100.0), "100.0");
    ASSERT_EQ_STR(repr(1e-7), "1e-07");
    /* a power of two, where the shorter neighbour lies on the wide side (2^-44) */
    ASSERT_EQ_STR(repr(ldexp(1.0, -44)), "5.684341886080802e-14");
    ASSERT_EQ_STR(repr(NAN), "NaN");
    ASSERT_EQ_STR(repr(INFINITY), "Infinity");
    ASSERT_EQ_STR(repr(-INFINITY), "-Infinity");
}

static const char *dumps(const char *json_text, unsigned flags)
{
    static char text[1024];
    json_t *v = json_loads(json_text, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    if (v == NULL)
        return "(bad json)";
    struct edxbus_buf out = EDXBUS_BUF_INIT;
    edxbus_json_write(v, flags, &out);
    snprintf(text, sizeof text, "%.*s", (int)out.len, (char *)out.data);
    edxbus_buf_fini(&out);
    json_decref(v);
    return text;
}

#define MIXED                                                                                      \
    "{\"a\":[1,2],\"b\":{\"c\":null,\"d\":true},\"e\":\"x\\u00e9\\ud83d\\ude00\\u0000\\u001f"      \
    "\\u007f\\\"\\\\\\b\\f\\n\\r\\t\"}"

TEST(test_separators_and_escapes)
{
    ASSERT_EQ_STR(dumps(MIXED, EDXBUS_JSON_ASCII),
                  "{\"a\": [1, 2], \"b\": {\"c\": null, \"d\": true}, \"e\": "
                  "\"x\\u00e9\\ud83d\\ude00\\u0000\\u001f\\u007f\\\"\\\\\\b\\f\\n\\r\\t\"}");
    ASSERT_EQ_STR(dumps(MIXED, 0), "{\"a\": [1, 2], \"b\": {\"c\": null, \"d\": true}, \"e\": "
                                   "\"x\xc3\xa9\xf0\x9f\x98\x80\\u0000\\u001f\x7f\\\"\\\\\\b\\f\\n"
                                   "\\r\\t\"}");
    ASSERT_EQ_STR(dumps("[[],{}]", 0), "[[], {}]");
    ASSERT_EQ_STR(dumps("[false, 1.0, -0.0, 1e300]", 0), "[false, 1.0, -0.0, 1e+300]");
}

TEST(test_integers_exact)
{
    ASSERT_EQ_STR(dumps("[9223372036854775807, -9223372036854775808, 0, -1]", 0),
                  "[9223372036854775807, -9223372036854775808, 0, -1]");
}

TEST(test_key_with_nul)
{
    json_t *o = json_object();
    json_object_setn_new(o, "a\0b", 3, json_string("\xe2\x82\xac"));
    struct edxbus_buf out = EDXBUS_BUF_INIT;
    edxbus_json_write(o, EDXBUS_JSON_ASCII, &out);
    edxbus_buf_terminate(&out);
    ASSERT_EQ_STR((char *)out.data, "{\"a\\u0000b\": \"\\u20ac\"}");
    edxbus_buf_fini(&out);
    json_decref(o);
}

int main(void)
{
    RUN(test_double_repr);
    RUN(test_separators_and_escapes);
    RUN(test_integers_exact);
    RUN(test_key_with_nul);
    return test_report();
}
