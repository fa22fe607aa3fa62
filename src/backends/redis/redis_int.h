/* src/backends/redis/redis_int.h — private to the Redis Streams backend (src/backends/redis/).
 *
 * The backend is these files behind the one ops table at the bottom of redis.c:
 *   redis_url.c       EVENT_BUS_REDIS_CONNECTION_URL -> struct redis_url (redis-py's URL forms)
 *   redis_io.c        the transport: our own socket (TCP or unix), TLS over it with OpenSSL
 *                     for rediss://, and hiredis's reply reader fed from it
 *   redis_tls.c       the TLS settings (URL ssl_* parameters and EVENT_BUS_REDIS_TLS_*):
 *                     checked, and turned into an OpenSSL context
 *   redis.c           the connection (connect, AUTH, SELECT, timeouts, reconnect with backoff,
 *                     error classes), lag() and the ops table
 *   redis_wire.c      one stream entry <-> one edxbus_msg (edx-event-bus-redis's field layout)
 *   redis_producer.c  XADD, synchronous or pipelined with delivery callbacks
 *   redis_trim.c      trimming streams without dropping entries a group has not acknowledged
 *   redis_consumer.c  consumer groups (pending first, then new entries), tail mode, ack
 *   redis_consumer_open.c  opening a consumer: settings, joining a group or tail mode, close
 *   redis_doctor.c    `edxbus doctor`: eviction, persistence, Celery's keys, caps, groups
 * Nothing outside this folder includes this header. Thread rule: every struct here belongs to
 * one backend handle, used by one thread at a time.
 */
#ifndef EDXBUS_REDIS_INT_H
#define EDXBUS_REDIS_INT_H

#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <sys/uio.h>
#include <stddef.h>
#include <stdint.h>

#include "edxbus/backend.h"
#include "edxbus/backend_util.h"
#include "edxbus/buf.h"

/** The ops table (bottom of redis.c); the backend registry lists it among the built-ins. */
extern const struct edxbus_backend_ops edxbus_backend_redis;

/* The settings this backend reads (names and defaults as edx-event-bus-redis). */
#define REDIS_SETTING_URL "EVENT_BUS_REDIS_CONNECTION_URL"
#define REDIS_SETTING_MAX_LEN "EVENT_BUS_REDIS_STREAM_MAX_LEN"
#define REDIS_SETTING_POLL_TIMEOUT "EVENT_BUS_REDIS_CONSUMER_POLL_TIMEOUT"
#define REDIS_SETTING_CONSUMERS_ENABLED "EVENT_BUS_REDIS_CONSUMERS_ENABLED"
#define REDIS_SETTING_AUDIT "EVENT_BUS_REDIS_AUDIT_LOGGING_ENABLED"
/* edxbus's own: seconds a connect, a read or a write may take before the server counts as
 * gone (the reference has no such setting and so can hang on a silent server). */
#define REDIS_SETTING_SOCKET_TIMEOUT "EVENT_BUS_REDIS_SOCKET_TIMEOUT"
/* edxbus's own: entries beyond which a stream is trimmed even though consumer groups have not
 * read them (0: never; see redis_trim.c). */
#define REDIS_SETTING_HARD_MAX_LEN "EVENT_BUS_REDIS_STREAM_HARD_MAX_LEN"
/* edxbus's own: seconds an asynchronously produced event may wait for the server's
 * confirmation before it is reported not confirmed (or not sent); see redis_producer.c. */
#define REDIS_SETTING_DELIVERY_TIMEOUT "EVENT_BUS_REDIS_DELIVERY_TIMEOUT"

/* edxbus's own: TLS for rediss:// (the URL's ssl_* query parameters win over these). */
#define REDIS_SETTING_TLS_CA_FILE "EVENT_BUS_REDIS_TLS_CA_FILE"
#define REDIS_SETTING_TLS_CERT_FILE "EVENT_BUS_REDIS_TLS_CERT_FILE"
#define REDIS_SETTING_TLS_KEY_FILE "EVENT_BUS_REDIS_TLS_KEY_FILE"
#define REDIS_SETTING_TLS_VERIFY "EVENT_BUS_REDIS_TLS_VERIFY"

