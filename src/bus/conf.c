/* src/bus/conf.c — settings: set, load (YAML, environment), read, check, dump.
 *
 * A conf is a JSON object of the values set (name -> value) next to one of the table's defaults
 * (src/bus/conf_table.c), built when the conf is made. Every write of a known setting goes
 * through edxbus__conf_coerce(), which turns text or JSON into the row's type or refuses with one
 * line that names the setting, the bad value and an example; so readers can trust types and
 * the getters stay trivial. Unknown names are kept (plugins read their own settings) but draw a
 * warning with the nearest known name (edit distance); in a pasted Tutor file most keys are not
 * ours, so only names that look like ours (EVENT_BUS_*, EVENTS_*, or close to a known one) warn,
 * the others are logged at debug level.
 *
 * Secrets never leave: error lines show "(secret)" for secret values and mask passwords inside
 * URLs, and edxbus_conf_dump() replaces them with "********". Loading a file or the environment
 * is all-or-nothing: values are applied to a copy that replaces the conf's only on success.
 *
 * To add a setting, add a row to conf_table.c; checks live in conf_check.c.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf_int.h"
#include "edxbus/backend_util.h"
#include "edxbus/json.h"
#include "util/suggest_int.h"

extern char **environ;

#define MASK "********"
#define SHOW_MAX 60 /* bytes of a bad value shown in an error line */

struct edxbus_conf {
    json_t *values;   /* name -> value, as set */
    json_t *defaults; /* name -> the table's default */
    json_t *problems; /* borrowed: where loading records bad values and goes on; or NULL */
    edxbus_log_fn log;
    void *opaque;
    edxbus_log_level_t log_max; /* lines less severe than this are not made */
    /* Settings read per event, as last read (refresh(), after every change of values): the
     * default sink asks for the log level per line and the worker per event; every send asks
     * for the service name (the metadata's source). */
    edxbus_log_level_t level_setting; /* EVENT_BUS_LOG_LEVEL; 0: unset or not a level */
    bool log_json;                    /* EVENT_BUS_LOG_FORMAT */
    const char *service_name;         /* borrowed from values (or defaults), or NULL */
};

static const char *read_service_name(const edxbus_conf_t *conf)
{
    const char *svc = edxbus_conf_get_str(conf, "EVENTS_SERVICE_NAME", NULL);
    if (svc == NULL || svc[0] == '\0')
        svc = edxbus_conf_get_str(conf, "SERVICE_VARIANT", NULL);
    return svc && svc[0] ? svc : NULL;
}

/* Read the settings kept per conf again. */
static void refresh(edxbus_conf_t *conf)
{
    conf->service_name = read_service_name(conf);
    edxbus_log_level_t level;
    conf->level_setting =
        edxbus__log_level_from(edxbus_conf_get_str(conf, "EVENT_BUS_LOG_LEVEL", NULL), &level)
            ? level
            : 0;
    conf->log_json = edxbus__log_json_from(edxbus_conf_get_str(conf, "EVENT_BUS_LOG_FORMAT", "text"));
}

/* ---------------------------------------------------------------------------------------------
 * Lifecycle and logging
 * ------------------------------------------------------------------------------------------- */

edxbus_conf_t *edxbus_conf_new(void)
{
    edxbus_conf_t *conf = calloc(1, sizeof *conf);
    if (conf == NULL)
        return NULL;
    conf->values = json_object();
    conf->defaults = json_object();
    if (conf->values == NULL || conf->defaults == NULL)
        goto fail;
    const struct edxbus_setting *s;
    for (size_t i = 0; (s = edxbus__conf_row(i)) != NULL; i++) {
        json_t *def = json_loads(s->def, JSON_DECODE_ANY, NULL);
        if (def == NULL || json_object_set_new(conf->defaults, s->name, def) != 0)
            goto fail;
    }
    conf->log = edxbus_log_stderr;      /* the documented default sink */
    conf->log_max = EDXBUS_LOG_WARNING; /* what it shows */
    refresh(conf);
    return conf;
fail:
    edxbus_conf_destroy(conf);
    return NULL;
}

void edxbus_log_stderr(edxbus_log_level_t level, const char *line, void *opaque)
{
    (void)opaque;
    if (level > EDXBUS_LOG_WARNING)
        return;
    fprintf(stderr, "edxbus: %s: %s\n", level <= EDXBUS_LOG_ERROR ? "error" : "warning", line);
}

