#!/bin/bash
# Issue #18: a dead holder's single-flight lock expires. Host A (a process) makes a call to a
# slow upstream and so holds the shared lock in Redis; it is SIGKILLed mid-call and releases
# nothing. Host B's identical call then waits for the lock (it cannot call before the lock
# expires), but only about the lock's expiry (flight_lock_seconds), not its own wait bound (the
# call's timeout, far longer); then it calls by itself, and the upstream sees its request.
. "$HB_TEST_SRCDIR/tests/cli/lib.sh"
rc=0
REDIS_SH="$HB_TEST_SRCDIR/tests/redis/redis.sh"
export HB_CACHE_BACKEND_PATH="$HB_TEST_BUILDDIR/plugins/cache-redis/.libs"
LOCK_S=2 B_TIMEOUT=30 B_MAX_S=15
# Both hosts run without the valgrind wrapper even in the valgrind run: under it an hb takes
# longer to start than the lock lives. The memory of the waiting path is checked under
# valgrind by test-redis-fleet.sh, whose hosts wait for each other's locks.

port=$(sh "$REDIS_SH" start standalone "$T/redis") || {
  echo "not ok - redis-server could not be started"; exit 1; }
trap 'sh "$REDIS_SH" stop "$T/redis" >/dev/null 2>&1; cleanup' EXIT

# The first request is held back 60 s (host A never sees it answered); later ones are echoed.
start_upstream '{"routes": {"/v1/chat/completions": [
  {"head_delay_ms": 60000, "body": "{}"}, {"repeat": true, "echo": true}]}}'
export OPENAI_API_KEY=sk-expiry-test
mkdir -p "$HB_CONFIG_DIR"
cat > "$HB_CONFIG_DIR/config.json" <<JSON
{"heavenbase": {"llm": {"cache": {"backend": "redis", "backend_fallback": false,
  "flight_lock_seconds": $LOCK_S,
  "backend_options": {"nodes": ["127.0.0.1:$port"], "prefix": "exp:"}}}}}
JSON
PROMPT="one slow question"
chat() {
  "$@" chat --provider openai --base-url "$UP_URL/v1" -m gpt-4o-mini -o temperature=0 \
    -o timeout=$B_TIMEOUT "$PROMPT"
}
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# Host A (its own cache directory).
# (exec: the background job is hb itself; killing a subshell that runs the function would
# leave hb running, and its lock would be released rather than left to expire.)
(export HB_CACHE_DIR="$T/hostA"; exec "$HB_BIN" chat --provider openai --base-url "$UP_URL/v1" \
  -m gpt-4o-mini -o temperature=0 -o timeout=$B_TIMEOUT "$PROMPT") >"$T/a.out" 2>"$T/a.err" &
a=$!
i=0
while [ "$(wc -l < "$UP_LOG")" -lt 1 ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
lock=$(redis-cli -p "$port" --scan --pattern 'exp:l:*' | head -1)
if [ "$(wc -l < "$UP_LOG")" = 1 ] && [ -n "$lock" ]; then ok "host A called the upstream holding the shared lock"
else not_ok "host A: $(wc -l < "$UP_LOG") requests, lock '$lock': $(head -3 "$T/a.err")"; fi
{ kill -KILL "$a"; wait "$a"; } 2>/dev/null # (bash's "Killed" notice, not the test's)
alive=$(grep -l "HB_CACHE_DIR=$T/hostA" /proc/[0-9]*/environ 2>/dev/null | head -1)
if [ -z "$alive" ]; then ok "host A's hb is dead"
else not_ok "host A's hb is still running (${alive%/environ})"; fi
left=$(redis-cli -p "$port" PTTL "$lock")
if [ "${left:-0}" -gt 0 ]; then ok "host A was killed; its lock is still held (${left} ms left)"
else not_ok "the lock was gone before host B started (PTTL $left): nothing to wait for"; fi

# Host B (another cache directory): the same call.
t0=$(now_ms)
HB_CACHE_DIR="$T/hostB" chat "$HB_BIN" >"$T/out" 2>"$T/err"
rc=$?
took=$(( $(now_ms) - t0 ))
expect_out "host B's identical call succeeds" "echo: $PROMPT"
if [ "$(wc -l < "$UP_LOG")" = 2 ]; then ok "host B called the upstream itself (its request is the second)"
else not_ok "the upstream saw $(wc -l < "$UP_LOG") requests, want 2"; fi
if [ "${left:-0}" -gt 0 ] && [ "$took" -ge $(( left - 100 )) ]; then ok "host B waited for the dead holder's lock (${took} ms; the lock had ${left} ms left)"
else not_ok "host B called after ${took} ms, before the lock (${left} ms left) expired"; fi
if [ "$took" -lt $(( B_MAX_S * 1000 )) ]; then ok "host B waited about the lock's expiry (${LOCK_S} s), not its wait bound (${B_TIMEOUT} s)"
else not_ok "host B took ${took} ms: it waited for its bound, not for the lock to expire"; fi

finish
