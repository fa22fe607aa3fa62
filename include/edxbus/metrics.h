/* include/edxbus/metrics.h — what the bus is doing, as numbers: counters, gauges, histograms,
 * and the HTTP listener that serves them to Prometheus with the health probes.
 *
 * Every consumer (and so every bridge), producer and relay of the process counts into one
 * process-wide registry while EVENT_BUS_METRICS_ENABLED is true (the default). Counting is
 * cheap: each consumer owns its own series (plain relaxed atomic stores, one writer, no lock on
 * the worker loop); producers, which may send from several threads, add with relaxed atomics.
 * A series outlives the consumer or producer that wrote it (counters never go back), and a new
 * consumer with the same labels takes over the series an old one left.
 *
 * The numbers (names as exported; labels in braces):
 *   edxbus_events_produced_total{topic,event_type}          counter  confirmed by the broker
 *   edxbus_produce_failures_total{topic,event_type}         counter  sends or deliveries failed
 *   edxbus_producer_queue_depth                             gauge    async sends not reported yet
 *   edxbus_events_consumed_total{topic,group,event_type}    counter  messages a worker handled
 *   edxbus_events_failed_total{topic,group,event_type}      counter  handled with a failure
 *   edxbus_events_retried_total{topic,group,event_type}     counter  extra receiver attempts
 *   edxbus_events_dead_lettered_total{topic,group,event_type} counter stored in <topic>-dlq
 *   edxbus_handle_seconds{topic,group,event_type}           histogram decode + receivers
 *   edxbus_event_latency_seconds{topic,group,event_type}    histogram event time -> handled
 *   edxbus_consumer_lag{topic,group,partition}              gauge    pending + undelivered
 *   edxbus_last_event_timestamp_seconds{topic,group}        gauge    unix time, last handled
 *   edxbus_broker_up{topic,group,role}                      gauge    1: last broker call worked
 *   edxbus_consumer_consecutive_errors{topic,group}         gauge    the current error streak
 *   edxbus_outbox_depth{path}                               gauge    outbox entries waiting
 *   edxbus_outbox_oldest_age_seconds{path}                  gauge    age of the oldest (0: none)
 * Messages that cannot be read (bad envelope, unknown type) count under event_type="".
 * The lag and outbox gauges are refreshed every EVENT_BUS_METRICS_REFRESH_INTERVAL seconds by a
 * thread of their own (one per consumer, and one per producer or relay with an outbox:
 * EVENT_BUS_OUTBOX_PATH), never on the worker loop nor during a scrape, which reads what they
 * last found; a partition label is "" where the backend reports the group as a whole (Redis,
 * SQLite).
 *
 * Thread rule: every call here may be made from any thread at any time.
 */
#ifndef EDXBUS_METRICS_H
#define EDXBUS_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "edxbus/buf.h"
#include "edxbus/conf.h"
#include "edxbus/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The kind of a metric, as Prometheus names them. */
typedef enum edxbus_metric_type {
    EDXBUS_METRIC_COUNTER,
    EDXBUS_METRIC_GAUGE,
    EDXBUS_METRIC_HISTOGRAM,
} edxbus_metric_type_t;

/** One label of a sample. */
struct edxbus_metric_label {
    const char *name;
    const char *value; /* any UTF-8; the exposition escapes \, " and newlines */
};

/** One sample (one label set of one metric) as edxbus_metrics_visit() hands it over. Every
 *  pointer is borrowed for the call only. */
struct edxbus_metric_sample {
    const char *name; /* e.g. "edxbus_events_consumed_total" */
    const char *help; /* one line */
    edxbus_metric_type_t type;
    const struct edxbus_metric_label *labels;
    size_t nlabels;
    double value; /* counters and gauges */
    /* Histograms: nbuckets upper bounds (seconds, increasing, +Inf not included) and the
     * cumulative count of observations <= each; count (= the +Inf bucket) and sum. */
    const double *bounds;
    const uint64_t *buckets;
    size_t nbuckets;
    uint64_t count;
    double sum;
};

/** Called once per sample; the samples of one metric come one after the other, and a metric
 *  with no sample yet is not visited. Return false to stop. */
