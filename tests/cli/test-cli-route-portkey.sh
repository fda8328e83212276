#!/bin/bash
# A route whose targets differ in gateway: the REAL Portkey gateway (tests/portkey, on
# loopback) as one target, a direct provider (the fake upstream) as the other. When the
# provider behind Portkey answers, Portkey's target answers; when it is down (503, relayed by
# Portkey), the call falls through to the direct target. The fake upstream's log shows what
# reached each. Fails (never skips) when Portkey cannot be installed or started.
. "$(dirname "$0")/lib.sh"

export OPENAI_API_KEY="sk-test-route-portkey-0123456789"
start_portkey
OK() { printf '{\\"id\\":\\"c1\\",\\"object\\":\\"chat.completion\\",\\"created\\":1,\\"model\\":\\"gpt-4o-mini\\",\\"choices\\":[{\\"index\\":0,\\"message\\":{\\"role\\":\\"assistant\\",\\"content\\":\\"%s\\"},\\"finish_reason\\":\\"stop\\"}]}' "$1"; }
start_upstream "$(cat <<EOF
{"routes": {
  "/behind/v1/chat/completions": [{"repeat": true, "body": "$(OK "through Portkey")"}],
  "/down/v1/chat/completions": [{"repeat": true, "status": 503,
    "body": "{\"error\":{\"message\":\"overloaded\",\"type\":\"server_error\"}}"}],
  "/direct/v1/chat/completions": [{"repeat": true, "body": "$(OK "direct")"}]
}}
EOF
)"
requests_to() { grep -c "\"path\":\"$1\"" "$UP_LOG"; }
PK="$PORTKEY_URL/v1"

mkdir -p "$HB_CONFIG_DIR/catalog.d"
cat > "$HB_CONFIG_DIR/catalog.d/50-routes.json" <<EOF
{"routes": {
  "mixed": {"deadline": 30, "targets": [
    {"label": "via-portkey", "model": "gpt-4o-mini", "provider": "openai", "gateway": "portkey",
     "base_url": "$PK", "custom_host": "$UP_URL/behind/v1"},
    {"label": "direct", "model": "gpt-4o-mini", "provider": "openai",
     "base_url": "$UP_URL/direct/v1"}]},
  "portkey-down": {"deadline": 30, "targets": [
    {"label": "via-portkey", "model": "gpt-4o-mini", "provider": "openai", "gateway": "portkey",
     "base_url": "$PK", "custom_host": "$UP_URL/down/v1"},
    {"label": "direct", "model": "gpt-4o-mini", "provider": "openai",
     "base_url": "$UP_URL/direct/v1"}]}
}}
EOF

hb chat -p mixed -o cache=false --include text,route "hi"
expect_status "a route with Portkey as its first target answers" 0
expect_out_has "with the reply of the provider behind Portkey" "through Portkey"
expect_out_has "the Portkey target answered" '"answered":"via-portkey"'
expect_true "the provider behind Portkey got the request" [ "$(requests_to /behind/v1/chat/completions)" = 1 ]
expect_true "the direct target was not asked" [ "$(requests_to /direct/v1/chat/completions)" = 0 ]
expect_request_has "Portkey forwarded the provider's key" "\"authorization\":\"Bearer $OPENAI_API_KEY\""

hb chat -p portkey-down -o cache=false --include text,route "hi"
expect_status "when the provider behind Portkey is down, the routed call succeeds" 0
expect_out_has "with the direct target's reply" "direct"
expect_out_has "the Portkey target's 503 is recorded" '"target":"via-portkey","index":0,"outcome":"failed","status":"HTTP","http_status":503'
expect_out_has "the direct target answered" '"answered":"direct"'
expect_true "the request reached the provider behind Portkey (Portkey relayed its 503)" \
  [ "$(requests_to /down/v1/chat/completions)" -ge 1 ]
expect_true "and then the direct provider, once" [ "$(requests_to /direct/v1/chat/completions)" = 1 ]

hb route status portkey-down --json
expect_out_has "hb route status shows the Portkey target" '"gateway":"portkey"'

finish
