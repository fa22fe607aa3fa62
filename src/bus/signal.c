/* src/bus/signal.c — signals, receivers and sending (signal.h).
 *
 * A send is three steps: check the data by encoding it under the event's schema (the bytes are
 * kept in the event, so the producer's receiver never encodes again), make the metadata, call
 * the receivers in connection order. Robust mode calls them all and records each result;
 * strict mode stops at the first failure. The event is a stack value (struct edxbus_event)
 * whose data and Avro body are filled on first use when the sender gave only one of them: the
 * typed API sends bytes and a C receiver that never asks for the JSON tree costs no tree.
 *
 * Invariants: a dispatch never changes the receiver list; the report's counters always add up
 * (ncalled = successes + nfailed); a disabled signal calls nothing.
 *
 * To add a send variant: build a struct edxbus_event and hand it to edxbus__signal_dispatch().
 */
#include "bus_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void edxbus__errf(char *errstr, size_t errstr_size, const char *fmt, ...)
{
    if (errstr == NULL || errstr_size == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    edxbus_verrf(errstr, errstr_size, fmt, ap);
    va_end(ap);
}

/* ---------------------------------------------------------------------------------------------
 * Receivers
 * ------------------------------------------------------------------------------------------- */

edxbus_signal_t *edxbus_bus_signal(edxbus_bus_t *bus, const char *event_type)
{
    const edxbus_event_type_t *et = edxbus_catalog_find(bus->cat, event_type);
    return et == NULL ? NULL : edxbus__bus_signal_of(bus, et);
}

const edxbus_event_type_t *edxbus_signal_event_type(const edxbus_signal_t *sig)
{
    return sig->et;
}

static ptrdiff_t receiver_index(const edxbus_signal_t *sig, edxbus_receiver_fn fn, void *opaque)
{
    for (size_t i = 0; i < sig->nrecv; i++) {
        if (sig->recv[i].fn == fn && sig->recv[i].opaque == opaque)
            return (ptrdiff_t)i;
    }
    return -1;
}

edxbus_err_t edxbus_signal_connect(edxbus_signal_t *sig, const char *name, edxbus_receiver_fn fn,
                                   void *opaque)
{
    return edxbus_signal_connect_detachable(sig, name, fn, opaque, NULL);
}

edxbus_err_t edxbus_signal_connect_detachable(edxbus_signal_t *sig, const char *name,
                                              edxbus_receiver_fn fn, void *opaque,
                                              edxbus_detach_fn on_detach)
{
    if (fn == NULL)
        return EDXBUS_ERR_INVALID_ARG;
    if (receiver_index(sig, fn, opaque) >= 0)
        return EDXBUS_OK;
    if (sig->nrecv == sig->caprecv) {
        size_t cap = sig->caprecv ? sig->caprecv * 2 : 4;
        struct edxbus__receiver *r = realloc(sig->recv, cap * sizeof *r);
        if (r == NULL)
            return EDXBUS_ERR_NOMEM;
        sig->recv = r;
        sig->caprecv = cap;
    }
    char *copy = strdup(name != NULL ? name : "receiver");
    if (copy == NULL)
        return EDXBUS_ERR_NOMEM;
    sig->recv[sig->nrecv++] =
        (struct edxbus__receiver){.name = copy, .fn = fn, .opaque = opaque, .on_detach = on_detach};
    return EDXBUS_OK;
}

edxbus_err_t edxbus_signal_disconnect(edxbus_signal_t *sig, edxbus_receiver_fn fn, void *opaque)
{
    ptrdiff_t i = receiver_index(sig, fn, opaque);
    if (i < 0)
        return EDXBUS_ERR_NOT_FOUND;
    free(sig->recv[i].name);
    memmove(&sig->recv[i], &sig->recv[i + 1], (sig->nrecv - (size_t)i - 1) * sizeof *sig->recv);
    sig->nrecv--;
    return EDXBUS_OK;
}

edxbus_err_t edxbus_bus_connect_all(edxbus_bus_t *bus, const char *name, edxbus_receiver_fn fn,
                                    void *opaque)
{
    for (size_t i = 0; i < bus->nsignals; i++) {
        edxbus_err_t err = edxbus_signal_connect(&bus->signals[i], name, fn, opaque);
        if (err != EDXBUS_OK) {
            edxbus_bus_disconnect_all(bus, fn, opaque);
            return err;
        }
    }
    return EDXBUS_OK;
}

void edxbus_bus_disconnect_all(edxbus_bus_t *bus, edxbus_receiver_fn fn, void *opaque)
{
    for (size_t i = 0; i < bus->nsignals; i++)
        (void)edxbus_signal_disconnect(&bus->signals[i], fn, opaque);
}

size_t edxbus_signal_receiver_count(const edxbus_signal_t *sig)
{
    return sig->nrecv;
}

void edxbus_signal_enable(edxbus_signal_t *sig)
{
    sig->enabled = true;
}

void edxbus_signal_disable(edxbus_signal_t *sig)
{
    sig->enabled = false;
}

bool edxbus_signal_is_enabled(const edxbus_signal_t *sig)
{
    return sig->enabled;
}

/* ---------------------------------------------------------------------------------------------
 * The event receivers see
 * ------------------------------------------------------------------------------------------- */

const edxbus_event_type_t *edxbus_event_get_type(const edxbus_event_t *ev)
{
    return ev->et;
}

/* Lazy fills mutate an event receivers see as const: the event is the sender's stack value
 * and a dispatch runs on one thread, so this is safe. */
const json_t *edxbus_event_get_data(const edxbus_event_t *cev)
{
    struct edxbus_event *ev = (struct edxbus_event *)cev;
    if (ev->data == NULL && !ev->lazy_failed && ev->value != NULL) {
        char errstr[EDXBUS_ERRSTR_SIZE];
        if (edxbus_event_decode(ev->et, ev->value, ev->value_len, &ev->data_owned, errstr,
                                sizeof errstr) == EDXBUS_OK)
            ev->data = ev->data_owned;
        else
            ev->lazy_failed = true;
    }
    return ev->data;
}

const uint8_t *edxbus_event_get_value(const edxbus_event_t *cev, size_t *len)
{
    struct edxbus_event *ev = (struct edxbus_event *)cev;
    if (ev->value == NULL && !ev->lazy_failed && ev->data != NULL) {
        char errstr[EDXBUS_ERRSTR_SIZE];
        if (edxbus_event_encode(ev->et, ev->data, EDXBUS_AVRO_NO_CHECKS, &ev->value_buf, errstr,
                                sizeof errstr) == EDXBUS_OK) {
            ev->value = ev->value_buf.data != NULL ? ev->value_buf.data : (const uint8_t *)"";
            ev->value_len = ev->value_buf.len;
        } else {
            ev->lazy_failed = true;
        }
    }
    if (len != NULL)
        *len = ev->value != NULL ? ev->value_len : 0;
    return ev->value;
}

const struct edxbus_metadata *edxbus_event_get_metadata(const edxbus_event_t *ev)
{
    return ev->md;
}

bool edxbus_event_is_from_bus(const edxbus_event_t *ev)
{
    return ev->from_bus;
}

const struct edxbus_msg *edxbus_event_get_msg(const edxbus_event_t *ev)
{
    return ev->msg;
}

unsigned edxbus_event_get_attempt(const edxbus_event_t *ev)
{
    return ev->attempt;
}

void edxbus__event_fini(struct edxbus_event *ev)
{
    json_decref(ev->data_owned);
    ev->data_owned = NULL;
    edxbus_buf_fini(&ev->value_buf);
}

/* ---------------------------------------------------------------------------------------------
 * Dispatch
 * ------------------------------------------------------------------------------------------- */

/* snprintf("%s") without the format machinery: @p src truncated to fit @p size, terminated. */
static void copy_text(char *dst, size_t size, const char *src)
{
    size_t n = strnlen(src, size - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* The report a send fills: the caller's, or @p local when the caller passed none; reset. */
static struct edxbus_send_report *report_start(struct edxbus_send_report *report,
                                               struct edxbus_send_report *local)
{
    if (report == NULL)
        report = local;
    report->ncalled = 0;
    report->nfailed = 0;
    report->disabled = false;
    report->producer_err = EDXBUS_OK;
    return report;
}

static edxbus_err_t disabled(edxbus_signal_t *sig, struct edxbus_send_report *report, char *errstr,
                             size_t errstr_size)
{
    if (report != NULL)
        report->disabled = true;
    const char *name = edxbus_event_type_signal(sig->et);
    edxbus__errf(errstr, errstr_size, "signal %s (%s) is disabled; nothing was sent",
                 name != NULL ? name : "-", edxbus_event_type_name(sig->et));
    return EDXBUS_ERR_STATE;
}

edxbus_err_t edxbus__signal_dispatch(edxbus_signal_t *sig, struct edxbus_event *ev, unsigned flags,
                                     bool *done, struct edxbus_send_report *report, char *errstr,
                                     size_t errstr_size)
{
    /* Not `= {0}`: the report holds a 1.6 kB metadata struct, and clearing it per event was
     * measurable; report_start() sets every field a dispatch reads. The same for the text
     * buffers below: only their first byte needs to be set. */
    struct edxbus_send_report local;
    local.results = NULL;
    local.cap = 0;
    report = report_start(report, &local);
    if (!sig->enabled)
        return disabled(sig, report, errstr, errstr_size);

    edxbus_err_t first = EDXBUS_OK;
    char producer_errstr[EDXBUS_ERRSTR_SIZE];
    producer_errstr[0] = '\0';
    for (size_t i = 0; i < sig->nrecv; i++) {
        if (done != NULL && done[i])
            continue;
        const struct edxbus__receiver *r = &sig->recv[i];
        if ((flags & EDXBUS_SEND_BROKER_ONLY) && r->fn != edxbus__producer_receiver)
            continue; /* a retry of the broker write only */
        char rerr[EDXBUS_ERRSTR_SIZE];
        rerr[0] = '\0';
        edxbus_err_t err = r->fn(ev, r->opaque, rerr, sizeof rerr);
        size_t k = report->ncalled++;
        if (k < report->cap && report->results != NULL) {
            struct edxbus_receiver_result *res = &report->results[k];
            copy_text(res->receiver, sizeof res->receiver, r->name);
            res->err = err;
            copy_text(res->errstr, sizeof res->errstr, err == EDXBUS_OK ? "" : rerr);
        }
        if (err == EDXBUS_OK) {
            if (done != NULL)
                done[i] = true;
            continue;
        }
        report->nfailed++;
        if (r->fn == edxbus__producer_receiver && report->producer_err == EDXBUS_OK) {
            report->producer_err = err;
            snprintf(producer_errstr, sizeof producer_errstr, "%s", rerr);
        }
        if (first == EDXBUS_OK) {
            first = err;
            edxbus__errf(errstr, errstr_size, "receiver \"%s\" failed: %s", r->name,
                         rerr[0] != '\0' ? rerr : edxbus_err2str(err));
        }
        if (flags & EDXBUS_SEND_STRICT)
            break;
    }
    if (first == EDXBUS_OK)
        return EDXBUS_OK;
    if (report->producer_err != EDXBUS_OK) /* the broker write failed: that failure's class */
        edxbus__errf(errstr, errstr_size, "receiver \"%s\" failed: %s", PRODUCER_RECEIVER_NAME,
                     producer_errstr[0] != '\0' ? producer_errstr
                                                : edxbus_err2str(report->producer_err));
    if (report->nfailed > 1 && errstr != NULL) {
        size_t used = strlen(errstr);
        if (used < errstr_size)
            snprintf(errstr + used, errstr_size - used, " (and %zu more)", report->nfailed - 1);
    }
    return report->producer_err != EDXBUS_OK ? report->producer_err : EDXBUS_ERR_RECEIVER;
}

/* ---------------------------------------------------------------------------------------------
 * Sending
 * ------------------------------------------------------------------------------------------- */

/* Encode @p data into @p out, prefixing the encoder's line with the event type. */
static edxbus_err_t check_data(const edxbus_event_type_t *et, const json_t *data, unsigned flags,
                               struct edxbus_buf *out, char *errstr, size_t errstr_size)
{
    char eerr[EDXBUS_ERRSTR_SIZE] = "";
    if (data == NULL || !json_is_object(data)) {
        edxbus__errf(errstr, errstr_size, "%s: the event data must be a JSON object",
                     edxbus_event_type_name(et));
        return EDXBUS_ERR_ENCODE;
    }
    unsigned aflags = (flags & EDXBUS_SEND_NO_CHECKS) ? EDXBUS_AVRO_NO_CHECKS : 0;
    edxbus_err_t err = edxbus_event_encode(et, data, aflags, out, eerr, sizeof eerr);
    if (err != EDXBUS_OK)
        edxbus__errf(errstr, errstr_size, "%s: %s", edxbus_event_type_name(et), eerr);
    return err;
}

static edxbus_err_t send_common(edxbus_signal_t *sig, const json_t *data, const uint8_t *value,
                                size_t value_len, const struct edxbus_metadata *given_md,
                                unsigned flags, struct edxbus_send_report *report, char *errstr,
                                size_t errstr_size)
{
    struct edxbus_send_report local; /* not cleared: see edxbus__signal_dispatch() */
    local.results = NULL;
    local.cap = 0;
    report = report_start(report, &local);
    if (!sig->enabled)
        return disabled(sig, report, errstr, errstr_size);

    struct edxbus_event ev = {.et = sig->et, .data = data, .attempt = 1};
    edxbus_err_t err;
    if (value == NULL) {
        /* One allocation that holds most events (growing from nothing took four). */
        if (edxbus_buf_reserve(&ev.value_buf, 1024) != EDXBUS_OK) {
            err = EDXBUS_ERR_NOMEM;
            edxbus__errf(errstr, errstr_size, "%s: out of memory", edxbus_event_type_name(sig->et));
            goto out_event;
        }
        err = check_data(sig->et, data, flags, &ev.value_buf, errstr, errstr_size);
        if (err != EDXBUS_OK)
            goto out_event;
        ev.value = ev.value_buf.data != NULL ? ev.value_buf.data : (const uint8_t *)"";
        ev.value_len = ev.value_buf.len;
    } else {
        ev.value = value;
        ev.value_len = value_len;
    }

    if (given_md != NULL) {
        report->metadata = *given_md;
        ev.from_bus = !(flags & EDXBUS_SEND_OWN_METADATA);
    } else {
        const edxbus_conf_t *conf = sig->bus->conf;
        err = edxbus_metadata_generate(&report->metadata, edxbus_event_type_name(sig->et),
                                       edxbus_event_type_minor_version(sig->et),
                                       edxbus_conf_service_name(conf), errstr, errstr_size);
        if (err != EDXBUS_OK)
            goto out_event;
    }
    ev.md = &report->metadata;
    err = edxbus__signal_dispatch(sig, &ev, flags, NULL, report, errstr, errstr_size);
out_event:
    edxbus__event_fini(&ev);
    return err;
}

static edxbus_err_t unknown_type(edxbus_bus_t *bus, const char *event_type, char *errstr,
                                 size_t errstr_size)
{
    const char *near = edxbus_catalog_suggest(bus->cat, event_type);
    if (near != NULL)
        edxbus__errf(errstr, errstr_size, "unknown event type \"%s\"; did you mean %s?", event_type,
                     near);
    else
        edxbus__errf(errstr, errstr_size,
                     "unknown event type \"%s\"; `edxbus events list` shows the known ones",
                     event_type);
    return EDXBUS_ERR_NOT_FOUND;
}

edxbus_err_t edxbus_signal_send(edxbus_signal_t *sig, const json_t *data, unsigned flags,
                                struct edxbus_send_report *report, char *errstr, size_t errstr_size)
{
    return send_common(sig, data, NULL, 0, NULL, flags, report, errstr, errstr_size);
}

edxbus_err_t edxbus_signal_send_encoded(edxbus_signal_t *sig, const uint8_t *value, size_t len,
                                        unsigned flags, struct edxbus_send_report *report,
                                        char *errstr, size_t errstr_size)
{
    if (value == NULL)
        value = (const uint8_t *)"";
    return send_common(sig, NULL, value, len, NULL, flags, report, errstr, errstr_size);
}

edxbus_err_t edxbus_send_event(edxbus_bus_t *bus, const char *event_type, const json_t *data,
                               unsigned flags, struct edxbus_send_report *report, char *errstr,
                               size_t errstr_size)
{
    edxbus_signal_t *sig = edxbus_bus_signal(bus, event_type);
    if (sig == NULL)
        return unknown_type(bus, event_type, errstr, errstr_size);
    return send_common(sig, data, NULL, 0, NULL, flags, report, errstr, errstr_size);
}

edxbus_err_t edxbus_send_event_with_custom_metadata(edxbus_bus_t *bus,
                                                    const struct edxbus_metadata *md,
                                                    const json_t *data, unsigned flags,
                                                    struct edxbus_send_report *report, char *errstr,
                                                    size_t errstr_size)
{
    edxbus_signal_t *sig = edxbus_bus_signal(bus, md->event_type);
    if (sig == NULL)
        return unknown_type(bus, md->event_type, errstr, errstr_size);
    return send_common(sig, data, NULL, 0, md, flags, report, errstr, errstr_size);
}

edxbus_err_t edxbus_bus_resend(edxbus_bus_t *bus, const struct edxbus_send_report *failed,
                               const json_t *data, struct edxbus_send_report *report, char *errstr,
                               size_t errstr_size)
{
    const struct edxbus_metadata *md = &failed->metadata;
    edxbus_signal_t *sig = edxbus_bus_signal(bus, md->event_type);
    if (sig == NULL)
        return unknown_type(bus, md->event_type, errstr, errstr_size);
    bool routed = false;
    for (size_t i = 0; i < sig->nrecv && !routed; i++)
        routed = sig->recv[i].fn == edxbus__producer_receiver;
    if (bus->prod == NULL || !routed) {
        edxbus__errf(errstr, errstr_size,
                     "resend of event %s: no producer sends %s (EVENT_BUS_PRODUCER_CONFIG routes "
                     "it nowhere, or the producer is not running)",
                     md->id, md->event_type);
        return EDXBUS_ERR_STATE;
    }
    return send_common(sig, data, NULL, 0, md, EDXBUS_SEND_OWN_METADATA | EDXBUS_SEND_BROKER_ONLY,
                       report, errstr, errstr_size);
}
