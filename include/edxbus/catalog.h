/* include/edxbus/catalog.h — the Open edX event catalog: every event type edxbus knows.
 *
 * The built-in catalog holds the 75 events of openedx-events 11.2.0, compiled in: their type
 * strings, signal names, minor versions, default key fields, descriptions and Avro schemas
 * (generated at build time from the payload classes in catalog/, by the rules openedx-events
 * uses). Three of them cannot be serialized, as in openedx-events; they are listed but refuse
 * to encode, saying why. Users add their own event types from .avsc files or from payload-class
 * files (classes in, schema out).
 *
 * Thread rule: build the catalog (new + add_*) on one thread; after that, every lookup, encode
 * and decode may run from any number of threads at once.
 */
#ifndef EDXBUS_CATALOG_H
#define EDXBUS_CATALOG_H

#include <stdbool.h>
#include <stddef.h>

#include "edxbus/avro.h"
#include "edxbus/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A set of event types (opaque). */
typedef struct edxbus_catalog edxbus_catalog_t;

/** One event type: its descriptor (opaque; owned by its catalog, never freed by you). */
typedef struct edxbus_event_type edxbus_event_type_t;

/** The openedx-events version whose catalog edxbus carries ("11.2.0"). */
#define EDXBUS_OPENEDX_EVENTS_VERSION "11.2.0"

/** Create a catalog holding the built-in events.
 *  Ownership: returns new; free with edxbus_catalog_destroy(). NULL only when out of memory. */
EDXBUS_API edxbus_catalog_t *edxbus_catalog_new(void);

/** Free @p cat and every descriptor it handed out. NULL is a no-op. */
EDXBUS_API void edxbus_catalog_destroy(edxbus_catalog_t *cat);

/** Add every `*.avsc` file in directory @p dir (the setting EVENT_BUS_SCHEMA_PATH, `--schemas`).
 *  Each file is a record schema whose namespace is the event type (as openedx-events writes
 *  them); without a namespace, the file `org+example+thing+happened+v1_schema.avsc` names the
 *  type `org.example.thing.happened.v1`. Such types have no signal, description or checks.
 *  An event type already present is replaced by the user's definition.
 *  Errors: EDXBUS_ERR_IO, EDXBUS_ERR_SCHEMA; one line naming the file. Nothing is added then. */
EDXBUS_API edxbus_err_t edxbus_catalog_add_avsc_dir(edxbus_catalog_t *cat, const char *dir,
                                                    char *errstr, size_t errstr_size);

/** Add the classes and events defined in a payload-class file (the format of
 *  catalog/openedx_events.classes; see docs/internals/catalog.md). Classes may use the
 *  built-in classes by name (`UserData`, or `learning.CourseData` where a name is in two
 *  modules). Its events get schemas generated as the built-in ones are, and checks on their
 *  custom-typed fields. An event type already present is replaced.
 *  Errors: EDXBUS_ERR_SCHEMA with `file:line: what`; EDXBUS_ERR_IO when the file cannot be
 *  read. Nothing is added then. */
EDXBUS_API edxbus_err_t edxbus_catalog_add_classes_file(edxbus_catalog_t *cat, const char *path,
                                                        char *errstr, size_t errstr_size);

/** Number of event types in @p cat. */
EDXBUS_API size_t edxbus_catalog_count(const edxbus_catalog_t *cat);

/** The @p i-th event type, sorted by type string. Borrowed from @p cat. */
EDXBUS_API const edxbus_event_type_t *edxbus_catalog_at(const edxbus_catalog_t *cat, size_t i);

/** Find an event type by its type string. Returns NULL when unknown. Borrowed from @p cat. */
EDXBUS_API const edxbus_event_type_t *edxbus_catalog_find(const edxbus_catalog_t *cat,
                                                          const char *event_type);

/** The known event type closest to @p event_type (for "did you mean"), or NULL. */
EDXBUS_API const char *edxbus_catalog_suggest(const edxbus_catalog_t *cat, const char *event_type);

