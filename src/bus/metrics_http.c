/* src/bus/metrics_http.c — the text exposition (format 0.0.4) and the HTTP listener serving it
 * with the health probes (metrics.h), on libmicrohttpd.
 *
 * The exposition walks the registry with edxbus_metrics_visit() (metrics.c): one # HELP and
 * one # TYPE line when a metric starts, then its samples; a histogram is written as its
 * cumulative _bucket{le="..."} lines ending with le="+Inf", then _sum and _count (the +Inf
 * bucket and _count come from the same numbers, so they always agree). Label values escape
 * backslash, double quote and newline; help text escapes backslash and newline.
 *
 * The listener is a libmicrohttpd daemon with its own polling thread: a scrape reads the
 * counters as they are and takes no lock a worker loop takes, so it never slows a worker down
 * and a slow scraper never stalls one. Only GET and HEAD are answered. The address is read
 * here (edxbus_metrics_parse_address()): a bare port binds loopback, so metrics are never
 * exposed beyond the host unless an address says so.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus_int.h"
#include "edxbus/metrics.h"

/* ---------------------------------------------------------------------------------------------
 * Text exposition
 * ------------------------------------------------------------------------------------------- */

struct text {
    struct edxbus_buf *out;
    const char *last; /* the metric whose HELP/TYPE were written last */
    edxbus_err_t err;
};

/* The shortest decimal form that reads back as @p v (as Go's and Python's clients write
 * numbers), "+Inf", "-Inf" or "NaN". */
static void fmt_double(char *s, size_t size, double v)
{
    if (isnan(v)) {
        snprintf(s, size, "NaN");
    } else if (isinf(v)) {
        snprintf(s, size, v > 0 ? "+Inf" : "-Inf");
    } else if (v == floor(v) && fabs(v) < 1e15) {
        snprintf(s, size, "%.0f", v); /* counts: 1000, not 1e+03 */
    } else {
        for (int prec = 1; prec <= 17; prec++) {
            snprintf(s, size, "%.*g", prec, v);
            if (strtod(s, NULL) == v)
                break;
        }
    }
}

static void put_double(struct text *t, double v)
{
    char s[40];
    fmt_double(s, sizeof s, v);
    if (t->err == EDXBUS_OK)
        t->err = edxbus_buf_puts(t->out, s);
}

static void put(struct text *t, const char *s)
{
    if (t->err == EDXBUS_OK)
        t->err = edxbus_buf_puts(t->out, s);
}

/* @p s with \ and newline escaped, and " too when @p quote. */
static void put_escaped(struct text *t, const char *s, bool quote)
{
    for (; *s && t->err == EDXBUS_OK; s++) {
        if (*s == '\\')
            put(t, "\\\\");
        else if (*s == '\n')
            put(t, "\\n");
        else if (quote && *s == '"')
            put(t, "\\\"");
        else
            t->err = edxbus_buf_append(t->out, s, 1);
    }
}

/* name{labels[,le="x"]} */
static void put_series(struct text *t, const struct edxbus_metric_sample *smp, const char *suffix,
                       const char *le)
{
    put(t, smp->name);
    put(t, suffix);
    if (smp->nlabels == 0 && le == NULL)
        return;
    put(t, "{");
    for (size_t i = 0; i < smp->nlabels; i++) {
        put(t, i ? "," : "");
        put(t, smp->labels[i].name);
        put(t, "=\"");
        put_escaped(t, smp->labels[i].value, true);
        put(t, "\"");
    }
    if (le != NULL) {
        put(t, smp->nlabels ? ",le=\"" : "le=\"");
        put(t, le);
        put(t, "\"");
    }
    put(t, "}");
}

