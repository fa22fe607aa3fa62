/* src/avro/json_write.c — JSON text exactly as Python's json.dumps writes it.
 *
 * Separators are Python's defaults (", " and ": "), object keys come out in the order jansson
 * stores them (insertion order since jansson 2.8, which is what the decoders rely on to keep
 * schema order), integers are exact int64, and reals are Python's repr(float).
 *
 * repr(float) (float_repr_style 'short'): the shortest decimal digits that read back to the same
 * double; then, with decpt the position of the decimal point (value = 0.DIGITS x 10^decpt),
 * scientific notation when decpt <= -4 or decpt > 16 (`1e-05`, `1e+16`, at least two exponent
 * digits, no ".0"), otherwise positional with ".0" when there is no fraction (`123.0`). The
 * digits come from glibc's correctly rounded %.*e at increasing precision, checked with strtod;
 * at each precision the neighbours one unit away are tried too, because next to a power of two
 * the rounding interval is lopsided and the nearest candidate may not round trip while the next
 * one does (David Gay's shortest mode, which CPython uses, finds that one).
 *
 * Invariant: every writer appends only; on NOMEM the buffer may hold a partial value, callers
 * that need all-or-nothing restore out->len themselves.
 */
#include "avro/json_text.h"
#include "edxbus/json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char hexdigits[] = "0123456789abcdef";

/* What a byte below 0x80 becomes: 0 = itself, 'u' = \u00XX, else the letter after '\'. */
/* clang-format off */
static const char ascii_escape[128] = {
    'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'b', 't', 'n', 'u', 'f', 'r', 'u', 'u',
    'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u',
    0,   0,   '"', 0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,
    0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,
    0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,
    0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   '\\', 0,  0,   0,
    0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,
    0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,   0,
};
/* clang-format on */

static size_t put_u(char *o, uint32_t cp)
{
    o[0] = '\\';
    o[1] = 'u';
    o[2] = hexdigits[(cp >> 12) & 0xf];
    o[3] = hexdigits[(cp >> 8) & 0xf];
    o[4] = hexdigits[(cp >> 4) & 0xf];
    o[5] = hexdigits[cp & 0xf];
    return 6;
}

/* Escape for one code point in ASCII mode (cp >= 0x7f): one or two \uXXXX. */
static size_t put_cp_ascii(char *o, uint32_t cp)
{
    if (cp < 0x10000)
        return put_u(o, cp);
    cp -= 0x10000;
    size_t n = put_u(o, 0xd800 | (cp >> 10));
    return n + put_u(o + n, 0xdc00 | (cp & 0x3ff));
}

static size_t put_ascii_escape(char *o, uint8_t c)
{
    char e = ascii_escape[c];
    if (e == 'u')
        return put_u(o, c);
    o[0] = '\\';
    o[1] = e;
    return 2;
}

#define BYTES_1 0x0101010101010101ull
#define BYTES_80 0x8080808080808080ull

/* The high bit of every byte of @p w that a JSON string cannot take as it is: a control byte,
 * '"', '\\', or a byte >= 0x80 (part of a multi-byte sequence, to check or copy alone). The
 * subtractions may also flag bytes above a real hit (a borrow travels up, never down), so only
 * the lowest flag is exact; that is the only one the scanner uses. */
static inline uint64_t special_bytes(uint64_t w)
{
    uint64_t q = w ^ (BYTES_1 * '"');
    uint64_t b = w ^ (BYTES_1 * '\\');
    uint64_t ctl = (w - BYTES_1 * 0x20) & ~w;
    uint64_t zq = (q - BYTES_1) & ~q;
    uint64_t zb = (b - BYTES_1) & ~b;
    return (w | ctl | zq | zb) & BYTES_80;
}

/* The n (1..7) bytes at p as the low bytes of a word, the rest zero, reading nothing outside
 * [p, p+n): two overlapping loads that agree where they overlap. */
static inline uint64_t load_tail(const uint8_t *p, size_t n)
{
    if (n >= 4) {
        uint32_t lo, hi;
        memcpy(&lo, p, 4);
        memcpy(&hi, p + n - 4, 4);
        return (uint64_t)lo | ((uint64_t)hi << (8 * (n - 4)));
    }
    return (uint64_t)p[0] | ((uint64_t)p[n / 2] << (8 * (n / 2))) |
           ((uint64_t)p[n - 1] << (8 * (n - 1)));
}

/* Most bytes one step of write_plain writes: 7 plain bytes, then a 6-byte escape. */
#define STEP_ROOM 13

