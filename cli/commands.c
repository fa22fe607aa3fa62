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
/* The bus commands (cmd_produce.c, cmd_consume.c, cmd_tail.c, cmd_config.c, cmd_dlq.c,
 * cmd_lag.c). */
extern const struct cli_command cmd_config_subs[];
extern const struct cli_command cmd_dlq_subs[];
int cmd_produce(struct cli *cli, int argc, char **argv);
int cmd_consume(struct cli *cli, int argc, char **argv);
int cmd_lag(struct cli *cli, int argc, char **argv);
int cmd_tail(struct cli *cli, int argc, char **argv);

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
        .summary = "generate, show, fingerprint, register and check the events' Avro schemas",
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
    {
        .name = "produce",
        .summary = "send events through their signal to a topic",
        .usage = "Usage: edxbus produce --event-type TYPE [--topic TOPIC] [--key-field PATH]\n"
                 "                      --data JSON|@FILE [--count N] [--metadata JSON]\n"
                 "                      [--print-ids] [--config FILE]\n"
                 "\n"
                 "openedx-events' produce_event: routes TYPE to TOPIC (EVENT_BUS_TOPIC_PREFIX is\n"
                 "added) keyed by PATH (default: the event's documented key field), checks the\n"
                 "data against the schema, generates each event's metadata and produces through\n"
                 "EVENT_BUS_PRODUCER. Prints nothing on success unless --print-ids.\n"
                 "\n"
                 "Options:\n"
                 "  -e, --event-type TYPE  event type (org.openedx...v1); --signal is an alias\n"
                 "  -t, --topic TOPIC      topic as configured (without the prefix); default:\n"
                 "                         the topics EVENT_BUS_PRODUCER_CONFIG gives TYPE\n"
                 "  -k, --key-field PATH   dotted path of the key in the data\n"
                 "  -d, --data JSON|@FILE  the data; @FILE: one JSON object or JSON lines\n"
                 "                         (one event each; @- reads standard input)\n"
                 "  -n, --count N          send each event N times (each with its own metadata)\n"
                 "  -m, --metadata JSON    override metadata fields: id, source, sourcehost,\n"
                 "                         time, minorversion, sourcelib\n"
                 "  --print-ids            print each event id once the broker holds it\n"
                 "  --config FILE          YAML settings file (default: $EDXBUS_CONFIG)\n",
        .run = cmd_produce,
    },
    {
        .name = "consume",
        .summary = "consume a topic in a group and print or handle each event",
        .usage = "Usage: edxbus consume -t TOPIC -g GROUP [--extra JSON] [--print|--exec CMD]\n"
                 "                      [--max-events N] [--offset-time ISO] [--config FILE]\n"
                 "\n"
                 "openedx-events' consume_events: reads TOPIC (the prefix is added) in GROUP\n"
                 "from EVENT_BUS_CONSUMER, re-emits every event through its signal and\n"
                 "acknowledges it once handled. Failures are retried\n"
                 "(EVENT_BUS_CONSUMER_RETRIES), then dead-lettered to TOPIC-dlq. SIGINT/SIGTERM\n"
                 "finish the current event and exit 0.\n"
                 "\n"
                 "Options:\n"
                 "  -t, --topic TOPIC      topic as configured\n"
                 "  -g, --group GROUP      consumer group (--group-id is an alias)\n"
                 "  --extra JSON           {\"start\": \"earliest\"} for a new group to read from\n"
                 "                         the oldest event (default: only new ones); backend\n"
                 "                         options; {\"offset_time\": ISO} replays from a time\n"
                 "  --print                print one JSON line per event (default):\n"
                 "                         {\"metadata\": {...}, \"data\": {...}}\n"
                 "  --exec CMD             run CMD (/bin/sh) per event with that line on stdin;\n"
                 "                         a non-zero exit is a failure of the event\n"
                 "  -n, --max-events N     exit 0 after N events\n"
                 "  --offset-time ISO      replay from this time (2024-05-01T00:00:00+00:00)\n"
                 "  --name NAME            member name (default: host-pid)\n"
                 "  --config FILE          YAML settings file (default: $EDXBUS_CONFIG)\n",
        .run = cmd_consume,
    },
    {
        .name = "tail",
        .summary = "print a topic's events as they arrive, without joining a group",
        .usage = "Usage: edxbus tail TOPIC [--from POSITION|--from-time ISO] [--max-events N]\n"
                 "                   [--timeout SECONDS] [--config FILE]\n"
                 "\n"
                 "Reads TOPIC (the prefix is added) from EVENT_BUS_CONSUMER without a consumer\n"
                 "group: nothing is acknowledged and no group's position moves. Prints one JSON\n"
                 "line per event as it arrives, as consume --print does:\n"
                 "{\"metadata\": {...}, \"data\": {...}}. An entry that does not decode is one\n"
                 "warning on stderr naming its position. SIGINT/SIGTERM exit 0.\n"
                 "\n"
                 "Options:\n"
                 "  --from POSITION        where to begin: latest (default: only new events),\n"
                 "                         earliest, or a position of the backend\n"
                 "  --from-time ISO        begin at the first event stored at or after this\n"
                 "                         time (2024-05-01T00:00:00+00:00)\n"
                 "  -n, --max-events N     exit 0 after N entries\n"
                 "  --timeout SECONDS      exit 0 after SECONDS with no new entry\n"
                 "  --config FILE          YAML settings file (default: $EDXBUS_CONFIG)\n",
        .run = cmd_tail,
    },
    {
        .name = "config",
        .summary = "check the settings",
        .usage = "Usage: edxbus config <command> [options]\n"
                 "\n"
                 "The settings every bus command reads: --config FILE (or $EDXBUS_CONFIG), then\n"
                 "environment variables named like settings.\n",
        .subs = cmd_config_subs,
    },
    {
        .name = "dlq",
        .summary = "list and replay dead letters",
        .usage = "Usage: edxbus dlq <command> [options]\n"
                 "\n"
                 "Events whose receivers kept failing are dead-lettered to <topic>-dlq.\n",
        .subs = cmd_dlq_subs,
    },
    {
        .name = "lag",
        .summary = "show how far behind a consumer group is",
        .usage = "Usage: edxbus lag -g GROUP TOPIC [--json] [--config FILE]\n"
                 "\n"
                 "Per consumer of GROUP on TOPIC: messages delivered but not acknowledged\n"
                 "(pending), stored but not yet delivered (undelivered), and idle time.\n",
        .run = cmd_lag,
    },
    {.name = NULL},
};
