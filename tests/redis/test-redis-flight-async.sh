#!/bin/bash
# Issue #18: an async call that loses the shared single-flight lock waits for the leader's
# entry without blocking the engine. Host A (sync) leads "the question" against an upstream
# that holds its answer back 3 s. Host B runs `hb chat --parallel 2` (the async engine) on
# "the question" and "another question": the first waits for A's entry (polled from engine
# timers) and is answered from the cache, so the upstream sees the question once; the second
# reaches the upstream while A still leads (the wait blocks nothing).
. "$HB_TEST_SRCDIR/tests/cli/lib.sh"
rc=0
REDIS_SH="$HB_TEST_SRCDIR/tests/redis/redis.sh"
export HB_CACHE_BACKEND_PATH="$HB_TEST_BUILDDIR/plugins/cache-redis/.libs"
# Without the valgrind wrapper even in the valgrind run: under it an hb takes longer to start
# than A leads.

port=$(sh "$REDIS_SH" start standalone "$T/redis") || {
  echo "not ok - redis-server could not be started"; exit 1; }
trap 'sh "$REDIS_SH" stop "$T/redis" >/dev/null 2>&1; cleanup' EXIT

start_upstream '{"routes": {"/v1/chat/completions": [
  {"head_delay_ms": 3000, "echo": true}, {"repeat": true, "echo": true}]}}'
export OPENAI_API_KEY=sk-flight-async-test
mkdir -p "$HB_CONFIG_DIR"
cat > "$HB_CONFIG_DIR/config.json" <<JSON
{"heavenbase": {"llm": {"cache": {"backend": "redis", "backend_fallback": false,
  "backend_options": {"nodes": ["127.0.0.1:$port"], "prefix": "fa:"}}}}}
JSON
: > "$T/out"; : > "$T/err"
ARGS=(--provider openai --base-url "$UP_URL/v1" -m gpt-4o-mini -o temperature=0 -o timeout=30)

# Host A (exec: the background job is hb itself).
(exec env HB_CACHE_DIR="$T/hostA" "$HB_BIN" chat "${ARGS[@]}" "the question" \
  >"$T/a.out" 2>"$T/a.err") &
a=$!
i=0
while [ "$(wc -l < "$UP_LOG")" -lt 1 ] && [ $i -lt 200 ]; do sleep 0.02; i=$((i + 1)); done
lock=$(redis-cli -p "$port" --scan --pattern 'fa:l:*' | head -1)
if [ "$(wc -l < "$UP_LOG")" = 1 ] && [ -n "$lock" ]; then ok "host A leads the question, holding the shared lock"
else not_ok "host A: $(wc -l < "$UP_LOG") requests, lock '$lock': $(head -3 "$T/a.err")"; fi

# Host B: both prompts through the async engine.
printf 'the question\nanother question\n' > "$T/in"
(exec env HB_CACHE_DIR="$T/hostB" "$HB_BIN" chat "${ARGS[@]}" --parallel 2 -i "$T/in" \
  >"$T/b.out" 2>"$T/b.err") &
b=$!
i=0
while [ "$(wc -l < "$UP_LOG")" -lt 2 ] && [ $i -lt 100 ]; do sleep 0.02; i=$((i + 1)); done
if [ "$(wc -l < "$UP_LOG")" = 2 ] && grep -q "another question" "$UP_LOG" && kill -0 "$a" 2>/dev/null; then
  ok "host B's other call reached the upstream while A still led (the wait blocks nothing)"
else not_ok "host B's other call: $(wc -l < "$UP_LOG") requests, A running: $(kill -0 "$a" 2>/dev/null && echo yes || echo no)"; fi
wait "$a"; ra=$?
wait "$b"; rb=$?
[ "$ra" = 0 ] && grep -q "echo: the question" "$T/a.out" && ok "host A answered" ||
  not_ok "host A: exit $ra: $(head -3 "$T/a.err")"
if [ "$rb" = 0 ] && [ "$(cat "$T/b.out")" = "echo: the question
echo: another question" ]; then ok "host B's async calls both succeed"
else not_ok "host B: exit $rb, out '$(cat "$T/b.out")': $(head -3 "$T/b.err")"; fi
n=$(grep -c '"the question"' "$UP_LOG")
if [ "$n" = 1 ] && [ "$(wc -l < "$UP_LOG")" = 2 ]; then
  ok "the upstream saw the question once: host B's async call waited for A's entry"
else not_ok "the upstream saw the question $n times ($(wc -l < "$UP_LOG") requests in all)"; fi

finish
