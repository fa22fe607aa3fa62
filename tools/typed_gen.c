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
 *
 * The generator is split by what it writes: this file reads the catalog, names the classes and
 * their C types and runs the writers (main); typed_gen_header.c writes events.h,
 * typed_gen_encode.c typed_encode.c, typed_gen_decode.c typed_decode.c and typed_gen_json.c
 * typed_json.c. What they share is declared in typed_gen.h. To generate another file, add a
 * typed_gen_<what>.c with one writer_fn, declare it there and call write_file() in main.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "typed_gen.h"

/* The tool leaks by design (it runs once and exits); sanitizer builds must not fail on it. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "detect_leaks=0";
}

static const char *g_file;

void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "typed_gen: %s: ", g_file);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

char *fmt(const char *f, ...)
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
const char *member(const struct cfield *f)
{
    for (size_t i = 0; c_keywords[i] != NULL; i++) {
        if (strcmp(f->name, c_keywords[i]) == 0)
            return fmt("%s_", f->name);
    }
    return f->name;
}

struct cinfo *g_ci;
size_t g_nci;

struct cinfo *info(const struct cclass *c)
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

bool is_str(const struct ctype *t)
{
    return t->kind == CT_CUSTOM || (t->kind == CT_PRIM && strcmp(t->avro, "string") == 0);
}

bool is_prim(const struct ctype *t, const char *avro)
{
    return t->kind == CT_PRIM && strcmp(t->avro, avro) == 0;
}

/* The short name of a type inside container type names: str long bool double <class> list_X
 * map_X. */
char *tag(const struct ctype *t)
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
char *ctype(const struct ctype *t)
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
char *item_ctype(const struct ctype *t)
{
    if (t->kind == CT_DICT)
        return fmt("struct edxbus_%s_entry", tag(t));
    return ctype(t->item);
}

/* Whether a value of @p t can go through the codecs. */
bool supported(const struct ctype *t)
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
bool simple(const struct ctype *t)
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
size_t min_bytes(const struct ctype *t)
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

/* ---------------------------------------------------------------------------------------------
 * Events
 * ------------------------------------------------------------------------------------------- */

struct einfo *g_ei;
size_t g_nei;

static int cmp_events(const void *a, const void *b)
{
    return strcmp(((const struct einfo *)a)->ev->def.type, ((const struct einfo *)b)->ev->def.type);
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
