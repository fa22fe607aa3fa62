/* src/backends/kafka/kafka_consumer.c — consume records in a group (or tail a topic).
 *
 * Group mode: subscribe with group.id and enable.auto.commit=false. Where each assigned
 * partition starts and which offsets are committed is kafka_offsets.c: a new group starts per
 * opts->start (the end by default), an existing group resumes (partitions it never committed
 * in start at their oldest record); only the contiguous acknowledged prefix of each partition
 * is committed, asynchronously at the next poll(), synchronously on revocation and at close,
 * and a failed commit is sent again.
 *
 * Replay (opts->start_time_ms): the assigned partitions are moved with
 * offsets_for_times to the first record stored at or after the time; those offsets are
 * committed for the group, and consuming goes on from there (the reference only commits and
 * idles). When nothing is assigned yet the move waits for the assignment. When the lookup
 * fails at the assignment, the partitions are assigned paused and every poll() fails with the
 * reason and tries the lookup again: a replay never quietly reads from the group's offsets
 * instead. (A tail whose lookup fails is not opened.) librdkafka 2.0's mock cluster answers
 * every time with -1, "no record at or after it", so the tests can only reach the end and the
 * failure path; see docs/internals/kafka.md.
 *
 * Each record's writer schema is fetched from the registry by the id in its framing (cached)
 * and handed to the core as msg->value_schema. When the registry fails in any way but "no such
 * schema id" (unreachable, 5xx, 429, a timeout), poll() fails and keeps the batch, so nothing is
 * lost; the registry is asked again after a growing backoff, and each change of state is logged
 * once. A record whose schema id does not exist is unusable and keeps its stored bytes.
 *
 * Tail mode (no group): the partitions are assigned directly, from the end (or the start, or
 * a time); ack() does nothing. No-join mode (a group's only reader, opts->no_join: dlq
 * replay): assigned directly too, from the group's positions by the start rule, and acks
 * commit for the group. Both note each partition's end offset at open, so caught_up() can say
 * when everything stored then has been handed out.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "kafka_consumer_int.h"

static void free_batch(struct kafka_consumer *c)
{
    for (size_t i = 0; i < c->nbatch; i++)
        rd_kafka_message_destroy(c->rkms[i]);
    c->nbatch = c->resolved = 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Positions */

/* Set every element's offset in @p parts to the first at or after @p unix_ms. Where there is
 * none (-1), the partition's end as an absolute offset, asked for now: the logical END would be
 * resolved only when fetching starts, skipping whatever was stored in between. */
static rd_kafka_resp_err_t offsets_at(struct kafka_consumer *c,
                                      rd_kafka_topic_partition_list_t *parts, int64_t unix_ms)
{
    for (int i = 0; i < parts->cnt; i++)
        parts->elems[i].offset = unix_ms;
    rd_kafka_resp_err_t rerr = rd_kafka_offsets_for_times(c->rk, parts, KAFKA_META_TIMEOUT_MS);
    for (int i = 0; rerr == RD_KAFKA_RESP_ERR_NO_ERROR && i < parts->cnt; i++) {
        if (parts->elems[i].offset >= 0)
            continue;
        int64_t lo = 0, hi = 0;
        rerr = rd_kafka_query_watermark_offsets(c->rk, parts->elems[i].topic,
                                                parts->elems[i].partition, &lo, &hi,
                                                KAFKA_META_TIMEOUT_MS);
        parts->elems[i].offset = hi;
    }
    return rerr;
}

/* Set the starting offsets of @p parts from the pending time or position, if any. Returns
 * whether it changed anything. A failed time lookup leaves the time pending and sets
 * c->replay_err and c->replay_why (the caller decides: pause, or refuse to open). */
