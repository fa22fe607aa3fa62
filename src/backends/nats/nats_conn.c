/* src/backends/nats/nats_conn.c — the connection: settings -> libnats options, connect, the
 * JetStream context, one stream per topic, and libnats errors in edxbus's words.
 *
 * EVENT_BUS_NATS_URL holds one URL or several separated by commas (a cluster's seeds); user
 * and password, or a token, may sit in the URL (libnats reads them there), or come from
 * EVENT_BUS_NATS_TOKEN, a credentials file or an NKey seed file. tls:// asks for TLS; the CA,
 * client certificate and key settings turn it on too. Every message shows the URL masked
 * (edxbus_url_masked), never a password or token.
 *
 * A connection reconnects on its own (libnats' reconnect loop, without a limit) so that a
 * restarted server is found again; every call that waits is bounded by EVENT_BUS_NATS_TIMEOUT,
 * so a server that stopped answering (SIGSTOP) gives EDXBUS_ERR_TIMEOUT, never a hang.
 *
 * Streams: the stream of topic T is named T with the characters a stream name cannot hold
 * replaced by '_' and listens on subject T. It is created on first use (publish or consumer
 * open) with the stream settings; an existing stream is taken as it is, so an operator may
 * change its limits with the nats tool without edxbus undoing it.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edxbus/backend_util.h"
#include "nats_int.h"

#define NATS_RECONNECT_WAIT_MS 250 /* between two reconnect attempts */
#define NATS_NS_PER_S 1000000000.0

edxbus_err_t edxbus__nats_err(natsStatus s)
{
    switch (s) {
    case NATS_OK:
        return EDXBUS_OK;
    case NATS_TIMEOUT:
        return EDXBUS_ERR_TIMEOUT;
    case NATS_NO_MEMORY:
        return EDXBUS_ERR_NOMEM;
    case NATS_NOT_FOUND:
        return EDXBUS_ERR_NOT_FOUND;
    case NATS_INVALID_ARG:
    case NATS_INVALID_SUBJECT:
        return EDXBUS_ERR_INVALID_ARG;
    case NATS_NOT_PERMITTED:
    case NATS_CONNECTION_AUTH_FAILED:
        return EDXBUS_ERR_AUTH;
    case NATS_NO_SERVER:
    case NATS_IO_ERROR:
    case NATS_CONNECTION_CLOSED:
    case NATS_CONNECTION_DISCONNECTED:
    case NATS_STALE_CONNECTION:
    case NATS_SSL_ERROR:
        return EDXBUS_ERR_IO;
    default:
        return EDXBUS_ERR_BROKER;
    }
}

/* libnats' words without the source location it starts them with ("(conn.c:733): "). */
static const char *without_location(const char *text)
{
    if (text[0] != '(')
        return text;
    const char *end = strstr(text, "): ");
    if (end == NULL || strspn(text + 1, "abcdefghijklmnopqrstuvwxyz_.") == 0 ||
        memchr(text, ':', (size_t)(end - text)) == NULL)
        return text;
    return end + 3;
}

edxbus_err_t edxbus__nats_fail(natsStatus s, jsErrCode code, const char *what, char *errstr,
                               size_t errstr_size)
{
    /* libnats' last error of this thread, when it is about this failure (it may be older). */
    natsStatus last_s = NATS_OK;
    const char *last = nats_GetLastError(&last_s);
    const char *text = without_location(
        last != NULL && last[0] != '\0' && last_s == s ? last : natsStatus_GetText(s));
    if (code != 0)
        edxbus_errf(errstr, errstr_size, "nats: %s: %.180s (JetStream error %d)", what, text,
                 (int)code);
    else
        edxbus_errf(errstr, errstr_size, "nats: %s: %.180s", what, text);
    return edxbus__nats_err(s);
}

edxbus_err_t edxbus__nats_stream_name(const char *topic, char *out, size_t size, char *errstr,
                                      size_t errstr_size)
{
    size_t n = strlen(topic);
    const char *bad = NULL;
    if (n == 0)
        bad = "is empty";
    else if (n >= size)
        bad = "is too long for a stream name";
    else if (strpbrk(topic, "*> \t\r\n") != NULL)
        bad = "holds a wildcard or white space, which a NATS subject cannot";
    else if (topic[0] == '.' || topic[n - 1] == '.' || strstr(topic, "..") != NULL)
        bad = "has an empty token between dots";
    if (bad != NULL) {
        edxbus_errf(errstr, errstr_size, "nats: topic \"%.100s\" %s; use letters, digits, '-', '_'",
                 topic, bad);
        return EDXBUS_ERR_INVALID_ARG;
    }
    for (size_t i = 0; i < n; i++)
        out[i] = strchr("./\\", topic[i]) != NULL ? '_' : topic[i];
    out[n] = '\0';
    return EDXBUS_OK;
}

