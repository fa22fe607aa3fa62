/* tests/faults/test_metrics.c — metrics and probes over real HTTP (metrics.h).
 *
 *   - A consumer on the embedded broker with the listener on a free loopback port, fed 1,000
 *     events of which every tenth fails every try and is dead-lettered: /metrics is scraped
 *     with libcurl, the WHOLE exposition passes a strict parser of format 0.0.4
 *     (expo_parser.h), and the counters, histogram counts, the lag gauge (1,000 before, 0
 *     after), the last-event time and the broker state say exactly what happened.
 *   - /readyz on a Redis consumer: ready, then not ready once its redis-server is killed
 *     (SIGKILL by pid), then ready again once a server is restarted on the same port.
 *   - The probes with no worker, unknown paths and methods, a port already taken.
 * Every wait is bounded and checks a condition, never a duration.
 */
#include <curl/curl.h>
#include <pthread.h>

#include "expo_parser.h"
#include "fault_util.h"
#include "test.h"
#include "unit/bus/bus_fixtures.h"

#define ROUTES                                                                                 \
    "{\"" ENROLLMENT_TYPE "\": {\"enrollments\": {\"event_key_field\": "                       \
    "\"enrollment.course.course_key\", \"enabled\": true}}}"
#define N_EVENTS 1000

struct http {
    long status;
    struct edxbus_buf body;
};

static size_t http_write(char *data, size_t size, size_t n, void *opaque)
{
    struct edxbus_buf *b = opaque;
    return edxbus_buf_append(b, data, size * n) == EDXBUS_OK ? size * n : 0;
}

/* GET http://127.0.0.1:@p port@p path. */
static void http_get(uint16_t port, const char *path, const char *method, struct http *out)
{
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%u%s", (unsigned)port, path);
    edxbus_buf_reset(&out->body);
    out->status = 0;
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, http_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &out->body);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    if (method != NULL)
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
    curl_easy_cleanup(c);
    edxbus_buf_terminate(&out->body);
}

static struct expo expo; /* large: not on the stack */

/* Scrape and parse strictly. */
static void scrape(uint16_t port, struct http *h)
{
    http_get(port, "/metrics", NULL, h);
    if (h->status != 200)
        TEST_FAIL_("/metrics answered %ld", h->status);
    if (!expo_parse(&expo, (const char *)h->body.data))
        TEST_FAIL_("exposition refused: %s\n%s", expo.error, (const char *)h->body.data);
}

/* Scrape until @p name{labels} == @p want (bounded: about 30 s). */
static void wait_value(uint16_t port, struct http *h, const char *name, const char *labels,
                       double want)
{
    double got = NAN;
    for (int i = 0; i < 3000; i++) {
        scrape(port, h);
        got = expo_get(&expo, name, labels);
        if (got == want)
            return;
        test_redis_sleep_ms(10);
    }
    TEST_FAIL_("%s{%s} stayed %g, expected %g", name, labels, got, want);
}

/* Until /path answers @p status (bounded: about 60 s). */
static void wait_status(uint16_t port, const char *path, long status, struct http *h)
{
    for (int i = 0; i < 6000; i++) {
        http_get(port, path, NULL, h);
        if (h->status == status)
            return;
        test_redis_sleep_ms(10);
    }
    TEST_FAIL_("%s stayed %ld (%s), expected %ld", path, h->status, (const char *)h->body.data,
               status);
}

/* A receiver failing every try on the events whose ids are in bad[]. */
struct picky {
    char (*bad)[EDXBUS_METADATA_ID_MAX];
    int nbad;
    int calls;
};

static edxbus_err_t picky_receiver(const edxbus_event_t *ev, void *opaque, char *errstr,
                                   size_t errstr_size)
{
    struct picky *p = opaque;
    p->calls++;
    const char *id = edxbus_event_get_metadata(ev)->id;
    for (int i = 0; i < p->nbad; i++)
        if (strcmp(p->bad[i], id) == 0) {
            snprintf(errstr, errstr_size, "refused on purpose");
            return EDXBUS_ERR_RECEIVER;
        }
    return EDXBUS_OK;
}

static void set(edxbus_conf_t *conf, const char *name, const char *value)
{
    char err[EDXBUS_ERRSTR_SIZE];
    if (edxbus_conf_set(conf, name, value, err, sizeof err) != EDXBUS_OK)
        TEST_FAIL_("%s: %s", name, err);
}

struct runner {
    edxbus_consumer_t *cons;
    volatile sig_atomic_t stop;
    edxbus_err_t err;
    char errstr[EDXBUS_ERRSTR_SIZE];
};

