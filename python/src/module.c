/* python/src/module.c — the edxbus._edxbus module: exceptions, settings, logging, init.
 *
 * Errors: every failing call raises a subclass of edxbus.Error whose message is the library's
 * one-line errstr, with `code` (the class name without prefix, "BROKER") and `retriable`
 * attributes. The class follows the error class: ConfigError (CONF, INVALID_ARG), EncodeError
 * (ENCODE, UNSERIALIZABLE, SCHEMA, NOT_FOUND; also a ValueError), DecodeError (DECODE),
 * BrokerError (IO, BROKER, TIMEOUT, QUEUE_FULL, AUTH), Error for the rest.
 *
 * Settings: a mapping of the Django setting names edxbus reads (EVENT_BUS_PRODUCER,
 * EVENT_BUS_REDIS_CONNECTION_URL, …) — Django's settings copied into a dict, or any dict — and,
 * on request, the environment variables of the same names on top.
 *
 * Logging: the library never prints; its lines go to logging.getLogger("edxbus") at the level
 * they were written (error, warning, info, debug).
 */
#include "_edxbus.h"

#include <string.h>

static PyObject *Error, *ConfigError, *EncodeError, *DecodeError, *BrokerError;
static PyObject *logger; /* logging.getLogger("edxbus") */

PyObject *edxbus_py_raise(edxbus_err_t err, const char *errstr)
{
    PyObject *cls = Error;
    switch (err) {
    case EDXBUS_ERR_CONF:
    case EDXBUS_ERR_INVALID_ARG:
        cls = ConfigError;
        break;
    case EDXBUS_ERR_ENCODE:
    case EDXBUS_ERR_UNSERIALIZABLE:
    case EDXBUS_ERR_SCHEMA:
    case EDXBUS_ERR_NOT_FOUND:
        cls = EncodeError;
        break;
    case EDXBUS_ERR_DECODE:
        cls = DecodeError;
        break;
    case EDXBUS_ERR_IO:
    case EDXBUS_ERR_BROKER:
    case EDXBUS_ERR_TIMEOUT:
    case EDXBUS_ERR_QUEUE_FULL:
    case EDXBUS_ERR_AUTH:
        cls = BrokerError;
        break;
    case EDXBUS_ERR_NOMEM:
        return PyErr_NoMemory();
    default:
        break;
    }
    const char *text = errstr != NULL && errstr[0] != '\0' ? errstr : edxbus_err2str(err);
    PyObject *exc = PyObject_CallFunction(cls, "s", text);
    if (exc == NULL)
        return NULL;
    PyObject *code = PyUnicode_FromString(edxbus_err2name(err));
    if (code == NULL || PyObject_SetAttrString(exc, "code", code) != 0 ||
        PyObject_SetAttrString(exc, "retriable",
                               edxbus_err_is_retriable(err) ? Py_True : Py_False) != 0) {
        Py_XDECREF(code);
        Py_DECREF(exc);
        return NULL;
    }
    Py_DECREF(code);
    PyErr_SetObject(cls, exc);
    Py_DECREF(exc);
    return NULL;
}

edxbus_err_t edxbus_py_open_error(const char *errstr)
{
    if (strncmp(errstr, "EVENT_BUS_", 10) == 0 || strncmp(errstr, "--extra", 7) == 0)
        return EDXBUS_ERR_CONF;
    return EDXBUS_ERR_BROKER;
}

void edxbus_py_exception_line(char *out, size_t size)
{
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    PyObject *text = value != NULL ? PyObject_Str(value) : NULL;
    const char *msg = text != NULL ? PyUnicode_AsUTF8(text) : NULL;
    if (msg == NULL) {
        PyErr_Clear();
        msg = "";
    }
    const char *name = type != NULL ? ((PyTypeObject *)type)->tp_name : "exception";
    snprintf(out, size, "%s%s%s", name, msg[0] ? ": " : "", msg);
    for (char *c = out; *c; c++) /* one line */
        if (*c == '\n' || *c == '\r')
            *c = ' ';
    Py_XDECREF(text);
    Py_XDECREF(type);
    Py_XDECREF(value);
    Py_XDECREF(tb);
}

void edxbus_py_log(edxbus_log_level_t level, const char *line, void *opaque)
{
    (void)opaque;
    if (!Py_IsInitialized() || logger == NULL)
        return;
    PyGILState_STATE gil = PyGILState_Ensure();
    PyObject *saved_type, *saved_value, *saved_tb; /* a log line must not eat a pending error */
    PyErr_Fetch(&saved_type, &saved_value, &saved_tb);
    int py_level = level <= EDXBUS_LOG_ERROR     ? 40
                   : level <= EDXBUS_LOG_WARNING ? 30
                   : level <= EDXBUS_LOG_INFO    ? 20
                                                 : 10;
    PyObject *r = PyObject_CallMethod(logger, "log", "iss", py_level, "%s", line);
    if (r == NULL)
        PyErr_WriteUnraisable(logger);
    Py_XDECREF(r);
    PyErr_Restore(saved_type, saved_value, saved_tb);
    PyGILState_Release(gil);
}

