/* tests/unit/avro/test_resolve.c — schema resolution (writer's schema vs reader's schema).
 *
 * Each case encodes a value under the writer's schema, reads the bytes with a resolver into the
 * reader's plain form, and compares the JSON text. Incompatible pairs must be refused by
 * edxbus_avro_resolver_new with a message naming the field.
 */
#include "avro_test_util.h"

#define REC(name, fields) "{\"type\":\"record\",\"name\":\"" name "\",\"fields\":[" fields "]}"
#define F(name, type) "{\"name\":\"" name "\",\"type\":" type "}"
#define ARR_LONG "{\"type\":\"array\",\"items\":\"long\"}"
#define MAP_STRING "{\"type\":\"map\",\"values\":\"string\"}"
#define FD(name, type, def) "{\"name\":\"" name "\",\"type\":" type ",\"default\":" def "}"

/* Resolve writer bytes (given as JSON under the writer's schema, or as hex when json is NULL). */
static const char *resolved_hex(const char *writer, const char *reader, const char *json,
                                const char *hex, edxbus_err_t *err_out)
{
    static char text[2048];
    static uint8_t bytes[1024];
    edxbus_avro_schema_t *w = schema_of(writer);
    edxbus_avro_schema_t *r = schema_of(reader);
    edxbus_avro_resolver_t *res = edxbus_avro_resolver_new(w, r, errbuf, sizeof errbuf);
    if (res == NULL)
        TEST_FAIL_("resolver_new: %s", errbuf);
    size_t n;
    if (json != NULL) {
        const char *h = encode_hex(writer, json);
        if (h == NULL)
            TEST_FAIL_("writer encode: %s", errbuf);
        n = hex_to_bytes(h, bytes, sizeof bytes);
    } else {
        n = hex_to_bytes(hex, bytes, sizeof bytes);
    }
    uint8_t *exact = malloc(n ? n : 1);
    memcpy(exact, bytes, n);
    json_t *v = NULL;
    edxbus_err_t err = edxbus_avro_resolver_decode(res, exact, n, &v, errbuf, sizeof errbuf);
    if (err_out != NULL)
        *err_out = err;
    const char *result = NULL;
    if (err == EDXBUS_OK) {
        struct edxbus_buf out = EDXBUS_BUF_INIT;
        edxbus_json_write(v, 0, &out);
        snprintf(text, sizeof text, "%.*s", (int)out.len, (char *)out.data);
        edxbus_buf_fini(&out);
        result = text;
    }
    json_decref(v);
    free(exact);
    edxbus_avro_resolver_destroy(res);
    edxbus_avro_schema_destroy(w);
    edxbus_avro_schema_destroy(r);
    return result;
}

static const char *resolved(const char *writer, const char *reader, const char *json)
{
    return resolved_hex(writer, reader, json, NULL, NULL);
}

static const char *refused(const char *writer, const char *reader)
{
    edxbus_avro_schema_t *w = schema_of(writer);
    edxbus_avro_schema_t *r = schema_of(reader);
    edxbus_avro_resolver_t *res = edxbus_avro_resolver_new(w, r, errbuf, sizeof errbuf);
    const char *out = res == NULL ? errbuf : NULL;
    edxbus_avro_resolver_destroy(res);
    edxbus_avro_schema_destroy(w);
    edxbus_avro_schema_destroy(r);
    return out;
}

TEST(test_added_field_takes_default)
{
    const char *w = REC("R", F("a", "\"long\""));
    const char *r =
        REC("R", F("a", "\"long\"") "," FD("b", "\"string\"", "\"x\"") "," FD(
                     "c", "[\"null\",\"long\"]", "null") "," FD("d", "\"double\"", "2"));
    ASSERT_EQ_STR(resolved(w, r, "{\"a\": 1}"),
                  "{\"a\": 1, \"b\": \"x\", \"c\": null, \"d\": 2.0}");
    /* a reader field with no default that the writer lacks is refused up front */
    const char *r2 = REC("R", F("a", "\"long\"") "," F("b", "\"string\""));
    ASSERT_CONTAINS(refused(w, r2), "resolve: b: reader field has no default");
}

