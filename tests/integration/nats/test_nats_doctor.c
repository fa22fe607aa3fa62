/* tests/integration/nats/test_nats_doctor.c — `edxbus doctor` (edxbus_doctor_run) on NATS
 * JetStream, against a real nats-server:
 *   - a healthy topic: what was checked, as info lines, nothing worse;
 *   - a stream in memory with max 5 messages: a group that read nothing while 10 events came
 *     has lost 5 (an error naming the group and the count), the memory storage is a warning; a
 *     group made after them has lost nothing, and with 4 events waiting it is near the limit;
 *     `-g` looks at that group only;
 *   - a duplicate window (1 s) shorter than the delivery timeout: a warning;
 *   - dead letters waiting: a warning with their count, none once replayed;
 *   - a group whose backlog grows while the doctor samples it: a warning;
 *   - no server: one error finding, not a failure.
 * Nothing asserts on time; the lag sampler's interval only spaces the two samples.
 */
#include <pthread.h>
#include <stdatomic.h>

#include "backends/nats/nats_int.h"
#include "edxbus/edxbus.h"
#include "nats_server.h"
#include "test.h"

static struct test_nats server;
static const struct edxbus_backend_ops *ops = &edxbus_backend_nats;

#define MAX_FINDINGS 64

struct seen {
    int n;
    char checks[MAX_FINDINGS][64];
    char subjects[MAX_FINDINGS][256];
    char texts[MAX_FINDINGS][600];
    edxbus_severity_t severities[MAX_FINDINGS];
    json_int_t counts[MAX_FINDINGS]; /* details' "lost", "events" or "backlog"; -1 */
};

static void collect(void *opaque, const struct edxbus_finding *f)
{
    struct seen *s = opaque;
    fprintf(stderr, "  %s %s: %s: %s\n", edxbus_severity_name(f->severity), f->check,
            f->subject ? f->subject : "-", f->text);
    if (s->n >= MAX_FINDINGS)
        return;
    snprintf(s->checks[s->n], sizeof s->checks[0], "%s", f->check);
    snprintf(s->subjects[s->n], sizeof s->subjects[0], "%s", f->subject ? f->subject : "");
    snprintf(s->texts[s->n], sizeof s->texts[0], "%s", f->text);
    s->severities[s->n] = f->severity;
    const json_t *c = json_object_get(f->details, "lost");
    if (c == NULL)
        c = json_object_get(f->details, "events");
    if (c == NULL)
        c = json_object_get(f->details, "backlog");
    s->counts[s->n] = json_is_integer(c) ? json_integer_value(c) : -1;
    s->n++;
}

/* The index of the finding @p check whose subject contains @p about, or -1. */
static int find(const struct seen *s, const char *check, const char *about)
{
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->checks[i], check) == 0 && strstr(s->subjects[i], about) != NULL)
            return i;
    return -1;
}

static edxbus_conf_t *conf_with(const char *name, const char *value)
{
    char errstr[EDXBUS_ERRSTR_SIZE];
    edxbus_conf_t *conf = test_nats_conf(server.url);
    if (edxbus_conf_set(conf, "EVENT_BUS_PRODUCER", "nats", errstr, sizeof errstr) ||
        edxbus_conf_set(conf, "EVENT_BUS_CONSUMER", "nats", errstr, sizeof errstr) ||
        (name != NULL && edxbus_conf_set(conf, name, value, errstr, sizeof errstr)))
        TEST_FAIL_("conf: %s", errstr);
    return conf;
}

static void doctor(const edxbus_conf_t *conf, const char *topic, const char *group,
                   struct seen *s, edxbus_severity_t *worst)
{
    char errstr[EDXBUS_ERRSTR_SIZE] = "";
    struct edxbus_doctor_opts opts = {.topic = topic, .group = group, .interval_ms = 300};
    memset(s, 0, sizeof *s);
    fprintf(stderr, "doctor %s%s%s:\n", topic ? topic : "(all)", group ? " -g " : "",
            group ? group : "");
    if (edxbus_doctor_run(conf, &opts, collect, s, worst, errstr, sizeof errstr) != EDXBUS_OK)
        TEST_FAIL_("doctor: %s", errstr);
}

