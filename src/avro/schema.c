/* src/avro/schema.c — schema JSON text -> the parsed node graph of avro_int.h.
 *
 * One recursive walk over the JSON (jansson) builds the nodes. Every node is registered in the
 * schema's node list the moment it is allocated, and each node's arrays count only the slots
 * already filled, so on any error edxbus_avro_schema_destroy() frees a half-built schema with
 * no special cases.
 *
 * Names follow Avro 1.11: a named type (record, enum, fixed) gets its full name from a dotted
 * "name", else from "namespace", else from the enclosing named type; its full name is put in
 * the name table BEFORE its fields are parsed, so a record can refer to itself. A reference
 * ("UserData") is looked up in the enclosing namespace first, then as written. Field defaults
 * are checked against the field type (schema_default.c) and kept as a deep copy, since a
 * json_t the caller keeps could change under an immutable schema.
 *
 * Error text is one line: `schema: <path>: <what>`, the path walking down through record
 * names, `fields[i] "name"`, `items`, `values` and `union[i]`, e.g.
 * `schema: CloudEvent.fields[2] "mode": unknown type "strng"`.
 *
 * Nesting is capped at EDXBUS_AVRO_MAX_DEPTH so hostile schema JSON cannot exhaust the stack;
 * the canonical-form writer relies on that cap too (it walks the same tree).
 *
 * Names (validation, the enclosing namespace, lookup, aliases, registering a named type) are in
 * schema_name.c; what the two files share is in schema_int.h.
 *
 * To add a new type: add it to edxbus_avro_type_t, parse it in parse_object(), free it in
 * node_free(), check its defaults in schema_default.c, and write it in canonical.c.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "avro/schema_int.h"

/* A fixed's size is read into memory whole by the decoder; Java caps it at an int too. */
#define FIXED_MAX_SIZE INT32_MAX

#define PATH_SHOWN 120 /* bytes of the path an error line shows */

static const char *const type_names[] = {
    [EDXBUS_AVRO_NULL] = "null",     [EDXBUS_AVRO_BOOLEAN] = "boolean",
    [EDXBUS_AVRO_INT] = "int",       [EDXBUS_AVRO_LONG] = "long",
    [EDXBUS_AVRO_FLOAT] = "float",   [EDXBUS_AVRO_DOUBLE] = "double",
    [EDXBUS_AVRO_BYTES] = "bytes",   [EDXBUS_AVRO_STRING] = "string",
    [EDXBUS_AVRO_RECORD] = "record", [EDXBUS_AVRO_ENUM] = "enum",
    [EDXBUS_AVRO_ARRAY] = "array",   [EDXBUS_AVRO_MAP] = "map",
    [EDXBUS_AVRO_UNION] = "union",   [EDXBUS_AVRO_FIXED] = "fixed",
};

const char *edxbus__avro_type_name(edxbus_avro_type_t type)
{
    if ((unsigned)type >= sizeof type_names / sizeof type_names[0])
        return "unknown";
    return type_names[type];
}

/* ---------------------------------------------------------------------------------------------
 * Errors and paths
 * ------------------------------------------------------------------------------------------- */

/* Error text is one line even when it quotes hostile names: control characters become '?'. */
static void one_line(char *s)
{
    for (; *s != '\0'; s++) {
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            *s = '?';
    }
}

