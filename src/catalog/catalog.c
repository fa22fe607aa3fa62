/* src/catalog/catalog.c — the event catalog: lookup, descriptors, encode and decode by type.
 *
 * A catalog is an array of event types kept sorted by type string, so lookup is a binary
 * search and edxbus_catalog_at() lists them in order. edxbus_catalog_new() fills it from the
 * compiled-in tables (catalog_builtin.c, generated at build time from
 * catalog/openedx_events.classes): each serializable event's schema text is parsed once and
 * its custom-typed fields get their checks (checks.c). Users' events (user.c) are added through
 * edxbus__catalog_put(), which replaces an event type already present.
 *
 * Invariants: types[] is sorted with no two equal names; a type's strings are either static
 * (built in) or listed in its `owned` array; `schema` is NULL exactly when `unserializable` is
 * set. Descriptors live as long as the catalog (a replaced one is freed at once, so replace only
 * while building, as the thread rule in catalog.h says).
 */
#include "catalog/catalog_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/suggest_int.h"

/* ---------------------------------------------------------------------------------------------
 * Descriptors
 * ------------------------------------------------------------------------------------------- */

void edxbus__event_type_destroy(struct edxbus_event_type *et)
{
    if (et == NULL)
        return;
    edxbus_avro_schema_destroy(et->schema);
    json_decref(et->data);
    for (size_t i = 0; i < et->nowned; i++)
        free(et->owned[i]);
    free(et->owned);
    free(et->owned_checks);
    free(et);
}

const char *edxbus__event_type_keep(struct edxbus_event_type *et, char *s)
{
    if (s == NULL)
        return NULL;
    char **v = realloc(et->owned, (et->nowned + 1) * sizeof *v);
    if (v == NULL) {
        free(s);
        return NULL;
    }
    et->owned = v;
    et->owned[et->nowned++] = s;
    return s;
}

edxbus_err_t edxbus__event_type_prepare(struct edxbus_event_type *et, char *errstr,
                                        size_t errstr_size)
{
    if (et->unserializable != NULL)
        return EDXBUS_OK;
    char why[EDXBUS_ERRSTR_SIZE];
    et->schema =
        edxbus_avro_schema_parse(et->schema_text, strlen(et->schema_text), why, sizeof why);
    if (et->schema == NULL) {
        edxbus_errf(errstr, errstr_size, "event %s: %s", et->name, why);
        return EDXBUS_ERR_SCHEMA;
    }
    for (size_t i = 0; i < et->nchecks; i++) {
        if (!edxbus__check_attach(et->schema, et->checks[i].path, et->checks[i].kind, why,
                                  sizeof why)) {
            edxbus_errf(errstr, errstr_size, "event %s: %s", et->name, why);
            return EDXBUS_ERR_SCHEMA;
        }
    }
    return EDXBUS_OK;
}

static struct edxbus_event_type *builtin_type(const struct edxbus__builtin_event *b)
{
    char errstr[EDXBUS_ERRSTR_SIZE];
    struct edxbus_event_type *et = calloc(1, sizeof *et);
    if (et == NULL)
        return NULL;
    et->name = b->type;
    et->signal = b->signal;
    et->minor_version = b->minor_version;
    et->key_field = b->key_field;
    et->description = b->description;
    et->warning = b->warning;
    et->unserializable = b->unserializable;
    et->schema_text = b->schema_text;
    et->checks = b->checks;
    et->nchecks = b->nchecks;
    et->data = json_loads(b->data_json, 0, NULL);
    /* The tables come from the build, where the same schemas were generated and checked;
     * a failure here can only be running out of memory. */
    if (et->data == NULL || edxbus__event_type_prepare(et, errstr, sizeof errstr) != EDXBUS_OK) {
        edxbus__event_type_destroy(et);
        return NULL;
    }
    return et;
}

/* ---------------------------------------------------------------------------------------------
 * The catalog
 * ------------------------------------------------------------------------------------------- */

