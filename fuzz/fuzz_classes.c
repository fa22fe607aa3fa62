/* fuzz/fuzz_classes.c — libFuzzer target for the payload-class file parser and the schema
 * generator (src/catalog/classes.c, classes_type.c, classes_schema.c).
 *
 * The input is the text of a user's payload-class file (the format of
 * catalog/openedx_events.classes). It is copied into a heap buffer of exactly its size, with no
 * NUL after it, so that a read past `len` trips ASan. It is parsed with the built-in classes as
 * the fallback for names (parsed once, on the first input, and kept: that is what
 * edxbus_catalog_add_classes_file does, and it does not grow). For every event of a file that
 * parses, it generates the data description and the Avro schema with its check paths, as
 * user.c does, then frees everything (leaks are findings too).
 * Invariants checked (abort on violation):
 *   - a failure leaves one terminated line in errstr, starting with the file name;
 *   - the schema generator fails only with SCHEMA, UNSERIALIZABLE (for an event marked so) or
 *     NOMEM, and on success writes valid JSON;
 *   - the data description is a JSON array.
 *
 * Seed corpus: fuzz/corpus/classes/ (pieces of catalog/openedx_events.classes, classes that use
 * built-in ones, broken files).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "avro/avro_int.h"
#include "catalog/catalog_int.h"

#define FILE_NAME "fuzz.classes"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct edxbus__classes *builtin_classes(void)
{
    static struct edxbus__classes *builtin;
    char errstr[EDXBUS_ERRSTR_SIZE];

    if (builtin == NULL) {
        builtin = edxbus__classes_parse(edxbus__builtin_classes_text, edxbus__builtin_classes_len,
                                        edxbus__builtin_classes_file, NULL, errstr, sizeof errstr);
        if (builtin == NULL)
            abort(); /* the built-in source parsed at build time */
    }
    return builtin;
}

static void check_errstr(const char *errstr, size_t size)
{
    if (memchr(errstr, '\0', size) == NULL || strchr(errstr, '\n') != NULL ||
        strncmp(errstr, FILE_NAME, strlen(FILE_NAME)) != 0)
        abort(); /* the error must be one terminated line naming the file */
}

static void check_event(const struct edxbus__classes *cs, size_t i)
{
    const struct edxbus__event_def *def = edxbus__classes_event(cs, i);
    char errstr[EDXBUS_ERRSTR_SIZE];
    struct edxbus__check_path *paths = NULL;
    size_t npaths = 0;
    char *text = NULL;

    if (def == NULL || def->type == NULL || def->description == NULL)
        abort();
    json_t *desc = edxbus__classes_event_data_json(cs, i);
    if (desc == NULL || !json_is_array(desc))
        abort();
    json_decref(desc);

    memset(errstr, 'x', sizeof errstr);
    edxbus_err_t err = edxbus__classes_schema(cs, i, &text, &paths, &npaths, errstr, sizeof errstr);
    if (err != EDXBUS_OK) {
        if (err != EDXBUS_ERR_SCHEMA && err != EDXBUS_ERR_UNSERIALIZABLE &&
            err != EDXBUS_ERR_NOMEM)
            abort();
        if (err == EDXBUS_ERR_UNSERIALIZABLE && def->unserializable == NULL)
            abort();
        if (memchr(errstr, '\0', sizeof errstr) == NULL || strchr(errstr, '\n') != NULL)
            abort();
        if (text != NULL)
            abort();
        return;
    }
    json_t *reread = json_loads(text, 0, NULL);
    if (reread == NULL)
        abort(); /* the generated schema is not JSON */
    json_decref(reread);
    for (size_t k = 0; k < npaths; k++) {
        if (paths[k].path == NULL)
            abort();
    }
    /* Whether the Avro layer takes it is checked by edxbus__event_type_prepare, which reports
     * a refusal as an error; only exercise it here. */
    edxbus_avro_schema_t *schema =
        edxbus_avro_schema_parse(text, strlen(text), errstr, sizeof errstr);
    edxbus_avro_schema_destroy(schema);
    free(text);
    edxbus__check_paths_free(paths, npaths);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const struct edxbus__classes *builtin = builtin_classes();
    char errstr[EDXBUS_ERRSTR_SIZE];
    char *text = malloc(size ? size : 1);

    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    memset(errstr, 'x', sizeof errstr);
    struct edxbus__classes *cs =
        edxbus__classes_parse(text, size, FILE_NAME, builtin, errstr, sizeof errstr);
    if (cs == NULL) {
        check_errstr(errstr, sizeof errstr);
        free(text);
        return 0;
    }
    for (size_t i = 0; i < edxbus__classes_nevents(cs); i++)
        check_event(cs, i);
    edxbus__classes_destroy(cs);
    free(text);
    return 0;
}
