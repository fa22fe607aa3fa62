/* src/catalog/classes_schema.c — payload classes in, Avro schema out, as openedx-events does it.
 *
 * The rules are those of openedx_events/event_bus/avro/schema.py (schema_from_signal) in
 * openedx-events 11.2.0, and the text is that of AvroSignalSerializer.schema_string():
 *   - the top level is a record "CloudEvent" whose namespace is the event type, with a fixed doc
 *     and one field per data kwarg, in order; top-level fields are never unions;
 *   - str int bool float bytes are string long boolean double bytes; datetime, UUID and the
 *     opaque keys are plain strings (no logical types);
 *   - List[T] is {"type": "array", "items": T} and Dict[str, T] is {"type": "map", "values": T},
 *     where T may be a simple type, a list, a dict or a class, but not a custom type (openedx-
 *     events raises for List[datetime]);
 *   - a class is a record named after the class (no module) with its fields in attrs order: the
 *     base class's first, a field defined again by a subclass moving to the subclass's place;
 *     a class name seen before in the same schema is written as that bare name;
 *   - a class field whose default is None is ["null", T] with "default": null; any other default
 *     leaves the field required with no Avro default;
 *   - the text is json.dumps(schema, sort_keys=True): keys sorted at every level, separators
 *     ", " and ": ", which jansson writes with JSON_SORT_KEYS and without JSON_COMPACT.
 * Along the way it records the path of every custom-typed field, for the checks (checks.c).
 */
#include "catalog/classes_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLOUDEVENT_DOC "Avro Event Format for CloudEvents created with openedx_events/schema"

/* Deepest base-class chain followed; a cycle is refused by the parser already. */
#define MAX_BASES 64

struct gen {
    const struct edxbus__classes *cs;
    json_t *seen; /* object: class names already defined */
    struct edxbus__check_path *checks;
    size_t nchecks, checks_cap;
    bool want_checks;
    char *errstr;
    size_t errstr_size;
    edxbus_err_t err;
};

static void gen_fail(struct gen *g, edxbus_err_t err, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void gen_fail(struct gen *g, edxbus_err_t err, int line, const char *fmt, ...)
{
    if (g->err != EDXBUS_OK)
        return;
    g->err = err;
    if (g->errstr == NULL || g->errstr_size == 0)
        return;
    int n = snprintf(g->errstr, g->errstr_size, "%s:%d: ", g->cs->file, line);
    if (n < 0 || (size_t)n >= g->errstr_size)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g->errstr + n, g->errstr_size - (size_t)n, fmt, ap);
    va_end(ap);
}

/* prefix + "." + name + suffix (no dot when prefix or name is empty); returns new. */
static char *join_path(const char *prefix, const char *name, const char *suffix)
{
    size_t plen = strlen(prefix), nlen = strlen(name), slen = strlen(suffix);
    char *s = malloc(plen + 1 + nlen + slen + 1);
    if (s == NULL)
        return NULL;
    size_t o = plen;
    memcpy(s, prefix, plen);
    if (plen > 0 && nlen > 0)
        s[o++] = '.';
    memcpy(s + o, name, nlen);
    o += nlen;
    memcpy(s + o, suffix, slen);
    s[o + slen] = '\0';
    return s;
}

static bool add_check(struct gen *g, const char *path, enum edxbus__check kind, int line)
{
    if (!g->want_checks)
        return true;
    if (g->nchecks == g->checks_cap) {
        size_t cap = g->checks_cap ? g->checks_cap * 2 : 8;
        struct edxbus__check_path *v = realloc(g->checks, cap * sizeof *v);
        if (v == NULL)
            goto nomem;
        g->checks = v;
        g->checks_cap = cap;
    }
    char *copy = strdup(path);
    if (copy == NULL)
        goto nomem;
    g->checks[g->nchecks].path = copy;
    g->checks[g->nchecks].kind = kind;
    g->nchecks++;
    return true;
nomem:
    gen_fail(g, EDXBUS_ERR_NOMEM, line, "out of memory");
    return false;
}

static json_t *gen_type(struct gen *g, const struct ctype *t, const char *path, const char *owner,
                        int line);

