/* core/api/mcp.c: the MCP client's public handle (heavenbase/mcp.h): initialize and version
 * negotiation, tools/list with its pages and list_changed, tools/call, progress logged. The
 * wire (JSON-RPC, stdio, Streamable HTTP) is core/net/mcp-*.c; mcp-tools.c makes tools of it.
 */
#include "api/mcp.h"
#include "net/engine.h"
#include "text/json.h"
#include "base/error.h"
#include "base/log.h"

#include <heavenbase/version.h>
#include <glib.h>
#include <string.h>
#include <unistd.h>

/* Starting a server (npx may download it first) takes longer than a tool call may: initialize
 * and tools/list get at least this long, whatever the timeout. */
#define STARTUP_TIMEOUT_MS (HVB_MCP_DEFAULT_TIMEOUT_S * 1000L)
#define MAX_PAGES 1000 /* of tools/list: a server whose cursor never ends is a broken one */

struct hvb_mcp {
  GMutex lock;
  hvb_mcp_rpc *rpc;
  long timeout_ms;
  json_object *tools, *info;
  char *version;
  bool stale;  /* the server said its list changed */
  gint changes; /* how many times it said so (atomic: tool loops read it, hvb__mcp_changes) */
  gint64 progress_token;
  GPtrArray *keep; /* hvb__mcp_keep's blocks (g_free) */
  GMutex jobs_lock; /* calls running off the caller's thread (hvb__mcp_hold) */
  GCond jobs_idle;
  int jobs;
  pid_t pid; /* of the process that made it: a fork child has none of its calls' threads */
  GQueue waiting;    /* async calls not started (under jobs_lock) */
  void *async_on;    /* the async call in flight, which holds `lock` (engine thread) */
};

void hvb__mcp_hold(hvb_mcp *m) {
  g_mutex_lock(&m->jobs_lock);
  m->jobs++;
  g_mutex_unlock(&m->jobs_lock);
}

void hvb__mcp_release(hvb_mcp *m) {
  g_mutex_lock(&m->jobs_lock);
  if (--m->jobs == 0) g_cond_broadcast(&m->jobs_idle);
  g_mutex_unlock(&m->jobs_lock);
}

void hvb__mcp_keep(hvb_mcp *m, void *block) {
  g_mutex_lock(&m->lock);
  g_ptr_array_add(m->keep, block);
  g_mutex_unlock(&m->lock);
}

static void on_note(void *data, const char *method, json_object *params) {
  hvb_mcp *m = data;
  const char *label = hvb__mcp_rpc_link(m->rpc)->label;
  if (!strcmp(method, "notifications/tools/list_changed")) {
    m->stale = true;
    g_atomic_int_inc(&m->changes);
    hvb__log(HVB_LOG_DEBUG, "mcp %s: its tool list changed", label);
  } else if (!strcmp(method, "notifications/progress")) {
    json_object *total = json_object_object_get(params, "total");
    hvb__log(HVB_LOG_INFO, "mcp %s: progress %g%s%s%s%s", label,
             json_object_get_double(json_object_object_get(params, "progress")),
             total ? " of " : "", total ? json_object_get_string(total) : "",
             hvb__json_str(params, "message") ? ": " : "",
             hvb__json_str(params, "message") ? hvb__json_str(params, "message") : "");
  } else if (!strcmp(method, "notifications/message")) {
    json_object *d = json_object_object_get(params, "data");
    hvb__log(HVB_LOG_INFO, "mcp %s: %s: %s", label,
             hvb__json_str(params, "level") ? hvb__json_str(params, "level") : "log",
             json_object_is_type(d, json_type_string) ? json_object_get_string(d)
                                                      : json_object_to_json_string(d));
  } else {
    hvb__log(HVB_LOG_DEBUG, "mcp %s: notification %s ignored", label, method);
  }
}

static bool version_known(const char *v) {
  char **known = g_strsplit(HVB_MCP_VERSIONS, " ", -1);
  bool ok = v && g_strv_contains((const char *const *)known, v);
  g_strfreev(known);
  return ok;
}

static long startup_timeout(const hvb_mcp *m) {
  return m->timeout_ms > STARTUP_TIMEOUT_MS ? m->timeout_ms : STARTUP_TIMEOUT_MS;
}

static json_object *init_params(void) {
  json_object *p = json_object_new_object(), *client = json_object_new_object();
  char **known = g_strsplit(HVB_MCP_VERSIONS, " ", 2);
  json_object_object_add(p, "protocolVersion", json_object_new_string(known[0]));
  g_strfreev(known);
  json_object_object_add(p, "capabilities", json_object_new_object());
  json_object_object_add(client, "name", json_object_new_string("heavenbase"));
  json_object_object_add(client, "version", json_object_new_string(HVB_VERSION_STRING));
  json_object_object_add(p, "clientInfo", client);
  return p;
}

