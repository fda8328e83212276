#!/bin/bash
# Issue #18: entries encrypted at rest in Redis (backend_options.encryption_key_env, AES-256-GCM).
# Every hb is a new process (a host) with no local tier: only Redis is shared.
# - with encryption on, redis-cli GET of our keys shows no plaintext of the reply (without it,
#   the same GET does: the check can fail);
# - a second process with the same key hits (the upstream sees nothing new);
# - a process with another key misses, calls, and overwrites the value with its own;
# - one byte tampered with redis-cli: a miss, the call succeeds, and the value is rewritten;
# - a key that is not a 256-bit key is an error at load naming the setting, never the value.
. "$HB_TEST_SRCDIR/tests/cli/lib.sh"
rc=0
REDIS_SH="$HB_TEST_SRCDIR/tests/redis/redis.sh"
export HB_CACHE_BACKEND_PATH="$HB_TEST_BUILDDIR/plugins/cache-redis/.libs"

port=$(sh "$REDIS_SH" start standalone "$T/redis") || {
  echo "not ok - redis-server could not be started"; exit 1; }
trap 'sh "$REDIS_SH" stop "$T/redis" >/dev/null 2>&1; cleanup' EXIT

start_upstream '{"routes": {"/v1/chat/completions": [{"repeat": true, "echo": true}]}}'
export OPENAI_API_KEY=sk-crypt-test
KEY_A=6b1f0c3e9a2d4b5f8e7c6a5b4d3c2b1a0f9e8d7c6b5a49382716051423324150
KEY_B=$(printf '\x11%.0s' $(seq 1 32) | base64) # the base64 form of a key
# config DIR PREFIX [KEY_ENV]: a config whose cache lives in Redis only, under PREFIX.
config() {
  mkdir -p "$1"
  local enc=""
  [ -n "${3:-}" ] && enc=", \"encryption_key_env\": \"$3\""
  cat > "$1/config.json" <<JSON
{"heavenbase": {"llm": {"cache": {"backend": "redis", "backend_fallback": false,
  "tiers": ["redis"],
  "backend_options": {"nodes": ["127.0.0.1:$port"], "prefix": "$2"$enc}}}}}
JSON
}
config "$T/cfg-enc" "enc:" HB_TEST_CACHE_KEY
config "$T/cfg-clear" "clear:"
PROMPT="the capital of Francia-4711"
# call CONFIG_DIR [KEY]: one deterministic chat in a new process, without the valgrind wrapper;
# vcall: the same under it (in the valgrind run, only the calls that open a value, fail to
# open one and seal anew, and refuse a key, so that the run stays short).
call() {
  HB_CONFIG_DIR="$1" HB_TEST_CACHE_KEY="${2:-}" HB_TEST_WRAPPER="${VG:-}" hb chat --provider openai \
    --base-url "$UP_URL/v1" -m gpt-4o-mini -o temperature=0 "$PROMPT"
}
vcall() { VG="${HB_TEST_WRAPPER:-}" call "$@"; }
sent() { wc -l < "$UP_LOG"; }
value_of() { redis-cli -p "$port" --raw GET "$1" | od -An -tx1 | tr -d ' \n'; }

# Control: without a key the value holds the reply in clear.
call "$T/cfg-clear"
expect_out "a call without encryption answers" "echo: $PROMPT"
ck=$(redis-cli -p "$port" --scan --pattern 'clear:e:text:*' | head -1)
if redis-cli -p "$port" --raw GET "$ck" | grep -aq "Francia-4711"; then
  ok "without encryption the stored value shows the reply (the control)"
else not_ok "the unencrypted value does not show the reply: the checks below could not fail"; fi

call "$T/cfg-enc" "$KEY_A"
expect_out "with encryption the call answers" "echo: $PROMPT"
k=$(redis-cli -p "$port" --scan --pattern 'enc:e:text:*' | head -1)
redis-cli -p "$port" --raw GET "$k" > "$T/sealed"
if [ -n "$k" ] && [ -s "$T/sealed" ] && ! grep -aq "Francia\|4711\|capital" "$T/sealed" &&
   [ "$(head -c 4 "$T/sealed")" = HVBX ]; then
  ok "redis-cli GET of the encrypted entry shows no plaintext of the reply"
else not_ok "the encrypted entry '$k' shows plaintext or is not sealed: $(head -c 80 "$T/sealed" | od -c | head -3)"; fi
if redis-cli -p "$port" --scan --pattern '*' | grep -q "Francia\|4711"; then
  not_ok "a Redis key holds the prompt"; else ok "no Redis key holds the prompt"; fi

n=$(sent)
vcall "$T/cfg-enc" "$KEY_A"
expect_out "a second process with the same key answers" "echo: $PROMPT"
if [ "$(sent)" = "$n" ]; then ok "and it was a hit (the upstream saw no new request)"
else not_ok "the same key missed: the upstream saw $(( $(sent) - n )) more requests"; fi

before=$(value_of "$k")
call "$T/cfg-enc" "$KEY_B"
expect_out "a process with another key answers" "echo: $PROMPT"
if [ "$(sent)" = $((n + 1)) ]; then ok "it missed (the upstream was called)"
else not_ok "another key: the upstream saw $(( $(sent) - n )) requests, want 1"; fi
after=$(value_of "$k")
if [ -n "$after" ] && [ "$after" != "$before" ]; then ok "and overwrote the value"
else not_ok "the value under the other key was not overwritten"; fi
n=$(sent)
call "$T/cfg-enc" "$KEY_B"
if [ "$rc" = 0 ] && [ "$(sent)" = "$n" ]; then ok "with its own key: the rewritten value is a hit"
else not_ok "the rewritten value did not open with the key that wrote it"; fi

# One byte of the ciphertext changed (offset 20: past the 18-byte header).
byte=$(redis-cli -p "$port" --raw GETRANGE "$k" 20 20 | od -An -tx1 -N1 | tr -d ' \n')
new=A; [ "$byte" = 41 ] && new=B
redis-cli -p "$port" SETRANGE "$k" 20 "$new" >/dev/null
tampered=$(value_of "$k")
n=$(sent)
vcall "$T/cfg-enc" "$KEY_B"
expect_out "after tampering one byte the call still answers" "echo: $PROMPT"
if [ "$(sent)" = $((n + 1)) ]; then ok "the tampered value was a miss"
else not_ok "tampered: the upstream saw $(( $(sent) - n )) requests, want 1"; fi
if [ "$(value_of "$k")" != "$tampered" ]; then ok "and it was overwritten"
else not_ok "the tampered value is still there"; fi

# A key that is not a 256-bit key: an error at load, naming the setting and the variable.
vcall "$T/cfg-enc" "hunter2-not-a-key"
expect_status "a bad key refuses the cache settings (backend_fallback false)" 1
expect_err_has "naming the setting" "'encryption_key_env' names the environment variable HB_TEST_CACHE_KEY"
expect_err_has "and what a key is" "64 hex digits or the base64 of 32 bytes"
if grep -q "hunter2" "$T/err"; then not_ok "the error shows the key's value"
else ok "the error does not show the key's value"; fi

finish