static void *run_consumer(void *arg)
{
    struct runner *r = arg;
    r->err = edxbus_consumer_run(r->cons, r->errstr, sizeof r->errstr);
    return NULL;
}

TEST(test_consumer_metrics_over_http)
{
    static char ids[N_EVENTS][EDXBUS_METADATA_ID_MAX];
    static char bad[N_EVENTS / 10][EDXBUS_METADATA_ID_MAX];
    struct http h = {0, EDXBUS_BUF_INIT};
    edxbus_conf_t *conf = fx_conf(ROUTES, NULL);
    set(conf, "EVENT_BUS_CONSUMER_RETRIES", "2");
    set(conf, "EVENT_BUS_METRICS_REFRESH_INTERVAL", "0.05");
    set(conf, "EVENT_BUS_METRICS_ADDRESS", "127.0.0.1:0");
    set(conf, "EVENT_BUS_CONSUMER_BATCH_SIZE", "100");
    char err[EDXBUS_ERRSTR_SIZE] = "";
    edxbus_metrics_server_t *srv = NULL;
    if (edxbus_metrics_server_start(conf, NULL, &srv, err, sizeof err) != EDXBUS_OK)
        TEST_FAIL_("server: %s", err);
    uint16_t port = edxbus_metrics_server_port(srv);
    ASSERT_TRUE(port != 0);
    edxbus_bus_t *bus = edxbus_bus_new(conf, err, sizeof err);
    ASSERT_TRUE(bus != NULL);

    /* No worker yet: alive, not ready. */
    http_get(port, "/healthz", NULL, &h);
    ASSERT_EQ_INT(h.status, 200);
    http_get(port, "/readyz", NULL, &h);
    ASSERT_EQ_INT(h.status, 503);

    json_t *data = fx_json(ENROLLMENT_JSON);
    for (int i = 0; i < N_EVENTS; i++) {
        struct edxbus_send_report rep = {0};
        if (edxbus_send_event(bus, ENROLLMENT_TYPE, data, 0, &rep, err, sizeof err) != EDXBUS_OK)
            TEST_FAIL_("send: %s", err);
        snprintf(ids[i], sizeof ids[i], "%s", rep.metadata.id);
        if (i % 10 == 0)
            snprintf(bad[i / 10], sizeof bad[i / 10], "%s", rep.metadata.id);
    }
    json_decref(data);
    struct picky p = {.bad = bad, .nbad = N_EVENTS / 10};
    ASSERT_EQ_INT(edxbus_signal_connect(edxbus_bus_signal(bus, ENROLLMENT_TYPE), "picky",
                                        picky_receiver, &p),
                  EDXBUS_OK);

    static struct runner run;
    json_t *extra = fx_json("{\"start\": \"earliest\"}");
    struct edxbus_consumer_config cfg = {.topic = "enrollments",
                                         .group = "g1",
                                         .extra = extra,
                                         .start_time_ms = -1,
                                         .stop = &run.stop};
    edxbus_consumer_t *cons = edxbus_consumer_new(bus, &cfg, err, sizeof err);
    json_decref(extra);
    if (cons == NULL)
        TEST_FAIL_("consumer: %s", err);

    /* The lag gauge, from its own thread: the whole backlog before anything is consumed. */
    wait_value(port, &h, "edxbus_consumer_lag", "group=g1,partition=,topic=enrollments",
               N_EVENTS);
    int64_t before_ms = (int64_t)time(NULL) * 1000;
    run.cons = cons;
    pthread_t t;
    pthread_create(&t, NULL, run_consumer, &run);

    /* ...and nothing once it is all handled (the worker goes on polling meanwhile). */
    const char *l = "event_type=" ENROLLMENT_TYPE ",group=g1,topic=enrollments";
    wait_value(port, &h, "edxbus_events_consumed_total", l, N_EVENTS);
    wait_value(port, &h, "edxbus_consumer_lag", "group=g1,partition=,topic=enrollments", 0);
    http_get(port, "/readyz", NULL, &h);
    ASSERT_EQ_INT(h.status, 200);
    run.stop = 1;
    pthread_join(t, NULL);
    if (run.err != EDXBUS_OK)
        TEST_FAIL_("run: %s", run.errstr);
    ASSERT_EQ_INT(edxbus_consumer_stats(cons)->events, N_EVENTS);
    ASSERT_EQ_INT(edxbus_consumer_stats(cons)->dead_lettered, N_EVENTS / 10);
    scrape(port, &h);

    ASSERT_TRUE(expo_get(&expo, "edxbus_events_consumed_total", l) == N_EVENTS);
    ASSERT_TRUE(expo_get(&expo, "edxbus_events_failed_total", l) == N_EVENTS / 10);
    ASSERT_TRUE(expo_get(&expo, "edxbus_events_dead_lettered_total", l) == N_EVENTS / 10);
    ASSERT_TRUE(expo_get(&expo, "edxbus_events_retried_total", l) == N_EVENTS / 10);
    ASSERT_TRUE(expo_get(&expo, "edxbus_handle_seconds_count", l) == N_EVENTS);
    ASSERT_TRUE(expo_get(&expo, "edxbus_event_latency_seconds_count", l) == N_EVENTS);
    ASSERT_TRUE(expo_get(&expo, "edxbus_handle_seconds_sum", l) > 0);
    char inf[300];
    /* le sorts between group and topic in the canonical form */
    snprintf(inf, sizeof inf, "event_type=%s,group=g1,le=+Inf,topic=enrollments",
             ENROLLMENT_TYPE);
    ASSERT_TRUE(expo_get(&expo, "edxbus_handle_seconds_bucket", inf) == N_EVENTS);
    ASSERT_EQ_STR(expo_type(&expo, "edxbus_handle_seconds"), "histogram");
    ASSERT_EQ_STR(expo_type(&expo, "edxbus_events_consumed_total"), "counter");
    ASSERT_EQ_STR(expo_type(&expo, "edxbus_consumer_lag"), "gauge");
    double last = expo_get(&expo, "edxbus_last_event_timestamp_seconds", "group=g1,topic=enrollments");
    ASSERT_TRUE(last * 1000 >= (double)before_ms - 1000 && last < (double)time(NULL) + 2);
    ASSERT_TRUE(expo_get(&expo, "edxbus_broker_up", "group=g1,role=consumer,topic=enrollments") ==
                1);
    ASSERT_TRUE(expo_get(&expo, "edxbus_events_produced_total",
                         "event_type=" ENROLLMENT_TYPE ",topic=enrollments") == N_EVENTS);
    ASSERT_TRUE(expo_get(&expo, "edxbus_producer_queue_depth", "") == 0);

    /* The same numbers through the C call. */
    struct edxbus_buf text = EDXBUS_BUF_INIT;
    ASSERT_EQ_INT(edxbus_metrics_write_text(&text), EDXBUS_OK);
    edxbus_buf_terminate(&text);
    ASSERT_TRUE(strstr((const char *)text.data, "edxbus_events_consumed_total{topic=\"enrollments"
                                                "\",group=\"g1\",event_type=\"" ENROLLMENT_TYPE
                                                "\"} 1000\n") != NULL);
    edxbus_buf_fini(&text);

    http_get(port, "/healthz", NULL, &h);
    ASSERT_EQ_INT(h.status, 200);
    http_get(port, "/nothing", NULL, &h);
    ASSERT_EQ_INT(h.status, 404);
    http_get(port, "/metrics", "POST", &h);
    ASSERT_EQ_INT(h.status, 405);

    /* The same port twice: refused, naming the address. */
    char addr[32];
    snprintf(addr, sizeof addr, "127.0.0.1:%u", (unsigned)port);
    edxbus_metrics_server_t *again = NULL;
    ASSERT_EQ_INT(edxbus_metrics_server_start(NULL, addr, &again, err, sizeof err), EDXBUS_ERR_IO);
    ASSERT_TRUE(again == NULL && strstr(err, "--metrics-address") != NULL);

    /* Gone: its gauges go, the counters stay. */
    edxbus_consumer_destroy(cons);
    scrape(port, &h);
    ASSERT_TRUE(isnan(expo_get(&expo, "edxbus_consumer_lag", "group=g1,partition=,topic=enrollments")));
    ASSERT_TRUE(expo_get(&expo, "edxbus_events_consumed_total", l) == N_EVENTS);
    http_get(port, "/readyz", NULL, &h);
    ASSERT_EQ_INT(h.status, 503);

    edxbus_metrics_server_stop(srv);
    edxbus_bus_destroy(bus);
    edxbus_buf_fini(&h.body);
}

