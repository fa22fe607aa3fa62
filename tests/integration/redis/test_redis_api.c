/* tests/integration/redis/test_redis_api.c — the public C API against a real redis-server, as a
 * service sees it: the error line of a Redis outage reported by a send (complete, or marked
 * when it cannot fit), edxbus_bus_resend() writing the failed event again (same id, no local
 * receiver run again) once Redis is back, and a consumer blocked in a 30 s XREADGROUP stopped from another thread
 * (tests/backend/stop_check.h).
 */
#include "backend/stop_check.h"
#include "redis_server.h"
#include "test.h"
#include "unit/bus/bus_fixtures.h"

static struct test_redis server;

static bool ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), t = strlen(tail);
    return n >= t && memcmp(s + n - t, tail, t) == 0;
}

/* A bus producing enrollments to @p topic on @p url, synchronously. */
static edxbus_bus_t *redis_bus(const char *url, const char *topic)
{
    char errstr[EDXBUS_ERRSTR_SIZE];
    edxbus_conf_t *conf = test_redis_conf(url);
    char routing[2048];
    snprintf(routing, sizeof routing,
             "{\"" ENROLLMENT_TYPE "\": {\"%s\": {\"event_key_field\": "
             "\"enrollment.course.course_key\", \"enabled\": true}}}",
             topic);
    edxbus_conf_set_log(conf, fx_log_fn, NULL);
    if (edxbus_conf_set(conf, "EVENT_BUS_PRODUCER", "redis", errstr, sizeof errstr) ||
        edxbus_conf_set(conf, "EVENT_BUS_REDIS_SOCKET_TIMEOUT", "0.3", errstr, sizeof errstr) ||
        edxbus_conf_set(conf, "EVENT_BUS_REDIS_DELIVERY_TIMEOUT", "1", errstr, sizeof errstr) ||
        edxbus_conf_set(conf, "EVENT_BUS_PRODUCER_CONFIG", routing, errstr, sizeof errstr)) {
        fprintf(stderr, "conf: %s\n", errstr);
        exit(1);
    }
    edxbus_bus_t *bus = edxbus_bus_new(conf, errstr, sizeof errstr);
    if (bus == NULL) {
        fprintf(stderr, "bus: %s\n", errstr);
        exit(1);
    }
    return bus;
}

/* Send one enrollment on a bus whose Redis is gone; the error line it gives. */
static void send_during_outage(const char *topic, char *errstr, size_t errstr_size,
                               struct edxbus_send_report *report)
{
    struct test_redis doomed;
    ASSERT_TRUE(test_redis_start(&doomed, NULL));
    edxbus_bus_t *bus = redis_bus(doomed.url, topic);
    test_redis_stop(&doomed);
    json_t *data = fx_json(ENROLLMENT_JSON);
    edxbus_err_t err = edxbus_send_event(bus, ENROLLMENT_TYPE, data, 0, report, errstr,
                                         errstr_size);
    json_decref(data);
    edxbus_bus_destroy(bus);
    ASSERT_TRUE(err != EDXBUS_OK);
    ASSERT_TRUE(edxbus_err_is_retriable(err));
}

/* A topic name of @p n times @p c (static storage). */
static const char *long_topic(size_t n, char c)
{
    static char topic[2048];
    memset(topic, c, n);
    topic[n] = '\0';
    return topic;
}

TEST(test_outage_message_is_complete)
{
    /* A topic name of 150 characters: the whole line (event id, stream, URL, the reason)
     * fits in an EDXBUS_ERRSTR_SIZE buffer. */
    const char *topic = long_topic(150, 't');
    char errstr[EDXBUS_ERRSTR_SIZE], stream[2100];
    struct edxbus_send_report report = {0};
    send_during_outage(topic, errstr, sizeof errstr, &report);
    ASSERT_TRUE(!ends_with(errstr, EDXBUS_ERRSTR_CUT));
    ASSERT_CONTAINS(errstr, report.metadata.id);
    snprintf(stream, sizeof stream, "\"%s\" ", topic); /* the stream name, then the reason */
    ASSERT_CONTAINS(errstr, stream);
    ASSERT_CONTAINS(errstr, "redis://127.0.0.1:");
}

TEST(test_outage_message_too_long_is_marked)
{
    /* A topic name longer than the buffer: the line is cut, and says so; a smaller buffer of
     * the caller's is marked the same way. */
    char errstr[EDXBUS_ERRSTR_SIZE], small[100];
    struct edxbus_send_report report = {0};
    send_during_outage(long_topic(1200, 'u'), errstr, sizeof errstr, &report);
    ASSERT_TRUE(ends_with(errstr, EDXBUS_ERRSTR_CUT));
    ASSERT_EQ_INT(strlen(errstr), sizeof errstr - 1);
    send_during_outage("short", small, sizeof small, &report);
    ASSERT_TRUE(ends_with(small, EDXBUS_ERRSTR_CUT));
}

static int local_calls;

