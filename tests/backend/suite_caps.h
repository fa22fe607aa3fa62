/* tests/backend/suite_caps.h — the conformance checks of the capabilities a backend claims.
 *
 * One or more checks per SUITE_CAP_* bit: redelivery after reopen, members sharing a group,
 * replay by time, start positions (and bad ones), tails, lag, and dead-letter replay reading to
 * the end it began with. suite_run() runs each only when the backend claims its bit.
 * Part of backend_suite.h, which includes it after the suite's helpers; not included alone.
 */
#ifndef EDXBUS_TEST_SUITE_CAPS_H
#define EDXBUS_TEST_SUITE_CAPS_H

TEST(suite_unacked_redelivered_after_reopen)
{
    const char *topic = suite_topic();
    int seen[SUITE_MAX] = {0};
    char errstr[EDXBUS_ERRSTR_SIZE] = "";
    suite_produce(topic, 0, 5);
    void *cons = suite_open(topic, "g", "a", "earliest");
    struct edxbus_batch b = {0};
    size_t got = 0;
    while (got < 5) { /* take all five, ack only v0 and v1 */
        ASSERT_EQ_INT(suite.ops->poll(cons, &b, 5, suite.poll_ms, errstr, sizeof errstr),
                      EDXBUS_OK);
        ASSERT_TRUE(b.n > 0);
        for (size_t i = 0; i < b.n; i++)
            if (suite_index(&b.msgs[i]) < 2)
                ASSERT_EQ_INT(suite.ops->ack(cons, &b.msgs[i], errstr, sizeof errstr), EDXBUS_OK);
        got += b.n;
    }
    suite.ops->consumer_close(cons);
    cons = suite_open(topic, "g", "a", "earliest");
    int64_t dl = -1;
    for (size_t again = 0; again < 3;) { /* v2..v4 again (in one batch or more) */
        size_t n = suite_poll(cons, 10, suite.poll_ms, seen, true, &dl);
        ASSERT_TRUE(n > 0);
        again += n;
        ASSERT_TRUE(dl == 0 || dl == 2); /* 0: the backend does not count */
    }
    suite_drain(cons, seen, true);
    suite.ops->consumer_close(cons);
    suite_expect_once(seen, 2, 5);
    cons = suite_open(topic, "g", "a", "earliest"); /* all acked now: nothing comes back */
    suite_settle(cons);
    ASSERT_EQ_INT(suite_poll(cons, 10, suite.idle_ms ? suite.idle_ms : suite.poll_ms, NULL, true,
                             NULL),
                  0);
    suite.ops->consumer_close(cons);
}

TEST(suite_two_members_share)
{
    const char *topic = suite_topic();
    int seen_a[SUITE_MAX] = {0}, seen_b[SUITE_MAX] = {0}, seen[SUITE_MAX] = {0};
    void *a = suite_open(topic, "g", "a", "earliest");
    void *b = suite_open(topic, "g", "b", "earliest");
    suite_produce(topic, 0, 20);
    size_t na = 0, nb = 0, round;
    do {
        round = suite_poll(a, 3, suite.poll_ms, seen_a, true, NULL);
        na += round;
        size_t r = suite_poll(b, 3, suite.poll_ms, seen_b, true, NULL);
        nb += r;
        round += r;
    } while (round > 0);
    suite.ops->consumer_close(a);
    suite.ops->consumer_close(b);
    ASSERT_TRUE(na > 0);
    ASSERT_TRUE(nb > 0);
    for (int i = 0; i < SUITE_MAX; i++)
        seen[i] = seen_a[i] + seen_b[i];
    suite_expect_once(seen, 0, 20);
}

/* Broker time of every message of @p topic, by index (read with a tail or a throwaway group). */
static void suite_times(const char *topic, int64_t *times, int n)
{
    char errstr[EDXBUS_ERRSTR_SIZE] = "", group[32];
    static int calls;
    snprintf(group, sizeof group, "suite-times-%d", ++calls); /* a new group: from earliest */
    void *cons = suite_open(topic, group, "t", "earliest");
    int got = 0;
    while (got < n) {
        struct edxbus_batch b = {0};
        ASSERT_EQ_INT(suite.ops->poll(cons, &b, 8, suite.poll_ms, errstr, sizeof errstr),
                      EDXBUS_OK);
        ASSERT_TRUE(b.n > 0);
        for (size_t i = 0; i < b.n; i++) {
            times[suite_index(&b.msgs[i])] = b.msgs[i].broker_time_ms;
            suite.ops->ack(cons, &b.msgs[i], errstr, sizeof errstr);
        }
        got += (int)b.n;
    }
    suite.ops->consumer_close(cons);
}

