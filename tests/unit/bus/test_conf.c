/* tests/unit/bus/test_conf.c — settings: defaults, typed set, YAML, environment, did-you-mean,
 * redaction, checks.
 *
 * YAML files are written to a scratch directory under the build tree; environment variables
 * set here are removed before each test ends.
 */
#include <stdbool.h>
#include <unistd.h>

#include "edxbus/conf.h"
#include "test.h"

static char errstr[EDXBUS_ERRSTR_SIZE];
static char logged[8][512];
static int nlogged;

static void capture(edxbus_log_level_t level, const char *line, void *opaque)
{
    (void)opaque;
    if (nlogged < 8 && level <= EDXBUS_LOG_WARNING)
        snprintf(logged[nlogged++], sizeof logged[0], "%s", line);
}

static edxbus_conf_t *fresh(void)
{
    edxbus_conf_t *conf = edxbus_conf_new();
    if (conf == NULL)
        TEST_FAIL_("edxbus_conf_new returned NULL");
    nlogged = 0;
    edxbus_conf_set_log(conf, capture, NULL);
    return conf;
}

static const char *write_file(const char *name, const char *text)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/test_conf_%s.yml", EDXBUS_BINARY_DIR, name);
    FILE *f = fopen(path, "w");
    if (f == NULL)
        TEST_FAIL_("cannot write %s", path);
    fputs(text, f);
    fclose(f);
    return path;
}

TEST(test_defaults)
{
    edxbus_conf_t *conf = fresh();
    ASSERT_EQ_STR(edxbus_conf_get_str(conf, "EVENT_BUS_PRODUCER", NULL), "sqlite");
    ASSERT_EQ_STR(edxbus_conf_get_str(conf, "EVENT_BUS_CONSUMER", NULL), "sqlite");
    ASSERT_EQ_STR(edxbus_conf_get_str(conf, "EVENT_BUS_SQLITE_PATH", NULL), "edxbus.db");
    ASSERT_EQ_INT(edxbus_conf_get_int(conf, "EVENT_BUS_SQLITE_MAX_LEN", -1), 0);
    ASSERT_EQ_INT(edxbus_conf_get_int(conf, "EVENT_BUS_REDIS_STREAM_MAX_LEN", -1), 10000);
    ASSERT_EQ_INT(edxbus_conf_get_int(conf, "EVENT_BUS_CONSUMER_RETRIES", -1), 3);
    ASSERT_TRUE(edxbus_conf_get_double(conf, "EVENT_BUS_REDIS_CONSUMER_POLL_TIMEOUT", 0) == 60.0);
    ASSERT_EQ_INT(edxbus_conf_get_int(conf, "EVENT_BUS_REDIS_CONSUMER_POLL_TIMEOUT", 0), 60);
    ASSERT_TRUE(edxbus_conf_get_double(conf, "EVENT_BUS_KAFKA_CONSUMER_POLL_TIMEOUT", 0) == 1.0);
    ASSERT_TRUE(edxbus_conf_get_bool(conf, "EVENT_BUS_DEAD_LETTER_ENABLED", false));
    ASSERT_TRUE(edxbus_conf_get_bool(conf, "EVENT_BUS_REDIS_CONSUMERS_ENABLED", false));
    ASSERT_TRUE(json_is_null(edxbus_conf_get(conf, "EVENT_BUS_TOPIC_PREFIX")));
    ASSERT_EQ_STR(edxbus_conf_get_str(conf, "EVENT_BUS_TOPIC_PREFIX", "none"), "none");
    ASSERT_TRUE(
        json_is_null(edxbus_conf_get(conf, "EVENT_BUS_REDIS_CONSUMER_CONSECUTIVE_ERRORS_LIMIT")));
    ASSERT_TRUE(json_is_object(edxbus_conf_get(conf, "EVENT_BUS_PRODUCER_CONFIG")));
    ASSERT_TRUE(edxbus_conf_get(conf, "NO_SUCH_SETTING") == NULL);
    ASSERT_EQ_INT(edxbus_conf_get_int(conf, "EVENT_BUS_PRODUCER", 7), 7); /* wrong type: def */
    ASSERT_TRUE(edxbus_conf_service_name(conf) == NULL);
    ASSERT_EQ_INT(edxbus_conf_check(conf, NULL), EDXBUS_OK);
    ASSERT_EQ_INT(nlogged, 0);

    json_t *rows = edxbus_conf_describe();
    ASSERT_TRUE(json_array_size(rows) >= 38);
    json_t *first = json_array_get(rows, 0);
    ASSERT_EQ_STR(json_string_value(json_object_get(first, "name")), "EVENT_BUS_PRODUCER");
    ASSERT_EQ_STR(json_string_value(json_object_get(first, "type")), "string");
    json_decref(rows);
    edxbus_conf_destroy(conf);
}