static bool apply_pending(struct kafka_consumer *c, rd_kafka_topic_partition_list_t *parts)
{
    if (c->pending_time_ms >= 0) {
        rd_kafka_resp_err_t rerr = offsets_at(c, parts, c->pending_time_ms);
        if (rerr != RD_KAFKA_RESP_ERR_NO_ERROR) {
            c->replay_err = edxbus__kafka_err(rerr);
            snprintf(c->replay_why, sizeof c->replay_why,
                     "kafka: replay of %.80s from %" PRId64 " ms: finding the offsets by time "
                     "failed: %.60s; not consuming until it succeeds (tried again at each poll)",
                     c->topic, c->pending_time_ms, rd_kafka_err2str(rerr));
            edxbus_conf_log(c->conf, EDXBUS_LOG_ERROR, "%s", c->replay_why);
            for (int i = 0; i < parts->cnt; i++)
                parts->elems[i].offset = RD_KAFKA_OFFSET_INVALID;
            return false;
        }
        c->pending_time_ms = -1;
        c->replay_err = EDXBUS_OK;
        edxbus__kafka_commit_positions(c, parts);
        return true;
    }
    if (c->pending_seek != NULL) {
        int32_t partition;
        int64_t off;
        if (edxbus__kafka_parse_position(c->pending_seek, &partition, &off))
            for (int i = 0; i < parts->cnt; i++)
                if (partition < 0 || parts->elems[i].partition == partition)
                    parts->elems[i].offset = off;
        free(c->pending_seek);
        c->pending_seek = NULL;
        edxbus__kafka_commit_positions(c, parts);
        return true;
    }
    return false;
}

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    struct kafka_consumer *c = opaque;
    char errstr[EDXBUS_ERRSTR_SIZE];
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        if (c->pending_time_ms < 0) /* a replay by time sets (and commits) every start */
            edxbus__kafka_decide_starts(c, parts);
        apply_pending(c, parts);
        rd_kafka_assign(rk, parts);
        if (c->pending_time_ms >= 0 && c->replay_err != EDXBUS_OK) {
            /* Hold the partitions: nothing is read until the replay position is known. */
            rd_kafka_pause_partitions(rk, parts);
            c->replay_paused = true;
        }
        c->assigned = true;
        edxbus_conf_log(c->conf, EDXBUS_LOG_INFO, "kafka: group %s assigned %d partition(s) of %s",
                        c->group, parts->cnt, c->topic);
        return;
    }
    /* Revoked (or an error): commit what was acknowledged, forget the rest. */
    edxbus__kafka_commit_pending(c, false, errstr, sizeof errstr);
    edxbus__kafka_parts_clear(c);
    free_batch(c);
    rd_kafka_assign(rk, NULL);
    c->assigned = false;
    c->replay_paused = false; /* the next assignment looks the time up again */
}

/* ------------------------------------------------------------------------------------------ */
/* Lifecycle */

