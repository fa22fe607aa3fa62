/* tests/integration/redis/test_redis_delivery.c — the Redis backend loses nothing.
 *
 * Against a real redis-server: a consumer that closes (or is SIGKILLed) before acking gets its
 * entries again first after a restart, and events produced while it was down are not skipped;
 * another member claims a dead member's entries (claim_msgs_older_than); two members share a
 * group without duplicates; an existing group resumes where it was; a server crash with
 * appendonly + appendfsync always keeps every event the producer was told was stored; trimming
 * (MAXLEN ~) bounds the stream and a pending entry trimmed away comes back unusable; start
 * positions, replay by time, tail mode and lag behave as the contract says.
 */
#include <jansson.h>
#include <sys/wait.h>

#include "backends/redis/redis_int.h"
#include "edxbus/backend.h"
#include "redis_server.h"
#include "test.h"

static struct test_redis server;
static const struct edxbus_backend_ops *ops = &edxbus_backend_redis;

#define MAX_SEEN 4096

/* Positions delivered so far, to check "all of them, each once". */
struct seen {
    char pos[MAX_SEEN][EDXBUS_POSITION_MAX];
    size_t n;
    size_t dups;
    int64_t max_deliveries;
};

static void seen_add(struct seen *s, const char *pos)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->pos[i], pos) == 0) {
            s->dups++;
            return;
        }
    if (s->n < MAX_SEEN)
        snprintf(s->pos[s->n++], EDXBUS_POSITION_MAX, "%s", pos);
}

static edxbus_conf_t *conf_with(const char *name, const char *value)
{
    edxbus_conf_t *conf = test_redis_conf(server.url);
    char errstr[EDXBUS_ERRSTR_SIZE];
    if (name != NULL && edxbus_conf_set(conf, name, value, errstr, sizeof errstr) != EDXBUS_OK)
        fprintf(stderr, "conf %s: %s\n", name, errstr);
    return conf;
}

static void *producer(edxbus_conf_t *conf)
{
    char errstr[EDXBUS_ERRSTR_SIZE];
    void *be = NULL;
    if (ops->producer_open(conf, &be, errstr, sizeof errstr) != EDXBUS_OK)
        fprintf(stderr, "producer_open: %s\n", errstr);
    edxbus_conf_destroy(conf);
    return be;
}

/* Produce @p n events synchronously; returns how many the backend said were stored. */
static int produce_n(void *prod, const char *stream, int n)
{
    char errstr[EDXBUS_ERRSTR_SIZE];
    int ok = 0;
    for (int i = 0; i < n; i++) {
        struct edxbus_metadata md;
        edxbus_metadata_generate(&md, "org.openedx.test.event.v1", 0, "test", errstr,
                                 sizeof errstr);
        char value[32];
        int len = snprintf(value, sizeof value, "payload-%d", i);
        struct edxbus_msg msg = {.topic = stream,
                                 .value = (const uint8_t *)value,
                                 .value_len = (size_t)len,
                                 .metadata = &md};
        if (ops->produce(prod, &msg, NULL, NULL, errstr, sizeof errstr) == EDXBUS_OK)
            ok++;
        else
            fprintf(stderr, "produce: %s\n", errstr);
    }
    return ok;
}

static int produce_to(const char *stream, int n)
{
    void *prod = producer(test_redis_conf(server.url));
    if (prod == NULL)
        return 0;
    int ok = produce_n(prod, stream, n);
    ops->producer_close(prod);
    return ok;
}