/* The type of a list item or map value (schema.py _get_avro_type_for_list_item/_dict_item). */
static json_t *gen_item(struct gen *g, const struct ctype *t, const char *path, const char *owner,
                        int line, const char *where)
{
    if (t->kind == CT_PRIM)
        return json_string(t->avro);
    if (t->kind == CT_LIST || t->kind == CT_DICT || t->kind == CT_CLASS)
        return gen_type(g, t, path, owner, line);
    gen_fail(g, EDXBUS_ERR_SCHEMA, line,
             "%s: a %s cannot be a %s (openedx-events allows only "
             "str, int, bool, float, bytes, lists, dicts and classes there)",
             owner, t->name, where);
    return NULL;
}

static bool overridden(const struct cfield *f, const struct cclass *const *derived, size_t nderived)
{
    for (size_t i = 0; i < nderived; i++) {
        for (const struct cfield *d = derived[i]->fields; d != NULL; d = d->next) {
            if (strcmp(f->name, d->name) == 0)
                return true;
        }
    }
    return false;
}

static json_t *gen_field(struct gen *g, const struct cfield *f, const char *prefix,
                         const char *owner_class, bool may_be_optional);

/* Append the fields of @p c in attrs order; @p derived lists the subclasses on the way down to
 * the class being generated, whose own definitions replace the inherited ones. */
static bool gen_fields(struct gen *g, const struct cclass *c, const char *path, json_t *fields,
                       const struct cclass **derived, size_t nderived)
{
    if (c->base != NULL) {
        if (nderived >= MAX_BASES) {
            gen_fail(g, EDXBUS_ERR_SCHEMA, c->line, "class %s: more than %d levels of bases",
                     c->name, MAX_BASES);
            return false;
        }
        derived[nderived] = c;
        if (!gen_fields(g, c->base, path, fields, derived, nderived + 1))
            return false;
    }
    for (const struct cfield *f = c->fields; f != NULL; f = f->next) {
        if (overridden(f, derived, nderived))
            continue;
        json_t *field = gen_field(g, f, path, c->name, true);
        if (field == NULL)
            return false;
        if (json_array_append_new(fields, field) != 0) {
            gen_fail(g, EDXBUS_ERR_NOMEM, f->line, "out of memory");
            return false;
        }
    }
    return true;
}

static json_t *gen_record(struct gen *g, const struct cclass *c, const char *path)
{
    const struct cclass *derived[MAX_BASES];
    json_t *fields = json_array();
    if (fields == NULL) {
        gen_fail(g, EDXBUS_ERR_NOMEM, c->line, "out of memory");
        return NULL;
    }
    if (!gen_fields(g, c, path, fields, derived, 0)) {
        json_decref(fields);
        return NULL;
    }
    json_t *rec = json_pack("{s:s, s:s, s:o}", "name", c->name, "type", "record", "fields", fields);
    if (rec == NULL)
        gen_fail(g, EDXBUS_ERR_NOMEM, c->line, "out of memory");
    return rec;
}

/* The Avro type of @p t; @p path is the field's path (for checks inside it). */
static json_t *gen_type(struct gen *g, const struct ctype *t, const char *path, const char *owner,
                        int line)
{
    json_t *type = NULL, *item = NULL;
    char *sub = NULL;
    bool list = t->kind == CT_LIST;
    switch (t->kind) {
    case CT_PRIM:
        return json_string(t->avro);
    case CT_CUSTOM:
        return add_check(g, path, t->check, line) ? json_string("string") : NULL;
    case CT_UNSUPPORTED:
        gen_fail(g, EDXBUS_ERR_SCHEMA, line,
                 "%s: %s has no Avro type; openedx-events cannot "
                 "serialize it (mark the event unserializable)",
                 owner, t->name);
        return NULL;
    case CT_LIST:
    case CT_DICT:
        sub = join_path(path, "", list ? "[]" : "{}");
        if (sub == NULL)
            break;
        item = gen_item(g, t->item, sub, owner, line, list ? "list item" : "dict value");
        free(sub);
        if (item == NULL)
            return NULL;
        type = list ? json_pack("{s:s, s:o}", "type", "array", "items", item)
                    : json_pack("{s:s, s:o}", "type", "map", "values", item);
        if (type == NULL)
            break;
        return type;
    case CT_CLASS:
        if (json_object_get(g->seen, t->cls->name) != NULL)
            return json_string(t->cls->name);
        if (json_object_set_new(g->seen, t->cls->name, json_true()) != 0)
            break;
        return gen_record(g, t->cls, path);
    }
    gen_fail(g, EDXBUS_ERR_NOMEM, line, "out of memory");
    return NULL;
}

