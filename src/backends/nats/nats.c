/* src/backends/nats/nats.c — the NATS JetStream backend's ops table, and lag().
 *
 * lag() asks the server about the group's durable consumer without joining it: one row for
 * the group (JetStream does not know the members of a pull consumer, so "consumer" is null),
 * "pending" = num_ack_pending (delivered, not acknowledged), "undelivered" = num_pending
 * (stored, not yet delivered to the group), "idle_ms" = time since the last delivery (null
 * before the first). A group that does not exist is an error naming it.
 *
 * The files of the backend are listed in nats_int.h.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "nats_int.h"

static edxbus_err_t nats_lag(const edxbus_conf_t *conf, const char *topic, const char *group,
                             json_t **out, char *errstr, size_t errstr_size)
{
    *out = NULL;
    char stream[NATS_STREAM_NAME_MAX], durable[NATS_STREAM_NAME_MAX];
    edxbus_err_t err = edxbus__nats_stream_name(topic, stream, sizeof stream, errstr, errstr_size);
    if (err != EDXBUS_OK)
        return err;
    edxbus__nats_durable_name(group ? group : "", durable, sizeof durable);
    struct nats_conn conn;
    err = edxbus__nats_conn_open(&conn, conf, NULL, errstr, errstr_size);
    if (err != EDXBUS_OK)
        return err;
    err = edxbus__nats_stream_ensure(&conn, topic, false, errstr, errstr_size);
    jsConsumerInfo *ci = NULL;
    jsErrCode code = 0;
    natsStatus s = NATS_OK;
    if (err == EDXBUS_OK)
        s = js_GetConsumerInfo(&ci, conn.js, stream, durable, NULL, &code);
    if (err == EDXBUS_OK && s == NATS_NOT_FOUND) {
        edxbus_errf(errstr, errstr_size,
                 "nats: group \"%.80s\" does not exist on \"%.100s\": it has not consumed this "
                 "topic yet (check the group name)",
                 group ? group : "", topic);
        err = EDXBUS_ERR_NOT_FOUND;
    } else if (err == EDXBUS_OK && s != NATS_OK) {
        char what[300];
        snprintf(what, sizeof what, "lag of group \"%.80s\" on \"%.100s\"", group ? group : "",
                 topic);
        err = edxbus__nats_fail(s, code, what, errstr, errstr_size);
    }
    if (err == EDXBUS_OK) {
        json_t *idle = json_null();
        if (ci->Delivered.Last > 0) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            int64_t now_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
            int64_t ms = now_ms - ci->Delivered.Last / 1000000;
            idle = json_integer(ms > 0 ? ms : 0);
        }
        json_t *row = json_pack("{s:s, s:n, s:n, s:I, s:I, s:o}", "group", group ? group : "",
                                "consumer", "partition", "pending", (json_int_t)ci->NumAckPending,
                                "undelivered", (json_int_t)ci->NumPending, "idle_ms", idle);
        json_t *rows = json_array();
        if (row == NULL || rows == NULL || json_array_append_new(rows, row) != 0) {
            json_decref(rows);
            edxbus_errf(errstr, errstr_size, "nats: lag: out of memory");
            err = EDXBUS_ERR_NOMEM;
        } else {
            *out = rows;
        }
    }
    jsConsumerInfo_Destroy(ci);
    edxbus__nats_conn_close(&conn);
    return err;
}

const struct edxbus_backend_ops edxbus_backend_nats = {
    .abi_version = EDXBUS_BACKEND_ABI,
    .name = "nats",
    .producer_open = edxbus__nats_producer_open,
    .produce = edxbus__nats_produce,
    .flush = edxbus__nats_flush,
    .producer_close = edxbus__nats_producer_close,
    .consumer_open = edxbus__nats_consumer_open,
    .poll = edxbus__nats_poll,
    .ack = edxbus__nats_ack,
    .consumer_close = edxbus__nats_consumer_close,
    .lag = nats_lag,
    .settings = edxbus__nats_settings,
    .check = edxbus__nats_check,
    .caught_up = edxbus__nats_caught_up,
    .doctor = edxbus__nats_doctor,
    .wake = edxbus__nats_wake,
};
