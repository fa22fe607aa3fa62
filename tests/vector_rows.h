/* tests/vector_rows.h — reading the recorded vectors (tests/vectors/, one JSON object per
 * line) and hex, for the wire tests of every broker: a row per line, its metadata from its
 * headers.
 * Needs EDXBUS_TEST_DATA_DIR (the tests' CMake defines it).
 */
#ifndef EDXBUS_TEST_VECTOR_ROWS_H
#define EDXBUS_TEST_VECTOR_ROWS_H

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edxbus/metadata.h"

static inline int test_hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : (c | 32) - 'a' + 10;
}

/** Decode hex into a new buffer (free()); *len gets its size. */
static inline unsigned char *test_unhex(const char *hex, size_t *len)
{
    size_t n = strlen(hex) / 2;
    unsigned char *out = malloc(n + 1);
    for (size_t i = 0; i < n; i++)
        out[i] = (unsigned char)(test_hexval(hex[2 * i]) * 16 + test_hexval(hex[2 * i + 1]));
    out[n] = 0;
    *len = n;
    return out;
}

/** Hex of [p, p+len) into a new string (free()). */
static inline char *test_hex(const void *p, size_t len)
{
    static const char digits[] = "0123456789abcdef";
    char *out = malloc(2 * len + 1);
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[((const unsigned char *)p)[i] >> 4];
        out[2 * i + 1] = digits[((const unsigned char *)p)[i] & 15];
    }
    out[2 * len] = '\0';
    return out;
}

/** Every row of vectors file @p name ("kafka.jsonl") as a new JSON array, or NULL. */
static inline json_t *test_vector_rows(const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", EDXBUS_TEST_DATA_DIR, name);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return NULL;
    json_t *all = json_array();
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) > 0) {
        json_t *row = json_loads(line, 0, NULL);
        if (row != NULL)
            json_array_append_new(all, row);
    }
    free(line);
    fclose(f);
    return all;
}

static inline const char *test_row_str(const json_t *row, const char *name)
{
    return json_string_value(json_object_get(row, name));
}

/* The row's metadata, from its headers (wire name -> metadata field). */
static inline void test_row_metadata(const json_t *row, struct edxbus_metadata *md)
{
    static const char *const map[][2] = {
        {"ce_type", "event_type"}, {"ce_id", "id"},   {"ce_source", "source"},
        {"ce_time", "time"},       {"ce_minorversion", "minorversion"},
        {"sourcehost", "sourcehost"}, {"sourcelib", "sourcelib"},
    };
    char errstr[256];
    memset(md, 0, sizeof *md);
    const json_t *headers = json_object_get(row, "headers");
    for (size_t i = 0; i < json_array_size(headers); i++) {
        const char *name = json_string_value(json_array_get(json_array_get(headers, i), 0));
        const char *value = json_string_value(json_array_get(json_array_get(headers, i), 1));
        for (size_t k = 0; k < sizeof map / sizeof map[0]; k++)
            if (strcmp(map[k][0], name) == 0 &&
                edxbus_metadata_set_field(md, map[k][1], value, strlen(value), errstr,
                                          sizeof errstr) != EDXBUS_OK)
                fprintf(stderr, "row header %s: %s\n", name, errstr);
    }
}

#endif /* EDXBUS_TEST_VECTOR_ROWS_H */
