/* include/edxbus/consumer.h — read events from a topic and re-emit them through the signals.
 *
 * The consumer front end joins a group on one topic of the backend named by EVENT_BUS_CONSUMER
 * and runs the worker loop, the same on every backend:
 *
 *   1. poll a batch (EVENT_BUS_<BACKEND>_CONSUMER_POLL_TIMEOUT at most; edxbus_consumer_stop()
 *      ends the wait at once);
 *   2. for each message: an unusable envelope or a value that does not decode under the
 *      catalog's schema (resolved from the writer's schema when the broker names it) goes to
 *      the error policy; otherwise the event is re-emitted through its signal with its original
 *      metadata, marked as coming from the bus (edxbus_send_event_with_custom_metadata);
 *   3. a receiver that failed is tried again (EVENT_BUS_CONSUMER_RETRIES tries in all, default
 *      3, waiting EVENT_BUS_CONSUMER_RETRY_BACKOFF_MS, doubling); then the event is
 *      dead-lettered to `<full topic>-dlq` (value and metadata unchanged, with headers error,
 *      group, attempts, original_position, original_topic). EVENT_BUS_DEAD_LETTER_ENABLED=false
 *      keeps the reference behaviour instead: log everything needed to replay it (topic,
 *      position, event id, the data as JSON);
 *   4. acknowledge, only now: after every receiver ran, or after the dead letter was stored.
 *
 * Other settings read (<BACKEND> is the backend's name in capitals, e.g. SQLITE, REDIS):
 * EVENT_BUS_<BACKEND>_CONSUMERS_ENABLED (false: log and return at once, the kill switch),
 * EVENT_BUS_<BACKEND>_CONSUMER_CONSECUTIVE_ERRORS_LIMIT (or EVENT_BUS_CONSUMER_…; reached: the
 * run ends with EDXBUS_ERR_ERRORS_LIMIT), EVENT_BUS_<BACKEND>_CONSUMER_POLL_FAILURE_SLEEP (seconds,
 * default 1), EVENT_BUS_AUDIT_LOGGING_ENABLED and EVENT_BUS_<BACKEND>_AUDIT_LOGGING_ENABLED (one
 * info line per event: topic, position, event id, event time; default on).
 *
 * Start position: an existing group resumes; a new group starts at the newest message unless
 * extra {"start": "earliest"} (or {"check_backlog": true}, or a position); start_time_ms (or
 * extra {"offset_time": "2024-05-01T00:00:00+00:00"}) replays from a time.
 *
 * Stopping: edxbus_consumer_stop(), from any thread or a signal handler, wakes a worker that
 * waits for messages at once (every built-in backend has the wake slot of backend.h); the older
 * stop flag of struct edxbus_consumer_config still works, noticed within 500 ms.
 *
 * Thread rule: one thread runs a consumer (run(), poll_once(), stats, destroy);
 * edxbus_consumer_stop() may be called from any thread and from signal handlers.
 */
#ifndef EDXBUS_CONSUMER_H
#define EDXBUS_CONSUMER_H

#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "edxbus/bus.h"
#include "edxbus/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct edxbus_consumer edxbus_consumer_t; /* opaque */

/** How a consumer joins and when it stops. Strings and @p extra borrowed during
 *  edxbus_consumer_new() only; @p stop for the consumer's life. */
struct edxbus_consumer_config {
    const char *topic;         /* as in the settings: EVENT_BUS_TOPIC_PREFIX is added */
    const char *group;         /* consumer group (required) */
    const char *consumer_name; /* member name; NULL: "<host>-<pid>" */
    const json_t *extra;       /* `--extra`: "start", "check_backlog", "offset_time",
                                  "last_read_msg_id", and backend options; may be NULL */
    int64_t start_time_ms;     /* >= 0: replay from this time (ms since epoch); -1: unused */
    uint64_t max_events;       /* edxbus_consumer_run() returns after this many; 0: no limit */
    const volatile sig_atomic_t *stop; /* non-zero: finish the current event, ack it, return
                                          EDXBUS_OK; may be NULL. Read between messages and
                                          polls, so polls are cut into 500 ms slices while it
                                          is given; edxbus_consumer_stop() needs no flag and
                                          wakes the worker at once */
};

