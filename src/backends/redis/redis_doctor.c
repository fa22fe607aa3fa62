/* src/backends/redis/redis_doctor.c — `edxbus doctor` on Redis (the doctor slot, backend.h).
 *
 * What can lose events on a Redis bus, checked on the live server with the bus's own settings:
 *   - the server: `maxmemory-policy` (an allkeys-* policy evicts whole keys when memory is
 *     full, and a stream is one key: every event in it goes), persistence (no AOF and no RDB
 *     save point: a restart empties the server), and whether Celery keeps its queues in the
 *     same database (`celery`, `unacked*`, `_kombu.*`), where its operations and its tuning
 *     reach the streams;
 *   - each stream of the bus (EVENT_BUS_TOPIC_PREFIX-*, or the one topic asked) and each of its
 *     groups: entries already trimmed before the group read them (the `lost` column of
 *     `edxbus lag`), a backlog beyond EVENT_BUS_REDIS_STREAM_MAX_LEN (Python producers trim
 *     there with MAXLEN ~) or at EVENT_BUS_REDIS_STREAM_HARD_MAX_LEN (edxbus trims there), and
 *     a backlog that grew between two samples; dead letters in `<topic>-dlq` streams.
 * Every command here reads; nothing on the server changes. Managed servers that refuse CONFIG
 * get an info line saying what could not be seen, not a failure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edxbus/backend_util.h"
#include "redis_int.h"

#define SCAN_ROUNDS_MAX 200 /* SCAN calls per pattern (COUNT 1000 each): a bound on big dbs */
#define STREAMS_MAX 1000    /* streams looked at in one run */

struct doc {
    struct redis_conn conn;
    const struct edxbus_doctor_opts *opts;
    edxbus_finding_fn report;
    void *opaque;
    const char *server; /* the URL, secrets masked */
    int64_t max_len, hard_max_len;
};

/* One group's first sample. */
struct sample {
    char *stream;
    char *group;
    int64_t backlog;
    int64_t at_ms; /* monotonic time of the sample */
};

/* Run a command; NULL (after an info finding naming what could not be read) on failure. */
static redisReply *command(struct doc *d, int argc, const char **argv, const char *what)
{
    char err[EDXBUS_ERRSTR_SIZE];
    redisReply *reply = NULL;
    if (edxbus__redis_conn_command(&d->conn, argc, argv, NULL, &reply, what, err, sizeof err) ==
        EDXBUS_OK)
        return reply;
    freeReplyObject(reply);
    edxbus_findingf(d->report, d->opaque, EDXBUS_SEVERITY_WARNING, "redis.unreadable", d->server,
                    "give the user of EVENT_BUS_REDIS_CONNECTION_URL the right to run it, or "
                    "check this by hand",
                    NULL, "could not read %s: %s", what, err);
    return NULL;
}

/* The value of "name:value" in an INFO reply, into @p out; false when absent. */
static bool info_field(const redisReply *info, const char *name, char *out, size_t size)
{
    if (info == NULL || info->type != REDIS_REPLY_STRING)
        return false;
    size_t n = strlen(name);
    for (const char *p = info->str; p != NULL && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        if (strncmp(p, name, n) == 0 && p[n] == ':') {
            const char *v = p + n + 1;
            size_t len = strcspn(v, "\r\n");
            snprintf(out, size, "%.*s", (int)len, v);
            return true;
        }
    }
    return false;
}

static void check_eviction(struct doc *d, const redisReply *memory)
{
    char policy[64];
    if (!info_field(memory, "maxmemory_policy", policy, sizeof policy))
        return;
    json_t *details = json_pack("{s:s}", "maxmemory_policy", policy);
    if (strncmp(policy, "allkeys-", 8) == 0)
        edxbus_findingf(d->report, d->opaque, EDXBUS_SEVERITY_ERROR, "redis.eviction", d->server,
                        "set maxmemory-policy to noeviction (redis.conf, or CONFIG SET "
                        "maxmemory-policy noeviction), and give caches a server of their own",
                        details,
                        "maxmemory-policy is %s: when memory is full Redis may evict a whole "
                        "stream, and every event in it is lost",
                        policy);
    else if (strcmp(policy, "noeviction") == 0)
        edxbus_findingf(d->report, d->opaque, EDXBUS_SEVERITY_INFO, "redis.eviction", d->server,
                        NULL, details,
                        "maxmemory-policy is noeviction: streams are never evicted (a full "
                        "server refuses new events instead)");
    else
        edxbus_findingf(d->report, d->opaque, EDXBUS_SEVERITY_INFO, "redis.eviction", d->server,
                        NULL, details,
                        "maxmemory-policy is %s: only keys with an expiry are evicted, and the "
                        "bus's streams have none",
                        policy);
}

