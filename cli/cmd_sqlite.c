/* cli/cmd_sqlite.c — `edxbus sqlite status [-j]`: what the embedded broker's file holds.
 *
 * Runs the sqlite backend's admin command "sqlite-status" (admin.h; its result is described in
 * src/backends/sqlite/sqlite_status.c), whatever EVENT_BUS_PRODUCER/CONSUMER say: the command is
 * about the file EVENT_BUS_SQLITE_PATH names. Read-only. Prints the file's size,
 * free space, the retention rules, and per topic its events, the oldest one and what each
 * consumer group holds back from retention; --json prints the hook's object as is.
 */
#include <stdio.h>
#include <string.h>

#include "cli_bus.h"

static const char *str_or(const json_t *v, const char *def)
{
    return json_is_string(v) ? json_string_value(v) : def;
}

static long long int_of(const json_t *o, const char *key)
{
    return (long long)json_integer_value(json_object_get(o, key));
}

static void print_status(struct cli *cli, const json_t *st)
{
    const json_t *ret = json_object_get(st, "retention");
    cli_printf(cli, "file        %s\n", str_or(json_object_get(st, "path"), "?"));
    cli_printf(cli,
               "size        %lld bytes (+ %lld bytes of WAL); data %lld bytes, free inside %lld "
               "bytes; auto_vacuum %s\n",
               int_of(st, "file_bytes"), int_of(st, "wal_bytes"), int_of(st, "data_bytes"),
               int_of(st, "free_inside_bytes"), str_or(json_object_get(st, "auto_vacuum"), "?"));
    cli_printf(cli, "disk free   %lld bytes\n", int_of(st, "disk_free_bytes"));
    cli_printf(cli,
               "retention   acknowledged events kept %s; at most %lld per topic (0: no cap); "
               "size limit %lld bytes (0: none); idle groups let go after %s\n",
               str_or(json_object_get(ret, "age"), "forever"), int_of(ret, "max_len"),
               int_of(ret, "max_bytes"), str_or(json_object_get(ret, "group_idle_limit"), "never"));
    size_t i, j;
    const json_t *t, *g;
    json_array_foreach(json_object_get(st, "topics"), i, t)
    {
        const json_t *first = json_object_get(t, "first_position");
        cli_printf(cli, "\ntopic %s: %lld events", str_or(json_object_get(t, "topic"), "?"),
                   int_of(t, "events"));
        if (json_is_integer(first))
            cli_printf(cli, " (positions %lld..%lld), oldest stored %s",
                       (long long)json_integer_value(first), int_of(t, "last_position"),
                       str_or(json_object_get(t, "oldest_stored"), "?"));
        cli_printf(cli, "\n");
        json_array_foreach(json_object_get(t, "groups"), j, g)
        {
            cli_printf(cli, "  group %s: ", str_or(json_object_get(g, "group"), "?"));
            if (json_is_true(json_object_get(g, "idle_past_limit")))
                cli_printf(cli, "idle past the limit, holds nothing back");
            else
                cli_printf(cli, "holds back %lld events (from position %lld)",
                           int_of(g, "holds_back"), int_of(g, "first_unacknowledged"));
            cli_printf(cli, ", %lld pending, idle %lld ms\n", int_of(g, "pending"),
                       int_of(g, "idle_ms"));
        }
    }
}

enum { OPT_JSON, OPT_CONFIG };

static const struct cli_opt status_opts[] = {
    [OPT_JSON] = {"json", 'j', NULL,
                  "one JSON object: path, file_bytes, wal_bytes, data_bytes,\n"
                  "free_inside_bytes, disk_free_bytes, auto_vacuum, retention, topics"},
    [OPT_CONFIG] = CLI_OPT_CONFIG,
    {NULL, 0, NULL, NULL},
};

static int cmd_sqlite_status(struct cli *cli, int argc, char **argv)
{
    const char *config = NULL;
    bool as_json = false;
    struct cli_args args;
    cli_args_init(&args, argc, argv);
    int o;
    const char *value;
    while (cli_opt_next(cli, &args, &o, &value)) {
        if (o == OPT_JSON)
            as_json = true;
        else if (o == OPT_CONFIG)
            config = value;
        else
            return cli_error(cli, CLI_USAGE, "unexpected argument \"%s\"", value);
    }
    if (args.exit_code >= 0)
        return args.exit_code;
    int rc = CLI_OK;
    edxbus_conf_t *conf = cli_conf_load(cli, config, &rc);
    if (conf == NULL)
        return rc;
    char err[EDXBUS_ERRSTR_SIZE] = "";
    json_t *out = NULL;
    edxbus_admin_t *adm = NULL;
    if (edxbus_admin_open(conf, "sqlite-status", &adm, err, sizeof err) != EDXBUS_OK ||
        edxbus_admin_run(adm, "sqlite-status", NULL, &out, err, sizeof err) != EDXBUS_OK) {
        rc = cli_error(cli, CLI_FAIL, "%s", err);
    } else if (as_json) {
        rc = cli_print_json(cli, out);
    } else {
        print_status(cli, out);
    }
    edxbus_admin_close(adm);
    json_decref(out);
    edxbus_conf_destroy(conf);
    return rc;
}

const struct cli_command cmd_sqlite_subs[] = {
    {
        .name = "status",
        .summary = "the embedded broker's file: size, events, what groups hold back",
        .usage = "[-j] [options]",
        .about = "The file EVENT_BUS_SQLITE_PATH names: its size and the free space, the\n"
                 "retention rules, and per topic the events stored, the oldest one, and what\n"
                 "each consumer group holds back from retention (events it has not\n"
                 "acknowledged). Changes nothing.\n",
        .opts = status_opts,
        .run = cmd_sqlite_status,
    },
    {.name = NULL},
};
