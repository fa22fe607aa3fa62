/* src/typed/typed_int.h — the primitives the generated typed codecs (typed_*.c in the build
 * tree, written by tools/typed_gen.c) are made of. Only src/typed/ includes it.
 *
 * Encoder: the generated code sums the bytes a run of fields can take, reserves them once, then
 * writes through a bare pointer `w` with the inline writers below; a list or map ends the run
 * (its items reserve their own). The checks ride along without a test per field: each string's
 * copy ORs its bytes into a sticky `hi` (non-ASCII shows in the top bits), and the custom-type
 * checks (their inline fast paths, catalog/checks_fast.h) and sane pointers AND
 * into a sticky `ok`. One test at the end of the run; only when it fires are the run's fields
 * checked again one by one, in schema order, which words the first failure exactly as a
 * field-by-field encoder would (or finds valid non-ASCII UTF-8 and carries on).
 *
 * Decoder: one bounds-checked read per field from a cursor; every read takes the field's path
 * as a template ("enrollment.user.id", "contexts[].usage_key": `[]` a list index, `{}` a map
 * key) that is only expanded, with the indexes and keys the loops record in idx[]/key[], when a
 * read fails. So the hot path carries no path bookkeeping beyond one store per list item.
 *
 * Messages follow the generic codecs: `avro: byte N: <what> in field "<path>"` for decoding,
 * `<path>: <what>` for encoding and JSON conversion.
 */
#ifndef EDXBUS_TYPED_INT_H
#define EDXBUS_TYPED_INT_H

#include <math.h>
#include <string.h>

#include "avro/binary.h"
#include "edxbus/json.h"
#include "catalog/catalog_int.h"
#include "catalog/checks_fast.h"
#include "edxbus/events.h"

/** Deepest nesting of lists and maps in a payload class (the catalog has 2; the generator
 *  refuses more). */
#define EDXBUS__TYPED_MAX_NEST 8

#define EDXBUS__TRY(expr)                                                                          \
    do {                                                                                           \
        edxbus_err_t err_ = (expr);                                                                \
        if (err_ != EDXBUS_OK)                                                                     \
            return err_;                                                                           \
    } while (0)

/** Every event with a typed codec, sorted by event type (generated: typed_json.c). */
extern const struct edxbus_typed_event *const edxbus__typed_events[];
extern const size_t edxbus__typed_nevents;

/** Where a failing field sits, for messages: the template and the loop positions. */
struct edxbus__typed_where {
    int64_t idx[EDXBUS__TYPED_MAX_NEST];     /* list index at each nesting level */
    const char *key[EDXBUS__TYPED_MAX_NEST]; /* map key at each level (NULL: a list) */
    size_t keylen[EDXBUS__TYPED_MAX_NEST];
};

/** Expand @p tmpl with @p where into @p out (always terminated). */
void edxbus__typed_path(const char *tmpl, const struct edxbus__typed_where *where, char *out,
                        size_t size);

/* ---------------------------------------------------------------------------------------------
 * Encoding
 * ------------------------------------------------------------------------------------------- */

struct edxbus__tenc {
    struct edxbus_buf *out;
    size_t start; /* out->len on entry: restored on failure */
    unsigned flags;
    struct edxbus__typed_where where;
    char *errstr;
    size_t errstr_size;
};

/** Record a failure at @p path: restores out->len, writes `<path>: <what>`, returns @p err. */
edxbus_err_t edxbus__tenc_fail(struct edxbus__tenc *e, edxbus_err_t err, const char *path,
                               const char *fmt, ...) __attribute__((format(printf, 4, 5), cold));

/** Make room for @p need more bytes. */
static inline edxbus_err_t edxbus__tenc_reserve(struct edxbus__tenc *e, size_t need)
{
    struct edxbus_buf *out = e->out;
    if (out->cap - out->len >= need)
        return EDXBUS_OK;
    if (edxbus_buf_reserve(out, need) != EDXBUS_OK)
        return edxbus__tenc_fail(e, EDXBUS_ERR_NOMEM, "", "out of memory");
    return EDXBUS_OK;
}

