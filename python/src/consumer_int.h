/* python/src/consumer_int.h — the Consumer object, shared by consumer.c (the worker loop) and
 * consumer_poll.c (poll/ack). A Consumer is in one mode at a time: run() refuses while a poll
 * handle is open, poll() while run() is going.
 */
#ifndef EDXBUS_PY_CONSUMER_INT_H
#define EDXBUS_PY_CONSUMER_INT_H

#include <signal.h>

#include "_edxbus.h"

typedef struct {
    PyObject_HEAD edxbus_bus_t *bus; /* catalog, signals; its routing emptied */
    char *topic;                     /* as in the settings (the prefix is added) */
    char *group;
    char *consumer_name;     /* NULL: "<host>-<pid>" */
    json_t *extra;           /* --extra options, or NULL */
    int64_t start_time_ms;   /* -1: none */
    PyThread_type_lock lock; /* serialises poll/ack between Python threads */
    volatile sig_atomic_t stop;
    PyThread_type_lock run_lock; /* guards run_cons between run() and stop() */
    edxbus_consumer_t *run_cons; /* the consumer of the run() going, or NULL */
    int running;                                            /* run() is going */
    PyObject *receiver;                                     /* during run() */
    PyObject *stop_exc_type, *stop_exc_value, *stop_exc_tb; /* KeyboardInterrupt/SystemExit */
    /* poll/ack mode */
    const struct edxbus_backend_ops *ops;
    void *be;                  /* the backend's consumer; NULL until the first poll() */
    struct edxbus_batch batch; /* the latest poll's messages, borrowed from the backend */
    char *acked;               /* one flag per message of batch */
} Consumer;

int edxbus_py_consumer_check_open(Consumer *self);
PyObject *edxbus_py_consumer_poll(Consumer *self, PyObject *args, PyObject *kwargs);
PyObject *edxbus_py_consumer_ack(Consumer *self, PyObject *msg);
/** Close the poll handle, if any (GIL held; it is released around the backend). */
void edxbus_py_consumer_poll_close(Consumer *self);

#endif /* EDXBUS_PY_CONSUMER_INT_H */
