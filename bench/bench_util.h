/* bench/bench_util.h — what the bench programs share: the clock, fatal errors, the enrollment
 * event of the vectors, resident memory, and running the `edxbus` command and the worker the
 * way a user does, timed.
 *
 * Header-only (static functions): every bench is one program built from one .c file. A bench
 * names itself once with bench_set_name() so that die() lines say who failed.
 *
 * The end-to-end helpers time what a user waits for:
 *   bench_cli_produce()   the whole `edxbus produce --count N` process, start to exit;
 *   bench_cli_consume()   `edxbus consume --print -n N` writing into a pipe this process reads,
 *                         from the first line to the last (start-up and a group join excluded,
 *                         as the raw consumers exclude theirs);
 *   bench_worker()        edxbus_consumer_run() with a no-op receiver on every signal, from the
 *                         first event to the last.
 * And the SQLite ceiling (bench_sq_raw_*), shared by bench_sqlite and bench_e2e.
 * Nothing here asserts on time.
 */
#ifndef EDXBUS_BENCH_UTIL_H
#define EDXBUS_BENCH_UTIL_H

#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "edxbus/edxbus.h"

#define BENCH_ENROLLMENT_TYPE "org.openedx.learning.course.enrollment.created.v1"
#define BENCH_KEY_FIELD "enrollment.course.course_key"

static const char *bench_name_ = "bench";

static inline void bench_set_name(const char *name)
{
    bench_name_ = name;
}

static inline double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Registered by a bench that started servers, run by die() before it exits. */
static void (*bench_cleanup_)(void);

static inline void bench_on_die(void (*fn)(void))
{
    bench_cleanup_ = fn;
}

__attribute__((format(printf, 1, 2), noreturn)) static inline void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", bench_name_);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    if (bench_cleanup_ != NULL)
        bench_cleanup_();
    exit(1);
}

/* The positive number in environment variable @p name, else @p def (BENCH_N, BENCH_ROUNDS). */
static inline long bench_env_long(const char *name, long def)
{
    const char *v = getenv(name);
    long n = v != NULL ? strtol(v, NULL, 10) : 0;
    return n > 0 ? n : def;
}

/* Keep the larger of two throughputs (the machine is shared: the best round is the one least
 * disturbed). */
static inline void bench_keep_best(double *best, double rate)
{
    if (rate > *best)
        *best = rate;
}

/* Resident set size of this process, kB (VmRSS of /proc/self/status); -1 when unknown. */
static inline long bench_rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f != NULL && fgets(line, sizeof line, f) != NULL)
        if (strncmp(line, "VmRSS:", 6) == 0)
            kb = strtol(line + 6, NULL, 10);
    if (f != NULL)
        fclose(f);
    return kb;
}

/* The 1-minute load average, or -1 (printed with the figures: the machine is shared). */
static inline double bench_loadavg(void)
{
    double l = -1;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f != NULL && fscanf(f, "%lf", &l) != 1)
        l = -1;
    if (f != NULL)
        fclose(f);
    return l;
}

/* ------------------------------------------------------------------------------------------ */
/* The event every bench sends: the enrollment-created row "realistic" of avro.jsonl. */

struct bench_event {
    json_t *data;    /* its plain JSON form */
    char *data_text; /* the same, as text for `produce -d` */
    uint8_t *value;  /* its Avro body (the reference's bytes) */
    size_t value_len;
};

