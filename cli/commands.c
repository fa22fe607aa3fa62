/* cli/commands.c — the table of `edxbus` commands: one row each (name, summary, --help text,
 * handler). main() dispatches from it and `edxbus --help` lists it, so a command exists exactly
 * when it has a row here.
 *
 * To add a command: write cli/cmd_<name>.c defining `int cmd_<name>(struct cli *, int, char **)`
 * and its option table `const struct cli_opt cmd_<name>_opts[]` (cli.h says how), or, for a
 * group of subcommands, a `const struct cli_command cmd_<name>_subs[]` table; add their
 * declarations below and its row to cli_commands[]. Rows are in the order --help lists them.
 */
#include "cli.h"

/* Groups: their subcommands are rows in cmd_<name>.c. */
extern const struct cli_command cmd_events_subs[];
extern const struct cli_command cmd_schema_subs[];
extern const struct cli_command cmd_avro_subs[];
/* The bus commands (cmd_produce.c, cmd_consume.c, cmd_tail.c, cmd_config.c, cmd_dlq.c,
 * cmd_lag.c), each with its option table. */
extern const struct cli_command cmd_config_subs[];
extern const struct cli_command cmd_dlq_subs[];
extern const struct cli_opt cmd_produce_opts[];
extern const struct cli_opt cmd_consume_opts[];
extern const struct cli_opt cmd_lag_opts[];
extern const struct cli_opt cmd_tail_opts[];
/* The outbox (cmd_relay.c, cmd_outbox.c). */
extern const struct cli_command cmd_outbox_subs[];
/* The embedded broker's own commands (cmd_sqlite.c). */
extern const struct cli_command cmd_sqlite_subs[];
extern const struct cli_opt cmd_relay_opts[];
int cmd_relay(struct cli *cli, int argc, char **argv);
extern const struct cli_opt cmd_bridge_opts[];
int cmd_bridge(struct cli *cli, int argc, char **argv);
int cmd_produce(struct cli *cli, int argc, char **argv);
int cmd_consume(struct cli *cli, int argc, char **argv);
int cmd_lag(struct cli *cli, int argc, char **argv);
int cmd_tail(struct cli *cli, int argc, char **argv);
/* The broker check-up (cmd_doctor.c). */
extern const struct cli_opt cmd_doctor_opts[];
int cmd_doctor(struct cli *cli, int argc, char **argv);