#define REDIS_DEFAULT_URL "redis://localhost:6379/0"
#define REDIS_DEFAULT_MAX_DB 15 /* a server has 16 databases unless `databases` says more */
#define REDIS_DEFAULT_MAX_LEN 10000
#define REDIS_DEFAULT_SOCKET_TIMEOUT 5.0    /* s */
#define REDIS_DEFAULT_DELIVERY_TIMEOUT 30.0 /* s */
#define REDIS_CONNECT_ATTEMPTS 4 /* connects tried per (re)connect, with doubling backoff */
#define REDIS_BACKOFF_MS 100     /* the first backoff between them */

/* ------------------------------------------------------------------------------------------ */
/* URL (redis_url.c) */

/** A parsed connection URL. Every string is owned (free with edxbus__redis_url_fini). */
struct redis_url {
    bool tls;       /* rediss:// */
    char *host;     /* TCP host; NULL for a unix socket */
    int port;       /* TCP port; 6379 when not given */
    char *path;     /* unix socket path; NULL for TCP */
    char *user;     /* ACL user name; NULL: AUTH with the password only */
    char *password; /* secret: never in a message; NULL: no AUTH */
    int db;         /* SELECT this database when not 0 */
    char *display;  /* the URL with every secret masked, for messages */
    /* TLS options as redis-py's query parameters name them (NULL / -1 when not given); kept
     * for rediss://. */
    char *ssl_ca_certs, *ssl_ca_path, *ssl_certfile, *ssl_keyfile;
    char *ssl_password;     /* secret */
    char *ssl_cert_reqs;    /* required, optional or none */
    int ssl_check_hostname; /* 1, 0, or -1 */
};

/** Parse @p text (`redis://[[user]:[password]@]host[:port][/db][?params]`, `rediss://…`,
 *  `unix://[[user]:[password]@]/path.sock[?db=N]`; the query parameters redis-py reads: db,
 *  username, password, ssl_*), percent-decoding every part.
 *  Errors: EDXBUS_ERR_CONF naming EVENT_BUS_REDIS_CONNECTION_URL (the password masked). */
edxbus_err_t edxbus__redis_url_parse(const char *text, struct redis_url *url, char *errstr,
                                     size_t errstr_size);
void edxbus__redis_url_fini(struct redis_url *url);
/** @p text as messages show it (control bytes as \xNN, so that an error stays one line),
 *  cut to fit @p size. Returns @p buf. */
const char *edxbus__redis_printable(const char *text, char *buf, size_t size);

/* ------------------------------------------------------------------------------------------ */
/* TLS settings (redis_tls.c) */

/** What TLS a rediss:// connection uses: the URL's ssl_* parameters, else the
 *  EVENT_BUS_REDIS_TLS_* settings. Strings are borrowed (from the URL or the conf). */
struct redis_tls_opts {
    const char *ca_file, *ca_path; /* trusted CAs; both NULL: the system's store */
    const char *cert_file;         /* client certificate (PEM, may hold the key); NULL: none */
    const char *key_file;          /* its key; NULL: in cert_file */
    const char *key_password;      /* secret: ssl_password */
    bool verify;                   /* check the server's certificate (chain and validity) */
    bool check_hostname;           /* and that it names the host we connect to */
    const char *verify_off_by;     /* what turned verification off, for the warning */
    const char *ca_from, *cert_from, *key_from; /* the setting or URL parameter each came from */
};

/** Resolve @p url's ssl_* parameters over the settings of @p conf into @p opts and report,
 *  through @p problem, every setting that cannot work (an unreadable file named with the fix,
 *  a key without a certificate, TLS settings on a redis:// URL). Returns the problem count. */
int edxbus__redis_tls_opts(const edxbus_conf_t *conf, const struct redis_url *url,
                           struct redis_tls_opts *opts, edxbus_problem_fn problem, void *opaque);

/** A client context for @p opts: trusted CAs (or the system's), the client certificate and key
 *  (checked to match), TLS 1.2 at least, and verification on unless @p opts says otherwise.
 *  Returns NULL with @p errstr set (EDXBUS_ERR_CONF class: a file that does not hold what it
 *  should). Free with SSL_CTX_free(). */
