/* src/bus/metadata.c — EventsMetadata: generation, times, the per-field text forms.
 *
 * (The JSON forms are in metadata_json.c.)
 *
 * A struct edxbus_metadata is a plain value; everything here reads or fills one. Each field has
 * exactly one text form, shared by every bus (Redis entry fields, Kafka ce_* headers), and the
 * JSON form is EventsMetadata.to_json() byte for byte (json.dumps with ensure_ascii).
 *
 * Times are µs since the Unix epoch (UTC). They are converted to and from calendar dates with
 * the proleptic Gregorian days-from-civil algorithm, so the whole range Python's datetime
 * covers (years 1..9999) works, including times before 1970, with no gmtime/timegm limits.
 *
 * Parsing accepts what Python 3.11's datetime.fromisoformat() accepts for UTC-aware times in the
 * extended calendar format: `YYYY-MM-DD`, then `T`, `t` or a space, then `HH[:MM[:SS[.f…]]]`
 * (fraction after `.` or `,`, 1 digit or more, truncated to microseconds as Python does), then
 * a zero offset: `Z`, `+00`, `+0000`, `+00:00`, `-00:00`, `+00:00:00[.000000]`. A naive time
 * (no offset) or a non-zero offset is refused, as EventsMetadata's validator refuses them.
 * Not accepted (Python would): ISO week dates, the basic format without separators, and a `.`
 * with no digits after it.
 *
 * Invariant: text fields set through edxbus_metadata_set_field()/from_json_value() are valid
 * UTF-8 without NUL bytes; bytes a caller wrote into the struct directly that are not UTF-8 are
 * written as U+FFFD in the JSON forms.
 *
 * To add a field: the struct in metadata.h, field_text(), set_field(), FIELD_NAMES, and both
 * JSON writers (keeping EventsMetadata's attribute order).
 */
#include "edxbus/metadata.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "edxbus/avro.h"
#include "metadata_int.h"
#include "uuid1_int.h"


_Static_assert(EDXBUS_METADATA_TIME_MIN_US == INT64_C(-719162) * US_PER_DAY,
               "0001-01-01T00:00:00 is day -719162 of the Unix epoch");

/* ---------------------------------------------------------------------------------------------
 * Calendar arithmetic (proleptic Gregorian, valid for any int64 day count we can reach)
 * ------------------------------------------------------------------------------------------- */

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static unsigned days_in_month(int64_t y, unsigned m)
{
    static const unsigned mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : mdays[m - 1];
}

/* @p v as exactly @p width decimal digits (zero-padded) at @p p; returns the end. */
static char *put_digits(char *p, unsigned v, int width)
{
    for (int i = width - 1; i >= 0; i--, v /= 10)
        p[i] = (char)('0' + v % 10);
    return p + width;
}

edxbus_err_t edxbus_metadata_format_time(int64_t time_us, char *out, size_t size)
{
    if (time_us < EDXBUS_METADATA_TIME_MIN_US || time_us > EDXBUS_METADATA_TIME_MAX_US ||
        size < EDXBUS_METADATA_TIME_TEXT_MAX)
        return EDXBUS_ERR_INVALID_ARG;
    int64_t days = time_us / US_PER_DAY;
    int64_t rem = time_us % US_PER_DAY;
    if (rem < 0) {
        rem += US_PER_DAY;
        days--;
    }
    int64_t y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    unsigned secs = (unsigned)(rem / US_PER_SEC);
    unsigned frac = (unsigned)(rem % US_PER_SEC);
    /* Digits by hand: every produced and printed event writes a time, and snprintf was most
     * of the cost. y is 1..9999 here (the range check above). */
    char *p = out;
    p = put_digits(p, (unsigned)y, 4);
    *p++ = '-';
    p = put_digits(p, m, 2);
    *p++ = '-';
    p = put_digits(p, d, 2);
    *p++ = 'T';
    p = put_digits(p, secs / 3600, 2);
    *p++ = ':';
    p = put_digits(p, secs / 60 % 60, 2);
    *p++ = ':';
    p = put_digits(p, secs % 60, 2);
    if (frac != 0) {
        *p++ = '.';
        p = put_digits(p, frac, 6);
    }
    memcpy(p, "+00:00", 7);
    return EDXBUS_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Parsing helpers
 * ------------------------------------------------------------------------------------------- */

/* Copy a bad value into @p out for an error line: at most QUOTE_MAX bytes, control characters
 * as '?', so a hostile value can neither break the line nor flood it. */
const char *edxbus__md_quoted(const char *s, size_t len, char *out, size_t size)
{
    size_t n = 0;
    for (size_t i = 0; i < len && n + 4 < size && i < QUOTE_MAX; i++)
        out[n++] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
    if (len > QUOTE_MAX && n + 4 < size) {
        memcpy(out + n, "...", 3);
        n += 3;
    }
    out[n] = '\0';
    return out;
}

static bool take_digits(const char **p, const char *end, int count, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < count; i++) {
        if (*p >= end || **p < '0' || **p > '9')
            return false;
        v = v * 10 + (unsigned)(**p - '0');
        (*p)++;
    }
    *out = v;
    return true;
}

