/* python/src/pyjson.c — Python objects <-> jansson trees: the plain JSON form of payloads.
 *
 * A payload crosses into the library as the plain JSON form openedx-events hands its Avro writer
 * (AvroSignalSerializer.to_dict: records are dicts, datetimes and keys already strings), so only
 * JSON's own types convert: dict with str keys, list/tuple, str (any code point, NUL included),
 * int, finite float, bool, None. Anything else is an error naming its place in the payload
 * (`data.enrollment.created: datetime is not plain JSON; pass its text form`), raised before
 * anything is sent. bool is checked before int (bool is an int subclass in Python).
 *
 * The way back builds dicts in the tree's key order, which is the schema's field order.
 */
#include "_edxbus.h"

#include <stdio.h>
#include <string.h>

#define MAX_DEPTH 200 /* deeper than any Avro schema of the catalog; stops runaway recursion */

struct path {
    char text[512];
    size_t len;
};

static void path_push(struct path *p, const char *name, size_t name_len, Py_ssize_t index)
{
    int n;
    if (name != NULL)
        n = snprintf(p->text + p->len, sizeof p->text - p->len, ".%.*s", (int)name_len, name);
    else
        n = snprintf(p->text + p->len, sizeof p->text - p->len, "[%zd]", index);
    if (n > 0)
        p->len = p->len + (size_t)n < sizeof p->text ? p->len + (size_t)n : sizeof p->text - 1;
}

static json_t *convert(PyObject *obj, struct path *p, int depth);

static json_t *convert_dict(PyObject *obj, struct path *p, int depth)
{
    json_t *out = json_object();
    if (out == NULL)
        return (json_t *)PyErr_NoMemory();
    PyObject *key, *value;
    Py_ssize_t pos = 0;
    size_t saved = p->len;
    while (PyDict_Next(obj, &pos, &key, &value)) {
        if (!PyUnicode_Check(key)) {
            PyErr_Format(PyExc_TypeError,
                         "%s: key %R is not a string; JSON objects have string keys", p->text, key);
            goto fail;
        }
        Py_ssize_t klen;
        const char *k = PyUnicode_AsUTF8AndSize(key, &klen);
        if (k == NULL)
            goto fail;
        path_push(p, k, (size_t)klen, 0);
        json_t *v = convert(value, p, depth + 1);
        p->len = saved;
        p->text[saved] = '\0';
        if (v == NULL)
            goto fail;
        if (json_object_setn_new_nocheck(out, k, (size_t)klen, v) != 0) {
            PyErr_NoMemory();
            goto fail;
        }
    }
    return out;
fail:
    json_decref(out);
    return NULL;
}

static json_t *convert_seq(PyObject *obj, struct path *p, int depth)
{
    json_t *out = json_array();
    if (out == NULL)
        return (json_t *)PyErr_NoMemory();
    Py_ssize_t n = PySequence_Fast_GET_SIZE(obj);
    PyObject **items = PySequence_Fast_ITEMS(obj);
    size_t saved = p->len;
    for (Py_ssize_t i = 0; i < n; i++) {
        path_push(p, NULL, 0, i);
        json_t *v = convert(items[i], p, depth + 1);
        p->len = saved;
        p->text[saved] = '\0';
        if (v == NULL || json_array_append_new(out, v) != 0) {
            if (v != NULL)
                PyErr_NoMemory();
            json_decref(out);
            return NULL;
        }
    }
    return out;
}

