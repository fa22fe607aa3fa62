/* src/backends/sqlite/sqlite_int.h — private to the embedded SQLite broker (src/backends/sqlite).
 *
 * The broker is one SQLite file in WAL mode shared by any number of producer and consumer
 * processes on one machine. Four tables (sqlite_db.c creates them):
 *
 *   messages(id, stored_ms, <seven metadata columns>, key, value, headers)
 *       the log; id = tid << SQ_SEQ_BITS | seq, so a topic is one range of the rowid (no index
 *       to maintain); seq counts from 1 per topic and is the position clients see. The newest
 *       row of a topic is never trimmed, so max + 1 never reuses a position
 *   topics(tid, name)                          topic names and their ids
 *   groups(gid, topic, name, next_id, created_ms, seen_ms)
 *                                              a consumer group's cursor: the first id not yet
 *                                              handed out to any member; seen_ms: when a member
 *                                              last polled (NULL: never; retention's idle limit)
 *   consumers(cid, gid, name, host, pid, pstart, seen_ms)
 *                                              members; (host, pid, pstart) tells whether the
 *                                              process is still alive, pid 0 = closed cleanly
 *   pending(gid, msg_id, cid, delivered_ms, deliveries)
 *                                              taken by a member and not acknowledged yet (as
 *                                              Redis' PEL); ack deletes the row
 *
 * Only the files of this folder include this header.
 */
#ifndef EDXBUS_BACKENDS_SQLITE_INT_H
#define EDXBUS_BACKENDS_SQLITE_INT_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "edxbus/backend.h"
#include "edxbus/backend_util.h"
#include "edxbus/buf.h"

#define SQ_DEFAULT_PATH "edxbus.db"
#define SQ_SEQ_BITS 40 /* a message id is tid << SQ_SEQ_BITS | seq; its position is seq */
#define SQ_SEQ_MASK ((INT64_C(1) << SQ_SEQ_BITS) - 1)
#define SQ_TID_MAX ((INT64_C(1) << (63 - SQ_SEQ_BITS)) - 1)
#define SQ_SCHEMA_VERSION 3     /* PRAGMA user_version of the layout above */
#define SQ_BUSY_MS 5000         /* how long a writer waits for the file lock (ms) */
#define SQ_HEARTBEAT_MS 5000    /* a polling member with nothing to do writes seen_ms this often */
#define SQ_BEAT_MIN_MS 1000     /* a busy member writes seen_ms at most this often */
#define SQ_CLAIM_CHECK_MS 1000  /* how often a member looks for dead members' entries (ms) */
#define SQ_POLL_SLEEP_MAX_MS 20 /* a blocked poll checks for new rows at least this often */
#define SQ_ASYNC_BATCH 1000     /* queued async messages committed in one transaction */
#define SQ_ASYNC_LINGER_MS                                                                         \
    100 /* a queued message waits at most this long (checked by the                                \
           next produce(); flush()/close() commit at once) */

#define SQ_STAT_EVERY_MS 1000     /* how often a handle checks its file is still the path's */
#define SQ_DEFAULT_RETENTION "7d" /* EVENT_BUS_SQLITE_RETENTION's default */
#define SQ_RETAIN_EVERY_MS 1000    /* a handle runs retention this often with nothing to catch up */
#define SQ_RETAIN_BUSY_SHARE 19    /* catching up, a busy handle waits this many times as long as
                                      a run took before the next (1/20 of its time) */
#define SQ_RETAIN_BATCH 2000       /* events removed per retention transaction at most */
#define SQ_VACUUM_PAGES 512        /* free pages given back per incremental vacuum step */
#define SQ_VACUUM_MIN_FREE 1024    /* ... once this many are free (new rows reuse fewer) */

/** One open database file, as every handle of this backend holds it. */
struct sq_db {
    sqlite3 *h;
    char path[4096];      /* as configured: for messages */
    int busy_ms;          /* busy timeout (ms) */
    sqlite3_stmt *begin;  /* BEGIN IMMEDIATE */
    sqlite3_stmt *commit; /* COMMIT */
    dev_t dev;            /* the file opened, to notice it deleted or replaced */
    ino_t ino;            /* (0: unknown) */
    int64_t next_stat_ms; /* when to compare it with the path again */
    char sync[8];         /* the synchronous level of the settings ("FULL") */
};