/* The offset after the time: returns NULL when it is a zero offset that ends the text, else a
 * reason for the error line. */
static const char *parse_utc_offset(const char *p, const char *end)
{
    if (p == end)
        return "has no UTC offset (a naive time); EventsMetadata requires UTC, e.g. "
               "2024-05-17T14:03:27+00:00";
    if (*p == 'Z')
        return p + 1 == end ? NULL : "has text after the Z";
    if (*p != '+' && *p != '-')
        return "is not an ISO-8601 time; expected e.g. 2024-05-17T14:03:27.123456+00:00";
    p++;
    bool nonzero = false, ok = true;
    unsigned v;
    ok = take_digits(&p, end, 2, &v);
    nonzero |= v != 0;
    if (ok && p < end) {
        bool colon = *p == ':';
        p += colon;
        ok = take_digits(&p, end, 2, &v);
        nonzero |= ok && v != 0;
        if (ok && colon && p < end && *p == ':') {
            p++;
            ok = take_digits(&p, end, 2, &v);
            nonzero |= ok && v != 0;
            if (ok && p < end && *p == '.') {
                p++;
                int digits = 0;
                for (; p < end && *p >= '0' && *p <= '9'; p++, digits++)
                    nonzero |= *p != '0';
                ok = digits == 6;
            }
        }
    }
    if (!ok || p != end)
        return "has a malformed UTC offset; expected +00:00 or Z";
    return nonzero ? "is not in UTC; EventsMetadata requires a +00:00 (or Z) offset" : NULL;
}

edxbus_err_t edxbus_metadata_parse_time(const char *text, size_t len, int64_t *time_us,
                                        char *errstr, size_t errstr_size)
{
    const char *p = text, *end = text + len;
    unsigned year, mon, day, hour, min = 0, sec = 0, us = 0;
    const char *why = "is not an ISO-8601 time; expected e.g. 2024-05-17T14:03:27.123456+00:00";
    char q[QUOTE_MAX + 8];

    if (!take_digits(&p, end, 4, &year) || p >= end || *p++ != '-' ||
        !take_digits(&p, end, 2, &mon) || p >= end || *p++ != '-' || !take_digits(&p, end, 2, &day))
        goto fail;
    if (p == end) {
        why = "is a date without a time or UTC offset; expected e.g. 2024-05-17T00:00:00+00:00";
        goto fail;
    }
    if (*p != 'T' && *p != 't' && *p != ' ')
        goto fail;
    p++;
    if (!take_digits(&p, end, 2, &hour))
        goto fail;
    if (p < end && *p == ':') {
        p++;
        if (!take_digits(&p, end, 2, &min))
            goto fail;
        if (p < end && *p == ':') {
            p++;
            if (!take_digits(&p, end, 2, &sec))
                goto fail;
            if (p < end && (*p == '.' || *p == ',')) {
                p++;
                int digits = 0;
                for (; p < end && *p >= '0' && *p <= '9'; p++, digits++)
                    if (digits < 6)
                        us = us * 10 + (unsigned)(*p - '0');
                if (digits == 0)
                    goto fail;
                for (int i = digits; i < 6; i++)
                    us *= 10;
            }
        }
    }
    const char *off_why = parse_utc_offset(p, end);
    if (off_why) {
        why = off_why;
        goto fail;
    }
    if (year < 1 || mon < 1 || mon > 12 || day < 1 || day > days_in_month(year, mon) || hour > 23 ||
        min > 59 || sec > 59) {
        why = "is not a valid date and time (year 1..9999, month 1..12, hour 0..23, "
              "minute and second 0..59)";
        goto fail;
    }
    *time_us = days_from_civil(year, mon, day) * US_PER_DAY +
               ((int64_t)hour * 3600 + min * 60 + sec) * US_PER_SEC + us;
    return EDXBUS_OK;
fail:
    if (errstr_size)
        edxbus_errf(errstr, errstr_size, "time: \"%s\" %s", edxbus__md_quoted(text, len, q, sizeof q), why);
    return EDXBUS_ERR_INVALID_ARG;
}

