/* src/backends/common/consumer.c — what consumers share (backend_util.h): the meaning of
 * `start`, typed `--extra` options, a member's default name, the storage a batch borrows from
 * and lag rows.
 *
 * The core refuses `--extra` names a backend does not list (extra_options), so these getters
 * only check types; their messages name the option and give an example, in the same words on
 * every backend. Slots are grown, never shrunk: after the largest batch, polling allocates
 * nothing more (headers and copied bytes keep their memory from batch to batch).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "edxbus/backend_util.h"

enum edxbus_start edxbus_start_kind(const char *start)
{
    if (start == NULL || strcmp(start, "latest") == 0 || strcmp(start, "end") == 0)
        return EDXBUS_START_LATEST;
    if (strcmp(start, "earliest") == 0 || strcmp(start, "beginning") == 0)
        return EDXBUS_START_EARLIEST;
    return EDXBUS_START_POSITION;
}

/* The option's value, or NULL when absent or null. */
static const json_t *extra_value(const json_t *extra, const char *name)
{
    const json_t *v = json_is_object(extra) ? json_object_get(extra, name) : NULL;
    return json_is_null(v) ? NULL : v;
}

static edxbus_err_t extra_bad(const char *backend, const char *name, const char *what, char *errstr,
                              size_t errstr_size)
{
    edxbus_errf(errstr, errstr_size, "%s: --extra option \"%s\" must be %s", backend, name, what);
    return EDXBUS_ERR_INVALID_ARG;
}

edxbus_err_t edxbus_extra_get_str(const json_t *extra, const char *backend, const char *name,
                                  const char **out, char *errstr, size_t errstr_size)
{
    const json_t *v = extra_value(extra, name);
    if (v == NULL)
        return EDXBUS_OK;
    if (!json_is_string(v))
        return extra_bad(backend, name, "a string, e.g. \"c1\"", errstr, errstr_size);
    *out = json_string_value(v);
    return EDXBUS_OK;
}

edxbus_err_t edxbus_extra_get_bool(const json_t *extra, const char *backend, const char *name,
                                   bool *out, char *errstr, size_t errstr_size)
{
    const json_t *v = extra_value(extra, name);
    if (v == NULL)
        return EDXBUS_OK;
    if (!json_is_boolean(v))
        return extra_bad(backend, name, "true or false", errstr, errstr_size);
    *out = json_is_true(v);
    return EDXBUS_OK;
}

edxbus_err_t edxbus_extra_get_ms(const json_t *extra, const char *backend, const char *name,
                                 int64_t *out, char *errstr, size_t errstr_size)
{
    const json_t *v = extra_value(extra, name);
    if (v == NULL)
        return EDXBUS_OK;
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return extra_bad(backend, name, "a number of milliseconds >= 0, e.g. 60000", errstr,
                         errstr_size);
    *out = json_integer_value(v);
    return EDXBUS_OK;
}

void edxbus_member_name_default(char *out, size_t out_size)
{
    char host[256] = "localhost";
    gethostname(host, sizeof host - 1);
    host[sizeof host - 1] = '\0';
    snprintf(out, out_size, "%s-%ld", host, (long)getpid());
}

/* ------------------------------------------------------------------------------------------ */
/* Slots */

edxbus_err_t edxbus_slots_reserve(struct edxbus_slots *s, size_t n)
{
    if (n <= s->cap)
        return EDXBUS_OK;
    struct edxbus_slot *slots = realloc(s->slots, n * sizeof *slots);
    if (slots == NULL)
        return EDXBUS_ERR_NOMEM;
    memset(slots + s->cap, 0, (n - s->cap) * sizeof *slots);
    s->slots = slots;
    struct edxbus_msg *msgs = realloc(s->msgs, n * sizeof *msgs);
    if (msgs == NULL)
        return EDXBUS_ERR_NOMEM; /* slots grew, cap not yet: they grow again next time */
    s->msgs = msgs;
    s->cap = n;
    return EDXBUS_OK;
}

void edxbus_slots_fini(struct edxbus_slots *s)
{
    for (size_t i = 0; i < s->cap; i++) {
        free(s->slots[i].headers);
        edxbus_buf_fini(&s->slots[i].data);
    }
    free(s->slots);
    free(s->msgs);
    *s = (struct edxbus_slots)EDXBUS_SLOTS_INIT;
}

edxbus_err_t edxbus_slot_add_header(struct edxbus_slot *slot, struct edxbus_msg *msg,
                                    const char *name, const void *value, size_t len)
{
    if (msg->nheaders == slot->headers_cap) {
        size_t cap = slot->headers_cap ? slot->headers_cap * 2 : 4;
        struct edxbus_header *h = realloc(slot->headers, cap * sizeof *h);
        if (h == NULL)
            return EDXBUS_ERR_NOMEM;
        slot->headers = h;
        slot->headers_cap = cap;
    }
    slot->headers[msg->nheaders].name = name;
    slot->headers[msg->nheaders].value = value ? value : (const uint8_t *)"";
    slot->headers[msg->nheaders].len = len;
    msg->nheaders++;
    msg->headers = slot->headers;
    return EDXBUS_OK;
}

void edxbus_slot_unusable(struct edxbus_slot *slot, struct edxbus_msg *msg, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(slot->why, sizeof slot->why, fmt, ap);
    va_end(ap);
    msg->unusable = slot->why;
}

/* ------------------------------------------------------------------------------------------ */
/* Lag */

static json_t *int_or_null(int64_t v)
{
    return v < 0 ? json_null() : json_integer((json_int_t)v);
}

json_t *edxbus_lag_row(const char *group, const char *consumer, int64_t partition, int64_t pending,
                       int64_t undelivered, int64_t idle_ms)
{
    return json_pack("{s:s?, s:s?, s:o, s:o, s:o, s:o}", "group", group, "consumer", consumer,
                     "partition", int_or_null(partition), "pending", int_or_null(pending),
                     "undelivered", int_or_null(undelivered), "idle_ms", int_or_null(idle_ms));
}
