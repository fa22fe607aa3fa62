/* tests/integration/redis/test_redis_wire.c — byte-for-byte wire compatibility with
 * edx-event-bus-redis, against tests/vectors/redis.jsonl (entries the Python producer wrote).
 *
 * Producing: every row's metadata and event_data, produced synchronously and pipelined, must
 * give an entry with the same field names, order and bytes (read back with XRANGE). Consuming:
 * every row's raw fields, XADDed by hand as the Python producer would, must come back as the
 * same metadata text forms and value bytes. Then the reference's reading rules: empty or
 * missing metadata fields get consumer-side defaults; entries without event_data or type are
 * unusable and say which stream id.
 */
#include <jansson.h>
#include <unistd.h>

#include "backends/redis/redis_int.h"
#include "edxbus/backend.h"
#include "redis_server.h"
#include "test.h"

static struct test_redis server;
static json_t *rows; /* the vector rows */
static const struct edxbus_backend_ops *ops = &edxbus_backend_redis;

static const char *const meta_of_wire[7][2] = {
    {"type", "event_type"},
    {"id", "id"},
    {"source", "source"},
    {"time", "time"},
    {"minorversion", "minorversion"},
    {"sourcehost", "sourcehost"},
    {"sourcelib", "sourcelib"},
};

static json_t *load_rows(void)
{
    FILE *f = fopen(EDXBUS_TEST_DATA_DIR "/redis.jsonl", "r");
    if (f == NULL)
        return NULL;
    json_t *all = json_array();
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) > 0) {
        json_error_t jerr;
        json_t *row = json_loads(line, JSON_ALLOW_NUL, &jerr);
        if (row != NULL)
            json_array_append_new(all, row);
    }
    free(line);
    fclose(f);
    return all;
}

/* The row's metadata (from its field bytes) and value (event_data bytes; free() it). */
static unsigned char *row_message(const json_t *row, struct edxbus_metadata *md, size_t *len)
{
    char errstr[EDXBUS_ERRSTR_SIZE];
    memset(md, 0, sizeof *md);
    const json_t *fields = json_object_get(row, "fields");
    unsigned char *value = NULL;
    for (size_t i = 0; i < json_array_size(fields); i++) {
        const char *name = json_string_value(json_array_get(json_array_get(fields, i), 0));
        const char *hex = json_string_value(json_array_get(json_array_get(fields, i), 1));
        size_t n;
        unsigned char *bytes = test_unhex(hex, &n);
        if (strcmp(name, "event_data") == 0) {
            value = bytes;
            *len = n;
            continue;
        }
        for (int k = 0; k < 7; k++)
            if (strcmp(meta_of_wire[k][0], name) == 0 &&
                edxbus_metadata_set_field(md, meta_of_wire[k][1], (char *)bytes, n, errstr,
                                          sizeof errstr) != EDXBUS_OK)
                fprintf(stderr, "row field %s: %s\n", name, errstr);
        free(bytes);
    }
    return value;
}

/* Compare the entry at @p id of @p stream to the row, field by field, in order. */
static void check_entry(redisContext *c, const char *stream, const char *id, const json_t *row)
{
    redisReply *reply = redisCommand(c, "XRANGE %s %s %s", stream, id, id);
    ASSERT_TRUE(reply != NULL && reply->type == REDIS_REPLY_ARRAY && reply->elements == 1);
    const redisReply *fields = reply->element[0]->element[1];
    const json_t *want = json_object_get(row, "fields");
    ASSERT_EQ_INT(fields->elements, 2 * json_array_size(want));
    for (size_t i = 0; i < json_array_size(want); i++) {
        const json_t *pair = json_array_get(want, i);
        ASSERT_EQ_STR(fields->element[2 * i]->str, json_string_value(json_array_get(pair, 0)));
        char *hex = test_hex(fields->element[2 * i + 1]->str, fields->element[2 * i + 1]->len);
        const char *want_hex = json_string_value(json_array_get(pair, 1));
        if (strcmp(hex, want_hex) != 0) {
            fprintf(stderr, "row %s/%s field %s:\n got  %s\n want %s\n",
                    json_string_value(json_object_get(row, "event_type")),
                    json_string_value(json_object_get(row, "case")), fields->element[2 * i]->str,
                    hex, want_hex);
            free(hex);
            freeReplyObject(reply);
            TEST_FAIL_("field bytes differ");
        }
        free(hex);
    }
    freeReplyObject(reply);
}

