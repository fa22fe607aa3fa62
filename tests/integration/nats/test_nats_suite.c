/* tests/integration/nats/test_nats_suite.c — the shared backend conformance suite
 * (tests/backend/backend_suite.h) against the NATS JetStream backend and a real nats-server.
 *
 * Every check runs but keys (see main): like edx-event-bus-redis's, the NATS wire carries no key
 * (the payload is the Avro body, the metadata are headers), so a produced key does not come back.
 * NATS headers are a map: the extra headers come back by name, not in their order.
 * Then what only NATS has: a replay from early in a second, message ids inside the duplicate
 * window, and wake() (edxbus_consumer_stop()) ending a poll that waits inside libnats.
 */
#include "backend/stop_check.h" /* first: it asks for _GNU_SOURCE */
#include "backend/backend_suite.h"
#include "backends/nats/nats_int.h"
#include "nats_server.h"

static struct test_nats server;

/* A replay from a time whose fraction of a second is below 0.1 s starts at that time: libnats
 * 3.4 sends such a time without the fraction's leading zeros (12.021 s as "12.21"), which
 * started the replay too late and skipped events. The first event is stored early in a second
 * (a bounded wait for the clock), so that the replay time, just after it, has such a fraction. */
TEST(test_replay_from_a_time_early_in_a_second)
{
    const char *topic = suite_topic();
    for (int i = 0; i < 300 && (suite_now_ms() % 1000 < 5 || suite_now_ms() % 1000 > 40); i++)
        usleep(5000);
    suite_produce(topic, 0, 1);
    int64_t times[SUITE_MAX] = {0};
    suite_times(topic, times, 1);
    int64_t from = times[0] + 1;
    fprintf(stderr, "replay from %lld.%03lld s\n", (long long)(from / 1000),
            (long long)(from % 1000));
    while (suite_now_ms() <= from) /* the next event is stored strictly later */
        usleep(1000);
    suite_produce(topic, 1, 3);
    int seen[SUITE_MAX] = {0};
    void *cons = suite_open_ex(topic, "replay", "a", NULL, from, NULL);
    suite_drain(cons, seen, true);
    suite.ops->consumer_close(cons);
    suite_expect_once(seen, 1, 3);
    memset(seen, 0, sizeof seen);
    void *tail = suite_open_ex(topic, NULL, NULL, NULL, from, NULL);
    for (int polls = 0; polls < 50 && seen[1] + seen[2] < 2; polls++) /* pushed: may lag */
        suite_poll(tail, 8, suite.poll_ms, seen, false, NULL);
    suite_drain(tail, seen, false); /* and nothing more */
    suite.ops->consumer_close(tail);
    suite_expect_once(seen, 1, 3);
}

static bool count_dead_letter(void *opaque, const struct edxbus_msg *msg)
{
    (void)msg;
    (*(int *)opaque)++;
    return true;
}

static void dead_letter(void *prod, const char *dlq, const char *topic, const char *group)
{
    char errstr[EDXBUS_ERRSTR_SIZE] = "";
    struct edxbus_metadata md;
    suite_metadata(&md, 0);
    struct edxbus_header hdrs[] = {
        {"error", (const uint8_t *)"boom", 4},
        {"group", (const uint8_t *)group, strlen(group)},
        {"attempts", (const uint8_t *)"3", 1},
        {"original_position", (const uint8_t *)"1", 1},
        {"original_topic", (const uint8_t *)topic, strlen(topic)},
    };
    struct edxbus_msg msg = {.topic = dlq,
                             .value = (const uint8_t *)"v0",
                             .value_len = 2,
                             .metadata = &md,
                             .headers = hdrs,
                             .nheaders = 5};
    if (suite.ops->produce(prod, &msg, NULL, NULL, errstr, sizeof errstr) != EDXBUS_OK)
        TEST_FAIL_("dead letter: %s", errstr);
}

