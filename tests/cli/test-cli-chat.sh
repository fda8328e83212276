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
  "/nul/v1/chat/completions": [{"repeat": true, "body":
    "{\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"a\\u0000b\"},\"finish_reason\":\"stop\"}]}"}],
  "/nulsse/v1/chat/completions": [{"repeat": true, "content_type": "text/event-stream", "chunks": [
    {"data": "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\\u0000y\"},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n"}]}],
  "/badutf/v1/chat/completions": [{"repeat": true, "body":
    "{\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"caf'$'\xe9'' '$'\xff''!\"},\"finish_reason\":\"stop\"}]}"}],
  "/tool/v1/chat/completions": [{"repeat": true, "body":
    "{\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"t1\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":\"{\\\"city\\\": \\\"Paris\\\",}\"}}]},\"finish_reason\":\"tool_calls\"}]}"}],
  "/emb/v1/embeddings": [{"repeat": true, "body":
    "{\"object\":\"list\",\"data\":[{\"object\":\"embedding\",\"index\":0,\"embedding\":[1e39,0.5,-1e39]}]}"}],
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

# Options meant for the library never reach the request body, and do what they say.
printf '%s' '[{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]' \
  > "$T/tools.json"
hb chat --provider openai --base-url "$UP_URL/tool/v1" -m gpt-4o-mini --tools "$T/tools.json" "Weather?"
expect_out_has "a tool call's arguments are repaired by default" '{\"city\":\"Paris\"}'
hb chat --provider openai --base-url "$UP_URL/tool/v1" -m gpt-4o-mini --tools "$T/tools.json" \
  -o repair_tool_calls=false "Weather?"
expect_out_has "-o repair_tool_calls=false turns repair off" '{\"city\": \"Paris\",}'
expect_request_lacks "and is not sent to the provider" "repair_tool_calls"
hb chat --provider openai --base-url "$UP_URL/ok/v1" -m gpt-4o-mini -o tool_call_repair=false \
  -o cache=false -o max_steps=3 -o temperature=0.5 "hi"
expect_request_lacks "no library option is sent" "tool_call_repair" '"cache"' "max_steps"
expect_request_has "while a request argument is" '"temperature":0.5'
hb chat --provider openai --base-url "$UP_URL/ok/v1" -m gpt-4o-mini -o repair_tool_calls=maybe "hi"
expect_status "a library option of the wrong type fails" 1
expect_err_has "naming it" "repair_tool_calls"

# NUL and invalid UTF-8: prompts are checked, replies kept whole, --json always valid JSON.
printf 'a\0b' | ${HB_TEST_WRAPPER:-} "$HB_BIN" chat --provider openai --base-url "$UP_URL/ok/v1" \
  -m gpt-4o-mini - >"$T/out" 2>"$T/err"; rc=$?
expect_status "a prompt holding a NUL byte is refused" 2
expect_err_has "naming the offset" "NUL byte at offset 1"
printf 'caf\xe9' | ${HB_TEST_WRAPPER:-} "$HB_BIN" chat --provider openai --base-url "$UP_URL/ok/v1" \
  -m gpt-4o-mini - >"$T/out" 2>"$T/err"; rc=$?
expect_status "a prompt that is not UTF-8 is refused" 1
expect_err_has "naming the byte offset" "not valid UTF-8 at byte 3"
printf 'caf\xe9' | ${HB_TEST_WRAPPER:-} "$HB_BIN" chat --provider openai --base-url "$UP_URL/ok/v1" \
  -m gpt-4o-mini -o invalid_utf8=replace - >"$T/out" 2>"$T/err"; rc=$?
expect_out "with -o invalid_utf8=replace it is sent" "Hi from upstream"
expect_request_has "with U+FFFD for the bad byte" "caf$(printf '\xef\xbf\xbd')"
expect_request_lacks "and the option stays out of the body" "invalid_utf8"
hb chat --provider openai --base-url "$UP_URL/nul/v1" -m gpt-4o-mini "hi"
expect_true "a reply holding a NUL prints whole" cmp -s "$T/out" <(printf 'a\0b\n')
hb chat --provider openai --base-url "$UP_URL/nulsse/v1" -m gpt-4o-mini --stream "hi"
expect_true "and streamed too" cmp -s "$T/out" <(printf 'x\0y\n')
hb chat --provider openai --base-url "$UP_URL/nul/v1" -m gpt-4o-mini --json "hi"
expect_out "--json keeps it escaped" '"a\u0000b"'
hb chat --provider openai --base-url "$UP_URL/badutf/v1" -m gpt-4o-mini --json --include text,raw "hi"
expect_true "--json prints valid UTF-8 for a reply that is not" iconv -f UTF-8 -t UTF-8 "$T/out" -o /dev/null
expect_out_has "with U+FFFD for the bad bytes" "caf$(printf '\xef\xbf\xbd') $(printf '\xef\xbf\xbd')!"

# hb embed: a value outside float range is still JSON.
hb embed --provider openai --base-url "$UP_URL/emb/v1" -m text-embedding-3-small "x"
expect_status "an out-of-range embedding value prints" 0
expect_true "as valid JSON" python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$T/out"
expect_nowhere "never as inf" "inf"

finish