/** Retention settings and one handle's state (sqlite_retain.c). */
struct sq_retain {
    int64_t age_ms;     /* EVENT_BUS_SQLITE_RETENTION: -1 forever */
    int64_t max_len;    /* EVENT_BUS_SQLITE_MAX_LEN: 0 none */
    int64_t max_bytes;  /* EVENT_BUS_SQLITE_RETENTION_BYTES: 0 none */
    int64_t idle_ms;    /* EVENT_BUS_SQLITE_GROUP_IDLE_LIMIT: -1 groups always hold */
    bool off;           /* no rule can remove anything */
    int auto_vacuum;    /* the file's PRAGMA auto_vacuum, -1 until read */
    int64_t next_ms;    /* when this handle runs retention next */
    bool more;          /* the last run left removable events (or free pages) behind */
    edxbus_conf_t *log; /* a copy of the settings, for their log callback; may be NULL */
    int64_t *warned;    /* idle groups already named in a warning */
    size_t nwarned;
};

/** What one consumer group holds back (a row of SQ_GROUP_HOLDS_SQL). */
struct sq_group_hold {
    int64_t gid;
    char name[256];
    int64_t next_id; /* its cursor */
    int64_t hold;    /* the first id it has not acknowledged: min(cursor, oldest pending) */
    int64_t pending; /* taken by members, not acknowledged */
    int64_t seen_ms; /* when a member last polled (or the group was made) */
};

/** The groups of topic ?1 with what each holds back (edxbus__sq_group_hold_row reads a row). */
#define SQ_GROUP_HOLDS_SQL                                                                         \
    "SELECT g.gid, g.name, g.next_id, (SELECT min(p.msg_id) FROM pending p WHERE p.gid = g.gid),"  \
    " (SELECT count(*) FROM pending p WHERE p.gid = g.gid), max(coalesce(g.seen_ms, 0),"           \
    " g.created_ms, coalesce((SELECT max(c.seen_ms) FROM consumers c WHERE c.gid = g.gid AND"      \
    " c.pid <> 0), 0)) FROM groups g WHERE g.topic = ?1 ORDER BY g.name"
edxbus_err_t edxbus__sq_group_hold_row(sqlite3_stmt *st, struct sq_group_hold *g);

/** Read the retention settings (errors name the setting). */
edxbus_err_t edxbus__sq_retain_init(struct sq_retain *r, const edxbus_conf_t *conf, char *errstr,
                                    size_t errstr_size);
void edxbus__sq_retain_fini(struct sq_retain *r);
/** When due: one retention transaction, then one incremental vacuum step. Never fails; a
 *  failed run is logged through the settings' log callback and tried again later. @p idle:
 *  the handle has nothing else to do now (a poll about to wait), so a backlog is worked on
 *  at once instead of in a busy handle's small share of time. */
void edxbus__sq_retain_tick(struct sq_db *db, struct sq_retain *r, int64_t now, bool idle);
/** One retention transaction now; *@p deleted gets how many events it removed. */
edxbus_err_t edxbus__sq_retain_step(struct sq_db *db, struct sq_retain *r, int64_t now,
                                    int64_t *deleted, char *errstr, size_t errstr_size);
/** Give up to @p max_pages free pages back to the file system; *@p left gets the free pages
 *  that remain. */
edxbus_err_t edxbus__sq_vacuum_step(struct sq_db *db, int64_t max_pages, int64_t *left,
                                    char *errstr, size_t errstr_size);
/** PRAGMA auto_vacuum: 0 none, 1 full, 2 incremental. */
int edxbus__sq_auto_vacuum(struct sq_db *db);
/** Is a group last seen at @p last_seen_ms idle past the limit? */
bool edxbus__sq_group_idle(const struct sq_retain *r, int64_t last_seen_ms, int64_t now);
/** "7d", "12h", "0", "forever" (-1) <-> milliseconds. */
bool edxbus__sq_duration_parse(const char *text, int64_t *ms);
const char *edxbus__sq_duration_text(int64_t ms, char *out, size_t size);

