/* src/catalog/user.c — users' own event types: .avsc directories and payload-class files.
 *
 * Two ways in, both all-or-nothing (every new type is built and checked before any is added):
 *   - edxbus_catalog_add_avsc_dir(): each `*.avsc` in a directory is one record schema, as
 *     openedx-events' generate_avro_schemas writes them; its event type is the record's
 *     namespace, else the file name `a+b+c_schema.avsc` read as `a.b.c`. Such types have no
 *     signal, description or checks (a schema says nothing of datetimes or keys);
 *   - edxbus_catalog_add_classes_file(): a payload-class file in the catalog's own format; its
 *     classes may use the built-in ones by name (the built-in source is compiled in and parsed
 *     on first use). Its events get schemas and checks exactly as the built-in ones do.
 * Files are read in name order, so a directory always loads the same way.
 */
#include "catalog/catalog_int.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Refuse files bigger than this: a schema is a few KiB, and this reads whole files into memory. */
#define MAX_FILE_SIZE (16u << 20)

static char *read_file(const char *path, size_t *len, char *errstr, size_t errstr_size)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t cap = 0, n = 0;
    if (f == NULL)
        goto io;
    for (;;) {
        if (cap - n < 4096) {
            if (cap >= MAX_FILE_SIZE) {
                edxbus_errf(errstr, errstr_size, "%s: larger than %u bytes; is it a schema?", path,
                            MAX_FILE_SIZE);
                goto out;
            }
            cap = cap ? cap * 2 : 16384;
            char *nb = realloc(buf, cap + 1);
            if (nb == NULL) {
                edxbus_errf(errstr, errstr_size, "%s: out of memory", path);
                goto out;
            }
            buf = nb;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    if (ferror(f))
        goto io;
    fclose(f);
    buf[n] = '\0';
    *len = n;
    return buf;
io:
    edxbus_errf(errstr, errstr_size, "%s: %s", path, strerror(errno));
out:
    if (f != NULL)
        fclose(f);
    free(buf);
    return NULL;
}

static char *join(const char *dir, const char *name)
{
    size_t dl = strlen(dir), nl = strlen(name);
    char *s = malloc(dl + 1 + nl + 1);
    if (s == NULL)
        return NULL;
    memcpy(s, dir, dl);
    s[dl] = '/';
    memcpy(s + dl + 1, name, nl + 1);
    return s;
}

/* A batch of new types, added to the catalog only when all of them are good. */
struct batch {
    struct edxbus_event_type **v;
    size_t n, cap;
};

static bool batch_push(struct batch *b, struct edxbus_event_type *et)
{
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 8;
        struct edxbus_event_type **v = realloc(b->v, cap * sizeof *v);
        if (v == NULL)
            return false;
        b->v = v;
        b->cap = cap;
    }
    b->v[b->n++] = et;
    return true;
}

static void batch_free(struct batch *b)
{
    for (size_t i = 0; i < b->n; i++)
        edxbus__event_type_destroy(b->v[i]);
    free(b->v);
}

static edxbus_err_t batch_commit(edxbus_catalog_t *cat, struct batch *b)
{
    if (edxbus__catalog_reserve(cat, b->n) != EDXBUS_OK)
        return EDXBUS_ERR_NOMEM;
    for (size_t i = 0; i < b->n; i++)
        edxbus__catalog_put(cat, b->v[i]);
    free(b->v);
    return EDXBUS_OK;
}

/* ---------------------------------------------------------------------------------------------
 * .avsc directories
 * ------------------------------------------------------------------------------------------- */

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t ls = strlen(s), lx = strlen(suffix);
    return ls >= lx && strcmp(s + ls - lx, suffix) == 0;
}

/* "org+openedx+x+v1_schema.avsc" -> "org.openedx.x.v1" (returns new). */
static char *type_from_file_name(const char *name)
{
    size_t len = strlen(name) - strlen(".avsc");
    if (len >= 7 && memcmp(name + len - 7, "_schema", 7) == 0)
        len -= 7;
    char *type = malloc(len + 1);
    if (type == NULL)
        return NULL;
    for (size_t i = 0; i < len; i++)
        type[i] = name[i] == '+' ? '.' : name[i];
    type[len] = '\0';
    return type;
}

