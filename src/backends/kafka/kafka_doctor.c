/* src/backends/kafka/kafka_doctor.c — `edxbus doctor` on Kafka (the doctor slot, backend.h).
 *
 * What can stop or lose events on a Kafka bus, checked on the live cluster with the bus's own
 * settings:
 *   - the topics EVENT_BUS_PRODUCER_CONFIG routes to (the core hands the routes over): a
 *     missing one is an error when the brokers do not create topics on first use
 *     (auto.create.topics.enable=false: every send to it fails), a warning when they do (it is
 *     created with the broker's default partitions and replication, rarely what production
 *     wants) or when the setting cannot be read (DescribeConfigs refused);
 *   - the Schema Registry: unreachable (producers cannot send: error), or holding a schema under
 *     a route's subject that the catalog's schema is not compatible with (error: the registry
 *     refuses it at the first send), through the code of `edxbus schema check`
 *     (kafka_schema.c);
 *   - dead letters stored in `<topic>-dlq` topics; each consumer group's backlog on the bus's
 *     topics (the lag slot's count), sampled twice to see whether it grows.
 * Reads only: metadata, configs, watermarks, committed offsets, the registry's subjects.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "edxbus/backend_util.h"
#include "kafka_int.h"
#include "kafka_schema.h"

#define PAIRS_MAX 64 /* group x topic backlogs sampled in one run */

struct kdoc {
    const edxbus_conf_t *conf;
    const struct edxbus_doctor_opts *opts;
    edxbus_finding_fn report;
    void *opaque;
    rd_kafka_t *rk;
    const rd_kafka_metadata_t *md;
    const char *servers;
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const rd_kafka_metadata_topic_t *find_topic(const struct kdoc *d, const char *name)
{
    for (int i = 0; i < d->md->topic_cnt; i++)
        if (strcmp(d->md->topics[i].topic, name) == 0 &&
            d->md->topics[i].err == RD_KAFKA_RESP_ERR_NO_ERROR)
            return &d->md->topics[i];
    return NULL;
}

/* auto.create.topics.enable of the first broker: "true", "false", or NULL (unknown; *why
 * says why, static or in @p why). */
static const char *auto_create(struct kdoc *d, char *why, size_t why_size)
{
    static char value[8];
    const char *result = NULL;
    char id[16];
    snprintf(why, why_size, "no broker");
    if (d->md->broker_cnt < 1)
        return NULL;
    snprintf(id, sizeof id, "%d", d->md->brokers[0].id);
    rd_kafka_ConfigResource_t *res = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_BROKER, id);
    rd_kafka_queue_t *q = rd_kafka_queue_new(d->rk);
    rd_kafka_AdminOptions_t *ao = rd_kafka_AdminOptions_new(d->rk, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS);
    char e[128];
    rd_kafka_AdminOptions_set_request_timeout(ao, KAFKA_META_TIMEOUT_MS, e, sizeof e);
    rd_kafka_DescribeConfigs(d->rk, &res, 1, ao, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, KAFKA_META_TIMEOUT_MS + 1000);
    const rd_kafka_DescribeConfigs_result_t *r = ev ? rd_kafka_event_DescribeConfigs_result(ev)
                                                    : NULL;
    if (ev == NULL)
        snprintf(why, why_size, "no answer to DescribeConfigs");
    else if (rd_kafka_event_error(ev) != RD_KAFKA_RESP_ERR_NO_ERROR || r == NULL)
        snprintf(why, why_size, "%s", rd_kafka_event_error_string(ev));
    size_t nres = 0;
    const rd_kafka_ConfigResource_t **rs = r ? rd_kafka_DescribeConfigs_result_resources(r, &nres)
                                             : NULL;
    if (nres > 0 && rd_kafka_ConfigResource_error(rs[0]) != RD_KAFKA_RESP_ERR_NO_ERROR)
        snprintf(why, why_size, "%s", rd_kafka_ConfigResource_error_string(rs[0]));
    else if (nres > 0) {
        size_t n = 0;
        const rd_kafka_ConfigEntry_t **entries = rd_kafka_ConfigResource_configs(rs[0], &n);
        for (size_t i = 0; i < n; i++) {
            const char *v = rd_kafka_ConfigEntry_value(entries[i]);
            if (strcmp(rd_kafka_ConfigEntry_name(entries[i]), "auto.create.topics.enable") == 0 &&
                v != NULL) {
                snprintf(value, sizeof value, "%s", v);
                result = value;
            }
        }
        if (result == NULL)
            snprintf(why, why_size, "the broker did not list auto.create.topics.enable");
    }
    if (ev != NULL)
        rd_kafka_event_destroy(ev);
    rd_kafka_AdminOptions_destroy(ao);
    rd_kafka_queue_destroy(q);
    rd_kafka_ConfigResource_destroy(res);
    return result;
}

