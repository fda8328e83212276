/* tests/upstream/upstream.c: the scriptable fake provider server (see upstream.h).
 *
 * One thread accepts; each connection gets its own thread, which keeps the scripted delays
 * and stalls trivial (it just sleeps) while other connections go on being served. Every wait
 * is bounded and watches the stop flag, and up_stop() shuts the sockets down, so stopping the
 * server never hangs a test whatever state a client left a connection in.
 */
#include "upstream.h"

#include <arpa/inet.h>
#include <errno.h>
#include <glib.h>
#include <json-c/json.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define SLICE_MS 20                  /* how often waiting threads look at the stop flag */
#define MAX_REQUEST (64 * 1024 * 1024) /* larger requests are answered with 413 */

typedef struct chunk {
  char *data;
  size_t len;
  int delay_ms;
} chunk;

typedef struct resp {
  int status;
  char *headers;
  char *content_type;
  chunk *chunks;
  int nchunks;
  bool chunked;
  int close_after;
  int stall_ms;
  bool repeat;
  up_faults faults; /* tests/faults: see up_faults */
  int embed_dim;
  bool echo;
  int first_times;
} resp;

typedef struct conn {
  up_server *srv;
  int fd; /* -1 once closed; guarded by srv->lock */
  GThread *thread;
} conn;

struct up_server {
  int listen_fd;
  int port;
  char base_url[64];
  int wake[2]; /* wakes the acceptor on stop */
  volatile gint stopping;
  GThread *acceptor;

  GMutex lock;
  GCond changed;     /* signalled on each recorded request */
  GHashTable *routes; /* path -> GQueue of resp* */
  GPtrArray *requests; /* up_request* */
  GPtrArray *conns;    /* conn* */
  int nconnections;
  int naborted; /* responses cut short because the client went away */
  up_request_hook hook; /* called as each request is recorded, before its response */
  void *hook_data;
};

/* ---- responses ------------------------------------------------------------------------ */

static resp *resp_copy(const up_response *r) {
  resp *c = g_new0(resp, 1);
  c->status = r->status ? r->status : 200;
  c->headers = g_strdup(r->headers);
  c->content_type = g_strdup(r->content_type ? r->content_type : "application/json");
  c->nchunks = r->nchunks > 0 ? r->nchunks : 0;
  c->chunks = g_new0(chunk, c->nchunks + 1);
  for (int i = 0; i < c->nchunks; i++) {
    const up_chunk *in = &r->chunks[i];
    size_t len = in->len ? in->len : in->data ? strlen(in->data) : 0;
    c->chunks[i].data = g_malloc(len + 1);
    if (len) memcpy(c->chunks[i].data, in->data, len);
    c->chunks[i].data[len] = '\0';
    c->chunks[i].len = len;
    c->chunks[i].delay_ms = in->delay_ms;
  }
  c->chunked = r->chunked;
  c->close_after = r->close_after;
  c->stall_ms = r->stall_ms;
  c->repeat = r->repeat;
  c->embed_dim = r->embed_dim;
  c->echo = r->echo;
  c->first_times = r->first_times;
  return c;
}

/* The internal form back in the public one, so a repeated response can be copied. */
static resp *resp_dup(const resp *r) {
  up_chunk *cs = g_new0(up_chunk, r->nchunks + 1);
  for (int i = 0; i < r->nchunks; i++)
    cs[i] = (up_chunk){r->chunks[i].data, r->chunks[i].len, r->chunks[i].delay_ms};
  up_response pub = {r->status, r->headers, r->content_type, cs, r->nchunks, r->chunked,
                     r->close_after, r->stall_ms, r->repeat, r->embed_dim, r->echo,
                     r->first_times};
  resp *c = resp_copy(&pub);
  g_free(cs);
  c->faults = r->faults;
  return c;
}

static void resp_free(gpointer p) {
  resp *r = p;
  if (!r) return;
  for (int i = 0; i < r->nchunks; i++) g_free(r->chunks[i].data);
  g_free(r->chunks);
  g_free(r->headers);
  g_free(r->content_type);
  g_free(r);
}

static void queue_free(gpointer q) { g_queue_free_full(q, resp_free); }

void up_push(up_server *s, const char *path, const up_response *r) {
  resp *c = resp_copy(r);
  g_mutex_lock(&s->lock);
  GQueue *q = g_hash_table_lookup(s->routes, path);
  if (!q) {
    q = g_queue_new();
    g_hash_table_insert(s->routes, g_strdup(path), q);
  }
  g_queue_push_tail(q, c);
  g_mutex_unlock(&s->lock);
}