edxbus_conf_t *edxbus_conf_dup(const edxbus_conf_t *conf)
{
    edxbus_conf_t *copy = calloc(1, sizeof *copy);
    if (copy == NULL)
        return NULL;
    copy->values = json_deep_copy(conf->values);
    copy->defaults = json_incref(conf->defaults); /* never changed after new() */
    copy->log = conf->log;
    copy->opaque = conf->opaque;
    copy->log_max = conf->log_max;
    if (copy->values == NULL) {
        edxbus_conf_destroy(copy);
        return NULL;
    }
    refresh(copy); /* the service name points into the copy's own values */
    return copy;
}

void edxbus_conf_destroy(edxbus_conf_t *conf)
{
    if (conf == NULL)
        return;
    json_decref(conf->values);
    json_decref(conf->defaults);
    free(conf);
}

void edxbus_conf_set_log(edxbus_conf_t *conf, edxbus_log_fn fn, void *opaque)
{
    conf->log = fn;
    conf->opaque = opaque;
    conf->log_max = fn == edxbus_log_stderr ? EDXBUS_LOG_WARNING : EDXBUS_LOG_DEBUG;
}

void edxbus_conf_set_log_level(edxbus_conf_t *conf, edxbus_log_level_t max)
{
    conf->log_max = max;
}

bool edxbus_conf_is_logged(const edxbus_conf_t *conf, edxbus_log_level_t level)
{
    if (conf == NULL || conf->log == NULL)
        return false;
    if (conf->log == edxbus_log_stderr && conf->level_setting != 0)
        return level <= conf->level_setting; /* the default sink: EVENT_BUS_LOG_LEVEL wins */
    return level <= conf->log_max;
}

bool edxbus_conf_log_level(const edxbus_conf_t *conf, edxbus_log_level_t *level)
{
    if (conf->level_setting == 0)
        return false;
    if (level != NULL)
        *level = conf->level_setting;
    return true;
}

bool edxbus_conf_log_json(const edxbus_conf_t *conf)
{
    return conf->log_json;
}

/* Format the message and hand it to log.c, which writes it as EVENT_BUS_LOG_FORMAT says. */
static void log_va(const edxbus_conf_t *conf, edxbus_log_level_t level,
                   const struct edxbus__log_field *fields, size_t nfields, const char *fmt,
                   va_list ap)
{
    char line[1024];
    if (!edxbus_conf_is_logged(conf, level))
        return;
    if (strchr(fmt, '%') == NULL && strlen(fmt) < sizeof line) { /* the audit line's message */
        edxbus__log_emit(conf, conf->log, conf->opaque, level, fmt, fields, nfields);
        return;
    }
    vsnprintf(line, sizeof line, fmt, ap);
    edxbus__log_emit(conf, conf->log, conf->opaque, level, line, fields, nfields);
}

void edxbus_conf_log(const edxbus_conf_t *conf, edxbus_log_level_t level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_va(conf, level, NULL, 0, fmt, ap);
    va_end(ap);
}

void edxbus__conf_log_fields(const edxbus_conf_t *conf, edxbus_log_level_t level,
                             const struct edxbus__log_field *fields, size_t nfields,
                             const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_va(conf, level, fields, nfields, fmt, ap);
    va_end(ap);
}

/* ---------------------------------------------------------------------------------------------
 * Secrets and how values are shown
 * ------------------------------------------------------------------------------------------- */

/* A copy of @p v with secrets masked: all of it for SECRET_VALUE, URL secrets in every string
 * (the toolkit's rule, backend_util.h: the user-info's password and the values of secret-named
 * query parameters, redis://host/0?password=…), and values under secret-looking keys in
 * objects (the same words). Returns new. */
static json_t *masked(const json_t *v, enum edxbus_setting_secret secret)
{
    if (secret == EDXBUS_SECRET_VALUE && !json_is_null(v) &&
        !(json_is_string(v) && json_string_length(v) == 0))
        return json_string(MASK);
    if (json_is_string(v)) {
        char *m = edxbus_url_masked(json_string_value(v));
        json_t *out = m ? json_string(m) : NULL;
        free(m);
        return out;
    }
    if (json_is_object(v)) {
        json_t *out = json_object();
        const char *key;
        json_t *item;
        json_object_foreach((json_t *)v, key, item)
        {
            enum edxbus_setting_secret inner =
                edxbus_is_secret_name(key) ? EDXBUS_SECRET_VALUE : EDXBUS_SECRET_NONE;
            json_object_set_new(out, key, masked(item, inner));
        }
        return out;
    }
    if (json_is_array(v)) {
        json_t *out = json_array();
        size_t i;
        json_t *item;
        json_array_foreach(v, i, item) json_array_append_new(out, masked(item, EDXBUS_SECRET_NONE));
        return out;
    }
    return json_deep_copy(v);
}

