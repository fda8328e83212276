#!/bin/bash
# hb against a rate-limiting, slow or flooding upstream: the timeout is a deadline for the
# whole call, a reply over max_response_bytes fails (streamed or not) and is not cached, and a
# query string in the base URL (Azure OpenAI's api-version) stays after the path.
. "$(dirname "$0")/lib.sh"

PAD=$(printf '%01000d' 0) # 1000 characters of text in each streamed event
OK='{\"id\":\"c1\",\"object\":\"chat.completion\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"fine\"},\"finish_reason\":\"stop\"}]}'
start_upstream "$(cat <<EOF
{"routes": {
  "/limited/v1/chat/completions": [{"repeat": true, "status": 429,
    "headers": {"Retry-After": "999999"},
    "body": "{\"error\":{\"message\":\"Rate limit reached\",\"type\":\"requests\"}}"}],
  "/slow/v1/chat/completions": [{"repeat": true, "status": 503,
    "chunks": [{"data": "{}", "delay_ms": 1200}]}],
  "/flood/v1/chat/completions": [{"repeat": true, "content_type": "text/event-stream",
    "chunked": true, "first_times": 150000, "chunks": [
    {"data": "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"$PAD\"}}]}\n\n"},
    {"data": "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n"}]}],
  "/big/v1/chat/completions": [{"repeat": true,
    "body": "{\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"$PAD$PAD$PAD\"},\"finish_reason\":\"stop\"}]}"}],
  "/az/openai/chat/completions": [{"repeat": true, "body": "$OK"}],
  "/az/openai/embeddings": [{"repeat": true, "embed_dim": 4}],
  "/az/openai/images/generations": [{"repeat": true,
    "body": "{\"data\":[{\"b64_json\":\"iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==\"}]}"}],
  "/az/anthropic/messages": [{"repeat": true,
    "body": "{\"id\":\"m1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5\",\"content\":[{\"type\":\"text\",\"text\":\"fine\"}],\"stop_reason\":\"end_turn\",\"usage\":{\"input_tokens\":1,\"output_tokens\":1}}"}]
}}
EOF
)"
requests_to() { grep -c "\"path\":\"$1\"" "$UP_LOG"; }

# ---- timeout: one deadline for every attempt and every wait ----
start=$(date +%s)
hb chat --provider openai --base-url "$UP_URL/limited/v1" -m gpt-4o-mini -o timeout=5 "hi"
took=$(( $(date +%s) - start ))
expect_status "429 with Retry-After: 999999 under timeout=5 fails" 1
expect_true "within the timeout, not after the server's wait (took ${took} s, bound 15 s)" [ "$took" -lt 15 ]
expect_err_has "saying the wait would cross the deadline" "would cross the deadline"
expect_err_has "naming the timeout" "timeout of 5 s"
expect_err_has "and the server's answer" "HTTP 429"
expect_true "the wait was not started: one request, no retry" [ "$(requests_to /limited/v1/chat/completions)" = 1 ]

start=$(date +%s)
hb chat --provider openai --base-url "$UP_URL/slow/v1" -m gpt-4o-mini -o timeout=2 -o max_retries=5 "hi"
took=$(( $(date +%s) - start ))
# Under valgrind hb itself starts and stops in seconds: a looser bound, still under the 6
# attempts (7.2 s and their backoffs) a broken deadline would take.
bound=5; [ -n "${HB_TEST_WRAPPER:-}" ] && bound=7
expect_status "slow 503s under timeout=2 with 5 retries fail" 1
expect_true "within the deadline, not after 6 attempts of 1.2 s (took ${took} s, bound ${bound} s)" [ "$took" -lt "$bound" ]
expect_err_has "naming the timeout" "timeout of 2 s"

# ---- max_response_bytes: the same cap streamed or not, configurable ----
hb cfg set heavenbase.llm.max_response_bytes 2000000
expect_status "max_response_bytes is a config key" 0
/usr/bin/time -f '%M' -o "$T/rss" "$HB_BIN" chat --provider openai --base-url "$UP_URL/flood/v1" \
  -m gpt-4o-mini --stream -o temperature=0 "hi" >"$T/out" 2>"$T/err"
rc=$?
expect_status "a 150 MB stream over a 2 MB cap fails" 1
expect_err_has "naming the limit" "larger than 2000000 bytes"
expect_err_has "and the setting" "max_response_bytes"
rss_kb=$(tail -n 1 "$T/rss")
expect_true "memory stays bounded (max RSS ${rss_kb} KB, bound 100 MB)" [ "$rss_kb" -lt 102400 ]
n=$(requests_to /flood/v1/chat/completions)
hb chat --provider openai --base-url "$UP_URL/flood/v1" -m gpt-4o-mini --stream -o temperature=0 "hi"
expect_true "nothing was cached: the same call reaches the upstream again" \
  [ "$(requests_to /flood/v1/chat/completions)" = $((n + 1)) ]
hb cache stats
expect_true "and the cache holds no text entry" grep -Eq '^text +0 ' "$T/out"

hb chat --provider openai --base-url "$UP_URL/big/v1" -m gpt-4o-mini -o max_response_bytes=1000 "hi"
expect_status "a plain reply over the cap (as an option) fails too" 1
expect_err_has "with the same message" "larger than 1000 bytes"
hb chat --provider openai --base-url "$UP_URL/big/v1" -m gpt-4o-mini "hi"
expect_status "under the configured cap the same reply is fine" 0

hb cfg unset heavenbase.llm.max_response_bytes
hb chat --provider openai --base-url "$UP_URL/big/v1" -m gpt-4o-mini -o max_response_bytes=0 "hi"
expect_status "a cap of 0 is refused" 1
expect_err_has "naming the option" "option 'max_response_bytes' must be a positive integer"

# ---- a query string in the base URL stays after the path ----
Q='api-version=2024-10-21'
hb chat --provider openai --base-url "$UP_URL/az/openai?$Q" -m gpt-4o-mini "hi"
expect_out "chat with ?$Q in the base URL works" "fine"
expect_request_has "it posts to the path, the query after it" \
  '"path":"/az/openai/chat/completions","query":"'"$Q"'"'
hb embed --provider openai --base-url "$UP_URL/az/openai?$Q" -m text-embedding-3-small "x"
expect_status "embeddings too" 0
expect_request_has "at /embeddings?$Q" '"path":"/az/openai/embeddings","query":"'"$Q"'"'
hb imagen -g openai --base-url "$UP_URL/az/openai?$Q" -m dall-e-3 -O az.png "a mug"
expect_status "images too" 0
expect_request_has "at /images/generations?$Q" \
  '"path":"/az/openai/images/generations","query":"'"$Q"'"'
hb chat -g anthropic --base-url "$UP_URL/az/anthropic?$Q" -m claude-sonnet-4-5 "hi"
expect_out "the anthropic plugin too" "fine"
expect_request_has "at /messages?$Q" '"path":"/az/anthropic/messages","query":"'"$Q"'"'

finish
