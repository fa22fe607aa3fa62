/* tests/backend/backend_suite.h — one conformance suite run against every backend table.
 *
 * A backend's test program fills `suite` (the ops table, a conf pointing at its broker, the
 * capabilities it claims, how long a poll may wait) and calls suite_run(). Each check uses a
 * fresh topic, so checks never see each other's messages, and talks to the backend only through
 * the ops table, as the core does. Capabilities let a simple backend (the example plugin) run
 * the basic checks only; a capability left out needs its reason (suite_skip()), which the run
 * prints as a SKIP line, so nothing is skipped silently. SQLite claims SUITE_CAP_ALL, Redis all
 * but keys, Kafka (on librdkafka's mock cluster) what the mock can do.
 *
 * Messages are told apart by their value, "v<i>": suite_index() gives i back.
 * To add a check: write a TEST(suite_...) below and add a RUN line to suite_run().
 */
#ifndef EDXBUS_TEST_BACKEND_SUITE_H
#define EDXBUS_TEST_BACKEND_SUITE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "edxbus/backend.h"
#include "edxbus/conf.h"
#include "edxbus/consumer.h"
#include "test.h"

#define SUITE_CAP_REDELIVERY 0x01u /* unacked messages come back after close and reopen */
#define SUITE_CAP_SHARE 0x02u      /* two members of one group split the messages */
#define SUITE_CAP_POSITION 0x04u   /* a new group or a tail starts at a position (`start`) */
#define SUITE_CAP_TIME 0x08u       /* start_time_ms (replay by time) */
#define SUITE_CAP_LAG 0x10u        /* lag() */
#define SUITE_CAP_TAIL 0x20u       /* group NULL */
#define SUITE_CAP_HEADERS 0x40u    /* headers round-trip */
#define SUITE_CAP_KEYS 0x80u       /* keys round-trip (else a consumed key must be NULL) */
#define SUITE_CAP_END 0x100u       /* caught_up(): dlq replay reads to the end noted at its start */
#define SUITE_CAP_ALL 0x1ffu
#define SUITE_NCAPS 9

struct suite_env {
    const struct edxbus_backend_ops *ops;
    const edxbus_conf_t *conf;
    unsigned caps;
    /* For each capability bit i the backend does not claim, why (printed as a SKIP line; a
     * check left out without a reason fails the run). */
    const char *why_not[SUITE_NCAPS];
    int poll_ms; /* how long a poll that should find messages may wait */
    int idle_ms; /* how long the poll that ends a drain waits for nothing (0: poll_ms) */
    bool headers_as_map; /* extra headers come back by name, not in order (NATS) */
    int seq;     /* topics made so far */
    /* Optional, for brokers that need them (Kafka): */
    const char *value_schema;              /* produce with this schema text; NULL: none */
    void (*new_topic)(const char *topic);  /* make a topic before its first use */
    void (*ready)(void *cons);             /* wait until a consumer just opened reads from
                                              where it starts (a group join) */
};

static struct suite_env suite;

/* Leave capability @p cap out of the run, saying why (the SKIP line names the reason). */
static inline void suite_skip(unsigned cap, const char *why)
{
    suite.caps &= ~cap;
    suite.why_not[__builtin_ctz(cap)] = why;
}

#define SUITE_MAX 64

static char *suite_topic(void)
{
    static char topic[96];
    snprintf(topic, sizeof topic, "suite-%ld-%d", (long)getpid(), ++suite.seq);
    if (suite.new_topic != NULL)
        suite.new_topic(topic);
    return topic;
}

static int64_t suite_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void suite_metadata(struct edxbus_metadata *md, int i)
{
    memset(md, 0, sizeof *md);
    snprintf(md->event_type, sizeof md->event_type,
             "org.openedx.learning.course.enrollment.created.v1");
    snprintf(md->id, sizeof md->id, "d36ab1b0-1466-11ef-9f8e-0242ac12%04x", i & 0xffff);
    md->minorversion = i % 3;
    snprintf(md->source, sizeof md->source, "openedx/lms/web");
    snprintf(md->sourcehost, sizeof md->sourcehost, "edx.devstack.lms");
    md->time_us = INT64_C(1715954607123456) + i;
    md->sourcelib[0] = 11;
    md->sourcelib[1] = 2;
    md->sourcelib[2] = 0;
    md->nsourcelib = 3;
}

static int suite_index(const struct edxbus_msg *m)
{
    char text[32];
    if (m->value_len < 2 || m->value_len >= sizeof text || m->value[0] != 'v')
        return -1;
    memcpy(text, m->value + 1, m->value_len - 1);
    text[m->value_len - 1] = '\0';
    return (int)strtol(text, NULL, 10);
}

