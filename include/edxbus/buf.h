/* include/edxbus/buf.h — a growable byte buffer that the caller owns.
 *
 * Encoders append to an edxbus_buf; reuse one buffer across events (reset, don't fini) and the
 * hot path allocates nothing once it has grown to the largest event.
 *
 * Thread rule: a buffer belongs to one thread at a time.
 */
#ifndef EDXBUS_BUF_H
#define EDXBUS_BUF_H

#include <stddef.h>
#include <stdint.h>

#include "edxbus/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Caller-owned storage; the fields are open so a reader can use data/len directly. */
struct edxbus_buf {
    uint8_t *data; /* NULL until the first append; not NUL-terminated unless said so */
    size_t len;    /* bytes in use */
    size_t cap;    /* bytes allocated */
};

#define EDXBUS_BUF_INIT {NULL, 0, 0}

/** Initialise @p buf empty; nothing is allocated yet. */
EDXBUS_API void edxbus_buf_init(struct edxbus_buf *buf);

/** Free what @p buf holds and leave it empty (it can be used again). */
EDXBUS_API void edxbus_buf_fini(struct edxbus_buf *buf);

/** Forget the contents but keep the memory, for the next event. */
static inline void edxbus_buf_reset(struct edxbus_buf *buf) { buf->len = 0; }

/** Make room for @p extra more bytes. Returns EDXBUS_ERR_NOMEM on failure (buf unchanged). */
EDXBUS_API edxbus_err_t edxbus_buf_reserve(struct edxbus_buf *buf, size_t extra);

/** Append @p len bytes. */
EDXBUS_API edxbus_err_t edxbus_buf_append(struct edxbus_buf *buf, const void *data, size_t len);

/** Append a NUL-terminated string (without its NUL). */
EDXBUS_API edxbus_err_t edxbus_buf_puts(struct edxbus_buf *buf, const char *s);

/** Append printf-style text (without a NUL). */
EDXBUS_API edxbus_err_t edxbus_buf_printf(struct edxbus_buf *buf, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/** Write a NUL after the contents (not counted in len), so data can be used as a C string. */
EDXBUS_API edxbus_err_t edxbus_buf_terminate(struct edxbus_buf *buf);

#ifdef __cplusplus
}
#endif
#endif /* EDXBUS_BUF_H */