edxbus_err_t edxbus__kafka_consumer_open(const edxbus_conf_t *conf,
                                         const struct edxbus_consumer_opts *opts, void **be,
                                         char *errstr, size_t errstr_size)
{
    *be = NULL;
    if (opts->topic == NULL || opts->topic[0] == '\0') {
        edxbus_errf(errstr, errstr_size, "kafka: a consumer needs a topic");
        return EDXBUS_ERR_INVALID_ARG;
    }
    struct kafka_consumer *c = calloc(1, sizeof *c);
    if (c == NULL || (c->conf = edxbus_conf_dup(conf)) == NULL ||
        (c->topic = strdup(opts->topic)) == NULL ||
        (opts->group != NULL && (c->group = strdup(opts->group)) == NULL)) {
        edxbus__kafka_consumer_close(c);
        edxbus_errf(errstr, errstr_size, "kafka: out of memory");
        return EDXBUS_ERR_NOMEM;
    }
    c->io_fd = -1;
    c->waker = edxbus_waker_new(errstr, errstr_size);
    if (c->waker == NULL) {
        edxbus__kafka_consumer_close(c);
        return EDXBUS_ERR_IO;
    }
    const char *service = edxbus_conf_service_name(conf);
    c->service_name = service ? strdup(service) : NULL;
    c->pending_time_ms = opts->start_time_ms >= 0 ? opts->start_time_ms : -1;
    c->audit = edxbus_conf_get_bool(conf, KAFKA_SETTING_AUDIT, true);
    rd_kafka_conf_t *rdconf = NULL;
    edxbus_err_t err = edxbus__kafka_registry(conf, &c->reg, errstr, errstr_size);
    if (err == EDXBUS_OK)
        err = edxbus__kafka_rdconf(conf, &rdconf, errstr, errstr_size);
    c->start_earliest = edxbus_start_kind(opts->start) == EDXBUS_START_EARLIEST;
    if (edxbus_start_kind(opts->start) == EDXBUS_START_POSITION) {
        int32_t partition;
        int64_t off;
        if (!edxbus__kafka_parse_position(opts->start, &partition, &off)) {
            edxbus_errf(errstr, errstr_size,
                        "kafka: start position \"%.80s\" is not earliest, latest or "
                        "partition:offset",
                        opts->start);
            err = EDXBUS_ERR_INVALID_ARG;
        } else if (c->group == NULL) {
            c->pending_seek = strdup(opts->start); /* a tail starts there */
        }
        /* A new group given a position starts at the end (the suite skips it on Kafka). */
    }
    const json_t *extra = edxbus_conf_get(conf, KAFKA_SETTING_CONFIG);
    if (err == EDXBUS_OK && c->group != NULL) {
        err = edxbus__kafka_rdconf_set(rdconf, "group.id", c->group, errstr, errstr_size);
    } else if (err == EDXBUS_OK) {
        /* A tail assigns its partitions and never joins or commits, but librdkafka's consumer
         * queue needs a group id; one of its own keeps it clear of real groups. */
        char tail_group[96];
        snprintf(tail_group, sizeof tail_group, "edxbus-tail-%ld-%p", (long)getpid(), (void *)c);
        err = edxbus__kafka_rdconf_set(rdconf, "group.id", tail_group, errstr, errstr_size);
    }
    if (err == EDXBUS_OK)
        err = edxbus__kafka_rdconf_set(rdconf, "enable.auto.commit", "false", errstr, errstr_size);
    /* A group's starts are decided at each assignment (kafka_offsets.c); librdkafka's reset
     * applies only to a committed offset that no longer exists (trimmed by retention), where
     * the oldest record loses the least. */
    if (err == EDXBUS_OK && json_object_get(extra, "auto.offset.reset") == NULL)
        err = edxbus__kafka_rdconf_set(rdconf, "auto.offset.reset",
                                       c->start_earliest || c->group != NULL ? "earliest"
                                                                             : "latest",
                                       errstr, errstr_size);
    if (err == EDXBUS_OK)
        err = edxbus__kafka_rdconf_set(rdconf, "enable.partition.eof", "false", errstr,
                                       errstr_size);
    if (err == EDXBUS_OK && opts->consumer_name != NULL && c->group != NULL &&
        json_object_get(extra, "client.id") == NULL)
        err = edxbus__kafka_rdconf_set(rdconf, "client.id", opts->consumer_name, errstr,
                                       errstr_size);
    if (err != EDXBUS_OK) {
        if (rdconf != NULL)
            rd_kafka_conf_destroy(rdconf);
        edxbus__kafka_consumer_close(c);
        return err;
    }
    rd_kafka_conf_set_opaque(rdconf, c);
    c->no_join = c->group != NULL && opts->no_join;
    if (c->group != NULL) {
        if (!c->no_join)
            rd_kafka_conf_set_rebalance_cb(rdconf, on_rebalance);
        rd_kafka_conf_set_offset_commit_cb(rdconf, edxbus__kafka_on_commit);
    }
    char why[256];
    c->rk = rd_kafka_new(RD_KAFKA_CONSUMER, rdconf, why, sizeof why);
    if (c->rk == NULL) {
        rd_kafka_conf_destroy(rdconf);
        edxbus_errf(errstr, errstr_size, "kafka: cannot make a consumer: %.200s", why);
        edxbus__kafka_consumer_close(c);
        return EDXBUS_ERR_CONF;
    }
    rd_kafka_poll_set_consumer(c->rk);
    c->queue = rd_kafka_queue_get_consumer(c->rk);
    c->io_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (c->queue == NULL || c->io_fd < 0) {
        edxbus_errf(errstr, errstr_size, "kafka: cannot watch the consumer queue: %s",
                    c->io_fd < 0 ? strerror(errno) : "no queue");
        edxbus__kafka_consumer_close(c);
        return EDXBUS_ERR_IO;
    }
    static const uint64_t one = 1; /* an eventfd takes 8-byte writes */
    rd_kafka_queue_io_event_enable(c->queue, c->io_fd, &one, sizeof one);
    if (c->group != NULL && !c->no_join) {
        rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(sub, c->topic, RD_KAFKA_PARTITION_UA);
        rd_kafka_resp_err_t rerr = rd_kafka_subscribe(c->rk, sub);
        rd_kafka_topic_partition_list_destroy(sub);
        if (rerr != RD_KAFKA_RESP_ERR_NO_ERROR) {
            edxbus_errf(errstr, errstr_size, "kafka: subscribing to %.100s: %s", c->topic,
                        rd_kafka_err2str(rerr));
            edxbus__kafka_consumer_close(c);
            return edxbus__kafka_err(rerr);
        }
    } else {
        rd_kafka_topic_partition_list_t *parts =
            edxbus__kafka_partitions(c->rk, c->topic, &err, errstr, errstr_size);
        if (parts == NULL) {
            edxbus__kafka_consumer_close(c);
            return err;
        }
        if (c->no_join) { /* the group's start rule, without joining */
            edxbus__kafka_decide_starts(c, parts);
        } else {
            for (int i = 0; i < parts->cnt; i++)
                parts->elems[i].offset =
                    c->start_earliest ? RD_KAFKA_OFFSET_BEGINNING : RD_KAFKA_OFFSET_END;
        }
        apply_pending(c, parts);
        if (c->pending_time_ms >= 0 && c->replay_err != EDXBUS_OK) {
            rd_kafka_topic_partition_list_destroy(parts);
            edxbus_errf(errstr, errstr_size, "%s", c->replay_why);
            err = c->replay_err;
            edxbus__kafka_consumer_close(c);
            return err;
        }
        err = edxbus__kafka_marks_init(c, parts, errstr, errstr_size);
        if (err != EDXBUS_OK) {
            rd_kafka_topic_partition_list_destroy(parts);
            edxbus__kafka_consumer_close(c);
            return err;
        }
        /* A tail from the end starts at the end noted now, not where its first fetch finds
         * the end: what is stored in between is read too. */
        for (int i = 0; i < parts->cnt && (size_t)i < c->nmarks; i++)
            if (parts->elems[i].offset == RD_KAFKA_OFFSET_END)
                parts->elems[i].offset = c->marks[i].next;
        rd_kafka_assign(c->rk, parts);
        rd_kafka_topic_partition_list_destroy(parts);
        c->assigned = true;
    }
    *be = c;
    return EDXBUS_OK;
}

