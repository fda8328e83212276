/* heavenbase/mcp.h: MCP servers (Model Context Protocol) as tool sources.
 *
 *     hvb_mcp *mcp = hvb_mcp_new("npx -y @modelcontextprotocol/server-everything", NULL, &err);
 *     hvb_tools *tools = hvb_tools_new();
 *     hvb_tools_add_mcp(tools, mcp, &err);          // every tool of the server
 *     hvb_result *r = hvb_llm_chat_tools(llm, "Add 2 and 3", NULL, tools, NULL, &err);
 *     ...
 *     hvb_tools_free(tools);
 *     hvb_mcp_free(mcp);                             // stops the server
 *
 * A server is one of:
 *   - a URL (http:// or https://): Streamable HTTP, through the library's HTTP transport;
 *   - the name of a server in the config, heavenbase.llm.mcp.NAME = {"command": "..." or
 *     [argv...], "url": "...", "env": {NAME: value}, "headers": {Name: value},
 *     "auth_env": "VAR", "timeout": seconds} (command or url, exactly one);
 *   - a command line (split as a POSIX shell would, without running a shell): stdio. The
 *     child process is started by hvb_mcp_new, in a process group of its own, with its
 *     stderr going to the library's debug log (HB_LOG=debug), never to the caller's stderr;
 *     hvb_mcp_free closes its stdin, waits up to 2 s, then kills the group, and reaps it.
 * `options` (JSON object, borrowed; may be NULL) gives the same fields as a config entry
 * (they win over the config's): "env" (stdio: added to the environment), "headers" (HTTP),
 * "auth_env" (HTTP: the NAME of an environment variable whose value is sent as
 * "Authorization: Bearer <value>", or as is when it already holds a space, e.g.
 * "Basic ..."; the value is a secret: redacted from every message and log), "timeout"
 * (seconds for each request, tool calls included; default 60; initialize and tools/list
 * get at least 60 s whatever it says, as starting a server may take long: npx downloads).
 *
 * hvb_mcp_new runs initialize (protocol version negotiation: we offer the newest version we
 * know, "2025-06-18", and accept any version of HVB_MCP_VERSIONS the server answers with),
 * then lists the tools (every page of tools/list). notifications/tools/list_changed makes the
 * next hvb_mcp_tools list them again, and a tool loop over a set filled by hvb_tools_add_mcp
 * offers the new list from its next step. Over HTTP, a 404 to a request carrying our session
 * id starts a new session (initialize again) and the request is sent again, once. notifications/progress and notifications/message are
 * logged (info). A request without a reply within the timeout fails with HVB_TIMEOUT and
 * notifications/cancelled is sent for it. A server that died fails every request at once with
 * HVB_TRANSPORT, naming how it ended and the end of its stderr.
 *
 * Threads: no thread per server. Synchronous requests run in the calling thread, which polls
 * the child's socket or steps the HTTP transfer until the reply or the timeout (docs/mcp.md
 * "Threads"). In an async tool loop (hvb_llm_chat_tools_async) a tool of hvb_tools_add_mcp
 * runs on the library's engine (the child's socket watched by it, or the POST an engine
 * transfer; the timeout an engine timer, a cancel of the loop cancelling the request), with
 * no thread of its own. One hvb_mcp may be used from
 * several threads and by sync and async users: one request at a time uses the server. A
 * synchronous request made from a callback on the engine thread while an async call of the
 * same server is in flight fails with HVB_UNSUPPORTED. hvb_mcp_free waits for calls still
 * running (within the timeout).
 */
#ifndef HEAVENBASE_MCP_H
#define HEAVENBASE_MCP_H

#include <stdbool.h>
#include <json-c/json.h>
#include <heavenbase/error.h>
#include <heavenbase/tools.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The protocol versions the client speaks, newest first (space-separated). */
#define HVB_MCP_VERSIONS "2025-06-18 2025-03-26 2024-11-05"
#define HVB_MCP_DEFAULT_TIMEOUT_S 60

typedef struct hvb_mcp hvb_mcp;

/* Connect to `server` (above) and initialize. Returns a new handle (hvb_mcp_free), or NULL
 * with err set: HVB_EINVAL (empty server, bad options, naming the field), HVB_CONFIG (a
 * config entry without command or url, or with both), HVB_IO (the command cannot be
 * started), HVB_TRANSPORT / HVB_HTTP / HVB_TIMEOUT (no initialize reply), HVB_UNSUPPORTED (the
 * server answered with a protocol version we do not speak). */
hvb_mcp *hvb_mcp_new(const char *server, json_object *options, hvb_error *err);

/* Stop the server (stdio: the child and its group are gone when this returns; HTTP: the
 * session is deleted) and free. NULL is a no-op. Tool sets that hvb_tools_add_mcp filled
 * from it must not be used afterwards. */
void hvb_mcp_free(hvb_mcp *mcp);

/* The server's tools: a JSON array of MCP Tool objects ({"name", "description",
 * "inputSchema", ...}), borrowed: valid until the next call on `mcp` or its free. Listed
 * again (every page) when the server said its list changed. NULL with err set on failure. */
json_object *hvb_mcp_tools(hvb_mcp *mcp, hvb_error *err);

/* Call tool `name` with `arguments` (an object, borrowed; NULL: {}). Returns the MCP
 * CallToolResult ({"content": [...], "structuredContent"?, "isError"?}) as a new
 * reference, even when isError is true; NULL with err set for a JSON-RPC error
 * (HVB_PROVIDER, with the error's code and message), HVB_TIMEOUT, HVB_TRANSPORT. */
json_object *hvb_mcp_call(hvb_mcp *mcp, const char *name, json_object *arguments,
                          hvb_error *err);

/* The server's "serverInfo" ({"name", "version"}, borrowed) and the negotiated protocol
 * version (borrowed); valid until hvb_mcp_free. */
json_object *hvb_mcp_server_info(const hvb_mcp *mcp);
const char *hvb_mcp_protocol_version(const hvb_mcp *mcp);

/* Add every tool of the server to `tools` as an executable tool of the same name, for the
 * tool loop (hvb_llm_chat_tools). The tool message the model then gets is the JSON object
 *   {"text": "<the text items, joined by newlines>", "structured": <structuredContent>,
 *    "images": [{"mime_type", "data" (base64)}], "resources": [<other content items>]}
 * (members only when present); a result with isError, a JSON-RPC error, a timeout or a dead
 * server is a tool error the model sees ({"ok": false, "error": {"type": "PROVIDER" |
 * "TIMEOUT" | "TRANSPORT", "message"}}). `mcp` must outlive every use of `tools`. The tools
 * run in the synchronous loop (in the caller's thread) and in the async loop (off the engine
 * thread, above). false with
 * err set when the tools cannot be listed, or HVB_EINVAL when a name is already in `tools`
 *, or is not a valid tool name (the tools added before it stay). */
bool hvb_tools_add_mcp(hvb_tools *tools, hvb_mcp *mcp, hvb_error *err);

#ifdef __cplusplus
}
#endif

#endif
