/* bench/bench_kafka.c — the Kafka backend against raw librdkafka on the same mock cluster.
 *
 * Produce: N enrollment events through the backend (delivery callbacks, then flush) versus
 * rd_kafka_producev of the same framed key/value bytes and the same ten headers, both with
 * acks=all and idempotence. Consume: the same N records through the backend (group, poll
 * batches, ack each) versus rd_kafka_consumer_poll reading the headers. Prints a table and
 * `ratio <name> <value>` lines (edxbus / raw; target >= 0.70).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backends/kafka/kafka_int.h"
#include "bench_kafka_raw.h"

#define N 100000
static const struct edxbus_backend_ops *ops = &edxbus_backend_kafka;
static struct test_kafka k;

static long delivered;
static void on_report(void *o, const struct edxbus_msg *m, edxbus_err_t err, const char *e,
                      const char *p)
{
    (void)o, (void)m, (void)e, (void)p;
    if (err == EDXBUS_OK)
        delivered++;
}

static const json_t *enrollment_row(json_t *rows)
{
    for (size_t i = 0; i < json_array_size(rows); i++) {
        const json_t *r = json_array_get(rows, i);
        if (strcmp(test_row_str(r, "event_type"),
                   "org.openedx.learning.course.enrollment.created.v1") == 0 &&
            strcmp(test_row_str(r, "case"), "realistic") == 0)
            return r;
    }
    return json_array_get(rows, 0);
}

static double bench_produce_edxbus(const char *topic, const json_t *row)
{
    char errstr[EDXBUS_ERRSTR_SIZE];
    edxbus_conf_t *conf = test_kafka_conf(&k);
    void *be = NULL;
    if (ops->producer_open(conf, &be, errstr, sizeof errstr) != EDXBUS_OK) {
        fprintf(stderr, "%s\n", errstr);
        exit(1);
    }
    edxbus_conf_destroy(conf);
    struct edxbus_metadata md;
    test_row_metadata(row, &md);
    size_t klen, vlen;
    unsigned char *key = test_unhex(test_row_str(row, "key_body_hex"), &klen);
    unsigned char *value = test_unhex(test_row_str(row, "value_body_hex"), &vlen);
    struct edxbus_msg msg = {.topic = topic, .metadata = &md, .key = key, .key_len = klen,
                             .value = value, .value_len = vlen,
                             .key_schema = test_row_str(row, "key_schema"),
                             .value_schema = test_row_str(row, "value_schema")};
    ops->produce(be, &msg, NULL, NULL, errstr, sizeof errstr); /* warm: register, metadata */
    delivered = 0;
    double t0 = now_s();
    for (int i = 0; i < N; i++) {
        edxbus_err_t err;
        while ((err = ops->produce(be, &msg, on_report, NULL, errstr, sizeof errstr)) ==
               EDXBUS_ERR_QUEUE_FULL)
            ops->flush(be, 10, errstr, sizeof errstr);
    }
    ops->flush(be, 60000, errstr, sizeof errstr);
    double t = now_s() - t0;
    if (delivered != N)
        fprintf(stderr, "edxbus delivered %ld of %d\n", delivered, N);
    ops->producer_close(be);
    free(key);
    free(value);
    return N / t;
}

static double bench_consume_edxbus(const char *topic)
{
    char errstr[EDXBUS_ERRSTR_SIZE];
    edxbus_conf_t *conf = test_kafka_consumer_conf(&k);
    struct edxbus_consumer_opts opts = {.topic = topic, .group = "bench-edxbus",
                                        .start = "earliest", .start_time_ms = -1};
    void *be = NULL;
    if (ops->consumer_open(conf, &opts, &be, errstr, sizeof errstr) != EDXBUS_OK) {
        fprintf(stderr, "%s\n", errstr);
        exit(1);
    }
    edxbus_conf_destroy(conf);
    long got = 0;
    struct edxbus_batch batch;
    /* Wait for the first record (group join), then time the rest. */
    while (got == 0) {
        ops->poll(be, &batch, 64, 200, errstr, sizeof errstr);
        for (size_t i = 0; i < batch.n; i++)
            ops->ack(be, &batch.msgs[i], errstr, sizeof errstr);
        got += (long)batch.n;
    }
    long start = got;
    double t0 = now_s();
    while (got < N) {
        if (ops->poll(be, &batch, 64, 1000, errstr, sizeof errstr) != EDXBUS_OK)
            break;
        for (size_t i = 0; i < batch.n; i++)
            ops->ack(be, &batch.msgs[i], errstr, sizeof errstr);
        got += (long)batch.n;
        if (batch.n == 0)
            break;
    }
    double t = now_s() - t0;
    ops->consumer_close(be);
    return (double)(got - start) / t;
}

int main(void)
{
    bench_set_name("bench_kafka");
    json_t *rows = test_kafka_rows();
    if (rows == NULL) {
        fprintf(stderr, "cannot read kafka.jsonl\n");
        return 1;
    }
    const json_t *row = enrollment_row(rows);
    test_kafka_start(&k, 1);
    test_kafka_topic(&k, "bench-edxbus", 1);
    test_kafka_topic(&k, "bench-raw", 1);
    double pe = bench_produce_edxbus("bench-edxbus", row);
    double pr = bench_kafka_raw_produce(k.bootstraps, "bench-raw", row, N);
    double cr = bench_kafka_raw_consume(k.bootstraps, "bench-raw", "bench-raw", N);
    double ce = bench_consume_edxbus("bench-edxbus");
    printf("%-10s %14s %14s %8s\n", "kafka", "edxbus ev/s", "raw ev/s", "ratio");
    printf("%-10s %14.0f %14.0f %8.2f\n", "produce", pe, pr, pe / pr);
    printf("%-10s %14.0f %14.0f %8.2f\n", "consume", ce, cr, ce / cr);
    printf("ratio kafka_produce %.2f\n", pe / pr);
    printf("ratio kafka_consume %.2f\n", ce / cr);
    test_kafka_stop(&k);
    json_decref(rows);
    return 0;
}
