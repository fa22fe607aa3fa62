/* tests/faults/test_redis_stall_consume.c — a Redis stall while a consumer reads (issue 10 #2).
 *
 * The consumer sends XREADGROUP … > to a server that is SIGSTOPped, gives up after its socket
 * timeout, and the server, once SIGCONTed, still runs that read: the entries become pending on
 * the live member although it never saw them. The same live consumer must then deliver them
 * (it re-reads its own pending entries after a failed read), so nothing stays pending.
 */
#include "fault_util.h"
#include "test.h"

static struct test_redis server;
static const struct edxbus_backend_ops *ops = &edxbus_backend_redis;

#define STREAM "fault-stall-consume"
#define N 5

TEST(test_stall_during_read_leaves_nothing_pending_on_the_live_consumer)
{
    char errstr[EDXBUS_ERRSTR_SIZE];
    edxbus_conf_t *conf = fault_conf(&server, "0.5");
    void *cons = fault_member(conf, STREAM, "live"), *prod = NULL;
    ASSERT_TRUE(cons != NULL);
    ASSERT_EQ_INT(ops->producer_open(conf, &prod, errstr, sizeof errstr), EDXBUS_OK);
    edxbus_conf_destroy(conf);
    struct edxbus_batch batch;
    ASSERT_EQ_INT(ops->poll(cons, &batch, 16, 10, errstr, sizeof errstr), EDXBUS_OK);
    ASSERT_EQ_INT(batch.n, 0); /* caught up: the next read asks for new entries */

    struct edxbus_metadata md[N];
    for (int i = 0; i < N; i++) {
        struct edxbus_msg msg = fault_msg(&md[i], STREAM);
        ASSERT_EQ_INT(ops->produce(prod, &msg, NULL, NULL, errstr, sizeof errstr), EDXBUS_OK);
    }
    ops->producer_close(prod);

    fault_stall(&server);
    edxbus_err_t err = ops->poll(cons, &batch, 16, 100, errstr, sizeof errstr);
    fault_resume(&server);
    ASSERT_EQ_INT(err, EDXBUS_ERR_TIMEOUT);
    ASSERT_EQ_INT(batch.n, 0);
    /* The server ran the abandoned read once it resumed: the entries are pending on "live". */
    ASSERT_EQ_INT(fault_wait_pending(&server, STREAM, "g", N), N);

    /* The same live member delivers them, in order, within a few polls. */
    int got = 0;
    for (int round = 0; round < 10 && got < N; round++) {
        err = ops->poll(cons, &batch, 16, 100, errstr, sizeof errstr);
        ASSERT_TRUE(err == EDXBUS_OK || (fprintf(stderr, "poll: %s\n", errstr), false));
        for (size_t i = 0; i < batch.n; i++, got++) {
            ASSERT_EQ_STR(batch.msgs[i].metadata->id, md[got].id);
            ASSERT_EQ_INT(ops->ack(cons, &batch.msgs[i], errstr, sizeof errstr), EDXBUS_OK);
        }
    }
    ASSERT_EQ_INT(got, N);
    ASSERT_EQ_INT(fault_pending(&server, STREAM, "g"), 0);
    ops->consumer_close(cons);
}

int main(void)
{
    fault_start(&server, "faults/test_redis_stall_consume");
    RUN(test_stall_during_read_leaves_nothing_pending_on_the_live_consumer);
    test_redis_stop(&server);
    return test_report();
}