static bool parse_int64(const char *s, const char *end, int64_t *out)
{
    bool neg = false;
    if (s < end && (*s == '-' || *s == '+'))
        neg = *s++ == '-';
    if (s == end)
        return false;
    uint64_t v = 0, limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; s < end; s++) {
        if (*s < '0' || *s > '9')
            return false;
        unsigned digit = (unsigned)(*s - '0');
        if (v > (limit - digit) / 10)
            return false;
        v = v * 10 + digit;
    }
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return true;
}

/* Length of the UTF-8 sequence at @p s (at most @p len bytes) and its code point; 0 when the
 * bytes are not valid UTF-8 (overlong forms, surrogates and values above U+10FFFF included). */
size_t edxbus__md_utf8_decode(const uint8_t *s, size_t len, uint32_t *cp)
{
    uint8_t c = s[0];
    size_t n;
    uint32_t min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if ((c & 0xe0) == 0xc0) {
        n = 2, min = 0x80, *cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
        n = 3, min = 0x800, *cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
        n = 4, min = 0x10000, *cp = c & 0x07;
    } else {
        return 0;
    }
    if (len < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        *cp = (*cp << 6) | (s[i] & 0x3f);
    }
    if (*cp < min || *cp > 0x10ffff || (*cp >= 0xd800 && *cp <= 0xdfff))
        return 0;
    return n;
}

bool edxbus__md_utf8_valid(const char *s, size_t len)
{
    uint32_t cp;
    for (size_t i = 0; i < len;) {
        size_t n = edxbus__md_utf8_decode((const uint8_t *)s + i, len - i, &cp);
        if (n == 0)
            return false;
        i += n;
    }
    return true;
}

/* ---------------------------------------------------------------------------------------------
 * Generation and the text forms
 * ------------------------------------------------------------------------------------------- */

/* The host name, read once per process: gethostname() is a system call (uname), and it was
 * most of the time a generation took. Python's socket.gethostname() reads it per event; a host
 * renamed while a producer runs keeps its old name in sourcehost until the process restarts. */
static pthread_once_t host_once = PTHREAD_ONCE_INIT;
static char host_name[EDXBUS_METADATA_TEXT_MAX];
static size_t host_len;

static void host_init(void)
{
    if (gethostname(host_name, sizeof host_name - 1) != 0)
        host_name[0] = '\0';
    host_name[sizeof host_name - 1] = '\0';
    host_len = strlen(host_name);
}

/* ASCII (the usual event type) needs no decoding and is checked 8 bytes at a time; anything
 * else is checked fully. */
bool edxbus__md_text_ok(const char *s, size_t len)
{
    size_t i = 0;
    for (uint64_t w; i + 8 <= len; i += 8) {
        memcpy(&w, s + i, 8);
        if (w & UINT64_C(0x8080808080808080))
            break;
    }
    while (i < len && (unsigned char)s[i] < 0x80)
        i++;
    return i == len || edxbus__md_utf8_valid(s + i, len - i);
}

