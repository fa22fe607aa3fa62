/* src/bus/conf_check.c — edxbus_conf_check(): every setting against its row, and beyond.
 *
 * Each setting's value is typed again (unknown-typed values cannot reach a known setting, but a
 * default could be wrong); the core then checks what is its own: backend names and
 * EVENT_BUS_PRODUCER_CONFIG (edxbus_routing_validate() against the built-in catalog plus
 * EVENT_BUS_SCHEMA_PATH). Every registered backend then checks its own settings (its check
 * slot: URLs, host lists, levels, and, when selected, what it cannot do without), and each
 * route's event_key_field is resolved in its event's schema as the producer will. Every problem
 * is one line (secrets masked, as everywhere in conf), appended to the caller's list and logged
 * as an error; checking goes on after a problem so one run shows them all.
 *
 * A backend's checks live in its folder (its check slot), never here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bus_int.h"
#include "conf_int.h"
#include "edxbus/catalog.h"
#include "edxbus/metrics.h"
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

/* "sqlite, redis, kafka": the registered backends' names, for messages. */
static const char *backend_names(char *out, size_t size)
{
    size_t used = 0;
    out[0] = '\0';
    const struct edxbus_backend_ops *ops;
    for (size_t i = 0; (ops = edxbus_backend_at(i)) != NULL; i++) {
        int w = snprintf(out + used, size - used, "%s%s", used ? ", " : "", ops->name);
        if (w < 0 || (size_t)w >= size - used)
            break;
        used += (size_t)w;
    }
    return out;
}

static void check_backend(const edxbus_conf_t *conf, const struct edxbus_setting *s,
                          json_t *errors, int *count)
{
    char line[EDXBUS_ERRSTR_SIZE * 2], shown[SHOW_MAX + 8];
    if (edxbus_conf_backend(conf, s->name) == NULL) {
        snprintf(
            line, sizeof line,
            "%s: %s is not a known backend; expected one of %s or /path/libx.so:symbol",
            s->name,
            edxbus__conf_show(s->name, edxbus_conf_get(conf, s->name), NULL, shown, sizeof shown),
            backend_names(shown, sizeof shown));
        problem(conf, errors, count, line);
    }
}

/* Each route's event_key_field against its event's schema, as the producer will resolve it. */
static void check_key_fields(const edxbus_conf_t *conf, const json_t *cfg,
                             const edxbus_catalog_t *cat, json_t *errors, int *count)
{
    char err[EDXBUS_ERRSTR_SIZE], line[EDXBUS_ERRSTR_SIZE * 2];
    edxbus_routing_t *routing = edxbus_routing_new(cfg, cat, err, sizeof err);
    for (size_t i = 0; routing != NULL && i < edxbus_routing_count(routing); i++) {
        const char *type = edxbus_routing_event_type_at(routing, i);
        const edxbus_event_type_t *et = edxbus_catalog_find(cat, type);
        const struct edxbus_route *routes = NULL;
        size_t n = edxbus_routing_routes(routing, type, &routes);
        for (size_t j = 0; et != NULL && j < n; j++) {
            char *schema = NULL;
            if (routes[j].event_key_field == NULL || routes[j].event_key_field[0] == '\0' ||
                !edxbus_event_type_is_serializable(et))
                continue;
            if (edxbus__key_field_resolve(et, routes[j].event_key_field, &schema, err,
                                          sizeof err) == EDXBUS__KEY_BAD) {
                snprintf(line, sizeof line, "EVENT_BUS_PRODUCER_CONFIG[\"%s\"][\"%s\"]: %s", type,
                         routes[j].topic, err);
                problem(conf, errors, count, line);
            }
            free(schema);
        }
    }
    edxbus_routing_destroy(routing);
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
    if (cat != NULL && json_array_size(found) == 0)
        check_key_fields(conf, cfg, cat, errors, count);
    json_decref(list);
    json_decref(found);
    edxbus_catalog_destroy(cat);
}

static void check_one(const edxbus_conf_t *conf, const struct edxbus_setting *s,
                      json_t *errors, int *count)
{
    const json_t *v = edxbus_conf_get(conf, s->name);
    char err[EDXBUS_ERRSTR_SIZE];
    json_t *typed = v ? edxbus__conf_coerce(s, v, err, sizeof err) : NULL;
    if (v != NULL && typed == NULL) {
        problem(conf, errors, count, err);
        return;
    }
    json_decref(typed);
    if (strcmp(s->name, "EVENT_BUS_PRODUCER") == 0 || strcmp(s->name, "EVENT_BUS_CONSUMER") == 0)
        check_backend(conf, s, errors, count);
    else if (strcmp(s->name, "EVENT_BUS_PRODUCER_CONFIG") == 0)
        check_routing(conf, v, errors, count);
    else if (strcmp(s->name, "EVENT_BUS_BRIDGE_HTTP_CONTENT_MODE") == 0) {
        /* the last of the destination's rows: its settings checked together */
        char line[EDXBUS_ERRSTR_SIZE];
        if (edxbus__bridge_http_auth_check(conf, line, sizeof line) != EDXBUS_OK)
            problem(conf, errors, count, line);
    } else if (strcmp(s->name, "EVENT_BUS_LOG_FORMAT") == 0 &&
             edxbus_conf_check_log(conf, err, sizeof err) != EDXBUS_OK)
        problem(conf, errors, count, err); /* format and level, once */
    else if (strcmp(s->name, "EVENT_BUS_METRICS_ADDRESS") == 0 && json_is_string(v)) {
        char host[64], line[EDXBUS_ERRSTR_SIZE * 2];
        uint16_t port;
        if (edxbus_metrics_parse_address(json_string_value(v), host, sizeof host, &port, err,
                                         sizeof err) != EDXBUS_OK) {
            snprintf(line, sizeof line, "EVENT_BUS_METRICS_ADDRESS: %s", err);
            problem(conf, errors, count, line);
        }
    }
}

struct check_ctx {
    const edxbus_conf_t *conf;
    json_t *errors;
    int *count;
};

static void backend_problem(void *opaque, const char *line)
{
    struct check_ctx *ctx = opaque;
    problem(ctx->conf, ctx->errors, ctx->count, line);
}

/* The setting that selects @p ops for producing or consuming, or NULL when neither does. */
static const char *selected_by(const edxbus_conf_t *conf, const struct edxbus_backend_ops *ops)
{
    static const edxbus_direction_t dirs[] = {EDXBUS_PRODUCE, EDXBUS_CONSUME};
    for (size_t i = 0; i < 2; i++) {
        const char *setting = NULL;
        char err[EDXBUS_ERRSTR_SIZE];
        if (edxbus_backend_for(conf, dirs[i], &setting, err, sizeof err) == ops)
            return setting;
    }
    return NULL;
}

edxbus_err_t edxbus_conf_check(const edxbus_conf_t *conf, json_t *errors)
{
    int count = 0;
    const struct edxbus_setting *s;
    for (size_t i = 0; (s = edxbus__conf_row(i)) != NULL; i++)
        check_one(conf, s, errors, &count);
    /* Each backend checks its own values (all of them, so a bad URL is found before the day
     * it is selected) and, when selected, what it cannot do without. */
    struct check_ctx ctx = {conf, errors, &count};
    const struct edxbus_backend_ops *ops;
    for (size_t i = 0; (ops = edxbus_backend_at(i)) != NULL; i++)
        if (ops->abi_version >= 2 && ops->check != NULL)
            ops->check(conf, selected_by(conf, ops), backend_problem, &ctx);
    return count ? EDXBUS_ERR_CONF : EDXBUS_OK;
}
