/* src/bus/backend_registry.c — which backend a setting names: built-ins, aliases, plugins.
 *
 * A backend is found by its name or an alias: first among the built-ins (a static list below),
 * then among the tables registered at run time with edxbus_backend_register(). A name with a
 * colon and a slash, `/path/libx.so:symbol`, is a plugin: the shared object is opened with
 * dlopen(RTLD_NOW | RTLD_LOCAL), `symbol` is called for its table, the table's ABI is checked,
 * and it is registered under its own name; opening the same plugin again finds it registered.
 * Plugins stay loaded for the life of the process (their tables are borrowed forever).
 * An unknown name gets a "did you mean" from the closest known name (edit distance).
 *
 * Thread safety: the registered list is guarded by a mutex; dlopen runs outside it, so a
 * plugin's constructor may itself call edxbus_backend_register().
 * edxbus_backend_for() is the one place that decides which backend a direction uses.
 *
 * To add a built-in broker: declare its table below and add it to BUILTINS (the one list).
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf_int.h"
#include "edxbus/backend.h"
#include "util/suggest_int.h"

extern const struct edxbus_backend_ops edxbus_backend_sqlite;
extern const struct edxbus_backend_ops edxbus_backend_redis;
extern const struct edxbus_backend_ops edxbus_backend_kafka;
#ifdef EDXBUS_WITH_NATS
extern const struct edxbus_backend_ops edxbus_backend_nats;
#endif

static const struct edxbus_backend_ops *const BUILTINS[] = {
    &edxbus_backend_sqlite,
    &edxbus_backend_redis,
    &edxbus_backend_kafka,
#ifdef EDXBUS_WITH_NATS
    &edxbus_backend_nats, /* a build option (CMake EDXBUS_WITH_NATS) */
#endif
};
#define NBUILTINS (sizeof BUILTINS / sizeof BUILTINS[0])

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static const struct edxbus_backend_ops **registered; /* guarded by registry_lock */
static size_t nregistered, registered_cap;

static bool ops_has_name(const struct edxbus_backend_ops *ops, const char *name)
{
    if (ops->name != NULL && strcmp(ops->name, name) == 0)
        return true;
    for (const char *const *a = ops->aliases; a != NULL && *a != NULL; a++)
        if (strcmp(*a, name) == 0)
            return true;
    return false;
}

/* Look @p name up; the caller holds registry_lock. */
static const struct edxbus_backend_ops *lookup_locked(const char *name)
{
    for (size_t i = 0; i < NBUILTINS; i++)
        if (ops_has_name(BUILTINS[i], name))
            return BUILTINS[i];
    for (size_t i = 0; i < nregistered; i++)
        if (ops_has_name(registered[i], name))
            return registered[i];
    return NULL;
}

static bool is_registered_locked(const struct edxbus_backend_ops *ops)
{
    for (size_t i = 0; i < NBUILTINS; i++)
        if (BUILTINS[i] == ops)
            return true;
    for (size_t i = 0; i < nregistered; i++)
        if (registered[i] == ops)
            return true;
    return false;
}

static bool check_table(const struct edxbus_backend_ops *ops, char *errstr, size_t errstr_size)
{
    if (ops->abi_version < EDXBUS_BACKEND_ABI_OLDEST || ops->abi_version > EDXBUS_BACKEND_ABI) {
        edxbus_errf(errstr, errstr_size,
                    "backend table has ABI version %d; this edxbus supports ABI %d to %d; "
                    "rebuild the backend against this edxbus's backend.h",
                    ops->abi_version, EDXBUS_BACKEND_ABI_OLDEST, EDXBUS_BACKEND_ABI);
        return false;
    }
    if (ops->name == NULL || ops->name[0] == '\0') {
        edxbus_errf(errstr, errstr_size, "backend table has no name");
        return false;
    }
    const char *missing = !ops->producer_open    ? "producer_open"
                          : !ops->produce        ? "produce"
                          : !ops->flush          ? "flush"
                          : !ops->producer_close ? "producer_close"
                          : !ops->consumer_open  ? "consumer_open"
                          : !ops->poll           ? "poll"
                          : !ops->ack            ? "ack"
                          : !ops->consumer_close ? "consumer_close"
                                                 : NULL;
    if (missing != NULL) {
        edxbus_errf(errstr, errstr_size, "backend \"%s\" leaves the required slot %s NULL",
                    ops->name, missing);
        return false;
    }
    return true;
}