TEST(test_set_typed)
{
    edxbus_conf_t *conf = fresh();
    ASSERT_EQ_INT(
        edxbus_conf_set(conf, "EVENT_BUS_REDIS_STREAM_MAX_LEN", "ten", errstr, sizeof errstr),
        EDXBUS_ERR_CONF);
    ASSERT_EQ_STR(errstr,
                  "EVENT_BUS_REDIS_STREAM_MAX_LEN: \"ten\" is not an integer; expected e.g. 10000");
    ASSERT_EQ_INT(
        edxbus_conf_set(conf, "EVENT_BUS_REDIS_STREAM_MAX_LEN", "-5", errstr, sizeof errstr),
        EDXBUS_ERR_CONF);
    ASSERT_CONTAINS(errstr, "too small");
    ASSERT_EQ_INT(
        edxbus_conf_set(conf, "EVENT_BUS_REDIS_STREAM_MAX_LEN", "500", errstr, sizeof errstr),
        EDXBUS_OK);
    ASSERT_EQ_INT(edxbus_conf_get_int(conf, "EVENT_BUS_REDIS_STREAM_MAX_LEN", 0), 500);

    ASSERT_EQ_INT(
        edxbus_conf_set(conf, "EVENT_BUS_DEAD_LETTER_ENABLED", "No", errstr, sizeof errstr),
        EDXBUS_OK);
    ASSERT_TRUE(!edxbus_conf_get_bool(conf, "EVENT_BUS_DEAD_LETTER_ENABLED", true));
    ASSERT_EQ_INT(
        edxbus_conf_set(conf, "EVENT_BUS_DEAD_LETTER_ENABLED", "maybe", errstr, sizeof errstr),
        EDXBUS_ERR_CONF);
    ASSERT_CONTAINS(errstr, "EVENT_BUS_DEAD_LETTER_ENABLED: \"maybe\" is not a boolean");

    ASSERT_EQ_INT(
        edxbus_conf_set(conf, "EVENT_BUS_KAFKA_POLL_INTERVAL_SEC", "0.25", errstr, sizeof errstr),
        EDXBUS_OK);
    ASSERT_TRUE(edxbus_conf_get_double(conf, "EVENT_BUS_KAFKA_POLL_INTERVAL_SEC", 0) == 0.25);
    ASSERT_EQ_INT(
        edxbus_conf_set(conf, "EVENT_BUS_KAFKA_POLL_INTERVAL_SEC", "nan", errstr, sizeof errstr),
        EDXBUS_ERR_CONF);

    ASSERT_EQ_INT(edxbus_conf_set(conf, "EVENT_BUS_REDIS_CONSUMER_CONSECUTIVE_ERRORS_LIMIT", "4",
                                  errstr, sizeof errstr),
                  EDXBUS_OK);
    ASSERT_EQ_INT(edxbus_conf_get_int(conf, "EVENT_BUS_REDIS_CONSUMER_CONSECUTIVE_ERRORS_LIMIT", 0),
                  4);
    ASSERT_EQ_INT(edxbus_conf_set(conf, "EVENT_BUS_REDIS_CONSUMER_CONSECUTIVE_ERRORS_LIMIT", "null",
                                  errstr, sizeof errstr),
                  EDXBUS_OK);
    ASSERT_TRUE(
        json_is_null(edxbus_conf_get(conf, "EVENT_BUS_REDIS_CONSUMER_CONSECUTIVE_ERRORS_LIMIT")));

    ASSERT_EQ_INT(
        edxbus_conf_set(conf, "EVENT_BUS_PRODUCER_CONFIG", "{\"a\": ", errstr, sizeof errstr),
        EDXBUS_ERR_CONF);
    ASSERT_CONTAINS(errstr, "EVENT_BUS_PRODUCER_CONFIG: not valid JSON");
    /* JSON text holds any string (issue 10 item 6): U+0000 and non-BMP characters read byte for
     * byte; errors never name a jansson flag */
    ASSERT_EQ_INT(edxbus_conf_set(conf, "EVENT_BUS_PRODUCER_CONFIG",
                                  "{\"t\": {\"a\\u0000\\ud83d\\ude00\": {\"enabled\": true}}}",
                                  errstr, sizeof errstr),
                  EDXBUS_ERR_CONF); /* an object key cannot hold U+0000 */
    ASSERT_CONTAINS(errstr, "U+0000");
    ASSERT_TRUE(strstr(errstr, "JSON_") == NULL);
    ASSERT_EQ_INT(edxbus_conf_set(conf, "EVENT_BUS_SCHEMA_PATH", "[\"/a\\u0000b\\ud83d\\ude00\"]",
                                  errstr, sizeof errstr),
                  EDXBUS_OK);
    const json_t *item = json_array_get(edxbus_conf_get(conf, "EVENT_BUS_SCHEMA_PATH"), 0);
    ASSERT_EQ_INT(json_string_length(item), 8);
    ASSERT_TRUE(memcmp(json_string_value(item), "/a\0b\xf0\x9f\x98\x80", 8) == 0);
    /* a NUL in a setting's text value (a YAML or JSON string) is refused, not cut short */
    json_t *nul = json_stringn("dev\0x", 5);
    ASSERT_EQ_INT(edxbus_conf_set_json(conf, "EVENT_BUS_TOPIC_PREFIX", nul, errstr, sizeof errstr),
                  EDXBUS_ERR_CONF);
    json_decref(nul);
    ASSERT_CONTAINS(errstr, "NUL character");
    ASSERT_EQ_INT(edxbus_conf_set(conf, "EVENT_BUS_PRODUCER_CONFIG", "[1]", errstr, sizeof errstr),
                  EDXBUS_ERR_CONF);
    ASSERT_CONTAINS(errstr, "is not a mapping");
    ASSERT_EQ_INT(
        edxbus_conf_set(conf, "EVENT_BUS_SCHEMA_PATH", "[\"/a\", \"/b\"]", errstr, sizeof errstr),
        EDXBUS_OK);
    ASSERT_EQ_INT(json_array_size(edxbus_conf_get(conf, "EVENT_BUS_SCHEMA_PATH")), 2);
    ASSERT_EQ_INT(edxbus_conf_set(conf, "EVENT_BUS_SCHEMA_PATH", "/a:/b", errstr, sizeof errstr),
                  EDXBUS_OK);
    ASSERT_EQ_STR(edxbus_conf_get_str(conf, "EVENT_BUS_SCHEMA_PATH", NULL), "/a:/b");

    json_t *v = json_integer(2024);
    ASSERT_EQ_INT(edxbus_conf_set_json(conf, "EVENT_BUS_TOPIC_PREFIX", v, errstr, sizeof errstr),
                  EDXBUS_ERR_CONF);
    ASSERT_EQ_STR(errstr, "EVENT_BUS_TOPIC_PREFIX: 2024 is not a string (quote it); expected "
                          "e.g. \"dev\"");
    json_decref(v);
    v = json_string("60"); /* a quoted YAML number for a number setting */
    ASSERT_EQ_INT(edxbus_conf_set_json(conf, "EVENT_BUS_REDIS_CONSUMER_POLL_TIMEOUT", v, errstr,
                                       sizeof errstr),
                  EDXBUS_OK);
    json_decref(v);
    ASSERT_TRUE(edxbus_conf_get_double(conf, "EVENT_BUS_REDIS_CONSUMER_POLL_TIMEOUT", 0) == 60.0);
    ASSERT_EQ_INT(nlogged, 0);
    edxbus_conf_destroy(conf);
}

