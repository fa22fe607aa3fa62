/* src/backends/nats/nats_wire.c — one edxbus_msg <-> one NATS JetStream message.
 *
 * Writing: the subject is the full topic, the payload the Avro body as it is (no framing: no
 * registry), and the headers those of the Kafka wire (WIRE.md §4), with the same names and text
 * forms, so one tool reads both: ce_specversion=1.0, content-type=application/avro,
 * ce_datacontenttype=application/avro, ce_type, ce_id, ce_source, ce_time, ce_minorversion,
 * sourcehost, sourcelib, then the message's extra headers (dead-letter details). The publisher
 * adds Nats-Msg-Id (edxbus__nats_msg_id(): the event id, so the stream's duplicate window drops
 * a resend; a dead letter and a dead-letter replay get ids of their own). NATS headers
 * are text lines: libnats cuts a value at a NUL, turns CR/LF into spaces, and a reader trims
 * white space and refuses an empty value. So a value that is not plain text (empty, a control
 * byte, white space at either end, or starting with "base64:") travels as "base64:" followed by
 * its base64 text, and is decoded back on reading: every value comes back byte for byte.
 * Header names are kept; their order is not (libnats keeps headers in a hash map).
 *
 * Reading follows the reference's rules as the Kafka wire does: ce_type exactly once, ce_id at
 * least once, any metadata header twice makes the message unusable; a missing one takes
 * EventsMetadata's default. Headers starting with "Nats-" belong to NATS and are not passed on.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nats_int.h"

#define B64_PREFIX "base64:"
#define B64_PREFIX_LEN 7
#define NATS_META_HEADERS 7

/* Wire header name -> EventsMetadata field name, in wire order (after the three fixed). */
static const char *const header_names[NATS_META_HEADERS] = {
    "ce_type", "ce_id", "ce_source", "ce_time", "ce_minorversion", "sourcehost", "sourcelib",
};
static const char *const meta_names[NATS_META_HEADERS] = {
    "event_type", "id", "source", "time", "minorversion", "sourcehost", "sourcelib",
};

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static bool is_plain(const uint8_t *v, size_t len)
{
    if (len == 0 || v[0] == ' ' || v[len - 1] == ' ' ||
        (len >= B64_PREFIX_LEN && memcmp(v, B64_PREFIX, B64_PREFIX_LEN) == 0))
        return false;
    for (size_t i = 0; i < len; i++)
        if (v[i] < 0x20 || v[i] == 0x7f)
            return false;
    return true;
}

/* Append @p v as a header value (plain or base64:) and a NUL to @p out. */
static edxbus_err_t put_value(struct edxbus_buf *out, const uint8_t *v, size_t len)
{
    if (is_plain(v, len)) {
        if (edxbus_buf_append(out, v, len) != EDXBUS_OK)
            return EDXBUS_ERR_NOMEM;
        return edxbus_buf_append(out, "", 1);
    }
    if (edxbus_buf_reserve(out, B64_PREFIX_LEN + 4 * (len / 3 + 1) + 1) != EDXBUS_OK)
        return EDXBUS_ERR_NOMEM;
    char *p = (char *)out->data + out->len;
    memcpy(p, B64_PREFIX, B64_PREFIX_LEN);
    p += B64_PREFIX_LEN;
    size_t i = 0;
    for (; i + 2 < len; i += 3) {
        uint32_t w = (uint32_t)v[i] << 16 | (uint32_t)v[i + 1] << 8 | v[i + 2];
        *p++ = b64[w >> 18];
        *p++ = b64[(w >> 12) & 63];
        *p++ = b64[(w >> 6) & 63];
        *p++ = b64[w & 63];
    }
    if (i < len) {
        uint32_t w = (uint32_t)v[i] << 16 | (i + 1 < len ? (uint32_t)v[i + 1] << 8 : 0);
        *p++ = b64[w >> 18];
        *p++ = b64[(w >> 12) & 63];
        *p++ = i + 1 < len ? b64[(w >> 6) & 63] : '=';
        *p++ = '=';
    }
    *p++ = '\0';
    out->len = (size_t)(p - (char *)out->data);
    return EDXBUS_OK;
}

/* Decode a header value read from the wire into @p out (room for strlen(text) bytes);
 * *@p len gets its length. A "base64:" value that is not base64 is kept as it is. */
