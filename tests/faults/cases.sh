# tests/faults/cases.sh: the fault suite's table, read by tests/faults/test-faults.sh.
#
#   row NAME field=value... -- COMMAND...
#
# COMMAND is an hb command line (via=hb), run by the library driver as well (via=both: the
# same `chat` arguments through tests/faults/fault-call), or a shell command (via=sh). The
# word @CHAT@ stands for `chat --provider openai --base-url @UP@/v1 -m gpt-4o-mini
# --api-key-env HB_FAULT_KEY`; @UP@, @UP2@, @KEY@, @KEYHEAD@, @CASE@, @SRC@, @BUILD@ and
# @DATE+N@ are replaced in the command and in the scripts (test-faults.sh: subst).
#
# Fields (all optional):
#   defect   the number of the defect of issue #13 the row checks ("-": a transport fault
#            that already held)
#   via      hb (default), both, sh
#   script   tests/faults/scripts/NAME.json for the fake upstream at @UP@; script2 for @UP2@
#   exit     the exit status: a number, '!0' or any (default 0)
#   class    the error class (hvb_status_name) the library run must report
#   err      an extended regex stderr must match (case-insensitive); noerr: must not match
#   out      an extended regex stdout must match
#   bound    seconds the run may take at most (valgrind adds its slack); min: at least
#   cache    the cache entries after the run; reqs, reqs2: requests the upstreams received
#   runs     how many times the command runs (default 1; the checks see the last run)
#   pre      a function run in the case's working directory before the command
#   check    a function run after it: returns non-zero and says why when the case failed
#   stdin    printf format of the command's standard input (default: empty)
#   env      VAR=VALUE words for the command; log: debug (default) or default (HB_LOG unset)
#   keylen   the length of the fake API key (default 200); ulimit: ulimit -f for the command
#   cwd      the working directory under the case's directory (default work)
# Every run also asserts that no 16-character piece of the key appears in stdout, stderr, the
# cache files or `hb spec` of the same setup.
#
# PENDING: rows waiting on a fix (their defect number is in the row) are listed in the table
# and not run; HB_FAULTS_PENDING=run runs them. Every fix of issue #13 has landed: none wait.
PENDING=""

# Functions the rows name (pre=, check=). They see $D (the case's directory), $W (its working
# directory), $UP and $UP2, $KEY, and the upstreams' request logs $D/up.log and $D/up2.log.

# The second upstream got no request carrying the key.
no_key_at_up2() {
  if grep -qF "$KEY" "$D/up2.log" 2>/dev/null; then echo "the key reached the second upstream"; return 1; fi
}

# ---- transport faults (held before issue #13) ------------------------------------------------
T_OPTS="-o temperature=0"

row t-429-retry-after-seconds via=both script=429-seconds exit=0 out='^fault-ok' min=0.9 bound=8 \
  cache=1 reqs=2 -- @CHAT@ $T_OPTS -o max_retries=2 hi
row t-429-retry-after-date via=both script=429-date exit=0 out='^fault-ok' min=0.5 bound=8 \
  cache=1 reqs=2 -- @CHAT@ $T_OPTS -o max_retries=2 hi
row t-5xx-then-success via=both script=5xx-then-ok exit=0 out='^fault-ok' bound=8 cache=1 reqs=3 \
  -- @CHAT@ $T_OPTS -o max_retries=2 hi
row t-5xx-retries-exhausted via=both script=503-always exit=1 class=HTTP err='503' bound=8 \
  cache=0 reqs=2 -- @CHAT@ $T_OPTS -o max_retries=1 hi
row t-connection-refused via=both exit=1 class=TRANSPORT err='127\.0\.0\.1:1' bound=8 cache=0 \
  -- chat --provider openai --base-url http://127.0.0.1:1/v1 -m gpt-4o-mini \
  --api-key-env HB_FAULT_KEY $T_OPTS -o max_retries=1 hi
row t-accept-never-answer via=both script=never-answers exit=1 class=TIMEOUT err='time' min=1.5 \
  bound=6 cache=0 reqs=1 -- @CHAT@ $T_OPTS -o timeout=2 -o max_retries=0 hi
