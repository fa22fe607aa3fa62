/* src/util/suggest_int.h — "did you mean": the known name nearest to an unknown one.
 *
 * One implementation for every unknown-name message of the library: settings (conf.c),
 * backends (backend_registry.c) and event types (catalog.c). Each caller keeps its own
 * threshold, since what counts as a typo depends on how long and how alike its names are.
 *
 *     struct edxbus__nearest nr;
 *     edxbus__nearest_init(&nr, name, strlen(name) / 3 + 1);
 *     for (each known name k) edxbus__nearest_add(&nr, k);
 *     if (nr.best != NULL) ...did you mean nr.best?
 *
 * Thread rule: touches only its arguments.
 */
#ifndef EDXBUS_SUGGEST_INT_H
#define EDXBUS_SUGGEST_INT_H

#include <stddef.h>

#define EDXBUS__SUGGEST_NAME_MAX 1024 /* bytes; a longer name is never near anything */

/** Levenshtein distance between @p a and @p b, ASCII letters compared without case, giving up
 *  once it exceeds @p limit (then, or when either is longer than EDXBUS__SUGGEST_NAME_MAX,
 *  returns @p limit + 1). */
size_t edxbus__edit_distance(const char *a, const char *b, size_t limit);

/** The search for the candidate nearest to a name, within a limit. */
struct edxbus__nearest {
    const char *name; /* what was asked for; borrowed */
    size_t limit;     /* the farthest distance worth suggesting */
    const char *best; /* the nearest candidate so far (the first of equals), or NULL; borrowed */
    size_t best_d;    /* its distance; limit + 1 while best is NULL */
};

/** Start a search for @p name (borrowed for the search). */
void edxbus__nearest_init(struct edxbus__nearest *nr, const char *name, size_t limit);

/** Consider @p candidate (borrowed until the search's result is used). */
void edxbus__nearest_add(struct edxbus__nearest *nr, const char *candidate);

#endif /* EDXBUS_SUGGEST_INT_H */
