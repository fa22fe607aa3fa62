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
 * The checks are in suite_basic.h (every backend) and suite_caps.h (per capability). To add one:
 * write a TEST(suite_...) there and add a RUN line to suite_run().
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

/* Poll until a poll comes back empty; returns the total. Until the first message the polls
 * may wait poll_ms in all (a group join: a poll can also come back empty at once while a group
 * rebalances, as Kafka's does), after it the one that ends the drain waits idle_ms. */
static size_t suite_drain(void *cons, int *seen, bool ack)
{
    size_t total = 0, n;
    int64_t first_by = suite_now_ms() + suite.poll_ms;
    int idle = suite.idle_ms > 0 ? suite.idle_ms : suite.poll_ms;
    for (;;) {
        int64_t left = first_by - suite_now_ms();
        int wait = total > 0 ? idle : (left > 0 ? (int)left : 0);
        n = suite_poll(cons, 4, wait, seen, ack, NULL);
        total += n;
        if (n == 0 && (total > 0 || suite_now_ms() >= first_by))
            break;
    }
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

/* The checks: every backend's, then those of the capabilities. */
#include "suite_basic.h"
#include "suite_caps.h"

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
