/* src/avro/reader.c — the checked primitives behind every Avro reader, and skipping.
 *
 * Everything that decides whether input bytes are acceptable lives here, so the tree decoder,
 * the text decoder and the resolver reject exactly the same inputs with the same messages:
 * truncation, overlong varints, negative or oversized lengths, block counts the input cannot
 * hold, union and enum indexes out of range, booleans other than 0/1 and invalid UTF-8.
 *
 * Block counts: a count n < 0 means |n| items follow, preceded by their size in bytes (the
 * spec lets writers do this so readers can skip); INT64_MIN has no |n| and is rejected. Every
 * item that takes at least one byte is bounded by the bytes left; items that take none (null,
 * empty records) are bounded by EDXBUS_AVRO_MAX_EMPTY_ITEMS per array, so no count can make a
 * reader loop or allocate beyond what the input justifies.
 *
 * To add a check, put it here and every reader gets it.
 */
#include "avro/reader.h"

#include "avro/json_text.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void edxbus__avro_path_format(const struct edxbus__avro_path *path, char *out, size_t size)
{
    size_t n = 0;
    if (size == 0)
        return;
    out[0] = '\0';
    for (size_t i = 0; i < path->n && n + 1 < size; i++) {
        const struct edxbus__avro_seg *s = &path->segs[i];
        int w = 0;
        switch (s->kind) {
        case EDXBUS_AVRO_SEG_FIELD:
            w = snprintf(out + n, size - n, "%s%s", i == 0 ? "" : ".", s->text);
            break;
        case EDXBUS_AVRO_SEG_INDEX:
            w = snprintf(out + n, size - n, "[%lld]", (long long)s->index);
            break;
        case EDXBUS_AVRO_SEG_KEY: {
            /* keys come from the input: show at most 40 bytes, control bytes as '?' */
            char key[41];
            size_t k = s->len < 40 ? s->len : 40;
            for (size_t j = 0; j < k; j++) {
                unsigned char c = (unsigned char)s->text[j];
                key[j] = (c < 0x20 || c == '"' || c == '\\') ? '?' : (char)c;
            }
            key[k] = '\0';
            w = snprintf(out + n, size - n, "[\"%s%s\"]", key, s->len > 40 ? "..." : "");
            break;
        }
        }
        if (w < 0)
            break;
        n += (size_t)w;
        if (n >= size)
            n = size - 1;
    }
}

static void fail_write(struct edxbus__avro_reader *r, size_t off, const char *msg)
{
    char path[160];
    edxbus__avro_path_format(&r->path, path, sizeof path);
    if (path[0] != '\0')
        snprintf(r->errstr, r->errstr_size, "avro: byte %zu: %s in field \"%s\"", off, msg, path);
    else
        snprintf(r->errstr, r->errstr_size, "avro: byte %zu: %s", off, msg);
}

