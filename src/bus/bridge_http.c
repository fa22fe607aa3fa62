/* src/bus/bridge_http.c — the bridge's HTTP destination: each event POSTed as a CloudEvent.
 *
 * CloudEvents 1.0 HTTP protocol binding, binary content mode: the event's data is the request
 * body (its plain JSON form, `content-type: application/json`), and its attributes are headers:
 * ce-specversion "1.0", ce-id, ce-type, ce-source, ce-time from the Open edX metadata, and the
 * rest of that metadata as extension attributes (ce-minorversion, ce-sourcehost, ce-sourcelib).
 * Header values are percent-encoded as the binding requires (space, '"', '%' and anything
 * outside printable ASCII), which also keeps a hostile metadata text from adding headers.
 *
 * With EVENT_BUS_BRIDGE_HTTP_CONTENT_MODE "structured", the structured content mode instead: one
 * JSON object as the body (`content-type: application/cloudevents+json`, the binding's JSON
 * event format) holding the attributes — specversion, id, type, source, time, the extensions
 * minorversion (a number), sourcehost, sourcelib — datacontenttype "application/json", and
 * "data", the event's data as JSON. Nothing of the event goes into a header then.
 *
 * Each request has a timeout (EVENT_BUS_BRIDGE_HTTP_TIMEOUT). A 2xx answer is the destination's
 * confirmation; any other answer or a connection error is a failure, retried with the worker's
 * backoff (EVENT_BUS_CONSUMER_RETRIES, EVENT_BUS_CONSUMER_RETRY_BACKOFF_MS) and then
 * dead-lettered on the source.
 *
 * Requests in flight: at most EVENT_BUS_BRIDGE_HTTP_IN_FLIGHT (default 8, 1..256), on one curl
 * multi handle. With 1 the receiver waits for its answer and returns it (the worker retries),
 * so events go one at a time in the source's order. With more, the receiver starts the POST
 * and returns once it is on its way; an event whose key (the source message's key; events
 * without one count as one key) has a POST in flight waits for that POST to be settled
 * (accepted, or dead-lettered after its retries) first, so the events of one key are never in
 * flight together and reach the endpoint in the source's order. A failed POST is retried here,
 * with the worker's lines and counts (edxbus__consumer_retry_wait), before any later event of
 * its key goes; its last failure goes to the worker's dead letters
 * (edxbus__consumer_failed_late). The worker's before-ack call waits until every POST of the
 * batch is settled, so the source acknowledges a batch only once each of its events was
 * accepted or dead-lettered; a dead letter that could not be stored, or a stop during retries,
 * leaves the whole batch unacknowledged (delivered again). A bridge killed mid-flight sends
 * again at most its batch (EVENT_BUS_CONSUMER_BATCH_SIZE), the same event ids. With
 * EVENT_BUS_CONSUMER_DEDUP the worker records an id as done when the receiver returns, before
 * its POST is answered, so the bridge then keeps one request in flight (and says so).
 *
 * Authentication comes from settings, never from the command line, and is never written to a
 * log or an error: a bearer token (EVENT_BUS_BRIDGE_HTTP_TOKEN) or basic auth
 * (EVENT_BUS_BRIDGE_HTTP_BASIC_AUTH, "user:password"); errors name the URL without any
 * user:password part.
 */
#include "bus_int.h"
#include "consumer_int.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edxbus/bridge.h"

#define IN_FLIGHT_MAX 256
#define WAIT_STEP_MS 100 /* curl_multi_poll's longest sleep (a stop is seen within it) */

/* One POST: in flight, answered and not settled yet, or free. */
struct req {
    CURL *easy;
    struct curl_slist *hdrs;
    struct edxbus_buf body, key;
    bool keyed;                   /* the source message has a key (in key) */
    const struct edxbus_msg *msg; /* the source message: the batch's, valid until its acks */
    bool busy;                    /* taken: in flight, or answered and not settled */
    bool done;                    /* answered (or failed to connect): rc and status hold */
    CURLcode rc;
    long status;
    unsigned attempts; /* tries sent so far */
};