static void *consumer(const char *stream, const char *group, const char *name, const char *start,
                      int64_t start_time_ms, const char *extra_json)
{
    char errstr[EDXBUS_ERRSTR_SIZE];
    edxbus_conf_t *conf = test_redis_conf(server.url);
    json_t *extra = extra_json ? json_loads(extra_json, 0, NULL) : NULL;
    struct edxbus_consumer_opts opts = {.topic = stream,
                                        .group = group,
                                        .consumer_name = name,
                                        .start = start,
                                        .start_time_ms = start_time_ms,
                                        .extra = extra};
    void *be = NULL;
    if (ops->consumer_open(conf, &opts, &be, errstr, sizeof errstr) != EDXBUS_OK)
        fprintf(stderr, "consumer_open: %s\n", errstr);
    json_decref(extra);
    edxbus_conf_destroy(conf);
    return be;
}

/* Poll until a poll comes back empty, acking everything, recording positions. */
static void drain(void *cons, struct seen *s, size_t batch_max)
{
    char errstr[EDXBUS_ERRSTR_SIZE];
    for (;;) {
        struct edxbus_batch batch;
        edxbus_err_t err = ops->poll(cons, &batch, batch_max, 200, errstr, sizeof errstr);
        if (err != EDXBUS_OK)
            fprintf(stderr, "poll: %s\n", errstr);
        if (err != EDXBUS_OK || batch.n == 0)
            return;
        for (size_t i = 0; i < batch.n; i++) {
            seen_add(s, batch.msgs[i].position);
            if (batch.msgs[i].deliveries > s->max_deliveries)
                s->max_deliveries = batch.msgs[i].deliveries;
            ops->ack(cons, &batch.msgs[i], errstr, sizeof errstr);
        }
    }
}

static long long xlen(const char *stream)
{
    redisReply *r = test_redis_cmd(&server, "XLEN %s", stream);
    long long n = r ? r->integer : -1;
    freeReplyObject(r);
    return n;
}

static long long group_pending(const char *stream, const char *group)
{
    redisReply *r = test_redis_cmd(&server, "XPENDING %s %s", stream, group);
    long long n = r && r->type == REDIS_REPLY_ARRAY ? r->element[0]->integer : -1;
    freeReplyObject(r);
    return n;
}

/* ------------------------------------------------------------------------------------------ */

TEST(test_close_without_ack_redelivers_pending_first_and_skips_nothing)
{
    ASSERT_EQ_INT(produce_to("s1", 20), 20);
    static struct seen s;
    memset(&s, 0, sizeof s);
    char errstr[EDXBUS_ERRSTR_SIZE];
    void *cons = consumer("s1", "g", "c1", "earliest", -1, NULL);
    ASSERT_TRUE(cons != NULL);
    struct edxbus_batch batch;
    ASSERT_EQ_INT(ops->poll(cons, &batch, 5, 1000, errstr, sizeof errstr), EDXBUS_OK);
    ASSERT_EQ_INT(batch.n, 5);
    char unacked[3][EDXBUS_POSITION_MAX];
    for (size_t i = 0; i < 5; i++) {
        if (i < 2) {
            seen_add(&s, batch.msgs[i].position);
            ASSERT_EQ_INT(ops->ack(cons, &batch.msgs[i], errstr, sizeof errstr), EDXBUS_OK);
        } else {
            snprintf(unacked[i - 2], EDXBUS_POSITION_MAX, "%s", batch.msgs[i].position);
        }
    }
    ops->consumer_close(cons); /* "dies" holding 3 unacknowledged entries */
    ASSERT_EQ_INT(group_pending("s1", "g"), 3);
    ASSERT_EQ_INT(produce_to("s1", 10), 10); /* arriving while it is down */

    cons = consumer("s1", "g", "c1", "latest", -1, NULL); /* existing group: start ignored */
    ASSERT_TRUE(cons != NULL);
    ASSERT_EQ_INT(ops->poll(cons, &batch, 10, 1000, errstr, sizeof errstr), EDXBUS_OK);
    ASSERT_EQ_INT(batch.n, 3);
    for (size_t i = 0; i < 3; i++) {
        ASSERT_EQ_STR(batch.msgs[i].position, unacked[i]);
        ASSERT_TRUE(batch.msgs[i].deliveries >= 2);
        seen_add(&s, batch.msgs[i].position);
        ASSERT_EQ_INT(ops->ack(cons, &batch.msgs[i], errstr, sizeof errstr), EDXBUS_OK);
    }
    drain(cons, &s, 7);
    ops->consumer_close(cons);
    ASSERT_EQ_INT(s.n, 30);
    ASSERT_EQ_INT(s.dups, 0);
    ASSERT_EQ_INT(group_pending("s1", "g"), 0);
}

