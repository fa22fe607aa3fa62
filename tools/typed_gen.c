/* tools/typed_gen.c — build-time generator of the typed C API of the event catalog.
 *
 *     typed_gen IN.classes OUTDIR NAME
 *
 * Reads the catalog source (catalog/openedx_events.classes) with the parser the library uses
 * (src/catalog/classes.c) and writes, under OUTDIR:
 *   include/edxbus/events.h  one struct per payload class and per event's data, and per
 *                            serializable event its encode/decode/to_json/from_json, descriptor,
 *                            typed send and typed receiver;
 *   typed_encode.c           straight-line encoders: each run of fields without a list or map
 *                            sums its size bound, reserves once, writes through a bare pointer
 *                            and tests its checks once (src/typed/typed_int.h);
 *   typed_decode.c           straight-line decoders: one bounds-checked read per field, list and
 *                            map items in the caller's arena, strings borrowed from the input;
 *   typed_json.c             conversions to and from the plain JSON form, one function per class
 *                            and container type, and the descriptor table.
 * Nested classes are expanded in place in the codecs (the catalog's classes never contain
 * themselves), so every field's path is a literal and nothing walks a schema at run time.
 *
 * Names: a class is edxbus_<snake_case> (XBlockData -> edxbus_xblock_data), prefixed by its
 * module when two modules define it (edxbus_learning_course_data); an event's data is
 * edxbus_<signal>_data. Any clash, an unsupported type in a serializable event, or nesting
 * deeper than the runtime allows fails the build with a line naming it. Each file is written to
 * a .tmp and renamed, so a failed run leaves no half-written output.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/classes_int.h"

/* Lists and maps nest at most this deep (EDXBUS__TYPED_MAX_NEST in src/typed/typed_int.h). */
#define MAX_NEST 8
#define MAX_FIELDS 128
#define MAX_ITEMS 512

/* The tool leaks by design (it runs once and exits); sanitizer builds must not fail on it. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "detect_leaks=0";
}

static const char *g_file;

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "typed_gen: %s: ", g_file);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    char *s = NULL;
    if (vasprintf(&s, f, ap) < 0)
        die("out of memory");
    va_end(ap);
    return s;
}

/* ---------------------------------------------------------------------------------------------
 * Names and types
 * ------------------------------------------------------------------------------------------- */

static const struct edxbus__classes *g_cs;

static char *snake(const char *name)
{
    char out[256];
    size_t n = 0;
    for (size_t i = 0; name[i] != '\0' && n + 3 < sizeof out; i++) {
        char c = name[i];
        if (strncmp(name + i, "XBlock", 6) == 0) { /* one word in Open edX */
            if (i > 0)
                out[n++] = '_';
            memcpy(out + n, "xblock", 6);
            n += 6;
            i += 5;
            continue;
        }
        if (isupper((unsigned char)c) && i > 0) {
            char prev = name[i - 1], next = name[i + 1];
            if (islower((unsigned char)prev) || isdigit((unsigned char)prev) ||
                (isupper((unsigned char)prev) && islower((unsigned char)next)))
                out[n++] = '_';
        }
        out[n++] = (char)tolower((unsigned char)c);
    }
    out[n] = '\0';
    return fmt("%s", out);
}

static const char *const c_keywords[] = {
    "auto",     "break",  "case",   "char",     "const",    "continue", "default",  "do",
    "double",   "else",   "enum",   "extern",   "float",    "for",      "goto",     "if",
    "inline",   "int",    "long",   "register", "restrict", "return",   "short",    "signed",
    "sizeof",   "static", "struct", "switch",   "typedef",  "union",    "unsigned", "void",
    "volatile", "while",  "bool",   "true",     "false",    NULL};

/* The C member name of a field: the Python name, with '_' appended to a C keyword. */
static const char *member(const struct cfield *f)
{
    for (size_t i = 0; c_keywords[i] != NULL; i++) {
        if (strcmp(f->name, c_keywords[i]) == 0)
            return fmt("%s_", f->name);
    }
    return f->name;
}

struct cinfo {
    const struct cclass *cls;
    char *cname; /* "learning_course_data" */
    const struct cfield *fields[MAX_FIELDS];
    size_t nfields;
    int emitted;
};

static struct cinfo *g_ci;
static size_t g_nci;

static struct cinfo *info(const struct cclass *c)
{
    for (size_t i = 0; i < g_nci; i++) {
        if (g_ci[i].cls == c)
            return &g_ci[i];
    }
    die("class %s not found", c->name);
}

static bool overridden(const struct cfield *f, const struct cclass **derived, size_t nderived)
{
    for (size_t i = 0; i < nderived; i++) {
        for (const struct cfield *d = derived[i]->fields; d != NULL; d = d->next) {
            if (strcmp(f->name, d->name) == 0)
                return true;
        }
    }
    return false;
}

/* The fields of @p c in attrs order (classes_schema.c gen_fields: a base's first, a field a
 * subclass defines again moving to the subclass's place). */
static void attrs_fields(const struct cclass *c, const struct cclass **derived, size_t nderived,
                         struct cinfo *ci)
{
    if (c->base != NULL) {
        if (nderived >= 16)
            die("class %s: too many levels of bases", c->name);
        derived[nderived] = c;
        attrs_fields(c->base, derived, nderived + 1, ci);
    }
    for (const struct cfield *f = c->fields; f != NULL; f = f->next) {
        if (overridden(f, derived, nderived))
            continue;
        if (ci->nfields == MAX_FIELDS)
            die("class %s: too many fields", ci->cls->name);
        ci->fields[ci->nfields++] = f;
    }
}

static bool is_str(const struct ctype *t)
{
    return t->kind == CT_CUSTOM || (t->kind == CT_PRIM && strcmp(t->avro, "string") == 0);
}

static bool is_prim(const struct ctype *t, const char *avro)
{
    return t->kind == CT_PRIM && strcmp(t->avro, avro) == 0;
}

/* The short name of a type inside container type names: str long bool double <class> list_X
 * map_X. */
static char *tag(const struct ctype *t)
{
    if (is_str(t))
        return fmt("str");
    switch (t->kind) {
    case CT_PRIM:
        if (strcmp(t->avro, "long") == 0)
            return fmt("long");
        if (strcmp(t->avro, "boolean") == 0)
            return fmt("bool");
        if (strcmp(t->avro, "double") == 0)
            return fmt("double");
        return fmt("%s", t->avro);
    case CT_CLASS:
        return fmt("%s", info(t->cls)->cname);
    case CT_LIST:
        return fmt("list_%s", tag(t->item));
    case CT_DICT:
        return fmt("map_%s", tag(t->item));
    default:
        return fmt("unsupported");
    }
}

/* The C type of a value of @p t. */
static char *ctype(const struct ctype *t)
{
    if (is_str(t))
        return fmt("struct edxbus_str");
    switch (t->kind) {
    case CT_PRIM:
        if (strcmp(t->avro, "long") == 0)
            return fmt("int64_t");
        if (strcmp(t->avro, "boolean") == 0)
            return fmt("bool");
        if (strcmp(t->avro, "double") == 0)
            return fmt("double");
        return fmt("const void *"); /* bytes: not in the catalog; no codec */
    case CT_CLASS:
    case CT_LIST:
    case CT_DICT:
        return fmt("struct edxbus_%s", tag(t));
    default:
        return fmt("const void *");
    }
}

/* The C type of one item of a list or map type @p t. */
static char *item_ctype(const struct ctype *t)
{
    if (t->kind == CT_DICT)
        return fmt("struct edxbus_%s_entry", tag(t));
    return ctype(t->item);
}

