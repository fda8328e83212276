/* core/net/mcp-stdio.c: the stdio transport of the MCP client: a child process speaking
 * newline-delimited JSON-RPC on its stdin/stdout (MCP spec, "Transports: stdio").
 *
 * posix_spawn, not fork: the library may run threads (the engine, the caller's), and
 * posix_spawn neither runs atfork handlers nor copies the address space. The child's
 * stdin/stdout are one end of a socket pair, so a write to a server that died fails with
 * EPIPE (MSG_NOSIGNAL) instead of killing the caller with SIGPIPE; its stderr goes to a pipe
 * we drain into the debug log, never to our stderr.
 */
#include "net/mcp-link.h"
#include "net/engine.h"
#include "base/error.h"
#include "base/log.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <spawn.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define MAX_LINE (16u << 20)  /* one JSON-RPC message; an image result is base64 */
#define ERR_TAIL 400          /* bytes of the child's stderr quoted when it dies */
#define STOP_GRACE_MS 2000    /* after closing its stdin, before SIGKILL */

typedef struct stdio_link {
  hvb_mcp_link base;
  pid_t pid;
  int sock, errfd;
  GString *line, *errtail;
  GString *out; /* bytes a post could not write yet (engine-driven mode) */
  bool eof;
  /* engine-driven mode (mcp-stdio-watch.c): the watches and where messages go */
  hvb_engine_watch *wsock, *werr;
  GQueue *in;
  void (*ready)(void *data, const hvb_error *gone);
  void *ready_data;
} stdio_link;

static gint64 ms_left(gint64 deadline) {
  gint64 left = (deadline - g_get_monotonic_time()) / 1000;
  return left < 0 ? 0 : left > 60000 ? 60000 : left;
}

static void drain_stderr(stdio_link *s) {
  char buf[4096];
  ssize_t n;
  while (s->errfd >= 0 && (n = read(s->errfd, buf, sizeof buf)) != 0) {
    if (n < 0) {
      if (errno == EINTR) continue;
      return; /* EAGAIN: nothing more now */
    }
    hvb__log(HVB_LOG_DEBUG, "mcp %s stderr: %.*s", s->base.label, (int)n, buf);
    g_string_append_len(s->errtail, buf, n);
    if (s->errtail->len > ERR_TAIL) g_string_erase(s->errtail, 0, s->errtail->len - ERR_TAIL);
  }
  if (s->errfd >= 0) {
    close(s->errfd); /* EOF */
    s->errfd = -1;
  }
}

/* The server is gone: say so, with how it ended and the end of what it wrote on stderr. */
static bool fail_gone(stdio_link *s, hvb_error *err) {
  drain_stderr(s);
  /* Its stdout closed; give it a moment to exit, without waiting long for one that only
   * closed the socket. WNOWAIT: the leader is reaped only by close, after the group is
   * killed, so that the group id cannot be reused meanwhile. */
  siginfo_t si;
  memset(&si, 0, sizeof si);
  for (int i = 0; i < 50 && !si.si_pid; i++) {
    if (waitid(P_PID, (id_t)s->pid, &si, WEXITED | WNOHANG | WNOWAIT) != 0) break;
    if (!si.si_pid) g_usleep(2000);
  }
  char how[64] = "closed its output";
  if (si.si_pid && si.si_code == CLD_EXITED)
    snprintf(how, sizeof how, "exited with status %d", si.si_status);
  else if (si.si_pid)
    snprintf(how, sizeof how, "was killed by signal %d", si.si_status);
  char *tail = g_strstrip(g_strdup(s->errtail->str));
  bool r = hvb__fail(err, HVB_TRANSPORT, "MCP server '%s' %s%s%s", s->base.label, how,
                     *tail ? "; its stderr ends: " : "", tail);
  g_free(tail);
  return r;
}

