/* include/edxbus/arena.h — a bump allocator the caller resets, for decoded values.
 *
 * Decoders that hand out structs (the typed API of events.h) put list items and other variable
 * storage here instead of calling malloc per field: allocation is a pointer bump, and everything
 * is released at once by edxbus_arena_reset() (keep the memory for the next event) or
 * edxbus_arena_fini() (give it back). An arena may start on caller storage (a stack buffer), so
 * small events allocate nothing at all.
 *
 * Thread rule: an arena belongs to one thread at a time.
 */
#ifndef EDXBUS_ARENA_H
#define EDXBUS_ARENA_H

#include <stddef.h>
#include <stdint.h>

#include "edxbus/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Every allocation is aligned to this many bytes (enough for any scalar and pointer). */
#define EDXBUS_ARENA_ALIGN 16

struct edxbus_arena_chunk; /* a malloc'ed block: private */

/** Caller-owned storage; initialise with edxbus_arena_init(). The fields are private. */
struct edxbus_arena {
    uint8_t *p;                        /* next free byte */
    uint8_t *end;                      /* one past the current block */
    uint8_t *first;                    /* the caller's buffer, or NULL */
    size_t first_size;                 /* its size in bytes */
    struct edxbus_arena_chunk *chunks; /* malloc'ed blocks, newest (largest) first */
};

/** Initialise @p arena. @p buf (may be NULL) is @p size bytes of caller storage used first.
 *  Ownership: borrows @p buf until edxbus_arena_fini(). Nothing is allocated yet. */
EDXBUS_API void edxbus_arena_init(struct edxbus_arena *arena, void *buf, size_t size);

/** Forget every allocation but keep the largest block for reuse: after the first few events
 *  a reset arena allocates nothing. Everything allocated before is invalid afterwards. */
EDXBUS_API void edxbus_arena_reset(struct edxbus_arena *arena);

/** Free every block. The arena may be initialised again. NULL is a no-op. */
EDXBUS_API void edxbus_arena_fini(struct edxbus_arena *arena);

/** Slow path of edxbus_arena_alloc(): a new block. */
EDXBUS_API void *edxbus_arena_alloc_slow(struct edxbus_arena *arena, size_t size);

/** @p size bytes aligned to EDXBUS_ARENA_ALIGN, valid until the next reset or fini.
 *  Returns NULL when out of memory (or @p size is absurd). A size of 0 returns a valid
 *  pointer to no bytes. */
static inline void *edxbus_arena_alloc(struct edxbus_arena *arena, size_t size)
{
    size_t rounded = size != 0 ? (size + (EDXBUS_ARENA_ALIGN - 1)) &
                                     ~(size_t)(EDXBUS_ARENA_ALIGN - 1)
                               : EDXBUS_ARENA_ALIGN; /* 0 bytes still get a distinct pointer */
    if (rounded >= size && (size_t)(arena->end - arena->p) >= rounded) {
        void *mem = arena->p;
        arena->p += rounded;
        return mem;
    }
    return edxbus_arena_alloc_slow(arena, size);
}

#ifdef __cplusplus
}
#endif
#endif /* EDXBUS_ARENA_H */
