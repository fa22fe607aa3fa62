/* The backend toolkit (include/edxbus/backend_util.h): the FIFO keeps order across wrap-around
 * and growth, a message copy outlives what it was copied from, the CloudEvents headers read back
 * into the metadata they were written from (and the reference's rules refuse what they refuse),
 * --extra getters check types, lag rows write nulls. */
#include <stdlib.h>
#include <string.h>

#include "edxbus/backend_util.h"
#include "edxbus/metadata.h"
#include "test.h"

TEST(test_fifo_keeps_order_across_wrap_and_growth)
{
    struct edxbus_fifo f = EDXBUS_FIFO_INIT;
    int vals[1000];
    size_t next_out = 0;
    /* Interleave pushes and pops so the head wraps before the ring doubles. */
    for (int i = 0; i < 1000; i++) {
        vals[i] = i;
        ASSERT_EQ_INT(edxbus_fifo_push(&f, &vals[i]), EDXBUS_OK);
        if (i % 3 == 2) {
            int *v = edxbus_fifo_pop(&f);
            ASSERT_EQ_INT(*v, (int)next_out++);
        }
    }
    ASSERT_EQ_INT(*(int *)edxbus_fifo_at(&f, 0), (int)next_out);
    while (f.len > 0)
        ASSERT_EQ_INT(*(int *)edxbus_fifo_pop(&f), (int)next_out++);
    ASSERT_EQ_UINT(next_out, 1000);
    ASSERT_TRUE(edxbus_fifo_pop(&f) == NULL);
    edxbus_fifo_fini(&f);
    ASSERT_TRUE(f.items == NULL);
}

static int reports;
static void on_report(void *opaque, const struct edxbus_msg *msg, edxbus_err_t err,
                      const char *errstr, const char *position)
{
    ASSERT_TRUE(opaque == &reports);
    ASSERT_EQ_INT(err, EDXBUS_OK);
    ASSERT_TRUE(errstr == NULL);
    ASSERT_EQ_STR(position, "7");
    ASSERT_EQ_STR(msg->topic, "dev-t");
    ASSERT_EQ_INT(memcmp(msg->value, "\x02v", 2), 0);
    reports++;
}

struct with_more {
    struct edxbus_msg_copy c;
    int mine;
};

TEST(test_msg_copy_outlives_its_source)
{
    char topic[] = "dev-t", hname[] = "error";
    uint8_t key[] = {2, 'k'}, value[] = {2, 'v'}, hval[] = {'b', 'a', 'd'};
    struct edxbus_metadata md;
    char errstr[EDXBUS_ERRSTR_SIZE];
    ASSERT_EQ_INT(edxbus_metadata_generate(&md, "org.openedx.learning.course.enrollment.created.v1",
                                           0, "lms", errstr, sizeof errstr),
                  EDXBUS_OK);
    struct edxbus_header h = {hname, hval, sizeof hval};
    struct edxbus_msg msg = {.topic = topic,
                             .key = key,
                             .key_len = 2,
                             .value = value,
                             .value_len = 2,
                             .metadata = &md,
                             .headers = &h,
                             .nheaders = 1,
                             .value_schema = "{}"};
    struct with_more *w = edxbus_msg_copy_new(&msg, sizeof *w, on_report, &reports);
    ASSERT_TRUE(w != NULL);
    ASSERT_EQ_INT(w->mine, 0); /* the caller's part is zeroed */
    memset(topic, 'x', 3);
    memset(key, 0, sizeof key);
    memset(value, 0, sizeof value);
    memset(hname, 0, sizeof hname);
    memset(hval, 0, sizeof hval);
    char id[sizeof md.id];
    memcpy(id, md.id, sizeof id);
    memset(&md, 0, sizeof md);
    ASSERT_EQ_STR(w->c.msg.topic, "dev-t");
    ASSERT_EQ_INT(memcmp(w->c.msg.key, "\x02k", 2), 0);
    ASSERT_EQ_STR(w->c.msg.headers[0].name, "error");
    ASSERT_EQ_INT(memcmp(w->c.msg.headers[0].value, "bad", 3), 0);
    ASSERT_EQ_STR(w->c.msg.metadata->id, id);
    ASSERT_TRUE(w->c.msg.value_schema == NULL);
    edxbus_msg_copy_report(&w->c, EDXBUS_OK, "ignored", "7");
    ASSERT_EQ_INT(reports, 1);
    free(w);
}

