/* src/backends/redis/redis_io.c — one connection's transport: our socket, TLS, hiredis's reader.
 *
 * Debian 12's hiredis (0.14) has no TLS, and its context writes with write() (SIGPIPE on a
 * closed socket), so the backend owns the socket and keeps hiredis for what it does well: the
 * reply reader (redisReaderFeed / redisReaderGetReply); commands are RESP written by
 * redis_wire.c (edxbus__redis_resp_write). One path serves every URL:
 *
 *   plain (redis://, unix://)   commands -> send(MSG_NOSIGNAL) -> socket -> recv -> reader
 *   TLS (rediss://)             commands -> SSL_write -> wbio -> send -> socket
 *                               socket -> recv -> rbio -> SSL_read -> reader
 *
 * The TLS session sits on two memory BIOs, so OpenSSL never touches the socket: every wait is
 * the plain socket's wait (SO_RCVTIMEO / SO_SNDTIMEO for the blocking calls, MSG_DONTWAIT for
 * the producer's non-blocking pump, poll() on the one fd), a frozen server times out over TLS
 * exactly as over TCP, and SSL_write never asks to be repeated (a memory BIO takes everything).
 * Ciphertext SSL_write produced and the socket did not take yet waits in io->out and is sent
 * before anything else (edxbus__redis_io_pending_out() tells the producer to poll for POLLOUT).
 *
 * The socket is blocking: a blocking call is one recv() or send() bounded by the socket
 * timeouts, as hiredis's own context did, so the plain path costs what it cost before.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "redis_int.h"

#define READ_CHUNK (16 * 1024)  /* bytes per recv(), as hiredis reads */
#define TLS_OUT_MAX (64 * 1024) /* ciphertext the producer may have waiting for the socket */
#define KEEPALIVE_IDLE_S 15     /* TCP keep-alive as hiredis's redisEnableKeepAlive() */
/* The reader's buffer is kept between replies up to this size (hiredis: 16 KiB, then freed
 * each time it empties). A consumer's batch reply (100 entries, ~100 KiB) regrew it from
 * nothing every poll, and each large malloc then consolidated the previous reply's thousands
 * of freed small objects: 2,700 instructions an event of consume --print (callgrind). */
#define READER_BUF_KEEP (1024 * 1024)

/* ------------------------------------------------------------------------------------------ */
/* The socket */

static void set_timeout(int fd, int ms)
{
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

void edxbus__redis_io_set_timeout(struct redis_io *io, int ms)
{
    if (io->fd >= 0 && ms != io->timeout_ms) {
        set_timeout(io->fd, ms);
        io->timeout_ms = ms;
    }
}

/* Wait for @p events on @p fd until @p deadline_ms (monotonic). 1: ready, 0: timed out. */
static int wait_fd(int fd, short events, int64_t deadline_ms)
{
    for (;;) {
        int64_t left = deadline_ms - edxbus_clock_mono_ms();
        if (left <= 0)
            return 0;
        struct pollfd pfd = {.fd = fd, .events = events};
        int n = poll(&pfd, 1, left > 60000 ? 60000 : (int)left);
        if (n > 0)
            return 1;
        if (n < 0 && errno != EINTR)
            return 1; /* let the next call report the error */
    }
}

/* A connected non-blocking socket to @p addr, or -1 with @p why set. */
static int connect_addr(const struct sockaddr *addr, socklen_t len, int family, int64_t deadline_ms,
                        char *why, size_t why_size)
{
    int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        snprintf(why, why_size, "%s", strerror(errno));
        return -1;
    }
    if (connect(fd, addr, len) != 0) {
        if (errno != EINPROGRESS && errno != EAGAIN) {
            snprintf(why, why_size, "%s", strerror(errno));
            close(fd);
            return -1;
        }
        if (!wait_fd(fd, POLLOUT, deadline_ms)) {
            snprintf(why, why_size, "connect timed out");
            close(fd);
            return -1;
        }
        int soerr = 0;
        socklen_t sl = sizeof soerr;
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0)
            soerr = errno;
        if (soerr != 0) {
            snprintf(why, why_size, "%s", strerror(soerr));
            close(fd);
            return -1;
        }
    }
    return fd;
}

static int connect_unix(const char *path, int64_t deadline_ms, char *why, size_t why_size)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa.sun_path) {
        snprintf(why, why_size, "socket path too long");
        return -1;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    return connect_addr((const struct sockaddr *)&sa, sizeof sa, AF_UNIX, deadline_ms, why,
                        why_size);
}

