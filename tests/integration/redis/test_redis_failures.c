/* tests/integration/redis/test_redis_failures.c — settings, authentication and a sick server.
 *
 * EVENT_BUS_REDIS_CONNECTION_URL in redis-py's forms (passwords never echoed); AUTH with a
 * password and with an ACL user, wrong or missing credentials giving EDXBUS_ERR_AUTH without
 * the password in the text; a server that stops answering (SIGSTOP) making poll() and
 * produce() fail with a timeout instead of hanging, and working again after SIGCONT; a server
 * gone for good: each poll() returns a retriable error at once (the backend keeps no error
 * budget and never sleeps), and the worker's consecutive-errors policy ends the run with
 * EDXBUS_ERR_FATAL; failed pipelined sends reported per message naming the stream and the
 * event id.
 */
#include <jansson.h>
#include <unistd.h>

#include "backends/redis/redis_int.h"
#include "edxbus/backend.h"
#include "edxbus/bus.h"
#include "edxbus/consumer.h"
#include "redis_server.h"
#include "test.h"

static struct test_redis server;  /* plain */
static struct test_redis secured; /* requirepass + an ACL user */
static const struct edxbus_backend_ops *ops = &edxbus_backend_redis;

TEST(test_url_forms)
{
    struct redis_url u;
    char errstr[EDXBUS_ERRSTR_SIZE];
    ASSERT_EQ_INT(edxbus__redis_url_parse("redis://localhost:6379/0", &u, errstr, sizeof errstr),
                  EDXBUS_OK);
    ASSERT_EQ_STR(u.host, "localhost");
    ASSERT_EQ_INT(u.port, 6379);
    ASSERT_EQ_INT(u.db, 0);
    ASSERT_TRUE(u.password == NULL && u.user == NULL && !u.tls);
    edxbus__redis_url_fini(&u);
    ASSERT_EQ_INT(edxbus__redis_url_parse("redis://:p%40ss@h:1/2", &u, errstr, sizeof errstr),
                  EDXBUS_OK);
    ASSERT_TRUE(u.user == NULL);
    ASSERT_EQ_STR(u.password, "p@ss");
    ASSERT_EQ_INT(u.port, 1);
    ASSERT_EQ_INT(u.db, 2);
    ASSERT_EQ_STR(u.display, "redis://:********@h:1/2");
    edxbus__redis_url_fini(&u);
    ASSERT_EQ_INT(edxbus__redis_url_parse("redis://alice:pw@h", &u, errstr, sizeof errstr),
                  EDXBUS_OK);
    ASSERT_EQ_STR(u.user, "alice");
    ASSERT_EQ_STR(u.password, "pw");
    ASSERT_EQ_INT(u.port, 6379);
    edxbus__redis_url_fini(&u);
    ASSERT_EQ_INT(edxbus__redis_url_parse("rediss://h:6380/1", &u, errstr, sizeof errstr),
                  EDXBUS_OK);
    ASSERT_TRUE(u.tls);
    ASSERT_EQ_INT(u.db, 1);
    edxbus__redis_url_fini(&u);
    ASSERT_EQ_INT(edxbus__redis_url_parse("unix:///tmp/r.sock?db=3", &u, errstr, sizeof errstr),
                  EDXBUS_OK);
    ASSERT_EQ_STR(u.path, "/tmp/r.sock");
    ASSERT_TRUE(u.host == NULL);
    ASSERT_EQ_INT(u.db, 3);
    edxbus__redis_url_fini(&u);
    ASSERT_EQ_INT(edxbus__redis_url_parse("unix://:pw@/tmp/r.sock", &u, errstr, sizeof errstr),
                  EDXBUS_OK);
    ASSERT_EQ_STR(u.path, "/tmp/r.sock");
    ASSERT_EQ_STR(u.password, "pw");
    edxbus__redis_url_fini(&u);
    ASSERT_EQ_INT(edxbus__redis_url_parse("redis://[::1]:7000/0", &u, errstr, sizeof errstr),
                  EDXBUS_OK);
    ASSERT_EQ_STR(u.host, "::1");
    ASSERT_EQ_INT(u.port, 7000);
    edxbus__redis_url_fini(&u);
    /* redis-py's query parameters: credentials (the user-info wins), db (wins over the path),
     * TLS options kept for rediss://. */
    ASSERT_EQ_INT(edxbus__redis_url_parse("redis://h:1/2?password=p%26w&username=bob&db=5"
                                          "&ssl_cert_reqs=none&ssl_ca_certs=/ca.pem"
                                          "&ssl_check_hostname=false",
                                          &u, errstr, sizeof errstr),
                  EDXBUS_OK);
    ASSERT_EQ_STR(u.user, "bob");
    ASSERT_EQ_STR(u.password, "p&w");
    ASSERT_EQ_INT(u.db, 5);
    ASSERT_EQ_STR(u.ssl_cert_reqs, "none");
    ASSERT_EQ_STR(u.ssl_ca_certs, "/ca.pem");
    ASSERT_EQ_INT(u.ssl_check_hostname, 0);
    ASSERT_EQ_STR(u.display, "redis://h:1/2?password=********&username=bob&db=5"
                             "&ssl_cert_reqs=none&ssl_ca_certs=/ca.pem&ssl_check_hostname=false");
    edxbus__redis_url_fini(&u);
    ASSERT_EQ_INT(edxbus__redis_url_parse("redis://al:pw@h/0?password=other&username=x", &u, errstr,
                                          sizeof errstr),
                  EDXBUS_OK);
    ASSERT_EQ_STR(u.user, "al");
    ASSERT_EQ_STR(u.password, "pw");
    edxbus__redis_url_fini(&u);
}