TEST(suite_start_time_replays)
{
    const char *topic = suite_topic();
    int64_t times[SUITE_MAX] = {0};
    suite_produce(topic, 0, 3);
    suite_times(topic, times, 3);
    while (suite_now_ms() <= times[2] + 2) /* the next batch is stored strictly later */
        usleep(1000);
    suite_produce(topic, 3, 6);
    suite_times(topic, times, 6);
    ASSERT_TRUE(times[3] > times[2]);

    int seen[SUITE_MAX] = {0};
    void *cons = suite_open_ex(topic, "fresh", "a", NULL, times[3], NULL);
    suite_drain(cons, seen, true);
    suite.ops->consumer_close(cons);
    suite_expect_once(seen, 3, 6);

    /* An existing group that consumed everything replays from that time. */
    memset(seen, 0, sizeof seen);
    cons = suite_open(topic, "old", "a", "earliest");
    suite_drain(cons, NULL, true);
    suite.ops->consumer_close(cons);
    cons = suite_open_ex(topic, "old", "a", NULL, times[3], NULL);
    suite_drain(cons, seen, true);
    suite_expect_once(seen, 3, 6);

    suite.ops->consumer_close(cons);
}

/* `start` as a position: a new group (and a tail) starts at that message, which is the first
 * delivered; an existing group still resumes. */
TEST(suite_start_position)
{
    const char *topic = suite_topic();
    char errstr[EDXBUS_ERRSTR_SIZE] = "";
    char pos1[EDXBUS_POSITION_MAX] = "";
    suite_produce(topic, 0, 5);
    void *cons = suite_open(topic, NULL, NULL, "earliest");
    struct edxbus_batch b = {0};
    int got = 0;
    while (got < 5) {
        ASSERT_EQ_INT(suite.ops->poll(cons, &b, 8, suite.poll_ms, errstr, sizeof errstr),
                      EDXBUS_OK);
        ASSERT_TRUE(b.n > 0);
        for (size_t i = 0; i < b.n; i++)
            if (suite_index(&b.msgs[i]) == 1)
                snprintf(pos1, sizeof pos1, "%s", b.msgs[i].position);
        got += (int)b.n;
    }
    suite.ops->consumer_close(cons);
    int seen[SUITE_MAX] = {0};
    cons = suite_open(topic, "g", "a", pos1);
    suite_drain(cons, seen, true);
    suite.ops->consumer_close(cons);
    suite_expect_once(seen, 1, 5);
    memset(seen, 0, sizeof seen);
    cons = suite_open(topic, NULL, NULL, pos1);
    suite_drain(cons, seen, false);
    suite.ops->consumer_close(cons);
    suite_expect_once(seen, 1, 5);
    memset(seen, 0, sizeof seen);
    suite_produce(topic, 5, 6);
    cons = suite_open(topic, "g", "a", pos1); /* the group exists: it resumes */
    suite_drain(cons, seen, true);
    suite.ops->consumer_close(cons);
    suite_expect_once(seen, 5, 6);
}

TEST(suite_tail)
{
    const char *topic = suite_topic();
    char errstr[EDXBUS_ERRSTR_SIZE] = "";
    int seen1[SUITE_MAX] = {0}, seen2[SUITE_MAX] = {0}, seen3[SUITE_MAX] = {0};
    suite_produce(topic, 0, 3);
    void *t1 = suite_open(topic, NULL, NULL, "earliest");
    void *t2 = suite_open(topic, NULL, NULL, "earliest");
    void *t3 = suite_open(topic, NULL, NULL, NULL); /* latest */
    suite_drain(t1, seen1, true);                   /* ack is a no-op in tail mode */
    suite_drain(t2, seen2, false);
    suite_expect_once(seen1, 0, 3);
    suite_expect_once(seen2, 0, 3);
    suite_settle(t3);
    suite_produce(topic, 3, 4);
    suite_drain(t3, seen3, false);
    suite_expect_once(seen3, 3, 4);
    suite.ops->consumer_close(t1);
    suite.ops->consumer_close(t2);
    suite.ops->consumer_close(t3);
    /* Tails left no group behind: a group from earliest still gets everything. */
    memset(seen1, 0, sizeof seen1);
    void *g = suite_open(topic, "g", "a", "earliest");
    suite_drain(g, seen1, true);
    suite.ops->consumer_close(g);
    suite_expect_once(seen1, 0, 4);
    (void)errstr;
}

