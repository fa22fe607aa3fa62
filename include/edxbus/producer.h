/* include/edxbus/producer.h — put events on the broker chosen by EVENT_BUS_PRODUCER.
 *
 * The producer front end sits between signals and a backend (backend.h). For each send it
 * builds the full topic (`<EVENT_BUS_TOPIC_PREFIX>-<topic>`, or the topic alone without a
 * prefix), the key (the value at the dotted event_key_field in the data, as the Avro body of
 * that field's schema: a string or a long; the key schema text is json.dumps(field, sort_keys)
 * as edx-event-bus-kafka writes it) and hands bytes and metadata to the backend.
 * Events that came from the bus are refused (EDXBUS_ERR_STATE): they are never produced again.
 *
 * Synchronous by default: a send returns EDXBUS_OK only once the broker holds the event. With
 * a delivery callback set, sends queue and return, and the callback reports each outcome later
 * from inside a send, flush or destroy on the calling thread.
 *
 * With EVENT_BUS_OUTBOX_PATH set, sends go to the outbox file instead and a relay forwards them
 * (outbox.h): a send then says OK once the event is durable there.
 *
 * Usually the bus makes the producer and connects it to the signals (bus.h); a C service may
 * also drive one directly with events received from signals.
 *
 * Thread rule: a producer may be used from several threads at once, as librdkafka's is: every
 * call here takes the producer's lock (an uncontended mutex costs tens of nanoseconds), so
 * request threads may send through one bus while a worker consumes (examples/service_threads.c).
 * Sends from several threads are serialised at the producer: a synchronous send holds the lock
 * until its broker answers, so threads that must not wait on each other use the asynchronous
 * mode (a delivery callback), or one bus each. The delivery callback runs on the thread whose
 * send, flush or destroy serves it, holding the lock: it may send again on the same producer
 * (the lock is recursive) but must not wait for another thread that sends.
 * edxbus_producer_full_topic()'s result is the calling thread's only until the next call on
 * @p prod from any thread; edxbus_producer_destroy() runs when no other thread uses it.
 */
#ifndef EDXBUS_PRODUCER_H
#define EDXBUS_PRODUCER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "edxbus/conf.h"
#include "edxbus/error.h"
#include "edxbus/signal.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct edxbus_producer edxbus_producer_t; /* opaque */

/** One delivery report (asynchronous mode). Every pointer is borrowed for the callback. */
struct edxbus_delivery {
    const char *event_type;
    const char *event_id;
    const char *topic;    /* full topic */
    edxbus_err_t err;     /* EDXBUS_OK: the broker holds it */
    const char *errstr;   /* "" on success */
    const char *position; /* where the broker put it, or NULL when unknown */
};

typedef void (*edxbus_delivery_cb)(void *opaque, const struct edxbus_delivery *d);

/** Open a producer on the backend named by EVENT_BUS_PRODUCER (a built-in name, one of the
 *  Python values such as "edx_event_bus_redis.create_producer", or `/path/libx.so:symbol`).
 *  Ownership: takes @p conf on success only. Returns new; free with edxbus_producer_destroy().
 *  Errors: NULL with e.g. `EVENT_BUS_PRODUCER: not set; expected sqlite, redis, kafka or
 *  /path/lib.so:symbol` in @p errstr, or the backend's reason. */
EDXBUS_API edxbus_producer_t *edxbus_producer_new(edxbus_conf_t *conf, char *errstr,
                                                  size_t errstr_size);

/** Switch to asynchronous mode (@p cb non-NULL) or back to synchronous (NULL; flush first). */
EDXBUS_API void edxbus_producer_set_delivery_cb(edxbus_producer_t *prod, edxbus_delivery_cb cb,
                                                void *opaque);

/** Send @p ev to @p topic (without the prefix), keyed by @p event_key_field (dotted path into
 *  the data; NULL: no key). Borrows everything during the call only.
 *  Returns: EDXBUS_OK (sync: the broker holds it; async: queued);
 *           EDXBUS_ERR_STATE for an event that came from the bus;
 *           EDXBUS_ERR_ENCODE when the key field is missing, null, nullable or not a string or
 *           long; EDXBUS_ERR_QUEUE_FULL (async: flush, then retry); the backend's errors. */
EDXBUS_API edxbus_err_t edxbus_producer_send(edxbus_producer_t *prod, const edxbus_event_t *ev,
                                             const char *topic, const char *event_key_field,
                                             char *errstr, size_t errstr_size);

/** Wait until every queued event is reported, or @p timeout_ms passes (EDXBUS_ERR_TIMEOUT). */
EDXBUS_API edxbus_err_t edxbus_producer_flush(edxbus_producer_t *prod, int timeout_ms, char *errstr,
                                              size_t errstr_size);

/** The full topic for @p topic under the producer's EVENT_BUS_TOPIC_PREFIX. Borrowed until the
 *  next call on @p prod. */
EDXBUS_API const char *edxbus_producer_full_topic(edxbus_producer_t *prod, const char *topic);

/** The backend's name ("sqlite"). Borrowed. */
EDXBUS_API const char *edxbus_producer_backend_name(const edxbus_producer_t *prod);

/** Number of events sent successfully (sync) or reported delivered (async) so far. */
EDXBUS_API uint64_t edxbus_producer_delivered(const edxbus_producer_t *prod);

/** Number of events whose send or delivery failed so far, including the events refused
 *  before reaching the broker (a key field that cannot be encoded). */
EDXBUS_API uint64_t edxbus_producer_failed(const edxbus_producer_t *prod);

/** Whether @p prod commits to an outbox (EVENT_BUS_OUTBOX_PATH, outbox.h): then a send, or a
 *  delivery report, says OK once the event is durable in the outbox file, not yet in the broker. */
EDXBUS_API bool edxbus_producer_has_outbox(const edxbus_producer_t *prod);

/** With an outbox: wait up to @p timeout_ms until no entry of the outbox waits for the broker
 *  (whichever relay forwards them); *@p waiting gets how many still wait (0 without an outbox).
 *  Errors: the outbox file's (EDXBUS_ERR_IO…), with one line in @p errstr. */
EDXBUS_API edxbus_err_t edxbus_producer_outbox_drain(edxbus_producer_t *prod, int timeout_ms,
                                                     uint64_t *waiting, char *errstr,
                                                     size_t errstr_size);

/** Flush (bounded by EVENT_BUS_PRODUCER_CLOSE_TIMEOUT_MS, default 10 s), then free. NULL is a
 *  no-op. */
EDXBUS_API void edxbus_producer_destroy(edxbus_producer_t *prod);

#ifdef __cplusplus
}
#endif
#endif /* EDXBUS_PRODUCER_H */
