/* bench/bench_kafka_raw.h — the Kafka ceiling: raw librdkafka producing and consuming the same
 * records the backend writes, shared by bench_kafka and bench_e2e_kafka. Header-only.
 *
 * Produce: rd_kafka_producev() of a vector row's framed key and value and its ten headers, with
 * acks=all and idempotence (as the backend sets them), then flush. Consume: a group member
 * subscribed from the earliest record, reading each record's ce_type header, timed from the
 * first record (the group join is left out, as the edxbus side leaves it out).
 */
#ifndef EDXBUS_BENCH_KAFKA_RAW_H
#define EDXBUS_BENCH_KAFKA_RAW_H

#include "../tests/integration/kafka/kafka_harness.h"
#include "bench_util.h"

static long bench_kafka_delivered;

static inline void bench_kafka_raw_dr(rd_kafka_t *rk, const rd_kafka_message_t *m, void *o)
{
    (void)rk, (void)o;
    if (m->err == 0)
        bench_kafka_delivered++;
}

/* Produce @p n copies of vector @p row to @p topic: events/s. */
static inline double bench_kafka_raw_produce(const char *bootstraps, const char *topic,
                                             const json_t *row, long n)
{
    char errstr[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", bootstraps, errstr, sizeof errstr);
    rd_kafka_conf_set(conf, "acks", "all", errstr, sizeof errstr);
    rd_kafka_conf_set(conf, "enable.idempotence", "true", errstr, sizeof errstr);
    rd_kafka_conf_set_dr_msg_cb(conf, bench_kafka_raw_dr);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (rk == NULL)
        die("raw producer: %s", errstr);
    size_t klen, vlen;
    unsigned char *key = test_unhex(test_row_str(row, "key_framed_hex"), &klen);
    unsigned char *value = test_unhex(test_row_str(row, "value_framed_hex"), &vlen);
    const json_t *hdrs = json_object_get(row, "headers");
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    const struct rd_kafka_metadata *md;
    if (rd_kafka_metadata(rk, 0, rkt, &md, 5000) == 0)
        rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    bench_kafka_delivered = 0;
    double t0 = now_s();
    for (long i = 0; i < n; i++) {
        rd_kafka_headers_t *h = rd_kafka_headers_new(10);
        for (size_t j = 0; j < json_array_size(hdrs); j++) {
            const json_t *pair = json_array_get(hdrs, j);
            const char *v = json_string_value(json_array_get(pair, 1));
            rd_kafka_header_add(h, json_string_value(json_array_get(pair, 0)), -1, v,
                                (ssize_t)strlen(v));
        }
        while (rd_kafka_producev(
                   rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                   RD_KAFKA_V_KEY(key, klen), RD_KAFKA_V_VALUE(value, vlen), RD_KAFKA_V_HEADERS(h),
                   RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
            rd_kafka_poll(rk, 10);
        rd_kafka_poll(rk, 0);
    }
    rd_kafka_flush(rk, 120000);
    double rate = (double)n / (now_s() - t0);
    if (bench_kafka_delivered != n)
        fprintf(stderr, "raw producer delivered %ld of %ld\n", bench_kafka_delivered, n);
    rd_kafka_destroy(rk);
    free(key);
    free(value);
    return rate;
}

/* Read @p n records of @p topic in a new group @p group: events/s from the first record. */
static inline double bench_kafka_raw_consume(const char *bootstraps, const char *topic,
                                             const char *group, long n)
{
    char errstr[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", bootstraps, errstr, sizeof errstr);
    rd_kafka_conf_set(conf, "group.id", group, errstr, sizeof errstr);
    rd_kafka_conf_set(conf, "auto.offset.reset", "earliest", errstr, sizeof errstr);
    rd_kafka_conf_set(conf, "enable.auto.commit", "false", errstr, sizeof errstr);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
    if (rk == NULL)
        die("raw consumer: %s", errstr);
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(sub, topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_subscribe(rk, sub);
    rd_kafka_topic_partition_list_destroy(sub);
    long got = 0;
    double t0 = 0, deadline = now_s() + 120;
    while (got < n && now_s() < deadline) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 200);
        if (m == NULL)
            continue;
        if (m->err == 0) {
            rd_kafka_headers_t *h;
            const void *v;
            size_t len;
            if (rd_kafka_message_headers(m, &h) == 0)
                rd_kafka_header_get_last(h, "ce_type", &v, &len);
            if (got++ == 0)
                t0 = now_s();
        }
        rd_kafka_message_destroy(m);
    }
    double t = now_s() - t0;
    if (got < 2)
        die("raw consumer read %ld of %ld", got, n);
    rd_kafka_commit(rk, NULL, 0);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return (double)(got - 1) / t;
}

#endif /* EDXBUS_BENCH_KAFKA_RAW_H */
