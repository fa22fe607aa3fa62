/* src/bus/conf_int.h — the settings table and the pieces conf.c, conf_table.c and conf_yaml.c
 * share. Not API: nothing outside src/bus/ includes it.
 *
 * One row per known setting (src/bus/conf_table.c). A row says what type the value has, its
 * default (JSON text), whether it is secret, which extra check `edxbus config check` runs, and
 * one line of description. To add a setting, add a row; nothing else needs to change unless it
 * needs a new kind of check (enum edxbus__conf_check, then conf.c's check_one()).
 */
#ifndef EDXBUS_CONF_INT_H
#define EDXBUS_CONF_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "edxbus/conf.h"

enum edxbus__conf_type {
    EDXBUS__CONF_STR,      /* a string */
    EDXBUS__CONF_STR_NULL, /* a string or null */
    EDXBUS__CONF_INT,      /* an integer */
    EDXBUS__CONF_INT_NULL, /* an integer or null */
    EDXBUS__CONF_DOUBLE,   /* a number (integers are stored as reals) */
    EDXBUS__CONF_BOOL,     /* true or false */
    EDXBUS__CONF_OBJECT,   /* a JSON object (mapping) */
    EDXBUS__CONF_LIST,     /* a JSON array (sequence) */
    EDXBUS__CONF_PATHS,    /* null, a string (':'-separated directories) or a list of strings */
};

enum edxbus__conf_secret {
    EDXBUS__SECRET_NONE,
    EDXBUS__SECRET_VALUE, /* the whole value is secret */
    EDXBUS__SECRET_URL,   /* a URL whose password part is secret */
    EDXBUS__SECRET_KEYS,  /* an object whose keys naming a password/secret/token are secret */
};

enum edxbus__conf_check {
    EDXBUS__CHECK_NONE,
    EDXBUS__CHECK_BACKEND,   /* sqlite, redis, kafka, a reference dotted path, or lib.so:symbol */
    EDXBUS__CHECK_REDIS_URL, /* redis://, rediss:// or unix:// URL */
    EDXBUS__CHECK_HTTP_URL,  /* http:// or https:// URL */
    EDXBUS__CHECK_HOSTPORTS, /* host:port[,host:port...] */
    EDXBUS__CHECK_ROUTING,   /* EVENT_BUS_PRODUCER_CONFIG's shape and event types */
    EDXBUS__CHECK_SYNC,      /* an SQLite synchronous level: OFF, NORMAL, FULL, EXTRA */
};

struct edxbus__conf_setting {
    const char *name; /* the Django setting name, verbatim */
    enum edxbus__conf_type type;
    const char *def; /* the default as JSON text ("null" when none) */
    enum edxbus__conf_secret secret;
    enum edxbus__conf_check check;
    double min;          /* numbers: the smallest value allowed */
    const char *example; /* a valid value, for error lines ("10000") */
    const char *desc;    /* one line for `edxbus config list` and the docs */
};

extern const struct edxbus__conf_setting edxbus__conf_settings[];
extern const size_t edxbus__conf_nsettings;

/** The row of @p name, or NULL when the setting is unknown. */
const struct edxbus__conf_setting *edxbus__conf_find(const char *name);

/** The type's name for messages ("an integer"). */
const char *edxbus__conf_type_name(enum edxbus__conf_type type);

/** @p v (or @p text when not NULL) of setting @p name as it may appear in an error line:
 *  quoted JSON, secrets masked, at most about 60 bytes, ASCII, on one line. Returns @p out. */
const char *edxbus__conf_show(const char *name, const json_t *v, const char *text, char *out,
                              size_t size);

/** @p v converted to row @p s's type (text parsed, integers widened to numbers, ranges checked).
 *  Returns new; NULL with one line in @p errstr naming the setting. */
json_t *edxbus__conf_coerce(const struct edxbus__conf_setting *s, const json_t *v, char *errstr,
                            size_t errstr_size);

/** Load a YAML file whose root is a mapping: returns new a JSON object of its top-level keys,
 *  and in *@p lines (returns new) an object of the same keys holding their 1-based line.
 *  NULL on error with `FILE:LINE: what` in @p errstr (*@p err says IO or CONF). */
json_t *edxbus__conf_yaml_load(const char *path, json_t **lines, edxbus_err_t *err, char *errstr,
                               size_t errstr_size);

#endif /* EDXBUS_CONF_INT_H */
