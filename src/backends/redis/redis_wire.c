/* src/backends/redis/redis_wire.c — one stream entry <-> one edxbus_msg.
 *
 * The layout is edx-event-bus-redis's (WIRE.md §3.1), checked byte for byte against
 * tests/vectors/redis.jsonl: exactly the fields type, id, source, time, minorversion,
 * sourcehost, sourcelib, event_data in that order, bare names, the first seven as the UTF-8
 * text forms of EventsMetadata (edxbus_metadata_field_text) and event_data the raw Avro body.
 * Dead-letter details (msg->headers) follow event_data as extra fields; the reference consumer
 * ignores fields it does not know, so such entries stay readable by Python.
 *
 * Reading follows the reference's get_metadata_from_headers (WIRE.md §3.2 step 7): a metadata
 * field counts only when it is present and non-empty; otherwise EventsMetadata's default is
 * used, which is made on the consumer (a fresh uuid1 id, this host, now, this service's
 * source). When a field appears twice the last one wins (the reference reads the entry into a
 * dict). An entry without event_data or type, with a field the metadata rejects, or deleted
 * from the stream while still pending, is returned with msg->unusable saying why, so the
 * worker can log it by stream id and move on; whether the type is known is the core's call.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redis_int.h"

/* Wire field name -> EventsMetadata field name, in wire order. */
static const char *const wire_names[REDIS_WIRE_META_FIELDS] = {
    "type", "id", "source", "time", "minorversion", "sourcehost", "sourcelib",
};
static const char *const meta_names[REDIS_WIRE_META_FIELDS] = {
    "event_type", "id", "source", "time", "minorversion", "sourcehost", "sourcelib",
};

#define XADD_FIXED_ARGS 6 /* XADD <stream> [MAXLEN ~ <N>] * */

void edxbus__redis_wire_cmd_init(struct redis_wire_cmd *cmd)
{
    memset(cmd, 0, sizeof *cmd);
    edxbus_buf_init(&cmd->text);
}

void edxbus__redis_wire_cmd_fini(struct redis_wire_cmd *cmd)
{
    edxbus_buf_fini(&cmd->text);
    free(cmd->argv);
    free(cmd->lens);
    memset(cmd, 0, sizeof *cmd);
}

static edxbus_err_t reserve_args(struct redis_wire_cmd *cmd, size_t n)
{
    if (n <= cmd->cap)
        return EDXBUS_OK;
    const char **argv = realloc(cmd->argv, n * sizeof *argv);
    if (argv == NULL)
        return EDXBUS_ERR_NOMEM;
    cmd->argv = argv;
    size_t *lens = realloc(cmd->lens, n * sizeof *lens);
    if (lens == NULL)
        return EDXBUS_ERR_NOMEM;
    cmd->lens = lens;
    cmd->cap = n;
    return EDXBUS_OK;
}

static void set_arg(struct redis_wire_cmd *cmd, const void *data, size_t len)
{
    cmd->argv[cmd->argc] = data;
    cmd->lens[cmd->argc] = len;
    cmd->argc++;
}

