/* tests/integration/kafka/registry_server.h — an in-memory Confluent Schema Registry for tests.
 *
 * test_registry_start() serves the REST subset the Kafka backend speaks (register under a
 * subject, schema by id, compatibility with the latest version, subjects, versions) with
 * libmicrohttpd on a free loopback port, from its own thread. Every request is recorded
 * (method, path with query, body) so tests can compare them with the reference's requests.
 * Ids are given from 1 up; a schema text registered again (under any subject) keeps its id, as
 * a real registry does. Compatibility checks apply BACKWARD (the registry default) with edxbus's
 * resolver. Knobs for failure tests: fail the next N requests with a status, demand basic auth,
 * answer "incompatible" to every check, stop and restart on the same port.
 *
 * Header-only (static functions) so each test program includes it; programs link
 * libmicrohttpd (tests/integration/kafka/link.cmake).
 */
#ifndef EDXBUS_TEST_REGISTRY_SERVER_H
#define EDXBUS_TEST_REGISTRY_SERVER_H

#include <arpa/inet.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edxbus/avro.h"

#define TEST_REGISTRY_MAX 4096 /* schemas, subjects and recorded requests each */

struct test_registry_request {
    char method[8];
    char *path; /* "/subjects/x/versions?normalize=False" */
    char *body; /* "" for none */
};

struct test_registry {
    struct MHD_Daemon *daemon;
    int port;
    char url[64]; /* "http://127.0.0.1:<port>" */
    pthread_mutex_t lock;
    /* state */
    char *schemas[TEST_REGISTRY_MAX]; /* id - 1 -> text */
    int nschemas;
    char *subjects[TEST_REGISTRY_MAX];
    int versions[TEST_REGISTRY_MAX][8]; /* schema ids per subject, in version order */
    int nversions[TEST_REGISTRY_MAX];
    int nsubjects;
    /* recording */
    struct test_registry_request requests[TEST_REGISTRY_MAX];
    int nrequests;
    /* knobs */
    int fail_next; /* answer this many requests with fail_status */
    int fail_status;
    bool incompatible;           /* compatibility checks answer false, whatever the schemas */
    const char *user, *password; /* demand basic auth when user != NULL */
};

struct test_registry_upload {
    char *data;
    size_t len;
};

static int test_registry_reply(struct MHD_Connection *conn, unsigned status, const char *body)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(r, "Content-Type", "application/vnd.schemaregistry.v1+json");
    int ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result test_registry_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                         const char *value)
{
    (void)kind;
    char *q = cls;
    size_t n = strlen(q);
    snprintf(q + n, 256 - n, "%s%s=%s", n ? "&" : "?", key, value ? value : "");
    return MHD_YES;
}

static int test_registry_find_subject(struct test_registry *reg, const char *subject)
{
    for (int i = 0; i < reg->nsubjects; i++)
        if (strcmp(reg->subjects[i], subject) == 0)
            return i;
    return -1;
}

/* BACKWARD compatibility, a registry's default level: data written with the latest version
 * @p latest can be read with the new schema @p schema (edxbus's own resolver decides). */
static bool test_registry_backward(const char *latest, const char *schema)
{
    char err[256];
    edxbus_avro_schema_t *w = edxbus_avro_schema_parse(latest, strlen(latest), err, sizeof err);
    edxbus_avro_schema_t *r = edxbus_avro_schema_parse(schema, strlen(schema), err, sizeof err);
    edxbus_avro_resolver_t *res = w && r ? edxbus_avro_resolver_new(w, r, err, sizeof err) : NULL;
    bool ok = res != NULL;
    edxbus_avro_resolver_destroy(res);
    edxbus_avro_schema_destroy(w);
    edxbus_avro_schema_destroy(r);
    return ok;
}

