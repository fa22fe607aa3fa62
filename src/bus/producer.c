/* src/bus/producer.c — the producer front end (producer.h): topic, key, then the backend.
 *
 * A send turns one event into one struct edxbus_msg: the full topic (the prefix rule of
 * edx-event-bus-redis/-kafka config.py, edxbus_routing_full_topic()), the key and its schema
 * text, the Avro body the signal already encoded, the metadata, and the event's schema text.
 * Backends see nothing else.
 *
 * The key (WIRE.md §4.1): the value at the dotted event_key_field, walked through the data by
 * edxbus_routing_key(), and encoded as the Avro body of that field's own schema, a plain string
 * or long; the walk through the schema reads the path by the same rule
 * (edxbus__key_path_next(), routing.c), so both refuse the same paths. The key schema
 * text is json.dumps(field definition, sort_keys=True), name included. A nullable key field
 * cannot be produced (fastavro raises on it in the reference), nor can any other type. What a
 * (type, key field) pair resolves to is cached per producer: the schema is walked once. The key
 * is then read from the Avro body (edxbus_avro_field_slice(): a string or long field's encoded
 * value is exactly its key encoding), so an event sent as bytes (typed API, outbox relay) is
 * not decoded to find it; the JSON data is walked only when that cannot be done.
 *
 * Async mode: the backend copies the message and reports through delivery(), which turns its
 * report into a struct edxbus_delivery for the user's callback.
 *
 * Outbox (EVENT_BUS_OUTBOX_PATH, outbox.h): the producer's backend is then the embedded log in
 * the outbox file, and each message is wrapped (edxbus__outbox_wrap(): one topic, destination
 * and key schema as headers) before it is produced there; a send (or a delivery report) says OK
 * once the outbox commit is durable. A relay thread (relay.c) forwards the outbox to
 * EVENT_BUS_PRODUCER unless EVENT_BUS_OUTBOX_RELAY is false; destroy stops it (entries not yet
 * forwarded stay in the outbox for the next relay).
 */
#include "metrics_int.h"
#include "outbox_int.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum key_kind { KEY_STRING, KEY_LONG, KEY_BAD };

#define KEY_DEPTH_MAX 16 /* names in an event_key_field read from the Avro bytes */

struct key_entry {
    const edxbus_event_type_t *et;
    char *path;
    enum key_kind kind;
    char *schema_text; /* KEY_STRING/KEY_LONG: json.dumps(field, sort_keys=True) */
    char *error;       /* KEY_BAD: why */
    /* The path split once into its names (into names_buf), for edxbus_avro_field_slice();
     * nnames 0: read the key from the JSON data instead. */
    char *names_buf;
    const char *names[KEY_DEPTH_MAX];
    size_t nnames;
};

struct edxbus_producer {
    edxbus_conf_t *conf;
    const struct edxbus_backend_ops *ops;
    void *be;
    edxbus_delivery_cb cb;
    void *cb_opaque;
    char *prefix;                /* EVENT_BUS_TOPIC_PREFIX, or NULL */
    struct edxbus_buf topic_buf; /* the last full topic built, NUL-terminated */
    struct key_entry *keys;
    size_t nkeys, capkeys;
    struct edxbus_buf keybuf;
    uint64_t delivered, failed;
    bool metrics; /* EVENT_BUS_METRICS_ENABLED: count into the registry (metrics_int.h) */
    /* Outbox mode: ops/be are the outbox's log, dest_name the broker's backend. */
    bool outbox;
    const char *dest_name;
    edxbus_conf_t *oconf; /* the outbox log's settings (the backend may keep a pointer) */
    edxbus_relay_t *relay;
    pthread_t relay_thread;
    struct edxbus__outbox_watch *watch; /* the outbox gauges, or NULL */
    pthread_mutex_t lock; /* recursive: sends, flushes and the state they change, one thread
                             at a time; a delivery callback may send again */
    struct sqlite3 *tx_db; /* during edxbus_send_event_tx(): write entries there instead */
    edxbus_err_t tx_err;   /* the first failure of such a write (the signal reports
                              EDXBUS_ERR_RECEIVER for it) */
};

/* ---------------------------------------------------------------------------------------------
 * Lifecycle
 * ------------------------------------------------------------------------------------------- */

static edxbus_err_t relay_start(edxbus_producer_t *prod, const edxbus_conf_t *conf, char *errstr,
                                size_t errstr_size);