static void *open_producer(void)
{
    char errstr[EDXBUS_ERRSTR_SIZE];
    edxbus_conf_t *conf = test_redis_conf(server.url);
    void *be = NULL;
    edxbus_err_t err = ops->producer_open(conf, &be, errstr, sizeof errstr);
    edxbus_conf_destroy(conf); /* the backend keeps what it needs */
    if (err != EDXBUS_OK)
        fprintf(stderr, "producer_open: %s\n", errstr);
    return be;
}

/* The XADD prefix is what MONITOR saw the Python producer send. */
TEST(test_xadd_args_match_monitor)
{
    const json_t *row = json_array_get(rows, 0);
    struct edxbus_metadata md;
    size_t len;
    unsigned char *value = row_message(row, &md, &len);
    struct edxbus_msg msg = {.topic = json_string_value(json_object_get(row, "stream")),
                             .value = value,
                             .value_len = len,
                             .metadata = &md};
    struct redis_wire_cmd cmd;
    edxbus__redis_wire_cmd_init(&cmd);
    char errstr[EDXBUS_ERRSTR_SIZE];
    ASSERT_EQ_INT(edxbus__redis_wire_xadd(&cmd, &msg, 10000, errstr, sizeof errstr), EDXBUS_OK);
    char prefix[512] = "";
    size_t off = 0;
    for (int i = 0; i < 6; i++)
        off += (size_t)snprintf(prefix + off, sizeof prefix - off, "%s\"%.*s\"", i ? " " : "",
                                (int)cmd.lens[i], cmd.argv[i]);
    ASSERT_EQ_STR(prefix, json_string_value(json_object_get(row, "xadd_args_from_monitor")));
    ASSERT_EQ_INT(cmd.argc, 6 + 16);
    edxbus__redis_wire_cmd_fini(&cmd);
    free(value);
}

/* The RESP the backend writes itself (redis_wire.c) is byte for byte hiredis's
 * redisFormatCommandArgv(): lengths at every digit boundary (0, 9, 10, 99, 100, 1000, 65537),
 * binary arguments holding \r\n and NUL, argument counts across 9/10 and 99/100, and C strings
 * without lengths. */
TEST(test_resp_matches_hiredis_formatter)
{
    static char big[65537 + 1000]; /* argument i starts at big + i */
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (char)(i * 131 % 256);
    static const size_t sizes[] = {0, 1, 9, 10, 11, 99, 100, 101, 999, 1000, 65536, 65537};
    static const int counts[] = {1, 2, 9, 10, 11, 99, 100, 101, 1000};
    const char *argv[1000];
    size_t lens[1000];
    for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++) {
        int argc = counts[c];
        for (int i = 0; i < argc; i++) {
            argv[i] = i % 3 == 0 ? "a\r\nb\0c" : big + i;
            lens[i] = i % 3 == 0 ? 7 : sizes[(size_t)i % (sizeof sizes / sizeof sizes[0])];
        }
        char *want = NULL;
        long long want_len = redisFormatCommandArgv(&want, argc, argv, lens);
        ASSERT_TRUE(want_len > 0);
        size_t size = edxbus__redis_resp_size(argc, argv, lens);
        ASSERT_EQ_INT((long long)size, want_len);
        char *got = malloc(size);
        ASSERT_TRUE(got != NULL);
        ASSERT_EQ_INT((long long)edxbus__redis_resp_write(got, argc, argv, lens), want_len);
        if (memcmp(got, want, size) != 0)
            TEST_FAIL_("RESP of %d arguments differs from redisFormatCommandArgv", argc);
        free(got);
        redisFreeCommand(want);
    }
    /* Without lengths: C strings (the handshake's commands). */
    const char *words[] = {"AUTH", "user", "", "p\xc3\xa4ss w\r\nord"};
    char *want = NULL;
    long long want_len = redisFormatCommandArgv(&want, 4, words, NULL);
    char got[128];
    ASSERT_EQ_INT((long long)edxbus__redis_resp_size(4, words, NULL), want_len);
    ASSERT_EQ_INT((long long)edxbus__redis_resp_write(got, 4, words, NULL), want_len);
    ASSERT_TRUE(memcmp(got, want, (size_t)want_len) == 0);
    redisFreeCommand(want);
}

