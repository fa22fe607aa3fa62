/* src/backends/redis/redis_url.c — EVENT_BUS_REDIS_CONNECTION_URL, as redis-py reads it.
 *
 * edx-event-bus-redis hands the setting to redis-py's Redis.from_url, so the forms operators
 * already have must keep working:
 *   redis://[[user]:[password]@]host[:port][/db][?params]   (TCP; port 6379, db 0 by default)
 *   rediss://…                                               (the same over TLS)
 *   unix://[[user]:[password]@]/path/to.sock[?db=N]          (a unix socket)
 * The URL is split by the toolkit's parser (backend_util.h: percent-decoding, masking); this
 * file gives the parts redis-py's meaning. Query parameters, as redis-py takes them: `db=N` wins
 * over the path's number; `username=` and `password=` are used when the user-info has none (the
 * user-info wins, as in redis-py); `ssl_ca_certs`, `ssl_ca_path`, `ssl_certfile`, `ssl_keyfile`,
 * `ssl_password`, `ssl_cert_reqs` (required|optional|none) and `ssl_check_hostname` are checked
 * and kept for TLS. Any other parameter is refused: redis-py would pass it on to its connection
 * and fail there. Where redis-py quietly ignores a path that is not a number (`/abc` means db 0
 * there), edxbus refuses it: a database named by mistake must not become database 0.
 * An empty user (`redis://:secret@host`) means AUTH with the password alone. Secrets (the
 * password, wherever given) never reach a message: messages show url->display.
 */
#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "edxbus/backend_util.h"
#include "redis_int.h"

#define EXPECTED                                                                                  \
    "expected redis://[[user]:[password]@]host:port/db, rediss://… or unix:///path/to.sock?db=N"

static edxbus_err_t bad(const char *text, const char *why, char *errstr, size_t errstr_size)
{
    char *shown = edxbus_url_masked(text);
    edxbus_errf(errstr, errstr_size, REDIS_SETTING_URL ": \"%s\" %s; " EXPECTED,
                shown ? shown : "(url)", why);
    free(shown);
    return EDXBUS_ERR_CONF;
}

const char *edxbus__redis_printable(const char *text, char *buf, size_t size)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)text; *p != '\0' && n + 5 < size; p++) {
        if (*p < 0x20 || *p == 0x7f)
            n += (size_t)snprintf(buf + n, size - n, "\\x%02x", *p);
        else
            buf[n++] = (char)*p;
    }
    buf[n] = '\0';
    return buf;
}

static bool parse_db(const char *s, int *out)
{
    size_t len = strlen(s);
    long v = 0;
    if (len == 0 || len > 7)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (!isdigit((unsigned char)s[i]))
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = (int)v;
    return true;
}

/* The parameters redis-py's URL parser gives a meaning to that edxbus uses; each maps to a
 * string field of struct redis_url (or to db / the credentials, handled in parse_params). */
static char **param_field(struct redis_url *url, const char *name)
{
    static const struct {
        const char *name;
        size_t offset;
    } fields[] = {
        {"ssl_ca_certs", offsetof(struct redis_url, ssl_ca_certs)},
        {"ssl_ca_path", offsetof(struct redis_url, ssl_ca_path)},
        {"ssl_certfile", offsetof(struct redis_url, ssl_certfile)},
        {"ssl_keyfile", offsetof(struct redis_url, ssl_keyfile)},
        {"ssl_password", offsetof(struct redis_url, ssl_password)},
        {"ssl_cert_reqs", offsetof(struct redis_url, ssl_cert_reqs)},
    };
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        if (strcmp(fields[i].name, name) == 0)
            return (char **)((char *)url + fields[i].offset);
    return NULL;
}

static edxbus_err_t take(char **dst, const char *value)
{
    free(*dst);
    *dst = strdup(value);
    return *dst ? EDXBUS_OK : EDXBUS_ERR_NOMEM;
}