static void produce(const edxbus_conf_t *conf, const char *topic, int from, int to,
                    const struct edxbus_header *hdrs, size_t nh)
{
    char errstr[EDXBUS_ERRSTR_SIZE] = "";
    void *prod = NULL;
    if (ops->producer_open(conf, &prod, errstr, sizeof errstr) != EDXBUS_OK)
        TEST_FAIL_("producer_open: %s", errstr);
    for (int i = from; i < to; i++) {
        struct edxbus_metadata md;
        memset(&md, 0, sizeof md);
        snprintf(md.event_type, sizeof md.event_type,
                 "org.openedx.learning.course.enrollment.created.v1");
        snprintf(md.id, sizeof md.id, "d0c70000-0000-11ef-9f8e-%012d", i);
        snprintf(md.source, sizeof md.source, "openedx/lms/web");
        md.time_us = INT64_C(1715954607123456) + i;
        struct edxbus_msg msg = {.topic = topic,
                                 .value = (const uint8_t *)"v",
                                 .value_len = 1,
                                 .metadata = &md,
                                 .headers = hdrs,
                                 .nheaders = nh};
        if (ops->produce(prod, &msg, NULL, NULL, errstr, sizeof errstr) != EDXBUS_OK) {
            ops->producer_close(prod);
            TEST_FAIL_("produce: %s", errstr);
        }
    }
    ops->producer_close(prod);
}

/* Make group @p group on @p topic at @p start; read and acknowledge @p take events. */
static void group_reads(const edxbus_conf_t *conf, const char *topic, const char *group,
                        const char *start, int take)
{
    char errstr[EDXBUS_ERRSTR_SIZE] = "";
    void *cons = NULL;
    struct edxbus_consumer_opts o = {
        .topic = topic, .group = group, .start = start, .start_time_ms = -1};
    if (ops->consumer_open(conf, &o, &cons, errstr, sizeof errstr) != EDXBUS_OK)
        TEST_FAIL_("consumer_open: %s", errstr);
    for (int polls = 0; take > 0 && polls < 50; polls++) {
        struct edxbus_batch b = {0};
        if (ops->poll(cons, &b, (size_t)take, 500, errstr, sizeof errstr) != EDXBUS_OK)
            TEST_FAIL_("poll: %s", errstr);
        for (size_t i = 0; i < b.n; i++, take--)
            if (ops->ack(cons, &b.msgs[i], errstr, sizeof errstr) != EDXBUS_OK)
                TEST_FAIL_("ack: %s", errstr);
    }
    ASSERT_EQ_INT(take, 0);
    ops->consumer_close(cons);
}

TEST(test_healthy_topic_is_info_only)
{
    edxbus_conf_t *conf = conf_with(NULL, NULL);
    produce(conf, "healthy", 0, 3, NULL, 0);
    group_reads(conf, "healthy", "done", "earliest", 3);
    struct seen s;
    edxbus_severity_t worst;
    doctor(conf, "healthy", NULL, &s, &worst);
    ASSERT_EQ_INT(worst, EDXBUS_SEVERITY_INFO);
    ASSERT_TRUE(find(&s, "nats.server", "") >= 0);
    int i = find(&s, "nats.stream", "healthy");
    ASSERT_TRUE(i >= 0);
    ASSERT_CONTAINS(s.texts[i], "file storage");
    ASSERT_TRUE(find(&s, "lag.steady", "done") >= 0);
    edxbus_conf_destroy(conf);
}

