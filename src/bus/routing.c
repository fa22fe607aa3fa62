/* src/bus/routing.c — EVENT_BUS_PRODUCER_CONFIG: validation, merge, lookup, topic and key.
 *
 * Validation applies openedx-events' rules (apps.py, _get_validated_signal_config), in its
 * order: the setting is a mapping; each event type's value is a mapping; the event type is
 * known; each topic's value is a mapping holding "event_key_field" (a string) and "enabled" (a
 * boolean; a number is not one, as Python's isinstance(x, bool) says). Python stops at the first
 * problem; here every problem is reported (for `edxbus config check`), each one line naming its
 * place as a Python subscript: EVENT_BUS_PRODUCER_CONFIG["<type>"]["<topic>"]. Other keys of a
 * topic are ignored, as the reference ignores them.
 *
 * A routing is a sorted array of event types, each with its enabled topics in config order,
 * borrowing its strings from a private deep copy of the config. Lookup is a binary search.
 */
#include "edxbus/routing.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus_int.h"

#define SETTING "EVENT_BUS_PRODUCER_CONFIG"
#define NAME_SHOW 96 /* bytes of an event type or topic name shown in an error line */

struct routing_entry {
    const char *event_type;
    struct edxbus_route *routes;
    size_t nroutes;
};

struct edxbus_routing {
    json_t *config;                /* private copy: every string below points into it */
    struct routing_entry *entries; /* sorted by event_type; only those with enabled topics */
    size_t nentries;
};

static const char *kind(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "a mapping";
    case JSON_ARRAY:
        return "a list";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    default:
        return "null";
    }
}

/* A name for an error line: shortened, control characters as '?'. */
static const char *shown(const char *name, char *out, size_t size)
{
    snprintf(out, size, "%.*s%s", NAME_SHOW, name, strlen(name) > NAME_SHOW ? "..." : "");
    for (char *p = out; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == '"')
            *p = *p == '"' ? '\'' : '?';
    return out;
}

struct problems {
    json_t *errors; /* may be NULL */
    char *errstr;
    size_t errstr_size;
    int count;
};

static void problem(struct problems *pr, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void problem(struct problems *pr, const char *fmt, ...)
{
    char line[EDXBUS_ERRSTR_SIZE * 2];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (pr->count++ == 0 && pr->errstr_size)
        snprintf(pr->errstr, pr->errstr_size, "%s", line);
    if (pr->errors) {
        json_t *text = json_string(line);
        if (text == NULL) { /* a name cut inside a UTF-8 sequence: keep the line, ASCII only */
            for (char *p = line; *p; p++)
                if ((unsigned char)*p >= 0x80)
                    *p = '?';
            text = json_string(line);
        }
        json_array_append_new(pr->errors, text);
    }
}

static void validate_topic(struct problems *pr, const char *type, const char *topic,
                           const json_t *tc)
{
    static const struct {
        const char *key;
        json_type want;
        const char *want_text;
    } keys[] = {
        {"event_key_field", JSON_STRING, "a string (a dotted path such as \"user.id\")"},
        {"enabled", JSON_TRUE, "a boolean (true or false)"},
    };
    char t[NAME_SHOW + 8], tp[NAME_SHOW + 8];
    shown(type, t, sizeof t);
    shown(topic, tp, sizeof tp);
    if (!json_is_object(tc)) {
        problem(pr,
                SETTING "[\"%s\"][\"%s\"]: expected a mapping {\"event_key_field\": "
                        "\"a.b\", \"enabled\": true}, got %s",
                t, tp, kind(tc));
        return;
    }
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const json_t *v = json_object_get(tc, keys[i].key);
        bool ok = keys[i].want == JSON_STRING ? json_is_string(v) : json_is_boolean(v);
        if (v == NULL)
            problem(pr, SETTING "[\"%s\"][\"%s\"]: missing \"%s\"", t, tp, keys[i].key);
        else if (!ok)
            problem(pr, SETTING "[\"%s\"][\"%s\"][\"%s\"]: expected %s, got %s", t, tp, keys[i].key,
                    keys[i].want_text, kind(v));
    }
}

