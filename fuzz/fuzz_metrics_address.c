/* fuzz/fuzz_metrics_address.c — libFuzzer target for EVENT_BUS_METRICS_ADDRESS and
 * --metrics-address (src/bus/metrics_http.c): the listening address an operator types, read by
 * edxbus_metrics_parse_address().
 *
 * Input: the address text, up to its first NUL (the setting is a C string).
 * Invariants checked (abort on violation):
 *   - a failure is EDXBUS_ERR_INVALID_ARG with one terminated line in errstr;
 *   - a success gives a host that inet_pton() reads as IPv4 or IPv6 and fits its buffer, and
 *     parsing "<host>:<port>" (bracketed for IPv6) again gives the same host and port;
 *   - input without a host (only digits, or ":" and digits) binds loopback.
 * Nothing is kept between inputs.
 *
 * Seed corpus: fuzz/corpus/metrics_address/.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edxbus/metrics.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    char host[64], errstr[256];
    memset(host, 'x', sizeof host);
    uint16_t port = 0;
    edxbus_err_t err = edxbus_metrics_parse_address(text, host, sizeof host, &port, errstr,
                                                    sizeof errstr);
    if (err != EDXBUS_OK) {
        if (err != EDXBUS_ERR_INVALID_ARG || memchr(errstr, '\0', sizeof errstr) == NULL ||
            strchr(errstr, '\n') != NULL)
            abort();
        free(text);
        return 0;
    }
    if (memchr(host, '\0', sizeof host) == NULL)
        abort();
    unsigned char buf[16];
    bool v6 = inet_pton(AF_INET6, host, buf) == 1;
    if (!v6 && inet_pton(AF_INET, host, buf) != 1)
        abort();
    if (strspn(text + (text[0] == ':'), "0123456789") == strlen(text + (text[0] == ':')) &&
        strcmp(host, "127.0.0.1") != 0)
        abort();
    char again[96], host2[64];
    uint16_t port2 = 0;
    snprintf(again, sizeof again, v6 ? "[%s]:%u" : "%s:%u", host, (unsigned)port);
    if (edxbus_metrics_parse_address(again, host2, sizeof host2, &port2, errstr, sizeof errstr) !=
            EDXBUS_OK ||
        strcmp(host, host2) != 0 || port != port2)
        abort();
    free(text);
    return 0;
}
