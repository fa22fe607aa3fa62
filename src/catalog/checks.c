/* src/catalog/checks.c — validators for the string fields that are Python objects upstream.
 *
 * openedx-events sends datetimes, UUIDs and opaque keys as plain Avro strings (str(key),
 * value.isoformat()), and its consumers turn them back with datetime.fromisoformat, UUID() and
 * <KeyType>.from_string. A C producer has no types to stop a bad value, so the encoder runs the
 * check the catalog attached to the field (edxbus__check_attach) and names the field on failure.
 * EDXBUS_AVRO_NO_CHECKS turns the checks off.
 *
 * What each check accepts (decided from the Python sources, see docs/internals/catalog.md):
 *   - datetime: what isoformat() writes: YYYY-MM-DDTHH:MM:SS, an optional 6-digit fraction, an
 *     optional offset ±HH:MM[:SS[.ffffff]] below 24 h; a real calendar date (leap years), hour
 *     below 24. Stricter than fromisoformat: no "Z", no space separator, no 3-digit fraction.
 *   - UUID: 8-4-4-4-12 hex digits, either case (str(UUID) writes lowercase).
 *   - opaque keys: the grammars of edx-opaque-keys 4.0.0 and edx-ccx-keys 2.0.2 for the forms
 *     their from_string() reads, including the deprecated org/course/run course id and i4x://
 *     usage id; "word" characters (Python's \w) are ASCII letters, digits, '_' and any non-ASCII
 *     byte (the UTF-8 of a letter in practice). Aside keys (aside-usage-v1/v2) are refused:
 *     no event carries one.
 * To add a key type: a validator here, a row in edxbus__check_fns[] and in classes.c
 * CUSTOM_TYPES. The common forms of the checks every event runs have fast paths in
 * checks_fast.h, tried first; the validators below are the grammar and word the failures.
 */
#include "catalog/catalog_int.h"
#include "catalog/checks_fast.h"

#include <stdio.h>
#include <string.h>

/* ---------------------------------------------------------------------------------------------
 * Small pieces
 * ------------------------------------------------------------------------------------------- */

struct slice {
    const char *s;
    size_t len;
};

static bool why_set(char *why, size_t why_size, const char *text)
{
    if (why != NULL && why_size > 0)
        snprintf(why, why_size, "%s", text);
    return false;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_hex(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Python's \w under re.UNICODE, with every non-ASCII byte taken as part of a letter. */
static bool is_word(char c)
{
    unsigned char u = (unsigned char)c;
    return u >= 0x80 || (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || is_digit(c) || c == '_';
}

/* Every byte of @p sl is a word character or one of @p extra (and there is at least one). */
static bool all_word(struct slice sl, const char *extra)
{
    if (sl.len == 0)
        return false;
    for (size_t i = 0; i < sl.len; i++) {
        if (!is_word(sl.s[i]) && (sl.s[i] == '\0' || strchr(extra, sl.s[i]) == NULL))
            return false;
    }
    return true;
}

/* [a-zA-Z0-9_\-.]+ : the ASCII-only fields of the v2 library keys (org, block type). */
static bool all_ascii_id(struct slice sl)
{
    if (sl.len == 0)
        return false;
    for (size_t i = 0; i < sl.len; i++) {
        char c = sl.s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '_' ||
              c == '-' || c == '.'))
            return false;
    }
    return true;
}

static bool all_hex(struct slice sl, bool lower_only)
{
    if (sl.len == 0)
        return false;
    for (size_t i = 0; i < sl.len; i++) {
        if (!is_hex(sl.s[i]) || (lower_only && sl.s[i] >= 'A' && sl.s[i] <= 'F'))
            return false;
    }
    return true;
}

static bool has_prefix(const char *s, size_t len, const char *prefix, struct slice *rest)
{
    size_t plen = strlen(prefix);
    if (len < plen || memcmp(s, prefix, plen) != 0)
        return false;
    rest->s = s + plen;
    rest->len = len - plen;
    return true;
}

/* Split @p sl at every @p sep into at most @p max parts; returns the count (max + 1: too many). */
static size_t split(struct slice sl, char sep, struct slice *parts, size_t max)
{
    size_t n = 0, start = 0;
    for (size_t i = 0; i <= sl.len; i++) {
        if (i < sl.len && sl.s[i] != sep)
            continue;
        if (n == max)
            return max + 1;
        parts[n].s = sl.s + start;
        parts[n].len = i - start;
        n++;
        start = i + 1;
    }
    return n;
}

/* ---------------------------------------------------------------------------------------------
 * datetime
 * ------------------------------------------------------------------------------------------- */

static int num(const char *s, size_t n)
{
    int v = 0;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0');
    return v;
}

/* @p n digits at s[*i], then advance. */
static bool digits(const char *s, size_t len, size_t *i, size_t n, int *out)
{
    if (*i + n > len)
        return false;
    for (size_t k = 0; k < n; k++) {
        if (!is_digit(s[*i + k]))
            return false;
    }
    *out = num(s + *i, n);
    *i += n;
    return true;
}

static bool lit(const char *s, size_t len, size_t *i, char c)
{
    if (*i >= len || s[*i] != c)
        return false;
    (*i)++;
    return true;
}

static int days_in_month(int year, int month)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return month == 2 && leap ? 29 : days[month - 1];
}