void up_push_faults(up_server *s, const char *path, const up_response *r,
                    const up_faults *faults) {
  resp *c = resp_copy(r);
  c->faults = *faults;
  g_mutex_lock(&s->lock);
  GQueue *q = g_hash_table_lookup(s->routes, path);
  if (!q) {
    q = g_queue_new();
    g_hash_table_insert(s->routes, g_strdup(path), q);
  }
  g_queue_push_tail(q, c);
  g_mutex_unlock(&s->lock);
}

void up_push_body(up_server *s, const char *path, int status, const char *content_type,
                  const char *body) {
  up_chunk c = {body, strlen(body), 0};
  up_response r = {.status = status, .content_type = content_type, .chunks = &c, .nchunks = 1};
  up_push(s, path, &r);
}

void up_push_sse(up_server *s, const char *path, const char *sse_text, int nchunks) {
  size_t len = strlen(sse_text);
  if (nchunks < 1) nchunks = 1;
  if ((size_t)nchunks > len && len > 0) nchunks = (int)len;
  up_chunk *cs = g_new0(up_chunk, nchunks);
  size_t off = 0;
  for (int i = 0; i < nchunks; i++) {
    size_t end = len * (size_t)(i + 1) / (size_t)nchunks;
    cs[i] = (up_chunk){sse_text + off, end - off, 0};
    off = end;
  }
  up_response r = {.content_type = "text/event-stream", .chunks = cs, .nchunks = nchunks,
                   .chunked = true};
  up_push(s, path, &r);
  g_free(cs);
}

/* The next response for `path` (owned by the caller), or NULL when none is scripted. */
/* The next scripted response for `path`, or NULL; under s->lock. */
static resp *take_response_locked(up_server *s, const char *path) {
  GQueue *q = g_hash_table_lookup(s->routes, path);
  resp *r = NULL;
  if (q && !g_queue_is_empty(q)) {
    resp *head = g_queue_peek_head(q);
    r = head->repeat && g_queue_get_length(q) == 1 ? resp_dup(head) : g_queue_pop_head(q);
  }
  return r;
}

static resp *not_found(const char *path) {
  json_object *e = json_object_new_object();
  json_object *inner = json_object_new_object();
  char *m = g_strdup_printf("no scripted response for %s", path);
  json_object_object_add(inner, "message", json_object_new_string(m));
  json_object_object_add(inner, "type", json_object_new_string("invalid_request_error"));
  json_object_object_add(inner, "code", json_object_new_string("not_found"));
  json_object_object_add(e, "error", inner);
  up_chunk c = {
      json_object_to_json_string_ext(e, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE),
      0, 0};
  up_response pub = {.status = 404, .chunks = &c, .nchunks = 1};
  resp *r = resp_copy(&pub);
  json_object_put(e);
  g_free(m);
  return r;
}

/* ---- socket helpers ------------------------------------------------------------------- */

static bool stopping(up_server *s) { return g_atomic_int_get(&s->stopping) != 0; }

/* Sleep `ms`, waking early when the server stops; false when it did. */
static bool nap(up_server *s, int ms) {
  gint64 end = g_get_monotonic_time() + (gint64)ms * 1000;
  while (!stopping(s)) {
    gint64 left = end - g_get_monotonic_time();
    if (left <= 0) return true;
    g_usleep((gulong)MIN(left, SLICE_MS * 1000));
  }
  return false;
}

static void note_abort(up_server *s);

/* nap() while a response is due on `fd`: false (and the response counted as aborted) as
 * soon as the client closes the connection, so a test sees a cancelled transfer go away
 * while its reply was still being held back (a hedged request's loser). */
static bool nap_watch(up_server *s, int fd, int ms) {
  gint64 end = g_get_monotonic_time() + (gint64)ms * 1000;
  while (!stopping(s)) {
    gint64 left = end - g_get_monotonic_time();
    if (left <= 0) return true;
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    if (poll(&pfd, 1, (int)MIN(left / 1000 + 1, SLICE_MS)) > 0) {
      char c;
      ssize_t n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR) ||
          (pfd.revents & (POLLHUP | POLLERR))) {
        note_abort(s);
        return false;
      }
      if (n > 0) g_usleep(SLICE_MS * 1000); /* a pipelined request: not a close */
    }
  }
  return false;
}

