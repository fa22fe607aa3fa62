/* src/bus/consumer.c — the consumer front end (consumer.h): settings, start position, backend.
 *
 * edxbus_consumer_new reads everything the worker loop (worker.c) needs once: the backend of
 * EVENT_BUS_CONSUMER, the full topic (prefix rule), the retry and dead-letter policy, the
 * consecutive-errors limit, the poll slice and failure sleep, audit logging and the kill switch
 * (EVENT_BUS_<BACKEND>_CONSUMERS_ENABLED). With the kill switch off it opens nothing: the worker
 * logs and returns, as the reference consumers do.
 *
 * The start position comes from --extra, translated once here into struct
 * edxbus_consumer_opts: "start" as given; the Redis consumer's check_backlog=true is
 * "earliest" and its last_read_msg_id a position; offset_time (ISO-8601 with an offset, as the
 * Kafka consumer takes it) becomes start_time_ms. The rest of extra goes to the backend.
 *
 * To add a setting of the worker: read it here into struct edxbus_consumer, use it in worker.c.
 */
#include "consumer_int.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/suggest_int.h"

void edxbus__backend_setting(char *out, size_t out_size, const struct edxbus_backend_ops *ops,
                             const char *suffix)
{
    size_t n = (size_t)snprintf(out, out_size, "EVENT_BUS_%s_%s", ops->name, suffix);
    for (size_t i = 10; i < n && i < out_size; i++)
        out[i] = (char)toupper((unsigned char)out[i]);
}

int64_t edxbus__now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool edxbus__sleep_ms(int64_t ms, const volatile sig_atomic_t *stop)
{
    while (ms > 0) {
        if (stop != NULL && *stop)
            return false;
        int64_t slice = ms < 100 ? ms : 100;
        struct timespec ts = {.tv_sec = slice / 1000, .tv_nsec = (long)(slice % 1000) * 1000000L};
        nanosleep(&ts, NULL);
        ms -= slice;
    }
    return stop == NULL || !*stop;
}

bool edxbus__consumer_stopping(const edxbus_consumer_t *cons)
{
    return (cons->stop != NULL && *cons->stop) || edxbus_waker_woken(cons->waker);
}

bool edxbus__consumer_sleep(const edxbus_consumer_t *cons, int64_t ms)
{
    /* The waker ends the wait at once; the stop flag is looked at every 100 ms. */
    while (ms > 0 && !edxbus__consumer_stopping(cons)) {
        int64_t slice = cons->stop != NULL && ms > 100 ? 100 : ms;
        if (edxbus_waker_wait(cons->waker, -1, (int)slice) == EDXBUS_WAIT_WOKEN)
            return false;
        ms -= slice;
    }
    return !edxbus__consumer_stopping(cons);
}

void edxbus_consumer_stop(edxbus_consumer_t *cons)
{
    if (cons == NULL)
        return;
    edxbus_waker_wake(cons->waker); /* async-signal-safe: an atomic store and a write() */
    if (cons->backend_wakes && cons->be != NULL)
        cons->ops->wake(cons->be);
}

/* A backend-specific setting, else the generic one, else @p def. */
static int64_t setting_int(const edxbus_conf_t *conf, const struct edxbus_backend_ops *ops,
                           const char *suffix, const char *generic, int64_t def)
{
    char name[128];
    edxbus__backend_setting(name, sizeof name, ops, suffix);
    const json_t *v = edxbus_conf_get(conf, name);
    if (json_is_integer(v))
        return json_integer_value(v);
    if (generic != NULL)
        return edxbus_conf_get_int(conf, generic, def);
    return def;
}

static bool setting_bool(const edxbus_conf_t *conf, const struct edxbus_backend_ops *ops,
                         const char *suffix, const char *generic, bool def)
{
    char name[128];
    edxbus__backend_setting(name, sizeof name, ops, suffix);
    const json_t *v = edxbus_conf_get(conf, name);
    if (json_is_boolean(v))
        return json_is_true(v);
    if (generic != NULL)
        return edxbus_conf_get_bool(conf, generic, def);
    return def;
}