static bool stdio_send(hvb_mcp_link *l, json_object *msg, GQueue *in, gint64 deadline,
                       hvb_error *err) {
  (void)in;
  stdio_link *s = (stdio_link *)l;
  if (s->eof) return fail_gone(s, err);
  const char *text = json_object_to_json_string_ext(msg, JSON_C_TO_STRING_PLAIN |
                                                             JSON_C_TO_STRING_NOSLASHESCAPE);
  GString *out = g_string_new_len(s->out->str, (gssize)s->out->len); /* a post's rest first */
  g_string_truncate(s->out, 0);
  g_string_append(out, text);
  g_string_append_c(out, '\n'); /* compact JSON never holds a raw newline */
  size_t off = 0;
  bool ok = true;
  while (ok && off < out->len) {
    ssize_t n = send(s->sock, out->str + off, out->len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      off += (size_t)n;
    } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      struct pollfd p = {.fd = s->sock, .events = POLLOUT};
      gint64 left = ms_left(deadline);
      if (left == 0) ok = hvb__fail(err, HVB_TIMEOUT, "MCP server '%s' does not read its input",
                                    s->base.label);
      else poll(&p, 1, (int)left);
    } else {
      s->eof = true;
      ok = fail_gone(s, err);
    }
  }
  g_string_free(out, TRUE);
  return ok;
}

/* Complete lines of s->line to messages; a line that is not a JSON object is logged and
 * skipped (the spec forbids them; a server printing a banner should not end the session). */
static void take_lines(stdio_link *s, GQueue *in) {
  char *nl;
  size_t start = 0;
  while ((nl = memchr(s->line->str + start, '\n', s->line->len - start))) {
    size_t len = (size_t)(nl - (s->line->str + start));
    json_tokener *tok = json_tokener_new();
    json_object *m = json_tokener_parse_ex(tok, s->line->str + start, (int)len);
    bool whole = json_tokener_get_error(tok) == json_tokener_success;
    json_tokener_free(tok);
    if (whole && json_object_is_type(m, json_type_object)) g_queue_push_tail(in, m);
    else {
      json_object_put(m);
      if (len) hvb__log(HVB_LOG_WARN, "MCP server '%s' wrote a line that is not a JSON-RPC "
                        "message (%zu bytes); ignored", s->base.label, len);
    }
    start += len + 1;
  }
  g_string_erase(s->line, 0, start);
}

static bool stdio_pump(hvb_mcp_link *l, GQueue *in, gint64 deadline, hvb_error *err) {
  stdio_link *s = (stdio_link *)l;
  guint had = g_queue_get_length(in);
  while (g_queue_get_length(in) == had) {
    if (s->eof) return fail_gone(s, err);
    struct pollfd p[2] = {{.fd = s->sock, .events = POLLIN}, {.fd = s->errfd, .events = POLLIN}};
    gint64 left = ms_left(deadline);
    if (left == 0 && g_get_monotonic_time() >= deadline)
      return hvb__fail(err, HVB_TIMEOUT, "MCP server '%s': no reply in time", s->base.label);
    int rc = poll(p, s->errfd >= 0 ? 2 : 1, (int)left);
    if (rc < 0 && errno != EINTR) return hvb__fail(err, HVB_IO, "poll: %s", strerror(errno));
    if (rc <= 0) continue;
    if (p[1].revents) drain_stderr(s);
    if (!p[0].revents) continue;
    char buf[65536];
    ssize_t n = recv(s->sock, buf, sizeof buf, MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
      s->eof = true;
      continue;
    }
    if (n < 0) continue;
    g_string_append_len(s->line, buf, n);
    take_lines(s, in);
    if (s->line->len > MAX_LINE)
      return hvb__fail(err, HVB_TOO_LARGE, "MCP server '%s': a message over %u bytes",
                       s->base.label, MAX_LINE);
  }
  return true;
}

/* ---- engine-driven mode: the socket and stderr watched by the engine ---- */

