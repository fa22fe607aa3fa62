/* src/bus/conf_int.h — the settings table and the pieces conf.c, conf_table.c and conf_yaml.c
 * share. Not API: nothing outside src/bus/ includes it.
 *
 * One row per known setting (struct edxbus_setting, backend.h): the core's in
 * src/bus/conf_table.c, each backend's in its own table. A row says what type the value has,
 * its default (JSON text), whether it is secret, and one line of description. Checks beyond
 * the type are the core's (conf_check.c: backends, routing) or the backend's (its check slot).
 */
#ifndef EDXBUS_CONF_INT_H
#define EDXBUS_CONF_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "edxbus/backend.h"
#include "edxbus/conf.h"

/* One field of a log line about an event (log.c): in JSON always, in text only when
 * !json_only (as ": name=value" after the message). */
struct edxbus__log_field {
    const char *name;
    const char *value; /* NULL: null / "-" */
    bool json_only;
};

/** Format @p message (and @p fields) as EVENT_BUS_LOG_FORMAT says and hand it to @p fn (the
 *  default sink applies EVENT_BUS_LOG_LEVEL). */
void edxbus__log_emit(const edxbus_conf_t *conf, edxbus_log_fn fn, void *opaque,
                      edxbus_log_level_t level, const char *message,
                      const struct edxbus__log_field *fields, size_t nfields);

/** Whether @p v (EVENT_BUS_LOG_LEVEL's text, may be NULL) names a level; *@p level (may be
 *  NULL) gets it. conf.c keeps the result per conf (edxbus_conf_log_level() reads that). */
bool edxbus__log_level_from(const char *v, edxbus_log_level_t *level);

/** Whether @p v (EVENT_BUS_LOG_FORMAT's text, may be NULL) says json. */
bool edxbus__log_json_from(const char *v);

/** edxbus_conf_log() with fields (the per-event lines of the worker). */
void edxbus__conf_log_fields(const edxbus_conf_t *conf, edxbus_log_level_t level,
                             const struct edxbus__log_field *fields, size_t nfields,
                             const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* The core's rows (conf_table.c); backends' rows are in their tables (backend.h). */
extern const struct edxbus_setting edxbus__conf_settings[];
extern const size_t edxbus__conf_nsettings;

/** The @p i-th row of the whole settings table: the core's rows, then each registered
 *  backend's (edxbus_backend_at() order); NULL past the last. */
const struct edxbus_setting *edxbus__conf_row(size_t i);

/** Whether @p name was set (file, environment, edxbus_conf_set*), as opposed to defaulted. */
bool edxbus__conf_is_set(const edxbus_conf_t *conf, const char *name);

/** The row of @p name, or NULL when the setting is unknown. */
const struct edxbus_setting *edxbus__conf_find(const char *name);

/** The type's name for messages ("an integer"). */
const char *edxbus__conf_type_name(enum edxbus_setting_type type);

/** @p v (or @p text when not NULL) of setting @p name as it may appear in an error line:
 *  quoted JSON, secrets masked, at most about 60 bytes, ASCII, on one line. Returns @p out. */
const char *edxbus__conf_show(const char *name, const json_t *v, const char *text, char *out,
                              size_t size);

/** @p v converted to row @p s's type (text parsed, integers widened to numbers, ranges checked).
 *  Returns new; NULL with one line in @p errstr naming the setting. */
json_t *edxbus__conf_coerce(const struct edxbus_setting *s, const json_t *v, char *errstr,
                            size_t errstr_size);

/** Load a YAML file whose root is a mapping: returns new a JSON object of its top-level keys,
 *  and in *@p lines (returns new) an object of the same keys holding their 1-based line.
 *  NULL on error with `FILE:LINE: what` in @p errstr (*@p err says IO or CONF). */
json_t *edxbus__conf_yaml_load(const char *path, json_t **lines, edxbus_err_t *err, char *errstr,
                               size_t errstr_size);

#endif /* EDXBUS_CONF_INT_H */
