/* tests/unit/util/test_suggest.c — edit distance and the nearest-name search (src/util/suggest.c)
 * behind every "did you mean" of the library: settings, backends, event types.
 */
#include "test.h"
#include "util/suggest_int.h"

TEST(test_distance)
{
    ASSERT_EQ_UINT(edxbus__edit_distance("kitten", "sitting", 10), 3);
    ASSERT_EQ_UINT(edxbus__edit_distance("", "abc", 10), 3);
    ASSERT_EQ_UINT(edxbus__edit_distance("abc", "abc", 0), 0);
    /* ASCII case does not count: a setting typed in lowercase is still that setting. */
    ASSERT_EQ_UINT(edxbus__edit_distance("event_bus_producer", "EVENT_BUS_PRODUCER", 0), 0);
}

TEST(test_distance_gives_up_past_the_limit)
{
    ASSERT_EQ_UINT(edxbus__edit_distance("kitten", "sitting", 2), 3);
    ASSERT_EQ_UINT(edxbus__edit_distance("a", "abcdefgh", 3), 4); /* by length alone */
    char big[EDXBUS__SUGGEST_NAME_MAX + 2];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    ASSERT_EQ_UINT(edxbus__edit_distance(big, big, 5), 6);
}

TEST(test_nearest)
{
    struct edxbus__nearest nr;
    edxbus__nearest_init(&nr, "EVENT_BUS_TOPIC_PREFX", 3);
    edxbus__nearest_add(&nr, "EVENT_BUS_PRODUCER");
    edxbus__nearest_add(&nr, "EVENT_BUS_TOPIC_PREFIX");
    edxbus__nearest_add(&nr, "EVENT_BUS_TOPIC_PREFIXES");
    ASSERT_EQ_STR(nr.best, "EVENT_BUS_TOPIC_PREFIX");
    ASSERT_EQ_UINT(nr.best_d, 1);

    edxbus__nearest_init(&nr, "ab", 1);
    edxbus__nearest_add(&nr, "xb"); /* the first of equals wins */
    edxbus__nearest_add(&nr, "ay");
    ASSERT_EQ_STR(nr.best, "xb");

    edxbus__nearest_init(&nr, "redis", 1);
    edxbus__nearest_add(&nr, "kafka");
    ASSERT_TRUE(nr.best == NULL);
}

int main(void)
{
    RUN(test_distance);
    RUN(test_distance_gives_up_past_the_limit);
    RUN(test_nearest);
    return test_report();
}
