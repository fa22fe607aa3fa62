/* cli/cli_bus.h — what the bus commands (produce, consume, config, dlq, lag) share: building
 * the settings the same way for all of them, logging to stderr, and the bus.
 *
 * Settings come from, in order (later wins): the YAML file named by --config FILE (accepted by
 * every bus command, and before the command: `edxbus --config f.yaml consume ...`) or else by
 * the environment variable EDXBUS_CONFIG; then environment variables named like settings;
 * then --schemas DIR, which adds to EVENT_BUS_SCHEMA_PATH.
 * Log lines of the library go to stderr as `edxbus <command>: <level>: <line>`: warnings and
 * errors by default, info with -v, debug with -vv (or EDXBUS_DEBUG set), errors only with -q.
 * Every bus command puts CLI_OPT_CONFIG (cli.h) in its option table.
 * Implemented in cmd_config.c; the event line (consume, tail) in cli_bus.c.
 */
#ifndef EDXBUS_CLI_BUS_H
#define EDXBUS_CLI_BUS_H

#include "cli.h"
#include "edxbus/edxbus.h"

/** Build the settings (see above) from @p config_path (NULL: EDXBUS_CONFIG, else none).
 *  Returns new, or NULL after reporting (*@p rc gets the exit code: 2 for a bad file). */
edxbus_conf_t *cli_conf_load(struct cli *cli, const char *config_path, int *rc);

/** The log callback cli_conf_load() installs (@p opaque: the struct cli): warnings and errors
 *  by default, -v info, -vv (or EDXBUS_DEBUG) debug, -q errors only, one line each on stderr. */
void cli_log_to_stderr(edxbus_log_level_t level, const char *line, void *opaque);

/** The least severe level -q/-v/-vv (and EDXBUS_DEBUG) show. */
edxbus_log_level_t cli_log_shown(const struct cli *cli);

/** Make a bus of @p conf (taken, also on failure). NULL after reporting (exit 2 when the
 *  settings themselves cannot work, see cli_open_failure()). */
edxbus_bus_t *cli_bus_new(struct cli *cli, edxbus_conf_t *conf, int *rc);

/** The exit code of a bus, producer or consumer that could not open: CLI_USAGE (2) when
 *  `config check` finds the settings of @p conf bad (a bad URL, an unreadable TLS file…),
 *  else CLI_FAIL (1: the broker is down, refused us…). Logs nothing. */
int cli_open_failure(const edxbus_conf_t *conf);

/** Append @p value as one line of JSON to what the command prints (--json output). Returns
 *  CLI_OK, or CLI_FAIL when out of memory. */
int cli_print_json(struct cli *cli, const json_t *value);

/** Parse @p text as a JSON value for option @p opt. NULL after reporting (usage error). */
json_t *cli_json_arg(struct cli *cli, const char *opt, const char *text);

/** Parse a count (a decimal integer of at least 1: --count, --max-events) for option @p opt;
 *  false after reporting (usage error). */
bool cli_count_arg(struct cli *cli, const char *opt, const char *text, uint64_t *out);

/** The exit code of a worker that ended with @p err (consume, bridge, relay): 0 for
 *  EDXBUS_OK, 2 for settings and arguments, 3 for the consecutive-errors limit, 4 when the
 *  broker refused for good (authentication, no such topic), 1 otherwise. */
int cli_exit_code(edxbus_err_t err);

/** Start the metrics listener on @p address (--metrics-address; NULL: EVENT_BUS_METRICS_ADDRESS
 *  of @p conf; neither: *@p srv = NULL). False after reporting (exit code 2 in *@p rc). */
bool cli_metrics_start(struct cli *cli, const edxbus_conf_t *conf, const char *address,
                       edxbus_metrics_server_t **srv, int *rc);

#define CLI_SECONDS_MAX 864000 /* a SECONDS option: ten days is plenty, and keeps ms in range */

/** Route SIGINT and SIGTERM to @p handler (a command's "finish the current event, then exit
 *  0") and ignore SIGPIPE (a closed output is an error of the write, not a death). */
void cli_on_stop_signals(void (*handler)(int));

/** Parse a SECONDS value (a decimal number above 0, at most CLI_SECONDS_MAX) of option @p opt
 *  into milliseconds (at least 1); false after reporting (usage error). */
bool cli_seconds_arg(struct cli *cli, const char *opt, const char *text, int64_t *ms);

/** The line `consume --print` and `tail` print for one event, into @p out (reset first):
 *  {"metadata": {...}, "data": {...}} and a newline. The data is @p data when not NULL, else
 *  the Avro body @p value (@p len bytes, in the catalog schema of @p et) decoded to text.
 *  Errors: the decoder's (EDXBUS_ERR_DECODE…) or EDXBUS_ERR_NOMEM, with one line in @p errstr. */
edxbus_err_t cli_event_line(const struct edxbus_metadata *md, const edxbus_event_type_t *et,
                            const json_t *data, const uint8_t *value, size_t len,
                            struct edxbus_buf *out, char *errstr, size_t errstr_size);

#endif /* EDXBUS_CLI_BUS_H */
