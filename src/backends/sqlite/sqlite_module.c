/* src/backends/sqlite/sqlite_module.c — what the embedded broker owns besides its wire: its
 * settings rows, its config check and its `--extra` options (backend.h, ABI 2).
 *
 * The rows are the settings table's entries for EVENT_BUS_SQLITE_*; the core merges them with
 * its own for loading, checking, `config check` and the docs. To add a setting of the embedded
 * broker: a row here, read it where it is used.
 */
#include <strings.h>

#include "edxbus/backend_util.h"
#include "sqlite_int.h"

const struct edxbus_setting edxbus__sq_settings[] = {
    {"EVENT_BUS_SQLITE_PATH", EDXBUS_SETTING_STR, "\"edxbus.db\"", EDXBUS_SECRET_NONE,
     0, "\"/var/lib/edxbus/bus.db\"", "File of the embedded SQLite event log"},
    {"EVENT_BUS_SQLITE_MAX_LEN", EDXBUS_SETTING_INT, "0", EDXBUS_SECRET_NONE, 0, "10000",
     "Entries kept per topic in the embedded log once every group acknowledged them, oldest "
     "removed first (0: no cap)"},
    {"EVENT_BUS_SQLITE_RETENTION", EDXBUS_SETTING_STR, "\"7d\"", EDXBUS_SECRET_NONE, 0,
     "\"12h\"",
     "How long the embedded log keeps an event every group acknowledged (ms, s, m, h, d, w; 0: "
     "remove at once; forever: keep)"},
    {"EVENT_BUS_SQLITE_RETENTION_BYTES", EDXBUS_SETTING_INT, "0", EDXBUS_SECRET_NONE, 0,
     "1000000000",
     "While the embedded log holds more data than this, acknowledged events go oldest first "
     "whatever their age (0: no size limit)"},
    {"EVENT_BUS_SQLITE_GROUP_IDLE_LIMIT", EDXBUS_SETTING_STR_NULL, "null", EDXBUS_SECRET_NONE, 0,
     "\"30d\"",
     "A consumer group that has not polled for this long stops holding events back from "
     "retention, with a warning (null: groups always hold)"},
    {"EVENT_BUS_SQLITE_SYNCHRONOUS", EDXBUS_SETTING_STR, "\"FULL\"", EDXBUS_SECRET_NONE,
     0, "\"NORMAL\"",
     "SQLite synchronous level: FULL survives power loss, NORMAL only process crashes"},
    {"EVENT_BUS_SQLITE_CONSUMERS_ENABLED", EDXBUS_SETTING_BOOL, "true", EDXBUS_SECRET_NONE,
     0, "false", "Whether consumers of the embedded log run at all"},

    {NULL, 0, NULL, 0, 0, NULL, NULL},
};

const char *const edxbus__sq_extra_options[] = {"claim_msgs_older_than", NULL};

void edxbus__sq_check(const edxbus_conf_t *conf, const char *selected_by,
                      edxbus_problem_fn problem, void *opaque)
{
    static const char *const levels[] = {"OFF", "NORMAL", "FULL", "EXTRA"};
    const char *level = edxbus_conf_get_str(conf, "EVENT_BUS_SQLITE_SYNCHRONOUS", NULL);
    bool known = level == NULL;
    for (size_t i = 0; !known && i < sizeof levels / sizeof levels[0]; i++)
        known = strcasecmp(level, levels[i]) == 0;
    char shown[96];
    if (!known)
        edxbus_problemf(problem, opaque,
                        "EVENT_BUS_SQLITE_SYNCHRONOUS: %s is not a synchronous level; expected "
                        "OFF, NORMAL, FULL or EXTRA",
                        edxbus_conf_show(conf, "EVENT_BUS_SQLITE_SYNCHRONOUS", shown,
                                         sizeof shown));
    static const char *const durations[] = {"EVENT_BUS_SQLITE_RETENTION",
                                            "EVENT_BUS_SQLITE_GROUP_IDLE_LIMIT"};
    for (size_t i = 0; i < sizeof durations / sizeof durations[0]; i++) {
        const char *text = edxbus_conf_get_str(conf, durations[i], NULL);
        int64_t ms = -1;
        if (text != NULL && !edxbus__sq_duration_parse(text, &ms))
            edxbus_problemf(problem, opaque,
                            "%s: %s is not a duration; expected a number and a unit (ms, s, m, "
                            "h, d, w) such as 7d or 12h, 0, or forever",
                            durations[i],
                            edxbus_conf_show(conf, durations[i], shown, sizeof shown));
        else if (i == 1 && ms == 0)
            edxbus_problemf(problem, opaque,
                            "EVENT_BUS_SQLITE_GROUP_IDLE_LIMIT: 0 would let no group hold events "
                            "back; give a duration such as 30d, or leave it unset");
    }
}
