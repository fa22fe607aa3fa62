/* cli/cmd_produce.c — `edxbus produce`: send events through their signal and the producer.
 *
 * The command is openedx-events' produce_event: it builds a bus whose EVENT_BUS_PRODUCER_CONFIG
 * routes exactly one event type to exactly one topic (with --key-field; without --topic, the
 * settings' own EVENT_BUS_PRODUCER_CONFIG routes it), then sends each event
 * with edxbus_send_event(), so the data is checked against the schema, the metadata generated
 * and the producer's receiver puts it on the broker as any service's send would. Each event
 * gets its own metadata; --metadata overrides any of its seven fields.
 *
 * Input (produce_input.c): --data JSON (one event), or --data @FILE holding one JSON object or
 * JSON lines ("-" reads standard input, spooled to a temporary file). The input is read as a
 * stream, twice: a first pass checks every event (schema, custom types, the key path, the
 * --metadata) and reports every bad line by number, so that a file with a bad line sends
 * nothing; a second pass sends. --count N sends each N times (one event: encoded once, its bytes
 * sent N times). More than one event is produced
 * asynchronously (the pipelined producer) and flushed at the end; --print-ids prints each event
 * id once the broker holds it, straight to stdout (so a failure part way still shows what was
 * delivered). Memory does not grow with the file. On a terminal, a long run shows progress on
 * stderr (lines checked, events sent, rate; not with -q).
 *
 * SIGINT / SIGTERM: reading stops, what was sent is flushed, and the command says how many
 * events were delivered, which failed and from which line on nothing was sent; it exits 130 /
 * 143 (128 + the signal). A second signal ends the process at once.
 */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli_bus.h"
#include "produce_input.h"

#define PROGRESS_MIN_EVENTS 5000 /* a run this long shows progress on a terminal */
#define PROGRESS_EVERY_MS 250
#define BAD_LINES_SHOWN 20 /* bad lines named one by one; the rest are counted */

static volatile sig_atomic_t stop_signal; /* the SIGINT / SIGTERM received, or 0 */

static void on_stop_signal(int sig)
{
    stop_signal = sig; /* SA_RESETHAND: a second one ends the process */
}

struct produce {
    struct cli *cli;
    edxbus_bus_t *bus;
    const char *type;
    json_t *metadata; /* --metadata object, or NULL */
    bool print_ids;
    bool key_given; /* --key-field was given */
    bool tty;       /* stderr is a terminal: progress for long runs */
    bool progress;  /* progress is being shown (a line to end on stderr) */
    uint64_t total; /* events to send */
    uint64_t sent, delivered, failed;
    uint64_t unknown; /* of failed: written, never confirmed (may or may not be stored) */
    bool sending;     /* library log lines are shown */
    char first_error[EDXBUS_ERRSTR_SIZE];
    int64_t start_ms, shown_ms; /* the send pass's start, the last progress line */
};

/* While sending, the library's warnings and info lines (a broker that stalls) go to stderr as
 * every command's do (-q, -v). Not repeated: its error lines (a failure cli_error() reports
 * once at the end), the outbox relay's (the command says itself what waits in the outbox), and
 * before sending what it would say (an inactive producer, reported the same way). */
