/* bench/bench_avro.c — Avro encode and decode: edxbus against avro-c, side by side in one run.
 *
 * Two records from tests/vectors/avro.jsonl (case "realistic"): the enrollment-created event and
 * the catalog event with the largest encoding. For each, every implementation runs on the same
 * record from the same starting point:
 *   encode       in-memory json_t -> Avro bytes: edxbus_avro_encode; avro-c filling its generic
 *                value by field name (avro_value_get_by_name + set_*) and avro_value_write;
 *                edxbus_event_encode (with the catalog's checks of datetimes, keys...); and, for
 *                the enrollment only, a hand-written straight-line encoder from a C struct (the
 *                ceiling: no JSON, no schema walk).
 *   decode       Avro bytes -> in-memory value: edxbus_avro_decode to a json_t; avro-c's
 *                avro_value_read into a (reused) generic value.
 *   decode_text  Avro bytes -> JSON text: edxbus_avro_decode_to_text; avro-c decode followed by
 *                its avro_value_to_json.
 * Before timing, every implementation is checked on the record (bytes equal to the vector's
 * avro_hex, decoded values equal to its "decoded", avro-c's value written back to the same
 * bytes); the program aborts on any mismatch. Each measurement is a time-based loop on
 * CLOCK_MONOTONIC in five rounds, and the whole list is measured in PASSES passes; the fastest
 * round of all counts. Passes spread each measurement over the run, so a neighbour's burst on a
 * shared machine (a build, seconds long) spoils one pass, not the result. Output: a fixed-column
 * table (name, ns/event, events/s), then lines `ratio <name> <value>` where a value above 1 means
 * edxbus is that many times faster. Nothing here asserts on time.
 */
#include <avro.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "edxbus/avro.h"
#include "edxbus/catalog.h"

#define ENROLLMENT_TYPE "org.openedx.learning.course.enrollment.created.v1"
#define TARGET_SECONDS 0.25 /* per measurement and pass */
#define PASSES 3

static void die(const char *what, const char *detail)
{
    fprintf(stderr, "bench_avro: %s%s%s\n", what, detail != NULL ? ": " : "",
            detail != NULL ? detail : "");
    abort();
}

/* ---------------------------------------------------------------------------------------------
 * Vectors
 * ------------------------------------------------------------------------------------------- */

struct record {
    const char *label; /* "enrollment" */
    char type[128];    /* the event type */
    json_t *data;      /* the plain JSON form (borrowed from rows) */
    json_t *decoded;   /* what fastavro decodes (borrowed from rows) */
    uint8_t *bytes;    /* the reference encoding */
    size_t len;
    edxbus_avro_schema_t *schema;
    const edxbus_event_type_t *et; /* the catalog's descriptor */
    avro_schema_t ac_schema;
    avro_value_iface_t *ac_iface;
};

static json_t *load_rows(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        die("cannot open", path);
    json_t *rows = json_array();
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) > 0) {
        json_error_t jerr;
        json_t *row = json_loads(line, 0, &jerr);
        if (row == NULL)
            die("bad vector line", jerr.text);
        json_array_append_new(rows, row);
    }
    free(line);
    fclose(f);
    return rows;
}

static uint8_t *unhex(const char *hex, size_t *len)
{
    size_t n = strlen(hex) / 2;
    uint8_t *out = malloc(n + 1);
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1)
            die("bad avro_hex", hex);
        out[i] = (uint8_t)v;
    }
    *len = n;
    return out;
}

static const char *schema_text_of(json_t *schemas, const char *type)
{
    size_t i;
    json_t *row;
    json_array_foreach(schemas, i, row)
    {
        if (strcmp(json_string_value(json_object_get(row, "event_type")), type) == 0)
            return json_string_value(json_object_get(row, "schema_string"));
    }
    die("no schema for", type);
    return NULL;
}