/* One field: {"name", "type"}, or the optional form with ["null", T] and "default": null. */
static json_t *gen_field(struct gen *g, const struct cfield *f, const char *prefix,
                         const char *owner_class, bool may_be_optional)
{
    char owner[256];
    snprintf(owner, sizeof owner, "%s%s%s", owner_class, owner_class[0] ? "." : "", f->name);
    char *path = join_path(prefix, f->name, "");
    if (path == NULL) {
        gen_fail(g, EDXBUS_ERR_NOMEM, f->line, "out of memory");
        return NULL;
    }
    json_t *type = gen_type(g, f->type, path, owner, f->line);
    free(path);
    if (type == NULL)
        return NULL;
    json_t *field;
    if (may_be_optional && f->optional)
        field = json_pack("{s:s, s:[s,o], s:n}", "name", f->name, "type", "null", type, "default");
    else
        field = json_pack("{s:s, s:o}", "name", f->name, "type", type);
    if (field == NULL)
        gen_fail(g, EDXBUS_ERR_NOMEM, f->line, "out of memory");
    return field;
}

void edxbus__check_paths_free(struct edxbus__check_path *checks, size_t nchecks)
{
    if (checks == NULL)
        return;
    for (size_t i = 0; i < nchecks; i++)
        free(checks[i].path);
    free(checks);
}

edxbus_err_t edxbus__classes_schema(const struct edxbus__classes *cs, size_t i, char **text,
                                    struct edxbus__check_path **checks, size_t *nchecks,
                                    char *errstr, size_t errstr_size)
{
    const struct cevent *ev = cs->events[i];
    struct gen g = {
        .cs = cs, .want_checks = checks != NULL, .errstr = errstr, .errstr_size = errstr_size};
    json_t *root = NULL, *fields = NULL;
    *text = NULL;
    if (ev->def.unserializable != NULL) {
        gen_fail(&g, EDXBUS_ERR_UNSERIALIZABLE, ev->def.line, "event %s cannot be serialized: %s",
                 ev->def.type, ev->def.unserializable);
        return g.err;
    }
    g.seen = json_object();
    fields = json_array();
    if (g.seen == NULL || fields == NULL)
        goto nomem;
    for (const struct cfield *f = ev->data; f != NULL; f = f->next) {
        json_t *field = gen_field(&g, f, "", "", false);
        if (field == NULL)
            goto out;
        if (json_array_append_new(fields, field) != 0)
            goto nomem;
    }
    root = json_pack("{s:s, s:s, s:s, s:O, s:s}", "name", "CloudEvent", "type", "record", "doc",
                     CLOUDEVENT_DOC, "fields", fields, "namespace", ev->def.type);
    if (root == NULL)
        goto nomem;
    *text = json_dumps(root, JSON_SORT_KEYS);
    if (*text == NULL)
        goto nomem;
    goto out;
nomem:
    gen_fail(&g, EDXBUS_ERR_NOMEM, ev->def.line, "out of memory");
out:
    json_decref(root);
    json_decref(fields);
    json_decref(g.seen);
    if (g.err != EDXBUS_OK) {
        edxbus__check_paths_free(g.checks, g.nchecks);
        return g.err;
    }
    if (checks != NULL) {
        *checks = g.checks;
        *nchecks = g.nchecks;
    }
    return EDXBUS_OK;
}

json_t *edxbus__classes_event_data_json(const struct edxbus__classes *cs, size_t i)
{
    json_t *data = json_array();
    for (const struct cfield *f = cs->events[i]->data; data != NULL && f != NULL; f = f->next) {
        if (json_array_append_new(
                data, json_pack("{s:s, s:s}", "name", f->name, "type", f->type_text)) != 0) {
            json_decref(data);
            return NULL;
        }
    }
    return data;
}
