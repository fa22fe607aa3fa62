/* cli/cmd_produce.c — `edxbus produce`: send events through their signal and the producer.
 *
 * The command is openedx-events' produce_event: it builds a bus whose EVENT_BUS_PRODUCER_CONFIG
 * routes exactly one event type to exactly one topic (with --key-field; without --topic, the
 * settings' own EVENT_BUS_PRODUCER_CONFIG routes it), then sends each event
 * with edxbus_send_event(), so the data is checked against the schema, the metadata generated
 * and the producer's receiver puts it on the broker as any service's send would. Each event
 * gets its own metadata; --metadata overrides any of its seven fields.
 *
 * Input: --data JSON (one event), or --data @FILE holding one JSON object or JSON lines (one
 * event per line; "-" reads standard input). --count N sends each N times. More than one event
 * is produced asynchronously and flushed at the end; --print-ids prints each event id once the
 * broker holds it, straight to stdout (so a failure part way still shows what was delivered).
 * A long run on a terminal shows progress on stderr (not with -q).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_bus.h"

#define PROGRESS_EVERY 1000

struct produce {
    struct cli *cli;
    edxbus_bus_t *bus;
    const char *type;
    json_t *metadata; /* --metadata object, or NULL */
    bool print_ids;
    bool key_given; /* --key-field was given */
    bool progress;  /* stderr is a terminal and the run is long */
    uint64_t total; /* events to send (0: unknown) */
    uint64_t sent, delivered, failed;
    uint64_t unknown; /* of failed: written, never confirmed (may or may not be stored) */
    bool sending;     /* library log lines are shown */
    char first_error[EDXBUS_ERRSTR_SIZE];
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
    if (p->progress && p->delivered % PROGRESS_EVERY == 0)
        fprintf(stderr, "\rdelivered %llu/%llu", (unsigned long long)p->delivered,
                (unsigned long long)p->total);
}

/* Send one event; @p where names it in errors ("line 3"). Returns an exit code. */
static int send_one(struct produce *p, const json_t *data, const char *where, bool async)
{
    char err[EDXBUS_ERRSTR_SIZE] = "";
    struct edxbus_receiver_result res[4];
    struct edxbus_send_report rep = {.results = res, .cap = 4};
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
        } else {
            e = edxbus_send_event(p->bus, p->type, data, 0, &rep, err, sizeof err);
        }
        /* A full queue: let it drain, then send again (the failed send sent nothing). */
        bool full = false;
        for (size_t i = 0; e == EDXBUS_ERR_RECEIVER && i < rep.ncalled && i < rep.cap; i++)
            full = full || res[i].err == EDXBUS_ERR_QUEUE_FULL;
        if (full && async) {
            char ferr[EDXBUS_ERRSTR_SIZE];
            edxbus_bus_flush(p->bus, 60000, ferr, sizeof ferr);
            continue;
        }
        break;
    }
    if (e == EDXBUS_ERR_ENCODE || e == EDXBUS_ERR_UNSERIALIZABLE || e == EDXBUS_ERR_NOT_FOUND)
        return cli_error(p->cli, CLI_USAGE, "%s%s%s", where, where[0] ? ": " : "", err);
    /* The producer refused the event itself (its key: a --key-field that names no field, or a
     * record, or a nullable one; a null key in the data): the input's fault, said in its words
     * rather than as a failed receiver. Nothing was sent. */
    for (size_t i = 0; e == EDXBUS_ERR_RECEIVER && i < rep.ncalled && i < rep.cap; i++) {
        if (res[i].err == EDXBUS_ERR_ENCODE || res[i].err == EDXBUS_ERR_INVALID_ARG)
            return cli_error(p->cli, CLI_USAGE, "%s%s%s%s", where, where[0] ? ": " : "",
                             res[i].errstr, p->key_given ? " (check --key-field)" : "");
    }
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

