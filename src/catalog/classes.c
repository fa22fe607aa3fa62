/* src/catalog/classes.c — the parser of payload-class files (catalog/openedx_events.classes).
 *
 * A payload-class file is how an event is defined in openedx-events, written as plain text that
 * looks like the Python it mirrors: `module` lines, attrs classes (`class X(Base):` and one
 * `name: type [= default]` per field) and signals (`event <type>:` with signal, minor_version,
 * key_field, description, warning, unserializable and data). docs/internals/catalog.md has the
 * grammar. The parser works line by line; indentation is spaces only, and an indented line
 * belongs to the block above it. A text value (description…) may go on over more-indented lines,
 * joined with one space.
 *
 * Parsing is two passes: the first records every class and event with its types as written; the
 * second resolves class names (own module, then `module.Class`, then a name unique in this file,
 * then unique among the built-in classes) and checks bases for cycles. Errors always say
 * `file:line: what`, and the first error ends the parse.
 *
 * The type expressions of fields (str, List[T], a class…) and the Python type tables are parsed
 * in classes_type.c; what the two files share is in classes_parse.h.
 *
 * To add a custom type (a new opaque key), add a row to CUSTOM_TYPES (classes_type.c) and a
 * validator to checks.c.
 */
#include "catalog/classes_parse.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------------------------------
 * Memory: everything goes on the file's list and is freed together
 * ------------------------------------------------------------------------------------------- */

void edxbus__classes_fail(struct parser *p, int line, const char *fmt, ...)
{
    if (p->failed)
        return;
    p->failed = true;
    if (p->errstr == NULL || p->errstr_size == 0)
        return;
    int n = snprintf(p->errstr, p->errstr_size, "%s:%d: ", p->cs->file, line);
    if (n < 0 || (size_t)n >= p->errstr_size)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->errstr + n, p->errstr_size - (size_t)n, fmt, ap);
    va_end(ap);
}

void *edxbus__classes_alloc(struct parser *p, size_t size)
{
    struct edxbus__classes *cs = p->cs;
    if (cs->nallocs == cs->allocs_cap) {
        size_t cap = cs->allocs_cap ? cs->allocs_cap * 2 : 64;
        void **v = realloc(cs->allocs, cap * sizeof *v);
        if (v == NULL)
            goto nomem;
        cs->allocs = v;
        cs->allocs_cap = cap;
    }
    void *mem = calloc(1, size);
    if (mem == NULL)
        goto nomem;
    cs->allocs[cs->nallocs++] = mem;
    return mem;
nomem:
    edxbus__classes_fail(p, p->line, "out of memory");
    return NULL;
}

char *edxbus__classes_strndup(struct parser *p, const char *s, size_t len)
{
    char *copy = edxbus__classes_alloc(p, len + 1);
    if (copy != NULL)
        memcpy(copy, s, len);
    return copy;
}

static bool push_ptr(struct parser *p, void ***v, size_t *n, size_t *cap, void *item)
{
    if (*n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 16;
        void **nv = realloc(*v, ncap * sizeof *nv);
        if (nv == NULL) {
            edxbus__classes_fail(p, p->line, "out of memory");
            return false;
        }
        *v = nv;
        *cap = ncap;
    }
    (*v)[(*n)++] = item;
    return true;
}

void edxbus__classes_destroy(struct edxbus__classes *cs)
{
    if (cs == NULL)
        return;
    for (size_t i = 0; i < cs->nallocs; i++)
        free(cs->allocs[i]);
    free(cs->allocs);
    free(cs->classes);
    free(cs->events);
    free(cs->file);
    free(cs);
}

size_t edxbus__classes_nevents(const struct edxbus__classes *cs)
{
    return cs->nevents;
}

const struct edxbus__event_def *edxbus__classes_event(const struct edxbus__classes *cs, size_t i)
{
    return &cs->events[i]->def;
}

/* ---------------------------------------------------------------------------------------------
 * Event types
 * ------------------------------------------------------------------------------------------- */

