/* src/bus/doctor.c — edxbus_doctor_run(): the settings, then each selected broker's own checks.
 *
 * The core owns no check of a broker. It refuses settings that edxbus_conf_check() refuses (a
 * doctor must not reason from values no command would accept), finds the backends the settings
 * select — the producing one and the consuming one, each asked once — and calls their doctor
 * slot (backend.h, ABI 4). It stamps each finding with the backend's name, remembers the worst
 * severity, and turns a backend that could check nothing (an unreachable broker) into an
 * error finding, so the caller sees one stream of findings whatever happened.
 *
 * To add a check of a broker: write it in that broker's doctor slot (its folder), never here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus_int.h"
#include "edxbus/backend.h"
#include "edxbus/buf.h"
#include "edxbus/doctor.h"
#include "edxbus/catalog.h"
#include "edxbus/routing.h"

#define DEFAULT_INTERVAL_MS 1000

const char *edxbus_severity_name(edxbus_severity_t severity)
{
    switch (severity) {
    case EDXBUS_SEVERITY_ERROR:
        return "error";
    case EDXBUS_SEVERITY_WARNING:
        return "warning";
    default:
        return "info";
    }
}

struct relay {
    edxbus_finding_fn fn;
    void *opaque;
    const char *backend;
    edxbus_severity_t worst;
};

static void relay_finding(void *opaque, const struct edxbus_finding *finding)
{
    struct relay *r = opaque;
    struct edxbus_finding f = *finding;
    if (f.severity > EDXBUS_SEVERITY_ERROR)
        f.severity = EDXBUS_SEVERITY_ERROR;
    f.backend = r->backend;
    if (f.severity > r->worst)
        r->worst = f.severity;
    r->fn(r->opaque, &f);
}

/* Settings that a command would refuse: the first problem, and how many more. */
static edxbus_err_t check_settings(const edxbus_conf_t *conf, char *errstr, size_t errstr_size)
{
    edxbus_conf_t *quiet = edxbus_conf_dup(conf);
    json_t *problems = json_array();
    if (quiet == NULL || problems == NULL) {
        edxbus_conf_destroy(quiet);
        json_decref(problems);
        edxbus__errf(errstr, errstr_size, "doctor: out of memory");
        return EDXBUS_ERR_NOMEM;
    }
    edxbus_conf_set_log(quiet, NULL, NULL); /* the caller gets one line, not one per problem */
    edxbus_err_t err = edxbus_conf_check(quiet, problems);
    size_t n = json_array_size(problems);
    if (err != EDXBUS_OK && n > 0) {
        const char *first = json_string_value(json_array_get(problems, 0));
        if (n == 1)
            edxbus__errf(errstr, errstr_size, "%s", first ? first : "bad settings");
        else
            edxbus__errf(errstr, errstr_size,
                         "%s (and %zu more problems in the settings: edxbus config check shows "
                         "them all)",
                         first ? first : "bad settings", n - 1);
    } else if (err != EDXBUS_OK) {
        edxbus__errf(errstr, errstr_size, "the settings do not pass edxbus config check");
    }
    json_decref(problems);
    edxbus_conf_destroy(quiet);
    return err == EDXBUS_OK ? EDXBUS_OK : EDXBUS_ERR_CONF;
}

/* Ask one backend. */
static void ask(const edxbus_conf_t *conf, const struct edxbus_backend_ops *ops,
                const struct edxbus_doctor_opts *opts, struct relay *r)
{
    r->backend = ops->name;
    if (ops->abi_version < 4 || ops->doctor == NULL) {
        char text[160];
        snprintf(text, sizeof text, "the %s backend has no doctor checks; nothing of it was checked",
                 ops->name);
        struct edxbus_finding f = {.severity = EDXBUS_SEVERITY_INFO,
                                   .check = "doctor.unsupported",
                                   .text = text};
        relay_finding(r, &f);
        return;
    }
    char err[EDXBUS_ERRSTR_SIZE] = "";
    if (ops->doctor(conf, opts, relay_finding, r, err, sizeof err) != EDXBUS_OK) {
        struct edxbus_finding f = {
            .severity = EDXBUS_SEVERITY_ERROR,
            .check = "broker.unreachable",
            .text = err[0] ? err : "the broker could not be checked",
            .fix = "start the broker or correct its address in the settings (edxbus config check "
                   "shows them); producers and consumers fail the same way",
        };
        relay_finding(r, &f);
    }
}

/* The routes of EVENT_BUS_PRODUCER_CONFIG with full topics and schemas, for the backends (only
 * those to @p only, a full topic, when not NULL). The strings live in @p cat, @p r and @p topics;
 * returns new (free()); NULL with *n 0 when there are none or on failure (settings passed
 * edxbus_conf_check(), so a failure here is memory). */
