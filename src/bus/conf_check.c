/* src/bus/conf_check.c — edxbus_conf_check(): every setting against its row, and beyond.
 *
 * Each setting's value is typed again (unknown-typed values cannot reach a known setting, but a
 * default could be wrong), then the row's extra check runs: backend names (and the settings a
 * backend cannot do without), Redis and HTTP URLs, Kafka's host:port lists, SQLite's
 * synchronous level, and EVENT_BUS_PRODUCER_CONFIG through edxbus_routing_validate() against
 * the built-in catalog plus EVENT_BUS_SCHEMA_PATH. Every problem is one line (secrets masked, as
 * everywhere in conf), appended to the caller's list and logged as an error; checking goes on
 * after a problem so one run shows them all.
 *
 * To add a kind of check: a value in conf_int.h's enum edxbus__conf_check, a case in check_one().
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf_int.h"
#include "edxbus/catalog.h"
#include "edxbus/routing.h"

#define SHOW_MAX 60 /* as conf.c */

/* ---------------------------------------------------------------------------------------------
 * Checking
 * ------------------------------------------------------------------------------------------- */

static void problem(const edxbus_conf_t *conf, json_t *errors, int *count, const char *line)
{
    (*count)++;
    if (errors) {
        json_t *text = json_string(line);
        if (text == NULL) { /* a name cut inside a UTF-8 sequence: keep the line, ASCII only */
            char ascii[EDXBUS_ERRSTR_SIZE * 2];
            snprintf(ascii, sizeof ascii, "%s", line);
            for (char *p = ascii; *p; p++)
                if ((unsigned char)*p >= 0x80)
                    *p = '?';
            text = json_string(ascii);
        }
        json_array_append_new(errors, text);
    }
    edxbus_conf_log(conf, EDXBUS_LOG_ERROR, "%s", line);
}

/* Whether @p url is scheme://[user[:pass]@]host[:port][/path] with one of @p schemes (a
 * NULL-terminated list); @p why gets the reason when not. unix:// needs a path, not a host. */
static bool url_ok(const char *url, const char *const *schemes, const char **why)
{
    const char *sep = strstr(url, "://");
    bool known = false;
    for (const char *const *s = schemes; sep && *s; s++)
        known |= strlen(*s) == (size_t)(sep - url) && strncmp(url, *s, strlen(*s)) == 0;
    if (!known) {
        *why = "is not a URL of a supported scheme";
        return false;
    }
    const char *auth = sep + 3;
    if (strncmp(url, "unix", 4) == 0) {
        if (strchr(auth, '/') != NULL)
            return true;
        *why = "has no socket path";
        return false;
    }
    const char *end = auth + strcspn(auth, "/?#");
    const char *host = auth;
    for (const char *p = auth; p < end; p++)
        if (*p == '@')
            host = p + 1;
    const char *host_end = memchr(host, ':', (size_t)(end - host));
    if (host < end && *host == '[') { /* [v6 address]:port */
        const char *rb = memchr(host, ']', (size_t)(end - host));
        host_end = rb ? rb + 1 : host;
    }
    if (host_end == NULL)
        host_end = end;
    if (host_end == host) {
        *why = "has no host";
        return false;
    }
    if (host_end < end) {
        char *stop;
        long port = *host_end == ':' ? strtol(host_end + 1, &stop, 10) : 0;
        if (*host_end != ':' || stop != end || stop == host_end + 1 || port < 1 || port > 65535) {
            *why = "has a bad port (1..65535)";
            return false;
        }
    }
    return true;
}

static void check_backend(const edxbus_conf_t *conf, const struct edxbus__conf_setting *s,
                          json_t *errors, int *count)
{
    char line[EDXBUS_ERRSTR_SIZE * 2], shown[SHOW_MAX + 8];
    const char *be = edxbus_conf_backend(conf, s->name);
    if (be == NULL) {
        snprintf(
            line, sizeof line,
            "%s: %s is not a known backend; expected sqlite, redis, "
            "kafka or /path/libx.so:symbol",
            s->name,
            edxbus__conf_show(s->name, edxbus_conf_get(conf, s->name), NULL, shown, sizeof shown));
        problem(conf, errors, count, line);
        return;
    }
    const char *need = strcmp(be, "kafka") == 0 ? "EVENT_BUS_KAFKA_BOOTSTRAP_SERVERS" : NULL;
    if (need && edxbus_conf_get_str(conf, need, NULL) == NULL) {
        snprintf(line, sizeof line, "%s: the kafka backend needs %s (e.g. kafka:9092)", s->name,
                 need);
        problem(conf, errors, count, line);
    }
}

