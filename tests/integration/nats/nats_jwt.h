/* tests/integration/nats/nats_jwt.h — NATS operator-mode identities made by a test: NKey key
 * pairs for an operator, accounts and users, the JWTs that bind them, and a user's .creds file.
 *
 * An NKey is an Ed25519 key pair whose seed and public key are written in the NKey text form
 * (edxbus__nats_nkey_text(): base32 of a type prefix, the 32 key bytes and a CRC-16). A NATS
 * JWT is base64url(header) "." base64url(claims) "." base64url(signature), unpadded, where the
 * header is {"typ":"JWT","alg":"ed25519-nkey"}, the signature is the issuer's Ed25519
 * signature of the first two parts, and the claims are jti (the base32 SHA-512/256 of the claims
 * written with an empty jti), iat, iss (the issuer's public key), sub (the subject's), name and
 * "nats" (the type — "operator", "account" or "user" — version 2 and the type's own fields).
 * A .creds file holds the user JWT and the user seed between the BEGIN/END lines `nsc` writes.
 *
 * For tests only: the keys come from RAND_bytes, nothing here checks what it is given.
 */
#ifndef EDXBUS_TEST_NATS_JWT_H
#define EDXBUS_TEST_NATS_JWT_H

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backends/nats/nats_int.h"

#define TEST_NKEY_OPERATOR 0x70 /* 14 << 3: "O…", seed "SO…" */
#define TEST_NKEY_ACCOUNT 0x00  /* 0: "A…", seed "SA…" */
#define TEST_NKEY_USER 0xA0     /* 20 << 3: "U…", seed "SU…" */

struct test_nkey {
    EVP_PKEY *key;
    char seed[EDXBUS_NATS_NKEY_SEED_MAX];
    char pub[EDXBUS_NATS_NKEY_SEED_MAX];
};

/** A new key pair of @p type (TEST_NKEY_*) from random bytes; false when OpenSSL fails. */
static inline bool test_nkey_make(struct test_nkey *k, uint8_t type)
{
    uint8_t seed[32], pub[32];
    size_t len = sizeof pub;
    memset(k, 0, sizeof *k);
    bool ok = RAND_bytes(seed, sizeof seed) == 1 &&
              (k->key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32)) != NULL &&
              EVP_PKEY_get_raw_public_key(k->key, pub, &len) == 1 && len == 32;
    if (ok) {
        edxbus__nats_nkey_text(type, true, seed, k->seed);
        edxbus__nats_nkey_text(type, false, pub, k->pub);
    }
    OPENSSL_cleanse(seed, sizeof seed);
    return ok;
}

static inline void test_nkey_free(struct test_nkey *k)
{
    EVP_PKEY_free(k->key);
    k->key = NULL;
}

/* Unpadded base64url of @p n bytes; returns new. */
static inline char *test_jwt_b64url(const uint8_t *in, size_t n)
{
    char *out = malloc(4 * ((n + 2) / 3) + 1);
    if (out == NULL)
        return NULL;
    int len = EVP_EncodeBlock((unsigned char *)out, in, (int)n);
    while (len > 0 && out[len - 1] == '=')
        len--;
    out[len] = '\0';
    for (char *c = out; *c; c++)
        *c = *c == '+' ? '-' : *c == '/' ? '_' : *c;
    return out;
}

/** A JWT whose subject is @p sub, named @p name, with @p nats as its "nats" claim (stolen: the
 *  caller gives up its reference; "version": 2 is added), signed by @p issuer. Returns new,
 *  or NULL when something fails. */
