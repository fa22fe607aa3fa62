/* src/backends/kafka/kafka_int.h — private to the Kafka backend (src/backends/kafka/).
 *
 * The backend is six files behind the one ops table at the bottom of kafka.c:
 *   registry.c        the Confluent Schema Registry client (registry.h)
 *   kafka.c           settings -> librdkafka configuration, error classes, lag(), the ops table
 *   kafka_wire.c      one edxbus_msg <-> one Kafka record: Confluent framing, subjects, the ten
 *                     CloudEvents headers of edx-event-bus-kafka (WIRE.md §4)
 *   kafka_producer.c  idempotent producer (acks=all), synchronous or with delivery callbacks
 *   kafka_consumer.c  consumer groups, replay by time, tail mode
 *   kafka_doctor.c    `edxbus doctor`: topics, auto-create, the registry, dead letters, lag
 *   kafka_offsets.c   where a group starts (per group: a new one per `start`, an existing one
 *                     resumes), commits on ack (contiguous acked prefix per partition), retried
 *                     until the broker confirms them (kafka_consumer_int.h)
 * Nothing outside this folder includes this header. Thread rule: every struct here belongs to
 * one backend handle, used by one thread at a time.
 */
#ifndef EDXBUS_KAFKA_INT_H
#define EDXBUS_KAFKA_INT_H

#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "registry.h"
#include "edxbus/backend.h"
#include "edxbus/backend_util.h"
#include "edxbus/buf.h"

/** The ops table (bottom of kafka.c); the backend registry lists it among the built-ins. */
extern const struct edxbus_backend_ops edxbus_backend_kafka;

/* The settings this backend reads (names and defaults as edx-event-bus-kafka). */
#define KAFKA_SETTING_BOOTSTRAP "EVENT_BUS_KAFKA_BOOTSTRAP_SERVERS"
#define KAFKA_SETTING_REGISTRY_URL "EVENT_BUS_KAFKA_SCHEMA_REGISTRY_URL"
#define KAFKA_SETTING_REGISTRY_KEY "EVENT_BUS_KAFKA_SCHEMA_REGISTRY_API_KEY"
#define KAFKA_SETTING_REGISTRY_SECRET "EVENT_BUS_KAFKA_SCHEMA_REGISTRY_API_SECRET"
#define KAFKA_SETTING_API_KEY "EVENT_BUS_KAFKA_API_KEY"
#define KAFKA_SETTING_API_SECRET "EVENT_BUS_KAFKA_API_SECRET"
#define KAFKA_SETTING_POLL_TIMEOUT "EVENT_BUS_KAFKA_CONSUMER_POLL_TIMEOUT"
#define KAFKA_SETTING_AUDIT "EVENT_BUS_KAFKA_AUDIT_LOGGING_ENABLED"
#define KAFKA_SETTING_CONFIG "EVENT_BUS_KAFKA_CONFIG" /* extra librdkafka properties, last */

#define KAFKA_FRAME_LEN 5          /* 0x00 + 4-byte big-endian schema id */
#define KAFKA_CLOSE_FLUSH_MS 10000 /* producer_close waits this long for deliveries */
#define KAFKA_META_TIMEOUT_MS 5000 /* metadata, committed offsets, offsets_for_times */

/* ------------------------------------------------------------------------------------------ */
/* Settings and errors (kafka.c) */

/** librdkafka configuration from the settings: bootstrap.servers, SASL_SSL + PLAIN when
 *  EVENT_BUS_KAFKA_API_KEY/_SECRET are set, client.id = the service name, then every pair of
 *  EVENT_BUS_KAFKA_CONFIG. Errors: EDXBUS_ERR_CONF naming the setting (never a secret). */
edxbus_err_t edxbus__kafka_rdconf(const edxbus_conf_t *conf, rd_kafka_conf_t **out,
                                  char *errstr, size_t errstr_size);
/** Set one librdkafka property. Errors: EDXBUS_ERR_CONF. */
edxbus_err_t edxbus__kafka_rdconf_set(rd_kafka_conf_t *rdconf, const char *name,
                                      const char *value, char *errstr, size_t errstr_size);
/** A registry client from the settings. Errors: EDXBUS_ERR_CONF, EDXBUS_ERR_NOMEM. */
edxbus_err_t edxbus__kafka_registry(const edxbus_conf_t *conf, kreg_t **out, char *errstr,
                                    size_t errstr_size);
/** The edxbus error class of a librdkafka error. */
edxbus_err_t edxbus__kafka_err(rd_kafka_resp_err_t err);
/** Forward librdkafka's own log lines to the conf's log callback (set as opaque). */
void edxbus__kafka_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf);

/* ------------------------------------------------------------------------------------------ */
/* Wire (kafka_wire.c) */

