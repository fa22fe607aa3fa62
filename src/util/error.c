/* src/util/error.c — names and texts for edxbus_err_t, generated from EDXBUS_ERR_MAP.
 *
 * The enum, the texts, the names and the retriable flags all come from the one X-macro list in
 * include/edxbus/error.h; to add an error class, add a row there and nothing here changes.
 */
#include "edxbus/error.h"

#include <stdio.h>
#include <string.h>

#define ERR_CASE_TEXT(name, value, retriable, text)                                            \
    case EDXBUS_ERR_##name:                                                                    \
        return text;
#define ERR_CASE_NAME(name, value, retriable, text)                                            \
    case EDXBUS_ERR_##name:                                                                    \
        return #name;
#define ERR_CASE_RETRY(name, value, retriable, text)                                           \
    case EDXBUS_ERR_##name:                                                                    \
        return retriable;

const char *edxbus_err2str(edxbus_err_t err)
{
    switch (err) {
        EDXBUS_ERR_MAP(ERR_CASE_TEXT)
    }
    return "unknown error";
}

const char *edxbus_err2name(edxbus_err_t err)
{
    switch (err) {
        EDXBUS_ERR_MAP(ERR_CASE_NAME)
    }
    return "UNKNOWN";
}

bool edxbus_err_is_retriable(edxbus_err_t err)
{
    switch (err) {
        EDXBUS_ERR_MAP(ERR_CASE_RETRY)
    }
    return false;
}

void edxbus_verrf(char *errstr, size_t errstr_size, const char *fmt, va_list ap)
{
    if (errstr == NULL || errstr_size == 0)
        return;
    int n = vsnprintf(errstr, errstr_size, fmt, ap);
    if (n < 0 || (size_t)n < errstr_size)
        return;
    /* Cut: mark it, on a character boundary, when the buffer can hold the mark at all. */
    static const char mark[] = EDXBUS_ERRSTR_CUT;
    size_t room = sizeof mark; /* the mark and the NUL */
    if (errstr_size < room)
        return;
    size_t at = errstr_size - room;
    while (at > 0 && ((unsigned char)errstr[at] & 0xC0) == 0x80)
        at--; /* a continuation byte: back to the start of its character */
    memcpy(errstr + at, mark, sizeof mark);
}

void edxbus_errf(char *errstr, size_t errstr_size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    edxbus_verrf(errstr, errstr_size, fmt, ap);
    va_end(ap);
}
