/* include/edxbus/signal.h — signals and receivers: how events move inside one process.
 *
 * As in openedx-events, every event type of the bus's catalog has one signal. Code connects
 * receivers (a callback and an opaque pointer) to signals and sends events through them:
 *
 *   1. edxbus_send_event(bus, "org.openedx.learning.course.enrollment.created.v1", data, ...)
 *      checks the data against the event's Avro schema by encoding it (a missing, extra or
 *      mistyped field is an error naming the field, and nothing is sent), keeps the bytes,
 *   2. generates the metadata (a new id, now, `openedx/<service>/web`, the signal's minor
 *      version),
 *   3. calls every receiver of the signal in the order they were connected. The producer's
 *      receiver (connected by the bus from EVENT_BUS_PRODUCER_CONFIG) is one of them; it puts
 *      the bytes encoded in step 1 on the broker, so an event is encoded once.
 *
 * The consumer re-emits what it reads with edxbus_send_event_with_custom_metadata(): the
 * original metadata, and the event marked as coming from the bus, so the producer's receiver
 * never produces it again.
 *
 * Robust by default: every receiver runs even when an earlier one failed, and the report says
 * how each one did. EDXBUS_SEND_STRICT stops at the first failure.
 *
 * Thread rule: connect, disconnect, enable and disable on one thread before sending (or with
 * the caller serialising them against sends). Sends may run on several threads at once, a bus
 * with a producer included (the producer takes its own lock, producer.h), and a consumer's
 * worker may re-emit events on its thread meanwhile. Receivers run on the sending thread, so a
 * receiver connected to a signal that several threads send must be safe for that.
 */
#ifndef EDXBUS_SIGNAL_H
#define EDXBUS_SIGNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "edxbus/backend.h"
#include "edxbus/catalog.h"
#include "edxbus/error.h"
#include "edxbus/metadata.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct edxbus_bus edxbus_bus_t;       /* bus.h */
typedef struct edxbus_signal edxbus_signal_t; /* one per event type; owned by its bus */
typedef struct edxbus_event edxbus_event_t;   /* one event in flight, as receivers see it */

/** Flags for the send functions. */
enum {
    /** Stop at the first receiver that fails (the default calls them all). */
    EDXBUS_SEND_STRICT = 1u << 0,
    /** Skip the string checks of custom types (datetimes, course keys…): as
     *  EDXBUS_AVRO_NO_CHECKS. Shape and type checks always run. */
    EDXBUS_SEND_NO_CHECKS = 1u << 1,
    /** For edxbus_send_event_with_custom_metadata(): the given metadata is the event's own
     *  (`edxbus produce --metadata`, a replay tool), not a re-emission from the bus: the event
     *  is not marked from_event_bus, so the producer sends it. */
    EDXBUS_SEND_OWN_METADATA = 1u << 2,
    /** Call only the bus's producer (the receiver "event-bus-producer"), no other receiver:
     *  the retry of a broker write that failed, with the metadata of the failed send (and
     *  EDXBUS_SEND_OWN_METADATA). edxbus_bus_resend() is the usual way to ask for it. */
    EDXBUS_SEND_BROKER_ONLY = 1u << 3,
};

/** A receiver. Return EDXBUS_OK, or an error (EDXBUS_ERR_RECEIVER is the usual one) with one
 *  line in @p errstr. @p ev is borrowed for the call only. A receiver must not connect or
 *  disconnect receivers of the signal that is calling it. */
typedef edxbus_err_t (*edxbus_receiver_fn)(const edxbus_event_t *ev, void *opaque, char *errstr,
                                           size_t errstr_size);

/** Room for a receiver's name in a report (longer names are cut to the first 127 bytes). */
#define EDXBUS_RECEIVER_NAME_SIZE 128

/** How one receiver did. */
struct edxbus_receiver_result {
    char receiver[EDXBUS_RECEIVER_NAME_SIZE]; /* its name (a copy: valid after disconnect) */
    edxbus_err_t err;                /* EDXBUS_OK or what it returned */
    char errstr[EDXBUS_ERRSTR_SIZE]; /* its error line ("" on success) */
};