/* A recursive mutex: a delivery callback runs inside a send or flush, holding the lock, and may
 * send again. Uncontended, a lock and an unlock cost a few tens of nanoseconds. */
static int lock_init(pthread_mutex_t *m)
{
    pthread_mutexattr_t attr;
    if (pthread_mutexattr_init(&attr) != 0)
        return -1;
    int rc = pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
    if (rc == 0)
        rc = pthread_mutex_init(m, &attr);
    pthread_mutexattr_destroy(&attr);
    return rc;
}

edxbus_producer_t *edxbus_producer_new(edxbus_conf_t *conf, char *errstr, size_t errstr_size)
{
    const char *setting = NULL;
    const struct edxbus_backend_ops *ops =
        edxbus_backend_for(conf, EDXBUS_PRODUCE, &setting, errstr, errstr_size);
    if (ops == NULL)
        return NULL;
    if (ops->producer_open == NULL || ops->produce == NULL) {
        edxbus__errf(errstr, errstr_size, "%s: backend %s cannot produce", setting, ops->name);
        return NULL;
    }
    edxbus_producer_t *prod = calloc(1, sizeof *prod);
    if (prod == NULL || lock_init(&prod->lock) != 0) {
        free(prod);
        edxbus__errf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    prod->dest_name = ops->name;
    prod->metrics = edxbus__metrics_enabled(conf);
    const edxbus_conf_t *open_conf = conf;
    if (edxbus_outbox_path(conf) != NULL) {
        prod->outbox = true;
        ops = edxbus__outbox_ops(errstr, errstr_size);
        if (ops == NULL)
            goto out_prod;
        prod->oconf = edxbus__outbox_conf(conf, errstr, errstr_size);
        if (prod->oconf == NULL)
            goto out_prod;
        open_conf = prod->oconf;
    }
    const char *prefix = edxbus_conf_get_str(conf, "EVENT_BUS_TOPIC_PREFIX", NULL);
    if (prefix != NULL && prefix[0] != '\0') {
        prod->prefix = strdup(prefix);
        if (prod->prefix == NULL) {
            edxbus__errf(errstr, errstr_size, "out of memory");
            goto out_prod;
        }
    }
    if (ops->producer_open(open_conf, &prod->be, errstr, errstr_size) != EDXBUS_OK)
        goto out_prod;
    prod->ops = ops;
    if (prod->outbox && edxbus_conf_get_bool(conf, "EVENT_BUS_OUTBOX_RELAY", true) &&
        relay_start(prod, conf, errstr, errstr_size) != EDXBUS_OK) {
        ops->producer_close(prod->be);
        goto out_prod;
    }
    prod->conf = conf;
    if (prod->outbox)
        prod->watch = edxbus__outbox_watch_start(conf);
    return prod;

out_prod:
    edxbus_conf_destroy(prod->oconf);
    free(prod->prefix);
    pthread_mutex_destroy(&prod->lock);
    free(prod);
    return NULL;
}

static void *relay_main(void *arg)
{
    edxbus_producer_t *prod = arg;
    char errstr[EDXBUS_ERRSTR_SIZE] = "";
    if (edxbus_relay_run(prod->relay, false, -1, errstr, sizeof errstr) != EDXBUS_OK)
        edxbus_conf_log(prod->oconf, EDXBUS_LOG_ERROR, "outbox relay stopped: %s", errstr);
    return NULL;
}

static edxbus_err_t relay_start(edxbus_producer_t *prod, const edxbus_conf_t *conf, char *errstr,
                                size_t errstr_size)
{
    prod->relay = edxbus_relay_new(conf, errstr, errstr_size);
    if (prod->relay == NULL)
        return EDXBUS_ERR_CONF;
    int rc = pthread_create(&prod->relay_thread, NULL, relay_main, prod);
    if (rc != 0) {
        edxbus__errf(errstr, errstr_size, "outbox relay: cannot start its thread: %s",
                     strerror(rc));
        edxbus_relay_destroy(prod->relay);
        prod->relay = NULL;
        return EDXBUS_ERR_NOMEM;
    }
    return EDXBUS_OK;
}

edxbus_err_t edxbus_producer_outbox_drain(edxbus_producer_t *prod, int timeout_ms,
                                          uint64_t *waiting, char *errstr, size_t errstr_size)
{
    *waiting = 0;
    if (!prod->outbox)
        return EDXBUS_OK;
    int64_t deadline = edxbus__now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    for (;;) {
        edxbus_err_t err = edxbus__outbox_waiting(prod->conf, waiting, errstr, errstr_size);
        if (err != EDXBUS_OK || *waiting == 0 || edxbus__now_ms() >= deadline)
            return err;
        edxbus__sleep_ms(20, NULL);
    }
}

edxbus_err_t edxbus_send_event_tx(edxbus_bus_t *bus, struct sqlite3 *db, const char *event_type,
                                  const json_t *data, char *errstr, size_t errstr_size)
{
    edxbus_producer_t *prod = edxbus_bus_producer(bus);
    if (prod == NULL) {
        const char *why = edxbus_bus_producer_problem(bus);
        edxbus__errf(errstr, errstr_size, "no producer: %s",
                     why != NULL ? why : "EVENT_BUS_PRODUCER_CONFIG routes nothing");
        return EDXBUS_ERR_STATE;
    }
    if (db == NULL) {
        edxbus__errf(errstr, errstr_size, "no database handle given for the transactional send");
        return EDXBUS_ERR_INVALID_ARG;
    }
    pthread_mutex_lock(&prod->lock); /* other threads' sends wait: they are not in @p db's
                                        transaction */
    prod->tx_db = db;
    prod->tx_err = EDXBUS_OK;
    edxbus_err_t err =
        edxbus_send_event(bus, event_type, data, EDXBUS_SEND_STRICT, NULL, errstr, errstr_size);
    prod->tx_db = NULL;
    edxbus_err_t tx_err = prod->tx_err;
    pthread_mutex_unlock(&prod->lock);
    return err == EDXBUS_ERR_RECEIVER && tx_err != EDXBUS_OK ? tx_err : err;
}

bool edxbus_producer_has_outbox(const edxbus_producer_t *prod)
{
    return prod->outbox;
}

void edxbus_producer_set_delivery_cb(edxbus_producer_t *prod, edxbus_delivery_cb cb, void *opaque)
{
    pthread_mutex_lock(&prod->lock);
    prod->cb = cb;
    prod->cb_opaque = opaque;
    pthread_mutex_unlock(&prod->lock);
}

edxbus_err_t edxbus_producer_flush(edxbus_producer_t *prod, int timeout_ms, char *errstr,
                                   size_t errstr_size)
{
    if (prod->ops->flush == NULL)
        return EDXBUS_OK;
    pthread_mutex_lock(&prod->lock);
    edxbus_err_t err = prod->ops->flush(prod->be, timeout_ms, errstr, errstr_size);
    pthread_mutex_unlock(&prod->lock);
    return err;
}

void edxbus_producer_destroy(edxbus_producer_t *prod)
{
    if (prod == NULL)
        return;
    edxbus__outbox_watch_stop(prod->watch);
    if (prod->relay != NULL) {
        edxbus_relay_stop(prod->relay);
        pthread_join(prod->relay_thread, NULL);
        edxbus_relay_destroy(prod->relay);
    }
    if (prod->ops->producer_close != NULL)
        prod->ops->producer_close(prod->be);
    edxbus_conf_destroy(prod->oconf);
    for (size_t i = 0; i < prod->nkeys; i++) {
        free(prod->keys[i].path);
        free(prod->keys[i].schema_text);
        free(prod->keys[i].error);
        free(prod->keys[i].names_buf);
    }
    free(prod->keys);
    edxbus_buf_fini(&prod->keybuf);
    edxbus_buf_fini(&prod->topic_buf);
    free(prod->prefix);
    edxbus_conf_destroy(prod->conf);
    pthread_mutex_destroy(&prod->lock);
    free(prod);
}

const char *edxbus_producer_full_topic(edxbus_producer_t *prod, const char *topic)
{
    edxbus_buf_reset(&prod->topic_buf);
    if (edxbus_routing_full_topic(prod->prefix, topic, &prod->topic_buf) != EDXBUS_OK ||
        edxbus_buf_terminate(&prod->topic_buf) != EDXBUS_OK)
        return NULL;
    return (const char *)prod->topic_buf.data;
}

const char *edxbus_producer_backend_name(const edxbus_producer_t *prod)
{
    return prod->dest_name;
}

uint64_t edxbus_producer_delivered(const edxbus_producer_t *prod)
{
    pthread_mutex_t *lock = (pthread_mutex_t *)&prod->lock;
    pthread_mutex_lock(lock);
    uint64_t n = prod->delivered;
    pthread_mutex_unlock(lock);
    return n;
}

uint64_t edxbus_producer_failed(const edxbus_producer_t *prod)
{
    pthread_mutex_t *lock = (pthread_mutex_t *)&prod->lock;
    pthread_mutex_lock(lock);
    uint64_t n = prod->failed;
    pthread_mutex_unlock(lock);
    return n;
}

/* ---------------------------------------------------------------------------------------------
 * Keys
 * ------------------------------------------------------------------------------------------- */

/* Resolve @p path in the event's schema into @p e (kind, schema text or error). */
static void resolve_key(const edxbus_event_type_t *et, const char *path, struct key_entry *e)
{
    char err[EDXBUS_ERRSTR_SIZE] = "";
    enum edxbus__key_kind kind =
        edxbus__key_field_resolve(et, path, &e->schema_text, err, sizeof err);
    e->kind = kind == EDXBUS__KEY_STRING ? KEY_STRING
              : kind == EDXBUS__KEY_LONG ? KEY_LONG
                                         : KEY_BAD;
    if (e->kind == KEY_BAD) {
        e->error = strdup(err);
        return;
    }
    /* The names, once: the key is then read from the event's Avro bytes (the field's encoded
     * value is the key's encoding), so an event sent as bytes is never decoded for its key. */
    size_t len = strlen(path);
    e->names_buf = malloc(len + 1 + KEY_DEPTH_MAX);
    if (e->names_buf == NULL)
        return;
    char *w = e->names_buf;
    const char *pos = path;
    bool last = false;
    while (!last && e->nnames < KEY_DEPTH_MAX) {
        char seg[EDXBUS__KEY_NAME_MAX];
        if (edxbus__key_path_next(path, &pos, seg, &last, NULL, 0) != EDXBUS_OK)
            break;
        size_t n = strlen(seg);
        memcpy(w, seg, n + 1);
        e->names[e->nnames++] = w;
        w += n + 1;
    }
    if (!last) /* deeper than KEY_DEPTH_MAX: read from the JSON data */
        e->nnames = 0;
}

static const struct key_entry *key_entry(edxbus_producer_t *prod, const edxbus_event_type_t *et,
                                         const char *path)
{
    for (size_t i = 0; i < prod->nkeys; i++) {
        if (prod->keys[i].et == et && strcmp(prod->keys[i].path, path) == 0)
            return &prod->keys[i];
    }
    if (prod->nkeys == prod->capkeys) {
        size_t cap = prod->capkeys ? prod->capkeys * 2 : 8;
        struct key_entry *k = realloc(prod->keys, cap * sizeof *k);
        if (k == NULL)
            return NULL;
        prod->keys = k;
        prod->capkeys = cap;
    }
    struct key_entry *e = &prod->keys[prod->nkeys];
    *e = (struct key_entry){.et = et, .path = strdup(path)};
    if (e->path == NULL)
        return NULL;
    resolve_key(et, path, e);
    prod->nkeys++;
    return e;
}

static void put_long(struct edxbus_buf *out, int64_t v)
{
    uint64_t z = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
    uint8_t b[10];
    size_t n = 0;
    while (z >= 0x80) {
        b[n++] = (uint8_t)(z | 0x80);
        z >>= 7;
    }
    b[n++] = (uint8_t)z;
    edxbus_buf_append(out, b, n);
}

/* Encode the key value of @p data at @p e->path into prod->keybuf. */
static edxbus_err_t encode_key(edxbus_producer_t *prod, const struct key_entry *e,
                               const json_t *data, char *errstr, size_t errstr_size)
{
    const json_t *v = NULL;
    edxbus_err_t err = edxbus_routing_key(data, e->path, &v, errstr, errstr_size);
    if (err != EDXBUS_OK)
        return err == EDXBUS_ERR_NOT_FOUND ? EDXBUS_ERR_ENCODE : err;
    edxbus_buf_reset(&prod->keybuf);
    if (e->kind == KEY_STRING && json_is_string(v)) {
        put_long(&prod->keybuf, (int64_t)json_string_length(v));
        edxbus_buf_append(&prod->keybuf, json_string_value(v), json_string_length(v));
        return EDXBUS_OK;
    }
    if (e->kind == KEY_LONG && json_is_integer(v)) {
        put_long(&prod->keybuf, json_integer_value(v));
        return EDXBUS_OK;
    }
    edxbus__errf(errstr, errstr_size, "event_key_field \"%s\": %s in the event data", e->path,
                 v == NULL || json_is_null(v) ? "null"
                 : e->kind == KEY_STRING      ? "expected a string"
                                              : "expected an integer");
    return EDXBUS_ERR_ENCODE;
}

/* ---------------------------------------------------------------------------------------------
 * Sending
 * ------------------------------------------------------------------------------------------- */

static void delivery(void *opaque, const struct edxbus_msg *msg, edxbus_err_t err,
                     const char *errstr, const char *position)
{
    edxbus_producer_t *prod = opaque;
    if (err == EDXBUS_OK)
        prod->delivered++;
    else
        prod->failed++;
    if (prod->cb == NULL && !prod->metrics)
        return;
    const char *topic = msg->topic;
    if (prod->outbox) { /* report the destination, not the outbox's own topic */
        struct edxbus_msg dest;
        struct edxbus_header hdrs[4];
        const char *key_schema;
        if (edxbus__outbox_unwrap(msg, &dest, hdrs, 4, &key_schema))
            topic = dest.topic;
        position = NULL;
    }
    if (prod->metrics) {
        edxbus__metrics_queue_add(-1);
        edxbus__metrics_produced(prod->conf, topic,
                                 msg->metadata != NULL ? msg->metadata->event_type : "",
                                 err == EDXBUS_OK);
    }
    if (prod->cb == NULL)
        return;
    struct edxbus_delivery d = {
        .event_type = msg->metadata != NULL ? msg->metadata->event_type : "",
        .event_id = msg->metadata != NULL ? msg->metadata->id : "",
        .topic = topic,
        .err = err,
        .errstr = errstr != NULL ? errstr : "",
        .position = position,
    };
    prod->cb(prod->cb_opaque, &d);
}

/* Hand @p msg (built by a send) to the outbox transaction, the outbox or the backend. */
static edxbus_err_t produce_msg(edxbus_producer_t *prod, const struct edxbus_msg *msg_in,
                                char *errstr, size_t errstr_size)
{
    struct edxbus_msg msg = *msg_in;
    struct edxbus_header ohdrs[2];
    struct edxbus_msg wrapped;
    if (prod->tx_db != NULL) { /* the transactional outbox: into the caller's transaction */
        edxbus__outbox_wrap(&msg, &wrapped, ohdrs);
        edxbus_err_t err = edxbus_sqlite_append_tx(prod->tx_db, &wrapped, errstr, errstr_size);
        if (err != EDXBUS_OK && prod->tx_err == EDXBUS_OK)
            prod->tx_err = err;
        return err;
    }
    if (prod->outbox) {
        edxbus__outbox_wrap(&msg, &wrapped, ohdrs);
        msg = wrapped;
    }
    edxbus_err_t err;
    if (prod->cb != NULL) {
        if (prod->metrics)
            edxbus__metrics_queue_add(1); /* before: the report may come inside produce() */
        err = prod->ops->produce(prod->be, &msg, delivery, prod, errstr, errstr_size);
        if (err != EDXBUS_OK && prod->metrics)
            edxbus__metrics_queue_add(-1);
        if (err != EDXBUS_OK && err != EDXBUS_ERR_QUEUE_FULL) {
            prod->failed++;
            if (prod->metrics)
                edxbus__metrics_produced(prod->conf, msg_in->topic,
                                         msg.metadata ? msg.metadata->event_type : "", false);
        }
    } else {
        err = prod->ops->produce(prod->be, &msg, NULL, NULL, errstr, errstr_size);
        if (err == EDXBUS_OK)
            prod->delivered++;
        else
            prod->failed++;
        if (prod->metrics)
            edxbus__metrics_produced(prod->conf, msg_in->topic,
                                     msg.metadata ? msg.metadata->event_type : "",
                                     err == EDXBUS_OK);
    }
    return err;
}

/* The message of @p ev to @p topic without its key: metadata, value, full topic, schema.
 * False (out of memory, said in @p errstr) when the value or topic cannot be made. */
static bool msg_init(edxbus_producer_t *prod, const edxbus_event_t *ev, const char *topic,
                     struct edxbus_msg *msg, char *errstr, size_t errstr_size)
{
    *msg = (struct edxbus_msg){
        .metadata = ev->md,
        .value_schema = edxbus_event_type_schema_text(ev->et),
    };
    msg->value = edxbus_event_get_value(ev, &msg->value_len);
    msg->topic = edxbus_producer_full_topic(prod, topic);
    if (msg->value == NULL || msg->topic == NULL) {
        edxbus__errf(errstr, errstr_size, "out of memory");
        return false;
    }
    return true;
}

static edxbus_err_t send_locked(edxbus_producer_t *prod, const edxbus_event_t *ev,
                                const char *topic, const char *event_key_field, char *errstr,
                                size_t errstr_size)
{
    if (edxbus_event_is_from_bus(ev)) {
        edxbus__errf(errstr, errstr_size,
                     "event %s came from the event bus; it is never produced again", ev->md->id);
        return EDXBUS_ERR_STATE;
    }
    struct edxbus_msg msg;
    if (!msg_init(prod, ev, topic, &msg, errstr, errstr_size))
        return EDXBUS_ERR_NOMEM;
    if (event_key_field != NULL && event_key_field[0] != '\0') {
        const struct key_entry *e = key_entry(prod, ev->et, event_key_field);
        if (e == NULL) {
            edxbus__errf(errstr, errstr_size, "out of memory");
            return EDXBUS_ERR_NOMEM;
        }
        if (e->kind == KEY_BAD) {
            edxbus__errf(errstr, errstr_size, "%s", e->error ? e->error : "bad key field");
            prod->failed++; /* refused before the broker: still a failed send */
            return EDXBUS_ERR_ENCODE;
        }
        size_t off = 0, klen = 0;
        if (e->nnames > 0 &&
            edxbus_avro_field_slice(edxbus_event_type_schema(ev->et), msg.value, msg.value_len,
                                    e->names, e->nnames, &off, &klen, NULL, 0) == EDXBUS_OK) {
            msg.key = msg.value + off; /* the field's bytes are the key's encoding */
            msg.key_len = klen;
        } else {
            const json_t *data = edxbus_event_get_data(ev);
            edxbus_err_t err = encode_key(prod, e, data, errstr, errstr_size);
            if (err != EDXBUS_OK) {
                prod->failed++;
                return err;
            }
            msg.key = prod->keybuf.data;
            msg.key_len = prod->keybuf.len;
        }
        msg.key_schema = e->schema_text;
    }
    return produce_msg(prod, &msg, errstr, errstr_size);
}

edxbus_err_t edxbus_producer_send(edxbus_producer_t *prod, const edxbus_event_t *ev,
                                  const char *topic, const char *event_key_field, char *errstr,
                                  size_t errstr_size)
{
    pthread_mutex_lock(&prod->lock);
    edxbus_err_t err = send_locked(prod, ev, topic, event_key_field, errstr, errstr_size);
    pthread_mutex_unlock(&prod->lock);
    return err;
}

static edxbus_err_t forward_locked(edxbus_producer_t *prod, const edxbus_event_t *ev,
                                   const char *topic, char *errstr, size_t errstr_size)
{
    struct edxbus_msg msg;
    if (!msg_init(prod, ev, topic, &msg, errstr, errstr_size))
        return EDXBUS_ERR_NOMEM;
    const struct edxbus_msg *src = ev->msg;
    if (src != NULL && src->key != NULL) {
        msg.key = src->key;
        msg.key_len = src->key_len;
        const char *field = edxbus_event_type_key_field(ev->et);
        const struct key_entry *e = field != NULL ? key_entry(prod, ev->et, field) : NULL;
        msg.key_schema = e != NULL && e->kind != KEY_BAD ? e->schema_text : NULL;
    }
    return produce_msg(prod, &msg, errstr, errstr_size);
}

edxbus_err_t edxbus__producer_forward(edxbus_producer_t *prod, const edxbus_event_t *ev,
                                      const char *topic, char *errstr, size_t errstr_size)
{
    pthread_mutex_lock(&prod->lock);
    edxbus_err_t err = forward_locked(prod, ev, topic, errstr, errstr_size);
    pthread_mutex_unlock(&prod->lock);
    return err;
}
