/* src/bus/conf_table.c — every setting edxbus knows: one row each.
 *
 * Names, types and defaults follow the Python packages operators already configure
 * (openedx-events, edx-event-bus-redis, edx-event-bus-kafka), so a settings file pasted from
 * Tutor or devstack means the same thing here. Settings edxbus adds are for what the reference
 * has no equivalent of: the embedded SQLite broker (the default backend, so a bus works with no
 * server), retries and dead-lettering of failing receivers, and socket timeouts.
 *
 * Decisions on defaults, where the reference gives none:
 *   EVENT_BUS_PRODUCER/CONSUMER "sqlite": the embedded log works out of the box.
 *   EVENT_BUS_SQLITE_RETENTION 7d, EVENT_BUS_SQLITE_MAX_LEN 0 (no cap),
 *     EVENT_BUS_SQLITE_GROUP_IDLE_LIMIT null: the embedded log removes an event only once every
 *     consumer group of its topic acknowledged it, then keeps it a week for replay by time; a
 *     group that stopped for good holds events back until the operator sets an idle limit
 *     (never dropping what a group has not read unless told to). (Rows in sqlite_module.c.)
 *   EVENT_BUS_CONSUMER_RETRIES 3, EVENT_BUS_CONSUMER_RETRY_BACKOFF_MS 1000, dead-lettering on:
 *     a failing receiver is tried three times in all (the first try and two retries, 1 s then
 *     2 s apart) and the event is then kept aside, not lost.
 *     EVENT_BUS_DEAD_LETTER_ENABLED false restores the reference behaviour (log and ack).
 *   EVENT_BUS_CONSUMER_POLL_TIMEOUT 1.0 s (as Kafka's): how long a poll of the embedded log
 *     waits for new entries.
 *
 * This table holds the core's rows only (routing, naming, consuming whatever the broker). Each
 * backend owns its rows (struct edxbus_backend_ops.settings, e.g. src/backends/redis/redis.c);
 * edxbus__conf_row() walks the core's, then every registered backend's, so the settings table
 * is the union. To add a core setting, add a row here (backend.h explains the columns); a
 * backend's setting goes into its own table.
 */
#include <string.h>

#include "conf_int.h"
#include "edxbus/backend.h"