static edxbus_err_t ok_receiver(const edxbus_event_t *ev, void *opaque, char *errstr,
                                size_t errstr_size)
{
    return EDXBUS_OK;
}

TEST(test_readyz_follows_redis)
{
    struct test_redis r;
    fault_start(&r, "test_metrics");
    struct http h = {0, EDXBUS_BUF_INIT};
    edxbus_conf_t *conf = fx_conf(ROUTES, NULL);
    set(conf, "EVENT_BUS_CONSUMER", "redis");
    set(conf, "EVENT_BUS_PRODUCER", "redis");
    set(conf, "EVENT_BUS_REDIS_CONNECTION_URL", r.url);
    set(conf, "EVENT_BUS_REDIS_SOCKET_TIMEOUT", "1");
    set(conf, "EVENT_BUS_CONSUMER_POLL_FAILURE_SLEEP", "0.05");
    set(conf, "EVENT_BUS_METRICS_REFRESH_INTERVAL", "0.05");
    char err[EDXBUS_ERRSTR_SIZE] = "";
    edxbus_metrics_server_t *srv = NULL;
    if (edxbus_metrics_server_start(conf, ":0", &srv, err, sizeof err) != EDXBUS_OK)
        TEST_FAIL_("server: %s", err);
    uint16_t port = edxbus_metrics_server_port(srv);
    edxbus_bus_t *bus = edxbus_bus_new(conf, err, sizeof err);
    if (bus == NULL)
        TEST_FAIL_("bus: %s", err);
    edxbus_bus_connect_all(bus, "ok", ok_receiver, NULL);
    struct runner run = {0};
    struct edxbus_consumer_config cfg = {
        .topic = "enrollments", .group = "g2", .start_time_ms = -1, .stop = &run.stop};
    run.cons = edxbus_consumer_new(bus, &cfg, err, sizeof err);
    if (run.cons == NULL)
        TEST_FAIL_("consumer: %s", err);
    pthread_t t;
    pthread_create(&t, NULL, run_consumer, &run);

    wait_status(port, "/readyz", 200, &h);
    test_redis_kill(&r);
    wait_status(port, "/readyz", 503, &h);
    ASSERT_TRUE(strstr((const char *)h.body.data, "cannot reach its broker") != NULL ||
                strstr((const char *)h.body.data, "error streak") != NULL);
    scrape(port, &h);
    ASSERT_TRUE(expo_get(&expo, "edxbus_broker_up", "group=g2,role=consumer,topic=enrollments") ==
                0);
    http_get(port, "/healthz", NULL, &h); /* the loop still turns: alive */
    ASSERT_EQ_INT(h.status, 200);
    if (!test_redis_restart(&r))
        TEST_FAIL_("redis-server did not restart on port %d", r.port);
    wait_status(port, "/readyz", 200, &h);
    scrape(port, &h);
    ASSERT_TRUE(expo_get(&expo, "edxbus_broker_up", "group=g2,role=consumer,topic=enrollments") ==
                1);

    run.stop = 1;
    pthread_join(t, NULL);
    ASSERT_EQ_INT(run.err, EDXBUS_OK);
    edxbus_consumer_destroy(run.cons);
    edxbus_metrics_server_stop(srv);
    edxbus_bus_destroy(bus);
    test_redis_stop(&r);
    edxbus_buf_fini(&h.body);
}