row t-stall-after-headers via=both script=stall-after-headers exit=1 class=TIMEOUT err='idle' \
  bound=5 cache=0 -- @CHAT@ $T_OPTS -o idle_timeout=1 -o max_retries=0 --stream hi
row t-stall-mid-stream via=both script=stall-mid-stream exit=1 class=TIMEOUT err='idle' \
  out='Hel' bound=5 cache=0 reqs=1 -- @CHAT@ $T_OPTS -o idle_timeout=1 -o max_retries=1 --stream hi
row t-keepalive-comments-only via=both script=comments-only exit=1 class=TIMEOUT err='idle' \
  bound=5 cache=0 -- @CHAT@ $T_OPTS -o idle_timeout=1 -o max_retries=0 --stream hi
row t-truncated-stream via=both script=truncated-stream exit=1 class=TRUNCATED err='truncated' \
  out='Hel' bound=5 cache=0 reqs=1 -- @CHAT@ $T_OPTS -o max_retries=1 --stream hi
# The first event reaches the caller a second before the connection drops: never retried then.
row t-connection-dropped-mid-stream via=both script=dropped-mid-stream exit=1 class=TRUNCATED \
  err='closed mid-body' out='Hel' bound=5 cache=0 reqs=1 -- @CHAT@ $T_OPTS -o max_retries=1 --stream hi
row t-body-shorter-than-length via=both script=short-content-length exit=1 class=TRUNCATED \
  err='remaining' bound=8 cache=0 reqs=2 -- @CHAT@ $T_OPTS -o max_retries=1 hi
row t-one-byte-writes via=both script=one-byte-writes exit=0 out='^fault-ok$' bound=8 cache=1 \
  reqs=1 -- @CHAT@ $T_OPTS hi
row t-one-byte-writes-stream via=both script=one-byte-writes-sse exit=0 out='^Hello' bound=8 \
  cache=1 reqs=1 -- @CHAT@ $T_OPTS --stream hi
row t-300kb-of-headers via=both script=huge-headers exit=1 class=TRANSPORT bound=8 cache=0 \
  -- @CHAT@ $T_OPTS -o max_retries=0 hi
row t-redirect-key-not-following via=both script=redirect script2=ok exit=1 class=HTTP err='307' \
  bound=8 cache=0 reqs=1 reqs2=0 check=no_key_at_up2 -- @CHAT@ $T_OPTS hi
row t-gzip-not-asked-for via=both script=gzip exit=1 class=PARSE bound=8 cache=0 reqs=1 \
  -- @CHAT@ $T_OPTS hi

# ---- the defects of issue #13 (written against the behaviour the issue expects) -----------------

# The user layer sends the openai provider's key to @UP@.
user_config() {
  cat >"$HB_CONFIG_DIR/config.json" <<JSON
{"heavenbase": {"llm": {"providers": {"openai": {"base_url": "$UP/v1", "api_key_env": "HB_FAULT_KEY"}}}}}
JSON
}
# A project above the working directory ($D/proj/sub) whose config sends the key to @UP2@.
project_config() {
  user_config
  mkdir -p "$D/proj/.heavenbase"
  printf '{"heavenbase": {"llm": {"providers": {"openai": {"base_url": "%s/v1"}}}}}\n' "$UP2" \
    >"$D/proj/.heavenbase/config.json"
  chmod 600 "$D/proj/.heavenbase/config.json"
}
project_world_writable() { project_config && chmod 666 "$D/proj/.heavenbase/config.json"; }
project_other_owner() {
  [ "$(id -u)" = 0 ] || { echo "needs root to give the file to another user"; return 77; }
  project_config && chmod 644 "$D/proj/.heavenbase/config.json" &&
    chown nobody "$D/proj/.heavenbase/config.json"
}
project_trusted() { project_config && hb_plain cfg trust "$D/proj"; }

