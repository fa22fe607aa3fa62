/* python/src/producer.c — edxbus.Producer: put events on the broker EVENT_BUS_PRODUCER names.
 *
 *     p = edxbus.Producer({"EVENT_BUS_PRODUCER": "redis", ...}, asynchronous=True)
 *     event_id = p.send(event_type, topic, event_key_field, data, metadata)
 *     p.flush()
 *
 * This is what openedx-events' EventBusProducer.send() needs: openedx-events has already chosen
 * the topic and key field (its EVENT_BUS_PRODUCER_CONFIG handler), so the producer must send to
 * exactly that topic, not route again. It holds a bus whose own routing is emptied (so the bus
 * opens no producer of its own) and a producer opened on the same settings; one receiver on every
 * signal hands each event it is given to that producer, with the topic and key field of the send
 * in progress. A send re-emits the data through its signal with the metadata given
 * (edxbus_send_event_with_custom_metadata + EDXBUS_SEND_OWN_METADATA), so the library checks the
 * data against the schema, encodes it once and the backend writes the same bytes as any edxbus
 * producer. Without metadata a fresh one is generated.
 *
 * Asynchronous mode (asynchronous=True): sends queue; delivery reports are collected in C while
 * the GIL is released and handed to on_delivery(event_id, error_text_or_None) once it is held
 * again, or, without a callback, counted: flush() raises BrokerError naming the first failure.
 *
 * Threads: send/flush/close release the GIL around the library and take the object's lock, so
 * several Python threads may share one producer (their sends are serialised).
 */
#include "_edxbus.h"

#include <stdlib.h>
#include <string.h>

struct report {
    char *event_id;
    char *error; /* NULL: delivered */
};

typedef struct {
    PyObject_HEAD edxbus_bus_t *bus;
    edxbus_producer_t *prod;
    PyThread_type_lock lock;
    const char *topic;     /* of the send in progress, read by the receiver */
    const char *key_field; /* idem; NULL: no key */
    int async;
    PyObject *on_delivery;  /* callable or NULL */
    struct report *reports; /* async reports not yet handed to Python (under lock) */
    size_t nreports, capreports;
    uint64_t failures; /* since the last flush (async, no callback) */
    char first_failure[EDXBUS_ERRSTR_SIZE];
} Producer;

/* The one receiver: the event goes to the topic of the send in progress. */
static edxbus_err_t send_receiver(const edxbus_event_t *ev, void *opaque, char *errstr,
                                  size_t errstr_size)
{
    Producer *self = opaque;
    if (edxbus_event_is_from_bus(ev) || self->topic == NULL)
        return EDXBUS_OK; /* events that came from the bus are never produced again */
    return edxbus_producer_send(self->prod, ev, self->topic, self->key_field, errstr, errstr_size);
}

/* Delivery reports arrive on the thread inside send/flush/close, with the lock held. */
static void on_delivery_c(void *opaque, const struct edxbus_delivery *d)
{
    Producer *self = opaque;
    if (d->err != EDXBUS_OK && self->failures++ == 0)
        snprintf(self->first_failure, sizeof self->first_failure, "event %s: %s", d->event_id,
                 d->errstr);
    if (self->on_delivery == NULL)
        return;
    if (self->nreports == self->capreports) {
        size_t cap = self->capreports ? self->capreports * 2 : 64;
        struct report *r = realloc(self->reports, cap * sizeof *r);
        if (r == NULL)
            return; /* the counters above still say it */
        self->reports = r;
        self->capreports = cap;
    }
    struct report *r = &self->reports[self->nreports];
    r->event_id = strdup(d->event_id);
    r->error = d->err != EDXBUS_OK ? strdup(d->errstr) : NULL;
    if (r->event_id != NULL)
        self->nreports++;
}

/* Take the pending reports out (lock held). */
static struct report *take_reports(Producer *self, size_t *n)
{
    struct report *r = self->reports;
    *n = self->nreports;
    self->reports = NULL;
    self->nreports = self->capreports = 0;
    return r;
}

/* Hand reports to on_delivery (GIL held). Returns 0, or -1 with the first callback's exception. */
static int dispatch(Producer *self, struct report *r, size_t n)
{
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        if (rc == 0 && self->on_delivery != NULL) {
            PyObject *res =
                PyObject_CallFunction(self->on_delivery, "sz", r[i].event_id, r[i].error);
            if (res == NULL)
                rc = -1;
            Py_XDECREF(res);
        }
        free(r[i].event_id);
        free(r[i].error);
    }
    free(r);
    return rc;
}

