/* src/backends/nats/nats_doctor.c — `edxbus doctor` on NATS JetStream (the doctor slot,
 * backend.h).
 *
 * What can lose or hold back events on a NATS bus, checked on the live server with the bus's
 * own settings:
 *   - the account: JetStream storage used against the account's limit (a full account refuses
 *     every new event);
 *   - each stream of the bus (the one topic asked and its dead letters, or every stream whose
 *     subject starts with EVENT_BUS_TOPIC_PREFIX-): memory storage (a server restart empties
 *     it), a duplicate window shorter than a producer may wait before it resends
 *     (EVENT_BUS_NATS_DELIVERY_TIMEOUT / _TIMEOUT: a resend after it is stored twice), a
 *     work-queue retention (one group only);
 *   - each group (durable consumer) of a stream with limits (max messages, bytes or age) and
 *     the discard-old policy, which drops the oldest events whether a group acknowledged them
 *     or not: events dropped before the group was handed them (its last delivered sequence is
 *     below the stream's first one: an error naming the group and the count), and a backlog near a
 *     limit (at 80 % of max messages or bytes, or an oldest unacknowledged event at 80 % of the
 *     max age: a warning);
 *   - a group's backlog (num_pending + num_ack_pending) that grew between two samples, and the
 *     dead letters in `<topic>-dlq` streams the replay group has not taken yet.
 * Everything here reads; nothing on the server changes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "edxbus/backend_util.h"
#include "edxbus/consumer.h" /* EDXBUS_DLQ_REPLAY_GROUP */
#include "nats_int.h"

#define NEAR_LIMIT 0.8 /* a backlog at this share of a limit is near it */

struct doc {
    struct nats_conn conn;
    const struct edxbus_doctor_opts *opts;
    edxbus_finding_fn report;
    void *opaque;
    const char *server;     /* the URL, secrets masked */
    int64_t resend_after_ns; /* how long a producer may wait before it resends */
    char group_durable[NATS_STREAM_NAME_MAX]; /* opts->group's consumer name, or "" */
};

/* One group's first sample. */
struct sample {
    char stream[NATS_STREAM_NAME_MAX];
    char topic[NATS_STREAM_NAME_MAX];
    char durable[NATS_STREAM_NAME_MAX];
    int64_t backlog;
    int64_t at_ms;
};

struct samples {
    struct sample *v;
    size_t n, cap;
};

static void unreadable(struct doc *d, const char *what, natsStatus s, jsErrCode code)
{
    char err[EDXBUS_ERRSTR_SIZE];
    edxbus__nats_fail(s, code, what, err, sizeof err);
    edxbus_findingf(d->report, d->opaque, EDXBUS_SEVERITY_WARNING, "nats.unreadable", d->server,
                    "give the user of EVENT_BUS_NATS_URL the right to read JetStream's API "
                    "($JS.API.>), or check this by hand (nats stream info)",
                    NULL, "could not read %s: %s", what, err);
}

static void check_account(struct doc *d)
{
    jsAccountInfo *ai = NULL;
    jsErrCode code = 0;
    natsStatus s = js_GetAccountInfo(&ai, d->conn.js, NULL, &code);
    if (s != NATS_OK) {
        unreadable(d, "the account's JetStream information", s, code);
        return;
    }
    int64_t max = ai->Limits.MaxStore;
    edxbus_findingf(d->report, d->opaque, EDXBUS_SEVERITY_INFO, "nats.server", d->server, NULL,
                    json_pack("{s:I, s:I, s:I, s:I}", "streams", (json_int_t)ai->Streams,
                              "store_bytes", (json_int_t)ai->Store, "memory_bytes",
                              (json_int_t)ai->Memory, "max_store_bytes", (json_int_t)max),
                    "JetStream answers: %lld stream(s), %llu bytes on disk, %llu in memory",
                    (long long)ai->Streams, (unsigned long long)ai->Store,
                    (unsigned long long)ai->Memory);
    if (max > 0 && (double)ai->Store >= NEAR_LIMIT * (double)max)
        edxbus_findingf(d->report, d->opaque, EDXBUS_SEVERITY_WARNING, "nats.account-storage",
                        d->server,
                        "raise the account's JetStream max_file_store (server or account "
                        "configuration), or lower the streams' limits",
                        json_pack("{s:I, s:I}", "store_bytes", (json_int_t)ai->Store,
                                  "max_store_bytes", (json_int_t)max),
                        "the account uses %llu of its %lld bytes of JetStream storage: when it "
                        "is full, every new event is refused",
                        (unsigned long long)ai->Store, (long long)max);
    jsAccountInfo_Destroy(ai);
}