/* An event type: dotted parts of letters, digits, '_' and '-' ("org.openedx.x.y.v1"). */
static bool valid_event_type(const char *s, size_t len)
{
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && s[i] != '.') {
            if (i == start ? !is_ident_start(s[i]) : !(is_ident_char(s[i]) || s[i] == '-'))
                return false;
            continue;
        }
        if (i == start)
            return false;
        start = i + 1;
    }
    return len > 0;
}

/* ---------------------------------------------------------------------------------------------
 * Lines
 * ------------------------------------------------------------------------------------------- */

/* Whether @p s is a default openedx-events' attrs classes could have. Only "None" changes the
 * schema; the rest is kept as documentation. */
static bool valid_default(const char *s, size_t len)
{
    if (eq(s, len, "None") || eq(s, len, "True") || eq(s, len, "False") || eq(s, len, "dict") ||
        eq(s, len, "list"))
        return true;
    if (len >= 9 && memcmp(s, "factory(", 8) == 0 && s[len - 1] == ')')
        return is_ident(s + 8, len - 9);
    if (len >= 2 && (s[0] == '"' || s[0] == '\'') && s[len - 1] == s[0])
        return memchr(s + 1, s[0], len - 2) == NULL;
    size_t i = (len > 0 && s[0] == '-') ? 1 : 0;
    if (i == len)
        return false;
    bool dot = false;
    for (; i < len; i++) {
        if (s[i] == '.' && !dot)
            dot = true;
        else if (!isdigit((unsigned char)s[i]))
            return false;
    }
    return true;
}

/* `name: type [= default] [# comment]` into a new field (class fields and event data). */
static struct cfield *parse_field_line(struct parser *p, const char *s, size_t len, bool in_class)
{
    const char *hash = memchr(s, '#', len);
    if (hash != NULL) {
        /* quotes in defaults never hold '#'; a comment runs to the end of the line */
        const char *q = memchr(s, '"', (size_t)(hash - s));
        if (q == NULL)
            len = (size_t)(hash - s);
    }
    trim(&s, &len);
    const char *colon = memchr(s, ':', len);
    if (colon == NULL) {
        edxbus__classes_fail(p, p->line, "expected \"name: type\", got \"%.*s\"", (int)len, s);
        return NULL;
    }
    const char *name = s;
    size_t nlen = (size_t)(colon - s);
    trim(&name, &nlen);
    if (!is_ident(name, nlen)) {
        edxbus__classes_fail(p, p->line, "\"%.*s\" is not a field name (letters, digits and _)",
                             (int)nlen, name);
        return NULL;
    }
    const char *type = colon + 1;
    size_t tlen = len - (size_t)(type - s);
    const char *dflt = NULL;
    size_t dlen = 0;
    const char *equals = memchr(type, '=', tlen);
    if (equals != NULL) {
        dflt = equals + 1;
        dlen = tlen - (size_t)(dflt - type);
        tlen = (size_t)(equals - type);
        trim(&dflt, &dlen);
        if (!in_class) {
            edxbus__classes_fail(p, p->line,
                                 "an event's data field has no default (openedx-events requires "
                                 "every data kwarg)");
            return NULL;
        }
        if (!valid_default(dflt, dlen)) {
            edxbus__classes_fail(
                p, p->line,
                "default \"%.*s\" of %.*s: expected None, True, False, a number, a "
                "quoted string, dict, list or factory(T)",
                (int)dlen, dflt, (int)nlen, name);
            return NULL;
        }
    }
    trim(&type, &tlen);
    struct cfield *f = edxbus__classes_alloc(p, sizeof *f);
    if (f == NULL)
        return NULL;
    f->line = p->line;
    f->name = edxbus__classes_strndup(p, name, nlen);
    f->type_text = edxbus__classes_strndup(p, type, tlen);
    f->type = edxbus__classes_parse_type(p, type, tlen);
    if (dflt != NULL) {
        f->default_text = edxbus__classes_strndup(p, dflt, dlen);
        f->optional = eq(dflt, dlen, "None");
    }
    if (f->name == NULL || f->type_text == NULL || f->type == NULL ||
        (dflt != NULL && f->default_text == NULL))
        return NULL;
    return f;
}

