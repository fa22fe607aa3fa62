/* tests/integration/nats/test_nats_auth.c — connecting to NATS over TLS and with credentials,
 * against real nats-servers configured by the test, with certificates it makes with `openssl`
 * (tests/integration/tls_certs.h) and an NKey user it makes with OpenSSL's Ed25519:
 *   - tls:// with EVENT_BUS_NATS_TLS_CA_FILE: an event produced and consumed back; the wrong CA
 *     is refused with one line naming the server and the CA setting; no CA at all is refused
 *     too (the test CA is not trusted by the system);
 *   - a server asking for a client certificate: refused without one, served with
 *     EVENT_BUS_NATS_TLS_CERT_FILE / _KEY_FILE;
 *   - user:password in the URL, EVENT_BUS_NATS_TOKEN and a token in the URL, an NKey seed file
 *     (EVENT_BUS_NATS_NKEY_SEED_FILE): served; a wrong password, token or seed: refused with
 *     EDXBUS_ERR_AUTH; a file holding no seed: EDXBUS_ERR_CONF naming the setting;
 *   - a server in operator mode (JWT auth: an operator, an account preloaded with
 *     `resolver: MEMORY`, JetStream enabled by the account's limits) with JWTs and a .creds file
 *     the test makes (nats_jwt.h): EVENT_BUS_NATS_CREDENTIALS_FILE produces and consumes; a
 *     user of an account the server does not know, a user JWT forged with another account's
 *     key and a creds file whose seed is not its user's are refused with EDXBUS_ERR_AUTH, one
 *     line naming the setting and the file (and each for its own reason, by the server's debug
 *     log); a file holding no JWT or no seed: EDXBUS_ERR_CONF naming the setting, the file and
 *     what is missing;
 *   - no error line holds a password, a token or a seed, nor does the settings dump a token in
 *     the URL (nats://TOKEN@host); nothing written to stderr during the creds cases (libnats
 *     included) holds a seed.
 */
#include <openssl/rand.h>
#include <stdarg.h>

#include "../tls_certs.h"
#include "nats_jwt.h"
#include "backends/nats/nats_int.h"
#include "nats_server.h"
#include "test.h"

#define PASSWORD "pw-Xy7-s3cr3t"
#define TOKEN "tok-9Qz-s3cr3t"

static const struct edxbus_backend_ops *ops = &edxbus_backend_nats;
static struct test_nats servers[5]; /* one per test; all stopped at the end, even after a FAIL */
static char certs[256]; /* the certificates' directory */
static char seed_text[EDXBUS_NATS_NKEY_SEED_MAX], public_key[EDXBUS_NATS_NKEY_PUBLIC_MAX];
static char seed_file[300], other_seed_file[300], no_seed_file[300], bad_seed_files[2][300];
static char other_seed_text[EDXBUS_NATS_NKEY_SEED_MAX];

/* A conf for @p url with pairs of settings (name, value, ..., NULL). */
static edxbus_conf_t *conf_of(const char *url, ...)
{
    char errstr[EDXBUS_ERRSTR_SIZE];
    edxbus_conf_t *conf = test_nats_conf(url);
    va_list ap;
    va_start(ap, url);
    for (const char *name; (name = va_arg(ap, const char *)) != NULL;) {
        const char *value = va_arg(ap, const char *);
        if (edxbus_conf_set(conf, name, value, errstr, sizeof errstr) != EDXBUS_OK)
            TEST_FAIL_("conf %s: %s", name, errstr);
    }
    va_end(ap);
    return conf;
}

/* Whether @p line holds something shaped like an NKey seed: "S" and 57 more characters of the
 * base32 alphabet (any seed, not only those this test knows; a temporary directory's random
 * name cannot pass for one). */