/* up_faults.write_size of the response this connection's thread is sending (0: any size). */
static _Thread_local int write_size;

static bool send_all(up_server *s, int fd, const char *p, size_t len) {
  while (len > 0) {
    if (stopping(s)) return false;
    struct pollfd pfd = {fd, POLLOUT, 0};
    int pr = poll(&pfd, 1, SLICE_MS);
    if (pr < 0 && errno != EINTR) return false;
    if (pr <= 0) continue;
    size_t piece = write_size > 0 ? MIN(len, (size_t)write_size) : len;
    ssize_t n = send(fd, p, piece, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) continue;
      return false;
    }
    p += n;
    len -= (size_t)n;
    if (write_size > 0) g_usleep(200); /* so the client reads the pieces one by one */
  }
  return true;
}

/* up_faults.header_pad: header lines of about `n` bytes in all. */
static void append_header_pad(GString *head, int n) {
  for (int i = 0, left = n; left > 0; i++) {
    int len = MIN(left, 4000);
    g_string_append_printf(head, "X-Pad-%d: ", i);
    for (int k = 0; k < len; k++) g_string_append_c(head, 'p');
    g_string_append(head, "\r\n");
    left -= len;
  }
}

/* Read more bytes into `buf`; false on EOF, error or stop. */
static bool recv_more(up_server *s, int fd, GString *buf) {
  char tmp[16384];
  for (;;) {
    if (stopping(s)) return false;
    struct pollfd pfd = {fd, POLLIN, 0};
    int pr = poll(&pfd, 1, SLICE_MS);
    if (pr < 0 && errno != EINTR) return false;
    if (pr <= 0) continue;
    ssize_t n = recv(fd, tmp, sizeof tmp, MSG_DONTWAIT);
    if (n == 0) return false;
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) continue;
      return false;
    }
    g_string_append_len(buf, tmp, n);
    return true;
  }
}

/* ---- requests ------------------------------------------------------------------------- */

static char *header_value(const char *headers, const char *name) {
  size_t n = strlen(name);
  for (const char *line = headers; line && *line;) {
    const char *eol = strstr(line, "\r\n");
    size_t len = eol ? (size_t)(eol - line) : strlen(line);
    if (len > n && line[n] == ':' && g_ascii_strncasecmp(line, name, n) == 0) {
      const char *v = line + n + 1, *end = line + len;
      while (v < end && (*v == ' ' || *v == '\t')) v++;
      while (end > v && (end[-1] == ' ' || end[-1] == '\t')) end--;
      return strndup(v, (size_t)(end - v));
    }
    if (!eol) break;
    line = eol + 2;
  }
  return NULL;
}

char *up_request_header(const up_request *r, const char *name) {
  return header_value(r->headers, name);
}

/* Parse one request from the front of `buf`, removing it. Returns 1 when a request was read,
 * 0 when more bytes are needed, -1 on a malformed or oversized request. */
static int parse_request(GString *buf, up_request **out) {
  char *end = g_strstr_len(buf->str, (gssize)buf->len, "\r\n\r\n");
  if (!end) return buf->len > MAX_REQUEST ? -1 : 0;
  size_t head_len = (size_t)(end - buf->str) + 4;
  char *line_end = strstr(buf->str, "\r\n");
  char *request_line = g_strndup(buf->str, (gsize)(line_end - buf->str));
  char **parts = g_strsplit(request_line, " ", 3);
  g_free(request_line);
  if (g_strv_length(parts) != 3) {
    g_strfreev(parts);
    return -1;
  }
  char *headers = g_strndup(line_end + 2, (gsize)(end + 2 - (line_end + 2)));
  char *cl = header_value(headers, "Content-Length");
  long long body_len = cl ? strtoll(cl, NULL, 10) : 0;
  free(cl);
  if (body_len < 0 || body_len > MAX_REQUEST) {
    g_strfreev(parts);
    g_free(headers);
    return -1;
  }
  if (buf->len < head_len + (size_t)body_len) {
    g_strfreev(parts);
    g_free(headers);
    return 0;
  }
  up_request *r = calloc(1, sizeof *r);
  r->method = strdup(parts[0]);
  char *q = strchr(parts[1], '?');
  r->path = strndup(parts[1], q ? (size_t)(q - parts[1]) : strlen(parts[1]));
  r->query = strdup(q ? q + 1 : "");
  r->headers = strdup(headers);
  r->body = malloc((size_t)body_len + 1);
  memcpy(r->body, buf->str + head_len, (size_t)body_len);
  r->body[body_len] = '\0';
  r->body_len = (size_t)body_len;
  g_string_erase(buf, 0, (gssize)(head_len + (size_t)body_len));
  g_strfreev(parts);
  g_free(headers);
  *out = r;
  return 1;
}

