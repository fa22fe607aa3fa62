/* src/bus/outbox.c — the outbox file (outbox.h): its settings, its entries, status and listing.
 *
 * The outbox is not a storage engine of its own: it is the embedded broker's log (the sqlite
 * backend, reached through its ops table like any other backend) in the file named by
 * EVENT_BUS_OUTBOX_PATH, with one topic, EDXBUS_OUTBOX_TOPIC. An entry is the message the
 * producer would have sent, with two headers added: the destination (full) topic and the key's
 * schema text. The relay (relay.c) reads the topic in the group "relay" with the backend's
 * `delete_acked` option, so an entry is deleted in the transaction that acknowledges it, after
 * the broker confirmed it.
 *
 * Waiting entries = what the relay group still owes (the backend's lag hook: undelivered plus
 * pending). The backend keeps a topic's newest row even once acknowledged (so positions are
 * never reused), so the file may hold one row more than waits: listing and the oldest age skip
 * the first rows beyond the count that waits.
 *
 * The relay's state (forwarding / unreachable, since when, the last broker error) lives in
 * "<path>.relay.json", rewritten (write + rename) only when the state changes.
 */
#include "metrics_int.h"
#include "outbox_int.h"

#include "edxbus/admin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *edxbus_outbox_path(const edxbus_conf_t *conf)
{
    const char *p = edxbus_conf_get_str(conf, "EVENT_BUS_OUTBOX_PATH", NULL);
    return p != NULL && p[0] != '\0' ? p : NULL;
}

const struct edxbus_backend_ops *edxbus__outbox_ops(char *errstr, size_t errstr_size)
{
    const struct edxbus_backend_ops *ops =
        edxbus_backend_find("sqlite", "EVENT_BUS_OUTBOX_PATH", errstr, errstr_size);
    if (ops != NULL && (ops->producer_open == NULL || ops->consumer_open == NULL ||
                        ops->poll == NULL || ops->ack == NULL || ops->lag == NULL)) {
        edxbus__errf(errstr, errstr_size, "EVENT_BUS_OUTBOX_PATH: the embedded log backend is "
                                          "incomplete in this build");
        return NULL;
    }
    return ops;
}

