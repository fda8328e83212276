#!/bin/bash
# Structured output through the OpenAI-shaped gateways: the REAL Portkey gateway (tests/portkey,
# installed from npm) in front of the fake upstream, and bifrost and litellm against it. What
# reached the provider must carry response_format as OpenAI defines it (checked by ajv against
# the official spec's schema, tests/data/structured/wire-schemas.json), and hb prints the value.
. "$(dirname "$0")/lib.sh"

DATA="$HB_TEST_SRCDIR/tests/data/structured"
CHECK="$HB_TEST_SRCDIR/tests/cli/structured-check.cjs"
if [ "${HB_TEST_NO_NETWORK:-}" = 1 ]; then
  echo "# SKIP: HB_TEST_NO_NETWORK=1: ajv and Portkey are installed from npm"; exit 77
fi
AJV=$(bash "$HB_TEST_SRCDIR/tests/schema/ajv-install.sh" 2>"$T/ajv.err") ||
  { echo "not ok - ajv could not be installed (needs node and npm):"; sed 's/^/  /' "$T/ajv.err"; exit 1; }
check() {
  local desc=$1; shift
  if node "$CHECK" "$AJV" "$@" >"$T/check.out" 2>"$T/check.err"; then ok "$desc"
  else not_ok "$desc: $(cat "$T/check.err")"; fi
}

BODY='{"id":"c1","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"{\"name\": \"Ada\", \"age\": 36}"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":3,"total_tokens":6}}'
BODY_JSON=$(node -e 'process.stdout.write(JSON.stringify(process.argv[1]))' "$BODY")
start_upstream "{\"routes\": {
  \"/up/v1/chat/completions\": [{\"repeat\": true, \"body\": $BODY_JSON}],
  \"/bifrost/v1/chat/completions\": [{\"repeat\": true, \"body\": $BODY_JSON}],
  \"/litellm/v1/chat/completions\": [{\"repeat\": true, \"body\": $BODY_JSON}]
}}"
SCHEMA="$DATA/person-simple.json"
export OPENAI_API_KEY="sk-test-structured-0123456789" DEEPSEEK_API_KEY="sk-test-ds-0123456789"

export BIFROST_BASE_URL="$UP_URL/bifrost/v1"
hb chat -g bifrost --provider deepseek -m deepseek-v4-flash --schema "$SCHEMA" "hi" --include structured --json
expect_out "bifrost: the value" '{"name":"Ada","age":36}'
check "bifrost: response_format as OpenAI defines it" wire openai "$UP_LOG"

export LITELLM_BASE_URL="$UP_URL/litellm/v1"
hb chat -g litellm --provider deepseek -m deepseek-v4-flash --schema "$SCHEMA" "hi" --include structured --json
expect_out "litellm: the value" '{"name":"Ada","age":36}'
check "litellm: response_format as OpenAI defines it" wire openai "$UP_LOG"

start_portkey
hb chat -g portkey --base-url "$PORTKEY_URL/v1" -o custom_host="$UP_URL/up/v1" --provider openai \
  -m gpt-4o-mini --schema "$SCHEMA" "hi" --include structured,structured_outcome --json
expect_out_has "portkey: the value comes back through the real gateway" '"structured":{"name":"Ada","age":36}'
expect_out_has "valid" '"outcome":"valid"'
expect_log_has "and the request went through Portkey to the upstream" '"path":"/up/v1/chat/completions"'
check "portkey: response_format reached the provider as OpenAI defines it" wire openai "$UP_LOG"
expect_request_has "with the schema intact" '"name":"person-simple"' '"additionalProperties":false'

finish
