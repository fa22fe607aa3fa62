/* src/avro/decode_text.c — Avro binary straight to JSON text, the `consume --print` hot path.
 *
 * The same walk as decode.c, with the same checked primitives (reader.c), but every value is
 * written to the output buffer as soon as it is read: no jansson tree, no allocation per field.
 * Strings are validated and escaped in one pass over the input (json_write.c's escaper), runs
 * of plain bytes are copied with memcpy, and integers and reals use the very formatters
 * edxbus_json_write() uses, so the text equals edxbus_json_write(decoded tree, 0) byte for byte.
 *
 * Where the tree decoder's jansson object notices a repeated map key as it inserts, this one
 * remembers each map's keys (offsets into the input) on a scratch stack and checks them when the
 * map ends: a sort for big maps, pairwise for small ones. The scratch buffer is the only
 * allocation besides the output, and it is reused across the whole value.
 *
 * Unlike the tree decoder, a NaN or infinite float/double is written as Python's json.dumps
 * writes it (NaN, Infinity, -Infinity), since text can hold it.
 *
 * Invariant: on any error out->len is restored to its length at entry.
 */
#include "avro/json_text.h"
#include "avro/reader.h"

#include <stdio.h>
#include <stdlib.h>

struct text_ctx {
    struct edxbus__avro_reader r;
    struct edxbus_buf *out;
    struct edxbus_buf keys; /* stack of struct key_ref for the maps being read */
};

struct key_ref {
    const uint8_t *s;
    size_t len;
};

static edxbus_err_t text_value(struct text_ctx *c, const struct edxbus_avro_node *node);

static edxbus_err_t nomem(struct text_ctx *c)
{
    if (c->r.errstr != NULL && c->r.errstr_size > 0)
        snprintf(c->r.errstr, c->r.errstr_size, "avro: out of memory");
    return EDXBUS_ERR_NOMEM;
}

static inline edxbus_err_t put(struct text_ctx *c, const char *s, size_t n)
{
    struct edxbus_buf *out = c->out;
    if (out->cap - out->len >= n) {
        memcpy(out->data + out->len, s, n);
        out->len += n;
        return EDXBUS_OK;
    }
    return edxbus_buf_append(out, s, n) == EDXBUS_OK ? EDXBUS_OK : nomem(c);
}

/* A string or map key (@p what) straight from the input to the output, checked for UTF-8 in the
 * same pass that escapes it; *@p s and *@p len get the input bytes. On bad UTF-8 the message and
 * the reader's position are those of edxbus__avro_read_string. */
static edxbus_err_t text_utf8(struct text_ctx *c, const uint8_t **s, size_t *len, const char *what)
{
    struct edxbus__avro_reader *r = &c->r;
    const uint8_t *at = r->p;
    edxbus_err_t err = edxbus__avro_read_len(r, len, what);
    if (err != EDXBUS_OK)
        return err;
    size_t bad = 0;
    err = edxbus__json_write_utf8(c->out, r->p, *len, &bad);
    if (err == EDXBUS_ERR_DECODE) {
        const uint8_t *where = r->p + bad;
        r->p = at;
        return edxbus__avro_fail(r, where, "invalid UTF-8 in %s", what);
    }
    if (err != EDXBUS_OK)
        return nomem(c);
    *s = r->p;
    r->p += *len;
    return EDXBUS_OK;
}

static edxbus_err_t text_int(struct text_ctx *c, int64_t v)
{
    struct edxbus_buf *out = c->out;
    if (out->cap - out->len < EDXBUS_JSON_INT_MAX &&
        edxbus_buf_reserve(out, EDXBUS_JSON_INT_MAX) != EDXBUS_OK)
        return nomem(c);
    out->len += edxbus__json_int_text((char *)out->data + out->len, v);
    return EDXBUS_OK;
}

/* Make room for @p n more output bytes. */
static inline bool room(struct text_ctx *c, size_t n)
{
    return c->out->cap - c->out->len >= n || edxbus_buf_reserve(c->out, n) == EDXBUS_OK;
}

/* Containers leave the path alone while all goes well; when a value inside fails, they push
 * their own segment as the error passes (see lazy_path in reader.h). */

static edxbus_err_t text_record(struct text_ctx *c, const struct edxbus_avro_node *node)
{
    struct edxbus__avro_reader *r = &c->r;
    edxbus_err_t err = edxbus__avro_enter(r);
    if (err != EDXBUS_OK)
        return err;
    if (put(c, "{", 1) != EDXBUS_OK)
        return EDXBUS_ERR_NOMEM;
    const struct edxbus_avro_field *f = node->u.record.fields;
    for (size_t i = 0; i < node->u.record.nfields; i++, f++) {
        /* field names are Avro names ([A-Za-z_][A-Za-z0-9_]*, checked by the parser): nothing
           to escape, so `, "name": ` goes out in one piece */
        size_t nlen = f->name_len != 0 ? f->name_len : strlen(f->name);
        if (!room(c, nlen + 6))
            return nomem(c);
        uint8_t *o = c->out->data + c->out->len;
        if (i > 0) {
            *o++ = ',';
            *o++ = ' ';
        }
        *o++ = '"';
        memcpy(o, f->name, nlen);
        o += nlen;
        *o++ = '"';
        *o++ = ':';
        *o++ = ' ';
        c->out->len = (size_t)(o - c->out->data);
        err = text_value(c, f->type);
        if (err != EDXBUS_OK) {
            edxbus__avro_path_field(&r->path, f->name);
            return err;
        }
    }
    r->depth--;
    return put(c, "}", 1);
}

