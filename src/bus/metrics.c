/* src/bus/metrics.c — the process-wide metrics registry (metrics.h) and its text exposition.
 *
 * Three kinds of entries:
 *   - consumer series (topic, group, event type): owned by one consumer at a time, which is the
 *     only thread writing them (metrics_int.h's single-writer helpers), so the worker loop pays
 *     a few plain stores per event. A consumer that goes away releases its series; the next
 *     consumer with the same labels takes them over, so counters never go back. Two live
 *     consumers with the same labels get one series each, summed when read.
 *   - producer series (topic, event type): any thread may send, so they add atomically.
 *   - workers (consumer, bridge, relay): broker state, heartbeat, error streak and lag; they
 *     exist while their owner runs and carry the gauges and the probes' answers;
 *   - outboxes (one per file, while some watcher of outbox.c reads it): depth and the oldest
 *     waiting entry's time; not workers, so they never make the probes fail.
 * Both series lists only grow, by an atomic push at the head: readers (a scrape, a visit) walk
 * them without any lock. Registering a series takes reg_mu, which no reader holds; the worker
 * list takes wk_mu, held by readers only while they copy the gauges, and by open/close (never
 * by a worker loop). Series are freed when the library is unloaded.
 *
 * To add a metric: a counter of a consumer goes into struct edxbus__mcons (metrics_int.h), its
 * family into the visit below; a gauge of a worker into struct edxbus__mworker.
 */
#include "metrics_int.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bus_int.h"

/* Histogram bounds, seconds. Handling is usually well under a millisecond, so the handling
 * histogram starts at 100 µs; latency (event time to handled) covers a backlog of an hour. */
static const double handle_bounds[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                       0.01,   0.025,   0.05,   0.1,   0.25,   0.5,
                                       1,      2.5,     5,      10,    30};
static const double latency_bounds[] = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
                                        2.5,   5,     10,   30,    60,   300, 900, 3600};
#define NHANDLE (sizeof handle_bounds / sizeof handle_bounds[0])
#define NLATENCY (sizeof latency_bounds / sizeof latency_bounds[0])
_Static_assert(NHANDLE <= EDXBUS__HIST_MAX && NLATENCY <= EDXBUS__HIST_MAX, "histogram bounds");
static uint64_t handle_ns[NHANDLE], latency_ns[NLATENCY];
static pthread_once_t bounds_once = PTHREAD_ONCE_INIT;

static void bounds_init(void)
{
    for (size_t i = 0; i < NHANDLE; i++)
        handle_ns[i] = (uint64_t)llround(handle_bounds[i] * 1e9);
    for (size_t i = 0; i < NLATENCY; i++)
        latency_ns[i] = (uint64_t)llround(latency_bounds[i] * 1e9);
}

struct cseries {
    struct cseries *next;
    char *topic, *group, *event_type;
    const struct edxbus__mworker *owner; /* under reg_mu; NULL: free to take over */
    struct edxbus__mcons c;
};

struct pseries {
    struct pseries *next;
    char *topic, *event_type;
    _Atomic uint64_t produced, failed;
};

struct cache_entry {
    const edxbus_event_type_t *et; /* NULL: matched by name */
    struct cseries *s;
};

struct lag_row {
    char *partition; /* NULL: the group as a whole */
    int64_t lag;
};

struct edxbus__mworker {
    struct edxbus__mworker *next; /* under wk_mu */
    char *role, *topic, *group;
    const edxbus_conf_t *conf;
    int64_t stall_ms, unready_errors;
    _Atomic int up, joined;
    _Atomic int64_t errors, heartbeat_ms, last_event_ms;
    struct cache_entry *cache; /* the owner's thread only */
    size_t ncache, capcache;
    /* Refresh thread and what it writes (under mu). */
    edxbus__mrefresh_fn refresh;
    void *opaque;
    struct edxbus__ticker tick;
    pthread_mutex_t mu; /* the lag rows */
    struct lag_row *lag;
    size_t nlag;
    bool lag_known;
};

