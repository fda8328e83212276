#!/usr/bin/env python3
# A minimal stdio MCP server for tests/unit/test-mcp-async.c: one tool, "slow", whose call
# answers only once the file named by its "gate" argument exists (at most 60 s), after
# creating the file named by its "started" argument. The test decides when the tool answers,
# so "another call completed while this one waited" needs no timing. With an argument, every
# method it reads (requests and notifications) is appended to that file, one a line.
import json, os, sys, time

LOG = sys.argv[1] if len(sys.argv) > 1 else None

def send(msg):
    sys.stdout.write(json.dumps(msg) + "\n")
    sys.stdout.flush()

for line in sys.stdin:
    try:
        msg = json.loads(line)
    except ValueError:
        continue
    method, mid = msg.get("method"), msg.get("id")
    if LOG and method:
        with open(LOG, "a") as f:
            f.write(method + "\n")
    if mid is None:
        continue  # notifications
    if method == "initialize":
        result = {"protocolVersion": "2025-06-18", "capabilities": {"tools": {}},
                  "serverInfo": {"name": "slow", "version": "1"}}
    elif method == "tools/list":
        result = {"tools": [{"name": "slow", "description": "answers when the gate opens",
                             "inputSchema": {"type": "object"}}]}
    elif method == "tools/call":
        args = msg.get("params", {}).get("arguments", {})
        open(args["started"], "w").close()
        end = time.time() + 60
        while not os.path.exists(args["gate"]) and time.time() < end:
            time.sleep(0.05)
        result = {"content": [{"type": "text", "text": "slow done"}]}
    else:
        send({"jsonrpc": "2.0", "id": mid, "error": {"code": -32601, "message": "method not found"}})
        continue
    send({"jsonrpc": "2.0", "id": mid, "result": result})