struct ssl_ctx_st *edxbus__redis_tls_ctx(const struct redis_tls_opts *opts, char *errstr,
                                         size_t errstr_size);

/* ------------------------------------------------------------------------------------------ */
/* Transport (redis_io.c) */

/** One connection's transport. The socket is ours (blocking, with SO_RCVTIMEO/SO_SNDTIMEO as
 *  the bound of each wait; non-blocking calls pass MSG_DONTWAIT; every write passes
 *  MSG_NOSIGNAL, so a server that went away cannot raise SIGPIPE). For rediss:// an OpenSSL
 *  session sits on memory BIOs: we move the ciphertext between them and the socket, so TLS
 *  waits, times out and polls exactly as the plain socket does. Replies are parsed by hiredis's
 *  reader, fed with the (decrypted) bytes. */
struct redis_io {
    int fd;                     /* -1: not connected */
    struct ssl_st *ssl;         /* rediss://: the TLS session; NULL: plain TCP or unix socket */
    struct bio_st *rbio, *wbio; /* its ciphertext from / to the socket (owned by ssl) */
    char *out;                  /* TLS: ciphertext taken from wbio, not yet on the socket */
    size_t out_len, out_off;    /* bytes in out / of them sent */
    redisReader *reader;        /* hiredis's RESP parser */
    int timeout_ms;             /* the socket's wait bound now */
    bool cert_requested;        /* TLS: the server asked for a client certificate */
    bool fresh;                 /* TLS: no reply read yet (a refusal of our certificate in
                                 * TLS 1.3 comes after the handshake, as a hang-up) */
};

/** Connect @p io to @p url (TCP with keep-alive and no delay, or a unix socket), and over TLS
 *  when @p tls is not NULL (SNI and host-name check as @p opts say), within @p timeout_ms.
 *  @p why gets the reason alone (the caller names the server).
 *  Errors: EDXBUS_ERR_IO (unreachable, refused, handshake cut), EDXBUS_ERR_TIMEOUT,
 *  EDXBUS_ERR_AUTH (certificate not trusted, wrong host name, client certificate refused:
 *  retrying cannot help), EDXBUS_ERR_NOMEM. */
edxbus_err_t edxbus__redis_io_connect(struct redis_io *io, const struct redis_url *url,
                                      struct ssl_ctx_st *tls, const struct redis_tls_opts *opts,
                                      int timeout_ms, char *why, size_t why_size);
/** Close the socket and forget every byte buffered either way. Safe on a closed @p io. */
void edxbus__redis_io_close(struct redis_io *io);
/** Make each wait of the socket at most @p ms. */
void edxbus__redis_io_set_timeout(struct redis_io *io, int ms);
/** Write @p len bytes, each wait bounded by the timeout. Errors: EDXBUS_ERR_IO,
 *  EDXBUS_ERR_TIMEOUT (nothing is known of what the server got). */
edxbus_err_t edxbus__redis_io_write(struct redis_io *io, const char *data, size_t len, char *why,
                                    size_t why_size);
/** Take what the socket takes of @p iov (@p n segments) without blocking; *@p taken gets the
 *  count of bytes taken, in order (over TLS: encrypted, and sent before anything else). With
 *  @p n 0 it only pushes out what TLS still holds. Errors: EDXBUS_ERR_IO. */
edxbus_err_t edxbus__redis_io_writev(struct redis_io *io, const struct iovec *iov, int n,
                                     size_t *taken, char *why, size_t why_size);
/** Bytes taken by edxbus__redis_io_writev() and not yet on the socket (TLS only): poll for
 *  POLLOUT while this is not 0. */
size_t edxbus__redis_io_pending_out(const struct redis_io *io);
/** Feed the reader what the socket has; @p wait: block (up to the timeout) until some reply
 *  bytes came. Errors: EDXBUS_ERR_TIMEOUT (waited in vain), EDXBUS_ERR_IO (closed, failed). */
