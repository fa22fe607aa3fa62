/* bench/bench_metrics.c — what counting costs the worker loop (metrics.h).
 *
 * One embedded-broker file holds N enrollment events. Each round consumes all of them twice,
 * in two new groups, with one no-op receiver and the same settings except one:
 *   off  EVENT_BUS_METRICS_ENABLED=false: the worker counts nothing (the ceiling);
 *   on   counting on (per-event counters, both histograms, heartbeat, broker state), the lag
 *        thread (default interval, 15 s), and the HTTP listener running while a scraper thread
 *        GETs /metrics every 100 ms over loopback (Prometheus scrapes every 15 to 60 s).
 * The timed part is the steady state: it starts once the lag thread's first refresh (one at
 * every consumer start, then one per interval) is in, whose duration is printed apart (on the
 * embedded broker it counts the group's whole backlog: here all N events).
 * The order of the two alternates between rounds; the best of REPS rounds of each is kept.
 * Throughput is measured two ways: events per second of wall time, and events per CPU-second
 * of the whole process (the worker, the lag thread, the listener's thread; the scraper client
 * subtracts its own), which a shared, loaded machine does not blur.
 * Output: a fixed-column table, then `ratio metrics_cost <on/off, per CPU-second>` (1.0: free;
 * the target is >= 0.95) and `ratio metrics_cost_wall <on/off, per second>`. Nothing here
 * asserts on time.
 *
 * Usage: bench_metrics [EVENTS [ROUNDS [on|off]]]: fewer events, and one side only, to count
 * the worker's instructions per event under callgrind (bench/callgrind.sh metrics).
 */
#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "edxbus/edxbus.h"

#define ENROLLMENT_TYPE "org.openedx.learning.course.enrollment.created.v1"
static int N = 200000, REPS = 7; /* argv[1], argv[2] */
static int SIDES = 3;            /* argv[3]: on, off or both (1: on, 2: off, 3: both) */

static char dir[64];

static double clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double now_s(void)
{
    return clock_s(CLOCK_MONOTONIC);
}

static _Atomic double scraper_cpu; /* CPU seconds the scraper client used (not edxbus's) */

static void die(const char *what, const char *err)
{
    fprintf(stderr, "bench_metrics: %s: %s\n", what, err);
    exit(1);
}

static edxbus_conf_t *conf_for(bool metrics)
{
    char err[EDXBUS_ERRSTR_SIZE], path[128];
    snprintf(path, sizeof path, "%s/bus.db", dir);
    edxbus_conf_t *conf = edxbus_conf_new();
    const char *kv[][2] = {
        {"EVENT_BUS_SQLITE_PATH", path},
        {"EVENT_BUS_SQLITE_SYNCHRONOUS", "OFF"},
        {"EVENT_BUS_AUDIT_LOGGING_ENABLED", "false"},
        {"EVENT_BUS_CONSUMER_BATCH_SIZE", "100"},
        {"EVENTS_SERVICE_NAME", "lms"},
        {"EVENT_BUS_METRICS_ENABLED", metrics ? "true" : "false"},
        {"EVENT_BUS_METRICS_REFRESH_INTERVAL", "15.0"},
        {"EVENT_BUS_PRODUCER_CONFIG",
         "{\"" ENROLLMENT_TYPE "\": {\"bench\": {\"event_key_field\": "
         "\"enrollment.course.course_key\", \"enabled\": true}}}"},
    };
    for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++)
        if (edxbus_conf_set(conf, kv[i][0], kv[i][1], err, sizeof err) != EDXBUS_OK)
            die(kv[i][0], err);
    return conf;
}

static edxbus_bus_t *bus_for(bool metrics)
{
    char err[EDXBUS_ERRSTR_SIZE];
    edxbus_conf_t *conf = conf_for(metrics);
    edxbus_bus_t *bus = edxbus_bus_new(conf, err, sizeof err);
    if (bus == NULL)
        die("bus", err);
    return bus;
}