TEST(test_every_row_produced_sync_matches_reference_bytes)
{
    void *be = open_producer();
    ASSERT_TRUE(be != NULL);
    redisContext *c = test_redis_connect(&server);
    char errstr[EDXBUS_ERRSTR_SIZE];
    for (size_t i = 0; i < json_array_size(rows); i++) {
        const json_t *row = json_array_get(rows, i);
        struct edxbus_metadata md;
        size_t len;
        unsigned char *value = row_message(row, &md, &len);
        struct edxbus_msg msg = {
            .topic = "vectors-sync", .value = value, .value_len = len, .metadata = &md};
        edxbus_err_t err = ops->produce(be, &msg, NULL, NULL, errstr, sizeof errstr);
        free(value);
        if (err != EDXBUS_OK)
            TEST_FAIL_("produce row %zu: %s", i, errstr);
        redisReply *last = redisCommand(c, "XREVRANGE vectors-sync + - COUNT 1");
        ASSERT_TRUE(last != NULL && last->elements == 1);
        char id[64];
        snprintf(id, sizeof id, "%s", last->element[0]->element[0]->str);
        freeReplyObject(last);
        check_entry(c, "vectors-sync", id, row);
    }
    redisFree(c);
    ops->producer_close(be);
}

struct reports {
    size_t n;
    char positions[256][64];
    int failures;
};

static void on_delivery(void *opaque, const struct edxbus_msg *msg, edxbus_err_t err,
                        const char *errstr, const char *position)
{
    struct reports *r = opaque;
    if (err != EDXBUS_OK || position == NULL) {
        fprintf(stderr, "delivery failed: %s\n", errstr ? errstr : "(no text)");
        r->failures++;
    } else if (r->n < 256) {
        snprintf(r->positions[r->n], sizeof r->positions[0], "%s", position);
    }
    r->n++;
}

TEST(test_every_row_produced_pipelined_matches_reference_bytes)
{
    void *be = open_producer();
    ASSERT_TRUE(be != NULL);
    static struct reports r;
    memset(&r, 0, sizeof r);
    char errstr[EDXBUS_ERRSTR_SIZE];
    size_t n = json_array_size(rows);
    for (size_t i = 0; i < n; i++) {
        struct edxbus_metadata md;
        size_t len;
        unsigned char *value = row_message(json_array_get(rows, i), &md, &len);
        struct edxbus_msg msg = {
            .topic = "vectors-async", .value = value, .value_len = len, .metadata = &md};
        edxbus_err_t err = ops->produce(be, &msg, on_delivery, &r, errstr, sizeof errstr);
        free(value); /* the backend copied it */
        ASSERT_EQ_INT(err, EDXBUS_OK);
    }
    ASSERT_EQ_INT(ops->flush(be, 10000, errstr, sizeof errstr), EDXBUS_OK);
    ASSERT_EQ_INT(r.n, n);
    ASSERT_EQ_INT(r.failures, 0);
    redisContext *c = test_redis_connect(&server);
    for (size_t i = 0; i < n; i++)
        check_entry(c, "vectors-async", r.positions[i], json_array_get(rows, i));
    redisFree(c);
    ops->producer_close(be);
}

/* XADD the row's fields exactly as the reference stored them. */
static void xadd_raw(redisContext *c, const char *stream, const json_t *fields)
{
    const char *argv[64];
    size_t lens[64];
    unsigned char *owned[64];
    int argc = 0, nowned = 0;
    argv[argc] = "XADD", lens[argc++] = 4;
    argv[argc] = stream, lens[argc++] = strlen(stream);
    argv[argc] = "*", lens[argc++] = 1;
    for (size_t i = 0; i < json_array_size(fields) && argc < 62; i++) {
        const json_t *pair = json_array_get(fields, i);
        const char *name = json_string_value(json_array_get(pair, 0));
        argv[argc] = name, lens[argc++] = strlen(name);
        size_t n;
        owned[nowned] = test_unhex(json_string_value(json_array_get(pair, 1)), &n);
        argv[argc] = (const char *)owned[nowned++], lens[argc++] = n;
    }
    redisReply *reply = redisCommandArgv(c, argc, argv, lens);
    freeReplyObject(reply);
    for (int i = 0; i < nowned; i++)
        free(owned[i]);
}

static void *open_consumer(const char *stream, const char *group, const char *start)
{
    char errstr[EDXBUS_ERRSTR_SIZE];
    edxbus_conf_t *conf = test_redis_conf(server.url);
    struct edxbus_consumer_opts opts = {.topic = stream,
                                        .group = group,
                                        .consumer_name = "c1",
                                        .start = start,
                                        .start_time_ms = -1};
    void *be = NULL;
    if (ops->consumer_open(conf, &opts, &be, errstr, sizeof errstr) != EDXBUS_OK)
        fprintf(stderr, "consumer_open: %s\n", errstr);
    edxbus_conf_destroy(conf);
    return be;
}