row d1-project-world-writable defect=1 script=ok script2=ok cwd=proj/sub pre=project_world_writable \
  exit=0 out='^fault-ok' err='\.heavenbase/config\.json' reqs=1 reqs2=0 \
  -- chat --provider openai -m gpt-4o-mini hi
row d1-project-other-owner defect=1 script=ok script2=ok cwd=proj/sub pre=project_other_owner \
  exit=0 out='^fault-ok' err='\.heavenbase/config\.json' reqs=1 reqs2=0 \
  -- chat --provider openai -m gpt-4o-mini hi
row d1-project-redirects-key-untrusted defect=1 script=ok script2=ok cwd=proj/sub \
  pre=project_config exit=any err='trust' reqs2=0 check=no_key_at_up2 \
  -- chat --provider openai -m gpt-4o-mini hi
row d1-project-trusted defect=1 script=ok script2=ok cwd=proj/sub pre=project_trusted exit=0 \
  out='^fault-ok' reqs=0 reqs2=1 -- chat --provider openai -m gpt-4o-mini hi

# The provider quotes the key in its error message; 350 bytes before it put a 164-character key
# across the end of the 512-byte message buffer.
row d2-key-echoed-164-chars defect=2 script=echo-key-at-boundary keylen=164 exit=1 err='401' \
  -- @CHAT@ -o max_retries=0 hi
row d2-key-echoed-500-chars defect=2 script=echo-key keylen=500 exit=1 err='401' \
  -- @CHAT@ -o max_retries=0 hi
row d2-key-head-echoed defect=2 script=echo-key-head exit=1 err='401' -- @CHAT@ -o max_retries=0 hi

user_timeout_null() { echo '{"heavenbase": {"llm": {"timeout": null}}}' >"$HB_CONFIG_DIR/config.json"; }
user_llm_string() { echo '{"heavenbase": {"llm": "fast"}}' >"$HB_CONFIG_DIR/config.json"; }
user_timeout_abc() { echo '{"heavenbase": {"llm": {"timeout": "abc"}}}' >"$HB_CONFIG_DIR/config.json"; }
user_cache_bad() { echo '{"heavenbase": {"llm": {"cache": {"max_bytes": "lots"}}}}' >"$HB_CONFIG_DIR/config.json"; }
timeout_unset() {
  if grep -q abc "$HB_CONFIG_DIR/config.json"; then echo "the bad value is still there"; return 1; fi
}
# The requests the upstream at @UP@ received, as path?query (the log also has the key).
up_requests() { sed -n 's/.*"path":"\([^"]*\)","query":"\([^"]*\)".*/\1?\2/p' "$D/up.log" | tr '\n' ' '; }
no_config_written() {
  if [ -e "$HB_CONFIG_DIR/config.json" ]; then echo "a config file was written"; return 1; fi
}
DEEP_KEY=heavenbase$(printf '.k%d' $(seq 1 39))

# A refused value leaves the default in force (timeout 600 s, 2 retries: three requests).
row d3-timeout-null-keeps-defaults defect=3 pre=user_timeout_null exit=0 out='"timeout":600' \
  -- spec --provider openai -m gpt-4o-mini --json
row d3-llm-string-keeps-defaults defect=3 script=5xx-then-ok pre=user_llm_string exit=0 \
  out='^fault-ok' err='heavenbase\.llm' reqs=3 -- @CHAT@ hi
row d3-cfg-set-wrong-type defect=3 exit=2 err='timeout' check=no_config_written \
  -- cfg set heavenbase.llm.timeout abc
row d3-cfg-unset-on-refused-file defect=3 pre=user_timeout_abc exit=0 check=timeout_unset \
  -- cfg unset heavenbase.llm.timeout
row d3-cfg-show-on-refused-file defect=3 pre=user_timeout_abc exit=0 out='heavenbase' -- cfg show
row d3-cfg-set-40-parts defect=3 exit=2 check=no_config_written -- cfg set "$DEEP_KEY" 1
row d3-bad-cache-setting-plain-chat defect=3 script=ok pre=user_cache_bad exit=0 out='^fault-ok' \
  reqs=1 -- @CHAT@ hi

