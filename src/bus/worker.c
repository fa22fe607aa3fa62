/* src/bus/worker.c — the worker loop: poll -> decode -> re-emit -> ack, and the error policy.
 *
 * One message at a time, in batch order:
 *   1. audit line (topic, position, event id, event time) unless turned off;
 *   2. read it: an unusable envelope, an unknown event type or a value that does not decode
 *      (under the catalog's schema, or resolved from the writer's schema when the broker named
 *      one) is a failure with no retry: retrying cannot fix bytes. Bytes under the catalog's
 *      schema are only checked (edxbus_event_validate()); the tree is decoded when a receiver
 *      first asks for it, so a receiver that reads the bytes or text costs no tree;
 *   3. re-emit through the signal with the original metadata, marked from the bus. Receivers
 *      that fail are tried again, alone (those that succeeded are not called twice), up to
 *      `tries` in all, with a doubling backoff;
 *   4. a failure goes to the dead-letter topic (dlq.c) or, with dead letters off, to one error
 *      line carrying everything needed to replay it (the reference behaviour);
 *   5. ack, once the whole batch was handled and the before-ack call (a receiver that buffers
 *      makes its effects durable there) succeeded. Only now: a process that dies before this
 *      line gets the message again.
 * With EVENT_BUS_CONSUMER_DEDUP (dedup.c), an event whose id the group already finished with is
 * acknowledged without running receivers, and a handled (or dead-lettered) event's id is
 * committed to the group's id file just before step 5, so a redelivery after a crash between
 * the two is skipped.
 * A dead letter that cannot be stored is NOT acked (no message is silently dropped); the loop
 * moves on and the broker redelivers it later.
 *
 * A stop (the flag or edxbus_consumer_stop()) is read between messages and ends backoff waits
 * (the consumer's waker ends them at once; the flag within 100 ms). Stopping in the middle of
 * retries leaves that message unacknowledged, so it is delivered again: never lost.
 */
#include "conf_int.h"
#include "consumer_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Outcome of one message. */
enum handled { HANDLED_OK, HANDLED_FAILED, HANDLED_NOT_ACKED, HANDLED_STOPPED };

static bool stopping(const edxbus_consumer_t *cons)
{
    return edxbus__consumer_stopping(cons);
}

/* The reader for a writer schema the broker named, cached by schema text. A writer schema
 * with the reader's Parsing Canonical Form writes the same bytes the catalog's schema does:
 * such an entry is marked identity and the message is decoded directly, its body kept as the
 * event's value (the common case: producers on the same openedx-events version). */
static const struct edxbus__resolver_entry *resolver_for(edxbus_consumer_t *cons,
                                                         const edxbus_event_type_t *et,
                                                         const char *text, char *errstr,
                                                         size_t errstr_size)
{
    for (size_t i = 0; i < cons->nresolvers; i++) {
        const struct edxbus__resolver_entry *e = &cons->resolvers[i];
        if (e->et == et && strcmp(e->text, text) == 0)
            return e;
    }
    if (cons->nresolvers == cons->capresolvers) {
        size_t cap = cons->capresolvers ? cons->capresolvers * 2 : 4;
        struct edxbus__resolver_entry *r = realloc(cons->resolvers, cap * sizeof *r);
        if (r == NULL) {
            edxbus__errf(errstr, errstr_size, "out of memory");
            return NULL;
        }
        cons->resolvers = r;
        cons->capresolvers = cap;
    }
    const edxbus_avro_schema_t *reader = edxbus_event_type_schema(et);
    if (reader == NULL) {
        const char *why = edxbus_event_type_unserializable_reason(et);
        edxbus__errf(errstr, errstr_size, "%s has no schema: %s", edxbus_event_type_name(et),
                     why != NULL ? why : "it cannot be serialized");
        return NULL;
    }
    char err[EDXBUS_ERRSTR_SIZE];
    edxbus_avro_schema_t *writer = edxbus_avro_schema_parse(text, strlen(text), err, sizeof err);
    if (writer == NULL) {
        edxbus__errf(errstr, errstr_size, "writer schema: %s", err);
        return NULL;
    }
    bool identity =
        edxbus_avro_schema_fingerprint(writer) == edxbus_avro_schema_fingerprint(reader);
    edxbus_avro_resolver_t *res =
        identity ? NULL : edxbus_avro_resolver_new(writer, reader, err, sizeof err);
    char *copy = strdup(text);
    if ((res == NULL && !identity) || copy == NULL) {
        edxbus__errf(errstr, errstr_size, "writer schema does not resolve to %s: %s",
                     edxbus_event_type_name(et), copy == NULL ? "out of memory" : err);
        edxbus_avro_resolver_destroy(res);
        edxbus_avro_schema_destroy(writer);
        free(copy);
        return NULL;
    }
    cons->resolvers[cons->nresolvers] = (struct edxbus__resolver_entry){
        .text = copy, .et = et, .writer = writer, .res = res, .identity = identity};
    return &cons->resolvers[cons->nresolvers++];
}