edxbus_err_t edxbus__avro_fail(struct edxbus__avro_reader *r, const uint8_t *at, const char *fmt,
                               ...)
{
    if (r->errstr == NULL || r->errstr_size == 0)
        return EDXBUS_ERR_DECODE;
    char msg[sizeof r->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->lazy_path ? r->msg : msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (r->lazy_path) {
        r->fail_off = (size_t)(at - r->start);
        r->path.n = 0; /* the containers being left push their segments from here */
        return EDXBUS_ERR_DECODE;
    }
    fail_write(r, (size_t)(at - r->start), msg);
    return EDXBUS_ERR_DECODE;
}

void edxbus__avro_fail_finish(struct edxbus__avro_reader *r)
{
    if (r->errstr == NULL || r->errstr_size == 0)
        return;
    struct edxbus__avro_seg *segs = r->path.segs;
    for (size_t i = 0, j = r->path.n; i + 1 < j; i++, j--) {
        struct edxbus__avro_seg t = segs[i];
        segs[i] = segs[j - 1];
        segs[j - 1] = t;
    }
    fail_write(r, r->fail_off, r->msg);
}

edxbus_err_t edxbus__avro_varint_fail(struct edxbus__avro_reader *r, edxbus_varint_status_t st,
                                      const char *what)
{
    if (st == EDXBUS_VARINT_TRUNCATED)
        return edxbus__avro_fail(r, r->p, "truncated %s: input ends inside a varint", what);
    return edxbus__avro_fail(r, r->p, "overlong varint for %s: more than 64 bits", what);
}

edxbus_err_t edxbus__avro_read_int_slow(struct edxbus__avro_reader *r, int32_t *out)
{
    const uint8_t *at = r->p;
    int64_t v = 0;
    edxbus_err_t err = edxbus__avro_read_long(r, &v, "int");
    if (err != EDXBUS_OK)
        return err;
    if (v < INT32_MIN || v > INT32_MAX) {
        r->p = at;
        return edxbus__avro_fail(r, at, "int %lld out of 32-bit range", (long long)v);
    }
    *out = (int32_t)v;
    return EDXBUS_OK;
}

edxbus_err_t edxbus__avro_read_len_slow(struct edxbus__avro_reader *r, size_t *out,
                                        const char *what)
{
    const uint8_t *at = r->p;
    int64_t v = 0;
    edxbus_err_t err = edxbus__avro_read_long(r, &v, what);
    if (err != EDXBUS_OK)
        return err;
    if (v < 0) {
        r->p = at;
        return edxbus__avro_fail(r, at, "negative %s length %lld", what, (long long)v);
    }
    size_t left = (size_t)(r->end - r->p);
    if ((uint64_t)v > left) {
        r->p = at;
        return edxbus__avro_fail(r, at, "%s length %lld exceeds the %zu bytes left", what,
                                 (long long)v, left);
    }
    *out = (size_t)v;
    return EDXBUS_OK;
}

edxbus_err_t edxbus__avro_read_bool_slow(struct edxbus__avro_reader *r, bool *out)
{
    if (r->p >= r->end)
        return edxbus__avro_fail(r, r->p, "truncated boolean: no bytes left");
    uint8_t b = *r->p;
    /* the spec allows only 0 and 1; accepting others would not survive a round trip */
    if (b > 1)
        return edxbus__avro_fail(r, r->p, "invalid boolean byte 0x%02x", b);
    r->p++;
    *out = b == 1;
    return EDXBUS_OK;
}

edxbus_err_t edxbus__avro_read_branch_slow(struct edxbus__avro_reader *r, size_t nbranches,
                                           size_t *out)
{
    const uint8_t *at = r->p;
    int64_t v = 0;
    edxbus_err_t err = edxbus__avro_read_long(r, &v, "union index");
    if (err != EDXBUS_OK)
        return err;
    if (v < 0 || (uint64_t)v >= nbranches) {
        r->p = at;
        return edxbus__avro_fail(r, at, "union index %lld out of range (union has %zu branches)",
                                 (long long)v, nbranches);
    }
    *out = (size_t)v;
    return EDXBUS_OK;
}

edxbus_err_t edxbus__avro_read_enum_slow(struct edxbus__avro_reader *r, size_t nsymbols,
                                         size_t *out)
{
    const uint8_t *at = r->p;
    int64_t v = 0;
    edxbus_err_t err = edxbus__avro_read_long(r, &v, "enum index");
    if (err != EDXBUS_OK)
        return err;
    if (v < 0 || (uint64_t)v >= nsymbols) {
        r->p = at;
        return edxbus__avro_fail(r, at, "enum index %lld out of range (enum has %zu symbols)",
                                 (long long)v, nsymbols);
    }
    *out = (size_t)v;
    return EDXBUS_OK;
}

/* Depth-bounded: a record that contains itself directly takes infinite bytes, never none. */
static bool is_empty_type(const struct edxbus_avro_node *node, int depth)
{
    if (depth > EDXBUS_AVRO_MAX_DEPTH)
        return false;
    switch (node->type) {
    case EDXBUS_AVRO_NULL:
        return true;
    case EDXBUS_AVRO_FIXED:
        return node->u.fixed.size == 0;
    case EDXBUS_AVRO_RECORD:
        for (size_t i = 0; i < node->u.record.nfields; i++)
            if (!is_empty_type(node->u.record.fields[i].type, depth + 1))
                return false;
        return true;
    default:
        return false;
    }
}

bool edxbus__avro_is_empty_type(const struct edxbus_avro_node *node)
{
    return is_empty_type(node, 0);
}

void edxbus__avro_blocks_init(struct edxbus__avro_blocks *b, const struct edxbus_avro_node *items)
{
    b->empty_items = items != NULL && edxbus__avro_is_empty_type(items);
    b->total = 0;
}

edxbus_err_t edxbus__avro_read_block(struct edxbus__avro_reader *r, struct edxbus__avro_blocks *b,
                                     uint64_t *count)
{
    const uint8_t *at = r->p;
    int64_t n = 0;
    edxbus_err_t err = edxbus__avro_read_long(r, &n, "block count");
    if (err != EDXBUS_OK)
        return err;
    if (n == 0) {
        *count = 0;
        return EDXBUS_OK;
    }
    uint64_t c;
    if (n < 0) {
        if (n == INT64_MIN)
            return edxbus__avro_fail(r, at, "block count %lld has no absolute value", (long long)n);
        c = (uint64_t)-n;
        const uint8_t *size_at = r->p;
        int64_t size = 0;
        err = edxbus__avro_read_long(r, &size, "block size");
        if (err != EDXBUS_OK)
            return err;
        if (size < 0 || (uint64_t)size > (uint64_t)(r->end - r->p))
            return edxbus__avro_fail(r, size_at, "block size %lld does not fit the %zu bytes left",
                                     (long long)size, (size_t)(r->end - r->p));
    } else {
        c = (uint64_t)n;
    }
    if (b->empty_items) {
        if (c > EDXBUS_AVRO_MAX_EMPTY_ITEMS - b->total)
            return edxbus__avro_fail(r, at, "block count %llu exceeds the limit of %u empty items",
                                     (unsigned long long)c, EDXBUS_AVRO_MAX_EMPTY_ITEMS);
    } else if (c > (uint64_t)(r->end - r->p)) {
        return edxbus__avro_fail(r, at, "block count %llu exceeds the %zu bytes left",
                                 (unsigned long long)c, (size_t)(r->end - r->p));
    }
    b->total += c;
    *count = c;
    return EDXBUS_OK;
}

size_t edxbus__utf8_check(const uint8_t *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        /* 8 ASCII bytes at a time */
        while (i + 8 <= len) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            if (w & 0x8080808080808080ull)
                break;
            i += 8;
        }
        if (i >= len)
            break;
        if (s[i] < 0x80) {
            i++;
            continue;
        }
        size_t n = edxbus__utf8_seq(s + i, len - i);
        if (n == 0)
            return i;
        i += n;
    }
    return len;
}

