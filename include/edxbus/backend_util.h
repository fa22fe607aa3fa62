/* include/edxbus/backend_util.h — the toolkit every backend uses, built in or plugin.
 *
 * What brokers have in common and would otherwise each write again:
 *   - settings: checking the URLs and host lists of their settings and reporting problems the
 *     way `edxbus config check` shows them; parsing connection URLs and masking every secret in
 *     them (the settings layer masks with the same function, so a URL shows alike everywhere);
 *   - clocks: monotonic and wall milliseconds, a sleep;
 *   - opening a consumer: what `start` says, typed `--extra` options, a member's default name;
 *   - producing asynchronously: a message copied into one block that outlives produce() for its
 *     delivery report, and a FIFO of such copies (in produce order, as reports are due);
 *   - polling: the per-message storage a batch borrows from (metadata, headers, the "unusable"
 *     text), grown once and reused;
 *   - the CloudEvents wire of the metadata (`ce_*` headers, their text forms, the reference's
 *     rules for reading them back), shared by Kafka and any header-carrying broker;
 *   - lag rows as backend.h's lag() returns them;
 *   - waking a consumer's poll from a stop request (the wake slot).
 * The sources live in src/backends/common/; everything here is part of libedxbus's API, so a
 * plugin gets the same helpers as the built-in backends.
 *
 * Thread rule: every function touches only its arguments.
 */
#ifndef EDXBUS_BACKEND_UTIL_H
#define EDXBUS_BACKEND_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "edxbus/backend.h"
#include "edxbus/buf.h"
#include "edxbus/conf.h"
#include "edxbus/doctor.h"
#include "edxbus/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Whether @p url is scheme://[user[:password]@]host[:port][/path][?query] with a scheme of
 *  @p schemes (NULL-terminated, e.g. {"redis", "rediss", NULL}); "unix" needs a socket path
 *  instead of a host. On false, *@p why (static text) says what is wrong ("has no host"). */
EDXBUS_API bool edxbus_url_is_valid(const char *url, const char *const *schemes, const char **why);

/** Whether @p list is host:port[,host:port...] with ports 1..65535. */
EDXBUS_API bool edxbus_hostports_is_valid(const char *list);

