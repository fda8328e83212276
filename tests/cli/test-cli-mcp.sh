#!/bin/bash
# hb mcp list and hb chat --mcp against the real MCP reference server, npm
# @modelcontextprotocol/server-everything@2026.8.31 (installed once into a cache dir by
# tests/mcp/install.sh), over stdio and Streamable HTTP; the model is the fake upstream.
. "$HB_TEST_SRCDIR/tests/cli/lib.sh"

if [ "${HB_TEST_NO_NETWORK:-}" = 1 ]; then
  echo "# SKIP: HB_TEST_NO_NETWORK=1: the MCP reference server is installed from npm"; exit 77
fi
E=$(bash "$HB_TEST_SRCDIR/tests/mcp/install.sh" 2>"$T/install.err") ||
  { echo "not ok - the MCP reference server could not be installed (needs node and npm):"
    sed 's/^/  /' "$T/install.err"; exit 1; }
SERVER="node $E stdio"
export TEST_KEY="sk-test-cli-mcp-0123456789"
MODEL=(--provider openai -m gpt-4o-mini --api-key-env TEST_KEY)

# A chat completion with tool calls: tool_calls_reply '[["id","name","{json args}"],...]'
tool_calls_reply() {
  python3 - "$1" <<'PY'
import json, sys
calls = [{"id": i, "type": "function", "function": {"name": n, "arguments": a}}
         for i, n, a in json.loads(sys.argv[1])]
msg = {"role": "assistant", "content": None, "tool_calls": calls}
print(json.dumps({"choices": [{"index": 0, "message": msg, "finish_reason": "tool_calls"}]}))
PY
}
text_reply() {
  python3 -c 'import json,sys; print(json.dumps({"choices": [{"index": 0, "message": {"role": "assistant", "content": sys.argv[1]}, "finish_reason": "stop"}]}))' "$1"
}
# script: the responses of /v1/chat/completions in order (JSON bodies), as a fake upstream script.
script() {
  python3 -c 'import json,sys; print(json.dumps({"routes": {"/v1/chat/completions": [{"body": b} for b in sys.argv[1:]]}}))' "$@"
}
# A new fake upstream for the next scenario (the one before is stopped first).
up_pid=""
restart_upstream() {
  [ -n "$up_pid" ] && kill "$up_pid" 2>/dev/null && wait "$up_pid" 2>/dev/null
  rm -f "$T/port"
  start_upstream "$1"
  up_pid=${pids##* }
}
# The body of the upstream's request number $1 (1-based), as JSON text.
request() { sed -n "${1}p" "$UP_LOG"; }

# ---- hb mcp list (node starts slowly on a busy machine: each scenario starts one server) ----
hb mcp list "sh -c 'echo \$\$ > $T/pid-list; exec $SERVER'"
expect_status "hb mcp list over stdio succeeds" 0
expect_out_has "it lists echo" "echo  Echoes back the input string"
expect_out_has "and get-sum" "get-sum  Returns the sum of two numbers"
expect_nowhere "the server's stderr is not mixed into ours" "Starting default (STDIO) server"
expect_true "the server process is gone after hb mcp list" \
  sh -c "[ -s '$T/pid-list' ] && ! kill -0 \$(cat '$T/pid-list') 2>/dev/null"

hb mcp list "/nonexistent/mcp-server --stdio"
expect_status "a server that cannot be started fails" 1
expect_err_has "naming the command" "/nonexistent/mcp-server"

hb mcp list
expect_status "hb mcp list without a server is a usage error" 2

# ---- the tool loop over stdio: echo and get-sum; then an error, an image, structured
# content and a long-running tool with progress ----
restart_upstream "$(script "$(tool_calls_reply '[["c1","echo","{\"message\":\"hello mcp\"}"],["c2","get-sum","{\"a\":2,\"b\":3}"]]')" \
  "$(tool_calls_reply '[["c3","get-sum","{\"a\":\"two\"}"],["i1","get-tiny-image","{}"],["i2","get-structured-content","{\"location\":\"Chicago\"}"],["i3","trigger-long-running-operation","{\"duration\":0.4,\"steps\":2}"]]')" \
  "$(text_reply "All done.")")"
HB_LOG=info hb chat "${MODEL[@]}" --base-url "$UP_URL/v1" \
  --mcp "sh -c 'echo \$\$ > $T/pid-chat; exec $SERVER'" "Echo and add"
expect_out "the loop ends with the model's answer" "All done."
expect_true "the model's first request offers the server's tools" \
  grep -qF '"name":"get-sum"' <(request 1)
expect_true "echo's result reaches the model's next request" \
  grep -qF '"tool_call_id":"c1","content":"{\"text\":\"Echo: hello mcp\"}"' <(request 2)
expect_true "get-sum's result too" grep -qF 'The sum of 2 and 3 is 5.' <(request 2)
expect_true "a tool error reaches the model as an error" \
  grep -qF '"tool_call_id":"c3","content":"{\"ok\":false,\"error\":{\"type\":\"PROVIDER\",\"message\":\"MCP tool get-sum failed: MCP error -32602: Input validation error' <(request 3)
expect_true "an image result reaches the model as its MIME type and base64 data" \
  grep -qF '"tool_call_id":"i1","content":"{\"text\":\"Here' <(request 3)
expect_true "(the image)" grep -qF '\"images\":[{\"mime_type\":\"image' <(request 3)
expect_true "(its data)" grep -qF '\"data\":\"iVBORw0KGgo' <(request 3)
expect_true "structured content reaches the model" \
  grep -qF '\"structured\":{\"temperature\":' <(request 3)
expect_true "the long-running tool's result too" grep -qF 'Long running operation completed' <(request 3)
expect_err_has "its progress notifications are logged" "progress 2 of 2"
expect_true "the server process is gone after hb chat" \
  sh -c "[ -s '$T/pid-chat' ] && ! kill -0 \$(cat '$T/pid-chat') 2>/dev/null"

# ---- hb chat --mcp --stream: every step streamed; the tool runs between them, the answer
# prints as it arrives (its second piece comes 2 s after the first) ----
sse_script() {
  python3 - <<'PY'
import json
def ev(d): return "data: " + json.dumps({"choices": [dict(index=0, finish_reason=None, **d)]}) + "\n\n"
call = ev({"delta": {"role": "assistant", "tool_calls": [{"index": 0, "id": "t1", "type": "function",
       "function": {"name": "echo", "arguments": "{\"message\":"}}]}}) + \
       ev({"delta": {"tool_calls": [{"index": 0, "function": {"arguments": "\"streamed\"}"}}]}}) + \
       "data: " + json.dumps({"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]}) + "\n\ndata: [DONE]\n\n"
end = "data: " + json.dumps({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}) + "\n\ndata: [DONE]\n\n"
sse = {"content_type": "text/event-stream", "chunked": True}
print(json.dumps({"routes": {"/v1/chat/completions": [
  dict(sse, chunks=[{"data": call}]),
  dict(sse, chunks=[{"data": ev({"delta": {"role": "assistant", "content": "Streamed "}})},
                    {"data": ev({"delta": {"content": "answer."}}) + end, "delay_ms": 2000}])]}}))
PY
}
restart_upstream "$(sse_script)"
: >"$T/out"
${HB_TEST_WRAPPER:-} "$HB_BIN" chat "${MODEL[@]}" --base-url "$UP_URL/v1" --mcp "$SERVER" --stream \
  "Echo, streamed" >"$T/out" 2>"$T/err" &
hb_pid=$!
early=no
for _ in $(seq 1 600); do
  kill -0 $hb_pid 2>/dev/null || break
  grep -qF "Streamed " "$T/out" && { kill -0 $hb_pid 2>/dev/null && early=yes; break; }
  sleep 0.05
done
wait $hb_pid; rc=$?
expect_out "hb chat --mcp --stream prints the answer" "Streamed answer."
expect_true "its first piece is on stdout before the reply ended (streamed)" [ "$early" = yes ]
expect_err_has "the tool step shows on stderr as it ran, with its result" \
  'STEP 1/20 echo(message="streamed") -> Echo: streamed'
expect_true "each step asks for a stream" grep -qF '"stream":true' <(request 1)
expect_true "the streamed tool call ran: its result reaches the next request" \
  grep -qF '"tool_call_id":"t1","content":"{\"text\":\"Echo: streamed\"}"' <(request 2)
restart_upstream "$(sse_script)"
hb chat "${MODEL[@]}" --base-url "$UP_URL/v1" --mcp "$SERVER" --stream --json "Echo, streamed" </dev/null
expect_true "with --json each delta is a JSON line, the tool result among them" \
  grep -qF '"tool_result":{"id":"t1","name":"echo"' "$T/out"

# ---- Streamable HTTP ----
port_file="$T/mcp-port"
for port in $(shuf -i 20000-40000 -n 5); do
  PORT=$port node --require "$HB_TEST_SRCDIR/tests/portkey/bind-loopback.cjs" "$E" streamableHttp \
    >"$T/mcp-http.log" 2>&1 &
  http_pid=$!
  pids="$pids $http_pid"
  for _ in $(seq 1 100); do
    grep -q "listening on port $port" "$T/mcp-http.log" 2>/dev/null && { echo "$port" > "$port_file"; break 2; }
    kill -0 $http_pid 2>/dev/null || break
    sleep 0.1
  done
  kill $http_pid 2>/dev/null; wait $http_pid 2>/dev/null
done
[ -s "$port_file" ] || { echo "not ok - the MCP server did not start over HTTP: $(tail -n 5 "$T/mcp-http.log")"; exit 1; }
URL="http://127.0.0.1:$(cat "$port_file")/mcp"

hb mcp list "$URL" --json
expect_status "hb mcp list over Streamable HTTP succeeds" 0
expect_out_has "--json prints the tools with their input schemas" '"name":"get-sum"'
expect_out_has "(the schema)" '"inputSchema"' 
expect_true "the session was deleted at the end" grep -q "Received session termination request" "$T/mcp-http.log"

restart_upstream "$(script "$(tool_calls_reply '[["h1","echo","{\"message\":\"over http\"}"],["h2","get-sum","{\"a\":40,\"b\":2}"]]')" \
  "$(text_reply "HTTP done.")")"
hb chat "${MODEL[@]}" --base-url "$UP_URL/v1" --mcp "$URL" "Echo and add"
expect_out "the loop over HTTP ends with the model's answer" "HTTP done."
expect_true "echo's result over HTTP reaches the model" grep -qF 'Echo: over http' <(request 2)
expect_true "get-sum's result over HTTP too" grep -qF 'The sum of 40 and 2 is 42.' <(request 2)

mkdir -p "$HB_CONFIG_DIR"
# ---- the fake upstream as an MCP server: JSON replies, pages, session, auth from a named variable ----
mcp_reply() {  # ID RESULT_JSON
  python3 -c 'import json,sys; print(json.dumps({"jsonrpc": "2.0", "id": int(sys.argv[1]), "result": json.loads(sys.argv[2])}))' "$1" "$2"
}
restart_upstream "$(python3 -c 'import json,sys; print(json.dumps({"routes": {"/mcp": [
  {"content_type": "application/json", "headers": {"Mcp-Session-Id": "sess-42"}, "body": sys.argv[1]},
  {"status": 202, "body": ""},
  {"content_type": "application/json", "body": sys.argv[2]},
  {"content_type": "application/json", "body": sys.argv[3]},
  {"status": 200, "body": ""}]}}))' \
  "$(mcp_reply 1 '{"protocolVersion": "2025-03-26", "capabilities": {"tools": {}}, "serverInfo": {"name": "fake", "version": "1"}}')" \
  "$(mcp_reply 2 '{"tools": [{"name": "first", "description": "page one", "inputSchema": {"type": "object"}}], "nextCursor": "page-2"}')" \
  "$(mcp_reply 3 '{"tools": [{"name": "second", "description": "page two", "inputSchema": {"type": "object"}}]}')")"