static int connect_tcp(const char *host, int port, int64_t deadline_ms, char *why, size_t why_size)
{
    char service[16];
    snprintf(service, sizeof service, "%d", port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *list = NULL;
    int rc = getaddrinfo(host, service, &hints, &list);
    if (rc != 0) {
        snprintf(why, why_size, "cannot resolve \"%s\": %s", host,
                 rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
        return -1;
    }
    int fd = -1;
    for (struct addrinfo *ai = list; ai != NULL && fd < 0; ai = ai->ai_next)
        fd = connect_addr(ai->ai_addr, ai->ai_addrlen, ai->ai_family, deadline_ms, why, why_size);
    freeaddrinfo(list);
    if (fd < 0)
        return -1;
    int on = 1, idle = KEEPALIVE_IDLE_S, intvl = KEEPALIVE_IDLE_S / 3, cnt = 3;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof intvl);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof cnt);
    return fd;
}

/* Why the server hung up (errno @p e; 0: an orderly close). In TLS 1.3 a server that refuses
 * the client's certificate (or its lack) says so after our handshake is done, and its alert is
 * lost when our first command makes its kernel reset the connection: a server that asked for a
 * certificate and hangs up before its first reply has refused it. Returns the class. */
static edxbus_err_t hung_up(const struct redis_io *io, int e, char *why, size_t why_size)
{
    if (io->ssl != NULL && io->fresh && io->cert_requested) {
        if (SSL_get_certificate(io->ssl) == NULL)
            snprintf(why, why_size,
                     "the server requires a client certificate: set %s and %s (or ssl_certfile "
                     "and ssl_keyfile)",
                     REDIS_SETTING_TLS_CERT_FILE, REDIS_SETTING_TLS_KEY_FILE);
        else
            snprintf(why, why_size,
                     "the server refused our client certificate (it hung up after the "
                     "handshake): set %s and %s to one signed by a CA the server trusts",
                     REDIS_SETTING_TLS_CERT_FILE, REDIS_SETTING_TLS_KEY_FILE);
        return EDXBUS_ERR_AUTH;
    }
    if (e == 0)
        snprintf(why, why_size, "the server closed the connection");
    else
        snprintf(why, why_size, "%s", strerror(e));
    return EDXBUS_ERR_IO;
}

/* send() what it takes of [data, data+len); 0 when it would block (@p wait false) or timed out
 * (@p wait true: *@p timeout set), -1 on error, -2 when the server refused our certificate
 * (@p why set). */
static ssize_t sock_send(struct redis_io *io, const void *data, size_t len, bool wait,
                         bool *timeout, char *why, size_t why_size)
{
    for (;;) {
        ssize_t n = send(io->fd, data, len, MSG_NOSIGNAL | (wait ? 0 : MSG_DONTWAIT));
        if (n >= 0)
            return n;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            *timeout = wait;
            return 0;
        }
        if (errno == ECONNRESET || errno == EPIPE)
            return hung_up(io, errno, why, why_size) == EDXBUS_ERR_AUTH ? -2 : -1;
        snprintf(why, why_size, "%s", strerror(errno));
        return -1;
    }
}

/* ------------------------------------------------------------------------------------------ */
/* TLS errors, in our words */

/* Why the TLS session failed, from the verification result and OpenSSL's error queue (which
 * is cleared). Returns the class: EDXBUS_ERR_AUTH when retrying cannot help. */