/* HH:MM:SS[.ffffff] at s[*i]; with @p need_seconds false, HH:MM[:SS[.ffffff]] (offsets). */
static bool clock(const char *s, size_t len, size_t *i, bool need_seconds, char *why,
                  size_t why_size)
{
    int h, m, sec, frac;
    if (!digits(s, len, i, 2, &h) || !lit(s, len, i, ':') || !digits(s, len, i, 2, &m))
        return why_set(why, why_size, "time is not HH:MM:SS");
    if (h > 23 || m > 59)
        return why_set(why, why_size, "hour or minute out of range");
    if (!need_seconds && (*i == len || s[*i] != ':'))
        return true;
    if (!lit(s, len, i, ':') || !digits(s, len, i, 2, &sec))
        return why_set(why, why_size, "time is not HH:MM:SS");
    if (sec > 59)
        return why_set(why, why_size, "second out of range (leap seconds are not accepted)");
    if (*i < len && s[*i] == '.') {
        (*i)++;
        if (!digits(s, len, i, 6, &frac) || (*i < len && is_digit(s[*i])))
            return why_set(why, why_size,
                           "the fraction of a second must have 6 digits, as "
                           "isoformat() writes it");
    }
    return true;
}

/* Out of line (as course_key_full()), so check_datetime() is its fast path and a jump. */
__attribute__((noinline)) static bool datetime_full(const char *s, size_t len, char *why,
                                                    size_t why_size)
{
    size_t i = 0;
    int y, mo, d;
    if (!digits(s, len, &i, 4, &y) || !lit(s, len, &i, '-') || !digits(s, len, &i, 2, &mo) ||
        !lit(s, len, &i, '-') || !digits(s, len, &i, 2, &d))
        return why_set(why, why_size,
                       "expected YYYY-MM-DDTHH:MM:SS[.ffffff][+HH:MM] as "
                       "isoformat() writes it");
    if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo))
        return why_set(why, why_size, "no such date");
    if (i == len)
        return why_set(why, why_size,
                       "a date without a time; isoformat() of a datetime writes "
                       "YYYY-MM-DDTHH:MM:SS");
    if (s[i] != 'T')
        return why_set(why, why_size,
                       "date and time must be separated by 'T', as isoformat() "
                       "writes them");
    i++;
    if (!clock(s, len, &i, true, why, why_size))
        return false;
    if (i == len)
        return true; /* a naive datetime */
    if (s[i] == 'Z' || s[i] == 'z')
        return why_set(why, why_size, "write UTC as +00:00, as isoformat() does, not Z");
    if (s[i] != '+' && s[i] != '-')
        return why_set(why, why_size,
                       "unexpected text after the time; the offset is "
                       "+HH:MM or -HH:MM");
    i++;
    if (!clock(s, len, &i, false, why, why_size))
        return false;
    if (i != len)
        return why_set(why, why_size, "unexpected text after the UTC offset");
    return true;
}

/* ---------------------------------------------------------------------------------------------
 * UUID
 * ------------------------------------------------------------------------------------------- */

static bool check_uuid(const char *s, size_t len, char *why, size_t why_size)
{
    if (len != 36)
        goto bad;
    for (size_t i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !is_hex(s[i]))
            goto bad;
    }
    return true;
bad:
    return why_set(why, why_size,
                   "expected 8-4-4-4-12 hex digits as str(UUID) writes "
                   "them");
}

/* ---------------------------------------------------------------------------------------------
 * Opaque keys: course-v1 / library-v1 / ccx-v1 and their block forms
 * ------------------------------------------------------------------------------------------- */

/* The '+'-separated parts after the namespace: up to 3 plain ids, then tagged parts in the
 * order branch@, version@, ccx@, type@, block@ (BlockLocatorBase.URL_RE and CCXLocator's). */