static bool seen_before(const struct edxbus_doctor_route *routes, size_t i)
{
    for (size_t j = 0; j < i; j++)
        if (strcmp(routes[j].topic, routes[i].topic) == 0)
            return true;
    return false;
}

static void check_topics(struct kdoc *d)
{
    const struct edxbus_doctor_opts *o = d->opts;
    char why[256];
    const char *autoc = NULL;
    bool asked = false;
    for (size_t i = 0; i < o->nroutes; i++) {
        const char *topic = o->routes[i].topic;
        if (seen_before(o->routes, i))
            continue;
        const rd_kafka_metadata_topic_t *t = find_topic(d, topic);
        if (t != NULL) {
            edxbus_findingf(d->report, d->opaque, EDXBUS_SEVERITY_INFO, "kafka.topic", topic,
                            NULL, json_pack("{s:s, s:i}", "topic", topic, "partitions",
                                            t->partition_cnt),
                            "exists, %d partition(s)", t->partition_cnt);
            continue;
        }
        if (!asked) {
            autoc = auto_create(d, why, sizeof why);
            asked = true;
        }
        json_t *details = json_pack("{s:s, s:s?}", "topic", topic, "auto_create", autoc);
        if (autoc != NULL && strcmp(autoc, "false") == 0)
            edxbus_findingf(d->report, d->opaque, EDXBUS_SEVERITY_ERROR, "kafka.topic-missing",
                            topic,
                            "create the topic (kafka-topics --create, or your cluster's tooling) "
                            "with the partitions and replication it needs",
                            details,
                            "EVENT_BUS_PRODUCER_CONFIG routes %s here, but the topic does not "
                            "exist and the brokers do not create topics "
                            "(auto.create.topics.enable=false): every send to it fails",
                            o->routes[i].event_type);
        else
            edxbus_findingf(d->report, d->opaque, EDXBUS_SEVERITY_WARNING, "kafka.topic-missing",
                            topic,
                            "create the topic yourself with the partitions and replication it "
                            "needs",
                            details,
                            "EVENT_BUS_PRODUCER_CONFIG routes %s here, but the topic does not "
                            "exist: %s",
                            o->routes[i].event_type,
                            autoc != NULL ? "the brokers create it at the first send, with their "
                                            "default partitions and replication"
                                          : "if the brokers do not create topics on first use, "
                                            "every send to it fails (their setting could not be "
                                            "read)");
    }
    if (asked && autoc == NULL)
        edxbus_findingf(d->report, d->opaque, EDXBUS_SEVERITY_INFO, "kafka.auto-create",
                        d->servers, NULL, NULL,
                        "could not read the brokers' auto.create.topics.enable: %s", why);
}

static void check_registry(struct kdoc *d)
{
    const struct edxbus_doctor_opts *o = d->opts;
    const char *url = edxbus_conf_get_str(d->conf, KAFKA_SETTING_REGISTRY_URL, NULL);
    if (o->nroutes == 0)
        return;
    if (url == NULL) {
        edxbus_findingf(d->report, d->opaque, EDXBUS_SEVERITY_ERROR, "kafka.registry", NULL,
                        "set EVENT_BUS_KAFKA_SCHEMA_REGISTRY_URL (with its API key and secret if "
                        "it needs them)",
                        NULL,
                        "EVENT_BUS_PRODUCER_CONFIG routes events to Kafka but no Schema Registry "
                        "is set: producers cannot frame an event without a schema id");
        return;
    }
    char err[EDXBUS_ERRSTR_SIZE];
    edxbus__kafka_schemas_t *ks = NULL;
    if (edxbus__kafka_schemas_open(d->conf, &ks, err, sizeof err) != EDXBUS_OK) {
        edxbus_findingf(d->report, d->opaque, EDXBUS_SEVERITY_ERROR, "kafka.registry", NULL,
                        "correct EVENT_BUS_KAFKA_SCHEMA_REGISTRY_URL", NULL, "%s", err);
        return;
    }
    for (size_t i = 0; i < o->nroutes; i++) {
        const struct edxbus_doctor_route *rt = &o->routes[i];
        char *subject = NULL;
        enum edxbus__kafka_compat compat = EDXBUS__KAFKA_NOT_REGISTERED;
        if (edxbus__kafka_schema_check(ks, rt->topic, rt->value_schema, &subject, &compat, err,
                                       sizeof err) != EDXBUS_OK) {
            edxbus_findingf(d->report, d->opaque, EDXBUS_SEVERITY_ERROR,
                            "kafka.registry-unreachable", NULL,
                            "start the registry or correct EVENT_BUS_KAFKA_SCHEMA_REGISTRY_URL "
                            "and its credentials; until then producers cannot send",
                            NULL, "%s", err);
            free(subject);
            break;
        }
        json_t *details = json_pack("{s:s, s:s, s:s}", "subject", subject ? subject : "",
                                    "topic", rt->topic, "event_type", rt->event_type);
        if (compat == EDXBUS__KAFKA_INCOMPATIBLE)
            edxbus_findingf(d->report, d->opaque, EDXBUS_SEVERITY_ERROR,
                            "kafka.schema-incompatible", subject,
                            "find which producer registered the subject's latest version (an "
                            "older or newer openedx-events); align the versions, or change the "
                            "subject's compatibility level in the registry",
                            details,
                            "the registry holds a schema for %s that this catalog's schema is not "
                            "compatible with: the first send of the event to %s is refused",
                            rt->event_type, rt->topic);
        else
            edxbus_findingf(d->report, d->opaque, EDXBUS_SEVERITY_INFO, "kafka.schema", subject,
                            NULL, details, "%s",
                            compat == EDXBUS__KAFKA_COMPATIBLE
                                ? "the catalog's schema is compatible with the registry's"
                                : "not registered yet: the first send registers it");
        free(subject);
    }
    edxbus__kafka_schemas_close(ks);
}