void edxbus__nats_durable_name(const char *group, char *out, size_t size)
{
    snprintf(out, size, "%s", group);
    for (char *p = out; *p != '\0'; p++)
        if (strchr(".*> \t\r\n/\\", *p) != NULL)
            *p = '_';
}

/* ------------------------------------------------------------------------------------------ */
/* Options */

static edxbus_err_t opt_fail(natsStatus s, const char *setting, char *errstr,
                             size_t errstr_size)
{
    natsStatus last_s = NATS_OK;
    const char *last = nats_GetLastError(&last_s);
    edxbus_errf(errstr, errstr_size, "nats: %s: %.200s; check the setting", setting,
             last != NULL && last[0] != '\0' && last_s == s ? last : natsStatus_GetText(s));
    return s == NATS_NO_MEMORY ? EDXBUS_ERR_NOMEM : EDXBUS_ERR_CONF;
}

/* The server URLs (each checked as a URL of nats:// or tls://) into @p o; *tls set when any is
 * tls://; @p display gets the masked list. */
static edxbus_err_t set_servers(natsOptions *o, const char *urls, bool *tls, char **display,
                                char *errstr, size_t errstr_size)
{
    static const char *const schemes[] = {"nats", "tls", NULL};
    const char *list[32];
    char *copies[32];
    int n = 0;
    edxbus_err_t err = EDXBUS_OK;
    *display = edxbus_url_masked(urls);
    for (const char *p = urls; *p != '\0' && n < 32;) {
        size_t len = strcspn(p, ",");
        char *one = strndup(p, len);
        const char *why = NULL;
        if (one == NULL) {
            err = EDXBUS_ERR_NOMEM;
            break;
        }
        copies[n] = one;
        list[n++] = one;
        if (!edxbus_url_is_valid(one, schemes, &why)) {
            char *shown = edxbus_url_masked(one);
            edxbus_errf(errstr, errstr_size, "%s: \"%.150s\" %s; expected nats://host:4222 or "
                     "tls://host:4222", NATS_SETTING_URL, shown ? shown : "",
                     why ? why : "is not a URL");
            free(shown);
            err = EDXBUS_ERR_CONF;
            break;
        }
        if (strncmp(one, "tls:", 4) == 0)
            *tls = true;
        p += len + (p[len] == ',');
    }
    if (err == EDXBUS_OK && n == 0) {
        edxbus_errf(errstr, errstr_size, "%s: empty; expected nats://host:4222", NATS_SETTING_URL);
        err = EDXBUS_ERR_CONF;
    }
    if (err == EDXBUS_OK) {
        natsStatus s = natsOptions_SetServers(o, list, n);
        if (s != NATS_OK)
            err = opt_fail(s, NATS_SETTING_URL, errstr, errstr_size);
    }
    for (int i = 0; i < n; i++)
        edxbus_secret_free(copies[i]);
    return err;
}

