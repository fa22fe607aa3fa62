/* include/edxbus/doctor.h — `edxbus doctor`: the effective settings checked against the live
 * broker, as findings an operator can act on.
 *
 * A finding is one thing seen: its severity (error: events are being lost or will be; warning:
 * they may be, or something needs a look; info: what was checked and found fine, or a number
 * worth knowing), what it is about, what is wrong in one line, and the fix in one line. The core
 * checks the settings (edxbus_conf_check()), then asks each backend the settings select (the
 * producing one and the consuming one, once each) through its doctor slot (backend.h, ABI 4).
 * Every check of a broker lives in that broker's folder; the core knows none of them.
 *
 * Thread rule: edxbus_doctor_run() touches only its arguments; the callback runs on the calling
 * thread.
 */
#ifndef EDXBUS_DOCTOR_H
#define EDXBUS_DOCTOR_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "edxbus/conf.h"
#include "edxbus/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/** How bad a finding is. `edxbus doctor` exits 1 when any finding is an error. */
typedef enum edxbus_severity {
    EDXBUS_SEVERITY_INFO = 0,    /* checked and fine, or a figure worth knowing */
    EDXBUS_SEVERITY_WARNING = 1, /* events may be lost or delayed; look at it */
    EDXBUS_SEVERITY_ERROR = 2,   /* events are being lost, or will be; fix it */
} edxbus_severity_t;

/** One finding. Every pointer is borrowed for the duration of the callback. */
struct edxbus_finding {
    edxbus_severity_t severity;
    const char *backend;   /* the backend that found it ("redis"), or "settings"; filled by the
                              core, whatever the backend put there */
    const char *check;     /* a stable name for machines and grep: "redis.eviction",
                              "sqlite.disk-free", "lag.growing" */
    const char *subject;   /* what it is about: a server (its URL, secrets masked), a stream
                              and group, a file; may be NULL */
    const char *text;      /* what was seen, one line, no trailing period */
    const char *fix;       /* what to do about it, one line; NULL when nothing is to be done */
    const json_t *details; /* figures for machines ({"group": "g", "lost": 7}); may be NULL */
};

/** Where findings go. */
typedef void (*edxbus_finding_fn)(void *opaque, const struct edxbus_finding *finding);

/** One route of EVENT_BUS_PRODUCER_CONFIG, as the core hands it to a backend's doctor slot:
 *  what producers will send where, so that a backend can check that the topic exists and that
 *  its schema registry (if any) takes the schema. Strings borrowed for the call. */
struct edxbus_doctor_route {
    const char *event_type;   /* "org.openedx.learning.course.enrollment.created.v1" */
    const char *topic;        /* the full topic (EVENT_BUS_TOPIC_PREFIX added) */
    const char *value_schema; /* the event's schema text, as producers send it */
};

/** What to look at. Strings borrowed for the call. */
struct edxbus_doctor_opts {
    const char *topic;   /* a topic as configured (the prefix is added by the core; the backend
                            sees the full topic): look only at it and its dead-letter topic;
                            NULL: every topic the backend finds or the settings route to */
    const char *group;   /* look only at this consumer group; NULL: every group */
    int64_t interval_ms; /* time between the two lag samples a backend takes to see whether a
                            group's lag keeps growing (> 0; the core uses 1000 when it is not) */
    /* Filled by the core for the backends (a caller's values are ignored): the enabled routes
       of EVENT_BUS_PRODUCER_CONFIG (only those to `topic` when it is set), NULL/0 when none. */
    const struct edxbus_doctor_route *routes;
    size_t nroutes;
};

/** Check @p conf and the brokers it selects; report every finding to @p fn.
 *  Settings that do not pass edxbus_conf_check() are not taken to a broker: the call returns
 *  EDXBUS_ERR_CONF with the first problem in @p errstr (and how many more), having reported
 *  nothing. A broker that cannot be reached is a finding (error), not a failure of the call.
 *  @p opts may be NULL (everything, a 1 s interval). *@p worst (may be NULL) gets the highest
 *  severity reported (EDXBUS_SEVERITY_INFO when none).
 *  Errors: EDXBUS_ERR_CONF (bad settings, one line), EDXBUS_ERR_NOMEM. */
EDXBUS_API edxbus_err_t edxbus_doctor_run(const edxbus_conf_t *conf,
                                          const struct edxbus_doctor_opts *opts,
                                          edxbus_finding_fn fn, void *opaque,
                                          edxbus_severity_t *worst, char *errstr,
                                          size_t errstr_size);

/** "error", "warning" or "info". Static text. */
EDXBUS_API const char *edxbus_severity_name(edxbus_severity_t severity);

#ifdef __cplusplus
}
#endif
#endif /* EDXBUS_DOCTOR_H */
