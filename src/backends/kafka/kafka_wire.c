/* src/backends/kafka/kafka_wire.c — one edxbus_msg <-> one Kafka record (WIRE.md §4).
 *
 * Writing: key and value are each 0x00 + the 4-byte big-endian registry id + the Avro body;
 * the ten headers are ce_specversion=1.0, content-type=application/avro,
 * ce_datacontenttype=application/avro, then ce_type, ce_id, ce_source, ce_time,
 * ce_minorversion, sourcehost, sourcelib as the metadata's text forms, in that order, then the
 * message's extra headers (dead-letter details). Checked byte for byte against
 * tests/vectors/kafka.jsonl.
 *
 * Reading follows the reference's _get_metadata_from_headers: ce_type must appear exactly once
 * and ce_id at least once; any metadata header present more than once makes the record
 * unusable; a missing one takes EventsMetadata's default (made on the consumer); an empty value
 * is kept as it is (and is unusable only when the field cannot be empty, e.g. a time). The
 * value must be Confluent-framed; the caller fetches the writer schema by its id.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafka_int.h"

/* Wire header name -> EventsMetadata field name, in wire order (after the three fixed). */
#define KAFKA_META_HEADERS 7
static const char *const header_names[KAFKA_META_HEADERS] = {
    "ce_type", "ce_id", "ce_source", "ce_time", "ce_minorversion", "sourcehost", "sourcelib",
};
static const char *const meta_names[KAFKA_META_HEADERS] = {
    "event_type", "id", "source", "time", "minorversion", "sourcehost", "sourcelib",
};

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

/* Format @p name of @p md the canonical way into @p out (size @p size, at most; the caller's
 * arrays are far larger than any value). */
static edxbus_err_t field_text(const struct edxbus_metadata *md, const char *name,
                               struct edxbus_buf *scratch, char *out, size_t size, size_t *len)
{
    edxbus_buf_reset(scratch);
    edxbus_err_t err = edxbus_metadata_field_text(md, name, scratch);
    if (err == EDXBUS_OK && scratch->len >= size)
        err = EDXBUS_ERR_INVALID_ARG;
    if (err != EDXBUS_OK)
        return err;
    if (scratch->len > 0)
        memcpy(out, scratch->data, scratch->len);
    *len = scratch->len;
    return EDXBUS_OK;
}

/* md->time_us as edxbus_metadata_format_time writes it ("…T10:20:30[.ffffff]+00:00") into
 * @p out (EDXBUS_METADATA_TIME_TEXT_MAX bytes): the whole-second part from the cache, the
 * fraction by hand, as "%06" would. */
static edxbus_err_t time_text(const struct edxbus_metadata *md, struct kafka_hdr_cache *c,
                              char *out, size_t *len)
{
    if (md->time_us < EDXBUS_METADATA_TIME_MIN_US || md->time_us > EDXBUS_METADATA_TIME_MAX_US)
        return EDXBUS_ERR_INVALID_ARG;
    int64_t second = md->time_us / 1000000, frac = md->time_us % 1000000;
    if (frac < 0) {
        frac += 1000000;
        second--;
    }
    if (!c->has_second || c->second != second) {
        /* Whole seconds are in range too: both ends of the range are whole seconds apart. */
        char text[EDXBUS_METADATA_TIME_TEXT_MAX];
        edxbus_err_t err = edxbus_metadata_format_time(second * 1000000, text, sizeof text);
        if (err != EDXBUS_OK)
            return err;
        size_t n = strlen(text);
        if (n < 6 || memcmp(text + n - 6, "+00:00", 6) != 0)
            return EDXBUS_ERR_INVALID_ARG;
        c->second_len = n - 6;
        memcpy(c->second_text, text, c->second_len);
        c->second = second;
        c->has_second = true;
    }
    size_t n = c->second_len;
    memcpy(out, c->second_text, n);
    if (frac != 0) {
        out[n++] = '.';
        for (int i = 5; i >= 0; i--, frac /= 10)
            out[n + (size_t)i] = (char)('0' + frac % 10);
        n += 6;
    }
    memcpy(out + n, "+00:00", 6);
    *len = n + 6;
    return EDXBUS_OK;
}

