/* include/edxbus/routing.h — EVENT_BUS_PRODUCER_CONFIG: which events go to which topics.
 *
 * The setting maps event type -> topic -> {"event_key_field": "a.b", "enabled": true}, as in
 * openedx-events. This module validates it with openedx-events' rules (apps.py: a mapping per
 * event type, a known event type, a mapping per topic holding a string event_key_field and a
 * boolean enabled), merges a base and an override the way merge_producer_configs() does, and
 * answers the producer's questions: where does an event of this type go, under which key.
 *
 *     edxbus_routing_t *r = edxbus_routing_new(cfg, cat, errstr, sizeof errstr);
 *     const struct edxbus_route *routes;
 *     size_t n = edxbus_routing_routes(r, "org.openedx.learning.course.enrollment.created.v1",
 *                                      &routes);   // enabled topics only
 *     edxbus_routing_full_topic(prefix, routes[0].topic, &topic);   // "dev-enrollments"
 *     edxbus_routing_key(data, routes[0].event_key_field, &key, errstr, sizeof errstr);
 *
 * Thread rule: a routing is immutable once built and may be read from any thread; the other
 * functions touch only their arguments.
 */
#ifndef EDXBUS_ROUTING_H
#define EDXBUS_ROUTING_H

#include <jansson.h>
#include <stddef.h>

#include "edxbus/buf.h"
#include "edxbus/catalog.h"
#include "edxbus/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A validated EVENT_BUS_PRODUCER_CONFIG (opaque). */
typedef struct edxbus_routing edxbus_routing_t;

/** One enabled topic of an event type. Strings are borrowed from the routing. */
struct edxbus_route {
    const char *topic;           /* as configured: no EVENT_BUS_TOPIC_PREFIX */
    const char *event_key_field; /* dotted path into the event data: "user.pii.username" */
};

/** Check @p config with openedx-events' rules. Event types are looked up in @p cat (NULL: not
 *  checked). Each problem is one line naming its place, e.g.
 *  `EVENT_BUS_PRODUCER_CONFIG["org.openedx.x.v1"]["topic-a"]: missing "event_key_field"`,
 *  appended to @p errors (a JSON array; may be NULL); the first also goes to @p errstr.
 *  NULL @p config is an empty config. Returns EDXBUS_OK or EDXBUS_ERR_CONF. */
EDXBUS_API edxbus_err_t edxbus_routing_validate(const json_t *config, const edxbus_catalog_t *cat,
                                                json_t *errors, char *errstr, size_t errstr_size);

/** Build the routing of @p config (borrowed; copied) after edxbus_routing_validate().
 *  Ownership: returns new; free with edxbus_routing_destroy(). NULL on error, with the first
 *  problem in @p errstr (or "out of memory"). */
EDXBUS_API edxbus_routing_t *edxbus_routing_new(const json_t *config, const edxbus_catalog_t *cat,
                                                char *errstr, size_t errstr_size);

/** Free @p r. NULL is a no-op. */
EDXBUS_API void edxbus_routing_destroy(edxbus_routing_t *r);

/** The enabled topics of @p event_type, in the order the config lists them; *@p routes is set
 *  to an array borrowed from @p r (NULL when there are none). Returns how many. */
EDXBUS_API size_t edxbus_routing_routes(const edxbus_routing_t *r, const char *event_type,
                                        const struct edxbus_route **routes);

/** Number of event types with at least one enabled topic. */
EDXBUS_API size_t edxbus_routing_count(const edxbus_routing_t *r);

/** The @p i-th of those event types (sorted by type string). Borrowed from @p r. */
EDXBUS_API const char *edxbus_routing_event_type_at(const edxbus_routing_t *r, size_t i);

/** Merge two EVENT_BUS_PRODUCER_CONFIG maps as openedx-events' merge_producer_configs():
 *  every event type/topic pair of @p override is added to @p base, and where both have a pair,
 *  the override's "enabled" and "event_key_field" (when present and not null) win. Either may
 *  be NULL (an empty config). Both are borrowed.
 *  Ownership: returns new; json_decref it. NULL when out of memory. */
EDXBUS_API json_t *edxbus_routing_merge(const json_t *base, const json_t *override);

/** Append the full topic name to @p out: `<prefix>-<topic>`, or just @p topic when @p prefix is
 *  NULL or "" (as both reference buses do). */
EDXBUS_API edxbus_err_t edxbus_routing_full_topic(const char *prefix, const char *topic,
                                                  struct edxbus_buf *out);

/** The value at @p dotted_path ("enrollment.course.course_key") in the event @p data, walking
 *  objects one name at a time. *@p out is borrowed from @p data (it may be JSON null).
 *  Errors: EDXBUS_ERR_NOT_FOUND when a name is missing or a step is not an object, e.g.
 *  `event_key_field "user.id": no field "id" in "user"`; EDXBUS_ERR_INVALID_ARG for an empty
 *  path or name. */
EDXBUS_API edxbus_err_t edxbus_routing_key(const json_t *data, const char *dotted_path,
                                           const json_t **out, char *errstr, size_t errstr_size);

#ifdef __cplusplus
}
#endif
#endif /* EDXBUS_ROUTING_H */