TEST(test_bad_urls_name_the_setting_and_hide_the_password)
{
    struct redis_url u;
    char errstr[EDXBUS_ERRSTR_SIZE];
    ASSERT_EQ_INT(edxbus__redis_url_parse("http://x", &u, errstr, sizeof errstr), EDXBUS_ERR_CONF);
    ASSERT_CONTAINS(errstr, "EVENT_BUS_REDIS_CONNECTION_URL");
    ASSERT_CONTAINS(errstr, "redis://");
    ASSERT_EQ_INT(edxbus__redis_url_parse("redis://u:sekrit@h:99999/0", &u, errstr, sizeof errstr),
                  EDXBUS_ERR_CONF);
    ASSERT_CONTAINS(errstr, "port");
    ASSERT_CONTAINS(errstr, "********");
    ASSERT_TRUE(strstr(errstr, "sekrit") == NULL);
    ASSERT_EQ_INT(edxbus__redis_url_parse("redis://h/abc", &u, errstr, sizeof errstr),
                  EDXBUS_ERR_CONF);
    ASSERT_CONTAINS(errstr, "db");
    ASSERT_EQ_INT(edxbus__redis_url_parse("redis://h/0?pasword=sekrit", &u, errstr, sizeof errstr),
                  EDXBUS_ERR_CONF);
    ASSERT_CONTAINS(errstr, "unknown parameter \"pasword\"");
    ASSERT_EQ_INT(edxbus__redis_url_parse("rediss://h/0?ssl_cert_reqs=maybe&password=sekrit", &u,
                                          errstr, sizeof errstr),
                  EDXBUS_ERR_CONF);
    ASSERT_CONTAINS(errstr, "ssl_cert_reqs");
    ASSERT_TRUE(strstr(errstr, "sekrit") == NULL);
    /* Control bytes are escaped, so the message stays one line (found by fuzz_redis_url). */
    ASSERT_EQ_INT(edxbus__redis_url_parse("redis://u:sekrit@h\n:1/x", &u, errstr, sizeof errstr),
                  EDXBUS_ERR_CONF);
    ASSERT_TRUE(strchr(errstr, '\n') == NULL);
    ASSERT_CONTAINS(errstr, "h\\x0a:1/x");
    ASSERT_TRUE(strstr(errstr, "sekrit") == NULL);
}

static edxbus_err_t try_producer(const char *url, char *errstr, size_t errstr_size)
{
    edxbus_conf_t *conf = test_redis_conf(url);
    void *be = NULL;
    edxbus_err_t err = ops->producer_open(conf, &be, errstr, errstr_size);
    edxbus_conf_destroy(conf);
    if (be != NULL)
        ops->producer_close(be);
    return err;
}

/* rediss:// is supported (test_redis_tls.c); a server that is not there is an I/O error that
 * names the URL without its password. */
TEST(test_tls_unreachable_names_no_secret)
{
    char errstr[EDXBUS_ERRSTR_SIZE];
    ASSERT_EQ_INT(try_producer("rediss://:sekrit@127.0.0.1:1/0", errstr, sizeof errstr),
                  EDXBUS_ERR_IO);
    ASSERT_CONTAINS(errstr, "rediss://");
    ASSERT_TRUE(strstr(errstr, "sekrit") == NULL);
}

