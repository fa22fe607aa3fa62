/* cli/cmd_tail.c — `edxbus tail TOPIC`: watch a topic as entries arrive, without a group.
 *
 * A bus tail (tail.h) on the consuming backend (EVENT_BUS_CONSUMER, else EVENT_BUS_PRODUCER when
 * only that one is set, else sqlite): it reads and never acknowledges, so no group is created,
 * no group's position moves and nothing is left owed: tailing a live topic is safe. It also
 * holds nothing back: it keeps no saved position, so retention goes by the groups alone (a
 * forgotten tail must not keep the embedded broker's file growing); reading on later from where
 * one stopped is what a group is for (tests/unit/bus/test_sqlite_retention.c shows it). Each entry
 * comes matched to the bus's catalog (built-ins + EVENT_BUS_SCHEMA_PATH) and is printed at once,
 * flushed, as the same line `consume --print` prints (cli_event_line()).
 *
 * Where it begins: --from latest (default: entries stored from now on), earliest, or a position
 * of the backend; --from-time ISO: the first entry stored at or after that time.
 * When it ends, always with exit 0: SIGINT/SIGTERM; --max-events N entries; --timeout S seconds
 * without a new entry (so scripts and tests cannot hang); a reader that closed stdout (`| head`).
 * A broker error that may pass (edxbus_err_is_retriable) is one warning line, then a retry after
 * a second; any other ends the run with exit 1.
 *
 * An entry that cannot be shown (unusable envelope, event type not in the catalog, bytes that do
 * not decode) is one warning line on stderr naming its position, and the tail goes on: a watcher
 * must not stop at the one entry someone wants to look at. It still counts toward --max-events.
 *
 * Polls last at most POLL_SLICE_MS, so a stop request or the idle timeout is seen promptly.
 */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli_bus.h"

#define POLL_SLICE_MS 500   /* longest single poll: how late a stop request may be seen */
#define RETRY_SLEEP_MS 1000 /* wait after a retriable broker error */

static volatile sig_atomic_t stop_requested;

static void on_stop_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

