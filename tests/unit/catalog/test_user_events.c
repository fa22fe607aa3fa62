/* Users' own event types: a directory of .avsc files, and a payload-class file defining new
 * classes and events (with built-in classes used by name); errors name file and line, and a
 * failed add leaves the catalog as it was. */
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "edxbus/catalog.h"
#include "test.h"

static char tmpdir[256];

static void write_file(const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "w");
    if (f == NULL)
        TEST_FAIL_("cannot write %s", path);
    fputs(text, f);
    fclose(f);
}

static void remove_file(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    remove(path);
}

static const char *tmp_path(const char *name)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    return path;
}

TEST(test_avsc_dir)
{
    write_file("org+example+thing+happened+v1_schema.avsc",
               "{\"name\": \"CloudEvent\", \"type\": \"record\", \"doc\": \"d\", \"fields\": "
               "[{\"name\": \"thing\", \"type\": {\"name\": \"ThingData\", \"type\": \"record\", "
               "\"fields\": [{\"name\": \"id\", \"type\": \"long\"}]}}]}");
    write_file("named.avsc",
               "{\"name\": \"CloudEvent\", \"type\": \"record\", \"namespace\": "
               "\"org.example.named.v1\", \"fields\": [{\"name\": \"n\", \"type\": \"string\"}]}");
    write_file("ignored.txt", "not a schema");
    edxbus_catalog_t *cat = edxbus_catalog_new();
    char errstr[EDXBUS_ERRSTR_SIZE] = "";
    ASSERT_EQ_INT(edxbus_catalog_add_avsc_dir(cat, tmpdir, errstr, sizeof errstr), EDXBUS_OK);
    ASSERT_EQ_INT(edxbus_catalog_count(cat), 77);
    const edxbus_event_type_t *et = edxbus_catalog_find(cat, "org.example.thing.happened.v1");
    ASSERT_TRUE(et != NULL);
    ASSERT_TRUE(edxbus_event_type_signal(et) == NULL);
    ASSERT_EQ_STR(edxbus_event_type_description(et), "");
    ASSERT_TRUE(edxbus_event_type_is_serializable(et));
    json_t *data = json_pack("{s:{s:i}}", "thing", "id", 1);
    struct edxbus_buf out = EDXBUS_BUF_INIT;
    ASSERT_EQ_INT(edxbus_event_encode(et, data, 0, &out, errstr, sizeof errstr), EDXBUS_OK);
    ASSERT_EQ_UINT(out.len, 1);
    ASSERT_EQ_INT(out.data[0], 2);
    json_decref(data);
    edxbus_buf_fini(&out);
    ASSERT_TRUE(edxbus_catalog_find(cat, "org.example.named.v1") != NULL);

    /* a bad file: error names it, and nothing from the directory is added */
    write_file("zz_bad.avsc", "{\"type\": \"record\", \"name\": \"X\", \"fields\": [{\"name\": "
                              "\"a\", \"type\": \"strng\"}]}");
    edxbus_catalog_t *cat2 = edxbus_catalog_new();
    ASSERT_EQ_INT(edxbus_catalog_add_avsc_dir(cat2, tmpdir, errstr, sizeof errstr),
                  EDXBUS_ERR_SCHEMA);
    ASSERT_CONTAINS(errstr, "zz_bad.avsc");
    ASSERT_EQ_INT(edxbus_catalog_count(cat2), 75);
    write_file("zz_bad.avsc", "{\"type\": \"record\", ");
    ASSERT_EQ_INT(edxbus_catalog_add_avsc_dir(cat2, tmpdir, errstr, sizeof errstr),
                  EDXBUS_ERR_SCHEMA);
    ASSERT_CONTAINS(errstr, "zz_bad.avsc:1:");
    remove_file("zz_bad.avsc");
    ASSERT_EQ_INT(edxbus_catalog_add_avsc_dir(cat2, "/nonexistent/dir", errstr, sizeof errstr),
                  EDXBUS_ERR_IO);
    ASSERT_CONTAINS(errstr, "/nonexistent/dir");
    remove_file("org+example+thing+happened+v1_schema.avsc");
    remove_file("named.avsc");
    remove_file("ignored.txt");
    edxbus_catalog_destroy(cat2);
    edxbus_catalog_destroy(cat);
}

