/* cli/cmd_dlq.c — `edxbus dlq list|replay -t TOPIC`: the dead letters of a topic.
 *
 * TOPIC is the topic as in the settings (EVENT_BUS_TOPIC_PREFIX is added, then "-dlq"). `list`
 * prints one JSON line per dead letter (its position, the dead-letter headers and the
 * metadata) and changes nothing. `replay` produces each one not yet replayed back to its
 * original topic, unchanged, and acknowledges it in the group edxbus-dlq-replay, so running it
 * twice sends nothing twice; -g GROUP replays only that group's dead letters, --position POS
 * only the one at POS (edxbus_dlq_replay_ex()). It prints how many it read, replayed, skipped.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_bus.h"

static const char *const dlq_headers[] = {
    "original_topic", "original_position", "group", "attempts", "error", NULL};

struct dlq_list {
    struct cli *cli;
    bool ok;
};

static bool list_one(void *opaque, const struct edxbus_msg *msg)
{
    struct dlq_list *l = opaque;
    json_t *o = json_object();
    json_object_set_new(o, "position", json_string(msg->position));
    for (size_t i = 0; dlq_headers[i] != NULL; i++) {
        char *v = edxbus_msg_header(msg, dlq_headers[i]);
        json_object_set_new(o, dlq_headers[i], v != NULL ? json_string(v) : json_null());
        free(v);
    }
    if (msg->metadata != NULL)
        json_object_set_new(o, "metadata", edxbus_metadata_to_json_value(msg->metadata));
    struct edxbus_buf b = EDXBUS_BUF_INIT;
    l->ok = edxbus_json_write(o, 0, &b) == EDXBUS_OK && edxbus_buf_puts(&b, "\n") == EDXBUS_OK &&
            cli_write(l->cli, b.data, b.len);
    edxbus_buf_fini(&b);
    json_decref(o);
    return l->ok;
}

enum { OPT_TOPIC, OPT_CONFIG, OPT_GROUP, OPT_POSITION };

/* The options of list; replay adds its selection. */
static const struct cli_opt dlq_opts[] = {
    [OPT_TOPIC] = {"topic", 't', "TOPIC", "topic as configured (or the one argument)"},
    [OPT_CONFIG] = CLI_OPT_CONFIG,
    {NULL, 0, NULL, NULL},
};
static const struct cli_opt dlq_replay_opts[] = {
    [OPT_TOPIC] = {"topic", 't', "TOPIC", "topic as configured (or the one argument)"},
    [OPT_CONFIG] = CLI_OPT_CONFIG,
    [OPT_GROUP] = {"group", 'g', "GROUP", "only the dead letters this consumer group made"},
    [OPT_POSITION] = {"position", 0, "POS",
                      "only the dead letter at POS (as dlq list prints it), even if replayed"},
    {NULL, 0, NULL, NULL},
};

/* Shared option parsing: TOPIC, --config and replay's selection (@p sel NULL: list). Returns
 * CLI_OK with *topic set, or an exit code. */
static int parse(struct cli *cli, int argc, char **argv, const char **topic, const char **config,
                 struct edxbus_dlq_replay_opts *sel, bool *help)
{
    struct cli_args args;
    cli_args_init(&args, argc, argv);
    *help = false;
    int o;
    const char *value;
    while (cli_opt_next(cli, &args, &o, &value)) {
        if (o == OPT_CONFIG) {
            *config = value;
        } else if (o == OPT_GROUP && sel != NULL) {
            sel->group = value;
        } else if (o == OPT_POSITION && sel != NULL) {
            sel->position = value;
        } else if (*topic == NULL) { /* -t TOPIC or the positional TOPIC */
            *topic = value;
        } else {
            return cli_error(cli, CLI_USAGE, "unexpected argument \"%s\"", value);
        }
    }
    *help = args.exit_code == CLI_OK;
    if (args.exit_code >= 0)
        return args.exit_code;
    if (*topic == NULL)
        return cli_error(cli, CLI_USAGE, "missing -t TOPIC (see edxbus %s --help)", cli->path);
    return CLI_OK;
}

