/* bench/bench_typed.c — the typed API against a hand-written ceiling and avro-c, on the
 * enrollment event (org.openedx.learning.course.enrollment.created.v1, the "realistic" vector).
 *
 * Rows (ns/event, best of 5 rounds, each op checked once against the vector's bytes first):
 *   typed encode            edxbus_course_enrollment_created_encode(): UTF-8 and custom-type
 *                           checks (course key, datetimes) on, as the bus sends
 *   typed encode no checks  the same with EDXBUS_AVRO_NO_CHECKS (UTF-8 still checked)
 *   ceiling encode          hand-written straight-line writer from the same struct: one reserve,
 *                           inline varints and memcpy, no validation at all
 *   avro-c encode           avro-c generic value filled from the plain JSON form, then written
 *   typed decode            edxbus_course_enrollment_created_decode() into a reset arena
 *   ceiling decode          hand-written reader: bounds check per read, strings borrowed, no
 *                           UTF-8 check, no error text
 *   avro-c decode           avro_value_read() into a reused generic value
 * Then `ratio <name> <value>` lines: typed time / ceiling time (the targets are 1.5 for encode
 * with the checks on and 2 for decode) and avro-c time / typed time.
 *
 * The ceilings check only what keeps them in bounds, while the typed rows check everything the
 * bus does (UTF-8 of every string; on encode also three datetimes and a course key), so the
 * ratios are conservative: kept that way rather than by slowing the ceilings down.
 * `bench_typed "typed encode"` times one row only, 20 times longer, for perf.
 */
#include <avro.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "avro/binary.h"
#include "edxbus/catalog.h"
#include "edxbus/events.h"

#define TYPE "org.openedx.learning.course.enrollment.created.v1"

static void die(const char *what, const char *detail)
{
    fprintf(stderr, "bench_typed: %s: %s\n", what, detail ? detail : "");
    exit(1);
}

static struct edxbus_course_enrollment_created_data data, decoded;
static uint8_t want[1024];
static size_t want_len;
static struct edxbus_buf buf = EDXBUS_BUF_INIT;
static struct edxbus_arena arena;
static avro_value_iface_t *ac_iface;
static avro_value_t ac_value;
static avro_writer_t ac_writer;
static avro_reader_t ac_reader;
static char ac_wbuf[4096];
static json_t *json_data;

/* ---------------------------------------------------------------------------------------------
 * The ceiling: what a careful programmer writes by hand for this one event
 * ------------------------------------------------------------------------------------------- */

static inline uint8_t *put_str(uint8_t *w, struct edxbus_str s)
{
    w += edxbus__varint_put(w, (int64_t)s.len);
    memcpy(w, s.ptr, s.len);
    return w + s.len;
}

static inline uint8_t *put_user(uint8_t *w, const struct edxbus_user_data *u)
{
    w += edxbus__varint_put(w, u->id);
    *w++ = u->is_active;
    w = put_str(w, u->pii.username);
    w = put_str(w, u->pii.email);
    return put_str(w, u->pii.name);
}

static int ceiling_encode(void)
{
    const struct edxbus_course_enrollment_data *e = &data.enrollment;
    const struct edxbus_learning_course_data *c = &e->course;
    size_t need = 80 + e->user.pii.username.len + e->user.pii.email.len + e->user.pii.name.len +
                  c->course_key.len + c->display_name.len + c->start.len + c->end.len +
                  e->mode.len + e->creation_date.len +
                  (e->has_created_by ? 40 + e->created_by.pii.username.len +
                                           e->created_by.pii.email.len + e->created_by.pii.name.len
                                     : 0);
    buf.len = 0;
    if (buf.cap < need && edxbus_buf_reserve(&buf, need) != EDXBUS_OK)
        return -1;
    uint8_t *w = buf.data;
    w = put_user(w, &e->user);
    w = put_str(w, c->course_key);
    w = put_str(w, c->display_name);
    *w++ = c->has_start ? 2 : 0;
    if (c->has_start)
        w = put_str(w, c->start);
    *w++ = c->has_end ? 2 : 0;
    if (c->has_end)
        w = put_str(w, c->end);
    w = put_str(w, e->mode);
    *w++ = e->is_active;
    w = put_str(w, e->creation_date);
    *w++ = e->has_created_by ? 2 : 0;
    if (e->has_created_by)
        w = put_user(w, &e->created_by);
    buf.len = (size_t)(w - buf.data);
    return 0;
}

struct rd {
    const uint8_t *p, *end;
};

static inline bool get_long(struct rd *r, int64_t *out)
{
    if (r->p < r->end && r->p[0] < 0x80) {
        *out = edxbus__zigzag_decode(*r->p++);
        return true;
    }
    size_t used;
    if (edxbus__varint_get(r->p, r->end, out, &used) != EDXBUS_VARINT_OK)
        return false;
    r->p += used;
    return true;
}

static inline bool get_bool(struct rd *r, bool *out)
{
    if (r->p >= r->end || *r->p > 1)
        return false;
    *out = *r->p++;
    return true;
}

