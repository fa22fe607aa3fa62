/* tests/integration/kafka/test_kafka_stop.c — edxbus_consumer_stop() from another thread wakes
 * a Kafka worker blocked in a 30 s poll (tests/backend/stop_check.h), on librdkafka's mock
 * cluster.
 */
#include "backend/stop_check.h"
#include "kafka_harness.h"

static struct test_kafka k;

TEST(test_stop_from_another_thread)
{
    test_kafka_topic(&k, "stopping", 1);
    stop_check_backend(test_kafka_consumer_conf(&k), "kafka",
                       "EVENT_BUS_KAFKA_CONSUMER_POLL_TIMEOUT");
}

int main(void)
{
    test_kafka_start(&k, 1);
    RUN(test_stop_from_another_thread);
    test_kafka_stop(&k);
    return test_report();
}