/* Whether a value of @p t can go through the codecs. */
static bool supported(const struct ctype *t)
{
    if (is_str(t))
        return true;
    switch (t->kind) {
    case CT_PRIM:
        return is_prim(t, "long") || is_prim(t, "boolean") || is_prim(t, "double");
    case CT_CLASS: {
        struct cinfo *ci = info(t->cls);
        for (size_t i = 0; i < ci->nfields; i++) {
            if (!supported(ci->fields[i]->type))
                return false;
        }
        return true;
    }
    case CT_LIST:
    case CT_DICT:
        return supported(t->item);
    default:
        return false;
    }
}

/* Whether @p t holds no list or map (its size bound is a sum, its writes need no loop). */
static bool simple(const struct ctype *t)
{
    if (t->kind == CT_LIST || t->kind == CT_DICT)
        return false;
    if (t->kind == CT_CLASS) {
        struct cinfo *ci = info(t->cls);
        for (size_t i = 0; i < ci->nfields; i++) {
            if (!simple(ci->fields[i]->type))
                return false;
        }
    }
    return true;
}

/* Fewest bytes a value of @p t takes (bounds block counts by the bytes left). */
static size_t min_bytes(const struct ctype *t)
{
    if (t->kind == CT_CLASS) {
        struct cinfo *ci = info(t->cls);
        size_t n = 0;
        for (size_t i = 0; i < ci->nfields; i++)
            n += ci->fields[i]->optional ? 1 : min_bytes(ci->fields[i]->type);
        return n;
    }
    if (is_prim(t, "double"))
        return 8;
    return 1;
}

/* Text safe inside a C comment. */
static char *comment_text(const char *s)
{
    size_t n = strlen(s);
    char *out = malloc(2 * n + 1);
    size_t k = 0;
    if (out == NULL)
        die("out of memory");
    for (size_t i = 0; i < n; i++) {
        out[k++] = s[i];
        if (s[i] == '*' && s[i + 1] == '/')
            out[k++] = ' ';
        if (s[i] == '/' && s[i + 1] == '*')
            out[k++] = ' ';
    }
    out[k] = '\0';
    return out;
}

/* Write @p text as comment lines starting with @p lead, wrapped before 100 columns. */
static void wrap(FILE *out, const char *lead, const char *text)
{
    char *t = comment_text(text);
    size_t width = 98 - strlen(lead);
    const char *p = t;
    while (*p != '\0') {
        size_t n = strlen(p);
        if (n > width) {
            n = width;
            while (n > 0 && p[n] != ' ')
                n--;
            if (n == 0)
                n = width;
        }
        fprintf(out, "%s%.*s\n", lead, (int)n, p);
        p += n;
        while (*p == ' ')
            p++;
    }
    free(t);
}

/* ---------------------------------------------------------------------------------------------
 * Events
 * ------------------------------------------------------------------------------------------- */

struct einfo {
    const struct cevent *ev;
    char *sig; /* "course_enrollment_created" */
    const struct cfield *fields[MAX_FIELDS];
    size_t nfields;
    bool codec;
};

static struct einfo *g_ei;
static size_t g_nei;

static int cmp_events(const void *a, const void *b)
{
    return strcmp(((const struct einfo *)a)->ev->def.type, ((const struct einfo *)b)->ev->def.type);
}

/* ---------------------------------------------------------------------------------------------
 * events.h
 * ------------------------------------------------------------------------------------------- */

struct container {
    const struct ctype *t;
    char *tag;
};
static struct container g_cont[256];
static size_t g_ncont;

static void collect(const struct ctype *t, int depth)
{
    if (depth > MAX_NEST)
        die("%s: lists and maps nest deeper than %d", t->name, MAX_NEST);
    if (t->kind != CT_LIST && t->kind != CT_DICT)
        return;
    if (t->item->kind == CT_UNSUPPORTED)
        die("%s: a container of an unsupported type", t->name);
    collect(t->item, depth + 1);
    char *tg = tag(t);
    for (size_t i = 0; i < g_ncont; i++) {
        if (strcmp(g_cont[i].tag, tg) == 0)
            return;
    }
    if (g_ncont == 256)
        die("too many container types");
    g_cont[g_ncont].t = t;
    g_cont[g_ncont].tag = tg;
    g_ncont++;
}

static void field_comment(FILE *out, const struct cfield *f)
{
    fprintf(out, " /* %s", comment_text(f->type_text));
    if (f->optional)
        fprintf(out, "; optional: has_%s", f->name);
    else if (f->default_text != NULL)
        fprintf(out, "; Python default %s (required here, as in the schema)",
                comment_text(f->default_text));
    if (f->type->kind == CT_UNSUPPORTED)
        fprintf(out, "; no Avro type");
    fputs(" */\n", out);
}

static void struct_fields(FILE *out, const struct cfield *const *fields, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const struct cfield *f = fields[i];
        if (f->optional)
            fprintf(out, "    bool has_%s; /* whether %s is present (else null) */\n", f->name,
                    member(f));
        char *ct = ctype(f->type);
        bool ptr = ct[strlen(ct) - 1] == '*';
        fprintf(out, "    %s%s%s;", ct, ptr ? "" : " ", member(f));
        field_comment(out, f);
    }
}

static void emit_class(FILE *out, struct cinfo *ci)
{
    if (ci->emitted == 2)
        return;
    if (ci->emitted == 1)
        die("class %s contains itself", ci->cls->name);
    ci->emitted = 1;
    for (size_t i = 0; i < ci->nfields; i++) {
        const struct ctype *t = ci->fields[i]->type;
        if (t->kind == CT_CLASS)
            emit_class(out, info(t->cls));
    }
    const struct cclass *c = ci->cls;
    fprintf(out, "/** %s%s%s (openedx_events/%s/data.py)%s%s. */\n", c->module,
            c->module[0] ? "." : "", c->name, c->module[0] ? c->module : "?",
            c->base ? ", a subclass of " : "", c->base ? c->base->name : "");
    fprintf(out, "struct edxbus_%s {\n", ci->cname);
    struct_fields(out, ci->fields, ci->nfields);
    fputs("};\n\n", out);
    ci->emitted = 2;
}

