#!/bin/bash
# Issue #18: a budget shared by a fleet through the Redis cache backend. 4 processes at once,
# each a "host" with its own cache and usage ledger directory (so only Redis can share the
# spend), each running hb 6 times (every call a new process) against a daily budget of 10
# calls' worth: the fleet stops at the limit, and what the upstream served stays within one
# call of it.
. "$HB_TEST_SRCDIR/tests/cli/lib.sh"
rc=0
REDIS_SH="$HB_TEST_SRCDIR/tests/redis/redis.sh"
export HB_CACHE_BACKEND_PATH="$HB_TEST_BUILDDIR/plugins/cache-redis/.libs"
# $0.003 a call (1,000 tokens in at $1, 500 out at $4 per million): the budget is CALLS calls.
PROCS=4 EACH=6 CALLS=10 LIMIT=0.03
# Under valgrind each hb takes seconds: fewer calls, the same assertions.
if [ -n "${HB_TEST_WRAPPER:-}" ]; then PROCS=2 EACH=4 CALLS=5 LIMIT=0.015; fi

port=$(sh "$REDIS_SH" start standalone "$T/redis") || {
  echo "not ok - redis-server could not be started"; exit 1; }
trap 'sh "$REDIS_SH" stop "$T/redis" >/dev/null 2>&1; cleanup' EXIT

REPLY='{\"id\":\"c1\",\"object\":\"chat.completion\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"priced answer\"},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":1000,\"completion_tokens\":500,\"total_tokens\":1500}}'
start_upstream "{\"routes\": {\"/v1/chat/completions\": [{\"repeat\": true, \"body\": \"$REPLY\"}]}}"
mkdir -p "$HB_CONFIG_DIR/catalog.d"
cat > "$HB_CONFIG_DIR/catalog.d/prices.json" <<'JSON'
{"models": {"model-b": {"ids": {"openai": "model-b"}, "default_provider": "openai",
  "kind": "chat", "prices": {"openai": {"input": 1, "output": 4}}}}}
JSON
export HB_TEST_BUDGET_KEY=sk-budget-test
cat > "$HB_CONFIG_DIR/config.json" <<JSON
{"heavenbase": {"llm": {
  "cache": {"backend": "redis", "backend_fallback": false,
            "backend_options": {"nodes": ["127.0.0.1:$port"], "prefix": "bud:"}},
  "budgets": {"fleet": {"limit_usd": $LIMIT, "period": "day"}}}}}
JSON
CALL=(--provider openai --base-url "$UP_URL/v1" -m model-b --api-key-env HB_TEST_BUDGET_KEY)

worker() {
  local w=$1 okc=0 i
  mkdir -p "$T/host$w"
  for i in $(seq 1 $EACH); do
    # shellcheck disable=SC2086
    HB_CACHE_DIR="$T/host$w" ${HB_TEST_WRAPPER:-} "$HB_BIN" chat "${CALL[@]}" \
      "host $w question $i" >>"$T/w$w.out" 2>>"$T/w$w.err" && okc=$((okc + 1))
  done
  echo "$okc" > "$T/w$w.ok"
}
pids_w=""
for w in $(seq 1 $PROCS); do worker "$w" & pids_w="$pids_w $!"; done
for p in $pids_w; do wait "$p"; done
sent=$(wc -l < "$UP_LOG")
answered=0
for f in "$T"/w*.ok; do answered=$((answered + $(cat "$f"))); done
total=$((PROCS * EACH))
if [ "$sent" -le $CALLS ] && [ "$sent" -ge $((CALLS - 1)) ]; then
  ok "the upstream served $sent calls (\$0.003 each) for $total: within one call of the \$$LIMIT budget"
else not_ok "the upstream served $sent calls for a budget of $CALLS"; fi
if [ "$answered" = "$sent" ]; then ok "every request sent was answered ($answered)"
else not_ok "$answered answers for $sent requests"; fi
if grep -q "budget 'fleet' is spent: .* across the fleet" "$T"/w*.err; then
  ok "a refused call names the fleet-wide spend"
else not_ok "no refusal names the fleet's spend: $(head -2 "$T"/w1.err)"; fi
# Each host's own ledger saw only its own calls: none alone reached the limit.
most=0
for w in $(seq 1 $PROCS); do
  mine=$(cat "$T/w$w.ok"); [ "$mine" -gt "$most" ] && most=$mine
done
if [ "$most" -lt $CALLS ]; then ok "no host alone spent the budget ($most calls at most): the shared counters stopped the fleet"
else not_ok "one host alone made $most calls"; fi
# A new host (empty ledger) is refused at once, without reaching the upstream.
HB_CACHE_DIR="$T/hostnew" hb chat "${CALL[@]}" "a new host"
expect_status "a new host with an empty ledger is refused" 1
expect_err_has "by the fleet's spend" "across the fleet"
[ "$(wc -l < "$UP_LOG")" = "$sent" ] && ok "and makes no request" || not_ok "a new host's call was sent"

finish