/* One outbox file's gauges (outbox watchers, outbox.c), under wk_mu. */
struct oseries {
    struct oseries *next;
    char *path;
    int refs;          /* watchers holding it */
    int64_t depth;     /* -1: not read yet */
    int64_t oldest_ms; /* unix ms of the oldest waiting entry; -1: none waits */
};

static _Atomic(struct cseries *) cons_head;
static _Atomic(struct pseries *) prod_head;
static _Atomic int64_t queue_depth;
static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t wk_mu = PTHREAD_MUTEX_INITIALIZER;
static struct edxbus__mworker *workers;
static struct oseries *outboxes;

uint64_t edxbus__mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int64_t mono_ms(void)
{
    return (int64_t)(edxbus__mono_ns() / 1000000u);
}

bool edxbus__metrics_enabled(const edxbus_conf_t *conf)
{
    return edxbus_conf_get_bool(conf, "EVENT_BUS_METRICS_ENABLED", true);
}

/* ---------------------------------------------------------------------------------------------
 * Workers
 * ------------------------------------------------------------------------------------------- */

static void worker_tick(void *opaque)
{
    struct edxbus__mworker *w = opaque;
    w->refresh(w, w->opaque);
}

static void worker_free(struct edxbus__mworker *w)
{
    for (size_t i = 0; i < w->nlag; i++)
        free(w->lag[i].partition);
    free(w->lag);
    free(w->cache);
    free(w->role);
    free(w->topic);
    free(w->group);
    pthread_mutex_destroy(&w->mu);
    free(w);
}

struct edxbus__mworker *edxbus__metrics_worker_open(const edxbus_conf_t *conf, const char *role,
                                                    const char *topic, const char *group,
                                                    edxbus__mrefresh_fn refresh, void *opaque)
{
    if (!edxbus__metrics_enabled(conf))
        return NULL;
    pthread_once(&bounds_once, bounds_init);
    struct edxbus__mworker *w = calloc(1, sizeof *w);
    if (w == NULL)
        return NULL;
    pthread_mutex_init(&w->mu, NULL);
    w->role = strdup(role);
    w->topic = strdup(topic);
    w->group = strdup(group != NULL ? group : "");
    if (w->role == NULL || w->topic == NULL || w->group == NULL) {
        worker_free(w);
        return NULL;
    }
    w->conf = conf;
    w->stall_ms =
        (int64_t)(edxbus_conf_get_double(conf, "EVENT_BUS_METRICS_STALL_TIMEOUT", 60.0) * 1000);
    w->unready_errors = edxbus_conf_get_int(conf, "EVENT_BUS_METRICS_UNREADY_ERRORS", 3);
    if (w->unready_errors < 1)
        w->unready_errors = 1;
    atomic_store(&w->heartbeat_ms, mono_ms());
    w->refresh = refresh;
    w->opaque = opaque;
    if (refresh != NULL)
        edxbus__ticker_start(&w->tick, conf, worker_tick, w);
    pthread_mutex_lock(&wk_mu);
    w->next = workers;
    workers = w;
    pthread_mutex_unlock(&wk_mu);
    return w;
}

void edxbus__metrics_worker_close(struct edxbus__mworker *w)
{
    if (w == NULL)
        return;
    edxbus__ticker_stop(&w->tick);
    pthread_mutex_lock(&wk_mu);
    for (struct edxbus__mworker **p = &workers; *p != NULL; p = &(*p)->next)
        if (*p == w) {
            *p = w->next;
            break;
        }
    pthread_mutex_unlock(&wk_mu);
    pthread_mutex_lock(&reg_mu);
    for (size_t i = 0; i < w->ncache; i++)
        w->cache[i].s->owner = NULL;
    pthread_mutex_unlock(&reg_mu);
    worker_free(w);
}

const edxbus_conf_t *edxbus__metrics_worker_conf(const struct edxbus__mworker *w)
{
    return w->conf;
}

const char *edxbus__metrics_worker_topic(const struct edxbus__mworker *w)
{
    return w->topic;
}

const char *edxbus__metrics_worker_group(const struct edxbus__mworker *w)
{
    return w->group;
}

