/* tests/unit/avro/test_hostile.c — bytes an attacker or a broken producer might send.
 *
 * Each case must fail with EDXBUS_ERR_DECODE and a message naming the byte offset and, inside a
 * record, the field path, from the tree decoder, the text decoder and the resolver alike; none
 * may crash, over-read (inputs are heap copies of exactly their length, so ASan sees a single
 * byte too far) or allocate beyond the input. The last tests mutate and truncate every vector
 * row and decode the results, as a small deterministic fuzz run.
 */
#include "avro_test_util.h"

#define USER                                                                                       \
    "{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"user\",\"type\":{\"type\":"       \
    "\"record\",\"name\":\"U\",\"fields\":[{\"name\":\"id\",\"type\":\"string\"}]}}]}"
#define NAMES                                                                                      \
    "{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"names\",\"type\":{\"type\":"      \
    "\"array\",\"items\":\"string\"}}]}"
#define META                                                                                       \
    "{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"meta\",\"type\":{\"type\":"       \
    "\"map\",\"values\":\"int\"}}]}"
#define LONGS "{\"type\":\"array\",\"items\":\"long\"}"
#define NULLS "{\"type\":\"array\",\"items\":\"null\"}"

TEST(test_negative_string_length)
{
    ASSERT_DECODE_FAILS(USER, "01", "byte 0: negative string length -1 in field \"user.id\"");
}

TEST(test_length_beyond_input)
{
    ASSERT_DECODE_FAILS(USER, "0661", "byte 0: string length 3 exceeds the 1 bytes left");
    ASSERT_DECODE_FAILS("\"bytes\"", "feffffffffffffffff01", "bytes length");
    ASSERT_DECODE_FAILS(META, "0202", "map key length 1 exceeds the 0 bytes left");
}

TEST(test_truncated)
{
    ASSERT_DECODE_FAILS("\"long\"", "", "byte 0: truncated long");
    ASSERT_DECODE_FAILS("\"long\"", "8080", "truncated long");
    ASSERT_DECODE_FAILS("\"double\"", "00000000", "truncated double: needs 8 bytes, 4 left");
    ASSERT_DECODE_FAILS("\"float\"", "00", "truncated float");
    ASSERT_DECODE_FAILS("\"boolean\"", "", "truncated boolean");
    ASSERT_DECODE_FAILS(NAMES, "04020000", "in field \"names\"");
    ASSERT_DECODE_FAILS(NAMES, "0402610261", "byte 5: truncated block count");
    ASSERT_DECODE_FAILS("{\"type\":\"fixed\",\"name\":\"F\",\"size\":4}", "010203",
                        "truncated fixed");
}

TEST(test_overlong_varints)
{
    /* ten bytes whose last carries more than the 64th bit */
    ASSERT_DECODE_FAILS("\"long\"", "ffffffffffffffffff7f", "overlong varint for long");
    /* eleven bytes */
    ASSERT_DECODE_FAILS("\"long\"", "8080808080808080808000", "overlong varint");
    ASSERT_DECODE_FAILS(USER, "ffffffffffffffffff02", "overlong varint for string");
}

TEST(test_int_out_of_range)
{
    ASSERT_DECODE_FAILS("\"int\"", "8080808010", "int 2147483648 out of 32-bit range");
    ASSERT_DECODE_FAILS(META, "02026b8080808010", "in field \"meta[\"k\"]\"");
}

TEST(test_block_counts)
{
    /* more items than bytes left */
    ASSERT_DECODE_FAILS(LONGS, "feffffffffffffffff01", "block count 9223372036854775807 exceeds");
    ASSERT_DECODE_FAILS(LONGS, "0a0200", "block count 5 exceeds the 2 bytes left");
    /* -2^63 has no absolute value */
    ASSERT_DECODE_FAILS(LONGS, "ffffffffffffffffff01", "has no absolute value");
    /* negative count whose byte size is negative or too large */
    ASSERT_DECODE_FAILS(LONGS, "03010204", "block size -1 does not fit");
    ASSERT_DECODE_FAILS(LONGS, "0364020400", "block size 50 does not fit");
    /* items that take no bytes: capped */
    ASSERT_DECODE_FAILS(NULLS, "8080808080808001", "exceeds the limit of 1048576 empty items");
    ASSERT_DECODE_FAILS(NULLS,
                        "808080010202"
                        "00",
                        "exceeds the limit");
    ASSERT_DECODE_FAILS(META, "0302", "block size");
}

