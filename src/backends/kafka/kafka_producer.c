/* src/backends/kafka/kafka_producer.c — produce one record per event.
 *
 * produce() registers the key and value schemas (once per topic and schema text: a small
 * cache in front of the registry client's), frames key and value, builds the ten headers and
 * hands the record to librdkafka, which is configured acks=all and enable.idempotence=true (the
 * reference keeps librdkafka's defaults). Without a callback produce() waits for the delivery
 * report (contract 1); with one it returns at once and the report arrives from inside a later
 * produce(), flush() or close(), on the calling thread: every call serves librdkafka's
 * callbacks with rd_kafka_poll(). A failed delivery is logged with everything needed to replay
 * the event (topic, key, metadata, value), then reported.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafka_int.h"

struct schema_id {
    char *topic;
    char *schema;
    size_t schema_len;
    bool is_key;
    uint32_t id;
};

struct kafka_producer {
    edxbus_conf_t *conf; /* first: the log callback reads it through the opaque */
    rd_kafka_t *rk;
    kreg_t *reg;
    struct schema_id *ids;
    size_t nids, cap_ids;
    struct edxbus_buf key, value;
    struct edxbus_ce_writer ce; /* the metadata headers, with its cache */
    struct kafka_dr *spare; /* reports done with, kept for the next sends (dr_copy) */
    size_t nspare;
    char **topics; /* topics whose metadata this producer asked for */
    size_t ntopics, cap_topics;
    bool audit;
};

/* What travels with one record to its delivery report. Synchronous sends keep it on the
 * stack and point at the caller's metadata; asynchronous ones take a report from the spares
 * with a compact copy of the metadata behind it (the four texts at their length, not the ~1.7 KB
 * struct: writing that per send was most of the memory traffic of a send). The topic, key and
 * value are not copied: the delivery report of librdkafka carries its own copies (the topic
 * handle's name, the framed key and value), and on_delivery strips the framing again. */
struct kafka_dr {
    size_t cap;            /* bytes allocated, this struct included (0: on the stack) */
    struct kafka_dr *next; /* in kafka_producer.spare */
    edxbus_delivery_fn cb; /* NULL: synchronous */
    void *cb_opaque;
    /* Synchronous only: the caller's metadata, and where the result goes. */
    const struct edxbus_metadata *sync_md;
    char *sync_errstr;
    size_t sync_errstr_size;
    bool done;
    edxbus_err_t err;
    bool has_key;      /* the message had a key (maybe empty) */
    bool key_framed;   /* the record's key/value carry the 5-byte framing produce added */
    bool value_framed;
    const struct edxbus_header *headers; /* the extra headers, copied behind the texts */
    size_t nheaders;
    /* The metadata: the numbers here, the texts behind the struct as NUL-terminated strings
     * of these lengths, in this order. */
    int64_t minorversion, time_us;
    int64_t sourcelib[EDXBUS_SOURCELIB_MAX];
    size_t nsourcelib;
    uint16_t type_len, id_len, source_len, host_len;
};

/* Reports kept for reuse, at most: a malloc and free per send went through glibc's slow bins. */
#define KAFKA_DR_SPARES 1024
#define KAFKA_DR_ROUND 128 /* allocate in these steps, so a kept report fits the next send */

/* ------------------------------------------------------------------------------------------ */
/* Delivery reports */

/* Done with @p dr: keep it for a later send, or free it. */
static void dr_put(struct kafka_producer *p, struct kafka_dr *dr)
{
    if (p->nspare >= KAFKA_DR_SPARES) {
        free(dr);
        return;
    }
    dr->next = p->spare;
    p->spare = dr;
    p->nspare++;
}