typedef bool (*edxbus_metrics_fn)(void *opaque, const struct edxbus_metric_sample *sample);

/** Visit every sample of the registry: for a service that exports to its own metrics system.
 *  Never blocks a worker loop (it reads the counters as they are).
 *  Errors: EDXBUS_ERR_NOMEM. */
EDXBUS_API edxbus_err_t edxbus_metrics_visit(edxbus_metrics_fn fn, void *opaque);

/** Append the registry in the Prometheus text exposition format 0.0.4 (# HELP and # TYPE
 *  lines, then the samples; histograms as _bucket{le=...}, _sum and _count) to @p out.
 *  Errors: EDXBUS_ERR_NOMEM (@p out may hold part of the text then). */
EDXBUS_API edxbus_err_t edxbus_metrics_write_text(struct edxbus_buf *out);

/* ---------------------------------------------------------------------------------------------
 * The HTTP listener: /metrics, /healthz, /readyz
 * ------------------------------------------------------------------------------------------- */

typedef struct edxbus_metrics_server edxbus_metrics_server_t; /* opaque */

/** Read a listening address: "HOST:PORT", "[IPv6]:PORT", ":PORT" or "PORT" (the last two bind
 *  127.0.0.1: loopback unless a host is named). PORT is 0 (any free port) to 65535; HOST is an
 *  IPv4 or IPv6 address, or "localhost". @p host gets the address text (at least 64 bytes).
 *  Errors: EDXBUS_ERR_INVALID_ARG with e.g. `"9464x": the port must be a number from 0 to
 *  65535, e.g. 127.0.0.1:9464`. */
EDXBUS_API edxbus_err_t edxbus_metrics_parse_address(const char *text, char *host,
                                                     size_t host_size, uint16_t *port,
                                                     char *errstr, size_t errstr_size);

/** Start serving on @p address (as edxbus_metrics_parse_address() reads it), or when
 *  @p address is NULL on EVENT_BUS_METRICS_ADDRESS of @p conf (which may be NULL). Nothing set:
 *  *@p out gets NULL and EDXBUS_OK (metrics are off). The listener runs on threads of its own
 *  (libmicrohttpd); a scrape never waits for a worker loop.
 *    GET /metrics  the text format 0.0.4 (Content-Type text/plain; version=0.0.4)
 *    GET /healthz  200 "ok" while every worker loop of the process turned within
 *                  EVENT_BUS_METRICS_STALL_TIMEOUT seconds (or none runs); else 503 naming it
 *    GET /readyz   200 "ready" when at least one consumer, bridge or relay is running and
 *                  every one is connected to its broker (its last call there worked), has
 *                  joined its group and is not in an error streak (fewer consecutive errors
 *                  than EVENT_BUS_METRICS_UNREADY_ERRORS); else 503 with the reason
 *  Ownership: *@p out returns new; stop it with edxbus_metrics_server_stop(). @p conf is read
 *  during the call only.
 *  Errors: EDXBUS_ERR_INVALID_ARG (bad address, naming the setting or "--metrics-address"),
 *  EDXBUS_ERR_IO (the address cannot be bound: in use, not local). */
EDXBUS_API edxbus_err_t edxbus_metrics_server_start(const edxbus_conf_t *conf,
                                                    const char *address,
                                                    edxbus_metrics_server_t **out, char *errstr,
                                                    size_t errstr_size);

/** The port the server listens on (the one the kernel chose for port 0). */
EDXBUS_API uint16_t edxbus_metrics_server_port(const edxbus_metrics_server_t *srv);

/** Stop serving (waits for a scrape in progress) and free. NULL is a no-op. */
EDXBUS_API void edxbus_metrics_server_stop(edxbus_metrics_server_t *srv);

/** Whether the process is live / ready as /healthz and /readyz answer; @p why (may be NULL)
 *  gets the reason when not. */
EDXBUS_API bool edxbus_metrics_is_healthy(char *why, size_t why_size);
EDXBUS_API bool edxbus_metrics_is_ready(char *why, size_t why_size);

#ifdef __cplusplus
}
#endif
#endif /* EDXBUS_METRICS_H */
