/* src/catalog/catalog_int.h — what the files of src/catalog/ (and tools/catalog_gen.c) share.
 *
 * Three parts:
 *   - the payload-class files (classes.c): parse the format of catalog/openedx_events.classes
 *     into classes and events, and generate each event's Avro schema from its classes by the
 *     rules of openedx-events (schema text byte-equal to its schema_string());
 *   - the string checks on custom-typed fields (checks.c): datetimes, UUIDs, opaque keys;
 *   - the compiled-in tables that the build generates from the catalog source
 *     (${EDXBUS_GENERATED_DIR}/catalog_builtin.c, written by tools/catalog_gen.c).
 * The same parser and generator run at build time (built-in events) and at run time (a user's
 * payload-class file), so both always agree.
 */
#ifndef EDXBUS_CATALOG_INT_H
#define EDXBUS_CATALOG_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "avro/avro_int.h"
#include "edxbus/catalog.h"

/* ---------------------------------------------------------------------------------------------
 * Checks on custom-typed string fields (checks.c)
 * ------------------------------------------------------------------------------------------- */

/** What a string field holds, by its Python type. The names in the generated tables are the
 *  enum names, so keep this list append-only. */
enum edxbus__check {
    EDXBUS__CHECK_NONE = 0,
    EDXBUS__CHECK_DATETIME,                   /* datetime: isoformat() text */
    EDXBUS__CHECK_UUID,                       /* UUID: 8-4-4-4-12 hex */
    EDXBUS__CHECK_COURSE_KEY,                 /* CourseKey */
    EDXBUS__CHECK_USAGE_KEY,                  /* UsageKey */
    EDXBUS__CHECK_LIBRARY_LOCATOR_V2,         /* LibraryLocatorV2 */
    EDXBUS__CHECK_LIBRARY_USAGE_LOCATOR_V2,   /* LibraryUsageLocatorV2 */
    EDXBUS__CHECK_LIBRARY_COLLECTION_LOCATOR, /* LibraryCollectionLocator */
    EDXBUS__CHECK_LIBRARY_CONTAINER_LOCATOR,  /* LibraryContainerLocator */
    EDXBUS__CHECK_CCX_LOCATOR,                /* CCXLocator */
    EDXBUS__CHECK_COUNT_
};

/** The validator for @p kind (NULL for EDXBUS__CHECK_NONE). */
edxbus_avro_check_fn edxbus__check_fn(enum edxbus__check kind);

/** The validators indexed by kind, for callers whose kind is a constant (the typed encoders):
 *  one load and a call, with no range test. */
extern const edxbus_avro_check_fn edxbus__check_fns[EDXBUS__CHECK_COUNT_];

/** The Python type a check stands for ("datetime", "CourseKey"…); static. */
const char *edxbus__check_name(enum edxbus__check kind);

/** The enum constant's name ("EDXBUS__CHECK_DATETIME"), for the generated tables; static. */
const char *edxbus__check_enum_name(enum edxbus__check kind);

/** Attach the check @p kind to the field at dotted @p path of @p schema's root record.
 *  A path step goes into a record field; "[]" after a name steps into the array's items and
 *  "{}" into the map's values ("configuration.contexts[].usage_key"); a ["null", T] union is
 *  stepped through. Errors: false, and a line naming the path. */
bool edxbus__check_attach(edxbus_avro_schema_t *schema, const char *path, enum edxbus__check kind,
                          char *errstr, size_t errstr_size);

/* ---------------------------------------------------------------------------------------------
 * Payload-class files (classes.c)
 * ------------------------------------------------------------------------------------------- */

/** A parsed payload-class file (opaque): its modules, classes and events. */
struct edxbus__classes;

/** One custom-typed string field of an event's schema. */
struct edxbus__check_path {
    char *path; /* "enrollment.course.course_key" (see edxbus__check_attach) */
    enum edxbus__check kind;
};

/** One event of a payload-class file, as written there. Strings are owned by the file. */
struct edxbus__event_def {
    const char *type;           /* "org.openedx.learning.course.enrollment.created.v1" */
    const char *signal;         /* "COURSE_ENROLLMENT_CREATED"; NULL when absent */
    int minor_version;          /* 0 when absent */
    const char *key_field;      /* dotted path; NULL when absent */
    const char *description;    /* "" when absent */
    const char *warning;        /* NULL when absent */
    const char *unserializable; /* why it cannot go on a bus; NULL when it can */
    int line;                   /* of the `event` line */
};

/** Parse the payload-class text @p text (@p len bytes) read from @p file (for messages).
 *  Class names resolve in the event's or class's own module first, then as `module.Class`, then
 *  as a name unique among all modules of this text and then of @p builtin (may be NULL).
 *  Ownership: borrows @p builtin, which must outlive the result; returns new (free with
 *  edxbus__classes_destroy()).
 *  Errors: NULL, and `file:line: what` in @p errstr. */
struct edxbus__classes *edxbus__classes_parse(const char *text, size_t len, const char *file,
                                              const struct edxbus__classes *builtin, char *errstr,
                                              size_t errstr_size);

