/* tests/unit/bus/test_metrics_hist.c — edxbus__hist_observe() (metrics_int.h) puts each
 * observation in the bucket of the first bound at or above it, +Inf past the last, for every
 * number of bounds a family may have: each bound itself, one above and one below it, 0 and
 * UINT64_MAX, checked against a plain linear scan. Sums add up.
 */
#include "test.h"

#include "bus/metrics_int.h"

/* The bucket the text format's `le` rule gives: the first bound >= ns, else nbounds (+Inf). */
static size_t expected_bucket(const uint64_t *bounds, size_t n, uint64_t ns)
{
    size_t i = 0;
    while (i < n && ns > bounds[i])
        i++;
    return i;
}

static void check(const uint64_t *bounds, size_t n, uint64_t ns)
{
    struct edxbus__hist h = {.bounds_ns = bounds, .nbounds = n};
    edxbus__hist_observe(&h, ns);
    size_t want = expected_bucket(bounds, n, ns);
    for (size_t i = 0; i <= n; i++)
        if (atomic_load(&h.bucket[i]) != (i == want))
            TEST_FAIL_("%zu bounds, %llu ns: bucket %zu has %llu, expected the observation in %zu",
                       n, (unsigned long long)ns, i, (unsigned long long)atomic_load(&h.bucket[i]),
                       want);
    ASSERT_EQ_INT(atomic_load(&h.sum_ns), ns);
}

TEST(test_every_bound_and_its_neighbours)
{
    uint64_t bounds[EDXBUS__HIST_MAX];
    for (size_t i = 0; i < EDXBUS__HIST_MAX; i++)
        bounds[i] = 100 * (i + 1) * (i + 1); /* 100, 400, 900, ... */
    for (size_t n = 0; n <= EDXBUS__HIST_MAX; n++) {
        check(bounds, n, 0);
        check(bounds, n, UINT64_MAX);
        for (size_t i = 0; i < n; i++) {
            check(bounds, n, bounds[i] - 1);
            check(bounds, n, bounds[i]);
            check(bounds, n, bounds[i] + 1);
        }
    }
}

TEST(test_counts_and_sum_accumulate)
{
    static const uint64_t bounds[] = {10, 20, 30};
    struct edxbus__hist h = {.bounds_ns = bounds, .nbounds = 3};
    static const uint64_t seen[] = {5, 10, 11, 20, 25, 30, 31, 1000};
    uint64_t sum = 0;
    for (size_t i = 0; i < sizeof seen / sizeof seen[0]; i++) {
        edxbus__hist_observe(&h, seen[i]);
        sum += seen[i];
    }
    ASSERT_EQ_INT(atomic_load(&h.bucket[0]), 2); /* 5, 10 */
    ASSERT_EQ_INT(atomic_load(&h.bucket[1]), 2); /* 11, 20 */
    ASSERT_EQ_INT(atomic_load(&h.bucket[2]), 2); /* 25, 30 */
    ASSERT_EQ_INT(atomic_load(&h.bucket[3]), 2); /* 31, 1000: +Inf */
    ASSERT_EQ_INT(atomic_load(&h.sum_ns), sum);
}

int main(void)
{
    RUN(test_every_bound_and_its_neighbours);
    RUN(test_counts_and_sum_accumulate);
    return test_report();
}
