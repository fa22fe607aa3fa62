/* src/bus/tail.c — tail and lag (tail.h): looking at a topic without joining a group.
 *
 * A tail is the consuming backend opened in tail mode (struct edxbus_consumer_opts with group
 * NULL): read, never acknowledge. Each polled entry is matched to its event type in the bus's
 * catalog; a value the broker says was written under another schema is resolved to the plain
 * JSON form through a resolver kept per (event type, writer schema), since a topic usually
 * carries few writer schemas. What cannot be shown gets a reason, never a stop: a watcher must
 * not stop at the one entry someone wants to look at.
 *
 * lag asks the backend's optional lag slot; both pick the backend with edxbus_backend_for().
 */
#include <stdlib.h>
#include <string.h>

#include "bus_int.h"
#include "edxbus/avro.h"
#include "edxbus/backend.h"
#include "edxbus/tail.h"

/* A reader for values written under another schema (Kafka). */
struct tail_resolver {
    const edxbus_event_type_t *et;
    char *text; /* the writer's schema text, the cache key */
    edxbus_avro_schema_t *writer;
    edxbus_avro_resolver_t *res;
};

struct edxbus_tail {
    const struct edxbus_backend_ops *ops;
    void *be;
    const edxbus_catalog_t *cat;
    struct tail_resolver *resolvers;
    size_t nresolvers;
};

