/* src/util/suggest.c — edit distance and the nearest-name search behind "did you mean".
 *
 * Levenshtein distance over one row (O(len(b)) memory on the stack), case-insensitive for
 * ASCII letters: a setting typed in lowercase (`event_bus_producer`) or an event type in
 * capitals is still one the user means. It stops as soon as every cell of a row exceeds the
 * limit, so scanning a catalog of a few hundred names for a typo costs little: most names are
 * rejected after a few rows, or at once by their difference in length.
 */
#include "util/suggest_int.h"

#include <ctype.h>
#include <string.h>

size_t edxbus__edit_distance(const char *a, const char *b, size_t limit)
{
    size_t la = strlen(a), lb = strlen(b);
    size_t row[EDXBUS__SUGGEST_NAME_MAX + 1];
    if ((la > lb ? la - lb : lb - la) > limit || la > EDXBUS__SUGGEST_NAME_MAX ||
        lb > EDXBUS__SUGGEST_NAME_MAX)
        return limit + 1;
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0], row_min = i;
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best =
                diag + (tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]));
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
            if (best < row_min)
                row_min = best;
        }
        if (row_min > limit)
            return limit + 1;
    }
    return row[lb] > limit ? limit + 1 : row[lb];
}

void edxbus__nearest_init(struct edxbus__nearest *nr, const char *name, size_t limit)
{
    nr->name = name;
    nr->limit = limit;
    nr->best = NULL;
    nr->best_d = limit + 1;
}

void edxbus__nearest_add(struct edxbus__nearest *nr, const char *candidate)
{
    if (nr->best_d == 0)
        return; /* nothing beats an equal */
    size_t d = edxbus__edit_distance(nr->name, candidate, nr->best_d - 1);
    if (d < nr->best_d) {
        nr->best = candidate;
        nr->best_d = d;
    }
}
