/* tests/integration/kafka/test_kafka_registry.c — the Schema Registry client against the
 * in-memory registry: the reference's register requests byte for byte (2.x form) for every
 * vector row, ids and caches both ways, compatibility, subjects and versions, basic auth,
 * retries of 5xx answers, a registry that is down, and secrets kept out of messages.
 */
#include "backends/kafka/registry.h"
#include "edxbus/buf.h"
#include "kafka_harness.h"
#include "test.h"

static struct test_registry server;
static json_t *rows;

static kreg_t *client(const char *user, const char *secret)
{
    struct kreg_opts opts = {.url = server.url, .api_key = user, .secret = secret,
                             .timeout_ms = 2000, .attempts = 3, .backoff_ms = 10};
    char errstr[EDXBUS_ERRSTR_SIZE];
    kreg_t *reg = NULL;
    if (edxbus__kreg_new(&opts, &reg, errstr, sizeof errstr) != EDXBUS_OK)
        fprintf(stderr, "kreg_new: %s\n", errstr);
    return reg;
}

TEST(test_every_row_registers_as_the_reference)
{
    char errstr[EDXBUS_ERRSTR_SIZE];
    for (size_t i = 0; i < json_array_size(rows); i++) {
        const json_t *row = json_array_get(rows, i);
        test_registry_reset(&server);
        kreg_t *reg = client(NULL, NULL);
        uint32_t kid = 0, vid = 0;
        ASSERT_EQ_INT(edxbus__kreg_register(reg, test_row_str(row, "key_subject"),
                                            test_row_str(row, "key_schema"), &kid, errstr,
                                            sizeof errstr),
                      EDXBUS_OK);
        ASSERT_EQ_INT(edxbus__kreg_register(reg, test_row_str(row, "value_subject"),
                                            test_row_str(row, "value_schema"), &vid, errstr,
                                            sizeof errstr),
                      EDXBUS_OK);
        ASSERT_EQ_INT(kid, json_integer_value(json_object_get(row, "key_schema_id")));
        ASSERT_EQ_INT(vid, json_integer_value(json_object_get(row, "value_schema_id")));
        ASSERT_EQ_INT(server.nrequests, 2);
        const json_t *kreq = json_object_get(row, "key_register_request_2_12_0");
        const json_t *vreq = json_object_get(row, "value_register_request_2_12_0");
        ASSERT_EQ_STR(server.requests[0].method, test_row_str(kreq, "method"));
        ASSERT_EQ_STR(server.requests[0].path, test_row_str(kreq, "path"));
        ASSERT_EQ_STR(server.requests[0].body, test_row_str(kreq, "body"));
        ASSERT_EQ_STR(server.requests[1].path, test_row_str(vreq, "path"));
        ASSERT_EQ_STR(server.requests[1].body, test_row_str(vreq, "body"));
        /* Cached: registering again sends nothing. */
        ASSERT_EQ_INT(edxbus__kreg_register(reg, test_row_str(row, "value_subject"),
                                            test_row_str(row, "value_schema"), &vid, errstr,
                                            sizeof errstr),
                      EDXBUS_OK);
        ASSERT_EQ_INT(server.nrequests, 2);
        edxbus__kreg_free(reg);
    }
}

TEST(test_json_string_is_python_json_dumps)
{
    struct edxbus_buf b = EDXBUS_BUF_INIT;
    const char *text = "a\"b\\c\n\x01/\x7f\xc3\xa9\xf0\x9f\x98\x80";
    ASSERT_EQ_INT(edxbus__kreg_json_string(&b, text, strlen(text)), EDXBUS_OK);
    edxbus_buf_terminate(&b);
    ASSERT_EQ_STR((const char *)b.data,
                  "\"a\\\"b\\\\c\\n\\u0001/\\u007f\\u00e9\\ud83d\\ude00\"");
    edxbus_buf_reset(&b);
    ASSERT_EQ_INT(edxbus__kreg_json_string(&b, "\xc3", 1), EDXBUS_ERR_INVALID_ARG);
    edxbus_buf_fini(&b);
}

