/* tests/unit/bus/test_outbox.c — the outbox in one process, on real SQLite files, with the
 * embedded broker as the destination (the Redis outages are tests/cli/test_outbox_redis.sh):
 *   - a send with an outbox lands in the outbox, not in the broker, until a relay runs; the
 *     relay forwards it byte for byte (value, key, metadata, topic) and the outbox file keeps
 *     no forwarded row but the newest (the log's `delete_acked`);
 *   - the transactional outbox (edxbus_send_event_tx): the event exists if and only if the
 *     caller's transaction commits; no open transaction, or a database whose user_version
 *     belongs to someone else, is refused with one line;
 *   - two relays on one file: the second waits for the first's lock (and gives up at its
 *     timeout with a line naming the lock).
 */
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "edxbus/edxbus.h"
#include "faults/expo_parser.h"
#include "test.h"

#define TYPE "org.openedx.learning.course.enrollment.created.v1"
#define DATA                                                                                       \
    "{\"enrollment\": {\"user\": {\"id\": 42, \"is_active\": true, \"pii\": {\"username\": "       \
    "\"ada\", \"email\": \"ada@example.com\", \"name\": \"Ada\"}}, \"course\": {\"course_key\": "   \
    "\"course-v1:edX+DemoX+2024\", \"display_name\": \"Demo\", \"start\": null, \"end\": null}, "  \
    "\"mode\": \"audit\", \"is_active\": true, \"creation_date\": "                               \
    "\"2024-05-01T10:00:00+00:00\", \"created_by\": null}}"

static char dir[256];
static int seq;
static char outbox[320], broker[320];

/* A bus routing TYPE to topic "ob" on a fresh broker file, with a fresh outbox (relay off),
 * plus @p name = @p value when given. */
static edxbus_bus_t *bus_new_with(const char *name, const char *value)
{
    char err[EDXBUS_ERRSTR_SIZE] = "";
    snprintf(outbox, sizeof outbox, "%s/outbox%d.db", dir, ++seq);
    snprintf(broker, sizeof broker, "%s/broker%d.db", dir, seq);
    edxbus_conf_t *conf = edxbus_conf_new();
    if (conf == NULL ||
        edxbus_conf_set(conf, "EVENT_BUS_PRODUCER", "sqlite", err, sizeof err) != EDXBUS_OK ||
        edxbus_conf_set(conf, "EVENT_BUS_SQLITE_PATH", broker, err, sizeof err) != EDXBUS_OK ||
        edxbus_conf_set(conf, "EVENT_BUS_OUTBOX_PATH", outbox, err, sizeof err) != EDXBUS_OK ||
        edxbus_conf_set(conf, "EVENT_BUS_OUTBOX_RELAY", "false", err, sizeof err) != EDXBUS_OK ||
        edxbus_conf_set(conf, "EVENT_BUS_PRODUCER_CONFIG",
                        "{\"" TYPE "\": {\"ob\": {\"event_key_field\": "
                        "\"enrollment.course.course_key\", \"enabled\": true}}}",
                        err, sizeof err) != EDXBUS_OK ||
        (name != NULL && edxbus_conf_set(conf, name, value, err, sizeof err) != EDXBUS_OK)) {
        fprintf(stderr, "conf: %s\n", err);
        exit(1);
    }
    edxbus_bus_t *bus = edxbus_bus_new(conf, err, sizeof err);
    if (bus == NULL || edxbus_bus_producer(bus) == NULL) {
        fprintf(stderr, "bus: %s\n", bus ? edxbus_bus_producer_problem(bus) : err);
        exit(1);
    }
    return bus;
}

static edxbus_bus_t *bus_new(void)
{
    return bus_new_with(NULL, NULL);
}

static uint64_t waiting(const edxbus_bus_t *bus)
{
    struct edxbus_outbox_status st;
    char err[EDXBUS_ERRSTR_SIZE] = "";
    if (edxbus_outbox_status(edxbus_bus_conf(bus), &st, err, sizeof err) != EDXBUS_OK) {
        fprintf(stderr, "status: %s\n", err);
        return UINT64_MAX;
    }
    return st.waiting;
}

