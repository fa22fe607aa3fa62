/* src/backends/redis/redis_trim.c — trimming a stream without dropping what a group has not read.
 *
 * The reference writes `XADD <stream> MAXLEN ~ N *`, which drops the oldest entries whether or
 * not a consumer group has read them: a group that is behind by more than N silently loses
 * events. This producer writes `XADD <stream> *` (the entry itself is unchanged) and, every
 * `every` confirmed entries per stream, trims the stream on its own connection (the pipeline's
 * replies stay in order):
 *
 *   - a stream no longer than EVENT_BUS_REDIS_STREAM_MAX_LEN (N) is left alone;
 *   - a stream without consumer groups is trimmed as the reference would (`XTRIM MAXLEN ~ N`);
 *   - otherwise each group's safe point is its oldest pending entry (XPENDING), or the entry
 *     after its last-delivered id when nothing is pending: everything before it is
 *     acknowledged by that group. The stream's safe point S is the oldest of them. When at most
 *     N entries lie at or after S, `XTRIM MAXLEN ~ N` drops only acknowledged entries and keeps
 *     N, as the reference does; otherwise `XTRIM MINID ~ S` drops every acknowledged entry
 *     before S and nothing else. N is thus the target for acknowledged entries kept; unread ones
 *     are never dropped. (`LIMIT 0`: the default limit of an approximate trim, 100 nodes' worth,
 *     would leave a stream that grew by more than that above the target.)
 *   - EVENT_BUS_REDIS_STREAM_HARD_MAX_LEN (H, 0: off) bounds the memory anyway: a stream still
 *     longer than H is trimmed to exactly H, and an error line names each group and how many of
 *     its unread (never delivered) and pending entries went.
 *
 * Counting "entries at or after S" uses Redis 7's per-group lag (entries not yet delivered,
 * XINFO GROUPS) plus, for a group with pending entries, an XRANGE over the pending range
 * bounded by N + 1 entries; without lag (Redis < 7, or a lag Redis cannot tell) an XRANGE from
 * S bounded the same way. The cost is a few round trips per `every` entries (see bench_redis).
 * A check that fails is logged (info: the server's trouble shows in the produce reports) and
 * tried again `every` entries later; it never fails a produce.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redis_int.h"

#define TRIM_EVERY_MAX 1000 /* confirmed entries per stream between two checks, at most */

edxbus_err_t edxbus__redis_trim_init(struct redis_trim *t, const edxbus_conf_t *conf, char *errstr,
                                     size_t errstr_size)
{
    memset(t, 0, sizeof *t);
    t->max_len = edxbus_conf_get_int(conf, REDIS_SETTING_MAX_LEN, REDIS_DEFAULT_MAX_LEN);
    t->hard_max_len = edxbus_conf_get_int(conf, REDIS_SETTING_HARD_MAX_LEN, 0);
    if (t->max_len <= 0) {
        edxbus_errf(errstr, errstr_size,
                    REDIS_SETTING_MAX_LEN ": %lld is not a positive number; expected e.g. 10000",
                    (long long)t->max_len);
        return EDXBUS_ERR_CONF;
    }
    if (t->hard_max_len != 0 && t->hard_max_len < t->max_len) {
        edxbus_errf(errstr, errstr_size,
                    REDIS_SETTING_HARD_MAX_LEN ": %lld is below " REDIS_SETTING_MAX_LEN
                                               " (%lld); give 0 (no hard cap) or a larger number",
                    (long long)t->hard_max_len, (long long)t->max_len);
        return EDXBUS_ERR_CONF;
    }
    t->every = t->max_len / 10;
    if (t->every > TRIM_EVERY_MAX)
        t->every = TRIM_EVERY_MAX;
    if (t->every < 1)
        t->every = 1;
    t->conf = conf;
    return EDXBUS_OK;
}

void edxbus__redis_trim_fini(struct redis_trim *t)
{
    if (t->connected)
        edxbus__redis_conn_close(&t->conn);
    for (size_t i = 0; i < t->n; i++)
        free(t->streams[i].name);
    free(t->streams);
    memset(t, 0, sizeof *t);
}

/* ------------------------------------------------------------------------------------------ */
/* Commands on the trimming connection */

static edxbus_err_t trim_cmd(struct redis_trim *t, int argc, const char **argv, redisReply **out,
                             char *errstr, size_t errstr_size)
{
    char what[320];
    bool sub = strcmp(argv[0], "XINFO") == 0;
    snprintf(what, sizeof what, "%s%s%s on stream \"%s\"", argv[0], sub ? " " : "",
             sub ? argv[1] : "", argv[sub ? 2 : 1]);
    return edxbus__redis_conn_command(&t->conn, argc, argv, NULL, out, what, errstr, errstr_size);
}