python3 -c 'import json,sys; print(json.dumps({"heavenbase": {"llm": {"mcp": {"fake": {"url": sys.argv[1], "auth_env": "FAKE_MCP_TOKEN", "headers": {"X-Team": "core"}}, "both": {"command": "x", "url": sys.argv[1]}}}}}))' \
  "$UP_URL/mcp" > "$HB_CONFIG_DIR/config.json"
FAKE_MCP_TOKEN=tok-secret-0123456789 hb mcp list fake
expect_status "a config-named HTTP server lists" 0
expect_out_has "the tools of every page" "second  page two"
expect_out_has "(the first page too)" "first  page one"
expect_log_has "the token is sent from the named variable" '"authorization":"Bearer tok-secret-0123456789"'
expect_log_has "the config's headers are sent" '"x-team":"core"'
expect_true "the second page is asked for with its cursor" grep -qF '"params":{"cursor":"page-2"}' <(sed -n 4p "$UP_LOG")
expect_true "the session id goes back" grep -qF '"mcp-session-id":"sess-42"' <(sed -n 3p "$UP_LOG")
expect_true "with the negotiated version" grep -qF '"mcp-protocol-version":"2025-03-26"' <(sed -n 3p "$UP_LOG")
expect_true "and the session is deleted at the end" grep -qF '"method":"DELETE"' <(sed -n 5p "$UP_LOG")
hb mcp list fake
expect_status "a named variable that is not set fails" 1
expect_err_has "naming the variable" "FAKE_MCP_TOKEN is not set"
hb mcp list both
expect_status "a config entry with both command and url fails" 1
expect_err_has "naming the key" "heavenbase.llm.mcp.both"

