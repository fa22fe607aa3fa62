/* src/backends/kafka/kafka_wire.c — one edxbus_msg <-> one Kafka record (WIRE.md §4).
 *
 * Writing: key and value are each 0x00 + the 4-byte big-endian registry id + the Avro body;
 * the ten CloudEvents headers of the metadata (the toolkit's edxbus_ce_write(), shared with
 * every header-carrying broker), then the message's extra headers (dead-letter details).
 * Checked byte for byte against tests/vectors/kafka.jsonl.
 *
 * Reading gives every header to the toolkit's reader (edxbus_ce_read_header/_finish: the
 * reference's rules), keeps the others as extra headers, and requires the value to be
 * Confluent-framed; the caller fetches the writer schema by its id.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafka_int.h"

/* ------------------------------------------------------------------------------------------ */
/* Subjects and framing */

char *edxbus__kafka_subject(const char *topic, const char *schema, bool is_key)
{
    json_t *root = json_loads(schema, JSON_DECODE_ANY, NULL);
    const char *name = NULL, *ns = NULL;
    if (json_is_string(root)) {
        name = json_string_value(root); /* "string" */
    } else if (json_is_object(root)) {
        const json_t *type = json_object_get(root, "type");
        const char *t = json_string_value(type);
        bool named = t != NULL && (strcmp(t, "record") == 0 || strcmp(t, "enum") == 0 ||
                                   strcmp(t, "fixed") == 0);
        if (is_key && !named) {
            /* A key field definition {"name": "course_key", "type": "string"}: fastavro keeps
             * only the type, so the subject names the type. */
            name = t != NULL ? t : json_string_value(json_object_get(type, "name"));
        } else {
            name = json_string_value(json_object_get(root, "name"));
            ns = json_string_value(json_object_get(root, "namespace"));
        }
    }
    size_t n = strlen(topic) + 1 + (ns ? strlen(ns) + 1 : 0) + (name ? strlen(name) : 6) + 1;
    char *subject = malloc(n);
    if (subject != NULL) {
        if (name != NULL && ns != NULL && ns[0] != '\0' && strchr(name, '.') == NULL)
            snprintf(subject, n, "%s-%s.%s", topic, ns, name);
        else
            snprintf(subject, n, "%s-%s", topic, name ? name : "record");
    }
    json_decref(root);
    return subject;
}

edxbus_err_t edxbus__kafka_frame(struct edxbus_buf *out, uint32_t id, const uint8_t *body,
                                 size_t len)
{
    edxbus_buf_reset(out);
    if (edxbus_buf_reserve(out, KAFKA_FRAME_LEN + len) != EDXBUS_OK)
        return EDXBUS_ERR_NOMEM;
    uint8_t *p = out->data;
    p[0] = 0;
    p[1] = (uint8_t)(id >> 24);
    p[2] = (uint8_t)(id >> 16);
    p[3] = (uint8_t)(id >> 8);
    p[4] = (uint8_t)id;
    if (len > 0)
        memcpy(p + KAFKA_FRAME_LEN, body, len);
    out->len = KAFKA_FRAME_LEN + len;
    return EDXBUS_OK;
}

/* ------------------------------------------------------------------------------------------ */
/* Headers */

rd_kafka_headers_t *edxbus__kafka_headers(const struct edxbus_msg *msg,
                                          struct edxbus_ce_writer *ce, char *errstr,
                                          size_t errstr_size)
{
    char why[EDXBUS_ERRSTR_SIZE];
    if (edxbus_ce_write(ce, msg->metadata, why, sizeof why) != EDXBUS_OK) {
        edxbus_errf(errstr, errstr_size, "kafka: %s", why);
        return NULL;
    }
    rd_kafka_headers_t *hdrs = rd_kafka_headers_new(EDXBUS_CE_HEADERS + msg->nheaders);
    for (int i = 0; i < EDXBUS_CE_HEADERS; i++)
        rd_kafka_header_add(hdrs, ce->headers[i].name, -1, ce->headers[i].value,
                            (ssize_t)ce->headers[i].len);
    for (size_t i = 0; i < msg->nheaders; i++)
        rd_kafka_header_add(hdrs, msg->headers[i].name, -1,
                            msg->headers[i].value ? (const void *)msg->headers[i].value : "",
                            (ssize_t)msg->headers[i].len);
    return hdrs;
}

/* ------------------------------------------------------------------------------------------ */
/* Reading */

static void unusable(struct edxbus_msg *msg, struct edxbus_slot *slot, const char *detail)
{
    edxbus_slot_unusable(slot, msg, "kafka record %s of topic %.80s: %.250s", msg->position,
                         msg->topic, detail);
}