TEST(test_ce_headers_round_trip_and_rules)
{
    struct edxbus_metadata md, back;
    char errstr[EDXBUS_ERRSTR_SIZE], why[EDXBUS_ERRSTR_SIZE];
    ASSERT_EQ_INT(edxbus_metadata_generate(&md, "org.openedx.content_authoring.xblock.published.v1",
                                           0, "cms", errstr, sizeof errstr),
                  EDXBUS_OK);
    md.time_us = INT64_C(1700000000123456);
    struct edxbus_ce_writer w = EDXBUS_CE_WRITER_INIT;
    for (int round = 0; round < 2; round++) { /* the second is served from the cache */
        ASSERT_EQ_INT(edxbus_ce_write(&w, &md, errstr, sizeof errstr), EDXBUS_OK);
        ASSERT_EQ_STR(w.headers[0].name, "ce_specversion");
        ASSERT_EQ_STR(w.headers[6].name, "ce_time");
        ASSERT_EQ_INT(w.headers[6].len, strlen("2023-11-14T22:13:20.123456+00:00"));
        ASSERT_EQ_INT(
            memcmp(w.headers[6].value, "2023-11-14T22:13:20.123456+00:00", w.headers[6].len), 0);
        struct edxbus_ce_reader r = EDXBUS_CE_READER_INIT;
        for (int i = 0; i < EDXBUS_CE_HEADERS; i++)
            ASSERT_TRUE(
                edxbus_ce_read_header(&r, w.headers[i].name, w.headers[i].value, w.headers[i].len));
        ASSERT_TRUE(!edxbus_ce_read_header(&r, "error", "x", 1)); /* an extra header */
        ASSERT_TRUE(edxbus_ce_read_finish(&r, &back, "lms", why, sizeof why));
        ASSERT_EQ_STR(back.id, md.id);
        ASSERT_EQ_INT(back.time_us, md.time_us);
        ASSERT_EQ_INT(back.nsourcelib, md.nsourcelib);
    }
    /* The reference's rules: two ce_id headers, or none, make the record unusable. */
    struct edxbus_ce_reader r = EDXBUS_CE_READER_INIT;
    for (int i = 0; i < EDXBUS_CE_HEADERS; i++)
        edxbus_ce_read_header(&r, w.headers[i].name, w.headers[i].value, w.headers[i].len);
    edxbus_ce_read_header(&r, "ce_id", "x", 1);
    ASSERT_TRUE(!edxbus_ce_read_finish(&r, &back, NULL, why, sizeof why));
    ASSERT_EQ_STR(why, "the ce_id header appears more than once");
    struct edxbus_ce_reader only_type = EDXBUS_CE_READER_INIT;
    edxbus_ce_read_header(&only_type, "ce_type", md.event_type, strlen(md.event_type));
    ASSERT_TRUE(!edxbus_ce_read_finish(&only_type, &back, NULL, why, sizeof why));
    ASSERT_EQ_STR(why, "no ce_id header");
    md.time_us = INT64_MAX; /* no text form */
    ASSERT_EQ_INT(edxbus_ce_write(&w, &md, errstr, sizeof errstr), EDXBUS_ERR_INVALID_ARG);
    ASSERT_CONTAINS(errstr, "metadata field time");
    edxbus_ce_writer_fini(&w);
}

TEST(test_extra_getters_check_types)
{
    char errstr[EDXBUS_ERRSTR_SIZE];
    json_t *extra = json_pack("{s:s, s:b, s:i, s:n, s:i}", "name", "c1", "flag", 1, "ms", 60000,
                              "none", "neg", -1);
    const char *name = NULL;
    bool flag = false;
    int64_t ms = -1, untouched = 5;
    ASSERT_EQ_INT(edxbus_extra_get_str(extra, "x", "name", &name, errstr, sizeof errstr), 0);
    ASSERT_EQ_STR(name, "c1");
    ASSERT_EQ_INT(edxbus_extra_get_bool(extra, "x", "flag", &flag, errstr, sizeof errstr), 0);
    ASSERT_TRUE(flag);
    ASSERT_EQ_INT(edxbus_extra_get_ms(extra, "x", "ms", &ms, errstr, sizeof errstr), 0);
    ASSERT_EQ_INT(ms, 60000);
    ASSERT_EQ_INT(edxbus_extra_get_ms(extra, "x", "none", &untouched, errstr, sizeof errstr), 0);
    ASSERT_EQ_INT(edxbus_extra_get_ms(NULL, "x", "ms", &untouched, errstr, sizeof errstr), 0);
    ASSERT_EQ_INT(untouched, 5);
    ASSERT_EQ_INT(edxbus_extra_get_ms(extra, "redis", "neg", &ms, errstr, sizeof errstr),
                  EDXBUS_ERR_INVALID_ARG);
    ASSERT_EQ_STR(errstr, "redis: --extra option \"neg\" must be a number of milliseconds >= 0, "
                          "e.g. 60000");
    ASSERT_EQ_INT(edxbus_extra_get_bool(extra, "x", "name", &flag, errstr, sizeof errstr),
                  EDXBUS_ERR_INVALID_ARG);
    ASSERT_EQ_INT(edxbus_extra_get_str(extra, "x", "ms", &name, errstr, sizeof errstr),
                  EDXBUS_ERR_INVALID_ARG);
    json_decref(extra);
    ASSERT_EQ_INT(edxbus_start_kind(NULL), EDXBUS_START_LATEST);
    ASSERT_EQ_INT(edxbus_start_kind("beginning"), EDXBUS_START_EARLIEST);
    ASSERT_EQ_INT(edxbus_start_kind("3:14"), EDXBUS_START_POSITION);
}

TEST(test_lag_row_writes_nulls)
{
    json_t *row = edxbus_lag_row("g", NULL, 3, -1, 10, -1);
    char *text = json_dumps(row, JSON_SORT_KEYS | JSON_COMPACT);
    ASSERT_EQ_STR(text, "{\"consumer\":null,\"group\":\"g\",\"idle_ms\":null,\"partition\":3,"
                        "\"pending\":null,\"undelivered\":10}");
    free(text);
    json_decref(row);
}

int main(void)
{
    RUN(test_fifo_keeps_order_across_wrap_and_growth);
    RUN(test_msg_copy_outlives_its_source);
    RUN(test_ce_headers_round_trip_and_rules);
    RUN(test_extra_getters_check_types);
    RUN(test_lag_row_writes_nulls);
    return test_report();
}
