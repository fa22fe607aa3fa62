/* The typed and generic paths agree on random payloads. For every serializable event, values
 * are generated from its parsed schema (random strings with multibyte UTF-8 and NULs, longs over
 * all of int64, finite doubles, lists and maps of 0-4 items, optional fields present, null or
 * left out, custom-typed strings valid or, now and then, invalid), then:
 *   - generic encode and typed from_json + encode both succeed with identical bytes, or both
 *     refuse with EDXBUS_ERR_ENCODE and the same message (the same first failing field);
 *   - the typed decoder's struct, turned to JSON, equals the generic decoder's value;
 *   - and the typed decode of the bytes re-encodes to the same bytes.
 * The generator is seeded, so a failure repeats; the seed and event are printed. */
#include <stdbool.h>

#include "avro/avro_int.h"
#include "edxbus/catalog.h"
#include "test.h"
#include "typed_test_util.h"

static uint64_t rng_state;

static uint64_t rnd(void)
{
    /* xorshift64* */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ull;
}

static size_t pick(size_t n)
{
    return (size_t)(rnd() % n);
}

static const char *valid_for(const char *check)
{
    static const struct {
        const char *check;
        const char *values[3];
    } pools[] = {
        {"datetime", {"2024-05-17T14:03:27.123456+00:00", "1970-01-01T00:00:00+00:00",
                      "2023-12-31T23:59:59-05:30"}},
        {"UUID", {"123e4567-e89b-12d3-a456-426614174000", "00000000-0000-0000-0000-000000000000",
                  "ABCDEFAB-CDEF-ABCD-EFAB-CDEFABCDEFAB"}},
        {"CourseKey", {"course-v1:edX+DemoX+Demo_Course", "edX/DemoX/Demo_Course",
                       "course-v1:Org+C1+2024"}},
        {"UsageKey", {"block-v1:edX+DemoX+Demo_Course+type@problem+block@abc",
                      "lb:edX:lib1:problem:p1", "block-v1:Org+C1+2024+type@html+block@h1"}},
        {"LibraryLocatorV2", {"lib:edX:lib1", "lib:Org:slug-2", "lib:a:b"}},
        {"LibraryUsageLocatorV2", {"lb:edX:lib1:problem:p1", "lb:Org:s:html:h", "lb:a:b:c:d"}},
        {"LibraryCollectionLocator", {"lib-collection:edX:lib1:col1", "lib-collection:a:b:c",
                                      "lib-collection:O:s:x-1"}},
        {"LibraryContainerLocator", {"lct:edX:lib1:unit:u1", "lct:a:b:c:d", "lct:O:s:t:i"}},
        {"CCXLocator", {"ccx-v1:edX+DemoX+Demo_Course+ccx@3", "ccx-v1:a+b+c+ccx@1",
                        "ccx-v1:O+C+R+ccx@42"}},
    };
    for (size_t i = 0; i < sizeof pools / sizeof pools[0]; i++) {
        if (strcmp(pools[i].check, check) == 0)
            return pools[i].values[pick(3)];
    }
    return NULL;
}

static json_t *random_string(void)
{
    static const char *const parts[] = {"a", "Zed", " ", "é", "中文", "\xf0\x9f\x98\x80", "0",
                                        "\"", "\\", "\n", "edX+Demo", "longer piece of text"};
    char buf[256];
    size_t n = 0, k = pick(8);
    for (size_t i = 0; i < k; i++) {
        const char *p = parts[pick(sizeof parts / sizeof parts[0])];
        size_t len = strlen(p);
        if (n + len + 1 >= sizeof buf)
            break;
        memcpy(buf + n, p, len);
        n += len;
        if (pick(10) == 0)
            buf[n++] = '\0'; /* JSON strings may hold NUL; Avro strings too */
    }
    return json_stringn(buf, n);
}

static json_t *random_value(const struct edxbus_avro_node *node, const char *check, int *invalid);

