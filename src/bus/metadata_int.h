/* src/bus/metadata_int.h — what metadata.c shares with metadata_json.c (the JSON forms of
 * EventsMetadata): the text checks and error quoting both use. Not part of the API. */
#ifndef EDXBUS_METADATA_INT_H
#define EDXBUS_METADATA_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "edxbus/buf.h"
#include "edxbus/error.h"

#define US_PER_SEC INT64_C(1000000)
#define US_PER_DAY (INT64_C(86400) * US_PER_SEC)
#define FIELD_NAMES "event_type, id, minorversion, source, sourcehost, time, sourcelib"
#define QUOTE_MAX 72 /* bytes of a bad value quoted in an error line: keeps it one short line */

/** @p s (@p len bytes) for an error line: at most QUOTE_MAX bytes, control bytes as ?, into
 *  @p out. Returns out. */
const char *edxbus__md_quoted(const char *s, size_t len, char *out, size_t size);

/** Decode one UTF-8 code point from @p s into *@p cp. Returns its length, 0 when invalid. */
size_t edxbus__md_utf8_decode(const uint8_t *s, size_t len, uint32_t *cp);

/** Whether @p s is valid UTF-8. */
bool edxbus__md_utf8_valid(const char *s, size_t len);

/** Whether @p s is a valid text field: UTF-8 without NUL bytes. */
bool edxbus__md_text_ok(const char *s, size_t len);

/** Append @p v in decimal to @p out. Errors: EDXBUS_ERR_NOMEM. */
edxbus_err_t edxbus__md_put_int(struct edxbus_buf *out, int64_t v);

/** Whether @p text is a UUID; its canonical lower-case form into @p out. */
bool edxbus__md_canonical_uuid(const char *text, size_t len, char out[37]);

#endif /* EDXBUS_METADATA_INT_H */
