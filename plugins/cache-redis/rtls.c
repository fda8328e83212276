/* TLS for rconn, with OpenSSL: the TLS library libcurl (Debian libcurl4-openssl-dev) already
 * loads into every process of ours, and the one redis-server itself uses. The socket stays ours
 * and non-blocking: OpenSSL reads and writes through a small BIO that uses send(MSG_NOSIGNAL)
 * (a server gone away must not raise SIGPIPE in the caller's process), and every WANT_READ /
 * WANT_WRITE becomes a poll() against rconn's deadline. The certificate is verified against the
 * CA file (or the system's CAs), and so is the name: the host, or tls_server_name. */
#include "config.h"
#include "rconn.h"

#include <stdlib.h>

#ifdef HVB_REDIS_TLS
#include <arpa/inet.h>
#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

struct rtls_ctx {
  SSL_CTX *ctx;
};
struct rtls {
  SSL *ssl;
};

static char *ssl_error(const char *what, const char *file) {
  unsigned long e = ERR_get_error();
  char buf[256] = "unknown error";
  if (e) ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return file ? rclient_strf("%s '%s': %s", what, file, buf) : rclient_strf("%s: %s", what, buf);
}

/* ---- the BIO: send/recv on our fd ---- */
static int bio_write(BIO *b, const char *buf, int len) {
  int fd = (int)(intptr_t)BIO_get_data(b);
  BIO_clear_retry_flags(b);
  ssize_t n = send(fd, buf, (size_t)len, MSG_NOSIGNAL);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) BIO_set_retry_write(b);
  return (int)n;
}

static int bio_read(BIO *b, char *buf, int len) {
  int fd = (int)(intptr_t)BIO_get_data(b);
  BIO_clear_retry_flags(b);
  ssize_t n = recv(fd, buf, (size_t)len, 0);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) BIO_set_retry_read(b);
  return (int)n;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr) {
  return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static int bio_create(BIO *b) {
  BIO_set_init(b, 1);
  return 1;
}

static BIO_METHOD *bio_method;
static void bio_method_init(void) {
  bio_method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "rclient socket");
  if (!bio_method) return;
  BIO_meth_set_write(bio_method, bio_write);
  BIO_meth_set_read(bio_method, bio_read);
  BIO_meth_set_ctrl(bio_method, bio_ctrl);
  BIO_meth_set_create(bio_method, bio_create);
}

/* ---- the context ---- */
static int load_files(SSL_CTX *ctx, const char *ca, const char *cert, const char *key, char **err) {
  if (ca ? SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1
         : SSL_CTX_set_default_verify_paths(ctx) != 1) {
    *err = ssl_error("cannot load the CA file", ca ? ca : "(system default)");
    return -1;
  }
  if (key && !cert) {
    *err = rclient_strf("a TLS key file needs a certificate file");
    return -1;
  }
  if (cert && SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
    *err = ssl_error("cannot load the certificate file", cert);
    return -1;
  }
  if (cert && (SSL_CTX_use_PrivateKey_file(ctx, key ? key : cert, SSL_FILETYPE_PEM) != 1 ||
               SSL_CTX_check_private_key(ctx) != 1)) {
    *err = ssl_error("cannot load the key file (or it does not match the certificate)", key ? key : cert);
    return -1;
  }
  return 0;
}

rtls_ctx *rtls_ctx_new(const char *ca_file, const char *cert_file, const char *key_file,
                       char **err) {
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, bio_method_init);
  char *e = NULL;
  SSL_CTX *ctx = bio_method ? SSL_CTX_new(TLS_client_method()) : NULL;
  if (!ctx) e = ssl_error("cannot set up TLS", NULL);
  if (ctx) {
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  }
  rtls_ctx *t = ctx && load_files(ctx, ca_file, cert_file, key_file, &e) == 0 ? calloc(1, sizeof *t) : NULL;
  if (!t) {
    if (err && !*err) *err = rclient_strf("redis: TLS: %s", e ? e : "out of memory");
    free(e);
    SSL_CTX_free(ctx);
    return NULL;
  }
  t->ctx = ctx;
  return t;
}

void rtls_ctx_free(rtls_ctx *t) {
  if (!t) return;
  SSL_CTX_free(t->ctx);
  free(t);
}

/* ---- one connection ---- */
static int wait_for(int fd, short events, int64_t deadline) {
  int64_t left = deadline - rconn_now_ms();
  if (left <= 0) return 0;
  struct pollfd p = {.fd = fd, .events = events};
  int r = poll(&p, 1, (int)left);
  return r < 0 && errno == EINTR ? 1 : r;
}