struct locator {
    struct slice plain[3];
    size_t nplain;
    struct slice branch, version, ccx, type, block;
};

static const char *const TAGS[] = {"branch", "version", "ccx", "type", "block"};

static bool split_locator(struct slice rest, struct locator *loc)
{
    struct slice parts[9];
    size_t n = split(rest, '+', parts, 8);
    if (n > 8)
        return false;
    memset(loc, 0, sizeof *loc);
    struct slice *tagged[5] = {&loc->branch, &loc->version, &loc->ccx, &loc->type, &loc->block};
    size_t next_tag = 0;
    for (size_t i = 0; i < n; i++) {
        const char *at = memchr(parts[i].s, '@', parts[i].len);
        if (parts[i].len == 0)
            return false;
        if (at == NULL) {
            if (next_tag > 0 || loc->nplain == 3)
                return false;
            loc->plain[loc->nplain++] = parts[i];
            continue;
        }
        size_t tlen = (size_t)(at - parts[i].s);
        size_t t = next_tag;
        while (t < 5 && !(strlen(TAGS[t]) == tlen && memcmp(parts[i].s, TAGS[t], tlen) == 0))
            t++;
        if (t == 5)
            return false; /* unknown, repeated or out of order */
        tagged[t]->s = at + 1;
        tagged[t]->len = parts[i].len - tlen - 1;
        if (tagged[t]->len == 0)
            return false;
        next_tag = t + 1;
    }
    return true;
}

static const char ID_EXTRA[] = "-~.:";        /* Locator.ALLOWED_ID_CHARS beyond \w */
static const char BLOCK_ID_EXTRA[] = "-~.:%"; /* BlockLocatorBase.BLOCK_ALLOWED_ID_CHARS */

enum ctx { CTX_COURSE, CTX_LIBRARY, CTX_CCX };

/* The course-like part: org+course+run (library: org+library), [branch@], [version@], ccx@N. */
static bool context_ok(const struct locator *loc, enum ctx ctx)
{
    size_t want = ctx == CTX_LIBRARY ? 2 : 3;
    if (loc->nplain != want && !(loc->nplain == 0 && loc->version.len > 0))
        return false;
    for (size_t i = 0; i < loc->nplain; i++) {
        if (!all_word(loc->plain[i], ID_EXTRA))
            return false;
    }
    if (loc->branch.len > 0 && !all_word(loc->branch, ID_EXTRA))
        return false;
    /* version@ is a bson ObjectId: 24 hex digits (lowercase in opaque-keys' grammar) */
    if (loc->version.len > 0 && (loc->version.len != 24 || !all_hex(loc->version, ctx != CTX_CCX)))
        return false;
    if (ctx == CTX_CCX) {
        if (loc->ccx.len == 0)
            return false;
        for (size_t i = 0; i < loc->ccx.len; i++) {
            if (!is_digit(loc->ccx.s[i]))
                return false;
        }
    } else if (loc->ccx.len > 0) {
        return false;
    }
    return true;
}

static bool context_key_ok(struct slice rest, enum ctx ctx)
{
    struct locator loc;
    return split_locator(rest, &loc) && context_ok(&loc, ctx) && loc.type.len == 0 &&
           loc.block.len == 0;
}

static bool usage_key_ok(struct slice rest, enum ctx ctx)
{
    struct locator loc;
    if (!split_locator(rest, &loc) || !context_ok(&loc, ctx) || loc.type.len == 0 ||
        loc.block.len == 0)
        return false;
    /* only block-v1 allows '%' in block ids; lib-block-v1 and ccx-block-v1 do not */
    return all_word(loc.type, ID_EXTRA) &&
           all_word(loc.block, ctx == CTX_COURSE ? BLOCK_ID_EXTRA : ID_EXTRA);
}

/* The deprecated course id "org/course/run" (CourseLocator._from_deprecated_string). */
static bool slash_course_ok(const char *s, size_t len)
{
    struct slice parts[4];
    struct slice all = {s, len};
    if (split(all, '/', parts, 3) != 3)
        return false;
    for (size_t i = 0; i < 3; i++) {
        if (!all_word(parts[i], "-.%"))
            return false;
    }
    return true;
}