TEST(test_by_id_fetches_once)
{
    char errstr[EDXBUS_ERRSTR_SIZE];
    test_registry_reset(&server);
    kreg_t *reg = client(NULL, NULL);
    uint32_t id;
    ASSERT_EQ_INT(edxbus__kreg_register(reg, "t-string", "\"string\"", &id, errstr, sizeof errstr),
                  EDXBUS_OK);
    kreg_t *other = client(NULL, NULL);
    const char *schema = NULL;
    ASSERT_EQ_INT(edxbus__kreg_schema_by_id(other, id, &schema, errstr, sizeof errstr), EDXBUS_OK);
    ASSERT_EQ_STR(schema, "\"string\"");
    int before = server.nrequests;
    ASSERT_EQ_INT(edxbus__kreg_schema_by_id(other, id, &schema, errstr, sizeof errstr), EDXBUS_OK);
    ASSERT_EQ_INT(server.nrequests, before);
    ASSERT_EQ_STR(server.requests[before - 1].path, "/schemas/ids/1");
    ASSERT_EQ_STR(server.requests[before - 1].method, "GET");
    ASSERT_EQ_INT(edxbus__kreg_schema_by_id(other, 99, &schema, errstr, sizeof errstr),
                  EDXBUS_ERR_NOT_FOUND);
    ASSERT_CONTAINS(errstr, "schema id 99");
    ASSERT_CONTAINS(errstr, "Schema not found");
    edxbus__kreg_free(reg);
    edxbus__kreg_free(other);
}

TEST(test_compatibility_subjects_versions)
{
    char errstr[EDXBUS_ERRSTR_SIZE];
    test_registry_reset(&server);
    kreg_t *reg = client(NULL, NULL);
    bool ok = false;
    ASSERT_EQ_INT(edxbus__kreg_check_compatible(reg, "t-x", "\"long\"", &ok, errstr, sizeof errstr),
                  EDXBUS_OK);
    ASSERT_TRUE(ok); /* no subject yet */
    uint32_t id;
    ASSERT_EQ_INT(edxbus__kreg_register(reg, "t-x", "\"long\"", &id, errstr, sizeof errstr),
                  EDXBUS_OK);
    ASSERT_EQ_INT(edxbus__kreg_register(reg, "t-x", "\"string\"", &id, errstr, sizeof errstr),
                  EDXBUS_OK);
    server.incompatible = true;
    ASSERT_EQ_INT(edxbus__kreg_check_compatible(reg, "t-x", "\"int\"", &ok, errstr, sizeof errstr),
                  EDXBUS_OK);
    ASSERT_TRUE(!ok);
    const struct test_registry_request *last = &server.requests[server.nrequests - 1];
    ASSERT_EQ_STR(last->path, "/compatibility/subjects/t-x/versions/latest");
    ASSERT_EQ_STR(last->body, "{\"schema\": \"\\\"int\\\"\", \"schemaType\": \"AVRO\", "
                              "\"references\": []}");
    json_t *subjects = NULL, *versions = NULL;
    ASSERT_EQ_INT(edxbus__kreg_subjects(reg, &subjects, errstr, sizeof errstr), EDXBUS_OK);
    ASSERT_EQ_INT(json_array_size(subjects), 1);
    ASSERT_EQ_STR(json_string_value(json_array_get(subjects, 0)), "t-x");
    ASSERT_EQ_INT(edxbus__kreg_versions(reg, "t-x", &versions, errstr, sizeof errstr), EDXBUS_OK);
    ASSERT_EQ_INT(json_array_size(versions), 2);
    json_decref(subjects);
    json_decref(versions);
    ASSERT_EQ_INT(edxbus__kreg_versions(reg, "nope", &versions, errstr, sizeof errstr),
                  EDXBUS_ERR_NOT_FOUND);
    edxbus__kreg_free(reg);
}

TEST(test_basic_auth_and_secrets_kept_out)
{
    char errstr[EDXBUS_ERRSTR_SIZE];
    test_registry_reset(&server);
    server.user = "KEY";
    server.password = "s3cr3t-value";
    kreg_t *good = client("KEY", "s3cr3t-value");
    uint32_t id;
    ASSERT_EQ_INT(edxbus__kreg_register(good, "t-string", "\"string\"", &id, errstr, sizeof errstr),
                  EDXBUS_OK);
    kreg_t *bad = client("KEY", "wrong-secret-xyz");
    ASSERT_EQ_INT(edxbus__kreg_register(bad, "t-string", "\"string\"", &id, errstr, sizeof errstr),
                  EDXBUS_ERR_AUTH);
    ASSERT_CONTAINS(errstr, "HTTP 401");
    ASSERT_CONTAINS(errstr, "EVENT_BUS_KAFKA_SCHEMA_REGISTRY_API_KEY");
    ASSERT_TRUE(strstr(errstr, "wrong-secret-xyz") == NULL);
    edxbus__kreg_free(good);
    edxbus__kreg_free(bad);
    /* A password inside the URL is masked. */
    char url[128];
    snprintf(url, sizeof url, "http://KEY:urlpass99@127.0.0.1:%d", server.port);
    struct kreg_opts opts = {.url = url, .attempts = 1};
    kreg_t *in_url = NULL;
    ASSERT_EQ_INT(edxbus__kreg_new(&opts, &in_url, errstr, sizeof errstr), EDXBUS_OK);
    ASSERT_TRUE(strstr(edxbus__kreg_display(in_url), "urlpass99") == NULL);
    server.password = "other";
    ASSERT_EQ_INT(edxbus__kreg_register(in_url, "t-long", "\"long\"", &id, errstr, sizeof errstr),
                  EDXBUS_ERR_AUTH);
    ASSERT_TRUE(strstr(errstr, "urlpass99") == NULL);
    ASSERT_CONTAINS(errstr, "KEY:********@");
    edxbus__kreg_free(in_url);
    test_registry_reset(&server);
}