static edxbus_err_t load_avsc(const char *dir, const char *name, struct batch *b, char *errstr,
                              size_t errstr_size)
{
    edxbus_err_t err = EDXBUS_ERR_NOMEM;
    char why[EDXBUS_ERRSTR_SIZE];
    char *path = join(dir, name), *text = NULL;
    json_t *root = NULL;
    struct edxbus_event_type *et = NULL;
    size_t len;
    json_error_t jerr;
    if (path == NULL)
        goto nomem;
    text = read_file(path, &len, errstr, errstr_size);
    if (text == NULL) {
        err = EDXBUS_ERR_IO;
        goto out;
    }
    err = EDXBUS_ERR_SCHEMA;
    root = json_loadb(text, len, JSON_ALLOW_NUL, &jerr); /* any string, as the schema parser */
    if (root == NULL) {
        edxbus_errf(errstr, errstr_size, "%s:%d: not JSON: %s", path, jerr.line, jerr.text);
        goto out;
    }
    const char *ns = json_string_value(json_object_get(root, "namespace"));
    if (!json_is_object(root) || !json_is_string(json_object_get(root, "type")) ||
        strcmp(json_string_value(json_object_get(root, "type")), "record") != 0) {
        edxbus_errf(errstr, errstr_size,
                    "%s: not a record schema; an event's schema is a record "
                    "whose namespace is the event type",
                    path);
        goto out;
    }
    et = calloc(1, sizeof *et);
    if (et == NULL)
        goto nomem;
    et->name = edxbus__event_type_keep(et, ns ? strdup(ns) : type_from_file_name(name));
    et->schema_text = edxbus__event_type_keep(et, json_dumps(root, JSON_SORT_KEYS));
    if (et->name == NULL || et->schema_text == NULL)
        goto nomem;
    et->schema = edxbus_avro_schema_from_json(root, why, sizeof why);
    if (et->schema == NULL) {
        edxbus_errf(errstr, errstr_size, "%s: %s", path, why);
        goto out;
    }
    if (!batch_push(b, et))
        goto nomem;
    et = NULL;
    err = EDXBUS_OK;
    goto out;
nomem:
    err = EDXBUS_ERR_NOMEM;
    edxbus_errf(errstr, errstr_size, "%s/%s: out of memory", dir, name);
out:
    edxbus__event_type_destroy(et);
    json_decref(root);
    free(text);
    free(path);
    return err;
}

edxbus_err_t edxbus_catalog_add_avsc_dir(edxbus_catalog_t *cat, const char *dir, char *errstr,
                                         size_t errstr_size)
{
    char scratch[EDXBUS_ERRSTR_SIZE];
    if (errstr == NULL || errstr_size == 0) {
        errstr = scratch;
        errstr_size = sizeof scratch;
    }
    edxbus_err_t err = EDXBUS_ERR_NOMEM;
    struct batch b = {0};
    char **names = NULL;
    size_t n = 0, cap = 0;
    DIR *d = opendir(dir);
    if (d == NULL) {
        edxbus_errf(errstr, errstr_size,
                    "%s: %s; set EVENT_BUS_SCHEMA_PATH (or --schemas) to a "
                    "directory of .avsc files",
                    dir, strerror(errno));
        return EDXBUS_ERR_IO;
    }
    for (;;) {
        errno = 0;
        struct dirent *de = readdir(d);
        if (de == NULL)
            break;
        if (de->d_name[0] == '.' || !ends_with(de->d_name, ".avsc"))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 32;
            char **v = realloc(names, cap * sizeof *v);
            if (v == NULL)
                goto nomem;
            names = v;
        }
        names[n] = strdup(de->d_name);
        if (names[n] == NULL)
            goto nomem;
        n++;
    }
    if (errno != 0) {
        edxbus_errf(errstr, errstr_size, "%s: %s", dir, strerror(errno));
        err = EDXBUS_ERR_IO;
        goto out;
    }
    if (n > 0)
        qsort(names, n, sizeof *names, cmp_names);
    for (size_t i = 0; i < n; i++) {
        err = load_avsc(dir, names[i], &b, errstr, errstr_size);
        if (err != EDXBUS_OK)
            goto out;
    }
    err = batch_commit(cat, &b);
    if (err == EDXBUS_OK)
        b = (struct batch){0};
    else
        edxbus_errf(errstr, errstr_size, "%s: out of memory", dir);
    goto out;
nomem:
    edxbus_errf(errstr, errstr_size, "%s: out of memory", dir);
    err = EDXBUS_ERR_NOMEM;
out:
    batch_free(&b);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    closedir(d);
    return err;
}

/* ---------------------------------------------------------------------------------------------
 * Payload-class files
 * ------------------------------------------------------------------------------------------- */