/* @p v (or @p text when not NULL) as it may appear in an error line: quoted, secrets masked,
 * shortened, on one line. */
const char *edxbus__conf_show(const char *name, const json_t *v, const char *text, char *out,
                              size_t size)
{
    const struct edxbus_setting *s = edxbus__conf_find(name);
    enum edxbus_setting_secret secret = s ? s->secret : EDXBUS_SECRET_NONE;
    if (secret == EDXBUS_SECRET_NONE && edxbus_is_secret_name(name))
        secret = EDXBUS_SECRET_VALUE;
    if (secret == EDXBUS_SECRET_VALUE) {
        snprintf(out, size, "(secret)");
        return out;
    }
    json_t *tmp = text ? json_string(text) : NULL;
    json_t *m = masked(text ? tmp : v, secret == EDXBUS_SECRET_KEYS ? secret : EDXBUS_SECRET_NONE);
    char *dump = m ? json_dumps(m, JSON_COMPACT | JSON_ENCODE_ANY | JSON_ENSURE_ASCII) : NULL;
    if (dump == NULL)
        snprintf(out, size, "(value)");
    else if (strlen(dump) > SHOW_MAX)
        snprintf(out, size, "%.*s...", SHOW_MAX, dump);
    else
        snprintf(out, size, "%s", dump);
    for (char *p = out; *p; p++)
        if ((unsigned char)*p < 0x20)
            *p = '?';
    free(dump);
    json_decref(m);
    json_decref(tmp);
    return out;
}

/* ---------------------------------------------------------------------------------------------
 * Unknown names: "did you mean"
 * ------------------------------------------------------------------------------------------- */

/* The known setting nearest to @p name, when near enough to be a typo; else NULL. */
static const char *suggest(const char *name)
{
    struct edxbus__nearest nr;
    edxbus__nearest_init(&nr, name, strlen(name) / 4 > 3 ? strlen(name) / 4 : 3);
    const struct edxbus_setting *s;
    for (size_t i = 0; (s = edxbus__conf_row(i)) != NULL; i++)
        edxbus__nearest_add(&nr, s->name);
    return nr.best;
}

static void warn_unknown(const edxbus_conf_t *conf, const char *name, const char *where)
{
    const char *near = suggest(name);
    bool ours = strncmp(name, "EVENT_BUS_", 10) == 0 || strncmp(name, "EVENTS_", 7) == 0;
    if (near)
        edxbus_conf_log(conf, EDXBUS_LOG_WARNING, "%s%sunknown setting \"%s\"; did you mean %s?",
                        where ? where : "", where ? ": " : "", name, near);
    else
        edxbus_conf_log(conf, ours ? EDXBUS_LOG_WARNING : EDXBUS_LOG_DEBUG,
                        "%s%sunknown setting \"%s\"; kept, but edxbus itself does not read it",
                        where ? where : "", where ? ": " : "", name);
}

/* ---------------------------------------------------------------------------------------------
 * Typing values
 * ------------------------------------------------------------------------------------------- */

static json_t *type_error(const struct edxbus_setting *s, const json_t *v, const char *text,
                          const char *what, char *errstr, size_t errstr_size)
{
    char shown[SHOW_MAX + 8];
    if (errstr_size)
        edxbus_errf(errstr, errstr_size, "%s: %s %s; expected e.g. %s", s->name,
                    edxbus__conf_show(s->name, v, text, shown, sizeof shown), what, s->example);
    return NULL;
}

/* Text (an environment variable, a CLI argument, a quoted YAML scalar) -> the row's type.
 * Returns new; NULL with @p errstr set. */