static bool text_sample(void *opaque, const struct edxbus_metric_sample *smp)
{
    struct text *t = opaque;
    if (t->last == NULL || strcmp(t->last, smp->name) != 0) {
        static const char *const types[] = {"counter", "gauge", "histogram"};
        put(t, "# HELP ");
        put(t, smp->name);
        put(t, " ");
        put_escaped(t, smp->help, false);
        put(t, "\n# TYPE ");
        put(t, smp->name);
        put(t, " ");
        put(t, types[smp->type]);
        put(t, "\n");
        t->last = smp->name;
    }
    if (smp->type != EDXBUS_METRIC_HISTOGRAM) {
        put_series(t, smp, "", NULL);
        put(t, " ");
        put_double(t, smp->value);
        put(t, "\n");
        return t->err == EDXBUS_OK;
    }
    char le[40], n[32];
    for (size_t i = 0; i <= smp->nbuckets; i++) {
        if (i < smp->nbuckets)
            fmt_double(le, sizeof le, smp->bounds[i]);
        else
            snprintf(le, sizeof le, "+Inf");
        put_series(t, smp, "_bucket", le);
        snprintf(n, sizeof n, " %llu\n",
                 (unsigned long long)(i < smp->nbuckets ? smp->buckets[i] : smp->count));
        put(t, n);
    }
    put_series(t, smp, "_sum", NULL);
    put(t, " ");
    put_double(t, smp->sum);
    put(t, "\n");
    put_series(t, smp, "_count", NULL);
    snprintf(n, sizeof n, " %llu\n", (unsigned long long)smp->count);
    put(t, n);
    return t->err == EDXBUS_OK;
}

edxbus_err_t edxbus_metrics_write_text(struct edxbus_buf *out)
{
    struct text t = {.out = out};
    edxbus_err_t err = edxbus_metrics_visit(text_sample, &t);
    return err != EDXBUS_OK ? err : t.err;
}

/* ---------------------------------------------------------------------------------------------
 * The address
 * ------------------------------------------------------------------------------------------- */

edxbus_err_t edxbus_metrics_parse_address(const char *text, char *host, size_t host_size,
                                          uint16_t *port, char *errstr, size_t errstr_size)
{
    static const char example[] = "e.g. 127.0.0.1:9464, :9464 or 9464";
    if (host_size < 64) {
        edxbus__errf(errstr, errstr_size, "the host buffer must hold 64 bytes");
        return EDXBUS_ERR_INVALID_ARG;
    }
    if (text == NULL || text[0] == '\0') {
        edxbus__errf(errstr, errstr_size, "an empty address; expected HOST:PORT, %s", example);
        return EDXBUS_ERR_INVALID_ARG;
    }
    const char *port_text = text;
    char h[64] = "127.0.0.1";
    if (text[0] == '[') { /* [IPv6]:PORT */
        const char *end = strchr(text, ']');
        if (end == NULL || end[1] != ':' || (size_t)(end - text - 1) >= sizeof h ||
            end == text + 1) {
            edxbus__errf(errstr, errstr_size,
                         "\"%.80s\": an IPv6 address goes in brackets before the port, e.g. "
                         "[::1]:9464",
                         text);
            return EDXBUS_ERR_INVALID_ARG;
        }
        memcpy(h, text + 1, (size_t)(end - text - 1));
        h[end - text - 1] = '\0';
        port_text = end + 2;
    } else {
        const char *colon = strrchr(text, ':');
        if (colon != NULL) {
            if (colon != strchr(text, ':')) {
                edxbus__errf(errstr, errstr_size,
                             "\"%.80s\": put an IPv6 address in brackets, e.g. [::1]:9464",
                             text);
                return EDXBUS_ERR_INVALID_ARG;
            }
            if ((size_t)(colon - text) >= sizeof h) {
                edxbus__errf(errstr, errstr_size, "\"%.80s\": the host is too long; %s", text,
                             example);
                return EDXBUS_ERR_INVALID_ARG;
            }
            if (colon != text) {
                memcpy(h, text, (size_t)(colon - text));
                h[colon - text] = '\0';
            }
            port_text = colon + 1;
        }
    }
    unsigned long p = 0;
    size_t digits = 0;
    for (const char *c = port_text; *c; c++, digits++) {
        if (*c < '0' || *c > '9' || digits >= 5) {
            digits = 0;
            break;
        }
        p = p * 10 + (unsigned long)(*c - '0');
    }
    if (digits == 0 || p > 65535) {
        edxbus__errf(errstr, errstr_size,
                     "\"%.80s\": the port must be a number from 0 to 65535; %s", text, example);
        return EDXBUS_ERR_INVALID_ARG;
    }
    if (strcmp(h, "localhost") == 0)
        snprintf(h, sizeof h, "127.0.0.1");
    struct in6_addr a6;
    struct in_addr a4;
    if (inet_pton(AF_INET, h, &a4) != 1 && inet_pton(AF_INET6, h, &a6) != 1) {
        edxbus__errf(errstr, errstr_size,
                     "\"%.80s\": \"%.64s\" is not an IP address; give one (0.0.0.0 for every "
                     "interface) or only the port for loopback",
                     text, h);
        return EDXBUS_ERR_INVALID_ARG;
    }
    snprintf(host, host_size, "%s", h);
    *port = (uint16_t)p;
    return EDXBUS_OK;
}

