/* src/avro/avro_int.h — the parsed-schema data model shared by the files of src/avro/.
 *
 * A schema is a graph of nodes owned by one edxbus_avro_schema. Named types (record, enum,
 * fixed) are nodes too; a reference to a name ("UserData") points at the same node, so a
 * record can appear in several places, and even contain itself through an array, map or
 * union. Walkers must therefore bound recursion by the data (the decoder by the bytes left,
 * the encoder by the JSON depth), never by the schema.
 *
 * Invariants once edxbus_avro_schema_parse() returns:
 *   - every node is reachable from `root` and owned by `nodes` (freed together);
 *   - names are full names (namespace applied); `name_table` maps each to its node;
 *   - a union never holds two branches of the same unnamed type, nor a union directly.
 *
 * Other layers (the catalog) may include this header to attach string checks to fields; only
 * src/avro/ changes the layout.
 */
#ifndef EDXBUS_AVRO_INT_H
#define EDXBUS_AVRO_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "edxbus/avro.h"

/** The Avro types, in the order of the specification. */
typedef enum {
    EDXBUS_AVRO_NULL,
    EDXBUS_AVRO_BOOLEAN,
    EDXBUS_AVRO_INT,
    EDXBUS_AVRO_LONG,
    EDXBUS_AVRO_FLOAT,
    EDXBUS_AVRO_DOUBLE,
    EDXBUS_AVRO_BYTES,
    EDXBUS_AVRO_STRING,
    EDXBUS_AVRO_RECORD,
    EDXBUS_AVRO_ENUM,
    EDXBUS_AVRO_ARRAY,
    EDXBUS_AVRO_MAP,
    EDXBUS_AVRO_UNION,
    EDXBUS_AVRO_FIXED,
} edxbus_avro_type_t;

/** A check on the text of a string value (a datetime, a course key…), attached to a record field
 *  by a higher layer. Returns true if @p s is acceptable; otherwise writes why to @p why (one
 *  short phrase such as `not an ISO-8601 datetime as Python's isoformat() writes it`). */
typedef bool (*edxbus_avro_check_fn)(const char *s, size_t len, char *why, size_t why_size);

struct edxbus_avro_node;

struct edxbus_avro_field {
    char *name;
    size_t name_len;               /* strlen(name), set by the parser (0: not known, count it) */
    char *doc;                     /* NULL when absent */
    struct edxbus_avro_node *type; /* borrowed from the schema's node list */
    json_t *default_value;         /* the JSON default as written; NULL: no default */
    char **aliases;                /* NULL-terminated, or NULL */
    edxbus_avro_check_fn check;    /* NULL: any string; applies to string values of this field,
                                      directly or inside its union */
    const char *check_name;        /* what check tests ("datetime"), for messages; static */
};

struct edxbus_avro_node {
    edxbus_avro_type_t type;
    char *name;      /* full name for record/enum/fixed; NULL otherwise */
    char *doc;       /* NULL when absent */
    char **aliases;  /* full names, NULL-terminated, or NULL */
    union {
        struct {
            struct edxbus_avro_field *fields;
            size_t nfields;
        } record;
        struct {
            char **symbols;
            size_t nsymbols;
            char *default_symbol; /* NULL when absent */
        } enm;
        struct {
            struct edxbus_avro_node *items;
        } array;
        struct {
            struct edxbus_avro_node *values;
        } map;
        struct {
            struct edxbus_avro_node **branches;
            size_t nbranches;
        } uni;
        struct {
            size_t size;
        } fixed;
    } u;
};

struct edxbus_avro_schema {
    struct edxbus_avro_node *root;
    struct edxbus_avro_node **nodes; /* every node, for freeing */
    size_t nnodes, nodes_cap;
    json_t *name_table;              /* object: full name -> JSON integer index into nodes */
};

/** Find a named type by full name. Returns NULL when absent. */
struct edxbus_avro_node *edxbus__avro_schema_lookup(const edxbus_avro_schema_t *schema,
                                                     const char *fullname);

/** Find a field of a record by name. Returns NULL when absent. */
struct edxbus_avro_field *edxbus__avro_record_field(const struct edxbus_avro_node *record,
                                                    const char *name);

/** The name of a type for messages: "long", "record UserData", "union [null, string]"… */
const char *edxbus__avro_type_name(edxbus_avro_type_t type);

/** Maximum nesting the codecs follow (records in arrays in maps…) before they give up.
 *  The catalog needs 6; hostile input must not exhaust the C stack. */
#define EDXBUS_AVRO_MAX_DEPTH 64

#endif /* EDXBUS_AVRO_INT_H */