/* Grow the per-receiver arrays to @p n. */
static bool ensure_receiver_arrays(edxbus_consumer_t *cons, size_t n)
{
    if (n > cons->capdone) {
        bool *d = realloc(cons->done, n * sizeof *d);
        if (d == NULL)
            return false;
        cons->done = d;
        cons->capdone = n;
    }
    if (n > cons->capresults) {
        struct edxbus_receiver_result *r = realloc(cons->results, n * sizeof *r);
        if (r == NULL)
            return false;
        cons->results = r;
        cons->capresults = n;
    }
    return true;
}

/* One info line per message: made only when the log takes info lines (the default sink and the
 * command without -v drop them, and then the line costs nothing; asked once per batch). */
static void audit(const edxbus_consumer_t *cons, const struct edxbus_msg *msg)
{
    if (!cons->audit_batch)
        return;
    const struct edxbus_metadata *md = msg->metadata;
    char t[EDXBUS_METADATA_TIME_TEXT_MAX]; /* on the stack: no allocation per line */
    t[0] = '\0';
    if (md != NULL && edxbus_metadata_format_time(md->time_us, t, sizeof t) != EDXBUS_OK)
        t[0] = '\0';
    const struct edxbus__log_field f[] = {
        {"topic", msg->topic, false},
        {"position", msg->position, false},
        {"event_id", md != NULL ? md->id : "-", false},
        {"event_time", t, false},
        {"group", cons->group, true},
        {"event_type", md != NULL ? md->event_type : NULL, true},
    };
    edxbus__conf_log_fields(cons->conf, EDXBUS_LOG_INFO, f, sizeof f / sizeof f[0],
                            "event bus: message received");
}

/* Reference behaviour: one line with everything needed to replay the event by hand. */
static void log_for_replay(const edxbus_consumer_t *cons, const struct edxbus_msg *msg,
                           const json_t *data, unsigned attempts, const char *why)
{
    struct edxbus_buf d = EDXBUS_BUF_INIT;
    if (data != NULL) {
        edxbus_json_write(data, EDXBUS_JSON_ASCII, &d);
    } else {
        edxbus_buf_puts(&d, "(undecodable, hex) ");
        for (size_t i = 0; i < msg->value_len && i < 4096; i++)
            edxbus_buf_printf(&d, "%02x", msg->value[i]);
    }
    edxbus_buf_terminate(&d);
    const struct edxbus_metadata *md = msg->metadata;
    edxbus_conf_log(cons->conf, EDXBUS_LOG_ERROR,
                    "event bus: event not processed after %u attempt(s), acknowledged without "
                    "dead letter: topic=%s group=%s position=%s event_id=%s event_type=%s "
                    "error=%s data=%s",
                    attempts, msg->topic, cons->group, msg->position, md ? md->id : "-",
                    md ? md->event_type : "-", why, d.data ? (const char *)d.data : "");
    edxbus_buf_fini(&d);
}

#define MSG_FIELDS 5

/* The JSON log fields naming @p msg: topic, group, position, event id and type. */
static void msg_fields(struct edxbus__log_field f[MSG_FIELDS], const edxbus_consumer_t *cons,
                       const struct edxbus_msg *msg)
{
    const struct edxbus_metadata *md = msg->metadata;
    f[0] = (struct edxbus__log_field){"topic", msg->topic, true};
    f[1] = (struct edxbus__log_field){"group", cons->group, true};
    f[2] = (struct edxbus__log_field){"position", msg->position, true};
    f[3] = (struct edxbus__log_field){"event_id", md ? md->id : NULL, true};
    f[4] = (struct edxbus__log_field){"event_type", md ? md->event_type : NULL, true};
}