TEST(test_password_and_acl_user_auth)
{
    char url[256], errstr[EDXBUS_ERRSTR_SIZE];
    snprintf(url, sizeof url, "redis://:hunter2@127.0.0.1:%d/0", secured.port);
    ASSERT_EQ_INT(try_producer(url, errstr, sizeof errstr), EDXBUS_OK);
    snprintf(url, sizeof url, "redis://alice:al1ce-pw@127.0.0.1:%d/1", secured.port);
    ASSERT_EQ_INT(try_producer(url, errstr, sizeof errstr), EDXBUS_OK);
    /* A consumer as the ACL user in db 1 works end to end. */
    edxbus_conf_t *conf = test_redis_conf(url);
    struct edxbus_consumer_opts opts = {.topic = "acl",
                                        .group = "g",
                                        .consumer_name = "c",
                                        .start = "earliest",
                                        .start_time_ms = -1};
    void *cons = NULL;
    ASSERT_EQ_INT(ops->consumer_open(conf, &opts, &cons, errstr, sizeof errstr), EDXBUS_OK);
    struct edxbus_batch batch;
    ASSERT_EQ_INT(ops->poll(cons, &batch, 1, 10, errstr, sizeof errstr), EDXBUS_OK);
    ops->consumer_close(cons);
    edxbus_conf_destroy(conf);
}

TEST(test_wrong_or_missing_credentials_are_auth_errors_without_the_password)
{
    char url[256], errstr[EDXBUS_ERRSTR_SIZE];
    snprintf(url, sizeof url, "redis://:wr0ng-pa55@127.0.0.1:%d/0", secured.port);
    ASSERT_EQ_INT(try_producer(url, errstr, sizeof errstr), EDXBUS_ERR_AUTH);
    ASSERT_TRUE(strstr(errstr, "wr0ng-pa55") == NULL);
    ASSERT_CONTAINS(errstr, "********");
    snprintf(url, sizeof url, "redis://alice:wr0ng-pa55@127.0.0.1:%d/0", secured.port);
    ASSERT_EQ_INT(try_producer(url, errstr, sizeof errstr), EDXBUS_ERR_AUTH);
    ASSERT_TRUE(strstr(errstr, "wr0ng-pa55") == NULL);
    ASSERT_CONTAINS(errstr, "alice");
    snprintf(url, sizeof url, "redis://127.0.0.1:%d/0", secured.port);
    ASSERT_EQ_INT(try_producer(url, errstr, sizeof errstr), EDXBUS_ERR_AUTH); /* NOAUTH */
    /* And a consumer: AUTH at once, not a retriable error. */
    snprintf(url, sizeof url, "redis://:wr0ng-pa55@127.0.0.1:%d/0", secured.port);
    edxbus_conf_t *conf = test_redis_conf(url);
    struct edxbus_consumer_opts opts = {.topic = "x", .group = "g", .start_time_ms = -1};
    void *cons = NULL;
    ASSERT_EQ_INT(ops->consumer_open(conf, &opts, &cons, errstr, sizeof errstr), EDXBUS_ERR_AUTH);
    ASSERT_TRUE(strstr(errstr, "wr0ng-pa55") == NULL);
    edxbus_conf_destroy(conf);
}

TEST(test_unreachable_server_is_an_io_error_naming_the_url)
{
    char url[128], errstr[EDXBUS_ERRSTR_SIZE];
    snprintf(url, sizeof url, "redis://:pw@127.0.0.1:%d/0", test_redis_free_port());
    ASSERT_EQ_INT(try_producer(url, errstr, sizeof errstr), EDXBUS_ERR_IO);
    ASSERT_CONTAINS(errstr, "127.0.0.1");
    ASSERT_TRUE(strstr(errstr, ":pw@") == NULL);
}

TEST(test_consumers_disabled)
{
    edxbus_conf_t *conf = test_redis_conf(server.url);
    char errstr[EDXBUS_ERRSTR_SIZE];
    edxbus_conf_set(conf, "EVENT_BUS_REDIS_CONSUMERS_ENABLED", "false", errstr, sizeof errstr);
    struct edxbus_consumer_opts opts = {.topic = "x", .group = "g", .start_time_ms = -1};
    void *cons = NULL;
    ASSERT_EQ_INT(ops->consumer_open(conf, &opts, &cons, errstr, sizeof errstr), EDXBUS_ERR_STATE);
    ASSERT_CONTAINS(errstr, "EVENT_BUS_REDIS_CONSUMERS_ENABLED");
    edxbus_conf_destroy(conf);
}