TEST(test_parser_refuses_bad_expositions)
{
    /* The parser must be able to fail, or the test above proves nothing. */
    static const char *const bad[] = {
        "x_total 1",                                            /* no final newline */
        "# TYPE x counter\nx 1\n",                              /* counter without _total */
        "a{b=\"c\\q\"} 1\n",                                    /* bad escape */
        "a{__b=\"c\"} 1\n",                                     /* reserved label */
        "a{b=\"c\",b=\"d\"} 1\n",                               /* label twice */
        "a 1\nb 1\na 2\n",                                      /* a, b, a again */
        "a 1\na 2\n",                                           /* a series twice */
        "a one\n",                                              /* not a number */
        "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\n"
        "h_count 1\n",                                          /* cumulative goes down */
        "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n", /* no +Inf */
        "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 1\n", /* count != Inf */
        "a 1\n# TYPE a gauge\n",                                /* TYPE after samples */
        "1a 1\n",                                               /* bad name */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (expo_parse(&expo, bad[i]))
            TEST_FAIL_("accepted bad exposition %zu: %s", i, bad[i]);
    ASSERT_TRUE(expo_parse(&expo, "# HELP a x\\\\y\n# TYPE a gauge\na{b=\"q\\\"\\n\"} -Inf 123\n"));
}

int main(void)
{
    (void)fx_bus;
    curl_global_init(CURL_GLOBAL_ALL);
    fx_setup();
    RUN(test_parser_refuses_bad_expositions);
    RUN(test_consumer_metrics_over_http);
    RUN(test_readyz_follows_redis);
    fx_cleanup();
    curl_global_cleanup();
    return test_report();
}
