/* include/edxbus/conf.h — settings, under the Django setting names operators already use.
 *
 * A conf is a set of named settings (EVENT_BUS_PRODUCER, EVENT_BUS_PRODUCER_CONFIG,
 * EVENT_BUS_TOPIC_PREFIX, EVENT_BUS_REDIS_CONNECTION_URL, …), each holding a JSON value. They
 * come from a YAML settings file (paste from Tutor or devstack), from environment variables of
 * the same names (structured values as JSON text) and from edxbus_conf_set() calls.
 *
 * Precedence is the order of the calls: every call that sets a setting replaces its value, so
 * the last call wins, whatever its source. edxbus_conf_load_env() after edxbus_conf_set()
 * overrides the set value with the environment's (when the variable exists), and
 * edxbus_conf_set() after edxbus_conf_load_env() overrides the environment. The `edxbus`
 * command loads the file, then the environment; a service that also sets values in code
 * usually sets them last, so that they win:
 *
 *     edxbus_conf_load_yaml(conf, path, ...);   // the file
 *     edxbus_conf_load_env(conf, ...);          // the environment overrides the file
 *     edxbus_conf_set(conf, name, value, ...);  // explicit values override both
 *
 * Every known setting is one row of a table (name, type, default,
 * secret, description) in src/bus/conf_table.c: validation, `edxbus config check` and the
 * documentation all come from it. Unknown names are kept but draw a "did you mean" warning.
 * Secrets (passwords, API secrets, passwords inside URLs) never appear in messages or in
 * edxbus_conf_dump().
 *
 * Lifecycle: new -> set/load... -> hand to a producer/consumer/bus (which copy what they need)
 * -> destroy. Thread rule: a conf is not thread-safe while being changed; once built it may be
 * read from any thread.
 */
#ifndef EDXBUS_CONF_H
#define EDXBUS_CONF_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "edxbus/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct edxbus_conf edxbus_conf_t;

/** Log levels, as syslog's. */
typedef enum {
    EDXBUS_LOG_ERROR = 3,
    EDXBUS_LOG_WARNING = 4,
    EDXBUS_LOG_INFO = 6,
    EDXBUS_LOG_DEBUG = 7,
} edxbus_log_level_t;

/** Where the library's log lines go. @p line is one line without a newline, borrowed for the
 *  call only. The library writes to stdio only through edxbus_log_stderr(), the default.
 *  With EVENT_BUS_LOG_FORMAT "json" the line is one JSON object: {"time" (ISO-8601 UTC, ms),
 *  "level", "message", and for lines about an event its fields: "topic", "group", "position",
 *  "event_id", "event_type", "event_time"}. A log function gets every line whatever
 *  EVENT_BUS_LOG_LEVEL says (edxbus_conf_log_level() tells it); the default applies it. */
typedef void (*edxbus_log_fn)(edxbus_log_level_t level, const char *line, void *opaque);

/** The default log function of every new conf: warnings and errors go to stderr as
 *  "edxbus: warning: <line>" / "edxbus: error: <line>"; info and debug lines are dropped.
 *  Through edxbus_conf_log(), EVENT_BUS_LOG_LEVEL (when set) decides instead, and with
 *  EVENT_BUS_LOG_FORMAT json the JSON object is written alone. @p opaque is unused. */
EDXBUS_API void edxbus_log_stderr(edxbus_log_level_t level, const char *line, void *opaque);

/** A new, empty conf (every setting at its default), logging through edxbus_log_stderr().
 *  Returns new; NULL when out of memory. */
EDXBUS_API edxbus_conf_t *edxbus_conf_new(void);

/** A deep copy of @p conf, log callback included. Returns new; NULL when out of memory. */
EDXBUS_API edxbus_conf_t *edxbus_conf_dup(const edxbus_conf_t *conf);

/** Free @p conf. NULL is a no-op. */
EDXBUS_API void edxbus_conf_destroy(edxbus_conf_t *conf);