/* The primitives the generated code calls per field are forced inline: an event's encoder or
 * decoder is one long function, and GCC otherwise stops inlining them partway through it. */
#define EDXBUS__TYPED_HOT static inline __attribute__((always_inline))

/** The high bit of every byte of a word: a word ANDed with it is 0 when all 8 bytes are ASCII. */
#define EDXBUS__TYPED_HI8 0x8080808080808080ull

EDXBUS__TYPED_HOT uint8_t *edxbus__tenc_long(uint8_t *w, int64_t n)
{
    return w + edxbus__varint_put(w, n);
}

EDXBUS__TYPED_HOT uint8_t *edxbus__tenc_bool(uint8_t *w, bool b)
{
    *w = b ? 1 : 0;
    return w + 1;
}

/** Any double, NaN and the infinities included (Python writes them; they read back as json.h's
 *  markers). */
EDXBUS__TYPED_HOT uint8_t *edxbus__tenc_double(uint8_t *w, double d)
{
    edxbus__put_double_le(w, d);
    return w + 8;
}

/** Write @p s (length, bytes) at @p w and fold what validating it needs into the run's sticky
 *  state: *@p hi collects the bytes' high bits (non-zero: not all ASCII, so the run's UTF-8 is
 *  checked properly afterwards), *@p ok turns false for a NULL with a length or a length past
 *  int64 (nothing is read from it). The copy and the ASCII test are one pass, in 16- or 8-byte
 *  pieces that overlap at the end instead of a byte loop; nothing past w + the string's bytes
 *  is written.
 *  The generated code tests *@p hi and *@p ok once per run of fields, and only when they say
 *  so re-checks the run field by field for the message (edxbus__tenc_check_str_slow()…). */
EDXBUS__TYPED_HOT uint8_t *edxbus__tenc_str(uint8_t *w, struct edxbus_str s, uint64_t *hi, bool *ok)
{
    const uint8_t *p = (const uint8_t *)s.ptr;
    size_t n = s.len;
    bool good = (p != NULL || n == 0) && n <= (size_t)INT64_MAX / 2;
    *ok &= good;
    if (!good)
        n = 0; /* a failure for sure: write a length, read nothing */
    if (n < 64)
        *w++ = (uint8_t)(n << 1); /* the zig-zag varint of a short length is one byte */
    else
        w += edxbus__varint_put(w, (int64_t)n);
    uint64_t acc = 0;
    if (n >= 16) {
        size_t i = 0;
        for (; i + 16 < n; i += 16) {
            uint64_t x[2];
            memcpy(x, p + i, 16);
            memcpy(w + i, x, 16);
            acc |= x[0] | x[1];
        }
        uint64_t x[2];
        memcpy(x, p + n - 16, 16);
        memcpy(w + n - 16, x, 16);
        acc |= x[0] | x[1];
    } else if (n >= 8) {
        uint64_t x, y;
        memcpy(&x, p, 8);
        memcpy(&y, p + n - 8, 8);
        memcpy(w, &x, 8);
        memcpy(w + n - 8, &y, 8);
        acc = x | y;
    } else if (n >= 4) {
        uint32_t x, y;
        memcpy(&x, p, 4);
        memcpy(&y, p + n - 4, 4);
        memcpy(w, &x, 4);
        memcpy(w + n - 4, &y, 4);
        acc = x | y;
    } else if (n != 0) {
        uint8_t x = p[0], y = p[n / 2], z = p[n - 1];
        w[0] = x;
        w[n / 2] = y;
        w[n - 1] = z;
        acc = (uint64_t)(x | y | z);
    }
    *hi |= acc;
    return w + n;
}

/** Whether @p s passes the catalog's check @p kind (no message; the run's re-check words it).
 *  The generated code calls it only when the checks are on, with a constant @p kind, so the
 *  switch folds away: the fast paths of the checks every enrollment-like event runs are inline
 *  (catalog/checks_fast.h), the rest and anything they do not recognise are a call. */