TEST(test_every_reference_entry_consumes_to_same_metadata_and_bytes)
{
    redisContext *c = test_redis_connect(&server);
    size_t n = json_array_size(rows);
    for (size_t i = 0; i < n; i++)
        xadd_raw(c, "vectors-consume", json_object_get(json_array_get(rows, i), "fields"));
    redisFree(c);
    void *be = open_consumer("vectors-consume", "g", "earliest");
    ASSERT_TRUE(be != NULL);
    char errstr[EDXBUS_ERRSTR_SIZE];
    size_t seen = 0;
    struct edxbus_buf text = EDXBUS_BUF_INIT;
    while (seen < n) {
        struct edxbus_batch batch;
        ASSERT_EQ_INT(ops->poll(be, &batch, 50, 1000, errstr, sizeof errstr), EDXBUS_OK);
        ASSERT_TRUE(batch.n > 0);
        for (size_t k = 0; k < batch.n; k++, seen++) {
            const struct edxbus_msg *msg = &batch.msgs[k];
            const json_t *fields = json_object_get(json_array_get(rows, seen), "fields");
            ASSERT_TRUE(msg->unusable == NULL);
            ASSERT_EQ_INT(msg->deliveries, 1);
            ASSERT_EQ_STR(msg->topic, "vectors-consume");
            for (int f = 0; f < 7; f++) {
                edxbus_buf_reset(&text);
                ASSERT_EQ_INT(edxbus_metadata_field_text(msg->metadata, meta_of_wire[f][1], &text),
                              EDXBUS_OK);
                char *hex = test_hex(text.data, text.len);
                const json_t *pair = json_array_get(fields, (size_t)f);
                ASSERT_EQ_STR(json_string_value(json_array_get(pair, 0)), meta_of_wire[f][0]);
                ASSERT_EQ_STR(hex, json_string_value(json_array_get(pair, 1)));
                free(hex);
            }
            char *hex = test_hex(msg->value, msg->value_len);
            ASSERT_EQ_STR(hex, json_string_value(json_array_get(json_array_get(fields, 7), 1)));
            free(hex);
            ASSERT_EQ_INT(msg->nheaders, 0);
            ASSERT_EQ_INT(ops->ack(be, msg, errstr, sizeof errstr), EDXBUS_OK);
        }
    }
    edxbus_buf_fini(&text);
    ops->consumer_close(be);
    redisReply *pending = test_redis_cmd(&server, "XPENDING vectors-consume g");
    ASSERT_TRUE(pending != NULL && pending->type == REDIS_REPLY_ARRAY);
    ASSERT_EQ_INT(pending->element[0]->integer, 0); /* everything acknowledged */
    freeReplyObject(pending);
}

/* Headers (dead-letter details) go after event_data and come back as headers. */
TEST(test_headers_follow_event_data_and_round_trip)
{
    void *prod = open_producer();
    ASSERT_TRUE(prod != NULL);
    void *cons = open_consumer("dlq-headers", "g", "earliest");
    ASSERT_TRUE(cons != NULL);
    struct edxbus_metadata md;
    size_t len;
    unsigned char *value = row_message(json_array_get(rows, 2), &md, &len);
    struct edxbus_header headers[2] = {{"error", (const uint8_t *)"boom", 4},
                                       {"attempts", (const uint8_t *)"4", 1}};
    struct edxbus_msg msg = {.topic = "dlq-headers",
                             .value = value,
                             .value_len = len,
                             .metadata = &md,
                             .headers = headers,
                             .nheaders = 2};
    char errstr[EDXBUS_ERRSTR_SIZE];
    ASSERT_EQ_INT(ops->produce(prod, &msg, NULL, NULL, errstr, sizeof errstr), EDXBUS_OK);
    redisReply *r = test_redis_cmd(&server, "XRANGE dlq-headers - +");
    ASSERT_TRUE(r != NULL && r->elements == 1);
    const redisReply *f = r->element[0]->element[1];
    ASSERT_EQ_INT(f->elements, 20);
    ASSERT_EQ_STR(f->element[14]->str, "event_data");
    ASSERT_EQ_STR(f->element[16]->str, "error");
    ASSERT_EQ_STR(f->element[19]->str, "4");
    freeReplyObject(r);
    struct edxbus_batch batch;
    ASSERT_EQ_INT(ops->poll(cons, &batch, 10, 1000, errstr, sizeof errstr), EDXBUS_OK);
    ASSERT_EQ_INT(batch.n, 1);
    ASSERT_EQ_INT(batch.msgs[0].nheaders, 2);
    ASSERT_EQ_STR(batch.msgs[0].headers[0].name, "error");
    ASSERT_EQ_INT(batch.msgs[0].headers[0].len, 4);
    ASSERT_TRUE(memcmp(batch.msgs[0].headers[0].value, "boom", 4) == 0);
    ASSERT_EQ_INT(batch.msgs[0].value_len, len);
    ASSERT_TRUE(memcmp(batch.msgs[0].value, value, len) == 0);
    free(value);
    ops->consumer_close(cons);
    ops->producer_close(prod);
}

