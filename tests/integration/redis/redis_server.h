/* tests/integration/redis/redis_server.h — a throwaway redis-server for one test program.
 *
 * test_redis_start() runs the real `redis-server` (installed by `make deps`) on a free loopback
 * port in a fresh temporary directory, with no snapshots, and waits until it answers PING.
 * test_redis_stop() ends it by the pid we started (never by name) and removes the directory;
 * test_redis_kill() and test_redis_restart() simulate crashes and restarts on the same port and
 * data directory. When redis-server is not installed, test_redis_require() prints a loud SKIP
 * line naming the package and exits 77, which ctest reports as skipped.
 *
 * test_redis_start_tls() runs it TLS-only (`--port 0 --tls-port P`) with certificates that
 * test_tls_make_certs() made with the `openssl` command in the server's directory.
 *
 * Also here: a few helpers the Redis tests share (a conf pointing at the server, a raw hiredis
 * connection, hex).
 */
#ifndef EDXBUS_TEST_REDIS_SERVER_H
#define EDXBUS_TEST_REDIS_SERVER_H

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "edxbus/conf.h"
#include "../server_proc.h"
#include "../tls_certs.h"
#include "../../vector_rows.h"

#define TEST_REDIS_SKIP 77
#define TEST_REDIS_MAX_ARGS 24

struct test_redis {
    pid_t pid; /* 0 when not running */
    int port;
    char dir[256];                          /* data directory (and the log) */
    char url[128];                          /* redis://127.0.0.1:<port>/0 */
    const char *extra[TEST_REDIS_MAX_ARGS]; /* extra server arguments, NULL-terminated */
    bool tls;                               /* TLS only: port is its --tls-port */
    char tls_files[3][300];                 /* its certificate, key and CA (argv of extra) */
};

static inline void test_redis_sleep_ms(long ms)
{
    test_proc_sleep_ms(ms);
}

/** The path of redis-server, or NULL. */
static inline const char *test_redis_binary(void)
{
    return test_proc_binary("redis-server", "EDXBUS_REDIS_SERVER");
}

/** Exit 77 (skipped) with a loud line when redis-server is missing. */
static inline void test_redis_require(const char *program)
{
    if (test_redis_binary() != NULL)
        return;
    fprintf(stderr,
            "\n*** SKIP %s: redis-server is not installed, so the Redis backend was NOT tested.\n"
            "*** Install it with `make deps` (Debian package redis-server) or set "
            "EDXBUS_REDIS_SERVER=/path/to/redis-server.\n\n",
            program);
    exit(TEST_REDIS_SKIP);
}

static inline int test_redis_free_port(void)
{
    return test_proc_free_port();
}

/** A raw connection (NULL when the server does not answer). */
static inline redisContext *test_redis_connect(const struct test_redis *r)
{
    struct timeval tv = {5, 0};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", r->port, tv);
    if (c != NULL && c->err) {
        redisFree(c);
        return NULL;
    }
    return c;
}

/* Whether something accepts TCP connections on r->port (a TLS server: hiredis cannot ping). */
static inline bool test_redis_listens(const struct test_redis *r)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)r->port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bool up = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
    if (fd >= 0)
        close(fd);
    return up;
}

static inline bool test_redis_pings(const struct test_redis *r)
{
    if (r->tls)
        return test_redis_listens(r);
    redisContext *c = test_redis_connect(r);
    if (c == NULL)
        return false;
    redisReply *reply = redisCommand(c, "PING");
    /* A server with requirepass answers NOAUTH: it is up all the same. */
    bool up =
        reply != NULL && (reply->type == REDIS_REPLY_STATUS ||
                          (reply->type == REDIS_REPLY_ERROR && !strncmp(reply->str, "NOAUTH", 6)));
    freeReplyObject(reply);
    redisFree(c);
    return up;
}

static inline bool redis_up(const void *r)
{
    return test_redis_pings(r);
}

/* Start the server on r->port / r->dir (already chosen). */
static inline bool test_redis_spawn(struct test_redis *r)
{
    char port[16], log[300];
    snprintf(port, sizeof port, "%d", r->port);
    snprintf(log, sizeof log, "%s/redis.log", r->dir);
    const char *argv[16 + TEST_REDIS_MAX_ARGS] = {test_redis_binary(),
                                                  r->tls ? "--tls-port" : "--port",
                                                  port,
                                                  "--bind",
                                                  "127.0.0.1",
                                                  "--save",
                                                  "",
                                                  "--dir",
                                                  r->dir,
                                                  "--logfile",
                                                  log,
                                                  "--daemonize",
                                                  "no",
                                                  "--protected-mode",
                                                  "no"};
    int argc = 15;
    if (r->tls) {
        argv[argc++] = "--port";
        argv[argc++] = "0";
    }
    for (int i = 0; r->extra[i] != NULL && i < TEST_REDIS_MAX_ARGS - 1; i++)
        argv[argc++] = r->extra[i];
    argv[argc] = NULL;
    r->pid = test_proc_spawn(argv, redis_up, r, log);
    return r->pid > 0;
}