/** What a consumer has done so far. */
struct edxbus_consumer_stats {
    uint64_t events;        /* messages handled and acknowledged */
    uint64_t delivered;     /* of which every receiver succeeded */
    uint64_t retries;       /* extra attempts made */
    uint64_t dead_lettered; /* sent to the dead-letter topic */
    uint64_t logged;        /* failed and only logged (dead letters disabled) */
    uint64_t poll_errors;   /* failed polls */
    bool disabled;          /* the kill switch was off: nothing was consumed */
    uint64_t duplicates;    /* acknowledged without running receivers: the group had already
                               handled that event id (EVENT_BUS_CONSUMER_DEDUP) */
};

/** Join @p cfg->group on @p cfg->topic through the backend named by EVENT_BUS_CONSUMER.
 *  Ownership: borrows @p bus, which must outlive the consumer. Returns new; free with
 *  edxbus_consumer_destroy().
 *  Errors: NULL with one line in @p errstr (bad setting, bad extra, broker unreachable). When
 *  the kill switch is off, a consumer is still returned and run() returns at once.
 *  = edxbus_consumer_open() without the error class. */
EDXBUS_API edxbus_consumer_t *edxbus_consumer_new(edxbus_bus_t *bus,
                                                  const struct edxbus_consumer_config *cfg,
                                                  char *errstr, size_t errstr_size);

/** edxbus_consumer_new() returning why it failed, for a supervisor's exit code.
 *  *@p out returns new (NULL on failure).
 *  Errors: EDXBUS_ERR_INVALID_ARG (no topic or group, a bad extra), EDXBUS_ERR_CONF (no usable
 *  backend), EDXBUS_ERR_UNSUPPORTED (the backend cannot consume), EDXBUS_ERR_NOMEM, and the
 *  backend's own: EDXBUS_ERR_AUTH (credentials refused), EDXBUS_ERR_NOT_FOUND (no such
 *  topic), EDXBUS_ERR_IO / _BROKER / _TIMEOUT (unreachable: retriable). */
EDXBUS_API edxbus_err_t edxbus_consumer_open(edxbus_bus_t *bus,
                                             const struct edxbus_consumer_config *cfg,
                                             edxbus_consumer_t **out, char *errstr,
                                             size_t errstr_size);

/** The worker loop: until edxbus_consumer_stop(), the stop flag, max_events or a fatal error.
 *  Returns: EDXBUS_OK (stopped, max_events reached, or disabled by the kill switch);
 *           EDXBUS_ERR_ERRORS_LIMIT when the consecutive-errors limit was reached; a backend
 *           error that cannot be retried (EDXBUS_ERR_AUTH, _NOT_FOUND, _FATAL...). @p errstr
 *           says why. */
EDXBUS_API edxbus_err_t edxbus_consumer_run(edxbus_consumer_t *cons, char *errstr,
                                            size_t errstr_size);

/** Ask @p cons to stop: a run() going on another thread finishes the event in hand (its
 *  receivers, then its ack; an event waiting between retries is left unacknowledged, so it is
 *  delivered again), and returns EDXBUS_OK; a poll
 *  waiting for messages returns at once, on every built-in backend (a plugin without the wake
 *  slot notices within 500 ms). Final: later run() and poll_once() calls return EDXBUS_OK at
 *  once. Callable from any thread and from a signal handler (async-signal-safe: an atomic
 *  store and write() calls, errno kept), any number of times, from edxbus_consumer_new()'s
 *  return until edxbus_consumer_destroy() begins — a handler must not see a consumer being
 *  destroyed (clear the pointer it reads first). NULL is a no-op. */
EDXBUS_API void edxbus_consumer_stop(edxbus_consumer_t *cons);

/** One turn of the loop: poll once (up to @p timeout_ms) and handle the batch. *@p handled
 *  (may be NULL) gets the number of messages acknowledged. Errors as edxbus_consumer_run(). */
EDXBUS_API edxbus_err_t edxbus_consumer_poll_once(edxbus_consumer_t *cons, int timeout_ms,
                                                  size_t *handled, char *errstr,
                                                  size_t errstr_size);

/** Called by the worker once per polled batch, after the receivers ran on its messages and
 *  before any of them is acknowledged. A receiver that buffers its effects (the command's
 *  --print buffers its output) makes them durable here, so that every acknowledged message has
 *  had its effect. Returning anything but EDXBUS_OK leaves the whole batch unacknowledged (it
 *  is delivered again), logs @p errstr and counts as one error of the loop. */
