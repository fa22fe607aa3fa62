/* tests/unit/typed/test_typed_checks.c — the fast paths of the catalog checks that the typed
 * encoders inline (src/catalog/checks_fast.h) at their edges.
 *
 * A fast path may only say "valid" for a value the full check accepts; it should say so for the
 * common forms (or the encoder is slow), and anything else falls through to the full check.
 * Each case gives the full answer; the test asserts the check (fast path, then full) gives it,
 * that the fast path never accepts a refused value, and that it does take the common forms.
 */
#include "catalog/catalog_int.h"
#include "catalog/checks_fast.h"
#include "test.h"

struct check_case {
    const char *text;
    size_t len;  /* 0: strlen(text) */
    bool valid;  /* what the full check answers */
    bool common; /* a common form: the fast path must accept it */
};

static void run_cases(enum edxbus__check kind, bool (*fast)(const char *, size_t),
                      const struct check_case *cases, size_t n)
{
    edxbus_avro_check_fn check = edxbus__check_fn(kind);
    for (size_t i = 0; i < n; i++) {
        const struct check_case *c = &cases[i];
        size_t len = c->len != 0 ? c->len : strlen(c->text);
        bool f = fast(c->text, len), v = check(c->text, len, NULL, 0);
        if (v != c->valid)
            TEST_FAIL_("%s \"%.*s\": check says %d, want %d", edxbus__check_name(kind), (int)len,
                       c->text, v, c->valid);
        if (f && !c->valid)
            TEST_FAIL_("%s \"%.*s\": the fast path accepts a refused value",
                       edxbus__check_name(kind), (int)len, c->text);
        if (c->common && !f)
            TEST_FAIL_("%s \"%.*s\": the fast path misses a common form", edxbus__check_name(kind),
                       (int)len, c->text);
    }
}

TEST(test_datetime_fast_path_edges)
{
    static const struct check_case cases[] = {
        {"2024-05-17T14:03:27", 0, true, true},
        {"2024-05-17T14:03:27+00:00", 0, true, true},
        {"2024-05-17T14:03:27.123456", 0, true, true},
        {"2024-05-17T14:03:27.123456+00:00", 0, true, true},
        {"9999-12-31T23:59:59.999999-23:59", 0, true, true},
        {"0001-01-01T00:00:00", 0, true, true},
        {"2024-02-29T00:00:00", 0, true, true}, /* leap years */
        {"2000-02-29T00:00:00", 0, true, true},
        {"1900-02-29T00:00:00", 0, false, false},
        {"2023-02-29T00:00:00", 0, false, false},
        {"2023-02-28T00:00:00", 0, true, true},
        {"2024-04-31T00:00:00", 0, false, false}, /* month lengths */
        {"2024-04-30T00:00:00", 0, true, true},
        {"2024-07-31T00:00:00", 0, true, true},
        {"2024-08-31T00:00:00", 0, true, true},
        {"2024-09-31T00:00:00", 0, false, false},
        {"2024-12-31T00:00:00", 0, true, true},
        {"2024-12-32T00:00:00", 0, false, false},
        {"2024-00-10T00:00:00", 0, false, false},
        {"2024-13-10T00:00:00", 0, false, false},
        {"2024-20-10T00:00:00", 0, false, false},
        {"2024-01-00T00:00:00", 0, false, false},
        {"2024-01-40T00:00:00", 0, false, false},
        {"0000-01-01T00:00:00", 0, false, false},
        {"2024-01-01T24:00:00", 0, false, false},
        {"2024-01-01T30:00:00", 0, false, false},
        {"2024-01-01T23:60:00", 0, false, false},
        {"2024-01-01T23:59:60", 0, false, false},
        {"2024-01-01T00:00:00+24:00", 0, false, false},
        {"2024-01-01T00:00:00+23:60", 0, false, false},
        {"2024-01-01T00:00:00,05:00", 0, false, false}, /* between '+' and '-' */
        {"2024-01-01T00:00:00*05:00", 0, false, false},
        {"2024-01-01T00:00:00+05:30:15", 0, true, false}, /* seconds in the offset: full only */
        {"2024-01-01T00:00:00.12345+00:00", 0, false, false},
        {"2024-01-01T00:00:00.1234567", 0, false, false},
        {"2024-01-01T00:00:00Z", 0, false, false},
        {"2024-01-01 00:00:00", 0, false, false},
        {"2024-01-01T00:00:0a", 0, false, false},
        {"2024-01-01T00:00:00.12345a", 0, false, false},
        {"2024-01-01T00:00:00\xb0", 0, false, false},
        {"2024/01/01T00:00:00", 0, false, false},
        {"2024-01-01T00:00:00\0", 20, false, false},
        {"2024-01-01", 0, false, false},
    };
    run_cases(EDXBUS__CHECK_DATETIME, edxbus__datetime_fast, cases, sizeof cases / sizeof cases[0]);
}