/** What a send did. The caller owns it; fields are filled by the send. */
struct edxbus_send_report {
    struct edxbus_receiver_result *results; /* caller's array of cap entries, or NULL: the
                                               first cap receivers' results go there */
    size_t cap;
    size_t ncalled;                  /* receivers called */
    size_t nfailed;                  /* of which failed */
    bool disabled;                   /* the signal is disabled: nothing was sent */
    edxbus_err_t producer_err;       /* EDXBUS_OK, or how the bus's producer (the receiver
                                        "event-bus-producer") failed, in its own class */
    struct edxbus_metadata metadata; /* the event's metadata (generated or given) */
};

/* ---------------------------------------------------------------------------------------------
 * Signals
 * ------------------------------------------------------------------------------------------- */

/** The signal of @p event_type, or NULL when the bus's catalog does not know the type.
 *  Borrowed from @p bus. */
EDXBUS_API edxbus_signal_t *edxbus_bus_signal(edxbus_bus_t *bus, const char *event_type);

/** The signal's event type descriptor. Borrowed from the bus's catalog. */
EDXBUS_API const edxbus_event_type_t *edxbus_signal_event_type(const edxbus_signal_t *sig);

/** Connect @p fn with @p opaque to @p sig. @p name (copied; NULL: "receiver") names it in
 *  reports and logs. Connecting the same fn/opaque pair twice is a no-op.
 *  Errors: EDXBUS_ERR_NOMEM. */
EDXBUS_API edxbus_err_t edxbus_signal_connect(edxbus_signal_t *sig, const char *name,
                                              edxbus_receiver_fn fn, void *opaque);

/** Called with the receiver's opaque when the bus is destroyed while the receiver is still
 *  connected (after that, the signal no longer exists: forget it). */
typedef void (*edxbus_detach_fn)(void *opaque);

/** As edxbus_signal_connect(), and @p on_detach (may be NULL) is called with @p opaque when
 *  edxbus_bus_destroy() finds the receiver still connected: a wrapper that keeps the signal
 *  (edxbus_typed_connect() does) learns there is nothing left to disconnect.
 *  Errors: EDXBUS_ERR_NOMEM, EDXBUS_ERR_INVALID_ARG (@p fn NULL). */
EDXBUS_API edxbus_err_t edxbus_signal_connect_detachable(edxbus_signal_t *sig, const char *name,
                                                         edxbus_receiver_fn fn, void *opaque,
                                                         edxbus_detach_fn on_detach);

/** Disconnect the receiver @p fn/@p opaque. Errors: EDXBUS_ERR_NOT_FOUND.
 *  @p sig belongs to its bus: after edxbus_bus_destroy() it is gone and must not be used
 *  (every receiver was detached by the destroy; nothing is left to disconnect). */
EDXBUS_API edxbus_err_t edxbus_signal_disconnect(edxbus_signal_t *sig, edxbus_receiver_fn fn,
                                                 void *opaque);

/** Connect @p fn/@p opaque to every signal of @p bus (a consumer's catch-all receiver). */
EDXBUS_API edxbus_err_t edxbus_bus_connect_all(edxbus_bus_t *bus, const char *name,
                                               edxbus_receiver_fn fn, void *opaque);

/** Disconnect @p fn/@p opaque from every signal it is connected to. */
EDXBUS_API void edxbus_bus_disconnect_all(edxbus_bus_t *bus, edxbus_receiver_fn fn, void *opaque);

/** Number of receivers connected to @p sig. */
EDXBUS_API size_t edxbus_signal_receiver_count(const edxbus_signal_t *sig);

/** Enable or disable @p sig. A disabled signal's sends call no receiver, set
 *  report->disabled and return EDXBUS_ERR_STATE saying so. Signals start enabled. */
EDXBUS_API void edxbus_signal_enable(edxbus_signal_t *sig);
EDXBUS_API void edxbus_signal_disable(edxbus_signal_t *sig);
EDXBUS_API bool edxbus_signal_is_enabled(const edxbus_signal_t *sig);

/* ---------------------------------------------------------------------------------------------
 * Sending
 * ------------------------------------------------------------------------------------------- */