# ---- the fake upstream as an MCP server that drops our session (404: a new one is started,
# the call sent again) and then changes its tool list in the middle of the loop (the next step
# offers the new list) ----
restart_upstream "$(python3 - "$(tool_calls_reply '[["f1","first","{}"]]')" "$(text_reply "Refreshed.")" <<'PY'
import json, sys
def rpc(i, result): return json.dumps({"jsonrpc": "2.0", "id": i, "result": result})
init = {"protocolVersion": "2025-06-18", "capabilities": {"tools": {"listChanged": True}},
        "serverInfo": {"name": "fake", "version": "1"}}
tool = lambda n: {"name": n, "description": "tool " + n, "inputSchema": {"type": "object"}}
changed = json.dumps({"jsonrpc": "2.0", "method": "notifications/tools/list_changed"})
call_sse = "event: message\ndata: " + changed + "\n\nevent: message\ndata: " + \
  rpc(5, {"content": [{"type": "text", "text": "first result"}]}) + "\n\n"
print(json.dumps({"routes": {
  "/mcp": [
    {"content_type": "application/json", "headers": {"Mcp-Session-Id": "sess-1"}, "body": rpc(1, init)},
    {"status": 202, "body": ""},
    {"content_type": "application/json", "body": rpc(2, {"tools": [tool("first")]})},
    {"status": 404, "content_type": "application/json", "body": json.dumps({"jsonrpc": "2.0", "id": 3, "error": {"code": -32001, "message": "Session not found"}})},
    {"content_type": "application/json", "headers": {"Mcp-Session-Id": "sess-2"}, "body": rpc(4, init)},
    {"status": 202, "body": ""},
    {"content_type": "text/event-stream", "body": call_sse},
    {"content_type": "application/json", "body": rpc(6, {"tools": [tool("first"), tool("second")]})},
    {"status": 200, "body": ""}],
  "/v1/chat/completions": [{"body": sys.argv[1]}, {"body": sys.argv[2]}]}}))
