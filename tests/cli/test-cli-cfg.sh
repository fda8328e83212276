#!/bin/bash
# hb cfg: layered configuration from the command line.
. "$(dirname "$0")/lib.sh"

hb cfg get heavenbase.llm.default_preset
expect_out "the bundled default preset is chat" "chat"
hb cfg get heavenbase.llm.nope
expect_status "a missing key is exit 1" 1
expect_err_has "the missing key is named" "heavenbase.llm.nope"

hb cfg set heavenbase.llm.default_preset mock
expect_status "set succeeds" 0
hb cfg get heavenbase.llm.default_preset
expect_out "set is read back" "mock"
hb chat "x"
expect_out "the default preset from config is used" "Mock reply to: x"
if [ "$(stat -c %a "$HB_CONFIG_DIR/config.json")" = 600 ]; then ok "the user file has mode 0600"; else rc=0; not_ok "the user file has mode 0600"; fi

hb cfg set heavenbase.llm.max_retries 5
hb cfg show heavenbase.llm.max_retries
expect_out "numbers are stored as JSON numbers" "5"
hb cfg set heavenbase.test.flag true
hb cfg get heavenbase.test.flag
expect_out "booleans are stored as JSON" "true"
hb cfg set heavenbase.test.word 42 --string
hb cfg show heavenbase.test.word
expect_out "--string stores a string" '"42"'
hb cfg set heavenbase.test.obj '{"a":1,"b":[1,2]}'
hb cfg get heavenbase.test.obj.b
expect_out "objects are stored as JSON and reachable by dotted keys" "[1,2]"
hb cfg set heavenbase.test.obj.a.deeper 1
expect_status "setting below a non-object fails" 1

hb cfg unset heavenbase.test.flag
expect_status "unset succeeds" 0
hb cfg get heavenbase.test.flag
expect_status "an unset key is gone" 1
hb cfg unset heavenbase.test.flag
expect_status "unset of a missing key is exit 1" 1

mkdir -p "$T/work/proj/sub"
cd "$T/work/proj"
hb cfg set heavenbase.llm.default_preset chat --local
expect_status "--local writes the project file" 0
[ -f "$T/work/proj/.heavenbase/config.json" ] && ok "the project file is .heavenbase/config.json" || not_ok "the project file is .heavenbase/config.json"
cd sub
hb cfg get heavenbase.llm.default_preset
expect_out "the project layer is found from a subdirectory and wins over the user layer" "chat"
cd "$T/work"
hb cfg get heavenbase.llm.default_preset
expect_out "outside the project the user layer applies" "mock"

hb cfg set
expect_status "set without arguments is a usage error" 2
hb cfg set heavenbase.test.neg -1
hb cfg get heavenbase.test.neg
expect_out "a negative VALUE is a value, not an option" "-1"
hb cfg unset heavenbase.test.neg --string
expect_status "--string goes with set only" 2
expect_err_has "named" "unknown option '--string'"
hb cfg paths
expect_out_has "paths shows the user file" "$HB_CONFIG_DIR/config.json"


# ---- types and ranges of the keys the library reads (issue #13, defect 3) ----
# Before: every value below was written, and then broke every command or turned timeouts off.
cp "$HB_CONFIG_DIR/config.json" "$T/before.json"
hb cfg set heavenbase.llm.timeout abc
expect_status "a string timeout is refused as a usage error" 2
expect_err_has "naming the key and what it must be" "config key 'heavenbase.llm.timeout' must be a number of seconds from 0 to 10000000, not a string"
hb cfg set heavenbase.llm.timeout null
expect_status "a null timeout is refused" 2
hb cfg set heavenbase.llm.max_retries 1000
expect_status "retries out of range are refused" 2
expect_err_has "with the range" "must be an integer from 0 to 100, not 1000"
hb cfg set heavenbase.llm '"x"'
expect_status "heavenbase.llm as a string is refused" 2
hb cfg set heavenbase.llm.cache.policy weird
expect_status "an unknown cache policy is refused" 2
if cmp -s "$HB_CONFIG_DIR/config.json" "$T/before.json"; then ok "nothing refused was written"
else not_ok "nothing refused was written"; fi
hb cfg set heavenbase.llm.timeout 30
expect_status "a timeout in range is accepted" 0
hb cfg unset heavenbase.llm.timeout

