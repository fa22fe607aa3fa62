/* src/backends/nats/nats_consumer.c — groups as durable pull consumers, tails as ordered ones.
 *
 * A group is a durable JetStream consumer on the topic's stream, named after the group, with
 * explicit acks, EVENT_BUS_NATS_ACK_WAIT, _MAX_DELIVER and _BACKOFF. Every member pulls from
 * it (natsSubscription_Fetch), so members share the events and an event a member took and never
 * acknowledged goes to a member again after the ack wait. Where a group starts (backend.h
 * contract 3): an existing consumer is bound as it is, whatever `start` says; a new one is
 * created at `start` (latest: DeliverNew, earliest: DeliverAll, a position: that stream
 * sequence). A replay (start_time_ms) replaces the consumer by one that starts there:
 * JetStream cannot move a consumer, so a replay moves the group for every member (each
 * member's next fetch finds the new consumer under the same name).
 *
 * A clean close gives back (NAK) what this member took and did not acknowledge, so the group
 * gets it at once, this member first after a restart; a member that dies leaves it to the ack
 * wait. An ack is sent without waiting for the server's confirmation; close flushes the
 * connection, so an acknowledged event is not delivered again after a clean exit.
 *
 * A tail is an ordered consumer (ephemeral, no acks, flow-controlled) that leaves no group
 * behind. caught_up: the stream's last sequence is noted at open; a reader is caught up once
 * it was handed that sequence, or when the server has nothing more for it.
 *
 * wake (edxbus_consumer_stop()): libnats waits for a fetch or a tail's next message on a
 * condition of its own and gives no descriptor to wait on beside it, and wake() may run in a
 * signal handler. So wake() only sets the toolkit's waker; a watcher thread, started at open
 * and blocked on that waker, then unsubscribes, which makes a waiting libnats call return at
 * once. Acks and NAKs go through the connection, so they still work after a wake; a pull
 * request the server still holds for the closed subscription may take a message that then
 * stays owed to the group until the ack wait (as for a member that dies).
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edxbus/backend_util.h"
#include "nats_int.h"

#define NS_PER_MS 1000000
/* The latest start time JetStream can be given: nanoseconds since 1970 in an int64 end in
 * 2262; a later time means "after everything stored" all the same. */
#define START_MS_MAX (INT64_MAX / NS_PER_MS - 1000)

struct nats_consumer {
    struct nats_conn conn;
    char *topic;
    char stream[NATS_STREAM_NAME_MAX];
    char durable[NATS_STREAM_NAME_MAX]; /* the group's consumer; "" for a tail */
    char *service_name;
    natsSubscription *sub;
    int64_t ack_wait_ns;
    int64_t max_deliver;
    int64_t backoff[NATS_BACKOFF_MAX]; /* ns */
    int nbackoff;
    struct nats_slot *slots; /* the current batch */
    struct edxbus_msg *msgs;
    size_t cap, n;
    bool *acked; /* per slot of the current batch */
    int64_t skip_before_ns; /* a replay's start time the server was given rounded down to the
                               second (see by_time): what is older is skipped; 0: none */
    uint64_t end_seq; /* the stream's last sequence at open (caught_up) */
    bool reached;     /* a message at or past end_seq was handed out */
    edxbus_waker_t *waker; /* set by wake() */
    pthread_t watcher;     /* unsubscribes once the waker is set (see the top) */
    bool watching;
};

static void *watch(void *arg)
{
    struct nats_consumer *cons = arg;
    while (edxbus_waker_wait(cons->waker, -1, -1) != EDXBUS_WAIT_WOKEN)
        ;
    natsSubscription_Unsubscribe(cons->sub);
    return NULL;
}

