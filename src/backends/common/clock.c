/* src/backends/common/clock.c — the clocks every backend reads (backend_util.h).
 *
 * Deadlines and intervals use CLOCK_MONOTONIC, so a wall-clock step (NTP, a VM resumed) never
 * makes a wait end early or last for ever; stored times and replay by time use the wall clock.
 */
#include <errno.h>
#include <time.h>

#include "edxbus/backend_util.h"

int64_t edxbus_clock_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t edxbus_clock_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void edxbus_clock_sleep_ms(int64_t ms)
{
    if (ms <= 0)
        return;
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}
