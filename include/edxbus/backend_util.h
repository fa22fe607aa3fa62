/* include/edxbus/backend_util.h — the toolkit every backend uses, built in or plugin.
 *
 * What brokers have in common and would otherwise each write again: checking the URLs and
 * host lists of their settings and reporting problems the way `edxbus config check` shows them;
 * parsing connection URLs and masking every secret in them (the settings layer masks with the
 * same function, so a URL shows alike in every message and dump).
 * The sources live in src/backends/common/; everything here is part of libedxbus's API, so a
 * plugin gets the same helpers as the built-in backends.
 *
 * Thread rule: every function touches only its arguments.
 */
#ifndef EDXBUS_BACKEND_UTIL_H
#define EDXBUS_BACKEND_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "edxbus/backend.h"
#include "edxbus/conf.h"
#include "edxbus/doctor.h"
#include "edxbus/error.h"

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

/* --- doctor (doctor.h) --------------------------------------------------------------------- */

/** Report one finding through @p report, the text printf-style (one line; at most 512 bytes).
 *  @p subject, @p fix may be NULL; @p details (may be NULL) is taken (json_decref'd after the
 *  call). */
EDXBUS_API void edxbus_findingf(edxbus_finding_fn report, void *opaque, edxbus_severity_t severity,
                                const char *check, const char *subject, const char *fix,
                                json_t *details, const char *fmt, ...)
    __attribute__((format(printf, 8, 9)));

/** The finding every broker makes from two samples of a group's backlog (events stored and not
 *  acknowledged) taken @p interval_ms apart: "lag.growing" (warning) when @p after is above
 *  @p before, else "lag.steady" (info). @p topic is the full topic. */
EDXBUS_API void edxbus_doctor_lag_trend(edxbus_finding_fn report, void *opaque, const char *topic,
                                        const char *group, int64_t before, int64_t after,
                                        int64_t interval_ms);

/** The finding every broker makes for a dead-letter topic (@p dlq_topic, full) holding
 *  @p count events: "dead-letters.waiting" (warning) when @p count > 0; nothing otherwise. */
EDXBUS_API void edxbus_doctor_dead_letters(edxbus_finding_fn report, void *opaque,
                                           const char *dlq_topic, int64_t count);

/** Whether @p topic (full) is a dead-letter topic: it ends with "-dlq". */
EDXBUS_API bool edxbus_topic_is_dlq(const char *topic);

/* --- URLs ---------------------------------------------------------------------------------- */

/** One query parameter of a URL, percent-decoded. */
struct edxbus_url_param {
    char *name;
    char *value; /* "" for a bare name */
};

/** A parsed URL: scheme://[user[:password]@]host[:port][/path][?name=value&…]. Every string is
 *  owned (edxbus_url_fini()), percent-decoded; absent parts are NULL (port 0). */
struct edxbus_url {
    char *scheme;   /* lower case: "redis", "nats", "unix" */
    char *user;     /* NULL when absent */
    char *password; /* NULL when absent (an empty "user:@" gives "") */
    char *host;     /* without the brackets of an IPv6 address; NULL for scheme:///path */
    int port;       /* 0 when absent */
    char *path;     /* from the '/' after the authority on, or NULL: "/0", "/run/redis.sock" */
    struct edxbus_url_param *params;
    size_t nparams;
    char *display;  /* the text with secrets masked (edxbus_url_masked()), for messages */
};

/** Parse @p text into @p url (caller's storage). Errors: EDXBUS_ERR_CONF with the reason alone
 *  in @p errstr ("has a bad port (1..65535)"; the caller names the setting and shows the masked
 *  URL), EDXBUS_ERR_NOMEM. On error @p url holds nothing. */
EDXBUS_API edxbus_err_t edxbus_url_parse(const char *text, struct edxbus_url *url, char *errstr,
                                         size_t errstr_size);

/** Free what @p url owns (secrets wiped first) and zero it. */
EDXBUS_API void edxbus_url_fini(struct edxbus_url *url);

/** The value of query parameter @p name (the last when repeated), or NULL. Borrowed. */
EDXBUS_API const char *edxbus_url_param(const struct edxbus_url *url, const char *name);

/** @p text with every secret masked as ******** — the user-info's password and the values of
 *  query parameters named like secrets (edxbus_is_secret_name()) — and control bytes escaped as
 *  \xNN. Works on any text (without a scheme, the part before '@' is the user-info). Returns
 *  new (free()); NULL when out of memory. */
EDXBUS_API char *edxbus_url_masked(const char *text);

/** Overwrite the string @p s with zeros, then free() it (a secret does not outlive its use in
 *  freed heap memory). NULL is a no-op. */
EDXBUS_API void edxbus_secret_free(char *s);

/** Whether a setting, parameter or key named @p name holds a secret: its name contains
 *  password, secret, token, credential or nkey (any case). */
EDXBUS_API bool edxbus_is_secret_name(const char *name);

#ifdef __cplusplus
}
#endif
#endif /* EDXBUS_BACKEND_UTIL_H */
