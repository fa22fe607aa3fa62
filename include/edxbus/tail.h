/* include/edxbus/tail.h — watch a topic without joining a group, and ask how far a group is
 * behind; what `edxbus tail` and `edxbus lag` are made of.
 *
 * A tail opens the consuming backend (edxbus_backend_for(EDXBUS_CONSUME)) in tail mode: it
 * reads and never acknowledges, so no group is created, no group's position moves and nothing is
 * left owed. Each entry is handed over with what is needed to show it: its metadata, its event
 * type in the bus's catalog, and either its Avro body (in the catalog's schema) or, when the
 * broker says it was written under another schema (Kafka, by registry id), the value resolved
 * to the plain JSON form. An entry that cannot be shown comes with a one-line reason instead,
 * so a watcher can say so and go on.
 *
 * Thread rule: a tail is used by one thread at a time.
 */
#ifndef EDXBUS_TAIL_H
#define EDXBUS_TAIL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "edxbus/bus.h"
#include "edxbus/catalog.h"
#include "edxbus/error.h"
#include "edxbus/metadata.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct edxbus_tail edxbus_tail_t; /* opaque */

/** Where a tail begins. Strings borrowed for the duration of edxbus_tail_open(). */
struct edxbus_tail_config {
    const char *topic;     /* the topic as routed, without EVENT_BUS_TOPIC_PREFIX */
    const char *start;     /* "latest" (NULL: entries stored from now on), "earliest", or a
                              position of the backend */
    int64_t start_time_ms; /* >= 0: from the first entry stored at or after this time (ms since
                              the epoch; start is then ignored); -1: unused */
};

/** One entry, borrowed for the callback only. */
struct edxbus_tail_entry {
    const char *topic;                       /* full topic */
    const char *position;                    /* the backend's text form */
    const struct edxbus_metadata *metadata;  /* NULL when problem is set */
    const edxbus_event_type_t *event_type;   /* NULL when problem is set */
    const uint8_t *value;                    /* the Avro body, in event_type's schema, when
                                                data is NULL */
    size_t value_len;
    const json_t *data;    /* the value resolved from the writer's schema, or NULL */
    const char *problem;   /* why the entry cannot be shown (unusable envelope, event type not
                              in the catalog, writer schema that does not resolve), or NULL */
};

/** Called for each entry; a return other than EDXBUS_OK stops the poll and is returned. */
typedef edxbus_err_t (*edxbus_tail_fn)(void *opaque, const struct edxbus_tail_entry *entry);

/** Open a tail of @p cfg->topic on the consuming backend of @p bus's settings.
 *  Ownership: *@p out returns new (edxbus_tail_close()); borrows @p bus, which must outlive it.
 *  Errors: EDXBUS_ERR_CONF (no usable backend, named by its setting), EDXBUS_ERR_UNSUPPORTED
 *  (the backend cannot consume), EDXBUS_ERR_INVALID_ARG (a start the backend refuses), the
 *  backend's own (EDXBUS_ERR_IO, _BROKER…); one line in @p errstr. */
EDXBUS_API edxbus_err_t edxbus_tail_open(edxbus_bus_t *bus, const struct edxbus_tail_config *cfg,
                                         edxbus_tail_t **out, char *errstr, size_t errstr_size);

/** Wait up to @p timeout_ms for entries and hand up to @p max of them to @p fn, in order.
 *  *@p n (may be NULL) gets how many were handed over (0 on timeout).
 *  Errors: the backend's poll error (edxbus_err_is_retriable() says whether a retry may pass),
 *  or the first error @p fn returned. */
EDXBUS_API edxbus_err_t edxbus_tail_poll(edxbus_tail_t *tail, size_t max, int timeout_ms,
                                         edxbus_tail_fn fn, void *opaque, size_t *n,
                                         char *errstr, size_t errstr_size);

/** Close the backend and free. NULL is a no-op. */
EDXBUS_API void edxbus_tail_close(edxbus_tail_t *tail);

/** How far @p group is behind on @p topic (without prefix), asked of the consuming backend
 *  without joining the group. *@p out returns new a JSON array, one object per consumer (or
 *  partition): {"group", "consumer", "partition" (or null), "pending" (delivered, not
 *  acknowledged), "undelivered" (stored, not yet delivered), "idle_ms" (or null)}.
 *  Errors: EDXBUS_ERR_CONF (no usable backend), EDXBUS_ERR_UNSUPPORTED (it cannot report lag),
 *  EDXBUS_ERR_NOT_FOUND (no such group), the backend's own; one line in @p errstr. */
EDXBUS_API edxbus_err_t edxbus_lag(const edxbus_conf_t *conf, const char *topic,
                                   const char *group, json_t **out, char *errstr,
                                   size_t errstr_size);

#ifdef __cplusplus
}
#endif
#endif /* EDXBUS_TAIL_H */
