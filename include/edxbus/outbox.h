/* include/edxbus/outbox.h — the producer outbox and its relay: no event lost to a broker outage.
 *
 * With EVENT_BUS_OUTBOX_PATH set, a producer (producer.h, and so every signal send, typed send
 * and `edxbus produce`) does not talk to EVENT_BUS_PRODUCER at send time: it commits the event
 * — the exact Avro bytes, key and metadata that will go on the wire, with the full topic — to
 * the outbox file, an embedded SQLite log (the sqlite backend's storage, one internal topic).
 * A send returns EDXBUS_OK once that commit is durable (EVENT_BUS_SQLITE_SYNCHRONOUS applies:
 * FULL means fsynced); asynchronous sends are committed in batches and reported through the
 * delivery callback once committed.
 *
 * A relay moves the outbox to EVENT_BUS_PRODUCER: it reads the entries in the order they were
 * committed, produces each to the broker, and deletes an entry only after the broker confirmed
 * it. When the broker is unreachable, entries wait and the relay retries with capped
 * exponential backoff, logging one line when it loses the broker and one when it gets it back.
 * A relay killed at any point loses nothing: what it sent but had not yet deleted is sent again
 * (the same event id twice at worst). One relay at a time works on an outbox file (an exclusive
 * lock on "<path>.relay.lock"); others wait for the lock, so no entry is ever sent by two
 * relays at once and the order holds. Many processes may write one outbox file at once.
 *
 * Where relays run: every producer opened with an outbox starts one in a background thread
 * (EVENT_BUS_OUTBOX_RELAY, default true), stopped by edxbus_producer_destroy(); `edxbus relay`
 * runs one as a command (edxbus_relay_run()).
 *
 * Thread rule: a relay handle is used by one thread at a time, except edxbus_relay_stop(),
 * which any thread (or a signal handler) may call. The status and list calls open their own
 * connections and may run from any thread.
 */
#ifndef EDXBUS_OUTBOX_H
#define EDXBUS_OUTBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "edxbus/backend.h"
#include "edxbus/bus.h"
#include "edxbus/conf.h"
#include "edxbus/error.h"

