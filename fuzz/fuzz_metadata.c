/* fuzz/fuzz_metadata.c — libFuzzer target for the metadata text forms and JSON form
 * (src/bus/metadata.c): what a bus carried in Redis entry fields, Kafka headers and
 * `edxbus produce --metadata`.
 *
 * Input: the first byte picks a field name (modulo the seven), the rest is used twice:
 *   - as that field's text for edxbus_metadata_set_field();
 *   - as JSON for edxbus_metadata_from_json_value().
 * Both start from the same valid metadata. Invariants checked (abort on violation):
 *   - a failure is INVALID_ARG with one terminated line in errstr;
 *   - on success, to_json works and every field's field_text works;
 *   - set_field(name, field_text(name)) succeeds for every field and gives back the same text
 *     (the text forms round-trip);
 *   - from_json_value(to_json_value(md)) succeeds and writes the same to_json bytes.
 * Nothing is kept between inputs.
 *
 * Seed corpus: fuzz/corpus/metadata/ (field texts and to_json objects of
 * tests/vectors/metadata.jsonl, and hostile ones).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "edxbus/buf.h"
#include "edxbus/metadata.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const fields[] = {"event_type", "id",   "minorversion", "source",
                                     "sourcehost", "time", "sourcelib"};
#define NFIELDS (sizeof fields / sizeof fields[0])

static const char *const baseline[NFIELDS] = {
    "org.openedx.learning.course.enrollment.created.v1",
    "d36ab1b0-1466-11ef-9f8e-0242ac120003",
    "0",
    "openedx/lms/web",
    "edx.devstack.lms",
    "2024-05-17T14:03:27.123456+00:00",
    "11.2.0"};

static void check_line(const char *errstr, size_t size)
{
    if (memchr(errstr, '\0', size) == NULL || strchr(errstr, '\n') != NULL)
        abort(); /* the error must be one terminated line */
}

static void start(struct edxbus_metadata *md)
{
    char errstr[EDXBUS_ERRSTR_SIZE];
    memset(md, 0, sizeof *md);
    for (size_t i = 0; i < NFIELDS; i++) {
        if (edxbus_metadata_set_field(md, fields[i], baseline[i], strlen(baseline[i]), errstr,
                                      sizeof errstr) != EDXBUS_OK)
            abort();
    }
}

/* Everything that must hold for metadata the library accepted. */
static void check_accepted(const struct edxbus_metadata *md)
{
    struct edxbus_buf json = EDXBUS_BUF_INIT, text = EDXBUS_BUF_INIT, again = EDXBUS_BUF_INIT;
    char errstr[EDXBUS_ERRSTR_SIZE];

    if (edxbus_metadata_to_json(md, &json) != EDXBUS_OK)
        abort();
    for (size_t i = 0; i < NFIELDS; i++) {
        edxbus_buf_reset(&text);
        edxbus_buf_reset(&again);
        if (edxbus_metadata_field_text(md, fields[i], &text) != EDXBUS_OK)
            abort();
        struct edxbus_metadata copy = *md;
        if (edxbus_metadata_set_field(&copy, fields[i], text.len ? (const char *)text.data : "",
                                      text.len, errstr, sizeof errstr) != EDXBUS_OK)
            abort(); /* the library's own text form must be accepted back */
        if (edxbus_metadata_field_text(&copy, fields[i], &again) != EDXBUS_OK ||
            again.len != text.len || (text.len && memcmp(again.data, text.data, text.len) != 0))
            abort(); /* and read back to the same text */
    }

    json_t *value = edxbus_metadata_to_json_value(md);
    if (value == NULL)
        abort();
    struct edxbus_metadata back;
    start(&back);
    /* an id read from a bus may be any text; the JSON form (what users give) must be a UUID */
    bool uuid = strlen(md->id) == 36 && strspn(md->id, "0123456789abcdef-") == 36;
    edxbus_err_t err = edxbus_metadata_from_json_value(&back, value, errstr, sizeof errstr);
    if (uuid && md->minorversion >= 0 && md->event_type[0] != '\0' && err != EDXBUS_OK)
        abort(); /* to_json must be accepted by from_json */
    if (err != EDXBUS_OK && err != EDXBUS_ERR_INVALID_ARG)
        abort();
    json_decref(value);
    edxbus_buf_reset(&again);
    if (err == EDXBUS_OK &&
        (edxbus_metadata_to_json(&back, &again) != EDXBUS_OK || again.len != json.len ||
         memcmp(again.data, json.data, json.len) != 0))
        abort();
    edxbus_buf_fini(&json);
    edxbus_buf_fini(&text);
    edxbus_buf_fini(&again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct edxbus_metadata md;
    char errstr[EDXBUS_ERRSTR_SIZE];

    if (size < 1)
        return 0;
    const char *name = fields[data[0] % NFIELDS];
    const char *text = (const char *)data + 1;
    size_t len = size - 1;

    /* The text in its own heap block, so that reading past len trips ASan. */
    char *copy = malloc(len ? len : 1);
    if (copy == NULL)
        return 0;
    memcpy(copy, text, len);

    start(&md);
    memset(errstr, 'x', sizeof errstr);
    edxbus_err_t err = edxbus_metadata_set_field(&md, name, copy, len, errstr, sizeof errstr);
    if (err == EDXBUS_OK)
        check_accepted(&md);
    else if (err != EDXBUS_ERR_INVALID_ARG)
        abort();
    else
        check_line(errstr, sizeof errstr);

    json_t *obj = json_loadb(copy, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    if (obj != NULL) {
        start(&md);
        memset(errstr, 'x', sizeof errstr);
        err = edxbus_metadata_from_json_value(&md, obj, errstr, sizeof errstr);
        if (err == EDXBUS_OK)
            check_accepted(&md);
        else if (err != EDXBUS_ERR_INVALID_ARG)
            abort();
        else
            check_line(errstr, sizeof errstr);
        json_decref(obj);
    }
    free(copy);
    return 0;
}