/** A consumer handle: a group member, or a tail (group NULL: in-memory cursor, no acks). */
struct sq_consumer {
    struct sq_db db;
    char *topic;
    char *group; /* NULL: tail mode */
    char *name;  /* member name */
    char host[256];
    pid_t pid;
    int64_t pstart;        /* our start time (/proc), to tell a reused pid */
    int64_t gid, cid;      /* group and member row ids */
    int64_t lo, hi;        /* the topic's id range: tid << SQ_SEQ_BITS, | SQ_SEQ_MASK */
    bool topic_known;      /* false: a tail waiting for its topic to exist (tail_topic) */
    bool reader;           /* a tail or a no_join group reader: caught_up() is defined */
    bool polled;           /* a poll ran (its claim check saw dead members' entries) */
    int64_t end_next;      /* caught_up(): the first id past what the topic held at open;
                              0 when it held nothing */
    int64_t cursor;        /* tail: next id to read; group: the group cursor as last seen */
    bool own_left;         /* entries taken before a restart may still be pending */
    int64_t own_after;     /* ... with ids above this one */
    bool claim_more;       /* the last claim filled the batch: look again at once */
    bool claim_now;        /* the last check found dead members (or long-pending rows) */
    int64_t beat_ms;       /* when seen_ms was last written */
    int64_t next_claim_ms; /* when to look for dead members' entries next */
    int64_t claim_idle_ms; /* extra "claim_msgs_older_than": also take entries pending
                              longer than this from live members; 0: only dead ones */
    bool delete_acked;     /* extra "delete_acked": acknowledged rows are deleted (the group is
                              the topic's only reader: the outbox relay) */
    bool exclusive;        /* extra "exclusive" (with delete_acked): one member at a time (the
                              caller's lock), so new rows are taken without pending rows and
                              the cursor moves when they are acknowledged */
    int64_t retire_rows;   /* extra "retire_rows" (with exclusive): acknowledged rows are
                              deleted once this many wait, when the file holds nothing else,
                              or at close; 0: at every poll */
    int64_t retire_owed;   /* exclusive: rows acknowledged and not deleted yet (at most) */
    int64_t owed_next;     /* retire_owed once the transaction of commit_acks commits */
    bool closing;          /* commit_acks runs for close: delete whatever is owed */
    int64_t *new_ids;      /* exclusive: the ids of the last poll's new rows */
    size_t new_n, new_cap;
    bool maybe_new;        /* rows past the cursor may exist */
    int64_t data_version;  /* PRAGMA data_version when maybe_new was computed */
    bool checked;          /* maybe_new is valid for data_version */
    int64_t *acked;        /* acknowledged ids not committed yet (next poll or close) */
    size_t nacked, acked_cap;
    struct edxbus_slots batch; /* the latest batch; a slot's tag is its message id */
    struct sq_retain ret;  /* group members run retention (tails only read) */
    edxbus_waker_t *waker; /* wake(): poll() returns at once, now and later */
    sqlite3_stmt *st_upsert, *st_own, *st_retake, *st_members, *st_drop_member, *st_idle,
        *st_cursor, *st_new, *st_pend, *st_set_cursor, *st_unpend, *st_has_new, *st_dv,
        *st_count_own, *st_idle_any, *st_pend_probe, *st_retire, *st_group_seen, *st_span,
        *st_keep_read, *st_clear, *st_keep_write, *st_first;
};

/** The write transaction of a group poll: commit acks, heartbeat, then take up to @p max
 *  entries (own pending, dead members' pending, new rows). *@p n gets how many. */
edxbus_err_t edxbus__sq_take(struct sq_consumer *cons, size_t max, size_t *n, char *errstr,
                             size_t errstr_size);
/** Read-only: are there dead members (or, with claim_msgs_older_than, long-pending rows)?
 *  Sets cons->claim_now for the next edxbus__sq_take(). */
edxbus_err_t edxbus__sq_claim_check(struct sq_consumer *cons, int64_t now, char *errstr,
                                    size_t errstr_size);
/** The read of a tail poll: up to @p max rows from the in-memory cursor. */
edxbus_err_t edxbus__sq_tail_read(struct sq_consumer *cons, size_t max, size_t *n, char *errstr,
                                  size_t errstr_size);
/** Record that the group was active at @p now (groups.seen_ms; inside a transaction). */
edxbus_err_t edxbus__sq_group_seen(struct sq_consumer *cons, int64_t now, char *errstr,
                                   size_t errstr_size);
/** Delete the pending rows of the acknowledged ids (inside an open transaction); with
 *  delete_acked their messages too; exclusive: move the group cursor to the first new row of
 *  the last poll not acknowledged (past them all when every one was). */
edxbus_err_t edxbus__sq_commit_acks(struct sq_consumer *cons, char *errstr, size_t errstr_size);
/** The columns every message query selects, in this order (sq_slot_fill reads them). */
#define SQ_MSG_COLS                                                                                \
    "m.id, m.stored_ms, m.event_type, m.event_id, m.minorversion, m.source, m.sourcehost,"         \
    " m.time_us, m.sourcelib, m.key, m.value, m.headers"

/** Every column of a messages row, in table order (SQ_ROW_NCOLS of them). */
#define SQ_ROW_COLS                                                                                \
    "id, stored_ms, event_type, event_id, minorversion, source, sourcehost, time_us, sourcelib,"   \
    " key, value, headers"
#define SQ_ROW_NCOLS 12