/* Produce "v<i>" for i in [from, to) synchronously. */
static void suite_produce(const char *topic, int from, int to)
{
    char errstr[EDXBUS_ERRSTR_SIZE] = "";
    void *prod = NULL;
    edxbus_err_t err = suite.ops->producer_open(suite.conf, &prod, errstr, sizeof errstr);
    if (err != EDXBUS_OK)
        TEST_FAIL_("producer_open: %s", errstr);
    for (int i = from; i < to; i++) {
        char value[32], key[32];
        struct edxbus_metadata md;
        suite_metadata(&md, i);
        snprintf(value, sizeof value, "v%d", i);
        snprintf(key, sizeof key, "k%d", i);
        struct edxbus_msg msg = {.topic = topic,
                                 .key = (const uint8_t *)key,
                                 .key_len = strlen(key),
                                 .value = (const uint8_t *)value,
                                 .value_len = strlen(value),
                                 .metadata = &md,
                                 .value_schema = suite.value_schema};
        err = suite.ops->produce(prod, &msg, NULL, NULL, errstr, sizeof errstr);
        if (err != EDXBUS_OK) {
            suite.ops->producer_close(prod);
            TEST_FAIL_("produce: %s", errstr);
        }
    }
    suite.ops->producer_close(prod);
}

static void *suite_open_ex(const char *topic, const char *group, const char *name,
                           const char *start, int64_t start_time_ms, const json_t *extra)
{
    char errstr[EDXBUS_ERRSTR_SIZE] = "";
    void *cons = NULL;
    struct edxbus_consumer_opts opts = {.topic = topic,
                                        .group = group,
                                        .consumer_name = name,
                                        .start = start,
                                        .start_time_ms = start_time_ms,
                                        .extra = extra};
    if (suite.ops->consumer_open(suite.conf, &opts, &cons, errstr, sizeof errstr) != EDXBUS_OK)
        TEST_FAIL_("consumer_open(%s, %s): %s", topic, group ? group : "tail", errstr);
    return cons;
}

static void *suite_open(const char *topic, const char *group, const char *name, const char *start)
{
    return suite_open_ex(topic, group, name, start, -1, NULL);
}

/* Poll once (up to @p max); mark each index in @p seen (counts), ack when asked.
 * Returns how many came; @p dl gets the deliveries of the last one. */
static size_t suite_poll(void *cons, size_t max, int timeout_ms, int *seen, bool ack, int64_t *dl)
{
    char errstr[EDXBUS_ERRSTR_SIZE] = "";
    struct edxbus_batch b = {0};
    if (suite.ops->poll(cons, &b, max, timeout_ms, errstr, sizeof errstr) != EDXBUS_OK)
        TEST_FAIL_("poll: %s", errstr);
    for (size_t i = 0; i < b.n; i++) {
        int idx = suite_index(&b.msgs[i]);
        if (idx < 0 || idx >= SUITE_MAX)
            TEST_FAIL_("poll gave an unknown message (value length %zu)", b.msgs[i].value_len);
        if (seen != NULL)
            seen[idx]++;
        if (dl != NULL)
            *dl = b.msgs[i].deliveries;
        if (ack && suite.ops->ack(cons, &b.msgs[i], errstr, sizeof errstr) != EDXBUS_OK)
            TEST_FAIL_("ack: %s", errstr);
    }
    return b.n;
}

/* Poll until a poll comes back empty; returns the total. The first poll may wait poll_ms
 * (a group join), the one that ends it idle_ms. */
static size_t suite_drain(void *cons, int *seen, bool ack)
{
    size_t total = 0, n;
    int wait = suite.poll_ms;
    do {
        n = suite_poll(cons, 4, wait, seen, ack, NULL);
        total += n;
        wait = suite.idle_ms > 0 ? suite.idle_ms : suite.poll_ms;
    } while (n > 0);
    return total;
}

/* A consumer just opened reads from where it starts, and has nothing yet. */
static void suite_settle(void *cons)
{
    if (suite.ready != NULL)
        suite.ready(cons);
    ASSERT_EQ_INT(suite_poll(cons, 8, 0, NULL, false, NULL), 0);
}

/* seen[i] == 1 exactly for i in [from, to), 0 elsewhere. */
static void suite_expect_once(const int *seen, int from, int to)
{
    for (int i = 0; i < SUITE_MAX; i++) {
        int want = i >= from && i < to ? 1 : 0;
        if (seen[i] != want)
            TEST_FAIL_("message v%d seen %d times, want %d (range [%d, %d))", i, seen[i], want,
                       from, to);
    }
}

