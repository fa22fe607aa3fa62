/* src/catalog/classes_parse.h — what the payload-class parser shares between its files:
 * classes.c (lines, resolution, the file) and classes_type.c (type expressions and the Python
 * type tables). Nothing else includes it; the parsed form is in classes_int.h.
 *
 * A parse carries one struct parser. Everything allocated during it goes through
 * edxbus__classes_alloc() onto the file's list (freed by edxbus__classes_destroy()), and the
 * first error recorded by edxbus__classes_fail() ends the parse.
 */
#ifndef EDXBUS_CLASSES_PARSE_H
#define EDXBUS_CLASSES_PARSE_H

#include <ctype.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "catalog/classes_int.h"

struct parser {
    struct edxbus__classes *cs;
    const char *module;
    int line;
    char *errstr;
    size_t errstr_size;
    bool failed;
};

/** Record "file:line: text" in p->errstr, unless an error is already recorded. */
void edxbus__classes_fail(struct parser *p, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/** Zeroed memory on the file's list; NULL after recording "out of memory". */
void *edxbus__classes_alloc(struct parser *p, size_t size);

/** A NUL-terminated copy of @p len bytes of @p s, on the file's list; NULL after failing. */
char *edxbus__classes_strndup(struct parser *p, const char *s, size_t len);

/** Parse the type written as @p s (@p len bytes) on the current line (classes_type.c): a
 *  Python type, List[T], Dict[str, T], or a class name left for the resolution pass. NULL after
 *  failing. */
struct ctype *edxbus__classes_parse_type(struct parser *p, const char *s, size_t len);

/* ---------------------------------------------------------------------------------------------
 * Lexical helpers (classes.c and classes_type.c)
 * ------------------------------------------------------------------------------------------- */

static inline bool is_ident_start(char c)
{
    return isalpha((unsigned char)c) || c == '_';
}

static inline bool is_ident_char(char c)
{
    return isalnum((unsigned char)c) || c == '_';
}

/* Length of the identifier at @p s (0 if none). */
static inline size_t ident_len(const char *s, size_t len)
{
    if (len == 0 || !is_ident_start(s[0]))
        return 0;
    size_t i = 1;
    while (i < len && is_ident_char(s[i]))
        i++;
    return i;
}

static inline bool is_ident(const char *s, size_t len)
{
    return len > 0 && ident_len(s, len) == len;
}

static inline void trim(const char **s, size_t *len)
{
    while (*len > 0 && (**s == ' ' || **s == '\t')) {
        (*s)++;
        (*len)--;
    }
    while (*len > 0 && ((*s)[*len - 1] == ' ' || (*s)[*len - 1] == '\t'))
        (*len)--;
}

static inline bool eq(const char *s, size_t len, const char *word)
{
    return strlen(word) == len && memcmp(s, word, len) == 0;
}

#endif /* EDXBUS_CLASSES_PARSE_H */