/* Write what the socket takes now; the rest waits for it to be writable. */
static bool flush_out(stdio_link *s, hvb_error *err) {
  while (s->out->len) {
    ssize_t n = send(s->sock, s->out->str, s->out->len, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      g_string_erase(s->out, 0, n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && errno == EAGAIN) {
      break;
    } else {
      s->eof = true;
      return fail_gone(s, err);
    }
  }
  hvb__engine_watch_set(s->wsock, (short)(HVB_WATCH_IN | (s->out->len ? HVB_WATCH_OUT : 0)));
  return true;
}

/* The server is gone, or said something too long: tell the owner, once, and watch no more. */
static void watch_fail(stdio_link *s, const hvb_error *e) {
  void (*ready)(void *, const hvb_error *) = s->ready;
  hvb__engine_watch_remove(s->wsock);
  hvb__engine_watch_remove(s->werr);
  s->wsock = s->werr = NULL;
  s->ready = NULL;
  if (ready) ready(s->ready_data, e);
}

static void on_sock(void *data, short revents) {
  stdio_link *s = data;
  hvb_error e = HVB_ERROR_INIT;
  if ((revents & HVB_WATCH_OUT) && !flush_out(s, &e)) {
    watch_fail(s, &e);
    return;
  }
  if (!(revents & HVB_WATCH_IN)) return;
  guint had = g_queue_get_length(s->in);
  char buf[65536];
  for (;;) {
    ssize_t n = recv(s->sock, buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) break;
    if (n <= 0) {
      s->eof = true;
      break;
    }
    g_string_append_len(s->line, buf, n);
    take_lines(s, s->in);
    if (s->line->len > MAX_LINE) {
      hvb__fail(&e, HVB_TOO_LARGE, "MCP server '%s': a message over %u bytes", s->base.label,
                MAX_LINE);
      watch_fail(s, &e);
      return;
    }
  }
  if (g_queue_get_length(s->in) != had && s->ready) s->ready(s->ready_data, NULL);
  if (s->eof && s->ready) { /* the replies it wrote before it went were handed out above */
    fail_gone(s, &e);
    watch_fail(s, &e);
  }
}

static void on_err(void *data, short revents) {
  (void)revents;
  stdio_link *s = data;
  drain_stderr(s);
  if (s->errfd < 0) { /* its stderr closed */
    hvb__engine_watch_remove(s->werr);
    s->werr = NULL;
  }
}

static bool stdio_attach(hvb_mcp_link *l, GQueue *in, void (*ready)(void *, const hvb_error *),
                         void *data, hvb_error *err) {
  stdio_link *s = (stdio_link *)l;
  if (s->eof) return fail_gone(s, err);
  s->in = in;
  s->ready = ready;
  s->ready_data = data;
  s->wsock = hvb__engine_watch_add(s->sock, HVB_WATCH_IN, on_sock, s);
  if (s->errfd >= 0) s->werr = hvb__engine_watch_add(s->errfd, HVB_WATCH_IN, on_err, s);
  return s->wsock != NULL || hvb__fail(err, HVB_UNSUPPORTED, "MCP: attach outside the engine");
}

static bool stdio_post(hvb_mcp_link *l, json_object *msg, hvb_error *err) {
  stdio_link *s = (stdio_link *)l;
  if (s->eof) return fail_gone(s, err);
  g_string_append(s->out, json_object_to_json_string_ext(msg, JSON_C_TO_STRING_PLAIN |
                                                                  JSON_C_TO_STRING_NOSLASHESCAPE));
  g_string_append_c(s->out, '\n');
  return flush_out(s, err);
}

static void stdio_detach(hvb_mcp_link *l) {
  stdio_link *s = (stdio_link *)l;
  hvb__engine_watch_remove(s->wsock);
  hvb__engine_watch_remove(s->werr);
  s->wsock = s->werr = NULL;
  s->in = NULL;
  s->ready = NULL;
}

static void stdio_set_version(hvb_mcp_link *l, const char *version) {
  (void)l;
  (void)version;
}

/* Closing its stdin is how the spec says to stop a stdio server; then SIGTERM, then SIGKILL,
 * to the whole group (with the leader not yet reaped, so the group id cannot be reused). */
static void stdio_close(hvb_mcp_link *l) {
  stdio_link *s = (stdio_link *)l;
  if (s->sock >= 0) shutdown(s->sock, SHUT_RDWR), close(s->sock);
  siginfo_t si;
  memset(&si, 0, sizeof si);
  for (int i = 0; !si.si_pid && i < STOP_GRACE_MS / 10; i++) {
    if (waitid(P_PID, (id_t)s->pid, &si, WEXITED | WNOHANG | WNOWAIT) != 0) break;
    if (s->errfd >= 0) drain_stderr(s);
    if (si.si_pid) break;
    g_usleep(10000);
    if (i == STOP_GRACE_MS / 20) kill(-s->pid, SIGTERM);
  }
  kill(-s->pid, SIGKILL); /* what it spawned, and itself if still running */
  int st;
  while (waitpid(s->pid, &st, 0) < 0 && errno == EINTR) {}
  if (s->errfd >= 0) close(s->errfd);
  hvb__log(HVB_LOG_DEBUG, "mcp %s: stopped", s->base.label);
  g_string_free(s->line, TRUE);
  g_string_free(s->errtail, TRUE);
  g_string_free(s->out, TRUE);
  g_free(s->base.label);
  g_free(s);
}

static const hvb_mcp_link_ops stdio_ops = {stdio_send,   stdio_pump,  stdio_set_version,
                                           stdio_attach, stdio_post,  stdio_detach,
                                           stdio_close};

/* environ with `env`'s lines added or replacing those of the same name (new; g_strfreev). */
static char **child_env(char *const *env) {
  GPtrArray *a = g_ptr_array_new();
  for (char **e = environ; e && *e; e++) {
    size_t n = strcspn(*e, "=");
    bool replaced = false;
    for (char *const *x = env; x && *x && !replaced; x++)
      replaced = strncmp(*x, *e, n) == 0 && (*x)[n] == '=';
    if (!replaced) g_ptr_array_add(a, g_strdup(*e));
  }
  for (char *const *x = env; x && *x; x++) g_ptr_array_add(a, g_strdup(*x));
  g_ptr_array_add(a, NULL);
  return (char **)g_ptr_array_free(a, FALSE);
}

static bool spawn(stdio_link *s, char *const *argv, char *const *env, int child_sock,
                  int child_err, hvb_error *err) {
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t at;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, child_sock, 0);
  posix_spawn_file_actions_adddup2(&fa, child_sock, 1);
  posix_spawn_file_actions_adddup2(&fa, child_err, 2);
  posix_spawnattr_init(&at);
  posix_spawnattr_setpgroup(&at, 0);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&at, &none);  /* not the caller's blocked signals */
  posix_spawnattr_setsigdefault(&at, &all); /* nor its ignored SIGPIPE */
  posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                    POSIX_SPAWN_SETSIGDEF);
  char **envp = child_env(env);
  int rc = posix_spawnp(&s->pid, argv[0], &fa, &at, argv, envp);
  g_strfreev(envp);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&at);
  if (rc != 0)
    return hvb__fail(err, HVB_IO, "cannot start MCP server '%s': %s", argv[0], strerror(rc));
  return true;
}

