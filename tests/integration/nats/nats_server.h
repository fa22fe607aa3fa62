/* tests/integration/nats/nats_server.h — a throwaway nats-server with JetStream for one test.
 *
 * test_nats_start() runs the real `nats-server -js` (installed by `make deps`) on a free
 * loopback port with a fresh temporary store directory, and waits until it accepts a
 * connection. test_nats_kill() / test_nats_restart() crash it (SIGKILL) and start it again on
 * the same port and store; test_nats_freeze() / test_nats_thaw() stop and continue it
 * (SIGSTOP / SIGCONT). test_nats_stop() ends it by the pid we started (never by name) and
 * removes the store. When nats-server is not installed, test_nats_require() prints a loud SKIP
 * line naming the package and exits 77, which ctest reports as skipped.
 */
#ifndef EDXBUS_TEST_NATS_SERVER_H
#define EDXBUS_TEST_NATS_SERVER_H

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
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

#define TEST_NATS_SKIP 77

struct test_nats {
    pid_t pid; /* 0 when not running */
    int port;
    char dir[256]; /* the JetStream store (and the log) */
    char url[128]; /* nats://127.0.0.1:<port> */
    char conf[300]; /* a configuration file (test_nats_start_with()), or "" */
};

/** The path of nats-server, or NULL. */
static inline const char *test_nats_binary(void)
{
    return test_proc_binary("nats-server", "EDXBUS_NATS_SERVER");
}

/** Exit 77 (skipped) with a loud line when nats-server is missing. */
static inline void test_nats_require(const char *program)
{
    if (test_nats_binary() != NULL)
        return;
    fprintf(stderr,
            "\n*** SKIP %s: nats-server is not installed, so the NATS backend was NOT tested.\n"
            "*** Install it with `make deps` (Debian package nats-server) or set "
            "EDXBUS_NATS_SERVER=/path/to/nats-server.\n\n",
            program);
    exit(TEST_NATS_SKIP);
}

/* Whether the server greets a new connection with its INFO line. */
static inline bool test_nats_answers(const struct test_nats *n)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)n->port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bool up = false;
    struct timeval tv = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0) {
        char buf[8] = "";
        up = recv(fd, buf, 4, MSG_WAITALL) == 4 && memcmp(buf, "INFO", 4) == 0;
    }
    if (fd >= 0)
        close(fd);
    return up;
}

static inline bool nats_up(const void *n)
{
    return test_nats_answers(n);
}

/* Start the server on n->port / n->dir (already chosen). */
static inline bool test_nats_spawn(struct test_nats *n)
{
    char port[16], log[300];
    snprintf(port, sizeof port, "%d", n->port);
    snprintf(log, sizeof log, "%s/nats.log", n->dir);
    const char *argv[] = {test_nats_binary(), "-js", "-a", "127.0.0.1", "-p", port, "-sd",
                          n->dir, "-l", log, n->conf[0] ? "-c" : NULL, n->conf, NULL};
    n->pid = test_proc_spawn(argv, nats_up, n, log);
    return n->pid > 0;
}

/** Start a server with the configuration text @p config (NULL: none), which the server reads
 *  from a file in its directory; port, address, JetStream and the store come from the command
 *  line as for every test server. */
static inline bool test_nats_start_with(struct test_nats *n, const char *config)
{
    memset(n, 0, sizeof *n);
    snprintf(n->dir, sizeof n->dir, "/tmp/edxbus-nats-XXXXXX");
    if (mkdtemp(n->dir) == NULL)
        return false;
    if (config != NULL) {
        char path[sizeof n->conf]; /* not straight into n->conf: gcc's -Wrestrict */
        snprintf(path, sizeof path, "%s/nats.conf", n->dir);
        memcpy(n->conf, path, sizeof path);
        FILE *f = fopen(n->conf, "w");
        if (f == NULL || fputs(config, f) < 0 || fclose(f) != 0)
            return false;
    }
    for (int attempt = 0; attempt < 5; attempt++) {
        n->port = test_proc_free_port();
        snprintf(n->url, sizeof n->url, "nats://127.0.0.1:%d", n->port);
        if (test_nats_spawn(n))
            return true;
    }
    return false;
}

static inline bool test_nats_start(struct test_nats *n)
{
    return test_nats_start_with(n, NULL);
}

/** Crash the server (SIGKILL), keeping its store. */
static inline void test_nats_kill(struct test_nats *n)
{
    test_proc_end(&n->pid, SIGKILL);
}

/** Start the server again on the same port and store. */
static inline bool test_nats_restart(struct test_nats *n)
{
    test_nats_kill(n);
    return test_nats_spawn(n);
}

/** Stop the server (SIGSTOP) and return once it is stopped (kill() only sends the signal). */
static inline void test_nats_freeze(struct test_nats *n)
{
    if (n->pid > 0 && kill(n->pid, SIGSTOP) == 0) {
        int status;
        while (waitpid(n->pid, &status, WUNTRACED) < 0 && errno == EINTR)
            ;
    }
}

static inline void test_nats_thaw(struct test_nats *n)
{
    if (n->pid > 0)
        kill(n->pid, SIGCONT);
}

/** Stop the server we started (by pid) and remove its store. */
static inline void test_nats_stop(struct test_nats *n)
{
    test_proc_end(&n->pid, SIGTERM);
    if (n->dir[0] != '\0')
        test_proc_rm_tree(n->dir);
    n->dir[0] = '\0';
}

/** A conf for the backend: the server's URL, short timeouts, no audit lines. Returns new. */
__attribute__((noinline)) static edxbus_conf_t *test_nats_conf(const char *url)
{
    char errstr[256];
    edxbus_conf_t *conf = edxbus_conf_new();
    if (conf == NULL)
        return NULL;
    if (edxbus_conf_set(conf, "EVENT_BUS_NATS_URL", url, errstr, sizeof errstr) ||
        edxbus_conf_set(conf, "EVENT_BUS_NATS_TIMEOUT", "2", errstr, sizeof errstr) ||
        edxbus_conf_set(conf, "EVENT_BUS_NATS_AUDIT_LOGGING_ENABLED", "false", errstr,
                        sizeof errstr)) {
        fprintf(stderr, "conf: %s\n", errstr);
        edxbus_conf_destroy(conf);
        return NULL;
    }
    return conf;
}

#endif /* EDXBUS_TEST_NATS_SERVER_H */
