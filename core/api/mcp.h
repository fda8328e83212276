/* core/api/mcp.h: the MCP handle's seams between core/api/mcp.c (connect, requests) and
 * core/api/mcp-server.c (what a server string or config entry means). */
#ifndef HVB_API_MCP_H
#define HVB_API_MCP_H

#include <heavenbase/mcp.h>
#include "net/mcp-link.h"

/* The link for `server` with `options` (see heavenbase/mcp.h), and the request timeout in
 * *timeout_ms. NULL with err set. */
hvb_mcp_link *hvb__mcp_open(const char *server, json_object *options, long *timeout_ms,
                            hvb_error *err);

/* Keep `block` (g_malloc'd) until hvb_mcp_free frees it: the tools' user data. */
void hvb__mcp_keep(hvb_mcp *m, void *block);

/* A call runs on a thread of its own (an async loop's MCP tool, mcp-tools.c): hvb_mcp_free
 * waits until every held call is released. */
void hvb__mcp_hold(hvb_mcp *m);
void hvb__mcp_release(hvb_mcp *m);

/* An async tools/call driven by the engine (the server's link watched by it, no thread):
 * engine thread only, on a server where hvb__mcp_can_async (stdio). fn(data, the raw result
 * (borrowed) or NULL, err) runs exactly once on the engine thread, maybe before this
 * returns. *req is set first; until fn runs it is valid for hvb__mcp_call_abort, which
 * sends notifications/cancelled (when the request was sent) and runs fn with HVB_CANCELLED. */
typedef struct hvb__mcp_areq hvb__mcp_areq;
typedef void (*hvb__mcp_done_fn)(void *data, json_object *result, const hvb_error *err);
bool hvb__mcp_can_async(hvb_mcp *m);
void hvb__mcp_call_async(hvb_mcp *m, const char *name, json_object *arguments,
                         hvb__mcp_done_fn fn, void *data, hvb__mcp_areq **req);
void hvb__mcp_call_abort(hvb__mcp_areq *q, const char *reason);

/* How many times the server said its tool list changed (notifications/tools/list_changed);
 * any thread. A tool set holding the server's tools compares it with the count it saw. */
unsigned hvb__mcp_changes(hvb_mcp *m);

#endif
