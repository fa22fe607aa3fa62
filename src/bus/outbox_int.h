/* src/bus/outbox_int.h — what the outbox's modules share (outbox.c, relay.c, producer.c).
 * Not API: nothing outside src/bus/ includes it.
 *
 * An outbox entry is a message of the topic EDXBUS_OUTBOX_TOPIC in the embedded log of
 * EVENT_BUS_OUTBOX_PATH, wrapped by edxbus__outbox_wrap() and unwrapped by
 * edxbus__outbox_unwrap(); the relay reads it in the group EDXBUS__RELAY_GROUP.
 */
#ifndef EDXBUS_OUTBOX_INT_H
#define EDXBUS_OUTBOX_INT_H

#include "bus_int.h"
#include "edxbus/outbox.h"

#define EDXBUS__RELAY_GROUP "relay" /* the relay's group (and member name) in the outbox */

/** The embedded log's ops table (the outbox's storage). NULL with a reason. */
const struct edxbus_backend_ops *edxbus__outbox_ops(char *errstr, size_t errstr_size);

/** Settings for the outbox's own log: @p conf with EVENT_BUS_SQLITE_PATH set to
 *  EVENT_BUS_OUTBOX_PATH, no length cap and no retention (by age, size or idle group): only
 *  the relay's acknowledgements remove entries. Returns new; NULL with a reason. */
edxbus_conf_t *edxbus__outbox_conf(const edxbus_conf_t *conf, char *errstr, size_t errstr_size);

/** @p msg (no headers of its own) as an outbox entry in @p out: topic EDXBUS_OUTBOX_TOPIC, the
 *  destination and key schema as headers (NUL included) in @p hdrs. @p out borrows from @p msg
 *  and @p hdrs. */
void edxbus__outbox_wrap(const struct edxbus_msg *msg, struct edxbus_msg *out,
                         struct edxbus_header hdrs[2]);

/** The message to send for the outbox row @p row: @p out borrows from @p row, its topic the
 *  destination, its headers the row's other headers (at most @p hcap, copied into @p hdrs);
 *  *@p key_schema the key's schema text or NULL. Returns false when the row names no
 *  destination. */
bool edxbus__outbox_unwrap(const struct edxbus_msg *row, struct edxbus_msg *out,
                           struct edxbus_header *hdrs, size_t hcap, const char **key_schema);

/** Entries still owed to the broker in the outbox of @p conf (cheap: no scan once a relay
 *  joined). */
edxbus_err_t edxbus__outbox_waiting(const edxbus_conf_t *conf, uint64_t *waiting, char *errstr,
                                    size_t errstr_size);

/** "<path>.relay.lock". Returns new (free()); NULL when out of memory. */
char *edxbus__outbox_lock_path(const char *path);

/** Record the relay's state in "<path>.relay.json" (best effort). */
void edxbus__outbox_state_write(const char *path, const char *state, int64_t since_ms,
                                const char *last_error);

/** The outbox gauges (metrics_int.h) of the file of @p conf, read by a thread of its own every
 *  EVENT_BUS_METRICS_REFRESH_INTERVAL seconds (edxbus_outbox_status: a count and one row, no
 *  scan), so neither the caller's loop nor a scrape waits for the file. NULL when there is no
 *  outbox, metrics are off, or it cannot start (the gauges are then missing, nothing fails). */
struct edxbus__outbox_watch *edxbus__outbox_watch_start(const edxbus_conf_t *conf);
/** Stop and free it. NULL is a no-op. */
void edxbus__outbox_watch_stop(struct edxbus__outbox_watch *w);

#endif /* EDXBUS_OUTBOX_INT_H */