static void close_handles(Producer *self)
{
    edxbus_bus_t *bus = self->bus;
    edxbus_producer_t *prod = self->prod;
    self->bus = NULL;
    self->prod = NULL;
    if (bus == NULL && prod == NULL)
        return;
    struct report *r;
    size_t n;
    Py_BEGIN_ALLOW_THREADS PyThread_acquire_lock(self->lock, WAIT_LOCK);
    edxbus_producer_destroy(prod); /* flushes: the last reports come now */
    edxbus_bus_destroy(bus);
    r = take_reports(self, &n);
    PyThread_release_lock(self->lock);
    Py_END_ALLOW_THREADS if (dispatch(self, r, n) != 0) PyErr_WriteUnraisable(self->on_delivery);
}

static int Producer_init(Producer *self, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"settings", "env", "asynchronous", "on_delivery", NULL};
    PyObject *settings = Py_None, *on_delivery = Py_None;
    int env = 0, async = 0;
    char err[EDXBUS_ERRSTR_SIZE] = "";
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|O$ppO:Producer", kwlist, &settings, &env,
                                     &async, &on_delivery))
        return -1;
    if (self->bus != NULL) {
        PyErr_SetString(PyExc_RuntimeError, "Producer.__init__ called twice");
        return -1;
    }
    if (on_delivery != Py_None && !PyCallable_Check(on_delivery)) {
        PyErr_SetString(PyExc_TypeError, "on_delivery must be callable or None");
        return -1;
    }
    if (self->lock == NULL && (self->lock = PyThread_allocate_lock()) == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    edxbus_conf_t *conf = edxbus_py_conf(settings, env);
    if (conf == NULL)
        return -1;
    edxbus_conf_t *pconf = edxbus_conf_dup(conf);
    json_t *empty = json_object();
    edxbus_err_t e = pconf != NULL && empty != NULL ? EDXBUS_OK : EDXBUS_ERR_NOMEM;
    /* The caller routes; the bus must not open a producer of its own from the settings. */
    if (e == EDXBUS_OK)
        e = edxbus_conf_set_json(conf, "EVENT_BUS_PRODUCER_CONFIG", empty, err, sizeof err);
    json_decref(empty);
    edxbus_bus_t *bus = NULL;
    edxbus_producer_t *prod = NULL;
    if (e == EDXBUS_OK) {
        Py_BEGIN_ALLOW_THREADS bus = edxbus_bus_new(conf, err, sizeof err);
        if (bus != NULL)
            prod = edxbus_producer_new(pconf, err, sizeof err);
        Py_END_ALLOW_THREADS e = bus == NULL    ? EDXBUS_ERR_CONF
                                 : prod == NULL ? edxbus_py_open_error(err)
                                                : EDXBUS_OK;
    }
    if (e != EDXBUS_OK) {
        /* Each constructor takes its conf on success only. */
        if (bus != NULL)
            edxbus_bus_destroy(bus);
        else
            edxbus_conf_destroy(conf);
        edxbus_conf_destroy(pconf);
        edxbus_py_raise(e, err);
        return -1;
    }
    self->bus = bus;
    self->prod = prod;
    self->async = async;
    Py_XSETREF(self->on_delivery, on_delivery != Py_None ? Py_NewRef(on_delivery) : NULL);
    if (edxbus_bus_connect_all(bus, "edxbus.Producer", send_receiver, self) != EDXBUS_OK) {
        close_handles(self);
        PyErr_NoMemory();
        return -1;
    }
    if (async)
        edxbus_producer_set_delivery_cb(prod, on_delivery_c, self);
    return 0;
}

static int check_open(Producer *self)
{
    if (self->prod != NULL)
        return 0;
    edxbus_py_raise(EDXBUS_ERR_STATE, "producer is closed");
    return -1;
}

