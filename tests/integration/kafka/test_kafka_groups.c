/* tests/integration/kafka/test_kafka_groups.c — where a group starts.
 *
 * The start rule is per group: a restarted worker of an existing group reads what arrived on
 * partitions its group never committed in (50 partitions, little traffic), and lag counts
 * exactly that; a new group exists from its first assignment. Commits: test_kafka_commits.c.
 */
#include "kafka_events.h"

TEST(test_restarted_group_reads_what_arrived_on_uncommitted_partitions)
{
    const char *topic = "g-restart";
    test_kafka_topic(&k, topic, 50);
    send_range(topic, 0, 10);
    void *be = open_consumer(topic, "g-workers", "earliest", -1);
    int first[10];
    ASSERT_EQ_INT(collect(be, 10, first, NULL), 10);
    expect_each_once(first, 10, 0, 10);
    ops->consumer_close(be); /* the worker stops */
    send_range(topic, 10, 510);
    /* The group exists: lag counts every partition it will read, committed or not. */
    ASSERT_EQ_INT(lag_total(topic, "g-workers"), 500);
    be = open_consumer(topic, "g-workers", NULL, -1); /* restarted without "start" */
    int got[600];
    int n = collect(be, 500, got, NULL);
    ASSERT_EQ_INT(n, 500);
    expect_each_once(got, n, 10, 510);
    ops->consumer_close(be);
    ASSERT_EQ_INT(lag_total(topic, "g-workers"), 0);
}

TEST(test_new_group_exists_from_its_first_assignment)
{
    /* A new group starting at the end commits that start: records produced after it stopped,
     * before anything was ever acknowledged, are read by its next member. */
    const char *topic = "g-fresh";
    test_kafka_topic(&k, topic, 8);
    send_range(topic, 0, 5);
    void *be = open_consumer(topic, "g-fresh-workers", NULL, -1);
    char errstr[EDXBUS_ERRSTR_SIZE];
    struct edxbus_batch batch;
    long lag = -1;
    for (int i = 0; i < 240 && lag != 0; i++) { /* joins, then commits its start */
        ASSERT_EQ_INT(ops->poll(be, &batch, 16, 250, errstr, sizeof errstr), EDXBUS_OK);
        ASSERT_EQ_INT(batch.n, 0);
        lag = lag_total(topic, "g-fresh-workers");
    }
    ASSERT_EQ_INT(lag, 0);
    ops->consumer_close(be);
    send_range(topic, 5, 25);
    ASSERT_EQ_INT(lag_total(topic, "g-fresh-workers"), 20);
    be = open_consumer(topic, "g-fresh-workers", NULL, -1);
    int got[64];
    int n = collect(be, 20, got, NULL);
    ASSERT_EQ_INT(n, 20);
    expect_each_once(got, n, 5, 25);
    ops->consumer_close(be);
}

int main(void)
{
    test_kafka_start(&k, 1);
    RUN(test_restarted_group_reads_what_arrived_on_uncommitted_partitions);
    RUN(test_new_group_exists_from_its_first_assignment);
    test_kafka_stop(&k);
    return test_report();
}
