/* src/util/error.c — names and texts for edxbus_err_t, generated from EDXBUS_ERR_MAP.
 *
 * The enum, the texts, the names and the retriable flags all come from the one X-macro list in
 * include/edxbus/error.h; to add an error class, add a row there and nothing here changes.
 */
#include "edxbus/error.h"

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
