/* src/bus/bus.c — the bus handle (bus.h): catalog, signals, producer and its routing.
 *
 * edxbus_bus_new builds, in order: the catalog (built-ins + every directory of
 * EVENT_BUS_SCHEMA_PATH), one signal per catalog entry (same order, so lookups are a binary
 * search by type string), then the producer side. The producer side follows openedx-events'
 * apps.py: when EVENT_BUS_PRODUCER_CONFIG routes events, a producer is opened on
 * EVENT_BUS_PRODUCER and one receiver (edxbus__producer_receiver) is connected to every signal
 * that has at least one enabled topic. Any problem there (no backend, a broken routing entry,
 * a broker that refuses the producer) fails edxbus_bus_new, so a misspelt setting cannot lose
 * events unnoticed. With EVENT_BUS_PRODUCER_LAZY_START the reference's behaviour holds instead:
 * the problem is logged as a warning and the bus runs with its producer inactive
 * (edxbus_bus_producer_problem() says why).
 *
 * Routing (validation, enabled topics, the prefix rule, key paths) is routing.c's; the bus only
 * connects the receiver.
 * Invariants: bus->prod is NULL exactly when no receiver of ours is connected.
 */
#include "bus_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edxbus/edxbus.h"

const char *edxbus_version(void)
{
    return EDXBUS_VERSION;
}

char *edxbus__full_topic(const edxbus_conf_t *conf, const char *topic)
{
    const char *prefix = edxbus_conf_get_str(conf, "EVENT_BUS_TOPIC_PREFIX", NULL);
    struct edxbus_buf b = EDXBUS_BUF_INIT;
    if (edxbus_routing_full_topic(prefix, topic, &b) != EDXBUS_OK ||
        edxbus_buf_terminate(&b) != EDXBUS_OK) {
        edxbus_buf_fini(&b);
        return NULL;
    }
    return (char *)b.data; /* the buffer's storage, handed over */
}

edxbus_signal_t *edxbus__bus_signal_of(edxbus_bus_t *bus, const edxbus_event_type_t *et)
{
    const char *name = edxbus_event_type_name(et);
    size_t lo = 0, hi = bus->nsignals;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const edxbus_event_type_t *m = bus->signals[mid].et;
        if (m == et)
            return &bus->signals[mid];
        int c = strcmp(edxbus_event_type_name(m), name);
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < bus->nsignals && strcmp(edxbus_event_type_name(bus->signals[lo].et), name) == 0)
        return &bus->signals[lo];
    return NULL;
}

/* EVENT_BUS_SCHEMA_PATH: one directory, several separated by ':', or a JSON list of them. */
edxbus_err_t edxbus__load_schema_dirs(edxbus_catalog_t *cat, const edxbus_conf_t *conf,
                                      char *errstr, size_t errstr_size)
{
    const json_t *v = edxbus_conf_get(conf, "EVENT_BUS_SCHEMA_PATH");
    if (v == NULL || json_is_null(v))
        return EDXBUS_OK;
    if (json_is_array(v)) {
        size_t i;
        const json_t *item;
        json_array_foreach(v, i, item)
        {
            if (!json_is_string(item))
                continue;
            edxbus_err_t err =
                edxbus_catalog_add_avsc_dir(cat, json_string_value(item), errstr, errstr_size);
            if (err != EDXBUS_OK)
                return err;
        }
        return EDXBUS_OK;
    }
    if (!json_is_string(v))
        return EDXBUS_OK;
    char *copy = strdup(json_string_value(v));
    if (copy == NULL)
        return EDXBUS_ERR_NOMEM;
    edxbus_err_t err = EDXBUS_OK;
    for (char *dir = copy, *next; dir != NULL && err == EDXBUS_OK; dir = next) {
        next = strchr(dir, ':');
        if (next != NULL)
            *next++ = '\0';
        if (dir[0] != '\0')
            err = edxbus_catalog_add_avsc_dir(cat, dir, errstr, errstr_size);
    }
    free(copy);
    return err;
}

