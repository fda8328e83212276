#!/bin/bash
# hb chat through the anthropic gateway plugin: against the fake upstream (what is sent, what
# is printed) and against nginx serving canned Messages API bodies.
. "$(dirname "$0")/lib.sh"

KEY="sk-ant-test-cli-0123456789abcdef"
start_upstream '{"routes": {
  "/ok/v1/messages": [{"repeat": true, "body":
    "{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5\",\"content\":[{\"type\":\"text\",\"text\":\"Hi from Claude\"}],\"stop_reason\":\"end_turn\",\"stop_sequence\":null,\"usage\":{\"input_tokens\":3,\"output_tokens\":4}}"}],
  "/sse/v1/messages": [{"repeat": true, "content_type": "text/event-stream", "chunked": true, "chunks": [
    {"data": "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_2\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5\",\"content\":[],\"stop_reason\":null,\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}}\n\n"},
    {"data": "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\nevent: ping\ndata: {\"type\":\"ping\"}\n\n", "delay_ms": 20},
    {"data": "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Streamed \"}}\n\n", "delay_ms": 20},
    {"data": "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"hello\"}}\n\nevent: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"},
    {"data": "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":2}}\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"}]}],
  "/denied/v1/messages": [{"repeat": true, "status": 401, "body":
    "{\"type\":\"error\",\"error\":{\"type\":\"authentication_error\",\"message\":\"invalid x-api-key\"}}"}]
}}'

hb chat -g anthropic --base-url "$UP_URL/ok/v1" -m claude-sonnet-4-5 "hi"
expect_out "a chat through the anthropic gateway prints the text" "Hi from Claude"
expect_log_has "it posts to {base_url}/messages" '"path":"/ok/v1/messages"'
expect_log_has "with the default max_tokens" '"max_tokens":4096'
expect_log_has "and anthropic-version" '"anthropic-version":"2023-06-01"'

hb chat -g anthropic --base-url "$UP_URL/sse/v1" -m claude-sonnet-4-5 --stream --include text,usage "hi"
expect_out_has "a stream prints the text" "Streamed hello"
expect_out_has "and usage from message_start plus message_delta" '"total_tokens":5'

export ANTHROPIC_API_KEY="$KEY"
# -g as well: the default preset's gateway (openai) wins over the provider's (spec.c's order).
HB_LOG=debug hb chat --provider anthropic -g anthropic --base-url "$UP_URL/ok/v1" -m claude-sonnet-4-5 "hi"
expect_out "a chat with the anthropic provider's key" "Hi from Claude"
expect_log_has "the key is sent as x-api-key" "\"x-api-key\":\"$KEY\""
expect_nowhere "and never printed, even at HB_LOG=debug" "$KEY"

HB_LOG=debug hb chat --provider anthropic -g anthropic --base-url "$UP_URL/denied/v1" -m claude-sonnet-4-5 "hi"
expect_status "a 401 fails with exit 1" 1
expect_err_has "with Anthropic's message" "invalid x-api-key"
expect_nowhere "and without the key" "$KEY"
unset ANTHROPIC_API_KEY

start_nginx
hb chat -g anthropic --base-url "$NGINX_URL/json/v1" -m claude-sonnet-4-5 "hi"
expect_out "nginx: a canned Messages reply prints its text" "Hello from the canned upstream."
hb chat -g anthropic --base-url "$NGINX_URL/stream/v1" -m claude-sonnet-4-5 --stream --include text,usage "hi"
expect_out_has "nginx: a canned Messages stream prints its text" "Hello world"
expect_out_has "and its usage" '"total_tokens":11'
hb chat -g anthropic --base-url "$NGINX_URL/err400/v1" -m claude-sonnet-4-5 "hi"
expect_status "nginx: a canned 400 fails" 1
expect_err_has "with the provider's message" "max_tokens: Field required (canned)"

finish