static up_request *request_copy(const up_request *r) {
  up_request *c = calloc(1, sizeof *c);
  c->method = strdup(r->method);
  c->path = strdup(r->path);
  c->query = strdup(r->query);
  c->headers = strdup(r->headers);
  c->body = malloc(r->body_len + 1);
  memcpy(c->body, r->body, r->body_len + 1);
  c->body_len = r->body_len;
  return c;
}

void up_request_free(up_request *r) {
  if (!r) return;
  free(r->method);
  free(r->path);
  free(r->query);
  free(r->headers);
  free(r->body);
  free(r);
}

void up_set_request_hook(up_server *s, up_request_hook fn, void *user_data) {
  g_mutex_lock(&s->lock);
  s->hook = fn;
  s->hook_data = user_data;
  g_mutex_unlock(&s->lock);
}

/* Record a request and take its scripted response under one lock: with two connections at
 * once, the n-th request recorded is the one that gets the n-th response (taking them under
 * two locks let a second request take the first one's response). Hooks see requests one at
 * a time and in order. */
static resp *record_and_take(up_server *s, const up_request *r) {
  g_mutex_lock(&s->lock);
  if (s->hook) s->hook(r, s->hook_data);
  g_ptr_array_add(s->requests, request_copy(r));
  g_cond_broadcast(&s->changed);
  resp *out = take_response_locked(s, r->path);
  g_mutex_unlock(&s->lock);
  return out;
}

/* ---- serving -------------------------------------------------------------------------- */

static const char *reason(int status) {
  switch (status) {
  case 200: return "OK";
  case 201: return "Created";
  case 204: return "No Content";
  case 400: return "Bad Request";
  case 401: return "Unauthorized";
  case 403: return "Forbidden";
  case 404: return "Not Found";
  case 408: return "Request Timeout";
  case 409: return "Conflict";
  case 413: return "Payload Too Large";
  case 422: return "Unprocessable Entity";
  case 429: return "Too Many Requests";
  case 500: return "Internal Server Error";
  case 502: return "Bad Gateway";
  case 503: return "Service Unavailable";
  case 504: return "Gateway Timeout";
  default: return "Status";
  }
}

/* An embeddings response computed from the request (see up_response.embed_dim): the body
 * of `r` is replaced by it, or by a 400 error when the request has no "input". */
static void embed_answer(resp *r, const up_request *req) {
  json_object *body = json_tokener_parse(req->body), *input = NULL;
  json_object *out = json_object_new_object();
  if (!json_object_object_get_ex(body, "input", &input) ||
      !(json_object_is_type(input, json_type_string) || json_object_is_type(input, json_type_array))) {
    r->status = 400;
    json_object *e = json_object_new_object();
    json_object_object_add(e, "message", json_object_new_string("'input' is required"));
    json_object_object_add(out, "error", e);
  } else {
    bool one = json_object_is_type(input, json_type_string);
    size_t n = one ? 1 : json_object_array_length(input);
    json_object *data = json_object_new_array();
    for (size_t i = 0; i < n; i++) {
      const char *t = json_object_get_string(one ? input : json_object_array_get_idx(input, i));
      size_t len = strlen(t ? t : "");
      json_object *vec = json_object_new_array();
      for (int j = 0; j < r->embed_dim; j++)
        json_object_array_add(vec, json_object_new_int((size_t)j < len ? (unsigned char)t[j] : 0));
      json_object *item = json_object_new_object();
      json_object_object_add(item, "object", json_object_new_string("embedding"));
      json_object_object_add(item, "index", json_object_new_int((int)i));
      json_object_object_add(item, "embedding", vec);
      json_object_array_add(data, item);
    }
    json_object_object_add(out, "object", json_object_new_string("list"));
    json_object_object_add(out, "data", data);
    json_object *usage = json_object_new_object();
    json_object_object_add(usage, "prompt_tokens", json_object_new_int((int)n));
    json_object_object_add(usage, "total_tokens", json_object_new_int((int)n));
    json_object_object_add(out, "usage", usage);
  }
  for (int i = 0; i < r->nchunks; i++) g_free(r->chunks[i].data);
  size_t len = 0;
  const char *text = json_object_to_json_string_length(out, JSON_C_TO_STRING_PLAIN, &len);
  r->chunks = g_renew(chunk, r->chunks, 2);
  r->chunks[0] = (chunk){g_strndup(text, len), len, r->nchunks > 0 ? r->chunks[0].delay_ms : 0};
  r->nchunks = 1;
  json_object_put(out);
  json_object_put(body);
}