/* ---------------------------------------------------------------------------------------------
 * Event type descriptors (all strings borrowed from the catalog)
 * ------------------------------------------------------------------------------------------- */

/** "org.openedx.learning.course.enrollment.created.v1" */
EDXBUS_API const char *edxbus_event_type_name(const edxbus_event_type_t *et);
/** "COURSE_ENROLLMENT_CREATED"; for user events from .avsc files, NULL. */
EDXBUS_API const char *edxbus_event_type_signal(const edxbus_event_type_t *et);
/** The signal's minor version (0 when unknown). */
EDXBUS_API int edxbus_event_type_minor_version(const edxbus_event_type_t *et);
/** The documented key field as a dotted path ("enrollment.course.course_key"), or NULL. */
EDXBUS_API const char *edxbus_event_type_key_field(const edxbus_event_type_t *et);
/** One-sentence description; "" when unknown. */
EDXBUS_API const char *edxbus_event_type_description(const edxbus_event_type_t *et);
/** Whether events of this type can be put on a bus. */
EDXBUS_API bool edxbus_event_type_is_serializable(const edxbus_event_type_t *et);
/** Why not (NULL when serializable). */
EDXBUS_API const char *edxbus_event_type_unserializable_reason(const edxbus_event_type_t *et);
/** The schema text exactly as openedx-events' schema_string() builds it (keys sorted,
 *  separators ", " and ": "). NULL when not serializable. */
EDXBUS_API const char *edxbus_event_type_schema_text(const edxbus_event_type_t *et);
/** The parsed schema. NULL when not serializable. */
EDXBUS_API const edxbus_avro_schema_t *edxbus_event_type_schema(const edxbus_event_type_t *et);
/** Details as a JSON object, for `edxbus events list --json`: type, signal, minor_version,
 *  key_field, description, warning, serializable, unserializable_reason (null when absent),
 *  data (the kwargs as [{"name", "type"}], null for .avsc events) and checks ({field path:
 *  "datetime" | "UUID" | "CourseKey" …}). Returns new; json_decref it. NULL when out of memory. */
EDXBUS_API json_t *edxbus_event_type_to_json(const edxbus_event_type_t *et);

/** Encode the event's data (plain JSON form: {"enrollment": {...}}) to Avro binary, checking
 *  custom types (datetimes, keys, UUIDs) unless @p flags has EDXBUS_AVRO_NO_CHECKS.
 *  Errors: EDXBUS_ERR_UNSERIALIZABLE (with the reason), or as edxbus_avro_encode(). */
EDXBUS_API edxbus_err_t edxbus_event_encode(const edxbus_event_type_t *et, const json_t *data,
                                            unsigned flags, struct edxbus_buf *out, char *errstr,
                                            size_t errstr_size);

/** Decode the event's Avro binary to its plain JSON form. As edxbus_avro_decode();
 *  EDXBUS_ERR_UNSERIALIZABLE (with the reason) for an event that cannot be serialized. */
EDXBUS_API edxbus_err_t edxbus_event_decode(const edxbus_event_type_t *et, const uint8_t *data,
                                            size_t len, json_t **out, char *errstr,
                                            size_t errstr_size);

/** Check that the event's Avro binary decodes, without decoding it: edxbus_avro_validate()
 *  under the event's schema. Errors as edxbus_event_decode(), with the same messages. */
EDXBUS_API edxbus_err_t edxbus_event_validate(const edxbus_event_type_t *et, const uint8_t *data,
                                              size_t len, char *errstr, size_t errstr_size);

/** Decode straight to JSON text. As edxbus_avro_decode_to_text(). */
EDXBUS_API edxbus_err_t edxbus_event_decode_to_text(const edxbus_event_type_t *et,
                                                    const uint8_t *data, size_t len,
                                                    struct edxbus_buf *out, char *errstr,
                                                    size_t errstr_size);

#ifdef __cplusplus
}
#endif
#endif /* EDXBUS_CATALOG_H */
