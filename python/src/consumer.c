/* python/src/consumer.c — edxbus.Consumer: the worker loop on one topic in one group.
 *
 *     c = edxbus.Consumer("enrollments", "my-group", settings, extra={"start": "earliest"})
 *     stats = c.run(receiver)          # receiver(metadata: dict, data: dict), until SIGTERM
 *
 * run() is consume_events: each run joins the group through the backend EVENT_BUS_CONSUMER names
 * (edxbus_consumer_new), connects one receiver to every signal and runs edxbus_consumer_run()
 * with the GIL released. For every event the library decodes the value once and calls the
 * receiver, which takes the GIL and calls the Python callable with the seven metadata fields and
 * the decoded data. A callable that raises is a failed receiver: the bus retries it
 * (EVENT_BUS_CONSUMER_RETRIES, with backoff), then dead-letters the event, and acknowledges it
 * only after that — the library's policy, not ours. KeyboardInterrupt and SystemExit raised by
 * the callable stop the run (the event is treated as failed) and are raised again from run().
 *
 * Stopping: stop() (from another thread or the callable; it wakes a worker waiting for messages
 * at once with edxbus_consumer_stop()), max_events, or — with
 * handle_signals=True, the default — SIGTERM/SIGINT, whose handlers run() installs for its
 * duration and then restores: the current event is finished and acknowledged and run() returns
 * its counters, as the C worker does. The poll/ack mode lives in consumer_poll.c.
 */
#include "consumer_int.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

/* The consumer whose run() owns SIGTERM/SIGINT now (one at a time; NULL: none). */
static volatile sig_atomic_t *signal_target;

static void on_stop_signal(int sig)
{
    (void)sig;
    volatile sig_atomic_t *t = signal_target;
    if (t != NULL)
        *t = 1;
}

/* The receiver connected to every signal while run() is going. Called without the GIL. */
static edxbus_err_t worker_receiver(const edxbus_event_t *ev, void *opaque, char *errstr,
                                    size_t errstr_size)
{
    Consumer *self = opaque;
    const json_t *data = edxbus_event_get_data(ev); /* decoded by the library, GIL not held */
    if (data == NULL) {
        snprintf(errstr, errstr_size, "out of memory decoding the event");
        return EDXBUS_ERR_NOMEM;
    }
    edxbus_err_t rc = EDXBUS_OK;
    PyGILState_STATE gil = PyGILState_Ensure();
    PyObject *md = edxbus_py_metadata_dict(edxbus_event_get_metadata(ev));
    PyObject *pdata = md != NULL ? edxbus_py_from_json(data) : NULL;
    PyObject *res =
        pdata != NULL ? PyObject_CallFunctionObjArgs(self->receiver, md, pdata, NULL) : NULL;
    if (res == NULL) {
        if (PyErr_ExceptionMatches(PyExc_KeyboardInterrupt) ||
            PyErr_ExceptionMatches(PyExc_SystemExit)) {
            if (self->stop_exc_type == NULL)
                PyErr_Fetch(&self->stop_exc_type, &self->stop_exc_value, &self->stop_exc_tb);
            PyErr_Clear();
            self->stop = 1;
            edxbus_consumer_stop(self->run_cons); /* this thread's own run */
            snprintf(errstr, errstr_size, "receiver interrupted; stopping");
        } else {
            edxbus_py_exception_line(errstr, errstr_size);
        }
        rc = EDXBUS_ERR_RECEIVER;
    }
    Py_XDECREF(res);
    Py_XDECREF(pdata);
    Py_XDECREF(md);
    PyGILState_Release(gil);
    return rc;
}