struct http_dest {
    CURLM *multi;
    struct req *reqs; /* EVENT_BUS_BRIDGE_HTTP_IN_FLIGHT of them */
    size_t nreqs;
    edxbus_consumer_t *cons; /* the source's worker (edxbus__bridge_http_attach) */
    bool broken;             /* this batch had a failure that may not be acknowledged */
    const char *url;
    char display[256]; /* the URL without user:password, for messages */
    const char *token; /* borrowed from the settings */
    const char *basic;
    long timeout_ms;
    bool structured; /* EVENT_BUS_BRIDGE_HTTP_CONTENT_MODE: the structured content mode */
    struct edxbus_buf text, hdr;
    uint64_t forwarded;
};

static size_t discard(char *ptr, size_t size, size_t n, void *opaque)
{
    (void)ptr;
    (void)opaque;
    return size * n;
}

/* The URL as it may be shown: scheme://host/path, any user:password@ dropped (the user-info
 * ends at the last '@' of the authority, which ends at the first '/', '?' or '#', as curl
 * reads it). */
static void url_display(const char *url, char *out, size_t size)
{
    const char *hostp = strstr(url, "://");
    hostp = hostp != NULL ? hostp + 3 : url;
    size_t authority = strcspn(hostp, "/?#");
    const char *at = NULL;
    for (const char *p = hostp; p < hostp + authority; p++)
        if (*p == '@')
            at = p;
    if (at != NULL)
        snprintf(out, size, "%.*s%s", (int)(hostp - url), url, at + 1);
    else
        snprintf(out, size, "%s", url);
}

/* Append "name: value" with the value percent-encoded per the CloudEvents HTTP binding. */
static bool header(struct http_dest *d, struct curl_slist **list, const char *name,
                   const uint8_t *v, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    edxbus_buf_reset(&d->hdr);
    if (edxbus_buf_puts(&d->hdr, name) != EDXBUS_OK || edxbus_buf_puts(&d->hdr, ": ") != EDXBUS_OK)
        return false;
    for (size_t i = 0; i < len; i++) {
        uint8_t c = v[i];
        if (c > 0x20 && c < 0x7f && c != '"' && c != '%') {
            if (edxbus_buf_append(&d->hdr, &c, 1) != EDXBUS_OK)
                return false;
        } else {
            char esc[3] = {'%', hex[c >> 4], hex[c & 15]};
            if (edxbus_buf_append(&d->hdr, esc, 3) != EDXBUS_OK)
                return false;
        }
    }
    if (edxbus_buf_terminate(&d->hdr) != EDXBUS_OK)
        return false;
    struct curl_slist *l = curl_slist_append(*list, (const char *)d->hdr.data);
    if (l == NULL)
        return false;
    *list = l;
    return true;
}

/* The headers of one event; NULL when out of memory. */
static struct curl_slist *event_headers(struct http_dest *d, const struct edxbus_metadata *md)
{
    static const char *const fields[][2] = {
        {"id", "ce-id"},
        {"event_type", "ce-type"},
        {"source", "ce-source"},
        {"time", "ce-time"},
        {"minorversion", "ce-minorversion"},
        {"sourcehost", "ce-sourcehost"},
        {"sourcelib", "ce-sourcelib"},
    };
    struct curl_slist *list = curl_slist_append(
        NULL, d->structured ? "content-type: application/cloudevents+json; charset=utf-8"
                            : "content-type: application/json");
    struct curl_slist *l = list ? curl_slist_append(list, "Expect:") : NULL; /* no 100-continue */
    if (l == NULL)
        goto out_nomem;
    if (!d->structured && curl_slist_append(list, "ce-specversion: 1.0") == NULL)
        goto out_nomem;
    for (size_t i = 0; !d->structured && i < sizeof fields / sizeof fields[0]; i++) {
        edxbus_buf_reset(&d->text);
        if (edxbus_metadata_field_text(md, fields[i][0], &d->text) != EDXBUS_OK ||
            !header(d, &list, fields[i][1], d->text.data, d->text.len))
            goto out_nomem;
    }
    if (d->token != NULL) {
        edxbus_buf_reset(&d->hdr);
        if (edxbus_buf_puts(&d->hdr, "authorization: Bearer ") != EDXBUS_OK ||
            edxbus_buf_puts(&d->hdr, d->token) != EDXBUS_OK ||
            edxbus_buf_terminate(&d->hdr) != EDXBUS_OK ||
            (l = curl_slist_append(list, (const char *)d->hdr.data)) == NULL)
            goto out_nomem;
    }
    return list;
out_nomem:
    curl_slist_free_all(list);
    return NULL;
}