/* ---------------------------------------------------------------------------------------------
 * The listener
 * ------------------------------------------------------------------------------------------- */

struct edxbus_metrics_server {
    struct MHD_Daemon *d;
    uint16_t port;
};

static enum MHD_Result respond(struct MHD_Connection *c, unsigned status, const char *type,
                               const void *body, size_t len)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (r == NULL)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", type);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result answer(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **con_cls)
{
    (void)cls;
    (void)version;
    (void)upload;
    (void)upload_size;
    (void)con_cls;
    static const char text[] = "text/plain; charset=utf-8";
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return respond(c, MHD_HTTP_METHOD_NOT_ALLOWED, text, "only GET\n", 9);
    if (strcmp(url, "/metrics") == 0) {
        struct edxbus_buf b = EDXBUS_BUF_INIT;
        if (edxbus_metrics_write_text(&b) != EDXBUS_OK) {
            edxbus_buf_fini(&b);
            return respond(c, MHD_HTTP_INTERNAL_SERVER_ERROR, text, "out of memory\n", 14);
        }
        enum MHD_Result r = respond(c, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8",
                                    b.data ? (const void *)b.data : "", b.len);
        edxbus_buf_fini(&b);
        return r;
    }
    bool health = strcmp(url, "/healthz") == 0, ready = strcmp(url, "/readyz") == 0;
    if (health || ready) {
        char why[512] = "";
        bool ok = health ? edxbus_metrics_is_healthy(why, sizeof why - 2)
                         : edxbus_metrics_is_ready(why, sizeof why - 2);
        if (ok)
            snprintf(why, sizeof why, "%s", health ? "ok" : "ready");
        size_t n = strlen(why);
        why[n++] = '\n';
        return respond(c, ok ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE, text, why, n);
    }
    return respond(c, MHD_HTTP_NOT_FOUND, text, "not found: try /metrics, /healthz, /readyz\n",
                   43);
}

edxbus_err_t edxbus_metrics_server_start(const edxbus_conf_t *conf, const char *address,
                                         edxbus_metrics_server_t **out, char *errstr,
                                         size_t errstr_size)
{
    *out = NULL;
    const char *origin = "--metrics-address";
    if (address == NULL && conf != NULL) {
        address = edxbus_conf_get_str(conf, "EVENT_BUS_METRICS_ADDRESS", NULL);
        origin = "EVENT_BUS_METRICS_ADDRESS";
    }
    if (address == NULL)
        return EDXBUS_OK;
    char host[64], err[EDXBUS_ERRSTR_SIZE];
    uint16_t port = 0;
    if (edxbus_metrics_parse_address(address, host, sizeof host, &port, err, sizeof err) !=
        EDXBUS_OK) {
        edxbus__errf(errstr, errstr_size, "%s: %s", origin, err);
        return EDXBUS_ERR_INVALID_ARG;
    }
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD;
    struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons(port);
    } else {
        inet_pton(AF_INET6, host, &s6->sin6_addr);
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(port);
        flags |= MHD_USE_IPv6;
    }
    edxbus_metrics_server_t *srv = calloc(1, sizeof *srv);
    if (srv == NULL) {
        edxbus__errf(errstr, errstr_size, "out of memory");
        return EDXBUS_ERR_NOMEM;
    }
    errno = 0;
    srv->d = MHD_start_daemon(flags, port, NULL, NULL, answer, NULL, MHD_OPTION_SOCK_ADDR,
                              (struct sockaddr *)&ss, MHD_OPTION_CONNECTION_TIMEOUT,
                              (unsigned int)10, MHD_OPTION_END);
    if (srv->d == NULL) {
        int e = errno;
        edxbus__errf(errstr, errstr_size,
                     "%s: cannot listen on %s port %u (%s); choose a free port or another "
                     "address",
                     origin, host, (unsigned)port, e ? strerror(e) : "address in use?");
        free(srv);
        return EDXBUS_ERR_IO;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(srv->d, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = info != NULL && info->port != 0 ? info->port : port;
    *out = srv;
    return EDXBUS_OK;
}

uint16_t edxbus_metrics_server_port(const edxbus_metrics_server_t *srv)
{
    return srv != NULL ? srv->port : 0;
}

void edxbus_metrics_server_stop(edxbus_metrics_server_t *srv)
{
    if (srv == NULL)
        return;
    MHD_stop_daemon(srv->d);
    free(srv);
}