static edxbus_err_t noop(const edxbus_event_t *ev, void *opaque, char *errstr, size_t size)
{
    (void)ev, (void)errstr, (void)size;
    (*(uint64_t *)opaque)++;
    return EDXBUS_OK;
}

static edxbus_bus_t *on_bus;
static double first_refresh_ms;

static bool lag_of(void *opaque, const struct edxbus_metric_sample *smp)
{
    const char **want = opaque;
    if (strcmp(smp->name, "edxbus_consumer_lag") != 0)
        return true;
    for (size_t i = 0; i < smp->nlabels; i++)
        if (!strcmp(smp->labels[i].name, "group") && !strcmp(smp->labels[i].value, *want))
            *want = NULL;
    return *want != NULL;
}

/* Whether the lag gauge of @p group is in. */
static bool has_lag(const char *group)
{
    const char *want = group;
    edxbus_metrics_visit(lag_of, &want);
    return want == NULL;
}

/* Consume the N events in a new group; events/s of wall time, and in *@p cpu events per
 * CPU-second of the whole process (worker, lag thread, listener) without the scraper client. */
static double consume(edxbus_bus_t *bus, const char *group, double *cpu)
{
    char err[EDXBUS_ERRSTR_SIZE];
    json_t *extra = json_pack("{s:s}", "start", "earliest");
    struct edxbus_consumer_config cfg = {
        .topic = "bench", .group = group, .extra = extra, .start_time_ms = -1};
    edxbus_consumer_t *cons = edxbus_consumer_new(bus, &cfg, err, sizeof err);
    json_decref(extra);
    if (cons == NULL)
        die("consumer", err);
    double w0 = now_s();
    if (bus == on_bus) { /* wait for the first lag refresh (bounded: 60 s) */
        for (int i = 0; i < 60000 && !has_lag(group); i++)
            usleep(1000);
        first_refresh_ms = (now_s() - w0) * 1000;
    }
    size_t total = 0;
    double c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID) - atomic_load(&scraper_cpu);
    double t0 = now_s();
    while (total < (size_t)N) {
        size_t h = 0;
        if (edxbus_consumer_poll_once(cons, 100, &h, err, sizeof err) != EDXBUS_OK)
            die("poll", err);
        total += h;
    }
    edxbus_consumer_destroy(cons); /* joins the lag thread: its work is counted */
    double dt = now_s() - t0;
    double dc = clock_s(CLOCK_PROCESS_CPUTIME_ID) - atomic_load(&scraper_cpu) - c0;
    *cpu = (double)N / dc;
    return (double)N / dt;
}

static atomic_int scraping;
static uint16_t scrape_port;
static atomic_ulong scrapes;

static size_t sink(char *d, size_t s, size_t n, void *o)
{
    (void)d, (void)o;
    return s * n;
}

