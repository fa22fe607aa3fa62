/* cli/cmd_events.c — `edxbus events list` and `edxbus events show TYPE`: the event catalog.
 *
 * `list` prints every event type, one per line, in the catalog's (sorted) order, or with --json
 * a JSON array of edxbus_event_type_to_json() objects. `show` prints one event's descriptor for
 * a human: type, signal, minor version, key field, description, whether it can be serialized
 * (and why not), and its schema as openedx-events writes .avsc files.
 */
#include <stdlib.h>

#include "cli.h"

static const struct cli_opt list_opts[] = {
    {"json", 'j', NULL,
     "print a JSON array of objects instead (type, signal,\n"
     "minor_version, key_field, description, serializable, ...)"},
    {NULL, 0, NULL, NULL},
};

static int events_list(struct cli *cli, int argc, char **argv)
{
    bool as_json = false;
    struct cli_args args;
    cli_args_init(&args, argc, argv);
    int opt;
    const char *value;
    while (cli_opt_next(cli, &args, &opt, &value)) {
        if (opt == CLI_OPT_ARG)
            return cli_error(cli, CLI_USAGE,
                             "unexpected argument \"%s\" (see edxbus events list "
                             "--help)",
                             value);
        as_json = true;
    }
    if (args.exit_code >= 0)
        return args.exit_code;

    edxbus_catalog_t *cat = cli_catalog(cli);
    if (cat == NULL)
        return cli->error_code;
    size_t n = edxbus_catalog_count(cat);
    if (!as_json) {
        for (size_t i = 0; i < n; i++) {
            if (!cli_printf(cli, "%s\n", edxbus_event_type_name(edxbus_catalog_at(cat, i))))
                return CLI_FAIL;
        }
        return CLI_OK;
    }

    json_t *arr = json_array();
    if (arr == NULL)
        return cli_nomem(cli);
    for (size_t i = 0; i < n; i++) {
        if (json_array_append_new(arr, edxbus_event_type_to_json(edxbus_catalog_at(cat, i))) != 0) {
            json_decref(arr);
            return cli_nomem(cli);
        }
    }
    char *text = json_dumps(arr, JSON_INDENT(2));
    json_decref(arr);
    if (text == NULL)
        return cli_nomem(cli);
    bool ok = cli_printf(cli, "%s\n", text);
    free(text);
    return ok ? CLI_OK : CLI_FAIL;
}

static int events_show(struct cli *cli, int argc, char **argv)
{
    const char *type = NULL;
    struct cli_args args;
    cli_args_init(&args, argc, argv);
    int opt;
    const char *value;
    while (cli_opt_next(cli, &args, &opt, &value)) {
        if (type != NULL)
            return cli_error(cli, CLI_USAGE, "unexpected argument \"%s\": one TYPE only", value);
        type = value;
    }
    if (args.exit_code >= 0)
        return args.exit_code;
    if (type == NULL)
        return cli_error(cli, CLI_USAGE, "missing TYPE (see edxbus events show --help)");

    const edxbus_event_type_t *et = cli_find_event(cli, type);
    if (et == NULL)
        return cli->error_code;
    const char *signal = edxbus_event_type_signal(et);
    const char *key = edxbus_event_type_key_field(et);
    const char *desc = edxbus_event_type_description(et);
    bool ok = cli_printf(cli, "type:          %s\n", edxbus_event_type_name(et)) &&
              cli_printf(cli, "signal:        %s\n",
                         signal != NULL ? signal : "(none: defined by an .avsc file)") &&
              cli_printf(cli, "minor version: %d\n", edxbus_event_type_minor_version(et)) &&
              cli_printf(cli, "key field:     %s\n", key != NULL ? key : "(none documented)") &&
              cli_printf(cli, "description:   %s\n", desc != NULL && desc[0] ? desc : "(none)");
    if (!ok)
        return CLI_FAIL;
    if (!edxbus_event_type_is_serializable(et)) {
        const char *why = edxbus_event_type_unserializable_reason(et);
        return cli_printf(cli, "serializable:  no: %s\n", why != NULL ? why : "(no reason given)")
                   ? CLI_OK
                   : CLI_FAIL;
    }
    ok = cli_printf(cli, "serializable:  yes\nschema:\n") &&
         cli_schema_pretty(cli, et, &cli->out) && cli_printf(cli, "\n");
    return ok ? CLI_OK : CLI_FAIL;
}

const struct cli_command cmd_events_subs[] = {
    {
        .name = "list",
        .summary = "print every event type, one per line, sorted",
        .usage = "[options]",
        .about = "Print every event type the catalog holds, one per line, sorted.\n",
        .opts = list_opts,
        .run = events_list,
    },
    {
        .name = "show",
        .summary = "describe one event type and print its schema",
        .usage = "TYPE",
        .about = "Describe event type TYPE: its signal, minor version, key field, description,\n"
                 "whether it can be serialized (and why not), and its Avro schema.\n",
        .run = events_show,
    },
    {.name = NULL},
};
