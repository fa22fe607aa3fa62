/* src/backends/nats/nats_int.h — private to the NATS JetStream backend (src/backends/nats/).
 *
 * The backend is seven files behind the one ops table at the bottom of nats.c:
 *   nats_module.c    its settings rows, config check (backend.h, ABI 2)
 *   nats_conn.c      settings -> libnats options (URL, credentials, TLS), connecting, the
 *                    JetStream context, one stream per topic created on first use, errors
 *   nats_wire.c      one edxbus_msg <-> one NATS message: the Kafka wire's ce_* headers and
 *                    text forms, the Avro body as payload, the Nats-Msg-Id (the event id)
 *   nats_producer.c  synchronous publish, or js_PublishMsgAsync with the acks as delivery
 *                    reports (handed to the caller on its own thread)
 *   nats_consumer.c  groups as durable pull consumers, tails as ordered consumers, replay
 *   nats_nkey.c      the public key of an NKey user seed file (libnats needs it named), the
 *                    check of a credentials file, the NKey text form
 *   nats_doctor.c    `edxbus doctor`: storage, limits that drop unacknowledged events,
 *                    the duplicate window, dead letters waiting, lag growing
 *   nats.c           lag() (num_pending / num_ack_pending) and the ops table
 * Nothing outside this folder includes this header. Thread rule: every struct here belongs to
 * one backend handle, used by one thread at a time (the producer's ack handler, which libnats
 * runs on its own thread, touches only the fields its mutex guards).
 */
#ifndef EDXBUS_NATS_INT_H
#define EDXBUS_NATS_INT_H

#include <nats/nats.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "edxbus/backend.h"
#include "edxbus/buf.h"

/** The ops table (bottom of nats.c); the backend registry lists it among the built-ins. */
extern const struct edxbus_backend_ops edxbus_backend_nats;

/* The settings this backend reads (nats_module.c has the rows). */
#define NATS_SETTING_URL "EVENT_BUS_NATS_URL"
#define NATS_SETTING_TOKEN "EVENT_BUS_NATS_TOKEN"
#define NATS_SETTING_CREDS "EVENT_BUS_NATS_CREDENTIALS_FILE"
#define NATS_SETTING_NKEY "EVENT_BUS_NATS_NKEY_SEED_FILE"
#define NATS_SETTING_TLS_CA "EVENT_BUS_NATS_TLS_CA_FILE"
#define NATS_SETTING_TLS_CERT "EVENT_BUS_NATS_TLS_CERT_FILE"
#define NATS_SETTING_TLS_KEY "EVENT_BUS_NATS_TLS_KEY_FILE"
#define NATS_SETTING_TIMEOUT "EVENT_BUS_NATS_TIMEOUT"
#define NATS_SETTING_DELIVERY_TIMEOUT "EVENT_BUS_NATS_DELIVERY_TIMEOUT"
#define NATS_SETTING_RETENTION "EVENT_BUS_NATS_STREAM_RETENTION"
#define NATS_SETTING_MAX_MSGS "EVENT_BUS_NATS_STREAM_MAX_MSGS"
#define NATS_SETTING_MAX_BYTES "EVENT_BUS_NATS_STREAM_MAX_BYTES"
#define NATS_SETTING_MAX_AGE "EVENT_BUS_NATS_STREAM_MAX_AGE"
#define NATS_SETTING_REPLICAS "EVENT_BUS_NATS_STREAM_REPLICAS"
#define NATS_SETTING_STORAGE "EVENT_BUS_NATS_STREAM_STORAGE"
#define NATS_SETTING_DUPLICATES "EVENT_BUS_NATS_DUPLICATE_WINDOW"
#define NATS_SETTING_ACK_WAIT "EVENT_BUS_NATS_ACK_WAIT"
#define NATS_SETTING_MAX_DELIVER "EVENT_BUS_NATS_MAX_DELIVER"
#define NATS_SETTING_BACKOFF "EVENT_BUS_NATS_BACKOFF"
#define NATS_SETTING_AUDIT "EVENT_BUS_NATS_AUDIT_LOGGING_ENABLED"

#define EDXBUS_NATS_DEFAULT_URL "nats://127.0.0.1:4222"
#define NATS_STREAM_NAME_MAX 256 /* bytes, with the NUL, of a stream or consumer name */
#define NATS_BACKOFF_MAX 16      /* redelivery delays a group may list */

/* ------------------------------------------------------------------------------------------ */
/* Connection (nats_conn.c) */

/** A connection and its JetStream context, with what every handle reads from the settings. */
struct nats_conn {
    edxbus_conf_t *conf;    /* own copy, for the log callback and later settings reads */
    natsConnection *nc;
    jsCtx *js;
    char *display;          /* the server URL with secrets masked, for messages */
    int64_t timeout_ms;     /* EVENT_BUS_NATS_TIMEOUT: connect, API calls, synchronous acks */
    char **streams;         /* streams known to exist (created or seen), for this handle */
    size_t nstreams, streams_cap;
};

