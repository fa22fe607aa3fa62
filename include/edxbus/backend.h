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
 * Thread rule: a backend handle is used by one thread at a time, except wake(), which any
 * thread or signal handler may call while another thread polls.
 * ABI: abi_version comes first; new slots are only ever appended, and the core checks
 * abi_version before touching a slot. A change that moves what a table or a message holds
 * raises EDXBUS_BACKEND_ABI_OLDEST: a table older than that is refused (rebuild it).
 * Slots marked optional may be NULL (the core reports EDXBUS_ERR_UNSUPPORTED).
 */
#ifndef EDXBUS_BACKEND_H
#define EDXBUS_BACKEND_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "edxbus/conf.h"
#include "edxbus/doctor.h"
#include "edxbus/error.h"
#include "edxbus/metadata.h"

#ifdef __cplusplus
extern "C" {
#endif

#define EDXBUS_BACKEND_ABI 6 /* 2: the module slots (settings, extra_options, check, admin);
                                3: caught_up, struct edxbus_consumer_opts.no_join;
                                4: doctor;
                                5: wake;
                                6: struct edxbus_msg.replay_of; the reserved seek and
                                   seek_time slots are gone (a replay is
                                   opts->start_time_ms, a start position opts->start, both
                                   at consumer_open()). Both move what older tables and
                                   messages hold, so tables older than 6 are refused:
                                   rebuild the plugin */
#define EDXBUS_BACKEND_ABI_OLDEST 6 /* the oldest table this edxbus loads */
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
                                             NULL. The worker dead-letters or acks it. */    /* Set by the caller of produce(); ignored by poll() (ABI 6). */
    const char *replay_of;                /* a dead-letter replay: the dead letter this message
                                             copies, "<dead-letter topic>@<position>"; NULL for
                                             any other message. The event id is unchanged, so a
                                             broker that drops a repeated event id (NATS: the
                                             stream's duplicate window) must store such a copy
                                             under a message id of its own. */
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
    bool no_join;               /* a group's only reader (dlq replay): read every partition by
                                   assignment instead of joining (no rebalance wait); acks still
                                   record the group's position. Ignored where joining costs
                                   nothing (SQLite, Redis). */
};

/** The type of a setting's value (what edxbus_conf_set() converts text to and checks). */
enum edxbus_setting_type {
    EDXBUS_SETTING_STR,      /* a string */
    EDXBUS_SETTING_STR_NULL, /* a string or null */
    EDXBUS_SETTING_INT,      /* an integer */
    EDXBUS_SETTING_INT_NULL, /* an integer or null */
    EDXBUS_SETTING_DOUBLE,   /* a number (integers are stored as reals) */
    EDXBUS_SETTING_BOOL,     /* true or false */
    EDXBUS_SETTING_OBJECT,   /* a JSON object (mapping) */
    EDXBUS_SETTING_LIST,     /* a JSON array (sequence) */
    EDXBUS_SETTING_PATHS,    /* null, a string (':'-separated directories) or a list of strings */
};

/** Which part of a setting's value is secret (masked in every message and dump). */
enum edxbus_setting_secret {
    EDXBUS_SECRET_NONE,
    EDXBUS_SECRET_VALUE, /* the whole value */
    EDXBUS_SECRET_URL,   /* a URL: its password, and query parameters naming a password, token,
                            secret or key */
    EDXBUS_SECRET_KEYS,  /* an object: members whose names contain password/secret/token/key */
};

/** One setting: a row of the settings table. The core's rows and every registered backend's
 *  rows form the table `edxbus config check`, `config list` and the docs are made from. */
struct edxbus_setting {
    const char *name; /* the Django setting name, verbatim: EVENT_BUS_<BACKEND>_... */
    enum edxbus_setting_type type;
    const char *def; /* the default as JSON text ("null" when none) */
    enum edxbus_setting_secret secret;
    double min;          /* numbers: the smallest value allowed */
    const char *example; /* a valid value as JSON text, for error lines ("10000") */
    const char *desc;    /* one line for `edxbus config list` and the docs */
};

/** How a backend's check() reports one problem: one line, `SETTING: what; how to fix`, with
 *  secrets masked (edxbus_conf_show()). @p line is borrowed for the call. */