static int set_one(edxbus_conf_t *conf, PyObject *key, PyObject *value)
{
    char err[EDXBUS_ERRSTR_SIZE] = "";
    if (!PyUnicode_Check(key)) {
        PyErr_Format(PyExc_TypeError, "settings: name %R is not a string", key);
        return -1;
    }
    const char *name = PyUnicode_AsUTF8(key);
    if (name == NULL)
        return -1;
    edxbus_err_t e;
    PyObject *path = NULL; /* a path-like value (pathlib.Path in Django settings) as its text */
    if (!PyUnicode_Check(value) && PyObject_HasAttrString(value, "__fspath__")) {
        if ((path = PyOS_FSPath(value)) == NULL)
            return -1;
        if (!PyUnicode_Check(path)) {
            Py_DECREF(path);
            PyErr_Format(PyExc_TypeError, "%s: a bytes path; give a str path", name);
            return -1;
        }
        value = path;
    }
    if (PyUnicode_Check(value)) {
        const char *text = PyUnicode_AsUTF8(value);
        e = text != NULL ? edxbus_conf_set(conf, name, text, err, sizeof err) : EDXBUS_ERR_NOMEM;
        Py_XDECREF(path);
        if (text == NULL)
            return -1;
    } else {
        json_t *j = edxbus_py_to_json(value, name);
        if (j == NULL)
            return -1;
        e = edxbus_conf_set_json(conf, name, j, err, sizeof err);
        json_decref(j);
    }
    if (e != EDXBUS_OK) {
        edxbus_py_raise(e, err);
        return -1;
    }
    return 0;
}

edxbus_conf_t *edxbus_py_conf(PyObject *settings, int env)
{
    edxbus_conf_t *conf = edxbus_conf_new();
    if (conf == NULL)
        return (edxbus_conf_t *)PyErr_NoMemory();
    edxbus_conf_set_log(conf, edxbus_py_log, NULL);
    if (settings != NULL && settings != Py_None) {
        PyObject *items = PyMapping_Items(settings);
        if (items == NULL)
            goto fail;
        for (Py_ssize_t i = 0; i < PyList_GET_SIZE(items); i++) {
            PyObject *kv = PyList_GET_ITEM(items, i);
            if (!PyTuple_Check(kv) || PyTuple_GET_SIZE(kv) != 2 ||
                set_one(conf, PyTuple_GET_ITEM(kv, 0), PyTuple_GET_ITEM(kv, 1)) != 0) {
                if (!PyErr_Occurred())
                    PyErr_SetString(PyExc_TypeError, "settings: expected a mapping");
                Py_DECREF(items);
                goto fail;
            }
        }
        Py_DECREF(items);
    }
    if (env) {
        char err[EDXBUS_ERRSTR_SIZE] = "";
        edxbus_err_t e = edxbus_conf_load_env(conf, err, sizeof err);
        if (e != EDXBUS_OK) {
            edxbus_py_raise(e, err);
            goto fail;
        }
    }
    return conf;
fail:
    edxbus_conf_destroy(conf);
    return NULL;
}

PyObject *edxbus_py_enter(PyObject *self, PyObject *unused)
{
    return Py_NewRef(self);
}

/* --- module functions ------------------------------------------------------------------------ */

static PyObject *py_setting_names(PyObject *mod, PyObject *unused)
{
    json_t *table = edxbus_conf_describe();
    if (table == NULL)
        return PyErr_NoMemory();
    PyObject *out = PyList_New(0);
    size_t i;
    json_t *row;
    json_array_foreach(table, i, row)
    {
        PyObject *name = out != NULL
                             ? PyUnicode_FromString(json_string_value(json_object_get(row, "name")))
                             : NULL;
        if (name == NULL || PyList_Append(out, name) != 0)
            Py_CLEAR(out);
        Py_XDECREF(name);
        if (out == NULL)
            break;
    }
    json_decref(table);
    return out;
}

static PyObject *py_check_settings(PyObject *mod, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"settings", "env", NULL};
    PyObject *settings = Py_None;
    int env = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|O$p:check_settings", kwlist, &settings, &env))
        return NULL;
    edxbus_conf_t *conf = edxbus_py_conf(settings, env);
    if (conf == NULL)
        return NULL;
    json_t *problems = json_array();
    if (problems == NULL) {
        edxbus_conf_destroy(conf);
        return PyErr_NoMemory();
    }
    edxbus_conf_set_log(conf, NULL, NULL); /* the caller gets the list instead */
    edxbus_conf_check(conf, problems);
    PyObject *out = edxbus_py_from_json(problems);
    json_decref(problems);
    edxbus_conf_destroy(conf);
    return out;
}

