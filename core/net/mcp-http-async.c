/* core/net/mcp-http-async.c: the Streamable HTTP link's engine-driven mode (attach, post,
 * detach of net/mcp-link.h): every message posted is one POST run by the async engine as a
 * unit of work (net/engine.h), so an async loop's MCP call over HTTP needs no thread.
 *
 * The reply body is read as it arrives: an SSE stream (text/event-stream) goes through the
 * chat stream's decoder (text/sse.c) chunk by chunk, so the server's notifications and the
 * reply reach the JSON-RPC client (core/net/mcp-rpc.c) as soon as their event is complete,
 * at the engine's next delivery point (never inside libcurl's callbacks); a JSON body is read
 * whole at the end. The request's POST is stopped when the request is over (its reply came,
 * its deadline passed or it was aborted: detach), even if the server keeps its stream open.
 *
 * Order: a notification (or our answer to a server request) goes out before anything posted
 * after it, so notifications/initialized reaches the server before the request that follows
 * a new session; posts made while one is in flight wait for its response (202, at once).
 *
 * State shared by the link and its posts is the hub, on the engine thread only, except its
 * reference count: a post may outlive its link (a notifications/cancelled still in flight
 * when hvb_mcp_free closes it) and then touches neither the link nor the JSON-RPC client. The
 * link itself is used by a post only while attached (its owner keeps it alive until then).
 */
#include "net/mcp-http.h"
#include "net/engine.h"
#include "base/error.h"
#include "base/log.h"

#include <string.h>

#define NOTE_TIMEOUT_MS 10000 /* a notification's POST: the server answers 202 at once */

struct hvb_mcp_hub {
  gint refs;
  hvb_client *client;
  hvb_mcp_http *link; /* valid while attached */
  GQueue *in;
  void (*ready)(void *data, const hvb_error *gone); /* NULL: not attached */
  void *ready_data;
  unsigned gen;                  /* attachments so far: a post knows whose request it is */
  struct mcp_post *request;      /* the attachment's request POST (a reference), or NULL */
  GQueue waiting;                /* posts not yet submitted, in order */
  int notes;                     /* notification POSTs submitted and not over */
};

typedef struct mcp_post {
  hvb_work work;
  hvb_mcp_hub *hub;
  hvb_mcp_reader r; /* its transfer in r.t; into `got` (read inside libcurl's callbacks) */
  unsigned gen;
  bool request, had_session, submitted;
  GQueue got;       /* messages read, not yet handed to the client */
  hvb_step st;
  hvb_error failure;
} mcp_post;

static void hub_unref(hvb_mcp_hub *h) {
  if (!h || !g_atomic_int_dec_and_test(&h->refs)) return;
  hvb__client_unref(h->client);
  g_free(h);
}

static hvb_mcp_hub *hub_of(hvb_mcp_http *l) {
  if (!l->hub) {
    l->hub = g_new0(hvb_mcp_hub, 1);
    l->hub->refs = 1; /* the link's */
    l->hub->client = hvb__client_ref(l->client);
    g_queue_init(&l->hub->waiting);
  }
  return l->hub;
}

static bool attached_to(const mcp_post *p) { return p->hub->ready && p->gen == p->hub->gen; }

/* ---- the work's ops (engine thread) ---- */

static hvb_transfer *post_transfer(hvb_work *w) { return ((mcp_post *)w)->r.t; }

static hvb_transfer *post_start(hvb_work *w) {
  mcp_post *p = (mcp_post *)w;
  return hvb__work_cancel_requested(w) ? NULL : p->r.t;
}

static void post_settle(hvb_work *w, hvb_step st, const hvb_error *failure) {
  mcp_post *p = (mcp_post *)w;
  p->st = st;
  if (st == HVB_STEP_DONE) {
    if (p->request && attached_to(p))
      hvb__mcp_http_adopt(p->hub->link, hvb__transfer_session_id(p->r.t));
    hvb__mcp_reader_end(&p->r);
  } else if (failure) {
    p->failure = *failure;
  }
  g_clear_pointer(&p->r.t, hvb__transfer_free);
}

/* Messages read go to the client while its request is on; after, they are late: dropped. */
static void post_deliver(hvb_work *w) {
  mcp_post *p = (mcp_post *)w;
  if (g_queue_is_empty(&p->got)) return;
  hvb_mcp_hub *h = p->hub;
  if (!h->ready) {
    for (json_object *m; (m = g_queue_pop_head(&p->got));) json_object_put(m);
    return;
  }
  for (json_object *m; (m = g_queue_pop_head(&p->got));) g_queue_push_tail(h->in, m);
  h->ready(h->ready_data, NULL); /* may detach, post, cancel this work */
}

static void submit(mcp_post *p);

/* A notification's POST is over: what waited behind it goes out. */
static void note_over(hvb_mcp_hub *h) {
  h->notes--;
  while (h->notes == 0 && !g_queue_is_empty(&h->waiting)) submit(g_queue_pop_head(&h->waiting));
}

/* The request's POST ended and its reply was not among what it brought: the request is over
 * with the POST's error (a 404 for our session: session_lost, for the protocol layer). */
