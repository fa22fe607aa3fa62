/* src/avro/crc64.c — CRC-64-AVRO, the Rabin fingerprint of the Avro specification.
 *
 * The specification defines the fingerprint with the polynomial 0xc15d213aa4d7a795 (the "EMPTY"
 * value), a 256-entry table built from it, and a right-shifting loop starting at EMPTY. The
 * table is built once, lazily; building it twice from two threads writes the same values, and
 * the ready flag is only set after the table is complete (C11 atomics).
 */
#include <stdatomic.h>
#include <stdint.h>

#include "edxbus/avro.h"

#define CRC64_AVRO_EMPTY 0xc15d213aa4d7a795ULL

static uint64_t crc64_table[256];
static atomic_bool crc64_ready;

static void crc64_build_table(void)
{
    for (int i = 0; i < 256; i++) {
        uint64_t fp = (uint64_t)i;
        for (int j = 0; j < 8; j++)
            fp = (fp >> 1) ^ (CRC64_AVRO_EMPTY & (0 - (fp & 1)));
        crc64_table[i] = fp;
    }
    atomic_store(&crc64_ready, true);
}

uint64_t edxbus_avro_crc64(const void *data, size_t len)
{
    if (!atomic_load(&crc64_ready))
        crc64_build_table();
    const uint8_t *p = data;
    uint64_t fp = CRC64_AVRO_EMPTY;
    for (size_t i = 0; i < len; i++)
        fp = (fp >> 8) ^ crc64_table[(fp ^ p[i]) & 0xff];
    return fp;
}