edxbus_err_t edxbus_routing_validate(const json_t *config, const edxbus_catalog_t *cat,
                                     json_t *errors, char *errstr, size_t errstr_size)
{
    struct problems pr = {errors, errstr, errstr_size, 0};
    const char *type, *topic;
    const json_t *topics, *tc;
    char t[NAME_SHOW + 8];

    if (config == NULL || json_is_null(config))
        return EDXBUS_OK;
    if (!json_is_object(config)) {
        problem(&pr,
                SETTING ": expected a mapping of event types to {topic: {\"event_key_field"
                        "\": \"a.b\", \"enabled\": true}}, got %s",
                kind(config));
        return EDXBUS_ERR_CONF;
    }
    json_object_foreach((json_t *)config, type, topics)
    {
        shown(type, t, sizeof t);
        if (!json_is_object(topics)) {
            problem(&pr,
                    SETTING "[\"%s\"]: expected a mapping of topics to {\"event_key_field"
                            "\": \"a.b\", \"enabled\": true}, got %s",
                    t, kind(topics));
            continue;
        }
        if (cat != NULL && edxbus_catalog_find(cat, type) == NULL) {
            const char *near = edxbus_catalog_suggest(cat, type);
            problem(&pr, SETTING "[\"%s\"]: unknown event type%s%s%s", t,
                    near ? "; did you mean " : " (see `edxbus events list`)", near ? near : "",
                    near ? "?" : "");
            continue;
        }
        json_object_foreach((json_t *)topics, topic, tc) validate_topic(&pr, type, topic, tc);
    }
    return pr.count ? EDXBUS_ERR_CONF : EDXBUS_OK;
}

static int entry_cmp(const void *a, const void *b)
{
    return strcmp(((const struct routing_entry *)a)->event_type,
                  ((const struct routing_entry *)b)->event_type);
}

edxbus_routing_t *edxbus_routing_new(const json_t *config, const edxbus_catalog_t *cat,
                                     char *errstr, size_t errstr_size)
{
    if (edxbus_routing_validate(config, cat, NULL, errstr, errstr_size) != EDXBUS_OK)
        return NULL;
    edxbus_routing_t *r = calloc(1, sizeof *r);
    if (r == NULL)
        goto nomem;
    r->config = config && json_is_object(config) ? json_deep_copy(config) : json_object();
    if (r->config == NULL)
        goto nomem;
    r->entries = calloc(json_object_size(r->config) + 1, sizeof *r->entries);
    if (r->entries == NULL)
        goto nomem;
    const char *type, *topic;
    json_t *topics, *tc;
    json_object_foreach(r->config, type, topics)
    {
        struct routing_entry *e = &r->entries[r->nentries];
        e->event_type = type;
        e->routes = calloc(json_object_size(topics) + 1, sizeof *e->routes);
        if (e->routes == NULL)
            goto nomem;
        r->nentries++; /* counted now so destroy() frees routes even if empty */
        json_object_foreach(topics, topic, tc)
        {
            if (!json_is_true(json_object_get(tc, "enabled")))
                continue;
            e->routes[e->nroutes].topic = topic;
            e->routes[e->nroutes].event_key_field =
                json_string_value(json_object_get(tc, "event_key_field"));
            e->nroutes++;
        }
    }
    /* Keep only event types with enabled topics. */
    size_t kept = 0;
    for (size_t i = 0; i < r->nentries; i++) {
        if (r->entries[i].nroutes == 0)
            free(r->entries[i].routes);
        else
            r->entries[kept++] = r->entries[i];
    }
    r->nentries = kept;
    qsort(r->entries, r->nentries, sizeof *r->entries, entry_cmp);
    return r;
nomem:
    edxbus_routing_destroy(r);
    if (errstr_size)
        edxbus_errf(errstr, errstr_size, SETTING ": out of memory");
    return NULL;
}

void edxbus_routing_destroy(edxbus_routing_t *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->nentries; i++)
        free(r->entries[i].routes);
    free(r->entries);
    json_decref(r->config);
    free(r);
}

size_t edxbus_routing_routes(const edxbus_routing_t *r, const char *event_type,
                             const struct edxbus_route **routes)
{
    struct routing_entry key = {.event_type = event_type};
    const struct routing_entry *e =
        r && event_type ? bsearch(&key, r->entries, r->nentries, sizeof key, entry_cmp) : NULL;
    *routes = e ? e->routes : NULL;
    return e ? e->nroutes : 0;
}

size_t edxbus_routing_count(const edxbus_routing_t *r)
{
    return r ? r->nentries : 0;
}

const char *edxbus_routing_event_type_at(const edxbus_routing_t *r, size_t i)
{
    return r && i < r->nentries ? r->entries[i].event_type : NULL;
}

json_t *edxbus_routing_merge(const json_t *base, const json_t *override)
{
    json_t *out = json_is_object(base) ? json_deep_copy(base) : json_object();
    const char *type, *topic;
    json_t *topics, *tc;
    if (out == NULL || !json_is_object(override))
        return out;
    json_object_foreach((json_t *) override, type, topics)
    {
        json_t *combined = json_object_get(out, type);
        if (!json_is_object(topics) || !json_is_object(combined)) {
            /* Nothing to merge into (or a broken override): the override's value stands, and
             * validation reports it if it is wrong. */
            if (json_object_set_new(out, type, json_deep_copy(topics)) != 0)
                goto nomem;
            continue;
        }
        json_object_foreach(topics, topic, tc)
        {
            json_t *ctc = json_object_get(combined, topic);
            if (!json_is_object(tc) || !json_is_object(ctc)) {
                if (json_object_set_new(combined, topic, json_deep_copy(tc)) != 0)
                    goto nomem;
                continue;
            }
            static const char *const fields[] = {"enabled", "event_key_field"};
            for (size_t i = 0; i < 2; i++) {
                json_t *v = json_object_get(tc, fields[i]);
                if (v != NULL && !json_is_null(v) &&
                    json_object_set_new(ctc, fields[i], json_deep_copy(v)) != 0)
                    goto nomem;
            }
        }
    }
    return out;
nomem:
    json_decref(out);
    return NULL;
}

