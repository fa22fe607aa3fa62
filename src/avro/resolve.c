/* src/avro/resolve.c — read data written with one schema as another (Avro 1.11 "Schema
 * Resolution"), for schema evolution on the Kafka consumer.
 *
 * edxbus_avro_resolver_new() walks writer and reader schemas together once: it checks that
 * they can be resolved and builds one plan per (writer record, reader record) pair met: for
 * each writer field, the reader field it fills (or -1: skip it), and for each reader field the
 * writer lacks, its default already in the plain JSON form. Recursive types are handled by
 * looking a pair up before building it (a plan under construction counts as compatible).
 *
 * edxbus_avro_resolver_decode() then walks the writer's bytes with the reader's checked
 * primitives (reader.c), so it is exactly as safe as edxbus_avro_decode():
 *   - writer union: the branch actually written is resolved; reader union: the first branch
 *     that matches the writer's type (including promotions) is used, as the spec says;
 *   - int -> long/float/double, long -> float/double, float -> double, string <-> bytes
 *     (bytes read as string must be UTF-8);
 *   - enum: the writer's symbol by name in the reader, else the reader's default, else error;
 *   - named types match by full name, unqualified name, or a reader alias.
 * Some incompatibilities can only show at read time (a writer union branch or enum symbol the
 * reader cannot take); those are decode errors naming the byte and field, as the spec allows.
 *
 * Invariants: a resolver is immutable after _new (shared by threads); plans borrow the schemas.
 */
#include "avro/reader.h"
#include "edxbus/json.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

enum plan_status { PLAN_BUILDING, PLAN_OK, PLAN_FAILED };

struct plan {
    const struct edxbus_avro_node *w, *r;
    enum plan_status status;
    long *w2r;         /* per writer field: reader field index, or -1 to skip */
    json_t **defaults; /* per reader field: the default when the writer lacks it, else NULL */
};

struct edxbus_avro_resolver {
    const edxbus_avro_schema_t *writer, *reader;
    struct plan *plans;
    size_t nplans, cap;
};

struct build {
    struct edxbus_avro_resolver *res;
    struct edxbus__avro_path path;
    int depth;
    char *errstr;
    size_t errstr_size;
};