deep=a; for _ in $(seq 39); do deep="$deep.b"; done
hb cfg set "$deep" 1
expect_status "a key of 40 parts is refused" 2
expect_err_has "naming the limit" "40 dotted parts, at most 16 allowed"
deep=a; for _ in $(seq 4999); do deep="$deep.b"; done
hb cfg set "$deep" 1
expect_status "a key of 5000 parts is refused" 2
if [ "$(stat -c %s "$HB_CONFIG_DIR/config.json")" -lt 10000 ]; then ok "and nothing large is written"
else not_ok "and nothing large is written"; fi
hb cfg set "heavenbase.$(printf 'x%.0s' $(seq 300))" 1
expect_status "a key of 311 bytes is refused" 2
expect_err_has "naming the length limit" "longer than the 256 allowed"

# A file written by hand (or by an older hb) with wrong types: every command still works, the
# defaults stay in force, and a warning names the file and the key, by default, once.
cat > "$HB_CONFIG_DIR/config.json" <<'JSON'
{"heavenbase": {"llm": {"default_preset": "mock", "timeout": "abc", "max_retries": null,
 "cache": {"policy": "weird", "enabled": "no"}}}}
JSON
hb spec --json
expect_status "a mistyped timeout no longer breaks hb spec" 0
expect_out_has "the default timeout stays" '"timeout":600'
expect_out_has "the default retries stay" '"max_retries":2'
expect_err_has "the warning names the file and the key" "config $HB_CONFIG_DIR/config.json: key 'heavenbase.llm.timeout' must be a number of seconds"
expect_err_has "and says what happens" "ignored, the default stays in force"
hb chat -o cache=false "x"
expect_out "a bad cache setting does not break a chat with the cache off" "Mock reply to: x"
n=$(grep -c "heavenbase.llm.cache.policy" "$T/err")
if [ "$n" = 1 ]; then ok "the warning is given once per process"; else not_ok "the warning is given once per process (got $n)"; fi
hb chat "x"
expect_out "nor a chat with the cache on (the default policy stays)" "Mock reply to: x"
hb cfg show
expect_status "cfg show works on the file" 0
hb cfg unset heavenbase.llm.timeout
expect_status "cfg unset works on the file" 0
hb cfg unset heavenbase.llm.max_retries
expect_status "and clears a null" 0
if grep -q '"timeout"\|"max_retries"' "$HB_CONFIG_DIR/config.json"; then not_ok "the bad keys are gone from the file"
else ok "the bad keys are gone from the file"; fi
HB_LOG=error hb spec
if [ -s "$T/err" ]; then not_ok "HB_LOG=error silences the warning"; else ok "HB_LOG=error silences the warning"; fi
echo '{"heavenbase": {"llm": "x"}}' > "$HB_CONFIG_DIR/config.json"
hb spec --json
expect_out_has "heavenbase.llm as a string keeps the default timeout" '"timeout":600'
expect_out_has "and the default retries" '"max_retries":2'
expect_err_has "with a warning naming it" "key 'heavenbase.llm' must be an object, not a string"
printf '{"a":%s1%s}' "$(printf '{"b":%.0s' $(seq 40))" "$(printf '}%.0s' $(seq 40))" > "$HB_CONFIG_DIR/config.json"
hb cfg show
expect_status "cfg show opens a file that an older hb wrote 40 levels deep" 0
hb spec
expect_status "and so do the other commands" 0
hb cfg unset a
expect_status "and cfg unset repairs it" 0

finish
