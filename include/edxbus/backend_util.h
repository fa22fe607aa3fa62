/* include/edxbus/backend_util.h — the toolkit every backend uses, built in or plugin.
 *
 * What brokers have in common and would otherwise each write again: checking the URLs and
 * host lists of their settings and reporting problems the way `edxbus config check` shows them.
 * The sources live in src/backends/common/; everything here is part of libedxbus's API, so a
 * plugin gets the same helpers as the built-in backends.
 *
 * Thread rule: every function touches only its arguments.
 */
#ifndef EDXBUS_BACKEND_UTIL_H
#define EDXBUS_BACKEND_UTIL_H

#include <stdbool.h>
#include <stddef.h>

#include "edxbus/backend.h"
#include "edxbus/conf.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Whether @p url is scheme://[user[:password]@]host[:port][/path][?query] with a scheme of
 *  @p schemes (NULL-terminated, e.g. {"redis", "rediss", NULL}); "unix" needs a socket path
 *  instead of a host. On false, *@p why (static text) says what is wrong ("has no host"). */
EDXBUS_API bool edxbus_url_is_valid(const char *url, const char *const *schemes, const char **why);

/** Whether @p list is host:port[,host:port...] with ports 1..65535. */
EDXBUS_API bool edxbus_hostports_is_valid(const char *list);

/** Report one problem through @p problem, printf-style (one line; at most 512 bytes). */
EDXBUS_API void edxbus_problemf(edxbus_problem_fn problem, void *opaque, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/** The usual URL check of a config check: when setting @p name is set and is not a valid URL
 *  of @p schemes, report `NAME: "shown value" why; expected EXPECTED` (password masked). */
EDXBUS_API void edxbus_check_url_setting(const edxbus_conf_t *conf, const char *name,
                                         const char *const *schemes, const char *expected,
                                         edxbus_problem_fn problem, void *opaque);

#ifdef __cplusplus
}
#endif
#endif /* EDXBUS_BACKEND_UTIL_H */
