/* src/backends/sqlite/sqlite_doctor.c — `edxbus doctor` on the embedded broker (the doctor slot,
 * backend.h).
 *
 * What can lose or stall events when the broker is one SQLite file:
 *   - where the file lives: SQLite's WAL mode needs shared memory and POSIX locks that network
 *     file systems (NFS, SMB/CIFS, and most FUSE ones) do not give reliably — two machines
 *     writing one file there can corrupt it — and how much room is left (a full disk makes
 *     sends fail);
 *   - what retention is waiting for (issue 17): the rules in force, and per topic each group
 *     that holds events back (those it has not acknowledged), a group that stopped polling
 *     long ago while holding events (the file then grows until it returns), a group whose
 *     backlog grew between two samples; dead letters in `<topic>-dlq`.
 * It reads the file through the "sqlite-status" command's code (sqlite_status.c) and never
 * creates the file. The file-system table below is the one place to add a file system.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>

#include "edxbus/backend_util.h"
#include "sqlite_int.h"

#define FREE_ERROR_BYTES (INT64_C(100) << 20)  /* below this, sends are about to fail */
#define FREE_WARNING_BYTES (INT64_C(1) << 30)  /* below this (or 5%), time to look */
#define IDLE_WARNING_MS (INT64_C(24) * 3600 * 1000) /* a group silent this long is stopped */

/* File systems by statfs f_type (linux/magic.h and the file systems' own headers). */
static const struct fs_kind {
    long magic;
    const char *name;
    edxbus_severity_t severity; /* ERROR: network, WARNING: may be remote */
} fs_kinds[] = {
    {0x6969, "nfs", EDXBUS_SEVERITY_ERROR},
    {0x517B, "smb", EDXBUS_SEVERITY_ERROR},
    {(long)0xFF534D42, "cifs", EDXBUS_SEVERITY_ERROR},
    {(long)0xFE534D42, "smb2", EDXBUS_SEVERITY_ERROR},
    {0x564C, "ncp", EDXBUS_SEVERITY_ERROR},
    {0x00C36400, "ceph", EDXBUS_SEVERITY_ERROR},
    {0x5346414F, "afs", EDXBUS_SEVERITY_ERROR},
    {0x6B414653, "afs", EDXBUS_SEVERITY_ERROR},
    {0x73757245, "coda", EDXBUS_SEVERITY_ERROR},
    {0x01021997, "9p", EDXBUS_SEVERITY_ERROR},
    {0x0BD00BD0, "lustre", EDXBUS_SEVERITY_ERROR},
    {0x01161970, "gfs2", EDXBUS_SEVERITY_ERROR},
    {0x7461636F, "ocfs2", EDXBUS_SEVERITY_ERROR},
    {0x47504653, "gpfs", EDXBUS_SEVERITY_ERROR},
    {0x65735546, "fuse", EDXBUS_SEVERITY_WARNING},
    {0xEF53, "ext2/3/4", EDXBUS_SEVERITY_INFO},
    {0x58465342, "xfs", EDXBUS_SEVERITY_INFO},
    {(long)0x9123683E, "btrfs", EDXBUS_SEVERITY_INFO},
    {0x01021994, "tmpfs", EDXBUS_SEVERITY_INFO},
    {0x794C7630, "overlayfs", EDXBUS_SEVERITY_INFO},
    {0x2FC12FC1, "zfs", EDXBUS_SEVERITY_INFO},
    {(long)0xF2F52010, "f2fs", EDXBUS_SEVERITY_INFO},
};

/* The directory holding @p path (the file itself may not exist yet). */
static void dir_of(const char *path, char *out, size_t size)
{
    snprintf(out, size, "%s", path);
    char *slash = strrchr(out, '/');
    if (slash == NULL)
        snprintf(out, size, ".");
    else if (slash == out)
        out[1] = '\0';
    else
        *slash = '\0';
}

void edxbus__sq_fs_finding(const char *path, const char *dir, unsigned long f_type,
                           edxbus_finding_fn report, void *opaque)
{
    const struct fs_kind *kind = NULL;
    for (size_t i = 0; i < sizeof fs_kinds / sizeof fs_kinds[0]; i++)
        if ((unsigned long)fs_kinds[i].magic == (f_type & 0xFFFFFFFFUL))
            kind = &fs_kinds[i];
    char type[32];
    if (kind != NULL)
        snprintf(type, sizeof type, "%s", kind->name);
    else
        snprintf(type, sizeof type, "0x%lx", f_type);
    json_t *details = json_pack("{s:s, s:s}", "directory", dir, "filesystem", type);
    if (kind != NULL && kind->severity == EDXBUS_SEVERITY_ERROR)
        edxbus_findingf(report, opaque, EDXBUS_SEVERITY_ERROR, "sqlite.network-filesystem", path,
                        "put EVENT_BUS_SQLITE_PATH on a local disk of the machine that runs the "
                        "producers and consumers, or use the redis or kafka backend to share a "
                        "bus between machines",
                        details,
                        "the file is on a network file system (%s): SQLite's WAL needs shared "
                        "memory and locks it does not give; writers on two machines can corrupt "
                        "the file",
                        type);
    else if (kind != NULL && kind->severity == EDXBUS_SEVERITY_WARNING)
        edxbus_findingf(report, opaque, EDXBUS_SEVERITY_WARNING, "sqlite.network-filesystem",
                        path,
                        "if it is a network or remote file system, move EVENT_BUS_SQLITE_PATH to "
                        "a local disk",
                        details,
                        "the file is on a FUSE file system: if it is remote (sshfs, s3fs, …), "
                        "SQLite's locks and WAL are not safe there");
    else
        edxbus_findingf(report, opaque, EDXBUS_SEVERITY_INFO, "sqlite.filesystem", path, NULL,
                        details, "the file is on a local file system (%s)", type);
}

