/* tests/integration/kafka/test_kafka_registry_outage.c — a Schema Registry that answers 5xx or
 * 429 for a while keeps the records; only "no such schema id" makes one unusable.
 *
 * Before, every registry error but a 404 marked the record unusable, so the worker dead-lettered
 * and acknowledged events during a burst of 503s. Now the consumer keeps the batch, asks again
 * with a backoff, and delivers everything once the registry answers. A record whose schema id
 * does not exist is unusable, and its value is the record's bytes as stored (framing and id),
 * which is what a dead letter then carries.
 */
#include <pthread.h>

#include "kafka_events.h"

static void registry_fail(int n, int status)
{
    pthread_mutex_lock(&k.registry.lock);
    k.registry.fail_next = n;
    k.registry.fail_status = status;
    pthread_mutex_unlock(&k.registry.lock);
}

TEST(test_registry_errors_keep_the_records)
{
    static const int statuses[] = {503, 429};
    const char *topic = "o-outage";
    test_kafka_topic(&k, topic, 2);
    send_range(topic, 0, 20);
    for (size_t s = 0; s < sizeof statuses / sizeof statuses[0]; s++) {
        char group[32];
        snprintf(group, sizeof group, "g-outage-%d", statuses[s]);
        /* A new consumer has no schema cached: its first fetch meets the failures (three
         * tries per fetch, so four polls fail). */
        registry_fail(12, statuses[s]);
        void *be = open_consumer(topic, group, "earliest", -1);
        int got[64], n = 0, failed_polls = 0;
        char errstr[EDXBUS_ERRSTR_SIZE];
        time_t deadline = time(NULL) + 60;
        while (n < 20 && time(NULL) < deadline) {
            struct edxbus_batch batch = {0};
            edxbus_err_t err = ops->poll(be, &batch, 16, 250, errstr, sizeof errstr);
            if (err != EDXBUS_OK) {
                ASSERT_TRUE(edxbus_err_is_retriable(err));
                ASSERT_CONTAINS(errstr, "kept for the next poll");
                failed_polls++;
                continue;
            }
            for (size_t i = 0; i < batch.n; i++) {
                if (batch.msgs[i].unusable != NULL)
                    TEST_FAIL_("HTTP %d made a record unusable: %s", statuses[s],
                               batch.msgs[i].unusable);
                ASSERT_TRUE(batch.msgs[i].value_schema != NULL);
                if (n < 64)
                    got[n] = event_number(&batch.msgs[i]);
                n++;
                ASSERT_EQ_INT(ops->ack(be, &batch.msgs[i], errstr, sizeof errstr), EDXBUS_OK);
            }
        }
        ASSERT_TRUE(failed_polls > 0);
        ASSERT_EQ_INT(n, 20);
        expect_each_once(got, n, 0, 20);
        pthread_mutex_lock(&k.registry.lock);
        ASSERT_EQ_INT(k.registry.fail_next, 0); /* every injected failure was met */
        pthread_mutex_unlock(&k.registry.lock);
        ops->consumer_close(be);
    }
}

TEST(test_unknown_schema_id_is_unusable_with_its_bytes)
{
    const char *topic = "o-unknown";
    test_kafka_topic(&k, topic, 1);
    test_kafka_topic(&k, "o-unknown-dlq", 1);
    /* 0x00, id 9999, then an Avro string "v1": a schema id the registry never gave. */
    static const unsigned char raw[] = {0x00, 0x00, 0x00, 0x27, 0x0f, 0x04, 'v', '1'};
    rd_kafka_t *rp = test_kafka_raw_producer(&k);
    rd_kafka_headers_t *hdrs = rd_kafka_headers_new(2);
    rd_kafka_header_add(hdrs, "ce_id", -1, "ev-1", -1);
    rd_kafka_header_add(hdrs, "ce_type", -1, type, -1);
    ASSERT_EQ_INT(rd_kafka_producev(rp, RD_KAFKA_V_TOPIC(topic),
                                    RD_KAFKA_V_VALUE((void *)raw, sizeof raw),
                                    RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_END),
                  RD_KAFKA_RESP_ERR_NO_ERROR);
    ASSERT_EQ_INT(rd_kafka_flush(rp, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_destroy(rp);
    void *be = open_consumer(topic, "g-unknown", "earliest", -1);
    char errstr[EDXBUS_ERRSTR_SIZE];
    struct edxbus_batch batch = {0};
    time_t deadline = time(NULL) + 60;
    while (batch.n == 0 && time(NULL) < deadline)
        ASSERT_EQ_INT(ops->poll(be, &batch, 16, 250, errstr, sizeof errstr), EDXBUS_OK);
    ASSERT_EQ_INT(batch.n, 1);
    const struct edxbus_msg *m = &batch.msgs[0];
    ASSERT_TRUE(m->unusable != NULL);
    ASSERT_CONTAINS(m->unusable, "9999");
    ASSERT_EQ_INT(m->value_len, sizeof raw);
    ASSERT_TRUE(memcmp(m->value, raw, sizeof raw) == 0);
    ASSERT_TRUE(m->value_schema == NULL);
    /* Produced again as it is (what a dead letter does): the same bytes, framing included. */
    void *prod = open_producer();
    struct edxbus_msg dl = {.topic = "o-unknown-dlq", .value = m->value,
                            .value_len = m->value_len, .metadata = m->metadata};
    ASSERT_EQ_INT(ops->produce(prod, &dl, NULL, NULL, errstr, sizeof errstr), EDXBUS_OK);
    ops->producer_close(prod);
    ops->consumer_close(be);
    rd_kafka_t *rr = test_kafka_raw_reader(&k, "o-unknown-dlq", 1);
    rd_kafka_message_t *rkm = test_kafka_raw_next(rr, 10000);
    ASSERT_TRUE(rkm != NULL && rkm->err == RD_KAFKA_RESP_ERR_NO_ERROR);
    ASSERT_EQ_INT(rkm->len, sizeof raw);
    ASSERT_TRUE(memcmp(rkm->payload, raw, sizeof raw) == 0);
    rd_kafka_message_destroy(rkm);
    rd_kafka_destroy(rr);
}

int main(void)
{
    test_kafka_start(&k, 1);
    RUN(test_registry_errors_keep_the_records);
    RUN(test_unknown_schema_id_is_unusable_with_its_bytes);
    test_kafka_stop(&k);
    return test_report();
}