/* "latest" (or NULL), "earliest" or a stream sequence ("17") into a deliver policy. */
static edxbus_err_t parse_position(const char *position, jsDeliverPolicy *policy, uint64_t *seq,
                                   char *errstr, size_t errstr_size)
{
    *seq = 0;
    if (position == NULL || strcmp(position, "latest") == 0) {
        *policy = js_DeliverNew;
        return EDXBUS_OK;
    }
    if (strcmp(position, "earliest") == 0) {
        *policy = js_DeliverAll;
        return EDXBUS_OK;
    }
    char *end = NULL;
    unsigned long long v = position[0] >= '0' && position[0] <= '9'
                               ? strtoull(position, &end, 10)
                               : 0;
    if (end == NULL || *end != '\0' || v == 0) {
        edxbus_errf(errstr, errstr_size,
                 "nats: \"%.80s\" is not a position; use earliest, latest or a stream sequence "
                 "(a number from 1, as positions are printed)",
                 position);
        return EDXBUS_ERR_INVALID_ARG;
    }
    *policy = js_DeliverByStartSequence;
    *seq = v;
    return EDXBUS_OK;
}

static void release_batch(struct nats_consumer *cons)
{
    for (size_t i = 0; i < cons->n; i++) {
        natsMsg_Destroy(cons->slots[i].nm);
        cons->slots[i].nm = NULL;
    }
    cons->n = 0;
}

/* Give back (NAK) what the current batch holds unacknowledged, for immediate redelivery. */
static void give_back(struct nats_consumer *cons)
{
    if (cons->durable[0] == '\0')
        return;
    for (size_t i = 0; i < cons->n; i++)
        if (!cons->acked[i] && cons->slots[i].nm != NULL)
            natsMsg_Nak(cons->slots[i].nm, NULL);
}

static void drop_sub(struct nats_consumer *cons)
{
    if (cons->sub != NULL) {
        natsSubscription_Unsubscribe(cons->sub);
        natsSubscription_Destroy(cons->sub);
        cons->sub = NULL;
    }
}

/* Subscribe a tail: an ordered consumer from @p policy / @p seq / @p time_ns. */
static edxbus_err_t subscribe_tail(struct nats_consumer *cons, jsDeliverPolicy policy,
                                   uint64_t seq, int64_t time_ns, char *errstr,
                                   size_t errstr_size)
{
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = cons->stream;
    so.Ordered = true;
    so.Config.DeliverPolicy = policy;
    so.Config.OptStartSeq = seq;
    so.Config.OptStartTime = time_ns;
    jsErrCode code = 0;
    natsStatus s = js_SubscribeSync(&cons->sub, cons->conn.js, cons->topic, NULL, &so, &code);
    if (s != NATS_OK) {
        char what[200];
        snprintf(what, sizeof what, "tail of \"%.100s\"", cons->topic);
        return edxbus__nats_fail(s, code, what, errstr, errstr_size);
    }
    return EDXBUS_OK;
}

/* Create the group's consumer at @p policy; @p replace deletes an existing one first.
 * *@p existed (may be NULL) tells whether one was there and kept. */
static edxbus_err_t make_durable(struct nats_consumer *cons, jsDeliverPolicy policy,
                                 uint64_t seq, int64_t time_ns, bool replace, char *errstr,
                                 size_t errstr_size)
{
    jsErrCode code = 0;
    natsStatus s;
    char what[300];
    snprintf(what, sizeof what, "group \"%.80s\" on \"%.100s\"", cons->durable, cons->topic);
    if (replace) {
        s = js_DeleteConsumer(cons->conn.js, cons->stream, cons->durable, NULL, &code);
        if (s != NATS_OK && s != NATS_NOT_FOUND)
            return edxbus__nats_fail(s, code, what, errstr, errstr_size);
    } else {
        jsConsumerInfo *ci = NULL;
        s = js_GetConsumerInfo(&ci, cons->conn.js, cons->stream, cons->durable, NULL, &code);
        jsConsumerInfo_Destroy(ci);
        if (s == NATS_OK)
            return EDXBUS_OK; /* an existing group resumes */
        if (s != NATS_NOT_FOUND)
            return edxbus__nats_fail(s, code, what, errstr, errstr_size);
    }
    jsConsumerConfig cc;
    jsConsumerConfig_Init(&cc);
    cc.Durable = cons->durable;
    cc.Description = "edxbus consumer group";
    cc.DeliverPolicy = policy;
    cc.OptStartSeq = seq;
    cc.OptStartTime = time_ns;
    cc.AckPolicy = js_AckExplicit;
    cc.AckWait = cons->ack_wait_ns;
    cc.MaxDeliver = cons->max_deliver;
    if (cons->nbackoff > 0) {
        cc.BackOff = cons->backoff;
        cc.BackOffLen = cons->nbackoff;
    }
    jsConsumerInfo *ci = NULL;
    code = 0;
    s = js_AddConsumer(&ci, cons->conn.js, cons->stream, &cc, NULL, &code);
    jsConsumerInfo_Destroy(ci);
    /* Another member created it at the same moment: the group exists now, so it is used. */
    if (s != NATS_OK && !replace &&
        (code == JSConsumerNameExistErr || code == JSConsumerExistingActiveErr))
        s = NATS_OK;
    if (s != NATS_OK)
        return edxbus__nats_fail(s, code, what, errstr, errstr_size);
    return EDXBUS_OK;
}

