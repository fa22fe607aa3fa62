/* src/avro/encode.c — the plain JSON form (a jansson tree) to Avro binary.
 *
 * One recursive walk over schema and value together, appending to the caller's buffer. The
 * output is what fastavro's schemaless_writer produces for the same dict: fields in schema
 * order, a non-empty array or map as ONE block (count, items, 00), an empty one as the single
 * byte 00, union index then value.
 *
 * Value rules: longs are taken from json_integer_value (long long) and never pass through a
 * double; ints are range-checked to 32 bits; float/double accept JSON integers too; booleans are
 * only true/false; NaN and the infinities come as edxbus_json_double() markers (json.h), as
 * edxbus_json_loadb() reads the bare words; strings are written byte for byte (json_string_length, NULs included);
 * bytes and fixed are JSON strings whose code points are 0-255 (the Avro JSON convention).
 * A record field missing from the object takes its default (the default is itself in the plain
 * form, so it is encoded like any value), else null when its type is a union with null, else it
 * is an error; keys that are not fields are errors. A union takes the branch that fits the JSON
 * value (see pick_branch). Fields with a check (set by the catalog) get their string values
 * checked unless EDXBUS_AVRO_NO_CHECKS.
 *
 * Integers beyond int64 never reach this file: jansson refuses them while parsing ("too big
 * integer"), so a caller reading user JSON (the CLI) reports that parse error with its line and
 * column; ints are range-checked here and no integer ever passes through a double.
 *
 * Invariants: recursion is bounded by EDXBUS_AVRO_MAX_DEPTH containers; on any error out->len
 * is put back where it was, so nothing half-written survives; error text names the field path.
 */
#include "avro/json_text.h"
#include "avro/reader.h"
#include "edxbus/json.h"

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

/* The field path is built only when an error unwinds: enc_fail keeps the message in msg and
 * empties path, each container pushes its own segment as the error passes it (innermost first),
 * and edxbus_avro_encode writes errstr from both at the top. Nothing is spent on paths while
 * all goes well. */
struct enc_ctx {
    struct edxbus_buf *out;
    unsigned flags;
    int depth;
    struct edxbus__avro_path path; /* filled only while an error unwinds */
    char *errstr;
    size_t errstr_size;
    char msg[200]; /* the failure being unwound */
};

static edxbus_err_t encode_value(struct enc_ctx *c, const struct edxbus_avro_node *node,
                                 const json_t *v, const struct edxbus_avro_field *checked);

static edxbus_err_t enc_fail(struct enc_ctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static edxbus_err_t enc_fail(struct enc_ctx *c, const char *fmt, ...)
{
    c->path.n = 0;
    if (c->errstr == NULL || c->errstr_size == 0)
        return EDXBUS_ERR_ENCODE;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->msg, sizeof c->msg, fmt, ap);
    va_end(ap);
    return EDXBUS_ERR_ENCODE;
}

/* Write errstr for the failure that has unwound to the top: `path: message`. */
static void fail_finish(struct enc_ctx *c)
{
    if (c->errstr == NULL || c->errstr_size == 0)
        return;
    struct edxbus__avro_seg *segs = c->path.segs;
    for (size_t i = 0, j = c->path.n; i + 1 < j; i++, j--) {
        struct edxbus__avro_seg t = segs[i];
        segs[i] = segs[j - 1];
        segs[j - 1] = t;
    }
    char path[160];
    edxbus__avro_path_format(&c->path, path, sizeof path);
    if (path[0] != '\0')
        snprintf(c->errstr, c->errstr_size, "%s: %s", path, c->msg);
    else
        snprintf(c->errstr, c->errstr_size, "%s", c->msg);
}

static edxbus_err_t nomem(struct enc_ctx *c)
{
    if (c->errstr != NULL && c->errstr_size > 0)
        snprintf(c->errstr, c->errstr_size, "avro: out of memory");
    return EDXBUS_ERR_NOMEM;
}