PY
)"
HB_LOG=info hb chat "${MODEL[@]}" --base-url "$UP_URL/v1" --mcp "$UP_URL/mcp" "Use first"
expect_out "the loop ends with the model's answer" "Refreshed."
# mcp_req N FIELD: request N to /mcp (1-based), FIELD: its JSON-RPC method or a header.
mcp_req() {
  python3 -c 'import json,sys
reqs = [json.loads(l) for l in open(sys.argv[1]) if json.loads(l)["path"] == "/mcp"]
r = reqs[int(sys.argv[2]) - 1]
print(r["body"].get("method", "") if sys.argv[3] == "method" else r["headers"].get(sys.argv[3], "-"))' \
    "$UP_LOG" "$1" "$2"
}
chat_req() { python3 -c 'import json,sys
print([l for l in open(sys.argv[1]) if json.loads(l)["path"] == "/v1/chat/completions"][int(sys.argv[2]) - 1], end="")' "$UP_LOG" "$1"; }
expect_true "the tool call went out in the first session" \
  [ "$(mcp_req 4 method) $(mcp_req 4 mcp-session-id)" = "tools/call sess-1" ]
expect_true "after the 404, a new initialize without a session id" \
  [ "$(mcp_req 5 method) $(mcp_req 5 mcp-session-id)" = "initialize -" ]
expect_true "then the call again, in the new session" \
  [ "$(mcp_req 7 method) $(mcp_req 7 mcp-session-id)" = "tools/call sess-2" ]
expect_err_has "the new session is logged" "starting a new session for tools/call"
expect_true "the tool's result reaches the model" grep -qF 'first result' <(chat_req 2)
expect_true "list_changed (sent during the call) makes hb list the tools again before the next step" \
  [ "$(mcp_req 8 method)" = "tools/list" ]
chat_req 1 >"$T/c1"; chat_req 2 >"$T/c2"
expect_true "the first step did not offer the tool added later" sh -c "! grep -qF '\"name\":\"second\"' '$T/c1'"
expect_true "the next step offers it" grep -qF '"name":"second"' "$T/c2"

# ---- the same list change in the async loop (--stream): the refresh happens there too ----
restart_upstream "$(python3 - "$(tool_calls_reply '[["f1","first","{}"]]')" "$(text_reply "Refreshed too.")" <<'PY'
import json, sys
def rpc(i, result): return json.dumps({"jsonrpc": "2.0", "id": i, "result": result})
init = {"protocolVersion": "2025-06-18", "capabilities": {"tools": {"listChanged": True}},
        "serverInfo": {"name": "fake", "version": "1"}}
tool = lambda n: {"name": n, "description": "tool " + n, "inputSchema": {"type": "object"}}
changed = json.dumps({"jsonrpc": "2.0", "method": "notifications/tools/list_changed"})
call_sse = "data: " + changed + "\n\ndata: " + rpc(3, {"content": [{"type": "text", "text": "first result"}]}) + "\n\n"
print(json.dumps({"routes": {
  "/mcp": [
    {"content_type": "application/json", "headers": {"Mcp-Session-Id": "s"}, "body": rpc(1, init)},
    {"status": 202, "body": ""},
    {"content_type": "application/json", "body": rpc(2, {"tools": [tool("first")]})},
    {"content_type": "text/event-stream", "body": call_sse},
    {"content_type": "application/json", "body": rpc(4, {"tools": [tool("first"), tool("second")]})},
    {"status": 200, "body": ""}],
  "/v1/chat/completions": [{"body": sys.argv[1]}, {"body": sys.argv[2]}]}}))
PY
)"
hb chat "${MODEL[@]}" --base-url "$UP_URL/v1" --mcp "$UP_URL/mcp" --stream "Use first"
expect_out "the streamed loop ends with the model's answer" "Refreshed too."
expect_err_has "its tool step ran" "STEP 1/20 first() -> first result"
chat_req 1 >"$T/c1"; chat_req 2 >"$T/c2"
expect_true "its first step did not offer the tool added later" sh -c "! grep -qF '\"name\":\"second\"' '$T/c1'"
expect_true "its next step offers it" grep -qF '"name":"second"' "$T/c2"

