/* tests/unit/bus/test_backend_choice.c — which backend a conf selects for each direction
 * (edxbus_backend_for), and the --extra names every backend refuses before opening anything.
 */
#include "test.h"
#include "unit/bus/bus_fixtures.h"
#include "edxbus/backend.h"

static char errstr[EDXBUS_ERRSTR_SIZE];

static const char *chosen(const edxbus_conf_t *conf, edxbus_direction_t dir, const char **setting)
{
    const struct edxbus_backend_ops *ops = edxbus_backend_for(conf, dir, setting, errstr,
                                                              sizeof errstr);
    return ops ? ops->name : NULL;
}

TEST(test_one_setting_means_both_directions)
{
    const char *setting = NULL;
    edxbus_conf_t *conf = edxbus_conf_new();
    ASSERT_EQ_STR(chosen(conf, EDXBUS_CONSUME, &setting), "sqlite"); /* nothing set: default */
    ASSERT_EQ_STR(setting, "EVENT_BUS_CONSUMER");

    /* Only the producer named: tail, consume, lag and dead letters use it too. */
    ASSERT_EQ_INT(edxbus_conf_set(conf, "EVENT_BUS_PRODUCER", "redis", errstr, sizeof errstr),
                  EDXBUS_OK);
    ASSERT_EQ_STR(chosen(conf, EDXBUS_CONSUME, &setting), "redis");
    ASSERT_EQ_STR(setting, "EVENT_BUS_PRODUCER");
    ASSERT_EQ_STR(chosen(conf, EDXBUS_PRODUCE, &setting), "redis");
    ASSERT_EQ_STR(setting, "EVENT_BUS_PRODUCER");

    /* Both named: each direction its own. */
    ASSERT_EQ_INT(edxbus_conf_set(conf, "EVENT_BUS_CONSUMER", "edx_event_bus_kafka."
                                                              "KafkaEventConsumer",
                                  errstr, sizeof errstr),
                  EDXBUS_OK);
    ASSERT_EQ_STR(chosen(conf, EDXBUS_CONSUME, &setting), "kafka");
    ASSERT_EQ_STR(setting, "EVENT_BUS_CONSUMER");
    ASSERT_EQ_STR(chosen(conf, EDXBUS_PRODUCE, NULL), "redis");
    edxbus_conf_destroy(conf);

    /* Only the consumer named: the producer follows it. */
    conf = edxbus_conf_new();
    ASSERT_EQ_INT(edxbus_conf_set(conf, "EVENT_BUS_CONSUMER", "kafka", errstr, sizeof errstr),
                  EDXBUS_OK);
    ASSERT_EQ_STR(chosen(conf, EDXBUS_PRODUCE, &setting), "kafka");
    ASSERT_EQ_STR(setting, "EVENT_BUS_CONSUMER");

    /* An unknown name is an error naming the setting it came from, never a silent default. */
    ASSERT_EQ_INT(edxbus_conf_set(conf, "EVENT_BUS_CONSUMER", "redsi", errstr, sizeof errstr),
                  EDXBUS_OK);
    ASSERT_TRUE(chosen(conf, EDXBUS_PRODUCE, NULL) == NULL);
    ASSERT_CONTAINS(errstr, "EVENT_BUS_CONSUMER: unknown backend \"redsi\"; did you mean redis?");
    edxbus_conf_destroy(conf);
}

TEST(test_unknown_extra_refused_on_every_backend)
{
    fx_setup();
    static const struct {
        const char *backend, *extra, *want;
    } cases[] = {
        {"sqlite", "{\"claim_msgs_older_thn\": 5}", "did you mean claim_msgs_older_than?"},
        {"sqlite", "{\"consumer_name\": \"c1\"}", "for the sqlite backend"},
        {"redis", "{\"chek_backlog\": true}", "did you mean check_backlog?"},
        {"kafka", "{\"claim_msgs_older_than\": 5}", "for the kafka backend"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        edxbus_conf_t *conf = fx_conf(NULL, NULL);
        ASSERT_EQ_INT(
            edxbus_conf_set(conf, "EVENT_BUS_CONSUMER", cases[i].backend, errstr, sizeof errstr),
            EDXBUS_OK);
        /* No broker runs: the name is refused before anything is opened. */
        edxbus_conf_set(conf, "EVENT_BUS_REDIS_CONNECTION_URL", "redis://127.0.0.1:1/0", errstr,
                        sizeof errstr);
        edxbus_conf_set(conf, "EVENT_BUS_KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:1", errstr,
                        sizeof errstr);
        edxbus_bus_t *bus = edxbus_bus_new(conf, errstr, sizeof errstr);
        ASSERT_TRUE(bus != NULL);
        json_t *extra = fx_json(cases[i].extra);
        struct edxbus_consumer_config cfg = {
            .topic = "t1", .group = "g1", .extra = extra, .start_time_ms = -1};
        errstr[0] = '\0';
        edxbus_consumer_t *cons = edxbus_consumer_new(bus, &cfg, errstr, sizeof errstr);
        ASSERT_TRUE(cons == NULL);
        ASSERT_CONTAINS(errstr, "--extra: unknown option");
        ASSERT_CONTAINS(errstr, cases[i].want);
        json_decref(extra);
        edxbus_bus_destroy(bus);
    }
    fx_cleanup();
}

int main(void)
{
    (void)fx_bus; /* the fixtures' bus helper: these tests build their own confs */
    RUN(test_one_setting_means_both_directions);
    RUN(test_unknown_extra_refused_on_every_backend);
    return test_report();
}