/* A short quoted excerpt of string text, for messages: at most 40 bytes, controls as '?'. */
static void quote(const char *s, size_t len, char *out, size_t size)
{
    char tmp[48];
    size_t k = len < 40 ? len : 40;
    for (size_t i = 0; i < k; i++) {
        unsigned char ch = (unsigned char)s[i];
        tmp[i] = (ch < 0x20 || ch == '"') ? '?' : (char)ch;
    }
    tmp[k] = '\0';
    snprintf(out, size, "\"%s%s\"", tmp, len > 40 ? "..." : "");
}

/* What a JSON value is, for messages: `string "x"`, `integer 5`, `object`… */
static void describe(const json_t *v, char *out, size_t size)
{
    char q[64];
    switch (json_typeof(v)) {
    case JSON_STRING:
        quote(json_string_value(v), json_string_length(v), q, sizeof q);
        snprintf(out, size, "string %s", q);
        return;
    case JSON_INTEGER:
        snprintf(out, size, "integer %lld", (long long)json_integer_value(v));
        return;
    case JSON_REAL:
        edxbus__double_repr(json_real_value(v), q);
        snprintf(out, size, "real %s", q);
        return;
    case JSON_TRUE:
        snprintf(out, size, "true");
        return;
    case JSON_FALSE:
        snprintf(out, size, "false");
        return;
    case JSON_NULL:
        snprintf(out, size, "null");
        return;
    case JSON_OBJECT: {
        double d;
        if (edxbus_json_is_nonfinite(v, &d)) {
            edxbus__double_repr(d, q);
            snprintf(out, size, "real %s", q);
        } else {
            snprintf(out, size, "object");
        }
        return;
    }
    case JSON_ARRAY:
        snprintf(out, size, "array");
        return;
    }
    snprintf(out, size, "?");
}

static const char *prim_name(edxbus_avro_type_t t)
{
    static const char *const names[] = {"null",   "boolean", "int",    "long",   "float",
                                        "double", "bytes",   "string", "record", "enum",
                                        "array",  "map",     "union",  "fixed"};
    return (unsigned)t < sizeof names / sizeof names[0] ? names[t] : "?";
}

/* What a schema node is, for messages: `long`, `record UserData`, `union [null, string]`. */
static void node_desc(const struct edxbus_avro_node *node, char *out, size_t size)
{
    if (node->name != NULL) {
        snprintf(out, size, "%s %s", prim_name(node->type), node->name);
        return;
    }
    if (node->type != EDXBUS_AVRO_UNION) {
        snprintf(out, size, "%s", prim_name(node->type));
        return;
    }
    size_t n = (size_t)snprintf(out, size, "union [");
    for (size_t i = 0; i < node->u.uni.nbranches && n < size; i++) {
        const struct edxbus_avro_node *b = node->u.uni.branches[i];
        const char *nm = b->name != NULL ? b->name : prim_name(b->type);
        const char *dot = b->name != NULL ? strrchr(b->name, '.') : NULL;
        n += (size_t)snprintf(out + n, size - n, "%s%s", i ? ", " : "", dot ? dot + 1 : nm);
    }
    if (n < size)
        snprintf(out + n, size - n, "]");
}

static edxbus_err_t mismatch(struct enc_ctx *c, const struct edxbus_avro_node *node,
                             const json_t *v)
{
    char want[96], got[96];
    node_desc(node, want, sizeof want);
    describe(v, got, sizeof got);
    return enc_fail(c, "expected %s, got %s", want, got);
}

static inline edxbus_err_t put_long(struct enc_ctx *c, int64_t v)
{
    return edxbus__buf_put_long(c->out, v) == EDXBUS_OK ? EDXBUS_OK : nomem(c);
}

static inline edxbus_err_t put_raw(struct enc_ctx *c, const void *p, size_t n)
{
    struct edxbus_buf *out = c->out;
    if (out->cap - out->len < n && edxbus_buf_reserve(out, n) != EDXBUS_OK)
        return nomem(c);
    memcpy(out->data + out->len, p, n);
    out->len += n;
    return EDXBUS_OK;
}

