/* src/bus/consumer_int.h — the consumer's state, shared by consumer.c (set-up) and worker.c
 * (the loop). Not API.
 */
#ifndef EDXBUS_CONSUMER_INT_H
#define EDXBUS_CONSUMER_INT_H

#include "bus_int.h"
#include "metrics_int.h"
#include "edxbus/backend_util.h"

struct edxbus__dedup;

/* A writer schema named by the broker, resolved against the catalog's reader schema. */
struct edxbus__resolver_entry {
    char *text;                    /* the writer schema text, as the message named it */
    const edxbus_event_type_t *et; /* the reader */
    edxbus_avro_schema_t *writer;
    edxbus_avro_resolver_t *res;   /* NULL when identity */
    bool identity;                 /* same Parsing Canonical Form as the reader: same bytes */
};

struct edxbus_consumer {
    edxbus_bus_t *bus;
    const edxbus_conf_t *conf;
    const struct edxbus_backend_ops *ops;
    void *be;     /* the backend's consumer handle; NULL when disabled */
    void *dlq_be; /* the backend's producer handle for dead letters, opened on first use */
    char *topic;  /* full topic */
    char *group;
    uint64_t max_events; /* 0: no limit */
    const volatile sig_atomic_t *stop;
    edxbus_waker_t *waker; /* edxbus_consumer_stop(): woken for good */
    bool backend_wakes;    /* the backend has the wake slot */

    unsigned tries;                /* receiver tries in all, >= 1 */
    int64_t backoff_ms;            /* before the 2nd try; doubles per try, capped at 30 s */
    bool dlq_enabled;              /* else log for replay and ack */
    int64_t errors_limit;          /* consecutive failed events/polls before giving up; 0: none */
    int64_t poll_failure_sleep_ms; /* after a failed poll */
    int poll_slice_ms;             /* <= 500 */
    bool audit;                    /* one info line per event */
    bool audit_batch;              /* ... and the log takes info lines: read once per batch */
    size_t batch_max;

    int64_t consecutive_errors;
    struct edxbus_consumer_stats stats;

    struct edxbus__resolver_entry *resolvers;
    size_t nresolvers, capresolvers;
    bool *done; /* per receiver, for retries */
    size_t capdone;
    struct edxbus_receiver_result *results;
    size_t capresults;
    struct edxbus__dedup *dedup; /* EVENT_BUS_CONSUMER_DEDUP: ids handled; NULL when off */
    edxbus_before_ack_fn before_ack; /* or NULL */
    void *before_ack_opaque;
    bool *ackable; /* per message of the batch being handled: acknowledge it */
    size_t capackable;
    /* The signal of the last event type seen (a topic carries one or a few types): looked up
       in the catalog only when the type changes. Signals live as long as the bus. */
    edxbus_signal_t *last_sig;
    char last_type[EDXBUS_METADATA_TEXT_MAX];

    /* Metrics (metrics_int.h); NULL when EVENT_BUS_METRICS_ENABLED is false. */
    struct edxbus__mworker *metrics;
    const edxbus_event_type_t *m_et; /* the type of the message being handled, once known */
    int64_t streak;                  /* the probes' error streak: consecutive_errors, also
                                        ended by a good poll after failed ones */
    bool last_poll_failed;
};

/** Whether the worker must stop: the stop flag, or edxbus_consumer_stop(). */
bool edxbus__consumer_stopping(const edxbus_consumer_t *cons);

/** Sleep @p ms unless the consumer is asked to stop (returns false then, at once). */
bool edxbus__consumer_sleep(const edxbus_consumer_t *cons, int64_t ms);

/* For a receiver that has events confirmed after it returned (the bridge's HTTP destination
 * with several requests in flight): it returned EDXBUS_OK for @p msg, a message of the batch
 * being handled, and applies the worker's policy itself from its before-ack call. */

/** Try @p attempt (1, 2, …) of @p msg failed with @p why: the worker's retry line and count,
 *  then its backoff. Returns false (at once) when the consumer is asked to stop. */
bool edxbus__consumer_retry_wait(edxbus_consumer_t *cons, const struct edxbus_msg *msg,
                                 unsigned attempt, const char *why);

/** The last of @p attempts tries of @p msg failed with @p why: dead letter (or the replay
 *  line), counted as a failure instead of a delivery. Returns whether it may be acknowledged. */
bool edxbus__consumer_failed_late(edxbus_consumer_t *cons, const struct edxbus_msg *msg,
                                  unsigned attempts, const char *why);

/* Effectively-once receivers (dedup.c): the ids a group has finished with, per topic. */
struct edxbus__dedup;

/** Open (creating) the id file of @p group under EVENT_BUS_CONSUMER_DEDUP_PATH. Returns new;
 *  NULL with one line in @p errstr naming the file. */
struct edxbus__dedup *edxbus__dedup_open(const edxbus_conf_t *conf, const char *group,
                                         char *errstr, size_t errstr_size);
void edxbus__dedup_close(struct edxbus__dedup *d);

/** Whether event @p id of @p topic was recorded within the window. */
edxbus_err_t edxbus__dedup_seen(struct edxbus__dedup *d, const char *topic, const char *id,
                                bool *seen, char *errstr, size_t errstr_size);

/** Record (commit) that event @p id of @p topic is done. */
edxbus_err_t edxbus__dedup_record(struct edxbus__dedup *d, const char *topic, const char *id,
                                  char *errstr, size_t errstr_size);

#endif /* EDXBUS_CONSUMER_INT_H */
