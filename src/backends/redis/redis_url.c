/* src/backends/redis/redis_url.c — EVENT_BUS_REDIS_CONNECTION_URL, as redis-py reads it.
 *
 * edx-event-bus-redis hands the setting to redis-py's Redis.from_url, so the forms operators
 * already have must keep working:
 *   redis://[[user]:[password]@]host[:port][/db]     (TCP; port 6379, db 0 by default)
 *   rediss://…                                        (the same over TLS)
 *   unix://[[user]:[password]@]/path/to.sock[?db=N]   (a unix socket)
 * User, password and path are percent-decoded; `?db=N` is accepted on every form and wins over
 * the path's number, as in redis-py. An empty user (`redis://:secret@host`) means AUTH with the
 * password alone. The password is a secret: every message built here shows the URL with the
 * password replaced by ********, and nothing else keeps the raw text.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redis_int.h"

#define MASK "********"

/* Append [s, s+len) with control bytes as \xNN, so that a message stays one line. */
static void put_shown(struct edxbus_buf *out, const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f)
            edxbus_buf_printf(out, "\\x%02x", c);
        else
            edxbus_buf_append(out, &s[i], 1);
    }
}

/* The URL as text with any password masked and control bytes escaped, for messages.
 * Returns new (free()); NULL: nomem. */
static char *masked(const char *text)
{
    const char *scheme_end = strstr(text, "://");
    const char *auth = scheme_end ? scheme_end + 3 : text;
    const char *at = strrchr(auth, '@');
    const char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
    struct edxbus_buf out = EDXBUS_BUF_INIT;
    if (colon == NULL) {
        put_shown(&out, text, strlen(text));
    } else {
        put_shown(&out, text, (size_t)(colon + 1 - text));
        edxbus_buf_puts(&out, MASK);
        put_shown(&out, at, strlen(at));
    }
    if (edxbus_buf_terminate(&out) != EDXBUS_OK) {
        edxbus_buf_fini(&out);
        return NULL;
    }
    return (char *)out.data;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Percent-decode [s, s+len) into a new string. Returns NULL when out of memory or malformed. */
static char *unquote(const char *s, size_t len)
{
    char *out = malloc(len + 1);
    if (out == NULL)
        return NULL;
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '%' && i + 2 < len) {
            int hi = hexval((unsigned char)s[i + 1]);
            int lo = hexval((unsigned char)s[i + 2]);
            if (hi >= 0 && lo >= 0) {
                out[n++] = (char)(hi * 16 + lo);
                i += 2;
                continue;
            }
        }
        out[n++] = s[i];
    }
    out[n] = '\0';
    return out;
}

static bool parse_int(const char *s, size_t len, long min, long max, long *out)
{
    if (len == 0 || len > 10)
        return false;
    long v = 0;
    for (size_t i = 0; i < len; i++) {
        if (!isdigit((unsigned char)s[i]))
            return false;
        v = v * 10 + (s[i] - '0');
    }
    if (v < min || v > max)
        return false;
    *out = v;
    return true;
}

static edxbus_err_t bad(const char *text, const char *why, char *errstr, size_t errstr_size)
{
    char *shown = masked(text);
    snprintf(errstr, errstr_size,
             REDIS_SETTING_URL ": \"%s\" %s; expected redis://[[user]:[password]@]host:port/db, "
                               "rediss://… or unix:///path/to.sock?db=N",
             shown ? shown : "(url)", why);
    free(shown);
    return EDXBUS_ERR_CONF;
}

/* `db=N` anywhere in the query @p q (without the '?'). */
static edxbus_err_t parse_query(const char *text, const char *q, struct redis_url *url,
                                char *errstr, size_t errstr_size)
{
    while (*q != '\0') {
        size_t len = strcspn(q, "&");
        if (len > 3 && strncmp(q, "db=", 3) == 0) {
            long db;
            if (!parse_int(q + 3, len - 3, 0, 1000000, &db))
                return bad(text, "has a bad db number", errstr, errstr_size);
            url->db = (int)db;
        }
        q += len;
        if (*q == '&')
            q++;
    }
    return EDXBUS_OK;
}

/* [user][:password]@ at the start of [s, end). */
static edxbus_err_t parse_userinfo(const char *s, const char *end, struct redis_url *url)
{
    const char *colon = memchr(s, ':', (size_t)(end - s));
    const char *user_end = colon ? colon : end;
    if (user_end > s) {
        url->user = unquote(s, (size_t)(user_end - s));
        if (url->user == NULL)
            return EDXBUS_ERR_NOMEM;
    }
    if (colon != NULL) {
        url->password = unquote(colon + 1, (size_t)(end - colon - 1));
        if (url->password == NULL)
            return EDXBUS_ERR_NOMEM;
    }
    return EDXBUS_OK;
}

