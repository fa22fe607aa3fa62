/* src/avro/schema_name.c — the names of a schema being parsed (Avro 1.11 "Names").
 *
 * A named type (record, enum, fixed) gets its full name from a dotted "name", else from
 * "namespace", else from the enclosing named type, and is put in the schema's name table by
 * edxbus__avro_schema_named_begin() BEFORE its body is parsed, so a record can refer to itself.
 * A reference ("UserData") is looked up in the enclosing namespace first, then as written.
 * Names are [A-Za-z_][A-Za-z0-9_]*; a namespace part may also hold '-' after its first
 * character (openedx-events writes such namespaces; fastavro and Java accept them).
 * Part of the parser described in schema.c; errors go through edxbus__avro_schema_fail().
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "avro/schema_int.h"

/* ---------------------------------------------------------------------------------------------
 * Names
 * ------------------------------------------------------------------------------------------- */

int edxbus__avro_primitive_type(const char *s)
{
    for (int t = EDXBUS_AVRO_NULL; t <= EDXBUS_AVRO_STRING; t++) {
        if (strcmp(s, edxbus__avro_type_name(t)) == 0)
            return t;
    }
    return -1;
}

static bool is_name_start(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static bool is_name_char(char c)
{
    return is_name_start(c) || (c >= '0' && c <= '9');
}

/* [A-Za-z_][A-Za-z0-9_]* over @p len bytes. */
bool edxbus__avro_valid_simple_name(const char *s, size_t len)
{
    if (len == 0 || !is_name_start(s[0]))
        return false;
    for (size_t i = 1; i < len; i++) {
        if (!is_name_char(s[i]))
            return false;
    }
    return true;
}

/* A namespace: names joined by dots, where a part may also hold '-' after its first character.
 * The hyphen is outside the specification, but openedx-events writes namespaces such as
 * "org.openedx.enterprise.subsidy.redemption-reversed.v1" and fastavro and Java accept them. */
static bool valid_namespace(const char *s, size_t len)
{
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && s[i] != '.') {
            if (i == start ? !is_name_start(s[i]) : !(is_name_char(s[i]) || s[i] == '-'))
                return false;
            continue;
        }
        if (i == start)
            return false; /* empty part */
        start = i + 1;
    }
    return true;
}

/* A full name: an optional namespace, a dot, and a simple name. */
static bool valid_full_name(const char *s)
{
    const char *dot = strrchr(s, '.');
    if (dot == NULL)
        return edxbus__avro_valid_simple_name(s, strlen(s));
    return valid_namespace(s, (size_t)(dot - s)) &&
           edxbus__avro_valid_simple_name(dot + 1, strlen(dot + 1));
}

/* "ns" + "." + "name", or a copy of name when ns is empty. Returns new (free), NULL on OOM. */
static char *join_name(const char *ns, const char *name)
{
    size_t nslen = ns ? strlen(ns) : 0, namelen = strlen(name);
    char *full = malloc(nslen + 1 + namelen + 1);
    if (full == NULL)
        return NULL;
    if (nslen > 0) {
        memcpy(full, ns, nslen);
        full[nslen++] = '.';
    }
    memcpy(full + nslen, name, namelen + 1);
    return full;
}

/* The namespace part of a full name ("" when none). Returns new (free), NULL on OOM. */
char *edxbus__avro_namespace_of(const char *fullname)
{
    const char *dot = strrchr(fullname, '.');
    return strndup(fullname, dot ? (size_t)(dot - fullname) : 0);
}

static const char *short_name(const char *fullname)
{
    const char *dot = strrchr(fullname, '.');
    return dot ? dot + 1 : fullname;
}

/* The node a type name means in namespace @p ns: a new primitive node, or a named type
 * defined earlier (the enclosing namespace first, then the name as written). */
struct edxbus_avro_node *edxbus__avro_schema_resolve_name(struct parser *p, const char *name,
                                                          const char *ns)
{
    int prim = edxbus__avro_primitive_type(name);
    struct edxbus_avro_node *node = NULL;

    if (prim >= 0)
        return edxbus__avro_schema_node_new(p, (edxbus_avro_type_t)prim);
    if (strchr(name, '.') == NULL && ns != NULL && ns[0] != '\0') {
        char *full = join_name(ns, name);
        if (full == NULL) {
            edxbus__avro_schema_fail(p, "out of memory");
            return NULL;
        }
        node = edxbus__avro_schema_lookup(p->schema, full);
        free(full);
    }
    if (node == NULL)
        node = edxbus__avro_schema_lookup(p->schema, name);
    if (node == NULL)
        edxbus__avro_schema_fail(p, "unknown type \"%s\"", name);
    return node;
}

/* A NULL-terminated copy of an "aliases" array; with @p ns, aliases become full names.
 * Returns false (error written) on a bad array. *out stays NULL when absent. */
