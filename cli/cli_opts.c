/* cli/cli_opts.c — option parsing and --help, both from the command's option table (cli.h).
 *
 * Design: the parser reads cli->command->opts, the table of the row being run, and the help
 * text is generated from that same table, so an option cannot be accepted without being listed
 * or listed without being accepted. The options every command takes (common_opts below:
 * --schemas DIR, -v, -q, -h) are looked up first and handled here, so handlers never see them
 * and no command table can give their letters another meaning.
 *
 * The parser is a small getopt_long: --name, --name=VALUE, --name VALUE, -x, -x VALUE, -xVALUE,
 * "--" ends the options, and "-" alone is a positional argument (standard input).
 *
 * To add an option every command takes: a row in common_opts and its case in take_common().
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "edxbus/backend.h"

enum { COMMON_SCHEMAS, COMMON_VERBOSE, COMMON_QUIET, COMMON_HELP };

static const struct cli_opt common_opts[] = {
    [COMMON_SCHEMAS] = {"schemas", 0, "DIR",
                        "also load the event types of DIR/*.avsc (repeatable)"},
    [COMMON_VERBOSE] = {"verbose", 'v', NULL, "more on stderr: info lines (-vv: debug lines too)"},
    [COMMON_QUIET] = {"quiet", 'q', NULL, "errors only on stderr"},
    [COMMON_HELP] = {"help", 'h', NULL, "print this help and exit"},
    {NULL, 0, NULL, NULL},
};

#define HELP_COLUMN 26 /* where the help text of an option starts */

/* ---------------------------------------------------------------------------------------------
 * --help
 * ------------------------------------------------------------------------------------------- */

/* "-t, --topic TOPIC" or "    --print": the left column of an option's help line. */
static void opt_label(const struct cli_opt *o, char *buf, size_t size)
{
    char letter[8] = "    ";
    if (o->short_name != 0)
        snprintf(letter, sizeof letter, "-%c, ", o->short_name);
    snprintf(buf, size, "%s--%s%s%s", letter, o->name, o->value != NULL ? " " : "",
             o->value != NULL ? o->value : "");
}

static void help_opts(struct cli *cli, const struct cli_opt *opts)
{
    for (const struct cli_opt *o = opts; o != NULL && o->name != NULL; o++) {
        char label[96];
        opt_label(o, label, sizeof label);
        int pad = HELP_COLUMN - 2 - (int)strlen(label);
        cli_printf(cli, "  %s", label);
        if (pad < 2) { /* too long: the help text starts on the next line */
            cli_printf(cli, "\n");
            pad = HELP_COLUMN;
        }
        /* Each '\n' of the help text starts a line at the same column. */
        const char *text = o->help != NULL ? o->help : "";
        for (;;) {
            const char *nl = strchr(text, '\n');
            int len = nl != NULL ? (int)(nl - text) : (int)strlen(text);
            cli_printf(cli, "%*s%.*s\n", pad, "", len, text);
            if (nl == NULL)
                break;
            text = nl + 1;
            pad = HELP_COLUMN;
        }
    }
}

/* The `--extra` keys: the core's, then those each registered backend's module lists
 * (extra_options), so no command's help names a backend option by hand. */
static void help_extra(struct cli *cli)
{
    cli_printf(cli, "\n--extra keys (a JSON object; others are refused):\n");
    cli_printf(cli, "  %-*s%s\n", HELP_COLUMN - 2, "every backend",
               "start, offset_time, check_backlog, last_read_msg_id");
    const struct edxbus_backend_ops *ops;
    for (size_t i = 0; (ops = edxbus_backend_at(i)) != NULL; i++) {
        const char *const *names = ops->abi_version >= 2 ? ops->extra_options : NULL;
        char list[512] = "";
        size_t used = 0;
        for (const char *const *n = names; n != NULL && *n != NULL; n++) {
            int w = snprintf(list + used, sizeof list - used, "%s%s", used ? ", " : "", *n);
            if (w > 0 && (size_t)w < sizeof list - used)
                used += (size_t)w;
        }
        cli_printf(cli, "  %-*s%s\n", HELP_COLUMN - 2, ops->name,
                   used ? list : "(none of its own)");
    }
}

static bool takes_extra(const struct cli_opt *opts)
{
    for (const struct cli_opt *o = opts; o != NULL && o->name != NULL; o++)
        if (strcmp(o->name, "extra") == 0)
            return true;
    return false;
}