TEST(test_sigkill_mid_batch_loses_nothing)
{
    ASSERT_EQ_INT(produce_to("s2", 20), 20);
    pid_t pid = fork();
    ASSERT_TRUE(pid >= 0);
    if (pid == 0) {
        char errstr[EDXBUS_ERRSTR_SIZE];
        void *cons = consumer("s2", "g", "worker", "earliest", -1, NULL);
        struct edxbus_batch batch;
        if (cons == NULL || ops->poll(cons, &batch, 5, 1000, errstr, sizeof errstr) != 0)
            _exit(3);
        for (size_t i = 0; i < 3 && i < batch.n; i++)
            ops->ack(cons, &batch.msgs[i], errstr, sizeof errstr);
        raise(SIGKILL); /* mid-batch: no close, no flush */
        _exit(4);
    }
    int status;
    waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    long long pending = group_pending("s2", "g");
    ASSERT_TRUE(pending >= 2 && pending <= 5); /* the acks of a partial batch may be unsent */
    ASSERT_EQ_INT(produce_to("s2", 10), 10);
    static struct seen s;
    memset(&s, 0, sizeof s);
    void *cons = consumer("s2", "g", "worker", NULL, -1, NULL);
    ASSERT_TRUE(cons != NULL);
    drain(cons, &s, 4);
    ops->consumer_close(cons);
    /* Everything the dead worker had not acknowledged, and everything after, arrived. */
    ASSERT_EQ_INT(s.n, 30 - (5 - (size_t)pending));
    ASSERT_EQ_INT(s.dups, 0);
    ASSERT_EQ_INT(group_pending("s2", "g"), 0);
    ASSERT_EQ_INT(s.max_deliveries, 2);
}

/* The default member name is "<host>-<pid>", new on every run: a restarted worker on the same
 * host takes over what its dead predecessor left pending. */
TEST(test_default_named_worker_adopts_its_dead_predecessors_entries)
{
    ASSERT_EQ_INT(produce_to("s11", 20), 20);
    pid_t pid = fork();
    ASSERT_TRUE(pid >= 0);
    if (pid == 0) {
        char errstr[EDXBUS_ERRSTR_SIZE];
        void *cons = consumer("s11", "g", NULL, "earliest", -1, NULL);
        struct edxbus_batch batch;
        if (cons == NULL || ops->poll(cons, &batch, 5, 1000, errstr, sizeof errstr) != 0)
            _exit(3);
        raise(SIGKILL);
    }
    waitpid(pid, NULL, 0); /* reaped: its pid is gone */
    ASSERT_EQ_INT(group_pending("s11", "g"), 5);
    static struct seen s;
    memset(&s, 0, sizeof s);
    void *cons = consumer("s11", "g", NULL, NULL, -1, NULL);
    ASSERT_TRUE(cons != NULL);
    char errstr[EDXBUS_ERRSTR_SIZE];
    struct edxbus_batch batch;
    ASSERT_EQ_INT(ops->poll(cons, &batch, 10, 1000, errstr, sizeof errstr), EDXBUS_OK);
    ASSERT_EQ_INT(batch.n, 5); /* the adopted entries come first */
    for (size_t i = 0; i < batch.n; i++) {
        seen_add(&s, batch.msgs[i].position);
        ops->ack(cons, &batch.msgs[i], errstr, sizeof errstr);
    }
    drain(cons, &s, 10);
    ops->consumer_close(cons);
    ASSERT_EQ_INT(s.n, 20);
    ASSERT_EQ_INT(s.dups, 0);
    redisReply *members = test_redis_cmd(&server, "XINFO CONSUMERS s11 g");
    ASSERT_EQ_INT(members->elements, 1); /* the dead one was removed */
    freeReplyObject(members);
}

