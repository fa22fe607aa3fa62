/* src/backends/common/wake.c — waking a consumer's poll() at once (backend_util.h).
 *
 * A waker is an eventfd and a flag. Waking it (a stop request, from any thread or a signal
 * handler) sets the flag and makes the eventfd readable, for good: a stop is final, so a poll
 * that starts after the wake returns at once too, and no wake can be lost between a check of
 * the flag and the wait. A backend waits on its broker's socket (or nothing) and the waker
 * together with edxbus_waker_wait().
 */
#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "edxbus/backend_util.h"

_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "a waker's flag must be lock-free (signal handlers)");

struct edxbus_waker {
    int fd;          /* eventfd, non-blocking; readable once woken */
    atomic_int woken;
};

edxbus_waker_t *edxbus_waker_new(char *errstr, size_t errstr_size)
{
    edxbus_waker_t *w = malloc(sizeof *w);
    if (w == NULL) {
        edxbus_errf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    w->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (w->fd < 0) {
        edxbus_errf(errstr, errstr_size, "cannot make the consumer's wake-up descriptor: %s",
                    strerror(errno));
        free(w);
        return NULL;
    }
    atomic_init(&w->woken, 0);
    return w;
}

void edxbus_waker_wake(edxbus_waker_t *w)
{
    if (w == NULL)
        return;
    int saved = errno; /* a signal handler must leave errno as it found it */
    atomic_store(&w->woken, 1);
    uint64_t one = 1;
    ssize_t n;
    do
        n = write(w->fd, &one, sizeof one);
    while (n < 0 && errno == EINTR);
    errno = saved; /* EAGAIN: the counter is full, so it is readable already */
}

bool edxbus_waker_woken(const edxbus_waker_t *w)
{
    return w != NULL && atomic_load(&((edxbus_waker_t *)w)->woken) != 0;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

enum edxbus_wait edxbus_waker_wait(const edxbus_waker_t *w, int fd, int timeout_ms)
{
    if (edxbus_waker_woken(w))
        return EDXBUS_WAIT_WOKEN;
    struct pollfd fds[2];
    nfds_t n = 0;
    if (fd >= 0)
        fds[n++] = (struct pollfd){.fd = fd, .events = POLLIN};
    if (w != NULL)
        fds[n++] = (struct pollfd){.fd = w->fd, .events = POLLIN};
    int64_t deadline = mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    for (;;) {
        int64_t left = timeout_ms < 0 ? -1 : deadline - mono_ms();
        if (timeout_ms >= 0 && left < 0)
            left = 0;
        int rc = poll(fds, n, (int)(left > INT32_MAX ? INT32_MAX : left));
        if (rc < 0 && errno == EINTR) {
            if (edxbus_waker_woken(w))
                return EDXBUS_WAIT_WOKEN;
            continue;
        }
        if (edxbus_waker_woken(w))
            return EDXBUS_WAIT_WOKEN;
        if (rc > 0 && fd >= 0 && fds[0].revents != 0)
            return EDXBUS_WAIT_READY; /* readable, or an error/hang-up the read will report */
        if (rc <= 0 && (timeout_ms < 0 ? false : mono_ms() >= deadline))
            return EDXBUS_WAIT_TIMEOUT;
        if (rc < 0)
            return EDXBUS_WAIT_TIMEOUT; /* poll itself failed: the caller's read will say why */
    }
}

int edxbus_waker_fd(const edxbus_waker_t *w)
{
    return w == NULL ? -1 : w->fd;
}

void edxbus_waker_free(edxbus_waker_t *w)
{
    if (w == NULL)
        return;
    close(w->fd);
    free(w);
}
