/* fuzz/fuzz_redis_url.c — libFuzzer target for EVENT_BUS_REDIS_CONNECTION_URL
 * (src/backends/redis/redis_url.c): the setting an operator types, read by
 * edxbus__redis_url_parse().
 *
 * Input: the URL text, up to its first NUL (the parser takes a C string, as getenv gives it).
 * Invariants checked (abort on violation):
 *   - a failure is EDXBUS_ERR_CONF with one terminated line in errstr, and leaves the url zeroed;
 *   - a success has exactly one of host / path, a port in 1..65535, a db >= 0 and a display;
 *   - a success's TLS options (edxbus__redis_tls_opts, redis_tls.c: the ssl_* parameters over
 *     the default settings) follow the URL: none for redis:// and unix://, the URL's files,
 *     ssl_cert_reqs=none turns verification off, and every problem is reported as one line
 *     and counted (the files the URL names are only opened for reading, never kept);
 *   - the password never shows: the input is parsed a second time with the raw password bytes
 *     (between the userinfo's first ':' and the last '@' before the query, the parser's own
 *     split) replaced by 'Q's, and the display (on success) or the error text (on failure) must
 *     be byte for byte the same, so neither can depend on the password.
 * Nothing is kept between inputs.
 *
 * Seed corpus: fuzz/corpus/redis_url/ (redis://, rediss://, unix://, ACL user:pass, bad ports,
 * percent-escapes, IPv6).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "backends/redis/redis_int.h"
#include "edxbus/conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_line(const char *errstr, size_t size)
{
    if (memchr(errstr, '\0', size) == NULL || strchr(errstr, '\n') != NULL)
        abort(); /* the error must be one terminated line */
}

static void count_problem(void *opaque, const char *line)
{
    check_line(line, strlen(line) + 1);
    if (line[0] == '\0')
        abort();
    (*(int *)opaque)++;
}

/* The TLS options of a parsed @p url under the default settings. */
static void check_tls(const struct redis_url *url)
{
    edxbus_conf_t *conf = edxbus_conf_new();
    if (conf == NULL)
        return;
    struct redis_tls_opts opts;
    int lines = 0;
    int n = edxbus__redis_tls_opts(conf, url, &opts, count_problem, &lines);
    if (n != lines || n < 0)
        abort(); /* every problem counted, each reported */
    if (!url->tls && (opts.ca_file || opts.cert_file || opts.key_file || opts.ca_path))
        abort(); /* no TLS, no TLS options */
    if (url->tls) {
        if (opts.ca_file != url->ssl_ca_certs || opts.cert_file != url->ssl_certfile ||
            opts.key_file != url->ssl_keyfile || opts.ca_path != url->ssl_ca_path)
            abort(); /* with no settings, the URL's parameters */
        bool none = url->ssl_cert_reqs != NULL && strcasecmp(url->ssl_cert_reqs, "none") == 0;
        if (opts.verify == none || (opts.verify_off_by == NULL) != opts.verify)
            abort(); /* verification off exactly when ssl_cert_reqs=none, and said why */
        if (opts.check_hostname != (url->ssl_check_hostname != 0))
            abort();
    }
    edxbus_conf_destroy(conf);
}

/* The raw password bytes of @p text as the parser splits it: [*start, *end). False: none. */
static bool password_span(const char *text, size_t *start, size_t *end)
{
    const char *rest = strstr(text, "://");
    if (rest == NULL)
        return false;
    rest += 3;
    const char *stop = strchr(rest, '?');
    if (stop == NULL)
        stop = rest + strlen(rest);
    const char *frag = memchr(rest, '#', (size_t)(stop - rest)); /* the parser stops there too */
    if (frag != NULL)
        stop = frag;
    const char *at = NULL;
    for (const char *p = rest; p < stop; p++)
        if (*p == '@')
            at = p;
    if (at == NULL)
        return false;
    const char *colon = memchr(rest, ':', (size_t)(at - rest));
    if (colon == NULL || colon + 1 == at)
        return false;
    *start = (size_t)(colon + 1 - text);
    *end = (size_t)(at - text);
    return true;
}

/* Parse @p text; the display (success) or the error text (failure) goes to @p shown. */
static edxbus_err_t run(const char *text, char *shown, size_t shown_size)
{
    struct redis_url url;
    char errstr[EDXBUS_ERRSTR_SIZE];
    memset(errstr, 'x', sizeof errstr);
    edxbus_err_t err = edxbus__redis_url_parse(text, &url, errstr, sizeof errstr);
    if (err == EDXBUS_OK) {
        if ((url.host == NULL) == (url.path == NULL) || url.display == NULL || url.db < 0)
            abort();
        if (url.host != NULL && (url.port < 1 || url.port > 65535))
            abort();
        if (strlen(url.display) >= shown_size)
            abort(); /* the display is the text, masked and escaped */
        memcpy(shown, url.display, strlen(url.display) + 1);
        check_tls(&url);
        edxbus__redis_url_fini(&url);
    } else {
        if (err != EDXBUS_ERR_CONF)
            abort();
        check_line(errstr, sizeof errstr);
        if (url.host != NULL || url.path != NULL || url.user != NULL || url.password != NULL ||
            url.display != NULL)
            abort(); /* a failed parse owns nothing */
        memcpy(shown, errstr, strlen(errstr) + 1);
    }
    return err;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The text in its own heap block, so that reading past the NUL trips ASan. */
    char *text = malloc(size + 1);
    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    size_t len = strlen(text);
    size_t shown_size = 4 * len + EDXBUS_ERRSTR_SIZE + 16; /* control bytes show as \xNN */
    char *shown = malloc(shown_size), *again = malloc(shown_size);
    if (shown == NULL || again == NULL) {
        free(text);
        free(shown);
        free(again);
        return 0;
    }

    edxbus_err_t err = run(text, shown, shown_size);
    size_t start, end;
    if (password_span(text, &start, &end)) {
        for (size_t i = start; i < end; i++)
            text[i] = 'Q';
        /* Still the same split: no '@', ':' or '?' was added, none before the span removed. */
        if (run(text, again, shown_size) != err || strcmp(shown, again) != 0)
            abort(); /* the display or the error text depends on the password */
    }
    free(text);
    free(shown);
    free(again);
    return 0;
}
