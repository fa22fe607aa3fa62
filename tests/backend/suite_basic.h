/* tests/backend/suite_basic.h — the conformance checks every backend runs.
 *
 * Round trip (value, metadata, headers, keys as claimed), async produce and flush, where new
 * and existing groups start, groups resuming after acks, two groups each getting everything.
 * Part of backend_suite.h, which includes it after the suite's helpers; not included alone.
 */
#ifndef EDXBUS_TEST_SUITE_BASIC_H
#define EDXBUS_TEST_SUITE_BASIC_H

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

#endif /* EDXBUS_TEST_SUITE_BASIC_H */
