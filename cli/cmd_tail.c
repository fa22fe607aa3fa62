/* cli/cmd_tail.c — `edxbus tail TOPIC`: watch a topic as entries arrive, without a group.
 *
 * The backend of EVENT_BUS_CONSUMER (else EVENT_BUS_PRODUCER, else sqlite) is opened in tail
 * mode (backend.h: consumer opts with group NULL): it reads and never acknowledges, so no group
 * is created, no group's position moves and nothing is left owed: tailing a live topic is safe.
 * Each entry is decoded with the bus's catalog (built-ins + EVENT_BUS_SCHEMA_PATH) and printed at
 * once, flushed, as the same line `consume --print` prints (cli_event_line()).
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

#define POLL_SLICE_MS 500    /* longest single poll: how late a stop request may be seen */
#define RETRY_SLEEP_MS 1000  /* wait after a retriable broker error */

static volatile sig_atomic_t stop_requested;

static void on_stop_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

/* A reader for values the broker says were written under another schema (Kafka). */
struct tail_resolver {
    const edxbus_event_type_t *et;
    char *text; /* the writer's schema text, the cache key */
    edxbus_avro_schema_t *writer;
    edxbus_avro_resolver_t *res;
};

struct tail {
    struct cli *cli;
    const edxbus_catalog_t *cat;
    struct edxbus_buf line;
    struct tail_resolver *resolvers;
    size_t nresolvers;
    bool out_closed; /* stdout's reader went away: stop quietly */
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

static const edxbus_avro_resolver_t *resolver_for(struct tail *t, const edxbus_event_type_t *et,
                                                  const char *text, char *errstr,
                                                  size_t errstr_size)
{
    for (size_t i = 0; i < t->nresolvers; i++)
        if (t->resolvers[i].et == et && strcmp(t->resolvers[i].text, text) == 0)
            return t->resolvers[i].res;
    struct tail_resolver *grown = realloc(t->resolvers, (t->nresolvers + 1) * sizeof *t->resolvers);
    if (grown == NULL) {
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    t->resolvers = grown;
    char err[EDXBUS_ERRSTR_SIZE] = "";
    struct tail_resolver r = {.et = et, .text = strdup(text)};
    r.writer = edxbus_avro_schema_parse(text, strlen(text), err, sizeof err);
    if (r.writer != NULL)
        r.res = edxbus_avro_resolver_new(r.writer, edxbus_event_type_schema(et), err, sizeof err);
    if (r.text == NULL || r.res == NULL) {
        snprintf(errstr, errstr_size, "writer schema does not resolve to %s: %s",
                 edxbus_event_type_name(et), r.text == NULL ? "out of memory" : err);
        edxbus_avro_resolver_destroy(r.res);
        edxbus_avro_schema_destroy(r.writer);
        free(r.text);
        return NULL;
    }
    t->resolvers[t->nresolvers++] = r;
    return r.res;
}

/* The line of @p msg into t->line, or a reason in @p why when it cannot be shown. */
static edxbus_err_t format_msg(struct tail *t, const struct edxbus_msg *msg, char *why,
                               size_t why_size)
{
    char errstr[EDXBUS_ERRSTR_SIZE] = "";
    if (msg->unusable != NULL || msg->metadata == NULL) {
        snprintf(why, why_size, "unusable entry: %s",
                 msg->unusable != NULL ? msg->unusable : "no metadata");
        return EDXBUS_ERR_DECODE;
    }
    const struct edxbus_metadata *md = msg->metadata;
    const edxbus_event_type_t *et = edxbus_catalog_find(t->cat, md->event_type);
    if (et == NULL) {
        snprintf(why, why_size, "unknown event type \"%.200s\" (see edxbus events list)",
                 md->event_type);
        return EDXBUS_ERR_DECODE;
    }
    edxbus_err_t err;
    if (msg->value_schema != NULL) {
        json_t *data = NULL;
        const edxbus_avro_resolver_t *res =
            resolver_for(t, et, msg->value_schema, errstr, sizeof errstr);
        err = res == NULL ? EDXBUS_ERR_DECODE
                          : edxbus_avro_resolver_decode(res, msg->value, msg->value_len, &data,
                                                        errstr, sizeof errstr);
        if (err == EDXBUS_OK)
            err = cli_event_line(md, et, data, NULL, 0, &t->line, errstr, sizeof errstr);
        json_decref(data);
    } else {
        err = cli_event_line(md, et, NULL, msg->value, msg->value_len, &t->line, errstr,
                             sizeof errstr);
    }
    if (err != EDXBUS_OK)
        snprintf(why, why_size, "undecodable value: %s", errstr);
    return err;
}

/* Print @p msg, or warn about it. CLI_OK, or an exit code after reporting. */
static int show(struct tail *t, const struct edxbus_msg *msg)
{
    char why[EDXBUS_ERRSTR_SIZE + 64] = "";
    edxbus_err_t err = format_msg(t, msg, why, sizeof why);
    if (err == EDXBUS_ERR_NOMEM)
        return cli_nomem(t->cli);
    if (err != EDXBUS_OK) {
        warn(t, "%s position %s: %s; skipped", msg->topic, msg->position, why);
        return CLI_OK;
    }
    if (fwrite(t->line.data, 1, t->line.len, stdout) == t->line.len && fflush(stdout) == 0)
        return CLI_OK;
    if (errno == EPIPE) {
        t->out_closed = true;
        return CLI_OK;
    }
    return cli_error(t->cli, CLI_FAIL, "cannot write to standard output: %s", strerror(errno));
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

/* The backend EVENT_BUS_CONSUMER names (else EVENT_BUS_PRODUCER, else the embedded one). */
static const struct edxbus_backend_ops *tail_backend(struct cli *cli, const edxbus_conf_t *conf)
{
    const char *setting = "EVENT_BUS_CONSUMER";
    const char *name = edxbus_conf_get_str(conf, setting, NULL);
    if (name == NULL || name[0] == '\0') {
        setting = "EVENT_BUS_PRODUCER";
        name = edxbus_conf_get_str(conf, setting, NULL);
    }
    if (name == NULL || name[0] == '\0')
        name = "sqlite";
    char err[EDXBUS_ERRSTR_SIZE] = "";
    const struct edxbus_backend_ops *ops = edxbus_backend_find(name, setting, err, sizeof err);
    if (ops == NULL) {
        cli_error(cli, CLI_USAGE, "%s", err);
        return NULL;
    }
    if (ops->consumer_open == NULL || ops->poll == NULL || ops->consumer_close == NULL) {
        cli_error(cli, CLI_FAIL, "%s: backend %s cannot consume", setting, ops->name);
        return NULL;
    }
    return ops;
}

/* Poll and print until a stop condition (see the top of the file). */
static int tail_loop(struct tail *t, const struct edxbus_backend_ops *ops, void *be,
                     size_t batch_max, uint64_t max_events, int64_t timeout_ms)
{
    uint64_t seen = 0;
    int64_t idle_end = timeout_ms > 0 ? now_ms() + timeout_ms : -1;
    while (!stop_requested && !t->out_closed && (max_events == 0 || seen < max_events)) {
        int64_t slice = POLL_SLICE_MS;
        if (idle_end >= 0) {
            int64_t left = idle_end - now_ms();
            if (left <= 0)
                break;
            slice = left < slice ? left : slice;
        }
        size_t max = batch_max;
        if (max_events > 0 && max_events - seen < max)
            max = (size_t)(max_events - seen);
        char err[EDXBUS_ERRSTR_SIZE] = "";
        struct edxbus_batch b = {0};
        edxbus_err_t e = ops->poll(be, &b, max, (int)slice, err, sizeof err);
        if (e != EDXBUS_OK && stop_requested)
            break;
        if (e != EDXBUS_OK && !edxbus_err_is_retriable(e))
            return cli_error(t->cli, CLI_FAIL, "%s", err);
        if (e != EDXBUS_OK) {
            warn(t, "%s; retrying in %d ms", err, RETRY_SLEEP_MS);
            sleep_ms(RETRY_SLEEP_MS);
            continue;
        }
        for (size_t i = 0; i < b.n && !t->out_closed; i++) {
            int rc = show(t, &b.msgs[i]);
            if (rc != CLI_OK)
                return rc;
            seen++;
        }
        if (b.n > 0 && idle_end >= 0)
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
    void *be = NULL;
    const struct edxbus_backend_ops *ops = NULL;
    struct edxbus_buf full = EDXBUS_BUF_INIT;
    struct tail t = {.cli = cli};
    edxbus_buf_init(&t.line);
    edxbus_bus_t *bus = NULL;
    edxbus_conf_t *conf = cli_conf_load(cli, config, &rc);
    if (conf == NULL)
        goto out;
    bus = cli_bus_new(cli, conf, &rc); /* takes conf */
    if (bus == NULL)
        goto out;
    const edxbus_conf_t *bconf = edxbus_bus_conf(bus);
    t.cat = edxbus_bus_catalog(bus);
    ops = tail_backend(cli, bconf);
    if (ops == NULL) {
        rc = cli->error_code;
        goto out;
    }
    if (edxbus_routing_full_topic(edxbus_conf_get_str(bconf, "EVENT_BUS_TOPIC_PREFIX", NULL), topic,
                                  &full) != EDXBUS_OK ||
        edxbus_buf_terminate(&full) != EDXBUS_OK) {
        rc = cli_nomem(cli);
        goto out;
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal; /* no SA_RESTART: a blocking poll returns at once */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct edxbus_consumer_opts copts = {
        .topic = (const char *)full.data,
        .group = NULL, /* tail mode */
        .start = from != NULL ? from : "latest",
        .start_time_ms = start_time_ms,
    };
    char err[EDXBUS_ERRSTR_SIZE] = "";
    edxbus_err_t e = ops->consumer_open(bconf, &copts, &be, err, sizeof err);
    if (e != EDXBUS_OK) {
        be = NULL;
        rc = cli_error(cli, e == EDXBUS_ERR_INVALID_ARG ? CLI_USAGE : CLI_FAIL, "%s", err);
        goto out;
    }
    int64_t batch = edxbus_conf_get_int(bconf, "EVENT_BUS_CONSUMER_BATCH_SIZE", 16);
    rc = tail_loop(&t, ops, be, batch < 1 ? 1 : (size_t)batch, max_events, timeout_ms);

out:
    if (be != NULL)
        ops->consumer_close(be);
    for (size_t i = 0; i < t.nresolvers; i++) {
        edxbus_avro_resolver_destroy(t.resolvers[i].res);
        edxbus_avro_schema_destroy(t.resolvers[i].writer);
        free(t.resolvers[i].text);
    }
    free(t.resolvers);
    edxbus_buf_fini(&t.line);
    edxbus_buf_fini(&full);
    edxbus_bus_destroy(bus);
    return rc;
}