/* initialize's result `r` (borrowed): the version negotiated, the server's info. */
static bool init_accept(hvb_mcp *m, json_object *r, hvb_error *err) {
  const char *v = hvb__json_str(r, "protocolVersion");
  if (!version_known(v))
    return hvb__fail(err, HVB_UNSUPPORTED, "MCP server %s answered with protocol version %s; "
                     "this client speaks %s", hvb__mcp_rpc_link(m->rpc)->label,
                     v ? v : "(none)", HVB_MCP_VERSIONS);
  g_free(m->version); /* a new session after a 404 initializes again */
  m->version = g_strdup(v);
  json_object_put(m->info);
  m->info = json_object_get(json_object_object_get(r, "serverInfo"));
  hvb_mcp_link *l = hvb__mcp_rpc_link(m->rpc);
  l->ops->set_version(l, m->version);
  hvb__log(HVB_LOG_DEBUG, "mcp %s: initialized, protocol %s", l->label, m->version);
  return true;
}

static bool initialize(hvb_mcp *m, hvb_error *err) {
  json_object *r = hvb__mcp_rpc_call(m->rpc, "initialize", init_params(), startup_timeout(m),
                                     err);
  bool ok = r && init_accept(m, r, err);
  json_object_put(r);
  return ok && hvb__mcp_rpc_notify(m->rpc, "notifications/initialized", NULL, m->timeout_ms,
                                   err);
}

/* Whether a failed request is to be sent again in a new session: the server answered 404
 * for ours (HTTP), and the spec wants a new initialize. Shared by the synchronous request
 * and the async call's continuation; `err` is cleared for the new attempt. */
static bool session_renew(hvb_mcp *m, const char *method, hvb_error *err) {
  hvb_mcp_link *l = hvb__mcp_rpc_link(m->rpc);
  if (!l->session_lost) return false;
  l->session_lost = false;
  hvb__log(HVB_LOG_INFO, "mcp %s: starting a new session for %s", l->label, method);
  hvb_error_clear(err);
  return true;
}

#define RENEW_FAILED "a new session (the server dropped ours)"

/* Request `method` (params taken); when the server answered 404 for our session (HTTP), a
 * new session is initialized, as the spec asks, and the request sent again, once. */
static json_object *request(hvb_mcp *m, const char *method, json_object *params, long timeout_ms,
                            hvb_error *err) {
  json_object *again = params ? hvb__json_copy(params) : NULL;
  json_object *r = hvb__mcp_rpc_call(m->rpc, method, params, timeout_ms, err);
  if (!r && session_renew(m, method, err)) {
    if (initialize(m, err)) {
      r = hvb__mcp_rpc_call(m->rpc, method, again, timeout_ms, err);
      again = NULL; /* taken */
    } else {
      hvb__error_prefix(err, RENEW_FAILED);
    }
  }
  json_object_put(again);
  return r;
}

/* Every page of tools/list into m->tools. */
static bool list_tools(hvb_mcp *m, hvb_error *err) {
  json_object *all = json_object_new_array();
  char *cursor = NULL;
  int pages = 0;
  m->stale = false;
  do {
    json_object *p = json_object_new_object();
    if (cursor) json_object_object_add(p, "cursor", json_object_new_string(cursor));
    g_free(cursor);
    cursor = NULL;
    json_object *r = request(m, "tools/list", p, startup_timeout(m), err);
    if (!r) {
      json_object_put(all);
      return false;
    }
    json_object *list = json_object_object_get(r, "tools");
    for (size_t i = 0; i < json_object_array_length(list); i++)
      json_object_array_add(all, json_object_get(json_object_array_get_idx(list, i)));
    cursor = g_strdup(hvb__json_str(r, "nextCursor"));
    json_object_put(r);
  } while (cursor && *cursor && ++pages < MAX_PAGES);
  g_free(cursor);
  json_object_put(m->tools);
  m->tools = all;
  return true;
}

HVB_PUBLIC hvb_mcp *hvb_mcp_new(const char *server, json_object *options, hvb_error *err) {
  hvb_mcp *m = g_new0(hvb_mcp, 1);
  hvb_mcp_link *l = hvb__mcp_open(server, options, &m->timeout_ms, err);
  if (!l) {
    g_free(m);
    return NULL;
  }
  g_mutex_init(&m->lock);
  g_mutex_init(&m->jobs_lock);
  g_cond_init(&m->jobs_idle);
  m->pid = getpid();
  m->keep = g_ptr_array_new_with_free_func(g_free);
  m->rpc = hvb__mcp_rpc_new(l, on_note, m);
  if (!initialize(m, err) || !list_tools(m, err)) {
    hvb_mcp_free(m);
    return NULL;
  }
  return m;
}