TEST(test_unknown_did_you_mean)
{
    edxbus_conf_t *conf = fresh();
    ASSERT_EQ_INT(edxbus_conf_set(conf, "EVENT_BUS_TOPIC_PREFX", "dev", errstr, sizeof errstr),
                  EDXBUS_OK);
    ASSERT_EQ_INT(nlogged, 1);
    ASSERT_EQ_STR(logged[0], "unknown setting \"EVENT_BUS_TOPIC_PREFX\"; did you mean "
                             "EVENT_BUS_TOPIC_PREFIX?");
    ASSERT_EQ_STR(edxbus_conf_get_str(conf, "EVENT_BUS_TOPIC_PREFX", NULL), "dev");
    ASSERT_EQ_INT(
        edxbus_conf_set(conf, "event_bus_redis_stream_max_len", "1", errstr, sizeof errstr),
        EDXBUS_OK);
    ASSERT_CONTAINS(logged[1], "did you mean EVENT_BUS_REDIS_STREAM_MAX_LEN?");
    ASSERT_EQ_INT(edxbus_conf_set(conf, "EVENT_BUS_MY_PLUGIN_THING", "x", errstr, sizeof errstr),
                  EDXBUS_OK);
    ASSERT_CONTAINS(logged[2], "unknown setting \"EVENT_BUS_MY_PLUGIN_THING\"; kept");
    ASSERT_EQ_INT(edxbus_conf_set(conf, "PLATFORM_NAME", "My Open edX", errstr, sizeof errstr),
                  EDXBUS_OK);
    ASSERT_EQ_INT(nlogged, 3); /* not ours: debug only */
    edxbus_conf_destroy(conf);
}

static const char *TUTOR_YAML =
    "# pasted from a Tutor config.yml\n"
    "PLATFORM_NAME: \"My Open edX\"\n"
    "EVENT_BUS_PRODUCER: edx_event_bus_redis.create_producer\n"
    "EVENT_BUS_CONSUMER: edx_event_bus_redis.RedisEventConsumer\n"
    "EVENT_BUS_REDIS_CONNECTION_URL: \"redis://:s3cret@redis:6379/0\"\n"
    "EVENT_BUS_TOPIC_PREFIX: dev\n"
    "EVENTS_SERVICE_NAME: cms\n"
    "EVENT_BUS_REDIS_STREAM_MAX_LEN: 5000\n"
    "EVENT_BUS_REDIS_CONSUMER_POLL_TIMEOUT: 30\n"
    "EVENT_BUS_REDIS_CONSUMERS_ENABLED: yes\n"
    "EVENT_BUS_REDIS_AUDIT_LOGGING_ENABLED: Off\n"
    "EVENT_BUS_KAFKA_CONFIG:\n"
    "  sasl.password: hunter2\n"
    "  compression.type: zstd\n"
    "  linger.ms: 5\n"
    "EVENT_BUS_PRODUCER_CONFIG:\n"
    "  org.openedx.content_authoring.xblock.published.v1:\n"
    "    course-authoring-xblock-lifecycle:\n"
    "      event_key_field: xblock_info.usage_key\n"
    "      enabled: true\n"
    "    extra: {event_key_field: xblock_info.usage_key, enabled: false}\n"
    "  org.openedx.learning.course.enrollment.created.v1:\n"
    "    enrollments: &enr\n"
    "      event_key_field: enrollment.course.course_key\n"
    "      enabled: True\n"
    "    enrollments-copy: *enr\n"
    "MY_NUMBERS: [1, -2, 0x10, 0o17, 1.5, -.5e1, .inf, \"3\", '4', ~, null, \"\", 12abc]\n";

