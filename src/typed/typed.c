/* src/typed/typed.c — the out-of-line half of the typed codecs' primitives (typed_int.h): error
 * messages, the slow paths of the reads, list growth, map key uniqueness, and the plain-JSON
 * conversions of single values. The generated files (typed_encode.c, typed_decode.c,
 * typed_json.c in the build tree) hold one straight-line function per event and call these.
 *
 * The rules are the generic codecs' (src/avro/encode.c, decode.c), so that a typed and a
 * generic run over the same event agree on bytes, on values and on what is refused: strings
 * are UTF-8, doubles any (NaN and the infinities as json.h's markers in JSON), maps without repeated keys, counts bounded by the bytes left, and
 * custom-typed strings pass the catalog's checks unless EDXBUS_AVRO_NO_CHECKS.
 */
#include "typed/typed_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "avro/reader.h"

void edxbus__typed_path(const char *tmpl, const struct edxbus__typed_where *where, char *out,
                        size_t size)
{
    size_t n = 0, level = 0;
    if (size == 0)
        return;
    for (const char *p = tmpl; *p != '\0' && n + 1 < size; p++) {
        int w = 0;
        if ((p[0] == '[' && p[1] == ']') || (p[0] == '{' && p[1] == '}')) {
            if (level < EDXBUS__TYPED_MAX_NEST && p[0] == '{' && where->key[level] != NULL) {
                char key[41];
                size_t k = where->keylen[level] < 40 ? where->keylen[level] : 40;
                for (size_t j = 0; j < k; j++) {
                    unsigned char c = (unsigned char)where->key[level][j];
                    key[j] = (c < 0x20 || c == '"' || c == '\\') ? '?' : (char)c;
                }
                key[k] = '\0';
                w = snprintf(out + n, size - n, "[\"%s%s\"]", key,
                             where->keylen[level] > 40 ? "..." : "");
            } else if (level < EDXBUS__TYPED_MAX_NEST) {
                w = snprintf(out + n, size - n, "[%lld]", (long long)where->idx[level]);
            }
            level++;
            p++;
        } else {
            out[n] = *p;
            w = 1;
        }
        if (w < 0)
            break;
        n += (size_t)w < size - n ? (size_t)w : size - n - 1;
    }
    out[n] = '\0';
}

/* ---------------------------------------------------------------------------------------------
 * Encoding
 * ------------------------------------------------------------------------------------------- */