void edxbus__kafka_consumer_close(void *be)
{
    struct kafka_consumer *c = be;
    if (c == NULL)
        return;
    if (c->rk != NULL) {
        char errstr[EDXBUS_ERRSTR_SIZE];
        edxbus__kafka_commit_pending(c, false, errstr, sizeof errstr);
        free_batch(c);
        if (c->queue != NULL) {
            rd_kafka_queue_io_event_enable(c->queue, -1, NULL, 0);
            rd_kafka_queue_destroy(c->queue);
        }
        rd_kafka_consumer_close(c->rk);
        rd_kafka_destroy(c->rk);
    }
    if (c->waker != NULL && c->io_fd >= 0) /* io_fd is set (-1) before the waker is made */
        close(c->io_fd);
    edxbus_waker_free(c->waker);
    edxbus__kafka_parts_clear(c);
    free(c->parts);
    free(c->part_at);
    edxbus_slots_fini(&c->batch);
    free(c->rkms);
    edxbus__kreg_free(c->reg);
    free(c->marks);
    free(c->pending_seek);
    free(c->service_name);
    free(c->topic);
    free(c->group);
    edxbus_conf_destroy(c->conf);
    free(c);
}

/* ------------------------------------------------------------------------------------------ */
/* Polling */

static bool reserve_batch(struct kafka_consumer *c, size_t n)
{
    if (n <= c->cap_batch)
        return true;
    rd_kafka_message_t **rkms = realloc(c->rkms, n * sizeof *rkms);
    if (rkms == NULL)
        return false;
    c->rkms = rkms;
    if (edxbus_slots_reserve(&c->batch, n) != EDXBUS_OK)
        return false;
    c->cap_batch = n;
    return true;
}