TEST(test_yaml_tutor_style)
{
    edxbus_conf_t *conf = fresh();
    const char *path = write_file("tutor", TUTOR_YAML);
    ASSERT_EQ_INT(edxbus_conf_load_yaml(conf, path, errstr, sizeof errstr), EDXBUS_OK);
    ASSERT_EQ_STR(edxbus_conf_get_str(conf, "EVENT_BUS_TOPIC_PREFIX", NULL), "dev");
    ASSERT_EQ_STR(edxbus_conf_backend(conf, "EVENT_BUS_PRODUCER"), "redis");
    ASSERT_EQ_STR(edxbus_conf_backend(conf, "EVENT_BUS_CONSUMER"), "redis");
    ASSERT_EQ_STR(edxbus_conf_service_name(conf), "cms");
    ASSERT_EQ_INT(edxbus_conf_get_int(conf, "EVENT_BUS_REDIS_STREAM_MAX_LEN", 0), 5000);
    ASSERT_TRUE(edxbus_conf_get_double(conf, "EVENT_BUS_REDIS_CONSUMER_POLL_TIMEOUT", 0) == 30.0);
    ASSERT_TRUE(edxbus_conf_get_bool(conf, "EVENT_BUS_REDIS_CONSUMERS_ENABLED", false));
    ASSERT_TRUE(!edxbus_conf_get_bool(conf, "EVENT_BUS_REDIS_AUDIT_LOGGING_ENABLED", true));
    const json_t *pc = edxbus_conf_get(conf, "EVENT_BUS_PRODUCER_CONFIG");
    const json_t *tc =
        json_object_get(json_object_get(pc, "org.openedx.content_authoring.xblock.published.v1"),
                        "course-authoring-xblock-lifecycle");
    ASSERT_EQ_STR(json_string_value(json_object_get(tc, "event_key_field")),
                  "xblock_info.usage_key");
    ASSERT_TRUE(json_is_true(json_object_get(tc, "enabled")));
    tc = json_object_get(json_object_get(pc, "org.openedx.learning.course.enrollment.created.v1"),
                         "enrollments-copy");
    ASSERT_TRUE(json_is_true(json_object_get(tc, "enabled")));

    char *nums = json_dumps(edxbus_conf_get(conf, "MY_NUMBERS"), JSON_COMPACT);
    ASSERT_EQ_STR(nums, "[1,-2,16,15,1.5,-5.0,\".inf\",\"3\",\"4\",null,null,\"\",\"12abc\"]");
    free(nums);
    ASSERT_EQ_INT(edxbus_conf_check(conf, NULL), EDXBUS_OK);

    /* The dump hides the secrets. */
    json_t *dump = edxbus_conf_dump(conf);
    ASSERT_EQ_STR(json_string_value(json_object_get(dump, "EVENT_BUS_REDIS_CONNECTION_URL")),
                  "redis://:********@redis:6379/0");
    const json_t *kc = json_object_get(dump, "EVENT_BUS_KAFKA_CONFIG");
    ASSERT_EQ_STR(json_string_value(json_object_get(kc, "sasl.password")), "********");
    ASSERT_EQ_STR(json_string_value(json_object_get(kc, "compression.type")), "zstd");
    ASSERT_EQ_STR(json_string_value(json_object_get(dump, "PLATFORM_NAME")), "My Open edX");
    char *text = json_dumps(dump, 0);
    ASSERT_TRUE(strstr(text, "s3cret") == NULL && strstr(text, "hunter2") == NULL);
    free(text);
    json_decref(dump);
    edxbus_conf_destroy(conf);
}

TEST(test_yaml_errors)
{
    edxbus_conf_t *conf = fresh();
    ASSERT_EQ_INT(edxbus_conf_set(conf, "EVENT_BUS_TOPIC_PREFIX", "keep", errstr, sizeof errstr),
                  EDXBUS_OK);
    const char *path = write_file("syntax", "EVENT_BUS_TOPIC_PREFIX: a\nB: [1, 2\nC: 3\n");
    ASSERT_EQ_INT(edxbus_conf_load_yaml(conf, path, errstr, sizeof errstr), EDXBUS_ERR_CONF);
    ASSERT_CONTAINS(errstr, path);
    ASSERT_CONTAINS(errstr, ".yml:");

    path = write_file("type", "EVENT_BUS_TOPIC_PREFIX: fine\n\nEVENT_BUS_REDIS_STREAM_MAX_LEN: "
                              "lots\n");
    ASSERT_EQ_INT(edxbus_conf_load_yaml(conf, path, errstr, sizeof errstr), EDXBUS_ERR_CONF);
    char want[600];
    snprintf(want, sizeof want, "%s:3: EVENT_BUS_REDIS_STREAM_MAX_LEN: \"lots\" is not an integer",
             path);
    ASSERT_CONTAINS(errstr, want);
    ASSERT_EQ_STR(edxbus_conf_get_str(conf, "EVENT_BUS_TOPIC_PREFIX", NULL), "keep");

    path = write_file("list", "- a\n- b\n");
    ASSERT_EQ_INT(edxbus_conf_load_yaml(conf, path, errstr, sizeof errstr), EDXBUS_ERR_CONF);
    ASSERT_CONTAINS(errstr, ":1: expected a mapping of setting names");

    path = write_file("loop", "A: &a [1, *a]\n");
    edxbus_err_t err = edxbus_conf_load_yaml(conf, path, errstr, sizeof errstr);
    if (err != EDXBUS_OK) /* libyaml may refuse the alias itself */
        ASSERT_CONTAINS(errstr, ":1:");

    path = write_file("empty", "");
    ASSERT_EQ_INT(edxbus_conf_load_yaml(conf, path, errstr, sizeof errstr), EDXBUS_OK);
    ASSERT_EQ_INT(edxbus_conf_load_yaml(conf, "/nonexistent/x.yml", errstr, sizeof errstr),
                  EDXBUS_ERR_IO);
    ASSERT_CONTAINS(errstr, "/nonexistent/x.yml: cannot open");
    ASSERT_EQ_STR(edxbus_conf_get_str(conf, "EVENT_BUS_TOPIC_PREFIX", NULL), "keep");
    edxbus_conf_destroy(conf);
}

