/* src/backends/kafka/kafka.c — the Kafka backend: settings, error classes, lag, ops table.
 *
 * The wire is edx-event-bus-kafka's (WIRE.md §4): one topic per full topic name, key and value
 * each Confluent-framed (0x00, the registry id, the Avro body) with their schemas registered
 * under topic_record_subject_name_strategy subjects, and ten CloudEvents headers carrying the
 * metadata. Python producers and consumers share topics and the registry with this backend.
 *
 * Unlike the reference, the producer asks for acks=all and idempotence and reports every
 * delivery, and the consumer commits only what was acknowledged (see kafka_consumer.c).
 * Settings: EVENT_BUS_KAFKA_BOOTSTRAP_SERVERS (required), …_SCHEMA_REGISTRY_URL (required),
 * …_SCHEMA_REGISTRY_API_KEY/_SECRET, …_API_KEY/_SECRET (SASL_SSL + PLAIN, as the reference),
 * …_CONSUMER_POLL_TIMEOUT, …_AUDIT_LOGGING_ENABLED, and EVENT_BUS_KAFKA_CONFIG: an object of
 * extra librdkafka properties applied last (values may be strings, numbers or booleans).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafka_int.h"

/* ------------------------------------------------------------------------------------------ */
/* Settings */

edxbus_err_t edxbus__kafka_rdconf_set(rd_kafka_conf_t *rdconf, const char *name,
                                      const char *value, char *errstr, size_t errstr_size)
{
    char why[256];
    if (rd_kafka_conf_set(rdconf, name, value, why, sizeof why) == RD_KAFKA_CONF_OK)
        return EDXBUS_OK;
    edxbus_errf(errstr, errstr_size, "%s: librdkafka property \"%.80s\": %.150s",
                KAFKA_SETTING_CONFIG, name, why);
    return EDXBUS_ERR_CONF;
}

edxbus_err_t edxbus__kafka_rdconf(const edxbus_conf_t *conf, rd_kafka_conf_t **out,
                                  char *errstr, size_t errstr_size)
{
    *out = NULL;
    const char *servers = edxbus_conf_get_str(conf, KAFKA_SETTING_BOOTSTRAP, NULL);
    if (servers == NULL || servers[0] == '\0') {
        edxbus_errf(errstr, errstr_size,
                    "%s is not set; set it to the Kafka brokers, e.g. kafka:9092",
                    KAFKA_SETTING_BOOTSTRAP);
        return EDXBUS_ERR_CONF;
    }
    rd_kafka_conf_t *rdconf = rd_kafka_conf_new();
    edxbus_err_t err = edxbus__kafka_rdconf_set(rdconf, "bootstrap.servers", servers, errstr,
                                                errstr_size);
    const char *key = edxbus_conf_get_str(conf, KAFKA_SETTING_API_KEY, NULL);
    const char *secret = edxbus_conf_get_str(conf, KAFKA_SETTING_API_SECRET, NULL);
    if (err == EDXBUS_OK && key != NULL && key[0] != '\0' && secret != NULL) {
        err = edxbus__kafka_rdconf_set(rdconf, "security.protocol", "SASL_SSL", errstr, errstr_size);
        if (err == EDXBUS_OK)
            err = edxbus__kafka_rdconf_set(rdconf, "sasl.mechanism", "PLAIN", errstr, errstr_size);
        if (err == EDXBUS_OK)
            err = edxbus__kafka_rdconf_set(rdconf, "sasl.username", key, errstr, errstr_size);
        if (err == EDXBUS_OK &&
            rd_kafka_conf_set(rdconf, "sasl.password", secret, NULL, 0) != RD_KAFKA_CONF_OK) {
            edxbus_errf(errstr, errstr_size, "%s: not accepted by librdkafka",
                        KAFKA_SETTING_API_SECRET);
            err = EDXBUS_ERR_CONF;
        }
    }
    const char *service = edxbus_conf_service_name(conf);
    if (err == EDXBUS_OK && service != NULL && service[0] != '\0')
        err = edxbus__kafka_rdconf_set(rdconf, "client.id", service, errstr, errstr_size);
    rd_kafka_conf_set_log_cb(rdconf, edxbus__kafka_log_cb);
    /* Extra properties last, so they win. */
    const json_t *extra = edxbus_conf_get(conf, KAFKA_SETTING_CONFIG);
    const char *name;
    const json_t *v;
    json_object_foreach((json_t *)extra, name, v)
    {
        if (err != EDXBUS_OK)
            break;
        char text[64];
        const char *value = NULL;
        if (json_is_string(v))
            value = json_string_value(v);
        else if (json_is_integer(v))
            snprintf(text, sizeof text, "%" JSON_INTEGER_FORMAT, json_integer_value(v)), value = text;
        else if (json_is_real(v))
            snprintf(text, sizeof text, "%.17g", json_real_value(v)), value = text;
        else if (json_is_boolean(v))
            value = json_is_true(v) ? "true" : "false";
        if (value == NULL) {
            edxbus_errf(errstr, errstr_size,
                        "%s: property \"%.80s\" must be a string, a number or a boolean",
                        KAFKA_SETTING_CONFIG, name);
            err = EDXBUS_ERR_CONF;
            break;
        }
        char why[256];
        if (rd_kafka_conf_set(rdconf, name, value, why, sizeof why) != RD_KAFKA_CONF_OK) {
            /* The value may be a secret (sasl.password…): name the property only. */
            edxbus_errf(errstr, errstr_size, "%s: librdkafka property \"%.80s\": %.150s",
                        KAFKA_SETTING_CONFIG, name, why);
            err = EDXBUS_ERR_CONF;
        }
    }
    if (err != EDXBUS_OK) {
        rd_kafka_conf_destroy(rdconf);
        return err;
    }
    *out = rdconf;
    return EDXBUS_OK;
}

