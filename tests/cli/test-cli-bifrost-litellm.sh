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
req=$(tail -n 1 "$UP_LOG")
case "$req" in *'"path":"/bifrost/v1/chat/completions"'*) ok "bifrost: the base URL comes from BIFROST_BASE_URL";;
  *) not_ok "bifrost: the base URL comes from BIFROST_BASE_URL: $req";; esac
case "$req" in *'"model":"deepseek/deepseek-v4-flash"'*) ok "bifrost: the model id carries the provider prefix";;
  *) not_ok "bifrost: the model id carries the provider prefix: $req";; esac
case "$req" in *authorization*|*"$DS_KEY"*) not_ok "bifrost: the provider's key is not sent: $req";;
  *) ok "bifrost: the provider's key is not sent (Bifrost holds its own)";; esac

hb chat -g bifrost -p chat --stream "hi"
expect_out_has "bifrost: a stream prints the text" "Streamed"
case "$(tail -n 1 "$UP_LOG")" in *'"model":"openrouter/deepseek/deepseek-v4-flash"'*)
  ok "bifrost: an OpenRouter id gets the openrouter/ prefix";;
  *) not_ok "bifrost: an OpenRouter id gets the openrouter/ prefix";; esac

# ---- litellm ----
export LITELLM_BASE_URL="$UP_URL/litellm/v1" LITELLM_API_KEY="$LL_KEY"
hb spec -g litellm --provider deepseek --json
expect_out_has "litellm: the plugin is used (no fallback to openai)" '"gateway":"litellm"'
expect_out_has "litellm: and its key variable" '"api_key_env":"LITELLM_API_KEY"'
hb chat -g litellm --provider deepseek -m deepseek/deepseek-v4-flash "hi"
expect_out "litellm: a chat prints the reply" "Hi from the gateway"
req=$(tail -n 1 "$UP_LOG")
case "$req" in *'"path":"/litellm/v1/chat/completions"'*) ok "litellm: the base URL comes from LITELLM_BASE_URL";;
  *) not_ok "litellm: the base URL comes from LITELLM_BASE_URL: $req";; esac
case "$req" in *'"model":"deepseek/deepseek-v4-flash"'*) ok "litellm: an id with the prefix already is kept";;
  *) not_ok "litellm: an id with the prefix already is kept: $req";; esac
case "$req" in *"\"authorization\":\"Bearer $LL_KEY\""*) ok "litellm: the proxy's key is the bearer token";;
  *) not_ok "litellm: the proxy's key is the bearer token: $req";; esac
case "$req" in *"$DS_KEY"*) not_ok "litellm: the provider's key is not sent";;
  *) ok "litellm: the provider's key is not sent";; esac

hb chat -g litellm --provider lmstudio -m qwen3-coder --stream "hi"
expect_out_has "litellm: a stream prints the text" "Streamed"
case "$(tail -n 1 "$UP_LOG")" in *'"model":"lm_studio/qwen/qwen3-coder-30b"'*)
  ok "litellm: providers get LiteLLM's names (lm_studio)";;
  *) not_ok "litellm: providers get LiteLLM's names (lm_studio): $(tail -n 1 "$UP_LOG")";; esac

HB_LOG=debug hb chat -g litellm --provider deepseek -m deepseek-v4-flash "hi"
expect_out "litellm: a debug-logged chat works" "Hi from the gateway"
expect_nowhere "and logs no key" "$LL_KEY"

finish
