/* cli/cli.h — what every `edxbus` subcommand shares: the command table, option parsing, input
 * reading, hex, the catalog, error lines and exit codes.
 *
 * A command is one row of a table (struct cli_command): name, one-line summary, usage line,
 * description, option table and handler. A group (`events`, `schema`, `avro`) has no handler of
 * its own but a table of subcommands; cli_dispatch() walks down the tables, so `--help`, "did
 * you mean" and dispatch all come from the rows. The top-level table is in commands.c; each
 * command lives in cmd_<name>.c.
 *
 * Declaring a command's options (one table per command; --help is generated from it, and the
 * parser reads the same table, so the two cannot disagree):
 *
 *     enum { OPT_TOPIC, OPT_GROUP, OPT_JSON, OPT_CONFIG };   // indices into the table
 *     const struct cli_opt cmd_lag_opts[] = {
 *         [OPT_TOPIC] = {"topic", 't', "TOPIC", "topic as configured (without the prefix)"},
 *         [OPT_GROUP] = {"group", 'g', "GROUP", "consumer group"},
 *         [OPT_JSON] = {"json", 'j', NULL, "print JSON instead of a table"},
 *         [OPT_CONFIG] = CLI_OPT_CONFIG,
 *         {NULL},
 *     };
 *     // row: {.name = "lag", .usage = "-t TOPIC -g GROUP [options]", .about = "...",
 *     //       .opts = cmd_lag_opts, .run = cmd_lag}
 *     // handler: while (cli_opt_next(cli, &args, &o, &value)) switch (o) { case OPT_TOPIC: ... }
 *
 * A letter means one thing in every command. Take the letter of this map when your option is
 * one of these, give no letter otherwise, and never reuse a letter for something else
 * (tests/cli/test_options.sh walks every command's help and fails on a letter with two
 * meanings):
 *     -t --topic TOPIC        -g --group GROUP        -e --event-type TYPE   -c --config FILE
 *     -n --max-events N       -k --key-field PATH     -d --data JSON|@FILE   -m --metadata JSON
 *     -j --json               -x --hex                -o --output DIR        -h --help
 *     -v --verbose            -q --quiet
 * -h, -v, -q and --schemas DIR are accepted by every command (the parser handles them; never put
 * them in a table). Values are always given as an option with a value; a positional argument is
 * for what the command is about (FILE, TYPE), and tail/lag/dlq also take TOPIC so.
 *
 * Output contract: a handler appends what it prints to cli->out and returns an exit code.
 * main() writes cli->out to stdout only when the code is CLI_OK (or the handler set
 * cli->keep_output and reported no error), so a failing command prints nothing on stdout. Errors go through cli_error(), which writes exactly one line on stderr
 * ("edxbus <command>: <text>"), whatever the text holds, and only the first time it is called.
 * Log lines (cli_bus.h) show warnings and errors by default; -v adds info, -vv debug, -q
 * leaves errors only.
 *
 * To add a subcommand: write cli/cmd_<name>.c with `int cmd_<name>(struct cli *, int, char **)`
 * and its option table as above, then add its prototype and one row in commands.c.
 */
#ifndef EDXBUS_CLI_H
#define EDXBUS_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "edxbus/buf.h"
#include "edxbus/catalog.h"

/* Exit codes. */
enum {
    CLI_OK = 0,   /* success */
    CLI_FAIL = 1, /* the command could not do its job (I/O, out of memory) */
    CLI_USAGE =
        2, /* bad arguments or bad input (unknown type, bad JSON, bytes that don't decode) */
    CLI_ERRORS_LIMIT = 3, /* a worker reached its consecutive-errors limit */
    CLI_BROKER_REFUSED = 4, /* the broker refused for good: authentication, no such topic */
};

struct cli;

struct cli_opt;

/** One row of a command table. A table ends with a row whose name is NULL. --help prints
 *  "Usage: edxbus <path> <usage>", the about text, then the options of @p opts and those every
 *  command takes (and a group's subcommands). */