/* Serve one complete request; the caller holds reg->lock. */
static int test_registry_serve(struct test_registry *reg, struct MHD_Connection *conn,
                               const char *method, const char *url, const char *body)
{
    char buf[64];
    if (reg->fail_next > 0) {
        reg->fail_next--;
        return test_registry_reply(conn, (unsigned)reg->fail_status,
                                   "{\"error_code\": 50001, \"message\": \"injected failure\"}");
    }
    if (reg->user != NULL) {
        char *pass = NULL;
        char *user = MHD_basic_auth_get_username_password(conn, &pass);
        bool ok = user && pass && strcmp(user, reg->user) == 0 && strcmp(pass, reg->password) == 0;
        MHD_free(user);
        MHD_free(pass);
        if (!ok)
            return test_registry_reply(conn, 401,
                                       "{\"error_code\": 401, \"message\": \"Unauthorized\"}");
    }
    const char *p;
    if (strcmp(method, "GET") == 0 && strncmp(url, "/schemas/ids/", 13) == 0) {
        int id = (int)strtol(url + 13, NULL, 10);
        if (id < 1 || id > reg->nschemas)
            return test_registry_reply(
                conn, 404, "{\"error_code\": 40403, \"message\": \"Schema not found\"}");
        json_t *o = json_pack("{s:s}", "schema", reg->schemas[id - 1]);
        char *s = json_dumps(o, 0);
        int ret = test_registry_reply(conn, 200, s);
        free(s);
        json_decref(o);
        return ret;
    }
    if (strcmp(method, "GET") == 0 && strcmp(url, "/subjects") == 0) {
        json_t *a = json_array();
        for (int i = 0; i < reg->nsubjects; i++)
            json_array_append_new(a, json_string(reg->subjects[i]));
        char *s = json_dumps(a, 0);
        int ret = test_registry_reply(conn, 200, s);
        free(s);
        json_decref(a);
        return ret;
    }
    bool compat = strncmp(url, "/compatibility/subjects/", 24) == 0;
    const char *subject_start = compat                                ? url + 24
                                : strncmp(url, "/subjects/", 10) == 0 ? url + 10
                                                                      : NULL;
    if (subject_start == NULL || (p = strchr(subject_start, '/')) == NULL)
        return test_registry_reply(conn, 404,
                                   "{\"error_code\": 404, \"message\": \"HTTP 404 Not Found\"}");
    char subject[512];
    snprintf(subject, sizeof subject, "%.*s", (int)(p - subject_start), subject_start);
    int si = test_registry_find_subject(reg, subject);
    if (strcmp(method, "GET") == 0 && strcmp(p, "/versions") == 0) {
        if (si < 0)
            return test_registry_reply(
                conn, 404, "{\"error_code\": 40401, \"message\": \"Subject not found.\"}");
        json_t *a = json_array();
        for (int v = 0; v < reg->nversions[si]; v++)
            json_array_append_new(a, json_integer(v + 1));
        char *s = json_dumps(a, 0);
        int ret = test_registry_reply(conn, 200, s);
        free(s);
        json_decref(a);
        return ret;
    }
    if (strcmp(method, "POST") != 0)
        return test_registry_reply(conn, 405,
                                   "{\"error_code\": 405, \"message\": \"Method Not Allowed\"}");
    json_t *req = json_loads(body, 0, NULL);
    const char *schema = json_string_value(json_object_get(req, "schema"));
    if (schema == NULL) {
        json_decref(req);
        return test_registry_reply(conn, 422,
                                   "{\"error_code\": 42201, \"message\": \"Invalid schema\"}");
    }
    if (compat && strcmp(p, "/versions/latest") == 0) {
        bool ok = si >= 0 && !reg->incompatible &&
                  test_registry_backward(
                      reg->schemas[reg->versions[si][reg->nversions[si] - 1] - 1], schema);
        json_decref(req); /* schema points into it */
        if (si < 0)
            return test_registry_reply(
                conn, 404, "{\"error_code\": 40401, \"message\": \"Subject not found.\"}");
        return test_registry_reply(conn, 200,
                                   ok ? "{\"is_compatible\": true}" : "{\"is_compatible\": false}");
    }
    if (!compat && strcmp(p, "/versions") == 0) {
        int id = 0;
        for (int i = 0; i < reg->nschemas; i++)
            if (strcmp(reg->schemas[i], schema) == 0)
                id = i + 1;
        if (id == 0 && reg->nschemas < TEST_REGISTRY_MAX) {
            reg->schemas[reg->nschemas++] = strdup(schema);
            id = reg->nschemas;
        }
        json_decref(req);
        if (si < 0 && reg->nsubjects < TEST_REGISTRY_MAX) {
            si = reg->nsubjects++;
            reg->subjects[si] = strdup(subject);
            reg->nversions[si] = 0;
        }
        bool have = false;
        for (int v = 0; v < reg->nversions[si]; v++)
            have = have || reg->versions[si][v] == id;
        if (!have && reg->nversions[si] < 8)
            reg->versions[si][reg->nversions[si]++] = id;
        snprintf(buf, sizeof buf, "{\"id\": %d}", id);
        return test_registry_reply(conn, 200, buf);
    }
    json_decref(req);
    return test_registry_reply(conn, 404,
                               "{\"error_code\": 404, \"message\": \"HTTP 404 Not Found\"}");
}