/* The stored time (ns since 1970) of @p seq, or -1. */
static int64_t stored_time_ns(struct doc *d, const char *stream, uint64_t seq)
{
    natsMsg *m = NULL;
    jsErrCode code = 0;
    if (js_GetMsg(&m, d->conn.js, stream, seq, NULL, &code) != NATS_OK)
        return -1;
    int64_t t = natsMsg_GetTime(m);
    natsMsg_Destroy(m);
    return t > 0 ? t : -1;
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* A group of a stream with limits that drop the oldest events, read or not. */
static void check_group_limits(struct doc *d, const jsStreamInfo *si, const jsConsumerInfo *ci,
                               const char *subject)
{
    const jsStreamConfig *sc = si->Config;
    int64_t backlog = (int64_t)ci->NumPending + ci->NumAckPending;
    uint64_t first = si->State.FirstSeq, delivered = ci->Delivered.Stream;
    uint64_t floor = ci->AckFloor.Stream;
    json_t *details = json_pack("{s:s, s:s}", "stream", sc->Name, "group", ci->Name);
    /* What the group was never handed: the stream goes on after its last delivery, but starts
     * later. (Events handed and then removed before their ack are not counted: the server
     * reports no acknowledgement floor for a group that acknowledged nothing yet.) */
    if (first > delivered + 1) {
        uint64_t lost = first - (delivered + 1);
        json_object_set_new(details, "lost", json_integer((json_int_t)lost));
        edxbus_findingf(d->report, d->opaque, EDXBUS_SEVERITY_ERROR, "nats.lost", subject,
                        "raise the stream's limits above the longest backlog (nats stream edit "
                        "--max-msgs/--max-bytes/--max-age; EVENT_BUS_NATS_STREAM_MAX_* for new "
                        "streams), or use interest retention; send the lost events again from "
                        "their source if they matter",
                        details,
                        "%llu event(s) were removed from the stream by its limits before group "
                        "%s was handed them: lost to it (the stream starts at %llu, the group "
                        "was handed up to %llu)",
                        (unsigned long long)lost, ci->Name, (unsigned long long)first,
                        (unsigned long long)delivered);
        return;
    }
    if (backlog <= 0) {
        json_decref(details);
        return;
    }
    char why[200] = "";
    if (sc->MaxMsgs > 0 && (double)backlog >= NEAR_LIMIT * (double)sc->MaxMsgs)
        snprintf(why, sizeof why, "max messages %lld", (long long)sc->MaxMsgs);
    else if (sc->MaxBytes > 0 && si->State.Msgs > 0 &&
             (double)si->State.Bytes * ((double)backlog / (double)si->State.Msgs) >=
                 NEAR_LIMIT * (double)sc->MaxBytes)
        snprintf(why, sizeof why, "max bytes %lld", (long long)sc->MaxBytes);
    else if (sc->MaxAge > 0) {
        uint64_t oldest = floor + 1 > first ? floor + 1 : first;
        int64_t t = stored_time_ns(d, sc->Name, oldest);
        if (t > 0 && (double)(now_ns() - t) >= NEAR_LIMIT * (double)sc->MaxAge)
            snprintf(why, sizeof why, "max age %.0f s (its oldest unacknowledged event is %.0f s "
                     "old)",
                     (double)sc->MaxAge / 1e9, (double)(now_ns() - t) / 1e9);
    }
    if (why[0] == '\0') {
        json_decref(details);
        return;
    }
    json_object_set_new(details, "backlog", json_integer((json_int_t)backlog));
    edxbus_findingf(d->report, d->opaque, EDXBUS_SEVERITY_WARNING, "nats.backlog-near-limit",
                    subject,
                    "catch the group up (more consumers, or find why they fail), or raise the "
                    "stream's limits (nats stream edit)",
                    details,
                    "group %s has %lld event(s) not acknowledged, near the stream's %s: beyond "
                    "it the oldest events are removed whether the group read them or not",
                    ci->Name, (long long)backlog, why);
}

static void add_sample(struct samples *ss, const char *stream, const char *topic,
                       const char *durable, int64_t backlog)
{
    if (ss->n == ss->cap) {
        size_t cap = ss->cap ? 2 * ss->cap : 16;
        struct sample *v = realloc(ss->v, cap * sizeof *v);
        if (v == NULL)
            return; /* one trend less */
        ss->v = v;
        ss->cap = cap;
    }
    struct sample *s = &ss->v[ss->n++];
    snprintf(s->stream, sizeof s->stream, "%s", stream);
    snprintf(s->topic, sizeof s->topic, "%s", topic);
    snprintf(s->durable, sizeof s->durable, "%s", durable);
    s->backlog = backlog;
    s->at_ms = edxbus_clock_mono_ms();
}

/* The groups of @p si: limits, and the first lag samples; dead letters for a -dlq stream. */
static void check_groups(struct doc *d, const jsStreamInfo *si, const char *topic,
                         struct samples *ss)
{
    const jsStreamConfig *sc = si->Config;
    bool dlq = edxbus_topic_is_dlq(topic);
    char replay[NATS_STREAM_NAME_MAX];
    edxbus__nats_durable_name(EDXBUS_DLQ_REPLAY_GROUP, replay, sizeof replay);
    jsConsumerInfoList *list = NULL;
    jsErrCode code = 0;
    natsStatus s = js_Consumers(&list, d->conn.js, sc->Name, NULL, &code);
    if (s != NATS_OK && s != NATS_NOT_FOUND) {
        char what[300];
        snprintf(what, sizeof what, "the groups of stream %.200s", sc->Name);
        unreadable(d, what, s, code);
        if (dlq)
            edxbus_doctor_dead_letters(d->report, d->opaque, topic, (int64_t)si->State.Msgs);
        return;
    }
    bool drops = sc->Retention != js_WorkQueuePolicy && sc->Discard == js_DiscardOld &&
                 (sc->MaxMsgs > 0 || sc->MaxBytes > 0 || sc->MaxAge > 0);
    int64_t waiting = (int64_t)si->State.Msgs; /* dead letters: all, unless the replay group */
    for (int i = 0; list != NULL && i < list->Count; i++) {
        const jsConsumerInfo *ci = list->List[i];
        if (ci->Config == NULL || ci->Config->Durable == NULL || ci->Name == NULL)
            continue; /* a tail's ordered consumer: no group */
        if (dlq && strcmp(ci->Name, replay) == 0) {
            waiting = (int64_t)ci->NumPending + ci->NumAckPending;
            continue;
        }
        if (d->group_durable[0] != '\0' && strcmp(ci->Name, d->group_durable) != 0)
            continue;
        char subject[600];
        snprintf(subject, sizeof subject, "stream %s, group %s", sc->Name, ci->Name);
        if (drops)
            check_group_limits(d, si, ci, subject);
        if (!dlq)
            add_sample(ss, sc->Name, topic, ci->Name,
                       (int64_t)ci->NumPending + ci->NumAckPending);
    }
    jsConsumerInfoList_Destroy(list);
    if (dlq)
        edxbus_doctor_dead_letters(d->report, d->opaque, topic, waiting);
}

static void check_stream(struct doc *d, const jsStreamInfo *si, struct samples *ss)
{
    const jsStreamConfig *sc = si->Config;
    const char *topic = sc->SubjectsLen > 0 ? sc->Subjects[0] : sc->Name;
    char subject[400];
    snprintf(subject, sizeof subject, "stream %s", sc->Name);
    const char *retention = sc->Retention == js_InterestPolicy    ? "interest"
                            : sc->Retention == js_WorkQueuePolicy ? "workqueue"
                                                                  : "limits";
    const char *storage = sc->Storage == js_MemoryStorage ? "memory" : "file";
    edxbus_findingf(d->report, d->opaque, EDXBUS_SEVERITY_INFO, "nats.stream", subject, NULL,
                    json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:f, s:f, s:I, s:s}", "stream",
                              sc->Name, "retention", retention, "storage", storage, "max_msgs",
                              (json_int_t)sc->MaxMsgs, "max_bytes", (json_int_t)sc->MaxBytes,
                              "replicas", (json_int_t)sc->Replicas, "max_age_s",
                              (double)sc->MaxAge / 1e9, "duplicate_window_s",
                              (double)sc->Duplicates / 1e9, "events",
                              (json_int_t)si->State.Msgs, "discard",
                              sc->Discard == js_DiscardNew ? "new" : "old"),
                    "%llu event(s); %s storage, %s retention, max messages %lld, max bytes "
                    "%lld, max age %.0f s, discard %s, duplicate window %.0f s, %lld replica(s)",
                    (unsigned long long)si->State.Msgs, storage, retention,
                    (long long)sc->MaxMsgs, (long long)sc->MaxBytes, (double)sc->MaxAge / 1e9,
                    sc->Discard == js_DiscardNew ? "new" : "old", (double)sc->Duplicates / 1e9,
                    (long long)sc->Replicas);
    if (sc->Storage == js_MemoryStorage)
        edxbus_findingf(d->report, d->opaque, EDXBUS_SEVERITY_WARNING, "nats.memory-storage",
                        subject,
                        "keep the bus's streams on file storage (EVENT_BUS_NATS_STREAM_STORAGE: "
                        "file for new streams; an existing stream must be recreated)",
                        json_pack("{s:s, s:I}", "stream", sc->Name, "events",
                                  (json_int_t)si->State.Msgs),
                        "the stream keeps its %llu event(s) in memory: a restart of the server "
                        "loses every one a group has not consumed yet",
                        (unsigned long long)si->State.Msgs);
    if (sc->Duplicates < d->resend_after_ns)
        edxbus_findingf(d->report, d->opaque, EDXBUS_SEVERITY_WARNING, "nats.duplicate-window",
                        subject,
                        "make the duplicate window longer than EVENT_BUS_NATS_DELIVERY_TIMEOUT "
                        "and EVENT_BUS_NATS_TIMEOUT (nats stream edit --dupe-window; "
                        "EVENT_BUS_NATS_DUPLICATE_WINDOW for new streams)",
                        json_pack("{s:s, s:f, s:f}", "stream", sc->Name, "duplicate_window_s",
                                  (double)sc->Duplicates / 1e9, "resend_after_s",
                                  (double)d->resend_after_ns / 1e9),
                        "the duplicate window (%.1f s) is shorter than a producer may wait for "
                        "an acknowledgement before it resends (%.1f s): an event stored but not "
                        "confirmed in time is stored twice when it is sent again",
                        (double)sc->Duplicates / 1e9, (double)d->resend_after_ns / 1e9);
    if (sc->Retention == js_WorkQueuePolicy)
        edxbus_findingf(d->report, d->opaque, EDXBUS_SEVERITY_WARNING, "nats.workqueue", subject,
                        "use limits or interest retention (EVENT_BUS_NATS_STREAM_RETENTION)",
                        NULL,
                        "the stream has work-queue retention: only one group can consume it, "
                        "and an event is gone once that group acknowledged it");
    check_groups(d, si, topic, ss);
}