edxbus_err_t edxbus__redis_io_read(struct redis_io *io, bool wait, char *why, size_t why_size);
/** The next complete reply the reader holds (*@p reply NULL: none yet); no I/O.
 *  Errors: EDXBUS_ERR_IO (not RESP: protocol error). */
edxbus_err_t edxbus__redis_io_get_reply(struct redis_io *io, redisReply **reply, char *why,
                                        size_t why_size);
/** The next reply, reading (each wait bounded by the timeout) until it is complete. */
edxbus_err_t edxbus__redis_io_read_reply(struct redis_io *io, redisReply **reply, char *why,
                                         size_t why_size);
/** Whether the server closed the connection, or sent something unasked, while nothing was
 *  outstanding (a TLS session ticket is neither). Reads what is there. */
bool edxbus__redis_io_idle_closed(struct redis_io *io);

/* ------------------------------------------------------------------------------------------ */
/* Connection (redis.c) */

struct redis_conn {
    edxbus_conf_t *conf; /* own copy, for the log callback */
    struct redis_url url;
    struct redis_tls_opts tls_opts; /* rediss:// only; borrows url and conf */
    struct ssl_ctx_st *tls;         /* rediss://: the context every connect uses; else NULL */
    struct redis_io io;             /* io.fd < 0 while disconnected */
    int io_timeout_ms;  /* connect, read and write timeout */
    int cur_timeout_ms; /* the read timeout the socket has now */
    bool audit;         /* EVENT_BUS_REDIS_AUDIT_LOGGING_ENABLED */
    /* For the next command only (a blocking read): wait for its reply together with this
     * waker; woken first, the connection is dropped (the server may still serve the command)
     * and the command fails with EDXBUS_ERR_STATE. NULL: a plain blocking read. */
    const edxbus_waker_t *wake_next;
};

/** Whether @p conn is connected. */
static inline bool edxbus__redis_conn_up(const struct redis_conn *conn)
{
    return conn->io.fd >= 0;
}

/** Send @p len bytes of formatted commands on the connected @p conn (the connection is
 *  dropped on failure). Errors: EDXBUS_ERR_IO, EDXBUS_ERR_TIMEOUT. */
edxbus_err_t edxbus__redis_conn_send(struct redis_conn *conn, const char *data, size_t len,
                                     const char *what, char *errstr, size_t errstr_size);
/** Read the next reply of the connected @p conn (each wait bounded by its read timeout); on
 *  failure @p errstr says why in the words of edxbus__redis_conn_command() and the connection
 *  is dropped. Errors: EDXBUS_ERR_IO, EDXBUS_ERR_TIMEOUT. */
edxbus_err_t edxbus__redis_conn_reply(struct redis_conn *conn, redisReply **out, const char *what,
                                      char *errstr, size_t errstr_size);

/** Read the settings, parse the URL and connect (retrying with backoff).
 *  Errors: EDXBUS_ERR_CONF (bad URL or TLS settings), EDXBUS_ERR_AUTH (wrong password, server
 *  certificate not trusted: never retried), EDXBUS_ERR_IO (server unreachable). */
edxbus_err_t edxbus__redis_conn_open(struct redis_conn *conn, const edxbus_conf_t *conf,
                                     char *errstr, size_t errstr_size);
/** As edxbus__redis_conn_open, with at most @p attempts connects (1: no backoff sleep). */
edxbus_err_t edxbus__redis_conn_open_tries(struct redis_conn *conn, const edxbus_conf_t *conf,
                                           int attempts, char *errstr, size_t errstr_size);
/** Connect (again) when disconnected: up to @p attempts tries, doubling the backoff. */
edxbus_err_t edxbus__redis_conn_ensure(struct redis_conn *conn, int attempts, char *errstr,
                                       size_t errstr_size);
/** As edxbus__redis_conn_ensure, giving up at @p deadline_ms (monotonic): each try's connect
 *  and handshake wait at most what is left, and no retry is logged. */
edxbus_err_t edxbus__redis_conn_ensure_until(struct redis_conn *conn, int64_t deadline_ms,
                                             char *errstr, size_t errstr_size);
/** Whether the server closed the connection of @p conn (or sent something unasked) while
 *  nothing was outstanding on it: a command sent on it could not be served. */