hvb_mcp_link *hvb__mcp_stdio_new(char *const *argv, char *const *env, hvb_error *err) {
  if (!argv || !argv[0] || !*argv[0]) {
    hvb__fail(err, HVB_EINVAL, "MCP server: empty command line");
    return NULL;
  }
  int sv[2], ep[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    hvb__fail(err, HVB_IO, "MCP server '%s': socketpair: %s", argv[0], strerror(errno));
    return NULL;
  }
  if (pipe2(ep, O_CLOEXEC) != 0) {
    hvb__fail(err, HVB_IO, "MCP server '%s': pipe: %s", argv[0], strerror(errno));
    close(sv[0]), close(sv[1]);
    return NULL;
  }
  stdio_link *s = g_new0(stdio_link, 1);
  s->base.ops = &stdio_ops;
  char *line = g_strjoinv(" ", (char **)argv);
  s->base.label = g_utf8_make_valid(line, MIN(strlen(line), 120));
  g_free(line);
  bool ok = spawn(s, argv, env, sv[1], ep[1], err);
  close(sv[1]);
  close(ep[1]);
  if (!ok) {
    close(sv[0]), close(ep[0]);
    g_free(s->base.label);
    g_free(s);
    return NULL;
  }
  s->sock = sv[0];
  s->errfd = ep[0];
  fcntl(s->errfd, F_SETFL, O_NONBLOCK);
  s->line = g_string_new(NULL);
  s->out = g_string_new(NULL);
  s->errtail = g_string_new(NULL);
  hvb__log(HVB_LOG_DEBUG, "mcp %s: started, pid %ld", s->base.label, (long)s->pid);
  return &s->base;
}
