/* core/net/mcp-link.h: the two transports of the MCP client (stdio child, Streamable HTTP)
 * and the JSON-RPC client over either (core/net/mcp-stdio.c, mcp-http.c, mcp-rpc.c).
 *
 * A link moves whole JSON-RPC messages (json-c objects). send() hands one message to the
 * server; pump() waits, until an absolute deadline (g_get_monotonic_time microseconds), for
 * messages from the server and appends them to `in`. Over HTTP the messages that answer a
 * POST arrive with it, so send() fills `in` itself and pump() has nothing to wait for.
 *
 * No thread of its own: a synchronous request runs in the thread that calls (caller-driven
 * polling; see docs/architecture.md "MCP client"); an async one on the engine's fd watches (attach/post,
 * same section). One request at a time uses a link (hvb_mcp serializes).
 */
#ifndef HVB_NET_MCP_LINK_H
#define HVB_NET_MCP_LINK_H

#include <stdbool.h>
#include <glib.h>
#include <json-c/json.h>
#include <heavenbase/error.h>

typedef struct hvb_mcp_link hvb_mcp_link;

typedef struct hvb_mcp_link_ops {
  bool (*send)(hvb_mcp_link *l, json_object *msg, GQueue *in, gint64 deadline, hvb_error *err);
  /* HVB_TIMEOUT when the deadline passed with nothing new; HVB_TRANSPORT when the server is
   * gone (its exit status and the end of its stderr in the message). */
  bool (*pump)(hvb_mcp_link *l, GQueue *in, gint64 deadline, hvb_error *err);
  /* After initialize: the negotiated protocol version (HTTP sends it in a header). */
  void (*set_version)(hvb_mcp_link *l, const char *version);
  /* Engine-driven mode, on the engine thread only (NULL on a link that has none). attach: watch the server from the engine; messages from it are appended to `in`
   * and ready(data, NULL) called, or ready(data, error) once when it is gone. post: hand a
   * message over without blocking (what the pipe does not take now is written as it drains).
   * detach: stop watching; bytes not yet written go out with the next send or post. */
  bool (*attach)(hvb_mcp_link *l, GQueue *in, void (*ready)(void *data, const hvb_error *gone),
                 void *data, hvb_error *err);
  bool (*post)(hvb_mcp_link *l, json_object *msg, hvb_error *err);
  void (*detach)(hvb_mcp_link *l);
  /* Stop: the child is stopped and reaped / the HTTP session deleted; then freed. */
  void (*close)(hvb_mcp_link *l);
} hvb_mcp_link_ops;

struct hvb_mcp_link {
  const hvb_mcp_link_ops *ops;
  char *label; /* the command's program or the URL without credentials, for messages */
  /* Set by a Streamable HTTP link when the server answered 404 to a request that carried
   * our session id: the session is gone (the id is dropped with it), and the spec wants a
   * new one, from a new initialize. The protocol layer (core/api/mcp.c) starts it, clears
   * the flag and sends the request again. */
  bool session_lost;
};

/* Start `argv` (argv[0] searched in PATH) with `env` (NULL-terminated "NAME=value" lines
 * added to, or replacing, the environment) with its stdin and stdout on a socket pair (a
 * write to a server that died fails with EPIPE instead of raising SIGPIPE) and its stderr
 * on a pipe drained into the debug log (the last bytes kept for error messages), in a
 * process group of its own, so that close() stops what it spawned too (npx runs node).
 * NULL with HVB_IO when it cannot be started. */
hvb_mcp_link *hvb__mcp_stdio_new(char *const *argv, char *const *env, hvb_error *err);

/* A Streamable HTTP link to `url`; `headers` NULL-terminated "Name: value" lines (copied;
 * an Authorization line among them is a secret: registered for redaction). Never NULL. */
hvb_mcp_link *hvb__mcp_http_new(const char *url, char *const *headers);

/* ---- JSON-RPC over a link (mcp-rpc.c) ---- */

typedef struct hvb_mcp_rpc hvb_mcp_rpc;

/* A notification or request from the server that is not a reply: `msg` borrowed. */
typedef void (*hvb_mcp_note_fn)(void *data, const char *method, json_object *params);

/* The client over `link` (taken). Never NULL. */
hvb_mcp_rpc *hvb__mcp_rpc_new(hvb_mcp_link *link, hvb_mcp_note_fn note, void *data);
/* Close the link (stops the server) and free. NULL is a no-op. */
void hvb__mcp_rpc_free(hvb_mcp_rpc *rpc);
hvb_mcp_link *hvb__mcp_rpc_link(hvb_mcp_rpc *rpc);

/* Send request `method` with `params` (taken; may be NULL) and wait up to timeout_ms for its
 * reply: the "result" (new reference). A JSON-RPC error is HVB_PROVIDER "MCP error CODE:
 * message"; no reply in time is HVB_TIMEOUT, after which notifications/cancelled is sent for
 * the request. Server requests met meanwhile are answered (ping; anything else: method not
 * found), notifications go to `note`. */
json_object *hvb__mcp_rpc_call(hvb_mcp_rpc *rpc, const char *method, json_object *params,
                               long timeout_ms, hvb_error *err);
/* The async form (engine thread only): send, and get fn(data, result or NULL, err) once, on
 * the engine thread, when the reply came (result: a new reference), the server went, the
 * deadline passed (notifications/cancelled sent, HVB_TIMEOUT) or hvb__mcp_rpc_abort ran
 * (HVB_CANCELLED). False (fn never called) when it could not be sent, on a link without
 * engine-driven mode (hvb__mcp_rpc_can_async) or while another async request runs. */
typedef void (*hvb_mcp_reply_fn)(void *data, json_object *result, const hvb_error *err);
bool hvb__mcp_rpc_can_async(const hvb_mcp_rpc *rpc);
bool hvb__mcp_rpc_call_async(hvb_mcp_rpc *rpc, const char *method, json_object *params,
                             long timeout_ms, hvb_mcp_reply_fn fn, void *data, hvb_error *err);
/* Cancel the async request in flight (notifications/cancelled with `reason`); its fn runs
 * now with HVB_CANCELLED. No request: no-op. Engine thread. */
void hvb__mcp_rpc_abort(hvb_mcp_rpc *rpc, const char *reason);

/* Send notification `method` (params taken; may be NULL). */
bool hvb__mcp_rpc_notify(hvb_mcp_rpc *rpc, const char *method, json_object *params,
                         long timeout_ms, hvb_error *err);

/* Post notification `method` (params taken; may be NULL) without waiting, on the engine
 * thread, between async requests: on a link whose post needs no attach (HTTP). */
bool hvb__mcp_rpc_post(hvb_mcp_rpc *rpc, const char *method, json_object *params,
                       hvb_error *err);

#endif