static enum MHD_Result test_registry_handler(void *cls, struct MHD_Connection *conn,
                                             const char *url, const char *method,
                                             const char *version, const char *upload_data,
                                             size_t *upload_data_size, void **con_cls)
{
    (void)version;
    struct test_registry *reg = cls;
    struct test_registry_upload *up = *con_cls;
    if (up == NULL) {
        up = calloc(1, sizeof *up);
        *con_cls = up;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        up->data = realloc(up->data, up->len + *upload_data_size + 1);
        memcpy(up->data + up->len, upload_data, *upload_data_size);
        up->len += *upload_data_size;
        up->data[up->len] = '\0';
        *upload_data_size = 0;
        return MHD_YES;
    }
    char query[256] = "";
    MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, test_registry_arg, query);
    pthread_mutex_lock(&reg->lock);
    if (reg->nrequests < TEST_REGISTRY_MAX) {
        struct test_registry_request *r = &reg->requests[reg->nrequests++];
        snprintf(r->method, sizeof r->method, "%s", method);
        size_t n = strlen(url) + strlen(query) + 1;
        r->path = malloc(n);
        snprintf(r->path, n, "%s%s", url, query);
        r->body = strdup(up->data ? up->data : "");
    }
    int ret = test_registry_serve(reg, conn, method, url, up->data ? up->data : "");
    pthread_mutex_unlock(&reg->lock);
    return ret == MHD_YES ? MHD_YES : MHD_NO;
}

static void test_registry_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                                    enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    struct test_registry_upload *up = *con_cls;
    if (up != NULL) {
        free(up->data);
        free(up);
    }
    *con_cls = NULL;
}

/* Listen on 127.0.0.1:@p port (0: any free port). */
static bool test_registry_listen(struct test_registry *reg, int port)
{
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    reg->daemon = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL, test_registry_handler,
        reg, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr, MHD_OPTION_LISTENING_ADDRESS_REUSE, 1u,
        MHD_OPTION_NOTIFY_COMPLETED, test_registry_completed, reg, MHD_OPTION_END);
    if (reg->daemon == NULL)
        return false;
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(reg->daemon, MHD_DAEMON_INFO_BIND_PORT);
    reg->port = info ? info->port : port;
    snprintf(reg->url, sizeof reg->url, "http://127.0.0.1:%d", reg->port);
    return true;
}

static inline bool test_registry_start(struct test_registry *reg)
{
    memset(reg, 0, sizeof *reg);
    pthread_mutex_init(&reg->lock, NULL);
    return test_registry_listen(reg, 0);
}

/* Forget every schema, subject and recorded request (ids start at 1 again). */
static inline void test_registry_reset(struct test_registry *reg)
{
    pthread_mutex_lock(&reg->lock);
    for (int i = 0; i < reg->nschemas; i++)
        free(reg->schemas[i]);
    for (int i = 0; i < reg->nsubjects; i++)
        free(reg->subjects[i]);
    for (int i = 0; i < reg->nrequests; i++) {
        free(reg->requests[i].path);
        free(reg->requests[i].body);
    }
    reg->nschemas = reg->nsubjects = reg->nrequests = 0;
    reg->fail_next = 0;
    reg->incompatible = false;
    reg->user = reg->password = NULL;
    pthread_mutex_unlock(&reg->lock);
}

/* Stop answering (connections are refused) but keep the state; resume with _resume. */
static inline void test_registry_down(struct test_registry *reg)
{
    if (reg->daemon != NULL)
        MHD_stop_daemon(reg->daemon);
    reg->daemon = NULL;
}

static inline bool test_registry_resume(struct test_registry *reg)
{
    return test_registry_listen(reg, reg->port);
}

static inline void test_registry_stop(struct test_registry *reg)
{
    test_registry_down(reg);
    test_registry_reset(reg);
    pthread_mutex_destroy(&reg->lock);
}

static inline int test_registry_nrequests(struct test_registry *reg)
{
    pthread_mutex_lock(&reg->lock);
    int n = reg->nrequests;
    pthread_mutex_unlock(&reg->lock);
    return n;
}

#endif /* EDXBUS_TEST_REGISTRY_SERVER_H */
