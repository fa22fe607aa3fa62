/* Every reference payload (tests/vectors/avro.jsonl) through the catalog with checks on: the
 * bytes equal avro_hex, and decoding them gives back `decoded`. This is also the proof that
 * every datetime, UUID and key the reference run wrote passes its check. */
#include "edxbus/catalog.h"
#include "test.h"

static void to_hex(const uint8_t *p, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = '\0';
}

static size_t from_hex(const char *hex, uint8_t *out)
{
    size_t n = strlen(hex) / 2;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        sscanf(hex + 2 * i, "%2x", &v);
        out[i] = (uint8_t)v;
    }
    return n;
}

TEST(test_every_vector_encodes_and_decodes_through_the_catalog)
{
    char path[512];
    snprintf(path, sizeof path, "%s/avro.jsonl", EDXBUS_TEST_DATA_DIR);
    FILE *f = fopen(path, "r");
    ASSERT_TRUE(f != NULL);
    edxbus_catalog_t *cat = edxbus_catalog_new();
    static char line[1 << 20];
    static char hex[1 << 20];
    static uint8_t bytes[1 << 19];
    struct edxbus_buf out = EDXBUS_BUF_INIT;
    char errstr[EDXBUS_ERRSTR_SIZE];
    int rows = 0;
    while (fgets(line, sizeof line, f) != NULL) {
        json_t *row = json_loads(line, 0, NULL);
        ASSERT_TRUE(row != NULL);
        const char *type = json_string_value(json_object_get(row, "event_type"));
        const char *cas = json_string_value(json_object_get(row, "case"));
        const char *want = json_string_value(json_object_get(row, "avro_hex"));
        const edxbus_event_type_t *et = edxbus_catalog_find(cat, type);
        if (et == NULL)
            TEST_FAIL_("%s: not in the catalog", type);
        edxbus_buf_reset(&out);
        if (edxbus_event_encode(et, json_object_get(row, "data"), 0, &out, errstr, sizeof errstr) !=
            EDXBUS_OK)
            TEST_FAIL_("%s/%s: encode: %s", type, cas, errstr);
        ASSERT_TRUE(out.len < sizeof bytes);
        to_hex(out.data, out.len, hex);
        if (strcmp(hex, want) != 0)
            TEST_FAIL_("%s/%s:\n  got:  %s\n  want: %s", type, cas, hex, want);
        size_t n = from_hex(want, bytes);
        json_t *decoded = NULL;
        if (edxbus_event_decode(et, bytes, n, &decoded, errstr, sizeof errstr) != EDXBUS_OK)
            TEST_FAIL_("%s/%s: decode: %s", type, cas, errstr);
        if (!json_equal(decoded, json_object_get(row, "decoded")))
            TEST_FAIL_("%s/%s: decoded value differs", type, cas);
        json_decref(decoded);
        json_decref(row);
        rows++;
    }
    fclose(f);
    ASSERT_EQ_INT(rows, 216);
    edxbus_buf_fini(&out);
    edxbus_catalog_destroy(cat);
}

int main(void)
{
    RUN(test_every_vector_encodes_and_decodes_through_the_catalog);
    return test_report();
}
