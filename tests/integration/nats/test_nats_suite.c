/* tests/integration/nats/test_nats_suite.c — the shared backend conformance suite
 * (tests/backend/backend_suite.h) against the NATS JetStream backend and a real nats-server.
 *
 * Every check runs but keys: like edx-event-bus-redis's, the NATS wire carries no key (the
 * payload is the Avro body, the metadata are headers), so a produced key does not come back.
 * NATS headers are a map: the extra headers come back by name, not in their order.
 */
#include "backend/backend_suite.h"
#include "backends/nats/nats_int.h"
#include "nats_server.h"

static struct test_nats server;

int main(void)
{
    test_nats_require("integration/nats/test_nats_suite");
    if (!test_nats_start(&server)) {
        fprintf(stderr, "cannot start nats-server\n");
        return 1;
    }
    edxbus_conf_t *conf = test_nats_conf(server.url);
    suite.ops = &edxbus_backend_nats;
    suite.conf = conf;
    suite.caps = SUITE_CAP_ALL & ~SUITE_CAP_KEYS;
    suite.poll_ms = 200;
    suite.headers_as_map = true;
    suite_run();
    edxbus_conf_destroy(conf);
    test_nats_stop(&server);
    return test_report();
}