/* Whether @p topic (full) belongs to the bus: the topic asked, or the prefix's topics. */
static bool is_bus_topic(const struct kdoc *d, const char *topic)
{
    if (d->opts->topic != NULL) {
        size_t n = strlen(d->opts->topic);
        return strncmp(topic, d->opts->topic, n) == 0 &&
               (topic[n] == '\0' || strcmp(topic + n, "-dlq") == 0);
    }
    if (topic[0] == '_') /* __consumer_offsets, _schemas: the cluster's own */
        return false;
    const char *prefix = edxbus_conf_get_str(d->conf, "EVENT_BUS_TOPIC_PREFIX", NULL);
    size_t n = prefix ? strlen(prefix) : 0;
    return n == 0 || (strncmp(topic, prefix, n) == 0 && topic[n] == '-');
}

static void check_dead_letters(struct kdoc *d)
{
    for (int i = 0; i < d->md->topic_cnt; i++) {
        const rd_kafka_metadata_topic_t *t = &d->md->topics[i];
        if (t->err != RD_KAFKA_RESP_ERR_NO_ERROR || !edxbus_topic_is_dlq(t->topic) ||
            !is_bus_topic(d, t->topic))
            continue;
        int64_t stored = 0;
        for (int p = 0; p < t->partition_cnt; p++) {
            int64_t lo = 0, hi = 0;
            if (rd_kafka_query_watermark_offsets(d->rk, t->topic, t->partitions[p].id, &lo, &hi,
                                                 KAFKA_META_TIMEOUT_MS) ==
                RD_KAFKA_RESP_ERR_NO_ERROR)
                stored += hi > lo ? hi - lo : 0;
        }
        edxbus_doctor_dead_letters(d->report, d->opaque, t->topic, stored);
    }
}

struct pair {
    char *group;
    const char *topic; /* borrowed from the metadata */
    int64_t backlog;
    int64_t at_ms;
};

/* The group's backlog on @p topic through the lag slot; false when it has no offset there. */
static bool backlog_of(struct kdoc *d, const char *topic, const char *group, int64_t *out)
{
    char err[EDXBUS_ERRSTR_SIZE];
    json_t *rows = NULL;
    if (edxbus_backend_kafka.lag(d->conf, topic, group, &rows, err, sizeof err) != EDXBUS_OK)
        return false;
    size_t i;
    json_t *row;
    *out = 0;
    json_array_foreach(rows, i, row)
    {
        *out += json_integer_value(json_object_get(row, "undelivered"));
    }
    json_decref(rows);
    return true;
}