edxbus_err_t edxbus_metadata_generate(struct edxbus_metadata *md, const char *event_type,
                                      int64_t minorversion, const char *service_name, char *errstr,
                                      size_t errstr_size)
{
    /* Validate everything first: on error *md is untouched. Then each field is written once,
     * without a temporary copy or clearing the struct's 1.6 kB (the text fields are
     * NUL-terminated; the bytes after a NUL are never read). */
    size_t type_len = event_type ? strlen(event_type) : 0;
    if (type_len == 0 || type_len >= sizeof md->event_type || !edxbus__md_text_ok(event_type, type_len)) {
        if (errstr_size)
            edxbus_errf(errstr, errstr_size,
                        "event_type: must be non-empty UTF-8 text of at most %d bytes",
                        EDXBUS_METADATA_TEXT_MAX - 1);
        return EDXBUS_ERR_INVALID_ARG;
    }
    if (service_name == NULL || service_name[0] == '\0')
        service_name = "SERVICE_NAME_UNSET";
    size_t service_len = strlen(service_name);
    static const char src_head[] = "openedx/", src_tail[] = "/web";
    if (sizeof src_head - 1 + service_len + sizeof src_tail > sizeof md->source) {
        if (errstr_size)
            edxbus_errf(errstr, errstr_size,
                        "source: service name of %zu bytes is too long; at most %d bytes fit",
                        service_len, EDXBUS_METADATA_TEXT_MAX - 1 - 12);
        return EDXBUS_ERR_INVALID_ARG;
    }
    pthread_once(&host_once, host_init);

    memcpy(md->event_type, event_type, type_len + 1);
    char *p = md->source;
    memcpy(p, src_head, sizeof src_head - 1);
    p += sizeof src_head - 1;
    memcpy(p, service_name, service_len);
    memcpy(p + service_len, src_tail, sizeof src_tail);
    memcpy(md->sourcehost, host_name, host_len + 1);
    /* One clock read for both the id and the time. Version 1, as Python's uuid1(); made
     * in-process (uuid1.c), not by libuuid. */
    struct timespec ts;
    uint8_t uu[16];
    clock_gettime(CLOCK_REALTIME, &ts);
    edxbus__uuid1_generate_at(uu, &ts);
    edxbus__uuid_unparse(uu, md->id);
    md->minorversion = minorversion;
    md->time_us = (int64_t)ts.tv_sec * US_PER_SEC + ts.tv_nsec / 1000;
    md->sourcelib[0] = 11;
    md->sourcelib[1] = 2;
    md->sourcelib[2] = 0;
    md->nsourcelib = 3;
    return EDXBUS_OK;
}

/* @p v in decimal (every produced event writes minorversion and sourcelib). */
edxbus_err_t edxbus__md_put_int(struct edxbus_buf *out, int64_t v)
{
    char tmp[24];
    char *p = tmp + sizeof tmp;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    if (v < 0)
        *--p = '-';
    return edxbus_buf_append(out, p, (size_t)(tmp + sizeof tmp - p));
}

edxbus_err_t edxbus_metadata_field_text(const struct edxbus_metadata *md, const char *name,
                                        struct edxbus_buf *out)
{
    /* Every produced event asks for all seven: the first letter rules out most names. */
    if (name[0] == 'i' && strcmp(name, "id") == 0)
        return edxbus_buf_puts(out, md->id);
    if (name[0] == 'e' && strcmp(name, "event_type") == 0)
        return edxbus_buf_puts(out, md->event_type);
    if (name[0] == 's' && strcmp(name, "source") == 0)
        return edxbus_buf_puts(out, md->source);
    if (name[0] == 's' && strcmp(name, "sourcehost") == 0)
        return edxbus_buf_puts(out, md->sourcehost);
    if (name[0] == 'm' && strcmp(name, "minorversion") == 0)
        return edxbus__md_put_int(out, md->minorversion);
    if (name[0] == 't' && strcmp(name, "time") == 0) {
        char text[EDXBUS_METADATA_TIME_TEXT_MAX];
        edxbus_err_t err = edxbus_metadata_format_time(md->time_us, text, sizeof text);
        return err != EDXBUS_OK ? err : edxbus_buf_puts(out, text);
    }
    if (name[0] == 's' && strcmp(name, "sourcelib") == 0) {
        if (md->nsourcelib > EDXBUS_SOURCELIB_MAX)
            return EDXBUS_ERR_INVALID_ARG;
        edxbus_err_t err = EDXBUS_OK;
        for (size_t i = 0; i < md->nsourcelib && err == EDXBUS_OK; i++) {
            if (i > 0)
                err = edxbus_buf_append(out, ".", 1);
            if (err == EDXBUS_OK)
                err = edxbus__md_put_int(out, md->sourcelib[i]);
        }
        return err;
    }
    return EDXBUS_ERR_NOT_FOUND;
}