#define REGISTRY_BACKOFF_MIN_MS 500
#define REGISTRY_BACKOFF_MAX_MS 30000

/* The schema registered as @p id. EDXBUS_ERR_NOT_FOUND only when the registry said that id does
 * not exist; any other failure (unreachable, 5xx, 429, a timeout, an answer that makes no
 * sense) is the registry's trouble, not the record's: the caller keeps the record. The state
 * changes (failing, working again) are logged once each, and while failing the registry is
 * asked again only after a backoff. */
static edxbus_err_t fetch_schema(struct kafka_consumer *c, int64_t id, const char **schema,
                                 char *why, size_t why_size)
{
    *schema = NULL;
    int64_t now = edxbus_clock_mono_ms();
    if (c->registry_failing && now < c->registry_retry_ms) {
        snprintf(why, why_size, "%s", c->registry_why);
        return c->registry_err;
    }
    edxbus_err_t err = edxbus__kreg_schema_by_id(c->reg, (uint32_t)id, schema, why, why_size);
    if (err == EDXBUS_OK || err == EDXBUS_ERR_NOT_FOUND) {
        if (c->registry_failing)
            edxbus_conf_log(c->conf, EDXBUS_LOG_WARNING,
                            "kafka: consumer of %s: the schema registry answers again; "
                            "consuming the records kept meanwhile",
                            c->topic);
        c->registry_failing = false;
        c->registry_backoff_ms = 0;
        return err;
    }
    if (!c->registry_failing)
        edxbus_conf_log(c->conf, EDXBUS_LOG_WARNING,
                        "kafka: consumer of %s: %s; the records stay where they are and the "
                        "registry is asked again with a backoff",
                        c->topic, why);
    int backoff = c->registry_backoff_ms < REGISTRY_BACKOFF_MIN_MS ? REGISTRY_BACKOFF_MIN_MS
                                                                   : c->registry_backoff_ms;
    c->registry_failing = true;
    c->registry_err = err;
    snprintf(c->registry_why, sizeof c->registry_why, "%s", why);
    c->registry_retry_ms = now + backoff;
    c->registry_backoff_ms =
        backoff * 2 > REGISTRY_BACKOFF_MAX_MS ? REGISTRY_BACKOFF_MAX_MS : backoff * 2;
    return err;
}

/* Parse records [resolved, nbatch) and fetch their writer schemas. When the registry fails for
 * any reason but "no such schema id", the batch is kept and the error returned; the next poll()
 * resumes here. A record whose value schema id does not exist is unusable, and its value is its
 * bytes as stored (framing and id included), so a dead letter keeps them as they were. */