static void set_body(resp *r, char *text) {
  for (int i = 0; i < r->nchunks; i++) g_free(r->chunks[i].data);
  size_t len = strlen(text);
  int delay = r->nchunks > 0 ? r->chunks[0].delay_ms : 0;
  r->chunks = g_renew(chunk, r->chunks, 2);
  r->chunks[0] = (chunk){text, len, delay};
  r->nchunks = 1;
}

static char *chunk_event(const char *content, const char *finish) {
  json_object *delta = json_object_new_object();
  if (content) json_object_object_add(delta, "content", json_object_new_string(content));
  json_object *choice = json_object_new_object();
  json_object_object_add(choice, "index", json_object_new_int(0));
  json_object_object_add(choice, "delta", delta);
  json_object_object_add(choice, "finish_reason", finish ? json_object_new_string(finish) : NULL);
  json_object *choices = json_object_new_array();
  json_object_array_add(choices, choice);
  json_object *o = json_object_new_object();
  json_object_object_add(o, "object", json_object_new_string("chat.completion.chunk"));
  json_object_object_add(o, "choices", choices);
  char *ev = g_strdup_printf("data: %s\n\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
  json_object_put(o);
  return ev;
}

/* A chat answer computed from the request (see up_response.echo). */
static void echo_answer(resp *r, const up_request *req) {
  json_object *body = json_tokener_parse(req->body), *msgs = NULL, *stream = NULL;
  const char *text = "";
  if (json_object_object_get_ex(body, "messages", &msgs) &&
      json_object_is_type(msgs, json_type_array) && json_object_array_length(msgs) > 0) {
    json_object *last = json_object_array_get_idx(msgs, json_object_array_length(msgs) - 1);
    json_object *content = NULL;
    if (json_object_object_get_ex(last, "content", &content) && json_object_get_string(content))
      text = json_object_get_string(content);
  }
  if (json_object_object_get_ex(body, "stream", &stream) && json_object_get_boolean(stream)) {
    char *a = chunk_event("echo: ", NULL), *b = chunk_event(text, NULL),
         *c = chunk_event(NULL, "stop");
    set_body(r, g_strconcat(a, b, c, "data: [DONE]\n\n", NULL));
    g_free(a); g_free(b); g_free(c);
    g_free(r->content_type);
    r->content_type = g_strdup("text/event-stream");
    r->chunked = true;
  } else {
    json_object *msg = json_object_new_object();
    json_object_object_add(msg, "role", json_object_new_string("assistant"));
    char *reply = g_strconcat("echo: ", text, NULL);
    json_object_object_add(msg, "content", json_object_new_string(reply));
    g_free(reply);
    json_object *choice = json_object_new_object();
    json_object_object_add(choice, "index", json_object_new_int(0));
    json_object_object_add(choice, "message", msg);
    json_object_object_add(choice, "finish_reason", json_object_new_string("stop"));
    json_object *choices = json_object_new_array();
    json_object_array_add(choices, choice);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "object", json_object_new_string("chat.completion"));
    json_object_object_add(o, "choices", choices);
    set_body(r, g_strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN)));
    json_object_put(o);
  }
  json_object_put(body);
}

/* A send failed: unless the server is stopping, the client went away mid-response. */
static void note_abort(up_server *s) {
  if (stopping(s)) return;
  g_mutex_lock(&s->lock);
  s->naborted++;
  g_mutex_unlock(&s->lock);
}

/* One piece of a body (chunked framing when the response is chunked). */
static bool send_chunk(up_server *s, int fd, const resp *r, const chunk *c) {
  if (c->len == 0) return true; /* an empty chunk would end a chunked body */
  if (!r->chunked) return send_all(s, fd, c->data, c->len);
  char size[32];
  int n = snprintf(size, sizeof size, "%zx\r\n", c->len);
  return send_all(s, fd, size, (size_t)n) && send_all(s, fd, c->data, c->len) &&
         send_all(s, fd, "\r\n", 2);
}