static void log_failure(struct kafka_producer *p, const struct edxbus_msg *msg,
                        const char *errstr)
{
    struct edxbus_buf md = EDXBUS_BUF_INIT;
    edxbus_metadata_to_json(msg->metadata, &md);
    edxbus_buf_terminate(&md);
    char *value = malloc(2 * msg->value_len + 1), *key = malloc(2 * msg->key_len + 1);
    if (value != NULL)
        for (size_t i = 0; i < msg->value_len; i++)
            sprintf(value + 2 * i, "%02x", msg->value[i]);
    if (key != NULL)
        for (size_t i = 0; i < msg->key_len; i++)
            sprintf(key + 2 * i, "%02x", msg->key[i]);
    if (value != NULL)
        value[2 * msg->value_len] = '\0';
    if (key != NULL)
        key[2 * msg->key_len] = '\0';
    edxbus_conf_log(p->conf, EDXBUS_LOG_ERROR,
                    "kafka: event %s (%s) was not delivered to topic %s: %s; to replay it: "
                    "metadata %s key_avro_hex %s value_avro_hex %s",
                    msg->metadata->id, msg->metadata->event_type, msg->topic, errstr,
                    md.data ? (const char *)md.data : "{}", key && msg->key ? key : "(none)",
                    value ? value : "?");
    free(value);
    free(key);
    edxbus_buf_fini(&md);
}