static void record_init(struct record *rec, const char *label, json_t *row, json_t *schemas,
                        const edxbus_catalog_t *cat)
{
    rec->label = label;
    snprintf(rec->type, sizeof rec->type, "%s",
             json_string_value(json_object_get(row, "event_type")));
    rec->data = json_object_get(row, "data");
    rec->decoded = json_object_get(row, "decoded");
    rec->bytes = unhex(json_string_value(json_object_get(row, "avro_hex")), &rec->len);

    const char *text = schema_text_of(schemas, rec->type);
    char errstr[EDXBUS_ERRSTR_SIZE];
    rec->schema = edxbus_avro_schema_parse(text, strlen(text), errstr, sizeof errstr);
    if (rec->schema == NULL)
        die("edxbus cannot parse the schema", errstr);
    rec->et = edxbus_catalog_find(cat, rec->type);
    if (rec->et == NULL)
        die("not in the catalog", rec->type);
    if (avro_schema_from_json_length(text, strlen(text), &rec->ac_schema) != 0)
        die("avro-c cannot parse the schema", avro_strerror());
    rec->ac_iface = avro_generic_class_from_schema(rec->ac_schema);
    if (rec->ac_iface == NULL)
        die("avro-c generic class", avro_strerror());
}

static void record_fini(struct record *rec)
{
    free(rec->bytes);
    edxbus_avro_schema_destroy(rec->schema);
    avro_value_iface_decref(rec->ac_iface);
    avro_schema_decref(rec->ac_schema);
}

static void check_bytes(const char *who, const struct record *rec, const void *data, size_t len)
{
    if (len != rec->len || memcmp(data, rec->bytes, len) != 0) {
        fprintf(stderr, "bench_avro: %s: %zu bytes differ from the vector's %zu for %s\n", who, len,
                rec->len, rec->type);
        abort();
    }
}

/* ---------------------------------------------------------------------------------------------
 * avro-c: fill a generic value from the plain JSON form, by field name
 * ------------------------------------------------------------------------------------------- */

static int ac_fill(avro_value_t *v, json_t *j)
{
    const char *key;
    size_t i;
    json_t *child;
    avro_value_t sub;
    switch (avro_value_get_type(v)) {
    case AVRO_NULL:
        return avro_value_set_null(v);
    case AVRO_BOOLEAN:
        return avro_value_set_boolean(v, json_is_true(j));
    case AVRO_INT32:
        return avro_value_set_int(v, (int32_t)json_integer_value(j));
    case AVRO_INT64:
        return avro_value_set_long(v, json_integer_value(j));
    case AVRO_FLOAT:
        return avro_value_set_float(v, (float)json_number_value(j));
    case AVRO_DOUBLE:
        return avro_value_set_double(v, json_number_value(j));
    case AVRO_STRING: /* the size counts the NUL */
        return avro_value_set_string_len(v, json_string_value(j), json_string_length(j) + 1);
    case AVRO_BYTES:
        return avro_value_set_bytes(v, (void *)json_string_value(j), json_string_length(j));
    case AVRO_ENUM:
        return avro_value_set_enum(
            v, avro_schema_enum_get_by_name(avro_value_get_schema(v), json_string_value(j)));
    case AVRO_RECORD:
        json_object_foreach(j, key, child)
        {
            if (avro_value_get_by_name(v, key, &sub, NULL) != 0 || ac_fill(&sub, child) != 0)
                return EINVAL;
        }
        return 0;
    case AVRO_ARRAY:
        json_array_foreach(j, i, child)
        {
            if (avro_value_append(v, &sub, NULL) != 0 || ac_fill(&sub, child) != 0)
                return EINVAL;
        }
        return 0;
    case AVRO_MAP:
        json_object_foreach(j, key, child)
        {
            if (avro_value_add(v, key, &sub, NULL, NULL) != 0 || ac_fill(&sub, child) != 0)
                return EINVAL;
        }
        return 0;
    case AVRO_UNION: {
        avro_schema_t s = avro_value_get_schema(v);
        for (size_t b = 0; b < avro_schema_union_size(s); b++) {
            bool branch_null = is_avro_null(avro_schema_union_branch(s, (int)b));
            if (branch_null != json_is_null(j))
                continue;
            if (avro_value_set_branch(v, (int)b, &sub) != 0)
                return EINVAL;
            return ac_fill(&sub, j);
        }
        return EINVAL;
    }
    default:
        return EINVAL;
    }
}

/* ---------------------------------------------------------------------------------------------
 * The ceiling: a straight-line encoder for the enrollment record, from a C struct
 * ------------------------------------------------------------------------------------------- */