/* An integer reply (XLEN, XTRIM); -1 with an error. */
static edxbus_err_t trim_int(struct redis_trim *t, int argc, const char **argv, long long *out,
                             char *errstr, size_t errstr_size)
{
    redisReply *reply;
    edxbus_err_t err = trim_cmd(t, argc, argv, &reply, errstr, errstr_size);
    *out = err == EDXBUS_OK && reply->type == REDIS_REPLY_INTEGER ? reply->integer : -1;
    freeReplyObject(reply);
    return err;
}

/* Entries of @p stream in [@p from, @p to], counted up to @p limit. */
static edxbus_err_t range_count(struct redis_trim *t, const char *stream, const char *from,
                                const char *to, long long limit, long long *out, char *errstr,
                                size_t errstr_size)
{
    char count[24];
    snprintf(count, sizeof count, "%lld", limit < 1 ? 1 : limit);
    const char *argv[] = {"XRANGE", stream, from, to, "COUNT", count};
    redisReply *reply;
    edxbus_err_t err = trim_cmd(t, 6, argv, &reply, errstr, errstr_size);
    *out = err == EDXBUS_OK && reply->type == REDIS_REPLY_ARRAY ? (long long)reply->elements : 0;
    freeReplyObject(reply);
    return err;
}

static int id_cmp(const char *a, const char *b)
{
    uint64_t ams, aseq, bms, bseq;
    if (!edxbus__redis_id_parse(a, &ams, &aseq) || !edxbus__redis_id_parse(b, &bms, &bseq))
        return strcmp(a, b);
    if (ams != bms)
        return ams < bms ? -1 : 1;
    return aseq < bseq ? -1 : aseq > bseq;
}

/* The id right after @p id ("ms-seq+1"). */
static void id_after(const char *id, char *out, size_t out_size)
{
    uint64_t ms = 0, seq = 0;
    edxbus__redis_id_parse(id, &ms, &seq);
    if (seq == UINT64_MAX)
        snprintf(out, out_size, "%" PRIu64 "-0", ms + 1);
    else
        snprintf(out, out_size, "%" PRIu64 "-%" PRIu64, ms, seq + 1);
}

static long long info_ll(const redisReply *map, const char *key)
{
    const redisReply *v = edxbus__redis_info_get(map, key);
    if (v != NULL && v->type == REDIS_REPLY_INTEGER)
        return v->integer;
    return -1; /* nil: Redis cannot tell (or < 7.0) */
}

/* ------------------------------------------------------------------------------------------ */
/* One group */

struct group_state {
    const char *name; /* borrows the XINFO GROUPS reply */
    const char *last; /* last-delivered-id */
    long long pending, lag;
    char safe[EDXBUS_POSITION_MAX]; /* everything before it is acknowledged by the group */
    long long at_or_after;          /* entries at or after safe, counted up to max_len + 1 */
};

static edxbus_err_t group_state(struct redis_trim *t, const char *stream, const redisReply *info,
                                long long len, struct group_state *g, char *errstr,
                                size_t errstr_size)
{
    const redisReply *name = edxbus__redis_info_get(info, "name");
    const redisReply *last = edxbus__redis_info_get(info, "last-delivered-id");
    if (name == NULL || last == NULL || name->type != REDIS_REPLY_STRING ||
        last->type != REDIS_REPLY_STRING) {
        edxbus_errf(errstr, errstr_size, "redis: XINFO GROUPS on stream \"%s\": unexpected reply",
                    stream);
        return EDXBUS_ERR_BROKER;
    }
    g->name = name->str;
    g->last = last->str;
    g->pending = info_ll(info, "pending");
    g->lag = info_ll(info, "lag");
    long long limit = t->max_len + 1;
    edxbus_err_t err = EDXBUS_OK;
    if (g->pending > 0) {
        const char *argv[] = {"XPENDING", stream, g->name};
        redisReply *reply;
        err = trim_cmd(t, 3, argv, &reply, errstr, errstr_size);
        if (err == EDXBUS_OK && (reply->type != REDIS_REPLY_ARRAY || reply->elements < 2 ||
                                 reply->element[1]->type != REDIS_REPLY_STRING)) {
            edxbus_errf(errstr, errstr_size, "redis: XPENDING on stream \"%s\": unexpected reply",
                        stream);
            err = EDXBUS_ERR_BROKER;
        }
        if (err == EDXBUS_OK)
            snprintf(g->safe, sizeof g->safe, "%s", reply->element[1]->str);
        freeReplyObject(reply);
        if (err != EDXBUS_OK)
            return err;
        long long k;
        if (g->lag >= 0 && g->lag + g->pending >= limit) {
            g->at_or_after = limit; /* no need to count further */
        } else if (g->lag >= 0) {
            err = range_count(t, stream, g->safe, g->last, limit - g->lag, &k, errstr,
                              errstr_size);
            g->at_or_after = g->lag + k;
        } else {
            err = range_count(t, stream, g->safe, "+", limit, &k, errstr, errstr_size);
            g->at_or_after = k;
        }
    } else {
        id_after(g->last, g->safe, sizeof g->safe);
        if (g->lag >= 0)
            g->at_or_after = g->lag;
        else
            err = range_count(t, stream, g->safe, "+", limit, &g->at_or_after, errstr,
                              errstr_size);
    }
    if (g->at_or_after > len) /* Redis's lag still counts entries trimmed away */
        g->at_or_after = len;
    return err;
}

