/* cli/cmd_consume.c — `edxbus consume`: run the worker on one topic in one group.
 *
 * The command is openedx-events' consume_events. It builds the bus, connects one receiver to
 * every signal and runs edxbus_consumer_run() until SIGINT/SIGTERM (the handler calls
 * edxbus_consumer_stop(), which wakes a worker waiting for messages at once; the worker
 * finishes and acknowledges the current event, then returns and we exit 0),
 * --max-events, or the consecutive-errors limit (exit 3; the codes are cli_exit_code()'s).
 * --metrics-address (or EVENT_BUS_METRICS_ADDRESS) serves /metrics, /healthz and /readyz.
 *
 * Receivers:
 *   --print (default): one line per event on stdout,
 *       {"metadata": {...seven fields as to_json types them...}, "data": {...}}
 *     with the data written straight from the Avro bytes (no JSON tree), buffered and flushed
 *     once per batch before the batch is acknowledged (edxbus_consumer_set_before_ack()), so
 *     that what a killed consumer acknowledged has been printed.
 *   --exec CMD: runs CMD with /bin/sh per event, that same line on its stdin; a non-zero exit
 *     is a receiver failure (retried, then dead-lettered by the worker's policy).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli_bus.h"

static volatile sig_atomic_t stop_requested;
static edxbus_consumer_t *_Atomic running; /* the consumer the handler wakes, or NULL */

/* SIGINT/SIGTERM: the worker finishes the event in hand and returns; a wait for messages ends
 * at once (edxbus_consumer_stop() is async-signal-safe). */
static void on_stop_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
    edxbus_consumer_stop(atomic_load(&running));
}

struct consume {
    const char *exec_cmd; /* NULL: print */
    struct edxbus_buf line;
};

/* The output line of @p ev into c->line (reset first). */
static edxbus_err_t format_line(struct consume *c, const edxbus_event_t *ev, char *errstr,
                                size_t errstr_size)
{
    size_t len = 0;
    const uint8_t *value = edxbus_event_get_value(ev, &len);
    if (value == NULL)
        return EDXBUS_ERR_NOMEM;
    return cli_event_line(edxbus_event_get_metadata(ev), edxbus_event_get_type(ev), NULL, value,
                          len, &c->line, errstr, errstr_size);
}

static edxbus_err_t print_receiver(const edxbus_event_t *ev, void *opaque, char *errstr,
                                   size_t errstr_size)
{
    struct consume *c = opaque;
    edxbus_err_t err = format_line(c, ev, errstr, errstr_size);
    if (err != EDXBUS_OK)
        return err;
    if (fwrite(c->line.data, 1, c->line.len, stdout) != c->line.len) {
        snprintf(errstr, errstr_size, "cannot write to standard output: %s", strerror(errno));
        return EDXBUS_ERR_IO;
    }
    return EDXBUS_OK;
}

/* The worker's before-ack call: what the batch printed reaches standard output before any of
 * its events is acknowledged (one write per batch, not one per event). */
static edxbus_err_t flush_output(void *opaque, char *errstr, size_t errstr_size)
{
    (void)opaque;
    if (fflush(stdout) != 0) {
        snprintf(errstr, errstr_size, "cannot write to standard output: %s", strerror(errno));
        return EDXBUS_ERR_IO;
    }
    return EDXBUS_OK;
}

