/* cli/commands.c — the table of `edxbus` commands: one row each (name, summary, --help text,
 * handler). main() dispatches from it and `edxbus --help` lists it, so a command exists exactly
 * when it has a row here.
 *
 * To add a command: write cli/cmd_<name>.c defining `int cmd_<name>(struct cli *, int, char **)`
 * (or, for a group of subcommands, a `const struct cli_command cmd_<name>_subs[]` table), add its
 * prototype below and its row to cli_commands[]. Rows are in the order --help lists them.
 */
#include "cli.h"

/* Groups: their subcommands are rows in cmd_<name>.c. */
extern const struct cli_command cmd_events_subs[];
extern const struct cli_command cmd_schema_subs[];
extern const struct cli_command cmd_avro_subs[];

const struct cli_command cli_commands[] = {
    {
        .name = "events",
        .summary = "list and describe the event types edxbus knows",
        .usage = "Usage: edxbus events <command> [options]\n"
                 "\n"
                 "The event catalog: the 75 events of openedx-events " EDXBUS_OPENEDX_EVENTS_VERSION
                 ", plus those defined by\n"
                 "--schemas DIR and EVENT_BUS_SCHEMA_PATH.\n",
        .subs = cmd_events_subs,
    },
    {
        .name = "schema",
        .summary = "generate, show and fingerprint the events' Avro schemas",
        .usage =
            "Usage: edxbus schema <command> [options]\n"
            "\n"
            "The Avro schemas of the events, built as openedx-events builds them at run time.\n",
        .subs = cmd_schema_subs,
    },
    {
        .name = "avro",
        .summary = "encode event data to Avro binary and decode it back",
        .usage = "Usage: edxbus avro <command> [options]\n"
                 "\n"
                 "Event data (the plain JSON form openedx-events hands to its Avro writer, e.g.\n"
                 "{\"enrollment\": {...}}) to and from schemaless Avro binary, byte for byte as\n"
                 "openedx-events and fastavro write it.\n",
        .subs = cmd_avro_subs,
    },
    {.name = NULL},
};
