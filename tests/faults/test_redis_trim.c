/* tests/faults/test_redis_trim.c — the stream cap never drops what a group has not read
 * (issue 10 #1).
 *
 * With EVENT_BUS_REDIS_STREAM_MAX_LEN at its default (10,000), a group that has read nothing
 * gets all of 20,000 events produced (the reference's `XADD … MAXLEN ~` would leave it about
 * 10,000); once they are acknowledged the stream shrinks to the cap again. Pending entries (read,
 * never acknowledged) are kept too. A stream without groups keeps the reference's cap. The hard
 * cap (EVENT_BUS_REDIS_STREAM_HARD_MAX_LEN) trims unread entries anyway, with an error line
 * naming the group and the count, and `lag` shows them as lost. The XADD itself carries the
 * same fields and bytes as the reference's, only without the trimming clause.
 */
#include "fault_util.h"
#include "test.h"

static struct test_redis server;
static const struct edxbus_backend_ops *ops = &edxbus_backend_redis;

static long delivered, failed;

static void on_delivery(void *opaque, const struct edxbus_msg *msg, edxbus_err_t err,
                        const char *errstr, const char *position)
{
    (void)opaque, (void)msg, (void)errstr, (void)position;
    if (err == EDXBUS_OK)
        delivered++;
    else
        failed++;
}

/* Produce @p n events to @p stream, pipelined, and flush. Returns how many were delivered. */
static long produce_n(const edxbus_conf_t *conf, const char *stream, long n)
{
    char errstr[EDXBUS_ERRSTR_SIZE];
    void *prod = NULL;
    if (ops->producer_open(conf, &prod, errstr, sizeof errstr) != EDXBUS_OK) {
        fprintf(stderr, "producer_open: %s\n", errstr);
        return -1;
    }
    delivered = failed = 0;
    struct edxbus_metadata md;
    struct edxbus_msg msg = fault_msg(&md, stream);
    for (long i = 0; i < n; i++)
        if (ops->produce(prod, &msg, on_delivery, NULL, errstr, sizeof errstr) != EDXBUS_OK)
            failed++;
    if (ops->flush(prod, 60000, errstr, sizeof errstr) != EDXBUS_OK)
        fprintf(stderr, "flush: %s\n", errstr);
    ops->producer_close(prod);
    return failed == 0 ? delivered : -1;
}

/* Read (and acknowledge, unless @p keep_pending) up to @p max entries as member @p name. */
static long consume(const edxbus_conf_t *conf, const char *stream, const char *name, long max,
                    bool keep_pending)
{
    char errstr[EDXBUS_ERRSTR_SIZE];
    void *cons = fault_member(conf, stream, name);
    if (cons == NULL)
        return -1;
    long got = 0;
    struct edxbus_batch batch;
    while (got < max) {
        size_t want = max - got < 1000 ? (size_t)(max - got) : 1000;
        if (ops->poll(cons, &batch, want, 100, errstr, sizeof errstr) != EDXBUS_OK ||
            batch.n == 0)
            break;
        for (size_t i = 0; i < batch.n; i++) {
            if (batch.msgs[i].unusable != NULL)
                fprintf(stderr, "unusable: %s\n", batch.msgs[i].unusable);
            if (!keep_pending)
                ops->ack(cons, &batch.msgs[i], errstr, sizeof errstr);
        }
        got += (long)batch.n;
    }
    ops->consumer_close(cons);
    return got;
}

static edxbus_conf_t *caps(const char *max_len, const char *hard)
{
    char errstr[EDXBUS_ERRSTR_SIZE];
    edxbus_conf_t *conf = fault_conf(&server, "5");
    if (max_len != NULL)
        edxbus_conf_set(conf, "EVENT_BUS_REDIS_STREAM_MAX_LEN", max_len, errstr, sizeof errstr);
    if (hard != NULL)
        edxbus_conf_set(conf, "EVENT_BUS_REDIS_STREAM_HARD_MAX_LEN", hard, errstr, sizeof errstr);
    return conf;
}

static void group_at_end(const char *stream)
{
    redisReply *r = test_redis_cmd(&server, "XGROUP CREATE %s g $ MKSTREAM", stream);
    freeReplyObject(r);
}

TEST(test_group_behind_the_default_cap_keeps_every_event)
{
    edxbus_conf_t *conf = caps(NULL, NULL); /* EVENT_BUS_REDIS_STREAM_MAX_LEN: 10000 */
    group_at_end("trim-default");
    ASSERT_EQ_INT(produce_n(conf, "trim-default", 20000), 20000);
    ASSERT_EQ_INT(fault_int(&server, "XLEN %s", "trim-default"), 20000);
    ASSERT_EQ_INT(consume(conf, "trim-default", "c", 30000, false), 20000);
    /* All acknowledged: the next check trims back to the cap (whole nodes: a little over). */
    ASSERT_EQ_INT(produce_n(conf, "trim-default", 1000), 1000);
    long long len = fault_int(&server, "XLEN %s", "trim-default");
    ASSERT_TRUE(len >= 10000 && len <= 10000 + 200);
    edxbus_conf_destroy(conf);
}

