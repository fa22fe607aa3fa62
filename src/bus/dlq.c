/* src/bus/dlq.c — dead letters: storing them, listing them, replaying them.
 *
 * A dead letter is the original message produced unchanged (key, value bytes, metadata) to
 * "<full topic>-dlq" through the same backend, plus five headers: error (one line), group,
 * attempts, original_position and original_topic. Because it goes through the backend table,
 * the policy is the same on every broker (Redis writes the headers as extra entry fields after
 * event_data, Kafka as message headers).
 *
 * Replay produces each dead letter back to original_topic, naming it in msg.replay_of (the
 * event id is the same, and a broker that drops repeated ids must still store the copy), and
 * acknowledges it in the group
 * EDXBUS_DLQ_REPLAY_GROUP: the group remembers what was replayed, so replaying twice sends
 * nothing twice. That group is read by assignment (opts.no_join: a Kafka group join takes
 * seconds), and reading ends when the backend says everything stored at the start was handed
 * out (caught_up()), not at the first empty poll. Listing reads in tail mode (no group), so it
 * changes nothing. One dead letter by position is read as a tail and replayed whether or not
 * it was before; a group filter replays only the dead letters that group made (the others stay
 * unacknowledged, for a later replay).
 */
#include "bus_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *edxbus_dlq_topic(const char *full_topic)
{
    size_t n = strlen(full_topic) + sizeof "-dlq";
    char *out = malloc(n);
    if (out != NULL)
        snprintf(out, n, "%s-dlq", full_topic);
    return out;
}

char *edxbus_msg_header(const struct edxbus_msg *msg, const char *name)
{
    for (size_t i = 0; i < msg->nheaders; i++) {
        const struct edxbus_header *h = &msg->headers[i];
        if (h->name != NULL && strcmp(h->name, name) == 0)
            return strndup(h->value != NULL ? (const char *)h->value : "", h->len);
    }
    return NULL;
}

static struct edxbus_header text_header(const char *name, const char *value)
{
    return (struct edxbus_header){
        .name = name, .value = (const uint8_t *)value, .len = strlen(value)};
}

edxbus_err_t edxbus__dlq_send(const struct edxbus_backend_ops *ops, void *be,
                              const struct edxbus_msg *msg, const char *group, unsigned attempts,
                              const char *error, char *errstr, size_t errstr_size)
{
    char *topic = edxbus_dlq_topic(msg->topic);
    if (topic == NULL) {
        edxbus__errf(errstr, errstr_size, "out of memory");
        return EDXBUS_ERR_NOMEM;
    }
    char nattempts[24];
    snprintf(nattempts, sizeof nattempts, "%u", attempts);
    struct edxbus_header headers[5] = {
        text_header("error", error),
        text_header("group", group),
        text_header("attempts", nattempts),
        text_header("original_position", msg->position),
        text_header("original_topic", msg->topic),
    };
    /* An unusable envelope may have no metadata: send an empty one, the value stays intact. */
    static const struct edxbus_metadata empty_md;
    struct edxbus_msg dl = {
        .topic = topic,
        .key = msg->key,
        .key_len = msg->key_len,
        .value = msg->value != NULL ? msg->value : (const uint8_t *)"",
        .value_len = msg->value_len,
        .metadata = msg->metadata != NULL ? msg->metadata : &empty_md,
        .key_schema = msg->key_schema,
        .value_schema = msg->value_schema,
        .headers = headers,
        .nheaders = 5,
    };
    edxbus_err_t err = ops->produce(be, &dl, NULL, NULL, errstr, errstr_size);
    free(topic);
    return err;
}

/* How long a reader of dead letters waits without receiving one before it gives up short of
 * the end of the topic (the topic could not be read). */
#define DLQ_STALL_MS 30000

/* Open a consumer of the dead-letter topic of @p topic: in group @p group read by assignment
 * (no join), or a tail (@p group NULL), from the oldest. */
static edxbus_err_t open_dlq(const edxbus_conf_t *conf, const char *topic, const char *group,
                             const struct edxbus_backend_ops **ops, void **be, char **dlq_topic,
                             char *errstr, size_t errstr_size)
{
    *ops = edxbus_backend_for(conf, EDXBUS_CONSUME, NULL, errstr, errstr_size);
    if (*ops == NULL)
        return EDXBUS_ERR_CONF;
    char *full = edxbus__full_topic(conf, topic);
    *dlq_topic = full != NULL ? edxbus_dlq_topic(full) : NULL;
    free(full);
    if (*dlq_topic == NULL) {
        edxbus__errf(errstr, errstr_size, "out of memory");
        return EDXBUS_ERR_NOMEM;
    }
    struct edxbus_consumer_opts opts = {.topic = *dlq_topic,
                                        .group = group,
                                        .consumer_name = group != NULL ? group : NULL,
                                        .start = "earliest",
                                        .start_time_ms = -1,
                                        .no_join = true};
    edxbus_err_t err = (*ops)->consumer_open(conf, &opts, be, errstr, errstr_size);
    if (err != EDXBUS_OK) {
        free(*dlq_topic);
        *dlq_topic = NULL;
    }
    return err;
}