bool edxbus__avro_schema_parse_aliases(struct parser *p, const json_t *json, const char *ns,
                                       bool dotted_ok, char ***out)
{
    const json_t *aliases = json_object_get(json, "aliases");
    size_t n;

    *out = NULL;
    if (aliases == NULL || json_is_null(aliases))
        return true;
    if (!json_is_array(aliases)) {
        edxbus__avro_schema_fail(p, "\"aliases\" must be an array of names, got %s",
                                 edxbus__avro_json_kind(aliases));
        return false;
    }
    n = json_array_size(aliases);
    *out = calloc(n + 1, sizeof **out);
    if (*out == NULL) {
        edxbus__avro_schema_fail(p, "out of memory");
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        const json_t *alias = json_array_get(aliases, i);
        const char *s = edxbus__avro_json_cstr(alias);
        bool ok;
        if (s == NULL) {
            edxbus__avro_schema_fail(p, "\"aliases\"[%zu] must be a string, got %s", i,
                                     edxbus__avro_json_kind(alias));
            return false;
        }
        ok = dotted_ok ? valid_full_name(s) : edxbus__avro_valid_simple_name(s, strlen(s));
        if (!ok) {
            edxbus__avro_schema_fail(
                p, "invalid alias \"%s\": a name must match [A-Za-z_][A-Za-z0-9_]*%s", s,
                dotted_ok ? " in each dot-separated part" : "");
            return false;
        }
        (*out)[i] = (dotted_ok && strchr(s, '.') == NULL) ? join_name(ns, s) : strdup(s);
        if ((*out)[i] == NULL) {
            edxbus__avro_schema_fail(p, "out of memory");
            return false;
        }
    }
    return true;
}

/* The optional "doc" string; anything else is ignored as the specification allows. */
bool edxbus__avro_schema_copy_doc(struct parser *p, const json_t *json, char **out)
{
    const char *doc = edxbus__avro_json_cstr(json_object_get(json, "doc"));
    *out = NULL;
    if (doc == NULL)
        return true;
    *out = strdup(doc);
    if (*out == NULL) {
        edxbus__avro_schema_fail(p, "out of memory");
        return false;
    }
    return true;
}

/* Start a named type: work out its full name, check it, make the node and register the name.
 * On success the path has the type's name pushed (the caller pops to *saved). */
struct edxbus_avro_node *edxbus__avro_schema_named_begin(struct parser *p, const json_t *json,
                                                         edxbus_avro_type_t type, const char *ns,
                                                         size_t *saved)
{
    const json_t *jname = json_object_get(json, "name");
    const json_t *jns = json_object_get(json, "namespace");
    const char *name = edxbus__avro_json_cstr(jname);
    const char *space = ns;
    struct edxbus_avro_node *node;
    char *full, *own_ns;

    if (jname == NULL) {
        edxbus__avro_schema_fail(p, "%s is missing \"name\"", edxbus__avro_type_name(type));
        return NULL;
    }
    if (name == NULL) {
        edxbus__avro_schema_fail(p, "%s \"name\" must be a string, got %s",
                                 edxbus__avro_type_name(type), edxbus__avro_json_kind(jname));
        return NULL;
    }
    if (jns != NULL && !json_is_null(jns)) {
        space = edxbus__avro_json_cstr(jns);
        if (space == NULL) {
            edxbus__avro_schema_fail(p, "%s %s: \"namespace\" must be a string, got %s",
                                     edxbus__avro_type_name(type), name,
                                     edxbus__avro_json_kind(jns));
            return NULL;
        }
        if (space[0] != '\0' && !valid_namespace(space, strlen(space))) {
            edxbus__avro_schema_fail(
                p,
                "%s %s: invalid namespace \"%s\": each dot-separated part must match "
                "[A-Za-z_][A-Za-z0-9_-]*",
                edxbus__avro_type_name(type), name, space);
            return NULL;
        }
    }
    if (!valid_full_name(name)) {
        edxbus__avro_schema_fail(
            p,
            "invalid %s name \"%s\": it must match [A-Za-z_][A-Za-z0-9_]*, after an "
            "optional dotted namespace",
            edxbus__avro_type_name(type), name);
        return NULL;
    }
    if (edxbus__avro_primitive_type(short_name(name)) >= 0) {
        edxbus__avro_schema_fail(
            p, "%s name \"%s\" is a primitive type name, which cannot be redefined",
            edxbus__avro_type_name(type), name);
        return NULL;
    }
    full = strchr(name, '.') ? strdup(name) : join_name(space, name);
    if (full == NULL) {
        edxbus__avro_schema_fail(p, "out of memory");
        return NULL;
    }
    if (json_object_get(p->schema->name_table, full) != NULL) {
        edxbus__avro_schema_fail(p, "redefinition of %s \"%s\"", edxbus__avro_type_name(type),
                                 full);
        free(full);
        return NULL;
    }
    node = edxbus__avro_schema_node_new(p, type);
    if (node == NULL) {
        free(full);
        return NULL;
    }
    node->name = full;
    if (json_object_set_new(p->schema->name_table, full,
                            json_integer((json_int_t)(p->schema->nnodes - 1))) != 0) {
        edxbus__avro_schema_fail(p, "out of memory");
        return NULL;
    }
    *saved = edxbus__avro_schema_path_push(p, "%s", short_name(full));
    own_ns = edxbus__avro_namespace_of(full);
    if (own_ns == NULL) {
        edxbus__avro_schema_fail(p, "out of memory");
        return NULL;
    }
    if (!edxbus__avro_schema_copy_doc(p, json, &node->doc) ||
        !edxbus__avro_schema_parse_aliases(p, json, own_ns, true, &node->aliases))
        node = NULL;
    free(own_ns);
    return node;
}
