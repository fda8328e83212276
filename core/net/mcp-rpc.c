/* core/net/mcp-rpc.c: JSON-RPC 2.0 over an MCP link: ids, matching replies, answering the
 * server's requests, cancelling on timeout. Written over json-c, to the MCP spec's "Base
 * Protocol" (no batching sent; batches received are split by the link).
 */
#include "net/mcp-link.h"
#include "net/engine.h"
#include "base/error.h"
#include "base/log.h"

#include <string.h>

struct hvb_mcp_rpc {
  hvb_mcp_link *link;
  GQueue in;
  gint64 next_id;
  hvb_mcp_note_fn note;
  void *note_data;
  /* the async request in flight (engine thread; one at a time: hvb_mcp serializes) */
  struct {
    bool on;
    gint64 id;
    char *method;
    long timeout_ms;
    hvb_engine_timer *timer;
    hvb_mcp_reply_fn fn;
    void *data;
  } a;
};

hvb_mcp_rpc *hvb__mcp_rpc_new(hvb_mcp_link *link, hvb_mcp_note_fn note, void *data) {
  hvb_mcp_rpc *rpc = g_new0(hvb_mcp_rpc, 1);
  rpc->link = link;
  g_queue_init(&rpc->in);
  rpc->next_id = 1;
  rpc->note = note;
  rpc->note_data = data;
  return rpc;
}

void hvb__mcp_rpc_free(hvb_mcp_rpc *rpc) {
  if (!rpc) return;
  rpc->link->ops->close(rpc->link);
  for (json_object *m; (m = g_queue_pop_head(&rpc->in));) json_object_put(m);
  g_free(rpc);
}

hvb_mcp_link *hvb__mcp_rpc_link(hvb_mcp_rpc *rpc) { return rpc->link; }

static json_object *message(const char *method, json_object *params) {
  json_object *m = json_object_new_object();
  json_object_object_add(m, "jsonrpc", json_object_new_string("2.0"));
  if (method) json_object_object_add(m, "method", json_object_new_string(method));
  if (params) json_object_object_add(m, "params", params);
  return m;
}

static gint64 deadline_of(long timeout_ms) {
  return g_get_monotonic_time() + (gint64)(timeout_ms > 0 ? timeout_ms : 60000) * 1000;
}

bool hvb__mcp_rpc_notify(hvb_mcp_rpc *rpc, const char *method, json_object *params,
                         long timeout_ms, hvb_error *err) {
  json_object *m = message(method, params);
  bool ok = rpc->link->ops->send(rpc->link, m, &rpc->in, deadline_of(timeout_ms), err);
  json_object_put(m);
  return ok;
}

bool hvb__mcp_rpc_post(hvb_mcp_rpc *rpc, const char *method, json_object *params,
                       hvb_error *err) {
  json_object *m = message(method, params);
  bool ok = rpc->link->ops->post(rpc->link, m, err);
  json_object_put(m);
  return ok;
}

static bool emit(hvb_mcp_rpc *rpc, json_object *m, long timeout_ms, hvb_error *err) {
  if (rpc->a.on) return rpc->link->ops->post(rpc->link, m, err); /* never blocks the engine */
  return rpc->link->ops->send(rpc->link, m, &rpc->in, deadline_of(timeout_ms), err);
}

/* A request from the server: ping gets an empty result; the rest (sampling, roots,
 * elicitation: capabilities we did not declare) "method not found". */
static void answer(hvb_mcp_rpc *rpc, json_object *req, const char *method) {
  json_object *m = message(NULL, NULL);
  json_object_object_add(m, "id", json_object_get(json_object_object_get(req, "id")));
  if (!strcmp(method, "ping")) {
    json_object_object_add(m, "result", json_object_new_object());
  } else {
    json_object *e = json_object_new_object();
    json_object_object_add(e, "code", json_object_new_int(-32601));
    json_object_object_add(e, "message", json_object_new_string("method not found"));
    json_object_object_add(m, "error", e);
  }
  hvb_error ignored = HVB_ERROR_INIT;
  emit(rpc, m, 5000, &ignored);
  json_object_put(m);
}

