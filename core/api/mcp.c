/* core/api/mcp.c: the MCP client's public handle (heavenbase/mcp.h): initialize and version
 * negotiation, tools/list with its pages and list_changed, tools/call, progress logged. The
 * wire (JSON-RPC, stdio, Streamable HTTP) is core/net/mcp-*.c; mcp-tools.c makes tools of it.
 */
#include "api/mcp.h"
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

static bool initialize(hvb_mcp *m, hvb_error *err) {
  json_object *p = json_object_new_object(), *client = json_object_new_object();
  char **known = g_strsplit(HVB_MCP_VERSIONS, " ", 2);
  json_object_object_add(p, "protocolVersion", json_object_new_string(known[0]));
  g_strfreev(known);
  json_object_object_add(p, "capabilities", json_object_new_object());
  json_object_object_add(client, "name", json_object_new_string("heavenbase"));
  json_object_object_add(client, "version", json_object_new_string(HVB_VERSION_STRING));
  json_object_object_add(p, "clientInfo", client);
  json_object *r = hvb__mcp_rpc_call(m->rpc, "initialize", p, startup_timeout(m), err);
  if (!r) return false;
  const char *v = hvb__json_str(r, "protocolVersion");
  if (!version_known(v)) {
    hvb__fail(err, HVB_UNSUPPORTED, "MCP server %s answered with protocol version %s; this "
              "client speaks %s", hvb__mcp_rpc_link(m->rpc)->label, v ? v : "(none)",
              HVB_MCP_VERSIONS);
    json_object_put(r);
    return false;
  }
  g_free(m->version); /* a new session after a 404 initializes again */
  m->version = g_strdup(v);
  json_object_put(m->info);
  m->info = json_object_get(json_object_object_get(r, "serverInfo"));
  json_object_put(r);
  hvb_mcp_link *l = hvb__mcp_rpc_link(m->rpc);
  l->ops->set_version(l, m->version);
  hvb__log(HVB_LOG_DEBUG, "mcp %s: initialized, protocol %s", l->label, m->version);
  return hvb__mcp_rpc_notify(m->rpc, "notifications/initialized", NULL, m->timeout_ms, err);
}

/* Request `method` (params taken); when the server answered 404 for our session (HTTP), a
 * new session is initialized, as the spec asks, and the request sent again, once. */
static json_object *request(hvb_mcp *m, const char *method, json_object *params, long timeout_ms,
                            hvb_error *err) {
  hvb_mcp_link *l = hvb__mcp_rpc_link(m->rpc);
  json_object *again = params ? hvb__json_copy(params) : NULL;
  json_object *r = hvb__mcp_rpc_call(m->rpc, method, params, timeout_ms, err);
  if (!r && l->session_lost) {
    l->session_lost = false;
    hvb__log(HVB_LOG_INFO, "mcp %s: starting a new session for %s", l->label, method);
    hvb_error_clear(err);
    if (initialize(m, err)) {
      r = hvb__mcp_rpc_call(m->rpc, method, again, timeout_ms, err);
      again = NULL; /* taken */
    } else {
      hvb__error_prefix(err, "a new session (the server dropped ours)");
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

HVB_PUBLIC json_object *hvb_mcp_tools(hvb_mcp *m, hvb_error *err) {
  if (!m) return hvb__fail(err, HVB_EINVAL, "mcp is NULL"), NULL;
  g_mutex_lock(&m->lock);
  bool ok = !m->stale || list_tools(m, err);
  g_mutex_unlock(&m->lock);
  return ok ? m->tools : NULL;
}

HVB_PUBLIC json_object *hvb_mcp_call(hvb_mcp *m, const char *name, json_object *arguments,
                                     hvb_error *err) {
  if (!m || !name) return hvb__fail(err, HVB_EINVAL, "mcp or tool name is NULL"), NULL;
  if (arguments && !json_object_is_type(arguments, json_type_object))
    return hvb__fail(err, HVB_EINVAL, "MCP tool %s: arguments must be an object", name), NULL;
  hvb_error e = HVB_ERROR_INIT; /* the rpc tells a timeout by its status */
  g_mutex_lock(&m->lock);
  json_object *p = json_object_new_object(), *meta = json_object_new_object();
  json_object_object_add(p, "name", json_object_new_string(name));
  json_object_object_add(p, "arguments",
                         arguments ? hvb__json_copy(arguments) : json_object_new_object());
  json_object_object_add(meta, "progressToken", json_object_new_int64(++m->progress_token));
  json_object_object_add(p, "_meta", meta);
  json_object *r = request(m, "tools/call", p, m->timeout_ms, &e);
  g_mutex_unlock(&m->lock);
  if (!r && err) *err = e;
  return r;
}

HVB_PUBLIC json_object *hvb_mcp_server_info(const hvb_mcp *m) { return m ? m->info : NULL; }

HVB_PUBLIC const char *hvb_mcp_protocol_version(const hvb_mcp *m) {
  return m ? m->version : NULL;
}

unsigned hvb__mcp_changes(hvb_mcp *m) { return (unsigned)g_atomic_int_get(&m->changes); }