static void check_place(const char *path, edxbus_finding_fn report, void *opaque)
{
    char dir[4096];
    dir_of(path, dir, sizeof dir);
    struct statfs fs;
    struct statvfs vfs;
    if (statfs(dir, &fs) != 0 || statvfs(dir, &vfs) != 0) {
        edxbus_findingf(report, opaque, EDXBUS_SEVERITY_ERROR, "sqlite.directory", path,
                        "create the directory, or point EVENT_BUS_SQLITE_PATH at one that exists",
                        NULL, "cannot look at the directory %s: %s", dir, strerror(errno));
        return;
    }
    edxbus__sq_fs_finding(path, dir, (unsigned long)fs.f_type, report, opaque);

    int64_t avail = (int64_t)vfs.f_bavail * (int64_t)vfs.f_frsize;
    int64_t total = (int64_t)vfs.f_blocks * (int64_t)vfs.f_frsize;
    struct stat sb;
    int64_t size = stat(path, &sb) == 0 ? (int64_t)sb.st_size : 0;
    json_t *details = json_pack("{s:s, s:I, s:I, s:I}", "directory", dir, "free_bytes", (json_int_t)avail,
                        "total_bytes", (json_int_t)total, "file_bytes", (json_int_t)size);
    edxbus_severity_t sev = EDXBUS_SEVERITY_INFO;
    if (avail < FREE_ERROR_BYTES)
        sev = EDXBUS_SEVERITY_ERROR;
    else if (avail < FREE_WARNING_BYTES || avail < total / 20)
        sev = EDXBUS_SEVERITY_WARNING;
    edxbus_findingf(report, opaque, sev, "sqlite.disk-free", path,
                    sev == EDXBUS_SEVERITY_INFO
                        ? NULL
                        : "free space on that file system, or lower EVENT_BUS_SQLITE_RETENTION / "
                          "set EVENT_BUS_SQLITE_RETENTION_BYTES so the file stays smaller; a full "
                          "disk makes every send fail",
                    details, "%lld bytes free of %lld on the file system of %s (the file: %lld bytes)",
                    (long long)avail, (long long)total, dir, (long long)size);
}

static const char *str_of(const json_t *o, const char *key, const char *def)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : def;
}

static long long int_of(const json_t *o, const char *key)
{
    return (long long)json_integer_value(json_object_get(o, key));
}

static void check_retention(const json_t *st, const struct edxbus_doctor_opts *opts,
                            edxbus_finding_fn report, void *opaque)
{
    const char *path = str_of(st, "path", "?");
    const json_t *ret = json_object_get(st, "retention");
    edxbus_findingf(report, opaque, EDXBUS_SEVERITY_INFO, "sqlite.retention", path, NULL,
                    json_deep_copy(ret),
                    "retention: an event every group acknowledged is kept %s; at most %lld per "
                    "topic (0: no cap); size limit %lld bytes (0: none); idle groups let go "
                    "after %s",
                    str_of(ret, "age", "forever"), int_of(ret, "max_len"),
                    int_of(ret, "max_bytes"), str_of(ret, "group_idle_limit", "never"));
    bool idle_limit = json_is_string(json_object_get(ret, "group_idle_limit"));
    size_t i, j;
    const json_t *t, *g;
    json_array_foreach(json_object_get(st, "topics"), i, t)
    {
        const char *topic = str_of(t, "topic", "?");
        if (opts->topic != NULL && strcmp(topic, opts->topic) != 0) {
            size_t n = strlen(opts->topic);
            if (!(strncmp(topic, opts->topic, n) == 0 && strcmp(topic + n, "-dlq") == 0))
                continue;
        }
        if (edxbus_topic_is_dlq(topic)) {
            edxbus_doctor_dead_letters(report, opaque, topic, int_of(t, "events"));
            continue;
        }
        json_array_foreach(json_object_get(t, "groups"), j, g)
        {
            const char *group = str_of(g, "group", "?");
            if (opts->group != NULL && strcmp(group, opts->group) != 0)
                continue;
            long long held = int_of(g, "holds_back"), idle = int_of(g, "idle_ms");
            char subject[600];
            snprintf(subject, sizeof subject, "topic %s, group %s", topic, group);
            json_t *details = json_pack("{s:s, s:s, s:I, s:I, s:I}", "topic", topic, "group",
                                        group, "holds_back", (json_int_t)held,
                                        "first_unacknowledged",
                                        (json_int_t)int_of(g, "first_unacknowledged"),
                                        "idle_ms", (json_int_t)idle);
            if (held > 0 && idle >= IDLE_WARNING_MS && !idle_limit)
                edxbus_findingf(report, opaque, EDXBUS_SEVERITY_WARNING, "sqlite.idle-group",
                                subject,
                                "start the group's consumers again, or set "
                                "EVENT_BUS_SQLITE_GROUP_IDLE_LIMIT (e.g. 30d) so that a group "
                                "stopped for good lets go",
                                details,
                                "the group has not polled for %lld h and holds back %lld "
                                "event(s) from retention: the file grows until it returns",
                                idle / 3600000, held);
            else if (held > 0)
                edxbus_findingf(report, opaque, EDXBUS_SEVERITY_INFO, "sqlite.retention-held",
                                subject, NULL, details,
                                "retention waits for this group: it holds back %lld event(s), "
                                "from position %lld",
                                held, int_of(g, "first_unacknowledged"));
            else
                json_decref(details);
        }
    }
}