edxbus_err_t edxbus_backend_register(const struct edxbus_backend_ops *ops, char *errstr,
                                     size_t errstr_size)
{
    if (ops == NULL) {
        edxbus_errf(errstr, errstr_size, "edxbus_backend_register: no table given");
        return EDXBUS_ERR_INVALID_ARG;
    }
    if (!check_table(ops, errstr, errstr_size))
        return EDXBUS_ERR_INVALID_ARG;
    edxbus_err_t err = EDXBUS_OK;
    pthread_mutex_lock(&registry_lock);
    if (is_registered_locked(ops))
        goto out_unlock; /* the same table again (a plugin opened twice): fine */
    const char *clash = lookup_locked(ops->name) ? ops->name : NULL;
    for (const char *const *a = ops->aliases; clash == NULL && a != NULL && *a != NULL; a++)
        if (lookup_locked(*a) != NULL)
            clash = *a;
    if (clash != NULL) {
        edxbus_errf(errstr, errstr_size, "backend name \"%s\" is already taken by backend \"%s\"",
                    clash, lookup_locked(clash)->name);
        err = EDXBUS_ERR_INVALID_ARG;
        goto out_unlock;
    }
    if (nregistered == registered_cap) {
        size_t cap = registered_cap ? registered_cap * 2 : 4;
        const struct edxbus_backend_ops **grown = realloc(registered, cap * sizeof *grown);
        if (grown == NULL) {
            edxbus_errf(errstr, errstr_size, "edxbus_backend_register: out of memory");
            err = EDXBUS_ERR_NOMEM;
            goto out_unlock;
        }
        registered = grown;
        registered_cap = cap;
    }
    registered[nregistered++] = ops;
out_unlock:
    pthread_mutex_unlock(&registry_lock);
    return err;
}

/* The unknown-name message: a suggestion when one is close, else the list of names. */
static void unknown_name(const char *name, const char *prefix, char *errstr, size_t errstr_size)
{
    struct edxbus__nearest nr;
    char names[256] = "";
    size_t used = 0;
    edxbus__nearest_init(&nr, name, strlen(name) / 3 > 2 ? strlen(name) / 3 : 2);
    pthread_mutex_lock(&registry_lock);
    for (size_t i = 0; i < NBUILTINS + nregistered; i++) {
        const struct edxbus_backend_ops *ops =
            i < NBUILTINS ? BUILTINS[i] : registered[i - NBUILTINS];
        edxbus__nearest_add(&nr, ops->name);
        for (const char *const *a = ops->aliases; a != NULL && *a != NULL; a++)
            edxbus__nearest_add(&nr, *a);
        int w = snprintf(names + used, sizeof names - used, "%s%s", used ? ", " : "", ops->name);
        if (w > 0 && (size_t)w < sizeof names - used)
            used += (size_t)w;
    }
    if (nr.best != NULL)
        edxbus_errf(errstr, errstr_size, "%sunknown backend \"%s\"; did you mean %s?", prefix, name,
                    nr.best);
    else
        edxbus_errf(errstr, errstr_size,
                    "%sunknown backend \"%s\"; known backends: %s; or name a plugin as "
                    "/path/libx.so:symbol",
                    prefix, name, names);
    pthread_mutex_unlock(&registry_lock);
}

