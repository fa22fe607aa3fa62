/* src/backends/kafka/registry.c — the Confluent Schema Registry client (see registry.h).
 *
 * One curl easy handle per client, reused across requests (keep-alive). Each call builds its
 * URL and body, runs the exchange with retries, then reads the JSON answer. The two caches are
 * plain arrays: a process sees a handful of subjects and schema ids (one per event type), and
 * the producer and consumer put their own per-message caches in front of these.
 */
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "registry.h"
#include "edxbus/buf.h"

#define KREG_CONTENT_TYPE "application/vnd.schemaregistry.v1+json"
#define KREG_DEFAULT_TIMEOUT_MS 10000
#define KREG_DEFAULT_ATTEMPTS 3
#define KREG_DEFAULT_BACKOFF_MS 100
#define KREG_MAX_ANSWER (16u << 20) /* bytes: a schema answer larger than this is refused */

struct kreg_subject_id {
    char *subject;
    char *schema;
    size_t schema_len;
    uint32_t id;
};

struct kreg_id_schema {
    uint32_t id;
    char *schema;
};

struct kreg {
    CURL *curl;
    char *base;           /* URL without a trailing slash */
    char *display;        /* the URL with the password masked */
    char *api_key;        /* NULL: none */
    char *secret;
    long timeout_ms;
    int attempts;
    long backoff_ms;
    uint64_t requests;
    struct edxbus_buf answer;
    struct kreg_subject_id *by_subject;
    size_t nby_subject, cap_by_subject;
    struct kreg_id_schema *by_id;
    size_t nby_id, cap_by_id;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* ------------------------------------------------------------------------------------------ */
/* Helpers */

static void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* "scheme://user:password@host…" -> "scheme://user:********@host…". */
static char *mask_url(const char *url)
{
    const char *scheme_end = strstr(url, "://");
    const char *host = scheme_end ? scheme_end + 3 : url;
    const char *at = strchr(host, '@');
    const char *slash = strchr(host, '/');
    if (at == NULL || (slash != NULL && slash < at))
        return strdup(url);
    const char *colon = memchr(host, ':', (size_t)(at - host));
    if (colon == NULL)
        return strdup(url);
    size_t head = (size_t)(colon + 1 - url);
    size_t n = head + 8 + strlen(at) + 1;
    char *out = malloc(n);
    if (out != NULL)
        snprintf(out, n, "%.*s********%s", (int)head, url, at);
    return out;
}

edxbus_err_t edxbus__kreg_json_string(struct edxbus_buf *out, const char *text, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    if (edxbus_buf_reserve(out, len + 2) != EDXBUS_OK)
        return EDXBUS_ERR_NOMEM;
    edxbus_err_t err = edxbus_buf_append(out, "\"", 1);
    const unsigned char *s = (const unsigned char *)text;
    for (size_t i = 0; i < len && err == EDXBUS_OK;) {
        unsigned c = s[i];
        char esc[16];
        size_t n = 0;
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            n = 2;
            i++;
        } else if (c >= 0x20 && c < 0x7f) {
            size_t j = i;
            while (j < len && s[j] >= 0x20 && s[j] < 0x7f && s[j] != '"' && s[j] != '\\')
                j++;
            err = edxbus_buf_append(out, s + i, j - i);
            i = j;
            continue;
        } else if (c < 0x80) {
            const char *short_esc = c == '\n' ? "\\n" : c == '\r' ? "\\r" : c == '\t' ? "\\t"
                                    : c == '\b' ? "\\b" : c == '\f' ? "\\f" : NULL;
            if (short_esc != NULL) {
                memcpy(esc, short_esc, 2);
                n = 2;
            } else {
                n = (size_t)snprintf(esc, sizeof esc, "\\u00%c%c", hex[c >> 4], hex[c & 15]);
            }
            i++;
        } else {
            /* Decode one UTF-8 sequence. */
            uint32_t cp;
            size_t extra;
            if ((c & 0xe0) == 0xc0) {
                cp = c & 0x1f;
                extra = 1;
            } else if ((c & 0xf0) == 0xe0) {
                cp = c & 0x0f;
                extra = 2;
            } else if ((c & 0xf8) == 0xf0) {
                cp = c & 0x07;
                extra = 3;
            } else {
                return EDXBUS_ERR_INVALID_ARG;
            }
            if (i + extra >= len)
                return EDXBUS_ERR_INVALID_ARG;
            for (size_t k = 1; k <= extra; k++) {
                if ((s[i + k] & 0xc0) != 0x80)
                    return EDXBUS_ERR_INVALID_ARG;
                cp = (cp << 6) | (s[i + k] & 0x3f);
            }
            i += extra + 1;
            if (cp >= 0x10000) {
                uint32_t v = cp - 0x10000;
                unsigned hi = 0xd800 + (v >> 10), lo = 0xdc00 + (v & 0x3ff);
                n = (size_t)snprintf(esc, sizeof esc, "\\u%04x\\u%04x", hi, lo);
            } else {
                n = (size_t)snprintf(esc, sizeof esc, "\\u%04x", (unsigned)cp);
            }
        }
        err = edxbus_buf_append(out, esc, n);
    }
    if (err == EDXBUS_OK)
        err = edxbus_buf_append(out, "\"", 1);
    return err == EDXBUS_OK ? EDXBUS_OK : EDXBUS_ERR_NOMEM;
}