TEST(test_union_and_enum_indexes)
{
    ASSERT_DECODE_FAILS("[\"null\",\"string\"]", "04", "union index 2 out of range");
    ASSERT_DECODE_FAILS("[\"null\",\"string\"]", "01", "union index -1 out of range");
    const char *e = "{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"A\"]}";
    ASSERT_DECODE_FAILS(e, "02", "enum index 1 out of range");
    ASSERT_DECODE_FAILS(e, "01", "enum index -1");
    ASSERT_DECODE_FAILS("\"boolean\"", "02", "invalid boolean byte 0x02");
}

TEST(test_invalid_utf8)
{
    ASSERT_DECODE_FAILS(USER, "02ff", "byte 1: invalid UTF-8 in string in field \"user.id\"");
    ASSERT_DECODE_FAILS("\"string\"", "04c0af", "invalid UTF-8");     /* overlong '/' */
    ASSERT_DECODE_FAILS("\"string\"", "06eda080", "invalid UTF-8");   /* surrogate D800 */
    ASSERT_DECODE_FAILS("\"string\"", "08f4908080", "invalid UTF-8"); /* above U+10FFFF */
    ASSERT_DECODE_FAILS("\"string\"", "04e282", "invalid UTF-8");     /* cut short */
    ASSERT_DECODE_FAILS("\"string\"", "0461e2", "invalid UTF-8");
    ASSERT_DECODE_FAILS(NAMES,
                        "0402610280"
                        "00",
                        "in field \"names[1]\"");
    ASSERT_DECODE_FAILS(META, "0202ff0200", "invalid UTF-8 in map key");
    /* bytes are not text: any byte goes */
    ASSERT_DECODES("\"bytes\"", "02ff", "\"\xc3\xbf\"");
}

TEST(test_repeated_map_key)
{
    ASSERT_DECODE_FAILS(META, "04026b02026b0400", "repeated map key");
}

TEST(test_deep_nesting)
{
    const char *list = "{\"type\":\"record\",\"name\":\"N\",\"fields\":"
                       "[{\"name\":\"next\",\"type\":[\"null\",\"N\"]}]}";
    char hex[512];
    size_t n = 0;
    for (int i = 0; i < 100; i++)
        n += (size_t)snprintf(hex + n, sizeof hex - n, "02");
    snprintf(hex + n, sizeof hex - n, "00");
    ASSERT_DECODE_FAILS(list, hex, "nesting deeper than 64");
    /* arrays of arrays */
    const char *aa = "[\"null\",{\"type\":\"array\",\"items\":{\"type\":\"record\",\"name\":\"A\","
                     "\"fields\":[{\"name\":\"a\",\"type\":[\"null\",{\"type\":\"array\","
                     "\"items\":\"A\"}]}]}}]";
    n = 0;
    for (int i = 0; i < 100; i++)
        n += (size_t)snprintf(hex + n, sizeof hex - n, "0202");
    ASSERT_DECODE_FAILS(aa, hex, "nesting deeper than 64");
}

TEST(test_trailing_bytes)
{
    ASSERT_DECODE_FAILS("\"long\"", "0000", "byte 1: 1 trailing bytes after the value");
    ASSERT_DECODE_FAILS(USER, "00ff", "trailing");
}

/* ---- mutation run over the vectors ---- */

static json_t *load_jsonl(const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", EDXBUS_TEST_DATA_DIR, name);
    json_t *rows = json_array();
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return rows;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    for (;;) {
        len = getline(&line, &cap, f);
        if (len <= 0)
            break;
        json_t *row = json_loadb(line, (size_t)len, 0, NULL);
        if (row != NULL)
            json_array_append_new(rows, row);
    }
    free(line);
    fclose(f);
    return rows;
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)rng;
}