void edxbus__metrics_worker_state(struct edxbus__mworker *w, bool broker_up, bool joined,
                                  int64_t consecutive_errors)
{
    atomic_store_explicit(&w->up, broker_up, memory_order_relaxed);
    atomic_store_explicit(&w->joined, joined, memory_order_relaxed);
    atomic_store_explicit(&w->errors, consecutive_errors, memory_order_relaxed);
}

void edxbus__metrics_heartbeat(struct edxbus__mworker *w)
{
    atomic_store_explicit(&w->heartbeat_ms, mono_ms(), memory_order_relaxed);
}

void edxbus__metrics_heartbeat_at(struct edxbus__mworker *w, uint64_t mono_ns)
{
    atomic_store_explicit(&w->heartbeat_ms, (int64_t)(mono_ns / 1000000u), memory_order_relaxed);
}

void edxbus__metrics_last_event(struct edxbus__mworker *w, int64_t unix_ms)
{
    atomic_store_explicit(&w->last_event_ms, unix_ms, memory_order_relaxed);
}

void edxbus__metrics_set_lag(struct edxbus__mworker *w, const char *const *partitions,
                             const int64_t *lags, size_t n)
{
    struct lag_row *rows = n ? calloc(n, sizeof *rows) : NULL;
    if (n > 0 && rows == NULL)
        return;
    for (size_t i = 0; i < n; i++) {
        rows[i].lag = lags[i];
        rows[i].partition = partitions[i] != NULL ? strdup(partitions[i]) : NULL;
    }
    pthread_mutex_lock(&w->mu);
    struct lag_row *old = w->lag;
    size_t nold = w->nlag;
    w->lag = rows;
    w->nlag = n;
    w->lag_known = true;
    pthread_mutex_unlock(&w->mu);
    for (size_t i = 0; i < nold; i++)
        free(old[i].partition);
    free(old);
}

static struct oseries *oseries_find(const char *path)
{
    for (struct oseries *o = outboxes; o != NULL; o = o->next)
        if (strcmp(o->path, path) == 0)
            return o;
    return NULL;
}

bool edxbus__metrics_outbox_hold(const char *path)
{
    bool ok = true;
    pthread_mutex_lock(&wk_mu);
    struct oseries *o = oseries_find(path);
    if (o == NULL) {
        o = calloc(1, sizeof *o);
        char *copy = strdup(path);
        if (o == NULL || copy == NULL) {
            free(o);
            free(copy);
            ok = false;
        } else {
            *o = (struct oseries){.next = outboxes, .path = copy, .depth = -1, .oldest_ms = -1};
            outboxes = o;
        }
    }
    if (ok)
        o->refs++;
    pthread_mutex_unlock(&wk_mu);
    return ok;
}

void edxbus__metrics_outbox_set(const char *path, int64_t depth, int64_t oldest_ms)
{
    pthread_mutex_lock(&wk_mu);
    struct oseries *o = oseries_find(path);
    if (o != NULL) {
        o->depth = depth;
        o->oldest_ms = oldest_ms;
    }
    pthread_mutex_unlock(&wk_mu);
}

void edxbus__metrics_outbox_release(const char *path)
{
    pthread_mutex_lock(&wk_mu);
    for (struct oseries **p = &outboxes; *p != NULL; p = &(*p)->next)
        if (strcmp((*p)->path, path) == 0) {
            struct oseries *o = *p;
            if (--o->refs == 0) {
                *p = o->next;
                free(o->path);
                free(o);
            }
            break;
        }
    pthread_mutex_unlock(&wk_mu);
}

/* ---------------------------------------------------------------------------------------------
 * Series
 * ------------------------------------------------------------------------------------------- */

static bool same(const char *a, const char *b)
{
    return strcmp(a, b) == 0;
}

static void hist_init(struct edxbus__hist *h, const uint64_t *bounds, size_t n)
{
    h->bounds_ns = bounds;
    h->nbounds = n;
}