static void check_persistence(struct doc *d, const redisReply *persistence)
{
    char aof[16] = "";
    info_field(persistence, "aof_enabled", aof, sizeof aof);
    const char *argv[] = {"CONFIG", "GET", "save"};
    char err[EDXBUS_ERRSTR_SIZE];
    redisReply *save = NULL;
    edxbus_err_t e = edxbus__redis_conn_command(&d->conn, 3, argv, NULL, &save, "CONFIG GET save",
                                                err, sizeof err);
    const char *points = NULL;
    if (e == EDXBUS_OK && save->type == REDIS_REPLY_ARRAY && save->elements == 2 &&
        save->element[1]->type == REDIS_REPLY_STRING)
        points = save->element[1]->str;
    bool aof_on = strcmp(aof, "1") == 0;
    if (points == NULL && !aof_on)
        edxbus_findingf(d->report, d->opaque, EDXBUS_SEVERITY_INFO, "redis.persistence",
                        d->server, "check the server's save points by hand", NULL,
                        "AOF is off and the RDB save points could not be read (%s)",
                        e == EDXBUS_OK ? "unexpected reply" : err);
    else if (!aof_on && points[0] == '\0')
        edxbus_findingf(d->report, d->opaque, EDXBUS_SEVERITY_WARNING, "redis.persistence",
                        d->server,
                        "turn on the append-only file (appendonly yes, appendfsync everysec or "
                        "always) or at least RDB snapshots (save 60 1000)",
                        json_pack("{s:b, s:s}", "aof", 0, "save", ""),
                        "persistence is off (no AOF, no RDB save point): a restart of the server "
                        "loses every stream and every group's position");
    else
        edxbus_findingf(d->report, d->opaque, EDXBUS_SEVERITY_INFO, "redis.persistence",
                        d->server, NULL,
                        json_pack("{s:b, s:s?}", "aof", aof_on, "save", points),
                        "persistence: AOF %s, RDB save points \"%s\"", aof_on ? "on" : "off",
                        points ? points : "?");
    freeReplyObject(save);
}

/* Celery (kombu's Redis transport) keeps its default queue as the list "celery", unacked
 * messages in "unacked"/"unacked_index" and bindings in "_kombu.binding.*". */
static void check_celery(struct doc *d)
{
    const char *exists[] = {"EXISTS", "celery", "unacked", "unacked_index", "unacked_mutex"};
    redisReply *r = command(d, 5, exists, "EXISTS celery unacked unacked_index");
    long long found = r != NULL && r->type == REDIS_REPLY_INTEGER ? r->integer : 0;
    freeReplyObject(r);
    char cursor[32] = "0";
    for (int round = 0; found == 0 && round < SCAN_ROUNDS_MAX; round++) {
        const char *scan[] = {"SCAN", cursor, "MATCH", "_kombu.*", "COUNT", "1000"};
        r = command(d, 6, scan, "SCAN MATCH _kombu.*");
        if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
            freeReplyObject(r);
            break;
        }
        found += (long long)r->element[1]->elements;
        snprintf(cursor, sizeof cursor, "%s", r->element[0]->str ? r->element[0]->str : "0");
        freeReplyObject(r);
        if (strcmp(cursor, "0") == 0)
            break;
    }
    if (found > 0)
        edxbus_findingf(d->report, d->opaque, EDXBUS_SEVERITY_WARNING, "redis.shared-with-celery",
                        d->server,
                        "give the event bus a database of its own (the /N at the end of "
                        "EVENT_BUS_REDIS_CONNECTION_URL) or a server of its own",
                        json_pack("{s:i}", "db", d->conn.url.db),
                        "database %d also holds Celery's keys (celery, unacked, _kombu.*): "
                        "flushing or tuning Celery's database (a FLUSHDB, an eviction policy "
                        "for its queues) reaches the event streams too",
                        d->conn.url.db);
}