/* Decode @p data three ways; it may fail, but cleanly, and successes must agree. */
static void decode_any(const edxbus_avro_schema_t *s, const edxbus_avro_resolver_t *res,
                       const uint8_t *data, size_t n, int *ok)
{
    uint8_t *exact = malloc(n ? n : 1);
    memcpy(exact, data, n);
    json_t *tree = NULL, *rtree = NULL;
    char e1[EDXBUS_ERRSTR_SIZE] = "", e2[EDXBUS_ERRSTR_SIZE] = "";
    edxbus_err_t err = edxbus_avro_decode(s, exact, n, &tree, e1, sizeof e1);
    struct edxbus_buf text = EDXBUS_BUF_INIT;
    edxbus_err_t err2 = edxbus_avro_decode_to_text(s, exact, n, &text, e2, sizeof e2);
    edxbus_err_t err3 = edxbus_avro_resolver_decode(res, exact, n, &rtree, e2, sizeof e2);
    if (err != EDXBUS_OK) {
        ASSERT_EQ_INT(err, EDXBUS_ERR_DECODE);
        ASSERT_CONTAINS(e1, "avro: byte ");
        ASSERT_TRUE(err3 != EDXBUS_OK);
    } else {
        (*ok)++;
        ASSERT_EQ_INT(err2, EDXBUS_OK);
        ASSERT_EQ_INT(err3, EDXBUS_OK);
        /* compared as text: json_equal cannot look up map keys that hold a NUL */
        struct edxbus_buf t = EDXBUS_BUF_INIT, rt = EDXBUS_BUF_INIT;
        edxbus_json_write(tree, 0, &t);
        edxbus_json_write(rtree, 0, &rt);
        ASSERT_TRUE(t.len == text.len && memcmp(t.data, text.data, t.len) == 0);
        ASSERT_TRUE(rt.len == text.len && memcmp(rt.data, text.data, t.len) == 0);
        edxbus_buf_fini(&t);
        edxbus_buf_fini(&rt);
    }
    json_decref(tree);
    json_decref(rtree);
    edxbus_buf_fini(&text);
    free(exact);
}

TEST(test_mutated_vectors)
{
    json_t *schemas = load_jsonl("schemas_generated.jsonl");
    json_t *rows = load_jsonl("avro.jsonl");
    ASSERT_EQ_INT(json_array_size(rows), 216);
    int ok = 0, tried = 0;
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row)
    {
        const char *et = json_string_value(json_object_get(row, "event_type"));
        const char *text = NULL;
        size_t j;
        json_t *srow;
        json_array_foreach(schemas, j, srow)
        {
            if (strcmp(json_string_value(json_object_get(srow, "event_type")), et) == 0)
                text = json_string_value(json_object_get(srow, "schema_string"));
        }
        ASSERT_TRUE(text != NULL);
        edxbus_avro_schema_t *s = schema_of(text);
        /* resolving a schema against itself must read exactly what decode reads */
        edxbus_avro_resolver_t *res = edxbus_avro_resolver_new(s, s, errbuf, sizeof errbuf);
        ASSERT_TRUE(res != NULL);
        uint8_t data[4096];
        size_t n =
            hex_to_bytes(json_string_value(json_object_get(row, "avro_hex")), data, sizeof data);
        /* every proper prefix must fail */
        for (size_t cut = 0; cut < n; cut++) {
            int before = ok;
            decode_any(s, res, data, cut, &ok);
            ASSERT_EQ_INT(ok, before);
            tried++;
        }
        /* random byte changes */
        for (int m = 0; m < 200; m++) {
            uint8_t mut[4096];
            memcpy(mut, data, n);
            int changes = 1 + (int)(next_rand() % 3);
            for (int k = 0; k < changes && n > 0; k++) {
                size_t at = next_rand() % n;
                uint32_t how = next_rand() % 4;
                mut[at] = how == 0   ? (uint8_t)next_rand()
                          : how == 1 ? (uint8_t)(mut[at] ^ (1u << (next_rand() % 8)))
                          : how == 2 ? 0xff
                                     : 0x80;
            }
            decode_any(s, res, mut, n, &ok);
            tried++;
        }
        edxbus_avro_resolver_destroy(res);
        edxbus_avro_schema_destroy(s);
    }
    fprintf(stderr, "mutation run: %d inputs, %d decoded\n", tried, ok);
    json_decref(rows);
    json_decref(schemas);
}

int main(void)
{
    RUN(test_negative_string_length);
    RUN(test_length_beyond_input);
    RUN(test_truncated);
    RUN(test_overlong_varints);
    RUN(test_int_out_of_range);
    RUN(test_block_counts);
    RUN(test_union_and_enum_indexes);
    RUN(test_invalid_utf8);
    RUN(test_repeated_map_key);
    RUN(test_deep_nesting);
    RUN(test_trailing_bytes);
    RUN(test_mutated_vectors);
    return test_report();
}