edxbus_err_t edxbus__redis_wire_xadd(struct redis_wire_cmd *cmd, const struct edxbus_msg *msg,
                                     int64_t max_len, char *errstr, size_t errstr_size)
{
    if (msg->metadata == NULL || msg->topic == NULL) {
        edxbus_errf(errstr, errstr_size, "redis: a message needs a topic and metadata");
        return EDXBUS_ERR_INVALID_ARG;
    }
    size_t argc = XADD_FIXED_ARGS + 2 * (REDIS_WIRE_META_FIELDS + 1) + 2 * msg->nheaders;
    if (reserve_args(cmd, argc) != EDXBUS_OK)
        goto nomem;
    /* Text forms first (the buffer may move while it grows), pointers after. */
    size_t ends[REDIS_WIRE_META_FIELDS + 1];
    edxbus_buf_reset(&cmd->text);
    if (max_len > 0 && edxbus_buf_printf(&cmd->text, "%lld", (long long)max_len) != EDXBUS_OK)
        goto nomem;
    ends[0] = cmd->text.len;
    for (int i = 0; i < REDIS_WIRE_META_FIELDS; i++) {
        edxbus_err_t err = edxbus_metadata_field_text(msg->metadata, meta_names[i], &cmd->text);
        if (err != EDXBUS_OK) {
            edxbus_errf(errstr, errstr_size, "redis: metadata field %s: %s", meta_names[i],
                        edxbus_err2str(err));
            return err;
        }
        ends[i + 1] = cmd->text.len;
    }
    const char *text = (const char *)cmd->text.data;
    cmd->argc = 0;
    set_arg(cmd, "XADD", 4);
    set_arg(cmd, msg->topic, strlen(msg->topic));
    if (max_len > 0) { /* the reference's trimming clause */
        set_arg(cmd, "MAXLEN", 6);
        set_arg(cmd, "~", 1);
        set_arg(cmd, text, ends[0]);
    }
    set_arg(cmd, "*", 1);
    for (int i = 0; i < REDIS_WIRE_META_FIELDS; i++) {
        set_arg(cmd, wire_names[i], strlen(wire_names[i]));
        set_arg(cmd, text + ends[i], ends[i + 1] - ends[i]);
    }
    set_arg(cmd, "event_data", 10);
    /* An empty payload is still a field: "" (hiredis needs a non-NULL pointer). */
    set_arg(cmd, msg->value ? (const void *)msg->value : "", msg->value_len);
    for (size_t i = 0; i < msg->nheaders; i++) {
        const struct edxbus_header *h = &msg->headers[i];
        set_arg(cmd, h->name, strlen(h->name));
        set_arg(cmd, h->value ? (const void *)h->value : "", h->len);
    }
    return EDXBUS_OK;
nomem:
    edxbus_errf(errstr, errstr_size, "redis: out of memory building XADD");
    return EDXBUS_ERR_NOMEM;
}

/* ------------------------------------------------------------------------------------------ */
/* RESP: the bytes of a command, as redisFormatCommandArgv() makes them ("*<argc>\r\n", then
 * "$<len>\r\n<bytes>\r\n" per argument), without its sprintf per argument and its allocation:
 * they were half the instructions of a pipelined produce. */

static size_t decimal_len(size_t v)
{
    size_t n = 1;
    for (; v >= 10; v /= 10)
        n++;
    return n;
}

static char *put_decimal(char *p, size_t v, size_t ndigits)
{
    for (size_t i = ndigits; i > 0; i--, v /= 10)
        p[i - 1] = (char)('0' + v % 10);
    return p + ndigits;
}

size_t edxbus__redis_resp_size(int argc, const char *const *argv, const size_t *lens)
{
    size_t total = 1 + decimal_len((size_t)argc) + 2;
    for (int i = 0; i < argc; i++) {
        size_t len = lens != NULL ? lens[i] : strlen(argv[i]);
        total += 1 + decimal_len(len) + 2 + len + 2;
    }
    return total;
}

size_t edxbus__redis_resp_write(char *out, int argc, const char *const *argv, const size_t *lens)
{
    char *p = out;
    *p++ = '*';
    p = put_decimal(p, (size_t)argc, decimal_len((size_t)argc));
    *p++ = '\r';
    *p++ = '\n';
    for (int i = 0; i < argc; i++) {
        size_t len = lens != NULL ? lens[i] : strlen(argv[i]);
        *p++ = '$';
        p = put_decimal(p, len, decimal_len(len));
        *p++ = '\r';
        *p++ = '\n';
        if (len > 0)
            memcpy(p, argv[i], len);
        p += len;
        *p++ = '\r';
        *p++ = '\n';
    }
    return (size_t)(p - out);
}

/* ------------------------------------------------------------------------------------------ */
/* Reading */

static bool is_string(const redisReply *r)
{
    return r != NULL && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS);
}

/* Which metadata field the entry's field @p r names (its index in wire_names), or
 * REDIS_WIRE_META_FIELDS: told by the length first, then one memcmp (an entry's nine names
 * were compared with strlen and memcmp against up to seven names each). */
static int wire_field(const redisReply *r)
{
    int k;
    switch (r->len) {
    case 2:
        k = 1; /* id */
        break;
    case 4:
        k = r->str[0] == 't' && r->str[1] == 'y' ? 0 : 3; /* type, time */
        break;
    case 6:
        k = 2; /* source */
        break;
    case 9:
        k = 6; /* sourcelib */
        break;
    case 10:
        k = 5; /* sourcehost */
        break;
    case 12:
        k = 4; /* minorversion */
        break;
    default:
        return REDIS_WIRE_META_FIELDS;
    }
    return memcmp(r->str, wire_names[k], r->len) == 0 ? k : REDIS_WIRE_META_FIELDS;
}