TEST(suite_roundtrip_exact)
{
    const char *topic = suite_topic();
    char errstr[EDXBUS_ERRSTR_SIZE] = "";
    uint8_t key[] = {0x00, 0xff, 0x10, 'k'};
    uint8_t value[300];
    for (size_t i = 0; i < sizeof value; i++)
        value[i] = (uint8_t)(i * 7);
    value[0] = 'v';
    value[1] = '7';
    value[2] = 0; /* suite_index reads "v7" up to the NUL */
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
    bool with_headers = suite.caps & SUITE_CAP_HEADERS;
    bool with_keys = suite.caps & SUITE_CAP_KEYS;
    struct edxbus_msg msg = {.topic = topic,
                             .key = key,
                             .key_len = sizeof key,
                             .value = value,
                             .value_len = sizeof value,
                             .metadata = &md,
                             .value_schema = suite.value_schema,
                             .headers = with_headers ? hdrs : NULL,
                             .nheaders = with_headers ? 3 : 0};
    void *prod = NULL;
    ASSERT_EQ_INT(suite.ops->producer_open(suite.conf, &prod, errstr, sizeof errstr), EDXBUS_OK);
    ASSERT_EQ_INT(suite.ops->produce(prod, &msg, NULL, NULL, errstr, sizeof errstr), EDXBUS_OK);
    msg.key = NULL;
    msg.key_len = 0;
    msg.headers = NULL;
    msg.nheaders = 0;
    value[1] = '8';
    md.id[sizeof "d36ab1b0" - 2] = 'f'; /* another event: a broker may drop a repeated id
                                            (NATS' duplicate window) */
    ASSERT_EQ_INT(suite.ops->produce(prod, &msg, NULL, NULL, errstr, sizeof errstr), EDXBUS_OK);
    md.id[sizeof "d36ab1b0" - 2] = '0';
    suite.ops->producer_close(prod);

    void *cons = suite_open(topic, "g", "a", "earliest");
    struct edxbus_batch b = {0};
    ASSERT_EQ_INT(suite.ops->poll(cons, &b, 10, suite.poll_ms, errstr, sizeof errstr), EDXBUS_OK);
    ASSERT_TRUE(b.n >= 1); /* both, or the first (the second may come in the next poll) */
    const struct edxbus_msg *m = &b.msgs[0];
    ASSERT_EQ_STR(m->topic, topic);
    ASSERT_TRUE(m->unusable == NULL);
    if (with_keys) {
        ASSERT_EQ_INT(m->key_len, sizeof key);
        ASSERT_TRUE(memcmp(m->key, key, sizeof key) == 0);
    } else { /* dropped on produce, as the reference does: none comes back, not garbage */
        ASSERT_TRUE(m->key == NULL);
        ASSERT_EQ_INT(m->key_len, 0);
    }
    ASSERT_EQ_INT(m->value_len, sizeof value);
    value[1] = '7';
    ASSERT_TRUE(memcmp(m->value, value, sizeof value) == 0);
    ASSERT_TRUE(m->metadata != NULL);
    ASSERT_EQ_STR(m->metadata->event_type, md.event_type);
    ASSERT_EQ_STR(m->metadata->id, md.id);
    ASSERT_EQ_INT(m->metadata->minorversion, 3);
    ASSERT_EQ_STR(m->metadata->source, md.source);
    ASSERT_EQ_STR(m->metadata->sourcehost, md.sourcehost);
    ASSERT_EQ_INT(m->metadata->time_us, md.time_us);
    ASSERT_EQ_INT(m->metadata->nsourcelib, 4);
    for (int i = 0; i < 4; i++)
        ASSERT_EQ_INT(m->metadata->sourcelib[i], md.sourcelib[i]);
    ASSERT_TRUE(m->position[0] != '\0');
    ASSERT_TRUE(m->deliveries == 0 || m->deliveries == 1);
    if (with_headers) {
        ASSERT_EQ_INT(m->nheaders, 3);
        for (int i = 0; i < 3; i++) {
            int j = i; /* in order; by name where the wire keeps headers as a map */
            for (int k = 0; suite.headers_as_map && k < 3; k++)
                if (strcmp(m->headers[k].name, hdrs[i].name) == 0)
                    j = k;
            ASSERT_EQ_STR(m->headers[j].name, hdrs[i].name);
            ASSERT_EQ_INT(m->headers[j].len, hdrs[i].len);
            ASSERT_TRUE(memcmp(m->headers[j].value, hdrs[i].value, hdrs[i].len) == 0);
        }
    }
    char first[EDXBUS_POSITION_MAX];
    snprintf(first, sizeof first, "%s", m->position);
    for (size_t i = 0; i < b.n; i++)
        ASSERT_EQ_INT(suite.ops->ack(cons, &b.msgs[i], errstr, sizeof errstr), EDXBUS_OK);
    size_t second = 1;
    if (b.n < 2) {
        ASSERT_EQ_INT(suite.ops->poll(cons, &b, 10, suite.poll_ms, errstr, sizeof errstr),
                      EDXBUS_OK);
        ASSERT_EQ_INT(b.n, 1);
        ASSERT_EQ_INT(suite.ops->ack(cons, &b.msgs[0], errstr, sizeof errstr), EDXBUS_OK);
        second = 0;
    }
    ASSERT_EQ_INT(b.msgs[second].value[1], '8');
    ASSERT_TRUE(b.msgs[second].key == NULL);
    ASSERT_EQ_INT(b.msgs[second].nheaders, 0);
    ASSERT_TRUE(strcmp(first, b.msgs[second].position) != 0);
    suite.ops->consumer_close(cons);
}