const struct cli_command cli_commands[] = {
    {
        .name = "events",
        .summary = "list and describe the event types edxbus knows",
        .usage = "<command> [options]",
        .about = "The event catalog: the 75 events of openedx-events " EDXBUS_OPENEDX_EVENTS_VERSION
                 ", plus those defined by\n"
                 "--schemas DIR and EVENT_BUS_SCHEMA_PATH.\n",
        .subs = cmd_events_subs,
    },
    {
        .name = "schema",
        .summary = "generate, show, fingerprint, register and check the events' Avro schemas",
        .usage = "<command> [options]",
        .about =
            "The Avro schemas of the events, built as openedx-events builds them at run time.\n",
        .subs = cmd_schema_subs,
    },
    {
        .name = "avro",
        .summary = "encode event data to Avro binary and decode it back",
        .usage = "<command> [options]",
        .about = "Event data (the plain JSON form openedx-events hands to its Avro writer, e.g.\n"
                 "{\"enrollment\": {...}}) to and from schemaless Avro binary, byte for byte as\n"
                 "openedx-events and fastavro write it.\n",
        .subs = cmd_avro_subs,
    },
    {
        .name = "produce",
        .summary = "send events through their signal to a topic",
        .usage = "-e TYPE -d JSON|@FILE [-t TOPIC] [options]",
        .about = "openedx-events' produce_event: routes TYPE to TOPIC (EVENT_BUS_TOPIC_PREFIX is\n"
                 "added) keyed by PATH (default: the event's documented key field), checks the\n"
                 "data against the schema, generates each event's metadata and produces through\n"
                 "EVENT_BUS_PRODUCER. Prints nothing on success unless --print-ids.\n"
                 "JSON may hold NaN, Infinity and -Infinity, as Python writes them.\n"
                 "SIGINT/SIGTERM: flush what was sent, report, exit 130/143.\n",
        .opts = cmd_produce_opts,
        .run = cmd_produce,
    },
    {
        .name = "consume",
        .summary = "consume a topic in a group and print or handle each event",
        .usage = "-t TOPIC -g GROUP [--print|--exec CMD] [options]",
        .about = "openedx-events' consume_events: reads TOPIC (the prefix is added) in GROUP\n"
                 "from EVENT_BUS_CONSUMER, re-emits every event through its signal and\n"
                 "acknowledges it once handled. Failures are retried\n"
                 "(EVENT_BUS_CONSUMER_RETRIES), then dead-lettered to TOPIC-dlq. SIGINT/SIGTERM\n"
                 "finish the current event and exit 0.\n" CLI_EXIT_CODES_HELP,
        .opts = cmd_consume_opts,
        .run = cmd_consume,
    },
    {
        .name = "tail",
        .summary = "print a topic's events as they arrive, without joining a group",
        .usage = "-t TOPIC [options]   (or: tail TOPIC [options])",
        .about = "Reads TOPIC (the prefix is added) from EVENT_BUS_CONSUMER without a consumer\n"
                 "group: nothing is acknowledged and no group's position moves. Prints one JSON\n"
                 "line per event as it arrives, as consume --print does:\n"
                 "{\"metadata\": {...}, \"data\": {...}}. An entry that does not decode is one\n"
                 "warning on stderr naming its position. SIGINT/SIGTERM exit 0.\n"
                 "\n"
                 "A tail holds nothing back and keeps no position: retention may remove events\n"
                 "it has not printed yet (the embedded broker's EVENT_BUS_SQLITE_RETENTION once\n"
                 "every group acknowledged them, Redis stream trimming, Kafka's retention), and\n"
                 "each run begins at --from again. So a forgotten or killed tail never stops\n"
                 "retention from freeing the disk. To read on later from where you stopped, use\n"
                 "a group: edxbus consume -t TOPIC -g NAME --print resumes, and the embedded\n"
                 "broker keeps a group's events until it acknowledged them.\n",
        .opts = cmd_tail_opts,
        .run = cmd_tail,
    },
    {
        .name = "relay",
        .summary = "forward the events waiting in the outbox to the broker",
        .usage = "[--once] [--timeout SECONDS] [options]",
        .about = "Sends the events producers committed to EVENT_BUS_OUTBOX_PATH to\n"
                 "EVENT_BUS_PRODUCER, in order, and removes each once the broker confirmed it.\n"
                 "While the broker is unreachable the events wait and the relay retries (one\n"
                 "log line when it loses the broker, one when it is back). One relay at a time\n"
                 "works on an outbox; another waits. SIGINT/SIGTERM exit 0.\n",
        .opts = cmd_relay_opts,
        .run = cmd_relay,
    },
    {
        .name = "bridge",
        .summary = "consume a topic on one bus and produce each event to another",
        .usage = "--from-config A.yaml -t TOPIC -g GROUP --to-config B.yaml|--to URL [options]",
        .about = "Consumes TOPIC in GROUP on the bus of A.yaml and produces each event to the\n"
                 "bus of B.yaml (to --to-topic, default the same topic), with its original\n"
                 "metadata and its Avro bytes unchanged. An event is acknowledged on the source\n"
                 "only once the destination confirmed it; a restarted bridge resumes where its\n"
                 "group stopped. Failures follow the consumer's policy (retries, then the\n"
                 "source's dead-letter topic). SIGINT/SIGTERM finish the current event and exit\n"
                 "0. Environment variables named like settings apply to both sides. With --to\n"
                 "URL each event is POSTed as a CloudEvent (binary mode: ce- headers, the data\n"
                 "as the JSON body); a 2xx answer confirms it.\n" CLI_EXIT_CODES_HELP,
        .opts = cmd_bridge_opts,
        .run = cmd_bridge,
    },
    {
        .name = "outbox",
        .summary = "show what waits in the outbox",
        .usage = "<command> [options]",
        .about = "With EVENT_BUS_OUTBOX_PATH set, producers commit every event to that file and\n"
                 "a relay forwards it to the broker (edxbus relay).\n",
        .subs = cmd_outbox_subs,
    },
    {
        .name = "config",
        .summary = "check the settings",
        .usage = "<command> [options]",
        .about = "The settings every bus command reads: --config FILE (or $EDXBUS_CONFIG), then\n"
                 "environment variables named like settings.\n",
        .subs = cmd_config_subs,
    },
    {
        .name = "dlq",
        .summary = "list and replay dead letters",
        .usage = "<command> [options]",
        .about = "Events whose receivers kept failing are dead-lettered to <topic>-dlq.\n",
        .subs = cmd_dlq_subs,
    },
    {
        .name = "lag",
        .summary = "show how far behind a consumer group is",
        .usage = "-t TOPIC -g GROUP [options]   (or: lag -g GROUP TOPIC)",
        .about = "Per consumer of GROUP on TOPIC (the prefix is added): messages delivered but\n"
                 "not acknowledged (pending), stored but not yet delivered (undelivered), and\n"
                 "idle time. Asks the backend of EVENT_BUS_CONSUMER without joining the group.\n"
                 "On the embedded broker, also what the group holds back from retention.\n",
        .opts = cmd_lag_opts,
        .run = cmd_lag,
    },
    {
        .name = "doctor",
        .summary = "check the settings against the live broker: what can lose events",
        .usage = "[-t TOPIC] [-g GROUP] [--interval SECONDS] [-j] [options]",
        .about = "Checks the effective settings, then asks the broker(s) they select what can lose\n"
                 "or hold up events: on Redis the eviction policy, persistence, Celery keys in the\n"
                 "same database, stream caps against each group's backlog and entries already\n"
                 "trimmed under a group; on the embedded broker the file system (network file\n"
                 "systems), free space and what retention waits for; everywhere a group whose lag\n"
                 "grew between two samples --interval apart, and dead letters waiting.\n"
                 "One line per finding (error, warning, info) with the fix. Changes nothing.\n"
                 "Exit 0: no error; 1: at least one finding is an error; 2: bad options or\n"
                 "settings (edxbus config check shows them all).\n",
        .opts = cmd_doctor_opts,
        .run = cmd_doctor,
    },
    {
        .name = "sqlite",
        .summary = "inspect the embedded broker's file",
        .usage = "<command> [options]",
        .about = "The embedded broker keeps every topic in one SQLite file\n"
                 "(EVENT_BUS_SQLITE_PATH, default edxbus.db).\n",
        .subs = cmd_sqlite_subs,
    },
    {.name = NULL},
};