/** Report one problem through @p problem, printf-style (one line; at most 512 bytes). */
EDXBUS_API void edxbus_problemf(edxbus_problem_fn problem, void *opaque, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/** The usual URL check of a config check: when setting @p name is set and is not a valid URL
 *  of @p schemes, report `NAME: "shown value" why; expected EXPECTED` (password masked). */
EDXBUS_API void edxbus_check_url_setting(const edxbus_conf_t *conf, const char *name,
                                         const char *const *schemes, const char *expected,
                                         edxbus_problem_fn problem, void *opaque);

/* --- doctor (doctor.h) --------------------------------------------------------------------- */

/** Report one finding through @p report, the text printf-style (one line; at most 512 bytes).
 *  @p subject, @p fix may be NULL; @p details (may be NULL) is taken (json_decref'd after the
 *  call). */
EDXBUS_API void edxbus_findingf(edxbus_finding_fn report, void *opaque, edxbus_severity_t severity,
                                const char *check, const char *subject, const char *fix,
                                json_t *details, const char *fmt, ...)
    __attribute__((format(printf, 8, 9)));

/** The finding every broker makes from two samples of a group's backlog (events stored and not
 *  acknowledged) taken @p interval_ms apart: "lag.growing" (warning) when @p after is above
 *  @p before, else "lag.steady" (info). @p topic is the full topic. */
EDXBUS_API void edxbus_doctor_lag_trend(edxbus_finding_fn report, void *opaque, const char *topic,
                                        const char *group, int64_t before, int64_t after,
                                        int64_t interval_ms);

/** The finding every broker makes for a dead-letter topic (@p dlq_topic, full) holding
 *  @p count events: "dead-letters.waiting" (warning) when @p count > 0; nothing otherwise. */
EDXBUS_API void edxbus_doctor_dead_letters(edxbus_finding_fn report, void *opaque,
                                           const char *dlq_topic, int64_t count);

/** Whether @p topic (full) is a dead-letter topic: it ends with "-dlq". */
EDXBUS_API bool edxbus_topic_is_dlq(const char *topic);

/* --- URLs ---------------------------------------------------------------------------------- */

/** One query parameter of a URL, percent-decoded. */
struct edxbus_url_param {
    char *name;
    char *value; /* "" for a bare name */
};

/** A parsed URL: scheme://[user[:password]@]host[:port][/path][?name=value&…]. Every string is
 *  owned (edxbus_url_fini()), percent-decoded; absent parts are NULL (port 0). */
struct edxbus_url {
    char *scheme;   /* lower case: "redis", "nats", "unix" */
    char *user;     /* NULL when absent */
    char *password; /* NULL when absent (an empty "user:@" gives "") */
    char *host;     /* without the brackets of an IPv6 address; NULL for scheme:///path */
    int port;       /* 0 when absent */
    char *path;     /* from the '/' after the authority on, or NULL: "/0", "/run/redis.sock" */
    struct edxbus_url_param *params;
    size_t nparams;
    char *display;  /* the text with secrets masked (edxbus_url_masked()), for messages */
};

/** Parse @p text into @p url (caller's storage). Errors: EDXBUS_ERR_CONF with the reason alone
 *  in @p errstr ("has a bad port (1..65535)"; the caller names the setting and shows the masked
 *  URL), EDXBUS_ERR_NOMEM. On error @p url holds nothing. */
EDXBUS_API edxbus_err_t edxbus_url_parse(const char *text, struct edxbus_url *url, char *errstr,
                                         size_t errstr_size);

/** Free what @p url owns (secrets wiped first) and zero it. */
EDXBUS_API void edxbus_url_fini(struct edxbus_url *url);

/** The value of query parameter @p name (the last when repeated), or NULL. Borrowed. */
EDXBUS_API const char *edxbus_url_param(const struct edxbus_url *url, const char *name);

/** @p text with every secret masked as ******** — the user-info's password, a user-info that
 *  is a user alone (nats://TOKEN@host: a token), and the values of query parameters named like
 *  secrets (edxbus_is_secret_name()) — and control bytes escaped as \xNN. Works on any text (without a scheme, the part before '@' is the user-info). Returns
 *  new (free()); NULL when out of memory. */
EDXBUS_API char *edxbus_url_masked(const char *text);

/** Overwrite the string @p s with zeros, then free() it (a secret does not outlive its use in
 *  freed heap memory). NULL is a no-op. */
EDXBUS_API void edxbus_secret_free(char *s);

/** Whether a setting, parameter or key named @p name holds a secret: its name contains
 *  password, secret, token, credential or nkey (any case). */
EDXBUS_API bool edxbus_is_secret_name(const char *name);

/* --- clocks -------------------------------------------------------------------------------- */

/** Milliseconds of a monotonic clock (for deadlines and intervals; not a date). */
EDXBUS_API int64_t edxbus_clock_mono_ms(void);

/** Milliseconds since the Unix epoch (wall clock: stored times, replay by time). */
EDXBUS_API int64_t edxbus_clock_wall_ms(void);

/** Sleep @p ms milliseconds (nothing when <= 0), resuming after signals: only for short waits
 *  inside a call (a backend never sleeps to pace retries; the worker's policy does that). */
EDXBUS_API void edxbus_clock_sleep_ms(int64_t ms);

/* --- opening a consumer -------------------------------------------------------------------- */

/** What a consumer's `start` (struct edxbus_consumer_opts) says. */
enum edxbus_start {
    EDXBUS_START_LATEST,   /* NULL, "latest" or "end": after the newest message */
    EDXBUS_START_EARLIEST, /* "earliest" or "beginning": the oldest message stored */
    EDXBUS_START_POSITION, /* anything else: a position in the backend's text form, which the
                              backend parses (and refuses when it is not one) */
};

/** Classify @p start (may be NULL). */
EDXBUS_API enum edxbus_start edxbus_start_kind(const char *start);

/** Read `--extra` option @p name of @p extra (may be NULL) as a string. Absent or null leaves
 *  *@p out unchanged; a string is borrowed from @p extra. Errors: EDXBUS_ERR_INVALID_ARG with
 *  `<backend>: --extra option "name" must be a string, e.g. "c1"` in @p errstr. */
EDXBUS_API edxbus_err_t edxbus_extra_get_str(const json_t *extra, const char *backend,
                                             const char *name, const char **out, char *errstr,
                                             size_t errstr_size);

/** As edxbus_extra_get_str() for true/false. */
EDXBUS_API edxbus_err_t edxbus_extra_get_bool(const json_t *extra, const char *backend,
                                              const char *name, bool *out, char *errstr,
                                              size_t errstr_size);

/** As edxbus_extra_get_str() for a number of milliseconds, an integer >= 0. */
EDXBUS_API edxbus_err_t edxbus_extra_get_ms(const json_t *extra, const char *backend,
                                            const char *name, int64_t *out, char *errstr,
                                            size_t errstr_size);

/** The default member name of a consumer, "<host name>-<pid>", into @p out. */
EDXBUS_API void edxbus_member_name_default(char *out, size_t out_size);

/* --- producing asynchronously -------------------------------------------------------------- */

/** A message given to an asynchronous produce(), copied so that it outlives the call: topic,
 *  key, value, metadata and extra headers, in one allocation (schemas are not kept: the
 *  delivery report does not need them). A backend that keeps more per message "subclasses" it:
 *  its own struct starts with a struct edxbus_msg_copy, and edxbus_msg_copy_new() is given
 *  the size of that struct. */
struct edxbus_msg_copy {
    struct edxbus_msg msg;     /* the copy; its pointers point into this block */
    struct edxbus_metadata md; /* what msg.metadata points at (NULL when it had none) */
    edxbus_delivery_fn cb;     /* the report's callback and its opaque, as produce() got them */
    void *cb_opaque;
    int64_t queued_ms; /* edxbus_clock_mono_ms() when copied */
};

/** Copy @p msg (borrowed for the call) with its callback. @p size is the size of the caller's
 *  struct that starts with a struct edxbus_msg_copy (sizeof(struct edxbus_msg_copy) when there
 *  is nothing more); the bytes past the copy's own fields are zeroed.
 *  Returns new (one block: free() it), or NULL when out of memory. */
EDXBUS_API void *edxbus_msg_copy_new(const struct edxbus_msg *msg, size_t size,
                                     edxbus_delivery_fn cb, void *cb_opaque);

/** Report @p copy's outcome to its callback: @p errstr when @p err is not EDXBUS_OK, else
 *  @p position (either may be NULL). The copy stays yours. */
EDXBUS_API void edxbus_msg_copy_report(const struct edxbus_msg_copy *copy, edxbus_err_t err,
                                       const char *errstr, const char *position);

/** A FIFO of pointers (a ring that doubles when full): messages in flight, oldest first. The
 *  caller's storage; it owns the array, not the items. */
struct edxbus_fifo {
    void **items;
    size_t cap, head, len; /* len items from items[head], wrapping at cap */
};

#define EDXBUS_FIFO_INIT {NULL, 0, 0, 0}

/** Append @p item. Errors: EDXBUS_ERR_NOMEM (the FIFO is unchanged). */
EDXBUS_API edxbus_err_t edxbus_fifo_push(struct edxbus_fifo *fifo, void *item);

/** The @p i-th item from the oldest (i < len). */
static inline void *edxbus_fifo_at(const struct edxbus_fifo *fifo, size_t i)
{
    return fifo->items[(fifo->head + i) % fifo->cap];
}

/** Remove and return the oldest item, or NULL when empty. */
EDXBUS_API void *edxbus_fifo_pop(struct edxbus_fifo *fifo);

/** Free the array (the items are the caller's) and leave the FIFO empty. */
EDXBUS_API void edxbus_fifo_fini(struct edxbus_fifo *fifo);

/* --- polling: the storage of a batch ------------------------------------------------------- */

/** What one polled message borrows from besides the broker's own buffers. */
struct edxbus_slot {
    struct edxbus_metadata md;      /* msg->metadata */
    struct edxbus_header *headers;  /* msg->headers (edxbus_slot_add_header) */
    size_t headers_cap;             /* allocated */
    struct edxbus_buf data;         /* bytes the backend copies for the message (may be unused) */
    int64_t tag;                    /* the backend's own (a row id…) */
    char why[2 * EDXBUS_ERRSTR_SIZE]; /* msg->unusable's text (edxbus_slot_unusable) */
};

/** A batch's messages and their slots, msgs[i] borrowing from slots[i]; grown on demand and
 *  reused across polls. Caller's storage, zero-initialised (EDXBUS_SLOTS_INIT). */
struct edxbus_slots {
    struct edxbus_msg *msgs;
    struct edxbus_slot *slots;
    size_t cap; /* both arrays hold cap entries */
};

#define EDXBUS_SLOTS_INIT {NULL, NULL, 0}

/** Make room for @p n messages (new slots are zeroed; old ones keep their memory).
 *  Errors: EDXBUS_ERR_NOMEM (what was there stays valid). */
EDXBUS_API edxbus_err_t edxbus_slots_reserve(struct edxbus_slots *slots, size_t n);

/** Free both arrays and everything the slots hold. */
EDXBUS_API void edxbus_slots_fini(struct edxbus_slots *slots);

/** Append a header to @p msg, stored in @p slot: @p name and @p value are borrowed (for as long
 *  as the message is; a NULL value becomes ""). Sets msg->headers and msg->nheaders.
 *  Errors: EDXBUS_ERR_NOMEM. */
EDXBUS_API edxbus_err_t edxbus_slot_add_header(struct edxbus_slot *slot, struct edxbus_msg *msg,
                                               const char *name, const void *value, size_t len);

/** Mark @p msg unusable: the printf-style text goes to slot->why, msg->unusable points at it. */
EDXBUS_API void edxbus_slot_unusable(struct edxbus_slot *slot, struct edxbus_msg *msg,
                                     const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* --- the CloudEvents headers of the metadata ----------------------------------------------- */

/** Headers a record carries for its metadata, as edx-event-bus-kafka writes them: three fixed
 *  ones (ce_specversion=1.0, content-type and ce_datacontenttype = application/avro), then
 *  ce_type, ce_id, ce_source, ce_time, ce_minorversion, sourcehost, sourcelib with the
 *  metadata's canonical text forms (edxbus_metadata_field_text()), in that order. */
#define EDXBUS_CE_HEADERS 10

/** A writer of those headers. It remembers the text forms of the last numbers it wrote (a
 *  producer sends the same minorversion and sourcelib on nearly every record and many records
 *  in one second), so that writing them costs no formatting; a miss formats them canonically,
 *  so the bytes never differ. Caller's storage: zero it before first use
 *  (EDXBUS_CE_WRITER_INIT), edxbus_ce_writer_fini() after the last. */
struct edxbus_ce_writer {
    struct edxbus_header headers[EDXBUS_CE_HEADERS]; /* the last edxbus_ce_write()'s */
    char time_text[EDXBUS_METADATA_TIME_TEXT_MAX];   /* the value ce_time points at */
    /* the cache */
    struct edxbus_buf scratch;
    bool has_second, has_minor, has_lib;
    int64_t second; /* floor(time_us / 1e6) whose text is in second_text */
    char second_text[EDXBUS_METADATA_TIME_TEXT_MAX];
    size_t second_len;
    int64_t minor;
    char minor_text[24];
    size_t minor_len;
    int64_t lib[EDXBUS_SOURCELIB_MAX];
    size_t nlib;
    char lib_text[EDXBUS_SOURCELIB_MAX * 21];
    size_t lib_len;
};

#define EDXBUS_CE_WRITER_INIT {0}

/** Fill w->headers for @p md (borrowed: the text headers point into it, the others into @p w;
 *  all valid until the next call or @p md changes). Errors: EDXBUS_ERR_INVALID_ARG with
 *  `metadata field time: ...` in @p errstr when a field has no text form (a time out of
 *  range). */
EDXBUS_API edxbus_err_t edxbus_ce_write(struct edxbus_ce_writer *w,
                                        const struct edxbus_metadata *md, char *errstr,
                                        size_t errstr_size);

/** Free what @p w holds. */
EDXBUS_API void edxbus_ce_writer_fini(struct edxbus_ce_writer *w);

/** A reader of those headers: give it each header of a record (edxbus_ce_read_header()), then
 *  make the metadata (edxbus_ce_read_finish()). Caller's storage (EDXBUS_CE_READER_INIT); it
 *  borrows the values it is given until finish. */
struct edxbus_ce_reader {
    const void *vals[7]; /* ce_type … sourcelib: the first value seen of each */
    size_t lens[7];
    int counts[7];       /* how many times each appeared */
};

#define EDXBUS_CE_READER_INIT {{NULL}, {0}, {0}}

/** Note header @p name = @p value (@p len bytes; NULL for a null value). Returns true when it
 *  is one of the ten (the caller drops it), false for any other header (the caller keeps it
 *  as an extra header of the message). */
EDXBUS_API bool edxbus_ce_read_header(struct edxbus_ce_reader *r, const char *name,
                                      const void *value, size_t len);

/** Make @p md from the headers noted, by the reference's rules: ce_type exactly once, ce_id at
 *  least once, no metadata header more than once; a missing one takes EventsMetadata's default
 *  (made here, for @p service_name, which may be NULL); values are checked as EventsMetadata
 *  checks them. Returns true when usable; false with the reason in @p why ("no ce_id header",
 *  "header ce_time: ...") otherwise. */
EDXBUS_API bool edxbus_ce_read_finish(struct edxbus_ce_reader *r, struct edxbus_metadata *md,
                                      const char *service_name, char *why, size_t why_size);

/* --- lag ----------------------------------------------------------------------------------- */

/** One row of lag() (backend.h): {"group", "consumer", "partition", "pending", "undelivered",
 *  "idle_ms"}; a NULL string or a negative number is JSON null. Returns new (json_decref), or
 *  NULL when out of memory. */
EDXBUS_API json_t *edxbus_lag_row(const char *group, const char *consumer, int64_t partition,
                                  int64_t pending, int64_t undelivered, int64_t idle_ms);

/* --- waking a poll (the wake slot of struct edxbus_backend_ops) ---------------------------- */

/** A consumer's wake-up: what a backend's wake() sets and its poll() waits on beside its
 *  broker (an eventfd and a lock-free flag). Once woken it stays woken: a stop is final. */
typedef struct edxbus_waker edxbus_waker_t;

/** What edxbus_waker_wait() saw. */
enum edxbus_wait {
    EDXBUS_WAIT_READY,   /* the descriptor is readable (or failed: the read says why) */
    EDXBUS_WAIT_TIMEOUT, /* the time passed */
    EDXBUS_WAIT_WOKEN,   /* edxbus_waker_wake() was called: return from poll() now */
};

/** A new waker (open it in consumer_open()). Returns new; NULL with one line in @p errstr. */
EDXBUS_API edxbus_waker_t *edxbus_waker_new(char *errstr, size_t errstr_size);

/** Wake @p w: every edxbus_waker_wait() on it, in progress or later, returns
 *  EDXBUS_WAIT_WOKEN. Async-signal-safe (one atomic store and one write()), callable from any
 *  thread; errno is left as it was. NULL is a no-op. */
EDXBUS_API void edxbus_waker_wake(edxbus_waker_t *w);

/** Whether @p w was woken (NULL: false). Any thread. */
EDXBUS_API bool edxbus_waker_woken(const edxbus_waker_t *w);

/** Wait until @p fd (a socket; -1: none) is readable, @p w (may be NULL) is woken, or
 *  @p timeout_ms passes (< 0: no limit). Signals do not end the wait early. */
EDXBUS_API enum edxbus_wait edxbus_waker_wait(const edxbus_waker_t *w, int fd, int timeout_ms);

/** The descriptor that becomes readable once @p w is woken, for a backend that waits in its own
 *  poll() or event loop; -1 for NULL. Borrowed: never read it or close it. */
EDXBUS_API int edxbus_waker_fd(const edxbus_waker_t *w);

/** Free @p w (in consumer_close(), once no thread can wake it). NULL is a no-op. */
EDXBUS_API void edxbus_waker_free(edxbus_waker_t *w);

#ifdef __cplusplus
}
#endif
#endif /* EDXBUS_BACKEND_UTIL_H */