static edxbus_err_t exec_receiver(const edxbus_event_t *ev, void *opaque, char *errstr,
                                  size_t errstr_size)
{
    struct consume *c = opaque;
    edxbus_err_t err = format_line(c, ev, errstr, errstr_size);
    if (err != EDXBUS_OK)
        return err;
    int fds[2];
    if (pipe(fds) != 0) {
        snprintf(errstr, errstr_size, "--exec: pipe: %s", strerror(errno));
        return EDXBUS_ERR_IO;
    }
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        snprintf(errstr, errstr_size, "--exec: fork: %s", strerror(errno));
        return EDXBUS_ERR_IO;
    }
    if (pid == 0) {
        /* The child gets default signal dispositions: SIGTERM to us must not be ignored. */
        signal(SIGPIPE, SIG_DFL);
        dup2(fds[0], 0);
        close(fds[0]);
        close(fds[1]);
        execl("/bin/sh", "sh", "-c", c->exec_cmd, (char *)NULL);
        _exit(127);
    }
    close(fds[0]);
    size_t off = 0;
    while (off < c->line.len) {
        ssize_t w = write(fds[1], c->line.data + off, c->line.len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break; /* the command did not read it all: its exit status decides */
        off += (size_t)w;
    }
    close(fds[1]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            snprintf(errstr, errstr_size, "--exec: waitpid: %s", strerror(errno));
            return EDXBUS_ERR_IO;
        }
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return EDXBUS_OK;
    if (WIFEXITED(status))
        snprintf(errstr, errstr_size, "--exec command exited with status %d", WEXITSTATUS(status));
    else
        snprintf(errstr, errstr_size, "--exec command killed by signal %d",
                 WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    return EDXBUS_ERR_RECEIVER;
}

enum {
    OPT_TOPIC,
    OPT_GROUP,
    OPT_GROUP_ID,
    OPT_EXTRA,
    OPT_PRINT,
    OPT_EXEC,
    OPT_MAX_EVENTS,
    OPT_OFFSET_TIME,
    OPT_NAME,
    OPT_METRICS,
    OPT_CONFIG,
};

const struct cli_opt cmd_consume_opts[] = {
    [OPT_TOPIC] = {"topic", 't', "TOPIC", "topic as configured (without the prefix)"},
    [OPT_GROUP] = {"group", 'g', "GROUP", "consumer group"},
    [OPT_GROUP_ID] = {"group-id", 0, "GROUP", "same as --group"},
    [OPT_EXTRA] = {"extra", 0, "JSON",
                   "{\"start\": \"earliest\"} for a new group to read from\n"
                   "the oldest event (default: only new ones); backend\n"
                   "options; {\"offset_time\": ISO} replays from a time"},
    [OPT_PRINT] = {"print", 0, NULL,
                   "print one JSON line per event (default):\n"
                   "{\"metadata\": {...}, \"data\": {...}}"},
    [OPT_EXEC] = {"exec", 0, "CMD",
                  "run CMD (/bin/sh) per event with that line on stdin;\n"
                  "a non-zero exit is a failure of the event"},
    [OPT_MAX_EVENTS] = {"max-events", 'n', "N", "exit 0 after N events"},
    [OPT_OFFSET_TIME] = {"offset-time", 0, "ISO",
                         "replay from this time (2024-05-01T00:00:00+00:00)"},
    [OPT_NAME] = {"name", 0, "NAME", "member name (default: host-pid)"},
    [OPT_METRICS] = CLI_OPT_METRICS_ADDRESS,
    [OPT_CONFIG] = CLI_OPT_CONFIG,
    {NULL, 0, NULL, NULL},
};

int cmd_consume(struct cli *cli, int argc, char **argv)
{
    const char *topic = NULL, *group = NULL, *extra_arg = NULL, *exec_cmd = NULL;
    const char *offset_time = NULL, *name = NULL, *config = NULL, *metrics_address = NULL;
    uint64_t max_events = 0; /* 0: no limit */
    bool print = false;
    struct cli_args args;
    cli_args_init(&args, argc, argv);
    int o;
    const char *value;
    while (cli_opt_next(cli, &args, &o, &value)) {
        switch (o) {
        case OPT_TOPIC:
            topic = value;
            break;
        case OPT_GROUP:
        case OPT_GROUP_ID:
            group = value;
            break;
        case OPT_EXTRA:
            extra_arg = value;
            break;
        case OPT_PRINT:
            print = true;
            break;
        case OPT_EXEC:
            exec_cmd = value;
            break;
        case OPT_MAX_EVENTS:
            if (!cli_count_arg(cli, "--max-events", value, &max_events))
                return CLI_USAGE;
            break;
        case OPT_OFFSET_TIME:
            offset_time = value;
            break;
        case OPT_NAME:
            name = value;
            break;
        case OPT_METRICS:
            metrics_address = value;
            break;
        case OPT_CONFIG:
            config = value;
            break;
        default:
            return cli_error(cli, CLI_USAGE, "unexpected argument \"%s\"", value);
        }
    }
    if (args.exit_code >= 0)
        return args.exit_code;
    if (topic == NULL || group == NULL)
        return cli_error(cli, CLI_USAGE,
                         "-t TOPIC and -g GROUP are required (see edxbus "
                         "consume --help)");
    if (print && exec_cmd != NULL)
        return cli_error(cli, CLI_USAGE,
                         "--print and --exec exclude each other: each event is either printed or "
                         "handed to CMD; give one");
    json_t *extra = NULL;
    if (extra_arg != NULL) {
        extra = cli_json_arg(cli, "--extra", extra_arg);
        if (extra == NULL)
            return CLI_USAGE;
        if (!json_is_object(extra)) {
            json_decref(extra);
            return cli_error(cli, CLI_USAGE,
                             "--extra: expected a JSON object, e.g. "
                             "{\"start\": \"earliest\"}");
        }
    }
    if (offset_time != NULL) {
        if (extra == NULL)
            extra = json_object();
        json_object_set_new(extra, "offset_time", json_string(offset_time));
    }

    int rc = CLI_OK;
    struct consume c = {.exec_cmd = exec_cmd};
    edxbus_buf_init(&c.line);
    edxbus_consumer_t *cons = NULL;
    edxbus_bus_t *bus = NULL;
    edxbus_metrics_server_t *srv = NULL;
    edxbus_conf_t *conf = cli_conf_load(cli, config, &rc);
    if (conf == NULL)
        goto out;
    if (!cli_metrics_start(cli, conf, metrics_address, &srv, &rc)) {
        edxbus_conf_destroy(conf);
        goto out;
    }
    bus = cli_bus_new(cli, conf, &rc);
    if (bus == NULL)
        goto out;
    if (edxbus_bus_connect_all(bus, exec_cmd ? "exec" : "print",
                               exec_cmd ? exec_receiver : print_receiver, &c) != EDXBUS_OK) {
        rc = cli_nomem(cli);
        goto out;
    }

    cli_on_stop_signals(on_stop_signal);

    struct edxbus_consumer_config cfg = {
        .topic = topic,
        .group = group,
        .consumer_name = name,
        .extra = extra,
        .start_time_ms = -1,
        .max_events = max_events,
    };
    char err[EDXBUS_ERRSTR_SIZE] = "";
    edxbus_err_t e = edxbus_consumer_open(bus, &cfg, &cons, err, sizeof err);
    if (e != EDXBUS_OK) {
        /* A failure the class does not explain may still be settings that cannot work. */
        int code = cli_exit_code(e);
        rc = cli_error(cli, code == CLI_FAIL ? cli_open_failure(edxbus_bus_conf(bus)) : code,
                       "%s", err);
        goto out;
    }
    if (exec_cmd == NULL) {
        static char outbuf[1 << 16];
        setvbuf(stdout, outbuf, _IOFBF, sizeof outbuf);
        edxbus_consumer_set_before_ack(cons, flush_output, NULL);
    }
    atomic_store(&running, cons);
    if (stop_requested) /* a signal before the consumer existed */
        edxbus_consumer_stop(cons);
    e = edxbus_consumer_run(cons, err, sizeof err);
    atomic_store(&running, NULL); /* the handler must not see it destroyed */
    if (e != EDXBUS_OK)
        rc = cli_error(cli, cli_exit_code(e), "%s", err);

out:
    edxbus_consumer_destroy(cons);
    edxbus_metrics_server_stop(srv);
    edxbus_bus_destroy(bus);
    edxbus_buf_fini(&c.line);
    json_decref(extra);
    return rc;
}
