/* src/bus/metadata_json.c — the JSON forms of EventsMetadata: EventsMetadata.to_json() byte
 * for byte (json.dumps with ensure_ascii), the text written for `consume --print`, and the
 * jansson value form read back with the same checks as edxbus_metadata_set_field(). */
#include "edxbus/metadata.h"

#include <stdbool.h>
#include <string.h>

#include "edxbus/avro.h"
#include "metadata_int.h"

/* ---------------------------------------------------------------------------------------------
 * JSON forms
 * ------------------------------------------------------------------------------------------- */

/* A JSON string for a text field; bytes that are not UTF-8 become U+FFFD (jansson refuses
 * invalid UTF-8, and the JSON forms must agree with to_json). */
static json_t *text_value(const char *s)
{
    size_t len = strlen(s);
    if (edxbus__md_utf8_valid(s, len))
        return json_stringn(s, len);
    struct edxbus_buf b = EDXBUS_BUF_INIT;
    json_t *v = NULL;
    uint32_t cp;
    for (size_t i = 0; i < len;) {
        size_t n = edxbus__md_utf8_decode((const uint8_t *)s + i, len - i, &cp);
        edxbus_err_t err =
            n ? edxbus_buf_append(&b, s + i, n) : edxbus_buf_append(&b, "\xef\xbf\xbd", 3);
        if (err != EDXBUS_OK)
            goto out;
        i += n ? n : 1;
    }
    v = json_stringn((const char *)b.data, b.len);
out:
    edxbus_buf_fini(&b);
    return v;
}

/* A text field as a JSON string, as edxbus_json_write() writes text_value() of it. */
static edxbus_err_t write_text_field(const char *s, unsigned flags, struct edxbus_buf *out)
{
    size_t len = strlen(s);
    if (edxbus__md_text_ok(s, len))
        return edxbus_json_write_string(s, len, flags, out);
    json_t *v = text_value(s); /* invalid UTF-8: U+FFFD for the bad bytes, as the tree has */
    if (v == NULL)
        return EDXBUS_ERR_NOMEM;
    edxbus_err_t err =
        edxbus_json_write_string(json_string_value(v), json_string_length(v), flags, out);
    json_decref(v);
    return err;
}

edxbus_err_t edxbus_metadata_write_json(const struct edxbus_metadata *md, unsigned flags,
                                        struct edxbus_buf *out)
{
    char time[EDXBUS_METADATA_TIME_TEXT_MAX];
    if (edxbus_metadata_format_time(md->time_us, time, sizeof time) != EDXBUS_OK ||
        md->nsourcelib > EDXBUS_SOURCELIB_MAX)
        return EDXBUS_ERR_INVALID_ARG;
    size_t time_len = strlen(time);
    size_t start = out->len;
    /* The literal pieces by their known lengths (no strlen per piece per printed event). */
#define LIT(text) edxbus_buf_append(out, text, sizeof text - 1)
    edxbus_err_t err = LIT("{\"event_type\": ");
    if (err == EDXBUS_OK)
        err = write_text_field(md->event_type, flags, out);
    if (err == EDXBUS_OK)
        err = LIT(", \"id\": ");
    if (err == EDXBUS_OK)
        err = write_text_field(md->id, flags, out);
    if (err == EDXBUS_OK)
        err = LIT(", \"minorversion\": ");
    if (err == EDXBUS_OK)
        err = edxbus__md_put_int(out, md->minorversion);
    if (err == EDXBUS_OK)
        err = LIT(", \"source\": ");
    if (err == EDXBUS_OK)
        err = write_text_field(md->source, flags, out);
    if (err == EDXBUS_OK)
        err = LIT(", \"sourcehost\": ");
    if (err == EDXBUS_OK)
        err = write_text_field(md->sourcehost, flags, out);
    if (err == EDXBUS_OK)
        err = LIT(", \"time\": \"");
    if (err == EDXBUS_OK)
        err = edxbus_buf_append(out, time, time_len);
    if (err == EDXBUS_OK)
        err = LIT("\", \"sourcelib\": [");
    for (size_t i = 0; i < md->nsourcelib && err == EDXBUS_OK; i++) {
        if (i > 0)
            err = LIT(", ");
        if (err == EDXBUS_OK)
            err = edxbus__md_put_int(out, md->sourcelib[i]);
    }
    if (err == EDXBUS_OK)
        err = LIT("]}");
#undef LIT
    if (err != EDXBUS_OK)
        out->len = start;
    return err;
}

/* EventsMetadata.to_json() is json.dumps(ensure_ascii=True) of the seven fields: the text of
 * write_json in ASCII mode (one string writer for both, edxbus_json_write_string()). */
edxbus_err_t edxbus_metadata_to_json(const struct edxbus_metadata *md, struct edxbus_buf *out)
{
    return edxbus_metadata_write_json(md, EDXBUS_JSON_ASCII, out);
}

json_t *edxbus_metadata_to_json_value(const struct edxbus_metadata *md)
{
    char time[EDXBUS_METADATA_TIME_TEXT_MAX];
    if (edxbus_metadata_format_time(md->time_us, time, sizeof time) != EDXBUS_OK ||
        md->nsourcelib > EDXBUS_SOURCELIB_MAX)
        return NULL;
    json_t *obj = json_object();
    json_t *lib = json_array();
    if (obj == NULL || lib == NULL)
        goto fail;
    for (size_t i = 0; i < md->nsourcelib; i++)
        if (json_array_append_new(lib, json_integer(md->sourcelib[i])) != 0)
            goto fail;
    if (json_object_set_new(obj, "event_type", text_value(md->event_type)) != 0 ||
        json_object_set_new(obj, "id", text_value(md->id)) != 0 ||
        json_object_set_new(obj, "minorversion", json_integer(md->minorversion)) != 0 ||
        json_object_set_new(obj, "source", text_value(md->source)) != 0 ||
        json_object_set_new(obj, "sourcehost", text_value(md->sourcehost)) != 0 ||
        json_object_set_new(obj, "time", json_string(time)) != 0)
        goto fail;
    if (json_object_set_new(obj, "sourcelib", lib) != 0) {
        lib = NULL; /* json_object_set_new frees the value on failure */
        goto fail;
    }
    return obj;
fail:
    json_decref(lib);
    json_decref(obj);
    return NULL;
}

