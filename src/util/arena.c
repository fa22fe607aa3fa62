/* src/util/arena.c — the slow paths of the bump allocator in include/edxbus/arena.h.
 *
 * An arena hands out memory from its current block; when the block is full a new one is
 * malloc'ed, at least twice the previous one (and big enough for the request), and pushed on
 * the chunk list. Reset keeps only the newest chunk, which is the largest, so an arena used for
 * events of a steady size stops calling malloc after warming up.
 *
 * Invariants: p <= end; p and end lie in the caller's buffer, in chunks->data, or are both NULL;
 * every pointer handed out is EDXBUS_ARENA_ALIGN-aligned (the caller's buffer is aligned up
 * once at init).
 */
#include "edxbus/arena.h"

#include <stdlib.h>

struct edxbus_arena_chunk {
    struct edxbus_arena_chunk *next;
    size_t size;                                  /* bytes of data */
    _Alignas(EDXBUS_ARENA_ALIGN) uint8_t data[];  /* the block */
};

/* First malloc'ed block: fits a typical decoded event with its lists several times over. */
#define FIRST_CHUNK 4096

static void use_first(struct edxbus_arena *arena)
{
    arena->p = arena->first;
    arena->end = arena->first ? arena->first + arena->first_size : NULL;
}

void edxbus_arena_init(struct edxbus_arena *arena, void *buf, size_t size)
{
    arena->first = NULL;
    arena->first_size = 0;
    arena->chunks = NULL;
    if (buf != NULL) {
        uintptr_t at = (uintptr_t)buf;
        uintptr_t aligned = (at + EDXBUS_ARENA_ALIGN - 1) & ~(uintptr_t)(EDXBUS_ARENA_ALIGN - 1);
        if (aligned - at < size) {
            arena->first = (uint8_t *)buf + (aligned - at);
            arena->first_size = size - (aligned - at);
        }
    }
    use_first(arena);
}

void *edxbus_arena_alloc_slow(struct edxbus_arena *arena, size_t size)
{
    size_t rounded = size != 0 ? (size + (EDXBUS_ARENA_ALIGN - 1)) &
                                     ~(size_t)(EDXBUS_ARENA_ALIGN - 1)
                               : EDXBUS_ARENA_ALIGN;
    if (rounded < size || rounded > SIZE_MAX / 2 - sizeof(struct edxbus_arena_chunk))
        return NULL;
    size_t want = arena->chunks ? arena->chunks->size * 2 : FIRST_CHUNK;
    if (want < rounded)
        want = rounded;
    struct edxbus_arena_chunk *c = malloc(sizeof *c + want);
    if (c == NULL)
        return NULL;
    c->size = want;
    c->next = arena->chunks;
    arena->chunks = c;
    arena->p = c->data + rounded;
    arena->end = c->data + want;
    return c->data;
}

void edxbus_arena_reset(struct edxbus_arena *arena)
{
    struct edxbus_arena_chunk *keep = arena->chunks;
    if (keep == NULL) {
        use_first(arena);
        return;
    }
    struct edxbus_arena_chunk *c = keep->next;
    while (c != NULL) {
        struct edxbus_arena_chunk *next = c->next;
        free(c);
        c = next;
    }
    keep->next = NULL;
    if (arena->first != NULL && arena->first_size >= keep->size) {
        free(keep); /* never happens in practice: chunks outgrow the caller's buffer */
        arena->chunks = NULL;
        use_first(arena);
        return;
    }
    arena->p = keep->data;
    arena->end = keep->data + keep->size;
}

void edxbus_arena_fini(struct edxbus_arena *arena)
{
    if (arena == NULL)
        return;
    struct edxbus_arena_chunk *c = arena->chunks;
    while (c != NULL) {
        struct edxbus_arena_chunk *next = c->next;
        free(c);
        c = next;
    }
    arena->chunks = NULL;
    use_first(arena);
}