edxbus_catalog_t *edxbus_catalog_new(void)
{
    edxbus_catalog_t *cat = calloc(1, sizeof *cat);
    if (cat == NULL)
        return NULL;
    cat->types = calloc(edxbus__builtin_nevents, sizeof *cat->types);
    cat->cap = edxbus__builtin_nevents;
    if (cat->types == NULL)
        goto out_cat;
    /* the generated table is sorted already */
    for (size_t i = 0; i < edxbus__builtin_nevents; i++) {
        cat->types[i] = builtin_type(&edxbus__builtin_events[i]);
        if (cat->types[i] == NULL)
            goto out_cat;
        cat->n++;
    }
    return cat;
out_cat:
    edxbus_catalog_destroy(cat);
    return NULL;
}

void edxbus_catalog_destroy(edxbus_catalog_t *cat)
{
    if (cat == NULL)
        return;
    for (size_t i = 0; i < cat->n; i++)
        edxbus__event_type_destroy(cat->types[i]);
    free(cat->types);
    edxbus__classes_destroy(cat->builtin_classes);
    free(cat);
}

/* Index of @p name in types[], or where it would go (*found false). */
static size_t search(const edxbus_catalog_t *cat, const char *name, bool *found)
{
    size_t lo = 0, hi = cat->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(cat->types[mid]->name, name);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return lo;
}

edxbus_err_t edxbus__catalog_reserve(edxbus_catalog_t *cat, size_t extra)
{
    if (cat->cap - cat->n >= extra)
        return EDXBUS_OK;
    size_t cap = cat->n + extra + 16;
    struct edxbus_event_type **v = realloc(cat->types, cap * sizeof *v);
    if (v == NULL)
        return EDXBUS_ERR_NOMEM;
    cat->types = v;
    cat->cap = cap;
    return EDXBUS_OK;
}

void edxbus__catalog_put(edxbus_catalog_t *cat, struct edxbus_event_type *et)
{
    bool found;
    size_t i = search(cat, et->name, &found);
    if (found) {
        edxbus__event_type_destroy(cat->types[i]);
        cat->types[i] = et;
        return;
    }
    /* room was made by edxbus__catalog_reserve(), so this cannot fail */
    memmove(&cat->types[i + 1], &cat->types[i], (cat->n - i) * sizeof *cat->types);
    cat->types[i] = et;
    cat->n++;
}

size_t edxbus_catalog_count(const edxbus_catalog_t *cat)
{
    return cat->n;
}

const edxbus_event_type_t *edxbus_catalog_at(const edxbus_catalog_t *cat, size_t i)
{
    return i < cat->n ? cat->types[i] : NULL;
}

const edxbus_event_type_t *edxbus_catalog_find(const edxbus_catalog_t *cat, const char *event_type)
{
    bool found;
    if (event_type == NULL)
        return NULL;
    size_t i = search(cat, event_type, &found);
    return found ? cat->types[i] : NULL;
}

const char *edxbus_catalog_suggest(const edxbus_catalog_t *cat, const char *event_type)
{
    struct edxbus__nearest nr;
    if (event_type == NULL)
        return NULL;
    /* a suggestion further than a third of the name away is noise, not a typo */
    edxbus__nearest_init(&nr, event_type, strlen(event_type) / 3 + 1);
    for (size_t i = 0; i < cat->n; i++)
        edxbus__nearest_add(&nr, cat->types[i]->name);
    return nr.best;
}

/* ---------------------------------------------------------------------------------------------
 * Accessors
 * ------------------------------------------------------------------------------------------- */

const char *edxbus_event_type_name(const edxbus_event_type_t *et)
{
    return et->name;
}

const char *edxbus_event_type_signal(const edxbus_event_type_t *et)
{
    return et->signal;
}

int edxbus_event_type_minor_version(const edxbus_event_type_t *et)
{
    return et->minor_version;
}

const char *edxbus_event_type_key_field(const edxbus_event_type_t *et)
{
    return et->key_field;
}

