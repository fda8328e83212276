#!/bin/bash
# Issue #18: circuit breakers shared by a fleet through the Redis cache backend. Process A
# (its own cache directory) calls a route whose first target answers 503 until its breaker
# opens; process B (another directory: only Redis is shared) then skips that target without
# reaching it, and `hb route status` in a third process shows the target open, as the fleet's.
. "$HB_TEST_SRCDIR/tests/cli/lib.sh"
rc=0
REDIS_SH="$HB_TEST_SRCDIR/tests/redis/redis.sh"
export HB_CACHE_BACKEND_PATH="$HB_TEST_BUILDDIR/plugins/cache-redis/.libs"
FAILS=3 B_CALLS=4
if [ -n "${HB_TEST_WRAPPER:-}" ]; then FAILS=2 B_CALLS=2; fi

port=$(sh "$REDIS_SH" start standalone "$T/redis") || {
  echo "not ok - redis-server could not be started"; exit 1; }
trap 'sh "$REDIS_SH" stop "$T/redis" >/dev/null 2>&1; cleanup' EXIT

OK='{\"id\":\"c1\",\"object\":\"chat.completion\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"from the good one\"},\"finish_reason\":\"stop\"}]}'
start_upstream "{\"routes\": {
  \"/down/v1/chat/completions\": [{\"repeat\": true, \"status\": 503,
    \"body\": \"{\\\"error\\\":{\\\"message\\\":\\\"overloaded\\\",\\\"type\\\":\\\"server_error\\\"}}\"}],
  \"/up/v1/chat/completions\": [{\"repeat\": true, \"body\": \"$OK\"}]}}"
requests_to() { grep -c "\"path\":\"$1\"" "$UP_LOG"; }
mkdir -p "$HB_CONFIG_DIR/catalog.d"
cat > "$HB_CONFIG_DIR/catalog.d/50-routes.json" <<JSON
{"routes": {"flaky": {"breaker": {"failures": $FAILS, "cooldown": 600}, "targets": [
  {"label": "down", "model": "gpt-4o-mini", "provider": "openai", "base_url": "$UP_URL/down/v1"},
  {"label": "up", "model": "gpt-4o-mini", "provider": "openai", "base_url": "$UP_URL/up/v1"}]}}}
JSON
export OPENAI_API_KEY=sk-breaker-test
cat > "$HB_CONFIG_DIR/config.json" <<JSON
{"heavenbase": {"llm": {"cache": {"backend": "redis", "backend_fallback": false,
  "backend_options": {"nodes": ["127.0.0.1:$port"], "prefix": "brk:"}}}}}
JSON

# Process A: every call is a new hb, so only Redis remembers the failures.
for i in $(seq 1 $FAILS); do
  HB_CACHE_DIR="$T/hostA" hb chat -p flaky -o cache=false "a $i"
  [ "$rc" = 0 ] || not_ok "host A's call $i failed: $(head -c 300 "$T/err")"
done
down_a=$(requests_to /down/v1/chat/completions)
expect_true "host A reached the failing target $FAILS times ($down_a)" [ "$down_a" = $FAILS ]

# Process B: its own directories; the breaker it finds in Redis is open.
for i in $(seq 1 $B_CALLS); do
  HB_CACHE_DIR="$T/hostB" hb chat -p flaky -o cache=false --include text,route "b $i"
  [ "$rc" = 0 ] || not_ok "host B's call $i failed: $(head -c 300 "$T/err")"
done
expect_out_has "host B is answered by the next target" "from the good one"
expect_out_has "and its record says the first was skipped: the circuit is open" "circuit open"
down=$(requests_to /down/v1/chat/completions)
expect_true "host B never reached the failing target (requests to it: $down, still $FAILS)" \
  [ "$down" = $FAILS ]
up=$(requests_to /up/v1/chat/completions)
expect_true "every call of both hosts was answered by the good target ($up)" \
  [ "$up" = $((FAILS + B_CALLS)) ]

HB_CACHE_DIR="$T/hostC" hb route status flaky
expect_status "hb route status in a third process" 0
expect_out_has "shows the failing target open, from the fleet's state" "down"
expect_true "open, as the fleet sees it" grep -q "down.*open.*failures $FAILS.*(fleet)" "$T/out"
HB_CACHE_DIR="$T/hostC" hb route status flaky --json
expect_out_has "--json says the state is shared" '"shared":true'
expect_out_has "and counts the skips of host B" "\"skipped\":$B_CALLS"

finish