/* ------------------------------------------------------------------------------------------ */
/* Lifecycle */

edxbus_err_t edxbus__kreg_new(const struct kreg_opts *opts, kreg_t **out, char *errstr,
                              size_t errstr_size)
{
    *out = NULL;
    if (opts->url == NULL || opts->url[0] == '\0') {
        edxbus_errf(errstr, errstr_size,
                    "EVENT_BUS_KAFKA_SCHEMA_REGISTRY_URL is not set; set it to the schema "
                    "registry, e.g. http://schema-registry:8081");
        return EDXBUS_ERR_CONF;
    }
    if (strncmp(opts->url, "http://", 7) != 0 && strncmp(opts->url, "https://", 8) != 0) {
        char *shown = mask_url(opts->url);
        edxbus_errf(
            errstr, errstr_size,
            "EVENT_BUS_KAFKA_SCHEMA_REGISTRY_URL: \"%.150s\" is not an http:// or https:// URL",
            shown ? shown : "?");
        free(shown);
        return EDXBUS_ERR_CONF;
    }
    pthread_once(&curl_once, curl_init_once);
    struct kreg *reg = calloc(1, sizeof *reg);
    if (reg == NULL)
        goto nomem;
    edxbus_buf_init(&reg->answer);
    reg->base = strdup(opts->url);
    reg->display = mask_url(opts->url);
    reg->curl = curl_easy_init();
    if (reg->base == NULL || reg->display == NULL || reg->curl == NULL)
        goto nomem;
    size_t n = strlen(reg->base);
    while (n > 0 && reg->base[n - 1] == '/')
        reg->base[--n] = '\0';
    if (opts->api_key != NULL && opts->api_key[0] != '\0') {
        reg->api_key = strdup(opts->api_key);
        reg->secret = strdup(opts->secret ? opts->secret : "");
        if (reg->api_key == NULL || reg->secret == NULL)
            goto nomem;
    }
    reg->timeout_ms = opts->timeout_ms > 0 ? opts->timeout_ms : KREG_DEFAULT_TIMEOUT_MS;
    reg->attempts = opts->attempts > 0 ? opts->attempts : KREG_DEFAULT_ATTEMPTS;
    reg->backoff_ms = opts->backoff_ms >= 0 ? opts->backoff_ms : KREG_DEFAULT_BACKOFF_MS;
    *out = reg;
    return EDXBUS_OK;
nomem:
    edxbus__kreg_free(reg);
    edxbus_errf(errstr, errstr_size, "schema registry: out of memory");
    return EDXBUS_ERR_NOMEM;
}

void edxbus__kreg_free(kreg_t *reg)
{
    if (reg == NULL)
        return;
    if (reg->curl != NULL)
        curl_easy_cleanup(reg->curl);
    free(reg->base);
    free(reg->display);
    free(reg->api_key);
    if (reg->secret != NULL) {
        memset(reg->secret, 0, strlen(reg->secret));
        free(reg->secret);
    }
    edxbus_buf_fini(&reg->answer);
    for (size_t i = 0; i < reg->nby_subject; i++) {
        free(reg->by_subject[i].subject);
        free(reg->by_subject[i].schema);
    }
    free(reg->by_subject);
    for (size_t i = 0; i < reg->nby_id; i++)
        free(reg->by_id[i].schema);
    free(reg->by_id);
    free(reg);
}

