/* tests/integration/kafka/wire_check.h — assertions on records against tests/vectors/kafka.jsonl,
 * shared by the wire and key tests (both compare produced headers with a vector row's).
 * Include after test.h. */
#ifndef EDXBUS_TEST_KAFKA_WIRE_CHECK_H
#define EDXBUS_TEST_KAFKA_WIRE_CHECK_H

#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>

/* The record's headers are exactly @p want ([[name, text], ...]), in order. */
static void assert_headers_equal(const rd_kafka_message_t *m, const json_t *want)
{
    rd_kafka_headers_t *hdrs = NULL;
    ASSERT_EQ_INT(rd_kafka_message_headers((rd_kafka_message_t *)m, &hdrs), 0);
    ASSERT_EQ_INT(rd_kafka_header_cnt(hdrs), json_array_size(want));
    for (size_t i = 0; i < json_array_size(want); i++) {
        const char *name;
        const void *v;
        size_t len;
        ASSERT_EQ_INT(rd_kafka_header_get_all(hdrs, i, &name, &v, &len), 0);
        ASSERT_EQ_STR(name, json_string_value(json_array_get(json_array_get(want, i), 0)));
        char text[1024];
        snprintf(text, sizeof text, "%.*s", (int)len, (const char *)v);
        ASSERT_EQ_STR(text, json_string_value(json_array_get(json_array_get(want, i), 1)));
    }
}

#endif