/* A length and that many bytes, with one check for room. */
static inline edxbus_err_t put_bytes(struct enc_ctx *c, const void *p, size_t n)
{
    struct edxbus_buf *out = c->out;
    if (out->cap - out->len < n + EDXBUS_AVRO_MAX_VARINT &&
        edxbus_buf_reserve(out, n + EDXBUS_AVRO_MAX_VARINT) != EDXBUS_OK)
        return nomem(c);
    uint8_t *o = out->data + out->len;
    o += edxbus__varint_put(o, (int64_t)n);
    memcpy(o, p, n);
    out->len = (size_t)(o + n - out->data);
    return EDXBUS_OK;
}

/* Code points of a JSON string if all are <= 0xff, else (size_t)-1. */
static size_t latin1_len(const json_t *v)
{
    const uint8_t *s = (const uint8_t *)json_string_value(v);
    size_t len = json_string_length(v), n = 0;
    for (size_t i = 0; i < len; i++, n++) {
        if (s[i] < 0x80)
            continue;
        if (s[i] != 0xc2 && s[i] != 0xc3)
            return (size_t)-1;
        i++; /* jansson strings are valid UTF-8: a continuation byte follows */
    }
    return n;
}

static edxbus_err_t put_latin1(struct enc_ctx *c, const json_t *v, size_t n)
{
    if (edxbus_buf_reserve(c->out, n) != EDXBUS_OK)
        return nomem(c);
    const uint8_t *s = (const uint8_t *)json_string_value(v);
    size_t len = json_string_length(v);
    uint8_t *o = c->out->data + c->out->len;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < 0x80) {
            *o++ = s[i];
        } else {
            *o++ = (uint8_t)(((s[i] & 0x03) << 6) | (s[i + 1] & 0x3f));
            i++;
        }
    }
    c->out->len += n;
    return EDXBUS_OK;
}

static bool enum_index(const struct edxbus_avro_node *node, const json_t *v, size_t *out)
{
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    for (size_t i = 0; i < node->u.enm.nsymbols; i++) {
        if (strlen(node->u.enm.symbols[i]) == len && memcmp(node->u.enm.symbols[i], s, len) == 0) {
            *out = i;
            return true;
        }
    }
    return false;
}

static bool union_has_null(const struct edxbus_avro_node *node)
{
    if (node->type != EDXBUS_AVRO_UNION)
        return false;
    for (size_t i = 0; i < node->u.uni.nbranches; i++)
        if (node->u.uni.branches[i]->type == EDXBUS_AVRO_NULL)
            return true;
    return false;
}

/* The value of field @p name in @p obj, or NULL. *@p it walks the object's keys in their order
 * (jansson keeps insertion order): when the next key is the field, as it is for data written in
 * schema order, no hash lookup is needed; otherwise json_object_get() finds it. Start with
 * *@p it = json_object_iter(obj). */
static const json_t *field_value(const json_t *obj, void **it, const char *name)
{
    if (*it != NULL && strcmp(json_object_iter_key(*it), name) == 0) {
        const json_t *fv = json_object_iter_value(*it);
        *it = json_object_iter_next((json_t *)obj, *it);
        return fv;
    }
    return json_object_get(obj, name);
}

/* Whether an object can be the record: every key is a field and every field without a default
 * (or null) is present. Returns the number of fields present, or -1. */
static long record_fit(const struct edxbus_avro_node *node, const json_t *obj)
{
    long present = 0;
    void *it = json_object_iter((json_t *)obj);
    for (size_t i = 0; i < node->u.record.nfields; i++) {
        const struct edxbus_avro_field *f = &node->u.record.fields[i];
        if (field_value(obj, &it, f->name) != NULL)
            present++;
        else if (f->default_value == NULL && !union_has_null(f->type))
            return -1;
    }
    return (size_t)present == json_object_size(obj) ? present : -1;
}

/* The union branch for a JSON value (SIZE_MAX: none). Per JSON kind, in order of preference:
 * null: null; true/false: boolean; integer: int (if it fits) or long, else double, else float;
 * real: double, else float; string: string, else bytes (code points <= 0xff), else an enum
 * holding the symbol, else fixed of that length; object: the record branch whose fields fit
 * best (most fields present), else map; array: array. Within a preference, the first branch. */