struct edxbus__mcons *edxbus__metrics_cons(struct edxbus__mworker *w, const edxbus_event_type_t *et,
                                           const char *event_type)
{
    for (size_t i = 0; i < w->ncache; i++)
        if (et != NULL ? w->cache[i].et == et
                       : w->cache[i].et == NULL && same(w->cache[i].s->event_type, event_type))
            return &w->cache[i].s->c;
    if (et != NULL)
        event_type = edxbus_event_type_name(et);
    if (w->ncache == w->capcache) {
        size_t cap = w->capcache ? w->capcache * 2 : 8;
        struct cache_entry *c = realloc(w->cache, cap * sizeof *c);
        if (c == NULL)
            return NULL;
        w->cache = c;
        w->capcache = cap;
    }
    pthread_mutex_lock(&reg_mu);
    struct cseries *s = atomic_load_explicit(&cons_head, memory_order_acquire);
    for (; s != NULL; s = s->next)
        if (s->owner == NULL && same(s->topic, w->topic) && same(s->group, w->group) &&
            same(s->event_type, event_type))
            break;
    if (s == NULL) {
        s = calloc(1, sizeof *s);
        if (s != NULL) {
            s->topic = strdup(w->topic);
            s->group = strdup(w->group);
            s->event_type = strdup(event_type);
            if (s->topic == NULL || s->group == NULL || s->event_type == NULL) {
                free(s->topic);
                free(s->group);
                free(s->event_type);
                free(s);
                s = NULL;
            }
        }
        if (s != NULL) {
            hist_init(&s->c.handle, handle_ns, NHANDLE);
            hist_init(&s->c.latency, latency_ns, NLATENCY);
            s->next = atomic_load_explicit(&cons_head, memory_order_relaxed);
            atomic_store_explicit(&cons_head, s, memory_order_release);
        }
    }
    if (s != NULL)
        s->owner = w;
    pthread_mutex_unlock(&reg_mu);
    if (s == NULL)
        return NULL;
    w->cache[w->ncache++] = (struct cache_entry){.et = et, .s = s};
    return &s->c;
}

/* The last producer series this thread used: a send to the same topic and type finds it
 * without a lock. */
static _Thread_local struct pseries *last_pseries;

static struct pseries *pseries_for(const char *topic, const char *event_type)
{
    struct pseries *s = last_pseries;
    if (s != NULL && same(s->topic, topic) && same(s->event_type, event_type))
        return s;
    pthread_mutex_lock(&reg_mu);
    for (s = atomic_load_explicit(&prod_head, memory_order_acquire); s != NULL; s = s->next)
        if (same(s->topic, topic) && same(s->event_type, event_type))
            break;
    if (s == NULL) {
        s = calloc(1, sizeof *s);
        if (s != NULL) {
            s->topic = strdup(topic);
            s->event_type = strdup(event_type);
            if (s->topic == NULL || s->event_type == NULL) {
                free(s->topic);
                free(s->event_type);
                free(s);
                s = NULL;
            } else {
                s->next = atomic_load_explicit(&prod_head, memory_order_relaxed);
                atomic_store_explicit(&prod_head, s, memory_order_release);
            }
        }
    }
    pthread_mutex_unlock(&reg_mu);
    last_pseries = s;
    return s;
}

void edxbus__metrics_produced(const edxbus_conf_t *conf, const char *topic,
                              const char *event_type, bool ok)
{
    (void)conf;
    struct pseries *s = pseries_for(topic != NULL ? topic : "", event_type != NULL ? event_type : "");
    if (s != NULL)
        atomic_fetch_add_explicit(ok ? &s->produced : &s->failed, 1, memory_order_relaxed);
}

void edxbus__metrics_queue_add(int64_t delta)
{
    atomic_fetch_add_explicit(&queue_depth, delta, memory_order_relaxed);
}

/* Freed when the library is unloaded (or the process ends), so leak checkers see nothing. */
__attribute__((destructor)) static void registry_free(void)
{
    struct cseries *c = atomic_load(&cons_head);
    while (c != NULL) {
        struct cseries *next = c->next;
        free(c->topic);
        free(c->group);
        free(c->event_type);
        free(c);
        c = next;
    }
    struct pseries *p = atomic_load(&prod_head);
    while (p != NULL) {
        struct pseries *next = p->next;
        free(p->topic);
        free(p->event_type);
        free(p);
        p = next;
    }
    atomic_store(&cons_head, NULL);
    atomic_store(&prod_head, NULL);
}

