/* One connection: non-blocking socket, poll() with deadlines, optional TLS, hiredis's reader.
 * hiredis's own blocking context would do the timeouts with SO_RCVTIMEO per read() call, which
 * bounds each read but not a whole reply, and has no TLS in 0.14: the socket is ours. */
#include "rconn.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct rconn {
  int fd;
  rtls *tls;
  redisReader *reader;
  int command_timeout_ms;
  char addr[300];
};

int64_t rconn_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

char *rclient_strf(const char *fmt, ...) {
  va_list ap;
  char *s = NULL;
  va_start(ap, fmt);
  int n = vasprintf(&s, fmt, ap);
  va_end(ap);
  if (n < 0) return strdup("redis: out of memory");
  return s;
}

static void set_err(char **err, char *msg) {
  if (err && !*err) *err = msg;
  else free(msg);
}

/* Waits for events on fd until deadline: 1 ready, 0 timeout, -1 error. */
static int wait_fd(int fd, short events, int64_t deadline) {
  for (;;) {
    int64_t left = deadline - rconn_now_ms();
    if (left <= 0) return 0;
    struct pollfd p = {.fd = fd, .events = events};
    int r = poll(&p, 1, left > 60000 ? 60000 : (int)left);
    if (r > 0) return 1;
    if (r < 0 && errno != EINTR) return -1;
  }
}

/* Connects one resolved address by deadline: the fd, or -1 with errno-ish text in *why. */
static int connect_addr(const struct addrinfo *ai, int64_t deadline, const char **why) {
  int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
  if (fd < 0) {
    *why = strerror(errno);
    return -1;
  }
  if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS) {
    *why = strerror(errno);
    close(fd);
    return -1;
  }
  int r = wait_fd(fd, POLLOUT, deadline);
  int soerr = 0;
  socklen_t sl = sizeof soerr;
  if (r == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr == 0) {
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
  }
  *why = r == 0 ? "connect timed out" : strerror(soerr ? soerr : errno);
  close(fd);
  return -1;
}

static int tcp_connect(const char *host, int port, int64_t deadline, char **err) {
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
  char service[16];
  snprintf(service, sizeof service, "%d", port);
  int gai = getaddrinfo(host, service, &hints, &res);
  if (gai != 0) {
    set_err(err, rclient_strf("redis %s:%d: cannot resolve: %s", host, port, gai_strerror(gai)));
    return -1;
  }
  const char *why = "no address";
  int fd = -1;
  for (struct addrinfo *ai = res; ai && fd < 0 && rconn_now_ms() < deadline; ai = ai->ai_next)
    fd = connect_addr(ai, deadline, &why);
  freeaddrinfo(res);
  if (fd < 0) set_err(err, rclient_strf("redis %s:%d: cannot connect: %s", host, port, why));
  return fd;
}

int rconn_write(rconn *c, const char *buf, size_t len, int64_t deadline, char **err) {
  while (len > 0) {
    long n;
    short want = POLLOUT;
    if (c->tls) {
      n = rtls_write(c->tls, buf, len, &want);
    } else {
      n = send(c->fd, buf, len, MSG_NOSIGNAL);
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) want = 0;
    }
    if (n > 0) {
      buf += n;
      len -= (size_t)n;
      continue;
    }
    if (want == 0 || n == 0) {
      set_err(err, rclient_strf("redis %s: write failed: %s", c->addr,
                                c->tls ? "TLS error" : strerror(errno)));
      return -1;
    }
    int r = wait_fd(c->fd, want, deadline);
    if (r <= 0) {
      set_err(err, rclient_strf("redis %s: %s", c->addr, r == 0 ? "command timed out" : "poll failed"));
      return -1;
    }
  }
  return 0;
}

/* A reply already parsed from the buffer: 1, 0 none yet, -1 protocol error. */
static int buffered_reply(rconn *c, redisReply **reply, char **err) {
  void *r = NULL;
  if (redisReaderGetReply(c->reader, &r) != REDIS_OK) {
    set_err(err, rclient_strf("redis %s: protocol error: %s", c->addr, c->reader->errstr));
    return -1;
  }
  *reply = r;
  return r != NULL;
}

/* Waits before reading unless TLS holds decrypted bytes: a reply is never there the moment
   its command is sent, and a recv() that says EAGAIN is a wasted system call per command. */