const struct edxbus_setting edxbus__conf_settings[] = {
    /* Core (openedx-events). */
    {"EVENT_BUS_PRODUCER", EDXBUS_SETTING_STR, "\"sqlite\"", EDXBUS_SECRET_NONE,
     0, "\"redis\"",
     "Backend events are produced to: sqlite, redis, kafka, or /path/libx.so:symbol"},
    {"EVENT_BUS_CONSUMER", EDXBUS_SETTING_STR, "\"sqlite\"", EDXBUS_SECRET_NONE,
     0, "\"redis\"",
     "Backend events are consumed from: sqlite, redis, kafka, or /path/libx.so:symbol"},
    {"EVENT_BUS_PRODUCER_CONFIG", EDXBUS_SETTING_OBJECT, "{}", EDXBUS_SECRET_NONE,
     0,
     "{\"org.openedx.x.v1\": {\"topic\": {\"event_key_field\": \"a.b\", \"enabled\": true}}}",
     "Event type -> topic -> {event_key_field, enabled}: which events are sent where"},
    {"EVENT_BUS_PRODUCER_LAZY_START", EDXBUS_SETTING_BOOL, "false", EDXBUS_SECRET_NONE, 0,
     "true",
     "Start a bus whose producer cannot start (a warning; nothing reaches the broker) instead "
     "of failing"},
    {"EVENT_BUS_TOPIC_PREFIX", EDXBUS_SETTING_STR_NULL, "null", EDXBUS_SECRET_NONE,
     0, "\"dev\"",
     "Prefix of every topic/stream name: <prefix>-<topic> (none: the bare topic)"},
    {"EVENTS_SERVICE_NAME", EDXBUS_SETTING_STR_NULL, "null", EDXBUS_SECRET_NONE, 0, "\"lms\"",
     "Service name in the events' source (openedx/<name>/web); wins over SERVICE_VARIANT"},
    {"SERVICE_VARIANT", EDXBUS_SETTING_STR_NULL, "null", EDXBUS_SECRET_NONE, 0,
     "\"lms\"", "Service name used when EVENTS_SERVICE_NAME is unset"},
    {"EVENT_BUS_SCHEMA_PATH", EDXBUS_SETTING_PATHS, "null", EDXBUS_SECRET_NONE, 0, "\"/etc/edxbus/schemas\"",
     "Directories of extra *.avsc event schemas (':'-separated, or a list)"},

    /* Consuming, whatever the backend (edxbus). */
    {"EVENT_BUS_CONSUMER_POLL_TIMEOUT", EDXBUS_SETTING_DOUBLE, "1.0", EDXBUS_SECRET_NONE,
     0, "1.0", "Seconds a poll of the embedded log waits for new events"},
    {"EVENT_BUS_CONSUMER_POLL_FAILURE_SLEEP", EDXBUS_SETTING_DOUBLE, "1.0", EDXBUS_SECRET_NONE,
     0, "1.0", "Seconds to sleep after a failed poll of the embedded log"},
    {"EVENT_BUS_CONSUMER_CONSECUTIVE_ERRORS_LIMIT", EDXBUS_SETTING_INT_NULL, "null",
     EDXBUS_SECRET_NONE, 0, "10",
     "Errors in a row (failed polls, events that failed, failed acks; an event delivered "
     "resets it) before a consumer stops (null or 0: never)"},
    {"EVENT_BUS_CONSUMER_BATCH_SIZE", EDXBUS_SETTING_INT, "16", EDXBUS_SECRET_NONE,
     1, "16", "Most events a consumer takes from the broker per poll"},
    {"EVENT_BUS_CONSUMER_RETRIES", EDXBUS_SETTING_INT, "3", EDXBUS_SECRET_NONE, 0, "3",
     "Tries in all (not retries) of a receiver on an event before it is dead-lettered; 3: the "
     "first and two retries (0 counts as 1)"},
    {"EVENT_BUS_CONSUMER_RETRY_BACKOFF_MS", EDXBUS_SETTING_INT, "1000", EDXBUS_SECRET_NONE,
     0, "1000",
     "Milliseconds before the first retry of a failed receiver; doubled each retry, at most 30 s"},
    {"EVENT_BUS_DEAD_LETTER_ENABLED", EDXBUS_SETTING_BOOL, "true", EDXBUS_SECRET_NONE,
     0, "false",
     "Keep events whose receivers still fail after the retries (false: log and ack, as the "
     "reference)"},
    {"EVENT_BUS_BRIDGE_HTTP_TOKEN", EDXBUS_SETTING_STR_NULL, "null", EDXBUS_SECRET_VALUE, 0,
     "\"TOKEN\"", "Bearer token of the bridge's HTTP destination (edxbus bridge --to URL)"},
    {"EVENT_BUS_BRIDGE_HTTP_BASIC_AUTH", EDXBUS_SETTING_STR_NULL, "null", EDXBUS_SECRET_VALUE, 0,
     "\"user:password\"", "Basic auth (user:password) of the bridge's HTTP destination"},
    {"EVENT_BUS_BRIDGE_HTTP_TIMEOUT", EDXBUS_SETTING_DOUBLE, "10.0", EDXBUS_SECRET_NONE, 0.001,
     "10.0", "Seconds one POST of the bridge's HTTP destination may take"},
    {"EVENT_BUS_BRIDGE_HTTP_IN_FLIGHT", EDXBUS_SETTING_INT, "8", EDXBUS_SECRET_NONE, 1, "8",
     "Most POSTs of the bridge's HTTP destination in flight at once (1 to 256; 1: one at a "
     "time, in the source's order); events of one key are never in flight together"},
    {"EVENT_BUS_BRIDGE_HTTP_CONTENT_MODE", EDXBUS_SETTING_STR, "\"binary\"", EDXBUS_SECRET_NONE,
     0, "\"structured\"",
     "CloudEvents content mode of the bridge's HTTP destination: binary (ce- headers, the data "
     "as the body) or structured (one application/cloudevents+json body)"},
    {"EVENT_BUS_CONSUMER_DEDUP", EDXBUS_SETTING_BOOL, "false", EDXBUS_SECRET_NONE, 0, "true",
     "Skip (acknowledge without running receivers) events whose id the group already handled"},
    {"EVENT_BUS_CONSUMER_DEDUP_PATH", EDXBUS_SETTING_STR, "\".\"", EDXBUS_SECRET_NONE, 0,
     "\"/var/lib/edxbus\"",
     "Directory of the handled-id files, one per group: edxbus-dedup-<group>.db"},
    {"EVENT_BUS_CONSUMER_DEDUP_WINDOW", EDXBUS_SETTING_INT, "604800", EDXBUS_SECRET_NONE, 1,
     "604800", "Seconds a handled event id is remembered (default 7 days)"},
    {"EVENT_BUS_AUDIT_LOGGING_ENABLED", EDXBUS_SETTING_BOOL, "true", EDXBUS_SECRET_NONE,
     0, "false", "Log one line per event produced or consumed (embedded log)"},

    /* Metrics, probes and logs (edxbus; metrics.h). */
    {"EVENT_BUS_METRICS_ENABLED", EDXBUS_SETTING_BOOL, "true", EDXBUS_SECRET_NONE, 0, "false",
     "Count events, handling times, lag and broker state for metrics.h and /metrics"},
    {"EVENT_BUS_METRICS_ADDRESS", EDXBUS_SETTING_STR_NULL, "null", EDXBUS_SECRET_NONE, 0,
     "\"127.0.0.1:9464\"",
     "HOST:PORT serving /metrics, /healthz, /readyz (a bare port binds loopback; null: off)"},
    {"EVENT_BUS_METRICS_REFRESH_INTERVAL", EDXBUS_SETTING_DOUBLE, "15.0", EDXBUS_SECRET_NONE,
     0.01, "15.0", "Seconds between two refreshes of the consumer lag and outbox depth gauges"},
    {"EVENT_BUS_METRICS_STALL_TIMEOUT", EDXBUS_SETTING_DOUBLE, "60.0", EDXBUS_SECRET_NONE, 0,
     "60.0", "Seconds a worker loop may go without turning before /healthz fails (0: never)"},
    {"EVENT_BUS_LOG_FORMAT", EDXBUS_SETTING_STR, "\"text\"", EDXBUS_SECRET_NONE, 0, "\"json\"",
     "Log lines as text, or json: one object per line (time, level, message, event fields)"},
    {"EVENT_BUS_LOG_LEVEL", EDXBUS_SETTING_STR_NULL, "null", EDXBUS_SECRET_NONE, 0, "\"info\"",
     "Lowest level logged: error, warning, info or debug (null: warning; -v/-q win)"},
    {"EVENT_BUS_METRICS_UNREADY_ERRORS", EDXBUS_SETTING_INT, "3", EDXBUS_SECRET_NONE, 1, "3",
     "Consecutive errors (failed polls, events, acks) at which /readyz says not ready"},

    /* The producer outbox and effectively-once consumers (edxbus). */
    {"EVENT_BUS_OUTBOX_PATH", EDXBUS_SETTING_STR_NULL, "null", EDXBUS_SECRET_NONE, 0,
     "\"/var/lib/edxbus/outbox.db\"",
     "Outbox file: sends commit here and a relay forwards to EVENT_BUS_PRODUCER (null: off)"},
    {"EVENT_BUS_OUTBOX_RELAY", EDXBUS_SETTING_BOOL, "true", EDXBUS_SECRET_NONE, 0, "false",
     "Whether each producer with an outbox runs a relay thread (else: edxbus relay)"},
    {"EVENT_BUS_OUTBOX_DRAIN_TIMEOUT", EDXBUS_SETTING_DOUBLE, "5.0", EDXBUS_SECRET_NONE, 0, "5.0",
     "Seconds edxbus produce waits for the relay to empty the outbox before it exits"},
    {"EVENT_BUS_OUTBOX_RETRY_MAX", EDXBUS_SETTING_DOUBLE, "10.0", EDXBUS_SECRET_NONE, 0.01,
     "10.0", "Longest pause, in seconds, between two tries of a relay whose broker is unreachable"},
};