/* Rows in a table of an SQLite file (-1 when it cannot be read). */
static long long rows(const char *path, const char *table)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    char sql[128];
    long long n = -1;
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", table);
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

static uint64_t relay_once(const edxbus_bus_t *bus)
{
    char err[EDXBUS_ERRSTR_SIZE] = "";
    edxbus_relay_t *relay = edxbus_relay_new(edxbus_bus_conf(bus), err, sizeof err);
    if (relay == NULL || edxbus_relay_run(relay, true, 10000, err, sizeof err) != EDXBUS_OK) {
        fprintf(stderr, "relay: %s\n", err);
        edxbus_relay_destroy(relay);
        return UINT64_MAX;
    }
    uint64_t sent = edxbus_relay_sent(relay);
    edxbus_relay_destroy(relay);
    return sent;
}

/* The messages of the broker's topic "ob", read from the earliest (a tail: nothing acked). */
static size_t broker_read(struct edxbus_metadata *md, size_t max, char *value_hex, size_t hexsz)
{
    char err[EDXBUS_ERRSTR_SIZE] = "";
    const struct edxbus_backend_ops *ops = edxbus_backend_find("sqlite", NULL, err, sizeof err);
    edxbus_conf_t *conf = edxbus_conf_new();
    edxbus_conf_set(conf, "EVENT_BUS_SQLITE_PATH", broker, err, sizeof err);
    struct edxbus_consumer_opts opts = {.topic = "ob", .start = "earliest", .start_time_ms = -1};
    void *be = NULL;
    size_t n = 0;
    if (ops->consumer_open(conf, &opts, &be, err, sizeof err) == EDXBUS_OK) {
        struct edxbus_batch b = {0};
        if (ops->poll(be, &b, max, 0, err, sizeof err) == EDXBUS_OK) {
            for (n = 0; n < b.n; n++) {
                md[n] = *b.msgs[n].metadata;
                if (n == 0 && value_hex != NULL) {
                    size_t used = 0;
                    for (size_t i = 0; i < b.msgs[0].value_len && used + 3 < hexsz; i++)
                        used += (size_t)snprintf(value_hex + used, hexsz - used, "%02x",
                                                 b.msgs[0].value[i]);
                    /* the key follows, after a '/' */
                    used += (size_t)snprintf(value_hex + used, hexsz - used, "/");
                    for (size_t i = 0; i < b.msgs[0].key_len && used + 3 < hexsz; i++)
                        used += (size_t)snprintf(value_hex + used, hexsz - used, "%02x",
                                                 b.msgs[0].key[i]);
                }
            }
        }
        ops->consumer_close(be);
    }
    edxbus_conf_destroy(conf);
    return n;
}