int rconn_read(rconn *c, int64_t deadline, redisReply **reply, char **err) {
  char buf[16384];
  short want = POLLIN;
  for (;;) {
    int got = buffered_reply(c, reply, err);
    if (got != 0) return got;
    if (!(c->tls && rtls_pending(c->tls))) {
      int r = wait_fd(c->fd, want, deadline);
      if (r == 0) return 0;
      if (r < 0) {
        set_err(err, rclient_strf("redis %s: poll failed", c->addr));
        return -1;
      }
    }
    long n;
    want = POLLIN;
    if (c->tls) {
      n = rtls_read(c->tls, buf, sizeof buf, &want);
    } else {
      n = recv(c->fd, buf, sizeof buf, 0);
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) want = 0;
    }
    if (n > 0) {
      want = POLLIN;
      if (redisReaderFeed(c->reader, buf, (size_t)n) != REDIS_OK) {
        set_err(err, rclient_strf("redis %s: reader: %s", c->addr, c->reader->errstr));
        return -1;
      }
      continue;
    }
    if (n == 0 || want == 0) {
      set_err(err, rclient_strf("redis %s: %s", c->addr,
                                n == 0 ? "connection closed by the server" : "read failed"));
      return -1;
    }
  }
}

int rconn_call(rconn *c, bool asking, int argc, const char **argv, const size_t *argvlen,
               redisReply **reply, char **err) {
  char *cmd = NULL;
  int len = redisFormatCommandArgv(&cmd, argc, argv, argvlen);
  if (len < 0) {
    set_err(err, rclient_strf("redis %s: cannot format the command", c->addr));
    return -1;
  }
  int64_t deadline = rconn_now_ms() + c->command_timeout_ms;
  static const char ask[] = "*1\r\n$6\r\nASKING\r\n";
  int r = asking ? rconn_write(c, ask, sizeof ask - 1, deadline, err) : 0;
  if (r == 0) r = rconn_write(c, cmd, (size_t)len, deadline, err);
  redisFreeCommand(cmd);
  if (r < 0) return -1;
  if (asking) {
    redisReply *ok = NULL;
    r = rconn_read(c, deadline, &ok, err);
    if (ok) freeReplyObject(ok);
    if (r <= 0) goto timeout_or_error;
  }
  r = rconn_read(c, deadline, reply, err);
timeout_or_error:
  if (r == 0) set_err(err, rclient_strf("redis %s: command timed out after %d ms", c->addr,
                                        c->command_timeout_ms));
  return r;
}

/* AUTH and SELECT: any failure, an error reply included, fails the connection. */
static int handshake_cmd(rconn *c, int argc, const char **argv, const char *what, char **err) {
  redisReply *r = NULL;
  char *e = NULL;
  int got = rconn_call(c, false, argc, argv, NULL, &r, &e);
  if (got == 1 && r->type != REDIS_REPLY_ERROR) {
    freeReplyObject(r);
    return 0;
  }
  if (got == 1)
    set_err(err, rclient_strf("redis %s: %s refused: %s", c->addr, what, r->str));
  else
    set_err(err, rclient_strf("redis %s: %s failed: %s", c->addr, what, e ? e : "?"));
  free(e);
  if (r) freeReplyObject(r);
  return -1;
}

static int handshake(rconn *c, const rconn_opts *o, char **err) {
  if (o->password) {
    const char *argv[3] = {"AUTH", o->username ? o->username : o->password, o->password};
    if (handshake_cmd(c, o->username ? 3 : 2, argv, "AUTH", err) < 0) return -1;
  }
  if (o->db > 0) {
    char db[16];
    snprintf(db, sizeof db, "%d", o->db);
    const char *argv[2] = {"SELECT", db};
    if (handshake_cmd(c, 2, argv, "SELECT", err) < 0) return -1;
  }
  return 0;
}

rconn *rconn_open(const char *host, int port, const rconn_opts *o, char **err) {
  rconn *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  snprintf(c->addr, sizeof c->addr, "%s:%d", host, port);
  c->command_timeout_ms = o->command_timeout_ms;
  c->reader = redisReaderCreate();
  int64_t deadline = rconn_now_ms() + o->connect_timeout_ms;
  c->fd = c->reader ? tcp_connect(host, port, deadline, err) : -1;
  if (c->fd >= 0 && o->tls) {
    char *e = NULL;
    c->tls = rtls_open(o->tls, c->fd, o->tls_server_name ? o->tls_server_name : host, deadline, &e);
    if (!c->tls) set_err(err, rclient_strf("redis %s: TLS: %s", c->addr, e ? e : "?"));
    free(e);
    if (!c->tls) goto fail;
  }
  if (c->fd >= 0 && handshake(c, o, err) == 0) return c;
fail:
  rconn_close(c);
  return NULL;
}

void rconn_close(rconn *c) {
  if (!c) return;
  if (c->tls) rtls_close(c->tls);
  if (c->fd >= 0) close(c->fd);
  if (c->reader) redisReaderFree(c->reader);
  free(c);
}

bool rconn_stale(rconn *c) {
  if (c->tls && rtls_pending(c->tls)) return true;
  struct pollfd p = {.fd = c->fd, .events = POLLIN};
  /* Idle: nothing may be readable. EOF, an error, or stray bytes all retire it. */
  if (poll(&p, 1, 0) == 0) return false;
  if (c->tls && !(p.revents & (POLLERR | POLLHUP | POLLNVAL))) return !rtls_idle_ok(c->tls);
  return true;
}

const char *rconn_addr(const rconn *c) { return c->addr; }
