/* src/avro/reader.h — the cursor every Avro reader walks (tree, text, skip, resolution).
 *
 * A reader holds the input window [start, end), the current position, how deep the value being
 * read is nested, and the field path that leads to it (for error messages such as
 * `avro: byte 37: negative string length in field "user.id"`). The primitives here are the only
 * code that touches the input bytes; each checks the bytes left before it reads, so the walkers
 * built on them cannot over-read whatever the input says.
 *
 * Invariants:
 *   - start <= p <= end always; a primitive that fails leaves p where the bad item began;
 *   - depth counts records, arrays and maps entered; it never exceeds EDXBUS_AVRO_MAX_DEPTH, so
 *     path (one segment per container) never holds more than EDXBUS_AVRO_MAX_DEPTH segments;
 *   - a path segment borrows its text (a field name from the schema, a map key from the input).
 *
 * The encoder shares the path type (struct edxbus__avro_path) for its own messages.
 */
#ifndef EDXBUS_AVRO_READER_H
#define EDXBUS_AVRO_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "avro/avro_int.h"
#include "avro/binary.h"

/** Items allowed in one array or map whose items take no bytes (null, empty records): the bytes
 *  left cannot bound such a count, so this does; 16 bytes of input could otherwise ask for 2^63
 *  nulls. No Open edX payload comes near it. */
#define EDXBUS_AVRO_MAX_EMPTY_ITEMS (1u << 20)

enum edxbus__avro_seg_kind {
    EDXBUS_AVRO_SEG_FIELD, /* .name */
    EDXBUS_AVRO_SEG_INDEX, /* [3] */
    EDXBUS_AVRO_SEG_KEY,   /* ["key"] */
};

struct edxbus__avro_seg {
    enum edxbus__avro_seg_kind kind;
    const char *text; /* field name (NUL-terminated) or map key (borrowed, not terminated) */
    size_t len;       /* bytes of text, for map keys */
    int64_t index;    /* array index */
};

struct edxbus__avro_path {
    struct edxbus__avro_seg segs[EDXBUS_AVRO_MAX_DEPTH + 1];
    size_t n;
};

/** Write the path as `user.id`, `answers[3].text`, `meta["k"]` into @p out (always terminated;
 *  "" when the path is empty). */
void edxbus__avro_path_format(const struct edxbus__avro_path *path, char *out, size_t size);

static inline void edxbus__avro_path_field(struct edxbus__avro_path *path, const char *name)
{
    struct edxbus__avro_seg *s = &path->segs[path->n++];
    s->kind = EDXBUS_AVRO_SEG_FIELD;
    s->text = name; /* NUL-terminated; its length is only needed for messages */
}

struct edxbus__avro_reader {
    const uint8_t *start; /* first byte of the value (offsets in messages count from here) */
    const uint8_t *p;     /* next byte to read */
    const uint8_t *end;   /* one past the last byte */
    int depth;            /* containers entered */
    struct edxbus__avro_path path;
    char *errstr;
    size_t errstr_size;
    /* Lazy path (the text decoder): path is left empty while reading, a failure keeps its
       message in msg and its offset in fail_off, each container pushes its own segment while
       the error unwinds (innermost first), and edxbus__avro_fail_finish() writes errstr. */
    bool lazy_path;
    /* Validation (edxbus_avro_validate()): skipping also checks what decoding checks beyond
       the bytes' shape, UTF-8 in strings and map keys and no repeated map key. */
    bool check_text;
    size_t fail_off;
    char msg[160];
};

static inline void edxbus__avro_reader_init(struct edxbus__avro_reader *r, const uint8_t *data,
                                            size_t len, char *errstr, size_t errstr_size)
{
    static const uint8_t none[1];
    if (data == NULL)
        data = none; /* NULL + 0 is undefined; an empty input still needs a real address */
    r->start = data;
    r->p = data;
    r->end = data + len;
    r->depth = 0;
    r->path.n = 0;
    r->errstr = errstr;
    r->errstr_size = errstr_size;
    r->lazy_path = false;
    r->check_text = false;
    if (errstr != NULL && errstr_size > 0)
        errstr[0] = '\0';
}

/** Write `avro: byte N: <message> in field "<path>"` (no path part at the root) and return
 *  EDXBUS_ERR_DECODE. @p at is where the bad item starts. */
edxbus_err_t edxbus__avro_fail(struct edxbus__avro_reader *r, const uint8_t *at, const char *fmt,
                               ...) __attribute__((format(printf, 3, 4)));

/** Lazy path only: write errstr for the failure being unwound, from the message, the offset
 *  and the segments pushed on the way out (innermost first), exactly as edxbus__avro_fail
 *  would have written it with the path in place. */
