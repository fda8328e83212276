#!/usr/bin/env python3
# A minimal Streamable HTTP MCP server for tests/unit/test-mcp-http-async.c (MCP spec
# 2025-06-18, "Transports: Streamable HTTP"), in DIR (the first argument):
# - listens on 127.0.0.1, an ephemeral port, written to DIR/port once it listens;
# - logs every message it gets, "METHOD SESSION" one a line, to DIR/log ("DELETE SESSION"
#   for a session's DELETE, "404 SESSION" when it refuses one);
# - initialize gives a new Mcp-Session-Id; a request with an unknown one gets 404, and when
#   the file DIR/expire exists the next request with a session finds it forgotten (the file
#   is removed): a session that expired mid-run;
# - tools/call answers as an SSE stream: a progress notification, then (tool "slow") waits
#   for the file named by its "gate" argument (at most 60 s, after creating "started"), then
#   the reply, split in three writes; then it keeps the stream open (up to 30 s, or until the
#   client goes), so the client must end the request when its reply came, not at the end of
#   the stream. Other requests get a JSON body.
import json, os, sys, threading, time, uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DIR = sys.argv[1]
LOG = os.path.join(DIR, "log")
sessions = set()
lock = threading.Lock()


def log(line):
    with lock, open(LOG, "a") as f:
        f.write(line + "\n")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def json_reply(self, status, body=None, sid=None):
        data = json.dumps(body).encode() if body is not None else b""
        self.send_response(status)
        if body is not None:
            self.send_header("Content-Type", "application/json")
        if sid:
            self.send_header("Mcp-Session-Id", sid)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def session_ok(self, sid):
        expire = os.path.join(DIR, "expire")
        with lock:
            if sid and os.path.exists(expire):
                os.unlink(expire)
                sessions.clear()
            return sid in sessions

    def do_DELETE(self):
        sid = self.headers.get("Mcp-Session-Id")
        log("DELETE %s" % sid)
        with lock:
            sessions.discard(sid)
        self.json_reply(200)

    def do_POST(self):
        msg = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
        sid = self.headers.get("Mcp-Session-Id")
        method, mid = msg.get("method"), msg.get("id")
        if method != "initialize" and not self.session_ok(sid):
            log("404 %s" % sid)
            return self.json_reply(404, {"jsonrpc": "2.0", "id": None,
                                         "error": {"code": -32001, "message": "Session not found"}})
        log("%s %s" % (method or "reply", sid))
        if mid is None or method is None:
            return self.json_reply(202)
        if method == "initialize":
            sid = uuid.uuid4().hex
            with lock:
                sessions.add(sid)
            return self.json_reply(200, {"jsonrpc": "2.0", "id": mid, "result": {
                "protocolVersion": "2025-06-18", "capabilities": {"tools": {}},
                "serverInfo": {"name": "http-test", "version": "1"}}}, sid)
        if method == "tools/list":
            return self.json_reply(200, {"jsonrpc": "2.0", "id": mid, "result": {"tools": [
                {"name": "slow", "description": "answers when the gate opens",
                 "inputSchema": {"type": "object"}},
                {"name": "fast", "description": "answers at once",
                 "inputSchema": {"type": "object"}}]}})
        if method != "tools/call":
            return self.json_reply(200, {"jsonrpc": "2.0", "id": mid, "error": {
                "code": -32601, "message": "method not found"}})
        try:
            self.call(msg, mid)
        except OSError:  # the client ended the stream (its reply came, or it cancelled)
            log("gone %s" % msg.get("params", {}).get("name"))

    def call(self, msg, mid):
        params = msg.get("params", {})
        name, args = params.get("name"), params.get("arguments", {})
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        token = params.get("_meta", {}).get("progressToken")
        note = {"jsonrpc": "2.0", "method": "notifications/progress",
                "params": {"progressToken": token, "progress": 1, "message": "working"}}
        self.chunk(b"event: message\ndata: " + json.dumps(note).encode() + b"\n\n")
        if name == "slow":
            open(args["started"], "w").close()
            end = time.time() + 60
            while not os.path.exists(args["gate"]) and time.time() < end:
                time.sleep(0.05)
        reply = {"jsonrpc": "2.0", "id": mid,
                 "result": {"content": [{"type": "text", "text": "%s done" % name}]}}
        event = b"event: message\nid: 1\ndata: " + json.dumps(reply).encode() + b"\n\n"
        third = len(event) // 3
        for part in (event[:third], event[third:2 * third], event[2 * third:]):
            self.chunk(part)
            time.sleep(0.05)
        for _ in range(300):  # the stream stays open: the client ends it
            time.sleep(0.1)
            self.chunk(b": keep-alive\n\n")
        self.chunk(b"")


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
with open(os.path.join(DIR, "port.tmp"), "w") as f:
    f.write(str(server.server_address[1]))
os.rename(os.path.join(DIR, "port.tmp"), os.path.join(DIR, "port"))
server.serve_forever()
