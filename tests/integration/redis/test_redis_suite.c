/* tests/integration/redis/test_redis_suite.c — the shared backend conformance suite
 * (tests/backend/backend_suite.h) against the Redis backend and a real redis-server.
 *
 * Every check of the suite runs except suite_roundtrip_exact: it expects the event key back,
 * and the edx-event-bus-redis wire has no key (exactly the 8 reference fields, plus headers),
 * so the Redis backend drops keys as the reference producer does. test_roundtrip_exact_but_key
 * below is that check with the key assertions replaced by "no key".
 */
#include "backend/backend_suite.h"
#include "backends/redis/redis_int.h"
#include "redis_server.h"

static struct test_redis server;

TEST(test_roundtrip_exact_but_key)
{
    const char *topic = suite_topic();
    char errstr[EDXBUS_ERRSTR_SIZE] = "";
    uint8_t key[] = {0x00, 0xff, 0x10, 'k'};
    uint8_t value[300];
    for (size_t i = 0; i < sizeof value; i++)
        value[i] = (uint8_t)(i * 7);
    value[0] = 'v';
    value[1] = '7';
    value[2] = 0;
    struct edxbus_metadata md;
    suite_metadata(&md, 7);
    snprintf(md.sourcehost, sizeof md.sourcehost, "h\xc3\xa9te-\xe2\x82\xac");
    md.time_us = -62135596800000000 + 1; /* 0001-01-01T00:00:00.000001 */
    md.minorversion = 3;
    md.sourcelib[3] = 42;
    md.nsourcelib = 4;
    static const uint8_t bin[] = {'b', 0x00, 'o', 0xfe};
    struct edxbus_header hdrs[] = {{"error", bin, sizeof bin},
                                   {"attempts", (const uint8_t *)"3", 1},
                                   {"empty", (const uint8_t *)"", 0}};
    struct edxbus_msg msg = {.topic = topic,
                             .key = key,
                             .key_len = sizeof key,
                             .value = value,
                             .value_len = sizeof value,
                             .metadata = &md,
                             .headers = hdrs,
                             .nheaders = 3};
    void *prod = NULL;
    ASSERT_EQ_INT(suite.ops->producer_open(suite.conf, &prod, errstr, sizeof errstr), EDXBUS_OK);
    ASSERT_EQ_INT(suite.ops->produce(prod, &msg, NULL, NULL, errstr, sizeof errstr), EDXBUS_OK);
    suite.ops->producer_close(prod);
    redisReply *r = test_redis_cmd(&server, "XRANGE %s - +", topic);
    ASSERT_TRUE(r != NULL && r->elements == 1);
    ASSERT_EQ_INT(r->element[0]->element[1]->elements, 2 * (8 + 3)); /* no key field */
    freeReplyObject(r);

    void *cons = suite_open(topic, "g", "a", "earliest");
    struct edxbus_batch b = {0};
    ASSERT_EQ_INT(suite.ops->poll(cons, &b, 10, suite.poll_ms, errstr, sizeof errstr), EDXBUS_OK);
    ASSERT_EQ_INT(b.n, 1);
    const struct edxbus_msg *m = &b.msgs[0];
    ASSERT_TRUE(m->unusable == NULL);
    ASSERT_TRUE(m->key == NULL);
    ASSERT_EQ_INT(m->value_len, sizeof value);
    ASSERT_TRUE(memcmp(m->value, value, sizeof value) == 0);
    ASSERT_EQ_STR(m->metadata->id, md.id);
    ASSERT_EQ_INT(m->metadata->minorversion, 3);
    ASSERT_EQ_STR(m->metadata->sourcehost, md.sourcehost);
    ASSERT_EQ_INT(m->metadata->time_us, md.time_us);
    ASSERT_EQ_INT(m->metadata->nsourcelib, 4);
    ASSERT_EQ_INT(m->metadata->sourcelib[3], 42);
    ASSERT_EQ_INT(m->deliveries, 1);
    ASSERT_EQ_INT(m->nheaders, 3);
    for (int i = 0; i < 3; i++) {
        ASSERT_EQ_STR(m->headers[i].name, hdrs[i].name);
        ASSERT_EQ_INT(m->headers[i].len, hdrs[i].len);
        ASSERT_TRUE(memcmp(m->headers[i].value, hdrs[i].value, hdrs[i].len) == 0);
    }
    ASSERT_EQ_INT(suite.ops->ack(cons, m, errstr, sizeof errstr), EDXBUS_OK);
    suite.ops->consumer_close(cons);
}

int main(void)
{
    test_redis_require("integration/redis/test_redis_suite");
    if (!test_redis_start(&server, NULL)) {
        fprintf(stderr, "cannot start redis-server\n");
        return 1;
    }
    edxbus_conf_t *conf = test_redis_conf(server.url);
    suite.ops = &edxbus_backend_redis;
    suite.conf = conf;
    suite.caps = SUITE_CAP_ALL;
    suite.poll_ms = 200;
    RUN(test_roundtrip_exact_but_key);
    /* suite_run() without suite_roundtrip_exact (see the top of this file). */
    RUN(suite_async_flush);
    RUN(suite_new_group_starts_at_latest);
    RUN(suite_earliest);
    RUN(suite_group_resumes_after_acks);
    RUN(suite_two_groups_each_get_all);
    RUN(suite_unacked_redelivered_after_reopen);
    RUN(suite_two_members_share);
    RUN(suite_start_time_replays);
    RUN(suite_seek);
    RUN(suite_tail);
    RUN(suite_lag);
    RUN(suite_bad_start);
    (void)suite_run;
    (void)suite_roundtrip_exact;
    edxbus_conf_destroy(conf);
    test_redis_stop(&server);
    return test_report();
}