rd_kafka_headers_t *edxbus__kafka_headers(const struct edxbus_msg *msg,
                                          struct kafka_hdr_cache *cache, char *errstr,
                                          size_t errstr_size)
{
    const struct edxbus_metadata *md = msg->metadata;
    char when[EDXBUS_METADATA_TIME_TEXT_MAX];
    size_t when_len = 0;
    const char *failed = NULL;
    edxbus_err_t err = time_text(md, cache, when, &when_len);
    if (err != EDXBUS_OK)
        failed = "time";
    if (failed == NULL && (!cache->has_minor || cache->minor != md->minorversion)) {
        err = field_text(md, "minorversion", &cache->scratch, cache->minor_text,
                         sizeof cache->minor_text, &cache->minor_len);
        cache->minor = md->minorversion;
        cache->has_minor = err == EDXBUS_OK;
        if (err != EDXBUS_OK)
            failed = "minorversion";
    }
    if (failed == NULL &&
        (!cache->has_lib || cache->nlib != md->nsourcelib ||
         md->nsourcelib > EDXBUS_SOURCELIB_MAX ||
         memcmp(cache->lib, md->sourcelib, md->nsourcelib * sizeof md->sourcelib[0]) != 0)) {
        err = field_text(md, "sourcelib", &cache->scratch, cache->lib_text,
                         sizeof cache->lib_text, &cache->lib_len);
        cache->has_lib = err == EDXBUS_OK;
        if (err != EDXBUS_OK) {
            failed = "sourcelib";
        } else {
            memcpy(cache->lib, md->sourcelib, md->nsourcelib * sizeof md->sourcelib[0]);
            cache->nlib = md->nsourcelib;
        }
    }
    if (failed != NULL) {
        edxbus_errf(errstr, errstr_size, "kafka: metadata field %s: %s", failed,
                    edxbus_err2str(err));
        return NULL;
    }
    /* In header_names order; the text fields are sent as they are (NUL-terminated arrays). */
    const char *vals[KAFKA_META_HEADERS] = {
        md->event_type, md->id, md->source, when, cache->minor_text, md->sourcehost,
        cache->lib_text,
    };
    size_t lens[KAFKA_META_HEADERS] = {
        strlen(md->event_type), strlen(md->id), strlen(md->source), when_len,
        cache->minor_len, strlen(md->sourcehost), cache->lib_len,
    };
    rd_kafka_headers_t *hdrs = rd_kafka_headers_new(KAFKA_NHEADERS + msg->nheaders);
    rd_kafka_header_add(hdrs, "ce_specversion", 14, "1.0", 3);
    rd_kafka_header_add(hdrs, "content-type", 12, "application/avro", 16);
    rd_kafka_header_add(hdrs, "ce_datacontenttype", 18, "application/avro", 16);
    for (int i = 0; i < KAFKA_META_HEADERS; i++)
        rd_kafka_header_add(hdrs, header_names[i], -1, lens[i] ? vals[i] : "",
                            (ssize_t)lens[i]);
    for (size_t i = 0; i < msg->nheaders; i++)
        rd_kafka_header_add(hdrs, msg->headers[i].name, -1,
                            msg->headers[i].value ? (const void *)msg->headers[i].value : "",
                            (ssize_t)msg->headers[i].len);
    return hdrs;
}

/* ------------------------------------------------------------------------------------------ */
/* Reading */

static void unusable(struct edxbus_msg *msg, struct kafka_slot *slot, const char *fmt,
                     const char *a, const char *b)
{
    char detail[EDXBUS_ERRSTR_SIZE];
    snprintf(detail, sizeof detail, fmt, a, b);
    snprintf(slot->why, sizeof slot->why, "kafka record %s of topic %.80s: %.250s", msg->position,
             msg->topic, detail);
    msg->unusable = slot->why;
}

static int64_t frame_id(const uint8_t *p, size_t len)
{
    if (p == NULL || len < KAFKA_FRAME_LEN || p[0] != 0)
        return -1;
    return (int64_t)((uint32_t)p[1] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 8 | p[4]);
}

static edxbus_err_t add_header(struct edxbus_msg *msg, struct kafka_slot *slot, const char *name,
                               const void *value, size_t len)
{
    if (msg->nheaders == slot->headers_cap) {
        size_t cap = slot->headers_cap ? slot->headers_cap * 2 : 4;
        struct edxbus_header *h = realloc(slot->headers, cap * sizeof *h);
        if (h == NULL)
            return EDXBUS_ERR_NOMEM;
        slot->headers = h;
        slot->headers_cap = cap;
    }
    slot->headers[msg->nheaders].name = name;
    slot->headers[msg->nheaders].value = value ? value : (const uint8_t *)"";
    slot->headers[msg->nheaders].len = len;
    msg->nheaders++;
    return EDXBUS_OK;
}