EDXBUS__TYPED_HOT bool edxbus__tenc_check_ok(enum edxbus__check kind, struct edxbus_str s)
{
    if (s.ptr == NULL) /* a NULL with a length already failed *ok; read nothing from it */
        return edxbus__check_fns[kind]("", 0, NULL, 0);
    switch (kind) {
    case EDXBUS__CHECK_DATETIME:
        if (edxbus__datetime_fast(s.ptr, s.len))
            return true;
        break;
    case EDXBUS__CHECK_COURSE_KEY:
        if (edxbus__course_key_fast(s.ptr, s.len))
            return true;
        break;
    default:
        break;
    }
    return edxbus__check_fns[kind](s.ptr, s.len, NULL, 0);
}

/** Whether a run's sticky state says something is wrong or not ASCII (then the run is checked
 *  again field by field, which words the first failure or finds valid non-ASCII UTF-8). */
EDXBUS__TYPED_HOT bool edxbus__tenc_run_suspect(uint64_t hi, bool ok)
{
    return __builtin_expect(((hi & EDXBUS__TYPED_HI8) != 0) | !ok, 0);
}

edxbus_err_t edxbus__tenc_check_str_slow(struct edxbus__tenc *e, struct edxbus_str s,
                                         const char *path) __attribute__((cold));

/** Check that @p s is a string the generic path could carry: UTF-8, and no NULL with a length
 *  (or longer than int64). The slow, wording half of edxbus__tenc_str()'s test. */
static inline edxbus_err_t edxbus__tenc_check_str(struct edxbus__tenc *e, struct edxbus_str s,
                                                  const char *path)
{
    return edxbus__tenc_check_str_slow(e, s, path);
}

/** Run the catalog's check @p kind on @p s unless EDXBUS_AVRO_NO_CHECKS; words the failure. */
edxbus_err_t edxbus__tenc_check(struct edxbus__tenc *e, enum edxbus__check kind,
                                struct edxbus_str s, const char *path) __attribute__((cold));

/** A list or map longer than the items it has memory for is refused rather than read past. */
static inline edxbus_err_t edxbus__tenc_check_items(struct edxbus__tenc *e, const void *items,
                                                    size_t len, const char *path)
{
    if (len == 0 || items != NULL)
        return EDXBUS_OK;
    return edxbus__tenc_fail(e, EDXBUS_ERR_ENCODE, path, "%zu items but no item storage", len);
}

/* ---------------------------------------------------------------------------------------------
 * Decoding
 * ------------------------------------------------------------------------------------------- */

struct edxbus__tdec {
    const uint8_t *start, *p, *end;
    struct edxbus_arena *arena;
    struct edxbus__typed_where where;
    char *errstr;
    size_t errstr_size;
};

static inline void edxbus__tdec_init(struct edxbus__tdec *d, const uint8_t *data, size_t len,
                                     struct edxbus_arena *arena, char *errstr, size_t errstr_size)
{
    static const uint8_t none[1];
    if (data == NULL)
        data = none;
    d->start = data;
    d->p = data;
    d->end = data + len;
    d->arena = arena;
    d->errstr = errstr;
    d->errstr_size = errstr_size;
}

/** Write `avro: byte N: <what> in field "<path>"` and return @p err. */
edxbus_err_t edxbus__tdec_fail(struct edxbus__tdec *d, edxbus_err_t err, const uint8_t *at,
                               const char *path, const char *fmt, ...)
    __attribute__((format(printf, 5, 6), cold));

edxbus_err_t edxbus__tdec_long_slow(struct edxbus__tdec *d, int64_t *out, const char *path);

EDXBUS__TYPED_HOT edxbus_err_t edxbus__tdec_long(struct edxbus__tdec *d, int64_t *out,
                                                 const char *path)
{
    if (d->p < d->end && d->p[0] < 0x80) {
        *out = edxbus__zigzag_decode(d->p[0]);
        d->p++;
        return EDXBUS_OK;
    }
    return edxbus__tdec_long_slow(d, out, path);
}

