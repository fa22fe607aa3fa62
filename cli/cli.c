/* cli/cli.c — the helpers every subcommand shares (declared in cli.h): error lines, buffered
 * stdout, table dispatch with "did you mean", reading input, hex, and the catalog with the
 * user's schema directories. Option parsing and --help are in cli_opts.c.
 *
 * Design: nothing here exits or prints to stdout. Handlers return an exit code; errors go
 * through cli_error(), which prints one line and only the first time, so that an error deep in
 * a helper and the handler that returns after it can never print two lines.
 */
#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

/* ---------------------------------------------------------------------------------------------
 * Errors and output
 * ------------------------------------------------------------------------------------------- */

int cli_error(struct cli *cli, int code, const char *fmt, ...)
{
    if (cli->errored)
        return code;
    cli->errored = true;
    cli->error_code = code;

    char text[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    /* One line, whatever the library or the input put in the text. */
    for (char *p = text; *p != '\0'; p++) {
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = ' ';
    }
    if (cli->log_json) { /* EVENT_BUS_LOG_FORMAT json: the error line is a log object too */
        char when[40], message[1200];
        time_t now = time(NULL);
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S.000Z", &tm);
        snprintf(message, sizeof message, "edxbus%s%s: %s", cli->path[0] ? " " : "", cli->path,
                 text);
        json_t *o = json_pack("{s:s, s:s, s:s?, s:i}", "time", when, "level", "error", "message",
                              message, "exit_code", code);
        char *line = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
        fprintf(stderr, "%s\n", line != NULL ? line : message);
        free(line);
        json_decref(o);
        return code;
    }
    if (cli->path[0] != '\0')
        fprintf(stderr, "edxbus %s: %s\n", cli->path, text);
    else
        fprintf(stderr, "edxbus: %s\n", text);
    return code;
}

int cli_nomem(struct cli *cli)
{
    return cli_error(cli, CLI_FAIL, "out of memory");
}

bool cli_printf(struct cli *cli, const char *fmt, ...)
{
    char small[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        cli_error(cli, CLI_FAIL, "cannot format output");
        return false;
    }
    if ((size_t)n < sizeof small)
        return cli_write(cli, small, (size_t)n);

    char *big = malloc((size_t)n + 1);
    if (big == NULL) {
        cli_nomem(cli);
        return false;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    bool ok = cli_write(cli, big, (size_t)n);
    free(big);
    return ok;
}

bool cli_write(struct cli *cli, const void *data, size_t len)
{
    if (edxbus_buf_append(&cli->out, data, len) != EDXBUS_OK) {
        cli_nomem(cli);
        return false;
    }
    return true;
}

/* ---------------------------------------------------------------------------------------------
 * Dispatch and help
 * ------------------------------------------------------------------------------------------- */

static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64)
        return (size_t)-1;
    size_t row[65];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            size_t best = diag + cost;
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

const char *cli_closest(const char *name, const char *const *names)
{
    const char *best = NULL;
    size_t best_d = (size_t)-1;
    for (size_t i = 0; names[i] != NULL; i++) {
        size_t d = edit_distance(name, names[i]);
        /* A prefix of a command ("gen" for "generate") is worth suggesting too. */
        if (strlen(name) >= 2 && strncmp(names[i], name, strlen(name)) == 0)
            d = 1;
        if (d < best_d) {
            best_d = d;
            best = names[i];
        }
    }
    /* Suggest only what is plausibly a typo: at most a third of the name wrong. */
    size_t limit = strlen(name) / 3 + 1;
    return best_d <= limit ? best : NULL;
}

static void names_of(const struct cli_command *table, const char **names, size_t cap)
{
    size_t n = 0;
    for (const struct cli_command *c = table; c->name != NULL && n + 1 < cap; c++)
        names[n++] = c->name;
    names[n] = NULL;
}

/* Append @p name to cli->path ("avro" then "avro encode"). */
static void path_push(struct cli *cli, const char *name)
{
    size_t len = strlen(cli->path);
    snprintf(cli->path + len, sizeof cli->path - len, "%s%s", len > 0 ? " " : "", name);
}

/* A group: its own options (-h, --schemas) then a subcommand. */
static int run_group(struct cli *cli, const struct cli_command *group, int argc, char **argv)
{
    struct cli_args args;
    cli_args_init(&args, argc, argv);
    /* Options before the subcommand's name; the first positional is that name. */
    int opt;
    const char *value;
    while (cli_opt_next(cli, &args, &opt, &value)) {
        if (opt == CLI_OPT_ARG) /* the subcommand's name was argv[args.i - 1] */
            return cli_dispatch(cli, group->subs, argc - (args.i - 1), argv + (args.i - 1));
    }
    if (args.exit_code >= 0)
        return args.exit_code;
    const char *names[32];
    names_of(group->subs, names, 32);
    char list[256] = "";
    size_t used = 0;
    for (size_t i = 0; names[i] != NULL; i++) {
        int n = snprintf(list + used, sizeof list - used, "%s%s", i > 0 ? ", " : "", names[i]);
        if (n < 0 || (size_t)n >= sizeof list - used)
            break;
        used += (size_t)n;
    }
    return cli_error(cli, CLI_USAGE, "missing command; expected one of %s (see edxbus %s --help)",
                     list, cli->path);
}

int cli_dispatch(struct cli *cli, const struct cli_command *table, int argc, char **argv)
{
    const char *name = argv[0];
    for (const struct cli_command *c = table; c->name != NULL; c++) {
        if (strcmp(c->name, name) != 0)
            continue;
        path_push(cli, c->name);
        cli->command = c;
        if (c->run != NULL)
            return c->run(cli, argc, argv);
        return run_group(cli, c, argc, argv);
    }
    const char *names[32];
    names_of(table, names, 32);
    const char *close = cli_closest(name, names);
    const char *where = cli->path[0] != '\0' ? cli->path : "";
    if (close != NULL)
        return cli_error(cli, CLI_USAGE, "unknown command \"%s\"; did you mean %s?", name, close);
    return cli_error(cli, CLI_USAGE, "unknown command \"%s\" (see edxbus %s%s--help)", name, where,
                     where[0] != '\0' ? " " : "");
}

/* ---------------------------------------------------------------------------------------------
 * Input and hex
 * ------------------------------------------------------------------------------------------- */

int cli_read_input(struct cli *cli, const char *path, struct edxbus_buf *out)
{
    bool use_stdin = path == NULL || strcmp(path, "-") == 0;
    const char *shown = use_stdin ? "standard input" : path;
    FILE *f = use_stdin ? stdin : fopen(path, "rb");
    /* A file the user named that is not there (or not readable) is bad input, as a bad
     * option is: exit 2. A read that fails part way is a failure of the machine: exit 1. */
    if (f == NULL)
        return cli_error(cli, CLI_USAGE, "cannot open %s: %s", shown, strerror(errno));

    int rc = CLI_OK;
    edxbus_buf_reset(out);
    for (;;) {
        if (edxbus_buf_reserve(out, 65536) != EDXBUS_OK) {
            rc = cli_nomem(cli);
            break;
        }
        size_t n = fread(out->data + out->len, 1, out->cap - out->len, f);
        out->len += n;
        if (n == 0) {
            if (ferror(f))
                rc = cli_error(cli, CLI_FAIL, "cannot read %s: %s", shown, strerror(errno));
            break;
        }
    }
    if (!use_stdin)
        fclose(f);
    return rc;
}

bool cli_hex_encode(const uint8_t *data, size_t len, struct edxbus_buf *out)
{
    static const char digits[] = "0123456789abcdef";
    if (edxbus_buf_reserve(out, len * 2) != EDXBUS_OK)
        return false;
    char *p = (char *)out->data + out->len;
    for (size_t i = 0; i < len; i++) {
        p[2 * i] = digits[data[i] >> 4];
        p[2 * i + 1] = digits[data[i] & 0xf];
    }
    out->len += len * 2;
    return true;
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

bool cli_hex_decode(const char *text, size_t len, struct edxbus_buf *out, char *errstr,
                    size_t errstr_size)
{
    edxbus_buf_reset(out);
    if (edxbus_buf_reserve(out, len / 2 + 1) != EDXBUS_OK) {
        snprintf(errstr, errstr_size, "out of memory");
        return false;
    }
    int high = -1; /* the first digit of a pair, while waiting for the second */
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (is_space(c))
            continue;
        int d = hex_digit(c);
        if (d < 0) {
            if ((unsigned char)c >= 0x20 && (unsigned char)c < 0x7f)
                snprintf(errstr, errstr_size, "hex input: character %zu: '%c' is not a hex digit",
                         i + 1, c);
            else
                snprintf(errstr, errstr_size,
                         "hex input: character %zu: byte 0x%02x is not a hex digit", i + 1,
                         (unsigned char)c);
            return false;
        }
        if (high < 0) {
            high = d;
        } else {
            out->data[out->len++] = (uint8_t)(high << 4 | d);
            high = -1;
        }
    }
    if (high >= 0) {
        snprintf(errstr, errstr_size,
                 "hex input: odd number of hex digits (%zu bytes and half a byte)", out->len);
        return false;
    }
    return true;
}

/* ---------------------------------------------------------------------------------------------
 * Catalog
 * ------------------------------------------------------------------------------------------- */

static int add_dir(struct cli *cli, const char *dir, const char *from)
{
    char errstr[EDXBUS_ERRSTR_SIZE] = "";
    edxbus_err_t err = edxbus_catalog_add_avsc_dir(cli->cat, dir, errstr, sizeof errstr);
    if (err == EDXBUS_OK)
        return CLI_OK;
    return cli_error(cli, err == EDXBUS_ERR_IO ? CLI_FAIL : CLI_USAGE, "%s %s: %s", from, dir,
                     errstr[0] != '\0' ? errstr : edxbus_err2str(err));
}

edxbus_catalog_t *cli_catalog(struct cli *cli)
{
    if (cli->cat != NULL)
        return cli->cat;
    cli->cat = edxbus_catalog_new();
    if (cli->cat == NULL) {
        cli_nomem(cli);
        return NULL;
    }
    /* EVENT_BUS_SCHEMA_PATH first (a ':'-separated list, as PATH), then --schemas, so that the
     * command line wins over the environment. */
    const char *env = getenv("EVENT_BUS_SCHEMA_PATH");
    if (env != NULL && env[0] != '\0') {
        char *copy = strdup(env);
        if (copy == NULL)
            goto fail_nomem;
        char *next = copy;
        while (next != NULL) {
            char *dir = next;
            char *colon = strchr(next, ':');
            next = NULL;
            if (colon != NULL) {
                *colon = '\0';
                next = colon + 1;
            }
            if (dir[0] != '\0' && add_dir(cli, dir, "EVENT_BUS_SCHEMA_PATH") != CLI_OK) {
                free(copy);
                goto fail;
            }
        }
        free(copy);
    }
    for (size_t i = 0; i < cli->n_schema_dirs; i++) {
        if (add_dir(cli, cli->schema_dirs[i], "--schemas") != CLI_OK)
            goto fail;
    }
    return cli->cat;

fail_nomem:
    cli_nomem(cli);
fail:
    edxbus_catalog_destroy(cli->cat);
    cli->cat = NULL;
    return NULL;
}

const edxbus_event_type_t *cli_find_event(struct cli *cli, const char *type)
{
    edxbus_catalog_t *cat = cli_catalog(cli);
    if (cat == NULL)
        return NULL;
    const edxbus_event_type_t *et = edxbus_catalog_find(cat, type);
    if (et != NULL)
        return et;
    const char *close = edxbus_catalog_suggest(cat, type);
    if (close != NULL)
        cli_error(cli, CLI_USAGE, "unknown event type \"%s\"; did you mean %s?", type, close);
    else
        cli_error(cli, CLI_USAGE, "unknown event type \"%s\" (see edxbus events list)", type);
    return NULL;
}

/* ---------------------------------------------------------------------------------------------
 * Schemas as openedx-events writes its .avsc files
 * ------------------------------------------------------------------------------------------- */

/* openedx-events builds each schema dict in this key order and writes it with
 * json.dumps(indent=2); jansson keeps insertion order, so rebuilding the objects in this order
 * gives the same bytes. Keys not listed keep their (sorted) order after these. */
static const char *const avsc_key_order[] = {
    "name", "type", "doc", "fields", "symbols", "items", "values", "size", "default", "namespace",
};

static json_t *avsc_reorder(json_t *value)
{
    if (json_is_array(value)) {
        json_t *arr = json_array();
        if (arr == NULL)
            return NULL;
        size_t i;
        json_t *item;
        json_array_foreach(value, i, item)
        {
            if (json_array_append_new(arr, avsc_reorder(item)) != 0) {
                json_decref(arr);
                return NULL;
            }
        }
        return arr;
    }
    if (!json_is_object(value))
        return json_incref(value);

    json_t *obj = json_object();
    if (obj == NULL)
        return NULL;
    size_t nkeys = sizeof avsc_key_order / sizeof avsc_key_order[0];
    for (size_t k = 0; k < nkeys; k++) {
        json_t *v = json_object_get(value, avsc_key_order[k]);
        if (v != NULL && json_object_set_new(obj, avsc_key_order[k], avsc_reorder(v)) != 0)
            goto fail;
    }
    const char *key;
    json_t *v;
    json_object_foreach(value, key, v)
    {
        if (json_object_get(obj, key) == NULL &&
            json_object_set_new(obj, key, avsc_reorder(v)) != 0)
            goto fail;
    }
    return obj;

fail:
    json_decref(obj);
    return NULL;
}

bool cli_schema_pretty(struct cli *cli, const edxbus_event_type_t *et, struct edxbus_buf *out)
{
    const char *text = edxbus_event_type_schema_text(et);
    if (text == NULL) {
        const char *why = edxbus_event_type_unserializable_reason(et);
        cli_error(cli, CLI_USAGE, "event type %s has no schema: %s", edxbus_event_type_name(et),
                  why != NULL ? why : "it cannot be serialized");
        return false;
    }
    json_error_t jerr;
    json_t *parsed = json_loads(text, JSON_DECODE_ANY, &jerr);
    if (parsed == NULL) {
        cli_error(cli, CLI_FAIL, "schema of %s is not JSON: %s", edxbus_event_type_name(et),
                  jerr.text);
        return false;
    }
    json_t *ordered = avsc_reorder(parsed);
    json_decref(parsed);
    if (ordered == NULL) {
        cli_nomem(cli);
        return false;
    }
    /* Python's json.dumps escapes non-ASCII by default (ensure_ascii=True). */
    char *pretty = json_dumps(ordered, JSON_INDENT(2) | JSON_ENSURE_ASCII | JSON_ENCODE_ANY);
    json_decref(ordered);
    if (pretty == NULL) {
        cli_nomem(cli);
        return false;
    }
    bool ok = edxbus_buf_puts(out, pretty) == EDXBUS_OK;
    free(pretty);
    if (!ok)
        cli_nomem(cli);
    return ok;
}