/* Send `r`; false when the connection must be closed afterwards (or already broke). */
static bool serve(up_server *s, int fd, const resp *r, bool keep_alive) {
  write_size = r->faults.write_size;
  if (r->faults.head_delay_ms > 0 && !nap_watch(s, fd, r->faults.head_delay_ms)) return false;
  size_t total = 0;
  for (int i = 0; i < r->nchunks; i++) total += r->chunks[i].len;
  int first_times = r->nchunks > 0 && r->first_times > 1 ? r->first_times : 1;
  if (first_times > 1) total += r->chunks[0].len * (size_t)(first_times - 1);
  GString *head = g_string_new(NULL);
  g_string_append_printf(head, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n", r->status,
                         reason(r->status), r->content_type);
  if (r->chunked) g_string_append(head, "Transfer-Encoding: chunked\r\n");
  else g_string_append_printf(head, "Content-Length: %zu\r\n",
                              r->faults.content_length > 0 ? (size_t)r->faults.content_length : total);
  if (!keep_alive) g_string_append(head, "Connection: close\r\n");
  if (r->headers) g_string_append(head, r->headers);
  if (r->faults.header_pad > 0) append_header_pad(head, r->faults.header_pad);
  g_string_append(head, "\r\n");
  bool ok = send_all(s, fd, head->str, head->len);
  g_string_free(head, TRUE);
  for (int i = 0; ok && i < r->nchunks; i++) {
    if (r->close_after > 0 && i == r->close_after) return false;
    for (int k = 0; ok && k < (i == 0 ? first_times : 1); k++) {
      if (r->chunks[i].delay_ms > 0 && !nap_watch(s, fd, r->chunks[i].delay_ms)) return false;
      ok = send_chunk(s, fd, r, &r->chunks[i]);
    }
  }
  if (!ok || (r->close_after > 0 && r->close_after <= r->nchunks)) {
    if (!ok) note_abort(s);
    return false;
  }
  if (r->stall_ms > 0 && !nap(s, r->stall_ms)) return false;
  if (r->chunked) ok = send_all(s, fd, "0\r\n\r\n", 5);
  if (!ok) note_abort(s);
  return ok && keep_alive;
}

static bool wants_close(const up_request *r) {
  char *c = up_request_header(r, "Connection");
  bool close = c && g_ascii_strcasecmp(c, "close") == 0;
  free(c);
  return close;
}

static void close_conn(conn *c) {
  g_mutex_lock(&c->srv->lock);
  if (c->fd >= 0) close(c->fd);
  c->fd = -1;
  g_mutex_unlock(&c->srv->lock);
}

static gpointer conn_main(gpointer p) {
  conn *c = p;
  up_server *s = c->srv;
  GString *buf = g_string_new(NULL);
  for (bool open = true; open;) {
    up_request *req = NULL;
    int pr;
    while ((pr = parse_request(buf, &req)) == 0)
      if (!recv_more(s, c->fd, buf)) break;
    if (pr <= 0) {
      if (pr < 0) {
        static const char bad[] =
            "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        send_all(s, c->fd, bad, sizeof bad - 1);
      }
      break;
    }
    resp *r = record_and_take(s, req);
    if (!r) r = not_found(req->path);
    if (r->embed_dim > 0) embed_answer(r, req);
    if (r->echo) echo_answer(r, req);
    open = serve(s, c->fd, r, !wants_close(req));
    resp_free(r);
    up_request_free(req);
  }
  g_string_free(buf, TRUE);
  close_conn(c);
  return NULL;
}

static gpointer accept_main(gpointer p) {
  up_server *s = p;
  while (!stopping(s)) {
    struct pollfd pfds[2] = {{s->listen_fd, POLLIN, 0}, {s->wake[0], POLLIN, 0}};
    int pr = poll(pfds, 2, 200);
    if (pr <= 0 || !(pfds[0].revents & POLLIN)) continue;
    int fd = accept(s->listen_fd, NULL, NULL);
    if (fd < 0) continue;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    conn *c = g_new0(conn, 1);
    c->srv = s;
    c->fd = fd;
    g_mutex_lock(&s->lock);
    s->nconnections++;
    g_ptr_array_add(s->conns, c);
    c->thread = g_thread_new("up-conn", conn_main, c);
    g_mutex_unlock(&s->lock);
  }
  return NULL;
}

/* ---- lifecycle and queries ------------------------------------------------------------ */

