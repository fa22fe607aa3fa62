/* examples/service_threads.c — a multi-threaded service: request threads send events, a worker
 * thread consumes them, and SIGTERM shuts everything down cleanly.
 *
 *     service_threads [-t THREADS] [-n EVENTS_PER_THREAD] [DB_PATH]
 *
 * What a web service with a background worker does, on the embedded SQLite backend (nothing
 * else needs to be running; set EVENT_BUS_PRODUCER / EVENT_BUS_CONSUMER and the broker's
 * settings in the environment to use Redis or Kafka instead — edxbus_conf_load_env()):
 *   - one bus for the whole process, made once at start-up (edxbus_bus_new);
 *   - THREADS request threads call edxbus_send_event() on it at the same time: a producer may
 *     be used from several threads (producer.h), the signal's receivers run on each sender's
 *     thread, and each event gets its own id;
 *   - one worker thread runs edxbus_consumer_run(), which re-emits every event it reads
 *     through the signal: the receiver below tells those apart with edxbus_event_is_from_bus();
 *   - SIGTERM (or SIGINT): the handler calls edxbus_consumer_stop(), which is
 *     async-signal-safe and wakes the worker at once; the worker finishes the event in hand,
 *     acknowledges it and returns; the request threads stop sending; main joins everyone,
 *     flushes the producer and frees the bus.
 * When every event sent has come back through the worker, the program sends itself SIGTERM
 * to show that path, and exits 0 (the build runs it as a test).
 *
 * Build (the same command for every example, against an installed edxbus):
 *     cc service_threads.c $(pkg-config --cflags --libs edxbus) -o service_threads
 */
#define _POSIX_C_SOURCE 200809L /* sigaction, mkdtemp */

#include <edxbus/edxbus.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EVENT_TYPE "org.openedx.learning.course.enrollment.created.v1"
#define TOPIC "learning-course-enrollment"
#define ROUTES                                                                                     \
    "{\"" EVENT_TYPE "\": {\"" TOPIC "\": "                                                        \
    "{\"event_key_field\": \"enrollment.course.course_key\", \"enabled\": true}}}"
#define MAX_THREADS 64

/* The consumer the signal handler stops; set once the worker's consumer exists. */
static edxbus_consumer_t *_Atomic running_consumer;
static volatile sig_atomic_t stopping; /* the request threads stop sending */

static void on_stop_signal(int sig)
{
    (void)sig;
    stopping = 1;
    edxbus_consumer_stop(atomic_load(&running_consumer)); /* async-signal-safe; NULL: no-op */
}

struct service {
    edxbus_bus_t *bus;
    int per_thread;
    atomic_int sent, received, failed;
    int expected;
};

/* Runs on the sending thread for local sends and on the worker for events read back. */
static edxbus_err_t on_enrollment(const edxbus_event_t *ev, void *opaque, char *errstr,
                                  size_t errstr_size)
{
    (void)errstr;
    (void)errstr_size;
    struct service *svc = opaque;
    if (!edxbus_event_is_from_bus(ev))
        return EDXBUS_OK; /* our own send: the event is on its way to the broker */
    if (atomic_fetch_add(&svc->received, 1) + 1 == svc->expected)
        kill(getpid(), SIGTERM); /* all back: show the shutdown path */
    return EDXBUS_OK;
}

/* A request thread: each "request" sends one enrollment. */
static void *request_thread(void *arg)
{
    struct service *svc = arg;
    for (int i = 0; i < svc->per_thread && !stopping; i++) {
        char data[640], errstr[EDXBUS_ERRSTR_SIZE];
        int user = atomic_fetch_add(&svc->sent, 1) + 1;
        snprintf(data, sizeof data,
                 "{\"enrollment\": {\"user\": {\"id\": %d, \"is_active\": true, \"pii\": "
                 "{\"username\": \"user%d\", \"email\": \"user%d@example.com\", \"name\": "
                 "\"User\"}}, \"course\": {\"course_key\": \"course-v1:edX+DemoX+2024\", "
                 "\"display_name\": \"Demo\", \"start\": null, \"end\": null}, \"mode\": "
                 "\"audit\", \"is_active\": true, \"creation_date\": "
                 "\"2024-05-01T10:00:00+00:00\", \"created_by\": null}}",
                 user, user, user);
        json_t *payload = json_loads(data, 0, NULL);
        struct edxbus_send_report report = {0};
        edxbus_err_t err =
            edxbus_send_event(svc->bus, EVENT_TYPE, payload, 0, &report, errstr, sizeof errstr);
        json_decref(payload);
        if (err != EDXBUS_OK) {
            /* A broker write that failed can be retried alone, same event id. */
            if (report.producer_err != EDXBUS_OK && edxbus_err_is_retriable(err))
                fprintf(stderr, "request: %s (edxbus_bus_resend() retries it)\n", errstr);
            else
                fprintf(stderr, "request: %s\n", errstr);
            atomic_fetch_add(&svc->failed, 1);
        }
    }
    return NULL;
}

struct worker {
    edxbus_consumer_t *cons;
    edxbus_err_t err;
    char errstr[EDXBUS_ERRSTR_SIZE];
};

static void *worker_thread(void *arg)
{
    struct worker *w = arg;
    w->err = edxbus_consumer_run(w->cons, w->errstr, sizeof w->errstr);
    return NULL;
}