static void write_header(FILE *out, const char *name)
{
    fprintf(
        out,
        "/* include/edxbus/events.h — the typed C API of the event catalog.\n"
        " *\n"
        " * GENERATED by tools/typed_gen.c from %s. Do not edit: edit the source and\n"
        " * rebuild.\n"
        " *\n"
        " * One struct per payload class of openedx-events and one per event's data (its\n"
        " * signal's kwargs), fields in the schema's order. A field's C type follows its\n"
        " * Python type: str and the custom types (datetime, UUID, CourseKey…) are struct\n"
        " * edxbus_str, int int64_t, bool bool, float double, a class its struct, List[T] a\n"
        " * struct edxbus_list_<T> {items, len} and Dict[str, T] a struct edxbus_map_<T> of\n"
        " * {key, value} entries. A field whose default is None has a `has_<field>` flag:\n"
        " * false sends null.\n"
        " *\n"
        " * For every serializable event <signal> (course_enrollment_created…):\n"
        " *   edxbus_<signal>_encode()    data struct -> Avro bytes appended to a struct\n"
        " *                               edxbus_buf; custom-typed strings are checked as on\n"
        " *                               the generic path (EDXBUS_AVRO_NO_CHECKS skips them),\n"
        " *                               strings must be UTF-8, doubles finite.\n"
        " *                               Errors: EDXBUS_ERR_ENCODE `<field path>: <what>`,\n"
        " *                               EDXBUS_ERR_NOMEM; the buffer keeps its old length.\n"
        " *   edxbus_<signal>_decode()    Avro bytes -> data struct. Strings point into the\n"
        " *                               input; list and map items go to @p arena: the\n"
        " *                               struct borrows both. Errors: EDXBUS_ERR_DECODE\n"
        " *                               `avro: byte N: <what> in field \"<path>\"`, NOMEM.\n"
        " *   edxbus_<signal>_to_json()   data struct -> the plain JSON form (returns new;\n"
        " *                               NULL when a string is not UTF-8 or out of memory).\n"
        " *   edxbus_<signal>_from_json() plain JSON form -> data struct (strings borrowed\n"
        " *                               from the json_t, items in @p arena). Errors:\n"
        " *                               EDXBUS_ERR_ENCODE naming the field.\n"
        " *   edxbus_<signal>_event       its descriptor (typed.h), for the generic calls.\n"
        " *   edxbus_send_<signal>()      encode and send on a bus (edxbus_typed_send()).\n"
        " *   edxbus_connect_<signal>()   a receiver that gets the decoded struct\n"
        " *                               (edxbus_typed_connect()).\n"
        " *\n"
        " * Thread rule: as typed.h.\n"
        " */\n"
        "#ifndef EDXBUS_EVENTS_H\n#define EDXBUS_EVENTS_H\n\n"
        "#include <stdbool.h>\n#include <stdint.h>\n\n#include \"edxbus/typed.h\"\n\n"
        "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n",
        name);
    for (size_t i = 0; i < g_nci; i++)
        fprintf(out, "struct edxbus_%s;\n", g_ci[i].cname);
    fputs("\n/* Lists and maps, one type per item type: `len` items at `items`. */\n", out);
    for (size_t i = 0; i < g_ncont; i++) {
        const struct ctype *t = g_cont[i].t;
        if (t->kind == CT_DICT)
            fprintf(out, "struct edxbus_%s_entry;\n", g_cont[i].tag);
        fprintf(out, "struct edxbus_%s {\n    const %s *items;\n    size_t len;\n};\n",
                g_cont[i].tag, item_ctype(t));
    }
    fputs("\n", out);
    for (size_t i = 0; i < g_nci; i++)
        emit_class(out, &g_ci[i]);
    for (size_t i = 0; i < g_ncont; i++) {
        const struct ctype *t = g_cont[i].t;
        if (t->kind != CT_DICT)
            continue;
        char *vt = ctype(t->item);
        fprintf(out, "struct edxbus_%s_entry {\n    struct edxbus_str key;\n    %s value;\n};\n\n",
                g_cont[i].tag, vt);
    }
    for (size_t i = 0; i < g_nei; i++) {
        const struct einfo *e = &g_ei[i];
        const struct edxbus__event_def *d = &e->ev->def;
        fprintf(out,
                "/* ---------------------------------------------------------------------------"
                "------------------\n * %s\n * ------------------------------------------------"
                "--------------------------------------------- */\n\n",
                d->type);
        fprintf(out, "/** The data of %s (signal %s, minor version %d).\n", d->type, d->signal,
                d->minor_version);
        if (d->description && d->description[0])
            wrap(out, " *  ", d->description);
        if (d->key_field)
            fprintf(out, " *  Key field: %s.\n", d->key_field);
        if (d->warning)
            wrap(out, " *  Warning: ", d->warning);
        if (d->unserializable)
            wrap(out, " *  Not serializable (no codec): ", d->unserializable);
        fputs(" */\n", out);
        fprintf(out, "struct edxbus_%s_data {\n", e->sig);
        struct_fields(out, e->fields, e->nfields);
        fputs("};\n\n", out);
        if (!e->codec)
            continue;
        const char *s = e->sig;
        fprintf(out,
                "EDXBUS_API extern const struct edxbus_typed_event edxbus_%s_event;\n"
                "EDXBUS_API edxbus_err_t edxbus_%s_encode(const struct edxbus_%s_data *data,\n"
                "    unsigned flags, struct edxbus_buf *out, char *errstr, size_t errstr_size);\n"
                "EDXBUS_API edxbus_err_t edxbus_%s_decode(const uint8_t *bytes, size_t len,\n"
                "    struct edxbus_arena *arena, struct edxbus_%s_data *out, char *errstr,\n"
                "    size_t errstr_size);\n"
                "EDXBUS_API json_t *edxbus_%s_to_json(const struct edxbus_%s_data *data);\n"
                "EDXBUS_API edxbus_err_t edxbus_%s_from_json(const json_t *json,\n"
                "    struct edxbus_arena *arena, struct edxbus_%s_data *out, char *errstr,\n"
                "    size_t errstr_size);\n"
                "/** A typed receiver of %s: @p data and @p ev are borrowed for the call. */\n"
                "typedef edxbus_err_t (*edxbus_%s_fn)(const struct edxbus_%s_data *data,\n"
                "    const edxbus_event_t *ev, void *opaque, char *errstr, size_t errstr_size);\n"
                "static inline edxbus_err_t edxbus_send_%s(edxbus_bus_t *bus,\n"
                "    const struct edxbus_%s_data *data, unsigned flags,\n"
                "    struct edxbus_send_report *report, char *errstr, size_t errstr_size)\n"
                "{\n    return edxbus_typed_send(bus, &edxbus_%s_event, data, flags, report, "
                "errstr,\n                             errstr_size);\n}\n"
                "static inline edxbus_err_t edxbus_connect_%s(edxbus_bus_t *bus,\n"
                "    struct edxbus_typed_receiver *rcv, const char *name, edxbus_%s_fn fn,\n"
                "    void *opaque)\n"
                "{\n    return edxbus_typed_connect(bus, rcv, &edxbus_%s_event, name, "
                "(edxbus_typed_fn)fn,\n                                opaque);\n}\n\n",
                s, s, s, s, s, s, s, s, s, d->signal, s, s, s, s, s, s, s, s);
    }
    fputs("#ifdef __cplusplus\n}\n#endif\n#endif /* EDXBUS_EVENTS_H */\n", out);
}

/* ---------------------------------------------------------------------------------------------
 * typed_encode.c
 * ------------------------------------------------------------------------------------------- */

/* One field to encode after nested required classes are expanded in place. */
struct item {
    const struct ctype *t;
    bool optional;
    char *expr; /* the value: "v->enrollment.user.id" */
    char *has;  /* the presence flag when optional */
    char *path; /* for messages: "enrollment.user.id" */
};

static void flatten(const struct cfield *const *fields, size_t n, const char *prefix,
                    const char *path, struct item *items, size_t *nitems)
{
    for (size_t i = 0; i < n; i++) {
        const struct cfield *f = fields[i];
        char *expr = fmt("%s%s", prefix, member(f));
        char *p = fmt("%s%s%s", path, path[0] ? "." : "", f->name);
        if (!f->optional && f->type->kind == CT_CLASS) {
            struct cinfo *ci = info(f->type->cls);
            flatten(ci->fields, ci->nfields, fmt("%s.", expr), p, items, nitems);
            continue;
        }
        if (*nitems == MAX_ITEMS)
            die("too many fields at %s", p);
        items[*nitems] =
            (struct item){f->type, f->optional, expr, fmt("%shas_%s", prefix, f->name), p};
        (*nitems)++;
    }
}

static void class_items(const struct ctype *t, const char *expr, const char *path,
                        struct item *items, size_t *n)
{
    struct cinfo *ci = info(t->cls);
    flatten(ci->fields, ci->nfields, fmt("%s.", expr), path, items, n);
}

static bool item_simple(const struct item *it)
{
    return simple(it->t);
}