edxbus_conf_t *edxbus__outbox_conf(const edxbus_conf_t *conf, char *errstr, size_t errstr_size)
{
    const char *path = edxbus_outbox_path(conf);
    if (path == NULL) {
        edxbus__errf(errstr, errstr_size,
                     "EVENT_BUS_OUTBOX_PATH: not set; name the outbox file, e.g. "
                     "/var/lib/edxbus/outbox.db");
        return NULL;
    }
    edxbus_conf_t *oconf = edxbus_conf_dup(conf);
    if (oconf == NULL) {
        edxbus__errf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    /* The outbox is the only copy of an entry until the broker has it: never trim it. The
     * caller's retention settings are the embedded broker's, not the outbox's: before a relay
     * joined, the topic has no group to hold its entries back, and a relay waiting out a long
     * broker outage does not poll (an idle limit would let its entries go). Only the relay's
     * acknowledgements remove entries. */
    json_t *null = json_null();
    edxbus_err_t idle = edxbus_conf_set_json(oconf, "EVENT_BUS_SQLITE_GROUP_IDLE_LIMIT", null,
                                             errstr, errstr_size);
    json_decref(null);
    if (idle != EDXBUS_OK ||
        edxbus_conf_set(oconf, "EVENT_BUS_SQLITE_PATH", path, errstr, errstr_size) != EDXBUS_OK ||
        edxbus_conf_set(oconf, "EVENT_BUS_SQLITE_MAX_LEN", "0", errstr, errstr_size) !=
            EDXBUS_OK ||
        edxbus_conf_set(oconf, "EVENT_BUS_SQLITE_RETENTION", "forever", errstr, errstr_size) !=
            EDXBUS_OK ||
        edxbus_conf_set(oconf, "EVENT_BUS_SQLITE_RETENTION_BYTES", "0", errstr, errstr_size) !=
            EDXBUS_OK ||
        edxbus_conf_set(oconf, "EVENT_BUS_AUDIT_LOGGING_ENABLED", "false", errstr, errstr_size) !=
            EDXBUS_OK) {
        edxbus_conf_destroy(oconf);
        return NULL;
    }
    return oconf;
}

/* ---------------------------------------------------------------------------------------------
 * The relay's state file
 * ------------------------------------------------------------------------------------------- */

static char *state_path(const char *path, const char *suffix)
{
    size_t n = strlen(path) + strlen(suffix) + 1;
    char *p = malloc(n);
    if (p != NULL)
        snprintf(p, n, "%s%s", path, suffix);
    return p;
}

char *edxbus__outbox_lock_path(const char *path)
{
    return state_path(path, ".relay.lock");
}

void edxbus__outbox_state_write(const char *path, const char *state, int64_t since_ms,
                                const char *last_error)
{
    char *final = state_path(path, ".relay.json"), *tmp = state_path(path, ".relay.json.tmp");
    json_t *j = json_pack("{s:s, s:I, s:s}", "state", state, "since_ms", (json_int_t)since_ms,
                          "last_error", last_error != NULL ? last_error : "");
    if (final != NULL && tmp != NULL && j != NULL && json_dump_file(j, tmp, 0) == 0 &&
        rename(tmp, final) != 0)
        remove(tmp);
    json_decref(j);
    free(final);
    free(tmp);
}

static void state_read(const char *path, struct edxbus_outbox_status *out)
{
    char *file = state_path(path, ".relay.json");
    json_t *j = file != NULL ? json_load_file(file, 0, NULL) : NULL;
    free(file);
    const char *state = json_string_value(json_object_get(j, "state"));
    const char *last = json_string_value(json_object_get(j, "last_error"));
    const json_t *since = json_object_get(j, "since_ms");
    snprintf(out->state, sizeof out->state, "%s", state != NULL ? state : "");
    snprintf(out->last_error, sizeof out->last_error, "%s", last != NULL ? last : "");
    out->state_since_ms = json_is_integer(since) ? json_integer_value(since) : -1;
    json_decref(j);
}

/* ---------------------------------------------------------------------------------------------
 * Reading the entries
 * ------------------------------------------------------------------------------------------- */

/* How many entries the relay group still owes and the position of the first (*first, -1 when
 * unknown); *none_yet when no relay ever joined (then every row waits). */
static edxbus_err_t owed(const struct edxbus_backend_ops *ops, const edxbus_conf_t *oconf,
                         uint64_t *waiting, bool *none_yet, int64_t *first, char *errstr,
                         size_t errstr_size)
{
    json_t *arr = NULL;
    *waiting = 0;
    *none_yet = false;
    *first = -1;
    edxbus_err_t err =
        ops->lag(oconf, EDXBUS_OUTBOX_TOPIC, EDXBUS__RELAY_GROUP, &arr, errstr, errstr_size);
    if (err == EDXBUS_ERR_NOT_FOUND) {
        *none_yet = true;
        return EDXBUS_OK;
    }
    if (err != EDXBUS_OK)
        return err;
    size_t i;
    const json_t *row;
    json_array_foreach(arr, i, row)
    {
        json_int_t p = json_integer_value(json_object_get(row, "pending"));
        json_int_t u = json_integer_value(json_object_get(row, "undelivered"));
        *waiting += (uint64_t)(p > 0 ? p : 0);
        if (i == 0) { /* the group's, repeated on every row */
            *waiting += (uint64_t)(u > 0 ? u : 0);
            const json_t *f = json_object_get(row, "first_unacknowledged");
            *first = json_is_integer(f) ? json_integer_value(f) : -1;
        }
    }
    json_decref(arr);
    return EDXBUS_OK;
}

/* Walk every row of the outbox topic (a tail from the earliest, nothing acknowledged): @p fn
 * gets each message and its index; returns false to stop. */
typedef bool (*row_fn)(void *opaque, const struct edxbus_msg *msg, uint64_t index);

static edxbus_err_t walk(const struct edxbus_backend_ops *ops, const edxbus_conf_t *oconf,
                         row_fn fn, void *opaque, char *errstr, size_t errstr_size)
{
    struct edxbus_consumer_opts opts = {
        .topic = EDXBUS_OUTBOX_TOPIC, .start = "earliest", .start_time_ms = -1};
    void *be = NULL;
    edxbus_err_t err = ops->consumer_open(oconf, &opts, &be, errstr, errstr_size);
    if (err != EDXBUS_OK)
        return err;
    uint64_t index = 0;
    for (bool more = true; more && err == EDXBUS_OK;) {
        struct edxbus_batch b = {0};
        err = ops->poll(be, &b, 512, 0, errstr, errstr_size);
        if (err != EDXBUS_OK || b.n == 0)
            break;
        for (size_t i = 0; i < b.n && more; i++)
            more = fn(opaque, &b.msgs[i], index++);
    }
    ops->consumer_close(be);
    return err;
}

static bool count_row(void *opaque, const struct edxbus_msg *msg, uint64_t index)
{
    int64_t *times = opaque; /* [0] rows, [1] first row's time, [2] second row's time */
    if (index < 2)
        times[1 + index] = msg->broker_time_ms;
    times[0]++;
    return true;
}

/* Open the outbox's backend and settings for reading. */
static edxbus_conf_t *open_read(const edxbus_conf_t *conf, const struct edxbus_backend_ops **ops,
                                char *errstr, size_t errstr_size)
{
    *ops = edxbus__outbox_ops(errstr, errstr_size);
    if (*ops == NULL)
        return NULL;
    edxbus_conf_t *oconf = edxbus__outbox_conf(conf, errstr, errstr_size);
    if (oconf != NULL)
        edxbus_conf_set_log(oconf, NULL, NULL);
    return oconf;
}

/* When the first row at or after position @p start ("earliest" or a number) was committed:
 * *@p ms, -1 when there is none. One row read. */
static edxbus_err_t first_time(const struct edxbus_backend_ops *ops, const edxbus_conf_t *oconf,
                               const char *start, int64_t *ms, char *errstr, size_t errstr_size)
{
    struct edxbus_consumer_opts opts = {
        .topic = EDXBUS_OUTBOX_TOPIC, .start = start, .start_time_ms = -1};
    void *be = NULL;
    *ms = -1;
    edxbus_err_t err = ops->consumer_open(oconf, &opts, &be, errstr, errstr_size);
    if (err != EDXBUS_OK)
        return err;
    struct edxbus_batch b = {0};
    err = ops->poll(be, &b, 1, 0, errstr, errstr_size);
    if (err == EDXBUS_OK && b.n == 1)
        *ms = b.msgs[0].broker_time_ms;
    ops->consumer_close(be);
    return err;
}

/* The rows of the outbox topic (the embedded log's "sqlite-status": a count, no row read). */
static edxbus_err_t topic_rows(const edxbus_conf_t *oconf, uint64_t *rows, char *errstr,
                               size_t errstr_size)
{
    edxbus_admin_t *adm = NULL;
    json_t *st = NULL;
    *rows = 0;
    edxbus_err_t err = edxbus_admin_open(oconf, "sqlite-status", &adm, errstr, errstr_size);
    if (err == EDXBUS_OK)
        err = edxbus_admin_run(adm, "sqlite-status", NULL, &st, errstr, errstr_size);
    size_t i;
    const json_t *t;
    json_array_foreach(json_object_get(st, "topics"), i, t)
    {
        const char *name = json_string_value(json_object_get(t, "topic"));
        json_int_t n = json_integer_value(json_object_get(t, "events"));
        if (name != NULL && strcmp(name, EDXBUS_OUTBOX_TOPIC) == 0 && n > 0)
            *rows = (uint64_t)n;
    }
    json_decref(st);
    edxbus_admin_close(adm);
    return err;
}

edxbus_err_t edxbus_outbox_status(const edxbus_conf_t *conf, struct edxbus_outbox_status *out,
                                  char *errstr, size_t errstr_size)
{
    const struct edxbus_backend_ops *ops;
    memset(out, 0, sizeof *out);
    out->oldest_age_ms = -1;
    out->state_since_ms = -1;
    edxbus_conf_t *oconf = open_read(conf, &ops, errstr, errstr_size);
    if (oconf == NULL)
        return edxbus_outbox_path(conf) == NULL ? EDXBUS_ERR_CONF : EDXBUS_ERR_IO;
    bool none_yet;
    int64_t first = -1, oldest = -1;
    edxbus_err_t err = owed(ops, oconf, &out->waiting, &none_yet, &first, errstr, errstr_size);
    if (err == EDXBUS_OK && none_yet) /* no relay yet: every row waits */
        err = topic_rows(oconf, &out->waiting, errstr, errstr_size);
    if (err == EDXBUS_OK && out->waiting > 0) {
        /* The first entry the relay has not had confirmed (not an acknowledged newest row). */
        char start[32];
        if (none_yet || first < 1)
            snprintf(start, sizeof start, "earliest");
        else
            snprintf(start, sizeof start, "%lld", (long long)first);
        err = first_time(ops, oconf, start, &oldest, errstr, errstr_size);
    }
    if (err == EDXBUS_OK) {
        if (oldest >= 0) {
            out->oldest_age_ms = edxbus__now_ms() - oldest;
            if (out->oldest_age_ms < 0)
                out->oldest_age_ms = 0;
        }
        state_read(edxbus_outbox_path(conf), out);
    }
    edxbus_conf_destroy(oconf);
    return err;
}

struct list_walk {
    uint64_t skip; /* rows before the first waiting one */
    edxbus_outbox_entry_fn fn;
    void *opaque;
    struct edxbus_header hdrs[16];
};

/* The destination view of an outbox row: its topic header as topic, the outbox's own headers
 * dropped. Returns false when the row has no destination (not written by edxbus). */
bool edxbus__outbox_unwrap(const struct edxbus_msg *row, struct edxbus_msg *out,
                           struct edxbus_header *hdrs, size_t hcap, const char **key_schema)
{
    *out = *row;
    out->topic = NULL;
    out->headers = hdrs;
    out->nheaders = 0;
    *key_schema = NULL;
    for (size_t i = 0; i < row->nheaders; i++) {
        const struct edxbus_header *h = &row->headers[i];
        if (strcmp(h->name, EDXBUS_OUTBOX_HDR_TOPIC) == 0) {
            /* Written with its NUL (edxbus__outbox_wrap), so it is a C string in place. */
            if (h->len > 0 && h->value[h->len - 1] == '\0')
                out->topic = (const char *)h->value;
        } else if (strcmp(h->name, EDXBUS_OUTBOX_HDR_KEY_SCHEMA) == 0) {
            if (h->len > 0 && h->value[h->len - 1] == '\0')
                *key_schema = (const char *)h->value;
        } else if (out->nheaders < hcap) {
            hdrs[out->nheaders++] = *h;
        }
    }
    if (out->nheaders == 0)
        out->headers = NULL;
    return out->topic != NULL;
}

static bool list_row(void *opaque, const struct edxbus_msg *msg, uint64_t index)
{
    struct list_walk *lw = opaque;
    if (index < lw->skip)
        return true;
    struct edxbus_msg m;
    const char *key_schema;
    if (!edxbus__outbox_unwrap(msg, &m, lw->hdrs, sizeof lw->hdrs / sizeof lw->hdrs[0],
                               &key_schema))
        m.topic = "";
    return lw->fn(lw->opaque, &m);
}

edxbus_err_t edxbus_outbox_list(const edxbus_conf_t *conf, edxbus_outbox_entry_fn fn, void *opaque,
                                char *errstr, size_t errstr_size)
{
    const struct edxbus_backend_ops *ops;
    edxbus_conf_t *oconf = open_read(conf, &ops, errstr, errstr_size);
    if (oconf == NULL)
        return edxbus_outbox_path(conf) == NULL ? EDXBUS_ERR_CONF : EDXBUS_ERR_IO;
    bool none_yet;
    uint64_t waiting;
    int64_t rows[3] = {0, -1, -1}, first;
    edxbus_err_t err = owed(ops, oconf, &waiting, &none_yet, &first, errstr, errstr_size);
    if (err == EDXBUS_OK)
        err = walk(ops, oconf, count_row, rows, errstr, errstr_size);
    if (err == EDXBUS_OK) {
        struct list_walk lw = {.fn = fn, .opaque = opaque};
        if (!none_yet && (uint64_t)rows[0] > waiting)
            lw.skip = (uint64_t)rows[0] - waiting;
        err = walk(ops, oconf, list_row, &lw, errstr, errstr_size);
    }
    edxbus_conf_destroy(oconf);
    return err;
}

/* ---------------------------------------------------------------------------------------------
 * Writing an entry
 * ------------------------------------------------------------------------------------------- */

void edxbus__outbox_wrap(const struct edxbus_msg *msg, struct edxbus_msg *out,
                         struct edxbus_header hdrs[2])
{
    *out = *msg;
    hdrs[0] = (struct edxbus_header){.name = EDXBUS_OUTBOX_HDR_TOPIC,
                                     .value = (const uint8_t *)msg->topic,
                                     .len = strlen(msg->topic) + 1};
    out->nheaders = 1;
    if (msg->key_schema != NULL) {
        hdrs[1] = (struct edxbus_header){.name = EDXBUS_OUTBOX_HDR_KEY_SCHEMA,
                                         .value = (const uint8_t *)msg->key_schema,
                                         .len = strlen(msg->key_schema) + 1};
        out->nheaders = 2;
    }
    out->headers = hdrs;
    out->topic = EDXBUS_OUTBOX_TOPIC;
    out->key_schema = NULL;
    out->value_schema = NULL;
}

edxbus_err_t edxbus__outbox_waiting(const edxbus_conf_t *conf, uint64_t *waiting, char *errstr,
                                    size_t errstr_size)
{
    const struct edxbus_backend_ops *ops;
    *waiting = 0;
    edxbus_conf_t *oconf = open_read(conf, &ops, errstr, errstr_size);
    if (oconf == NULL)
        return edxbus_outbox_path(conf) == NULL ? EDXBUS_ERR_CONF : EDXBUS_ERR_IO;
    bool none_yet;
    int64_t first;
    edxbus_err_t err = owed(ops, oconf, waiting, &none_yet, &first, errstr, errstr_size);
    if (err == EDXBUS_OK && none_yet)
        err = topic_rows(oconf, waiting, errstr, errstr_size);
    edxbus_conf_destroy(oconf);
    return err;
}

/* ---------------------------------------------------------------------------------------------
 * The gauges' watcher
 * ------------------------------------------------------------------------------------------- */

struct edxbus__outbox_watch {
    edxbus_conf_t *conf; /* a copy */
    char *path;
    struct edxbus__ticker tick;
};

static void watch_read(void *opaque)
{
    struct edxbus__outbox_watch *w = opaque;
    struct edxbus_outbox_status st;
    char err[EDXBUS_ERRSTR_SIZE];
    if (edxbus_outbox_status(w->conf, &st, err, sizeof err) == EDXBUS_OK)
        edxbus__metrics_outbox_set(w->path, (int64_t)st.waiting,
                                   st.oldest_age_ms >= 0 ? edxbus__now_ms() - st.oldest_age_ms
                                                         : -1);
}

struct edxbus__outbox_watch *edxbus__outbox_watch_start(const edxbus_conf_t *conf)
{
    const char *path = edxbus_outbox_path(conf);
    if (path == NULL || !edxbus__metrics_enabled(conf))
        return NULL;
    struct edxbus__outbox_watch *w = calloc(1, sizeof *w);
    if (w == NULL)
        return NULL;
    w->conf = edxbus_conf_dup(conf);
    w->path = strdup(path);
    if (w->conf == NULL || w->path == NULL || !edxbus__metrics_outbox_hold(w->path)) {
        edxbus_conf_destroy(w->conf);
        free(w->path);
        free(w);
        return NULL;
    }
    edxbus_conf_set_log(w->conf, NULL, NULL);
    if (!edxbus__ticker_start(&w->tick, conf, watch_read, w)) {
        edxbus__outbox_watch_stop(w);
        return NULL;
    }
    return w;
}

void edxbus__outbox_watch_stop(struct edxbus__outbox_watch *w)
{
    if (w == NULL)
        return;
    edxbus__ticker_stop(&w->tick);
    edxbus__metrics_outbox_release(w->path);
    edxbus_conf_destroy(w->conf);
    free(w->path);
    free(w);
}