/* The non-ASCII writer: copies 8 bytes at a time (the last 1-7 as one word too) while none
 * needs attention, then handles the first one that does (an escape, or a multi-byte sequence
 * checked when @p check) and goes on. The room left is checked once a step; a string with
 * nothing to escape fits the first reserve, and each escape (5 bytes more) may make it grow to
 * what the rest needs if nothing else is escaped, which the buffer's doubling keeps amortised. */
static inline __attribute__((always_inline)) edxbus_err_t
write_plain(struct edxbus_buf *out, const uint8_t *s, size_t len, bool check, size_t *bad)
{
    if (out->cap - out->len < len + 1 + STEP_ROOM &&
        edxbus_buf_reserve(out, len + 1 + STEP_ROOM) != EDXBUS_OK)
        return EDXBUS_ERR_NOMEM;
    uint8_t *o = out->data + out->len;
    const uint8_t *lim = out->data + out->cap;
    *o++ = '"';
    size_t i = 0;
    while (i < len) {
        if ((size_t)(lim - o) < STEP_ROOM) {
            out->len = (size_t)(o - out->data);
            if (edxbus_buf_reserve(out, len - i + STEP_ROOM) != EDXBUS_OK)
                return EDXBUS_ERR_NOMEM;
            o = out->data + out->len;
            lim = out->data + out->cap;
        }
        size_t left = len - i;
        uint64_t w, sp;
        if (left >= 8) {
            memcpy(&w, s + i, 8);
            sp = special_bytes(w);
        } else {
            w = load_tail(s + i, left);
            /* the zero bytes above the tail look like control bytes: ignore them */
            sp = special_bytes(w) & ((1ull << (8 * left)) - 1);
        }
        memcpy(o, &w, 8); /* kept only up to the first byte that needs attention */
        if (sp == 0) {
            size_t k = left >= 8 ? 8 : left;
            i += k;
            o += k;
            continue;
        }
        size_t k = (size_t)__builtin_ctzll(sp) >> 3;
        i += k;
        o += k;
        uint8_t c = s[i];
        if (c < 0x80) {
            o += put_ascii_escape((char *)o, c);
            i++;
        } else if (!check) {
            *o++ = c;
            i++;
        } else {
            size_t n = edxbus__utf8_seq(s + i, len - i);
            if (n == 0) {
                out->len = (size_t)(o - out->data);
                *bad = i;
                return EDXBUS_ERR_DECODE;
            }
            memcpy(o, s + i, n);
            o += n;
            i += n;
        }
    }
    out->len = (size_t)(o - out->data);
    if (o == lim && edxbus_buf_reserve(out, 1) != EDXBUS_OK)
        return EDXBUS_ERR_NOMEM;
    out->data[out->len++] = '"';
    return EDXBUS_OK;
}

edxbus_err_t edxbus__json_write_utf8(struct edxbus_buf *out, const uint8_t *s, size_t len,
                                     size_t *bad)
{
    return write_plain(out, s, len, true, bad);
}

edxbus_err_t edxbus_json_write_string(const char *s, size_t len, unsigned flags,
                                      struct edxbus_buf *out)
{
    return edxbus__json_write_str(out, (const uint8_t *)s, len, flags);
}

edxbus_err_t edxbus__json_write_str(struct edxbus_buf *out, const uint8_t *s, size_t len,
                                    unsigned flags)
{
    if (!(flags & EDXBUS_JSON_ASCII)) {
        size_t bad;
        return write_plain(out, s, len, false, &bad);
    }
    /* ASCII mode. Reserve for the common case (nothing to escape); escapes reserve as they go. */
    if (edxbus_buf_reserve(out, len + 2) != EDXBUS_OK)
        return EDXBUS_ERR_NOMEM;
    out->data[out->len++] = '"';
    size_t i = 0;
    while (i < len) {
        size_t run = i;
        while (run < len && s[run] >= 0x20 && s[run] < 0x7f && ascii_escape[s[run]] == 0)
            run++;
        if (run > i) {
            /* the first run fits what was reserved above; later ones follow escapes */
            if (i == 0) {
                memcpy(out->data + out->len, s, run);
                out->len += run;
            } else if (edxbus_buf_append(out, s + i, run - i) != EDXBUS_OK) {
                return EDXBUS_ERR_NOMEM;
            }
            i = run;
            if (i >= len)
                break;
        }
        if (edxbus_buf_reserve(out, 12) != EDXBUS_OK)
            return EDXBUS_ERR_NOMEM;
        char *o = (char *)out->data + out->len;
        uint8_t c = s[i];
        if (c < 0x80) {
            out->len += c == 0x7f ? put_u(o, c) : put_ascii_escape(o, c);
            i++;
            continue;
        }
        /* a multi-byte sequence (valid by contract) */
        uint32_t cp;
        size_t n;
        if (c < 0xe0) {
            cp = c & 0x1f;
            n = 2;
        } else if (c < 0xf0) {
            cp = c & 0x0f;
            n = 3;
        } else {
            cp = c & 0x07;
            n = 4;
        }
        if (n > len - i)
            n = len - i;
        for (size_t k = 1; k < n; k++)
            cp = (cp << 6) | (s[i + k] & 0x3f);
        out->len += put_cp_ascii(o, cp);
        i += n;
    }
    if (out->cap == out->len && edxbus_buf_reserve(out, 1) != EDXBUS_OK)
        return EDXBUS_ERR_NOMEM;
    out->data[out->len++] = '"';
    return EDXBUS_OK;
}