struct suite_reports {
    int n, failed;
    char positions[32][EDXBUS_POSITION_MAX];
};

static void suite_report(void *opaque, const struct edxbus_msg *msg, edxbus_err_t err,
                         const char *errstr, const char *position)
{
    struct suite_reports *r = opaque;
    if (err != EDXBUS_OK || position == NULL || suite_index(msg) != r->n)
        r->failed++;
    if (position != NULL && r->n < 32)
        snprintf(r->positions[r->n], EDXBUS_POSITION_MAX, "%s", position);
    r->n++;
}

TEST(suite_async_flush)
{
    const char *topic = suite_topic();
    char errstr[EDXBUS_ERRSTR_SIZE] = "";
    struct suite_reports rep = {0};
    void *prod = NULL;
    ASSERT_EQ_INT(suite.ops->producer_open(suite.conf, &prod, errstr, sizeof errstr), EDXBUS_OK);
    for (int i = 0; i < 25; i++) {
        char value[16];
        struct edxbus_metadata md;
        suite_metadata(&md, i);
        snprintf(value, sizeof value, "v%d", i);
        struct edxbus_msg msg = {.topic = topic,
                                 .value = (const uint8_t *)value,
                                 .value_len = strlen(value),
                                 .metadata = &md,
                                 .value_schema = suite.value_schema};
        ASSERT_EQ_INT(suite.ops->produce(prod, &msg, suite_report, &rep, errstr, sizeof errstr),
                      EDXBUS_OK);
    }
    ASSERT_EQ_INT(suite.ops->flush(prod, 10000, errstr, sizeof errstr), EDXBUS_OK);
    ASSERT_EQ_INT(rep.n, 25);
    ASSERT_EQ_INT(rep.failed, 0);
    for (int i = 1; i < 25; i++)
        ASSERT_TRUE(strcmp(rep.positions[i - 1], rep.positions[i]) != 0);
    suite.ops->producer_close(prod);
    ASSERT_EQ_INT(rep.n, 25);

    int seen[SUITE_MAX] = {0};
    void *cons = suite_open(topic, "g", "a", "earliest");
    suite_drain(cons, seen, true);
    suite.ops->consumer_close(cons);
    suite_expect_once(seen, 0, 25);
}

TEST(suite_new_group_starts_at_latest)
{
    const char *topic = suite_topic();
    int seen[SUITE_MAX] = {0};
    suite_produce(topic, 0, 3);
    void *cons = suite_open(topic, "g", "a", NULL);
    suite_settle(cons);
    suite_produce(topic, 3, 5);
    suite_drain(cons, seen, true);
    suite.ops->consumer_close(cons);
    suite_expect_once(seen, 3, 5);
}

TEST(suite_earliest)
{
    const char *topic = suite_topic();
    int seen[SUITE_MAX] = {0};
    suite_produce(topic, 0, 4);
    void *cons = suite_open(topic, "g", "a", "earliest");
    suite_drain(cons, seen, true);
    suite.ops->consumer_close(cons);
    suite_expect_once(seen, 0, 4);
}

TEST(suite_group_resumes_after_acks)
{
    const char *topic = suite_topic();
    int seen[SUITE_MAX] = {0};
    suite_produce(topic, 0, 6);
    void *cons = suite_open(topic, "g", "a", "earliest");
    size_t got = 0;
    while (got < 3)
        got += suite_poll(cons, 3 - got, suite.poll_ms, seen, true, NULL);
    suite.ops->consumer_close(cons);
    cons = suite_open(topic, "g", "a", "earliest"); /* start is ignored: the group exists */
    suite_drain(cons, seen, true);
    suite.ops->consumer_close(cons);
    suite_expect_once(seen, 0, 6);
}

/* The start rule: a new group starts per `start`, an existing group resumes, whatever `start`
 * its members give. A worker restarted with no start (the default, "latest") reads what
 * arrived while it was down; a member joining a group whose other member has acknowledged
 * nothing yet does not move the group either (with SUITE_CAP_SHARE: two members). */
