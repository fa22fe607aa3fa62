/* tests/integration/kafka/test_kafka_delivery.c — delivery contracts on the mock cluster.
 *
 * Commits only for acknowledged records (an out-of-order ack never skips an unacked one); a
 * consumer closed without acking (killed) and restarted loses nothing; new groups start at the
 * end unless "earliest"; lag; broker errors injected through the mock (request errors, a broker
 * down) are ridden out; a registry that is down at start, at send or at consume gives clear
 * errors and loses nothing. Replay by time and seek: test_kafka_replay.c.
 */
#include <time.h>

#include "kafka_events.h"
#include "test.h"

static bool ack_all_but_3(int n)
{
    return n != 3;
}

TEST(test_out_of_order_acks_commit_the_contiguous_prefix)
{
    const char *topic = "d-prefix";
    test_kafka_topic(&k, topic, 1);
    send_range(topic, 0, 10);
    void *be = open_consumer(topic, "g-prefix", "earliest", -1);
    int got[10];
    ASSERT_EQ_INT(collect(be, 10, got, ack_all_but_3), 10);
    for (int i = 0; i < 10; i++)
        ASSERT_EQ_INT(got[i], i);
    ops->consumer_close(be); /* 0-2 and 4-9 acked, 3 not: only 0..2 may be committed */
    be = open_consumer(topic, "g-prefix", "earliest", -1);
    ASSERT_EQ_INT(collect(be, 7, got, NULL), 7);
    ASSERT_EQ_INT(got[0], 3); /* the unacked one comes back first */
    ASSERT_EQ_INT(got[6], 9);
    ops->consumer_close(be);
    /* Everything acked now: a restart gets nothing. */
    be = open_consumer(topic, "g-prefix", "earliest", -1);
    char errstr[EDXBUS_ERRSTR_SIZE];
    struct edxbus_batch batch;
    for (int i = 0; i < 8; i++) {
        ASSERT_EQ_INT(ops->poll(be, &batch, 16, 250, errstr, sizeof errstr), EDXBUS_OK);
        ASSERT_EQ_INT(batch.n, 0);
    }
    ops->consumer_close(be);
}

static bool ack_below_5(int n)
{
    return n < 5;
}

TEST(test_killed_consumer_loses_nothing)
{
    const char *topic = "d-kill";
    test_kafka_topic(&k, topic, 3);
    send_range(topic, 0, 30);
    void *be = open_consumer(topic, "g-kill", "earliest", -1);
    int got[64];
    ASSERT_EQ_INT(collect(be, 30, got, ack_below_5), 30);
    ops->consumer_close(be); /* "killed": 5..29 never acknowledged */
    be = open_consumer(topic, "g-kill", "earliest", -1);
    int again[64];
    int n = collect(be, 25, again, NULL);
    ASSERT_TRUE(n >= 25);
    bool seen[30] = {false};
    for (int i = 0; i < 5; i++)
        seen[i] = true;
    for (int i = 0; i < n && i < 64; i++)
        if (again[i] >= 0 && again[i] < 30)
            seen[again[i]] = true;
    for (int i = 0; i < 30; i++)
        ASSERT_TRUE(seen[i]);
    ops->consumer_close(be);
}

TEST(test_new_group_starts_at_the_end)
{
    const char *topic = "d-latest";
    test_kafka_topic(&k, topic, 1);
    send_range(topic, 0, 3);
    void *be = open_consumer(topic, "g-latest", NULL, -1);
    void *prod = open_producer();
    char errstr[EDXBUS_ERRSTR_SIZE];
    int first = -1;
    /* Keep producing new events until the consumer sees one: it never sees 0..2. A deadline,
     * not a count of polls: while the mock coordinator has the new member join, poll returns at
     * once, many times (see collect()). */
    time_t deadline = time(NULL) + 60;
    for (int n = 100; first < 0 && time(NULL) < deadline; n++) {
        ASSERT_EQ_INT(send_one(prod, topic, n, NULL, errstr, sizeof errstr), EDXBUS_OK);
        struct edxbus_batch batch;
        ASSERT_EQ_INT(ops->poll(be, &batch, 16, 250, errstr, sizeof errstr), EDXBUS_OK);
        if (batch.n > 0)
            first = event_number(&batch.msgs[0]);
    }
    ASSERT_TRUE(first >= 100);
    ops->producer_close(prod);
    ops->consumer_close(be);
    /* "earliest" for a new group reads from the start. */
    be = open_consumer(topic, "g-earliest", "earliest", -1);
    /* One poll may bring several events (the fetch returns what the broker has); what
     * matters is that the first one is the oldest. */
    int got[1];
    ASSERT_TRUE(collect(be, 1, got, NULL) >= 1);
    ASSERT_EQ_INT(got[0], 0);
    ops->consumer_close(be);
}

