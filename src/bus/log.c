/* src/bus/log.c — how a log line leaves the library: text or JSON (EVENT_BUS_LOG_FORMAT), and
 * the default sink's level (EVENT_BUS_LOG_LEVEL).
 *
 * Every line goes through edxbus__log_emit() (from edxbus_conf_log() and
 * edxbus__conf_log_fields(), conf.c). In text form a line is its message, then, when it carries
 * fields meant for text, ": name=value name=value" (the per-event audit line reads
 * "event bus: message received: topic=... position=... event_id=... event_time=..."). In JSON
 * form it is one object on one line: {"time": ISO-8601 UTC with milliseconds, "level",
 * "message", then every field of the line (topic, group, position, event_id, event_type,
 * event_time for lines about an event)}, so a log pipeline needs no parsing of the message.
 *
 * The default sink (edxbus_log_stderr) honours EVENT_BUS_LOG_LEVEL (warning when unset); a
 * caller's log function gets every line, formatted, and decides itself (the edxbus command
 * applies the setting unless -v/-q say otherwise).
 *
 * To add a field to the lines about an event: pass it in the fields of the call (worker.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "conf_int.h"

const char *edxbus_log_level_name(edxbus_log_level_t level)
{
    switch (level) {
    case EDXBUS_LOG_ERROR:
        return "error";
    case EDXBUS_LOG_WARNING:
        return "warning";
    case EDXBUS_LOG_INFO:
        return "info";
    default:
        return "debug";
    }
}

bool edxbus__log_level_from(const char *v, edxbus_log_level_t *level)
{
    static const struct {
        const char *name;
        edxbus_log_level_t level;
    } names[] = {{"error", EDXBUS_LOG_ERROR},     {"warning", EDXBUS_LOG_WARNING},
                 {"warn", EDXBUS_LOG_WARNING},    {"info", EDXBUS_LOG_INFO},
                 {"debug", EDXBUS_LOG_DEBUG},     {"critical", EDXBUS_LOG_ERROR}};
    if (v == NULL)
        return false;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcasecmp(v, names[i].name) == 0) {
            if (level != NULL)
                *level = names[i].level;
            return true;
        }
    return false;
}

bool edxbus__log_json_from(const char *v)
{
    return v != NULL && strcasecmp(v, "json") == 0;
}

/* A JSON string of @p s; bytes that are not UTF-8 become '?' rather than losing the line. */
static json_t *safe_string(const char *s)
{
    json_t *v = json_string(s);
    if (v != NULL)
        return v;
    char copy[2048];
    snprintf(copy, sizeof copy, "%s", s);
    for (char *p = copy; *p; p++)
        if ((unsigned char)*p >= 0x80)
            *p = '?';
    return json_string(copy);
}

/* "2026-12-07T22:19:16.123Z" */
static void now_iso(char *out, size_t size)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    char base[32];
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, size, "%.20s.%03dZ", base, (int)(ts.tv_nsec / 1000000L % 1000));
}

/* Append @p s to the text in @p buf (@p *used bytes, NUL-terminated), as much as fits. */
static void put_text(char *buf, size_t cap, size_t *used, const char *s)
{
    size_t n = strlen(s);
    if (n > cap - 1 - *used)
        n = cap - 1 - *used;
    memcpy(buf + *used, s, n);
    *used += n;
    buf[*used] = '\0';
}

void edxbus__log_emit(const edxbus_conf_t *conf, edxbus_log_fn fn, void *opaque,
                      edxbus_log_level_t level, const char *message,
                      const struct edxbus__log_field *fields, size_t nfields)
{
    bool json = edxbus_conf_log_json(conf);
    if (fn == edxbus_log_stderr) { /* the default sink: EVENT_BUS_LOG_LEVEL, else warnings */
        edxbus_log_level_t max = EDXBUS_LOG_WARNING;
        edxbus_conf_log_level(conf, &max);
        if (level > max)
            return;
    }
    char buf[4096];
    char *text = NULL; /* JSON: the whole object, however long */
    const char *line = buf;
    if (!json) {
        /* Pieces copied, not printf'd (the audit line is written per event when it is read): the
         * same text as "%s" then "%s%s=%s" per field, cut at the buffer's end the same way. */
        size_t used = 0;
        buf[0] = '\0';
        put_text(buf, sizeof buf, &used, message);
        const char *sep = ": ";
        for (size_t i = 0; i < nfields && used < sizeof buf - 1; i++) {
            if (fields[i].json_only)
                continue;
            put_text(buf, sizeof buf, &used, sep);
            put_text(buf, sizeof buf, &used, fields[i].name);
            put_text(buf, sizeof buf, &used, "=");
            put_text(buf, sizeof buf, &used, fields[i].value ? fields[i].value : "-");
            sep = " ";
        }
        for (char *p = buf; *p; p++) /* one line, whatever the arguments held */
            if (*p == '\n' || *p == '\r')
                *p = ' ';
    } else {
        char t[40];
        now_iso(t, sizeof t);
        json_t *o = json_object();
        json_object_set_new(o, "time", json_string(t));
        json_object_set_new(o, "level", json_string(edxbus_log_level_name(level)));
        json_object_set_new(o, "message", safe_string(message));
        for (size_t i = 0; i < nfields; i++)
            json_object_set_new(o, fields[i].name,
                                fields[i].value ? safe_string(fields[i].value) : json_null());
        text = json_dumps(o, JSON_COMPACT); /* escapes newlines: one line */
        json_decref(o);
        line = text != NULL ? text : "{\"level\":\"error\",\"message\":\"out of memory\"}";
    }
    if (fn == edxbus_log_stderr) {
        if (json)
            fprintf(stderr, "%s\n", line);
        else
            fprintf(stderr, "edxbus: %s: %s\n", edxbus_log_level_name(level), line);
    } else {
        fn(level, line, opaque);
    }
    free(text);
}

edxbus_err_t edxbus_conf_check_log(const edxbus_conf_t *conf, char *errstr, size_t errstr_size)
{
    const char *f = edxbus_conf_get_str(conf, "EVENT_BUS_LOG_FORMAT", "text");
    if (f != NULL && strcasecmp(f, "text") != 0 && strcasecmp(f, "json") != 0) {
        snprintf(errstr, errstr_size,
                 "EVENT_BUS_LOG_FORMAT: \"%.60s\" is not a log format; expected text or json", f);
        return EDXBUS_ERR_CONF;
    }
    const char *l = edxbus_conf_get_str(conf, "EVENT_BUS_LOG_LEVEL", NULL);
    if (l != NULL && !edxbus__log_level_from(l, NULL)) {
        snprintf(errstr, errstr_size,
                 "EVENT_BUS_LOG_LEVEL: \"%.60s\" is not a log level; expected error, warning, "
                 "info or debug",
                 l);
        return EDXBUS_ERR_CONF;
    }
    return EDXBUS_OK;
}