TEST(test_env_overrides_file)
{
    edxbus_conf_t *conf = fresh();
    const char *path = write_file("env", "EVENT_BUS_TOPIC_PREFIX: file\nSERVICE_VARIANT: lms\n");
    ASSERT_EQ_INT(edxbus_conf_load_yaml(conf, path, errstr, sizeof errstr), EDXBUS_OK);
    setenv("EVENT_BUS_TOPIC_PREFIX", "env", 1);
    setenv("EVENT_BUS_KAFKA_CONSUMERS_ENABLED", "false", 1);
    setenv("EVENT_BUS_PRODUCER_CONFIG",
           "{\"org.openedx.learning.course.enrollment.created.v1\": {\"t\": "
           "{\"event_key_field\": \"enrollment.user.id\", \"enabled\": true}}}",
           1);
    setenv("EVENT_BUS_TOPIC_PREFX", "typo", 1);
    edxbus_err_t err = edxbus_conf_load_env(conf, errstr, sizeof errstr);
    unsetenv("EVENT_BUS_TOPIC_PREFIX");
    unsetenv("EVENT_BUS_KAFKA_CONSUMERS_ENABLED");
    unsetenv("EVENT_BUS_PRODUCER_CONFIG");
    unsetenv("EVENT_BUS_TOPIC_PREFX");
    ASSERT_EQ_INT(err, EDXBUS_OK);
    ASSERT_EQ_STR(edxbus_conf_get_str(conf, "EVENT_BUS_TOPIC_PREFIX", NULL), "env");
    ASSERT_EQ_STR(edxbus_conf_service_name(conf), "lms");
    ASSERT_TRUE(!edxbus_conf_get_bool(conf, "EVENT_BUS_KAFKA_CONSUMERS_ENABLED", true));
    ASSERT_EQ_INT(json_object_size(edxbus_conf_get(conf, "EVENT_BUS_PRODUCER_CONFIG")), 1);
    ASSERT_EQ_INT(nlogged, 1);
    ASSERT_CONTAINS(logged[0], "did you mean EVENT_BUS_TOPIC_PREFIX?");

    setenv("EVENT_BUS_CONSUMER_RETRIES", "three", 1);
    err = edxbus_conf_load_env(conf, errstr, sizeof errstr);
    unsetenv("EVENT_BUS_CONSUMER_RETRIES");
    ASSERT_EQ_INT(err, EDXBUS_ERR_CONF);
    ASSERT_EQ_STR(errstr, "environment variable EVENT_BUS_CONSUMER_RETRIES: \"three\" is not an "
                          "integer; expected e.g. 3");
    ASSERT_EQ_INT(edxbus_conf_get_int(conf, "EVENT_BUS_CONSUMER_RETRIES", 0), 3);

    edxbus_conf_t *copy = edxbus_conf_dup(conf);
    ASSERT_EQ_INT(edxbus_conf_set(copy, "EVENTS_SERVICE_NAME", "studio", errstr, sizeof errstr),
                  EDXBUS_OK);
    ASSERT_EQ_STR(edxbus_conf_service_name(copy), "studio");
    ASSERT_EQ_STR(edxbus_conf_service_name(conf), "lms");
    nlogged = 0;
    edxbus_conf_log(copy, EDXBUS_LOG_WARNING, "from the copy %d", 1);
    ASSERT_EQ_INT(nlogged, 1);
    ASSERT_EQ_STR(logged[0], "from the copy 1");
    edxbus_conf_destroy(copy);
    edxbus_conf_destroy(conf);
}

/* conf.h's rule: the order of the calls decides, whatever the source. */
TEST(test_last_call_wins)
{
    edxbus_conf_t *conf = fresh();
    ASSERT_EQ_INT(edxbus_conf_set(conf, "EVENT_BUS_TOPIC_PREFIX", "code", errstr, sizeof errstr),
                  EDXBUS_OK);
    setenv("EVENT_BUS_TOPIC_PREFIX", "env", 1);
    edxbus_err_t err = edxbus_conf_load_env(conf, errstr, sizeof errstr);
    ASSERT_EQ_INT(err, EDXBUS_OK);
    /* load_env after set: the environment wins. */
    ASSERT_EQ_STR(edxbus_conf_get_str(conf, "EVENT_BUS_TOPIC_PREFIX", NULL), "env");
    /* set after load_env: the set value wins. */
    ASSERT_EQ_INT(edxbus_conf_set(conf, "EVENT_BUS_TOPIC_PREFIX", "code2", errstr, sizeof errstr),
                  EDXBUS_OK);
    ASSERT_EQ_STR(edxbus_conf_get_str(conf, "EVENT_BUS_TOPIC_PREFIX", NULL), "code2");
    /* A file loaded last wins over both. */
    const char *path = write_file("order", "EVENT_BUS_TOPIC_PREFIX: file\n");
    ASSERT_EQ_INT(edxbus_conf_load_yaml(conf, path, errstr, sizeof errstr), EDXBUS_OK);
    ASSERT_EQ_STR(edxbus_conf_get_str(conf, "EVENT_BUS_TOPIC_PREFIX", NULL), "file");
    err = edxbus_conf_load_env(conf, errstr, sizeof errstr);
    unsetenv("EVENT_BUS_TOPIC_PREFIX");
    ASSERT_EQ_INT(err, EDXBUS_OK);
    ASSERT_EQ_STR(edxbus_conf_get_str(conf, "EVENT_BUS_TOPIC_PREFIX", NULL), "env");
    /* A setting the environment does not hold keeps the value set before load_env. */
    ASSERT_EQ_INT(edxbus_conf_set(conf, "EVENT_BUS_TOPIC_PREFIX", "code3", errstr, sizeof errstr),
                  EDXBUS_OK);
    ASSERT_EQ_INT(edxbus_conf_load_env(conf, errstr, sizeof errstr), EDXBUS_OK);
    ASSERT_EQ_STR(edxbus_conf_get_str(conf, "EVENT_BUS_TOPIC_PREFIX", NULL), "code3");
    edxbus_conf_destroy(conf);
}

