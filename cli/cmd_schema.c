/* cli/cmd_schema.c — `edxbus schema generate | show | fingerprint`: the events' Avro schemas.
 *
 * The schema of an event is the one openedx-events builds at run time (the catalog's schema
 * text). `generate` writes it as openedx-events' own schema files are written: one
 * `<type with '.' replaced by '+'>_schema.avsc` per event, JSON indented by 2 with the keys in
 * the generator's order and no trailing newline, so the files diff cleanly against the
 * openedx_events/event_bus/avro/tests/schemas/ folder. `show` prints one schema (pretty, or
 * compact as schema_string() makes it, or in Parsing Canonical Form); `fingerprint` prints the
 * CRC-64-AVRO of the canonical form as 16 lowercase hex digits.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "cli.h"

/* Parse options common to the single-TYPE commands; returns CLI_OK with *type set, or the
 * exit code to return (CLI_OK after --help, with *type NULL). */
static int one_type(struct cli *cli, int argc, char **argv, const struct cli_opt *opts, bool *flags,
                    const char **type)
{
    struct cli_args args;
    cli_args_init(&args, argc, argv);
    *type = NULL;
    for (;;) {
        const char *value = NULL;
        int opt = cli_next_opt(cli, &args, opts, &value);
        if (opt == CLI_OPT_END)
            break;
        if (opt == CLI_OPT_HELP) {
            *type = NULL;
            return CLI_OK;
        }
        if (opt == CLI_OPT_ERR)
            return CLI_USAGE;
        if (opt >= 0) {
            flags[opt] = true;
            continue;
        }
        if (*type != NULL)
            return cli_error(cli, CLI_USAGE, "unexpected argument \"%s\": one TYPE only", value);
        *type = value;
    }
    if (*type == NULL)
        return cli_error(cli, CLI_USAGE, "missing TYPE (see edxbus %s --help)", cli->path);
    return CLI_OK;
}

static int schema_show(struct cli *cli, int argc, char **argv)
{
    enum { OPT_COMPACT, OPT_CANONICAL };
    static const struct cli_opt opts[] = {
        [OPT_COMPACT] = {"compact", 0, false},
        [OPT_CANONICAL] = {"canonical", 0, false},
        {NULL, 0, false},
    };
    bool flags[2] = {false, false};
    const char *type = NULL;
    int rc = one_type(cli, argc, argv, opts, flags, &type);
    if (rc != CLI_OK || type == NULL)
        return rc;
    if (flags[OPT_COMPACT] && flags[OPT_CANONICAL])
        return cli_error(cli, CLI_USAGE, "--compact and --canonical exclude each other");

    const edxbus_event_type_t *et = cli_find_event(cli, type);
    if (et == NULL)
        return cli->error_code;
    if (!edxbus_event_type_is_serializable(et)) {
        const char *why = edxbus_event_type_unserializable_reason(et);
        return cli_error(cli, CLI_USAGE, "%s has no schema: %s", type,
                         why != NULL ? why : "it cannot be serialized");
    }
    if (flags[OPT_COMPACT])
        return cli_printf(cli, "%s\n", edxbus_event_type_schema_text(et)) ? CLI_OK : CLI_FAIL;
    if (flags[OPT_CANONICAL]) {
        char *canon = edxbus_avro_schema_canonical(edxbus_event_type_schema(et));
        if (canon == NULL)
            return cli_nomem(cli);
        bool ok = cli_printf(cli, "%s\n", canon);
        free(canon);
        return ok ? CLI_OK : CLI_FAIL;
    }
    bool ok = cli_schema_pretty(cli, et, &cli->out) && cli_printf(cli, "\n");
    return ok ? CLI_OK : cli->error_code;
}

static int schema_fingerprint(struct cli *cli, int argc, char **argv)
{
    static const struct cli_opt opts[] = {{NULL, 0, false}};
    bool flags[1] = {false};
    const char *type = NULL;
    int rc = one_type(cli, argc, argv, opts, flags, &type);
    if (rc != CLI_OK || type == NULL)
        return rc;
    const edxbus_event_type_t *et = cli_find_event(cli, type);
    if (et == NULL)
        return cli->error_code;
    const edxbus_avro_schema_t *schema = edxbus_event_type_schema(et);
    if (schema == NULL) {
        const char *why = edxbus_event_type_unserializable_reason(et);
        return cli_error(cli, CLI_USAGE, "%s has no schema: %s", type,
                         why != NULL ? why : "it cannot be serialized");
    }
    uint64_t fp = edxbus_avro_schema_fingerprint(schema);
    return cli_printf(cli, "%016" PRIx64 "\n", fp) ? CLI_OK : CLI_FAIL;
}

/* Write @p len bytes to @p path, replacing it. */
static int write_file(struct cli *cli, const char *path, const uint8_t *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        return cli_error(cli, CLI_FAIL, "cannot create %s: %s", path, strerror(errno));
    bool ok = fwrite(data, 1, len, f) == len;
    int saved = errno;
    if (fclose(f) != 0 && ok) {
        ok = false;
        saved = errno;
    }
    if (!ok)
        return cli_error(cli, CLI_FAIL, "cannot write %s: %s", path, strerror(saved));
    return CLI_OK;
}

static int generate_one(struct cli *cli, const edxbus_event_type_t *et, const char *dir,
                        struct edxbus_buf *text)
{
    const char *name = edxbus_event_type_name(et);
    if (strchr(name, '/') != NULL)
        return cli_error(cli, CLI_USAGE, "event type \"%s\" cannot name a file", name);

