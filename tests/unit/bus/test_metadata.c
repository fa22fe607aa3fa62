/* tests/unit/bus/test_metadata.c — EventsMetadata against the reference vectors.
 *
 * Every row of tests/vectors/metadata.jsonl is rebuilt from its text forms (and again from its
 * JSON form) and must give the row's to_json string byte for byte and each Redis field / Kafka
 * header text. Then generation, the time codec at the edges of years 1..9999, and the errors.
 */
#include <stdbool.h>
#include <time.h>
#include <unistd.h>

#include "edxbus/avro.h"
#include "edxbus/metadata.h"
#include "test.h"

#define VECTORS EDXBUS_TEST_DATA_DIR "/metadata.jsonl"

static char errstr[EDXBUS_ERRSTR_SIZE];

/* The text of field @p name of @p md, in a static buffer. */
static const char *field(const struct edxbus_metadata *md, const char *name)
{
    static char text[1024];
    struct edxbus_buf b = EDXBUS_BUF_INIT;
    text[0] = '\0';
    if (edxbus_metadata_field_text(md, name, &b) == EDXBUS_OK && b.len < sizeof text) {
        if (b.len)
            memcpy(text, b.data, b.len);
        text[b.len] = '\0';
    } else {
        snprintf(text, sizeof text, "(error)");
    }
    edxbus_buf_fini(&b);
    return text;
}

static const char *to_json(const struct edxbus_metadata *md)
{
    static char text[4096];
    struct edxbus_buf b = EDXBUS_BUF_INIT;
    if (edxbus_metadata_to_json(md, &b) == EDXBUS_OK && b.len < sizeof text) {
        memcpy(text, b.data, b.len);
        text[b.len] = '\0';
    } else {
        snprintf(text, sizeof text, "(error)");
    }
    edxbus_buf_fini(&b);
    return text;
}

/* edxbus_metadata_write_json() equals edxbus_json_write() of the tree, with both flag sets. */
static void check_write_json(const struct edxbus_metadata *md, const char *cs)
{
    json_t *v = edxbus_metadata_to_json_value(md);
    if (v == NULL)
        TEST_FAIL_("%s: to_json_value failed", cs);
    for (unsigned flags = 0; flags <= EDXBUS_JSON_ASCII; flags += EDXBUS_JSON_ASCII) {
        struct edxbus_buf a = EDXBUS_BUF_INIT, b = EDXBUS_BUF_INIT;
        ASSERT_EQ_INT(edxbus_metadata_write_json(md, flags, &a), EDXBUS_OK);
        ASSERT_EQ_INT(edxbus_json_write(v, flags, &b), EDXBUS_OK);
        edxbus_buf_terminate(&a);
        edxbus_buf_terminate(&b);
        if (a.len != b.len || memcmp(a.data, b.data, a.len) != 0)
            TEST_FAIL_("%s: write_json(%u)\n  got:  %s\n  want: %s", cs, flags,
                       (const char *)a.data, (const char *)b.data);
        edxbus_buf_fini(&a);
        edxbus_buf_fini(&b);
    }
    json_decref(v);
}

static void set(struct edxbus_metadata *md, const char *name, const char *text)
{
    edxbus_err_t err =
        edxbus_metadata_set_field(md, name, text, strlen(text), errstr, sizeof errstr);
    if (err != EDXBUS_OK)
        TEST_FAIL_("set %s=%s: %s", name, text, errstr);
}

/* Header/field name on a bus -> metadata field name; NULL for the constant ones. */
static const char *bus_name_to_field(const char *name)
{
    static const char *map[][2] = {
        {"type", "event_type"},
        {"ce_type", "event_type"},
        {"id", "id"},
        {"ce_id", "id"},
        {"source", "source"},
        {"ce_source", "source"},
        {"time", "time"},
        {"ce_time", "time"},
        {"minorversion", "minorversion"},
        {"ce_minorversion", "minorversion"},
        {"sourcehost", "sourcehost"},
        {"sourcelib", "sourcelib"},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(map[i][0], name) == 0)
            return map[i][1];
    return NULL;
}