TEST(test_secrets_never_shown)
{
    edxbus_conf_t *conf = fresh();
    ASSERT_EQ_INT(
        edxbus_conf_set(conf, "EVENT_BUS_KAFKA_API_SECRET", "topsecret", errstr, sizeof errstr),
        EDXBUS_OK);
    ASSERT_EQ_INT(edxbus_conf_set(conf, "EVENT_BUS_KAFKA_SCHEMA_REGISTRY_URL",
                                  "ftp://user:pw123@registry", errstr, sizeof errstr),
                  EDXBUS_OK);
    ASSERT_EQ_INT(
        edxbus_conf_set(conf, "EVENT_BUS_MY_PLUGIN_PASSWORD", "pw456", errstr, sizeof errstr),
        EDXBUS_OK);
    json_t *dump = edxbus_conf_dump(conf);
    ASSERT_EQ_STR(json_string_value(json_object_get(dump, "EVENT_BUS_KAFKA_API_SECRET")),
                  "********");
    ASSERT_EQ_STR(json_string_value(json_object_get(dump, "EVENT_BUS_MY_PLUGIN_PASSWORD")),
                  "********");
    ASSERT_EQ_STR(
        json_string_value(json_object_get(dump, "EVENT_BUS_KAFKA_SCHEMA_REGISTRY_API_SECRET")),
        ""); /* unset secrets show as unset */
    json_decref(dump);

    json_t *errors = json_array();
    ASSERT_EQ_INT(edxbus_conf_check(conf, errors), EDXBUS_ERR_CONF);
    ASSERT_EQ_INT(json_array_size(errors), 1);
    const char *line = json_string_value(json_array_get(errors, 0));
    ASSERT_CONTAINS(line, "EVENT_BUS_KAFKA_SCHEMA_REGISTRY_URL: \"ftp://user:********@registry\"");
    ASSERT_TRUE(strstr(line, "pw123") == NULL);
    json_decref(errors);

    json_t *v = json_integer(5);
    ASSERT_EQ_INT(
        edxbus_conf_set_json(conf, "EVENT_BUS_KAFKA_API_SECRET", v, errstr, sizeof errstr),
        EDXBUS_ERR_CONF);
    json_decref(v);
    ASSERT_CONTAINS(errstr, "EVENT_BUS_KAFKA_API_SECRET: (secret) is not a string");
    edxbus_conf_destroy(conf);
}

TEST(test_check_finds_each_problem)
{
    edxbus_conf_t *conf = fresh();
    static const char *sets[][2] = {
        {"EVENT_BUS_PRODUCER", "rabbitmq"},
        {"EVENT_BUS_CONSUMER", "kafka"},
        {"EVENT_BUS_REDIS_CONNECTION_URL", "redis://:pw@host:99999/0"},
        {"EVENT_BUS_SQLITE_SYNCHRONOUS", "SOMETIMES"},
        {"EVENT_BUS_PRODUCER_CONFIG",
         "{\"org.openedx.learning.course.enrolment.created.v1\": {\"t\": {\"enabled\": true, "
         "\"event_key_field\": \"a\"}}}"},
    };
    for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++)
        ASSERT_EQ_INT(edxbus_conf_set(conf, sets[i][0], sets[i][1], errstr, sizeof errstr),
                      EDXBUS_OK);
    json_t *errors = json_array();
    nlogged = 0;
    ASSERT_EQ_INT(edxbus_conf_check(conf, errors), EDXBUS_ERR_CONF);
    char *all = json_dumps(errors, 0);
    ASSERT_EQ_INT(json_array_size(errors), 5);
    ASSERT_CONTAINS(all, "EVENT_BUS_PRODUCER: \\\"rabbitmq\\\" is not a known backend");
    ASSERT_CONTAINS(all, "EVENT_BUS_CONSUMER: the kafka backend needs "
                         "EVENT_BUS_KAFKA_BOOTSTRAP_SERVERS");
    ASSERT_CONTAINS(all, "EVENT_BUS_REDIS_CONNECTION_URL: \\\"redis://:********@host:99999/0\\\" "
                         "has a bad port");
    ASSERT_CONTAINS(all, "EVENT_BUS_SQLITE_SYNCHRONOUS: \\\"SOMETIMES\\\" is not a synchronous");
    ASSERT_CONTAINS(all, "unknown event type; did you mean "
                         "org.openedx.learning.course.enrollment.created.v1?");
    free(all);
    ASSERT_EQ_INT(nlogged, 5);
    json_decref(errors);

    ASSERT_EQ_INT(edxbus_conf_set(conf, "EVENT_BUS_KAFKA_BOOTSTRAP_SERVERS", "k1:9092,k2", errstr,
                                  sizeof errstr),
                  EDXBUS_OK);
    errors = json_array();
    edxbus_conf_check(conf, errors);
    all = json_dumps(errors, 0);
    ASSERT_CONTAINS(all, "EVENT_BUS_KAFKA_BOOTSTRAP_SERVERS: \\\"k1:9092,k2\\\" is not a list");
    free(all);
    json_decref(errors);

    static const char *good_urls[] = {"redis://localhost", "rediss://u:p@[::1]:6380/2",
                                      "unix:///run/redis.sock", "redis://:pw@redis:6379/0"};
    for (size_t i = 0; i < 4; i++) {
        edxbus_conf_t *c = fresh();
        edxbus_conf_set(c, "EVENT_BUS_REDIS_CONNECTION_URL", good_urls[i], errstr, sizeof errstr);
        edxbus_conf_set(c, "EVENT_BUS_PRODUCER", "/opt/libmine.so:edxbus_backend", errstr,
                        sizeof errstr);
        json_t *found = json_array();
        edxbus_err_t err = edxbus_conf_check(c, found);
        char *text = json_dumps(found, 0);
        edxbus_conf_destroy(c);
        json_decref(found);
        if (err != EDXBUS_OK) {
            fprintf(stderr, "%s: %s\n", good_urls[i], text);
            free(text);
            TEST_FAIL_("%s", "conf_check failed");
        }
        free(text);
    }
    edxbus_conf_destroy(conf);
}