/* The metadata of a send: generated for @p type, then overridden by @p given (a dict). */
static int make_metadata(Producer *self, const char *type, PyObject *given,
                         struct edxbus_metadata *md)
{
    char err[EDXBUS_ERRSTR_SIZE] = "";
    edxbus_signal_t *sig = edxbus_bus_signal(self->bus, type);
    if (sig == NULL) {
        const char *near = edxbus_catalog_suggest(edxbus_bus_catalog(self->bus), type);
        snprintf(err, sizeof err, "unknown event type \"%s\"%s%s%s", type,
                 near ? "; did you mean " : "", near ? near : "", near ? "?" : "");
        edxbus_py_raise(EDXBUS_ERR_NOT_FOUND, err);
        return -1;
    }
    const edxbus_event_type_t *et = edxbus_signal_event_type(sig);
    edxbus_err_t e = edxbus_metadata_generate(md, type, edxbus_event_type_minor_version(et),
                                              edxbus_conf_service_name(edxbus_bus_conf(self->bus)),
                                              err, sizeof err);
    if (e == EDXBUS_OK && given != NULL && given != Py_None) {
        if (!PyDict_Check(given)) {
            PyErr_SetString(PyExc_TypeError,
                            "metadata must be a dict of EventsMetadata fields or None");
            return -1;
        }
        json_t *j = edxbus_py_to_json(given, "metadata");
        if (j == NULL)
            return -1;
        e = edxbus_metadata_from_json_value(md, j, err, sizeof err);
        json_decref(j);
        if (e == EDXBUS_OK && strcmp(md->event_type, type) != 0) {
            snprintf(err, sizeof err,
                     "metadata: event_type \"%.100s\" differs from the event type %.100s",
                     md->event_type, type);
            e = EDXBUS_ERR_INVALID_ARG;
        }
    }
    if (e != EDXBUS_OK) {
        edxbus_py_raise(e, err);
        return -1;
    }
    return 0;
}

static PyObject *Producer_send(Producer *self, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"event_type", "topic", "event_key_field", "data", "metadata", NULL};
    const char *type, *topic, *key_field;
    PyObject *data_obj, *md_obj = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "sszO|O:send", kwlist, &type, &topic, &key_field,
                                     &data_obj, &md_obj))
        return NULL;
    if (check_open(self) != 0)
        return NULL;
    if (!PyDict_Check(data_obj)) {
        PyErr_SetString(PyExc_TypeError, "data must be a dict (the event's plain JSON form)");
        return NULL;
    }
    struct edxbus_metadata md;
    if (make_metadata(self, type, md_obj, &md) != 0)
        return NULL;
    json_t *data = edxbus_py_to_json(data_obj, "data");
    if (data == NULL)
        return NULL;
    char err[EDXBUS_ERRSTR_SIZE] = "";
    struct edxbus_receiver_result res[2];
    struct edxbus_send_report rep = {.results = res, .cap = 2};
    edxbus_err_t e;
    struct report *r;
    size_t n;
    Py_BEGIN_ALLOW_THREADS PyThread_acquire_lock(self->lock, WAIT_LOCK);
    self->topic = topic;
    self->key_field = key_field;
    for (;;) {
        e = edxbus_send_event_with_custom_metadata(self->bus, &md, data, EDXBUS_SEND_OWN_METADATA,
                                                   &rep, err, sizeof err);
        if (e == EDXBUS_ERR_RECEIVER && rep.ncalled > 0) {
            e = res[0].err;
            memcpy(err, res[0].errstr, sizeof err);
        }
        if (e != EDXBUS_ERR_QUEUE_FULL || !self->async)
            break;
        /* A full queue: let it drain, then send again (the failed send queued nothing). */
        char ferr[EDXBUS_ERRSTR_SIZE];
        edxbus_producer_flush(self->prod, 60000, ferr, sizeof ferr);
    }
    self->topic = self->key_field = NULL;
    r = take_reports(self, &n);
    PyThread_release_lock(self->lock);
    Py_END_ALLOW_THREADS json_decref(data);
    if (dispatch(self, r, n) != 0)
        return NULL;
    if (e != EDXBUS_OK)
        return edxbus_py_raise(e, err);
    return PyUnicode_FromString(md.id);
}