static edxbus_err_t subscribe_group(struct nats_consumer *cons, char *errstr, size_t errstr_size)
{
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = cons->stream;
    so.Consumer = cons->durable;
    jsErrCode code = 0;
    natsStatus s =
        js_PullSubscribe(&cons->sub, cons->conn.js, cons->topic, cons->durable, NULL, &so, &code);
    if (s != NATS_OK) {
        char what[300];
        snprintf(what, sizeof what, "joining group \"%.80s\" on \"%.100s\"", cons->durable,
                 cons->topic);
        return edxbus__nats_fail(s, code, what, errstr, errstr_size);
    }
    return EDXBUS_OK;
}

/* Where a replay from @p unix_ms starts: by start time, or everything for a time at or before
 * 1970 (JetStream takes 0 as "no time given"). libnats 3.4 writes the fraction of a second
 * without its leading zeros (10.05 s goes out as "10.5"), which would start the replay too late
 * and skip events: a fraction below 0.1 s is given as the whole second instead, and the events
 * stored before the asked time are skipped on our side (*@p skip_before_ns). */
static jsDeliverPolicy by_time(int64_t unix_ms, int64_t *time_ns, int64_t *skip_before_ns)
{
    *skip_before_ns = 0;
    if (unix_ms <= 0) {
        *time_ns = 0;
        return js_DeliverAll;
    }
    *time_ns = (unix_ms < START_MS_MAX ? unix_ms : START_MS_MAX) * NS_PER_MS;
    int64_t frac = *time_ns % 1000000000;
    if (frac > 0 && frac < 100000000) {
        *skip_before_ns = *time_ns;
        *time_ns -= frac;
    }
    return js_DeliverByStartTime;
}

static void read_settings(struct nats_consumer *cons, const edxbus_conf_t *conf)
{
    cons->ack_wait_ns =
        (int64_t)(edxbus_conf_get_double(conf, NATS_SETTING_ACK_WAIT, 30) * 1e9);
    cons->max_deliver = edxbus_conf_get_int(conf, NATS_SETTING_MAX_DELIVER, -1);
    if (cons->max_deliver == 0)
        cons->max_deliver = -1;
    const json_t *backoff = edxbus_conf_get(conf, NATS_SETTING_BACKOFF);
    for (size_t i = 0; i < json_array_size(backoff) && i < NATS_BACKOFF_MAX; i++)
        cons->backoff[cons->nbackoff++] =
            (int64_t)(json_number_value(json_array_get(backoff, i)) * 1e9);
}

/* The stream's last sequence now (0: empty), for caught_up. */
static edxbus_err_t note_end(struct nats_consumer *cons, char *errstr, size_t errstr_size)
{
    jsStreamInfo *si = NULL;
    jsErrCode code = 0;
    natsStatus s = js_GetStreamInfo(&si, cons->conn.js, cons->stream, NULL, &code);
    if (s != NATS_OK)
        return edxbus__nats_fail(s, code, "stream information", errstr, errstr_size);
    cons->end_seq = si->State.Msgs > 0 ? si->State.LastSeq : 0;
    jsStreamInfo_Destroy(si);
    return EDXBUS_OK;
}

