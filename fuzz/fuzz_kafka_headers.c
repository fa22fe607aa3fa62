/* fuzz/fuzz_kafka_headers.c — libFuzzer target for the Kafka record reader
 * (src/backends/kafka/kafka_wire.c, edxbus__kafka_wire_parse): the CloudEvents headers any
 * producer wrote turned into metadata by the reference's rules, and the Confluent framing
 * (0x00 + 4-byte schema id) stripped from the key and the value.
 *
 * The reader takes a real rd_kafka_message_t (it asks librdkafka for the headers, the topic
 * and the timestamp), which only librdkafka can make. So each input is produced, with
 * RD_KAFKA_MSG_F_COPY and its headers, to one broker-less producer made on the first call,
 * purged from the queue at once, and read in the delivery report, whose message carries the
 * value, key and headers exactly as a consumed record does.
 *
 * Input: one flag byte, then elements, each a tag byte, a 2-byte big-endian length and that
 * many bytes: the value, the key, then header name / value pairs (a value whose tag is odd is
 * added as NULL). Flag bits: 1: no value (a tombstone); 2: no key.
 * Invariants checked (abort on violation): the call returns EDXBUS_OK; an unusable record has
 * a reason that is one terminated line in slot.why; a usable one has a framed value (the
 * schema id from bytes 1-4, the body the bytes after 5) and metadata that writes to JSON; a
 * framed key loses exactly its 5 bytes. ASan and LeakSanitizer check the rest.
 *
 * Seed corpus: fuzz/corpus/kafka_headers/ (the headers and framed values of rows of
 * tests/vectors/kafka.jsonl, and duplicated, missing ce_id / ce_type and bad ce_time headers).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backends/kafka/kafka_int.h"
#include "edxbus/buf.h"
#include "edxbus/metadata.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_HEADERS 32

static rd_kafka_t *rk;
static bool reported;

static void quiet_log(const rd_kafka_t *r, int level, const char *fac, const char *buf)
{
    (void)r;
    (void)level;
    (void)fac;
    (void)buf;
}

static int64_t be32(const uint8_t *p)
{
    return (int64_t)((uint32_t)p[1] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 8 | p[4]);
}

static void check_frame(const void *raw, size_t raw_len, const uint8_t *body, size_t body_len,
                        int64_t id)
{
    const uint8_t *p = raw;
    if (id >= 0) {
        if (raw_len < KAFKA_FRAME_LEN || p[0] != 0 || id != be32(p) ||
            body != p + KAFKA_FRAME_LEN || body_len != raw_len - KAFKA_FRAME_LEN)
            abort(); /* the framing strip is exactly 5 bytes of a framed body */
    } else if (id != -1 || body != p || body_len != raw_len) {
        abort(); /* unframed bodies are passed on whole */
    }
}

/* The delivery report: the message has the input's value, key and headers. */
static void on_report(rd_kafka_t *r, const rd_kafka_message_t *rkm, void *opaque)
{
    (void)r;
    (void)opaque;
    reported = true;
    struct edxbus_msg msg;
    struct edxbus_slot slot;
    int64_t key_id, value_id;
    memset(&slot, 0, sizeof slot);
    memset(slot.why, 'x', sizeof slot.why);
    if (edxbus__kafka_wire_parse(rkm, "fuzz-service", &msg, &slot, &key_id, &value_id) != EDXBUS_OK)
        abort();
    check_frame(rkm->key, rkm->key_len, msg.key, msg.key_len, key_id);
    check_frame(rkm->payload, rkm->len, msg.value, msg.value_len, value_id);
    if (msg.unusable != NULL) {
        if (msg.unusable != slot.why || memchr(slot.why, '\0', sizeof slot.why) == NULL ||
            strchr(slot.why, '\n') != NULL || slot.why[0] == '\0')
            abort(); /* an unusable record says why, on one line */
    } else {
        struct edxbus_buf json = EDXBUS_BUF_INIT;
        if (value_id < 0 || rkm->payload == NULL || msg.metadata == NULL ||
            edxbus_metadata_to_json(msg.metadata, &json) != EDXBUS_OK)
            abort();
        edxbus_buf_fini(&json);
    }
    for (size_t h = 0; h < msg.nheaders; h++)
        if (msg.headers[h].name == NULL || msg.headers[h].value == NULL)
            abort();
    free(slot.headers);
    edxbus_buf_fini(&slot.data);
}

static bool setup(void)
{
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set_log_cb(conf, quiet_log);
    rd_kafka_conf_set_dr_msg_cb(conf, on_report);
    if (rd_kafka_conf_set(conf, "client.id", "fuzz", errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
        rd_kafka_conf_destroy(conf);
        return false;
    }
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (rk == NULL) {
        rd_kafka_conf_destroy(conf);
        return false;
    }
    return true;
}

/* The next element of the input at *pos: its tag, bytes and length. False: none left. */
static bool next(const uint8_t *data, size_t size, size_t *pos, uint8_t *tag, const uint8_t **p,
                 size_t *len)
{
    if (*pos + 3 > size)
        return false;
    *tag = data[*pos];
    *len = (size_t)data[*pos + 1] << 8 | data[*pos + 2];
    *pos += 3;
    if (*len > size - *pos)
        *len = size - *pos;
    *p = data + *pos;
    *pos += *len;
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (rk == NULL && !setup())
        abort();
    if (size < 1)
        return 0;
    uint8_t flags = data[0], tag;
    size_t pos = 1, len = 0, key_len = 0;
    const uint8_t *p = NULL, *value = NULL, *key = NULL;
    if (next(data, size, &pos, &tag, &p, &len) && !(flags & 1))
        value = p;
    size_t value_len = value ? len : 0;
    if (next(data, size, &pos, &tag, &p, &key_len) && !(flags & 2))
        key = p;
    if (key == NULL)
        key_len = 0;

    rd_kafka_headers_t *hdrs = rd_kafka_headers_new(8);
    const uint8_t *name;
    size_t name_len;
    for (int n = 0; n < MAX_HEADERS && next(data, size, &pos, &tag, &name, &name_len); n++) {
        if (!next(data, size, &pos, &tag, &p, &len))
            break;
        rd_kafka_header_add(hdrs, (const char *)name, (ssize_t)name_len, (tag & 1) ? NULL : p,
                            (ssize_t)len);
    }

    reported = false;
    /* An empty value or key still has a non-NULL pointer: only a missing one is a tombstone. */
    rd_kafka_resp_err_t err = rd_kafka_producev(
        rk, RD_KAFKA_V_TOPIC("fuzz-topic"), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_VALUE(value_len || value == NULL ? (void *)value : (void *)"", value_len),
        RD_KAFKA_V_KEY(key_len || key == NULL ? (const void *)key : "", key_len),
        RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_END);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        rd_kafka_headers_destroy(hdrs); /* the message owns them only on success */
        return 0;
    }
    rd_kafka_purge(rk, RD_KAFKA_PURGE_F_QUEUE);
    for (int i = 0; i < 1000 && !reported; i++)
        rd_kafka_poll(rk, i == 0 ? 0 : 10);
    if (!reported)
        abort(); /* the purged message's report never came */
    return 0;
}