const char *edxbus__kreg_display(const kreg_t *reg)
{
    return reg->display;
}

uint64_t edxbus__kreg_requests(const kreg_t *reg)
{
    return reg->requests;
}

/* ------------------------------------------------------------------------------------------ */
/* One exchange, with retries */

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *opaque)
{
    struct edxbus_buf *answer = opaque;
    size_t n = size * nmemb;
    if (answer->len + n > KREG_MAX_ANSWER || edxbus_buf_append(answer, ptr, n) != EDXBUS_OK)
        return 0; /* curl reports a write error */
    return n;
}

/* The registry's own words from an error answer ({"error_code": 40401, "message": "…"}). */
static void answer_message(const struct edxbus_buf *answer, char *out, size_t size)
{
    out[0] = '\0';
    json_t *obj = json_loadb((const char *)answer->data, answer->len, 0, NULL);
    const char *msg = json_string_value(json_object_get(obj, "message"));
    if (msg != NULL)
        snprintf(out, size, ": %.120s", msg);
    json_decref(obj);
}

/* Whether a 404 answer is the registry's own "no such subject / version / schema id"
 * (error_code 40401, 40402, 40403), not a wrong URL or a proxy's page. */
static bool answer_not_found(const struct edxbus_buf *answer)
{
    json_t *obj = json_loadb((const char *)answer->data, answer->len, 0, NULL);
    json_int_t code = json_integer_value(json_object_get(obj, "error_code"));
    json_decref(obj);
    return code >= 40401 && code <= 40403;
}

/* Run @p method on @p path (below the base URL) with @p body (NULL: none). On success
 * reg->answer holds the answer and *@p status its HTTP status (2xx). */
