/* src/typed/typed_bus.c — the typed API on the bus: send a data struct, receive one.
 *
 * Sending encodes the struct with its straight-line encoder (checks included) and hands the
 * bytes to edxbus_signal_send_encoded(), so receivers and the producer share them and no JSON
 * tree is built unless a receiver asks for one. Receiving connects a trampoline receiver whose
 * opaque pointer is the caller's struct edxbus_typed_receiver: for each event it takes the Avro
 * body (edxbus_event_get_value()), decodes it with the typed decoder into an arena that starts
 * on the stack, and calls the event's typed callback through the descriptor's invoke (which
 * casts the callback back to its real type, so no call goes through a mismatched pointer).
 */
#include <stdio.h>

#include "typed/typed_int.h"

/* Stack storage for decoding one received event: the struct and its lists fit here unless the
 * event carries long lists, and then the arena grows on the heap for that call only. */
#define RECEIVE_STACK 2048

edxbus_err_t edxbus_typed_send(edxbus_bus_t *bus, const struct edxbus_typed_event *tev,
                               const void *data, unsigned flags, struct edxbus_send_report *report,
                               char *errstr, size_t errstr_size)
{
    if (report != NULL) { /* nothing sent yet: a reused report must not keep its old counts */
        report->ncalled = 0;
        report->nfailed = 0;
        report->disabled = false;
    }
    edxbus_signal_t *sig = edxbus_bus_signal(bus, tev->event_type);
    if (sig == NULL) {
        if (errstr != NULL && errstr_size > 0)
            edxbus_errf(errstr, errstr_size, "event type \"%s\" is not in the bus's catalog",
                        tev->event_type);
        return EDXBUS_ERR_NOT_FOUND;
    }
    struct edxbus_buf buf = EDXBUS_BUF_INIT;
    unsigned enc_flags = (flags & EDXBUS_SEND_NO_CHECKS) ? EDXBUS_AVRO_NO_CHECKS : 0;
    char eerr[EDXBUS_ERRSTR_SIZE] = "";
    edxbus_err_t err = tev->encode(data, enc_flags, &buf, eerr, sizeof eerr);
    if (err == EDXBUS_OK) {
        err =
            edxbus_signal_send_encoded(sig, buf.data, buf.len, flags, report, errstr, errstr_size);
    } else if (errstr != NULL && errstr_size > 0) {
        /* as edxbus_send_event() words it: the event type, then the encoder's line */
        edxbus_errf(errstr, errstr_size, "%s: %s", tev->event_type, eerr);
    }
    edxbus_buf_fini(&buf);
    return err;
}

static edxbus_err_t trampoline(const edxbus_event_t *ev, void *opaque, char *errstr,
                               size_t errstr_size)
{
    const struct edxbus_typed_receiver *rcv = opaque;
    size_t len = 0;
    /* NULL only when the event came as JSON and encoding it failed (out of memory, or data a
     * resolved writer schema let through): a valid empty body is "" with len 0, never NULL */
    const uint8_t *value = edxbus_event_get_value(ev, &len);
    if (value == NULL) {
        edxbus_errf(errstr, errstr_size,
                    "no Avro body for the event (out of memory, or JSON data the schema refuses)");
        return EDXBUS_ERR_NOMEM;
    }
    _Alignas(EDXBUS_ARENA_ALIGN) uint8_t stack[RECEIVE_STACK];
    struct edxbus_arena arena;
    edxbus_arena_init(&arena, stack, sizeof stack);
    void *data = edxbus_arena_alloc(&arena, rcv->tev->size);
    edxbus_err_t err = EDXBUS_ERR_NOMEM;
    if (data == NULL) {
        edxbus_errf(errstr, errstr_size, "out of memory");
        goto out;
    }
    err = rcv->tev->decode(value, len, &arena, data, errstr, errstr_size);
    if (err == EDXBUS_OK)
        err = rcv->tev->invoke(rcv->fn, data, ev, rcv->opaque, errstr, errstr_size);
out:
    edxbus_arena_fini(&arena);
    return err;
}

/* The bus is being destroyed with @p opaque still connected: nothing left to disconnect. */
static void detached(void *opaque)
{
    struct edxbus_typed_receiver *rcv = opaque;
    rcv->sig = NULL;
}

edxbus_err_t edxbus_typed_connect(edxbus_bus_t *bus, struct edxbus_typed_receiver *rcv,
                                  const struct edxbus_typed_event *tev, const char *name,
                                  edxbus_typed_fn fn, void *opaque)
{
    edxbus_signal_t *sig = edxbus_bus_signal(bus, tev->event_type);
    rcv->sig = NULL;
    if (sig == NULL)
        return EDXBUS_ERR_NOT_FOUND;
    rcv->tev = tev;
    rcv->fn = fn;
    rcv->opaque = opaque;
    edxbus_err_t err = edxbus_signal_connect_detachable(sig, name, trampoline, rcv, detached);
    if (err == EDXBUS_OK)
        rcv->sig = sig;
    return err;
}

void edxbus_typed_disconnect(struct edxbus_typed_receiver *rcv)
{
    if (rcv == NULL || rcv->sig == NULL)
        return;
    edxbus_signal_disconnect(rcv->sig, trampoline, rcv);
    rcv->sig = NULL;
}
