/* src/avro/json_text.h — the pieces of Python-style JSON text shared by edxbus_json_write() and
 * the straight-to-text decoder, so both write every scalar identically, byte for byte.
 *
 * Strings are escaped as Python's json.dumps does: `"` `\\` `\n` `\r` `\t` `\b` `\f` by name, other
 * bytes below 0x20 as \u00XX (lowercase); with EDXBUS_JSON_ASCII also DEL and every non-ASCII
 * code point (surrogate pairs above U+FFFF). Inputs must already be valid UTF-8.
 */
#ifndef EDXBUS_AVRO_JSON_TEXT_H
#define EDXBUS_AVRO_JSON_TEXT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "edxbus/avro.h"
#include "edxbus/buf.h"

/** Append a quoted, escaped string of valid UTF-8. */
edxbus_err_t edxbus__json_write_str(struct edxbus_buf *out, const uint8_t *s, size_t len,
                                    unsigned flags);

/** Append a quoted, escaped string (as edxbus__json_write_str with flags 0) of bytes that must be
 *  UTF-8, checking them in the same pass (the rules of edxbus__utf8_check). Returns EDXBUS_OK;
 *  EDXBUS_ERR_DECODE with *@p bad the offset of the first bad byte (@p out then holds part of
 *  the string); EDXBUS_ERR_NOMEM. */
edxbus_err_t edxbus__json_write_utf8(struct edxbus_buf *out, const uint8_t *s, size_t len,
                                     size_t *bad);

/** Append a quoted string whose code points are the bytes of [s, s+len) (the plain JSON form
 *  of Avro bytes and fixed). */
edxbus_err_t edxbus__json_write_latin1(struct edxbus_buf *out, const uint8_t *s, size_t len,
                                       unsigned flags);

/** Append a decimal integer. */
edxbus_err_t edxbus__json_write_int(struct edxbus_buf *out, int64_t v);

/** Longest text of an int64: "-9223372036854775808". */
#define EDXBUS_JSON_INT_MAX 20

/** Write the decimal text of @p v to @p out (room for EDXBUS_JSON_INT_MAX bytes, no NUL);
 *  returns its length. Two digits per step from a table: integers are on every hot path. */
static inline size_t edxbus__json_int_text(char *out, int64_t v)
{
    static const char pairs[201] = "00010203040506070809101112131415161718192021222324252627282930"
                                   "31323334353637383940414243444546474849505152535455565758596061"
                                   "62636465666768697071727374757677787980818283848586878889909192"
                                   "93949596979899";
    /* work on the magnitude as unsigned so INT64_MIN has one */
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    size_t n = 1;
    for (uint64_t t = u; t >= 10; t /= 10)
        n++;
    size_t len = n + (v < 0);
    char *o = out + len;
    while (u >= 100) {
        o -= 2;
        memcpy(o, pairs + 2 * (u % 100), 2);
        u /= 100;
    }
    if (u >= 10) {
        o -= 2;
        memcpy(o, pairs + 2 * u, 2);
    } else {
        *--o = (char)('0' + u);
    }
    if (v < 0)
        out[0] = '-';
    return len;
}

/** The length of the UTF-8 sequence that starts at @p s (whose first byte is >= 0x80) when it
 *  is one Python's strict decoder accepts (no overlongs, no surrogates, nothing above
 *  U+10FFFF, all within @p left bytes); 0 when it is not. */
static inline size_t edxbus__utf8_seq(const uint8_t *s, size_t left)
{
    uint8_t c = s[0];
    size_t need;
    uint32_t cp;
    if (c >= 0xc2 && c <= 0xdf) {
        need = 1;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        need = 2;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        need = 3;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (left <= need)
        return 0;
    for (size_t k = 1; k <= need; k++) {
        if ((s[k] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[k] & 0x3f);
    }
    if ((need == 2 && cp < 0x800) || (need == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return need + 1;
}

/** Format @p d as Python's repr(float) into @p out (at least 32 bytes); returns the length. */
size_t edxbus__double_repr(double d, char *out);

#endif /* EDXBUS_AVRO_JSON_TEXT_H */