static json_t *parse_text(const struct edxbus_setting *s, const char *text, char *errstr,
                          size_t errstr_size)
{
    bool nullable = s->type == EDXBUS_SETTING_STR_NULL || s->type == EDXBUS_SETTING_INT_NULL ||
                    s->type == EDXBUS_SETTING_PATHS;
    if (nullable && s->type != EDXBUS_SETTING_STR_NULL &&
        (text[0] == '\0' || strcmp(text, "null") == 0 || strcmp(text, "None") == 0))
        return json_null();
    switch (s->type) {
    case EDXBUS_SETTING_STR:
    case EDXBUS_SETTING_STR_NULL:
    case EDXBUS_SETTING_PATHS:
        if (s->type == EDXBUS_SETTING_PATHS && text[0] == '[')
            break; /* a JSON list */
        return json_string(text);
    case EDXBUS_SETTING_INT:
    case EDXBUS_SETTING_INT_NULL: {
        char *end;
        errno = 0;
        long long v = strtoll(text, &end, 10);
        if (text[0] == '\0' || isspace((unsigned char)text[0]) || *end != '\0' || errno != 0)
            return type_error(s, NULL, text, "is not an integer", errstr, errstr_size);
        return json_integer(v);
    }
    case EDXBUS_SETTING_DOUBLE: {
        char *end;
        errno = 0;
        double d = strtod(text, &end);
        if (text[0] == '\0' || isspace((unsigned char)text[0]) || *end != '\0' || errno != 0 ||
            !isfinite(d))
            return type_error(s, NULL, text, "is not a number", errstr, errstr_size);
        return json_real(d);
    }
    case EDXBUS_SETTING_BOOL: {
        static const char *const yes[] = {"true", "1", "yes", "on"};
        static const char *const no[] = {"false", "0", "no", "off"};
        for (size_t i = 0; i < 4; i++) {
            if (strcasecmp(text, yes[i]) == 0)
                return json_true();
            if (strcasecmp(text, no[i]) == 0)
                return json_false();
        }
        return type_error(s, NULL, text, "is not a boolean (true/false/1/0/yes/no)", errstr,
                          errstr_size);
    }
    case EDXBUS_SETTING_OBJECT:
    case EDXBUS_SETTING_LIST:
        break;
    }
    char why[EDXBUS_ERRSTR_SIZE];
    json_t *v = edxbus_json_loadb(text, strlen(text), EDXBUS_JSON_ANY, why, sizeof why);
    if (v == NULL) {
        if (errstr_size)
            edxbus_errf(errstr, errstr_size, "%s: not valid JSON at %s; expected e.g. %s", s->name,
                        why, s->example);
        return NULL;
    }
    return v;
}

/* @p v -> the row's type: numbers widened, text parsed as parse_text() does, ranges checked.
 * Returns new; NULL with @p errstr set. */
json_t *edxbus__conf_coerce(const struct edxbus_setting *s, const json_t *v, char *errstr,
                            size_t errstr_size)
{
    json_t *out = NULL;
    bool textual = s->type == EDXBUS_SETTING_STR || s->type == EDXBUS_SETTING_STR_NULL ||
                   s->type == EDXBUS_SETTING_PATHS;
    if (json_is_string(v) && strlen(json_string_value(v)) != json_string_length(v)) {
        type_error(s, v, NULL, "holds a NUL character (U+0000), which no setting can use", errstr,
                   errstr_size);
        return NULL;
    }
    if (json_is_string(v) && !textual) {
        out = parse_text(s, json_string_value(v), errstr, errstr_size);
        if (out == NULL)
            return NULL;
        v = out;
    }
    json_t *result = NULL;
    const char *want = NULL;
    switch (s->type) {
    case EDXBUS_SETTING_STR:
        result = json_is_string(v) ? json_incref((json_t *)v) : NULL;
        want = json_is_integer(v) || json_is_real(v) ? "is not a string (quote it)"
                                                     : "is not a string";
        break;
    case EDXBUS_SETTING_STR_NULL:
        result = json_is_string(v) || json_is_null(v) ? json_incref((json_t *)v) : NULL;
        want = json_is_integer(v) || json_is_real(v) ? "is not a string (quote it)"
                                                     : "is not a string or null";
        break;
    case EDXBUS_SETTING_INT_NULL:
        if (json_is_null(v)) {
            result = json_null();
            break;
        }
        /* fall through */
    case EDXBUS_SETTING_INT:
        result = json_is_integer(v) ? json_incref((json_t *)v) : NULL;
        want = "is not an integer";
        break;
    case EDXBUS_SETTING_DOUBLE:
        result = json_is_number(v) ? json_real(json_number_value(v)) : NULL;
        want = "is not a number";
        break;
    case EDXBUS_SETTING_BOOL:
        result = json_is_boolean(v) ? json_incref((json_t *)v) : NULL;
        want = "is not a boolean (true/false)";
        break;
    case EDXBUS_SETTING_OBJECT:
        result = json_is_object(v) ? json_deep_copy(v) : NULL;
        want = "is not a mapping";
        break;
    case EDXBUS_SETTING_LIST:
        result = json_is_array(v) ? json_deep_copy(v) : NULL;
        want = "is not a list";
        break;
    case EDXBUS_SETTING_PATHS: {
        bool ok = json_is_null(v) || json_is_string(v) || json_is_array(v);
        size_t i;
        json_t *item;
        json_array_foreach(v, i, item) ok = ok && json_is_string(item);
        result = ok ? json_deep_copy(v) : NULL;
        want = "is not a path, a list of paths or null";
        break;
    }
    }
    if (result == NULL) {
        type_error(s, v, NULL, want, errstr, errstr_size);
    } else if (json_is_number(result) && json_number_value(result) < s->min) {
        type_error(s, result, NULL, "is too small", errstr, errstr_size);
        json_decref(result);
        result = NULL;
    }
    json_decref(out);
    return result;
}

