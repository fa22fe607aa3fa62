/* python/src/consumer_poll.c — Consumer.poll()/ack(): read batches, acknowledge by hand.
 *
 * The poll/ack mode talks to the backend EVENT_BUS_CONSUMER names through its public table
 * (backend.h), as `edxbus tail` does, but joined to the group: poll() returns the messages of
 * one batch, each decoded under the catalog's schema (resolved from the writer's schema when the
 * broker names one, as Kafka does), and nothing is acknowledged until ack() says so. No receiver
 * runs, so no retry or dead-letter policy applies: that is the worker's (run()). Start options:
 * extra "start" ("earliest", "latest" or a position), extra "offset_time" (ISO time with a UTC
 * offset) or start_time; the other --extra keys go to the backend as they are.
 *
 * The backend lends a batch's messages until the next poll: ack() takes a message of the latest
 * poll only. Polling and decoding run with the GIL released; Message tuples are built after.
 */
#include "consumer_int.h"

#include <stdlib.h>
#include <string.h>

PyTypeObject *EdxbusMessage_Type;

static PyStructSequence_Field message_fields[] = {
    {"event_type", "the event type (from the metadata)"},
    {"topic", "the full topic"},
    {"position", "where the broker holds it (stream id, partition:offset, row id)"},
    {"key", "the key's Avro bytes, or None"},
    {"value", "the value's Avro bytes"},
    {"metadata", "the seven EventsMetadata fields (dict), or None when unusable"},
    {"data", "the decoded payload (dict), or None when it does not decode"},
    {"error", "why the message is unusable or does not decode, or None"},
    {"deliveries", "times delivered to this group, this one included (0: not counted)"},
    {NULL, NULL},
};

static PyStructSequence_Desc message_desc = {
    "edxbus.Message",
    "One message of Consumer.poll(). Acknowledge it with Consumer.ack().",
    message_fields,
    9,
};

int edxbus_py_message_type_init(void)
{
    EdxbusMessage_Type = PyStructSequence_NewType(&message_desc);
    return EdxbusMessage_Type == NULL ? -1 : 0;
}

struct decoded {
    json_t *data; /* NULL: see error */
    char error[EDXBUS_ERRSTR_SIZE];
};

/* Decode one message (no GIL): under the catalog's schema, or resolved from the writer's. */
static void decode_one(const edxbus_catalog_t *cat, const struct edxbus_msg *m, struct decoded *d)
{
    d->data = NULL;
    d->error[0] = '\0';
    if (m->unusable != NULL) {
        snprintf(d->error, sizeof d->error, "%s", m->unusable);
        return;
    }
    const edxbus_event_type_t *et = edxbus_catalog_find(cat, m->metadata->event_type);
    if (et == NULL) {
        snprintf(d->error, sizeof d->error, "unknown event type \"%.200s\"",
                 m->metadata->event_type);
        return;
    }
    const uint8_t *v = m->value != NULL ? m->value : (const uint8_t *)"";
    if (m->value_schema == NULL) {
        edxbus_event_decode(et, v, m->value_len, &d->data, d->error, sizeof d->error);
        return;
    }
    edxbus_avro_schema_t *writer = edxbus_avro_schema_parse(
        m->value_schema, strlen(m->value_schema), d->error, sizeof d->error);
    edxbus_avro_resolver_t *res =
        writer != NULL ? edxbus_avro_resolver_new(writer, edxbus_event_type_schema(et), d->error,
                                                  sizeof d->error)
                       : NULL;
    if (res != NULL)
        edxbus_avro_resolver_decode(res, v, m->value_len, &d->data, d->error, sizeof d->error);
    edxbus_avro_resolver_destroy(res);
    edxbus_avro_schema_destroy(writer);
}

static PyObject *bytes_or_none(const uint8_t *p, size_t len)
{
    if (p == NULL)
        Py_RETURN_NONE;
    return PyBytes_FromStringAndSize((const char *)p, (Py_ssize_t)len);
}