up_server *up_start(void) {
  up_server *s = g_new0(up_server, 1);
  s->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s->listen_fd < 0) g_error("upstream: socket: %s", g_strerror(errno));
  int one = 1;
  setsockopt(s->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(s->listen_fd, (struct sockaddr *)&addr, sizeof addr) != 0 ||
      listen(s->listen_fd, 128) != 0)
    g_error("upstream: bind/listen: %s", g_strerror(errno));
  socklen_t alen = sizeof addr;
  getsockname(s->listen_fd, (struct sockaddr *)&addr, &alen);
  s->port = ntohs(addr.sin_port);
  snprintf(s->base_url, sizeof s->base_url, "http://127.0.0.1:%d", s->port);
  if (pipe(s->wake) != 0) g_error("upstream: pipe: %s", g_strerror(errno));
  g_mutex_init(&s->lock);
  g_cond_init(&s->changed);
  s->routes = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, queue_free);
  s->requests = g_ptr_array_new_with_free_func((GDestroyNotify)up_request_free);
  s->conns = g_ptr_array_new();
  s->acceptor = g_thread_new("up-accept", accept_main, s);
  return s;
}

void up_stop(up_server *s) {
  if (!s) return;
  g_atomic_int_set(&s->stopping, 1);
  if (write(s->wake[1], "x", 1) < 0) { /* the acceptor polls with a timeout anyway */ }
  g_thread_join(s->acceptor);
  /* No new connections now; wake the connection threads out of poll() and join them. */
  g_mutex_lock(&s->lock);
  for (guint i = 0; i < s->conns->len; i++) {
    conn *c = s->conns->pdata[i];
    if (c->fd >= 0) shutdown(c->fd, SHUT_RDWR);
  }
  g_mutex_unlock(&s->lock);
  for (guint i = 0; i < s->conns->len; i++) {
    conn *c = s->conns->pdata[i];
    g_thread_join(c->thread);
    g_free(c);
  }
  g_ptr_array_free(s->conns, TRUE);
  close(s->listen_fd);
  close(s->wake[0]);
  close(s->wake[1]);
  g_hash_table_destroy(s->routes);
  g_ptr_array_free(s->requests, TRUE);
  g_mutex_clear(&s->lock);
  g_cond_clear(&s->changed);
  g_free(s);
}

int up_port(const up_server *s) { return s->port; }

const char *up_base_url(const up_server *s) { return s->base_url; }

int up_request_count(const up_server *s) {
  up_server *m = (up_server *)s;
  g_mutex_lock(&m->lock);
  int n = (int)m->requests->len;
  g_mutex_unlock(&m->lock);
  return n;
}

int up_request_count_path(const up_server *s, const char *path) {
  up_server *m = (up_server *)s;
  int n = 0;
  g_mutex_lock(&m->lock);
  for (guint i = 0; i < m->requests->len; i++)
    n += !strcmp(((up_request *)m->requests->pdata[i])->path, path);
  g_mutex_unlock(&m->lock);
  return n;
}

int up_connection_count(const up_server *s) {
  up_server *m = (up_server *)s;
  g_mutex_lock(&m->lock);
  int n = m->nconnections;
  g_mutex_unlock(&m->lock);
  return n;
}

int up_aborted_count(const up_server *s) {
  up_server *m = (up_server *)s;
  g_mutex_lock(&m->lock);
  int n = m->naborted;
  g_mutex_unlock(&m->lock);
  return n;
}

up_request *up_request_get(const up_server *s, int i) {
  up_server *m = (up_server *)s;
  g_mutex_lock(&m->lock);
  up_request *r = i >= 0 && (guint)i < m->requests->len ? request_copy(m->requests->pdata[i])
                                                         : NULL;
  g_mutex_unlock(&m->lock);
  return r;
}

bool up_wait_requests(const up_server *s, int n, int timeout_ms) {
  up_server *m = (up_server *)s;
  gint64 end = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
  g_mutex_lock(&m->lock);
  bool ok;
  while (!(ok = (int)m->requests->len >= n))
    if (!g_cond_wait_until(&m->changed, &m->lock, end)) {
      ok = (int)m->requests->len >= n;
      break;
    }
  g_mutex_unlock(&m->lock);
  return ok;
}

/* ---- scripts -------------------------------------------------------------------------- */

static bool script_error(const char *what, const char *path) {
  fprintf(stderr, "upstream: script: %s%s%s\n", what, path ? " in route " : "", path ? path : "");
  return false;
}

static const char *jstr(json_object *o, const char *key) {
  json_object *v;
  return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
             ? json_object_get_string(v) : NULL;
}

