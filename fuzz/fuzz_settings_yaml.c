/* fuzz/fuzz_settings_yaml.c — libFuzzer target for the YAML settings loader (src/bus/conf_yaml.c)
 * and what runs on the settings it loads (edxbus_conf_check, edxbus_conf_dump).
 *
 * edxbus_conf_load_yaml() reads a path and has no from-memory twin, so each input is written
 * to one file in a per-process temporary folder (made on the first input, the file rewritten
 * for every input, both removed at exit: nothing grows across inputs). Then a fresh settings
 * object loads it; when that works, the settings are checked and dumped, and everything is
 * freed (leaks are findings too).
 * Invariants checked (abort on violation):
 *   - the loader fails only with EDXBUS_ERR_CONF (or NOMEM), leaving one terminated line in
 *     errstr that starts with the path; the settings are unchanged then;
 *   - edxbus_conf_check returns OK with no problem listed, or CONF with at least one, every
 *     problem a one-line string;
 *   - edxbus_conf_dump returns a JSON object that serialises.
 *
 * Seed corpus: fuzz/corpus/settings_yaml/ (a Tutor-like file, nested EVENT_BUS_PRODUCER_CONFIG,
 * anchors and aliases, every scalar form, broken YAML).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "edxbus/conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[512], path[600];

static void remove_dir(void)
{
    unlink(path);
    rmdir(dir);
}

static const char *settings_path(void)
{
    if (path[0] != '\0')
        return path;
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/edxbus-fuzz-yaml.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (mkdtemp(dir) == NULL)
        abort();
    snprintf(path, sizeof path, "%s/settings.yaml", dir);
    atexit(remove_dir);
    return path;
}

static bool write_input(const char *file, const uint8_t *data, size_t size)
{
    FILE *f = fopen(file, "wb");
    if (f == NULL)
        return false;
    bool ok = fwrite(data, 1, size, f) == size;
    return fclose(f) == 0 && ok;
}

static void check_line(const char *s, size_t size)
{
    if (memchr(s, '\0', size) == NULL || strchr(s, '\n') != NULL)
        abort(); /* a message must be one terminated line */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *file = settings_path();
    char errstr[EDXBUS_ERRSTR_SIZE];

    if (!write_input(file, data, size))
        abort();
    edxbus_conf_t *conf = edxbus_conf_new();
    if (conf == NULL)
        return 0;
    edxbus_conf_set_log(conf, NULL, NULL);
    json_t *before = edxbus_conf_dump(conf);
    memset(errstr, 'x', sizeof errstr);
    edxbus_err_t err = edxbus_conf_load_yaml(conf, file, errstr, sizeof errstr);
    if (err != EDXBUS_OK) {
        if (err != EDXBUS_ERR_CONF && err != EDXBUS_ERR_NOMEM)
            abort();
        check_line(errstr, sizeof errstr);
        if (err == EDXBUS_ERR_CONF && strncmp(errstr, file, strlen(file)) != 0)
            abort();
        json_t *after = edxbus_conf_dump(conf);
        if (before != NULL && after != NULL && !json_equal(before, after))
            abort(); /* a failed load must leave the settings as they were */
        json_decref(after);
        goto out;
    }

    json_t *errors = json_array();
    if (errors == NULL)
        goto out;
    err = edxbus_conf_check(conf, errors);
    if ((err == EDXBUS_OK) != (json_array_size(errors) == 0) ||
        (err != EDXBUS_OK && err != EDXBUS_ERR_CONF))
        abort();
    size_t i;
    json_t *line;
    json_array_foreach(errors, i, line)
    {
        const char *s = json_string_value(line);
        if (s == NULL || strchr(s, '\n') != NULL)
            abort();
    }
    json_decref(errors);

    json_t *dump = edxbus_conf_dump(conf);
    if (dump == NULL || !json_is_object(dump))
        abort();
    char *text = json_dumps(dump, JSON_COMPACT);
    if (text == NULL)
        abort();
    free(text);
    json_decref(dump);
out:
    json_decref(before);
    edxbus_conf_destroy(conf);
    return 0;
}