struct cli_command {
    const char *name;           /* "encode": what the user types */
    const char *summary;        /* one line, shown in the parent's --help */
    const char *usage;          /* after "Usage: edxbus <path> ": "-e TYPE [options] [FILE|-]" */
    const char *about;          /* what the command does: lines of at most 78 columns */
    const struct cli_opt *opts; /* the command's options, or NULL for none */
    /* Runs the command; argv[0] is the command's name, options follow. Returns an exit code.
     * NULL for a group, whose subcommands are in subs. */
    int (*run)(struct cli *cli, int argc, char **argv);
    const struct cli_command *subs; /* a group's subcommands, or NULL */
};

/** The top-level table (commands.c). */
extern const struct cli_command cli_commands[];

/** The state one run of `edxbus` carries through its command. */
struct cli {
    char path[96];                     /* "avro encode": the command, for messages */
    const struct cli_command *command; /* the row being run (its table is parsed, its --help) */
    struct edxbus_buf out;             /* stdout, written by main() only on success */
    const char *schema_dirs[32];       /* --schemas DIR, in order (borrowed from argv) */
    size_t n_schema_dirs;
    edxbus_catalog_t *cat; /* built on first use by cli_catalog() */
    bool errored;          /* an error line was already printed */
    int error_code;        /* the exit code of that error */
    int verbosity;         /* -q: -1, default 0, -v: 1, -vv: 2 (which log lines show) */
    bool keep_output;      /* the output is the result even with a non-zero code (doctor: exit
                              1 says an error-level finding was printed), unless an error line
                              was printed */
    int log_level;         /* EVENT_BUS_LOG_LEVEL once the settings are read; 0: unset */
    bool log_json;         /* EVENT_BUS_LOG_FORMAT json: log and error lines as JSON objects */
};

/** Print "edxbus <path>: <text>" as one line on stderr (newlines and control characters in the
 *  text become spaces). Only the first call prints; later calls are ignored, so a caller may
 *  report and then return without checking. Returns @p code, for `return cli_error(...)`. */