static void *scraper(void *arg)
{
    (void)arg;
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/metrics", (unsigned)scrape_port);
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
    while (atomic_load(&scraping)) {
        double c0 = clock_s(CLOCK_THREAD_CPUTIME_ID);
        if (curl_easy_perform(c) == CURLE_OK)
            atomic_fetch_add(&scrapes, 1);
        atomic_store(&scraper_cpu, atomic_load(&scraper_cpu) + clock_s(CLOCK_THREAD_CPUTIME_ID) - c0);
        usleep(100000);
    }
    curl_easy_cleanup(c);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc > 1)
        N = atoi(argv[1]);
    if (argc > 2)
        REPS = atoi(argv[2]);
    if (argc > 3)
        SIDES = !strcmp(argv[3], "on") ? 1 : !strcmp(argv[3], "off") ? 2 : 0;
    if (N < 1 || REPS < 1 || SIDES == 0)
        die("usage", "bench_metrics [EVENTS >= 1 [ROUNDS >= 1 [on|off]]]");
    snprintf(dir, sizeof dir, "/tmp/edxbus-bench-metrics-XXXXXX");
    if (mkdtemp(dir) == NULL)
        die("mkdtemp", "failed");
    curl_global_init(CURL_GLOBAL_ALL);
    char err[EDXBUS_ERRSTR_SIZE];

    /* The events, once. */
    edxbus_bus_t *prod = bus_for(false);
    json_t *data = json_pack(
        "{s:{s:{s:i, s:b, s:{s:s, s:s, s:s}}, s:{s:s, s:s, s:n, s:n}, s:s, s:b, s:s, s:n}}",
        "enrollment", "user", "id", 7, "is_active", 1, "pii", "username", "bench", "email",
        "bench@example.com", "name", "Bench", "course", "course_key", "course-v1:edX+Bench+1",
        "display_name", "Bench", "start", "end", "mode", "verified", "is_active", 1,
        "creation_date", "2024-05-01T10:00:00+00:00", "created_by");
    if (data == NULL)
        die("event", "json_pack");
    for (int i = 0; i < N; i++)
        if (edxbus_send_event(prod, ENROLLMENT_TYPE, data, 0, NULL, err, sizeof err) != EDXBUS_OK)
            die("send", err);
    json_decref(data);
    edxbus_bus_destroy(prod);

    edxbus_bus_t *off = bus_for(false), *on = bus_for(true);
    on_bus = on;
    uint64_t seen = 0;
    edxbus_bus_connect_all(off, "noop", noop, &seen);
    edxbus_bus_connect_all(on, "noop", noop, &seen);
    edxbus_metrics_server_t *srv = NULL;
    if (edxbus_metrics_server_start(NULL, "127.0.0.1:0", &srv, err, sizeof err) != EDXBUS_OK)
        die("listener", err);
    scrape_port = edxbus_metrics_server_port(srv);
    atomic_store(&scraping, 1);
    pthread_t t;
    pthread_create(&t, NULL, scraper, NULL);

    double best_on = 0, best_off = 0, cpu_on = 0, cpu_off = 0, refresh_max = 0;
    for (int r = 0; r < REPS; r++) {
        char g[32];
        for (int k = 0; k < 2; k++) {
            bool metrics = (k == 0) == (r % 2 == 0);
            if (!(SIDES & (metrics ? 1 : 2)))
                continue;
            snprintf(g, sizeof g, "%s-%d", metrics ? "on" : "off", r);
            double cpu = 0, v = consume(metrics ? on : off, g, &cpu);
            double *best = metrics ? &best_on : &best_off, *bcpu = metrics ? &cpu_on : &cpu_off;
            if (v > *best)
                *best = v;
            if (cpu > *bcpu)
                *bcpu = cpu;
            if (metrics && first_refresh_ms > refresh_max)
                refresh_max = first_refresh_ms;
        }
    }
    atomic_store(&scraping, 0);
    pthread_join(t, NULL);
    edxbus_metrics_server_stop(srv);
    if (seen != (uint64_t)N * REPS * (SIDES == 3 ? 2 : 1))
        die("check", "the receivers did not see every event");
    edxbus_bus_destroy(off);
    edxbus_bus_destroy(on);

    printf("%-44s %8s %14s %14s\n", "consume (embedded broker, batch 100)", "events", "events/s",
           "events/cpu-s");
    printf("%-44s %8d %14.0f %14.0f\n", "metrics off", N, best_off, cpu_off);
    printf("%-44s %8d %14.0f %14.0f\n", "metrics on, lag thread, /metrics scraped", N, best_on,
           cpu_on);
    printf("scrapes during the runs: %lu; first lag refresh of a consumer (not timed): at most "
           "%.0f ms\n",
           (unsigned long)atomic_load(&scrapes), refresh_max);
    /* Per CPU-second of the process: what counting costs, whatever else the machine runs. */
    if (SIDES == 3) {
        printf("ratio metrics_cost %.3f\n", cpu_on / cpu_off);
        printf("ratio metrics_cost_wall %.3f\n", best_on / best_off);
    }
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_metrics: could not remove %s\n", dir);
    curl_global_cleanup();
    return 0;
}