static json_t *random_record(const struct edxbus_avro_node *node, int *invalid)
{
    json_t *obj = json_object();
    for (size_t i = 0; i < node->u.record.nfields; i++) {
        const struct edxbus_avro_field *f = &node->u.record.fields[i];
        const struct edxbus_avro_node *t = f->type;
        if (t->type == EDXBUS_AVRO_UNION) {
            size_t how = pick(3);
            if (how == 0)
                continue; /* left out: null */
            if (how == 1) {
                json_object_set_new(obj, f->name, json_null());
                continue;
            }
            t = t->u.uni.branches[1];
        }
        json_object_set_new(obj, f->name, random_value(t, f->check_name, invalid));
    }
    return obj;
}

static json_t *random_value(const struct edxbus_avro_node *node, const char *check, int *invalid)
{
    switch (node->type) {
    case EDXBUS_AVRO_RECORD:
        return random_record(node, invalid);
    case EDXBUS_AVRO_STRING:
        if (check != NULL) {
            if (pick(40) == 0) {
                (*invalid)++;
                return json_string("not a valid one");
            }
            return json_string(valid_for(check));
        }
        return random_string();
    case EDXBUS_AVRO_LONG:
    case EDXBUS_AVRO_INT: {
        static const json_int_t edges[] = {0, 1, -1, 63, 64, -64, -65, INT64_MAX, INT64_MIN};
        if (pick(3) == 0)
            return json_integer(edges[pick(sizeof edges / sizeof edges[0])]);
        int64_t v = (int64_t)(rnd() >> pick(64));
        return json_integer(pick(2) ? v : -v);
    }
    case EDXBUS_AVRO_BOOLEAN:
        return json_boolean(pick(2));
    case EDXBUS_AVRO_DOUBLE:
    case EDXBUS_AVRO_FLOAT: {
        static const double edges[] = {0.0, -0.0, 1.0, 0.1, -2.5, 1e300, -1e-300, 5e-324};
        if (pick(2) == 0)
            return json_real(edges[pick(sizeof edges / sizeof edges[0])]);
        if (pick(4) == 0)
            return json_integer((json_int_t)pick(1000)); /* an integer where a double goes */
        return json_real((double)(int64_t)rnd() / (double)(1 + pick(1000)));
    }
    case EDXBUS_AVRO_ARRAY: {
        json_t *arr = json_array();
        size_t n = pick(5);
        for (size_t i = 0; i < n; i++)
            json_array_append_new(arr, random_value(node->u.array.items, NULL, invalid));
        return arr;
    }
    case EDXBUS_AVRO_MAP: {
        json_t *obj = json_object();
        size_t n = pick(5);
        for (size_t i = 0; i < n; i++) {
            json_t *key = random_string();
            json_object_setn_new(obj, json_string_value(key), json_string_length(key),
                                 random_value(node->u.map.values, NULL, invalid));
            json_decref(key);
        }
        return obj;
    }
    default:
        return json_null();
    }
}

static void hexdump(const char *what, const uint8_t *p, size_t n)
{
    static char hex[1 << 16];
    typed_to_hex(p, n < 30000 ? n : 30000, hex);
    fprintf(stderr, "  %s: %s\n", what, hex);
}

