#!/bin/bash
# hb chat --tools: schema tools are sent, tool calls come back as a JSON array.
. "$(dirname "$0")/lib.sh"

cat > "$T/tools.json" <<'JSON'
[{"type": "function", "function": {"name": "get_weather", "description": "Weather of a city",
  "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]
JSON

# Offline, through the mock's scripted replies: a broken call is repaired before it prints.
hb chat -p mock --tools "$T/tools.json" \
  -o 'mock_replies=[{"tool_calls": [{"id": "call_1", "function": {"name": "get_wether", "arguments": "{\"city\": \"Paris\",}"}}]}]' \
  "Weather in Paris?"
expect_status "a tool-call answer exits 0" 0
expect_out "the tool calls print as a repaired JSON array" \
  '[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]'

hb chat -p mock --stream --tools "$T/tools.json" \
  -o 'mock_replies=[{"tool_calls": [{"id": "call_2", "function": {"name": "get_weather", "arguments": {"city": "Rome"}}}]}]' \
  "Weather in Rome?"
expect_out_has "a stream prints them too" '"arguments":"{\"city\":\"Rome\"}"'

hb chat -p mock --tools "$T/tools.json" -o 'mock_replies=["Sunny."]' "Weather?"
expect_out "a text answer prints as text" "Sunny."

# Against the fake upstream: the tools and tool_choice are sent.
start_upstream '{"routes": {"/v1/chat/completions": [{"repeat": true, "body":
  "{\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"call_u\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":\"{\\\"city\\\":\\\"Oslo\\\"}\"}}]},\"finish_reason\":\"tool_calls\"}]}"}]}}'
export TEST_KEY="sk-test-cli-tools-0123456789"
hb chat --provider openai --base-url "$UP_URL/v1" -m gpt-4o-mini --api-key-env TEST_KEY \
  --tools "$T/tools.json" "Weather in Oslo?"
expect_out_has "the upstream's tool call prints" '"id":"call_u"'
expect_log_has "the tools array is sent" '"tools":[{"type":"function","function":{"name":"get_weather"'

echo '{"not": "an array"}' > "$T/bad.json"
hb chat -p mock --tools "$T/bad.json" "hi"
expect_status "a tools file that is not an array is a usage error" 2
expect_err_has "and names the file" "bad.json"
hb chat -p mock --tools "$T/missing.json" "hi"
expect_status "a missing tools file is a usage error" 2

finish
