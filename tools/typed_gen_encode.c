/* tools/typed_gen_encode.c — writes typed_encode.c, the straight-line encoders of the typed API.
 *
 * Nested required classes are flattened into one list of items (struct item), each with its
 * literal C expression and field path. A run of items without a list or map sums its size
 * bound, reserves once, writes through a bare pointer and tests its sticky checks once;
 * verify_value() re-checks a failed run field by field so the first failure is the one a
 * field-by-field encoder would report. Lists and maps become loops with their own runs. The
 * runtime side is src/typed/typed_int.h. Part of the generator described in tools/typed_gen.c.
 */
#include <stdlib.h>
#include <string.h>

#include "typed_gen.h"

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

void ind(FILE *out, int depth)
{
    for (int i = 0; i < depth; i++)
        fputs("    ", out);
}

/* Write a simple value through `w` (room already reserved), folding its checks into the run's
 * sticky `hi` (high bits of the string bytes) and `ok` (custom-type checks,
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
        fprintf(out, "w = edxbus__tenc_double(w, %s);\n", expr);
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

void write_encode(FILE *out, const char *name)
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
