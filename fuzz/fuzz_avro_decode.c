/* fuzz/fuzz_avro_decode.c — libFuzzer target for the Avro decoders.
 *
 * Input: the first byte picks one of the catalog schemas (modulo their count), the rest is Avro
 * binary decoded under it with edxbus_avro_decode, edxbus_avro_decode_to_text and a resolver of
 * the schema against itself. Invariants checked (abort on violation):
 *   - a successful tree decode implies a successful text decode whose text equals
 *     edxbus_json_write of the tree, and a resolver decode giving an equal tree;
 *   - the tree re-encodes (no checks) to bytes that decode to the same tree and re-encode to
 *     themselves exactly. The input itself need not come back byte for byte: valid but
 *     non-canonical input (negative block counts, several blocks, overlong-but-legal varints)
 *     is re-encoded the canonical way fastavro writes; tests/unit/avro/test_vectors.c checks
 *     the identity on canonical input;
 *   - the tree decoder fails only with EDXBUS_ERR_DECODE (or NOMEM) and a message starting
 *     "avro: byte ".
 *
 * Schemas are read once from EDXBUS_TEST_DATA_DIR "/schemas_generated.jsonl" (a compile
 * definition; the seed corpus in fuzz/corpus/avro_decode/ is index byte + vector bytes).
 */
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edxbus/avro.h"

#ifndef EDXBUS_TEST_DATA_DIR
#define EDXBUS_TEST_DATA_DIR "tests/vectors"
#endif

#define MAX_SCHEMAS 128

static edxbus_avro_schema_t *schemas[MAX_SCHEMAS];
static edxbus_avro_resolver_t *resolvers[MAX_SCHEMAS];
static size_t nschemas;

static void load_schemas(void)
{
    const char *path = getenv("EDXBUS_FUZZ_SCHEMAS");
    if (path == NULL)
        path = EDXBUS_TEST_DATA_DIR "/schemas_generated.jsonl";
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr, "fuzz_avro_decode: cannot open %s\n", path);
        abort();
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    for (;;) {
        n = getline(&line, &cap, f);
        if (n <= 0 || nschemas == MAX_SCHEMAS)
            break;
        json_t *row = json_loadb(line, (size_t)n, 0, NULL);
        const char *text = json_string_value(json_object_get(row, "schema_string"));
        char err[EDXBUS_ERRSTR_SIZE];
        if (text != NULL) {
            edxbus_avro_schema_t *s = edxbus_avro_schema_parse(text, strlen(text), err, sizeof err);
            if (s == NULL) {
                fprintf(stderr, "fuzz_avro_decode: %s\n", err);
                abort();
            }
            schemas[nschemas] = s;
            resolvers[nschemas] = edxbus_avro_resolver_new(s, s, err, sizeof err);
            if (resolvers[nschemas] == NULL) {
                fprintf(stderr, "fuzz_avro_decode: resolver: %s\n", err);
                abort();
            }
            nschemas++;
        }
        json_decref(row);
    }
    free(line);
    fclose(f);
    if (nschemas == 0)
        abort();
}

/* Trees compared by their text: json_equal looks keys up with strlen, so map keys holding a
 * NUL (valid Avro strings) would compare unequal. */
static bool same_tree(const json_t *a, const json_t *b)
{
    struct edxbus_buf ta = EDXBUS_BUF_INIT, tb = EDXBUS_BUF_INIT;
    bool same = edxbus_json_write(a, 0, &ta) == EDXBUS_OK &&
                edxbus_json_write(b, 0, &tb) == EDXBUS_OK && ta.len == tb.len &&
                memcmp(ta.data, tb.data, ta.len) == 0;
    edxbus_buf_fini(&ta);
    edxbus_buf_fini(&tb);
    return same;
}

static void fail(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_avro_decode: %s: %s\n", what, detail ? detail : "");
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (nschemas == 0)
        load_schemas();
    if (size < 1)
        return 0;
    const edxbus_avro_schema_t *s = schemas[data[0] % nschemas];
    const edxbus_avro_resolver_t *res = resolvers[data[0] % nschemas];
    const uint8_t *avro = data + 1;
    size_t len = size - 1;
    char err[EDXBUS_ERRSTR_SIZE];

    json_t *tree = NULL;
    edxbus_err_t rc = edxbus_avro_decode(s, avro, len, &tree, err, sizeof err);
    char err_tree[EDXBUS_ERRSTR_SIZE];
    memcpy(err_tree, err, sizeof err);
    struct edxbus_buf text = EDXBUS_BUF_INIT;
    edxbus_err_t rc_text = edxbus_avro_decode_to_text(s, avro, len, &text, err, sizeof err);
    json_t *rtree = NULL;
    edxbus_err_t rc_res = edxbus_avro_resolver_decode(res, avro, len, &rtree, err, sizeof err);
    if (rc != EDXBUS_OK) {
        if (rc != EDXBUS_ERR_DECODE && rc != EDXBUS_ERR_NOMEM)
            fail("unexpected error class", edxbus_err2name(rc));
        if (rc_res == EDXBUS_OK)
            fail("resolver accepted what decode refused", NULL);
        if (rc_text != EDXBUS_OK && text.len != 0)
            fail("failed text decode left output", NULL);
        if (rc == EDXBUS_ERR_DECODE && strncmp(err_tree, "avro: byte ", 11) != 0)
            fail("decode error text", err_tree);
        goto cleanup;
    }
    if (rc_text != EDXBUS_OK)
        fail("tree decoded but text failed", err);
    if (rc_res != EDXBUS_OK || !same_tree(tree, rtree))
        fail("resolver against itself differs", err);

    struct edxbus_buf t = EDXBUS_BUF_INIT;
    if (edxbus_json_write(tree, 0, &t) != EDXBUS_OK)
        fail("json_write", NULL);
    if (t.len != text.len || memcmp(t.data, text.data, t.len) != 0)
        fail("text differs from json_write(tree)", NULL);
    edxbus_buf_fini(&t);

    struct edxbus_buf again = EDXBUS_BUF_INIT;
    if (edxbus_avro_encode(s, tree, EDXBUS_AVRO_NO_CHECKS, &again, err, sizeof err) != EDXBUS_OK)
        fail("re-encode failed", err);
    json_t *tree2 = NULL;
    if (edxbus_avro_decode(s, again.data, again.len, &tree2, err, sizeof err) != EDXBUS_OK)
        fail("re-encoded bytes do not decode", err);
    if (!same_tree(tree, tree2))
        fail("re-encoded bytes decode to another value", NULL);
    /* the encoder's output is canonical: encoding what it decodes to gives it back exactly */
    struct edxbus_buf third = EDXBUS_BUF_INIT;
    if (edxbus_avro_encode(s, tree2, EDXBUS_AVRO_NO_CHECKS, &third, err, sizeof err) != EDXBUS_OK)
        fail("second re-encode failed", err);
    if (third.len != again.len || memcmp(third.data, again.data, again.len) != 0)
        fail("re-encoding is not a fixed point", NULL);
    edxbus_buf_fini(&third);
    json_decref(tree2);
    edxbus_buf_fini(&again);

cleanup:
    json_decref(tree);
    json_decref(rtree);
    edxbus_buf_fini(&text);
    return 0;
}
