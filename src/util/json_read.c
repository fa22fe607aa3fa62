/* src/util/json_read.c — JSON text as Python's json module writes it, into a jansson tree.
 *
 * jansson parses the grammar; this file adds the two things Python writes and jansson refuses:
 *
 *  1. U+0000 in strings: always parsed (jansson needs a flag for it, whose name must never reach
 *     a user), and read back by length everywhere.
 *  2. The bare words NaN, Infinity and -Infinity. A lexical pre-pass walks the text outside
 *     strings, keeping a stack of open containers so that it knows where a value may stand
 *     (the top, after '[' or ':', after ',' inside an array). It numbers the string-like values
 *     in text order (string literals and the words, in value positions) and notes which numbers
 *     are words. Each word is replaced, in a copy of the text, by a string literal of the SAME
 *     length ("N", "Infini", "-Infini"), so jansson's line and column numbers stay those of the
 *     user's text. After the parse, a walk in document order (jansson keeps the order of object
 *     members) counts the string values and turns exactly the noted ones into non-finite
 *     markers; a payload string that happens to read "N" is never touched. Repeated keys would
 *     drop a value and break the count, so a text holding one of the words is parsed with
 *     repeated keys refused. Words in a key position, and words glued to other letters
 *     ("NaNx"), are left for jansson to refuse.
 *
 * The non-finite marker is an object with the one member "\0edxbus.double" holding "NaN",
 * "Infinity" or "-Infinity": JSON text can never produce a key holding U+0000.
 *
 * Invariants: the text is copied only when it holds one of the words; the stack is bounded
 * (deeper than jansson's own limit, the pre-pass stops replacing and jansson refuses the depth);
 * the walk's recursion is bounded by jansson's depth limit.
 */
#include "edxbus/json.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MARKER_KEY "\0edxbus.double"
#define MARKER_KEY_LEN (sizeof MARKER_KEY - 1)

/* Containers the pre-pass tracks; jansson refuses nesting deeper than 2048. */
#define PREPASS_MAX_DEPTH 4096

enum word { WORD_NAN, WORD_INF, WORD_NEG_INF, NWORDS };

static const struct {
    const char *text; /* as Python writes it */
    size_t len;
    const char *stand_in; /* a JSON string literal of the same length */
    double value;
} words[NWORDS] = {
    [WORD_NAN] = {"NaN", 3, "\"N\"", NAN},
    [WORD_INF] = {"Infinity", 8, "\"Infini\"", INFINITY},
    [WORD_NEG_INF] = {"-Infinity", 9, "\"-Infini\"", -INFINITY},
};

/* ---------------------------------------------------------------------------------------------
 * The non-finite marker
 * ------------------------------------------------------------------------------------------- */

json_t *edxbus_json_double(double d)
{
    if (isfinite(d))
        return json_real(d);
    json_t *obj = json_object();
    const char *name = isnan(d) ? "NaN" : d > 0 ? "Infinity" : "-Infinity";
    if (obj == NULL || json_object_setn_new_nocheck(obj, MARKER_KEY, MARKER_KEY_LEN,
                                                    json_string(name)) != 0) {
        json_decref(obj);
        return NULL;
    }
    return obj;
}

bool edxbus_json_is_nonfinite(const json_t *v, double *out)
{
    if (!json_is_object(v) || json_object_size(v) != 1)
        return false;
    const json_t *s = json_object_getn(v, MARKER_KEY, MARKER_KEY_LEN);
    const char *name = json_string_value(s);
    if (name == NULL)
        return false;
    double d;
    if (strcmp(name, "NaN") == 0)
        d = NAN;
    else if (strcmp(name, "Infinity") == 0)
        d = INFINITY;
    else if (strcmp(name, "-Infinity") == 0)
        d = -INFINITY;
    else
        return false;
    if (out != NULL)
        *out = d;
    return true;
}

bool edxbus_json_number(const json_t *v, double *out)
{
    if (json_is_number(v)) {
        *out = json_number_value(v);
        return true;
    }
    return edxbus_json_is_nonfinite(v, out);
}

/* ---------------------------------------------------------------------------------------------
 * The pre-pass
 * ------------------------------------------------------------------------------------------- */

struct found {
    size_t at;      /* offset of the word in the text */
    size_t ordinal; /* its number among the string-like values of the text */
    enum word word;
};

struct prepass {
    struct found *found; /* words in value positions, in text order */
    size_t nfound, cap;
    size_t nstrings; /* string-like values seen so far */
};

static bool is_word_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-' || c == '+' || c == '.';
}