static edxbus_err_t resolve_batch(struct kafka_consumer *c, char *errstr, size_t errstr_size)
{
    for (; c->resolved < c->nbatch; c->resolved++) {
        size_t i = c->resolved;
        struct edxbus_msg *msg = &c->batch.msgs[i];
        const rd_kafka_message_t *rkm = c->rkms[i];
        int64_t ids[2];
        if (edxbus__kafka_wire_parse(rkm, c->service_name, msg, &c->batch.slots[i], &ids[0],
                                     &ids[1]) != EDXBUS_OK) {
            edxbus_errf(errstr, errstr_size, "kafka: out of memory");
            return EDXBUS_ERR_NOMEM;
        }
        for (int k = 0; k < 2; k++) { /* the key's schema, then the value's */
            if (ids[k] < 0)
                continue;
            const char *schema = NULL;
            char why[EDXBUS_ERRSTR_SIZE];
            edxbus_err_t err = fetch_schema(c, ids[k], &schema, why, sizeof why);
            if (err == EDXBUS_ERR_NOT_FOUND && k == 0) {
                continue; /* the key stays its body, unframed: not needed to deliver */
            } else if (err == EDXBUS_ERR_NOT_FOUND) {
                if (msg->unusable == NULL)
                    edxbus_slot_unusable(&c->batch.slots[i], msg,
                                         "kafka record %s of topic %.80s: writer schema: %.150s",
                                         msg->position, msg->topic, why);
                msg->value = rkm->payload;
                msg->value_len = rkm->len;
            } else if (err != EDXBUS_OK) {
                edxbus_errf(errstr, errstr_size, "%s (record %s of %.80s kept for the next poll)",
                            why, msg->position, c->topic);
                return err;
            } else if (k == 0) {
                msg->key_schema = schema;
            } else {
                msg->value_schema = schema;
            }
        }
        edxbus__kafka_marks_handed(c, rkm->partition, rkm->offset);
        if (c->group != NULL) {
            struct kafka_part *kp = edxbus__kafka_part_get(c, rkm->partition, true);
            if (kp == NULL || !edxbus__kafka_part_push(kp, rkm->offset)) {
                edxbus_errf(errstr, errstr_size, "kafka: out of memory");
                return EDXBUS_ERR_NOMEM;
            }
        }
        if (c->audit)
            edxbus_conf_log(c->conf, EDXBUS_LOG_INFO,
                            "kafka: received record %s of topic %s: event %s (%s)%s%s",
                            msg->position, msg->topic, c->batch.slots[i].md.id,
                            c->batch.slots[i].md.event_type, msg->unusable ? "; unusable: " : "",
                            msg->unusable ? msg->unusable : "");
    }
    return EDXBUS_OK;
}

static edxbus_err_t seek_parts(struct kafka_consumer *c, rd_kafka_topic_partition_list_t *parts,
                               char *errstr, size_t errstr_size);

/* Partitions held paused since their time lookup failed: look again; move them there and
 * resume, or fail with the reason. */
static edxbus_err_t retry_replay(struct kafka_consumer *c, char *errstr, size_t errstr_size)
{
    rd_kafka_topic_partition_list_t *parts = NULL;
    if (rd_kafka_assignment(c->rk, &parts) != RD_KAFKA_RESP_ERR_NO_ERROR || parts->cnt == 0) {
        if (parts != NULL)
            rd_kafka_topic_partition_list_destroy(parts);
        c->replay_paused = false; /* revoked meanwhile: the next assignment tries */
        return EDXBUS_OK;
    }
    edxbus_err_t err = EDXBUS_OK;
    if (!apply_pending(c, parts)) {
        edxbus_errf(errstr, errstr_size, "%s", c->replay_why);
        err = c->replay_err;
    } else {
        err = seek_parts(c, parts, errstr, errstr_size);
        if (err == EDXBUS_OK) {
            rd_kafka_resume_partitions(c->rk, parts);
            c->replay_paused = false;
            edxbus_conf_log(c->conf, EDXBUS_LOG_INFO,
                            "kafka: replay of %s: the offsets were found; consuming", c->topic);
        }
    }
    rd_kafka_topic_partition_list_destroy(parts);
    return err;
}

void edxbus__kafka_wake(void *be)
{
    edxbus_waker_wake(((struct kafka_consumer *)be)->waker);
}