/** Set where log lines go (the default is edxbus_log_stderr()); NULL drops them all. Copied by
 *  edxbus_conf_dup(). Also sets the level below which lines are made (see
 *  edxbus_conf_set_log_level()): EDXBUS_LOG_WARNING for edxbus_log_stderr(), which drops info
 *  and debug lines, EDXBUS_LOG_DEBUG (every line) for any other function. */
EDXBUS_API void edxbus_conf_set_log(edxbus_conf_t *conf, edxbus_log_fn fn, void *opaque);

/** Make only lines of level @p max or more severe (EDXBUS_LOG_ERROR is the most severe): the
 *  others are neither formatted nor passed to the log function. A log function that drops info
 *  lines says so here, and the library skips the work of making them (the worker's audit line
 *  per event is an info line). Call it after edxbus_conf_set_log(). Copied by edxbus_conf_dup(). */
EDXBUS_API void edxbus_conf_set_log_level(edxbus_conf_t *conf, edxbus_log_level_t max);

/** Whether a line of @p level would reach the log function: one is set and @p level is within
 *  the level of edxbus_conf_set_log_level(). For callers that build a line's parts first. */
EDXBUS_API bool edxbus_conf_is_logged(const edxbus_conf_t *conf, edxbus_log_level_t level);

/** Log through @p conf's callback, printf-style (for the library's own modules and plugins). */
EDXBUS_API void edxbus_conf_log(const edxbus_conf_t *conf, edxbus_log_level_t level,
                                const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/** "error", "warning", "info" or "debug": how log lines name @p level. Static storage. */
EDXBUS_API const char *edxbus_log_level_name(edxbus_log_level_t level);

/** Whether EVENT_BUS_LOG_LEVEL is set to a level ("error", "warning", "info", "debug", any
 *  case); *@p level (may be NULL) gets it. False when unset or not a level. */
EDXBUS_API bool edxbus_conf_log_level(const edxbus_conf_t *conf, edxbus_log_level_t *level);

/** Whether EVENT_BUS_LOG_FORMAT is "json" (else text). */
EDXBUS_API bool edxbus_conf_log_json(const edxbus_conf_t *conf);

/** Check EVENT_BUS_LOG_FORMAT (text or json) and EVENT_BUS_LOG_LEVEL.
 *  Errors: EDXBUS_ERR_CONF with e.g. `EVENT_BUS_LOG_FORMAT: "xml" is not a log format;
 *  expected text or json`. */
EDXBUS_API edxbus_err_t edxbus_conf_check_log(const edxbus_conf_t *conf, char *errstr,
                                              size_t errstr_size);

/** Set @p name from text: for string settings the text itself; for numbers, booleans
 *  (true/false/1/0/yes/no) and structured settings (EVENT_BUS_PRODUCER_CONFIG) the text is
 *  parsed (JSON for structured ones).
 *  Errors: EDXBUS_ERR_CONF with e.g.
 *  `EVENT_BUS_REDIS_STREAM_MAX_LEN: "ten" is not an integer; expected e.g. 10000`. */
EDXBUS_API edxbus_err_t edxbus_conf_set(edxbus_conf_t *conf, const char *name, const char *value,
                                        char *errstr, size_t errstr_size);

/** Set @p name to a JSON value (type-checked against the table). Borrows @p value (copied). */
EDXBUS_API edxbus_err_t edxbus_conf_set_json(edxbus_conf_t *conf, const char *name,
                                             const json_t *value, char *errstr, size_t errstr_size);

/** Make loading report every bad value instead of stopping at the first (for `config check`):
 *  while @p problems (a JSON array, borrowed; NULL to stop) is set, edxbus_conf_load_yaml() and
 *  edxbus_conf_load_env() apply every good value, append one line per bad one (`FILE:LINE:
 *  what` / `environment variable NAME: what`, secrets masked), skip it, and still return
 *  EDXBUS_ERR_CONF with the first line in errstr. Not copied by edxbus_conf_dup(). */
EDXBUS_API void edxbus_conf_collect_problems(edxbus_conf_t *conf, json_t *problems);

/** Load a YAML settings file: a mapping of setting names to values (scalars, mappings, lists).
 *  Errors: EDXBUS_ERR_IO or EDXBUS_ERR_CONF with `FILE:LINE: what`; @p conf is unchanged then. */
EDXBUS_API edxbus_err_t edxbus_conf_load_yaml(edxbus_conf_t *conf, const char *path, char *errstr,
                                              size_t errstr_size);

/** Apply environment variables named like known settings (they override the file).
 *  Errors: as edxbus_conf_set(), naming the variable. */
EDXBUS_API edxbus_err_t edxbus_conf_load_env(edxbus_conf_t *conf, char *errstr, size_t errstr_size);

/** The value of @p name: what was set, else the table's default, else NULL. Borrowed. */
EDXBUS_API const json_t *edxbus_conf_get(const edxbus_conf_t *conf, const char *name);

/** Typed getters: the value of @p name, or @p def when unset/null/of another type. */
EDXBUS_API const char *edxbus_conf_get_str(const edxbus_conf_t *conf, const char *name,
                                           const char *def);
EDXBUS_API int64_t edxbus_conf_get_int(const edxbus_conf_t *conf, const char *name, int64_t def);
EDXBUS_API double edxbus_conf_get_double(const edxbus_conf_t *conf, const char *name, double def);
EDXBUS_API bool edxbus_conf_get_bool(const edxbus_conf_t *conf, const char *name, bool def);

/** Validate every setting (types, ranges, URLs, EVENT_BUS_PRODUCER_CONFIG's shape and event
 *  types…). Each problem is appended to @p errors (a JSON array of one-line strings, may be
 *  NULL) and logged. Returns EDXBUS_OK when there is none, EDXBUS_ERR_CONF otherwise. */
EDXBUS_API edxbus_err_t edxbus_conf_check(const edxbus_conf_t *conf, json_t *errors);

/** The effective settings (set values and defaults, by name) with secrets replaced by
 *  "********" (and passwords inside URLs masked). Returns new; json_decref it. */
EDXBUS_API json_t *edxbus_conf_dump(const edxbus_conf_t *conf);

/** The service name for metadata: EVENTS_SERVICE_NAME, else SERVICE_VARIANT, else NULL. */
EDXBUS_API const char *edxbus_conf_service_name(const edxbus_conf_t *conf);

/** The backend a setting (EVENT_BUS_PRODUCER or EVENT_BUS_CONSUMER) selects: "sqlite", "redis"
 *  or "kafka" (also for the reference's dotted paths, edx_event_bus_redis.create_producer,
 *  edx_event_bus_kafka.KafkaEventConsumer…), the value itself for a plugin
 *  (`/path/libx.so:symbol`), or NULL when unset or not recognised. Borrowed from @p conf or
 *  static. */
EDXBUS_API const char *edxbus_conf_backend(const edxbus_conf_t *conf, const char *name);

/** The value of setting @p name as error lines show it: quoted JSON, secrets masked (a secret
 *  value is "(secret)", a URL's password and secret query parameters "********"), at most about
 *  60 bytes, one line; "(unset)" when unset with no default. Writes @p out; returns @p out. */
EDXBUS_API const char *edxbus_conf_show(const edxbus_conf_t *conf, const char *name, char *out,
                                        size_t size);

/** The settings table, for `edxbus config list` and the docs: an array of
 *  {"name", "type" (string, string-or-null, int, int-or-null, double, bool, object, list,
 *  paths), "default", "secret", "description"}. Returns new; json_decref it. NULL on no memory. */
EDXBUS_API json_t *edxbus_conf_describe(void);

#ifdef __cplusplus
}
#endif
#endif /* EDXBUS_CONF_H */