/* The consumer groups to sample: -g, or those the cluster lists. Returns how many (names new). */
static size_t groups_of(struct kdoc *d, char ***out)
{
    *out = NULL;
    if (d->opts->group != NULL) {
        *out = calloc(1, sizeof **out);
        if (*out == NULL || ((*out)[0] = strdup(d->opts->group)) == NULL)
            return 0;
        return 1;
    }
    const struct rd_kafka_group_list *gl = NULL;
    rd_kafka_resp_err_t e = rd_kafka_list_groups(d->rk, NULL, &gl, KAFKA_META_TIMEOUT_MS);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR || gl == NULL) {
        edxbus_findingf(d->report, d->opaque, EDXBUS_SEVERITY_INFO, "kafka.groups", d->servers,
                        "give -g GROUP to sample one group's lag", NULL,
                        "could not list the consumer groups: %s", rd_kafka_err2str(e));
        return 0;
    }
    size_t n = 0;
    *out = calloc((size_t)gl->group_cnt + 1, sizeof **out);
    for (int i = 0; *out != NULL && i < gl->group_cnt; i++)
        if (gl->groups[i].protocol_type == NULL || gl->groups[i].protocol_type[0] == '\0' ||
            strcmp(gl->groups[i].protocol_type, "consumer") == 0)
            if (((*out)[n] = strdup(gl->groups[i].group)) != NULL)
                n++;
    rd_kafka_group_list_destroy(gl);
    return n;
}

static void check_lag(struct kdoc *d)
{
    char **groups = NULL;
    size_t ngroups = groups_of(d, &groups), npairs = 0;
    struct pair pairs[PAIRS_MAX];
    for (size_t g = 0; g < ngroups; g++) {
        for (int i = 0; i < d->md->topic_cnt && npairs < PAIRS_MAX; i++) {
            const char *topic = d->md->topics[i].topic;
            if (d->md->topics[i].err != RD_KAFKA_RESP_ERR_NO_ERROR || !is_bus_topic(d, topic) ||
                edxbus_topic_is_dlq(topic))
                continue;
            int64_t b = 0;
            if (backlog_of(d, topic, groups[g], &b))
                pairs[npairs++] = (struct pair){groups[g], topic, b, now_ms()};
        }
    }
    if (npairs > 0) {
        int64_t left = pairs[npairs - 1].at_ms + d->opts->interval_ms - now_ms();
        if (left > 0) {
            struct timespec ts = {.tv_sec = left / 1000, .tv_nsec = (long)(left % 1000) * 1000000L};
            while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
                ;
        }
    }
    for (size_t i = 0; i < npairs; i++) {
        int64_t after = 0;
        if (backlog_of(d, pairs[i].topic, pairs[i].group, &after))
            edxbus_doctor_lag_trend(d->report, d->opaque, pairs[i].topic, pairs[i].group,
                                    pairs[i].backlog, after, now_ms() - pairs[i].at_ms);
    }
    for (size_t g = 0; g < ngroups; g++)
        free(groups[g]);
    free(groups);
}

edxbus_err_t edxbus__kafka_doctor(const edxbus_conf_t *conf, const struct edxbus_doctor_opts *opts,
                                  edxbus_finding_fn report, void *opaque, char *errstr,
                                  size_t errstr_size)
{
    struct kdoc d = {.conf = conf, .opts = opts, .report = report, .opaque = opaque};
    d.servers = edxbus_conf_get_str(conf, KAFKA_SETTING_BOOTSTRAP, "?");
    rd_kafka_conf_t *rdconf;
    edxbus_err_t err = edxbus__kafka_rdconf(conf, &rdconf, errstr, errstr_size);
    if (err != EDXBUS_OK)
        return err;
    const edxbus_conf_t *confp = conf; /* the log callback's opaque: lives until destroy */
    rd_kafka_conf_set_opaque(rdconf, &confp);
    char why[256];
    d.rk = rd_kafka_new(RD_KAFKA_PRODUCER, rdconf, why, sizeof why);
    if (d.rk == NULL) {
        rd_kafka_conf_destroy(rdconf);
        edxbus_errf(errstr, errstr_size, "kafka: cannot make a client: %.200s", why);
        return EDXBUS_ERR_CONF;
    }
    rd_kafka_resp_err_t e = rd_kafka_metadata(d.rk, 1, NULL, &d.md, KAFKA_META_TIMEOUT_MS);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        edxbus_errf(errstr, errstr_size, "kafka: the brokers %s did not answer: %s", d.servers,
                 rd_kafka_err2str(e));
        rd_kafka_destroy(d.rk);
        return edxbus__kafka_err(e);
    }
    edxbus_findingf(report, opaque, EDXBUS_SEVERITY_INFO, "kafka.cluster", d.servers, NULL,
                    json_pack("{s:i, s:i}", "brokers", d.md->broker_cnt, "topics",
                              d.md->topic_cnt),
                    "%d broker(s) answer; %d topic(s)", d.md->broker_cnt, d.md->topic_cnt);
    check_topics(&d);
    check_registry(&d);
    check_dead_letters(&d);
    check_lag(&d);
    rd_kafka_metadata_destroy(d.md);
    rd_kafka_destroy(d.rk);
    return EDXBUS_OK;
}
