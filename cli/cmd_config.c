/* cli/cmd_config.c — `edxbus config check`, and the settings every bus command builds
 * (cli_bus.h): YAML file (--config / EDXBUS_CONFIG), then the environment, then --schemas.
 *
 * `config check` prints the effective settings as JSON with secrets masked (exit 0), or every
 * problem on its own line naming where it is (file and line, setting name), and exits 1. The
 * settings table and its checks are the conf layer's (src/bus/conf*.c); this file only reports.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_bus.h"

/* Quiet by default: warnings and errors, or EVENT_BUS_LOG_LEVEL; -v adds info, -vv (or
 * EDXBUS_DEBUG) debug, -q leaves errors only (the options win over the setting). */
edxbus_log_level_t cli_log_shown(const struct cli *cli)
{
    if (getenv("EDXBUS_DEBUG") != NULL && cli->verbosity >= 0)
        return EDXBUS_LOG_DEBUG;
    if (cli->verbosity == 0 && cli->log_level != 0)
        return (edxbus_log_level_t)cli->log_level;
    return cli->verbosity < 0    ? EDXBUS_LOG_ERROR
           : cli->verbosity == 0 ? EDXBUS_LOG_WARNING
           : cli->verbosity == 1 ? EDXBUS_LOG_INFO
                                 : EDXBUS_LOG_DEBUG;
}

/* With EVENT_BUS_LOG_FORMAT json the library's line is a JSON object, written alone. */
void cli_log_to_stderr(edxbus_log_level_t level, const char *line, void *opaque)
{
    struct cli *cli = opaque;
    if (level > cli_log_shown(cli))
        return;
    if (cli->log_json)
        fprintf(stderr, "%s\n", line);
    else
        fprintf(stderr, "edxbus %s: %s: %s\n", cli->path, edxbus_log_level_name(level), line);
}

/* The settings as every bus command reads them; with @p problems, every bad value is one line
 * there and loading goes on (config check), else the first one ends it. */
static edxbus_conf_t *conf_load(struct cli *cli, const char *config_path, json_t *problems, int *rc)
{
    char err[EDXBUS_ERRSTR_SIZE] = "";
    edxbus_conf_t *conf = edxbus_conf_new();
    if (conf == NULL) {
        *rc = cli_nomem(cli);
        return NULL;
    }
    edxbus_conf_set_log(conf, cli_log_to_stderr, cli);
    edxbus_conf_set_log_level(conf, cli_log_shown(cli)); /* lines not shown are not made */
    edxbus_conf_collect_problems(conf, problems);
    size_t before = json_array_size(problems);
    if (config_path == NULL) {
        const char *env = getenv("EDXBUS_CONFIG");
        if (env != NULL && env[0] != '\0')
            config_path = env;
    }
    /* A bad value with a problem list is recorded there (and loading went on); anything else
     * (no file, YAML syntax, out of memory) ends it. */
    if (config_path != NULL &&
        edxbus_conf_load_yaml(conf, config_path, err, sizeof err) != EDXBUS_OK &&
        json_array_size(problems) == before) {
        *rc = cli_error(cli, CLI_USAGE, "%s", err);
        goto out_conf;
    }
    before = json_array_size(problems);
    if (edxbus_conf_load_env(conf, err, sizeof err) != EDXBUS_OK &&
        json_array_size(problems) == before) {
        *rc = cli_error(cli, CLI_USAGE, "%s", err);
        goto out_conf;
    }
    edxbus_conf_collect_problems(conf, NULL);
    if (problems == NULL && edxbus_conf_check_log(conf, err, sizeof err) != EDXBUS_OK) {
        *rc = cli_error(cli, CLI_USAGE, "%s", err);
        goto out_conf;
    }
    edxbus_log_level_t level;
    cli->log_level = edxbus_conf_log_level(conf, &level) ? (int)level : 0;
    cli->log_json = edxbus_conf_log_json(conf);
    edxbus_conf_set_log_level(conf, cli_log_shown(cli)); /* EVENT_BUS_LOG_LEVEL now known */
    if (cli->n_schema_dirs > 0) {
        /* --schemas adds to whatever EVENT_BUS_SCHEMA_PATH already names. */
        json_t *dirs = json_array();
        const json_t *have = edxbus_conf_get(conf, "EVENT_BUS_SCHEMA_PATH");
        if (json_is_array(have)) {
            json_array_extend(dirs, (json_t *)have);
        } else if (json_is_string(have)) {
            char *copy = strdup(json_string_value(have));
            for (char *d = copy, *next; d != NULL; d = next) {
                next = strchr(d, ':');
                if (next != NULL)
                    *next++ = '\0';
                if (d[0] != '\0')
                    json_array_append_new(dirs, json_string(d));
            }
            free(copy);
        }
        for (size_t i = 0; i < cli->n_schema_dirs; i++)
            json_array_append_new(dirs, json_string(cli->schema_dirs[i]));
        edxbus_err_t e = edxbus_conf_set_json(conf, "EVENT_BUS_SCHEMA_PATH", dirs, err, sizeof err);
        json_decref(dirs);
        if (e != EDXBUS_OK) {
            *rc = cli_error(cli, CLI_USAGE, "--schemas: %s", err);
            goto out_conf;
        }
    }
    return conf;

out_conf:
    edxbus_conf_destroy(conf);
    return NULL;
}