void edxbus__avro_schema_fail(struct parser *p, const char *fmt, ...)
{
    char msg[EDXBUS_ERRSTR_SIZE];
    va_list ap;

    if (p->errstr == NULL || p->errstr_size == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* A deep path keeps only its tail, so the reason still fits in EDXBUS_ERRSTR_SIZE. */
    snprintf(p->errstr, p->errstr_size, "schema: %s%s%s%s", p->path_len > PATH_SHOWN ? "..." : "",
             p->path_len > PATH_SHOWN ? p->path + p->path_len - PATH_SHOWN : p->path,
             p->path_len ? ": " : "", msg);
    one_line(p->errstr);
}

/* Append one component to the path; returns the old length, for path_pop(). A component
 * starting with '[' is glued on, others follow a dot. */
size_t edxbus__avro_schema_path_push(struct parser *p, const char *fmt, ...)
{
    size_t saved = p->path_len;
    size_t room = sizeof p->path - p->path_len;
    va_list ap;
    int n;

    if (room <= 1)
        return saved;
    if (p->path_len > 0 && fmt[0] != '[') {
        p->path[p->path_len++] = '.';
        p->path[p->path_len] = '\0';
        room--;
    }
    va_start(ap, fmt);
    n = vsnprintf(p->path + p->path_len, room, fmt, ap);
    va_end(ap);
    if (n < 0)
        p->path[p->path_len] = '\0';
    else if ((size_t)n >= room)
        p->path_len = sizeof p->path - 1;
    else
        p->path_len += (size_t)n;
    return saved;
}

static void path_pop(struct parser *p, size_t saved)
{
    p->path_len = saved;
    p->path[saved] = '\0';
}

/* ---------------------------------------------------------------------------------------------
 * Nodes
 * ------------------------------------------------------------------------------------------- */

static void strv_free(char **v)
{
    if (v == NULL)
        return;
    for (size_t i = 0; v[i] != NULL; i++)
        free(v[i]);
    free(v);
}

static void node_free(struct edxbus_avro_node *node)
{
    free(node->name);
    free(node->doc);
    strv_free(node->aliases);
    switch (node->type) {
    case EDXBUS_AVRO_RECORD:
        for (size_t i = 0; i < node->u.record.nfields; i++) {
            struct edxbus_avro_field *field = &node->u.record.fields[i];
            free(field->name);
            free(field->doc);
            json_decref(field->default_value);
            strv_free(field->aliases);
        }
        free(node->u.record.fields);
        break;
    case EDXBUS_AVRO_ENUM:
        for (size_t i = 0; i < node->u.enm.nsymbols; i++)
            free(node->u.enm.symbols[i]);
        free(node->u.enm.symbols);
        free(node->u.enm.default_symbol);
        break;
    case EDXBUS_AVRO_UNION:
        free(node->u.uni.branches);
        break;
    default:
        break;
    }
    free(node);
}

void edxbus_avro_schema_destroy(edxbus_avro_schema_t *schema)
{
    if (schema == NULL)
        return;
    for (size_t i = 0; i < schema->nnodes; i++)
        node_free(schema->nodes[i]);
    free(schema->nodes);
    json_decref(schema->name_table);
    free(schema);
}

/* A new node of @p type, already owned by the schema (so any later failure frees it). */
struct edxbus_avro_node *edxbus__avro_schema_node_new(struct parser *p, edxbus_avro_type_t type)
{
    edxbus_avro_schema_t *schema = p->schema;
    struct edxbus_avro_node *node;

    if (schema->nnodes == schema->nodes_cap) {
        size_t cap = schema->nodes_cap ? schema->nodes_cap * 2 : 16;
        struct edxbus_avro_node **nodes = realloc(schema->nodes, cap * sizeof *nodes);
        if (nodes == NULL)
            goto nomem;
        schema->nodes = nodes;
        schema->nodes_cap = cap;
    }
    node = calloc(1, sizeof *node);
    if (node == NULL)
        goto nomem;
    node->type = type;
    schema->nodes[schema->nnodes++] = node;
    return node;

nomem:
    edxbus__avro_schema_fail(p, "out of memory");
    return NULL;
}

struct edxbus_avro_node *edxbus__avro_schema_lookup(const edxbus_avro_schema_t *schema,
                                                    const char *fullname)
{
    json_t *index = json_object_get(schema->name_table, fullname);
    if (!json_is_integer(index))
        return NULL;
    json_int_t i = json_integer_value(index);
    if (i < 0 || (size_t)i >= schema->nnodes)
        return NULL;
    return schema->nodes[i];
}

struct edxbus_avro_field *edxbus__avro_record_field(const struct edxbus_avro_node *record,
                                                    const char *name)
{
    if (record == NULL || record->type != EDXBUS_AVRO_RECORD)
        return NULL;
    for (size_t i = 0; i < record->u.record.nfields; i++) {
        if (strcmp(record->u.record.fields[i].name, name) == 0)
            return &record->u.record.fields[i];
    }
    return NULL;
}

/* ---------------------------------------------------------------------------------------------
 * Types
 * ------------------------------------------------------------------------------------------- */

static struct edxbus_avro_node *parse_type(struct parser *p, const json_t *json, const char *ns);

static bool parse_field(struct parser *p, struct edxbus_avro_node *record, size_t i,
                        const json_t *json, const char *ns)
{
    struct edxbus_avro_field *field = &record->u.record.fields[i];
    const json_t *jname = json_object_get(json, "name");
    const json_t *jtype = json_object_get(json, "type");
    const json_t *jdefault = json_object_get(json, "default");
    const json_t *jorder = json_object_get(json, "order");
    const char *name = edxbus__avro_json_cstr(jname);

    if (name == NULL) {
        edxbus__avro_schema_path_push(p, "[%zu]", i);
        if (jname == NULL)
            edxbus__avro_schema_fail(p, "field is missing \"name\"");
        else
            edxbus__avro_schema_fail(p, "field \"name\" must be a string, got %s",
                                     edxbus__avro_json_kind(jname));
        return false;
    }
    edxbus__avro_schema_path_push(p, "[%zu] \"%s\"", i, name);
    if (!edxbus__avro_valid_simple_name(name, strlen(name))) {
        edxbus__avro_schema_fail(
            p, "invalid field name \"%s\": it must match [A-Za-z_][A-Za-z0-9_]*", name);
        return false;
    }
    if (edxbus__avro_record_field(record, name) != NULL) {
        edxbus__avro_schema_fail(p, "duplicate field \"%s\" in record %s", name, record->name);
        return false;
    }
    field->name = strdup(name);
    field->name_len = strlen(name);
    record->u.record.nfields++; /* from here the slot is freed with the schema */
    if (field->name == NULL) {
        edxbus__avro_schema_fail(p, "out of memory");
        return false;
    }
    if (!edxbus__avro_schema_copy_doc(p, json, &field->doc) ||
        !edxbus__avro_schema_parse_aliases(p, json, NULL, false, &field->aliases))
        return false;
    if (jorder != NULL) {
        const char *order = edxbus__avro_json_cstr(jorder);
        if (order == NULL || (strcmp(order, "ascending") != 0 && strcmp(order, "descending") != 0 &&
                              strcmp(order, "ignore") != 0)) {
            edxbus__avro_schema_fail(
                p, "\"order\" must be \"ascending\", \"descending\" or \"ignore\"");
            return false;
        }
    }
    if (jtype == NULL) {
        edxbus__avro_schema_fail(p, "field is missing \"type\"");
        return false;
    }
    field->type = parse_type(p, jtype, ns);
    if (field->type == NULL)
        return false;
    if (jdefault != NULL) {
        char why[EDXBUS_ERRSTR_SIZE];
        if (!edxbus__avro_default_check(field->type, jdefault, why, sizeof why)) {
            edxbus__avro_schema_fail(p, "%s", why);
            return false;
        }
        field->default_value = json_deep_copy(jdefault);
        if (field->default_value == NULL) {
            edxbus__avro_schema_fail(p, "out of memory");
            return false;
        }
    }
    return true;
}

static struct edxbus_avro_node *parse_record(struct parser *p, const json_t *json, const char *ns)
{
    const json_t *fields = json_object_get(json, "fields");
    struct edxbus_avro_node *node;
    size_t saved = p->path_len, n;
    char *own_ns = NULL;

    node = edxbus__avro_schema_named_begin(p, json, EDXBUS_AVRO_RECORD, ns, &saved);
    if (node == NULL)
        goto out;
    if (fields == NULL || !json_is_array(fields)) {
        if (fields == NULL)
            edxbus__avro_schema_fail(p, "record is missing \"fields\"");
        else
            edxbus__avro_schema_fail(p, "\"fields\" must be an array, got %s",
                                     edxbus__avro_json_kind(fields));
        node = NULL;
        goto out;
    }
    n = json_array_size(fields);
    node->u.record.fields = calloc(n ? n : 1, sizeof *node->u.record.fields);
    own_ns = edxbus__avro_namespace_of(node->name);
    if (node->u.record.fields == NULL || own_ns == NULL) {
        edxbus__avro_schema_fail(p, "out of memory");
        node = NULL;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        const json_t *field = json_array_get(fields, i);
        size_t at = edxbus__avro_schema_path_push(p, "fields");
        if (!json_is_object(field)) {
            edxbus__avro_schema_path_push(p, "[%zu]", i);
            edxbus__avro_schema_fail(p, "a field must be an object, got %s",
                                     edxbus__avro_json_kind(field));
            node = NULL;
            goto out;
        }
        if (!parse_field(p, node, i, field, own_ns)) {
            node = NULL;
            goto out;
        }
        path_pop(p, at);
    }
out:
    free(own_ns);
    if (node != NULL)
        path_pop(p, saved);
    return node;
}

static struct edxbus_avro_node *parse_enum(struct parser *p, const json_t *json, const char *ns)
{
    const json_t *symbols = json_object_get(json, "symbols");
    const json_t *jdefault = json_object_get(json, "default");
    struct edxbus_avro_node *node;
    json_t *seen = NULL;
    size_t saved = p->path_len, n;

    node = edxbus__avro_schema_named_begin(p, json, EDXBUS_AVRO_ENUM, ns, &saved);
    if (node == NULL)
        goto out;
    if (symbols == NULL || !json_is_array(symbols)) {
        if (symbols == NULL)
            edxbus__avro_schema_fail(p, "enum is missing \"symbols\"");
        else
            edxbus__avro_schema_fail(p, "\"symbols\" must be an array, got %s",
                                     edxbus__avro_json_kind(symbols));
        goto fail;
    }
    n = json_array_size(symbols);
    node->u.enm.symbols = calloc(n ? n : 1, sizeof *node->u.enm.symbols);
    seen = json_object();
    if (node->u.enm.symbols == NULL || seen == NULL)
        goto nomem;
    for (size_t i = 0; i < n; i++) {
        const json_t *jsym = json_array_get(symbols, i);
        const char *sym = edxbus__avro_json_cstr(jsym);
        if (sym == NULL) {
            edxbus__avro_schema_fail(p, "symbols[%zu] must be a string, got %s", i,
                                     edxbus__avro_json_kind(jsym));
            goto fail;
        }
        if (!edxbus__avro_valid_simple_name(sym, strlen(sym))) {
            edxbus__avro_schema_fail(
                p, "invalid symbol \"%s\": it must match [A-Za-z_][A-Za-z0-9_]*", sym);
            goto fail;
        }
        if (json_object_get(seen, sym) != NULL) {
            edxbus__avro_schema_fail(p, "duplicate symbol \"%s\" in enum %s", sym, node->name);
            goto fail;
        }
        if (json_object_set(seen, sym, json_true()) != 0)
            goto nomem;
        node->u.enm.symbols[i] = strdup(sym);
        if (node->u.enm.symbols[i] == NULL)
            goto nomem;
        node->u.enm.nsymbols++;
    }
    if (jdefault != NULL) {
        const char *def = edxbus__avro_json_cstr(jdefault);
        if (def == NULL || json_object_get(seen, def) == NULL) {
            edxbus__avro_schema_fail(p, "enum default %s%s%s is not one of its symbols",
                                     def ? "\"" : "", def ? def : edxbus__avro_json_kind(jdefault),
                                     def ? "\"" : "");
            goto fail;
        }
        node->u.enm.default_symbol = strdup(def);
        if (node->u.enm.default_symbol == NULL)
            goto nomem;
    }
    path_pop(p, saved);
    goto out;

nomem:
    edxbus__avro_schema_fail(p, "out of memory");
fail:
    node = NULL;
out:
    json_decref(seen);
    return node;
}

static struct edxbus_avro_node *parse_fixed(struct parser *p, const json_t *json, const char *ns)
{
    const json_t *size = json_object_get(json, "size");
    struct edxbus_avro_node *node;
    size_t saved = p->path_len;

    node = edxbus__avro_schema_named_begin(p, json, EDXBUS_AVRO_FIXED, ns, &saved);
    if (node == NULL)
        return NULL;
    if (size == NULL) {
        edxbus__avro_schema_fail(p, "fixed is missing \"size\"");
        return NULL;
    }
    if (!json_is_integer(size)) {
        edxbus__avro_schema_fail(p, "\"size\" must be a non-negative integer, got %s",
                                 edxbus__avro_json_kind(size));
        return NULL;
    }
    if (json_integer_value(size) < 0) {
        edxbus__avro_schema_fail(
            p, "\"size\" must be a non-negative integer, got %" JSON_INTEGER_FORMAT,
            json_integer_value(size));
        return NULL;
    }
    if (json_integer_value(size) > FIXED_MAX_SIZE) {
        edxbus__avro_schema_fail(p, "\"size\" %" JSON_INTEGER_FORMAT " is too large (at most %d)",
                                 json_integer_value(size), FIXED_MAX_SIZE);
        return NULL;
    }
    node->u.fixed.size = (size_t)json_integer_value(size);
    path_pop(p, saved);
    return node;
}

/* An array or map: @p key is "items" or "values". */
static struct edxbus_avro_node *parse_container(struct parser *p, const json_t *json,
                                                edxbus_avro_type_t type, const char *key,
                                                const char *ns)
{
    const json_t *inner = json_object_get(json, key);
    struct edxbus_avro_node *node, *child;
    size_t saved;

    if (inner == NULL) {
        edxbus__avro_schema_fail(p, "%s is missing \"%s\"", type_names[type], key);
        return NULL;
    }
    node = edxbus__avro_schema_node_new(p, type);
    if (node == NULL)
        return NULL;
    saved = edxbus__avro_schema_path_push(p, "%s", key);
    child = parse_type(p, inner, ns);
    if (child == NULL)
        return NULL;
    path_pop(p, saved);
    if (type == EDXBUS_AVRO_ARRAY)
        node->u.array.items = child;
    else
        node->u.map.values = child;
    return node;
}

static struct edxbus_avro_node *parse_union(struct parser *p, const json_t *json, const char *ns)
{
    size_t n = json_array_size(json);
    struct edxbus_avro_node *node = edxbus__avro_schema_node_new(p, EDXBUS_AVRO_UNION);

    if (node == NULL)
        return NULL;
    node->u.uni.branches = calloc(n ? n : 1, sizeof *node->u.uni.branches);
    if (node->u.uni.branches == NULL) {
        edxbus__avro_schema_fail(p, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        const json_t *jbranch = json_array_get(json, i);
        size_t saved = edxbus__avro_schema_path_push(p, "union[%zu]", i);
        struct edxbus_avro_node *branch;

        if (json_is_array(jbranch)) {
            edxbus__avro_schema_fail(p, "a union may not directly contain another union");
            return NULL;
        }
        branch = parse_type(p, jbranch, ns);
        if (branch == NULL)
            return NULL;
        for (size_t j = 0; j < i; j++) {
            const struct edxbus_avro_node *other = node->u.uni.branches[j];
            if (branch->name != NULL && other->name != NULL &&
                strcmp(branch->name, other->name) == 0) {
                edxbus__avro_schema_fail(p, "union already has a branch named \"%s\" (union[%zu])",
                                         branch->name, j);
                return NULL;
            }
            if (branch->name == NULL && other->type == branch->type) {
                edxbus__avro_schema_fail(p, "union already has a \"%s\" branch (union[%zu])",
                                         edxbus__avro_type_name(branch->type), j);
                return NULL;
            }
        }
        node->u.uni.branches[node->u.uni.nbranches++] = branch;
        path_pop(p, saved);
    }
    return node;
}

static struct edxbus_avro_node *parse_object(struct parser *p, const json_t *json, const char *ns)
{
    const json_t *jtype = json_object_get(json, "type");
    const char *type = edxbus__avro_json_cstr(jtype);

    if (jtype == NULL) {
        edxbus__avro_schema_fail(p, "missing \"type\"");
        return NULL;
    }
    if (type == NULL) {
        edxbus__avro_schema_fail(p, "\"type\" must be a string, got %s",
                                 edxbus__avro_json_kind(jtype));
        return NULL;
    }
    /* Primitives in object form keep only their type; logicalType and other extra attributes
     * are ignored, as the specification asks for unknown logical types. */
    if (edxbus__avro_primitive_type(type) >= 0)
        return edxbus__avro_schema_node_new(p,
                                            (edxbus_avro_type_t)edxbus__avro_primitive_type(type));
    if (strcmp(type, "record") == 0)
        return parse_record(p, json, ns);
    if (strcmp(type, "enum") == 0)
        return parse_enum(p, json, ns);
    if (strcmp(type, "fixed") == 0)
        return parse_fixed(p, json, ns);
    if (strcmp(type, "array") == 0)
        return parse_container(p, json, EDXBUS_AVRO_ARRAY, "items", ns);
    if (strcmp(type, "map") == 0)
        return parse_container(p, json, EDXBUS_AVRO_MAP, "values", ns);
    /* {"type": "UserData"}: a reference in object form, as Java accepts it. */
    return edxbus__avro_schema_resolve_name(p, type, ns);
}

static struct edxbus_avro_node *parse_type(struct parser *p, const json_t *json, const char *ns)
{
    struct edxbus_avro_node *node = NULL;

    if (++p->depth > EDXBUS_AVRO_MAX_DEPTH) {
        edxbus__avro_schema_fail(p, "schema nested deeper than %d levels", EDXBUS_AVRO_MAX_DEPTH);
        goto out;
    }
    switch (json_typeof(json)) {
    case JSON_STRING:
        if (edxbus__avro_json_cstr(json) != NULL)
            node = edxbus__avro_schema_resolve_name(p, edxbus__avro_json_cstr(json), ns);
        else
            edxbus__avro_schema_fail(p, "a type name may not hold \\u0000");
        break;
    case JSON_OBJECT:
        node = parse_object(p, json, ns);
        break;
    case JSON_ARRAY:
        node = parse_union(p, json, ns);
        break;
    default:
        edxbus__avro_schema_fail(p, "a type must be a name, an object or an array, got %s",
                                 edxbus__avro_json_kind(json));
        break;
    }
out:
    p->depth--;
    return node;
}

/* ---------------------------------------------------------------------------------------------
 * Entry points
 * ------------------------------------------------------------------------------------------- */

edxbus_avro_schema_t *edxbus_avro_schema_from_json(const json_t *json, char *errstr,
                                                   size_t errstr_size)
{
    struct parser p = {.errstr = errstr, .errstr_size = errstr_size};

    if (errstr != NULL && errstr_size > 0)
        errstr[0] = '\0';
    if (json == NULL) {
        edxbus__avro_schema_fail(&p, "no schema given");
        return NULL;
    }
    p.schema = calloc(1, sizeof *p.schema);
    if (p.schema == NULL)
        goto nomem;
    p.schema->name_table = json_object();
    if (p.schema->name_table == NULL)
        goto nomem;
    p.schema->root = parse_type(&p, json, "");
    if (p.schema->root == NULL)
        goto fail;
    return p.schema;

nomem:
    edxbus__avro_schema_fail(&p, "out of memory");
fail:
    edxbus_avro_schema_destroy(p.schema);
    return NULL;
}

edxbus_avro_schema_t *edxbus_avro_schema_parse(const char *json, size_t len, char *errstr,
                                               size_t errstr_size)
{
    json_error_t jerr;
    json_t *root;
    edxbus_avro_schema_t *schema;

    if (json == NULL) {
        if (errstr != NULL && errstr_size > 0)
            snprintf(errstr, errstr_size, "schema: no schema text given");
        return NULL;
    }
    /* A schema may be a bare string ("long"); duplicate keys are rejected because which one
     * wins differs between parsers; \u0000 is allowed for bytes defaults (see
     * edxbus__avro_json_cstr()). */
    root = json_loadb(json, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
    if (root == NULL) {
        if (errstr != NULL && errstr_size > 0) {
            snprintf(errstr, errstr_size, "schema: invalid JSON at line %d column %d: %s",
                     jerr.line, jerr.column, jerr.text);
            one_line(errstr);
        }
        return NULL;
    }
    schema = edxbus_avro_schema_from_json(root, errstr, errstr_size);
    json_decref(root);
    return schema;
}