TEST(suite_existing_group_resumes)
{
    const char *topic = suite_topic();
    int seen[SUITE_MAX] = {0};
    suite_produce(topic, 0, 3);
    void *cons = suite_open(topic, "g", "a", "earliest");
    size_t got = 0;
    while (got < 3)
        got += suite_poll(cons, 3 - got, suite.poll_ms, seen, true, NULL);
    suite.ops->consumer_close(cons);
    suite_produce(topic, 3, 9); /* while the worker is down */
    cons = suite_open(topic, "g", "a", NULL);
    suite_drain(cons, seen, true);
    suite.ops->consumer_close(cons);
    suite_expect_once(seen, 0, 9);

    if (!(suite.caps & SUITE_CAP_SHARE))
        return; /* the rest needs two members in one group */
    memset(seen, 0, sizeof seen);
    void *a = suite_open(topic, "m", "a", NULL); /* a new group, at the end */
    suite_settle(a);
    suite_produce(topic, 9, 12);
    void *b = suite_open(topic, "m", "b", "latest"); /* the group exists: resumes */
    suite_drain(a, seen, true);
    suite_drain(b, seen, true);
    suite.ops->consumer_close(a);
    suite.ops->consumer_close(b);
    suite_expect_once(seen, 9, 12);
}

TEST(suite_two_groups_each_get_all)
{
    const char *topic = suite_topic();
    int seen1[SUITE_MAX] = {0}, seen2[SUITE_MAX] = {0};
    suite_produce(topic, 0, 10);
    void *c1 = suite_open(topic, "g1", "a", "earliest");
    void *c2 = suite_open(topic, "g2", "a", "earliest");
    suite_drain(c1, seen1, true);
    suite_drain(c2, seen2, true);
    suite.ops->consumer_close(c1);
    suite.ops->consumer_close(c2);
    suite_expect_once(seen1, 0, 10);
    suite_expect_once(seen2, 0, 10);
}

TEST(suite_unacked_redelivered_after_reopen)
{
    const char *topic = suite_topic();
    int seen[SUITE_MAX] = {0};
    char errstr[EDXBUS_ERRSTR_SIZE] = "";
    suite_produce(topic, 0, 5);
    void *cons = suite_open(topic, "g", "a", "earliest");
    struct edxbus_batch b = {0};
    size_t got = 0;
    while (got < 5) { /* take all five, ack only v0 and v1 */
        ASSERT_EQ_INT(suite.ops->poll(cons, &b, 5, suite.poll_ms, errstr, sizeof errstr),
                      EDXBUS_OK);
        ASSERT_TRUE(b.n > 0);
        for (size_t i = 0; i < b.n; i++)
            if (suite_index(&b.msgs[i]) < 2)
                ASSERT_EQ_INT(suite.ops->ack(cons, &b.msgs[i], errstr, sizeof errstr), EDXBUS_OK);
        got += b.n;
    }
    suite.ops->consumer_close(cons);
    cons = suite_open(topic, "g", "a", "earliest");
    int64_t dl = -1;
    for (size_t again = 0; again < 3;) { /* v2..v4 again (in one batch or more) */
        size_t n = suite_poll(cons, 10, suite.poll_ms, seen, true, &dl);
        ASSERT_TRUE(n > 0);
        again += n;
        ASSERT_TRUE(dl == 0 || dl == 2); /* 0: the backend does not count */
    }
    suite_drain(cons, seen, true);
    suite.ops->consumer_close(cons);
    suite_expect_once(seen, 2, 5);
    cons = suite_open(topic, "g", "a", "earliest"); /* all acked now: nothing comes back */
    suite_settle(cons);
    ASSERT_EQ_INT(suite_poll(cons, 10, suite.idle_ms ? suite.idle_ms : suite.poll_ms, NULL, true,
                             NULL),
                  0);
    suite.ops->consumer_close(cons);
}

TEST(suite_two_members_share)
{
    const char *topic = suite_topic();
    int seen_a[SUITE_MAX] = {0}, seen_b[SUITE_MAX] = {0}, seen[SUITE_MAX] = {0};
    void *a = suite_open(topic, "g", "a", "earliest");
    void *b = suite_open(topic, "g", "b", "earliest");
    suite_produce(topic, 0, 20);
    size_t na = 0, nb = 0, round;
    do {
        round = suite_poll(a, 3, suite.poll_ms, seen_a, true, NULL);
        na += round;
        size_t r = suite_poll(b, 3, suite.poll_ms, seen_b, true, NULL);
        nb += r;
        round += r;
    } while (round > 0);
    suite.ops->consumer_close(a);
    suite.ops->consumer_close(b);
    ASSERT_TRUE(na > 0);
    ASSERT_TRUE(nb > 0);
    for (int i = 0; i < SUITE_MAX; i++)
        seen[i] = seen_a[i] + seen_b[i];
    suite_expect_once(seen, 0, 20);
}

