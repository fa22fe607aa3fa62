/* python/src/_edxbus.h — what the parts of the edxbus._edxbus extension share.
 *
 * The extension is a thin CPython layer over the public API (include/edxbus/ only): module.c
 * (exceptions, settings, logging, module init), pyjson.c (Python objects <-> jansson trees, the
 * plain JSON form of payloads), producer.c (edxbus.Producer), consumer.c (edxbus.Consumer: the
 * worker loop) and consumer_poll.c (its poll/ack mode). Every call into libedxbus that may touch
 * a broker, encode or decode runs with the GIL released; Python objects are built and read only
 * with it held. Each object serialises its own handle with a lock taken while the GIL is not
 * held, so two Python threads sharing one object never deadlock against the GIL.
 *
 * To add a type: define it in its own file, declare its PyTypeObject here, add it in module.c.
 */
#ifndef EDXBUS_PY_H
#define EDXBUS_PY_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <pythread.h>

#include <edxbus/edxbus.h>

/* --- module.c ------------------------------------------------------------------------------ */

/** Raise the exception class of @p err (edxbus.ConfigError, EncodeError, DecodeError,
 *  BrokerError, or edxbus.Error) with @p errstr as its message (err2str when empty). Returns
 *  NULL for `return edxbus_py_raise(...)`. */
PyObject *edxbus_py_raise(edxbus_err_t err, const char *errstr);

/** The error class for a constructor that failed with @p errstr but no code
 *  (edxbus_producer_new, edxbus_consumer_new): EDXBUS_ERR_CONF when the line names a setting or
 *  an --extra option, EDXBUS_ERR_BROKER otherwise (the broker could not be reached or refused). */
edxbus_err_t edxbus_py_open_error(const char *errstr);

/** A conf from @p settings (a mapping of setting names to values, or None; str values are set
 *  as text, anything else as its JSON form) and, when @p env is true, the environment after it
 *  (environment wins, as in the library). Log lines go to Python's logging ("edxbus").
 *  Returns new; NULL with a Python exception set. */
edxbus_conf_t *edxbus_py_conf(PyObject *settings, int env);

/** The log callback every conf made here carries: forwards to logging.getLogger("edxbus"),
 *  taking the GIL (it may be called from a thread that released it). */
void edxbus_py_log(edxbus_log_level_t level, const char *line, void *opaque);

/** Write the current Python exception as one line ("ValueError: boom") to @p out and clear
 *  it. Needs the GIL. */
void edxbus_py_exception_line(char *out, size_t size);

/** __enter__ of every context-manager type here: returns self (new reference). */
PyObject *edxbus_py_enter(PyObject *self, PyObject *unused);

/* --- pyjson.c ------------------------------------------------------------------------------ */

/** The plain JSON form of @p obj: dict (str keys), list/tuple, str, int, float (finite), bool,
 *  None. Returns new; NULL with TypeError/ValueError naming the path (e.g. `data.user.id`)
 *  under @p what. */
json_t *edxbus_py_to_json(PyObject *obj, const char *what);

/** The Python form of @p value (dict, list, str, int, float, bool, None). Returns new; NULL
 *  with an exception set. */
PyObject *edxbus_py_from_json(const json_t *value);

/** The seven metadata fields as a dict (as EventsMetadata.to_json() types them). Returns new. */
PyObject *edxbus_py_metadata_dict(const struct edxbus_metadata *md);

/* --- types ---------------------------------------------------------------------------------- */

extern PyTypeObject EdxbusProducer_Type;
extern PyTypeObject EdxbusConsumer_Type;
extern PyTypeObject *EdxbusMessage_Type; /* a struct sequence, made at module init */

/** Make EdxbusMessage_Type (consumer_poll.c). Returns 0, or -1 with an exception set. */
int edxbus_py_message_type_init(void);

#endif /* EDXBUS_PY_H */