/* ---------------------------------------------------------------------------------------------
 * Routing: EVENT_BUS_PRODUCER_CONFIG -> bus->routes
 * ------------------------------------------------------------------------------------------- */

/* Append "what" to the problem text (several problems are joined with "; "). */
static void add_problem(edxbus_bus_t *bus, const char *what)
{
    size_t old = bus->producer_problem != NULL ? strlen(bus->producer_problem) : 0;
    char *p = realloc(bus->producer_problem, old + strlen(what) + 3);
    if (p == NULL)
        return;
    if (old == 0)
        memcpy(p, what, strlen(what) + 1);
    else
        snprintf(p + old, strlen(what) + 3, "; %s", what);
    bus->producer_problem = p;
}

/* Build bus->routing from the setting; returns whether anything is routed. A broken config is
 * a problem: the whole producer is then inactive, as openedx-events refuses such a config. */
static bool build_routes(edxbus_bus_t *bus)
{
    const json_t *cfg = edxbus_conf_get(bus->conf, "EVENT_BUS_PRODUCER_CONFIG");
    if (cfg == NULL || json_is_null(cfg) || (json_is_object(cfg) && json_object_size(cfg) == 0))
        return false;
    char errstr[EDXBUS_ERRSTR_SIZE] = "";
    bus->routing = edxbus_routing_new(cfg, bus->cat, errstr, sizeof errstr);
    if (bus->routing == NULL)
        add_problem(bus, errstr);
    return true;
}

static void setup_producer(edxbus_bus_t *bus)
{
    if (!build_routes(bus))
        return;
    if (bus->producer_problem == NULL && edxbus_routing_count(bus->routing) > 0) {
        char errstr[EDXBUS_ERRSTR_SIZE] = "";
        edxbus_conf_t *pconf = edxbus_conf_dup(bus->conf);
        if (pconf == NULL) {
            add_problem(bus, "out of memory");
        } else {
            bus->prod = edxbus_producer_new(pconf, errstr, sizeof errstr);
            if (bus->prod == NULL) {
                edxbus_conf_destroy(pconf);
                add_problem(bus, errstr);
            }
        }
    }
    if (bus->producer_problem != NULL) {
        edxbus_producer_destroy(bus->prod);
        bus->prod = NULL;
        return;
    }
    size_t ntypes = bus->prod != NULL ? edxbus_routing_count(bus->routing) : 0;
    for (size_t i = 0; i < ntypes; i++) {
        edxbus_signal_t *sig =
            edxbus_bus_signal(bus, edxbus_routing_event_type_at(bus->routing, i));
        if (sig == NULL)
            continue;
        if (edxbus_signal_connect(sig, PRODUCER_RECEIVER_NAME, edxbus__producer_receiver, bus) !=
            EDXBUS_OK) {
            add_problem(bus, "out of memory");
            edxbus_bus_disconnect_all(bus, edxbus__producer_receiver, bus);
            edxbus_producer_destroy(bus->prod);
            bus->prod = NULL;
            return;
        }
    }
}

/* The generic handler of openedx-events: each enabled topic of the event's type gets it. */
edxbus_err_t edxbus__producer_receiver(const edxbus_event_t *ev, void *opaque, char *errstr,
                                       size_t errstr_size)
{
    edxbus_bus_t *bus = opaque;
    if (edxbus_event_is_from_bus(ev) || bus->prod == NULL)
        return EDXBUS_OK; /* never produce an event that came from the bus */
    const struct edxbus_route *routes;
    size_t n = edxbus_routing_routes(bus->routing, edxbus_event_type_name(ev->et), &routes);
    edxbus_err_t first = EDXBUS_OK;
    for (size_t i = 0; i < n; i++) {
        const char *topic = routes[i].topic;
        const char *key = routes[i].event_key_field;
        char perr[EDXBUS_ERRSTR_SIZE];
        edxbus_err_t err = edxbus_producer_send(bus->prod, ev, topic, key, perr, sizeof perr);
        if (err != EDXBUS_OK) {
            edxbus_conf_log(bus->conf, EDXBUS_LOG_ERROR, "event bus: sending %s %s to %s: %s",
                            edxbus_event_type_name(ev->et), ev->md->id, topic, perr);
            if (first == EDXBUS_OK) {
                first = err;
                edxbus__errf(errstr, errstr_size, "topic %s: %s", topic, perr);
            }
        }
    }
    return first;
}