/* The structured mode's body: the attributes, then "data" (a JSON object, written by the
 * project's writer so that NaN and the like come out as the data has them). */
static json_t *structured_event(struct http_dest *d, const struct edxbus_metadata *md,
                                const json_t *data)
{
    static const char *const attrs[][2] = {
        {"id", "id"},       {"event_type", "type"},           {"source", "source"},
        {"time", "time"},   {"minorversion", "minorversion"}, {"sourcehost", "sourcehost"},
        {"sourcelib", "sourcelib"},
    };
    json_t *o = json_pack("{s:s}", "specversion", "1.0");
    for (size_t i = 0; o != NULL && i < sizeof attrs / sizeof attrs[0]; i++) {
        edxbus_buf_reset(&d->text);
        json_t *v = NULL;
        if (edxbus_metadata_field_text(md, attrs[i][0], &d->text) == EDXBUS_OK)
            v = i == 4 ? json_integer(md->minorversion)
                       : json_stringn((const char *)d->text.data, d->text.len);
        if (v == NULL || json_object_set_new(o, attrs[i][1], v) != 0) {
            json_decref(o);
            return NULL;
        }
    }
    if (o == NULL || json_object_set_new(o, "datacontenttype", json_string("application/json")) ||
        json_object_set(o, "data", (json_t *)data) != 0) { /* a reference, dropped below */
        json_decref(o);
        return NULL;
    }
    return o;
}

/* Build @p r's request for @p ev (body, headers, options) and add it to the multi handle. */
static edxbus_err_t start(struct http_dest *d, struct req *r, const edxbus_event_t *ev,
                          char *errstr, size_t errstr_size)
{
    const struct edxbus_metadata *md = edxbus_event_get_metadata(ev);
    const json_t *data = edxbus_event_get_data(ev);
    json_t *whole = d->structured && data != NULL ? structured_event(d, md, data) : NULL;
    edxbus_buf_reset(&r->body);
    bool written = data != NULL && (!d->structured || whole != NULL) &&
                   edxbus_json_write(whole ? whole : data, 0, &r->body) == EDXBUS_OK &&
                   edxbus_buf_terminate(&r->body) == EDXBUS_OK;
    json_decref(whole);
    if (!written) {
        edxbus__errf(errstr, errstr_size, "POST %s: the event's data cannot be written as JSON",
                     d->display);
        return EDXBUS_ERR_NOMEM;
    }
    curl_slist_free_all(r->hdrs);
    r->hdrs = event_headers(d, md);
    if (r->hdrs == NULL) {
        edxbus__errf(errstr, errstr_size, "out of memory");
        return EDXBUS_ERR_NOMEM;
    }
    CURL *c = r->easy;
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, d->url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, d->timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, d->timeout_ms);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, r->hdrs);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, (const char *)r->body.data);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)r->body.len);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "edxbus");
    curl_easy_setopt(c, CURLOPT_PRIVATE, (void *)r);
    if (d->basic != NULL) {
        curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(c, CURLOPT_USERPWD, d->basic);
    }
    if (curl_multi_add_handle(d->multi, c) != CURLM_OK) {
        edxbus__errf(errstr, errstr_size, "POST %s: cannot start the request", d->display);
        return EDXBUS_ERR_NOMEM;
    }
    r->busy = true;
    r->done = false;
    r->attempts = 1;
    return EDXBUS_OK;
}

