/* src/backends/common/doctor.c — what every broker's doctor slot shares (backend_util.h): the
 * finding line, and the findings all brokers make alike (a group whose backlog grew between two
 * samples, dead letters waiting), so that they read the same whatever the broker.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "edxbus/backend_util.h"

void edxbus_findingf(edxbus_finding_fn report, void *opaque, edxbus_severity_t severity,
                     const char *check, const char *subject, const char *fix, json_t *details,
                     const char *fmt, ...)
{
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    struct edxbus_finding f = {
        .severity = severity,
        .check = check,
        .subject = subject,
        .text = text,
        .fix = fix,
        .details = details,
    };
    report(opaque, &f);
    json_decref(details);
}

void edxbus_doctor_lag_trend(edxbus_finding_fn report, void *opaque, const char *topic,
                             const char *group, int64_t before, int64_t after, int64_t interval_ms)
{
    char subject[400];
    snprintf(subject, sizeof subject, "topic %s, group %s", topic, group);
    json_t *details = json_pack("{s:s, s:s, s:I, s:I, s:I}", "topic", topic, "group", group,
                                "before", (json_int_t)before, "after", (json_int_t)after,
                                "interval_ms", (json_int_t)interval_ms);
    if (after > before)
        edxbus_findingf(report, opaque, EDXBUS_SEVERITY_WARNING, "lag.growing", subject,
                        "add consumers to the group, or find out why its receivers are slow or "
                        "failing (edxbus lag, the consumers' logs)",
                        details,
                        "the group's backlog grew from %lld to %lld events in %.1f s: its "
                        "consumers do not keep up (or none is running)",
                        (long long)before, (long long)after, (double)interval_ms / 1000.0);
    else
        edxbus_findingf(report, opaque, EDXBUS_SEVERITY_INFO, "lag.steady", subject, NULL,
                        details, "backlog %lld event(s), then %lld %.1f s later: not growing",
                        (long long)before, (long long)after, (double)interval_ms / 1000.0);
}

void edxbus_doctor_dead_letters(edxbus_finding_fn report, void *opaque, const char *dlq_topic,
                                int64_t count)
{
    if (count <= 0)
        return;
    char fix[600];
    size_t n = strlen(dlq_topic);
    int base = (int)(n > 4 ? n - 4 : n);
    snprintf(fix, sizeof fix,
             "`edxbus dlq list -t TOPIC` shows why they failed (TOPIC: %.*s without the "
             "EVENT_BUS_TOPIC_PREFIX); fix the cause, then `edxbus dlq replay -t TOPIC`",
             base, dlq_topic);
    edxbus_findingf(report, opaque, EDXBUS_SEVERITY_WARNING, "dead-letters.waiting", dlq_topic,
                    fix, json_pack("{s:s, s:I}", "topic", dlq_topic, "events", (json_int_t)count),
                    "%lld dead letter(s) waiting: events whose receivers kept failing",
                    (long long)count);
}

bool edxbus_topic_is_dlq(const char *topic)
{
    size_t n = strlen(topic);
    return n > 4 && strcmp(topic + n - 4, "-dlq") == 0;
}