void edxbus__avro_fail_finish(struct edxbus__avro_reader *r);

/** Lazy path only: while a failure unwinds, add the segment of the container being left. */
static inline void edxbus__avro_path_push_index(struct edxbus__avro_path *path, int64_t index)
{
    struct edxbus__avro_seg *s = &path->segs[path->n++];
    s->kind = EDXBUS_AVRO_SEG_INDEX;
    s->index = index;
}

static inline void edxbus__avro_path_push_key(struct edxbus__avro_path *path, const uint8_t *key,
                                              size_t len)
{
    struct edxbus__avro_seg *s = &path->segs[path->n++];
    s->kind = EDXBUS_AVRO_SEG_KEY;
    s->text = (const char *)key;
    s->len = len;
}

/** Enter a container (record, array, map); fails past EDXBUS_AVRO_MAX_DEPTH. */
static inline edxbus_err_t edxbus__avro_enter(struct edxbus__avro_reader *r)
{
    if (r->depth >= EDXBUS_AVRO_MAX_DEPTH)
        return edxbus__avro_fail(r, r->p, "nesting deeper than %d", EDXBUS_AVRO_MAX_DEPTH);
    r->depth++;
    return EDXBUS_OK;
}

edxbus_err_t edxbus__avro_varint_fail(struct edxbus__avro_reader *r, edxbus_varint_status_t st,
                                      const char *what);

/** Read a long. */
static inline edxbus_err_t edxbus__avro_read_long(struct edxbus__avro_reader *r, int64_t *out,
                                                  const char *what)
{
    /* fast path: one byte */
    if (r->p < r->end && r->p[0] < 0x80) {
        *out = edxbus__zigzag_decode(r->p[0]);
        r->p++;
        return EDXBUS_OK;
    }
    size_t used;
    edxbus_varint_status_t st = edxbus__varint_get(r->p, r->end, out, &used);
    if (st != EDXBUS_VARINT_OK)
        return edxbus__avro_varint_fail(r, st, what);
    r->p += used;
    return EDXBUS_OK;
}

/* The primitives below take one-byte varints inline (lengths under 64, indexes, small ints:
 * nearly every varint of an event) and leave the rest, and every failure, to reader.c. */

edxbus_err_t edxbus__avro_read_int_slow(struct edxbus__avro_reader *r, int32_t *out);
edxbus_err_t edxbus__avro_read_len_slow(struct edxbus__avro_reader *r, size_t *out,
                                        const char *what);
edxbus_err_t edxbus__avro_read_bool_slow(struct edxbus__avro_reader *r, bool *out);
edxbus_err_t edxbus__avro_read_branch_slow(struct edxbus__avro_reader *r, size_t nbranches,
                                           size_t *out);
edxbus_err_t edxbus__avro_read_enum_slow(struct edxbus__avro_reader *r, size_t nsymbols,
                                         size_t *out);

/** Read an int: a long that must fit in 32 bits. */
static inline edxbus_err_t edxbus__avro_read_int(struct edxbus__avro_reader *r, int32_t *out)
{
    if (r->p < r->end && r->p[0] < 0x80) {
        *out = (int32_t)edxbus__zigzag_decode(r->p[0]);
        r->p++;
        return EDXBUS_OK;
    }
    return edxbus__avro_read_int_slow(r, out);
}

/** Read the length of a string, bytes or map key (@p what) and check that many bytes are left. */
static inline edxbus_err_t edxbus__avro_read_len(struct edxbus__avro_reader *r, size_t *out,
                                                 const char *what)
{
    /* an even byte is a zig-zag non-negative length */
    if (r->p < r->end && r->p[0] < 0x80 && !(r->p[0] & 1) &&
        (size_t)(r->p[0] >> 1) < (size_t)(r->end - r->p)) {
        *out = r->p[0] >> 1;
        r->p++;
        return EDXBUS_OK;
    }
    return edxbus__avro_read_len_slow(r, out, what);
}

/** Take @p n raw bytes (fixed, float, double); fails if fewer are left. */
static inline edxbus_err_t edxbus__avro_take(struct edxbus__avro_reader *r, size_t n,
                                             const uint8_t **out, const char *what)
{
    if ((size_t)(r->end - r->p) < n)
        return edxbus__avro_fail(r, r->p, "truncated %s: needs %zu bytes, %zu left", what, n,
                                 (size_t)(r->end - r->p));
    *out = r->p;
    r->p += n;
    return EDXBUS_OK;
}

