/* cli/cmd_bridge.c — `edxbus bridge --from-config A.yaml -t TOPIC -g GROUP --to-config B.yaml`:
 * consume a topic on one bus and produce each event to another (bridge.h).
 *
 * Both settings files are read as every bus command reads one (then environment variables
 * named like settings, which so apply to both sides). Quiet on success; SIGINT/SIGTERM finish
 * the current event, acknowledge it and exit 0.
 */
#include <inttypes.h>
#include <signal.h>
#include <string.h>

#include "cli_bus.h"

static volatile sig_atomic_t stop_requested;

static void on_stop_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

enum {
    OPT_FROM,
    OPT_TO,
    OPT_TO_URL,
    OPT_TOPIC,
    OPT_GROUP,
    OPT_TO_TOPIC,
    OPT_EXTRA,
    OPT_MAX_EVENTS,
    OPT_METRICS,
};

const struct cli_opt cmd_bridge_opts[] = {
    [OPT_FROM] = {"from-config", 0, "FILE", "settings of the source bus (YAML)"},
    [OPT_TO] = {"to-config", 0, "FILE", "settings of the destination bus (YAML)"},
    [OPT_TO_URL] = {"to", 0, "URL",
                    "instead of --to-config: POST each event as a CloudEvent\nto this "
                    "http(s) endpoint (auth: EVENT_BUS_BRIDGE_HTTP_TOKEN\nor _BASIC_AUTH "
                    "in the source settings)"},
    [OPT_TOPIC] = {"topic", 't', "TOPIC", "source topic as configured (without the prefix)"},
    [OPT_GROUP] = {"group", 'g', "GROUP", "source consumer group"},
    [OPT_TO_TOPIC] = {"to-topic", 0, "TOPIC", "destination topic (default: the source topic)"},
    [OPT_EXTRA] = {"extra", 0, "JSON",
                   "the source consumer's options, as consume --extra\n"
                   "({\"start\": \"earliest\"} for a new group to start at the oldest)"},
    [OPT_MAX_EVENTS] = {"max-events", 'n', "N", "exit 0 after N events"},
    [OPT_METRICS] = CLI_OPT_METRICS_ADDRESS,
    {NULL, 0, NULL, NULL},
};

int cmd_bridge(struct cli *cli, int argc, char **argv)
{
    const char *from = NULL, *to = NULL, *to_url = NULL, *topic = NULL, *group = NULL, *to_topic = NULL;
    const char *extra_arg = NULL, *metrics_address = NULL;
    uint64_t max_events = 0;
    struct cli_args args;
    cli_args_init(&args, argc, argv);
    int o;
    const char *value;
    while (cli_opt_next(cli, &args, &o, &value)) {
        switch (o) {
        case OPT_FROM:
            from = value;
            break;
        case OPT_TO:
            to = value;
            break;
        case OPT_TO_URL:
            to_url = value;
            break;
        case OPT_TOPIC:
            topic = value;
            break;
        case OPT_GROUP:
            group = value;
            break;
        case OPT_TO_TOPIC:
            to_topic = value;
            break;
        case OPT_EXTRA:
            extra_arg = value;
            break;
        case OPT_MAX_EVENTS:
            if (!cli_count_arg(cli, "--max-events", value, &max_events))
                return CLI_USAGE;
            break;
        case OPT_METRICS:
            metrics_address = value;
            break;
        default:
            return cli_error(cli, CLI_USAGE, "unexpected argument \"%s\"", value);
        }
    }
    if (args.exit_code >= 0)
        return args.exit_code;
    if (from == NULL || (to == NULL) == (to_url == NULL) || topic == NULL || group == NULL)
        return cli_error(cli, CLI_USAGE,
                         "--from-config, -t TOPIC, -g GROUP and one of --to-config or --to URL "
                         "are required (see edxbus bridge --help)");

    int rc = CLI_OK;
    json_t *extra = NULL;
    if (extra_arg != NULL) {
        extra = cli_json_arg(cli, "--extra", extra_arg);
        if (extra == NULL || !json_is_object(extra)) {
            json_decref(extra);
            return cli_error(cli, CLI_USAGE, "--extra: expected a JSON object, e.g. "
                                             "{\"start\": \"earliest\"}");
        }
    }
    edxbus_conf_t *to_conf = to != NULL ? cli_conf_load(cli, to, &rc) : NULL;
    edxbus_conf_t *from_conf = to_conf != NULL || to == NULL ? cli_conf_load(cli, from, &rc) : NULL;
    edxbus_metrics_server_t *srv = NULL;
    if (from_conf != NULL && !cli_metrics_start(cli, from_conf, metrics_address, &srv, &rc)) {
        edxbus_conf_destroy(from_conf);
        from_conf = NULL;
    }
    edxbus_bus_t *bus = from_conf != NULL ? cli_bus_new(cli, from_conf, &rc) : NULL;
    if (bus == NULL)
        goto out;

    cli_on_stop_signals(on_stop_signal);

    struct edxbus_bridge_config cfg = {
        .topic = topic,
        .group = group,
        .to_topic = to_topic,
        .to_url = to_url,
        .extra = extra,
        .max_events = max_events,
        .stop = &stop_requested,
    };
    char err[EDXBUS_ERRSTR_SIZE] = "";
    uint64_t n = 0;
    edxbus_err_t e = edxbus_bridge_run(bus, to_conf, &cfg, &n, err, sizeof err);
    if (e != EDXBUS_OK)
        rc = cli_error(cli, cli_exit_code(e), "%s (%" PRIu64 " events forwarded before)", err, n);
out:
    edxbus_bus_destroy(bus);
    edxbus_metrics_server_stop(srv);
    edxbus_conf_destroy(to_conf);
    json_decref(extra);
    return rc;
}
