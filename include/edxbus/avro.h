/* include/edxbus/avro.h — Avro 1.11: schemas, fingerprints, the binary codec, resolution.
 *
 * This layer knows nothing of Open edX. It turns a schema's JSON text into a parsed schema,
 * and moves values between three forms:
 *   - Avro binary (schemaless: no container header, no framing), what goes on the wire;
 *   - the plain JSON form (a jansson json_t): records are objects, a union is the bare value
 *     of the branch it holds (or null), arrays, maps, strings, booleans, numbers. It is the
 *     form openedx-events hands to its Avro writer and the form users type;
 *   - JSON text, written straight from the bytes with no tree in between (for `consume --print`).
 * Longs are exact over the whole int64 range; doubles print as Python's json module does
 * (shortest round trip, always with a fraction or an exponent: 1.0, 1e-300, -0.0).
 *
 * bytes and fixed, in the plain JSON form: a JSON string with one code point per byte, each
 * 0..255 (byte 0xE9 is "\u00e9", written in UTF-8 as C3 A9 — the Avro JSON-encoding convention,
 * what fastavro and Python's json give for bytes decoded as latin-1). A fixed of size N needs
 * exactly N code points. Decoding gives the same form; a code point above 255 is an encode
 * error naming the field.
 *
 * Which branch a union takes when encoding the bare value: by the JSON kind of the value, in
 * this order of preference, and within one preference the first branch of the union (schema
 * order) that can hold it:
 *   null    -> null
 *   boolean -> boolean
 *   integer -> int or long (the first of them that holds the value: an int branch only when it
 *              fits in 32 bits), else double, else float
 *   real    -> double, else float (NaN and the infinities too)
 *   string  -> string, else bytes (code points 0..255 only), else an enum that has the symbol,
 *              else a fixed of exactly that many code points
 *   object  -> the record branch whose fields fit best (every key a field, required fields
 *              present; the most fields present wins, the first on a tie), else map
 *   array   -> array
 * The preference comes before the schema order: ["null", "bytes", "string"] takes "x" as
 * string; ["null", "long", "int"] takes 5 as long. A value no branch can hold is an encode
 * error.
 *
 * Thread rule: a parsed schema is immutable once built and may be shared by any number of
 * threads for encoding and decoding. Resolvers likewise.
 */
#ifndef EDXBUS_AVRO_H
#define EDXBUS_AVRO_H

#include <jansson.h>
#include <stdint.h>

#include "edxbus/buf.h"
#include "edxbus/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A parsed schema: the root type and every named type it defines (opaque). */
typedef struct edxbus_avro_schema edxbus_avro_schema_t;

/** A reader/writer schema pair prepared for resolution (opaque). */
typedef struct edxbus_avro_resolver edxbus_avro_resolver_t;

/* ---------------------------------------------------------------------------------------------
 * Schemas
 * ------------------------------------------------------------------------------------------- */

/** Parse schema JSON text of @p len bytes (every primitive and complex type, named types,
 *  namespaces, references to names defined earlier, field defaults).
 *  Ownership: returns new; free with edxbus_avro_schema_destroy().
 *  Errors:    NULL, and one line in @p errstr naming the place, e.g.
 *             `schema: fields[2] "mode": unknown type "strng"`. */
EDXBUS_API edxbus_avro_schema_t *edxbus_avro_schema_parse(const char *json, size_t len,
                                                          char *errstr, size_t errstr_size);

/** As edxbus_avro_schema_parse(), from an already-parsed JSON value.
 *  Ownership: borrows @p json during the call only. */
EDXBUS_API edxbus_avro_schema_t *edxbus_avro_schema_from_json(const json_t *json, char *errstr,
                                                              size_t errstr_size);

/** Free @p schema. NULL is a no-op. */
EDXBUS_API void edxbus_avro_schema_destroy(edxbus_avro_schema_t *schema);

/** The schema's Parsing Canonical Form (Avro 1.11 specification).
 *  Ownership: returns new (NUL-terminated); free with free(). NULL only when out of memory. */