static edxbus_err_t tls_failure(SSL *ssl, char *why, size_t why_size)
{
    long v = SSL_get_verify_result(ssl);
    unsigned long e = ERR_peek_last_error();
    int reason = ERR_GET_LIB(e) == ERR_LIB_SSL ? ERR_GET_REASON(e) : 0;
    edxbus_err_t err = EDXBUS_ERR_AUTH;
    if (v != X509_V_OK && reason == SSL_R_CERTIFICATE_VERIFY_FAILED) {
        switch (v) {
        case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
        case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
        case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
        case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
        case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
        case X509_V_ERR_CERT_UNTRUSTED:
            snprintf(why, why_size,
                     "certificate not trusted: set %s (or ssl_ca_certs) to the CA that signed "
                     "it (%s)",
                     REDIS_SETTING_TLS_CA_FILE, X509_verify_cert_error_string(v));
            break;
        case X509_V_ERR_HOSTNAME_MISMATCH:
        case X509_V_ERR_IP_ADDRESS_MISMATCH:
            snprintf(why, why_size,
                     "the certificate is for another host name: connect with a name it lists, "
                     "or set ssl_check_hostname=false in the URL");
            break;
        case X509_V_ERR_CERT_HAS_EXPIRED:
        case X509_V_ERR_CERT_NOT_YET_VALID:
            snprintf(why, why_size,
                     "the server's certificate is not valid now (%s): renew it, or check this "
                     "machine's clock",
                     X509_verify_cert_error_string(v));
            break;
        default:
            snprintf(why, why_size, "the server's certificate was refused: %s",
                     X509_verify_cert_error_string(v));
        }
    } else if (reason == SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED ||
               reason == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE) {
        snprintf(why, why_size,
                 "the server requires a client certificate: set %s and %s (or ssl_certfile "
                 "and ssl_keyfile)",
                 REDIS_SETTING_TLS_CERT_FILE, REDIS_SETTING_TLS_KEY_FILE);
    } else if (reason == SSL_R_TLSV1_ALERT_UNKNOWN_CA ||
               reason == SSL_R_SSLV3_ALERT_BAD_CERTIFICATE ||
               reason == SSL_R_TLSV1_ALERT_ACCESS_DENIED ||
               /* a server that checked our certificate against a CA of the same name */
               (reason == SSL_R_TLSV1_ALERT_DECRYPT_ERROR && SSL_get_certificate(ssl) != NULL) ||
               reason == SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN ||
               reason == SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE) {
        snprintf(why, why_size,
                 "the server refused our client certificate: set %s and %s to one signed by a "
                 "CA the server trusts (%s)",
                 REDIS_SETTING_TLS_CERT_FILE, REDIS_SETTING_TLS_KEY_FILE,
                 ERR_reason_error_string(e));
    } else if (reason == SSL_R_WRONG_VERSION_NUMBER || reason == SSL_R_PACKET_LENGTH_TOO_LONG ||
               reason == SSL_R_RECORD_LENGTH_MISMATCH) {
        snprintf(why, why_size,
                 "the server does not speak TLS on this port: use its TLS port, or redis:// "
                 "for a plain one");
    } else {
        const char *text = e != 0 ? ERR_reason_error_string(e) : NULL;
        snprintf(why, why_size, "TLS failed: %s", text ? text : "connection closed");
        err = EDXBUS_ERR_IO;
    }
    ERR_clear_error();
    return err;
}

/* ------------------------------------------------------------------------------------------ */
/* TLS ciphertext to and from the socket */

size_t edxbus__redis_io_pending_out(const struct redis_io *io)
{
    return io->ssl ? io->out_len - io->out_off + BIO_ctrl_pending(io->wbio) : 0;
}

/* Send the ciphertext waiting; @p wait: until it is all sent (each wait bounded by the
 * timeout; EDXBUS_ERR_TIMEOUT), else what the socket takes now. */
static edxbus_err_t flush_out(struct redis_io *io, bool wait, char *why, size_t why_size)
{
    for (;;) {
        if (io->out_off == io->out_len) {
            int n = BIO_read(io->wbio, io->out, READ_CHUNK);
            io->out_off = 0;
            io->out_len = n > 0 ? (size_t)n : 0;
            if (n <= 0)
                return EDXBUS_OK;
        }
        bool timeout = false;
        ssize_t n = sock_send(io, io->out + io->out_off, io->out_len - io->out_off, wait, &timeout,
                              why, why_size);
        if (n < 0)
            return n == -2 ? EDXBUS_ERR_AUTH : EDXBUS_ERR_IO;
        if (timeout) {
            snprintf(why, why_size, "did not take the data within %d ms", io->timeout_ms);
            return EDXBUS_ERR_TIMEOUT;
        }
        if (n == 0)
            return EDXBUS_OK; /* would block */
        io->out_off += (size_t)n;
    }
}

