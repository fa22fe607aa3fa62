/* src/backends/common/url.c — connection URLs as brokers' settings give them (backend_util.h):
 * scheme://[user[:password]@]host[:port][/path][?name=value&…], or scheme:///path for sockets.
 *
 * One parser for every backend (Redis, NATS, plugins), and one masking rule for every message
 * and dump (the settings layer uses it too): the password of the user-info, and the value of any
 * query parameter whose name says secret (password, token, secret, credential, nkey), become
 * ********; control bytes are escaped as \xNN so a message stays one line. Components are
 * percent-decoded. A password may hold '/' and '@': the user-info ends at the last '@' before the
 * query, as redis-py and Go's net/url split it.
 *
 * Invariants: a parsed URL owns every string; fini wipes the password and secret parameters
 * before freeing them; nothing here keeps the raw text.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "edxbus/backend_util.h"
#include "edxbus/buf.h"

#define MASK "********"

bool edxbus_is_secret_name(const char *name)
{
    static const char *const words[] = {"password", "secret", "token", "credential", "nkey",
                                        NULL};
    for (const char *const *w = words; *w; w++)
        if (strcasestr(name, *w) != NULL)
            return true;
    return false;
}

/* Append [s, s+len) with control bytes as \xNN. */
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

/* The query [q, end) with the values of secret-named parameters masked. */
static void put_query(struct edxbus_buf *out, const char *q, const char *end)
{
    while (q < end) {
        const char *amp = memchr(q, '&', (size_t)(end - q));
        const char *item_end = amp ? amp : end;
        const char *eq = memchr(q, '=', (size_t)(item_end - q));
        char name[64] = "";
        if (eq != NULL)
            snprintf(name, sizeof name, "%.*s", (int)(eq - q) < 63 ? (int)(eq - q) : 63, q);
        if (eq != NULL && edxbus_is_secret_name(name)) {
            put_shown(out, q, (size_t)(eq + 1 - q));
            edxbus_buf_puts(out, MASK);
        } else {
            put_shown(out, q, (size_t)(item_end - q));
        }
        if (amp != NULL)
            edxbus_buf_puts(out, "&");
        q = amp ? amp + 1 : end;
    }
}