struct sl_str {
    const char *s;
    size_t len;
};

struct sl_user {
    int64_t id;
    bool is_active;
    struct sl_str username, email, name;
};

struct sl_enrollment {
    struct sl_user user;
    struct sl_str course_key, display_name;
    bool has_start, has_end;
    struct sl_str start, end;
    struct sl_str mode;
    bool is_active;
    struct sl_str creation_date;
    bool has_created_by;
    struct sl_user created_by;
};

static inline uint8_t *sl_long(uint8_t *p, int64_t v)
{
    uint64_t z = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
    while (z >= 0x80) {
        *p++ = (uint8_t)(z | 0x80);
        z >>= 7;
    }
    *p++ = (uint8_t)z;
    return p;
}

static inline uint8_t *sl_string(uint8_t *p, struct sl_str s)
{
    p = sl_long(p, (int64_t)s.len);
    memcpy(p, s.s, s.len);
    return p + s.len;
}

static inline uint8_t *sl_user(uint8_t *p, const struct sl_user *u)
{
    p = sl_long(p, u->id);
    *p++ = u->is_active;
    p = sl_string(p, u->username);
    p = sl_string(p, u->email);
    return sl_string(p, u->name);
}

static size_t sl_user_max(const struct sl_user *u)
{
    return 11 + u->username.len + u->email.len + u->name.len + 30;
}

/* Appends the encoding to @p out; 0 on success. */
static int sl_encode_enrollment(const struct sl_enrollment *e, struct edxbus_buf *out)
{
    size_t max = sl_user_max(&e->user) + sl_user_max(&e->created_by) + e->course_key.len +
                 e->display_name.len + e->start.len + e->end.len + e->mode.len +
                 e->creation_date.len + 80;
    if (edxbus_buf_reserve(out, max) != EDXBUS_OK)
        return -1;
    uint8_t *p = out->data + out->len;
    p = sl_user(p, &e->user);
    p = sl_string(p, e->course_key);
    p = sl_string(p, e->display_name);
    *p++ = e->has_start ? 2 : 0; /* union branch 1 (string) or 0 (null), zigzag */
    if (e->has_start)
        p = sl_string(p, e->start);
    *p++ = e->has_end ? 2 : 0;
    if (e->has_end)
        p = sl_string(p, e->end);
    p = sl_string(p, e->mode);
    *p++ = e->is_active;
    p = sl_string(p, e->creation_date);
    *p++ = e->has_created_by ? 2 : 0;
    if (e->has_created_by)
        p = sl_user(p, &e->created_by);
    out->len = (size_t)(p - out->data);
    return 0;
}

static struct sl_str sl_str_of(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    if (!json_is_string(v))
        die("enrollment vector: not a string", key);
    return (struct sl_str){json_string_value(v), json_string_length(v)};
}

static void sl_user_of(json_t *u, struct sl_user *out)
{
    json_t *pii = json_object_get(u, "pii");
    out->id = json_integer_value(json_object_get(u, "id"));
    out->is_active = json_is_true(json_object_get(u, "is_active"));
    out->username = sl_str_of(pii, "username");
    out->email = sl_str_of(pii, "email");
    out->name = sl_str_of(pii, "name");
}

static void sl_from_json(json_t *data, struct sl_enrollment *e)
{
    json_t *en = json_object_get(data, "enrollment");
    json_t *course = json_object_get(en, "course");
    memset(e, 0, sizeof *e);
    sl_user_of(json_object_get(en, "user"), &e->user);
    e->course_key = sl_str_of(course, "course_key");
    e->display_name = sl_str_of(course, "display_name");
    e->has_start = json_is_string(json_object_get(course, "start"));
    if (e->has_start)
        e->start = sl_str_of(course, "start");
    e->has_end = json_is_string(json_object_get(course, "end"));
    if (e->has_end)
        e->end = sl_str_of(course, "end");
    e->mode = sl_str_of(en, "mode");
    e->is_active = json_is_true(json_object_get(en, "is_active"));
    e->creation_date = sl_str_of(en, "creation_date");
    e->has_created_by = json_is_object(json_object_get(en, "created_by"));
    if (e->has_created_by)
        sl_user_of(json_object_get(en, "created_by"), &e->created_by);
}