/** Read the settings, connect and make a JetStream context with @p jsopts (may be NULL; the
 *  producer passes its ack handler). Errors: EDXBUS_ERR_CONF (bad settings, files that cannot
 *  be read), EDXBUS_ERR_AUTH, EDXBUS_ERR_IO (no server), EDXBUS_ERR_TIMEOUT. */
edxbus_err_t edxbus__nats_conn_open(struct nats_conn *c, const edxbus_conf_t *conf,
                                    jsOptions *jsopts, char *errstr, size_t errstr_size);
void edxbus__nats_conn_close(struct nats_conn *c);

/** The edxbus class of a libnats status. */
edxbus_err_t edxbus__nats_err(natsStatus s);
/** "<what>: <libnats's words>" (with the JetStream error code when there is one), one line. */
edxbus_err_t edxbus__nats_fail(natsStatus s, jsErrCode code, const char *what, char *errstr,
                               size_t errstr_size);

/** The stream that holds @p topic (the subject): the topic with the characters a stream name
 *  may not hold ('.', '*', '>', '/', '\\', white space) replaced by '_'. Errors:
 *  EDXBUS_ERR_INVALID_ARG for a topic that cannot be a subject (empty, wildcards, spaces). */
edxbus_err_t edxbus__nats_stream_name(const char *topic, char *out, size_t size, char *errstr,
                                      size_t errstr_size);

/** The durable consumer of group @p group: its name with the characters a consumer name cannot
 *  hold ('.', '*', '>', '/', '\\', white space) replaced by '_'. */
void edxbus__nats_durable_name(const char *group, char *out, size_t size);

/** Make sure the stream of @p topic exists, creating it with the stream settings (retention,
 *  limits, storage, replicas, duplicate window) when it does not. An existing stream is used
 *  as it is. @p create false: a missing stream is EDXBUS_ERR_NOT_FOUND. */
edxbus_err_t edxbus__nats_stream_ensure(struct nats_conn *c, const char *topic, bool create,
                                        char *errstr, size_t errstr_size);

/* ------------------------------------------------------------------------------------------ */
/* Wire (nats_wire.c) */

/** A NATS message for @p msg: subject = topic, data = the Avro body, headers ce_specversion,
 *  content-type, ce_datacontenttype, ce_type, ce_id, ce_source, ce_time, ce_minorversion,
 *  sourcehost, sourcelib (the Kafka wire's names and text forms), then the extra headers.
 *  A value that a NATS header line cannot carry as it is (empty, control bytes, white space at
 *  either end, or starting with "base64:") is sent as "base64:" + its base64 text.
 *  @p scratch is reused. Returns new (natsMsg_Destroy) or NULL with errstr. */
natsMsg *edxbus__nats_wire_msg(const struct edxbus_msg *msg, struct edxbus_buf *scratch,
                               char *errstr, size_t errstr_size);

/** The Nats-Msg-Id of @p msg, by which the stream's duplicate window
 *  (EVENT_BUS_NATS_DUPLICATE_WINDOW) drops a second copy:
 *    - an event as the bus sends it: its event id, so a resend of the same event is dropped;
 *    - a message with extra headers (a dead letter): "<event id>#<16 hex digits>", FNV-1a of
 *      the headers' names and values, so dead letters of one event from two groups, or from
 *      a second failure after a replay, are each kept, and a resend of one is still dropped;
 *    - a dead-letter replay (msg->replay_of): the above + "/" + replay_of
 *      ("<dead-letter topic>@<position>"), so the replayed copy is stored although the
 *      original event (same id) is in the window, and a resend of that copy is dropped.
 *  ce_id stays the event id in every case. Returns msg->metadata->id or @p out (written). */
const char *edxbus__nats_msg_id(const struct edxbus_msg *msg, char *out, size_t size);

/** Per-message storage for a consumed message (reused across batches). */
struct nats_slot {
    natsMsg *nm; /* owned: what msg points into */
    struct edxbus_metadata md;
    struct edxbus_header *headers;
    size_t headers_cap;
    char *names; /* header names and decoded values, one block */
    size_t names_cap;
    uint64_t stream_seq;
    int64_t time_ns; /* when the server stored it */
    char topic[NATS_STREAM_NAME_MAX];
    char why[2 * EDXBUS_ERRSTR_SIZE]; /* msg->unusable */
};

/** Fill @p msg from @p slot->nm: position (the stream sequence), broker time, deliveries, the
 *  metadata from the ce_* headers by the reference's rules (as the Kafka wire), the extra
 *  headers (decoded). An unreadable message gets msg->unusable. Errors: EDXBUS_ERR_NOMEM. */