    char path[4096];
    int n = snprintf(path, sizeof path, "%s/%s_schema.avsc", dir, name);
    if (n < 0 || (size_t)n >= sizeof path)
        return cli_error(cli, CLI_USAGE, "output path too long: %s", dir);
    /* "org.openedx.x.v1" -> "org+openedx+x+v1", as openedx-events names its schema files. */
    size_t at = strlen(dir) + 1;
    for (char *p = path + at; *p != '\0' && strcmp(p, "_schema.avsc") != 0; p++) {
        if (*p == '.')
            *p = '+';
    }
    edxbus_buf_reset(text);
    if (!cli_schema_pretty(cli, et, text))
        return cli->error_code;
    int rc = write_file(cli, path, text->data, text->len);
    if (rc != CLI_OK)
        return rc;
    return cli_printf(cli, "%s\n", path) ? CLI_OK : CLI_FAIL;
}

static int schema_generate(struct cli *cli, int argc, char **argv)
{
    static const struct cli_opt opts[] = {{"output", 'o', true}, {NULL, 0, false}};
    const char *dir = ".";
    struct cli_args args;
    cli_args_init(&args, argc, argv);
    char **types = calloc((size_t)argc + 1, sizeof *types);
    if (types == NULL)
        return cli_nomem(cli);
    size_t n_types = 0;
    int rc = CLI_OK;
    struct edxbus_buf text = EDXBUS_BUF_INIT;
    for (;;) {
        const char *value = NULL;
        int opt = cli_next_opt(cli, &args, opts, &value);
        if (opt == CLI_OPT_END)
            break;
        if (opt == CLI_OPT_HELP)
            goto out_types;
        if (opt == CLI_OPT_ERR) {
            rc = CLI_USAGE;
            goto out_types;
        }
        if (opt == 0)
            dir = value;
        else
            types[n_types++] = (char *)value;
    }
    if (dir[0] == '\0') {
        rc = cli_error(cli, CLI_USAGE, "--output needs a directory");
        goto out_types;
    }

    /* Check every named type before writing anything. */
    edxbus_catalog_t *cat = cli_catalog(cli);
    if (cat == NULL) {
        rc = cli->error_code;
        goto out_types;
    }
    for (size_t i = 0; i < n_types; i++) {
        const edxbus_event_type_t *et = cli_find_event(cli, types[i]);
        if (et == NULL) {
            rc = cli->error_code;
            goto out_types;
        }
        if (!edxbus_event_type_is_serializable(et)) {
            const char *why = edxbus_event_type_unserializable_reason(et);
            rc = cli_error(cli, CLI_USAGE, "%s has no schema: %s", types[i],
                           why != NULL ? why : "it cannot be serialized");
            goto out_types;
        }
    }
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        rc = cli_error(cli, CLI_FAIL, "cannot create directory %s: %s", dir, strerror(errno));
        goto out_types;
    }

    if (n_types > 0) {
        for (size_t i = 0; i < n_types && rc == CLI_OK; i++)
            rc = generate_one(cli, edxbus_catalog_find(cat, types[i]), dir, &text);
    } else {
        size_t n = edxbus_catalog_count(cat);
        for (size_t i = 0; i < n && rc == CLI_OK; i++) {
            const edxbus_event_type_t *et = edxbus_catalog_at(cat, i);
            if (edxbus_event_type_is_serializable(et))
                rc = generate_one(cli, et, dir, &text);
        }
    }

out_types:
    edxbus_buf_fini(&text);
    free(types);
    return rc;
}

const struct cli_command cmd_schema_subs[] = {
    {
        .name = "generate",
        .summary = "write <type>_schema.avsc files as openedx-events names them",
        .usage = "Usage: edxbus schema generate [-o DIR] [TYPE...]\n"
                 "\n"
                 "Write the schema of each TYPE (default: every event that can be serialized)\n"
                 "to DIR/<type with '.' replaced by '+'>_schema.avsc, in the format of\n"
                 "openedx-events' schema files, and print the paths written.\n"
                 "\n"
                 "Options:\n"
                 "  -o, --output DIR  the directory to write to (created if missing; default .)\n"
                 "  --schemas DIR     also load DIR/*.avsc\n"
                 "  -h, --help        print this help\n",
        .run = schema_generate,
    },
    {
        .name = "show",
        .summary = "print the schema of one event type",
        .usage =
            "Usage: edxbus schema show [--compact | --canonical] TYPE\n"
            "\n"
            "Print the Avro schema of event type TYPE, indented.\n"
            "\n"
            "Options:\n"
            "  --compact       one line, exactly as openedx-events' schema_string() builds it\n"
            "  --canonical     the Parsing Canonical Form (what the fingerprint hashes)\n"
            "  --schemas DIR   also load DIR/*.avsc\n"
            "  -h, --help      print this help\n",
        .run = schema_show,
    },
    {
        .name = "fingerprint",
        .summary = "print the CRC-64-AVRO fingerprint of a schema",
        .usage = "Usage: edxbus schema fingerprint TYPE\n"
                 "\n"
                 "Print the CRC-64-AVRO (Rabin) fingerprint of the Parsing Canonical Form of the\n"
                 "schema of event type TYPE, as 16 lowercase hex digits.\n"
                 "\n"
                 "Options:\n"
                 "  --schemas DIR   also load DIR/*.avsc\n"
                 "  -h, --help      print this help\n",
        .run = schema_fingerprint,
    },
    {.name = NULL},
};