static bool has_seed_shape(const char *line)
{
    for (const char *p = line; (p = strchr(p, 'S')) != NULL; p++)
        if (strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") >= 58)
            return true;
    return false;
}

static void no_secret_in(const char *line)
{
    ASSERT_TRUE(strchr(line, '\n') == NULL);
    ASSERT_TRUE(strstr(line, PASSWORD) == NULL);
    ASSERT_TRUE(strstr(line, TOKEN) == NULL);
    ASSERT_TRUE(strstr(line, seed_text) == NULL);
    ASSERT_TRUE(strstr(line, other_seed_text) == NULL);
    ASSERT_TRUE(!has_seed_shape(line));
}

/* Produce one event to @p topic and read it back in a new group: the connection works. */
static void roundtrip(const edxbus_conf_t *conf, const char *topic)
{
    char errstr[EDXBUS_ERRSTR_SIZE] = "";
    void *prod = NULL, *cons = NULL;
    struct edxbus_metadata md;
    memset(&md, 0, sizeof md);
    snprintf(md.event_type, sizeof md.event_type,
             "org.openedx.learning.course.enrollment.created.v1");
    snprintf(md.id, sizeof md.id, "a7700000-0000-11ef-9f8e-0242ac120002");
    snprintf(md.source, sizeof md.source, "openedx/lms/web");
    struct edxbus_msg msg = {
        .topic = topic, .value = (const uint8_t *)"secured", .value_len = 7, .metadata = &md};
    if (ops->producer_open(conf, &prod, errstr, sizeof errstr) != EDXBUS_OK)
        TEST_FAIL_("producer_open: %s", errstr);
    if (ops->produce(prod, &msg, NULL, NULL, errstr, sizeof errstr) != EDXBUS_OK)
        TEST_FAIL_("produce: %s", errstr);
    ops->producer_close(prod);
    struct edxbus_consumer_opts o = {
        .topic = topic, .group = "g", .start = "earliest", .start_time_ms = -1};
    if (ops->consumer_open(conf, &o, &cons, errstr, sizeof errstr) != EDXBUS_OK)
        TEST_FAIL_("consumer_open: %s", errstr);
    struct edxbus_batch b = {0};
    for (int polls = 0; polls < 20 && b.n == 0; polls++)
        if (ops->poll(cons, &b, 1, 500, errstr, sizeof errstr) != EDXBUS_OK)
            TEST_FAIL_("poll: %s", errstr);
    ASSERT_EQ_UINT(b.n, 1);
    ASSERT_EQ_UINT(b.msgs[0].value_len, 7);
    ASSERT_TRUE(memcmp(b.msgs[0].value, "secured", 7) == 0);
    ASSERT_EQ_STR(b.msgs[0].metadata->id, md.id);
    ASSERT_EQ_INT(ops->ack(cons, &b.msgs[0], errstr, sizeof errstr), EDXBUS_OK);
    ops->consumer_close(cons);
}

/* Opening a producer fails with @p want; the line is returned in @p errstr. */
static void refused(const edxbus_conf_t *conf, edxbus_err_t want, char *errstr, size_t size)
{
    void *prod = NULL;
    errstr[0] = '\0';
    edxbus_err_t err = ops->producer_open(conf, &prod, errstr, size);
    if (err == EDXBUS_OK) {
        ops->producer_close(prod);
        TEST_FAIL_("connected, but should have been refused");
    }
    fprintf(stderr, "refused as expected: %s\n", errstr);
    if (err != want)
        TEST_FAIL_("error %s (%s), expected %s", edxbus_err2str(err), errstr,
                   edxbus_err2str(want));
    no_secret_in(errstr);
}

static void start(struct test_nats **out, int slot, const char *config)
{
    struct test_nats *n = *out = &servers[slot];
    if (!test_nats_start_with(n, config)) {
        char log[400];
        snprintf(log, sizeof log, "%s/nats.log", n->dir);
        FILE *f = fopen(log, "r"); /* shown: the store (and the log) go when the test ends */
        for (char line[1024]; f != NULL && fgets(line, sizeof line, f) != NULL;)
            fprintf(stderr, "nats.log: %s", line);
        if (f != NULL)
            fclose(f);
        TEST_FAIL_("cannot start nats-server with its configuration (see %s)", log);
    }
}

TEST(test_tls_with_a_ca_file)
{
    char config[2048], url[128], ca[300], other[300], errstr[EDXBUS_ERRSTR_SIZE];
    snprintf(config, sizeof config,
             "tls { cert_file: \"%s/server.pem\", key_file: \"%s/server.key\", timeout: 5 }\n",
             certs, certs);
    snprintf(ca, sizeof ca, "%s/ca.pem", certs);
    snprintf(other, sizeof other, "%s/other-ca.pem", certs);
    struct test_nats *np;
    start(&np, 0, config);
    struct test_nats n = *np;
    snprintf(url, sizeof url, "tls://localhost:%d", n.port);
    edxbus_conf_t *conf = conf_of(url, "EVENT_BUS_NATS_TLS_CA_FILE", ca, NULL);
    roundtrip(conf, "over-tls");
    edxbus_conf_destroy(conf);

    conf = conf_of(url, "EVENT_BUS_NATS_TLS_CA_FILE", other, NULL);
    refused(conf, EDXBUS_ERR_IO, errstr, sizeof errstr);
    ASSERT_CONTAINS(errstr, url);
    ASSERT_CONTAINS(errstr, "EVENT_BUS_NATS_TLS_CA_FILE");
    edxbus_conf_destroy(conf);

    conf = conf_of(url, NULL);
    refused(conf, EDXBUS_ERR_IO, errstr, sizeof errstr);
    ASSERT_CONTAINS(errstr, "EVENT_BUS_NATS_TLS_CA_FILE");
    edxbus_conf_destroy(conf);
    test_nats_stop(np);
}

TEST(test_tls_client_certificate)
{
    char config[2048], url[128], ca[300], cert[300], key[300], errstr[EDXBUS_ERRSTR_SIZE];
    snprintf(config, sizeof config,
             "tls { cert_file: \"%s/server.pem\", key_file: \"%s/server.key\", "
             "ca_file: \"%s/ca.pem\", verify: true, timeout: 5 }\n",
             certs, certs, certs);
    snprintf(ca, sizeof ca, "%s/ca.pem", certs);
    snprintf(cert, sizeof cert, "%s/client.pem", certs);
    snprintf(key, sizeof key, "%s/client.key", certs);
    struct test_nats *np;
    start(&np, 1, config);
    struct test_nats n = *np;
    snprintf(url, sizeof url, "tls://localhost:%d", n.port);
    edxbus_conf_t *conf = conf_of(url, "EVENT_BUS_NATS_TLS_CA_FILE", ca, NULL);
    refused(conf, EDXBUS_ERR_IO, errstr, sizeof errstr);
    edxbus_conf_destroy(conf);
    conf = conf_of(url, "EVENT_BUS_NATS_TLS_CA_FILE", ca, "EVENT_BUS_NATS_TLS_CERT_FILE", cert,
                   "EVENT_BUS_NATS_TLS_KEY_FILE", key, NULL);
    roundtrip(conf, "client-cert");
    edxbus_conf_destroy(conf);
    test_nats_stop(np);
}

TEST(test_user_password_and_nkey)
{
    char config[2048], url[200], errstr[EDXBUS_ERRSTR_SIZE];
    snprintf(config, sizeof config,
             "authorization { users: [ {user: alice, password: \"%s\"}, {nkey: %s} ] }\n",
             PASSWORD, public_key);
    struct test_nats *np;
    start(&np, 2, config);
    struct test_nats n = *np;
    snprintf(url, sizeof url, "nats://alice:%s@127.0.0.1:%d", PASSWORD, n.port);
    edxbus_conf_t *conf = conf_of(url, NULL);
    roundtrip(conf, "by-password");
    edxbus_conf_destroy(conf);
    snprintf(url, sizeof url, "nats://alice:%sx@127.0.0.1:%d", PASSWORD, n.port);
    conf = conf_of(url, NULL);
    refused(conf, EDXBUS_ERR_AUTH, errstr, sizeof errstr);
    ASSERT_CONTAINS(errstr, "alice");
    edxbus_conf_destroy(conf);
    conf = conf_of(n.url, NULL); /* nothing */
    refused(conf, EDXBUS_ERR_AUTH, errstr, sizeof errstr);
    edxbus_conf_destroy(conf);

    conf = conf_of(n.url, "EVENT_BUS_NATS_NKEY_SEED_FILE", seed_file, NULL);
    roundtrip(conf, "by-nkey");
    edxbus_conf_destroy(conf);
    conf = conf_of(n.url, "EVENT_BUS_NATS_NKEY_SEED_FILE", other_seed_file, NULL);
    refused(conf, EDXBUS_ERR_AUTH, errstr, sizeof errstr);
    edxbus_conf_destroy(conf);
    conf = conf_of(n.url, "EVENT_BUS_NATS_NKEY_SEED_FILE", no_seed_file, NULL);
    refused(conf, EDXBUS_ERR_CONF, errstr, sizeof errstr);
    ASSERT_CONTAINS(errstr, "EVENT_BUS_NATS_NKEY_SEED_FILE");
    ASSERT_CONTAINS(errstr, no_seed_file);
    edxbus_conf_destroy(conf);
    for (int i = 0; i < 2; i++) { /* a seed with a wrong checksum; an account's seed */
        conf = conf_of(n.url, "EVENT_BUS_NATS_NKEY_SEED_FILE", bad_seed_files[i], NULL);
        refused(conf, EDXBUS_ERR_CONF, errstr, sizeof errstr);
        ASSERT_CONTAINS(errstr, "no valid NKey user seed");
        edxbus_conf_destroy(conf);
    }
    test_nats_stop(np);
}

TEST(test_token)
{
    char config[512], url[200], errstr[EDXBUS_ERRSTR_SIZE];
    snprintf(config, sizeof config, "authorization { token: \"%s\" }\n", TOKEN);
    struct test_nats *np;
    start(&np, 3, config);
    struct test_nats n = *np;
    edxbus_conf_t *conf = conf_of(n.url, "EVENT_BUS_NATS_TOKEN", TOKEN, NULL);
    roundtrip(conf, "by-token");
    edxbus_conf_destroy(conf);
    snprintf(url, sizeof url, "nats://%s@127.0.0.1:%d", TOKEN, n.port);
    conf = conf_of(url, NULL);
    roundtrip(conf, "by-token-in-url");
    json_t *dump = edxbus_conf_dump(conf); /* what `edxbus config list` shows */
    char *shown = json_dumps(dump, 0);
    ASSERT_TRUE(shown != NULL && strstr(shown, TOKEN) == NULL);
    ASSERT_CONTAINS(shown, "nats://********@127.0.0.1");
    free(shown);
    json_decref(dump);
    edxbus_conf_destroy(conf);
    conf = conf_of(n.url, "EVENT_BUS_NATS_TOKEN", TOKEN "x", NULL);
    refused(conf, EDXBUS_ERR_AUTH, errstr, sizeof errstr);
    edxbus_conf_destroy(conf);
    snprintf(url, sizeof url, "nats://%sx@127.0.0.1:%d", TOKEN, n.port);
    conf = conf_of(url, NULL);
    refused(conf, EDXBUS_ERR_AUTH, errstr, sizeof errstr);
    edxbus_conf_destroy(conf);
    test_nats_stop(np);
}

/* Write @p text to @p dir/@p name; the path in @p path. */
static void write_file(char *path, size_t size, const char *name, const char *text)
{
    snprintf(path, size, "%s/%s", certs, name);
    FILE *f = fopen(path, "w");
    if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0)
        TEST_FAIL_("cannot write %s", path);
}

