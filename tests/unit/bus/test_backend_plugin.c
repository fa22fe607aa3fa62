/* tests/unit/bus/test_backend_plugin.c — finding backends: built-ins by name and alias, the
 * example plugin (examples/plugin) loaded as `/abs/path/libedxbus_example.so:symbol` and run
 * through the basic conformance checks, and the errors for unknown names, bad paths, missing
 * symbols, ABI mismatches and taken names.
 */
#include "backend/backend_suite.h"

#ifndef EDXBUS_BINARY_DIR
#define EDXBUS_BINARY_DIR "."
#endif
#define PLUGIN_PATH EDXBUS_BINARY_DIR "/examples/plugin/libedxbus_example.so"
#define PLUGIN PLUGIN_PATH ":edxbus_example_backend"

extern const struct edxbus_backend_ops edxbus_backend_sqlite;

TEST(test_builtins_by_name_and_alias)
{
    char errstr[EDXBUS_ERRSTR_SIZE] = "";
    ASSERT_TRUE(edxbus_backend_find("sqlite", NULL, errstr, sizeof errstr) ==
                &edxbus_backend_sqlite);
    const struct edxbus_backend_ops *redis = edxbus_backend_find(
        "edx_event_bus_redis.create_producer", "EVENT_BUS_PRODUCER", errstr, sizeof errstr);
    ASSERT_TRUE(redis != NULL);
    ASSERT_EQ_STR(redis->name, "redis");
}

TEST(test_unknown_name_suggests)
{
    char errstr[EDXBUS_ERRSTR_SIZE] = "";
    ASSERT_TRUE(edxbus_backend_find("sqlit", "EVENT_BUS_PRODUCER", errstr, sizeof errstr) == NULL);
    ASSERT_EQ_STR(errstr, "EVENT_BUS_PRODUCER: unknown backend \"sqlit\"; did you mean sqlite?");
    ASSERT_TRUE(edxbus_backend_find("redsi", "EVENT_BUS_CONSUMER", errstr, sizeof errstr) == NULL);
    ASSERT_CONTAINS(errstr, "did you mean redis?");
    ASSERT_TRUE(edxbus_backend_find("pulsar", NULL, errstr, sizeof errstr) == NULL);
    ASSERT_CONTAINS(errstr, "unknown backend \"pulsar\"; known backends: sqlite");
    ASSERT_CONTAINS(errstr, "/path/libx.so:symbol");
}

TEST(test_plugin_loads_and_registers)
{
    char errstr[EDXBUS_ERRSTR_SIZE] = "";
    const struct edxbus_backend_ops *ops =
        edxbus_backend_find(PLUGIN, "EVENT_BUS_PRODUCER", errstr, sizeof errstr);
    if (ops == NULL)
        TEST_FAIL_("%s", errstr);
    ASSERT_EQ_STR(ops->name, "memory");
    ASSERT_EQ_INT(ops->abi_version, EDXBUS_BACKEND_ABI);
    ASSERT_TRUE(edxbus_backend_find(PLUGIN, NULL, errstr, sizeof errstr) == ops); /* again */
    ASSERT_TRUE(edxbus_backend_find("memory", NULL, errstr, sizeof errstr) == ops);
    ASSERT_TRUE(ops->caught_up == NULL && ops->lag == NULL); /* optional slots may be NULL */
}

TEST(test_plugin_bad_path)
{
    char errstr[EDXBUS_ERRSTR_SIZE] = "";
    ASSERT_TRUE(edxbus_backend_find("/nonexistent/libnope.so:entry", "EVENT_BUS_PRODUCER", errstr,
                                    sizeof errstr) == NULL);
    ASSERT_CONTAINS(errstr, "EVENT_BUS_PRODUCER: cannot load backend plugin");
    ASSERT_CONTAINS(errstr, "/nonexistent/libnope.so");
    ASSERT_CONTAINS(errstr, "No such file"); /* dlerror() */
}

TEST(test_plugin_bad_symbol)
{
    char errstr[EDXBUS_ERRSTR_SIZE] = "";
    ASSERT_TRUE(edxbus_backend_find(PLUGIN_PATH ":no_such_entry", "EVENT_BUS_CONSUMER", errstr,
                                    sizeof errstr) == NULL);
    ASSERT_CONTAINS(errstr, "EVENT_BUS_CONSUMER: ");
    ASSERT_CONTAINS(errstr, "no symbol \"no_such_entry\"");
    ASSERT_CONTAINS(errstr, "libedxbus_example.so");
}