/* Inside the duplicate window (120 s by default, so all of this test): the dead letters of
 * one event from two groups are both stored, a resend of one is not; replaying them stores
 * both copies on the topic although the event's id (ce_id, kept) is already there; a replay of
 * one dead letter by position (read as a tail: caught_up on an ordered consumer) works, and is
 * the same copy as its first replay (a resend, not stored again). Fails with Nats-Msg-Id = the
 * event id on every message: the dead letters and replays would be dropped as duplicates. */
TEST(test_dead_letters_and_replays_inside_the_duplicate_window)
{
    const char *topic = suite_topic();
    char dlq[128], errstr[EDXBUS_ERRSTR_SIZE] = "";
    snprintf(dlq, sizeof dlq, "%s-dlq", topic);
    suite_produce(topic, 0, 1);
    void *prod = NULL;
    ASSERT_EQ_INT(suite.ops->producer_open(suite.conf, &prod, errstr, sizeof errstr), EDXBUS_OK);
    dead_letter(prod, dlq, topic, "g1");
    dead_letter(prod, dlq, topic, "g2");
    dead_letter(prod, dlq, topic, "g1"); /* a resend of the first */
    suite.ops->producer_close(prod);
    edxbus_conf_t *conf = edxbus_conf_dup(suite.conf);
    ASSERT_EQ_INT(edxbus_conf_set(conf, "EVENT_BUS_CONSUMER", "nats", errstr, sizeof errstr),
                  EDXBUS_OK);
    ASSERT_EQ_INT(edxbus_conf_set(conf, "EVENT_BUS_PRODUCER", "nats", errstr, sizeof errstr),
                  EDXBUS_OK);
    int listed = 0;
    if (edxbus_dlq_list(conf, topic, count_dead_letter, &listed, errstr, sizeof errstr) !=
        EDXBUS_OK)
        TEST_FAIL_("dlq list: %s", errstr);
    ASSERT_EQ_INT(listed, 2);
    struct edxbus_dlq_counts counts = {0};
    if (edxbus_dlq_replay_ex(conf, topic, NULL, &counts, errstr, sizeof errstr) != EDXBUS_OK)
        TEST_FAIL_("dlq replay: %s", errstr);
    ASSERT_EQ_UINT(counts.read, 2);
    ASSERT_EQ_UINT(counts.sent, 2);
    struct edxbus_dlq_replay_opts one = {.position = "1"};
    if (edxbus_dlq_replay_ex(conf, topic, &one, &counts, errstr, sizeof errstr) != EDXBUS_OK)
        TEST_FAIL_("dlq replay of position 1: %s", errstr);
    ASSERT_EQ_UINT(counts.sent, 1);
    edxbus_conf_destroy(conf);
    int seen[SUITE_MAX] = {0};
    void *cons = suite_open(topic, "after", "a", "earliest");
    suite_drain(cons, seen, true);
    suite.ops->consumer_close(cons);
    ASSERT_EQ_INT(seen[0], 3); /* the event and its two replayed copies */
}

struct poller {
    void *cons;
    edxbus_err_t err;
    size_t n;
    char errstr[EDXBUS_ERRSTR_SIZE];
};

static void *poll_30s(void *arg)
{
    struct poller *p = arg;
    struct edxbus_batch b = {0};
    p->err = suite.ops->poll(p->cons, &b, 8, 30000, p->errstr, sizeof p->errstr);
    p->n = b.n;
    return NULL;
}

/* Poll for up to 30 s on another thread; wake() it once it waits (unless @p woken already) and
 * join with a bound of 10 s: a poll wake() did not end stays in libnats past the bound. */