static edxbus_err_t text_array(struct text_ctx *c, const struct edxbus_avro_node *node)
{
    struct edxbus__avro_reader *r = &c->r;
    edxbus_err_t err = edxbus__avro_enter(r);
    if (err != EDXBUS_OK)
        return err;
    if (put(c, "[", 1) != EDXBUS_OK)
        return EDXBUS_ERR_NOMEM;
    struct edxbus__avro_blocks b;
    edxbus__avro_blocks_init(&b, node->u.array.items);
    int64_t index = 0;
    for (;;) {
        uint64_t count;
        err = edxbus__avro_read_block(r, &b, &count);
        if (err != EDXBUS_OK)
            return err;
        if (count == 0)
            break;
        for (uint64_t i = 0; i < count; i++) {
            if (index > 0 && put(c, ", ", 2) != EDXBUS_OK)
                return EDXBUS_ERR_NOMEM;
            err = text_value(c, node->u.array.items);
            if (err != EDXBUS_OK) {
                edxbus__avro_path_push_index(&r->path, index);
                return err;
            }
            index++;
        }
    }
    r->depth--;
    return put(c, "]", 1);
}

static int key_cmp(const void *a, const void *b)
{
    const struct key_ref *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int d = memcmp(x->s, y->s, n);
    if (d != 0)
        return d;
    return x->len < y->len ? -1 : x->len > y->len;
}

/* Whether keys[0..n) holds a key twice. Sorts them (they are popped right after). */
static bool keys_repeat(struct key_ref *keys, size_t n)
{
    if (n <= 16) {
        for (size_t i = 1; i < n; i++)
            for (size_t j = 0; j < i; j++)
                if (key_cmp(&keys[i], &keys[j]) == 0)
                    return true;
        return false;
    }
    qsort(keys, n, sizeof *keys, key_cmp);
    for (size_t i = 1; i < n; i++)
        if (key_cmp(&keys[i], &keys[i - 1]) == 0)
            return true;
    return false;
}

static edxbus_err_t text_map(struct text_ctx *c, const struct edxbus_avro_node *node)
{
    struct edxbus__avro_reader *r = &c->r;
    const uint8_t *start = r->p;
    edxbus_err_t err = edxbus__avro_enter(r);
    if (err != EDXBUS_OK)
        return err;
    if (put(c, "{", 1) != EDXBUS_OK)
        return EDXBUS_ERR_NOMEM;
    struct edxbus__avro_blocks b;
    edxbus__avro_blocks_init(&b, NULL);
    size_t base = c->keys.len;
    size_t nkeys = 0;
    for (;;) {
        uint64_t count;
        err = edxbus__avro_read_block(r, &b, &count);
        if (err != EDXBUS_OK)
            return err;
        if (count == 0)
            break;
        for (uint64_t i = 0; i < count; i++) {
            struct key_ref k;
            if (nkeys > 0 && put(c, ", ", 2) != EDXBUS_OK)
                return EDXBUS_ERR_NOMEM;
            err = text_utf8(c, &k.s, &k.len, "map key");
            if (err != EDXBUS_OK)
                return err;
            if (edxbus_buf_append(&c->keys, &k, sizeof k) != EDXBUS_OK)
                return nomem(c);
            nkeys++;
            if (put(c, ": ", 2) != EDXBUS_OK)
                return EDXBUS_ERR_NOMEM;
            err = text_value(c, node->u.map.values);
            if (err != EDXBUS_OK) {
                edxbus__avro_path_push_key(&r->path, k.s, k.len);
                return err;
            }
        }
    }
    /* keys_repeat reorders the entries; struct key_ref holds only pointers, so alignment is
       that of the buffer's malloc'd storage at a multiple of sizeof(struct key_ref) */
    if (nkeys > 1 && keys_repeat((struct key_ref *)(c->keys.data + base), nkeys))
        return edxbus__avro_fail(r, start, "repeated map key");
    c->keys.len = base;
    r->depth--;
    return put(c, "}", 1);
}

static edxbus_err_t text_real(struct text_ctx *c, double d)
{
    char tmp[40];
    size_t n = edxbus__double_repr(d, tmp);
    return put(c, tmp, n);
}