edxbus_err_t edxbus__avro_read_string(struct edxbus__avro_reader *r, const uint8_t **s, size_t *len,
                                      const char *what)
{
    const uint8_t *at = r->p;
    edxbus_err_t err = edxbus__avro_read_len(r, len, what);
    if (err != EDXBUS_OK)
        return err;
    size_t bad = edxbus__utf8_check(r->p, *len);
    if (bad != *len) {
        const uint8_t *where = r->p + bad;
        r->p = at;
        return edxbus__avro_fail(r, where, "invalid UTF-8 in %s", what);
    }
    *s = r->p;
    r->p += *len;
    return EDXBUS_OK;
}

static edxbus_err_t skip_key(struct edxbus__avro_reader *r)
{
    size_t klen;
    edxbus_err_t err = edxbus__avro_read_len(r, &klen, "map key");
    if (err == EDXBUS_OK)
        r->p += klen;
    return err;
}

/* A map key read as the tree decoder reads it: UTF-8, and not one seen before in this map (a
 * JSON object cannot hold a key twice); *@p keys holds those seen. */
static edxbus_err_t check_key(struct edxbus__avro_reader *r, json_t **keys)
{
    const uint8_t *key = NULL, *at = r->p;
    size_t klen = 0;
    edxbus_err_t err = edxbus__avro_read_string(r, &key, &klen, "map key");
    if (err != EDXBUS_OK)
        return err;
    if (*keys == NULL)
        *keys = json_object();
    if (*keys == NULL)
        return EDXBUS_ERR_NOMEM;
    if (json_object_getn(*keys, (const char *)key, klen) != NULL)
        return edxbus__avro_fail(r, at, "repeated map key");
    if (json_object_setn_new_nocheck(*keys, (const char *)key, klen, json_null()) != 0)
        return EDXBUS_ERR_NOMEM;
    return EDXBUS_OK;
}