/** Start a server; extra arguments (e.g. "--appendonly", "yes") end with NULL. */
static inline bool test_redis_start(struct test_redis *r, ...)
{
    memset(r, 0, sizeof *r);
    va_list ap;
    va_start(ap, r);
    int n = 0;
    for (const char *a = va_arg(ap, const char *); a != NULL && n < TEST_REDIS_MAX_ARGS - 1;
         a = va_arg(ap, const char *))
        r->extra[n++] = a;
    va_end(ap);
    snprintf(r->dir, sizeof r->dir, "/tmp/edxbus-redis-XXXXXX");
    if (mkdtemp(r->dir) == NULL)
        return false;
    for (int attempt = 0; attempt < 5; attempt++) {
        r->port = test_redis_free_port();
        snprintf(r->url, sizeof r->url, "redis://127.0.0.1:%d/0", r->port);
        if (test_redis_spawn(r))
            return true;
    }
    return false;
}

/** Start a TLS-only server (certificates of test_tls_make_certs() in its directory); with
 *  @p client_certs it asks every client for a certificate signed by ca.pem. r->url is then
 *  rediss://localhost:<port>/0 (no CA given: the caller adds one). */
static inline bool test_redis_start_tls(struct test_redis *r, bool client_certs)
{
    memset(r, 0, sizeof *r);
    r->tls = true;
    snprintf(r->dir, sizeof r->dir, "/tmp/edxbus-redis-XXXXXX");
    if (mkdtemp(r->dir) == NULL || !test_tls_make_certs(r->dir))
        return false;
    char(*files)[300] = r->tls_files;
    snprintf(files[0], sizeof files[0], "%s/server.pem", r->dir);
    snprintf(files[1], sizeof files[1], "%s/server.key", r->dir);
    snprintf(files[2], sizeof files[2], "%s/ca.pem", r->dir);
    const char *extra[] = {"--tls-cert-file", files[0], "--tls-key-file", files[1],
                           "--tls-ca-cert-file", files[2], "--tls-auth-clients",
                           client_certs ? "yes" : "no", NULL};
    for (int i = 0; extra[i] != NULL; i++)
        r->extra[i] = extra[i];
    for (int attempt = 0; attempt < 5; attempt++) {
        r->port = test_redis_free_port();
        snprintf(r->url, sizeof r->url, "rediss://localhost:%d/0", r->port);
        if (test_redis_spawn(r))
            return true;
    }
    return false;
}

/** Crash the server (SIGKILL), as a power cut would, keeping its data directory. */
static inline void test_redis_kill(struct test_redis *r)
{
    test_proc_end(&r->pid, SIGKILL);
}

/** Start the server again on the same port and directory. */
static inline bool test_redis_restart(struct test_redis *r)
{
    test_redis_kill(r);
    return test_redis_spawn(r);
}

/** Stop the server we started (by pid) and remove its directory. */
static inline void test_redis_stop(struct test_redis *r)
{
    test_proc_end(&r->pid, SIGTERM);
    if (r->dir[0] != '\0')
        test_proc_rm_tree(r->dir);
    r->dir[0] = '\0';
}

/** A conf for the backend: the server's URL, short timeouts, no audit lines. Returns new. */
__attribute__((noinline)) static edxbus_conf_t *test_redis_conf(const char *url)
{
    char errstr[256];
    edxbus_conf_t *conf = edxbus_conf_new();
    if (conf == NULL)
        return NULL;
    if (edxbus_conf_set(conf, "EVENT_BUS_REDIS_CONNECTION_URL", url, errstr, sizeof errstr) ||
        edxbus_conf_set(conf, "EVENT_BUS_REDIS_SOCKET_TIMEOUT", "2", errstr, sizeof errstr) ||
        edxbus_conf_set(conf, "EVENT_BUS_REDIS_CONSUMER_POLL_FAILURE_SLEEP", "0.01", errstr,
                        sizeof errstr) ||
        edxbus_conf_set(conf, "EVENT_BUS_REDIS_AUDIT_LOGGING_ENABLED", "false", errstr,
                        sizeof errstr)) {
        fprintf(stderr, "conf: %s\n", errstr);
        edxbus_conf_destroy(conf);
        return NULL;
    }
    return conf;
}

/** A raw command on a fresh connection (printf-style, as redisCommand). Returns new. */
static inline redisReply *test_redis_cmd(const struct test_redis *r, const char *fmt, ...)
{
    redisContext *c = test_redis_connect(r);
    if (c == NULL)
        return NULL;
    va_list ap;
    va_start(ap, fmt);
    redisReply *reply = redisvCommand(c, fmt, ap);
    va_end(ap);
    redisFree(c);
    return reply;
}

#endif /* EDXBUS_TEST_REDIS_SERVER_H */
