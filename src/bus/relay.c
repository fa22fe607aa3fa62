/* src/bus/relay.c — the relay (outbox.h): outbox entries to EVENT_BUS_PRODUCER, in order.
 *
 * The relay is a consumer of the outbox composed with a producer of the broker, both through
 * backend ops tables: it joins the outbox topic in the group "relay" under the member name
 * "relay", with the embedded log's `delete_acked` and `exclusive` options (the lock below makes
 * it the only member): taking entries writes nothing; the next poll moves the group cursor to
 * the first entry not acknowledged, in one transaction, so a relay restarted after a crash
 * starts from there; the acknowledged entries below it are deleted in that transaction when
 * they are all the outbox holds, or once RELAY_RETIRE_ROWS of them wait (`retire_rows`), or
 * at close. Per batch it produces every entry
 * asynchronously (Redis pipelines them), flushes, and acknowledges the longest prefix the
 * broker confirmed; the rest of the batch is sent again, in order, after a pause. Nothing is acknowledged before the broker confirmed it, so a relay
 * killed at any point loses nothing and at worst sends an entry twice (same event id).
 *
 * One relay per outbox file at a time: run() first takes an exclusive flock() on
 * "<path>.relay.lock" (released by the kernel when the process dies), so entries are never
 * sent by two relays at once and their order holds across relays.
 *
 * Broker down: the batch waits; pauses double from RETRY_MIN_MS up to EVENT_BUS_OUTBOX_RETRY_MAX
 * seconds. One log line when the broker is lost, one when it is back (not per event), and the
 * state goes to "<path>.relay.json" for `edxbus outbox status`.
 *
 * Threads: the producer runs run() on its own thread (producer.c); stop is an atomic flag
 * polled between steps, so edxbus_relay_stop() is safe from any thread or a signal handler.
 */
#include "metrics_int.h"
#include "outbox_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#define RELAY_BATCH 1000           /* entries taken from the outbox per poll */
/* Confirmed entries are deleted once this many wait, when the outbox holds nothing else (one
 * cheap clearing instead of a b-tree removal per row), or when the relay stops. The cost: a
 * relay working through a backlog keeps at most this many sent entries in the file (about
 * 60 MB of 600-byte events) before deleting them. */
#define RELAY_RETIRE_ROWS 100000
#define RETRY_MIN_MS 100           /* first pause after a failed send */
#define FLUSH_TIMEOUT_MS 30000     /* the most a batch may take to be confirmed */
#define POLL_MS 200                /* how long a poll of the outbox waits (stop latency) */
#define LOCK_WAIT_STEP_MS 50       /* how often a relay waiting for the lock tries again */

enum relay_state { STATE_UNKNOWN, STATE_FORWARDING, STATE_UNREACHABLE };

/* The outcome of one asynchronous send. */
struct slot {
    struct edxbus_relay *relay;
    edxbus_err_t err;
    bool done;
};

struct edxbus_relay {
    edxbus_conf_t *conf;  /* a copy of the caller's: the broker's settings */
    edxbus_conf_t *oconf; /* the outbox log's settings */
    const struct edxbus_backend_ops *oops, *dops; /* outbox log, broker */
    edxbus_catalog_t *cat; /* the events' schemas (Kafka registers the value schema) */
    char *path, *lock_path;
    int lock_fd;            /* -1 until run() holds the lock */
    void *ocons;            /* outbox consumer, during run() */
    void *dprod;            /* broker producer, or NULL until (re)opened */
    atomic_int stop;
    struct edxbus__mworker *metrics; /* during run(): broker state (the outbox gauges: a watch) */
    atomic_uint_fast64_t sent;
    int64_t retry_max_ms;
    enum relay_state state;
    int64_t down_since_ms;  /* when the broker was lost (state UNREACHABLE) */
    int64_t timeout_ms;     /* run(): how long the broker may stay unreachable; -1: no bound */
    char why[EDXBUS_ERRSTR_SIZE]; /* the first failure of the current attempt */
    struct slot *slots;
    size_t nslots;
};

/* ---------------------------------------------------------------------------------------------
 * Lifecycle
 * ------------------------------------------------------------------------------------------- */

