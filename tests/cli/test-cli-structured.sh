#!/bin/bash
# Structured output (docs/structured.md): hb chat --schema / --json-object through the mock,
# openai and anthropic gateways against the fake upstream; the value checked by ajv, the wire
# bodies by the official specs' schemas (tests/data/structured/wire-schemas.json); repair,
# asking again, HVB_SCHEMA, the cache, streamed partial values, structured_stream false.
. "$(dirname "$0")/lib.sh"

DATA="$HB_TEST_SRCDIR/tests/data/structured"
CHECK="$HB_TEST_SRCDIR/tests/cli/structured-check.cjs"
if [ "${HB_TEST_NO_NETWORK:-}" = 1 ]; then
  echo "# SKIP: HB_TEST_NO_NETWORK=1: ajv is installed from npm"; exit 77
fi
AJV=$(bash "$HB_TEST_SRCDIR/tests/schema/ajv-install.sh" 2>"$T/ajv.err") ||
  { echo "not ok - ajv could not be installed (needs node and npm):"; sed 's/^/  /' "$T/ajv.err"; exit 1; }
# check DESCRIPTION MODE ARGS...: structured-check.cjs passes.
check() {
  local desc=$1; shift
  if node "$CHECK" "$AJV" "$@" >"$T/check.out" 2>"$T/check.err"; then ok "$desc"
  else not_ok "$desc: $(cat "$T/check.err")"; fi
}

# The fake upstream's script, written with node: the bodies are JSON inside JSON.
node - "$T/script.json" <<'JS'
const fs = require("fs");
const completion = (content) => ({ repeat: false, body: JSON.stringify({
  id: "c1", object: "chat.completion", created: 1, model: "gpt-4o-mini",
  choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: "stop" }],
  usage: { prompt_tokens: 3, completion_tokens: 3, total_tokens: 6 } }) });
const repeat = (r) => Object.assign(r, { repeat: true });
const message = (content, stop) => repeat({ body: JSON.stringify({
  id: "msg_1", type: "message", role: "assistant", model: "claude", content,
  stop_reason: stop, stop_sequence: null, usage: { input_tokens: 3, output_tokens: 4 } }) });
const ev = (type, data) => "event: " + type + "\ndata: " + JSON.stringify(Object.assign({ type }, data)) + "\n\n";
const good = '{"name": "Ada", "age": 36}', bad = '{"name": "Ada", "age": "old"}';
const sse = [ev("message_start", { message: { id: "msg_2", type: "message", role: "assistant", model: "claude",
    content: [], stop_reason: null, usage: { input_tokens: 3, output_tokens: 1 } } }),
  ev("content_block_start", { index: 0, content_block: { type: "tool_use", id: "toolu_1",
    name: "hb_structured_output", input: {} } })]
  .concat(['{"name', '": "Ad', 'a Love', 'lace", "a', 'ge": 3', '6}'].map((p) =>
    ev("content_block_delta", { index: 0, delta: { type: "input_json_delta", partial_json: p } })))
  .concat([ev("content_block_stop", { index: 0 }),
    ev("message_delta", { delta: { stop_reason: "tool_use", stop_sequence: null }, usage: { output_tokens: 9 } }),
    ev("message_stop", {})]);
fs.writeFileSync(process.argv[2], JSON.stringify({ routes: {
  "/ok/v1/chat/completions": [repeat(completion(good))],
  "/fence/v1/chat/completions": [repeat(completion('Here it is:\n```json\n{"name": "Ada", "age": 36,}\n```'))],
  "/retry/v1/chat/completions": [completion(bad), repeat(completion(good))],
  "/twice/v1/chat/completions": [repeat(completion(bad))],
  "/native/v1/messages": [message([{ type: "text", text: good }], "end_turn")],
  "/tool/v1/messages": [message([{ type: "tool_use", id: "toolu_1", name: "hb_structured_output",
    input: { name: "Ada", age: 36 } }], "tool_use")],
  "/toolsse/v1/messages": [{ repeat: true, content_type: "text/event-stream", chunked: true,
    chunks: sse.map((data) => ({ data })) }],
} }));
JS
start_upstream "$(cat "$T/script.json")"
export TEST_KEY="sk-test-structured-0123456789"
OPENAI=(--provider openai -m gpt-4o-mini --api-key-env TEST_KEY)
SIMPLE="$DATA/person-simple.json"

# ---- asking, and the value (mock) ----
hb chat -p mock --schema "$DATA/person.json" "Invent a person" --include structured --json
expect_status "mock: hb chat --schema prints the structured value" 0
cp "$T/out" "$T/person-value.json"
check "and ajv accepts it for the schema (\$ref, anyOf, format, pattern, enum, bounds)" \
  value "$DATA/person.json" "$T/person-value.json"
hb chat -p mock --schema "$DATA/person.json" "Invent a person" --include structured_outcome --json
expect_out_has "its outcome is valid" '"outcome":"valid"'
hb chat -p mock --json-object "hi" --include structured --json
expect_out "--json-object: one JSON object" '{"reply":"Mock reply to: hi"}'
hb chat -p mock "hi" --include structured
expect_status "include structured without a response format fails" 1
expect_err_has "naming the missing option" "response_format"
hb chat -p mock --schema /nonexistent.json "hi"
expect_status "an unreadable --schema file is a usage error" 2
printf '[1]' > "$T/array.json"
hb chat -p mock --schema "$T/array.json" "hi"
expect_err_has "a schema that is not an object is refused" "must be a JSON object"

