/* src/catalog/classes_type.c — the type of a field in a payload-class file, as written after
 * `name: `, parsed into a struct ctype.
 *
 *     str | int | bool | float | bytes        a primitive (PRIM_TYPES: its Avro type)
 *     datetime | UUID | CourseKey | …          a string with a check (CUSTOM_TYPES)
 *     List[T] | Dict[str, T]                   containers, nested at most a bounded depth
 *     Class | module.Class                     a payload class, resolved later (classes.c)
 *     BinaryIO                                 parses, but has no Avro type
 *
 * The tables here also name the checks for the generators (edxbus__check_name()).
 * To add a custom type (a new opaque key), add a row to CUSTOM_TYPES and a validator to
 * checks.c. Part of the parser described in classes.c.
 */
#include "catalog/classes_parse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The Python types that are strings on the wire, and what checks them. */
static const struct {
    const char *name;
    enum edxbus__check check;
    const char *enum_name;
} CUSTOM_TYPES[] = {
    {"datetime", EDXBUS__CHECK_DATETIME, "EDXBUS__CHECK_DATETIME"},
    {"UUID", EDXBUS__CHECK_UUID, "EDXBUS__CHECK_UUID"},
    {"CourseKey", EDXBUS__CHECK_COURSE_KEY, "EDXBUS__CHECK_COURSE_KEY"},
    {"UsageKey", EDXBUS__CHECK_USAGE_KEY, "EDXBUS__CHECK_USAGE_KEY"},
    {"LibraryLocatorV2", EDXBUS__CHECK_LIBRARY_LOCATOR_V2, "EDXBUS__CHECK_LIBRARY_LOCATOR_V2"},
    {"LibraryUsageLocatorV2", EDXBUS__CHECK_LIBRARY_USAGE_LOCATOR_V2,
     "EDXBUS__CHECK_LIBRARY_USAGE_LOCATOR_V2"},
    {"LibraryCollectionLocator", EDXBUS__CHECK_LIBRARY_COLLECTION_LOCATOR,
     "EDXBUS__CHECK_LIBRARY_COLLECTION_LOCATOR"},
    {"LibraryContainerLocator", EDXBUS__CHECK_LIBRARY_CONTAINER_LOCATOR,
     "EDXBUS__CHECK_LIBRARY_CONTAINER_LOCATOR"},
    {"CCXLocator", EDXBUS__CHECK_CCX_LOCATOR, "EDXBUS__CHECK_CCX_LOCATOR"},
};

/* The Python types that map straight to an Avro type (openedx-events types.py). */
static const struct {
    const char *name;
    const char *avro;
} PRIM_TYPES[] = {
    {"str", "string"},   {"int", "long"},    {"bool", "boolean"},
    {"float", "double"}, {"bytes", "bytes"},
};

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

const char *edxbus__check_name(enum edxbus__check kind)
{
    for (size_t i = 0; i < N_OF(CUSTOM_TYPES); i++) {
        if (CUSTOM_TYPES[i].check == kind)
            return CUSTOM_TYPES[i].name;
    }
    return "string";
}

const char *edxbus__check_enum_name(enum edxbus__check kind)
{
    for (size_t i = 0; i < N_OF(CUSTOM_TYPES); i++) {
        if (CUSTOM_TYPES[i].check == kind)
            return CUSTOM_TYPES[i].enum_name;
    }
    return "EDXBUS__CHECK_NONE";
}

/* ---------------------------------------------------------------------------------------------
 * Types: str | int | … | datetime | … | List[T] | Dict[str, T] | Class | module.Class
 * ------------------------------------------------------------------------------------------- */

static struct ctype *parse_type(struct parser *p, const char **s, const char *end, int depth);

static struct ctype *type_new(struct parser *p, enum ctype_kind kind, const char *name, size_t len)
{
    struct ctype *t = edxbus__classes_alloc(p, sizeof *t);
    if (t == NULL)
        return NULL;
    t->kind = kind;
    t->name = edxbus__classes_strndup(p, name, len);
    return t->name ? t : NULL;
}

static void skip_spaces(const char **s, const char *end)
{
    while (*s < end && **s == ' ')
        (*s)++;
}