/* A failed message: dead-letter it (or log it), count it. Returns whether it may be acked. */
static bool fail(edxbus_consumer_t *cons, const struct edxbus_msg *msg, const json_t *data,
                 unsigned attempts, const char *why)
{
    cons->consecutive_errors++;
    cons->streak++;
    if (!cons->dlq_enabled) {
        log_for_replay(cons, msg, data, attempts, why);
        cons->stats.logged++;
        return true;
    }
    char errstr[EDXBUS_ERRSTR_SIZE] = "";
    edxbus_err_t err = EDXBUS_OK;
    if (cons->dlq_be == NULL) {
        if (cons->ops->producer_open == NULL || cons->ops->produce == NULL) {
            err = EDXBUS_ERR_UNSUPPORTED;
            snprintf(errstr, sizeof errstr, "backend %s cannot produce dead letters",
                     cons->ops->name);
        } else {
            err = cons->ops->producer_open(cons->conf, &cons->dlq_be, errstr, sizeof errstr);
        }
    }
    if (err == EDXBUS_OK)
        err = edxbus__dlq_send(cons->ops, cons->dlq_be, msg, cons->group, attempts, why, errstr,
                               sizeof errstr);
    if (err != EDXBUS_OK) {
        edxbus_conf_log(cons->conf, EDXBUS_LOG_ERROR,
                        "event bus: dead letter for %s position %s could not be stored (%s); "
                        "not acknowledged, it will be delivered again. Original error: %s",
                        msg->topic, msg->position, errstr, why);
        return false;
    }
    const struct edxbus_metadata *md = msg->metadata;
    struct edxbus__log_field f[MSG_FIELDS];
    msg_fields(f, cons, msg);
    edxbus__conf_log_fields(cons->conf, EDXBUS_LOG_WARNING, f, MSG_FIELDS,
                            "event bus: dead-lettered %s position %s event_id=%s to %s-dlq after "
                            "%u attempt(s): %s",
                            msg->topic, msg->position, md ? md->id : "-", msg->topic, attempts,
                            why);
    cons->stats.dead_lettered++;
    return true;
}

static int64_t backoff_for(const edxbus_consumer_t *cons, unsigned attempt)
{
    int64_t ms = cons->backoff_ms;
    for (unsigned i = 1; i < attempt && ms < 30000; i++)
        ms *= 2;
    return ms > 30000 ? 30000 : ms;
}

static void retry_line(edxbus_consumer_t *cons, const struct edxbus_msg *msg, unsigned attempt,
                       const char *why, int64_t wait)
{
    const struct edxbus_metadata *md = msg->metadata;
    struct edxbus__log_field f[MSG_FIELDS];
    msg_fields(f, cons, msg);
    edxbus__conf_log_fields(cons->conf, EDXBUS_LOG_WARNING, f, MSG_FIELDS,
                            "event bus: %s position %s event_id=%s attempt %u of %u failed "
                            "(%s); retrying in %lld ms",
                            msg->topic, msg->position, md ? md->id : "-", attempt, cons->tries, why,
                            (long long)wait);
}

/* The metrics counters of @p msg's event type (for a receiver's late outcome); NULL when
 * metrics are off or the type is unknown. */
static struct edxbus__mcons *late_metrics(edxbus_consumer_t *cons, const struct edxbus_msg *msg)
{
    edxbus_signal_t *sig = cons->metrics != NULL && msg->metadata != NULL
                               ? edxbus_bus_signal(cons->bus, msg->metadata->event_type)
                               : NULL;
    return sig != NULL ? edxbus__metrics_cons(cons->metrics, edxbus_signal_event_type(sig), "")
                       : NULL;
}

bool edxbus__consumer_retry_wait(edxbus_consumer_t *cons, const struct edxbus_msg *msg,
                                 unsigned attempt, const char *why)
{
    cons->stats.retries++;
    struct edxbus__mcons *m = late_metrics(cons, msg);
    if (m != NULL)
        edxbus__mc_add(&m->retried, 1);
    int64_t wait = backoff_for(cons, attempt);
    retry_line(cons, msg, attempt, why, wait);
    return edxbus__consumer_sleep(cons, wait);
}

