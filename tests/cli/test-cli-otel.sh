#!/bin/bash
# OpenTelemetry: the spans a program and hb export over OTLP/HTTP are decoded by a receiver on
# loopback with the official .proto files (protobufjs, installed by tests/otel/start.sh); the
# GenAI attributes, a tool loop's parent/child spans, retries as child spans, the trace
# context sent to the upstream, capture_content; a collector that is down fails no call.
. "$(dirname "$0")/lib.sh"

if [ "${HB_TEST_NO_NETWORK:-}" = 1 ]; then
  echo "# SKIP: HB_TEST_NO_NETWORK=1: protobufjs is installed from npm"; exit 77
fi
port=$(bash "$HB_TEST_SRCDIR/tests/otel/start.sh" "$T/otel" 2>"$T/otel.err")
if [ -z "$port" ] || [ ! -s "$T/otel/receiver.pid" ]; then
  echo "not ok - the OTLP receiver could not be installed or started (needs node and npm):"
  sed 's/^/  /' "$T/otel.err"
  exit 1
fi
pids="$pids $(cat "$T/otel/receiver.pid")"
RECV="http://127.0.0.1:$port"
SPANS="$T/otel/spans.jsonl"

ok_body='{\"model\":\"gpt-4o-mini-2024-07-18\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"Hi there.\"},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":3}}'
step1='{\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"call_w\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":\"{\\\"city\\\": \\\"Paris\\\",}\"}}]},\"finish_reason\":\"tool_calls\"}],\"usage\":{\"prompt_tokens\":20,\"completion_tokens\":5}}'
step2='{\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"21 C in Paris.\"},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":40,\"completion_tokens\":6}}'
start_upstream "{\"routes\": {\"/v1/chat/completions\": [
  {\"body\": \"$ok_body\"}, {\"body\": \"$step1\"}, {\"body\": \"$step2\"},
  {\"status\": 400, \"body\": \"{\\\"error\\\":{\\\"message\\\":\\\"bad model\\\",\\\"type\\\":\\\"invalid_request_error\\\"}}\"},
  {\"status\": 503, \"headers\": {\"Retry-After\": \"0\"}, \"body\": \"{\\\"error\\\":\\\"busy\\\"}\"},
  {\"body\": \"$ok_body\"}]}}"

TP=00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01
# shellcheck disable=SC2086
OTEL_EXPORTER_OTLP_ENDPOINT="$RECV" OTEL_SERVICE_NAME=otel-test \
  ${HB_TEST_WRAPPER:-} "$HB_TEST_BUILDDIR/tests/otel/otel-calls" "$UP_URL/v1" "$TP" \
  >"$T/calls.out" 2>&1
rc=$?
expect_status "the four calls end as scripted" 0
[ "$rc" = 0 ] || sed 's/^/  /' "$T/calls.out"
# The spans left when the program exited (the exporter flushes): the receiver wrote them
# before it answered.
node "$HB_TEST_SRCDIR/tests/otel/check.js" "$SPANS" "$UP_LOG" "$TP" >"$T/check.out" 2>&1
while IFS= read -r line; do
  case "$line" in
    "ok - "*) ok "${line#ok - }" ;;
    "not ok - "*) not_ok "${line#not ok - }" ;;
    *) echo "# $line" ;;
  esac
done <"$T/check.out"

# hb, with the config key and capture_content: the prompt and the reply are in the span.
hb cfg set heavenbase.llm.telemetry.otlp_endpoint "$RECV"
hb cfg set heavenbase.llm.telemetry.capture_content true
: >"$SPANS"
OTEL_SERVICE_NAME=otel-test hb chat -p mock "Hello telemetry"
expect_status "hb chat with export on exits 0" 0
expect_true "its span carries the prompt (capture_content)" grep -q 'gen_ai.input.messages":"\[{\\"role\\":\\"user\\",\\"content\\":\\"Hello telemetry' "$SPANS"
expect_true "and the reply" grep -q 'gen_ai.output.messages":".*Mock reply to: Hello telemetry' "$SPANS"
expect_true "and names the gateway" grep -q '"heavenbase.gateway":"mock"' "$SPANS"
hb cfg set heavenbase.llm.telemetry.capture_content false

hb cfg set heavenbase.llm.telemetry.otlp_endpoint 42
expect_status "a wrongly typed endpoint is refused" 2
expect_err_has "naming the key" "heavenbase.llm.telemetry.otlp_endpoint"

# The collector is down: the call succeeds, a warning says the spans are dropped.
kill "$(cat "$T/otel/receiver.pid")"
hb chat -p mock "Hello again"
expect_status "a collector that is down fails no call" 0
expect_out "the reply is printed" "Mock reply to: Hello again"
expect_err_has "a warning names the collector" "spans could not be exported to $RECV/v1/traces"

finish
