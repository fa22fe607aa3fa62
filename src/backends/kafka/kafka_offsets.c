/* src/backends/kafka/kafka_offsets.c — where a group starts, what it acknowledged, and the
 * commits that make both durable.
 *
 * Start rule (the same on every backend): a new group starts where `start` says; an existing
 * group resumes. librdkafka alone decides per partition (auto.offset.reset applies to every
 * partition without a committed offset, even in a group that exists), so a restarted worker
 * would skip what arrived on partitions its group never committed in. Here it is decided per
 * group at each assignment: the group exists when it has a committed offset on any partition of
 * the topic, and then a partition without one starts at its oldest record. A new group commits
 * its start positions at its first assignment, so from then on it exists, even with no traffic
 * and even for a second member joining before the first committed anything.
 *
 * Commits: per partition the backend keeps the offsets it handed out, in order, with an acked
 * flag, and commits (offset + 1) of the last record of the contiguous acked prefix, so an
 * out-of-order ack never skips an unacknowledged record. A partition stays to be committed
 * until the broker confirmed that offset: a failed asynchronous commit is sent again (after a
 * backoff), and revocation and close commit synchronously. A failing commit is logged once as a
 * warning, and its recovery once.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kafka_consumer_int.h"

#define COMMIT_BACKOFF_MIN_MS 200
#define COMMIT_BACKOFF_MAX_MS 5000
#define COMMIT_SYNC_ATTEMPTS 3

bool edxbus__kafka_parse_position(const char *position, int32_t *partition, int64_t *off)
{
    enum edxbus_start kind = edxbus_start_kind(position);
    if (kind != EDXBUS_START_POSITION) {
        *partition = -1;
        *off = kind == EDXBUS_START_EARLIEST ? RD_KAFKA_OFFSET_BEGINNING : RD_KAFKA_OFFSET_END;
        return true;
    }
    char *end;
    long p = strtol(position, &end, 10);
    if (end == position || *end != ':' || p < 0)
        return false;
    const char *o = end + 1;
    long long v = strtoll(o, &end, 10);
    if (end == o || *end != '\0' || v < 0)
        return false;
    *partition = (int32_t)p;
    *off = v;
    return true;
}

/* ------------------------------------------------------------------------------------------ */
/* Ack tracking */

#define PART_AT_MAX 65536 /* partitions numbered above it are found by a scan */

struct kafka_part *edxbus__kafka_part_get(struct kafka_consumer *c, int32_t partition,
                                          bool create)
{
    bool indexed = partition >= 0 && partition < PART_AT_MAX;
    if (indexed && (size_t)partition < c->npart_at) {
        size_t at = c->part_at[partition];
        if (at > 0)
            return &c->parts[at - 1];
    } else if (!indexed) {
        for (size_t i = 0; i < c->nparts; i++)
            if (c->parts[i].partition == partition)
                return &c->parts[i];
    }
    if (!create)
        return NULL;
    if (indexed && (size_t)partition >= c->npart_at) {
        size_t n = (size_t)partition + 1;
        if (n < 2 * c->npart_at)
            n = 2 * c->npart_at;
        size_t *grown = realloc(c->part_at, n * sizeof *grown);
        if (grown == NULL)
            return NULL;
        memset(grown + c->npart_at, 0, (n - c->npart_at) * sizeof *grown);
        c->part_at = grown;
        c->npart_at = n;
    }
    if (c->nparts == c->cap_parts) {
        size_t cap = c->cap_parts ? c->cap_parts * 2 : 8;
        struct kafka_part *grown = realloc(c->parts, cap * sizeof *grown);
        if (grown == NULL)
            return NULL;
        c->parts = grown;
        c->cap_parts = cap;
    }
    struct kafka_part *kp = &c->parts[c->nparts++];
    memset(kp, 0, sizeof *kp);
    kp->partition = partition;
    kp->commit_to = kp->committed = kp->inflight = -1;
    if (indexed)
        c->part_at[partition] = c->nparts;
    return kp;
}

