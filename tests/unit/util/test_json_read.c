/* edxbus_json_loadb(): U+0000 and every code point in strings, NaN / Infinity / -Infinity as
 * Python's json writes them (and only where a value stands), hostile text, one-line errors that
 * never name a jansson flag. */
#include <math.h>

#include "edxbus/json.h"
#include "test.h"

static json_t *load(const char *text, unsigned flags, char *err, size_t size)
{
    return edxbus_json_loadb(text, strlen(text), flags, err, size);
}

TEST(test_nul_and_control_characters_kept_byte_for_byte)
{
    char err[256];
    json_t *v = load("{\"s\": \"a\\u0000b\\u0001\\u001f\\n\"}", 0, err, sizeof err);
    ASSERT_TRUE(v != NULL);
    json_t *s = json_object_get(v, "s");
    ASSERT_EQ_UINT(json_string_length(s), 6);
    ASSERT_TRUE(memcmp(json_string_value(s), "a\0b\x01\x1f\n", 6) == 0);
    json_decref(v);
}

TEST(test_non_bmp_characters_from_surrogate_pairs_and_raw_utf8)
{
    char err[256];
    json_t *v = load("[\"\\ud83d\\ude00\", \"\xf0\x9f\x98\x80\", \"\\udbff\\udfff\"]", 0, err,
                     sizeof err);
    ASSERT_TRUE(v != NULL);
    ASSERT_EQ_STR(json_string_value(json_array_get(v, 0)), "\xf0\x9f\x98\x80");
    ASSERT_EQ_STR(json_string_value(json_array_get(v, 1)), "\xf0\x9f\x98\x80");
    ASSERT_EQ_STR(json_string_value(json_array_get(v, 2)), "\xf4\x8f\xbf\xbf");
    json_decref(v);
}

TEST(test_nan_and_infinities_where_values_stand)
{
    char err[256];
    json_t *v = load("{\"a\": NaN, \"b\": [Infinity, -Infinity, 1.5, NaN], \"c\": {\"d\": -Infinity}}",
                     0, err, sizeof err);
    ASSERT_TRUE(v != NULL);
    double d = 0;
    ASSERT_TRUE(edxbus_json_is_nonfinite(json_object_get(v, "a"), &d) && isnan(d));
    json_t *b = json_object_get(v, "b");
    ASSERT_TRUE(edxbus_json_number(json_array_get(b, 0), &d) && isinf(d) && d > 0);
    ASSERT_TRUE(edxbus_json_number(json_array_get(b, 1), &d) && isinf(d) && d < 0);
    ASSERT_TRUE(edxbus_json_number(json_array_get(b, 2), &d) && d == 1.5);
    ASSERT_TRUE(edxbus_json_is_nonfinite(json_array_get(b, 3), &d) && isnan(d));
    ASSERT_TRUE(edxbus_json_is_nonfinite(json_object_get(json_object_get(v, "c"), "d"), &d) &&
                d < 0);
    json_decref(v);
    v = load("NaN", EDXBUS_JSON_ANY, err, sizeof err);
    ASSERT_TRUE(edxbus_json_is_nonfinite(v, &d) && isnan(d));
    json_decref(v);
}

/* The strings "NaN", "Infinity" and the stand-ins the pre-pass writes ("N", "Infini") stay
 * strings, whatever their order against the words. */
TEST(test_strings_that_read_like_the_words_stay_strings)
{
    char err[256];
    json_t *v = load("[\"N\", NaN, \"NaN\", \"Infini\", Infinity, \"-Infini\", \"Infinity\", "
                     "{\"N\": \"N\", \"x\": -Infinity, \"Infini\": \"-Infini\"}]",
                     0, err, sizeof err);
    ASSERT_TRUE(v != NULL);
    ASSERT_EQ_STR(json_string_value(json_array_get(v, 0)), "N");
    ASSERT_TRUE(edxbus_json_is_nonfinite(json_array_get(v, 1), NULL));
    ASSERT_EQ_STR(json_string_value(json_array_get(v, 2)), "NaN");
    ASSERT_EQ_STR(json_string_value(json_array_get(v, 3)), "Infini");
    ASSERT_TRUE(edxbus_json_is_nonfinite(json_array_get(v, 4), NULL));
    ASSERT_EQ_STR(json_string_value(json_array_get(v, 5)), "-Infini");
    ASSERT_EQ_STR(json_string_value(json_array_get(v, 6)), "Infinity");
    json_t *o = json_array_get(v, 7);
    ASSERT_EQ_STR(json_string_value(json_object_get(o, "N")), "N");
    ASSERT_TRUE(edxbus_json_is_nonfinite(json_object_get(o, "x"), NULL));
    ASSERT_EQ_STR(json_string_value(json_object_get(o, "Infini")), "-Infini");
    json_decref(v);
    /* a string holding the word with escapes and quotes around it */
    v = load("{\"k\": \"say \\\"NaN\\\", NaN\", \"n\": NaN}", 0, err, sizeof err);
    ASSERT_TRUE(v != NULL);
    ASSERT_EQ_STR(json_string_value(json_object_get(v, "k")), "say \"NaN\", NaN");
    ASSERT_TRUE(edxbus_json_is_nonfinite(json_object_get(v, "n"), NULL));
    json_decref(v);
}

