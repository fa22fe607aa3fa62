/* tools/typed_gen.h — what the parts of the typed API generator share (tools/typed_gen*.c).
 *
 * typed_gen.c fills the tables below once from the parsed catalog (one struct cinfo per payload
 * class, one struct einfo per event, sorted by event type; every list and map type met in
 * g_cont), then calls one writer per generated file. The writers only read the tables.
 *
 * Memory: the generator runs once and exits, so what these functions return is never freed.
 * Errors: die() prints "typed_gen: <file>: <text>" and exits 1; nothing here returns failure.
 */
#ifndef EDXBUS_TYPED_GEN_H
#define EDXBUS_TYPED_GEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "catalog/classes_int.h"

/* Lists and maps nest at most this deep (EDXBUS__TYPED_MAX_NEST in src/typed/typed_int.h). */
#define MAX_NEST 8
#define MAX_FIELDS 128
#define MAX_ITEMS 512

struct cinfo {
    const struct cclass *cls;
    char *cname; /* "learning_course_data" */
    const struct cfield *fields[MAX_FIELDS];
    size_t nfields;
    int emitted;
};

struct einfo {
    const struct cevent *ev;
    char *sig; /* "course_enrollment_created" */
    const struct cfield *fields[MAX_FIELDS];
    size_t nfields;
    bool codec;
};

struct container {
    const struct ctype *t;
    char *tag;
};

/* The tables (typed_gen.c, except g_cont: typed_gen_header.c). */
extern struct cinfo *g_ci;
extern size_t g_nci;
extern struct einfo *g_ei;
extern size_t g_nei;
extern struct container g_cont[256];
extern size_t g_ncont;

/* typed_gen.c: errors, text, names and types */
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
const char *member(const struct cfield *f);
struct cinfo *info(const struct cclass *c);
bool is_str(const struct ctype *t);
bool is_prim(const struct ctype *t, const char *avro);
char *tag(const struct ctype *t);
char *ctype(const struct ctype *t);
char *item_ctype(const struct ctype *t);
bool supported(const struct ctype *t);
bool simple(const struct ctype *t);
size_t min_bytes(const struct ctype *t);

/* typed_gen_header.c */
void collect(const struct ctype *t, int depth);

/* typed_gen_encode.c: indentation of generated code, shared with the decoder */
void ind(FILE *out, int depth);

/* The writers, one per generated file: @p name is the catalog source named in the output. */
void write_header(FILE *out, const char *name);
void write_encode(FILE *out, const char *name);
void write_decode(FILE *out, const char *name);
void write_json(FILE *out, const char *name);

#endif /* EDXBUS_TYPED_GEN_H */