static edxbus_err_t exchange(struct kreg *reg, const char *method, const char *path,
                             const struct edxbus_buf *body, const char *what, char *errstr,
                             size_t errstr_size)
{
    struct edxbus_buf url = EDXBUS_BUF_INIT;
    if (edxbus_buf_puts(&url, reg->base) != EDXBUS_OK || edxbus_buf_puts(&url, path) != EDXBUS_OK ||
        edxbus_buf_terminate(&url) != EDXBUS_OK) {
        edxbus_buf_fini(&url);
        edxbus_errf(errstr, errstr_size, "schema registry: out of memory");
        return EDXBUS_ERR_NOMEM;
    }
    struct curl_slist *hdrs = NULL;
    hdrs = curl_slist_append(hdrs, "Accept: " KREG_CONTENT_TYPE ", application/json");
    if (body != NULL)
        hdrs = curl_slist_append(hdrs, "Content-Type: " KREG_CONTENT_TYPE);
    hdrs = curl_slist_append(hdrs, "Expect:");
    CURL *c = reg->curl;
    edxbus_err_t err = EDXBUS_ERR_IO;
    long backoff = reg->backoff_ms;
    for (int attempt = 1; attempt <= reg->attempts; attempt++) {
        curl_easy_reset(c);
        edxbus_buf_reset(&reg->answer);
        curl_easy_setopt(c, CURLOPT_URL, (const char *)url.data);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, reg->timeout_ms);
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, reg->timeout_ms);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &reg->answer);
        curl_easy_setopt(c, CURLOPT_USERAGENT, "edxbus");
        if (reg->api_key != NULL) {
            curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
            curl_easy_setopt(c, CURLOPT_USERNAME, reg->api_key);
            curl_easy_setopt(c, CURLOPT_PASSWORD, reg->secret);
        }
        if (body != NULL) {
            curl_easy_setopt(c, CURLOPT_POST, 1L);
            curl_easy_setopt(c, CURLOPT_POSTFIELDS, (const char *)body->data);
            curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)body->len);
        } else {
            curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
        }
        (void)method;
        reg->requests++;
        CURLcode rc = curl_easy_perform(c);
        bool retriable = false;
        if (rc != CURLE_OK) {
            err = rc == CURLE_OPERATION_TIMEDOUT ? EDXBUS_ERR_TIMEOUT : EDXBUS_ERR_IO;
            edxbus_errf(errstr, errstr_size,
                        "schema registry %.100s: %s failed: %s (tried %d times)", reg->display,
                        what, curl_easy_strerror(rc), attempt);
            retriable = true;
        } else {
            long status = 0;
            curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
            if (status >= 200 && status < 300) {
                err = EDXBUS_OK;
                break;
            }
            char said[160];
            answer_message(&reg->answer, said, sizeof said);
            if (status == 401 || status == 403) {
                err = EDXBUS_ERR_AUTH;
                edxbus_errf(errstr, errstr_size,
                            "schema registry %.100s: %s: HTTP %ld (check "
                            "EVENT_BUS_KAFKA_SCHEMA_REGISTRY_API_KEY and _API_SECRET)%s",
                            reg->display, what, status, said);
            } else if (status == 404 && answer_not_found(&reg->answer)) {
                err = EDXBUS_ERR_NOT_FOUND;
                edxbus_errf(errstr, errstr_size, "schema registry %.100s: %s: HTTP 404%s",
                            reg->display, what, said);
            } else if (status == 404) {
                err = EDXBUS_ERR_BROKER;
                edxbus_errf(errstr, errstr_size,
                            "schema registry %.100s: %s: HTTP 404 without a registry error code "
                            "(is EVENT_BUS_KAFKA_SCHEMA_REGISTRY_URL the registry's address?)%s",
                            reg->display, what, said);
            } else if (status == 409 || status == 422) {
                err = EDXBUS_ERR_SCHEMA;
                edxbus_errf(errstr, errstr_size, "schema registry %.100s: %s: HTTP %ld%s",
                            reg->display, what, status, said);
            } else {
                err = EDXBUS_ERR_BROKER;
                retriable = status >= 500 || status == 429 || status == 408;
                edxbus_errf(errstr, errstr_size, "schema registry %.100s: %s: HTTP %ld%s%s",
                            reg->display, what, status, said,
                            retriable && attempt > 1 ? " (after retries)" : "");
            }
        }
        if (!retriable || attempt == reg->attempts)
            break;
        sleep_ms(backoff);
        backoff *= 2;
    }
    curl_slist_free_all(hdrs);
    edxbus_buf_fini(&url);
    return err;
}

static json_t *answer_json(struct kreg *reg, const char *what, char *errstr, size_t errstr_size)
{
    json_t *obj = json_loadb((const char *)reg->answer.data, reg->answer.len, 0, NULL);
    if (obj == NULL)
        edxbus_errf(errstr, errstr_size, "schema registry %.100s: %s: the answer is not JSON",
                    reg->display, what);
    return obj;
}

/* "/subjects/<escaped subject><tail>" */
static edxbus_err_t subject_path(struct kreg *reg, const char *prefix, const char *subject,
                                 const char *tail, struct edxbus_buf *out)
{
    char *esc = curl_easy_escape(reg->curl, subject, 0);
    if (esc == NULL)
        return EDXBUS_ERR_NOMEM;
    edxbus_err_t err = edxbus_buf_printf(out, "%s%s%s", prefix, esc, tail);
    curl_free(esc);
    if (err == EDXBUS_OK)
        err = edxbus_buf_terminate(out);
    return err;
}

/* The 2.x register body: {"schema": "<text>", "schemaType": "AVRO", "references": []}. */
static edxbus_err_t schema_body(const char *schema, struct edxbus_buf *body)
{
    edxbus_err_t err = edxbus_buf_puts(body, "{\"schema\": ");
    if (err == EDXBUS_OK)
        err = edxbus__kreg_json_string(body, schema, strlen(schema));
    if (err == EDXBUS_OK)
        err = edxbus_buf_puts(body, ", \"schemaType\": \"AVRO\", \"references\": []}");
    return err;
}

/* ------------------------------------------------------------------------------------------ */
/* Calls */

