/* include/edxbus/json.h — reading JSON text as the Python reference writes it.
 *
 * Python's json module writes any Unicode string (U+0000 and every other control character
 * included, as escapes) and writes the doubles NaN, Infinity and -Infinity as those bare words.
 * What edxbus prints it must accept back, so every JSON input of the library and of the edxbus
 * command goes through edxbus_json_loadb():
 *
 *   - strings may hold any code point, U+0000 included; read them with json_string_length(),
 *     never strlen() (the bytes are UTF-8 and may hold NUL bytes);
 *   - the bare words NaN, Infinity and -Infinity are accepted wherever a value may stand, and
 *     become "non-finite doubles" (below). The strings "NaN" and "Infinity" stay strings.
 *
 * Non-finite doubles: a jansson real cannot hold NaN or an infinity, so edxbus represents them
 * in a jansson tree as a small marker object that edxbus_json_double() makes and that the
 * encoders (generic and typed), the JSON writers and edxbus_json_number() recognise. Its one
 * member key begins with a NUL byte, which JSON text can never produce (object keys holding
 * U+0000 are refused while parsing), so no payload is ever mistaken for it. A caller building a
 * payload in C uses edxbus_json_double() for any double it may hold. Note that jansson's
 * json_deep_copy() drops keys holding NUL, so it turns such a marker into {}: copy trees that may
 * hold non-finite doubles by reference (json_incref), or rebuild the value with
 * edxbus_json_double().
 *
 * Thread rule: these calls share no state; any thread may call them.
 */
#ifndef EDXBUS_JSON_H
#define EDXBUS_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "edxbus/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/** edxbus_json_loadb() flags. */
#define EDXBUS_JSON_ANY 0x1u           /* any value at the top (default: an object or an array) */
#define EDXBUS_JSON_NO_DUPLICATES 0x2u /* refuse an object that repeats a key */

/** Parse @p len bytes of JSON text (no NUL terminator needed; NUL bytes in the text are an
 *  error). Returns a new reference, or NULL with @p errstr set to one line in edxbus's words,
 *  "line L, column C: what" (the caller adds where the text came from). EDXBUS_JSON_* @p flags.
 *  Memory: the text is copied only when it holds NaN or an infinity. */
EDXBUS_API json_t *edxbus_json_loadb(const char *text, size_t len, unsigned flags, char *errstr,
                                     size_t errstr_size);

/** A new reference holding @p d: a jansson real when @p d is finite, else the non-finite marker
 *  described above. NULL only when out of memory. */
EDXBUS_API json_t *edxbus_json_double(double d);

/** True when @p v is a number (integer, real or non-finite marker); then *@p out holds it. */
EDXBUS_API bool edxbus_json_number(const json_t *v, double *out);

/** True when @p v is a non-finite marker made by edxbus_json_double() or edxbus_json_loadb();
 *  then *@p out (when not NULL) holds NaN, +inf or -inf. */
EDXBUS_API bool edxbus_json_is_nonfinite(const json_t *v, double *out);

#ifdef __cplusplus
}
#endif
#endif /* EDXBUS_JSON_H */
