/* tests/integration/redis/test_redis_suite.c — the shared backend conformance suite
 * (tests/backend/backend_suite.h) against the Redis backend and a real redis-server.
 *
 * Every check runs, with SUITE_CAP_KEYS off: the edx-event-bus-redis wire has no key field
 * (exactly the 8 reference fields, plus headers), so the Redis backend drops keys as the
 * reference producer does, and the suite's round trip checks that no key comes back.
 * test_key_left_off_the_wire below checks the other half: a produced key adds no field.
 */
#include "backend/backend_suite.h"
#include "backends/redis/redis_int.h"
#include "redis_server.h"

static struct test_redis server;

TEST(test_key_left_off_the_wire)
{
    const char *topic = suite_topic();
    char errstr[EDXBUS_ERRSTR_SIZE] = "";
    struct edxbus_metadata md;
    suite_metadata(&md, 1);
    struct edxbus_msg msg = {.topic = topic,
                             .key = (const uint8_t *)"k1",
                             .key_len = 2,
                             .value = (const uint8_t *)"v1",
                             .value_len = 2,
                             .metadata = &md};
    void *prod = NULL;
    ASSERT_EQ_INT(suite.ops->producer_open(suite.conf, &prod, errstr, sizeof errstr), EDXBUS_OK);
    ASSERT_EQ_INT(suite.ops->produce(prod, &msg, NULL, NULL, errstr, sizeof errstr), EDXBUS_OK);
    suite.ops->producer_close(prod);
    redisReply *r = test_redis_cmd(&server, "XRANGE %s - +", topic);
    ASSERT_TRUE(r != NULL && r->elements == 1);
    ASSERT_EQ_INT(r->element[0]->element[1]->elements, 2 * 8); /* the reference fields only */
    freeReplyObject(r);
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
    suite_skip(SUITE_CAP_KEYS, "the edx-event-bus-redis wire has no key field; the round trip "
                               "checks that none comes back, test_key_left_off_the_wire that "
                               "none is written");
    suite.poll_ms = 200;
    RUN(test_key_left_off_the_wire);
    suite_run();
    edxbus_conf_destroy(conf);
    test_redis_stop(&server);
    return test_report();
}
