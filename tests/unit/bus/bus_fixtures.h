/* tests/unit/bus/bus_fixtures.h — what the bus tests share: sample events, a conf on a fresh
 * SQLite file in a temp directory, a log catcher and a recording receiver.
 */
#ifndef EDXBUS_TEST_BUS_FIXTURES_H
#define EDXBUS_TEST_BUS_FIXTURES_H

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "edxbus/edxbus.h"

#define ENROLLMENT_TYPE "org.openedx.learning.course.enrollment.created.v1"
#define ENROLLMENT_JSON                                                                            \
    "{\"enrollment\": {\"user\": {\"id\": 42, \"is_active\": true, \"pii\": {\"username\": "       \
    "\"ada\", \"email\": \"ada@example.com\", \"name\": \"Ada\"}}, \"course\": {\"course_key\": "  \
    "\"course-v1:edX+DemoX+2024\", \"display_name\": \"Demo\", \"start\": null, \"end\": null}, "  \
    "\"mode\": \"audit\", \"is_active\": true, \"creation_date\": "                                \
    "\"2024-05-01T10:00:00+00:00\", \"created_by\": null}}"

/* Log lines caught from the conf's callback, one per line. */
static char fx_log[1 << 16];
static size_t fx_log_len;

static inline void fx_log_fn(edxbus_log_level_t level, const char *line, void *opaque)
{
    (void)level;
    (void)opaque;
    size_t n = strlen(line);
    if (fx_log_len + n + 2 < sizeof fx_log) {
        memcpy(fx_log + fx_log_len, line, n);
        fx_log_len += n;
        fx_log[fx_log_len++] = '\n';
        fx_log[fx_log_len] = '\0';
    }
}

static inline void fx_log_clear(void)
{
    fx_log_len = 0;
    fx_log[0] = '\0';
}

static char fx_dir[256];
static int fx_db_seq;

/* A temp directory for this test program (removed by fx_cleanup()). */
static inline void fx_setup(void)
{
    snprintf(fx_dir, sizeof fx_dir, "/tmp/edxbus-test-XXXXXX");
    if (mkdtemp(fx_dir) == NULL) {
        perror("mkdtemp");
        exit(1);
    }
}

static inline void fx_cleanup(void)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", fx_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", fx_dir);
}

/* A conf on a new SQLite file, with @p producer_config (JSON text or NULL) and @p prefix. */
static inline edxbus_conf_t *fx_conf(const char *producer_config, const char *prefix)
{
    char err[EDXBUS_ERRSTR_SIZE];
    char path[320];
    snprintf(path, sizeof path, "%s/bus%d.db", fx_dir, ++fx_db_seq);
    edxbus_conf_t *conf = edxbus_conf_new();
    edxbus_conf_set_log(conf, fx_log_fn, NULL);
    if (edxbus_conf_set(conf, "EVENT_BUS_SQLITE_PATH", path, err, sizeof err) != EDXBUS_OK ||
        edxbus_conf_set(conf, "EVENT_BUS_SQLITE_SYNCHRONOUS", "OFF", err, sizeof err) !=
            EDXBUS_OK ||
        edxbus_conf_set(conf, "EVENT_BUS_PRODUCER", "sqlite", err, sizeof err) != EDXBUS_OK ||
        edxbus_conf_set(conf, "EVENT_BUS_CONSUMER", "sqlite", err, sizeof err) != EDXBUS_OK ||
        edxbus_conf_set(conf, "EVENTS_SERVICE_NAME", "lms", err, sizeof err) != EDXBUS_OK ||
        edxbus_conf_set(conf, "EVENT_BUS_CONSUMER_RETRY_BACKOFF_MS", "1", err, sizeof err) !=
            EDXBUS_OK ||
        (producer_config != NULL &&
         edxbus_conf_set(conf, "EVENT_BUS_PRODUCER_CONFIG", producer_config, err, sizeof err) !=
             EDXBUS_OK) ||
        (prefix != NULL &&
         edxbus_conf_set(conf, "EVENT_BUS_TOPIC_PREFIX", prefix, err, sizeof err) != EDXBUS_OK)) {
        fprintf(stderr, "fx_conf: %s\n", err);
        exit(1);
    }
    return conf;
}

