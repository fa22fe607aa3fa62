/* fuzz/fuzz_nats_nkey.c — libFuzzer target for the NKey user seed of EVENT_BUS_NATS_NKEY_SEED_FILE
 * and the credentials file of EVENT_BUS_NATS_CREDENTIALS_FILE (src/backends/nats/nats_nkey.c):
 * the file an operator points the setting at, read by edxbus__nats_nkey_public() and
 * edxbus__nats_creds_check().
 *
 * Input: the file's bytes. Invariants checked (abort on violation):
 *   - the file is read: a failure is EDXBUS_ERR_CONF with one terminated line naming the
 *     setting, which never holds a 58-character word of the input starting with SU (the seed);
 *   - a success gives a public key of 56 characters of the base32 alphabet starting with U, and
 *     the input holds a line whose first word is a valid seed (edxbus__nats_nkey_public_of_seed
 *     agrees on it);
 *   - the same file as a credentials file: EDXBUS_OK only when the seed file reading found a
 *     seed; otherwise EDXBUS_ERR_CONF with one terminated line naming its setting and holding
 *     no seed word of the input;
 *   - the first 32 input bytes, as an Ed25519 seed, make a seed text of 58 characters starting
 *     with SU whose public key is derived again (encode and decode agree).
 * Nothing is kept between inputs but one scratch file.
 *
 * Seed corpus: fuzz/corpus/nats_nkey/ (a seed alone, one inside a creds-like file, a seed with a
 * wrong checksum, an account seed, text).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backends/nats/nats_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool is_key(const char *k, size_t len, char first)
{
    if (strlen(k) != len || k[0] != first)
        return false;
    for (size_t i = 0; i < len; i++)
        if (strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", k[i]) == NULL)
            abort();
    return true;
}

/* A refusal: EDXBUS_ERR_CONF, one terminated line naming @p setting, no seed of the input. */
static void refusal_ok(edxbus_err_t err, const char *errstr, const char *setting,
                       const uint8_t *data, size_t size)
{
    if (err != EDXBUS_ERR_CONF || memchr(errstr, '\0', EDXBUS_ERRSTR_SIZE) == NULL ||
        strchr(errstr, '\n') != NULL || strstr(errstr, setting) == NULL)
        abort();
    /* No word of the input that could be a seed is in the line. */
    char *text = calloc(1, size + 1);
    if (text != NULL) {
        memcpy(text, data, size);
        for (char *w = strstr(text, "SU"); w != NULL; w = strstr(w + 1, "SU"))
            if (strlen(w) >= 58 && memmem(errstr, strlen(errstr), w, 58) != NULL)
                abort();
        free(text);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[64];
    if (path[0] == '\0')
        snprintf(path, sizeof path, "/tmp/edxbus-fuzz-nkey-%d", (int)getpid());
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        return 0;
    fwrite(data, 1, size, f);
    fclose(f);
    char pub[EDXBUS_NATS_NKEY_PUBLIC_MAX], errstr[EDXBUS_ERRSTR_SIZE];
    memset(errstr, 0, sizeof errstr);
    edxbus_err_t err = edxbus__nats_nkey_public(path, pub, errstr, sizeof errstr);
    if (err == EDXBUS_OK) {
        if (!is_key(pub, 56, 'U'))
            abort();
    } else {
        refusal_ok(err, errstr, NATS_SETTING_NKEY, data, size);
    }
    char creds_errstr[EDXBUS_ERRSTR_SIZE];
    memset(creds_errstr, 0, sizeof creds_errstr);
    edxbus_err_t creds_err = edxbus__nats_creds_check(path, creds_errstr, sizeof creds_errstr);
    if (creds_err == EDXBUS_OK && err != EDXBUS_OK)
        abort();
    if (creds_err != EDXBUS_OK)
        refusal_ok(creds_err, creds_errstr, NATS_SETTING_CREDS, data, size);
    if (size >= 32) {
        char seed[EDXBUS_NATS_NKEY_SEED_MAX], again[EDXBUS_NATS_NKEY_PUBLIC_MAX];
        edxbus__nats_nkey_seed_text(data, seed);
        if (!is_key(seed, 58, 'S') || seed[1] != 'U' ||
            !edxbus__nats_nkey_public_of_seed(seed, again) || !is_key(again, 56, 'U'))
            abort();
    }
    return 0;
}