bool edxbus__kafka_part_push(struct kafka_part *kp, int64_t offset)
{
    if (kp->head > 0 && kp->head == kp->n)
        kp->head = kp->n = 0;
    if (kp->n == kp->cap) {
        if (kp->head > kp->cap / 2) {
            memmove(kp->offs, kp->offs + kp->head, (kp->n - kp->head) * sizeof *kp->offs);
            memmove(kp->acked, kp->acked + kp->head, (kp->n - kp->head) * sizeof *kp->acked);
            kp->n -= kp->head;
            kp->head = 0;
        } else {
            size_t cap = kp->cap ? kp->cap * 2 : 64;
            int64_t *offs = realloc(kp->offs, cap * sizeof *offs);
            if (offs == NULL)
                return false;
            kp->offs = offs;
            bool *acked = realloc(kp->acked, cap * sizeof *acked);
            if (acked == NULL)
                return false;
            kp->acked = acked;
            kp->cap = cap;
        }
    }
    /* A record at or below one still tracked (a seek back): forget the old ones. */
    if (kp->n > kp->head && offset <= kp->offs[kp->n - 1])
        kp->head = kp->n = 0;
    kp->offs[kp->n] = offset;
    kp->acked[kp->n] = false;
    kp->n++;
    return true;
}

void edxbus__kafka_parts_clear(struct kafka_consumer *c)
{
    for (size_t i = 0; i < c->nparts; i++) {
        free(c->parts[i].offs);
        free(c->parts[i].acked);
    }
    c->nparts = 0;
    if (c->npart_at > 0)
        memset(c->part_at, 0, c->npart_at * sizeof *c->part_at);
}

edxbus_err_t edxbus__kafka_ack(void *be, const struct edxbus_msg *msg, char *errstr,
                               size_t errstr_size)
{
    struct kafka_consumer *c = be;
    if (c->group == NULL)
        return EDXBUS_OK;
    int32_t partition;
    int64_t offset;
    uintptr_t from = (uintptr_t)c->batch.msgs, p = (uintptr_t)msg;
    size_t at = p >= from && (p - from) % sizeof *msg == 0 ? (p - from) / sizeof *msg : SIZE_MAX;
    if (at < c->resolved) {
        /* a message of the current batch: its record says where it is (no text to parse) */
        partition = c->rkms[at]->partition;
        offset = c->rkms[at]->offset;
    } else if (!edxbus__kafka_parse_position(msg->position, &partition, &offset) ||
               partition < 0) {
        edxbus_errf(errstr, errstr_size, "kafka: ack: \"%.60s\" is not a partition:offset position",
                    msg->position);
        return EDXBUS_ERR_INVALID_ARG;
    }
    struct kafka_part *kp = edxbus__kafka_part_get(c, partition, false);
    if (kp == NULL)
        return EDXBUS_OK; /* the partition was revoked since: the new owner has it */
    /* Binary search among the live offsets (ascending). */
    size_t lo = kp->head, hi = kp->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (kp->offs[mid] < offset)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == kp->n || kp->offs[lo] != offset)
        return EDXBUS_OK; /* already committed, or from before a seek */
    kp->acked[lo] = true;
    while (kp->head < kp->n && kp->acked[kp->head]) {
        kp->commit_to = kp->offs[kp->head] + 1;
        kp->head++;
    }
    return EDXBUS_OK;
}

/* ------------------------------------------------------------------------------------------ */
/* Commits */

/* Record the outcome of a commit of @p offsets (@p err: the request's error). */
static void commit_result(struct kafka_consumer *c, rd_kafka_resp_err_t err,
                          const rd_kafka_topic_partition_list_t *offsets)
{
    rd_kafka_resp_err_t failed = RD_KAFKA_RESP_ERR_NO_ERROR;
    int nfailed = 0;
    for (int i = 0; offsets != NULL && i < offsets->cnt; i++) {
        const rd_kafka_topic_partition_t *e = &offsets->elems[i];
        if (strcmp(e->topic, c->topic) != 0)
            continue;
        struct kafka_part *kp = edxbus__kafka_part_get(c, e->partition, false);
        if (kp != NULL && kp->inflight == e->offset)
            kp->inflight = -1;
        rd_kafka_resp_err_t perr = e->err != RD_KAFKA_RESP_ERR_NO_ERROR ? e->err : err;
        if (perr == RD_KAFKA_RESP_ERR_NO_ERROR) {
            if (kp != NULL)
                kp->committed = e->offset;
        } else {
            failed = perr;
            nfailed++;
        }
    }
    if (offsets == NULL && err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        failed = err;
        nfailed = 1;
    }
    if (nfailed > 0) {
        if (!c->commit_failing)
            edxbus_conf_log(c->conf, EDXBUS_LOG_WARNING,
                            "kafka: committing the offsets of group %s on %s failed: %s; "
                            "retrying (until it works, records after the last committed offset "
                            "would be delivered again after a restart or a rebalance)",
                            c->group, c->topic, rd_kafka_err2str(failed));
        c->commit_failing = true;
        int backoff = c->commit_backoff_ms < COMMIT_BACKOFF_MIN_MS ? COMMIT_BACKOFF_MIN_MS
                                                                   : c->commit_backoff_ms;
        c->commit_retry_ms = edxbus_clock_mono_ms() + backoff;
        c->commit_backoff_ms = backoff * 2 > COMMIT_BACKOFF_MAX_MS ? COMMIT_BACKOFF_MAX_MS
                                                                   : backoff * 2;
    } else if (offsets != NULL && offsets->cnt > 0) {
        if (c->commit_failing)
            edxbus_conf_log(c->conf, EDXBUS_LOG_WARNING,
                            "kafka: committing the offsets of group %s on %s works again",
                            c->group, c->topic);
        c->commit_failing = false;
        c->commit_retry_ms = 0;
        c->commit_backoff_ms = 0;
    }
}