/* The backlog of each group, from a status object, in the order of the topics and groups. */
static void lag_trends(const json_t *before, const json_t *after,
                       const struct edxbus_doctor_opts *opts, int64_t interval_ms,
                       edxbus_finding_fn report, void *opaque)
{
    size_t i, j, k, l;
    const json_t *t, *g, *t2, *g2;
    json_array_foreach(json_object_get(before, "topics"), i, t)
    {
        const char *topic = str_of(t, "topic", "?");
        if (edxbus_topic_is_dlq(topic) || (opts->topic && strcmp(topic, opts->topic) != 0))
            continue;
        json_array_foreach(json_object_get(t, "groups"), j, g)
        {
            const char *group = str_of(g, "group", "?");
            if (opts->group != NULL && strcmp(group, opts->group) != 0)
                continue;
            json_array_foreach(json_object_get(after, "topics"), k, t2)
            {
                if (strcmp(str_of(t2, "topic", ""), topic) != 0)
                    continue;
                json_array_foreach(json_object_get(t2, "groups"), l, g2)
                {
                    if (strcmp(str_of(g2, "group", ""), group) == 0)
                        edxbus_doctor_lag_trend(report, opaque, topic, group,
                                                int_of(g, "holds_back"), int_of(g2, "holds_back"),
                                                interval_ms);
                }
            }
        }
    }
}

edxbus_err_t edxbus__sq_doctor(const edxbus_conf_t *conf, const struct edxbus_doctor_opts *opts,
                               edxbus_finding_fn report, void *opaque, char *errstr,
                               size_t errstr_size)
{
    const char *path = edxbus_conf_get_str(conf, "EVENT_BUS_SQLITE_PATH", SQ_DEFAULT_PATH);
    if (path == NULL || *path == '\0')
        path = SQ_DEFAULT_PATH;
    check_place(path, report, opaque);
    struct stat sb;
    if (stat(path, &sb) != 0) {
        edxbus_findingf(report, opaque, EDXBUS_SEVERITY_INFO, "sqlite.no-file", path, NULL, NULL,
                        "the file does not exist yet: the first producer or consumer creates it");
        return EDXBUS_OK;
    }
    json_t *before = NULL, *after = NULL;
    int64_t t0 = edxbus_clock_wall_ms();
    edxbus_err_t err = edxbus__sq_status(conf, &before, errstr, errstr_size);
    if (err != EDXBUS_OK)
        return err;
    check_retention(before, opts, report, opaque);
    bool any_group = false;
    size_t i;
    const json_t *t;
    json_array_foreach(json_object_get(before, "topics"), i, t)
    {
        any_group = any_group || json_array_size(json_object_get(t, "groups")) > 0;
    }
    if (any_group) {
        int64_t left = t0 + opts->interval_ms - edxbus_clock_wall_ms();
        if (left > 0)
            edxbus_clock_sleep_ms((int)left);
        char err2[EDXBUS_ERRSTR_SIZE];
        if (edxbus__sq_status(conf, &after, err2, sizeof err2) == EDXBUS_OK)
            lag_trends(before, after, opts, edxbus_clock_wall_ms() - t0, report, opaque);
        else
            edxbus_findingf(report, opaque, EDXBUS_SEVERITY_WARNING, "sqlite.unreadable", path,
                            NULL, NULL, "could not read the file a second time: %s", err2);
    }
    json_decref(before);
    json_decref(after);
    return EDXBUS_OK;
}