/* Whether the stream of @p si is one of the bus's (its subject starts with "<prefix>-"). */
static bool of_the_bus(const jsStreamInfo *si, const char *prefix)
{
    if (si->Config == NULL)
        return false;
    if (prefix == NULL || prefix[0] == '\0')
        return true;
    size_t n = strlen(prefix);
    for (int i = 0; i < si->Config->SubjectsLen; i++) {
        const char *s = si->Config->Subjects[i];
        if (s != NULL && strncmp(s, prefix, n) == 0 && s[n] == '-')
            return true;
    }
    return false;
}

/* The one topic asked and its dead letters. */
static void check_topic(struct doc *d, struct samples *ss)
{
    char dlq[600];
    snprintf(dlq, sizeof dlq, "%s-dlq", d->opts->topic);
    const char *want[] = {d->opts->topic, dlq};
    for (int i = 0; i < 2; i++) {
        char stream[NATS_STREAM_NAME_MAX], err[EDXBUS_ERRSTR_SIZE];
        if (edxbus__nats_stream_name(want[i], stream, sizeof stream, err, sizeof err) !=
            EDXBUS_OK) {
            edxbus_findingf(d->report, d->opaque, EDXBUS_SEVERITY_WARNING, "nats.no-stream",
                            want[i], "check the topic's name", NULL, "%s", err);
            return;
        }
        jsStreamInfo *si = NULL;
        jsErrCode code = 0;
        natsStatus s = js_GetStreamInfo(&si, d->conn.js, stream, NULL, &code);
        if (s == NATS_OK)
            check_stream(d, si, ss);
        else if (s == NATS_NOT_FOUND && i == 0)
            edxbus_findingf(d->report, d->opaque, EDXBUS_SEVERITY_WARNING, "nats.no-stream",
                            want[0], "check the topic's name and EVENT_BUS_TOPIC_PREFIX", NULL,
                            "there is no stream for %s on the server: nothing was produced to it "
                            "yet, or the topic is misspelt",
                            want[0]);
        else if (s != NATS_NOT_FOUND)
            unreadable(d, stream, s, code);
        jsStreamInfo_Destroy(si);
    }
}