/* Let curl work for at most WAIT_STEP_MS (less when something is answered) and mark the
 * answered requests done. */
static void step(struct http_dest *d)
{
    int running = 0, left = 0;
    curl_multi_perform(d->multi, &running);
    CURLMsg *m;
    bool any = false;
    for (int pass = 0; pass < 2 && !any; pass++) {
        while ((m = curl_multi_info_read(d->multi, &left)) != NULL) {
            if (m->msg != CURLMSG_DONE)
                continue;
            struct req *r = NULL;
            curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
            r->rc = m->data.result;
            r->status = 0;
            if (r->rc == CURLE_OK)
                curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &r->status);
            curl_multi_remove_handle(d->multi, m->easy_handle);
            r->done = true;
            any = true;
        }
        if (!any && pass == 0) {
            curl_multi_poll(d->multi, NULL, 0, WAIT_STEP_MS, NULL);
            curl_multi_perform(d->multi, &running);
        }
    }
}

/* The outcome of an answered request: EDXBUS_OK for a 2xx, else the error with its line. */
static edxbus_err_t outcome(const struct http_dest *d, const struct req *r, char *errstr,
                            size_t errstr_size)
{
    if (r->rc != CURLE_OK) {
        edxbus__errf(errstr, errstr_size, "POST %s: %s", d->display, curl_easy_strerror(r->rc));
        return r->rc == CURLE_OPERATION_TIMEDOUT ? EDXBUS_ERR_TIMEOUT : EDXBUS_ERR_IO;
    }
    if (r->status < 200 || r->status > 299) {
        edxbus__errf(errstr, errstr_size, "POST %s: the endpoint answered HTTP %ld", d->display,
                     r->status);
        return EDXBUS_ERR_BROKER;
    }
    return EDXBUS_OK;
}

static void release(struct req *r)
{
    r->busy = false;
    r->done = false;
    r->msg = NULL;
}

/* Settle every answered request: accepted (counted), retried after the worker's backoff, or
 * after its last try handed to the worker's dead letters. */
static void settle(struct http_dest *d)
{
    for (size_t i = 0; i < d->nreqs; i++) {
        struct req *r = &d->reqs[i];
        if (!r->busy || !r->done)
            continue;
        char why[EDXBUS_ERRSTR_SIZE];
        if (outcome(d, r, why, sizeof why) == EDXBUS_OK) {
            d->forwarded++;
            release(r);
        } else if (r->attempts < d->cons->tries) {
            if (!edxbus__consumer_retry_wait(d->cons, r->msg, r->attempts, why)) {
                d->broken = true; /* stopping: not acknowledged, delivered again */
                release(r);
            } else if (curl_multi_add_handle(d->multi, r->easy) == CURLM_OK) {
                r->done = false;
                r->attempts++;
            } else {
                d->broken = true;
                release(r);
            }
        } else {
            if (!edxbus__consumer_failed_late(d->cons, r->msg, r->attempts, why))
                d->broken = true;
            release(r);
        }
    }
}

/* A request whose key is @p key (@p keyed false: no key) in flight or unsettled; or NULL. */
static struct req *same_key(struct http_dest *d, bool keyed, const uint8_t *key, size_t len)
{
    for (size_t i = 0; i < d->nreqs; i++) {
        struct req *r = &d->reqs[i];
        if (r->busy && r->keyed == keyed &&
            (!keyed || (r->key.len == len && (len == 0 || memcmp(r->key.data, key, len) == 0))))
            return r;
    }
    return NULL;
}

static struct req *free_req(struct http_dest *d)
{
    for (size_t i = 0; i < d->nreqs; i++)
        if (!d->reqs[i].busy)
            return &d->reqs[i];
    return NULL;
}