TEST(test_avsc_replaces_a_builtin_event)
{
    write_file("org+openedx+learning+course+enrollment+created+v1_schema.avsc",
               "{\"name\": \"CloudEvent\", \"type\": \"record\", \"fields\": "
               "[{\"name\": \"x\", \"type\": \"long\"}]}");
    edxbus_catalog_t *cat = edxbus_catalog_new();
    char errstr[EDXBUS_ERRSTR_SIZE] = "";
    ASSERT_EQ_INT(edxbus_catalog_add_avsc_dir(cat, tmpdir, errstr, sizeof errstr), EDXBUS_OK);
    ASSERT_EQ_INT(edxbus_catalog_count(cat), 75);
    const edxbus_event_type_t *et =
        edxbus_catalog_find(cat, "org.openedx.learning.course.enrollment.created.v1");
    ASSERT_CONTAINS(edxbus_event_type_schema_text(et), "\"x\"");
    remove_file("org+openedx+learning+course+enrollment+created+v1_schema.avsc");
    edxbus_catalog_destroy(cat);
}

static const char CLASSES[] =
    "# a service's own event, the way openedx-events defines one\n"
    "module grading\n"
    "\n"
    "class ScoreData:\n"
    "    user: UserData            # built in (learning), unique by name\n"
    "    course: learning.CourseData\n"
    "    block: UsageKey\n"
    "    score: float\n"
    "    graded_at: datetime\n"
    "    tags: List[str] = factory(list)\n"
    "    note: str = None\n"
    "\n"
    "class RegradeData(ScoreData):\n"
    "    previous: ScoreData = None\n"
    "\n"
    "event org.example.grading.score.changed.v1:\n"
    "    signal: SCORE_CHANGED\n"
    "    minor_version: 2\n"
    "    key_field: score.course.course_key\n"
    "    description: Emitted when a score\n"
    "        changes.\n"
    "    data:\n"
    "        score: RegradeData\n"
    "        reason: str\n"
    "\n"
    "event org.example.grading.legacy.v1:\n"
    "    unserializable: it carries a file\n"
    "    data:\n"
    "        score: ScoreData\n";

TEST(test_classes_file_defines_events)
{
    write_file("grading.classes", CLASSES);
    edxbus_catalog_t *cat = edxbus_catalog_new();
    char errstr[EDXBUS_ERRSTR_SIZE] = "";
    if (edxbus_catalog_add_classes_file(cat, tmp_path("grading.classes"), errstr, sizeof errstr) !=
        EDXBUS_OK)
        TEST_FAIL_("%s", errstr);
    ASSERT_EQ_INT(edxbus_catalog_count(cat), 77);
    const edxbus_event_type_t *et =
        edxbus_catalog_find(cat, "org.example.grading.score.changed.v1");
    ASSERT_TRUE(et != NULL);
    ASSERT_EQ_STR(edxbus_event_type_signal(et), "SCORE_CHANGED");
    ASSERT_EQ_INT(edxbus_event_type_minor_version(et), 2);
    ASSERT_EQ_STR(edxbus_event_type_key_field(et), "score.course.course_key");
    ASSERT_EQ_STR(edxbus_event_type_description(et), "Emitted when a score changes.");
    const char *text = edxbus_event_type_schema_text(et);
    ASSERT_TRUE(text != NULL);
    /* base fields first; the second use of ScoreData is a bare name; None default is a union */
    ASSERT_CONTAINS(text, "\"name\": \"RegradeData\"");
    ASSERT_CONTAINS(text, "{\"default\": null, \"name\": \"previous\", \"type\": [\"null\", "
                          "{\"fields\": [{\"name\": \"user\", \"type\": \"UserData\"}");
    ASSERT_CONTAINS(text, "{\"name\": \"tags\", \"type\": {\"items\": \"string\", \"type\": "
                          "\"array\"}}");
    ASSERT_CONTAINS(text, "\"namespace\": \"org.example.grading.score.changed.v1\"");
    ASSERT_TRUE(strstr(text, "\"name\": \"user\"") < strstr(text, "\"name\": \"previous\""));

    json_t *data = json_pack(
        "{s:{s:{s:i, s:b, s:{s:s, s:s, s:s}}, s:{s:s, s:s, s:n, s:n}, s:s, s:f, s:s, s:[], "
        "s:n, s:n}, s:s}",
        "score", "user", "id", 1, "is_active", 1, "pii", "username", "u", "email", "e", "name", "n",
        "course", "course_key", "course-v1:a+b+c", "display_name", "d", "start", "end", "block",
        "block-v1:a+b+c+type@problem+block@p", "score", 0.5, "graded_at",
        "2024-01-01T00:00:00+00:00", "tags", "note", "previous", "reason", "regrade");
    struct edxbus_buf out = EDXBUS_BUF_INIT;
    ASSERT_EQ_INT(edxbus_event_encode(et, data, 0, &out, errstr, sizeof errstr), EDXBUS_OK);
    json_object_set_new(json_object_get(data, "score"), "graded_at", json_string("yesterday"));
    ASSERT_EQ_INT(edxbus_event_encode(et, data, 0, &out, errstr, sizeof errstr), EDXBUS_ERR_ENCODE);
    ASSERT_CONTAINS(errstr, "score.graded_at");
    json_object_set_new(json_object_get(data, "score"), "graded_at",
                        json_string("2024-01-01T00:00:00+00:00"));
    json_object_set_new(json_object_get(json_object_get(data, "score"), "course"), "course_key",
                        json_string("nope"));
    ASSERT_EQ_INT(edxbus_event_encode(et, data, 0, &out, errstr, sizeof errstr), EDXBUS_ERR_ENCODE);
    ASSERT_CONTAINS(errstr, "score.course.course_key");
    json_decref(data);
    edxbus_buf_fini(&out);

    et = edxbus_catalog_find(cat, "org.example.grading.legacy.v1");
    ASSERT_TRUE(et != NULL && !edxbus_event_type_is_serializable(et));
    ASSERT_EQ_STR(edxbus_event_type_unserializable_reason(et), "it carries a file");
    remove_file("grading.classes");
    edxbus_catalog_destroy(cat);
}