/* Whether @p s holds only bytes 0x01..0x7f: ASCII without NUL, valid as it is. Eight bytes at
 * a time: a word has a zero byte when (w - 0x01..01) & ~w & 0x80..80 is not zero. */
static bool ascii_no_nul(const char *s, size_t len)
{
    const uint64_t ones = UINT64_C(0x0101010101010101), highs = UINT64_C(0x8080808080808080);
    size_t i = 0;
    for (uint64_t w; i + 8 <= len; i += 8) {
        memcpy(&w, s + i, 8);
        if ((w & highs) != 0 || ((w - ones) & ~w & highs) != 0)
            return false;
    }
    for (; i < len; i++)
        if ((unsigned char)s[i] - 1u >= 0x7fu)
            return false;
    return true;
}

static edxbus_err_t set_text(char *dst, size_t size, const char *name, const char *text, size_t len,
                             char *errstr, size_t errstr_size)
{
    char q[QUOTE_MAX + 8];
    if (len >= size) {
        if (errstr_size)
            edxbus_errf(errstr, errstr_size,
                        "%s: value of %zu bytes is too long; at most %zu bytes", name, len,
                        size - 1);
        return EDXBUS_ERR_INVALID_ARG;
    }
    if (ascii_no_nul(text, len)) { /* the usual value: no byte-by-byte UTF-8 decoding */
        memcpy(dst, text, len);
        dst[len] = '\0';
        return EDXBUS_OK;
    }
    if (memchr(text, '\0', len) != NULL) {
        if (errstr_size)
            edxbus_errf(errstr, errstr_size,
                        "%s: \"%s\" holds U+0000 (NUL), which edxbus metadata cannot carry; remove "
                        "it",
                        name, edxbus__md_quoted(text, len, q, sizeof q));
        return EDXBUS_ERR_INVALID_ARG;
    }
    if (!edxbus__md_utf8_valid(text, len)) {
        if (errstr_size)
            edxbus_errf(errstr, errstr_size, "%s: \"%s\" is not UTF-8 text", name,
                        edxbus__md_quoted(text, len, q, sizeof q));
        return EDXBUS_ERR_INVALID_ARG;
    }
    memcpy(dst, text, len);
    dst[len] = '\0';
    return EDXBUS_OK;
}

/* Python's str(UUID(text)) for the spellings UUID() accepts (braces, `urn:uuid:`, no hyphens,
 * any case): the canonical lowercase form, so ids compare and print as the reference's do.
 * Returns false when @p text is not a UUID (it is then kept verbatim). */
bool edxbus__md_canonical_uuid(const char *text, size_t len, char out[37])
{
    char hex[32];
    size_t n = 0;
    if (len >= 9 && strncmp(text, "urn:uuid:", 9) == 0)
        text += 9, len -= 9;
    if (len >= 2 && text[0] == '{' && text[len - 1] == '}')
        text++, len -= 2;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (c == '-')
            continue;
        bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
        if (!ok || n == 32)
            return false;
        hex[n++] = c >= 'A' && c <= 'F' ? (char)(c - 'A' + 'a') : c;
    }
    if (n != 32)
        return false;
    /* 8-4-4-4-12, by hand: snprintf was most of the cost of reading an id */
    static const unsigned char groups[5] = {8, 4, 4, 4, 12};
    char *o = out;
    const char *h = hex;
    for (int g = 0; g < 5; g++) {
        if (g > 0)
            *o++ = '-';
        memcpy(o, h, groups[g]);
        o += groups[g];
        h += groups[g];
    }
    *o = '\0';
    return true;
}