EDXBUS_API char *edxbus_avro_schema_canonical(const edxbus_avro_schema_t *schema);

/** CRC-64-AVRO (Rabin) fingerprint of the schema's Parsing Canonical Form. */
EDXBUS_API uint64_t edxbus_avro_schema_fingerprint(const edxbus_avro_schema_t *schema);

/** CRC-64-AVRO (Rabin) of any bytes, as the specification defines it. */
EDXBUS_API uint64_t edxbus_avro_crc64(const void *data, size_t len);

/* ---------------------------------------------------------------------------------------------
 * Binary codec: plain JSON form <-> Avro binary
 * ------------------------------------------------------------------------------------------- */

/** Flags for edxbus_avro_encode(). */
enum {
    /** Skip the string checks the catalog attaches to fields (datetimes, course keys, UUIDs…).
     *  Shape and type checks are never skipped. */
    EDXBUS_AVRO_NO_CHECKS = 1u << 0,
};

/** Append the Avro binary encoding of @p value (plain JSON form) under @p schema to @p out.
 *  A record field missing from @p value takes its default, or null when its type is a union
 *  with null; any other missing field, an unknown field, a wrong type or a long outside int64
 *  is an error.
 *  Ownership: borrows everything during the call only.
 *  Errors:    EDXBUS_ERR_ENCODE with a line naming the field path, e.g.
 *             `enrollment.user.id: expected long, got string "x"`; @p out keeps its old length. */
EDXBUS_API edxbus_err_t edxbus_avro_encode(const edxbus_avro_schema_t *schema,
                                           const json_t *value, unsigned flags,
                                           struct edxbus_buf *out, char *errstr,
                                           size_t errstr_size);

/** Decode @p len bytes into the plain JSON form (record fields in schema order).
 *  The whole input must be consumed: trailing bytes are an error.
 *  Ownership: on success *@p out is a new reference (json_decref it).
 *  Errors:    EDXBUS_ERR_DECODE with the byte offset and field path, e.g.
 *             `avro: byte 37: negative string length in field "user.id"`. Never reads past
 *             @p len, never allocates more than the input can justify. */
EDXBUS_API edxbus_err_t edxbus_avro_decode(const edxbus_avro_schema_t *schema, const uint8_t *data,
                                           size_t len, json_t **out, char *errstr,
                                           size_t errstr_size);

/** Check that @p len bytes are a value edxbus_avro_decode() accepts, without building it:
 *  exactly the same checks (bounds, UTF-8, union branches, enum indexes, repeated map keys,
 *  nesting depth, trailing bytes), about the cost of reading the bytes once. For a consumer
 *  that must refuse bad bytes before its receivers run, and decodes later only if asked.
 *  Ownership: borrows everything during the call only; allocates only for map keys.
 *  Errors:    as edxbus_avro_decode(), with the same message for the same input. */
EDXBUS_API edxbus_err_t edxbus_avro_validate(const edxbus_avro_schema_t *schema,
                                             const uint8_t *data, size_t len, char *errstr,
                                             size_t errstr_size);

/** Where one field's value lies inside an encoded record, without decoding the rest: @p names
 *  (@p n >= 1 of them) is a path of field names from the root record down through records,
 *  e.g. {"enrollment", "course", "course_key"}; *@p off and *@p out_len get the byte range of
 *  that field's encoded value in @p data. Only the fields before it on each level are read
 *  (skipped, bounds-checked). A string's range is its Avro encoding (length, then bytes), which
 *  is also that value encoded alone under the field's own schema (an event's Kafka/Redis key).
 *  Ownership: borrows everything during the call only; allocates nothing.
 *  Errors:    EDXBUS_ERR_NOT_FOUND when a name is no field of the record it should be in, or a
 *             field on the way is not a record (a nullable one is a union: not found either);
 *             EDXBUS_ERR_DECODE for bytes that end early or are malformed before the field. */