static bool add_found(struct prepass *pp, size_t at, enum word w)
{
    if (pp->nfound == pp->cap) {
        size_t cap = pp->cap ? pp->cap * 2 : 16;
        struct found *f = realloc(pp->found, cap * sizeof *f);
        if (f == NULL)
            return false;
        pp->found = f;
        pp->cap = cap;
    }
    pp->found[pp->nfound++] = (struct found){at, pp->nstrings, w};
    return true;
}

/* Find the words in value positions. Returns false only when out of memory. */
static bool prepass_scan(const char *text, size_t len, struct prepass *pp)
{
    uint64_t in_array[PREPASS_MAX_DEPTH / 64] = {0}; /* bit d: container at depth d is [ */
    size_t depth = 0;
    bool value_pos = true, lost = false; /* lost: deeper than the stack; replace nothing more */
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        switch (c) {
        case ' ':
        case '\t':
        case '\n':
        case '\r':
            continue;
        case '"':
            for (i++; i < len && text[i] != '"';)
                i += text[i] == '\\' ? 2 : 1;
            if (value_pos)
                pp->nstrings++;
            value_pos = false;
            continue;
        case '{':
        case '[':
            if (depth < PREPASS_MAX_DEPTH) {
                uint64_t bit = UINT64_C(1) << (depth % 64);
                in_array[depth / 64] =
                    c == '[' ? in_array[depth / 64] | bit : in_array[depth / 64] & ~bit;
            } else {
                lost = true;
            }
            depth++;
            value_pos = c == '[';
            continue;
        case '}':
        case ']':
            if (depth > 0)
                depth--;
            value_pos = false;
            continue;
        case ':':
            value_pos = true;
            continue;
        case ',':
            value_pos = depth == 0 || (depth <= PREPASS_MAX_DEPTH &&
                                       (in_array[(depth - 1) / 64] >> ((depth - 1) % 64) & 1));
            continue;
        default:
            break;
        }
        if (value_pos && !lost) {
            for (int w = 0; w < NWORDS; w++) {
                size_t n = words[w].len;
                if (len - i >= n && memcmp(text + i, words[w].text, n) == 0 &&
                    (i + n == len || !is_word_char(text[i + n]))) {
                    if (!add_found(pp, i, (enum word)w))
                        return false;
                    pp->nstrings++;
                    i += n - 1;
                    break;
                }
            }
        }
        /* the rest of a number or of true/false/null: not a value position until a delimiter */
        value_pos = false;
    }
    return true;
}

/* The text with each found word replaced by its same-length stand-in; a malloc'd copy. */
static char *prepass_rewrite(const char *text, size_t len, const struct prepass *pp)
{
    char *copy = malloc(len + 1);
    if (copy == NULL)
        return NULL;
    memcpy(copy, text, len);
    copy[len] = '\0';
    for (size_t k = 0; k < pp->nfound; k++)
        memcpy(copy + pp->found[k].at, words[pp->found[k].word].stand_in,
               words[pp->found[k].word].len);
    return copy;
}

/* ---------------------------------------------------------------------------------------------
 * The walk: the noted stand-ins to markers
 * ------------------------------------------------------------------------------------------- */

struct walk {
    const struct prepass *pp;
    size_t nstrings; /* string values passed so far */
    size_t next;     /* the next found word to meet */
    bool failed;     /* out of memory, or the tree does not match the text */
};

/* When @p item is a string value: its replacement (new) if it is the next noted word, else
 * NULL. Any other value: walked into, NULL. */
static json_t *visit(struct walk *w, json_t *item);

static void walk_container(struct walk *w, json_t *v)
{
    if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++) {
            json_t *r = visit(w, json_array_get(v, i));
            if (r != NULL && json_array_set_new(v, i, r) != 0)
                w->failed = true;
        }
    } else if (json_is_object(v)) {
        for (void *it = json_object_iter(v); it != NULL; it = json_object_iter_next(v, it)) {
            json_t *r = visit(w, json_object_iter_value(it));
            if (r != NULL && json_object_iter_set_new(v, it, r) != 0)
                w->failed = true;
        }
    }
}

static json_t *visit(struct walk *w, json_t *item)
{
    if (!json_is_string(item)) {
        walk_container(w, item);
        return NULL;
    }
    size_t ordinal = w->nstrings++;
    if (w->next >= w->pp->nfound || w->pp->found[w->next].ordinal != ordinal)
        return NULL;
    const struct found *f = &w->pp->found[w->next++];
    const char *lit = words[f->word].stand_in;
    if (json_string_length(item) != words[f->word].len - 2 ||
        memcmp(json_string_value(item), lit + 1, words[f->word].len - 2) != 0) {
        w->failed = true; /* cannot happen while the pre-pass and jansson agree */
        return NULL;
    }
    json_t *r = edxbus_json_double(words[f->word].value);
    if (r == NULL)
        w->failed = true;
    return r;
}