bool edxbus__redis_conn_idle_closed(struct redis_conn *conn);
/** Drop the connection (after an I/O error its protocol state is unknown). */
void edxbus__redis_conn_drop(struct redis_conn *conn);
void edxbus__redis_conn_close(struct redis_conn *conn);
/** Make the socket's read timeout @p ms (0: the configured io timeout). */
void edxbus__redis_conn_read_timeout(struct redis_conn *conn, int ms);

/** Run one command on a connected @p conn. @p what names it for messages ("XADD to stream
 *  \"s\""). On an error reply *@p out still gets the reply (the caller frees it; BUSYGROUP is
 *  not an error to every caller). On an I/O error the connection is dropped.
 *  Errors: EDXBUS_ERR_IO / EDXBUS_ERR_TIMEOUT (connection), EDXBUS_ERR_AUTH (NOAUTH,
 *  WRONGPASS), EDXBUS_ERR_BROKER (other error replies). */
edxbus_err_t edxbus__redis_conn_command(struct redis_conn *conn, int argc, const char **argv,
                                        const size_t *lens, redisReply **out, const char *what,
                                        char *errstr, size_t errstr_size);

/** Append to @p rows the lag rows of @p group on stream @p topic (the lag slot's objects, with
 *  "lost": entries trimmed before the group read them, null when the server cannot tell).
 *  Errors: EDXBUS_ERR_NOT_FOUND (no such stream or group), the connection's. */
edxbus_err_t edxbus__redis_lag_rows(struct redis_conn *conn, const char *topic, const char *group,
                                    json_t *rows, char *errstr, size_t errstr_size);

/** The value of @p key in a flat [k1, v1, k2, v2, …] reply (XINFO), or NULL. */
const redisReply *edxbus__redis_info_get(const redisReply *map, const char *key);

/** The error class and text of an error reply. */
edxbus_err_t edxbus__redis_reply_error(const redisReply *reply, const char *what, char *errstr,
                                       size_t errstr_size);
/** Whether @p reply is an error reply starting with @p code ("BUSYGROUP", "NOGROUP"). */
bool edxbus__redis_reply_is(const redisReply *reply, const char *code);

/* ------------------------------------------------------------------------------------------ */
/* Stream ids (redis_consumer.c) */

/** Parse "ms-seq" (or "ms", seq 0). Returns false when @p id is not a stream id. */
bool edxbus__redis_id_parse(const char *id, uint64_t *ms, uint64_t *seq);
/** The id just before ms-seq, so that "read after it" starts at ms-seq itself. */
void edxbus__redis_id_before(uint64_t ms, uint64_t seq, char *out, size_t out_size);

/* ------------------------------------------------------------------------------------------ */
/* Wire (redis_wire.c) */

#define REDIS_WIRE_META_FIELDS 7 /* type, id, source, time, minorversion, sourcehost, sourcelib */

/** The argv of `XADD <stream> [MAXLEN ~ <max_len>] * <8 fields> <headers…>` (no MAXLEN
 *  clause when @p max_len is 0: the producer trims on its own, redis_trim.c), with the metadata
 *  text forms held in @p text. Pointers stay valid until @p text is reset. */
struct redis_wire_cmd {
    struct edxbus_buf text; /* the metadata text forms and the MAXLEN number */
    const char **argv;
    size_t *lens;
    size_t cap; /* slots in argv/lens */
    int argc;
};

void edxbus__redis_wire_cmd_init(struct redis_wire_cmd *cmd);
void edxbus__redis_wire_cmd_fini(struct redis_wire_cmd *cmd);
/** Fill @p cmd for @p msg. Errors: EDXBUS_ERR_INVALID_ARG (no metadata), EDXBUS_ERR_NOMEM. */
edxbus_err_t edxbus__redis_wire_xadd(struct redis_wire_cmd *cmd, const struct edxbus_msg *msg,
                                     int64_t max_len, char *errstr, size_t errstr_size);

/** Bytes of the RESP form of the command @p argv / @p lens (@p argc arguments; @p lens NULL:
 *  the arguments are C strings): what redisFormatCommandArgv() would make, NUL excluded. */