static json_t *convert(PyObject *obj, struct path *p, int depth)
{
    if (depth > MAX_DEPTH) {
        PyErr_Format(PyExc_ValueError, "%s: nested more than %d levels deep", p->text, MAX_DEPTH);
        return NULL;
    }
    json_t *out = NULL;
    if (obj == Py_None) {
        out = json_null();
    } else if (obj == Py_True) {
        out = json_true();
    } else if (obj == Py_False) {
        out = json_false();
    } else if (PyLong_Check(obj)) {
        int overflow = 0;
        long long v = PyLong_AsLongLongAndOverflow(obj, &overflow);
        if (overflow != 0) {
            PyErr_Format(PyExc_ValueError, "%s: %R does not fit in 64 bits (Avro long)", p->text,
                         obj);
            return NULL;
        }
        if (v == -1 && PyErr_Occurred())
            return NULL;
        out = json_integer((json_int_t)v);
    } else if (PyFloat_Check(obj)) {
        /* NaN and the infinities are Avro doubles too: they travel as edxbus's non-finite
         * marker (edxbus/json.h), as when the command reads them from JSON text. */
        out = edxbus_json_double(PyFloat_AS_DOUBLE(obj));
    } else if (PyUnicode_Check(obj)) {
        Py_ssize_t len;
        const char *s = PyUnicode_AsUTF8AndSize(obj, &len);
        if (s == NULL) /* lone surrogates: not UTF-8 */
            return NULL;
        out = json_stringn_nocheck(s, (size_t)len);
    } else if (PyDict_Check(obj)) {
        return convert_dict(obj, p, depth);
    } else if (PyList_Check(obj) || PyTuple_Check(obj)) {
        PyObject *seq = PySequence_Fast(obj, "not a sequence");
        if (seq == NULL)
            return NULL;
        out = convert_seq(seq, p, depth);
        Py_DECREF(seq);
        return out;
    } else {
        PyErr_Format(PyExc_TypeError,
                     "%s: %s is not plain JSON; pass its text form (as "
                     "AvroSignalSerializer.to_dict does)",
                     p->text, Py_TYPE(obj)->tp_name);
        return NULL;
    }
    if (out == NULL)
        PyErr_NoMemory();
    return out;
}

json_t *edxbus_py_to_json(PyObject *obj, const char *what)
{
    struct path p;
    int n = snprintf(p.text, sizeof p.text, "%s", what);
    p.len = n > 0 ? (size_t)n : 0;
    return convert(obj, &p, 0);
}

PyObject *edxbus_py_from_json(const json_t *value)
{
    double nonfinite;
    if (edxbus_json_is_nonfinite(value, &nonfinite))
        return PyFloat_FromDouble(nonfinite);
    switch (json_typeof(value)) {
    case JSON_OBJECT: {
        PyObject *d = PyDict_New();
        if (d == NULL)
            return NULL;
        const char *k;
        size_t klen;
        json_t *v;
        json_object_keylen_foreach((json_t *)value, k, klen, v)
        {
            PyObject *key = PyUnicode_DecodeUTF8(k, (Py_ssize_t)klen, "strict");
            PyObject *pv = key != NULL ? edxbus_py_from_json(v) : NULL;
            int rc = pv != NULL ? PyDict_SetItem(d, key, pv) : -1;
            Py_XDECREF(key);
            Py_XDECREF(pv);
            if (rc != 0) {
                Py_DECREF(d);
                return NULL;
            }
        }
        return d;
    }
    case JSON_ARRAY: {
        size_t n = json_array_size(value);
        PyObject *l = PyList_New((Py_ssize_t)n);
        if (l == NULL)
            return NULL;
        for (size_t i = 0; i < n; i++) {
            PyObject *pv = edxbus_py_from_json(json_array_get(value, i));
            if (pv == NULL) {
                Py_DECREF(l);
                return NULL;
            }
            PyList_SET_ITEM(l, (Py_ssize_t)i, pv);
        }
        return l;
    }
    case JSON_STRING:
        return PyUnicode_DecodeUTF8(json_string_value(value), (Py_ssize_t)json_string_length(value),
                                    "strict");
    case JSON_INTEGER:
        return PyLong_FromLongLong((long long)json_integer_value(value));
    case JSON_REAL:
        return PyFloat_FromDouble(json_real_value(value));
    case JSON_TRUE:
        Py_RETURN_TRUE;
    case JSON_FALSE:
        Py_RETURN_FALSE;
    case JSON_NULL:
    default:
        Py_RETURN_NONE;
    }
}

PyObject *edxbus_py_metadata_dict(const struct edxbus_metadata *md)
{
    json_t *j = edxbus_metadata_to_json_value(md);
    if (j == NULL)
        return PyErr_NoMemory();
    PyObject *d = edxbus_py_from_json(j);
    json_decref(j);
    return d;
}
