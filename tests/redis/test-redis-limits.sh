#!/bin/bash
# Issue #18: a route target's rate limit shared by a fleet through the Redis cache backend.
# 4 processes at once, each running hb 35 times (every hb a new process: without sharing each
# would start with a full bucket) against a target of 60 requests per minute: the upstream
# sees no more than 60 requests in any minute, and the calls past the limit are refused
# (skipped), not sent.
. "$HB_TEST_SRCDIR/tests/cli/lib.sh"
rc=0
REDIS_SH="$HB_TEST_SRCDIR/tests/redis/redis.sh"
export HB_CACHE_BACKEND_PATH="$HB_TEST_BUILDDIR/plugins/cache-redis/.libs"
PROCS=4 EACH=35 RPM=60
# Under valgrind each hb takes seconds: a smaller limit, the same assertions.
if [ -n "${HB_TEST_WRAPPER:-}" ]; then PROCS=2 EACH=6 RPM=2; fi

port=$(sh "$REDIS_SH" start standalone "$T/redis") || {
  echo "not ok - redis-server could not be started"; exit 1; }
trap 'sh "$REDIS_SH" stop "$T/redis" >/dev/null 2>&1; cleanup' EXIT

start_upstream '{"routes": {"/v1/chat/completions": [{"repeat": true, "echo": true}]}}'
mkdir -p "$HB_CONFIG_DIR/catalog.d"
cat > "$HB_CONFIG_DIR/catalog.d/50-limited.json" <<JSON
{"routes": {"limited": {"targets": [
  {"label": "sixty", "model": "gpt-4o-mini", "provider": "openai", "base_url": "$UP_URL/v1",
   "api_key_env": "HB_TEST_LIMITS_KEY", "rpm": $RPM}]}}}
JSON
export HB_TEST_LIMITS_KEY=sk-limits-test
cat > "$HB_CONFIG_DIR/config.json" <<JSON
{"heavenbase": {"llm": {"cache": {"backend": "redis", "backend_fallback": false,
  "backend_options": {"nodes": ["127.0.0.1:$port"], "prefix": "lim:"}}}}}
JSON

worker() {
  local w=$1 okc=0 i
  for i in $(seq 1 $EACH); do
    # shellcheck disable=SC2086
    ${HB_TEST_WRAPPER:-} "$HB_BIN" chat -p limited -o temperature=0.7 "w$w q$i" \
      >>"$T/w$w.out" 2>>"$T/w$w.err" && okc=$((okc + 1))
  done
  echo "$okc" > "$T/w$w.ok"
}
started=$(date +%s)
pids_w=""
for w in $(seq 1 $PROCS); do worker "$w" & pids_w="$pids_w $!"; done
for p in $pids_w; do wait "$p"; done
# The shared limit holds any two consecutive wall-clock minutes to RPM (ratelimit-shared.c): a
# run under a minute sends at most RPM, a run that spans W minute windows at most RPM*ceil(W/2)
# (a loaded machine can stretch the run). Without sharing, every hb would have RPM of its own.
elapsed=$(( $(date +%s) - started + 1 ))
windows=$(( elapsed / 60 + 2 ))
allowed=$(( RPM * ((windows + 1) / 2) ))
sent=$(wc -l < "$UP_LOG")
answered=0
for f in "$T"/w*.ok; do answered=$((answered + $(cat "$f"))); done
total=$((PROCS * EACH))
if [ "$allowed" -ge "$total" ]; then not_ok "the run took ${elapsed} s: too slow to tell a shared bucket from none"
elif [ "$sent" -le "$allowed" ]; then ok "the upstream saw $sent requests for $total calls in ${elapsed} s: no more than the $allowed that $RPM per minute allows"
else not_ok "the upstream saw $sent requests in ${elapsed} s, over the $allowed that $RPM per minute allows"; fi
if [ "$answered" = "$sent" ]; then ok "every request sent was answered ($answered)"
else not_ok "$answered answers for $sent requests"; fi
refused=$((total - answered))
if [ "$refused" -ge $((total - allowed)) ]; then ok "$refused calls past the fleet's limit were refused, not sent"
else not_ok "only $refused calls were refused"; fi
if grep -q "rate limit" "$T"/w*.err; then ok "a refused call says it hit the rate limit"
else not_ok "no refusal names the rate limit: $(head -2 "$T"/w1.err)"; fi

finish
