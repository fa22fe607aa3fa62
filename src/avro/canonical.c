/* src/avro/canonical.c — Parsing Canonical Form and the schema fingerprint.
 *
 * The Avro 1.11 specification reduces a schema to the text that two parsers must agree on:
 *   [PRIMITIVES] primitives as bare names ("int", never {"type":"int"});
 *   [FULLNAMES]  full names everywhere, no "namespace" attribute;
 *   [STRIP]      only name, type, fields, symbols, items, values and size survive (no doc,
 *                aliases, default, order, logicalType…);
 *   [ORDER]      attributes in that order; a field is {"name":…,"type":…};
 *   [STRINGS]    strings as UTF-8, escaped only where JSON requires it;
 *   [INTEGERS]   size as a bare decimal;
 *   [WHITESPACE] none outside strings.
 * A named type is written in full where it first occurs and by its full name afterwards, which
 * is also how a recursive record refers to itself.
 *
 * The walk follows the parsed node graph in document order, so it meets each definition before
 * any reference to it and never recurses deeper than the parser allowed (EDXBUS_AVRO_MAX_DEPTH).
 * The fingerprint is CRC-64-AVRO of that text (crc64.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "avro/avro_int.h"

struct writer {
    struct edxbus_buf buf;
    json_t *written; /* full names already written in full */
    bool failed;     /* out of memory */
};

static void put(struct writer *w, const char *s)
{
    if (!w->failed && edxbus_buf_puts(&w->buf, s) != EDXBUS_OK)
        w->failed = true;
}

static void put_bytes(struct writer *w, const char *s, size_t len)
{
    if (!w->failed && edxbus_buf_append(&w->buf, s, len) != EDXBUS_OK)
        w->failed = true;
}

/* A JSON string literal. Names and symbols are plain ASCII by construction, but the escaping
 * keeps the output valid JSON whatever a future caller writes. */
static void put_string(struct writer *w, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    const char *run = s;

    put(w, "\"");
    for (const char *c = s; *c != '\0'; c++) {
        unsigned char ch = (unsigned char)*c;
        char esc[7];
        size_t esc_len = 2;

        if (ch >= 0x20 && ch != '"' && ch != '\\')
            continue;
        put_bytes(w, run, (size_t)(c - run));
        run = c + 1;
        esc[0] = '\\';
        switch (ch) {
        case '"':
            esc[1] = '"';
            break;
        case '\\':
            esc[1] = '\\';
            break;
        case '\b':
            esc[1] = 'b';
            break;
        case '\f':
            esc[1] = 'f';
            break;
        case '\n':
            esc[1] = 'n';
            break;
        case '\r':
            esc[1] = 'r';
            break;
        case '\t':
            esc[1] = 't';
            break;
        default:
            memcpy(esc + 1, "u00", 3);
            esc[4] = hex[ch >> 4];
            esc[5] = hex[ch & 0xf];
            esc_len = 6;
            break;
        }
        put_bytes(w, esc, esc_len);
    }
    put(w, run);
    put(w, "\"");
}

/* Write {"name":"<full>","type":"<kind>" for a named type seen for the first time; returns
 * false (after writing the bare name) when it was written before. */
static bool put_named_head(struct writer *w, const struct edxbus_avro_node *node)
{
    if (json_object_get(w->written, node->name) != NULL) {
        put_string(w, node->name);
        return false;
    }
    if (json_object_set(w->written, node->name, json_true()) != 0)
        w->failed = true;
    put(w, "{\"name\":");
    put_string(w, node->name);
    put(w, ",\"type\":\"");
    put(w, edxbus__avro_type_name(node->type));
    put(w, "\"");
    return true;
}

static void put_node(struct writer *w, const struct edxbus_avro_node *node)
{
    char num[32];

    if (w->failed)
        return;
    switch (node->type) {
    case EDXBUS_AVRO_RECORD:
        if (!put_named_head(w, node))
            return;
        put(w, ",\"fields\":[");
        for (size_t i = 0; i < node->u.record.nfields; i++) {
            put(w, i ? ",{\"name\":" : "{\"name\":");
            put_string(w, node->u.record.fields[i].name);
            put(w, ",\"type\":");
            put_node(w, node->u.record.fields[i].type);
            put(w, "}");
        }
        put(w, "]}");
        break;
    case EDXBUS_AVRO_ENUM:
        if (!put_named_head(w, node))
            return;
        put(w, ",\"symbols\":[");
        for (size_t i = 0; i < node->u.enm.nsymbols; i++) {
            if (i)
                put(w, ",");
            put_string(w, node->u.enm.symbols[i]);
        }
        put(w, "]}");
        break;
    case EDXBUS_AVRO_FIXED:
        if (!put_named_head(w, node))
            return;
        snprintf(num, sizeof num, ",\"size\":%zu}", node->u.fixed.size);
        put(w, num);
        break;
    case EDXBUS_AVRO_ARRAY:
        put(w, "{\"type\":\"array\",\"items\":");
        put_node(w, node->u.array.items);
        put(w, "}");
        break;
    case EDXBUS_AVRO_MAP:
        put(w, "{\"type\":\"map\",\"values\":");
        put_node(w, node->u.map.values);
        put(w, "}");
        break;
    case EDXBUS_AVRO_UNION:
        put(w, "[");
        for (size_t i = 0; i < node->u.uni.nbranches; i++) {
            if (i)
                put(w, ",");
            put_node(w, node->u.uni.branches[i]);
        }
        put(w, "]");
        break;
    default:
        put(w, "\"");
        put(w, edxbus__avro_type_name(node->type));
        put(w, "\"");
        break;
    }
}

char *edxbus_avro_schema_canonical(const edxbus_avro_schema_t *schema)
{
    struct writer w = {.buf = EDXBUS_BUF_INIT};
    char *text = NULL;

    if (schema == NULL || schema->root == NULL)
        return NULL;
    w.written = json_object();
    if (w.written == NULL)
        return NULL;
    put_node(&w, schema->root);
    if (!w.failed && edxbus_buf_terminate(&w.buf) == EDXBUS_OK) {
        text = (char *)w.buf.data; /* the buffer's memory becomes the caller's string */
        w.buf.data = NULL;
    }
    edxbus_buf_fini(&w.buf);
    json_decref(w.written);
    return text;
}

uint64_t edxbus_avro_schema_fingerprint(const edxbus_avro_schema_t *schema)
{
    char *text = edxbus_avro_schema_canonical(schema);
    uint64_t fp;

    if (text == NULL)
        return 0; /* out of memory: no fingerprint can be computed */
    fp = edxbus_avro_crc64(text, strlen(text));
    free(text);
    return fp;
}
