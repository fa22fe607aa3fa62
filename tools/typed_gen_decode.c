/* tools/typed_gen_decode.c — writes typed_decode.c, the straight-line decoders of the typed API.
 *
 * One bounds-checked read per field, in schema order, nested classes expanded in place; list
 * and map items go to the caller's arena, block counts bounded by the bytes left (min_bytes()),
 * and strings are borrowed from the input. Messages name each field's literal path. The runtime
 * side is src/typed/typed_int.h. Part of the generator described in tools/typed_gen.c.
 */
#include <stdlib.h>
#include <string.h>

#include "typed_gen.h"

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

void write_decode(FILE *out, const char *name)
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
