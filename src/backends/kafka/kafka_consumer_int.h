/* src/backends/kafka/kafka_consumer_int.h — the consumer's state, shared by its two files:
 *   kafka_consumer.c  open/close, polling, replay by time, tail mode
 *   kafka_offsets.c   where a group starts, ack tracking, commits and their retries
 * Private to src/backends/kafka/.
 */
#ifndef EDXBUS_KAFKA_CONSUMER_INT_H
#define EDXBUS_KAFKA_CONSUMER_INT_H

#include "kafka_int.h"

/* The offsets of one partition handed out and not yet committed, in order. */
struct kafka_part {
    int32_t partition;
    int64_t *offs;
    bool *acked;
    size_t head, n, cap; /* live entries are [head, n) */
    int64_t commit_to;   /* next offset to commit (last acked prefix + 1); -1: none */
    int64_t committed;   /* what the broker confirmed last; -1: nothing yet */
    int64_t inflight;    /* sent in an asynchronous commit, no result yet; -1: none */
};

struct kafka_consumer {
    edxbus_conf_t *conf; /* first: the log callback reads it through the opaque */
    rd_kafka_t *rk;
    kreg_t *reg;
    char *topic;
    char *group;         /* NULL: tail mode */
    bool no_join;        /* a group read by assignment, never joined (opts->no_join) */
    char *service_name;
    bool start_earliest;     /* where a NEW group starts: the oldest record (else the end) */
    int64_t pending_time_ms; /* move there at the next assignment; -1: none */
    char *pending_seek;      /* seek there at the next assignment; NULL: none */
    bool assigned;
    bool replay_paused;      /* the time lookup failed: assigned, paused */
    edxbus_err_t replay_err; /* why (EDXBUS_OK: no failed lookup) */
    char replay_why[2 * EDXBUS_ERRSTR_SIZE]; /* the line poll() fails with meanwhile */
    /* the current batch */
    rd_kafka_message_t **rkms;   /* cap_batch of them; batch.msgs[i] reads rkms[i] */
    struct edxbus_slots batch;
    size_t nbatch, cap_batch, resolved;
    /* ack tracking and commits */
    struct kafka_part *parts;
    size_t nparts, cap_parts;
    /* partition -> 1 + its index in parts (0: not tracked), for partitions below npart_at:
     * a lookup per record handed out and per ack, which a scan of 100 partitions made dear */
    size_t *part_at;
    size_t npart_at;
    bool commit_failing;      /* the last commit failed (logged once, until one succeeds) */
    int64_t commit_retry_ms;  /* monotonic time before which no asynchronous retry is sent */
    int commit_backoff_ms;    /* the wait after the next failure (doubles, capped) */
    /* the registry */
    bool registry_failing;    /* the last schema fetch failed, not for "no such id" */
    int64_t registry_retry_ms; /* monotonic time before which the registry is not asked */
    int registry_backoff_ms;   /* the wait after the next failure (doubles, capped) */
    edxbus_err_t registry_err; /* the failure meanwhile */
    char registry_why[EDXBUS_ERRSTR_SIZE];
    /* where a tail or no-join reader is: per partition, the next offset to hand out and the
     * end offset when it opened (caught_up()); NULL for a joined member */
    struct kafka_mark *marks;
    size_t nmarks;
    bool audit;
    /* waking a poll: librdkafka writes to io_fd when the consumer queue gets an item, so poll()
     * waits on it and on the waker together instead of inside rd_kafka_consumer_poll() */
    rd_kafka_queue_t *queue; /* the consumer queue (a reference of ours) */
    int io_fd;               /* eventfd librdkafka writes to; -1 before open */
    edxbus_waker_t *waker;   /* wake(): poll() returns at once, now and later */
};

struct kafka_mark {
    int32_t partition;
    int64_t next, end;
};

/* kafka_offsets.c */

/** Parse "earliest"/"beginning", "latest"/"end" (@p partition -1, logical offsets) or
 *  "partition:offset". Returns false for anything else. */
bool edxbus__kafka_parse_position(const char *position, int32_t *partition, int64_t *off);
/** The tracking of @p partition; @p create: add it when missing. NULL: none (or no memory). */
struct kafka_part *edxbus__kafka_part_get(struct kafka_consumer *c, int32_t partition,
                                          bool create);
/** Remember that @p offset was handed out (false: no memory). */
bool edxbus__kafka_part_push(struct kafka_part *kp, int64_t offset);
/** Forget every partition's tracking (revoked, or moved by a seek). */
void edxbus__kafka_parts_clear(struct kafka_consumer *c);
/** Commit every partition's acknowledged prefix the broker has not confirmed yet.
 *  Asynchronous (@p async): sent from poll() unless a failed commit's backoff is running; the
 *  result arrives through edxbus__kafka_on_commit. Synchronous (revocation, close): tried up
 *  to three times. A partition stays to be committed until the broker confirmed it. */
edxbus_err_t edxbus__kafka_commit_pending(struct kafka_consumer *c, bool async, char *errstr,
                                          size_t errstr_size);
/** librdkafka's offset_commit_cb: records what was confirmed, logs a change of state. */
void edxbus__kafka_on_commit(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                             rd_kafka_topic_partition_list_t *offsets, void *opaque);
/** Commit the absolute offsets of @p parts for the group, synchronously (a replay, a seek, a
 *  new group's start). */
void edxbus__kafka_commit_positions(struct kafka_consumer *c,
                                    rd_kafka_topic_partition_list_t *parts);
/** Set where each partition of @p parts (just assigned) starts, by the bus rule: the group
 *  exists when it has a committed offset on any partition of the topic; then a partition
 *  without one starts at its oldest record. A new group starts where `start` says, and that
 *  start is committed at once, so the group exists from its first assignment on. */
void edxbus__kafka_decide_starts(struct kafka_consumer *c,
                                 rd_kafka_topic_partition_list_t *parts);

/** Note, for each partition of @p parts (offsets as they will be assigned: absolute, logical,
 *  or INVALID for the committed one), where reading starts and where the partition ends now.
 *  Errors: the broker's, when the offsets cannot be looked up. */
edxbus_err_t edxbus__kafka_marks_init(struct kafka_consumer *c,
                                      const rd_kafka_topic_partition_list_t *parts, char *errstr,
                                      size_t errstr_size);
/** A record at @p offset of @p partition was handed out. */
void edxbus__kafka_marks_handed(struct kafka_consumer *c, int32_t partition, int64_t offset);

#endif /* EDXBUS_KAFKA_CONSUMER_INT_H */
