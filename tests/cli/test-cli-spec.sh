#!/bin/bash
# hb spec: resolution as the user sees it, and secrets kept out of it.
. "$(dirname "$0")/lib.sh"

hb cfg set heavenbase.llm.presets.x.model ds-flash
hb spec -p x --json
expect_out_has "a preset defined in config resolves the alias" '"model":"deepseek-v4-flash"'
expect_out_has "its provider is openrouter" '"provider":"openrouter"'
expect_out_has "its model id is openrouter's" '"model_id":"deepseek/deepseek-v4-flash"'
expect_out_has "the spec shows its hash_key" '"hash_key":"'
expect_out_has "the spec shows its client_key" '"client_key":"'

hb spec -p mock
expect_out_has "the text form shows the gateway" "mock"

export OPENROUTER_API_KEY="sk-or-v1-secret-0123456789abcdef"
hb spec -p chat --json
expect_nowhere "the API key is not printed by hb spec --json" "sk-or-v1-secret-0123456789abcdef"
expect_out_has "hb spec says a key is set" '"api_key":"<set>"'
hb spec -p chat
expect_nowhere "nor by the text form" "sk-or-v1-secret-0123456789abcdef"
unset OPENROUTER_API_KEY

hb spec -p nosuchpreset
expect_status "an unknown preset fails" 1
expect_err_has "the message lists the known presets" "chat"
hb spec --provider openrouterr
expect_status "an unknown provider fails" 1
expect_err_has "the unknown provider gets a suggestion" "did you mean 'openrouter'"
hb spec -m some-new-model-9 --provider openai --json
expect_out_has "an unknown model passes through as the identifier" '"model_id":"some-new-model-9"'

finish