edxbus_err_t edxbus__kafka_wire_parse(const rd_kafka_message_t *rkm, const char *service_name,
                                      struct edxbus_msg *msg, struct kafka_slot *slot,
                                      int64_t *key_id, int64_t *value_id)
{
    memset(msg, 0, sizeof *msg);
    memset(&slot->md, 0, sizeof slot->md);
    msg->topic = rd_kafka_topic_name(rkm->rkt);
    msg->metadata = &slot->md;
    snprintf(msg->position, sizeof msg->position, "%" PRId32 ":%" PRId64, rkm->partition,
             rkm->offset);
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
    const void *vals[KAFKA_META_HEADERS] = {NULL};
    size_t lens[KAFKA_META_HEADERS] = {0};
    int counts[KAFKA_META_HEADERS] = {0};
    rd_kafka_headers_t *hdrs = NULL;
    if (rd_kafka_message_headers(rkm, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        const char *name;
        const void *value;
        size_t len;
        for (size_t idx = 0; rd_kafka_header_get_all(hdrs, idx, &name, &value, &len) ==
                             RD_KAFKA_RESP_ERR_NO_ERROR;
             idx++) {
            int k = 0;
            while (k < KAFKA_META_HEADERS && strcmp(name, header_names[k]) != 0)
                k++;
            if (k < KAFKA_META_HEADERS) {
                if (counts[k]++ == 0) {
                    vals[k] = value;
                    lens[k] = len;
                }
            } else if (strcmp(name, "ce_specversion") != 0 && strcmp(name, "content-type") != 0 &&
                       strcmp(name, "ce_datacontenttype") != 0) {
                if (add_header(msg, slot, name, value, len) != EDXBUS_OK)
                    return EDXBUS_ERR_NOMEM;
            }
        }
    }
    msg->headers = msg->nheaders ? slot->headers : NULL;

    if (counts[0] != 1) {
        unusable(msg, slot, counts[0] == 0 ? "no ce_type header%s%s"
                                           : "the ce_type header appears more than once%s%s",
                 "", "");
        return EDXBUS_OK;
    }
    for (int k = 1; k < KAFKA_META_HEADERS; k++)
        if (counts[k] > 1) {
            unusable(msg, slot, "the %s header appears more than once%s", header_names[k], "");
            return EDXBUS_OK;
        }
    if (counts[1] == 0) {
        unusable(msg, slot, "no ce_id header%s%s", "", "");
        return EDXBUS_OK;
    }
    char type[EDXBUS_METADATA_TEXT_MAX];
    /* A header value can be null (vals[0] NULL, length 0): memchr must not see it. */
    if (vals[0] == NULL || lens[0] >= sizeof type || memchr(vals[0], '\0', lens[0]) != NULL) {
        unusable(msg, slot, "the ce_type header is not a usable event type%s%s", "", "");
        return EDXBUS_OK;
    }
    memcpy(type, vals[0] ? vals[0] : "", lens[0]);
    type[lens[0]] = '\0';
    char err[EDXBUS_ERRSTR_SIZE];
    bool all = true;
    for (int k = 0; k < KAFKA_META_HEADERS; k++)
        all = all && counts[k] == 1;
    if (!all && edxbus_metadata_generate(&slot->md, type, 0, service_name, err, sizeof err) !=
                    EDXBUS_OK) {
        unusable(msg, slot, "cannot make default metadata: %.150s%s", err, "");
        return EDXBUS_OK;
    }
    for (int k = 0; k < KAFKA_META_HEADERS; k++) {
        if (counts[k] == 0)
            continue;
        if (edxbus_metadata_set_field(&slot->md, meta_names[k], vals[k] ? vals[k] : "", lens[k],
                                      err, sizeof err) != EDXBUS_OK) {
            unusable(msg, slot, "header %s: %.170s", header_names[k], err);
            return EDXBUS_OK;
        }
    }
    if (rkm->payload == NULL)
        unusable(msg, slot, "no value (a tombstone)%s%s", "", "");
    else if (*value_id < 0)
        unusable(msg, slot,
                 "the value is not Confluent-framed (no 0x00 magic byte and schema id)%s%s", "",
                 "");
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
