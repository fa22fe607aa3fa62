/* Growable buffer and error-table behaviour. */
#include "edxbus/buf.h"
#include "test.h"

TEST(test_buf_appends_and_grows)
{
    struct edxbus_buf buf = EDXBUS_BUF_INIT;
    for (int i = 0; i < 1000; i++)
        ASSERT_EQ_INT(edxbus_buf_append(&buf, "ab", 2), EDXBUS_OK);
    ASSERT_EQ_UINT(buf.len, 2000);
    ASSERT_TRUE(buf.cap >= 2000);
    ASSERT_EQ_INT(buf.data[1999], 'b');
    edxbus_buf_reset(&buf);
    ASSERT_EQ_UINT(buf.len, 0);
    ASSERT_EQ_INT(edxbus_buf_printf(&buf, "%d-%s", 42, "x"), EDXBUS_OK);
    ASSERT_EQ_INT(edxbus_buf_terminate(&buf), EDXBUS_OK);
    ASSERT_EQ_STR((char *)buf.data, "42-x");
    edxbus_buf_fini(&buf);
    ASSERT_TRUE(buf.data == NULL);
}

TEST(test_err_table_is_consistent)
{
    ASSERT_EQ_STR(edxbus_err2name(EDXBUS_ERR_DECODE), "DECODE");
    ASSERT_EQ_STR(edxbus_err2str(EDXBUS_OK), "success");
    ASSERT_TRUE(edxbus_err_is_retriable(EDXBUS_ERR_BROKER));
    ASSERT_TRUE(!edxbus_err_is_retriable(EDXBUS_ERR_SCHEMA));
    ASSERT_EQ_STR(edxbus_err2name((edxbus_err_t)-999), "UNKNOWN");
}

int main(void)
{
    RUN(test_buf_appends_and_grows);
    RUN(test_err_table_is_consistent);
    return test_report();
}
