/* src/backends/nats/nats_producer.c — publishing to JetStream, synchronous or asynchronous.
 *
 * Synchronous produce (no callback) is js_PublishMsg: it returns EDXBUS_OK only once the
 * stream acknowledged the event (delivery contract 1), within EVENT_BUS_NATS_TIMEOUT; a server
 * that does not answer gives EDXBUS_ERR_TIMEOUT ("may or may not be stored").
 *
 * Asynchronous produce (callback given) is js_PublishMsgAsync with the server's acks as the
 * delivery reports. libnats calls our ack handler on its own thread, so the handler only moves
 * the message's record from the in-flight list to the done list (under the mutex); produce(),
 * flush() and close() hand the done records to the caller's callback on the caller's thread,
 * as backend.h asks. An ack the server does not send within EVENT_BUS_NATS_DELIVERY_TIMEOUT is
 * reported EDXBUS_ERR_TIMEOUT by libnats itself (jsPubOptions.MaxWait), so every record is
 * settled within that time, and close() can wait for all of them.
 *
 * Every message carries a Nats-Msg-Id, the event id (edxbus__nats_msg_id(): dead letters and
 * dead-letter replays get ids of their own): a retry of the same event within the stream's
 * duplicate window is dropped by the server, which acknowledges it as a duplicate of the stored
 * one; that is reported as delivered (the server holds the event), at the stored one's
 * position.
 *
 * Invariants: a record is in exactly one of the in-flight list (published, no answer yet; its
 * natsMsg owned by libnats and used only as a key) and the done list (answered, not yet
 * reported); both lists are guarded by mu; in-flight records are in publish order, so the
 * handler's search usually stops at the head.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "edxbus/backend_util.h"
#include "nats_int.h"

#define MAX_IN_FLIGHT 65536 /* produce() waits for acks beyond this many, then QUEUE_FULL */
#define CLOSE_GRACE_MS 5000 /* close() waits this long beyond the delivery timeout */

/* One asynchronous message until its report: a copy of what produce() was given. */
struct rec {
    struct rec *prev, *next;
    const natsMsg *key; /* the message libnats hands back to the ack handler (not owned) */
    struct edxbus_msg msg; /* pointers into this block (and md) */
    struct edxbus_metadata md;
    edxbus_delivery_fn cb;
    void *cb_opaque;
    edxbus_err_t err; /* set when answered */
    uint64_t seq;     /* the stream sequence, when stored */
    char why[256]; /* each text below fits (a topic cut at 100, the reason at 120) */
    /* then: topic, key, value, headers, header names and values */
};

struct list {
    struct rec *head, *tail;
};

struct nats_producer {
    struct nats_conn conn;
    struct edxbus_buf scratch; /* header text forms */
    char *stream_topic;        /* the topic whose stream is known to exist, as last produced to */
    int64_t delivery_timeout_ms;
    bool audit;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* signalled on every answer */
    struct list fly;   /* guarded by mu */
    struct list done;  /* guarded by mu */
    size_t nfly;       /* guarded by mu: records in fly */
};

static void list_push(struct list *l, struct rec *r)
{
    r->next = NULL;
    r->prev = l->tail;
    if (l->tail != NULL)
        l->tail->next = r;
    else
        l->head = r;
    l->tail = r;
}

static void list_unlink(struct list *l, struct rec *r)
{
    if (r->prev != NULL)
        r->prev->next = r->next;
    else
        l->head = r->next;
    if (r->next != NULL)
        r->next->prev = r->prev;
    else
        l->tail = r->prev;
    r->prev = r->next = NULL;
}

static void *copy_into(uint8_t **p, const void *src, size_t len)
{
    void *dst = *p;
    if (len > 0)
        memcpy(dst, src, len);
    *p += len;
    return dst;
}

