/* bench/bench_resp.c — the Redis backend's own RESP writer against hiredis's formatters, on
 * the same XADD.
 *
 * The command is the one the producer sends for the enrollment-created event (the "realistic"
 * row of tests/vectors/avro.jsonl, its metadata generated): XADD <stream> * and the eight
 * fields, as edxbus__redis_wire_xadd() builds its argv. Cases (N times each, best of
 * BENCH_ROUNDS rounds):
 *   hiredis_format      redisFormatCommandArgv() + redisFreeCommand(): what the backend called
 *                       before it wrote RESP itself (one sprintf per argument);
 *   hiredis_format_sds  redisFormatSdsCommandArgv() + sdsfree(): what redisAppendCommandArgv()
 *                       (the raw ceilings of bench_e2e and bench_redis) formats with;
 *   edxbus_resp         edxbus__redis_resp_size() + malloc + edxbus__redis_resp_write() + free.
 * Every round checks that the three give the same bytes. Output: a fixed-column table, then
 * `ratio resp_vs_hiredis_format <hiredis time / edxbus time>` and the same against the sds
 * formatter (above 1.0: the backend's writer is faster). Nothing here asserts on time.
 */
#include "backends/redis/redis_int.h"
#include "bench_util.h"

static double best_of(double *best, double t)
{
    return *best = (*best == 0 || t < *best) ? t : *best;
}

int main(void)
{
    bench_set_name("bench_resp");
    long n = bench_env_long("BENCH_N", 1000000);
    int rounds = (int)bench_env_long("BENCH_ROUNDS", 3);
    struct bench_event ev;
    bench_event_load(&ev);
    char err[EDXBUS_ERRSTR_SIZE];
    struct edxbus_metadata md;
    if (edxbus_metadata_generate(&md, BENCH_ENROLLMENT_TYPE, 0, "lms", err, sizeof err))
        die("metadata: %s", err);
    struct edxbus_msg msg = {
        .topic = "dev-enrollments", .value = ev.value, .value_len = ev.value_len, .metadata = &md};
    struct redis_wire_cmd cmd;
    edxbus__redis_wire_cmd_init(&cmd);
    if (edxbus__redis_wire_xadd(&cmd, &msg, 0, err, sizeof err) != EDXBUS_OK)
        die("xadd: %s", err);

    double t_fmt = 0, t_sds = 0, t_own = 0;
    size_t sink = 0;
    for (int r = 0; r < rounds; r++) {
        char *a = NULL;
        long long alen = redisFormatCommandArgv(&a, cmd.argc, cmd.argv, cmd.lens);
        sds s = NULL;
        long long slen = redisFormatSdsCommandArgv(&s, cmd.argc, cmd.argv, cmd.lens);
        char *o = malloc(edxbus__redis_resp_size(cmd.argc, cmd.argv, cmd.lens));
        size_t olen = o ? edxbus__redis_resp_write(o, cmd.argc, cmd.argv, cmd.lens) : 0;
        if (alen < 0 || slen != alen || (long long)olen != alen || memcmp(a, s, olen) != 0 ||
            memcmp(a, o, olen) != 0)
            die("the three formatters disagree on the XADD's bytes");
        redisFreeCommand(a);
        sdsfree(s);
        free(o);

        double t0 = now_s();
        for (long i = 0; i < n; i++) {
            char *c = NULL;
            sink += (size_t)redisFormatCommandArgv(&c, cmd.argc, cmd.argv, cmd.lens);
            redisFreeCommand(c);
        }
        best_of(&t_fmt, (now_s() - t0) / (double)n);
        t0 = now_s();
        for (long i = 0; i < n; i++) {
            sds c = NULL;
            sink += (size_t)redisFormatSdsCommandArgv(&c, cmd.argc, cmd.argv, cmd.lens);
            sdsfree(c);
        }
        best_of(&t_sds, (now_s() - t0) / (double)n);
        t0 = now_s();
        for (long i = 0; i < n; i++) {
            char *c = malloc(edxbus__redis_resp_size(cmd.argc, cmd.argv, cmd.lens));
            if (c == NULL)
                die("out of memory");
            sink += edxbus__redis_resp_write(c, cmd.argc, cmd.argv, cmd.lens);
            free(c);
        }
        best_of(&t_own, (now_s() - t0) / (double)n);
    }
    printf("# %ld XADDs of %d arguments (%zu bytes of RESP) per case, best of %d rounds, load "
           "average %.2f\n",
           n, cmd.argc, sink / ((size_t)n * 3 * (size_t)rounds), rounds, bench_loadavg());
    printf("%-20s %10s %14s\n", "case", "ns/cmd", "cmds/s");
    printf("%-20s %10.0f %14.0f\n", "hiredis_format", t_fmt * 1e9, 1 / t_fmt);
    printf("%-20s %10.0f %14.0f\n", "hiredis_format_sds", t_sds * 1e9, 1 / t_sds);
    printf("%-20s %10.0f %14.0f\n", "edxbus_resp", t_own * 1e9, 1 / t_own);
    printf("ratio resp_vs_hiredis_format %.2f\n", t_fmt / t_own);
    printf("ratio resp_vs_hiredis_format_sds %.2f\n", t_sds / t_own);
    edxbus__redis_wire_cmd_fini(&cmd);
    bench_event_fini(&ev);
    return 0;
}