size_t edxbus__redis_resp_size(int argc, const char *const *argv, const size_t *lens);
/** Write that RESP form into @p out (edxbus__redis_resp_size() bytes, no NUL); returns its
 *  length. */
size_t edxbus__redis_resp_write(char *out, int argc, const char *const *argv, const size_t *lens);

/** Fill @p msg (its metadata and headers stored in @p slot) from one entry reply
 *  [id, [field, value, …]] of stream @p stream. Pointers borrow @p entry. An unreadable entry
 *  sets msg->unusable (the text in slot->why). @p service_name is the consumer's (for the
 *  default source). Errors: EDXBUS_ERR_NOMEM. */
edxbus_err_t edxbus__redis_wire_parse(const redisReply *entry, const char *stream,
                                      const char *service_name, struct edxbus_msg *msg,
                                      struct edxbus_slot *slot);

/* ------------------------------------------------------------------------------------------ */
/* Trimming (redis_trim.c) */

struct trim_stream {
    char *name;
    int64_t adds; /* confirmed entries since the last check */
};

/** A producer's trimming state: its own connection (opened at the first check) and a counter
 *  per stream. */
struct redis_trim {
    const edxbus_conf_t *conf; /* borrowed: the producer's */
    struct redis_conn conn;
    bool connected;
    int64_t max_len;      /* EVENT_BUS_REDIS_STREAM_MAX_LEN: the target */
    int64_t hard_max_len; /* EVENT_BUS_REDIS_STREAM_HARD_MAX_LEN; 0: none */
    int64_t every;        /* confirmed entries per stream between two checks */
    struct trim_stream *streams;
    size_t n, cap;
};

/** Read the two settings. @p conf must outlive @p t. Errors: EDXBUS_ERR_CONF. */
edxbus_err_t edxbus__redis_trim_init(struct redis_trim *t, const edxbus_conf_t *conf, char *errstr,
                                     size_t errstr_size);
void edxbus__redis_trim_fini(struct redis_trim *t);
/** Count one confirmed entry of @p stream; every t->every of them, trim it (failures are
 *  logged as warnings, never returned). */
void edxbus__redis_trim_added(struct redis_trim *t, const char *stream);
/** Trim @p stream now. Errors: EDXBUS_ERR_IO / TIMEOUT / BROKER (nothing or part trimmed). */
edxbus_err_t edxbus__redis_trim_now(struct redis_trim *t, const char *stream, char *errstr,
                                    size_t errstr_size);

/* ------------------------------------------------------------------------------------------ */
/* Producer and consumer (redis_producer.c, redis_consumer.c): the ops slots. */

edxbus_err_t edxbus__redis_producer_open(const edxbus_conf_t *conf, void **be, char *errstr,
                                         size_t errstr_size);
edxbus_err_t edxbus__redis_produce(void *be, const struct edxbus_msg *msg, edxbus_delivery_fn cb,
                                   void *cb_opaque, char *errstr, size_t errstr_size);
edxbus_err_t edxbus__redis_flush(void *be, int timeout_ms, char *errstr, size_t errstr_size);
void edxbus__redis_producer_close(void *be);

edxbus_err_t edxbus__redis_consumer_open(const edxbus_conf_t *conf,
                                         const struct edxbus_consumer_opts *opts, void **be,
                                         char *errstr, size_t errstr_size);
edxbus_err_t edxbus__redis_poll(void *be, struct edxbus_batch *out, size_t max, int timeout_ms,
                                char *errstr, size_t errstr_size);
edxbus_err_t edxbus__redis_ack(void *be, const struct edxbus_msg *msg, char *errstr,
                               size_t errstr_size);
edxbus_err_t edxbus__redis_caught_up(void *be, bool *done, char *errstr, size_t errstr_size);
void edxbus__redis_consumer_close(void *be);
/** The wake slot (async-signal-safe). */
void edxbus__redis_wake(void *be);

/* ------------------------------------------------------------------------------------------ */
/* Consumer internals, shared by redis_consumer.c (reading, acks, moving) and
 * redis_consumer_open.c (open, join, close). */

