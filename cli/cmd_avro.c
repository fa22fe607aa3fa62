/* cli/cmd_avro.c — `edxbus avro encode` and `edxbus avro decode`: event data <-> Avro binary.
 *
 * encode reads the event data in the plain JSON form ({"enrollment": {...}}), checks and encodes
 * it under the event's schema (edxbus_event_encode) and writes the schemaless Avro binary, or
 * with --hex one line of lowercase hex. decode reads Avro binary (or hex, whitespace allowed)
 * and writes the data as one line of JSON, straight from the bytes
 * (edxbus_event_decode_to_text), in the form Python's json.dumps gives the fastavro result.
 *
 * Bad input of any kind (unknown event type, JSON syntax, a value the schema cannot hold, bytes
 * that do not decode) is exit code 2 with one line on stderr and nothing on stdout.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "edxbus/json.h"

enum { OPT_EVENT_TYPE, OPT_HEX, OPT_NO_CHECKS };

static const struct cli_opt encode_opts[] = {
    [OPT_EVENT_TYPE] = {"event-type", 'e', "TYPE",
                        "the event type, e.g.\n"
                        "org.openedx.learning.course.enrollment.created.v1"},
    [OPT_HEX] = {"hex", 'x', NULL, "write lowercase hex and a newline instead of bytes"},
    [OPT_NO_CHECKS] = {"no-checks", 0, NULL,
                       "skip the checks of datetimes, course keys, UUIDs...\n"
                       "(the shape and types are always checked)"},
    {NULL, 0, NULL, NULL},
};

static const struct cli_opt decode_opts[] = {
    [OPT_EVENT_TYPE] = {"event-type", 'e', "TYPE", "the event type"},
    [OPT_HEX] = {"hex", 'x', NULL, "read hex digits (whitespace allowed) instead of bytes"},
    {NULL, 0, NULL, NULL},
};

struct avro_args {
    const char *type;
    const char *file;
    bool hex;
    bool no_checks;
};

/* Parse the options of encode/decode. Returns CLI_OK with a->type set, or an exit code
 * (CLI_OK after --help, with a->type NULL). */
static int parse_avro_args(struct cli *cli, int argc, char **argv, struct avro_args *a)
{
    memset(a, 0, sizeof *a);
    struct cli_args args;
    cli_args_init(&args, argc, argv);
    int opt;
    const char *value;
    while (cli_opt_next(cli, &args, &opt, &value)) {
        switch (opt) {
        case CLI_OPT_ARG:
            if (a->file != NULL)
                return cli_error(cli, CLI_USAGE, "unexpected argument \"%s\": one FILE only",
                                 value);
            a->file = value;
            break;
        case OPT_EVENT_TYPE:
            a->type = value;
            break;
        case OPT_HEX:
            a->hex = true;
            break;
        case OPT_NO_CHECKS:
            a->no_checks = true;
            break;
        default:
            return CLI_USAGE;
        }
    }
    if (args.exit_code >= 0) {
        a->type = NULL;
        return args.exit_code;
    }
    if (a->type == NULL)
        return cli_error(cli, CLI_USAGE, "missing --event-type TYPE (see edxbus %s --help)",
                         cli->path);
    return CLI_OK;
}

/* What encode and decode start with: their options, then the event type they name. Returns the
 * type, or NULL with *rc the exit code (CLI_OK after --help). */
static const edxbus_event_type_t *avro_event(struct cli *cli, int argc, char **argv,
                                             struct avro_args *a, int *rc)
{
    *rc = parse_avro_args(cli, argc, argv, a);
    if (*rc != CLI_OK || a->type == NULL)
        return NULL;
    const edxbus_event_type_t *et = cli_find_event(cli, a->type);
    if (et == NULL)
        *rc = cli->error_code;
    return et;
}