int cli_error(struct cli *cli, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/** cli_error() with CLI_FAIL when out of memory: "out of memory". */
int cli_nomem(struct cli *cli);

/** Append printf-style text to cli->out. Returns false (after reporting) when out of memory. */
bool cli_printf(struct cli *cli, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/** Append bytes to cli->out. Returns false (after reporting) when out of memory. */
bool cli_write(struct cli *cli, const void *data, size_t len);

/* ---------------------------------------------------------------------------------------------
 * Dispatch
 * ------------------------------------------------------------------------------------------- */

/** Run the command argv[0] from @p table (a group walks on to its subcommands). Unknown names
 *  get the closest known one as a suggestion. Returns the exit code. */
int cli_dispatch(struct cli *cli, const struct cli_command *table, int argc, char **argv);

/** Append the --help text of @p cmd: its usage line and about text, its options and those every
 *  command takes, and for a group the list of subcommands. */
void cli_help(struct cli *cli, const struct cli_command *cmd);

/** The name in @p names (NULL-terminated) closest to @p name by edit distance, or NULL when
 *  none is close enough to be worth suggesting. */
const char *cli_closest(const char *name, const char *const *names);

/* ---------------------------------------------------------------------------------------------
 * Options
 * ------------------------------------------------------------------------------------------- */

/** One option a command accepts (see the top of this file). A table ends with a row whose name
 *  is NULL. An option with a value is given as --topic X, --topic=X, -t X or -tX. */
struct cli_opt {
    const char *name;  /* long name without dashes: "event-type" */
    char short_name;   /* 'e' (from the letter map above), or 0 */
    const char *value; /* what the value is, for --help: "TYPE"; NULL for a flag */
    const char *help;  /* --help text; '\n' starts a continuation line */
};

/** The --config row every bus command puts in its table. */
#define CLI_OPT_CONFIG                                                                             \
    {                                                                                              \
        "config", 'c', "FILE", "YAML settings file (default: $EDXBUS_CONFIG)"                      \
    }

/** The --metrics-address row of the long-running bus commands (consume, relay, bridge). */
#define CLI_OPT_METRICS_ADDRESS                                                                    \
    {                                                                                              \
        "metrics-address", 0, "HOST:PORT",                                                         \
            "serve /metrics, /healthz and /readyz there (a bare\n"                                 \
            "PORT binds 127.0.0.1; EVENT_BUS_METRICS_ADDRESS)"                                     \
    }

/** The exit codes of the long-running commands, for their --help. */
#define CLI_EXIT_CODES_HELP                                                                        \
    "Exit codes: 0 stopped by SIGTERM/SIGINT or -n N reached; 1 failure (a restart\n"              \
    "may help: broker unreachable too long, I/O); 2 bad option or setting; 3 the\n"               \
    "consecutive-errors limit was reached; 4 the broker refused for good\n"                        \
    "(authentication, no such topic).\n"

/* What cli_next_opt() returns besides an index into the option table. */
enum {
    CLI_OPT_ARG = -1,  /* a positional argument (in *value); "-" is one */
    CLI_OPT_END = -2,  /* no more arguments */
    CLI_OPT_HELP = -3, /* -h/--help: the help text is in cli->out; return CLI_OK */
    CLI_OPT_ERR = -4,  /* bad option, reported; return CLI_USAGE */
};

/** Walks the arguments of one command (argv[0] is the command's name). */
struct cli_args {
    int argc;
    char **argv;
    int i;          /* next argument */
    bool only_args; /* after "--": everything is positional */
    uint64_t seen;  /* bit k: option k of the table (k < 64) was given (an option with a value
                       may be given once) */
    int exit_code;  /* once cli_opt_next() returned false: -1 at the end of the arguments, else
                       the code the handler returns (CLI_OK after --help, CLI_USAGE) */
};

/** Start walking @p argv (argv[0] is skipped). */
void cli_args_init(struct cli_args *args, int argc, char **argv);

/** The next option or argument of the command being run (cli->command->opts). Returns the
 *  option's index in that table (with *value set for an option that takes one), or one of
 *  CLI_OPT_*. Handles -h/--help, -v/--verbose, -q/--quiet and --schemas DIR itself. Refuses
 *  (CLI_OPT_ERR, reported) an empty value and an option with a value given twice. */
int cli_next_opt(struct cli *cli, struct cli_args *args, const char **value);

/** cli_next_opt() for a handler's option loop, with the ends folded in:
 *
 *      while (cli_opt_next(cli, &args, &o, &value)) { ...o, value... }
 *      if (args.exit_code >= 0)
 *          return args.exit_code;
 *
 *  Returns true with *o (an index into @p opts, or CLI_OPT_ARG) and *value set; false when the
 *  walk is over, with args->exit_code -1 at the end of the arguments, CLI_OK after -h/--help
 *  (the help text is in cli->out) or CLI_USAGE after a bad option (reported). */
bool cli_opt_next(struct cli *cli, struct cli_args *args, int *o, const char **value);

/* ---------------------------------------------------------------------------------------------
 * Input, hex, catalog
 * ------------------------------------------------------------------------------------------- */

/** Read all of @p path ("-" or NULL: standard input) into @p out (reset first). Reports and
 *  returns CLI_USAGE when the file cannot be opened (missing, not readable), CLI_FAIL when
 *  reading it fails; CLI_OK otherwise. */
int cli_read_input(struct cli *cli, const char *path, struct edxbus_buf *out);

/** Append @p len bytes as lowercase hex to @p out. */
bool cli_hex_encode(const uint8_t *data, size_t len, struct edxbus_buf *out);

/** Decode hex text (either case; whitespace anywhere is skipped) into
 *  @p out (reset first). On bad input writes one line to @p errstr and returns false. */
bool cli_hex_decode(const char *text, size_t len, struct edxbus_buf *out, char *errstr,
                    size_t errstr_size);

/** The catalog: the built-in events plus EVENT_BUS_SCHEMA_PATH and --schemas directories,
 *  built on first use. NULL after reporting the error. */
edxbus_catalog_t *cli_catalog(struct cli *cli);

/** Look up @p type; when unknown, report it with a suggestion (CLI_USAGE) and return NULL. */
const edxbus_event_type_t *cli_find_event(struct cli *cli, const char *type);

/** Append the schema of @p et as openedx-events writes its .avsc files: indented by 2, keys in
 *  the order name, type, doc, fields, ... , namespace; no trailing newline. Returns false
 *  (after reporting) on failure. */
bool cli_schema_pretty(struct cli *cli, const edxbus_event_type_t *et, struct edxbus_buf *out);

#endif /* EDXBUS_CLI_H */
