/* tests/unit/util/test_errf.c — edxbus_errf(), the formatter behind every error line: a text
 * that fits is written whole; one that does not is cut on a UTF-8 character boundary and ends
 * with "…", so a cut line never passes for a complete one.
 */
#include "edxbus/error.h"
#include "test.h"

static bool ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), t = strlen(tail);
    return n >= t && memcmp(s + n - t, tail, t) == 0;
}

TEST(test_fits_whole)
{
    char buf[32];
    edxbus_errf(buf, sizeof buf, "redis: %s: %d", "down", 7);
    ASSERT_EQ_STR(buf, "redis: down: 7");
    /* Exactly full: 31 bytes and the NUL, not cut. */
    edxbus_errf(buf, sizeof buf, "%s", "0123456789012345678901234567890");
    ASSERT_EQ_STR(buf, "0123456789012345678901234567890");
}

TEST(test_cut_is_marked)
{
    char buf[16];
    edxbus_errf(buf, sizeof buf, "%s", "0123456789abcdefghij");
    ASSERT_EQ_STR(buf, "0123456789ab" EDXBUS_ERRSTR_CUT);
    ASSERT_EQ_INT(strlen(buf), sizeof buf - 1);
}

TEST(test_cut_keeps_characters_whole)
{
    /* "é" is two bytes: a cut that would split one backs off before it. */
    char buf[16];
    edxbus_errf(buf, sizeof buf, "%s", "0123456789\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9");
    ASSERT_EQ_STR(buf, "0123456789\xc3\xa9" EDXBUS_ERRSTR_CUT);
    edxbus_errf(buf, sizeof buf, "%s", "01234567890\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9");
    ASSERT_EQ_STR(buf, "01234567890" EDXBUS_ERRSTR_CUT);
    ASSERT_TRUE(ends_with(buf, "\xe2\x80\xa6"));
}

TEST(test_tiny_and_null_buffers)
{
    char buf[3] = "xx";
    edxbus_errf(buf, sizeof buf, "%s", "abcdef"); /* no room for the mark: plain cut */
    ASSERT_EQ_STR(buf, "ab");
    edxbus_errf(NULL, 10, "%s", "abc");
    edxbus_errf(buf, 0, "%s", "abc");
    ASSERT_EQ_STR(buf, "ab");
}

TEST(test_default_size_holds_a_long_line)
{
    ASSERT_TRUE(EDXBUS_ERRSTR_SIZE >= 1024);
}

int main(void)
{
    RUN(test_fits_whole);
    RUN(test_cut_is_marked);
    RUN(test_cut_keeps_characters_whole);
    RUN(test_tiny_and_null_buffers);
    RUN(test_default_size_holds_a_long_line);
    return test_report();
}