static struct cclass *find_class_in(const struct edxbus__classes *cs, const char *module,
                                    const char *name, size_t nlen, size_t *count)
{
    struct cclass *found = NULL;
    *count = 0;
    for (size_t i = 0; i < cs->nclasses; i++) {
        struct cclass *c = cs->classes[i];
        if (module != NULL && strcmp(c->module, module) != 0)
            continue;
        if (eq(name, nlen, c->name)) {
            found = c;
            (*count)++;
        }
    }
    return found;
}

static bool begin_class(struct parser *p, const char *s, size_t len, struct cclass **out)
{
    /* s: what follows "class " up to and without the ':' */
    trim(&s, &len);
    size_t nlen = ident_len(s, len);
    if (nlen == 0) {
        edxbus__classes_fail(p, p->line, "expected a class name after \"class\"");
        return false;
    }
    size_t count;
    struct cclass *dup = find_class_in(p->cs, p->module, s, nlen, &count);
    if (dup != NULL) {
        edxbus__classes_fail(p, p->line, "class %.*s is already defined at line %d", (int)nlen, s,
                             dup->line);
        return false;
    }
    struct cclass *c = edxbus__classes_alloc(p, sizeof *c);
    if (c == NULL)
        return false;
    c->line = p->line;
    c->module = p->module;
    c->name = edxbus__classes_strndup(p, s, nlen);
    c->tail = &c->fields;
    const char *rest = s + nlen;
    size_t rlen = len - nlen;
    trim(&rest, &rlen);
    if (rlen > 0) {
        if (rest[0] != '(' || rest[rlen - 1] != ')') {
            edxbus__classes_fail(p, p->line, "expected \"class Name:\" or \"class Name(Base):\"");
            return false;
        }
        const char *b = rest + 1;
        size_t blen = rlen - 2;
        trim(&b, &blen);
        const char *dot = memchr(b, '.', blen);
        bool ok =
            dot ? is_ident(b, (size_t)(dot - b)) && is_ident(dot + 1, blen - (size_t)(dot - b) - 1)
                : is_ident(b, blen);
        if (!ok) {
            edxbus__classes_fail(p, p->line,
                                 "base class \"%.*s\": expected one class name (multiple bases are "
                                 "not supported)",
                                 (int)blen, b);
            return false;
        }
        c->base_name = edxbus__classes_strndup(p, b, blen);
    }
    if (c->name == NULL ||
        !push_ptr(p, (void ***)&p->cs->classes, &p->cs->nclasses, &p->cs->classes_cap, c))
        return false;
    *out = c;
    return true;
}

static bool begin_event(struct parser *p, const char *s, size_t len, struct cevent **out)
{
    trim(&s, &len);
    if (!valid_event_type(s, len)) {
        edxbus__classes_fail(p, p->line,
                             "\"%.*s\" is not an event type (dotted names, e.g. "
                             "org.openedx.learning.thing.happened.v1)",
                             (int)len, s);
        return false;
    }
    for (size_t i = 0; i < p->cs->nevents; i++) {
        if (eq(s, len, p->cs->events[i]->def.type)) {
            edxbus__classes_fail(p, p->line, "event %.*s is already defined at line %d", (int)len,
                                 s, p->cs->events[i]->def.line);
            return false;
        }
    }
    struct cevent *ev = edxbus__classes_alloc(p, sizeof *ev);
    if (ev == NULL)
        return false;
    ev->def.line = p->line;
    ev->def.type = edxbus__classes_strndup(p, s, len);
    ev->module = p->module;
    ev->tail = &ev->data;
    if (ev->def.type == NULL ||
        !push_ptr(p, (void ***)&p->cs->events, &p->cs->nevents, &p->cs->events_cap, ev))
        return false;
    *out = ev;
    return true;
}

/* The text of a key; continuation lines are added by append_text(). */
static bool set_text(struct parser *p, const char **slot, const char *v, size_t vlen,
                     const char *key, size_t klen)
{
    if (*slot != NULL) {
        edxbus__classes_fail(p, p->line, "%.*s is given twice", (int)klen, key);
        return false;
    }
    if (vlen == 0) {
        edxbus__classes_fail(p, p->line, "%.*s: empty value", (int)klen, key);
        return false;
    }
    *slot = edxbus__classes_strndup(p, v, vlen);
    return *slot != NULL;
}