/* What to do with one dead letter; sets *stop to end the reading. */
typedef edxbus_err_t (*dl_visit_fn)(void *opaque, const struct edxbus_msg *msg, bool *stop,
                                    char *errstr, size_t errstr_size);

/* Read the dead letters of @p be until it has had every one stored when it was opened (the
 * backend's caught_up(); a backend without it: until a poll comes back empty), or @p visit
 * stops. Fails when nothing comes for DLQ_STALL_MS before the end. */
static edxbus_err_t read_dead_letters(const struct edxbus_backend_ops *ops, void *be,
                                      const char *dlq_topic, uint64_t *nread, dl_visit_fn visit,
                                      void *opaque, char *errstr, size_t errstr_size)
{
    bool has_end = ops->abi_version >= 3 && ops->caught_up != NULL;
    int64_t last = edxbus__now_ms();
    for (;;) {
        edxbus_err_t err;
        if (has_end) {
            bool done = false;
            err = ops->caught_up(be, &done, errstr, errstr_size);
            if (err != EDXBUS_OK || done)
                return err;
        }
        struct edxbus_batch batch = {0};
        err = ops->poll(be, &batch, 64, 200, errstr, errstr_size);
        if (err != EDXBUS_OK)
            return err;
        if (batch.n == 0) {
            if (!has_end)
                return EDXBUS_OK;
            if (edxbus__now_ms() - last > DLQ_STALL_MS) {
                edxbus__errf(errstr, errstr_size,
                             "%s: nothing could be read for %d s before its end (read %llu "
                             "dead letter(s))",
                             dlq_topic, DLQ_STALL_MS / 1000, (unsigned long long)*nread);
                return EDXBUS_ERR_TIMEOUT;
            }
            continue;
        }
        last = edxbus__now_ms();
        for (size_t i = 0; i < batch.n; i++) {
            (*nread)++;
            bool stop = false;
            err = visit(opaque, &batch.msgs[i], &stop, errstr, errstr_size);
            if (err != EDXBUS_OK || stop)
                return err;
        }
    }
}

struct dl_list {
    edxbus_dlq_fn fn;
    void *opaque;
};

static edxbus_err_t list_visit(void *opaque, const struct edxbus_msg *msg, bool *stop,
                               char *errstr, size_t errstr_size)
{
    (void)errstr;
    (void)errstr_size;
    struct dl_list *l = opaque;
    *stop = !l->fn(l->opaque, msg);
    return EDXBUS_OK;
}

edxbus_err_t edxbus_dlq_list(const edxbus_conf_t *conf, const char *topic, edxbus_dlq_fn fn,
                             void *opaque, char *errstr, size_t errstr_size)
{
    const struct edxbus_backend_ops *ops;
    void *be = NULL;
    char *dlq_topic = NULL;
    edxbus_err_t err = open_dlq(conf, topic, NULL, &ops, &be, &dlq_topic, errstr, errstr_size);
    if (err != EDXBUS_OK)
        return err;
    struct dl_list l = {fn, opaque};
    uint64_t n = 0;
    err = read_dead_letters(ops, be, dlq_topic, &n, list_visit, &l, errstr, errstr_size);
    ops->consumer_close(be);
    free(dlq_topic);
    return err;
}

struct dl_replay {
    const struct edxbus_backend_ops *ops;
    void *cons, *prod;
    edxbus_catalog_t *cat;
    const struct edxbus_dlq_replay_opts *opts;
    struct edxbus_dlq_counts *counts;
};

/* Whether @p dl is one the replay was asked for. */
static bool selected(const struct dl_replay *r, const struct edxbus_msg *dl)
{
    if (r->opts->position != NULL && strcmp(dl->position, r->opts->position) != 0)
        return false;
    if (r->opts->group != NULL) {
        char *group = edxbus_msg_header(dl, "group");
        bool same = group != NULL && strcmp(group, r->opts->group) == 0;
        free(group);
        if (!same)
            return false;
    }
    return true;
}

