/* src/avro/decode.c — Avro binary to the plain JSON form (a jansson tree).
 *
 * One recursive walk over the schema, reading with the checked primitives of reader.c, so every
 * byte is bounds-checked there and recursion is bounded by EDXBUS_AVRO_MAX_DEPTH containers.
 * Memory grows only with what was read: arrays and maps are appended item by item (never
 * pre-sized from a count), and every item costs at least one input byte except for the empty
 * types that reader.c caps.
 *
 * The plain form: records are objects with fields in schema order (jansson keeps insertion
 * order), unions are the bare branch value, bytes and fixed are strings whose code points are
 * the byte values, enums are their symbol, floats widen to double.
 *
 * Two inputs are valid Avro but have no faithful plain form and are rejected: a map that repeats
 * a key (a JSON object cannot hold it twice) and a NaN or infinite float or double (jansson
 * reals cannot hold them; edxbus_avro_decode_to_text() prints them as Python would).
 */
#include "avro/reader.h"
#include "edxbus/json.h"

#include <math.h>
#include <stdio.h>

static edxbus_err_t decode_value(struct edxbus__avro_reader *r, const struct edxbus_avro_node *node,
                                 json_t **out);

static edxbus_err_t nomem(struct edxbus__avro_reader *r)
{
    if (r->errstr != NULL && r->errstr_size > 0)
        snprintf(r->errstr, r->errstr_size, "avro: out of memory");
    return EDXBUS_ERR_NOMEM;
}

static edxbus_err_t decode_real(struct edxbus__avro_reader *r, double d, const uint8_t *at,
                                json_t **out)
{
    (void)at;
    *out = edxbus_json_double(d); /* NaN and the infinities as json.h's marker */
    return *out != NULL ? EDXBUS_OK : nomem(r);
}

static edxbus_err_t decode_record(struct edxbus__avro_reader *r,
                                  const struct edxbus_avro_node *node, json_t **out)
{
    edxbus_err_t err = edxbus__avro_enter(r);
    if (err != EDXBUS_OK)
        return err;
    json_t *obj = json_object();
    if (obj == NULL)
        return nomem(r);
    size_t seg = r->path.n;
    for (size_t i = 0; i < node->u.record.nfields; i++) {
        const struct edxbus_avro_field *f = &node->u.record.fields[i];
        r->path.n = seg;
        edxbus__avro_path_field(&r->path, f->name);
        json_t *v = NULL;
        err = decode_value(r, f->type, &v);
        if (err != EDXBUS_OK)
            goto fail;
        if (json_object_set_new_nocheck(obj, f->name, v) != 0) {
            err = nomem(r);
            goto fail;
        }
    }
    r->path.n = seg;
    r->depth--;
    *out = obj;
    return EDXBUS_OK;
fail:
    json_decref(obj);
    return err;
}

edxbus_err_t edxbus__avro_decode_blocks(struct edxbus__avro_reader *r, bool is_map,
                                        const struct edxbus_avro_node *items,
                                        edxbus__avro_item_fn item, void *ctx, json_t **out)
{
    edxbus_err_t err = edxbus__avro_enter(r);
    if (err != EDXBUS_OK)
        return err;
    json_t *c = is_map ? json_object() : json_array();
    if (c == NULL)
        return nomem(r);
    struct edxbus__avro_blocks b;
    edxbus__avro_blocks_init(&b, is_map ? NULL : items);
    struct edxbus__avro_seg *seg = &r->path.segs[r->path.n];
    seg->kind = is_map ? EDXBUS_AVRO_SEG_KEY : EDXBUS_AVRO_SEG_INDEX;
    seg->index = 0;
    for (;;) {
        uint64_t count;
        err = edxbus__avro_read_block(r, &b, &count);
        if (err != EDXBUS_OK)
            goto fail;
        if (count == 0)
            break;
        for (uint64_t i = 0; i < count; i++) {
            const uint8_t *key = NULL, *at = r->p;
            size_t klen = 0;
            if (is_map) {
                err = edxbus__avro_read_string(r, &key, &klen, "map key");
                if (err != EDXBUS_OK)
                    goto fail;
                seg->text = (const char *)key;
                seg->len = klen;
            }
            r->path.n++;
            if (is_map && json_object_getn(c, (const char *)key, klen) != NULL) {
                err = edxbus__avro_fail(r, at, "repeated map key");
                r->path.n--;
                goto fail;
            }
            json_t *v = NULL;
            err = item(r, ctx, &v);
            r->path.n--;
            if (err != EDXBUS_OK)
                goto fail;
            int rc = is_map ? json_object_setn_new_nocheck(c, (const char *)key, klen, v)
                            : json_array_append_new(c, v);
            if (rc != 0) {
                err = nomem(r);
                goto fail;
            }
            seg->index++;
        }
    }
    r->depth--;
    *out = c;
    return EDXBUS_OK;
fail:
    json_decref(c);
    return err;
}

