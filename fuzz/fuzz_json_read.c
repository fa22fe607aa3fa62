/* fuzz/fuzz_json_read.c — libFuzzer target for edxbus_json_loadb() (src/util/json_read.c):
 * every JSON input of edxbus (avro encode, produce --data, --metadata, settings' JSON values).
 *
 * Input: the first byte picks the flags, the rest is the text. Invariants (abort on violation):
 *   - a failure leaves one terminated line in errstr, never a jansson flag name ("JSON_");
 *   - when the text holds no NaN/Infinity word, the tree equals jansson's own parse (with NUL
 *     allowed), and success agrees with jansson's;
 *   - on success, the tree written back as text (edxbus_json_write: NaN and the infinities as
 *     words) parses again to a tree that writes the same text (the words round-trip and no
 *     string is mistaken for one).
 * Nothing is kept between inputs.
 *
 * Seed corpus: fuzz/corpus/json_read/.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "edxbus/avro.h"
#include "edxbus/buf.h"
#include "edxbus/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool has_word(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] == 'N' || s[i] == 'I')
            return true;
    return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned flags = data[0] & (EDXBUS_JSON_ANY | EDXBUS_JSON_NO_DUPLICATES);
    size_t len = size - 1;
    char *text = malloc(len ? len : 1); /* its own block: reading past len trips ASan */
    if (text == NULL)
        return 0;
    memcpy(text, data + 1, len);

    char errstr[EDXBUS_ERRSTR_SIZE];
    memset(errstr, 'x', sizeof errstr);
    json_t *v = edxbus_json_loadb(text, len, flags, errstr, sizeof errstr);
    if (v == NULL) {
        if (memchr(errstr, '\0', sizeof errstr) == NULL || strchr(errstr, '\n') != NULL ||
            strstr(errstr, "JSON_") != NULL)
            abort();
    }
    if (!has_word(text, len)) {
        size_t jf = JSON_ALLOW_NUL | (flags & EDXBUS_JSON_ANY ? JSON_DECODE_ANY : 0) |
                    (flags & EDXBUS_JSON_NO_DUPLICATES ? JSON_REJECT_DUPLICATES : 0);
        json_t *j = json_loadb(text, len, jf, NULL);
        if ((j == NULL) != (v == NULL) || (j != NULL && !json_equal(j, v)))
            abort();
        json_decref(j);
    }
    if (v != NULL) {
        struct edxbus_buf a = EDXBUS_BUF_INIT, b = EDXBUS_BUF_INIT;
        if (edxbus_json_write(v, 0, &a) == EDXBUS_OK) {
            json_t *w = edxbus_json_loadb((const char *)a.data, a.len, flags | EDXBUS_JSON_ANY,
                                          errstr, sizeof errstr);
            if (w == NULL || edxbus_json_write(w, 0, &b) != EDXBUS_OK || a.len != b.len ||
                memcmp(a.data, b.data, a.len) != 0)
                abort();
            json_decref(w);
        }
        edxbus_buf_fini(&a);
        edxbus_buf_fini(&b);
        json_decref(v);
    }
    free(text);
    return 0;
}
