#!/bin/bash
# hb chat against the scriptable fake upstream: what is sent, what is printed, what is not.
. "$(dirname "$0")/lib.sh"

KEY="sk-test-cli-0123456789abcdef"
start_upstream '{"routes": {
  "/ok/v1/chat/completions": [{"repeat": true, "body":
    "{\"id\":\"c1\",\"object\":\"chat.completion\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"Hi from upstream\"},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":3,\"total_tokens\":6}}"}],
  "/sse/v1/chat/completions": [{"repeat": true, "content_type": "text/event-stream", "chunked": true, "chunks": [
    {"data": "data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Hel\"}}]}\n\n"},
    {"data": ": keep-alive\n\n", "delay_ms": 20},
    {"data": "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo\"},\"finish_reason\":\"stop\"}]}\n\n", "delay_ms": 20},
    {"data": "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":2,\"completion_tokens\":2,\"total_tokens\":4}}\n\ndata: [DONE]\n\n"}]}],
  "/trunc/v1/chat/completions": [{"repeat": true, "content_type": "text/event-stream", "chunked": true, "chunks": [
    {"data": "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"partial\"}}]}\n\n"}]}],
  "/denied/v1/chat/completions": [{"repeat": true, "status": 401, "body":
    "{\"error\":{\"message\":\"Incorrect API key provided\",\"type\":\"invalid_request_error\",\"code\":\"invalid_api_key\"}}"}]
}}'

export TEST_KEY="$KEY"
hb chat --provider openai --base-url "$UP_URL/ok/v1" -m gpt-4o-mini --api-key-env TEST_KEY "hi"
expect_out "a plain chat prints the upstream's text" "Hi from upstream"
expect_log_has "the request names the model" '"model":"gpt-4o-mini"'
expect_log_has "the key is sent as a bearer token" "Bearer $KEY"

hb chat --provider openai --base-url "$UP_URL/sse/v1" -m gpt-4o-mini --stream --include text,usage "hi"
expect_out_has "a stream prints the text" "Hello"
expect_out_has "and, with --include usage, the usage" '"total_tokens":4'
expect_log_has "the stream asks for usage" '"include_usage":true'

hb chat --provider openai --base-url "$UP_URL/trunc/v1" -m gpt-4o-mini --stream "hi"
expect_status "a truncated stream fails" 1
expect_err_has "and says so" "truncated"

HB_LOG=debug hb chat --provider openai --base-url "$UP_URL/denied/v1" -m gpt-4o-mini --api-key-env TEST_KEY "hi"
expect_status "a 401 fails with exit 1" 1
expect_err_has "the provider's message is shown" "Incorrect API key provided"
expect_err_has "with the status" "401"
expect_nowhere "the key never appears, even at HB_LOG=debug" "$KEY"
[ "$(grep -c '/denied/' "$UP_LOG")" = 1 ] && ok "a 401 is not retried" || not_ok "a 401 is not retried"

HB_LOG=debug hb chat --provider openai --base-url "$UP_URL/ok/v1" -m gpt-4o-mini --api-key-env TEST_KEY "hi"
expect_out "a debug-logged chat works" "Hi from upstream"
expect_nowhere "and logs no key" "$KEY"

hb chat --provider openai --base-url "http://127.0.0.1:1/v1" -m gpt-4o-mini -o max_retries=0 "hi"
expect_status "an unreachable server fails with exit 1" 1
expect_err_has "naming the address" "127.0.0.1:1"

finish