static void get_value(const char *text, uint8_t *out, size_t *len)
{
    size_t n = strlen(text);
    if (n >= B64_PREFIX_LEN && memcmp(text, B64_PREFIX, B64_PREFIX_LEN) == 0 &&
        (n - B64_PREFIX_LEN) % 4 == 0) {
        const char *s = text + B64_PREFIX_LEN;
        size_t m = n - B64_PREFIX_LEN, o = 0;
        bool ok = true;
        for (size_t i = 0; ok && i < m; i += 4) {
            uint32_t w = 0;
            int pad = 0;
            for (int k = 0; k < 4; k++) {
                const char *c = s[i + k] != '\0' ? strchr(b64, s[i + k]) : NULL;
                if (s[i + k] == '=' && i + 4 == m && k >= 2) {
                    pad++;
                    w <<= 6;
                } else if (c != NULL && pad == 0) {
                    w = w << 6 | (uint32_t)(c - b64);
                } else {
                    ok = false;
                }
            }
            out[o++] = (uint8_t)(w >> 16);
            if (pad < 2)
                out[o++] = (uint8_t)(w >> 8);
            if (pad < 1)
                out[o++] = (uint8_t)w;
        }
        if (ok) {
            *len = o;
            return;
        }
    }
    memcpy(out, text, n);
    *len = n;
}

/* ------------------------------------------------------------------------------------------ */
/* Writing */

natsMsg *edxbus__nats_wire_msg(const struct edxbus_msg *msg, struct edxbus_buf *scratch,
                               char *errstr, size_t errstr_size)
{
    const struct edxbus_metadata *md = msg->metadata;
    if (md == NULL) {
        edxbus_errf(errstr, errstr_size, "nats: a message to \"%.100s\" has no metadata",
                 msg->topic);
        return NULL;
    }
    /* The text forms, each NUL-terminated, one after the other in scratch. */
    edxbus_buf_reset(scratch);
    size_t offs[NATS_META_HEADERS + 1];
    edxbus_err_t err = EDXBUS_OK;
    const char *failed = NULL;
    struct edxbus_buf field;
    edxbus_buf_init(&field);
    for (int k = 0; k < NATS_META_HEADERS && err == EDXBUS_OK; k++) {
        edxbus_buf_reset(&field);
        offs[k] = scratch->len;
        err = edxbus_metadata_field_text(md, meta_names[k], &field);
        if (err == EDXBUS_OK)
            err = put_value(scratch, field.data, field.len);
        else
            failed = meta_names[k];
    }
    edxbus_buf_fini(&field);
    size_t nh = msg->nheaders;
    size_t *hoffs = nh ? malloc(nh * sizeof *hoffs) : NULL;
    if (nh && hoffs == NULL)
        err = EDXBUS_ERR_NOMEM;
    for (size_t i = 0; i < nh && err == EDXBUS_OK; i++) {
        const char *name = msg->headers[i].name;
        if (name == NULL || name[0] == '\0' || strpbrk(name, ": \t\r\n") != NULL) {
            edxbus_errf(errstr, errstr_size,
                     "nats: header name \"%.80s\" cannot be a NATS header (empty, ':' or white "
                     "space)",
                     name ? name : "");
            free(hoffs);
            return NULL;
        }
        hoffs[i] = scratch->len;
        err = put_value(scratch, msg->headers[i].value, msg->headers[i].len);
    }
    if (err != EDXBUS_OK) {
        free(hoffs);
        edxbus_errf(errstr, errstr_size, "nats: metadata field %s: %s", failed ? failed : "",
                 edxbus_err2str(err));
        return NULL;
    }
    natsMsg *nm = NULL;
    natsStatus s = natsMsg_Create(&nm, msg->topic, NULL, (const char *)msg->value,
                                  (int)msg->value_len);
    const char *text = (const char *)scratch->data;
    if (s == NATS_OK)
        s = natsMsgHeader_Set(nm, "ce_specversion", "1.0");
    if (s == NATS_OK)
        s = natsMsgHeader_Set(nm, "content-type", "application/avro");
    if (s == NATS_OK)
        s = natsMsgHeader_Set(nm, "ce_datacontenttype", "application/avro");
    for (int k = 0; k < NATS_META_HEADERS && s == NATS_OK; k++)
        s = natsMsgHeader_Set(nm, header_names[k], text + offs[k]);
    for (size_t i = 0; i < nh && s == NATS_OK; i++)
        s = natsMsgHeader_Add(nm, msg->headers[i].name, text + hoffs[i]);
    free(hoffs);
    if (s != NATS_OK) {
        natsMsg_Destroy(nm);
        edxbus__nats_fail(s, 0, "making a message", errstr, errstr_size);
        return NULL;
    }
    return nm;
}