static PyObject *py_event_key_field(PyObject *mod, PyObject *arg)
{
    const char *type = PyUnicode_AsUTF8(arg);
    if (type == NULL)
        return NULL;
    static edxbus_catalog_t *cat; /* the built-in catalog, read-only once built */
    if (cat == NULL && (cat = edxbus_catalog_new()) == NULL)
        return PyErr_NoMemory();
    const edxbus_event_type_t *et = edxbus_catalog_find(cat, type);
    if (et == NULL) {
        char err[EDXBUS_ERRSTR_SIZE];
        const char *near = edxbus_catalog_suggest(cat, type);
        snprintf(err, sizeof err, "unknown event type \"%s\"%s%s%s", type,
                 near ? "; did you mean " : "", near ? near : "", near ? "?" : "");
        return edxbus_py_raise(EDXBUS_ERR_NOT_FOUND, err);
    }
    const char *key = edxbus_event_type_key_field(et);
    if (key == NULL)
        Py_RETURN_NONE;
    return PyUnicode_FromString(key);
}

static PyMethodDef module_methods[] = {
    {"setting_names", py_setting_names, METH_NOARGS,
     "setting_names() -> list of str\n\nEvery setting name libedxbus knows, in table order."},
    {"check_settings", (PyCFunction)(void (*)(void))py_check_settings, METH_VARARGS | METH_KEYWORDS,
     "check_settings(settings=None, *, env=False) -> list of str\n\n"
     "Validate the settings; one line per problem (an empty list when there is none)."},
    {"event_key_field", py_event_key_field, METH_O,
     "event_key_field(event_type) -> str or None\n\n"
     "The documented key field of a catalog event type (dotted path)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    .m_name = "edxbus._edxbus",
    .m_doc = "libedxbus for Python: Producer, Consumer, settings and errors (see edxbus).",
    .m_size = -1,
    .m_methods = module_methods,
};

static PyObject *new_error(PyObject *mod, const char *name, PyObject *bases, const char *doc)
{
    char full[64];
    snprintf(full, sizeof full, "edxbus.%s", name);
    PyObject *cls = PyErr_NewExceptionWithDoc(full, doc, bases, NULL);
    if (cls == NULL || PyModule_AddObjectRef(mod, name, cls) != 0) {
        Py_XDECREF(cls);
        return NULL;
    }
    return cls;
}

PyMODINIT_FUNC PyInit__edxbus(void)
{
    PyObject *mod = PyModule_Create(&module_def);
    if (mod == NULL)
        return NULL;
    PyObject *logging = PyImport_ImportModule("logging");
    if (logging == NULL)
        goto fail;
    logger = PyObject_CallMethod(logging, "getLogger", "s", "edxbus");
    Py_DECREF(logging);
    if (logger == NULL)
        goto fail;
    Error = new_error(mod, "Error", NULL,
                      "An edxbus call failed; str(e) is edxbus's one-line message, e.code the "
                      "error class (\"BROKER\"), e.retriable whether trying again may work.");
    if (Error == NULL)
        goto fail;
    ConfigError = new_error(mod, "ConfigError", Error, "Invalid settings or arguments.");
    PyObject *bases = Py_BuildValue("(OO)", Error, PyExc_ValueError);
    EncodeError = bases != NULL ? new_error(mod, "EncodeError", bases,
                                            "The payload does not fit the event's schema, or "
                                            "the event type is unknown.")
                                : NULL;
    Py_XDECREF(bases);
    DecodeError = new_error(mod, "DecodeError", Error, "Bytes that do not decode.");
    BrokerError = new_error(mod, "BrokerError", Error, "The broker failed or is unreachable.");
    if (ConfigError == NULL || EncodeError == NULL || DecodeError == NULL || BrokerError == NULL)
        goto fail;
    if (PyType_Ready(&EdxbusProducer_Type) != 0 || PyType_Ready(&EdxbusConsumer_Type) != 0 ||
        edxbus_py_message_type_init() != 0)
        goto fail;
    if (PyModule_AddObjectRef(mod, "Producer", (PyObject *)&EdxbusProducer_Type) != 0 ||
        PyModule_AddObjectRef(mod, "Consumer", (PyObject *)&EdxbusConsumer_Type) != 0 ||
        PyModule_AddObjectRef(mod, "Message", (PyObject *)EdxbusMessage_Type) != 0 ||
        PyModule_AddStringConstant(mod, "version", edxbus_version()) != 0 ||
        PyModule_AddStringConstant(mod, "OPENEDX_EVENTS_VERSION", EDXBUS_OPENEDX_EVENTS_VERSION) !=
            0)
        goto fail;
    return mod;
fail:
    Py_DECREF(mod);
    return NULL;
}