static struct edxbus_doctor_route *routes_of(const edxbus_conf_t *conf, const char *only,
                                             edxbus_catalog_t **cat, edxbus_routing_t **r,
                                             json_t *topics, size_t *n)
{
    char err[EDXBUS_ERRSTR_SIZE];
    *n = 0;
    *r = NULL;
    *cat = edxbus_catalog_new();
    const json_t *cfg = edxbus_conf_get(conf, "EVENT_BUS_PRODUCER_CONFIG");
    if (*cat == NULL || !json_is_object(cfg) || json_object_size(cfg) == 0 ||
        edxbus__load_schema_dirs(*cat, conf, err, sizeof err) != EDXBUS_OK)
        return NULL;
    *r = edxbus_routing_new(cfg, *cat, err, sizeof err);
    if (*r == NULL)
        return NULL;
    size_t cap = 0;
    for (size_t i = 0; i < edxbus_routing_count(*r); i++) {
        const struct edxbus_route *routes;
        cap += edxbus_routing_routes(*r, edxbus_routing_event_type_at(*r, i), &routes);
    }
    struct edxbus_doctor_route *out = cap ? calloc(cap, sizeof *out) : NULL;
    const char *prefix = edxbus_conf_get_str(conf, "EVENT_BUS_TOPIC_PREFIX", NULL);
    for (size_t i = 0; out != NULL && i < edxbus_routing_count(*r); i++) {
        const char *type = edxbus_routing_event_type_at(*r, i);
        const edxbus_event_type_t *et = edxbus_catalog_find(*cat, type);
        const struct edxbus_route *routes;
        size_t k = edxbus_routing_routes(*r, type, &routes);
        for (size_t j = 0; et != NULL && j < k; j++) {
            struct edxbus_buf full = EDXBUS_BUF_INIT;
            json_t *name = NULL;
            if (edxbus_routing_full_topic(prefix, routes[j].topic, &full) == EDXBUS_OK)
                name = json_stringn((const char *)full.data, full.len);
            edxbus_buf_fini(&full);
            if (name == NULL || json_array_append_new(topics, name) != 0)
                continue;
            const char *text = json_string_value(name);
            if (only != NULL && strcmp(only, text) != 0)
                continue;
            out[(*n)++] = (struct edxbus_doctor_route){type, text,
                                                       edxbus_event_type_schema_text(et)};
        }
    }
    return out;
}

edxbus_err_t edxbus_doctor_run(const edxbus_conf_t *conf, const struct edxbus_doctor_opts *opts,
                               edxbus_finding_fn fn, void *opaque, edxbus_severity_t *worst,
                               char *errstr, size_t errstr_size)
{
    if (worst != NULL)
        *worst = EDXBUS_SEVERITY_INFO;
    edxbus_err_t err = check_settings(conf, errstr, errstr_size);
    if (err != EDXBUS_OK)
        return err;
    const struct edxbus_backend_ops *dirs[2];
    const char *setting = NULL;
    for (int d = 0; d < 2; d++) {
        dirs[d] = edxbus_backend_for(conf, d == 0 ? EDXBUS_PRODUCE : EDXBUS_CONSUME, &setting,
                                     errstr, errstr_size);
        if (dirs[d] == NULL)
            return EDXBUS_ERR_CONF;
    }
    struct edxbus_doctor_opts o = {.interval_ms = DEFAULT_INTERVAL_MS};
    if (opts != NULL) {
        o = *opts;
        if (o.interval_ms <= 0)
            o.interval_ms = DEFAULT_INTERVAL_MS;
    }
    struct edxbus_buf full = EDXBUS_BUF_INIT;
    if (o.topic != NULL) {
        if (edxbus_routing_full_topic(edxbus_conf_get_str(conf, "EVENT_BUS_TOPIC_PREFIX", NULL),
                                      o.topic, &full) != EDXBUS_OK ||
            edxbus_buf_append(&full, "", 1) != EDXBUS_OK) {
            edxbus_buf_fini(&full);
            edxbus__errf(errstr, errstr_size, "doctor: out of memory");
            return EDXBUS_ERR_NOMEM;
        }
        o.topic = (const char *)full.data;
    }
    edxbus_catalog_t *cat = NULL;
    edxbus_routing_t *routing = NULL;
    json_t *topics = json_array(); /* keeps the full topics' text */
    struct edxbus_doctor_route *routes =
        topics ? routes_of(conf, o.topic, &cat, &routing, topics, &o.nroutes) : NULL;
    o.routes = routes;
    struct relay r = {.fn = fn, .opaque = opaque, .worst = EDXBUS_SEVERITY_INFO};
    ask(conf, dirs[0], &o, &r);
    if (dirs[1] != dirs[0])
        ask(conf, dirs[1], &o, &r);
    free(routes);
    json_decref(topics);
    edxbus_routing_destroy(routing);
    edxbus_catalog_destroy(cat);
    edxbus_buf_fini(&full);
    if (worst != NULL)
        *worst = r.worst;
    return EDXBUS_OK;
}