TEST(test_server_errors_are_retried)
{
    char errstr[EDXBUS_ERRSTR_SIZE];
    test_registry_reset(&server);
    kreg_t *reg = client(NULL, NULL);
    server.fail_next = 2;
    server.fail_status = 503;
    uint32_t id = 0;
    ASSERT_EQ_INT(edxbus__kreg_register(reg, "t-string", "\"string\"", &id, errstr, sizeof errstr),
                  EDXBUS_OK);
    ASSERT_EQ_INT(id, 1);
    ASSERT_EQ_INT(server.nrequests, 3);
    server.fail_next = 5;
    ASSERT_EQ_INT(edxbus__kreg_register(reg, "t-long", "\"long\"", &id, errstr, sizeof errstr),
                  EDXBUS_ERR_BROKER);
    ASSERT_CONTAINS(errstr, "HTTP 503");
    ASSERT_CONTAINS(errstr, "injected failure");
    /* 4xx answers are not retried. */
    server.fail_next = 1;
    server.fail_status = 422;
    int before = server.nrequests;
    ASSERT_EQ_INT(edxbus__kreg_register(reg, "t-int", "\"int\"", &id, errstr, sizeof errstr),
                  EDXBUS_ERR_SCHEMA);
    ASSERT_EQ_INT(server.nrequests, before + 1);
    edxbus__kreg_free(reg);
    server.fail_next = 0;
}

TEST(test_unreachable_registry)
{
    char errstr[EDXBUS_ERRSTR_SIZE];
    test_registry_reset(&server);
    kreg_t *reg = client(NULL, NULL);
    test_registry_down(&server);
    uint32_t id;
    ASSERT_EQ_INT(edxbus__kreg_register(reg, "t-string", "\"string\"", &id, errstr, sizeof errstr),
                  EDXBUS_ERR_IO);
    ASSERT_CONTAINS(errstr, server.url);
    ASSERT_CONTAINS(errstr, "tried 3 times");
    ASSERT_TRUE(test_registry_resume(&server));
    ASSERT_EQ_INT(edxbus__kreg_register(reg, "t-string", "\"string\"", &id, errstr, sizeof errstr),
                  EDXBUS_OK);
    edxbus__kreg_free(reg);
    struct kreg_opts none = {.url = NULL};
    ASSERT_EQ_INT(edxbus__kreg_new(&none, &reg, errstr, sizeof errstr), EDXBUS_ERR_CONF);
    ASSERT_CONTAINS(errstr, "EVENT_BUS_KAFKA_SCHEMA_REGISTRY_URL");
    struct kreg_opts ftp = {.url = "ftp://x"};
    ASSERT_EQ_INT(edxbus__kreg_new(&ftp, &reg, errstr, sizeof errstr), EDXBUS_ERR_CONF);
}

int main(void)
{
    rows = test_kafka_rows();
    if (rows == NULL || json_array_size(rows) != 216) {
        fprintf(stderr, "cannot read kafka.jsonl\n");
        return 1;
    }
    if (!test_registry_start(&server)) {
        fprintf(stderr, "SKIP: cannot start the registry test server\n");
        return 77;
    }
    RUN(test_every_row_registers_as_the_reference);
    RUN(test_json_string_is_python_json_dumps);
    RUN(test_by_id_fetches_once);
    RUN(test_compatibility_subjects_versions);
    RUN(test_basic_auth_and_secrets_kept_out);
    RUN(test_server_errors_are_retried);
    RUN(test_unreachable_registry);
    test_registry_stop(&server);
    json_decref(rows);
    return test_report();
}
