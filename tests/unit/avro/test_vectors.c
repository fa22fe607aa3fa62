/* tests/unit/avro/test_vectors.c — every row of tests/vectors/avro.jsonl, byte for byte.
 *
 * For each row: the schema of its event_type (schemas_generated.jsonl) is parsed; `data`
 * encodes to exactly `avro_hex`; `avro_hex` decodes to `decoded` (json_equal, and the same text,
 * so keys come out in schema order); decode_to_text equals edxbus_json_write of the tree; and
 * encoding the decoded tree gives the same bytes again; edxbus_avro_validate() accepts the bytes,
 * and on every truncation of them and on copies with one byte changed (each position set to
 * 0x00, 0x80 and 0xff) it agrees with the decoder: both accept, or both refuse with the same
 * message. Encoding uses EDXBUS_AVRO_NO_CHECKS:
 * the string checks belong to the catalog layer, which attaches them.
 */
#include "test.h"

#include "avro/avro_int.h"
#include "edxbus/avro.h"

static json_t *schemas; /* event_type -> schema_string */

static json_t *load_lines(const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", EDXBUS_TEST_DATA_DIR, name);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return NULL;
    json_t *rows = json_array();
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    for (;;) {
        n = getline(&line, &cap, f);
        if (n <= 0)
            break;
        json_error_t jerr;
        json_t *row = json_loadb(line, (size_t)n, 0, &jerr);
        if (row == NULL) {
            fprintf(stderr, "%s: %s\n", name, jerr.text);
            continue;
        }
        json_array_append_new(rows, row);
    }
    free(line);
    fclose(f);
    return rows;
}

static size_t unhex(const char *hex, uint8_t *out)
{
    size_t n = strlen(hex) / 2;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        sscanf(hex + 2 * i, "%2x", &v);
        out[i] = (uint8_t)v;
    }
    return n;
}

static char *tohex(const uint8_t *b, size_t n)
{
    char *s = malloc(n * 2 + 1);
    for (size_t i = 0; i < n; i++)
        snprintf(s + 2 * i, 3, "%02x", b[i]);
    s[n * 2] = '\0';
    return s;
}

static char *text_of(const json_t *v)
{
    struct edxbus_buf b = EDXBUS_BUF_INIT;
    edxbus_json_write(v, 0, &b);
    edxbus_buf_terminate(&b);
    return (char *)b.data;
}

static int rows_checked;

/* validate and decode agree on @p data: both OK, or the same error and message. */
static void check_agree(const edxbus_avro_schema_t *schema, const uint8_t *data, size_t len,
                        size_t idx, const char *what, size_t at)
{
    char verr[EDXBUS_ERRSTR_SIZE] = "", derr[EDXBUS_ERRSTR_SIZE] = "";
    json_t *tree = NULL;
    edxbus_err_t v = edxbus_avro_validate(schema, data, len, verr, sizeof verr);
    edxbus_err_t d = edxbus_avro_decode(schema, data, len, &tree, derr, sizeof derr);
    json_decref(tree);
    if (v != d || (v != EDXBUS_OK && strcmp(verr, derr) != 0))
        TEST_FAIL_("row %zu %s at %zu: validate %d \"%s\", decode %d \"%s\"", idx, what, at, (int)v,
                   verr, (int)d, derr);
}

static void check_validate(const edxbus_avro_schema_t *schema, const uint8_t *data, size_t len,
                           size_t idx)
{
    char errstr[EDXBUS_ERRSTR_SIZE] = "";
    if (edxbus_avro_validate(schema, data, len, errstr, sizeof errstr) != EDXBUS_OK)
        TEST_FAIL_("row %zu: validate refused the reference bytes: %s", idx, errstr);
    uint8_t *copy = malloc(len + 1);
    for (size_t cut = 0; cut < len; cut++)
        check_agree(schema, data, cut, idx, "truncated", cut);
    static const uint8_t bytes[] = {0x00, 0x80, 0xff};
    for (size_t pos = 0; pos < len; pos++) {
        for (size_t b = 0; b < sizeof bytes; b++) {
            memcpy(copy, data, len);
            copy[pos] = bytes[b];
            check_agree(schema, copy, len, idx, "changed", pos);
        }
    }
    memcpy(copy, data, len);
    copy[len] = 0;
    check_agree(schema, copy, len + 1, idx, "trailing byte", len);
    free(copy);
}

