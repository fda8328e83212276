/* core/net/transport.c: HTTP transfers on libcurl's multi interface (see transport.h).
 *
 * A transfer owns one easy handle and one multi handle, both borrowed from its client's pools.
 * The easy handle's options are set once; every attempt removes it from the multi handle and
 * adds it again, which makes libcurl start the request afresh. A finished transfer goes back
 * to its client whole (the struct with its easy handle, options still set): the next
 * transfer of the client sets only the options that differ (the body; the URL, headers or
 * timeouts when they changed), which saves a curl_easy_reset, twenty setopts and a 1 KiB
 * allocation per call. The clients and their pools are in pool.c.
 */
#include "net/transfer.h"
#include "net/pool.h"
#include "text/json.h"
#include "base/log.h"
#include "base/error.h"
#include "base/fork.h"

#include <curl/curl.h>
#include <glib.h>
#include <string.h>
#include <time.h>

#define DEFAULT_RETRY_BASE_MS 500
#define DEFAULT_RETRY_MAX_MS 30000

/* ---- transfers ------------------------------------------------------------------------ */

static gint64 now_us(void) { return g_get_monotonic_time(); }

/* Keep scheme, host, port and path: query strings and user info may carry credentials. */
static char *url_for_messages(const char *url) {
  const char *start = url;
  const char *scheme = strstr(url, "://");
  GString *s = g_string_new(NULL);
  if (scheme) {
    g_string_append_len(s, url, scheme + 3 - url);
    start = scheme + 3;
    size_t host_len = strcspn(start, "/?#");
    const char *at = memchr(start, '@', host_len);
    if (at) start = at + 1;
  }
  g_string_append_len(s, start, (gssize)strcspn(start, "?#"));
  return g_string_free(s, FALSE);
}

static bool header_is(const char *line, size_t len, const char *name, const char **value,
                      size_t *value_len) {
  size_t n = strlen(name);
  if (len <= n || line[n] != ':' || g_ascii_strncasecmp(line, name, n) != 0) return false;
  const char *v = line + n + 1, *end = line + len;
  while (v < end && (*v == ' ' || *v == '\t')) v++;
  while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
    end--;
  *value = v;
  *value_len = (size_t)(end - v);
  return true;
}

static long parse_retry_after(const char *v, size_t len, bool millis) {
  char buf[128];
  if (len == 0 || len >= sizeof buf) return -1;
  memcpy(buf, v, len);
  buf[len] = '\0';
  char *end;
  double d = g_ascii_strtod(buf, &end);
  if (end != buf && *end == '\0') {
    if (d < 0 || d != d) return -1;
    d = millis ? d : d * 1000.0;
    return d > (double)G_MAXINT32 ? G_MAXINT32 : (long)d;
  }
  if (millis) return -1;
  time_t when = curl_getdate(buf, NULL);
  if (when == -1) return -1;
  double delta = difftime(when, time(NULL));
  if (delta <= 0) return 0;
  return delta * 1000.0 > (double)G_MAXINT32 ? G_MAXINT32 : (long)(delta * 1000.0);
}

static void (*activity_fn)(void *owner);

void hvb__transfer_on_activity(void (*fn)(void *owner)) {
  activity_fn = fn;
}

static inline void activity(hvb_transfer *t) {
  if (t->owner && activity_fn) activity_fn(t->owner);
}

static size_t on_header(char *line, size_t size, size_t nitems, void *ud) {
  hvb_transfer *t = ud;
  activity(t);
  size_t len = size * nitems;
  const char *v;
  size_t vlen;
  if (t->ncapture) hvb__xfer_capture(t, line, len); /* the status line matches no name */
  if (len > 5 && memcmp(line, "HTTP/", 5) == 0) {
    /* A new response (also after 1xx): forget what an earlier one said. */
    const char *p = memchr(line, ' ', len);
    t->status = p ? strtol(p + 1, NULL, 10) : 0;
    t->retry_after_ms = -1;
    t->hint_ms = false;
    t->content_type[0] = '\0';
    t->session_id[0] = '\0';
    hvb__xfer_capture_clear(t);
  } else if (header_is(line, len, "mcp-session-id", &v, &vlen)) {
    size_t n = MIN(vlen, sizeof t->session_id - 1);
    memcpy(t->session_id, v, n);
    t->session_id[n] = '\0';
  } else if (header_is(line, len, "content-type", &v, &vlen)) {
    size_t n = MIN(vlen, sizeof t->content_type - 1); /* curl's line has no NUL */
    memcpy(t->content_type, v, n);
    t->content_type[n] = '\0';
  } else if (header_is(line, len, "retry-after-ms", &v, &vlen)) {
    long ms = parse_retry_after(v, vlen, true);
    if (ms >= 0) {
      t->retry_after_ms = ms;
      t->hint_ms = true;
    }
  } else if (!t->hint_ms && header_is(line, len, "retry-after", &v, &vlen)) {
    t->retry_after_ms = parse_retry_after(v, vlen, false);
  }
  return len;
}