/** The subject a value schema goes under: "<topic>-<namespace>.<name>" of the schema's record
 *  ("…-org.openedx…v1.CloudEvent"); for a key "<topic>-<type>" ("…-string", "…-long"),
 *  the Avro type the key field has (WIRE.md §4.2). Returns new (free it); NULL: no memory. */
char *edxbus__kafka_subject(const char *topic, const char *schema, bool is_key);

/** Append 0x00 + big-endian @p id + @p body to @p out (reset first). */
edxbus_err_t edxbus__kafka_frame(struct edxbus_buf *out, uint32_t id, const uint8_t *body,
                                 size_t len);

/** The ten reference headers for @p msg's metadata (written by @p ce, the toolkit's writer,
 *  reused across sends), then @p msg's extra headers.
 *  Returns new headers (rd_kafka_headers_destroy, or hand to producev) or NULL with errstr. */
rd_kafka_headers_t *edxbus__kafka_headers(const struct edxbus_msg *msg,
                                          struct edxbus_ce_writer *ce, char *errstr,
                                          size_t errstr_size);

/** Fill @p msg from @p rkm: position, time, key and value bodies (framing stripped; the schema
 *  ids in *@p key_id / *@p value_id, or -1 when unframed), metadata from the headers by the
 *  reference's rules, extra headers. An unreadable record gets msg->unusable.
 *  Errors: EDXBUS_ERR_NOMEM. */
edxbus_err_t edxbus__kafka_wire_parse(const rd_kafka_message_t *rkm, const char *service_name,
                                      struct edxbus_msg *msg, struct edxbus_slot *slot,
                                      int64_t *key_id, int64_t *value_id);

/** A key body as text for log lines: the string, or the long, else hex. */
void edxbus__kafka_key_text(const uint8_t *key, size_t len, char *out, size_t size);

/* ------------------------------------------------------------------------------------------ */
/* Producer and consumer (kafka_producer.c, kafka_consumer.c): the ops slots. */

edxbus_err_t edxbus__kafka_producer_open(const edxbus_conf_t *conf, void **be, char *errstr,
                                         size_t errstr_size);
edxbus_err_t edxbus__kafka_produce(void *be, const struct edxbus_msg *msg, edxbus_delivery_fn cb,
                                   void *cb_opaque, char *errstr, size_t errstr_size);
edxbus_err_t edxbus__kafka_flush(void *be, int timeout_ms, char *errstr, size_t errstr_size);
void edxbus__kafka_producer_close(void *be);

edxbus_err_t edxbus__kafka_consumer_open(const edxbus_conf_t *conf,
                                         const struct edxbus_consumer_opts *opts, void **be,
                                         char *errstr, size_t errstr_size);
edxbus_err_t edxbus__kafka_poll(void *be, struct edxbus_batch *out, size_t max, int timeout_ms,
                                char *errstr, size_t errstr_size);
edxbus_err_t edxbus__kafka_ack(void *be, const struct edxbus_msg *msg, char *errstr,
                               size_t errstr_size);
void edxbus__kafka_consumer_close(void *be);
/** The wake slot (async-signal-safe). */
void edxbus__kafka_wake(void *be);
edxbus_err_t edxbus__kafka_caught_up(void *be, bool *done, char *errstr, size_t errstr_size);

/** Partitions of @p topic (a new list, every offset RD_KAFKA_OFFSET_INVALID) or NULL with
 *  errstr (EDXBUS_ERR_NOT_FOUND / broker errors in *@p err). */
rd_kafka_topic_partition_list_t *edxbus__kafka_partitions(rd_kafka_t *rk, const char *topic,
                                                          edxbus_err_t *err, char *errstr,
                                                          size_t errstr_size);

/* kafka_module.c: the module's rows, config check and admin commands (backend.h, ABI 2). */
extern const struct edxbus_setting edxbus__kafka_settings[];
void edxbus__kafka_check(const edxbus_conf_t *conf, const char *selected_by,
                         edxbus_problem_fn problem, void *opaque);
extern const char *const edxbus__kafka_admin_commands[];
edxbus_err_t edxbus__kafka_admin_open(const edxbus_conf_t *conf, void **adm, char *errstr,
                                      size_t errstr_size);
edxbus_err_t edxbus__kafka_admin_run(void *adm, const char *command, const json_t *args,
                                     json_t **out, char *errstr, size_t errstr_size);
void edxbus__kafka_admin_close(void *adm);

/* kafka_doctor.c: the doctor slot (backend.h, ABI 4). */
edxbus_err_t edxbus__kafka_doctor(const edxbus_conf_t *conf, const struct edxbus_doctor_opts *opts,
                                  edxbus_finding_fn report, void *opaque, char *errstr,
                                  size_t errstr_size);

#endif /* EDXBUS_KAFKA_INT_H */
