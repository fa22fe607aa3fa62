/* examples/typed_enrollment.c — the typed C API from a service's side: fill an enrollment struct,
 * send it on the bus, receive it typed.
 *
 *     typed_enrollment [DB_PATH]     (default: a fresh SQLite file in a temp directory)
 *
 * The bus runs on the embedded SQLite backend, so nothing needs to be running: the producer
 * writes to DB_PATH and the consumer reads from it. What happens, in order:
 *   1. settings, as a service's YAML or environment would give them: EVENT_BUS_PRODUCER_CONFIG
 *      routes COURSE_ENROLLMENT_CREATED to the topic "learning-course-enrollment";
 *   2. a typed receiver is connected: it gets a struct edxbus_course_enrollment_created_data,
 *      not JSON (its strings and lists are borrowed for the call: copy what you keep);
 *   3. edxbus_send_course_enrollment_created() checks the struct (the course key, the
 *      datetimes, UTF-8), encodes it once, calls the receivers in this process, and the
 *      producer's receiver puts the bytes on the topic;
 *   4. a consumer (normally another process) reads the topic and re-emits the event through the
 *      signal: the same typed receiver runs again, this time with the event marked from the bus;
 *   5. a struct with a bad datetime is refused before anything is sent, naming the field.
 * It exits 0 when the receiver saw the event both times (the build runs it as a test).
 *
 * Build against an installed edxbus (the same command for every example):
 *     cc typed_enrollment.c $(pkg-config --cflags --libs edxbus) -o typed_enrollment
 * To receive another event, use the edxbus_connect_<signal>() and struct
 * edxbus_<signal>_data of <edxbus/events.h> (included by <edxbus/edxbus.h>).
 */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */

#include <edxbus/edxbus.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TOPIC "learning-course-enrollment"

/* Routing in the EVENT_BUS_PRODUCER_CONFIG form of openedx-events. */
#define ROUTES                                                                                     \
    "{\"org.openedx.learning.course.enrollment.created.v1\": {\"" TOPIC "\": "                     \
    "{\"event_key_field\": \"enrollment.course.course_key\", \"enabled\": true}}}"

/* What the receiver counts; a real service would update its own state here. */
struct seen {
    int local;    /* events sent by this process */
    int from_bus; /* events the consumer read back */
};

/* The typed receiver: @p data and @p ev are borrowed for this call only. */
static edxbus_err_t on_enrollment(const struct edxbus_course_enrollment_created_data *data,
                                  const edxbus_event_t *ev, void *opaque, char *errstr,
                                  size_t errstr_size)
{
    struct seen *seen = opaque;
    const struct edxbus_course_enrollment_data *e = &data->enrollment;
    bool from_bus = edxbus_event_is_from_bus(ev);
    if (e->mode.len == 0) { /* a receiver refuses with one line; the report and logs show it */
        snprintf(errstr, errstr_size, "enrollment without a mode");
        return EDXBUS_ERR_RECEIVER;
    }
    printf("%s: user %lld (%.*s) enrolled in %.*s as %.*s at %.*s; event %s\n",
           from_bus ? "from the bus" : "sent here", (long long)e->user.id,
           (int)e->user.pii.username.len, e->user.pii.username.ptr, (int)e->course.course_key.len,
           e->course.course_key.ptr, (int)e->mode.len, e->mode.ptr, (int)e->creation_date.len,
           e->creation_date.ptr, edxbus_event_get_metadata(ev)->id);
    if (from_bus)
        seen->from_bus++;
    else
        seen->local++;
    return EDXBUS_OK;
}

static edxbus_conf_t *settings(const char *db_path, char *errstr, size_t errstr_size)
{
    static const char *const pairs[][2] = {
        {"EVENTS_SERVICE_NAME", "example"},
        {"EVENT_BUS_PRODUCER", "sqlite"},
        {"EVENT_BUS_CONSUMER", "sqlite"},
        {"EVENT_BUS_PRODUCER_CONFIG", ROUTES},
        {"EVENT_BUS_AUDIT_LOGGING_ENABLED", "false"},
    };
    edxbus_conf_t *conf = edxbus_conf_new();
    if (conf == NULL) {
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    if (edxbus_conf_set(conf, "EVENT_BUS_SQLITE_PATH", db_path, errstr, errstr_size) != EDXBUS_OK)
        goto out_conf;
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        if (edxbus_conf_set(conf, pairs[i][0], pairs[i][1], errstr, errstr_size) != EDXBUS_OK)
            goto out_conf;
    }
    return conf;
out_conf:
    edxbus_conf_destroy(conf);
    return NULL;
}

/* Step 4: what `edxbus consume --topic learning-course-enrollment` does, a few polls long. */
static int consume(edxbus_bus_t *bus, const struct seen *seen)
{
    char errstr[EDXBUS_ERRSTR_SIZE];
    json_t *extra = json_pack("{s:s}", "start", "earliest");
    struct edxbus_consumer_config cfg = {
        .topic = TOPIC, .group = "example", .extra = extra, .start_time_ms = -1};
    edxbus_consumer_t *cons = edxbus_consumer_new(bus, &cfg, errstr, sizeof errstr);
    json_decref(extra);
    if (cons == NULL) {
        fprintf(stderr, "typed_enrollment: consumer: %s\n", errstr);
        return -1;
    }
    int rc = 0;
    for (int polls = 0; polls < 50 && seen->from_bus == 0; polls++) {
        if (edxbus_consumer_poll_once(cons, 100, NULL, errstr, sizeof errstr) != EDXBUS_OK) {
            fprintf(stderr, "typed_enrollment: consume: %s\n", errstr);
            rc = -1;
            break;
        }
    }
    edxbus_consumer_destroy(cons);
    return rc;
}