TEST(test_words_in_key_position_or_glued_are_refused)
{
    char err[256];
    const char *bad[] = {"{NaN: 1}",     "{\"a\": 1, NaN: 2}", "[NaNx]", "[Infinityy]",
                         "[-Infinity2]", "[nan]",             "[+Infinity]", "[NaN NaN]",
                         "{\"a\": NaN,}", "[1, 2] NaN"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        json_t *v = load(bad[i], 0, err, sizeof err);
        if (v != NULL)
            TEST_FAIL_("accepted %s", bad[i]);
        ASSERT_CONTAINS(err, "line 1, column ");
        ASSERT_TRUE(strchr(err, '\n') == NULL);
    }
}

TEST(test_errors_keep_the_users_columns_and_never_name_flags)
{
    char err[256];
    ASSERT_TRUE(load("[NaN,\n  Infinity 2]", 0, err, sizeof err) == NULL);
    ASSERT_CONTAINS(err, "line 2, column");
    ASSERT_TRUE(strstr(err, "JSON_") == NULL);
    ASSERT_TRUE(load("{\"a\\u0000\": 1}", 0, err, sizeof err) == NULL);
    ASSERT_CONTAINS(err, "an object key cannot hold U+0000");
    ASSERT_TRUE(strstr(err, "JSON_") == NULL);
    ASSERT_TRUE(load("[99999999999999999999]", 0, err, sizeof err) == NULL);
    ASSERT_CONTAINS(err, "line 1, column 2: integer 99999999999999999999 is outside");
    ASSERT_TRUE(load("[1e999]", 0, err, sizeof err) == NULL);
    ASSERT_CONTAINS(err, "number 1e999 is outside the range of a double");
    /* a NUL byte in the text itself (not the \u0000 escape) */
    ASSERT_TRUE(edxbus_json_loadb("[\"a\0\"]", 6, 0, err, sizeof err) == NULL);
    ASSERT_TRUE(strstr(err, "JSON_") == NULL);
}

TEST(test_duplicate_keys)
{
    char err[256];
    json_t *v = load("{\"a\": 1, \"a\": 2}", 0, err, sizeof err);
    ASSERT_TRUE(v != NULL); /* as Python: the last wins */
    ASSERT_EQ_INT(json_integer_value(json_object_get(v, "a")), 2);
    json_decref(v);
    ASSERT_TRUE(load("{\"a\": 1, \"a\": 2}", EDXBUS_JSON_NO_DUPLICATES, err, sizeof err) == NULL);
    /* with a word in the text a repeated key is refused rather than risk a misplaced NaN */
    ASSERT_TRUE(load("{\"a\": NaN, \"a\": \"N\"}", 0, err, sizeof err) == NULL);
    ASSERT_CONTAINS(err, "repeats a key");
}

TEST(test_top_level_and_depth)
{
    char err[256];
    ASSERT_TRUE(load("\"x\"", 0, err, sizeof err) == NULL); /* objects and arrays only */
    json_t *v = load("\"x\"", EDXBUS_JSON_ANY, err, sizeof err);
    ASSERT_EQ_STR(json_string_value(v), "x");
    json_decref(v);
    /* deeper than jansson allows, with words inside: refused, no crash */
    size_t n = 5000;
    char *deep = malloc(2 * n + 8);
    memset(deep, '[', n);
    memcpy(deep + n, "NaN", 3);
    memset(deep + n + 3, ']', n);
    ASSERT_TRUE(edxbus_json_loadb(deep, 2 * n + 3, 0, err, sizeof err) == NULL);
    free(deep);
    /* deep but allowed */
    n = 1000;
    deep = malloc(2 * n + 8);
    memset(deep, '[', n);
    memcpy(deep + n, "NaN", 3);
    memset(deep + n + 3, ']', n);
    v = edxbus_json_loadb(deep, 2 * n + 3, 0, err, sizeof err);
    free(deep);
    ASSERT_TRUE(v != NULL);
    json_t *in = v;
    for (size_t i = 1; i < n; i++)
        in = json_array_get(in, 0);
    ASSERT_TRUE(edxbus_json_is_nonfinite(json_array_get(in, 0), NULL));
    json_decref(v);
}

TEST(test_double_constructor_and_number)
{
    json_t *v = edxbus_json_double(2.5);
    ASSERT_TRUE(json_is_real(v));
    json_decref(v);
    double d;
    v = edxbus_json_double(-INFINITY);
    ASSERT_TRUE(edxbus_json_number(v, &d) && isinf(d) && d < 0);
    json_decref(v);
    v = json_integer(3);
    ASSERT_TRUE(edxbus_json_number(v, &d) && d == 3);
    json_decref(v);
    v = json_pack("{s:s}", "NaN", "NaN"); /* an ordinary object is no marker */
    ASSERT_TRUE(!edxbus_json_number(v, &d));
    json_decref(v);
    v = json_string("NaN");
    ASSERT_TRUE(!edxbus_json_number(v, &d));
    json_decref(v);
}

int main(void)
{
    RUN(test_nul_and_control_characters_kept_byte_for_byte);
    RUN(test_non_bmp_characters_from_surrogate_pairs_and_raw_utf8);
    RUN(test_nan_and_infinities_where_values_stand);
    RUN(test_strings_that_read_like_the_words_stay_strings);
    RUN(test_words_in_key_position_or_glued_are_refused);
    RUN(test_errors_keep_the_users_columns_and_never_name_flags);
    RUN(test_duplicate_keys);
    RUN(test_top_level_and_depth);
    RUN(test_double_constructor_and_number);
    return test_report();
}
