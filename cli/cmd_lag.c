/* cli/cmd_lag.c — `edxbus lag -t TOPIC -g GROUP [--json]`: how far behind a consumer group is.
 *
 * Asks the consuming backend through the bus (edxbus_lag(), tail.h), without joining the group.
 * Prints a table (consumer, partition, pending, undelivered, idle, and when the backend counts
 * them (Redis) lost: entries trimmed before the group read them; when it says them (sqlite) a
 * line per group on what it holds back from retention) or, with --json, the hook's array as is.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_bus.h"

static void cell(struct cli *cli, const json_t *v, int width)
{
    if (json_is_integer(v))
        cli_printf(cli, "%*lld", width, (long long)json_integer_value(v));
    else if (json_is_string(v))
        cli_printf(cli, "%*s", width, json_string_value(v));
    else
        cli_printf(cli, "%*s", width, "-");
}

enum { OPT_TOPIC, OPT_GROUP, OPT_JSON, OPT_CONFIG };

const struct cli_opt cmd_lag_opts[] = {
    [OPT_TOPIC] = {"topic", 't', "TOPIC", "topic as configured (or the one argument)"},
    [OPT_GROUP] = {"group", 'g', "GROUP", "consumer group"},
    [OPT_JSON] = {"json", 'j', NULL, "print the backend's JSON array instead of a table"},
    [OPT_CONFIG] = CLI_OPT_CONFIG,
    {NULL, 0, NULL, NULL},
};

/* Below the table, when the backend says what a group holds back from retention (sqlite): one
 * line per group. */
static void print_retention(struct cli *cli, const json_t *rows)
{
    size_t i;
    const json_t *row;
    const char *last = NULL;
    json_array_foreach(rows, i, row)
    {
        const json_t *held = json_object_get(row, "holds_back");
        const char *group = json_string_value(json_object_get(row, "group"));
        if (!json_is_integer(held) || group == NULL || (last != NULL && strcmp(last, group) == 0))
            continue;
        last = group;
        if (json_is_true(json_object_get(row, "idle_past_limit")))
            cli_printf(cli,
                       "retention: group %s is idle past EVENT_BUS_SQLITE_GROUP_IDLE_LIMIT and "
                       "holds nothing back\n",
                       group);
        else
            cli_printf(cli, "retention: group %s holds back %lld event(s), from position %lld\n",
                       group, (long long)json_integer_value(held),
                       (long long)json_integer_value(json_object_get(row, "first_unacknowledged")));
    }
}

int cmd_lag(struct cli *cli, int argc, char **argv)
{
    const char *group = NULL, *topic = NULL, *config = NULL;
    bool as_json = false;
    struct cli_args args;
    cli_args_init(&args, argc, argv);
    int o;
    const char *value;
    while (cli_opt_next(cli, &args, &o, &value)) {
        if (o == OPT_GROUP)
            group = value;
        else if (o == OPT_JSON)
            as_json = true;
        else if (o == OPT_CONFIG)
            config = value;
        else if (topic == NULL) /* -t TOPIC or the positional TOPIC */
            topic = value;
        else
            return cli_error(cli, CLI_USAGE, "unexpected argument \"%s\"", value);
    }
    if (args.exit_code >= 0)
        return args.exit_code;
    if (group == NULL || topic == NULL)
        return cli_error(cli, CLI_USAGE,
                         "-t TOPIC and -g GROUP are required (see edxbus lag --help)");

    int rc = CLI_OK;
    edxbus_conf_t *conf = cli_conf_load(cli, config, &rc);
    if (conf == NULL)
        return rc;
    char err[EDXBUS_ERRSTR_SIZE] = "";
    json_t *out = NULL;
    edxbus_err_t e = edxbus_lag(conf, topic, group, &out, err, sizeof err);
    if (e != EDXBUS_OK) {
        rc = cli_error(cli, e == EDXBUS_ERR_CONF ? CLI_USAGE : CLI_FAIL, "%s", err);
        goto out;
    }
    if (as_json) {
        rc = cli_print_json(cli, out);
        goto out;
    }
    size_t i;
    const json_t *row;
    bool lost = false; /* a backend that counts entries trimmed before they were read */
    json_array_foreach(out, i, row)
    {
        lost = lost || json_object_get(row, "lost") != NULL;
    }
    cli_printf(cli, "%-32s %10s %10s %12s %10s%s\n", "consumer", "partition", "pending",
               "undelivered", "idle_ms", lost ? "       lost" : "");
    json_array_foreach(out, i, row)
    {
        const json_t *c = json_object_get(row, "consumer");
        cli_printf(cli, "%-32s ", json_is_string(c) ? json_string_value(c) : "-");
        cell(cli, json_object_get(row, "partition"), 10);
        cli_printf(cli, " ");
        cell(cli, json_object_get(row, "pending"), 10);
        cli_printf(cli, " ");
        cell(cli, json_object_get(row, "undelivered"), 12);
        cli_printf(cli, " ");
        cell(cli, json_object_get(row, "idle_ms"), 10);
        if (lost) {
            cli_printf(cli, " ");
            cell(cli, json_object_get(row, "lost"), 10);
        }
        cli_printf(cli, "\n");
    }
    print_retention(cli, out);
out:
    json_decref(out);
    edxbus_conf_destroy(conf);
    return rc;
}