static size_t pick_branch(const struct edxbus_avro_node *node, const json_t *v)
{
    static const edxbus_avro_type_t prefs[][4] = {
        [JSON_NULL] = {EDXBUS_AVRO_NULL},
        [JSON_TRUE] = {EDXBUS_AVRO_BOOLEAN},
        [JSON_FALSE] = {EDXBUS_AVRO_BOOLEAN},
        [JSON_INTEGER] = {EDXBUS_AVRO_INT, EDXBUS_AVRO_DOUBLE, EDXBUS_AVRO_FLOAT},
        [JSON_REAL] = {EDXBUS_AVRO_DOUBLE, EDXBUS_AVRO_FLOAT},
        [JSON_STRING] = {EDXBUS_AVRO_STRING, EDXBUS_AVRO_BYTES, EDXBUS_AVRO_ENUM,
                         EDXBUS_AVRO_FIXED},
        [JSON_OBJECT] = {EDXBUS_AVRO_RECORD, EDXBUS_AVRO_MAP},
        [JSON_ARRAY] = {EDXBUS_AVRO_ARRAY},
    };
    const edxbus_avro_type_t *pref =
        edxbus_json_is_nonfinite(v, NULL) ? prefs[JSON_REAL] : prefs[json_typeof(v)];
    size_t npref = 1;
    while (npref < 4 && pref[npref] != EDXBUS_AVRO_NULL)
        npref++;
    for (size_t p = 0; p < npref; p++) {
        size_t best = SIZE_MAX;
        long best_fit = -1;
        for (size_t i = 0; i < node->u.uni.nbranches; i++) {
            const struct edxbus_avro_node *b = node->u.uni.branches[i];
            bool ok = b->type == pref[p];
            size_t idx;
            if (pref[p] == EDXBUS_AVRO_INT && json_is_integer(v)) {
                /* int and long share one preference level: the first that holds the value */
                json_int_t n = json_integer_value(v);
                ok = b->type == EDXBUS_AVRO_LONG ||
                     (b->type == EDXBUS_AVRO_INT && n >= INT32_MIN && n <= INT32_MAX);
            }
            if (!ok)
                continue;
            switch (b->type) {
            case EDXBUS_AVRO_BYTES:
                ok = latin1_len(v) != (size_t)-1;
                break;
            case EDXBUS_AVRO_FIXED:
                ok = latin1_len(v) == b->u.fixed.size;
                break;
            case EDXBUS_AVRO_ENUM:
                ok = enum_index(b, v, &idx);
                break;
            case EDXBUS_AVRO_RECORD: {
                long fit = record_fit(b, v);
                if (fit > best_fit) {
                    best_fit = fit;
                    best = i;
                }
                continue;
            }
            default:
                break;
            }
            if (ok)
                return i;
        }
        if (best != SIZE_MAX)
            return best;
    }
    return SIZE_MAX;
}

static edxbus_err_t encode_string(struct enc_ctx *c, const json_t *v,
                                  const struct edxbus_avro_field *checked)
{
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    if (checked != NULL && checked->check != NULL && !(c->flags & EDXBUS_AVRO_NO_CHECKS)) {
        char why[128] = "";
        if (!checked->check(s, len, why, sizeof why)) {
            char q[64];
            quote(s, len, q, sizeof q);
            return enc_fail(c, "%s is not a valid %s: %s", q,
                            checked->check_name ? checked->check_name : "value", why);
        }
    }
    return put_bytes(c, s, len);
}