TEST(test_send_waits_in_the_outbox_until_relayed)
{
    edxbus_bus_t *bus = bus_new();
    json_t *data = json_loads(DATA, 0, NULL);
    char err[EDXBUS_ERRSTR_SIZE] = "";
    for (int i = 0; i < 3; i++)
        ASSERT_EQ_INT(edxbus_send_event(bus, TYPE, data, EDXBUS_SEND_STRICT, NULL, err, sizeof err),
                      EDXBUS_OK);
    ASSERT_TRUE(edxbus_producer_has_outbox(edxbus_bus_producer(bus)));
    ASSERT_EQ_UINT(waiting(bus), 3);
    struct edxbus_metadata md[8];
    ASSERT_EQ_UINT(broker_read(md, 8, NULL, 0), 0); /* nothing in the broker yet */
    ASSERT_EQ_UINT(relay_once(bus), 3);
    ASSERT_EQ_UINT(waiting(bus), 0);
    char got[4096] = "";
    ASSERT_EQ_UINT(broker_read(md, 8, got, sizeof got), 3);
    ASSERT_EQ_STR(md[0].event_type, TYPE);
    /* The bytes on the broker are the event's Avro body and its key, as a direct send makes. */
    struct edxbus_buf want = EDXBUS_BUF_INIT;
    const edxbus_event_type_t *et = edxbus_catalog_find(edxbus_bus_catalog(bus), TYPE);
    ASSERT_EQ_INT(edxbus_event_encode(et, data, 0, &want, err, sizeof err), EDXBUS_OK);
    char hex[4096];
    size_t used = 0;
    for (size_t i = 0; i < want.len; i++)
        used += (size_t)snprintf(hex + used, sizeof hex - used, "%02x", want.data[i]);
    /* key: Avro string "course-v1:edX+DemoX+2024" (24 bytes: zigzag 48 = 0x30) */
    snprintf(hex + used, sizeof hex - used, "/30%s", "636f757273652d76313a6564582b44656d6f582b32303234");
    ASSERT_EQ_STR(got, hex);
    /* Forwarded rows are deleted; only the topic's newest row stays (positions never reused). */
    ASSERT_EQ_INT(rows(outbox, "messages"), 1);
    /* Sent again after the relay: counted once more, and relayed again. */
    ASSERT_EQ_INT(edxbus_send_event(bus, TYPE, data, EDXBUS_SEND_STRICT, NULL, err, sizeof err),
                  EDXBUS_OK);
    ASSERT_EQ_UINT(waiting(bus), 1);
    ASSERT_EQ_UINT(relay_once(bus), 1);
    ASSERT_EQ_UINT(broker_read(md, 8, NULL, 0), 4);
    ASSERT_EQ_INT(rows(outbox, "messages"), 1);
    edxbus_buf_fini(&want);
    json_decref(data);
    edxbus_bus_destroy(bus);
}

/* The embedded broker's retention settings are not the outbox's: with every event removable
 * at once (retention 0) and no relay ever joined (no group holds anything back), entries older
 * than a retention turn of the producer are still all there, and all relayed. */
TEST(test_broker_retention_never_removes_waiting_entries)
{
    edxbus_bus_t *bus = bus_new_with("EVENT_BUS_SQLITE_RETENTION", "0");
    json_t *data = json_loads(DATA, 0, NULL);
    char err[EDXBUS_ERRSTR_SIZE] = "";
    for (int i = 0; i < 3; i++)
        ASSERT_EQ_INT(edxbus_send_event(bus, TYPE, data, EDXBUS_SEND_STRICT, NULL, err, sizeof err),
                      EDXBUS_OK);
    usleep(1200 * 1000); /* past the producer's retention interval (SQ_RETAIN_EVERY_MS) */
    ASSERT_EQ_INT(edxbus_send_event(bus, TYPE, data, EDXBUS_SEND_STRICT, NULL, err, sizeof err),
                  EDXBUS_OK); /* a retention turn runs with this send */
    ASSERT_EQ_INT(rows(outbox, "messages"), 4);
    ASSERT_EQ_UINT(waiting(bus), 4);
    ASSERT_EQ_UINT(relay_once(bus), 4);
    json_decref(data);
    edxbus_bus_destroy(bus);
}

static struct expo expo; /* large: not on the stack */

/* The registry as text, parsed strictly; edxbus_outbox_depth of the outbox file (NAN: none). */
static double scrape_depth(double *age)
{
    struct edxbus_buf text = EDXBUS_BUF_INIT;
    char labels[400];
    if (edxbus_metrics_write_text(&text) != EDXBUS_OK || edxbus_buf_terminate(&text) != EDXBUS_OK)
        TEST_FAIL_("edxbus_metrics_write_text failed");
    if (!expo_parse(&expo, (const char *)text.data))
        TEST_FAIL_("exposition refused: %s\n%s", expo.error, (const char *)text.data);
    edxbus_buf_fini(&text);
    snprintf(labels, sizeof labels, "path=%s", outbox);
    *age = expo_get(&expo, "edxbus_outbox_oldest_age_seconds", labels);
    return expo_get(&expo, "edxbus_outbox_depth", labels);
}

