/* tests/integration/redis/test_redis_tls.c — rediss://: the Redis backend over TLS against real
 * TLS-only redis-servers (`--port 0 --tls-port P`) with certificates this test makes with the
 * `openssl` command (redis_server.h):
 *   - the backend conformance suite, whole, over TLS (host name "localhost" checked, SNI);
 *   - the CA from the setting EVENT_BUS_REDIS_TLS_CA_FILE instead of the URL;
 *   - refused, each with its reason in our words and never retried: no CA (system store: not
 *     trusted), the wrong CA, a certificate for another host name (127.0.0.1: the certificate
 *     names only localhost) — and accepted with ssl_check_hostname=false;
 *   - ssl_cert_reqs=none: connects, and warns once through the bus log;
 *   - a server asking for client certificates (--tls-auth-clients yes): refused without one,
 *     accepted with client.pem/client.key;
 *   - settings that cannot work: EDXBUS_ERR_CONF naming the setting and the file;
 *   - hostile and confused peers: a plain server behind rediss://, a TLS port behind redis://,
 *     a peer that answers garbage, a frozen (SIGSTOPped) server: an error, never a hang.
 */
#include <poll.h>
#include <pthread.h>

#include "backend/backend_suite.h"
#include "backends/redis/redis_int.h"
#include "redis_server.h"

static struct test_redis tls;   /* TLS only, no client certificates */
static struct test_redis mtls;  /* TLS only, client certificates required */
static struct test_redis plain; /* no TLS */

static const struct edxbus_backend_ops *ops = &edxbus_backend_redis;

/* A conf for @p url plus NULL-terminated setting name/value pairs. Returns new. */
static edxbus_conf_t *conf_with(const char *url, ...)
{
    edxbus_conf_t *conf = test_redis_conf(url);
    char errstr[EDXBUS_ERRSTR_SIZE];
    edxbus_conf_set(conf, "EVENT_BUS_REDIS_SOCKET_TIMEOUT", "1", errstr, sizeof errstr);
    va_list ap;
    va_start(ap, url);
    for (const char *name = va_arg(ap, const char *); name != NULL;
         name = va_arg(ap, const char *)) {
        const char *value = va_arg(ap, const char *);
        if (edxbus_conf_set(conf, name, value, errstr, sizeof errstr) != EDXBUS_OK)
            fprintf(stderr, "conf: %s\n", errstr);
    }
    va_end(ap);
    return conf;
}

/* Open a producer on @p conf (destroyed), send one event synchronously, close. */
static edxbus_err_t try_send(edxbus_conf_t *conf, char *errstr, size_t errstr_size)
{
    void *be = NULL;
    edxbus_err_t err = ops->producer_open(conf, &be, errstr, errstr_size);
    if (err == EDXBUS_OK) {
        struct edxbus_metadata md;
        suite_metadata(&md, 1);
        struct edxbus_msg msg = {
            .topic = "tls-t", .value = (const uint8_t *)"v", .value_len = 1, .metadata = &md};
        err = ops->produce(be, &msg, NULL, NULL, errstr, errstr_size);
    }
    if (be != NULL)
        ops->producer_close(be);
    edxbus_conf_destroy(conf);
    return err;
}

static char *path_in(const struct test_redis *r, const char *file)
{
    static char paths[8][400];
    static int next;
    char *p = paths[next++ % 8];
    snprintf(p, sizeof paths[0], "%s/%s", r->dir, file);
    return p;
}

/* rediss://<host>:<port of r>/0?<query> */
static char *url_of(const struct test_redis *r, const char *host, const char *query)
{
    static char urls[4][800];
    static int next;
    char *u = urls[next++ % 4];
    snprintf(u, sizeof urls[0], "rediss://%s:%d/0%s%s", host, r->port, query[0] ? "?" : "", query);
    return u;
}

/* ------------------------------------------------------------------------------------------ */

TEST(test_ca_from_the_setting)
{
    char errstr[EDXBUS_ERRSTR_SIZE] = "";
    edxbus_err_t err =
        try_send(conf_with(tls.url, "EVENT_BUS_REDIS_TLS_CA_FILE", path_in(&tls, "ca.pem"), NULL),
                 errstr, sizeof errstr);
    if (err != EDXBUS_OK)
        fprintf(stderr, "%s\n", errstr);
    ASSERT_EQ_INT(err, EDXBUS_OK);
}