edxbus_err_t edxbus__tenc_fail(struct edxbus__tenc *e, edxbus_err_t err, const char *path,
                               const char *fmt, ...)
{
    e->out->len = e->start;
    if (e->errstr == NULL || e->errstr_size == 0)
        return err;
    char msg[200], where[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    edxbus__typed_path(path, &e->where, where, sizeof where);
    if (where[0] != '\0')
        snprintf(e->errstr, e->errstr_size, "%s: %s", where, msg);
    else
        snprintf(e->errstr, e->errstr_size, "%s", msg);
    return err;
}

/* A short quoted excerpt of @p s for messages: at most 40 bytes, controls and non-ASCII '?'. */
static void quote(struct edxbus_str s, char *out, size_t size)
{
    char tmp[48];
    size_t k = s.len < 40 ? s.len : 40;
    for (size_t i = 0; i < k; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        tmp[i] = (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') ? '?' : (char)c;
    }
    tmp[k] = '\0';
    snprintf(out, size, "\"%s%s\"", tmp, s.len > 40 ? "..." : "");
}

edxbus_err_t edxbus__tenc_check_str_slow(struct edxbus__tenc *e, struct edxbus_str s,
                                         const char *path)
{
    if (s.ptr == NULL && s.len != 0)
        return edxbus__tenc_fail(e, EDXBUS_ERR_ENCODE, path, "string of %zu bytes at NULL",
                                 s.len);
    if (s.len > (size_t)INT64_MAX / 2)
        return edxbus__tenc_fail(e, EDXBUS_ERR_ENCODE, path, "string of %zu bytes is too long",
                                 s.len);
    if (s.len == 0)
        return EDXBUS_OK;
    size_t bad = edxbus__utf8_check((const uint8_t *)s.ptr, s.len);
    if (bad != s.len)
        return edxbus__tenc_fail(e, EDXBUS_ERR_ENCODE, path,
                                 "invalid UTF-8 at byte %zu of the string", bad);
    return EDXBUS_OK;
}

edxbus_err_t edxbus__tenc_check(struct edxbus__tenc *e, enum edxbus__check kind,
                                struct edxbus_str s, const char *path)
{
    if (e->flags & EDXBUS_AVRO_NO_CHECKS)
        return EDXBUS_OK;
    edxbus_avro_check_fn fn = edxbus__check_fn(kind);
    char why[128] = "";
    if (fn == NULL || fn(s.ptr != NULL ? s.ptr : "", s.len, why, sizeof why))
        return EDXBUS_OK;
    char q[64];
    quote(s, q, sizeof q);
    return edxbus__tenc_fail(e, EDXBUS_ERR_ENCODE, path, "%s is not a valid %s: %s", q,
                             edxbus__check_name(kind), why);
}

/* ---------------------------------------------------------------------------------------------
 * Decoding
 * ------------------------------------------------------------------------------------------- */

edxbus_err_t edxbus__tdec_fail(struct edxbus__tdec *d, edxbus_err_t err, const uint8_t *at,
                               const char *path, const char *fmt, ...)
{
    if (d->errstr == NULL || d->errstr_size == 0)
        return err;
    char msg[200], where[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (err == EDXBUS_ERR_NOMEM) {
        snprintf(d->errstr, d->errstr_size, "avro: out of memory");
        return err;
    }
    edxbus__typed_path(path, &d->where, where, sizeof where);
    size_t off = (size_t)(at - d->start);
    if (where[0] != '\0')
        snprintf(d->errstr, d->errstr_size, "avro: byte %zu: %s in field \"%s\"", off, msg, where);
    else
        snprintf(d->errstr, d->errstr_size, "avro: byte %zu: %s", off, msg);
    return err;
}

static edxbus_err_t read_long(struct edxbus__tdec *d, int64_t *out, const char *path,
                              const char *what)
{
    size_t used;
    edxbus_varint_status_t st = edxbus__varint_get(d->p, d->end, out, &used);
    if (st == EDXBUS_VARINT_TRUNCATED)
        return edxbus__tdec_fail(d, EDXBUS_ERR_DECODE, d->p, path, "truncated %s", what);
    if (st != EDXBUS_VARINT_OK)
        return edxbus__tdec_fail(d, EDXBUS_ERR_DECODE, d->p, path,
                                 "overlong or overflowing varint in %s", what);
    d->p += used;
    return EDXBUS_OK;
}

edxbus_err_t edxbus__tdec_long_slow(struct edxbus__tdec *d, int64_t *out, const char *path)
{
    return read_long(d, out, path, "long");
}

edxbus_err_t edxbus__tdec_str_slow(struct edxbus__tdec *d, struct edxbus_str *out,
                                   const char *path)
{
    const uint8_t *at = d->p;
    int64_t n;
    EDXBUS__TRY(read_long(d, &n, path, "string length"));
    if (n < 0) {
        d->p = at;
        return edxbus__tdec_fail(d, EDXBUS_ERR_DECODE, at, path, "negative string length %lld",
                                 (long long)n);
    }
    if ((uint64_t)n > (uint64_t)(d->end - d->p)) {
        size_t left = (size_t)(d->end - d->p);
        d->p = at;
        return edxbus__tdec_fail(d, EDXBUS_ERR_DECODE, at, path,
                                 "string length %lld exceeds the %zu bytes left", (long long)n,
                                 left);
    }
    size_t bad = edxbus__utf8_check(d->p, (size_t)n);
    if (bad != (size_t)n) {
        const uint8_t *where = d->p + bad;
        d->p = at;
        return edxbus__tdec_fail(d, EDXBUS_ERR_DECODE, where, path, "invalid UTF-8 in string");
    }
    out->ptr = (const char *)d->p;
    out->len = (size_t)n;
    d->p += n;
    return EDXBUS_OK;
}

edxbus_err_t edxbus__tdec_block(struct edxbus__tdec *d, uint64_t *count, size_t min_item_bytes,
                                uint64_t *total, const char *path)
{
    const uint8_t *at = d->p;
    int64_t c;
    EDXBUS__TRY(read_long(d, &c, path, "block count"));
    if (c < 0) {
        int64_t bytes;
        if (c == INT64_MIN)
            return edxbus__tdec_fail(d, EDXBUS_ERR_DECODE, at, path, "block count out of range");
        c = -c;
        const uint8_t *size_at = d->p;
        EDXBUS__TRY(read_long(d, &bytes, path, "block size"));
        /* the size is not used, but a size the input cannot hold is refused, as the generic
         * decoder does, so both agree on every input */
        if (bytes < 0 || (uint64_t)bytes > (uint64_t)(d->end - d->p))
            return edxbus__tdec_fail(d, EDXBUS_ERR_DECODE, size_at, path,
                                     "block size %lld does not fit the %zu bytes left",
                                     (long long)bytes, (size_t)(d->end - d->p));
    }
    uint64_t u = (uint64_t)c;
    if (min_item_bytes == 0) {
        if (u > EDXBUS_AVRO_MAX_EMPTY_ITEMS || *total + u > EDXBUS_AVRO_MAX_EMPTY_ITEMS)
            return edxbus__tdec_fail(d, EDXBUS_ERR_DECODE, at, path,
                                     "block count %llu exceeds the limit of %u empty items",
                                     (unsigned long long)u, EDXBUS_AVRO_MAX_EMPTY_ITEMS);
    } else if (u > (uint64_t)(d->end - d->p) / min_item_bytes) {
        return edxbus__tdec_fail(d, EDXBUS_ERR_DECODE, at, path,
                                 "block count %llu exceeds the %zu bytes left",
                                 (unsigned long long)u, (size_t)(d->end - d->p));
    }
    *total += u;
    *count = u;
    return EDXBUS_OK;
}

void *edxbus__tdec_grow(struct edxbus__tdec *d, void *items, size_t n, uint64_t more, size_t size,
                        const char *path)
{
    /* more is bounded by the bytes left (edxbus__tdec_block), so this cannot overflow */
    size_t total = n + (size_t)more;
    void *grown = edxbus_arena_alloc(d->arena, total * size);
    if (grown == NULL) {
        edxbus__tdec_fail(d, EDXBUS_ERR_NOMEM, d->p, path, "out of memory");
        return NULL;
    }
    if (n != 0)
        memcpy(grown, items, n * size);
    return grown;
}

static int cmp_keys(const void *a, const void *b)
{
    const struct edxbus_str *x = *(const struct edxbus_str *const *)a;
    const struct edxbus_str *y = *(const struct edxbus_str *const *)b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = n != 0 ? memcmp(x->ptr, y->ptr, n) : 0;
    if (c != 0)
        return c;
    return x->len < y->len ? -1 : x->len > y->len;
}

edxbus_err_t edxbus__tdec_unique_keys(struct edxbus__tdec *d, const void *entries, size_t n,
                                      size_t size, const uint8_t *at, const char *path)
{
    const uint8_t *base = entries;
    const struct edxbus_str *dup = NULL;
    if (n < 2)
        return EDXBUS_OK;
    if (n <= 8) {
        for (size_t i = 0; i < n && dup == NULL; i++) {
            const struct edxbus_str *a = (const struct edxbus_str *)(base + i * size);
            for (size_t j = i + 1; j < n; j++) {
                const struct edxbus_str *b = (const struct edxbus_str *)(base + j * size);
                if (cmp_keys(&a, &b) == 0) {
                    dup = a;
                    break;
                }
            }
        }
    } else {
        const struct edxbus_str **keys = edxbus_arena_alloc(d->arena, n * sizeof *keys);
        if (keys == NULL)
            return edxbus__tdec_fail(d, EDXBUS_ERR_NOMEM, at, path, "out of memory");
        for (size_t i = 0; i < n; i++)
            keys[i] = (const struct edxbus_str *)(base + i * size);
        qsort(keys, n, sizeof *keys, cmp_keys);
        for (size_t i = 1; i < n && dup == NULL; i++) {
            if (cmp_keys(&keys[i - 1], &keys[i]) == 0)
                dup = keys[i];
        }
    }
    if (dup == NULL)
        return EDXBUS_OK;
    char q[64];
    quote(*dup, q, sizeof q);
    return edxbus__tdec_fail(d, EDXBUS_ERR_DECODE, at, path, "map repeats the key %s", q);
}

/* ---------------------------------------------------------------------------------------------
 * The plain JSON form
 * ------------------------------------------------------------------------------------------- */

edxbus_err_t edxbus__tjson_fail(struct edxbus__tjson *t, edxbus_err_t err, const char *fmt, ...)
{
    if (t->errstr == NULL || t->errstr_size == 0)
        return err;
    char msg[200], path[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    size_t n = 0;
    path[0] = '\0';
    for (size_t i = 0; i < t->n && n + 1 < sizeof path; i++) {
        int w;
        if (t->seg[i] != NULL)
            w = snprintf(path + n, sizeof path - n, "%s%s", n == 0 ? "" : ".", t->seg[i]);
        else if (t->key[i] != NULL)
            w = snprintf(path + n, sizeof path - n, "[\"%.*s\"]",
                         (int)(t->keylen[i] < 40 ? t->keylen[i] : 40), t->key[i]);
        else
            w = snprintf(path + n, sizeof path - n, "[%lld]", (long long)t->idx[i]);
        if (w < 0)
            break;
        n += (size_t)w < sizeof path - n ? (size_t)w : sizeof path - n - 1;
    }
    if (path[0] != '\0')
        snprintf(t->errstr, t->errstr_size, "%s: %s", path, msg);
    else
        snprintf(t->errstr, t->errstr_size, "%s", msg);
    return err;
}

static const char *kind(const json_t *j)
{
    switch (json_typeof(j)) {
    case JSON_OBJECT:
        return "object";
    case JSON_ARRAY:
        return "array";
    case JSON_STRING:
        return "string";
    case JSON_INTEGER:
        return "integer";
    case JSON_REAL:
        return "real";
    case JSON_TRUE:
    case JSON_FALSE:
        return "boolean";
    case JSON_NULL:
        return "null";
    }
    return "value";
}

edxbus_err_t edxbus__tjson_record(struct edxbus__tjson *t, const json_t *j,
                                  const char *const *names, size_t n)
{
    if (!json_is_object(j))
        return edxbus__tjson_fail(t, EDXBUS_ERR_ENCODE, "expected a record (object), got %s",
                                  kind(j));
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)j, key, v)
    {
        size_t i = 0;
        while (i < n && strcmp(names[i], key) != 0)
            i++;
        if (i == n)
            return edxbus__tjson_fail(t, EDXBUS_ERR_ENCODE, "unknown field \"%s\"", key);
    }
    return EDXBUS_OK;
}

edxbus_err_t edxbus__tjson_required(struct edxbus__tjson *t, const json_t *j)
{
    if (j == NULL)
        return edxbus__tjson_fail(t, EDXBUS_ERR_ENCODE, "missing (the field has no default)");
    if (json_is_null(j))
        return edxbus__tjson_fail(t, EDXBUS_ERR_ENCODE, "null where a value is required");
    return EDXBUS_OK;
}

edxbus_err_t edxbus__tjson_long(struct edxbus__tjson *t, const json_t *j, int64_t *out)
{
    EDXBUS__TRY(edxbus__tjson_required(t, j));
    if (!json_is_integer(j))
        return edxbus__tjson_fail(t, EDXBUS_ERR_ENCODE, "expected long, got %s", kind(j));
    *out = (int64_t)json_integer_value(j);
    return EDXBUS_OK;
}

edxbus_err_t edxbus__tjson_bool(struct edxbus__tjson *t, const json_t *j, bool *out)
{
    EDXBUS__TRY(edxbus__tjson_required(t, j));
    if (!json_is_boolean(j))
        return edxbus__tjson_fail(t, EDXBUS_ERR_ENCODE, "expected boolean, got %s", kind(j));
    *out = json_is_true(j);
    return EDXBUS_OK;
}

edxbus_err_t edxbus__tjson_double(struct edxbus__tjson *t, const json_t *j, double *out)
{
    EDXBUS__TRY(edxbus__tjson_required(t, j));
    if (!edxbus_json_number(j, out)) /* NaN and the infinities as json.h's marker */
        return edxbus__tjson_fail(t, EDXBUS_ERR_ENCODE, "expected double, got %s", kind(j));
    return EDXBUS_OK;
}

edxbus_err_t edxbus__tjson_str(struct edxbus__tjson *t, const json_t *j, struct edxbus_str *out)
{
    EDXBUS__TRY(edxbus__tjson_required(t, j));
    if (!json_is_string(j))
        return edxbus__tjson_fail(t, EDXBUS_ERR_ENCODE, "expected string, got %s", kind(j));
    out->ptr = json_string_value(j);
    out->len = json_string_length(j);
    return EDXBUS_OK;
}

edxbus_err_t edxbus__tjson_items(struct edxbus__tjson *t, const json_t *j, bool map, size_t size,
                                 void **items, size_t *n)
{
    EDXBUS__TRY(edxbus__tjson_required(t, j));
    if (map ? !json_is_object(j) : !json_is_array(j))
        return edxbus__tjson_fail(t, EDXBUS_ERR_ENCODE, "expected %s, got %s",
                                  map ? "map (object)" : "array", kind(j));
    *n = map ? json_object_size(j) : json_array_size(j);
    *items = edxbus_arena_alloc(t->arena, *n * size);
    if (*items == NULL)
        return edxbus__tjson_fail(t, EDXBUS_ERR_NOMEM, "out of memory");
    return EDXBUS_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Descriptors
 * ------------------------------------------------------------------------------------------- */

size_t edxbus_typed_count(void)
{
    return edxbus__typed_nevents;
}

const struct edxbus_typed_event *edxbus_typed_at(size_t i)
{
    return i < edxbus__typed_nevents ? edxbus__typed_events[i] : NULL;
}

const struct edxbus_typed_event *edxbus_typed_find(const char *event_type)
{
    size_t lo = 0, hi = edxbus__typed_nevents;
    if (event_type == NULL)
        return NULL;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(edxbus__typed_events[mid]->event_type, event_type);
        if (c == 0)
            return edxbus__typed_events[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}
