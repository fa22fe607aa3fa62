/* tests/unit/bus/test_metrics_address.c — EVENT_BUS_METRICS_ADDRESS / --metrics-address as
 * edxbus_metrics_parse_address() reads them: what binds where, and hostile input refused with
 * one line (the listener never starts on a half-read address).
 */
#include "test.h"

#include "edxbus/metrics.h"

static void parses(const char *text, const char *host, unsigned port)
{
    char h[64], err[EDXBUS_ERRSTR_SIZE] = "";
    uint16_t p = 1;
    if (edxbus_metrics_parse_address(text, h, sizeof h, &p, err, sizeof err) != EDXBUS_OK)
        TEST_FAIL_("\"%s\" refused: %s", text, err);
    ASSERT_EQ_STR(h, host);
    ASSERT_EQ_INT(p, port);
}

static void refuses(const char *text, const char *why)
{
    char h[64], err[EDXBUS_ERRSTR_SIZE] = "";
    uint16_t p = 0;
    ASSERT_EQ_INT(edxbus_metrics_parse_address(text, h, sizeof h, &p, err, sizeof err),
                  EDXBUS_ERR_INVALID_ARG);
    ASSERT_CONTAINS(err, why);
    ASSERT_TRUE(strchr(err, '\n') == NULL || strchr(text, '\n') != NULL);
}

TEST(test_loopback_unless_a_host_is_named)
{
    parses("9464", "127.0.0.1", 9464);
    parses(":9464", "127.0.0.1", 9464);
    parses("0.0.0.0:9464", "0.0.0.0", 9464);
    parses("localhost:80", "127.0.0.1", 80);
    parses("[::1]:9464", "::1", 9464);
    parses("[::]:0", "::", 0);
    parses("10.1.2.3:65535", "10.1.2.3", 65535);
}

TEST(test_hostile_addresses)
{
    refuses("", "empty");
    refuses(":", "port");
    refuses("1.2.3.4:", "port");
    refuses(":65536", "port");
    refuses(":-1", "port");
    refuses(":+80", "port");
    refuses(":0x50", "port");
    refuses(":99999999999999999999999", "port");
    refuses("::1:9464", "brackets");
    refuses("[::1", "brackets");
    refuses("[::1]", "brackets");
    refuses("[]:80", "brackets");
    refuses("[::1]x80", "brackets");
    refuses("example.com:80", "not an IP address");
    refuses("999.1.1.1:80", "not an IP address");
    refuses("%s%n%s:80", "not an IP address");
    char longhost[400];
    memset(longhost, 'a', sizeof longhost);
    memcpy(longhost + sizeof longhost - 4, ":80", 4);
    refuses(longhost, "too long");
    char err[EDXBUS_ERRSTR_SIZE];
    char small[8];
    uint16_t p;
    ASSERT_EQ_INT(edxbus_metrics_parse_address("9464", small, sizeof small, &p, err, sizeof err),
                  EDXBUS_ERR_INVALID_ARG); /* a host buffer too small is refused, not overrun */
    ASSERT_EQ_INT(edxbus_metrics_parse_address(NULL, small, sizeof small, &p, err, sizeof err),
                  EDXBUS_ERR_INVALID_ARG);
}

int main(void)
{
    RUN(test_loopback_unless_a_host_is_named);
    RUN(test_hostile_addresses);
    return test_report();
}
