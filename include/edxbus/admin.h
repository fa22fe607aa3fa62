/* include/edxbus/admin.h — a backend's administration commands, e.g. `edxbus schema register`
 * and `schema check`, which Kafka's backend serves from its Schema Registry.
 *
 * A command is served by the producing backend (edxbus_backend_for(EDXBUS_PRODUCE)) when it
 * offers it, else by the first registered backend that does: the registry commands work from a
 * settings file that names the registry but produces elsewhere, as before. Arguments and results
 * are JSON objects; each backend documents its commands (src/backends/kafka/kafka_module.c).
 *
 * Thread rule: a session is used by one thread at a time.
 */
#ifndef EDXBUS_ADMIN_H
#define EDXBUS_ADMIN_H

#include <jansson.h>
#include <stddef.h>

#include "edxbus/conf.h"
#include "edxbus/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct edxbus_admin edxbus_admin_t; /* opaque */

/** Open a session with the backend that serves @p command (see above).
 *  Ownership: *@p out returns new (edxbus_admin_close()); borrows @p conf until then.
 *  Errors: EDXBUS_ERR_UNSUPPORTED (no backend offers @p command), EDXBUS_ERR_CONF (a setting the
 *  backend needs is missing or bad, named), EDXBUS_ERR_NOMEM; one line in @p errstr. */
EDXBUS_API edxbus_err_t edxbus_admin_open(const edxbus_conf_t *conf, const char *command,
                                          edxbus_admin_t **out, char *errstr,
                                          size_t errstr_size);

/** Run @p command with @p args (borrowed). *@p out returns new the result object.
 *  Errors: the backend's (EDXBUS_ERR_IO, _TIMEOUT, _AUTH, _SCHEMA, _BROKER…), one line. */
EDXBUS_API edxbus_err_t edxbus_admin_run(edxbus_admin_t *adm, const char *command,
                                         const json_t *args, json_t **out, char *errstr,
                                         size_t errstr_size);

/** End the session. NULL is a no-op. */
EDXBUS_API void edxbus_admin_close(edxbus_admin_t *adm);

#ifdef __cplusplus
}
#endif
#endif /* EDXBUS_ADMIN_H */