/* Sum the backlog (pending + undelivered) and the lost entries of one group's lag rows. */
static bool group_backlog(struct doc *d, const char *stream, const char *group, int64_t *backlog,
                          json_t **lost)
{
    char err[EDXBUS_ERRSTR_SIZE];
    json_t *rows = json_array();
    *backlog = 0;
    if (lost)
        *lost = NULL;
    if (rows == NULL ||
        edxbus__redis_lag_rows(&d->conn, stream, group, rows, err, sizeof err) != EDXBUS_OK) {
        json_decref(rows);
        return false;
    }
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row)
    {
        *backlog += json_integer_value(json_object_get(row, "pending")) +
                    json_integer_value(json_object_get(row, "undelivered"));
        json_t *l = json_object_get(row, "lost");
        if (lost && *lost == NULL && l != NULL)
            *lost = json_incref(l);
    }
    json_decref(rows);
    return true;
}

static void check_group(struct doc *d, const char *stream, const char *group, int64_t backlog,
                        const json_t *lost)
{
    char subject[600];
    snprintf(subject, sizeof subject, "stream %s, group %s", stream, group);
    if (json_is_integer(lost) && json_integer_value(lost) > 0)
        edxbus_findingf(
            d->report, d->opaque, EDXBUS_SEVERITY_ERROR, "redis.trimmed", subject,
            "raise EVENT_BUS_REDIS_STREAM_MAX_LEN on every producer (Python ones trim at it) "
            "and EVENT_BUS_REDIS_STREAM_HARD_MAX_LEN above the longest backlog; send the lost "
            "events again from their source if they matter",
            json_pack("{s:s, s:s, s:I}", "stream", stream, "group", group, "lost",
                      (json_int_t)json_integer_value(lost)),
            "%lld entries were trimmed from the stream before the group read them: lost to it",
            (long long)json_integer_value(lost));
    if (d->hard_max_len > 0 && backlog >= d->hard_max_len)
        edxbus_findingf(d->report, d->opaque, EDXBUS_SEVERITY_ERROR, "redis.backlog-at-hard-cap",
                        subject,
                        "catch the group up (more consumers), or raise "
                        "EVENT_BUS_REDIS_STREAM_HARD_MAX_LEN",
                        json_pack("{s:s, s:s, s:I, s:I}", "stream", stream, "group", group,
                                  "backlog", (json_int_t)backlog, "hard_max_len",
                                  (json_int_t)d->hard_max_len),
                        "the group has %lld entries not acknowledged, at or beyond "
                        "EVENT_BUS_REDIS_STREAM_HARD_MAX_LEN (%lld): edxbus producers trim "
                        "unread entries beyond it",
                        (long long)backlog, (long long)d->hard_max_len);
    else if (backlog > d->max_len)
        edxbus_findingf(d->report, d->opaque, EDXBUS_SEVERITY_WARNING, "redis.backlog-over-cap",
                        subject,
                        "raise EVENT_BUS_REDIS_STREAM_MAX_LEN above the longest backlog on every "
                        "producer, Python ones included, or catch the group up",
                        json_pack("{s:s, s:s, s:I, s:I}", "stream", stream, "group", group,
                                  "backlog", (json_int_t)backlog, "max_len",
                                  (json_int_t)d->max_len),
                        "the group has %lld entries not acknowledged, more than "
                        "EVENT_BUS_REDIS_STREAM_MAX_LEN (%lld): edxbus producers keep them, but a "
                        "Python producer (XADD MAXLEN ~) trims them before the group reads them",
                        (long long)backlog, (long long)d->max_len);
}