static size_t on_body(char *data, size_t size, size_t nmemb, void *ud) {
  hvb_transfer *t = ud;
  activity(t);
  size_t len = size * nmemb;
  if (!status_ok(t->status)) {
    if (t->error_body->len < ERROR_BODY_MAX)
      g_string_append_len(t->error_body, data,
                          (gssize)MIN(len, ERROR_BODY_MAX - t->error_body->len));
    return len;
  }
  if (t->max_body_bytes && len > t->max_body_bytes - MIN(t->body_bytes, t->max_body_bytes)) {
    /* Streamed or not: a server must not make us hold (or decode) without bound. */
    hvb__fail(&t->err, HVB_TOO_LARGE, "reply from %s is larger than %zu bytes, the limit%s%s%s",
              t->shown_url, t->max_body_bytes, t->max_body_setting ? " (" : "",
              t->max_body_setting ? t->max_body_setting : "", t->max_body_setting ? ")" : "");
    t->sink_aborted = true;
    return CURL_WRITEFUNC_ERROR;
  }
  t->body_bytes += len;
  if (!t->body_fn) return len;
  hvb_sink_rc rc = t->body_fn(t->user_data, data, len, &t->err);
  if (rc == HVB_SINK_ABORT) {
    t->sink_aborted = true;
    if (t->err.status == HVB_OK)
      hvb__fail(&t->err, HVB_CANCELLED, "body handler stopped the transfer from %s",
                t->shown_url);
    return CURL_WRITEFUNC_ERROR;
  }
  if (rc == HVB_SINK_PROGRESS) t->last_progress = now_us();
  return len;
}

#if LIBCURL_VERSION_NUM >= 0x075000
/* Runs once the connection is up (new or reused), before the request is sent. */
static int on_prereq(void *ud, char *conn_primary_ip, char *conn_local_ip, int primary_port,
                     int local_port) {
  (void)conn_primary_ip; (void)conn_local_ip; (void)primary_port; (void)local_port;
  ((hvb_transfer *)ud)->connected = true;
  return CURL_PREREQFUNC_OK;
}
#endif

static bool configure_easy(hvb_transfer *t) {
  CURL *e = t->easy;
  bool ok = true;
#define SET(opt, val) ok = ok && curl_easy_setopt(e, opt, val) == CURLE_OK
  SET(CURLOPT_URL, t->url);
  SET(CURLOPT_NOSIGNAL, 1L);
  SET(CURLOPT_ERRORBUFFER, t->curl_err);
  SET(CURLOPT_HTTPHEADER, t->headers);
  SET(CURLOPT_HEADERFUNCTION, on_header);
  SET(CURLOPT_HEADERDATA, t);
  SET(CURLOPT_WRITEFUNCTION, on_body);
  SET(CURLOPT_WRITEDATA, t);
#if LIBCURL_VERSION_NUM >= 0x075000
  SET(CURLOPT_PREREQFUNCTION, on_prereq);
  SET(CURLOPT_PREREQDATA, t);
#endif
  SET(CURLOPT_TCP_KEEPALIVE, 1L);
  SET(CURLOPT_TCP_KEEPIDLE, 30L);
  SET(CURLOPT_TCP_KEEPINTVL, 15L);
  SET(CURLOPT_CONNECTTIMEOUT_MS, t->connect_timeout_ms);
#if LIBCURL_VERSION_NUM >= 0x075500
  SET(CURLOPT_PROTOCOLS_STR, "http,https");
#else
  SET(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
  if (t->has_body) {
    SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)t->body_len);
    SET(CURLOPT_POSTFIELDS, t->body);
  }
  if (t->mime) {
    SET(CURLOPT_MIMEPOST, t->mime);
  } else if (strcmp(t->method, "GET") == 0) {
    if (!t->has_body) SET(CURLOPT_HTTPGET, 1L);
    else SET(CURLOPT_CUSTOMREQUEST, "GET");
  } else if (strcmp(t->method, "POST") == 0) {
    if (!t->has_body) {
      SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
      SET(CURLOPT_POSTFIELDS, "");
    }
  } else if (strcmp(t->method, "HEAD") == 0) {
    SET(CURLOPT_NOBODY, 1L);
  } else {
    SET(CURLOPT_CUSTOMREQUEST, t->method);
  }