static void check_row(const json_t *row, size_t idx)
{
    const char *et = json_string_value(json_object_get(row, "event_type"));
    const char *cs = json_string_value(json_object_get(row, "case"));
    const char *schema_text = json_string_value(json_object_get(schemas, et));
    char errstr[EDXBUS_ERRSTR_SIZE];
    if (schema_text == NULL)
        TEST_FAIL_("row %zu %s: no schema", idx, et);
    edxbus_avro_schema_t *schema =
        edxbus_avro_schema_parse(schema_text, strlen(schema_text), errstr, sizeof errstr);
    if (schema == NULL)
        TEST_FAIL_("row %zu %s: schema: %s", idx, et, errstr);

    const char *hex = json_string_value(json_object_get(row, "avro_hex"));
    uint8_t *want = malloc(strlen(hex) / 2 + 1);
    size_t want_len = unhex(hex, want);

    /* encode */
    struct edxbus_buf out = EDXBUS_BUF_INIT;
    edxbus_err_t err = edxbus_avro_encode(schema, json_object_get(row, "data"),
                                          EDXBUS_AVRO_NO_CHECKS, &out, errstr, sizeof errstr);
    if (err != EDXBUS_OK)
        TEST_FAIL_("row %zu %s/%s: encode: %s", idx, et, cs, errstr);
    char *got_hex = tohex(out.data, out.len);
    if (strcmp(got_hex, hex) != 0)
        TEST_FAIL_("row %zu %s/%s: encode:\n  got  %s\n  want %s", idx, et, cs, got_hex, hex);

    /* decode */
    json_t *tree = NULL;
    err = edxbus_avro_decode(schema, want, want_len, &tree, errstr, sizeof errstr);
    if (err != EDXBUS_OK)
        TEST_FAIL_("row %zu %s/%s: decode: %s", idx, et, cs, errstr);
    const json_t *expect = json_object_get(row, "decoded");
    char *t_got = text_of(tree), *t_want = text_of(expect);
    if (!json_equal(tree, expect) || strcmp(t_got, t_want) != 0)
        TEST_FAIL_("row %zu %s/%s: decode:\n  got  %s\n  want %s", idx, et, cs, t_got, t_want);

    /* decode to text */
    struct edxbus_buf text = EDXBUS_BUF_INIT;
    err = edxbus_avro_decode_to_text(schema, want, want_len, &text, errstr, sizeof errstr);
    if (err != EDXBUS_OK)
        TEST_FAIL_("row %zu %s/%s: decode_to_text: %s", idx, et, cs, errstr);
    edxbus_buf_terminate(&text);
    if (strcmp((char *)text.data, t_got) != 0)
        TEST_FAIL_("row %zu: text:\n  got  %s\n  want %s", idx, (char *)text.data, t_got);

    /* re-encode the decoded tree */
    edxbus_buf_reset(&out);
    err = edxbus_avro_encode(schema, tree, EDXBUS_AVRO_NO_CHECKS, &out, errstr, sizeof errstr);
    if (err != EDXBUS_OK)
        TEST_FAIL_("row %zu %s/%s: re-encode: %s", idx, et, cs, errstr);
    ASSERT_EQ_UINT(out.len, want_len);
    ASSERT_TRUE(memcmp(out.data, want, want_len) == 0);

    check_validate(schema, want, want_len, idx);

    rows_checked++;
    free(got_hex);
    free(t_got);
    free(t_want);
    free(want);
    json_decref(tree);
    edxbus_buf_fini(&out);
    edxbus_buf_fini(&text);
    edxbus_avro_schema_destroy(schema);
}

static json_t *rows;
static size_t row_index;

TEST(test_vector_row)
{
    check_row(json_array_get(rows, row_index), row_index);
}

TEST(test_all_rows_seen)
{
    ASSERT_EQ_INT(json_array_size(rows), 216);
    ASSERT_EQ_INT(rows_checked, 216);
    ASSERT_EQ_INT(json_object_size(schemas), 72);
}

int main(void)
{
    json_t *schema_rows = load_lines("schemas_generated.jsonl");
    rows = load_lines("avro.jsonl");
    if (schema_rows == NULL || rows == NULL) {
        fprintf(stderr, "cannot read vectors under %s\n", EDXBUS_TEST_DATA_DIR);
        return 1;
    }
    schemas = json_object();
    size_t i;
    json_t *row;
    json_array_foreach(schema_rows, i, row)
    {
        json_object_set(schemas, json_string_value(json_object_get(row, "event_type")),
                        json_object_get(row, "schema_string"));
    }
    for (row_index = 0; row_index < json_array_size(rows); row_index++)
        RUN(test_vector_row);
    RUN(test_all_rows_seen);
    json_decref(schema_rows);
    json_decref(rows);
    json_decref(schemas);
    return test_report();
}
