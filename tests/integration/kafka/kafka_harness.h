/* tests/integration/kafka/kafka_harness.h — what the Kafka test programs share.
 *
 * A librdkafka mock cluster (rd_kafka_mock_cluster_new on a dedicated handle, brokers on
 * loopback), the in-memory Schema Registry (registry_server.h), a conf pointing at both, the
 * vector rows of tests/vectors/kafka.jsonl, hex helpers, and a raw librdkafka consumer/producer
 * to look at or write the wire without the backend. Header-only (static functions).
 */
#ifndef EDXBUS_TEST_KAFKA_HARNESS_H
#define EDXBUS_TEST_KAFKA_HARNESS_H

#include <errno.h>
#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "edxbus/backend.h"
#include "edxbus/conf.h"
#include "registry_server.h"
#include "../../vector_rows.h"

struct test_kafka {
    rd_kafka_t *rk;                 /* the handle owning the mock cluster */
    rd_kafka_mock_cluster_t *mcluster;
    const char *bootstraps;
    struct test_registry registry;
};

static inline void test_kafka_sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static inline int64_t test_kafka_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A mock cluster of @p brokers brokers plus a registry. Exits 77 (skip) when the mock cluster
 * cannot start (librdkafka built without it). */
static inline void test_kafka_start(struct test_kafka *k, int brokers)
{
    char errstr[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "0", errstr, sizeof errstr);
    k->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    k->mcluster = k->rk ? rd_kafka_mock_cluster_new(k->rk, brokers) : NULL;
    if (k->mcluster == NULL) {
        fprintf(stderr, "SKIP: librdkafka mock cluster unavailable (%s)\n", errstr);
        exit(77);
    }
    k->bootstraps = rd_kafka_mock_cluster_bootstraps(k->mcluster);
    if (!test_registry_start(&k->registry)) {
        fprintf(stderr, "SKIP: cannot start the registry test server (libmicrohttpd)\n");
        exit(77);
    }
}

static inline void test_kafka_stop(struct test_kafka *k)
{
    test_registry_stop(&k->registry);
    rd_kafka_mock_cluster_destroy(k->mcluster);
    rd_kafka_destroy(k->rk);
}

static inline void test_kafka_topic(struct test_kafka *k, const char *topic, int partitions)
{
    rd_kafka_mock_topic_create(k->mcluster, topic, partitions, 1);
}

static void test_kafka_log(edxbus_log_level_t level, const char *line, void *opaque)
{
    (void)opaque;
    if (level <= EDXBUS_LOG_WARNING || getenv("EDXBUS_TEST_VERBOSE") != NULL)
        fprintf(stderr, "log %d: %s\n", (int)level, line);
}

/* Settings pointing at the mock cluster and the registry; quick timeouts for tests. Set
 * EDXBUS_TEST_VERBOSE to see every log line, EDXBUS_TEST_KAFKA_DEBUG to librdkafka's debug. */
static inline edxbus_conf_t *test_kafka_conf_with(const struct test_kafka *k, const char *more)
{
    char errstr[256];
    edxbus_conf_t *conf = edxbus_conf_new();
    edxbus_conf_set_log(conf, test_kafka_log, NULL);
    edxbus_conf_set(conf, "EVENT_BUS_KAFKA_BOOTSTRAP_SERVERS", k->bootstraps, errstr, sizeof errstr);
    edxbus_conf_set(conf, "EVENT_BUS_KAFKA_SCHEMA_REGISTRY_URL", k->registry.url, errstr,
                    sizeof errstr);
    edxbus_conf_set(conf, "EVENT_BUS_KAFKA_CONSUMER_POLL_TIMEOUT", "0.2", errstr, sizeof errstr);
    edxbus_conf_set(conf, "EVENT_BUS_KAFKA_AUDIT_LOGGING_ENABLED", "false", errstr, sizeof errstr);
    char extra[256];
    const char *debug = getenv("EDXBUS_TEST_KAFKA_DEBUG");
    snprintf(extra, sizeof extra,
             "{\"topic.metadata.refresh.interval.ms\": 1000%s%s%s%s}",
             debug ? ", \"debug\": \"" : "", debug ? debug : "", debug ? "\"" : "", more);
    if (edxbus_conf_set(conf, "EVENT_BUS_KAFKA_CONFIG", extra, errstr, sizeof errstr) != EDXBUS_OK)
        fprintf(stderr, "conf: %s\n", errstr);
    return conf;
}

static inline edxbus_conf_t *test_kafka_conf(const struct test_kafka *k)
{
    return test_kafka_conf_with(k, "");
}

/* For consumers: the mock coordinator waits for a departed member's session timeout before it
 * answers the next JoinGroup, so keep sessions short. */
static inline edxbus_conf_t *test_kafka_consumer_conf(const struct test_kafka *k)
{
    return test_kafka_conf_with(k, ", \"session.timeout.ms\": 6000, \"heartbeat.interval.ms\": 500");
}

/* ------------------------------------------------------------------------------------------ */
/* Hex and vectors */

static inline json_t *test_kafka_rows(void)
{
    return test_vector_rows("kafka.jsonl");
}

/* ------------------------------------------------------------------------------------------ */
/* Raw librdkafka clients (no backend) */

static inline rd_kafka_t *test_kafka_raw_producer(const struct test_kafka *k)
{
    char errstr[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", k->bootstraps, errstr, sizeof errstr);
    return rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
}

/* A group-less consumer assigned to every partition of @p topic from the beginning. */
static inline rd_kafka_t *test_kafka_raw_reader(const struct test_kafka *k, const char *topic,
                                                int partitions)
{
    char errstr[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", k->bootstraps, errstr, sizeof errstr);
    rd_kafka_conf_set(conf, "enable.partition.eof", "false", errstr, sizeof errstr);
    /* A group id only so that consumer_poll() works; assign() never joins it. */
    rd_kafka_conf_set(conf, "group.id", "test-raw-reader", errstr, sizeof errstr);
    rd_kafka_conf_set(conf, "enable.auto.commit", "false", errstr, sizeof errstr);
    rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof errstr);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(partitions);
    for (int p = 0; p < partitions; p++)
        rd_kafka_topic_partition_list_add(parts, topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_assign(rk, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    return rk;
}

/* The next message of a raw reader (NULL after @p timeout_ms). Destroy it. */
static inline rd_kafka_message_t *test_kafka_raw_next(rd_kafka_t *rk, int timeout_ms)
{
    int64_t end = test_kafka_now_ms() + timeout_ms;
    while (test_kafka_now_ms() < end) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (m == NULL)
            continue;
        if (m->err == 0)
            return m;
        rd_kafka_message_destroy(m);
    }
    return NULL;
}

#endif /* EDXBUS_TEST_KAFKA_HARNESS_H */