edxbus_err_t edxbus_routing_full_topic(const char *prefix, const char *topic,
                                       struct edxbus_buf *out)
{
    size_t start = out->len;
    edxbus_err_t err = EDXBUS_OK;
    if (prefix != NULL && prefix[0] != '\0') {
        err = edxbus_buf_puts(out, prefix);
        if (err == EDXBUS_OK)
            err = edxbus_buf_append(out, "-", 1);
    }
    if (err == EDXBUS_OK)
        err = edxbus_buf_puts(out, topic);
    if (err != EDXBUS_OK)
        out->len = start;
    return err;
}

edxbus_err_t edxbus__key_path_next(const char *path, const char **pos,
                                   char name[EDXBUS__KEY_NAME_MAX], bool *last, char *errstr,
                                   size_t errstr_size)
{
    const char *p = *pos;
    char p_shown[NAME_SHOW + 8];
    size_t n = strcspn(p, ".");
    if (n == 0 || n >= EDXBUS__KEY_NAME_MAX) {
        if (path[0] == '\0')
            edxbus__errf(errstr, errstr_size,
                         "event_key_field: empty path; expected e.g. \"user.pii.username\"");
        else if (n == 0 && *p == '\0')
            edxbus__errf(errstr, errstr_size, "event_key_field \"%s\": empty name at the end",
                         shown(path, p_shown, sizeof p_shown));
        else
            edxbus__errf(errstr, errstr_size, "event_key_field \"%s\": %s name at byte %zu",
                         shown(path, p_shown, sizeof p_shown), n ? "too long a" : "empty",
                         (size_t)(p - path));
        return EDXBUS_ERR_INVALID_ARG;
    }
    memcpy(name, p, n);
    name[n] = '\0';
    *last = p[n] == '\0';
    *pos = *last ? p + n : p + n + 1; /* past the dot */
    return EDXBUS_OK;
}

/* The not-found line of edxbus_routing_key(): @p cur is the value reached by the first @p at
 * bytes of @p path (at < 0: the event data itself), @p name the one missing from it. */
static void key_not_found(const char *path, int at, const json_t *cur, const char *name,
                          char *errstr, size_t errstr_size)
{
    char p_shown[NAME_SHOW + 8], n_shown[NAME_SHOW + 8];
    shown(path, p_shown, sizeof p_shown);
    shown(name, n_shown, sizeof n_shown);
    if (!json_is_object(cur) && at < 0)
        edxbus__errf(errstr, errstr_size,
                     "event_key_field \"%s\": the event data is %s, not a mapping", p_shown,
                     kind(cur));
    else if (!json_is_object(cur))
        edxbus__errf(errstr, errstr_size,
                     "event_key_field \"%s\": \"%.*s\" is %s, not a mapping with \"%s\"", p_shown,
                     at, path, kind(cur), n_shown);
    else if (at < 0)
        edxbus__errf(errstr, errstr_size,
                     "event_key_field \"%s\": no field \"%s\" in the event data", p_shown, n_shown);
    else
        edxbus__errf(errstr, errstr_size, "event_key_field \"%s\": no field \"%s\" in \"%.*s\"",
                     p_shown, n_shown, at, path);
}

edxbus_err_t edxbus_routing_key(const json_t *data, const char *dotted_path, const json_t **out,
                                char *errstr, size_t errstr_size)
{
    const char *path = dotted_path ? dotted_path : "";
    const char *pos = path;
    const json_t *cur = data;
    char name[EDXBUS__KEY_NAME_MAX];
    bool last = false;

    while (!last) {
        const char *start = pos;
        edxbus_err_t err = edxbus__key_path_next(path, &pos, name, &last, errstr, errstr_size);
        if (err != EDXBUS_OK)
            return err;
        const json_t *next = json_is_object(cur) ? json_object_get(cur, name) : NULL;
        if (next == NULL) {
            /* the walked part, without the dot before @p name */
            key_not_found(path, (int)(start - path) - 1, cur, name, errstr, errstr_size);
            return EDXBUS_ERR_NOT_FOUND;
        }
        cur = next;
    }
    *out = cur;
    return EDXBUS_OK;
}