struct tail {
    struct cli *cli;
    struct edxbus_buf line;
    bool out_closed; /* stdout's reader went away: stop quietly */
    uint64_t seen;
    int failed; /* the exit code show() reported, or CLI_OK */
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sleep @p ms, returning early on a stop request (the signal interrupts nanosleep). */
static void sleep_ms(int64_t ms)
{
    int64_t end = now_ms() + ms;
    while (!stop_requested) {
        int64_t left = end - now_ms();
        if (left <= 0)
            return;
        struct timespec ts = {left / 1000, (left % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
}

static void warn(const struct tail *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void warn(const struct tail *t, const char *fmt, ...)
{
    char text[EDXBUS_ERRSTR_SIZE + 128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    for (char *p = text; *p != '\0'; p++) /* one line, whatever the broker sent */
        if ((unsigned char)*p < 0x20)
            *p = ' ';
    fflush(stdout); /* keep the warning in order with the lines around it */
    fprintf(stderr, "edxbus %s: warning: %s\n", t->cli->path, text);
}

/* Print @p e, or warn about it (edxbus_tail_fn). EDXBUS_OK, or EDXBUS_ERR_IO after reporting. */
static edxbus_err_t show(void *opaque, const struct edxbus_tail_entry *e)
{
    struct tail *t = opaque;
    char errstr[EDXBUS_ERRSTR_SIZE] = "";
    t->seen++;
    if (t->out_closed)
        return EDXBUS_OK;
    edxbus_err_t err = e->problem != NULL
                           ? EDXBUS_ERR_DECODE
                           : cli_event_line(e->metadata, e->event_type, e->data, e->value,
                                            e->value_len, &t->line, errstr, sizeof errstr);
    if (err == EDXBUS_ERR_NOMEM) {
        t->failed = cli_nomem(t->cli);
        return err;
    }
    if (err != EDXBUS_OK) {
        warn(t, "%s position %s: %s%s; skipped", e->topic, e->position,
             e->problem != NULL ? "" : "undecodable value: ",
             e->problem != NULL ? e->problem : errstr);
        return EDXBUS_OK;
    }
    if (fwrite(t->line.data, 1, t->line.len, stdout) == t->line.len && fflush(stdout) == 0)
        return EDXBUS_OK;
    if (errno == EPIPE) {
        t->out_closed = true;
        return EDXBUS_OK;
    }
    t->failed = cli_error(t->cli, CLI_FAIL, "cannot write to standard output: %s", strerror(errno));
    return EDXBUS_ERR_IO;
}

/* --from-time ISO: ms since the epoch (times before 1970 mean "from the first entry"). */
static bool time_arg(struct cli *cli, const char *text, int64_t *ms)
{
    char err[EDXBUS_ERRSTR_SIZE] = "";
    int64_t us = 0;
    if (edxbus_metadata_parse_time(text, strlen(text), &us, err, sizeof err) != EDXBUS_OK) {
        cli_error(cli, CLI_USAGE, "--from-time: %s", err);
        return false;
    }
    *ms = us < 0 ? 0 : us / 1000;
    return true;
}

/* Poll and print until a stop condition (see the top of the file). */
static int tail_loop(struct tail *t, edxbus_tail_t *tail, size_t batch_max, uint64_t max_events,
                     int64_t timeout_ms)
{
    int64_t idle_end = timeout_ms > 0 ? now_ms() + timeout_ms : -1;
    while (!stop_requested && !t->out_closed && (max_events == 0 || t->seen < max_events)) {
        int64_t slice = POLL_SLICE_MS;
        if (idle_end >= 0) {
            int64_t left = idle_end - now_ms();
            if (left <= 0)
                break;
            slice = left < slice ? left : slice;
        }
        size_t max = batch_max;
        if (max_events > 0 && max_events - t->seen < max)
            max = (size_t)(max_events - t->seen);
        char err[EDXBUS_ERRSTR_SIZE] = "";
        size_t got = 0;
        edxbus_err_t e = edxbus_tail_poll(tail, max, (int)slice, show, t, &got, err, sizeof err);
        if (t->failed != CLI_OK)
            return t->failed; /* show() reported it */
        if (e != EDXBUS_OK && stop_requested)
            break;
        if (e != EDXBUS_OK && !edxbus_err_is_retriable(e))
            return cli_error(t->cli, CLI_FAIL, "%s", err);
        if (e != EDXBUS_OK) {
            warn(t, "%s; retrying in %d ms", err, RETRY_SLEEP_MS);
            sleep_ms(RETRY_SLEEP_MS);
            continue;
        }
        if (got > 0 && idle_end >= 0)
            idle_end = now_ms() + timeout_ms;
    }
    return CLI_OK;
}

enum { OPT_TOPIC, OPT_FROM, OPT_FROM_TIME, OPT_MAX_EVENTS, OPT_TIMEOUT, OPT_CONFIG };

const struct cli_opt cmd_tail_opts[] = {
    [OPT_TOPIC] = {"topic", 't', "TOPIC", "topic as configured (or the one argument)"},
    [OPT_FROM] = {"from", 0, "POSITION",
                  "where to begin: latest (default: only new events),\n"
                  "earliest, or a position of the backend"},
    [OPT_FROM_TIME] = {"from-time", 0, "ISO",
                       "begin at the first event stored at or after this\n"
                       "time (2024-05-01T00:00:00+00:00)"},
    [OPT_MAX_EVENTS] = {"max-events", 'n', "N", "exit 0 after N entries"},
    [OPT_TIMEOUT] = {"timeout", 0, "SECONDS", "exit 0 after SECONDS with no new entry"},
    [OPT_CONFIG] = CLI_OPT_CONFIG,
    {NULL, 0, NULL, NULL},
};

int cmd_tail(struct cli *cli, int argc, char **argv)
{
    const char *topic = NULL, *from = NULL, *from_time = NULL, *config = NULL;
    uint64_t max_events = 0;
    int64_t timeout_ms = -1, start_time_ms = -1;
    struct cli_args args;
    cli_args_init(&args, argc, argv);
    int o;
    const char *value;
    while (cli_opt_next(cli, &args, &o, &value)) {
        if (o == OPT_FROM) {
            from = value;
        } else if (o == OPT_FROM_TIME) {
            from_time = value;
            if (!time_arg(cli, value, &start_time_ms))
                return CLI_USAGE;
        } else if (o == OPT_MAX_EVENTS) {
            if (!cli_count_arg(cli, "--max-events", value, &max_events))
                return CLI_USAGE;
        } else if (o == OPT_TIMEOUT) {
            if (!cli_seconds_arg(cli, "--timeout", value, &timeout_ms))
                return CLI_USAGE;
        } else if (o == OPT_CONFIG) {
            config = value;
        } else if (topic == NULL) { /* -t TOPIC or the positional TOPIC */
            topic = value;
        } else {
            return cli_error(cli, CLI_USAGE, "unexpected argument \"%s\"", value);
        }
    }
    if (args.exit_code >= 0)
        return args.exit_code;
    if (topic == NULL || topic[0] == '\0')
        return cli_error(cli, CLI_USAGE, "TOPIC is required (see edxbus tail --help)");
    if (from != NULL && from_time != NULL)
        return cli_error(cli, CLI_USAGE, "--from and --from-time cannot be used together");
    if (from != NULL && from[0] == '\0')
        return cli_error(cli, CLI_USAGE, "--from: empty; expected earliest, latest or a position");

    int rc = CLI_OK;
    edxbus_tail_t *tail = NULL;
    struct tail t = {.cli = cli, .failed = CLI_OK};
    edxbus_buf_init(&t.line);
    edxbus_bus_t *bus = NULL;
    edxbus_conf_t *conf = cli_conf_load(cli, config, &rc);
    if (conf == NULL)
        goto out;
    bus = cli_bus_new(cli, conf, &rc); /* takes conf */
    if (bus == NULL)
        goto out;

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal; /* no SA_RESTART: a blocking poll returns at once */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct edxbus_tail_config tcfg = {
        .topic = topic,
        .start = from != NULL ? from : "latest",
        .start_time_ms = start_time_ms,
    };
    char err[EDXBUS_ERRSTR_SIZE] = "";
    edxbus_err_t e = edxbus_tail_open(bus, &tcfg, &tail, err, sizeof err);
    if (e != EDXBUS_OK) {
        rc = cli_error(cli,
                       e == EDXBUS_ERR_INVALID_ARG || e == EDXBUS_ERR_CONF ? CLI_USAGE : CLI_FAIL,
                       "%s", err);
        goto out;
    }
    int64_t batch = edxbus_conf_get_int(edxbus_bus_conf(bus), "EVENT_BUS_CONSUMER_BATCH_SIZE", 16);
    rc = tail_loop(&t, tail, batch < 1 ? 1 : (size_t)batch, max_events, timeout_ms);

out:
    edxbus_tail_close(tail);
    edxbus_buf_fini(&t.line);
    edxbus_bus_destroy(bus);
    return rc;
}
