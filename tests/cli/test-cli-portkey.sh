#!/bin/bash
# hb through the REAL Portkey AI gateway (@portkey-ai/gateway 1.15.2 on loopback, started by
# tests/portkey/start.sh) to our own upstreams: nginx's canned OpenAI and Anthropic shapes, and
# the scriptable fake upstream, whose log shows what reached the "provider" through Portkey.
# Fails (never skips) when Portkey cannot be installed or started.
. "$(dirname "$0")/lib.sh"

KEY="sk-test-portkey-provider-0123456789"
PK_KEY="pk-test-portkey-own-0123456789"
export OPENAI_API_KEY="$KEY" ANTHROPIC_API_KEY="sk-ant-test-0123456789"

start_nginx
start_portkey
start_upstream '{"routes": {
  "/up/v1/chat/completions": [{"repeat": true, "body":
    "{\"id\":\"c1\",\"object\":\"chat.completion\",\"created\":1,\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"Hi through Portkey\"},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":3,\"total_tokens\":6}}"}]
}}'
PK="$PORTKEY_URL/v1"

hb chat -g portkey --base-url "$PK" -o custom_host="$NGINX_URL/json/v1" --provider openai -m gpt-4o-mini "hi"
expect_out "a chat through Portkey prints the upstream's reply" "Hello from the canned upstream."

hb chat -g portkey --base-url "$PK" -o custom_host="$NGINX_URL/stream/v1" --provider openai -m gpt-4o-mini \
  --stream --include text,usage "hi"
expect_out_has "a stream through Portkey prints the text" "Hello world"
expect_out_has "and the usage Portkey passes on" '"total_tokens":11'

# OpenAI-format request, Anthropic-shaped upstream: Portkey translates both ways.
hb chat -g portkey --base-url "$PK" -o custom_host="$NGINX_URL/json/v1" --provider anthropic -m sonnet "hi"
expect_out "Portkey turns an OpenAI request into an Anthropic one and back" "Hello from the canned upstream."
hb chat -g portkey --base-url "$PK" -o custom_host="$NGINX_URL/stream/v1" --provider anthropic -m sonnet \
  --stream --include text,usage "hi"
expect_out_has "and an Anthropic stream into OpenAI chunks" "Hello world"
expect_out_has "with the usage of message_start and message_delta" '"total_tokens":11'

# What reached the provider through Portkey (the fake upstream's log).
export PORTKEY_BASE_URL="$PK" PORTKEY_API_KEY="$PK_KEY"
hb chat -g portkey -o custom_host="$UP_URL/up/v1" --provider openai -m gpt-4o-mini -o temperature=0.5 "hi"
expect_out "the base URL comes from PORTKEY_BASE_URL" "Hi through Portkey"
expect_request_has "the model id reaches the provider unprefixed" '"model":"gpt-4o-mini"'
expect_request_has "request arguments reach the provider" '"temperature":0.5'
expect_request_lacks "gateway-only options and Portkey headers never reach the provider" \
  custom_host portkey_config x-portkey
expect_request_has "Portkey forwards the provider's key" "\"authorization\":\"Bearer $KEY\""
expect_request_lacks "Portkey's own key stays with Portkey" "$PK_KEY"

# x-portkey-config instead of provider + custom host headers; a provider Portkey does not
# know by name (vllm) is fine once the config says where to go.
n=$(wc -l < "$UP_LOG")
hb chat -g portkey --provider vllm -m my-model \
  -o portkey_config="{\"provider\":\"openai\",\"api_key\":\"sk-in-config\",\"custom_host\":\"$UP_URL/up/v1\"}" "hi"
expect_out "a portkey_config object routes the request" "Hi through Portkey"
[ "$(wc -l < "$UP_LOG")" = $((n + 1)) ] && ok "through the config's custom host" ||
  not_ok "through the config's custom host"
expect_request_has "with the model id as given" '"model":"my-model"'

hb chat -g portkey --provider vllm -m my-model "hi"
expect_status "a provider Portkey cannot reach without an address is refused" 1
expect_err_has "naming the option it needs" "custom_host"
[ "$(wc -l < "$UP_LOG")" = $((n + 1)) ] && ok "before anything is sent" || not_ok "before anything is sent"

HB_LOG=debug hb chat -g portkey -o custom_host="$NGINX_URL/err401/v1" --provider openai -m gpt-4o-mini "hi"
expect_status "an upstream error through Portkey fails" 1
expect_nowhere "and shows neither key, even at HB_LOG=debug" "$KEY"
expect_nowhere "nor Portkey's key" "$PK_KEY"

finish