static inline void bench_event_load(struct bench_event *e)
{
    const char *path = EDXBUS_TEST_DATA_DIR "/avro.jsonl";
    FILE *f = fopen(path, "r");
    if (f == NULL)
        die("cannot open %s: %s", path, strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    memset(e, 0, sizeof *e);
    while (e->data == NULL && getline(&line, &cap, f) > 0) {
        json_t *row = json_loads(line, JSON_ALLOW_NUL, NULL);
        const char *type = json_string_value(json_object_get(row, "event_type"));
        const char *kase = json_string_value(json_object_get(row, "case"));
        const char *hex = json_string_value(json_object_get(row, "avro_hex"));
        if (type && kase && hex && strcmp(type, BENCH_ENROLLMENT_TYPE) == 0 &&
            strcmp(kase, "realistic") == 0) {
            e->data = json_incref(json_object_get(row, "data"));
            e->value_len = strlen(hex) / 2;
            e->value = malloc(e->value_len + 1);
            for (size_t i = 0; e->value != NULL && i < e->value_len; i++) {
                char byte[3] = {hex[2 * i], hex[2 * i + 1], 0};
                e->value[i] = (uint8_t)strtoul(byte, NULL, 16);
            }
        }
        json_decref(row);
    }
    free(line);
    fclose(f);
    if (e->data == NULL || e->value == NULL)
        die("no realistic enrollment row in %s", path);
    e->data_text = json_dumps(e->data, JSON_COMPACT);
}

static inline void bench_event_fini(struct bench_event *e)
{
    json_decref(e->data);
    free(e->data_text);
    free(e->value);
}

/* ------------------------------------------------------------------------------------------ */
/* Running the edxbus command */

/* Start @p argv (argv[0] a path) with EDXBUS_CONFIG=@p config, stdout into a pipe whose read
 * end is returned in *@p out_fd (or to /dev/null when @p out_fd is NULL), stderr kept. */
static inline pid_t bench_spawn(char *const argv[], const char *config, int *out_fd)
{
    int fds[2] = {-1, -1};
    if (out_fd != NULL && pipe(fds) != 0)
        die("pipe: %s", strerror(errno));
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        die("fork: %s", strerror(errno));
    if (pid == 0) {
        setenv("EDXBUS_CONFIG", config, 1);
        if (out_fd != NULL) {
            dup2(fds[1], 1);
            close(fds[0]);
            close(fds[1]);
        } else if (freopen("/dev/null", "w", stdout) == NULL) {
            _exit(126);
        }
        execv(argv[0], argv);
        _exit(127);
    }
    if (out_fd != NULL) {
        close(fds[1]);
        *out_fd = fds[0];
    }
    return pid;
}

static inline void bench_wait(pid_t pid, const char *what)
{
    int status = 0;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            die("%s: waitpid: %s", what, strerror(errno));
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        die("%s exited with status %d", what, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

/* `edxbus produce -e TYPE -d DATA --count N` routed by the config's EVENT_BUS_PRODUCER_CONFIG:
 * events/s over the whole process. */
static inline double bench_cli_produce(const char *cli, const char *config,
                                       const struct bench_event *e, long n)
{
    char count[32];
    snprintf(count, sizeof count, "%ld", n);
    char *argv[] = {(char *)cli, "produce",    "-q",      "-e",  BENCH_ENROLLMENT_TYPE,
                    "-d",        e->data_text, "--count", count, NULL};
    double t0 = now_s();
    pid_t pid = bench_spawn(argv, config, NULL);
    bench_wait(pid, "edxbus produce");
    return (double)n / (now_s() - t0);
}

/* `edxbus consume -t TOPIC -g GROUP --print -n N` from the earliest event into a pipe read here:
 * events/s from the first line to the last; the lines are counted and must be @p n. */
static inline double bench_cli_consume(const char *cli, const char *config, const char *topic,
                                       const char *group, long n)
{
    char count[32];
    snprintf(count, sizeof count, "%ld", n);
    char *argv[] = {(char *)cli,
                    "consume",
                    "-t",
                    (char *)topic,
                    "-g",
                    (char *)group,
                    "--print",
                    "-n",
                    count,
                    "--extra",
                    "{\"start\": \"earliest\"}",
                    NULL};
    int fd = -1;
    pid_t pid = bench_spawn(argv, config, &fd);
    static char buf[1 << 16];
    long lines = 0;
    double t_first = 0, t_last = 0;
    for (;;) {
        ssize_t r = read(fd, buf, sizeof buf);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        for (ssize_t i = 0; i < r; i++) {
            if (buf[i] != '\n')
                continue;
            if (lines++ == 0)
                t_first = now_s();
        }
        t_last = now_s();
    }
    close(fd);
    bench_wait(pid, "edxbus consume");
    if (lines != n)
        die("edxbus consume printed %ld lines of %ld", lines, n);
    return (double)(n - 1) / (t_last - t_first);
}

/* ------------------------------------------------------------------------------------------ */
/* The worker, in process */

struct bench_worker_count {
    long events;
    double t_first;
    long *rss; /* or NULL: rss[k] gets the RSS (kB) after (k + 1) * BENCH_RSS_EVERY events */
};

#define BENCH_RSS_EVERY 100000

static inline edxbus_err_t bench_noop_receiver(const edxbus_event_t *ev, void *opaque, char *errstr,
                                               size_t errstr_size)
{
    (void)ev;
    (void)errstr;
    (void)errstr_size;
    struct bench_worker_count *c = opaque;
    if (c->events++ == 0)
        c->t_first = now_s();
    if (c->rss != NULL && c->events % BENCH_RSS_EVERY == 0)
        c->rss[c->events / BENCH_RSS_EVERY - 1] = bench_rss_kb();
    return EDXBUS_OK;
}

/* A log sink that writes every line (info included) to /dev/null through stdio: audit lines
 * that somebody reads, at the cost of formatting and writing them. */
static inline void bench_log_devnull(edxbus_log_level_t level, const char *line, void *opaque)
{
    fprintf((FILE *)opaque, "%d %s\n", (int)level, line);
}

/* ------------------------------------------------------------------------------------------ */
/* Settings: one YAML file per case, read by the command and by the bench alike. */

/* Write @p path: @p backend_lines (YAML lines naming the broker), 100 events per poll, and one
 * route of the enrollment event to @p topic with its key field. */
static inline void bench_write_config(const char *path, const char *backend_lines,
                                      const char *topic)
{
    FILE *f = fopen(path, "w");
    if (f == NULL)
        die("cannot write %s", path);
    fprintf(f,
            "EVENTS_SERVICE_NAME: lms\n%s"
            "EVENT_BUS_CONSUMER_BATCH_SIZE: 100\n"
            "EVENT_BUS_PRODUCER_CONFIG:\n"
            "  " BENCH_ENROLLMENT_TYPE ":\n"
            "    %s:\n"
            "      event_key_field: " BENCH_KEY_FIELD "\n"
            "      enabled: true\n",
            backend_lines, topic);
    fclose(f);
}

static inline edxbus_conf_t *bench_load_conf(const char *path)
{
    char err[EDXBUS_ERRSTR_SIZE] = "";
    edxbus_conf_t *conf = edxbus_conf_new();
    if (conf == NULL || edxbus_conf_load_yaml(conf, path, err, sizeof err) != EDXBUS_OK)
        die("%s: %s", path, err);
    return conf;
}

static inline void bench_on_report(void *opaque, const struct edxbus_delivery *d)
{
    if (d->err != EDXBUS_OK)
        ++*(long *)opaque;
}

/* edxbus_send_event() of @p data @p n times through the asynchronous producer of the settings
 * in @p config, then flush: events/s. With @p warm, one event is sent and flushed first, out of
 * the time (a broker whose first send registers schemas or fetches metadata). */
static inline double bench_capi_produce(const char *config, const json_t *data, long n, bool warm)
{
    char err[EDXBUS_ERRSTR_SIZE] = "";
    edxbus_bus_t *bus = edxbus_bus_new(bench_load_conf(config), err, sizeof err);
    if (bus == NULL)
        die("bus: %s", err);
    edxbus_producer_t *prod = edxbus_bus_producer(bus);
    if (prod == NULL)
        die("no producer: %s", edxbus_bus_producer_problem(bus));
    long failed = 0;
    edxbus_producer_set_delivery_cb(prod, bench_on_report, &failed);
    if (warm && (edxbus_send_event(bus, BENCH_ENROLLMENT_TYPE, data, 0, NULL, err, sizeof err) ||
                 edxbus_bus_flush(bus, 60000, err, sizeof err)))
        die("first send: %s", err);
    double t0 = now_s();
    for (long i = 0; i < n; i++) {
        edxbus_err_t e;
        while ((e = edxbus_send_event(bus, BENCH_ENROLLMENT_TYPE, data, 0, NULL, err,
                                      sizeof err)) == EDXBUS_ERR_QUEUE_FULL)
            edxbus_bus_flush(bus, 10, err, sizeof err);
        if (e != EDXBUS_OK)
            die("send_event: %s", err);
    }
    if (edxbus_bus_flush(bus, 120000, err, sizeof err) != EDXBUS_OK)
        die("flush: %s", err);
    double rate = (double)n / (now_s() - t0);
    if (failed != 0)
        die("%ld events not delivered", failed);
    edxbus_bus_destroy(bus);
    return rate;
}

/* How the worker's audit lines are set: on with the default log sink (which drops info lines),
 * on and written (bench_log_devnull), or off (EVENT_BUS_AUDIT_LOGGING_ENABLED=false). */
enum bench_audit { BENCH_AUDIT_DEFAULT, BENCH_AUDIT_WRITTEN, BENCH_AUDIT_OFF };

/* Run the worker of the settings in @p config on @p topic in a new group from the earliest
 * event until @p n events: events/s from the first event to the last. @p rss (may be NULL; else
 * n / BENCH_RSS_EVERY entries) gets the RSS every BENCH_RSS_EVERY events, taken by the receiver
 * while the worker runs. */
static inline double bench_worker(const char *config, const char *topic, enum bench_audit audit,
                                  long n, long *rss)
{
    static int groups;
    char err[EDXBUS_ERRSTR_SIZE] = "", group[32];
    snprintf(group, sizeof group, "worker%d", ++groups);
    edxbus_conf_t *conf = bench_load_conf(config);
    FILE *null = NULL;
    if (audit == BENCH_AUDIT_WRITTEN) {
        null = fopen("/dev/null", "w");
        if (null == NULL)
            die("cannot open /dev/null");
        edxbus_conf_set_log(conf, bench_log_devnull, null);
    } else if (audit == BENCH_AUDIT_OFF && edxbus_conf_set(conf, "EVENT_BUS_AUDIT_LOGGING_ENABLED",
                                                           "false", err, sizeof err) != EDXBUS_OK) {
        die("conf: %s", err);
    }
    edxbus_bus_t *bus = edxbus_bus_new(conf, err, sizeof err);
    if (bus == NULL)
        die("bus: %s", err);
    struct bench_worker_count c = {.rss = rss};
    if (edxbus_bus_connect_all(bus, "noop", bench_noop_receiver, &c) != EDXBUS_OK)
        die("connect: out of memory");
    json_t *extra = json_pack("{s:s}", "start", "earliest");
    struct edxbus_consumer_config cfg = {
        .topic = topic,
        .group = group,
        .extra = extra,
        .start_time_ms = -1,
        .max_events = (uint64_t)n,
    };
    edxbus_consumer_t *cons = edxbus_consumer_new(bus, &cfg, err, sizeof err);
    if (cons == NULL)
        die("consumer: %s", err);
    if (edxbus_consumer_run(cons, err, sizeof err) != EDXBUS_OK)
        die("worker: %s", err);
    double t = now_s() - c.t_first;
    if (c.events != n)
        die("worker handled %ld events of %ld", c.events, n);
    edxbus_consumer_destroy(cons);
    edxbus_bus_destroy(bus);
    json_decref(extra);
    if (null != NULL)
        fclose(null);
    return (double)(n - 1) / t;
}

/* ------------------------------------------------------------------------------------------ */
/* The SQLite ceiling: plain SQLite on a table of the same columns as the embedded broker's
 * (topic, time, the seven metadata fields, key, value, headers), same journal (WAL), no bus. */

static inline void bench_sq_exec(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        die("%s: %s", sql, msg);
}

/* Open (and with @p fresh, first remove) the raw table's file at synchronous level @p sync. */
static inline sqlite3 *bench_sq_open(const char *path, const char *sync, bool fresh)
{
    char sql[64];
    if (fresh)
        unlink(path);
    sqlite3 *db = NULL;
    if (sqlite3_open(path, &db) != SQLITE_OK)
        die("cannot open %s", path);
    sqlite3_busy_timeout(db, 5000);
    bench_sq_exec(db, "PRAGMA journal_mode=WAL");
    snprintf(sql, sizeof sql, "PRAGMA synchronous=%s", sync);
    bench_sq_exec(db, sql);
    bench_sq_exec(db, "CREATE TABLE IF NOT EXISTS raw(id INTEGER PRIMARY KEY, topic TEXT NOT NULL,"
                      " stored_ms INTEGER NOT NULL, event_type TEXT, event_id TEXT,"
                      " minorversion INTEGER, source TEXT, sourcehost TEXT, time_us INTEGER,"
                      " sourcelib TEXT, key BLOB, value BLOB NOT NULL, headers BLOB);"
                      "CREATE TABLE IF NOT EXISTS cursor(name TEXT PRIMARY KEY, next_id INTEGER);");
    return db;
}

/* INSERT @p n rows of @p md, @p key and @p value into topic "raw", @p per_txn per transaction:
 * events/s. */
static inline double bench_sq_raw_produce(const char *path, const char *sync,
                                          const struct edxbus_metadata *md, const uint8_t *key,
                                          size_t key_len, const uint8_t *value, size_t value_len,
                                          long n, long per_txn)
{
    sqlite3 *db = bench_sq_open(path, sync, true);
    sqlite3_stmt *ins = NULL, *begin = NULL, *commit = NULL;
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO raw(topic, stored_ms, event_type, event_id, minorversion,"
                           " source, sourcehost, time_us, sourcelib, key, value, headers)"
                           " VALUES('raw',?,?,?,?,?,?,?,?,?,?,NULL)",
                           -1, &ins, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "BEGIN IMMEDIATE", -1, &begin, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "COMMIT", -1, &commit, NULL) != SQLITE_OK)
        die("prepare: %s", sqlite3_errmsg(db));
    double t0 = now_s();
    for (long i = 0; i < n; i++) {
        if (i % per_txn == 0) {
            sqlite3_step(begin);
            sqlite3_reset(begin);
        }
        sqlite3_bind_int64(ins, 1, 1715954607123);
        sqlite3_bind_text(ins, 2, md->event_type, -1, SQLITE_STATIC);
        sqlite3_bind_text(ins, 3, md->id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(ins, 4, md->minorversion);
        sqlite3_bind_text(ins, 5, md->source, -1, SQLITE_STATIC);
        sqlite3_bind_text(ins, 6, md->sourcehost, -1, SQLITE_STATIC);
        sqlite3_bind_int64(ins, 7, md->time_us);
        sqlite3_bind_text(ins, 8, "11.2.0", -1, SQLITE_STATIC);
        sqlite3_bind_blob(ins, 9, key, (int)key_len, SQLITE_STATIC);
        sqlite3_bind_blob(ins, 10, value, (int)value_len, SQLITE_STATIC);
        if (sqlite3_step(ins) != SQLITE_DONE)
            die("raw insert: %s", sqlite3_errmsg(db));
        sqlite3_reset(ins);
        if (i % per_txn == per_txn - 1 || i == n - 1) {
            if (sqlite3_step(commit) != SQLITE_DONE)
                die("raw commit: %s", sqlite3_errmsg(db));
            sqlite3_reset(commit);
        }
    }
    double rate = (double)n / (now_s() - t0);
    sqlite3_finalize(ins);
    sqlite3_finalize(begin);
    sqlite3_finalize(commit);
    sqlite3_close(db);
    return rate;
}

/* Read @p n rows in @p group from its cursor: per 100 rows one transaction of SELECT (text and
 * bytes copied out, as a consumer must) and UPDATE of the group's cursor row. Events/s. */
static inline double bench_sq_raw_consume(const char *path, const char *sync, const char *group,
                                          long n)
{
    sqlite3 *db = bench_sq_open(path, sync, false);
    sqlite3_stmt *sel = NULL, *upd = NULL, *cur = NULL, *ins = NULL;
    if (sqlite3_prepare_v2(db,
                           "SELECT id, stored_ms, event_type, event_id, minorversion, source,"
                           " sourcehost, time_us, sourcelib, key, value, headers FROM raw"
                           " WHERE topic = 'raw' AND id >= ?1 ORDER BY id LIMIT 100",
                           -1, &sel, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "UPDATE cursor SET next_id = ?1 WHERE name = ?2", -1, &upd, NULL) !=
            SQLITE_OK ||
        sqlite3_prepare_v2(db, "SELECT next_id FROM cursor WHERE name = ?1", -1, &cur, NULL) !=
            SQLITE_OK ||
        sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO cursor VALUES(?1, 0)", -1, &ins, NULL) !=
            SQLITE_OK)
        die("prepare: %s", sqlite3_errmsg(db));
    sqlite3_bind_text(ins, 1, group, -1, SQLITE_STATIC);
    sqlite3_step(ins);
    static uint8_t copy[100][4096];
    static char text[100][4][512];
    long got = 0;
    double t0 = now_s();
    while (got < n) {
        bench_sq_exec(db, "BEGIN IMMEDIATE");
        sqlite3_bind_text(cur, 1, group, -1, SQLITE_STATIC);
        sqlite3_step(cur);
        int64_t next = sqlite3_column_int64(cur, 0);
        sqlite3_reset(cur);
        sqlite3_bind_int64(sel, 1, next);
        int k = 0;
        while (sqlite3_step(sel) == SQLITE_ROW) {
            next = sqlite3_column_int64(sel, 0) + 1;
            for (int c = 0; c < 4; c++)
                snprintf(text[k][c], sizeof text[k][c], "%s",
                         (const char *)sqlite3_column_text(sel, 2 + c));
            size_t len = (size_t)sqlite3_column_bytes(sel, 10);
            memcpy(copy[k], sqlite3_column_blob(sel, 10), len < 4096 ? len : 4096);
            k++;
        }
        sqlite3_reset(sel);
        sqlite3_bind_int64(upd, 1, next);
        sqlite3_bind_text(upd, 2, group, -1, SQLITE_STATIC);
        sqlite3_step(upd);
        sqlite3_reset(upd);
        bench_sq_exec(db, "COMMIT");
        if (k == 0)
            die("raw SQLite consume ran dry after %ld rows", got);
        got += k;
    }
    double rate = (double)n / (now_s() - t0);
    sqlite3_finalize(sel);
    sqlite3_finalize(upd);
    sqlite3_finalize(cur);
    sqlite3_finalize(ins);
    sqlite3_close(db);
    return rate;
}

#endif /* EDXBUS_BENCH_UTIL_H */