row d4-retry-after-beyond-deadline defect=4 via=both script=429-huge-retry-after exit=1 \
  err='deadline' bound=15 cache=0 -- @CHAT@ -o timeout=5 hi
row d4-retries-within-deadline defect=4 script=429-retry-after-2 exit=1 bound=5 cache=0 \
  -- @CHAT@ -o timeout=2 -o max_retries=5 hi

# The wrongly typed reply is an error, and not cached: the second identical call is sent too.
row d5-content-number defect=5 via=both script=reply-content-number exit=1 class=PARSE \
  err='content' runs=2 reqs=2 cache=0 -- @CHAT@ -o temperature=0 hi
row d5-role-number defect=5 script=reply-role-number exit=1 err='role' runs=2 reqs=2 cache=0 \
  -- @CHAT@ -o temperature=0 hi
row d5-usage-string defect=5 script=reply-usage-string exit=1 err='usage' runs=2 reqs=2 cache=0 \
  -- @CHAT@ -o temperature=0 hi
row d5-stream-choices-string defect=5 via=both script=stream-choices-string exit=1 class=PARSE \
  err='choices' runs=2 reqs=2 cache=0 -- @CHAT@ -o temperature=0 --stream hi

row d6-stream-size-cap defect=6 via=both script=stream-3mb exit=1 class=TOO_LARGE bound=20 \
  cache=0 -- @CHAT@ -o temperature=0 -o max_response_bytes=1000000 --stream hi

# A 300 KB reply under `ulimit -f 100`: the cache write fails, the chat does not.
row d7-file-size-limit defect=7 script=big-reply ulimit=100 exit=0 out='^big-yyy' reqs=1 \
  -- @CHAT@ -o temperature=0 hi

query_kept() {
  grep -q '"path":"/v1/'"$1"'","query":"api-version=2024-02-01"' "$D/up.log" ||
    { echo "no request to /v1/$1?api-version=2024-02-01: $(up_requests)"; return 1; }
}
query_kept_openai() { query_kept chat/completions; }
query_kept_anthropic() { query_kept messages; }
row d8-query-in-base-url defect=8 script=ok exit=0 out='^fault-ok' check=query_kept_openai \
  -- chat --provider openai --base-url '@UP@/v1?api-version=2024-02-01' -m gpt-4o-mini \
  --api-key-env HB_FAULT_KEY hi
row d8-query-in-base-url-anthropic defect=8 script=anthropic-ok exit=0 out='^fault-ok' \
  check=query_kept_anthropic -- chat --provider anthropic --base-url '@UP@/v1?api-version=2024-02-01' \
  -m claude-x --api-key-env HB_FAULT_KEY hi

row d9-spec-userinfo defect=9 exit=0 -- spec --provider openai -m gpt-4o-mini \
  --base-url 'http://user:@KEY@@127.0.0.1:1/v1' --json
row d9-spec-query-key defect=9 exit=0 -- spec --provider openai -m gpt-4o-mini \
  --base-url 'http://127.0.0.1:1/v1?key=@KEY@' --json
row d9-log-query-key defect=9 script=ok exit=any -- chat --provider openai -m gpt-4o-mini \
  --base-url '@UP@/v1?key=@KEY@' hi

plugin_file_writable() {
  mkdir -p "$D/plugins" && cp "$HB_TEST_BUILDDIR/tests/gateways/.libs/hb-gateway-good.so" "$D/plugins/" &&
    chmod 666 "$D/plugins/hb-gateway-good.so"
}
plugin_dir_writable() {
  mkdir -p "$D/plugins" && cp "$HB_TEST_BUILDDIR/tests/gateways/.libs/hb-gateway-good.so" "$D/plugins/" &&
    chmod 644 "$D/plugins/hb-gateway-good.so" && chmod 777 "$D/plugins"
}
row d10-plugin-file-world-writable defect=10 pre=plugin_file_writable exit=0 \
  out='good +broken.*permissions|permissions' noout='good +loaded' \
  -- --gateway-path @CASE@/plugins gateways list --all
