/* src/backends/redis/redis_consumer_open.c — opening and closing a Redis consumer: settings,
 * --extra keys, the member's name, joining a group (or starting tail mode) and taking over what
 * dead members of the same host left pending.
 *
 * A group is joined with `XGROUP CREATE s g <id> MKSTREAM`; BUSYGROUP means it exists and it
 * resumes where it left off. opts->start, last_read_msg_id and start_time_ms then move it
 * explicitly (XGROUP SETID). A default-named member ("<host>-<pid>") adopts, at open, the
 * pending entries of dead default-named members of its host (adopt_orphans()). Reading,
 * acknowledging and seeking are in redis_consumer.c, whose top comment has the whole design;
 * what the two files share is declared in redis_int.h.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "redis_int.h"

/* ------------------------------------------------------------------------------------------ */
/* Opening */

struct extra {
    const char *consumer_name;
    const char *last_read_msg_id;
    bool check_backlog;
    int64_t claim_ms;
};

/* The --extra options (the core refused unknown names already). */
static edxbus_err_t parse_extra(const json_t *obj, struct extra *x, char *errstr,
                                size_t errstr_size)
{
    memset(x, 0, sizeof *x);
    x->claim_ms = -1;
    edxbus_err_t err =
        edxbus_extra_get_str(obj, "redis", "consumer_name", &x->consumer_name, errstr, errstr_size);
    if (err == EDXBUS_OK)
        err = edxbus_extra_get_str(obj, "redis", "last_read_msg_id", &x->last_read_msg_id, errstr,
                                   errstr_size);
    if (err == EDXBUS_OK)
        err = edxbus_extra_get_bool(obj, "redis", "check_backlog", &x->check_backlog, errstr,
                                    errstr_size);
    if (err == EDXBUS_OK)
        err = edxbus_extra_get_ms(obj, "redis", "claim_msgs_older_than", &x->claim_ms, errstr,
                                  errstr_size);
    return err;
}

/* With the default name "<host>-<pid>" a restarted worker joins under a new name, and what
 * its previous run left unacknowledged would wait for a claim_msgs_older_than that may never
 * come. So a member with a default name takes over the pending entries of members named
 * "<this host>-<pid>" whose process is gone (kill(pid, 0) says ESRCH), then removes them from
 * the group. A live process (or a reused pid) is left alone. Members on other hosts (pods whose
 * host name changes) need claim_msgs_older_than. Best effort: failures are only logged. */