/* The groups of @p stream: checks and first samples. */
static void check_stream(struct doc *d, const char *stream, struct sample **samples, size_t *n,
                         size_t *cap)
{
    char what[400];
    if (edxbus_topic_is_dlq(stream)) {
        const char *xlen[] = {"XLEN", stream};
        snprintf(what, sizeof what, "XLEN %s", stream);
        redisReply *r = command(d, 2, xlen, what);
        if (r != NULL && r->type == REDIS_REPLY_INTEGER)
            edxbus_doctor_dead_letters(d->report, d->opaque, stream, r->integer);
        freeReplyObject(r);
        return;
    }
    const char *argv[] = {"XINFO", "GROUPS", stream};
    snprintf(what, sizeof what, "XINFO GROUPS %s", stream);
    redisReply *groups = command(d, 3, argv, what);
    for (size_t i = 0; groups != NULL && groups->type == REDIS_REPLY_ARRAY && i < groups->elements;
         i++) {
        const redisReply *name = edxbus__redis_info_get(groups->element[i], "name");
        if (name == NULL || name->type != REDIS_REPLY_STRING)
            continue;
        if (d->opts->group != NULL && strcmp(d->opts->group, name->str) != 0)
            continue;
        int64_t backlog = 0;
        json_t *lost = NULL;
        if (!group_backlog(d, stream, name->str, &backlog, &lost))
            continue;
        check_group(d, stream, name->str, backlog, lost);
        json_decref(lost);
        if (*n == *cap) {
            size_t c = *cap ? *cap * 2 : 16;
            struct sample *s = realloc(*samples, c * sizeof *s);
            if (s == NULL)
                continue;
            *samples = s;
            *cap = c;
        }
        (*samples)[*n] = (struct sample){strdup(stream), strdup(name->str), backlog,
                                        edxbus_clock_mono_ms()};
        if ((*samples)[*n].stream != NULL && (*samples)[*n].group != NULL)
            (*n)++;
        else {
            free((*samples)[*n].stream);
            free((*samples)[*n].group);
        }
    }
    freeReplyObject(groups);
}

/* "prefix-*" with the glob characters of the prefix escaped; "*" without a prefix. */
static void stream_pattern(const edxbus_conf_t *conf, char *out, size_t size)
{
    const char *prefix = edxbus_conf_get_str(conf, "EVENT_BUS_TOPIC_PREFIX", NULL);
    size_t used = 0;
    for (const char *p = prefix; p != NULL && *p && used + 3 < size; p++) {
        if (strchr("*?[]\\", *p) != NULL)
            out[used++] = '\\';
        out[used++] = *p;
    }
    snprintf(out + used, size - used, "%s*", used ? "-" : "");
}

/* The bus's streams: the one topic asked (and its dead letters) or every stream matching the
 * prefix. Returns new names (free each, then the array). */
static char **find_streams(struct doc *d, const edxbus_conf_t *conf, size_t *n)
{
    char **names = calloc(STREAMS_MAX + 1, sizeof *names);
    *n = 0;
    if (names == NULL)
        return NULL;
    if (d->opts->topic != NULL) {
        char dlq[600];
        snprintf(dlq, sizeof dlq, "%s-dlq", d->opts->topic);
        const char *want[] = {d->opts->topic, dlq};
        for (int i = 0; i < 2; i++) {
            const char *type[] = {"TYPE", want[i]};
            redisReply *r = command(d, 2, type, "TYPE");
            if (r != NULL && r->type == REDIS_REPLY_STATUS && strcmp(r->str, "stream") == 0)
                names[(*n)++] = strdup(want[i]);
            else if (i == 0)
                edxbus_findingf(d->report, d->opaque, EDXBUS_SEVERITY_WARNING, "redis.no-stream",
                                want[0], "check the topic's name and EVENT_BUS_TOPIC_PREFIX",
                                NULL, "there is no stream %s on the server: nothing was produced "
                                "to it yet, or the topic is misspelt",
                                want[0]);
            freeReplyObject(r);
        }
        return names;
    }
    char pattern[300], cursor[32] = "0";
    stream_pattern(conf, pattern, sizeof pattern);
    for (int round = 0; round < SCAN_ROUNDS_MAX && *n < STREAMS_MAX; round++) {
        const char *scan[] = {"SCAN", cursor, "MATCH", pattern, "COUNT", "1000", "TYPE", "stream"};
        redisReply *r = command(d, 8, scan, "SCAN TYPE stream");
        if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
            freeReplyObject(r);
            break;
        }
        for (size_t i = 0; i < r->element[1]->elements && *n < STREAMS_MAX; i++)
            if (r->element[1]->element[i]->type == REDIS_REPLY_STRING)
                names[(*n)++] = strdup(r->element[1]->element[i]->str);
        snprintf(cursor, sizeof cursor, "%s", r->element[0]->str ? r->element[0]->str : "0");
        freeReplyObject(r);
        if (strcmp(cursor, "0") == 0)
            break;
    }
    if (*n == 0)
        edxbus_findingf(d->report, d->opaque, EDXBUS_SEVERITY_INFO, "redis.no-stream", d->server,
                        NULL, NULL, "no stream matches %s in database %d: nothing to look at yet",
                        pattern, d->conn.url.db);
    return names;
}