/* The size bound of a simple value, as a C expression. */
static void need_value(FILE *out, const struct ctype *t, const char *expr, const char *path)
{
    if (is_str(t)) {
        fprintf(out, " + %s.len + 10", expr);
    } else if (is_prim(t, "long")) {
        fputs(" + 10", out);
    } else if (is_prim(t, "boolean")) {
        fputs(" + 1", out);
    } else if (is_prim(t, "double")) {
        fputs(" + 8", out);
    } else if (t->kind == CT_CLASS) {
        struct item items[MAX_ITEMS];
        size_t n = 0;
        class_items(t, expr, path, items, &n);
        for (size_t i = 0; i < n; i++) {
            if (items[i].optional) {
                fprintf(out, " + (%s ? 1", items[i].has);
                need_value(out, items[i].t, items[i].expr, items[i].path);
                fputs(" : 1)", out);
            } else {
                need_value(out, items[i].t, items[i].expr, items[i].path);
            }
        }
    }
}

static void ind(FILE *out, int depth)
{
    for (int i = 0; i < depth; i++)
        fputs("    ", out);
}

/* Write a simple value through `w` (room already reserved), folding its checks into the run's
 * sticky `hi` (high bits of the string bytes) and `ok` (custom-type checks, finite doubles,
 * sane string pointers): no test or branch per field on the way. */
static void write_value(FILE *out, int dep, const struct ctype *t, const char *expr,
                        const char *path, enum edxbus__check check)
{
    if (is_str(t)) {
        ind(out, dep);
        fprintf(out, "w = edxbus__tenc_str(w, %s, &hi, &ok);\n", expr);
        if (check != EDXBUS__CHECK_NONE) {
            ind(out, dep);
            fprintf(out, "ok &= !checks || edxbus__tenc_check_ok(%s, %s);\n",
                    edxbus__check_enum_name(check), expr);
        }
    } else if (is_prim(t, "long")) {
        ind(out, dep);
        fprintf(out, "w = edxbus__tenc_long(w, %s);\n", expr);
    } else if (is_prim(t, "boolean")) {
        ind(out, dep);
        fprintf(out, "w = edxbus__tenc_bool(w, %s);\n", expr);
    } else if (is_prim(t, "double")) {
        ind(out, dep);
        fprintf(out, "w = edxbus__tenc_double(w, %s, &ok);\n", expr);
    } else if (t->kind == CT_CLASS) {
        struct item items[MAX_ITEMS];
        size_t n = 0;
        class_items(t, expr, path, items, &n);
        for (size_t i = 0; i < n; i++) {
            const struct item *it = &items[i];
            enum edxbus__check ck = it->t->kind == CT_CUSTOM ? it->t->check : EDXBUS__CHECK_NONE;
            if (it->optional) {
                ind(out, dep);
                fprintf(out, "if (%s) {\n", it->has);
                ind(out, dep + 1);
                fputs("*w++ = 2;\n", out);
                write_value(out, dep + 1, it->t, it->expr, it->path, ck);
                ind(out, dep);
                fputs("} else {\n", out);
                ind(out, dep + 1);
                fputs("*w++ = 0;\n", out);
                ind(out, dep);
                fputs("}\n", out);
            } else {
                write_value(out, dep, it->t, it->expr, it->path, ck);
            }
        }
    }
}

/* The checks of a simple value one by one, in field order, each wording its failure: the cold
 * re-check of a run whose sticky state says something failed or is not ASCII. Its first
 * failure is the one a field-by-field encoder would report. */
static void verify_value(FILE *out, int dep, const struct ctype *t, const char *expr,
                         const char *path, enum edxbus__check check)
{
    if (is_str(t)) {
        ind(out, dep);
        fprintf(out, "EDXBUS__TRY(edxbus__tenc_check_str(e, %s, \"%s\"));\n", expr, path);
        if (check != EDXBUS__CHECK_NONE) {
            ind(out, dep);
            fprintf(out, "EDXBUS__TRY(edxbus__tenc_check(e, %s, %s, \"%s\"));\n",
                    edxbus__check_enum_name(check), expr, path);
        }
    } else if (is_prim(t, "double")) {
        ind(out, dep);
        fprintf(out, "EDXBUS__TRY(edxbus__tenc_check_double(e, %s, \"%s\"));\n", expr, path);
    } else if (t->kind == CT_CLASS) {
        struct item items[MAX_ITEMS];
        size_t n = 0;
        class_items(t, expr, path, items, &n);
        for (size_t i = 0; i < n; i++) {
            const struct item *it = &items[i];
            enum edxbus__check ck = it->t->kind == CT_CUSTOM ? it->t->check : EDXBUS__CHECK_NONE;
            if (it->optional) {
                ind(out, dep);
                fprintf(out, "if (%s) {\n", it->has);
                verify_value(out, dep + 1, it->t, it->expr, it->path, ck);
                ind(out, dep);
                fputs("}\n", out);
            } else {
                verify_value(out, dep, it->t, it->expr, it->path, ck);
            }
        }
    }
}

/* Whether a simple value has anything for verify_value() to check. */
static bool checked(const struct ctype *t)
{
    if (is_str(t) || is_prim(t, "double"))
        return true;
    if (t->kind == CT_CLASS) {
        struct cinfo *ci = info(t->cls);
        for (size_t i = 0; i < ci->nfields; i++) {
            if (checked(ci->fields[i]->type))
                return true;
        }
    }
    return false;
}

static void enc_items(FILE *out, int dep, struct item *items, size_t n, int level);

/* Encode any value (simple or not) at the buffer's end, reserving as it goes. */
static void enc_value(FILE *out, int dep, const struct ctype *t, const char *expr, const char *path,
                      int level)
{
    if (t->kind == CT_LIST || t->kind == CT_DICT) {
        bool map = t->kind == CT_DICT;
        char *p = fmt("%s%s", path, map ? "{}" : "[]");
        ind(out, dep);
        fputs("{\n", out);
        ind(out, dep + 1);
        fprintf(out, "size_t n%d = %s.len;\n", level, expr);
        ind(out, dep + 1);
        fprintf(out, "EDXBUS__TRY(edxbus__tenc_check_items(e, %s.items, n%d, \"%s\"));\n", expr,
                level, path);
        ind(out, dep + 1);
        fputs("EDXBUS__TRY(edxbus__tenc_reserve(e, EDXBUS_AVRO_MAX_VARINT));\n", out);
        ind(out, dep + 1);
        fprintf(out, "if (n%d != 0)\n", level);
        ind(out, dep + 2);
        fprintf(out,
                "e->out->len += edxbus__varint_put(e->out->data + e->out->len, (int64_t)n%d);\n",
                level);
        ind(out, dep + 1);
        fprintf(out, "for (size_t i%d = 0; i%d < n%d; i%d++) {\n", level, level, level, level);
        ind(out, dep + 2);
        fprintf(out, "e->where.idx[%d] = (int64_t)i%d;\n", level, level);
        char *el = fmt("%s.items[i%d]", expr, level);
        struct item items[MAX_ITEMS];
        size_t n = 0;
        if (map) {
            ind(out, dep + 2);
            fprintf(out, "e->where.key[%d] = %s.key.ptr;\n", level, el);
            ind(out, dep + 2);
            fprintf(out, "e->where.keylen[%d] = %s.key.len;\n", level, el);
            static struct ctype str = {.kind = CT_PRIM, .avro = "string", .name = "str"};
            items[n++] = (struct item){&str, false, fmt("%s.key", el), NULL, p};
            el = fmt("%s.value", el);
        } else {
            ind(out, dep + 2);
            fprintf(out, "e->where.key[%d] = NULL;\n", level);
        }
        if (t->item->kind == CT_CLASS)
            class_items(t->item, el, p, items, &n);
        else
            items[n++] = (struct item){t->item, false, el, NULL, p};
        enc_items(out, dep + 2, items, n, level + 1);
        ind(out, dep + 1);
        fputs("}\n", out);
        ind(out, dep + 1);
        fputs("EDXBUS__TRY(edxbus__tenc_reserve(e, 1));\n", out);
        ind(out, dep + 1);
        fputs("e->out->data[e->out->len++] = 0; /* the end of the blocks */\n", out);
        ind(out, dep);
        fputs("}\n", out);
        return;
    }
    if (t->kind == CT_CLASS) {
        struct item items[MAX_ITEMS];
        size_t n = 0;
        class_items(t, expr, path, items, &n);
        enc_items(out, dep, items, n, level);
        return;
    }
    struct item one = {t, false, (char *)expr, NULL, (char *)path};
    enc_items(out, dep, &one, 1, level);
}

