/* include/edxbus/backend.h — the contract every broker fills in, built in or loaded as a plugin.
 *
 * A backend is one table of function pointers (struct edxbus_backend_ops). The core calls
 * brokers only through it: the embedded SQLite log, Redis Streams, Kafka, and any third-party
 * shared object named in the settings as `/path/libx.so:symbol`, where `symbol` is a function
 * `const struct edxbus_backend_ops *symbol(void)`. Adding a broker means adding a folder under
 * src/backends/ (or building a plugin) and nothing else.
 *
 * Backends see bytes and metadata, never JSON payloads: the core encodes before producing and
 * decodes after polling. The wire mapping of a broker (entry fields, headers, framing) lives
 * inside its backend.
 *
 * Delivery contracts every backend keeps:
 *   1. produce() with no callback returns EDXBUS_OK only when the broker holds the message;
 *      with a callback it may return first, and the callback reports the outcome later, from
 *      inside produce(), flush() or close() on the calling thread. flush() waits for all.
 *   2. A message polled in a group stays owed to the group until ack(); a consumer that dies
 *      before ack() has it delivered again (to itself after a restart, or to another member).
 *   3. An existing group resumes where it left off; a new group starts where opts->start says.
 *
 * Lifecycle (producer):  producer_open -> produce... -> flush -> producer_close
 * Lifecycle (consumer):  consumer_open -> (poll -> ack...)... -> consumer_close
 * Thread rule: a backend handle is used by one thread at a time.
 * ABI: abi_version comes first; new slots are only ever appended, and the core checks
 * abi_version before touching a slot. Slots marked optional may be NULL
 * (the core reports EDXBUS_ERR_UNSUPPORTED).
 */
#ifndef EDXBUS_BACKEND_H
#define EDXBUS_BACKEND_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "edxbus/conf.h"
#include "edxbus/error.h"
#include "edxbus/metadata.h"

