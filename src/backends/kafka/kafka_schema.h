/* src/backends/kafka/kafka_schema.h — the Kafka backend's schema tools, for
 * `edxbus schema register | check` (cli/cmd_schema.c).
 *
 * The one header of this folder meant for code outside it: the CLI needs the Schema Registry
 * the backend talks to (same settings, same request forms) and the subjects the backend uses,
 * and nothing else of the backend. kafka_int.h (librdkafka types, the wire) stays private.
 * Library-internal (edxbus__), not API: a tool of this repository links libedxbus statically.
 *
 * Subjects are the value subjects the producer registers under (WIRE.md §4.2):
 * "<full topic>-<event type>.CloudEvent".
 * Thread rule: a handle is used by one thread at a time.
 */
#ifndef EDXBUS_KAFKA_SCHEMA_H
#define EDXBUS_KAFKA_SCHEMA_H

#include <stddef.h>
#include <stdint.h>

#include "edxbus/conf.h"
#include "edxbus/error.h"

typedef struct edxbus__kafka_schemas edxbus__kafka_schemas_t; /* opaque */

/* What the registry holds for a subject, compared with a schema. */
enum edxbus__kafka_compat {
    EDXBUS__KAFKA_COMPATIBLE,     /* the registry accepts it as the subject's next version */
    EDXBUS__KAFKA_INCOMPATIBLE,   /* it does not (the subject's compatibility level says no) */
    EDXBUS__KAFKA_NOT_REGISTERED, /* no version under the subject yet */
};

/** A client of the registry of EVENT_BUS_KAFKA_SCHEMA_REGISTRY_URL (with _API_KEY/_SECRET).
 *  Nothing is sent until the first call. Returns new; free with edxbus__kafka_schemas_close().
 *  Errors: EDXBUS_ERR_CONF naming the setting, EDXBUS_ERR_NOMEM. */
edxbus_err_t edxbus__kafka_schemas_open(const edxbus_conf_t *conf, edxbus__kafka_schemas_t **out,
                                        char *errstr, size_t errstr_size);

/** Free @p ks. NULL is a no-op. */
void edxbus__kafka_schemas_close(edxbus__kafka_schemas_t *ks);

/** Register the value schema @p schema (an event's schema text) for @p full_topic.
 *  *@p subject gets the subject (returns new: free()), *@p id the registry's id.
 *  Errors: the registry client's (EDXBUS_ERR_IO, _TIMEOUT, _AUTH, _SCHEMA for a schema the
 *  subject's compatibility level refuses, _BROKER), each with one line naming the registry. */
edxbus_err_t edxbus__kafka_schema_register(edxbus__kafka_schemas_t *ks, const char *full_topic,
                                           const char *schema, char **subject, uint32_t *id,
                                           char *errstr, size_t errstr_size);

/** Compare @p schema with what the registry holds under its value subject for @p full_topic.
 *  *@p subject as in register. Errors: as register. */
edxbus_err_t edxbus__kafka_schema_check(edxbus__kafka_schemas_t *ks, const char *full_topic,
                                        const char *schema, char **subject,
                                        enum edxbus__kafka_compat *out, char *errstr,
                                        size_t errstr_size);

#endif /* EDXBUS_KAFKA_SCHEMA_H */
