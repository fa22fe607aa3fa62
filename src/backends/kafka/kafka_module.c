/* src/backends/kafka/kafka_module.c — what the Kafka backend owns besides its wire: its
 * settings rows (the names and defaults of edx-event-bus-kafka), its config check and its
 * administration commands (`edxbus schema register|check`) over the Schema Registry
 * (backend.h, ABI 2). Kafka takes no `--extra` option of its own (offset_time is the core's).
 *
 * Admin commands, each with a JSON object of arguments and one as result:
 *   "schema-register" {"topic": full topic, "schema": event schema text}
 *                     -> {"subject": "<topic>-<type>.CloudEvent", "id": registry id}
 *   "schema-check"    {"topic", "schema"} -> {"subject", "status": "compatible" |
 *                     "incompatible" | "not registered"}
 * To add a setting: a row here, its name in kafka_int.h, read it where it is used.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edxbus/backend_util.h"
#include "kafka_int.h"
#include "kafka_schema.h"

const struct edxbus_setting edxbus__kafka_settings[] = {
    {"EVENT_BUS_KAFKA_BOOTSTRAP_SERVERS", EDXBUS_SETTING_STR_NULL, "null", EDXBUS_SECRET_NONE,
     0, "\"kafka:9092\"", "Kafka brokers: host:port[,host:port...]"},
    {"EVENT_BUS_KAFKA_SCHEMA_REGISTRY_URL", EDXBUS_SETTING_STR_NULL, "null", EDXBUS_SECRET_URL,
     0, "\"http://schema-registry:8081\"", "Confluent schema registry URL"},
    {"EVENT_BUS_KAFKA_SCHEMA_REGISTRY_API_KEY", EDXBUS_SETTING_STR, "\"\"", EDXBUS_SECRET_NONE,
     0, "\"KEY\"", "Schema registry API key (the user name)"},
    {"EVENT_BUS_KAFKA_SCHEMA_REGISTRY_API_SECRET", EDXBUS_SETTING_STR, "\"\"", EDXBUS_SECRET_VALUE,
     0, "\"SECRET\"", "Schema registry API secret"},
    {"EVENT_BUS_KAFKA_API_KEY", EDXBUS_SETTING_STR_NULL, "null", EDXBUS_SECRET_NONE,
     0, "\"KEY\"", "Kafka SASL user (API key) for Confluent Cloud"},
    {"EVENT_BUS_KAFKA_API_SECRET", EDXBUS_SETTING_STR_NULL, "null", EDXBUS_SECRET_VALUE,
     0, "\"SECRET\"", "Kafka SASL password (API secret)"},
    {"EVENT_BUS_KAFKA_CONSUMER_POLL_TIMEOUT", EDXBUS_SETTING_DOUBLE, "1.0", EDXBUS_SECRET_NONE,
     0, "1.0", "Seconds a consumer poll waits for a message"},
    {"EVENT_BUS_KAFKA_CONSUMER_POLL_FAILURE_SLEEP", EDXBUS_SETTING_DOUBLE, "1.0", EDXBUS_SECRET_NONE,
     0, "1.0", "Seconds to sleep after a failed poll"},
    {"EVENT_BUS_KAFKA_CONSUMER_CONSECUTIVE_ERRORS_LIMIT", EDXBUS_SETTING_INT_NULL, "null",
     EDXBUS_SECRET_NONE, 0, "10",
     "Errors in a row (failed reads, events that failed, failed acks) before a consumer stops "
     "(null: EVENT_BUS_CONSUMER_CONSECUTIVE_ERRORS_LIMIT)"},
    {"EVENT_BUS_KAFKA_CONSUMERS_ENABLED", EDXBUS_SETTING_BOOL, "true", EDXBUS_SECRET_NONE,
     0, "false", "Whether Kafka consumers run at all"},
    {"EVENT_BUS_KAFKA_AUDIT_LOGGING_ENABLED", EDXBUS_SETTING_BOOL, "true", EDXBUS_SECRET_NONE,
     0, "false", "Log one line per event produced or consumed (Kafka)"},
    {"EVENT_BUS_KAFKA_POLL_INTERVAL_SEC", EDXBUS_SETTING_DOUBLE, "1.0", EDXBUS_SECRET_NONE,
     0, "1.0", "Seconds between producer polls for delivery reports"},
    {"EVENT_BUS_KAFKA_CONFIG", EDXBUS_SETTING_OBJECT, "{}", EDXBUS_SECRET_KEYS, 0, "{\"compression.type\": \"zstd\"}", "Extra librdkafka properties, applied last"},
    {NULL, 0, NULL, 0, 0, NULL, NULL},
};

void edxbus__kafka_check(const edxbus_conf_t *conf, const char *selected_by,
                         edxbus_problem_fn problem, void *opaque)
{
    static const char *const http[] = {"http", "https", NULL};
    char shown[96];
    const char *servers = edxbus_conf_get_str(conf, KAFKA_SETTING_BOOTSTRAP, NULL);
    if (servers != NULL && !edxbus_hostports_is_valid(servers))
        edxbus_problemf(problem, opaque, "%s: %s is not a list of host:port; expected e.g. %s",
                        KAFKA_SETTING_BOOTSTRAP,
                        edxbus_conf_show(conf, KAFKA_SETTING_BOOTSTRAP, shown, sizeof shown),
                        "\"kafka:9092\"");
    else if (servers == NULL && selected_by != NULL)
        edxbus_problemf(problem, opaque, "%s: the kafka backend needs %s (e.g. kafka:9092)",
                        selected_by, KAFKA_SETTING_BOOTSTRAP);
    edxbus_check_url_setting(conf, KAFKA_SETTING_REGISTRY_URL, http,
                             "e.g. \"http://schema-registry:8081\"", problem, opaque);
}

const char *const edxbus__kafka_admin_commands[] = {"schema-register", "schema-check", NULL};

edxbus_err_t edxbus__kafka_admin_open(const edxbus_conf_t *conf, void **adm, char *errstr,
                                      size_t errstr_size)
{
    edxbus__kafka_schemas_t *ks = NULL;
    edxbus_err_t err = edxbus__kafka_schemas_open(conf, &ks, errstr, errstr_size);
    *adm = ks;
    return err;
}

void edxbus__kafka_admin_close(void *adm)
{
    edxbus__kafka_schemas_close(adm);
}

edxbus_err_t edxbus__kafka_admin_run(void *adm, const char *command, const json_t *args,
                                     json_t **out, char *errstr, size_t errstr_size)
{
    static const char *const words[] = {
        [EDXBUS__KAFKA_COMPATIBLE] = "compatible",
        [EDXBUS__KAFKA_INCOMPATIBLE] = "incompatible",
        [EDXBUS__KAFKA_NOT_REGISTERED] = "not registered",
    };
    const char *topic = json_string_value(json_object_get(args, "topic"));
    const char *schema = json_string_value(json_object_get(args, "schema"));
    *out = NULL;
    if (topic == NULL || schema == NULL) {
        edxbus_errf(errstr, errstr_size, "kafka: %s needs a topic and a schema", command);
        return EDXBUS_ERR_INVALID_ARG;
    }
    char *subject = NULL;
    edxbus_err_t err;
    if (strcmp(command, "schema-register") == 0) {
        uint32_t id = 0;
        err = edxbus__kafka_schema_register(adm, topic, schema, &subject, &id, errstr,
                                            errstr_size);
        if (err == EDXBUS_OK)
            *out = json_pack("{s:s, s:I}", "subject", subject, "id", (json_int_t)id);
    } else if (strcmp(command, "schema-check") == 0) {
        enum edxbus__kafka_compat compat = EDXBUS__KAFKA_NOT_REGISTERED;
        err = edxbus__kafka_schema_check(adm, topic, schema, &subject, &compat, errstr,
                                         errstr_size);
        if (err == EDXBUS_OK)
            *out = json_pack("{s:s, s:s}", "subject", subject, "status", words[compat]);
    } else {
        edxbus_errf(errstr, errstr_size, "kafka: no admin command \"%s\"", command);
        return EDXBUS_ERR_UNSUPPORTED;
    }
    free(subject);
    if (err == EDXBUS_OK && *out == NULL) {
        edxbus_errf(errstr, errstr_size, "kafka: %s: out of memory", command);
        err = EDXBUS_ERR_NOMEM;
    }
    return err;
}