#undef SET
  return ok;
}

static bool has_header(const char *const *headers, const char *name) {
  size_t n = strlen(name);
  for (; headers && *headers; headers++)
    if (g_ascii_strncasecmp(*headers, name, n) == 0 && (*headers)[n] == ':') return true;
  return false;
}

static void attempt_reset(hvb_transfer *t) {
  t->status = 0;
  t->retry_after_ms = -1;
  t->hint_ms = false;
  t->content_type[0] = '\0';
  t->session_id[0] = '\0';
  hvb__xfer_capture_clear(t);
  g_string_truncate(t->error_body, 0);
  t->body_bytes = 0;
  t->sink_aborted = false;
  t->connected = false;
  t->curl_err[0] = '\0';
}

static void fail_now(hvb_transfer *t) {
  t->st = ST_FAILED;
  if (t->in_multi) {
    curl_multi_remove_handle(t->multi, t->easy);
    t->in_multi = false;
  }
}

/* Give the attempt the time left before the deadline (libcurl's whole-transfer timeout),
 * none without one. False when nothing is left. */
static bool attempt_time(hvb_transfer *t, gint64 now) {
  long ms = 0;
  if (t->deadline) {
    gint64 left_us = t->deadline - now;
    if (left_us <= 0) return false;
    ms = (long)MAX((left_us + 999) / 1000, 1);
  }
  t->attempt_timeout_ms = ms;
  return curl_easy_setopt(t->easy, CURLOPT_TIMEOUT_MS, ms) == CURLE_OK;
}

static void start_attempt(hvb_transfer *t) {
  attempt_reset(t);
  gint64 now = now_us();
  if (!attempt_time(t, now)) {
    hvb__xfer_fail_deadline(t);
    fail_now(t);
    return;
  }
  if (t->attempts == 0) t->first_start_us = now;
  else t->waited_us += now - t->end_us;
  t->attempts++;
  t->attempt_start = t->last_progress = now;
  if (t->debug)
    hvb__log(HVB_LOG_DEBUG, "%s %s: attempt %d of %d", t->method, t->shown_url, t->attempts,
             t->max_retries + 1);
  CURLMcode mc = curl_multi_add_handle(t->multi, t->easy);
  if (mc != CURLM_OK) {
    hvb__fail(&t->err, HVB_TRANSPORT, "%s %s: cannot start the transfer: %s", t->method,
              t->shown_url, curl_multi_strerror(mc));
    fail_now(t);
    return;
  }
  t->in_multi = true;
  t->st = ST_RUNNING;
}

/* Whether `headers` is exactly what the request asks for: its lines, then the
 * Content-Type and Expect lines new_detached adds. */
static bool headers_match(const struct curl_slist *l, const hvb_http_request *req, bool ctype,
                          bool expect) {
  for (const char *const *h = req->headers; h && *h; h++, l = l->next)
    if (!l || strcmp(l->data, *h) != 0) return false;
  if (ctype) {
    if (!l || strcmp(l->data, "Content-Type: application/json") != 0) return false;
    l = l->next;
  }
  if (expect) {
    if (!l || strcmp(l->data, "Expect:") != 0) return false;
    l = l->next;
  }
  return l == NULL;
}

/* The line of `l` for request header `h` when only its value differs, in a value of the same
 * length (a traceparent header: new on every call). */
static bool same_shape(const char *line, const char *h) {
  const char *colon = strchr(h, ':');
  size_t name = colon ? (size_t)(colon - h) + 1 : 0;
  return name && strlen(line) == strlen(h) && !strncmp(line, h, name);
}

/* When `l` has the request's lines but for values of the same length, write the new values
 * over the old ones and say so: rebuilding the list for each call cost more than the rest
 * of the header handling. The lines are libcurl's (curl_slist_append), of the right size. */