/* ------------------------------------------------------------------------------------------ */
/* The hard cap */

/* Trim @p stream (@p len entries) to exactly hard_max_len and say what each group lost. */
static edxbus_err_t hard_trim(struct redis_trim *t, const char *stream, long long len,
                              struct group_state *groups, size_t ngroups, char *errstr,
                              size_t errstr_size)
{
    /* Before trimming: each group's unread entries (after its last-delivered id). */
    long long *unread = calloc(ngroups ? ngroups : 1, sizeof *unread);
    if (unread == NULL) {
        edxbus_errf(errstr, errstr_size, "redis: out of memory trimming stream \"%s\"", stream);
        return EDXBUS_ERR_NOMEM;
    }
    edxbus_err_t err = EDXBUS_OK;
    for (size_t i = 0; i < ngroups && err == EDXBUS_OK; i++) {
        char from[EDXBUS_POSITION_MAX + 1];
        snprintf(from, sizeof from, "(%s", groups[i].last);
        if (groups[i].lag >= 0)
            unread[i] = groups[i].lag < len ? groups[i].lag : len;
        else
            err = range_count(t, stream, from, "+", len, &unread[i], errstr, errstr_size);
    }
    char cap[24];
    snprintf(cap, sizeof cap, "%lld", (long long)t->hard_max_len);
    const char *argv[] = {"XTRIM", stream, "MAXLEN", "=", cap};
    long long removed = 0;
    if (err == EDXBUS_OK)
        err = trim_int(t, 5, argv, &removed, errstr, errstr_size);
    /* The pending entries now gone: those older than the new first entry. */
    char first[EDXBUS_POSITION_MAX] = "+";
    if (err == EDXBUS_OK) {
        const char *rargv[] = {"XRANGE", stream, "-", "+", "COUNT", "1"};
        redisReply *reply;
        err = trim_cmd(t, 6, rargv, &reply, errstr, errstr_size);
        if (err == EDXBUS_OK && reply->type == REDIS_REPLY_ARRAY && reply->elements == 1 &&
            reply->element[0]->elements == 2)
            snprintf(first, sizeof first, "(%s", reply->element[0]->element[0]->str);
        freeReplyObject(reply);
    }
    struct edxbus_buf text = EDXBUS_BUF_INIT;
    long long lost_total = 0;
    for (size_t i = 0; i < ngroups && err == EDXBUS_OK; i++) {
        long long lost_unread = unread[i] > t->hard_max_len ? unread[i] - t->hard_max_len : 0;
        long long lost_pending = 0;
        if (groups[i].pending > 0 && strcmp(first, "+") != 0) {
            char count[24];
            snprintf(count, sizeof count, "%lld", groups[i].pending);
            /* Up to the new first entry, exclusive ("(" + id). */
            const char *pargv[] = {"XPENDING", stream, groups[i].name, "-", first, count};
            redisReply *reply;
            err = trim_cmd(t, 6, pargv, &reply, errstr, errstr_size);
            if (err == EDXBUS_OK && reply->type == REDIS_REPLY_ARRAY)
                lost_pending = (long long)reply->elements;
            freeReplyObject(reply);
        }
        lost_total += lost_unread + lost_pending;
        edxbus_buf_printf(&text, "%sgroup \"%s\" lost %lld unread and %lld pending", i ? "; " : "",
                          groups[i].name, lost_unread, lost_pending);
    }
    edxbus_buf_terminate(&text);
    if (err == EDXBUS_OK && lost_total > 0)
        edxbus_conf_log(t->conf, EDXBUS_LOG_ERROR,
                        "redis: stream \"%s\" held %lld entries, over " REDIS_SETTING_HARD_MAX_LEN
                        " (%lld): trimmed %lld entries, %lld of them not yet acknowledged: %s",
                        stream, len, (long long)t->hard_max_len, removed, lost_total,
                        text.data ? (const char *)text.data : "");
    edxbus_buf_fini(&text);
    free(unread);
    return err;
}

/* ------------------------------------------------------------------------------------------ */
/* The check */