static int run(const char *db_path)
{
    char errstr[EDXBUS_ERRSTR_SIZE];
    int rc = 1;

    /* 1. settings and the bus */
    edxbus_conf_t *conf = settings(db_path, errstr, sizeof errstr);
    if (conf == NULL) {
        fprintf(stderr, "typed_enrollment: %s\n", errstr);
        return 1;
    }
    edxbus_bus_t *bus = edxbus_bus_new(conf, errstr, sizeof errstr);
    if (bus == NULL) {
        fprintf(stderr, "typed_enrollment: %s\n", errstr);
        edxbus_conf_destroy(conf); /* taken only on success */
        return 1;
    }
    if (edxbus_bus_producer_problem(bus) != NULL) {
        fprintf(stderr, "typed_enrollment: %s\n", edxbus_bus_producer_problem(bus));
        goto out_bus;
    }

    /* 2. a typed receiver; its storage must stay put while connected */
    struct seen seen = {0};
    struct edxbus_typed_receiver rcv;
    if (edxbus_connect_course_enrollment_created(bus, &rcv, "enrollment-printer", on_enrollment,
                                                 &seen) != EDXBUS_OK) {
        fprintf(stderr, "typed_enrollment: cannot connect the receiver\n");
        goto out_bus;
    }

    /* 3. fill the struct and send it: strings are {pointer, length}, optional fields have a
     *    has_<field> flag (false sends null), nested classes are plain members */
    struct edxbus_course_enrollment_created_data data = {0};
    struct edxbus_course_enrollment_data *e = &data.enrollment;
    e->user.id = 42;
    e->user.is_active = true;
    e->user.pii.username = EDXBUS_STR("ada");
    e->user.pii.email = EDXBUS_STR("ada@example.com");
    e->user.pii.name = edxbus_str_from("Ada Lovelace"); /* any NUL-terminated string */
    e->course.course_key = EDXBUS_STR("course-v1:edX+DemoX+Demo_Course");
    e->course.display_name = EDXBUS_STR("Demonstration Course");
    e->course.has_start = true;
    e->course.start = EDXBUS_STR("2024-09-01T00:00:00+00:00");
    e->mode = EDXBUS_STR("verified");
    e->is_active = true;
    e->creation_date = EDXBUS_STR("2024-05-17T14:03:27.123456+00:00");
    e->has_created_by = false;
    struct edxbus_send_report report = {0};
    if (edxbus_send_course_enrollment_created(bus, &data, 0, &report, errstr, sizeof errstr) !=
        EDXBUS_OK) {
        fprintf(stderr, "typed_enrollment: send: %s\n", errstr);
        goto out_receiver;
    }
    printf("sent event %s to %zu receivers (one of them the producer)\n", report.metadata.id,
           report.ncalled);
    if (edxbus_bus_flush(bus, 5000, errstr, sizeof errstr) != EDXBUS_OK) {
        fprintf(stderr, "typed_enrollment: flush: %s\n", errstr);
        goto out_receiver;
    }

    /* 4. read it back from the topic */
    if (consume(bus, &seen) != 0)
        goto out_receiver;

    /* 5. a mistake: the checks refuse it before any receiver or the broker sees it */
    e->creation_date = EDXBUS_STR("17/05/2024 14:03");
    if (edxbus_send_course_enrollment_created(bus, &data, 0, NULL, errstr, sizeof errstr) !=
        EDXBUS_ERR_ENCODE) {
        fprintf(stderr, "typed_enrollment: a bad datetime was not refused\n");
        goto out_receiver;
    }
    printf("refused, as it should be: %s\n", errstr);

    if (seen.local == 1 && seen.from_bus == 1)
        rc = 0;
    else
        fprintf(stderr,
                "typed_enrollment: the receiver saw %d local and %d consumed events; "
                "expected 1 and 1\n",
                seen.local, seen.from_bus);
out_receiver:
    edxbus_typed_disconnect(&rcv);
out_bus:
    edxbus_bus_destroy(bus);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc > 2) {
        fprintf(stderr, "usage: typed_enrollment [DB_PATH]\n");
        return 2;
    }
    if (argc == 2)
        return run(argv[1]);

    /* no path given: a temp directory, removed afterwards with the database and its journal */
    char dir[] = "/tmp/edxbus-typed-example-XXXXXX";
    if (mkdtemp(dir) == NULL) {
        perror("typed_enrollment: mkdtemp");
        return 1;
    }
    char path[sizeof dir + 16];
    snprintf(path, sizeof path, "%s/bus.db", dir);
    int rc = run(path);
    static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        char file[sizeof path + 16];
        snprintf(file, sizeof file, "%s%s", path, suffixes[i]);
        unlink(file);
    }
    rmdir(dir);
    return rc;
}