static edxbus_err_t post(const edxbus_event_t *ev, void *opaque, char *errstr, size_t errstr_size)
{
    struct http_dest *d = opaque;
    const struct edxbus_msg *msg = ev->msg;
    if (d->nreqs == 1 || d->cons == NULL || msg == NULL) {
        /* One at a time: the answer is the receiver's result (the worker retries). */
        struct req *r = &d->reqs[0];
        while (r->busy) { /* left by a batch the worker stopped in: settle it first */
            step(d);
            settle(d);
        }
        edxbus_err_t err = start(d, r, ev, errstr, errstr_size);
        if (err != EDXBUS_OK)
            return err;
        while (!r->done)
            step(d);
        err = outcome(d, r, errstr, errstr_size);
        if (err == EDXBUS_OK)
            d->forwarded++;
        release(r);
        return err;
    }
    const uint8_t *key = msg->key;
    size_t key_len = msg->key != NULL ? msg->key_len : 0;
    bool keyed = msg->key != NULL;
    while (same_key(d, keyed, key, key_len) != NULL) { /* one POST per key at a time */
        step(d);
        settle(d);
    }
    struct req *r;
    while ((r = free_req(d)) == NULL) {
        step(d);
        settle(d);
    }
    edxbus_buf_reset(&r->key);
    if (keyed && edxbus_buf_append(&r->key, key, key_len) != EDXBUS_OK) {
        edxbus__errf(errstr, errstr_size, "out of memory");
        return EDXBUS_ERR_NOMEM;
    }
    r->keyed = keyed;
    r->msg = msg;
    edxbus_err_t err = start(d, r, ev, errstr, errstr_size);
    if (err != EDXBUS_OK) {
        release(r);
        return err;
    }
    int running;
    curl_multi_perform(d->multi, &running); /* on its way */
    return EDXBUS_OK;
}

/* The worker's before-ack call: every POST of the batch settled. */
static edxbus_err_t drain(void *opaque, char *errstr, size_t errstr_size)
{
    struct http_dest *d = opaque;
    for (;;) {
        bool busy = false;
        for (size_t i = 0; i < d->nreqs && !busy; i++)
            busy = d->reqs[i].busy;
        if (!busy)
            break;
        step(d);
        settle(d);
    }
    bool broken = d->broken;
    d->broken = false;
    if (broken) {
        edxbus__errf(errstr, errstr_size,
                     "POST %s: an event of the batch was neither accepted nor dead-lettered",
                     d->display);
        return EDXBUS_ERR_IO;
    }
    return EDXBUS_OK;
}

void edxbus__bridge_http_attach(void *opaque, edxbus_consumer_t *cons)
{
    struct http_dest *d = opaque;
    d->cons = cons;
    if (d->nreqs > 1)
        edxbus_consumer_set_before_ack(cons, drain, d);
}

/* Whether @p text holds a byte that cannot go into a header or a URL as it is: a control
 * character (CR and LF would start another header), a space, or DEL. */
static bool has_control(const char *text)
{
    for (const unsigned char *p = (const unsigned char *)text; *p; p++)
        if (*p <= 0x20 || *p == 0x7f)
            return true;
    return false;
}