static void check_pairs(const struct edxbus_metadata *md, const json_t *pairs, const char *cs)
{
    size_t i, checked = 0;
    json_t *pair;
    json_array_foreach(pairs, i, pair)
    {
        const char *name = bus_name_to_field(json_string_value(json_array_get(pair, 0)));
        if (name == NULL)
            continue;
        const char *want = json_string_value(json_array_get(pair, 1));
        if (strcmp(field(md, name), want) != 0)
            TEST_FAIL_("%s: field %s: got %s, want %s", cs, name, field(md, name), want);
        checked++;
    }
    ASSERT_EQ_INT(checked, 7);
}

static void each_row(void (*fn)(const json_t *row))
{
    FILE *f = fopen(VECTORS, "r");
    char *line = NULL;
    size_t cap = 0;
    int rows = 0;
    ASSERT_TRUE(f != NULL);
    while (getline(&line, &cap, f) > 0) {
        json_error_t jerr;
        json_t *row = json_loads(line, 0, &jerr);
        if (row == NULL) {
            free(line);
            fclose(f);
            TEST_FAIL_("bad vector line: %s", jerr.text);
        }
        fn(row);
        json_decref(row);
        rows++;
    }
    free(line);
    fclose(f);
    ASSERT_EQ_INT(rows, 25);
}