/* The name to check: an IP address is matched against the certificate's IP entries, a host
   name against its DNS names, and only a host name goes out as SNI. */
static int set_name(SSL *ssl, const char *name) {
  unsigned char ip[16];
  if (inet_pton(AF_INET, name, ip) == 1 || inet_pton(AF_INET6, name, ip) == 1)
    return X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name) == 1 ? 0 : -1;
  return SSL_set_tlsext_host_name(ssl, name) == 1 && SSL_set1_host(ssl, name) == 1 ? 0 : -1;
}

static char *handshake_error(SSL *ssl, int timed_out) {
  if (timed_out) return rclient_strf("handshake timed out");
  long v = SSL_get_verify_result(ssl);
  if (v != X509_V_OK)
    return rclient_strf("certificate verification failed: %s", X509_verify_cert_error_string(v));
  return ssl_error("handshake failed", NULL);
}

rtls *rtls_open(rtls_ctx *t, int fd, const char *name, int64_t deadline, char **err) {
  SSL *ssl = SSL_new(t->ctx);
  BIO *bio = ssl ? BIO_new(bio_method) : NULL;
  if (!bio || set_name(ssl, name) < 0) {
    *err = ssl_error("cannot set up the TLS session", NULL);
    BIO_free(bio);
    SSL_free(ssl);
    return NULL;
  }
  BIO_set_data(bio, (void *)(intptr_t)fd);
  SSL_set_bio(ssl, bio, bio);
  for (;;) {
    int r = SSL_connect(ssl);
    if (r == 1) break;
    int e = SSL_get_error(ssl, r);
    int ready = e == SSL_ERROR_WANT_READ    ? wait_for(fd, POLLIN, deadline)
                : e == SSL_ERROR_WANT_WRITE ? wait_for(fd, POLLOUT, deadline)
                                            : -1;
    if (ready <= 0) {
      *err = handshake_error(ssl, ready == 0);
      SSL_free(ssl);
      return NULL;
    }
  }
  rtls *s = calloc(1, sizeof *s);
  if (!s) {
    SSL_free(ssl);
    return NULL;
  }
  s->ssl = ssl;
  return s;
}

void rtls_close(rtls *s) {
  if (!s) return;
  SSL_free(s->ssl); /* no close_notify: the socket is closed right after, and may be broken */
  free(s);
}

static long io_result(rtls *s, int n, short *want) {
  if (n > 0) return n;
  int e = SSL_get_error(s->ssl, n);
  *want = e == SSL_ERROR_WANT_READ ? POLLIN : e == SSL_ERROR_WANT_WRITE ? POLLOUT : 0;
  ERR_clear_error();
  if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && n == 0)) return 0; /* EOF */
  return -1;
}

long rtls_read(rtls *s, char *buf, size_t len, short *want) {
  return io_result(s, SSL_read(s->ssl, buf, len > INT32_MAX ? INT32_MAX : (int)len), want);
}

long rtls_write(rtls *s, const char *buf, size_t len, short *want) {
  long n = io_result(s, SSL_write(s->ssl, buf, len > INT32_MAX ? INT32_MAX : (int)len), want);
  if (n == 0) *want = 0; /* EOF while writing: broken */
  return n;
}

bool rtls_pending(rtls *s) { return SSL_pending(s->ssl) > 0; }

bool rtls_idle_ok(rtls *s) {
  /* An idle TLS socket may hold records that carry no data (TLS 1.3 session tickets): read
     them; only data, EOF or an error retire the connection. */
  char b[64];
  short want = 0;
  long n = rtls_read(s, b, sizeof b, &want);
  return n < 0 && want == POLLIN;
}

#else /* no OpenSSL: TLS is refused at configuration time */

rtls_ctx *rtls_ctx_new(const char *ca_file, const char *cert_file, const char *key_file,
                       char **err) {
  if (err && !*err)
    *err = rclient_strf("redis: TLS was requested but this build has none (OpenSSL missing at configure time)");
  return NULL;
}
void rtls_ctx_free(rtls_ctx *t) {}
rtls *rtls_open(rtls_ctx *t, int fd, const char *name, int64_t deadline, char **err) { return NULL; }
void rtls_close(rtls *s) {}
long rtls_read(rtls *s, char *buf, size_t len, short *want) {
  *want = 0;
  return -1;
}
long rtls_write(rtls *s, const char *buf, size_t len, short *want) {
  *want = 0;
  return -1;
}
bool rtls_pending(rtls *s) { return false; }
bool rtls_idle_ok(rtls *s) { return false; }

#endif