static void request_over(mcp_post *p) {
  hvb_mcp_hub *h = p->hub;
  hvb_error e = HVB_ERROR_INIT;
  if (p->st == HVB_STEP_DONE) {
    hvb__fail(&e, HVB_PARSE, "MCP server %s: its HTTP reply held no JSON-RPC response",
              h->link->base.label);
  } else {
    e = p->failure;
    if (e.status == HVB_OK) hvb__fail(&e, HVB_TRANSPORT, "the POST failed");
    hvb__mcp_http_failed(h->link, p->had_session, &e);
  }
  h->ready(h->ready_data, &e);
}

static void post_finish(hvb_work *w, bool cancelled) {
  mcp_post *p = (mcp_post *)w;
  g_clear_pointer(&p->r.t, hvb__transfer_free); /* a cancelled transfer stops here */
  if (p->request) {
    if (!cancelled && attached_to(p)) request_over(p);
  } else {
    if (!cancelled && p->st != HVB_STEP_DONE)
      hvb__log(HVB_LOG_DEBUG, "mcp: a notification's POST failed: %s", p->failure.message);
    note_over(p->hub);
  }
  hvb__work_set_outcome(w, NULL, NULL, NULL);
}

static void post_release(hvb_work *w) {
  mcp_post *p = (mcp_post *)w;
  hvb__transfer_free(p->r.t);
  hvb__mcp_reader_clear(&p->r);
  for (json_object *m; (m = g_queue_pop_head(&p->got));) json_object_put(m);
  hub_unref(p->hub);
  g_free(p);
}

static const hvb_work_ops post_ops = {
    .start = post_start,
    .transfer = post_transfer,
    .settle = post_settle,
    .deliver = post_deliver,
    .finish = post_finish,
    .release = post_release,
};

static void submit(mcp_post *p) {
  p->submitted = true;
  if (!p->request) p->hub->notes++;
  hvb__engine_submit(&p->work);
}

/* ---- the link's ops ---- */

bool hvb__mcp_http_attach(hvb_mcp_link *l, GQueue *in,
                          void (*ready)(void *data, const hvb_error *gone), void *data,
                          hvb_error *err) {
  if (!hvb__engine_in_turn())
    return hvb__fail(err, HVB_UNSUPPORTED, "MCP: attach outside the engine");
  hvb_mcp_hub *h = hub_of((hvb_mcp_http *)l);
  h->link = (hvb_mcp_http *)l;
  h->in = in;
  h->ready = ready;
  h->ready_data = data;
  h->gen++;
  return true;
}

bool hvb__mcp_http_post(hvb_mcp_link *l, json_object *msg, hvb_error *err) {
  hvb_mcp_http *link = (hvb_mcp_http *)l;
  if (!hvb__engine_in_turn())
    return hvb__fail(err, HVB_UNSUPPORTED, "MCP: post outside the engine");
  hvb_mcp_hub *h = hub_of(link);
  mcp_post *p = g_new0(mcp_post, 1);
  hvb__work_init(&p->work, &post_ops, 1); /* the engine's */
  p->hub = h;
  g_atomic_int_inc(&h->refs);
  g_queue_init(&p->got);
  hvb__mcp_reader_init(&p->r, &p->got);
  p->request = json_object_object_get(msg, "method") && json_object_object_get(msg, "id");
  p->gen = h->gen;
  p->had_session = link->session != NULL;
  const char *text = json_object_to_json_string_ext(msg, JSON_C_TO_STRING_PLAIN);
  char **hdrs = hvb__mcp_http_headers(link, true);
  hvb_http_request req = {.method = "POST", .url = link->url,
                          .headers = (const char *const *)hdrs, .body = text,
                          .body_len = strlen(text),
                          .timeout_ms = p->request ? 0 : NOTE_TIMEOUT_MS, /* the rpc's timer */
                          .max_body_bytes = HVB_MCP_HTTP_MAX_REPLY};
  p->r.t = hvb__transfer_new_detached(h->client, &req, hvb__mcp_reader_sink,
                                      hvb__mcp_reader_reset, &p->r);
  g_strfreev(hdrs);
  if (p->request && h->ready) {
    hvb__work_ref(&p->work); /* the hub's, until detach */
    h->request = p;
  }
  if (h->notes > 0 || !g_queue_is_empty(&h->waiting)) g_queue_push_tail(&h->waiting, p);
  else submit(p);
  return true;
}

void hvb__mcp_http_detach(hvb_mcp_link *l) {
  hvb_mcp_hub *h = ((hvb_mcp_http *)l)->hub;
  if (!h) return;
  h->ready = NULL;
  h->in = NULL;
  h->link = NULL;
  mcp_post *p = h->request;
  h->request = NULL;
  if (!p) return;
  if (p->submitted) {
    hvb__work_cancel(&p->work); /* in a turn: finished at the next one */
  } else if (g_queue_remove(&h->waiting, p)) {
    hvb__work_unref(&p->work); /* never submitted: the engine's reference */
  }
  hvb__work_unref(&p->work);
}

void hvb__mcp_http_hub_drop(hvb_mcp_http *l) {
  hub_unref(l->hub); /* posts still in flight keep it */
  l->hub = NULL;
}