#ifdef __cplusplus
extern "C" {
#endif

#define EDXBUS_BACKEND_ABI 1
#define EDXBUS_POSITION_MAX 64 /* bytes, with the NUL, of a position's text form */

/** An extra name/value pair carried with a message (dead-letter details: error, group,
 *  attempts). Redis writes them as extra entry fields after event_data, Kafka as headers. */
struct edxbus_header {
    const char *name;
    const uint8_t *value;
    size_t len;
};

/** One message, produced or consumed. All pointers are borrowed: on produce for the duration of
 *  the call (a backend copies what it keeps); on consume until the next poll() or close(). */
struct edxbus_msg {
    const char *topic;                    /* full topic: "<prefix>-<topic>" or "<topic>" */
    const uint8_t *key;                   /* Avro body of the event key (Kafka's framing is
                                             added by the Kafka backend); may be NULL */
    size_t key_len;
    const uint8_t *value;                 /* Avro body of the event data: no framing */
    size_t value_len;
    const struct edxbus_metadata *metadata;
    const char *key_schema;               /* produce: the key's schema text (Kafka registers it);
                                             NULL when there is no key */
    const char *value_schema;             /* produce: the event's schema text. consume: the
                                             writer's schema when the broker names it (Kafka, by
                                             registry id), else NULL = the catalog's */
    const struct edxbus_header *headers;  /* extra pairs; NULL when nheaders is 0 */
    size_t nheaders;
    /* Filled by poll(); ignored by produce(). */
    char position[EDXBUS_POSITION_MAX];   /* the backend's text form: a stream id
                                             "1700000000000-0", "partition:offset", a row id */
    int64_t broker_time_ms;               /* when the broker stored it (ms since epoch); -1 */
    int64_t deliveries;                   /* times delivered to this group, this one included;
                                             0 when the broker does not count */
    const char *unusable;                 /* why the envelope could not be read (missing
                                             event_data, duplicated header, unknown type…), or
                                             NULL. The worker dead-letters or acks it. */
};

/** What poll() fills: messages borrowed from the backend until the next poll() or close(). */
struct edxbus_batch {
    const struct edxbus_msg *msgs;
    size_t n;
};

/** Delivery report for an asynchronous produce(): @p err is EDXBUS_OK when the broker holds
 *  the message; @p position its position when known (else NULL). Runs on the thread calling
 *  produce()/flush()/close(). @p msg is the message as given to produce() (copied by the
 *  backend; borrowed for the call). */
typedef void (*edxbus_delivery_fn)(void *opaque, const struct edxbus_msg *msg, edxbus_err_t err,
                                   const char *errstr, const char *position);

/** How a consumer joins. Strings borrowed for the duration of consumer_open(). */
struct edxbus_consumer_opts {
    const char *topic;          /* full topic */
    const char *group;          /* consumer group; NULL: tail mode (read, never ack, no group) */
    const char *consumer_name;  /* member name; NULL: "<host>-<pid>" */
    const char *start;          /* where a NEW group (or a tail) begins: "latest" (default, NULL),
                                   "earliest", or a position. An existing group resumes. */
    int64_t start_time_ms;      /* >= 0: move the group (or tail) to the first message stored at
                                   or after this time, then consume on (replay); -1: unused */
    const json_t *extra;        /* backend-specific options (`--extra`); may be NULL */
};

struct edxbus_backend_ops {
    int abi_version;            /* EDXBUS_BACKEND_ABI; always first */
    const char *name;           /* "sqlite", "redis", "kafka": what the settings select */
    const char *const *aliases; /* other accepted names, NULL-terminated (the Python values
                                   "edx_event_bus_redis.create_producer"…); may be NULL */

    /* --- producer --------------------------------------------------------------------- */
    edxbus_err_t (*producer_open)(const edxbus_conf_t *conf, void **be, char *errstr,
                                  size_t errstr_size);
    /** Send one message. @p cb NULL: synchronous (contract 1). Otherwise queue it and report
     *  through @p cb. Returns EDXBUS_ERR_QUEUE_FULL when the queue is full (flush, retry). */
    edxbus_err_t (*produce)(void *be, const struct edxbus_msg *msg, edxbus_delivery_fn cb,
                            void *cb_opaque, char *errstr, size_t errstr_size);
    /** Wait until every queued message has been reported, or @p timeout_ms passes
     *  (EDXBUS_ERR_TIMEOUT). */
    edxbus_err_t (*flush)(void *be, int timeout_ms, char *errstr, size_t errstr_size);
    /** Flush (bounded by the settings), then free. */
    void (*producer_close)(void *be);

    /* --- consumer --------------------------------------------------------------------- */
    edxbus_err_t (*consumer_open)(const edxbus_conf_t *conf,
                                  const struct edxbus_consumer_opts *opts, void **be,
                                  char *errstr, size_t errstr_size);
    /** Wait up to @p timeout_ms for messages and return up to @p max of them in @p out
     *  (n == 0 on timeout). In a group, messages this member took before a restart and never
     *  acknowledged come first. */
    edxbus_err_t (*poll)(void *be, struct edxbus_batch *out, size_t max, int timeout_ms,
                         char *errstr, size_t errstr_size);
    /** Acknowledge (commit) @p msg, a message from the latest batch. A no-op in tail mode. */
    edxbus_err_t (*ack)(void *be, const struct edxbus_msg *msg, char *errstr, size_t errstr_size);
    /** Optional: move this consumer (its group) to @p position ("earliest", "latest" or a
     *  position text). */
    edxbus_err_t (*seek)(void *be, const char *position, char *errstr, size_t errstr_size);
    /** Optional: move to the first message stored at or after @p unix_ms. */
    edxbus_err_t (*seek_time)(void *be, int64_t unix_ms, char *errstr, size_t errstr_size);
    void (*consumer_close)(void *be);

    /* --- inspection --------------------------------------------------------------------- */
    /** Optional: lag of @p group on @p topic (full topic), without joining the group. *@p out
     *  gets a new JSON array of objects, one per consumer (or partition):
     *  {"group", "consumer", "partition" (or null), "pending" (delivered, not acked),
     *   "undelivered" (stored, not yet delivered to the group), "idle_ms" (or null)}. */
    edxbus_err_t (*lag)(const edxbus_conf_t *conf, const char *topic, const char *group,
                        json_t **out, char *errstr, size_t errstr_size);
};

/** The signature of a plugin's entry point, named after the colon in `/path/libx.so:symbol`. */
typedef const struct edxbus_backend_ops *(*edxbus_backend_entry_fn)(void);

/** Make @p ops selectable by its name and aliases (built-ins are registered already).
 *  Borrows @p ops for the life of the process.
 *  Errors: EDXBUS_ERR_INVALID_ARG for an ABI mismatch or a name already taken. */
EDXBUS_API edxbus_err_t edxbus_backend_register(const struct edxbus_backend_ops *ops,
                                                char *errstr, size_t errstr_size);

/** Find a backend by name or alias, or load `/path/libx.so:symbol` (dlopen) and register it.
 *  Returns NULL with e.g. `EVENT_BUS_PRODUCER: unknown backend "redsi"; did you mean redis?`
 *  in @p errstr (@p setting names the setting for the message; may be NULL). */
EDXBUS_API const struct edxbus_backend_ops *edxbus_backend_find(const char *name,
                                                                const char *setting,
                                                                char *errstr,
                                                                size_t errstr_size);

#ifdef __cplusplus
}
#endif
#endif /* EDXBUS_BACKEND_H */
