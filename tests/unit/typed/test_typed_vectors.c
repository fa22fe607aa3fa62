/* Every reference payload (tests/vectors/avro.jsonl) through the typed API: from_json then the
 * straight-line encoder gives exactly avro_hex, and the straight-line decoder's struct, turned
 * back into JSON, is exactly `decoded`. Also: every serializable built-in event has a typed
 * codec, and the descriptors are sorted and found by name. */
#include "edxbus/catalog.h"
#include "test.h"
#include "typed_test_util.h"

TEST(test_every_serializable_event_has_a_typed_codec)
{
    edxbus_catalog_t *cat = edxbus_catalog_new();
    size_t serializable = 0;
    for (size_t i = 0; i < edxbus_catalog_count(cat); i++) {
        const edxbus_event_type_t *et = edxbus_catalog_at(cat, i);
        const struct edxbus_typed_event *tev = edxbus_typed_find(edxbus_event_type_name(et));
        if (edxbus_event_type_is_serializable(et)) {
            serializable++;
            if (tev == NULL)
                TEST_FAIL_("%s: no typed codec", edxbus_event_type_name(et));
            ASSERT_EQ_STR(tev->signal, edxbus_event_type_signal(et));
        } else {
            ASSERT_TRUE(tev == NULL);
        }
    }
    ASSERT_EQ_INT(edxbus_typed_count(), serializable);
    ASSERT_EQ_INT(serializable, 72);
    for (size_t i = 1; i < edxbus_typed_count(); i++)
        ASSERT_TRUE(strcmp(edxbus_typed_at(i - 1)->event_type, edxbus_typed_at(i)->event_type) < 0);
    ASSERT_TRUE(edxbus_typed_at(edxbus_typed_count()) == NULL);
    ASSERT_TRUE(edxbus_typed_find("org.openedx.nope.v1") == NULL);
    ASSERT_TRUE(edxbus_typed_find("org.openedx.learning.course.enrollment.created.v1") ==
                &edxbus_course_enrollment_created_event);
    edxbus_catalog_destroy(cat);
}

TEST(test_every_vector_through_the_typed_codecs)
{
    json_t *rows = typed_load_vectors();
    ASSERT_TRUE(rows != NULL);
    ASSERT_EQ_INT(json_array_size(rows), 216);
    struct edxbus_buf out = EDXBUS_BUF_INIT;
    struct edxbus_arena arena;
    edxbus_arena_init(&arena, NULL, 0);
    char errstr[EDXBUS_ERRSTR_SIZE];
    static char hex[1 << 20];
    static uint8_t bytes[1 << 19];
    _Alignas(16) static uint8_t data[4096];
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row)
    {
        const char *type = json_string_value(json_object_get(row, "event_type"));
        const char *cas = json_string_value(json_object_get(row, "case"));
        const char *want = json_string_value(json_object_get(row, "avro_hex"));
        const struct edxbus_typed_event *tev = edxbus_typed_find(type);
        if (tev == NULL)
            TEST_FAIL_("%s: no typed codec", type);
        ASSERT_TRUE(tev->size <= sizeof data);
        edxbus_arena_reset(&arena);
        edxbus_buf_reset(&out);
        if (tev->from_json(json_object_get(row, "data"), &arena, data, errstr, sizeof errstr) !=
            EDXBUS_OK)
            TEST_FAIL_("%s/%s: from_json: %s", type, cas, errstr);
        if (tev->encode(data, 0, &out, errstr, sizeof errstr) != EDXBUS_OK)
            TEST_FAIL_("%s/%s: encode: %s", type, cas, errstr);
        typed_to_hex(out.data, out.len, hex);
        if (strcmp(hex, want) != 0)
            TEST_FAIL_("%s/%s:\n  got:  %s\n  want: %s", type, cas, hex, want);

        size_t n = typed_from_hex(want, bytes);
        memset(data, 0xa5, sizeof data); /* nothing may be left unset */
        edxbus_arena_reset(&arena);
        if (tev->decode(bytes, n, &arena, data, errstr, sizeof errstr) != EDXBUS_OK)
            TEST_FAIL_("%s/%s: decode: %s", type, cas, errstr);
        json_t *back = tev->to_json(data);
        ASSERT_TRUE(back != NULL);
        if (!json_equal(back, json_object_get(row, "decoded"))) {
            char *got = json_dumps(back, JSON_SORT_KEYS);
            char *exp = json_dumps(json_object_get(row, "decoded"), JSON_SORT_KEYS);
            fprintf(stderr, "  got:  %s\n  want: %s\n", got, exp);
            free(got);
            free(exp);
            TEST_FAIL_("%s/%s: decoded value differs", type, cas);
        }
        /* decoded then re-encoded: the same bytes */
        edxbus_buf_reset(&out);
        if (tev->encode(data, 0, &out, errstr, sizeof errstr) != EDXBUS_OK)
            TEST_FAIL_("%s/%s: re-encode: %s", type, cas, errstr);
        ASSERT_EQ_INT(out.len, n);
        ASSERT_TRUE(memcmp(out.data, bytes, n) == 0);
        json_decref(back);
    }
    edxbus_arena_fini(&arena);
    edxbus_buf_fini(&out);
    json_decref(rows);
}

int main(void)
{
    RUN(test_every_serializable_event_has_a_typed_codec);
    RUN(test_every_vector_through_the_typed_codecs);
    return test_report();
}