TEST(test_no_ca_is_not_trusted)
{
    char errstr[EDXBUS_ERRSTR_SIZE] = "";
    ASSERT_EQ_INT(try_send(conf_with(tls.url, NULL), errstr, sizeof errstr), EDXBUS_ERR_AUTH);
    ASSERT_CONTAINS(errstr, "localhost:");
    ASSERT_CONTAINS(errstr, "not trusted");
    ASSERT_CONTAINS(errstr, "set EVENT_BUS_REDIS_TLS_CA_FILE");
}

TEST(test_wrong_ca_is_refused)
{
    char query[600], errstr[EDXBUS_ERRSTR_SIZE] = "";
    snprintf(query, sizeof query, "ssl_ca_certs=%s", path_in(&tls, "other-ca.pem"));
    ASSERT_EQ_INT(
        try_send(conf_with(url_of(&tls, "localhost", query), NULL), errstr, sizeof errstr),
        EDXBUS_ERR_AUTH);
    ASSERT_CONTAINS(errstr, "cannot connect to rediss://localhost:");
    ASSERT_CONTAINS(errstr, "certificate not trusted");
    ASSERT_CONTAINS(errstr, "to the CA that signed it");
}

TEST(test_host_name_checked)
{
    char query[600], errstr[EDXBUS_ERRSTR_SIZE] = "";
    snprintf(query, sizeof query, "ssl_ca_certs=%s", path_in(&tls, "ca.pem"));
    /* The certificate names localhost only. */
    ASSERT_EQ_INT(
        try_send(conf_with(url_of(&tls, "127.0.0.1", query), NULL), errstr, sizeof errstr),
        EDXBUS_ERR_AUTH);
    ASSERT_CONTAINS(errstr, "127.0.0.1");
    ASSERT_CONTAINS(errstr, "another host name");
    snprintf(query, sizeof query, "ssl_ca_certs=%s&ssl_check_hostname=false",
             path_in(&tls, "ca.pem"));
    ASSERT_EQ_INT(
        try_send(conf_with(url_of(&tls, "127.0.0.1", query), NULL), errstr, sizeof errstr),
        EDXBUS_OK);
}

static char logged[2048];
static int warnings;

static void capture(edxbus_log_level_t level, const char *line, void *opaque)
{
    if (level <= EDXBUS_LOG_WARNING && strstr(line, "verification is OFF") != NULL) {
        warnings++;
        snprintf(logged, sizeof logged, "%s", line);
    }
}

TEST(test_cert_reqs_none_connects_and_warns_once)
{
    char errstr[EDXBUS_ERRSTR_SIZE] = "";
    for (int i = 0; i < 2; i++) { /* no CA at all: verification off is what makes it work */
        edxbus_conf_t *conf = conf_with(url_of(&tls, "127.0.0.1", "ssl_cert_reqs=none"), NULL);
        edxbus_conf_set_log(conf, capture, NULL);
        ASSERT_EQ_INT(try_send(conf, errstr, sizeof errstr), EDXBUS_OK);
    }
    ASSERT_EQ_INT(warnings, 1);
    ASSERT_CONTAINS(logged, "ssl_cert_reqs=none");
    ASSERT_CONTAINS(logged, "rediss://127.0.0.1:");
}

TEST(test_verify_setting_false)
{
    char errstr[EDXBUS_ERRSTR_SIZE] = "";
    ASSERT_EQ_INT(try_send(conf_with(tls.url, "EVENT_BUS_REDIS_TLS_VERIFY", "false", NULL), errstr,
                           sizeof errstr),
                  EDXBUS_OK);
    /* The URL wins over the setting. */
    ASSERT_EQ_INT(try_send(conf_with(url_of(&tls, "localhost", "ssl_cert_reqs=required"),
                                     "EVENT_BUS_REDIS_TLS_VERIFY", "false", NULL),
                           errstr, sizeof errstr),
                  EDXBUS_ERR_AUTH);
}