static void log_while_sending(edxbus_log_level_t level, const char *line, void *opaque)
{
    struct produce *p = opaque;
    if (p->sending && level != EDXBUS_LOG_ERROR && strncmp(line, "outbox relay:", 13) != 0)
        cli_log_to_stderr(level, line, p->cli);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The progress line, at most every PROGRESS_EVERY_MS (always when @p last). */
static void show_progress(struct produce *p, bool last)
{
    if (!p->progress)
        return;
    int64_t now = now_ms();
    if (!last && now - p->shown_ms < PROGRESS_EVERY_MS)
        return;
    p->shown_ms = now;
    double secs = (double)(now - p->start_ms) / 1000.0;
    fprintf(stderr, "\rsent %llu/%llu, delivered %llu, %.0f events/s  ",
            (unsigned long long)p->sent, (unsigned long long)p->total,
            (unsigned long long)p->delivered, secs > 0 ? (double)p->delivered / secs : 0.0);
    if (last)
        fputc('\n', stderr);
}

static void on_delivery(void *opaque, const struct edxbus_delivery *d)
{
    struct produce *p = opaque;
    if (d->err != EDXBUS_OK) {
        if (d->err == EDXBUS_ERR_TIMEOUT)
            p->unknown++;
        if (p->failed++ == 0)
            snprintf(p->first_error, sizeof p->first_error, "event %s: %s", d->event_id, d->errstr);
        return;
    }
    p->delivered++;
    if (p->print_ids) {
        fputs(d->event_id, stdout);
        fputc('\n', stdout);
    }
    show_progress(p, false);
}

/* Where an event came from, for messages: "events.jsonl:12", "events.json", or "". */
static void where_of(const struct produce_input *in, char *out, size_t size)
{
    if (in->f != NULL)
        snprintf(out, size, "%s:%zu", in->name, in->lineno);
    else
        snprintf(out, size, "%s", in->name);
}

/* Send one event of @p in (named in errors: "events.jsonl:3"): @p data, or when @p encoded is
 * not NULL its Avro body already encoded (no --metadata). Returns an exit code. */
static int send_one(struct produce *p, const json_t *data, const struct edxbus_buf *encoded,
                    const struct produce_input *in, bool async)
{
    /* Not cleared with `= {0}` / `= ""`: the report holds a 1.6 kB metadata struct, and the
     * send sets what is read here. */
    char where[300], err[EDXBUS_ERRSTR_SIZE];
    where[0] = err[0] = '\0';
    struct edxbus_receiver_result res[4];
    struct edxbus_send_report rep;
    rep.results = res;
    rep.cap = 4;
    edxbus_err_t e;
    for (;;) {
        if (p->metadata != NULL) {
            struct edxbus_metadata md;
            edxbus_signal_t *sig = edxbus_bus_signal(p->bus, p->type);
            const edxbus_event_type_t *et = edxbus_signal_event_type(sig);
            e = edxbus_metadata_generate(&md, p->type, edxbus_event_type_minor_version(et),
                                         edxbus_conf_service_name(edxbus_bus_conf(p->bus)), err,
                                         sizeof err);
            if (e == EDXBUS_OK)
                e = edxbus_metadata_from_json_value(&md, p->metadata, err, sizeof err);
            if (e != EDXBUS_OK)
                return cli_error(p->cli, CLI_USAGE, "--metadata: %s", err);
            if (strcmp(md.event_type, p->type) != 0)
                return cli_error(p->cli, CLI_USAGE,
                                 "--metadata: event_type \"%s\" differs from --event-type %s",
                                 md.event_type, p->type);
            e = edxbus_send_event_with_custom_metadata(p->bus, &md, data, EDXBUS_SEND_OWN_METADATA,
                                                       &rep, err, sizeof err);
        } else if (encoded != NULL) {
            e = edxbus_signal_send_encoded(edxbus_bus_signal(p->bus, p->type), encoded->data,
                                           encoded->len, 0, &rep, err, sizeof err);
        } else {
            e = edxbus_send_event(p->bus, p->type, data, 0, &rep, err, sizeof err);
        }
        /* A full queue: let it drain, then send again (the failed send sent nothing). */
        bool full = false;
        for (size_t i = 0; e != EDXBUS_OK && i < rep.ncalled && i < rep.cap; i++)
            full = full || res[i].err == EDXBUS_ERR_QUEUE_FULL;
        if (full && async) {
            char ferr[EDXBUS_ERRSTR_SIZE];
            edxbus_bus_flush(p->bus, 60000, ferr, sizeof ferr);
            continue;
        }
        break;
    }
    if (e != EDXBUS_OK) /* named only when it failed: sends are the hot path */
        where_of(in, where, sizeof where);
    /* The producer refused the event itself (its key: a --key-field that names no field, or a
     * record, or a nullable one; a null key in the data): the input's fault, said in its words
     * rather than as a failed receiver. Nothing was sent. */
    for (size_t i = 0; e != EDXBUS_OK && i < rep.ncalled && i < rep.cap; i++) {
        if (res[i].err == EDXBUS_ERR_ENCODE || res[i].err == EDXBUS_ERR_INVALID_ARG)
            return cli_error(p->cli, CLI_USAGE, "%s%s%s%s", where, where[0] ? ": " : "",
                             res[i].errstr, p->key_given ? " (check --key-field)" : "");
    }
    if (e == EDXBUS_ERR_ENCODE || e == EDXBUS_ERR_UNSERIALIZABLE || e == EDXBUS_ERR_NOT_FOUND)
        return cli_error(p->cli, CLI_USAGE, "%s%s%s", where, where[0] ? ": " : "", err);
    if (e != EDXBUS_OK)
        return cli_error(p->cli, CLI_FAIL, "%s%s%s", where, where[0] ? ": " : "", err);
    p->sent++;
    if (!async) {
        p->delivered++;
        if (p->print_ids)
            printf("%s\n", rep.metadata.id);
    }
    return CLI_OK;
}

/* Whether @p data would be sent: the schema and custom types (the generic encoder, as the send
 * runs it) and the key path. @p why gets the reason. */
static bool check_event(const edxbus_event_type_t *et, const char *key, bool key_given,
                        const json_t *data, struct edxbus_buf *enc, char *why, size_t why_size)
{
    edxbus_buf_reset(enc);
    if (edxbus_event_encode(et, data, 0, enc, why, why_size) != EDXBUS_OK)
        return false;
    /* The path must lead somewhere in every event; what it may lead to (a string or an integer
     * field, not a record or a nullable one) depends on the schema only, and the producer
     * refuses it at the first send, before anything is sent. */
    const json_t *v = NULL;
    char kwhy[EDXBUS_ERRSTR_SIZE] = "";
    if (key != NULL && edxbus_routing_key(data, key, &v, kwhy, sizeof kwhy) != EDXBUS_OK) {
        snprintf(why, why_size, "%s%s", kwhy, key_given ? " (check --key-field)" : "");
        return false;
    }
    return true;
}

static int interrupted(struct cli *cli, const char *what)
{
    return cli_error(cli, 128 + stop_signal, "interrupted by %s %s; nothing was sent",
                     stop_signal == SIGINT ? "SIGINT" : "SIGTERM", what);
}

/* The first pass: every event of @p in checked as the send would check it, nothing sent. Every
 * bad line is counted and the first BAD_LINES_SHOWN named on stderr. Returns CLI_OK with
 * *@p n_events, or an exit code after reporting. */
static int check_all(struct cli *cli, const edxbus_event_type_t *et, const char *key,
                     bool key_given, struct produce_input *in, bool tty, uint64_t *n_events)
{
    struct edxbus_buf enc = EDXBUS_BUF_INIT;
    uint64_t good = 0, bad = 0;
    char first[EDXBUS_ERRSTR_SIZE + 300] = "";
    int64_t shown = now_ms();
    bool progress = false;
    int rc = CLI_OK;
    for (;;) {
        if (stop_signal != 0) {
            rc = interrupted(cli, "while checking the input");
            break;
        }
        json_t *data = NULL;
        char why[EDXBUS_ERRSTR_SIZE] = "";
        int r = produce_input_next(in, &data, why, sizeof why);
        if (r == PRODUCE_INPUT_END)
            break;
        if (r == PRODUCE_INPUT_IO) {
            rc = cli_error(cli, CLI_FAIL, "%s", why);
            break;
        }
        bool ok = r == PRODUCE_INPUT_EVENT &&
                  check_event(et, key, key_given, data, &enc, why, sizeof why);
        json_decref(data);
        if (ok) {
            good++;
        } else {
            char where[300];
            where_of(in, where, sizeof where);
            /* one bad event: one line (below); more: each named, then the count */
            if (++bad == 1)
                snprintf(first, sizeof first, "%s%s%s", where, where[0] ? ": " : "", why);
            if (bad == 2)
                fprintf(stderr, "%sedxbus %s: %s\n", progress ? "\n" : "", cli->path, first);
            if (bad >= 2 && bad <= BAD_LINES_SHOWN)
                fprintf(stderr, "edxbus %s: %s: %s\n", cli->path, where, why);
            progress = progress && bad < 2;
        }
        if (tty && in->f != NULL && (good + bad) % 4096 == 0 && now_ms() - shown >= 250) {
            shown = now_ms();
            progress = true;
            fprintf(stderr, "\rchecked %llu lines (%llu%%)  ", (unsigned long long)in->lineno,
                    in->size ? (unsigned long long)(in->bytes * 100 / in->size) : 0ULL);
        }
    }
    if (progress)
        fputc('\n', stderr);
    edxbus_buf_fini(&enc);
    if (rc != CLI_OK)
        return rc;
    if (bad == 1)
        return cli_error(cli, CLI_USAGE, "%s; nothing was sent", first);
    if (bad > 1)
        return cli_error(cli, CLI_USAGE, "%llu of %llu events in %s are bad%s; nothing was sent",
                         (unsigned long long)bad, (unsigned long long)(good + bad), in->name,
                         bad > BAD_LINES_SHOWN ? " (the first ones are named above)"
                                               : " (named above)");
    if (good == 0)
        return cli_error(cli, CLI_USAGE, "%s: no events", in->name);
    *n_events = good;
    return CLI_OK;
}

/* --count N of one event without --metadata: the event is read and encoded once, then its
 * bytes sent N times (each send makes its own metadata), as N sends of the data would after
 * encoding it N times to the same bytes (the first pass checked it). */
static int send_repeated(struct produce *p, struct produce_input *in, uint64_t count, bool async,
                         char *stopped_at, size_t stopped_size)
{
    json_t *data = NULL;
    char why[EDXBUS_ERRSTR_SIZE] = "";
    int rc = produce_input_rewind(p->cli, in);
    int r = rc == CLI_OK ? produce_input_next(in, &data, why, sizeof why) : PRODUCE_INPUT_END;
    struct edxbus_buf enc = EDXBUS_BUF_INIT;
    edxbus_err_t e = EDXBUS_ERR_ENCODE;
    if (r == PRODUCE_INPUT_EVENT)
        e = edxbus_event_encode(edxbus_signal_event_type(edxbus_bus_signal(p->bus, p->type)),
                                data, 0, &enc, why, sizeof why);
    if (rc == CLI_OK && e != EDXBUS_OK) { /* the input changed since it was checked */
        char where[300];
        where_of(in, where, sizeof where);
        rc = cli_error(p->cli, r == PRODUCE_INPUT_IO ? CLI_FAIL : CLI_USAGE,
                       "%s: %s (the input changed while it was being sent)", where, why);
    }
    for (uint64_t c = 0; c < count && rc == CLI_OK; c++) {
        if (stop_signal != 0) {
            where_of(in, stopped_at, stopped_size);
            break;
        }
        rc = send_one(p, data, &enc, in, async);
    }
    edxbus_buf_fini(&enc);
    json_decref(data);
    return rc;
}

/* The second pass, @p count times: every event of @p in sent. Stops at the first failure or at
 * SIGINT / SIGTERM (*@p stopped_at: where the first event not sent came from). */
static int send_all(struct produce *p, struct produce_input *in, uint64_t n_events,
                    uint64_t count, bool async, char *stopped_at, size_t stopped_size)
{
    if (n_events == 1 && count > 1 && p->metadata == NULL)
        return send_repeated(p, in, count, async, stopped_at, stopped_size);
    int rc = CLI_OK;
    for (uint64_t c = 0; c < count && rc == CLI_OK; c++) {
        rc = produce_input_rewind(p->cli, in);
        for (;;) {
            if (rc != CLI_OK)
                break;
            json_t *data = NULL;
            char why[EDXBUS_ERRSTR_SIZE] = "";
            int r = produce_input_next(in, &data, why, sizeof why);
            if (r == PRODUCE_INPUT_END)
                break;
            if (stop_signal != 0) {
                json_decref(data);
                where_of(in, stopped_at, stopped_size);
                return CLI_OK;
            }
            if (r == PRODUCE_INPUT_EVENT) {
                rc = send_one(p, data, NULL, in, async);
            } else { /* the file changed since it was checked */
                char where[300];
                where_of(in, where, sizeof where);
                rc = cli_error(p->cli, r == PRODUCE_INPUT_IO ? CLI_FAIL : CLI_USAGE,
                               "%s: %s (the input changed while it was being sent)", where, why);
            }
            json_decref(data);
        }
    }
    return rc;
}

/* --metadata: a JSON object of metadata fields, each valid, and no other event type. */
static int check_metadata(struct cli *cli, const edxbus_event_type_t *et, const char *type,
                          const char *arg, json_t **out)
{
    *out = cli_json_arg(cli, "--metadata", arg);
    if (*out == NULL)
        return CLI_USAGE;
    if (!json_is_object(*out))
        return cli_error(cli, CLI_USAGE,
                         "--metadata: expected a JSON object of metadata fields, e.g. "
                         "{\"source\": \"openedx/lms/web\"}");
    struct edxbus_metadata md;
    char err[EDXBUS_ERRSTR_SIZE] = "";
    edxbus_err_t e = edxbus_metadata_generate(&md, type, edxbus_event_type_minor_version(et),
                                              "edxbus", err, sizeof err);
    if (e == EDXBUS_OK)
        e = edxbus_metadata_from_json_value(&md, *out, err, sizeof err);
    if (e != EDXBUS_OK)
        return cli_error(cli, CLI_USAGE, "--metadata: %s", err);
    if (strcmp(md.event_type, type) != 0)
        return cli_error(cli, CLI_USAGE,
                         "--metadata: event_type \"%s\" differs from --event-type %s",
                         md.event_type, type);
    return CLI_OK;
}

enum {
    OPT_EVENT_TYPE,
    OPT_SIGNAL,
    OPT_TOPIC,
    OPT_KEY_FIELD,
    OPT_DATA,
    OPT_COUNT,
    OPT_METADATA,
    OPT_PRINT_IDS,
    OPT_CONFIG,
};

const struct cli_opt cmd_produce_opts[] = {
    [OPT_EVENT_TYPE] = {"event-type", 'e', "TYPE", "event type (org.openedx...v1)"},
    [OPT_SIGNAL] = {"signal", 0, "TYPE", "same as --event-type"},
    [OPT_TOPIC] = {"topic", 't', "TOPIC",
                   "topic as configured (without the prefix); default:\n"
                   "the topics EVENT_BUS_PRODUCER_CONFIG gives TYPE"},
    [OPT_KEY_FIELD] = {"key-field", 'k', "PATH", "dotted path of the key in the data"},
    [OPT_DATA] = {"data", 'd', "JSON|@FILE",
                  "the data; @FILE: one JSON object or JSON lines\n"
                  "(one event each; @- reads standard input, copied\n"
                  "to a temporary file first). Every line is checked\n"
                  "before any is sent; bad lines are named"},
    [OPT_COUNT] = {"count", 0, "N", "send each event N times (each with its own metadata)"},
    [OPT_METADATA] = {"metadata", 'm', "JSON",
                      "override metadata fields: id, source, sourcehost,\n"
                      "time, minorversion, sourcelib"},
    [OPT_PRINT_IDS] = {"print-ids", 0, NULL, "print each event id once the broker holds it"},
    [OPT_CONFIG] = CLI_OPT_CONFIG,
    {NULL, 0, NULL, NULL},
};

int cmd_produce(struct cli *cli, int argc, char **argv)
{
    const char *type = NULL, *topic = NULL, *key = NULL, *data_arg = NULL, *md_arg = NULL;
    const char *config = NULL;
    uint64_t count = 1;
    bool print_ids = false;
    struct cli_args args;
    cli_args_init(&args, argc, argv);
    int o;
    const char *value;
    while (cli_opt_next(cli, &args, &o, &value)) {
        switch (o) {
        case OPT_EVENT_TYPE:
        case OPT_SIGNAL:
            type = value;
            break;
        case OPT_TOPIC:
            topic = value;
            break;
        case OPT_KEY_FIELD:
            key = value;
            break;
        case OPT_DATA:
            data_arg = value;
            break;
        case OPT_COUNT:
            if (!cli_count_arg(cli, "--count", value, &count))
                return CLI_USAGE;
            break;
        case OPT_METADATA:
            md_arg = value;
            break;
        case OPT_PRINT_IDS:
            print_ids = true;
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
    if (type == NULL || data_arg == NULL)
        return cli_error(cli, CLI_USAGE,
                         "--event-type and --data are required "
                         "(see edxbus produce --help)");
    const edxbus_event_type_t *et = cli_find_event(cli, type);
    if (et == NULL)
        return CLI_USAGE;
    if (!edxbus_event_type_is_serializable(et))
        return cli_error(cli, CLI_USAGE, "%s cannot be put on a bus: %s", type,
                         edxbus_event_type_unserializable_reason(et));
    bool key_given = key != NULL;
    if (key == NULL)
        key = edxbus_event_type_key_field(et);
    if (key == NULL && topic != NULL)
        return cli_error(cli, CLI_USAGE, "%s has no default key field; give --key-field", type);

    int rc = CLI_OK;
    struct produce p = {
        .cli = cli, .type = type, .print_ids = print_ids, .key_given = key_given, .tty = isatty(2)};
    struct produce_input in;
    rc = produce_input_open(cli, data_arg, &in);
    if (rc != CLI_OK)
        goto out_input;
    if (md_arg != NULL && (rc = check_metadata(cli, et, type, md_arg, &p.metadata)) != CLI_OK)
        goto out_input;

    stop_signal = 0;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sa.sa_flags = SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    /* First pass: nothing is sent unless every event is good. */
    uint64_t n_events = 0;
    rc = check_all(cli, et, key, key_given, &in, p.tty && cli->verbosity >= 0, &n_events);
    if (rc != CLI_OK)
        goto out_input;

    edxbus_conf_t *conf = cli_conf_load(cli, config, &rc);
    if (conf == NULL)
        goto out_input;
    /* Route exactly this event type to exactly this topic; without --topic, as the settings'
     * EVENT_BUS_PRODUCER_CONFIG says. */
    char err[EDXBUS_ERRSTR_SIZE] = "";
    edxbus_err_t e = EDXBUS_OK;
    if (topic != NULL) {
        json_t *routing =
            json_pack("{s:{s:{s:s, s:b}}}", type, topic, "event_key_field", key, "enabled", 1);
        e = edxbus_conf_set_json(conf, "EVENT_BUS_PRODUCER_CONFIG", routing, err, sizeof err);
        json_decref(routing);
    }
    if (e != EDXBUS_OK) {
        edxbus_conf_destroy(conf);
        rc = cli_error(cli, CLI_USAGE, "%s", err);
        goto out_input;
    }
    /* Every failure is reported once, by cli_error(); the library's warnings (a stalled
     * broker) are shown as they happen. */
    edxbus_conf_set_log(conf, log_while_sending, &p);
    edxbus_conf_set_log_level(conf, cli_log_shown(cli));
    p.bus = cli_bus_new(cli, conf, &rc);
    if (p.bus == NULL)
        goto out_input;
    if (edxbus_bus_producer(p.bus) == NULL) {
        const char *why = edxbus_bus_producer_problem(p.bus);
        if (why != NULL)
            rc = cli_error(cli, CLI_FAIL, "no producer: %s", why);
        else
            rc =
                cli_error(cli, CLI_USAGE, "EVENT_BUS_PRODUCER_CONFIG routes nothing; give --topic");
        goto out_bus;
    }
    if (edxbus_signal_receiver_count(edxbus_bus_signal(p.bus, type)) == 0) {
        rc = cli_error(cli, CLI_USAGE,
                       "EVENT_BUS_PRODUCER_CONFIG does not route %s; give --topic or add it", type);
        goto out_bus;
    }

    /* Second pass: send. */
    p.total = count * n_events;
    bool async = p.total > 1;
    p.progress = async && p.tty && p.total >= PROGRESS_MIN_EVENTS && cli->verbosity >= 0;
    p.start_ms = p.shown_ms = now_ms();
    if (async)
        edxbus_producer_set_delivery_cb(edxbus_bus_producer(p.bus), on_delivery, &p);
    p.sending = true;
    char stopped_at[300] = "";
    rc = send_all(&p, &in, n_events, count, async, stopped_at, sizeof stopped_at);
    if (async) {
        e = edxbus_bus_flush(p.bus, 120000, err, sizeof err);
        show_progress(&p, true);
        if (stop_signal != 0 && rc == CLI_OK) {
            char rest[400] = "";
            if (stopped_at[0] != '\0')
                snprintf(rest, sizeof rest, "; nothing sent from %s on", stopped_at);
            rc = cli_error(cli, 128 + stop_signal,
                           "interrupted by %s: %llu of %llu events sent, %llu delivered, %llu "
                           "not delivered%s%s%s%s",
                           stop_signal == SIGINT ? "SIGINT" : "SIGTERM", (unsigned long long)p.sent,
                           (unsigned long long)p.total, (unsigned long long)p.delivered,
                           (unsigned long long)(p.sent - p.delivered),
                           p.failed > 0 ? " (first failure: " : "",
                           p.failed > 0 ? p.first_error : "", p.failed > 0 ? ")" : "", rest);
        }
        if (rc == CLI_OK && p.failed == 0 && e != EDXBUS_OK)
            rc = cli_error(cli, CLI_FAIL, "flush: %s", err);
        if (rc == CLI_OK && p.failed > 0)
            rc = cli_error(cli, CLI_FAIL,
                           "%llu of %llu events delivered; %llu not delivered, %llu of them not "
                           "confirmed (the broker may or may not hold them); first: %s",
                           (unsigned long long)p.delivered, (unsigned long long)p.sent,
                           (unsigned long long)p.failed, (unsigned long long)p.unknown,
                           p.first_error);
    } else if (stop_signal != 0 && rc == CLI_OK && p.sent == 0) {
        rc = interrupted(cli, "before sending");
    }
    edxbus_producer_t *prod = edxbus_bus_producer(p.bus);
    if (rc == CLI_OK && edxbus_producer_has_outbox(prod)) {
        /* Every event is durable in the outbox: success. Give the relay a moment, then say
         * what is left for `edxbus relay`. */
        uint64_t waiting = 0;
        double drain_s =
            edxbus_conf_get_double(edxbus_bus_conf(p.bus), "EVENT_BUS_OUTBOX_DRAIN_TIMEOUT", 5.0);
        e = edxbus_producer_outbox_drain(prod, (int)(drain_s * 1000), &waiting, err, sizeof err);
        if (e != EDXBUS_OK)
            fprintf(stderr,
                    "edxbus produce: the events are in the outbox, but it cannot be read: "
                    "%s\n",
                    err);
        else if (waiting > 0)
            fprintf(stderr,
                    "edxbus produce: %llu events wait in the outbox %s; `edxbus relay` will "
                    "send them\n",
                    (unsigned long long)waiting, edxbus_outbox_path(edxbus_bus_conf(p.bus)));
    }
    if (fflush(stdout) != 0 && rc == CLI_OK)
        rc = cli_error(cli, CLI_FAIL, "cannot write to standard output");
out_bus:
    edxbus_bus_destroy(p.bus);
out_input:
    json_decref(p.metadata);
    produce_input_close(&in);
    return rc;
}