TEST(test_member_claims_dead_members_entries)
{
    ASSERT_EQ_INT(produce_to("s3", 20), 20);
    char errstr[EDXBUS_ERRSTR_SIZE];
    void *dead = consumer("s3", "g", "dead", "earliest", -1, NULL);
    ASSERT_TRUE(dead != NULL);
    struct edxbus_batch batch;
    ASSERT_EQ_INT(ops->poll(dead, &batch, 5, 1000, errstr, sizeof errstr), EDXBUS_OK);
    ASSERT_EQ_INT(batch.n, 5);
    ops->consumer_close(dead); /* never comes back */
    static struct seen s;
    memset(&s, 0, sizeof s);
    void *alive = consumer("s3", "g", "alive", NULL, -1, "{\"claim_msgs_older_than\": 0}");
    ASSERT_TRUE(alive != NULL);
    ASSERT_EQ_INT(ops->poll(alive, &batch, 10, 1000, errstr, sizeof errstr), EDXBUS_OK);
    ASSERT_EQ_INT(batch.n, 5); /* the claimed ones come before new entries */
    for (size_t i = 0; i < batch.n; i++) {
        ASSERT_EQ_INT(batch.msgs[i].deliveries, 2);
        seen_add(&s, batch.msgs[i].position);
        ops->ack(alive, &batch.msgs[i], errstr, sizeof errstr);
    }
    drain(alive, &s, 10);
    ops->consumer_close(alive);
    ASSERT_EQ_INT(s.n, 20);
    ASSERT_EQ_INT(s.dups, 0);
    ASSERT_EQ_INT(group_pending("s3", "g"), 0);
}

TEST(test_two_members_share_a_group_without_duplicates)
{
    ASSERT_EQ_INT(produce_to("s4", 40), 40);
    static struct seen s;
    memset(&s, 0, sizeof s);
    char errstr[EDXBUS_ERRSTR_SIZE];
    void *a = consumer("s4", "g", "a", "earliest", -1, NULL);
    void *b = consumer("s4", "g", "b", "earliest", -1, NULL);
    ASSERT_TRUE(a != NULL && b != NULL);
    size_t got_a = 0, got_b = 0;
    for (int turn = 0; turn < 40; turn++) {
        void *c = turn % 2 ? b : a;
        struct edxbus_batch batch;
        ASSERT_EQ_INT(ops->poll(c, &batch, 3, 100, errstr, sizeof errstr), EDXBUS_OK);
        if (batch.n == 0)
            break;
        for (size_t i = 0; i < batch.n; i++) {
            seen_add(&s, batch.msgs[i].position);
            ops->ack(c, &batch.msgs[i], errstr, sizeof errstr);
        }
        *(turn % 2 ? &got_b : &got_a) += batch.n;
    }
    ops->consumer_close(a);
    ops->consumer_close(b);
    ASSERT_EQ_INT(s.n, 40);
    ASSERT_EQ_INT(s.dups, 0);
    ASSERT_TRUE(got_a > 0 && got_b > 0);
}