TEST(test_client_certificate_required)
{
    char query[600], errstr[EDXBUS_ERRSTR_SIZE] = "";
    snprintf(query, sizeof query, "ssl_ca_certs=%s", path_in(&mtls, "ca.pem"));
    const char *url = url_of(&mtls, "localhost", query);
    edxbus_err_t err;
    ASSERT_EQ_INT(try_send(conf_with(url, NULL), errstr, sizeof errstr), EDXBUS_ERR_AUTH);
    ASSERT_CONTAINS(errstr, "rediss://localhost:");
    ASSERT_CONTAINS(errstr, "client certificate");
    ASSERT_CONTAINS(errstr, "EVENT_BUS_REDIS_TLS_CERT_FILE");
    /* A certificate the server's CA did not sign (the other server's, whose CA has the same
     * name: the server may answer "unknown CA", "decrypt error" or just hang up). */
    err = try_send(conf_with(url, "EVENT_BUS_REDIS_TLS_CERT_FILE", path_in(&tls, "client.pem"),
                             "EVENT_BUS_REDIS_TLS_KEY_FILE", path_in(&tls, "client.key"), NULL),
                   errstr, sizeof errstr);
    ASSERT_EQ_INT(err, EDXBUS_ERR_AUTH);
    ASSERT_CONTAINS(errstr, "client certificate");
    /* Its own: as settings, then as the URL's parameters. */
    ASSERT_EQ_INT(
        try_send(conf_with(url, "EVENT_BUS_REDIS_TLS_CERT_FILE", path_in(&mtls, "client.pem"),
                           "EVENT_BUS_REDIS_TLS_KEY_FILE", path_in(&mtls, "client.key"), NULL),
                 errstr, sizeof errstr),
        EDXBUS_OK);
    snprintf(query, sizeof query, "ssl_ca_certs=%s&ssl_certfile=%s&ssl_keyfile=%s",
             path_in(&mtls, "ca.pem"), path_in(&mtls, "client.pem"), path_in(&mtls, "client.key"));
    ASSERT_EQ_INT(
        try_send(conf_with(url_of(&mtls, "localhost", query), NULL), errstr, sizeof errstr),
        EDXBUS_OK);
}

TEST(test_bad_settings)
{
    char errstr[EDXBUS_ERRSTR_SIZE] = "";
    ASSERT_EQ_INT(
        try_send(conf_with(tls.url, "EVENT_BUS_REDIS_TLS_CA_FILE", "/nonexistent/ca.pem", NULL),
                 errstr, sizeof errstr),
        EDXBUS_ERR_CONF);
    ASSERT_CONTAINS(errstr, "EVENT_BUS_REDIS_TLS_CA_FILE: cannot read \"/nonexistent/ca.pem\"");
    ASSERT_TRUE(strchr(errstr, '\n') == NULL);
    ASSERT_EQ_INT(try_send(conf_with(tls.url, "EVENT_BUS_REDIS_TLS_KEY_FILE",
                                     path_in(&tls, "client.key"), NULL),
                           errstr, sizeof errstr),
                  EDXBUS_ERR_CONF);
    ASSERT_CONTAINS(errstr, "without a client certificate");
    /* A file that is not a certificate. */
    ASSERT_EQ_INT(try_send(conf_with(tls.url, "EVENT_BUS_REDIS_TLS_CA_FILE",
                                     path_in(&tls, "server.ext"), NULL),
                           errstr, sizeof errstr),
                  EDXBUS_ERR_CONF);
    ASSERT_CONTAINS(errstr, "EVENT_BUS_REDIS_TLS_CA_FILE: ");
    ASSERT_CONTAINS(errstr, "does not hold CA certificates");
    /* A key that belongs to another certificate. */
    ASSERT_EQ_INT(
        try_send(conf_with(tls.url, "EVENT_BUS_REDIS_TLS_CERT_FILE", path_in(&tls, "client.pem"),
                           "EVENT_BUS_REDIS_TLS_KEY_FILE", path_in(&tls, "server.key"), NULL),
                 errstr, sizeof errstr),
        EDXBUS_ERR_CONF);
    ASSERT_CONTAINS(errstr, "does not belong to the certificate");
    /* Hostile bytes in a file name (percent-escaped in the URL) stay one escaped line. */
    char url[300];
    snprintf(url, sizeof url, "rediss://localhost:%d/0?ssl_ca_certs=/x%%0Ay%%1B", tls.port);
    ASSERT_EQ_INT(try_send(conf_with(url, NULL), errstr, sizeof errstr), EDXBUS_ERR_CONF);
    ASSERT_CONTAINS(errstr, "cannot read \"/x\\x0ay\\x1b\"");
    ASSERT_TRUE(strchr(errstr, '\n') == NULL && strchr(errstr, '\x1b') == NULL);
    /* TLS settings on a plain URL would silently not be used. */
    ASSERT_EQ_INT(
        try_send(conf_with(plain.url, "EVENT_BUS_REDIS_TLS_CA_FILE", path_in(&tls, "ca.pem"), NULL),
                 errstr, sizeof errstr),
        EDXBUS_ERR_CONF);
    ASSERT_CONTAINS(errstr, "write rediss://");
}