edxbus_err_t edxbus__nats_consumer_open(const edxbus_conf_t *conf,
                                        const struct edxbus_consumer_opts *opts, void **be,
                                        char *errstr, size_t errstr_size)
{
    /* Everything that can be refused is checked before anything is created. */
    jsDeliverPolicy policy;
    uint64_t seq = 0;
    edxbus_err_t err = parse_position(opts->start, &policy, &seq, errstr, errstr_size);
    char stream[NATS_STREAM_NAME_MAX];
    if (err == EDXBUS_OK)
        err = edxbus__nats_stream_name(opts->topic, stream, sizeof stream, errstr, errstr_size);
    if (err != EDXBUS_OK)
        return err;
    struct nats_consumer *cons = calloc(1, sizeof *cons);
    if (cons == NULL) {
        edxbus_errf(errstr, errstr_size, "nats: out of memory");
        return EDXBUS_ERR_NOMEM;
    }
    const char *service = edxbus_conf_service_name(conf);
    cons->topic = strdup(opts->topic);
    cons->service_name = strdup(service ? service : "");
    memcpy(cons->stream, stream, sizeof stream);
    if (opts->group != NULL)
        edxbus__nats_durable_name(opts->group, cons->durable, sizeof cons->durable);
    read_settings(cons, conf);
    if (cons->topic == NULL || cons->service_name == NULL) {
        edxbus_errf(errstr, errstr_size, "nats: out of memory");
        err = EDXBUS_ERR_NOMEM;
    }
    if (err == EDXBUS_OK)
        err = edxbus__nats_conn_open(&cons->conn, conf, NULL, errstr, errstr_size);
    if (err == EDXBUS_OK)
        err = edxbus__nats_stream_ensure(&cons->conn, opts->topic, true, errstr, errstr_size);
    if (err == EDXBUS_OK)
        err = note_end(cons, errstr, errstr_size);
    int64_t time_ns = 0;
    if (opts->start_time_ms >= 0)
        policy = by_time(opts->start_time_ms, &time_ns, &cons->skip_before_ns);
    if (err == EDXBUS_OK && cons->durable[0] == '\0')
        err = subscribe_tail(cons, policy, seq, time_ns, errstr, errstr_size);
    else if (err == EDXBUS_OK) {
        err = make_durable(cons, policy, seq, time_ns, opts->start_time_ms >= 0, errstr,
                           errstr_size);
        if (err == EDXBUS_OK)
            err = subscribe_group(cons, errstr, errstr_size);
    }
    /* A tail from the newest event has been handed everything it will be handed from before
     * its open. */
    cons->reached = cons->durable[0] == '\0' && policy == js_DeliverNew;
    if (err == EDXBUS_OK) {
        cons->waker = edxbus_waker_new(errstr, errstr_size);
        if (cons->waker == NULL)
            err = EDXBUS_ERR_IO;
    }
    if (err == EDXBUS_OK) {
        int rc = pthread_create(&cons->watcher, NULL, watch, cons);
        if (rc != 0) {
            edxbus_errf(errstr, errstr_size, "nats: cannot start the consumer's watcher thread: %s",
                        strerror(rc));
            err = EDXBUS_ERR_NOMEM;
        }
        cons->watching = rc == 0;
    }
    if (err != EDXBUS_OK) {
        edxbus__nats_consumer_close(cons);
        return err;
    }
    *be = cons;
    return EDXBUS_OK;
}

static edxbus_err_t grow(struct nats_consumer *cons, size_t max)
{
    if (max <= cons->cap)
        return EDXBUS_OK;
    struct nats_slot *slots = realloc(cons->slots, max * sizeof *slots);
    if (slots == NULL)
        return EDXBUS_ERR_NOMEM;
    memset(slots + cons->cap, 0, (max - cons->cap) * sizeof *slots);
    cons->slots = slots;
    struct edxbus_msg *msgs = realloc(cons->msgs, max * sizeof *msgs);
    if (msgs == NULL)
        return EDXBUS_ERR_NOMEM;
    cons->msgs = msgs;
    bool *acked = realloc(cons->acked, max * sizeof *acked);
    if (acked == NULL)
        return EDXBUS_ERR_NOMEM;
    cons->acked = acked;
    cons->cap = max;
    return EDXBUS_OK;
}