struct bad_case {
    const char *text;
    const char *want; /* in the message, after "file:" */
};

TEST(test_classes_file_errors_name_file_and_line)
{
    static const struct bad_case cases[] = {
        {"class A:\n    x: strng\n", ":2: unknown type strng"},
        {"class A:\n    x: str\n    x: int\n", ":3: field x is already defined at line 2"},
        {"\nclass A:\n    x: dict\n", ":3: a dict needs its item type"},
        {"class A:\n    x: Dict[int, str]\n", ":2: Dict keys must be str"},
        {"class A:\n    x: str = maybe\n", ":2: default \"maybe\""},
        {"class A(B):\n    x: str\n", ":1: unknown class B"},
        {"class A(B):\n    pass\nclass B(A):\n    pass\n", "inherits from itself"},
        {"event org.x.v1:\n    signal: X\n", ":1: event org.x.v1 has no data: section"},
        {"event org.x.v1:\n    colour: red\n    data:\n        a: str\n",
         ":2: unknown key \"colour\""},
        {"event org.x.v1:\n    data:\n        a: CourseData\n", "CourseData is ambiguous"},
        {"event org.x.v1:\n    data:\n        a: List[datetime]\n",
         ":3: a: a datetime cannot be a list item"},
        {"class A:\n    f: BinaryIO\nevent org.x.v1:\n    data:\n        a: A\n",
         ":2: A.f: BinaryIO has no Avro type"},
        {"event org x:\n", ":1: \"org x\" is not an event type"},
        {"  indented\n", ":1: indented line outside a class or event"},
        {"class A:\n\tx: str\n", ":2: tab in indentation"},
        {"event org.x.v1:\n    minor_version: two\n", ":2: minor_version \"two\""},
        {"something\n", ":1: expected \"module name\""},
        {"event org.x.v1:\n    data:\n        a: int\nevent org.x.v1:\n    data:\n        b: int\n",
         ":4: event org.x.v1 is already defined at line 1"},
    };
    edxbus_catalog_t *cat = edxbus_catalog_new();
    char errstr[EDXBUS_ERRSTR_SIZE];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        write_file("bad.classes", cases[i].text);
        errstr[0] = '\0';
        edxbus_err_t err =
            edxbus_catalog_add_classes_file(cat, tmp_path("bad.classes"), errstr, sizeof errstr);
        if (err != EDXBUS_ERR_SCHEMA)
            TEST_FAIL_("case %zu: got %s (%s)", i, edxbus_err2name(err), errstr);
        ASSERT_CONTAINS(errstr, "bad.classes:");
        ASSERT_CONTAINS(errstr, cases[i].want);
        ASSERT_EQ_INT(edxbus_catalog_count(cat), 75);
    }
    remove_file("bad.classes");
    ASSERT_EQ_INT(
        edxbus_catalog_add_classes_file(cat, tmp_path("missing.classes"), errstr, sizeof errstr),
        EDXBUS_ERR_IO);
    ASSERT_CONTAINS(errstr, "missing.classes");
    edxbus_catalog_destroy(cat);
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "%s/edxbus-catalog-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (mkdtemp(tmpdir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_avsc_dir);
    RUN(test_avsc_replaces_a_builtin_event);
    RUN(test_classes_file_defines_events);
    RUN(test_classes_file_errors_name_file_and_line);
    rmdir(tmpdir);
    return test_report();
}