TEST(test_limits_that_drop_unacknowledged_events)
{
    char errstr[EDXBUS_ERRSTR_SIZE];
    edxbus_conf_t *conf = conf_with("EVENT_BUS_NATS_STREAM_MAX_MSGS", "5");
    ASSERT_EQ_INT(edxbus_conf_set(conf, "EVENT_BUS_NATS_STREAM_STORAGE", "memory", errstr,
                                  sizeof errstr),
                  EDXBUS_OK);
    group_reads(conf, "capped", "slow", "earliest", 0); /* before any event */
    produce(conf, "capped", 0, 10, NULL, 0);
    struct seen s;
    edxbus_severity_t worst;
    doctor(conf, "capped", NULL, &s, &worst);
    ASSERT_EQ_INT(worst, EDXBUS_SEVERITY_ERROR);
    int i = find(&s, "nats.lost", "group slow");
    ASSERT_TRUE(i >= 0);
    ASSERT_EQ_INT(s.severities[i], EDXBUS_SEVERITY_ERROR);
    ASSERT_EQ_INT(s.counts[i], 5);
    ASSERT_CONTAINS(s.texts[i], "5 event(s) were removed");
    i = find(&s, "nats.memory-storage", "capped");
    ASSERT_TRUE(i >= 0);
    ASSERT_EQ_INT(s.severities[i], EDXBUS_SEVERITY_WARNING);

    /* A group made after the first 10 lost none of them; 4 of the next 4 waiting of a 5 limit
     * is near it. */
    group_reads(conf, "capped", "fresh", "latest", 0);
    produce(conf, "capped", 10, 14, NULL, 0);
    doctor(conf, "capped", NULL, &s, &worst);
    ASSERT_TRUE(find(&s, "nats.lost", "group fresh") < 0);
    i = find(&s, "nats.backlog-near-limit", "group fresh");
    ASSERT_TRUE(i >= 0);
    ASSERT_EQ_INT(s.counts[i], 4);
    i = find(&s, "nats.lost", "group slow");
    ASSERT_TRUE(i >= 0);
    ASSERT_EQ_INT(s.counts[i], 9);
    /* -g: that group only */
    doctor(conf, "capped", "fresh", &s, &worst);
    ASSERT_TRUE(find(&s, "nats.lost", "group slow") < 0);
    ASSERT_TRUE(find(&s, "nats.backlog-near-limit", "group fresh") >= 0);
    edxbus_conf_destroy(conf);
}

TEST(test_duplicate_window_shorter_than_a_resend)
{
    edxbus_conf_t *conf = conf_with("EVENT_BUS_NATS_DUPLICATE_WINDOW", "1");
    produce(conf, "dupes", 0, 1, NULL, 0);
    struct seen s;
    edxbus_severity_t worst;
    doctor(conf, "dupes", NULL, &s, &worst);
    int i = find(&s, "nats.duplicate-window", "dupes");
    ASSERT_TRUE(i >= 0);
    ASSERT_EQ_INT(s.severities[i], EDXBUS_SEVERITY_WARNING);
    ASSERT_CONTAINS(s.texts[i], "(1.0 s)");
    ASSERT_CONTAINS(s.texts[i], "(30.0 s)"); /* EVENT_BUS_NATS_DELIVERY_TIMEOUT's default */
    edxbus_conf_destroy(conf);
    conf = conf_with(NULL, NULL); /* 120 s */
    produce(conf, "undupes", 0, 1, NULL, 0);
    doctor(conf, "undupes", NULL, &s, &worst);
    ASSERT_TRUE(find(&s, "nats.duplicate-window", "undupes") < 0);
    edxbus_conf_destroy(conf);
}

