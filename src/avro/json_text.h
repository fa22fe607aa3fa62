/* src/avro/json_text.h — the pieces of Python-style JSON text shared by edxbus_json_write() and
 * the straight-to-text decoder, so both write every scalar identically, byte for byte.
 *
 * Strings are escaped as Python's json.dumps does: `"` `\\` `\n` `\r` `\t` `\b` `\f` by name, other
 * bytes below 0x20 as \u00XX (lowercase); with EDXBUS_JSON_ASCII also DEL and every non-ASCII
 * code point (surrogate pairs above U+FFFF). Inputs must already be valid UTF-8.
 */
#ifndef EDXBUS_AVRO_JSON_TEXT_H
#define EDXBUS_AVRO_JSON_TEXT_H

#include <stddef.h>
#include <stdint.h>

#include "edxbus/avro.h"
#include "edxbus/buf.h"

/** Append a quoted, escaped string of valid UTF-8. */
edxbus_err_t edxbus__json_write_str(struct edxbus_buf *out, const uint8_t *s, size_t len,
                                    unsigned flags);

/** Append a quoted string whose code points are the bytes of [s, s+len) (the plain JSON form
 *  of Avro bytes and fixed). */
edxbus_err_t edxbus__json_write_latin1(struct edxbus_buf *out, const uint8_t *s, size_t len,
                                       unsigned flags);

/** Append a decimal integer. */
edxbus_err_t edxbus__json_write_int(struct edxbus_buf *out, int64_t v);

/** Format @p d as Python's repr(float) into @p out (at least 32 bytes); returns the length. */
size_t edxbus__double_repr(double d, char *out);

#endif /* EDXBUS_AVRO_JSON_TEXT_H */
