#!/bin/bash
# Issue #18: a budget hold whose process dies is given back when the hold expires. The fleet's
# daily budget is two calls' worth; one call is spent. Host A's call holds the other (the
# period's average call) and reaches a slow upstream; A is SIGKILLed mid-call and settles
# nothing. Host B is refused while A's hold lives (the hold counts), then its call goes
# through once the hold has expired: after A's timeout (2 s) and the hold margin (1 s), long
# before the default margin (30 s) or the counters' own expiry (days). The spend stays exact:
# after B's call the fleet is at its limit, and a third host is refused.
. "$HB_TEST_SRCDIR/tests/cli/lib.sh"
rc=0
REDIS_SH="$HB_TEST_SRCDIR/tests/redis/redis.sh"
export HB_CACHE_BACKEND_PATH="$HB_TEST_BUILDDIR/plugins/cache-redis/.libs"
A_TIMEOUT=2 MARGIN=1 B_MAX_MS=12000
# The hosts run without the valgrind wrapper even in the valgrind run: under it an hb takes
# longer to start than the hold lives. test-redis-budget.sh runs the budget's paths under
# valgrind.

port=$(sh "$REDIS_SH" start standalone "$T/redis") || {
  echo "not ok - redis-server could not be started"; exit 1; }
trap 'sh "$REDIS_SH" stop "$T/redis" >/dev/null 2>&1; cleanup' EXIT

# $0.003 a call (1,000 tokens in at $1, 500 out at $4 per million). The second request (host
# A's) is held back 60 s.
REPLY='{\"id\":\"c1\",\"object\":\"chat.completion\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"priced answer\"},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":1000,\"completion_tokens\":500,\"total_tokens\":1500}}'
start_upstream "{\"routes\": {\"/v1/chat/completions\": [{\"body\": \"$REPLY\"},
  {\"head_delay_ms\": 60000, \"body\": \"$REPLY\"}, {\"repeat\": true, \"body\": \"$REPLY\"}]}}"
mkdir -p "$HB_CONFIG_DIR/catalog.d"
cat > "$HB_CONFIG_DIR/catalog.d/prices.json" <<'JSON'
{"models": {"model-b": {"ids": {"openai": "model-b"}, "default_provider": "openai",
  "kind": "chat", "prices": {"openai": {"input": 1, "output": 4}}}}}
JSON
export HB_TEST_BUDGET_KEY=sk-budget-expiry-test
cat > "$HB_CONFIG_DIR/config.json" <<JSON
{"heavenbase": {"llm": {
  "usage": {"hold_margin": $MARGIN},
  "cache": {"backend": "redis", "backend_fallback": false,
            "backend_options": {"nodes": ["127.0.0.1:$port"], "prefix": "bx:"}},
  "budgets": {"fleet": {"limit_usd": 0.006, "period": "day"}}}}}
JSON
# host NAME PROMPT [ARGS...]: one call from a host of its own (cache and ledger directory).
host() {
  local name=$1 prompt=$2; shift 2
  HB_CACHE_DIR="$T/host-$name" "$HB_BIN" chat --provider openai --base-url "$UP_URL/v1" \
    -m model-b --api-key-env HB_TEST_BUDGET_KEY "$@" "$prompt"
}
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

host first "the first question" >"$T/out" 2>"$T/err"
rc=$?
expect_status "the first call (half the budget) succeeds" 0

# Host A: holds the budget's other half, then dies mid-call.
t0=$(now_ms)
# (exec: the background job is hb itself, not a subshell that would die without it.)
(exec env HB_CACHE_DIR="$T/host-A" "$HB_BIN" chat --provider openai --base-url "$UP_URL/v1" \
  -m model-b --api-key-env HB_TEST_BUDGET_KEY -o timeout=$A_TIMEOUT "a slow question" \
  >"$T/a.out" 2>"$T/a.err") &
a=$!
i=0
while [ "$(wc -l < "$UP_LOG")" -lt 2 ] && [ $i -lt 200 ]; do sleep 0.02; i=$((i + 1)); done
{ kill -KILL "$a"; wait "$a"; } 2>/dev/null # (bash's "Killed" notice, not the test's)
if ! kill -0 "$a" 2>/dev/null; then
  ok "host A's hb is dead"
else not_ok "host A's hb survived the SIGKILL"; fi
holds=$(redis-cli -p "$port" --scan --pattern '*bx:c:*:hz' | head -1)
live=$(redis-cli -p "$port" ZCARD "$holds" 2>/dev/null)
if [ "$(wc -l < "$UP_LOG")" = 2 ] && [ "$live" = 1 ]; then
  ok "host A called the upstream holding its share, and was killed mid-call"
else not_ok "host A: $(wc -l < "$UP_LOG") requests, holds '$holds' ($live live): $(head -3 "$T/a.err")"; fi

# Host B, at once: A's hold still counts.
host B "host B's question" >"$T/out" 2>"$T/err"
rc=$?
expect_status "host B is refused while the dead host's hold lives" 1
expect_err_has "by the fleet's spend, the hold included" "budget 'fleet' is spent: \$0.0060 of \$0.0060 this day across the fleet"

# Host B again, until it goes through: after the hold's lifetime, well before a long bound.
took=0
while :; do
  host B "host B's question" >"$T/out" 2>"$T/err" && break
  took=$(( $(now_ms) - t0 ))
  [ "$took" -ge $B_MAX_MS ] && break
  sleep 0.2
done
took=$(( $(now_ms) - t0 ))
if [ -s "$T/out" ] && grep -q "priced answer" "$T/out"; then
  ok "host B's call goes through once the dead host's hold expired (${took} ms after it was taken)"
else not_ok "host B is still refused after ${took} ms: $(head -2 "$T/err")"; fi
life=$(( (A_TIMEOUT + MARGIN) * 1000 ))
if [ "$took" -ge $(( life - 200 )) ] && [ "$took" -lt $B_MAX_MS ]; then
  ok "it went through after the hold's lifetime ($life ms: A's timeout and the margin), not long after"
else not_ok "it went through after ${took} ms; the hold lived $life ms"; fi
[ "$(wc -l < "$UP_LOG")" = 3 ] && ok "the upstream saw host B's request (the third)" ||
  not_ok "the upstream saw $(wc -l < "$UP_LOG") requests, want 3"

# The spend is exact: two calls settled, nothing left held.
sent=$(wc -l < "$UP_LOG")
host C "host C's question" >"$T/out" 2>"$T/err"
rc=$?
expect_status "a third host is refused: the fleet spent its budget" 1
expect_err_has "at exactly the limit" "budget 'fleet' is spent: \$0.0060 of \$0.0060"
[ "$(wc -l < "$UP_LOG")" = "$sent" ] && ok "and makes no request" || not_ok "host C's call was sent"

finish
