/* tests/unit/bus/test_sqlite_doctor_fs.c — the doctor's finding on where the embedded broker's
 * file lives, from the statfs f_type of its directory (edxbus__sq_fs_finding): NFS, SMB, SMB2
 * and CIFS are errors that name the file system and say to move the file to a local disk;
 * FUSE is a warning (it may be remote); ext4, tmpfs and a number nobody knows are information.
 * No network file system is needed: the classification takes the number statfs() gives, and
 * the doctor's real path (statfs of a real directory) is checked to give the same finding as
 * the function for the number statfs() returns here.
 */
#include <string.h>
#include <sys/statfs.h>

#include "backends/sqlite/sqlite_int.h"
#include "edxbus/conf.h"
#include "edxbus/doctor.h"
#include "test.h"

static char dir[256];

/* The findings of one call, kept as text. */
struct seen {
    int n;
    edxbus_severity_t severity;
    char check[64], text[512], fix[512], fs[64];
};

static void keep(void *opaque, const struct edxbus_finding *f)
{
    struct seen *s = opaque;
    if (strcmp(f->check, "sqlite.filesystem") != 0 &&
        strcmp(f->check, "sqlite.network-filesystem") != 0)
        return; /* the doctor's other findings (free space, retention) */
    s->n++;
    s->severity = f->severity;
    snprintf(s->check, sizeof s->check, "%s", f->check);
    snprintf(s->text, sizeof s->text, "%s", f->text);
    snprintf(s->fix, sizeof s->fix, "%s", f->fix ? f->fix : "");
    const char *fs = json_string_value(json_object_get(f->details, "filesystem"));
    snprintf(s->fs, sizeof s->fs, "%s", fs ? fs : "");
}

static struct seen classify(unsigned long f_type)
{
    struct seen s = {0};
    edxbus__sq_fs_finding("/srv/bus.db", "/srv", f_type, keep, &s);
    ASSERT_EQ_INT(s.n, 1);
    return s;
}

static void network(unsigned long f_type, const char *name)
{
    struct seen s = classify(f_type);
    ASSERT_EQ_INT(s.severity, EDXBUS_SEVERITY_ERROR);
    ASSERT_EQ_STR(s.check, "sqlite.network-filesystem");
    ASSERT_EQ_STR(s.fs, name);
    ASSERT_CONTAINS(s.text, "network file system");
    ASSERT_CONTAINS(s.text, name);
    ASSERT_CONTAINS(s.fix, "local disk");
}

static void local(unsigned long f_type, const char *name)
{
    struct seen s = classify(f_type);
    ASSERT_EQ_INT(s.severity, EDXBUS_SEVERITY_INFO);
    ASSERT_EQ_STR(s.check, "sqlite.filesystem");
    ASSERT_EQ_STR(s.fs, name);
    ASSERT_CONTAINS(s.text, name);
    ASSERT_EQ_STR(s.fix, ""); /* nothing to do */
}

TEST(test_network_file_systems_are_errors)
{
    network(0x6969, "nfs");                  /* NFS_SUPER_MAGIC */
    network(0x517B, "smb");                  /* SMB_SUPER_MAGIC */
    network(0xFE534D42, "smb2");             /* SMB2_MAGIC_NUMBER */
    network(0xFF534D42, "cifs");             /* CIFS_SUPER_MAGIC */
    network((unsigned long)(long)(int32_t)0xFF534D42, "cifs"); /* as a sign-extended long */
    network(0x00C36400, "ceph");
}

TEST(test_fuse_is_a_warning)
{
    struct seen s = classify(0x65735546); /* FUSE_SUPER_MAGIC */
    ASSERT_EQ_INT(s.severity, EDXBUS_SEVERITY_WARNING);
    ASSERT_EQ_STR(s.check, "sqlite.network-filesystem");
    ASSERT_EQ_STR(s.fs, "fuse");
    ASSERT_CONTAINS(s.text, "FUSE");
    ASSERT_CONTAINS(s.fix, "local disk");
}

TEST(test_local_file_systems_are_information)
{
    local(0xEF53, "ext2/3/4");  /* EXT4_SUPER_MAGIC */
    local(0x01021994, "tmpfs"); /* TMPFS_MAGIC */
    local(0x58465342, "xfs");
    local(0x12345678, "0x12345678"); /* unknown: named by its number, not an alarm */
}

/* The doctor itself, on a real directory: the same finding as the function gives for the
 * f_type statfs() reports for that directory. */
TEST(test_real_directory_agrees)
{
    char path[512], errstr[EDXBUS_ERRSTR_SIZE] = "";
    snprintf(path, sizeof path, "%s/bus.db", dir);
    edxbus_conf_t *conf = edxbus_conf_new();
    if (edxbus_conf_set(conf, "EVENT_BUS_SQLITE_PATH", path, errstr, sizeof errstr) != EDXBUS_OK)
        TEST_FAIL_("conf: %s", errstr);
    struct seen real = {0}, want = {0};
    if (edxbus__sq_doctor(conf, NULL, keep, &real, errstr, sizeof errstr) != EDXBUS_OK)
        TEST_FAIL_("doctor: %s", errstr);
    struct statfs fs;
    ASSERT_EQ_INT(statfs(dir, &fs), 0);
    edxbus__sq_fs_finding(path, dir, (unsigned long)fs.f_type, keep, &want);
    ASSERT_EQ_INT(real.n, 1);
    ASSERT_EQ_INT(real.severity, want.severity);
    ASSERT_EQ_STR(real.text, want.text);
    ASSERT_EQ_STR(real.fs, want.fs);
    edxbus_conf_destroy(conf);
}

int main(void)
{
    test_tmpdir(dir, sizeof dir, "edxbus-doctor-fs");
    RUN(test_network_file_systems_are_errors);
    RUN(test_fuse_is_a_warning);
    RUN(test_local_file_systems_are_information);
    RUN(test_real_directory_agrees);
    test_rmdir(dir);
    return test_report();
}
