/* src/backends/common/produce.c — what asynchronous producers share (backend_util.h): a copy
 * of a message that outlives produce() for its delivery report, and a FIFO of them.
 *
 * The copy is one allocation: the caller's struct (which starts with struct edxbus_msg_copy),
 * then the header array (at the block's alignment), then the bytes of the topic, key, value
 * and each header's name and value. So a report costs one malloc and one free, and nothing in
 * it points outside the block. The FIFO is a ring of pointers that doubles when full; reports
 * of brokers that answer in order (Redis, a SQLite transaction) settle its head.
 */
#include <stdlib.h>
#include <string.h>

#include "edxbus/backend_util.h"

static void *copy_into(uint8_t **p, const void *src, size_t len)
{
    void *dst = *p;
    if (len > 0)
        memcpy(dst, src, len);
    *p += len;
    return dst;
}

/* @p src's text (NUL-terminated within @p size, or all @p size bytes) into @p dst. */
static void copy_text(char *dst, const char *src, size_t size)
{
    size_t n = strnlen(src, size);
    memcpy(dst, src, n < size ? n + 1 : size);
}

/* The metadata without the unused tails of its text fields: the struct is 1.6 kB, its texts
 * usually under 100 bytes, and writing all of it per event was most of a send's cache misses.
 * (metadata.h: the bytes after a text's NUL are never read.) */
static void copy_metadata(struct edxbus_metadata *dst, const struct edxbus_metadata *src)
{
    copy_text(dst->event_type, src->event_type, sizeof dst->event_type);
    copy_text(dst->id, src->id, sizeof dst->id);
    dst->minorversion = src->minorversion;
    copy_text(dst->source, src->source, sizeof dst->source);
    copy_text(dst->sourcehost, src->sourcehost, sizeof dst->sourcehost);
    dst->time_us = src->time_us;
    memcpy(dst->sourcelib, src->sourcelib, sizeof dst->sourcelib);
    dst->nsourcelib = src->nsourcelib;
}

void *edxbus_msg_copy_new(const struct edxbus_msg *msg, size_t size, edxbus_delivery_fn cb,
                          void *cb_opaque)
{
    if (size < sizeof(struct edxbus_msg_copy))
        size = sizeof(struct edxbus_msg_copy);
    /* Headers right after the caller's struct: their array wants pointer alignment. */
    size_t head = (size + sizeof(void *) - 1) / sizeof(void *) * sizeof(void *);
    size_t topic_len = strlen(msg->topic) + 1;
    size_t total = head + msg->nheaders * sizeof(struct edxbus_header) + topic_len + msg->key_len +
                   msg->value_len;
    for (size_t i = 0; i < msg->nheaders; i++)
        total += strlen(msg->headers[i].name) + 1 + msg->headers[i].len;
    struct edxbus_msg_copy *c = malloc(total);
    if (c == NULL)
        return NULL;
    /* The copy's own fields are all written below: zero only what follows them (the caller's
     * part). The metadata alone is 1.6 kB, and a Redis command follows it. */
    memset((uint8_t *)c + sizeof *c, 0, head - sizeof *c);
    uint8_t *p = (uint8_t *)c + head;
    struct edxbus_header *h =
        copy_into(&p, msg->headers, msg->nheaders * sizeof(struct edxbus_header));
    for (size_t i = 0; i < msg->nheaders; i++) {
        h[i].name = copy_into(&p, msg->headers[i].name, strlen(msg->headers[i].name) + 1);
        h[i].value = copy_into(&p, msg->headers[i].value, msg->headers[i].len);
    }
    c->msg = *msg;
    if (msg->metadata != NULL) {
        copy_metadata(&c->md, msg->metadata);
        c->msg.metadata = &c->md;
    } else {
        memset(&c->md, 0, sizeof c->md);
    }
    c->msg.headers = msg->nheaders ? h : NULL;
    c->msg.topic = copy_into(&p, msg->topic, topic_len);
    c->msg.key = msg->key ? copy_into(&p, msg->key, msg->key_len) : NULL;
    c->msg.value = copy_into(&p, msg->value, msg->value_len);
    /* Only the produce-side fields mean anything in a delivery report. */
    c->msg.key_schema = NULL;
    c->msg.value_schema = NULL;
    c->msg.replay_of = NULL;
    c->msg.broker_time_ms = -1;
    c->cb = cb;
    c->cb_opaque = cb_opaque;
    c->queued_ms = edxbus_clock_mono_ms();
    return c;
}

void edxbus_msg_copy_report(const struct edxbus_msg_copy *copy, edxbus_err_t err,
                            const char *errstr, const char *position)
{
    copy->cb(copy->cb_opaque, &copy->msg, err, err == EDXBUS_OK ? NULL : errstr,
             err == EDXBUS_OK ? position : NULL);
}

edxbus_err_t edxbus_fifo_push(struct edxbus_fifo *fifo, void *item)
{
    if (fifo->len == fifo->cap) {
        size_t cap = fifo->cap ? fifo->cap * 2 : 256;
        void **items = malloc(cap * sizeof *items);
        if (items == NULL)
            return EDXBUS_ERR_NOMEM;
        for (size_t i = 0; i < fifo->len; i++)
            items[i] = edxbus_fifo_at(fifo, i);
        free(fifo->items);
        fifo->items = items;
        fifo->cap = cap;
        fifo->head = 0;
    }
    fifo->items[(fifo->head + fifo->len) % fifo->cap] = item;
    fifo->len++;
    return EDXBUS_OK;
}

void *edxbus_fifo_pop(struct edxbus_fifo *fifo)
{
    if (fifo->len == 0)
        return NULL;
    void *item = fifo->items[fifo->head];
    fifo->head = (fifo->head + 1) % fifo->cap;
    fifo->len--;
    return item;
}

void edxbus_fifo_fini(struct edxbus_fifo *fifo)
{
    free(fifo->items);
    *fifo = (struct edxbus_fifo)EDXBUS_FIFO_INIT;
}
