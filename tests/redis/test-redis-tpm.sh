#!/bin/bash
# Issue #18: a route target's tokens per minute and a server's Retry-After shared by a fleet
# through the Redis cache backend. Every hb is a new process (a host: its own cache
# directory), so only Redis remembers; without sharing each would start afresh.
# - tpm 100, each answer uses 40 tokens: the fleet's calls stop after 3 (120 tokens), the
#   rest are refused, not sent;
# - a target that answered 429 with Retry-After: 30 on one host is skipped by the others (the
#   route's second target answers), and the upstream never sees it asked again.
. "$HB_TEST_SRCDIR/tests/cli/lib.sh"
rc=0
REDIS_SH="$HB_TEST_SRCDIR/tests/redis/redis.sh"
export HB_CACHE_BACKEND_PATH="$HB_TEST_BUILDDIR/plugins/cache-redis/.libs"
CALLS=6
# Under valgrind each hb takes seconds: the first calls run under it, the same assertions.
VG_CALLS=2

port=$(sh "$REDIS_SH" start standalone "$T/redis") || {
  echo "not ok - redis-server could not be started"; exit 1; }
trap 'sh "$REDIS_SH" stop "$T/redis" >/dev/null 2>&1; cleanup' EXIT

ANSWER='{\"id\":\"c1\",\"object\":\"chat.completion\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"forty tokens\"},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":30,\"total_tokens\":40}}'
ERR='{\"error\":{\"message\":\"slow down\",\"type\":\"rate_limit_error\"}}'
start_upstream "{\"routes\": {
  \"/tpm/v1/chat/completions\": [{\"repeat\": true, \"body\": \"$ANSWER\"}],
  \"/busy/v1/chat/completions\": [{\"repeat\": true, \"status\": 429,
    \"headers\": {\"Retry-After\": \"30\"}, \"body\": \"$ERR\"}],
  \"/calm/v1/chat/completions\": [{\"repeat\": true, \"body\": \"$ANSWER\"}]}}"
requests_to() { grep -c "\"path\":\"$1\"" "$UP_LOG"; }
mkdir -p "$HB_CONFIG_DIR/catalog.d"
cat > "$HB_CONFIG_DIR/catalog.d/50-routes.json" <<JSON
{"routes": {
  "metered": {"targets": [{"label": "tpm100", "model": "gpt-4o-mini", "provider": "openai",
    "base_url": "$UP_URL/tpm/v1", "tpm": 100}]},
  "polite": {"breaker": false, "targets": [
    {"label": "busy", "model": "gpt-4o-mini", "provider": "openai", "base_url": "$UP_URL/busy/v1"},
    {"label": "calm", "model": "gpt-4o-mini", "provider": "openai", "base_url": "$UP_URL/calm/v1"}]}}}
JSON
export OPENAI_API_KEY=sk-tpm-test
cat > "$HB_CONFIG_DIR/config.json" <<JSON
{"heavenbase": {"llm": {"cache": {"backend": "redis", "backend_fallback": false,
  "backend_options": {"nodes": ["127.0.0.1:$port"], "prefix": "tpm:"}}}}}
JSON

# host N ROUTE: one call in a new process with its own cache directory; under valgrind only
# for the first VG_CALLS hosts. Its exit status in $rc, output in $T/out, $T/err.
host() {
  local wrap=""
  [ "$1" -le $VG_CALLS ] && wrap=${HB_TEST_WRAPPER:-}
  HB_CACHE_DIR="$T/host$1" HB_TEST_WRAPPER="$wrap" hb chat -p "$2" -o max_retries=0 \
    -o temperature=0.7 "call $1"
}

answered=0 refused=0
for i in $(seq 1 $CALLS); do
  host "$i" metered
  if [ "$rc" = 0 ]; then answered=$((answered + 1))
  elif grep -q "rate limit" "$T/err"; then refused=$((refused + 1)); fi
done
sent=$(requests_to /tpm/v1/chat/completions)
if [ "$sent" = 3 ] && [ "$answered" = 3 ]; then
  ok "tpm 100 at 40 tokens a call: the fleet's $CALLS calls sent 3 (120 tokens), not $CALLS"
else not_ok "the upstream saw $sent requests, $answered answered, want 3"; fi
if [ "$refused" = $((CALLS - 3)) ]; then ok "the $refused calls past the fleet's tokens were refused, naming the rate limit"
else not_ok "$refused calls were refused for the rate limit, want $((CALLS - 3)): $(head -c 300 "$T/err")"; fi

for i in 1 2 3; do
  host "$i" polite
  if [ "$rc" != 0 ] || ! grep -q "forty tokens" "$T/out"; then
    not_ok "host $i's call on the polite route failed"; fi
done
busy=$(requests_to /busy/v1/chat/completions)
calm=$(requests_to /calm/v1/chat/completions)
if [ "$busy" = 1 ] && [ "$calm" = 3 ]; then
  ok "after one host heard Retry-After: 30, the other hosts skipped that target (it saw 1 request)"
else not_ok "the target that said Retry-After saw $busy requests (want 1), the other $calm (want 3)"; fi

finish