/* Up to @p max messages into list->Msgs (taken from the list). */
static natsStatus fetch(struct nats_consumer *cons, natsMsgList *list, size_t max, int timeout_ms)
{
    jsErrCode code = 0;
    if (cons->durable[0] != '\0') {
        if (timeout_ms > 0)
            return natsSubscription_Fetch(list, cons->sub, (int)max, timeout_ms, &code);
        /* Only what is there now: the server answers at once; a server that does not answer
         * is waited for no longer than the request timeout. */
        jsFetchRequest req;
        jsFetchRequest_Init(&req);
        req.Batch = (int)max;
        req.NoWait = true;
        req.Expires = cons->conn.timeout_ms * NS_PER_MS;
        return natsSubscription_FetchRequest(list, cons->sub, &req);
    }
    /* A tail: what the ordered consumer pushed, waiting for the first one. */
    natsMsg **msgs = calloc(max, sizeof *msgs);
    if (msgs == NULL)
        return NATS_NO_MEMORY;
    int n = 0;
    natsStatus s = NATS_OK;
    int pending = 0;
    if (timeout_ms > 0 || (natsSubscription_GetPending(cons->sub, &pending, NULL) == NATS_OK &&
                           pending > 0))
        s = natsSubscription_NextMsg(&msgs[n], cons->sub, timeout_ms > 0 ? timeout_ms : 1);
    else
        s = NATS_TIMEOUT;
    if (s == NATS_OK)
        n++;
    while (s == NATS_OK && (size_t)n < max &&
           natsSubscription_GetPending(cons->sub, &pending, NULL) == NATS_OK && pending > 0) {
        s = natsSubscription_NextMsg(&msgs[n], cons->sub, 1);
        if (s == NATS_OK)
            n++;
    }
    if (n == 0) {
        free(msgs);
        return s;
    }
    list->Msgs = msgs;
    list->Count = n;
    return NATS_OK;
}

edxbus_err_t edxbus__nats_poll(void *be, struct edxbus_batch *out, size_t max, int timeout_ms,
                               char *errstr, size_t errstr_size)
{
    struct nats_consumer *cons = be;
    out->msgs = NULL;
    out->n = 0;
    release_batch(cons);
    if (max == 0 || edxbus_waker_woken(cons->waker))
        return EDXBUS_OK;
    if (grow(cons, max) != EDXBUS_OK) {
        edxbus_errf(errstr, errstr_size, "nats: out of memory");
        return EDXBUS_ERR_NOMEM;
    }
    natsMsgList list = {0};
    natsStatus s = fetch(cons, &list, max, timeout_ms);
    if (s == NATS_TIMEOUT || s == NATS_NOT_FOUND ||
        (s != NATS_OK && edxbus_waker_woken(cons->waker))) /* the watcher closed the wait */
        return EDXBUS_OK;
    if (s != NATS_OK) {
        char what[300];
        snprintf(what, sizeof what, "reading \"%.100s\"%s%.80s", cons->topic,
                 cons->durable[0] ? " for group " : "", cons->durable);
        return edxbus__nats_fail(s, 0, what, errstr, errstr_size);
    }
    edxbus_err_t err = EDXBUS_OK;
    for (int i = 0; i < list.Count; i++) {
        struct nats_slot *slot = &cons->slots[cons->n];
        slot->nm = list.Msgs[i];
        list.Msgs[i] = NULL;
        cons->acked[cons->n] = false;
        struct edxbus_msg *msg = &cons->msgs[cons->n++];
        if (err == EDXBUS_OK)
            err = edxbus__nats_wire_parse(slot, cons->service_name, msg);
        if (cons->end_seq > 0 && slot->stream_seq >= cons->end_seq)
            cons->reached = true;
        if (err == EDXBUS_OK && cons->skip_before_ns > 0) {
            if (slot->time_ns < cons->skip_before_ns) { /* before the replay's time (by_time) */
                if (cons->durable[0] != '\0')
                    natsMsg_Ack(slot->nm, NULL);
                natsMsg_Destroy(slot->nm);
                slot->nm = NULL;
                cons->n--;
                continue;
            }
            cons->skip_before_ns = 0;
        }
    }
    natsMsgList_Destroy(&list);
    if (err != EDXBUS_OK) {
        edxbus_errf(errstr, errstr_size, "nats: out of memory reading \"%.100s\"", cons->topic);
        return err;
    }
    out->msgs = cons->msgs;
    out->n = cons->n;
    return EDXBUS_OK;
}

