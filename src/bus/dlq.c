/* src/bus/dlq.c — dead letters: storing them, listing them, replaying them.
 *
 * A dead letter is the original message produced unchanged (key, value bytes, metadata) to
 * "<full topic>-dlq" through the same backend, plus five headers: error (one line), group,
 * attempts, original_position and original_topic. Because it goes through the backend table,
 * the policy is the same on every broker (Redis writes the headers as extra entry fields after
 * event_data, Kafka as message headers).
 *
 * Replay produces each dead letter back to original_topic and acknowledges it in the group
 * EDXBUS_DLQ_REPLAY_GROUP: the group remembers what was replayed, so replaying twice sends
 * nothing twice. Listing reads in tail mode (no group), so it changes nothing.
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

/* Open a consumer of the dead-letter topic of @p topic. */
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
    struct edxbus_consumer_opts opts = {
        .topic = *dlq_topic, .group = group, .start = "earliest", .start_time_ms = -1};
    edxbus_err_t err = (*ops)->consumer_open(conf, &opts, be, errstr, errstr_size);
    if (err != EDXBUS_OK) {
        free(*dlq_topic);
        *dlq_topic = NULL;
    }
    return err;
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
    for (;;) {
        struct edxbus_batch batch = {0};
        err = ops->poll(be, &batch, 64, 200, errstr, errstr_size);
        if (err != EDXBUS_OK || batch.n == 0)
            break;
        size_t i;
        for (i = 0; i < batch.n; i++) {
            if (!fn(opaque, &batch.msgs[i]))
                break;
        }
        if (i < batch.n)
            break;
    }
    ops->consumer_close(be);
    free(dlq_topic);
    return err;
}

edxbus_err_t edxbus_dlq_replay(const edxbus_conf_t *conf, const char *topic, uint64_t *replayed,
                               char *errstr, size_t errstr_size)
{
    const struct edxbus_backend_ops *ops;
    void *be = NULL, *prod = NULL;
    char *dlq_topic = NULL;
    uint64_t n = 0;
    edxbus_catalog_t *cat = NULL;
    edxbus_err_t err =
        open_dlq(conf, topic, EDXBUS_DLQ_REPLAY_GROUP, &ops, &be, &dlq_topic, errstr, errstr_size);
    if (err != EDXBUS_OK)
        goto out;
    err = ops->producer_open(conf, &prod, errstr, errstr_size);
    if (err != EDXBUS_OK)
        goto out_consumer;
    cat = edxbus_catalog_new();
    for (;;) {
        struct edxbus_batch batch = {0};
        err = ops->poll(be, &batch, 64, 200, errstr, errstr_size);
        if (err != EDXBUS_OK || batch.n == 0)
            break;
        for (size_t i = 0; i < batch.n && err == EDXBUS_OK; i++) {
            const struct edxbus_msg *dl = &batch.msgs[i];
            char *orig = edxbus_msg_header(dl, "original_topic");
            if (orig == NULL) {
                /* Not one of ours: derive the topic from the name. */
                size_t len = strlen(dl->topic);
                orig = len > 4 ? strndup(dl->topic, len - 4) : strdup(dl->topic);
            }
            const edxbus_event_type_t *et = dl->metadata != NULL && cat != NULL
                                                ? edxbus_catalog_find(cat, dl->metadata->event_type)
                                                : NULL;
            struct edxbus_msg m = {
                .topic = orig,
                .key = dl->key,
                .key_len = dl->key_len,
                .value = dl->value,
                .value_len = dl->value_len,
                .metadata = dl->metadata,
                /* The writer's schema when the broker names it (Kafka: the registry id in the
                 * dead letter's framing), so the bytes go back as they were. */
                .key_schema = dl->key != NULL ? dl->key_schema : NULL,
                .value_schema = dl->value_schema != NULL ? dl->value_schema
                                : et != NULL         ? edxbus_event_type_schema_text(et)
                                                     : NULL,
            };
            err = orig == NULL ? EDXBUS_ERR_NOMEM
                               : ops->produce(prod, &m, NULL, NULL, errstr, errstr_size);
            free(orig);
            if (err == EDXBUS_OK)
                err = ops->ack(be, dl, errstr, errstr_size);
            if (err == EDXBUS_OK)
                n++;
        }
        if (err != EDXBUS_OK)
            break;
    }
    edxbus_catalog_destroy(cat);
    ops->producer_close(prod);
out_consumer:
    ops->consumer_close(be);
out:
    free(dlq_topic);
    if (replayed != NULL)
        *replayed = n;
    return err;
}