/* One message from the server that is not (yet) ours: true when it is the reply to `id`,
 * which stays in *reply. */
static bool dispatch(hvb_mcp_rpc *rpc, json_object *m, gint64 id, json_object **reply) {
  json_object *jid = NULL, *jm = NULL;
  bool has_id = json_object_object_get_ex(m, "id", &jid);
  const char *method = json_object_object_get_ex(m, "method", &jm) ? json_object_get_string(jm)
                                                                  : NULL;
  if (method && has_id) {
    answer(rpc, m, method);
  } else if (method) {
    if (rpc->note) rpc->note(rpc->note_data, method, json_object_object_get(m, "params"));
  } else if (has_id && json_object_is_type(jid, json_type_int) && json_object_get_int64(jid) == id) {
    *reply = m;
    return true;
  } else {
    hvb__log(HVB_LOG_DEBUG, "mcp %s: a reply to no request of ours ignored", rpc->link->label);
  }
  json_object_put(m);
  return false;
}

static void cancel(hvb_mcp_rpc *rpc, gint64 id, const char *reason) {
  json_object *p = json_object_new_object();
  json_object_object_add(p, "requestId", json_object_new_int64(id));
  json_object_object_add(p, "reason", json_object_new_string(reason));
  hvb_error ignored = HVB_ERROR_INIT;
  json_object *m = message("notifications/cancelled", p);
  emit(rpc, m, 2000, &ignored);
  json_object_put(m);
}

static json_object *result_of(hvb_mcp_rpc *rpc, json_object *reply, const char *method,
                              hvb_error *err) {
  json_object *e = json_object_object_get(reply, "error"), *r = NULL;
  if (e) {
    json_object *code = json_object_object_get(e, "code");
    json_object *msg = json_object_object_get(e, "message");
    hvb__fail(err, HVB_PROVIDER, "MCP server %s: %s: error %d: %s", rpc->link->label, method,
              code ? json_object_get_int(code) : 0, msg ? json_object_get_string(msg) : "");
  } else if (!(r = json_object_object_get(reply, "result"))) {
    hvb__fail(err, HVB_PARSE, "MCP server %s: %s: a reply with neither result nor error",
              rpc->link->label, method);
  } else {
    json_object_get(r);
  }
  json_object_put(reply);
  return r;
}

json_object *hvb__mcp_rpc_call(hvb_mcp_rpc *rpc, const char *method, json_object *params,
                               long timeout_ms, hvb_error *err) {
  gint64 id = rpc->next_id++, deadline = deadline_of(timeout_ms);
  json_object *m = message(method, params);
  json_object_object_add(m, "id", json_object_new_int64(id));
  bool ok = rpc->link->ops->send(rpc->link, m, &rpc->in, deadline, err);
  json_object_put(m);
  json_object *reply = NULL;
  while (ok && !reply) {
    json_object *next = g_queue_pop_head(&rpc->in);
    if (next) {
      dispatch(rpc, next, id, &reply);
      continue;
    }
    ok = rpc->link->ops->pump(rpc->link, &rpc->in, deadline, err);
  }
  if (!ok) {
    if (err && err->status == HVB_TIMEOUT) {
      cancel(rpc, id, "timed out");
      hvb__fail(err, HVB_TIMEOUT, "MCP server %s: %s: no reply within %.3g s (cancelled)",
                rpc->link->label, method, timeout_ms / 1000.0);
    } else {
      hvb__error_prefix(err, "%s", method);
    }
    return NULL;
  }
  return result_of(rpc, reply, method, err);
}

/* ---- the async request: sent, then resumed by the link (reply, server gone), the deadline
 * timer or an abort, all on the engine thread ---- */

bool hvb__mcp_rpc_can_async(const hvb_mcp_rpc *rpc) { return rpc->link->ops->attach != NULL; }

