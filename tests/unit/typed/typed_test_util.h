/* tests/unit/typed/typed_test_util.h — what the typed API's tests share: reading the reference
 * vectors (tests/vectors/avro.jsonl) and hex. */
#ifndef EDXBUS_TYPED_TEST_UTIL_H
#define EDXBUS_TYPED_TEST_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edxbus/events.h"

static inline void typed_to_hex(const uint8_t *p, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = '\0';
}

static inline size_t typed_from_hex(const char *hex, uint8_t *out)
{
    size_t n = strlen(hex) / 2;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        sscanf(hex + 2 * i, "%2x", &v);
        out[i] = (uint8_t)v;
    }
    return n;
}

/* Every row of avro.jsonl as a JSON array (returns new). */
static inline json_t *typed_load_vectors(void)
{
    char path[512];
    snprintf(path, sizeof path, "%s/avro.jsonl", EDXBUS_TEST_DATA_DIR);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return NULL;
    json_t *rows = json_array();
    static char line[1 << 20];
    while (fgets(line, sizeof line, f) != NULL) {
        json_t *row = json_loads(line, 0, NULL);
        if (row == NULL) {
            json_decref(rows);
            fclose(f);
            return NULL;
        }
        json_array_append_new(rows, row);
    }
    fclose(f);
    return rows;
}

#endif /* EDXBUS_TYPED_TEST_UTIL_H */