EDXBUS_API edxbus_err_t edxbus_avro_field_slice(const edxbus_avro_schema_t *schema,
                                                const uint8_t *data, size_t len,
                                                const char *const *names, size_t n, size_t *off,
                                                size_t *out_len, char *errstr, size_t errstr_size);

/** Decode @p len bytes straight to JSON text appended to @p out (no tree in between). The text
 *  equals edxbus_json_write() of what edxbus_avro_decode() returns, byte for byte.
 *  Errors:    as edxbus_avro_decode(); @p out keeps its old length. */
EDXBUS_API edxbus_err_t edxbus_avro_decode_to_text(const edxbus_avro_schema_t *schema,
                                                   const uint8_t *data, size_t len,
                                                   struct edxbus_buf *out, char *errstr,
                                                   size_t errstr_size);

/* ---------------------------------------------------------------------------------------------
 * Schema resolution (writer's schema vs reader's schema, Avro 1.11 "Schema Resolution")
 * ------------------------------------------------------------------------------------------- */

/** Prepare to read data written with @p writer as if written with @p reader: added fields take
 *  their defaults, removed fields are skipped, int->long->float->double promotion,
 *  string<->bytes, union branch matching, enum symbols (with the reader's default).
 *  Ownership: borrows both schemas, which must outlive the resolver; returns new.
 *  Errors:    NULL, and a line naming the first incompatibility and its path. */
EDXBUS_API edxbus_avro_resolver_t *edxbus_avro_resolver_new(const edxbus_avro_schema_t *writer,
                                                            const edxbus_avro_schema_t *reader,
                                                            char *errstr, size_t errstr_size);

/** Free @p res. NULL is a no-op. */
EDXBUS_API void edxbus_avro_resolver_destroy(edxbus_avro_resolver_t *res);

/** Decode writer-schema bytes into the reader schema's plain JSON form.
 *  Ownership and errors as edxbus_avro_decode(). */
EDXBUS_API edxbus_err_t edxbus_avro_resolver_decode(const edxbus_avro_resolver_t *res,
                                                    const uint8_t *data, size_t len, json_t **out,
                                                    char *errstr, size_t errstr_size);

/* ---------------------------------------------------------------------------------------------
 * JSON text as Python's json module writes it
 * ------------------------------------------------------------------------------------------- */

/** Flags for edxbus_json_write(). */
enum {
    /** Escape every non-ASCII code point as \uXXXX (surrogate pairs above U+FFFF), as Python's
     *  json.dumps(ensure_ascii=True). Without it, UTF-8 is written as is. */
    EDXBUS_JSON_ASCII = 1u << 0,
};

/** Append @p value as JSON text with Python's default separators (", " and ": "), object keys
 *  in their stored order, integers exact, reals as Python's repr (1.0, 1e-300, -0.0).
 *  Ownership: borrows @p value. Errors: EDXBUS_ERR_NOMEM only. */
EDXBUS_API edxbus_err_t edxbus_json_write(const json_t *value, unsigned flags,
                                          struct edxbus_buf *out);

/** Append the UTF-8 text @p s (@p len bytes, U+0000 allowed) as a JSON string, quotes included,
 *  exactly as edxbus_json_write() writes a string value with @p flags. @p s must be valid
 *  UTF-8 (jansson's strings always are); other bytes give undefined text, never an over-read.
 *  Errors: EDXBUS_ERR_NOMEM only. */
EDXBUS_API edxbus_err_t edxbus_json_write_string(const char *s, size_t len, unsigned flags,
                                                 struct edxbus_buf *out);

/** Append @p d as Python's repr(float) writes it: the shortest text that reads back to the same
 *  double, with ".0" or an exponent so it stays a float; "NaN", "Infinity", "-Infinity". */
EDXBUS_API edxbus_err_t edxbus_json_write_double(double d, struct edxbus_buf *out);

#ifdef __cplusplus
}
#endif
#endif /* EDXBUS_AVRO_H */