void edxbus__kafka_on_commit(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                             rd_kafka_topic_partition_list_t *offsets, void *opaque)
{
    (void)rk;
    struct kafka_consumer *c = opaque;
    if (err == RD_KAFKA_RESP_ERR__NO_OFFSET)
        return;
    commit_result(c, err, offsets);
}

/* The synchronous commit's result callback (rd_kafka_commit_queue without a queue). */
static void on_sync_commit(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                           rd_kafka_topic_partition_list_t *offsets, void *opaque)
{
    edxbus__kafka_on_commit(rk, err, offsets, opaque);
}

/* Whether @p kp has an acknowledged offset to send now. */
static bool pending(const struct kafka_part *kp, bool async)
{
    return kp->commit_to >= 0 && kp->commit_to != kp->committed &&
           !(async && kp->inflight == kp->commit_to);
}

/* The partitions to commit now; NULL: none. */
static rd_kafka_topic_partition_list_t *to_commit(struct kafka_consumer *c, bool async)
{
    /* Counted first: librdkafka sets up every element a list is made with, so a list sized
     * for all partitions cost more than the commit itself. */
    int n = 0;
    for (size_t i = 0; i < c->nparts; i++)
        n += pending(&c->parts[i], async);
    if (n == 0)
        return NULL;
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(n);
    for (size_t i = 0; i < c->nparts; i++) {
        struct kafka_part *kp = &c->parts[i];
        if (!pending(kp, async))
            continue;
        rd_kafka_topic_partition_list_add(list, c->topic, kp->partition)->offset = kp->commit_to;
        if (async)
            kp->inflight = kp->commit_to;
    }
    return list;
}

edxbus_err_t edxbus__kafka_commit_pending(struct kafka_consumer *c, bool async, char *errstr,
                                          size_t errstr_size)
{
    if (c->group == NULL)
        return EDXBUS_OK;
    if (async && c->commit_failing && edxbus_clock_mono_ms() < c->commit_retry_ms)
        return EDXBUS_OK; /* backing off; the next poll tries again */
    rd_kafka_resp_err_t rerr = RD_KAFKA_RESP_ERR_NO_ERROR;
    for (int attempt = 0; attempt < (async ? 1 : COMMIT_SYNC_ATTEMPTS); attempt++) {
        rd_kafka_topic_partition_list_t *list = to_commit(c, async);
        if (list == NULL)
            return EDXBUS_OK;
        if (attempt > 0) { /* a short wait between synchronous attempts */
            struct timespec ts = {0, (long)attempt * 100 * 1000000L};
            nanosleep(&ts, NULL);
        }
        if (async) {
            rerr = rd_kafka_commit(c->rk, list, 1);
            if (rerr != RD_KAFKA_RESP_ERR_NO_ERROR) /* not even sent: no callback comes */
                commit_result(c, rerr, list);
        } else {
            /* Without a queue the call waits and runs the callback with each partition's
             * result before it returns. */
            rerr = rd_kafka_commit_queue(c->rk, list, NULL, on_sync_commit, c);
        }
        rd_kafka_topic_partition_list_destroy(list);
        if (async || (rerr == RD_KAFKA_RESP_ERR_NO_ERROR && !c->commit_failing))
            break;
    }
    if (rerr == RD_KAFKA_RESP_ERR_NO_ERROR || rerr == RD_KAFKA_RESP_ERR__NO_OFFSET)
        return EDXBUS_OK;
    edxbus_errf(errstr, errstr_size, "kafka: committing offsets of group %.80s on %.80s: %s",
                c->group, c->topic, rd_kafka_err2str(rerr));
    return edxbus__kafka_err(rerr);
}