/** Free @p cs. NULL is a no-op. */
void edxbus__classes_destroy(struct edxbus__classes *cs);

/** Number of events in @p cs, and the @p i-th in file order (borrowed from @p cs). */
size_t edxbus__classes_nevents(const struct edxbus__classes *cs);
const struct edxbus__event_def *edxbus__classes_event(const struct edxbus__classes *cs, size_t i);

/** Generate the Avro schema of event @p i as openedx-events' schema_string() writes it, and the
 *  paths of its custom-typed string fields.
 *  Ownership: *@p text is new (free()); *@p checks is a new array of *@p nchecks entries (free
 *  with edxbus__check_paths_free()). @p checks may be NULL when not wanted.
 *  Errors: EDXBUS_ERR_SCHEMA with `file:line: what` (a BinaryIO field, a datetime inside a
 *  list…); EDXBUS_ERR_UNSERIALIZABLE for an event marked unserializable; EDXBUS_ERR_NOMEM. */
edxbus_err_t edxbus__classes_schema(const struct edxbus__classes *cs, size_t i, char **text,
                                    struct edxbus__check_path **checks, size_t *nchecks,
                                    char *errstr, size_t errstr_size);

/** Free an array from edxbus__classes_schema(). NULL is a no-op. */
void edxbus__check_paths_free(struct edxbus__check_path *checks, size_t nchecks);

/** Field names of event @p i's data, in order, as a JSON array of {"name", "type"} objects
 *  with the types as written (for edxbus_event_type_to_json). Returns new; NULL on NOMEM. */
json_t *edxbus__classes_event_data_json(const struct edxbus__classes *cs, size_t i);

/* ---------------------------------------------------------------------------------------------
 * The compiled-in catalog (generated at build time into catalog_builtin.c)
 * ------------------------------------------------------------------------------------------- */

struct edxbus__builtin_check {
    const char *path;
    enum edxbus__check kind;
};

struct edxbus__builtin_event {
    const char *type;
    const char *signal;
    int minor_version;
    const char *key_field; /* NULL when none */
    const char *description;
    const char *warning;        /* NULL when none */
    const char *unserializable; /* NULL when serializable */
    const char *schema_text;    /* NULL when not serializable */
    const char *data_json;      /* JSON array of {"name", "type"}: the data kwargs */
    const struct edxbus__builtin_check *checks;
    size_t nchecks;
};

/** The built-in events, sorted by type. */
extern const struct edxbus__builtin_event edxbus__builtin_events[];
extern const size_t edxbus__builtin_nevents;

/** The catalog source text itself, so that a user's payload-class file can use the built-in
 *  classes by name without reading anything from disk. */
extern const char edxbus__builtin_classes_text[];
extern const size_t edxbus__builtin_classes_len;
extern const char edxbus__builtin_classes_file[]; /* "catalog/openedx_events.classes" */

/* ---------------------------------------------------------------------------------------------
 * The catalog object (catalog.c, user.c)
 * ------------------------------------------------------------------------------------------- */

struct edxbus_event_type {
    const char *name;   /* the event type string */
    const char *signal; /* NULL for .avsc events */
    int minor_version;
    const char *key_field;                      /* NULL when none */
    const char *description;                    /* NULL or text */
    const char *warning;                        /* NULL when none */
    const char *unserializable;                 /* NULL when serializable */
    const char *schema_text;                    /* NULL when not serializable */
    edxbus_avro_schema_t *schema;               /* owned; NULL when not serializable */
    json_t *data;                               /* owned: [{"name", "type"}], or NULL */
    const struct edxbus__builtin_check *checks; /* static, or owned_checks */
    size_t nchecks;
    struct edxbus__builtin_check *owned_checks; /* user events: freed with the type */
    char **owned;                               /* strings this type allocated */
    size_t nowned;
};

struct edxbus_catalog {
    struct edxbus_event_type **types; /* sorted by name, no duplicates */
    size_t n, cap;
    struct edxbus__classes *builtin_classes; /* parsed on the first add_classes_file, or NULL */
};

/** Free @p et and what it owns. NULL is a no-op. */
void edxbus__event_type_destroy(struct edxbus_event_type *et);

/** Record @p s (malloc'ed) as owned by @p et and return it; NULL (and @p s freed) on NOMEM or
 *  when @p s is NULL. */
const char *edxbus__event_type_keep(struct edxbus_event_type *et, char *s);

/** Parse et->schema_text and attach et->checks. Errors: EDXBUS_ERR_SCHEMA with a line. */
edxbus_err_t edxbus__event_type_prepare(struct edxbus_event_type *et, char *errstr,
                                        size_t errstr_size);

/** Make room for @p extra more types, so that edxbus__catalog_put() cannot fail. */
edxbus_err_t edxbus__catalog_reserve(edxbus_catalog_t *cat, size_t extra);

/** Insert @p et (taken), replacing and freeing a type of the same name. */
void edxbus__catalog_put(edxbus_catalog_t *cat, struct edxbus_event_type *et);

#endif /* EDXBUS_CATALOG_INT_H */
