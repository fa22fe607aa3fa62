/* cli/cli_bus.c — the one output line per event that `consume --print`, `consume --exec` and
 * `tail` share (cli_bus.h), the SECONDS option value of tail and relay, and --json output:
 *
 *     {"metadata": {...seven fields as to_json types them...}, "data": {...}}
 *
 * The data is written straight from the Avro bytes (no JSON tree) when the value is in the
 * catalog's schema; a value the broker says was written under another schema (Kafka, by registry
 * id) is resolved to a tree first, which edxbus_json_write() prints identically. Keeping this in
 * one place is what makes a line from `tail` and a line from `consume` comparable byte for byte.
 */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_bus.h"

edxbus_err_t cli_event_line(const struct edxbus_metadata *md, const edxbus_event_type_t *et,
                            const json_t *data, const uint8_t *value, size_t len,
                            struct edxbus_buf *out, char *errstr, size_t errstr_size)
{
    edxbus_buf_reset(out);
    edxbus_err_t err = edxbus_buf_append(out, "{\"metadata\": ", 13);
    if (err == EDXBUS_OK)
        err = edxbus_metadata_write_json(md, 0, out);
    if (err == EDXBUS_ERR_INVALID_ARG) /* what the tree could not hold either */
        err = EDXBUS_ERR_NOMEM;
    if (err == EDXBUS_OK)
        err = edxbus_buf_append(out, ", \"data\": ", 10);
    if (err == EDXBUS_OK && data != NULL)
        err = edxbus_json_write(data, 0, out);
    else if (err == EDXBUS_OK)
        err = edxbus_event_decode_to_text(et, value != NULL ? value : (const uint8_t *)"", len, out,
                                          errstr, errstr_size);
    if (err == EDXBUS_OK)
        err = edxbus_buf_append(out, "}\n", 2);
    if (err == EDXBUS_ERR_NOMEM)
        snprintf(errstr, errstr_size, "out of memory");
    return err;
}

bool cli_seconds_arg(struct cli *cli, const char *opt, const char *text, int64_t *ms)
{
    char *end = NULL;
    errno = 0;
    double s = strtod(text, &end);
    if (text[0] == '\0' || *end != '\0' || errno != 0 || !isfinite(s) || s <= 0 ||
        s > CLI_SECONDS_MAX) {
        cli_error(cli, CLI_USAGE, "%s: \"%s\" is not a number of seconds above 0", opt, text);
        return false;
    }
    *ms = (int64_t)(s * 1000);
    if (*ms < 1)
        *ms = 1;
    return true;
}

int cli_print_json(struct cli *cli, const json_t *value)
{
    struct edxbus_buf b = EDXBUS_BUF_INIT;
    bool ok = edxbus_json_write(value, 0, &b) == EDXBUS_OK && cli_write(cli, b.data, b.len) &&
              cli_printf(cli, "\n");
    edxbus_buf_fini(&b);
    return ok ? CLI_OK : CLI_FAIL;
}

int cli_exit_code(edxbus_err_t err)
{
    switch (err) {
    case EDXBUS_OK:
        return CLI_OK;
    case EDXBUS_ERR_CONF:
    case EDXBUS_ERR_INVALID_ARG:
        return CLI_USAGE;
    case EDXBUS_ERR_ERRORS_LIMIT:
        return CLI_ERRORS_LIMIT;
    case EDXBUS_ERR_AUTH:
    case EDXBUS_ERR_NOT_FOUND:
        return CLI_BROKER_REFUSED;
    default:
        return CLI_FAIL;
    }
}

bool cli_metrics_start(struct cli *cli, const edxbus_conf_t *conf, const char *address,
                       edxbus_metrics_server_t **srv, int *rc)
{
    char err[EDXBUS_ERRSTR_SIZE] = "";
    if (edxbus_metrics_server_start(conf, address, srv, err, sizeof err) != EDXBUS_OK) {
        *rc = cli_error(cli, CLI_USAGE, "%s", err);
        return false;
    }
    return true;
}

void cli_on_stop_signals(void (*handler)(int))
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}