/* Encode a sequence of fields: runs of simple ones reserve once, the others one by one. */
static void enc_items(FILE *out, int dep, struct item *items, size_t n, int level)
{
    size_t i = 0;
    while (i < n) {
        if (!item_simple(&items[i])) {
            const struct item *it = &items[i];
            if (it->optional) {
                ind(out, dep);
                fputs("EDXBUS__TRY(edxbus__tenc_reserve(e, 1));\n", out);
                ind(out, dep);
                fprintf(out, "e->out->data[e->out->len++] = %s ? 2 : 0;\n", it->has);
                ind(out, dep);
                fprintf(out, "if (%s) {\n", it->has);
                enc_value(out, dep + 1, it->t, it->expr, it->path, level);
                ind(out, dep);
                fputs("}\n", out);
            } else {
                enc_value(out, dep, it->t, it->expr, it->path, level);
            }
            i++;
            continue;
        }
        size_t j = i;
        while (j < n && item_simple(&items[j]))
            j++;
        ind(out, dep);
        fputs("{\n", out);
        ind(out, dep + 1);
        fputs("size_t need = 0", out);
        for (size_t k = i; k < j; k++) {
            if (items[k].optional) {
                fprintf(out, "\n");
                ind(out, dep + 3);
                fprintf(out, "+ (%s ? 1", items[k].has);
                need_value(out, items[k].t, items[k].expr, items[k].path);
                fputs(" : 1)", out);
            } else {
                fprintf(out, "\n");
                ind(out, dep + 3);
                need_value(out, items[k].t, items[k].expr, items[k].path);
            }
        }
        fputs(";\n", out);
        bool any = false;
        for (size_t k = i; k < j; k++)
            any |= checked(items[k].t);
        ind(out, dep + 1);
        fputs("EDXBUS__TRY(edxbus__tenc_reserve(e, need));\n", out);
        ind(out, dep + 1);
        fputs("uint8_t *w = e->out->data + e->out->len;\n", out);
        if (any) {
            ind(out, dep + 1);
            fputs("uint64_t hi = 0;\n", out);
            ind(out, dep + 1);
            fputs("bool ok = true;\n", out);
        }
        for (size_t k = i; k < j; k++) {
            const struct item *it = &items[k];
            enum edxbus__check ck = it->t->kind == CT_CUSTOM ? it->t->check : EDXBUS__CHECK_NONE;
            if (it->optional) {
                ind(out, dep + 1);
                fprintf(out, "if (%s) {\n", it->has);
                ind(out, dep + 2);
                fputs("*w++ = 2;\n", out);
                write_value(out, dep + 2, it->t, it->expr, it->path, ck);
                ind(out, dep + 1);
                fputs("} else {\n", out);
                ind(out, dep + 2);
                fputs("*w++ = 0;\n", out);
                ind(out, dep + 1);
                fputs("}\n", out);
            } else {
                write_value(out, dep + 1, it->t, it->expr, it->path, ck);
            }
        }
        if (any) {
            ind(out, dep + 1);
            fputs("if (edxbus__tenc_run_suspect(hi, ok)) {\n", out);
            for (size_t k = i; k < j; k++) {
                const struct item *it = &items[k];
                enum edxbus__check ck =
                    it->t->kind == CT_CUSTOM ? it->t->check : EDXBUS__CHECK_NONE;
                if (!checked(it->t))
                    continue;
                if (it->optional) {
                    ind(out, dep + 2);
                    fprintf(out, "if (%s) {\n", it->has);
                    verify_value(out, dep + 3, it->t, it->expr, it->path, ck);
                    ind(out, dep + 2);
                    fputs("}\n", out);
                } else {
                    verify_value(out, dep + 2, it->t, it->expr, it->path, ck);
                }
            }
            ind(out, dep + 1);
            fputs("}\n", out);
        }
        ind(out, dep + 1);
        fputs("e->out->len = (size_t)(w - e->out->data);\n", out);
        ind(out, dep);
        fputs("}\n", out);
        i = j;
    }
}

static void write_encode(FILE *out, const char *name)
{
    fprintf(out,
            "/* Generated by tools/typed_gen.c from %s. Do not edit. The straight-line\n"
            " * encoders of the typed API: see src/typed/typed_int.h. */\n"
            "#include \"typed/typed_int.h\"\n\n",
            name);
    for (size_t i = 0; i < g_nei; i++) {
        const struct einfo *ev = &g_ei[i];
        if (!ev->codec)
            continue;
        fprintf(out,
                "static edxbus_err_t encode_%s(struct edxbus__tenc *e,\n"
                "                              const struct edxbus_%s_data *v)\n{\n",
                ev->sig, ev->sig);
        struct item items[MAX_ITEMS];
        size_t n = 0;
        flatten(ev->fields, ev->nfields, "v->", "", items, &n);
        fputs("    const bool checks = !(e->flags & EDXBUS_AVRO_NO_CHECKS);\n"
              "    (void)checks;\n",
              out);
        enc_items(out, 1, items, n, 0);
        fputs("    return EDXBUS_OK;\n}\n\n", out);
        fprintf(
            out,
            "edxbus_err_t edxbus_%s_encode(const struct edxbus_%s_data *data, unsigned flags,\n"
            "    struct edxbus_buf *out, char *errstr, size_t errstr_size)\n{\n"
            "    struct edxbus__tenc e; /* e.where is set by the loops that use it: not zeroed */\n"
            "    e.out = out;\n    e.start = out->len;\n    e.flags = flags;\n"
            "    e.errstr = errstr;\n    e.errstr_size = errstr_size;\n"
            "    return encode_%s(&e, data);\n}\n\n",
            ev->sig, ev->sig, ev->sig);
    }
}

/* ---------------------------------------------------------------------------------------------
 * typed_decode.c
 * ------------------------------------------------------------------------------------------- */

static void dec_value(FILE *out, int dep, const struct ctype *t, const char *expr, const char *path,
                      int level);

static void dec_fields(FILE *out, int dep, const struct cfield *const *fields, size_t n,
                       const char *prefix, const char *path, int level)
{
    for (size_t i = 0; i < n; i++) {
        const struct cfield *f = fields[i];
        char *expr = fmt("%s%s", prefix, member(f));
        char *p = fmt("%s%s%s", path, path[0] ? "." : "", f->name);
        if (f->optional) {
            char *has = fmt("%shas_%s", prefix, f->name);
            ind(out, dep);
            fprintf(out, "EDXBUS__TRY(edxbus__tdec_branch(d, &%s, \"%s\"));\n", has, p);
            ind(out, dep);
            fprintf(out, "if (%s) {\n", has);
            dec_value(out, dep + 1, f->type, expr, p, level);
            ind(out, dep);
            fputs("} else {\n", out);
            ind(out, dep + 1);
            fprintf(out, "memset(&%s, 0, sizeof %s);\n", expr, expr);
            ind(out, dep);
            fputs("}\n", out);
        } else {
            dec_value(out, dep, f->type, expr, p, level);
        }
    }
}