/* ---------------------------------------------------------------------------------------------
 * Setting and loading
 * ------------------------------------------------------------------------------------------- */

/* Store @p v (text when @p text is not NULL) under @p name in @p values. */
static edxbus_err_t put(const edxbus_conf_t *conf, json_t *values, const char *name,
                        const json_t *v, const char *text, const char *where, char *errstr,
                        size_t errstr_size)
{
    const struct edxbus_setting *s = edxbus__conf_find(name);
    json_t *value;
    if (s == NULL) {
        warn_unknown(conf, name, where);
        value = text ? json_string(text) : json_deep_copy(v);
    } else {
        value = text ? parse_text(s, text, errstr, errstr_size)
                     : edxbus__conf_coerce(s, v, errstr, errstr_size);
        if (value != NULL && text != NULL && !json_is_string(value)) {
            json_t *typed = edxbus__conf_coerce(s, value, errstr, errstr_size); /* lists, ranges */
            json_decref(value);
            value = typed;
        }
        if (value == NULL)
            return EDXBUS_ERR_CONF;
    }
    if (value == NULL || json_object_set_new(values, name, value) != 0) {
        if (errstr_size)
            edxbus_errf(errstr, errstr_size, "%s: out of memory", name);
        return EDXBUS_ERR_NOMEM;
    }
    return EDXBUS_OK;
}

edxbus_err_t edxbus_conf_set(edxbus_conf_t *conf, const char *name, const char *value, char *errstr,
                             size_t errstr_size)
{
    if (name == NULL || value == NULL) {
        if (errstr_size)
            edxbus_errf(errstr, errstr_size, "edxbus_conf_set: name and value must not be NULL");
        return EDXBUS_ERR_INVALID_ARG;
    }
    edxbus_err_t err = put(conf, conf->values, name, NULL, value, NULL, errstr, errstr_size);
    refresh(conf);
    return err;
}

edxbus_err_t edxbus_conf_set_json(edxbus_conf_t *conf, const char *name, const json_t *value,
                                  char *errstr, size_t errstr_size)
{
    if (name == NULL || value == NULL) {
        if (errstr_size)
            edxbus_errf(errstr, errstr_size,
                        "edxbus_conf_set_json: name and value must not be NULL");
        return EDXBUS_ERR_INVALID_ARG;
    }
    edxbus_err_t err = put(conf, conf->values, name, value, NULL, NULL, errstr, errstr_size);
    refresh(conf);
    return err;
}

void edxbus_conf_collect_problems(edxbus_conf_t *conf, json_t *problems)
{
    conf->problems = problems;
}

/* A bad value while loading: with a problem list, record @p line, skip the value and go on
 * (*@p any remembers it, @p errstr keeps the first); without, stop (returns false). */
static bool keep_going(const edxbus_conf_t *conf, const char *line, bool *any, char *errstr,
                       size_t errstr_size)
{
    if (!*any && errstr_size)
        edxbus_errf(errstr, errstr_size, "%s", line);
    *any = true;
    if (conf->problems == NULL)
        return false;
    json_array_append_new(conf->problems, json_string(line));
    return true;
}