EDXBUS__TYPED_HOT edxbus_err_t edxbus__tdec_bool(struct edxbus__tdec *d, bool *out,
                                                 const char *path)
{
    if (d->p < d->end && d->p[0] <= 1) {
        *out = d->p[0] != 0;
        d->p++;
        return EDXBUS_OK;
    }
    if (d->p >= d->end)
        return edxbus__tdec_fail(d, EDXBUS_ERR_DECODE, d->p, path, "truncated boolean");
    return edxbus__tdec_fail(d, EDXBUS_ERR_DECODE, d->p, path, "boolean byte 0x%02x is not 0 or 1",
                             d->p[0]);
}

EDXBUS__TYPED_HOT edxbus_err_t edxbus__tdec_double(struct edxbus__tdec *d, double *out,
                                                   const char *path)
{
    if ((size_t)(d->end - d->p) < 8)
        return edxbus__tdec_fail(d, EDXBUS_ERR_DECODE, d->p, path,
                                 "truncated double: needs 8 bytes, %zu left",
                                 (size_t)(d->end - d->p));
    *out = edxbus__get_double_le(d->p); /* NaN and the infinities included */
    d->p += 8;
    return EDXBUS_OK;
}

edxbus_err_t edxbus__tdec_str_slow(struct edxbus__tdec *d, struct edxbus_str *out,
                                   const char *path);

/** A string: length, then that many bytes of UTF-8, borrowed from the input. */
EDXBUS__TYPED_HOT edxbus_err_t edxbus__tdec_str(struct edxbus__tdec *d, struct edxbus_str *out,
                                                const char *path)
{
    /* fast path: a one-byte length and ASCII text, tested in pieces that overlap at the end
     * (no byte loop); anything else is the slow path, which also words the failure */
    if (d->p < d->end && d->p[0] < 0x80 && !(d->p[0] & 1)) {
        size_t n = d->p[0] >> 1;
        const uint8_t *s = d->p + 1;
        if ((size_t)(d->end - s) >= n) {
            uint64_t acc = 0;
            if (n >= 8) {
                for (size_t i = 0; i + 8 < n; i += 8) {
                    uint64_t x;
                    memcpy(&x, s + i, 8);
                    acc |= x;
                }
                uint64_t x;
                memcpy(&x, s + n - 8, 8);
                acc |= x;
            } else if (n >= 4) {
                uint32_t x, y;
                memcpy(&x, s, 4);
                memcpy(&y, s + n - 4, 4);
                acc = x | y;
            } else if (n != 0) {
                acc = (uint64_t)(s[0] | s[n / 2] | s[n - 1]);
            }
            if ((acc & EDXBUS__TYPED_HI8) == 0) {
                out->ptr = (const char *)s;
                out->len = n;
                d->p = s + n;
                return EDXBUS_OK;
            }
        }
    }
    return edxbus__tdec_str_slow(d, out, path);
}

/** The branch of a ["null", T] union: false for null, true for T. */
EDXBUS__TYPED_HOT edxbus_err_t edxbus__tdec_branch(struct edxbus__tdec *d, bool *present,
                                                   const char *path)
{
    if (d->p < d->end && (d->p[0] == 0 || d->p[0] == 2)) {
        *present = d->p[0] == 2;
        d->p++;
        return EDXBUS_OK;
    }
    const uint8_t *at = d->p;
    int64_t b;
    EDXBUS__TRY(edxbus__tdec_long(d, &b, path));
    if (b == 0 || b == 1) { /* a legal but overlong varint */
        *present = b == 1;
        return EDXBUS_OK;
    }
    return edxbus__tdec_fail(d, EDXBUS_ERR_DECODE, at, path,
                             "union branch %lld out of range (2 branches)", (long long)b);
}

/** The next block header of a list or map: *@p count items follow (0: the end). Items take at
 *  least @p min_item_bytes each, which bounds the count by the bytes left. */
edxbus_err_t edxbus__tdec_block(struct edxbus__tdec *d, uint64_t *count, size_t min_item_bytes,
                                uint64_t *total, const char *path);