char *edxbus_url_masked(const char *text)
{
    const char *scheme_end = strstr(text, "://");
    const char *auth = scheme_end ? scheme_end + 3 : text;
    const char *query = strchr(auth, '?');
    const char *end = text + strlen(text);
    const char *auth_end = query ? query : end;
    const char *at = NULL;
    for (const char *p = auth; p < auth_end; p++)
        if (*p == '@')
            at = p;
    const char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
    struct edxbus_buf out = EDXBUS_BUF_INIT;
    if (at != NULL && at > auth && colon == NULL) {
        /* A lone user part: for NATS (nats://TOKEN@host) and many services it is a token. */
        put_shown(&out, text, (size_t)(auth - text));
        edxbus_buf_puts(&out, MASK);
        put_shown(&out, at, (size_t)(auth_end - at));
    } else if (colon == NULL || colon + 1 == at) {
        put_shown(&out, text, (size_t)(auth_end - text));
    } else {
        put_shown(&out, text, (size_t)(colon + 1 - text));
        edxbus_buf_puts(&out, MASK);
        put_shown(&out, at, (size_t)(auth_end - at));
    }
    if (query != NULL) {
        edxbus_buf_puts(&out, "?");
        put_query(&out, query + 1, end);
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

/* Percent-decode [s, s+len) into a new string ('+' stays '+', as in redis-py's unquote).
 * NULL when out of memory. */
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

void edxbus_secret_free(char *s)
{
    if (s != NULL) {
        memset(s, 0, strlen(s));
        free(s);
    }
}

void edxbus_url_fini(struct edxbus_url *url)
{
    free(url->scheme);
    free(url->user);
    edxbus_secret_free(url->password);
    free(url->host);
    free(url->path);
    for (size_t i = 0; i < url->nparams; i++) {
        free(url->params[i].name);
        edxbus_secret_free(url->params[i].value);
    }
    free(url->params);
    free(url->display);
    memset(url, 0, sizeof *url);
}

const char *edxbus_url_param(const struct edxbus_url *url, const char *name)
{
    const char *v = NULL;
    for (size_t i = 0; i < url->nparams; i++)
        if (strcmp(url->params[i].name, name) == 0)
            v = url->params[i].value; /* the last one wins */
    return v;
}

static edxbus_err_t fail(const char *why, char *errstr, size_t errstr_size)
{
    edxbus_errf(errstr, errstr_size, "%s", why);
    return EDXBUS_ERR_CONF;
}

static edxbus_err_t parse_params(const char *q, const char *end, struct edxbus_url *url)
{
    while (q < end) {
        const char *amp = memchr(q, '&', (size_t)(end - q));
        const char *item_end = amp ? amp : end;
        if (item_end > q) {
            const char *eq = memchr(q, '=', (size_t)(item_end - q));
            const char *name_end = eq ? eq : item_end;
            struct edxbus_url_param *grown =
                realloc(url->params, (url->nparams + 1) * sizeof *url->params);
            if (grown == NULL)
                return EDXBUS_ERR_NOMEM;
            url->params = grown;
            struct edxbus_url_param *p = &url->params[url->nparams];
            p->name = unquote(q, (size_t)(name_end - q));
            p->value = eq ? unquote(eq + 1, (size_t)(item_end - eq - 1)) : unquote("", 0);
            url->nparams++;
            if (p->name == NULL || p->value == NULL)
                return EDXBUS_ERR_NOMEM;
        }
        q = amp ? amp + 1 : end;
    }
    return EDXBUS_OK;
}

/* host[:port] or [v6]:port in [s, end). */
static edxbus_err_t parse_hostport(const char *s, const char *end, struct edxbus_url *url,
                                   char *errstr, size_t errstr_size)
{
    const char *host = s, *host_end, *port = NULL;
    if (s < end && *s == '[') {
        const char *close = memchr(s, ']', (size_t)(end - s));
        if (close == NULL)
            return fail("has an unclosed [", errstr, errstr_size);
        host = s + 1;
        host_end = close;
        if (close + 1 < end) {
            if (close[1] != ':')
                return fail("has junk after ]", errstr, errstr_size);
            port = close + 2;
        }
    } else {
        const char *colon = memchr(s, ':', (size_t)(end - s));
        host_end = colon ? colon : end;
        if (colon != NULL)
            port = colon + 1;
    }
    if (host_end > host) {
        url->host = unquote(host, (size_t)(host_end - host));
        if (url->host == NULL)
            return EDXBUS_ERR_NOMEM;
    }
    if (port != NULL) {
        long p = 0;
        bool ok = port < end && end - port <= 5;
        for (const char *c = port; ok && c < end; c++) {
            ok = isdigit((unsigned char)*c);
            p = p * 10 + (*c - '0');
        }
        if (!ok || p < 1 || p > 65535)
            return fail("has a bad port (1..65535)", errstr, errstr_size);
        url->port = (int)p;
    }
    return EDXBUS_OK;
}

static edxbus_err_t parse(const char *text, struct edxbus_url *url, char *errstr,
                          size_t errstr_size)
{
    const char *sep = strstr(text, "://");
    if (sep == NULL || sep == text)
        return fail("is not a URL (scheme://…)", errstr, errstr_size);
    for (const char *p = text; p < sep; p++)
        if (!isalnum((unsigned char)*p) && *p != '+' && *p != '-' && *p != '.')
            return fail("is not a URL (scheme://…)", errstr, errstr_size);
    url->scheme = unquote(text, (size_t)(sep - text));
    if (url->scheme == NULL)
        return EDXBUS_ERR_NOMEM;
    for (char *p = url->scheme; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    const char *rest = sep + 3;
    const char *query = strchr(rest, '?');
    const char *end = query ? query : rest + strlen(rest);
    const char *frag = memchr(rest, '#', (size_t)(end - rest));
    if (frag != NULL)
        end = frag;
    const char *at = NULL;
    for (const char *p = rest; p < end; p++)
        if (*p == '@')
            at = p;
    if (at != NULL) {
        const char *colon = memchr(rest, ':', (size_t)(at - rest));
        const char *user_end = colon ? colon : at;
        if (user_end > rest && (url->user = unquote(rest, (size_t)(user_end - rest))) == NULL)
            return EDXBUS_ERR_NOMEM;
        if (colon != NULL &&
            (url->password = unquote(colon + 1, (size_t)(at - colon - 1))) == NULL)
            return EDXBUS_ERR_NOMEM;
    }
    const char *hp = at ? at + 1 : rest;
    const char *slash = hp < end ? memchr(hp, '/', (size_t)(end - hp)) : NULL;
    const char *hp_end = slash ? slash : end;
    edxbus_err_t err = parse_hostport(hp, hp_end, url, errstr, errstr_size);
    if (err != EDXBUS_OK)
        return err;
    if (slash != NULL && (url->path = unquote(slash, (size_t)(end - slash))) == NULL)
        return EDXBUS_ERR_NOMEM;
    if (query != NULL) {
        const char *qend = query + strlen(query);
        err = parse_params(query + 1, qend, url);
    }
    return err;
}

edxbus_err_t edxbus_url_parse(const char *text, struct edxbus_url *url, char *errstr,
                              size_t errstr_size)
{
    memset(url, 0, sizeof *url);
    edxbus_err_t err = parse(text, url, errstr, errstr_size);
    if (err == EDXBUS_OK && (url->display = edxbus_url_masked(text)) == NULL)
        err = EDXBUS_ERR_NOMEM;
    if (err == EDXBUS_ERR_NOMEM)
        edxbus_errf(errstr, errstr_size, "out of memory");
    if (err != EDXBUS_OK)
        edxbus_url_fini(url);
    return err;
}