/* Broker time of every message of @p topic, by index (read with a tail or a throwaway group). */
static void suite_times(const char *topic, int64_t *times, int n)
{
    char errstr[EDXBUS_ERRSTR_SIZE] = "", group[32];
    static int calls;
    snprintf(group, sizeof group, "suite-times-%d", ++calls); /* a new group: from earliest */
    void *cons = suite_open(topic, group, "t", "earliest");
    int got = 0;
    while (got < n) {
        struct edxbus_batch b = {0};
        ASSERT_EQ_INT(suite.ops->poll(cons, &b, 8, suite.poll_ms, errstr, sizeof errstr),
                      EDXBUS_OK);
        ASSERT_TRUE(b.n > 0);
        for (size_t i = 0; i < b.n; i++) {
            times[suite_index(&b.msgs[i])] = b.msgs[i].broker_time_ms;
            suite.ops->ack(cons, &b.msgs[i], errstr, sizeof errstr);
        }
        got += (int)b.n;
    }
    suite.ops->consumer_close(cons);
}

TEST(suite_start_time_replays)
{
    const char *topic = suite_topic();
    int64_t times[SUITE_MAX] = {0};
    suite_produce(topic, 0, 3);
    suite_times(topic, times, 3);
    while (suite_now_ms() <= times[2] + 2) /* the next batch is stored strictly later */
        usleep(1000);
    suite_produce(topic, 3, 6);
    suite_times(topic, times, 6);
    ASSERT_TRUE(times[3] > times[2]);

    int seen[SUITE_MAX] = {0};
    void *cons = suite_open_ex(topic, "fresh", "a", NULL, times[3], NULL);
    suite_drain(cons, seen, true);
    suite.ops->consumer_close(cons);
    suite_expect_once(seen, 3, 6);

    /* An existing group that consumed everything replays from that time. */
    memset(seen, 0, sizeof seen);
    cons = suite_open(topic, "old", "a", "earliest");
    suite_drain(cons, NULL, true);
    suite.ops->consumer_close(cons);
    cons = suite_open_ex(topic, "old", "a", NULL, times[3], NULL);
    suite_drain(cons, seen, true);
    suite_expect_once(seen, 3, 6);

    suite.ops->consumer_close(cons);
}

/* `start` as a position: a new group (and a tail) starts at that message, which is the first
 * delivered; an existing group still resumes. */
TEST(suite_start_position)
{
    const char *topic = suite_topic();
    char errstr[EDXBUS_ERRSTR_SIZE] = "";
    char pos1[EDXBUS_POSITION_MAX] = "";
    suite_produce(topic, 0, 5);
    void *cons = suite_open(topic, NULL, NULL, "earliest");
    struct edxbus_batch b = {0};
    int got = 0;
    while (got < 5) {
        ASSERT_EQ_INT(suite.ops->poll(cons, &b, 8, suite.poll_ms, errstr, sizeof errstr),
                      EDXBUS_OK);
        ASSERT_TRUE(b.n > 0);
        for (size_t i = 0; i < b.n; i++)
            if (suite_index(&b.msgs[i]) == 1)
                snprintf(pos1, sizeof pos1, "%s", b.msgs[i].position);
        got += (int)b.n;
    }
    suite.ops->consumer_close(cons);
    int seen[SUITE_MAX] = {0};
    cons = suite_open(topic, "g", "a", pos1);
    suite_drain(cons, seen, true);
    suite.ops->consumer_close(cons);
    suite_expect_once(seen, 1, 5);
    memset(seen, 0, sizeof seen);
    cons = suite_open(topic, NULL, NULL, pos1);
    suite_drain(cons, seen, false);
    suite.ops->consumer_close(cons);
    suite_expect_once(seen, 1, 5);
    memset(seen, 0, sizeof seen);
    suite_produce(topic, 5, 6);
    cons = suite_open(topic, "g", "a", pos1); /* the group exists: it resumes */
    suite_drain(cons, seen, true);
    suite.ops->consumer_close(cons);
    suite_expect_once(seen, 5, 6);
}

