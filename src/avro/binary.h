/* src/avro/binary.h — the primitives of Avro's binary encoding, inline for the hot paths.
 *
 * int and long are zig-zag varints: (n << 1) ^ (n >> 63), then 7 bits a byte, low bits first,
 * high bit set on every byte but the last. A long takes at most 10 bytes; the 10th byte may only
 * carry the top bit (0x01), so anything longer or larger is an overlong/overflowing varint and
 * is rejected rather than wrapped (fastavro's pure-Python reader would happily return a number
 * beyond int64). Floats and doubles are IEEE-754 little-endian.
 */
#ifndef EDXBUS_AVRO_BINARY_H
#define EDXBUS_AVRO_BINARY_H

#include <stdint.h>
#include <string.h>

#include "edxbus/buf.h"

/** Longest varint encoding of a 64-bit value. */
#define EDXBUS_AVRO_MAX_VARINT 10

static inline uint64_t edxbus__zigzag_encode(int64_t n)
{
    return ((uint64_t)n << 1) ^ (uint64_t)(n >> 63);
}

static inline int64_t edxbus__zigzag_decode(uint64_t u)
{
    return (int64_t)((u >> 1) ^ (~(u & 1) + 1));
}

/** Write the zig-zag varint of @p n into @p out (room for EDXBUS_AVRO_MAX_VARINT bytes).
 *  Returns the number of bytes written. */
static inline size_t edxbus__varint_put(uint8_t *out, int64_t n)
{
    uint64_t u = edxbus__zigzag_encode(n);
    size_t i = 0;
    while (u >= 0x80) {
        out[i++] = (uint8_t)(u | 0x80);
        u >>= 7;
    }
    out[i++] = (uint8_t)u;
    return i;
}

/** Append the zig-zag varint of @p n to @p buf. */
static inline edxbus_err_t edxbus__buf_put_long(struct edxbus_buf *buf, int64_t n)
{
    if (buf->cap - buf->len < EDXBUS_AVRO_MAX_VARINT) {
        edxbus_err_t err = edxbus_buf_reserve(buf, EDXBUS_AVRO_MAX_VARINT);
        if (err != EDXBUS_OK)
            return err;
    }
    buf->len += edxbus__varint_put(buf->data + buf->len, n);
    return EDXBUS_OK;
}

/** Result of reading a varint. */
typedef enum {
    EDXBUS_VARINT_OK,
    EDXBUS_VARINT_TRUNCATED, /* input ended inside the varint */
    EDXBUS_VARINT_OVERLONG,  /* more than 10 bytes, or bits beyond 64 */
} edxbus_varint_status_t;

/** Read a zig-zag varint from @p p (at most @p end - @p p bytes) into *@p out; on success
 *  *@p used is the number of bytes consumed. Never reads at or past @p end. */
static inline edxbus_varint_status_t edxbus__varint_get(const uint8_t *p, const uint8_t *end,
                                                       int64_t *out, size_t *used)
{
    uint64_t u = 0;
    for (size_t i = 0; i < EDXBUS_AVRO_MAX_VARINT; i++) {
        if (p + i >= end)
            return EDXBUS_VARINT_TRUNCATED;
        uint8_t b = p[i];
        if (i == EDXBUS_AVRO_MAX_VARINT - 1 && b > 0x01)
            return EDXBUS_VARINT_OVERLONG;
        u |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            *out = edxbus__zigzag_decode(u);
            *used = i + 1;
            return EDXBUS_VARINT_OK;
        }
    }
    return EDXBUS_VARINT_OVERLONG;
}

static inline void edxbus__put_double_le(uint8_t out[8], double d)
{
    uint64_t u;
    memcpy(&u, &d, 8);
    for (int i = 0; i < 8; i++)
        out[i] = (uint8_t)(u >> (8 * i));
}

static inline double edxbus__get_double_le(const uint8_t in[8])
{
    uint64_t u = 0;
    for (int i = 0; i < 8; i++)
        u |= (uint64_t)in[i] << (8 * i);
    double d;
    memcpy(&d, &u, 8);
    return d;
}

static inline void edxbus__put_float_le(uint8_t out[4], float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    for (int i = 0; i < 4; i++)
        out[i] = (uint8_t)(u >> (8 * i));
}

static inline float edxbus__get_float_le(const uint8_t in[4])
{
    uint32_t u = 0;
    for (int i = 0; i < 4; i++)
        u |= (uint32_t)in[i] << (8 * i);
    float f;
    memcpy(&f, &u, 4);
    return f;
}

#endif /* EDXBUS_AVRO_BINARY_H */
