/* src/avro/validate.c — is this input a value edxbus_avro_decode() accepts? Without building it.
 *
 * The worker must know, before it calls any receiver, whether a message's bytes decode (bytes
 * that do not go to the dead-letter topic without retries), but most receivers never ask for
 * the JSON tree: `consume --print` writes text straight from the bytes, typed receivers decode
 * into their structs, a bridge forwards the bytes. Building the tree only to know that it could
 * be built was most of the worker's time; this answers the question at the cost of reading the
 * bytes once.
 *
 * It is the skipping walk of reader.c in its checking mode (reader->check_text): the same
 * checked primitives as the tree decoder (bounds, varints, union branches, enum indexes, block
 * counts, nesting depth), plus UTF-8 in strings and map keys and no repeated key in a map (the
 * keys seen are kept in a jansson object: the only allocation, and only for maps), then no
 * trailing bytes. NaN and the infinities are accepted, as the tree decoder accepts them.
 *
 * On failure the input is decoded again by decode.c for its exact message (byte offset and field
 * path): failures are rare, and one message for both paths keeps dead letters the same.
 *
 * To add a check to the decoder: add it to the checking mode of reader.c too;
 * tests/unit/avro/test_vectors.c runs both on every vector and on corrupted copies of them.
 */
#include "avro/reader.h"

edxbus_err_t edxbus_avro_validate(const edxbus_avro_schema_t *schema, const uint8_t *data,
                                  size_t len, char *errstr, size_t errstr_size)
{
    if (schema == NULL || (data == NULL && len > 0))
        return EDXBUS_ERR_INVALID_ARG;
    struct edxbus__avro_reader r;
    edxbus__avro_reader_init(&r, data, len, NULL, 0);
    r.check_text = true;
    edxbus_err_t err = edxbus__avro_skip(&r, schema->root);
    if (err == EDXBUS_OK)
        err = edxbus__avro_finish(&r);
    if (err == EDXBUS_OK || err == EDXBUS_ERR_NOMEM)
        return err;
    /* The decoder's own message for the same input (it fails there too). */
    json_t *v = NULL;
    err = edxbus_avro_decode(schema, data, len, &v, errstr, errstr_size);
    json_decref(v);
    return err != EDXBUS_OK ? err : EDXBUS_ERR_DECODE;
}
