/* src/bus/bridge.c — a bridge between two buses (bridge.h): a worker whose receiver produces.
 *
 * Composition, nothing new: the source side is the worker of consumer.c/worker.c on the source
 * bus (poll, decode once, re-emit, retries, dead letters, ack after the receivers), and its one
 * receiver hands each event to a producer opened on the destination's settings
 * (edxbus__producer_forward(): the original metadata, Avro body and key; the key's schema for
 * a Kafka destination from the event type's key field). The producer is synchronous, so the
 * receiver returns only once the destination holds the event, and only then does the worker
 * acknowledge it on the source. With cfg->to_url the receiver is the HTTP destination of
 * bridge_http.c instead, under the same acks and policy (with several requests in flight it
 * settles them in the worker's before-ack call: bridge_http.c).
 */
#include "bus_int.h"

#include <stdlib.h>

#include "edxbus/bridge.h"

#define BRIDGE_RECEIVER_NAME "event-bus-bridge"

struct bridge {
    edxbus_producer_t *prod;
    const char *to_topic;
    uint64_t forwarded;
};

static edxbus_err_t forward(const edxbus_event_t *ev, void *opaque, char *errstr,
                            size_t errstr_size)
{
    struct bridge *b = opaque;
    edxbus_err_t err = edxbus__producer_forward(b->prod, ev, b->to_topic, errstr, errstr_size);
    if (err == EDXBUS_OK)
        b->forwarded++;
    return err;
}

edxbus_err_t edxbus_bridge_run(edxbus_bus_t *from, const edxbus_conf_t *to,
                               const struct edxbus_bridge_config *cfg, uint64_t *forwarded,
                               char *errstr, size_t errstr_size)
{
    if (forwarded != NULL)
        *forwarded = 0;
    if (cfg == NULL || cfg->topic == NULL || cfg->group == NULL ||
        (cfg->to_url == NULL && to == NULL)) {
        edxbus__errf(errstr, errstr_size,
                     "bridge: a source topic and group and a destination are required");
        return EDXBUS_ERR_INVALID_ARG;
    }
    struct bridge b = {.to_topic = cfg->to_topic != NULL ? cfg->to_topic : cfg->topic};
    edxbus_receiver_fn fn = forward;
    void *opaque = &b;
    edxbus_err_t err;
    if (cfg->to_url != NULL) {
        err = edxbus__bridge_http_open(edxbus_bus_conf(from), cfg->to_url, &fn, &opaque, errstr,
                                       errstr_size);
        if (err != EDXBUS_OK)
            return err;
    } else {
        edxbus_conf_t *pconf = edxbus_conf_dup(to);
        if (pconf == NULL) {
            edxbus__errf(errstr, errstr_size, "out of memory");
            return EDXBUS_ERR_NOMEM;
        }
        char perr[EDXBUS_ERRSTR_SIZE] = "";
        b.prod = edxbus_producer_new(pconf, perr, sizeof perr);
        if (b.prod == NULL) {
            edxbus_conf_destroy(pconf);
            edxbus__errf(errstr, errstr_size, "destination: %s", perr);
            return EDXBUS_ERR_CONF;
        }
    }
    err = edxbus_bus_connect_all(from, BRIDGE_RECEIVER_NAME, fn, opaque);
    edxbus_consumer_t *cons = NULL;
    if (err == EDXBUS_OK) {
        struct edxbus_consumer_config ccfg = {
            .topic = cfg->topic,
            .group = cfg->group,
            .extra = cfg->extra,
            .start_time_ms = -1,
            .max_events = cfg->max_events,
            .stop = cfg->stop,
        };
        err = edxbus_consumer_open(from, &ccfg, &cons, errstr, errstr_size);
        if (err == EDXBUS_OK && cfg->to_url != NULL)
            edxbus__bridge_http_attach(opaque, cons);
        if (err == EDXBUS_OK)
            err = edxbus_consumer_run(cons, errstr, errstr_size);
    } else {
        edxbus__errf(errstr, errstr_size, "out of memory");
    }
    edxbus_consumer_destroy(cons);
    edxbus_bus_disconnect_all(from, fn, opaque);
    if (cfg->to_url != NULL)
        b.forwarded = edxbus__bridge_http_close(opaque);
    edxbus_producer_destroy(b.prod);
    if (forwarded != NULL)
        *forwarded = b.forwarded;
    return err;
}