static struct ctype *parse_generic(struct parser *p, const char **s, const char *end,
                                   const char *name, size_t nlen, bool is_list, int depth)
{
    (*s)++; /* '[' */
    skip_spaces(s, end);
    if (!is_list) {
        size_t klen = ident_len(*s, (size_t)(end - *s));
        if (!eq(*s, klen, "str")) {
            edxbus__classes_fail(p, p->line, "%.*s keys must be str (Avro maps have string keys)",
                                 (int)nlen, name);
            return NULL;
        }
        *s += klen;
        skip_spaces(s, end);
        if (*s == end || **s != ',') {
            edxbus__classes_fail(p, p->line, "%.*s needs two arguments, as in Dict[str, int]",
                                 (int)nlen, name);
            return NULL;
        }
        (*s)++;
        skip_spaces(s, end);
    }
    struct ctype *item = parse_type(p, s, end, depth + 1);
    if (item == NULL)
        return NULL;
    skip_spaces(s, end);
    if (*s == end || **s != ']') {
        edxbus__classes_fail(p, p->line, "expected ']' to close %.*s[", (int)nlen, name);
        return NULL;
    }
    (*s)++;
    struct ctype *t = type_new(p, is_list ? CT_LIST : CT_DICT, name, nlen);
    if (t != NULL)
        t->item = item;
    return t;
}

static struct ctype *parse_type(struct parser *p, const char **s, const char *end, int depth)
{
    if (depth > 16) {
        edxbus__classes_fail(p, p->line, "type nested too deeply");
        return NULL;
    }
    skip_spaces(s, end);
    const char *name = *s;
    size_t nlen = ident_len(name, (size_t)(end - name));
    if (nlen == 0) {
        edxbus__classes_fail(p, p->line, "expected a type name, got \"%.*s\"", (int)(end - name),
                             name);
        return NULL;
    }
    *s += nlen;
    if (*s < end && **s == '.') { /* module.Class */
        size_t clen = ident_len(*s + 1, (size_t)(end - *s - 1));
        if (clen == 0) {
            edxbus__classes_fail(p, p->line, "expected a class name after \"%.*s.\"", (int)nlen,
                                 name);
            return NULL;
        }
        *s += 1 + clen;
        return type_new(p, CT_CLASS, name, nlen + 1 + clen);
    }
    bool list = eq(name, nlen, "List") || eq(name, nlen, "list");
    bool dict = eq(name, nlen, "Dict") || eq(name, nlen, "dict");
    if (list || dict) {
        if (*s < end && **s == '[')
            return parse_generic(p, s, end, name, nlen, list, depth);
        edxbus__classes_fail(
            p, p->line,
            "a %.*s needs its item type, as in %s; openedx-events cannot serialize "
            "one without",
            (int)nlen, name, list ? "List[str]" : "Dict[str, str]");
        return NULL;
    }
    if (*s < end && **s == '[') {
        edxbus__classes_fail(p, p->line, "%.*s[...] is not supported; use List[T] or Dict[str, T]",
                             (int)nlen, name);
        return NULL;
    }
    for (size_t i = 0; i < N_OF(PRIM_TYPES); i++) {
        if (eq(name, nlen, PRIM_TYPES[i].name)) {
            struct ctype *t = type_new(p, CT_PRIM, name, nlen);
            if (t != NULL)
                t->avro = PRIM_TYPES[i].avro;
            return t;
        }
    }
    for (size_t i = 0; i < N_OF(CUSTOM_TYPES); i++) {
        if (eq(name, nlen, CUSTOM_TYPES[i].name)) {
            struct ctype *t = type_new(p, CT_CUSTOM, name, nlen);
            if (t != NULL)
                t->check = CUSTOM_TYPES[i].check;
            return t;
        }
    }
    if (eq(name, nlen, "BinaryIO"))
        return type_new(p, CT_UNSUPPORTED, name, nlen);
    return type_new(p, CT_CLASS, name, nlen);
}

/* A whole type expression: the entire text must be one type. */
struct ctype *edxbus__classes_parse_type(struct parser *p, const char *s, size_t len)
{
    const char *end = s + len;
    struct ctype *t = parse_type(p, &s, end, 0);
    if (t == NULL)
        return NULL;
    skip_spaces(&s, end);
    if (s != end) {
        edxbus__classes_fail(p, p->line, "unexpected \"%.*s\" after the type", (int)(end - s), s);
        return NULL;
    }
    return t;
}
