/* cli/main.c — the `edxbus` command: global options, dispatch, and writing the output.
 *
 * main() parses what comes before the command (--version, --help, --schemas DIR), hands the
 * rest to cli_dispatch() over the table in commands.c, and writes the buffered output to stdout
 * only when the command succeeded: a failing command leaves stdout empty and says why in one
 * line on stderr. Exit codes: 0 ok, 1 failure, 2 usage or bad input (cli.h).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

enum { OPT_VERSION, OPT_CONFIG };

static const struct cli_opt top_opts[] = {
    [OPT_VERSION] = {"version", 0, NULL, "print the version and exit"},
    [OPT_CONFIG] = {"config", 'c', "FILE",
                    "YAML settings for the bus commands (produce, consume,\n"
                    "tail, lag, dlq, config, schema register|check);\n"
                    "default: $EDXBUS_CONFIG"},
    {NULL, 0, NULL, NULL},
};

static const struct cli_command edxbus_top = {
    .name = "edxbus",
    .summary = "the Open edX event bus",
    .usage = "[options] <command> [<args>]",
    .about = "edxbus is the Open edX event bus in C: it sends and receives the events of\n"
             "openedx-events " EDXBUS_OPENEDX_EVENTS_VERSION
             " over an embedded broker (SQLite), Redis Streams or Kafka,\n"
             "byte for byte as the Python reference does.\n"
             "\n"
             "A letter means the same in every command: -t topic, -g group, -e event type,\n"
             "-c settings file, -n maximum number of events, -j JSON output, -v more and\n"
             "-q fewer lines on stderr. --schemas DIR also adds to EVENT_BUS_SCHEMA_PATH\n"
             "(a ':'-separated list of directories, read first).\n",
    .opts = top_opts,
    .subs = cli_commands,
};

/* Write the buffered output; a full disk or a closed pipe is a failure too. */
static int flush_out(struct cli *cli)
{
    if (cli->out.len > 0 && fwrite(cli->out.data, 1, cli->out.len, stdout) != cli->out.len)
        return cli_error(cli, CLI_FAIL, "cannot write to standard output");
    if (fflush(stdout) != 0)
        return cli_error(cli, CLI_FAIL, "cannot write to standard output");
    return CLI_OK;
}

static int run(struct cli *cli, int argc, char **argv)
{
    cli->command = &edxbus_top;
    struct cli_args args;
    cli_args_init(&args, argc, argv);
    const char *value = NULL;
    int o = cli_next_opt(cli, &args, &value);
    for (; o == OPT_CONFIG; o = cli_next_opt(cli, &args, &value))
        setenv("EDXBUS_CONFIG", value, 1); /* --config FILE: every bus command reads it */
    switch (o) {
    case OPT_VERSION:
        cli_printf(cli, "edxbus %s (openedx-events %s)\n", EDXBUS_VERSION_STRING,
                   EDXBUS_OPENEDX_EVENTS_VERSION);
        return CLI_OK;
    case CLI_OPT_HELP:
        return CLI_OK;
    case CLI_OPT_ERR:
        return CLI_USAGE;
    case CLI_OPT_END:
        return cli_error(cli, CLI_USAGE, "missing command (see edxbus --help)");
    default: /* CLI_OPT_ARG: the command, argv[args.i - 1] (options may come before) */
        return cli_dispatch(cli, cli_commands, argc - (args.i - 1), argv + (args.i - 1));
    }
}

int main(int argc, char **argv)
{
    struct cli cli;
    memset(&cli, 0, sizeof cli);
    edxbus_buf_init(&cli.out);
    /* A file-size limit (ulimit -f) must make a write fail with EFBIG, which the embedded broker
     * reports as a full file naming the limit, instead of killing the command without a word. */
    signal(SIGXFSZ, SIG_IGN);

    int rc = run(&cli, argc, argv);
    if (rc == CLI_OK || (cli.keep_output && !cli.errored)) {
        int written = flush_out(&cli);
        rc = written == CLI_OK ? rc : written;
    } else if (!cli.errored) {
        cli_error(&cli, rc, "failed");
    }

    edxbus_buf_fini(&cli.out);
    edxbus_catalog_destroy(cli.cat);
    return rc;
}