static inline edxbus_bus_t *fx_bus(const char *producer_config, const char *prefix)
{
    char err[EDXBUS_ERRSTR_SIZE];
    edxbus_conf_t *conf = fx_conf(producer_config, prefix);
    edxbus_bus_t *bus = edxbus_bus_new(conf, err, sizeof err);
    if (bus == NULL) {
        fprintf(stderr, "fx_bus: %s\n", err);
        exit(1);
    }
    return bus;
}

static inline json_t *fx_json(const char *text)
{
    json_error_t e;
    json_t *v = json_loads(text, 0, &e);
    if (v == NULL) {
        fprintf(stderr, "fx_json: %s\n", e.text);
        exit(1);
    }
    return v;
}

static inline json_t *fx_json_allow_nul(const char *text)
{
    json_error_t e;
    json_t *v = json_loads(text, JSON_ALLOW_NUL, &e);
    if (v == NULL) {
        fprintf(stderr, "fx_json: %s\n", e.text);
        exit(1);
    }
    return v;
}

/* Every row of tests/vectors/@p name (JSON lines) as an array; exits when unreadable. */
static inline json_t *fx_vector_rows(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", EDXBUS_TEST_DATA_DIR, name);
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr, "cannot open %s\n", path);
        exit(1);
    }
    json_t *rows = json_array();
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) > 0)
        json_array_append_new(rows, fx_json_allow_nul(line));
    free(line);
    fclose(f);
    return rows;
}

/* @p hex as bytes (malloc'ed; *@p len bytes). */
static inline unsigned char *fx_unhex(const char *hex, size_t *len)
{
    *len = strlen(hex) / 2;
    unsigned char *b = malloc(*len + 1);
    for (size_t i = 0; b != NULL && i < *len; i++) {
        unsigned v;
        sscanf(hex + 2 * i, "%2x", &v);
        b[i] = (unsigned char)v;
    }
    return b;
}

/* A receiver that records what it saw and fails its first `fail_times` calls. */
struct fx_recorder {
    int calls;
    int fail_times; /* < 0: always */
    bool from_bus;
    unsigned attempt;
    char id[EDXBUS_METADATA_ID_MAX];
    char source[EDXBUS_METADATA_TEXT_MAX];
    int64_t minorversion;
    char *data; /* json_dumps of the data, sorted keys */
    int *order; /* where to log the call order, or NULL */
    int *order_n;
    int tag;
    volatile sig_atomic_t *stop_after; /* set to 1 after the call, or NULL */
};

static inline edxbus_err_t fx_record(const edxbus_event_t *ev, void *opaque, char *errstr,
                                     size_t errstr_size)
{
    struct fx_recorder *r = opaque;
    r->calls++;
    r->from_bus = edxbus_event_is_from_bus(ev);
    r->attempt = edxbus_event_get_attempt(ev);
    const struct edxbus_metadata *md = edxbus_event_get_metadata(ev);
    snprintf(r->id, sizeof r->id, "%s", md->id);
    snprintf(r->source, sizeof r->source, "%s", md->source);
    r->minorversion = md->minorversion;
    free(r->data);
    r->data = json_dumps(edxbus_event_get_data(ev), JSON_SORT_KEYS);
    if (r->order != NULL)
        r->order[(*r->order_n)++] = r->tag;
    if (r->stop_after != NULL)
        *r->stop_after = 1;
    if (r->fail_times < 0 || r->calls <= r->fail_times) {
        snprintf(errstr, errstr_size, "recorder %d says no", r->tag);
        return EDXBUS_ERR_RECEIVER;
    }
    return EDXBUS_OK;
}

static inline void fx_recorder_fini(struct fx_recorder *r)
{
    free(r->data);
    r->data = NULL;
}

#endif /* EDXBUS_TEST_BUS_FIXTURES_H */