bool edxbus__consumer_failed_late(edxbus_consumer_t *cons, const struct edxbus_msg *msg,
                                  unsigned attempts, const char *why)
{
    if (cons->stats.delivered > 0)
        cons->stats.delivered--; /* counted when the receiver returned */
    uint64_t dead = cons->stats.dead_lettered;
    bool ackable = fail(cons, msg, NULL, attempts, why);
    struct edxbus__mcons *m = late_metrics(cons, msg);
    if (m != NULL) { /* counted as consumed when the receiver returned */
        edxbus__mc_add(&m->failed, 1);
        edxbus__mc_add(&m->dead_lettered, cons->stats.dead_lettered - dead);
    }
    return ackable;
}

/* Decode, re-emit with retries, apply the error policy. Does not ack. */
static enum handled handle(edxbus_consumer_t *cons, const struct edxbus_msg *msg)
{
    char errstr[EDXBUS_ERRSTR_SIZE];
    errstr[0] = '\0';
    char why[EDXBUS_ERRSTR_SIZE + 64];
    audit(cons, msg);
    if (msg->unusable != NULL || msg->metadata == NULL) {
        snprintf(why, sizeof why, "unusable message: %s",
                 msg->unusable != NULL ? msg->unusable : "no metadata");
        return fail(cons, msg, NULL, 0, why) ? HANDLED_FAILED : HANDLED_NOT_ACKED;
    }
    const struct edxbus_metadata *md = msg->metadata;
    edxbus_signal_t *sig = cons->last_sig;
    if (sig == NULL || strcmp(md->event_type, cons->last_type) != 0) {
        sig = edxbus_bus_signal(cons->bus, md->event_type);
        cons->last_sig = sig;
        if (sig != NULL)
            snprintf(cons->last_type, sizeof cons->last_type, "%s", md->event_type);
    }
    if (sig == NULL) {
        snprintf(why, sizeof why, "unknown event type \"%.200s\"", md->event_type);
        return fail(cons, msg, NULL, 0, why) ? HANDLED_FAILED : HANDLED_NOT_ACKED;
    }
    const edxbus_event_type_t *et = edxbus_signal_event_type(sig);
    cons->m_et = et;
    struct edxbus_event ev = {.et = et, .md = md, .from_bus = true, .msg = msg};
    edxbus_err_t err;
    const struct edxbus__resolver_entry *re =
        msg->value_schema != NULL ? resolver_for(cons, et, msg->value_schema, errstr, sizeof errstr)
                                  : NULL;
    if (msg->value_schema != NULL && re == NULL) {
        err = EDXBUS_ERR_DECODE;
    } else if (re != NULL && !re->identity) {
        err = edxbus_avro_resolver_decode(re->res, msg->value, msg->value_len, &ev.data_owned,
                                          errstr, sizeof errstr);
        ev.data = ev.data_owned;
    } else {
        /* Checked now, decoded only when a receiver asks (edxbus_event_get_data()): --print
         * writes text from the bytes, typed receivers decode into structs, a bridge forwards
         * the bytes; none of them needs the tree. */
        err = edxbus_event_validate(et, msg->value, msg->value_len, errstr, sizeof errstr);
        ev.value = msg->value != NULL ? msg->value : (const uint8_t *)"";
        ev.value_len = msg->value_len;
    }
    if (err != EDXBUS_OK) {
        snprintf(why, sizeof why, "undecodable value: %s", errstr);
        edxbus__event_fini(&ev);
        return fail(cons, msg, NULL, 0, why) ? HANDLED_FAILED : HANDLED_NOT_ACKED;
    }

    size_t nrecv = edxbus_signal_receiver_count(sig);
    if (!ensure_receiver_arrays(cons, nrecv ? nrecv : 1)) {
        edxbus__event_fini(&ev);
        return HANDLED_NOT_ACKED;
    }
    memset(cons->done, 0, nrecv * sizeof *cons->done);
    struct edxbus_send_report report; /* not `= {...}`: 1.6 kB of metadata to clear per event;
                                         the dispatch sets every other field it reads */
    report.results = cons->results;
    report.cap = nrecv;
    enum handled out = HANDLED_OK;
    for (unsigned attempt = 1;; attempt++) {
        ev.attempt = attempt;
        err = edxbus__signal_dispatch(sig, &ev, 0, cons->done, &report, errstr, sizeof errstr);
        if (err == EDXBUS_OK || report.disabled)
            break;
        if (attempt >= cons->tries) {
            out = fail(cons, msg, cons->dlq_enabled ? NULL : edxbus_event_get_data(&ev), attempt,
                       errstr)
                      ? HANDLED_FAILED
                      : HANDLED_NOT_ACKED;
            break;
        }
        cons->stats.retries++;
        int64_t wait = backoff_for(cons, attempt);
        retry_line(cons, msg, attempt, errstr, wait);
        if (!edxbus__consumer_sleep(cons, wait)) {
            edxbus_conf_log(cons->conf, EDXBUS_LOG_WARNING,
                            "event bus: stopping during retries of %s position %s; left "
                            "unacknowledged, it will be delivered again",
                            msg->topic, msg->position);
            out = HANDLED_STOPPED;
            break;
        }
    }
    if (out == HANDLED_OK) {
        cons->consecutive_errors = 0;
        cons->streak = 0;
        cons->stats.delivered++;
    }
    edxbus__event_fini(&ev);
    return out;
}