/** Read a boolean byte (0 or 1 only). */
static inline edxbus_err_t edxbus__avro_read_bool(struct edxbus__avro_reader *r, bool *out)
{
    if (r->p < r->end && r->p[0] <= 1) {
        *out = r->p[0] == 1;
        r->p++;
        return EDXBUS_OK;
    }
    return edxbus__avro_read_bool_slow(r, out);
}

/** Read a union branch index and check it against @p nbranches. */
static inline edxbus_err_t edxbus__avro_read_branch(struct edxbus__avro_reader *r, size_t nbranches,
                                                    size_t *out)
{
    if (r->p < r->end && r->p[0] < 0x80 && !(r->p[0] & 1) && (size_t)(r->p[0] >> 1) < nbranches) {
        *out = r->p[0] >> 1;
        r->p++;
        return EDXBUS_OK;
    }
    return edxbus__avro_read_branch_slow(r, nbranches, out);
}

/** Read an enum symbol index and check it against @p nsymbols. */
static inline edxbus_err_t edxbus__avro_read_enum(struct edxbus__avro_reader *r, size_t nsymbols,
                                                  size_t *out)
{
    if (r->p < r->end && r->p[0] < 0x80 && !(r->p[0] & 1) && (size_t)(r->p[0] >> 1) < nsymbols) {
        *out = r->p[0] >> 1;
        r->p++;
        return EDXBUS_OK;
    }
    return edxbus__avro_read_enum_slow(r, nsymbols, out);
}

/** State of one array or map being read block by block. */
struct edxbus__avro_blocks {
    bool empty_items; /* items take no bytes: bound by EDXBUS_AVRO_MAX_EMPTY_ITEMS */
    uint64_t total;   /* items so far */
};

/** Start reading an array or map whose items are of type @p items (map: NULL, keys take bytes). */
void edxbus__avro_blocks_init(struct edxbus__avro_blocks *b, const struct edxbus_avro_node *items);

/** Read the next block header: *@p count items follow; 0 means the array or map has ended.
 *  A negative count (followed by a byte size) is accepted; counts the input cannot hold fail. */
edxbus_err_t edxbus__avro_read_block(struct edxbus__avro_reader *r, struct edxbus__avro_blocks *b,
                                     uint64_t *count);

/** Whether a value of @p node takes no bytes at all (null, records of such, fixed of size 0). */
bool edxbus__avro_is_empty_type(const struct edxbus_avro_node *node);

/** Check that [s, s+len) is UTF-8 as Python's strict decoder accepts it (no overlongs, no
 *  surrogates, nothing above U+10FFFF). Returns the offset of the first bad byte, or len. */
size_t edxbus__utf8_check(const uint8_t *s, size_t len);

/** Read a string's length and bytes, checking UTF-8. */
edxbus_err_t edxbus__avro_read_string(struct edxbus__avro_reader *r, const uint8_t **s, size_t *len,
                                      const char *what);

/** Skip one value of @p node, as strictly as decoding it checks the bytes' shape (used for
 *  writer-only fields); with r->check_text, also UTF-8 and repeated map keys (validation). */
edxbus_err_t edxbus__avro_skip(struct edxbus__avro_reader *r, const struct edxbus_avro_node *node);

/** Fail if bytes are left after the value. */
edxbus_err_t edxbus__avro_finish(struct edxbus__avro_reader *r);

/** Decode one value of @p node into the plain JSON form (decode.c; the resolver reuses it). */
edxbus_err_t edxbus__avro_decode_value(struct edxbus__avro_reader *r,
                                       const struct edxbus_avro_node *node, json_t **out);

/** Decode one array item or map value into *@p out (returns new); @p ctx is the caller's. */
typedef edxbus_err_t (*edxbus__avro_item_fn)(struct edxbus__avro_reader *r, void *ctx,
                                             json_t **out);

/** Decode an array (@p is_map false) or a map block by block into a JSON array or object,
 *  calling @p item for each item or value; @p items is the writer's item type (bounds the
 *  count when items take no bytes; unused for a map). Fails on a map that repeats a key (a JSON
 *  object cannot hold it twice). Shared by decode.c and the resolver (resolve.c). */
edxbus_err_t edxbus__avro_decode_blocks(struct edxbus__avro_reader *r, bool is_map,
                                        const struct edxbus_avro_node *items,
                                        edxbus__avro_item_fn item, void *ctx, json_t **out);

/** Convert bytes to the plain JSON form of bytes/fixed: each byte becomes the code point of the
 *  same value, UTF-8 encoded (so 2 output bytes at most per input byte). Returns new or NULL. */
json_t *edxbus__avro_bytes_to_json(const uint8_t *s, size_t len);

#endif /* EDXBUS_AVRO_READER_H */
