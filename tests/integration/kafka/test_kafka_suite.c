/* tests/integration/kafka/test_kafka_suite.c — the shared backend conformance suite
 * (tests/backend/backend_suite.h) against the Kafka backend on librdkafka's mock cluster and
 * the in-memory Schema Registry (kafka_harness.h).
 *
 * Each suite topic is made with one partition (so the round trip's order holds) and the values
 * are framed with a registered schema, as every record of the Kafka wire is. A group join takes
 * the mock seconds: the first poll of a drain may wait for it, and a consumer that must read
 * from "now" waits until it is assigned and its positions are known (kafka_ready). What the
 * mock or Kafka itself cannot do is left out with its reason (the SKIP lines of the run).
 */
#include "backend/backend_suite.h"
#include "backends/kafka/kafka_consumer_int.h"
#include "kafka_harness.h"

static struct test_kafka k;

static void kafka_new_topic(const char *topic)
{
    test_kafka_topic(&k, topic, 1);
}

/* Poll (the callers expect no message yet) until the consumer holds its partitions: a new
 * group's start is fixed (absolute offsets) when they are assigned, a tail's at open. */
static void kafka_ready(void *cons)
{
    struct kafka_consumer *c = cons;
    char errstr[EDXBUS_ERRSTR_SIZE] = "";
    for (int i = 0; i < 300 && !c->assigned; i++) { /* 30 s at most */
        struct edxbus_batch b = {0};
        if (suite.ops->poll(cons, &b, 8, 100, errstr, sizeof errstr) != EDXBUS_OK)
            TEST_FAIL_("poll while waiting for the assignment: %s", errstr);
        if (b.n != 0)
            TEST_FAIL_("a message came before the consumer was ready");
    }
    if (!c->assigned)
        TEST_FAIL_("the consumer was not assigned within 30 s");
}

int main(void)
{
    test_kafka_start(&k, 1);
    edxbus_conf_t *conf = test_kafka_consumer_conf(&k);
    suite.ops = &edxbus_backend_kafka;
    suite.conf = conf;
    suite.caps = SUITE_CAP_ALL;
    /* Returns at the first record; long only while a group joins, which took the mock more
     * than 20 s in two clean-clone CI runs (a reopened group got nothing in time). */
    suite.poll_ms = 60000;
    suite.idle_ms = 1000;
    suite.value_schema = "\"bytes\"";
    suite.new_topic = kafka_new_topic;
    suite.ready = kafka_ready;
    suite_skip(SUITE_CAP_SHARE, "Kafka members share by partition and a suite topic has one; "
                                "test_kafka_groups splits multi-partition topics among members");
    suite_skip(SUITE_CAP_POSITION, "a Kafka position is per partition (partition:offset); a new "
                                   "group given one starts at the end (tails take it)");
    suite_skip(SUITE_CAP_TIME, "librdkafka 2.0's mock answers every ListOffsets by timestamp "
                               "with -1; test_kafka_replay runs what it can");
    suite_skip(SUITE_CAP_LAG, "Kafka keeps no pending count outside the member (pending is "
                              "null); test_kafka_commits checks its lag");
    suite_run();
    edxbus_conf_destroy(conf);
    test_kafka_stop(&k);
    return test_report();
}