static edxbus_err_t make_options(struct nats_conn *c, natsOptions **out, char *errstr,
                                 size_t errstr_size)
{
    const edxbus_conf_t *conf = c->conf;
    natsOptions *o = NULL;
    natsStatus s = natsOptions_Create(&o);
    if (s != NATS_OK)
        return opt_fail(s, "making connection options", errstr, errstr_size);
    const char *urls = edxbus_conf_get_str(conf, NATS_SETTING_URL, NULL);
    bool tls = false;
    edxbus_err_t err = set_servers(o, urls ? urls : EDXBUS_NATS_DEFAULT_URL, &tls, &c->display, errstr,
                                   errstr_size);
    const char *name = edxbus_conf_service_name(conf);
    const char *token = edxbus_conf_get_str(conf, NATS_SETTING_TOKEN, NULL);
    const char *creds = edxbus_conf_get_str(conf, NATS_SETTING_CREDS, NULL);
    const char *nkey = edxbus_conf_get_str(conf, NATS_SETTING_NKEY, NULL);
    const char *ca = edxbus_conf_get_str(conf, NATS_SETTING_TLS_CA, NULL);
    const char *cert = edxbus_conf_get_str(conf, NATS_SETTING_TLS_CERT, NULL);
    const char *key = edxbus_conf_get_str(conf, NATS_SETTING_TLS_KEY, NULL);
    /* Each step names its setting on failure; the first failure wins. */
    struct {
        const char *setting;
        natsStatus s;
    } steps[12];
    int n = 0;
    if (err != EDXBUS_OK)
        goto out;
    steps[n].setting = NATS_SETTING_TIMEOUT;
    steps[n++].s = natsOptions_SetTimeout(o, c->timeout_ms);
    steps[n].setting = "connection options";
    steps[n++].s = natsOptions_SetMaxReconnect(o, -1);
    steps[n].setting = "connection options";
    steps[n++].s = natsOptions_SetReconnectWait(o, NATS_RECONNECT_WAIT_MS);
    steps[n].setting = "EVENTS_SERVICE_NAME";
    steps[n++].s = natsOptions_SetName(o, name != NULL && name[0] != '\0' ? name : "edxbus");
    if (token != NULL) {
        steps[n].setting = NATS_SETTING_TOKEN;
        steps[n++].s = natsOptions_SetToken(o, token);
    }
    if (creds != NULL) {
        err = edxbus__nats_creds_check(creds, errstr, errstr_size);
        if (err != EDXBUS_OK)
            goto out;
        steps[n].setting = NATS_SETTING_CREDS;
        steps[n++].s = natsOptions_SetUserCredentialsFromFiles(o, creds, NULL);
    }
    char nkey_public[EDXBUS_NATS_NKEY_PUBLIC_MAX];
    if (nkey != NULL) {
        err = edxbus__nats_nkey_public(nkey, nkey_public, errstr, errstr_size);
        if (err != EDXBUS_OK)
            goto out;
        steps[n].setting = NATS_SETTING_NKEY;
        steps[n++].s = natsOptions_SetNKeyFromSeed(o, nkey_public, nkey);
    }
    if (tls || ca != NULL || cert != NULL) {
        steps[n].setting = NATS_SETTING_URL;
        steps[n++].s = natsOptions_SetSecure(o, true);
    }
    if (ca != NULL) {
        steps[n].setting = NATS_SETTING_TLS_CA;
        steps[n++].s = natsOptions_LoadCATrustedCertificates(o, ca);
    }
    if (cert != NULL || key != NULL) {
        steps[n].setting = cert != NULL ? NATS_SETTING_TLS_CERT : NATS_SETTING_TLS_KEY;
        steps[n++].s = cert != NULL && key != NULL
                           ? natsOptions_LoadCertificatesChain(o, cert, key)
                           : NATS_INVALID_ARG;
    }
    for (int i = 0; i < n; i++)
        if (steps[i].s != NATS_OK) {
            err = opt_fail(steps[i].s, steps[i].setting, errstr, errstr_size);
            break;
        }
out:
    if (err != EDXBUS_OK) {
        natsOptions_Destroy(o);
        return err;
    }
    *out = o;
    return EDXBUS_OK;
}

/* What to check after a failed connect, from what failed and what the settings ask for
 * (@p buf, @p size: room for a hint naming a file). */
static const char *connect_hint(const edxbus_conf_t *conf, natsStatus s, const char *line,
                                char *buf, size_t size)
{
    const char *urls = edxbus_conf_get_str(conf, NATS_SETTING_URL, NULL);
    const char *creds = edxbus_conf_get_str(conf, NATS_SETTING_CREDS, NULL);
    bool tls = (urls != NULL && strstr(urls, "tls://") != NULL) ||
               edxbus_conf_get_str(conf, NATS_SETTING_TLS_CA, NULL) != NULL ||
               edxbus_conf_get_str(conf, NATS_SETTING_TLS_CERT, NULL) != NULL;
    bool auth = s == NATS_CONNECTION_AUTH_FAILED || s == NATS_NOT_PERMITTED ||
                strstr(line, "Authorization Violation") != NULL;
    if (auth && creds != NULL) { /* JWT auth: the file is what the server judged */
        snprintf(buf, size,
                 "; the server refused the user in %s (\"%.150s\"): check that its JWT was "
                 "issued by an account this server trusts and that the file's seed is that "
                 "user's (e.g. `nsc generate creds`)",
                 NATS_SETTING_CREDS, creds);
        return buf;
    }
    if (auth)
        return "; check the credentials: user:password or token in " NATS_SETTING_URL ", "
               NATS_SETTING_TOKEN ", " NATS_SETTING_NKEY ", " NATS_SETTING_CREDS;
    if (s == NATS_SSL_ERROR || strstr(line, "SSL") != NULL || strstr(line, "certificate") != NULL)
        return "; check " NATS_SETTING_TLS_CA " (the CA that signed the server's certificate, "
               "whose name must match the URL's host)";
    if (tls && s != NATS_NO_SERVER && s != NATS_TIMEOUT)
        return "; the server ended the TLS connection: if it asks for a client certificate, "
               "set " NATS_SETTING_TLS_CERT " and " NATS_SETTING_TLS_KEY;
    return "";
}