static void row_from_text(const json_t *row)
{
    const char *cs = json_string_value(json_object_get(row, "case"));
    const json_t *fields = json_object_get(row, "fields");
    struct edxbus_metadata md;
    const char *key;
    json_t *v;
    char text[256];

    memset(&md, 0, sizeof md);
    json_object_foreach((json_t *)fields, key, v)
    {
        if (json_is_string(v)) {
            set(&md, key, json_string_value(v));
        } else if (json_is_integer(v)) {
            snprintf(text, sizeof text, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
            set(&md, key, text);
        } else {
            size_t i, n = 0;
            json_t *item;
            text[0] = '\0';
            json_array_foreach(v, i, item) n +=
                (size_t)snprintf(text + n, sizeof text - n, "%s%" JSON_INTEGER_FORMAT, i ? "." : "",
                                 json_integer_value(item));
            set(&md, key, text);
        }
    }
    const char *want = json_string_value(json_object_get(row, "to_json"));
    if (strcmp(to_json(&md), want) != 0)
        TEST_FAIL_("%s: to_json\n  got:  %s\n  want: %s", cs, to_json(&md), want);
    check_write_json(&md, cs);
    check_pairs(&md, json_object_get(row, "redis_fields"), cs);
    check_pairs(&md, json_object_get(row, "kafka_headers"), cs);

    json_t *value = edxbus_metadata_to_json_value(&md);
    ASSERT_TRUE(value != NULL);
    bool equal = json_equal(value, json_object_get(row, "to_json_data"));
    json_decref(value);
    if (!equal)
        TEST_FAIL_("%s: to_json_value differs from to_json_data", cs);
}

static void row_from_json(const json_t *row)
{
    const char *cs = json_string_value(json_object_get(row, "case"));
    struct edxbus_metadata md;
    memset(&md, 0, sizeof md);
    if (edxbus_metadata_from_json_value(&md, json_object_get(row, "to_json_data"), errstr,
                                        sizeof errstr) != EDXBUS_OK)
        TEST_FAIL_("%s: %s", cs, errstr);
    const char *want = json_string_value(json_object_get(row, "to_json"));
    if (strcmp(to_json(&md), want) != 0)
        TEST_FAIL_("%s: to_json\n  got:  %s\n  want: %s", cs, to_json(&md), want);
}

TEST(test_vectors_from_text_forms)
{
    each_row(row_from_text);
}
TEST(test_vectors_from_json)
{
    each_row(row_from_json);
}

TEST(test_generate)
{
    struct edxbus_metadata md;
    char host[600] = "";
    struct timespec ts;
    ASSERT_EQ_INT(edxbus_metadata_generate(&md, "org.openedx.learning.course.enrollment.created.v1",
                                           2, "lms", errstr, sizeof errstr),
                  EDXBUS_OK);
    clock_gettime(CLOCK_REALTIME, &ts);
    ASSERT_EQ_INT(strlen(md.id), 36);
    ASSERT_EQ_INT(md.id[14], '1');                  /* version 1 */
    ASSERT_TRUE(strchr("89ab", md.id[19]) != NULL); /* RFC 4122 variant */
    for (const char *p = md.id; *p; p++)
        ASSERT_TRUE((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') || *p == '-');
    ASSERT_EQ_STR(md.source, "openedx/lms/web");
    ASSERT_EQ_INT(md.minorversion, 2);
    ASSERT_EQ_STR(field(&md, "sourcelib"), "11.2.0");
    int64_t now = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
    ASSERT_TRUE(md.time_us <= now && now - md.time_us < 5000000);
    ASSERT_TRUE(strstr(field(&md, "time"), "+00:00") != NULL);
    gethostname(host, sizeof host - 1);
    ASSERT_EQ_STR(md.sourcehost, host);

    struct edxbus_metadata md2;
    ASSERT_EQ_INT(edxbus_metadata_generate(&md2, "x.v1", 0, NULL, errstr, sizeof errstr),
                  EDXBUS_OK);
    ASSERT_EQ_STR(md2.source, "openedx/SERVICE_NAME_UNSET/web");
    ASSERT_TRUE(strcmp(md.id, md2.id) != 0);
    ASSERT_EQ_INT(edxbus_metadata_generate(&md2, "x.v1", 0, "", errstr, sizeof errstr), EDXBUS_OK);
    ASSERT_EQ_STR(md2.source, "openedx/SERVICE_NAME_UNSET/web");

    ASSERT_EQ_INT(edxbus_metadata_generate(&md2, "", 0, "lms", errstr, sizeof errstr),
                  EDXBUS_ERR_INVALID_ARG);
    ASSERT_CONTAINS(errstr, "event_type");
    char big[600];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    ASSERT_EQ_INT(edxbus_metadata_generate(&md2, "x.v1", 0, big, errstr, sizeof errstr),
                  EDXBUS_ERR_INVALID_ARG);
    ASSERT_CONTAINS(errstr, "source");
}

static void time_case(int64_t us, const char *text)
{
    char out[EDXBUS_METADATA_TIME_TEXT_MAX];
    int64_t back = 0;
    ASSERT_EQ_INT(edxbus_metadata_format_time(us, out, sizeof out), EDXBUS_OK);
    ASSERT_EQ_STR(out, text);
    ASSERT_EQ_INT(edxbus_metadata_parse_time(text, strlen(text), &back, errstr, sizeof errstr),
                  EDXBUS_OK);
    ASSERT_EQ_INT(back, us);
}

TEST(test_time_edges)
{
    time_case(0, "1970-01-01T00:00:00+00:00");
    time_case(-1, "1969-12-31T23:59:59.999999+00:00");
    time_case(INT64_C(-14182940000000), "1969-07-20T20:17:40+00:00");
    time_case(EDXBUS_METADATA_TIME_MIN_US, "0001-01-01T00:00:00+00:00");
    time_case(EDXBUS_METADATA_TIME_MAX_US, "9999-12-31T23:59:59.999999+00:00");
    time_case(INT64_C(951782400000000), "2000-02-29T00:00:00+00:00");
    time_case(INT64_C(-2203891200000000), "1900-03-01T00:00:00+00:00");
    time_case(INT64_C(1715954607123456), "2024-05-17T14:03:27.123456+00:00");
    time_case(INT64_C(1748779200000500), "2025-06-01T12:00:00.000500+00:00");

    char out[EDXBUS_METADATA_TIME_TEXT_MAX];
    ASSERT_EQ_INT(edxbus_metadata_format_time(EDXBUS_METADATA_TIME_MIN_US - 1, out, sizeof out),
                  EDXBUS_ERR_INVALID_ARG);
    ASSERT_EQ_INT(edxbus_metadata_format_time(EDXBUS_METADATA_TIME_MAX_US + 1, out, sizeof out),
                  EDXBUS_ERR_INVALID_ARG);
    /* Every day boundary of a few 400-year cycles round-trips. */
    for (int64_t us = EDXBUS_METADATA_TIME_MIN_US; us < EDXBUS_METADATA_TIME_MAX_US;
         us += INT64_C(86400000000) * 97 + 1234567) {
        int64_t back = 0;
        ASSERT_EQ_INT(edxbus_metadata_format_time(us, out, sizeof out), EDXBUS_OK);
        ASSERT_EQ_INT(edxbus_metadata_parse_time(out, strlen(out), &back, errstr, sizeof errstr),
                      EDXBUS_OK);
        ASSERT_EQ_INT(back, us);
    }
}

static int64_t parse_ok(const char *text)
{
    int64_t us = 0;
    if (edxbus_metadata_parse_time(text, strlen(text), &us, errstr, sizeof errstr) != EDXBUS_OK)
        TEST_FAIL_("parse %s: %s", text, errstr);
    return us;
}

static void parse_bad(const char *text, const char *why)
{
    int64_t us = 42;
    ASSERT_EQ_INT(edxbus_metadata_parse_time(text, strlen(text), &us, errstr, sizeof errstr),
                  EDXBUS_ERR_INVALID_ARG);
    ASSERT_EQ_INT(us, 42);
    ASSERT_CONTAINS(errstr, "time: ");
    ASSERT_CONTAINS(errstr, why);
}

TEST(test_time_parse_forms)
{
    int64_t base = INT64_C(1704067200000000); /* 2024-01-01T00:00:00Z */
    ASSERT_EQ_INT(parse_ok("2024-01-01T00:00:00Z"), base);
    ASSERT_EQ_INT(parse_ok("2024-01-01T00:00:00+0000"), base);
    ASSERT_EQ_INT(parse_ok("2024-01-01T00:00:00+00"), base);
    ASSERT_EQ_INT(parse_ok("2024-01-01T00:00:00-00:00"), base);
    ASSERT_EQ_INT(parse_ok("2024-01-01T00:00:00+00:00:00"), base);
    ASSERT_EQ_INT(parse_ok("2024-01-01 00:00:00+00:00"), base);
    ASSERT_EQ_INT(parse_ok("2024-01-01t00:00:00+00:00"), base);
    ASSERT_EQ_INT(parse_ok("2024-01-01T00:00+00:00"), base);
    ASSERT_EQ_INT(parse_ok("2024-01-01T00+00:00"), base);
    ASSERT_EQ_INT(parse_ok("2024-01-01T00:00:00.1+00:00"), base + 100000);
    ASSERT_EQ_INT(parse_ok("2024-01-01T00:00:00,5Z"), base + 500000);
    ASSERT_EQ_INT(parse_ok("2024-01-01T00:00:00.12345+00:00"), base + 123450);
    ASSERT_EQ_INT(parse_ok("2024-01-01T00:00:00.1234567+00:00"), base + 123456);

    parse_bad("2024-01-01T00:00:00", "no UTC offset");
    parse_bad("2024-01-01T00:00:00.5", "no UTC offset");
    parse_bad("2024-01-01T00:00:00+05:30", "not in UTC");
    parse_bad("2024-01-01T00:00:00-01:00", "not in UTC");
    parse_bad("2024-01-01", "date without a time");
    parse_bad("2024-02-30T00:00:00+00:00", "not a valid date");
    parse_bad("0000-01-01T00:00:00+00:00", "not a valid date");
    parse_bad("2024-01-01T24:00:00+00:00", "not a valid date");
    parse_bad("2024-01-01T00:00:60+00:00", "not a valid date");
    parse_bad("2023-02-29T00:00:00+00:00", "not a valid date");
    parse_bad("", "not an ISO-8601 time");
    parse_bad("yesterday", "not an ISO-8601 time");
    parse_bad("2024-01-01T00:00:00.+00:00", "not an ISO-8601 time");
    parse_bad("2024-01-01T00:00:00z", "not an ISO-8601 time");
    parse_bad("2024-01-01T00:00:00Zjunk", "after the Z");
    parse_bad("2024-01-01T00:00:00+0", "malformed UTC offset");
    ASSERT_EQ_INT(parse_ok("2024-02-29T00:00:00Z"), INT64_C(1709164800000000));
}

TEST(test_bad_fields_are_named)
{
    struct edxbus_metadata md;
    memset(&md, 0, sizeof md);
    md.nsourcelib = 1;
    md.sourcelib[0] = 7;
    static const char *bad_lib[] = {"", "11.x.0", "11..0", ".1", "1.", "1.2.3.4.5.6.7.8.9", "a"};
    for (size_t i = 0; i < sizeof bad_lib / sizeof bad_lib[0]; i++) {
        ASSERT_EQ_INT(edxbus_metadata_set_field(&md, "sourcelib", bad_lib[i], strlen(bad_lib[i]),
                                                errstr, sizeof errstr),
                      EDXBUS_ERR_INVALID_ARG);
        ASSERT_CONTAINS(errstr, "sourcelib: ");
        ASSERT_EQ_INT(md.nsourcelib, 1);
    }
    set(&md, "sourcelib", "1.2.3.4.5.6.7.8");
    ASSERT_EQ_STR(field(&md, "sourcelib"), "1.2.3.4.5.6.7.8");

    static const char *bad_minor[] = {"", "abc", "1.5", "99999999999999999999", "-", " 1"};
    for (size_t i = 0; i < sizeof bad_minor / sizeof bad_minor[0]; i++) {
        ASSERT_EQ_INT(edxbus_metadata_set_field(&md, "minorversion", bad_minor[i],
                                                strlen(bad_minor[i]), errstr, sizeof errstr),
                      EDXBUS_ERR_INVALID_ARG);
        ASSERT_CONTAINS(errstr, "minorversion: ");
    }
    set(&md, "minorversion", "-9223372036854775808");
    ASSERT_EQ_STR(field(&md, "minorversion"), "-9223372036854775808");

    ASSERT_EQ_INT(edxbus_metadata_set_field(&md, "time", "2024-01-01T00:00:00+01:00", 25, errstr,
                                            sizeof errstr),
                  EDXBUS_ERR_INVALID_ARG);
    ASSERT_CONTAINS(errstr, "time: \"2024-01-01T00:00:00+01:00\"");
    ASSERT_EQ_INT(edxbus_metadata_set_field(&md, "source", "a\xff", 2, errstr, sizeof errstr),
                  EDXBUS_ERR_INVALID_ARG);
    ASSERT_CONTAINS(errstr, "source: ");
    ASSERT_EQ_INT(edxbus_metadata_set_field(&md, "sourcehost", "a\0b", 3, errstr, sizeof errstr),
                  EDXBUS_ERR_INVALID_ARG);
    ASSERT_EQ_INT(edxbus_metadata_set_field(&md, "colour", "x", 1, errstr, sizeof errstr),
                  EDXBUS_ERR_NOT_FOUND);
    ASSERT_CONTAINS(errstr, "colour");
    struct edxbus_buf b = EDXBUS_BUF_INIT;
    ASSERT_EQ_INT(edxbus_metadata_field_text(&md, "colour", &b), EDXBUS_ERR_NOT_FOUND);
    edxbus_buf_fini(&b);
}

TEST(test_ids)
{
    struct edxbus_metadata md;
    memset(&md, 0, sizeof md);
    set(&md, "id", "{D36AB1B0-1466-11EF-9F8E-0242AC120003}");
    ASSERT_EQ_STR(md.id, "d36ab1b0-1466-11ef-9f8e-0242ac120003");
    set(&md, "id", "urn:uuid:d36ab1b0146611ef9f8e0242ac120003");
    ASSERT_EQ_STR(md.id, "d36ab1b0-1466-11ef-9f8e-0242ac120003");
    set(&md, "id", "not-a-uuid");
    ASSERT_EQ_STR(md.id, "not-a-uuid");
    char big[80];
    memset(big, 'a', sizeof big);
    ASSERT_EQ_INT(edxbus_metadata_set_field(&md, "id", big, sizeof big, errstr, sizeof errstr),
                  EDXBUS_ERR_INVALID_ARG);
    ASSERT_CONTAINS(errstr, "id: ");
}

TEST(test_to_json_escapes_as_python)
{
    struct edxbus_metadata md;
    memset(&md, 0, sizeof md);
    snprintf(md.event_type, sizeof md.event_type, "e");
    snprintf(md.sourcehost, sizeof md.sourcehost,
             "a\"b\\c\n\r\t\b\f\x01\x1f\x7f \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 ~");
    snprintf(md.source, sizeof md.source, "bad\xff");
    ASSERT_EQ_STR(to_json(&md),
                  "{\"event_type\": \"e\", \"id\": \"\", \"minorversion\": 0, \"source\": "
                  "\"bad\\ufffd\", \"sourcehost\": \"a\\\"b\\\\c\\n\\r\\t\\b\\f\\u0001\\u001f"
                  "\\u007f \\u00e9 \\u20ac \\ud83d\\ude00 ~\", \"time\": "
                  "\"1970-01-01T00:00:00+00:00\", \"sourcelib\": []}");
    json_t *v = edxbus_metadata_to_json_value(&md);
    ASSERT_TRUE(v != NULL);
    ASSERT_EQ_STR(json_string_value(json_object_get(v, "source")), "bad\xef\xbf\xbd");
    json_decref(v);
    check_write_json(&md, "escapes");
    md.minorversion = INT64_MIN;
    md.sourcelib[0] = INT64_MAX;
    md.sourcelib[1] = -7;
    md.nsourcelib = 2;
    md.time_us = EDXBUS_METADATA_TIME_MAX_US;
    check_write_json(&md, "extremes");
}

/* json.dumps(ensure_ascii=True) of one code point, written out from Python's rule: `"` and `\`
 * escaped, \b \f \n \r \t by name, other control characters, DEL and everything above it as
 * lowercase \uXXXX, astral code points as a surrogate pair. */
static size_t python_escape(uint32_t cp, char *o)
{
    static const char named[][3] = {['\b'] = "\\b", ['\f'] = "\\f", ['\n'] = "\\n",
                                    ['\r'] = "\\r", ['\t'] = "\\t", ['"'] = "\\\"",
                                    ['\\'] = "\\\\"};
    if (cp < sizeof named / sizeof named[0] && named[cp][0] != '\0')
        return (size_t)sprintf(o, "%s", named[cp]);
    if (cp >= 0x20 && cp < 0x7f)
        return (size_t)sprintf(o, "%c", (char)cp);
    if (cp < 0x10000)
        return (size_t)sprintf(o, "\\u%04x", (unsigned)cp);
    cp -= 0x10000;
    return (size_t)sprintf(o, "\\u%04x\\u%04x", 0xd800 + (unsigned)(cp >> 10),
                           0xdc00 + (unsigned)(cp & 0x3ff));
}

static size_t utf8_encode(uint32_t cp, char *o)
{
    if (cp < 0x80)
        return o[0] = (char)cp, 1;
    if (cp < 0x800)
        return o[0] = (char)(0xc0 | cp >> 6), o[1] = (char)(0x80 | (cp & 0x3f)), 2;
    if (cp < 0x10000)
        return o[0] = (char)(0xe0 | cp >> 12), o[1] = (char)(0x80 | ((cp >> 6) & 0x3f)),
               o[2] = (char)(0x80 | (cp & 0x3f)), 3;
    return o[0] = (char)(0xf0 | cp >> 18), o[1] = (char)(0x80 | ((cp >> 12) & 0x3f)),
           o[2] = (char)(0x80 | ((cp >> 6) & 0x3f)), o[3] = (char)(0x80 | (cp & 0x3f)), 4;
}

/* to_json of metadata whose only non-empty text field is sourcehost = @p host, against the
 * same object with @p want_host (already escaped) in its place. */
static void check_host(const char *host, const char *want_host)
{
    static char want[4 * EDXBUS_METADATA_TEXT_MAX * 6];
    struct edxbus_metadata md;
    memset(&md, 0, sizeof md);
    snprintf(md.sourcehost, sizeof md.sourcehost, "%s", host);
    snprintf(want, sizeof want,
             "{\"event_type\": \"\", \"id\": \"\", \"minorversion\": 0, \"source\": \"\", "
             "\"sourcehost\": \"%s\", \"time\": \"1970-01-01T00:00:00+00:00\", \"sourcelib\": []}",
             want_host);
    const char *got = to_json(&md);
    if (strcmp(got, want) != 0)
        TEST_FAIL_("to_json\n  got:  %s\n  want: %s", got, want);
}

/* to_json and write_json share edxbus_json_write_string(): every code point (U+0001 to
 * U+10FFFF, surrogates excepted, in strings of up to 500 bytes) comes out as Python's rule
 * says; bytes that are not UTF-8 become one U+FFFD each, in to_json as in the tree; and the
 * string writer takes U+0000 inside a string (a C-string field cannot hold it). */
TEST(test_to_json_every_code_point)
{
    static char host[EDXBUS_METADATA_TEXT_MAX], want[EDXBUS_METADATA_TEXT_MAX * 6];
    size_t hn = 0, wn = 0;
    for (uint32_t cp = 1; cp <= 0x10ffff; cp++) {
        if (cp >= 0xd800 && cp <= 0xdfff)
            continue;
        char enc[4];
        size_t n = utf8_encode(cp, enc);
        if (hn + n > 500) {
            host[hn] = want[wn] = '\0';
            check_host(host, want);
            hn = wn = 0;
        }
        memcpy(host + hn, enc, n);
        hn += n;
        wn += python_escape(cp, want + wn);
    }
    host[hn] = want[wn] = '\0';
    check_host(host, want);

    /* Not UTF-8: a stray continuation byte, bytes that never start a sequence, a truncated
     * sequence, an overlong form, an encoded surrogate, a code point above U+10FFFF. */
    static const struct {
        const char *bytes;
        int replaced;
    } bad[] = {{"\x80", 1},         {"\xbf", 1},         {"\xff", 1},         {"\xfe", 1},
               {"\xc3", 1},         {"\xe2\x82", 2},     {"\xf0\x9f\x98", 3}, {"\xc0\xaf", 2},
               {"\xe0\x80\xaf", 3}, {"\xed\xa0\x80", 3}, {"\xf4\x90\x80\x80", 4},
               {"\xf8\x88\x80\x80\x80", 5}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(host, sizeof host, "a%sb\xc3\xa9", bad[i].bytes);
        wn = (size_t)sprintf(want, "a");
        for (int k = 0; k < bad[i].replaced; k++)
            wn += (size_t)sprintf(want + wn, "\\ufffd");
        sprintf(want + wn, "b\\u00e9");
        check_host(host, want);
        struct edxbus_metadata md;
        memset(&md, 0, sizeof md);
        snprintf(md.sourcehost, sizeof md.sourcehost, "%s", host);
        check_write_json(&md, bad[i].bytes);
    }

    for (unsigned flags = 0; flags <= EDXBUS_JSON_ASCII; flags += EDXBUS_JSON_ASCII) {
        struct edxbus_buf b = EDXBUS_BUF_INIT;
        ASSERT_EQ_INT(edxbus_json_write_string("a\0b", 3, flags, &b), EDXBUS_OK);
        ASSERT_EQ_INT((int)b.len, 10);
        ASSERT_TRUE(memcmp(b.data, "\"a\\u0000b\"", 10) == 0);
        edxbus_buf_fini(&b);
    }
}

TEST(test_from_json_errors)
{
    struct edxbus_metadata md;
    json_error_t jerr;
    ASSERT_EQ_INT(edxbus_metadata_generate(&md, "x.v1", 3, "lms", errstr, sizeof errstr),
                  EDXBUS_OK);
    struct edxbus_metadata before = md;
    static const struct {
        const char *json, *want;
    } cases[] = {
        {"{\"minorversion\": \"2\"}", "minorversion: expected an integer"},
        {"{\"sourcelib\": [11, \"2\"]}", "sourcelib[1]: expected an integer"},
        {"{\"sourcelib\": 11}", "sourcelib: expected an array"},
        {"{\"sourcelib\": []}", "sourcelib: [] is empty"},
        {"{\"time\": 5}", "time: expected a string"},
        {"{\"time\": \"2024-01-01T00:00:00\"}", "no UTC offset"},
        {"{\"source\": \"ok\", \"colour\": \"red\"}", "unknown metadata field \"colour\""},
        {"[1]", "expected a JSON object"},
        /* as EventsMetadata checks them (issue 10, item 8) */
        {"{\"id\": \"not-a-uuid\"}", "id: \"not-a-uuid\" is not a UUID"},
        {"{\"id\": \"d36ab1b0-1466-11ef-9f8e-0242ac12000\"}", "is not a UUID"},
        {"{\"id\": \"d36ab1b0-1466-11ef-9f8e-0242ac1200033\"}", "is not a UUID"},
        {"{\"id\": 5}", "id: expected a string"},
        {"{\"time\": \"yesterday\"}", "time: \"yesterday\""},
        {"{\"time\": \"2024-01-01T00:00:00+02:00\"}", "not in UTC"},
        {"{\"minorversion\": -1}", "minorversion: -1 is negative"},
        {"{\"minorversion\": \"1\"}", "minorversion: expected an integer"},
        {"{\"sourcelib\": \"11.x\"}", "sourcelib: \"11.x\""},
        {"{\"sourcelib\": [1, 2, 3, 4, 5, 6, 7, 8, 9]}", "sourcelib"},
        {"{\"event_type\": \"\"}", "event_type: must not be empty"},
        {"{\"source\": \"a\\u0000b\"}", "source: \"a?b\" holds U+0000"},
        {"{\"sourcehost\": 1}", "sourcehost: expected a string"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *obj = json_loads(cases[i].json, JSON_ALLOW_NUL, &jerr);
        ASSERT_TRUE(obj != NULL);
        edxbus_err_t err = edxbus_metadata_from_json_value(&md, obj, errstr, sizeof errstr);
        json_decref(obj);
        ASSERT_EQ_INT(err, EDXBUS_ERR_INVALID_ARG);
        ASSERT_CONTAINS(errstr, cases[i].want);
        ASSERT_TRUE(memcmp(&md, &before, sizeof md) == 0);
    }
    json_t *obj = json_loads("{\"sourcelib\": \"1.2\", \"minorversion\": 9}", 0, &jerr);
    ASSERT_EQ_INT(edxbus_metadata_from_json_value(&md, obj, errstr, sizeof errstr), EDXBUS_OK);
    json_decref(obj);
    ASSERT_EQ_STR(field(&md, "sourcelib"), "1.2");
    ASSERT_EQ_INT(md.minorversion, 9);
    ASSERT_EQ_STR(md.source, "openedx/lms/web");
    /* any spelling Python's UUID() takes, stored canonical; control and non-BMP characters in
     * the text fields are kept */
    obj = json_loads("{\"id\": \"{D36AB1B0146611EF9F8E0242AC120003}\", "
                     "\"source\": \"a\\u0007\\ud83d\\ude00\"}",
                     0, &jerr);
    ASSERT_EQ_INT(edxbus_metadata_from_json_value(&md, obj, errstr, sizeof errstr), EDXBUS_OK);
    json_decref(obj);
    ASSERT_EQ_STR(md.id, "d36ab1b0-1466-11ef-9f8e-0242ac120003");
    ASSERT_EQ_STR(md.source, "a\a\xf0\x9f\x98\x80");
}

int main(void)
{
    RUN(test_vectors_from_text_forms);
    RUN(test_vectors_from_json);
    RUN(test_generate);
    RUN(test_time_edges);
    RUN(test_time_parse_forms);
    RUN(test_bad_fields_are_named);
    RUN(test_ids);
    RUN(test_to_json_escapes_as_python);
    RUN(test_to_json_every_code_point);
    RUN(test_from_json_errors);
    return test_report();
}