edxbus_err_t edxbus__kreg_register(kreg_t *reg, const char *subject, const char *schema,
                                   uint32_t *id, char *errstr, size_t errstr_size)
{
    size_t schema_len = strlen(schema);
    for (size_t i = 0; i < reg->nby_subject; i++) {
        const struct kreg_subject_id *e = &reg->by_subject[i];
        if (e->schema_len == schema_len && strcmp(e->subject, subject) == 0 &&
            memcmp(e->schema, schema, schema_len) == 0) {
            *id = e->id;
            return EDXBUS_OK;
        }
    }
    struct edxbus_buf path = EDXBUS_BUF_INIT, body = EDXBUS_BUF_INIT;
    char what[200];
    snprintf(what, sizeof what, "registering a schema under subject \"%.150s\"", subject);
    edxbus_err_t err = subject_path(reg, "/subjects/", subject, "/versions?normalize=False", &path);
    if (err == EDXBUS_OK)
        err = schema_body(schema, &body);
    if (err == EDXBUS_ERR_INVALID_ARG) {
        edxbus_errf(errstr, errstr_size, "schema registry: %s: the schema is not UTF-8", what);
        goto out;
    }
    if (err != EDXBUS_OK) {
        edxbus_errf(errstr, errstr_size, "schema registry: out of memory");
        goto out;
    }
    err = exchange(reg, "POST", (const char *)path.data, &body, what, errstr, errstr_size);
    if (err != EDXBUS_OK)
        goto out;
    json_t *ans = answer_json(reg, what, errstr, errstr_size);
    json_t *jid = json_object_get(ans, "id");
    if (!json_is_integer(jid) || json_integer_value(jid) < 0 ||
        json_integer_value(jid) > (json_int_t)UINT32_MAX) {
        if (ans != NULL)
            edxbus_errf(errstr, errstr_size, "schema registry %.100s: %s: the answer has no id",
                        reg->display, what);
        json_decref(ans);
        err = EDXBUS_ERR_BROKER;
        goto out;
    }
    *id = (uint32_t)json_integer_value(jid);
    json_decref(ans);
    if (reg->nby_subject == reg->cap_by_subject) {
        size_t cap = reg->cap_by_subject ? reg->cap_by_subject * 2 : 8;
        struct kreg_subject_id *grown = realloc(reg->by_subject, cap * sizeof *grown);
        if (grown == NULL)
            goto out; /* not cached; the id is still right */
        reg->by_subject = grown;
        reg->cap_by_subject = cap;
    }
    struct kreg_subject_id e = {strdup(subject), strdup(schema), schema_len, *id};
    if (e.subject != NULL && e.schema != NULL) {
        reg->by_subject[reg->nby_subject++] = e;
    } else {
        free(e.subject);
        free(e.schema);
    }
out:
    edxbus_buf_fini(&path);
    edxbus_buf_fini(&body);
    return err;
}

edxbus_err_t edxbus__kreg_schema_by_id(kreg_t *reg, uint32_t id, const char **schema,
                                       char *errstr, size_t errstr_size)
{
    for (size_t i = 0; i < reg->nby_id; i++)
        if (reg->by_id[i].id == id) {
            *schema = reg->by_id[i].schema;
            return EDXBUS_OK;
        }
    char path[64], what[80];
    snprintf(path, sizeof path, "/schemas/ids/%" PRIu32, id);
    snprintf(what, sizeof what, "fetching schema id %" PRIu32, id);
    edxbus_err_t err = exchange(reg, "GET", path, NULL, what, errstr, errstr_size);
    if (err != EDXBUS_OK)
        return err;
    json_t *ans = answer_json(reg, what, errstr, errstr_size);
    const char *text = json_string_value(json_object_get(ans, "schema"));
    if (text == NULL) {
        if (ans != NULL)
            edxbus_errf(errstr, errstr_size, "schema registry %.100s: %s: the answer has no schema",
                        reg->display, what);
        json_decref(ans);
        return EDXBUS_ERR_BROKER;
    }
    if (reg->nby_id == reg->cap_by_id) {
        size_t cap = reg->cap_by_id ? reg->cap_by_id * 2 : 8;
        struct kreg_id_schema *grown = realloc(reg->by_id, cap * sizeof *grown);
        if (grown == NULL) {
            json_decref(ans);
            edxbus_errf(errstr, errstr_size, "schema registry: out of memory");
            return EDXBUS_ERR_NOMEM;
        }
        reg->by_id = grown;
        reg->cap_by_id = cap;
    }
    char *copy = strdup(text);
    json_decref(ans);
    if (copy == NULL) {
        edxbus_errf(errstr, errstr_size, "schema registry: out of memory");
        return EDXBUS_ERR_NOMEM;
    }
    reg->by_id[reg->nby_id].id = id;
    reg->by_id[reg->nby_id].schema = copy;
    reg->nby_id++;
    *schema = copy;
    return EDXBUS_OK;
}

