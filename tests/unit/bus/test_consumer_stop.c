/* tests/unit/bus/test_consumer_stop.c — edxbus_consumer_stop() on the embedded SQLite broker:
 * from another thread it wakes a worker blocked in a 30 s poll
 * (tests/backend/stop_check.h); from a signal handler it ends run() too; a stop during the
 * retry backoff of a failing receiver ends the wait at once and leaves the event owed.
 */
#include "backend/stop_check.h"
#include "bus_fixtures.h"

#include <signal.h>

TEST(test_stop_from_another_thread)
{
    stop_check_backend(fx_conf(NULL, NULL), "sqlite", "EVENT_BUS_CONSUMER_POLL_TIMEOUT");
}

static edxbus_consumer_t *signal_target;

static void on_alarm(int sig)
{
    (void)sig;
    edxbus_consumer_stop(signal_target); /* async-signal-safe */
}

TEST(test_stop_from_a_signal_handler)
{
    char errstr[EDXBUS_ERRSTR_SIZE];
    edxbus_conf_t *conf = fx_conf(NULL, NULL);
    edxbus_conf_set(conf, "EVENT_BUS_CONSUMER_POLL_TIMEOUT", "30", errstr, sizeof errstr);
    edxbus_bus_t *bus = edxbus_bus_new(conf, errstr, sizeof errstr);
    ASSERT_TRUE(bus != NULL);
    struct edxbus_consumer_config cfg = {.topic = "quiet", .group = "g", .start_time_ms = -1};
    signal_target = edxbus_consumer_new(bus, &cfg, errstr, sizeof errstr);
    ASSERT_TRUE(signal_target != NULL);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, NULL);
    /* The alarm fires while run() waits in its 30 s poll; ctest's timeout ends a run that was
     * not woken. */
    alarm(1);
    ASSERT_EQ_INT(edxbus_consumer_run(signal_target, errstr, sizeof errstr), EDXBUS_OK);
    alarm(0);
    signal(SIGALRM, SIG_DFL);
    edxbus_consumer_destroy(signal_target);
    signal_target = NULL;
    edxbus_bus_destroy(bus);
}

struct failing {
    edxbus_consumer_t *cons;
    atomic_int calls;
};

static edxbus_err_t fail_and_stop(const edxbus_event_t *ev, void *opaque, char *errstr,
                                  size_t errstr_size)
{
    struct failing *f = opaque;
    if (!edxbus_event_is_from_bus(ev))
        return EDXBUS_OK;
    atomic_fetch_add(&f->calls, 1);
    edxbus_consumer_stop(f->cons); /* the backoff before the next try ends at once */
    snprintf(errstr, errstr_size, "always failing");
    return EDXBUS_ERR_RECEIVER;
}

TEST(test_stop_during_retry_backoff)
{
    char errstr[EDXBUS_ERRSTR_SIZE];
    edxbus_conf_t *conf =
        fx_conf("{\"" ENROLLMENT_TYPE "\": {\"retrying\": {\"event_key_field\": "
                "\"enrollment.course.course_key\", \"enabled\": true}}}",
                NULL);
    /* A 30 s backoff: only a woken wait ends before ctest's timeout. */
    edxbus_conf_set(conf, "EVENT_BUS_CONSUMER_RETRY_BACKOFF_MS", "30000", errstr, sizeof errstr);
    edxbus_bus_t *bus = edxbus_bus_new(conf, errstr, sizeof errstr);
    ASSERT_TRUE(bus != NULL);
    json_t *data = fx_json(ENROLLMENT_JSON);
    ASSERT_EQ_INT(edxbus_send_event(bus, ENROLLMENT_TYPE, data, 0, NULL, errstr, sizeof errstr),
                  EDXBUS_OK);
    json_decref(data);
    json_t *extra = json_pack("{s:s}", "start", "earliest");
    struct edxbus_consumer_config cfg = {
        .topic = "retrying", .group = "g", .extra = extra, .start_time_ms = -1};
    static struct failing f;
    f.cons = edxbus_consumer_new(bus, &cfg, errstr, sizeof errstr);
    ASSERT_TRUE(f.cons != NULL);
    edxbus_signal_connect(edxbus_bus_signal(bus, ENROLLMENT_TYPE), "failing", fail_and_stop, &f);
    ASSERT_EQ_INT(edxbus_consumer_run(f.cons, errstr, sizeof errstr), EDXBUS_OK);
    ASSERT_EQ_INT(atomic_load(&f.calls), 1);
    ASSERT_EQ_UINT(edxbus_consumer_stats(f.cons)->events, 0); /* not acknowledged */
    edxbus_consumer_destroy(f.cons);
    /* Owed to the group: a new member gets it again. */
    cfg.max_events = 1;
    edxbus_signal_disconnect(edxbus_bus_signal(bus, ENROLLMENT_TYPE), fail_and_stop, &f);
    edxbus_consumer_t *again = edxbus_consumer_new(bus, &cfg, errstr, sizeof errstr);
    ASSERT_TRUE(again != NULL);
    ASSERT_EQ_INT(edxbus_consumer_run(again, errstr, sizeof errstr), EDXBUS_OK);
    ASSERT_EQ_UINT(edxbus_consumer_stats(again)->events, 1);
    edxbus_consumer_destroy(again);
    json_decref(extra);
    edxbus_bus_destroy(bus);
}

int main(void)
{
    fx_setup();
    RUN(test_stop_from_another_thread);
    RUN(test_stop_from_a_signal_handler);
    RUN(test_stop_during_retry_backoff);
    fx_cleanup();
    return test_report();
}