/* libnats before 3.10 leaves the nonce signature out of CONNECT when its first byte is 0 (its
 * base64 encoder takes a leading 0 byte for an empty input; fixed by nats.c PR #705), so with a
 * credentials file or an NKey seed 1 connect in 256 is refused although the credentials are
 * right. Each connection gets a new nonce, so such a refusal is tried again, NATS_SIGNED_TRIES
 * connects in all (a false refusal: 1 in 2^32; wrong credentials are refused after that many
 * quick connects). */
#define NATS_SIGNED_TRIES 4

static bool signature_maybe_lost(const edxbus_conf_t *conf, natsStatus s)
{
    if (s == NATS_OK || nats_GetVersionNumber() >= 0x030A00 ||
        (edxbus_conf_get_str(conf, NATS_SETTING_CREDS, NULL) == NULL &&
         edxbus_conf_get_str(conf, NATS_SETTING_NKEY, NULL) == NULL))
        return false;
    const char *last = nats_GetLastError(NULL);
    return s == NATS_CONNECTION_AUTH_FAILED ||
           (last != NULL && strstr(last, "Authorization Violation") != NULL);
}

edxbus_err_t edxbus__nats_conn_open(struct nats_conn *c, const edxbus_conf_t *conf,
                                    jsOptions *jsopts, char *errstr, size_t errstr_size)
{
    memset(c, 0, sizeof *c);
    c->conf = edxbus_conf_dup(conf);
    if (c->conf == NULL) {
        edxbus_errf(errstr, errstr_size, "nats: out of memory");
        return EDXBUS_ERR_NOMEM;
    }
    c->timeout_ms = (int64_t)(edxbus_conf_get_double(conf, NATS_SETTING_TIMEOUT, 5.0) * 1000);
    if (c->timeout_ms < 1)
        c->timeout_ms = 1;
    natsOptions *o = NULL;
    edxbus_err_t err = make_options(c, &o, errstr, errstr_size);
    if (err != EDXBUS_OK) {
        edxbus__nats_conn_close(c);
        return err;
    }
    natsStatus s = natsConnection_Connect(&c->nc, o);
    for (int tries = 1; tries < NATS_SIGNED_TRIES && signature_maybe_lost(c->conf, s); tries++)
        s = natsConnection_Connect(&c->nc, o);
    natsOptions_Destroy(o);
    if (s != NATS_OK) {
        char what[200], line[EDXBUS_ERRSTR_SIZE], hint[400];
        snprintf(what, sizeof what, "cannot connect to %.150s", c->display ? c->display : "");
        err = edxbus__nats_fail(s, 0, what, line, sizeof line);
        edxbus_errf(errstr, errstr_size, "%s%s", line,
                    connect_hint(c->conf, s, line, hint, sizeof hint));
        if (err == EDXBUS_ERR_BROKER) /* the server ended the connection while it was made */
            err = EDXBUS_ERR_IO;
        edxbus__nats_conn_close(c);
        return err;
    }
    jsOptions jo;
    if (jsopts == NULL) {
        jsOptions_Init(&jo);
        jsopts = &jo;
    }
    jsopts->Wait = c->timeout_ms;
    s = natsConnection_JetStream(&c->js, c->nc, jsopts);
    if (s != NATS_OK) {
        err = edxbus__nats_fail(s, 0, "JetStream context", errstr, errstr_size);
        edxbus__nats_conn_close(c);
        return err;
    }
    return EDXBUS_OK;
}

