/* cli/cmd_schema.c — `edxbus schema generate | show | fingerprint | register | check`: the
 * events' Avro schemas.
 *
 * The schema of an event is the one openedx-events builds at run time (the catalog's schema
 * text). `generate` writes it as openedx-events' own schema files are written: one
 * `<type with '.' replaced by '+'>_schema.avsc` per event, JSON indented by 2 with the keys in
 * the generator's order and no trailing newline, so the files diff cleanly against the
 * openedx_events/event_bus/avro/tests/schemas/ folder. `show` prints one schema (pretty, or
 * compact as schema_string() makes it, or in Parsing Canonical Form); `fingerprint` prints the
 * CRC-64-AVRO of the canonical form as 16 lowercase hex digits.
 *
 * `register` and `check` talk to the Confluent Schema Registry of the Kafka backend
 * (EVENT_BUS_KAFKA_SCHEMA_REGISTRY_URL) through its admin commands (admin.h), under the
 * value subjects its producer uses, "<full topic>-<type>.CloudEvent". Each prints one line per
 * event as soon as the registry answers, straight to stdout (as `produce --print-ids` does), so
 * a failure part way still shows what was done; `check` exits 1 when any schema is
 * incompatible, after printing every line.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "cli_bus.h"

/* Look up @p type, which must have a schema; NULL after reporting (unknown: cli_find_event()'s
 * error; no schema: CLI_USAGE with the reason). */
static const edxbus_event_type_t *find_with_schema(struct cli *cli, const char *type)
{
    const edxbus_event_type_t *et = cli_find_event(cli, type);
    if (et == NULL)
        return NULL;
    if (!edxbus_event_type_is_serializable(et)) {
        const char *why = edxbus_event_type_unserializable_reason(et);
        cli_error(cli, CLI_USAGE, "%s has no schema: %s", type,
                  why != NULL ? why : "it cannot be serialized");
        return NULL;
    }
    return et;
}

/* The catalog, after checking that each of the @p n types in @p names exists and has a schema
 * (before anything is written). NULL after reporting, as find_with_schema(). */
static edxbus_catalog_t *catalog_with_schemas(struct cli *cli, const char *const *names, size_t n)
{
    edxbus_catalog_t *cat = cli_catalog(cli);
    if (cat == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (find_with_schema(cli, names[i]) == NULL)
            return NULL;
    }
    return cat;
}

/* Parse options common to the single-TYPE commands; returns CLI_OK with *type set, or the
 * exit code to return (CLI_OK after --help, with *type NULL). */
static int one_type(struct cli *cli, int argc, char **argv, bool *flags, const char **type)
{
    struct cli_args args;
    cli_args_init(&args, argc, argv);
    *type = NULL;
    int opt;
    const char *value;
    while (cli_opt_next(cli, &args, &opt, &value)) {
        if (opt >= 0) {
            flags[opt] = true;
            continue;
        }
        if (*type != NULL)
            return cli_error(cli, CLI_USAGE, "unexpected argument \"%s\": one TYPE only", value);
        *type = value;
    }
    if (args.exit_code >= 0) {
        *type = NULL;
        return args.exit_code;
    }
    if (*type == NULL)
        return cli_error(cli, CLI_USAGE, "missing TYPE (see edxbus %s --help)", cli->path);
    return CLI_OK;
}

enum { OPT_COMPACT, OPT_CANONICAL };

static const struct cli_opt show_opts[] = {
    [OPT_COMPACT] = {"compact", 0, NULL,
                     "one line, exactly as openedx-events' schema_string()\nbuilds it"},
    [OPT_CANONICAL] = {"canonical", 0, NULL,
                       "the Parsing Canonical Form (what the fingerprint\nhashes)"},
    {NULL, 0, NULL, NULL},
};