/** Send an event of @p event_type with @p data (plain JSON form, {"enrollment": {...}}).
 *  @p report may be NULL. Borrows everything during the call only.
 *  Returns: EDXBUS_OK when every receiver succeeded;
 *           EDXBUS_ERR_NOT_FOUND for an unknown event type (with a suggestion);
 *           EDXBUS_ERR_ENCODE / EDXBUS_ERR_UNSERIALIZABLE when @p data does not fit the schema
 *           (the line names the field; no receiver was called);
 *           EDXBUS_ERR_STATE when the signal is disabled (report->disabled);
 *           the producer's own class when the bus's producer (EVENT_BUS_PRODUCER_CONFIG
 *           routes the event) failed to send it: e.g. EDXBUS_ERR_ENCODE for a key field that
 *           is null in the data (not retriable: the same event fails the same way),
 *           EDXBUS_ERR_IO / EDXBUS_ERR_TIMEOUT / EDXBUS_ERR_QUEUE_FULL for a broker that is
 *           down or behind (retriable); @p errstr then holds that failure and
 *           report->producer_err the class. To retry only the broker write, with the same
 *           event id and time and without running the other receivers again, call
 *           edxbus_bus_resend() (bus.h) with the report; sending again instead runs every
 *           receiver and makes a new event;
 *           EDXBUS_ERR_RECEIVER when other receivers failed (and the producer, if any, did
 *           not): @p errstr holds the first failure, the report each one. */
EDXBUS_API edxbus_err_t edxbus_send_event(edxbus_bus_t *bus, const char *event_type,
                                          const json_t *data, unsigned flags,
                                          struct edxbus_send_report *report, char *errstr,
                                          size_t errstr_size);

/** As edxbus_send_event(), on a signal already looked up. */
EDXBUS_API edxbus_err_t edxbus_signal_send(edxbus_signal_t *sig, const json_t *data, unsigned flags,
                                           struct edxbus_send_report *report, char *errstr,
                                           size_t errstr_size);

/** As edxbus_signal_send(), from the Avro body of the data, already encoded under the event's
 *  schema (the typed API's generated encoders call this: no JSON tree is built unless a
 *  receiver asks for one). The bytes are trusted, not checked. */
EDXBUS_API edxbus_err_t edxbus_signal_send_encoded(edxbus_signal_t *sig, const uint8_t *value,
                                                   size_t len, unsigned flags,
                                                   struct edxbus_send_report *report, char *errstr,
                                                   size_t errstr_size);

/** Re-emit an event with the metadata it already has (@p md, whose event_type selects the
 *  signal); receivers see it marked as coming from the bus, so it is never produced again
 *  (unless @p flags has EDXBUS_SEND_OWN_METADATA). @p data is checked as in
 *  edxbus_send_event(). */
EDXBUS_API edxbus_err_t edxbus_send_event_with_custom_metadata(edxbus_bus_t *bus,
                                                               const struct edxbus_metadata *md,
                                                               const json_t *data, unsigned flags,
                                                               struct edxbus_send_report *report,
                                                               char *errstr, size_t errstr_size);

/* ---------------------------------------------------------------------------------------------
 * The event a receiver gets (every pointer borrowed for the receiver's call)
 * ------------------------------------------------------------------------------------------- */

/** The event's type descriptor. */
EDXBUS_API const edxbus_event_type_t *edxbus_event_get_type(const edxbus_event_t *ev);

/** The data in its plain JSON form, decoded on first use when the event was sent as bytes.
 *  NULL only when out of memory. */
EDXBUS_API const json_t *edxbus_event_get_data(const edxbus_event_t *ev);

/** The Avro body of the data under the catalog's schema (encoded on first use when needed);
 *  *@p len gets its length. NULL only when out of memory. */
EDXBUS_API const uint8_t *edxbus_event_get_value(const edxbus_event_t *ev, size_t *len);

/** The event's metadata. */
EDXBUS_API const struct edxbus_metadata *edxbus_event_get_metadata(const edxbus_event_t *ev);

/** Whether the event was re-emitted from the bus (openedx-events' from_event_bus). */
EDXBUS_API bool edxbus_event_is_from_bus(const edxbus_event_t *ev);

/** The broker message the event was read from (topic, position…), or NULL when it was not
 *  read by a consumer of this process. */
EDXBUS_API const struct edxbus_msg *edxbus_event_get_msg(const edxbus_event_t *ev);

/** Which attempt this is at delivering the event to its receivers: 1, then 2… on retries. */
EDXBUS_API unsigned edxbus_event_get_attempt(const edxbus_event_t *ev);

#ifdef __cplusplus
}
#endif
#endif /* EDXBUS_SIGNAL_H */