static bool headers_patch(struct curl_slist *l, const hvb_http_request *req, bool ctype,
                          bool expect) {
  struct curl_slist *first = l;
  for (const char *const *h = req->headers; h && *h; h++, l = l->next)
    if (!l || !same_shape(l->data, *h)) return false;
  if (ctype) {
    if (!l || strcmp(l->data, "Content-Type: application/json") != 0) return false;
    l = l->next;
  }
  if (expect) {
    if (!l || strcmp(l->data, "Expect:") != 0) return false;
    l = l->next;
  }
  if (l) return false;
  l = first;
  for (const char *const *h = req->headers; h && *h; h++, l = l->next)
    memcpy(l->data, *h, strlen(*h));
  return true;
}

/* An idle transfer of `client` (see hvb__transfer_free) with its fields but the reusable
 * ones cleared, or NULL. */
static hvb_transfer *xfer_take(hvb_client *client) {
  hvb_transfer *old = hvb__client_idle_take(client);
  if (!old) return NULL;
  hvb_transfer keep = *old;
  memset(old, 0, sizeof *old);
  old->easy = keep.easy;
  old->configured = true;
  old->url = keep.url;
  old->shown_url = keep.shown_url;
  old->method = keep.method;
  old->body = keep.body;
  old->has_body = keep.has_body;
  old->body_cap = keep.body_cap;
  old->headers = keep.headers;
  old->connect_timeout_ms = keep.connect_timeout_ms;
  old->timeout_ms = keep.timeout_ms;
  old->error_body = keep.error_body;
  g_string_truncate(old->error_body, 0);
  return old;
}

/* What a reused transfer must set again on its easy handle; everything else it keeps. */
typedef struct changes {
  bool reused; /* the transfer and its configured easy handle come from the client's pool */
  bool url, method, headers, timeouts;
} changes;

/* Method and URL; `had_body`: the reused transfer sent a body. */
static void set_target(hvb_transfer *t, const hvb_http_request *req, bool had_body,
                       changes *ch) {
  const char *url = req->url ? req->url : "";
  const char *method = req->method ? req->method : req->body || req->nparts ? "POST" : "GET";
  ch->url = !ch->reused || strcmp(t->url, url) != 0;
  /* A form always starts from a clean handle (see set_form). */
  ch->method = !ch->reused || strcmp(t->method, method) != 0 ||
               had_body != (req->body != NULL) || req->nparts > 0;
  if (ch->url) {
    g_free(t->url);
    g_free(t->shown_url);
    t->url = g_strdup(url);
    t->shown_url = url_for_messages(t->url);
  }
  if (!ch->reused || strcmp(t->method, method) != 0) {
    g_free(t->method);
    t->method = g_strdup(method);
  }
}

/* A copy of the body, in the buffer of an earlier call when it is large enough. */
static void set_body(hvb_transfer *t, const hvb_http_request *req) {
  t->body_len = 0;
  t->has_body = req->body != NULL;
  if (!req->body) return;
  if (req->body_len + 1 > t->body_cap) {
    g_free(t->body);
    t->body_cap = req->body_len + 1;
    t->body = g_malloc(t->body_cap);
  }
  memcpy(t->body, req->body, req->body_len);
  t->body[req->body_len] = '\0';
  t->body_len = req->body_len;
}

/* The multipart form of a request with parts, on t's easy handle (ready by now): curl_mime_data
 * copies each part, so the request may be freed. The transfer owns the form and frees it
 * with itself; libcurl rewinds it for every attempt. False with t failed. */
static bool set_form(hvb_transfer *t, const hvb_http_request *req) {
  if (!req->nparts) return true;
  t->mime = curl_mime_init(t->easy);
  bool ok = t->mime != NULL && req->parts != NULL;
  for (size_t i = 0; ok && i < req->nparts; i++) {
    const hvb_http_part *p = &req->parts[i];
    curl_mimepart *part = curl_mime_addpart(t->mime);
    ok = part && p->name && curl_mime_name(part, p->name) == CURLE_OK &&
         curl_mime_data(part, p->data ? p->data : "", p->data ? p->len : 0) == CURLE_OK &&
         (!p->filename || curl_mime_filename(part, p->filename) == CURLE_OK) &&
         (!p->content_type || curl_mime_type(part, p->content_type) == CURLE_OK);
  }
  if (ok) return true;
  hvb__fail(&t->err, HVB_EINVAL, "%s %s: cannot build the multipart form (a part without a name, "
            "or out of memory)", t->method, t->shown_url);
  t->st = ST_FAILED;
  return false;
}