TEST(test_confused_ports)
{
    char errstr[EDXBUS_ERRSTR_SIZE] = "";
    /* rediss:// to a plain server: it does not speak TLS (answers or hangs up, never a hang). */
    edxbus_err_t err = try_send(conf_with(url_of(&plain, "127.0.0.1", "ssl_cert_reqs=none"), NULL),
                                errstr, sizeof errstr);
    ASSERT_TRUE(err != EDXBUS_OK);
    ASSERT_TRUE(strstr(errstr, "does not speak TLS") != NULL ||
                strstr(errstr, "TLS handshake") != NULL);
    /* redis:// to a TLS port: refused or timed out, never a hang. */
    char url[128];
    snprintf(url, sizeof url, "redis://127.0.0.1:%d/0", tls.port);
    err = try_send(conf_with(url, NULL), errstr, sizeof errstr);
    ASSERT_TRUE(err == EDXBUS_ERR_IO || err == EDXBUS_ERR_TIMEOUT);
}

/* A peer that answers every connection's first bytes with bytes that are not TLS, then
 * closes. */
static int garbage_fd = -1;
static void *garbage_server(void *arg)
{
    for (;;) {
        int c = accept(garbage_fd, NULL, NULL);
        if (c < 0)
            return NULL;
        static const char junk[] = "HTTP/1.1 400 Bad Request\r\n\r\n\x16\x03\x03\xff\xff garbage";
        char hello[4096];
        (void)!recv(c, hello, sizeof hello, 0); /* the client's hello, so that close is clean */
        send(c, junk, sizeof junk - 1, MSG_NOSIGNAL);
        close(c);
    }
}

TEST(test_hostile_peer)
{
    garbage_fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    ASSERT_TRUE(bind(garbage_fd, (struct sockaddr *)&sa, sizeof sa) == 0);
    ASSERT_TRUE(listen(garbage_fd, 8) == 0);
    ASSERT_TRUE(getsockname(garbage_fd, (struct sockaddr *)&sa, &len) == 0);
    pthread_t th;
    pthread_create(&th, NULL, garbage_server, NULL);
    char url[128], errstr[EDXBUS_ERRSTR_SIZE] = "";
    snprintf(url, sizeof url, "rediss://127.0.0.1:%d/0?ssl_cert_reqs=none", ntohs(sa.sin_port));
    edxbus_err_t err = try_send(conf_with(url, NULL), errstr, sizeof errstr);
    ASSERT_TRUE(err == EDXBUS_ERR_IO || err == EDXBUS_ERR_AUTH);
    ASSERT_CONTAINS(errstr, "does not speak TLS");
    shutdown(garbage_fd, SHUT_RDWR);
    close(garbage_fd);
    pthread_join(th, NULL);
}

/* A frozen server: the TLS handshake, a synchronous send and a blocked read each end with a
 * timeout error (bounded by the socket timeout), and all works again once it resumes. */