void edxbus__kafka_commit_positions(struct kafka_consumer *c,
                                    rd_kafka_topic_partition_list_t *parts)
{
    if (c->group == NULL)
        return;
    rd_kafka_topic_partition_list_t *abs = rd_kafka_topic_partition_list_new(parts->cnt);
    for (int i = 0; i < parts->cnt; i++)
        if (parts->elems[i].offset >= 0)
            rd_kafka_topic_partition_list_add(abs, parts->elems[i].topic,
                                              parts->elems[i].partition)
                ->offset = parts->elems[i].offset;
    if (abs->cnt > 0) {
        rd_kafka_resp_err_t rerr = rd_kafka_commit(c->rk, abs, 0);
        if (rerr != RD_KAFKA_RESP_ERR_NO_ERROR)
            edxbus_conf_log(c->conf, EDXBUS_LOG_WARNING,
                            "kafka: committing the start offsets of group %s on %s: %s",
                            c->group, c->topic, rd_kafka_err2str(rerr));
    }
    rd_kafka_topic_partition_list_destroy(abs);
}

/* ------------------------------------------------------------------------------------------ */
/* Where a group starts */

void edxbus__kafka_decide_starts(struct kafka_consumer *c,
                                 rd_kafka_topic_partition_list_t *parts)
{
    edxbus_err_t err = EDXBUS_OK;
    char why[EDXBUS_ERRSTR_SIZE] = "";
    rd_kafka_topic_partition_list_t *all =
        edxbus__kafka_partitions(c->rk, c->topic, &err, why, sizeof why);
    rd_kafka_resp_err_t rerr = RD_KAFKA_RESP_ERR_NO_ERROR;
    if (all != NULL && (rerr = rd_kafka_committed(c->rk, all, KAFKA_META_TIMEOUT_MS)) !=
                           RD_KAFKA_RESP_ERR_NO_ERROR)
        snprintf(why, sizeof why, "%s", rd_kafka_err2str(rerr));
    if (all == NULL || rerr != RD_KAFKA_RESP_ERR_NO_ERROR) {
        /* Unknown: resume from committed offsets, else from the oldest record. Reading a
         * record twice is better than skipping one. */
        edxbus_conf_log(c->conf, EDXBUS_LOG_WARNING,
                        "kafka: group %s on %s: cannot read the committed offsets (%s); "
                        "partitions without one start at their oldest record",
                        c->group, c->topic, why);
        for (int i = 0; i < parts->cnt; i++)
            parts->elems[i].offset = RD_KAFKA_OFFSET_INVALID;
        if (all != NULL)
            rd_kafka_topic_partition_list_destroy(all);
        return;
    }
    bool exists = false;
    for (int i = 0; i < all->cnt; i++)
        exists = exists || all->elems[i].offset >= 0;
    if (exists) {
        int fresh = 0;
        for (int i = 0; i < parts->cnt; i++) {
            rd_kafka_topic_partition_t *have =
                rd_kafka_topic_partition_list_find(all, c->topic, parts->elems[i].partition);
            if (have != NULL && have->offset >= 0) {
                parts->elems[i].offset = RD_KAFKA_OFFSET_INVALID; /* the committed offset */
            } else {
                parts->elems[i].offset = RD_KAFKA_OFFSET_BEGINNING;
                fresh++;
            }
        }
        if (fresh > 0)
            edxbus_conf_log(c->conf, EDXBUS_LOG_INFO,
                            "kafka: group %s resumes on %s; %d assigned partition(s) without a "
                            "committed offset start at their oldest record",
                            c->group, c->topic, fresh);
        rd_kafka_topic_partition_list_destroy(all);
        return;
    }
    rd_kafka_topic_partition_list_destroy(all);
    /* A new group: the start, as absolute offsets (ListOffsets answers the logical ones), then
     * committed so that the group exists from now on. */
    rd_kafka_topic_partition_list_t *abs = rd_kafka_topic_partition_list_copy(parts);
    for (int i = 0; i < abs->cnt; i++)
        abs->elems[i].offset = c->start_earliest ? RD_KAFKA_OFFSET_BEGINNING : RD_KAFKA_OFFSET_END;
    rerr = rd_kafka_offsets_for_times(c->rk, abs, KAFKA_META_TIMEOUT_MS);
    for (int i = 0; i < parts->cnt; i++) {
        int64_t off = rerr == RD_KAFKA_RESP_ERR_NO_ERROR ? abs->elems[i].offset : -1;
        parts->elems[i].offset =
            off >= 0 ? off
                     : (c->start_earliest ? RD_KAFKA_OFFSET_BEGINNING : RD_KAFKA_OFFSET_END);
    }
    rd_kafka_topic_partition_list_destroy(abs);
    edxbus_conf_log(c->conf, EDXBUS_LOG_INFO, "kafka: new group %s starts at the %s of %s",
                    c->group, c->start_earliest ? "oldest record" : "end", c->topic);
    edxbus__kafka_commit_positions(c, parts);
}

