/* tests/integration/tls_certs.h — test certificates made with the `openssl` command, for the
 * brokers' TLS tests (Redis over rediss://, NATS over tls://).
 */
#ifndef EDXBUS_TEST_TLS_CERTS_H
#define EDXBUS_TEST_TLS_CERTS_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

/** Make, in @p dir, with the `openssl` command: ca.pem/ca.key (a test CA), server.pem/
 *  server.key (signed by it, for DNS name "localhost" only), client.pem/client.key (signed by
 *  it), other-ca.pem (a CA that signed nothing here). EC keys: quick. */
static inline bool test_tls_make_certs(const char *dir)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "cd '%s' && exec >openssl.log 2>&1 && "
             "K='-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes' && "
             "openssl req -x509 $K -keyout ca.key -out ca.pem -days 2 -subj /CN=edxbus-test-ca && "
             "openssl req -x509 $K -keyout other-ca.key -out other-ca.pem -days 2 "
             "-subj /CN=edxbus-other-ca && "
             "printf 'subjectAltName=DNS:localhost\n' >server.ext && "
             "openssl req $K -keyout server.key -out server.csr -subj /CN=localhost && "
             "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
             "-out server.pem -days 2 -extfile server.ext && "
             "openssl req $K -keyout client.key -out client.csr -subj /CN=edxbus-client && "
             "openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
             "-out client.pem -days 2",
             dir);
    int rc = system(cmd);
    if (rc != 0)
        fprintf(stderr, "openssl failed making test certificates; see %s/openssl.log\n", dir);
    return rc == 0;
}

#endif /* EDXBUS_TEST_TLS_CERTS_H */
