/* core/net/mcp-http.c: the Streamable HTTP transport of the MCP client (MCP spec,
 * "Transports: Streamable HTTP"), on the library's own HTTP transport (core/net/transport.h:
 * pooled libcurl handles, timeouts, size caps, redacted messages).
 *
 * Every client message is one POST to the endpoint with "Accept: application/json,
 * text/event-stream". The server answers a request with either one JSON body or an SSE stream
 * whose events carry its notifications and then the reply; a notification or a reply of ours
 * gets 202 and no body. The Mcp-Session-Id the server gives at initialize goes back on every
 * later request, with MCP-Protocol-Version once negotiated, and a DELETE ends the session on
 * close. A 404 to a request that carried the id means the server dropped the session: the id
 * is forgotten and session_lost tells the protocol layer to initialize anew. The optional GET stream for unsolicited server messages is not opened: a tool
 * client needs nothing a server could only send there (list_changed also comes on POSTs).
 *
 * This file is the synchronous exchange (the caller's thread steps the transfer) and the
 * reply reader both modes share: an SSE reply is decoded as it arrives, and a request ends
 * at its reply even when the server keeps the stream open. The engine-driven mode (an async
 * tool loop's calls) is core/net/mcp-http-async.c.
 */
#include "net/mcp-http.h"
#include "text/hash.h"
#include "base/error.h"
#include "base/log.h"

#include <string.h>

#define MAX_REPLY_BYTES HVB_MCP_HTTP_MAX_REPLY

typedef hvb_mcp_http http_link;


void hvb__mcp_http_push_json(GQueue *in, const char *text, size_t len) {
  json_tokener *tok = json_tokener_new();
  json_object *v = json_tokener_parse_ex(tok, text, (int)len);
  json_tokener_free(tok);
  if (json_object_is_type(v, json_type_object)) {
    g_queue_push_tail(in, v);
    return;
  }
  if (json_object_is_type(v, json_type_array))
    for (size_t i = 0; i < json_object_array_length(v); i++) {
      json_object *m = json_object_array_get_idx(v, i);
      if (json_object_is_type(m, json_type_object)) g_queue_push_tail(in, json_object_get(m));
    }
  json_object_put(v);
}

static bool on_event(void *ud, const hvb_sse_event *ev, hvb_error *err) {
  (void)err;
  if (ev->data && ev->data_len && (!ev->event || !*ev->event || !strcmp(ev->event, "message")))
    hvb__mcp_http_push_json(ud, ev->data, ev->data_len);
  return true;
}

void hvb__mcp_reader_init(hvb_mcp_reader *r, GQueue *out) {
  memset(r, 0, sizeof *r);
  r->body = g_string_new(NULL);
  r->out = out;
}

hvb_sink_rc hvb__mcp_reader_sink(void *ud, const char *data, size_t len, hvb_error *err) {
  hvb_mcp_reader *r = ud;
  if (!r->sse && !r->body->len &&
      !g_ascii_strncasecmp(hvb__transfer_content_type(r->t), "text/event-stream", 17))
    r->sse = hvb__sse_new(0, 0, on_event, r->out);
  if (!r->sse) {
    g_string_append_len(r->body, data, len);
    return HVB_SINK_PROGRESS;
  }
  int n = hvb__sse_feed(r->sse, data, len, err);
  return n < 0 ? HVB_SINK_ABORT : n > 0 ? HVB_SINK_PROGRESS : HVB_SINK_CONTINUE;
}

void hvb__mcp_reader_reset(void *ud) {
  hvb_mcp_reader *r = ud;
  g_string_truncate(r->body, 0);
  g_clear_pointer(&r->sse, hvb__sse_free);
}

void hvb__mcp_reader_end(hvb_mcp_reader *r) {
  hvb_error ignored = HVB_ERROR_INIT;
  if (r->sse) hvb__sse_feed(r->sse, "\n\n", 2, &ignored); /* an unterminated last event */
  else if (r->body->len) hvb__mcp_http_push_json(r->out, r->body->str, r->body->len);
  g_string_truncate(r->body, 0);
}

void hvb__mcp_reader_clear(hvb_mcp_reader *r) {
  hvb__sse_free(r->sse);
  g_string_free(r->body, TRUE);
  memset(r, 0, sizeof *r);
}

/* Whether `in` holds the reply to request `id`. */
static bool replied(GQueue *in, json_object *id) {
  for (GList *l = in->head; id && l; l = l->next) {
    json_object *m = l->data, *mid = json_object_object_get(m, "id");
    if (mid && !json_object_object_get(m, "method") && json_object_equal(mid, id)) return true;
  }
  return false;
}

char **hvb__mcp_http_headers(http_link *h, bool json_body) {
  GPtrArray *a = g_ptr_array_new_with_free_func(g_free);
  for (guint i = 0; i < h->headers->len; i++) g_ptr_array_add(a, g_strdup(h->headers->pdata[i]));
  if (json_body) g_ptr_array_add(a, g_strdup("Accept: application/json, text/event-stream"));
  if (h->session) g_ptr_array_add(a, g_strdup_printf("Mcp-Session-Id: %s", h->session));
  if (h->version) g_ptr_array_add(a, g_strdup_printf("MCP-Protocol-Version: %s", h->version));
  g_ptr_array_add(a, NULL);
  g_ptr_array_set_free_func(a, NULL);
  return (char **)g_ptr_array_free(a, FALSE);
}