TEST(test_maxlen_trims_and_trimmed_pending_entries_are_unusable)
{
    void *prod = producer(conf_with("EVENT_BUS_REDIS_STREAM_MAX_LEN", "10"));
    ASSERT_TRUE(prod != NULL);
    ASSERT_EQ_INT(produce_n(prod, "s5", 1000), 1000);
    ops->producer_close(prod);
    long long len = xlen("s5");
    ASSERT_TRUE(len >= 10 && len < 1000); /* "~": whole nodes go, at least N stay */

    char errstr[EDXBUS_ERRSTR_SIZE];
    ASSERT_EQ_INT(produce_to("s5b", 5), 5);
    void *cons = consumer("s5b", "g", "c", "earliest", -1, NULL);
    struct edxbus_batch batch;
    ASSERT_EQ_INT(ops->poll(cons, &batch, 5, 1000, errstr, sizeof errstr), EDXBUS_OK);
    ASSERT_EQ_INT(batch.n, 5);
    ops->consumer_close(cons);
    freeReplyObject(test_redis_cmd(&server, "XTRIM s5b MAXLEN 0"));
    cons = consumer("s5b", "g", "c", NULL, -1, NULL);
    ASSERT_EQ_INT(ops->poll(cons, &batch, 5, 1000, errstr, sizeof errstr), EDXBUS_OK);
    ASSERT_EQ_INT(batch.n, 5);
    for (size_t i = 0; i < batch.n; i++) {
        ASSERT_TRUE(batch.msgs[i].unusable != NULL);
        ASSERT_CONTAINS(batch.msgs[i].unusable, batch.msgs[i].position);
        ASSERT_CONTAINS(batch.msgs[i].unusable, "deleted");
        ops->ack(cons, &batch.msgs[i], errstr, sizeof errstr);
    }
    ops->consumer_close(cons);
    ASSERT_EQ_INT(group_pending("s5b", "g"), 0);
}

static struct test_redis aof; /* stopped in main() even when the test fails */

TEST(test_server_crash_with_aof_always_keeps_stored_events)
{
    ASSERT_TRUE(test_redis_start(&aof, "--appendonly", "yes", "--appendfsync", "always", NULL));
    edxbus_conf_t *conf = test_redis_conf(aof.url);
    void *prod = producer(conf);
    ASSERT_TRUE(prod != NULL);
    ASSERT_EQ_INT(produce_n(prod, "s6", 50), 50);
    /* A consumer acks 20 of them before the crash. */
    char errstr[EDXBUS_ERRSTR_SIZE];
    conf = test_redis_conf(aof.url);
    struct edxbus_consumer_opts opts = {.topic = "s6",
                                        .group = "g",
                                        .consumer_name = "c",
                                        .start = "earliest",
                                        .start_time_ms = -1};
    void *cons = NULL;
    ASSERT_EQ_INT(ops->consumer_open(conf, &opts, &cons, errstr, sizeof errstr), EDXBUS_OK);
    struct edxbus_batch batch;
    ASSERT_EQ_INT(ops->poll(cons, &batch, 20, 1000, errstr, sizeof errstr), EDXBUS_OK);
    ASSERT_EQ_INT(batch.n, 20);
    for (size_t i = 0; i < batch.n; i++)
        ASSERT_EQ_INT(ops->ack(cons, &batch.msgs[i], errstr, sizeof errstr), EDXBUS_OK);

    ASSERT_TRUE(test_redis_restart(&aof)); /* SIGKILL, then start on the same files */

    /* The producer reconnects by itself; the consumer's next polls ride out the restart. */
    ASSERT_EQ_INT(produce_n(prod, "s6", 1), 1);
    ops->producer_close(prod);
    static struct seen s;
    memset(&s, 0, sizeof s);
    for (int i = 0; i < 5 && s.n < 31; i++)
        drain(cons, &s, 50);
    ops->consumer_close(cons);
    edxbus_conf_destroy(conf);
    ASSERT_EQ_INT(s.n, 31); /* the 30 never acked plus the one after the crash */
    ASSERT_EQ_INT(s.dups, 0);
    test_redis_stop(&aof);
}

/* Entries 1000-0 … 1009-0, so positions and times are known. */
static void make_known_stream(const char *stream)
{
    redisContext *c = test_redis_connect(&server);
    for (int i = 0; i < 10; i++)
        freeReplyObject(
            redisCommand(c, "XADD %s %d-0 type t.v1 event_data x%d", stream, 1000 + i, i));
    redisFree(c);
}

