/* tests/unit/bus/test_uuid1.c — the in-process UUID version 1 generator (src/bus/uuid1.c).
 *
 * The bits RFC 4122 fixes (version, variant, the multicast bit of the random node), the text
 * form against a known UUID, uniqueness and non-decreasing timestamps over 10,000 ids (from one
 * thread and from four at once), and a forked child that must not repeat its parent's ids.
 * Nothing here depends on timing.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bus/uuid1_int.h"
#include "test.h"

#define N_IDS 10000
#define N_THREADS 4
#define GREGORIAN_OFFSET UINT64_C(0x01B21DD213814000)

static uint64_t timestamp_of(const uint8_t uu[16])
{
    uint64_t low = (uint64_t)uu[0] << 24 | (uint64_t)uu[1] << 16 | (uint64_t)uu[2] << 8 | uu[3];
    uint64_t mid = (uint64_t)uu[4] << 8 | uu[5];
    uint64_t hi = ((uint64_t)uu[6] & 0x0f) << 8 | uu[7];
    return hi << 48 | mid << 32 | low;
}

static int cmp_id(const void *a, const void *b)
{
    return memcmp(a, b, 16);
}

/* Number of ids in @p ids (n of them, 16 bytes each) that equal another one. */
static size_t count_repeats(uint8_t (*ids)[16], size_t n)
{
    size_t repeats = 0;
    qsort(ids, n, 16, cmp_id);
    for (size_t i = 1; i < n; i++)
        repeats += memcmp(ids[i - 1], ids[i], 16) == 0;
    return repeats;
}

TEST(test_fixed_bits)
{
    uint8_t uu[16], first[16];
    edxbus__uuid1_generate(first);
    for (int i = 0; i < 100; i++) {
        edxbus__uuid1_generate(uu);
        ASSERT_EQ_UINT(uu[6] >> 4, 1);    /* version 1 */
        ASSERT_EQ_UINT(uu[8] >> 6, 2);    /* variant 10 (RFC 4122) */
        ASSERT_EQ_UINT(uu[10] & 0x01, 1); /* multicast bit: a random node, not a MAC */
        ASSERT_TRUE(memcmp(uu + 8, first + 8, 8) == 0); /* clock_seq and node per process */
    }
    /* The timestamp is now, in 100 ns intervals since 1582-10-15; it may run a little ahead of
     * the clock, as ids come faster than one per 100 ns. */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t now = (uint64_t)ts.tv_sec * 10000000u + (uint64_t)ts.tv_nsec / 100 + GREGORIAN_OFFSET;
    uint64_t t = timestamp_of(uu);
    ASSERT_TRUE(t < now + 10000000u && t + UINT64_C(600) * 10000000u > now);
}

TEST(test_text_form)
{
    const uint8_t uu[16] = {0xd3, 0x6a, 0xb1, 0xb0, 0x14, 0x66, 0x11, 0xef,
                            0x9f, 0x8e, 0x02, 0x42, 0xac, 0x12, 0x00, 0x03};
    char text[EDXBUS__UUID_TEXT_SIZE];
    memset(text, 'x', sizeof text);
    edxbus__uuid_unparse(uu, text);
    ASSERT_EQ_STR(text, "d36ab1b0-1466-11ef-9f8e-0242ac120003");
}

TEST(test_unique_and_increasing)
{
    static uint8_t ids[N_IDS][16];
    for (size_t i = 0; i < N_IDS; i++) {
        edxbus__uuid1_generate(ids[i]);
        if (i > 0 && timestamp_of(ids[i]) <= timestamp_of(ids[i - 1]))
            TEST_FAIL_("id %zu: timestamp %" PRIu64 " after %" PRIu64, i, timestamp_of(ids[i]),
                       timestamp_of(ids[i - 1]));
    }
    ASSERT_EQ_UINT(count_repeats(ids, N_IDS), 0);
}

static uint8_t thread_ids[N_THREADS][N_IDS][16];

static void *generate_many(void *arg)
{
    uint8_t(*ids)[16] = arg;
    for (size_t i = 0; i < N_IDS; i++)
        edxbus__uuid1_generate(ids[i]);
    return NULL;
}

TEST(test_threads_unique)
{
    pthread_t th[N_THREADS];
    for (int i = 0; i < N_THREADS; i++)
        ASSERT_EQ_INT(pthread_create(&th[i], NULL, generate_many, thread_ids[i]), 0);
    for (int i = 0; i < N_THREADS; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < N_THREADS; i++)
        for (size_t j = 1; j < N_IDS; j++)
            ASSERT_TRUE(timestamp_of(thread_ids[i][j]) > timestamp_of(thread_ids[i][j - 1]));
    ASSERT_EQ_UINT(count_repeats(&thread_ids[0][0], (size_t)N_THREADS * N_IDS), 0);
}

/* The child carries on from the parent's last timestamp with the same clock; only a fresh clock
 * sequence and node keep the two apart. */
TEST(test_fork_child_differs)
{
    static uint8_t ids[2 * N_IDS][16];
    uint8_t before[16];
    int fds[2];
    edxbus__uuid1_generate(before);
    ASSERT_EQ_INT(pipe(fds), 0);
    pid_t pid = fork();
    ASSERT_TRUE(pid >= 0);
    if (pid == 0) {
        uint8_t uu[16];
        close(fds[0]);
        for (size_t i = 0; i < N_IDS; i++) {
            edxbus__uuid1_generate(uu);
            if (write(fds[1], uu, sizeof uu) != (ssize_t)sizeof uu)
                _exit(1);
        }
        _exit(0);
    }
    close(fds[1]);
    for (size_t i = 0; i < N_IDS; i++)
        edxbus__uuid1_generate(ids[i]);
    size_t got = 0;
    uint8_t *dst = ids[N_IDS]; /* the child's half */
    while (got < (size_t)N_IDS * 16) {
        ssize_t r = read(fds[0], dst + got, (size_t)N_IDS * 16 - got);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ASSERT_EQ_UINT(got, (size_t)N_IDS * 16);
    ASSERT_TRUE(memcmp(ids[N_IDS] + 8, before + 8, 8) != 0); /* the child drew its own */
    ASSERT_TRUE(memcmp(ids[0] + 8, before + 8, 8) == 0);     /* the parent kept its own */
    ASSERT_EQ_UINT(count_repeats(ids, 2 * N_IDS), 0);
}

int main(void)
{
    RUN(test_fixed_bits);
    RUN(test_text_form);
    RUN(test_unique_and_increasing);
    RUN(test_threads_unique);
    RUN(test_fork_child_differs);
    return test_report();
}
