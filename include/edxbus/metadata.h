/* include/edxbus/metadata.h — EventsMetadata: the CloudEvents-style envelope of every event.
 *
 * Mirrors openedx-events' EventsMetadata: id (UUID; version 1 when generated), event_type,
 * minorversion, source (`openedx/<service>/web`), sourcehost, time (UTC, microseconds) and
 * sourcelib (the openedx-events version as integers, 11.2.0). The struct is a plain value the
 * caller owns: fixed-size text fields, no pointers, so it can be copied with `=` and needs no
 * destroy. Each field has one text form shared by every bus (Redis entry fields, Kafka headers)
 * and a JSON form (edxbus_metadata_to_json(), byte-identical to EventsMetadata.to_json()).
 *
 * Thread rule: functions here touch only their arguments (generation reads the clock and the
 * host name) and may run on any thread.
 */
#ifndef EDXBUS_METADATA_H
#define EDXBUS_METADATA_H

#include <jansson.h>
#include <stdint.h>

#include "edxbus/buf.h"
#include "edxbus/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define EDXBUS_METADATA_TEXT_MAX 512 /* bytes, with the NUL, of event_type/source/sourcehost */
#define EDXBUS_METADATA_ID_MAX 64    /* a UUID is 36 characters; ids read from a bus may be
                                        any text, up to 63 bytes */
#define EDXBUS_SOURCELIB_MAX 8       /* integers in sourcelib */

struct edxbus_metadata {
    char event_type[EDXBUS_METADATA_TEXT_MAX]; /* "org.openedx.learning.course.enrollment.created.v1" */
    char id[EDXBUS_METADATA_ID_MAX];           /* "d36ab1b0-1466-11ef-9f8e-0242ac120003" */
    int64_t minorversion;                      /* the signal's minor version */
    char source[EDXBUS_METADATA_TEXT_MAX];     /* "openedx/lms/web" */
    char sourcehost[EDXBUS_METADATA_TEXT_MAX]; /* the producing host's name */
    int64_t time_us;                           /* µs since 1970-01-01T00:00:00 UTC; may be
                                                  negative (years 1..9999 are valid) */
    int64_t sourcelib[EDXBUS_SOURCELIB_MAX];   /* {11, 2, 0} */
    size_t nsourcelib;                         /* integers used in sourcelib */
};

/** Fill @p md for a new event: a fresh UUID version 1, the current UTC time, the host name,
 *  sourcelib 11.2.0, source `openedx/<service_name>/web` (@p service_name NULL or "":
 *  `SERVICE_NAME_UNSET`; the settings layer picks EVENTS_SERVICE_NAME, else SERVICE_VARIANT).
 *  Errors: EDXBUS_ERR_INVALID_ARG when @p event_type or the source does not fit. */
EDXBUS_API edxbus_err_t edxbus_metadata_generate(struct edxbus_metadata *md, const char *event_type,
                                                 int64_t minorversion, const char *service_name,
                                                 char *errstr, size_t errstr_size);

/** The text form of field @p name ("id", "event_type", "minorversion", "source", "sourcehost",
 *  "time", "sourcelib") as the buses write it: time as isoformat (`+00:00`, microseconds only
 *  when not 0), minorversion as decimal, sourcelib as `11.2.0`. Appended to @p out.
 *  Errors: EDXBUS_ERR_NOT_FOUND for an unknown name. */
EDXBUS_API edxbus_err_t edxbus_metadata_field_text(const struct edxbus_metadata *md,
                                                   const char *name, struct edxbus_buf *out);

/** Set field @p name from its text form (what a bus carried). Times must be ISO-8601 with a UTC
 *  offset (`+00:00`) or `Z`, as EventsMetadata's validator demands; sourcelib is dotted
 *  integers; minorversion a decimal integer.
 *  Errors: EDXBUS_ERR_INVALID_ARG with a line naming the field and the bad value. */
EDXBUS_API edxbus_err_t edxbus_metadata_set_field(struct edxbus_metadata *md, const char *name,
                                                  const char *text, size_t len, char *errstr,
                                                  size_t errstr_size);

/** Append EventsMetadata.to_json() byte for byte: json.dumps of the seven fields in the order
 *  event_type, id, minorversion, source, sourcehost, time, sourcelib, separators ", " / ": ",
 *  non-ASCII as \uXXXX escapes, sourcelib as an array. */
EDXBUS_API edxbus_err_t edxbus_metadata_to_json(const struct edxbus_metadata *md,
                                                struct edxbus_buf *out);

/** The same seven fields as a JSON object (what `consume --print` prints under "metadata").
 *  Ownership: returns new; NULL when out of memory. */
EDXBUS_API json_t *edxbus_metadata_to_json_value(const struct edxbus_metadata *md);

/** Fill @p md from a JSON object holding any of the seven fields (as to_json writes them, or
 *  with sourcelib as "11.2.0"). Fields absent from @p obj are left as they are in @p md, so
 *  callers generate first and then override (`edxbus produce --metadata`). Unlike the
 *  reference's from_json, minorversion is kept.
 *  Errors: EDXBUS_ERR_INVALID_ARG naming the field; unknown keys are errors too. */
EDXBUS_API edxbus_err_t edxbus_metadata_from_json_value(struct edxbus_metadata *md,
                                                        const json_t *obj, char *errstr,
                                                        size_t errstr_size);

#ifdef __cplusplus
}
#endif
#endif /* EDXBUS_METADATA_H */
