// tests/cli/structured-check.cjs: the checks of test-cli-structured.sh that need ajv (draft
// 2020-12, installed by tests/schema/ajv-install.sh into AJV_DIR).
//
//   node structured-check.cjs AJV_DIR value SCHEMA.json VALUE.json
//       VALUE is valid for SCHEMA (ajv with formats)
//   node structured-check.cjs AJV_DIR wire KIND UPSTREAM_LOG [N]
//       request N (default: the last) of the fake upstream's log has a body whose structured
//       output fields match the official wire schemas (tests/data/structured/wire-schemas.json):
//       KIND openai: response_format is ResponseFormatJsonSchema; anthropic-native: output_config
//       is OutputConfig, no tools; anthropic-tool: every tool is a Tool and tool_choice a
//       ToolChoiceTool naming the last tool, whose input_schema is the schema asked for
//   node structured-check.cjs AJV_DIR partials DELTAS.jsonl
//       DELTAS are `hb chat --stream --json` lines: every "structured_partial" is a prefix of
//       the final "structured" value (objects: a subset of its members in its order, each
//       equal but the last, which is a prefix; arrays alike; strings: a prefix)
// Exit 0 when the check passes; otherwise 1 with the reason on stderr.
"use strict";
const fs = require("fs");
const path = require("path");

const [ajvDir, mode, ...args] = process.argv.slice(2);
const Ajv2020 = require(path.join(ajvDir, "node_modules/ajv/dist/2020")).default;
const addFormats = require(path.join(ajvDir, "node_modules/ajv-formats")).default;

function fail(why) {
  process.stderr.write(why + "\n");
  process.exit(1);
}
function read(file) {
  return JSON.parse(fs.readFileSync(file, "utf8"));
}
function ajvNew() {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  return ajv;
}

function checkValue(schemaFile, valueFile) {
  const validate = ajvNew().compile(read(schemaFile));
  const value = read(valueFile);
  if (!validate(value)) fail("ajv rejects the value: " + JSON.stringify(validate.errors));
}

function checkWire(kind, logFile, n) {
  const lines = fs.readFileSync(logFile, "utf8").split("\n").filter((l) => l.trim());
  const req = JSON.parse(lines[n === undefined ? lines.length - 1 : Number(n)]);
  const body = req.body;
  const wire = read(path.join(__dirname, "../data/structured/wire-schemas.json"));
  const ajv = ajvNew();
  ajv.addSchema(wire, "wire");
  const check = (def, v, what) => {
    const validate = ajv.getSchema("wire#/$defs/" + def);
    if (!validate(v)) fail(what + " does not match " + def + ": " + JSON.stringify(validate.errors));
  };
  if (kind === "openai") {
    check("openai.ResponseFormatJsonSchema", body.response_format, "response_format");
  } else if (kind === "anthropic-native") {
    check("anthropic.OutputConfig", body.output_config, "output_config");
    if (!body.output_config.format) fail("output_config has no format");
    if (body.tools) fail("the native form sends no tools");
  } else if (kind === "anthropic-tool") {
    if (!Array.isArray(body.tools) || !body.tools.length) fail("no tools in the body");
    body.tools.forEach((t, i) => check("anthropic.Tool", t, "tools[" + i + "]"));
    check("anthropic.ToolChoiceTool", body.tool_choice, "tool_choice");
    const last = body.tools[body.tools.length - 1];
    if (body.tool_choice.name !== last.name) fail("tool_choice does not name the answer tool");
    if (body.response_format) fail("response_format was sent to the Messages API");
  } else {
    fail("unknown wire kind " + kind);
  }
}

// Is `p` a prefix of `f` as the streamed partials promise?
function isPrefix(p, f) {
  if (typeof p === "string") return typeof f === "string" && f.startsWith(p);
  if (Array.isArray(p)) {
    if (!Array.isArray(f) || p.length > f.length) return false;
    return p.every((v, i) => (i < p.length - 1 ? equal(v, f[i]) : isPrefix(v, f[i])));
  }
  if (p && typeof p === "object") {
    if (!f || typeof f !== "object" || Array.isArray(f)) return false;
    const pk = Object.keys(p), fk = Object.keys(f);
    if (pk.length > fk.length) return false;
    return pk.every((k, i) => k === fk[i] && (i < pk.length - 1 ? equal(p[k], f[k]) : isPrefix(p[k], f[k])));
  }
  return p === f;
}
function equal(a, b) {
  return JSON.stringify(a) === JSON.stringify(b);
}

function checkPartials(file) {
  const deltas = fs.readFileSync(file, "utf8").split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l));
  const final = deltas.filter((d) => "structured" in d);
  if (final.length !== 1) fail("want one delta with the validated value, got " + final.length);
  const partials = deltas.filter((d) => "structured_partial" in d).map((d) => d.structured_partial);
  if (partials.length < 3) fail("want several partial values, got " + partials.length);
  partials.forEach((p, i) => {
    if (!isPrefix(p, final[0].structured))
      fail("partial " + i + " is not a prefix of the final value: " + JSON.stringify(p));
  });
  if (!equal(partials[partials.length - 1], final[0].structured))
    fail("the last partial is not the final value");
  process.stdout.write(partials.length + " partials\n");
}

if (mode === "value") checkValue(args[0], args[1]);
else if (mode === "wire") checkWire(args[0], args[1], args[2]);
else if (mode === "partials") checkPartials(args[0]);
else fail("unknown mode " + mode);