edxbus_err_t edxbus__json_write_latin1(struct edxbus_buf *out, const uint8_t *s, size_t len,
                                       unsigned flags)
{
    bool ascii = (flags & EDXBUS_JSON_ASCII) != 0;
    if (edxbus_buf_reserve(out, len * 2 + 2) != EDXBUS_OK)
        return EDXBUS_ERR_NOMEM;
    out->data[out->len++] = '"';
    for (size_t i = 0; i < len; i++) {
        if (edxbus_buf_reserve(out, 8) != EDXBUS_OK)
            return EDXBUS_ERR_NOMEM;
        char *o = (char *)out->data + out->len;
        uint8_t c = s[i];
        if (c < 0x80) {
            if (c == 0x7f && ascii)
                out->len += put_u(o, c);
            else if (ascii_escape[c] != 0)
                out->len += put_ascii_escape(o, c);
            else
                out->data[out->len++] = c;
        } else if (ascii) {
            out->len += put_u(o, c);
        } else {
            o[0] = (char)(0xc0 | (c >> 6));
            o[1] = (char)(0x80 | (c & 0x3f));
            out->len += 2;
        }
    }
    if (edxbus_buf_reserve(out, 1) != EDXBUS_OK)
        return EDXBUS_ERR_NOMEM;
    out->data[out->len++] = '"';
    return EDXBUS_OK;
}

edxbus_err_t edxbus__json_write_int(struct edxbus_buf *out, int64_t v)
{
    char tmp[EDXBUS_JSON_INT_MAX];
    return edxbus_buf_append(out, tmp, edxbus__json_int_text(tmp, v));
}

/* Step the decimal digit string d[0..n) (no dot) by +1 or -1 in its last place.
 * Returns false when the step changes the digit count (all 9s up, or 1 then 0s down). */
static bool step_digits(char *d, size_t n, int dir)
{
    size_t i = n;
    while (i > 0) {
        i--;
        if (dir > 0) {
            if (d[i] != '9') {
                d[i]++;
                return true;
            }
            d[i] = '0';
        } else {
            if (d[i] != '0') {
                d[i]--;
                return !(i == 0 && d[0] == '0' && n > 1);
            }
            d[i] = '9';
        }
    }
    return false;
}

static bool digits_roundtrip(const char *digits, size_t n, int exp10, double want)
{
    char text[48];
    snprintf(text, sizeof text, "%.1s.%.*se%d", digits, (int)(n - 1), digits + 1, exp10);
    return strtod(text, NULL) == want;
}

/* Shortest digits of |d| (d finite, non-zero): writes them to digits, returns count; *exp10 is
 * the exponent of the first digit (d = D.DDD x 10^exp10). */
static size_t shortest_digits(double d, char *digits, int *exp10)
{
    char text[48];
    for (int prec = 0; prec <= 16; prec++) {
        snprintf(text, sizeof text, "%.*e", prec, d);
        /* text: D[.DDD]e[+-]XX */
        size_t n = 0;
        const char *p = text;
        for (; *p != 'e'; p++)
            if (*p != '.')
                digits[n++] = *p;
        int e = (int)strtol(p + 1, NULL, 10);
        if (strtod(text, NULL) == d) {
            *exp10 = e;
            return n;
        }
        for (int dir = -1; dir <= 1; dir += 2) {
            char alt[24];
            memcpy(alt, digits, n);
            if (step_digits(alt, n, dir) && digits_roundtrip(alt, n, e, d)) {
                memcpy(digits, alt, n);
                *exp10 = e;
                return n;
            }
        }
    }
    snprintf(text, sizeof text, "%.16e", d);
    size_t n = 0;
    const char *p = text;
    for (; *p != 'e'; p++)
        if (*p != '.')
            digits[n++] = *p;
    *exp10 = (int)strtol(p + 1, NULL, 10);
    return n;
}

