/* src/catalog/classes_int.h — the parsed form of a payload-class file, shared by its parser
 * (classes.c) and its schema generator (classes_schema.c). Nothing else includes it.
 *
 * Everything a file allocates (names, types, fields) is recorded in its `allocs` list and freed
 * at once by edxbus__classes_destroy(); nothing is ever freed alone.
 */
#ifndef EDXBUS_CLASSES_INT_H
#define EDXBUS_CLASSES_INT_H

#include "catalog/catalog_int.h"

enum ctype_kind {
    CT_PRIM,        /* str int bool float bytes: `avro` is the Avro type */
    CT_CUSTOM,      /* datetime UUID CourseKey…: a string with a check */
    CT_LIST,        /* List[item] */
    CT_DICT,        /* Dict[str, item] */
    CT_CLASS,       /* a payload class: `cls` once resolved */
    CT_UNSUPPORTED, /* BinaryIO: parses, but has no Avro type (as in openedx-events) */
};

struct ctype {
    enum ctype_kind kind;
    const char *avro;         /* CT_PRIM */
    enum edxbus__check check; /* CT_CUSTOM */
    const char *name;         /* the type's name as written ("datetime", "learning.UserData") */
    struct ctype *item;       /* CT_LIST items, CT_DICT values */
    struct cclass *cls;       /* CT_CLASS, after resolution */
};

struct cfield {
    const char *name;
    const char *type_text; /* as written: "List[str]" */
    struct ctype *type;
    const char *default_text; /* as written after "= "; NULL when none */
    bool optional;            /* "= None": ["null", T] with default null */
    int line;
    struct cfield *next;
};

struct cclass {
    const char *name;
    const char *module;    /* "" when the file names none */
    const char *base_name; /* as written; NULL when none */
    struct cclass *base;   /* after resolution */
    struct cfield *fields; /* own fields, in order */
    struct cfield **tail;
    int line;
};

struct cevent {
    struct edxbus__event_def def;
    const char *module;
    struct cfield *data; /* the signal's data kwargs, in order */
    struct cfield **tail;
    bool has_data;
};

struct edxbus__classes {
    char *file;
    const struct edxbus__classes *builtin; /* borrowed; NULL for the built-in file itself */
    void **allocs;
    size_t nallocs, allocs_cap;
    struct cclass **classes;
    size_t nclasses, classes_cap;
    struct cevent **events;
    size_t nevents, events_cap;
};

#endif /* EDXBUS_CLASSES_INT_H */