/* FNV-1a, 64 bits, over @p len bytes of @p p, continuing from @p h. */
static uint64_t fnv1a(uint64_t h, const void *p, size_t len)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < len; i++) {
        h ^= b[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

const char *edxbus__nats_msg_id(const struct edxbus_msg *msg, char *out, size_t size)
{
    const char *id = msg->metadata->id;
    if (msg->nheaders == 0 && msg->replay_of == NULL)
        return id;
    int n = snprintf(out, size, "%s", id);
    if (msg->nheaders > 0 && n >= 0 && (size_t)n < size) {
        uint64_t h = 0xcbf29ce484222325ULL;
        for (size_t i = 0; i < msg->nheaders; i++) {
            const char *name = msg->headers[i].name ? msg->headers[i].name : "";
            uint64_t len = msg->headers[i].len;
            h = fnv1a(h, name, strlen(name) + 1);
            h = fnv1a(h, &len, sizeof len);
            h = fnv1a(h, msg->headers[i].value, msg->headers[i].len);
        }
        n += snprintf(out + n, size - (size_t)n, "#%016" PRIx64, h);
    }
    if (msg->replay_of != NULL && n >= 0 && (size_t)n < size)
        snprintf(out + n, size - (size_t)n, "/%s", msg->replay_of);
    return out;
}

/* ------------------------------------------------------------------------------------------ */
/* Reading */

static void unusable(struct edxbus_msg *msg, struct nats_slot *slot, const char *fmt,
                     const char *a)
{
    char detail[EDXBUS_ERRSTR_SIZE];
    snprintf(detail, sizeof detail, fmt, a);
    snprintf(slot->why, sizeof slot->why, "nats message %s of topic %.80s: %.250s",
             msg->position, msg->topic, detail);
    msg->unusable = slot->why;
}

void edxbus__nats_slot_fini(struct nats_slot *slot)
{
    natsMsg_Destroy(slot->nm);
    free(slot->headers);
    free(slot->names);
    memset(slot, 0, sizeof *slot);
}

static bool is_fixed(const char *name)
{
    return strcmp(name, "ce_specversion") == 0 || strcmp(name, "content-type") == 0 ||
           strcmp(name, "ce_datacontenttype") == 0 || strncmp(name, "Nats-", 5) == 0;
}

/* Decoded values of every header of the message in slot->names; the extra ones listed in
 * slot->headers. counts/vals/lens get the metadata ones. */
static edxbus_err_t read_headers(struct nats_slot *slot, struct edxbus_msg *msg, int *counts,
                                 const uint8_t **vals, size_t *lens)
{
    const char **keys = NULL;
    int nkeys = 0;
    natsStatus s = natsMsgHeader_Keys(slot->nm, &keys, &nkeys);
    if (s == NATS_NOT_FOUND || nkeys == 0)
        return EDXBUS_OK;
    if (s != NATS_OK)
        return EDXBUS_ERR_NOMEM;
    /* Room: every value's text (a decoded value is never longer) plus a NUL each. */
    size_t need = 0, nvals = 0;
    for (int i = 0; i < nkeys; i++) {
        const char **v = NULL;
        int n = 0;
        if (natsMsgHeader_Values(slot->nm, keys[i], &v, &n) == NATS_OK) {
            for (int j = 0; j < n; j++)
                need += strlen(v[j]) + 1;
            nvals += (size_t)n;
            free(v);
        }
    }
    edxbus_err_t err = EDXBUS_OK;
    if (need > slot->names_cap) {
        char *p = realloc(slot->names, need);
        if (p == NULL)
            err = EDXBUS_ERR_NOMEM;
        else {
            slot->names = p;
            slot->names_cap = need;
        }
    }
    if (err == EDXBUS_OK && nvals > slot->headers_cap) {
        struct edxbus_header *h = realloc(slot->headers, nvals * sizeof *h);
        if (h == NULL)
            err = EDXBUS_ERR_NOMEM;
        else {
            slot->headers = h;
            slot->headers_cap = nvals;
        }
    }
    size_t used = 0;
    for (int i = 0; i < nkeys && err == EDXBUS_OK; i++) {
        const char **v = NULL;
        int n = 0;
        if (natsMsgHeader_Values(slot->nm, keys[i], &v, &n) != NATS_OK)
            continue;
        int k = 0;
        while (k < NATS_META_HEADERS && strcmp(keys[i], header_names[k]) != 0)
            k++;
        for (int j = 0; j < n; j++) {
            uint8_t *dst = (uint8_t *)slot->names + used;
            size_t len = 0;
            get_value(v[j], dst, &len);
            dst[len] = 0;
            used += len + 1;
            if (k < NATS_META_HEADERS) {
                if (counts[k]++ == 0) {
                    vals[k] = dst;
                    lens[k] = len;
                }
            } else if (!is_fixed(keys[i])) {
                /* The name lives in the message (libnats' map), which the slot keeps. */
                slot->headers[msg->nheaders].name = keys[i];
                slot->headers[msg->nheaders].value = dst;
                slot->headers[msg->nheaders].len = len;
                msg->nheaders++;
            }
        }
        free(v);
    }
    free(keys);
    msg->headers = msg->nheaders ? slot->headers : NULL;
    return err;
}

edxbus_err_t edxbus__nats_wire_parse(struct nats_slot *slot, const char *service_name,
                                     struct edxbus_msg *msg)
{
    memset(msg, 0, sizeof *msg);
    memset(&slot->md, 0, sizeof slot->md);
    snprintf(slot->topic, sizeof slot->topic, "%s", natsMsg_GetSubject(slot->nm));
    msg->topic = slot->topic;
    msg->metadata = &slot->md;
    msg->value = (const uint8_t *)natsMsg_GetData(slot->nm);
    msg->value_len = (size_t)natsMsg_GetDataLength(slot->nm);
    if (msg->value == NULL)
        msg->value = (const uint8_t *)"";
    msg->broker_time_ms = -1;
    jsMsgMetaData *meta = NULL;
    if (natsMsg_GetMetaData(&meta, slot->nm) == NATS_OK) {
        slot->stream_seq = meta->Sequence.Stream;
        slot->time_ns = meta->Timestamp;
        msg->broker_time_ms = meta->Timestamp / 1000000;
        msg->deliveries = (int64_t)meta->NumDelivered;
        jsMsgMetaData_Destroy(meta);
    }
    snprintf(msg->position, sizeof msg->position, "%" PRIu64, slot->stream_seq);

    const uint8_t *vals[NATS_META_HEADERS] = {NULL};
    size_t lens[NATS_META_HEADERS] = {0};
    int counts[NATS_META_HEADERS] = {0};
    if (read_headers(slot, msg, counts, vals, lens) != EDXBUS_OK)
        return EDXBUS_ERR_NOMEM;
    if (counts[0] != 1) {
        unusable(msg, slot, counts[0] == 0 ? "no ce_type header%s"
                                           : "the ce_type header appears more than once%s",
                 "");
        return EDXBUS_OK;
    }
    for (int k = 1; k < NATS_META_HEADERS; k++)
        if (counts[k] > 1) {
            unusable(msg, slot, "the %s header appears more than once", header_names[k]);
            return EDXBUS_OK;
        }
    if (counts[1] == 0) {
        unusable(msg, slot, "no ce_id header%s", "");
        return EDXBUS_OK;
    }
    char type[EDXBUS_METADATA_TEXT_MAX];
    if (lens[0] >= sizeof type || memchr(vals[0], '\0', lens[0]) != NULL) {
        unusable(msg, slot, "the ce_type header is not a usable event type%s", "");
        return EDXBUS_OK;
    }
    memcpy(type, vals[0], lens[0]);
    type[lens[0]] = '\0';
    char err[EDXBUS_ERRSTR_SIZE];
    bool all = true;
    for (int k = 0; k < NATS_META_HEADERS; k++)
        all = all && counts[k] == 1;
    if (!all &&
        edxbus_metadata_generate(&slot->md, type, 0, service_name, err, sizeof err) != EDXBUS_OK) {
        unusable(msg, slot, "cannot make default metadata: %.150s", err);
        return EDXBUS_OK;
    }
    for (int k = 0; k < NATS_META_HEADERS; k++) {
        if (counts[k] == 0)
            continue;
        if (edxbus_metadata_set_field(&slot->md, meta_names[k], (const char *)vals[k], lens[k],
                                      err, sizeof err) != EDXBUS_OK) {
            char detail[EDXBUS_ERRSTR_SIZE];
            snprintf(detail, sizeof detail, "header %s: %.170s", header_names[k], err);
            unusable(msg, slot, "%s", detail);
            return EDXBUS_OK;
        }
    }
    return EDXBUS_OK;
}