static edxbus_err_t skip_blocks(struct edxbus__avro_reader *r, const struct edxbus_avro_node *items,
                                bool is_map)
{
    struct edxbus__avro_blocks b;
    edxbus__avro_blocks_init(&b, is_map ? NULL : items);
    edxbus_err_t err = edxbus__avro_enter(r);
    if (err != EDXBUS_OK)
        return err;
    json_t *keys = NULL; /* validation: the map keys seen, made at the first key */
    for (;;) {
        uint64_t count;
        err = edxbus__avro_read_block(r, &b, &count);
        if (err != EDXBUS_OK || count == 0)
            break;
        for (uint64_t i = 0; i < count && err == EDXBUS_OK; i++) {
            if (is_map && r->check_text)
                err = check_key(r, &keys);
            else if (is_map)
                err = skip_key(r);
            if (err == EDXBUS_OK)
                err = edxbus__avro_skip(r, items);
        }
        if (err != EDXBUS_OK)
            break;
    }
    json_decref(keys);
    if (err == EDXBUS_OK)
        r->depth--;
    return err;
}

edxbus_err_t edxbus__avro_skip(struct edxbus__avro_reader *r, const struct edxbus_avro_node *node)
{
    edxbus_err_t err = EDXBUS_OK;
    int64_t v = 0;
    const uint8_t *raw = NULL;
    size_t n = 0;
    bool bv = false;
    switch (node->type) {
    case EDXBUS_AVRO_NULL:
        return EDXBUS_OK;
    case EDXBUS_AVRO_BOOLEAN:
        return edxbus__avro_read_bool(r, &bv);
    case EDXBUS_AVRO_INT: {
        int32_t i;
        return edxbus__avro_read_int(r, &i);
    }
    case EDXBUS_AVRO_LONG:
        return edxbus__avro_read_long(r, &v, "long");
    case EDXBUS_AVRO_FLOAT:
        return edxbus__avro_take(r, 4, &raw, "float");
    case EDXBUS_AVRO_DOUBLE:
        return edxbus__avro_take(r, 8, &raw, "double");
    case EDXBUS_AVRO_STRING:
        if (r->check_text)
            return edxbus__avro_read_string(r, &raw, &n, "string");
        /* fall through */
    case EDXBUS_AVRO_BYTES:
        err = edxbus__avro_read_len(r, &n, node->type == EDXBUS_AVRO_STRING ? "string" : "bytes");
        if (err == EDXBUS_OK)
            r->p += n;
        return err;
    case EDXBUS_AVRO_FIXED:
        return edxbus__avro_take(r, node->u.fixed.size, &raw, "fixed");
    case EDXBUS_AVRO_ENUM:
        return edxbus__avro_read_enum(r, node->u.enm.nsymbols, &n);
    case EDXBUS_AVRO_UNION:
        err = edxbus__avro_read_branch(r, node->u.uni.nbranches, &n);
        if (err != EDXBUS_OK)
            return err;
        return edxbus__avro_skip(r, node->u.uni.branches[n]);
    case EDXBUS_AVRO_ARRAY:
        return skip_blocks(r, node->u.array.items, false);
    case EDXBUS_AVRO_MAP:
        return skip_blocks(r, node->u.map.values, true);
    case EDXBUS_AVRO_RECORD:
        err = edxbus__avro_enter(r);
        if (err != EDXBUS_OK)
            return err;
        for (size_t i = 0; i < node->u.record.nfields; i++) {
            err = edxbus__avro_skip(r, node->u.record.fields[i].type);
            if (err != EDXBUS_OK)
                return err;
        }
        r->depth--;
        return EDXBUS_OK;
    }
    return edxbus__avro_fail(r, r->p, "unknown type %d in schema", (int)node->type);
}

