/* cli/cmd_relay.c — `edxbus relay [--once] [--timeout S]`: forward the outbox to the broker.
 *
 * Runs a relay (outbox.h) on EVENT_BUS_OUTBOX_PATH towards EVENT_BUS_PRODUCER. Without --once it
 * forwards until SIGINT/SIGTERM (exit 0). With --once it forwards what is there and exits 0 when
 * the outbox is empty, or 1 with one line when the broker stayed unreachable for --timeout
 * seconds (default 30). Quiet on success unless the library logs a state change (broker lost,
 * broker back).
 */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli_bus.h"

#define ONCE_TIMEOUT_DEFAULT_MS 30000

static edxbus_relay_t *running;

static void on_stop_signal(int sig)
{
    (void)sig;
    if (running != NULL)
        edxbus_relay_stop(running);
}

enum { OPT_ONCE, OPT_TIMEOUT, OPT_METRICS, OPT_CONFIG };

const struct cli_opt cmd_relay_opts[] = {
    [OPT_ONCE] = {"once", 0, NULL, "exit 0 once the outbox is empty"},
    [OPT_TIMEOUT] = {"timeout", 0, "SECONDS",
                     "exit 1 when the broker stays unreachable this long\n(default with --once: "
                     "30; without: no bound)"},
    [OPT_METRICS] = CLI_OPT_METRICS_ADDRESS,
    [OPT_CONFIG] = CLI_OPT_CONFIG,
    {NULL, 0, NULL, NULL},
};

int cmd_relay(struct cli *cli, int argc, char **argv)
{
    const char *config = NULL, *metrics_address = NULL;
    bool once = false;
    int64_t timeout_ms = -1;
    struct cli_args args;
    cli_args_init(&args, argc, argv);
    int o;
    const char *value;
    while (cli_opt_next(cli, &args, &o, &value)) {
        if (o == OPT_ONCE) {
            once = true;
        } else if (o == OPT_TIMEOUT) {
            if (!cli_seconds_arg(cli, "--timeout", value, &timeout_ms))
                return CLI_USAGE;
        } else if (o == OPT_METRICS) {
            metrics_address = value;
        } else if (o == OPT_CONFIG) {
            config = value;
        } else {
            return cli_error(cli, CLI_USAGE, "unexpected argument \"%s\"", value);
        }
    }
    if (args.exit_code >= 0)
        return args.exit_code;
    if (once && timeout_ms < 0)
        timeout_ms = ONCE_TIMEOUT_DEFAULT_MS;

    int rc = CLI_OK;
    edxbus_conf_t *conf = cli_conf_load(cli, config, &rc);
    if (conf == NULL)
        return rc;
    char err[EDXBUS_ERRSTR_SIZE] = "";
    if (edxbus_outbox_path(conf) == NULL) {
        edxbus_conf_destroy(conf);
        return cli_error(cli, CLI_USAGE,
                         "EVENT_BUS_OUTBOX_PATH is not set; set it to the outbox file the "
                         "producers write");
    }
    edxbus_metrics_server_t *srv = NULL;
    if (!cli_metrics_start(cli, conf, metrics_address, &srv, &rc)) {
        edxbus_conf_destroy(conf);
        return rc;
    }
    edxbus_relay_t *relay = edxbus_relay_new(conf, err, sizeof err);
    edxbus_conf_destroy(conf);
    if (relay == NULL) {
        edxbus_metrics_server_stop(srv);
        return cli_error(cli, CLI_USAGE, "%s", err);
    }

    running = relay;
    cli_on_stop_signals(on_stop_signal);
    edxbus_err_t e = edxbus_relay_run(relay, once, timeout_ms, err, sizeof err);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    running = NULL;
    if (e != EDXBUS_OK)
        rc = cli_error(cli, cli_exit_code(e), "%s (%" PRIu64 " events sent before)", err,
                       edxbus_relay_sent(relay));
    edxbus_relay_destroy(relay);
    edxbus_metrics_server_stop(srv);
    return rc;
}