/* The request is over: stop watching, then tell its owner (which may start the next). */
static void async_end(hvb_mcp_rpc *rpc, json_object *result, const hvb_error *err) {
  if (!rpc->a.on) return;
  hvb__engine_timer_remove(rpc->a.timer);
  rpc->link->ops->detach(rpc->link);
  hvb_mcp_reply_fn fn = rpc->a.fn;
  void *data = rpc->a.data;
  g_free(rpc->a.method);
  memset(&rpc->a, 0, sizeof rpc->a);
  fn(data, result, err);
}

static void async_ready(void *p, const hvb_error *gone) {
  hvb_mcp_rpc *rpc = p;
  if (gone) {
    hvb_error e = *gone;
    hvb__error_prefix(&e, "%s", rpc->a.method);
    async_end(rpc, NULL, &e);
    return;
  }
  json_object *reply = NULL, *next;
  while (rpc->a.on && !reply && (next = g_queue_pop_head(&rpc->in)))
    dispatch(rpc, next, rpc->a.id, &reply);
  if (!reply) return;
  hvb_error e = HVB_ERROR_INIT;
  json_object *r = result_of(rpc, reply, rpc->a.method, &e);
  async_end(rpc, r, r ? NULL : &e);
}

static void async_deadline(void *p) {
  hvb_mcp_rpc *rpc = p;
  rpc->a.timer = NULL; /* fired: freed by the engine */
  cancel(rpc, rpc->a.id, "timed out");
  hvb_error e = HVB_ERROR_INIT;
  hvb__fail(&e, HVB_TIMEOUT, "MCP server %s: %s: no reply within %.3g s (cancelled)",
            rpc->link->label, rpc->a.method, rpc->a.timeout_ms / 1000.0);
  async_end(rpc, NULL, &e);
}

bool hvb__mcp_rpc_call_async(hvb_mcp_rpc *rpc, const char *method, json_object *params,
                             long timeout_ms, hvb_mcp_reply_fn fn, void *data, hvb_error *err) {
  if (rpc->a.on || !hvb__engine_in_turn() || !hvb__mcp_rpc_can_async(rpc)) {
    json_object_put(params);
    return hvb__fail(err, HVB_UNSUPPORTED, "MCP server %s: %s: no async request possible now",
                     rpc->link->label, method);
  }
  if (!rpc->link->ops->attach(rpc->link, &rpc->in, async_ready, rpc, err)) {
    json_object_put(params);
    return hvb__error_prefix(err, "%s", method), false;
  }
  rpc->a.on = true;
  rpc->a.id = rpc->next_id++;
  rpc->a.method = g_strdup(method);
  rpc->a.timeout_ms = timeout_ms > 0 ? timeout_ms : 60000;
  rpc->a.fn = fn;
  rpc->a.data = data;
  json_object *m = message(method, params);
  json_object_object_add(m, "id", json_object_new_int64(rpc->a.id));
  bool ok = rpc->link->ops->post(rpc->link, m, err);
  json_object_put(m);
  if (!ok) {
    rpc->a.fn = NULL;
    rpc->link->ops->detach(rpc->link);
    g_free(rpc->a.method);
    memset(&rpc->a, 0, sizeof rpc->a);
    return hvb__error_prefix(err, "%s", method), false;
  }
  rpc->a.timer = hvb__engine_timer_add(deadline_of(timeout_ms), async_deadline, rpc);
  /* Replies may be queued already (read by an earlier request's watch): look now. */
  if (!g_queue_is_empty(&rpc->in)) async_ready(rpc, NULL);
  return true;
}

void hvb__mcp_rpc_abort(hvb_mcp_rpc *rpc, const char *reason) {
  if (!rpc->a.on) return;
  cancel(rpc, rpc->a.id, reason);
  hvb_error e = HVB_ERROR_INIT;
  hvb__fail(&e, HVB_CANCELLED, "MCP server %s: %s: %s (cancelled)", rpc->link->label,
            rpc->a.method, reason);
  async_end(rpc, NULL, &e);
}