static edxbus_err_t parse_params(const char *text, const struct edxbus_url *u,
                                 struct redis_url *url, bool userinfo_user,
                                 bool userinfo_password, char *errstr, size_t errstr_size)
{
    char why[320], shown[48];
    for (size_t i = 0; i < u->nparams; i++) {
        const char *name = u->params[i].name, *value = u->params[i].value;
        char **field = param_field(url, name);
        edxbus_err_t err = EDXBUS_OK;
        if (strcmp(name, "db") == 0) {
            if (!parse_db(value, &url->db))
                return bad(text, "has a bad db number", errstr, errstr_size);
        } else if (strcmp(name, "username") == 0) {
            if (!userinfo_user)
                err = take(&url->user, value);
        } else if (strcmp(name, "password") == 0) {
            if (!userinfo_password)
                err = take(&url->password, value);
        } else if (strcmp(name, "ssl_check_hostname") == 0) {
            /* redis-py's to_bool: 0, F, FALSE, N, NO (any case) are false, the rest true. */
            static const char *const no[] = {"0", "f", "false", "n", "no"};
            url->ssl_check_hostname = 1;
            for (size_t k = 0; k < sizeof no / sizeof no[0]; k++)
                if (strcasecmp(value, no[k]) == 0)
                    url->ssl_check_hostname = 0;
        } else if (field != NULL) {
            if (strcmp(name, "ssl_cert_reqs") == 0 && strcasecmp(value, "required") != 0 &&
                strcasecmp(value, "optional") != 0 && strcasecmp(value, "none") != 0) {
                snprintf(why, sizeof why,
                         "has ssl_cert_reqs=%.40s; expected required, optional or none",
                         edxbus__redis_printable(value, shown, sizeof shown));
                return bad(text, why, errstr, errstr_size);
            }
            err = take(field, value);
        } else {
            snprintf(why, sizeof why,
                     "has an unknown parameter \"%.40s\" (known: db, username, password, "
                     "ssl_ca_certs, ssl_ca_path, ssl_certfile, ssl_keyfile, ssl_password, "
                     "ssl_cert_reqs, ssl_check_hostname)",
                     edxbus__redis_printable(name, shown, sizeof shown));
            return bad(text, why, errstr, errstr_size);
        }
        if (err != EDXBUS_OK)
            return err;
    }
    return EDXBUS_OK;
}

static edxbus_err_t parse(const char *text, struct edxbus_url *u, struct redis_url *url,
                          char *errstr, size_t errstr_size)
{
    if (strcmp(u->scheme, "rediss") == 0)
        url->tls = true;
    else if (strcmp(u->scheme, "redis") != 0 && strcmp(u->scheme, "unix") != 0)
        return bad(text, "is not a Redis URL", errstr, errstr_size);
    /* The user-info wins over username=/password= (redis-py). */
    bool userinfo_user = u->user != NULL, userinfo_password = u->password != NULL;
    url->user = u->user;
    url->password = u->password;
    u->user = u->password = NULL;
    if (strcmp(u->scheme, "unix") == 0) {
        if (u->path == NULL || strcmp(u->path, "/") == 0)
            return bad(text, "has no socket path", errstr, errstr_size);
        url->path = u->path;
        u->path = NULL;
    } else {
        url->host = u->host ? u->host : strdup("localhost");
        u->host = NULL;
        if (url->host == NULL)
            return EDXBUS_ERR_NOMEM;
        url->port = u->port ? u->port : 6379;
        const char *db = u->path ? u->path + 1 : "";
        if (db[0] != '\0' && !parse_db(db, &url->db))
            return bad(text, "has a bad db number (the path must be a number: /0)", errstr,
                       errstr_size);
    }
    url->display = u->display;
    u->display = NULL;
    return parse_params(text, u, url, userinfo_user, userinfo_password, errstr, errstr_size);
}

edxbus_err_t edxbus__redis_url_parse(const char *text, struct redis_url *url, char *errstr,
                                     size_t errstr_size)
{
    memset(url, 0, sizeof *url);
    url->ssl_check_hostname = -1;
    struct edxbus_url u;
    char why[EDXBUS_ERRSTR_SIZE];
    edxbus_err_t err = edxbus_url_parse(text, &u, why, sizeof why);
    if (err == EDXBUS_ERR_CONF)
        return bad(text, strncmp(text, "redis", 5) && strncmp(text, "unix", 4)
                             ? "is not a Redis URL"
                             : why,
                   errstr, errstr_size);
    if (err == EDXBUS_OK)
        err = parse(text, &u, url, errstr, errstr_size);
    edxbus_url_fini(&u);
    if (err == EDXBUS_ERR_NOMEM)
        edxbus_errf(errstr, errstr_size, REDIS_SETTING_URL ": out of memory");
    if (err != EDXBUS_OK)
        edxbus__redis_url_fini(url);
    return err;
}

void edxbus__redis_url_fini(struct redis_url *url)
{
    free(url->host);
    free(url->path);
    free(url->user);
    edxbus_secret_free(url->password);
    free(url->ssl_ca_certs);
    free(url->ssl_ca_path);
    free(url->ssl_certfile);
    free(url->ssl_keyfile);
    edxbus_secret_free(url->ssl_password);
    free(url->ssl_cert_reqs);
    free(url->display);
    memset(url, 0, sizeof *url);
}