TEST(suite_tail)
{
    const char *topic = suite_topic();
    char errstr[EDXBUS_ERRSTR_SIZE] = "";
    int seen1[SUITE_MAX] = {0}, seen2[SUITE_MAX] = {0}, seen3[SUITE_MAX] = {0};
    suite_produce(topic, 0, 3);
    void *t1 = suite_open(topic, NULL, NULL, "earliest");
    void *t2 = suite_open(topic, NULL, NULL, "earliest");
    void *t3 = suite_open(topic, NULL, NULL, NULL); /* latest */
    suite_drain(t1, seen1, true);                   /* ack is a no-op in tail mode */
    suite_drain(t2, seen2, false);
    suite_expect_once(seen1, 0, 3);
    suite_expect_once(seen2, 0, 3);
    suite_settle(t3);
    suite_produce(topic, 3, 4);
    suite_drain(t3, seen3, false);
    suite_expect_once(seen3, 3, 4);
    suite.ops->consumer_close(t1);
    suite.ops->consumer_close(t2);
    suite.ops->consumer_close(t3);
    /* Tails left no group behind: a group from earliest still gets everything. */
    memset(seen1, 0, sizeof seen1);
    void *g = suite_open(topic, "g", "a", "earliest");
    suite_drain(g, seen1, true);
    suite.ops->consumer_close(g);
    suite_expect_once(seen1, 0, 4);
    (void)errstr;
}

TEST(suite_lag)
{
    const char *topic = suite_topic();
    char errstr[EDXBUS_ERRSTR_SIZE] = "";
    suite_produce(topic, 0, 10);
    void *cons = suite_open(topic, "g", "a", "earliest");
    struct edxbus_batch b = {0};
    ASSERT_EQ_INT(suite.ops->poll(cons, &b, 3, suite.poll_ms, errstr, sizeof errstr), EDXBUS_OK);
    ASSERT_EQ_INT(b.n, 3);
    ASSERT_EQ_INT(suite.ops->ack(cons, &b.msgs[0], errstr, sizeof errstr), EDXBUS_OK);
    suite.ops->consumer_close(cons);

    json_t *lag = NULL;
    ASSERT_EQ_INT(suite.ops->lag(suite.conf, topic, "g", &lag, errstr, sizeof errstr), EDXBUS_OK);
    ASSERT_TRUE(json_is_array(lag));
    ASSERT_EQ_INT(json_array_size(lag), 1);
    json_t *row = json_array_get(lag, 0);
    ASSERT_EQ_STR(json_string_value(json_object_get(row, "group")), "g");
    /* The member, or null where the broker does not know a group's members (NATS). */
    if (!json_is_null(json_object_get(row, "consumer")))
        ASSERT_EQ_STR(json_string_value(json_object_get(row, "consumer")), "a");
    ASSERT_EQ_INT(json_integer_value(json_object_get(row, "pending")), 2);
    ASSERT_EQ_INT(json_integer_value(json_object_get(row, "undelivered")), 7);
    json_t *idle = json_object_get(row, "idle_ms");
    ASSERT_TRUE(idle != NULL && (json_is_null(idle) || json_integer_value(idle) >= 0));
    ASSERT_TRUE(json_object_get(row, "partition") != NULL);
    json_decref(lag);

    lag = NULL;
    errstr[0] = '\0';
    ASSERT_TRUE(suite.ops->lag(suite.conf, topic, "nope", &lag, errstr, sizeof errstr) !=
                EDXBUS_OK);
    ASSERT_CONTAINS(errstr, "nope");
    ASSERT_TRUE(lag == NULL);
}

TEST(suite_bad_start)
{
    char errstr[EDXBUS_ERRSTR_SIZE] = "";
    void *cons = NULL;
    struct edxbus_consumer_opts opts = {
        .topic = suite_topic(), .group = "g", .start = "yesterday", .start_time_ms = -1};
    ASSERT_TRUE(suite.ops->consumer_open(suite.conf, &opts, &cons, errstr, sizeof errstr) !=
                EDXBUS_OK);
    ASSERT_CONTAINS(errstr, "yesterday");
}

/* A dead-letter replay reads what the dead-letter topic held when it began, up to that end
 * (caught_up()), not "until a poll comes back empty": here every dead letter names the
 * dead-letter topic itself as its original topic, so each one replayed adds one more behind
 * the end. A replay that read on would never stop (the alarm ends the program then). */