static void set_headers(hvb_transfer *t, const hvb_http_request *req, changes *ch) {
  /* libcurl would otherwise send a form content type for a body, and wait for
   * "100 Continue" before sending a large one. */
  bool ctype = req->body && !has_header(req->headers, "Content-Type");
  bool expect = !has_header(req->headers, "Expect");
  ch->headers = !ch->reused || !headers_match(t->headers, req, ctype, expect);
  if (!ch->headers) return;
  if (headers_patch(t->headers, req, ctype, expect)) {
    ch->headers = false; /* the same list, which libcurl reads when it sends */
    return;
  }
  curl_slist_free_all(t->headers);
  t->headers = NULL;
  for (const char *const *h = req->headers; h && *h; h++)
    t->headers = curl_slist_append(t->headers, *h);
  if (ctype) t->headers = curl_slist_append(t->headers, "Content-Type: application/json");
  if (expect) t->headers = curl_slist_append(t->headers, "Expect:");
}

/* Timeouts and retries. */
static void set_limits(hvb_transfer *t, const hvb_http_request *req, changes *ch) {
  long connect_timeout_ms = MAX(req->connect_timeout_ms, 0), timeout_ms = MAX(req->timeout_ms, 0);
  ch->timeouts = !ch->reused || connect_timeout_ms != t->connect_timeout_ms;
  t->connect_timeout_ms = connect_timeout_ms;
  t->timeout_ms = timeout_ms;
  /* The caller's timeout is how long it waits for the whole call (README): one deadline for
   * every attempt and every wait between them, from now. */
  t->deadline = timeout_ms > 0 ? now_us() + (gint64)timeout_ms * 1000 : 0;
  t->max_body_bytes = req->max_body_bytes;
  t->max_body_setting = req->max_body_setting;
  t->idle_timeout_ms = MAX(req->idle_timeout_ms, 0);
  t->max_retries = MAX(req->max_retries, 0);
  t->retry_base_ms = req->retry_base_ms > 0 ? req->retry_base_ms : DEFAULT_RETRY_BASE_MS;
  t->retry_max_ms = req->retry_max_ms > 0 ? req->retry_max_ms : DEFAULT_RETRY_MAX_MS;
}

/* The easy handle the transfer sets its options on. False with t failed. */
static bool easy_ready(hvb_transfer *t, hvb_client *client, changes *ch) {
  if (ch->reused && ch->method) {
    /* Another method, or a body where there was none: start from a clean handle rather
     * than undo the old method's options one by one. */
    curl_easy_reset(t->easy);
    if (hvb__client_share(client))
      curl_easy_setopt(t->easy, CURLOPT_SHARE, hvb__client_share(client));
    ch->reused = false;
  }
  if (!t->easy) t->easy = hvb__client_easy_take(client);
  if (!t->easy) {
    hvb__fail(&t->err, HVB_ENOMEM, "%s %s: cannot create a libcurl handle", t->method,
              t->shown_url);
    t->st = ST_FAILED;
    return false;
  }
  return true;
}

/* A reused handle: only the options that differ from its last call. */
static bool reconfigure_easy(hvb_transfer *t, const changes *ch) {
  bool ok = true;
#define SET(opt, val) ok = ok && curl_easy_setopt(t->easy, opt, val) == CURLE_OK
  if (ch->url) SET(CURLOPT_URL, t->url);
  if (ch->headers) SET(CURLOPT_HTTPHEADER, t->headers);
  if (ch->timeouts) SET(CURLOPT_CONNECTTIMEOUT_MS, t->connect_timeout_ms);
  if (t->has_body) {
    SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)t->body_len);
    SET(CURLOPT_POSTFIELDS, t->body);
  }
#undef SET
  return ok;
}

