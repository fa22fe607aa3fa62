/* src/bus/uuid1.c — UUID version 1 ids made in-process, as Python's uuid.uuid1() makes them.
 *
 * Why not libuuid: uuid_generate_time_safe() asks the uuidd daemon over a socket or, without
 * it, locks and rewrites a clock file; that was ~7 µs of the ~7.7 µs edxbus_send_event() took.
 * Here an id costs one clock read, one atomic compare-and-swap and a table-driven hex print
 * (a 2-byte copy per byte).
 *
 * Layout (RFC 4122 §4.1): a 60-bit timestamp, 100 ns intervals since 1582-10-15 UTC, split into
 * time_low, time_mid and time_hi (whose top nibble is the version, 1); a 14-bit clock sequence
 * under the variant bits 10; a 48-bit node.
 *
 * Invariants:
 *  - Timestamps strictly increase within a process: when the clock has not advanced (or went
 *    back), the last timestamp + 1 is used, as Python's uuid1() does. The last timestamp is one
 *    atomic word, so any number of threads may generate at once without a lock.
 *  - The clock sequence and the node are random, drawn once per process (getrandom(), else
 *    /dev/urandom), and drawn again in the child of every fork() (a pthread_atfork handler), so a
 *    child that carries on from its parent's last timestamp still never repeats the parent's
 *    ids. glibc's pthread_once restarts in a child forked during the first draw.
 *  - The node is random with the multicast bit set (RFC 4122 §4.5): no MAC address is read, so
 *    none leaks into event ids, and no real network card can have it. Across processes and
 *    hosts, uniqueness rests on these 61 random bits, as Python's uuid1() (random clock_seq)
 *    rests on its 14.
 */
#include "uuid1_int.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

/* 100 ns intervals from 1582-10-15 (the Gregorian reform, RFC 4122's epoch) to 1970-01-01. */
#define GREGORIAN_OFFSET UINT64_C(0x01B21DD213814000)
#define TIMESTAMP_MASK ((UINT64_C(1) << 60) - 1)

static pthread_once_t seed_once = PTHREAD_ONCE_INIT;
/* Bytes 8..15 of every id: clock sequence (variant bits set) and node. Written only by the
 * once-init and by the fork child handler (when the child has one thread), read after the once. */
static uint8_t tail[8];
static _Atomic uint64_t last_timestamp; /* the latest timestamp handed out, 100 ns units */

static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

/* Fill @p buf with random bytes. Uses only async-signal-safe calls: it runs in fork children. */
static void random_bytes(uint8_t *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        /* GRND_NONBLOCK: early in boot, fall back to /dev/urandom rather than block. */
        ssize_t r = getrandom(buf + got, n - got, GRND_NONBLOCK);
        if (r > 0)
            got += (size_t)r;
        else if (r < 0 && errno != EINTR)
            break;
    }
    if (got < n) {
        int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
        while (fd >= 0 && got < n) {
            ssize_t r = read(fd, buf + got, n - got);
            if (r > 0)
                got += (size_t)r;
            else if (r == 0 || errno != EINTR)
                break;
        }
        if (fd >= 0)
            close(fd);
    }
    if (got < n) {
        /* No kernel randomness at all (a sandbox without /dev): the time, the pid and an
         * address, mixed, still make two processes differ. */
        struct timespec rt, mono;
        clock_gettime(CLOCK_REALTIME, &rt);
        clock_gettime(CLOCK_MONOTONIC, &mono);
        uint64_t state = (uint64_t)rt.tv_sec * UINT64_C(1000000000) + (uint64_t)rt.tv_nsec;
        state ^= ((uint64_t)mono.tv_nsec << 20) ^ (uint64_t)getpid() ^ (uint64_t)(uintptr_t)buf;
        for (; got < n; got++)
            buf[got] = (uint8_t)splitmix64(&state);
    }
}

static void draw_tail(void)
{
    int saved_errno = errno;
    random_bytes(tail, sizeof tail);
    tail[0] = (uint8_t)((tail[0] & 0x3f) | 0x80); /* variant 10 over the clock sequence */
    tail[2] |= 0x01;                              /* multicast bit of the node's first octet */
    errno = saved_errno;
}

static void seed_init(void)
{
    draw_tail();
    pthread_atfork(NULL, NULL, draw_tail);
}

void edxbus__uuid1_generate(uint8_t uu[16])
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    edxbus__uuid1_generate_at(uu, &ts);
}

void edxbus__uuid1_generate_at(uint8_t uu[16], const struct timespec *ts)
{
    pthread_once(&seed_once, seed_init);
    uint64_t now =
        (uint64_t)ts->tv_sec * 10000000u + (uint64_t)ts->tv_nsec / 100u + GREGORIAN_OFFSET;
    uint64_t prev = atomic_load_explicit(&last_timestamp, memory_order_relaxed);
    uint64_t t;
    /* Relaxed is enough: only the value matters, and the CAS makes each one unique. */
    do {
        t = now > prev ? now : prev + 1;
    } while (!atomic_compare_exchange_weak_explicit(&last_timestamp, &prev, t, memory_order_relaxed,
                                                    memory_order_relaxed));
    t &= TIMESTAMP_MASK;

    uint32_t time_low = (uint32_t)t;
    uint16_t time_mid = (uint16_t)(t >> 32);
    uint16_t time_hi = (uint16_t)((t >> 48) | 0x1000); /* version 1 */
    uu[0] = (uint8_t)(time_low >> 24);
    uu[1] = (uint8_t)(time_low >> 16);
    uu[2] = (uint8_t)(time_low >> 8);
    uu[3] = (uint8_t)time_low;
    uu[4] = (uint8_t)(time_mid >> 8);
    uu[5] = (uint8_t)time_mid;
    uu[6] = (uint8_t)(time_hi >> 8);
    uu[7] = (uint8_t)time_hi;
    memcpy(uu + 8, tail, sizeof tail);
}

/* "000102...feff": the two hex digits of every byte value, so a byte is one 2-byte copy. */
static const char hex_pairs[513] =
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
    "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
    "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f"
    "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"
    "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
    "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
    "c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
    "e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";

void edxbus__uuid_unparse(const uint8_t uu[16], char text[EDXBUS__UUID_TEXT_SIZE])
{
    /* byte i's two digits at AT in "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", unrolled */
#define PAIR(i, at) memcpy(text + (at), hex_pairs + 2 * uu[i], 2)
    PAIR(0, 0), PAIR(1, 2), PAIR(2, 4), PAIR(3, 6), PAIR(4, 9), PAIR(5, 11), PAIR(6, 14);
    PAIR(7, 16), PAIR(8, 19), PAIR(9, 21), PAIR(10, 24), PAIR(11, 26), PAIR(12, 28);
    PAIR(13, 30), PAIR(14, 32), PAIR(15, 34);
#undef PAIR
    text[8] = text[13] = text[18] = text[23] = '-';
    text[36] = '\0';
}
