/* src/catalog/checks_fast.h — fast paths of the catalog's string checks (checks.c), inline so
 * the typed encoders (src/typed) run them in place, with no call, on every event they send.
 *
 * A fast path only ever proves a value valid: it recognises the common forms in a few word
 * operations and answers false for anything else, and the caller then runs the full check
 * (which also words the failure). So a fast path can only make a check quicker, never change
 * what it accepts; every one here must accept a subset of its full check. checks.c runs them
 * first too, so the generic encoder gets the same speed.
 *
 * To add one: a static inline edxbus__<kind>_fast() here, called first by the check in
 * checks.c and by edxbus__tenc_check_ok() in src/typed/typed_int.h.
 */
#ifndef EDXBUS_CHECKS_FAST_H
#define EDXBUS_CHECKS_FAST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* Forced inline: the typed encoders call these several times in one long function, where GCC
 * would otherwise stop inlining them. */
#define EDXBUS__CHECKS_HOT static inline __attribute__((always_inline))

EDXBUS__CHECKS_HOT uint64_t edxbus__word8(const void *p)
{
    uint64_t x;
    memcpy(&x, p, 8);
    return x;
}

/* ---------------------------------------------------------------------------------------------
 * datetime: YYYY-MM-DDTHH:MM:SS[.ffffff][±HH:MM]
 * ------------------------------------------------------------------------------------------- */

/* The lowest and highest byte allowed at each position of the four lengths datetime.isoformat()
 * writes (offsets in whole minutes): 19 naive, 25 with an offset, 26 with microseconds, 32 with
 * both. Digits are '0'-'9', a tens digit that the field's range caps is capped here (month
 * 0-1, day 0-3, hour 0-2, minute and second 0-5), separators are themselves, the sign is
 * '+'-'-' (which lets ',' through: tested apart). Every length is read in 8-byte words that
 * may overlap, at the same offsets in the text and in these rows. */
struct edxbus__datetime_form {
    char min[33];
    char max[33];
};
static const struct edxbus__datetime_form edxbus__datetime_forms[4] = {
    {"0000-00-00T00:00:00", "9999-19-39T29:59:59"},
    {"0000-00-00T00:00:00+00:00", "9999-19-39T29:59:59-29:59"},
    {"0000-00-00T00:00:00.000000", "9999-19-39T29:59:59.999999"},
    {"0000-00-00T00:00:00.000000+00:00", "9999-19-39T29:59:59.999999-29:59"},
};

/* Non-zero unless every byte of @p x lies between the bytes of @p lo and @p hi (all ASCII).
 * With the top bit of each lane set first, the subtractions cannot borrow across lanes, and a
 * lane's top bit survives exactly when the byte is in range. */
EDXBUS__CHECKS_HOT uint64_t edxbus__outside8(uint64_t x, uint64_t lo, uint64_t hi)
{
    const uint64_t top = 0x8080808080808080ull;
    return (x | ~((hi | top) - x) | ~((x | top) - lo)) & top;
}

EDXBUS__CHECKS_HOT int edxbus__two_digits(const char *s)
{
    return (s[0] - '0') * 10 + (s[1] - '0');
}

/* Everything the full check asks, for those four lengths: the digits and separators, year >= 1,
 * a real month and day (leap years), hour < 24, minute and second < 60, an offset below 24 h. */
EDXBUS__CHECKS_HOT bool edxbus__datetime_fast(const char *s, size_t len)
{
    const uint64_t lengths = 1ull << 19 | 1ull << 25 | 1ull << 26 | 1ull << 32;
    if (len > 32 || !((1ull << len) & lengths))
        return false;
    const struct edxbus__datetime_form *f =
        &edxbus__datetime_forms[len < 26 ? len > 19 : 2 + (len > 26)];
#if defined(__SSE2__)
    /* two 16-byte pieces, the second ending at the last byte: saturating subtractions are 0
     * exactly for the bytes within [min, max] */
    __m128i x = _mm_loadu_si128((const __m128i *)(const void *)s);
    __m128i y = _mm_loadu_si128((const __m128i *)(const void *)(s + len - 16));
    __m128i lo = _mm_loadu_si128((const __m128i *)(const void *)f->min);
    __m128i hi = _mm_loadu_si128((const __m128i *)(const void *)f->max);
    __m128i lo2 = _mm_loadu_si128((const __m128i *)(const void *)(f->min + len - 16));
    __m128i hi2 = _mm_loadu_si128((const __m128i *)(const void *)(f->max + len - 16));
    __m128i out = _mm_or_si128(_mm_or_si128(_mm_subs_epu8(x, hi), _mm_subs_epu8(lo, x)),
                               _mm_or_si128(_mm_subs_epu8(y, hi2), _mm_subs_epu8(lo2, y)));
    uint64_t bad = _mm_movemask_epi8(_mm_cmpeq_epi8(out, _mm_setzero_si128())) != 0xffff;
#else
    size_t third = len < 24 ? len - 8 : 16; /* words at 0, 8, third and len - 8 */
    uint64_t bad =
        edxbus__outside8(edxbus__word8(s), edxbus__word8(f->min), edxbus__word8(f->max)) |
        edxbus__outside8(edxbus__word8(s + 8), edxbus__word8(f->min + 8),
                         edxbus__word8(f->max + 8)) |
        edxbus__outside8(edxbus__word8(s + third), edxbus__word8(f->min + third),
                         edxbus__word8(f->max + third)) |
        edxbus__outside8(edxbus__word8(s + len - 8), edxbus__word8(f->min + len - 8),
                         edxbus__word8(f->max + len - 8));
#endif
    int month = edxbus__two_digits(s + 5), day = edxbus__two_digits(s + 8);
    bad |= (uint64_t)((memcmp(s, "0000", 4) == 0) | ((unsigned)(month - 1) > 11) | (day == 0) |
                      (edxbus__two_digits(s + 11) > 23));
    if (len == 25 || len == 32) /* ±HH:MM */
        bad |= (uint64_t)((s[len - 6] == ',') | (edxbus__two_digits(s + len - 5) > 23));
    if (bad != 0)
        return false;
    if (day <= 28)
        return true;
    int year = edxbus__two_digits(s) * 100 + edxbus__two_digits(s + 2);
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    int days = month == 2 ? 28 + leap : 30 + ((month + (month >> 3)) & 1);
    return day <= days;
}