/* The deprecated usage id "i4x://org/course/category/name[@revision]". */
static bool i4x_ok(struct slice rest)
{
    struct slice parts[5];
    if (split(rest, '/', parts, 4) != 4)
        return false;
    for (size_t i = 0; i < 3; i++) {
        if (!all_word(parts[i], "-.%"))
            return false;
    }
    struct slice name = parts[3], rev = {NULL, 0};
    const char *at = memchr(name.s, '@', name.len);
    if (at != NULL) {
        rev.s = at + 1;
        rev.len = name.len - (size_t)(at - name.s) - 1;
        name.len = (size_t)(at - name.s);
        if (!all_word(rev, "-.%"))
            return false;
    }
    return all_word(name, "-.:%");
}

__attribute__((noinline)) static bool course_key_full(const char *s, size_t len, char *why,
                                                      size_t why_size)
{
    struct slice rest;
    bool ok;
    if (has_prefix(s, len, "course-v1:", &rest))
        ok = context_key_ok(rest, CTX_COURSE);
    else if (has_prefix(s, len, "library-v1:", &rest))
        ok = context_key_ok(rest, CTX_LIBRARY);
    else if (has_prefix(s, len, "ccx-v1:", &rest))
        ok = context_key_ok(rest, CTX_CCX);
    else
        ok = memchr(s, ':', len) == NULL && slash_course_ok(s, len);
    if (ok)
        return true;
    return why_set(why, why_size,
                   "expected course-v1:ORG+COURSE+RUN, "
                   "ccx-v1:ORG+COURSE+RUN+ccx@N, library-v1:ORG+LIB or ORG/COURSE/RUN");
}

static bool check_ccx_locator(const char *s, size_t len, char *why, size_t why_size)
{
    struct slice rest;
    if (has_prefix(s, len, "ccx-v1:", &rest) && context_key_ok(rest, CTX_CCX))
        return true;
    return why_set(why, why_size, "expected ccx-v1:ORG+COURSE+RUN+ccx@N");
}

/* ---------------------------------------------------------------------------------------------
 * Opaque keys: the v2 library family (lib:, lb:, lib-collection:, lct:)
 * ------------------------------------------------------------------------------------------- */

/* "ORG:SLUG[:…]" with the given number of parts; part 0 is the org (ASCII id), part 1 the
 * slug (\w-.), part @p type_at (if any) an ASCII id, the others \w-. */
static bool lib_parts_ok(struct slice rest, size_t want, size_t type_at)
{
    struct slice parts[5];
    if (split(rest, ':', parts, 4) != want)
        return false;
    for (size_t i = 0; i < want; i++) {
        bool ascii = i == 0 || i == type_at;
        if (ascii ? !all_ascii_id(parts[i]) : !all_word(parts[i], "-."))
            return false;
    }
    return true;
}

static bool check_library_locator_v2(const char *s, size_t len, char *why, size_t why_size)
{
    struct slice rest;
    if (has_prefix(s, len, "lib:", &rest) && lib_parts_ok(rest, 2, 0))
        return true;
    return why_set(why, why_size, "expected lib:ORG:SLUG");
}

static bool lb_ok(const char *s, size_t len)
{
    struct slice rest;
    return has_prefix(s, len, "lb:", &rest) && lib_parts_ok(rest, 4, 2);
}

static bool check_library_usage_locator_v2(const char *s, size_t len, char *why, size_t why_size)
{
    if (lb_ok(s, len))
        return true;
    return why_set(why, why_size, "expected lb:ORG:SLUG:TYPE:ID");
}

static bool check_library_collection_locator(const char *s, size_t len, char *why, size_t why_size)
{
    struct slice rest;
    if (has_prefix(s, len, "lib-collection:", &rest) && lib_parts_ok(rest, 3, 0))
        return true;
    return why_set(why, why_size, "expected lib-collection:ORG:SLUG:ID");
}

static bool check_library_container_locator(const char *s, size_t len, char *why, size_t why_size)
{
    struct slice rest;
    if (has_prefix(s, len, "lct:", &rest) && lib_parts_ok(rest, 4, 2))
        return true;
    return why_set(why, why_size, "expected lct:ORG:SLUG:TYPE:ID");
}

static bool check_usage_key(const char *s, size_t len, char *why, size_t why_size)
{
    struct slice rest;
    bool ok = false;
    if (has_prefix(s, len, "block-v1:", &rest))
        ok = usage_key_ok(rest, CTX_COURSE);
    else if (has_prefix(s, len, "lib-block-v1:", &rest))
        ok = usage_key_ok(rest, CTX_LIBRARY);
    else if (has_prefix(s, len, "ccx-block-v1:", &rest))
        ok = usage_key_ok(rest, CTX_CCX);
    else if (has_prefix(s, len, "i4x://", &rest))
        ok = i4x_ok(rest);
    else
        ok = lb_ok(s, len);
    if (ok)
        return true;
    return why_set(why, why_size,
                   "expected block-v1:ORG+COURSE+RUN+type@TYPE+block@ID, "
                   "lb:ORG:LIB:TYPE:ID, ccx-block-v1:, lib-block-v1: or i4x://");
}