/* The events of --data: one JSON object, or JSON lines. Returns a new array or NULL. */
static json_t *read_events(struct cli *cli, const char *arg)
{
    if (arg[0] != '@') {
        json_t *one = cli_json_arg(cli, "--data", arg);
        if (one == NULL)
            return NULL;
        json_t *list = json_array();
        json_array_append_new(list, one);
        return list;
    }
    struct edxbus_buf in = EDXBUS_BUF_INIT;
    if (cli_read_input(cli, arg + 1, &in) != CLI_OK) {
        edxbus_buf_fini(&in);
        return NULL;
    }
    edxbus_buf_terminate(&in);
    json_t *list = json_array();
    const char *text = in.data != NULL ? (const char *)in.data : "";
    json_t *whole = json_loads(text, 0, NULL);
    if (json_is_object(whole)) {
        json_array_append_new(list, whole);
    } else {
        json_decref(whole);
        size_t lineno = 0;
        for (const char *line = text; *line != '\0';) {
            const char *end = strchr(line, '\n');
            size_t len = end != NULL ? (size_t)(end - line) : strlen(line);
            lineno++;
            size_t k = 0;
            while (k < len && (line[k] == ' ' || line[k] == '\t' || line[k] == '\r'))
                k++;
            if (k < len) {
                json_error_t e;
                json_t *v = json_loadb(line, len, 0, &e);
                if (!json_is_object(v)) {
                    cli_error(cli, CLI_USAGE, "%s:%zu: %s", arg + 1, lineno,
                              v == NULL ? e.text : "expected a JSON object");
                    json_decref(v);
                    json_decref(list);
                    list = NULL;
                    break;
                }
                json_array_append_new(list, v);
            }
            line += len + (end != NULL ? 1 : 0);
        }
    }
    edxbus_buf_fini(&in);
    if (list != NULL && json_array_size(list) == 0) {
        cli_error(cli, CLI_USAGE, "%s: no events", arg + 1);
        json_decref(list);
        return NULL;
    }
    return list;
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
                  "(one event each; @- reads standard input)"},
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
    struct produce p = {.cli = cli, .type = type, .print_ids = print_ids, .key_given = key_given};
    json_t *events = read_events(cli, data_arg);
    if (events == NULL)
        return CLI_USAGE;
    if (md_arg != NULL) {
        p.metadata = cli_json_arg(cli, "--metadata", md_arg);
        if (p.metadata == NULL || !json_is_object(p.metadata)) {
            rc = cli_error(cli, CLI_USAGE,
                           "--metadata: expected a JSON object of metadata "
                           "fields, e.g. {\"source\": \"openedx/lms/web\"}");
            goto out_events;
        }
    }

    edxbus_conf_t *conf = cli_conf_load(cli, config, &rc);
    if (conf == NULL)
        goto out_events;
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
        goto out_events;
    }
    /* Every failure is reported once, by cli_error(); the library's warnings (a stalled
     * broker) are shown as they happen. */
    edxbus_conf_set_log(conf, log_while_sending, &p);
    p.bus = cli_bus_new(cli, conf, &rc);
    if (p.bus == NULL)
        goto out_events;
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

    p.total = count * json_array_size(events);
    bool async = p.total > 1;
    p.progress = async && p.total >= 5 * PROGRESS_EVERY && isatty(2) && cli->verbosity >= 0;
    if (async)
        edxbus_producer_set_delivery_cb(edxbus_bus_producer(p.bus), on_delivery, &p);
    p.sending = true;
    for (uint64_t c = 0; c < count && rc == CLI_OK; c++) {
        for (size_t i = 0; i < json_array_size(events) && rc == CLI_OK; i++) {
            char where[64] = "";
            if (json_array_size(events) > 1)
                snprintf(where, sizeof where, "event %zu", i + 1);
            rc = send_one(&p, json_array_get(events, i), where, async);
        }
    }
    if (async) {
        e = edxbus_bus_flush(p.bus, 120000, err, sizeof err);
        if (p.progress)
            fprintf(stderr, "\rdelivered %llu/%llu\n", (unsigned long long)p.delivered,
                    (unsigned long long)p.total);
        if (rc == CLI_OK && p.failed == 0 && e != EDXBUS_OK)
            rc = cli_error(cli, CLI_FAIL, "flush: %s", err);
        if (rc == CLI_OK && p.failed > 0)
            rc = cli_error(cli, CLI_FAIL,
                           "%llu of %llu events delivered; %llu not delivered, %llu of them not "
                           "confirmed (the broker may or may not hold them); first: %s",
                           (unsigned long long)p.delivered, (unsigned long long)p.sent,
                           (unsigned long long)p.failed, (unsigned long long)p.unknown,
                           p.first_error);
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
out_events:
    json_decref(p.metadata);
    json_decref(events);
    return rc;
}