static const char *first_position(void *cons, char *out)
{
    char errstr[EDXBUS_ERRSTR_SIZE];
    struct edxbus_batch batch;
    out[0] = '\0';
    if (ops->poll(cons, &batch, 1, 100, errstr, sizeof errstr) == EDXBUS_OK && batch.n == 1) {
        snprintf(out, EDXBUS_POSITION_MAX, "%s", batch.msgs[0].position);
        ops->ack(cons, &batch.msgs[0], errstr, sizeof errstr);
    }
    return out;
}

TEST(test_start_positions_and_replay_by_time)
{
    make_known_stream("s7");
    char pos[EDXBUS_POSITION_MAX], errstr[EDXBUS_ERRSTR_SIZE];
    void *c = consumer("s7", "new-latest", "c", NULL, -1, NULL);
    ASSERT_EQ_STR(first_position(c, pos), ""); /* a new group starts at the end */
    ops->consumer_close(c);
    c = consumer("s7", "backlog", "c", NULL, -1, "{\"check_backlog\": true}");
    ASSERT_EQ_STR(first_position(c, pos), "1000-0");
    ops->consumer_close(c);
    c = consumer("s7", "at-pos", "c", "1004-0", -1, NULL);
    ASSERT_EQ_STR(first_position(c, pos), "1004-0"); /* a position is the first to deliver */
    ops->consumer_close(c);
    c = consumer("s7", "last-read", "c", NULL, -1, "{\"last_read_msg_id\": \"1002-0\"}");
    ASSERT_EQ_STR(first_position(c, pos), "1003-0"); /* the reference's: the last one read */
    ops->consumer_close(c);
    c = consumer("s7", "by-time", "c", NULL, 1006, NULL);
    ASSERT_EQ_STR(first_position(c, pos), "1006-0");
    ops->consumer_close(c);
    c = consumer("s7", "by-time", "c", NULL, 1008, NULL); /* a replay moves an existing group */
    ASSERT_EQ_STR(first_position(c, pos), "1008-0");
    ops->consumer_close(c);
    struct edxbus_consumer_opts bad = {
        .topic = "s7", .group = "bad", .start = "nonsense", .start_time_ms = -1};
    void *none = NULL;
    edxbus_conf_t *conf = test_redis_conf(server.url);
    ASSERT_EQ_INT(ops->consumer_open(conf, &bad, &none, errstr, sizeof errstr),
                  EDXBUS_ERR_INVALID_ARG);
    edxbus_conf_destroy(conf);
    ASSERT_CONTAINS(errstr, "nonsense");
}

TEST(test_tail_mode_reads_without_a_group)
{
    make_known_stream("s8");
    char pos[EDXBUS_POSITION_MAX];
    void *t = consumer("s8", NULL, NULL, "earliest", -1, NULL);
    ASSERT_EQ_STR(first_position(t, pos), "1000-0");
    ASSERT_EQ_STR(first_position(t, pos), "1001-0");
    ops->consumer_close(t);
    t = consumer("s8", NULL, NULL, NULL, -1, NULL);
    ASSERT_EQ_STR(first_position(t, pos), "");
    freeReplyObject(test_redis_cmd(&server, "XADD s8 2000-0 type t.v1 event_data y"));
    ASSERT_EQ_STR(first_position(t, pos), "2000-0");
    ops->consumer_close(t);
    t = consumer("s8", NULL, NULL, NULL, 1005, NULL);
    ASSERT_EQ_STR(first_position(t, pos), "1005-0");
    ops->consumer_close(t);
    redisReply *groups = test_redis_cmd(&server, "XINFO GROUPS s8");
    ASSERT_EQ_INT(groups->elements, 0); /* tail mode made no group */
    freeReplyObject(groups);
}