hvb_transfer *hvb__transfer_new_detached(hvb_client *client, const hvb_http_request *req,
                                         hvb_body_fn body_fn, hvb_reset_fn reset_fn,
                                         void *user_data) {
  hvb__net_global_init();
  hvb_transfer *t = client && req->url && *req->url ? xfer_take(client) : NULL;
  changes ch = {.reused = t != NULL};
  bool had_body = ch.reused && t->has_body;
  if (!t) t = g_new0(hvb_transfer, 1);
  t->client = client;
  t->owner = NULL;
  t->gen = hvb__fork_generation();
  t->created_us = now_us();
  t->first_start_us = t->end_us = t->waited_us = 0;
  hvb__client_ref(client);
  set_target(t, req, had_body, &ch);
  set_body(t, req);
  set_headers(t, req, &ch);
  set_limits(t, req, &ch);
  t->body_fn = body_fn;
  t->reset_fn = reset_fn;
  t->user_data = user_data;
  t->error_reader = req->error_body;
  t->error_reader_data = req->error_body_data;
  t->on_attempt = req->on_attempt;
  t->attempt_data = req->attempt_data;
  hvb__xfer_capture_set(t, req->capture_headers, req->ncapture);
  t->debug = hvb__log_enabled(HVB_LOG_DEBUG);
  if (!t->error_body) t->error_body = g_string_new(NULL);
  t->retry_after_ms = -1;

  if (!client || !req->url || !*req->url) {
    hvb__fail(&t->err, HVB_EINVAL, "HTTP request without a %s", client ? "URL" : "client");
    t->st = ST_FAILED;
    return t;
  }
  if (!easy_ready(t, client, &ch) || !set_form(t, req)) return t;
  t->configured = false;
  if (!(ch.reused ? reconfigure_easy(t, &ch) : configure_easy(t))) {
    hvb__fail(&t->err, HVB_EINVAL, "%s %s: libcurl rejected the request options", t->method,
              t->shown_url);
    t->st = ST_FAILED;
    return t;
  }
  t->configured = true;
  return t;
}

hvb_transfer *hvb__transfer_new(hvb_client *client, const hvb_http_request *req,
                                hvb_body_fn body_fn, hvb_reset_fn reset_fn, void *user_data) {
  hvb_transfer *t = hvb__transfer_new_detached(client, req, body_fn, reset_fn, user_data);
  if (t->st == ST_FAILED) return t;
  t->multi = hvb__client_multi_take(client);
  if (!t->multi) {
    hvb__fail(&t->err, HVB_ENOMEM, "%s %s: cannot create a libcurl multi handle", t->method,
              t->shown_url);
    t->st = ST_FAILED;
    return t;
  }
  start_attempt(t);
  return t;
}

bool hvb__transfer_attach(hvb_transfer *t, void *multi, void *owner, hvb_error *err) {
  if (t->st == ST_FAILED) {
    if (err) *err = t->err;
    return false;
  }
  t->multi = multi;
  t->attached = true;
  curl_easy_setopt(t->easy, CURLOPT_PRIVATE, owner);
  t->owner = owner;
  start_attempt(t);
  if (t->st == ST_FAILED) {
    if (err) *err = t->err;
    return false;
  }
  return true;
}

void *hvb__transfer_owner_of(void *easy) {
  char *owner = NULL;
  curl_easy_getinfo((CURL *)easy, CURLINFO_PRIVATE, &owner);
  return owner;
}

static void tell_attempt(hvb_transfer *t, const hvb_error *failure) {
  if (t->on_attempt)
    t->on_attempt(t->attempt_data, t->attempts, t->attempt_start, now_us(), t->status, failure);
}

static void finish_attempt(hvb_transfer *t, CURLcode rc) {
  t->end_us = now_us();
  curl_multi_remove_handle(t->multi, t->easy);
  t->in_multi = false;
  if (rc == CURLE_OK && status_ok(t->status)) {
    tell_attempt(t, NULL);
    if (t->debug)
      hvb__log(HVB_LOG_DEBUG, "%s %s: HTTP %ld, %zu bytes, attempt %d", t->method, t->shown_url,
               t->status, t->body_bytes, t->attempts);
    t->st = ST_DONE;
    return;
  }
  bool retryable = hvb__xfer_classify(t, rc);
  tell_attempt(t, &t->err);
  if (!retryable || t->committed || t->attempts > t->max_retries) {
    if (retryable && t->attempts > 1)
      hvb__error_prefix(&t->err, "after %d attempts", t->attempts);
    hvb__log(HVB_LOG_DEBUG, "%s %s: giving up after attempt %d: %s", t->method, t->shown_url,
             t->attempts, t->err.message);
    t->st = ST_FAILED;
    return;
  }
  long delay = hvb__xfer_backoff_ms(t);
  if (hvb__xfer_wait_crosses_deadline(t, delay)) return;
  hvb__log(HVB_LOG_DEBUG, "%s %s: attempt %d failed (%s); retrying in %ld ms", t->method,
           t->shown_url, t->attempts, t->err.message, delay);
  if (t->reset_fn) t->reset_fn(t->user_data);
  hvb_error_clear(&t->err);
  t->wait_until = now_us() + (gint64)delay * 1000;
  t->st = ST_WAITING;
}