static int Consumer_init(Consumer *self, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"topic", "group",         "settings",   "env",
                             "extra", "consumer_name", "start_time", NULL};
    const char *topic, *group, *name = NULL;
    PyObject *settings = Py_None, *extra = Py_None, *start_time = Py_None;
    int env = 0;
    char err[EDXBUS_ERRSTR_SIZE] = "";
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "ss|O$pOzO:Consumer", kwlist, &topic, &group,
                                     &settings, &env, &extra, &name, &start_time))
        return -1;
    if (self->bus != NULL) {
        PyErr_SetString(PyExc_RuntimeError, "Consumer.__init__ called twice");
        return -1;
    }
    self->start_time_ms = -1;
    if (start_time != Py_None) {
        double t = PyFloat_AsDouble(start_time);
        if (t == -1.0 && PyErr_Occurred())
            return -1;
        self->start_time_ms = (int64_t)(t * 1000.0);
    }
    if (extra != Py_None) {
        if (!PyDict_Check(extra)) {
            PyErr_SetString(PyExc_TypeError, "extra must be a dict (the --extra options) or None");
            return -1;
        }
        if ((self->extra = edxbus_py_to_json(extra, "extra")) == NULL)
            return -1;
    }
    self->topic = strdup(topic);
    self->group = strdup(group);
    self->consumer_name = name != NULL ? strdup(name) : NULL;
    if (self->lock == NULL)
        self->lock = PyThread_allocate_lock();
    if (self->run_lock == NULL)
        self->run_lock = PyThread_allocate_lock();
    if (self->topic == NULL || self->group == NULL || (name != NULL && !self->consumer_name) ||
        self->lock == NULL || self->run_lock == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    edxbus_conf_t *conf = edxbus_py_conf(settings, env);
    if (conf == NULL)
        return -1;
    /* A consumer re-emits; it never produces (and must not open a producer from the settings). */
    json_t *empty = json_object();
    edxbus_err_t e = empty != NULL ? edxbus_conf_set_json(conf, "EVENT_BUS_PRODUCER_CONFIG", empty,
                                                          err, sizeof err)
                                   : EDXBUS_ERR_NOMEM;
    json_decref(empty);
    if (e == EDXBUS_OK) {
        Py_BEGIN_ALLOW_THREADS self->bus = edxbus_bus_new(conf, err, sizeof err);
        Py_END_ALLOW_THREADS e = self->bus == NULL ? EDXBUS_ERR_CONF : EDXBUS_OK;
    }
    if (e != EDXBUS_OK) {
        edxbus_conf_destroy(conf); /* edxbus_bus_new takes it on success only */
        edxbus_py_raise(e, err);
        return -1;
    }
    return 0;
}

int edxbus_py_consumer_check_open(Consumer *self)
{
    if (self->bus != NULL)
        return 0;
    edxbus_py_raise(EDXBUS_ERR_STATE, "consumer is closed");
    return -1;
}

static PyObject *stats_dict(const struct edxbus_consumer_stats *s)
{
    /* seven counters ("s:K"), then disabled ("s:O"): keep the format and the pairs in step */
    return Py_BuildValue(
        "{s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:O}", "events", (unsigned long long)s->events, "delivered",
        (unsigned long long)s->delivered, "retries", (unsigned long long)s->retries,
        "dead_lettered", (unsigned long long)s->dead_lettered, "logged",
        (unsigned long long)s->logged, "duplicates", (unsigned long long)s->duplicates,
        "poll_errors", (unsigned long long)s->poll_errors, "disabled",
        s->disabled ? Py_True : Py_False);
}

static PyObject *Consumer_run(Consumer *self, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"receiver", "max_events", "handle_signals", NULL};
    PyObject *receiver;
    unsigned long long max_events = 0;
    int handle_signals = 1;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|$Kp:run", kwlist, &receiver, &max_events,
                                     &handle_signals))
        return NULL;
    if (edxbus_py_consumer_check_open(self) != 0)
        return NULL;
    if (!PyCallable_Check(receiver)) {
        PyErr_SetString(PyExc_TypeError, "receiver must be callable(metadata, data)");
        return NULL;
    }
    if (self->running || self->be != NULL)
        return edxbus_py_raise(EDXBUS_ERR_STATE,
                               self->running ? "run() is already going on this consumer"
                                             : "this consumer is in poll/ack mode; use another "
                                               "Consumer for run()");
    struct edxbus_consumer_config cfg = {
        .topic = self->topic,
        .group = self->group,
        .consumer_name = self->consumer_name,
        .extra = self->extra,
        .start_time_ms = self->start_time_ms,
        .max_events = max_events,
        /* The flag is for the signal handler; stop() and a receiver's exception wake the
         * worker with edxbus_consumer_stop(), so without handlers polls are not sliced. */
        .stop = handle_signals ? &self->stop : NULL,
    };
    char err[EDXBUS_ERRSTR_SIZE] = "";
    if (edxbus_bus_connect_all(self->bus, "python", worker_receiver, self) != EDXBUS_OK)
        return PyErr_NoMemory();
    self->running = 1;
    self->stop = 0;
    self->receiver = Py_NewRef(receiver);
    struct sigaction sa, old_term, old_int;
    bool own_signals = handle_signals && signal_target == NULL;
    if (own_signals) {
        signal_target = &self->stop;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_stop_signal; /* no SA_RESTART: a blocking poll returns at once */
        sigemptyset(&sa.sa_mask);
        sigaction(SIGTERM, &sa, &old_term);
        sigaction(SIGINT, &sa, &old_int);
    }
    edxbus_err_t e = EDXBUS_OK;
    struct edxbus_consumer_stats stats = {0};
    Py_BEGIN_ALLOW_THREADS edxbus_consumer_t *cons =
        edxbus_consumer_new(self->bus, &cfg, err, sizeof err);
    if (cons == NULL) {
        e = edxbus_py_open_error(err);
    } else {
        PyThread_acquire_lock(self->run_lock, WAIT_LOCK);
        self->run_cons = cons;
        PyThread_release_lock(self->run_lock);
        if (self->stop) /* stop() came first */
            edxbus_consumer_stop(cons);
        e = edxbus_consumer_run(cons, err, sizeof err);
        stats = *edxbus_consumer_stats(cons);
        PyThread_acquire_lock(self->run_lock, WAIT_LOCK); /* stop() is not using it now */
        self->run_cons = NULL;
        PyThread_release_lock(self->run_lock);
        edxbus_consumer_destroy(cons);
    }
    Py_END_ALLOW_THREADS if (own_signals)
    {
        sigaction(SIGTERM, &old_term, NULL);
        sigaction(SIGINT, &old_int, NULL);
        signal_target = NULL;
    }
    edxbus_bus_disconnect_all(self->bus, worker_receiver, self);
    Py_CLEAR(self->receiver);
    self->running = 0;
    if (self->stop_exc_type != NULL) {
        PyErr_Restore(self->stop_exc_type, self->stop_exc_value, self->stop_exc_tb);
        self->stop_exc_type = self->stop_exc_value = self->stop_exc_tb = NULL;
        return NULL;
    }
    if (e != EDXBUS_OK)
        return edxbus_py_raise(e, err);
    return stats_dict(&stats);
}