TEST(suite_replay_reads_to_the_end_it_began_with)
{
    const char *topic = suite_topic();
    char dlq[128], errstr[EDXBUS_ERRSTR_SIZE] = "";
    snprintf(dlq, sizeof dlq, "%s-dlq", topic);
    if (suite.new_topic != NULL)
        suite.new_topic(dlq);
    void *prod = NULL;
    ASSERT_EQ_INT(suite.ops->producer_open(suite.conf, &prod, errstr, sizeof errstr), EDXBUS_OK);
    for (int i = 0; i < 3; i++) {
        char value[16];
        struct edxbus_metadata md;
        suite_metadata(&md, i);
        snprintf(value, sizeof value, "v%d", i);
        struct edxbus_header hdrs[] = {
            {"error", (const uint8_t *)"boom", 4},
            {"group", (const uint8_t *)"g", 1},
            {"original_topic", (const uint8_t *)dlq, strlen(dlq)},
        };
        struct edxbus_msg msg = {.topic = dlq,
                                 .value = (const uint8_t *)value,
                                 .value_len = strlen(value),
                                 .metadata = &md,
                                 .value_schema = suite.value_schema,
                                 .headers = hdrs,
                                 .nheaders = 3};
        ASSERT_EQ_INT(suite.ops->produce(prod, &msg, NULL, NULL, errstr, sizeof errstr),
                      EDXBUS_OK);
    }
    suite.ops->producer_close(prod);
    edxbus_conf_t *conf = suite.conf ? edxbus_conf_dup(suite.conf) : edxbus_conf_new();
    ASSERT_EQ_INT(edxbus_conf_set(conf, "EVENT_BUS_CONSUMER", suite.ops->name, errstr,
                                  sizeof errstr),
                  EDXBUS_OK);
    ASSERT_EQ_INT(edxbus_conf_set(conf, "EVENT_BUS_PRODUCER", suite.ops->name, errstr,
                                  sizeof errstr),
                  EDXBUS_OK);
    struct edxbus_dlq_counts counts = {0};
    alarm(120);
    edxbus_err_t err = edxbus_dlq_replay_ex(conf, topic, NULL, &counts, errstr, sizeof errstr);
    alarm(0);
    if (err != EDXBUS_OK)
        TEST_FAIL_("dlq replay: %s", errstr);
    ASSERT_EQ_UINT(counts.read, 3);
    ASSERT_EQ_UINT(counts.sent, 3);
    /* The three copies it wrote are the next replay's: read once, exactly. */
    memset(&counts, 0, sizeof counts);
    alarm(120);
    err = edxbus_dlq_replay_ex(conf, topic, NULL, &counts, errstr, sizeof errstr);
    alarm(0);
    edxbus_conf_destroy(conf);
    if (err != EDXBUS_OK)
        TEST_FAIL_("second dlq replay: %s", errstr);
    ASSERT_EQ_UINT(counts.read, 3);
}

/* Run the checks the backend's capabilities allow; say which were left out and why. */
static void suite_run(void)
{
    static const char *const names[SUITE_NCAPS] = {
        "suite_unacked_redelivered_after_reopen", "suite_two_members_share",
        "suite_start_position, suite_bad_start",   "suite_start_time_replays",
        "suite_lag",                               "suite_tail",
        "header round trip in suite_roundtrip_exact",
        "key round trip in suite_roundtrip_exact", "suite_replay_reads_to_the_end_it_began_with",
    };
    static const unsigned order[SUITE_NCAPS] = {SUITE_CAP_REDELIVERY, SUITE_CAP_SHARE,
                                                SUITE_CAP_POSITION,   SUITE_CAP_TIME,
                                                SUITE_CAP_LAG,        SUITE_CAP_TAIL,
                                                SUITE_CAP_HEADERS,    SUITE_CAP_KEYS,
                                                SUITE_CAP_END};
    for (int i = 0; i < SUITE_NCAPS; i++) {
        if (suite.caps & order[i])
            continue;
        int bit = __builtin_ctz(order[i]);
        if (suite.why_not[bit] == NULL) {
            fprintf(stderr, "FAIL suite: %s left out on %s without a reason (why_not[%d])\n",
                    names[i], suite.ops->name, bit);
            test_failures_++;
        } else {
            fprintf(stderr, "SKIP %s on %s: %s\n", names[i], suite.ops->name,
                    suite.why_not[bit]);
        }
    }
    if (suite.poll_ms == 0)
        suite.poll_ms = 50;
    RUN(suite_roundtrip_exact);
    RUN(suite_async_flush);
    RUN(suite_new_group_starts_at_latest);
    RUN(suite_earliest);
    RUN(suite_group_resumes_after_acks);
    RUN(suite_existing_group_resumes);
    RUN(suite_two_groups_each_get_all);
    if (suite.caps & SUITE_CAP_REDELIVERY)
        RUN(suite_unacked_redelivered_after_reopen);
    if (suite.caps & SUITE_CAP_SHARE)
        RUN(suite_two_members_share);
    if (suite.caps & SUITE_CAP_TIME)
        RUN(suite_start_time_replays);
    if (suite.caps & SUITE_CAP_POSITION)
        RUN(suite_start_position);
    if (suite.caps & SUITE_CAP_TAIL)
        RUN(suite_tail);
    if (suite.caps & SUITE_CAP_LAG)
        RUN(suite_lag);
    if (suite.caps & SUITE_CAP_POSITION)
        RUN(suite_bad_start);
    if (suite.caps & SUITE_CAP_END)
        RUN(suite_replay_reads_to_the_end_it_began_with);
}

#endif /* EDXBUS_TEST_BACKEND_SUITE_H */