edxbus_err_t edxbus_conf_load_yaml(edxbus_conf_t *conf, const char *path, char *errstr,
                                   size_t errstr_size)
{
    json_t *lines = NULL;
    edxbus_err_t err;
    json_t *doc = edxbus__conf_yaml_load(path, &lines, &err, errstr, errstr_size);
    if (doc == NULL)
        return err;
    json_t *values = json_deep_copy(conf->values);
    const char *name;
    json_t *v;
    char where[EDXBUS_ERRSTR_SIZE], inner[EDXBUS_ERRSTR_SIZE], line[EDXBUS_ERRSTR_SIZE * 2 + 4];
    bool any = false;
    err = values ? EDXBUS_OK : EDXBUS_ERR_NOMEM;
    json_object_foreach(doc, name, v)
    {
        if (err != EDXBUS_OK)
            break;
        snprintf(where, sizeof where, "%s:%lld", path,
                 (long long)json_integer_value(json_object_get(lines, name)));
        err = put(conf, values, name, v, NULL, where, inner, sizeof inner);
        if (err == EDXBUS_ERR_CONF) {
            snprintf(line, sizeof line, "%s: %s", where, inner);
            if (keep_going(conf, line, &any, errstr, errstr_size))
                err = EDXBUS_OK;
        } else if (err != EDXBUS_OK && errstr_size) {
            edxbus_errf(errstr, errstr_size, "%s: %s", where, inner);
        }
    }
    if (err == EDXBUS_OK && (!any || conf->problems != NULL)) {
        json_decref(conf->values);
        conf->values = values;
        values = NULL;
        refresh(conf);
    }
    json_decref(values);
    json_decref(doc);
    json_decref(lines);
    return err == EDXBUS_OK && any ? EDXBUS_ERR_CONF : err;
}

edxbus_err_t edxbus_conf_load_env(edxbus_conf_t *conf, char *errstr, size_t errstr_size)
{
    json_t *values = json_deep_copy(conf->values);
    char inner[EDXBUS_ERRSTR_SIZE], name[256], line[EDXBUS_ERRSTR_SIZE * 2];
    edxbus_err_t err = values ? EDXBUS_OK : EDXBUS_ERR_NOMEM;
    bool any = false;

    const struct edxbus_setting *s;
    for (size_t i = 0; err == EDXBUS_OK && (s = edxbus__conf_row(i)) != NULL; i++) {
        const char *text = getenv(s->name);
        if (text == NULL)
            continue;
        err = put(conf, values, s->name, NULL, text, NULL, inner, sizeof inner);
        if (err == EDXBUS_ERR_CONF) {
            snprintf(line, sizeof line, "environment variable %s", inner);
            if (keep_going(conf, line, &any, errstr, errstr_size))
                err = EDXBUS_OK;
        }
    }
    /* EVENT_BUS_* variables the table does not know: a typo, or a plugin's own setting. */
    for (char **e = environ; e && *e && err == EDXBUS_OK; e++) {
        const char *eq = strchr(*e, '=');
        size_t len = eq ? (size_t)(eq - *e) : 0;
        if (len == 0 || len >= sizeof name || strncmp(*e, "EVENT_BUS_", 10) != 0)
            continue;
        memcpy(name, *e, len);
        name[len] = '\0';
        if (edxbus__conf_find(name) == NULL)
            err = put(conf, values, name, NULL, eq + 1, "environment", inner, sizeof inner);
    }
    if (err == EDXBUS_OK && (!any || conf->problems != NULL)) {
        json_decref(conf->values);
        conf->values = values;
        values = NULL;
        refresh(conf);
    } else if (err == EDXBUS_ERR_NOMEM && errstr_size) {
        edxbus_errf(errstr, errstr_size, "environment: out of memory");
    }
    json_decref(values);
    return err == EDXBUS_OK && any ? EDXBUS_ERR_CONF : err;
}

/* ---------------------------------------------------------------------------------------------
 * Reading
 * ------------------------------------------------------------------------------------------- */

const json_t *edxbus_conf_get(const edxbus_conf_t *conf, const char *name)
{
    const json_t *v = json_object_get(conf->values, name);
    return v ? v : json_object_get(conf->defaults, name);
}

const char *edxbus_conf_get_str(const edxbus_conf_t *conf, const char *name, const char *def)
{
    const json_t *v = edxbus_conf_get(conf, name);
    return json_is_string(v) ? json_string_value(v) : def;
}