static edxbus_bus_t *make_bus(const char *db_path)
{
    char errstr[EDXBUS_ERRSTR_SIZE];
    edxbus_conf_t *conf = edxbus_conf_new();
    if (conf == NULL)
        return NULL;
    if (edxbus_conf_set(conf, "EVENTS_SERVICE_NAME", "lms", errstr, sizeof errstr) ||
        edxbus_conf_set(conf, "EVENT_BUS_SQLITE_PATH", db_path, errstr, sizeof errstr) ||
        edxbus_conf_set(conf, "EVENT_BUS_PRODUCER_CONFIG", ROUTES, errstr, sizeof errstr) ||
        edxbus_conf_set(conf, "EVENT_BUS_AUDIT_LOGGING_ENABLED", "false", errstr,
                        sizeof errstr) ||
        edxbus_conf_load_env(conf, errstr, sizeof errstr)) { /* the environment wins */
        fprintf(stderr, "settings: %s\n", errstr);
        edxbus_conf_destroy(conf);
        return NULL;
    }
    edxbus_bus_t *bus = edxbus_bus_new(conf, errstr, sizeof errstr); /* takes conf on success */
    if (bus == NULL) {
        fprintf(stderr, "bus: %s\n", errstr);
        edxbus_conf_destroy(conf);
    }
    return bus;
}

int main(int argc, char **argv)
{
    int threads = 4, per_thread = 250, opt;
    while ((opt = getopt(argc, argv, "t:n:")) != -1) {
        if (opt == 't')
            threads = atoi(optarg);
        else if (opt == 'n')
            per_thread = atoi(optarg);
        else {
            fprintf(stderr, "usage: service_threads [-t THREADS] [-n EVENTS] [DB_PATH]\n");
            return 2;
        }
    }
    if (threads < 1 || threads > MAX_THREADS || per_thread < 1) {
        fprintf(stderr, "service_threads: -t takes 1..%d threads, -n at least 1 event\n",
                MAX_THREADS);
        return 2;
    }
    char dir[] = "/tmp/edxbus-service-XXXXXX", path[64];
    if (optind < argc) {
        snprintf(path, sizeof path, "%s", argv[optind]);
    } else if (mkdtemp(dir) != NULL) {
        snprintf(path, sizeof path, "%s/bus.db", dir);
    } else {
        perror("mkdtemp");
        return 1;
    }

    /* Signals first, so that a SIGTERM at any time takes the clean path. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    static struct service svc;
    svc.bus = make_bus(path);
    if (svc.bus == NULL)
        return 1;
    svc.per_thread = per_thread;
    svc.expected = threads * per_thread;
    edxbus_signal_connect(edxbus_bus_signal(svc.bus, EVENT_TYPE), "counter", on_enrollment, &svc);

    /* The worker: a consumer group on the topic, from its oldest event. */
    char errstr[EDXBUS_ERRSTR_SIZE];
    json_t *extra = json_pack("{s:s}", "start", "earliest");
    struct edxbus_consumer_config cfg = {
        .topic = TOPIC, .group = "service-worker", .extra = extra, .start_time_ms = -1};
    static struct worker w;
    w.cons = edxbus_consumer_new(svc.bus, &cfg, errstr, sizeof errstr);
    json_decref(extra);
    if (w.cons == NULL) {
        fprintf(stderr, "consumer: %s\n", errstr);
        edxbus_bus_destroy(svc.bus);
        return 1;
    }
    atomic_store(&running_consumer, w.cons);
    pthread_t worker, requests[MAX_THREADS];
    pthread_create(&worker, NULL, worker_thread, &w);
    for (int i = 0; i < threads; i++)
        pthread_create(&requests[i], NULL, request_thread, &svc);

    /* Shutdown: request threads end (done, or stopping); the worker ends on SIGTERM. */
    for (int i = 0; i < threads; i++)
        pthread_join(requests[i], NULL);
    pthread_join(worker, NULL);
    atomic_store(&running_consumer, NULL); /* the handler must not see a freed consumer */
    const struct edxbus_consumer_stats *st = edxbus_consumer_stats(w.cons);
    printf("sent %d, failed %d, received back %d (worker acknowledged %llu)\n",
           atomic_load(&svc.sent), atomic_load(&svc.failed), atomic_load(&svc.received),
           (unsigned long long)st->events);
    int rc = w.err == EDXBUS_OK && atomic_load(&svc.failed) == 0 &&
                     atomic_load(&svc.received) == svc.expected
                 ? 0
                 : 1;
    if (w.err != EDXBUS_OK)
        fprintf(stderr, "worker: %s\n", w.errstr);
    edxbus_consumer_destroy(w.cons);
    if (edxbus_bus_flush(svc.bus, 10000, errstr, sizeof errstr) != EDXBUS_OK)
        fprintf(stderr, "flush: %s\n", errstr);
    edxbus_bus_destroy(svc.bus);
    if (optind >= argc) {
        unlink(path);
        char side[80];
        snprintf(side, sizeof side, "%s-wal", path);
        unlink(side);
        snprintf(side, sizeof side, "%s-shm", path);
        unlink(side);
        rmdir(dir);
    }
    return rc;
}