static int by_name(const void *a, const void *b)
{
    const jsStreamInfo *x = *(const jsStreamInfo *const *)a, *y = *(const jsStreamInfo *const *)b;
    return strcmp(x->Config->Name, y->Config->Name);
}

static void check_all(struct doc *d, const edxbus_conf_t *conf, struct samples *ss)
{
    jsStreamInfoList *list = NULL;
    jsErrCode code = 0;
    natsStatus s = js_Streams(&list, d->conn.js, NULL, &code);
    if (s != NATS_OK && s != NATS_NOT_FOUND) {
        unreadable(d, "the list of streams", s, code);
        return;
    }
    const char *prefix = edxbus_conf_get_str(conf, "EVENT_BUS_TOPIC_PREFIX", NULL);
    jsStreamInfo **mine = calloc(list != NULL && list->Count > 0 ? (size_t)list->Count : 1,
                                 sizeof *mine);
    size_t n = 0;
    for (int i = 0; mine != NULL && list != NULL && i < list->Count; i++)
        if (of_the_bus(list->List[i], prefix))
            mine[n++] = list->List[i];
    if (n == 0)
        edxbus_findingf(d->report, d->opaque, EDXBUS_SEVERITY_INFO, "nats.no-stream", d->server,
                        NULL, NULL, "no stream of the bus%s%s%s: nothing to look at yet",
                        prefix ? " (subjects " : "", prefix ? prefix : "", prefix ? "-*)" : "");
    qsort(mine, n, sizeof *mine, by_name);
    for (size_t i = 0; i < n; i++)
        check_stream(d, mine[i], ss);
    free(mine);
    jsStreamInfoList_Destroy(list);
}

