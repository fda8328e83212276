#!/bin/bash
# hb through the bifrost and litellm gateways, against the scriptable fake upstream standing in
# for the gateway servers (neither runs here): the base URL comes from BIFROST_BASE_URL /
# LITELLM_BASE_URL, the model id gets the provider prefix, and only the right key is sent.
. "$(dirname "$0")/lib.sh"

CHAT='{\"id\":\"c1\",\"object\":\"chat.completion\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"Hi from the gateway\"},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":3,\"total_tokens\":6}}'
SSE='[{"data": "data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Stre\"}}]}\n\n"},
      {"data": "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"amed\"},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n", "delay_ms": 10}]'
start_upstream "{\"routes\": {
  \"/bifrost/v1/chat/completions\": [{\"body\": \"$CHAT\"}, {\"content_type\": \"text/event-stream\", \"chunked\": true, \"chunks\": $SSE}],
  \"/litellm/v1/chat/completions\": [{\"body\": \"$CHAT\"}, {\"content_type\": \"text/event-stream\", \"chunked\": true, \"chunks\": $SSE}, {\"body\": \"$CHAT\"}]
}}"

DS_KEY="sk-deepseek-provider-0123456789"
LL_KEY="sk-litellm-proxy-0123456789"
export DEEPSEEK_API_KEY="$DS_KEY" OPENROUTER_API_KEY="sk-or-provider-0123456789"

# ---- bifrost ----
export BIFROST_BASE_URL="$UP_URL/bifrost/v1"
hb spec -g bifrost --provider deepseek
expect_out_has "bifrost: the plugin is used (no fallback to openai)" "bifrost"
expect_out_has "bifrost: with the base URL of BIFROST_BASE_URL" "$UP_URL/bifrost/v1"
hb chat -g bifrost --provider deepseek -m deepseek-v4-flash "hi"
expect_out "bifrost: a chat prints the reply" "Hi from the gateway"
expect_request_has "bifrost: the base URL comes from BIFROST_BASE_URL" \
  '"path":"/bifrost/v1/chat/completions"'
expect_request_has "bifrost: the model id carries the provider prefix" \
  '"model":"deepseek/deepseek-v4-flash"'
expect_request_lacks "bifrost: the provider's key is not sent (Bifrost holds its own)" \
  authorization "$DS_KEY"

hb chat -g bifrost -p chat --stream "hi"
expect_out_has "bifrost: a stream prints the text" "Streamed"
expect_request_has "bifrost: an OpenRouter id gets the openrouter/ prefix" \
  '"model":"openrouter/deepseek/deepseek-v4-flash"'

# ---- litellm ----
export LITELLM_BASE_URL="$UP_URL/litellm/v1" LITELLM_API_KEY="$LL_KEY"
hb spec -g litellm --provider deepseek --json
expect_out_has "litellm: the plugin is used (no fallback to openai)" '"gateway":"litellm"'
expect_out_has "litellm: and its key variable" '"api_key_env":"LITELLM_API_KEY"'
hb chat -g litellm --provider deepseek -m deepseek/deepseek-v4-flash "hi"
expect_out "litellm: a chat prints the reply" "Hi from the gateway"
expect_request_has "litellm: the base URL comes from LITELLM_BASE_URL" \
  '"path":"/litellm/v1/chat/completions"'
expect_request_has "litellm: an id with the prefix already is kept" \
  '"model":"deepseek/deepseek-v4-flash"'
expect_request_has "litellm: the proxy's key is the bearer token" \
  "\"authorization\":\"Bearer $LL_KEY\""
expect_request_lacks "litellm: the provider's key is not sent" "$DS_KEY"

hb chat -g litellm --provider lmstudio -m qwen3-coder --stream "hi"
expect_out_has "litellm: a stream prints the text" "Streamed"
expect_request_has "litellm: providers get LiteLLM's names (lm_studio)" \
  '"model":"lm_studio/qwen/qwen3-coder-30b"'

HB_LOG=debug hb chat -g litellm --provider deepseek -m deepseek-v4-flash "hi"
expect_out "litellm: a debug-logged chat works" "Hi from the gateway"
expect_nowhere "and logs no key" "$LL_KEY"

finish