edxbus_err_t edxbus__nats_wire_parse(struct nats_slot *slot, const char *service_name,
                                     struct edxbus_msg *msg);
void edxbus__nats_slot_fini(struct nats_slot *slot);

/* ------------------------------------------------------------------------------------------ */
/* Producer and consumer (nats_producer.c, nats_consumer.c): the ops slots. */

edxbus_err_t edxbus__nats_producer_open(const edxbus_conf_t *conf, void **be, char *errstr,
                                        size_t errstr_size);
edxbus_err_t edxbus__nats_produce(void *be, const struct edxbus_msg *msg, edxbus_delivery_fn cb,
                                  void *cb_opaque, char *errstr, size_t errstr_size);
edxbus_err_t edxbus__nats_flush(void *be, int timeout_ms, char *errstr, size_t errstr_size);
void edxbus__nats_producer_close(void *be);

edxbus_err_t edxbus__nats_consumer_open(const edxbus_conf_t *conf,
                                        const struct edxbus_consumer_opts *opts, void **be,
                                        char *errstr, size_t errstr_size);
edxbus_err_t edxbus__nats_poll(void *be, struct edxbus_batch *out, size_t max, int timeout_ms,
                               char *errstr, size_t errstr_size);
edxbus_err_t edxbus__nats_ack(void *be, const struct edxbus_msg *msg, char *errstr,
                              size_t errstr_size);
edxbus_err_t edxbus__nats_caught_up(void *be, bool *done, char *errstr, size_t errstr_size);
void edxbus__nats_wake(void *be);
void edxbus__nats_consumer_close(void *be);

/* ------------------------------------------------------------------------------------------ */
/* NKey (nats_nkey.c) */

#define EDXBUS_NATS_NKEY_SEED_MAX 59   /* bytes of a user seed's text ("SU…", 58) and its NUL */
#define EDXBUS_NATS_NKEY_PUBLIC_MAX 57 /* bytes of a user public key ("U…", 56) and its NUL */

/** The public key ("U…") of the NKey user seed in @p seed_file (the first word of a line that
 *  starts with SU and decodes as one). Errors: EDXBUS_ERR_CONF naming the setting and the file
 *  (never its text). */
edxbus_err_t edxbus__nats_nkey_public(const char *seed_file, char out[EDXBUS_NATS_NKEY_PUBLIC_MAX],
                                      char *errstr, size_t errstr_size);
/** Whether @p creds_file (EVENT_BUS_NATS_CREDENTIALS_FILE) can be read and holds a user JWT
 *  and a valid NKey user seed, checked before libnats reads it at connect time (its own
 *  errors name neither the setting nor what the file should hold). Errors: EDXBUS_ERR_CONF
 *  naming the setting and the file (never its text). */
edxbus_err_t edxbus__nats_creds_check(const char *creds_file, char *errstr, size_t errstr_size);
/** The public key of the user seed text @p seed_text; false when it is not one (length,
 *  alphabet, checksum, prefix). */
bool edxbus__nats_nkey_public_of_seed(const char *seed_text,
                                      char out[EDXBUS_NATS_NKEY_PUBLIC_MAX]);
/** The user seed text of the 32-byte Ed25519 seed @p seed (for tests, and tools). */
void edxbus__nats_nkey_seed_text(const uint8_t seed[32], char out[EDXBUS_NATS_NKEY_SEED_MAX]);
/** The NKey text of the 32-byte Ed25519 @p key of @p type (the prefix byte: 0x70 operator
 *  "O", 0x00 account "A", 0xA0 user "U"): its seed ("S" + type letter, 58 characters) when
 *  @p seed, else its public key (56); @p out has room for EDXBUS_NATS_NKEY_SEED_MAX or
 *  EDXBUS_NATS_NKEY_PUBLIC_MAX bytes. For tests that make operators and accounts, and tools. */
void edxbus__nats_nkey_text(uint8_t type, bool seed, const uint8_t key[32], char *out);
/** Base32 (RFC 4648 alphabet, no padding) of @p n bytes into @p out (room for (8n+4)/5 + 1). */
void edxbus__nats_base32(const uint8_t *in, size_t n, char *out);

/* nats_doctor.c: the doctor slot (backend.h, ABI 4). */
edxbus_err_t edxbus__nats_doctor(const edxbus_conf_t *conf, const struct edxbus_doctor_opts *opts,
                                 edxbus_finding_fn report, void *opaque, char *errstr,
                                 size_t errstr_size);

/* nats_module.c: the module's rows and config check (backend.h, ABI 2). */
extern const struct edxbus_setting edxbus__nats_settings[];
void edxbus__nats_check(const edxbus_conf_t *conf, const char *selected_by,
                        edxbus_problem_fn problem, void *opaque);

#endif /* EDXBUS_NATS_INT_H */