edxbus_relay_t *edxbus_relay_new(const edxbus_conf_t *conf, char *errstr, size_t errstr_size)
{
    edxbus_relay_t *relay = calloc(1, sizeof *relay);
    if (relay == NULL)
        goto out_nomem;
    relay->lock_fd = -1;
    relay->oops = edxbus__outbox_ops(errstr, errstr_size);
    if (relay->oops == NULL)
        goto out_relay;
    /* The broker the producers would use without the outbox: the same choice as theirs. */
    relay->dops = edxbus_backend_for(conf, EDXBUS_PRODUCE, NULL, errstr, errstr_size);
    if (relay->dops == NULL)
        goto out_relay;
    if (relay->dops->producer_open == NULL || relay->dops->produce == NULL) {
        edxbus__errf(errstr, errstr_size, "EVENT_BUS_PRODUCER: backend %s cannot produce",
                     relay->dops->name);
        goto out_relay;
    }
    relay->oconf = edxbus__outbox_conf(conf, errstr, errstr_size);
    if (relay->oconf == NULL)
        goto out_relay;
    /* The relay's own commits (entries taken, acks, deletions) need not reach the disk at
     * once: lost on a power cut, they only make the relay send those entries again. The
     * producers' commits keep EVENT_BUS_SQLITE_SYNCHRONOUS (and their fsync of the log covers
     * every commit before theirs). */
    if (edxbus_conf_set(relay->oconf, "EVENT_BUS_SQLITE_SYNCHRONOUS", "NORMAL", errstr,
                        errstr_size) != EDXBUS_OK)
        goto out_relay;
    relay->conf = edxbus_conf_dup(conf);
    relay->path = strdup(edxbus_outbox_path(conf));
    relay->cat = edxbus_catalog_new();
    if (relay->conf == NULL || relay->path == NULL || relay->cat == NULL)
        goto out_nomem;
    relay->lock_path = edxbus__outbox_lock_path(relay->path);
    if (relay->lock_path == NULL)
        goto out_nomem;
    if (edxbus__load_schema_dirs(relay->cat, conf, errstr, errstr_size) != EDXBUS_OK)
        goto out_relay;
    relay->retry_max_ms =
        (int64_t)(edxbus_conf_get_double(conf, "EVENT_BUS_OUTBOX_RETRY_MAX", 10.0) * 1000);
    if (relay->retry_max_ms < RETRY_MIN_MS)
        relay->retry_max_ms = RETRY_MIN_MS;
    return relay;

out_nomem:
    edxbus__errf(errstr, errstr_size, "out of memory");
out_relay:
    edxbus_relay_destroy(relay);
    return NULL;
}

void edxbus_relay_destroy(edxbus_relay_t *relay)
{
    if (relay == NULL)
        return;
    if (relay->dprod != NULL)
        relay->dops->producer_close(relay->dprod);
    edxbus_catalog_destroy(relay->cat);
    edxbus_conf_destroy(relay->oconf);
    edxbus_conf_destroy(relay->conf);
    free(relay->path);
    free(relay->lock_path);
    free(relay->slots);
    free(relay);
}

void edxbus_relay_stop(edxbus_relay_t *relay)
{
    atomic_store(&relay->stop, 1);
}

uint64_t edxbus_relay_sent(const edxbus_relay_t *relay)
{
    return atomic_load(&((edxbus_relay_t *)relay)->sent);
}

static bool stopping(edxbus_relay_t *relay)
{
    return atomic_load(&relay->stop) != 0;
}

/* Sleep @p ms, waking early on stop. */
static void pause_ms(edxbus_relay_t *relay, int64_t ms)
{
    if (relay->metrics != NULL) /* waiting for the broker is the loop turning */
        edxbus__metrics_heartbeat(relay->metrics);
    while (ms > 0 && !stopping(relay)) {
        int64_t step = ms < 20 ? ms : 20;
        struct timespec ts = {0, (long)step * 1000000L};
        nanosleep(&ts, NULL);
        ms -= step;
    }
}

/* ---------------------------------------------------------------------------------------------
 * State changes: one log line each
 * ------------------------------------------------------------------------------------------- */