edxbus_err_t edxbus__kafka_poll(void *be, struct edxbus_batch *out, size_t max, int timeout_ms,
                                char *errstr, size_t errstr_size)
{
    struct kafka_consumer *c = be;
    out->msgs = NULL;
    out->n = 0;
    if (max == 0)
        max = 1;
    if (c->replay_paused) {
        edxbus_err_t err = retry_replay(c, errstr, errstr_size);
        /* No consumer_poll() meanwhile: nothing may be read yet. Heartbeats go on from
         * librdkafka's own thread; past max.poll.interval.ms the member leaves the group and
         * its partitions go to others, which is right for a member that cannot consume. */
        if (err != EDXBUS_OK)
            return err;
    }
    /* A batch whose schemas could not all be fetched is handed out again, first. */
    if (c->nbatch > 0 && c->resolved < c->nbatch) {
        edxbus_err_t err = resolve_batch(c, errstr, errstr_size);
        if (err != EDXBUS_OK)
            return err;
        out->msgs = c->batch.msgs;
        out->n = c->nbatch;
        return EDXBUS_OK;
    }
    free_batch(c);
    edxbus__kafka_commit_pending(c, true, errstr, errstr_size);
    if (!reserve_batch(c, max)) {
        edxbus_errf(errstr, errstr_size, "kafka: out of memory");
        return EDXBUS_ERR_NOMEM;
    }
    int64_t deadline = edxbus_clock_mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    bool drained = false;
    while (c->nbatch < max) {
        rd_kafka_message_t *rkm = rd_kafka_consumer_poll(c->rk, 0);
        if (rkm == NULL) {
            /* Nothing queued: wait for librdkafka's write to io_fd (an item enqueued on the
             * empty queue) or a wake, up to the deadline. The descriptor is emptied before the
             * queue is looked at once more, so no write is missed in between. */
            int64_t left = timeout_ms < 0 ? -1 : deadline - edxbus_clock_mono_ms();
            if (c->nbatch > 0 || edxbus_waker_woken(c->waker) || (timeout_ms >= 0 && left <= 0))
                break;
            if (!drained) {
                uint64_t count;
                while (read(c->io_fd, &count, sizeof count) > 0)
                    ;
                drained = true;
                continue;
            }
            if (edxbus_waker_wait(c->waker, c->io_fd, (int)(left > INT32_MAX ? INT32_MAX : left)) ==
                EDXBUS_WAIT_WOKEN)
                break;
            drained = false;
            continue;
        }
        if (rkm->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            rd_kafka_resp_err_t rerr = rkm->err;
            char what[200];
            snprintf(what, sizeof what, "%s", rd_kafka_message_errstr(rkm));
            rd_kafka_message_destroy(rkm);
            if (rerr == RD_KAFKA_RESP_ERR__PARTITION_EOF)
                continue;
            if (rerr == RD_KAFKA_RESP_ERR__FATAL) {
                char fatal[256];
                rd_kafka_fatal_error(c->rk, fatal, sizeof fatal);
                edxbus_errf(errstr, errstr_size, "kafka: fatal consumer error: %.200s", fatal);
                return EDXBUS_ERR_FATAL;
            }
            edxbus_conf_log(c->conf, EDXBUS_LOG_WARNING, "kafka: consumer of %s: %s", c->topic,
                            what);
            if (c->nbatch > 0)
                break;
            edxbus_errf(errstr, errstr_size, "kafka: consumer of %.100s: %.140s", c->topic, what);
            return edxbus__kafka_err(rerr);
        }
        c->rkms[c->nbatch++] = rkm;
    }
    edxbus_err_t err = resolve_batch(c, errstr, errstr_size);
    if (err != EDXBUS_OK)
        return err;
    out->msgs = c->batch.msgs;
    out->n = c->nbatch;
    return EDXBUS_OK;
}

/* Move the current assignment (or the next one) to @p parts' offsets. */
static edxbus_err_t seek_parts(struct kafka_consumer *c, rd_kafka_topic_partition_list_t *parts,
                               char *errstr, size_t errstr_size)
{
    rd_kafka_error_t *error = rd_kafka_seek_partitions(c->rk, parts, KAFKA_META_TIMEOUT_MS);
    if (error != NULL) {
        edxbus_errf(errstr, errstr_size, "kafka: seeking %.100s: %.140s", c->topic,
                    rd_kafka_error_string(error));
        edxbus_err_t err = edxbus__kafka_err(rd_kafka_error_code(error));
        rd_kafka_error_destroy(error);
        return err;
    }
    for (int i = 0; i < parts->cnt; i++)
        if (parts->elems[i].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            edxbus_errf(errstr, errstr_size, "kafka: seeking %.100s partition %" PRId32 ": %s",
                        c->topic, parts->elems[i].partition, rd_kafka_err2str(parts->elems[i].err));
            return edxbus__kafka_err(parts->elems[i].err);
        }
    edxbus__kafka_commit_positions(c, parts);
    /* Forget the batch and the acks of the old position. */
    free_batch(c);
    edxbus__kafka_parts_clear(c);
    return EDXBUS_OK;
}
