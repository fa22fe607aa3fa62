/* src/backends/kafka/kafka_schema.c — schema tools over the registry client (kafka_schema.h).
 *
 * register: POST the event's schema under its value subject, as the producer does on its first
 * send, so a deployment can register (and see refused) a new schema before any service sends
 * it. check: GET the subject's versions (none: not registered), then POST the schema to
 * /compatibility/subjects/<subject>/versions/latest, which applies the subject's own
 * compatibility level (BACKWARD unless configured), the same rule a registration meets.
 */
#include <stdio.h>
#include <stdlib.h>

#include "kafka_int.h"
#include "kafka_schema.h"

struct edxbus__kafka_schemas {
    kreg_t *reg;
};

edxbus_err_t edxbus__kafka_schemas_open(const edxbus_conf_t *conf, edxbus__kafka_schemas_t **out,
                                        char *errstr, size_t errstr_size)
{
    *out = NULL;
    edxbus__kafka_schemas_t *ks = calloc(1, sizeof *ks);
    if (ks == NULL) {
        edxbus_errf(errstr, errstr_size, "out of memory");
        return EDXBUS_ERR_NOMEM;
    }
    edxbus_err_t err = edxbus__kafka_registry(conf, &ks->reg, errstr, errstr_size);
    if (err != EDXBUS_OK) {
        free(ks);
        return err;
    }
    *out = ks;
    return EDXBUS_OK;
}

void edxbus__kafka_schemas_close(edxbus__kafka_schemas_t *ks)
{
    if (ks == NULL)
        return;
    edxbus__kreg_free(ks->reg);
    free(ks);
}

static edxbus_err_t value_subject(const char *full_topic, const char *schema, char **subject,
                                  char *errstr, size_t errstr_size)
{
    *subject = edxbus__kafka_subject(full_topic, schema, false);
    if (*subject != NULL)
        return EDXBUS_OK;
    edxbus_errf(errstr, errstr_size, "out of memory");
    return EDXBUS_ERR_NOMEM;
}

edxbus_err_t edxbus__kafka_schema_register(edxbus__kafka_schemas_t *ks, const char *full_topic,
                                           const char *schema, char **subject, uint32_t *id,
                                           char *errstr, size_t errstr_size)
{
    edxbus_err_t err = value_subject(full_topic, schema, subject, errstr, errstr_size);
    if (err == EDXBUS_OK)
        err = edxbus__kreg_register(ks->reg, *subject, schema, id, errstr, errstr_size);
    return err;
}

edxbus_err_t edxbus__kafka_schema_check(edxbus__kafka_schemas_t *ks, const char *full_topic,
                                        const char *schema, char **subject,
                                        enum edxbus__kafka_compat *out, char *errstr,
                                        size_t errstr_size)
{
    edxbus_err_t err = value_subject(full_topic, schema, subject, errstr, errstr_size);
    if (err != EDXBUS_OK)
        return err;
    json_t *versions = NULL;
    err = edxbus__kreg_versions(ks->reg, *subject, &versions, errstr, errstr_size);
    size_t n = json_array_size(versions);
    json_decref(versions);
    if (err == EDXBUS_ERR_NOT_FOUND || (err == EDXBUS_OK && n == 0)) {
        *out = EDXBUS__KAFKA_NOT_REGISTERED;
        return EDXBUS_OK;
    }
    if (err != EDXBUS_OK)
        return err;
    bool compatible = false;
    err =
        edxbus__kreg_check_compatible(ks->reg, *subject, schema, &compatible, errstr, errstr_size);
    if (err == EDXBUS_OK)
        *out = compatible ? EDXBUS__KAFKA_COMPATIBLE : EDXBUS__KAFKA_INCOMPATIBLE;
    return err;
}