static const edxbus_avro_resolver_t *resolver_for(edxbus_tail_t *t, const edxbus_event_type_t *et,
                                                  const char *text, char *errstr,
                                                  size_t errstr_size)
{
    for (size_t i = 0; i < t->nresolvers; i++)
        if (t->resolvers[i].et == et && strcmp(t->resolvers[i].text, text) == 0)
            return t->resolvers[i].res;
    struct tail_resolver *grown = realloc(t->resolvers, (t->nresolvers + 1) * sizeof *t->resolvers);
    if (grown == NULL) {
        edxbus__errf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    t->resolvers = grown;
    char err[EDXBUS_ERRSTR_SIZE] = "";
    struct tail_resolver r = {.et = et, .text = strdup(text)};
    r.writer = edxbus_avro_schema_parse(text, strlen(text), err, sizeof err);
    if (r.writer != NULL)
        r.res = edxbus_avro_resolver_new(r.writer, edxbus_event_type_schema(et), err, sizeof err);
    if (r.text == NULL || r.res == NULL) {
        edxbus__errf(errstr, errstr_size, "writer schema does not resolve to %s: %s",
                     edxbus_event_type_name(et), r.text == NULL ? "out of memory" : err);
        edxbus_avro_resolver_destroy(r.res);
        edxbus_avro_schema_destroy(r.writer);
        free(r.text);
        return NULL;
    }
    t->resolvers[t->nresolvers++] = r;
    return r.res;
}

edxbus_err_t edxbus_tail_open(edxbus_bus_t *bus, const struct edxbus_tail_config *cfg,
                              edxbus_tail_t **out, char *errstr, size_t errstr_size)
{
    const edxbus_conf_t *conf = edxbus_bus_conf(bus);
    *out = NULL;
    const char *setting = NULL;
    const struct edxbus_backend_ops *ops =
        edxbus_backend_for(conf, EDXBUS_CONSUME, &setting, errstr, errstr_size);
    if (ops == NULL)
        return EDXBUS_ERR_CONF;
    if (ops->consumer_open == NULL || ops->poll == NULL || ops->consumer_close == NULL) {
        edxbus__errf(errstr, errstr_size, "%s: backend %s cannot consume", setting, ops->name);
        return EDXBUS_ERR_UNSUPPORTED;
    }
    edxbus_tail_t *t = calloc(1, sizeof *t);
    char *full = edxbus__full_topic(conf, cfg->topic);
    if (t == NULL || full == NULL) {
        free(t);
        free(full);
        edxbus__errf(errstr, errstr_size, "out of memory");
        return EDXBUS_ERR_NOMEM;
    }
    t->ops = ops;
    t->cat = edxbus_bus_catalog(bus);
    struct edxbus_consumer_opts copts = {
        .topic = full,
        .group = NULL, /* tail mode */
        .start = cfg->start != NULL ? cfg->start : "latest",
        .start_time_ms = cfg->start_time_ms,
    };
    edxbus_err_t err = ops->consumer_open(conf, &copts, &t->be, errstr, errstr_size);
    free(full);
    if (err != EDXBUS_OK) {
        free(t);
        return err;
    }
    *out = t;
    return EDXBUS_OK;
}

/* What the caller needs to show @p msg, or the reason it cannot be shown in @p why. */
static void describe(edxbus_tail_t *t, const struct edxbus_msg *msg,
                     struct edxbus_tail_entry *e, json_t **data, char *why, size_t why_size)
{
    char errstr[EDXBUS_ERRSTR_SIZE] = "";
    *e = (struct edxbus_tail_entry){.topic = msg->topic, .position = msg->position};
    if (msg->unusable != NULL || msg->metadata == NULL) {
        edxbus__errf(why, why_size, "unusable entry: %s",
                     msg->unusable != NULL ? msg->unusable : "no metadata");
        e->problem = why;
        return;
    }
    const edxbus_event_type_t *et = edxbus_catalog_find(t->cat, msg->metadata->event_type);
    if (et == NULL) {
        edxbus__errf(why, why_size, "unknown event type \"%.200s\" (see edxbus events list)",
                     msg->metadata->event_type);
        e->problem = why;
        return;
    }
    if (msg->value_schema != NULL) {
        const edxbus_avro_resolver_t *res =
            resolver_for(t, et, msg->value_schema, errstr, sizeof errstr);
        if (res == NULL || edxbus_avro_resolver_decode(res, msg->value, msg->value_len, data,
                                                       errstr, sizeof errstr) != EDXBUS_OK) {
            edxbus__errf(why, why_size, "undecodable value: %s", errstr);
            e->problem = why;
            return;
        }
    }
    e->metadata = msg->metadata;
    e->event_type = et;
    e->value = msg->value;
    e->value_len = msg->value_len;
    e->data = *data;
}

edxbus_err_t edxbus_tail_poll(edxbus_tail_t *t, size_t max, int timeout_ms, edxbus_tail_fn fn,
                              void *opaque, size_t *n, char *errstr, size_t errstr_size)
{
    struct edxbus_batch b = {0};
    if (n != NULL)
        *n = 0;
    edxbus_err_t err = t->ops->poll(t->be, &b, max, timeout_ms, errstr, errstr_size);
    for (size_t i = 0; err == EDXBUS_OK && i < b.n; i++) {
        struct edxbus_tail_entry e;
        json_t *data = NULL;
        char why[EDXBUS_ERRSTR_SIZE + 64];
        describe(t, &b.msgs[i], &e, &data, why, sizeof why);
        err = fn(opaque, &e);
        json_decref(data);
        if (n != NULL)
            (*n)++;
    }
    return err;
}

void edxbus_tail_close(edxbus_tail_t *t)
{
    if (t == NULL)
        return;
    if (t->be != NULL)
        t->ops->consumer_close(t->be);
    for (size_t i = 0; i < t->nresolvers; i++) {
        edxbus_avro_resolver_destroy(t->resolvers[i].res);
        edxbus_avro_schema_destroy(t->resolvers[i].writer);
        free(t->resolvers[i].text);
    }
    free(t->resolvers);
    free(t);
}

edxbus_err_t edxbus_lag(const edxbus_conf_t *conf, const char *topic, const char *group,
                        json_t **out, char *errstr, size_t errstr_size)
{
    *out = NULL;
    const struct edxbus_backend_ops *ops =
        edxbus_backend_for(conf, EDXBUS_CONSUME, NULL, errstr, errstr_size);
    if (ops == NULL)
        return EDXBUS_ERR_CONF;
    if (ops->lag == NULL) {
        edxbus__errf(errstr, errstr_size, "backend %s cannot report lag", ops->name);
        return EDXBUS_ERR_UNSUPPORTED;
    }
    char *full = edxbus__full_topic(conf, topic);
    if (full == NULL) {
        edxbus__errf(errstr, errstr_size, "out of memory");
        return EDXBUS_ERR_NOMEM;
    }
    edxbus_err_t err = ops->lag(conf, full, group, out, errstr, errstr_size);
    free(full);
    return err;
}