static int jint(json_object *o, const char *key) {
  json_object *v;
  return json_object_object_get_ex(o, key, &v) ? json_object_get_int(v) : 0;
}

/* The "chunks" array of a script response; a chunk's "times": N sends it N times, each after
 * its delay (a long stream from a short script). Sets *n; the pieces point into `jc`. */
static up_chunk *load_chunks(json_object *jc, int *n) {
  int len = (int)json_object_array_length(jc), total = 0;
  for (int i = 0; i < len; i++) {
    int times = jint(json_object_array_get_idx(jc, (size_t)i), "times");
    total += times > 0 ? times : 1;
  }
  up_chunk *cs = g_new0(up_chunk, total + 1);
  *n = 0;
  for (int i = 0; i < len; i++) {
    json_object *e = json_object_array_get_idx(jc, (size_t)i);
    const char *d = jstr(e, "data");
    int times = jint(e, "times");
    for (int k = 0; k < (times > 0 ? times : 1); k++)
      cs[(*n)++] = (up_chunk){d ? d : "", d ? strlen(d) : 0, jint(e, "delay_ms")};
  }
  return cs;
}

static bool load_response(up_server *s, const char *path, json_object *jr) {
  if (!json_object_is_type(jr, json_type_object))
    return script_error("response is not an object", path);
  GString *headers = g_string_new(NULL);
  json_object *jh, *jc;
  if (json_object_object_get_ex(jr, "headers", &jh)) {
    if (!json_object_is_type(jh, json_type_object)) {
      g_string_free(headers, TRUE);
      return script_error("\"headers\" is not an object", path);
    }
    json_object_object_foreach(jh, name, value)
      g_string_append_printf(headers, "%s: %s\r\n", name, json_object_get_string(value));
  }
  up_chunk *cs = NULL;
  int n = 0;
  const char *body = jstr(jr, "body"), *b64 = jstr(jr, "body_base64");
  guchar *raw = NULL;
  up_faults faults = {jint(jr, "head_delay_ms"), jint(jr, "content_length"),
                      jint(jr, "write_size"), jint(jr, "header_pad")};
  if (json_object_object_get_ex(jr, "chunks", &jc) && json_object_is_type(jc, json_type_array)) {
    cs = load_chunks(jc, &n);
  } else if (b64) {
    gsize raw_len = 0;
    raw = g_base64_decode(b64, &raw_len);
    n = 1;
    cs = g_new0(up_chunk, 1);
    cs[0] = (up_chunk){(const char *)raw, raw_len, 0};
  } else if (body) {
    n = 1;
    cs = g_new0(up_chunk, 1);
    cs[0] = (up_chunk){body, strlen(body), 0};
  }
  json_object *jb;
  up_response r = {
      .status = jint(jr, "status"),
      .headers = headers->len ? headers->str : NULL,
      .content_type = jstr(jr, "content_type"),
      .chunks = cs,
      .nchunks = n,
      .chunked = json_object_object_get_ex(jr, "chunked", &jb) && json_object_get_boolean(jb),
      .close_after = jint(jr, "close_after"),
      .stall_ms = jint(jr, "stall_ms"),
      .repeat = json_object_object_get_ex(jr, "repeat", &jb) && json_object_get_boolean(jb),
      .embed_dim = jint(jr, "embed_dim"),
      .echo = json_object_get_boolean(json_object_object_get(jr, "echo")),
      .first_times = jint(jr, "first_times"),
  };
  up_push_faults(s, path, &r, &faults);
  g_free(raw);
  g_free(cs);
  g_string_free(headers, TRUE);
  return true;
}

bool up_load_script(up_server *s, const char *json_text) {
  json_object *root = json_tokener_parse(json_text);
  json_object *routes;
  if (!json_object_is_type(root, json_type_object) ||
      !json_object_object_get_ex(root, "routes", &routes) ||
      !json_object_is_type(routes, json_type_object)) {
    json_object_put(root);
    return script_error("expected {\"routes\": {\"/path\": [response, ...]}}", NULL);
  }
  bool ok = true;
  json_object_object_foreach(routes, path, list) {
    if (!json_object_is_type(list, json_type_array)) {
      ok = script_error("responses are not an array", path);
      break;
    }
    for (size_t i = 0; ok && i < json_object_array_length(list); i++)
      ok = load_response(s, path, json_object_array_get_idx(list, i));
    if (!ok) break;
  }
  json_object_put(root);
  return ok;
}
