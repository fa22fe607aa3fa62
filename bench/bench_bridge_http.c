/* bench/bench_bridge_http.c — the bridge's HTTP destination (`edxbus bridge --to URL`): one
 * request in flight against several, and against its raw ceiling, in one run.
 *
 * The endpoint is a libmicrohttpd server of the bench's own on loopback, one thread per
 * connection, that answers 200 to every POST after BENCH_HTTP_DELAY_MS (default 2 ms: the
 * round trip of an endpoint that is not on this machine; with 0 the bench measures CPU only).
 * The source is the embedded broker (a SQLite file) holding N enrollment events (BENCH_N,
 * default 2000) with 64 course keys in turn. Cases (each run ROUNDS times in alternation, the
 * best kept; the machine is shared):
 *   bridge_http_1   edxbus_bridge_run() to the endpoint, EVENT_BUS_BRIDGE_HTTP_IN_FLIGHT=1
 *   bridge_http_8   the same with 8 in flight (a new group each run, from the earliest event)
 *   raw_curl_8      the ceiling: libcurl's multi interface POSTing the same JSON body N times,
 *                   8 in flight, no bus (no SQLite, no decoding, no headers from metadata).
 * Output: a table, then `ratio bridge_http_8 <edxbus 8 / raw 8>` and
 * `ratio bridge_http_8_vs_1 <8 / 1>` (throughputs). Nothing asserts on time.
 */
#include <curl/curl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdatomic.h>

#include "bench_util.h"

#define TOPIC "bench-http"
#define KEYS 64

static long delay_ms;
static atomic_long answered;
static char dir[256];

