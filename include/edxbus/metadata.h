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
/* A UUID is 36 characters; ids read from a bus may be any text, up to 63 bytes. */
#define EDXBUS_METADATA_ID_MAX 64
#define EDXBUS_SOURCELIB_MAX 8 /* integers in sourcelib */
/* Bytes, with the NUL, of a time's text form ("9999-12-31T23:59:59.999999+00:00" is 32). */
#define EDXBUS_METADATA_TIME_TEXT_MAX 40
/* The range of time_us: 0001-01-01T00:00:00 to 9999-12-31T23:59:59.999999 UTC, Python's
 * datetime.min and datetime.max. */
#define EDXBUS_METADATA_TIME_MIN_US INT64_C(-62135596800000000)
#define EDXBUS_METADATA_TIME_MAX_US INT64_C(253402300799999999)

struct edxbus_metadata {
    /* "org.openedx.learning.course.enrollment.created.v1" */
    char event_type[EDXBUS_METADATA_TEXT_MAX];
    char id[EDXBUS_METADATA_ID_MAX];           /* "d36ab1b0-1466-11ef-9f8e-0242ac120003" */
    int64_t minorversion;                      /* the signal's minor version */
    char source[EDXBUS_METADATA_TEXT_MAX];     /* "openedx/lms/web" */
    char sourcehost[EDXBUS_METADATA_TEXT_MAX]; /* the producing host's name */
    int64_t time_us;                           /* µs since 1970-01-01T00:00:00 UTC; may be
                                                  negative (years 1..9999 are valid) */
    int64_t sourcelib[EDXBUS_SOURCELIB_MAX];   /* {11, 2, 0} */
    size_t nsourcelib;                         /* integers used in sourcelib */
};

/** Fill @p md for a new event: a fresh UUID version 1, the current UTC time, the host name
 *  (read once per process: a host renamed while a producer runs keeps the old name until the
 *  process restarts), sourcelib 11.2.0, source `openedx/<service_name>/web` (@p service_name
 *  NULL or "": `SERVICE_NAME_UNSET`; the settings layer picks EVENTS_SERVICE_NAME, else
 *  SERVICE_VARIANT). Text fields are NUL-terminated; bytes after the NUL are left as they were.
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
 *  integers; minorversion a decimal integer. An id that is a UUID in any spelling Python's
 *  UUID() accepts is stored in its canonical lowercase form, other ids verbatim. Text fields
 *  must be UTF-8 without NUL bytes. See edxbus_metadata_parse_time() for the time syntax.
 *  Errors: EDXBUS_ERR_INVALID_ARG with a line naming the field and the bad value;
 *  EDXBUS_ERR_NOT_FOUND for an unknown field name. */
EDXBUS_API edxbus_err_t edxbus_metadata_set_field(struct edxbus_metadata *md, const char *name,
                                                  const char *text, size_t len, char *errstr,
                                                  size_t errstr_size);

/** Append EventsMetadata.to_json() byte for byte: json.dumps of the seven fields in the order
 *  event_type, id, minorversion, source, sourcehost, time, sourcelib, separators ", " / ": ",
 *  non-ASCII as \uXXXX escapes, sourcelib as an array. */
EDXBUS_API edxbus_err_t edxbus_metadata_to_json(const struct edxbus_metadata *md,
                                                struct edxbus_buf *out);

/** Append the text edxbus_json_write(edxbus_metadata_to_json_value(@p md), @p flags) writes,
 *  without making the tree: what `consume --print` prints under "metadata" (flags 0).
 *  Errors: EDXBUS_ERR_INVALID_ARG when the time is out of range or nsourcelib too large
 *  (to_json_value() returns NULL then); EDXBUS_ERR_NOMEM. @p out keeps its length on error. */
EDXBUS_API edxbus_err_t edxbus_metadata_write_json(const struct edxbus_metadata *md,
                                                   unsigned flags, struct edxbus_buf *out);

/** The same seven fields as a JSON object (what `consume --print` prints under "metadata").
 *  Ownership: returns new; NULL when out of memory. */
EDXBUS_API json_t *edxbus_metadata_to_json_value(const struct edxbus_metadata *md);

/** Fill @p md from a JSON object holding any of the seven fields (as to_json writes them, or
 *  with sourcelib as "11.2.0"). Fields absent from @p obj are left as they are in @p md, so
 *  callers generate first and then override (`edxbus produce --metadata`). Unlike the
 *  reference's from_json, minorversion is kept. Every field is checked as EventsMetadata
 *  checks it: id a UUID (any spelling Python's UUID() accepts; stored canonical), time an
 *  ISO-8601 UTC time, minorversion an integer of 0 or more, sourcelib 1 to
 *  EDXBUS_SOURCELIB_MAX integers, event_type, source and sourcehost UTF-8 strings (event_type
 *  not empty; none may hold U+0000, which the fixed text fields cannot carry).
 *  Errors: EDXBUS_ERR_INVALID_ARG with one line naming the field; unknown keys are errors too. */
EDXBUS_API edxbus_err_t edxbus_metadata_from_json_value(struct edxbus_metadata *md,
                                                        const json_t *obj, char *errstr,
                                                        size_t errstr_size);

/** Write @p time_us as Python's datetime.isoformat() writes a UTC time:
 *  `YYYY-MM-DDTHH:MM:SS[.ffffff]+00:00`, the fraction only when not 0. @p out holds at least
 *  EDXBUS_METADATA_TIME_TEXT_MAX bytes and is NUL-terminated.
 *  Errors: EDXBUS_ERR_INVALID_ARG when @p time_us is outside years 1..9999 or @p size is short. */
EDXBUS_API edxbus_err_t edxbus_metadata_format_time(int64_t time_us, char *out, size_t size);

/** Parse an ISO-8601 time with a zero UTC offset (what datetime.fromisoformat() accepts for a
 *  UTC-aware time in the extended format: `T`/space separator, `HH[:MM[:SS[.f...]]]`, fraction of
 *  any length truncated to µs, offset `Z`, `+00`, `+0000`, `+00:00`, `-00:00`). @p text is
 *  @p len bytes, not necessarily NUL-terminated.
 *  Errors: EDXBUS_ERR_INVALID_ARG with `time: "..." has no UTC offset...` (naive), `...is not in
 * UTC...` (other offsets) or `...is not an ISO-8601 time...`; *time_us is unchanged then. */
EDXBUS_API edxbus_err_t edxbus_metadata_parse_time(const char *text, size_t len, int64_t *time_us,
                                                   char *errstr, size_t errstr_size);

#ifdef __cplusplus
}
#endif
#endif /* EDXBUS_METADATA_H */