# ---- a server killed before the model asks for its tool: a tool error, not a hang ----
restart_upstream "$(python3 -c 'import json,sys; print(json.dumps({"routes": {"/v1/chat/completions": [{"body": sys.argv[1], "head_delay_ms": 1500}, {"body": sys.argv[2]}]}}))' \
  "$(tool_calls_reply '[["k1","echo","{\"message\":\"anyone?\"}"]]')" "$(text_reply "It died.")")"
( for _ in $(seq 1 200); do [ -s "$UP_LOG" ] && break; sleep 0.05; done
  kill -9 "$(cat "$T/pid-kill")" ) 2>/dev/null &
killer=$!
start=$(date +%s)
hb chat "${MODEL[@]}" --base-url "$UP_URL/v1" --mcp "sh -c 'echo \$\$ > $T/pid-kill; exec $SERVER'" "Echo"
wait $killer
expect_out "the loop goes on after the server died" "It died."
expect_true "the model gets a transport error for the dead server's tool" \
  grep -qF '"tool_call_id":"k1","content":"{\"ok\":false,\"error\":{\"type\":\"TRANSPORT\",\"message\":\"MCP tool echo: tools' <(request 2)
expect_true "saying how the server ended" grep -qF 'was killed by signal 9' <(request 2)
expect_true "within seconds" [ $(( $(date +%s) - start )) -lt 20 ]

# ---- a server that hangs (stopped): the tool timeout of a config-named server ----
python3 -c 'import json,sys; print(json.dumps({"heavenbase": {"llm": {"mcp": {"stuck": {"command": ["sh", "-c", "echo $$ > " + sys.argv[2] + "; exec node " + sys.argv[1] + " stdio"], "timeout": 1}}}}}))' \
  "$E" "$T/pid-stop" > "$HB_CONFIG_DIR/config.json"
restart_upstream "$(python3 -c 'import json,sys; print(json.dumps({"routes": {"/v1/chat/completions": [{"body": sys.argv[1], "head_delay_ms": 1500}, {"body": sys.argv[2]}]}}))' \
  "$(tool_calls_reply '[["s1","get-sum","{\"a\":1,\"b\":1}"]]')" "$(text_reply "It hung.")")"
( for _ in $(seq 1 200); do [ -s "$UP_LOG" ] && break; sleep 0.05; done
  kill -STOP "$(cat "$T/pid-stop")" ) 2>/dev/null &
killer=$!
start=$(date +%s)
hb chat "${MODEL[@]}" --base-url "$UP_URL/v1" --mcp stuck "Add"
wait $killer
expect_out "the loop goes on after the tool timed out" "It hung."
expect_true "the model gets a timeout error" \
  grep -qF '"tool_call_id":"s1","content":"{\"ok\":false,\"error\":{\"type\":\"TIMEOUT\"' <(request 2)
expect_true "within the tool timeout and the stop's grace (not 60 s)" [ $(( $(date +%s) - start )) -lt 15 ]
expect_true "the stopped server is gone too" \
  sh -c "[ -s '$T/pid-stop' ] && ! kill -0 \$(cat '$T/pid-stop') 2>/dev/null"

finish
