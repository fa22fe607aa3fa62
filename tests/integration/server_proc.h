/* tests/integration/server_proc.h — what every test that runs its own server process needs:
 * finding the server's binary, a free loopback port, short sleeps and removing its directory.
 * redis_server.h and nats_server.h build their servers on it.
 */
#ifndef EDXBUS_TEST_SERVER_PROC_H
#define EDXBUS_TEST_SERVER_PROC_H

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdbool.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static inline void test_proc_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/** The path of program @p name: $@p env when it names an executable, else the first in PATH
 *  (and /usr/bin, /usr/sbin, /usr/local/bin), else NULL. Borrowed until the next call. */
static inline const char *test_proc_binary(const char *name, const char *env)
{
    static char found[512];
    const char *given = getenv(env);
    if (given != NULL && access(given, X_OK) == 0)
        return given;
    const char *path = getenv("PATH");
    char dirs[4096];
    snprintf(dirs, sizeof dirs, "%s:/usr/bin:/usr/sbin:/usr/local/bin", path ? path : "");
    for (const char *d = dirs; *d != '\0';) {
        size_t len = strcspn(d, ":");
        snprintf(found, sizeof found, "%.*s/%s", (int)len, d, name);
        if (len > 0 && access(found, X_OK) == 0)
            return found;
        d += len + (d[len] == ':');
    }
    return NULL;
}

/** A loopback TCP port nobody listens on right now, or -1. */
static inline int test_proc_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    int port = -1;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
        port = ntohs(sa.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

static inline int test_proc_rm_one(const char *path, const struct stat *sb, int flag,
                                   struct FTW *ftw)
{
    return remove(path);
}

/** Remove directory @p dir and everything in it. */
static inline void test_proc_rm_tree(const char *dir)
{
    nftw(dir, test_proc_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/** Run @p argv (standard streams on /dev/null: servers log to their own files) and wait up to
 *  ~10 s until @p up(@p arg) holds. Returns the pid, or 0 when it exited first (its log is
 *  @p log) or never came up (it is killed then). */
static inline pid_t test_proc_spawn(const char *const *argv, bool (*up)(const void *),
                                    const void *arg, const char *log)
{
    pid_t pid = fork();
    if (pid < 0)
        return 0;
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        dup2(null, 0);
        dup2(null, 1);
        dup2(null, 2);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    for (int i = 0; i < 1000; i++) { /* up to ~10 s for a loaded machine */
        if (up(arg))
            return pid;
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            fprintf(stderr, "%s exited early; see %s\n", argv[0], log);
            return 0;
        }
        test_proc_sleep_ms(10);
    }
    fprintf(stderr, "%s never answered; see %s\n", argv[0], log);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return 0;
}

/** End the process *@p pid (one we started) with @p sig, after SIGCONT so that a stopped one
 *  takes it, reap it and set *@p pid to 0. Nothing when *@p pid is 0. */
static inline void test_proc_end(pid_t *pid, int sig)
{
    if (*pid <= 0)
        return;
    kill(*pid, SIGCONT);
    kill(*pid, sig);
    waitpid(*pid, NULL, 0);
    *pid = 0;
}

#endif /* EDXBUS_TEST_SERVER_PROC_H */