edxbus_conf_t *cli_conf_load(struct cli *cli, const char *config_path, int *rc)
{
    return conf_load(cli, config_path, NULL, rc);
}

int cli_open_failure(const edxbus_conf_t *conf)
{
    edxbus_conf_t *quiet = edxbus_conf_dup(conf);
    if (quiet == NULL)
        return CLI_FAIL;
    edxbus_conf_set_log(quiet, NULL, NULL); /* the one error line says it all */
    int code = edxbus_conf_check(quiet, NULL) == EDXBUS_ERR_CONF ? CLI_USAGE : CLI_FAIL;
    edxbus_conf_destroy(quiet);
    return code;
}

edxbus_bus_t *cli_bus_new(struct cli *cli, edxbus_conf_t *conf, int *rc)
{
    char err[EDXBUS_ERRSTR_SIZE] = "";
    edxbus_bus_t *bus = edxbus_bus_new(conf, err, sizeof err);
    if (bus == NULL) {
        int code = cli_open_failure(conf);
        edxbus_conf_destroy(conf);
        *rc = cli_error(cli, code, "%s", err);
    }
    return bus;
}

json_t *cli_json_arg(struct cli *cli, const char *opt, const char *text)
{
    char err[EDXBUS_ERRSTR_SIZE];
    json_t *v = edxbus_json_loadb(text, strlen(text), EDXBUS_JSON_ANY, err, sizeof err);
    if (v == NULL)
        cli_error(cli, CLI_USAGE, "%s: not JSON (%s)", opt, err);
    return v;
}

bool cli_count_arg(struct cli *cli, const char *opt, const char *text, uint64_t *out)
{
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (text[0] < '0' || text[0] > '9' || *end != '\0' || errno != 0 || v == 0) {
        cli_error(cli, CLI_USAGE, "%s: \"%s\" is not a whole number of at least 1", opt, text);
        return false;
    }
    *out = (uint64_t)v;
    return true;
}

/* ---------------------------------------------------------------------------------------------
 * edxbus config check
 * ------------------------------------------------------------------------------------------- */

static const struct cli_opt check_opts[] = {CLI_OPT_CONFIG, {NULL, 0, NULL, NULL}};