/* A copy of @p msg that outlives produce(), for the delivery report. */
static struct rec *rec_new(const struct edxbus_msg *msg)
{
    size_t topic_len = strlen(msg->topic) + 1;
    size_t size = sizeof(struct rec) + topic_len + msg->key_len + msg->value_len +
                  msg->nheaders * sizeof(struct edxbus_header);
    for (size_t i = 0; i < msg->nheaders; i++)
        size += strlen(msg->headers[i].name) + 1 + msg->headers[i].len;
    struct rec *r = malloc(size); /* only the record is zeroed: the copies overwrite the rest */
    if (r == NULL)
        return NULL;
    memset(r, 0, sizeof *r);
    uint8_t *p = (uint8_t *)(r + 1);
    if (msg->nheaders > 0) {
        struct edxbus_header *h =
            copy_into(&p, msg->headers, msg->nheaders * sizeof(struct edxbus_header));
        for (size_t i = 0; i < msg->nheaders; i++) {
            h[i].name = copy_into(&p, msg->headers[i].name, strlen(msg->headers[i].name) + 1);
            h[i].value = copy_into(&p, msg->headers[i].value, msg->headers[i].len);
        }
        r->msg.headers = h;
        r->msg.nheaders = msg->nheaders;
    }
    r->msg.topic = copy_into(&p, msg->topic, topic_len);
    r->msg.key = msg->key ? copy_into(&p, msg->key, msg->key_len) : NULL;
    r->msg.key_len = msg->key_len;
    r->msg.value = copy_into(&p, msg->value, msg->value_len);
    r->msg.value_len = msg->value_len;
    r->md = *msg->metadata;
    r->msg.metadata = &r->md;
    return r;
}

/* libnats' thread: an ack, an error answer, or libnats' own timeout for one message. */
static void on_ack(jsCtx *js, natsMsg *nm, jsPubAck *pa, jsPubAckErr *pae, void *closure)
{
    struct nats_producer *prod = closure;
    pthread_mutex_lock(&prod->mu);
    struct rec *r = prod->fly.head;
    while (r != NULL && r->key != nm)
        r = r->next;
    if (r != NULL) {
        list_unlink(&prod->fly, r);
        prod->nfly--;
        if (pa != NULL) {
            r->err = EDXBUS_OK;
            r->seq = pa->Sequence;
        } else {
            natsStatus s = pae != NULL ? pae->Err : NATS_ERR;
            r->err = edxbus__nats_err(s);
            if (s == NATS_TIMEOUT)
                snprintf(r->why, sizeof r->why,
                         "nats: no acknowledgement from the server within %" PRId64
                         " ms: not confirmed, may or may not be stored",
                         prod->delivery_timeout_ms);
            else
                snprintf(r->why, sizeof r->why, "nats: publish to \"%.100s\" refused: %.120s",
                         r->msg.topic,
                         pae != NULL && pae->ErrText != NULL ? pae->ErrText
                                                             : natsStatus_GetText(s));
        }
        list_push(&prod->done, r);
        pthread_cond_broadcast(&prod->cv);
    }
    pthread_mutex_unlock(&prod->mu);
    natsMsg_Destroy(nm);
}

/* Hand every answered record to its callback, on the caller's thread. */
/* @p v in decimal into @p out (at least 21 bytes): a report per event, snprintf showed. */
static void u64_text(uint64_t v, char *out)
{
    char tmp[24];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v > 0);
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    out[n] = '\0';
}

static void report_done(struct nats_producer *prod)
{
    pthread_mutex_lock(&prod->mu);
    struct rec *r = prod->done.head;
    prod->done.head = prod->done.tail = NULL;
    pthread_mutex_unlock(&prod->mu);
    while (r != NULL) {
        struct rec *next = r->next;
        char position[24];
        u64_text(r->seq, position);
        if (r->err == EDXBUS_OK && prod->audit)
            edxbus_conf_log(prod->conn.conf, EDXBUS_LOG_INFO,
                            "nats: produced event %s (%s) to stream %s as sequence %s", r->md.id,
                            r->md.event_type, r->msg.topic, position);
        r->cb(r->cb_opaque, &r->msg, r->err, r->err == EDXBUS_OK ? NULL : r->why,
              r->err == EDXBUS_OK ? position : NULL);
        free(r);
        r = next;
    }
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait (mu held) for an answer until @p deadline_ms (monotonic); false at the deadline. */
static bool wait_answer(struct nats_producer *prod, int64_t deadline_ms)
{
    int64_t left = deadline_ms - mono_ms();
    if (left <= 0)
        return false;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += left / 1000;
    ts.tv_nsec += (left % 1000) * 1000000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    return pthread_cond_timedwait(&prod->cv, &prod->mu, &ts) != ETIMEDOUT ||
           mono_ms() < deadline_ms;
}

edxbus_err_t edxbus__nats_producer_open(const edxbus_conf_t *conf, void **be, char *errstr,
                                        size_t errstr_size)
{
    struct nats_producer *prod = calloc(1, sizeof *prod);
    if (prod == NULL) {
        edxbus_errf(errstr, errstr_size, "nats: out of memory");
        return EDXBUS_ERR_NOMEM;
    }
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&prod->cv, &attr);
    pthread_condattr_destroy(&attr);
    pthread_mutex_init(&prod->mu, NULL);
    edxbus_buf_init(&prod->scratch);
    prod->delivery_timeout_ms =
        (int64_t)(edxbus_conf_get_double(conf, NATS_SETTING_DELIVERY_TIMEOUT, 30) * 1000);
    if (prod->delivery_timeout_ms < 1)
        prod->delivery_timeout_ms = 1;
    prod->audit = edxbus_conf_get_bool(conf, NATS_SETTING_AUDIT, true);
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.PublishAsync.AckHandler = on_ack;
    jo.PublishAsync.AckHandlerClosure = prod;
    edxbus_err_t err = edxbus__nats_conn_open(&prod->conn, conf, &jo, errstr, errstr_size);
    if (err != EDXBUS_OK) {
        edxbus_buf_fini(&prod->scratch);
        pthread_cond_destroy(&prod->cv);
        pthread_mutex_destroy(&prod->mu);
        free(prod);
        return err;
    }
    *be = prod;
    return EDXBUS_OK;
}