TEST(test_vanished_group_is_made_again)
{
    ASSERT_EQ_INT(produce_to("s9", 3), 3);
    static struct seen s;
    memset(&s, 0, sizeof s);
    void *c = consumer("s9", "g", "c", "earliest", -1, NULL);
    drain(c, &s, 10);
    ASSERT_EQ_INT(s.n, 3);
    freeReplyObject(test_redis_cmd(&server, "DEL s9")); /* as a server restarted empty */
    ASSERT_EQ_INT(produce_to("s9", 2), 2);
    drain(c, &s, 10); /* NOGROUP: made again from 0 */
    drain(c, &s, 10);
    ops->consumer_close(c);
    ASSERT_EQ_INT(s.n, 5);
}

TEST(test_lag_reports_pending_and_undelivered)
{
    ASSERT_EQ_INT(produce_to("s10", 10), 10);
    char errstr[EDXBUS_ERRSTR_SIZE];
    void *c = consumer("s10", "g", "c", "earliest", -1, NULL);
    struct edxbus_batch batch;
    ASSERT_EQ_INT(ops->poll(c, &batch, 3, 100, errstr, sizeof errstr), EDXBUS_OK);
    ASSERT_EQ_INT(batch.n, 3);
    ops->consumer_close(c); /* 3 pending, 7 undelivered */
    edxbus_conf_t *conf = test_redis_conf(server.url);
    json_t *rows = NULL;
    ASSERT_EQ_INT(ops->lag(conf, "s10", "g", &rows, errstr, sizeof errstr), EDXBUS_OK);
    long long pending = 0, undelivered = 0;
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row)
    {
        pending += json_integer_value(json_object_get(row, "pending"));
        undelivered += json_integer_value(json_object_get(row, "undelivered"));
        ASSERT_EQ_STR(json_string_value(json_object_get(row, "group")), "g");
    }
    ASSERT_EQ_INT(json_array_size(rows), 1);
    ASSERT_EQ_STR(json_string_value(json_object_get(json_array_get(rows, 0), "consumer")), "c");
    ASSERT_TRUE(json_is_integer(json_object_get(json_array_get(rows, 0), "idle_ms")));
    ASSERT_TRUE(json_is_null(json_object_get(json_array_get(rows, 0), "partition")));
    ASSERT_EQ_INT(pending, 3);
    ASSERT_EQ_INT(undelivered, 7);
    json_decref(rows);
    ASSERT_EQ_INT(ops->lag(conf, "s10", "nope", &rows, errstr, sizeof errstr),
                  EDXBUS_ERR_NOT_FOUND);
    ASSERT_EQ_INT(ops->lag(conf, "no-such-stream", "g", &rows, errstr, sizeof errstr),
                  EDXBUS_ERR_NOT_FOUND);
    edxbus_conf_destroy(conf);
}

int main(void)
{
    test_redis_require("integration/redis/test_redis_delivery");
    if (!test_redis_start(&server, NULL)) {
        fprintf(stderr, "cannot start redis-server\n");
        return 1;
    }
    RUN(test_close_without_ack_redelivers_pending_first_and_skips_nothing);
    RUN(test_sigkill_mid_batch_loses_nothing);
    RUN(test_default_named_worker_adopts_its_dead_predecessors_entries);
    RUN(test_member_claims_dead_members_entries);
    RUN(test_two_members_share_a_group_without_duplicates);
    RUN(test_maxlen_trims_and_trimmed_pending_entries_are_unusable);
    RUN(test_server_crash_with_aof_always_keeps_stored_events);
    RUN(test_start_positions_and_replay_by_time);
    RUN(test_tail_mode_reads_without_a_group);
    RUN(test_vanished_group_is_made_again);
    RUN(test_lag_reports_pending_and_undelivered);
    test_redis_stop(&aof);
    test_redis_stop(&server);
    return test_report();
}
