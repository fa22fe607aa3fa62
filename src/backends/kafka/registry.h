/* src/backends/kafka/registry.h — a Confluent Schema Registry client (private to the Kafka
 * backend).
 *
 * The Kafka wire frames every key and value with the id a Schema Registry gave its schema
 * (WIRE.md §4.2). This client speaks the REST subset the framing needs, in the request forms
 * confluent-kafka 2.x sends, so a registry shared with Python services sees the same requests:
 *   register   POST /subjects/{subject}/versions?normalize=False
 *              {"schema": "<text>", "schemaType": "AVRO", "references": []}  ->  {"id": N}
 *   by id      GET  /schemas/ids/{id}                                        ->  {"schema": …}
 *   compatible POST /compatibility/subjects/{subject}/versions/latest        ->  {"is_compatible"}
 *   subjects   GET  /subjects,  versions  GET /subjects/{subject}/versions
 * Request bodies are JSON written as Python's json.dumps writes them (", " and ": ", non-ASCII
 * as lowercase \uXXXX), byte for byte the reference's.
 *
 * Both directions are cached for the life of the handle: (subject, schema text) -> id, so each
 * schema is registered once per subject, and id -> schema text, so each writer schema is fetched
 * once. Registered ids are immutable in a registry, so the caches never go stale.
 *
 * Connection failures, timeouts, 5xx and 429 answers are retried with doubling backoff (attempts
 * and timeout from struct kreg_opts); 4xx answers are not. Only a 404 carrying the registry's
 * own error code (40401 subject, 40402 version, 40403 schema id) means "not found"
 * (EDXBUS_ERR_NOT_FOUND); any other 404 is EDXBUS_ERR_BROKER. Basic auth comes from
 * EVENT_BUS_KAFKA_SCHEMA_REGISTRY_API_KEY/_SECRET or from the URL's user info; messages name the
 * registry by its URL with any password masked, and never hold the secret.
 *
 * Thread rule: one handle per thread at a time (it owns one curl easy handle).
 */
#ifndef EDXBUS_KAFKA_REGISTRY_H
#define EDXBUS_KAFKA_REGISTRY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "edxbus/conf.h"
#include "edxbus/error.h"

typedef struct kreg kreg_t;

struct kreg_opts {
    const char *url;      /* "http://host:8081" (may carry user:password@); required */
    const char *api_key;  /* basic-auth user; NULL or "": none (or the URL's) */
    const char *secret;   /* basic-auth password (secret) */
    long timeout_ms;      /* per request, connect included; <= 0: 10000 */
    int attempts;         /* tries per call for retriable failures; <= 0: 3 */
    long backoff_ms;      /* first wait between tries, doubled each time; < 0: 100 */
};

/** A new client. Nothing is sent until the first call.
 *  Errors: EDXBUS_ERR_CONF (no URL, not http(s)), EDXBUS_ERR_NOMEM. */
edxbus_err_t edxbus__kreg_new(const struct kreg_opts *opts, kreg_t **out, char *errstr,
                              size_t errstr_size);
/** Free @p reg; NULL is a no-op. */
void edxbus__kreg_free(kreg_t *reg);

/** The registry's URL with any password masked (for messages). Borrowed. */
const char *edxbus__kreg_display(const kreg_t *reg);

/** Register @p schema under @p subject (or find it registered) and give its id. Cached.
 *  Errors: EDXBUS_ERR_IO (unreachable after the retries), EDXBUS_ERR_TIMEOUT, EDXBUS_ERR_AUTH
 *  (401/403), EDXBUS_ERR_SCHEMA (409/422: incompatible or invalid), EDXBUS_ERR_BROKER (other
 *  answers). */
edxbus_err_t edxbus__kreg_register(kreg_t *reg, const char *subject, const char *schema,
                                   uint32_t *id, char *errstr, size_t errstr_size);

/** The schema text registered as @p id (borrowed from the cache for the life of @p reg).
 *  Errors: as register; EDXBUS_ERR_NOT_FOUND for an unknown id. */
edxbus_err_t edxbus__kreg_schema_by_id(kreg_t *reg, uint32_t id, const char **schema,
                                       char *errstr, size_t errstr_size);

/** Whether @p schema is compatible with the latest version under @p subject (a subject with no
 *  version yet counts as compatible). Errors: as register. */
edxbus_err_t edxbus__kreg_check_compatible(kreg_t *reg, const char *subject, const char *schema,
                                           bool *compatible, char *errstr, size_t errstr_size);

/** The registry's subjects (a new JSON array of strings). Errors: as register. */
edxbus_err_t edxbus__kreg_subjects(kreg_t *reg, json_t **out, char *errstr, size_t errstr_size);

/** The versions under @p subject (a new JSON array of integers). Errors: as register;
 *  EDXBUS_ERR_NOT_FOUND for an unknown subject. */
edxbus_err_t edxbus__kreg_versions(kreg_t *reg, const char *subject, json_t **out, char *errstr,
                                   size_t errstr_size);

/** Requests sent so far (HTTP exchanges, retries included), for tests and the bench. */
uint64_t edxbus__kreg_requests(const kreg_t *reg);

/** Append @p text as a JSON string the way Python's json.dumps writes it (ensure_ascii).
 *  Errors: EDXBUS_ERR_NOMEM; EDXBUS_ERR_INVALID_ARG for text that is not UTF-8. */
struct edxbus_buf;
edxbus_err_t edxbus__kreg_json_string(struct edxbus_buf *out, const char *text, size_t len);

#endif /* EDXBUS_KAFKA_REGISTRY_H */