static void idle_timeout(hvb_transfer *t) {
  hvb__fail(&t->err, HVB_TIMEOUT, "idle timeout: no data from %s for %ld ms", t->shown_url,
            t->idle_timeout_ms);
  hvb__log(HVB_LOG_DEBUG, "%s %s: %s", t->method, t->shown_url, t->err.message);
  tell_attempt(t, &t->err);
  fail_now(t);
}

static gint64 idle_deadline(const hvb_transfer *t) {
  return MAX(t->attempt_start, t->last_progress) + (gint64)t->idle_timeout_ms * 1000;
}

static hvb_step finished(hvb_transfer *t, hvb_error *err) {
  if (t->st == ST_DONE) return HVB_STEP_DONE;
  if (err) *err = t->err;
  return HVB_STEP_FAILED;
}

/* Finish the attempt when libcurl reports our transfer done; true when it did. */
static bool collect_done(hvb_transfer *t) {
  int queued;
  CURLMsg *msg;
  while ((msg = curl_multi_info_read(t->multi, &queued)))
    if (msg->msg == CURLMSG_DONE && msg->easy_handle == t->easy) {
      finish_attempt(t, msg->data.result);
      return true;
    }
  return false;
}

/* The time-driven part of a transfer, shared by the synchronous step and the async engine:
 * start the next attempt once its backoff has passed, fail an attempt that went idle too long.
 * *next_us (when not NULL) gets the monotonic time by which this must run again (0: none). */
static void timers(hvb_transfer *t, gint64 now, gint64 *next_us) {
  if (next_us) *next_us = 0;
  if (t->st == ST_WAITING && now >= t->wait_until) start_attempt(t);
  if (t->st == ST_RUNNING && t->idle_timeout_ms > 0 && now >= idle_deadline(t)) idle_timeout(t);
  if (!next_us) return;
  if (t->st == ST_WAITING) *next_us = t->wait_until;
  else if (t->st == ST_RUNNING && t->idle_timeout_ms > 0) *next_us = idle_deadline(t);
}

static hvb_step state_step(hvb_transfer *t, hvb_error *err) {
  return t->st == ST_RUNNING || t->st == ST_WAITING ? HVB_STEP_RUNNING : finished(t, err);
}

hvb_step hvb__transfer_tick(hvb_transfer *t, long long now_mono_us, long long *next_us,
                            hvb_error *err) {
  gint64 next = 0;
  timers(t, (gint64)now_mono_us, &next);
  if (next_us) *next_us = next;
  return state_step(t, err);
}

hvb_step hvb__transfer_done(hvb_transfer *t, int curl_code, hvb_error *err) {
  if (t->st == ST_RUNNING) finish_attempt(t, (CURLcode)curl_code);
  return state_step(t, err);
}

/* A transfer stepped in a child of the process that started it (a synchronous stream read
 * across fork()): its connection is the parent's, so it ends here, without touching it. */
static hvb_step forked_transfer(hvb_transfer *t, hvb_error *err) {
  if (t->st == ST_RUNNING || t->st == ST_WAITING) {
    hvb__fail(&t->err, HVB_TRANSPORT,
              "%s %s: the transfer was started before fork(): it does not run in the child "
              "process", t->method, t->shown_url);
    t->st = ST_FAILED;
  }
  return finished(t, err);
}

hvb_step hvb__transfer_step(hvb_transfer *t, int wait_ms, hvb_error *err) {
  if (G_UNLIKELY(t->gen != hvb__fork_generation())) return forked_transfer(t, err);
  if (wait_ms < 0) wait_ms = 0;
  if (t->st == ST_WAITING) {
    gint64 left = t->wait_until - now_us();
    if (left > 0) {
      g_usleep((gulong)MIN(left, (gint64)wait_ms * 1000));
      if (t->wait_until > now_us()) return HVB_STEP_RUNNING;
    }
    timers(t, now_us(), NULL);
  }
  if (t->st != ST_RUNNING) return finished(t, err);

  int timeout = wait_ms;
  if (t->idle_timeout_ms > 0) {
    gint64 left_ms = (idle_deadline(t) - now_us() + 999) / 1000;
    timeout = (int)CLAMP(left_ms, 0, timeout);
  }
  /* Work first, wait only when nothing is ready: a reply that already arrived is read without
   * a poll round trip, which is most of a keep-alive call's latency on loopback. */
  int running = 0;
  CURLMcode mc = curl_multi_perform(t->multi, &running);
  if (mc == CURLM_OK && !collect_done(t) && running) {
    mc = curl_multi_poll(t->multi, NULL, 0, timeout, NULL);
    if (mc == CURLM_OK) mc = curl_multi_perform(t->multi, &running);
    if (mc == CURLM_OK) collect_done(t);
  }
  if (mc != CURLM_OK) {
    hvb__fail(&t->err, HVB_TRANSPORT, "%s %s: libcurl multi error: %s", t->method,
              t->shown_url, curl_multi_strerror(mc));
    fail_now(t);
    return finished(t, err);
  }
  timers(t, now_us(), NULL);
  return state_step(t, err);
}