typedef edxbus_err_t (*edxbus_before_ack_fn)(void *opaque, char *errstr, size_t errstr_size);

/** Set (or with NULL, clear) the before-ack call of @p cons; @p opaque is passed to it. */
EDXBUS_API void edxbus_consumer_set_before_ack(edxbus_consumer_t *cons, edxbus_before_ack_fn fn,
                                               void *opaque);

/** The counters. Borrowed from @p cons. */
EDXBUS_API const struct edxbus_consumer_stats *edxbus_consumer_stats(const edxbus_consumer_t *cons);

/** The full topic consumed. Borrowed from @p cons. */
EDXBUS_API const char *edxbus_consumer_topic(const edxbus_consumer_t *cons);

/** Leave (unacknowledged messages stay owed to the group) and free. NULL is a no-op. */
EDXBUS_API void edxbus_consumer_destroy(edxbus_consumer_t *cons);

/* ---------------------------------------------------------------------------------------------
 * Dead letters
 * ------------------------------------------------------------------------------------------- */

/** The group edxbus_dlq_replay() acknowledges dead letters in. */
#define EDXBUS_DLQ_REPLAY_GROUP "edxbus-dlq-replay"

/** The dead-letter topic of a full topic: "<full topic>-dlq". Returns new (free()); NULL when
 *  out of memory. */
EDXBUS_API char *edxbus_dlq_topic(const char *full_topic);

/** Called once per dead letter by edxbus_dlq_list(); @p msg is borrowed for the call and its
 *  headers hold error, group, attempts, original_position, original_topic. Return false to
 *  stop. */
typedef bool (*edxbus_dlq_fn)(void *opaque, const struct edxbus_msg *msg);

/** Read every dead letter of @p topic (as in the settings: the prefix is added, then "-dlq")
 *  without acknowledging anything, oldest first.
 *  Errors: the backend's, with one line in @p errstr. */
EDXBUS_API edxbus_err_t edxbus_dlq_list(const edxbus_conf_t *conf, const char *topic,
                                        edxbus_dlq_fn fn, void *opaque, char *errstr,
                                        size_t errstr_size);

/** Produce every dead letter of @p topic not yet replayed back to its original topic (value,
 *  key and metadata unchanged) and acknowledge it in group EDXBUS_DLQ_REPLAY_GROUP, so a
 *  second replay sends nothing twice. *@p replayed (may be NULL) gets the count sent.
 *  = edxbus_dlq_replay_ex() with no options. */
EDXBUS_API edxbus_err_t edxbus_dlq_replay(const edxbus_conf_t *conf, const char *topic,
                                          uint64_t *replayed, char *errstr, size_t errstr_size);

/** Which dead letters edxbus_dlq_replay_ex() sends back. Strings borrowed for the call. */
struct edxbus_dlq_replay_opts {
    const char *position; /* only the one at this position (as edxbus dlq list prints it),
                             replayed before or not; NULL: every one not replayed yet */
    const char *group;    /* only those the group made (their "group" header); NULL: all */
};

/** What a replay did: dead letters read, sent back, and skipped (not selected; left
 *  unacknowledged, so a later replay still sees them). */
struct edxbus_dlq_counts {
    uint64_t read, sent, skipped;
};

/** Replay the dead letters of @p topic that @p opts (NULL: all) selects. The dead-letter topic
 *  is read without joining a group, up to what it held when the replay began.
 *  @p counts (may be NULL) is filled on success and on failure.
 *  Errors: the backend's; EDXBUS_ERR_TIMEOUT when nothing could be read for 30 s before the
 *  end; EDXBUS_ERR_NOT_FOUND when no dead letter is at opts->position. */
EDXBUS_API edxbus_err_t edxbus_dlq_replay_ex(const edxbus_conf_t *conf, const char *topic,
                                             const struct edxbus_dlq_replay_opts *opts,
                                             struct edxbus_dlq_counts *counts, char *errstr,
                                             size_t errstr_size);

/** The value of header @p name of @p msg as a new NUL-terminated string (free()), or NULL. */
EDXBUS_API char *edxbus_msg_header(const struct edxbus_msg *msg, const char *name);

#ifdef __cplusplus
}
#endif
#endif /* EDXBUS_CONSUMER_H */