static void dec_value(FILE *out, int dep, const struct ctype *t, const char *expr, const char *path,
                      int level)
{
    if (is_str(t)) {
        ind(out, dep);
        fprintf(out, "EDXBUS__TRY(edxbus__tdec_str(d, &%s, \"%s\"));\n", expr, path);
    } else if (is_prim(t, "long")) {
        ind(out, dep);
        fprintf(out, "EDXBUS__TRY(edxbus__tdec_long(d, &%s, \"%s\"));\n", expr, path);
    } else if (is_prim(t, "boolean")) {
        ind(out, dep);
        fprintf(out, "EDXBUS__TRY(edxbus__tdec_bool(d, &%s, \"%s\"));\n", expr, path);
    } else if (is_prim(t, "double")) {
        ind(out, dep);
        fprintf(out, "EDXBUS__TRY(edxbus__tdec_double(d, &%s, \"%s\"));\n", expr, path);
    } else if (t->kind == CT_CLASS) {
        struct cinfo *ci = info(t->cls);
        dec_fields(out, dep, ci->fields, ci->nfields, fmt("%s.", expr), path, level);
    } else {
        bool map = t->kind == CT_DICT;
        int L = level;
        char *p = fmt("%s%s", path, map ? "{}" : "[]");
        size_t minb = map ? 1 + min_bytes(t->item) : min_bytes(t->item);
        ind(out, dep);
        fputs("{\n", out);
        ind(out, dep + 1);
        fprintf(out, "%s *it%d = NULL;\n", item_ctype(t), L);
        ind(out, dep + 1);
        fprintf(out, "size_t n%d = 0;\n", L);
        ind(out, dep + 1);
        fprintf(out, "uint64_t c%d, total%d = 0;\n", L, L);
        if (map) {
            ind(out, dep + 1);
            fprintf(out, "const uint8_t *at%d = d->p;\n", L);
        }
        ind(out, dep + 1);
        fputs("for (;;) {\n", out);
        ind(out, dep + 2);
        fprintf(out, "EDXBUS__TRY(edxbus__tdec_block(d, &c%d, %zu, &total%d, \"%s\"));\n", L, minb,
                L, path);
        ind(out, dep + 2);
        fprintf(out, "if (c%d == 0)\n", L);
        ind(out, dep + 3);
        fputs("break;\n", out);
        ind(out, dep + 2);
        fprintf(out, "it%d = edxbus__tdec_grow(d, it%d, n%d, c%d, sizeof *it%d, \"%s\");\n", L, L,
                L, L, L, path);
        ind(out, dep + 2);
        fprintf(out, "if (it%d == NULL)\n", L);
        ind(out, dep + 3);
        fputs("return EDXBUS_ERR_NOMEM;\n", out);
        ind(out, dep + 2);
        fprintf(out, "for (uint64_t k%d = 0; k%d < c%d; k%d++, n%d++) {\n", L, L, L, L, L);
        ind(out, dep + 3);
        fprintf(out, "d->where.idx[%d] = (int64_t)n%d;\n", L, L);
        ind(out, dep + 3);
        fprintf(out, "d->where.key[%d] = NULL;\n", L);
        if (map) {
            ind(out, dep + 3);
            fprintf(out, "EDXBUS__TRY(edxbus__tdec_str(d, &it%d[n%d].key, \"%s\"));\n", L, L, p);
            ind(out, dep + 3);
            fprintf(out, "d->where.key[%d] = it%d[n%d].key.ptr;\n", L, L, L);
            ind(out, dep + 3);
            fprintf(out, "d->where.keylen[%d] = it%d[n%d].key.len;\n", L, L, L);
            dec_value(out, dep + 3, t->item, fmt("it%d[n%d].value", L, L), p, L + 1);
        } else {
            dec_value(out, dep + 3, t->item, fmt("it%d[n%d]", L, L), p, L + 1);
        }
        ind(out, dep + 2);
        fputs("}\n", out);
        ind(out, dep + 1);
        fputs("}\n", out);
        if (map) {
            ind(out, dep + 1);
            fprintf(out,
                    "EDXBUS__TRY(edxbus__tdec_unique_keys(d, it%d, n%d, sizeof *it%d, at%d, "
                    "\"%s\"));\n",
                    L, L, L, L, path);
        }
        ind(out, dep + 1);
        fprintf(out, "%s.items = it%d;\n", expr, L);
        ind(out, dep + 1);
        fprintf(out, "%s.len = n%d;\n", expr, L);
        ind(out, dep);
        fputs("}\n", out);
    }
}

static void write_decode(FILE *out, const char *name)
{
    fprintf(out,
            "/* Generated by tools/typed_gen.c from %s. Do not edit. The straight-line\n"
            " * decoders of the typed API: see src/typed/typed_int.h. */\n"
            "#include \"typed/typed_int.h\"\n\n",
            name);
    for (size_t i = 0; i < g_nei; i++) {
        const struct einfo *ev = &g_ei[i];
        if (!ev->codec)
            continue;
        fprintf(out,
                "static edxbus_err_t decode_%s(struct edxbus__tdec *d, struct edxbus_%s_data *v)\n"
                "{\n",
                ev->sig, ev->sig);
        dec_fields(out, 1, ev->fields, ev->nfields, "v->", "", 0);
        fputs("    return edxbus__tdec_finish(d);\n}\n\n", out);
        fprintf(out,
                "edxbus_err_t edxbus_%s_decode(const uint8_t *bytes, size_t len,\n"
                "    struct edxbus_arena *arena, struct edxbus_%s_data *out, char *errstr,\n"
                "    size_t errstr_size)\n{\n"
                "    struct edxbus__tdec d;\n"
                "    edxbus__tdec_init(&d, bytes, len, arena, errstr, errstr_size);\n"
                "    return decode_%s(&d, out);\n}\n\n",
                ev->sig, ev->sig, ev->sig);
    }
}

/* ---------------------------------------------------------------------------------------------
 * typed_json.c
 * ------------------------------------------------------------------------------------------- */

static char *fj_call(const struct ctype *t, const char *j, const char *dst)
{
    if (is_str(t))
        return fmt("edxbus__tjson_str(t, %s, %s)", j, dst);
    if (is_prim(t, "long"))
        return fmt("edxbus__tjson_long(t, %s, %s)", j, dst);
    if (is_prim(t, "boolean"))
        return fmt("edxbus__tjson_bool(t, %s, %s)", j, dst);
    if (is_prim(t, "double"))
        return fmt("edxbus__tjson_double(t, %s, %s)", j, dst);
    return fmt("fj_%s(t, %s, %s)", tag(t), j, dst);
}

static char *tj_call(const struct ctype *t, const char *v)
{
    if (is_str(t))
        return fmt("edxbus__tjson_of_str(%s)", v);
    if (is_prim(t, "long"))
        return fmt("json_integer(%s)", v);
    if (is_prim(t, "boolean"))
        return fmt("json_boolean(%s)", v);
    if (is_prim(t, "double"))
        return fmt("json_real(%s)", v);
    return fmt("tj_%s(&%s)", tag(t), v);
}

