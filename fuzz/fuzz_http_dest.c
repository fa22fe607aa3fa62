/* fuzz/fuzz_http_dest.c — libFuzzer target for the bridge's HTTP destination: the URL of
 * `edxbus bridge --to URL` and the settings that authenticate it, read by
 * edxbus__bridge_http_settings() (src/bus/bridge_http.c). The URL comes from a command line,
 * the token and the basic auth from a settings file or the environment.
 *
 * Input: four texts separated by NUL bytes: the URL, EVENT_BUS_BRIDGE_HTTP_TOKEN,
 * EVENT_BUS_BRIDGE_HTTP_BASIC_AUTH, EVENT_BUS_BRIDGE_HTTP_CONTENT_MODE (missing ones unset).
 * Invariants checked (abort on violation):
 *   - the result is EDXBUS_OK or EDXBUS_ERR_CONF; the error (and the display) is one line;
 *   - no secret shows: the input is read a second time with the URL's password, the token and
 *     the basic auth rewritten (every byte that is not a control byte, a space or a separator
 *     becomes 'Q', so what is valid stays valid), and the result, the error line and the
 *     display must be byte for byte the same;
 *   - a success has an http(s) URL and a token and a basic auth that cannot add a header (no
 *     byte below 0x21, no DEL), never both.
 * Nothing is kept between inputs.
 *
 * Seed corpus: fuzz/corpus/http_dest/ (user:password URLs, IPv6, a token with CR LF, basic
 * auth without ':', both set, an unknown mode).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bus/bus_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PARTS 4

static const char *const names[PARTS] = {NULL, "EVENT_BUS_BRIDGE_HTTP_TOKEN",
                                         "EVENT_BUS_BRIDGE_HTTP_BASIC_AUTH",
                                         "EVENT_BUS_BRIDGE_HTTP_CONTENT_MODE"};

/* Rewrite the printable ASCII bytes of @p s in [from, to) but @p keep (control bytes, spaces
 * and bytes above 0x7e stay, so validity and UTF-8 are unchanged). */
static void blank(char *s, size_t from, size_t to, const char *keep)
{
    for (size_t i = from; i < to; i++)
        if ((unsigned char)s[i] > 0x20 && (unsigned char)s[i] < 0x7f && strchr(keep, s[i]) == NULL)
            s[i] = 'Q';
}

/* The URL's password as curl reads it: after the first ':' of the user-info, which ends at the
 * last '@' of the authority (itself ending at the first '/', '?' or '#'). */
static void blank_url_password(char *url)
{
    char *rest = strstr(url, "://");
    rest = rest ? rest + 3 : url;
    size_t authority = strcspn(rest, "/?#");
    char *at = NULL;
    for (char *p = rest; p < rest + authority; p++)
        if (*p == '@')
            at = p;
    char *colon = at ? memchr(rest, ':', (size_t)(at - rest)) : NULL;
    if (colon != NULL)
        blank(url, (size_t)(colon + 1 - url), (size_t)(at - url), "@:/?#");
}

struct outcome {
    edxbus_err_t err;
    char errstr[EDXBUS_ERRSTR_SIZE];
    struct edxbus__http_dest_settings set;
};

static void run(char *parts[PARTS], struct outcome *o)
{
    edxbus_conf_t *conf = edxbus_conf_new();
    if (conf == NULL)
        abort();
    edxbus_conf_set_log(conf, NULL, NULL);
    for (int i = 1; i < PARTS; i++) {
        char ignored[EDXBUS_ERRSTR_SIZE];
        json_t *v = parts[i] != NULL ? json_string(parts[i]) : NULL; /* NULL: not UTF-8 */
        if (v != NULL)
            edxbus_conf_set_json(conf, names[i], v, ignored, sizeof ignored);
        json_decref(v);
    }
    memset(o, 0, sizeof *o);
    o->err = edxbus__bridge_http_settings(conf, parts[0], &o->set, o->errstr, sizeof o->errstr);
    if (o->err != EDXBUS_OK && o->err != EDXBUS_ERR_CONF)
        abort();
    if (memchr(o->errstr, '\0', sizeof o->errstr) == NULL || strchr(o->errstr, '\n') != NULL ||
        strchr(o->set.display, '\n') != NULL || strchr(o->set.display, '\r') != NULL)
        abort();
    if (o->err == EDXBUS_OK) {
        if (strncmp(parts[0], "http://", 7) != 0 && strncmp(parts[0], "https://", 8) != 0)
            abort();
        if (o->set.token != NULL && o->set.basic != NULL)
            abort();
        for (const char *s = o->set.token ? o->set.token : ""; *s; s++)
            if ((unsigned char)*s <= 0x20 || *s == 0x7f)
                abort();
        for (const char *s = o->set.basic ? o->set.basic : ""; *s; s++)
            if ((unsigned char)*s <= 0x20 || *s == 0x7f)
                abort();
    }
    /* The pointers borrow from conf: forget them before it goes. */
    o->set.token = o->set.basic = NULL;
    edxbus_conf_destroy(conf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy = malloc(size + 1), *again = malloc(size + 1);
    if (copy == NULL || again == NULL)
        abort();
    memcpy(copy, data, size);
    copy[size] = '\0';
    memcpy(again, copy, size + 1);
    char *parts[PARTS] = {0}, *twins[PARTS] = {0};
    size_t at = 0;
    for (int i = 0; i < PARTS && at <= size; i++) {
        parts[i] = copy + at;
        twins[i] = again + at;
        at += strlen(copy + at) + 1;
    }
    blank_url_password(twins[0]);
    for (int i = 1; i < 3; i++)
        if (twins[i] != NULL)
            blank(twins[i], 0, strlen(twins[i]), i == 2 ? ":" : "");
    static struct outcome a, b;
    run(parts, &a);
    run(twins, &b);
    if (a.err != b.err || strcmp(a.errstr, b.errstr) != 0 ||
        strcmp(a.set.display, b.set.display) != 0 || a.set.structured != b.set.structured)
        abort();
    free(copy);
    free(again);
    return 0;
}