TEST(test_dead_letters_waiting)
{
    char errstr[EDXBUS_ERRSTR_SIZE] = "";
    edxbus_conf_t *conf = conf_with(NULL, NULL);
    produce(conf, "failing", 0, 2, NULL, 0);
    struct edxbus_header hdrs[] = {
        {"error", (const uint8_t *)"boom", 4},
        {"group", (const uint8_t *)"g", 1},
        {"original_topic", (const uint8_t *)"failing", 7},
    };
    produce(conf, "failing-dlq", 0, 2, hdrs, 3);
    struct seen s;
    edxbus_severity_t worst;
    doctor(conf, "failing", NULL, &s, &worst);
    int i = find(&s, "dead-letters.waiting", "failing-dlq");
    ASSERT_TRUE(i >= 0);
    ASSERT_EQ_INT(s.counts[i], 2);
    uint64_t replayed = 0;
    if (edxbus_dlq_replay(conf, "failing", &replayed, errstr, sizeof errstr) != EDXBUS_OK)
        TEST_FAIL_("replay: %s", errstr);
    ASSERT_EQ_UINT(replayed, 2);
    doctor(conf, "failing", NULL, &s, &worst);
    ASSERT_TRUE(find(&s, "dead-letters.waiting", "failing-dlq") < 0);
    /* Every stream of the bus when no topic is asked: the dead letters' stream among them. */
    doctor(conf, NULL, NULL, &s, &worst);
    ASSERT_TRUE(find(&s, "nats.stream", "failing_dlq") >= 0 ||
                find(&s, "nats.stream", "failing-dlq") >= 0);
    ASSERT_TRUE(find(&s, "nats.stream", "healthy") >= 0);
    edxbus_conf_destroy(conf);
}

struct feeder {
    const edxbus_conf_t *conf;
    atomic_bool stop;
};

static void *feed(void *arg)
{
    struct feeder *f = arg;
    for (int i = 100; !atomic_load(&f->stop) && i < 100000; i++)
        produce(f->conf, "growing", i, i + 1, NULL, 0);
    return NULL;
}

TEST(test_growing_lag)
{
    edxbus_conf_t *conf = conf_with(NULL, NULL);
    produce(conf, "growing", 0, 1, NULL, 0);
    group_reads(conf, "growing", "behind", "earliest", 1);
    static struct feeder f;
    f.conf = conf;
    atomic_store(&f.stop, false);
    pthread_t t;
    ASSERT_EQ_INT(pthread_create(&t, NULL, feed, &f), 0);
    struct seen s;
    edxbus_severity_t worst;
    doctor(conf, "growing", NULL, &s, &worst);
    atomic_store(&f.stop, true);
    pthread_join(t, NULL);
    int i = find(&s, "lag.growing", "behind");
    ASSERT_TRUE(i >= 0);
    ASSERT_EQ_INT(s.severities[i], EDXBUS_SEVERITY_WARNING);
    edxbus_conf_destroy(conf);
}

TEST(test_no_server)
{
    char errstr[EDXBUS_ERRSTR_SIZE] = "";
    edxbus_conf_t *conf = conf_with("EVENT_BUS_NATS_URL", "nats://127.0.0.1:1");
    struct seen s = {0};
    edxbus_severity_t worst;
    struct edxbus_doctor_opts opts = {.interval_ms = 100};
    ASSERT_EQ_INT(edxbus_doctor_run(conf, &opts, collect, &s, &worst, errstr, sizeof errstr),
                  EDXBUS_OK);
    ASSERT_EQ_INT(worst, EDXBUS_SEVERITY_ERROR);
    ASSERT_TRUE(find(&s, "broker.unreachable", "") >= 0);
    edxbus_conf_destroy(conf);
}

int main(void)
{
    test_nats_require("integration/nats/test_nats_doctor");
    if (!test_nats_start(&server)) {
        fprintf(stderr, "cannot start nats-server\n");
        return 1;
    }
    RUN(test_healthy_topic_is_info_only);
    RUN(test_limits_that_drop_unacknowledged_events);
    RUN(test_duplicate_window_shorter_than_a_resend);
    RUN(test_dead_letters_waiting);
    RUN(test_growing_lag);
    RUN(test_no_server);
    test_nats_stop(&server);
    return test_report();
}
