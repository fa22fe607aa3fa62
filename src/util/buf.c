/* src/util/buf.c — the growable byte buffer behind every encoder.
 *
 * Growth doubles the capacity (at least 64 bytes), so appending n bytes costs O(n) amortised
 * and a reused buffer stops allocating once it has seen the largest event. A failed allocation
 * leaves the buffer as it was, so callers can report NOMEM and keep what they had.
 */
#include "edxbus/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void edxbus_buf_init(struct edxbus_buf *buf)
{
    buf->data = NULL;
    buf->len = 0;
    buf->cap = 0;
}

void edxbus_buf_fini(struct edxbus_buf *buf)
{
    free(buf->data);
    edxbus_buf_init(buf);
}

edxbus_err_t edxbus_buf_reserve(struct edxbus_buf *buf, size_t extra)
{
    if (extra <= buf->cap - buf->len)
        return EDXBUS_OK;
    if (extra > SIZE_MAX / 2 - buf->len)
        return EDXBUS_ERR_NOMEM;
    size_t want = buf->len + extra;
    size_t cap = buf->cap < 64 ? 64 : buf->cap;
    while (cap < want)
        cap *= 2;
    uint8_t *data = realloc(buf->data, cap);
    if (data == NULL)
        return EDXBUS_ERR_NOMEM;
    buf->data = data;
    buf->cap = cap;
    return EDXBUS_OK;
}

edxbus_err_t edxbus_buf_append(struct edxbus_buf *buf, const void *data, size_t len)
{
    if (len == 0)
        return EDXBUS_OK;
    edxbus_err_t err = edxbus_buf_reserve(buf, len);
    if (err != EDXBUS_OK)
        return err;
    memcpy(buf->data + buf->len, data, len);
    buf->len += len;
    return EDXBUS_OK;
}

edxbus_err_t edxbus_buf_puts(struct edxbus_buf *buf, const char *s)
{
    return edxbus_buf_append(buf, s, strlen(s));
}

edxbus_err_t edxbus_buf_printf(struct edxbus_buf *buf, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return EDXBUS_ERR_INVALID_ARG;
    edxbus_err_t err = edxbus_buf_reserve(buf, (size_t)n + 1);
    if (err != EDXBUS_OK)
        return err;
    va_start(ap, fmt);
    vsnprintf((char *)buf->data + buf->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    buf->len += (size_t)n;
    return EDXBUS_OK;
}

edxbus_err_t edxbus_buf_terminate(struct edxbus_buf *buf)
{
    edxbus_err_t err = edxbus_buf_reserve(buf, 1);
    if (err != EDXBUS_OK)
        return err;
    buf->data[buf->len] = '\0';
    return EDXBUS_OK;
}