TEST(test_frozen_server_times_out)
{
    char errstr[EDXBUS_ERRSTR_SIZE] = "";
    edxbus_conf_t *conf =
        conf_with(tls.url, "EVENT_BUS_REDIS_TLS_CA_FILE", path_in(&tls, "ca.pem"), NULL);
    edxbus_conf_set(conf, "EVENT_BUS_REDIS_SOCKET_TIMEOUT", "0.3", errstr, sizeof errstr);
    void *prod = NULL, *cons = NULL;
    ASSERT_EQ_INT(ops->producer_open(conf, &prod, errstr, sizeof errstr), EDXBUS_OK);
    struct edxbus_consumer_opts copts = {.topic = "tls-frozen", .group = "g"};
    ASSERT_EQ_INT(ops->consumer_open(conf, &copts, &cons, errstr, sizeof errstr), EDXBUS_OK);
    struct edxbus_metadata md;
    suite_metadata(&md, 1);
    struct edxbus_msg msg = {
        .topic = "tls-frozen", .value = (const uint8_t *)"v", .value_len = 1, .metadata = &md};
    kill(tls.pid, SIGSTOP);
    ASSERT_EQ_INT(ops->produce(prod, &msg, NULL, NULL, errstr, sizeof errstr), EDXBUS_ERR_TIMEOUT);
    ASSERT_CONTAINS(errstr, "may or may not be stored");
    struct edxbus_batch batch;
    ASSERT_EQ_INT(ops->poll(cons, &batch, 10, 100, errstr, sizeof errstr), EDXBUS_ERR_TIMEOUT);
    ASSERT_CONTAINS(errstr, "did not answer");
    void *late = NULL;
    edxbus_err_t err = ops->producer_open(conf, &late, errstr, sizeof errstr);
    ASSERT_EQ_INT(err, EDXBUS_ERR_TIMEOUT);
    ASSERT_CONTAINS(errstr, "no TLS handshake within");
    kill(tls.pid, SIGCONT);
    /* The stalled send is stored once the server resumes; the consumer reads it. */
    size_t got = 0;
    for (int i = 0; i < 50 && got == 0; i++) {
        err = ops->poll(cons, &batch, 10, 200, errstr, sizeof errstr);
        if (err == EDXBUS_OK)
            got = batch.n;
    }
    ASSERT_EQ_INT((int)got, 1);
    ASSERT_EQ_INT(ops->ack(cons, &batch.msgs[0], errstr, sizeof errstr), EDXBUS_OK);
    ops->consumer_close(cons);
    ops->producer_close(prod);
    edxbus_conf_destroy(conf);
}

int main(void)
{
    test_redis_require("integration/redis/test_redis_tls");
    if (!test_redis_start_tls(&tls, false) || !test_redis_start_tls(&mtls, true) ||
        !test_redis_start(&plain, NULL)) {
        fprintf(stderr, "cannot start the redis-servers (TLS needs redis-server >= 6 built "
                        "with TLS, and the openssl command)\n");
        test_redis_stop(&tls);
        test_redis_stop(&mtls);
        test_redis_stop(&plain);
        return 1;
    }
    RUN(test_ca_from_the_setting);
    RUN(test_no_ca_is_not_trusted);
    RUN(test_wrong_ca_is_refused);
    RUN(test_host_name_checked);
    RUN(test_cert_reqs_none_connects_and_warns_once);
    RUN(test_verify_setting_false);
    RUN(test_client_certificate_required);
    RUN(test_bad_settings);
    RUN(test_confused_ports);
    RUN(test_hostile_peer);
    RUN(test_frozen_server_times_out);

    /* The whole conformance suite over TLS. */
    char url[600];
    snprintf(url, sizeof url, "%s?ssl_ca_certs=%s", tls.url, path_in(&tls, "ca.pem"));
    edxbus_conf_t *conf = test_redis_conf(url);
    suite.ops = ops;
    suite.conf = conf;
    suite.caps = SUITE_CAP_ALL;
    suite_skip(SUITE_CAP_KEYS, "the edx-event-bus-redis wire has no key field (the round trip "
                               "checks that none comes back)");
    suite.poll_ms = 200;
    suite_run();
    edxbus_conf_destroy(conf);

    test_redis_stop(&tls);
    test_redis_stop(&mtls);
    test_redis_stop(&plain);
    return test_report();
}