void edxbus__nats_conn_close(struct nats_conn *c)
{
    jsCtx_Destroy(c->js);
    if (c->nc != NULL) {
        natsConnection_Close(c->nc);
        natsConnection_Destroy(c->nc);
    }
    for (size_t i = 0; i < c->nstreams; i++)
        free(c->streams[i]);
    free(c->streams);
    free(c->display);
    edxbus_conf_destroy(c->conf);
    memset(c, 0, sizeof *c);
}

/* ------------------------------------------------------------------------------------------ */
/* Streams */

static bool stream_known(const struct nats_conn *c, const char *name)
{
    for (size_t i = 0; i < c->nstreams; i++)
        if (strcmp(c->streams[i], name) == 0)
            return true;
    return false;
}

static void stream_remember(struct nats_conn *c, const char *name)
{
    if (c->nstreams == c->streams_cap) {
        size_t cap = c->streams_cap ? 2 * c->streams_cap : 8;
        char **v = realloc(c->streams, cap * sizeof *v);
        if (v == NULL)
            return; /* only a cache: the next use asks the server again */
        c->streams = v;
        c->streams_cap = cap;
    }
    char *copy = strdup(name);
    if (copy != NULL)
        c->streams[c->nstreams++] = copy;
}

static int64_t seconds_ns(const edxbus_conf_t *conf, const char *name, double def)
{
    return (int64_t)(edxbus_conf_get_double(conf, name, def) * NATS_NS_PER_S);
}

static natsStatus add_stream(struct nats_conn *c, const char *name, const char *topic,
                             jsErrCode *code)
{
    const edxbus_conf_t *conf = c->conf;
    jsStreamConfig cfg;
    jsStreamConfig_Init(&cfg);
    const char *subjects[1] = {topic};
    cfg.Name = name;
    cfg.Subjects = subjects;
    cfg.SubjectsLen = 1;
    const char *retention = edxbus_conf_get_str(conf, NATS_SETTING_RETENTION, "limits");
    cfg.Retention = strcmp(retention, "interest") == 0 ? js_InterestPolicy : js_LimitsPolicy;
    const char *storage = edxbus_conf_get_str(conf, NATS_SETTING_STORAGE, "file");
    cfg.Storage = strcmp(storage, "memory") == 0 ? js_MemoryStorage : js_FileStorage;
    cfg.MaxMsgs = edxbus_conf_get_int(conf, NATS_SETTING_MAX_MSGS, -1);
    cfg.MaxBytes = edxbus_conf_get_int(conf, NATS_SETTING_MAX_BYTES, -1);
    cfg.MaxAge = seconds_ns(conf, NATS_SETTING_MAX_AGE, 0);
    cfg.Replicas = edxbus_conf_get_int(conf, NATS_SETTING_REPLICAS, 1);
    cfg.Duplicates = seconds_ns(conf, NATS_SETTING_DUPLICATES, 120);
    jsStreamInfo *si = NULL;
    natsStatus s = js_AddStream(&si, c->js, &cfg, NULL, code);
    jsStreamInfo_Destroy(si);
    return s;
}

edxbus_err_t edxbus__nats_stream_ensure(struct nats_conn *c, const char *topic, bool create,
                                        char *errstr, size_t errstr_size)
{
    char name[NATS_STREAM_NAME_MAX];
    edxbus_err_t err = edxbus__nats_stream_name(topic, name, sizeof name, errstr, errstr_size);
    if (err != EDXBUS_OK || stream_known(c, name))
        return err;
    jsStreamInfo *si = NULL;
    jsErrCode code = 0;
    natsStatus s = js_GetStreamInfo(&si, c->js, name, NULL, &code);
    jsStreamInfo_Destroy(si);
    if (s == NATS_NOT_FOUND && create) {
        s = add_stream(c, name, topic, &code);
        /* Another producer or consumer created it at the same time: use theirs. */
        if (s != NATS_OK && code == JSStreamNameExistErr)
            s = NATS_OK;
    }
    if (s == NATS_OK) {
        stream_remember(c, name);
        return EDXBUS_OK;
    }
    char what[200];
    if (s == NATS_NOT_FOUND) {
        edxbus_errf(errstr, errstr_size, "nats: topic \"%.100s\" has no stream on %.80s", topic,
                 c->display);
        return EDXBUS_ERR_NOT_FOUND;
    }
    snprintf(what, sizeof what, "stream \"%.100s\" on %.80s", name, c->display);
    return edxbus__nats_fail(s, code, what, errstr, errstr_size);
}