static int cmp_str(const void *a, const void *b)
{
    const char *x = *(const char *const *)a, *y = *(const char *const *)b;
    return x == NULL ? (y != NULL) : y == NULL ? -1 : strcmp(x, y);
}

edxbus_err_t edxbus__redis_doctor(const edxbus_conf_t *conf, const struct edxbus_doctor_opts *opts,
                                  edxbus_finding_fn report, void *opaque, char *errstr,
                                  size_t errstr_size)
{
    struct doc d = {.opts = opts, .report = report, .opaque = opaque};
    edxbus_err_t err = edxbus__redis_conn_open(&d.conn, conf, errstr, errstr_size);
    if (err != EDXBUS_OK)
        return err;
    d.server = d.conn.url.display;
    d.max_len = edxbus_conf_get_int(conf, REDIS_SETTING_MAX_LEN, REDIS_DEFAULT_MAX_LEN);
    d.hard_max_len = edxbus_conf_get_int(conf, REDIS_SETTING_HARD_MAX_LEN, 0);

    const char *server_argv[] = {"INFO", "server"}, *memory_argv[] = {"INFO", "memory"},
               *persistence_argv[] = {"INFO", "persistence"};
    redisReply *server = command(&d, 2, server_argv, "INFO server");
    char version[32] = "?";
    info_field(server, "redis_version", version, sizeof version);
    edxbus_findingf(report, opaque, EDXBUS_SEVERITY_INFO, "redis.server", d.server, NULL,
                    json_pack("{s:s, s:i}", "version", version, "db", d.conn.url.db),
                    "Redis %s answers; the bus uses database %d", version, d.conn.url.db);
    long major = strtol(version, NULL, 10); /* "?" gives 0 */
    if (major > 0 && major < 7)
        edxbus_findingf(report, opaque, EDXBUS_SEVERITY_WARNING, "redis.old-server", d.server,
                        "upgrade to Redis 7 or later",
                        NULL,
                        "Redis %s does not count what each group has read: trimmed entries a "
                        "group never read cannot be detected, and lag shows - for undelivered",
                        version);
    freeReplyObject(server);
    redisReply *memory = command(&d, 2, memory_argv, "INFO memory");
    check_eviction(&d, memory);
    freeReplyObject(memory);
    redisReply *persistence = command(&d, 2, persistence_argv, "INFO persistence");
    check_persistence(&d, persistence);
    freeReplyObject(persistence);
    check_celery(&d);

    size_t nstreams = 0, nsamples = 0, cap = 0;
    struct sample *samples = NULL;
    char **streams = find_streams(&d, conf, &nstreams);
    if (streams != NULL)
        qsort(streams, nstreams, sizeof *streams, cmp_str);
    for (size_t i = 0; i < nstreams; i++)
        if (streams[i] != NULL)
            check_stream(&d, streams[i], &samples, &nsamples, &cap);

    /* The second samples, at least interval_ms after the first (checks in between count). */
    if (nsamples > 0)
        edxbus_clock_sleep_ms(samples[nsamples - 1].at_ms + opts->interval_ms -
                              edxbus_clock_mono_ms());
    for (size_t i = 0; i < nsamples; i++) {
        int64_t after = 0;
        if (group_backlog(&d, samples[i].stream, samples[i].group, &after, NULL))
            edxbus_doctor_lag_trend(report, opaque, samples[i].stream, samples[i].group,
                                    samples[i].backlog, after,
                                    edxbus_clock_mono_ms() - samples[i].at_ms);
        free(samples[i].stream);
        free(samples[i].group);
    }
    free(samples);
    for (size_t i = 0; i < nstreams; i++)
        free(streams[i]);
    free(streams);
    edxbus__redis_conn_close(&d.conn);
    return EDXBUS_OK;
}
