/* include/edxbus/error.h — one error type for every fallible call in edxbus.
 *
 * Every fallible function returns an edxbus_err_t: EDXBUS_OK (0) on success, a negative class
 * on failure. When the reason is worth words, the function also takes
 * `char *errstr, size_t errstr_size` and writes one line there (no trailing period) that names
 * what failed, where (field path, byte offset, setting name) and how to fix it.
 * The code is for programs, the text for humans.
 *
 * Thread rule: everything here is pure and may be called from any thread.
 */
#ifndef EDXBUS_ERROR_H
#define EDXBUS_ERROR_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(EDXBUS_BUILDING)
#define EDXBUS_API __attribute__((visibility("default")))
#else
#define EDXBUS_API
#endif

/** Size of the error buffers edxbus fills. Every message the library makes fits in it whole,
 *  the longest ones included (a broker outage reported for an event: what, the event id, the
 *  stream or topic, the broker's URL and the operating system's reason, each layer adding its
 *  context). When a message still does not fit the buffer it is written to (a smaller buffer,
 *  or a very long topic name), it is cut on a UTF-8 character boundary and ends with "…"
 *  (U+2026), so a cut message never passes for a complete one. */
#define EDXBUS_ERRSTR_SIZE 1024

/** The mark a cut message ends with: U+2026 in UTF-8 (3 bytes). */
#define EDXBUS_ERRSTR_CUT "\xe2\x80\xa6"

/* XX(NAME, value, retriable, description). One list yields the enum, edxbus_err2str(),
 * edxbus_err2name() and edxbus_err_is_retriable(), so they can never drift apart. */
#define EDXBUS_ERR_MAP(XX)                                                                     \
    XX(OK, 0, false, "success")                                                                \
    XX(INVALID_ARG, -1, false, "invalid argument")                                             \
    XX(NOMEM, -2, false, "out of memory")                                                      \
    XX(SCHEMA, -3, false, "invalid Avro schema")                                               \
    XX(ENCODE, -4, false, "value does not match the schema")                                   \
    XX(DECODE, -5, false, "bytes do not decode under the schema")                              \
    XX(NOT_FOUND, -6, false, "no such item")                                                   \
    XX(UNSERIALIZABLE, -7, false, "event cannot be serialized")                                \
    XX(CONF, -8, false, "invalid settings")                                                    \
    XX(IO, -9, true, "input/output error")                                                     \
    XX(BROKER, -10, true, "broker error")                                                      \
    XX(TIMEOUT, -11, true, "timed out")                                                        \
    XX(QUEUE_FULL, -12, true, "queue full")                                                    \
    XX(STATE, -13, false, "call not valid in this state")                                      \
    XX(UNSUPPORTED, -14, false, "not supported by this backend")                               \
    XX(AUTH, -15, false, "authentication failed")                                              \
    XX(RECEIVER, -16, true, "a receiver failed")                                               \
    XX(FATAL, -17, false, "fatal error")                                                       \
    XX(ERRORS_LIMIT, -18, false, "consecutive-errors limit reached")

typedef enum {
#define EDXBUS_ERR_ENUM_(name, value, retriable, text) EDXBUS_ERR_##name = (value),
    EDXBUS_ERR_MAP(EDXBUS_ERR_ENUM_)
#undef EDXBUS_ERR_ENUM_
} edxbus_err_t;

#define EDXBUS_OK EDXBUS_ERR_OK

/** A short human description of @p err ("broker error"). Never NULL; static storage. */
EDXBUS_API const char *edxbus_err2str(edxbus_err_t err);

/** The symbolic name of @p err without prefix ("BROKER"). Never NULL; static storage. */
EDXBUS_API const char *edxbus_err2name(edxbus_err_t err);

/** Whether retrying the same call later may succeed (I/O, broker, timeout, queue full,
 *  receiver failures). The worker's retry policy reads this. */
EDXBUS_API bool edxbus_err_is_retriable(edxbus_err_t err);

/** Write one error line into @p errstr, printf-style, as edxbus writes its own: when the text
 *  does not fit in @p errstr_size bytes it is cut on a UTF-8 character boundary and ends with
 *  EDXBUS_ERRSTR_CUT ("…"). Does nothing when @p errstr is NULL or @p errstr_size is 0. For
 *  backends and plugins, so that their messages are marked the same way. Async-signal-safety
 *  is that of vsnprintf (none). */
EDXBUS_API void edxbus_errf(char *errstr, size_t errstr_size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/** edxbus_errf() with a va_list. */
EDXBUS_API void edxbus_verrf(char *errstr, size_t errstr_size, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

#ifdef __cplusplus
}
#endif
#endif /* EDXBUS_ERROR_H */
