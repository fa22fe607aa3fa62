/* src/avro/schema_int.h — what schema.c shares with schema_default.c (not part of avro_int.h,
 * whose data model the rest of src/avro/ codes against; these are parser internals).
 */
#ifndef EDXBUS_SCHEMA_INT_H
#define EDXBUS_SCHEMA_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "avro/avro_int.h"

/** The text of a JSON string usable as a C string: NULL for anything else, and for a string
 *  holding \u0000 (JSON allows it so that a bytes default can hold a zero byte, but a name cut
 *  at its NUL would silently become another name). Borrowed from @p json. */
const char *edxbus__avro_json_cstr(const json_t *json);

/** What @p json is, for messages: "object", "array", "string", "integer", "number",
 *  "boolean", "null", or "string holding \u0000". Static storage. */
const char *edxbus__avro_json_kind(const json_t *json);

/** Whether @p value may be the default of a field of type @p node (Avro 1.11 rules; a union's
 *  default is a value of its first branch). On false, writes one phrase to @p why naming the
 *  place inside the default, e.g. `default at items[1] does not match int: got string`. */
bool edxbus__avro_default_check(const struct edxbus_avro_node *node, const json_t *value, char *why,
                                size_t why_size);

#endif /* EDXBUS_SCHEMA_INT_H */
