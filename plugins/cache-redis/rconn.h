/* One connection to one Redis server: our own non-blocking socket, every wait a poll() with a
 * deadline, optional TLS, and hiredis's reader for the replies. Internal to rclient. */
#ifndef HVB_RCONN_H
#define HVB_RCONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <hiredis/hiredis.h>

typedef struct rtls_ctx rtls_ctx; /* rtls.c: a shared TLS context (OpenSSL SSL_CTX) */

typedef struct rconn_opts {
  const char *username, *password; /* AUTH after connecting; NULL: none */
  int db;                          /* SELECT after connecting when > 0 */
  int connect_timeout_ms, command_timeout_ms;
  rtls_ctx *tls;                   /* NULL: plain TCP */
  const char *tls_server_name;     /* SNI and the name checked; NULL: the host */
} rconn_opts;

typedef struct rconn rconn;

/* Monotonic milliseconds. */
int64_t rconn_now_ms(void);
/* Connects (within connect_timeout_ms), does the TLS handshake, AUTH and SELECT (each within
   command_timeout_ms). NULL with *err (names host:port, never the password). */
rconn *rconn_open(const char *host, int port, const rconn_opts *o, char **err);
void rconn_close(rconn *c);
/* Writes len bytes by deadline (rconn_now_ms() based). 0, or -1 with *err. */
int rconn_write(rconn *c, const char *buf, size_t len, int64_t deadline, char **err);
/* Reads one reply by deadline: 1 with *reply, 0 on timeout (the connection stays usable for a
   later read: a partial reply stays buffered), -1 with *err (closed, broken, protocol error). */
int rconn_read(rconn *c, int64_t deadline, redisReply **reply, char **err);
/* Formats and sends argv (preceded by ASKING when asking: its +OK is dropped) and reads the
   reply into *reply, by now + the command timeout: 1, 0 on timeout, -1 with *err. After 0 or
   -1 the connection must be closed (a late reply would answer the next command). */
int rconn_call(rconn *c, bool asking, int argc, const char **argv, const size_t *argvlen,
               redisReply **reply, char **err);
/* An idle pooled connection the server has closed (or that holds unread bytes) is unusable. */
bool rconn_stale(rconn *c);
const char *rconn_addr(const rconn *c); /* "host:port" */

/* Formatting helper: a new string as asprintf would give; on failure a fixed text copy. */
char *rclient_strf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* TLS (rtls.c). rtls_ctx_new: NULL with *err on unreadable files or a build without TLS. */
rtls_ctx *rtls_ctx_new(const char *ca_file, const char *cert_file, const char *key_file,
                       char **err);
void rtls_ctx_free(rtls_ctx *t);
typedef struct rtls rtls; /* one connection's TLS session */
/* Handshake on the connected non-blocking fd by deadline; checks the certificate against
   ca_file and the name. NULL with *err. */
rtls *rtls_open(rtls_ctx *t, int fd, const char *name, int64_t deadline, char **err);
void rtls_close(rtls *s);
/* Like read()/write() on a non-blocking socket: > 0 bytes, 0 EOF (read), -1 with *want set
   to POLLIN or POLLOUT to wait for, or -1 with *want = 0 on an error. */
long rtls_read(rtls *s, char *buf, size_t len, short *want);
long rtls_write(rtls *s, const char *buf, size_t len, short *want);
bool rtls_pending(rtls *s); /* decrypted bytes buffered inside the TLS layer */
/* An idle socket turned readable: true when that was only TLS records without data (TLS 1.3
   session tickets), false for data, EOF or an error. */
bool rtls_idle_ok(rtls *s);

#endif
