/* fuzz/fuzz_outbox_entry.c — libFuzzer target for outbox entries as the relay reads them back
 * from the outbox file: the headers column of the row (edxbus__sq_headers_decode(),
 * src/backends/sqlite/sqlite_take.c), then the entry's destination topic and key schema taken
 * from those headers (edxbus__outbox_unwrap(), src/bus/outbox.c). The file is outside input: any
 * process that can write it (or a disk that corrupts it) decides these bytes.
 *
 * Input: the headers column, as is.
 * Invariants checked (abort on violation):
 *   - decoding fails only with "the headers column is corrupt", and then yields no header;
 *   - every decoded name is NUL-terminated and every value lies inside the slot's buffer, which
 *     never grew past the room reserved for it (the column's length: pointers stay valid);
 *   - encoding the decoded headers again and decoding that gives the same headers, in no more
 *     bytes than the input (idempotent);
 *   - unwrap finds a destination exactly when a topic header ends with its NUL, returns it as a
 *     C string inside that header's value, passes on at most the room given, and never passes
 *     on the topic or key-schema header itself.
 * Nothing is kept between inputs.
 *
 * Seed corpus: fuzz/corpus/outbox_entry/ (a real entry's column, with a key schema, extra
 * headers, a topic without its NUL, truncated lengths).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backends/sqlite/sqlite_int.h"
#include "bus/outbox_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define HCAP 4 /* the room unwrap gets for the other headers */

static bool inside(const struct edxbus_slot *s, const void *p, size_t len)
{
    const uint8_t *b = s->data.data, *q = p;
    return q >= b && q + len <= b + s->data.len;
}

static void decode(struct edxbus_slot *s, struct edxbus_msg *m, const uint8_t *p, size_t len,
                   size_t *n, const char **bad)
{
    edxbus_buf_reset(&s->data);
    if (edxbus_buf_reserve(&s->data, len + 1) != EDXBUS_OK)
        abort();
    size_t room = s->data.cap;
    uint8_t *base = s->data.data;
    memset(m, 0, sizeof *m);
    *bad = edxbus__sq_headers_decode(s, m, p, len);
    *n = m->nheaders;
    if (s->data.data != base || s->data.cap != room)
        abort(); /* the buffer moved: earlier pointers would dangle */
    if (*bad != NULL && strcmp(*bad, "the headers column is corrupt") != 0)
        abort();
    if (*bad != NULL && *n != 0)
        abort();
    for (size_t i = 0; i < *n; i++) {
        const struct edxbus_header *h = &m->headers[i];
        if (!inside(s, h->name, strlen(h->name) + 1) || (h->len && !inside(s, h->value, h->len)))
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct edxbus_slot a, b;
    struct edxbus_msg ma, mb;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    size_t n = 0, m = 0;
    const char *bad = NULL, *bad2 = NULL;
    decode(&a, &ma, data, size, &n, &bad);
    if (bad == NULL) {
        struct edxbus_buf again = EDXBUS_BUF_INIT;
        if (edxbus__sq_headers_encode(a.headers, n, &again) != EDXBUS_OK || again.len > size)
            abort();
        decode(&b, &mb, again.data, again.len, &m, &bad2);
        if (bad2 != NULL || m != n)
            abort();
        for (size_t i = 0; i < n; i++)
            if (strcmp(a.headers[i].name, b.headers[i].name) != 0 || a.headers[i].len != b.headers[i].len ||
                memcmp(a.headers[i].value, b.headers[i].value, a.headers[i].len) != 0)
                abort();
        edxbus_buf_fini(&again);

        struct edxbus_msg row = {.topic = EDXBUS_OUTBOX_TOPIC, .headers = a.headers, .nheaders = n};
        struct edxbus_msg out;
        struct edxbus_header rest[HCAP];
        const char *key_schema = NULL;
        bool found = edxbus__outbox_unwrap(&row, &out, rest, HCAP, &key_schema);
        bool expect = false;
        for (size_t i = 0; i < n; i++)
            if (strcmp(a.headers[i].name, EDXBUS_OUTBOX_HDR_TOPIC) == 0 && a.headers[i].len > 0 &&
                a.headers[i].value[a.headers[i].len - 1] == '\0')
                expect = true;
        if (found != expect || found != (out.topic != NULL) || out.nheaders > HCAP)
            abort();
        if (found && !inside(&a, out.topic, strlen(out.topic) + 1))
            abort();
        if (key_schema != NULL && !inside(&a, key_schema, strlen(key_schema) + 1))
            abort();
        for (size_t i = 0; i < out.nheaders; i++)
            if (strcmp(out.headers[i].name, EDXBUS_OUTBOX_HDR_TOPIC) == 0 ||
                strcmp(out.headers[i].name, EDXBUS_OUTBOX_HDR_KEY_SCHEMA) == 0)
                abort();
    }
    edxbus_buf_fini(&a.data);
    edxbus_buf_fini(&b.data);
    free(a.headers);
    free(b.headers);
    return 0;
}