/* host[:port] or [v6]:port in [s, end). */
static edxbus_err_t parse_hostport(const char *text, const char *s, const char *end,
                                   struct redis_url *url, char *errstr, size_t errstr_size)
{
    const char *host = s, *host_end, *port = NULL;
    if (s < end && *s == '[') {
        const char *close = memchr(s, ']', (size_t)(end - s));
        if (close == NULL)
            return bad(text, "has an unclosed [", errstr, errstr_size);
        host = s + 1;
        host_end = close;
        if (close + 1 < end) {
            if (close[1] != ':')
                return bad(text, "has junk after ]", errstr, errstr_size);
            port = close + 2;
        }
    } else {
        const char *colon = memchr(s, ':', (size_t)(end - s));
        host_end = colon ? colon : end;
        if (colon != NULL)
            port = colon + 1;
    }
    url->host =
        host_end > host ? unquote(host, (size_t)(host_end - host)) : unquote("localhost", 9);
    if (url->host == NULL)
        return EDXBUS_ERR_NOMEM;
    url->port = 6379;
    if (port != NULL) {
        long p;
        if (!parse_int(port, (size_t)(end - port), 1, 65535, &p))
            return bad(text, "has a bad port", errstr, errstr_size);
        url->port = (int)p;
    }
    return EDXBUS_OK;
}

static edxbus_err_t parse(const char *text, struct redis_url *url, char *errstr, size_t errstr_size)
{
    const char *rest;
    bool is_unix = false;
    if (strncmp(text, "redis://", 8) == 0) {
        rest = text + 8;
    } else if (strncmp(text, "rediss://", 9) == 0) {
        rest = text + 9;
        url->tls = true;
    } else if (strncmp(text, "unix://", 7) == 0) {
        rest = text + 7;
        is_unix = true;
    } else {
        return bad(text, "is not a Redis URL", errstr, errstr_size);
    }
    const char *query = strchr(rest, '?');
    const char *end = query ? query : rest + strlen(rest);
    /* The authority ends at the first '/', but a password may hold '/' and '@': the userinfo
     * ends at the last '@' before the path (redis-py splits the same way). */
    const char *at = NULL;
    for (const char *p = rest; p < end; p++)
        if (*p == '@')
            at = p;
    edxbus_err_t err = EDXBUS_OK;
    if (at != NULL)
        err = parse_userinfo(rest, at, url);
    if (err != EDXBUS_OK)
        return err;
    const char *hp = at ? at + 1 : rest;
    if (is_unix) {
        if (hp == end)
            return bad(text, "has no socket path", errstr, errstr_size);
        url->path = unquote(hp, (size_t)(end - hp));
        if (url->path == NULL)
            return EDXBUS_ERR_NOMEM;
    } else {
        const char *slash = memchr(hp, '/', (size_t)(end - hp));
        const char *hp_end = slash ? slash : end;
        err = parse_hostport(text, hp, hp_end, url, errstr, errstr_size);
        if (err != EDXBUS_OK)
            return err;
        if (slash != NULL && slash + 1 < end) {
            long db;
            if (!parse_int(slash + 1, (size_t)(end - slash - 1), 0, 1000000, &db))
                return bad(text, "has a bad db number", errstr, errstr_size);
            url->db = (int)db;
        }
    }
    if (query != NULL)
        err = parse_query(text, query + 1, url, errstr, errstr_size);
    return err;
}

edxbus_err_t edxbus__redis_url_parse(const char *text, struct redis_url *url, char *errstr,
                                     size_t errstr_size)
{
    memset(url, 0, sizeof *url);
    edxbus_err_t err = parse(text, url, errstr, errstr_size);
    if (err == EDXBUS_OK) {
        url->display = masked(text);
        if (url->display == NULL)
            err = EDXBUS_ERR_NOMEM;
    }
    if (err == EDXBUS_ERR_NOMEM)
        snprintf(errstr, errstr_size, REDIS_SETTING_URL ": out of memory");
    if (err != EDXBUS_OK)
        edxbus__redis_url_fini(url);
    return err;
}

void edxbus__redis_url_fini(struct redis_url *url)
{
    free(url->host);
    free(url->path);
    free(url->user);
    if (url->password != NULL) {
        /* A secret does not outlive its use in freed heap memory. */
        memset(url->password, 0, strlen(url->password));
        free(url->password);
    }
    free(url->display);
    memset(url, 0, sizeof *url);
}
