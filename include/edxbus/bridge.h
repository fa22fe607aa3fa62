/* include/edxbus/bridge.h — a bridge between two buses: consume on one, produce to the other.
 *
 * A bridge is a worker (consumer.h) on the source bus whose one receiver is a producer of the
 * destination's settings: every event of the source topic, in the source group, is produced
 * to the destination topic with its original metadata (id, time, source…) and its Avro bytes
 * and key unchanged, synchronously, and the source acknowledges it only once the destination
 * confirmed it (a destination with an outbox confirms once the entry is durable there). So
 * delivery is at least once, a bridge resumes where its group stopped, and a destination that
 * keeps failing gets the worker's policy: retries, then the source's dead-letter topic.
 * Any pair of backends works (sqlite, redis, kafka, plugins): both sides go through the
 * backend tables. The destination may also be an HTTP endpoint receiving CloudEvents.
 *
 * Thread rule: one thread runs a bridge; the stop flag may be set from a signal handler.
 */
#ifndef EDXBUS_BRIDGE_H
#define EDXBUS_BRIDGE_H

#include <signal.h>
#include <stdint.h>

#include "edxbus/bus.h"
#include "edxbus/conf.h"
#include "edxbus/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/** What to bridge. Strings borrowed for the duration of edxbus_bridge_run(). */
struct edxbus_bridge_config {
    const char *topic;    /* source topic as configured (the source's prefix is added) */
    const char *group;    /* source consumer group (required) */
    const char *to_topic; /* destination topic as configured (the destination's prefix is
                             added); NULL: the source topic */
    const char *to_url;   /* non-NULL: the destination is this HTTP(S) endpoint instead of a
                             bus: each event is POSTed as a CloudEvent (binary mode; see
                             src/bus/bridge_http.c), a 2xx answer confirms it; the settings of
                             the source give EVENT_BUS_BRIDGE_HTTP_TOKEN / _BASIC_AUTH /
                             _TIMEOUT */
    const json_t *extra;  /* the source consumer's `--extra`; may be NULL */
    uint64_t max_events;  /* return after this many; 0: no limit */
    const volatile sig_atomic_t *stop; /* non-zero: finish the current event and return OK;
                                          may be NULL */
};

/** Bridge @p cfg->topic of the bus @p from to the broker of @p to (EVENT_BUS_PRODUCER of those
 *  settings), until the stop flag, max_events or a fatal error (as edxbus_consumer_run()).
 *  *@p forwarded (may be NULL) gets the number of events the destination confirmed.
 *  @p to may be NULL when @p cfg->to_url is set.
 *  Ownership: borrows @p from and @p to (copied) during the call.
 *  Errors: the destination's producer cannot be opened (its settings' error line); the
 *  consumer's errors. */
EDXBUS_API edxbus_err_t edxbus_bridge_run(edxbus_bus_t *from, const edxbus_conf_t *to,
                                          const struct edxbus_bridge_config *cfg,
                                          uint64_t *forwarded, char *errstr, size_t errstr_size);

#ifdef __cplusplus
}
#endif
#endif /* EDXBUS_BRIDGE_H */