/** The id of @p topic, creating it when @p create (inside the caller's write transaction);
 *  *@p tid is 0 when it does not exist. */
edxbus_err_t edxbus__sq_topic_id(struct sq_db *db, const char *topic, bool create, int64_t *tid,
                                 char *errstr, size_t errstr_size);

/** Open (and create, when @p create) the file named by EVENT_BUS_SQLITE_PATH: WAL mode, the
 *  synchronous level of EVENT_BUS_SQLITE_SYNCHRONOUS (default FULL), the schema. @p conf may be
 *  NULL (all defaults). */
edxbus_err_t edxbus__sq_db_open(struct sq_db *db, const edxbus_conf_t *conf, bool create,
                                char *errstr, size_t errstr_size);
void edxbus__sq_db_close(struct sq_db *db);

/** At most every SQ_STAT_EVERY_MS: is the file at db->path still the one opened? Errors:
 *  EDXBUS_ERR_FATAL naming the path when it was deleted or replaced (a consumer would read an
 *  orphaned file for ever, a producer would write events nobody sees). */
edxbus_err_t edxbus__sq_db_still_there(struct sq_db *db, int64_t now, char *errstr,
                                       size_t errstr_size);

/** Free bytes on the file system holding @p path (-1: unknown). */
int64_t edxbus__sq_disk_free(const char *path);

/** Inside a transaction already open on @p db: create the tables when the file has none yet
 *  (user_version 0). Errors: EDXBUS_ERR_STATE when user_version belongs to something else. */
edxbus_err_t edxbus__sq_schema_in_tx(struct sq_db *db, char *errstr, size_t errstr_size);

/** Prepare @p sql on @p db (errors name the statement's purpose @p what). */
edxbus_err_t edxbus__sq_prepare(struct sq_db *db, const char *sql, sqlite3_stmt **st,
                                const char *what, char *errstr, size_t errstr_size);

/** BEGIN IMMEDIATE, retrying SQLITE_BUSY up to the busy timeout; COMMIT; ROLLBACK. */
edxbus_err_t edxbus__sq_begin(struct sq_db *db, char *errstr, size_t errstr_size);
edxbus_err_t edxbus__sq_commit(struct sq_db *db, char *errstr, size_t errstr_size);
void edxbus__sq_rollback(struct sq_db *db);

/** Write `sqlite: <what>: <sqlite's message> (<path>)` and map @p rc to an edxbus class. */
edxbus_err_t edxbus__sq_fail(struct sq_db *db, int rc, const char *what, char *errstr,
                             size_t errstr_size);

/** Step a statement that returns no row (or ignores them), then reset it. */
edxbus_err_t edxbus__sq_exec(struct sq_db *db, sqlite3_stmt *st, const char *what, char *errstr,
                             size_t errstr_size);

/** Run one statement that yields one integer (NULL gives @p def). */
edxbus_err_t edxbus__sq_int(struct sq_db *db, sqlite3_stmt *st, int64_t def, int64_t *out,
                            const char *what, char *errstr, size_t errstr_size);

/** When the process @p pid started (clock ticks since boot, from /proc), or 0 if unknown. */
int64_t edxbus__sq_proc_start(pid_t pid);

/** Write message number @p seq (>= 0) as a position text into @p pos (EDXBUS_POSITION_MAX
 *  bytes): digits by hand, as every delivered and every produced message gets one (snprintf was
 *  700 instructions an event). */
void edxbus__sq_position_text(int64_t seq, char *pos);

/** Parse a position text (a decimal number >= 0) into @p id. */
bool edxbus__sq_parse_position(const char *text, int64_t *id);

/** Encode @p n headers as the headers column: per header a 4-byte little-endian name length,
 *  the name, a 4-byte value length, the value. Appends to @p out. */
edxbus_err_t edxbus__sq_headers_encode(const struct edxbus_header *hdrs, size_t n,
                                       struct edxbus_buf *out);

/** Decode a headers column (@p len bytes at @p p, as edxbus__sq_headers_encode() writes it,
 *  or whatever the file holds) into @p s and @p m: m->headers[0..m->nheaders) point into
 *  s->data, each name NUL terminated. s->data must have room reserved for @p len more bytes
 *  (decoded headers never take more room than their column), so earlier pointers into it stay
 *  valid. Returns NULL, or the reason the column cannot be read ("the headers column is
 *  corrupt": a length past the end; @p m then has no headers). The outbox reads its entries'
 *  destination through it (fuzz/fuzz_outbox_entry.c). */
