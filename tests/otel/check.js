// tests/otel/check.js: assertions over the spans tests/otel/receiver.js decoded.
//   node check.js SPANS.jsonl UPSTREAM_LOG CALLER_TRACEPARENT
// Prints "ok - ..." / "not ok - ..." lines (test-otel.sh counts them).
"use strict";
const fs = require("fs");
const [spansFile, upLog, callerTp] = process.argv.slice(2);
const lines = fs.readFileSync(spansFile, "utf8").split("\n").filter(Boolean).map(JSON.parse);
const requests = fs.readFileSync(upLog, "utf8").split("\n").filter(Boolean).map(JSON.parse);
let fails = 0;
function check(desc, cond, detail) {
  if (cond) console.log("ok - " + desc);
  else { fails++; console.log("not ok - " + desc + (detail !== undefined ? " (" + JSON.stringify(detail) + ")" : "")); }
}
const errors = lines.filter((l) => l.error);
check("every body decoded as an ExportTraceServiceRequest", errors.length === 0, errors);
const spans = lines.filter((l) => !l.error);
check("bodies were application/x-protobuf", spans.every((s) => s.contentType === "application/x-protobuf"));
check("service.name is OTEL_SERVICE_NAME", spans.every((s) => s.service === "otel-test"), spans.map((s) => s.service));
const [, callerTrace, callerSpan] = callerTp.split("-");
const header = (i) => { const h = requests[i].headers; for (const k in h) if (k.toLowerCase() === "traceparent") return h[k]; return undefined; };

// 1. the chat with the caller's context
const chat = spans.find((s) => s.traceId === callerTrace && s.name === "chat gpt-4o-mini");
check("the chat's span is in the caller's trace", !!chat);
if (chat) {
  const a = chat.attributes;
  check("its parent is the caller's span", chat.parentSpanId === callerSpan, chat.parentSpanId);
  check("it is a CLIENT span", chat.kind === 3, chat.kind);
  check("gen_ai.operation.name", a["gen_ai.operation.name"] === "chat", a);
  check("gen_ai.provider.name", a["gen_ai.provider.name"] === "openai", a);
  check("gen_ai.request.model", a["gen_ai.request.model"] === "gpt-4o-mini", a);
  check("gen_ai.response.model", a["gen_ai.response.model"] === "gpt-4o-mini-2024-07-18", a);
  check("gen_ai.usage.input_tokens", a["gen_ai.usage.input_tokens"] === 12, a);
  check("gen_ai.usage.output_tokens", a["gen_ai.usage.output_tokens"] === 3, a);
  check("gen_ai.response.finish_reasons", JSON.stringify(a["gen_ai.response.finish_reasons"]) === '["stop"]', a);
  check("server.address", a["server.address"] === "127.0.0.1", a);
  check("server.port", a["server.port"] > 0, a);
  check("heavenbase.cached and repaired are false", a["heavenbase.cached"] === false && a["heavenbase.repaired"] === false, a);
  check("no error.type on success", !("error.type" in a), a);
  check("no heavenbase.cost_usd for a model the catalog has no price for (unknown, not 0)",
        !("heavenbase.cost_usd" in a), a);
  check("no prompt without capture_content", !("gen_ai.input.messages" in a), a);
  check("the span's times are ordered", BigInt(chat.end) >= BigInt(chat.start) && BigInt(chat.start) > 0n);
  check("the upstream got traceparent with the call's span",
        header(0) === "00-" + callerTrace + "-" + chat.spanId + "-01", header(0));
}

// 2. the tool loop
const loop = spans.find((s) => s.name === "tool_loop gpt-4o-mini");
check("the tool loop has a span", !!loop);
if (loop) {
  check("the loop's span is a root in a new trace", loop.parentSpanId === "" && loop.traceId !== callerTrace);
  check("it is INTERNAL, with heavenbase.steps = 2", loop.kind === 1 && loop.attributes["heavenbase.steps"] === 2, loop);
  check("it sums the steps' tokens", loop.attributes["gen_ai.usage.input_tokens"] === 60 && loop.attributes["gen_ai.usage.output_tokens"] === 11, loop.attributes);
  const steps = spans.filter((s) => s.parentSpanId === loop.spanId).sort((x, y) => x.attributes["heavenbase.step"] - y.attributes["heavenbase.step"]);
  check("its children are the two steps", steps.length === 2 && steps[0].attributes["heavenbase.step"] === 1 && steps[1].attributes["heavenbase.step"] === 2, steps.map((s) => s.name));
  check("the steps share the loop's trace", steps.every((s) => s.traceId === loop.traceId));
  check("step 1 ended with tool_calls and was repaired", steps[0] && JSON.stringify(steps[0].attributes["gen_ai.response.finish_reasons"]) === '["tool_calls"]' && steps[0].attributes["heavenbase.repaired"] === true, steps[0] && steps[0].attributes);
  check("each step's request carried its own span as traceparent",
        steps.length === 2 && header(1) === "00-" + loop.traceId + "-" + steps[0].spanId + "-01" &&
        header(2) === "00-" + loop.traceId + "-" + steps[1].spanId + "-01", [header(1), header(2)]);
  check("the loop's span encloses its steps", steps.every((s) => BigInt(s.start) >= BigInt(loop.start) && BigInt(s.end) <= BigInt(loop.end)));
}

// 3. the refused call
const refused = spans.find((s) => s.attributes["error.type"] !== undefined && !s.name.startsWith("attempt"));
check("the refused call's span has error.type", !!refused && refused.attributes["error.type"] === "invalid_request_error", refused && refused.attributes);
check("its status is ERROR with the message", !!refused && refused.status.code === 2 && /bad model/.test(refused.status.message || ""), refused && refused.status);
check("its http.response.status_code is 400", !!refused && refused.attributes["http.response.status_code"] === 400);

// 4. the retried call
const retried = spans.find((s) => s.attributes["heavenbase.retries"] === 1);
check("the retried call's span counts one retry", !!retried);
if (retried) {
  const attempts = spans.filter((s) => s.parentSpanId === retried.spanId);
  check("its children are the two attempts", attempts.length === 2 && attempts.some((s) => s.name === "attempt 1") && attempts.some((s) => s.name === "attempt 2"), attempts.map((s) => s.name));
  const first = attempts.find((s) => s.name === "attempt 1");
  check("the first attempt failed with HTTP 503", !!first && first.attributes["http.response.status_code"] === 503 && first.status.code === 2, first);
}
check("no span holds the API key", !fs.readFileSync(spansFile, "utf8").includes("sk-otel-test-secret"));
process.exit(fails ? 1 : 0);