static edxbus_err_t encode_record(struct enc_ctx *c, const struct edxbus_avro_node *node,
                                  const json_t *v)
{
    if (!json_is_object(v))
        return mismatch(c, node, v);
    size_t present = 0;
    edxbus_err_t err;
    void *it = json_object_iter((json_t *)v);
    for (size_t i = 0; i < node->u.record.nfields; i++) {
        const struct edxbus_avro_field *f = &node->u.record.fields[i];
        const json_t *fv = field_value(v, &it, f->name);
        if (fv != NULL) {
            present++;
            err = encode_value(c, f->type, fv, f);
        } else if (f->default_value != NULL && f->type->type == EDXBUS_AVRO_UNION) {
            /* a union field's default is a value of its first branch (Avro 1.11) */
            err = put_long(c, 0);
            if (err == EDXBUS_OK)
                err = encode_value(c, f->type->u.uni.branches[0], f->default_value, NULL);
        } else if (f->default_value != NULL) {
            err = encode_value(c, f->type, f->default_value, NULL);
        } else if (union_has_null(f->type)) {
            err = encode_value(c, f->type, json_null(), NULL);
        } else {
            char want[96];
            node_desc(f->type, want, sizeof want);
            err = enc_fail(c, "missing field (%s, no default)", want);
        }
        if (err != EDXBUS_OK) {
            edxbus__avro_path_field(&c->path, f->name);
            return err;
        }
    }
    if (present == json_object_size(v))
        return EDXBUS_OK;
    /* name the first key that is not a field, and list the fields */
    const char *key;
    json_t *item;
    json_object_foreach((json_t *)v, key, item)
    {
        if (edxbus__avro_record_field(node, key) != NULL)
            continue;
        char list[160];
        size_t n = 0;
        list[0] = '\0';
        for (size_t i = 0; i < node->u.record.nfields && n < sizeof list; i++)
            n += (size_t)snprintf(list + n, sizeof list - n, "%s%s", i ? ", " : "",
                                  node->u.record.fields[i].name);
        char q[64];
        quote(key, strlen(key), q, sizeof q);
        return enc_fail(c, "unknown field %s; expected %s%s", q,
                        node->u.record.nfields ? "one of: " : "no fields", list);
    }
    return EDXBUS_OK;
}

static edxbus_err_t encode_array(struct enc_ctx *c, const struct edxbus_avro_node *node,
                                 const json_t *v)
{
    if (!json_is_array(v))
        return mismatch(c, node, v);
    size_t n = json_array_size(v);
    edxbus_err_t err;
    /* an empty array is one 0 byte; fastavro writes it so, and so must we */
    if (n > 0) {
        err = put_long(c, (int64_t)n);
        if (err != EDXBUS_OK)
            return err;
        for (size_t i = 0; i < n; i++) {
            err = encode_value(c, node->u.array.items, json_array_get(v, i), NULL);
            if (err != EDXBUS_OK) {
                edxbus__avro_path_push_index(&c->path, (int64_t)i);
                return err;
            }
        }
    }
    return put_long(c, 0);
}

static edxbus_err_t encode_map(struct enc_ctx *c, const struct edxbus_avro_node *node,
                               const json_t *v)
{
    if (!json_is_object(v))
        return mismatch(c, node, v);
    size_t n = json_object_size(v);
    edxbus_err_t err;
    if (n > 0) {
        err = put_long(c, (int64_t)n);
        if (err != EDXBUS_OK)
            return err;
        const char *key;
        size_t klen;
        json_t *item;
        json_object_keylen_foreach((json_t *)v, key, klen, item)
        {
            err = put_bytes(c, key, klen);
            if (err != EDXBUS_OK)
                return err;
            err = encode_value(c, node->u.map.values, item, NULL);
            if (err != EDXBUS_OK) {
                edxbus__avro_path_push_key(&c->path, (const uint8_t *)key, klen);
                return err;
            }
        }
    }
    return put_long(c, 0);
}