TEST(test_pending_entries_are_never_trimmed)
{
    edxbus_conf_t *conf = caps("1000", NULL);
    group_at_end("trim-pending");
    ASSERT_EQ_INT(produce_n(conf, "trim-pending", 500), 500);
    ASSERT_EQ_INT(consume(conf, "trim-pending", "holder", 10, true), 10); /* never acked */
    ASSERT_EQ_INT(consume(conf, "trim-pending", "worker", 490, false), 490);
    ASSERT_EQ_INT(produce_n(conf, "trim-pending", 5000), 5000);
    ASSERT_EQ_INT(consume(conf, "trim-pending", "worker", 5000, false), 5000);
    ASSERT_EQ_INT(produce_n(conf, "trim-pending", 1000), 1000);
    /* The 10 pending entries are still there (and so the stream is longer than the cap)... */
    redisReply *p = test_redis_cmd(&server, "XPENDING trim-pending g - + 100");
    ASSERT_TRUE(p != NULL && p->elements == 10);
    for (size_t i = 0; i < p->elements; i++) {
        redisReply *e = test_redis_cmd(&server, "XRANGE trim-pending %s %s",
                                       p->element[i]->element[0]->str,
                                       p->element[i]->element[0]->str);
        ASSERT_TRUE(e != NULL && e->elements == 1);
        freeReplyObject(e);
    }
    freeReplyObject(p);
    /* ... and the holder gets them after a restart, intact. */
    ASSERT_EQ_INT(consume(conf, "trim-pending", "holder", 10, false), 10);
    edxbus_conf_destroy(conf);
}

TEST(test_stream_without_groups_keeps_the_reference_cap)
{
    edxbus_conf_t *conf = caps("1000", NULL);
    ASSERT_EQ_INT(produce_n(conf, "trim-nogroup", 5000), 5000);
    long long len = fault_int(&server, "XLEN %s", "trim-nogroup");
    ASSERT_TRUE(len >= 1000 && len <= 1000 + 200);
    edxbus_conf_destroy(conf);
}

static char logged[4096];

static void capture(edxbus_log_level_t level, const char *line, void *opaque)
{
    (void)opaque;
    if (level == EDXBUS_LOG_ERROR)
        snprintf(logged, sizeof logged, "%s", line);
}

TEST(test_hard_cap_trims_unread_entries_and_says_so)
{
    edxbus_conf_t *conf = caps("1000", "1500");
    edxbus_conf_set_log(conf, capture, NULL);
    group_at_end("trim-hard");
    ASSERT_EQ_INT(produce_n(conf, "trim-hard", 3000), 3000);
    /* The last check ran after the 3000th entry: exactly the hard cap is left. */
    ASSERT_EQ_INT(fault_int(&server, "XLEN %s", "trim-hard"), 1500);
    ASSERT_CONTAINS(logged, "EVENT_BUS_REDIS_STREAM_HARD_MAX_LEN");
    ASSERT_CONTAINS(logged, "group \"g\" lost");
    /* lag: 1500 entries lost to trimming, 1500 still to read. */
    char errstr[EDXBUS_ERRSTR_SIZE];
    json_t *rows = NULL;
    ASSERT_EQ_INT(ops->lag(conf, "trim-hard", "g", &rows, errstr, sizeof errstr), EDXBUS_OK);
    ASSERT_EQ_INT(json_array_size(rows), 1);
    json_t *row = json_array_get(rows, 0);
    ASSERT_EQ_INT(json_integer_value(json_object_get(row, "lost")), 1500);
    ASSERT_EQ_INT(json_integer_value(json_object_get(row, "undelivered")), 1500);
    json_decref(rows);
    ASSERT_EQ_INT(consume(conf, "trim-hard", "c", 5000, false), 1500);
    edxbus_conf_destroy(conf);
}

TEST(test_hard_cap_below_the_cap_is_a_settings_error)
{
    edxbus_conf_t *conf = caps("1000", "10");
    char errstr[EDXBUS_ERRSTR_SIZE];
    void *prod = NULL;
    ASSERT_EQ_INT(ops->producer_open(conf, &prod, errstr, sizeof errstr), EDXBUS_ERR_CONF);
    ASSERT_CONTAINS(errstr, "EVENT_BUS_REDIS_STREAM_HARD_MAX_LEN");
    edxbus_conf_destroy(conf);
}

/* The entry is the reference's: the same argv without `MAXLEN ~ N`. */
TEST(test_xadd_differs_from_the_reference_only_by_the_trimming_clause)
{
    struct edxbus_metadata md;
    struct edxbus_msg msg = fault_msg(&md, "s");
    struct redis_wire_cmd ref, ours;
    edxbus__redis_wire_cmd_init(&ref);
    edxbus__redis_wire_cmd_init(&ours);
    char errstr[EDXBUS_ERRSTR_SIZE];
    ASSERT_EQ_INT(edxbus__redis_wire_xadd(&ref, &msg, 10000, errstr, sizeof errstr), EDXBUS_OK);
    ASSERT_EQ_INT(edxbus__redis_wire_xadd(&ours, &msg, 0, errstr, sizeof errstr), EDXBUS_OK);
    ASSERT_EQ_INT(ours.argc, ref.argc - 3);
    ASSERT_TRUE(memcmp(ref.argv[2], "MAXLEN", 6) == 0);
    for (int i = 0; i < ours.argc; i++) {
        int j = i < 2 ? i : i + 3;
        ASSERT_EQ_INT(ours.lens[i], ref.lens[j]);
        ASSERT_TRUE(memcmp(ours.argv[i], ref.argv[j], ours.lens[i]) == 0);
    }
    edxbus__redis_wire_cmd_fini(&ref);
    edxbus__redis_wire_cmd_fini(&ours);
}

int main(void)
{
    fault_start(&server, "faults/test_redis_trim");
    RUN(test_group_behind_the_default_cap_keeps_every_event);
    RUN(test_pending_entries_are_never_trimmed);
    RUN(test_stream_without_groups_keeps_the_reference_cap);
    RUN(test_hard_cap_trims_unread_entries_and_says_so);
    RUN(test_hard_cap_below_the_cap_is_a_settings_error);
    RUN(test_xadd_differs_from_the_reference_only_by_the_trimming_clause);
    test_redis_stop(&server);
    return test_report();
}