size_t edxbus__double_repr(double d, char *out)
{
    if (isnan(d)) {
        memcpy(out, "NaN", 4);
        return 3;
    }
    if (isinf(d)) {
        if (d < 0) {
            memcpy(out, "-Infinity", 10);
            return 9;
        }
        memcpy(out, "Infinity", 9);
        return 8;
    }
    size_t o = 0;
    if (signbit(d)) {
        out[o++] = '-';
        d = -d;
    }
    char digits[24];
    int exp10 = 0;
    size_t n;
    if (d == 0) {
        digits[0] = '0';
        n = 1;
    } else {
        n = shortest_digits(d, digits, &exp10);
        while (n > 1 && digits[n - 1] == '0')
            n--;
    }
    int decpt = exp10 + 1;
    if (decpt <= -4 || decpt > 16) {
        out[o++] = digits[0];
        if (n > 1) {
            out[o++] = '.';
            memcpy(out + o, digits + 1, n - 1);
            o += n - 1;
        }
        int w = snprintf(out + o, 8, "e%c%02d", exp10 < 0 ? '-' : '+', abs(exp10));
        o += (size_t)w;
    } else if (decpt <= 0) {
        out[o++] = '0';
        out[o++] = '.';
        for (int i = 0; i < -decpt; i++)
            out[o++] = '0';
        memcpy(out + o, digits, n);
        o += n;
    } else if ((size_t)decpt < n) {
        memcpy(out + o, digits, (size_t)decpt);
        o += (size_t)decpt;
        out[o++] = '.';
        memcpy(out + o, digits + decpt, n - (size_t)decpt);
        o += n - (size_t)decpt;
    } else {
        memcpy(out + o, digits, n);
        o += n;
        for (size_t i = n; i < (size_t)decpt; i++)
            out[o++] = '0';
        out[o++] = '.';
        out[o++] = '0';
    }
    out[o] = '\0';
    return o;
}

edxbus_err_t edxbus_json_write_double(double d, struct edxbus_buf *out)
{
    char text[40];
    size_t n = edxbus__double_repr(d, text);
    return edxbus_buf_append(out, text, n);
}

static edxbus_err_t write_value(const json_t *value, unsigned flags, struct edxbus_buf *out)
{
    edxbus_err_t err = EDXBUS_OK;
    switch (json_typeof(value)) {
    case JSON_NULL:
        return edxbus_buf_append(out, "null", 4);
    case JSON_TRUE:
        return edxbus_buf_append(out, "true", 4);
    case JSON_FALSE:
        return edxbus_buf_append(out, "false", 5);
    case JSON_INTEGER:
        return edxbus__json_write_int(out, (int64_t)json_integer_value(value));
    case JSON_REAL:
        return edxbus_json_write_double(json_real_value(value), out);
    case JSON_STRING:
        return edxbus__json_write_str(out, (const uint8_t *)json_string_value(value),
                                      json_string_length(value), flags);
    case JSON_ARRAY: {
        if (edxbus_buf_append(out, "[", 1) != EDXBUS_OK)
            return EDXBUS_ERR_NOMEM;
        size_t i;
        const json_t *item;
        json_array_foreach(value, i, item)
        {
            if (i > 0 && edxbus_buf_append(out, ", ", 2) != EDXBUS_OK)
                return EDXBUS_ERR_NOMEM;
            err = write_value(item, flags, out);
            if (err != EDXBUS_OK)
                return err;
        }
        return edxbus_buf_append(out, "]", 1);
    }
    case JSON_OBJECT: {
        double d;
        if (edxbus_json_is_nonfinite(value, &d)) /* NaN, Infinity, -Infinity (json.h) */
            return edxbus_json_write_double(d, out);
        if (edxbus_buf_append(out, "{", 1) != EDXBUS_OK)
            return EDXBUS_ERR_NOMEM;
        bool first = true;
        const char *key;
        size_t key_len;
        json_t *item;
        json_object_keylen_foreach((json_t *)value, key, key_len, item)
        {
            if (!first && edxbus_buf_append(out, ", ", 2) != EDXBUS_OK)
                return EDXBUS_ERR_NOMEM;
            first = false;
            err = edxbus__json_write_str(out, (const uint8_t *)key, key_len, flags);
            if (err == EDXBUS_OK)
                err = edxbus_buf_append(out, ": ", 2);
            if (err == EDXBUS_OK)
                err = write_value(item, flags, out);
            if (err != EDXBUS_OK)
                return err;
        }
        return edxbus_buf_append(out, "}", 1);
    }
    }
    return EDXBUS_ERR_INVALID_ARG;
}

edxbus_err_t edxbus_json_write(const json_t *value, unsigned flags, struct edxbus_buf *out)
{
    if (value == NULL)
        return EDXBUS_ERR_INVALID_ARG;
    return write_value(value, flags, out);
}