TEST(test_removed_fields_are_skipped)
{
    const char *w =
        REC("R", F("s", "\"string\"") "," F("a", "\"long\"") "," F("arr", ARR_LONG) "," F(
                     "m", MAP_STRING) "," F("u", "[\"null\",\"double\"]") "," F("z", "\"long\""));
    const char *r = REC("R", F("z", "\"long\"") "," F("a", "\"long\""));
    ASSERT_EQ_STR(resolved(w, r,
                           "{\"s\": \"xy\", \"a\": 3, \"arr\": [1, 2], \"m\": {\"k\": \"v\"}, "
                           "\"u\": 1.5, \"z\": 9}"),
                  "{\"z\": 9, \"a\": 3}");
    /* skipping honours negative block counts with byte sizes: arr is count -2, size 2 */
    ASSERT_EQ_STR(resolved_hex(w, r, NULL,
                               "0278"
                               "06"
                               "0304020400"
                               "00"
                               "00"
                               "12",
                               NULL),
                  "{\"z\": 9, \"a\": 3}");
    /* and is as strict as decoding: a negative string length in a skipped field */
    edxbus_err_t err;
    ASSERT_TRUE(resolved_hex(w, r, NULL, "01", &err) == NULL);
    ASSERT_EQ_INT(err, EDXBUS_ERR_DECODE);
    ASSERT_CONTAINS(errbuf, "avro: byte 0: negative string length -1 in field \"s\"");
}

TEST(test_promotions)
{
    const char *w = REC("R", F("i", "\"int\"") "," F("l", "\"long\"") "," F("f", "\"float\"") "," F(
                                 "i2", "\"int\"") "," F("l2", "\"long\""));
    const char *r =
        REC("R", F("i", "\"long\"") "," F("l", "\"double\"") "," F("f", "\"double\"") "," F(
                     "i2", "\"float\"") "," F("l2", "\"float\""));
    ASSERT_EQ_STR(resolved(w, r,
                           "{\"i\": -7, \"l\": 9007199254740993, \"f\": 0.1, \"i2\": 3, "
                           "\"l2\": 16777217}"),
                  "{\"i\": -7, \"l\": 9007199254740992.0, \"f\": 0.10000000149011612, \"i2\": "
                  "3.0, \"l2\": 16777216.0}");
    /* no demotion */
    ASSERT_CONTAINS(refused(REC("R", F("a", "\"long\"")), REC("R", F("a", "\"int\""))),
                    "resolve: a: writer type long cannot be read as reader type int");
}

TEST(test_string_and_bytes)
{
    const char *w = REC("R", F("s", "\"string\"") "," F("b", "\"bytes\""));
    const char *r = REC("R", F("s", "\"bytes\"") "," F("b", "\"string\""));
    ASSERT_EQ_STR(resolved(w, r, "{\"s\": \"\xc3\xa9\", \"b\": \"\\u00c3\\u00a9\"}"),
                  "{\"s\": \"\xc3\x83\xc2\xa9\", \"b\": \"\xc3\xa9\"}");
    /* bytes that are not UTF-8 cannot become a string */
    edxbus_err_t err;
    ASSERT_TRUE(resolved_hex(w, r, NULL, "0002ff", &err) == NULL);
    ASSERT_CONTAINS(errbuf, "avro: byte 2: invalid UTF-8 in bytes read as string in field \"b\"");
}

TEST(test_unions_both_ways)
{
    /* writer union, reader not: fine while the written branch fits */
    const char *w = REC("R", F("x", "[\"null\",\"long\"]"));
    const char *r = REC("R", F("x", "\"long\""));
    ASSERT_EQ_STR(resolved(w, r, "{\"x\": 5}"), "{\"x\": 5}");
    edxbus_err_t err;
    ASSERT_TRUE(resolved_hex(w, r, NULL, "00", &err) == NULL);
    ASSERT_EQ_INT(err, EDXBUS_ERR_DECODE);
    ASSERT_CONTAINS(errbuf, "writer type null cannot be read as reader type long in field \"x\"");
    /* reader union, writer not: the first branch that matches, promotions included */
    ASSERT_EQ_STR(resolved(r, w, "{\"x\": 5}"), "{\"x\": 5}");
    ASSERT_EQ_STR(resolved(REC("R", F("x", "\"int\"")),
                           REC("R", F("x", "[\"null\",\"string\",\"double\",\"long\"]")),
                           "{\"x\": 5}"),
                  "{\"x\": 5.0}");
    /* both unions */
    ASSERT_EQ_STR(resolved(REC("R", F("x", "[\"null\",\"int\",\"string\"]")),
                           REC("R", F("x", "[\"string\",\"null\",\"long\"]")), "{\"x\": 4}"),
                  "{\"x\": 4}");
    /* no branch can ever match */
    ASSERT_CONTAINS(
        refused(REC("R", F("x", "\"boolean\"")), REC("R", F("x", "[\"null\",\"long\"]"))),
        "resolve: x: writer type boolean matches no branch of the reader's union");
}