edxbus_err_t edxbus__kafka_registry(const edxbus_conf_t *conf, kreg_t **out, char *errstr,
                                    size_t errstr_size)
{
    struct kreg_opts opts = {
        .url = edxbus_conf_get_str(conf, KAFKA_SETTING_REGISTRY_URL, NULL),
        .api_key = edxbus_conf_get_str(conf, KAFKA_SETTING_REGISTRY_KEY, NULL),
        .secret = edxbus_conf_get_str(conf, KAFKA_SETTING_REGISTRY_SECRET, NULL),
        .timeout_ms = 10000,
        .attempts = 3,
        .backoff_ms = 100,
    };
    return edxbus__kreg_new(&opts, out, errstr, errstr_size);
}

edxbus_err_t edxbus__kafka_err(rd_kafka_resp_err_t err)
{
    switch (err) {
    case RD_KAFKA_RESP_ERR_NO_ERROR:
        return EDXBUS_OK;
    case RD_KAFKA_RESP_ERR__QUEUE_FULL:
        return EDXBUS_ERR_QUEUE_FULL;
    case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT:
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
        return EDXBUS_ERR_TIMEOUT;
    case RD_KAFKA_RESP_ERR__TRANSPORT:
    case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
    case RD_KAFKA_RESP_ERR__RESOLVE:
        return EDXBUS_ERR_IO;
    case RD_KAFKA_RESP_ERR__AUTHENTICATION:
    case RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED:
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
        return EDXBUS_ERR_AUTH;
    case RD_KAFKA_RESP_ERR__FATAL:
        return EDXBUS_ERR_FATAL;
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
    case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
        return EDXBUS_ERR_NOT_FOUND;
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR__INVALID_ARG:
        return EDXBUS_ERR_INVALID_ARG;
    default:
        return EDXBUS_ERR_BROKER;
    }
}

void edxbus__kafka_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    /* Every handle's opaque points at a struct whose first member is its conf. */
    const edxbus_conf_t *const *confp = rd_kafka_opaque(rk);
    if (confp == NULL || *confp == NULL)
        return;
    const edxbus_conf_t *conf = *confp;
    edxbus_log_level_t lvl = level <= 3   ? EDXBUS_LOG_ERROR
                             : level == 4 ? EDXBUS_LOG_WARNING
                             : level <= 6 ? EDXBUS_LOG_INFO
                                          : EDXBUS_LOG_DEBUG;
    edxbus_conf_log(conf, lvl, "kafka: librdkafka %s %s: %s", rd_kafka_name(rk), fac, buf);
}

rd_kafka_topic_partition_list_t *edxbus__kafka_partitions(rd_kafka_t *rk, const char *topic,
                                                          edxbus_err_t *err, char *errstr,
                                                          size_t errstr_size)
{
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t rerr = rd_kafka_metadata(rk, 0, rkt, &md, KAFKA_META_TIMEOUT_MS);
    rd_kafka_topic_destroy(rkt);
    if (rerr == RD_KAFKA_RESP_ERR_NO_ERROR && md->topic_cnt == 1 && md->topics[0].err != 0)
        rerr = md->topics[0].err;
    if (rerr != RD_KAFKA_RESP_ERR_NO_ERROR || md->topic_cnt != 1 ||
        md->topics[0].partition_cnt == 0) {
        *err = rerr ? edxbus__kafka_err(rerr) : EDXBUS_ERR_NOT_FOUND;
        edxbus_errf(errstr, errstr_size, "kafka: metadata of topic \"%.150s\": %s", topic,
                    rerr ? rd_kafka_err2str(rerr) : "no partitions");
        if (md != NULL)
            rd_kafka_metadata_destroy(md);
        return NULL;
    }
    const struct rd_kafka_metadata_topic *t = &md->topics[0];
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(t->partition_cnt);
    for (int i = 0; i < t->partition_cnt; i++)
        rd_kafka_topic_partition_list_add(parts, topic, t->partitions[i].id);
    rd_kafka_metadata_destroy(md);
    rd_kafka_topic_partition_list_sort(parts, NULL, NULL);
    return parts;
}

/* ------------------------------------------------------------------------------------------ */
/* Lag, without joining the group: per partition, the records the group's next member will read,
 * by the start rule of kafka_offsets.c. A partition with a committed offset counts from there;
 * in a group that exists, a partition without one counts from its oldest record (where the
 * member will start). A group without any committed offset on the topic does not exist yet:
 * where it will start depends on its `start`, so lag reports it as not found. "pending"
 * (delivered but not acknowledged) is null: Kafka keeps no such count outside the member. */