TEST(test_lag)
{
    const char *topic = "d-lag";
    test_kafka_topic(&k, topic, 1);
    send_range(topic, 0, 10);
    void *be = open_consumer(topic, "g-lag", "earliest", -1);
    int got[10];
    ASSERT_EQ_INT(collect(be, 10, got, ack_below_5), 10);
    ops->consumer_close(be);
    edxbus_conf_t *conf = test_kafka_conf(&k);
    char errstr[EDXBUS_ERRSTR_SIZE];
    json_t *rows = NULL;
    ASSERT_EQ_INT(ops->lag(conf, topic, "g-lag", &rows, errstr, sizeof errstr), EDXBUS_OK);
    ASSERT_EQ_INT(json_array_size(rows), 1);
    ASSERT_EQ_INT(json_integer_value(json_object_get(json_array_get(rows, 0), "undelivered")), 5);
    ASSERT_EQ_INT(json_integer_value(json_object_get(json_array_get(rows, 0), "partition")), 0);
    /* Kafka cannot count what a member holds unacknowledged: pending says "unknown". */
    ASSERT_TRUE(json_is_null(json_object_get(json_array_get(rows, 0), "pending")));
    json_decref(rows);
    /* A group that never consumed the topic does not exist: where it would start depends on
     * its start option, so lag names it instead of guessing. */
    rows = NULL;
    ASSERT_EQ_INT(ops->lag(conf, topic, "g-never", &rows, errstr, sizeof errstr),
                  EDXBUS_ERR_NOT_FOUND);
    ASSERT_CONTAINS(errstr, "g-never");
    ASSERT_TRUE(rows == NULL);
    edxbus_conf_destroy(conf);
}

static int async_ok, async_failed;
static void on_report(void *opaque, const struct edxbus_msg *msg, edxbus_err_t err,
                      const char *errstr, const char *position)
{
    (void)opaque;
    (void)msg;
    (void)errstr;
    if (err == EDXBUS_OK && position != NULL && strchr(position, ':') != NULL)
        async_ok++;
    else
        async_failed++;
}

TEST(test_broker_errors_are_survived)
{
    const char *topic = "d-errors";
    test_kafka_topic(&k, topic, 1);
    char errstr[EDXBUS_ERRSTR_SIZE];
    void *prod = open_producer();
    ASSERT_EQ_INT(send_one(prod, topic, 0, NULL, errstr, sizeof errstr), EDXBUS_OK);
    /* Produce requests fail with retriable errors a few times. */
    rd_kafka_mock_push_request_errors(k.mcluster, 0 /* Produce */, 3,
                                      RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
                                      RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
                                      RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS);
    ASSERT_EQ_INT(send_one(prod, topic, 1, NULL, errstr, sizeof errstr), EDXBUS_OK);
    /* The broker goes down with messages queued, then comes back. */
    rd_kafka_mock_broker_set_down(k.mcluster, 1);
    async_ok = async_failed = 0;
    for (int n = 2; n < 12; n++)
        ASSERT_EQ_INT(send_one(prod, topic, n, on_report, errstr, sizeof errstr), EDXBUS_OK);
    ASSERT_EQ_INT(ops->flush(prod, 100, errstr, sizeof errstr), EDXBUS_ERR_TIMEOUT);
    rd_kafka_mock_broker_set_up(k.mcluster, 1);
    ASSERT_EQ_INT(ops->flush(prod, 30000, errstr, sizeof errstr), EDXBUS_OK);
    ASSERT_EQ_INT(async_ok, 10);
    ASSERT_EQ_INT(async_failed, 0);
    ops->producer_close(prod);
    /* Fetch and commit errors on the consumer side. */
    rd_kafka_mock_push_request_errors(k.mcluster, 1 /* Fetch */, 2,
                                      RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
                                      RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART);
    void *be = open_consumer(topic, "g-errors", "earliest", -1);
    int got[12];
    ASSERT_EQ_INT(collect(be, 12, got, NULL), 12);
    for (int i = 0; i < 12; i++)
        ASSERT_EQ_INT(got[i], i); /* no duplicates from the retries (idempotence), in order */
    ops->consumer_close(be);
}

