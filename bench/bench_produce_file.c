/* bench/bench_produce_file.c — `edxbus produce --data @FILE` against its own ceiling,
 * `edxbus produce --count N` of the same event, in one run.
 *
 * Both send N events of org.openedx.content_authoring.xblock.published.v1 to the embedded
 * broker (a fresh SQLite file each, synchronous=NORMAL) through the pipelined producer. The
 * ceiling parses and checks its one event once and sends it N times; the file run reads N JSON
 * lines twice (a first pass checks every line, a second sends), so the ratio is the cost of
 * streaming a file with nothing half-sent. Each side runs twice, alternately; the best run of
 * each counts. Output: a table, then `ratio produce_file <file events/s / count events/s>`.
 * Nothing here asserts on time.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define TYPE "org.openedx.content_authoring.xblock.published.v1"
#define EVENT                                                                                  \
    "{\"xblock_info\": {\"usage_key\": "                                                        \
    "\"block-v1:edX+DemoX+Demo_Course+type@problem+block@d2\", \"block_type\": \"problem\", "    \
    "\"version\": null}}"
#define N 200000
#define REPS 2

static char dir[256];

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Run one produce into a fresh database; returns its seconds. */
static double run(const char *data_arg, const char *count)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "rm -f %s/bus.db*; EVENT_BUS_SQLITE_PATH=%s/bus.db EVENT_BUS_SQLITE_SYNCHRONOUS=NORMAL "
             "EVENT_BUS_PRODUCER=sqlite EDXBUS_CONFIG= '%s' produce -e %s -t bench -d '%s' --count %s",
             dir, dir, EDXBUS_CLI, TYPE, data_arg, count);
    double t0 = now_s();
    if (system(cmd) != 0) {
        fprintf(stderr, "bench_produce_file: failed: %s\n", cmd);
        exit(1);
    }
    return now_s() - t0;
}

int main(void)
{
    snprintf(dir, sizeof dir, "%s/edxbus-bench-file-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (mkdtemp(dir) == NULL) {
        perror("bench_produce_file: mkdtemp");
        return 1;
    }
    char path[300], arg[310], n[32];
    snprintf(path, sizeof path, "%s/events.jsonl", dir);
    snprintf(arg, sizeof arg, "@%s", path);
    snprintf(n, sizeof n, "%d", N);
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        perror("bench_produce_file: events.jsonl");
        return 1;
    }
    for (int i = 0; i < N; i++)
        fputs(EVENT "\n", f);
    fclose(f);

    double best_file = 1e9, best_count = 1e9;
    for (int r = 0; r < REPS; r++) {
        double t = run(EVENT, n);
        best_count = t < best_count ? t : best_count;
        t = run(arg, "1");
        best_file = t < best_file ? t : best_file;
    }
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_produce_file: could not remove %s\n", dir);

    printf("%-34s %8s %10s %12s\n", "case", "events", "seconds", "events/s");
    printf("%-34s %8d %10.3f %12.0f\n", "produce --count N (ceiling)", N, best_count,
           N / best_count);
    printf("%-34s %8d %10.3f %12.0f\n", "produce --data @FILE (N lines)", N, best_file,
           N / best_file);
    printf("ratio produce_file %.2f\n", best_count / best_file);
    return 0;
}