static edxbus_err_t class_event(const struct edxbus__classes *cs, size_t i, struct batch *b,
                                char *errstr, size_t errstr_size)
{
    const struct edxbus__event_def *def = edxbus__classes_event(cs, i);
    struct edxbus__check_path *paths = NULL;
    size_t npaths = 0;
    char *text = NULL;
    edxbus_err_t err = EDXBUS_ERR_NOMEM;
    struct edxbus_event_type *et = calloc(1, sizeof *et);
    if (et == NULL)
        goto out;
    et->minor_version = def->minor_version;
    et->name = edxbus__event_type_keep(et, strdup(def->type));
    et->signal = def->signal ? edxbus__event_type_keep(et, strdup(def->signal)) : NULL;
    et->key_field = def->key_field ? edxbus__event_type_keep(et, strdup(def->key_field)) : NULL;
    et->description = edxbus__event_type_keep(et, strdup(def->description));
    et->warning = def->warning ? edxbus__event_type_keep(et, strdup(def->warning)) : NULL;
    et->unserializable =
        def->unserializable ? edxbus__event_type_keep(et, strdup(def->unserializable)) : NULL;
    et->data = edxbus__classes_event_data_json(cs, i);
    if (et->name == NULL || (def->signal && et->signal == NULL) ||
        (def->key_field && et->key_field == NULL) || et->description == NULL ||
        (def->warning && et->warning == NULL) ||
        (def->unserializable && et->unserializable == NULL) || et->data == NULL)
        goto out;
    if (et->unserializable == NULL) {
        err = edxbus__classes_schema(cs, i, &text, &paths, &npaths, errstr, errstr_size);
        if (err != EDXBUS_OK)
            goto out;
        err = EDXBUS_ERR_NOMEM;
        et->schema_text = edxbus__event_type_keep(et, text);
        if (et->schema_text == NULL)
            goto out;
        et->owned_checks = calloc(npaths ? npaths : 1, sizeof *et->owned_checks);
        if (et->owned_checks == NULL)
            goto out;
        for (size_t k = 0; k < npaths; k++) {
            et->owned_checks[k].kind = paths[k].kind;
            et->owned_checks[k].path = edxbus__event_type_keep(et, paths[k].path);
            paths[k].path = NULL; /* now owned by et (or freed by keep on failure) */
            if (et->owned_checks[k].path == NULL)
                goto out;
        }
        et->checks = et->owned_checks;
        et->nchecks = npaths;
        char why[EDXBUS_ERRSTR_SIZE];
        err = edxbus__event_type_prepare(et, why, sizeof why);
        if (err != EDXBUS_OK) {
            edxbus_errf(errstr, errstr_size, "line %d: %s", def->line, why);
            goto out;
        }
    }
    err = EDXBUS_ERR_NOMEM;
    if (!batch_push(b, et))
        goto out;
    et = NULL;
    err = EDXBUS_OK;
out:
    if (err == EDXBUS_ERR_NOMEM)
        edxbus_errf(errstr, errstr_size, "event %s: out of memory", def->type);
    edxbus__check_paths_free(paths, npaths);
    edxbus__event_type_destroy(et);
    return err;
}

edxbus_err_t edxbus_catalog_add_classes_file(edxbus_catalog_t *cat, const char *path, char *errstr,
                                             size_t errstr_size)
{
    char scratch[EDXBUS_ERRSTR_SIZE];
    if (errstr == NULL || errstr_size == 0) {
        errstr = scratch;
        errstr_size = sizeof scratch;
    }
    edxbus_err_t err;
    struct batch b = {0};
    struct edxbus__classes *cs = NULL;
    size_t len;
    char *text = read_file(path, &len, errstr, errstr_size);
    if (text == NULL)
        return EDXBUS_ERR_IO;
    if (cat->builtin_classes == NULL) {
        cat->builtin_classes =
            edxbus__classes_parse(edxbus__builtin_classes_text, edxbus__builtin_classes_len,
                                  edxbus__builtin_classes_file, NULL, errstr, errstr_size);
        if (cat->builtin_classes == NULL) {
            err = EDXBUS_ERR_NOMEM; /* the built-in source parsed at build time */
            goto out;
        }
    }
    err = EDXBUS_ERR_SCHEMA;
    cs = edxbus__classes_parse(text, len, path, cat->builtin_classes, errstr, errstr_size);
    if (cs == NULL)
        goto out;
    for (size_t i = 0; i < edxbus__classes_nevents(cs); i++) {
        err = class_event(cs, i, &b, errstr, errstr_size);
        if (err != EDXBUS_OK)
            goto out;
    }
    err = batch_commit(cat, &b);
    if (err == EDXBUS_OK)
        b = (struct batch){0};
    else
        edxbus_errf(errstr, errstr_size, "%s: out of memory", path);
out:
    batch_free(&b);
    edxbus__classes_destroy(cs);
    free(text);
    return err;
}