/* Room for one more message in flight: wait for answers (reporting them) while full. */
static edxbus_err_t make_room(struct nats_producer *prod, char *errstr, size_t errstr_size)
{
    int64_t deadline = mono_ms() + prod->delivery_timeout_ms;
    for (;;) {
        pthread_mutex_lock(&prod->mu);
        bool full = prod->nfly >= MAX_IN_FLIGHT;
        bool waited = full && prod->done.head == NULL && wait_answer(prod, deadline);
        pthread_mutex_unlock(&prod->mu);
        report_done(prod);
        if (!full)
            return EDXBUS_OK;
        if (!waited && mono_ms() >= deadline) {
            edxbus_errf(errstr, errstr_size,
                     "nats: %d events wait for the server's acknowledgement; flush, then retry",
                     MAX_IN_FLIGHT);
            return EDXBUS_ERR_QUEUE_FULL;
        }
    }
}

static edxbus_err_t produce_sync(struct nats_producer *prod, natsMsg *nm,
                                 const struct edxbus_msg *msg, jsPubOptions *po, char *errstr,
                                 size_t errstr_size)
{
    jsPubAck *pa = NULL;
    jsErrCode code = 0;
    po->MaxWait = prod->conn.timeout_ms;
    natsStatus s = js_PublishMsg(&pa, prod->conn.js, nm, po, &code);
    if (s != NATS_OK) {
        char what[256];
        snprintf(what, sizeof what, "publish event %.63s to \"%.100s\"%s", msg->metadata->id,
                 msg->topic, s == NATS_TIMEOUT ? " (not confirmed: may or may not be stored)" : "");
        return edxbus__nats_fail(s, code, what, errstr, errstr_size);
    }
    if (prod->audit)
        edxbus_conf_log(prod->conn.conf, EDXBUS_LOG_INFO,
                        "nats: produced event %s (%s) to stream %s as sequence %" PRIu64,
                        msg->metadata->id, msg->metadata->event_type, msg->topic, pa->Sequence);
    jsPubAck_Destroy(pa);
    return EDXBUS_OK;
}