edxbus_err_t edxbus__kreg_check_compatible(kreg_t *reg, const char *subject, const char *schema,
                                           bool *compatible, char *errstr, size_t errstr_size)
{
    struct edxbus_buf path = EDXBUS_BUF_INIT, body = EDXBUS_BUF_INIT;
    char what[200];
    snprintf(what, sizeof what, "checking compatibility under subject \"%.150s\"", subject);
    edxbus_err_t err =
        subject_path(reg, "/compatibility/subjects/", subject, "/versions/latest", &path);
    if (err == EDXBUS_OK)
        err = schema_body(schema, &body);
    if (err != EDXBUS_OK) {
        edxbus_errf(errstr, errstr_size, "schema registry: %s: %s", what,
                    err == EDXBUS_ERR_INVALID_ARG ? "the schema is not UTF-8" : "out of memory");
        goto out;
    }
    err = exchange(reg, "POST", (const char *)path.data, &body, what, errstr, errstr_size);
    if (err == EDXBUS_ERR_NOT_FOUND) {
        *compatible = true; /* nothing registered yet: anything goes */
        err = EDXBUS_OK;
        goto out;
    }
    if (err != EDXBUS_OK)
        goto out;
    json_t *ans = answer_json(reg, what, errstr, errstr_size);
    json_t *v = json_object_get(ans, "is_compatible");
    if (!json_is_boolean(v)) {
        if (ans != NULL)
            edxbus_errf(errstr, errstr_size,
                        "schema registry %.100s: %s: the answer has no is_compatible", reg->display,
                        what);
        err = EDXBUS_ERR_BROKER;
    } else {
        *compatible = json_is_true(v);
    }
    json_decref(ans);
out:
    edxbus_buf_fini(&path);
    edxbus_buf_fini(&body);
    return err;
}

static edxbus_err_t get_array(struct kreg *reg, const char *path, const char *what, json_t **out,
                              char *errstr, size_t errstr_size)
{
    *out = NULL;
    edxbus_err_t err = exchange(reg, "GET", path, NULL, what, errstr, errstr_size);
    if (err != EDXBUS_OK)
        return err;
    json_t *ans = answer_json(reg, what, errstr, errstr_size);
    if (!json_is_array(ans)) {
        if (ans != NULL)
            edxbus_errf(errstr, errstr_size, "schema registry %.100s: %s: the answer is not a list",
                        reg->display, what);
        json_decref(ans);
        return EDXBUS_ERR_BROKER;
    }
    *out = ans;
    return EDXBUS_OK;
}

edxbus_err_t edxbus__kreg_subjects(kreg_t *reg, json_t **out, char *errstr, size_t errstr_size)
{
    return get_array(reg, "/subjects", "listing subjects", out, errstr, errstr_size);
}

edxbus_err_t edxbus__kreg_versions(kreg_t *reg, const char *subject, json_t **out, char *errstr,
                                   size_t errstr_size)
{
    struct edxbus_buf path = EDXBUS_BUF_INIT;
    char what[200];
    snprintf(what, sizeof what, "listing the versions of subject \"%.150s\"", subject);
    if (subject_path(reg, "/subjects/", subject, "/versions", &path) != EDXBUS_OK) {
        edxbus_buf_fini(&path);
        edxbus_errf(errstr, errstr_size, "schema registry: out of memory");
        return EDXBUS_ERR_NOMEM;
    }
    edxbus_err_t err = get_array(reg, (const char *)path.data, what, out, errstr, errstr_size);
    edxbus_buf_fini(&path);
    return err;
}
