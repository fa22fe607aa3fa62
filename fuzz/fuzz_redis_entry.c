/* fuzz/fuzz_redis_entry.c — libFuzzer target for the Redis stream entry reader
 * (src/backends/redis/redis_wire.c, edxbus__redis_wire_parse): the [id, [field, value, …]]
 * reply a consumer gets from XREADGROUP / XAUTOCLAIM, whose fields any producer wrote.
 *
 * Input: one flag byte, then elements, each a tag byte, a 2-byte big-endian length and that
 * many bytes. The first element is the entry id (its bytes made into a "ms-seq" number pair,
 * as only the server writes ids), the rest the field list, in order. A tag
 * picks the reply type (tag % 4: 0 string, 1 status, 2 integer, 3 nil), as hiredis would
 * build it (strings NUL-terminated after len). Flag bits: 1: the field list is nil (an entry
 * XDEL removed while pending); 2: the entry has a third element (a malformed reply); 4: the id
 * is an integer reply.
 * Invariants checked (abort on violation): the call returns EDXBUS_OK; an unusable entry has
 * a reason that is one terminated line in `why`; a usable one has metadata that writes to JSON,
 * a value pointing into the event_data field, and headers pointing into the entry. ASan and
 * LeakSanitizer check the rest. Nothing is kept between inputs.
 *
 * Seed corpus: fuzz/corpus/redis_entry/ (the eight fields of rows of tests/vectors/redis.jsonl
 * in this format, and entries with missing, empty and duplicated fields).
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/redis/redis_int.h"
#include "edxbus/buf.h"
#include "edxbus/metadata.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_ELEMENTS 64

static redisReply *reply_new(int type)
{
    redisReply *r = calloc(1, sizeof *r);
    if (r != NULL)
        r->type = type;
    return r;
}

/* A string-like reply holding a NUL-terminated copy of [p, p+len). */
static redisReply *reply_str(int type, const uint8_t *p, size_t len)
{
    redisReply *r = reply_new(type);
    if (r == NULL)
        return NULL;
    r->str = malloc(len + 1);
    if (r->str == NULL) {
        free(r);
        return NULL;
    }
    if (len)
        memcpy(r->str, p, len);
    r->str[len] = '\0';
    r->len = len;
    return r;
}

static void reply_free(redisReply *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->elements; i++)
        reply_free(r->element[i]);
    free(r->element);
    free(r->str);
    free(r);
}

static redisReply *element(uint8_t tag, const uint8_t *p, size_t len)
{
    switch (tag % 4) {
    case 0:
        return reply_str(REDIS_REPLY_STRING, p, len);
    case 1:
        return reply_str(REDIS_REPLY_STATUS, p, len);
    case 2: {
        redisReply *r = reply_new(REDIS_REPLY_INTEGER);
        if (r != NULL)
            r->integer = (long long)len;
        return r;
    }
    default:
        return reply_new(REDIS_REPLY_NIL);
    }
}

static bool within(const void *p, size_t len, const redisReply *r)
{
    const char *c = p;
    return r->str != NULL && c >= r->str && c + len <= r->str + r->len;
}

static void check(const struct edxbus_msg *msg, const redisReply *fields, const char *why)
{
    if (msg->unusable != NULL) {
        if (msg->unusable != why || memchr(why, '\0', EDXBUS_ERRSTR_SIZE * 2) == NULL ||
            strchr(why, '\n') != NULL || why[0] == '\0')
            abort(); /* an unusable entry says why, on one line */
        return;
    }
    struct edxbus_buf json = EDXBUS_BUF_INIT;
    if (msg->metadata == NULL || edxbus_metadata_to_json(msg->metadata, &json) != EDXBUS_OK)
        abort();
    edxbus_buf_fini(&json);
    if (fields == NULL || fields->type != REDIS_REPLY_ARRAY)
        abort(); /* usable without a field list */
    bool value_ok = false;
    for (size_t i = 0; i < fields->elements; i++)
        if (within(msg->value, msg->value_len, fields->element[i]))
            value_ok = true;
    if (!value_ok)
        abort(); /* the value must be one field's bytes */
    for (size_t h = 0; h < msg->nheaders; h++) {
        bool name_ok = false, val_ok = false;
        for (size_t i = 0; i < fields->elements; i++) {
            name_ok = name_ok || fields->element[i]->str == msg->headers[h].name;
            val_ok =
                val_ok || within(msg->headers[h].value, msg->headers[h].len, fields->element[i]);
        }
        if (!name_ok || !val_ok)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t flags = data[0];
    size_t pos = 1;

    redisReply *entry = reply_new(REDIS_REPLY_ARRAY);
    redisReply *fields = reply_new((flags & 1) ? REDIS_REPLY_NIL : REDIS_REPLY_ARRAY);
    size_t nentry = (flags & 2) ? 3 : 2;
    if (entry == NULL || fields == NULL)
        goto out;
    entry->element = calloc(nentry, sizeof *entry->element);
    if (entry->element == NULL)
        goto out;
    entry->elements = nentry;
    entry->element[1] = fields;
    if (!(flags & 1)) {
        fields->element = calloc(MAX_ELEMENTS, sizeof *fields->element);
        if (fields->element == NULL)
            goto out;
    }
    fields = NULL; /* owned by entry now */
    redisReply *list = entry->element[1];

    bool have_id = false;
    while (pos + 3 <= size) {
        uint8_t tag = data[pos];
        size_t len = (size_t)data[pos + 1] << 8 | data[pos + 2];
        pos += 3;
        if (len > size - pos)
            len = size - pos;
        const uint8_t *p = data + pos;
        pos += len;
        if (!have_id) {
            /* The id comes from the server, always "ms-seq": made from the element's bytes. */
            uint64_t ms = 0, seq = 0;
            for (size_t i = 0; i < len; i++) {
                if (i < 8)
                    ms = ms << 8 | p[i];
                else
                    seq = seq << 8 | p[i];
            }
            char id[48];
            int n = snprintf(id, sizeof id, "%" PRIu64 "-%" PRIu64, ms, seq);
            entry->element[0] =
                (flags & 4) ? element(2, p, len) : element(tag, (const uint8_t *)id, (size_t)n);
            if (entry->element[0] == NULL)
                goto out;
            have_id = true;
        } else if (list->type == REDIS_REPLY_ARRAY && list->elements < MAX_ELEMENTS) {
            redisReply *r = element(tag, p, len);
            if (r == NULL)
                goto out;
            list->element[list->elements++] = r;
        }
    }
    if (!have_id)
        entry->element[0] = reply_str(REDIS_REPLY_STRING, (const uint8_t *)"0-1", 3);
    if ((flags & 2) && entry->element[0] != NULL)
        entry->element[2] = reply_new(REDIS_REPLY_NIL);

    struct edxbus_msg msg;
    struct edxbus_slot slot;
    memset(&slot, 0, sizeof slot);
    memset(slot.why, 'x', sizeof slot.why);
    if (edxbus__redis_wire_parse(entry, "fuzz-stream", "fuzz-service", &msg, &slot) != EDXBUS_OK)
        abort();
    check(&msg, list, slot.why);
    free(slot.headers);
out:
    reply_free(entry);
    reply_free(fields);
    return 0;
}