/* The metadata of an entry whose type is present: reference defaults for what is missing. */
static void parse_metadata(const redisReply *const *vals, const char *service_name,
                           struct edxbus_msg *msg, struct edxbus_slot *slot)
{
    bool all = true;
    for (int i = 0; i < REDIS_WIRE_META_FIELDS; i++)
        if (vals[i] == NULL || vals[i]->len == 0)
            all = false;
    struct edxbus_metadata *md = &slot->md;
    char err[EDXBUS_ERRSTR_SIZE];
    if (!all &&
        edxbus_metadata_generate(md, vals[0]->str, 0, service_name, err, sizeof err) != EDXBUS_OK) {
        edxbus_slot_unusable(slot, msg, "stream entry %s: cannot make default metadata: %.140s",
                     msg->position, err);
        return;
    }
    for (int i = 0; i < REDIS_WIRE_META_FIELDS; i++) {
        if (vals[i] == NULL || vals[i]->len == 0)
            continue;
        if (edxbus_metadata_set_field(md, meta_names[i], vals[i]->str, vals[i]->len, err,
                                      sizeof err) != EDXBUS_OK) {
            edxbus_slot_unusable(slot, msg, "stream entry %s: %.170s", msg->position, err);
            return;
        }
    }
}

edxbus_err_t edxbus__redis_wire_parse(const redisReply *entry, const char *stream,
                                      const char *service_name, struct edxbus_msg *msg,
                                      struct edxbus_slot *slot)
{
    memset(msg, 0, sizeof *msg);
    memset(&slot->md, 0, sizeof slot->md); /* what an unusable entry shows: nothing stale */
    msg->topic = stream;
    msg->metadata = &slot->md;
    msg->broker_time_ms = -1;
    if (entry->type != REDIS_REPLY_ARRAY || entry->elements != 2 || !is_string(entry->element[0])) {
        snprintf(msg->position, sizeof msg->position, "?");
        edxbus_slot_unusable(slot, msg, "stream %s: malformed entry in the reply", stream);
        return EDXBUS_OK;
    }
    const redisReply *id = entry->element[0], *fields = entry->element[1];
    size_t idlen = id->len < sizeof msg->position ? id->len : sizeof msg->position - 1;
    memcpy(msg->position, id->str, idlen); /* as "%.*s" would, without printf */
    msg->position[idlen] = '\0';
    uint64_t ms, seq;
    if (edxbus__redis_id_parse(msg->position, &ms, &seq))
        msg->broker_time_ms = (int64_t)ms;
    if (fields->type != REDIS_REPLY_ARRAY) {
        /* A pending entry that trimming (MAXLEN) or XDEL removed: only its id is left. */
        edxbus_slot_unusable(slot, msg,
                             "stream entry %s was deleted from stream %s before it was read",
                             msg->position, stream);
        return EDXBUS_OK;
    }
    const redisReply *vals[REDIS_WIRE_META_FIELDS] = {NULL};
    const redisReply *data = NULL;
    for (size_t i = 0; i + 1 < fields->elements; i += 2) {
        const redisReply *name = fields->element[i], *value = fields->element[i + 1];
        if (!is_string(name) || !is_string(value))
            continue;
        if (name->len == 10 && memcmp(name->str, "event_data", 10) == 0) {
            data = value;
            continue;
        }
        int k = wire_field(name);
        if (k < REDIS_WIRE_META_FIELDS)
            vals[k] = value;
        else if (edxbus_slot_add_header(slot, msg, name->str, value->str, value->len) !=
                 EDXBUS_OK)
            return EDXBUS_ERR_NOMEM;
    }
    if (data != NULL) {
        msg->value = (const uint8_t *)data->str;
        msg->value_len = data->len;
    }
    if (data == NULL)
        edxbus_slot_unusable(slot, msg, "stream entry %s has no event_data field (stream %s)",
                             msg->position, stream);
    else if (vals[0] == NULL || vals[0]->len == 0)
        edxbus_slot_unusable(slot, msg, "stream entry %s has no type field (stream %s)",
                             msg->position, stream);
    else
        parse_metadata(vals, service_name, msg, slot);
    return EDXBUS_OK;
}
