/* fuzz/fuzz_typed_decode.c — libFuzzer target for the typed API's straight-line decoders.
 *
 * Input: the first byte picks one of the typed events (edxbus_typed_at(), modulo their count,
 * so every serializable event is covered), the rest is Avro binary decoded with the event's
 * typed decoder into an arena that starts on the stack, and with the generic catalog decoder.
 * Invariants checked (abort on violation):
 *   - both decoders accept or both refuse; the typed one fails only with EDXBUS_ERR_DECODE
 *     (or NOMEM) and a message starting "avro: byte ";
 *   - on success the typed struct, turned to JSON, equals the generic value (compared as text
 *     in field order), and re-encodes (no checks) to exactly the bytes the generic encoder
 *     writes for that value.
 * The seed corpus fuzz/corpus/typed_decode/ is index byte + the bytes of each vector.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edxbus/catalog.h"
#include "edxbus/events.h"

static edxbus_catalog_t *cat;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (cat == NULL)
        cat = edxbus_catalog_new();
    if (cat == NULL || size < 1)
        return 0;
    const struct edxbus_typed_event *tev = edxbus_typed_at(data[0] % edxbus_typed_count());
    const edxbus_event_type_t *et = edxbus_catalog_find(cat, tev->event_type);
    if (et == NULL)
        abort();
    data++;
    size--;

    _Alignas(EDXBUS_ARENA_ALIGN) uint8_t stack[1024];
    struct edxbus_arena arena;
    edxbus_arena_init(&arena, stack, sizeof stack);
    void *value = edxbus_arena_alloc(&arena, tev->size);
    char errstr[EDXBUS_ERRSTR_SIZE], gerr[EDXBUS_ERRSTR_SIZE];
    edxbus_err_t t = tev->decode(data, size, &arena, value, errstr, sizeof errstr);
    json_t *gen = NULL;
    edxbus_err_t g = edxbus_event_decode(et, data, size, &gen, gerr, sizeof gerr);
    if (t == EDXBUS_ERR_NOMEM || g == EDXBUS_ERR_NOMEM)
        goto out;
    if ((t == EDXBUS_OK) != (g == EDXBUS_OK)) {
        fprintf(stderr, "%s: typed %s (%s), generic %s (%s)\n", tev->event_type,
                edxbus_err2name(t), errstr, edxbus_err2name(g), gerr);
        abort();
    }
    if (t != EDXBUS_OK) {
        if (t != EDXBUS_ERR_DECODE || strncmp(errstr, "avro: byte ", 11) != 0)
            abort();
        goto out;
    }
    json_t *typed = tev->to_json(value);
    if (typed == NULL)
        abort();
    char *a = json_dumps(gen, JSON_COMPACT), *b = json_dumps(typed, JSON_COMPACT);
    if (a == NULL || b == NULL || strcmp(a, b) != 0) {
        fprintf(stderr, "%s: values differ\n  generic: %s\n  typed:   %s\n", tev->event_type,
                a ? a : "?", b ? b : "?");
        abort();
    }
    free(a);
    free(b);
    json_decref(typed);
    struct edxbus_buf tb = EDXBUS_BUF_INIT, gb = EDXBUS_BUF_INIT;
    if (tev->encode(value, EDXBUS_AVRO_NO_CHECKS, &tb, errstr, sizeof errstr) != EDXBUS_OK ||
        edxbus_event_encode(et, gen, EDXBUS_AVRO_NO_CHECKS, &gb, gerr, sizeof gerr) != EDXBUS_OK ||
        tb.len != gb.len || memcmp(tb.data, gb.data, tb.len) != 0)
        abort();
    edxbus_buf_fini(&tb);
    edxbus_buf_fini(&gb);
out:
    json_decref(gen);
    edxbus_arena_fini(&arena);
    return 0;
}