edxbus_err_t edxbus__avro_finish(struct edxbus__avro_reader *r)
{
    if (r->p != r->end)
        return edxbus__avro_fail(r, r->p, "%zu trailing bytes after the value",
                                 (size_t)(r->end - r->p));
    return EDXBUS_OK;
}

json_t *edxbus__avro_bytes_to_json(const uint8_t *s, size_t len)
{
    char small[256] = "";
    char *tmp = small;
    if (len > sizeof small / 2) {
        tmp = malloc(len * 2);
        if (tmp == NULL)
            return NULL;
    }
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < 0x80) {
            tmp[n++] = (char)s[i];
        } else {
            tmp[n++] = (char)(0xc0 | (s[i] >> 6));
            tmp[n++] = (char)(0x80 | (s[i] & 0x3f));
        }
    }
    json_t *j = json_stringn_nocheck(tmp, n);
    if (tmp != small)
        free(tmp);
    return j;
}

/* ---------------------------------------------------------------------------------------------
 * One field's bytes (edxbus_avro_field_slice)
 * ------------------------------------------------------------------------------------------- */

edxbus_err_t edxbus_avro_field_slice(const edxbus_avro_schema_t *schema, const uint8_t *data,
                                     size_t len, const char *const *names, size_t n, size_t *off,
                                     size_t *out_len, char *errstr, size_t errstr_size)
{
    if (schema == NULL || (data == NULL && len > 0) || n == 0)
        return EDXBUS_ERR_INVALID_ARG;
    struct edxbus__avro_reader r;
    edxbus__avro_reader_init(&r, data, len, errstr, errstr_size);
    const struct edxbus_avro_node *node = schema->root;
    for (size_t level = 0; level < n; level++) {
        if (node->type != EDXBUS_AVRO_RECORD) {
            if (errstr != NULL && errstr_size > 0)
                snprintf(errstr, errstr_size, "avro: \"%s\" is not a field of a record",
                         names[level]);
            return EDXBUS_ERR_NOT_FOUND;
        }
        size_t i = 0;
        while (i < node->u.record.nfields && strcmp(node->u.record.fields[i].name, names[level]))
            i++;
        if (i == node->u.record.nfields) {
            if (errstr != NULL && errstr_size > 0)
                snprintf(errstr, errstr_size, "avro: no field \"%s\" in record %s", names[level],
                         node->name != NULL ? node->name : "(anonymous)");
            return EDXBUS_ERR_NOT_FOUND;
        }
        for (size_t before = 0; before < i; before++) {
            edxbus_err_t err = edxbus__avro_skip(&r, node->u.record.fields[before].type);
            if (err != EDXBUS_OK)
                return err;
        }
        node = node->u.record.fields[i].type;
    }
    const uint8_t *start = r.p;
    edxbus_err_t err = edxbus__avro_skip(&r, node);
    if (err != EDXBUS_OK)
        return err;
    *off = (size_t)(start - r.start);
    *out_len = (size_t)(r.p - start);
    return EDXBUS_OK;
}