/* stderr into the file `captured` while the creds are used, and back (showing what it got, so
 * a failure's line is seen too: restore_stderr() also runs after the test). */
static char captured[300];
static int saved_stderr = -1;

static void capture_stderr(void)
{
    snprintf(captured, sizeof captured, "%s/stderr.txt", certs);
    fflush(stderr);
    int fd = open(captured, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    saved_stderr = fd >= 0 ? dup(2) : -1;
    if (saved_stderr < 0 || dup2(fd, 2) != 2)
        TEST_FAIL_("cannot send stderr to %s", captured);
    close(fd);
}

static void restore_stderr(void)
{
    if (saved_stderr < 0)
        return;
    fflush(stderr);
    dup2(saved_stderr, 2);
    close(saved_stderr);
    saved_stderr = -1;
    FILE *f = fopen(captured, "r");
    for (char line[1024]; f != NULL && fgets(line, sizeof line, f) != NULL;)
        fputs(line, stderr);
    if (f != NULL)
        fclose(f);
}

/* Whether a line of the file @p path holds @p text. */
static bool file_has(const char *path, const char *text)
{
    FILE *f = fopen(path, "r");
    bool found = false;
    for (char line[2048]; !found && f != NULL && fgets(line, sizeof line, f) != NULL;)
        found = strstr(line, text) != NULL;
    if (f != NULL)
        fclose(f);
    return found;
}

TEST(test_jwt_credentials_file)
{
    /* The trust chain: operator -> account (known to the server) -> user; the system account
     * JetStream needs in operator mode; and an account the server was never told about. */
    struct test_nkey op, acc, sys, stranger, user, other_user;
    ASSERT_TRUE(test_nkey_make(&op, TEST_NKEY_OPERATOR) &&
                test_nkey_make(&acc, TEST_NKEY_ACCOUNT) &&
                test_nkey_make(&sys, TEST_NKEY_ACCOUNT) &&
                test_nkey_make(&stranger, TEST_NKEY_ACCOUNT) &&
                test_nkey_make(&user, TEST_NKEY_USER) &&
                test_nkey_make(&other_user, TEST_NKEY_USER));
    ASSERT_TRUE(op.seed[0] == 'S' && op.seed[1] == 'O' && op.pub[0] == 'O');
    ASSERT_TRUE(acc.seed[1] == 'A' && acc.pub[0] == 'A' && user.seed[1] == 'U');
    ASSERT_TRUE(has_seed_shape(user.seed) && !has_seed_shape(user.pub)); /* the check can fail */
    char *op_jwt = test_jwt_operator(&op, "edxbus-test-operator");
    char *acc_jwt = test_jwt_account(&op, &acc, "edxbus-test-account", true);
    char *sys_jwt = test_jwt_account(&op, &sys, "SYS", false);
    char *user_jwt = test_jwt_user(&acc, &user, "edxbus-test-user");
    char *stranger_jwt = test_jwt_user(&stranger, &user, "edxbus-test-user");
    /* A forgery: claims "issued by acc" (iss = acc's public key), signed with the stranger's
     * key. */
    struct test_nkey liar = stranger;
    memcpy(liar.pub, acc.pub, sizeof liar.pub);
    char *forged_jwt = test_jwt_user(&liar, &user, "edxbus-test-user");
    ASSERT_TRUE(op_jwt && acc_jwt && sys_jwt && user_jwt && stranger_jwt && forged_jwt);

    char op_file[300], creds[300], stranger_creds[300], forged_creds[300], mismatch_creds[300];
    char no_jwt_creds[300], config[8192], errstr[EDXBUS_ERRSTR_SIZE];
    write_file(op_file, sizeof op_file, "operator.jwt", op_jwt);
    snprintf(creds, sizeof creds, "%s/user.creds", certs);
    snprintf(stranger_creds, sizeof stranger_creds, "%s/stranger.creds", certs);
    snprintf(forged_creds, sizeof forged_creds, "%s/forged.creds", certs);
    snprintf(mismatch_creds, sizeof mismatch_creds, "%s/mismatch.creds", certs);
    ASSERT_TRUE(test_jwt_write_creds(creds, user_jwt, &user) &&
                test_jwt_write_creds(stranger_creds, stranger_jwt, &user) &&
                test_jwt_write_creds(forged_creds, forged_jwt, &user) &&
                test_jwt_write_creds(mismatch_creds, user_jwt, &other_user));
    write_file(no_jwt_creds, sizeof no_jwt_creds, "no-jwt.creds", "not a credentials file\n");
    char jwt_only_creds[300], jwt_only[4096];
    snprintf(jwt_only, sizeof jwt_only, "-----BEGIN NATS USER JWT-----\n%s\n", user_jwt);
    write_file(jwt_only_creds, sizeof jwt_only_creds, "jwt-only.creds", jwt_only);
    /* debug: the reasons for refusals are read back from the server's log. */
    snprintf(config, sizeof config,
             "debug: true\noperator: \"%s\"\nsystem_account: %s\nresolver: MEMORY\n"
             "resolver_preload: {\n  %s: \"%s\"\n  %s: \"%s\"\n}\n",
             op_file, sys.pub, acc.pub, acc_jwt, sys.pub, sys_jwt);
    struct test_nats *np;
    start(&np, 4, config);
    struct test_nats n = *np;

    /* Everything the backend and libnats write to stderr while the creds are used goes to a
     * file, read back at the end for seeds. */
    capture_stderr();
    edxbus_conf_t *conf = conf_of(n.url, NULL); /* no credentials: refused */
    refused(conf, EDXBUS_ERR_AUTH, errstr, sizeof errstr);
    edxbus_conf_destroy(conf);

    conf = conf_of(n.url, "EVENT_BUS_NATS_CREDENTIALS_FILE", creds, NULL);
    roundtrip(conf, "by-creds"); /* JetStream works for the account: a stream made, read back */
    json_t *dump = edxbus_conf_dump(conf);
    char *shown = json_dumps(dump, 0);
    ASSERT_TRUE(shown != NULL && strstr(shown, user.seed) == NULL);
    ASSERT_CONTAINS(shown, creds);
    free(shown);
    json_decref(dump);
    edxbus_conf_destroy(conf);

    const char *wrong[] = {stranger_creds, forged_creds, mismatch_creds};
    for (size_t i = 0; i < sizeof wrong / sizeof *wrong; i++) {
        conf = conf_of(n.url, "EVENT_BUS_NATS_CREDENTIALS_FILE", wrong[i], NULL);
        refused(conf, EDXBUS_ERR_AUTH, errstr, sizeof errstr);
        ASSERT_CONTAINS(errstr, "EVENT_BUS_NATS_CREDENTIALS_FILE");
        ASSERT_CONTAINS(errstr, wrong[i]);
        ASSERT_TRUE(strstr(errstr, user.seed) == NULL && strstr(errstr, other_user.seed) == NULL);
        edxbus_conf_destroy(conf);
    }
    /* Not a creds file: text; a JWT with no seed (an .nk seed file given here by mistake
     * holds the reverse). */
    const char *not_creds[] = {no_jwt_creds, jwt_only_creds, seed_file};
    const char *why[] = {"neither a user JWT nor", "no valid NKey user seed", "no user JWT"};
    for (size_t i = 0; i < sizeof not_creds / sizeof *not_creds; i++) {
        conf = conf_of(n.url, "EVENT_BUS_NATS_CREDENTIALS_FILE", not_creds[i], NULL);
        refused(conf, EDXBUS_ERR_CONF, errstr, sizeof errstr);
        ASSERT_CONTAINS(errstr, "EVENT_BUS_NATS_CREDENTIALS_FILE");
        ASSERT_CONTAINS(errstr, not_creds[i]);
        ASSERT_CONTAINS(errstr, why[i]);
        edxbus_conf_destroy(conf);
    }

    restore_stderr();
    /* Each refusal for its own reason, in the server's words (its log at debug level): the
     * user accepted, the unknown account, the forged signature, the seed not the user's. */
    char log[300];
    snprintf(log, sizeof log, "%s/nats.log", n.dir);
    const char *reasons[] = {"Authenticated JWT: Client \"", "Account JWT lookup error",
                             "claim failed V2 signature verification", "Signature not verified"};
    for (size_t i = 0; i < sizeof reasons / sizeof *reasons; i++)
        if (!file_has(log, reasons[i]))
            TEST_FAIL_("the server's log %s has no line with \"%s\"", log, reasons[i]);
    FILE *f = fopen(captured, "r");
    ASSERT_TRUE(f != NULL);
    char line[1024];
    int lines = 0;
    while (fgets(line, sizeof line, f) != NULL) {
        lines++;
        ASSERT_TRUE(strstr(line, user.seed) == NULL && strstr(line, other_user.seed) == NULL);
        ASSERT_TRUE(!has_seed_shape(line));
    }
    fclose(f);
    ASSERT_TRUE(lines >= 7); /* the refusals were written there: the check looked at them */

    free(op_jwt);
    free(acc_jwt);
    free(sys_jwt);
    free(user_jwt);
    free(stranger_jwt);
    free(forged_jwt);
    test_nkey_free(&op);
    test_nkey_free(&acc);
    test_nkey_free(&sys);
    test_nkey_free(&stranger);
    test_nkey_free(&user);
    test_nkey_free(&other_user);
    test_nats_stop(np);
}

/* An NKey user: a random Ed25519 seed written as the seed file nk writes. */
static bool make_nkey(const char *path, char *text, char *pub)
{
    uint8_t seed[32];
    if (RAND_bytes(seed, sizeof seed) != 1)
        return false;
    edxbus__nats_nkey_seed_text(seed, text);
    FILE *f = fopen(path, "w");
    bool ok = f != NULL && fprintf(f, "%s\n", text) > 0;
    if (f != NULL)
        ok = fclose(f) == 0 && ok;
    return ok && (pub == NULL || edxbus__nats_nkey_public_of_seed(text, pub));
}

int main(void)
{
    test_nats_require("integration/nats/test_nats_auth");
    snprintf(certs, sizeof certs, "/tmp/edxbus-nats-certs-XXXXXX");
    if (mkdtemp(certs) == NULL || !test_tls_make_certs(certs))
        return 1;
    snprintf(seed_file, sizeof seed_file, "%s/user.nk", certs);
    snprintf(other_seed_file, sizeof other_seed_file, "%s/other.nk", certs);
    snprintf(no_seed_file, sizeof no_seed_file, "%s/none.nk", certs);
    /* Hostile seed files: the user seed with a character changed (checksum), and an
     * account seed ("SA…": the right form, not a user's). */
    char bad[2][EDXBUS_NATS_NKEY_SEED_MAX];
    FILE *f = fopen(no_seed_file, "w");
    if (f == NULL || fputs("not a seed\n", f) < 0 || fclose(f) != 0 ||
        !make_nkey(seed_file, seed_text, public_key) ||
        !make_nkey(other_seed_file, other_seed_text, NULL)) {
        fprintf(stderr, "cannot write the test's key files in %s\n", certs);
        return 1;
    }
    snprintf(bad[0], sizeof bad[0], "%s", seed_text);
    bad[0][30] = bad[0][30] == 'A' ? 'B' : 'A';
    snprintf(bad[1], sizeof bad[1], "%s", seed_text);
    bad[1][1] = 'A'; /* the prefix bits of "user" become those of "account" */
    for (int i = 0; i < 2; i++) {
        snprintf(bad_seed_files[i], sizeof bad_seed_files[i], "%s/bad%d.nk", certs, i);
        f = fopen(bad_seed_files[i], "w");
        if (f == NULL || fprintf(f, "%s\n", bad[i]) < 0 || fclose(f) != 0)
            return 1;
    }
    RUN(test_tls_with_a_ca_file);
    RUN(test_tls_client_certificate);
    RUN(test_user_password_and_nkey);
    RUN(test_token);
    RUN(test_jwt_credentials_file);
    restore_stderr();
    for (int i = 0; i < 5; i++)
        test_nats_stop(&servers[i]);
    test_proc_rm_tree(certs);
    return test_report();
}