void cli_help(struct cli *cli, const struct cli_command *cmd)
{
    cli_printf(cli, "Usage: edxbus%s%s %s\n", cli->path[0] != '\0' ? " " : "", cli->path,
               cmd->usage != NULL ? cmd->usage : "[options]");
    if (cmd->about != NULL)
        cli_printf(cli, "\n%s", cmd->about);
    if (cmd->opts != NULL && cmd->opts[0].name != NULL) {
        cli_printf(cli, "\nOptions:\n");
        help_opts(cli, cmd->opts);
        if (takes_extra(cmd->opts))
            help_extra(cli);
    }
    cli_printf(cli, "\nOptions of every command:\n");
    help_opts(cli, common_opts);
    if (cmd->subs == NULL)
        return;
    size_t width = 0;
    for (const struct cli_command *c = cmd->subs; c->name != NULL; c++) {
        if (strlen(c->name) > width)
            width = strlen(c->name);
    }
    cli_printf(cli, "\nCommands:\n");
    for (const struct cli_command *c = cmd->subs; c->name != NULL; c++)
        cli_printf(cli, "  %-*s  %s\n", (int)width, c->name, c->summary);
    cli_printf(cli, "\nRun 'edxbus %s%s<command> --help' for a command's options.\n", cli->path,
               cli->path[0] != '\0' ? " " : "");
}

/* ---------------------------------------------------------------------------------------------
 * Parsing
 * ------------------------------------------------------------------------------------------- */

void cli_args_init(struct cli_args *args, int argc, char **argv)
{
    args->argc = argc;
    args->argv = argv;
    args->i = 1;
    args->only_args = false;
    args->exit_code = -1;
    args->seen = 0;
}

/* The row of @p opts named @p name (@p len bytes) or, when @p name is NULL, lettered @p c. */
static int find_opt(const struct cli_opt *opts, const char *name, size_t len, char c)
{
    for (int k = 0; opts != NULL && opts[k].name != NULL; k++) {
        if (name != NULL ? strlen(opts[k].name) == len && strncmp(opts[k].name, name, len) == 0
                         : opts[k].short_name == c)
            return k;
    }
    return -1;
}

/* "edxbus avro encode --help" (or "edxbus --help" before a command), for error lines. */
static const char *help_of(const struct cli *cli, char *buf, size_t size)
{
    snprintf(buf, size, "edxbus%s%s --help", cli->path[0] != '\0' ? " " : "", cli->path);
    return buf;
}

/* The option lettered @p c in any command of @p table and below, or NULL. Letters mean one
 * thing in every command, so the first found is the meaning. */
static const struct cli_opt *letter_meaning(const struct cli_command *table, char c)
{
    for (const struct cli_command *cmd = table; cmd->name != NULL; cmd++) {
        for (const struct cli_opt *o = cmd->opts; o != NULL && o->name != NULL; o++) {
            if (o->short_name == c)
                return o;
        }
        const struct cli_opt *o = cmd->subs != NULL ? letter_meaning(cmd->subs, c) : NULL;
        if (o != NULL)
            return o;
    }
    return NULL;
}

/* The error for an option the command does not take: for a letter other commands use, what it
 * means there (avro took -t for the event type before -t meant the topic everywhere); for a
 * long name close to one the command takes, that one. */
static int unknown_opt(struct cli *cli, const char *arg, const char *name, size_t len)
{
    char help[128];
    help_of(cli, help, sizeof help);
    if (name == NULL) {
        const struct cli_opt *o = letter_meaning(cli_commands, arg[1]);
        if (o != NULL && cli->path[0] != '\0')
            cli_error(cli, CLI_USAGE,
                      "unknown option -%c: -%c is --%s, which edxbus %s does not take (see %s)",
                      arg[1], arg[1], o->name, cli->path, help);
        else
            cli_error(cli, CLI_USAGE, "unknown option %s (see %s)", arg, help);
        return CLI_OPT_ERR;
    }
    const char *names[64];
    size_t n = 0;
    for (const struct cli_opt *o = common_opts; o->name != NULL; o++)
        names[n++] = o->name;
    for (const struct cli_opt *o = cli->command->opts; o != NULL && o->name != NULL && n < 63; o++)
        names[n++] = o->name;
    names[n] = NULL;
    char given[48];
    snprintf(given, sizeof given, "%.*s", (int)(len < 47 ? len : 47), name);
    const char *close = cli_closest(given, names);
    if (close != NULL)
        cli_error(cli, CLI_USAGE, "unknown option --%s; did you mean --%s?", given, close);
    else
        cli_error(cli, CLI_USAGE, "unknown option --%s (see %s)", given, help);
    return CLI_OPT_ERR;
}