/* Encrypt [data, data+len) into wbio (a memory BIO takes it all). */
static edxbus_err_t tls_put(struct redis_io *io, const char *data, size_t len, char *why,
                            size_t why_size)
{
    while (len > 0) {
        ERR_clear_error();
        int chunk = len > INT32_MAX ? INT32_MAX : (int)len;
        int n = SSL_write(io->ssl, data, chunk);
        if (n <= 0)
            return tls_failure(io->ssl, why, why_size) == EDXBUS_ERR_AUTH ? EDXBUS_ERR_AUTH
                                                                          : EDXBUS_ERR_IO;
        data += n;
        len -= (size_t)n;
    }
    return EDXBUS_OK;
}

/* Decrypt what rbio holds into the reader. *@p got: some reply bytes came. */
static edxbus_err_t tls_drain(struct redis_io *io, bool *got, char *why, size_t why_size)
{
    char buf[READ_CHUNK];
    for (;;) {
        ERR_clear_error();
        int n = SSL_read(io->ssl, buf, sizeof buf);
        if (n > 0) {
            if (redisReaderFeed(io->reader, buf, (size_t)n) != REDIS_OK) {
                snprintf(why, why_size, "out of memory reading a reply");
                return EDXBUS_ERR_NOMEM;
            }
            *got = true;
            continue;
        }
        int e = SSL_get_error(io->ssl, n);
        if (e == SSL_ERROR_WANT_READ) {
            /* All consumed; send what the session may want to say (a key update). */
            return BIO_ctrl_pending(io->wbio) ? flush_out(io, false, why, why_size) : EDXBUS_OK;
        }
        if (e == SSL_ERROR_ZERO_RETURN) {
            snprintf(why, why_size, "the server closed the TLS session");
            return EDXBUS_ERR_IO;
        }
        edxbus_err_t err = tls_failure(io->ssl, why, why_size);
        return err == EDXBUS_ERR_AUTH ? err : EDXBUS_ERR_IO;
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Reading and writing */

edxbus_err_t edxbus__redis_io_read(struct redis_io *io, bool wait, char *why, size_t why_size)
{
    char buf[READ_CHUNK];
    for (;;) {
        ssize_t n = recv(io->fd, buf, sizeof buf, wait ? 0 : MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!wait)
                return EDXBUS_OK;
            snprintf(why, why_size, "did not answer within %d ms", io->timeout_ms);
            return EDXBUS_ERR_TIMEOUT;
        }
        if (n < 0 && errno != ECONNRESET) {
            snprintf(why, why_size, "%s", strerror(errno));
            return EDXBUS_ERR_IO;
        }
        if (n <= 0)
            return hung_up(io, n < 0 ? errno : 0, why, why_size);
        if (io->ssl == NULL) {
            if (redisReaderFeed(io->reader, buf, (size_t)n) != REDIS_OK) {
                snprintf(why, why_size, "out of memory reading a reply");
                return EDXBUS_ERR_NOMEM;
            }
            return EDXBUS_OK;
        }
        if (BIO_write(io->rbio, buf, (int)n) != (int)n) {
            snprintf(why, why_size, "out of memory reading a reply");
            return EDXBUS_ERR_NOMEM;
        }
        bool got = false;
        edxbus_err_t err = tls_drain(io, &got, why, why_size);
        /* Only part of a record, or a record without reply bytes (a session ticket): a
         * waiting read goes on waiting. */
        if (err != EDXBUS_OK || got || !wait)
            return err;
    }
}

edxbus_err_t edxbus__redis_io_get_reply(struct redis_io *io, redisReply **reply, char *why,
                                        size_t why_size)
{
    void *r = NULL;
    *reply = NULL;
    if (redisReaderGetReply(io->reader, &r) != REDIS_OK) {
        snprintf(why, why_size, "not a Redis reply: %s", io->reader->errstr);
        return EDXBUS_ERR_IO;
    }
    *reply = r;
    if (r != NULL)
        io->fresh = false;
    return EDXBUS_OK;
}

edxbus_err_t edxbus__redis_io_read_reply(struct redis_io *io, redisReply **reply, char *why,
                                         size_t why_size)
{
    for (;;) {
        edxbus_err_t err = edxbus__redis_io_get_reply(io, reply, why, why_size);
        if (err != EDXBUS_OK || *reply != NULL)
            return err;
        err = edxbus__redis_io_read(io, true, why, why_size);
        if (err != EDXBUS_OK)
            return err;
    }
}

edxbus_err_t edxbus__redis_io_write(struct redis_io *io, const char *data, size_t len, char *why,
                                    size_t why_size)
{
    if (io->ssl != NULL) {
        edxbus_err_t err = tls_put(io, data, len, why, why_size);
        return err != EDXBUS_OK ? err : flush_out(io, true, why, why_size);
    }
    while (len > 0) {
        bool timeout = false;
        ssize_t n = sock_send(io, data, len, true, &timeout, why, why_size);
        if (n < 0)
            return n == -2 ? EDXBUS_ERR_AUTH : EDXBUS_ERR_IO;
        if (timeout) {
            snprintf(why, why_size, "did not take the command within %d ms", io->timeout_ms);
            return EDXBUS_ERR_TIMEOUT;
        }
        data += n;
        len -= (size_t)n;
    }
    return EDXBUS_OK;
}

edxbus_err_t edxbus__redis_io_writev(struct redis_io *io, const struct iovec *iov, int n,
                                     size_t *taken, char *why, size_t why_size)
{
    *taken = 0;
    if (io->ssl == NULL) {
        if (n == 0)
            return EDXBUS_OK;
        struct msghdr mh = {.msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)n};
        for (;;) {
            ssize_t sent = sendmsg(io->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (sent < 0 && errno == EINTR)
                continue;
            if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                return EDXBUS_OK;
            if (sent < 0) {
                snprintf(why, why_size, "%s", strerror(errno));
                return EDXBUS_ERR_IO;
            }
            *taken = (size_t)sent;
            return EDXBUS_OK;
        }
    }
    edxbus_err_t err = flush_out(io, false, why, why_size);
    /* Coalesce small commands into records of up to READ_CHUNK bytes. */
    char buf[READ_CHUNK];
    size_t used = 0;
    for (int i = 0; err == EDXBUS_OK && i < n; i++) {
        const char *p = iov[i].iov_base;
        size_t left = iov[i].iov_len;
        while (err == EDXBUS_OK && left > 0) {
            if (edxbus__redis_io_pending_out(io) + *taken + used >= TLS_OUT_MAX)
                break;
            size_t k = left < sizeof buf - used ? left : sizeof buf - used;
            memcpy(buf + used, p, k);
            used += k;
            p += k;
            left -= k;
            if (used == sizeof buf) {
                err = tls_put(io, buf, used, why, why_size);
                *taken += used;
                used = 0;
            }
        }
        if (left > 0)
            break;
    }
    if (err == EDXBUS_OK && used > 0) {
        err = tls_put(io, buf, used, why, why_size);
        *taken += used;
    }
    if (err == EDXBUS_OK)
        err = flush_out(io, false, why, why_size);
    return err == EDXBUS_ERR_AUTH ? EDXBUS_ERR_IO : err;
}

bool edxbus__redis_io_idle_closed(struct redis_io *io)
{
    if (io->fd < 0)
        return false;
    struct pollfd pfd = {.fd = io->fd, .events = POLLIN};
    if (poll(&pfd, 1, 0) <= 0)
        return false;
    char why[EDXBUS_ERRSTR_SIZE];
    if (edxbus__redis_io_read(io, false, why, sizeof why) != EDXBUS_OK)
        return true;
    return io->reader->len > io->reader->pos; /* something unasked */
}

/* ------------------------------------------------------------------------------------------ */
/* Connecting */

/* Called by OpenSSL when the server asks for a client certificate. */
static int note_cert_request(SSL *ssl, void *arg)
{
    ((struct redis_io *)arg)->cert_requested = true;
    return 1;
}

/* The TLS handshake on the connected socket, within @p deadline_ms. */
static edxbus_err_t handshake(struct redis_io *io, const struct redis_url *url, SSL_CTX *tls,
                              const struct redis_tls_opts *opts, int64_t deadline_ms, char *why,
                              size_t why_size)
{
    io->ssl = SSL_new(tls);
    io->rbio = BIO_new(BIO_s_mem());
    io->wbio = BIO_new(BIO_s_mem());
    io->out = malloc(READ_CHUNK);
    if (io->ssl == NULL || io->rbio == NULL || io->wbio == NULL || io->out == NULL) {
        BIO_free(io->rbio);
        BIO_free(io->wbio);
        io->rbio = io->wbio = NULL;
        snprintf(why, why_size, "out of memory starting TLS");
        return EDXBUS_ERR_NOMEM;
    }
    SSL_set_bio(io->ssl, io->rbio, io->wbio); /* the session owns both from here */
    SSL_set_connect_state(io->ssl);
    SSL_set_cert_cb(io->ssl, note_cert_request, io);
    io->fresh = true;
    unsigned char ip[sizeof(struct in6_addr)];
    bool is_ip = inet_pton(AF_INET, url->host, ip) == 1 || inet_pton(AF_INET6, url->host, ip) == 1;
    if (!is_ip)
        SSL_set_tlsext_host_name(io->ssl, url->host); /* SNI: never for an address */
    if (opts->verify && opts->check_hostname) {
        X509_VERIFY_PARAM *param = SSL_get0_param(io->ssl);
        X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        int ok = is_ip ? X509_VERIFY_PARAM_set1_ip_asc(param, url->host)
                       : X509_VERIFY_PARAM_set1_host(param, url->host, 0);
        if (!ok) {
            snprintf(why, why_size, "cannot check the host name \"%s\"", url->host);
            return EDXBUS_ERR_NOMEM;
        }
    }
    for (;;) {
        ERR_clear_error();
        int rc = SSL_do_handshake(io->ssl);
        int e = rc == 1 ? SSL_ERROR_NONE : SSL_get_error(io->ssl, rc);
        if (e != SSL_ERROR_NONE && e != SSL_ERROR_WANT_READ)
            return tls_failure(io->ssl, why, why_size);
        /* Our next flight (a memory BIO takes it whole), then, unless done, theirs. */
        while (edxbus__redis_io_pending_out(io) > 0) {
            edxbus_err_t err = flush_out(io, false, why, why_size);
            if (err != EDXBUS_OK)
                return err;
            if (edxbus__redis_io_pending_out(io) > 0 && !wait_fd(io->fd, POLLOUT, deadline_ms))
                goto timeout;
        }
        if (e == SSL_ERROR_NONE)
            return EDXBUS_OK;
        if (!wait_fd(io->fd, POLLIN, deadline_ms))
            goto timeout;
        char buf[READ_CHUNK];
        ssize_t n = recv(io->fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
            continue;
        if (n <= 0) {
            snprintf(why, why_size, "the server closed the connection during the TLS handshake%s",
                     n < 0 ? "" : " (is this its TLS port?)");
            return EDXBUS_ERR_IO;
        }
        BIO_write(io->rbio, buf, (int)n);
    }
timeout:
    snprintf(why, why_size,
             "no TLS handshake within the timeout (is this the server's TLS port? redis:// "
             "for a plain one)");
    return EDXBUS_ERR_TIMEOUT;
}

edxbus_err_t edxbus__redis_io_connect(struct redis_io *io, const struct redis_url *url,
                                      SSL_CTX *tls, const struct redis_tls_opts *opts,
                                      int timeout_ms, char *why, size_t why_size)
{
    memset(io, 0, sizeof *io);
    io->fd = -1;
    int64_t deadline = edxbus_clock_mono_ms() + timeout_ms;
    int fd = url->path ? connect_unix(url->path, deadline, why, why_size)
                       : connect_tcp(url->host, url->port, deadline, why, why_size);
    if (fd < 0)
        return strstr(why, "timed out") ? EDXBUS_ERR_TIMEOUT : EDXBUS_ERR_IO;
    io->fd = fd;
    io->reader = redisReaderCreate();
    if (io->reader == NULL) {
        edxbus__redis_io_close(io);
        snprintf(why, why_size, "out of memory");
        return EDXBUS_ERR_NOMEM;
    }
    io->reader->maxbuf = READER_BUF_KEEP;
    edxbus_err_t err = EDXBUS_OK;
    if (tls != NULL && url->path == NULL)
        err = handshake(io, url, tls, opts, deadline, why, why_size);
    if (err != EDXBUS_OK) {
        edxbus__redis_io_close(io);
        return err;
    }
    /* From here blocking, each wait bounded by the socket timeouts. */
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    io->timeout_ms = -1;
    edxbus__redis_io_set_timeout(io, timeout_ms);
    return EDXBUS_OK;
}

void edxbus__redis_io_close(struct redis_io *io)
{
    if (io->ssl != NULL)
        SSL_free(io->ssl); /* frees rbio and wbio */
    else {
        BIO_free(io->rbio);
        BIO_free(io->wbio);
    }
    if (io->fd >= 0)
        close(io->fd);
    if (io->reader != NULL)
        redisReaderFree(io->reader);
    free(io->out);
    memset(io, 0, sizeof *io);
    io->fd = -1;
}