/* ---------------------------------------------------------------------------------------------
 * The operations timed (one event each); they return 0 on success
 * ------------------------------------------------------------------------------------------- */

struct ctx {
    struct record *rec;
    struct edxbus_buf buf;
    avro_value_t value;
    avro_writer_t writer;
    avro_reader_t reader;
    char *wbuf;
    size_t wcap;
    struct sl_enrollment sl;
    size_t out_len; /* bytes produced by the last call, for the checks */
};

static int op_encode_edxbus(struct ctx *c)
{
    char errstr[EDXBUS_ERRSTR_SIZE];
    edxbus_buf_reset(&c->buf);
    return edxbus_avro_encode(c->rec->schema, c->rec->data, 0, &c->buf, errstr, sizeof errstr);
}

static int op_encode_edxbus_event(struct ctx *c)
{
    char errstr[EDXBUS_ERRSTR_SIZE];
    edxbus_buf_reset(&c->buf);
    return edxbus_event_encode(c->rec->et, c->rec->data, 0, &c->buf, errstr, sizeof errstr);
}

static int op_encode_avroc(struct ctx *c)
{
    if (avro_value_reset(&c->value) != 0 || ac_fill(&c->value, c->rec->data) != 0)
        return -1;
    avro_writer_memory_set_dest(c->writer, c->wbuf, (int64_t)c->wcap);
    if (avro_value_write(c->writer, &c->value) != 0)
        return -1;
    c->out_len = (size_t)avro_writer_tell(c->writer);
    return 0;
}

static int op_encode_straight(struct ctx *c)
{
    edxbus_buf_reset(&c->buf);
    return sl_encode_enrollment(&c->sl, &c->buf);
}

static int op_decode_edxbus(struct ctx *c)
{
    char errstr[EDXBUS_ERRSTR_SIZE];
    json_t *out = NULL;
    int rc =
        edxbus_avro_decode(c->rec->schema, c->rec->bytes, c->rec->len, &out, errstr, sizeof errstr);
    json_decref(out);
    return rc;
}

static int op_decode_avroc(struct ctx *c)
{
    avro_reader_memory_set_source(c->reader, (const char *)c->rec->bytes, (int64_t)c->rec->len);
    return avro_value_read(c->reader, &c->value);
}

static int op_decode_text_edxbus(struct ctx *c)
{
    char errstr[EDXBUS_ERRSTR_SIZE];
    edxbus_buf_reset(&c->buf);
    return edxbus_avro_decode_to_text(c->rec->schema, c->rec->bytes, c->rec->len, &c->buf, errstr,
                                      sizeof errstr);
}

