/* tests/backend/stop_check.h — edxbus_consumer_stop() from another thread, on any backend.
 *
 * A worker thread runs edxbus_consumer_run() on a bus whose poll timeout is 30 s; the main
 * thread waits until the worker has handled one event (so it is polling again, blocked in the
 * broker), calls edxbus_consumer_stop() and joins the worker with a bound of 10 s. A worker
 * that was not woken would stay in its 30 s poll past the bound: the join then fails (no
 * timing assertion: the bound only keeps a broken build from hanging). The event handled
 * before the stop was acknowledged (the stats count it), and a later run() returns at once.
 *
 * The caller gives a conf reaching its broker to stop_check_backend(conf, backend, the name of
 * the poll timeout setting it reads).
 */
#ifndef EDXBUS_TEST_STOP_CHECK_H
#define EDXBUS_TEST_STOP_CHECK_H

#define _GNU_SOURCE 1 /* pthread_timedjoin_np */
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "edxbus/edxbus.h"
#include "test.h"

#define STOP_CHECK_EVENT "org.openedx.learning.course.enrollment.created.v1"
#define STOP_CHECK_DATA                                                                        \
    "{\"enrollment\": {\"user\": {\"id\": 7, \"is_active\": true, \"pii\": {\"username\": "    \
    "\"ada\", \"email\": \"ada@example.com\", \"name\": \"Ada\"}}, \"course\": {\"course_key\": " \
    "\"course-v1:edX+DemoX+2024\", \"display_name\": \"Demo\", \"start\": null, \"end\": null}, " \
    "\"mode\": \"audit\", \"is_active\": true, \"creation_date\": "                           \
    "\"2024-05-01T10:00:00+00:00\", \"created_by\": null}}"

struct stop_check_worker {
    edxbus_consumer_t *cons;
    atomic_int received;
    edxbus_err_t err;
    char errstr[EDXBUS_ERRSTR_SIZE];
};

static edxbus_err_t stop_check_receiver(const edxbus_event_t *ev, void *opaque, char *errstr,
                                        size_t errstr_size)
{
    (void)errstr;
    (void)errstr_size;
    if (edxbus_event_is_from_bus(ev)) /* not the local send's own call */
        atomic_fetch_add(&((struct stop_check_worker *)opaque)->received, 1);
    return EDXBUS_OK;
}

static void *stop_check_thread(void *arg)
{
    struct stop_check_worker *w = arg;
    w->err = edxbus_consumer_run(w->cons, w->errstr, sizeof w->errstr);
    return NULL;
}

/* Join @p t within @p seconds; false when it is still running then. */
static bool stop_check_join(pthread_t t, int seconds)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += seconds;
    return pthread_timedjoin_np(t, NULL, &until) == 0;
}

static void stop_check_send(edxbus_bus_t *bus)
{
    char errstr[EDXBUS_ERRSTR_SIZE];
    json_t *data = json_loads(STOP_CHECK_DATA, 0, NULL);
    edxbus_err_t err = edxbus_send_event(bus, STOP_CHECK_EVENT, data, 0, NULL, errstr,
                                         sizeof errstr);
    json_decref(data);
    if (err != EDXBUS_OK)
        TEST_FAIL_("send: %s", errstr);
}

/* The whole check. Takes @p conf. The bus routes STOP_CHECK_EVENT to @p topic. */
static void stop_check_run(edxbus_conf_t *conf, const char *topic)
{
    char errstr[EDXBUS_ERRSTR_SIZE];
    char routing[512];
    snprintf(routing, sizeof routing,
             "{\"" STOP_CHECK_EVENT "\": {\"%s\": {\"event_key_field\": "
             "\"enrollment.course.course_key\", \"enabled\": true}}}",
             topic);
    if (edxbus_conf_set(conf, "EVENT_BUS_PRODUCER_CONFIG", routing, errstr, sizeof errstr) !=
        EDXBUS_OK)
        TEST_FAIL_("conf: %s", errstr);
    edxbus_bus_t *bus = edxbus_bus_new(conf, errstr, sizeof errstr);
    if (bus == NULL)
        TEST_FAIL_("bus: %s", errstr);
    static struct stop_check_worker w;
    memset(&w, 0, sizeof w);
    json_t *extra = json_pack("{s:s}", "start", "earliest");
    struct edxbus_consumer_config cfg = {
        .topic = topic, .group = "stoppers", .extra = extra, .start_time_ms = -1};
    w.cons = edxbus_consumer_new(bus, &cfg, errstr, sizeof errstr);
    if (w.cons == NULL) {
        json_decref(extra);
        edxbus_bus_destroy(bus);
        TEST_FAIL_("consumer: %s", errstr);
    }
    edxbus_signal_connect(edxbus_bus_signal(bus, STOP_CHECK_EVENT), "stop-check",
                          stop_check_receiver, &w);
    stop_check_send(bus); /* before the worker starts: one thread sends at a time */
    pthread_t t;
    ASSERT_EQ_INT(pthread_create(&t, NULL, stop_check_thread, &w), 0);
    /* Wait (bounded) until the worker handled the event: it is back in a 30 s poll. The bound
     * is a safety net, not a timing: a Kafka group join on the mock under ASan on a loaded
     * machine took longer than 30 s once. */
    for (int i = 0; i < 18000 && atomic_load(&w.received) == 0; i++) {
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
    ASSERT_EQ_INT(atomic_load(&w.received), 1);
    struct timespec ts = {0, 200 * 1000000L}; /* let it enter the broker's blocking read */
    nanosleep(&ts, NULL);
    edxbus_consumer_stop(w.cons);
    bool joined = stop_check_join(t, 10);
    if (!joined) {
        /* Not woken: it is still in its 30 s poll. Let it end before failing. */
        pthread_join(t, NULL);
        TEST_FAIL_("the worker was not woken by edxbus_consumer_stop()");
    }
    ASSERT_EQ_INT(w.err, EDXBUS_OK);
    ASSERT_EQ_UINT(edxbus_consumer_stats(w.cons)->events, 1); /* handled and acknowledged */
    /* Stopping is final: a later run returns at once. */
    ASSERT_EQ_INT(edxbus_consumer_run(w.cons, errstr, sizeof errstr), EDXBUS_OK);
    json_decref(extra);
    edxbus_consumer_destroy(w.cons);
    edxbus_bus_destroy(bus);
}

/* stop_check_run() on @p conf with @p backend selected both ways and its poll timeout
 * (setting @p poll_setting) at 30 s. Takes @p conf. */
static void stop_check_backend(edxbus_conf_t *conf, const char *backend, const char *poll_setting)
{
    char errstr[EDXBUS_ERRSTR_SIZE];
    if (edxbus_conf_set(conf, "EVENT_BUS_PRODUCER", backend, errstr, sizeof errstr) ||
        edxbus_conf_set(conf, "EVENT_BUS_CONSUMER", backend, errstr, sizeof errstr) ||
        edxbus_conf_set(conf, poll_setting, "30", errstr, sizeof errstr)) {
        edxbus_conf_destroy(conf);
        TEST_FAIL_("conf: %s", errstr);
    }
    stop_check_run(conf, "stopping");
}

#endif /* EDXBUS_TEST_STOP_CHECK_H */