TEST(test_plugin_without_symbol)
{
    char errstr[EDXBUS_ERRSTR_SIZE] = "";
    ASSERT_TRUE(edxbus_backend_find(PLUGIN_PATH, "EVENT_BUS_PRODUCER", errstr, sizeof errstr) ==
                NULL);
    ASSERT_CONTAINS(errstr, "expected /path/libx.so:symbol");
}

static edxbus_err_t never_open(const edxbus_conf_t *conf, void **be, char *errstr,
                               size_t errstr_size)
{
    return EDXBUS_ERR_UNSUPPORTED;
}

TEST(test_register_checks_abi_name_and_slots)
{
    char errstr[EDXBUS_ERRSTR_SIZE] = "";
    const struct edxbus_backend_ops *mem =
        edxbus_backend_find("memory", NULL, errstr, sizeof errstr);
    ASSERT_TRUE(mem != NULL);
    struct edxbus_backend_ops future = *mem;
    future.abi_version = EDXBUS_BACKEND_ABI + 1;
    future.name = "future";
    ASSERT_EQ_INT(edxbus_backend_register(&future, errstr, sizeof errstr), EDXBUS_ERR_INVALID_ARG);
    char want[64];
    snprintf(want, sizeof want, "ABI version %d", EDXBUS_BACKEND_ABI + 1);
    ASSERT_CONTAINS(errstr, want);
    ASSERT_CONTAINS(errstr, "rebuild");
    /* A table from before struct edxbus_msg grew (ABI 5) would be read with the wrong
     * message size: refused too. */
    struct edxbus_backend_ops old = *mem;
    old.abi_version = EDXBUS_BACKEND_ABI_OLDEST - 1;
    old.name = "old";
    ASSERT_EQ_INT(edxbus_backend_register(&old, errstr, sizeof errstr), EDXBUS_ERR_INVALID_ARG);
    snprintf(want, sizeof want, "ABI version %d", EDXBUS_BACKEND_ABI_OLDEST - 1);
    ASSERT_CONTAINS(errstr, want);
    ASSERT_CONTAINS(errstr, "rebuild");

    static struct edxbus_backend_ops taken;
    taken = *mem;
    taken.name = "sqlite";
    ASSERT_EQ_INT(edxbus_backend_register(&taken, errstr, sizeof errstr), EDXBUS_ERR_INVALID_ARG);
    ASSERT_CONTAINS(errstr, "\"sqlite\" is already taken");

    static struct edxbus_backend_ops partial;
    partial = *mem;
    partial.name = "partial";
    partial.poll = NULL;
    partial.producer_open = never_open;
    ASSERT_EQ_INT(edxbus_backend_register(&partial, errstr, sizeof errstr), EDXBUS_ERR_INVALID_ARG);
    ASSERT_CONTAINS(errstr, "required slot poll");

    static struct edxbus_backend_ops fine;
    fine = *mem;
    fine.name = "memory2";
    ASSERT_EQ_INT(edxbus_backend_register(&fine, errstr, sizeof errstr), EDXBUS_OK);
    ASSERT_TRUE(edxbus_backend_find("memory2", NULL, errstr, sizeof errstr) == &fine);
}

int main(void)
{
    RUN(test_builtins_by_name_and_alias);
    RUN(test_unknown_name_suggests);
    RUN(test_plugin_loads_and_registers);
    RUN(test_plugin_bad_path);
    RUN(test_plugin_bad_symbol);
    RUN(test_plugin_without_symbol);
    RUN(test_register_checks_abi_name_and_slots);

    char errstr[EDXBUS_ERRSTR_SIZE] = "";
    suite.ops = edxbus_backend_find(PLUGIN, NULL, errstr, sizeof errstr);
    if (suite.ops == NULL) {
        fprintf(stderr, "cannot load the example plugin: %s\n", errstr);
        return 1;
    }
    suite.conf = NULL; /* the memory backend reads no settings */
    suite.caps = SUITE_CAP_ALL;
    suite_skip(SUITE_CAP_TIME, "the example keeps no store times (start_time_ms is not read)");
    suite_skip(SUITE_CAP_LAG, "the example leaves the optional lag slot NULL");
    suite_skip(SUITE_CAP_END, "the example leaves the optional caught_up slot NULL (a dead-letter "
                              "replay on it reads until a poll comes back empty)");
    suite.poll_ms = 10;
    suite_run();
    return test_report();
}
