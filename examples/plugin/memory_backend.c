/* examples/plugin/memory_backend.c — an example backend plugin: an in-memory broker.
 *
 * Build it as a shared object (the examples' pkg-config command, with -fPIC -shared and without
 * --libs: a plugin calls nothing of edxbus, the program that loads it has the library):
 *     cc -fPIC -shared memory_backend.c $(pkg-config --cflags edxbus) -o libedxbus_example.so
 * and select it with a setting such as
 *     EVENT_BUS_PRODUCER: /usr/local/lib/libedxbus_example.so:edxbus_example_backend
 * edxbus dlopens the file, calls edxbus_example_backend() for the ops table, checks its ABI
 * version and registers it under its name ("memory"). Everything lives in this process's memory,
 * so it only connects producers and consumers of one process (tests, demos, a template).
 *
 * Design: one global store behind a mutex: topics, each an append-only array of messages (never
 * freed, so consumers borrow them without copying) and its groups. A group has a cursor (next
 * index) and a list of pending entries (taken, not acked) owned by member names; a member that
 * reopens under the same name gets its pending entries first. Positions are message indexes.
 * poll() waits on a condition variable that produce() signals. The optional lag and caught_up
 * slots are left NULL (the core answers EDXBUS_ERR_UNSUPPORTED).
 *
 * The plugin uses only include/edxbus/backend.h (types and constants): it calls no edxbus
 * function, so it loads into any program linked with edxbus, statically or not.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "edxbus/backend.h"

struct mem_msg {
    struct edxbus_msg msg; /* what consumers borrow; position filled */
    struct edxbus_metadata md;
    struct edxbus_header *hdrs;
    uint8_t *data; /* key, value, header names and values */
};

struct mem_pending {
    size_t index;
    char owner[128];
    int64_t deliveries;
};

struct mem_group {
    char *name;
    size_t next; /* first index not yet handed out */
    struct mem_pending *pending;
    size_t npending, cap;
    struct mem_group *next_group;
};