static edxbus_conf_t *short_timeout_conf(const char *url)
{
    edxbus_conf_t *conf = test_redis_conf(url);
    char errstr[EDXBUS_ERRSTR_SIZE];
    edxbus_conf_set(conf, "EVENT_BUS_REDIS_SOCKET_TIMEOUT", "0.3", errstr, sizeof errstr);
    return conf;
}

static struct edxbus_msg test_msg(struct edxbus_metadata *md, const char *topic)
{
    char errstr[EDXBUS_ERRSTR_SIZE];
    edxbus_metadata_generate(md, "org.openedx.test.event.v1", 0, "test", errstr, sizeof errstr);
    struct edxbus_msg msg = {
        .topic = topic, .value = (const uint8_t *)"v", .value_len = 1, .metadata = md};
    return msg;
}

TEST(test_stopped_server_times_out_instead_of_hanging)
{
    char errstr[EDXBUS_ERRSTR_SIZE];
    edxbus_conf_t *conf = short_timeout_conf(server.url);
    struct edxbus_consumer_opts opts = {.topic = "stall",
                                        .group = "g",
                                        .consumer_name = "c",
                                        .start = "earliest",
                                        .start_time_ms = -1};
    void *cons = NULL, *prod = NULL;
    ASSERT_EQ_INT(ops->consumer_open(conf, &opts, &cons, errstr, sizeof errstr), EDXBUS_OK);
    ASSERT_EQ_INT(ops->producer_open(conf, &prod, errstr, sizeof errstr), EDXBUS_OK);
    edxbus_conf_destroy(conf);
    struct edxbus_batch batch;
    ASSERT_EQ_INT(ops->poll(cons, &batch, 10, 10, errstr, sizeof errstr), EDXBUS_OK);

    kill(server.pid, SIGSTOP);
    edxbus_err_t err = ops->poll(cons, &batch, 10, 100, errstr, sizeof errstr);
    ASSERT_EQ_INT(err, EDXBUS_ERR_TIMEOUT);
    ASSERT_CONTAINS(errstr, "did not answer");
    ASSERT_EQ_INT(batch.n, 0);
    struct edxbus_metadata md;
    struct edxbus_msg msg = test_msg(&md, "stall");
    err = ops->produce(prod, &msg, NULL, NULL, errstr, sizeof errstr);
    ASSERT_TRUE(err == EDXBUS_ERR_TIMEOUT || err == EDXBUS_ERR_IO);
    ASSERT_CONTAINS(errstr, "stall");
    ASSERT_CONTAINS(errstr, md.id);
    kill(server.pid, SIGCONT);

    /* Back to normal: the handles reconnect by themselves. */
    ASSERT_EQ_INT(ops->produce(prod, &msg, NULL, NULL, errstr, sizeof errstr), EDXBUS_OK);
    err = ops->poll(cons, &batch, 10, 1000, errstr, sizeof errstr);
    if (err != EDXBUS_OK)
        fprintf(stderr, "poll after SIGCONT: %s\n", errstr);
    ASSERT_EQ_INT(err, EDXBUS_OK);
    ASSERT_TRUE(batch.n >= 1);
    ops->consumer_close(cons);
    ops->producer_close(prod);
}

struct reports {
    int ok, failed;
    char last_error[EDXBUS_ERRSTR_SIZE];
};

static void on_delivery(void *opaque, const struct edxbus_msg *msg, edxbus_err_t err,
                        const char *errstr, const char *position)
{
    struct reports *r = opaque;
    if (err == EDXBUS_OK) {
        r->ok++;
    } else {
        r->failed++;
        snprintf(r->last_error, sizeof r->last_error, "%s", errstr ? errstr : "");
    }
}