/* ---------------------------------------------------------------------------------------------
 * The checks: a fast path for the common forms (checks_fast.h), then the full check
 * ------------------------------------------------------------------------------------------- */

static bool check_datetime(const char *s, size_t len, char *why, size_t why_size)
{
    return edxbus__datetime_fast(s, len) || datetime_full(s, len, why, why_size);
}

static bool check_course_key(const char *s, size_t len, char *why, size_t why_size)
{
    return edxbus__course_key_fast(s, len) || course_key_full(s, len, why, why_size);
}

/* ---------------------------------------------------------------------------------------------
 * Lookup and attachment
 * ------------------------------------------------------------------------------------------- */

const edxbus_avro_check_fn edxbus__check_fns[EDXBUS__CHECK_COUNT_] = {
    [EDXBUS__CHECK_NONE] = NULL,
    [EDXBUS__CHECK_DATETIME] = check_datetime,
    [EDXBUS__CHECK_UUID] = check_uuid,
    [EDXBUS__CHECK_COURSE_KEY] = check_course_key,
    [EDXBUS__CHECK_USAGE_KEY] = check_usage_key,
    [EDXBUS__CHECK_LIBRARY_LOCATOR_V2] = check_library_locator_v2,
    [EDXBUS__CHECK_LIBRARY_USAGE_LOCATOR_V2] = check_library_usage_locator_v2,
    [EDXBUS__CHECK_LIBRARY_COLLECTION_LOCATOR] = check_library_collection_locator,
    [EDXBUS__CHECK_LIBRARY_CONTAINER_LOCATOR] = check_library_container_locator,
    [EDXBUS__CHECK_CCX_LOCATOR] = check_ccx_locator,
};

edxbus_avro_check_fn edxbus__check_fn(enum edxbus__check kind)
{
    if ((int)kind < 0 || kind >= EDXBUS__CHECK_COUNT_)
        return NULL;
    return edxbus__check_fns[kind];
}

/* Step through a ["null", T] union to T. */
static struct edxbus_avro_node *unwrap(struct edxbus_avro_node *node)
{
    if (node == NULL || node->type != EDXBUS_AVRO_UNION)
        return node;
    struct edxbus_avro_node *only = NULL;
    for (size_t i = 0; i < node->u.uni.nbranches; i++) {
        if (node->u.uni.branches[i]->type == EDXBUS_AVRO_NULL)
            continue;
        if (only != NULL)
            return NULL; /* a real choice: no single path through it */
        only = node->u.uni.branches[i];
    }
    return only;
}

bool edxbus__check_attach(edxbus_avro_schema_t *schema, const char *path, enum edxbus__check kind,
                          char *errstr, size_t errstr_size)
{
    struct edxbus_avro_node *node = schema->root;
    const char *seg = path;
    for (;;) {
        size_t nlen = strcspn(seg, ".[{");
        char name[128];
        if (nlen == 0 || nlen >= sizeof name)
            goto bad;
        memcpy(name, seg, nlen);
        name[nlen] = '\0';
        node = unwrap(node);
        if (node == NULL || node->type != EDXBUS_AVRO_RECORD)
            goto bad;
        struct edxbus_avro_field *field = edxbus__avro_record_field(node, name);
        if (field == NULL)
            goto bad;
        const char *p = seg + nlen;
        if (*p == '\0') {
            field->check = edxbus__check_fn(kind);
            field->check_name = edxbus__check_name(kind);
            return true;
        }
        node = field->type;
        while (*p == '[' || *p == '{') {
            node = unwrap(node);
            if (p[0] == '[' && p[1] == ']' && node != NULL && node->type == EDXBUS_AVRO_ARRAY)
                node = node->u.array.items;
            else if (p[0] == '{' && p[1] == '}' && node != NULL && node->type == EDXBUS_AVRO_MAP)
                node = node->u.map.values;
            else
                goto bad;
            p += 2;
        }
        if (*p != '.')
            goto bad;
        seg = p + 1;
    }
bad:
    if (errstr != NULL && errstr_size > 0)
        edxbus_errf(errstr, errstr_size, "check %s: no string field at path \"%s\" in the schema",
                    edxbus__check_name(kind), path);
    return false;
}