/* ---------------------------------------------------------------------------------------------
 * Lifecycle
 * ------------------------------------------------------------------------------------------- */

edxbus_bus_t *edxbus_bus_new(edxbus_conf_t *conf, char *errstr, size_t errstr_size)
{
    edxbus_bus_t *bus = calloc(1, sizeof *bus);
    if (bus == NULL)
        goto out_nomem;
    bus->cat = edxbus_catalog_new();
    if (bus->cat == NULL)
        goto out_nomem;
    if (edxbus__load_schema_dirs(bus->cat, conf, errstr, errstr_size) != EDXBUS_OK)
        goto out_bus;
    bus->nsignals = edxbus_catalog_count(bus->cat);
    bus->signals = calloc(bus->nsignals ? bus->nsignals : 1, sizeof *bus->signals);
    if (bus->signals == NULL)
        goto out_nomem;
    for (size_t i = 0; i < bus->nsignals; i++) {
        bus->signals[i].bus = bus;
        bus->signals[i].et = edxbus_catalog_at(bus->cat, i);
        bus->signals[i].enabled = true;
    }
    bus->conf = conf;
    setup_producer(bus);
    if (bus->producer_problem != NULL) {
        if (!edxbus_conf_get_bool(conf, "EVENT_BUS_PRODUCER_LAZY_START", false)) {
            edxbus__errf(errstr, errstr_size, "event bus producer cannot start: %s",
                         bus->producer_problem);
            goto out_bus;
        }
        edxbus_conf_log(conf, EDXBUS_LOG_WARNING, "event bus producer inactive: %s",
                        bus->producer_problem);
    }
    return bus;

out_nomem:
    edxbus__errf(errstr, errstr_size, "out of memory");
out_bus:
    if (bus != NULL)
        bus->conf = NULL; /* still the caller's */
    edxbus_bus_destroy(bus);
    return NULL;
}

void edxbus_bus_destroy(edxbus_bus_t *bus)
{
    if (bus == NULL)
        return;
    edxbus_producer_destroy(bus->prod);
    for (size_t i = 0; i < bus->nsignals; i++) {
        for (size_t j = 0; j < bus->signals[i].nrecv; j++) {
            struct edxbus__receiver *r = &bus->signals[i].recv[j];
            if (r->on_detach != NULL)
                r->on_detach(r->opaque);
            free(r->name);
        }
        free(bus->signals[i].recv);
    }
    free(bus->signals);
    edxbus_routing_destroy(bus->routing);
    free(bus->producer_problem);
    edxbus_catalog_destroy(bus->cat);
    edxbus_conf_destroy(bus->conf);
    free(bus);
}

const edxbus_conf_t *edxbus_bus_conf(const edxbus_bus_t *bus)
{
    return bus->conf;
}

const edxbus_catalog_t *edxbus_bus_catalog(const edxbus_bus_t *bus)
{
    return bus->cat;
}

edxbus_producer_t *edxbus_bus_producer(edxbus_bus_t *bus)
{
    return bus->prod;
}

const char *edxbus_bus_producer_problem(const edxbus_bus_t *bus)
{
    return bus->producer_problem;
}

edxbus_err_t edxbus_bus_flush(edxbus_bus_t *bus, int timeout_ms, char *errstr, size_t errstr_size)
{
    if (bus->prod == NULL)
        return EDXBUS_OK;
    return edxbus_producer_flush(bus->prod, timeout_ms, errstr, errstr_size);
}
