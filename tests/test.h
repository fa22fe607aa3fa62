/* tests/test.h — the tiny test harness every test program uses.
 *
 * A test file defines `static void test_<behaviour>(void)` functions and a main() that runs them
 * with RUN(); the program exits non-zero if any assertion failed. Assertions are typed and print
 * both sides with the file and line, and a failing assertion ends only its own test.
 *
 *     TEST(test_zigzag_min) { ASSERT_EQ_INT(zigzag(INT64_MIN), UINT64_MAX); }
 *     int main(void) { RUN(test_zigzag_min); return test_report(); }
 */
#ifndef EDXBUS_TEST_H
#define EDXBUS_TEST_H

#include <inttypes.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int test_failures_;
static int test_count_;
static jmp_buf test_jmp_;
static const char *test_current_;

#define TEST(name) static void name(void)

#define RUN(name)                                                                              \
    do {                                                                                       \
        test_current_ = #name;                                                                 \
        test_count_++;                                                                         \
        if (setjmp(test_jmp_) == 0)                                                            \
            name();                                                                            \
    } while (0)

static inline int test_report(void)
{
    fprintf(stderr, "%d tests, %d failed\n", test_count_, test_failures_);
    return test_failures_ ? 1 : 0;
}

#define TEST_FAIL_(...)                                                                        \
    do {                                                                                       \
        fprintf(stderr, "FAIL %s (%s:%d): ", test_current_, __FILE__, __LINE__);              \
        fprintf(stderr, __VA_ARGS__);                                                          \
        fputc('\n', stderr);                                                                   \
        test_failures_++;                                                                      \
        longjmp(test_jmp_, 1);                                                                 \
    } while (0)

#define ASSERT_TRUE(c)                                                                         \
    do {                                                                                       \
        if (!(c))                                                                              \
            TEST_FAIL_("expected true: %s", #c);                                               \
    } while (0)

#define ASSERT_EQ_INT(a, b)                                                                    \
    do {                                                                                       \
        long long a_ = (long long)(a), b_ = (long long)(b);                                    \
        if (a_ != b_)                                                                          \
            TEST_FAIL_("%s == %s: %lld != %lld", #a, #b, a_, b_);                              \
    } while (0)

#define ASSERT_EQ_UINT(a, b)                                                                   \
    do {                                                                                       \
        unsigned long long a_ = (unsigned long long)(a), b_ = (unsigned long long)(b);         \
        if (a_ != b_)                                                                          \
            TEST_FAIL_("%s == %s: %llu (0x%llx) != %llu (0x%llx)", #a, #b, a_, a_, b_, b_);    \
    } while (0)

#define ASSERT_EQ_STR(a, b)                                                                    \
    do {                                                                                       \
        const char *a_ = (a), *b_ = (b);                                                       \
        if (a_ == NULL || b_ == NULL || strcmp(a_, b_) != 0)                                   \
            TEST_FAIL_("%s == %s:\n  got:  %s\n  want: %s", #a, #b, a_ ? a_ : "(null)",       \
                       b_ ? b_ : "(null)");                                                    \
    } while (0)

/* Substring check, for error messages: the text must mention what it names. */
#define ASSERT_CONTAINS(hay, needle)                                                           \
    do {                                                                                       \
        const char *h_ = (hay), *n_ = (needle);                                                \
        if (h_ == NULL || strstr(h_, n_) == NULL)                                              \
            TEST_FAIL_("%s does not contain \"%s\": %s", #hay, n_, h_ ? h_ : "(null)");        \
    } while (0)

/* A fresh directory "/tmp/<prefix>-XXXXXX" written into @p dir (the program exits when it
 * cannot be made), and removing it with everything in it. */
static inline void test_tmpdir(char *dir, size_t size, const char *prefix)
{
    snprintf(dir, size, "/tmp/%s-XXXXXX", prefix);
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        exit(1);
    }
}

static inline void test_rmdir(const char *dir)
{
    char cmd[1100];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (strlen(dir) > 1000 || system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}

/* Where the test data lives (tests/vectors, fuzz corpora…): set by CMake. */
#ifndef EDXBUS_TEST_DATA_DIR
#define EDXBUS_TEST_DATA_DIR "tests/vectors"
#endif

#endif /* EDXBUS_TEST_H */
