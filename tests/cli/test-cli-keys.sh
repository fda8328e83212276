#!/bin/bash
# A provider that needs a key, without one: the call fails before any request, with a
# message that names the variable, the provider, the preset and the ways out (issue #19).
. "$(dirname "$0")/lib.sh"

unset ANTHROPIC_API_KEY COHERE_API_KEY VOYAGE_API_KEY
OK='{"id":"c1","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"Hi from upstream"},"finish_reason":"stop"}]}'
start_upstream '{"routes": {
  "/v1/chat/completions": [{"repeat": true, "body": '"$(printf '%s' "$OK" | python3 -c 'import json,sys;print(json.dumps(sys.stdin.read()))')"'}],
  "/v1/embeddings": [{"repeat": true, "body": "{\"object\":\"list\",\"data\":[{\"object\":\"embedding\",\"index\":0,\"embedding\":[0.5]}]}"}]
}}'

# The default preset's provider (openrouter) and the embeddings and image presets' (openai)
# are pointed at the fake upstream: had the calls gone out, it would have seen them.
hb cfg set heavenbase.llm.providers.openrouter.base_url "$UP_URL/v1"
hb cfg set heavenbase.llm.providers.openai.base_url "$UP_URL/v1"

hb chat hi
expect_status "hb chat without OPENROUTER_API_KEY fails with exit status 4" 4
expect_err_has "the message names the variable" "OPENROUTER_API_KEY is not set"
expect_err_has "and the provider and the preset" "provider 'openrouter' (preset 'chat')"
expect_err_has "and the first way out" "export OPENROUTER_API_KEY=..."
expect_err_has "and the second" "hb chat -p mock"
expect_err_has "with the status name" "(HVB_AUTH)"
expect_true "the fake upstream received no request" test ! -s "$UP_LOG"

OPENROUTER_API_KEY= hb chat --stream hi
expect_status "an empty key is a missing key (stream)" 4
expect_err_has "the message says it is empty" "OPENROUTER_API_KEY is empty"

printf 'one\ntwo\n' > prompts.txt
hb chat -p reason -i prompts.txt --parallel 2
expect_status "async calls (--parallel) fail the same way" 4
expect_err_has "naming the preset they came from" "preset 'reason'"

hb embed -p embed "some text"
expect_status "embeddings fail the same way" 4
expect_err_has "naming OPENAI_API_KEY" "OPENAI_API_KEY is not set: provider 'openai' (preset 'embed')"

hb imagen -p imagen -O "$T/x.png" "a mug"
expect_status "image generation fails the same way" 4
expect_err_has "naming the image preset" "preset 'imagen'"
expect_true "still, the fake upstream received no request" test ! -s "$UP_LOG"

hb spec --json
expect_out_has "hb spec shows that the key is not set" '"api_key_set":false'
expect_out_has "and that it is needed" '"api_key_required":true'

KEY="sk-or-v1-keys-test-0123456789abcdef"
OPENROUTER_API_KEY="$KEY" hb spec
expect_out_has "with the key, hb spec shows it is set" "true"
expect_nowhere "but never the key itself" "$KEY"

OPENROUTER_API_KEY="$KEY" hb chat hi
expect_out "with the key the call goes out" "Hi from upstream"
expect_request_has "with the key as the bearer token" "Bearer $KEY"

: > "$UP_LOG"
hb chat --provider openai --base-url "$UP_URL/v1" -m gpt-4o-mini "hi"
expect_out "a custom --base-url needs no key: the call goes out" "Hi from upstream"
expect_request_lacks "without an Authorization header" '"authorization"'

hb chat -p mock hi
expect_status "the offline way out works without any key" 0

hb spec -g bifrost --json
expect_out_has "a gateway server that holds the keys itself needs none" '"api_key_required":false'

finish
