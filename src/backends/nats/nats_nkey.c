/* src/backends/nats/nats_nkey.c — the public key of an NKey user seed
 * (EVENT_BUS_NATS_NKEY_SEED_FILE), the check of a credentials file
 * (EVENT_BUS_NATS_CREDENTIALS_FILE) and the NKey text form.
 *
 * libnats signs the server's nonce with the seed of the file it is given, but sends the user's
 * public key only when the caller names it (natsOptions_SetNKeyFromSeed() with no public key
 * turns NKey authentication off). So the public key is derived here from the seed: an NKey is
 * base32 (RFC 4648, no padding) of a prefix, the key bytes and a CRC-16 (XMODEM, little
 * endian). A user seed is 2 prefix bytes (0x95 0x00: "seed" and "user", which is why it starts
 * with "SU") + the 32-byte Ed25519 seed + CRC; the public key is 0xA0 ("user": "U...") + the
 * 32-byte Ed25519 public key + CRC. The seed is wiped from memory once used; neither it nor the
 * file's text ever appears in a message. A credentials file (user JWT + seed) is read by
 * libnats at connect time; it is checked here first, so a file that is not one fails with a
 * line naming the setting rather than libnats' own words.
 */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edxbus/backend_util.h"
#include "nats_int.h"

#define PREFIX_SEED 0x90 /* 18 << 3 */
#define PREFIX_USER 0xA0 /* 20 << 3 */
#define SEED_RAW 36      /* 2 prefix + 32 + 2 CRC */
#define SEED_TEXT 58

static const char b32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

static uint16_t crc16(const uint8_t *p, size_t n)
{
    uint16_t crc = 0;
    for (size_t i = 0; i < n; i++) {
        crc ^= (uint16_t)(p[i] << 8);
        for (int b = 0; b < 8; b++)
            crc = crc & 0x8000 ? (uint16_t)((crc << 1) ^ 0x1021) : (uint16_t)(crc << 1);
    }
    return crc;
}

/* Base32 of @p n bytes into @p out (NUL-terminated; room for (8n+4)/5 + 1). */
static void b32_encode(const uint8_t *in, size_t n, char *out)
{
    unsigned buf = 0;
    int bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        buf = (buf << 8) | in[i];
        bits += 8;
        while (bits >= 5) {
            out[o++] = b32[(buf >> (bits - 5)) & 31];
            bits -= 5;
        }
    }
    if (bits > 0)
        out[o++] = b32[(buf << (5 - bits)) & 31];
    out[o] = '\0';
}

/* Base32 text of @p len characters into @p out (@p size bytes); false on a bad character or
 * a length that does not fit. */
static bool b32_decode(const char *text, size_t len, uint8_t *out, size_t size)
{
    unsigned buf = 0;
    int bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        const char *c = strchr(b32, text[i]);
        if (c == NULL || text[i] == '\0')
            return false;
        buf = (buf << 5) | (unsigned)(c - b32);
        bits += 5;
        if (bits >= 8) {
            if (o == size)
                return false;
            out[o++] = (uint8_t)(buf >> (bits - 8));
            bits -= 8;
        }
    }
    return o == size;
}

void edxbus__nats_nkey_text(uint8_t type, bool seed, const uint8_t key[32], char *out)
{
    /* A seed: 2 prefix bytes, "seed" (18) then the type, 5 bits each; a public key: 1 byte. */
    uint8_t raw[SEED_RAW];
    size_t p = 0;
    if (seed) {
        raw[p++] = PREFIX_SEED | (type >> 5);
        raw[p++] = (uint8_t)((type & 31) << 3);
    } else {
        raw[p++] = type;
    }
    memcpy(raw + p, key, 32);
    uint16_t crc = crc16(raw, p + 32);
    raw[p + 32] = (uint8_t)(crc & 0xff);
    raw[p + 33] = (uint8_t)(crc >> 8);
    b32_encode(raw, p + 34, out);
    OPENSSL_cleanse(raw, sizeof raw);
}

void edxbus__nats_nkey_seed_text(const uint8_t seed[32], char out[EDXBUS_NATS_NKEY_SEED_MAX])
{
    edxbus__nats_nkey_text(PREFIX_USER, true, seed, out);
}

void edxbus__nats_base32(const uint8_t *in, size_t n, char *out)
{
    b32_encode(in, n, out);
}