/* ---------------------------------------------------------------------------------------------
 * Visiting
 * ------------------------------------------------------------------------------------------- */

enum cfield { C_CONSUMED, C_FAILED, C_RETRIED, C_DEAD, C_HANDLE, C_LATENCY };

static const struct family {
    const char *name, *help;
    edxbus_metric_type_t type;
} cfamilies[] = {
    [C_CONSUMED] = {"edxbus_events_consumed_total",
                    "Messages a consumer took from the broker and handled, whatever the outcome",
                    EDXBUS_METRIC_COUNTER},
    [C_FAILED] = {"edxbus_events_failed_total",
                  "Messages whose handling failed (undecodable, or receivers failed every try)",
                  EDXBUS_METRIC_COUNTER},
    [C_RETRIED] = {"edxbus_events_retried_total", "Extra receiver attempts after a failure",
                   EDXBUS_METRIC_COUNTER},
    [C_DEAD] = {"edxbus_events_dead_lettered_total",
                "Events stored in the dead-letter topic", EDXBUS_METRIC_COUNTER},
    [C_HANDLE] = {"edxbus_handle_seconds",
                  "Time to decode an event and run its receivers, retries included",
                  EDXBUS_METRIC_HISTOGRAM},
    [C_LATENCY] = {"edxbus_event_latency_seconds",
                   "Time from the event's own time (metadata) to the end of its handling",
                   EDXBUS_METRIC_HISTOGRAM},
};

/* Histogram totals of one label set, summed over its series. */
struct hsum {
    uint64_t bucket[EDXBUS__HIST_MAX + 1];
    uint64_t sum_ns;
};

static void hist_add(struct hsum *t, const struct edxbus__hist *h)
{
    for (size_t i = 0; i <= h->nbounds; i++)
        t->bucket[i] += atomic_load_explicit(&h->bucket[i], memory_order_relaxed);
    t->sum_ns += atomic_load_explicit(&h->sum_ns, memory_order_relaxed);
}

static uint64_t cfield_of(const struct edxbus__mcons *c, enum cfield f)
{
    const _Atomic uint64_t *p = f == C_CONSUMED ? &c->consumed
                                : f == C_FAILED ? &c->failed
                                : f == C_RETRIED ? &c->retried
                                                 : &c->dead_lettered;
    return atomic_load_explicit(p, memory_order_relaxed);
}

static bool cs_same_labels(const struct cseries *a, const struct cseries *b)
{
    return same(a->topic, b->topic) && same(a->group, b->group) &&
           same(a->event_type, b->event_type);
}

static bool visit_consumer_family(enum cfield f, edxbus_metrics_fn fn, void *opaque)
{
    struct cseries *head = atomic_load_explicit(&cons_head, memory_order_acquire);
    for (struct cseries *s = head; s != NULL; s = s->next) {
        bool first = true; /* the first series of its labels speaks for all of them */
        for (struct cseries *e = head; e != s; e = e->next)
            if (cs_same_labels(e, s)) {
                first = false;
                break;
            }
        if (!first)
            continue;
        struct edxbus_metric_label labels[] = {
            {"topic", s->topic}, {"group", s->group}, {"event_type", s->event_type}};
        struct edxbus_metric_sample smp = {.name = cfamilies[f].name,
                                           .help = cfamilies[f].help,
                                           .type = cfamilies[f].type,
                                           .labels = labels,
                                           .nlabels = 3};
        if (f == C_HANDLE || f == C_LATENCY) {
            struct hsum t = {{0}, 0};
            const struct edxbus__hist *h0 = f == C_HANDLE ? &s->c.handle : &s->c.latency;
            for (struct cseries *e = s; e != NULL; e = e->next)
                if (cs_same_labels(e, s))
                    hist_add(&t, f == C_HANDLE ? &e->c.handle : &e->c.latency);
            uint64_t cum[EDXBUS__HIST_MAX];
            uint64_t run = 0;
            for (size_t i = 0; i < h0->nbounds; i++) {
                run += t.bucket[i];
                cum[i] = run;
            }
            smp.bounds = f == C_HANDLE ? handle_bounds : latency_bounds;
            smp.buckets = cum;
            smp.nbuckets = h0->nbounds;
            smp.count = run + t.bucket[h0->nbounds];
            smp.sum = (double)t.sum_ns / 1e9;
            if (!fn(opaque, &smp))
                return false;
            continue;
        }
        uint64_t v = 0;
        for (struct cseries *e = s; e != NULL; e = e->next)
            if (cs_same_labels(e, s))
                v += cfield_of(&e->c, f);
        smp.value = (double)v;
        if (!fn(opaque, &smp))
            return false;
    }
    return true;
}

