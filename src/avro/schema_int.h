/* src/avro/schema_int.h — what schema.c shares with schema_name.c and schema_default.c (not
 * part of avro_int.h, whose data model the rest of src/avro/ codes against; these are parser
 * internals).
 */
#ifndef EDXBUS_SCHEMA_INT_H
#define EDXBUS_SCHEMA_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "avro/avro_int.h"

/** The text of a JSON string usable as a C string: NULL for anything else, and for a string
 *  holding \u0000 (JSON allows it so that a bytes default can hold a zero byte, but a name cut
 *  at its NUL would silently become another name). Borrowed from @p json. */
const char *edxbus__avro_json_cstr(const json_t *json);

/** What @p json is, for messages: "object", "array", "string", "integer", "number",
 *  "boolean", "null", or "string holding \u0000". Static storage. */
const char *edxbus__avro_json_kind(const json_t *json);

/** Whether @p value may be the default of a field of type @p node (Avro 1.11 rules; a union's
 *  default is a value of its first branch). On false, writes one phrase to @p why naming the
 *  place inside the default, e.g. `default at items[1] does not match int: got string`. */
bool edxbus__avro_default_check(const struct edxbus_avro_node *node, const json_t *value, char *why,
                                size_t why_size);

/* Room for the error path; longer paths are cut, the message still says what failed. */
#define PATH_MAX_LEN 512

/* One schema being parsed (schema.c, schema_name.c). */
struct parser {
    edxbus_avro_schema_t *schema;
    char path[PATH_MAX_LEN];
    size_t path_len;
    int depth;
    char *errstr;
    size_t errstr_size;
};

/** Write "schema: <path>: <text>" to p->errstr, as one line (schema.c). */
void edxbus__avro_schema_fail(struct parser *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/** Append one component to the error path; returns the old length, for restoring it. A
 *  component starting with '[' is glued on, others follow a dot (schema.c). */
size_t edxbus__avro_schema_path_push(struct parser *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/** A new node of @p type, registered in the schema's node list; NULL after failing (schema.c). */
struct edxbus_avro_node *edxbus__avro_schema_node_new(struct parser *p, edxbus_avro_type_t type);
/** The primitive type named @p s, or -1 (schema_name.c). */
int edxbus__avro_primitive_type(const char *s);
/** [A-Za-z_][A-Za-z0-9_]* over @p len bytes (schema_name.c). */
bool edxbus__avro_valid_simple_name(const char *s, size_t len);
/** The namespace part of @p fullname ("" when none), as a new string (NULL: out of memory). */
char *edxbus__avro_namespace_of(const char *fullname);
/** The node a type name means in namespace @p ns: a new primitive node, or a named type
 *  defined earlier (the enclosing namespace first, then the name as written). NULL after
 *  failing. */
struct edxbus_avro_node *edxbus__avro_schema_resolve_name(struct parser *p, const char *name,
                                                          const char *ns);
/** A NULL-terminated copy of an "aliases" array; with @p ns, aliases become full names.
 *  Returns false (error written) on a bad array. *out stays NULL when absent. */
bool edxbus__avro_schema_parse_aliases(struct parser *p, const json_t *json, const char *ns,
                                       bool dotted_ok, char ***out);
/** The optional "doc" string into *@p out (NULL when none; anything else is ignored, as the
 *  specification allows). False only when out of memory. */
bool edxbus__avro_schema_copy_doc(struct parser *p, const json_t *json, char **out);
/** Start a named type: work out its full name, check it, make the node and register the name
 *  (before its body is parsed, so a record can refer to itself). On success the path has the
 *  type's name pushed (the caller pops to *saved). */
struct edxbus_avro_node *edxbus__avro_schema_named_begin(struct parser *p, const json_t *json,
                                                         edxbus_avro_type_t type, const char *ns,
                                                         size_t *saved);

#endif /* EDXBUS_SCHEMA_INT_H */
