/* src/backends/nats/nats_nkey.c — the public key of an NKey user seed (EVENT_BUS_NATS_NKEY_SEED_FILE).
 *
 * libnats signs the server's nonce with the seed of the file it is given, but sends the user's
 * public key only when the caller names it (natsOptions_SetNKeyFromSeed() with no public key
 * turns NKey authentication off). So the public key is derived here from the seed: an NKey is
 * base32 (RFC 4648, no padding) of a prefix, the key bytes and a CRC-16 (XMODEM, little
 * endian). A user seed is 2 prefix bytes (0x95 0x00: "seed" and "user", which is why it starts
 * with "SU") + the 32-byte Ed25519 seed + CRC; the public key is 0xA0 ("user": "U...") + the
 * 32-byte Ed25519 public key + CRC. The seed is wiped from memory once used; neither it nor the
 * file's text ever appears in a message.
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
#define PUBLIC_RAW 35    /* 1 prefix + 32 + 2 CRC */

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

void edxbus__nats_nkey_seed_text(const uint8_t seed[32], char out[EDXBUS_NATS_NKEY_SEED_MAX])
{
    uint8_t raw[SEED_RAW];
    raw[0] = PREFIX_SEED | (PREFIX_USER >> 5);
    raw[1] = (PREFIX_USER & 31) << 3;
    memcpy(raw + 2, seed, 32);
    uint16_t crc = crc16(raw, 34);
    raw[34] = (uint8_t)(crc & 0xff);
    raw[35] = (uint8_t)(crc >> 8);
    b32_encode(raw, sizeof raw, out);
    OPENSSL_cleanse(raw, sizeof raw);
}

bool edxbus__nats_nkey_public_of_seed(const char *seed_text, char out[EDXBUS_NATS_NKEY_PUBLIC_MAX])
{
    uint8_t raw[SEED_RAW], pub[PUBLIC_RAW];
    bool ok = strlen(seed_text) == SEED_TEXT && b32_decode(seed_text, SEED_TEXT, raw, sizeof raw);
    ok = ok && crc16(raw, 34) == (uint16_t)(raw[34] | raw[35] << 8);
    ok = ok && (raw[0] & 0xf8) == PREFIX_SEED &&
         (uint8_t)(((raw[0] & 7) << 5) | ((raw[1] & 0xf8) >> 3)) == PREFIX_USER;
    EVP_PKEY *key = ok ? EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, raw + 2, 32) : NULL;
    size_t len = 32;
    ok = key != NULL && EVP_PKEY_get_raw_public_key(key, pub + 1, &len) == 1 && len == 32;
    EVP_PKEY_free(key);
    OPENSSL_cleanse(raw, sizeof raw);
    if (!ok)
        return false;
    pub[0] = PREFIX_USER;
    uint16_t crc = crc16(pub, 33);
    pub[33] = (uint8_t)(crc & 0xff);
    pub[34] = (uint8_t)(crc >> 8);
    b32_encode(pub, sizeof pub, out);
    return true;
}

edxbus_err_t edxbus__nats_nkey_public(const char *seed_file, char out[EDXBUS_NATS_NKEY_PUBLIC_MAX],
                                      char *errstr, size_t errstr_size)
{
    FILE *f = fopen(seed_file, "r");
    if (f == NULL) {
        edxbus_errf(errstr, errstr_size, "%s: \"%.200s\" cannot be read; give a readable file",
                    NATS_SETTING_NKEY, seed_file);
        return EDXBUS_ERR_CONF;
    }
    /* The first word starting with "SU" (an .nk file holds the seed alone; a creds file has
     * it between BEGIN/END lines). */
    char line[512];
    bool found = false;
    while (!found && fgets(line, sizeof line, f) != NULL) {
        char *w = line + strspn(line, " \t");
        w[strcspn(w, " \t\r\n")] = '\0';
        found = strncmp(w, "SU", 2) == 0 && edxbus__nats_nkey_public_of_seed(w, out);
    }
    OPENSSL_cleanse(line, sizeof line);
    fclose(f);
    if (!found) {
        edxbus_errf(errstr, errstr_size,
                    "%s: \"%.200s\" holds no valid NKey user seed (a line of 58 characters "
                    "starting with SU, as `nk -gen user` writes); give the user's seed file",
                    NATS_SETTING_NKEY, seed_file);
        return EDXBUS_ERR_CONF;
    }
    return EDXBUS_OK;
}