static PyObject *message_new(const struct edxbus_msg *m, const struct decoded *d)
{
    PyObject *t = PyStructSequence_New(EdxbusMessage_Type);
    if (t == NULL)
        return NULL;
    PyObject *items[9] = {
        m->metadata != NULL ? PyUnicode_FromString(m->metadata->event_type) : Py_NewRef(Py_None),
        PyUnicode_FromString(m->topic != NULL ? m->topic : ""),
        PyUnicode_FromString(m->position),
        bytes_or_none(m->key, m->key_len),
        bytes_or_none(m->value != NULL ? m->value : (const uint8_t *)"", m->value_len),
        m->metadata != NULL && m->unusable == NULL ? edxbus_py_metadata_dict(m->metadata)
                                                   : Py_NewRef(Py_None),
        d->data != NULL ? edxbus_py_from_json(d->data) : Py_NewRef(Py_None),
        d->error[0] != '\0' ? PyUnicode_FromString(d->error) : Py_NewRef(Py_None),
        PyLong_FromLongLong((long long)m->deliveries),
    };
    int ok = 1;
    for (int i = 0; i < 9; i++) {
        if (items[i] == NULL)
            ok = 0;
        PyStructSequence_SET_ITEM(t, i, items[i] != NULL ? items[i] : Py_NewRef(Py_None));
    }
    if (!ok) {
        Py_DECREF(t);
        return NULL;
    }
    return t;
}

/* Open the backend's consumer on first use (GIL held on entry). */
static int poll_open(Consumer *self)
{
    const edxbus_conf_t *conf = edxbus_bus_conf(self->bus);
    const char *setting = "EVENT_BUS_CONSUMER";
    const char *name = edxbus_conf_get_str(conf, setting, NULL);
    char err[EDXBUS_ERRSTR_SIZE] = "";
    const struct edxbus_backend_ops *ops =
        edxbus_backend_find(name ? name : "sqlite", setting, err, sizeof err);
    if (ops == NULL) {
        edxbus_py_raise(EDXBUS_ERR_CONF, err);
        return -1;
    }
    if (ops->consumer_open == NULL || ops->poll == NULL || ops->ack == NULL) {
        snprintf(err, sizeof err, "%s: backend %s cannot consume in a group", setting, ops->name);
        edxbus_py_raise(EDXBUS_ERR_UNSUPPORTED, err);
        return -1;
    }
    const json_t *start = self->extra != NULL ? json_object_get(self->extra, "start") : NULL;
    if (start != NULL && !json_is_string(start)) {
        edxbus_py_raise(EDXBUS_ERR_INVALID_ARG,
                        "extra: \"start\" must be \"earliest\", \"latest\" or a position");
        return -1;
    }
    /* "start" and "offset_time" are ours (opts); the rest are the backend's options. */
    int64_t start_time_ms = self->start_time_ms;
    const json_t *offset_time =
        self->extra != NULL ? json_object_get(self->extra, "offset_time") : NULL;
    if (offset_time != NULL) {
        int64_t us = 0;
        if (!json_is_string(offset_time)) {
            edxbus_py_raise(EDXBUS_ERR_INVALID_ARG, "extra: \"offset_time\" must be an ISO time");
            return -1;
        }
        if (edxbus_metadata_parse_time(json_string_value(offset_time),
                                       json_string_length(offset_time), &us, err,
                                       sizeof err) != EDXBUS_OK) {
            char where[EDXBUS_ERRSTR_SIZE + 32];
            snprintf(where, sizeof where, "extra \"offset_time\": %s", err);
            edxbus_py_raise(EDXBUS_ERR_INVALID_ARG, where);
            return -1;
        }
        start_time_ms = us / 1000;
    }
    json_t *backend_extra = self->extra != NULL ? json_deep_copy(self->extra) : NULL;
    if (backend_extra != NULL) {
        json_object_del(backend_extra, "start");
        json_object_del(backend_extra, "offset_time");
    }
    struct edxbus_buf full = EDXBUS_BUF_INIT;
    if ((self->extra != NULL && backend_extra == NULL) ||
        edxbus_routing_full_topic(edxbus_conf_get_str(conf, "EVENT_BUS_TOPIC_PREFIX", NULL),
                                  self->topic, &full) != EDXBUS_OK ||
        edxbus_buf_terminate(&full) != EDXBUS_OK) {
        edxbus_buf_fini(&full);
        json_decref(backend_extra);
        PyErr_NoMemory();
        return -1;
    }
    struct edxbus_consumer_opts opts = {
        .topic = (const char *)full.data,
        .group = self->group,
        .consumer_name = self->consumer_name,
        .start = start != NULL ? json_string_value(start) : NULL,
        .start_time_ms = start_time_ms,
        .extra = backend_extra,
    };
    edxbus_err_t e;
    void *be = NULL;
    Py_BEGIN_ALLOW_THREADS e = ops->consumer_open(conf, &opts, &be, err, sizeof err);
    Py_END_ALLOW_THREADS edxbus_buf_fini(&full);
    json_decref(backend_extra);
    if (e != EDXBUS_OK) {
        edxbus_py_raise(e, err);
        return -1;
    }
    self->ops = ops;
    self->be = be;
    return 0;
}