edxbus_err_t edxbus__nats_produce(void *be, const struct edxbus_msg *msg, edxbus_delivery_fn cb,
                                  void *cb_opaque, char *errstr, size_t errstr_size)
{
    struct nats_producer *prod = be;
    /* The stream of the topic last produced to exists: no name check nor lookup per event. */
    if (prod->stream_topic == NULL || strcmp(prod->stream_topic, msg->topic) != 0) {
        edxbus_err_t err =
            edxbus__nats_stream_ensure(&prod->conn, msg->topic, true, errstr, errstr_size);
        if (err != EDXBUS_OK)
            return err;
        free(prod->stream_topic);
        prod->stream_topic = strdup(msg->topic); /* NULL: ensured again next time */
    }
    edxbus_err_t err;
    natsMsg *nm = edxbus__nats_wire_msg(msg, &prod->scratch, errstr, errstr_size);
    if (nm == NULL)
        return EDXBUS_ERR_INVALID_ARG;
    jsPubOptions po;
    jsPubOptions_Init(&po);
    char id[EDXBUS_POSITION_MAX + 512];
    po.MsgId = edxbus__nats_msg_id(msg, id, sizeof id);
    if (cb == NULL) {
        report_done(prod);
        err = produce_sync(prod, nm, msg, &po, errstr, errstr_size);
        natsMsg_Destroy(nm);
        return err;
    }
    err = make_room(prod, errstr, errstr_size);
    struct rec *r = err == EDXBUS_OK ? rec_new(msg) : NULL;
    if (r == NULL) {
        natsMsg_Destroy(nm);
        if (err == EDXBUS_OK) {
            edxbus_errf(errstr, errstr_size, "nats: out of memory");
            err = EDXBUS_ERR_NOMEM;
        }
        return err;
    }
    r->cb = cb;
    r->cb_opaque = cb_opaque;
    r->key = nm;
    /* In the list before libnats can answer for it. */
    pthread_mutex_lock(&prod->mu);
    list_push(&prod->fly, r);
    prod->nfly++;
    pthread_mutex_unlock(&prod->mu);
    po.MaxWait = prod->delivery_timeout_ms;
    natsMsg *owned = nm;
    natsStatus s = js_PublishMsgAsync(prod->conn.js, &owned, &po);
    if (s != NATS_OK) {
        pthread_mutex_lock(&prod->mu);
        list_unlink(&prod->fly, r);
        prod->nfly--;
        pthread_mutex_unlock(&prod->mu);
        free(r);
        natsMsg_Destroy(owned);
        char what[200];
        snprintf(what, sizeof what, "publish event %s to \"%.100s\"", msg->metadata->id,
                 msg->topic);
        return edxbus__nats_fail(s, 0, what, errstr, errstr_size);
    }
    report_done(prod);
    return EDXBUS_OK;
}

edxbus_err_t edxbus__nats_flush(void *be, int timeout_ms, char *errstr, size_t errstr_size)
{
    struct nats_producer *prod = be;
    int64_t deadline = mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    for (;;) {
        pthread_mutex_lock(&prod->mu);
        if (prod->done.head == NULL && prod->nfly > 0)
            wait_answer(prod, deadline);
        size_t left = prod->nfly;
        pthread_mutex_unlock(&prod->mu);
        report_done(prod);
        if (left == 0)
            return EDXBUS_OK;
        if (mono_ms() >= deadline) {
            edxbus_errf(errstr, errstr_size,
                     "nats: %zu events not yet acknowledged by the server after %d ms", left,
                     timeout_ms);
            return EDXBUS_ERR_TIMEOUT;
        }
    }
}

void edxbus__nats_producer_close(void *be)
{
    struct nats_producer *prod = be;
    if (prod == NULL)
        return;
    char errstr[EDXBUS_ERRSTR_SIZE];
    /* libnats answers every message within the delivery timeout (an ack or its own timeout),
     * so this returns with nothing in flight unless libnats' timer itself is stuck. */
    if (edxbus__nats_flush(prod, (int)(prod->delivery_timeout_ms + CLOSE_GRACE_MS), errstr,
                           sizeof errstr) != EDXBUS_OK) {
        natsMsgList pending = {0};
        if (js_PublishAsyncGetPendingList(&pending, prod->conn.js) == NATS_OK) {
            pthread_mutex_lock(&prod->mu);
            for (int i = 0; i < pending.Count; i++)
                for (struct rec *r = prod->fly.head; r != NULL; r = r->next)
                    if (r->key == pending.Msgs[i]) {
                        list_unlink(&prod->fly, r);
                        prod->nfly--;
                        r->err = EDXBUS_ERR_TIMEOUT;
                        snprintf(r->why, sizeof r->why,
                                 "nats: producer closed before the server acknowledged the "
                                 "event: may or may not be stored");
                        list_push(&prod->done, r);
                        break;
                    }
            pthread_mutex_unlock(&prod->mu);
            natsMsgList_Destroy(&pending);
        }
        report_done(prod);
    }
    edxbus__nats_conn_close(&prod->conn);
    /* Records libnats was answering while it was torn down: no report can come any more. */
    for (struct rec *r = prod->fly.head, *next; r != NULL; r = next) {
        next = r->next;
        r->cb(r->cb_opaque, &r->msg, EDXBUS_ERR_TIMEOUT,
              "nats: producer closed before the server acknowledged the event: may or may not "
              "be stored",
              NULL);
        free(r);
    }
    edxbus_buf_fini(&prod->scratch);
    free(prod->stream_topic);
    pthread_cond_destroy(&prod->cv);
    pthread_mutex_destroy(&prod->mu);
    free(prod);
}
