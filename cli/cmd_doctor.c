/* cli/cmd_doctor.c — `edxbus doctor [-t TOPIC] [-g GROUP] [--interval SECONDS] [-j]`: the
 * settings checked against the live broker (edxbus_doctor_run(), doctor.h).
 *
 * One line per finding: severity, the check's name, what it is about, what was seen and the
 * fix; then a count. --json prints one object {"findings": [...], "errors", "warnings",
 * "infos"} instead. Exit 0 when no finding is an error, 1 when one is (the findings are still
 * printed: they are the result), 2 for bad options or settings no command would accept.
 */
#include <stdio.h>
#include <string.h>

#include "cli_bus.h"

enum { OPT_TOPIC, OPT_GROUP, OPT_INTERVAL, OPT_JSON, OPT_CONFIG };

const struct cli_opt cmd_doctor_opts[] = {
    [OPT_TOPIC] = {"topic", 't', "TOPIC", "look only at this topic (and its dead letters)"},
    [OPT_GROUP] = {"group", 'g', "GROUP", "look only at this consumer group"},
    [OPT_INTERVAL] = {"interval", 0, "SECONDS",
                      "time between the two samples of each group's lag (default 1)"},
    [OPT_JSON] = {"json", 'j', NULL,
                  "one JSON object: findings (severity, backend, check, subject,\n"
                  "text, fix, details), errors, warnings, infos"},
    [OPT_CONFIG] = CLI_OPT_CONFIG,
    {NULL, 0, NULL, NULL},
};

struct collect {
    json_t *findings;
    int counts[3];
    bool nomem;
};

static void on_finding(void *opaque, const struct edxbus_finding *f)
{
    struct collect *c = opaque;
    c->counts[f->severity]++;
    json_t *o = json_pack("{s:s, s:s, s:s, s:s?, s:s, s:s?, s:O?}", "severity",
                          edxbus_severity_name(f->severity), "backend", f->backend, "check",
                          f->check ? f->check : "?", "subject", f->subject, "text", f->text,
                          "fix", f->fix, "details", f->details);
    if (o == NULL || json_array_append_new(c->findings, o) != 0)
        c->nomem = true;
}

static const char *str_of(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static void print_text(struct cli *cli, const struct collect *c)
{
    size_t i;
    const json_t *f;
    json_array_foreach(c->findings, i, f)
    {
        const char *subject = str_of(f, "subject"), *fix = str_of(f, "fix");
        cli_printf(cli, "%-7s %s %s: %s%s%s%s%s\n", str_of(f, "severity"), str_of(f, "backend"),
                   str_of(f, "check"), subject ? subject : "", subject ? ": " : "",
                   str_of(f, "text"), fix ? "; fix: " : "", fix ? fix : "");
    }
    cli_printf(cli, "%d error(s), %d warning(s), %d info\n", c->counts[EDXBUS_SEVERITY_ERROR],
               c->counts[EDXBUS_SEVERITY_WARNING], c->counts[EDXBUS_SEVERITY_INFO]);
}

int cmd_doctor(struct cli *cli, int argc, char **argv)
{
    struct edxbus_doctor_opts opts = {.interval_ms = 1000};
    const char *config = NULL;
    bool as_json = false;
    struct cli_args args;
    cli_args_init(&args, argc, argv);
    int o;
    const char *value;
    while (cli_opt_next(cli, &args, &o, &value)) {
        if (o == OPT_TOPIC)
            opts.topic = value;
        else if (o == OPT_GROUP)
            opts.group = value;
        else if (o == OPT_INTERVAL) {
            if (!cli_seconds_arg(cli, "--interval", value, &opts.interval_ms))
                return CLI_USAGE;
        } else if (o == OPT_JSON)
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
    struct collect c = {.findings = json_array()};
    edxbus_severity_t worst = EDXBUS_SEVERITY_INFO;
    edxbus_err_t e = c.findings == NULL
                         ? EDXBUS_ERR_NOMEM
                         : edxbus_doctor_run(conf, &opts, on_finding, &c, &worst, err, sizeof err);
    if (e == EDXBUS_OK && c.nomem)
        e = EDXBUS_ERR_NOMEM;
    if (e != EDXBUS_OK) {
        rc = e == EDXBUS_ERR_NOMEM ? cli_nomem(cli)
                                   : cli_error(cli, e == EDXBUS_ERR_CONF ? CLI_USAGE : CLI_FAIL,
                                               "%s", err);
    } else if (as_json) {
        json_t *out = json_pack("{s:O, s:i, s:i, s:i}", "findings", c.findings, "errors",
                                c.counts[EDXBUS_SEVERITY_ERROR], "warnings",
                                c.counts[EDXBUS_SEVERITY_WARNING], "infos",
                                c.counts[EDXBUS_SEVERITY_INFO]);
        rc = out ? cli_print_json(cli, out) : cli_nomem(cli);
        json_decref(out);
    } else {
        print_text(cli, &c);
    }
    if (rc == CLI_OK && worst == EDXBUS_SEVERITY_ERROR) {
        cli->keep_output = true; /* the findings are the result, also with exit 1 */
        rc = CLI_FAIL;
    }
    json_decref(c.findings);
    edxbus_conf_destroy(conf);
    return rc;
}
