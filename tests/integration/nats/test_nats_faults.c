/* tests/integration/nats/test_nats_faults.c — NATS JetStream on a bad day, on a real nats-server
 * with file storage.
 *
 * Killed and restarted: events are produced asynchronously, the server is killed (SIGKILL)
 * while some are in flight and started again on the same store, and more are produced by the
 * same producer; every event reported delivered is then read back by a new group: no
 * acknowledged event is lost, and the producer recovered without being reopened.
 * Frozen (SIGSTOP): a synchronous send, a flush, a poll, a lag each come back (a timeout, or an
 * empty poll) instead of hanging; after SIGCONT the same producer sends again.
 * Nothing asserts on time: a hang would be caught by ctest's timeout; elapsed times are printed.
 */
#include <time.h>

#include "backends/nats/nats_int.h"
#include "nats_server.h"
#include "test.h"

#define N_EVENTS 1000 /* per half of the kill test */

static struct test_nats server;
static edxbus_conf_t *conf;
static const struct edxbus_backend_ops *ops = &edxbus_backend_nats;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int index_of(const struct edxbus_msg *m)
{
    char text[16];
    if (m->value_len < 2 || m->value_len >= sizeof text || m->value[0] != 'v')
        return -1;
    memcpy(text, m->value + 1, m->value_len - 1);
    text[m->value_len - 1] = '\0';
    return atoi(text);
}

static char reported[2 * N_EVENTS]; /* 1: delivered, 2: failed */
static void on_report(void *opaque, const struct edxbus_msg *msg, edxbus_err_t err,
                      const char *errstr, const char *position)
{
    int i = index_of(msg);
    if (i >= 0 && i < 2 * N_EVENTS)
        reported[i] = err == EDXBUS_OK ? 1 : 2;
}

static void produce_range(void *prod, const char *topic, int from, int to, edxbus_delivery_fn cb)
{
    char errstr[EDXBUS_ERRSTR_SIZE];
    for (int i = from; i < to; i++) {
        char value[16];
        struct edxbus_metadata md;
        memset(&md, 0, sizeof md);
        snprintf(md.event_type, sizeof md.event_type,
                 "org.openedx.learning.course.enrollment.created.v1");
        snprintf(md.id, sizeof md.id, "5e1f0000-0000-11ef-9f8e-%012d", i);
        snprintf(md.source, sizeof md.source, "openedx/lms/web");
        snprintf(md.sourcehost, sizeof md.sourcehost, "host");
        md.time_us = INT64_C(1715954607123456) + i;
        md.sourcelib[0] = 11;
        md.nsourcelib = 1;
        snprintf(value, sizeof value, "v%d", i);
        struct edxbus_msg msg = {.topic = topic, .value = (const uint8_t *)value,
                                 .value_len = strlen(value), .metadata = &md};
        edxbus_err_t err = ops->produce(prod, &msg, cb, NULL, errstr, sizeof errstr);
        if (err != EDXBUS_OK && cb != NULL)
            reported[i] = 2; /* refused at once: not delivered either */
    }
}

TEST(test_killed_and_restarted_server_loses_no_acknowledged_event)
{
    const char *topic = "faults-kill";
    char errstr[EDXBUS_ERRSTR_SIZE];
    void *prod = NULL;
    ASSERT_EQ_INT(ops->producer_open(conf, &prod, errstr, sizeof errstr), EDXBUS_OK);
    produce_range(prod, topic, 0, N_EVENTS, on_report);
    test_nats_kill(&server); /* with events in flight */
    ASSERT_TRUE(test_nats_restart(&server));
    produce_range(prod, topic, N_EVENTS, 2 * N_EVENTS, on_report);
    edxbus_err_t ferr = ops->flush(prod, 60000, errstr, sizeof errstr);
    if (ferr != EDXBUS_OK)
        fprintf(stderr, "flush: %s\n", errstr);
    ASSERT_EQ_INT(ferr, EDXBUS_OK); /* every event answered: stored, refused or timed out */
    ops->producer_close(prod);
    int ok = 0, ok_after = 0, failed = 0;
    for (int i = 0; i < 2 * N_EVENTS; i++) {
        ok += reported[i] == 1;
        ok_after += i >= N_EVENTS && reported[i] == 1;
        failed += reported[i] == 2;
    }
    fprintf(stderr, "kill test: %d delivered (%d after the restart), %d not\n", ok, ok_after,
            failed);
    ASSERT_EQ_INT(ok + failed, 2 * N_EVENTS);
    ASSERT_TRUE(ok_after > 0); /* the same producer works again */

    /* Everything acknowledged is stored: a new group from the earliest reads it all. */
    static char seen[2 * N_EVENTS];
    struct edxbus_consumer_opts opts = {
        .topic = topic, .group = "check", .start = "earliest", .start_time_ms = -1};
    void *cons = NULL;
    ASSERT_EQ_INT(ops->consumer_open(conf, &opts, &cons, errstr, sizeof errstr), EDXBUS_OK);
    for (int empty = 0; empty < 10;) {
        struct edxbus_batch b = {0};
        ASSERT_EQ_INT(ops->poll(cons, &b, 256, 300, errstr, sizeof errstr), EDXBUS_OK);
        empty = b.n == 0 ? empty + 1 : 0;
        for (size_t i = 0; i < b.n; i++) {
            int k = index_of(&b.msgs[i]);
            if (k >= 0 && k < 2 * N_EVENTS)
                seen[k] = 1;
            ASSERT_EQ_INT(ops->ack(cons, &b.msgs[i], errstr, sizeof errstr), EDXBUS_OK);
        }
    }
    ops->consumer_close(cons);
    int lost = 0;
    for (int i = 0; i < 2 * N_EVENTS; i++)
        if (reported[i] == 1 && !seen[i]) {
            if (lost++ < 5)
                fprintf(stderr, "acknowledged event v%d is not stored\n", i);
        }
    ASSERT_EQ_INT(lost, 0);
}