edxbus_err_t edxbus__nats_ack(void *be, const struct edxbus_msg *msg, char *errstr,
                              size_t errstr_size)
{
    struct nats_consumer *cons = be;
    if (cons->durable[0] == '\0')
        return EDXBUS_OK;
    if (msg < cons->msgs || msg >= cons->msgs + cons->n) {
        edxbus_errf(errstr, errstr_size, "nats: ack of a message that is not of the latest batch");
        return EDXBUS_ERR_STATE;
    }
    size_t i = (size_t)(msg - cons->msgs);
    natsStatus s = natsMsg_Ack(cons->slots[i].nm, NULL);
    if (s != NATS_OK) {
        char what[200];
        snprintf(what, sizeof what, "ack of %s on \"%.100s\"", msg->position, cons->topic);
        return edxbus__nats_fail(s, 0, what, errstr, errstr_size);
    }
    cons->acked[i] = true;
    return EDXBUS_OK;
}

edxbus_err_t edxbus__nats_caught_up(void *be, bool *done, char *errstr, size_t errstr_size)
{
    struct nats_consumer *cons = be;
    if (cons->reached || cons->end_seq == 0) {
        *done = true;
        return EDXBUS_OK;
    }
    /* Started past the end (a position or a time after the last event), or everything was
     * acknowledged before: the server has nothing more for it. */
    jsConsumerInfo *ci = NULL;
    jsErrCode code = 0;
    /* A group's consumer by its name: on a pull subscription bound to an existing durable,
     * libnats 3.4 keeps no consumer name, and natsSubscription_GetConsumerInfo answers
     * Invalid Subscription. A tail's ordered consumer has a name only the subscription knows
     * (libnats renames it when it resets it). */
    natsStatus s = cons->durable[0] != '\0'
                       ? js_GetConsumerInfo(&ci, cons->conn.js, cons->stream, cons->durable,
                                            NULL, &code)
                       : natsSubscription_GetConsumerInfo(&ci, cons->sub, NULL, &code);
    if (s != NATS_OK)
        return edxbus__nats_fail(s, code, "consumer information", errstr, errstr_size);
    int local = 0;
    natsSubscription_GetPending(cons->sub, &local, NULL);
    *done = ci->NumPending == 0 && ci->NumAckPending == 0 && local == 0;
    jsConsumerInfo_Destroy(ci);
    return EDXBUS_OK;
}

void edxbus__nats_wake(void *be)
{
    edxbus_waker_wake(((struct nats_consumer *)be)->waker);
}

void edxbus__nats_consumer_close(void *be)
{
    struct nats_consumer *cons = be;
    if (cons == NULL)
        return;
    give_back(cons);
    release_batch(cons);
    if (cons->conn.nc != NULL) /* the acks and NAKs reach the server before we go */
        natsConnection_FlushTimeout(cons->conn.nc, cons->conn.timeout_ms);
    if (cons->watching) { /* it unsubscribes, then ends */
        edxbus_waker_wake(cons->waker);
        pthread_join(cons->watcher, NULL);
    }
    edxbus_waker_free(cons->waker);
    drop_sub(cons);
    edxbus__nats_conn_close(&cons->conn);
    for (size_t i = 0; i < cons->cap; i++)
        edxbus__nats_slot_fini(&cons->slots[i]);
    free(cons->slots);
    free(cons->msgs);
    free(cons->acked);
    free(cons->topic);
    free(cons->service_name);
    free(cons);
}