/* CLOCK_REALTIME minus edxbus__mono_ns() now, in nanoseconds: read once per batch, so that an
 * event's wall time is its monotonic time plus this (a clock read is ~40 ns here, as much as
 * the rest of the counting; a wall clock step shows from the next batch on). */
static int64_t wall_minus_mono_ns(void)
{
    struct timespec ts;
    uint64_t mono = edxbus__mono_ns();
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec - (int64_t)mono;
}

/* Metrics of one handled message (not for duplicates, which ran nothing): the counters of its
 * (topic, group, type), handling time from @p t0 and latency from the event's own time (the
 * wall clock is the monotonic one plus @p wall_off, wall_minus_mono_ns()). Returns the
 * monotonic time it read, which is also when the next event's handling starts. */
static uint64_t count(edxbus_consumer_t *cons, const struct edxbus_msg *msg, enum handled h,
                      uint64_t t0, int64_t wall_off, uint64_t retries, uint64_t dead)
{
    uint64_t t1 = edxbus__mono_ns();
    struct edxbus__mcons *m = edxbus__metrics_cons(cons->metrics, cons->m_et, "");
    edxbus__metrics_heartbeat_at(cons->metrics, t1);
    if (m == NULL)
        return t1;
    edxbus__mc_add(&m->consumed, 1);
    if (h == HANDLED_FAILED || h == HANDLED_NOT_ACKED)
        edxbus__mc_add(&m->failed, 1);
    if (retries > 0)
        edxbus__mc_add(&m->retried, retries);
    if (dead > 0)
        edxbus__mc_add(&m->dead_lettered, dead);
    edxbus__hist_observe(&m->handle, t1 - t0);
    int64_t now_us = ((int64_t)t1 + wall_off) / 1000;
    if (msg->metadata != NULL && msg->metadata->time_us > 0) {
        int64_t lat_us = now_us - msg->metadata->time_us;
        edxbus__hist_observe(&m->latency, lat_us > 0 ? (uint64_t)lat_us * 1000u : 0);
    }
    edxbus__metrics_last_event(cons->metrics, now_us / 1000); /* the streak: at the next poll */
    return t1;
}

/* With dedup: whether @p msg's event id was already handled by the group (then it is only
 * acknowledged). A failed lookup runs the receivers: at least once still holds. */
static bool already_handled(edxbus_consumer_t *cons, const struct edxbus_msg *msg)
{
    if (cons->dedup == NULL || msg->unusable != NULL || msg->metadata == NULL)
        return false;
    bool seen = false;
    char err[EDXBUS_ERRSTR_SIZE];
    if (edxbus__dedup_seen(cons->dedup, cons->topic, msg->metadata->id, &seen, err, sizeof err) !=
        EDXBUS_OK) {
        edxbus_conf_log(cons->conf, EDXBUS_LOG_ERROR, "event bus: %s", err);
        return false;
    }
    if (seen) {
        cons->stats.duplicates++;
        edxbus_conf_log(cons->conf, EDXBUS_LOG_INFO,
                        "event bus: %s position %s event_id=%s was already handled by group %s; "
                        "acknowledged without running receivers",
                        msg->topic, msg->position, msg->metadata->id, cons->group);
    }
    return seen;
}