static edxbus_err_t trim_groups(struct redis_trim *t, const char *stream, long long len,
                                const redisReply *groups, char *errstr, size_t errstr_size)
{
    char cap[24];
    snprintf(cap, sizeof cap, "%lld", (long long)t->max_len);
    long long removed;
    if (groups->elements == 0) { /* nobody reads it through a group: the reference's cap */
        const char *argv[] = {"XTRIM", stream, "MAXLEN", "~", cap, "LIMIT", "0"};
        return trim_int(t, 7, argv, &removed, errstr, errstr_size);
    }
    struct group_state *gs = calloc(groups->elements, sizeof *gs);
    if (gs == NULL) {
        edxbus_errf(errstr, errstr_size, "redis: out of memory trimming stream \"%s\"", stream);
        return EDXBUS_ERR_NOMEM;
    }
    edxbus_err_t err = EDXBUS_OK;
    const char *safe = NULL;
    long long need = 0;
    for (size_t i = 0; i < groups->elements && err == EDXBUS_OK; i++) {
        err = group_state(t, stream, groups->element[i], len, &gs[i], errstr, errstr_size);
        if (safe == NULL || id_cmp(gs[i].safe, safe) < 0)
            safe = gs[i].safe;
        if (gs[i].at_or_after > need)
            need = gs[i].at_or_after;
    }
    if (err == EDXBUS_OK && need <= t->max_len) {
        const char *argv[] = {"XTRIM", stream, "MAXLEN", "~", cap, "LIMIT", "0"};
        err = trim_int(t, 7, argv, &removed, errstr, errstr_size);
    } else if (err == EDXBUS_OK) {
        const char *argv[] = {"XTRIM", stream, "MINID", "~", safe, "LIMIT", "0"};
        err = trim_int(t, 7, argv, &removed, errstr, errstr_size);
    }
    if (err == EDXBUS_OK && t->hard_max_len > 0 && need > t->max_len) {
        const char *argv[] = {"XLEN", stream};
        err = trim_int(t, 2, argv, &len, errstr, errstr_size);
        if (err == EDXBUS_OK && len > t->hard_max_len)
            err = hard_trim(t, stream, len, gs, groups->elements, errstr, errstr_size);
    }
    free(gs);
    return err;
}

edxbus_err_t edxbus__redis_trim_now(struct redis_trim *t, const char *stream, char *errstr,
                                    size_t errstr_size)
{
    edxbus_err_t err = EDXBUS_OK;
    if (!t->connected) {
        /* One try, as below: the check runs on the producer's thread, and a server that
         * stalls just then must not hold its pipeline (and the "has not answered" line) up
         * for a round of connect retries. A failed check is tried again `every` entries later. */
        err = edxbus__redis_conn_open_tries(&t->conn, t->conf, 1, errstr, errstr_size);
        t->connected = err == EDXBUS_OK;
    } else {
        err = edxbus__redis_conn_ensure(&t->conn, 1, errstr, errstr_size);
    }
    long long len = 0;
    if (err == EDXBUS_OK) {
        const char *argv[] = {"XLEN", stream};
        err = trim_int(t, 2, argv, &len, errstr, errstr_size);
    }
    if (err != EDXBUS_OK || len <= t->max_len)
        return err;
    const char *argv[] = {"XINFO", "GROUPS", stream};
    redisReply *groups;
    err = trim_cmd(t, 3, argv, &groups, errstr, errstr_size);
    if (err == EDXBUS_OK && groups->type != REDIS_REPLY_ARRAY) {
        edxbus_errf(errstr, errstr_size, "redis: XINFO GROUPS on stream \"%s\": unexpected reply",
                    stream);
        err = EDXBUS_ERR_BROKER;
    }
    if (err == EDXBUS_OK)
        err = trim_groups(t, stream, len, groups, errstr, errstr_size);
    freeReplyObject(groups);
    return err;
}

void edxbus__redis_trim_added(struct redis_trim *t, const char *stream)
{
    struct trim_stream *s = NULL;
    for (size_t i = 0; i < t->n && s == NULL; i++)
        if (strcmp(t->streams[i].name, stream) == 0)
            s = &t->streams[i];
    if (s == NULL) {
        if (t->n == t->cap) {
            size_t cap = t->cap ? t->cap * 2 : 4;
            struct trim_stream *streams = realloc(t->streams, cap * sizeof *streams);
            if (streams == NULL)
                return; /* out of memory: trim at the next entry */
            t->streams = streams;
            t->cap = cap;
        }
        char *name = strdup(stream);
        if (name == NULL)
            return;
        s = &t->streams[t->n++];
        s->name = name;
        s->adds = 0;
    }
    if (++s->adds < t->every)
        return;
    s->adds = 0;
    char errstr[EDXBUS_ERRSTR_SIZE];
    if (edxbus__redis_trim_now(t, stream, errstr, sizeof errstr) != EDXBUS_OK)
        edxbus_conf_log(t->conf, EDXBUS_LOG_INFO, "%s; stream not trimmed this time", errstr);
}