HVB_PUBLIC void hvb_mcp_free(hvb_mcp *m) {
  if (!m) return;
  /* An async loop's calls may still run (the loop was cancelled): they end within the
   * timeout, and use the handle until then. */
  g_mutex_lock(&m->jobs_lock);
  while (m->jobs > 0 && m->pid == getpid()) g_cond_wait(&m->jobs_idle, &m->jobs_lock);
  g_mutex_unlock(&m->jobs_lock);
  hvb__mcp_rpc_free(m->rpc);
  json_object_put(m->tools);
  json_object_put(m->info);
  g_free(m->version);
  g_ptr_array_free(m->keep, TRUE);
  g_mutex_clear(&m->lock);
  g_mutex_clear(&m->jobs_lock);
  g_cond_clear(&m->jobs_idle);
  g_free(m);
}

/* A synchronous request takes the server for its length. On the engine thread while an
 * async call holds it, waiting would never end (the reply needs this thread): an error. */
static bool sync_begin(hvb_mcp *m, const char *what, hvb_error *err) {
  if (hvb__engine_in_turn() && m->async_on)
    return hvb__fail(err, HVB_UNSUPPORTED, "MCP %s: the server is busy with an async tool call "
                     "on this thread", what);
  g_mutex_lock(&m->lock);
  return true;
}

static void areq_try(void *p);

/* Async calls that found the server taken wait for this. */
static void sync_end(hvb_mcp *m) {
  g_mutex_unlock(&m->lock);
  g_mutex_lock(&m->jobs_lock);
  bool waiting = !g_queue_is_empty(&m->waiting);
  g_mutex_unlock(&m->jobs_lock);
  if (waiting) hvb__engine_post(areq_try, m); /* each waiting call holds m */
}

HVB_PUBLIC json_object *hvb_mcp_tools(hvb_mcp *m, hvb_error *err) {
  if (!m) return hvb__fail(err, HVB_EINVAL, "mcp is NULL"), NULL;
  if (!sync_begin(m, "tools/list", err)) return NULL;
  bool ok = !m->stale || list_tools(m, err);
  sync_end(m);
  return ok ? m->tools : NULL;
}

/* tools/call's params; with m->lock held (the progress token). */
static json_object *call_params(hvb_mcp *m, const char *name, json_object *arguments) {
  json_object *p = json_object_new_object(), *meta = json_object_new_object();
  json_object_object_add(p, "name", json_object_new_string(name));
  json_object_object_add(p, "arguments",
                         arguments ? hvb__json_copy(arguments) : json_object_new_object());
  json_object_object_add(meta, "progressToken", json_object_new_int64(++m->progress_token));
  json_object_object_add(p, "_meta", meta);
  return p;
}

HVB_PUBLIC json_object *hvb_mcp_call(hvb_mcp *m, const char *name, json_object *arguments,
                                     hvb_error *err) {
  if (!m || !name) return hvb__fail(err, HVB_EINVAL, "mcp or tool name is NULL"), NULL;
  if (arguments && !json_object_is_type(arguments, json_type_object))
    return hvb__fail(err, HVB_EINVAL, "MCP tool %s: arguments must be an object", name), NULL;
  hvb_error e = HVB_ERROR_INIT; /* the rpc tells a timeout by its status */
  if (!sync_begin(m, name, err)) return NULL;
  json_object *r = request(m, "tools/call", call_params(m, name, arguments), m->timeout_ms, &e);
  sync_end(m);
  if (!r && err) *err = e;
  return r;
}

HVB_PUBLIC json_object *hvb_mcp_server_info(const hvb_mcp *m) { return m ? m->info : NULL; }

HVB_PUBLIC const char *hvb_mcp_protocol_version(const hvb_mcp *m) {
  return m ? m->version : NULL;
}

unsigned hvb__mcp_changes(hvb_mcp *m) { return (unsigned)g_atomic_int_get(&m->changes); }

/* ---- async tools/call on the engine (engine thread; docs/architecture.md "MCP client") ----
 *
 * One request at a time uses the server: an async call takes `lock` on the engine thread
 * (trylock: never waits) and gives it back when its reply, deadline or abort came; a call
 * that finds it taken (a synchronous request on another thread) waits in `waiting`, and
 * whoever frees the server next starts it (areq_done, or sync_end through the engine). */

struct hvb__mcp_areq {
  hvb_mcp *m;
  char *name;
  json_object *args;
  hvb__mcp_done_fn fn;
  void *data;
  enum { AREQ_CALL, AREQ_INIT, AREQ_RETRY } phase; /* INIT, RETRY: in a new session */
};

bool hvb__mcp_can_async(hvb_mcp *m) { return hvb__mcp_rpc_can_async(m->rpc); }