static PyObject *Consumer_stop(Consumer *self, PyObject *unused)
{
    self->stop = 1;
    if (self->run_lock != NULL) { /* wake the run() going on another thread at once */
        PyThread_acquire_lock(self->run_lock, WAIT_LOCK);
        edxbus_consumer_stop(self->run_cons);
        PyThread_release_lock(self->run_lock);
    }
    Py_RETURN_NONE;
}

static PyObject *Consumer_close(Consumer *self, PyObject *unused)
{
    if (self->running)
        return edxbus_py_raise(EDXBUS_ERR_STATE, "close() while run() is going; call stop()");
    edxbus_py_consumer_poll_close(self);
    edxbus_bus_t *bus = self->bus;
    self->bus = NULL;
    Py_BEGIN_ALLOW_THREADS edxbus_bus_destroy(bus);
    Py_END_ALLOW_THREADS Py_RETURN_NONE;
}

static PyObject *Consumer_exit(Consumer *self, PyObject *args)
{
    PyObject *r = Consumer_close(self, NULL);
    if (r == NULL)
        return NULL;
    Py_DECREF(r);
    Py_RETURN_FALSE;
}

static void Consumer_dealloc(Consumer *self)
{
    /* run() holds a reference to self through its bound method: it is not going now. */
    edxbus_py_consumer_poll_close(self);
    edxbus_bus_destroy(self->bus);
    json_decref(self->extra);
    free(self->topic);
    free(self->group);
    free(self->consumer_name);
    if (self->lock != NULL)
        PyThread_free_lock(self->lock);
    if (self->run_lock != NULL)
        PyThread_free_lock(self->run_lock);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyMethodDef Consumer_methods[] = {
    {"run", (PyCFunction)(void (*)(void))Consumer_run, METH_VARARGS | METH_KEYWORDS,
     "run(receiver, *, max_events=0, handle_signals=True) -> dict of counters\n\n"
     "The worker loop: receiver(metadata, data) per event, under the bus's retry and\n"
     "dead-letter policy, until stop(), max_events, or SIGTERM/SIGINT (handle_signals)."},
    {"poll", (PyCFunction)(void (*)(void))edxbus_py_consumer_poll, METH_VARARGS | METH_KEYWORDS,
     "poll(timeout=1.0, max=None) -> list of Message\n\n"
     "Read a batch without running any receiver. Acknowledge each message with ack() before\n"
     "the next poll(); what is not acknowledged stays owed to the group."},
    {"ack", (PyCFunction)edxbus_py_consumer_ack, METH_O,
     "ack(message)\n\nAcknowledge a message of the latest poll() (or its position text)."},
    {"stop", (PyCFunction)Consumer_stop, METH_NOARGS,
     "stop()\n\nAsk run() to return after the current event (any thread, or the receiver)."},
    {"close", (PyCFunction)Consumer_close, METH_NOARGS, "close()\n\nLeave and release the broker."},
    {"__enter__", edxbus_py_enter, METH_NOARGS, NULL},
    {"__exit__", (PyCFunction)Consumer_exit, METH_VARARGS, NULL},
    {NULL, NULL, 0, NULL},
};

PyTypeObject EdxbusConsumer_Type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "edxbus.Consumer",
    .tp_basicsize = sizeof(Consumer),
    .tp_dealloc = (destructor)Consumer_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_doc = "Consumer(topic, group, settings=None, *, env=False, extra=None,\n"
              "         consumer_name=None, start_time=None)\n\n"
              "Consumes one topic (EVENT_BUS_TOPIC_PREFIX is added) in one group through the\n"
              "backend EVENT_BUS_CONSUMER names. extra holds the --extra options (start,\n"
              "check_backlog, offset_time, last_read_msg_id, backend options); start_time\n"
              "(seconds since the epoch) replays from a time.",
    .tp_methods = Consumer_methods,
    .tp_init = (initproc)Consumer_init,
    .tp_new = PyType_GenericNew,
};