static PyObject *Producer_flush(Producer *self, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"timeout", NULL};
    double timeout = 30.0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|d:flush", kwlist, &timeout))
        return NULL;
    if (check_open(self) != 0)
        return NULL;
    char err[EDXBUS_ERRSTR_SIZE] = "", first[EDXBUS_ERRSTR_SIZE];
    int ms = timeout <= 0 ? 0 : timeout > 86400 ? 86400000 : (int)(timeout * 1000);
    edxbus_err_t e;
    struct report *r;
    size_t n;
    uint64_t failures;
    Py_BEGIN_ALLOW_THREADS PyThread_acquire_lock(self->lock, WAIT_LOCK);
    e = edxbus_producer_flush(self->prod, ms, err, sizeof err);
    r = take_reports(self, &n);
    failures = self->failures;
    memcpy(first, self->first_failure, sizeof first);
    self->failures = 0;
    PyThread_release_lock(self->lock);
    Py_END_ALLOW_THREADS if (dispatch(self, r, n) != 0) return NULL;
    if (e != EDXBUS_OK)
        return edxbus_py_raise(e, err);
    if (failures > 0 && self->on_delivery == NULL) {
        snprintf(err, sizeof err, "%llu events not delivered; first: %s",
                 (unsigned long long)failures, first);
        return edxbus_py_raise(EDXBUS_ERR_BROKER, err);
    }
    Py_RETURN_NONE;
}

static PyObject *Producer_close(Producer *self, PyObject *unused)
{
    close_handles(self);
    Py_RETURN_NONE;
}

static PyObject *Producer_exit(Producer *self, PyObject *args)
{
    close_handles(self);
    Py_RETURN_FALSE;
}

static void Producer_dealloc(Producer *self)
{
    close_handles(self);
    Py_CLEAR(self->on_delivery);
    if (self->lock != NULL)
        PyThread_free_lock(self->lock);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *Producer_get_delivered(Producer *self, void *closure)
{
    return PyLong_FromUnsignedLongLong(self->prod ? edxbus_producer_delivered(self->prod) : 0);
}

static PyObject *Producer_get_failed(Producer *self, void *closure)
{
    return PyLong_FromUnsignedLongLong(self->prod ? edxbus_producer_failed(self->prod) : 0);
}

static PyObject *Producer_get_backend(Producer *self, void *closure)
{
    if (check_open(self) != 0)
        return NULL;
    return PyUnicode_FromString(edxbus_producer_backend_name(self->prod));
}

static PyMethodDef Producer_methods[] = {
    {"send", (PyCFunction)(void (*)(void))Producer_send, METH_VARARGS | METH_KEYWORDS,
     "send(event_type, topic, event_key_field, data, metadata=None) -> event id\n\n"
     "Send one event to topic (EVENT_BUS_TOPIC_PREFIX is added), keyed by the dotted\n"
     "event_key_field (None: no key). data is the plain JSON form (a dict); metadata a dict of\n"
     "EventsMetadata fields (as to_json() writes them) or None for fresh metadata.\n"
     "Synchronous: returns once the broker holds it. Raises EncodeError, BrokerError, Error."},
    {"flush", (PyCFunction)(void (*)(void))Producer_flush, METH_VARARGS | METH_KEYWORDS,
     "flush(timeout=30.0)\n\nWait until every queued event is reported (seconds). Raises\n"
     "BrokerError on timeout or, without on_delivery, when events failed since the last flush."},
    {"close", (PyCFunction)Producer_close, METH_NOARGS,
     "close()\n\nFlush, then release the broker."},
    {"__enter__", edxbus_py_enter, METH_NOARGS, NULL},
    {"__exit__", (PyCFunction)Producer_exit, METH_VARARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef Producer_getset[] = {
    {"delivered", (getter)Producer_get_delivered, NULL, "events the broker holds so far", NULL},
    {"failed", (getter)Producer_get_failed, NULL, "events whose send or delivery failed", NULL},
    {"backend", (getter)Producer_get_backend, NULL, "the backend's name (\"sqlite\")", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

PyTypeObject EdxbusProducer_Type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "edxbus.Producer",
    .tp_basicsize = sizeof(Producer),
    .tp_dealloc = (destructor)Producer_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_doc = "Producer(settings=None, *, env=False, asynchronous=False, on_delivery=None)\n\n"
              "Sends events to the broker EVENT_BUS_PRODUCER names (sqlite, redis, kafka, …).",
    .tp_methods = Producer_methods,
    .tp_getset = Producer_getset,
    .tp_init = (initproc)Producer_init,
    .tp_new = PyType_GenericNew,
};