/* Scrape until the depth is @p want (bounded: about 30 s; nothing asserts on time). */
static double wait_depth(double want, double *age)
{
    double got = NAN;
    for (int i = 0; i < 3000 && !(got == want); i++) {
        got = scrape_depth(age);
        if (!(got == want))
            usleep(10 * 1000);
    }
    return got;
}

/* A process with an outbox and metrics on, no relay running: the gauges show what waits and
 * how old the oldest is (read off the sending thread), and go with the bus. */
TEST(test_outbox_gauges_without_a_relay)
{
    edxbus_bus_t *bus = bus_new_with("EVENT_BUS_METRICS_REFRESH_INTERVAL", "0.01");
    json_t *data = json_loads(DATA, 0, NULL);
    char err[EDXBUS_ERRSTR_SIZE] = "";
    double age = NAN;
    ASSERT_TRUE(wait_depth(0, &age) == 0); /* read once the producer opened */
    ASSERT_TRUE(age == 0);
    for (int i = 0; i < 3; i++)
        ASSERT_EQ_INT(edxbus_send_event(bus, TYPE, data, EDXBUS_SEND_STRICT, NULL, err, sizeof err),
                      EDXBUS_OK);
    ASSERT_TRUE(wait_depth(3, &age) == 3);
    ASSERT_TRUE(age >= 0 && age < 3600);
    ASSERT_EQ_STR(expo_type(&expo, "edxbus_outbox_depth"), "gauge");
    ASSERT_EQ_STR(expo_type(&expo, "edxbus_outbox_oldest_age_seconds"), "gauge");
    ASSERT_EQ_UINT(relay_once(bus), 3);
    ASSERT_TRUE(wait_depth(0, &age) == 0);
    ASSERT_TRUE(age == 0);
    json_decref(data);
    edxbus_bus_destroy(bus);
    ASSERT_TRUE(isnan(scrape_depth(&age))); /* the series went with the last watcher */
}

/* The caller's database: one business table. */
static sqlite3 *app_open(const char *path)
{
    sqlite3 *db = NULL;
    if (sqlite3_open(path, &db) != SQLITE_OK ||
        sqlite3_exec(db, "CREATE TABLE IF NOT EXISTS enrollments(user INTEGER, course TEXT)",
                     NULL, NULL, NULL) != SQLITE_OK) {
        fprintf(stderr, "app db: %s\n", sqlite3_errmsg(db));
        exit(1);
    }
    return db;
}