TEST(test_frozen_server_gives_timeouts_not_hangs)
{
    const char *topic = "faults-frozen";
    char errstr[EDXBUS_ERRSTR_SIZE];
    void *prod = NULL, *cons = NULL;
    ASSERT_EQ_INT(ops->producer_open(conf, &prod, errstr, sizeof errstr), EDXBUS_OK);
    produce_range(prod, topic, 0, 1, NULL); /* the stream exists, the producer knows it */
    struct edxbus_consumer_opts opts = {
        .topic = topic, .group = "g", .start = "earliest", .start_time_ms = -1};
    ASSERT_EQ_INT(ops->consumer_open(conf, &opts, &cons, errstr, sizeof errstr), EDXBUS_OK);

    test_nats_freeze(&server);
    int64_t t0 = now_ms();
    struct edxbus_metadata md;
    memset(&md, 0, sizeof md);
    snprintf(md.event_type, sizeof md.event_type, "org.openedx.x.v1");
    snprintf(md.id, sizeof md.id, "5e1f0000-0000-11ef-9f8e-999999999999");
    md.nsourcelib = 0;
    struct edxbus_msg msg = {.topic = topic, .value = (const uint8_t *)"v1", .value_len = 2,
                             .metadata = &md};
    errstr[0] = '\0';
    ASSERT_EQ_INT(ops->produce(prod, &msg, NULL, NULL, errstr, sizeof errstr),
                  EDXBUS_ERR_TIMEOUT);
    ASSERT_CONTAINS(errstr, "may or may not be stored");
    fprintf(stderr, "frozen: synchronous send: %s (%lld ms)\n", errstr,
            (long long)(now_ms() - t0));

    memset(reported, 0, sizeof reported);
    snprintf(md.id, sizeof md.id, "5e1f0000-0000-11ef-9f8e-999999999998");
    msg.value = (const uint8_t *)"v2";
    ASSERT_EQ_INT(ops->produce(prod, &msg, on_report, NULL, errstr, sizeof errstr), EDXBUS_OK);
    t0 = now_ms();
    edxbus_err_t ferr = ops->flush(prod, 30000, errstr, sizeof errstr);
    /* libnats' own ack timeout (EVENT_BUS_NATS_DELIVERY_TIMEOUT) reports it first. */
    ASSERT_EQ_INT(ferr, EDXBUS_OK);
    ASSERT_EQ_INT(reported[2], 2);
    fprintf(stderr, "frozen: asynchronous send reported not confirmed (%lld ms)\n",
            (long long)(now_ms() - t0));

    t0 = now_ms();
    struct edxbus_batch b = {0};
    edxbus_err_t perr = ops->poll(cons, &b, 8, 500, errstr, sizeof errstr);
    ASSERT_TRUE(perr != EDXBUS_OK || b.n == 0);
    fprintf(stderr, "frozen: poll came back (%s, %lld ms)\n", edxbus_err2name(perr),
            (long long)(now_ms() - t0));

    t0 = now_ms();
    json_t *lag = NULL;
    errstr[0] = '\0';
    ASSERT_EQ_INT(ops->lag(conf, topic, "g", &lag, errstr, sizeof errstr), EDXBUS_ERR_TIMEOUT);
    fprintf(stderr, "frozen: lag: %s (%lld ms)\n", errstr, (long long)(now_ms() - t0));

    test_nats_thaw(&server);
    snprintf(md.id, sizeof md.id, "5e1f0000-0000-11ef-9f8e-999999999997");
    edxbus_err_t err = EDXBUS_ERR_TIMEOUT;
    for (int tries = 0; tries < 20 && err != EDXBUS_OK; tries++) /* bounded */
        err = ops->produce(prod, &msg, NULL, NULL, errstr, sizeof errstr);
    ASSERT_EQ_INT(err, EDXBUS_OK);
    ops->consumer_close(cons);
    ops->producer_close(prod);
}

int main(void)
{
    test_nats_require("integration/nats/test_nats_faults");
    if (!test_nats_start(&server)) {
        fprintf(stderr, "cannot start nats-server\n");
        return 1;
    }
    conf = test_nats_conf(server.url);
    char errstr[EDXBUS_ERRSTR_SIZE];
    if (edxbus_conf_set(conf, "EVENT_BUS_NATS_TIMEOUT", "1", errstr, sizeof errstr) ||
        edxbus_conf_set(conf, "EVENT_BUS_NATS_DELIVERY_TIMEOUT", "3", errstr, sizeof errstr)) {
        fprintf(stderr, "conf: %s\n", errstr);
        return 1;
    }
    RUN(test_killed_and_restarted_server_loses_no_acknowledged_event);
    RUN(test_frozen_server_gives_timeouts_not_hangs);
    edxbus_conf_destroy(conf);
    test_nats_stop(&server);
    return test_report();
}
