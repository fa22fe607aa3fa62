/* tests/unit/bus/test_doctor.c — edxbus_doctor_run(), the core's part of `edxbus doctor`, with
 * backend tables of the test's own: the producing and the consuming backend are each asked once
 * (once when they are the same), findings come back stamped with the backend's name whatever
 * the backend put there, the worst severity is returned, a backend that could check nothing
 * becomes one error finding with its text, a table without the slot (ABI 3) is an info line,
 * -t gets the prefix added, the routes of EVENT_BUS_PRODUCER_CONFIG reach the backend with full
 * topics and the event's schema (only those to the topic asked), and settings `config check` refuses are refused before any backend
 * is asked (one line, with how many more problems).
 */
#include <string.h>

#include "edxbus/backend_util.h"
#include "edxbus/edxbus.h"
#include "test.h"

extern const struct edxbus_backend_ops edxbus_backend_sqlite;

static int asked;
static char seen_topic[128], seen_route[256];
static size_t seen_nroutes;

static edxbus_err_t warn_doctor(const edxbus_conf_t *conf, const struct edxbus_doctor_opts *opts,
                                edxbus_finding_fn report, void *opaque, char *errstr,
                                size_t errstr_size)
{
    (void)conf, (void)errstr, (void)errstr_size;
    asked++;
    snprintf(seen_topic, sizeof seen_topic, "%s", opts->topic ? opts->topic : "(none)");
    seen_nroutes = opts->nroutes;
    snprintf(seen_route, sizeof seen_route, "%s %s %d", opts->nroutes ? opts->routes[0].topic : "-",
             opts->nroutes ? opts->routes[0].event_type : "-",
             opts->nroutes && strstr(opts->routes[0].value_schema, "\"CourseEnrollmentData\"") != NULL);
    struct edxbus_finding f = {.severity = EDXBUS_SEVERITY_WARNING,
                               .backend = "liar",
                               .check = "fake.warn",
                               .text = "a warning"};
    report(opaque, &f);
    return EDXBUS_OK;
}

static edxbus_err_t down_doctor(const edxbus_conf_t *conf, const struct edxbus_doctor_opts *opts,
                                edxbus_finding_fn report, void *opaque, char *errstr,
                                size_t errstr_size)
{
    (void)conf, (void)opts, (void)report, (void)opaque;
    asked++;
    snprintf(errstr, errstr_size, "fake: cannot connect to fake://x: refused");
    return EDXBUS_ERR_IO;
}

/* The smallest table the registry accepts: the sqlite backend's required slots. */
static struct edxbus_backend_ops table(const char *name, int abi)
{
    struct edxbus_backend_ops ops = edxbus_backend_sqlite;
    ops.abi_version = abi;
    ops.name = name;
    ops.aliases = NULL;
    ops.settings = NULL;
    ops.extra_options = NULL;
    ops.check = NULL;
    ops.admin_commands = NULL;
    ops.doctor = NULL;
    return ops;
}

static struct edxbus_backend_ops warn_ops, down_ops, none_ops;

struct seen {
    int n;
    char backends[8][32];
    char checks[8][64];
    char texts[8][256];
    edxbus_severity_t severities[8];
};

static void collect(void *opaque, const struct edxbus_finding *f)
{
    struct seen *s = opaque;
    if (s->n >= 8)
        return;
    snprintf(s->backends[s->n], sizeof s->backends[0], "%s", f->backend);
    snprintf(s->checks[s->n], sizeof s->checks[0], "%s", f->check);
    snprintf(s->texts[s->n], sizeof s->texts[0], "%s", f->text);
    s->severities[s->n] = f->severity;
    s->n++;
}

static edxbus_conf_t *conf_of(const char *producer, const char *consumer)
{
    char errstr[EDXBUS_ERRSTR_SIZE];
    edxbus_conf_t *conf = edxbus_conf_new();
    edxbus_conf_set_log(conf, NULL, NULL);
    ASSERT_TRUE(edxbus_conf_set(conf, "EVENT_BUS_PRODUCER", producer, errstr, sizeof errstr) ==
                EDXBUS_OK);
    ASSERT_TRUE(edxbus_conf_set(conf, "EVENT_BUS_CONSUMER", consumer, errstr, sizeof errstr) ==
                EDXBUS_OK);
    return conf;
}

TEST(test_each_backend_once_stamped_worst)
{
    char errstr[EDXBUS_ERRSTR_SIZE] = "";
    struct seen s = {0};
    edxbus_severity_t worst = EDXBUS_SEVERITY_ERROR;
    edxbus_conf_t *conf = conf_of("docwarn", "docwarn");
    asked = 0;
    ASSERT_EQ_INT(edxbus_doctor_run(conf, NULL, collect, &s, &worst, errstr, sizeof errstr),
                  EDXBUS_OK);
    ASSERT_EQ_INT(asked, 1);
    ASSERT_EQ_INT(s.n, 1);
    ASSERT_EQ_STR(s.backends[0], "docwarn"); /* not the "liar" the backend wrote */
    ASSERT_EQ_INT(worst, EDXBUS_SEVERITY_WARNING);
    ASSERT_EQ_STR(seen_topic, "(none)");
    edxbus_conf_destroy(conf);
}