static void fj_record(FILE *out, const char *fname, const char *stype,
                      const struct cfield *const *fields, size_t n)
{
    fprintf(out, "static edxbus_err_t %s(struct edxbus__tjson *t, const json_t *j, %s *v)\n{\n",
            fname, stype);
    fputs("    static const char *const names[] = {", out);
    for (size_t i = 0; i < n; i++)
        fprintf(out, "%s\"%s\"", i ? ", " : "", fields[i]->name);
    fputs("};\n", out);
    fputs("    EDXBUS__TRY(edxbus__tjson_required(t, j));\n", out);
    fprintf(out, "    EDXBUS__TRY(edxbus__tjson_record(t, j, names, %zu));\n", n);
    fputs("    const json_t *f;\n", out);
    for (size_t i = 0; i < n; i++) {
        const struct cfield *f = fields[i];
        const char *m = member(f);
        fprintf(out, "    f = json_object_get(j, \"%s\");\n", f->name);
        fprintf(out, "    edxbus__tjson_push(t, \"%s\");\n", f->name);
        if (f->optional) {
            fprintf(out, "    v->has_%s = f != NULL && !json_is_null(f);\n", f->name);
            fprintf(out, "    if (v->has_%s)\n        EDXBUS__TRY(%s);\n", f->name,
                    fj_call(f->type, "f", fmt("&v->%s", m)));
            fprintf(out, "    else\n        memset(&v->%s, 0, sizeof v->%s);\n", m, m);
        } else {
            fprintf(out, "    EDXBUS__TRY(%s);\n", fj_call(f->type, "f", fmt("&v->%s", m)));
        }
        fputs("    t->n--;\n", out);
    }
    fputs("    return EDXBUS_OK;\n}\n\n", out);
}

static void tj_record(FILE *out, const char *fname, const char *stype,
                      const struct cfield *const *fields, size_t n)
{
    fprintf(out, "static json_t *%s(const %s *v)\n{\n", fname, stype);
    fputs("    json_t *o = json_object();\n    if (o == NULL)\n        return NULL;\n", out);
    for (size_t i = 0; i < n; i++) {
        const struct cfield *f = fields[i];
        char *val = tj_call(f->type, fmt("v->%s", member(f)));
        if (f->optional)
            val = fmt("v->has_%s ? %s : json_null()", f->name, val);
        fprintf(out, "    if (!edxbus__tjson_set(o, \"%s\", %s))\n        goto fail;\n", f->name,
                val);
    }
    fputs("    return o;\nfail:\n    json_decref(o);\n    return NULL;\n}\n\n", out);
}

static bool class_supported(const struct cinfo *ci)
{
    for (size_t i = 0; i < ci->nfields; i++) {
        if (!supported(ci->fields[i]->type))
            return false;
    }
    return true;
}

static void write_json(FILE *out, const char *name)
{
    fprintf(out,
            "/* Generated by tools/typed_gen.c from %s. Do not edit. The typed API's\n"
            " * conversions to and from the plain JSON form, and its descriptor table. */\n"
            "#include \"typed/typed_int.h\"\n\n",
            name);
    /* prototypes first: classes and containers refer to each other in any order */
    for (size_t i = 0; i < g_nci; i++) {
        if (!class_supported(&g_ci[i]))
            continue;
        fprintf(out,
                "static edxbus_err_t fj_%s(struct edxbus__tjson *t, const json_t *j,\n"
                "                          struct edxbus_%s *v) __attribute__((unused));\n"
                "static json_t *tj_%s(const struct edxbus_%s *v) __attribute__((unused));\n",
                g_ci[i].cname, g_ci[i].cname, g_ci[i].cname, g_ci[i].cname);
    }
    for (size_t i = 0; i < g_ncont; i++) {
        if (!supported(g_cont[i].t))
            continue;
        fprintf(out,
                "static edxbus_err_t fj_%s(struct edxbus__tjson *t, const json_t *j,\n"
                "                          struct edxbus_%s *v) __attribute__((unused));\n"
                "static json_t *tj_%s(const struct edxbus_%s *v) __attribute__((unused));\n",
                g_cont[i].tag, g_cont[i].tag, g_cont[i].tag, g_cont[i].tag);
    }
    fputs("\n", out);
    for (size_t i = 0; i < g_nci; i++) {
        if (!class_supported(&g_ci[i]))
            continue;
        char *stype = fmt("struct edxbus_%s", g_ci[i].cname);
        fj_record(out, fmt("fj_%s", g_ci[i].cname), stype, g_ci[i].fields, g_ci[i].nfields);
        tj_record(out, fmt("tj_%s", g_ci[i].cname), stype, g_ci[i].fields, g_ci[i].nfields);
    }
    for (size_t i = 0; i < g_ncont; i++) {
        const struct ctype *t = g_cont[i].t;
        if (!supported(t))
            continue;
        const char *tg = g_cont[i].tag;
        bool map = t->kind == CT_DICT;
        char *it = item_ctype(t);
        fprintf(out,
                "static edxbus_err_t fj_%s(struct edxbus__tjson *t, const json_t *j,\n"
                "                          struct edxbus_%s *v)\n{\n"
                "    void *mem;\n    size_t n;\n"
                "    EDXBUS__TRY(edxbus__tjson_items(t, j, %s, sizeof(%s), &mem, &n));\n"
                "    %s *items = mem;\n",
                tg, tg, map ? "true" : "false", it, it);
        if (map) {
            fprintf(
                out,
                "    size_t i = 0;\n    const char *key;\n    json_t *val;\n"
                "    json_object_foreach((json_t *)j, key, val)\n    {\n"
                "        size_t klen = json_object_iter_key_len(json_object_key_to_iter(key));\n"
                "        items[i].key.ptr = key;\n        items[i].key.len = klen;\n"
                "        edxbus__tjson_push_key(t, key, klen);\n"
                "        EDXBUS__TRY(%s);\n        t->n--;\n        i++;\n    }\n",
                fj_call(t->item, "val", "&items[i].value"));
        } else {
            fprintf(out,
                    "    for (size_t i = 0; i < n; i++) {\n"
                    "        edxbus__tjson_push_index(t, i);\n"
                    "        EDXBUS__TRY(%s);\n        t->n--;\n    }\n",
                    fj_call(t->item, "json_array_get(j, i)", "&items[i]"));
        }
        fputs("    v->items = items;\n    v->len = n;\n    return EDXBUS_OK;\n}\n\n", out);
        fprintf(out,
                "static json_t *tj_%s(const struct edxbus_%s *v)\n{\n"
                "    if (v->len != 0 && v->items == NULL)\n        return NULL;\n"
                "    json_t *c = json_%s();\n    if (c == NULL)\n        return NULL;\n"
                "    for (size_t i = 0; i < v->len; i++) {\n",
                tg, tg, map ? "object" : "array");
        if (map)
            fprintf(out,
                    "        const struct edxbus_str *k = &v->items[i].key;\n"
                    "        json_t *x = %s;\n"
                    "        if (x == NULL || json_object_setn_new(c, k->ptr ? k->ptr : \"\", "
                    "k->len, x) != 0)\n"
                    "            goto fail;\n",
                    tj_call(t->item, "v->items[i].value"));
        else
            fprintf(out, "        if (json_array_append_new(c, %s) != 0)\n            goto fail;\n",
                    tj_call(t->item, "v->items[i]"));
        fputs("    }\n    return c;\nfail:\n    json_decref(c);\n    return NULL;\n}\n\n", out);
    }
    for (size_t i = 0; i < g_nei; i++) {
        const struct einfo *ev = &g_ei[i];
        if (!ev->codec)
            continue;
        const char *s = ev->sig;
        char *stype = fmt("struct edxbus_%s_data", s);
        fj_record(out, fmt("fj_%s_data", s), stype, ev->fields, ev->nfields);
        tj_record(out, fmt("tj_%s_data", s), stype, ev->fields, ev->nfields);
        fprintf(out,
                "json_t *edxbus_%s_to_json(const struct edxbus_%s_data *data)\n{\n"
                "    return tj_%s_data(data);\n}\n\n"
                "edxbus_err_t edxbus_%s_from_json(const json_t *json, struct edxbus_arena *arena,\n"
                "    struct edxbus_%s_data *out, char *errstr, size_t errstr_size)\n{\n"
                "    struct edxbus__tjson t = {.arena = arena, .errstr = errstr,\n"
                "                              .errstr_size = errstr_size};\n"
                "    if (errstr != NULL && errstr_size > 0)\n        errstr[0] = '\\0';\n"
                "    return fj_%s_data(&t, json, out);\n}\n\n",
                s, s, s, s, s, s);
        fprintf(out,
                "static edxbus_err_t g_encode_%s(const void *data, unsigned flags,\n"
                "    struct edxbus_buf *out, char *errstr, size_t errstr_size)\n{\n"
                "    return edxbus_%s_encode(data, flags, out, errstr, errstr_size);\n}\n\n"
                "static edxbus_err_t g_decode_%s(const uint8_t *bytes, size_t len,\n"
                "    struct edxbus_arena *arena, void *out, char *errstr, size_t errstr_size)\n{\n"
                "    return edxbus_%s_decode(bytes, len, arena, out, errstr, errstr_size);\n}\n\n"
                "static json_t *g_to_json_%s(const void *data)\n{\n"
                "    return edxbus_%s_to_json(data);\n}\n\n"
                "static edxbus_err_t g_from_json_%s(const json_t *json, struct edxbus_arena "
                "*arena,\n    void *out, char *errstr, size_t errstr_size)\n{\n"
                "    return edxbus_%s_from_json(json, arena, out, errstr, errstr_size);\n}\n\n"
                "static edxbus_err_t g_invoke_%s(edxbus_typed_fn fn, const void *data,\n"
                "    const edxbus_event_t *ev, void *opaque, char *errstr, size_t errstr_size)\n{\n"
                "    return ((edxbus_%s_fn)fn)(data, ev, opaque, errstr, errstr_size);\n}\n\n"
                "const struct edxbus_typed_event edxbus_%s_event = {\n"
                "    .event_type = \"%s\",\n    .signal = \"%s\",\n"
                "    .size = sizeof(struct edxbus_%s_data),\n"
                "    .encode = g_encode_%s,\n    .decode = g_decode_%s,\n"
                "    .to_json = g_to_json_%s,\n    .from_json = g_from_json_%s,\n"
                "    .invoke = g_invoke_%s,\n};\n\n",
                s, s, s, s, s, s, s, s, s, s, s, ev->ev->def.type, ev->ev->def.signal, s, s, s, s,
                s, s);
    }
    fputs("const struct edxbus_typed_event *const edxbus__typed_events[] = {\n", out);
    size_t count = 0;
    for (size_t i = 0; i < g_nei; i++) {
        if (g_ei[i].codec) {
            fprintf(out, "    &edxbus_%s_event,\n", g_ei[i].sig);
            count++;
        }
    }
    fprintf(out, "};\nconst size_t edxbus__typed_nevents = %zu;\n", count);
}