/* Seconds (a number) -> ms: EVENT_BUS_<BACKEND>_<suffix>, else EVENT_BUS_<suffix>, else
 * @p def_ms. */
static int64_t setting_seconds_ms(const edxbus_conf_t *conf, const struct edxbus_backend_ops *ops,
                                  const char *suffix, int64_t def_ms)
{
    char name[128];
    edxbus__backend_setting(name, sizeof name, ops, suffix);
    const json_t *v = edxbus_conf_get(conf, name);
    if (!json_is_number(v)) {
        snprintf(name, sizeof name, "EVENT_BUS_%s", suffix);
        v = edxbus_conf_get(conf, name);
    }
    if (json_is_number(v) && json_number_value(v) >= 0)
        return (int64_t)(json_number_value(v) * 1000.0);
    return def_ms;
}

/* ISO-8601 with a UTC offset -> ms since the epoch, by the metadata's own time parser. */
static edxbus_err_t parse_time_ms(const char *text, int64_t *ms, char *errstr, size_t errstr_size)
{
    struct edxbus_metadata md = {0};
    char err[EDXBUS_ERRSTR_SIZE];
    if (edxbus_metadata_set_field(&md, "time", text, strlen(text), err, sizeof err) != EDXBUS_OK) {
        edxbus__errf(errstr, errstr_size,
                     "offset_time: \"%s\" is not an ISO-8601 time with an offset; expected e.g. "
                     "2024-05-01T00:00:00+00:00",
                     text);
        return EDXBUS_ERR_INVALID_ARG;
    }
    *ms = md.time_us / 1000;
    return EDXBUS_OK;
}

/* Every --extra name must be the core's or one the backend declares: a typo
 * ("chek_backlog") would otherwise be ignored silently. ABI-1 plugins declare none, so they get
 * every name as before. */
static edxbus_err_t check_extra_names(const struct edxbus_backend_ops *ops, const json_t *extra,
                                      char *errstr, size_t errstr_size)
{
    /* The core's: the start position in its generic form and in the reference's forms. */
    static const char *const core[] = {"start", "offset_time", "check_backlog",
                                       "last_read_msg_id", NULL};
    if (ops->abi_version < 2)
        return EDXBUS_OK;
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)extra, key, v)
    {
        bool known = false;
        struct edxbus__nearest nr;
        edxbus__nearest_init(&nr, key, strlen(key) / 3 > 2 ? strlen(key) / 3 : 2);
        for (int pass = 0; pass < 2 && !known; pass++)
            for (const char *const *n = pass ? ops->extra_options : core; n && *n; n++) {
                known |= strcmp(*n, key) == 0;
                edxbus__nearest_add(&nr, *n);
            }
        if (known)
            continue;
        char names[256] = "start, offset_time, check_backlog, last_read_msg_id";
        size_t used = strlen(names);
        for (const char *const *n = ops->extra_options; n && *n; n++) {
            int w = snprintf(names + used, sizeof names - used, ", %s", *n);
            if (w > 0 && (size_t)w < sizeof names - used)
                used += (size_t)w;
        }
        if (nr.best != NULL)
            edxbus__errf(errstr, errstr_size,
                         "--extra: unknown option \"%.100s\" for the %s backend; did you mean "
                         "%s?",
                         key, ops->name, nr.best);
        else
            edxbus__errf(errstr, errstr_size,
                         "--extra: unknown option \"%.100s\" for the %s backend; it knows %s", key,
                         ops->name, names);
        return EDXBUS_ERR_INVALID_ARG;
    }
    return EDXBUS_OK;
}

