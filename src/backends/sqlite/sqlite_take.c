/* src/backends/sqlite/sqlite_take.c — what one poll takes from the log, in one transaction.
 *
 * A group poll is one BEGIN IMMEDIATE transaction, so members of a group (in any process)
 * never take the same row twice and the cursor, the pending rows and the acks move together:
 *   1. delete the pending rows this member acknowledged since its last poll (acks are
 *      committed here, or at close: one write per batch instead of one per message; a crash
 *      between ack() and the next poll only means the message comes again: at least once);
 *   2. heartbeat (at most once a second): upsert the member row (host, pid, start, seen_ms);
 *   3. this member's own pending rows (taken before a restart, never acknowledged) first;
 *   4. when the last check (edxbus__sq_claim_check, read-only, every SQ_CLAIM_CHECK_MS while
 *      polling) found some: pending rows of dead members (closed cleanly with
 *      entries left, pid 0; or on this host, whose pid no longer exists or was reused by a
 *      process that started later) and, with extra "claim_msgs_older_than", rows pending longer
 *      than that from anyone; a dead member with nothing pending left is removed;
 *   5. new rows from the group cursor, each inserted into pending; the cursor moves past them.
 * Messages are copied out of SQLite into the handle's slots, which the batch borrows until the
 * next poll or close. A tail (no group) only reads from its in-memory cursor.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sqlite_int.h"

#define MAX_DEAD_PER_CHECK 32

static const uint8_t EMPTY[1] = {0}; /* what a zero-length key or value points at */

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

const char *edxbus__sq_headers_decode(struct edxbus_slot *s, struct edxbus_msg *m,
                                      const uint8_t *p, size_t len)
{
    size_t off = 0;
    while (off < len) {
        if (len - off < 4 || get_u32(p + off) > len - off - 4)
            goto corrupt;
        size_t nlen = get_u32(p + off);
        const uint8_t *name = p + off + 4;
        off += 4 + nlen;
        if (len - off < 4 || get_u32(p + off) > len - off - 4)
            goto corrupt;
        size_t vlen = get_u32(p + off);
        const uint8_t *value = p + off + 4;
        off += 4 + vlen;
        /* Reserved in advance, so these appends never move the buffer. */
        const char *hname = (const char *)s->data.data + s->data.len;
        edxbus_buf_append(&s->data, name, nlen);
        edxbus_buf_append(&s->data, "", 1);
        const uint8_t *hvalue = vlen ? s->data.data + s->data.len : EMPTY;
        edxbus_buf_append(&s->data, value, vlen);
        if (edxbus_slot_add_header(s, m, hname, hvalue, vlen) != EDXBUS_OK) {
            m->nheaders = 0;
            m->headers = NULL;
            return "out of memory reading headers";
        }
    }
    return NULL;
corrupt:
    m->nheaders = 0;
    m->headers = NULL;
    return "the headers column is corrupt";
}

/* Copy the current row of @p st (SQ_MSG_COLS) into slot @p i and describe it in msgs[i]. */
static edxbus_err_t slot_fill(struct sq_consumer *cons, size_t i, sqlite3_stmt *st,
                              int64_t deliveries)
{
    struct edxbus_slot *s = &cons->batch.slots[i];
    struct edxbus_msg *m = &cons->batch.msgs[i];
    memset(m, 0, sizeof *m);
    s->tag = sqlite3_column_int64(st, 0);
    m->topic = cons->topic;
    edxbus__sq_position_text(s->tag & SQ_SEQ_MASK, m->position);
    m->broker_time_ms = sqlite3_column_int64(st, 1);
    m->deliveries = deliveries;
    m->metadata = &s->md;
    m->unusable = edxbus__sq_metadata_read(st, 2, &s->md);

    const uint8_t *key = sqlite3_column_blob(st, 9);
    size_t key_len = (size_t)sqlite3_column_bytes(st, 9);
    const uint8_t *value = sqlite3_column_blob(st, 10);
    size_t value_len = (size_t)sqlite3_column_bytes(st, 10);
    const uint8_t *hdr = sqlite3_column_blob(st, 11);
    size_t hdr_len = (size_t)sqlite3_column_bytes(st, 11);
    edxbus_buf_reset(&s->data);
    /* Decoded headers never take more room than their column: reserve once, point after. */
    if (edxbus_buf_reserve(&s->data, key_len + value_len + hdr_len + 1) != EDXBUS_OK)
        return EDXBUS_ERR_NOMEM;
    if (sqlite3_column_type(st, 9) != SQLITE_NULL) {
        m->key = key_len ? s->data.data + s->data.len : EMPTY;
        m->key_len = key_len;
        edxbus_buf_append(&s->data, key, key_len);
    }
    m->value = value_len ? s->data.data + s->data.len : EMPTY;
    m->value_len = value_len;
    edxbus_buf_append(&s->data, value, value_len);
    if (sqlite3_column_type(st, 10) == SQLITE_NULL && m->unusable == NULL)
        m->unusable = "the message has no value";
    if (hdr_len) {
        const char *bad = edxbus__sq_headers_decode(s, m, hdr, hdr_len);
        if (bad != NULL && m->unusable == NULL)
            m->unusable = bad;
    }
    return EDXBUS_OK;
}

