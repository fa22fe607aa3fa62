/* tests/integration/kafka/kafka_events.h — numbered events through the Kafka backend's table,
 * for the tests of delivery and groups: the mock cluster `k` (the program starts it), producers
 * and consumers on it, event number n (id "ev-<n>", value the Avro string "v<n>"), and a
 * collector that polls until n records came, the lag of a group summed over the partitions,
 * and a check that each of a range of events came once. Header-only; include it once per test program.
 */
#ifndef EDXBUS_TEST_KAFKA_EVENTS_H
#define EDXBUS_TEST_KAFKA_EVENTS_H

#include <time.h>

#include "backends/kafka/kafka_int.h"
#include "kafka_harness.h"
#include "test.h"

static struct test_kafka k;
static const struct edxbus_backend_ops *ops = &edxbus_backend_kafka;
static const char *type = "org.openedx.learning.course.enrollment.created.v1";

static inline void *open_producer(void)
{
    char errstr[EDXBUS_ERRSTR_SIZE];
    edxbus_conf_t *conf = test_kafka_conf(&k);
    void *be = NULL;
    if (ops->producer_open(conf, &be, errstr, sizeof errstr) != EDXBUS_OK)
        fprintf(stderr, "producer_open: %s\n", errstr);
    edxbus_conf_destroy(conf);
    return be;
}

static inline void *open_consumer(const char *topic, const char *group, const char *start,
                           int64_t start_time_ms)
{
    char errstr[EDXBUS_ERRSTR_SIZE];
    edxbus_conf_t *conf = test_kafka_consumer_conf(&k);
    struct edxbus_consumer_opts opts = {.topic = topic, .group = group, .start = start,
                                        .start_time_ms = start_time_ms};
    void *be = NULL;
    if (ops->consumer_open(conf, &opts, &be, errstr, sizeof errstr) != EDXBUS_OK)
        fprintf(stderr, "consumer_open: %s\n", errstr);
    edxbus_conf_destroy(conf);
    return be;
}

/* Produce event number @p n (its id is "ev-<n>", its value the Avro string "v<n>"). */
static inline edxbus_err_t send_one(void *be, const char *topic, int n, edxbus_delivery_fn cb,
                             char *errstr, size_t errstr_size)
{
    struct edxbus_metadata md;
    edxbus_metadata_generate(&md, type, 0, "lms", errstr, errstr_size);
    snprintf(md.id, sizeof md.id, "ev-%d", n);
    uint8_t value[32];
    int len = snprintf((char *)value + 1, sizeof value - 1, "v%d", n);
    value[0] = (uint8_t)(len * 2);
    struct edxbus_msg msg = {.topic = topic, .metadata = &md, .value = value,
                             .value_len = (size_t)len + 1, .value_schema = "\"string\""};
    return ops->produce(be, &msg, cb, NULL, errstr, errstr_size);
}

static inline void send_range(const char *topic, int from, int to)
{
    char errstr[EDXBUS_ERRSTR_SIZE];
    void *be = open_producer();
    for (int n = from; n < to; n++)
        if (send_one(be, topic, n, NULL, errstr, sizeof errstr) != EDXBUS_OK)
            fprintf(stderr, "send: %s\n", errstr);
    ops->producer_close(be);
}

static inline int event_number(const struct edxbus_msg *msg)
{
    return msg->metadata != NULL && strncmp(msg->metadata->id, "ev-", 3) == 0
               ? (int)strtol(msg->metadata->id + 3, NULL, 10)
               : -1;
}

/* Poll until @p n records came (or 60 s passed without one); their numbers in @p got; ack
 * those for which @p ack_it says so (NULL: all). */
static inline int collect(void *be, int n, int *got, bool (*ack_it)(int))
{
    char errstr[EDXBUS_ERRSTR_SIZE];
    int count = 0;
    /* Give up after 60 s without a message. A deadline, not a count of empty polls: while the
     * mock coordinator rebalances a restarted group, poll can return at once, many times, and
     * a count ran out in a few seconds under ASan on a loaded machine. */
    time_t deadline = time(NULL) + 60;
    while (count < n && time(NULL) < deadline) {
        struct edxbus_batch batch;
        if (ops->poll(be, &batch, 16, 250, errstr, sizeof errstr) != EDXBUS_OK)
            fprintf(stderr, "poll: %s\n", errstr);
        if (batch.n == 0)
            continue;
        deadline = time(NULL) + 60;
        for (size_t i = 0; i < batch.n; i++) {
            int num = event_number(&batch.msgs[i]);
            if (count < n)
                got[count] = num;
            count++;
            if (ack_it == NULL || ack_it(num))
                ops->ack(be, &batch.msgs[i], errstr, sizeof errstr);
        }
    }
    return count;
}

/* The sum of "undelivered" over the partitions, or -1 when lag fails. */
static inline long lag_total(const char *topic, const char *group)
{
    char errstr[EDXBUS_ERRSTR_SIZE];
    edxbus_conf_t *conf = test_kafka_conf(&k);
    json_t *rows = NULL;
    long total = -1;
    if (ops->lag(conf, topic, group, &rows, errstr, sizeof errstr) == EDXBUS_OK) {
        total = 0;
        for (size_t i = 0; i < json_array_size(rows); i++)
            total += (long)json_integer_value(json_object_get(json_array_get(rows, i),
                                                              "undelivered"));
    } else {
        fprintf(stderr, "lag: %s\n", errstr);
    }
    json_decref(rows);
    edxbus_conf_destroy(conf);
    return total;
}

/* Every number in [from, to) exactly once among @p got[0..n), and nothing else. */
static inline void expect_each_once(const int *got, int n, int from, int to)
{
    int *seen = calloc((size_t)(to > 0 ? to : 1), sizeof *seen);
    for (int i = 0; i < n; i++) {
        if (got[i] < from || got[i] >= to)
            TEST_FAIL_("event %d came, only [%d, %d) were expected", got[i], from, to);
        if (++seen[got[i]] > 1)
            TEST_FAIL_("event %d came twice", got[i]);
    }
    for (int i = from; i < to; i++)
        if (seen[i] != 1)
            TEST_FAIL_("event %d never came", i);
    free(seen);
}

#endif /* EDXBUS_TEST_KAFKA_EVENTS_H */