/* What both subcommands start with: parse() then the settings. Returns new settings with
 * *topic set, or NULL with *rc the exit code (CLI_OK after --help). */
static edxbus_conf_t *parse_and_load(struct cli *cli, int argc, char **argv, const char **topic,
                                     struct edxbus_dlq_replay_opts *sel, int *rc)
{
    const char *config = NULL;
    bool help;
    *rc = parse(cli, argc, argv, topic, &config, sel, &help);
    if (*rc != CLI_OK || help)
        return NULL;
    return cli_conf_load(cli, config, rc);
}

static int cmd_dlq_list(struct cli *cli, int argc, char **argv)
{
    const char *topic = NULL;
    int rc = CLI_OK;
    edxbus_conf_t *conf = parse_and_load(cli, argc, argv, &topic, NULL, &rc);
    if (conf == NULL)
        return rc;
    struct dlq_list l = {.cli = cli, .ok = true};
    char err[EDXBUS_ERRSTR_SIZE] = "";
    if (edxbus_dlq_list(conf, topic, list_one, &l, err, sizeof err) != EDXBUS_OK)
        rc = cli_error(cli, CLI_FAIL, "%s", err);
    else if (!l.ok)
        rc = CLI_FAIL;
    edxbus_conf_destroy(conf);
    return rc;
}

static int cmd_dlq_replay(struct cli *cli, int argc, char **argv)
{
    const char *topic = NULL;
    int rc = CLI_OK;
    struct edxbus_dlq_replay_opts sel = {NULL, NULL};
    edxbus_conf_t *conf = parse_and_load(cli, argc, argv, &topic, &sel, &rc);
    if (conf == NULL)
        return rc;
    struct edxbus_dlq_counts n;
    char err[EDXBUS_ERRSTR_SIZE] = "";
    if (edxbus_dlq_replay_ex(conf, topic, &sel, &n, err, sizeof err) != EDXBUS_OK)
        rc = cli_error(cli, CLI_FAIL,
                       "%s (read %" PRIu64 ", replayed %" PRIu64 ", skipped %" PRIu64 ")", err,
                       n.read, n.sent, n.skipped);
    else
        cli_printf(cli,
                   "read %" PRIu64 " dead letter(s): replayed %" PRIu64 ", skipped %" PRIu64 "\n",
                   n.read, n.sent, n.skipped);
    edxbus_conf_destroy(conf);
    return rc;
}

const struct cli_command cmd_dlq_subs[] = {
    {
        .name = "list",
        .summary = "print the dead letters of a topic",
        .usage = "-t TOPIC [options]   (or: dlq list TOPIC)",
        .about = "Prints one JSON line per dead letter of TOPIC (the topic as configured; the\n"
                 "prefix and \"-dlq\" are added): position, original_topic, original_position,\n"
                 "group, attempts, error, metadata. Changes nothing.\n",
        .opts = dlq_opts,
        .run = cmd_dlq_list,
    },
    {
        .name = "replay",
        .summary = "send dead letters back to their original topic",
        .usage = "-t TOPIC [options]   (or: dlq replay TOPIC)",
        .about = "Produces every dead letter of TOPIC not replayed yet back to its original\n"
                 "topic, bytes and metadata unchanged, and acknowledges it in the group\n"
                 "\"" EDXBUS_DLQ_REPLAY_GROUP "\": a second replay sends nothing twice.\n"
                 "Reads the dead letters stored when it starts, without joining a group, and\n"
                 "prints how many it read, replayed and skipped (not selected by -g or\n"
                 "--position); exits 1 when the dead letters could not be read.\n",
        .opts = dlq_replay_opts,
        .run = cmd_dlq_replay,
    },
    {.name = NULL},
};