static bool visit_producer(edxbus_metrics_fn fn, void *opaque)
{
    static const struct family pf[] = {
        {"edxbus_events_produced_total", "Events the broker (or the outbox) confirmed",
         EDXBUS_METRIC_COUNTER},
        {"edxbus_produce_failures_total",
         "Sends refused or deliveries that failed (the event was not stored)",
         EDXBUS_METRIC_COUNTER},
    };
    for (size_t f = 0; f < 2; f++)
        for (struct pseries *s = atomic_load_explicit(&prod_head, memory_order_acquire);
             s != NULL; s = s->next) {
            struct edxbus_metric_label labels[] = {{"topic", s->topic},
                                                   {"event_type", s->event_type}};
            struct edxbus_metric_sample smp = {
                .name = pf[f].name, .help = pf[f].help, .type = pf[f].type,
                .labels = labels,   .nlabels = 2};
            smp.value = (double)atomic_load_explicit(f == 0 ? &s->produced : &s->failed,
                                                     memory_order_relaxed);
            if (!fn(opaque, &smp))
                return false;
        }
    struct edxbus_metric_sample q = {
        .name = "edxbus_producer_queue_depth",
        .help = "Asynchronous sends queued and not yet reported by the broker",
        .type = EDXBUS_METRIC_GAUGE,
        .value = (double)atomic_load_explicit(&queue_depth, memory_order_relaxed)};
    return fn(opaque, &q);
}

enum wfield { W_LAG, W_LAST, W_UP, W_ERRORS, W_COUNT };

/* The gauges of the workers, under wk_mu (never held by a worker loop). */
static bool visit_workers(edxbus_metrics_fn fn, void *opaque)
{
    static const struct family wf[] = {
        [W_LAG] = {"edxbus_consumer_lag",
                   "Events of the topic the group has not handled yet (pending + undelivered)",
                   EDXBUS_METRIC_GAUGE},
        [W_LAST] = {"edxbus_last_event_timestamp_seconds",
                    "Unix time at which the consumer last handled an event", EDXBUS_METRIC_GAUGE},
        [W_UP] = {"edxbus_broker_up", "1 when the last call to the broker worked, else 0",
                  EDXBUS_METRIC_GAUGE},
        [W_ERRORS] = {"edxbus_consumer_consecutive_errors",
                      "Failed polls, events and acks in a row (a handled event resets it)",
                      EDXBUS_METRIC_GAUGE},
    };
    bool go = true;
    pthread_mutex_lock(&wk_mu);
    for (int f = 0; f < W_COUNT && go; f++)
        for (struct edxbus__mworker *w = workers; w != NULL && go; w = w->next) {
            struct edxbus_metric_label labels[3] = {{"topic", w->topic}, {"group", w->group}};
            struct edxbus_metric_sample smp = {
                .name = wf[f].name, .help = wf[f].help, .type = wf[f].type,
                .labels = labels,   .nlabels = 2};
            if (f == W_LAG) {
                pthread_mutex_lock(&w->mu);
                labels[2].name = "partition";
                smp.nlabels = 3;
                for (size_t i = 0; i < w->nlag && go; i++) {
                    labels[2].value = w->lag[i].partition ? w->lag[i].partition : "";
                    smp.value = (double)w->lag[i].lag;
                    go = fn(opaque, &smp);
                }
                pthread_mutex_unlock(&w->mu);
            } else if (f == W_LAST) {
                int64_t ms = atomic_load_explicit(&w->last_event_ms, memory_order_relaxed);
                if (ms > 0) {
                    smp.value = (double)ms / 1000.0;
                    go = fn(opaque, &smp);
                }
            } else if (f == W_UP) {
                labels[2] = (struct edxbus_metric_label){"role", w->role};
                smp.nlabels = 3;
                smp.value = atomic_load_explicit(&w->up, memory_order_relaxed) ? 1 : 0;
                go = fn(opaque, &smp);
            } else {
                smp.value = (double)atomic_load_explicit(&w->errors, memory_order_relaxed);
                go = fn(opaque, &smp);
            }
        }
    /* The outboxes: the gauges their watchers last read (none until a first read). */
    static const struct family of[] = {
        {"edxbus_outbox_depth", "Outbox entries waiting for the broker", EDXBUS_METRIC_GAUGE},
        {"edxbus_outbox_oldest_age_seconds",
         "Seconds since the oldest waiting outbox entry was committed (0: none waits)",
         EDXBUS_METRIC_GAUGE},
    };
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    int64_t now_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
    for (int f = 0; f < 2 && go; f++)
        for (struct oseries *o = outboxes; o != NULL && go; o = o->next) {
            if (o->depth < 0)
                continue;
            struct edxbus_metric_label label = {"path", o->path};
            struct edxbus_metric_sample smp = {
                .name = of[f].name, .help = of[f].help, .type = of[f].type,
                .labels = &label,   .nlabels = 1};
            int64_t age = o->oldest_ms >= 0 && now_ms > o->oldest_ms ? now_ms - o->oldest_ms : 0;
            smp.value = f == 0 ? (double)o->depth : o->depth > 0 ? (double)age / 1000.0 : 0;
            go = fn(opaque, &smp);
        }
    pthread_mutex_unlock(&wk_mu);
    return go;
}