/* An array item or map value: ctx is its schema node. */
static edxbus_err_t decode_item(struct edxbus__avro_reader *r, void *ctx, json_t **out)
{
    return decode_value(r, ctx, out);
}

static edxbus_err_t decode_value(struct edxbus__avro_reader *r, const struct edxbus_avro_node *node,
                                 json_t **out)
{
    edxbus_err_t err;
    const uint8_t *at = r->p;
    const uint8_t *raw = NULL;
    size_t n = 0;
    switch (node->type) {
    case EDXBUS_AVRO_NULL:
        *out = json_null();
        return EDXBUS_OK;
    case EDXBUS_AVRO_BOOLEAN: {
        bool v = false;
        err = edxbus__avro_read_bool(r, &v);
        if (err == EDXBUS_OK)
            *out = json_boolean(v);
        return err;
    }
    case EDXBUS_AVRO_INT: {
        int32_t v = 0;
        err = edxbus__avro_read_int(r, &v);
        if (err != EDXBUS_OK)
            return err;
        *out = json_integer(v);
        return *out != NULL ? EDXBUS_OK : nomem(r);
    }
    case EDXBUS_AVRO_LONG: {
        int64_t v = 0;
        err = edxbus__avro_read_long(r, &v, "long");
        if (err != EDXBUS_OK)
            return err;
        *out = json_integer((json_int_t)v);
        return *out != NULL ? EDXBUS_OK : nomem(r);
    }
    case EDXBUS_AVRO_FLOAT:
        err = edxbus__avro_take(r, 4, &raw, "float");
        if (err != EDXBUS_OK)
            return err;
        return decode_real(r, (double)edxbus__get_float_le(raw), at, out);
    case EDXBUS_AVRO_DOUBLE:
        err = edxbus__avro_take(r, 8, &raw, "double");
        if (err != EDXBUS_OK)
            return err;
        return decode_real(r, edxbus__get_double_le(raw), at, out);
    case EDXBUS_AVRO_STRING:
        err = edxbus__avro_read_string(r, &raw, &n, "string");
        if (err != EDXBUS_OK)
            return err;
        *out = json_stringn_nocheck((const char *)raw, n);
        return *out != NULL ? EDXBUS_OK : nomem(r);
    case EDXBUS_AVRO_BYTES:
        err = edxbus__avro_read_len(r, &n, "bytes");
        if (err != EDXBUS_OK)
            return err;
        *out = edxbus__avro_bytes_to_json(r->p, n);
        r->p += n;
        return *out != NULL ? EDXBUS_OK : nomem(r);
    case EDXBUS_AVRO_FIXED:
        err = edxbus__avro_take(r, node->u.fixed.size, &raw, "fixed");
        if (err != EDXBUS_OK)
            return err;
        *out = edxbus__avro_bytes_to_json(raw, node->u.fixed.size);
        return *out != NULL ? EDXBUS_OK : nomem(r);
    case EDXBUS_AVRO_ENUM:
        err = edxbus__avro_read_enum(r, node->u.enm.nsymbols, &n);
        if (err != EDXBUS_OK)
            return err;
        *out = json_string_nocheck(node->u.enm.symbols[n]);
        return *out != NULL ? EDXBUS_OK : nomem(r);
    case EDXBUS_AVRO_UNION:
        err = edxbus__avro_read_branch(r, node->u.uni.nbranches, &n);
        if (err != EDXBUS_OK)
            return err;
        return decode_value(r, node->u.uni.branches[n], out);
    case EDXBUS_AVRO_RECORD:
        return decode_record(r, node, out);
    case EDXBUS_AVRO_ARRAY:
        return edxbus__avro_decode_blocks(r, false, node->u.array.items, decode_item,
                                          (void *)node->u.array.items, out);
    case EDXBUS_AVRO_MAP:
        return edxbus__avro_decode_blocks(r, true, node->u.map.values, decode_item,
                                          (void *)node->u.map.values, out);
    }
    return edxbus__avro_fail(r, at, "unknown type %d in schema", (int)node->type);
}

edxbus_err_t edxbus__avro_decode_value(struct edxbus__avro_reader *r,
                                       const struct edxbus_avro_node *node, json_t **out)
{
    return decode_value(r, node, out);
}

edxbus_err_t edxbus_avro_decode(const edxbus_avro_schema_t *schema, const uint8_t *data, size_t len,
                                json_t **out, char *errstr, size_t errstr_size)
{
    struct edxbus__avro_reader r;
    *out = NULL;
    if (schema == NULL || (data == NULL && len > 0))
        return EDXBUS_ERR_INVALID_ARG;
    edxbus__avro_reader_init(&r, data, len, errstr, errstr_size);
    json_t *v = NULL;
    edxbus_err_t err = decode_value(&r, schema->root, &v);
    if (err == EDXBUS_OK)
        err = edxbus__avro_finish(&r);
    if (err != EDXBUS_OK) {
        json_decref(v);
        return err;
    }
    *out = v;
    return EDXBUS_OK;
}