/* A backend without the doctor slot (optional) is an info line, not a failure. */
TEST(test_unreachable_and_checkless_backends)
{
    char errstr[EDXBUS_ERRSTR_SIZE] = "";
    struct seen s = {0};
    edxbus_severity_t worst = EDXBUS_SEVERITY_INFO;
    edxbus_conf_t *conf = conf_of("docdown", "docnone");
    asked = 0;
    ASSERT_EQ_INT(edxbus_doctor_run(conf, NULL, collect, &s, &worst, errstr, sizeof errstr),
                  EDXBUS_OK);
    ASSERT_EQ_INT(asked, 1);
    ASSERT_EQ_INT(s.n, 2);
    ASSERT_EQ_STR(s.backends[0], "docdown");
    ASSERT_EQ_STR(s.checks[0], "broker.unreachable");
    ASSERT_EQ_STR(s.texts[0], "fake: cannot connect to fake://x: refused");
    ASSERT_EQ_INT(s.severities[0], EDXBUS_SEVERITY_ERROR);
    ASSERT_EQ_STR(s.backends[1], "docnone");
    ASSERT_EQ_STR(s.checks[1], "doctor.unsupported");
    ASSERT_EQ_INT(s.severities[1], EDXBUS_SEVERITY_INFO);
    ASSERT_EQ_INT(worst, EDXBUS_SEVERITY_ERROR);
    edxbus_conf_destroy(conf);
}

TEST(test_topic_gets_the_prefix)
{
    char errstr[EDXBUS_ERRSTR_SIZE] = "";
    struct seen s = {0};
    edxbus_conf_t *conf = conf_of("docwarn", "docwarn");
    ASSERT_TRUE(edxbus_conf_set(conf, "EVENT_BUS_TOPIC_PREFIX", "dev", errstr, sizeof errstr) ==
                EDXBUS_OK);
    const char *routes = "{\"org.openedx.learning.course.enrollment.created.v1\": {"
                         "\"t1\": {\"event_key_field\": \"enrollment.course.course_key\", "
                         "\"enabled\": true}, \"t2\": {\"event_key_field\": "
                         "\"enrollment.course.course_key\", \"enabled\": true}}}";
    ASSERT_TRUE(edxbus_conf_set(conf, "EVENT_BUS_PRODUCER_CONFIG", routes, errstr,
                                sizeof errstr) == EDXBUS_OK);
    ASSERT_EQ_INT(edxbus_doctor_run(conf, NULL, collect, &s, NULL, errstr, sizeof errstr),
                  EDXBUS_OK);
    ASSERT_EQ_INT(seen_nroutes, 2);
    struct edxbus_doctor_opts opts = {.topic = "t1", .interval_ms = 0};
    ASSERT_EQ_INT(edxbus_doctor_run(conf, &opts, collect, &s, NULL, errstr, sizeof errstr),
                  EDXBUS_OK);
    ASSERT_EQ_STR(seen_topic, "dev-t1");
    ASSERT_EQ_INT(seen_nroutes, 1);
    ASSERT_EQ_STR(seen_route, "dev-t1 org.openedx.learning.course.enrollment.created.v1 1");
    edxbus_conf_destroy(conf);
}

TEST(test_bad_settings_refused_before_any_backend)
{
    char errstr[EDXBUS_ERRSTR_SIZE] = "";
    struct seen s = {0};
    edxbus_conf_t *conf = conf_of("docwarn", "docwarn");
    ASSERT_TRUE(edxbus_conf_set(conf, "EVENT_BUS_REDIS_CONNECTION_URL", "http://x", errstr,
                                sizeof errstr) == EDXBUS_OK);
    ASSERT_TRUE(edxbus_conf_set(conf, "EVENT_BUS_KAFKA_BOOTSTRAP_SERVERS", "no port", errstr,
                                sizeof errstr) == EDXBUS_OK);
    asked = 0;
    ASSERT_EQ_INT(edxbus_doctor_run(conf, NULL, collect, &s, NULL, errstr, sizeof errstr),
                  EDXBUS_ERR_CONF);
    ASSERT_EQ_INT(asked, 0);
    ASSERT_EQ_INT(s.n, 0);
    ASSERT_CONTAINS(errstr, "and 1 more problems in the settings");
    edxbus_conf_destroy(conf);
}

int main(void)
{
    char errstr[EDXBUS_ERRSTR_SIZE] = "";
    warn_ops = table("docwarn", EDXBUS_BACKEND_ABI);
    warn_ops.doctor = warn_doctor;
    down_ops = table("docdown", EDXBUS_BACKEND_ABI);
    down_ops.doctor = down_doctor;
    none_ops = table("docnone", EDXBUS_BACKEND_ABI); /* doctor NULL */
    if (edxbus_backend_register(&warn_ops, errstr, sizeof errstr) != EDXBUS_OK ||
        edxbus_backend_register(&down_ops, errstr, sizeof errstr) != EDXBUS_OK ||
        edxbus_backend_register(&none_ops, errstr, sizeof errstr) != EDXBUS_OK) {
        fprintf(stderr, "register: %s\n", errstr);
        return 1;
    }
    RUN(test_each_backend_once_stamped_worst);
    RUN(test_unreachable_and_checkless_backends);
    RUN(test_topic_gets_the_prefix);
    RUN(test_bad_settings_refused_before_any_backend);
    return test_report();
}
