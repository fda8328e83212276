// tests/otel/receiver.js: an OTLP/HTTP trace receiver on loopback for tests/otel/test-otel.sh.
//   node receiver.js PROTO_DIR PORT_FILE OUT_FILE
// Listens on 127.0.0.1 (an ephemeral port, written to PORT_FILE), takes POST /v1/traces with
// Content-Type application/x-protobuf, decodes each body as an ExportTraceServiceRequest with
// protobufjs from the official .proto files (PROTO_DIR, a copy of opentelemetry-proto), and
// appends one JSON line per span to OUT_FILE: ids as hex, attributes as {key: value}, the
// resource's service.name. A body that does not decode is answered 400 and logged as
// {"error": ...}, so the test sees it.
"use strict";
const http = require("http");
const fs = require("fs");
const path = require("path");
const protobuf = require("protobufjs");

const [protoDir, portFile, outFile] = process.argv.slice(2);
const root = new protobuf.Root();
root.resolvePath = (origin, target) => path.join(protoDir, target);
root.loadSync("opentelemetry/proto/collector/trace/v1/trace_service.proto");
const Request = root.lookupType("opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest");
const Response = root.lookupType("opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse");

const hex = (b) => (b && b.length ? Buffer.from(b).toString("hex") : "");

function value(v) {
  if (!v) return null;
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.arrayValue) return (v.arrayValue.values || []).map(value);
  return null;
}

function attrs(list) {
  const out = {};
  for (const kv of list || []) out[kv.key] = value(kv.value);
  return out;
}

function record(body, contentType) {
  const msg = Request.decode(body);
  const err = Request.verify(msg);
  if (err) throw new Error("verify: " + err);
  const obj = Request.toObject(msg, { longs: String, enums: Number, defaults: false });
  const lines = [];
  for (const rs of obj.resourceSpans || []) {
    const resource = attrs(rs.resource && rs.resource.attributes);
    for (const ss of rs.scopeSpans || []) {
      for (const s of ss.spans || []) {
        lines.push(JSON.stringify({
          contentType, service: resource["service.name"], scope: ss.scope && ss.scope.name,
          traceId: hex(s.traceId), spanId: hex(s.spanId), parentSpanId: hex(s.parentSpanId),
          name: s.name, kind: s.kind, start: s.startTimeUnixNano, end: s.endTimeUnixNano,
          status: s.status || {}, attributes: attrs(s.attributes),
        }));
      }
    }
  }
  return lines;
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    try {
      if (req.method !== "POST" || req.url !== "/v1/traces") throw new Error(req.method + " " + req.url);
      const lines = record(Buffer.concat(chunks), req.headers["content-type"]);
      fs.appendFileSync(outFile, lines.map((l) => l + "\n").join(""));
      res.writeHead(200, { "Content-Type": "application/x-protobuf" });
      res.end(Buffer.from(Response.encode(Response.create({})).finish()));
    } catch (e) {
      fs.appendFileSync(outFile, JSON.stringify({ error: String(e) }) + "\n");
      res.writeHead(400);
      res.end();
    }
  });
});
server.listen(0, "127.0.0.1", () => fs.writeFileSync(portFile, String(server.address().port)));
