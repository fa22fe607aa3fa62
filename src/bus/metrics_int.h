/* src/bus/metrics_int.h — how the consumer, producer and relay count into the registry
 * (metrics.c). Not API.
 *
 * A worker (one consumer, bridge or relay) opens a struct edxbus__mworker: its broker state,
 * heartbeat and error streak for the probes, and, when it has a refresh function (lag, outbox
 * depth), a thread that calls it every EVENT_BUS_METRICS_REFRESH_INTERVAL seconds. A consumer
 * then takes one struct edxbus__mcons per event type it meets (cached in the worker) and bumps
 * it with the single-writer helpers below: a plain load and store, no read-modify-write, since
 * only that consumer's thread writes it.
 */
#ifndef EDXBUS_METRICS_INT_H
#define EDXBUS_METRICS_INT_H

#include <stdatomic.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "edxbus/catalog.h"
#include "edxbus/conf.h"
#include "edxbus/metrics.h"

#define EDXBUS__HIST_MAX 20 /* upper bounds of a histogram (+Inf apart) */

struct edxbus__hist {
    const uint64_t *bounds_ns; /* the family's bounds, nanoseconds */
    size_t nbounds;
    _Atomic uint64_t bucket[EDXBUS__HIST_MAX + 1]; /* per bucket, not cumulative; last: +Inf */
    _Atomic uint64_t sum_ns;
};

/* The counters of one (topic, group, event type) of one consumer. */
struct edxbus__mcons {
    _Atomic uint64_t consumed, failed, retried, dead_lettered;
    struct edxbus__hist handle, latency;
};

struct edxbus__mworker;

/** A thread that calls fn(opaque) at once, then every EVENT_BUS_METRICS_REFRESH_INTERVAL
 *  seconds (at least 10 ms) until stopped: the gauges are read off the loops that own them. */
struct edxbus__ticker {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool started, stop;
    int64_t every_ms;
    void (*fn)(void *opaque);
    void *opaque;
};
/** Start @p t (zeroed by the caller). Returns false when no thread could start. */
bool edxbus__ticker_start(struct edxbus__ticker *t, const edxbus_conf_t *conf,
                          void (*fn)(void *opaque), void *opaque);
/** Stop and join it; a ticker that never started is left alone. */
void edxbus__ticker_stop(struct edxbus__ticker *t);

/** Refresh a worker's gauges off its loop (lag: edxbus__metrics_set_lag()). */
typedef void (*edxbus__mrefresh_fn)(struct edxbus__mworker *w, void *opaque);

/** Register a worker: @p role "consumer" or "relay", @p topic (full) and @p group (may be "").
 *  @p conf is read now (EVENT_BUS_METRICS_*) and borrowed by @p refresh until close. Returns
 *  NULL when EVENT_BUS_METRICS_ENABLED is false or memory runs out (counting is then off). */
struct edxbus__mworker *edxbus__metrics_worker_open(const edxbus_conf_t *conf, const char *role,
                                                    const char *topic, const char *group,
                                                    edxbus__mrefresh_fn refresh, void *opaque);

/** Stop the refresh thread and unregister (the series stay). NULL is a no-op. */
void edxbus__metrics_worker_close(struct edxbus__mworker *w);

/** The series of @p et (NULL: by @p event_type, "" for unreadable messages) for @p w. Cached:
 *  a pointer compare after the first call. NULL when out of memory. */
struct edxbus__mcons *edxbus__metrics_cons(struct edxbus__mworker *w, const edxbus_event_type_t *et,
                                           const char *event_type);

/* Broker and loop state, for edxbus_broker_up and the probes. */
void edxbus__metrics_worker_state(struct edxbus__mworker *w, bool broker_up, bool joined,
                                  int64_t consecutive_errors);
/** The loop turned (now; or at @p mono_ns, edxbus__mono_ns()'s clock). */
void edxbus__metrics_heartbeat(struct edxbus__mworker *w);
void edxbus__metrics_heartbeat_at(struct edxbus__mworker *w, uint64_t mono_ns);
/** An event was handled at @p unix_ms. */
void edxbus__metrics_last_event(struct edxbus__mworker *w, int64_t unix_ms);

/** Replace the worker's lag rows (from the refresh thread): @p partitions (NULL entries: the
 *  group as a whole) and @p lags, @p n of each. */
void edxbus__metrics_set_lag(struct edxbus__mworker *w, const char *const *partitions,
                             const int64_t *lags, size_t n);
/* Outbox gauges, one series per file however many watchers (outbox.c) read it: hold adds a
 * watcher (false when out of memory), set records what it read (depth; @p oldest_ms the unix ms
 * of the oldest waiting entry, -1 when none waits), release drops it (the last one removes the
 * series). Served as edxbus_outbox_depth and edxbus_outbox_oldest_age_seconds. */
bool edxbus__metrics_outbox_hold(const char *path);
void edxbus__metrics_outbox_set(const char *path, int64_t depth, int64_t oldest_ms);
void edxbus__metrics_outbox_release(const char *path);
/** The worker's conf (borrowed), for refresh functions. */
const edxbus_conf_t *edxbus__metrics_worker_conf(const struct edxbus__mworker *w);
const char *edxbus__metrics_worker_topic(const struct edxbus__mworker *w);
const char *edxbus__metrics_worker_group(const struct edxbus__mworker *w);

/** Monotonic time in nanoseconds. */
uint64_t edxbus__mono_ns(void);

/** One observation of @p ns nanoseconds (single writer). */
static inline void edxbus__hist_observe(struct edxbus__hist *h, uint64_t ns)
{
    size_t i = 0;
    while (i < h->nbounds && ns > h->bounds_ns[i])
        i++;
    atomic_store_explicit(&h->bucket[i],
                          atomic_load_explicit(&h->bucket[i], memory_order_relaxed) + 1,
                          memory_order_relaxed);
    atomic_store_explicit(&h->sum_ns, atomic_load_explicit(&h->sum_ns, memory_order_relaxed) + ns,
                          memory_order_relaxed);
}

/** Add @p n to a single-writer counter. */
static inline void edxbus__mc_add(_Atomic uint64_t *c, uint64_t n)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
                          memory_order_relaxed);
}

/* Producers: any thread may send, so these add with atomic read-modify-writes. */
/** Count one send of @p event_type to @p topic (full): delivered (@p ok) or failed. */
void edxbus__metrics_produced(const edxbus_conf_t *conf, const char *topic,
                              const char *event_type, bool ok);
/** Asynchronous sends waiting for their report: +1 when queued, -1 when reported. */
void edxbus__metrics_queue_add(int64_t delta);
/** Whether EVENT_BUS_METRICS_ENABLED is true in @p conf (read once per producer). */
bool edxbus__metrics_enabled(const edxbus_conf_t *conf);

#endif /* EDXBUS_METRICS_INT_H */