PyObject *edxbus_py_consumer_poll(Consumer *self, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"timeout", "max", NULL};
    double timeout = 1.0;
    Py_ssize_t max = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|dn:poll", kwlist, &timeout, &max))
        return NULL;
    if (edxbus_py_consumer_check_open(self) != 0)
        return NULL;
    if (self->running)
        return edxbus_py_raise(EDXBUS_ERR_STATE, "poll() while run() is going on this consumer");
    if (self->be == NULL && poll_open(self) != 0)
        return NULL;
    if (max <= 0)
        max = (Py_ssize_t)edxbus_conf_get_int(edxbus_bus_conf(self->bus),
                                              "EVENT_BUS_CONSUMER_BATCH_SIZE", 16);
    int ms = timeout <= 0 ? 0 : timeout > 86400 ? 86400000 : (int)(timeout * 1000);
    char err[EDXBUS_ERRSTR_SIZE] = "";
    edxbus_err_t e;
    struct decoded *dec = NULL;
    const edxbus_catalog_t *cat = edxbus_bus_catalog(self->bus);
    Py_BEGIN_ALLOW_THREADS PyThread_acquire_lock(self->lock, WAIT_LOCK);
    self->batch = (struct edxbus_batch){0};
    e = self->ops->poll(self->be, &self->batch, (size_t)max, ms, err, sizeof err);
    free(self->acked);
    self->acked = NULL;
    if (e == EDXBUS_OK && self->batch.n > 0) {
        dec = calloc(self->batch.n, sizeof *dec);
        self->acked = calloc(self->batch.n, 1);
        if (dec == NULL || self->acked == NULL)
            e = EDXBUS_ERR_NOMEM;
        for (size_t i = 0; e == EDXBUS_OK && i < self->batch.n; i++)
            decode_one(cat, &self->batch.msgs[i], &dec[i]);
    }
    PyThread_release_lock(self->lock);
    Py_END_ALLOW_THREADS PyObject *out = e == EDXBUS_OK ? PyList_New(0) : NULL;
    for (size_t i = 0; out != NULL && dec != NULL && i < self->batch.n; i++) {
        PyObject *m = message_new(&self->batch.msgs[i], &dec[i]);
        if (m == NULL || PyList_Append(out, m) != 0)
            Py_CLEAR(out);
        Py_XDECREF(m);
    }
    for (size_t i = 0; dec != NULL && i < self->batch.n; i++)
        json_decref(dec[i].data);
    free(dec);
    if (e != EDXBUS_OK)
        return edxbus_py_raise(e, err);
    return out;
}

PyObject *edxbus_py_consumer_ack(Consumer *self, PyObject *msg)
{
    PyObject *pos = msg;
    if (PyObject_TypeCheck(msg, EdxbusMessage_Type))
        pos = PyStructSequence_GET_ITEM(msg, 2);
    const char *position = PyUnicode_Check(pos) ? PyUnicode_AsUTF8(pos) : NULL;
    if (position == NULL) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_TypeError, "ack() takes a Message of poll() or its position");
        return NULL;
    }
    if (edxbus_py_consumer_check_open(self) != 0)
        return NULL;
    char err[EDXBUS_ERRSTR_SIZE] = "";
    edxbus_err_t e = EDXBUS_ERR_STATE;
    Py_BEGIN_ALLOW_THREADS PyThread_acquire_lock(self->lock, WAIT_LOCK);
    snprintf(err, sizeof err,
             "message %s is not from the latest poll(); acknowledge each message before polling "
             "again",
             position);
    for (size_t i = 0; self->be != NULL && i < self->batch.n; i++) {
        if (strcmp(self->batch.msgs[i].position, position) != 0)
            continue;
        e = self->acked[i] ? EDXBUS_OK
                           : self->ops->ack(self->be, &self->batch.msgs[i], err, sizeof err);
        if (e == EDXBUS_OK)
            self->acked[i] = 1;
        break;
    }
    PyThread_release_lock(self->lock);
    Py_END_ALLOW_THREADS if (e != EDXBUS_OK) return edxbus_py_raise(e, err);
    Py_RETURN_NONE;
}

void edxbus_py_consumer_poll_close(Consumer *self)
{
    void *be = self->be;
    const struct edxbus_backend_ops *ops = self->ops;
    self->be = NULL;
    self->batch = (struct edxbus_batch){0};
    free(self->acked);
    self->acked = NULL;
    if (be == NULL)
        return;
    Py_BEGIN_ALLOW_THREADS ops->consumer_close(be);
    Py_END_ALLOW_THREADS
}