static inline bool get_str(struct rd *r, struct edxbus_str *s)
{
    int64_t n;
    if (!get_long(r, &n) || n < 0 || n > r->end - r->p)
        return false;
    s->ptr = (const char *)r->p;
    s->len = (size_t)n;
    r->p += n;
    return true;
}

static inline bool get_opt(struct rd *r, bool *has)
{
    int64_t b;
    if (!get_long(r, &b) || (b != 0 && b != 1))
        return false;
    *has = b == 1;
    return true;
}

static inline bool get_user(struct rd *r, struct edxbus_user_data *u)
{
    return get_long(r, &u->id) && get_bool(r, &u->is_active) && get_str(r, &u->pii.username) &&
           get_str(r, &u->pii.email) && get_str(r, &u->pii.name);
}

static int ceiling_decode(void)
{
    struct rd r = {want, want + want_len};
    struct edxbus_course_enrollment_data *e = &decoded.enrollment;
    struct edxbus_learning_course_data *c = &e->course;
    if (!get_user(&r, &e->user) || !get_str(&r, &c->course_key) || !get_str(&r, &c->display_name) ||
        !get_opt(&r, &c->has_start) || (c->has_start && !get_str(&r, &c->start)) ||
        !get_opt(&r, &c->has_end) || (c->has_end && !get_str(&r, &c->end)) ||
        !get_str(&r, &e->mode) || !get_bool(&r, &e->is_active) || !get_str(&r, &e->creation_date) ||
        !get_opt(&r, &e->has_created_by) || (e->has_created_by && !get_user(&r, &e->created_by)))
        return -1;
    return r.p == r.end ? 0 : -1;
}

/* ---------------------------------------------------------------------------------------------
 * The others
 * ------------------------------------------------------------------------------------------- */

static int typed_encode(void)
{
    buf.len = 0;
    return edxbus_course_enrollment_created_encode(&data, 0, &buf, NULL, 0);
}

static int typed_encode_nochecks(void)
{
    buf.len = 0;
    return edxbus_course_enrollment_created_encode(&data, EDXBUS_AVRO_NO_CHECKS, &buf, NULL, 0);
}

static int typed_decode(void)
{
    edxbus_arena_reset(&arena);
    return edxbus_course_enrollment_created_decode(want, want_len, &arena, &decoded, NULL, 0);
}

static int ac_fill(avro_value_t *v, json_t *j)
{
    const char *key;
    json_t *child;
    avro_value_t sub;
    switch (avro_value_get_type(v)) {
    case AVRO_NULL:
        return avro_value_set_null(v);
    case AVRO_BOOLEAN:
        return avro_value_set_boolean(v, json_is_true(j));
    case AVRO_INT64:
        return avro_value_set_long(v, json_integer_value(j));
    case AVRO_STRING: /* the size counts the NUL */
        return avro_value_set_string_len(v, json_string_value(j), json_string_length(j) + 1);
    case AVRO_RECORD:
        json_object_foreach(j, key, child)
        {
            if (avro_value_get_by_name(v, key, &sub, NULL) != 0 || ac_fill(&sub, child) != 0)
                return -1;
        }
        return 0;
    case AVRO_UNION: {
        int branch = json_is_null(j) ? 0 : 1;
        if (avro_value_set_branch(v, branch, &sub) != 0)
            return -1;
        return ac_fill(&sub, j);
    }
    default:
        return -1;
    }
}

static int avroc_encode(void)
{
    if (avro_value_reset(&ac_value) != 0 || ac_fill(&ac_value, json_data) != 0)
        return -1;
    avro_writer_memory_set_dest(ac_writer, ac_wbuf, sizeof ac_wbuf);
    return avro_value_write(ac_writer, &ac_value);
}

static int avroc_decode(void)
{
    avro_reader_memory_set_source(ac_reader, (const char *)want, (int64_t)want_len);
    return avro_value_read(ac_reader, &ac_value);
}

/* ---------------------------------------------------------------------------------------------
 * Timing (as bench_avro.c: the fastest of 5 rounds, since noise only ever adds time)
 * ------------------------------------------------------------------------------------------- */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* `bench_typed "ROW"` times only the row named ROW, 20 times longer (for perf). */
static const char *g_only;

static double measure(const char *name, int (*op)(void))
{
    int rounds = 5;
    if (g_only != NULL) {
        if (strcmp(name, g_only) != 0)
            return 0;
        rounds = 100;
    }
    for (int i = 0; i < 2000; i++) {
        if (op() != 0)
            die("failed while warming up", name);
    }
    double best = 0;
    for (int round = 0; round < rounds; round++) {
        uint64_t batch = 1 << 16;
        double t0 = now_s();
        for (uint64_t i = 0; i < batch; i++) {
            if (op() != 0)
                die("failed while timed", name);
        }
        double ns = (now_s() - t0) * 1e9 / (double)batch;
        if (round == 0 || ns < best)
            best = ns;
    }
    printf("%-26s %9.1f %12.0f\n", name, best, 1e9 / best);
    return best;
}