struct mem_topic {
    char *name;
    struct mem_msg **msgs;
    size_t n, cap;
    struct mem_group *groups;
    struct mem_topic *next_topic;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t arrived = PTHREAD_COND_INITIALIZER;
static struct mem_topic *topics; /* guarded by lock */

struct mem_consumer {
    struct mem_topic *topic;
    struct mem_group *group; /* NULL: tail */
    char name[128];
    size_t cursor;            /* tail only */
    bool own_checked;         /* pending entries from an earlier session handed out */
    struct edxbus_msg *batch; /* copies of the message headers (position, deliveries) */
    size_t batch_cap;
};

static struct mem_topic *topic_get(const char *name)
{
    for (struct mem_topic *t = topics; t != NULL; t = t->next_topic)
        if (strcmp(t->name, name) == 0)
            return t;
    struct mem_topic *t = calloc(1, sizeof *t);
    if (t != NULL)
        t->name = strdup(name);
    if (t == NULL || t->name == NULL) {
        free(t);
        return NULL;
    }
    t->next_topic = topics;
    topics = t;
    return t;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct mem_msg *msg_copy(const struct edxbus_msg *in, size_t index)
{
    size_t size = strlen(in->topic) + 1 + in->key_len + in->value_len + 1;
    for (size_t i = 0; i < in->nheaders; i++)
        size += strlen(in->headers[i].name) + 1 + in->headers[i].len;
    struct mem_msg *m = calloc(1, sizeof *m);
    if (m == NULL)
        return NULL;
    m->data = malloc(size);
    m->hdrs = calloc(in->nheaders + 1, sizeof *m->hdrs);
    if (m->data == NULL || m->hdrs == NULL) {
        free(m->data);
        free(m->hdrs);
        free(m);
        return NULL;
    }
    uint8_t *p = m->data;
    memcpy(p, in->topic, strlen(in->topic) + 1);
    m->msg.topic = (const char *)p;
    p += strlen(in->topic) + 1;
    if (in->key != NULL) {
        memcpy(p, in->key, in->key_len);
        m->msg.key = p;
        m->msg.key_len = in->key_len;
        p += in->key_len;
    }
    if (in->value_len)
        memcpy(p, in->value, in->value_len);
    m->msg.value = p;
    m->msg.value_len = in->value_len;
    p += in->value_len;
    for (size_t i = 0; i < in->nheaders; i++) {
        size_t nlen = strlen(in->headers[i].name) + 1;
        memcpy(p, in->headers[i].name, nlen);
        m->hdrs[i].name = (const char *)p;
        p += nlen;
        if (in->headers[i].len)
            memcpy(p, in->headers[i].value, in->headers[i].len);
        m->hdrs[i].value = p;
        m->hdrs[i].len = in->headers[i].len;
        p += in->headers[i].len;
    }
    m->msg.headers = in->nheaders ? m->hdrs : NULL;
    m->msg.nheaders = in->nheaders;
    if (in->metadata != NULL)
        m->md = *in->metadata;
    m->msg.metadata = &m->md;
    m->msg.unusable = in->metadata ? NULL : "the message has no metadata";
    snprintf(m->msg.position, sizeof m->msg.position, "%zu", index);
    m->msg.broker_time_ms = now_ms();
    return m;
}

/* --- producer ---------------------------------------------------------------------------- */

static edxbus_err_t mem_producer_open(const edxbus_conf_t *conf, void **be, char *errstr,
                                      size_t errstr_size)
{
    static int token;
    *be = &token; /* no per-producer state */
    return EDXBUS_OK;
}

static edxbus_err_t mem_produce(void *be, const struct edxbus_msg *msg, edxbus_delivery_fn cb,
                                void *cb_opaque, char *errstr, size_t errstr_size)
{
    char position[EDXBUS_POSITION_MAX];
    edxbus_err_t err = EDXBUS_ERR_NOMEM;
    pthread_mutex_lock(&lock);
    struct mem_topic *t = topic_get(msg->topic);
    if (t != NULL && t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        struct mem_msg **grown = realloc(t->msgs, cap * sizeof *grown);
        if (grown != NULL) {
            t->msgs = grown;
            t->cap = cap;
        }
    }
    if (t != NULL && t->n < t->cap) {
        t->msgs[t->n] = msg_copy(msg, t->n);
        if (t->msgs[t->n] != NULL) {
            snprintf(position, sizeof position, "%zu", t->n++);
            err = EDXBUS_OK;
            pthread_cond_broadcast(&arrived);
        }
    }
    pthread_mutex_unlock(&lock);
    if (err != EDXBUS_OK)
        snprintf(errstr, errstr_size, "memory: out of memory storing a message to %s", msg->topic);
    if (cb != NULL) /* stored already: report at once, from inside produce() */
        cb(cb_opaque, msg, err, err ? errstr : NULL, err ? NULL : position);
    return cb != NULL ? EDXBUS_OK : err;
}

static edxbus_err_t mem_flush(void *be, int timeout_ms, char *errstr, size_t errstr_size)
{
    return EDXBUS_OK; /* nothing is ever queued */
}

static void mem_producer_close(void *be) {}

/* --- consumer ---------------------------------------------------------------------------- */

static edxbus_err_t mem_consumer_open(const edxbus_conf_t *conf,
                                      const struct edxbus_consumer_opts *opts, void **be,
                                      char *errstr, size_t errstr_size)
{
    struct mem_consumer *cons = calloc(1, sizeof *cons);
    if (cons == NULL)
        return EDXBUS_ERR_NOMEM;
    pthread_mutex_lock(&lock);
    cons->topic = topic_get(opts->topic);
    size_t start = cons->topic ? cons->topic->n : 0; /* latest */
    if (opts->start != NULL && strcmp(opts->start, "earliest") == 0) {
        start = 0;
    } else if (opts->start != NULL && strcmp(opts->start, "latest") != 0) {
        char *end = NULL;
        errno = 0;
        unsigned long long v = strtoull(opts->start, &end, 10);
        if (errno != 0 || end == opts->start || *end != '\0') {
            pthread_mutex_unlock(&lock);
            free(cons);
            snprintf(errstr, errstr_size,
                     "memory: \"%s\" is not a position; expected earliest, latest or an index",
                     opts->start);
            return EDXBUS_ERR_INVALID_ARG;
        }
        start = (size_t)v;
    }
    if (cons->topic != NULL && opts->group != NULL) {
        struct mem_group *g = cons->topic->groups;
        while (g != NULL && strcmp(g->name, opts->group) != 0)
            g = g->next_group;
        if (g == NULL) {
            g = calloc(1, sizeof *g);
            if (g == NULL)
                goto out_unlock;
            g->name = strdup(opts->group);
            g->next = start;
            g->next_group = cons->topic->groups;
            cons->topic->groups = g;
        }
        cons->group = g;
    }
out_unlock:
    pthread_mutex_unlock(&lock);
    if (cons->topic == NULL || (opts->group != NULL && cons->group == NULL)) {
        free(cons);
        return EDXBUS_ERR_NOMEM;
    }
    cons->cursor = start;
    snprintf(cons->name, sizeof cons->name, "%s", opts->consumer_name ? opts->consumer_name : "");
    *be = cons;
    return EDXBUS_OK;
}

/* Take up to @p max messages under the lock; returns how many went into cons->batch. */
static size_t take_locked(struct mem_consumer *cons, size_t max)
{
    struct mem_topic *t = cons->topic;
    struct mem_group *g = cons->group;
    size_t n = 0;
    if (g == NULL) {
        while (n < max && cons->cursor < t->n)
            cons->batch[n++] = t->msgs[cons->cursor++]->msg;
        return n;
    }
    if (!cons->own_checked) { /* what this member took in an earlier session comes first */
        for (size_t i = 0; i < g->npending && n < max; i++) {
            if (strcmp(g->pending[i].owner, cons->name) == 0) {
                cons->batch[n] = t->msgs[g->pending[i].index]->msg;
                cons->batch[n++].deliveries = ++g->pending[i].deliveries;
            }
        }
        if (n < max)
            cons->own_checked = true;
    }
    while (n < max && g->next < t->n) {
        if (g->npending == g->cap) {
            size_t cap = g->cap ? g->cap * 2 : 16;
            struct mem_pending *grown = realloc(g->pending, cap * sizeof *grown);
            if (grown == NULL)
                break;
            g->pending = grown;
            g->cap = cap;
        }
        struct mem_pending *p = &g->pending[g->npending++];
        p->index = g->next++;
        p->deliveries = 1;
        snprintf(p->owner, sizeof p->owner, "%s", cons->name);
        cons->batch[n] = t->msgs[p->index]->msg;
        cons->batch[n++].deliveries = 1;
    }
    return n;
}

static edxbus_err_t mem_poll(void *be, struct edxbus_batch *out, size_t max, int timeout_ms,
                             char *errstr, size_t errstr_size)
{
    struct mem_consumer *cons = be;
    out->n = 0;
    out->msgs = NULL;
    if (max > cons->batch_cap) {
        struct edxbus_msg *grown = realloc(cons->batch, max * sizeof *grown);
        if (grown == NULL)
            return EDXBUS_ERR_NOMEM;
        cons->batch = grown;
        cons->batch_cap = max;
    }
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&lock);
    size_t n = take_locked(cons, max);
    while (n == 0 && max > 0 && timeout_ms > 0 &&
           pthread_cond_timedwait(&arrived, &lock, &until) == 0)
        n = take_locked(cons, max);
    if (n == 0 && max > 0)
        n = take_locked(cons, max);
    pthread_mutex_unlock(&lock);
    out->msgs = cons->batch;
    out->n = n;
    return EDXBUS_OK;
}

static edxbus_err_t mem_ack(void *be, const struct edxbus_msg *msg, char *errstr,
                            size_t errstr_size)
{
    struct mem_consumer *cons = be;
    if (cons->group == NULL)
        return EDXBUS_OK;
    size_t index = (size_t)strtoull(msg->position, NULL, 10);
    pthread_mutex_lock(&lock);
    struct mem_group *g = cons->group;
    for (size_t i = 0; i < g->npending; i++) {
        if (g->pending[i].index == index) {
            g->pending[i] = g->pending[--g->npending];
            break;
        }
    }
    pthread_mutex_unlock(&lock);
    return EDXBUS_OK;
}

static void mem_consumer_close(void *be)
{
    struct mem_consumer *cons = be;
    if (cons == NULL)
        return;
    free(cons->batch);
    free(cons); /* its pending entries stay with the group, under its name */
}

static const struct edxbus_backend_ops memory_ops = {
    .abi_version = EDXBUS_BACKEND_ABI,
    .name = "memory",
    .aliases = NULL,
    .producer_open = mem_producer_open,
    .produce = mem_produce,
    .flush = mem_flush,
    .producer_close = mem_producer_close,
    .consumer_open = mem_consumer_open,
    .poll = mem_poll,
    .ack = mem_ack,
    .consumer_close = mem_consumer_close,
    .lag = NULL,
};

/* The entry point named after the colon in the setting. */
__attribute__((visibility("default"))) const struct edxbus_backend_ops *edxbus_example_backend(void)
{
    return &memory_ops;
}