static bool build_fail(struct build *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static bool build_fail(struct build *b, const char *fmt, ...)
{
    if (b->errstr == NULL || b->errstr_size == 0)
        return false;
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    char path[160];
    edxbus__avro_path_format(&b->path, path, sizeof path);
    snprintf(b->errstr, b->errstr_size, "resolve: %s%s%s", path, path[0] ? ": " : "", msg);
    return false;
}

static const char *unqualified(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot != NULL ? dot + 1 : name;
}

static bool names_match(const struct edxbus_avro_node *w, const struct edxbus_avro_node *r)
{
    if (w->name == NULL || r->name == NULL)
        return false;
    if (strcmp(w->name, r->name) == 0 || strcmp(unqualified(w->name), unqualified(r->name)) == 0)
        return true;
    for (char **a = r->aliases; a != NULL && *a != NULL; a++)
        if (strcmp(*a, w->name) == 0 || strcmp(unqualified(*a), unqualified(w->name)) == 0)
            return true;
    return false;
}

/* Whether a writer value of type w can be read as r, looking no deeper than the top type (the
 * spec's test for picking a reader union branch). w is never a union. */
static bool shallow_match(const struct edxbus_avro_node *w, const struct edxbus_avro_node *r)
{
    switch (r->type) {
    case EDXBUS_AVRO_LONG:
        return w->type == EDXBUS_AVRO_LONG || w->type == EDXBUS_AVRO_INT;
    case EDXBUS_AVRO_FLOAT:
        return w->type == EDXBUS_AVRO_FLOAT || w->type == EDXBUS_AVRO_INT ||
               w->type == EDXBUS_AVRO_LONG;
    case EDXBUS_AVRO_DOUBLE:
        return w->type == EDXBUS_AVRO_DOUBLE || w->type == EDXBUS_AVRO_FLOAT ||
               w->type == EDXBUS_AVRO_INT || w->type == EDXBUS_AVRO_LONG;
    case EDXBUS_AVRO_STRING:
    case EDXBUS_AVRO_BYTES:
        return w->type == EDXBUS_AVRO_STRING || w->type == EDXBUS_AVRO_BYTES;
    case EDXBUS_AVRO_RECORD:
    case EDXBUS_AVRO_ENUM:
        return w->type == r->type && names_match(w, r);
    case EDXBUS_AVRO_FIXED:
        return w->type == r->type && names_match(w, r) && w->u.fixed.size == r->u.fixed.size;
    case EDXBUS_AVRO_UNION:
        return false;
    default:
        return w->type == r->type;
    }
}

static const struct edxbus_avro_node *reader_branch(const struct edxbus_avro_node *w,
                                                    const struct edxbus_avro_node *r)
{
    for (size_t i = 0; i < r->u.uni.nbranches; i++)
        if (shallow_match(w, r->u.uni.branches[i]))
            return r->u.uni.branches[i];
    return NULL;
}

static struct plan *plan_find(const struct edxbus_avro_resolver *res,
                              const struct edxbus_avro_node *w, const struct edxbus_avro_node *r)
{
    for (size_t i = 0; i < res->nplans; i++)
        if (res->plans[i].w == w && res->plans[i].r == r)
            return &res->plans[i];
    return NULL;
}

static const char *tname(const struct edxbus_avro_node *n)
{
    return n->name != NULL ? n->name : edxbus__avro_type_name(n->type);
}

/* The plain JSON form of a default of type @p node (the JSON default as written): integers
 * become reals for float/double (rounded to float for float), a union's default belongs to its
 * first branch, record defaults get their own fields' defaults filled in. Returns new. */
static json_t *plain_default(const struct edxbus_avro_node *node, const json_t *v, int depth)
{
    if (v == NULL || depth > EDXBUS_AVRO_MAX_DEPTH)
        return NULL;
    switch (node->type) {
    case EDXBUS_AVRO_FLOAT:
        return json_is_number(v) ? json_real((double)(float)json_number_value(v)) : NULL;
    case EDXBUS_AVRO_DOUBLE:
        return json_is_number(v) ? json_real(json_number_value(v)) : NULL;
    case EDXBUS_AVRO_UNION:
        return node->u.uni.nbranches ? plain_default(node->u.uni.branches[0], v, depth + 1) : NULL;
    case EDXBUS_AVRO_RECORD: {
        json_t *obj = json_object();
        for (size_t i = 0; obj != NULL && i < node->u.record.nfields; i++) {
            const struct edxbus_avro_field *f = &node->u.record.fields[i];
            const json_t *fv = json_object_get(v, f->name);
            json_t *pv = plain_default(f->type, fv != NULL ? fv : f->default_value, depth + 1);
            if (pv == NULL || json_object_set_new_nocheck(obj, f->name, pv) != 0) {
                json_decref(obj);
                obj = NULL;
            }
        }
        return obj;
    }
    case EDXBUS_AVRO_ARRAY: {
        json_t *arr = json_array();
        size_t i;
        const json_t *item;
        json_array_foreach(v, i, item)
        {
            json_t *pv = plain_default(node->u.array.items, item, depth + 1);
            if (arr == NULL || pv == NULL || json_array_append_new(arr, pv) != 0) {
                json_decref(pv);
                json_decref(arr);
                return NULL;
            }
        }
        return arr;
    }
    case EDXBUS_AVRO_MAP: {
        json_t *obj = json_object();
        const char *key;
        json_t *item;
        json_object_foreach((json_t *)v, key, item)
        {
            json_t *pv = plain_default(node->u.map.values, item, depth + 1);
            if (obj == NULL || pv == NULL || json_object_set_new(obj, key, pv) != 0) {
                json_decref(pv);
                json_decref(obj);
                return NULL;
            }
        }
        return obj;
    }
    default:
        return json_deep_copy(v);
    }
}

static bool check_pair(struct build *b, const struct edxbus_avro_node *w,
                       const struct edxbus_avro_node *r);

static bool build_record(struct build *b, const struct edxbus_avro_node *w,
                         const struct edxbus_avro_node *r)
{
    struct plan *p = plan_find(b->res, w, r);
    if (p != NULL)
        return p->status != PLAN_FAILED ? true : build_fail(b, "record %s cannot be read", w->name);
    struct edxbus_avro_resolver *res = b->res;
    if (res->nplans == res->cap) {
        size_t cap = res->cap ? res->cap * 2 : 8;
        struct plan *np = realloc(res->plans, cap * sizeof *np);
        if (np == NULL)
            return build_fail(b, "out of memory");
        res->plans = np;
        res->cap = cap;
    }
    size_t idx = res->nplans++;
    p = &res->plans[idx];
    p->w = w;
    p->r = r;
    p->status = PLAN_BUILDING;
    p->w2r = calloc(w->u.record.nfields + 1, sizeof *p->w2r);
    p->defaults = calloc(r->u.record.nfields + 1, sizeof *p->defaults);
    if (p->w2r == NULL || p->defaults == NULL) {
        p->status = PLAN_FAILED;
        return build_fail(b, "out of memory");
    }
    bool *filled = calloc(r->u.record.nfields + 1, sizeof *filled);
    if (filled == NULL) {
        p->status = PLAN_FAILED;
        return build_fail(b, "out of memory");
    }
    bool ok = true;
    size_t seg = b->path.n;
    if (b->depth >= EDXBUS_AVRO_MAX_DEPTH) {
        ok = build_fail(b, "nesting deeper than %d", EDXBUS_AVRO_MAX_DEPTH);
        goto done;
    }
    b->depth++;
    for (size_t i = 0; ok && i < w->u.record.nfields; i++) {
        const struct edxbus_avro_field *wf = &w->u.record.fields[i];
        long m = -1;
        for (size_t j = 0; m < 0 && j < r->u.record.nfields; j++) {
            const struct edxbus_avro_field *rf = &r->u.record.fields[j];
            if (filled[j])
                continue;
            if (strcmp(rf->name, wf->name) == 0)
                m = (long)j;
            for (char **a = rf->aliases; m < 0 && a != NULL && *a != NULL; a++)
                if (strcmp(*a, wf->name) == 0)
                    m = (long)j;
        }
        /* the plan is re-found by index: check_pair may grow (move) the plan array */
        res->plans[idx].w2r[i] = m;
        if (m < 0)
            continue;
        filled[m] = true;
        b->path.n = seg;
        edxbus__avro_path_field(&b->path, r->u.record.fields[m].name);
        ok = check_pair(b, wf->type, r->u.record.fields[m].type);
    }
    b->path.n = seg;
    for (size_t j = 0; ok && j < r->u.record.nfields; j++) {
        const struct edxbus_avro_field *rf = &r->u.record.fields[j];
        if (filled[j])
            continue;
        edxbus__avro_path_field(&b->path, rf->name);
        if (rf->default_value == NULL) {
            ok =
                build_fail(b, "reader field has no default and writer record %s lacks it", w->name);
            break;
        }
        json_t *d = plain_default(rf->type, rf->default_value, 0);
        if (d == NULL) {
            ok = build_fail(b, "default does not fit the field's type %s", tname(rf->type));
            break;
        }
        res->plans[idx].defaults[j] = d;
        b->path.n = seg;
    }
    b->depth--;
done:
    free(filled);
    res->plans[idx].status = ok ? PLAN_OK : PLAN_FAILED;
    return ok;
}

static bool check_pair(struct build *b, const struct edxbus_avro_node *w,
                       const struct edxbus_avro_node *r)
{
    if (w->type == EDXBUS_AVRO_UNION) {
        /* at least one writer branch must be readable; the others fail when written */
        char first[EDXBUS_ERRSTR_SIZE] = "";
        char *saved = b->errstr;
        size_t saved_size = b->errstr_size;
        bool any = false;
        for (size_t i = 0; i < w->u.uni.nbranches; i++) {
            b->errstr = i == 0 ? first : NULL;
            b->errstr_size = i == 0 ? sizeof first : 0;
            size_t seg = b->path.n;
            if (check_pair(b, w->u.uni.branches[i], r))
                any = true;
            b->path.n = seg;
        }
        b->errstr = saved;
        b->errstr_size = saved_size;
        if (!any && saved != NULL && saved_size > 0)
            snprintf(saved, saved_size, "%s", first);
        return any;
    }
    if (r->type == EDXBUS_AVRO_UNION) {
        const struct edxbus_avro_node *rb = reader_branch(w, r);
        if (rb == NULL)
            return build_fail(b, "writer type %s matches no branch of the reader's union",
                              tname(w));
        return check_pair(b, w, rb);
    }
    if (!shallow_match(w, r))
        return build_fail(b, "writer type %s cannot be read as reader type %s", tname(w), tname(r));
    switch (r->type) {
    case EDXBUS_AVRO_ARRAY:
        return check_pair(b, w->u.array.items, r->u.array.items);
    case EDXBUS_AVRO_MAP:
        return check_pair(b, w->u.map.values, r->u.map.values);
    case EDXBUS_AVRO_RECORD:
        return build_record(b, w, r);
    default:
        return true;
    }
}

void edxbus_avro_resolver_destroy(edxbus_avro_resolver_t *res)
{
    if (res == NULL)
        return;
    for (size_t i = 0; i < res->nplans; i++) {
        struct plan *p = &res->plans[i];
        if (p->defaults != NULL)
            for (size_t j = 0; j < p->r->u.record.nfields; j++)
                json_decref(p->defaults[j]);
        free(p->defaults);
        free(p->w2r);
    }
    free(res->plans);
    free(res);
}

edxbus_avro_resolver_t *edxbus_avro_resolver_new(const edxbus_avro_schema_t *writer,
                                                 const edxbus_avro_schema_t *reader, char *errstr,
                                                 size_t errstr_size)
{
    if (errstr != NULL && errstr_size > 0)
        errstr[0] = '\0';
    if (writer == NULL || reader == NULL) {
        if (errstr != NULL && errstr_size > 0)
            snprintf(errstr, errstr_size, "resolve: a schema is missing");
        return NULL;
    }
    edxbus_avro_resolver_t *res = calloc(1, sizeof *res);
    if (res == NULL) {
        if (errstr != NULL && errstr_size > 0)
            snprintf(errstr, errstr_size, "resolve: out of memory");
        return NULL;
    }
    res->writer = writer;
    res->reader = reader;
    struct build b = {.res = res, .errstr = errstr, .errstr_size = errstr_size};
    if (!check_pair(&b, writer->root, reader->root)) {
        edxbus_avro_resolver_destroy(res);
        return NULL;
    }
    return res;
}

/* ---------------------------------------------------------------------------------------------
 * Reading
 * ------------------------------------------------------------------------------------------- */

static edxbus_err_t nomem(struct edxbus__avro_reader *r)
{
    if (r->errstr != NULL && r->errstr_size > 0)
        snprintf(r->errstr, r->errstr_size, "avro: out of memory");
    return EDXBUS_ERR_NOMEM;
}

static edxbus_err_t rdecode(const edxbus_avro_resolver_t *res, struct edxbus__avro_reader *r,
                            const struct edxbus_avro_node *w, const struct edxbus_avro_node *rd,
                            json_t **out);

static edxbus_err_t rdecode_record(const edxbus_avro_resolver_t *res, struct edxbus__avro_reader *r,
                                   const struct edxbus_avro_node *w,
                                   const struct edxbus_avro_node *rd, json_t **out)
{
    const struct plan *p = plan_find(res, w, rd);
    if (p == NULL || p->status != PLAN_OK)
        return edxbus__avro_fail(r, r->p, "writer record %s cannot be read as reader record %s",
                                 w->name, rd->name);
    edxbus_err_t err = edxbus__avro_enter(r);
    if (err != EDXBUS_OK)
        return err;
    size_t nr = rd->u.record.nfields;
    json_t **slots = calloc(nr + 1, sizeof *slots);
    if (slots == NULL)
        return nomem(r);
    json_t *obj = NULL;
    size_t seg = r->path.n;
    for (size_t i = 0; i < w->u.record.nfields; i++) {
        const struct edxbus_avro_field *wf = &w->u.record.fields[i];
        r->path.n = seg;
        edxbus__avro_path_field(&r->path, wf->name);
        long m = p->w2r[i];
        if (m < 0)
            err = edxbus__avro_skip(r, wf->type);
        else
            err = rdecode(res, r, wf->type, rd->u.record.fields[m].type, &slots[m]);
        if (err != EDXBUS_OK)
            goto cleanup;
    }
    r->path.n = seg;
    obj = json_object();
    if (obj == NULL) {
        err = nomem(r);
        goto cleanup;
    }
    for (size_t j = 0; j < nr; j++) {
        json_t *v = slots[j];
        slots[j] = NULL;
        if (v == NULL)
            v = json_deep_copy(p->defaults[j]);
        if (v == NULL || json_object_set_new_nocheck(obj, rd->u.record.fields[j].name, v) != 0) {
            err = nomem(r);
            goto cleanup;
        }
    }
    r->depth--;
    *out = obj;
    obj = NULL;
cleanup:
    for (size_t j = 0; j < nr; j++)
        json_decref(slots[j]);
    free(slots);
    json_decref(obj);
    return err;
}

/* An array item or map value read as the reader's item type. */
struct rdecode_item {
    const edxbus_avro_resolver_t *res;
    const struct edxbus_avro_node *wi; /* the writer's item type */
    const struct edxbus_avro_node *ri; /* the reader's */
};

static edxbus_err_t rdecode_one_item(struct edxbus__avro_reader *r, void *ctx, json_t **out)
{
    const struct rdecode_item *it = ctx;
    return rdecode(it->res, r, it->wi, it->ri, out);
}

static edxbus_err_t rdecode_blocks(const edxbus_avro_resolver_t *res, struct edxbus__avro_reader *r,
                                   const struct edxbus_avro_node *w,
                                   const struct edxbus_avro_node *rd, json_t **out)
{
    bool is_map = w->type == EDXBUS_AVRO_MAP;
    struct rdecode_item it = {
        .res = res,
        .wi = is_map ? w->u.map.values : w->u.array.items,
        .ri = is_map ? rd->u.map.values : rd->u.array.items,
    };
    return edxbus__avro_decode_blocks(r, is_map, it.wi, rdecode_one_item, &it, out);
}

static edxbus_err_t rdecode(const edxbus_avro_resolver_t *res, struct edxbus__avro_reader *r,
                            const struct edxbus_avro_node *w, const struct edxbus_avro_node *rd,
                            json_t **out)
{
    edxbus_err_t err;
    const uint8_t *at = r->p;
    size_t n = 0;
    if (w->type == EDXBUS_AVRO_UNION) {
        err = edxbus__avro_read_branch(r, w->u.uni.nbranches, &n);
        if (err != EDXBUS_OK)
            return err;
        w = w->u.uni.branches[n];
    }
    if (rd->type == EDXBUS_AVRO_UNION) {
        const struct edxbus_avro_node *rb = reader_branch(w, rd);
        if (rb == NULL)
            return edxbus__avro_fail(
                r, at, "writer type %s matches no branch of the reader's union", tname(w));
        rd = rb;
    }
    if (!shallow_match(w, rd))
        return edxbus__avro_fail(r, at, "writer type %s cannot be read as reader type %s", tname(w),
                                 tname(rd));
    switch (rd->type) {
    case EDXBUS_AVRO_RECORD:
        return rdecode_record(res, r, w, rd, out);
    case EDXBUS_AVRO_ARRAY:
    case EDXBUS_AVRO_MAP:
        return rdecode_blocks(res, r, w, rd, out);
    case EDXBUS_AVRO_ENUM: {
        err = edxbus__avro_read_enum(r, w->u.enm.nsymbols, &n);
        if (err != EDXBUS_OK)
            return err;
        const char *sym = w->u.enm.symbols[n];
        for (size_t i = 0; i < rd->u.enm.nsymbols; i++)
            if (strcmp(rd->u.enm.symbols[i], sym) == 0)
                goto found;
        if (rd->u.enm.default_symbol == NULL)
            return edxbus__avro_fail(r, at, "enum symbol \"%s\" unknown to the reader's %s", sym,
                                     rd->name);
        sym = rd->u.enm.default_symbol;
    found:
        *out = json_string(sym);
        return *out != NULL ? EDXBUS_OK : nomem(r);
    }
    case EDXBUS_AVRO_LONG:
    case EDXBUS_AVRO_FLOAT:
    case EDXBUS_AVRO_DOUBLE: {
        if (w->type == rd->type)
            break;
        double d;
        if (w->type == EDXBUS_AVRO_FLOAT) {
            const uint8_t *raw = NULL;
            err = edxbus__avro_take(r, 4, &raw, "float");
            if (err != EDXBUS_OK)
                return err;
            d = (double)edxbus__get_float_le(raw);
            if (!isfinite(d))
                return edxbus__avro_fail(r, at, "%s has no JSON form",
                                         isnan(d) ? "NaN" : "infinity");
        } else {
            int64_t v = 0;
            if (w->type == EDXBUS_AVRO_INT) {
                int32_t i32 = 0;
                err = edxbus__avro_read_int(r, &i32);
                v = i32;
            } else {
                err = edxbus__avro_read_long(r, &v, "long");
            }
            if (err != EDXBUS_OK)
                return err;
            if (rd->type == EDXBUS_AVRO_LONG) {
                *out = json_integer((json_int_t)v);
                return *out != NULL ? EDXBUS_OK : nomem(r);
            }
            d = rd->type == EDXBUS_AVRO_FLOAT ? (double)(float)v : (double)v;
        }
        *out = edxbus_json_double(d);
        return *out != NULL ? EDXBUS_OK : nomem(r);
    }
    case EDXBUS_AVRO_STRING:
        if (w->type == EDXBUS_AVRO_BYTES) {
            const uint8_t *s = NULL;
            err = edxbus__avro_read_string(r, &s, &n, "bytes read as string");
            if (err != EDXBUS_OK)
                return err;
            *out = json_stringn_nocheck((const char *)s, n);
            return *out != NULL ? EDXBUS_OK : nomem(r);
        }
        break;
    case EDXBUS_AVRO_BYTES:
        if (w->type == EDXBUS_AVRO_STRING) {
            err = edxbus__avro_read_len(r, &n, "string");
            if (err != EDXBUS_OK)
                return err;
            *out = edxbus__avro_bytes_to_json(r->p, n);
            r->p += n;
            return *out != NULL ? EDXBUS_OK : nomem(r);
        }
        break;
    default:
        break;
    }
    /* same type on both sides */
    return edxbus__avro_decode_value(r, w, out);
}

edxbus_err_t edxbus_avro_resolver_decode(const edxbus_avro_resolver_t *res, const uint8_t *data,
                                         size_t len, json_t **out, char *errstr, size_t errstr_size)
{
    *out = NULL;
    if (res == NULL || (data == NULL && len > 0))
        return EDXBUS_ERR_INVALID_ARG;
    struct edxbus__avro_reader r;
    edxbus__avro_reader_init(&r, data, len, errstr, errstr_size);
    json_t *v = NULL;
    edxbus_err_t err = rdecode(res, &r, res->writer->root, res->reader->root, &v);
    if (err == EDXBUS_OK)
        err = edxbus__avro_finish(&r);
    if (err != EDXBUS_OK) {
        json_decref(v);
        return err;
    }
    *out = v;
    return EDXBUS_OK;
}
