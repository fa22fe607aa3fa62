/* tests/unit/avro/test_decode.c — the decoders on valid input a writer other than fastavro may
 * produce: negative-count blocks with a byte size, several blocks, empty items, and the order
 * of keys (schema order, which relies on jansson keeping insertion order).
 *
 * Every case goes through both decoders (tree and text) via avro_test_util.h, which checks that
 * they agree byte for byte.
 */
#include "avro_test_util.h"
#include "edxbus/json.h"

#include <math.h>

#define LONGS "{\"type\":\"array\",\"items\":\"long\"}"
#define LONG_MAP "{\"type\":\"map\",\"values\":\"long\"}"

TEST(test_negative_block_count_with_size)
{
    /* count -2 (03), then the block's size in bytes (2 -> 04), then the items */
    ASSERT_DECODES(LONGS, "0304020400", "[1, 2]");
    /* count -1, size 3: key "a", value 1 */
    ASSERT_DECODES(LONG_MAP, "010602610200", "{\"a\": 1}");
}

TEST(test_several_blocks)
{
    ASSERT_DECODES(LONGS, "0202020400", "[1, 2]");
    ASSERT_DECODES(LONGS, "02020304060800", "[1, 3, 4]");
    ASSERT_DECODES(LONG_MAP, "020261020202620400", "{\"a\": 1, \"b\": 2}");
}

TEST(test_empty_items)
{
    ASSERT_DECODES("{\"type\":\"array\",\"items\":\"null\"}", "0600", "[null, null, null]");
    ASSERT_DECODES("{\"type\":\"array\",\"items\":{\"type\":\"record\",\"name\":\"E\","
                   "\"fields\":[]}}",
                   "0400", "[{}, {}]");
    ASSERT_DECODES("\"null\"", "", "null");
}

TEST(test_fields_in_schema_order)
{
    const char *s = "{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"z\",\"type\":"
                    "\"long\"},{\"name\":\"a\",\"type\":\"string\"},{\"name\":\"m\",\"type\":"
                    "[\"null\",\"boolean\"]}]}";
    ASSERT_DECODES(s, "0202610201", "{\"z\": 1, \"a\": \"a\", \"m\": true}");
}

TEST(test_jansson_keeps_insertion_order)
{
    /* edxbus_json_write and the decoders rely on this (jansson >= 2.8) */
    json_t *o = json_object();
    json_object_set_new(o, "c", json_integer(1));
    json_object_set_new(o, "a", json_integer(2));
    json_object_set_new(o, "b", json_integer(3));
    json_object_set_new(o, "c", json_integer(4)); /* replacing keeps the first position */
    struct edxbus_buf out = EDXBUS_BUF_INIT;
    edxbus_json_write(o, 0, &out);
    edxbus_buf_terminate(&out);
    ASSERT_EQ_STR((char *)out.data, "{\"c\": 4, \"a\": 2, \"b\": 3}");
    edxbus_buf_fini(&out);
    json_decref(o);
}

TEST(test_scalars)
{
    ASSERT_DECODES("\"long\"", "feffffffffffffffff01", "9223372036854775807");
    ASSERT_DECODES("\"long\"", "ffffffffffffffffff01", "-9223372036854775808");
    /* a longer encoding of a small number is still that number */
    ASSERT_DECODES("\"long\"", "8000", "0");
    ASSERT_DECODES("\"double\"", "0000000000000080", "-0.0");
    ASSERT_DECODES("\"double\"", "000000000000f03f", "1.0");
    ASSERT_DECODES("{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"A\",\"B\"]}", "02", "\"B\"");
    ASSERT_DECODES("\"string\"", "0a0a09220d5c", "\"\\n\\t\\\"\\r\\\\\"");
}

/* NaN and the infinities: bare words in text (as Python's json writes them), json.h's markers in
 * a tree, and the tree encodes back to the same bytes. */
TEST(test_nan_in_text_and_tree)
{
    edxbus_avro_schema_t *s = schema_of("\"double\"");
    const uint8_t nan[8] = {0, 0, 0, 0, 0, 0, 0xf8, 0x7f};
    const uint8_t ninf[8] = {0, 0, 0, 0, 0, 0, 0xf0, 0xff};
    json_t *v = NULL;
    double d = 0;
    ASSERT_EQ_INT(edxbus_avro_decode(s, ninf, 8, &v, errbuf, sizeof errbuf), EDXBUS_OK);
    ASSERT_TRUE(edxbus_json_is_nonfinite(v, &d) && isinf(d) && d < 0);
    struct edxbus_buf out = EDXBUS_BUF_INIT;
    ASSERT_EQ_INT(edxbus_avro_encode(s, v, 0, &out, errbuf, sizeof errbuf), EDXBUS_OK);
    ASSERT_EQ_UINT(out.len, 8);
    ASSERT_TRUE(memcmp(out.data, ninf, 8) == 0);
    json_decref(v);
    ASSERT_EQ_INT(edxbus_avro_decode(s, nan, 8, &v, errbuf, sizeof errbuf), EDXBUS_OK);
    ASSERT_TRUE(edxbus_json_is_nonfinite(v, &d) && isnan(d));
    json_decref(v);
    edxbus_buf_reset(&out);
    ASSERT_EQ_INT(edxbus_avro_decode_to_text(s, nan, 8, &out, errbuf, sizeof errbuf), EDXBUS_OK);
    ASSERT_EQ_INT(edxbus_avro_decode_to_text(s, ninf, 8, &out, errbuf, sizeof errbuf), EDXBUS_OK);
    edxbus_buf_terminate(&out);
    ASSERT_EQ_STR((char *)out.data, "NaN-Infinity");
    edxbus_buf_fini(&out);
    edxbus_avro_schema_destroy(s);
}

int main(void)
{
    RUN(test_negative_block_count_with_size);
    RUN(test_several_blocks);
    RUN(test_empty_items);
    RUN(test_fields_in_schema_order);
    RUN(test_jansson_keeps_insertion_order);
    RUN(test_scalars);
    RUN(test_nan_in_text_and_tree);
    return test_report();
}