static void check_routing(const edxbus_conf_t *conf, const json_t *cfg, json_t *errors, int *count)
{
    char line[EDXBUS_ERRSTR_SIZE * 2];
    const json_t *paths = edxbus_conf_get(conf, "EVENT_BUS_SCHEMA_PATH");
    json_t *list = json_is_array(paths) ? json_incref((json_t *)paths) : json_array();
    if (json_is_string(paths)) { /* "dir1:dir2" */
        const char *p = json_string_value(paths);
        while (*p) {
            size_t n = strcspn(p, ":");
            if (n)
                json_array_append_new(list, json_stringn(p, n));
            p += n + (p[n] == ':');
        }
    }
    /* Nothing routed and no folder to read: nothing to report, so skip building the catalog
     * (it parses every built-in schema, the bulk of a check's cost). */
    if (json_is_object(cfg) && json_object_size(cfg) == 0 && json_array_size(list) == 0) {
        json_decref(list);
        return;
    }
    json_t *found = json_array();
    edxbus_catalog_t *cat = edxbus_catalog_new();
    size_t i;
    json_t *dir;
    json_array_foreach(list, i, dir)
    {
        if (cat == NULL)
            break;
        char err[EDXBUS_ERRSTR_SIZE];
        if (edxbus_catalog_add_avsc_dir(cat, json_string_value(dir), err, sizeof err) !=
            EDXBUS_OK) {
            snprintf(line, sizeof line, "EVENT_BUS_SCHEMA_PATH: %s", err);
            problem(conf, errors, count, line);
        }
    }
    if (cat == NULL)
        problem(conf, errors, count,
                "EVENT_BUS_PRODUCER_CONFIG: out of memory loading the "
                "catalog; event types not checked");
    char first[EDXBUS_ERRSTR_SIZE];
    edxbus_routing_validate(cfg, cat, found, first, sizeof first);
    json_array_foreach(found, i, dir) problem(conf, errors, count, json_string_value(dir));
    json_decref(list);
    json_decref(found);
    edxbus_catalog_destroy(cat);
}

static void check_one(const edxbus_conf_t *conf, const struct edxbus__conf_setting *s,
                      json_t *errors, int *count)
{
    static const char *const redis_schemes[] = {"redis", "rediss", "unix", NULL};
    static const char *const http_schemes[] = {"http", "https", NULL};
    char line[EDXBUS_ERRSTR_SIZE * 2] = "", shown[SHOW_MAX + 8];
    const json_t *v = edxbus_conf_get(conf, s->name);
    char err[EDXBUS_ERRSTR_SIZE];
    json_t *typed = v ? edxbus__conf_coerce(s, v, err, sizeof err) : NULL;
    const char *why = NULL;

    if (v != NULL && typed == NULL) {
        problem(conf, errors, count, err);
        return;
    }
    json_decref(typed);
    const char *text = json_string_value(v);
    switch (s->check) {
    case EDXBUS__CHECK_NONE:
        break;
    case EDXBUS__CHECK_BACKEND:
        check_backend(conf, s, errors, count);
        break;
    case EDXBUS__CHECK_REDIS_URL:
        if (text && !url_ok(text, redis_schemes, &why))
            snprintf(line, sizeof line, "%s: %s %s; expected redis://[:password@]host:port/db",
                     s->name, edxbus__conf_show(s->name, v, NULL, shown, sizeof shown), why);
        break;
    case EDXBUS__CHECK_HTTP_URL:
        if (text && !url_ok(text, http_schemes, &why))
            snprintf(line, sizeof line, "%s: %s %s; expected e.g. %s", s->name,
                     edxbus__conf_show(s->name, v, NULL, shown, sizeof shown), why, s->example);
        break;
    case EDXBUS__CHECK_HOSTPORTS:
        for (const char *p = text; p && *p && why == NULL;) {
            size_t n = strcspn(p, ",");
            const char *colon = memchr(p, ':', n);
            char *end = NULL;
            long port = colon ? strtol(colon + 1, &end, 10) : 0;
            if (colon == NULL || colon == p || end != p + n || port < 1 || port > 65535)
                why = "is not a list of host:port";
            p += n + (p[n] == ',');
        }
        if (why)
            snprintf(line, sizeof line, "%s: %s %s; expected e.g. %s", s->name,
                     edxbus__conf_show(s->name, v, NULL, shown, sizeof shown), why, s->example);
        break;
    case EDXBUS__CHECK_ROUTING:
        check_routing(conf, v, errors, count);
        break;
    case EDXBUS__CHECK_SYNC:
        if (text && strcasecmp(text, "OFF") != 0 && strcasecmp(text, "NORMAL") != 0 &&
            strcasecmp(text, "FULL") != 0 && strcasecmp(text, "EXTRA") != 0)
            snprintf(line, sizeof line,
                     "%s: %s is not a synchronous level; expected OFF, "
                     "NORMAL, FULL or EXTRA",
                     s->name, edxbus__conf_show(s->name, v, NULL, shown, sizeof shown));
        break;
    }
    if (line[0] != '\0')
        problem(conf, errors, count, line);
}

edxbus_err_t edxbus_conf_check(const edxbus_conf_t *conf, json_t *errors)
{
    int count = 0;
    for (size_t i = 0; i < edxbus__conf_nsettings; i++)
        check_one(conf, &edxbus__conf_settings[i], errors, &count);
    return count ? EDXBUS_ERR_CONF : EDXBUS_OK;
}
