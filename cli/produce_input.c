/* cli/produce_input.c — the events of `edxbus produce --data`, read as a stream (see the header).
 *
 * Standard input is spooled to tmpfile() (unnamed: the system removes it however the process
 * ends). A file is JSON lines when its first non-blank line is a JSON object by itself;
 * otherwise, when it is small enough, the whole file is tried as one object, and when that
 * fails too it is read as JSON lines so that the check names the bad lines.
 */
#define _POSIX_C_SOURCE 200809L
#include "produce_input.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "edxbus/json.h"

static bool blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
            return false;
    return true;
}

/* Copy standard input to an unnamed temporary file. */
static FILE *spool_stdin(struct cli *cli)
{
    FILE *tmp = tmpfile();
    if (tmp == NULL) {
        cli_error(cli, CLI_FAIL,
                  "cannot make a temporary file for standard input (%s); set TMPDIR to a "
                  "writable directory or give --data @FILE",
                  strerror(errno));
        return NULL;
    }
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, stdin)) > 0) {
        if (fwrite(chunk, 1, n, tmp) != n) {
            cli_error(cli, CLI_FAIL, "cannot copy standard input to a temporary file: %s",
                      strerror(errno));
            fclose(tmp);
            return NULL;
        }
    }
    if (ferror(stdin) || fflush(tmp) != 0) {
        cli_error(cli, CLI_FAIL, "cannot read standard input: %s", strerror(errno));
        fclose(tmp);
        return NULL;
    }
    rewind(tmp);
    return tmp;
}

/* The whole file as one JSON object, when it is one (NULL otherwise). */
static json_t *whole_object(struct produce_input *in)
{
    if (in->size == 0 || in->size > PRODUCE_INPUT_MAX_OBJECT)
        return NULL;
    char *text = malloc(in->size);
    if (text == NULL)
        return NULL;
    rewind(in->f);
    size_t n = fread(text, 1, in->size, in->f);
    char why[EDXBUS_ERRSTR_SIZE];
    json_t *v = edxbus_json_loadb(text, n, 0, why, sizeof why);
    free(text);
    if (!json_is_object(v)) {
        json_decref(v);
        return NULL;
    }
    return v;
}

int produce_input_open(struct cli *cli, const char *arg, struct produce_input *in)
{
    memset(in, 0, sizeof *in);
    if (arg[0] != '@') {
        char why[EDXBUS_ERRSTR_SIZE];
        in->one = edxbus_json_loadb(arg, strlen(arg), EDXBUS_JSON_ANY, why, sizeof why);
        if (in->one == NULL)
            return cli_error(cli, CLI_USAGE, "--data: not JSON (%s)", why);
        if (!json_is_object(in->one))
            return cli_error(cli, CLI_USAGE,
                             "--data: expected a JSON object (the event's data), e.g. "
                             "{\"enrollment\": {...}}");
        return CLI_OK;
    }
    const char *path = arg + 1;
    bool use_stdin = strcmp(path, "-") == 0;
    snprintf(in->name, sizeof in->name, "%s", use_stdin ? "standard input" : path);
    in->f = use_stdin ? spool_stdin(cli) : fopen(path, "rb");
    if (in->f == NULL)
        return use_stdin ? cli->error_code
                         : cli_error(cli, CLI_FAIL, "cannot open %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(in->f), &st) == 0 && S_ISREG(st.st_mode))
        in->size = (uint64_t)st.st_size;

    /* JSON lines, or one object over several lines? Look at the first non-blank line. */
    ssize_t n;
    while ((n = getline(&in->line, &in->line_cap, in->f)) >= 0 && blank(in->line, (size_t)n))
        ;
    if (n >= 0) {
        char why[EDXBUS_ERRSTR_SIZE];
        json_t *first = edxbus_json_loadb(in->line, (size_t)n, EDXBUS_JSON_ANY, why, sizeof why);
        bool lines = json_is_object(first);
        json_decref(first);
        if (!lines)
            in->one = whole_object(in);
    }
    if (ferror(in->f))
        return cli_error(cli, CLI_FAIL, "cannot read %s: %s", in->name, strerror(errno));
    if (in->one != NULL) {
        fclose(in->f);
        in->f = NULL;
        return CLI_OK;
    }
    return produce_input_rewind(cli, in);
}

int produce_input_next(struct produce_input *in, json_t **out, char *why, size_t why_size)
{
    *out = NULL;
    if (in->f == NULL) {
        if (in->one_done || in->one == NULL)
            return PRODUCE_INPUT_END;
        in->one_done = true;
        *out = json_incref(in->one);
        return PRODUCE_INPUT_EVENT;
    }
    for (;;) {
        errno = 0;
        ssize_t n = getline(&in->line, &in->line_cap, in->f);
        if (n < 0) {
            if (ferror(in->f)) {
                snprintf(why, why_size, "cannot read %s: %s", in->name,
                         strerror(errno ? errno : EIO));
                return PRODUCE_INPUT_IO;
            }
            return PRODUCE_INPUT_END;
        }
        in->lineno++;
        in->bytes += (uint64_t)n;
        if (blank(in->line, (size_t)n))
            continue;
        char err[EDXBUS_ERRSTR_SIZE];
        json_t *v = edxbus_json_loadb(in->line, (size_t)n, EDXBUS_JSON_ANY, err, sizeof err);
        if (v == NULL) {
            /* the JSON error's own "line 1" means nothing here: keep the column */
            const char *col = strncmp(err, "line 1, ", 8) == 0 ? err + 8 : err;
            snprintf(why, why_size, "not JSON (%s)", col);
            return PRODUCE_INPUT_BAD;
        }
        if (!json_is_object(v)) {
            json_decref(v);
            snprintf(why, why_size, "expected a JSON object (the event's data) on each line");
            return PRODUCE_INPUT_BAD;
        }
        *out = v;
        return PRODUCE_INPUT_EVENT;
    }
}

int produce_input_rewind(struct cli *cli, struct produce_input *in)
{
    in->one_done = false;
    in->lineno = 0;
    in->bytes = 0;
    if (in->f != NULL && fseek(in->f, 0, SEEK_SET) != 0)
        return cli_error(cli, CLI_FAIL, "cannot read %s again: %s", in->name, strerror(errno));
    return CLI_OK;
}

void produce_input_close(struct produce_input *in)
{
    if (in->f != NULL)
        fclose(in->f);
    json_decref(in->one);
    free(in->line);
    memset(in, 0, sizeof *in);
}
