/* tests/integration/kafka/registry_main.c — the Kafka test servers as a process, for tests that
 * run the real `edxbus` binary (test_kafka_cli.sh).
 *
 * Starts the in-memory Schema Registry (registry_server.h) on a free loopback port and a
 * librdkafka mock cluster of one broker, prints two lines, then serves until SIGTERM or SIGINT:
 *     http://127.0.0.1:<port>      EVENT_BUS_KAFKA_SCHEMA_REGISTRY_URL
 *     127.0.0.1:<port>             EVENT_BUS_KAFKA_BOOTSTRAP_SERVERS
 * Usage: kafka_registry_main [TOPIC:PARTITIONS...]   (topics to create first)
 * Exits 77 (skip) when either server cannot start, as the test programs do.
 */
#include <signal.h>

#include "edxbus/edxbus.h"
#include "kafka_harness.h"

int main(int argc, char **argv)
{
    /* Block the stop signals before any thread starts, then wait for one of them. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);

    struct test_kafka k;
    test_kafka_start(&k, 1);
    for (int i = 1; i < argc; i++) {
        char topic[256];
        snprintf(topic, sizeof topic, "%s", argv[i]);
        char *colon = strrchr(topic, ':');
        int partitions = 1;
        if (colon != NULL) {
            *colon = '\0';
            partitions = (int)strtol(colon + 1, NULL, 10);
        }
        test_kafka_topic(&k, topic, partitions > 0 ? partitions : 1);
    }
    printf("%s\n%s\n", k.registry.url, k.bootstraps);
    fflush(stdout);
    int sig = 0;
    sigwait(&stop, &sig);
    test_kafka_stop(&k);
    return 0;
}