TEST(test_enums)
{
    const char *w = REC("R", F("e", "{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"A\",\"B\","
                                    "\"C\"]}"));
    const char *r = REC("R", F("e", "{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"B\",\"A\"],"
                                    "\"default\":\"A\"}"));
    const char *r_nodef =
        REC("R", F("e", "{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"B\",\"A\"]}"));
    ASSERT_EQ_STR(resolved(w, r, "{\"e\": \"B\"}"), "{\"e\": \"B\"}");
    ASSERT_EQ_STR(resolved(w, r, "{\"e\": \"C\"}"), "{\"e\": \"A\"}");
    edxbus_err_t err;
    ASSERT_TRUE(resolved_hex(w, r_nodef, NULL, "04", &err) == NULL);
    ASSERT_CONTAINS(errbuf, "avro: byte 0: enum symbol \"C\" unknown to the reader's E in field");
}

TEST(test_names_and_aliases)
{
    /* unqualified names match across namespaces */
    const char *w =
        "{\"type\":\"record\",\"name\":\"a.b.User\",\"fields\":[" F("id", "\"long\"") "]}";
    const char *r = "{\"type\":\"record\",\"name\":\"User\",\"fields\":[" F("id", "\"long\"") "]}";
    ASSERT_EQ_STR(resolved(w, r, "{\"id\": 1}"), "{\"id\": 1}");
    /* record and field aliases */
    const char *ra = "{\"type\":\"record\",\"name\":\"Person\",\"aliases\":[\"a.b.User\"],"
                     "\"fields\":[{\"name\":\"uid\",\"type\":\"long\",\"aliases\":[\"id\"]}]}";
    ASSERT_EQ_STR(resolved(w, ra, "{\"id\": 1}"), "{\"uid\": 1}");
    const char *other =
        "{\"type\":\"record\",\"name\":\"Person\",\"fields\":[" F("id", "\"long\"") "]}";
    ASSERT_CONTAINS(refused(w, other), "writer type a.b.User cannot be read as reader type Person");
    /* fixed: the size must match too */
    ASSERT_CONTAINS(refused("{\"type\":\"fixed\",\"name\":\"F\",\"size\":2}",
                            "{\"type\":\"fixed\",\"name\":\"F\",\"size\":3}"),
                    "cannot be read");
}

TEST(test_nested_records_arrays_maps)
{
    const char *w = REC(
        "R",
        F("items",
          "{\"type\":\"array\",\"items\":" REC(
              "I", F("n", "\"int\"") "," F(
                       "gone", "\"string\"")) "}") "," F("m",
                                                         "{\"type\":\"map\",\"values\":\"int\"}"));
    const char *r = REC(
        "R", F("items",
               "{\"type\":\"array\",\"items\":" REC(
                   "I", F("n", "\"long\"") "," FD(
                            "new", "{\"type\":\"array\",\"items\":\"long\"}",
                            "[1]")) "}") "," F("m", "{\"type\":\"map\",\"values\":\"double\"}"));
    ASSERT_EQ_STR(
        resolved(w, r,
                 "{\"items\": [{\"n\": 1, \"gone\": \"x\"}, {\"n\": 2, \"gone\": \"\"}], "
                 "\"m\": {\"k\": 3}}"),
        "{\"items\": [{\"n\": 1, \"new\": [1]}, {\"n\": 2, \"new\": [1]}], \"m\": {\"k\": "
        "3.0}}");
}

TEST(test_recursive_schemas)
{
    const char *w = "{\"type\":\"record\",\"name\":\"N\",\"fields\":[" F("v", "\"int\"") "," F(
        "next", "[\"null\",\"N\"]") "]}";
    const char *r = "{\"type\":\"record\",\"name\":\"N\",\"fields\":[" F("v", "\"long\"") "," F(
        "next", "[\"null\",\"N\"]") "]}";
    ASSERT_EQ_STR(resolved(w, r, "{\"v\": 1, \"next\": {\"v\": 2, \"next\": null}}"),
                  "{\"v\": 1, \"next\": {\"v\": 2, \"next\": null}}");
}

int main(void)
{
    RUN(test_added_field_takes_default);
    RUN(test_removed_fields_are_skipped);
    RUN(test_promotions);
    RUN(test_string_and_bytes);
    RUN(test_unions_both_ways);
    RUN(test_enums);
    RUN(test_names_and_aliases);
    RUN(test_nested_records_arrays_maps);
    RUN(test_recursive_schemas);
    return test_report();
}