/* ---------------------------------------------------------------------------------------------
 * main
 * ------------------------------------------------------------------------------------------- */

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        die("cannot open: %s", strerror(errno));
    if (fseek(f, 0, SEEK_END) != 0)
        die("cannot seek");
    long n = ftell(f);
    rewind(f);
    char *buf = malloc((size_t)n + 1);
    if (buf == NULL || fread(buf, 1, (size_t)n, f) != (size_t)n)
        die("cannot read");
    fclose(f);
    buf[n] = '\0';
    *len = (size_t)n;
    return buf;
}

typedef void (*writer_fn)(FILE *out, const char *name);

static void write_file(const char *path, writer_fn fn, const char *name)
{
    char *tmp = fmt("%s.tmp", path);
    FILE *out = fopen(tmp, "w");
    if (out == NULL)
        die("cannot write %s: %s", tmp, strerror(errno));
    fn(out, name);
    if (fclose(out) != 0 || rename(tmp, path) != 0)
        die("cannot write %s: %s", path, strerror(errno));
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: typed_gen IN.classes OUTDIR NAME\n");
        return 2;
    }
    g_file = argv[1];
    size_t len;
    char *text = read_all(argv[1], &len);
    char errstr[512];
    struct edxbus__classes *cs =
        edxbus__classes_parse(text, len, argv[3], NULL, errstr, sizeof errstr);
    if (cs == NULL)
        die("%s", errstr);
    g_cs = cs;
    g_nci = cs->nclasses;
    g_ci = calloc(g_nci, sizeof *g_ci);
    for (size_t i = 0; i < g_nci; i++) {
        const struct cclass *c = cs->classes[i];
        g_ci[i].cls = c;
        bool twice = false;
        for (size_t k = 0; k < g_nci; k++)
            twice |= k != i && strcmp(cs->classes[k]->name, c->name) == 0;
        char *sn = snake(c->name);
        g_ci[i].cname = twice ? fmt("%s_%s", c->module, sn) : sn;
        const struct cclass *derived[16];
        attrs_fields(c, derived, 0, &g_ci[i]);
    }
    g_nei = cs->nevents;
    g_ei = calloc(g_nei, sizeof *g_ei);
    for (size_t i = 0; i < g_nei; i++) {
        struct einfo *e = &g_ei[i];
        e->ev = cs->events[i];
        if (e->ev->def.signal == NULL)
            die("event %s has no signal", e->ev->def.type);
        e->sig = fmt("%s", e->ev->def.signal);
        for (char *p = e->sig; *p; p++)
            *p = (char)tolower((unsigned char)*p);
        for (const struct cfield *f = e->ev->data; f != NULL; f = f->next) {
            if (e->nfields == MAX_FIELDS)
                die("event %s: too many fields", e->ev->def.type);
            e->fields[e->nfields++] = f;
        }
        e->codec = e->ev->def.unserializable == NULL;
        for (size_t k = 0; e->codec && k < e->nfields; k++) {
            if (!supported(e->fields[k]->type))
                die("event %s: field %s has a type the typed API cannot carry (%s)",
                    e->ev->def.type, e->fields[k]->name, e->fields[k]->type_text);
        }
    }
    qsort(g_ei, g_nei, sizeof *g_ei, cmp_events);
    /* every generated name must be unique */
    for (size_t i = 0; i < g_nci + g_nei; i++) {
        char *a = i < g_nci ? g_ci[i].cname : fmt("%s_data", g_ei[i - g_nci].sig);
        for (size_t k = i + 1; k < g_nci + g_nei; k++) {
            char *b = k < g_nci ? g_ci[k].cname : fmt("%s_data", g_ei[k - g_nci].sig);
            if (strcmp(a, b) == 0)
                die("two types would be named edxbus_%s", a);
        }
    }
    for (size_t i = 0; i < g_nci; i++) {
        for (size_t k = 0; k < g_ci[i].nfields; k++)
            collect(g_ci[i].fields[k]->type, 0);
    }
    for (size_t i = 0; i < g_nei; i++) {
        for (size_t k = 0; k < g_ei[i].nfields; k++)
            collect(g_ei[i].fields[k]->type, 0);
    }
    char *dir = fmt("%s/include/edxbus", argv[2]);
    write_file(fmt("%s/events.h", dir), write_header, argv[3]);
    write_file(fmt("%s/typed_encode.c", argv[2]), write_encode, argv[3]);
    write_file(fmt("%s/typed_decode.c", argv[2]), write_decode, argv[3]);
    write_file(fmt("%s/typed_json.c", argv[2]), write_json, argv[3]);
    edxbus__classes_destroy(cs);
    free(text);
    return 0;
}