/* With no log function set, warnings and errors reach stderr (and nothing else does); a NULL
 * log function silences the library. stderr is pointed at a file for the test. */
TEST(test_default_log_goes_to_stderr)
{
    char path[512];
    snprintf(path, sizeof path, "%s/test_conf_stderr.txt", EDXBUS_BINARY_DIR);
    fflush(stderr);
    int saved = dup(2);
    FILE *f = fopen(path, "w+");
    ASSERT_TRUE(saved >= 0 && f != NULL);
    ASSERT_TRUE(dup2(fileno(f), 2) == 2);
    edxbus_conf_t *conf = edxbus_conf_new();
    edxbus_conf_log(conf, EDXBUS_LOG_WARNING, "w %d", 1);
    edxbus_conf_log(conf, EDXBUS_LOG_ERROR, "e %d", 2);
    edxbus_conf_log(conf, EDXBUS_LOG_INFO, "i %d", 3);
    edxbus_conf_t *copy = edxbus_conf_dup(conf);
    edxbus_conf_log(copy, EDXBUS_LOG_WARNING, "copied");
    edxbus_conf_set_log(copy, NULL, NULL);
    edxbus_conf_log(copy, EDXBUS_LOG_ERROR, "silenced");
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    char text[512] = "";
    rewind(f);
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = '\0';
    fclose(f);
    remove(path);
    ASSERT_EQ_STR(text, "edxbus: warning: w 1\nedxbus: error: e 2\nedxbus: warning: copied\n");
    edxbus_conf_destroy(copy);
    edxbus_conf_destroy(conf);
}

/* The default sink's level follows EVENT_BUS_LOG_LEVEL (and the format EVENT_BUS_LOG_FORMAT, and
 * edxbus_conf_service_name() EVENTS_SERVICE_NAME / SERVICE_VARIANT) however the setting changes:
 * set, set_json, a YAML file, the environment, a copy, and back to edxbus_conf_set_log_level()
 * when the setting is not a level. conf.c keeps these settings read, so each change must reach
 * that copy. */