static void areq_free(hvb__mcp_areq *q) {
  hvb_mcp *m = q->m;
  g_free(q->name);
  json_object_put(q->args);
  g_free(q);
  hvb__mcp_release(m); /* last: hvb_mcp_free may go on from here */
}

static void areq_done(void *p, json_object *result, const hvb_error *err) {
  hvb__mcp_areq *q = p;
  hvb_mcp *m = q->m;
  m->async_on = NULL;
  g_mutex_unlock(&m->lock);
  areq_try(m); /* the next waiting call holds m itself */
  q->fn(q->data, result, err); /* borrowed by fn */
  json_object_put(result);
  areq_free(q);
}

static void areq_reply(void *p, json_object *result, const hvb_error *err);

/* The request of the call's phase, on the engine (the call holds the server). */
static bool areq_send(hvb__mcp_areq *q, hvb_error *err) {
  hvb_mcp *m = q->m;
  if (q->phase == AREQ_INIT)
    return hvb__mcp_rpc_call_async(m->rpc, "initialize", init_params(), startup_timeout(m),
                                   areq_reply, q, err);
  return hvb__mcp_rpc_call_async(m->rpc, "tools/call", call_params(m, q->name, q->args),
                                 m->timeout_ms, areq_reply, q, err);
}

/* The continuation of a call whose session the server dropped (the synchronous request()'s
 * steps, each on a reply): initialize, notifications/initialized, the call again, once. */
static void areq_reply(void *p, json_object *result, const hvb_error *err) {
  hvb__mcp_areq *q = p;
  hvb_mcp *m = q->m;
  hvb_error e = HVB_ERROR_INIT;
  if (err) e = *err;
  if (q->phase == AREQ_CALL && !result && session_renew(m, "tools/call", &e)) {
    q->phase = AREQ_INIT;
    if (areq_send(q, &e)) return;
  } else if (q->phase == AREQ_INIT) {
    bool ok = result && init_accept(m, result, &e);
    json_object_put(result);
    result = NULL;
    if (ok && hvb__mcp_rpc_post(m->rpc, "notifications/initialized", NULL, &e)) {
      q->phase = AREQ_RETRY;
      if (areq_send(q, &e)) return;
    }
  } else {
    areq_done(q, result, err);
    return;
  }
  hvb__error_prefix(&e, RENEW_FAILED);
  areq_done(q, NULL, &e);
}

/* Start waiting calls while the server is free. */
static void areq_try(void *p) {
  hvb_mcp *m = p;
  while (!m->async_on) {
    g_mutex_lock(&m->jobs_lock);
    bool any = !g_queue_is_empty(&m->waiting);
    g_mutex_unlock(&m->jobs_lock);
    if (!any || !g_mutex_trylock(&m->lock)) return; /* the holder calls again when done */
    g_mutex_lock(&m->jobs_lock);
    hvb__mcp_areq *q = g_queue_pop_head(&m->waiting);
    g_mutex_unlock(&m->jobs_lock);
    if (!q) {
      g_mutex_unlock(&m->lock);
      return;
    }
    m->async_on = q;
    hvb_error e = HVB_ERROR_INIT;
    if (areq_send(q, &e))
      continue; /* it holds the lock: the loop ends */
    m->async_on = NULL;
    g_mutex_unlock(&m->lock);
    q->fn(q->data, NULL, &e);
    areq_free(q);
  }
}

void hvb__mcp_call_async(hvb_mcp *m, const char *name, json_object *arguments,
                         hvb__mcp_done_fn fn, void *data, hvb__mcp_areq **req) {
  hvb__mcp_areq *q = g_new0(hvb__mcp_areq, 1);
  *req = q;
  q->m = m;
  q->name = g_strdup(name);
  q->args = arguments ? hvb__json_copy(arguments) : NULL;
  q->fn = fn;
  q->data = data;
  hvb__mcp_hold(m);
  g_mutex_lock(&m->jobs_lock);
  g_queue_push_tail(&m->waiting, q);
  g_mutex_unlock(&m->jobs_lock);
  areq_try(m);
}

void hvb__mcp_call_abort(hvb__mcp_areq *q, const char *reason) {
  hvb_mcp *m = q->m;
  if (m->async_on == q) {
    hvb__mcp_rpc_abort(m->rpc, reason); /* areq_reply runs inside */
    return;
  }
  g_mutex_lock(&m->jobs_lock);
  bool was = g_queue_remove(&m->waiting, q);
  g_mutex_unlock(&m->jobs_lock);
  if (!was) return;
  hvb_error e = HVB_ERROR_INIT;
  hvb__fail(&e, HVB_CANCELLED, "MCP tool %s: %s", q->name, reason);
  q->fn(q->data, NULL, &e);
  areq_free(q);
}
