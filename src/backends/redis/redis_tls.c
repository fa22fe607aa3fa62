/* src/backends/redis/redis_tls.c — what TLS a rediss:// connection uses, checked, as an
 * OpenSSL client context.
 *
 * Two sources, the URL first (so that a redis-py URL pastes unchanged):
 *   URL query (redis-py)   setting                          meaning
 *   ssl_ca_certs=FILE      EVENT_BUS_REDIS_TLS_CA_FILE      CAs that sign the server's cert
 *   ssl_ca_path=DIR        -                                a hashed directory of CAs
 *   ssl_certfile=FILE      EVENT_BUS_REDIS_TLS_CERT_FILE    client certificate (PEM; may hold
 *                                                           the key too, as in Python)
 *   ssl_keyfile=FILE       EVENT_BUS_REDIS_TLS_KEY_FILE     its private key
 *   ssl_password=SECRET    -                                the key's pass phrase
 *   ssl_cert_reqs=…        EVENT_BUS_REDIS_TLS_VERIFY       required/optional (true): verify;
 *                                                           none (false): do not
 *   ssl_check_hostname=…   -                                check the host name (default: on)
 * Without a CA the system's store is used. Verification is on by default, host name included
 * (redis-py before 6 checks no host name by default; a certificate for another host is exactly
 * what verification is for). A client, like Python's ssl module, treats "optional" as
 * "required". Turning verification off works, with a loud warning at connect (redis.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "edxbus/backend_util.h"
#include "redis_int.h"

/* A file named by @p what that must be readable: reports why not, with the fix. */
static int check_file(const char *path, const char *what, const char *fix,
                      edxbus_problem_fn problem, void *opaque)
{
    if (path == NULL)
        return 0;
    /* Non-blocking: a FIFO named by mistake must not hang a config check. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd >= 0) {
        close(fd);
        return 0;
    }
    char buf[512];
    edxbus_problemf(problem, opaque, "%s: cannot read \"%s\" (%s); %s", what,
                    edxbus__redis_printable(path, buf, sizeof buf), strerror(errno), fix);
    return 1;
}

/* The URL's parameter (@p url_value, named @p url_name) when given: it wins; else the setting
 * @p name. */
static void pick(const char **value, const char **from, const char *url_value, const char *url_name,
                 const char *setting_value, const char *name)
{
    *value = url_value ? url_value : setting_value;
    *from = url_value ? url_name : name;
}

int edxbus__redis_tls_opts(const edxbus_conf_t *conf, const struct redis_url *url,
                           struct redis_tls_opts *opts, edxbus_problem_fn problem, void *opaque)
{
    memset(opts, 0, sizeof *opts);
    const char *ca = edxbus_conf_get_str(conf, REDIS_SETTING_TLS_CA_FILE, NULL);
    const char *cert = edxbus_conf_get_str(conf, REDIS_SETTING_TLS_CERT_FILE, NULL);
    const char *key = edxbus_conf_get_str(conf, REDIS_SETTING_TLS_KEY_FILE, NULL);
    bool verify = edxbus_conf_get_bool(conf, REDIS_SETTING_TLS_VERIFY, true);
    int n = 0;
    if (!url->tls) {
        /* TLS settings on a plain URL: the operator meant TLS and would not get it. */
        const char *set = ca     ? REDIS_SETTING_TLS_CA_FILE
                          : cert ? REDIS_SETTING_TLS_CERT_FILE
                          : key  ? REDIS_SETTING_TLS_KEY_FILE
                                 : NULL;
        if (set != NULL) {
            edxbus_problemf(problem, opaque,
                            "%s is set but %s (%s) does not use TLS: write rediss:// for TLS, "
                            "or unset %s",
                            set, REDIS_SETTING_URL, url->display, set);
            n++;
        }
        return n;
    }
    pick(&opts->ca_file, &opts->ca_from, url->ssl_ca_certs, REDIS_SETTING_URL " ssl_ca_certs", ca,
         REDIS_SETTING_TLS_CA_FILE);
    pick(&opts->cert_file, &opts->cert_from, url->ssl_certfile, REDIS_SETTING_URL " ssl_certfile",
         cert, REDIS_SETTING_TLS_CERT_FILE);
    pick(&opts->key_file, &opts->key_from, url->ssl_keyfile, REDIS_SETTING_URL " ssl_keyfile", key,
         REDIS_SETTING_TLS_KEY_FILE);
    opts->ca_path = url->ssl_ca_path;
    if (opts->ca_file == NULL && opts->ca_path != NULL)
        opts->ca_from = REDIS_SETTING_URL " ssl_ca_path";
    opts->key_password = url->ssl_password;
    opts->verify = verify;
    opts->verify_off_by = verify ? NULL : REDIS_SETTING_TLS_VERIFY "=false";
    if (url->ssl_cert_reqs != NULL) {
        opts->verify = strcasecmp(url->ssl_cert_reqs, "none") != 0;
        opts->verify_off_by = opts->verify ? NULL : "ssl_cert_reqs=none in the URL";
    }
    opts->check_hostname = url->ssl_check_hostname != 0;

    n += check_file(opts->ca_file, opts->ca_from,
                    "give the PEM file of the CA that signed the server's certificate", problem,
                    opaque);
    n += check_file(opts->cert_file, opts->cert_from,
                    "give the PEM file of this client's certificate", problem, opaque);
    n += check_file(opts->key_file, opts->key_from, "give the PEM file of the certificate's key",
                    problem, opaque);
    char buf[512];
    if (opts->ca_path != NULL && access(opts->ca_path, R_OK | X_OK) != 0) {
        edxbus_problemf(problem, opaque,
                        "%s ssl_ca_path: cannot read the directory \"%s\" (%s); give a "
                        "directory of CA certificates (c_rehash)",
                        REDIS_SETTING_URL, edxbus__redis_printable(opts->ca_path, buf, sizeof buf),
                        strerror(errno));
        n++;
    }
    if (opts->key_file != NULL && opts->cert_file == NULL) {
        edxbus_problemf(problem, opaque,
                        "%s is given without a client certificate: set %s (or ssl_certfile= in "
                        "the URL) too",
                        opts->key_from, REDIS_SETTING_TLS_CERT_FILE);
        n++;
    }
    return n;
}

/* "what: why" from the OpenSSL error queue, in the words of a setting; clears the queue. */
static void file_error(const char *what, const char *path, const char *holds, char *errstr,
                       size_t errstr_size)
{
    unsigned long e = ERR_peek_last_error();
    const char *reason = e ? ERR_reason_error_string(e) : NULL;
    char buf[512];
    edxbus_errf(errstr, errstr_size, "%s: \"%s\" does not hold %s%s%s%s", what,
                edxbus__redis_printable(path, buf, sizeof buf), holds, reason ? " (" : "",
                reason ? reason : "", reason ? ")" : "");
    ERR_clear_error();
}

SSL_CTX *edxbus__redis_tls_ctx(const struct redis_tls_opts *opts, char *errstr, size_t errstr_size)
{
    ERR_clear_error();
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == NULL) {
        edxbus_errf(errstr, errstr_size, "redis TLS: out of memory");
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    if (opts->verify) {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
        int ok = opts->ca_file || opts->ca_path
                     ? SSL_CTX_load_verify_locations(ctx, opts->ca_file, opts->ca_path)
                     : SSL_CTX_set_default_verify_paths(ctx);
        if (ok != 1) {
            file_error(opts->ca_from,
                       opts->ca_file   ? opts->ca_file
                       : opts->ca_path ? opts->ca_path
                                       : "the system's store",
                       "CA certificates in PEM form", errstr, errstr_size);
            SSL_CTX_free(ctx);
            return NULL;
        }
    } else {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    }
    if (opts->cert_file != NULL) {
        const char *key = opts->key_file ? opts->key_file : opts->cert_file;
        if (opts->key_password != NULL) /* the default callback reads it from here */
            SSL_CTX_set_default_passwd_cb_userdata(ctx, (void *)opts->key_password);
        if (SSL_CTX_use_certificate_chain_file(ctx, opts->cert_file) != 1) {
            file_error(opts->cert_from, opts->cert_file, "a client certificate in PEM form", errstr,
                       errstr_size);
            SSL_CTX_free(ctx);
            return NULL;
        }
        int key_ok = SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM);
        bool mismatch =
            key_ok != 1 && ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH;
        if (key_ok != 1 && !mismatch) {
            file_error(opts->key_file ? opts->key_from : opts->cert_from, key,
                       opts->key_password ? "a private key in PEM form for that ssl_password"
                                          : "an unencrypted private key in PEM form",
                       errstr, errstr_size);
            SSL_CTX_free(ctx);
            return NULL;
        }
        if (mismatch || SSL_CTX_check_private_key(ctx) != 1) {
            char buf[2][512];
            ERR_clear_error();
            edxbus_errf(errstr, errstr_size,
                        "%s: the key in \"%s\" does not belong to the certificate in \"%s\"",
                        opts->key_file ? opts->key_from : opts->cert_from,
                        edxbus__redis_printable(key, buf[0], sizeof buf[0]),
                        edxbus__redis_printable(opts->cert_file, buf[1], sizeof buf[1]));
            SSL_CTX_free(ctx);
            return NULL;
        }
        SSL_CTX_set_default_passwd_cb_userdata(ctx, NULL);
    }
    return ctx;
}
