/* src/bus/key_field.c — an event_key_field resolved against the event's schema, for the producer
 * (which builds the key schema from it) and for `config check` (which refuses, before any send,
 * a path that names no field, passes through a nullable or non-record field, or ends on a field
 * that cannot be a key: Kafka keys are a string or a long, and never nullable).
 *
 * The path is walked through the schema's JSON (named types looked up where they are used by
 * name), with the same segment rules as edxbus_routing_key() (edxbus__key_path_next()).
 */
#include <stdlib.h>
#include <string.h>

#include "bus_int.h"

/* The record schema named @p name anywhere under @p node (a named type used by reference). */
static const json_t *find_named(const json_t *node, const char *name)
{
    if (json_is_array(node)) {
        size_t i;
        const json_t *item;
        json_array_foreach(node, i, item)
        {
            const json_t *r = find_named(item, name);
            if (r != NULL)
                return r;
        }
        return NULL;
    }
    if (!json_is_object(node))
        return NULL;
    const char *n = json_string_value(json_object_get(node, "name"));
    const char *ns = json_string_value(json_object_get(node, "namespace"));
    const char *t = json_string_value(json_object_get(node, "type"));
    if (n != NULL && t != NULL && strcmp(t, "record") == 0) {
        if (strcmp(n, name) == 0)
            return node;
        size_t nslen = ns ? strlen(ns) : 0;
        if (ns != NULL && strncmp(name, ns, nslen) == 0 && name[nslen] == '.' &&
            strcmp(name + nslen + 1, n) == 0)
            return node;
    }
    const json_t *r = find_named(json_object_get(node, "fields"), name);
    if (r == NULL)
        r = find_named(json_object_get(node, "type"), name);
    return r;
}

enum edxbus__key_kind edxbus__key_field_resolve(const edxbus_event_type_t *et, const char *path,
                                               char **schema_text, char *errstr,
                                               size_t errstr_size)
{
    char err[EDXBUS_ERRSTR_SIZE] = "";
    enum edxbus__key_kind kind = EDXBUS__KEY_BAD;
    *schema_text = NULL;
    json_t *root = NULL;
    const char *text = edxbus_event_type_schema_text(et);
    if (text == NULL) {
        edxbus__errf(err, sizeof err, "%s cannot be serialized", edxbus_event_type_name(et));
        goto out;
    }
    root = json_loads(text, 0, NULL);
    const json_t *record = root;
    const json_t *field = NULL;
    if (root == NULL) {
        edxbus__errf(err, sizeof err, "out of memory");
        goto out;
    }
    const char *pos = path;
    char seg[EDXBUS__KEY_NAME_MAX];
    bool last = false;
    while (!last) {
        if (edxbus__key_path_next(path, &pos, seg, &last, err, sizeof err) != EDXBUS_OK)
            break;
        field = NULL;
        size_t i;
        const json_t *f;
        json_array_foreach(json_object_get(record, "fields"), i, f)
        {
            const char *fname = json_string_value(json_object_get(f, "name"));
            if (fname != NULL && strcmp(fname, seg) == 0) {
                field = f;
                break;
            }
        }
        if (field == NULL) {
            edxbus__errf(err, sizeof err, "event_key_field \"%s\": no field \"%s\" in %s", path,
                         seg, edxbus_event_type_name(et));
            break;
        }
        const json_t *type = json_object_get(field, "type");
        if (last) {
            const char *tname = json_string_value(type);
            if (json_is_object(type))
                tname = json_string_value(json_object_get(type, "type"));
            if (json_is_array(type))
                edxbus__errf(
                    err, sizeof err,
                    "event_key_field \"%s\" is nullable; a nullable key cannot be produced", path);
            else if (tname != NULL && strcmp(tname, "string") == 0)
                kind = EDXBUS__KEY_STRING;
            else if (tname != NULL && (strcmp(tname, "long") == 0 || strcmp(tname, "int") == 0))
                kind = EDXBUS__KEY_LONG;
            else
                edxbus__errf(err, sizeof err,
                             "event_key_field \"%s\" has type %s; a key must be a string or a long",
                             path, tname != NULL ? tname : "(complex)");
            break;
        }
        if (json_is_string(type))
            type = find_named(root, json_string_value(type));
        if (json_is_array(type)) {
            edxbus__errf(err, sizeof err,
                         "event_key_field \"%s\": \"%s\" is nullable; a nullable key cannot be "
                         "produced",
                         path, seg);
            break;
        }
        if (!json_is_object(type) || json_object_get(type, "fields") == NULL) {
            edxbus__errf(err, sizeof err, "event_key_field \"%s\": \"%s\" is not a record", path,
                         seg);
            break;
        }
        record = type;
    }
    if (kind != EDXBUS__KEY_BAD) {
        /* Python's json.dumps(sort_keys=True): ", " and ": ", ASCII only. */
        *schema_text = json_dumps(field, JSON_SORT_KEYS | JSON_ENSURE_ASCII);
        if (*schema_text == NULL) {
            kind = EDXBUS__KEY_BAD;
            edxbus__errf(err, sizeof err, "out of memory");
        }
    }
out:
    json_decref(root);
    if (kind == EDXBUS__KEY_BAD)
        edxbus__errf(errstr, errstr_size, "%s", err);
    return kind;
}