TEST(test_server_gone_for_good)
{
    struct test_redis doomed;
    ASSERT_TRUE(test_redis_start(&doomed, NULL));
    char errstr[EDXBUS_ERRSTR_SIZE];
    edxbus_conf_t *conf = short_timeout_conf(doomed.url);
    /* The worker's policy: three failed polls in a row end the run. The sleep between them is
     * the worker's too; the backend must not take it (an hour here: a backend that slept would
     * be stopped by the alarm below). */
    edxbus_conf_set(conf, "EVENT_BUS_REDIS_CONSUMER_CONSECUTIVE_ERRORS_LIMIT", "3", errstr,
                    sizeof errstr);
    edxbus_conf_set(conf, "EVENT_BUS_REDIS_CONSUMER_POLL_FAILURE_SLEEP", "3600", errstr,
                    sizeof errstr);
    struct edxbus_consumer_opts opts = {.topic = "gone", .group = "g", .start_time_ms = -1};
    void *cons = NULL, *prod = NULL;
    ASSERT_EQ_INT(ops->consumer_open(conf, &opts, &cons, errstr, sizeof errstr), EDXBUS_OK);
    ASSERT_EQ_INT(ops->producer_open(conf, &prod, errstr, sizeof errstr), EDXBUS_OK);
    edxbus_conf_t *worker_conf = edxbus_conf_dup(conf);
    edxbus_conf_set(worker_conf, "EVENT_BUS_CONSUMER", "redis", errstr, sizeof errstr);
    edxbus_conf_set(worker_conf, "EVENT_BUS_REDIS_CONSUMER_POLL_FAILURE_SLEEP", "0.01", errstr,
                    sizeof errstr);
    edxbus_bus_t *bus = edxbus_bus_new(worker_conf, errstr, sizeof errstr);
    ASSERT_TRUE(bus != NULL);
    struct edxbus_consumer_config cfg = {.topic = "gone", .group = "w", .start_time_ms = -1};
    edxbus_consumer_t *worker = edxbus_consumer_new(bus, &cfg, errstr, sizeof errstr);
    if (worker == NULL)
        TEST_FAIL_("edxbus_consumer_new: %s", errstr);
    edxbus_conf_destroy(conf);
    test_redis_stop(&doomed);

    /* Pipelined sends: every message reported failed, naming stream and event id. */
    static struct reports r;
    struct edxbus_metadata md;
    struct edxbus_msg msg = test_msg(&md, "gone");
    for (int i = 0; i < 3; i++)
        ASSERT_EQ_INT(ops->produce(prod, &msg, on_delivery, &r, errstr, sizeof errstr), EDXBUS_OK);
    ASSERT_TRUE(ops->flush(prod, 5000, errstr, sizeof errstr) != EDXBUS_OK);
    ASSERT_EQ_INT(r.ok, 0);
    ASSERT_EQ_INT(r.failed, 3);
    ASSERT_CONTAINS(r.last_error, "gone");
    ASSERT_CONTAINS(r.last_error, md.id);
    ops->producer_close(prod);

    /* The backend's polls: a retriable error every time, past the limit, and no sleep. */
    alarm(60);
    struct edxbus_batch batch;
    for (int polls = 0; polls < 5; polls++) {
        edxbus_err_t err = ops->poll(cons, &batch, 10, 10, errstr, sizeof errstr);
        ASSERT_TRUE(err != EDXBUS_OK && err != EDXBUS_ERR_FATAL);
        ASSERT_TRUE(edxbus_err_is_retriable(err));
        ASSERT_EQ_INT(batch.n, 0);
    }
    alarm(0);
    ops->consumer_close(cons);

    /* The worker's policy decides: the third failed poll in a row ends the run. */
    ASSERT_EQ_INT(edxbus_consumer_run(worker, errstr, sizeof errstr), EDXBUS_ERR_ERRORS_LIMIT);
    ASSERT_CONTAINS(errstr, "3 consecutive errors on gone (limit 3)");
    ASSERT_EQ_INT(edxbus_consumer_stats(worker)->poll_errors, 3);
    edxbus_consumer_destroy(worker);
    edxbus_bus_destroy(bus);
}

int main(void)
{
    test_redis_require("integration/redis/test_redis_failures");
    if (!test_redis_start(&server, NULL) ||
        !test_redis_start(&secured, "--requirepass", "hunter2", NULL)) {
        fprintf(stderr, "cannot start redis-server\n");
        test_redis_stop(&server);
        return 1;
    }
    redisContext *c = test_redis_connect(&secured);
    freeReplyObject(redisCommand(c, "AUTH hunter2"));
    freeReplyObject(redisCommand(c, "ACL SETUSER alice on >al1ce-pw ~* &* +@all"));
    redisFree(c);
    RUN(test_url_forms);
    RUN(test_bad_urls_name_the_setting_and_hide_the_password);
    RUN(test_tls_unreachable_names_no_secret);
    RUN(test_password_and_acl_user_auth);
    RUN(test_wrong_or_missing_credentials_are_auth_errors_without_the_password);
    RUN(test_unreachable_server_is_an_io_error_naming_the_url);
    RUN(test_consumers_disabled);
    RUN(test_stopped_server_times_out_instead_of_hanging);
    RUN(test_server_gone_for_good);
    test_redis_stop(&secured);
    test_redis_stop(&server);
    return test_report();
}