/* The reference's rules: missing or empty fields get consumer-side defaults; entries without
 * event_data or type are unusable, naming the stream id. */
TEST(test_missing_fields_defaults_and_garbage_entries)
{
    void *cons = open_consumer("garbage", "g", "earliest");
    ASSERT_TRUE(cons != NULL);
    redisContext *c = test_redis_connect(&server);
    freeReplyObject(redisCommand(c, "XADD garbage * type t.v1 id abc"));      /* no data */
    freeReplyObject(redisCommand(c, "XADD garbage * id abc event_data xyz")); /* no type */
    freeReplyObject(redisCommand(c, "XADD garbage * type t.v1 id %s source %s event_data xyz", "",
                                 "")); /* empty id/source: defaults */
    freeReplyObject(redisCommand(c, "XADD garbage * type t.v1 time yesterday event_data x"));
    redisFree(c);
    char errstr[EDXBUS_ERRSTR_SIZE];
    struct edxbus_batch batch;
    ASSERT_EQ_INT(ops->poll(cons, &batch, 10, 1000, errstr, sizeof errstr), EDXBUS_OK);
    ASSERT_EQ_INT(batch.n, 4);
    ASSERT_TRUE(batch.msgs[0].unusable != NULL);
    ASSERT_CONTAINS(batch.msgs[0].unusable, "event_data");
    ASSERT_CONTAINS(batch.msgs[0].unusable, batch.msgs[0].position);
    ASSERT_TRUE(batch.msgs[1].unusable != NULL);
    ASSERT_CONTAINS(batch.msgs[1].unusable, "type");
    ASSERT_CONTAINS(batch.msgs[1].unusable, batch.msgs[1].position);
    const struct edxbus_msg *d = &batch.msgs[2];
    ASSERT_TRUE(d->unusable == NULL);
    ASSERT_EQ_STR(d->metadata->event_type, "t.v1");
    ASSERT_EQ_INT(strlen(d->metadata->id), 36); /* a fresh uuid1 */
    ASSERT_EQ_INT(d->metadata->id[14], '1');
    ASSERT_CONTAINS(d->metadata->source, "openedx/");
    char host[256] = "";
    gethostname(host, sizeof host);
    ASSERT_EQ_STR(d->metadata->sourcehost, host);
    ASSERT_TRUE(d->metadata->time_us > 0);
    ASSERT_EQ_INT(d->value_len, 3);
    ASSERT_TRUE(batch.msgs[3].unusable != NULL); /* a time the metadata rejects */
    ASSERT_CONTAINS(batch.msgs[3].unusable, "time");
    for (size_t i = 0; i < batch.n; i++)
        ASSERT_EQ_INT(ops->ack(cons, &batch.msgs[i], errstr, sizeof errstr), EDXBUS_OK);
    ops->consumer_close(cons);
}

int main(void)
{
    test_redis_require("integration/redis/test_redis_wire");
    rows = load_rows();
    if (rows == NULL || json_array_size(rows) != 216) {
        fprintf(stderr, "cannot read %s/redis.jsonl\n", EDXBUS_TEST_DATA_DIR);
        return 1;
    }
    if (!test_redis_start(&server, NULL)) {
        fprintf(stderr, "cannot start redis-server\n");
        return 1;
    }
    RUN(test_xadd_args_match_monitor);
    RUN(test_resp_matches_hiredis_formatter);
    RUN(test_every_row_produced_sync_matches_reference_bytes);
    RUN(test_every_row_produced_pipelined_matches_reference_bytes);
    RUN(test_every_reference_entry_consumes_to_same_metadata_and_bytes);
    RUN(test_headers_follow_event_data_and_round_trip);
    RUN(test_missing_fields_defaults_and_garbage_entries);
    test_redis_stop(&server);
    json_decref(rows);
    return test_report();
}
