/* tests/unit/bus/test_producer_threads.c — one bus, one producer, several sending threads
 * (producer.h's thread rule), on the embedded broker: synchronously and with a delivery
 * callback, every event is stored once, with the key of its own data (the producer's key
 * buffer is shared state), and the producer's counters add up.
 */
#include <pthread.h>
#include <stdatomic.h>

#include "bus_fixtures.h"
#include "test.h"

#define THREADS 4
#define PER_THREAD 150
#define ROUTES                                                                                     \
    "{\"" ENROLLMENT_TYPE "\": {\"threads\": {\"event_key_field\": "                               \
    "\"enrollment.course.course_key\", \"enabled\": true}}}"

struct sender {
    edxbus_bus_t *bus;
    int index;
    int failed;
};

static void *send_many(void *arg)
{
    struct sender *s = arg;
    for (int i = 0; i < PER_THREAD; i++) {
        char text[1024], errstr[EDXBUS_ERRSTR_SIZE];
        /* Each thread its own course (its own key), of its own length. */
        snprintf(text, sizeof text,
                 "{\"enrollment\": {\"user\": {\"id\": %d, \"is_active\": true, \"pii\": "
                 "{\"username\": \"u\", \"email\": \"u@example.com\", \"name\": \"U\"}}, "
                 "\"course\": {\"course_key\": \"course-v1:edX+T%d%.*s+2024\", "
                 "\"display_name\": \"D\", \"start\": null, \"end\": null}, \"mode\": "
                 "\"audit\", \"is_active\": true, \"creation_date\": "
                 "\"2024-05-01T10:00:00+00:00\", \"created_by\": null}}",
                 i, s->index, s->index * 7, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
        json_t *data = fx_json(text);
        if (edxbus_send_event(s->bus, ENROLLMENT_TYPE, data, 0, NULL, errstr, sizeof errstr) !=
            EDXBUS_OK)
            s->failed++;
        json_decref(data);
    }
    return NULL;
}

/* Read the topic back: every event's key must be the Avro string of its data's course key. */
struct check {
    int events, bad_keys;
};

static edxbus_err_t check_key(const edxbus_event_t *ev, void *opaque, char *errstr,
                              size_t errstr_size)
{
    (void)errstr;
    (void)errstr_size;
    struct check *c = opaque;
    if (!edxbus_event_is_from_bus(ev))
        return EDXBUS_OK;
    c->events++;
    const struct edxbus_msg *msg = edxbus_event_get_msg(ev);
    const json_t *course = json_object_get(
        json_object_get(json_object_get(edxbus_event_get_data(ev), "enrollment"), "course"),
        "course_key");
    const char *key = json_string_value(course);
    size_t n = key ? strlen(key) : 0;
    /* Avro string: zigzag varint length (one byte below 64), then the bytes. */
    if (msg == NULL || key == NULL || msg->key_len != n + 1 || msg->key[0] != (uint8_t)(n * 2) ||
        memcmp(msg->key + 1, key, n) != 0)
        c->bad_keys++;
    return EDXBUS_OK;
}

static void read_back(edxbus_bus_t *bus, int want)
{
    char errstr[EDXBUS_ERRSTR_SIZE];
    struct check c = {0};
    edxbus_signal_connect(edxbus_bus_signal(bus, ENROLLMENT_TYPE), "check", check_key, &c);
    json_t *extra = json_pack("{s:s}", "start", "earliest");
    struct edxbus_consumer_config cfg = {.topic = "threads",
                                         .group = "reader",
                                         .extra = extra,
                                         .start_time_ms = -1,
                                         .max_events = (uint64_t)want};
    edxbus_consumer_t *cons = edxbus_consumer_new(bus, &cfg, errstr, sizeof errstr);
    json_decref(extra);
    ASSERT_TRUE(cons != NULL);
    ASSERT_EQ_INT(edxbus_consumer_run(cons, errstr, sizeof errstr), EDXBUS_OK);
    size_t more = 0;
    ASSERT_EQ_INT(edxbus_consumer_poll_once(cons, 100, &more, errstr, sizeof errstr), EDXBUS_OK);
    edxbus_consumer_destroy(cons);
    edxbus_signal_disconnect(edxbus_bus_signal(bus, ENROLLMENT_TYPE), check_key, &c);
    ASSERT_EQ_INT(c.events, want);
    ASSERT_EQ_INT(c.bad_keys, 0);
}

static void run_senders(edxbus_bus_t *bus)
{
    pthread_t t[THREADS];
    struct sender s[THREADS];
    for (int i = 0; i < THREADS; i++) {
        s[i] = (struct sender){.bus = bus, .index = i};
        ASSERT_EQ_INT(pthread_create(&t[i], NULL, send_many, &s[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        ASSERT_EQ_INT(s[i].failed, 0);
    }
}

TEST(test_synchronous_sends_from_threads)
{
    edxbus_bus_t *bus = fx_bus(ROUTES, NULL);
    run_senders(bus);
    edxbus_producer_t *prod = edxbus_bus_producer(bus);
    ASSERT_EQ_UINT(edxbus_producer_delivered(prod), THREADS * PER_THREAD);
    ASSERT_EQ_UINT(edxbus_producer_failed(prod), 0);
    read_back(bus, THREADS * PER_THREAD);
    edxbus_bus_destroy(bus);
}

static atomic_int reported;

static void on_delivery(void *opaque, const struct edxbus_delivery *d)
{
    (void)opaque;
    if (d->err == EDXBUS_OK)
        atomic_fetch_add(&reported, 1);
}

TEST(test_asynchronous_sends_from_threads)
{
    char errstr[EDXBUS_ERRSTR_SIZE];
    edxbus_bus_t *bus = fx_bus(ROUTES, NULL);
    edxbus_producer_t *prod = edxbus_bus_producer(bus);
    atomic_store(&reported, 0);
    edxbus_producer_set_delivery_cb(prod, on_delivery, NULL);
    run_senders(bus);
    ASSERT_EQ_INT(edxbus_producer_flush(prod, 30000, errstr, sizeof errstr), EDXBUS_OK);
    ASSERT_EQ_INT(atomic_load(&reported), THREADS * PER_THREAD);
    ASSERT_EQ_UINT(edxbus_producer_delivered(prod), THREADS * PER_THREAD);
    read_back(bus, THREADS * PER_THREAD);
    edxbus_bus_destroy(bus);
}

int main(void)
{
    fx_setup();
    RUN(test_synchronous_sends_from_threads);
    RUN(test_asynchronous_sends_from_threads);
    fx_cleanup();
    return test_report();
}