static void check_bytes(const char *name, const uint8_t *p, size_t n)
{
    if (n != want_len || memcmp(p, want, n) != 0)
        die("bytes differ from the vector", name);
}

static void load(void)
{
    char path[512];
    snprintf(path, sizeof path, "%s/avro.jsonl", EDXBUS_TEST_DATA_DIR);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        die("cannot open", path);
    static char line[1 << 20];
    json_t *row = NULL;
    while (fgets(line, sizeof line, f) != NULL) {
        json_t *r = json_loads(line, 0, NULL);
        const char *type = json_string_value(json_object_get(r, "event_type"));
        const char *cas = json_string_value(json_object_get(r, "case"));
        if (type && cas && strcmp(type, TYPE) == 0 && strcmp(cas, "realistic") == 0) {
            row = r;
            break;
        }
        json_decref(r);
    }
    fclose(f);
    if (row == NULL)
        die("no realistic enrollment vector in", path);
    const char *hex = json_string_value(json_object_get(row, "avro_hex"));
    want_len = strlen(hex) / 2;
    for (size_t i = 0; i < want_len; i++) {
        unsigned v;
        sscanf(hex + 2 * i, "%2x", &v);
        want[i] = (uint8_t)v;
    }
    json_data = json_deep_copy(json_object_get(row, "data"));
    json_decref(row);
    char errstr[EDXBUS_ERRSTR_SIZE];
    if (edxbus_course_enrollment_created_from_json(json_data, &arena, &data, errstr,
                                                   sizeof errstr) != EDXBUS_OK)
        die("from_json", errstr);
}

/* A ratio line, when both rows ran. */
static void ratio(const char *name, double a, double b)
{
    if (a > 0 && b > 0)
        printf("ratio %s %.2f\n", name, a / b);
}

int main(int argc, char **argv)
{
    if (argc > 2) {
        fprintf(stderr, "usage: bench_typed [ROW]\n");
        return 2;
    }
    g_only = argc == 2 ? argv[1] : NULL;
    edxbus_arena_init(&arena, NULL, 0);
    load();
    edxbus_catalog_t *cat = edxbus_catalog_new();
    const char *schema = edxbus_event_type_schema_text(edxbus_catalog_find(cat, TYPE));
    avro_schema_t ac_schema;
    if (avro_schema_from_json_length(schema, strlen(schema), &ac_schema) != 0)
        die("avro-c schema", avro_strerror());
    ac_iface = avro_generic_class_from_schema(ac_schema);
    if (ac_iface == NULL || avro_generic_value_new(ac_iface, &ac_value) != 0)
        die("avro-c value", avro_strerror());
    ac_writer = avro_writer_memory(ac_wbuf, sizeof ac_wbuf);
    ac_reader = avro_reader_memory((const char *)want, (int64_t)want_len);

    /* every contender produces the vector's bytes / value before it is timed */
    struct edxbus_arena keep;
    edxbus_arena_init(&keep, NULL, 0);
    if (typed_encode() != 0)
        die("typed encode", "");
    check_bytes("typed encode", buf.data, buf.len);
    if (ceiling_encode() != 0)
        die("ceiling encode", "");
    check_bytes("ceiling encode", buf.data, buf.len);
    if (avroc_encode() != 0)
        die("avro-c encode", avro_strerror());
    check_bytes("avro-c encode", (const uint8_t *)ac_wbuf, (size_t)avro_writer_tell(ac_writer));
    if (typed_decode() != 0 || ceiling_decode() != 0 || avroc_decode() != 0)
        die("a decoder refused the vector", "");
    buf.len = 0;
    if (edxbus_course_enrollment_created_encode(&decoded, 0, &buf, NULL, 0) != 0)
        die("re-encode", "");
    check_bytes("decoded, re-encoded", buf.data, buf.len);

    printf("enrollment event, %zu bytes\n%-26s %9s %12s\n", want_len, "operation", "ns/event",
           "events/s");
    double te = measure("typed encode", typed_encode);
    double ten = measure("typed encode no checks", typed_encode_nochecks);
    double ce = measure("ceiling encode", ceiling_encode);
    double ae = measure("avro-c encode", avroc_encode);
    double td = measure("typed decode", typed_decode);
    double cd = measure("ceiling decode", ceiling_decode);
    double ad = measure("avro-c decode", avroc_decode);
    ratio("typed_encode_vs_ceiling", te, ce);
    ratio("typed_encode_nochecks_vs_ceiling", ten, ce);
    ratio("typed_decode_vs_ceiling", td, cd);
    ratio("avroc_encode_vs_typed", ae, te);
    ratio("avroc_decode_vs_typed", ad, td);

    avro_value_decref(&ac_value);
    avro_value_iface_decref(ac_iface);
    avro_schema_decref(ac_schema);
    avro_writer_free(ac_writer);
    avro_reader_free(ac_reader);
    edxbus_arena_fini(&keep);
    edxbus_arena_fini(&arena);
    edxbus_buf_fini(&buf);
    json_decref(json_data);
    edxbus_catalog_destroy(cat);
    return 0;
}
