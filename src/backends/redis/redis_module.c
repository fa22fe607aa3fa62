/* src/backends/redis/redis_module.c — what the Redis backend owns besides its wire: its
 * settings rows (the names and defaults of edx-event-bus-redis), its config check and its
 * `--extra` options (backend.h, ABI 2).
 *
 * To add a setting of the Redis backend: a row here, its name in redis_int.h, read it where it
 * is used.
 */
#include <openssl/ssl.h>

#include "edxbus/backend_util.h"
#include "redis_int.h"

const struct edxbus_setting edxbus__redis_settings[] = {
    {"EVENT_BUS_REDIS_CONNECTION_URL", EDXBUS_SETTING_STR_NULL, "null", EDXBUS_SECRET_URL,
     0, "\"redis://:password@localhost:6379/0\"",
     "Redis server URL (null: redis://localhost:6379/0)"},
    {"EVENT_BUS_REDIS_STREAM_MAX_LEN", EDXBUS_SETTING_INT, "10000", EDXBUS_SECRET_NONE,
     0, "10000",
     "Entries a stream keeps (approximately) once every consumer group acknowledged them; "
     "entries a group has not acknowledged are kept beyond it"},
    {"EVENT_BUS_REDIS_STREAM_HARD_MAX_LEN", EDXBUS_SETTING_INT, "0", EDXBUS_SECRET_NONE, 0,
     "1000000",
     "Entries beyond which a stream is trimmed even though groups have not read them, with an "
     "error line naming the groups and counts (0: never)"},
    {"EVENT_BUS_REDIS_CONSUMER_POLL_TIMEOUT", EDXBUS_SETTING_DOUBLE, "60", EDXBUS_SECRET_NONE,
     0, "60", "Seconds a consumer blocks waiting for new entries"},
    {"EVENT_BUS_REDIS_CONSUMER_POLL_FAILURE_SLEEP", EDXBUS_SETTING_DOUBLE, "1.0",
     EDXBUS_SECRET_NONE, 0, "1.0", "Seconds to sleep after a failed read"},
    {"EVENT_BUS_REDIS_CONSUMER_CONSECUTIVE_ERRORS_LIMIT", EDXBUS_SETTING_INT_NULL, "null",
     EDXBUS_SECRET_NONE, 0, "10",
     "Errors in a row (failed reads, events that failed, failed acks) before a consumer stops "
     "(null: EVENT_BUS_CONSUMER_CONSECUTIVE_ERRORS_LIMIT)"},
    {"EVENT_BUS_REDIS_CONSUMERS_ENABLED", EDXBUS_SETTING_BOOL, "true", EDXBUS_SECRET_NONE,
     0, "false", "Whether Redis consumers run at all"},
    {"EVENT_BUS_REDIS_AUDIT_LOGGING_ENABLED", EDXBUS_SETTING_BOOL, "true", EDXBUS_SECRET_NONE,
     0, "false", "Log one line per event produced or consumed (Redis)"},
    {"EVENT_BUS_REDIS_SOCKET_TIMEOUT", EDXBUS_SETTING_DOUBLE, "5.0", EDXBUS_SECRET_NONE,
     0, "5.0",
     "Seconds a connect, read or write may take before the server counts as gone"},
    {"EVENT_BUS_REDIS_DELIVERY_TIMEOUT", EDXBUS_SETTING_DOUBLE, "30", EDXBUS_SECRET_NONE, 0, "30",
     "Seconds a produced event may wait for the server's confirmation; then it is reported "
     "not confirmed (never sent twice)"},
    {"EVENT_BUS_REDIS_TLS_CA_FILE", EDXBUS_SETTING_STR_NULL, "null", EDXBUS_SECRET_NONE, 0,
     "\"/etc/ssl/redis-ca.pem\"",
     "rediss://: PEM file of the CA that signed the server's certificate (null: the system's "
     "store; the URL's ssl_ca_certs wins)"},
    {"EVENT_BUS_REDIS_TLS_CERT_FILE", EDXBUS_SETTING_STR_NULL, "null", EDXBUS_SECRET_NONE, 0,
     "\"/etc/ssl/edxbus-client.pem\"",
     "rediss://: PEM file of this client's certificate, for servers that ask for one (the "
     "URL's ssl_certfile wins)"},
    {"EVENT_BUS_REDIS_TLS_KEY_FILE", EDXBUS_SETTING_STR_NULL, "null", EDXBUS_SECRET_NONE, 0,
     "\"/etc/ssl/private/edxbus-client.key\"",
     "rediss://: PEM file of the client certificate's key (null: in the certificate file; the "
     "URL's ssl_keyfile wins)"},
    {"EVENT_BUS_REDIS_TLS_VERIFY", EDXBUS_SETTING_BOOL, "true", EDXBUS_SECRET_NONE, 0, "true",
     "rediss://: verify the server's certificate and host name (false: encrypt only, with a "
     "loud warning; the URL's ssl_cert_reqs wins)"},

    {NULL, 0, NULL, 0, 0, NULL, NULL},
};

/* The reference consumer's keyword arguments, and the claim age of edxbus. */
const char *const edxbus__redis_extra_options[] = {
    "consumer_name", "last_read_msg_id", "check_backlog", "claim_msgs_older_than", NULL};

/* What a Redis producer or consumer would refuse: the URL as redis_url.c reads it (scheme,
 * port, a path that is not a db number, unknown parameters), a database a default server does
 * not have, and, when Redis is selected, no URL at all (which would mean localhost:6379). */
void edxbus__redis_check(const edxbus_conf_t *conf, const char *selected_by,
                         edxbus_problem_fn problem, void *opaque)
{
    const char *text = edxbus_conf_get_str(conf, REDIS_SETTING_URL, NULL);
    if (text == NULL) {
        if (selected_by != NULL)
            edxbus_problemf(problem, opaque,
                            "%s: not set, so the redis backend (%s) would connect to %s; set it, "
                            "e.g. redis://:password@redis:6379/0",
                            REDIS_SETTING_URL, selected_by, REDIS_DEFAULT_URL);
        return;
    }
    struct redis_url url;
    char errstr[EDXBUS_ERRSTR_SIZE];
    if (edxbus__redis_url_parse(text, &url, errstr, sizeof errstr) != EDXBUS_OK) {
        problem(opaque, errstr);
        return;
    }
    /* TLS: files that cannot be read, a key without a certificate, TLS settings on redis://;
     * and when those are fine, files that do not hold what they should. */
    struct redis_tls_opts tls;
    if (edxbus__redis_tls_opts(conf, &url, &tls, problem, opaque) == 0 && url.tls) {
        struct ssl_ctx_st *ctx = edxbus__redis_tls_ctx(&tls, errstr, sizeof errstr);
        if (ctx == NULL)
            problem(opaque, errstr);
        SSL_CTX_free(ctx);
    }
    if (url.db > REDIS_DEFAULT_MAX_DB)
        edxbus_problemf(problem, opaque,
                        "%s: \"%s\" selects db %d; a Redis server has databases 0..%d unless "
                        "its `databases` setting is raised; use a lower db",
                        REDIS_SETTING_URL, url.display, url.db, REDIS_DEFAULT_MAX_DB);
    edxbus__redis_url_fini(&url);
}
