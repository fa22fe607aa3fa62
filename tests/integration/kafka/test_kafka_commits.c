/* tests/integration/kafka/test_kafka_commits.c — offset commits that the broker refuses.
 *
 * OffsetCommit errors are injected through the mock: the commits are sent again until they
 * work, so lag returns to 0 with no new traffic (before, a failed commit was forgotten and lag
 * stayed up while idle), and after a rebalance nothing acknowledged is read again.
 */
#include "kafka_events.h"

/* Count the log lines "group <name> assigned" of a consumer's conf. */
struct assign_count {
    const char *needle;
    int n;
};

static void count_assignments(edxbus_log_level_t level, const char *line, void *opaque)
{
    struct assign_count *ac = opaque;
    if (strstr(line, ac->needle) != NULL)
        ac->n++;
    test_kafka_log(level, line, NULL);
}

static void *open_counted(const char *topic, const char *group, struct assign_count *ac)
{
    char errstr[EDXBUS_ERRSTR_SIZE];
    edxbus_conf_t *conf = test_kafka_consumer_conf(&k);
    edxbus_conf_set_log(conf, count_assignments, ac);
    struct edxbus_consumer_opts opts = {
        .topic = topic, .group = group, .start = "earliest", .start_time_ms = -1};
    void *be = NULL;
    if (ops->consumer_open(conf, &opts, &be, errstr, sizeof errstr) != EDXBUS_OK)
        fprintf(stderr, "consumer_open: %s\n", errstr);
    edxbus_conf_destroy(conf);
    return be;
}

/* Poll @p be once, acking everything; the numbers go to @p got from *@p n. */
static void poll_into(void *be, int *got, int *n, int cap)
{
    char errstr[EDXBUS_ERRSTR_SIZE];
    struct edxbus_batch batch;
    if (ops->poll(be, &batch, 16, 250, errstr, sizeof errstr) != EDXBUS_OK)
        fprintf(stderr, "poll: %s\n", errstr);
    for (size_t i = 0; i < batch.n; i++) {
        if (*n < cap)
            got[*n] = event_number(&batch.msgs[i]);
        (*n)++;
        ops->ack(be, &batch.msgs[i], errstr, sizeof errstr);
    }
}

/* Poll @p a (and @p b) with no new traffic until the group's lag is 0 (bounded). */
static void settle(void *a, void *b, const char *topic, const char *group)
{
    int got[1];
    long lag = -1;
    for (int i = 0; i < 240 && lag != 0; i++) {
        int idle = 0;
        poll_into(a, got, &idle, 0);
        if (b != NULL)
            poll_into(b, got, &idle, 0);
        ASSERT_EQ_INT(idle, 0);
        lag = lag_total(topic, group);
    }
    ASSERT_EQ_INT(lag, 0);
}

TEST(test_failed_commits_are_retried)
{
    const char *topic = "g-commit";
    const char *group = "g-commit-workers";
    test_kafka_topic(&k, topic, 4);
    struct assign_count ac_a = {"group g-commit-workers assigned", 0};
    struct assign_count ac_b = {"group g-commit-workers assigned", 0};
    void *a = open_counted(topic, group, &ac_a);
    int got[256];
    int n = 0;
    send_range(topic, 0, 1);
    ASSERT_EQ_INT(collect(a, 1, got, NULL), 1); /* joined, start committed */
    /* The broker refuses the next eight commits. */
    rd_kafka_mock_push_request_errors(
        k.mcluster, 8 /* OffsetCommit */, 8, RD_KAFKA_RESP_ERR_INVALID_COMMIT_OFFSET_SIZE,
        RD_KAFKA_RESP_ERR_INVALID_COMMIT_OFFSET_SIZE, RD_KAFKA_RESP_ERR_INVALID_COMMIT_OFFSET_SIZE,
        RD_KAFKA_RESP_ERR_INVALID_COMMIT_OFFSET_SIZE, RD_KAFKA_RESP_ERR_INVALID_COMMIT_OFFSET_SIZE,
        RD_KAFKA_RESP_ERR_INVALID_COMMIT_OFFSET_SIZE, RD_KAFKA_RESP_ERR_INVALID_COMMIT_OFFSET_SIZE,
        RD_KAFKA_RESP_ERR_INVALID_COMMIT_OFFSET_SIZE);
    send_range(topic, 1, 41);
    ASSERT_EQ_INT(collect(a, 40, got + 1, NULL), 40);
    expect_each_once(got, 41, 0, 41);
    /* No new traffic: the member keeps polling, its commits go through in the end. */
    settle(a, NULL, topic, group);

    /* Again with one refused commit, then a second member joins: nothing acknowledged is read
     * again. (The mock refuses a commit made at revocation while a member is joining, which a
     * real broker accepts, so the retried commit has to be through before the join here.) */
    send_range(topic, 41, 61);
    n = 0;
    for (int i = 0; i < 240 && n < 20; i++)
        poll_into(a, got, &n, 256);
    ASSERT_EQ_INT(n, 20);
    expect_each_once(got, n, 41, 61);
    rd_kafka_mock_push_request_errors(k.mcluster, 8 /* OffsetCommit */, 1,
                                      RD_KAFKA_RESP_ERR_INVALID_COMMIT_OFFSET_SIZE);
    settle(a, NULL, topic, group);
    int before = ac_a.n;
    void *b = open_counted(topic, group, &ac_b);
    n = 0;
    for (int i = 0; i < 480 && (ac_b.n == 0 || ac_a.n == before); i++) {
        poll_into(a, got, &n, 256);
        poll_into(b, got, &n, 256);
    }
    ASSERT_TRUE(ac_b.n > 0);
    ASSERT_TRUE(ac_a.n > before);
    for (int i = 0; i < n && i < 256; i++)
        fprintf(stderr, "acknowledged event %d came again\n", got[i]);
    ASSERT_EQ_INT(n, 0); /* nothing acknowledged came again */
    send_range(topic, 61, 81);
    for (int i = 0; i < 480 && n < 20; i++) {
        poll_into(a, got, &n, 256);
        poll_into(b, got, &n, 256);
    }
    ASSERT_EQ_INT(n, 20);
    expect_each_once(got, n, 61, 81);
    settle(a, b, topic, group);
    ops->consumer_close(b);
    ops->consumer_close(a);
    ASSERT_EQ_INT(lag_total(topic, group), 0);
}

int main(void)
{
    test_kafka_start(&k, 1);
    RUN(test_failed_commits_are_retried);
    test_kafka_stop(&k);
    return test_report();
}
