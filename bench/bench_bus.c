/* bench/bench_bus.c — what the bus adds on top of encoding and the broker.
 *
 * The event is the enrollment-created payload of tests/vectors/avro.jsonl (case "realistic").
 * Cases (each run REPS times, best kept):
 *   encode            edxbus_event_encode() alone: the ceiling of a send that must validate.
 *   is_logged         edxbus_conf_is_logged() for an info line with the default sink and
 *                     EVENT_BUS_LOG_LEVEL set: what every edxbus_conf_log() call and the
 *                     worker's per-event audit line pay before deciding to format.
 *   clock             clock_gettime(CLOCK_REALTIME) alone: the one reading a generation needs
 *                     (the event's time and the uuid1 timestamp), its floor.
 *   metadata          edxbus_metadata_generate() alone (uuid1, clock, host name).
 *   send_noop         edxbus_send_event() with one no-op receiver: validate by encoding,
 *                     generate metadata (uuid1, clock, host), dispatch.
 *   send_encoded      edxbus_signal_send_encoded() (the typed API's path): metadata + dispatch.
 *   backend_async     the SQLite backend's produce() with a delivery callback + flush, bytes
 *                     and metadata prepared once: the broker's ceiling.
 *   send_produce      edxbus_send_event() routed by EVENT_BUS_PRODUCER_CONFIG to the embedded
 *                     broker, asynchronous, + flush: the whole producing path.
 * Output: a fixed-column table (ns/event, events/s), then `ratio <name> <value>` lines, each a
 * throughput ratio against its ceiling (1.0 = no overhead): send_vs_encode (the whole send
 * against encoding alone), send_vs_parts (against encode + metadata, i.e. what the signal layer
 * itself adds) and produce_vs_backend; and two for metadata: metadata_vs_clock (against its
 * clock reading) and metadata_vs_150ns (against issue 15's ceiling of 150 ns an event: 1.0 or
 * more is within it). Nothing here asserts on time.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "edxbus/edxbus.h"

#define ENROLLMENT_TYPE "org.openedx.learning.course.enrollment.created.v1"
#define REPS 3
#define N_FAST 200000
#define N_BROKER 50000

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static json_t *load_event(void)
{
    FILE *f = fopen(EDXBUS_TEST_DATA_DIR "/avro.jsonl", "r");
    if (f == NULL)
        return NULL;
    char line[1 << 16];
    json_t *data = NULL;
    while (data == NULL && fgets(line, sizeof line, f) != NULL) {
        json_t *row = json_loads(line, 0, NULL);
        const char *type = json_string_value(json_object_get(row, "event_type"));
        const char *c = json_string_value(json_object_get(row, "case"));
        if (type && c && strcmp(type, ENROLLMENT_TYPE) == 0 && strcmp(c, "realistic") == 0)
            data = json_incref(json_object_get(row, "data"));
        json_decref(row);
    }
    fclose(f);
    return data;
}

static edxbus_err_t noop(const edxbus_event_t *ev, void *opaque, char *errstr, size_t n)
{
    (void)ev;
    (void)errstr;
    (void)n;
    ++*(size_t *)opaque;
    return EDXBUS_OK;
}

static void on_delivery(void *opaque, const struct edxbus_msg *msg, edxbus_err_t err,
                        const char *errstr, const char *position)
{
    (void)msg;
    (void)errstr;
    (void)position;
    if (err != EDXBUS_OK)
        ++*(size_t *)opaque;
}

static void on_report(void *opaque, const struct edxbus_delivery *d)
{
    if (d->err != EDXBUS_OK)
        ++*(size_t *)opaque;
}

static char dir[256];
static int seq;

static edxbus_conf_t *conf_for(const char *routes)
{
    char path[320], err[EDXBUS_ERRSTR_SIZE];
    snprintf(path, sizeof path, "%s/bench%d.db", dir, ++seq);
    edxbus_conf_t *conf = edxbus_conf_new();
    edxbus_conf_set(conf, "EVENT_BUS_SQLITE_PATH", path, err, sizeof err);
    edxbus_conf_set(conf, "EVENT_BUS_PRODUCER", "sqlite", err, sizeof err);
    edxbus_conf_set(conf, "EVENTS_SERVICE_NAME", "lms", err, sizeof err);
    if (routes != NULL)
        edxbus_conf_set(conf, "EVENT_BUS_PRODUCER_CONFIG", routes, err, sizeof err);
    return conf;
}

struct result {
    const char *name;
    double best_s; /* per event */
};