/* What the options every command takes do. 0 to go on with the next argument, or CLI_OPT_*. */
static int take_common(struct cli *cli, int k, const char *value, int times)
{
    switch (k) {
    case COMMON_SCHEMAS:
        if (cli->n_schema_dirs >= sizeof cli->schema_dirs / sizeof cli->schema_dirs[0]) {
            cli_error(cli, CLI_USAGE, "too many --schemas options (at most %zu)",
                      sizeof cli->schema_dirs / sizeof cli->schema_dirs[0]);
            return CLI_OPT_ERR;
        }
        cli->schema_dirs[cli->n_schema_dirs++] = value;
        return 0;
    case COMMON_VERBOSE:
        cli->verbosity = (cli->verbosity < 0 ? 0 : cli->verbosity) + times;
        return 0;
    case COMMON_QUIET:
        cli->verbosity = -1;
        return 0;
    default: /* COMMON_HELP */
        cli_help(cli, cli->command);
        return CLI_OPT_HELP;
    }
}

/* The value of option @p o (shown as @p shown; @p attached: "=X" or "-tX", else NULL), into
 * *value: refused when a flag has one, when it is missing or empty. 0, or CLI_OPT_ERR. */
static int check_value(struct cli *cli, struct cli_args *args, const struct cli_opt *o,
                       const char *shown, const char *arg, const char *attached, const char **value)
{
    char help[128];
    if (o->value == NULL && attached != NULL) {
        cli_error(cli, CLI_USAGE, "option %s takes no value (got \"%s\")", shown, arg);
        return CLI_OPT_ERR;
    }
    if (o->value == NULL)
        return 0;
    if (attached == NULL && args->i >= args->argc) {
        cli_error(cli, CLI_USAGE, "option %s needs a value %s (see %s)", shown, o->value,
                  help_of(cli, help, sizeof help));
        return CLI_OPT_ERR;
    }
    *value = attached != NULL ? attached : args->argv[args->i++];
    if ((*value)[0] == '\0') {
        cli_error(cli, CLI_USAGE, "option %s: empty %s; give a value (see %s)", shown, o->value,
                  help_of(cli, help, sizeof help));
        return CLI_OPT_ERR;
    }
    return 0;
}

int cli_next_opt(struct cli *cli, struct cli_args *args, const char **value)
{
    for (;;) {
        *value = NULL;
        if (args->i >= args->argc)
            return CLI_OPT_END;
        const char *arg = args->argv[args->i++];
        if (args->only_args || arg[0] != '-' || arg[1] == '\0') {
            *value = arg;
            return CLI_OPT_ARG;
        }
        if (arg[1] == '-' && arg[2] == '\0') {
            args->only_args = true;
            continue;
        }

        /* --name[=VALUE] or -x[VALUE] */
        const char *name = NULL, *attached = NULL;
        size_t len = 0;
        char c = 0;
        int times = 1;
        if (arg[1] == '-') {
            name = arg + 2;
            const char *eq = strchr(name, '=');
            len = eq != NULL ? (size_t)(eq - name) : strlen(name);
            attached = eq != NULL ? eq + 1 : NULL;
        } else {
            c = arg[1];
            attached = arg[2] != '\0' ? arg + 2 : NULL;
            if (c == 'v' && attached != NULL && strspn(attached, "v") == strlen(attached)) {
                times += (int)strlen(attached); /* -vv */
                attached = NULL;
            }
        }
        const struct cli_opt *table = common_opts;
        int k = find_opt(common_opts, name, len, c);
        if (k < 0) {
            table = cli->command->opts;
            k = find_opt(table, name, len, c);
        }
        if (k < 0)
            return unknown_opt(cli, arg, name, len);

        const struct cli_opt *o = &table[k];
        char shown[64];
        if (name != NULL)
            snprintf(shown, sizeof shown, "--%s", o->name);
        else
            snprintf(shown, sizeof shown, "-%c", c);
        if (check_value(cli, args, o, shown, arg, attached, value) != 0)
            return CLI_OPT_ERR;
        if (table != common_opts && o->value != NULL && k < 64) {
            if (args->seen & ((uint64_t)1 << k)) {
                cli_error(cli, CLI_USAGE, "option --%s given twice; give it once", o->name);
                return CLI_OPT_ERR;
            }
            args->seen |= (uint64_t)1 << k;
        }
        if (table != common_opts)
            return k;
        int rc = take_common(cli, k, *value, times);
        if (rc != 0)
            return rc;
    }
}

bool cli_opt_next(struct cli *cli, struct cli_args *args, int *o, const char **value)
{
    *value = NULL;
    *o = cli_next_opt(cli, args, value);
    if (*o == CLI_OPT_HELP)
        args->exit_code = CLI_OK;
    else if (*o == CLI_OPT_ERR)
        args->exit_code = CLI_USAGE;
    return *o >= 0 || *o == CLI_OPT_ARG;
}