static void enter_state(edxbus_relay_t *relay, enum relay_state st, const char *why)
{
    if (relay->state == st)
        return;
    bool was_down = relay->state == STATE_UNREACHABLE;
    relay->state = st;
    if (relay->metrics != NULL)
        edxbus__metrics_worker_state(relay->metrics, st != STATE_UNREACHABLE, true, 0);
    int64_t now = edxbus__now_ms();
    if (st == STATE_UNREACHABLE) {
        relay->down_since_ms = now;
        uint64_t waiting = 0;
        char e[EDXBUS_ERRSTR_SIZE];
        edxbus__outbox_waiting(relay->conf, &waiting, e, sizeof e);
        edxbus_conf_log(relay->conf, EDXBUS_LOG_WARNING,
                        "outbox relay: cannot send to %s (%s); %llu events wait in %s, "
                        "retrying at most every %.1f s",
                        relay->dops->name, why, (unsigned long long)waiting, relay->path,
                        (double)relay->retry_max_ms / 1000.0);
        edxbus__outbox_state_write(relay->path, "unreachable", now, why);
    } else {
        if (was_down)
            edxbus_conf_log(relay->conf, EDXBUS_LOG_INFO,
                            "outbox relay: %s reachable again; forwarding %s", relay->dops->name,
                            relay->path);
        edxbus__outbox_state_write(relay->path, "forwarding", now, "");
    }
}

/* ---------------------------------------------------------------------------------------------
 * The lock: one relay per outbox file
 * ------------------------------------------------------------------------------------------- */