struct redis_consumer {
    struct redis_conn conn;
    char *stream;
    char *group; /* NULL: tail mode */
    char *consumer;
    char *service_name; /* for default metadata */
    bool pending_phase; /* still reading own pending entries */
    char pending_cursor[EDXBUS_POSITION_MAX];
    int64_t claim_ms;      /* claim_msgs_older_than; -1: never */
    int64_t next_claim_ms; /* monotonic time of the next XAUTOCLAIM scan */
    char claim_cursor[EDXBUS_POSITION_MAX];
    char tail_last[EDXBUS_POSITION_MAX]; /* tail mode: the last id read */
    bool reader;                         /* a tail or a no_join reader: caught_up() works */
    char end_id[EDXBUS_POSITION_MAX];    /* caught_up(): the newest entry at open ("0-0") */
    char handed_max[EDXBUS_POSITION_MAX]; /* group: the newest new entry handed out */
    bool new_exhausted;                  /* group: a read of new entries came back empty */
    int default_timeout_ms;              /* EVENT_BUS_REDIS_CONSUMER_POLL_TIMEOUT */
    redisReply *batch_reply;             /* what the current batch borrows */
    struct edxbus_slots batch;           /* its messages and their slots */
    size_t batch_n;                    /* messages in the current batch */
    char (*acks)[EDXBUS_POSITION_MAX]; /* ids acknowledged, not yet sent */
    size_t nacks, acks_cap;
    size_t batch_acked; /* acks of the current batch */
    edxbus_waker_t *waker; /* wake(): a blocked XREADGROUP returns at once, and later polls */
};

/** Run a command on the consumer's stream; messages name the command and the stream. */
edxbus_err_t edxbus__redis_cons_command(struct redis_consumer *cons, int argc, const char **argv,
                                        redisReply **out, char *errstr, size_t errstr_size);
/** The group/tail id that makes @p position ("earliest", "latest" or an id) the next read:
 *  "0-0", "$" or the id before it. EDXBUS_ERR_INVALID_ARG for anything else. */
edxbus_err_t edxbus__redis_position_to_id(const char *position, char *out, size_t out_size,
                                          char *errstr, size_t errstr_size);
/** Note where the stream ends now (the newest id), for caught_up(). */
edxbus_err_t edxbus__redis_note_end(struct redis_consumer *cons, char *errstr,
                                    size_t errstr_size);
/** XGROUP SETID to @p id. */
edxbus_err_t edxbus__redis_group_setid(struct redis_consumer *cons, const char *id, char *errstr,
                                       size_t errstr_size);
/** XGROUP CREATE at @p id; an existing group is left where it is (BUSYGROUP). */
edxbus_err_t edxbus__redis_group_create(struct redis_consumer *cons, const char *id, bool *created,
                                        char *errstr, size_t errstr_size);
/** Send the acknowledged ids in one XACK; they stay queued when that fails. */
edxbus_err_t edxbus__redis_flush_acks(struct redis_consumer *cons, char *errstr,
                                      size_t errstr_size);
/** Free the reply the current batch borrows from and forget the batch. */
void edxbus__redis_batch_release(struct redis_consumer *cons);
/** Make @p id (as edxbus__redis_position_to_id() gives) the next read of the group or tail. */
edxbus_err_t edxbus__redis_move_to(struct redis_consumer *cons, const char *id, char *errstr,
                                   size_t errstr_size);

/* redis_module.c: the module's rows, --extra names and config check (backend.h, ABI 2). */
extern const struct edxbus_setting edxbus__redis_settings[];
extern const char *const edxbus__redis_extra_options[];
void edxbus__redis_check(const edxbus_conf_t *conf, const char *selected_by,
                         edxbus_problem_fn problem, void *opaque);

/* redis_doctor.c: the doctor slot (backend.h, ABI 4). */
edxbus_err_t edxbus__redis_doctor(const edxbus_conf_t *conf, const struct edxbus_doctor_opts *opts,
                                  edxbus_finding_fn report, void *opaque, char *errstr,
                                  size_t errstr_size);

#endif /* EDXBUS_REDIS_INT_H */
