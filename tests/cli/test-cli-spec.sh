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

# A base URL can carry credentials (user info, "?key="): hb spec, its --json form and the
# debug log show it as error messages do; other query parameters stay.
cred_url="https://alice:pw-0123456789abcd@api.test/v1?api-version=2024-02-01&key=AIzaSyQ-0123456789abcdef"
hb spec --provider openai -m some-model --base-url "$cred_url" --json
expect_nowhere "hb spec --json hides the password of a base URL" "pw-0123456789abcd"
expect_nowhere "and a key in its query string" "AIzaSyQ-0123456789abcdef"
expect_out_has "and shows the rest of the URL" '"base_url":"https://[REDACTED]@api.test/v1?api-version=2024-02-01&key=[REDACTED]"'
hb spec --provider openai -m some-model --base-url "$cred_url"
expect_nowhere "the text form hides both too" "pw-0123456789abcd"
expect_nowhere "(the key)" "AIzaSyQ-0123456789abcdef"
expect_out_has "and shows the base URL redacted" "https://[REDACTED]@api.test/v1"
# One fake upstream, a provider that echoes the key it rejects, for both checks below.
long_key="sk-live-$(head -c 3000 /dev/zero | tr '\0' 'Q')Z"
pad=$(head -c 300 /dev/zero | tr '\0' '.')
cat > "$T/echo.json" <<JSON
{"routes": {"/echo/v1/chat/completions": [{"repeat": true, "status": 401, "body":
  "{\"error\":{\"message\":\"$pad Incorrect API key provided: $long_key\",\"type\":\"invalid_request_error\"}}"}]}}
JSON
start_upstream "$(cat "$T/echo.json")"
export OPENAI_API_KEY="$long_key"
cred_up="http://alice:pw-0123456789abcd@127.0.0.1:$(cat "$T/port")/v1?key=AIzaSyQ-0123456789abcdef"
HB_LOG=debug hb chat --provider openai -m some-model --base-url "$cred_up" -o max_retries=0 "hi"
expect_nowhere "a chat's debug log and errors hide the base URL's password" "pw-0123456789abcd"
expect_nowhere "and its key" "AIzaSyQ-0123456789abcdef"
expect_err_has "while the log does show the requests" "heavenbase: debug:"

# A key the provider echoes back is redacted whole, however long, wherever the message
# buffer would cut it (a long body before it pushes it to the end of the message).
hb chat --provider openai -m some-model --base-url "$UP_URL/echo/v1" -o max_retries=0 "hi"
expect_status "a rejected key fails the chat" 1
expect_nowhere "no part of a 3000-character key shows in the message" "sk-live-QQ"
expect_nowhere "(nor of its end)" "QQQQQQQQ"
expect_err_has "which still says what happened" "401"
unset OPENAI_API_KEY

finish