/* Step @p st (rows of SQ_MSG_COLS) into slots from @p base; returns the count in *k. */
static edxbus_err_t fill_from(struct sq_consumer *cons, sqlite3_stmt *st, size_t base, size_t *k,
                              const char *what, char *errstr, size_t errstr_size)
{
    int rc;
    edxbus_err_t err = EDXBUS_OK;
    *k = 0;
    for (;;) {
        rc = sqlite3_step(st);
        if (rc != SQLITE_ROW)
            break;
        err = slot_fill(cons, base + (*k)++, st, 0);
        if (err != EDXBUS_OK)
            break;
    }
    sqlite3_reset(st);
    if (err != EDXBUS_OK) {
        edxbus_errf(errstr, errstr_size, "sqlite: out of memory reading %s", cons->topic);
        return err;
    }
    if (rc != SQLITE_DONE)
        return edxbus__sq_fail(&cons->db, rc, what, errstr, errstr_size);
    return EDXBUS_OK;
}

/* Step a statement that returns one integer (RETURNING deliveries) into *out. */
static edxbus_err_t step_returning(struct sq_consumer *cons, sqlite3_stmt *st, int64_t *out,
                                   const char *what, char *errstr, size_t errstr_size)
{
    return edxbus__sq_int(&cons->db, st, 1, out, what, errstr, errstr_size);
}

/* Rows already in pending (selected by @p st, bound by the caller): fill, then re-own them. */
static edxbus_err_t take_pending(struct sq_consumer *cons, sqlite3_stmt *st, size_t base, size_t *k,
                                 int64_t now, char *errstr, size_t errstr_size)
{
    edxbus_err_t err = fill_from(cons, st, base, k, "read pending messages", errstr, errstr_size);
    for (size_t i = 0; i < *k && err == EDXBUS_OK; i++) {
        sqlite3_bind_int64(cons->st_retake, 1, cons->cid);
        sqlite3_bind_int64(cons->st_retake, 2, now);
        sqlite3_bind_int64(cons->st_retake, 3, cons->gid);
        sqlite3_bind_int64(cons->st_retake, 4, cons->batch.slots[base + i].tag);
        err = step_returning(cons, cons->st_retake, &cons->batch.msgs[base + i].deliveries,
                             "take a pending message", errstr, errstr_size);
    }
    return err;
}

static bool member_alive(const struct sq_consumer *cons, const char *host, pid_t pid,
                         int64_t pstart)
{
    if (pid == 0)
        return false; /* closed cleanly, entries left for the group */
    if (strcmp(host, cons->host) != 0)
        return true; /* another machine: only claim_msgs_older_than can take its entries */
    if (kill(pid, 0) != 0 && errno == ESRCH)
        return false;
    int64_t now_start = edxbus__sq_proc_start(pid);
    return pstart == 0 || now_start == 0 || now_start == pstart; /* a reused pid: dead */
}