/* Take the lock, waiting until @p deadline (-1: for ever) or stop. */
static edxbus_err_t lock_take(edxbus_relay_t *relay, int64_t deadline, char *errstr,
                              size_t errstr_size)
{
    relay->lock_fd = open(relay->lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (relay->lock_fd < 0) {
        edxbus__errf(errstr, errstr_size, "outbox relay: cannot open %s: %s", relay->lock_path,
                     strerror(errno));
        return EDXBUS_ERR_IO;
    }
    for (;;) {
        if (flock(relay->lock_fd, LOCK_EX | LOCK_NB) == 0)
            return EDXBUS_OK;
        if (errno != EWOULDBLOCK && errno != EINTR) {
            edxbus__errf(errstr, errstr_size, "outbox relay: cannot lock %s: %s",
                         relay->lock_path, strerror(errno));
            break;
        }
        if (stopping(relay))
            return EDXBUS_OK;
        if (deadline >= 0 && edxbus__now_ms() >= deadline) {
            edxbus__errf(errstr, errstr_size,
                         "outbox relay: another relay holds %s; it is forwarding this outbox",
                         relay->lock_path);
            close(relay->lock_fd);
            relay->lock_fd = -1;
            return EDXBUS_ERR_TIMEOUT;
        }
        pause_ms(relay, LOCK_WAIT_STEP_MS);
    }
    close(relay->lock_fd);
    relay->lock_fd = -1;
    return EDXBUS_ERR_IO;
}

static void lock_release(edxbus_relay_t *relay)
{
    if (relay->lock_fd >= 0)
        close(relay->lock_fd); /* releases the flock */
    relay->lock_fd = -1;
}

/* ---------------------------------------------------------------------------------------------
 * Forwarding one batch
 * ------------------------------------------------------------------------------------------- */

static void delivered(void *opaque, const struct edxbus_msg *msg, edxbus_err_t err,
                      const char *errstr, const char *position)
{
    (void)msg;
    (void)position;
    struct slot *s = opaque;
    s->err = err;
    s->done = true;
    if (err != EDXBUS_OK && s->relay->why[0] == '\0')
        snprintf(s->relay->why, sizeof s->relay->why, "%s",
                 errstr != NULL && errstr[0] ? errstr : edxbus_err2str(err));
}

static void producer_drop(edxbus_relay_t *relay)
{
    if (relay->dprod != NULL)
        relay->dops->producer_close(relay->dprod); /* reports what is in flight, failed */
    relay->dprod = NULL;
}

/* Send rows [from, n) of @p b; returns how many from @p from on were confirmed in a row. */
static size_t send_rows(edxbus_relay_t *relay, const struct edxbus_batch *b, size_t from)
{
    relay->why[0] = '\0';
    if (relay->dprod == NULL &&
        relay->dops->producer_open(relay->conf, &relay->dprod, relay->why, sizeof relay->why) !=
            EDXBUS_OK) {
        relay->dprod = NULL;
        return 0;
    }
    for (size_t k = from; k < b->n; k++)
        relay->slots[k] = (struct slot){.relay = relay, .err = EDXBUS_OK, .done = false};
    size_t k;
    for (k = from; k < b->n; k++) {
        struct edxbus_header hdrs[16];
        struct edxbus_msg m;
        const char *key_schema;
        const struct edxbus_msg *row = &b->msgs[k];
        if (row->unusable != NULL || !edxbus__outbox_unwrap(row, &m, hdrs, 16, &key_schema)) {
            /* Not an entry edxbus wrote: nothing can be sent; say everything about it. */
            edxbus_conf_log(relay->conf, EDXBUS_LOG_ERROR,
                            "outbox relay: entry %s of %s is unusable (%s); dropped",
                            row->position, relay->path,
                            row->unusable != NULL ? row->unusable : "no destination topic");
            relay->slots[k].done = true;
            continue;
        }
        m.key_schema = key_schema;
        m.value_schema = NULL;
        if (m.metadata != NULL) {
            const edxbus_event_type_t *et = edxbus_catalog_find(relay->cat, m.metadata->event_type);
            if (et != NULL)
                m.value_schema = edxbus_event_type_schema_text(et);
        }
        char e[EDXBUS_ERRSTR_SIZE] = "";
        edxbus_err_t err;
        for (;;) {
            err = relay->dops->produce(relay->dprod, &m, delivered, &relay->slots[k], e, sizeof e);
            if (err != EDXBUS_ERR_QUEUE_FULL || relay->dops->flush == NULL)
                break;
            relay->dops->flush(relay->dprod, FLUSH_TIMEOUT_MS, e, sizeof e);
        }
        if (err != EDXBUS_OK) {
            relay->slots[k].done = true;
            relay->slots[k].err = err;
            if (relay->why[0] == '\0')
                snprintf(relay->why, sizeof relay->why, "%s", e[0] ? e : edxbus_err2str(err));
            break; /* keep the order: nothing after a refused entry */
        }
    }
    char e[EDXBUS_ERRSTR_SIZE] = "";
    if (relay->dops->flush != NULL &&
        relay->dops->flush(relay->dprod, FLUSH_TIMEOUT_MS, e, sizeof e) != EDXBUS_OK &&
        relay->why[0] == '\0')
        snprintf(relay->why, sizeof relay->why, "%s", e);
    size_t ok = 0;
    while (from + ok < b->n && relay->slots[from + ok].done &&
           relay->slots[from + ok].err == EDXBUS_OK)
        ok++;
    if (from + ok < b->n) {
        producer_drop(relay); /* settles what is still in flight before slots are reused */
        if (relay->why[0] == '\0')
            snprintf(relay->why, sizeof relay->why, "the broker did not confirm in time");
    }
    return ok;
}

/* Forward every row of @p b, retrying the unconfirmed rest with backoff. Returns EDXBUS_OK
 * (all sent, or stopping: the rest stays pending for the next run), or EDXBUS_ERR_TIMEOUT once
 * the broker has been unreachable for relay->timeout_ms. */
static edxbus_err_t forward(edxbus_relay_t *relay, const struct edxbus_batch *b, char *errstr,
                            size_t errstr_size)
{
    if (relay->nslots < b->n) {
        struct slot *s = realloc(relay->slots, b->n * sizeof *s);
        if (s == NULL) {
            edxbus__errf(errstr, errstr_size, "out of memory");
            return EDXBUS_ERR_NOMEM;
        }
        relay->slots = s;
        relay->nslots = b->n;
    }
    int64_t backoff = RETRY_MIN_MS;
    size_t i = 0;
    while (i < b->n && !stopping(relay)) {
        size_t ok = send_rows(relay, b, i);
        for (size_t k = i; k < i + ok; k++) {
            char e[EDXBUS_ERRSTR_SIZE];
            if (relay->oops->ack(relay->ocons, &b->msgs[k], e, sizeof e) != EDXBUS_OK)
                edxbus_conf_log(relay->conf, EDXBUS_LOG_WARNING,
                                "outbox relay: %s (the entry will be sent again)", e);
        }
        atomic_fetch_add(&relay->sent, ok);
        i += ok;
        if (i == b->n) {
            enter_state(relay, STATE_FORWARDING, NULL);
            break;
        }
        enter_state(relay, STATE_UNREACHABLE, relay->why);
        int64_t deadline = relay->timeout_ms >= 0 ? relay->down_since_ms + relay->timeout_ms : -1;
        if (deadline >= 0 && edxbus__now_ms() >= deadline) {
            edxbus__errf(errstr, errstr_size, "%s stayed unreachable: %s", relay->dops->name,
                         relay->why);
            return EDXBUS_ERR_TIMEOUT;
        }
        int64_t wait = backoff;
        if (deadline >= 0 && edxbus__now_ms() + wait > deadline)
            wait = deadline - edxbus__now_ms() + 1;
        pause_ms(relay, wait);
        backoff = backoff * 2 > relay->retry_max_ms ? relay->retry_max_ms : backoff * 2;
    }
    return EDXBUS_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Running
 * ------------------------------------------------------------------------------------------- */

edxbus_err_t edxbus_relay_run(edxbus_relay_t *relay, bool once, int64_t timeout_ms, char *errstr,
                              size_t errstr_size)
{
    int64_t deadline = timeout_ms >= 0 ? edxbus__now_ms() + timeout_ms : -1;
    relay->timeout_ms = timeout_ms;
    edxbus_err_t err = lock_take(relay, deadline, errstr, errstr_size);
    if (err != EDXBUS_OK || stopping(relay)) {
        lock_release(relay);
        return err;
    }
    json_t *extra = json_pack("{s:b, s:b, s:I}", "delete_acked", 1, "exclusive", 1,
                              "retire_rows", (json_int_t)RELAY_RETIRE_ROWS);
    struct edxbus_consumer_opts opts = {
        .topic = EDXBUS_OUTBOX_TOPIC,
        .group = EDXBUS__RELAY_GROUP,
        .consumer_name = EDXBUS__RELAY_GROUP,
        .start = "earliest",
        .start_time_ms = -1,
        .extra = extra,
    };
    err = extra != NULL ? relay->oops->consumer_open(relay->oconf, &opts, &relay->ocons, errstr,
                                                     errstr_size)
                        : EDXBUS_ERR_NOMEM;
    json_decref(extra);
    if (err != EDXBUS_OK) {
        if (err == EDXBUS_ERR_NOMEM)
            edxbus__errf(errstr, errstr_size, "out of memory");
        lock_release(relay);
        return err;
    }
    relay->metrics = edxbus__metrics_worker_open(relay->conf, "relay", relay->path, "", NULL, NULL);
    struct edxbus__outbox_watch *watch = edxbus__outbox_watch_start(relay->conf);
    if (relay->metrics != NULL)
        edxbus__metrics_worker_state(relay->metrics, relay->state != STATE_UNREACHABLE, true, 0);
    while (!stopping(relay)) {
        struct edxbus_batch b = {0};
        err = relay->oops->poll(relay->ocons, &b, RELAY_BATCH, once ? 0 : POLL_MS, errstr,
                                errstr_size);
        if (relay->metrics != NULL)
            edxbus__metrics_heartbeat(relay->metrics);
        if (err != EDXBUS_OK) {
            if (once)
                break;
            edxbus_conf_log(relay->conf, EDXBUS_LOG_WARNING, "outbox relay: %s", errstr);
            pause_ms(relay, 1000);
            err = EDXBUS_OK;
            continue;
        }
        if (b.n == 0) {
            if (once)
                break;
            continue;
        }
        err = forward(relay, &b, errstr, errstr_size);
        if (err != EDXBUS_OK)
            break;
    }
    edxbus__outbox_watch_stop(watch);
    edxbus__metrics_worker_close(relay->metrics);
    relay->metrics = NULL;
    relay->oops->consumer_close(relay->ocons); /* commits the acks: the rows go */
    relay->ocons = NULL;
    producer_drop(relay);
    lock_release(relay);
    return err;
}