/* With dedup: commit that @p msg's event is done, before its ack. */
static void remember(edxbus_consumer_t *cons, const struct edxbus_msg *msg)
{
    if (cons->dedup == NULL || msg->metadata == NULL)
        return;
    char err[EDXBUS_ERRSTR_SIZE];
    if (edxbus__dedup_record(cons->dedup, cons->topic, msg->metadata->id, err, sizeof err) !=
        EDXBUS_OK)
        edxbus_conf_log(cons->conf, EDXBUS_LOG_ERROR,
                        "event bus: %s; event_id=%s may be handled again if it is redelivered", err,
                        msg->metadata->id);
}

void edxbus_consumer_set_before_ack(edxbus_consumer_t *cons, edxbus_before_ack_fn fn, void *opaque)
{
    cons->before_ack = fn;
    cons->before_ack_opaque = opaque;
}

static bool errors_limit_reached(const edxbus_consumer_t *cons, char *errstr, size_t errstr_size)
{
    if (cons->errors_limit <= 0 || cons->consecutive_errors < cons->errors_limit)
        return false;
    edxbus__errf(errstr, errstr_size, "%lld consecutive errors on %s (limit %lld); stopping",
                 (long long)cons->consecutive_errors, cons->topic, (long long)cons->errors_limit);
    return true;
}

/* Acknowledge the messages of @p batch marked in cons->ackable (n of them handled); *@p handled
 * counts them. */
static void ack_batch(edxbus_consumer_t *cons, const struct edxbus_batch *batch, size_t n,
                      size_t *handled)
{
    for (size_t i = 0; i < n; i++) {
        if (!cons->ackable[i])
            continue;
        const struct edxbus_msg *msg = &batch->msgs[i];
        char aerr[EDXBUS_ERRSTR_SIZE];
        aerr[0] = '\0';
        if (cons->ops->ack(cons->be, msg, aerr, sizeof aerr) != EDXBUS_OK) {
            /* Not acked: it will come again. Count it as an error of the loop. */
            cons->consecutive_errors++;
            cons->streak++;
            edxbus_conf_log(cons->conf, EDXBUS_LOG_ERROR, "event bus: ack %s position %s: %s",
                            msg->topic, msg->position, aerr);
            continue;
        }
        cons->stats.events++;
        if (handled != NULL)
            (*handled)++;
    }
}

