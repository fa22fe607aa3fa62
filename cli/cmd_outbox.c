/* cli/cmd_outbox.c — `edxbus outbox status|list`: what waits in the outbox (outbox.h).
 *
 * status: entries waiting for the broker, the age of the oldest, the relay's last state and
 * error; --json prints the same as one object. list: one JSON line per waiting entry, oldest
 * first (destination topic, position in the outbox, when it was committed, metadata). Both
 * change nothing.
 */
#include <inttypes.h>
#include <stdio.h>

#include "cli_bus.h"

enum { OPT_JSON, OPT_CONFIG };

static const struct cli_opt status_opts[] = {
    [OPT_JSON] = {"json", 'j', NULL,
                  "one JSON object: path, waiting, oldest_age_ms, relay_state,\nlast_error, "
                  "state_since_ms"},
    [OPT_CONFIG] = CLI_OPT_CONFIG,
    {NULL, 0, NULL, NULL},
};

static const struct cli_opt list_opts[] = {CLI_OPT_CONFIG, {NULL, 0, NULL, NULL}};

/* The options of both subcommands (list has --config only, at index 0), then the settings.
 * NULL with *rc the exit code (CLI_OK after --help). */
static edxbus_conf_t *parse_and_load(struct cli *cli, int argc, char **argv, bool *as_json, int *rc)
{
    const char *config = NULL;
    struct cli_args args;
    cli_args_init(&args, argc, argv);
    int o;
    const char *value;
    while (cli_opt_next(cli, &args, &o, &value)) {
        if (as_json != NULL && o == OPT_JSON) {
            *as_json = true;
        } else if (o == (as_json != NULL ? OPT_CONFIG : 0)) {
            config = value;
        } else {
            *rc = cli_error(cli, CLI_USAGE, "unexpected argument \"%s\"", value);
            return NULL;
        }
    }
    if (args.exit_code >= 0) {
        *rc = args.exit_code;
        return NULL;
    }
    edxbus_conf_t *conf = cli_conf_load(cli, config, rc);
    if (conf != NULL && edxbus_outbox_path(conf) == NULL) {
        edxbus_conf_destroy(conf);
        *rc = cli_error(cli, CLI_USAGE,
                        "EVENT_BUS_OUTBOX_PATH is not set; set it to the outbox file the "
                        "producers write");
        return NULL;
    }
    return conf;
}

static int cmd_outbox_status(struct cli *cli, int argc, char **argv)
{
    bool as_json = false;
    int rc = CLI_OK;
    edxbus_conf_t *conf = parse_and_load(cli, argc, argv, &as_json, &rc);
    if (conf == NULL)
        return rc;
    struct edxbus_outbox_status st;
    char err[EDXBUS_ERRSTR_SIZE] = "";
    if (edxbus_outbox_status(conf, &st, err, sizeof err) != EDXBUS_OK) {
        rc = cli_error(cli, CLI_FAIL, "%s", err);
        goto out;
    }
    int64_t age = st.oldest_age_ms;
    if (as_json) {
        json_t *o = json_pack(
            "{s:s, s:I, s:o, s:o, s:s, s:o}", "path", edxbus_outbox_path(conf), "waiting",
            (json_int_t)st.waiting, "oldest_age_ms", age >= 0 ? json_integer(age) : json_null(),
            "relay_state", st.state[0] ? json_string(st.state) : json_null(), "last_error",
            st.last_error, "state_since_ms",
            st.state_since_ms >= 0 ? json_integer(st.state_since_ms) : json_null());
        struct edxbus_buf b = EDXBUS_BUF_INIT;
        if (o == NULL || edxbus_json_write(o, 0, &b) != EDXBUS_OK ||
            !cli_write(cli, b.data, b.len) || !cli_printf(cli, "\n"))
            rc = cli_nomem(cli);
        edxbus_buf_fini(&b);
        json_decref(o);
        goto out;
    }
    cli_printf(cli, "outbox:      %s\nwaiting:     %" PRIu64 "\n", edxbus_outbox_path(conf),
               st.waiting);
    if (age >= 0)
        cli_printf(cli, "oldest:      %.1f s ago\n", (double)age / 1000.0);
    cli_printf(cli, "relay:       %s\n", st.state[0] ? st.state : "never ran");
    if (st.last_error[0])
        cli_printf(cli, "last error:  %s\n", st.last_error);
out:
    edxbus_conf_destroy(conf);
    return rc;
}

struct list_out {
    struct cli *cli;
    bool ok;
};

static bool list_one(void *opaque, const struct edxbus_msg *msg)
{
    struct list_out *l = opaque;
    json_t *o = json_pack("{s:s, s:s, s:I}", "topic", msg->topic, "outbox_position", msg->position,
                          "stored_ms", (json_int_t)msg->broker_time_ms);
    if (o != NULL && msg->metadata != NULL)
        json_object_set_new(o, "metadata", edxbus_metadata_to_json_value(msg->metadata));
    struct edxbus_buf b = EDXBUS_BUF_INIT;
    l->ok = o != NULL && edxbus_json_write(o, 0, &b) == EDXBUS_OK &&
            edxbus_buf_puts(&b, "\n") == EDXBUS_OK && cli_write(l->cli, b.data, b.len);
    edxbus_buf_fini(&b);
    json_decref(o);
    return l->ok;
}

static int cmd_outbox_list(struct cli *cli, int argc, char **argv)
{
    int rc = CLI_OK;
    edxbus_conf_t *conf = parse_and_load(cli, argc, argv, NULL, &rc);
    if (conf == NULL)
        return rc;
    struct list_out l = {.cli = cli, .ok = true};
    char err[EDXBUS_ERRSTR_SIZE] = "";
    if (edxbus_outbox_list(conf, list_one, &l, err, sizeof err) != EDXBUS_OK)
        rc = cli_error(cli, CLI_FAIL, "%s", err);
    else if (!l.ok)
        rc = cli_nomem(cli);
    edxbus_conf_destroy(conf);
    return rc;
}

const struct cli_command cmd_outbox_subs[] = {
    {
        .name = "status",
        .summary = "how many events wait in the outbox, and the relay's state",
        .usage = "[-j] [options]",
        .about = "Events in EVENT_BUS_OUTBOX_PATH not yet confirmed by the broker, the age of\n"
                 "the oldest, and the relay's last state (forwarding, unreachable) and error.\n"
                 "Changes nothing.\n",
        .opts = status_opts,
        .run = cmd_outbox_status,
    },
    {
        .name = "list",
        .summary = "print the events waiting in the outbox",
        .usage = "[options]",
        .about = "One JSON line per event waiting in EVENT_BUS_OUTBOX_PATH, oldest first:\n"
                 "topic (the destination), outbox_position, stored_ms, metadata. Changes\n"
                 "nothing.\n",
        .opts = list_opts,
        .run = cmd_outbox_list,
    },
    {.name = NULL},
};