static int64_t frame_id(const uint8_t *p, size_t len)
{
    if (p == NULL || len < KAFKA_FRAME_LEN || p[0] != 0)
        return -1;
    return (int64_t)((uint32_t)p[1] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 8 | p[4]);
}

/* "partition:offset" into @p out (EDXBUS_POSITION_MAX bytes): once per record, where
 * snprintf was a tenth of the parse. Both are non-negative for a fetched record; anything else
 * takes the printf path. */
static void position_text(int32_t partition, int64_t offset, char *out)
{
    if (partition < 0 || offset < 0) {
        snprintf(out, EDXBUS_POSITION_MAX, "%" PRId32 ":%" PRId64, partition, offset);
        return;
    }
    char tmp[40], *end = tmp + sizeof tmp, *p = end;
    uint64_t v = (uint64_t)offset;
    do
        *--p = (char)('0' + v % 10);
    while ((v /= 10) > 0);
    *--p = ':';
    uint32_t u = (uint32_t)partition;
    do
        *--p = (char)('0' + u % 10);
    while ((u /= 10) > 0);
    memcpy(out, p, (size_t)(end - p));
    out[end - p] = '\0';
}

edxbus_err_t edxbus__kafka_wire_parse(const rd_kafka_message_t *rkm, const char *service_name,
                                      struct edxbus_msg *msg, struct edxbus_slot *slot,
                                      int64_t *key_id, int64_t *value_id)
{
    memset(msg, 0, sizeof *msg); /* slot->md: edxbus_ce_read_finish() clears it */
    msg->topic = rd_kafka_topic_name(rkm->rkt);
    msg->metadata = &slot->md;
    position_text(rkm->partition, rkm->offset, msg->position);
    msg->broker_time_ms = rd_kafka_message_timestamp(rkm, NULL);
    *key_id = frame_id(rkm->key, rkm->key_len);
    *value_id = frame_id(rkm->payload, rkm->len);
    if (*key_id >= 0) {
        msg->key = (const uint8_t *)rkm->key + KAFKA_FRAME_LEN;
        msg->key_len = rkm->key_len - KAFKA_FRAME_LEN;
    } else {
        msg->key = rkm->key;
        msg->key_len = rkm->key_len;
    }
    if (*value_id >= 0) {
        msg->value = (const uint8_t *)rkm->payload + KAFKA_FRAME_LEN;
        msg->value_len = rkm->len - KAFKA_FRAME_LEN;
    } else {
        msg->value = rkm->payload;
        msg->value_len = rkm->len;
    }

    /* Headers: the metadata ones (counted), the three fixed ones (ignored), the rest kept. */
    struct edxbus_ce_reader ce = EDXBUS_CE_READER_INIT;
    rd_kafka_headers_t *hdrs = NULL;
    if (rd_kafka_message_headers(rkm, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        const char *name;
        const void *value;
        size_t len;
        for (size_t idx = 0; rd_kafka_header_get_all(hdrs, idx, &name, &value, &len) ==
                             RD_KAFKA_RESP_ERR_NO_ERROR;
             idx++)
            if (!edxbus_ce_read_header(&ce, name, value, len) &&
                edxbus_slot_add_header(slot, msg, name, value, len) != EDXBUS_OK)
                return EDXBUS_ERR_NOMEM;
    }
    char why[EDXBUS_ERRSTR_SIZE];
    if (!edxbus_ce_read_finish(&ce, &slot->md, service_name, why, sizeof why)) {
        unusable(msg, slot, why);
        return EDXBUS_OK;
    }
    if (rkm->payload == NULL)
        unusable(msg, slot, "no value (a tombstone)");
    else if (*value_id < 0)
        unusable(msg, slot, "the value is not Confluent-framed (no 0x00 magic byte and schema id)");
    return EDXBUS_OK;
}

void edxbus__kafka_key_text(const uint8_t *key, size_t len, char *out, size_t size)
{
    if (key == NULL) {
        snprintf(out, size, "(none)");
        return;
    }
    /* An Avro long: the length of a string key, or the key itself. */
    uint64_t u = 0;
    size_t i = 0;
    for (int shift = 0; i < len && shift < 64; shift += 7) {
        u |= (uint64_t)(key[i] & 0x7f) << shift;
        if ((key[i++] & 0x80) == 0)
            break;
    }
    int64_t v = (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
    if (i > 0 && v >= 0 && (size_t)v == len - i) {
        snprintf(out, size, "%.*s", (int)(len - i), (const char *)key + i);
        return;
    }
    if (i == len && i > 0) {
        snprintf(out, size, "%" PRId64, v);
        return;
    }
    size_t o = 0;
    for (size_t k = 0; k < len && o + 3 < size; k++)
        o += (size_t)snprintf(out + o, size - o, "%02x", key[k]);
    if (o == 0 && size > 0)
        out[0] = '\0';
}
