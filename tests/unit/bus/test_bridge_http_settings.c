/* tests/unit/bus/test_bridge_http_settings.c — hostile input to the bridge's HTTP destination
 * (edxbus__bridge_http_settings): URLs that are not http(s), name no host, hold a space, a CR
 * LF or a control byte; a token or basic auth that would add a header (CR LF) or hold a space;
 * basic auth without ':'; both set; an unknown content mode (one holding a line break, which
 * the fuzz target found echoed into a two-line error, stays one line). Each is refused with one line that
 * never shows the URL's password, the token or the basic auth; a URL with user:password is
 * shown without them, whatever '@' the password holds. The libFuzzer target
 * fuzz/fuzz_http_dest.c checks the same on random input.
 */
#include <string.h>

#include "bus/bus_int.h"
#include "test.h"

static edxbus_err_t settings(const char *url, const char *token, const char *basic,
                             const char *mode, struct edxbus__http_dest_settings *out,
                             char *errstr)
{
    char ignored[EDXBUS_ERRSTR_SIZE];
    edxbus_conf_t *conf = edxbus_conf_new();
    edxbus_conf_set_log(conf, NULL, NULL);
    const char *names[] = {"EVENT_BUS_BRIDGE_HTTP_TOKEN", "EVENT_BUS_BRIDGE_HTTP_BASIC_AUTH",
                           "EVENT_BUS_BRIDGE_HTTP_CONTENT_MODE"};
    const char *values[] = {token, basic, mode};
    for (int i = 0; i < 3; i++) {
        json_t *v = values[i] ? json_string(values[i]) : NULL;
        if (v != NULL)
            ASSERT_TRUE(edxbus_conf_set_json(conf, names[i], v, ignored, sizeof ignored) ==
                        EDXBUS_OK);
        json_decref(v);
    }
    edxbus_err_t err = edxbus__bridge_http_settings(conf, url, out, errstr, EDXBUS_ERRSTR_SIZE);
    out->token = out->basic = NULL; /* borrowed from conf */
    edxbus_conf_destroy(conf);
    ASSERT_TRUE(strchr(errstr, '\n') == NULL && strchr(errstr, '\r') == NULL);
    return err;
}

TEST(test_hostile_urls_refused_without_secrets)
{
    static const char *const urls[] = {
        "ftp://u:hunter2@h/x",          "http://u:hunter2@/x",
        "http://u:hunter2@h/a b",       "http://u:hunter2@h/a\r\nX-Evil: 1",
        "https://u:hunter2@:8080/",     "http://u:hunter2@h/\x01",
    };
    for (size_t i = 0; i < sizeof urls / sizeof urls[0]; i++) {
        struct edxbus__http_dest_settings set;
        char errstr[EDXBUS_ERRSTR_SIZE] = "";
        ASSERT_EQ_INT(settings(urls[i], NULL, NULL, NULL, &set, errstr), EDXBUS_ERR_CONF);
        ASSERT_CONTAINS(errstr, "--to: ");
        ASSERT_TRUE(strstr(errstr, "hunter2") == NULL);
    }
}

TEST(test_password_never_in_the_display)
{
    struct edxbus__http_dest_settings set;
    char errstr[EDXBUS_ERRSTR_SIZE] = "";
    ASSERT_EQ_INT(settings("http://u:hunt@er2@host:8080/events?x=1", NULL, NULL, NULL, &set,
                           errstr),
                  EDXBUS_OK);
    ASSERT_EQ_STR(set.display, "http://host:8080/events?x=1");
    ASSERT_EQ_INT(settings("https://[::1]:8443/e", NULL, NULL, "structured", &set, errstr),
                  EDXBUS_OK);
    ASSERT_TRUE(set.structured);
}

TEST(test_hostile_auth_refused_without_secrets)
{
    static const char *const cases[][3] = {
        /* token, basic, what the line says */
        {"s3cret\r\nX-Evil: 1", NULL, "EVENT_BUS_BRIDGE_HTTP_TOKEN: holds"},
        {"s3cret s3cret", NULL, "EVENT_BUS_BRIDGE_HTTP_TOKEN: holds"},
        {NULL, "user:s3cret\nX-Evil: 1", "EVENT_BUS_BRIDGE_HTTP_BASIC_AUTH: holds"},
        {NULL, "s3cretnocolon", "EVENT_BUS_BRIDGE_HTTP_BASIC_AUTH: expected user:password"},
        {"s3cret", "user:s3cret", "are both set"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct edxbus__http_dest_settings set;
        char errstr[EDXBUS_ERRSTR_SIZE] = "";
        ASSERT_EQ_INT(settings("http://h/e", cases[i][0], cases[i][1], NULL, &set, errstr),
                      EDXBUS_ERR_CONF);
        ASSERT_CONTAINS(errstr, cases[i][2]);
        ASSERT_TRUE(strstr(errstr, "s3cret") == NULL);
    }
    struct edxbus__http_dest_settings set;
    char errstr[EDXBUS_ERRSTR_SIZE] = "";
    ASSERT_EQ_INT(settings("http://h/e", NULL, NULL, "structurd", &set, errstr), EDXBUS_ERR_CONF);
    ASSERT_CONTAINS(errstr, "EVENT_BUS_BRIDGE_HTTP_CONTENT_MODE: \"structurd\" is not");
    /* found by fuzz_http_dest: a line break in the value stays escaped, the line one line */
    ASSERT_EQ_INT(settings("http://h/e", NULL, NULL, "binary\r\nX: 1", &set, errstr),
                  EDXBUS_ERR_CONF);
    ASSERT_CONTAINS(errstr, "x0aX: 1\" is not a CloudEvents content mode");
}

/* EVENT_BUS_BRIDGE_HTTP_IN_FLIGHT: 8 by default, 1 to 256 taken, more refused with one line;
 * below 1 (and not a number) the settings table refuses before (the CLI test). */
TEST(test_in_flight_bounds)
{
    static const struct {
        const char *value;
        size_t want; /* 0: refused */
    } cases[] = {{NULL, 8}, {"1", 1}, {"256", 256}, {"257", 0}, {"100000", 0}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char errstr[EDXBUS_ERRSTR_SIZE] = "", ignored[EDXBUS_ERRSTR_SIZE];
        edxbus_conf_t *conf = edxbus_conf_new();
        ASSERT_TRUE(conf != NULL);
        if (cases[i].value != NULL)
            ASSERT_EQ_INT(edxbus_conf_set(conf, "EVENT_BUS_BRIDGE_HTTP_IN_FLIGHT", cases[i].value,
                                          ignored, sizeof ignored),
                          EDXBUS_OK);
        struct edxbus__http_dest_settings set;
        edxbus_err_t err =
            edxbus__bridge_http_settings(conf, "http://h/e", &set, errstr, sizeof errstr);
        if (cases[i].want != 0) {
            ASSERT_EQ_INT(err, EDXBUS_OK);
            ASSERT_EQ_UINT(set.in_flight, cases[i].want);
        } else {
            ASSERT_EQ_INT(err, EDXBUS_ERR_CONF);
            ASSERT_CONTAINS(errstr, "EVENT_BUS_BRIDGE_HTTP_IN_FLIGHT: ");
            ASSERT_CONTAINS(errstr, cases[i].value);
        }
        edxbus_conf_destroy(conf);
    }
}

int main(void)
{
    RUN(test_hostile_urls_refused_without_secrets);
    RUN(test_password_never_in_the_display);
    RUN(test_hostile_auth_refused_without_secrets);
    RUN(test_in_flight_bounds);
    return test_report();
}