TEST(test_typed_and_generic_agree_on_random_payloads)
{
    edxbus_catalog_t *cat = edxbus_catalog_new();
    struct edxbus_buf gen = EDXBUS_BUF_INIT, typ = EDXBUS_BUF_INIT;
    struct edxbus_arena arena;
    edxbus_arena_init(&arena, NULL, 0);
    char e1[EDXBUS_ERRSTR_SIZE], e2[EDXBUS_ERRSTR_SIZE];
    _Alignas(16) static uint8_t data[4096], data2[4096];
    size_t rounds = 0, refused = 0;
    for (uint64_t seed = 1; seed <= 60; seed++) {
        for (size_t i = 0; i < edxbus_typed_count(); i++) {
            const struct edxbus_typed_event *tev = edxbus_typed_at(i);
            const edxbus_event_type_t *et = edxbus_catalog_find(cat, tev->event_type);
            ASSERT_TRUE(et != NULL);
            const edxbus_avro_schema_t *schema = edxbus_event_type_schema(et);
            rng_state = seed * 0x9e3779b97f4a7c15ull + i;
            int invalid = 0;
            json_t *value = random_record(schema->root, &invalid);
            edxbus_buf_reset(&gen);
            edxbus_buf_reset(&typ);
            edxbus_arena_reset(&arena);
            edxbus_err_t g = edxbus_event_encode(et, value, 0, &gen, e1, sizeof e1);
            edxbus_err_t t = tev->from_json(value, &arena, data, e2, sizeof e2);
            if (t != EDXBUS_OK)
                TEST_FAIL_("seed %llu %s: from_json: %s", (unsigned long long)seed,
                           tev->event_type, e2);
            t = tev->encode(data, 0, &typ, e2, sizeof e2);
            if (g != t) {
                char *text = json_dumps(value, 0);
                fprintf(stderr, "  value: %s\n", text);
                free(text);
                TEST_FAIL_("seed %llu %s: generic %s (%s), typed %s (%s)",
                           (unsigned long long)seed, tev->event_type, edxbus_err2name(g), e1,
                           edxbus_err2name(t), e2);
            }
            rounds++;
            if (g != EDXBUS_OK) {
                ASSERT_EQ_INT(g, EDXBUS_ERR_ENCODE);
                /* the same words: the typed encoder checks a run of fields at once but still
                 * names the first failing field in schema order, as the generic one does */
                ASSERT_EQ_STR(e2, e1);
                ASSERT_TRUE(invalid > 0);
                ASSERT_EQ_INT(typ.len, 0); /* nothing half-written */
                refused++;
                json_decref(value);
                continue;
            }
            if (gen.len != typ.len || memcmp(gen.data, typ.data, gen.len) != 0) {
                hexdump("generic", gen.data, gen.len);
                hexdump("typed  ", typ.data, typ.len);
                TEST_FAIL_("seed %llu %s: bytes differ", (unsigned long long)seed,
                           tev->event_type);
            }
            json_t *gdec = NULL;
            if (edxbus_event_decode(et, gen.data, gen.len, &gdec, e1, sizeof e1) != EDXBUS_OK)
                TEST_FAIL_("seed %llu %s: generic decode: %s", (unsigned long long)seed,
                           tev->event_type, e1);
            if (tev->decode(gen.data, gen.len, &arena, data2, e2, sizeof e2) != EDXBUS_OK)
                TEST_FAIL_("seed %llu %s: typed decode: %s", (unsigned long long)seed,
                           tev->event_type, e2);
            json_t *tdec = tev->to_json(data2);
            ASSERT_TRUE(tdec != NULL);
            /* compared as text in insertion order: json_equal() looks keys up with strlen(),
             * which map keys holding NUL defeat */
            char *a = json_dumps(gdec, JSON_COMPACT), *b = json_dumps(tdec, JSON_COMPACT);
            ASSERT_TRUE(a != NULL && b != NULL);
            bool same = strcmp(a, b) == 0;
            if (!same)
                fprintf(stderr, "  generic: %s\n  typed:   %s\n", a, b);
            free(a);
            free(b);
            if (!same) {
                TEST_FAIL_("seed %llu %s: decoded values differ", (unsigned long long)seed,
                           tev->event_type);
            }
            edxbus_buf_reset(&typ);
            ASSERT_EQ_INT(tev->encode(data2, 0, &typ, e2, sizeof e2), EDXBUS_OK);
            ASSERT_TRUE(typ.len == gen.len && memcmp(typ.data, gen.data, gen.len) == 0);
            json_decref(gdec);
            json_decref(tdec);
            json_decref(value);
        }
    }
    fprintf(stderr, "  %zu random payloads, %zu refused by both paths\n", rounds, refused);
    ASSERT_TRUE(refused > 0);
    edxbus_arena_fini(&arena);
    edxbus_buf_fini(&gen);
    edxbus_buf_fini(&typ);
    edxbus_catalog_destroy(cat);
}

int main(void)
{
    RUN(test_typed_and_generic_agree_on_random_payloads);
    return test_report();
}