static edxbus_err_t count_local(const edxbus_event_t *ev, void *opaque, char *errstr,
                                size_t errstr_size)
{
    (void)ev;
    (void)opaque;
    (void)errstr;
    (void)errstr_size;
    local_calls++;
    return EDXBUS_OK;
}

/* The ids of the entries of @p stream, as one text ("id1 id2 "). */
static void stream_event_ids(const struct test_redis *r, const char *stream, char *out,
                             size_t out_size)
{
    out[0] = '\0';
    redisReply *reply = test_redis_cmd(r, "XRANGE %s - +", stream);
    for (size_t i = 0; reply != NULL && i < reply->elements; i++) {
        redisReply *fields = reply->element[i]->element[1];
        for (size_t f = 0; f + 1 < fields->elements; f += 2)
            if (strcmp(fields->element[f]->str, "id") == 0) {
                size_t used = strlen(out);
                snprintf(out + used, out_size - used, "%s ", fields->element[f + 1]->str);
            }
    }
    freeReplyObject(reply);
}

TEST(test_resend_writes_the_same_event_once_more)
{
    struct test_redis r;
    ASSERT_TRUE(test_redis_start(&r, NULL));
    edxbus_bus_t *bus = redis_bus(r.url, "resend");
    local_calls = 0;
    edxbus_signal_connect(edxbus_bus_signal(bus, ENROLLMENT_TYPE), "local", count_local, NULL);
    json_t *data = fx_json(ENROLLMENT_JSON);
    char errstr[EDXBUS_ERRSTR_SIZE];
    struct edxbus_send_report failed = {0}, again = {0};

    test_redis_kill(&r); /* the broker is down: the send fails in the producer */
    edxbus_err_t err = edxbus_send_event(bus, ENROLLMENT_TYPE, data, 0, &failed, errstr,
                                         sizeof errstr);
    ASSERT_TRUE(err != EDXBUS_OK && edxbus_err_is_retriable(err));
    ASSERT_EQ_INT(failed.producer_err, err);
    ASSERT_EQ_INT(local_calls, 1);

    /* Still down: the resend fails the same way, and runs no receiver. */
    err = edxbus_bus_resend(bus, &failed, data, &again, errstr, sizeof errstr);
    ASSERT_TRUE(err != EDXBUS_OK && edxbus_err_is_retriable(err));
    ASSERT_EQ_INT(local_calls, 1);

    ASSERT_TRUE(test_redis_restart(&r));
    err = edxbus_bus_resend(bus, &failed, data, &again, errstr, sizeof errstr);
    if (err != EDXBUS_OK)
        fprintf(stderr, "resend: %s\n", errstr);
    ASSERT_EQ_INT(err, EDXBUS_OK);
    ASSERT_EQ_INT(local_calls, 1);              /* the local receiver did not run again */
    ASSERT_EQ_UINT(again.ncalled, 1);           /* the producer alone */
    ASSERT_EQ_STR(again.metadata.id, failed.metadata.id);
    ASSERT_EQ_INT(again.metadata.time_us, failed.metadata.time_us);
    char ids[512];
    stream_event_ids(&r, "resend", ids, sizeof ids);
    char want[128];
    snprintf(want, sizeof want, "%s ", failed.metadata.id);
    ASSERT_EQ_STR(ids, want); /* one entry, with the first send's id */
    json_decref(data);
    edxbus_bus_destroy(bus);
    test_redis_stop(&r);
}

TEST(test_resend_needs_a_producer)
{
    char errstr[EDXBUS_ERRSTR_SIZE];
    edxbus_conf_t *conf = test_redis_conf(server.url);
    edxbus_bus_t *bus = edxbus_bus_new(conf, errstr, sizeof errstr);
    ASSERT_TRUE(bus != NULL);
    struct edxbus_send_report failed = {0};
    json_t *data = fx_json(ENROLLMENT_JSON);
    ASSERT_EQ_INT(edxbus_send_event(bus, ENROLLMENT_TYPE, data, 0, &failed, errstr,
                                    sizeof errstr),
                  EDXBUS_OK);
    ASSERT_EQ_INT(edxbus_bus_resend(bus, &failed, data, NULL, errstr, sizeof errstr),
                  EDXBUS_ERR_STATE);
    ASSERT_CONTAINS(errstr, failed.metadata.id);
    json_decref(data);
    edxbus_bus_destroy(bus);
}

TEST(test_stop_from_another_thread)
{
    stop_check_backend(test_redis_conf(server.url), "redis",
                       "EVENT_BUS_REDIS_CONSUMER_POLL_TIMEOUT");
}

int main(void)
{
    test_redis_require("integration/redis/test_redis_api");
    if (!test_redis_start(&server, NULL)) {
        fprintf(stderr, "cannot start redis-server\n");
        return 1;
    }
    RUN(test_outage_message_is_complete);
    RUN(test_outage_message_too_long_is_marked);
    RUN(test_resend_writes_the_same_event_once_more);
    RUN(test_resend_needs_a_producer);
    RUN(test_stop_from_another_thread);
    test_redis_stop(&server);
    return test_report();
}