const char *edxbus__sq_headers_decode(struct edxbus_slot *s, struct edxbus_msg *m,
                                      const uint8_t *p, size_t len);

/** The seven metadata fields, bound to statement parameters @p first.. @p first + 6, and read
 *  back from result columns @p first.. (sourcelib as dotted integers "11.2.0"). */
edxbus_err_t edxbus__sq_metadata_bind(sqlite3_stmt *st, int first, const struct edxbus_metadata *md,
                                      char *tmp, size_t tmpsz);
const char *edxbus__sq_metadata_read(sqlite3_stmt *st, int first, struct edxbus_metadata *md);

/* Backend slots, one per file (sqlite_producer.c, sqlite_consumer.c, sqlite_lag.c). */
edxbus_err_t edxbus__sq_producer_open(const edxbus_conf_t *conf, void **be, char *errstr,
                                      size_t errstr_size);
edxbus_err_t edxbus__sq_produce(void *be, const struct edxbus_msg *msg, edxbus_delivery_fn cb,
                                void *cb_opaque, char *errstr, size_t errstr_size);
edxbus_err_t edxbus__sq_flush(void *be, int timeout_ms, char *errstr, size_t errstr_size);
void edxbus__sq_producer_close(void *be);

edxbus_err_t edxbus__sq_consumer_open(const edxbus_conf_t *conf,
                                      const struct edxbus_consumer_opts *opts, void **be,
                                      char *errstr, size_t errstr_size);
edxbus_err_t edxbus__sq_poll(void *be, struct edxbus_batch *out, size_t max, int timeout_ms,
                             char *errstr, size_t errstr_size);
edxbus_err_t edxbus__sq_ack(void *be, const struct edxbus_msg *msg, char *errstr,
                            size_t errstr_size);
edxbus_err_t edxbus__sq_caught_up(void *be, bool *done, char *errstr, size_t errstr_size);
void edxbus__sq_consumer_close(void *be);
/** The wake slot: poll() returns at once (async-signal-safe). */
void edxbus__sq_wake(void *be);

edxbus_err_t edxbus__sq_lag(const edxbus_conf_t *conf, const char *topic, const char *group,
                            json_t **out, char *errstr, size_t errstr_size);

/* sqlite_module.c: the module's rows, --extra names and config check (backend.h, ABI 2). */
extern const struct edxbus_setting edxbus__sq_settings[];
extern const char *const edxbus__sq_extra_options[];
void edxbus__sq_check(const edxbus_conf_t *conf, const char *selected_by,
                      edxbus_problem_fn problem, void *opaque);

/* sqlite_status.c: the admin command "sqlite-status" (`edxbus sqlite status`), and what a
 * group holds back (also in lag rows). */
/* sqlite_doctor.c: the doctor slot (backend.h, ABI 4). */
/** The finding on where the file @p path (in directory @p dir) lives, from the statfs f_type of
 *  that directory (@p f_type): an error for a network file system (NFS, SMB/CIFS, Ceph, …), a
 *  warning for FUSE (may be remote), information otherwise, naming the file system or its
 *  number. No I/O: the doctor passes what statfs() returned. */
void edxbus__sq_fs_finding(const char *path, const char *dir, unsigned long f_type,
                           edxbus_finding_fn report, void *opaque);
edxbus_err_t edxbus__sq_doctor(const edxbus_conf_t *conf, const struct edxbus_doctor_opts *opts,
                               edxbus_finding_fn report, void *opaque, char *errstr,
                               size_t errstr_size);

edxbus_err_t edxbus__sq_status(const edxbus_conf_t *conf, json_t **out, char *errstr,
                               size_t errstr_size);
extern const char *const edxbus__sq_admin_commands[];
edxbus_err_t edxbus__sq_admin_open(const edxbus_conf_t *conf, void **adm, char *errstr,
                                   size_t errstr_size);
edxbus_err_t edxbus__sq_admin_run(void *adm, const char *command, const json_t *args,
                                  json_t **out, char *errstr, size_t errstr_size);
void edxbus__sq_admin_close(void *adm);
/** How many stored events group @p g holds back (ids from g->hold up to @p hi). */
edxbus_err_t edxbus__sq_holds_back(struct sq_db *db, const struct sq_group_hold *g, int64_t hi,
                                   int64_t *count, char *errstr, size_t errstr_size);
/** {holds_back, first_unacknowledged, idle_past_limit} for @p g. Returns new; NULL: no memory. */
json_t *edxbus__sq_hold_json(const struct sq_retain *r, const struct sq_group_hold *g,
                             int64_t count, int64_t now);

#endif /* EDXBUS_BACKENDS_SQLITE_INT_H */