TEST(test_course_key_fast_path_edges)
{
    static const struct check_case cases[] = {
        {"course-v1:edX+DemoX+Demo_Course", 0, true, true},
        {"course-v1:a+b+c", 0, true, true},             /* scalar: 5 bytes of parts */
        {"course-v1:ab+c+d", 0, true, true},            /* 6: one 16-byte piece */
        {"course-v1:abcdefgh+ijklmn+o", 0, true, true}, /* 17: two pieces */
        {"course-v1:abcdefghijk+lmnopqrstuvwxy+zzzzz", 0, true, true},  /* 32 */
        {"course-v1:abcdefghijk+lmnopqrstuvwxy+zzzzzz", 0, true, true}, /* 33: scalar */
        {"course-v1:Open_edX+CS-101+2024.T1~a:b", 0, true, true},
        {"course-v1:\xc3\xa9"
         "cole+CS+2024",
         0, true, true}, /* non-ASCII is a word byte */
        {"course-v1:a+b", 0, false, false},
        {"course-v1:a+b+c+d", 0, false, false},
        {"course-v1:+a+b", 0, false, false},
        {"course-v1:a++b", 0, false, false},
        {"course-v1:a+b+", 0, false, false},
        {"course-v1:abcdefgh+ijklmnop+", 0, false, false},
        {"course-v1:+abcdefgh+ijklmnop", 0, false, false},
        {"course-v1:abcdefgh++ijklmnop", 0, false, false},
        {"course-v1:a/b+c+d", 0, false, false},
        {"course-v1:a b+c+d", 0, false, false},
        {"course-v1:abcdefghijklmn+c+d%", 0, false, false},
        {"course-v1:a+b+c\0", 16, false, false},
        {"course-v1:abcdefghij+b+c\0", 25, false, false},
        {"course-v1:a+b+c+branch@draft", 0, true, false}, /* tags: full only */
        {"course-v1:a+b+c+version@0123456789abcdef01234567", 0, true, false},
        {"course-v1:a+b+c+ccx@1", 0, false, false},
        {"Course-v1:a+b+c", 0, false, false},
        {"edX/DemoX/Demo_Course", 0, true, false}, /* other forms: full only */
        {"library-v1:edX+Lib", 0, true, false},
        {"ccx-v1:edX+DemoX+Demo_Course+ccx@3", 0, true, false},
    };
    run_cases(EDXBUS__CHECK_COURSE_KEY, edxbus__course_key_fast, cases,
              sizeof cases / sizeof cases[0]);
}

static bool real_date(int y, int m, int d)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return y >= 1 && m >= 1 && m <= 12 && d >= 1 && d <= days[m - 1] + (m == 2 && leap);
}

/* Every day of five centuries and every hour/minute pair, against the calendar worked out here
 * (the check runs the fast path first, so it cannot be the reference for it). */
TEST(test_datetime_fast_path_on_every_day_and_time)
{
    edxbus_avro_check_fn check = edxbus__check_fn(EDXBUS__CHECK_DATETIME);
    char buf[64];
    for (int y = 0; y <= 2404; y += y < 1896 ? 299 : 1) {
        for (int m = 0; m <= 13; m++) {
            for (int d = 0; d <= 32; d++) {
                int n = snprintf(buf, sizeof buf, "%04d-%02d-%02dT12:34:56.000001+05:30", y, m, d);
                bool want = real_date(y, m, d);
                if (edxbus__datetime_fast(buf, (size_t)n) != want ||
                    check(buf, (size_t)n, NULL, 0) != want)
                    TEST_FAIL_("%s: want %d", buf, want);
            }
        }
    }
    for (int h = 0; h <= 99; h++) {
        for (int mi = 0; mi <= 99; mi++) {
            int n =
                snprintf(buf, sizeof buf, "2024-05-17T%02d:%02d:%02d-%02d:%02d", h, mi, mi, h, mi);
            bool want = h <= 23 && mi <= 59;
            if (edxbus__datetime_fast(buf, (size_t)n) != want ||
                check(buf, (size_t)n, NULL, 0) != want)
                TEST_FAIL_("%s: want %d", buf, want);
        }
    }
}

int main(void)
{
    RUN(test_datetime_fast_path_edges);
    RUN(test_course_key_fast_path_edges);
    RUN(test_datetime_fast_path_on_every_day_and_time);
    return test_report();
}
