/* The arena: aligned bump allocation, caller storage first, growth, reset keeping one block. */
#include <stdint.h>

#include "edxbus/arena.h"
#include "test.h"

TEST(test_allocations_are_aligned_and_distinct)
{
    struct edxbus_arena arena;
    edxbus_arena_init(&arena, NULL, 0);
    uint8_t *prev = NULL;
    for (size_t size = 0; size < 100; size++) {
        uint8_t *p = edxbus_arena_alloc(&arena, size);
        ASSERT_TRUE(p != NULL);
        ASSERT_EQ_INT((uintptr_t)p % EDXBUS_ARENA_ALIGN, 0);
        ASSERT_TRUE(p != prev);
        memset(p, 0xab, size);
        prev = p;
    }
    edxbus_arena_fini(&arena);
}

TEST(test_caller_storage_is_used_first_then_the_heap)
{
    _Alignas(16) uint8_t stack[256];
    struct edxbus_arena arena;
    edxbus_arena_init(&arena, stack + 1, sizeof stack - 1); /* misaligned on purpose */
    uint8_t *a = edxbus_arena_alloc(&arena, 100);
    ASSERT_TRUE(a >= stack && a < stack + sizeof stack);
    ASSERT_EQ_INT((uintptr_t)a % EDXBUS_ARENA_ALIGN, 0);
    uint8_t *big = edxbus_arena_alloc(&arena, 100000);
    ASSERT_TRUE(big != NULL && (big < stack || big >= stack + sizeof stack));
    memset(big, 1, 100000);
    ASSERT_TRUE(edxbus_arena_alloc(&arena, SIZE_MAX) == NULL);
    ASSERT_TRUE(edxbus_arena_alloc(&arena, SIZE_MAX - 8) == NULL);
    edxbus_arena_reset(&arena);
    /* the big block is kept: the same request needs no new memory */
    uint8_t *again = edxbus_arena_alloc(&arena, 100000);
    ASSERT_TRUE(again == big);
    edxbus_arena_fini(&arena);
    edxbus_arena_fini(NULL);
}

int main(void)
{
    RUN(test_allocations_are_aligned_and_distinct);
    RUN(test_caller_storage_is_used_first_then_the_heap);
    return test_report();
}