static inline char *test_jwt_make(const struct test_nkey *issuer, const char *sub,
                                  const char *name, json_t *nats)
{
    json_object_set_new(nats, "version", json_integer(2));
    json_t *claims = json_object();
    json_object_set_new(claims, "jti", json_string(""));
    json_object_set_new(claims, "iat", json_integer((json_int_t)time(NULL)));
    json_object_set_new(claims, "iss", json_string(issuer->pub));
    json_object_set_new(claims, "name", json_string(name));
    json_object_set_new(claims, "sub", json_string(sub));
    json_object_set_new(claims, "nats", nats);
    /* jti: the hash of the claims with an empty jti, as the NATS JWT library makes it. */
    char *text = json_dumps(claims, JSON_COMPACT);
    uint8_t hash[32];
    unsigned hash_len = 0;
    char jti[(8 * sizeof hash + 4) / 5 + 1];
    bool ok = text != NULL &&
              EVP_Digest(text, strlen(text), hash, &hash_len, EVP_sha512_256(), NULL) == 1 &&
              hash_len == sizeof hash;
    free(text);
    text = NULL;
    if (ok) {
        edxbus__nats_base32(hash, sizeof hash, jti);
        json_object_set_new(claims, "jti", json_string(jti));
        text = json_dumps(claims, JSON_COMPACT);
    }
    json_decref(claims);
    static const char header[] = "{\"typ\":\"JWT\",\"alg\":\"ed25519-nkey\"}";
    char *h = test_jwt_b64url((const uint8_t *)header, strlen(header));
    char *c = text ? test_jwt_b64url((const uint8_t *)text, strlen(text)) : NULL;
    free(text);
    char *jwt = NULL, *s = NULL;
    size_t signed_len = h && c ? strlen(h) + 1 + strlen(c) : 0;
    char *to_sign = signed_len ? malloc(signed_len + 1) : NULL;
    uint8_t sig[64];
    size_t sig_len = sizeof sig;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (to_sign != NULL && ctx != NULL) {
        snprintf(to_sign, signed_len + 1, "%s.%s", h, c);
        if (EVP_DigestSignInit(ctx, NULL, NULL, NULL, issuer->key) == 1 &&
            EVP_DigestSign(ctx, sig, &sig_len, (const uint8_t *)to_sign, signed_len) == 1 &&
            (s = test_jwt_b64url(sig, sig_len)) != NULL &&
            (jwt = malloc(signed_len + 1 + strlen(s) + 1)) != NULL)
            sprintf(jwt, "%s.%s", to_sign, s);
    }
    EVP_MD_CTX_free(ctx);
    free(h);
    free(c);
    free(s);
    free(to_sign);
    return jwt;
}

/** The operator's self-signed JWT. Returns new. */
static inline char *test_jwt_operator(const struct test_nkey *op, const char *name)
{
    return test_jwt_make(op, op->pub, name, json_pack("{s:s}", "type", "operator"));
}

/** An account's JWT, issued by @p op, with no limits; when @p jetstream, JetStream enabled too
 *  (unlimited memory and file storage, streams and consumers; the system account must not
 *  have it). Returns new. */
static inline char *test_jwt_account(const struct test_nkey *op, const struct test_nkey *acc,
                                     const char *name, bool jetstream)
{
    json_t *limits = json_pack("{s:i, s:i, s:i, s:i, s:i, s:b, s:i, s:i}", "subs", -1, "data", -1,
                               "payload", -1, "imports", -1, "exports", -1, "wildcards", 1,
                               "conn", -1, "leaf", -1);
    if (jetstream)
        json_object_update_new(limits, json_pack("{s:i, s:i, s:i, s:i}", "mem_storage", -1,
                                                 "disk_storage", -1, "streams", -1,
                                                 "consumer", -1));
    json_t *nats = json_pack("{s:s, s:o, s:{s:{}, s:{}}}", "type", "account", "limits", limits,
                             "default_permissions", "pub", "sub");
    return test_jwt_make(op, acc->pub, name, nats);
}

/** A user's JWT issued (and signed) by the account key @p signer, with no limits. Returns new. */
static inline char *test_jwt_user(const struct test_nkey *signer, const struct test_nkey *user,
                                  const char *name)
{
    json_t *nats = json_pack("{s:s, s:{}, s:{}, s:i, s:i, s:i}", "type", "user", "pub", "sub",
                             "subs", -1, "data", -1, "payload", -1);
    return test_jwt_make(signer, user->pub, name, nats);
}

/** Write the .creds file @p path: @p jwt and @p user's seed in the blocks libnats and the nats
 *  CLI read. */
static inline bool test_jwt_write_creds(const char *path, const char *jwt,
                                        const struct test_nkey *user)
{
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return false;
    int w = fprintf(f,
                    "-----BEGIN NATS USER JWT-----\n%s\n------END NATS USER JWT------\n\n"
                    "The seed below proves this user's identity: keep this file secret.\n\n"
                    "-----BEGIN USER NKEY SEED-----\n%s\n------END USER NKEY SEED------\n",
                    jwt, user->seed);
    return fclose(f) == 0 && w > 0;
}

#endif /* EDXBUS_TEST_NATS_JWT_H */