static edxbus_err_t text_value(struct text_ctx *c, const struct edxbus_avro_node *node)
{
    struct edxbus__avro_reader *r = &c->r;
    edxbus_err_t err;
    const uint8_t *raw = NULL;
    size_t n = 0;
    switch (node->type) {
    case EDXBUS_AVRO_NULL:
        return put(c, "null", 4);
    case EDXBUS_AVRO_BOOLEAN: {
        bool v = false;
        err = edxbus__avro_read_bool(r, &v);
        if (err != EDXBUS_OK)
            return err;
        return v ? put(c, "true", 4) : put(c, "false", 5);
    }
    case EDXBUS_AVRO_INT: {
        int32_t v = 0;
        err = edxbus__avro_read_int(r, &v);
        if (err != EDXBUS_OK)
            return err;
        return text_int(c, v);
    }
    case EDXBUS_AVRO_LONG: {
        int64_t v = 0;
        err = edxbus__avro_read_long(r, &v, "long");
        if (err != EDXBUS_OK)
            return err;
        return text_int(c, v);
    }
    case EDXBUS_AVRO_FLOAT:
        err = edxbus__avro_take(r, 4, &raw, "float");
        if (err != EDXBUS_OK)
            return err;
        return text_real(c, (double)edxbus__get_float_le(raw));
    case EDXBUS_AVRO_DOUBLE:
        err = edxbus__avro_take(r, 8, &raw, "double");
        if (err != EDXBUS_OK)
            return err;
        return text_real(c, edxbus__get_double_le(raw));
    case EDXBUS_AVRO_STRING:
        return text_utf8(c, &raw, &n, "string");
    case EDXBUS_AVRO_BYTES:
        err = edxbus__avro_read_len(r, &n, "bytes");
        if (err != EDXBUS_OK)
            return err;
        raw = r->p;
        r->p += n;
        return edxbus__json_write_latin1(c->out, raw, n, 0) == EDXBUS_OK ? EDXBUS_OK : nomem(c);
    case EDXBUS_AVRO_FIXED:
        err = edxbus__avro_take(r, node->u.fixed.size, &raw, "fixed");
        if (err != EDXBUS_OK)
            return err;
        return edxbus__json_write_latin1(c->out, raw, node->u.fixed.size, 0) == EDXBUS_OK
                   ? EDXBUS_OK
                   : nomem(c);
    case EDXBUS_AVRO_ENUM: {
        err = edxbus__avro_read_enum(r, node->u.enm.nsymbols, &n);
        if (err != EDXBUS_OK)
            return err;
        /* symbols are Avro names ([A-Za-z_][A-Za-z0-9_]*, checked by the parser): nothing to
           escape */
        const char *sym = node->u.enm.symbols[n];
        size_t slen = strlen(sym);
        if (edxbus_buf_reserve(c->out, slen + 2) != EDXBUS_OK)
            return nomem(c);
        uint8_t *o = c->out->data + c->out->len;
        o[0] = '"';
        memcpy(o + 1, sym, slen);
        o[slen + 1] = '"';
        c->out->len += slen + 2;
        return EDXBUS_OK;
    }
    case EDXBUS_AVRO_UNION:
        err = edxbus__avro_read_branch(r, node->u.uni.nbranches, &n);
        if (err != EDXBUS_OK)
            return err;
        return text_value(c, node->u.uni.branches[n]);
    case EDXBUS_AVRO_RECORD:
        return text_record(c, node);
    case EDXBUS_AVRO_ARRAY:
        return text_array(c, node);
    case EDXBUS_AVRO_MAP:
        return text_map(c, node);
    }
    return edxbus__avro_fail(r, r->p, "unknown type %d in schema", (int)node->type);
}

edxbus_err_t edxbus_avro_decode_to_text(const edxbus_avro_schema_t *schema, const uint8_t *data,
                                        size_t len, struct edxbus_buf *out, char *errstr,
                                        size_t errstr_size)
{
    if (schema == NULL || out == NULL || (data == NULL && len > 0))
        return EDXBUS_ERR_INVALID_ARG;
    struct text_ctx c;
    edxbus__avro_reader_init(&c.r, data, len, errstr, errstr_size);
    c.r.lazy_path = true;
    c.out = out;
    edxbus_buf_init(&c.keys);
    size_t len0 = out->len;
    /* JSON text is rarely more than twice the Avro size; one reserve saves most regrowth */
    edxbus_err_t err = edxbus_buf_reserve(out, len * 2 + 64) == EDXBUS_OK ? EDXBUS_OK : nomem(&c);
    if (err == EDXBUS_OK)
        err = text_value(&c, schema->root);
    if (err == EDXBUS_OK)
        err = edxbus__avro_finish(&c.r);
    edxbus_buf_fini(&c.keys);
    if (err == EDXBUS_ERR_DECODE)
        edxbus__avro_fail_finish(&c.r);
    if (err != EDXBUS_OK)
        out->len = len0;
    return err;
}