/* Step 4: take dead members' entries (and long-pending ones when configured). */
static edxbus_err_t claim(struct sq_consumer *cons, size_t base, size_t room, size_t *took,
                          int64_t now, char *errstr, size_t errstr_size)
{
    int64_t dead[MAX_DEAD_PER_CHECK];
    size_t ndead = 0;
    int rc = SQLITE_DONE;
    *took = 0;
    cons->claim_more = false;
    cons->claim_now = false;
    sqlite3_stmt *st = cons->st_members;
    sqlite3_bind_int64(st, 1, cons->gid);
    sqlite3_bind_int64(st, 2, cons->cid);
    while (ndead < MAX_DEAD_PER_CHECK) {
        rc = sqlite3_step(st);
        if (rc != SQLITE_ROW)
            break;
        const char *host = (const char *)sqlite3_column_text(st, 1);
        if (!member_alive(cons, host ? host : "", (pid_t)sqlite3_column_int64(st, 2),
                          sqlite3_column_int64(st, 3)))
            dead[ndead++] = sqlite3_column_int64(st, 0);
    }
    sqlite3_reset(st);
    if (ndead < MAX_DEAD_PER_CHECK && rc != SQLITE_DONE)
        return edxbus__sq_fail(&cons->db, rc, "list the group's members", errstr, errstr_size);
    if (ndead == MAX_DEAD_PER_CHECK)
        cons->claim_more = true;
    edxbus_err_t err = EDXBUS_OK;
    for (size_t i = 0; i < ndead && err == EDXBUS_OK; i++) {
        size_t k = 0;
        if (*took < room) {
            sqlite3_bind_int64(cons->st_own, 1, cons->gid);
            sqlite3_bind_int64(cons->st_own, 2, dead[i]);
            sqlite3_bind_int64(cons->st_own, 3, -1);
            sqlite3_bind_int64(cons->st_own, 4, (int64_t)(room - *took));
            err = take_pending(cons, cons->st_own, base + *took, &k, now, errstr, errstr_size);
            if (err == EDXBUS_OK && k == room - *took)
                cons->claim_more = true;
            *took += k;
        }
        if (err == EDXBUS_OK) {
            sqlite3_bind_int64(cons->st_drop_member, 1, dead[i]);
            sqlite3_bind_int64(cons->st_drop_member, 2, cons->gid);
            err = edxbus__sq_exec(&cons->db, cons->st_drop_member, "remove a dead member", errstr,
                                  errstr_size);
        }
    }
    if (err == EDXBUS_OK && cons->claim_idle_ms > 0 && *took < room) {
        size_t k = 0;
        sqlite3_bind_int64(cons->st_idle, 1, cons->gid);
        sqlite3_bind_int64(cons->st_idle, 2, cons->cid);
        sqlite3_bind_int64(cons->st_idle, 3, now - cons->claim_idle_ms);
        sqlite3_bind_int64(cons->st_idle, 4, (int64_t)(room - *took));
        err = take_pending(cons, cons->st_idle, base + *took, &k, now, errstr, errstr_size);
        if (err == EDXBUS_OK && k == room - *took)
            cons->claim_more = true;
        *took += k;
    }
    return err;
}

/* The new rows in slots[base, base + n) are one id range (the write lock is ours): record them
 * pending with one INSERT ... SELECT. A row already pending (the cursor was moved back by a
 * seek) is taken over, its delivery count going on; the probe finds those first. */