static void report(const struct result *r)
{
    printf("%-16s %12.0f %14.0f\n", r->name, r->best_s * 1e9, 1.0 / r->best_s);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/edxbus-bench-bus-XXXXXX");
    if (mkdtemp(dir) == NULL)
        return 1;
    json_t *data = load_event();
    if (data == NULL) {
        fprintf(stderr, "bench_bus: no realistic enrollment event in the vectors\n");
        return 1;
    }
    char err[EDXBUS_ERRSTR_SIZE] = "";
    struct result encode = {"encode", 1e9}, logged = {"is_logged", 1e9}, clk = {"clock", 1e9},
                  meta = {"metadata", 1e9},
                  send_noop = {"send_noop", 1e9}, send_enc = {"send_encoded", 1e9},
                  backend = {"backend_async", 1e9}, produce = {"send_produce", 1e9};

    edxbus_bus_t *bus = edxbus_bus_new(conf_for(NULL), err, sizeof err);
    if (bus == NULL) {
        fprintf(stderr, "bench_bus: %s\n", err);
        return 1;
    }
    edxbus_signal_t *sig = edxbus_bus_signal(bus, ENROLLMENT_TYPE);
    const edxbus_event_type_t *et = edxbus_signal_event_type(sig);
    size_t calls = 0;
    edxbus_signal_connect(sig, "noop", noop, &calls);
    struct edxbus_buf b = EDXBUS_BUF_INIT;

    for (int rep = 0; rep < REPS; rep++) {
        double t0 = now_s();
        for (int i = 0; i < N_FAST; i++) {
            edxbus_buf_reset(&b);
            edxbus_event_encode(et, data, 0, &b, err, sizeof err);
        }
        double t = (now_s() - t0) / N_FAST;
        encode.best_s = t < encode.best_s ? t : encode.best_s;

        edxbus_conf_t *lconf = conf_for(NULL);
        edxbus_conf_set(lconf, "EVENT_BUS_LOG_LEVEL", "warning", err, sizeof err);
        size_t shown = 0;
        t0 = now_s();
        for (int i = 0; i < N_FAST; i++)
            shown += edxbus_conf_is_logged(lconf, EDXBUS_LOG_INFO);
        t = (now_s() - t0) / N_FAST;
        logged.best_s = t < logged.best_s ? t : logged.best_s;
        if (shown != 0)
            fprintf(stderr, "bench_bus: an info line would be shown at level warning\n");
        edxbus_conf_destroy(lconf);

        struct timespec ts;
        long sum = 0;
        t0 = now_s();
        for (int i = 0; i < N_FAST; i++) {
            clock_gettime(CLOCK_REALTIME, &ts);
            sum += ts.tv_nsec;
        }
        t = (now_s() - t0) / N_FAST;
        clk.best_s = t < clk.best_s ? t : clk.best_s;
        if (sum == 42)
            fprintf(stderr, "bench_bus: unlucky clock\n");

        struct edxbus_metadata m0;
        t0 = now_s();
        for (int i = 0; i < N_FAST; i++)
            edxbus_metadata_generate(&m0, ENROLLMENT_TYPE, 0, "lms", err, sizeof err);
        t = (now_s() - t0) / N_FAST;
        meta.best_s = t < meta.best_s ? t : meta.best_s;

        t0 = now_s();
        for (int i = 0; i < N_FAST; i++)
            edxbus_send_event(bus, ENROLLMENT_TYPE, data, 0, NULL, err, sizeof err);
        t = (now_s() - t0) / N_FAST;
        send_noop.best_s = t < send_noop.best_s ? t : send_noop.best_s;

        t0 = now_s();
        for (int i = 0; i < N_FAST; i++)
            edxbus_signal_send_encoded(sig, b.data, b.len, 0, NULL, err, sizeof err);
        t = (now_s() - t0) / N_FAST;
        send_enc.best_s = t < send_enc.best_s ? t : send_enc.best_s;
    }
    if (calls != (size_t)REPS * 2 * N_FAST)
        fprintf(stderr, "bench_bus: receiver called %zu times\n", calls);
    edxbus_bus_destroy(bus);

    /* The broker's ceiling: backend produce() of prepared bytes. */
    struct edxbus_metadata md;
    edxbus_metadata_generate(&md, ENROLLMENT_TYPE, 0, "lms", err, sizeof err);
    const struct edxbus_backend_ops *ops = edxbus_backend_find("sqlite", NULL, err, sizeof err);
    const char *routes = "{\"" ENROLLMENT_TYPE "\": {\"enrollments\": {\"event_key_field\": "
                         "\"enrollment.course.course_key\", \"enabled\": true}}}";
    for (int rep = 0; rep < REPS && ops != NULL; rep++) {
        edxbus_conf_t *conf = conf_for(NULL);
        void *be = NULL;
        size_t failed = 0;
        if (ops->producer_open(conf, &be, err, sizeof err) != EDXBUS_OK) {
            fprintf(stderr, "bench_bus: %s\n", err);
            break;
        }
        struct edxbus_msg m = {.topic = "dev-enrollments",
                               .value = b.data,
                               .value_len = b.len,
                               .metadata = &md,
                               .key = (const uint8_t *)"\x08"
                                                       "abcd",
                               .key_len = 5,
                               .key_schema = "{\"name\": \"k\", \"type\": \"string\"}",
                               .value_schema = edxbus_event_type_schema_text(et)};
        double t0 = now_s();
        for (int i = 0; i < N_BROKER; i++) {
            while (ops->produce(be, &m, on_delivery, &failed, err, sizeof err) ==
                   EDXBUS_ERR_QUEUE_FULL)
                ops->flush(be, 60000, err, sizeof err);
        }
        ops->flush(be, 60000, err, sizeof err);
        double t = (now_s() - t0) / N_BROKER;
        backend.best_s = t < backend.best_s ? t : backend.best_s;
        ops->producer_close(be);
        edxbus_conf_destroy(conf);

        /* The whole path: signal -> producer front end -> backend, async. */
        bus = edxbus_bus_new(conf_for(routes), err, sizeof err);
        edxbus_producer_t *prod = bus ? edxbus_bus_producer(bus) : NULL;
        if (prod == NULL) {
            fprintf(stderr, "bench_bus: no producer: %s\n",
                    bus ? edxbus_bus_producer_problem(bus) : err);
            edxbus_bus_destroy(bus);
            break;
        }
        size_t pfailed = 0;
        edxbus_producer_set_delivery_cb(prod, on_report, &pfailed);
        t0 = now_s();
        for (int i = 0; i < N_BROKER; i++)
            edxbus_send_event(bus, ENROLLMENT_TYPE, data, 0, NULL, err, sizeof err);
        edxbus_bus_flush(bus, 60000, err, sizeof err);
        t = (now_s() - t0) / N_BROKER;
        produce.best_s = t < produce.best_s ? t : produce.best_s;
        edxbus_bus_destroy(bus);
    }

    printf("%-16s %12s %14s\n", "case", "ns/event", "events/s");
    report(&encode);
    report(&logged);
    report(&clk);
    report(&meta);
    report(&send_noop);
    report(&send_enc);
    report(&backend);
    report(&produce);
    printf("ratio send_vs_encode %.2f\n", encode.best_s / send_noop.best_s);
    printf("ratio send_vs_parts %.2f\n", (encode.best_s + meta.best_s) / send_noop.best_s);
    printf("ratio produce_vs_backend %.2f\n", backend.best_s / produce.best_s);
    printf("ratio metadata_vs_clock %.2f\n", clk.best_s / meta.best_s);
    printf("ratio metadata_vs_150ns %.2f\n", 150e-9 / meta.best_s);

    edxbus_buf_fini(&b);
    json_decref(data);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_bus: could not remove %s\n", dir);
    return 0;
}