TEST(suite_lag)
{
    const char *topic = suite_topic();
    char errstr[EDXBUS_ERRSTR_SIZE] = "";
    suite_produce(topic, 0, 10);
    void *cons = suite_open(topic, "g", "a", "earliest");
    struct edxbus_batch b = {0};
    ASSERT_EQ_INT(suite.ops->poll(cons, &b, 3, suite.poll_ms, errstr, sizeof errstr), EDXBUS_OK);
    ASSERT_EQ_INT(b.n, 3);
    ASSERT_EQ_INT(suite.ops->ack(cons, &b.msgs[0], errstr, sizeof errstr), EDXBUS_OK);
    suite.ops->consumer_close(cons);

    json_t *lag = NULL;
    ASSERT_EQ_INT(suite.ops->lag(suite.conf, topic, "g", &lag, errstr, sizeof errstr), EDXBUS_OK);
    ASSERT_TRUE(json_is_array(lag));
    ASSERT_EQ_INT(json_array_size(lag), 1);
    json_t *row = json_array_get(lag, 0);
    ASSERT_EQ_STR(json_string_value(json_object_get(row, "group")), "g");
    /* The member, or null where the broker does not know a group's members (NATS). */
    if (!json_is_null(json_object_get(row, "consumer")))
        ASSERT_EQ_STR(json_string_value(json_object_get(row, "consumer")), "a");
    ASSERT_EQ_INT(json_integer_value(json_object_get(row, "pending")), 2);
    ASSERT_EQ_INT(json_integer_value(json_object_get(row, "undelivered")), 7);
    json_t *idle = json_object_get(row, "idle_ms");
    ASSERT_TRUE(idle != NULL && (json_is_null(idle) || json_integer_value(idle) >= 0));
    ASSERT_TRUE(json_object_get(row, "partition") != NULL);
    json_decref(lag);

    lag = NULL;
    errstr[0] = '\0';
    ASSERT_TRUE(suite.ops->lag(suite.conf, topic, "nope", &lag, errstr, sizeof errstr) !=
                EDXBUS_OK);
    ASSERT_CONTAINS(errstr, "nope");
    ASSERT_TRUE(lag == NULL);
}

TEST(suite_bad_start)
{
    char errstr[EDXBUS_ERRSTR_SIZE] = "";
    void *cons = NULL;
    struct edxbus_consumer_opts opts = {
        .topic = suite_topic(), .group = "g", .start = "yesterday", .start_time_ms = -1};
    ASSERT_TRUE(suite.ops->consumer_open(suite.conf, &opts, &cons, errstr, sizeof errstr) !=
                EDXBUS_OK);
    ASSERT_CONTAINS(errstr, "yesterday");
}

/* A dead-letter replay reads what the dead-letter topic held when it began, up to that end
 * (caught_up()), not "until a poll comes back empty": here every dead letter names the
 * dead-letter topic itself as its original topic, so each one replayed adds one more behind
 * the end. A replay that read on would never stop (the alarm ends the program then). */
TEST(suite_replay_reads_to_the_end_it_began_with)
{
    const char *topic = suite_topic();
    char dlq[128], errstr[EDXBUS_ERRSTR_SIZE] = "";
    snprintf(dlq, sizeof dlq, "%s-dlq", topic);
    if (suite.new_topic != NULL)
        suite.new_topic(dlq);
    void *prod = NULL;
    ASSERT_EQ_INT(suite.ops->producer_open(suite.conf, &prod, errstr, sizeof errstr), EDXBUS_OK);
    for (int i = 0; i < 3; i++) {
        char value[16];
        struct edxbus_metadata md;
        suite_metadata(&md, i);
        snprintf(value, sizeof value, "v%d", i);
        struct edxbus_header hdrs[] = {
            {"error", (const uint8_t *)"boom", 4},
            {"group", (const uint8_t *)"g", 1},
            {"original_topic", (const uint8_t *)dlq, strlen(dlq)},
        };
        struct edxbus_msg msg = {.topic = dlq,
                                 .value = (const uint8_t *)value,
                                 .value_len = strlen(value),
                                 .metadata = &md,
                                 .value_schema = suite.value_schema,
                                 .headers = hdrs,
                                 .nheaders = 3};
        ASSERT_EQ_INT(suite.ops->produce(prod, &msg, NULL, NULL, errstr, sizeof errstr),
                      EDXBUS_OK);
    }
    suite.ops->producer_close(prod);
    edxbus_conf_t *conf = suite.conf ? edxbus_conf_dup(suite.conf) : edxbus_conf_new();
    ASSERT_EQ_INT(edxbus_conf_set(conf, "EVENT_BUS_CONSUMER", suite.ops->name, errstr,
                                  sizeof errstr),
                  EDXBUS_OK);
    ASSERT_EQ_INT(edxbus_conf_set(conf, "EVENT_BUS_PRODUCER", suite.ops->name, errstr,
                                  sizeof errstr),
                  EDXBUS_OK);
    struct edxbus_dlq_counts counts = {0};
    alarm(120);
    edxbus_err_t err = edxbus_dlq_replay_ex(conf, topic, NULL, &counts, errstr, sizeof errstr);
    alarm(0);
    if (err != EDXBUS_OK)
        TEST_FAIL_("dlq replay: %s", errstr);
    ASSERT_EQ_UINT(counts.read, 3);
    ASSERT_EQ_UINT(counts.sent, 3);
    /* The three copies it wrote are the next replay's: read once, exactly. */
    memset(&counts, 0, sizeof counts);
    alarm(120);
    err = edxbus_dlq_replay_ex(conf, topic, NULL, &counts, errstr, sizeof errstr);
    alarm(0);
    edxbus_conf_destroy(conf);
    if (err != EDXBUS_OK)
        TEST_FAIL_("second dlq replay: %s", errstr);
    ASSERT_EQ_UINT(counts.read, 3);
}

#endif /* EDXBUS_TEST_SUITE_CAPS_H */