edxbus_err_t edxbus__bridge_http_auth_check(const edxbus_conf_t *conf, char *errstr,
                                            size_t errstr_size)
{
    const char *token = edxbus_conf_get_str(conf, "EVENT_BUS_BRIDGE_HTTP_TOKEN", NULL);
    const char *basic = edxbus_conf_get_str(conf, "EVENT_BUS_BRIDGE_HTTP_BASIC_AUTH", NULL);
    const char *mode = edxbus_conf_get_str(conf, "EVENT_BUS_BRIDGE_HTTP_CONTENT_MODE", NULL);
    int64_t in_flight = edxbus_conf_get_int(conf, "EVENT_BUS_BRIDGE_HTTP_IN_FLIGHT", 8);
    bool has_token = token != NULL && token[0] != '\0';
    bool has_basic = basic != NULL && basic[0] != '\0';
    /* The secrets' values are never shown: only what is wrong with them. */
    if (has_token && has_control(token))
        edxbus__errf(errstr, errstr_size,
                     "EVENT_BUS_BRIDGE_HTTP_TOKEN: holds a space, a line break or another "
                     "control character; a bearer token is one word of printable text");
    else if (has_basic && has_control(basic))
        edxbus__errf(errstr, errstr_size,
                     "EVENT_BUS_BRIDGE_HTTP_BASIC_AUTH: holds a space, a line break or another "
                     "control character; expected user:password in printable text");
    else if (has_basic && strchr(basic, ':') == NULL)
        edxbus__errf(errstr, errstr_size,
                     "EVENT_BUS_BRIDGE_HTTP_BASIC_AUTH: expected user:password (no ':' found)");
    else if (has_token && has_basic)
        edxbus__errf(errstr, errstr_size,
                     "EVENT_BUS_BRIDGE_HTTP_TOKEN and EVENT_BUS_BRIDGE_HTTP_BASIC_AUTH are both "
                     "set; the destination takes one kind of authorization: unset one");
    else if (in_flight > IN_FLIGHT_MAX)
        edxbus__errf(errstr, errstr_size,
                     "EVENT_BUS_BRIDGE_HTTP_IN_FLIGHT: %lld is more requests in flight than the "
                     "bridge keeps (at most %d); expected e.g. 8",
                     (long long)in_flight, IN_FLIGHT_MAX);
    else if (!edxbus__bridge_http_mode_is_valid(mode)) {
        char shown[96]; /* as JSON text: quoted, a line break escaped */
        edxbus__errf(errstr, errstr_size,
                     "EVENT_BUS_BRIDGE_HTTP_CONTENT_MODE: %s is not a CloudEvents content mode; "
                     "expected binary or structured",
                     edxbus_conf_show(conf, "EVENT_BUS_BRIDGE_HTTP_CONTENT_MODE", shown,
                                      sizeof shown));
    }
    else
        return EDXBUS_OK;
    return EDXBUS_ERR_CONF;
}

edxbus_err_t edxbus__bridge_http_settings(const edxbus_conf_t *conf, const char *url,
                                          struct edxbus__http_dest_settings *out, char *errstr,
                                          size_t errstr_size)
{
    memset(out, 0, sizeof *out);
    url_display(url, out->display, sizeof out->display);
    for (char *p = out->display; *p; p++) /* the message stays one line */
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
    size_t scheme = strncmp(url, "http://", 7) == 0 ? 7 : strncmp(url, "https://", 8) == 0 ? 8 : 0;
    if (scheme == 0) {
        edxbus__errf(errstr, errstr_size,
                     "--to: \"%.100s\" is not an HTTP URL; expected http(s)://host[:port]/path",
                     out->display);
        return EDXBUS_ERR_CONF;
    }
    const char *host = url + scheme;
    for (const char *p = host; p < url + scheme + strcspn(url + scheme, "/?#"); p++)
        if (*p == '@')
            host = p + 1;
    if (*host == '\0' || *host == '/' || *host == ':' || *host == '?' || *host == '#') {
        edxbus__errf(errstr, errstr_size, "--to: \"%.100s\" names no host", out->display);
        return EDXBUS_ERR_CONF;
    }
    if (has_control(url)) {
        edxbus__errf(errstr, errstr_size,
                     "--to: \"%.100s\" holds a space or a control character; percent-encode it "
                     "(%%20)",
                     out->display);
        return EDXBUS_ERR_CONF;
    }
    edxbus_err_t err = edxbus__bridge_http_auth_check(conf, errstr, errstr_size);
    if (err != EDXBUS_OK)
        return err;
    const char *token = edxbus_conf_get_str(conf, "EVENT_BUS_BRIDGE_HTTP_TOKEN", NULL);
    const char *basic = edxbus_conf_get_str(conf, "EVENT_BUS_BRIDGE_HTTP_BASIC_AUTH", NULL);
    const char *mode = edxbus_conf_get_str(conf, "EVENT_BUS_BRIDGE_HTTP_CONTENT_MODE", "binary");
    out->token = token != NULL && token[0] != '\0' ? token : NULL;
    out->basic = basic != NULL && basic[0] != '\0' ? basic : NULL;
    out->structured = mode != NULL && strcmp(mode, "structured") == 0;
    out->timeout_ms =
        (long)(edxbus_conf_get_double(conf, "EVENT_BUS_BRIDGE_HTTP_TIMEOUT", 10.0) * 1000);
    if (out->timeout_ms < 1)
        out->timeout_ms = 1;
    int64_t n = edxbus_conf_get_int(conf, "EVENT_BUS_BRIDGE_HTTP_IN_FLIGHT", 8);
    out->in_flight = n < 1 ? 1 : (size_t)n; /* at most IN_FLIGHT_MAX: checked above */
    return EDXBUS_OK;
}