static edxbus_err_t replay_visit(void *opaque, const struct edxbus_msg *dl, bool *stop,
                                 char *errstr, size_t errstr_size)
{
    struct dl_replay *r = opaque;
    if (!selected(r, dl)) {
        r->counts->skipped++; /* not acknowledged: a later replay still sees it */
        return EDXBUS_OK;
    }
    char *orig = edxbus_msg_header(dl, "original_topic");
    if (orig == NULL) {
        /* Not one of ours: derive the topic from the name. */
        size_t len = strlen(dl->topic);
        orig = len > 4 ? strndup(dl->topic, len - 4) : strdup(dl->topic);
    }
    /* The copy names the dead letter it comes from: its event id is not new, and a broker that
     * drops repeated ids (NATS) must still store it (backend.h, replay_of). */
    char replay_of[EDXBUS_POSITION_MAX + 256];
    snprintf(replay_of, sizeof replay_of, "%.255s@%s", dl->topic != NULL ? dl->topic : "",
             dl->position);
    const edxbus_event_type_t *et = dl->metadata != NULL && r->cat != NULL
                                        ? edxbus_catalog_find(r->cat, dl->metadata->event_type)
                                        : NULL;
    struct edxbus_msg m = {
        .topic = orig,
        .key = dl->key,
        .key_len = dl->key_len,
        .value = dl->value,
        .value_len = dl->value_len,
        .metadata = dl->metadata,
        /* The writer's schema when the broker names it (Kafka: the registry id in the dead
         * letter's framing), so the bytes go back as they were. */
        .key_schema = dl->key != NULL ? dl->key_schema : NULL,
        .value_schema = dl->value_schema != NULL ? dl->value_schema
                        : et != NULL         ? edxbus_event_type_schema_text(et)
                                             : NULL,
        .replay_of = replay_of,
    };
    edxbus_err_t err = orig == NULL
                           ? EDXBUS_ERR_NOMEM
                           : r->ops->produce(r->prod, &m, NULL, NULL, errstr, errstr_size);
    free(orig);
    if (err == EDXBUS_OK)
        r->counts->sent++;
    if (err == EDXBUS_OK)
        err = r->ops->ack(r->cons, dl, errstr, errstr_size);
    *stop = r->opts->position != NULL; /* the one asked for */
    return err;
}

edxbus_err_t edxbus_dlq_replay_ex(const edxbus_conf_t *conf, const char *topic,
                                  const struct edxbus_dlq_replay_opts *opts,
                                  struct edxbus_dlq_counts *counts, char *errstr,
                                  size_t errstr_size)
{
    static const struct edxbus_dlq_replay_opts all;
    struct edxbus_dlq_counts local;
    if (counts == NULL)
        counts = &local;
    memset(counts, 0, sizeof *counts);
    if (opts == NULL)
        opts = &all;
    struct dl_replay r = {.opts = opts, .counts = counts};
    char *dlq_topic = NULL;
    /* One by position: read as a tail, whether replayed before or not. Otherwise in the
     * replay group, which remembers what was sent. */
    edxbus_err_t err =
        open_dlq(conf, topic, opts->position != NULL ? NULL : EDXBUS_DLQ_REPLAY_GROUP, &r.ops,
                 &r.cons, &dlq_topic, errstr, errstr_size);
    if (err != EDXBUS_OK)
        goto out;
    err = r.ops->producer_open(conf, &r.prod, errstr, errstr_size);
    if (err != EDXBUS_OK)
        goto out_consumer;
    r.cat = edxbus_catalog_new();
    uint64_t nread = 0;
    err = read_dead_letters(r.ops, r.cons, dlq_topic, &nread, replay_visit, &r, errstr,
                            errstr_size);
    counts->read = nread;
    if (err == EDXBUS_OK && opts->position != NULL && counts->sent == 0) {
        edxbus__errf(errstr, errstr_size,
                     "%s: no dead letter at position %s%s%s (edxbus dlq list shows the "
                     "positions)",
                     dlq_topic, opts->position, opts->group ? " of group " : "",
                     opts->group ? opts->group : "");
        err = EDXBUS_ERR_NOT_FOUND;
    }
    edxbus_catalog_destroy(r.cat);
    r.ops->producer_close(r.prod);
out_consumer:
    r.ops->consumer_close(r.cons);
out:
    free(dlq_topic);
    return err;
}

edxbus_err_t edxbus_dlq_replay(const edxbus_conf_t *conf, const char *topic, uint64_t *replayed,
                               char *errstr, size_t errstr_size)
{
    struct edxbus_dlq_counts counts;
    edxbus_err_t err = edxbus_dlq_replay_ex(conf, topic, NULL, &counts, errstr, errstr_size);
    if (replayed != NULL)
        *replayed = counts.sent;
    return err;
}