static enum MHD_Result answer(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **state)
{
    (void)cls, (void)url, (void)method, (void)version, (void)upload;
    if (*state == NULL) { /* the headers: the body follows */
        *state = (void *)1;
        return MHD_YES;
    }
    if (*upload_size > 0) { /* a piece of the body: taken */
        *upload_size = 0;
        return MHD_YES;
    }
    if (delay_ms > 0) {
        struct timespec ts = {delay_ms / 1000, (delay_ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    atomic_fetch_add(&answered, 1);
    struct MHD_Response *r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    enum MHD_Result ok = MHD_queue_response(c, 200, r);
    MHD_destroy_response(r);
    return ok;
}

static void cleanup(void)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_bridge_http: could not remove %s\n", dir);
}

static edxbus_conf_t *conf_new(const char *in_flight)
{
    char err[EDXBUS_ERRSTR_SIZE], path[320];
    snprintf(path, sizeof path, "%s/source.db", dir);
    edxbus_conf_t *conf = edxbus_conf_new();
    if (conf == NULL ||
        edxbus_conf_set(conf, "EVENT_BUS_PRODUCER", "sqlite", err, sizeof err) != EDXBUS_OK ||
        edxbus_conf_set(conf, "EVENT_BUS_CONSUMER", "sqlite", err, sizeof err) != EDXBUS_OK ||
        edxbus_conf_set(conf, "EVENT_BUS_SQLITE_PATH", path, err, sizeof err) != EDXBUS_OK ||
        edxbus_conf_set(conf, "EVENT_BUS_SQLITE_SYNCHRONOUS", "NORMAL", err, sizeof err) !=
            EDXBUS_OK ||
        edxbus_conf_set(conf, "EVENT_BUS_AUDIT_LOGGING_ENABLED", "false", err, sizeof err) !=
            EDXBUS_OK ||
        edxbus_conf_set(conf, "EVENT_BUS_CONSUMER_BATCH_SIZE", "100", err, sizeof err) !=
            EDXBUS_OK ||
        edxbus_conf_set(conf, "EVENT_BUS_BRIDGE_HTTP_IN_FLIGHT", in_flight, err, sizeof err) !=
            EDXBUS_OK ||
        edxbus_conf_set(conf, "EVENTS_SERVICE_NAME", "lms", err, sizeof err) != EDXBUS_OK ||
        edxbus_conf_set(conf, "EVENT_BUS_PRODUCER_CONFIG",
                        "{\"" BENCH_ENROLLMENT_TYPE "\": {\"" TOPIC
                        "\": {\"event_key_field\": \"" BENCH_KEY_FIELD "\", \"enabled\": true}}}",
                        err, sizeof err) != EDXBUS_OK)
        die("conf: %s", err);
    edxbus_conf_set_log(conf, NULL, NULL); /* quiet */
    return conf;
}

/* N events into the source, the course key cycling through KEYS values. */
static void fill(const json_t *data, long n)
{
    char err[EDXBUS_ERRSTR_SIZE];
    edxbus_bus_t *bus = edxbus_bus_new(conf_new("1"), err, sizeof err);
    if (bus == NULL)
        die("bus: %s", err);
    json_t *d = json_deep_copy(data);
    json_t *course = json_object_get(json_object_get(d, "enrollment"), "course");
    for (long i = 0; i < n; i++) {
        char key[64];
        snprintf(key, sizeof key, "course-v1:edX+K%ld+2024", i % KEYS);
        json_object_set_new(course, "course_key", json_string(key));
        if (edxbus_send_event(bus, BENCH_ENROLLMENT_TYPE, d, EDXBUS_SEND_STRICT, NULL, err,
                              sizeof err) != EDXBUS_OK)
            die("send: %s", err);
    }
    json_decref(d);
    edxbus_bus_destroy(bus);
}

/* One bridge run of every event to @p url in a new group. Events per second. */
static double bridge(const char *url, const char *in_flight, long n)
{
    static int group;
    char err[EDXBUS_ERRSTR_SIZE], g[32];
    snprintf(g, sizeof g, "g%d", ++group);
    edxbus_bus_t *bus = edxbus_bus_new(conf_new(in_flight), err, sizeof err);
    if (bus == NULL)
        die("bus: %s", err);
    json_t *extra = json_pack("{s:s}", "start", "earliest");
    struct edxbus_bridge_config cfg = {
        .topic = TOPIC, .group = g, .to_url = url, .extra = extra, .max_events = (uint64_t)n};
    uint64_t forwarded = 0;
    long before = atomic_load(&answered);
    double t0 = now_s();
    if (edxbus_bridge_run(bus, NULL, &cfg, &forwarded, err, sizeof err) != EDXBUS_OK)
        die("bridge: %s", err);
    double t = now_s() - t0;
    if (forwarded != (uint64_t)n || atomic_load(&answered) - before < n)
        die("bridge: %llu of %ld forwarded", (unsigned long long)forwarded, n);
    json_decref(extra);
    edxbus_bus_destroy(bus);
    return (double)n / t;
}

static size_t discard(char *p, size_t s, size_t n, void *o)
{
    (void)p, (void)o;
    return s * n;
}

/* The ceiling: the same body POSTed n times, @p in_flight at once, with libcurl alone. */
static double raw(const char *url, const char *body, long n, int in_flight)
{
    CURLM *m = curl_multi_init();
    CURL *easy[64];
    struct curl_slist *h = curl_slist_append(NULL, "content-type: application/json");
    h = curl_slist_append(h, "Expect:");
    long started = 0, done = 0;
    double t0 = now_s();
    for (int i = 0; i < in_flight; i++) {
        easy[i] = curl_easy_init();
        curl_easy_setopt(easy[i], CURLOPT_URL, url);
        curl_easy_setopt(easy[i], CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(easy[i], CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(easy[i], CURLOPT_WRITEFUNCTION, discard);
        curl_easy_setopt(easy[i], CURLOPT_NOSIGNAL, 1L);
        if (started < n) {
            curl_multi_add_handle(m, easy[i]);
            started++;
        }
    }
    while (done < n) {
        int running, left;
        curl_multi_perform(m, &running);
        CURLMsg *msg;
        while ((msg = curl_multi_info_read(m, &left)) != NULL) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            long status = 0;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &status);
            if (msg->data.result != CURLE_OK || status != 200)
                die("raw POST: %s, HTTP %ld", curl_easy_strerror(msg->data.result), status);
            done++;
            CURL *e = msg->easy_handle;
            curl_multi_remove_handle(m, e);
            if (started < n) {
                curl_multi_add_handle(m, e);
                started++;
            }
        }
        if (done < n)
            curl_multi_poll(m, NULL, 0, 100, NULL);
    }
    double t = now_s() - t0;
    for (int i = 0; i < in_flight; i++)
        curl_easy_cleanup(easy[i]);
    curl_slist_free_all(h);
    curl_multi_cleanup(m);
    return (double)n / t;
}

int main(void)
{
    bench_set_name("bench_bridge_http");
    long n = bench_env_long("BENCH_N", 2000), rounds = bench_env_long("BENCH_ROUNDS", 3);
    const char *d = getenv("BENCH_HTTP_DELAY_MS");
    delay_ms = d != NULL ? strtol(d, NULL, 10) : 2;
    snprintf(dir, sizeof dir, "/tmp/edxbus-bench-http-XXXXXX");
    if (mkdtemp(dir) == NULL)
        die("mkdtemp: %s", strerror(errno));
    bench_on_die(cleanup);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    struct sockaddr_in sa = {
        .sin_family = AF_INET, .sin_port = 0, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    struct MHD_Daemon *srv = MHD_start_daemon(
        MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, answer,
        NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_END);
    if (srv == NULL)
        die("cannot start the HTTP server");
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(srv, MHD_DAEMON_INFO_BIND_PORT);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/events", (unsigned)info->port);
    struct bench_event ev;
    bench_event_load(&ev);
    fill(ev.data, n);
    double one = 0, eight = 0, ceiling = 0;
    for (long r = 0; r < rounds; r++) {
        bench_keep_best(&one, bridge(url, "1", n));
        bench_keep_best(&eight, bridge(url, "8", n));
        bench_keep_best(&ceiling, raw(url, ev.data_text, n, 8));
    }
    printf("# %ld events, endpoint delay %ld ms, best of %ld rounds, load %.1f\n", n, delay_ms,
           rounds, bench_loadavg());
    printf("%-16s %12s\n", "case", "events/s");
    printf("%-16s %12.0f\n", "bridge_http_1", one);
    printf("%-16s %12.0f\n", "bridge_http_8", eight);
    printf("%-16s %12.0f\n", "raw_curl_8", ceiling);
    printf("ratio bridge_http_8 %.2f\n", eight / ceiling);
    printf("ratio bridge_http_8_vs_1 %.2f\n", eight / one);
    MHD_stop_daemon(srv);
    bench_event_fini(&ev);
    curl_global_cleanup();
    cleanup();
    return 0;
}