static edxbus_err_t record_pending(struct sq_consumer *cons, size_t base, size_t n, int64_t now,
                                   char *errstr, size_t errstr_size)
{
    int64_t first = cons->batch.slots[base].tag, last = cons->batch.slots[base + n - 1].tag;
    for (size_t i = 0; i < n; i++)
        cons->batch.msgs[base + i].deliveries = 1;
    sqlite3_stmt *st = cons->st_pend_probe;
    sqlite3_bind_int64(st, 1, cons->gid);
    sqlite3_bind_int64(st, 2, first);
    sqlite3_bind_int64(st, 3, last);
    size_t at = base;
    int rc;
    for (;;) {
        rc = sqlite3_step(st);
        if (rc != SQLITE_ROW)
            break;
        int64_t id = sqlite3_column_int64(st, 0); /* ascending, as the slots */
        while (at < base + n && cons->batch.slots[at].tag < id)
            at++;
        if (at < base + n && cons->batch.slots[at].tag == id)
            cons->batch.msgs[at].deliveries = sqlite3_column_int64(st, 1) + 1;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return edxbus__sq_fail(&cons->db, rc, "look for pending messages", errstr, errstr_size);
    st = cons->st_pend;
    sqlite3_bind_int64(st, 1, cons->gid);
    sqlite3_bind_int64(st, 2, cons->cid);
    sqlite3_bind_int64(st, 3, now);
    sqlite3_bind_int64(st, 4, first);
    sqlite3_bind_int64(st, 5, last);
    return edxbus__sq_exec(&cons->db, st, "record pending messages", errstr, errstr_size);
}

static int cmp_id(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* Step 5: new rows from the group cursor. */
static edxbus_err_t take_new(struct sq_consumer *cons, size_t base, size_t room, size_t *took,
                             int64_t now, char *errstr, size_t errstr_size)
{
    int64_t cursor;
    sqlite3_bind_int64(cons->st_cursor, 1, cons->gid);
    edxbus_err_t err = edxbus__sq_int(&cons->db, cons->st_cursor, 0, &cursor,
                                      "read the group cursor", errstr, errstr_size);
    if (err != EDXBUS_OK)
        return err;
    sqlite3_bind_int64(cons->st_new, 1, cons->hi);
    sqlite3_bind_int64(cons->st_new, 2, cursor);
    sqlite3_bind_int64(cons->st_new, 3, (int64_t)room);
    err = fill_from(cons, cons->st_new, base, took, "read new messages", errstr, errstr_size);
    if (err == EDXBUS_OK && cons->exclusive) {
        /* No pending rows: the cursor moves once they are acknowledged (commit_acks). */
        if (*took > cons->new_cap) {
            int64_t *ids = realloc(cons->new_ids, *took * sizeof *ids);
            if (ids == NULL) {
                edxbus_errf(errstr, errstr_size, "sqlite: out of memory reading %s", cons->topic);
                return EDXBUS_ERR_NOMEM;
            }
            cons->new_ids = ids;
            cons->new_cap = *took;
        }
        for (size_t i = 0; i < *took; i++) {
            cons->batch.msgs[base + i].deliveries = 1;
            cons->new_ids[i] = cons->batch.slots[base + i].tag;
        }
        cons->new_n = *took;
        cons->cursor = cursor;
        cons->maybe_new = *took > 0; /* the next poll looks again (what was not acknowledged) */
        return EDXBUS_OK;
    }
    if (err == EDXBUS_OK && *took > 0)
        err = record_pending(cons, base, *took, now, errstr, errstr_size);
    if (err == EDXBUS_OK && *took > 0) {
        cursor = cons->batch.slots[base + *took - 1].tag + 1;
        sqlite3_bind_int64(cons->st_set_cursor, 1, cons->gid);
        sqlite3_bind_int64(cons->st_set_cursor, 2, cursor);
        err = edxbus__sq_exec(&cons->db, cons->st_set_cursor, "move the group cursor", errstr,
                              errstr_size);
    }
    if (err == EDXBUS_OK) {
        cons->cursor = cursor;
        cons->maybe_new = *took == room;
    }
    return err;
}

/* Exclusive mode: when every row of the file is this topic's, below @p next (acknowledged) and
 * none is pending in any group, delete them all but the newest with one DELETE without WHERE:
 * SQLite then frees the table's pages whole, where a range DELETE removes row by row and
 * rebalances the b-tree every few rows (6,000 instructions a row, a third of the relay's). The
 * newest row is copied out and written back (its id keeps positions from being reused). Sets
 * *@p cleared; inside the caller's write transaction, so all of it or none happens. */
static edxbus_err_t clear_drained(struct sq_consumer *cons, int64_t next, bool *cleared,
                                  char *errstr, size_t errstr_size)
{
    *cleared = false;
    sqlite3_stmt *st = cons->st_span;
    int rc = sqlite3_step(st);
    bool any = rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL;
    int64_t first = any ? sqlite3_column_int64(st, 0) : 0;
    int64_t last = any ? sqlite3_column_int64(st, 1) : 0;
    bool pending = rc == SQLITE_ROW && sqlite3_column_int64(st, 2) != 0;
    sqlite3_reset(st);
    if (rc != SQLITE_ROW)
        return edxbus__sq_fail(&cons->db, rc, "read the file's span", errstr, errstr_size);
    if (!any || pending || first < cons->lo || last > cons->hi || last >= next)
        return EDXBUS_OK;
    sqlite3_value *keep[SQ_ROW_NCOLS] = {0};
    edxbus_err_t err = EDXBUS_OK;
    st = cons->st_keep_read;
    sqlite3_bind_int64(st, 1, last);
    rc = sqlite3_step(st);
    for (int i = 0; rc == SQLITE_ROW && i < SQ_ROW_NCOLS && err == EDXBUS_OK; i++) {
        keep[i] = sqlite3_value_dup(sqlite3_column_value(st, i));
        if (keep[i] == NULL) {
            edxbus_errf(errstr, errstr_size, "sqlite: out of memory clearing %s", cons->topic);
            err = EDXBUS_ERR_NOMEM;
        }
    }
    sqlite3_reset(st);
    if (err == EDXBUS_OK && rc != SQLITE_ROW)
        err = edxbus__sq_fail(&cons->db, rc == SQLITE_DONE ? SQLITE_CORRUPT : rc,
                              "read the newest message", errstr, errstr_size);
    if (err == EDXBUS_OK)
        err = edxbus__sq_exec(&cons->db, cons->st_clear, "delete acknowledged messages", errstr,
                              errstr_size);
    for (int i = 0; err == EDXBUS_OK && i < SQ_ROW_NCOLS; i++)
        sqlite3_bind_value(cons->st_keep_write, i + 1, keep[i]);
    if (err == EDXBUS_OK)
        err = edxbus__sq_exec(&cons->db, cons->st_keep_write, "keep the newest message", errstr,
                              errstr_size);
    sqlite3_clear_bindings(cons->st_keep_write);
    for (int i = 0; i < SQ_ROW_NCOLS; i++)
        sqlite3_value_free(keep[i]);
    *cleared = err == EDXBUS_OK;
    return err;
}

/* Below this many owed rows a clearing costs more than it saves (it reads and writes a row). */
#define CLEAR_MIN_ROWS 256
/* With retire_rows: the fewest owed rows a poll past the bound deletes. */
#define RETIRE_CHUNK_MIN 1000

/* Exclusive mode (acks sorted, their pending rows gone): move the cursor to the first new row
 * of the last poll not acknowledged (past them all when every one was), then delete every row
 * below it (each was acknowledged) but the topic's newest and any still pending (taken by a
 * relay of an older version): cleared at once when that is all the file holds (and at least
 * CLEAR_MIN_ROWS, or closing), else row by row, at once or (retire_rows) the oldest once that
 * many are owed, and all at close. */
static edxbus_err_t retire_exclusive(struct sq_consumer *cons, char *errstr, size_t errstr_size)
{
    int64_t next = cons->cursor;
    if (cons->new_n > 0) {
        const int64_t *ids = cons->new_ids;
        next = ids[cons->new_n - 1] + 1;
        for (size_t i = 0, a = 0; i < cons->new_n; i++) {
            while (a < cons->nacked && cons->acked[a] < ids[i])
                a++;
            if (a == cons->nacked || cons->acked[a] != ids[i]) {
                next = ids[i];
                break;
            }
        }
        sqlite3_bind_int64(cons->st_set_cursor, 1, cons->gid);
        sqlite3_bind_int64(cons->st_set_cursor, 2, next);
        edxbus_err_t err = edxbus__sq_exec(&cons->db, cons->st_set_cursor,
                                           "move the group cursor", errstr, errstr_size);
        if (err != EDXBUS_OK)
            return err;
    }
    if ((cons->nacked == 0 && !(cons->closing && cons->retire_owed > 0)) || next <= cons->lo)
        return EDXBUS_OK;
    int64_t owed = cons->retire_owed + (int64_t)cons->nacked;
    if (owed >= CLEAR_MIN_ROWS || cons->closing) {
        bool cleared = false;
        edxbus_err_t err = clear_drained(cons, next, &cleared, errstr, errstr_size);
        if (err != EDXBUS_OK || cleared) {
            cons->owed_next = 0;
            return err;
        }
    }
    if (owed < cons->retire_rows && !cons->closing) {
        cons->owed_next = owed; /* recorded once the transaction commits (edxbus__sq_take) */
        return EDXBUS_OK;
    }
    int64_t upto = next - 1;
    if (cons->retire_rows > 0 && !cons->closing) {
        /* Past retire_rows: the oldest rows, at most twice this poll's acks (and
         * RETIRE_CHUNK_MIN), so a poll holds the write lock about as long as deleting its own
         * rows takes, and what is owed goes down. Ids are consecutive from the oldest row. */
        int64_t first = next;
        sqlite3_bind_int64(cons->st_first, 1, cons->lo);
        sqlite3_bind_int64(cons->st_first, 2, cons->hi);
        edxbus_err_t err = edxbus__sq_int(&cons->db, cons->st_first, next, &first,
                                          "find the oldest message", errstr, errstr_size);
        if (err != EDXBUS_OK)
            return err;
        int64_t chunk = 2 * (int64_t)cons->nacked + RETIRE_CHUNK_MIN;
        if (first < upto - chunk + 1)
            upto = first + chunk - 1;
    }
    sqlite3_bind_int64(cons->st_retire, 1, cons->lo);
    sqlite3_bind_int64(cons->st_retire, 2, upto);
    sqlite3_bind_int64(cons->st_retire, 3, cons->hi);
    sqlite3_bind_int64(cons->st_retire, 4, cons->gid);
    edxbus_err_t err = edxbus__sq_exec(&cons->db, cons->st_retire, "delete acknowledged messages",
                                       errstr, errstr_size);
    int64_t left = owed - (int64_t)sqlite3_changes(cons->db.h);
    cons->owed_next = upto == next - 1 || left < 0 ? 0 : left;
    return err;
}

edxbus_err_t edxbus__sq_commit_acks(struct sq_consumer *cons, char *errstr, size_t errstr_size)
{
    /* Acks of a batch are usually consecutive ids: one range DELETE per run of them. */
    edxbus_err_t err = EDXBUS_OK;
    cons->owed_next = cons->retire_owed;
    bool sorted = true; /* the worker acks in batch order: usually already ascending */
    for (size_t i = 1; i < cons->nacked && sorted; i++)
        sorted = cons->acked[i - 1] <= cons->acked[i];
    if (!sorted)
        qsort(cons->acked, cons->nacked, sizeof *cons->acked, cmp_id);
    for (size_t i = 0; i < cons->nacked && err == EDXBUS_OK;) {
        size_t j = i + 1;
        while (j < cons->nacked && cons->acked[j] <= cons->acked[j - 1] + 1)
            j++;
        sqlite3_bind_int64(cons->st_unpend, 1, cons->gid);
        sqlite3_bind_int64(cons->st_unpend, 2, cons->acked[i]);
        sqlite3_bind_int64(cons->st_unpend, 3, cons->acked[j - 1]);
        err = edxbus__sq_exec(&cons->db, cons->st_unpend, "acknowledge", errstr, errstr_size);
        i = j;
    }
    if (cons->exclusive)
        return err == EDXBUS_OK ? retire_exclusive(cons, errstr, errstr_size) : err;
    if (err == EDXBUS_OK && cons->delete_acked && cons->nacked > 0) {
        sqlite3_bind_int64(cons->st_retire, 1, cons->lo);
        sqlite3_bind_int64(cons->st_retire, 2, cons->acked[cons->nacked - 1]);
        sqlite3_bind_int64(cons->st_retire, 3, cons->hi);
        sqlite3_bind_int64(cons->st_retire, 4, cons->gid);
        err = edxbus__sq_exec(&cons->db, cons->st_retire, "delete acknowledged messages", errstr,
                              errstr_size);
    }
    return err;
}

static edxbus_err_t heartbeat(struct sq_consumer *cons, int64_t now, char *errstr,
                              size_t errstr_size)
{
    sqlite3_stmt *st = cons->st_upsert;
    sqlite3_bind_int64(st, 1, cons->gid);
    sqlite3_bind_text(st, 2, cons->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, cons->host, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, cons->pid);
    sqlite3_bind_int64(st, 5, cons->pstart);
    sqlite3_bind_int64(st, 6, now);
    edxbus_err_t err = edxbus__sq_int(&cons->db, st, cons->cid, &cons->cid,
                                      "register the member", errstr, errstr_size);
    return err == EDXBUS_OK ? edxbus__sq_group_seen(cons, now, errstr, errstr_size) : err;
}

edxbus_err_t edxbus__sq_group_seen(struct sq_consumer *cons, int64_t now, char *errstr,
                                   size_t errstr_size)
{
    sqlite3_bind_int64(cons->st_group_seen, 1, cons->gid);
    sqlite3_bind_int64(cons->st_group_seen, 2, now);
    return edxbus__sq_exec(&cons->db, cons->st_group_seen, "record the group's activity", errstr,
                           errstr_size);
}

edxbus_err_t edxbus__sq_take(struct sq_consumer *cons, size_t max, size_t *n, char *errstr,
                             size_t errstr_size)
{
    int64_t now = edxbus_clock_wall_ms();
    size_t k = 0;
    bool own_left = cons->own_left;
    int64_t own_after = cons->own_after;
    size_t new_n = cons->new_n;
    *n = 0;
    edxbus_err_t err = edxbus__sq_begin(&cons->db, errstr, errstr_size);
    if (err != EDXBUS_OK)
        return err;
    err = edxbus__sq_commit_acks(cons, errstr, errstr_size);
    if (err == EDXBUS_OK && now - cons->beat_ms >= SQ_BEAT_MIN_MS)
        err = heartbeat(cons, now, errstr, errstr_size);
    if (err == EDXBUS_OK && cons->own_left) {
        sqlite3_bind_int64(cons->st_own, 1, cons->gid);
        sqlite3_bind_int64(cons->st_own, 2, cons->cid);
        sqlite3_bind_int64(cons->st_own, 3, cons->own_after);
        sqlite3_bind_int64(cons->st_own, 4, (int64_t)max);
        err = take_pending(cons, cons->st_own, 0, &k, now, errstr, errstr_size);
        if (err == EDXBUS_OK && k > 0)
            cons->own_after = cons->batch.slots[k - 1].tag;
        cons->own_left = k == max;
        *n += k;
    }
    if (err == EDXBUS_OK && *n < max && (cons->claim_more || cons->claim_now)) {
        err = claim(cons, *n, max - *n, &k, now, errstr, errstr_size);
        *n += k;
    }
    cons->new_n = 0; /* settled by the acks above; take_new records the new ones */
    if (err == EDXBUS_OK && *n < max) {
        err = take_new(cons, *n, max - *n, &k, now, errstr, errstr_size);
        *n += k;
    }
    if (err == EDXBUS_OK)
        err = edxbus__sq_commit(&cons->db, errstr, errstr_size);
    else
        edxbus__sq_rollback(&cons->db);
    if (err != EDXBUS_OK) {
        *n = 0;
        cons->own_left = own_left;
        cons->own_after = own_after;
        cons->new_n = new_n;
        cons->checked = false;
        return err;
    }
    if (now - cons->beat_ms >= SQ_BEAT_MIN_MS)
        cons->beat_ms = now;
    cons->nacked = 0;
    cons->retire_owed = cons->owed_next;
    return EDXBUS_OK;
}

edxbus_err_t edxbus__sq_claim_check(struct sq_consumer *cons, int64_t now, char *errstr,
                                    size_t errstr_size)
{
    int rc;
    sqlite3_stmt *st = cons->st_members;
    sqlite3_bind_int64(st, 1, cons->gid);
    sqlite3_bind_int64(st, 2, cons->cid);
    for (;;) {
        rc = sqlite3_step(st);
        if (rc != SQLITE_ROW)
            break;
        const char *host = (const char *)sqlite3_column_text(st, 1);
        if (!member_alive(cons, host ? host : "", (pid_t)sqlite3_column_int64(st, 2),
                          sqlite3_column_int64(st, 3))) {
            cons->claim_now = true;
            rc = SQLITE_DONE;
            break;
        }
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return edxbus__sq_fail(&cons->db, rc, "list the group's members", errstr, errstr_size);
    if (cons->claim_now || cons->claim_idle_ms == 0)
        return EDXBUS_OK;
    int64_t any = 0;
    sqlite3_bind_int64(cons->st_idle_any, 1, cons->gid);
    sqlite3_bind_int64(cons->st_idle_any, 2, cons->cid);
    sqlite3_bind_int64(cons->st_idle_any, 3, now - cons->claim_idle_ms);
    edxbus_err_t err = edxbus__sq_int(&cons->db, cons->st_idle_any, 0, &any,
                                      "look for long-pending messages", errstr, errstr_size);
    cons->claim_now = any != 0;
    return err;
}

edxbus_err_t edxbus__sq_tail_read(struct sq_consumer *cons, size_t max, size_t *n, char *errstr,
                                  size_t errstr_size)
{
    sqlite3_bind_int64(cons->st_new, 1, cons->hi);
    sqlite3_bind_int64(cons->st_new, 2, cons->cursor);
    sqlite3_bind_int64(cons->st_new, 3, (int64_t)max);
    edxbus_err_t err = fill_from(cons, cons->st_new, 0, n, "read messages", errstr, errstr_size);
    if (err != EDXBUS_OK) {
        *n = 0;
        return err;
    }
    if (*n > 0)
        cons->cursor = cons->batch.slots[*n - 1].tag + 1;
    cons->maybe_new = *n == max;
    return EDXBUS_OK;
}