typedef void (*edxbus_problem_fn)(void *opaque, const char *line);

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
    void (*consumer_close)(void *be);

    /* --- inspection --------------------------------------------------------------------- */
    /** Optional: lag of @p group on @p topic (full topic), without joining the group. *@p out
     *  gets a new JSON array of objects, one per consumer (or partition):
     *  {"group", "consumer", "partition" (or null), "pending" (delivered, not acked),
     *   "undelivered" (stored, not yet delivered to the group), "idle_ms" (or null)}. */
    edxbus_err_t (*lag)(const edxbus_conf_t *conf, const char *topic, const char *group,
                        json_t **out, char *errstr, size_t errstr_size);

    /* --- ABI 2: what the module owns (read only when abi_version >= 2) ------------------ */
    /** Its settings rows, ended by a row whose name is NULL; may be NULL. Borrowed for the life
     *  of the process. Names must not clash with the core's or another backend's. */
    const struct edxbus_setting *settings;
    /** The `--extra` option names its consumer_open() reads, NULL-terminated; may be NULL. The
     *  core refuses any other name (besides its own "start", "offset_time", "check_backlog" and
     *  "last_read_msg_id", which it reads and still passes on) before opening,
     *  with a did-you-mean, so a backend never sees an unknown option. */
    const char *const *extra_options;
    /** Optional: check everything a producer or consumer of this backend would refuse in
     *  @p conf (URLs, ranges, and — when @p selected_by is not NULL, the setting that selects
     *  this backend — the settings it cannot do without), reporting every problem through
     *  @p problem (never only the first). Its values that are set are checked even when the
     *  backend is not selected. The types of its rows are checked by the core already. */
    void (*check)(const edxbus_conf_t *conf, const char *selected_by, edxbus_problem_fn problem,
                  void *opaque);
    /** Optional administration commands (e.g. Kafka's "schema-register", "schema-check"),
     *  NULL-terminated; NULL when none. */
    const char *const *admin_commands;
    /** Optional: run admin command @p command (one of admin_commands) with arguments @p args
     *  (a JSON object, borrowed); *@p out gets a new JSON object (the result). A session
     *  (@p adm) from admin_open() carries connections across calls. */
    edxbus_err_t (*admin_open)(const edxbus_conf_t *conf, void **adm, char *errstr,
                               size_t errstr_size);
    edxbus_err_t (*admin_run)(void *adm, const char *command, const json_t *args, json_t **out,
                              char *errstr, size_t errstr_size);
    void (*admin_close)(void *adm);

    /* --- ABI 3 (read only when abi_version >= 3) ----------------------------------------- */
    /** Optional: whether this consumer has been handed every message its topic held when it
     *  was opened (*@p done), so that a reader can stop at the end instead of guessing from an
     *  empty poll (a Kafka fetch can take longer than a poll). Defined for a tail and a
     *  no_join reader; EDXBUS_ERR_UNSUPPORTED for a member of a joined group. */
    edxbus_err_t (*caught_up)(void *be, bool *done, char *errstr, size_t errstr_size);

    /* --- ABI 4 (read only when abi_version >= 4) ----------------------------------------- */
    /** Optional: check the live broker @p conf points at (`edxbus doctor`, doctor.h) and report
     *  every finding through @p report: the broker's own settings that can lose events
     *  (eviction, persistence, retention, caps), where each consumer group stands (a group
     *  losing or about to lose events, a lag that grew between two samples taken
     *  @p opts->interval_ms apart), dead letters waiting. @p opts->topic, when not NULL, is the
     *  full topic to look at (with its dead-letter topic); @p opts->group the only group.
     *  Report what was found fine as info, so an operator sees what was checked. Returns an
     *  error only when nothing could be checked (the broker unreachable: the core reports it as
     *  an error finding with @p errstr); a failure of one check is itself a finding. The
     *  toolkit (backend_util.h) has edxbus_findingf() and the findings every broker shares
     *  (edxbus_doctor_lag_trend(), edxbus_doctor_dead_letters()). */
    edxbus_err_t (*doctor)(const edxbus_conf_t *conf, const struct edxbus_doctor_opts *opts,
                           edxbus_finding_fn report, void *opaque, char *errstr,
                           size_t errstr_size);

    /* --- ABI 5 (read only when abi_version >= 5) ----------------------------------------- */
    /** Optional, and every backend whose poll() can block should have it: make a poll() in
     *  progress on another thread return at once (EDXBUS_OK, with the messages it already has
     *  or none), and every later poll() too: the consumer is stopping (edxbus_consumer_stop()).
     *  Called from any thread and from signal handlers, at any time between consumer_open()
     *  and consumer_close(), so it must be async-signal-safe: set a lock-free flag, write to a
     *  pipe or eventfd — edxbus_waker_wake() of backend_util.h does both; no locks, no
     *  malloc, no library call that takes a lock. poll() waits on the broker and the waker
     *  together (edxbus_waker_wait(), or edxbus_waker_fd() in its own event loop). A woken
     *  poll() keeps contract 2: what it took and did not return stays owed to the group.
     *  ack() and consumer_close() must still work after a wake (the last acks are flushed).
     *  Without this slot the core polls in slices of at most 500 ms and checks between them. */
    void (*wake)(void *be);
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

/** Which way a backend is used. */
typedef enum edxbus_direction {
    EDXBUS_PRODUCE, /* producers: EVENT_BUS_PRODUCER */
    EDXBUS_CONSUME, /* consumers, tail, lag, dead letters: EVENT_BUS_CONSUMER */
} edxbus_direction_t;

/** The backend @p conf selects for @p dir: the direction's own setting when it is set
 *  (EVENT_BUS_PRODUCER / EVENT_BUS_CONSUMER), else the other direction's when that one is set
 *  (a conf naming one broker means that broker both ways), else the default (sqlite).
 *  *@p setting (may be NULL) gets the name of the setting the choice came from, for messages.
 *  Returns the table (borrowed for the life of the process), or NULL with one line in
 *  @p errstr naming the setting (unknown backend, plugin that does not load). */
EDXBUS_API const struct edxbus_backend_ops *edxbus_backend_for(const edxbus_conf_t *conf,
                                                               edxbus_direction_t dir,
                                                               const char **setting,
                                                               char *errstr,
                                                               size_t errstr_size);

/** The @p i-th registered backend (built-ins first, in the order of their list), or NULL past
 *  the last. Borrowed for the life of the process. */
EDXBUS_API const struct edxbus_backend_ops *edxbus_backend_at(size_t i);

#ifdef __cplusplus
}
#endif
#endif /* EDXBUS_BACKEND_H */
