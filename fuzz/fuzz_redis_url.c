/* fuzz/fuzz_redis_url.c — libFuzzer target for EVENT_BUS_REDIS_CONNECTION_URL
 * (src/backends/redis/redis_url.c): the setting an operator types, read by
 * edxbus__redis_url_parse().
 *
 * Input: the URL text, up to its first NUL (the parser takes a C string, as getenv gives it).
 * Invariants checked (abort on violation):
 *   - a failure is EDXBUS_ERR_CONF with one terminated line in errstr, and leaves the url zeroed;
 *   - a success has exactly one of host / path, a port in 1..65535, a db >= 0 and a display;
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

#include "backends/redis/redis_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_line(const char *errstr, size_t size)
{
    if (memchr(errstr, '\0', size) == NULL || strchr(errstr, '\n') != NULL)
        abort(); /* the error must be one terminated line */
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