TEST(test_transactional_send_follows_the_transaction)
{
    edxbus_bus_t *bus = bus_new(); /* EVENT_BUS_OUTBOX_PATH names the app's own database */
    sqlite3 *db = app_open(outbox);
    json_t *data = json_loads(DATA, 0, NULL);
    char err[EDXBUS_ERRSTR_SIZE] = "";

    /* Rolled back: neither the business row nor the event exists. */
    ASSERT_EQ_INT(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    ASSERT_EQ_INT(sqlite3_exec(db, "INSERT INTO enrollments VALUES(42, 'x')", NULL, NULL, NULL),
                  SQLITE_OK);
    ASSERT_EQ_INT(edxbus_send_event_tx(bus, db, TYPE, data, err, sizeof err), EDXBUS_OK);
    ASSERT_EQ_INT(sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
    ASSERT_EQ_UINT(waiting(bus), 0);
    ASSERT_EQ_INT(rows(outbox, "enrollments"), 0);

    /* Committed: both exist, and the relay forwards the event. */
    ASSERT_EQ_INT(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    ASSERT_EQ_INT(sqlite3_exec(db, "INSERT INTO enrollments VALUES(42, 'x')", NULL, NULL, NULL),
                  SQLITE_OK);
    ASSERT_EQ_INT(edxbus_send_event_tx(bus, db, TYPE, data, err, sizeof err), EDXBUS_OK);
    ASSERT_EQ_INT(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    ASSERT_EQ_INT(rows(outbox, "enrollments"), 1);
    ASSERT_EQ_UINT(waiting(bus), 1);
    ASSERT_EQ_UINT(relay_once(bus), 1);
    struct edxbus_metadata md[4];
    ASSERT_EQ_UINT(broker_read(md, 4, NULL, 0), 1);
    ASSERT_EQ_STR(md[0].event_type, TYPE);
    /* The application keeps using its database after the relay did. */
    ASSERT_EQ_INT(sqlite3_exec(db, "INSERT INTO enrollments VALUES(43, 'y')", NULL, NULL, NULL),
                  SQLITE_OK);

    /* No transaction open: refused, nothing written. */
    ASSERT_EQ_INT(edxbus_send_event_tx(bus, db, TYPE, data, err, sizeof err), EDXBUS_ERR_STATE);
    ASSERT_CONTAINS(err, "BEGIN IMMEDIATE");
    ASSERT_EQ_UINT(waiting(bus), 0);
    sqlite3_close(db);

    /* A database with no outbox tables yet: the first transactional send creates them. */
    char fresh[320];
    snprintf(fresh, sizeof fresh, "%s/fresh.db", dir);
    db = app_open(fresh);
    ASSERT_EQ_INT(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    ASSERT_EQ_INT(edxbus_send_event_tx(bus, db, TYPE, data, err, sizeof err), EDXBUS_OK);
    ASSERT_EQ_INT(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    ASSERT_EQ_INT(rows(fresh, "messages"), 1);

    /* A database whose user_version the application owns: refused, its transaction intact. */
    char other[320];
    snprintf(other, sizeof other, "%s/other.db", dir);
    db = app_open(other);
    ASSERT_EQ_INT(sqlite3_exec(db, "PRAGMA user_version=7; BEGIN IMMEDIATE", NULL, NULL, NULL),
                  SQLITE_OK);
    ASSERT_EQ_INT(edxbus_send_event_tx(bus, db, TYPE, data, err, sizeof err), EDXBUS_ERR_STATE);
    ASSERT_CONTAINS(err, "user_version 7");
    ASSERT_EQ_INT(sqlite3_exec(db, "INSERT INTO enrollments VALUES(1, 'z'); COMMIT", NULL, NULL,
                               NULL),
                  SQLITE_OK);
    sqlite3_close(db);
    json_decref(data);
    edxbus_bus_destroy(bus);
}

TEST(test_second_relay_waits_for_the_lock)
{
    edxbus_bus_t *bus = bus_new();
    char err[EDXBUS_ERRSTR_SIZE] = "", lock[400];
    snprintf(lock, sizeof lock, "%s.relay.lock", outbox);
    /* Hold the lock as a running relay does (another open file description: flock conflicts). */
    edxbus_relay_t *first = edxbus_relay_new(edxbus_bus_conf(bus), err, sizeof err);
    ASSERT_TRUE(first != NULL);
    int fd = -1;
    {
        FILE *f = fopen(lock, "w");
        ASSERT_TRUE(f != NULL);
        fclose(f);
    }
    fd = open(lock, 0);
    ASSERT_TRUE(fd >= 0);
    ASSERT_EQ_INT(flock(fd, LOCK_EX | LOCK_NB), 0);
    ASSERT_EQ_INT(edxbus_relay_run(first, true, 300, err, sizeof err), EDXBUS_ERR_TIMEOUT);
    ASSERT_CONTAINS(err, "relay.lock");
    close(fd); /* released: now it runs */
    ASSERT_EQ_INT(edxbus_relay_run(first, true, 1000, err, sizeof err), EDXBUS_OK);
    edxbus_relay_destroy(first);
    edxbus_bus_destroy(bus);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/edxbus-test-outbox-XXXXXX");
    if (mkdtemp(dir) == NULL)
        return 1;
    RUN(test_send_waits_in_the_outbox_until_relayed);
    RUN(test_broker_retention_never_removes_waiting_entries);
    RUN(test_outbox_gauges_without_a_relay);
    RUN(test_transactional_send_follows_the_transaction);
    RUN(test_second_relay_waits_for_the_lock);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return test_report();
}