/* Append the decimal digits of @p v at @p out; returns the end. */
static char *put_i64(char *out, int64_t v)
{
    char digits[20];
    size_t n = 0;
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    do {
        digits[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    if (v < 0)
        *out++ = '-';
    while (n > 0)
        *out++ = digits[--n];
    return out;
}

/* "<partition>:<offset>", as "%" PRId32 ":%" PRId64 would write it: this runs once per
 * delivered record, where snprintf was a measurable share of a send. 32 bytes always fit. */
static void position_text(int32_t partition, int64_t offset, char out[EDXBUS_POSITION_MAX])
{
    _Static_assert(EDXBUS_POSITION_MAX >= 11 + 1 + 20 + 1, "position text fits");
    char *p = put_i64(out, partition);
    *p++ = ':';
    p = put_i64(p, offset);
    *p = '\0';
}

/* Strip the framing produce added: @p framed bytes start with KAFKA_FRAME_LEN bytes of it. */
static const uint8_t *unframe(const void *data, size_t len, bool framed, size_t *out_len)
{
    if (data == NULL) {
        *out_len = 0;
        return (const uint8_t *)"";
    }
    if (framed && len >= KAFKA_FRAME_LEN) {
        *out_len = len - KAFKA_FRAME_LEN;
        return (const uint8_t *)data + KAFKA_FRAME_LEN;
    }
    *out_len = len;
    return data;
}

/* The metadata of an asynchronous report back in a struct edxbus_metadata (@p md, the caller's
 * stack, which is in cache; only the bytes of the texts are written, not the whole arrays). */
static void dr_metadata(const struct kafka_dr *dr, struct edxbus_metadata *md)
{
    const char *text = (const char *)(dr + 1);
    memcpy(md->event_type, text, dr->type_len + 1u);
    text += dr->type_len + 1u;
    memcpy(md->id, text, dr->id_len + 1u);
    text += dr->id_len + 1u;
    memcpy(md->source, text, dr->source_len + 1u);
    text += dr->source_len + 1u;
    memcpy(md->sourcehost, text, dr->host_len + 1u);
    md->minorversion = dr->minorversion;
    md->time_us = dr->time_us;
    md->nsourcelib = dr->nsourcelib;
    memcpy(md->sourcelib, dr->sourcelib, dr->nsourcelib * sizeof dr->sourcelib[0]);
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *rkm, void *opaque)
{
    (void)rk;
    struct kafka_producer *p = opaque;
    struct kafka_dr *dr = rkm->_private;
    if (dr == NULL)
        return;
    /* The message as given to produce(), rebuilt from the record and the report. */
    struct edxbus_metadata md;
    struct edxbus_msg msg = {
        .topic = rd_kafka_topic_name(rkm->rkt),
        .headers = dr->headers,
        .nheaders = dr->nheaders,
    };
    if (dr->sync_md != NULL) {
        msg.metadata = dr->sync_md;
    } else {
        dr_metadata(dr, &md);
        msg.metadata = &md;
    }
    if (dr->has_key)
        msg.key = unframe(rkm->key, rkm->key_len, dr->key_framed, &msg.key_len);
    msg.value = unframe(rkm->payload, rkm->len, dr->value_framed, &msg.value_len);
    char errstr[EDXBUS_ERRSTR_SIZE];
    char position[EDXBUS_POSITION_MAX];
    edxbus_err_t err = edxbus__kafka_err(rkm->err);
    if (rkm->err) {
        snprintf(errstr, sizeof errstr, "kafka: delivery to topic %.100s failed: %s", msg.topic,
                 rd_kafka_err2str(rkm->err));
        log_failure(p, &msg, errstr);
    } else {
        position_text(rkm->partition, rkm->offset, position);
        if (p->audit) {
            char key[128];
            edxbus__kafka_key_text(msg.key, msg.key_len, key, sizeof key);
            edxbus_conf_log(p->conf, EDXBUS_LOG_INFO,
                            "kafka: delivered event %s (%s) to topic %s partition %" PRId32
                            " offset %" PRId64 " key %s",
                            msg.metadata->id, msg.metadata->event_type, msg.topic,
                            rkm->partition, rkm->offset, key);
        }
    }
    if (dr->cb == NULL) {
        dr->err = err;
        if (err != EDXBUS_OK && dr->sync_errstr_size > 0)
            snprintf(dr->sync_errstr, dr->sync_errstr_size, "%s", errstr);
        dr->done = true;
        return;
    }
    dr->cb(dr->cb_opaque, &msg, err, err ? errstr : NULL, err ? NULL : position);
    dr_put(p, dr);
}

/* The length of a metadata text (its array may lack the NUL when full). */
static uint16_t text_len(const char *s, size_t size)
{
    _Static_assert(EDXBUS_METADATA_TEXT_MAX <= UINT16_MAX, "text lengths fit 16 bits");
    return (uint16_t)strnlen(s, size - 1);
}

/* An asynchronous report for @p msg: the compact metadata and the extra headers behind a
 * struct kafka_dr, in a kept report when the first one kept is large enough. */
static struct kafka_dr *dr_copy(struct kafka_producer *p, const struct edxbus_msg *msg)
{
    const struct edxbus_metadata *md = msg->metadata;
    uint16_t type_len = text_len(md->event_type, sizeof md->event_type);
    uint16_t id_len = text_len(md->id, sizeof md->id);
    uint16_t source_len = text_len(md->source, sizeof md->source);
    uint16_t host_len = text_len(md->sourcehost, sizeof md->sourcehost);
    size_t texts = (size_t)type_len + id_len + source_len + host_len + 4;
    /* Headers after the texts, at pointer alignment, then their bytes. */
    size_t hdr_off = (sizeof(struct kafka_dr) + texts + sizeof(void *) - 1) / sizeof(void *) *
                     sizeof(void *);
    size_t total = hdr_off + msg->nheaders * sizeof(struct edxbus_header);
    for (size_t i = 0; i < msg->nheaders; i++)
        total += strlen(msg->headers[i].name) + 1 + msg->headers[i].len;
    struct kafka_dr *dr = p->spare;
    if (dr != NULL) {
        p->spare = dr->next;
        p->nspare--;
        if (dr->cap < total) {
            free(dr);
            dr = NULL;
        }
    }
    size_t cap = (total + KAFKA_DR_ROUND - 1) / KAFKA_DR_ROUND * KAFKA_DR_ROUND;
    if (dr != NULL)
        cap = dr->cap;
    if (dr == NULL)
        dr = malloc(cap);
    if (dr == NULL)
        return NULL;
    dr->cap = cap;
    dr->next = NULL;
    dr->cb = NULL;
    dr->cb_opaque = NULL;
    dr->sync_md = NULL;
    dr->sync_errstr = NULL;
    dr->sync_errstr_size = 0;
    dr->done = false;
    dr->err = EDXBUS_OK;
    dr->has_key = msg->key != NULL;
    dr->key_framed = false;
    dr->value_framed = false;
    dr->minorversion = md->minorversion;
    dr->time_us = md->time_us;
    dr->nsourcelib = md->nsourcelib <= EDXBUS_SOURCELIB_MAX ? md->nsourcelib : 0;
    memcpy(dr->sourcelib, md->sourcelib, dr->nsourcelib * sizeof dr->sourcelib[0]);
    dr->type_len = type_len;
    dr->id_len = id_len;
    dr->source_len = source_len;
    dr->host_len = host_len;
    char *text = (char *)(dr + 1);
    memcpy(text, md->event_type, type_len);
    text[type_len] = '\0';
    text += type_len + 1u;
    memcpy(text, md->id, id_len);
    text[id_len] = '\0';
    text += id_len + 1u;
    memcpy(text, md->source, source_len);
    text[source_len] = '\0';
    text += source_len + 1u;
    memcpy(text, md->sourcehost, host_len);
    text[host_len] = '\0';
    struct edxbus_header *hdrs = (struct edxbus_header *)((char *)dr + hdr_off);
    char *bytes = (char *)(hdrs + msg->nheaders);
    for (size_t i = 0; i < msg->nheaders; i++) {
        size_t n = strlen(msg->headers[i].name) + 1;
        hdrs[i].name = memcpy(bytes, msg->headers[i].name, n);
        bytes += n;
        hdrs[i].value = msg->headers[i].len
                            ? memcpy(bytes, msg->headers[i].value, msg->headers[i].len)
                            : (const uint8_t *)bytes;
        hdrs[i].len = msg->headers[i].len;
        bytes += msg->headers[i].len;
    }
    dr->headers = msg->nheaders ? hdrs : NULL;
    dr->nheaders = msg->nheaders;
    return dr;
}

/* ------------------------------------------------------------------------------------------ */
/* Lifecycle */

edxbus_err_t edxbus__kafka_producer_open(const edxbus_conf_t *conf, void **be, char *errstr,
                                         size_t errstr_size)
{
    *be = NULL;
    struct kafka_producer *p = calloc(1, sizeof *p);
    if (p == NULL || (p->conf = edxbus_conf_dup(conf)) == NULL) {
        free(p);
        edxbus_errf(errstr, errstr_size, "kafka: out of memory");
        return EDXBUS_ERR_NOMEM;
    }
    edxbus_buf_init(&p->key);
    edxbus_buf_init(&p->value);
    p->audit = edxbus_conf_get_bool(conf, KAFKA_SETTING_AUDIT, true);
    rd_kafka_conf_t *rdconf = NULL;
    /* The registry is contacted on the first send (as the reference does), not here. */
    edxbus_err_t err = edxbus__kafka_registry(conf, &p->reg, errstr, errstr_size);
    if (err == EDXBUS_OK)
        err = edxbus__kafka_rdconf(conf, &rdconf, errstr, errstr_size);
    /* Durability the reference leaves at librdkafka's defaults, unless EVENT_BUS_KAFKA_CONFIG
     * says otherwise. */
    if (err == EDXBUS_OK) {
        const json_t *extra = edxbus_conf_get(conf, KAFKA_SETTING_CONFIG);
        if (err == EDXBUS_OK && json_object_get(extra, "acks") == NULL)
            err = edxbus__kafka_rdconf_set(rdconf, "acks", "all", errstr, errstr_size);
        if (err == EDXBUS_OK && json_object_get(extra, "enable.idempotence") == NULL)
            err = edxbus__kafka_rdconf_set(rdconf, "enable.idempotence", "true", errstr,
                                           errstr_size);
    }
    if (err != EDXBUS_OK) {
        if (rdconf != NULL)
            rd_kafka_conf_destroy(rdconf);
        edxbus__kafka_producer_close(p);
        return err;
    }
    rd_kafka_conf_set_dr_msg_cb(rdconf, on_delivery);
    rd_kafka_conf_set_opaque(rdconf, p);
    char why[256];
    p->rk = rd_kafka_new(RD_KAFKA_PRODUCER, rdconf, why, sizeof why);
    if (p->rk == NULL) {
        rd_kafka_conf_destroy(rdconf);
        edxbus_errf(errstr, errstr_size, "kafka: cannot make a producer: %.200s", why);
        edxbus__kafka_producer_close(p);
        return EDXBUS_ERR_CONF;
    }
    *be = p;
    return EDXBUS_OK;
}

void edxbus__kafka_producer_close(void *be)
{
    struct kafka_producer *p = be;
    if (p == NULL)
        return;
    if (p->rk != NULL) {
        if (rd_kafka_flush(p->rk, KAFKA_CLOSE_FLUSH_MS) != RD_KAFKA_RESP_ERR_NO_ERROR) {
            edxbus_conf_log(p->conf, EDXBUS_LOG_ERROR,
                            "kafka: %d message(s) still undelivered after %d ms at close; they "
                            "are reported as failed",
                            rd_kafka_outq_len(p->rk), KAFKA_CLOSE_FLUSH_MS);
            rd_kafka_purge(p->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
            rd_kafka_poll(p->rk, 0);
        }
        rd_kafka_destroy(p->rk);
    }
    edxbus__kreg_free(p->reg);
    for (size_t i = 0; i < p->nids; i++) {
        free(p->ids[i].topic);
        free(p->ids[i].schema);
    }
    free(p->ids);
    while (p->spare != NULL) {
        struct kafka_dr *next = p->spare->next;
        free(p->spare);
        p->spare = next;
    }
    for (size_t i = 0; i < p->ntopics; i++)
        free(p->topics[i]);
    free(p->topics);
    edxbus_buf_fini(&p->key);
    edxbus_buf_fini(&p->value);
    edxbus_ce_writer_fini(&p->ce);
    edxbus_conf_destroy(p->conf);
    free(p);
}

/* ------------------------------------------------------------------------------------------ */
/* Sending */

/* The registry id of @p schema for @p topic (registering it on first use). */
static edxbus_err_t schema_id(struct kafka_producer *p, const char *topic, const char *schema,
                              bool is_key, uint32_t *id, char *errstr, size_t errstr_size)
{
    size_t len = strlen(schema);
    for (size_t i = 0; i < p->nids; i++) {
        const struct schema_id *e = &p->ids[i];
        if (e->schema_len == len && e->is_key == is_key && strcmp(e->topic, topic) == 0 &&
            memcmp(e->schema, schema, len) == 0) {
            *id = e->id;
            return EDXBUS_OK;
        }
    }
    char *subject = edxbus__kafka_subject(topic, schema, is_key);
    if (subject == NULL) {
        edxbus_errf(errstr, errstr_size, "kafka: out of memory");
        return EDXBUS_ERR_NOMEM;
    }
    edxbus_err_t err = edxbus__kreg_register(p->reg, subject, schema, id, errstr, errstr_size);
    free(subject);
    if (err != EDXBUS_OK)
        return err;
    if (p->nids == p->cap_ids) {
        size_t cap = p->cap_ids ? p->cap_ids * 2 : 8;
        struct schema_id *grown = realloc(p->ids, cap * sizeof *grown);
        if (grown == NULL)
            return EDXBUS_OK; /* uncached; the registry client still caches */
        p->ids = grown;
        p->cap_ids = cap;
    }
    struct schema_id e = {strdup(topic), strdup(schema), len, is_key, *id};
    if (e.topic != NULL && e.schema != NULL) {
        p->ids[p->nids++] = e;
    } else {
        free(e.topic);
        free(e.schema);
    }
    return EDXBUS_OK;
}

/* Ask for @p topic's metadata the first time it is produced to. librdkafka 2.0 can miss the
 * metadata request of a topic first seen after the connection came up, and then holds its
 * messages until the next full refresh (minutes); one explicit request per topic avoids it. */
static void know_topic(struct kafka_producer *p, const char *topic)
{
    for (size_t i = 0; i < p->ntopics; i++)
        if (strcmp(p->topics[i], topic) == 0)
            return;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(p->rk, topic, NULL);
    const struct rd_kafka_metadata *md = NULL;
    if (rd_kafka_metadata(p->rk, 0, rkt, &md, KAFKA_META_TIMEOUT_MS) == RD_KAFKA_RESP_ERR_NO_ERROR)
        rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    if (p->ntopics == p->cap_topics) {
        size_t cap = p->cap_topics ? p->cap_topics * 2 : 8;
        char **grown = realloc(p->topics, cap * sizeof *grown);
        if (grown == NULL)
            return;
        p->topics = grown;
        p->cap_topics = cap;
    }
    if ((p->topics[p->ntopics] = strdup(topic)) != NULL)
        p->ntopics++;
}

static edxbus_err_t produce_one(struct kafka_producer *p, const struct edxbus_msg *msg,
                                edxbus_delivery_fn cb, void *cb_opaque, char *errstr,
                                size_t errstr_size)
{
    if (msg->topic == NULL || msg->metadata == NULL) {
        edxbus_errf(errstr, errstr_size, "kafka: a message needs a topic and metadata");
        return EDXBUS_ERR_INVALID_ARG;
    }
    know_topic(p, msg->topic);
    /* Key first, then value, as confluent-kafka's SerializingProducer registers them. */
    const void *key = msg->key;
    size_t key_len = msg->key_len;
    uint32_t id;
    edxbus_err_t err;
    if (msg->key != NULL && msg->key_schema != NULL) {
        err = schema_id(p, msg->topic, msg->key_schema, true, &id, errstr, errstr_size);
        if (err != EDXBUS_OK)
            return err;
        if (edxbus__kafka_frame(&p->key, id, msg->key, msg->key_len) != EDXBUS_OK)
            goto nomem;
        key = p->key.data;
        key_len = p->key.len;
    }
    /* Value: framed with its registry id. Without a schema (a dead letter of an unusable
     * record) the bytes go as they came. */
    const void *value = msg->value_len ? msg->value : NULL;
    size_t value_len = msg->value_len;
    if (msg->value_schema != NULL) {
        err = schema_id(p, msg->topic, msg->value_schema, false, &id, errstr, errstr_size);
        if (err != EDXBUS_OK)
            return err;
        if (edxbus__kafka_frame(&p->value, id, msg->value, msg->value_len) != EDXBUS_OK)
            goto nomem;
        value = p->value.data;
        value_len = p->value.len;
    }
    rd_kafka_headers_t *hdrs = edxbus__kafka_headers(msg, &p->ce, errstr, errstr_size);
    if (hdrs == NULL)
        return EDXBUS_ERR_INVALID_ARG;

    struct kafka_dr sync_dr;
    struct kafka_dr *dr;
    if (cb == NULL) {
        memset(&sync_dr, 0, sizeof sync_dr);
        sync_dr.sync_md = msg->metadata;
        sync_dr.sync_errstr = errstr;
        sync_dr.sync_errstr_size = errstr_size;
        sync_dr.has_key = msg->key != NULL;
        sync_dr.headers = msg->headers;
        sync_dr.nheaders = msg->nheaders;
        dr = &sync_dr;
    } else {
        dr = dr_copy(p, msg);
        if (dr == NULL) {
            rd_kafka_headers_destroy(hdrs);
            goto nomem;
        }
        dr->cb = cb;
        dr->cb_opaque = cb_opaque;
    }
    dr->key_framed = key != msg->key;
    dr->value_framed = msg->value_schema != NULL;
    rd_kafka_resp_err_t rerr = rd_kafka_producev(
        p->rk, RD_KAFKA_V_TOPIC(msg->topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_VALUE((void *)value, value_len), RD_KAFKA_V_KEY(key, key_len),
        RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_OPAQUE(dr), RD_KAFKA_V_END);
    if (rerr != RD_KAFKA_RESP_ERR_NO_ERROR) {
        rd_kafka_headers_destroy(hdrs);
        if (dr != &sync_dr)
            dr_put(p, dr);
        edxbus_errf(errstr, errstr_size, "kafka: producing to topic %.100s: %s", msg->topic,
                    rd_kafka_err2str(rerr));
        return edxbus__kafka_err(rerr);
    }
    if (cb != NULL) {
        rd_kafka_poll(p->rk, 0);
        return EDXBUS_OK;
    }
    /* on_delivery writes errstr on failure. */
    while (!sync_dr.done)
        rd_kafka_poll(p->rk, 100);
    return sync_dr.err;
nomem:
    edxbus_errf(errstr, errstr_size, "kafka: out of memory");
    return EDXBUS_ERR_NOMEM;
}

edxbus_err_t edxbus__kafka_produce(void *be, const struct edxbus_msg *msg, edxbus_delivery_fn cb,
                                   void *cb_opaque, char *errstr, size_t errstr_size)
{
    struct kafka_producer *p = be;
    edxbus_err_t err = produce_one(p, msg, cb, cb_opaque, errstr, errstr_size);
    /* Reports due from earlier sends are served after the hand-over (produce_one polls once
     * then), one poll per send as a plain librdkafka producer does, not one before and one
     * after; a failed send polls here, so a caller retrying on a full queue frees it. */
    if (err != EDXBUS_OK)
        rd_kafka_poll(p->rk, 0);
    return err;
}

edxbus_err_t edxbus__kafka_flush(void *be, int timeout_ms, char *errstr, size_t errstr_size)
{
    struct kafka_producer *p = be;
    rd_kafka_resp_err_t rerr = rd_kafka_flush(p->rk, timeout_ms);
    if (rerr == RD_KAFKA_RESP_ERR_NO_ERROR)
        return EDXBUS_OK;
    edxbus_errf(errstr, errstr_size, "kafka: %d message(s) still undelivered after %d ms",
                rd_kafka_outq_len(p->rk), timeout_ms);
    return edxbus__kafka_err(rerr);
}