int64_t edxbus_conf_get_int(const edxbus_conf_t *conf, const char *name, int64_t def)
{
    const json_t *v = edxbus_conf_get(conf, name);
    if (json_is_integer(v))
        return json_integer_value(v);
    if (json_is_real(v)) { /* a number setting holding a whole number: 60.0 -> 60 */
        double d = json_real_value(v);
        if (d == floor(d) && fabs(d) < 9.2e18)
            return (int64_t)d;
    }
    return def;
}

double edxbus_conf_get_double(const edxbus_conf_t *conf, const char *name, double def)
{
    const json_t *v = edxbus_conf_get(conf, name);
    return json_is_number(v) ? json_number_value(v) : def;
}

bool edxbus_conf_get_bool(const edxbus_conf_t *conf, const char *name, bool def)
{
    const json_t *v = edxbus_conf_get(conf, name);
    return json_is_boolean(v) ? json_is_true(v) : def;
}

const char *edxbus_conf_service_name(const edxbus_conf_t *conf)
{
    return conf->service_name;
}

const char *edxbus_conf_backend(const edxbus_conf_t *conf, const char *name)
{
    const char *v = edxbus_conf_get_str(conf, name, NULL);
    if (v == NULL)
        return NULL;
    const struct edxbus_backend_ops *ops;
    for (size_t i = 0; (ops = edxbus_backend_at(i)) != NULL; i++) {
        if (strcmp(v, ops->name) == 0)
            return ops->name;
        for (const char *const *a = ops->aliases; a != NULL && *a != NULL; a++)
            if (strcmp(v, *a) == 0)
                return ops->name;
    }
    const char *colon = strrchr(v, ':');
    if (colon && colon[1] != '\0' && strstr(v, ".so") != NULL && strstr(v, ".so") < colon)
        return v; /* a plugin: /path/libx.so:symbol */
    return NULL;
}

bool edxbus__conf_is_set(const edxbus_conf_t *conf, const char *name)
{
    return json_object_get(conf->values, name) != NULL;
}

const char *edxbus_conf_show(const edxbus_conf_t *conf, const char *name, char *out, size_t size)
{
    const json_t *v = edxbus_conf_get(conf, name);
    if (v == NULL) {
        snprintf(out, size, "(unset)");
        return out;
    }
    return edxbus__conf_show(name, v, NULL, out, size);
}

json_t *edxbus_conf_dump(const edxbus_conf_t *conf)
{
    json_t *out = json_object();
    const char *name;
    json_t *v;
    if (out == NULL)
        return NULL;
    const struct edxbus_setting *s;
    for (size_t i = 0; (s = edxbus__conf_row(i)) != NULL; i++) {
        json_object_set_new(out, s->name, masked(edxbus_conf_get(conf, s->name), s->secret));
    }
    json_object_foreach(conf->values, name, v)
    {
        if (edxbus__conf_find(name) == NULL)
            json_object_set_new(
                out, name,
                masked(v, edxbus_is_secret_name(name) ? EDXBUS_SECRET_VALUE : EDXBUS_SECRET_NONE));
    }
    return out;
}

static const char *type_short(enum edxbus_setting_type type)
{
    static const char *const names[] = {
        [EDXBUS_SETTING_STR] = "string",    [EDXBUS_SETTING_STR_NULL] = "string-or-null",
        [EDXBUS_SETTING_INT] = "int",       [EDXBUS_SETTING_INT_NULL] = "int-or-null",
        [EDXBUS_SETTING_DOUBLE] = "double", [EDXBUS_SETTING_BOOL] = "bool",
        [EDXBUS_SETTING_OBJECT] = "object", [EDXBUS_SETTING_LIST] = "list",
        [EDXBUS_SETTING_PATHS] = "paths",
    };
    return names[type];
}

json_t *edxbus_conf_describe(void)
{
    json_t *out = json_array();
    const struct edxbus_setting *s;
    for (size_t i = 0; out != NULL && (s = edxbus__conf_row(i)) != NULL; i++) {
        json_t *row =
            json_pack("{s:s, s:s, s:o, s:b, s:s}", "name", s->name, "type", type_short(s->type),
                      "default", json_loads(s->def, JSON_DECODE_ANY, NULL), "secret",
                      s->secret != EDXBUS_SECRET_NONE, "description", s->desc);
        if (row == NULL || json_array_append_new(out, row) != 0) {
            json_decref(out);
            return NULL;
        }
    }
    return out;
}