/* The second samples, at least interval_ms after the first. */
static void lag_trends(struct doc *d, struct samples *ss)
{
    if (ss->n == 0)
        return;
    edxbus_clock_sleep_ms(ss->v[ss->n - 1].at_ms + d->opts->interval_ms - edxbus_clock_mono_ms());
    for (size_t i = 0; i < ss->n; i++) {
        const struct sample *s = &ss->v[i];
        jsConsumerInfo *ci = NULL;
        jsErrCode code = 0;
        if (js_GetConsumerInfo(&ci, d->conn.js, s->stream, s->durable, NULL, &code) == NATS_OK)
            edxbus_doctor_lag_trend(d->report, d->opaque, s->topic, s->durable, s->backlog,
                                    (int64_t)ci->NumPending + ci->NumAckPending,
                                    edxbus_clock_mono_ms() - s->at_ms);
        jsConsumerInfo_Destroy(ci);
    }
}

edxbus_err_t edxbus__nats_doctor(const edxbus_conf_t *conf, const struct edxbus_doctor_opts *opts,
                                 edxbus_finding_fn report, void *opaque, char *errstr,
                                 size_t errstr_size)
{
    struct doc d = {.opts = opts, .report = report, .opaque = opaque};
    edxbus_err_t err = edxbus__nats_conn_open(&d.conn, conf, NULL, errstr, errstr_size);
    if (err != EDXBUS_OK)
        return err;
    d.server = d.conn.display;
    double delivery = edxbus_conf_get_double(conf, NATS_SETTING_DELIVERY_TIMEOUT, 30);
    double request = edxbus_conf_get_double(conf, NATS_SETTING_TIMEOUT, 5);
    d.resend_after_ns = (int64_t)((delivery > request ? delivery : request) * 1e9);
    if (opts->group != NULL)
        edxbus__nats_durable_name(opts->group, d.group_durable, sizeof d.group_durable);
    check_account(&d);
    struct samples ss = {0};
    if (opts->topic != NULL)
        check_topic(&d, &ss);
    else
        check_all(&d, conf, &ss);
    lag_trends(&d, &ss);
    free(ss.v);
    edxbus__nats_conn_close(&d.conn);
    return EDXBUS_OK;
}