void hvb__transfer_commit(hvb_transfer *t) { t->committed = true; }

long hvb__transfer_status(const hvb_transfer *t) { return t->status; }

int hvb__transfer_attempts(const hvb_transfer *t) { return t->attempts; }

const char *hvb__transfer_content_type(const hvb_transfer *t) { return t->content_type; }

const char *hvb__transfer_url(const hvb_transfer *t) { return t->url; }

long long hvb__transfer_deadline(const hvb_transfer *t) { return t->deadline; }

bool hvb__transfer_multiplexed(const hvb_transfer *t) {
  long v = 0;
  return curl_easy_getinfo(t->easy, CURLINFO_HTTP_VERSION, &v) == CURLE_OK &&
         v >= CURL_HTTP_VERSION_2_0;
}
long hvb__transfer_retry_after_ms(const hvb_transfer *t) { return t->retry_after_ms; }

const char *hvb__transfer_session_id(const hvb_transfer *t) { return t->session_id; }

/* Free a transfer that belongs to no client (and no multi) any more. */
static void xfer_destroy(hvb_transfer *t) {
  if (t->easy) curl_easy_cleanup(t->easy);
  curl_slist_free_all(t->headers);
  curl_mime_free(t->mime);
  if (t->error_body) g_string_free(t->error_body, TRUE);
  g_free(t->method);
  g_free(t->url);
  g_free(t->shown_url);
  g_free(t->body);
  g_free(t);
}

static void xfer_free_idle(void *t) { xfer_destroy(t); }

void hvb__transfer_free(hvb_transfer *t) {
  if (!t) return;
  if (G_UNLIKELY(t->gen != hvb__fork_generation())) {
    /* Made before fork(): its handles may hold the parent's connection; removing or
     * resetting them could close it under the parent. Keep them, untouched. */
    hvb__fork_keep(t->easy);
    if (!t->attached) hvb__fork_keep(t->multi);
    t->easy = NULL;
    t->multi = NULL;
    t->in_multi = false;
  }
  if (t->in_multi) curl_multi_remove_handle(t->multi, t->easy);
  t->in_multi = false;
  hvb_client *client = t->client;
  if (!t->attached) hvb__client_multi_give(client, t->multi);
  t->multi = NULL;
  if (t->mime) t->configured = false; /* its handle points at the form: reset, not pooled */
  if (client && t->easy && t->configured) {
    /* Back to the client whole, options set (see xfer_take); nothing of the call stays
     * reachable from the handle. */
    curl_easy_setopt(t->easy, CURLOPT_PRIVATE, NULL);
    t->owner = NULL;
    t->client = NULL;
    t->body_fn = NULL;
    t->reset_fn = NULL;
    t->user_data = NULL;
    if (hvb__client_idle_give(client, t, xfer_free_idle)) {
      hvb__client_unref(client);
      return;
    }
    t->client = client;
  }
  hvb__client_easy_give(client, t->easy);
  t->easy = NULL;
  hvb__client_unref(client);
  xfer_destroy(t);
}

bool hvb__http_perform(hvb_client *client, const hvb_http_request *req, hvb_body_fn body_fn,
                       hvb_reset_fn reset_fn, void *user_data, hvb_error *err) {
  hvb_transfer *t = hvb__transfer_new(client, req, body_fn, reset_fn, user_data);
  hvb_step st;
  while ((st = hvb__transfer_step(t, 1000, err)) == HVB_STEP_RUNNING) {}
  hvb__transfer_free(t);
  return st == HVB_STEP_DONE;
}