edxbus_err_t edxbus_metrics_visit(edxbus_metrics_fn fn, void *opaque)
{
    pthread_once(&bounds_once, bounds_init);
    if (!visit_producer(fn, opaque))
        return EDXBUS_OK;
    for (int f = C_CONSUMED; f <= C_LATENCY; f++)
        if (!visit_consumer_family((enum cfield)f, fn, opaque))
            return EDXBUS_OK;
    visit_workers(fn, opaque);
    return EDXBUS_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Probes
 * ------------------------------------------------------------------------------------------- */

bool edxbus_metrics_is_healthy(char *why, size_t why_size)
{
    bool ok = true;
    int64_t now = mono_ms();
    pthread_mutex_lock(&wk_mu);
    for (struct edxbus__mworker *w = workers; w != NULL && ok; w = w->next) {
        int64_t age = now - atomic_load_explicit(&w->heartbeat_ms, memory_order_relaxed);
        if (w->stall_ms > 0 && age > w->stall_ms) {
            ok = false;
            if (why != NULL)
                snprintf(why, why_size, "%s of %s%s%s has not turned for %lld ms", w->role,
                         w->topic, w->group[0] ? " in group " : "", w->group, (long long)age);
        }
    }
    pthread_mutex_unlock(&wk_mu);
    return ok;
}

bool edxbus_metrics_is_ready(char *why, size_t why_size)
{
    bool ok = true;
    pthread_mutex_lock(&wk_mu);
    if (workers == NULL) {
        ok = false;
        if (why != NULL)
            snprintf(why, why_size, "no consumer, bridge or relay is running yet");
    }
    for (struct edxbus__mworker *w = workers; w != NULL && ok; w = w->next) {
        const char *what = NULL;
        int64_t errors = atomic_load_explicit(&w->errors, memory_order_relaxed);
        if (!atomic_load_explicit(&w->joined, memory_order_relaxed))
            what = "has not joined its group yet";
        else if (!atomic_load_explicit(&w->up, memory_order_relaxed))
            what = "cannot reach its broker";
        else if (errors >= w->unready_errors)
            what = "is in an error streak";
        if (what != NULL) {
            ok = false;
            if (why != NULL)
                snprintf(why, why_size, "%s of %s%s%s %s (%lld consecutive errors)", w->role,
                         w->topic, w->group[0] ? " in group " : "", w->group, what,
                         (long long)errors);
        }
    }
    pthread_mutex_unlock(&wk_mu);
    return ok;
}