bool edxbus__nats_nkey_public_of_seed(const char *seed_text, char out[EDXBUS_NATS_NKEY_PUBLIC_MAX])
{
    uint8_t raw[SEED_RAW], pub[32];
    bool ok = strlen(seed_text) == SEED_TEXT && b32_decode(seed_text, SEED_TEXT, raw, sizeof raw);
    ok = ok && crc16(raw, 34) == (uint16_t)(raw[34] | raw[35] << 8);
    ok = ok && (raw[0] & 0xf8) == PREFIX_SEED &&
         (uint8_t)(((raw[0] & 7) << 5) | ((raw[1] & 0xf8) >> 3)) == PREFIX_USER;
    EVP_PKEY *key = ok ? EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, raw + 2, 32) : NULL;
    size_t len = 32;
    ok = key != NULL && EVP_PKEY_get_raw_public_key(key, pub, &len) == 1 && len == 32;
    EVP_PKEY_free(key);
    OPENSSL_cleanse(raw, sizeof raw);
    if (!ok)
        return false;
    edxbus__nats_nkey_text(PREFIX_USER, false, pub, out);
    return true;
}

/* Read @p path (the file of @p setting): the public key of its first valid user seed (the
 * first word of a line, starting with "SU") in @p pub, and whether a line starts with a JWT
 * ("eyJ": base64 of '{"', then a dot). EDXBUS_ERR_CONF when it cannot be read. The text
 * read is wiped. */
static edxbus_err_t scan_key_file(const char *setting, const char *path,
                                  char pub[EDXBUS_NATS_NKEY_PUBLIC_MAX], bool *seed, bool *jwt,
                                  char *errstr, size_t errstr_size)
{
    *seed = *jwt = false;
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        edxbus_errf(errstr, errstr_size, "%s: \"%.200s\" cannot be read; give a readable file",
                    setting, path);
        return EDXBUS_ERR_CONF;
    }
    /* An .nk file holds the seed alone; a creds file has the JWT and the seed each between
     * BEGIN/END lines. A line longer than the buffer is read in pieces: a piece never passes
     * for a seed (its length is checked), nor for a JWT unless it starts one. */
    char line[4096];
    while (fgets(line, sizeof line, f) != NULL) {
        char *w = line + strspn(line, " \t");
        w[strcspn(w, " \t\r\n")] = '\0';
        if (!*seed && strncmp(w, "SU", 2) == 0)
            *seed = edxbus__nats_nkey_public_of_seed(w, pub);
        if (strncmp(w, "eyJ", 3) == 0 && strchr(w, '.') != NULL)
            *jwt = true;
    }
    OPENSSL_cleanse(line, sizeof line);
    fclose(f);
    return EDXBUS_OK;
}

edxbus_err_t edxbus__nats_nkey_public(const char *seed_file, char out[EDXBUS_NATS_NKEY_PUBLIC_MAX],
                                      char *errstr, size_t errstr_size)
{
    bool seed, jwt;
    edxbus_err_t err =
        scan_key_file(NATS_SETTING_NKEY, seed_file, out, &seed, &jwt, errstr, errstr_size);
    if (err == EDXBUS_OK && !seed) {
        edxbus_errf(errstr, errstr_size,
                    "%s: \"%.200s\" holds no valid NKey user seed (a line of 58 characters "
                    "starting with SU, as `nk -gen user` writes); give the user's seed file",
                    NATS_SETTING_NKEY, seed_file);
        err = EDXBUS_ERR_CONF;
    }
    return err;
}

edxbus_err_t edxbus__nats_creds_check(const char *creds_file, char *errstr, size_t errstr_size)
{
    char pub[EDXBUS_NATS_NKEY_PUBLIC_MAX];
    bool seed, jwt;
    edxbus_err_t err =
        scan_key_file(NATS_SETTING_CREDS, creds_file, pub, &seed, &jwt, errstr, errstr_size);
    if (err == EDXBUS_OK && (!seed || !jwt)) {
        edxbus_errf(errstr, errstr_size,
                    "%s: \"%.200s\" holds %s; give the user's .creds file (its JWT and NKey "
                    "seed, as `nsc generate creds` writes)",
                    NATS_SETTING_CREDS, creds_file,
                    !seed && !jwt ? "neither a user JWT nor a valid NKey user seed"
                    : !seed      ? "no valid NKey user seed (a line of 58 characters starting "
                                   "with SU)"
                                 : "no user JWT (a line starting with eyJ)");
        err = EDXBUS_ERR_CONF;
    }
    return err;
}