static int op_decode_text_avroc(struct ctx *c)
{
    if (op_decode_avroc(c) != 0)
        return -1;
    char *text = NULL;
    if (avro_value_to_json(&c->value, 1, &text) != 0)
        return -1;
    free(text);
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * Checks: every implementation on the record before any timing
 * ------------------------------------------------------------------------------------------- */

static void check_record(struct ctx *c, bool straight)
{
    struct record *rec = c->rec;
    char errstr[EDXBUS_ERRSTR_SIZE];

    if (op_encode_edxbus(c) != 0)
        die("edxbus_avro_encode failed", rec->type);
    check_bytes("edxbus_avro_encode", rec, c->buf.data, c->buf.len);
    edxbus_buf_reset(&c->buf);
    if (edxbus_event_encode(rec->et, rec->data, 0, &c->buf, errstr, sizeof errstr) != 0)
        die("edxbus_event_encode failed", errstr);
    check_bytes("edxbus_event_encode", rec, c->buf.data, c->buf.len);

    if (op_encode_avroc(c) != 0)
        die("avro-c encode failed", avro_strerror());
    check_bytes("avro-c encode", rec, c->wbuf, c->out_len);

    if (straight) {
        if (op_encode_straight(c) != 0)
            die("straight-line encode failed", NULL);
        check_bytes("straight-line encoder", rec, c->buf.data, c->buf.len);
    }

    json_t *out = NULL;
    if (edxbus_avro_decode(rec->schema, rec->bytes, rec->len, &out, errstr, sizeof errstr) != 0)
        die("edxbus_avro_decode failed", errstr);
    if (!json_equal(out, rec->decoded))
        die("edxbus_avro_decode: not the vector's decoded value", rec->type);
    json_decref(out);

    if (op_decode_text_edxbus(c) != 0)
        die("edxbus_avro_decode_to_text failed", rec->type);
    json_error_t jerr;
    out = json_loadb((const char *)c->buf.data, c->buf.len, 0, &jerr);
    if (out == NULL || !json_equal(out, rec->decoded))
        die("edxbus_avro_decode_to_text: not the vector's decoded value", rec->type);
    json_decref(out);

    /* avro-c: decode, then write the value back: the same bytes make a round trip. */
    if (op_decode_avroc(c) != 0)
        die("avro-c decode failed", avro_strerror());
    avro_writer_memory_set_dest(c->writer, c->wbuf, (int64_t)c->wcap);
    if (avro_value_write(c->writer, &c->value) != 0)
        die("avro-c write of the decoded value failed", avro_strerror());
    check_bytes("avro-c decode + write", rec, c->wbuf, (size_t)avro_writer_tell(c->writer));
    if (op_decode_text_avroc(c) != 0)
        die("avro-c avro_value_to_json failed", avro_strerror());
}

/* ---------------------------------------------------------------------------------------------
 * Timing
 * ------------------------------------------------------------------------------------------- */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Nanoseconds per call of @p op: ROUNDS rounds of TARGET_SECONDS / ROUNDS each (batches grow
 * until one takes ~5 ms); the fastest round counts, since on a shared machine noise only ever
 * adds time. */
#define ROUNDS 5
static double measure(int (*op)(struct ctx *), struct ctx *c)
{
    for (int i = 0; i < 1000; i++) {
        if (op(c) != 0)
            die("an operation failed while warming up", c->rec->type);
    }
    double best = 0;
    uint64_t batch = 64;
    for (int round = 0; round < ROUNDS; round++) {
        uint64_t total = 0;
        double elapsed = 0;
        while (elapsed < TARGET_SECONDS / ROUNDS) {
            double t0 = now_s();
            for (uint64_t i = 0; i < batch; i++) {
                if (op(c) != 0)
                    die("an operation failed while timed", c->rec->type);
            }
            double dt = now_s() - t0;
            elapsed += dt;
            total += batch;
            if (dt < 0.005)
                batch *= 2;
        }
        double ns = elapsed * 1e9 / (double)total;
        if (round == 0 || ns < best)
            best = ns;
    }
    return best;
}

struct result {
    char name[64];
    double ns;
};

static struct result results[64];
static size_t n_results;

/* Measure @p op and keep the fastest time seen for its name over the passes. */
static double run(const char *name, const char *label, int (*op)(struct ctx *), struct ctx *c)
{
    char full[64];
    snprintf(full, sizeof full, name, label);
    double ns = measure(op, c);
    for (size_t i = 0; i < n_results; i++) {
        if (strcmp(results[i].name, full) == 0) {
            if (ns < results[i].ns)
                results[i].ns = ns;
            return results[i].ns;
        }
    }
    struct result *r = &results[n_results++];
    snprintf(r->name, sizeof r->name, "%s", full);
    r->ns = ns;
    return r->ns;
}

static double find(const char *fmt, const char *label)
{
    char name[64];
    snprintf(name, sizeof name, fmt, label);
    for (size_t i = 0; i < n_results; i++) {
        if (strcmp(results[i].name, name) == 0)
            return results[i].ns;
    }
    die("no result", name);
    return 0;
}

static void bench_record(struct record *rec, bool straight, json_t *enr_data)
{
    struct ctx c;
    memset(&c, 0, sizeof c);
    c.rec = rec;
    edxbus_buf_init(&c.buf);
    if (avro_generic_value_new(rec->ac_iface, &c.value) != 0)
        die("avro-c value", avro_strerror());
    c.wcap = 1 << 16;
    c.wbuf = malloc(c.wcap);
    c.writer = avro_writer_memory(c.wbuf, (int64_t)c.wcap);
    c.reader = avro_reader_memory((const char *)rec->bytes, (int64_t)rec->len);
    if (straight)
        sl_from_json(enr_data, &c.sl);

    check_record(&c, straight);

    const char *l = rec->label;
    run("encode_%s_edxbus", l, op_encode_edxbus, &c);
    run("encode_%s_edxbus_checked", l, op_encode_edxbus_event, &c);
    run("encode_%s_avroc", l, op_encode_avroc, &c);
    if (straight)
        run("encode_%s_straightline", l, op_encode_straight, &c);
    run("decode_%s_edxbus", l, op_decode_edxbus, &c);
    run("decode_%s_avroc", l, op_decode_avroc, &c);
    run("decode_text_%s_edxbus", l, op_decode_text_edxbus, &c);
    run("decode_text_%s_avroc_to_json", l, op_decode_text_avroc, &c);

    avro_reader_free(c.reader);
    avro_writer_free(c.writer);
    free(c.wbuf);
    avro_value_decref(&c.value);
    edxbus_buf_fini(&c.buf);
}

int main(void)
{
    json_t *rows = load_rows(EDXBUS_TEST_DATA_DIR "/avro.jsonl");
    json_t *schemas = load_rows(EDXBUS_TEST_DATA_DIR "/schemas_generated.jsonl");
    edxbus_catalog_t *cat = edxbus_catalog_new();
    if (cat == NULL)
        die("edxbus_catalog_new failed", NULL);

    /* The enrollment record, and the realistic record with the longest encoding. */
    json_t *enrollment = NULL, *largest = NULL;
    size_t largest_len = 0, i;
    json_t *row;
    json_array_foreach(rows, i, row)
    {
        if (strcmp(json_string_value(json_object_get(row, "case")), "realistic") != 0)
            continue;
        const char *type = json_string_value(json_object_get(row, "event_type"));
        size_t len = strlen(json_string_value(json_object_get(row, "avro_hex"))) / 2;
        if (strcmp(type, ENROLLMENT_TYPE) == 0)
            enrollment = row;
        if (len > largest_len) {
            largest_len = len;
            largest = row;
        }
    }
    if (enrollment == NULL || largest == NULL)
        die("vectors missing", EDXBUS_TEST_DATA_DIR "/avro.jsonl");

    struct record enr, big;
    record_init(&enr, "enrollment", enrollment, schemas, cat);
    record_init(&big, "largest", largest, schemas, cat);

    printf("bench_avro: enrollment = %s (%zu bytes), largest = %s (%zu bytes)\n", enr.type, enr.len,
           big.type, big.len);
    printf("avro-c: libavro-dev, generic value interface; *_edxbus_checked: edxbus_event_encode "
           "with the catalog's checks\n\n");
    for (int pass = 0; pass < PASSES; pass++) {
        bench_record(&enr, true, enr.data);
        bench_record(&big, false, NULL);
    }

    printf("%-44s %12s %14s\n", "name", "ns/event", "events/s");
    for (size_t k = 0; k < n_results; k++)
        printf("%-44s %12.1f %14.0f\n", results[k].name, results[k].ns, 1e9 / results[k].ns);
    printf("\n");

    const char *labels[] = {"enrollment", "largest"};
    for (size_t k = 0; k < 2; k++) {
        const char *l = labels[k];
        printf("ratio encode_%s_vs_avroc %.2f\n", l,
               find("encode_%s_avroc", l) / find("encode_%s_edxbus", l));
        printf("ratio encode_checked_%s_vs_avroc %.2f\n", l,
               find("encode_%s_avroc", l) / find("encode_%s_edxbus_checked", l));
        printf("ratio decode_%s_vs_avroc %.2f\n", l,
               find("decode_%s_avroc", l) / find("decode_%s_edxbus", l));
        printf("ratio decode_text_%s_vs_avroc %.2f\n", l,
               find("decode_%s_avroc", l) / find("decode_text_%s_edxbus", l));
        printf("ratio decode_text_%s_vs_avroc_to_json %.2f\n", l,
               find("decode_text_%s_avroc_to_json", l) / find("decode_text_%s_edxbus", l));
    }
    printf("ratio encode_enrollment_vs_straightline %.2f\n",
           find("encode_%s_straightline", "enrollment") / find("encode_%s_edxbus", "enrollment"));

    record_fini(&enr);
    record_fini(&big);
    edxbus_catalog_destroy(cat);
    json_decref(schemas);
    json_decref(rows);
    return 0;
}