#ifdef __cplusplus
extern "C" {
#endif

struct sqlite3; /* SQLite's connection handle (sqlite3.h): the caller's own database */

/** The outbox's one topic inside its file. Entries carry their destination in headers. */
#define EDXBUS_OUTBOX_TOPIC "edxbus-outbox"
/** Header of an outbox entry: the full destination topic. Not sent to the broker. */
#define EDXBUS_OUTBOX_HDR_TOPIC "edxbus-outbox-topic"
/** Header of an outbox entry: the key's schema text (Kafka registers it). Not sent. */
#define EDXBUS_OUTBOX_HDR_KEY_SCHEMA "edxbus-outbox-key-schema"

typedef struct edxbus_relay edxbus_relay_t; /* opaque */

/** What edxbus_outbox_status() reports. */
struct edxbus_outbox_status {
    uint64_t waiting;       /* entries not yet confirmed by the broker */
    int64_t oldest_age_ms;  /* how long ago the oldest waiting entry was committed (ms), or
                               -1 when none waits */
    char state[16];         /* the relay's last state: "forwarding", "unreachable", or ""
                               when no relay ever ran on this file */
    char last_error[EDXBUS_ERRSTR_SIZE]; /* the relay's last broker error, or "" */
    int64_t state_since_ms; /* when the relay entered that state, or -1 */
};

/** The outbox file named by EVENT_BUS_OUTBOX_PATH in @p conf, or NULL when the outbox is off.
 *  Borrowed from @p conf. */
EDXBUS_API const char *edxbus_outbox_path(const edxbus_conf_t *conf);

/** Count the entries waiting in the outbox of @p conf, the age of the oldest, and the relay's
 *  last state (kept in "<path>.relay.json").
 *  Errors: EDXBUS_ERR_CONF when EVENT_BUS_OUTBOX_PATH is unset; the file's errors (IO). */
EDXBUS_API edxbus_err_t edxbus_outbox_status(const edxbus_conf_t *conf,
                                             struct edxbus_outbox_status *out, char *errstr,
                                             size_t errstr_size);

/** Called by edxbus_outbox_list() once per waiting entry, oldest first. @p msg is borrowed for
 *  the call: its topic is the destination (full topic), its headers exclude the outbox's own,
 *  broker_time_ms is when it was committed. Return false to stop the listing. */
typedef bool (*edxbus_outbox_entry_fn)(void *opaque, const struct edxbus_msg *msg);

/** Walk the waiting entries of the outbox of @p conf without changing anything.
 *  Errors: as edxbus_outbox_status(). */
EDXBUS_API edxbus_err_t edxbus_outbox_list(const edxbus_conf_t *conf, edxbus_outbox_entry_fn fn,
                                           void *opaque, char *errstr, size_t errstr_size);

/** Open a relay from the outbox of @p conf to its EVENT_BUS_PRODUCER. Nothing is connected yet.
 *  Ownership: copies what it needs of @p conf (the log function included). Returns new; free
 *  with edxbus_relay_destroy().
 *  Errors: NULL with one line in @p errstr: EVENT_BUS_OUTBOX_PATH unset, an unknown backend. */
EDXBUS_API edxbus_relay_t *edxbus_relay_new(const edxbus_conf_t *conf, char *errstr,
                                            size_t errstr_size);

/** Forward entries until edxbus_relay_stop() (returns EDXBUS_OK), or with @p once until the
 *  outbox is empty (EDXBUS_OK). @p timeout_ms >= 0 bounds how long the broker may stay
 *  unreachable (or the lock held by another relay) before the call gives up with
 *  EDXBUS_ERR_TIMEOUT and the broker's last error in @p errstr; -1: no bound.
 *  Entries sent are counted (edxbus_relay_sent()). */
EDXBUS_API edxbus_err_t edxbus_relay_run(edxbus_relay_t *relay, bool once, int64_t timeout_ms,
                                         char *errstr, size_t errstr_size);

/** Ask a running edxbus_relay_run() to return after the entries it is sending now. Safe from
 *  any thread and from a signal handler. */
EDXBUS_API void edxbus_relay_stop(edxbus_relay_t *relay);

/** Entries this relay forwarded (confirmed by the broker) so far. */
EDXBUS_API uint64_t edxbus_relay_sent(const edxbus_relay_t *relay);

/** Free a relay that is not running. NULL is a no-op. */
EDXBUS_API void edxbus_relay_destroy(edxbus_relay_t *relay);

/* ---------------------------------------------------------------------------------------------
 * The transactional outbox: the event exists if and only if the caller's transaction commits
 * ------------------------------------------------------------------------------------------- */

/** Send an event as edxbus_send_event() does (checked against its schema, fresh metadata,
 *  routed by EVENT_BUS_PRODUCER_CONFIG, keyed, every receiver of its signal called, strictly),
 *  but the bus's producer writes each routed message as an outbox entry into @p db, the
 *  caller's own SQLite database, inside the write transaction the caller has open on it
 *  (BEGIN IMMEDIATE …): commit, and the business change and the event exist together; roll
 *  back, and neither does. The outbox tables (the embedded log's) are created in @p db on first
 *  use. A relay with EVENT_BUS_OUTBOX_PATH naming that database file forwards the entries
 *  (it switches the file to the WAL journal, which the application may keep using).
 *  The database's PRAGMA user_version becomes the log's; a database whose user_version the
 *  application uses itself is refused (keep the outbox in a file of its own then).
 *  Borrows everything during the call only; @p db stays the caller's.
 *  Errors: EDXBUS_ERR_STATE with one line when no transaction is open on @p db, when
 *  user_version belongs to something else, or when the bus has no producer; the errors of
 *  edxbus_send_event(); SQLite's (EDXBUS_ERR_IO, EDXBUS_ERR_BROKER). On an error the caller
 *  should roll back. */
EDXBUS_API edxbus_err_t edxbus_send_event_tx(edxbus_bus_t *bus, struct sqlite3 *db,
                                             const char *event_type, const json_t *data,
                                             char *errstr, size_t errstr_size);

/** The embedded log's append on a database handle the caller owns (what
 *  edxbus_send_event_tx() uses; a toolkit call of the sqlite backend): write @p msg (its topic,
 *  key, value, metadata and headers) into the log's tables of @p db inside the caller's open
 *  write transaction, creating the tables when @p db has none. Nothing is committed here.
 *  Errors: as edxbus_send_event_tx() for the transaction and user_version; EDXBUS_ERR_INVALID_ARG
 *  for a message without a topic. */
EDXBUS_API edxbus_err_t edxbus_sqlite_append_tx(struct sqlite3 *db, const struct edxbus_msg *msg,
                                                char *errstr, size_t errstr_size);

#ifdef __cplusplus
}
#endif
#endif /* EDXBUS_OUTBOX_H */