/* ---------------------------------------------------------------------------------------------
 * CourseKey: course-v1:ORG+COURSE+RUN
 * ------------------------------------------------------------------------------------------- */

/* Each byte after "course-v1:": 0 an id byte (Python's \w, taken as ASCII letters, digits, '_'
 * and any byte >= 0x80, or one of "-~.:"), 1 the '+' between parts, 2 anything else. */
/* clang-format off */
static const uint8_t edxbus__course_part_class[256] = {
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* controls */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 1, 2, 0, 0, 2, /* '+' separates; '-' '.' */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 2, 2, 2, /* digits, ':' */
    2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* '@' starts a tag: not here */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 2, 2, 0, /* '_' */
    2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 2, 0, 2, /* '~' */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x80-0xff: part of a letter */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};
/* clang-format on */

#if defined(__SSE2__)
/* The id bytes (bit i: byte i) of the 16 bytes at @p p; *@p plus gets the '+' bytes. Signed
 * byte compares: ASCII ranges as they are, bytes >= 0x80 negative (and id bytes). */
EDXBUS__CHECKS_HOT uint32_t edxbus__course_part_sse2(const uint8_t *p, uint32_t *plus)
{
    __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
    __m128i lower = _mm_or_si128(x, _mm_set1_epi8(0x20)); /* A-Z -> a-z, only those map there */
    __m128i id = _mm_and_si128(_mm_cmpgt_epi8(x, _mm_set1_epi8('-' - 1)),
                               _mm_cmplt_epi8(x, _mm_set1_epi8(':' + 1))); /* -./0-9: */
    id = _mm_andnot_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('/')), id);
    id = _mm_or_si128(id, _mm_and_si128(_mm_cmpgt_epi8(lower, _mm_set1_epi8('a' - 1)),
                                        _mm_cmplt_epi8(lower, _mm_set1_epi8('z' + 1))));
    id = _mm_or_si128(id, _mm_cmpeq_epi8(x, _mm_set1_epi8('_')));
    id = _mm_or_si128(id, _mm_cmpeq_epi8(x, _mm_set1_epi8('~')));
    id = _mm_or_si128(id, _mm_cmplt_epi8(x, _mm_setzero_si128()));
    *plus = (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(x, _mm_set1_epi8('+')));
    return (uint32_t)_mm_movemask_epi8(id);
}
#endif

/* Three non-empty parts of id bytes joined by two '+': the full check's course-v1 form without
 * branch@, version@ or ccx@ (which it leaves to the full check). */
EDXBUS__CHECKS_HOT bool edxbus__course_key_fast(const char *s, size_t len)
{
    static const char prefix[] = "course-v1:";
    const size_t plen = sizeof prefix - 1;
    if (len < plen + 5 || memcmp(s, prefix, plen) != 0)
        return false;
    const uint8_t *p = (const uint8_t *)s + plen;
    size_t n = len - plen;
#if defined(__SSE2__)
    if (len >= 16 && n <= 32) {
        /* the last 16 bytes of s, and the first 16 of the parts when they are longer: masks of
         * the n part bytes, bit i for byte i */
        uint32_t plus_b, id_b = edxbus__course_part_sse2(p + n - 16, &plus_b);
        uint32_t id, plus;
        if (n >= 16) {
            uint32_t plus_a, id_a = edxbus__course_part_sse2(p, &plus_a);
            id = id_a | (id_b << (n - 16));
            plus = plus_a | (plus_b << (n - 16));
        } else {
            id = id_b >> (16 - n);
            plus = plus_b >> (16 - n);
        }
        uint32_t all = n == 32 ? 0xffffffffu : (1u << n) - 1;
        uint32_t second = plus & (plus - 1); /* plus without its lowest bit */
        return (id | plus) == all && second != 0 && (second & (second - 1)) == 0 &&
               (plus & (plus >> 1)) == 0 && !(plus & 1) && !(plus >> (n - 1));
    }
#endif
    unsigned acc = 0, nplus = 0, adjacent = 0, prev = 1; /* as if after a '+': none may lead */
    for (size_t i = 0; i < n; i++) {
        unsigned k = edxbus__course_part_class[p[i]];
        acc |= k;
        nplus += k & 1;
        adjacent |= k & prev;
        prev = k;
    }
    return (acc & 2) == 0 && nplus == 2 && !(adjacent & 1) && p[n - 1] != '+';
}

#endif /* EDXBUS_CHECKS_FAST_H */
