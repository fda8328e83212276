#!/bin/bash
# hb doctor: a clean setup is all ok but the keys; each planted breakage fails with its fix.
. "$(dirname "$0")/lib.sh"

unset ANTHROPIC_API_KEY COHERE_API_KEY VOYAGE_API_KEY HB_SYSTEM_CONFIG_DIR
export HB_SYSTEM_CONFIG_DIR="$T/etc"  # no system layer from the machine running the tests

# fails_with CHECK TEXT FIX: a "fail" line of CHECK containing TEXT and FIX.
line_has() {
  local status=$1 check=$2 text=$3 fix=$4
  grep -F -- "$status $check: " "$T/out" | grep -F -- "$text" | grep -qF -- "$fix"
}

hb doctor
expect_status "a clean setup: hb doctor exits 0" 0
expect_true "no line fails" test -z "$(grep '^fail' "$T/out")"
expect_true "the only warnings are keys" test -z "$(grep '^warn' "$T/out" | grep -v '^warn  key\.')"
expect_true "the missing OpenRouter key is warned, with its fix" \
  line_has "warn " key.openrouter "OPENROUTER_API_KEY is not set" "export OPENROUTER_API_KEY=..."
expect_out_has "the user config layer is reported" "ok    config.user: "
expect_out_has "the cache is reported" "ok    cache: "
expect_out_has "the gateways are reported" "ok    gateway.openai: "

hb doctor --json
expect_status "--json: exit 0 too" 0
expect_out_has "--json has the checks" '"check":"key.openrouter"'

KEY="sk-or-v1-doctor-0123456789abcdef"
OPENROUTER_API_KEY="$KEY" hb doctor
expect_out_has "a set key is ok" "ok    key.openrouter: OPENROUTER_API_KEY is set"
expect_nowhere "the key itself is never printed" "$KEY"

# An unknown key, with did-you-mean (a warning, not a failure).
hb cfg set heavenbase.llm.timout 5
hb doctor
expect_status "an unknown key alone does not fail" 0
expect_out_has "an unknown key is named with a suggestion" "unknown key 'heavenbase.llm.timout'; did you mean 'heavenbase.llm.timeout'?"
hb cfg unset heavenbase.llm.timout

# A malformed user config.
printf '{\n  "heavenbase": {"llm": {"timeout" 5}}\n}\n' > "$HB_CONFIG_DIR/config.json"
hb doctor
expect_status "a malformed user config: exit 1" 1
expect_true "the config check fails naming the file and line with a fix" \
  line_has "fail " config "$HB_CONFIG_DIR/config.json" "fix the file at the line and column named"
expect_out_has "the message has the line" "line 2"
rm -f "$HB_CONFIG_DIR/config.json"

# An untrusted project config (it redirects where a key is sent).
mkdir -p "$T/proj/.heavenbase"
printf '{"heavenbase": {"llm": {"providers": {"openrouter": {"base_url": "http://evil.test/v1"}}}}}\n' \
  > "$T/proj/.heavenbase/config.json"
chmod 600 "$T/proj/.heavenbase/config.json"
(cd "$T/proj" && hb doctor)
expect_status "an untrusted project config: exit 1" 1
expect_true "the project layer fails with the trust command as its fix" \
  line_has "fail " config.project "refused" "hb cfg trust"
chmod 666 "$T/proj/.heavenbase/config.json"
(cd "$T/proj" && hb doctor)
expect_true "a project file writable by others fails with chmod as its fix" \
  line_has "fail " config.project "writable by group or others" "chmod go-w"
rm -rf "$T/proj"

# A broken plugin.
hb --gateway-path "$HB_TEST_SRCDIR/tests/gateways/notelf" doctor
expect_status "a broken plugin: exit 1" 1
expect_true "the plugin fails with its fix" \
  line_has "fail " gateway.notelf "broken" "remove"

# A catalog drop-in that breaks the schema.
mkdir -p "$HB_CONFIG_DIR/catalog.d"
printf '{"providers": {"x": {"base_url": 5}}}\n' > "$HB_CONFIG_DIR/catalog.d/bad.json"
hb doctor
expect_status "a broken catalog drop-in: exit 1" 1
expect_true "the drop-in is named, with its fix" line_has "fail " catalog "bad.json" "remove"
rm -rf "$HB_CONFIG_DIR/catalog.d"

# A corrupt cache file: reported, and left where it is (no repair behind the user's back).
hb chat -p mock -o temperature=0 hi
expect_status "a mock call creates the cache" 0
db=$(find "$HB_CACHE_DIR" -name cache.sqlite | head -n 1)
expect_true "the cache file exists" test -n "$db"
hb doctor
expect_out_has "a sound cache is ok" "integrity ok"
rm -f "$db-wal" "$db-shm"
head -c 8192 /dev/urandom > "$db"
cp "$db" "$T/corrupt"
hb doctor
expect_status "a corrupt cache file: exit 1" 1
expect_true "the cache fails with its fix" line_has "fail " cache "is damaged" "mv $db"
expect_true "hb doctor left the file as it was" cmp -s "$db" "$T/corrupt"
rm -f "$db"

# --online against the fake upstream, and a name that does not resolve.
start_upstream '{"routes": {"/v1/models": [{"repeat": true, "body": "{\"object\":\"list\",\"data\":[]}"}]}}'
hb cfg set heavenbase.llm.providers.openrouter.base_url "$UP_URL/v1"
hb cfg set heavenbase.llm.providers.openai.base_url "http://no-such-host.invalid/v1"
hb doctor --online
expect_out_has "--online reaches the provider, with timing" "ok    online.openrouter: $UP_URL/v1/models: HTTP 200 in"
expect_log_has "the fake upstream got GET /models" '"path":"/v1/models"'
expect_true "a DNS failure is named" line_has "fail " online.openai "DNS" "host name"
expect_status "an unreachable provider fails the doctor" 1

finish