static edxbus_err_t read_extra(const struct edxbus_backend_ops *ops,
                               const struct edxbus_consumer_config *cfg,
                               struct edxbus_consumer_opts *opts, char *errstr, size_t errstr_size)
{
    const json_t *extra = cfg->extra;
    opts->start_time_ms = cfg->start_time_ms;
    if (extra == NULL || json_is_null(extra))
        return EDXBUS_OK;
    if (!json_is_object(extra)) {
        edxbus__errf(errstr, errstr_size,
                     "--extra: expected a JSON object, e.g. "
                     "{\"start\": \"earliest\"}");
        return EDXBUS_ERR_INVALID_ARG;
    }
    if (check_extra_names(ops, extra, errstr, errstr_size) != EDXBUS_OK)
        return EDXBUS_ERR_INVALID_ARG;
    const json_t *start = json_object_get(extra, "start");
    const json_t *backlog = json_object_get(extra, "check_backlog");
    const json_t *last = json_object_get(extra, "last_read_msg_id");
    const json_t *offset_time = json_object_get(extra, "offset_time");
    if (start != NULL && !json_is_string(start)) {
        edxbus__errf(errstr, errstr_size,
                     "--extra: \"start\" must be \"earliest\", \"latest\" or a position");
        return EDXBUS_ERR_INVALID_ARG;
    }
    if (json_is_string(start))
        opts->start = json_string_value(start);
    else if (json_is_string(last))
        opts->start = json_string_value(last);
    else if (json_is_true(backlog))
        opts->start = "earliest";
    if (offset_time != NULL && !json_is_null(offset_time)) {
        if (!json_is_string(offset_time)) {
            edxbus__errf(errstr, errstr_size, "--extra: \"offset_time\" must be an ISO time");
            return EDXBUS_ERR_INVALID_ARG;
        }
        return parse_time_ms(json_string_value(offset_time), &opts->start_time_ms, errstr,
                             errstr_size);
    }
    return EDXBUS_OK;
}

/* The lag gauge, from the metrics thread (never the worker's): the backend's lag hook opens
 * its own connection. A row with a partition (Kafka) is that partition's undelivered count; the
 * rows of a group as a whole (one per member: Redis, SQLite) give the group's undelivered count
 * once (the largest: Redis puts it on the first member, SQLite on each) plus every member's
 * pending entries. */
static void refresh_lag(struct edxbus__mworker *w, void *opaque)
{
    edxbus_consumer_t *cons = opaque;
    json_t *rows = NULL;
    char err[EDXBUS_ERRSTR_SIZE];
    if (cons->ops->lag(cons->conf, cons->topic, cons->group, &rows, err, sizeof err) !=
        EDXBUS_OK) {
        edxbus_conf_log(cons->conf, EDXBUS_LOG_DEBUG, "event bus: metrics: lag of %s: %s",
                        cons->topic, err);
        return;
    }
    size_t n = json_array_size(rows), k = 0;
    const char **parts = calloc(n + 1, sizeof *parts);
    int64_t *lags = calloc(n + 1, sizeof *lags);
    int64_t group_undelivered = 0, group_pending = 0;
    bool whole = false;
    for (size_t i = 0; parts != NULL && lags != NULL && i < n; i++) {
        const json_t *row = json_array_get(rows, i);
        const json_t *part = json_object_get(row, "partition");
        int64_t pending = json_integer_value(json_object_get(row, "pending"));
        int64_t undelivered = json_integer_value(json_object_get(row, "undelivered"));
        if (json_is_null(part) || part == NULL) {
            whole = true;
            group_pending += pending;
            if (undelivered > group_undelivered)
                group_undelivered = undelivered;
            continue;
        }
        char num[24];
        const char *text = json_is_string(part) ? json_string_value(part) : "";
        if (json_is_integer(part)) {
            snprintf(num, sizeof num, "%lld", (long long)json_integer_value(part));
            text = num;
        }
        parts[k] = strdup(text);
        lags[k++] = undelivered + pending;
    }
    if (parts != NULL && lags != NULL) {
        if (whole) {
            parts[k] = NULL;
            lags[k++] = group_undelivered + group_pending;
        }
        edxbus__metrics_set_lag(w, parts, lags, k);
    }
    for (size_t i = 0; parts != NULL && i < k; i++)
        free((char *)parts[i]);
    free(parts);
    free(lags);
    json_decref(rows);
}