static const char *json_kind(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
        return "an integer";
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    default:
        return "null";
    }
}

static edxbus_err_t sourcelib_from_array(struct edxbus_metadata *md, const json_t *arr,
                                         char *errstr, size_t errstr_size)
{
    size_t n = json_array_size(arr);
    if (n > EDXBUS_SOURCELIB_MAX) {
        if (errstr_size)
            edxbus_errf(errstr, errstr_size, "sourcelib: %zu integers is too many; at most %d", n,
                        EDXBUS_SOURCELIB_MAX);
        return EDXBUS_ERR_INVALID_ARG;
    }
    if (n == 0) { /* its text form "" would not parse back (found by fuzz/fuzz_metadata.c) */
        if (errstr_size)
            edxbus_errf(errstr, errstr_size, "sourcelib: [] is empty; expected e.g. [11, 2, 0]");
        return EDXBUS_ERR_INVALID_ARG;
    }
    for (size_t i = 0; i < n; i++) {
        const json_t *item = json_array_get(arr, i);
        if (!json_is_integer(item)) {
            if (errstr_size)
                edxbus_errf(errstr, errstr_size,
                            "sourcelib[%zu]: expected an integer, got %s; e.g. [11, 2, 0]", i,
                            json_kind(item));
            return EDXBUS_ERR_INVALID_ARG;
        }
        md->sourcelib[i] = json_integer_value(item);
    }
    md->nsourcelib = n;
    return EDXBUS_OK;
}

edxbus_err_t edxbus_metadata_from_json_value(struct edxbus_metadata *md, const json_t *obj,
                                             char *errstr, size_t errstr_size)
{
    struct edxbus_metadata tmp = *md;
    const char *key;
    const json_t *value;
    edxbus_err_t err = EDXBUS_OK;
    char q[QUOTE_MAX + 8];

    if (!json_is_object(obj)) {
        if (errstr_size)
            edxbus_errf(errstr, errstr_size, "metadata: expected a JSON object, got %s",
                        obj ? json_kind(obj) : "nothing");
        return EDXBUS_ERR_INVALID_ARG;
    }
    json_object_foreach((json_t *)obj, key, value)
    {
        bool known = strcmp(key, "event_type") == 0 || strcmp(key, "id") == 0 ||
                     strcmp(key, "source") == 0 || strcmp(key, "sourcehost") == 0 ||
                     strcmp(key, "time") == 0 || strcmp(key, "minorversion") == 0 ||
                     strcmp(key, "sourcelib") == 0;
        if (!known) {
            if (errstr_size)
                edxbus_errf(errstr, errstr_size,
                            "unknown metadata field \"%s\"; expected one of %s",
                            edxbus__md_quoted(key, strlen(key), q, sizeof q), FIELD_NAMES);
            return EDXBUS_ERR_INVALID_ARG;
        }
        char canon[37];
        if (strcmp(key, "id") == 0 && json_is_string(value) &&
            !edxbus__md_canonical_uuid(json_string_value(value), json_string_length(value), canon)) {
            /* EventsMetadata's id is a UUID: the consumer's UUID() would refuse the rest */
            if (errstr_size)
                edxbus_errf(
                    errstr, errstr_size,
                    "id: \"%s\" is not a UUID; expected 32 hex digits, e.g. "
                    "\"d36ab1b0-1466-11ef-9f8e-0242ac120003\"",
                    edxbus__md_quoted(json_string_value(value), json_string_length(value), q, sizeof q));
            return EDXBUS_ERR_INVALID_ARG;
        }
        if (strcmp(key, "event_type") == 0 && json_string_length(value) == 0 &&
            json_is_string(value)) {
            if (errstr_size)
                edxbus_errf(errstr, errstr_size, "event_type: must not be empty");
            return EDXBUS_ERR_INVALID_ARG;
        }
        if (strcmp(key, "minorversion") == 0 && json_is_integer(value)) {
            if (json_integer_value(value) < 0) {
                if (errstr_size)
                    edxbus_errf(errstr, errstr_size,
                                "minorversion: %lld is negative; expected 0 or more",
                                (long long)json_integer_value(value));
                return EDXBUS_ERR_INVALID_ARG;
            }
            tmp.minorversion = json_integer_value(value);
        } else if (strcmp(key, "sourcelib") == 0 && json_is_array(value)) {
            err = sourcelib_from_array(&tmp, value, errstr, errstr_size);
        } else if (json_is_string(value) && strcmp(key, "minorversion") != 0) {
            err = edxbus_metadata_set_field(&tmp, key, json_string_value(value),
                                            json_string_length(value), errstr, errstr_size);
        } else {
            const char *want = strcmp(key, "minorversion") == 0 ? "an integer"
                               : strcmp(key, "sourcelib") == 0  ? "an array of integers or "
                                                                  "\"11.2.0\""
                                                                : "a string";
            if (errstr_size)
                edxbus_errf(errstr, errstr_size, "%s: expected %s, got %s", key, want,
                            json_kind(value));
            err = EDXBUS_ERR_INVALID_ARG;
        }
        if (err != EDXBUS_OK)
            return err;
    }
    *md = tmp;
    return EDXBUS_OK;
}