static edxbus_err_t encode_value(struct enc_ctx *c, const struct edxbus_avro_node *node,
                                 const json_t *v, const struct edxbus_avro_field *checked)
{
    edxbus_err_t err;
    uint8_t raw[8];
    size_t n = 0;
    double d;
    switch (node->type) {
    case EDXBUS_AVRO_NULL:
        return json_is_null(v) ? EDXBUS_OK : mismatch(c, node, v);
    case EDXBUS_AVRO_BOOLEAN:
        if (!json_is_boolean(v))
            return mismatch(c, node, v);
        raw[0] = json_is_true(v) ? 1 : 0;
        return put_raw(c, raw, 1);
    case EDXBUS_AVRO_INT:
        if (!json_is_integer(v))
            return mismatch(c, node, v);
        if (json_integer_value(v) < INT32_MIN || json_integer_value(v) > INT32_MAX)
            return enc_fail(c, "integer %lld out of int range (32 bits)",
                            (long long)json_integer_value(v));
        return put_long(c, (int64_t)json_integer_value(v));
    case EDXBUS_AVRO_LONG:
        if (!json_is_integer(v))
            return mismatch(c, node, v);
        return put_long(c, (int64_t)json_integer_value(v));
    case EDXBUS_AVRO_FLOAT:
        if (!edxbus_json_number(v, &d))
            return mismatch(c, node, v);
        /* Python's struct.pack('<f') refuses a finite value a float cannot hold; so do we
         * (NaN and the infinities it packs) */
        if (isfinite(d) && fabs(d) > FLT_MAX) {
            char got[96];
            describe(v, got, sizeof got);
            return enc_fail(c, "%s is out of float range", got);
        }
        edxbus__put_float_le(raw, (float)d);
        return put_raw(c, raw, 4);
    case EDXBUS_AVRO_DOUBLE:
        if (!edxbus_json_number(v, &d))
            return mismatch(c, node, v);
        edxbus__put_double_le(raw, d);
        return put_raw(c, raw, 8);
    case EDXBUS_AVRO_STRING:
        if (!json_is_string(v))
            return mismatch(c, node, v);
        return encode_string(c, v, checked);
    case EDXBUS_AVRO_BYTES:
        if (!json_is_string(v))
            return mismatch(c, node, v);
        n = latin1_len(v);
        if (n == (size_t)-1)
            return enc_fail(c, "bytes must be a string of code points 0-255 (one per byte)");
        err = put_long(c, (int64_t)n);
        return err == EDXBUS_OK ? put_latin1(c, v, n) : err;
    case EDXBUS_AVRO_FIXED:
        if (!json_is_string(v))
            return mismatch(c, node, v);
        n = latin1_len(v);
        if (n != node->u.fixed.size)
            return enc_fail(c, "fixed %s needs a string of exactly %zu code points 0-255",
                            node->name ? node->name : "", node->u.fixed.size);
        return put_latin1(c, v, n);
    case EDXBUS_AVRO_ENUM:
        if (!json_is_string(v))
            return mismatch(c, node, v);
        if (!enum_index(node, v, &n)) {
            char q[64];
            quote(json_string_value(v), json_string_length(v), q, sizeof q);
            return enc_fail(c, "%s is not a symbol of enum %s", q, node->name ? node->name : "");
        }
        return put_long(c, (int64_t)n);
    case EDXBUS_AVRO_UNION:
        n = pick_branch(node, v);
        if (n == SIZE_MAX)
            return mismatch(c, node, v);
        err = put_long(c, (int64_t)n);
        return err == EDXBUS_OK ? encode_value(c, node->u.uni.branches[n], v, checked) : err;
    case EDXBUS_AVRO_RECORD:
    case EDXBUS_AVRO_ARRAY:
    case EDXBUS_AVRO_MAP:
        if (c->depth >= EDXBUS_AVRO_MAX_DEPTH)
            return enc_fail(c, "nesting deeper than %d", EDXBUS_AVRO_MAX_DEPTH);
        c->depth++;
        if (node->type == EDXBUS_AVRO_RECORD)
            err = encode_record(c, node, v);
        else if (node->type == EDXBUS_AVRO_ARRAY)
            err = encode_array(c, node, v);
        else
            err = encode_map(c, node, v);
        c->depth--;
        return err;
    }
    return enc_fail(c, "unknown type %d in schema", (int)node->type);
}

edxbus_err_t edxbus_avro_encode(const edxbus_avro_schema_t *schema, const json_t *value,
                                unsigned flags, struct edxbus_buf *out, char *errstr,
                                size_t errstr_size)
{
    if (schema == NULL || value == NULL || out == NULL)
        return EDXBUS_ERR_INVALID_ARG;
    /* member by member: an initializer would zero the whole path, 2 KB, on every call */
    struct enc_ctx c;
    c.out = out;
    c.flags = flags;
    c.depth = 0;
    c.path.n = 0;
    c.errstr = errstr;
    c.errstr_size = errstr_size;
    if (errstr != NULL && errstr_size > 0)
        errstr[0] = '\0';
    size_t len0 = out->len;
    edxbus_err_t err = encode_value(&c, schema->root, value, NULL);
    if (err == EDXBUS_ERR_ENCODE)
        fail_finish(&c);
    if (err != EDXBUS_OK)
        out->len = len0;
    return err;
}
