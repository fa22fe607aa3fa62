/* src/backends/nats/nats_module.c — what the NATS JetStream backend owns besides its wire: its
 * settings rows and its config check (backend.h, ABI 2). It takes no `--extra` option of its
 * own (the core's start and offset_time are all a group needs).
 *
 * Every value a producer or consumer would refuse is refused here too, all at once: the URL
 * (nats:// or tls://, a comma-separated list for a cluster), the credential and TLS files
 * (readable), the stream settings (retention, storage, replicas, limits) and the redelivery
 * backoff. To add a setting: a row here, its name in nats_int.h, read it where it is used.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "edxbus/backend_util.h"
#include "nats_int.h"

const struct edxbus_setting edxbus__nats_settings[] = {
    {NATS_SETTING_URL, EDXBUS_SETTING_STR_NULL, "null", EDXBUS_SECRET_URL, 0,
     "\"nats://user:password@nats:4222\"",
     "NATS server URL: nats:// or tls://, with user:password@ or token@; several separated by "
     "commas (null: " EDXBUS_NATS_DEFAULT_URL ")"},
    {NATS_SETTING_TOKEN, EDXBUS_SETTING_STR_NULL, "null", EDXBUS_SECRET_VALUE, 0, "\"s3cr3t\"",
     "NATS authentication token (instead of one in the URL)"},
    {NATS_SETTING_CREDS, EDXBUS_SETTING_STR_NULL, "null", EDXBUS_SECRET_NONE, 0,
     "\"/etc/nats/user.creds\"", "NATS credentials file (user JWT and NKey seed)"},
    {NATS_SETTING_NKEY, EDXBUS_SETTING_STR_NULL, "null", EDXBUS_SECRET_NONE, 0,
     "\"/etc/nats/user.nk\"", "File holding the NKey seed to sign the server's challenge with"},
    {NATS_SETTING_TLS_CA, EDXBUS_SETTING_STR_NULL, "null", EDXBUS_SECRET_NONE, 0,
     "\"/etc/nats/ca.pem\"", "CA certificates (PEM) the server's certificate is checked against"},
    {NATS_SETTING_TLS_CERT, EDXBUS_SETTING_STR_NULL, "null", EDXBUS_SECRET_NONE, 0,
     "\"/etc/nats/client.pem\"", "Client certificate (PEM) for TLS client authentication"},
    {NATS_SETTING_TLS_KEY, EDXBUS_SETTING_STR_NULL, "null", EDXBUS_SECRET_NONE, 0,
     "\"/etc/nats/client.key\"", "Private key (PEM) of the client certificate"},
    {NATS_SETTING_TIMEOUT, EDXBUS_SETTING_DOUBLE, "5.0", EDXBUS_SECRET_NONE, 0.001, "5.0",
     "Seconds a connect, a JetStream request or a synchronous publish may take"},
    {NATS_SETTING_DELIVERY_TIMEOUT, EDXBUS_SETTING_DOUBLE, "30", EDXBUS_SECRET_NONE, 0.001, "30",
     "Seconds an asynchronously published event may wait for the server's acknowledgement; "
     "then it is reported not confirmed"},
    {NATS_SETTING_RETENTION, EDXBUS_SETTING_STR, "\"limits\"", EDXBUS_SECRET_NONE, 0,
     "\"interest\"",
     "Retention of a stream edxbus creates: limits (keep within the limits below) or interest "
     "(remove once every group acknowledged)"},
    {NATS_SETTING_MAX_MSGS, EDXBUS_SETTING_INT, "-1", EDXBUS_SECRET_NONE, -1, "1000000",
     "Events a stream edxbus creates keeps at most (-1: no limit)"},
    {NATS_SETTING_MAX_BYTES, EDXBUS_SETTING_INT, "-1", EDXBUS_SECRET_NONE, -1, "1073741824",
     "Bytes a stream edxbus creates keeps at most (-1: no limit)"},
    {NATS_SETTING_MAX_AGE, EDXBUS_SETTING_DOUBLE, "0", EDXBUS_SECRET_NONE, 0, "604800",
     "Seconds a stream edxbus creates keeps an event (0: no limit)"},
    {NATS_SETTING_REPLICAS, EDXBUS_SETTING_INT, "1", EDXBUS_SECRET_NONE, 1, "3",
     "Replicas of a stream edxbus creates (1..5; more than 1 needs a cluster)"},
    {NATS_SETTING_STORAGE, EDXBUS_SETTING_STR, "\"file\"", EDXBUS_SECRET_NONE, 0, "\"file\"",
     "Storage of a stream edxbus creates: file or memory"},
    {NATS_SETTING_DUPLICATES, EDXBUS_SETTING_DOUBLE, "120", EDXBUS_SECRET_NONE, 0, "120",
     "Seconds the server drops a second event with the same id (Nats-Msg-Id) on a stream "
     "edxbus creates"},
    {NATS_SETTING_ACK_WAIT, EDXBUS_SETTING_DOUBLE, "30", EDXBUS_SECRET_NONE, 0.001, "30",
     "Seconds a delivered, unacknowledged event waits before the server delivers it again"},
    {NATS_SETTING_MAX_DELIVER, EDXBUS_SETTING_INT, "-1", EDXBUS_SECRET_NONE, -1, "100",
     "Deliveries of one event to a group at most (-1: no limit; the worker dead-letters first)"},
    {NATS_SETTING_BACKOFF, EDXBUS_SETTING_LIST, "[]", EDXBUS_SECRET_NONE, 0, "[1, 5, 30]",
     "Seconds before each redelivery of an unacknowledged event (replaces the ack wait; at "
     "most 16)"},
    {"EVENT_BUS_NATS_CONSUMER_CONSECUTIVE_ERRORS_LIMIT", EDXBUS_SETTING_INT_NULL, "null",
     EDXBUS_SECRET_NONE, 0, "10",
     "Errors in a row (failed reads, events that failed, failed acks) before a consumer stops "
     "(null: EVENT_BUS_CONSUMER_CONSECUTIVE_ERRORS_LIMIT)"},
    {"EVENT_BUS_NATS_CONSUMERS_ENABLED", EDXBUS_SETTING_BOOL, "true", EDXBUS_SECRET_NONE, 0,
     "false", "Whether NATS consumers run at all"},
    {NATS_SETTING_AUDIT, EDXBUS_SETTING_BOOL, "true", EDXBUS_SECRET_NONE, 0, "false",
     "Log one line per event produced or consumed (NATS)"},
    {NULL, 0, NULL, 0, 0, NULL, NULL},
};

static void check_one_of(const edxbus_conf_t *conf, const char *name, const char *const *words,
                         const char *expected, edxbus_problem_fn problem, void *opaque)
{
    const char *v = edxbus_conf_get_str(conf, name, NULL);
    if (v == NULL)
        return;
    for (const char *const *w = words; *w != NULL; w++)
        if (strcmp(v, *w) == 0)
            return;
    char shown[96];
    edxbus_problemf(problem, opaque, "%s: %s is not a %s; use %s", name,
                    edxbus_conf_show(conf, name, shown, sizeof shown), name + 22, expected);
}

static void check_file(const edxbus_conf_t *conf, const char *name, edxbus_problem_fn problem,
                       void *opaque)
{
    const char *path = edxbus_conf_get_str(conf, name, NULL);
    if (path != NULL && access(path, R_OK) != 0)
        edxbus_problemf(problem, opaque, "%s: \"%.200s\" cannot be read; give a readable file",
                        name, path);
}

void edxbus__nats_check(const edxbus_conf_t *conf, const char *selected_by,
                        edxbus_problem_fn problem, void *opaque)
{
    static const char *const schemes[] = {"nats", "tls", NULL};
    static const char *const retention[] = {"limits", "interest", NULL};
    static const char *const storage[] = {"file", "memory", NULL};
    const char *urls = edxbus_conf_get_str(conf, NATS_SETTING_URL, NULL);
    if (urls == NULL && selected_by != NULL)
        edxbus_problemf(problem, opaque,
                        "%s: not set, so the nats backend (%s) would connect to %s; set it, "
                        "e.g. nats://nats:4222",
                        NATS_SETTING_URL, selected_by, EDXBUS_NATS_DEFAULT_URL);
    for (const char *p = urls; p != NULL && *p != '\0';) {
        size_t len = strcspn(p, ",");
        char *one = strndup(p, len);
        const char *why = NULL;
        if (one != NULL && !edxbus_url_is_valid(one, schemes, &why)) {
            char *shown = edxbus_url_masked(one);
            edxbus_problemf(problem, opaque, "%s: \"%.200s\" %s; expected nats://host:4222 or "
                            "tls://host:4222",
                            NATS_SETTING_URL, shown ? shown : "", why ? why : "is not a URL");
            free(shown);
        }
        edxbus_secret_free(one);
        p += len + (p[len] == ',');
    }
    check_one_of(conf, NATS_SETTING_RETENTION, retention, "limits or interest", problem, opaque);
    check_one_of(conf, NATS_SETTING_STORAGE, storage, "file or memory", problem, opaque);
    if (edxbus_conf_get_int(conf, NATS_SETTING_REPLICAS, 1) > 5)
        edxbus_problemf(problem, opaque, "%s: a stream has at most 5 replicas; use 1 to 5",
                        NATS_SETTING_REPLICAS);
    const json_t *backoff = edxbus_conf_get(conf, NATS_SETTING_BACKOFF);
    if (json_array_size(backoff) > NATS_BACKOFF_MAX)
        edxbus_problemf(problem, opaque, "%s: %zu delays; give at most %d", NATS_SETTING_BACKOFF,
                        json_array_size(backoff), NATS_BACKOFF_MAX);
    for (size_t i = 0; i < json_array_size(backoff); i++) {
        const json_t *d = json_array_get(backoff, i);
        if (!json_is_number(d) || json_number_value(d) <= 0)
            edxbus_problemf(problem, opaque,
                            "%s: item %zu is not a number of seconds above 0; e.g. [1, 5, 30]",
                            NATS_SETTING_BACKOFF, i);
    }
    check_file(conf, NATS_SETTING_CREDS, problem, opaque);
    check_file(conf, NATS_SETTING_NKEY, problem, opaque);
    check_file(conf, NATS_SETTING_TLS_CA, problem, opaque);
    check_file(conf, NATS_SETTING_TLS_CERT, problem, opaque);
    check_file(conf, NATS_SETTING_TLS_KEY, problem, opaque);
    if ((edxbus_conf_get_str(conf, NATS_SETTING_TLS_CERT, NULL) == NULL) !=
        (edxbus_conf_get_str(conf, NATS_SETTING_TLS_KEY, NULL) == NULL))
        edxbus_problemf(problem, opaque, "%s and %s: give both or neither",
                        NATS_SETTING_TLS_CERT, NATS_SETTING_TLS_KEY);
    if (edxbus_conf_get_str(conf, NATS_SETTING_CREDS, NULL) != NULL &&
        edxbus_conf_get_str(conf, NATS_SETTING_NKEY, NULL) != NULL)
        edxbus_problemf(problem, opaque,
                        "%s and %s: a credentials file holds its own NKey seed; give one of them",
                        NATS_SETTING_CREDS, NATS_SETTING_NKEY);
}