const size_t edxbus__conf_nsettings =
    sizeof edxbus__conf_settings / sizeof edxbus__conf_settings[0];

const struct edxbus_setting *edxbus__conf_row(size_t i)
{
    if (i < edxbus__conf_nsettings)
        return &edxbus__conf_settings[i];
    i -= edxbus__conf_nsettings;
    const struct edxbus_backend_ops *ops;
    for (size_t b = 0; (ops = edxbus_backend_at(b)) != NULL; b++) {
        if (ops->abi_version < 2 || ops->settings == NULL)
            continue;
        for (const struct edxbus_setting *s = ops->settings; s->name != NULL; s++)
            if (i-- == 0)
                return s;
    }
    return NULL;
}

const struct edxbus_setting *edxbus__conf_find(const char *name)
{
    const struct edxbus_setting *s;
    for (size_t i = 0; (s = edxbus__conf_row(i)) != NULL; i++)
        if (strcmp(s->name, name) == 0)
            return s;
    return NULL;
}

const char *edxbus__conf_type_name(enum edxbus_setting_type type)
{
    switch (type) {
    case EDXBUS_SETTING_STR:
        return "a string";
    case EDXBUS_SETTING_STR_NULL:
        return "a string or null";
    case EDXBUS_SETTING_INT:
        return "an integer";
    case EDXBUS_SETTING_INT_NULL:
        return "an integer or null";
    case EDXBUS_SETTING_DOUBLE:
        return "a number";
    case EDXBUS_SETTING_BOOL:
        return "a boolean";
    case EDXBUS_SETTING_OBJECT:
        return "a mapping";
    case EDXBUS_SETTING_LIST:
        return "a list";
    case EDXBUS_SETTING_PATHS:
        return "a path, a list of paths or null";
    }
    return "a value";
}