const char *edxbus_event_type_description(const edxbus_event_type_t *et)
{
    return et->description ? et->description : "";
}

bool edxbus_event_type_is_serializable(const edxbus_event_type_t *et)
{
    return et->unserializable == NULL;
}

const char *edxbus_event_type_unserializable_reason(const edxbus_event_type_t *et)
{
    return et->unserializable;
}

const char *edxbus_event_type_schema_text(const edxbus_event_type_t *et)
{
    return et->unserializable ? NULL : et->schema_text;
}

const edxbus_avro_schema_t *edxbus_event_type_schema(const edxbus_event_type_t *et)
{
    return et->schema;
}

static int set_str(json_t *obj, const char *key, const char *value)
{
    return json_object_set_new(obj, key, value ? json_string(value) : json_null());
}

json_t *edxbus_event_type_to_json(const edxbus_event_type_t *et)
{
    json_t *obj = json_object(), *checks = json_object();
    if (obj == NULL || checks == NULL)
        goto nomem;
    for (size_t i = 0; i < et->nchecks; i++) {
        if (json_object_set_new(checks, et->checks[i].path,
                                json_string(edxbus__check_name(et->checks[i].kind))) != 0)
            goto nomem;
    }
    if (set_str(obj, "type", et->name) || set_str(obj, "signal", et->signal) ||
        json_object_set_new(obj, "minor_version", json_integer(et->minor_version)) ||
        set_str(obj, "key_field", et->key_field) ||
        set_str(obj, "description", edxbus_event_type_description(et)) ||
        set_str(obj, "warning", et->warning) ||
        json_object_set_new(obj, "serializable", json_boolean(et->unserializable == NULL)) ||
        set_str(obj, "unserializable_reason", et->unserializable) ||
        json_object_set_new(obj, "data", et->data ? json_incref(et->data) : json_null()) ||
        json_object_set_new(obj, "checks", checks))
        goto nomem_obj;
    return obj;
nomem:
    json_decref(checks);
nomem_obj:
    json_decref(obj);
    return NULL;
}

/* ---------------------------------------------------------------------------------------------
 * Encode and decode
 * ------------------------------------------------------------------------------------------- */

static edxbus_err_t refuse(const edxbus_event_type_t *et, char *errstr, size_t errstr_size)
{
    if (errstr != NULL && errstr_size > 0)
        edxbus_errf(errstr, errstr_size, "event %s cannot be serialized: %s", et->name,
                    et->unserializable);
    return EDXBUS_ERR_UNSERIALIZABLE;
}

edxbus_err_t edxbus_event_encode(const edxbus_event_type_t *et, const json_t *data, unsigned flags,
                                 struct edxbus_buf *out, char *errstr, size_t errstr_size)
{
    if (et->unserializable != NULL)
        return refuse(et, errstr, errstr_size);
    return edxbus_avro_encode(et->schema, data, flags, out, errstr, errstr_size);
}

edxbus_err_t edxbus_event_decode(const edxbus_event_type_t *et, const uint8_t *data, size_t len,
                                 json_t **out, char *errstr, size_t errstr_size)
{
    if (et->unserializable != NULL)
        return refuse(et, errstr, errstr_size);
    return edxbus_avro_decode(et->schema, data, len, out, errstr, errstr_size);
}

edxbus_err_t edxbus_event_validate(const edxbus_event_type_t *et, const uint8_t *data, size_t len,
                                   char *errstr, size_t errstr_size)
{
    if (et->unserializable != NULL)
        return refuse(et, errstr, errstr_size);
    return edxbus_avro_validate(et->schema, data, len, errstr, errstr_size);
}

edxbus_err_t edxbus_event_decode_to_text(const edxbus_event_type_t *et, const uint8_t *data,
                                         size_t len, struct edxbus_buf *out, char *errstr,
                                         size_t errstr_size)
{
    if (et->unserializable != NULL)
        return refuse(et, errstr, errstr_size);
    return edxbus_avro_decode_to_text(et->schema, data, len, out, errstr, errstr_size);
}