static void woken_poll(void *cons, bool woken)
{
    struct poller p = {.cons = cons};
    pthread_t t;
    ASSERT_EQ_INT(pthread_create(&t, NULL, poll_30s, &p), 0);
    if (!woken) {
        usleep(200 * 1000); /* let it enter libnats' wait */
        suite.ops->wake(cons);
    }
    if (!stop_check_join(t, 10)) {
        pthread_join(t, NULL);
        TEST_FAIL_("the poll was not ended by wake()");
    }
    if (p.err != EDXBUS_OK)
        TEST_FAIL_("woken poll: %s", p.errstr);
    ASSERT_EQ_UINT(p.n, 0);
}

/* A group's fetch and a tail's wait end at wake(), and every later poll returns at once. */
TEST(test_wake_ends_a_poll_waiting_in_libnats)
{
    const char *topic = suite_topic();
    suite_produce(topic, 0, 1); /* the stream exists; both start after it */
    for (int tail = 0; tail < 2; tail++) {
        void *cons = suite_open(topic, tail ? NULL : "waking", "a", "latest");
        woken_poll(cons, false);
        woken_poll(cons, true); /* stopping is final */
        suite.ops->consumer_close(cons);
    }
}

/* After a wake, the batch in hand is still acknowledged and close still gives back the rest:
 * a member of the group opened later gets what was not acknowledged, not what was. */
TEST(test_ack_and_close_after_a_wake)
{
    const char *topic = suite_topic();
    char errstr[EDXBUS_ERRSTR_SIZE] = "";
    suite_produce(topic, 0, 2);
    void *cons = suite_open(topic, "woken", "a", "earliest");
    struct edxbus_batch b = {0};
    for (int polls = 0; polls < 50 && b.n < 2; polls++)
        ASSERT_EQ_INT(suite.ops->poll(cons, &b, 2, suite.poll_ms, errstr, sizeof errstr),
                      EDXBUS_OK);
    ASSERT_EQ_UINT(b.n, 2);
    suite.ops->wake(cons);
    const struct edxbus_msg *acked = suite_index(&b.msgs[0]) == 0 ? &b.msgs[0] : &b.msgs[1];
    if (suite.ops->ack(cons, acked, errstr, sizeof errstr) != EDXBUS_OK)
        TEST_FAIL_("ack after a wake: %s", errstr);
    suite.ops->consumer_close(cons);
    int seen[SUITE_MAX] = {0};
    cons = suite_open(topic, "woken", "b", "earliest");
    suite_drain(cons, seen, true);
    suite.ops->consumer_close(cons);
    ASSERT_EQ_INT(seen[0], 0);
    ASSERT_EQ_INT(seen[1], 1);
}

/* edxbus_consumer_stop() on a worker in a 30 s poll (tests/backend/stop_check.h). */
TEST(test_stop_from_another_thread)
{
    stop_check_backend(edxbus_conf_dup(suite.conf), "nats", "EVENT_BUS_CONSUMER_POLL_TIMEOUT");
}

int main(void)
{
    test_nats_require("integration/nats/test_nats_suite");
    if (!test_nats_start(&server)) {
        fprintf(stderr, "cannot start nats-server\n");
        return 1;
    }
    edxbus_conf_t *conf = test_nats_conf(server.url);
    suite.ops = &edxbus_backend_nats;
    suite.conf = conf;
    suite.caps = SUITE_CAP_ALL;
    suite_skip(SUITE_CAP_KEYS, "the NATS wire carries no key (a message is subject, headers and "
                               "payload; as on the edx-event-bus-redis wire)");
    suite.poll_ms = 400; /* a tail is pushed to: under load it may take a while */
    suite.headers_as_map = true;
    RUN(test_replay_from_a_time_early_in_a_second);
    RUN(test_dead_letters_and_replays_inside_the_duplicate_window);
    RUN(test_wake_ends_a_poll_waiting_in_libnats);
    RUN(test_ack_and_close_after_a_wake);
    RUN(test_stop_from_another_thread);
    suite_run();
    edxbus_conf_destroy(conf);
    test_nats_stop(&server);
    return test_report();
}