static bool append_text(struct parser *p, const char **slot, const char *v, size_t vlen)
{
    size_t old = strlen(*slot);
    char *joined = edxbus__classes_alloc(p, old + 1 + vlen + 1);
    if (joined == NULL)
        return false;
    memcpy(joined, *slot, old);
    joined[old] = ' ';
    memcpy(joined + old + 1, v, vlen);
    *slot = joined;
    return true;
}

static bool parse_int(const char *s, size_t len, int *out)
{
    if (len == 0 || len > 9)
        return false;
    int v = 0;
    for (size_t i = 0; i < len; i++) {
        if (!isdigit((unsigned char)s[i]))
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

enum ev_key { K_NONE, K_TEXT, K_DATA };

/* One `key: value` line of an event block. Sets *text_slot for continuation lines. */
static bool event_key(struct parser *p, struct cevent *ev, const char *s, size_t len,
                      enum ev_key *state, const char ***text_slot)
{
    const char *colon = memchr(s, ':', len);
    if (colon == NULL) {
        edxbus__classes_fail(p, p->line, "expected \"key: value\" in event %s", ev->def.type);
        return false;
    }
    const char *key = s;
    size_t klen = (size_t)(colon - s);
    const char *v = colon + 1;
    size_t vlen = len - klen - 1;
    trim(&v, &vlen);
    struct edxbus__event_def *d = &ev->def;
    const char **slot = NULL;
    *state = K_NONE;
    if (eq(key, klen, "signal")) {
        if (!is_ident(v, vlen)) {
            edxbus__classes_fail(p, p->line, "signal \"%.*s\" is not a Python name", (int)vlen, v);
            return false;
        }
        slot = &d->signal;
    } else if (eq(key, klen, "minor_version")) {
        if (!parse_int(v, vlen, &d->minor_version)) {
            edxbus__classes_fail(p, p->line, "minor_version \"%.*s\" is not a non-negative integer",
                                 (int)vlen, v);
            return false;
        }
        return true;
    } else if (eq(key, klen, "key_field")) {
        slot = &d->key_field;
    } else if (eq(key, klen, "description")) {
        slot = &d->description;
        *state = K_TEXT;
    } else if (eq(key, klen, "warning")) {
        slot = &d->warning;
        *state = K_TEXT;
    } else if (eq(key, klen, "unserializable")) {
        slot = &d->unserializable;
        *state = K_TEXT;
    } else if (eq(key, klen, "data")) {
        if (vlen != 0 || ev->has_data) {
            edxbus__classes_fail(p, p->line,
                                 vlen ? "data: list its fields on the lines below, one per line"
                                      : "data is given twice");
            return false;
        }
        ev->has_data = true;
        *state = K_DATA;
        return true;
    } else {
        edxbus__classes_fail(p, p->line,
                             "unknown key \"%.*s\" in event %s; expected signal, minor_version, "
                             "key_field, description, warning, unserializable or data",
                             (int)klen, key, d->type);
        return false;
    }
    *text_slot = slot;
    return set_text(p, slot, v, vlen, key, klen);
}

/* ---------------------------------------------------------------------------------------------
 * Resolution
 * ------------------------------------------------------------------------------------------- */

/* Find the class @p name (maybe "module.Class") as seen from @p module of @p cs. */
static struct cclass *lookup(struct parser *p, const char *module, const char *name, int line,
                             bool is_base)
{
    const struct edxbus__classes *sets[2] = {p->cs, p->cs->builtin};
    size_t count;
    const char *dot = strchr(name, '.');
    if (dot != NULL) {
        char mod[128];
        size_t mlen = (size_t)(dot - name);
        if (mlen < sizeof mod) {
            memcpy(mod, name, mlen);
            mod[mlen] = '\0';
            for (int i = 0; i < 2; i++) {
                struct cclass *c =
                    sets[i] ? find_class_in(sets[i], mod, dot + 1, strlen(dot + 1), &count) : NULL;
                if (c != NULL)
                    return c;
            }
        }
        edxbus__classes_fail(p, line, "unknown class %s", name);
        return NULL;
    }
    struct cclass *c = find_class_in(p->cs, module, name, strlen(name), &count);
    if (c != NULL)
        return c;
    for (int i = 0; i < 2; i++) {
        if (sets[i] == NULL)
            continue;
        c = find_class_in(sets[i], NULL, name, strlen(name), &count);
        if (count > 1) {
            /* name both candidates so the fix is obvious */
            const char *m1 = NULL;
            for (size_t j = 0; j < sets[i]->nclasses && m1 == NULL; j++) {
                if (strcmp(sets[i]->classes[j]->name, name) == 0)
                    m1 = sets[i]->classes[j]->module;
            }
            edxbus__classes_fail(p, line, "class %s is ambiguous: write %s.%s or %s.%s", name, m1,
                                 name, c->module, name);
            return NULL;
        }
        if (c != NULL)
            return c;
    }
    if (is_base)
        edxbus__classes_fail(p, line, "unknown class %s", name);
    else
        edxbus__classes_fail(
            p, line,
            "unknown type %s; expected str, int, bool, float, bytes, datetime, UUID, "
            "an opaque key type, List[T], Dict[str, T] or a class",
            name);
    return NULL;
}

static bool resolve_type(struct parser *p, struct ctype *t, const char *module, int line)
{
    for (; t != NULL; t = t->item) {
        if (t->kind == CT_CLASS) {
            t->cls = lookup(p, module, t->name, line, false);
            if (t->cls == NULL)
                return false;
        }
    }
    return true;
}

static bool resolve(struct parser *p)
{
    struct edxbus__classes *cs = p->cs;
    for (size_t i = 0; i < cs->nclasses; i++) {
        struct cclass *c = cs->classes[i];
        if (c->base_name != NULL) {
            c->base = lookup(p, c->module, c->base_name, c->line, true);
            if (c->base == NULL)
                return false;
        }
        for (struct cfield *f = c->fields; f != NULL; f = f->next) {
            if (!resolve_type(p, f->type, c->module, f->line))
                return false;
        }
    }
    for (size_t i = 0; i < cs->nclasses; i++) {
        struct cclass *c = cs->classes[i];
        size_t steps = 0;
        for (struct cclass *b = c->base; b != NULL; b = b->base) {
            if (b == c || ++steps > cs->nclasses) {
                edxbus__classes_fail(p, c->line, "class %s inherits from itself", c->name);
                return false;
            }
        }
    }
    for (size_t i = 0; i < cs->nevents; i++) {
        struct cevent *ev = cs->events[i];
        if (ev->def.description == NULL)
            ev->def.description = "";
        if (!ev->has_data) {
            edxbus__classes_fail(p, ev->def.line, "event %s has no data: section", ev->def.type);
            return false;
        }
        for (struct cfield *f = ev->data; f != NULL; f = f->next) {
            if (!resolve_type(p, f->type, ev->module, f->line))
                return false;
        }
    }
    return true;
}

/* ---------------------------------------------------------------------------------------------
 * The file
 * ------------------------------------------------------------------------------------------- */

static bool dup_field(struct parser *p, struct cfield *list, struct cfield *f)
{
    for (struct cfield *g = list; g != NULL; g = g->next) {
        if (strcmp(g->name, f->name) == 0) {
            edxbus__classes_fail(p, f->line, "field %s is already defined at line %d", f->name,
                                 g->line);
            return true;
        }
    }
    return false;
}

static bool parse_lines(struct parser *p, const char *text, size_t len)
{
    struct cclass *cls = NULL; /* the open block, if any */
    struct cevent *ev = NULL;
    size_t body_indent = 0; /* indent of the open block's lines; 0 until its first line */
    enum ev_key state = K_NONE;
    const char **text_slot = NULL;
    const char *end = text + len;
    for (const char *s = text; s < end && !p->failed;) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        const char *eol = nl ? nl : end;
        const char *next = nl ? nl + 1 : end;
        p->line++;
        size_t llen = (size_t)(eol - s);
        if (llen > 0 && s[llen - 1] == '\r')
            llen--;
        size_t indent = 0;
        while (indent < llen && s[indent] == ' ')
            indent++;
        if (indent < llen && s[indent] == '\t') {
            edxbus__classes_fail(p, p->line, "tab in indentation; indent with spaces");
            return false;
        }
        const char *body = s + indent;
        size_t blen = llen - indent;
        trim(&body, &blen);
        s = next;
        if (blen == 0 || body[0] == '#')
            continue;
        if (memchr(body, '\0', blen) != NULL) {
            edxbus__classes_fail(p, p->line, "NUL byte in the file");
            return false;
        }
        if (indent == 0) {
            cls = NULL;
            ev = NULL;
            body_indent = 0;
            state = K_NONE;
            if (blen > 7 && memcmp(body, "module ", 7) == 0) {
                const char *m = body + 7;
                size_t mlen = blen - 7;
                trim(&m, &mlen);
                if (!is_ident(m, mlen)) {
                    edxbus__classes_fail(p, p->line,
                                         "\"%.*s\" is not a module name (letters, digits and _)",
                                         (int)mlen, m);
                    return false;
                }
                p->module = edxbus__classes_strndup(p, m, mlen);
                if (p->module == NULL)
                    return false;
            } else if (blen > 6 && memcmp(body, "class ", 6) == 0 && body[blen - 1] == ':') {
                if (!begin_class(p, body + 6, blen - 7, &cls))
                    return false;
            } else if (blen > 6 && memcmp(body, "event ", 6) == 0 && body[blen - 1] == ':') {
                if (!begin_event(p, body + 6, blen - 7, &ev))
                    return false;
            } else {
                edxbus__classes_fail(
                    p, p->line,
                    "expected \"module name\", \"class Name:\" or \"event type:\", "
                    "got \"%.*s\"",
                    (int)(blen > 40 ? 40 : blen), body);
                return false;
            }
            continue;
        }
        if (cls == NULL && ev == NULL) {
            edxbus__classes_fail(p, p->line, "indented line outside a class or event");
            return false;
        }
        if (body_indent == 0)
            body_indent = indent;
        if (indent < body_indent) {
            edxbus__classes_fail(p, p->line, "indentation does not match the lines above");
            return false;
        }
        if (cls != NULL) {
            if (indent != body_indent) {
                edxbus__classes_fail(p, p->line, "unexpected indentation in class %s", cls->name);
                return false;
            }
            if (eq(body, blen, "pass"))
                continue;
            struct cfield *f = parse_field_line(p, body, blen, true);
            if (f == NULL || dup_field(p, cls->fields, f))
                return false;
            *cls->tail = f;
            cls->tail = &f->next;
            continue;
        }
        if (indent == body_indent) {
            if (!event_key(p, ev, body, blen, &state, &text_slot))
                return false;
        } else if (state == K_TEXT) {
            if (!append_text(p, text_slot, body, blen))
                return false;
        } else if (state == K_DATA) {
            struct cfield *f = parse_field_line(p, body, blen, false);
            if (f == NULL || dup_field(p, ev->data, f))
                return false;
            *ev->tail = f;
            ev->tail = &f->next;
        } else {
            edxbus__classes_fail(p, p->line, "unexpected indentation in event %s", ev->def.type);
            return false;
        }
    }
    return !p->failed;
}

struct edxbus__classes *edxbus__classes_parse(const char *text, size_t len, const char *file,
                                              const struct edxbus__classes *builtin, char *errstr,
                                              size_t errstr_size)
{
    struct edxbus__classes *cs = calloc(1, sizeof *cs);
    if (cs == NULL)
        goto nomem;
    cs->file = strdup(file);
    if (cs->file == NULL)
        goto nomem;
    cs->builtin = builtin;
    struct parser p = {.cs = cs, .module = "", .errstr = errstr, .errstr_size = errstr_size};
    if (!parse_lines(&p, text, len) || !resolve(&p))
        goto out_cs;
    return cs;
nomem:
    if (errstr != NULL && errstr_size > 0)
        edxbus_errf(errstr, errstr_size, "%s: out of memory", file);
out_cs:
    edxbus__classes_destroy(cs);
    return NULL;
}