static int cmd_config_check(struct cli *cli, int argc, char **argv)
{
    const char *config = NULL;
    struct cli_args args;
    cli_args_init(&args, argc, argv);
    int o;
    const char *value;
    while (cli_opt_next(cli, &args, &o, &value)) {
        if (o == CLI_OPT_ARG)
            return cli_error(cli, CLI_USAGE, "unexpected argument \"%s\"", value);
        config = value;
    }
    if (args.exit_code >= 0)
        return args.exit_code;
    int rc = CLI_OK;
    json_t *errors = json_array();
    if (errors == NULL)
        return cli_nomem(cli);
    edxbus_conf_t *conf = conf_load(cli, config, errors, &rc);
    if (conf == NULL) {
        json_decref(errors);
        return rc == CLI_USAGE ? CLI_FAIL : rc;
    }
    /* The problems are the output here: don't also log them. */
    edxbus_conf_set_log(conf, NULL, NULL);
    edxbus_err_t err = edxbus_conf_check(conf, errors);
    if (err != EDXBUS_OK || json_array_size(errors) > 0) {
        size_t n = json_array_size(errors);
        for (size_t i = 0; i + 1 < n; i++)
            fprintf(stderr, "edxbus %s: %s\n", cli->path,
                    json_string_value(json_array_get(errors, i)));
        rc = cli_error(cli, CLI_FAIL, "%s",
                       n > 0 ? json_string_value(json_array_get(errors, n - 1))
                             : "invalid settings");
    } else {
        json_t *dump = edxbus_conf_dump(conf);
        char *text = dump ? json_dumps(dump, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
        if (text == NULL || !cli_printf(cli, "%s\n", text))
            rc = text == NULL ? cli_nomem(cli) : CLI_FAIL;
        free(text);
        json_decref(dump);
    }
    json_decref(errors);
    edxbus_conf_destroy(conf);
    return rc;
}

/* ---------------------------------------------------------------------------------------------
 * edxbus config list: the settings table (the core's rows and every backend's)
 * ------------------------------------------------------------------------------------------- */

static const struct cli_opt list_opts[] = {
    {"json", 'j', NULL, "one JSON array of {name, type, default, secret, description}"},
    {NULL, 0, NULL, NULL},
};

static int cmd_config_list(struct cli *cli, int argc, char **argv)
{
    bool as_json = false;
    struct cli_args args;
    cli_args_init(&args, argc, argv);
    int o;
    const char *value;
    while (cli_opt_next(cli, &args, &o, &value)) {
        if (o == CLI_OPT_ARG)
            return cli_error(cli, CLI_USAGE, "unexpected argument \"%s\"", value);
        as_json = true;
    }
    if (args.exit_code >= 0)
        return args.exit_code;
    json_t *rows = edxbus_conf_describe();
    if (rows == NULL)
        return cli_nomem(cli);
    int rc = CLI_OK;
    size_t i;
    const json_t *row;
    if (as_json) {
        char *text = json_dumps(rows, JSON_INDENT(2));
        if (text == NULL || !cli_printf(cli, "%s\n", text))
            rc = text == NULL ? cli_nomem(cli) : CLI_FAIL;
        free(text);
    }
    json_array_foreach(as_json ? NULL : rows, i, row)
    {
        char *def = json_dumps(json_object_get(row, "default"), JSON_ENCODE_ANY | JSON_COMPACT);
        if (def == NULL ||
            !cli_printf(cli, "%-50s %-14s %-12s %s%s\n",
                        json_string_value(json_object_get(row, "name")),
                        json_string_value(json_object_get(row, "type")), def,
                        json_is_true(json_object_get(row, "secret")) ? "(secret) " : "",
                        json_string_value(json_object_get(row, "description"))))
            rc = def == NULL ? cli_nomem(cli) : CLI_FAIL;
        free(def);
        if (rc != CLI_OK)
            break;
    }
    json_decref(rows);
    return rc;
}

const struct cli_command cmd_config_subs[] = {
    {
        .name = "check",
        .summary = "validate the settings and print them, secrets masked",
        .usage = "[options]",
        .about = "Reads the settings as every bus command does: the YAML file of --config (or\n"
                 "of EDXBUS_CONFIG), then environment variables named like settings. Prints the\n"
                 "effective settings as JSON with secrets masked, or every problem on its own\n"
                 "line (file and line, setting name, the fix) and exits 1.\n",
        .opts = check_opts,
        .run = cmd_config_check,
    },
    {
        .name = "list",
        .summary = "list every setting: name, type, default, description",
        .usage = "[options]",
        .about = "Lists every setting edxbus reads: the core's and each backend's own (each\n"
                 "backend brings its rows), with its type, default and one line of description;\n"
                 "secret settings are marked.\n",
        .opts = list_opts,
        .run = cmd_config_list,
    },
    {.name = NULL},
};