# ---- openai: the wire, repair, asking again, HVB_SCHEMA, the cache ----
hb chat "${OPENAI[@]}" --base-url "$UP_URL/ok/v1" --schema "$SIMPLE" "hi" --include structured --json
expect_out "openai: the reply's value" '{"name":"Ada","age":36}'
check "the request's response_format is OpenAI's ResponseFormatJsonSchema" wire openai "$UP_LOG"
expect_request_has "named after the file, strict, with the schema" '"name":"person-simple"' \
  '"strict":true' '"additionalProperties":false'

hb chat "${OPENAI[@]}" --base-url "$UP_URL/fence/v1" --schema "$SIMPLE" "hi" \
  --include structured,structured_outcome --json
expect_out_has "a fenced reply with a trailing comma is repaired" '"structured":{"name":"Ada","age":36}'
expect_out_has "and the outcome says repaired" '"outcome":"repaired"'
expect_out_has "with the edits" '"code":"trailing_comma"'

n0=$(wc -l < "$UP_LOG")
hb chat "${OPENAI[@]}" --base-url "$UP_URL/retry/v1" --schema "$SIMPLE" "hi" \
  --include structured,structured_outcome --json
expect_out_has "a reply that violates the schema is asked again" '"structured":{"name":"Ada","age":36}'
expect_out_has "the outcome says retried once" '"outcome":"retried","edits":[],"retries":1'
expect_true "the upstream got a second request" [ "$(wc -l < "$UP_LOG")" = $((n0 + 2)) ]
expect_request_has "holding the failed reply and the error's pointer" \
  '"role":"assistant","content":"{\"name\": \"Ada\", \"age\": \"old\"}"' '/age: '

n0=$(wc -l < "$UP_LOG")
hb chat "${OPENAI[@]}" --base-url "$UP_URL/twice/v1" --schema "$SIMPLE" -o temperature=0 "hi"
expect_status "a second violation fails" 1
expect_err_has "with HVB_SCHEMA" "HVB_SCHEMA"
expect_err_has "naming the pointer" "/age: "
expect_true "after two requests" [ "$(wc -l < "$UP_LOG")" = $((n0 + 2)) ]
hb chat "${OPENAI[@]}" --base-url "$UP_URL/twice/v1" --schema "$SIMPLE" -o temperature=0 \
  -o structured_retries=0 "hi"
expect_true "a failed reply was not cached: asked again, once with structured_retries=0" \
  [ "$(wc -l < "$UP_LOG")" = $((n0 + 3)) ]

n0=$(wc -l < "$UP_LOG")
hb chat "${OPENAI[@]}" --base-url "$UP_URL/ok/v1" --schema "$SIMPLE" -o temperature=0 "cache me"
hb chat "${OPENAI[@]}" --base-url "$UP_URL/ok/v1" --schema "$SIMPLE" -o temperature=0 "cache me"
expect_true "a valid reply is cached" [ "$(wc -l < "$UP_LOG")" = $((n0 + 1)) ]
sed 's/"minimum": 0/"minimum": 1/' "$SIMPLE" > "$T/person-other.json"
hb chat "${OPENAI[@]}" --base-url "$UP_URL/ok/v1" --schema "$T/person-other.json" -o temperature=0 "cache me"
expect_true "the schema is part of the cache key" [ "$(wc -l < "$UP_LOG")" = $((n0 + 2)) ]

# A model the catalog marks "structured_stream": false gets one request without streaming.
hb cfg set heavenbase.llm.models.gpt-4o-mini '{"ids": {"openai": "gpt-4o-mini"}, "kind": "chat", "structured_stream": false}'
hb chat "${OPENAI[@]}" --base-url "$UP_URL/ok/v1" --schema "$SIMPLE" --stream --json "no stream"
expect_out_has "structured_stream false: the caller's stream still ends with the value" \
  '"structured":{"name":"Ada","age":36}'
expect_request_has "but the request did not stream" '"stream":false'
hb cfg unset heavenbase.llm.models.gpt-4o-mini

# ---- anthropic: native output format or a forced tool, as the catalog says ----
export ANTHROPIC_API_KEY="sk-ant-test-structured-0123456789"
ANT=(--provider anthropic -g anthropic)
hb chat "${ANT[@]}" -m claude-sonnet-4.5 --base-url "$UP_URL/native/v1" --schema "$SIMPLE" "hi" \
  --include structured --json
expect_out "anthropic, native (catalog: structured_output native): the value" '{"name":"Ada","age":36}'
check "the request's output_config matches the Messages API's OutputConfig" \
  wire anthropic-native "$UP_LOG"
hb chat "${ANT[@]}" -m claude-3-5-haiku --base-url "$UP_URL/tool/v1" --schema "$SIMPLE" "hi" \
  --include text,structured,tool_calls --json
expect_out_has "anthropic, forced tool: the tool's input is the value" '"structured":{"name":"Ada","age":36}'
expect_out_has "and the reply's text" '"text":"{\"name\":\"Ada\",\"age\":36}"'
expect_out_has "never a tool call the user did not ask for" '"tool_calls":null'
check "the request's tools and tool_choice match the Messages API's" wire anthropic-tool "$UP_LOG"

# ---- streamed partial values ----
hb chat "${ANT[@]}" -m claude-3-5-haiku --base-url "$UP_URL/toolsse/v1" --schema "$SIMPLE" --stream \
  --json "hi"
cp "$T/out" "$T/deltas.jsonl"
check "anthropic stream: every partial is a prefix of the final value" partials "$T/deltas.jsonl"
hb chat -p mock --schema "$DATA/person.json" --stream --json "Invent a person"
cp "$T/out" "$T/deltas.jsonl"
check "mock stream: every partial is a prefix of the final value" partials "$T/deltas.jsonl"
echo "# $(cat "$T/check.out")"

finish