edxbus_err_t edxbus__bridge_http_open(const edxbus_conf_t *conf, const char *url,
                                      edxbus_receiver_fn *fn, void **opaque, char *errstr,
                                      size_t errstr_size)
{
    struct edxbus__http_dest_settings set;
    edxbus_err_t err = edxbus__bridge_http_settings(conf, url, &set, errstr, errstr_size);
    if (err != EDXBUS_OK)
        return err;
    if (set.in_flight > 1 && edxbus_conf_get_bool(conf, "EVENT_BUS_CONSUMER_DEDUP", false)) {
        edxbus_conf_log(conf, EDXBUS_LOG_WARNING,
                        "bridge: EVENT_BUS_CONSUMER_DEDUP records an event as done before its "
                        "POST is answered when several are in flight; sending one at a time "
                        "(EVENT_BUS_BRIDGE_HTTP_IN_FLIGHT %zu ignored)",
                        set.in_flight);
        set.in_flight = 1;
    }
    struct http_dest *d = calloc(1, sizeof *d);
    bool ok = d != NULL && curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK &&
              (d->multi = curl_multi_init()) != NULL &&
              (d->reqs = calloc(set.in_flight, sizeof *d->reqs)) != NULL;
    if (ok)
        d->nreqs = set.in_flight;
    for (size_t i = 0; ok && i < d->nreqs; i++)
        ok = (d->reqs[i].easy = curl_easy_init()) != NULL;
    if (!ok) {
        edxbus__bridge_http_close(d);
        edxbus__errf(errstr, errstr_size, "out of memory");
        return EDXBUS_ERR_NOMEM;
    }
    d->url = url;
    memcpy(d->display, set.display, sizeof d->display);
    d->token = set.token;
    d->basic = set.basic;
    d->structured = set.structured;
    d->timeout_ms = set.timeout_ms;
    *fn = post;
    *opaque = d;
    return EDXBUS_OK;
}

bool edxbus__bridge_http_mode_is_valid(const char *mode)
{
    return mode == NULL || strcmp(mode, "binary") == 0 || strcmp(mode, "structured") == 0;
}

uint64_t edxbus__bridge_http_close(void *opaque)
{
    struct http_dest *d = opaque;
    if (d == NULL)
        return 0;
    uint64_t n = d->forwarded;
    for (size_t i = 0; i < d->nreqs; i++) {
        struct req *r = &d->reqs[i];
        if (r->easy != NULL) {
            if (r->busy && !r->done)
                curl_multi_remove_handle(d->multi, r->easy);
            curl_easy_cleanup(r->easy);
        }
        curl_slist_free_all(r->hdrs);
        edxbus_buf_fini(&r->body);
        edxbus_buf_fini(&r->key);
    }
    free(d->reqs);
    if (d->multi != NULL)
        curl_multi_cleanup(d->multi);
    edxbus_buf_fini(&d->text);
    edxbus_buf_fini(&d->hdr);
    free(d);
    return n;
}