void hvb__mcp_http_adopt(http_link *h, const char *sid) {
  if (*sid && (!h->session || strcmp(sid, h->session))) {
    g_free(h->session);
    h->session = g_strdup(sid);
  }
}

void hvb__mcp_http_failed(http_link *h, bool had_session, hvb_error *err) {
  if (err && err->http_status == 404 && had_session && h->session) { /* spec: a new session */
    hvb__log(HVB_LOG_INFO, "mcp %s: the server no longer knows session %s (404)",
             h->base.label, h->session);
    g_clear_pointer(&h->session, g_free);
    g_clear_pointer(&h->version, g_free);
    h->base.session_lost = true;
  }
  hvb__error_prefix(err, "MCP server %s", h->base.label);
}

/* One HTTP exchange, run until its end, the reply to `id` (when not NULL: an SSE stream the
 * server keeps open after it is not waited for) or the deadline; what it brings into `in`. */
static bool exchange(http_link *h, const char *method, const char *text, json_object *id,
                     GQueue *in, gint64 deadline, hvb_error *err) {
  char **hdrs = hvb__mcp_http_headers(h, text != NULL);
  gint64 left = (deadline - g_get_monotonic_time()) / 1000;
  hvb_http_request req = {.method = method, .url = h->url, .headers = (const char *const *)hdrs,
                          .body = text, .body_len = text ? strlen(text) : 0,
                          .timeout_ms = left > 0 ? left : 1, .max_retries = 0,
                          .max_body_bytes = MAX_REPLY_BYTES};
  hvb_mcp_reader r;
  hvb__mcp_reader_init(&r, in);
  hvb_transfer *t = r.t = hvb__transfer_new(h->client, &req, hvb__mcp_reader_sink,
                                            hvb__mcp_reader_reset, &r);
  g_strfreev(hdrs);
  hvb_step st;
  while ((st = hvb__transfer_step(t, 100, err)) == HVB_STEP_RUNNING && !replied(in, id)) {}
  if (st != HVB_STEP_FAILED) {
    hvb__mcp_http_adopt(h, hvb__transfer_session_id(t));
    hvb__mcp_reader_end(&r);
  } else {
    hvb__mcp_http_failed(h, h->session && text, err);
  }
  hvb__transfer_free(t); /* a stream still open after the reply is closed here */
  hvb__mcp_reader_clear(&r);
  return st != HVB_STEP_FAILED;
}

static bool http_send(hvb_mcp_link *l, json_object *msg, GQueue *in, gint64 deadline,
                      hvb_error *err) {
  const char *text = json_object_to_json_string_ext(msg, JSON_C_TO_STRING_PLAIN);
  json_object *id = json_object_object_get(msg, "method") ? json_object_object_get(msg, "id")
                                                          : NULL;
  return exchange((http_link *)l, "POST", text, id, in, deadline, err);
}

static bool http_pump(hvb_mcp_link *l, GQueue *in, gint64 deadline, hvb_error *err) {
  (void)in;
  (void)deadline;
  return hvb__fail(err, HVB_PARSE, "MCP server %s: its HTTP reply held no JSON-RPC response",
                   l->label);
}

static void http_set_version(hvb_mcp_link *l, const char *version) {
  http_link *h = (http_link *)l;
  g_free(h->version);
  h->version = g_strdup(version);
}

static void http_close(hvb_mcp_link *l) {
  http_link *h = (http_link *)l;
  hvb__mcp_http_hub_drop(h);
  if (h->session) { /* the spec's way to end a session; a server may refuse (405): fine */
    GQueue none = G_QUEUE_INIT;
    hvb_error e = HVB_ERROR_INIT;
    exchange(h, "DELETE", NULL, NULL, &none, g_get_monotonic_time() + 2 * G_USEC_PER_SEC, &e);
    for (json_object *m; (m = g_queue_pop_head(&none));) json_object_put(m);
  }
  hvb__client_unref(h->client);
  g_ptr_array_free(h->headers, TRUE);
  g_free(h->url);
  g_free(h->session);
  g_free(h->version);
  g_free(h->base.label);
  g_free(h);
}

static const hvb_mcp_link_ops http_ops = {http_send,           http_pump,
                                          http_set_version,    hvb__mcp_http_attach,
                                          hvb__mcp_http_post,  hvb__mcp_http_detach,
                                          http_close};

hvb_mcp_link *hvb__mcp_http_new(const char *url, char *const *headers) {
  http_link *h = g_new0(http_link, 1);
  h->base.ops = &http_ops;
  h->base.label = hvb__redact_url(url);
  h->url = g_strdup(url);
  h->headers = g_ptr_array_new_with_free_func(g_free);
  json_object *key = json_object_new_object();
  json_object *hk = json_object_new_array();
  json_object_object_add(key, "mcp", json_object_new_string(url));
  for (char *const *x = headers; x && *x; x++) {
    g_ptr_array_add(h->headers, g_strdup(*x));
    json_object_array_add(hk, json_object_new_string(*x));
    if (!g_ascii_strncasecmp(*x, "Authorization:", 14)) {
      const char *v = *x + 14;
      while (*v == ' ') v++;
      hvb__secret_register(v);
      if (!g_ascii_strncasecmp(v, "Bearer ", 7)) hvb__secret_register(v + 7);
    }
  }
  json_object_object_add(key, "headers", hk);
  char *digest = hvb__hash_json(key); /* a digest: the key holds secrets */
  json_object_put(key);
  h->client = hvb__client_get(digest);
  g_free(digest);
  return &h->base;
}