static edxbus_err_t parse_sourcelib(struct edxbus_metadata *md, const char *text, size_t len,
                                    char *errstr, size_t errstr_size)
{
    int64_t parts[EDXBUS_SOURCELIB_MAX];
    size_t n = 0;
    const char *p = text, *end = text + len;
    char q[QUOTE_MAX + 8];

    while (true) {
        const char *dot = memchr(p, '.', (size_t)(end - p));
        const char *stop = dot ? dot : end;
        if (n == EDXBUS_SOURCELIB_MAX || !parse_int64(p, stop, &parts[n]))
            goto fail;
        n++;
        if (!dot)
            break;
        p = dot + 1;
    }
    memcpy(md->sourcelib, parts, n * sizeof parts[0]);
    md->nsourcelib = n;
    return EDXBUS_OK;
fail:
    if (errstr_size)
        edxbus_errf(
            errstr, errstr_size,
            "sourcelib: \"%s\" is not a dotted list of 1 to %d integers; expected e.g. 11.2.0",
            edxbus__md_quoted(text, len, q, sizeof q), EDXBUS_SOURCELIB_MAX);
    return EDXBUS_ERR_INVALID_ARG;
}

enum md_field {
    F_NONE, F_EVENT_TYPE, F_ID, F_MINORVERSION, F_SOURCE, F_SOURCEHOST, F_TIME, F_SOURCELIB
};

/* Which field @p name is: one string comparison (by its first letters), not one per field. */
static enum md_field field_of(const char *name)
{
    switch (name[0]) {
    case 'e':
        return strcmp(name, "event_type") == 0 ? F_EVENT_TYPE : F_NONE;
    case 'i':
        return strcmp(name, "id") == 0 ? F_ID : F_NONE;
    case 'm':
        return strcmp(name, "minorversion") == 0 ? F_MINORVERSION : F_NONE;
    case 't':
        return strcmp(name, "time") == 0 ? F_TIME : F_NONE;
    case 's':
        if (strncmp(name, "source", 6) != 0)
            return F_NONE;
        return name[6] == '\0'                  ? F_SOURCE
               : strcmp(name + 6, "host") == 0 ? F_SOURCEHOST
               : strcmp(name + 6, "lib") == 0  ? F_SOURCELIB
                                                : F_NONE;
    default:
        return F_NONE;
    }
}

edxbus_err_t edxbus_metadata_set_field(struct edxbus_metadata *md, const char *name,
                                       const char *text, size_t len, char *errstr,
                                       size_t errstr_size)
{
    char q[QUOTE_MAX + 8];
    switch (field_of(name)) {
    case F_EVENT_TYPE:
        return set_text(md->event_type, sizeof md->event_type, name, text, len, errstr,
                        errstr_size);
    case F_SOURCE:
        return set_text(md->source, sizeof md->source, name, text, len, errstr, errstr_size);
    case F_SOURCEHOST:
        return set_text(md->sourcehost, sizeof md->sourcehost, name, text, len, errstr,
                        errstr_size);
    case F_ID: {
        char canon[37];
        if (edxbus__md_canonical_uuid(text, len, canon))
            return set_text(md->id, sizeof md->id, name, canon, 36, errstr, errstr_size);
        return set_text(md->id, sizeof md->id, name, text, len, errstr, errstr_size);
    }
    case F_TIME:
        return edxbus_metadata_parse_time(text, len, &md->time_us, errstr, errstr_size);
    case F_SOURCELIB:
        return parse_sourcelib(md, text, len, errstr, errstr_size);
    case F_MINORVERSION: {
        int64_t v;
        if (!parse_int64(text, text + len, &v)) {
            if (errstr_size)
                edxbus_errf(errstr, errstr_size,
                            "minorversion: \"%s\" is not a decimal integer; expected e.g. 0",
                            edxbus__md_quoted(text, len, q, sizeof q));
            return EDXBUS_ERR_INVALID_ARG;
        }
        md->minorversion = v;
        return EDXBUS_OK;
    }
    case F_NONE:
        break;
    }
    if (errstr_size)
        edxbus_errf(errstr, errstr_size, "unknown metadata field \"%s\"; expected one of %s",
                    edxbus__md_quoted(name, strlen(name), q, sizeof q), FIELD_NAMES);
    return EDXBUS_ERR_NOT_FOUND;
}