TEST(test_registry_down_gives_clear_errors)
{
    const char *topic = "d-registry";
    test_kafka_topic(&k, topic, 1);
    test_registry_reset(&k.registry);
    test_registry_down(&k.registry);
    char errstr[EDXBUS_ERRSTR_SIZE];
    /* Down at start: opening works (the registry is needed at the first send)... */
    void *prod = open_producer();
    ASSERT_TRUE(prod != NULL);
    /* ...and the send says what is wrong. */
    ASSERT_EQ_INT(send_one(prod, topic, 0, NULL, errstr, sizeof errstr), EDXBUS_ERR_IO);
    ASSERT_CONTAINS(errstr, "schema registry");
    ASSERT_CONTAINS(errstr, k.registry.url);
    ASSERT_TRUE(edxbus_err_is_retriable(EDXBUS_ERR_IO));
    ASSERT_TRUE(test_registry_resume(&k.registry));
    ASSERT_EQ_INT(send_one(prod, topic, 0, NULL, errstr, sizeof errstr), EDXBUS_OK);
    ASSERT_EQ_INT(send_one(prod, topic, 1, NULL, errstr, sizeof errstr), EDXBUS_OK);
    ops->producer_close(prod);
    /* Down while consuming: poll fails and keeps the records for the next poll. */
    test_registry_down(&k.registry);
    void *be = open_consumer(topic, "g-registry", "earliest", -1);
    struct edxbus_batch batch = {0};
    edxbus_err_t err = EDXBUS_OK;
    for (int i = 0; i < 60 && err == EDXBUS_OK; i++)
        err = ops->poll(be, &batch, 16, 250, errstr, sizeof errstr);
    ASSERT_EQ_INT(err, EDXBUS_ERR_IO);
    ASSERT_CONTAINS(errstr, "fetching schema id");
    ASSERT_CONTAINS(errstr, "kept for the next poll");
    ASSERT_TRUE(test_registry_resume(&k.registry));
    int got[2];
    ASSERT_EQ_INT(collect(be, 2, got, NULL), 2);
    ASSERT_EQ_INT(got[0], 0);
    ASSERT_EQ_INT(got[1], 1);
    ops->consumer_close(be);
    /* No registry URL at all: a configuration error naming the setting. */
    edxbus_conf_t *conf = edxbus_conf_new();
    edxbus_conf_set(conf, "EVENT_BUS_KAFKA_BOOTSTRAP_SERVERS", k.bootstraps, errstr, sizeof errstr);
    ASSERT_EQ_INT(ops->producer_open(conf, &prod, errstr, sizeof errstr), EDXBUS_ERR_CONF);
    ASSERT_CONTAINS(errstr, "EVENT_BUS_KAFKA_SCHEMA_REGISTRY_URL");
    edxbus_conf_destroy(conf);
    conf = edxbus_conf_new();
    ASSERT_EQ_INT(ops->producer_open(conf, &prod, errstr, sizeof errstr), EDXBUS_ERR_CONF);
    edxbus_conf_destroy(conf);
}

TEST(test_settings)
{
    char errstr[EDXBUS_ERRSTR_SIZE];
    edxbus_conf_t *conf = test_kafka_conf(&k);
    ASSERT_EQ_INT(edxbus_conf_set(conf, "EVENT_BUS_KAFKA_CONFIG",
                                  "{\"no.such.property\": \"x\", \"sasl.password\": \"hunter2\"}",
                                  errstr, sizeof errstr),
                  EDXBUS_OK);
    void *be = NULL;
    ASSERT_EQ_INT(ops->producer_open(conf, &be, errstr, sizeof errstr), EDXBUS_ERR_CONF);
    ASSERT_CONTAINS(errstr, "no.such.property");
    ASSERT_TRUE(strstr(errstr, "hunter2") == NULL);
    edxbus_conf_destroy(conf);
    /* API key and secret select SASL_SSL + PLAIN, as the reference. */
    conf = test_kafka_conf(&k);
    edxbus_conf_set(conf, "EVENT_BUS_KAFKA_API_KEY", "user", errstr, sizeof errstr);
    edxbus_conf_set(conf, "EVENT_BUS_KAFKA_API_SECRET", "pass-secret", errstr, sizeof errstr);
    rd_kafka_conf_t *rdconf = NULL;
    ASSERT_EQ_INT(edxbus__kafka_rdconf(conf, &rdconf, errstr, sizeof errstr), EDXBUS_OK);
    char v[64];
    size_t n = sizeof v;
    rd_kafka_conf_get(rdconf, "security.protocol", v, &n);
    ASSERT_EQ_STR(v, "sasl_ssl");
    n = sizeof v;
    rd_kafka_conf_get(rdconf, "sasl.mechanisms", v, &n);
    ASSERT_EQ_STR(v, "PLAIN");
    rd_kafka_conf_destroy(rdconf);
    edxbus_conf_destroy(conf);
    /* The backend answers to the reference's dotted names. */
    const struct edxbus_backend_ops *found =
        edxbus_backend_find("edx_event_bus_kafka.KafkaEventConsumer", NULL, errstr, sizeof errstr);
    ASSERT_TRUE(found == &edxbus_backend_kafka);
}

int main(void)
{
    test_kafka_start(&k, 1);
    RUN(test_settings);
    RUN(test_out_of_order_acks_commit_the_contiguous_prefix);
    RUN(test_killed_consumer_loses_nothing);
    RUN(test_new_group_starts_at_the_end);
    RUN(test_lag);
    RUN(test_broker_errors_are_survived);
    RUN(test_registry_down_gives_clear_errors);
    test_kafka_stop(&k);
    return test_report();
}