static int avro_encode(struct cli *cli, int argc, char **argv)
{
    struct avro_args a;
    int rc = CLI_OK;
    const edxbus_event_type_t *et = avro_event(cli, argc, argv, &a, &rc);
    if (et == NULL)
        return rc;

    struct edxbus_buf in = EDXBUS_BUF_INIT;
    struct edxbus_buf bin = EDXBUS_BUF_INIT;
    json_t *data = NULL;
    rc = cli_read_input(cli, a.file, &in);
    if (rc != CLI_OK)
        goto out;
    char errstr[EDXBUS_ERRSTR_SIZE] = "";
    data = edxbus_json_loadb((const char *)in.data, in.len, EDXBUS_JSON_NO_DUPLICATES, errstr,
                             sizeof errstr);
    if (data == NULL) {
        rc = cli_error(cli, CLI_USAGE, "JSON input: %s", errstr);
        goto out;
    }
    edxbus_err_t err = edxbus_event_encode(et, data, a.no_checks ? EDXBUS_AVRO_NO_CHECKS : 0, &bin,
                                           errstr, sizeof errstr);
    if (err != EDXBUS_OK) {
        rc = cli_error(cli, err == EDXBUS_ERR_NOMEM ? CLI_FAIL : CLI_USAGE, "%s",
                       errstr[0] != '\0' ? errstr : edxbus_err2str(err));
        goto out;
    }
    if (a.hex) {
        if (!cli_hex_encode(bin.data, bin.len, &cli->out)) {
            rc = cli_nomem(cli);
            goto out;
        }
        rc = cli_write(cli, "\n", 1) ? CLI_OK : CLI_FAIL;
    } else {
        rc = cli_write(cli, bin.data, bin.len) ? CLI_OK : CLI_FAIL;
    }

out:
    json_decref(data);
    edxbus_buf_fini(&bin);
    edxbus_buf_fini(&in);
    return rc;
}

static int avro_decode(struct cli *cli, int argc, char **argv)
{
    struct avro_args a;
    int rc = CLI_OK;
    const edxbus_event_type_t *et = avro_event(cli, argc, argv, &a, &rc);
    if (et == NULL)
        return rc;

    struct edxbus_buf in = EDXBUS_BUF_INIT;
    struct edxbus_buf bin = EDXBUS_BUF_INIT;
    char errstr[EDXBUS_ERRSTR_SIZE] = "";
    rc = cli_read_input(cli, a.file, &in);
    if (rc != CLI_OK)
        goto out;
    struct edxbus_buf *bytes = &in;
    if (a.hex) {
        if (!cli_hex_decode((const char *)in.data, in.len, &bin, errstr, sizeof errstr)) {
            rc = cli_error(cli, CLI_USAGE, "%s", errstr);
            goto out;
        }
        bytes = &bin;
    }
    edxbus_err_t err =
        edxbus_event_decode_to_text(et, bytes->data, bytes->len, &cli->out, errstr, sizeof errstr);
    if (err != EDXBUS_OK) {
        rc = cli_error(cli, err == EDXBUS_ERR_NOMEM ? CLI_FAIL : CLI_USAGE, "%s",
                       errstr[0] != '\0' ? errstr : edxbus_err2str(err));
        goto out;
    }
    rc = cli_write(cli, "\n", 1) ? CLI_OK : CLI_FAIL;

out:
    edxbus_buf_fini(&bin);
    edxbus_buf_fini(&in);
    return rc;
}

const struct cli_command cmd_avro_subs[] = {
    {
        .name = "encode",
        .summary = "event data (plain JSON) to Avro binary",
        .usage = "-e TYPE [--hex] [--no-checks] [FILE|-]",
        .about = "Read the data of one event of type TYPE as JSON (the plain form openedx-events\n"
                 "hands to its Avro writer, e.g. {\"enrollment\": {...}}) from FILE or standard\n"
                 "input, and write its schemaless Avro binary to standard output.\n",
        .opts = encode_opts,
        .run = avro_encode,
    },
    {
        .name = "decode",
        .summary = "Avro binary to event data (one line of JSON)",
        .usage = "-e TYPE [--hex] [FILE|-]",
        .about = "Read the schemaless Avro binary of one event of type TYPE from FILE or standard\n"
                 "input and write its data as one line of JSON.\n",
        .opts = decode_opts,
        .run = avro_decode,
    },
    {.name = NULL},
};