static const struct edxbus_backend_ops *load_plugin(const char *spec, const char *prefix,
                                                    char *errstr, size_t errstr_size)
{
    const char *colon = strrchr(spec, ':');
    char path[4096];
    if (colon == NULL || colon == spec || colon[1] == '\0' ||
        (size_t)(colon - spec) >= sizeof path) {
        edxbus_errf(errstr, errstr_size,
                    "%s\"%s\" is not a plugin name; expected /path/libx.so:symbol", prefix, spec);
        return NULL;
    }
    memcpy(path, spec, (size_t)(colon - spec));
    path[colon - spec] = '\0';
    const char *symbol = colon + 1;

    dlerror();
    void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (handle == NULL) {
        const char *why = dlerror();
        edxbus_errf(errstr, errstr_size, "%scannot load backend plugin %s: %s", prefix, path,
                    why ? why : "unknown error");
        return NULL;
    }
    /* POSIX returns a data pointer; going through a union avoids the object/function cast. */
    union {
        void *obj;
        edxbus_backend_entry_fn fn;
    } entry;
    dlerror();
    entry.obj = dlsym(handle, symbol);
    if (entry.obj == NULL) {
        const char *why = dlerror();
        edxbus_errf(errstr, errstr_size, "%sbackend plugin %s has no symbol \"%s\": %s", prefix,
                    path, symbol, why ? why : "it is NULL");
        goto out_close;
    }
    const struct edxbus_backend_ops *ops = entry.fn();
    if (ops == NULL) {
        edxbus_errf(errstr, errstr_size, "%sbackend plugin %s: %s() returned no table", prefix,
                    path, symbol);
        goto out_close;
    }
    char why[EDXBUS_ERRSTR_SIZE];
    if (edxbus_backend_register(ops, why, sizeof why) != EDXBUS_OK) {
        edxbus_errf(errstr, errstr_size, "%sbackend plugin %s:%s: %s", prefix, path, symbol, why);
        goto out_close;
    }
    return ops; /* the handle stays open: the table lives in it */
out_close:
    dlclose(handle);
    return NULL;
}

const struct edxbus_backend_ops *edxbus_backend_find(const char *name, const char *setting,
                                                     char *errstr, size_t errstr_size)
{
    char prefix[128] = "";
    if (setting != NULL)
        snprintf(prefix, sizeof prefix, "%s: ", setting);
    if (name == NULL || name[0] == '\0') {
        edxbus_errf(errstr, errstr_size, "%sno backend named; expected e.g. sqlite", prefix);
        return NULL;
    }
    pthread_mutex_lock(&registry_lock);
    const struct edxbus_backend_ops *ops = lookup_locked(name);
    pthread_mutex_unlock(&registry_lock);
    if (ops != NULL)
        return ops;
    if (strchr(name, '/') != NULL && strchr(name, ':') != NULL)
        return load_plugin(name, prefix, errstr, errstr_size);
    if (strchr(name, '/') != NULL || strstr(name, ".so") != NULL) {
        edxbus_errf(errstr, errstr_size,
                    "%s\"%s\" names no entry point; expected /path/libx.so:symbol", prefix, name);
        return NULL;
    }
    unknown_name(name, prefix, errstr, errstr_size);
    return NULL;
}

const struct edxbus_backend_ops *edxbus_backend_at(size_t i)
{
    if (i < NBUILTINS)
        return BUILTINS[i];
    pthread_mutex_lock(&registry_lock);
    const struct edxbus_backend_ops *ops =
        i - NBUILTINS < nregistered ? registered[i - NBUILTINS] : NULL;
    pthread_mutex_unlock(&registry_lock);
    return ops;
}

const struct edxbus_backend_ops *edxbus_backend_for(const edxbus_conf_t *conf,
                                                    edxbus_direction_t dir, const char **setting,
                                                    char *errstr, size_t errstr_size)
{
    const char *own = dir == EDXBUS_PRODUCE ? "EVENT_BUS_PRODUCER" : "EVENT_BUS_CONSUMER";
    const char *other = dir == EDXBUS_PRODUCE ? "EVENT_BUS_CONSUMER" : "EVENT_BUS_PRODUCER";
    /* The direction's own setting, else the other one's when only that one is set: a conf
     * that names one broker means it both ways. Else the default (the table's row). */
    const char *from = own;
    if (!edxbus__conf_is_set(conf, own) && edxbus__conf_is_set(conf, other))
        from = other;
    if (setting != NULL)
        *setting = from;
    const char *name = edxbus_conf_get_str(conf, from, NULL);
    return edxbus_backend_find(name, from, errstr, errstr_size);
}
