/* include/edxbus/bus.h — the bus: catalog, signals, producer and routing in one handle.
 *
 * A bus is what an Open edX service in C holds for its whole life:
 *   - the event catalog: the built-in events plus the user's .avsc files from
 *     EVENT_BUS_SCHEMA_PATH;
 *   - one signal per event type (signal.h);
 *   - the producer chosen by EVENT_BUS_PRODUCER, with the routing of EVENT_BUS_PRODUCER_CONFIG
 *     and EVENT_BUS_TOPIC_PREFIX: a receiver connected to every configured signal sends each
 *     event to each enabled topic, keyed by the event_key_field, as openedx-events' handler does.
 *     Events that came from the bus are never produced again.
 * When EVENT_BUS_PRODUCER_CONFIG routes events and the producer cannot start (an unknown
 * backend, a broken routing entry, a broker that refuses the producer when it is opened),
 * edxbus_bus_new fails and says why: events are never silently sent nowhere. Setting
 * EVENT_BUS_PRODUCER_LAZY_START to true restores openedx-events' behaviour: the bus starts, a
 * warning is logged and the producer stays inactive (edxbus_bus_producer_problem() says why).
 *
 * Lifecycle: conf -> edxbus_bus_new (takes the conf) -> connect receivers, send events, run
 * consumers (consumer.h) -> edxbus_bus_flush -> edxbus_bus_destroy.
 * Thread rule: as signal.h. The bus itself is read-only after edxbus_bus_new.
 */
#ifndef EDXBUS_BUS_H
#define EDXBUS_BUS_H

#include <stdbool.h>
#include <stddef.h>

#include "edxbus/catalog.h"
#include "edxbus/conf.h"
#include "edxbus/error.h"
#include "edxbus/producer.h"
#include "edxbus/signal.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Build a bus from @p conf: the catalog (+ EVENT_BUS_SCHEMA_PATH), the signals, the producer
 *  and its routing.
 *  Ownership: takes @p conf on success only; on failure it is still yours. Returns new; free
 *  with edxbus_bus_destroy().
 *  Errors: NULL with one line in @p errstr: a schema directory that cannot be read, out of
 *  memory, a producer that cannot start although events are routed ("event bus producer
 *  cannot start: <why>"), unless EVENT_BUS_PRODUCER_LAZY_START is true (then a warning). */
EDXBUS_API edxbus_bus_t *edxbus_bus_new(edxbus_conf_t *conf, char *errstr, size_t errstr_size);

/** Flush the producer (bounded by EVENT_BUS_PRODUCER_CLOSE_TIMEOUT_MS), then free everything.
 *  NULL is a no-op. */
EDXBUS_API void edxbus_bus_destroy(edxbus_bus_t *bus);

/** The bus's settings. Borrowed from @p bus. */
EDXBUS_API const edxbus_conf_t *edxbus_bus_conf(const edxbus_bus_t *bus);

/** The bus's catalog. Borrowed from @p bus. */
EDXBUS_API const edxbus_catalog_t *edxbus_bus_catalog(const edxbus_bus_t *bus);

/** The active producer, or NULL when none (no routing configured, or a problem). Borrowed. */
EDXBUS_API edxbus_producer_t *edxbus_bus_producer(edxbus_bus_t *bus);

/** Why the producer is inactive although EVENT_BUS_PRODUCER_CONFIG routes events (one line,
 *  naming the setting; only with EVENT_BUS_PRODUCER_LAZY_START), or NULL when it is active or
 *  nothing is routed. Borrowed. */
EDXBUS_API const char *edxbus_bus_producer_problem(const edxbus_bus_t *bus);

/** Wait until every event the producer queued is delivered or failed, or @p timeout_ms
 *  passes (EDXBUS_ERR_TIMEOUT). OK when there is no producer. */
EDXBUS_API edxbus_err_t edxbus_bus_flush(edxbus_bus_t *bus, int timeout_ms, char *errstr,
                                         size_t errstr_size);

/** Retry the broker write of an event whose send failed in the producer (report->producer_err
 *  set), without running any other receiver again and without making a new event: the same
 *  metadata (id, time, source…) from @p failed, the same data, to every topic the routing gives
 *  the event type (a topic that did take the first write gets the event again, with the same
 *  id: consumers with EVENT_BUS_CONSUMER_DEDUP see it once). @p data is the data given to the
 *  failed send (checked and encoded again). @p report (may be NULL) gets this attempt's outcome.
 *  Borrows everything during the call only; may be called any number of times.
 *  Returns EDXBUS_OK once the broker holds it (asynchronous producer: queued, and the delivery
 *  callback reports it); the producer's error class otherwise, as edxbus_send_event();
 *  EDXBUS_ERR_STATE when the bus has no producer, or no producer receiver on that event
 *  type's signal (nothing routes it); EDXBUS_ERR_NOT_FOUND for an unknown event type. */
EDXBUS_API edxbus_err_t edxbus_bus_resend(edxbus_bus_t *bus, const struct edxbus_send_report *failed,
                                          const json_t *data, struct edxbus_send_report *report,
                                          char *errstr, size_t errstr_size);

#ifdef __cplusplus
}
#endif
#endif /* EDXBUS_BUS_H */
