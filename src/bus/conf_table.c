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
 *     (never dropping what a group has not read unless told to).
 *   EVENT_BUS_CONSUMER_RETRIES 3, EVENT_BUS_CONSUMER_RETRY_BACKOFF_MS 1000, dead-lettering on:
 *     a failing receiver is tried three times in all (the first try and two retries, 1 s then
 *     2 s apart) and the event is then kept aside, not lost.
 *     EVENT_BUS_DEAD_LETTER_ENABLED false restores the reference behaviour (log and ack).
 *   EVENT_BUS_CONSUMER_POLL_TIMEOUT 1.0 s (as Kafka's): how long a poll of the embedded log
 *     waits for new entries.
 *
 * Rows are sorted by family (core, embedded broker, consumer, Redis, Kafka). To add a setting,
 * add a row here (conf_int.h explains the columns).
 */
#include <string.h>

#include "conf_int.h"

const struct edxbus__conf_setting edxbus__conf_settings[] = {
    /* Core (openedx-events). */
    {"EVENT_BUS_PRODUCER", EDXBUS__CONF_STR, "\"sqlite\"", EDXBUS__SECRET_NONE,
     EDXBUS__CHECK_BACKEND, 0, "\"redis\"",
     "Backend events are produced to: sqlite, redis, kafka, or /path/libx.so:symbol"},
    {"EVENT_BUS_CONSUMER", EDXBUS__CONF_STR, "\"sqlite\"", EDXBUS__SECRET_NONE,
     EDXBUS__CHECK_BACKEND, 0, "\"redis\"",
     "Backend events are consumed from: sqlite, redis, kafka, or /path/libx.so:symbol"},
    {"EVENT_BUS_PRODUCER_CONFIG", EDXBUS__CONF_OBJECT, "{}", EDXBUS__SECRET_NONE,
     EDXBUS__CHECK_ROUTING, 0,
     "{\"org.openedx.x.v1\": {\"topic\": {\"event_key_field\": \"a.b\", \"enabled\": true}}}",
     "Event type -> topic -> {event_key_field, enabled}: which events are sent where"},
    {"EVENT_BUS_TOPIC_PREFIX", EDXBUS__CONF_STR_NULL, "null", EDXBUS__SECRET_NONE,
     EDXBUS__CHECK_NONE, 0, "\"dev\"",
     "Prefix of every topic/stream name: <prefix>-<topic> (none: the bare topic)"},
    {"EVENTS_SERVICE_NAME", EDXBUS__CONF_STR_NULL, "null", EDXBUS__SECRET_NONE, EDXBUS__CHECK_NONE,
     0, "\"lms\"",
     "Service name in the events' source (openedx/<name>/web); wins over SERVICE_VARIANT"},
    {"SERVICE_VARIANT", EDXBUS__CONF_STR_NULL, "null", EDXBUS__SECRET_NONE, EDXBUS__CHECK_NONE, 0,
     "\"lms\"", "Service name used when EVENTS_SERVICE_NAME is unset"},
    {"EVENT_BUS_SCHEMA_PATH", EDXBUS__CONF_PATHS, "null", EDXBUS__SECRET_NONE, EDXBUS__CHECK_NONE,
     0, "\"/etc/edxbus/schemas\"",
     "Directories of extra *.avsc event schemas (':'-separated, or a list)"},

    /* The embedded broker (edxbus). */
    {"EVENT_BUS_SQLITE_PATH", EDXBUS__CONF_STR, "\"edxbus.db\"", EDXBUS__SECRET_NONE,
     EDXBUS__CHECK_NONE, 0, "\"/var/lib/edxbus/bus.db\"", "File of the embedded SQLite event log"},
    {"EVENT_BUS_SQLITE_MAX_LEN", EDXBUS__CONF_INT, "0", EDXBUS__SECRET_NONE, EDXBUS__CHECK_NONE, 0,
     "10000",
     "Entries kept per topic in the embedded log once every group acknowledged them, oldest "
     "removed first (0: no cap)"},
    {"EVENT_BUS_SQLITE_RETENTION", EDXBUS__CONF_STR, "\"7d\"", EDXBUS__SECRET_NONE,
     EDXBUS__CHECK_NONE, 0, "\"12h\"",
     "How long the embedded log keeps an event every group acknowledged (ms, s, m, h, d, w; 0: "
     "remove at once; forever: keep)"},
    {"EVENT_BUS_SQLITE_RETENTION_BYTES", EDXBUS__CONF_INT, "0", EDXBUS__SECRET_NONE,
     EDXBUS__CHECK_NONE, 0, "1000000000",
     "While the embedded log holds more data than this, acknowledged events go oldest first "
     "whatever their age (0: no size limit)"},
    {"EVENT_BUS_SQLITE_GROUP_IDLE_LIMIT", EDXBUS__CONF_STR_NULL, "null", EDXBUS__SECRET_NONE,
     EDXBUS__CHECK_NONE, 0, "\"30d\"",
     "A consumer group that has not polled for this long stops holding events back from "
     "retention, with a warning (null: groups always hold)"},
    {"EVENT_BUS_SQLITE_SYNCHRONOUS", EDXBUS__CONF_STR, "\"FULL\"", EDXBUS__SECRET_NONE,
     EDXBUS__CHECK_SYNC, 0, "\"NORMAL\"",
     "SQLite synchronous level: FULL survives power loss, NORMAL only process crashes"},
    {"EVENT_BUS_SQLITE_CONSUMERS_ENABLED", EDXBUS__CONF_BOOL, "true", EDXBUS__SECRET_NONE,
     EDXBUS__CHECK_NONE, 0, "false", "Whether consumers of the embedded log run at all"},

    /* Consuming, whatever the backend (edxbus). */
    {"EVENT_BUS_CONSUMER_POLL_TIMEOUT", EDXBUS__CONF_DOUBLE, "1.0", EDXBUS__SECRET_NONE,
     EDXBUS__CHECK_NONE, 0, "1.0", "Seconds a poll of the embedded log waits for new events"},
    {"EVENT_BUS_CONSUMER_POLL_FAILURE_SLEEP", EDXBUS__CONF_DOUBLE, "1.0", EDXBUS__SECRET_NONE,
     EDXBUS__CHECK_NONE, 0, "1.0", "Seconds to sleep after a failed poll of the embedded log"},
    {"EVENT_BUS_CONSUMER_CONSECUTIVE_ERRORS_LIMIT", EDXBUS__CONF_INT_NULL, "null",
     EDXBUS__SECRET_NONE, EDXBUS__CHECK_NONE, 0, "10",
     "Errors in a row (failed polls, events that failed, failed acks; an event delivered "
     "resets it) before a consumer stops (null or 0: never)"},
    {"EVENT_BUS_CONSUMER_BATCH_SIZE", EDXBUS__CONF_INT, "16", EDXBUS__SECRET_NONE,
     EDXBUS__CHECK_NONE, 1, "16", "Most events a consumer takes from the broker per poll"},
    {"EVENT_BUS_CONSUMER_RETRIES", EDXBUS__CONF_INT, "3", EDXBUS__SECRET_NONE, EDXBUS__CHECK_NONE,
     0, "3",
     "Tries in all (not retries) of a receiver on an event before it is dead-lettered; 3: the "
     "first and two retries (0 counts as 1)"},
    {"EVENT_BUS_CONSUMER_RETRY_BACKOFF_MS", EDXBUS__CONF_INT, "1000", EDXBUS__SECRET_NONE,
     EDXBUS__CHECK_NONE, 0, "1000",
     "Milliseconds before the first retry of a failed receiver; doubled each retry, at most 30 s"},
    {"EVENT_BUS_DEAD_LETTER_ENABLED", EDXBUS__CONF_BOOL, "true", EDXBUS__SECRET_NONE,
     EDXBUS__CHECK_NONE, 0, "false",
     "Keep events whose receivers still fail after the retries (false: log and ack, as the "
     "reference)"},
    {"EVENT_BUS_CONSUMER_DEDUP", EDXBUS__CONF_BOOL, "false", EDXBUS__SECRET_NONE,
     EDXBUS__CHECK_NONE, 0, "true",
     "Skip (acknowledge without running receivers) events whose id the group already handled"},
    {"EVENT_BUS_CONSUMER_DEDUP_PATH", EDXBUS__CONF_STR, "\".\"", EDXBUS__SECRET_NONE,
     EDXBUS__CHECK_NONE, 0, "\"/var/lib/edxbus\"",
     "Directory of the handled-id files, one per group: edxbus-dedup-<group>.db"},
    {"EVENT_BUS_CONSUMER_DEDUP_WINDOW", EDXBUS__CONF_INT, "604800", EDXBUS__SECRET_NONE,
     EDXBUS__CHECK_NONE, 1, "604800",
     "Seconds a handled event id is remembered (default 7 days)"},
    {"EVENT_BUS_AUDIT_LOGGING_ENABLED", EDXBUS__CONF_BOOL, "true", EDXBUS__SECRET_NONE,
     EDXBUS__CHECK_NONE, 0, "false", "Log one line per event produced or consumed (embedded log)"},

    /* The producer outbox and effectively-once consumers (edxbus). */
    {"EVENT_BUS_OUTBOX_PATH", EDXBUS__CONF_STR_NULL, "null", EDXBUS__SECRET_NONE,
     EDXBUS__CHECK_NONE, 0, "\"/var/lib/edxbus/outbox.db\"",
     "Outbox file: sends commit here and a relay forwards to EVENT_BUS_PRODUCER (null: off)"},
    {"EVENT_BUS_OUTBOX_RELAY", EDXBUS__CONF_BOOL, "true", EDXBUS__SECRET_NONE, EDXBUS__CHECK_NONE,
     0, "false", "Whether each producer with an outbox runs a relay thread (else: edxbus relay)"},
    {"EVENT_BUS_OUTBOX_DRAIN_TIMEOUT", EDXBUS__CONF_DOUBLE, "5.0", EDXBUS__SECRET_NONE,
     EDXBUS__CHECK_NONE, 0, "5.0",
     "Seconds edxbus produce waits for the relay to empty the outbox before it exits"},
    {"EVENT_BUS_OUTBOX_RETRY_MAX", EDXBUS__CONF_DOUBLE, "10.0", EDXBUS__SECRET_NONE,
     EDXBUS__CHECK_NONE, 0.01, "10.0",
     "Longest pause, in seconds, between two tries of a relay whose broker is unreachable"},

    /* Redis Streams (edx-event-bus-redis). */
    {"EVENT_BUS_REDIS_CONNECTION_URL", EDXBUS__CONF_STR_NULL, "null", EDXBUS__SECRET_URL,
     EDXBUS__CHECK_REDIS_URL, 0, "\"redis://:password@localhost:6379/0\"",
     "Redis server URL (null: redis://localhost:6379/0)"},
    {"EVENT_BUS_REDIS_STREAM_MAX_LEN", EDXBUS__CONF_INT, "10000", EDXBUS__SECRET_NONE,
     EDXBUS__CHECK_NONE, 0, "10000",
     "Entries a stream keeps (approximately) once every consumer group acknowledged them; "
     "entries a group has not acknowledged are kept beyond it"},
    {"EVENT_BUS_REDIS_STREAM_HARD_MAX_LEN", EDXBUS__CONF_INT, "0", EDXBUS__SECRET_NONE,
     EDXBUS__CHECK_NONE, 0, "1000000",
     "Entries beyond which a stream is trimmed even though groups have not read them, with an "
     "error line naming the groups and counts (0: never)"},
    {"EVENT_BUS_REDIS_CONSUMER_POLL_TIMEOUT", EDXBUS__CONF_DOUBLE, "60", EDXBUS__SECRET_NONE,
     EDXBUS__CHECK_NONE, 0, "60", "Seconds a consumer blocks waiting for new entries"},
    {"EVENT_BUS_REDIS_CONSUMER_POLL_FAILURE_SLEEP", EDXBUS__CONF_DOUBLE, "1.0", EDXBUS__SECRET_NONE,
     EDXBUS__CHECK_NONE, 0, "1.0", "Seconds to sleep after a failed read"},
    {"EVENT_BUS_REDIS_CONSUMER_CONSECUTIVE_ERRORS_LIMIT", EDXBUS__CONF_INT_NULL, "null",
     EDXBUS__SECRET_NONE, EDXBUS__CHECK_NONE, 0, "10",
     "Errors in a row (failed reads, events that failed, failed acks) before a consumer stops "
     "(null: EVENT_BUS_CONSUMER_CONSECUTIVE_ERRORS_LIMIT)"},
    {"EVENT_BUS_REDIS_CONSUMERS_ENABLED", EDXBUS__CONF_BOOL, "true", EDXBUS__SECRET_NONE,
     EDXBUS__CHECK_NONE, 0, "false", "Whether Redis consumers run at all"},
    {"EVENT_BUS_REDIS_AUDIT_LOGGING_ENABLED", EDXBUS__CONF_BOOL, "true", EDXBUS__SECRET_NONE,
     EDXBUS__CHECK_NONE, 0, "false", "Log one line per event produced or consumed (Redis)"},
    {"EVENT_BUS_REDIS_SOCKET_TIMEOUT", EDXBUS__CONF_DOUBLE, "5.0", EDXBUS__SECRET_NONE,
     EDXBUS__CHECK_NONE, 0, "5.0",
     "Seconds a connect, read or write may take before the server counts as gone"},

    /* Kafka (edx-event-bus-kafka). */
    {"EVENT_BUS_KAFKA_BOOTSTRAP_SERVERS", EDXBUS__CONF_STR_NULL, "null", EDXBUS__SECRET_NONE,
     EDXBUS__CHECK_HOSTPORTS, 0, "\"kafka:9092\"", "Kafka brokers: host:port[,host:port...]"},
    {"EVENT_BUS_KAFKA_SCHEMA_REGISTRY_URL", EDXBUS__CONF_STR_NULL, "null", EDXBUS__SECRET_URL,
     EDXBUS__CHECK_HTTP_URL, 0, "\"http://schema-registry:8081\"", "Confluent schema registry URL"},
    {"EVENT_BUS_KAFKA_SCHEMA_REGISTRY_API_KEY", EDXBUS__CONF_STR, "\"\"", EDXBUS__SECRET_NONE,
     EDXBUS__CHECK_NONE, 0, "\"KEY\"", "Schema registry API key (the user name)"},
    {"EVENT_BUS_KAFKA_SCHEMA_REGISTRY_API_SECRET", EDXBUS__CONF_STR, "\"\"", EDXBUS__SECRET_VALUE,
     EDXBUS__CHECK_NONE, 0, "\"SECRET\"", "Schema registry API secret"},
    {"EVENT_BUS_KAFKA_API_KEY", EDXBUS__CONF_STR_NULL, "null", EDXBUS__SECRET_NONE,
     EDXBUS__CHECK_NONE, 0, "\"KEY\"", "Kafka SASL user (API key) for Confluent Cloud"},
    {"EVENT_BUS_KAFKA_API_SECRET", EDXBUS__CONF_STR_NULL, "null", EDXBUS__SECRET_VALUE,
     EDXBUS__CHECK_NONE, 0, "\"SECRET\"", "Kafka SASL password (API secret)"},
    {"EVENT_BUS_KAFKA_CONSUMER_POLL_TIMEOUT", EDXBUS__CONF_DOUBLE, "1.0", EDXBUS__SECRET_NONE,
     EDXBUS__CHECK_NONE, 0, "1.0", "Seconds a consumer poll waits for a message"},
    {"EVENT_BUS_KAFKA_CONSUMER_POLL_FAILURE_SLEEP", EDXBUS__CONF_DOUBLE, "1.0", EDXBUS__SECRET_NONE,
     EDXBUS__CHECK_NONE, 0, "1.0", "Seconds to sleep after a failed poll"},
    {"EVENT_BUS_KAFKA_CONSUMER_CONSECUTIVE_ERRORS_LIMIT", EDXBUS__CONF_INT_NULL, "null",
     EDXBUS__SECRET_NONE, EDXBUS__CHECK_NONE, 0, "10",
     "Errors in a row (failed reads, events that failed, failed acks) before a consumer stops "
     "(null: EVENT_BUS_CONSUMER_CONSECUTIVE_ERRORS_LIMIT)"},
    {"EVENT_BUS_KAFKA_CONSUMERS_ENABLED", EDXBUS__CONF_BOOL, "true", EDXBUS__SECRET_NONE,
     EDXBUS__CHECK_NONE, 0, "false", "Whether Kafka consumers run at all"},
    {"EVENT_BUS_KAFKA_AUDIT_LOGGING_ENABLED", EDXBUS__CONF_BOOL, "true", EDXBUS__SECRET_NONE,
     EDXBUS__CHECK_NONE, 0, "false", "Log one line per event produced or consumed (Kafka)"},
    {"EVENT_BUS_KAFKA_POLL_INTERVAL_SEC", EDXBUS__CONF_DOUBLE, "1.0", EDXBUS__SECRET_NONE,
     EDXBUS__CHECK_NONE, 0, "1.0", "Seconds between producer polls for delivery reports"},
    {"EVENT_BUS_KAFKA_CONFIG", EDXBUS__CONF_OBJECT, "{}", EDXBUS__SECRET_KEYS, EDXBUS__CHECK_NONE,
     0, "{\"compression.type\": \"zstd\"}", "Extra librdkafka properties, applied last"},
};

const size_t edxbus__conf_nsettings =
    sizeof edxbus__conf_settings / sizeof edxbus__conf_settings[0];

const struct edxbus__conf_setting *edxbus__conf_find(const char *name)
{
    for (size_t i = 0; i < edxbus__conf_nsettings; i++)
        if (strcmp(edxbus__conf_settings[i].name, name) == 0)
            return &edxbus__conf_settings[i];
    return NULL;
}

const char *edxbus__conf_type_name(enum edxbus__conf_type type)
{
    switch (type) {
    case EDXBUS__CONF_STR:
        return "a string";
    case EDXBUS__CONF_STR_NULL:
        return "a string or null";
    case EDXBUS__CONF_INT:
        return "an integer";
    case EDXBUS__CONF_INT_NULL:
        return "an integer or null";
    case EDXBUS__CONF_DOUBLE:
        return "a number";
    case EDXBUS__CONF_BOOL:
        return "a boolean";
    case EDXBUS__CONF_OBJECT:
        return "a mapping";
    case EDXBUS__CONF_LIST:
        return "a list";
    case EDXBUS__CONF_PATHS:
        return "a path, a list of paths or null";
    }
    return "a value";
}
