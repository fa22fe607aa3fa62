/* tests/unit/avro/avro_test_util.h — small helpers the codec tests share: parse a schema from
 * text, encode JSON text to hex, decode hex to JSON text (both tree and straight-to-text, which
 * must agree), so each test reads as one line of input and one of expected output.
 *
 * The helpers keep their results in static buffers valid until the next call of the same helper;
 * a failing assertion may leak (the test program ends soon anyway).
 */
#ifndef EDXBUS_AVRO_TEST_UTIL_H
#define EDXBUS_AVRO_TEST_UTIL_H

#include "test.h"

#include "avro/avro_int.h"
#include "edxbus/avro.h"

static char errbuf[EDXBUS_ERRSTR_SIZE];

static inline edxbus_avro_schema_t *schema_of(const char *text)
{
    edxbus_avro_schema_t *s = edxbus_avro_schema_parse(text, strlen(text), errbuf, sizeof errbuf);
    if (s == NULL)
        TEST_FAIL_("schema %s: %s", text, errbuf);
    return s;
}

static inline size_t hex_to_bytes(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = strlen(hex) / 2;
    if (n > cap)
        TEST_FAIL_("hex too long for the test buffer");
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1)
            TEST_FAIL_("bad hex %s", hex);
        out[i] = (uint8_t)v;
    }
    return n;
}

static inline const char *bytes_to_hex(const uint8_t *b, size_t n)
{
    static char hex[8192];
    size_t k = 0;
    for (size_t i = 0; i < n && k + 3 < sizeof hex; i++)
        k += (size_t)snprintf(hex + k, sizeof hex - k, "%02x", b[i]);
    hex[k] = '\0';
    return hex;
}

/* Encode JSON text under schema text. Returns the hex, or NULL with errbuf set and *err. */
static inline const char *encode_hex_f(const char *schema_text, const char *json_text,
                                       unsigned flags, edxbus_err_t *err_out)
{
    edxbus_avro_schema_t *s = schema_of(schema_text);
    json_error_t jerr;
    json_t *v = json_loads(json_text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    if (v == NULL)
        TEST_FAIL_("json %s: %s", json_text, jerr.text);
    struct edxbus_buf out = EDXBUS_BUF_INIT;
    edxbus_err_t err = edxbus_avro_encode(s, v, flags, &out, errbuf, sizeof errbuf);
    if (err_out != NULL)
        *err_out = err;
    const char *hex = err == EDXBUS_OK ? bytes_to_hex(out.data, out.len) : NULL;
    edxbus_buf_fini(&out);
    json_decref(v);
    edxbus_avro_schema_destroy(s);
    return hex;
}

static inline const char *encode_hex(const char *schema_text, const char *json_text)
{
    return encode_hex_f(schema_text, json_text, EDXBUS_AVRO_NO_CHECKS, NULL);
}

/* Decode hex under schema text with both decoders; they must agree (same error class, and on
 * success text == json_write(tree)). Returns the text, or NULL with errbuf set. */
static inline const char *decode_text_err(const char *schema_text, const char *hex,
                                          edxbus_err_t *err_out)
{
    static char text[8192];
    static uint8_t bytes[4096];
    edxbus_avro_schema_t *s = schema_of(schema_text);
    size_t n = hex_to_bytes(hex, bytes, sizeof bytes);
    /* decode from a heap copy of exactly n bytes, so ASan sees any over-read */
    uint8_t *exact = malloc(n ? n : 1);
    memcpy(exact, bytes, n);
    json_t *tree = NULL;
    edxbus_err_t err = edxbus_avro_decode(s, exact, n, &tree, errbuf, sizeof errbuf);
    char err1[EDXBUS_ERRSTR_SIZE];
    snprintf(err1, sizeof err1, "%s", errbuf);
    struct edxbus_buf out = EDXBUS_BUF_INIT;
    edxbus_buf_append(&out, "junk", 4);
    edxbus_err_t err2 = edxbus_avro_decode_to_text(s, exact, n, &out, errbuf, sizeof errbuf);
    const char *result = NULL;
    if (err == EDXBUS_OK) {
        if (err2 != EDXBUS_OK)
            TEST_FAIL_("tree decoded but text failed: %s", errbuf);
        struct edxbus_buf t = EDXBUS_BUF_INIT;
        edxbus_json_write(tree, 0, &t);
        if (out.len - 4 != t.len || memcmp(out.data + 4, t.data, t.len) != 0)
            TEST_FAIL_("text %.*s != tree %.*s", (int)(out.len - 4), (char *)out.data + 4,
                       (int)t.len, (char *)t.data);
        snprintf(text, sizeof text, "%.*s", (int)t.len, (char *)t.data);
        edxbus_buf_fini(&t);
        result = text;
    } else {
        /* NaN/inf is the one case where only the text decoder succeeds */
        if (err2 == EDXBUS_OK && strstr(err1, "JSON form") == NULL)
            TEST_FAIL_("tree failed (%s) but text succeeded", err1);
        if (err2 != EDXBUS_OK && out.len != 4)
            TEST_FAIL_("failed text decode changed the output length");
        snprintf(errbuf, sizeof errbuf, "%s", err1);
    }
    if (err_out != NULL)
        *err_out = err;
    json_decref(tree);
    edxbus_buf_fini(&out);
    free(exact);
    edxbus_avro_schema_destroy(s);
    return result;
}

static inline const char *decode_text(const char *schema_text, const char *hex)
{
    return decode_text_err(schema_text, hex, NULL);
}

#define ASSERT_ENCODES(schema, json, hex) ASSERT_EQ_STR(encode_hex(schema, json), hex)
#define ASSERT_DECODES(schema, hex, text) ASSERT_EQ_STR(decode_text(schema, hex), text)

/* Both the encoding and its decoding back to the same JSON text. */
#define ASSERT_ROUNDTRIP(schema, json, hex)                                                        \
    do {                                                                                           \
        ASSERT_ENCODES(schema, json, hex);                                                         \
        ASSERT_DECODES(schema, hex, json);                                                         \
    } while (0)

#define ASSERT_ENCODE_FAILS(schema, json, msg)                                                     \
    do {                                                                                           \
        edxbus_err_t e_;                                                                           \
        const char *eh_ = encode_hex_f(schema, json, 0, &e_);                                      \
        if (eh_ != NULL)                                                                           \
            TEST_FAIL_("encoding %s should fail, got %s", json, eh_);                              \
        ASSERT_EQ_INT(e_, EDXBUS_ERR_ENCODE);                                                      \
        ASSERT_CONTAINS(errbuf, msg);                                                              \
    } while (0)

#define ASSERT_DECODE_FAILS(schema, hex, msg)                                                      \
    do {                                                                                           \
        edxbus_err_t e_;                                                                           \
        const char *dt_ = decode_text_err(schema, hex, &e_);                                       \
        if (dt_ != NULL)                                                                           \
            TEST_FAIL_("decoding %s should fail, got %s", hex, dt_);                               \
        ASSERT_EQ_INT(e_, EDXBUS_ERR_DECODE);                                                      \
        ASSERT_CONTAINS(errbuf, "avro: byte ");                                                    \
        ASSERT_CONTAINS(errbuf, msg);                                                              \
    } while (0)

#endif /* EDXBUS_AVRO_TEST_UTIL_H */