row d10-plugin-dir-world-writable defect=10 pre=plugin_dir_writable exit=0 \
  out='permissions' noout='good +loaded' -- --gateway-path @CASE@/plugins gateways list --all

# A NUL in a prompt: refused naming the offset, or sent whole.
nul_prompt_whole_or_refused() {
  if [ "$rc" = 2 ] && grep -qi offset "$D/err.1"; then return 0; fi
  if [ "$rc" = 0 ] && grep -qF 'a\u0000b' "$D/up.log"; then return 0; fi
  echo "exit $rc, and the request was: $(up_requests)"; return 1
}
nul_reply_whole() { cmp -s "$D/out.1" <(printf 'a\0b\n') || { echo "stdout: $(od -c "$D/out.1" | head -2)"; return 1; }; }
replacement_sent() {
  grep -qF "caf$(printf '\xef\xbf\xbd')" "$D/up.log" || { echo "no U+FFFD in: $(up_requests)"; return 1; }
}
valid_utf8_out() { iconv -f UTF-8 -t UTF-8 "$D/out.1" >/dev/null 2>&1 || { echo "stdout is not UTF-8"; return 1; }; }
row d11-nul-in-prompt defect=11 script=ok stdin='a\0b' exit=any check=nul_prompt_whole_or_refused \
  -- @CHAT@ -
row d11-nul-in-reply defect=11 script=reply-nul exit=0 check=nul_reply_whole -- @CHAT@ hi
row d11-invalid-utf8-prompt defect=11 script=ok stdin='caf\351' exit='!0' err='byte 3|offset 3' \
  reqs=0 -- @CHAT@ -
row d11-invalid-utf8-prompt-replaced defect=11 script=ok stdin='caf\351' exit=0 out='^fault-ok' \
  check=replacement_sent -- @CHAT@ -o invalid_utf8=replace -
row d11-invalid-utf8-reply-json defect=11 script=reply-bad-utf8 exit=0 check=valid_utf8_out \
  -- @CHAT@ --json hi

prompts_file() { printf 'a\nb\n' >"$D/prompts.txt"; }
damaged_cache() {
  mkdir -p "$HB_CACHE_DIR/llm-cache"
  printf 'this is not a database, it is much longer than a header of one hundred bytes %0100d' 0 \
    >"$HB_CACHE_DIR/llm-cache/cache.sqlite"
}
broken_dropin() { mkdir -p "$HB_CONFIG_DIR/catalog.d" && printf '{"providers": {"half": ' >"$HB_CONFIG_DIR/catalog.d/broken.json"; }
warned_once() {
  [ "$(grep -ci "$1" "$D/err.1")" = 1 ] || { echo "stderr names $1 $(grep -ci "$1" "$D/err.1") times"; return 1; }
}
cache_warned_once() { warned_once 'cache'; }
dropin_warned_once() { warned_once 'broken\.json'; }
row d12-embed-out-of-range defect=12 script=embed-out-of-range exit=0 noout='inf|nan' \
  -- embed --provider openai --base-url @UP@/v1 -m text-embedding-3-small --api-key-env HB_FAULT_KEY x
row d12-include-unknown-field defect=12 exit=2 err='nosuch' -- chat -p mock --include nosuch hi
row d12-tools-missing-file defect=12 exit='!0' err='nosuch\.json' noerr='expected a JSON array' \
  -- chat -p mock --tools @CASE@/nosuch.json hi
row d12-input-with-stream defect=12 pre=prompts_file exit=2 err='stream' \
  -- chat -p mock -i @CASE@/prompts.txt --stream
row d12-damaged-cache-warns-once defect=12 pre=damaged_cache log=default exit=0 out='^Mock reply' \
  check=cache_warned_once -- chat -p mock -o temperature=0 x
row d12-broken-dropin-warns-once defect=12 pre=broken_dropin log=default exit=0 out='^Mock reply' \
  check=dropin_warned_once -- chat -p mock hi