edxbus_consumer_t *edxbus_consumer_new(edxbus_bus_t *bus, const struct edxbus_consumer_config *cfg,
                                       char *errstr, size_t errstr_size)
{
    edxbus_consumer_t *cons = NULL;
    edxbus_consumer_open(bus, cfg, &cons, errstr, errstr_size);
    return cons;
}

edxbus_err_t edxbus_consumer_open(edxbus_bus_t *bus, const struct edxbus_consumer_config *cfg,
                                  edxbus_consumer_t **out, char *errstr, size_t errstr_size)
{
    *out = NULL;
    const edxbus_conf_t *conf = edxbus_bus_conf(bus);
    if (cfg->topic == NULL || cfg->topic[0] == '\0' || cfg->group == NULL ||
        cfg->group[0] == '\0') {
        edxbus__errf(errstr, errstr_size, "a consumer needs a topic and a group");
        return EDXBUS_ERR_INVALID_ARG;
    }
    const char *setting = NULL;
    const struct edxbus_backend_ops *ops =
        edxbus_backend_for(conf, EDXBUS_CONSUME, &setting, errstr, errstr_size);
    if (ops == NULL)
        return EDXBUS_ERR_CONF;
    if (ops->consumer_open == NULL || ops->poll == NULL || ops->ack == NULL) {
        edxbus__errf(errstr, errstr_size, "%s: backend %s cannot consume", setting, ops->name);
        return EDXBUS_ERR_UNSUPPORTED;
    }

    struct edxbus_consumer_opts opts = {.group = cfg->group,
                                        .consumer_name = cfg->consumer_name,
                                        .extra = cfg->extra,
                                        .start_time_ms = -1};
    if (read_extra(ops, cfg, &opts, errstr, errstr_size) != EDXBUS_OK)
        return EDXBUS_ERR_INVALID_ARG;

    edxbus_err_t err = EDXBUS_ERR_NOMEM;
    edxbus_consumer_t *cons = calloc(1, sizeof *cons);
    if (cons == NULL)
        goto out_nomem;
    cons->bus = bus;
    cons->conf = conf;
    cons->ops = ops;
    cons->stop = cfg->stop;
    cons->backend_wakes = ops->abi_version >= 5 && ops->wake != NULL;
    cons->waker = edxbus_waker_new(errstr, errstr_size);
    if (cons->waker == NULL)
        goto out_cons;
    cons->max_events = cfg->max_events;
    cons->topic = edxbus__full_topic(conf, cfg->topic);
    cons->group = strdup(cfg->group);
    if (cons->topic == NULL || cons->group == NULL)
        goto out_nomem;
    opts.topic = cons->topic;

    int64_t tries = edxbus_conf_get_int(conf, "EVENT_BUS_CONSUMER_RETRIES", 3);
    cons->tries = tries < 1 ? 1 : (tries > 1000 ? 1000 : (unsigned)tries);
    cons->backoff_ms = edxbus_conf_get_int(conf, "EVENT_BUS_CONSUMER_RETRY_BACKOFF_MS", 200);
    if (cons->backoff_ms < 0)
        cons->backoff_ms = 0;
    cons->dlq_enabled = edxbus_conf_get_bool(conf, "EVENT_BUS_DEAD_LETTER_ENABLED", true);
    cons->errors_limit = setting_int(conf, ops, "CONSUMER_CONSECUTIVE_ERRORS_LIMIT",
                                     "EVENT_BUS_CONSUMER_CONSECUTIVE_ERRORS_LIMIT", 0);
    cons->poll_failure_sleep_ms =
        setting_seconds_ms(conf, ops, "CONSUMER_POLL_FAILURE_SLEEP", 1000);
    int64_t poll_ms = setting_seconds_ms(conf, ops, "CONSUMER_POLL_TIMEOUT", 500);
    /* A backend that can be woken polls as long as the setting says: edxbus_consumer_stop()
     * ends the poll. Otherwise, and while a stop flag is given (set by a signal handler without
     * a wake-up), polls are cut into slices of at most 500 ms so that a stop is noticed. */
    int64_t cap = cons->backend_wakes && cons->stop == NULL ? INT32_MAX : 500;
    cons->poll_slice_ms = (int)(poll_ms <= 0 ? 1 : (poll_ms > cap ? cap : poll_ms));
    cons->audit =
        setting_bool(conf, ops, "AUDIT_LOGGING_ENABLED", "EVENT_BUS_AUDIT_LOGGING_ENABLED", true);
    int64_t batch = edxbus_conf_get_int(conf, "EVENT_BUS_CONSUMER_BATCH_SIZE", 16);
    cons->batch_max = batch < 1 ? 1 : (size_t)batch;

    if (edxbus_conf_get_bool(conf, "EVENT_BUS_CONSUMER_DEDUP", false)) {
        cons->dedup = edxbus__dedup_open(conf, cons->group, errstr, errstr_size);
        err = EDXBUS_ERR_IO;
        if (cons->dedup == NULL)
            goto out_cons;
    }
    if (!setting_bool(conf, ops, "CONSUMERS_ENABLED", NULL, true)) {
        char sname[128];
        edxbus__backend_setting(sname, sizeof sname, ops, "CONSUMERS_ENABLED");
        cons->stats.disabled = true;
        edxbus_conf_log(conf, EDXBUS_LOG_WARNING,
                        "event bus consumer for %s (group %s) is disabled by %s; not consuming",
                        cons->topic, cons->group, sname);
        *out = cons;
        return EDXBUS_OK;
    }
    /* "start" and "offset_time" are the core's, already folded into opts; a backend gets only
     * the options that are its own (Redis refuses names it does not know). */
    json_t *backend_extra = NULL;
    if (json_is_object(cfg->extra)) {
        backend_extra = json_copy((json_t *)cfg->extra);
        if (backend_extra == NULL)
            goto out_nomem;
        json_object_del(backend_extra, "start");
        json_object_del(backend_extra, "offset_time");
        opts.extra = backend_extra;
    }
    err = ops->consumer_open(conf, &opts, &cons->be, errstr, errstr_size);
    json_decref(backend_extra);
    if (err != EDXBUS_OK)
        goto out_cons;
    cons->metrics = edxbus__metrics_worker_open(conf, "consumer", cons->topic, cons->group,
                                                ops->lag != NULL ? refresh_lag : NULL, cons);
    if (cons->metrics != NULL)
        edxbus__metrics_worker_state(cons->metrics, true, true, 0);
    *out = cons;
    return EDXBUS_OK;

out_nomem:
    err = EDXBUS_ERR_NOMEM;
    edxbus__errf(errstr, errstr_size, "out of memory");
out_cons:
    edxbus_consumer_destroy(cons);
    return err;
}

const struct edxbus_consumer_stats *edxbus_consumer_stats(const edxbus_consumer_t *cons)
{
    return &cons->stats;
}

const char *edxbus_consumer_topic(const edxbus_consumer_t *cons)
{
    return cons->topic;
}

void edxbus_consumer_destroy(edxbus_consumer_t *cons)
{
    if (cons == NULL)
        return;
    edxbus__metrics_worker_close(cons->metrics); /* its lag thread reads cons */
    if (cons->be != NULL && cons->ops->consumer_close != NULL)
        cons->ops->consumer_close(cons->be);
    if (cons->dlq_be != NULL && cons->ops->producer_close != NULL)
        cons->ops->producer_close(cons->dlq_be);
    for (size_t i = 0; i < cons->nresolvers; i++) {
        free(cons->resolvers[i].text);
        edxbus_avro_resolver_destroy(cons->resolvers[i].res);
        edxbus_avro_schema_destroy(cons->resolvers[i].writer);
    }
    free(cons->resolvers);
    free(cons->done);
    free(cons->ackable);
    free(cons->results);
    edxbus__dedup_close(cons->dedup);
    edxbus_waker_free(cons->waker);
    free(cons->topic);
    free(cons->group);
    free(cons);
}
