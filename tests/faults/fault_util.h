/* tests/faults/fault_util.h — what the fault-injection tests share: a stalled server, bounded
 * waits on what Redis holds, and messages to produce.
 *
 * Stalls are SIGSTOP/SIGCONT of the test's own redis-server (by the pid test_redis_start() got);
 * every wait is bounded and checks a condition, never a duration.
 */
#ifndef EDXBUS_TEST_FAULT_UTIL_H
#define EDXBUS_TEST_FAULT_UTIL_H

#include "backends/redis/redis_int.h"
#include "edxbus/backend.h"
#include "edxbus/metadata.h"
#include "redis_server.h"

/** Start the test's own server (exit 77 when redis-server is missing, 1 when it fails). */
static inline void fault_start(struct test_redis *r, const char *program)
{
    test_redis_require(program);
    if (!test_redis_start(r, NULL)) {
        fprintf(stderr, "%s: cannot start redis-server\n", program);
        exit(1);
    }
}

static inline void fault_stall(const struct test_redis *r)
{
    kill(r->pid, SIGSTOP);
}

static inline void fault_resume(const struct test_redis *r)
{
    kill(r->pid, SIGCONT);
}

/** An integer reply of a raw command (-1 when there is none). */
static inline long long fault_int(const struct test_redis *r, const char *fmt, const char *arg)
{
    redisReply *reply = test_redis_cmd(r, fmt, arg);
    long long n = reply != NULL && reply->type == REDIS_REPLY_INTEGER ? reply->integer : -1;
    freeReplyObject(reply);
    return n;
}

/** Connections the server has accepted so far (INFO stats; the query's own included), -1 on
 * error. */
static inline long long fault_connections(const struct test_redis *r)
{
    redisReply *reply = test_redis_cmd(r, "INFO %s", "stats");
    long long n = -1;
    const char *at = reply != NULL && reply->type == REDIS_REPLY_STRING
                         ? strstr(reply->str, "total_connections_received:")
                         : NULL;
    if (at != NULL)
        n = strtoll(at + strlen("total_connections_received:"), NULL, 10);
    freeReplyObject(reply);
    return n;
}

/** Entries of group @p group of @p stream that are pending (XPENDING summary), -1 on error. */
static inline long long fault_pending(const struct test_redis *r, const char *stream,
                                      const char *group)
{
    redisReply *reply = test_redis_cmd(r, "XPENDING %s %s", stream, group);
    long long n = -1;
    if (reply != NULL && reply->type == REDIS_REPLY_ARRAY && reply->elements >= 1)
        n = reply->element[0]->integer;
    freeReplyObject(reply);
    return n;
}

/** Wait (at most ~20 s) until XPENDING says @p want; returns the last count seen. */
static inline long long fault_wait_pending(const struct test_redis *r, const char *stream,
                                           const char *group, long long want)
{
    long long n = -1;
    for (int i = 0; i < 2000; i++) {
        n = fault_pending(r, stream, group);
        if (n == want)
            break;
        test_redis_sleep_ms(10);
    }
    return n;
}

/** A message of @p topic with fresh metadata in @p md. */
static inline struct edxbus_msg fault_msg(struct edxbus_metadata *md, const char *topic)
{
    char errstr[EDXBUS_ERRSTR_SIZE];
    edxbus_metadata_generate(md, "org.openedx.test.event.v1", 0, "test", errstr, sizeof errstr);
    struct edxbus_msg msg = {
        .topic = topic, .value = (const uint8_t *)"v", .value_len = 1, .metadata = md};
    return msg;
}

/** A conf for @p r with the socket timeout @p secs (text). Returns new. */
static inline edxbus_conf_t *fault_conf(const struct test_redis *r, const char *secs)
{
    char errstr[EDXBUS_ERRSTR_SIZE];
    edxbus_conf_t *conf = test_redis_conf(r->url);
    if (conf != NULL)
        edxbus_conf_set(conf, "EVENT_BUS_REDIS_SOCKET_TIMEOUT", secs, errstr, sizeof errstr);
    return conf;
}

/** Member @p name of group "g" of @p stream, from its earliest entry (NULL on failure). */
static inline void *fault_member(const edxbus_conf_t *conf, const char *stream, const char *name)
{
    char errstr[EDXBUS_ERRSTR_SIZE];
    struct edxbus_consumer_opts opts = {
        .topic = stream, .group = "g", .consumer_name = name, .start = "earliest",
        .start_time_ms = -1};
    void *cons = NULL;
    if (edxbus_backend_redis.consumer_open(conf, &opts, &cons, errstr, sizeof errstr) != EDXBUS_OK)
        fprintf(stderr, "consumer_open: %s\n", errstr);
    return cons;
}

#endif /* EDXBUS_TEST_FAULT_UTIL_H */
