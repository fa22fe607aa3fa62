/* include/edxbus/typed.h — what the generated typed API (events.h) is built from.
 *
 * events.h, generated at build time from the catalog's payload classes, declares one struct per
 * payload class and per event's data, and for every serializable built-in event an encoder,
 * a decoder, conversions to and from the plain JSON form, a typed send and a typed receiver.
 * This header holds the pieces they share: the string type, the event descriptor that the
 * generic calls take, and the receiver storage. Include <edxbus/events.h>, not this file.
 *
 * Strings are {ptr, len} and never need a NUL: a decoder points them into its input, so a
 * decoded struct borrows both the input bytes and the arena that holds its lists.
 *
 * Thread rule: descriptors are static and immutable; encoders, decoders and conversions are pure
 * and may run on any number of threads at once (each with its own buffer and arena).
 */
#ifndef EDXBUS_TYPED_H
#define EDXBUS_TYPED_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "edxbus/arena.h"
#include "edxbus/buf.h"
#include "edxbus/error.h"
#include "edxbus/signal.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A string of @p len bytes of UTF-8 at @p ptr, not NUL-terminated. {NULL, 0} is "". */
struct edxbus_str {
    const char *ptr;
    size_t len;
};

/** A struct edxbus_str for a string literal: EDXBUS_STR("verified"). */
#define EDXBUS_STR(lit) ((struct edxbus_str){(lit), sizeof(lit) - 1})

/** A struct edxbus_str for a NUL-terminated string (NULL gives ""). Borrows @p s. */
static inline struct edxbus_str edxbus_str_from(const char *s)
{
    struct edxbus_str str = {s, s != NULL ? strlen(s) : 0};
    return str;
}

/** Whether @p str holds exactly the NUL-terminated @p s. */
static inline bool edxbus_str_is(struct edxbus_str str, const char *s)
{
    size_t n = strlen(s);
    return str.len == n && (n == 0 || memcmp(str.ptr, s, n) == 0);
}

/** The generic form of a typed receiver's callback; each event's own type is
 *  edxbus_<signal>_fn (events.h), which the connect calls cast to this and back. */
typedef void (*edxbus_typed_fn)(void);

/** One serializable built-in event's typed codec (static; never freed). The function pointers
 *  take the event's data struct (struct edxbus_<signal>_data) as void *. */
struct edxbus_typed_event {
    const char *event_type; /* "org.openedx.learning.course.enrollment.created.v1" */
    const char *signal;     /* "COURSE_ENROLLMENT_CREATED" */
    size_t size;            /* sizeof the data struct */
    /** As edxbus_<signal>_encode(). */
    edxbus_err_t (*encode)(const void *data, unsigned flags, struct edxbus_buf *out, char *errstr,
                           size_t errstr_size);
    /** As edxbus_<signal>_decode(). */
    edxbus_err_t (*decode)(const uint8_t *bytes, size_t len, struct edxbus_arena *arena,
                           void *out, char *errstr, size_t errstr_size);
    /** As edxbus_<signal>_to_json(). */
    json_t *(*to_json)(const void *data);
    /** As edxbus_<signal>_from_json(). */
    edxbus_err_t (*from_json)(const json_t *json, struct edxbus_arena *arena, void *out,
                              char *errstr, size_t errstr_size);
    /** Call @p fn, an edxbus_<signal>_fn cast to edxbus_typed_fn, with @p data. */
    edxbus_err_t (*invoke)(edxbus_typed_fn fn, const void *data, const edxbus_event_t *ev,
                           void *opaque, char *errstr, size_t errstr_size);
};

/** Number of events with a typed codec (every serializable built-in event). */
EDXBUS_API size_t edxbus_typed_count(void);

/** The @p i-th typed event, sorted by event type. Static. */
EDXBUS_API const struct edxbus_typed_event *edxbus_typed_at(size_t i);

/** The typed event of @p event_type, or NULL when it has none (unknown, user-defined or
 *  unserializable). Static. */
EDXBUS_API const struct edxbus_typed_event *edxbus_typed_find(const char *event_type);

/* ---------------------------------------------------------------------------------------------
 * The bus (each event's edxbus_send_<signal>() and edxbus_connect_<signal>() call these)
 * ------------------------------------------------------------------------------------------- */

/** Encode @p data (the event's data struct) and send it on @p bus's signal of the event, as
 *  edxbus_signal_send_encoded(): receivers and the producer get the bytes, no JSON tree is built
 *  unless a receiver asks for one. @p report may be NULL.
 *  Ownership: borrows everything during the call only.
 *  The report's counts are reset first, so a refused send leaves them at 0.
 *  Errors: EDXBUS_ERR_ENCODE (a check failed, nothing is sent; the line names the event type
 *          and the field: `<event type>: enrollment.creation_date: "…" is not a valid datetime…`),
 *          EDXBUS_ERR_NOT_FOUND (the bus's catalog lacks the event), or as
 *          edxbus_signal_send_encoded(). */
EDXBUS_API edxbus_err_t edxbus_typed_send(edxbus_bus_t *bus, const struct edxbus_typed_event *tev,
                                          const void *data, unsigned flags,
                                          struct edxbus_send_report *report, char *errstr,
                                          size_t errstr_size);

/** Storage for one typed receiver; the caller owns it and keeps it alive (and unmoved) while
 *  connected, i.e. until edxbus_typed_disconnect() or the destroy of its bus, whichever comes
 *  first. The fields are private. */
struct edxbus_typed_receiver {
    const struct edxbus_typed_event *tev;
    edxbus_typed_fn fn;
    void *opaque;
    edxbus_signal_t *sig; /* NULL when not connected */
};

/** Connect @p fn (an edxbus_<signal>_fn of @p tev's event, cast) with @p opaque to @p bus's
 *  signal of the event, using @p rcv as its storage. Each event the signal sends is decoded
 *  into the data struct (strings and lists borrowed for the call only) and handed to @p fn.
 *  @p name (may be NULL) names the receiver in reports.
 *  Errors: EDXBUS_ERR_NOT_FOUND (the bus's catalog lacks the event), EDXBUS_ERR_NOMEM. */
EDXBUS_API edxbus_err_t edxbus_typed_connect(edxbus_bus_t *bus, struct edxbus_typed_receiver *rcv,
                                             const struct edxbus_typed_event *tev,
                                             const char *name, edxbus_typed_fn fn, void *opaque);

/** Disconnect a receiver connected with edxbus_typed_connect(). Not connected, or its bus
 *  already destroyed (the destroy detached it): a no-op. */
EDXBUS_API void edxbus_typed_disconnect(struct edxbus_typed_receiver *rcv);

#ifdef __cplusplus
}
#endif
#endif /* EDXBUS_TYPED_H */
