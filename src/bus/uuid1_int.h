/* src/bus/uuid1_int.h — in-process UUID version 1 generator (private to the library).
 *
 * Thread rule: every function here may be called from any thread at once, and in the child of
 * a fork() (which draws its own clock sequence and node; see src/bus/uuid1.c).
 */
#ifndef EDXBUS_UUID1_INT_H
#define EDXBUS_UUID1_INT_H

#include <stdint.h>
#include <time.h>

#define EDXBUS__UUID_TEXT_SIZE 37 /* bytes of "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" + NUL */

/** Fill @p uu with a new UUID version 1 (RFC 4122 variant), in network byte order. Never fails. */
void edxbus__uuid1_generate(uint8_t uu[16]);

/** The same from a CLOCK_REALTIME reading the caller made (so that one reading serves the id
 *  and the event's time). Timestamps still strictly increase within the process. */
void edxbus__uuid1_generate_at(uint8_t uu[16], const struct timespec *now);

/** Write @p uu as 36 lowercase hex digits and hyphens, NUL-terminated, into @p text. */
void edxbus__uuid_unparse(const uint8_t uu[16], char text[EDXBUS__UUID_TEXT_SIZE]);

#endif /* EDXBUS_UUID1_INT_H */