reference_png() { printf '\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\1\0\0\0\1\10\6\0\0\0\x1f\x15\xc4\x89\0\0\0\rIDATx\x9cc`\0\0\0\0\5\0\1\r\n-\xb4\0\0\0\0IEND\xaeB`\x82' >"$D/ref.png"; }
# Reference images reach the provider (for OpenAI: /images/edits), or the call is refused.
images_sent_or_refused() {
  [ "$rc" != 0 ] && return 0
  grep -q '"path":"/v1/images/edits"' "$D/up.log" ||
    { echo "exit 0 and no request to /v1/images/edits: $(up_requests)"; return 1; }
}
images_as_multipart() {
  grep '"path":"/v1/images/edits"' "$D/up.log" | grep -qi 'multipart/form-data' ||
    { echo "no multipart request to /v1/images/edits: $(up_requests)"; return 1; }
}
row d13-imagen-images-option defect=13 script=images pre=reference_png exit=any \
  check=images_sent_or_refused -- imagen --provider openai --base-url @UP@/v1 -m gpt-image-1 \
  --api-key-env HB_FAULT_KEY -o 'images=["@CASE@/ref.png"]' -O @CASE@/out.png "a mug"
row d13-imagen-edits-multipart defect=13 script=images pre=reference_png exit=0 \
  check=images_as_multipart -- imagen --provider openai --base-url @UP@/v1 -m gpt-image-1 \
  --api-key-env HB_FAULT_KEY --image @CASE@/ref.png -O @CASE@/out.png "a mug"

row d14-misspelt-gateway defect=14 exit='!0' err='did you mean' -- chat -p mock -g portky hi

body_lacks() {
  if grep -q "$1" "$D/up.log"; then echo "the request body has $1"; return 1; fi
  [ -s "$D/up.log" ] || { echo "no request"; return 1; }
}
no_repair_option_in_body() { body_lacks repair_tool_calls; }
no_include_in_body() { body_lacks '"include"'; }
row d15-library-option-not-sent defect=15 script=ok exit=0 out='^fault-ok' \
  check=no_repair_option_in_body -- @CHAT@ -o repair_tool_calls=false hi
row d15-imagen-arg-include-not-sent defect=15 script=images exit=0 check=no_include_in_body \
  -- imagen --provider openai --base-url @UP@/v1 -m dall-e-3 --api-key-env HB_FAULT_KEY \
  --arg include=raw -O @CASE@/out.png "a mug"

# tests/portkey/start.sh on a machine without the peers cache: where would npm put its cache?
# (fake node and npm record it; the build tree must stay clean for distcheck)
fake_npm() {
  mkdir -p "$D/bin"
  printf '#!/bin/sh\nexit 0\n' >"$D/bin/node"
  cat >"$D/bin/npm" <<'SH'
#!/bin/sh
cache=${npm_config_cache:-${NPM_CONFIG_CACHE:-$HOME/.npm}}
while [ $# -gt 0 ]; do case $1 in --cache) cache=$2; shift ;; --cache=*) cache=${1#--cache=} ;; esac; shift; done
echo "$cache" >"$FAULT_NPM_RECORD"
exit 1
SH
  chmod +x "$D/bin/node" "$D/bin/npm"
}
npm_cache_outside_build_tree() {
  local cache
  cache=$(cat "$D/npm-cache" 2>/dev/null) || { echo "npm was not run"; return 1; }
  case $(realpath -m "$cache")/ in
    "$(realpath -m "$HB_TEST_BUILDDIR")"/*) echo "npm's cache would be $cache, inside the build tree"; return 1 ;;
  esac
}
row d16-npm-cache-outside-build-tree defect=16 via=sh pre=fake_npm exit=any \
  check=npm_cache_outside_build_tree -- PATH=@CASE@/bin:\$PATH FAULT_NPM_RECORD=@CASE@/npm-cache \
  HB_PEERS_DIR=@CASE@/peers bash @SRC@/tests/portkey/start.sh @CASE@/portkey 18999
row d17-license-and-maintainer defect=17 via=sh exit=0 -- 'grep -q "Permission is hereby granted" @SRC@/LICENSE && ! grep -Eq "^Maintainer:.*example\.(org|com)" @SRC@/debian/control'
