/* src/bus/metrics_ticker.c — the thread that reads gauges off the loops that own them.
 *
 * A ticker calls its function at once, then every EVENT_BUS_METRICS_REFRESH_INTERVAL seconds
 * until stopped; the wait is on a monotonic condition variable, so stopping it is immediate.
 * Workers use one for their lag, outbox watchers (outbox.c) for the outbox gauges.
 */
#include "metrics_int.h"

#include <pthread.h>
#include <time.h>

static void *ticker_main(void *arg)
{
    struct edxbus__ticker *t = arg;
    pthread_mutex_lock(&t->mu);
    while (!t->stop) {
        pthread_mutex_unlock(&t->mu);
        t->fn(t->opaque);
        pthread_mutex_lock(&t->mu);
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += t->every_ms / 1000;
        until.tv_nsec += (long)(t->every_ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        while (!t->stop && pthread_cond_timedwait(&t->cv, &t->mu, &until) == 0)
            ;
    }
    pthread_mutex_unlock(&t->mu);
    return NULL;
}

bool edxbus__ticker_start(struct edxbus__ticker *t, const edxbus_conf_t *conf,
                          void (*fn)(void *opaque), void *opaque)
{
    t->every_ms = (int64_t)(
        edxbus_conf_get_double(conf, "EVENT_BUS_METRICS_REFRESH_INTERVAL", 15.0) * 1000);
    if (t->every_ms < 10)
        t->every_ms = 10;
    t->fn = fn;
    t->opaque = opaque;
    t->stop = false;
    pthread_mutex_init(&t->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&t->cv, &ca);
    pthread_condattr_destroy(&ca);
    t->started = pthread_create(&t->thread, NULL, ticker_main, t) == 0;
    if (!t->started) {
        pthread_mutex_destroy(&t->mu);
        pthread_cond_destroy(&t->cv);
    }
    return t->started;
}

void edxbus__ticker_stop(struct edxbus__ticker *t)
{
    if (!t->started)
        return;
    pthread_mutex_lock(&t->mu);
    t->stop = true;
    pthread_cond_signal(&t->cv);
    pthread_mutex_unlock(&t->mu);
    pthread_join(t->thread, NULL);
    pthread_mutex_destroy(&t->mu);
    pthread_cond_destroy(&t->cv);
    t->started = false;
}