/** Grow the item array @p items (@p n items of @p size bytes, in the arena) by @p more items.
 *  Returns the new array, or NULL (error recorded) when out of memory. */
void *edxbus__tdec_grow(struct edxbus__tdec *d, void *items, size_t n, uint64_t more, size_t size,
                        const char *path);

/** Refuse a map whose decoded @p n entries (each @p size bytes, a struct edxbus_str key first)
 *  repeat a key, as the generic decoder does (a JSON object cannot hold it twice). */
edxbus_err_t edxbus__tdec_unique_keys(struct edxbus__tdec *d, const void *entries, size_t n,
                                      size_t size, const uint8_t *at, const char *path);

/** Fail when bytes are left over. */
static inline edxbus_err_t edxbus__tdec_finish(struct edxbus__tdec *d)
{
    if (d->p == d->end)
        return EDXBUS_OK;
    return edxbus__tdec_fail(d, EDXBUS_ERR_DECODE, d->p, "", "%zu trailing bytes after the value",
                             (size_t)(d->end - d->p));
}

/* ---------------------------------------------------------------------------------------------
 * The plain JSON form
 * ------------------------------------------------------------------------------------------- */

/** A from_json walk: the path is kept as a stack of segments (not speed-critical). */
struct edxbus__tjson {
    struct edxbus_arena *arena;
    const char *seg[64]; /* field name, or NULL for an index/key segment */
    int64_t idx[64];
    const char *key[64];
    size_t keylen[64];
    size_t n;
    char *errstr;
    size_t errstr_size;
};

edxbus_err_t edxbus__tjson_fail(struct edxbus__tjson *t, edxbus_err_t err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), cold));

static inline void edxbus__tjson_push(struct edxbus__tjson *t, const char *field)
{
    t->seg[t->n] = field;
    t->key[t->n] = NULL;
    t->n++;
}

static inline void edxbus__tjson_push_index(struct edxbus__tjson *t, size_t i)
{
    t->seg[t->n] = NULL;
    t->key[t->n] = NULL;
    t->idx[t->n] = (int64_t)i;
    t->n++;
}

static inline void edxbus__tjson_push_key(struct edxbus__tjson *t, const char *key, size_t len)
{
    t->seg[t->n] = NULL;
    t->key[t->n] = key;
    t->keylen[t->n] = len;
    t->n++;
}

/** Check that @p j is an object whose keys are all among @p names (@p n of them). */
edxbus_err_t edxbus__tjson_record(struct edxbus__tjson *t, const json_t *j,
                                  const char *const *names, size_t n);
/** @p j (NULL: missing) as a required field's value: fails on NULL and JSON null. */
edxbus_err_t edxbus__tjson_required(struct edxbus__tjson *t, const json_t *j);
edxbus_err_t edxbus__tjson_long(struct edxbus__tjson *t, const json_t *j, int64_t *out);
edxbus_err_t edxbus__tjson_bool(struct edxbus__tjson *t, const json_t *j, bool *out);
edxbus_err_t edxbus__tjson_double(struct edxbus__tjson *t, const json_t *j, double *out);
edxbus_err_t edxbus__tjson_str(struct edxbus__tjson *t, const json_t *j, struct edxbus_str *out);
/** @p j as an array (@p map false) or object (@p map true) of *@p n items of @p size bytes:
 *  *@p items gets arena storage for them. */
edxbus_err_t edxbus__tjson_items(struct edxbus__tjson *t, const json_t *j, bool map, size_t size,
                                 void **items, size_t *n);

/** Set @p key of @p obj to @p v (taken); false (and @p v freed) on failure. */
static inline bool edxbus__tjson_set(json_t *obj, const char *key, json_t *v)
{
    return v != NULL && json_object_set_new_nocheck(obj, key, v) == 0;
}

/** A JSON string of @p s, or NULL when it is not UTF-8 or out of memory. */
static inline json_t *edxbus__tjson_of_str(struct edxbus_str s)
{
    return json_stringn(s.ptr != NULL ? s.ptr : "", s.len);
}

#endif /* EDXBUS_TYPED_INT_H */