/* ------------------------------------------------------------------------------------------ */
/* The end of a tail or no-join reader */

edxbus_err_t edxbus__kafka_marks_init(struct kafka_consumer *c,
                                      const rd_kafka_topic_partition_list_t *parts, char *errstr,
                                      size_t errstr_size)
{
    rd_kafka_topic_partition_list_t *lo = rd_kafka_topic_partition_list_copy(parts);
    rd_kafka_topic_partition_list_t *hi = rd_kafka_topic_partition_list_copy(parts);
    rd_kafka_topic_partition_list_t *committed = rd_kafka_topic_partition_list_copy(parts);
    for (int i = 0; i < parts->cnt; i++) {
        lo->elems[i].offset = RD_KAFKA_OFFSET_BEGINNING;
        hi->elems[i].offset = RD_KAFKA_OFFSET_END;
    }
    rd_kafka_resp_err_t rerr = rd_kafka_offsets_for_times(c->rk, lo, KAFKA_META_TIMEOUT_MS);
    if (rerr == RD_KAFKA_RESP_ERR_NO_ERROR)
        rerr = rd_kafka_offsets_for_times(c->rk, hi, KAFKA_META_TIMEOUT_MS);
    if (rerr == RD_KAFKA_RESP_ERR_NO_ERROR && c->group != NULL)
        rerr = rd_kafka_committed(c->rk, committed, KAFKA_META_TIMEOUT_MS);
    edxbus_err_t err = EDXBUS_OK;
    free(c->marks);
    c->nmarks = 0;
    c->marks = rerr == RD_KAFKA_RESP_ERR_NO_ERROR && parts->cnt > 0
                   ? calloc((size_t)parts->cnt, sizeof *c->marks)
                   : NULL;
    if (rerr != RD_KAFKA_RESP_ERR_NO_ERROR) {
        edxbus_errf(errstr, errstr_size, "kafka: finding the end of %.100s: %s", c->topic,
                    rd_kafka_err2str(rerr));
        err = edxbus__kafka_err(rerr);
    } else if (c->marks == NULL && parts->cnt > 0) {
        edxbus_errf(errstr, errstr_size, "kafka: out of memory");
        err = EDXBUS_ERR_NOMEM;
    }
    for (int i = 0; err == EDXBUS_OK && i < parts->cnt; i++) {
        int64_t off = parts->elems[i].offset, start;
        if (off >= 0)
            start = off;
        else if (off == RD_KAFKA_OFFSET_END)
            start = hi->elems[i].offset;
        else if (off == RD_KAFKA_OFFSET_INVALID && c->group != NULL &&
                 committed->elems[i].offset >= 0)
            start = committed->elems[i].offset;
        else
            start = lo->elems[i].offset;
        c->marks[i] = (struct kafka_mark){
            .partition = parts->elems[i].partition, .next = start, .end = hi->elems[i].offset};
        c->nmarks++;
    }
    rd_kafka_topic_partition_list_destroy(lo);
    rd_kafka_topic_partition_list_destroy(hi);
    rd_kafka_topic_partition_list_destroy(committed);
    return err;
}

void edxbus__kafka_marks_handed(struct kafka_consumer *c, int32_t partition, int64_t offset)
{
    for (size_t i = 0; i < c->nmarks; i++)
        if (c->marks[i].partition == partition && c->marks[i].next <= offset)
            c->marks[i].next = offset + 1;
}

edxbus_err_t edxbus__kafka_caught_up(void *be, bool *done, char *errstr, size_t errstr_size)
{
    struct kafka_consumer *c = be;
    *done = false;
    if (c->marks == NULL && c->nmarks == 0 && (c->group != NULL && !c->no_join)) {
        edxbus_errf(errstr, errstr_size,
                    "kafka: a member of group %.80s has no fixed end (partitions move between "
                    "members)",
                    c->group);
        return EDXBUS_ERR_UNSUPPORTED;
    }
    if (c->nbatch > c->resolved)
        return EDXBUS_OK; /* records kept for the next poll */
    for (size_t i = 0; i < c->nmarks; i++)
        if (c->marks[i].next < c->marks[i].end)
            return EDXBUS_OK;
    *done = true;
    return EDXBUS_OK;
}