static void adopt_orphans(struct redis_consumer *cons)
{
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    size_t hlen = strlen(host);
    const char *argv[8] = {"XINFO", "CONSUMERS", cons->stream, cons->group};
    redisReply *members = NULL;
    char errstr[EDXBUS_ERRSTR_SIZE];
    if (hlen == 0 ||
        edxbus__redis_cons_command(cons, 4, argv, &members, errstr, sizeof errstr) != EDXBUS_OK ||
        members->type != REDIS_REPLY_ARRAY) {
        freeReplyObject(members);
        return;
    }
    for (size_t i = 0; i < members->elements; i++) {
        const redisReply *m = members->element[i];
        if (m->type != REDIS_REPLY_ARRAY || m->elements < 2 ||
            m->element[1]->type != REDIS_REPLY_STRING)
            continue;
        const char *name = m->element[1]->str; /* [name, <name>, pending, n, idle, ms…] */
        char *end;
        if (strncmp(name, host, hlen) != 0 || name[hlen] != '-' || name[hlen + 1] < '1' ||
            name[hlen + 1] > '9')
            continue;
        long pid = strtol(name + hlen + 1, &end, 10);
        if (*end != '\0' || pid == (long)getpid() || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue;
        size_t taken = 0;
        for (;;) { /* XPENDING a page of its ids, XCLAIM them, until none are left */
            const char *pargv[] = {"XPENDING", cons->stream, cons->group, "-", "+", "100", name};
            redisReply *page = NULL;
            if (edxbus__redis_cons_command(cons, 7, pargv, &page, errstr, sizeof errstr) !=
                    EDXBUS_OK ||
                page->type != REDIS_REPLY_ARRAY || page->elements == 0) {
                freeReplyObject(page);
                break;
            }
            const char *cargv[5 + 100 + 1] = {"XCLAIM", cons->stream, cons->group, cons->consumer,
                                              "0"};
            int cargc = 5;
            for (size_t k = 0; k < page->elements && k < 100; k++)
                cargv[cargc++] = page->element[k]->element[0]->str;
            cargv[cargc++] = "JUSTID";
            redisReply *claimed = NULL;
            edxbus_err_t err =
                edxbus__redis_cons_command(cons, cargc, cargv, &claimed, errstr, sizeof errstr);
            taken += page->elements;
            freeReplyObject(claimed);
            freeReplyObject(page);
            if (err != EDXBUS_OK)
                break;
        }
        const char *dargv[] = {"XGROUP", "DELCONSUMER", cons->stream, cons->group, name};
        redisReply *del = NULL;
        edxbus__redis_cons_command(cons, 5, dargv, &del, errstr, sizeof errstr);
        freeReplyObject(del);
        /* Said only when there was something to take over: a restart after a clean exit
         * leaves a member with nothing pending, and that is no news. */
        if (taken > 0)
            edxbus_conf_log(cons->conn.conf, EDXBUS_LOG_INFO,
                            "redis: %s took over %zu unacknowledged entries of %s (a process of "
                            "this host that is gone) in group %s of stream %s",
                            cons->consumer, taken, name, cons->group, cons->stream);
    }
    freeReplyObject(members);
}

static edxbus_err_t join_group(struct redis_consumer *cons, const struct edxbus_consumer_opts *opts,
                               const struct extra *x, char *errstr, size_t errstr_size)
{
    char id[EDXBUS_POSITION_MAX];
    const char *start = opts->start;
    if (x->check_backlog && (start == NULL || strcmp(start, "latest") == 0))
        start = "earliest"; /* the reference's check_backlog: a new group reads the backlog */
    edxbus_err_t err = edxbus__redis_position_to_id(start, id, sizeof id, errstr, errstr_size);
    bool created = false;
    if (err == EDXBUS_OK)
        err = edxbus__redis_group_create(cons, id, &created, errstr, errstr_size);
    if (err == EDXBUS_OK)
        edxbus_conf_log(cons->conn.conf, EDXBUS_LOG_INFO, "redis: %s group %s on stream %s as %s",
                        created ? "created" : "joined", cons->group, cons->stream, cons->consumer);
    if (err == EDXBUS_OK && x->last_read_msg_id != NULL)
        err = edxbus__redis_group_setid(cons, x->last_read_msg_id, errstr, errstr_size);
    if (err == EDXBUS_OK && opts->start_time_ms >= 0) {
        edxbus__redis_id_before((uint64_t)opts->start_time_ms, 0, id, sizeof id);
        err = edxbus__redis_group_setid(cons, id, errstr, errstr_size);
    }
    return err;
}

static edxbus_err_t join_tail(struct redis_consumer *cons, const struct edxbus_consumer_opts *opts,
                              char *errstr, size_t errstr_size)
{
    char id[EDXBUS_POSITION_MAX];
    edxbus_err_t err =
        edxbus__redis_position_to_id(opts->start, id, sizeof id, errstr, errstr_size);
    if (err == EDXBUS_OK && opts->start_time_ms >= 0)
        edxbus__redis_id_before((uint64_t)opts->start_time_ms, 0, id, sizeof id);
    if (err == EDXBUS_OK)
        err = edxbus__redis_move_to(cons, id, errstr, errstr_size);
    return err;
}

static void read_settings(struct redis_consumer *cons, const edxbus_conf_t *conf)
{
    double poll_s = edxbus_conf_get_double(conf, REDIS_SETTING_POLL_TIMEOUT, 60.0);
    cons->default_timeout_ms = poll_s >= 0 && poll_s < 86400 ? (int)(poll_s * 1000) : 60000;
    const char *svc = edxbus_conf_service_name(conf);
    cons->service_name = svc ? strdup(svc) : NULL;
}

edxbus_err_t edxbus__redis_consumer_open(const edxbus_conf_t *conf,
                                         const struct edxbus_consumer_opts *opts, void **be,
                                         char *errstr, size_t errstr_size)
{
    *be = NULL;
    if (!edxbus_conf_get_bool(conf, REDIS_SETTING_CONSUMERS_ENABLED, true)) {
        edxbus_errf(errstr, errstr_size,
                    "redis: consumers are disabled (" REDIS_SETTING_CONSUMERS_ENABLED " is false)");
        return EDXBUS_ERR_STATE;
    }
    if (opts == NULL || opts->topic == NULL || opts->topic[0] == '\0') {
        edxbus_errf(errstr, errstr_size, "redis: a consumer needs a topic (the stream name)");
        return EDXBUS_ERR_INVALID_ARG;
    }
    struct extra x;
    edxbus_err_t err = parse_extra(opts->extra, &x, errstr, errstr_size);
    if (err != EDXBUS_OK)
        return err;
    struct redis_consumer *cons = calloc(1, sizeof *cons);
    if (cons == NULL)
        goto nomem;
    cons->waker = edxbus_waker_new(errstr, errstr_size);
    if (cons->waker == NULL) {
        free(cons);
        return EDXBUS_ERR_IO;
    }
    read_settings(cons, conf);
    cons->stream = strdup(opts->topic);
    cons->group = opts->group ? strdup(opts->group) : NULL;
    if (opts->consumer_name != NULL)
        cons->consumer = strdup(opts->consumer_name);
    else if (x.consumer_name != NULL)
        cons->consumer = strdup(x.consumer_name);
    else {
        char name[300];
        edxbus_member_name_default(name, sizeof name);
        cons->consumer = strdup(name);
    }
    if (cons->stream == NULL || cons->consumer == NULL || (opts->group && !cons->group))
        goto nomem;
    cons->pending_phase = true;
    snprintf(cons->pending_cursor, sizeof cons->pending_cursor, "0-0");
    snprintf(cons->claim_cursor, sizeof cons->claim_cursor, "0-0");
    cons->claim_ms = x.claim_ms;
    err = edxbus__redis_conn_open(&cons->conn, conf, errstr, errstr_size);
    if (err != EDXBUS_OK) {
        cons->conn.conf = NULL; /* conn_open cleaned up after itself */
        edxbus__redis_consumer_close(cons);
        return err;
    }
    err = cons->group ? join_group(cons, opts, &x, errstr, errstr_size)
                      : join_tail(cons, opts, errstr, errstr_size);
    if (err == EDXBUS_OK && cons->group != NULL && opts->consumer_name == NULL &&
        x.consumer_name == NULL)
        adopt_orphans(cons);
    cons->reader = cons->group == NULL || opts->no_join;
    if (err == EDXBUS_OK && cons->reader)
        err = edxbus__redis_note_end(cons, errstr, errstr_size);
    if (err != EDXBUS_OK) {
        edxbus__redis_consumer_close(cons);
        return err;
    }
    *be = cons;
    return EDXBUS_OK;
nomem:
    edxbus__redis_consumer_close(cons);
    edxbus_errf(errstr, errstr_size, "redis: out of memory");
    return EDXBUS_ERR_NOMEM;
}

void edxbus__redis_consumer_close(void *be)
{
    struct redis_consumer *cons = be;
    if (cons == NULL)
        return;
    char errstr[EDXBUS_ERRSTR_SIZE];
    if (!edxbus__redis_conn_up(&cons->conn) && cons->nacks > 0 && cons->conn.conf != NULL)
        edxbus__redis_conn_ensure(&cons->conn, 1, errstr, sizeof errstr); /* a woken read
                                                                             dropped it */
    if (edxbus__redis_conn_up(&cons->conn) &&
        edxbus__redis_flush_acks(cons, errstr, sizeof errstr) != EDXBUS_OK)
        edxbus_conf_log(cons->conn.conf, EDXBUS_LOG_WARNING,
                        "%s (these entries will be delivered again)", errstr);
    edxbus__redis_batch_release(cons);
    if (cons->conn.conf != NULL)
        edxbus__redis_conn_close(&cons->conn);
    edxbus_slots_fini(&cons->batch);
    free(cons->acks);
    free(cons->stream);
    free(cons->group);
    free(cons->consumer);
    free(cons->service_name);
    edxbus_waker_free(cons->waker);
    free(cons);
}

void edxbus__redis_wake(void *be)
{
    edxbus_waker_wake(((struct redis_consumer *)be)->waker);
}