edxbus_err_t edxbus_consumer_poll_once(edxbus_consumer_t *cons, int timeout_ms, size_t *handled,
                                       char *errstr, size_t errstr_size)
{
    if (handled != NULL)
        *handled = 0;
    if (cons->be == NULL || stopping(cons))
        return EDXBUS_OK; /* disabled by the kill switch, or stopped */
    size_t max = cons->batch_max;
    if (cons->max_events > 0) {
        uint64_t left = cons->max_events - cons->stats.events;
        if (left < max)
            max = (size_t)left;
        if (max == 0)
            return EDXBUS_OK;
    }
    struct edxbus_batch batch = {0};
    char perr[EDXBUS_ERRSTR_SIZE] = "";
    edxbus_err_t err = cons->ops->poll(cons->be, &batch, max, timeout_ms, perr, sizeof perr);
    if (cons->metrics != NULL)
        edxbus__metrics_heartbeat(cons->metrics);
    if (err != EDXBUS_OK) {
        cons->stats.poll_errors++;
        cons->consecutive_errors++;
        cons->streak++;
        cons->last_poll_failed = true;
        if (cons->metrics != NULL)
            edxbus__metrics_worker_state(cons->metrics, false, true, cons->streak);
        edxbus__errf(errstr, errstr_size, "poll %s: %s", cons->topic,
                     perr[0] ? perr : edxbus_err2str(err));
        return err;
    }
    if (cons->last_poll_failed) /* the broker answers again: that streak is over */
        cons->streak = 0;
    cons->last_poll_failed = false;
    if (cons->metrics != NULL)
        edxbus__metrics_worker_state(cons->metrics, true, true, cons->streak);
    if (batch.n > cons->capackable) {
        bool *a = realloc(cons->ackable, batch.n * sizeof *a);
        if (a == NULL) {
            edxbus__errf(errstr, errstr_size, "out of memory");
            return EDXBUS_ERR_NOMEM;
        }
        cons->ackable = a;
        cons->capackable = batch.n;
    }
    /* Handle the batch, then (after the before-ack call) acknowledge what was handled: acks
     * reach the broker per batch anyway (every backend sends them together), and a receiver
     * that buffers gets one point where everything it acknowledges is done. */
    size_t n = 0;
    bool limit = false;
    cons->audit_batch = cons->audit && edxbus_conf_is_logged(cons->conf, EDXBUS_LOG_INFO);
    /* Counting reads the clock once per event: an event's handling starts when the previous
     * one's was counted (what lies between is this loop's bookkeeping), except after a
     * duplicate or with dedup on, whose lookup is not handling; wall time is derived. */
    uint64_t t_next = 0;
    int64_t wall_off = cons->metrics != NULL && batch.n > 0 ? wall_minus_mono_ns() : 0;
    for (; n < batch.n && !limit; n++) {
        if (stopping(cons))
            break;
        const struct edxbus_msg *msg = &batch.msgs[n];
        bool dup = already_handled(cons, msg);
        uint64_t retries = cons->stats.retries, dead = cons->stats.dead_lettered;
        uint64_t t0 = 0;
        if (cons->metrics != NULL && !dup)
            t0 = t_next != 0 && cons->dedup == NULL ? t_next : edxbus__mono_ns();
        cons->m_et = NULL;
        enum handled h = dup ? HANDLED_OK : handle(cons, msg);
        t_next = t0 != 0 ? count(cons, msg, h, t0, wall_off, cons->stats.retries - retries,
                                 cons->stats.dead_lettered - dead)
                         : 0;
        cons->ackable[n] = h == HANDLED_OK || h == HANDLED_FAILED;
        if (cons->ackable[n]) /* now, so that a repeat later in this batch is caught */
            remember(cons, msg);
        if (h == HANDLED_STOPPED) {
            n++;
            break;
        }
        limit = errors_limit_reached(cons, NULL, 0);
    }
    if (cons->before_ack != NULL && n > 0) {
        char berr[EDXBUS_ERRSTR_SIZE] = "";
        if (cons->before_ack(cons->before_ack_opaque, berr, sizeof berr) != EDXBUS_OK) {
            cons->consecutive_errors++;
            cons->streak++;
            edxbus_conf_log(cons->conf, EDXBUS_LOG_ERROR,
                            "event bus: %s; %zu message(s) of %s left unacknowledged, they will "
                            "be delivered again",
                            berr, n, cons->topic);
            memset(cons->ackable, 0, n * sizeof *cons->ackable);
        }
    }
    ack_batch(cons, &batch, n, handled);
    if (errors_limit_reached(cons, errstr, errstr_size))
        return EDXBUS_ERR_ERRORS_LIMIT;
    return EDXBUS_OK;
}

edxbus_err_t edxbus_consumer_run(edxbus_consumer_t *cons, char *errstr, size_t errstr_size)
{
    if (cons->be == NULL)
        return EDXBUS_OK; /* the kill switch: already logged */
    edxbus_conf_log(cons->conf, EDXBUS_LOG_INFO, "event bus: consuming %s in group %s (%s)",
                    cons->topic, cons->group, cons->ops->name);
    while (!stopping(cons)) {
        if (cons->max_events > 0 && cons->stats.events >= cons->max_events)
            break;
        char perr[EDXBUS_ERRSTR_SIZE] = "";
        edxbus_err_t err =
            edxbus_consumer_poll_once(cons, cons->poll_slice_ms, NULL, perr, sizeof perr);
        if (err == EDXBUS_OK)
            continue;
        if (!edxbus_err_is_retriable(err)) { /* FATAL, ERRORS_LIMIT, AUTH, NOT_FOUND... */
            edxbus__errf(errstr, errstr_size, "%s", perr);
            return err;
        }
        edxbus_conf_log(cons->conf, EDXBUS_LOG_ERROR, "event bus: %s; sleeping %lld ms", perr,
                        (long long)cons->poll_failure_sleep_ms);
        if (cons->errors_limit > 0 && cons->consecutive_errors >= cons->errors_limit) {
            edxbus__errf(errstr, errstr_size,
                         "%lld consecutive errors on %s (limit %lld); last: %s",
                         (long long)cons->consecutive_errors, cons->topic,
                         (long long)cons->errors_limit, perr);
            return EDXBUS_ERR_ERRORS_LIMIT;
        }
        edxbus__consumer_sleep(cons, cons->poll_failure_sleep_ms);
    }
    edxbus_conf_log(cons->conf, EDXBUS_LOG_INFO,
                    "event bus: consumer of %s stopped after %llu event(s)", cons->topic,
                    (unsigned long long)cons->stats.events);
    return EDXBUS_OK;
}