TEST(test_cached_settings_follow_every_change)
{
    edxbus_conf_t *conf = edxbus_conf_new(); /* the default sink: warnings */
    ASSERT_TRUE(edxbus_conf_service_name(conf) == NULL);
    ASSERT_EQ_INT(edxbus_conf_set(conf, "SERVICE_VARIANT", "cms", errstr, sizeof errstr),
                  EDXBUS_OK);
    ASSERT_EQ_STR(edxbus_conf_service_name(conf), "cms");
    ASSERT_EQ_INT(edxbus_conf_set(conf, "EVENTS_SERVICE_NAME", "lms", errstr, sizeof errstr),
                  EDXBUS_OK);
    ASSERT_EQ_STR(edxbus_conf_service_name(conf), "lms");
    edxbus_log_level_t level = 0;
    ASSERT_TRUE(edxbus_conf_is_logged(conf, EDXBUS_LOG_WARNING));
    ASSERT_TRUE(!edxbus_conf_is_logged(conf, EDXBUS_LOG_INFO));
    ASSERT_TRUE(!edxbus_conf_log_level(conf, &level));
    ASSERT_TRUE(!edxbus_conf_log_json(conf));

    ASSERT_EQ_INT(edxbus_conf_set(conf, "EVENT_BUS_LOG_LEVEL", "DEBUG", errstr, sizeof errstr),
                  EDXBUS_OK);
    ASSERT_TRUE(edxbus_conf_is_logged(conf, EDXBUS_LOG_DEBUG));
    ASSERT_TRUE(edxbus_conf_log_level(conf, &level));
    ASSERT_EQ_INT(level, EDXBUS_LOG_DEBUG);

    json_t *v = json_string("error");
    ASSERT_EQ_INT(edxbus_conf_set_json(conf, "EVENT_BUS_LOG_LEVEL", v, errstr, sizeof errstr),
                  EDXBUS_OK);
    json_decref(v);
    ASSERT_TRUE(edxbus_conf_is_logged(conf, EDXBUS_LOG_ERROR));
    ASSERT_TRUE(!edxbus_conf_is_logged(conf, EDXBUS_LOG_WARNING));

    /* Not a level: edxbus_conf_set_log_level() decides again (conf_check refuses it later). */
    ASSERT_EQ_INT(edxbus_conf_set(conf, "EVENT_BUS_LOG_LEVEL", "loud", errstr, sizeof errstr),
                  EDXBUS_OK);
    ASSERT_TRUE(!edxbus_conf_log_level(conf, NULL));
    edxbus_conf_set_log_level(conf, EDXBUS_LOG_INFO);
    ASSERT_TRUE(edxbus_conf_is_logged(conf, EDXBUS_LOG_INFO));
    ASSERT_TRUE(!edxbus_conf_is_logged(conf, EDXBUS_LOG_DEBUG));

    const char *path = write_file("loglevel", "EVENT_BUS_LOG_LEVEL: warning\n"
                                              "EVENT_BUS_LOG_FORMAT: json\nEVENTS_SERVICE_NAME: ''\n");
    ASSERT_EQ_INT(edxbus_conf_load_yaml(conf, path, errstr, sizeof errstr), EDXBUS_OK);
    ASSERT_EQ_STR(edxbus_conf_service_name(conf), "cms"); /* empty: SERVICE_VARIANT */
    ASSERT_TRUE(edxbus_conf_is_logged(conf, EDXBUS_LOG_WARNING));
    ASSERT_TRUE(!edxbus_conf_is_logged(conf, EDXBUS_LOG_INFO));
    ASSERT_TRUE(edxbus_conf_log_json(conf));

    setenv("EVENT_BUS_LOG_LEVEL", "info", 1);
    setenv("EVENT_BUS_LOG_FORMAT", "text", 1);
    setenv("EVENTS_SERVICE_NAME", "discovery", 1);
    edxbus_err_t err = edxbus_conf_load_env(conf, errstr, sizeof errstr);
    unsetenv("EVENT_BUS_LOG_LEVEL");
    unsetenv("EVENT_BUS_LOG_FORMAT");
    unsetenv("EVENTS_SERVICE_NAME");
    ASSERT_EQ_INT(err, EDXBUS_OK);
    ASSERT_EQ_STR(edxbus_conf_service_name(conf), "discovery");
    ASSERT_TRUE(edxbus_conf_is_logged(conf, EDXBUS_LOG_INFO));
    ASSERT_TRUE(!edxbus_conf_is_logged(conf, EDXBUS_LOG_DEBUG));
    ASSERT_TRUE(!edxbus_conf_log_json(conf));

    /* A file that fails to load changes nothing, the level included. */
    path = write_file("loglevel_bad", "EVENT_BUS_LOG_LEVEL: debug\nEVENT_BUS_CONSUMER_RETRIES: x\n");
    ASSERT_EQ_INT(edxbus_conf_load_yaml(conf, path, errstr, sizeof errstr), EDXBUS_ERR_CONF);
    ASSERT_TRUE(!edxbus_conf_is_logged(conf, EDXBUS_LOG_DEBUG));

    ASSERT_EQ_STR(edxbus_conf_service_name(conf), "discovery");
    edxbus_conf_t *copy = edxbus_conf_dup(conf);
    ASSERT_EQ_INT(edxbus_conf_set(conf, "EVENTS_SERVICE_NAME", "ecommerce", errstr, sizeof errstr),
                  EDXBUS_OK); /* frees the original's text: the copy has its own */
    ASSERT_EQ_STR(edxbus_conf_service_name(copy), "discovery");
    ASSERT_EQ_STR(edxbus_conf_service_name(conf), "ecommerce");
    ASSERT_TRUE(edxbus_conf_is_logged(copy, EDXBUS_LOG_INFO));
    ASSERT_TRUE(!edxbus_conf_is_logged(copy, EDXBUS_LOG_DEBUG));
    ASSERT_EQ_INT(edxbus_conf_set(copy, "EVENT_BUS_LOG_LEVEL", "error", errstr, sizeof errstr),
                  EDXBUS_OK);
    ASSERT_TRUE(!edxbus_conf_is_logged(copy, EDXBUS_LOG_WARNING));
    ASSERT_TRUE(edxbus_conf_is_logged(conf, EDXBUS_LOG_INFO)); /* the original keeps its own */

    /* Another log function gets every line whatever the setting says. */
    edxbus_conf_set_log(copy, capture, NULL);
    ASSERT_TRUE(edxbus_conf_is_logged(copy, EDXBUS_LOG_DEBUG));
    edxbus_conf_destroy(copy);
    edxbus_conf_destroy(conf);
}

int main(void)
{
    RUN(test_cached_settings_follow_every_change);
    RUN(test_default_log_goes_to_stderr);
    RUN(test_defaults);
    RUN(test_set_typed);
    RUN(test_unknown_did_you_mean);
    RUN(test_yaml_tutor_style);
    RUN(test_yaml_errors);
    RUN(test_env_overrides_file);
    RUN(test_last_call_wins);
    RUN(test_secrets_never_shown);
    RUN(test_check_finds_each_problem);
    return test_report();
}