static edxbus_err_t kafka_lag(const edxbus_conf_t *conf, const char *topic, const char *group,
                              json_t **out, char *errstr, size_t errstr_size)
{
    *out = NULL;
    rd_kafka_conf_t *rdconf;
    edxbus_err_t err = edxbus__kafka_rdconf(conf, &rdconf, errstr, errstr_size);
    if (err != EDXBUS_OK)
        return err;
    if (group != NULL && group[0] != '\0' &&
        (err = edxbus__kafka_rdconf_set(rdconf, "group.id", group, errstr, errstr_size)) !=
            EDXBUS_OK) {
        rd_kafka_conf_destroy(rdconf);
        return err;
    }
    const edxbus_conf_t *confp = conf; /* the log callback's opaque: lives until destroy */
    rd_kafka_conf_set_opaque(rdconf, &confp);
    char why[256];
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, rdconf, why, sizeof why);
    if (rk == NULL) {
        rd_kafka_conf_destroy(rdconf);
        edxbus_errf(errstr, errstr_size, "kafka: cannot make a consumer: %.200s", why);
        return EDXBUS_ERR_CONF;
    }
    rd_kafka_topic_partition_list_t *parts =
        edxbus__kafka_partitions(rk, topic, &err, errstr, errstr_size);
    if (parts == NULL) {
        rd_kafka_destroy(rk);
        return err;
    }
    rd_kafka_resp_err_t rerr = RD_KAFKA_RESP_ERR_NO_ERROR;
    if (group != NULL && group[0] != '\0')
        rerr = rd_kafka_committed(rk, parts, KAFKA_META_TIMEOUT_MS);
    bool exists = group == NULL || group[0] == '\0';
    for (int i = 0; rerr == RD_KAFKA_RESP_ERR_NO_ERROR && i < parts->cnt; i++)
        exists = exists || parts->elems[i].offset >= 0;
    if (rerr == RD_KAFKA_RESP_ERR_NO_ERROR && !exists) {
        rd_kafka_topic_partition_list_destroy(parts);
        rd_kafka_destroy(rk);
        edxbus_errf(errstr, errstr_size,
                    "kafka: group \"%.80s\" has no committed offset on \"%.80s\": it has not "
                    "consumed this topic yet (check the group name)",
                    group, topic);
        return EDXBUS_ERR_NOT_FOUND;
    }
    json_t *rows = json_array();
    for (int i = 0; rerr == RD_KAFKA_RESP_ERR_NO_ERROR && i < parts->cnt; i++) {
        int64_t lo = 0, hi = 0;
        rerr = rd_kafka_query_watermark_offsets(rk, topic, parts->elems[i].partition, &lo, &hi,
                                                KAFKA_META_TIMEOUT_MS);
        if (rerr != RD_KAFKA_RESP_ERR_NO_ERROR)
            break;
        int64_t committed = parts->elems[i].offset;
        int64_t from = committed >= 0 ? committed : lo;
        json_array_append_new(rows, edxbus_lag_row(group, NULL, parts->elems[i].partition, -1,
                                                   hi > from ? hi - from : 0, -1));
    }
    rd_kafka_topic_partition_list_destroy(parts);
    rd_kafka_destroy(rk);
    if (rerr != RD_KAFKA_RESP_ERR_NO_ERROR) {
        json_decref(rows);
        edxbus_errf(errstr, errstr_size, "kafka: lag of group \"%.80s\" on \"%.80s\": %s",
                    group ? group : "", topic, rd_kafka_err2str(rerr));
        return edxbus__kafka_err(rerr);
    }
    *out = rows;
    return EDXBUS_OK;
}

/* ------------------------------------------------------------------------------------------ */

static const char *const kafka_aliases[] = {
    "edx_event_bus_kafka.create_producer",
    "edx_event_bus_kafka.KafkaEventConsumer",
    NULL,
};

const struct edxbus_backend_ops edxbus_backend_kafka = {
    .abi_version = EDXBUS_BACKEND_ABI,
    .name = "kafka",
    .aliases = kafka_aliases,
    .producer_open = edxbus__kafka_producer_open,
    .produce = edxbus__kafka_produce,
    .flush = edxbus__kafka_flush,
    .producer_close = edxbus__kafka_producer_close,
    .consumer_open = edxbus__kafka_consumer_open,
    .poll = edxbus__kafka_poll,
    .ack = edxbus__kafka_ack,
    .consumer_close = edxbus__kafka_consumer_close,
    .lag = kafka_lag,
    .settings = edxbus__kafka_settings,
    .check = edxbus__kafka_check,
    .admin_commands = edxbus__kafka_admin_commands,
    .admin_open = edxbus__kafka_admin_open,
    .admin_run = edxbus__kafka_admin_run,
    .admin_close = edxbus__kafka_admin_close,
    .caught_up = edxbus__kafka_caught_up,
    .doctor = edxbus__kafka_doctor,
    .wake = edxbus__kafka_wake,
};