static int schema_show(struct cli *cli, int argc, char **argv)
{
    bool flags[2] = {false, false};
    const char *type = NULL;
    int rc = one_type(cli, argc, argv, flags, &type);
    if (rc != CLI_OK || type == NULL)
        return rc;
    if (flags[OPT_COMPACT] && flags[OPT_CANONICAL])
        return cli_error(cli, CLI_USAGE, "--compact and --canonical exclude each other");

    const edxbus_event_type_t *et = find_with_schema(cli, type);
    if (et == NULL)
        return cli->error_code;
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
    bool flags[1] = {false};
    const char *type = NULL;
    int rc = one_type(cli, argc, argv, flags, &type);
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

static const struct cli_opt generate_opts[] = {
    {"output", 'o', "DIR", "the directory to write to (created if missing;\ndefault .)"},
    {NULL, 0, NULL, NULL},
};

static int schema_generate(struct cli *cli, int argc, char **argv)
{
    const char *dir = ".";
    struct cli_args args;
    cli_args_init(&args, argc, argv);
    const char **types = calloc((size_t)argc + 1, sizeof *types);
    if (types == NULL)
        return cli_nomem(cli);
    size_t n_types = 0;
    int rc = CLI_OK;
    struct edxbus_buf text = EDXBUS_BUF_INIT;
    int opt;
    const char *value;
    while (cli_opt_next(cli, &args, &opt, &value)) {
        if (opt == 0)
            dir = value;
        else
            types[n_types++] = value;
    }
    if (args.exit_code >= 0) {
        rc = args.exit_code;
        goto out_types;
    }
    if (dir[0] == '\0') {
        rc = cli_error(cli, CLI_USAGE, "--output needs a directory");
        goto out_types;
    }

    /* Check every named type before writing anything. */
    edxbus_catalog_t *cat = catalog_with_schemas(cli, types, n_types);
    if (cat == NULL) {
        rc = cli->error_code;
        goto out_types;
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

/* ---------------------------------------------------------------------------------------------
 * register, check: the Schema Registry of the Kafka backend
 * ------------------------------------------------------------------------------------------- */

/* What register and check share: settings, the full topic, the registry and the events. */
struct registry_run {
    edxbus_conf_t *conf;
    edxbus_admin_t *adm;          /* the backend serving the registry commands (Kafka's) */
    struct edxbus_buf full_topic; /* NUL-terminated */
    const edxbus_event_type_t **types;
    size_t ntypes;
};

static void registry_run_fini(struct registry_run *r)
{
    edxbus_admin_close(r->adm);
    edxbus_conf_destroy(r->conf);
    edxbus_buf_fini(&r->full_topic);
    free(r->types);
}

/* The events EVENT_BUS_PRODUCER_CONFIG routes to @p topic, into r->types. */
static int routed_types(struct cli *cli, struct registry_run *r, const edxbus_catalog_t *cat,
                        const char *topic)
{
    char err[EDXBUS_ERRSTR_SIZE] = "";
    const json_t *config = edxbus_conf_get(r->conf, "EVENT_BUS_PRODUCER_CONFIG");
    edxbus_routing_t *routing = edxbus_routing_new(config, cat, err, sizeof err);
    if (routing == NULL)
        return cli_error(cli, CLI_USAGE, "%s", err);
    size_t n = edxbus_routing_count(routing);
    int rc = CLI_OK;
    r->types = calloc(n + 1, sizeof *r->types);
    if (r->types == NULL) {
        rc = cli_nomem(cli);
        goto out_routing;
    }
    for (size_t i = 0; i < n; i++) {
        const char *type = edxbus_routing_event_type_at(routing, i);
        const struct edxbus_route *routes = NULL;
        size_t nroutes = edxbus_routing_routes(routing, type, &routes);
        for (size_t j = 0; j < nroutes; j++) {
            const edxbus_event_type_t *et = edxbus_catalog_find(cat, type);
            if (strcmp(routes[j].topic, topic) == 0 && et != NULL &&
                edxbus_event_type_is_serializable(et)) {
                r->types[r->ntypes++] = et;
                break;
            }
        }
    }
    if (r->ntypes == 0)
        rc = cli_error(cli, CLI_USAGE,
                       "no TYPE given, and EVENT_BUS_PRODUCER_CONFIG routes no event to topic "
                       "\"%s\"; name the event types",
                       topic);
out_routing:
    edxbus_routing_destroy(routing);
    return rc;
}

/* Parse `--topic TOPIC [--config FILE] [TYPE...]`, load the settings, check every TYPE (or find
 * the routed ones) and open the registry client. CLI_OK with r filled; CLI_OK with r->conf
 * NULL after --help; otherwise the exit code, after reporting. */
enum { OPT_REG_TOPIC, OPT_REG_CONFIG };

static const struct cli_opt registry_opts[] = {
    [OPT_REG_TOPIC] = {"topic", 't', "TOPIC", "topic as configured (without the prefix)"},
    [OPT_REG_CONFIG] = CLI_OPT_CONFIG,
    {NULL, 0, NULL, NULL},
};

static int registry_start(struct cli *cli, int argc, char **argv, const char *command,
                          struct registry_run *r)
{
    const char *topic = NULL, *config = NULL;
    struct cli_args args;
    cli_args_init(&args, argc, argv);
    memset(r, 0, sizeof *r);
    edxbus_buf_init(&r->full_topic);
    const char **named = calloc((size_t)argc + 1, sizeof *named);
    if (named == NULL)
        return cli_nomem(cli);
    size_t nnamed = 0;
    int rc = CLI_OK;
    int opt;
    const char *value;
    while (cli_opt_next(cli, &args, &opt, &value)) {
        if (opt == OPT_REG_TOPIC)
            topic = value;
        else if (opt == OPT_REG_CONFIG)
            config = value;
        else
            named[nnamed++] = value;
    }
    if (args.exit_code >= 0) {
        rc = args.exit_code;
        goto out_named;
    }
    if (topic == NULL || topic[0] == '\0') {
        rc = cli_error(cli, CLI_USAGE, "--topic TOPIC is required (see edxbus %s --help)",
                       cli->path);
        goto out_named;
    }
    edxbus_catalog_t *cat = catalog_with_schemas(cli, named, nnamed);
    if (cat == NULL) {
        rc = cli->error_code;
        goto out_named;
    }
    r->conf = cli_conf_load(cli, config, &rc);
    if (r->conf == NULL)
        goto out_named;
    if (nnamed > 0) {
        r->types = calloc(nnamed, sizeof *r->types);
        if (r->types == NULL) {
            rc = cli_nomem(cli);
            goto out_named;
        }
        for (size_t i = 0; i < nnamed; i++)
            r->types[r->ntypes++] = edxbus_catalog_find(cat, named[i]);
    } else {
        rc = routed_types(cli, r, cat, topic);
        if (rc != CLI_OK)
            goto out_named;
    }
    const char *prefix = edxbus_conf_get_str(r->conf, "EVENT_BUS_TOPIC_PREFIX", NULL);
    if (edxbus_routing_full_topic(prefix, topic, &r->full_topic) != EDXBUS_OK ||
        edxbus_buf_terminate(&r->full_topic) != EDXBUS_OK) {
        rc = cli_nomem(cli);
        goto out_named;
    }
    char err[EDXBUS_ERRSTR_SIZE] = "";
    edxbus_err_t e = edxbus_admin_open(r->conf, command, &r->adm, err, sizeof err);
    if (e != EDXBUS_OK)
        rc = cli_error(cli, e == EDXBUS_ERR_CONF ? CLI_USAGE : CLI_FAIL, "%s", err);
out_named:
    free(named);
    return rc;
}

/* One result line, straight to stdout (see the top of the file). */
static bool print_now(struct cli *cli, const char *subject, const char *what)
{
    if (printf("%s %s\n", subject, what) < 0 || fflush(stdout) != 0) {
        cli_error(cli, CLI_FAIL, "cannot write to standard output");
        return false;
    }
    return true;
}

/* Run @p command on one event type's schema: *@p out gets the result, or an error is reported. */
static int registry_call(struct cli *cli, struct registry_run *r, const char *command, size_t i,
                         json_t **out)
{
    char err[EDXBUS_ERRSTR_SIZE] = "";
    json_t *args = json_pack("{s:s, s:s}", "topic", (const char *)r->full_topic.data, "schema",
                             edxbus_event_type_schema_text(r->types[i]));
    if (args == NULL)
        return cli_nomem(cli);
    edxbus_err_t e = edxbus_admin_run(r->adm, command, args, out, err, sizeof err);
    json_decref(args);
    if (e != EDXBUS_OK)
        return cli_error(cli, CLI_FAIL, "%s: %s", edxbus_event_type_name(r->types[i]), err);
    return CLI_OK;
}

static int schema_register(struct cli *cli, int argc, char **argv)
{
    struct registry_run r;
    int rc = registry_start(cli, argc, argv, "schema-register", &r);
    if (rc != CLI_OK || r.conf == NULL)
        goto out;
    for (size_t i = 0; i < r.ntypes && rc == CLI_OK; i++) {
        json_t *res = NULL;
        rc = registry_call(cli, &r, "schema-register", i, &res);
        char text[24];
        snprintf(text, sizeof text, "%" JSON_INTEGER_FORMAT,
                 json_integer_value(json_object_get(res, "id")));
        if (rc == CLI_OK &&
            !print_now(cli, json_string_value(json_object_get(res, "subject")), text))
            rc = CLI_FAIL;
        json_decref(res);
    }
out:
    registry_run_fini(&r);
    return rc;
}

static int schema_check(struct cli *cli, int argc, char **argv)
{
    struct registry_run r;
    int rc = registry_start(cli, argc, argv, "schema-check", &r);
    if (rc != CLI_OK || r.conf == NULL)
        goto out;
    size_t incompatible = 0;
    const char *first_bad = NULL;
    for (size_t i = 0; i < r.ntypes && rc == CLI_OK; i++) {
        json_t *res = NULL;
        rc = registry_call(cli, &r, "schema-check", i, &res);
        const char *status = json_string_value(json_object_get(res, "status"));
        if (rc != CLI_OK) {
            /* reported */
        } else if (status == NULL ||
                   !print_now(cli, json_string_value(json_object_get(res, "subject")), status)) {
            rc = CLI_FAIL;
        } else if (strcmp(status, "incompatible") == 0) {
            if (incompatible++ == 0)
                first_bad = edxbus_event_type_name(r.types[i]);
        }
        json_decref(res);
    }
    if (rc == CLI_OK && incompatible > 0)
        rc = cli_error(cli, CLI_FAIL,
                       "%zu of %zu schemas are incompatible with what the registry holds for "
                       "topic %s (first: %s)",
                       incompatible, r.ntypes, (const char *)r.full_topic.data, first_bad);
out:
    registry_run_fini(&r);
    return rc;
}

const struct cli_command cmd_schema_subs[] = {
    {
        .name = "generate",
        .summary = "write <type>_schema.avsc files as openedx-events names them",
        .usage = "[-o DIR] [TYPE...]",
        .about = "Write the schema of each TYPE (default: every event that can be serialized)\n"
                 "to DIR/<type with '.' replaced by '+'>_schema.avsc, in the format of\n"
                 "openedx-events' schema files, and print the paths written.\n",
        .opts = generate_opts,
        .run = schema_generate,
    },
    {
        .name = "show",
        .summary = "print the schema of one event type",
        .usage = "[--compact | --canonical] TYPE",
        .about = "Print the Avro schema of event type TYPE, indented.\n",
        .opts = show_opts,
        .run = schema_show,
    },
    {
        .name = "fingerprint",
        .summary = "print the CRC-64-AVRO fingerprint of a schema",
        .usage = "TYPE",
        .about = "Print the CRC-64-AVRO (Rabin) fingerprint of the Parsing Canonical Form of the\n"
                 "schema of event type TYPE, as 16 lowercase hex digits.\n",
        .run = schema_fingerprint,
    },
    {
        .name = "register",
        .summary = "register the events' schemas in the Kafka Schema Registry",
        .usage = "-t TOPIC [options] [TYPE...]",
        .about = "Register the schema of each TYPE (default: the events EVENT_BUS_PRODUCER_CONFIG\n"
                 "routes to TOPIC) in EVENT_BUS_KAFKA_SCHEMA_REGISTRY_URL under the subject the\n"
                 "Kafka producer uses, <full topic>-<type>.CloudEvent (EVENT_BUS_TOPIC_PREFIX is\n"
                 "added to TOPIC), and print \"<subject> <id>\" per event as it is registered.\n"
                 "A schema the subject's compatibility level refuses is an error (exit 1).\n",
        .opts = registry_opts,
        .run = schema_register,
    },
    {
        .name = "check",
        .summary = "check the events' schemas against the Kafka Schema Registry",
        .usage = "-t TOPIC [options] [TYPE...]",
        .about = "For each TYPE (default: the events EVENT_BUS_PRODUCER_CONFIG routes to TOPIC),\n"
                 "ask EVENT_BUS_KAFKA_SCHEMA_REGISTRY_URL whether the catalog's schema is\n"
                 "compatible with what it holds under <full topic>-<type>.CloudEvent, by the\n"
                 "subject's compatibility level, and print \"<subject> compatible\",\n"
                 "\"<subject> incompatible\" or \"<subject> not registered\". Exit 1 when any is\n"
                 "incompatible (after every line).\n",
        .opts = registry_opts,
        .run = schema_check,
    },
    {.name = NULL},
};
