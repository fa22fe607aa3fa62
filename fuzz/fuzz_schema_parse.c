/* fuzz/fuzz_schema_parse.c — libFuzzer target for the schema parser and canonical form.
 *
 * Feeds arbitrary bytes to edxbus_avro_schema_parse(). When they parse, it also writes the
 * Parsing Canonical Form and the fingerprint, then frees everything (leaks are findings too).
 * Beyond "no crash, no sanitizer report", it checks what the API promises:
 *   - a failure leaves exactly one line in errstr, starting with "schema: ";
 *   - the canonical form is valid JSON and the fingerprint is CRC-64-AVRO of it.
 * It does not require the canonical form to parse back: the specification's form drops
 * "namespace", so a type in the null namespace nested inside a namespaced one cannot be
 * told apart on re-reading (a known limit of the form, not of this parser).
 *
 * Seed corpus: fuzz/corpus/schema_parse/ (primitives, every type, catalog schemas, broken ones).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "avro/avro_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char errstr[EDXBUS_ERRSTR_SIZE];
    edxbus_avro_schema_t *schema;
    char *canon;
    json_t *reread;

    memset(errstr, 'x', sizeof errstr);
    schema = edxbus_avro_schema_parse((const char *)data, size, errstr, sizeof errstr);
    if (schema == NULL) {
        if (memchr(errstr, '\0', sizeof errstr) == NULL || strchr(errstr, '\n') != NULL ||
            strncmp(errstr, "schema: ", 8) != 0)
            abort(); /* the error must be one terminated line */
        return 0;
    }
    canon = edxbus_avro_schema_canonical(schema);
    if (canon != NULL) {
        reread = json_loads(canon, JSON_DECODE_ANY, NULL);
        if (reread == NULL)
            abort(); /* canonical form is not JSON */
        json_decref(reread);
        if (edxbus_avro_schema_fingerprint(schema) != edxbus_avro_crc64(canon, strlen(canon)))
            abort();
        free(canon);
    }
    edxbus_avro_schema_destroy(schema);
    return 0;
}
