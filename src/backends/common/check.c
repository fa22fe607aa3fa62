/* src/backends/common/check.c — what backends' config checks share: URL and host-list
 * validation and the problem line (backend_util.h).
 *
 * The core type-checks every row of a backend's table; a backend's check() adds what only it
 * knows (schemes, required settings), through these helpers so that every backend's messages
 * read alike: `SETTING: "value, secrets masked" what is wrong; expected e.g. …`.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edxbus/backend_util.h"

bool edxbus_url_is_valid(const char *url, const char *const *schemes, const char **why)
{
    const char *sep = strstr(url, "://");
    bool known = false;
    for (const char *const *s = schemes; sep && *s; s++)
        known |= strlen(*s) == (size_t)(sep - url) && strncmp(url, *s, strlen(*s)) == 0;
    if (!known) {
        *why = "is not a URL of a supported scheme";
        return false;
    }
    const char *auth = sep + 3;
    if (strncmp(url, "unix", 4) == 0) {
        if (strchr(auth, '/') != NULL)
            return true;
        *why = "has no socket path";
        return false;
    }
    const char *end = auth + strcspn(auth, "/?#");
    const char *host = auth;
    for (const char *p = auth; p < end; p++)
        if (*p == '@')
            host = p + 1;
    const char *host_end = memchr(host, ':', (size_t)(end - host));
    if (host < end && *host == '[') { /* [v6 address]:port */
        const char *rb = memchr(host, ']', (size_t)(end - host));
        host_end = rb ? rb + 1 : host;
    }
    if (host_end == NULL)
        host_end = end;
    if (host_end == host) {
        *why = "has no host";
        return false;
    }
    if (host_end < end) {
        char *stop;
        long port = *host_end == ':' ? strtol(host_end + 1, &stop, 10) : 0;
        if (*host_end != ':' || stop != end || stop == host_end + 1 || port < 1 || port > 65535) {
            *why = "has a bad port (1..65535)";
            return false;
        }
    }
    return true;
}

bool edxbus_hostports_is_valid(const char *list)
{
    for (const char *p = list; *p;) {
        size_t n = strcspn(p, ",");
        const char *colon = memchr(p, ':', n);
        char *end = NULL;
        long port = colon ? strtol(colon + 1, &end, 10) : 0;
        if (colon == NULL || colon == p || end != p + n || port < 1 || port > 65535)
            return false;
        p += n + (p[n] == ',');
    }
    return true;
}

void edxbus_problemf(edxbus_problem_fn problem, void *opaque, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    problem(opaque, line);
}

void edxbus_check_url_setting(const edxbus_conf_t *conf, const char *name,
                              const char *const *schemes, const char *expected,
                              edxbus_problem_fn problem, void *opaque)
{
    const char *url = edxbus_conf_get_str(conf, name, NULL);
    const char *why = NULL;
    char shown[96];
    if (url != NULL && !edxbus_url_is_valid(url, schemes, &why))
        edxbus_problemf(problem, opaque, "%s: %s %s; expected %s", name,
                        edxbus_conf_show(conf, name, shown, sizeof shown), why, expected);
}