/* ---------------------------------------------------------------------------------------------
 * Loading
 * ------------------------------------------------------------------------------------------- */

static json_t *parse(const char *text, size_t len, unsigned flags, json_error_t *jerr)
{
    size_t jflags = JSON_ALLOW_NUL;
    if (flags & EDXBUS_JSON_ANY)
        jflags |= JSON_DECODE_ANY;
    if (flags & EDXBUS_JSON_NO_DUPLICATES)
        jflags |= JSON_REJECT_DUPLICATES;
    return json_loadb(text, len, jflags, jerr);
}

static void parse_error(const char *text, size_t len, const json_error_t *jerr, char *errstr,
                        size_t errstr_size)
{
    if (errstr_size == 0)
        return;
    if (json_error_code(jerr) == json_error_numeric_overflow && jerr->position > 0 &&
        (size_t)jerr->position <= len) {
        /* name the number and its column (jansson points past it) */
        size_t end = (size_t)jerr->position, start = end;
        while (start > 0 && text[start - 1] != '\0' && strchr("0123456789+-.eE", text[start - 1]) != NULL)
            start--;
        int column = jerr->column - (int)(end - start) + 1;
        int n = (int)(end - start < 64 ? end - start : 64);
        if (strncmp(jerr->text, "too big", 7) == 0)
            snprintf(errstr, errstr_size,
                     "line %d, column %d: integer %.*s is outside the 64-bit range "
                     "(-9223372036854775808 to 9223372036854775807)",
                     jerr->line, column, n, text + start);
        else
            snprintf(errstr, errstr_size,
                     "line %d, column %d: number %.*s is outside the range of a double",
                     jerr->line, column, n, text + start);
    } else if (json_error_code(jerr) == json_error_null_byte_in_key)
        snprintf(errstr, errstr_size,
                 "line %d, column %d: an object key cannot hold U+0000 (\\u0000)", jerr->line,
                 jerr->column);
    else if (json_error_code(jerr) == json_error_out_of_memory)
        snprintf(errstr, errstr_size, "out of memory");
    else
        snprintf(errstr, errstr_size, "line %d, column %d: %s", jerr->line, jerr->column,
                 jerr->text);
}

static json_t *nomem(char *errstr, size_t errstr_size)
{
    if (errstr_size > 0)
        snprintf(errstr, errstr_size, "out of memory");
    return NULL;
}

json_t *edxbus_json_loadb(const char *text, size_t len, unsigned flags, char *errstr,
                          size_t errstr_size)
{
    if (errstr_size > 0)
        errstr[0] = '\0';
    if (text == NULL)
        text = "", len = 0;
    struct prepass pp = {0};
    json_error_t jerr;
    json_t *root = NULL;
    if (!prepass_scan(text, len, &pp)) {
        nomem(errstr, errstr_size);
    } else if (pp.nfound == 0) {
        root = parse(text, len, flags, &jerr);
        if (root == NULL)
            parse_error(text, len, &jerr, errstr, errstr_size);
    } else {
        char *copy = prepass_rewrite(text, len, &pp);
        root = copy != NULL ? parse(copy, len, flags | EDXBUS_JSON_NO_DUPLICATES, &jerr) : NULL;
        free(copy);
        if (copy == NULL) {
            nomem(errstr, errstr_size);
        } else if (root == NULL && json_error_code(&jerr) == json_error_duplicate_key &&
                   !(flags & EDXBUS_JSON_NO_DUPLICATES)) {
            snprintf(errstr, errstr_size,
                     "line %d, column %d: an object repeats a key; in a text holding NaN or "
                     "Infinity every key must appear once",
                     jerr.line, jerr.column);
        } else if (root == NULL) {
            parse_error(text, len, &jerr, errstr, errstr_size);
        } else {
            struct walk w = {.pp = &pp};
            json_t *r = visit(&w, root);
            if (r != NULL) { /* the whole text is one of the words */
                json_decref(root);
                root = r;
            }
            if (w.failed || w.next != pp.nfound) {
                json_decref(root);
                root = NULL;
                snprintf(errstr, errstr_size, w.failed && w.next == pp.nfound
                                                  ? "out of memory"
                                                  : "NaN or Infinity where no number may stand");
            }
        }
    }
    free(pp.found);
    return root;
}
