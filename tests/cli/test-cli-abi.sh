#!/bin/bash
# Gateway ABI 1.1 as a user sees it: a lookup opens one plugin file (strace), the mock works
# with no plugin file at all, a plugin logs through the host table, a plugin built against
# ABI 1.0 still loads and works, one built against a newer minor is refused at stage "abi", and our
# plugins need no hvb_* symbol from the process.
. "$(dirname "$0")/lib.sh"

FIX="$HB_TEST_BUILDDIR/tests/gateways/.libs"
ABI10="$HB_TEST_BUILDDIR/tests/gateways/abi-1.0/.libs"
MOCK_SO="$HB_TEST_BUILDDIR/plugins/mock/.libs/hb-gateway-mock.so"

# The plugin files (distinct paths) a traced hb opened, one a line, in $T/opened.
opened_plugins() {
  grep -o 'hb-gateway-[^"]*\.so' "$T/trace" >/dev/null 2>&1 || { : > "$T/opened"; return; }
  grep -v ' = -1 ' "$T/trace" | grep -o '"[^"]*hb-gateway-[^"]*\.so"' | sort -u > "$T/opened"
}

# ---- lazy loading: a lookup by name opens that name's file only ----
# Not under the valgrind wrapper: strace follows hb itself (-f: libtool's wrapper script execs
# the real program). The fixtures' directory comes first: its nine files (broken ones among
# them) must not be opened for a lookup of "mock".
# LeakSanitizer stops the process it checks with ptrace, which strace already holds: under the
# sanitizer build these traced runs check for leaks off (the untraced runs below keep it on).
traced() {
  ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
    strace -f -qq -e trace=openat -o "$T/trace" "$HB_BIN" --gateway-path "$FIX" "$@"
}
if ! command -v strace >/dev/null 2>&1; then
  rc=127; not_ok "strace is installed (.ci/run and the README's quick start install it)"
else
  traced chat -p mock -g mock \
    "hi" >"$T/out" 2>"$T/err"
  rc=$?
  expect_out "hb chat -g mock under strace answers" "Mock reply to: hi"
  opened_plugins
  if [ "$(wc -l < "$T/opened")" -eq 1 ] && grep -qF "\"$MOCK_SO\"" "$T/opened"; then
    ok "hb chat -g mock opens exactly one plugin file, the mock's"
  else
    not_ok "hb chat -g mock opens exactly one plugin file, the mock's (opened: $(tr '\n' ' ' < "$T/opened"))"
  fi
  traced chat -p mock "hi" \
    >"$T/out" 2>"$T/err"
  rc=$?
  opened_plugins
  if [ "$rc" = 0 ] && [ "$(wc -l < "$T/opened")" -eq 1 ]; then
    ok "so does the mock preset without -g"
  else not_ok "so does the mock preset without -g (opened: $(tr '\n' ' ' < "$T/opened"))"; fi
  traced gateways list --all \
    >"$T/out" 2>"$T/err"
  rc=$?
  opened_plugins
  if [ "$rc" = 0 ] && [ "$(wc -l < "$T/opened")" -ge 10 ] &&
     grep -q 'hb-gateway-nosym.so' "$T/opened" && grep -q 'hb-gateway-anthropic.so' "$T/opened"; then
    ok "only hb gateways list --all opens every file"
  else not_ok "only hb gateways list --all opens every file (opened: $(tr '\n' ' ' < "$T/opened"))"; fi
fi

# ---- the mock is built in: no plugin file anywhere ----
mkdir -p "$T/empty1" "$T/empty2"
HB_GATEWAY_PATH="$T/empty1:$T/empty2" hb chat -p mock "hi"
expect_out "with every plugin file removed, hb chat -p mock works" "Mock reply to: hi"
HB_GATEWAY_PATH="$T/empty1:$T/empty2" hb chat -p mock --stream "one two"
expect_out "and streams" "Mock reply to: one two"
HB_GATEWAY_PATH="$T/empty1:$T/empty2" hb gateways list
if grep -q '^mock .*offline  *built in$' "$T/out"; then ok "hb gateways list shows the built-in mock"
else not_ok "hb gateways list shows the built-in mock"; fi
HB_GATEWAY_PATH="$T/empty1:$T/empty2" hb spec -p mock --json
expect_out_has "hb spec uses the mock gateway, not the openai fallback" '"gateway":"mock"'
hb gateways list --all
expect_out_has "with the plugin file present, the file wins and the built-in is a duplicate" \
  "the built-in copy is not used"

# ---- a plugin logs through the host table ----
start_upstream '{"routes": {
  "/ok/v1/messages": [{"repeat": true, "body":
    "{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5\",\"content\":[{\"type\":\"text\",\"text\":\"Hi from Claude\"}],\"stop_reason\":\"end_turn\",\"stop_sequence\":null,\"usage\":{\"input_tokens\":3,\"output_tokens\":4}}"}],
  "/busy/v1/messages": [{"repeat": true, "status": 529, "body":
    "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded right now\"}}"}],
  "/oa/v1/chat/completions": [{"repeat": true, "body":
    "{\"id\":\"c1\",\"object\":\"chat.completion\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"Hello through ABI 1.0\"},\"finish_reason\":\"stop\"}]}"}],
  "/limited/v1/chat/completions": [{"repeat": true, "status": 429, "body":
    "{\"error\":{\"message\":\"Rate limit reached for requests\",\"type\":\"requests\",\"code\":\"rate_limit_exceeded\"}}"}]
}}'
HB_LOG=debug hb chat -g anthropic --base-url "$UP_URL/ok/v1" -m claude-sonnet-4-5 -o seed=7 "hi"
expect_out "an anthropic chat with a seed answers" "Hi from Claude"
expect_err_has "and at HB_LOG=debug the plugin's own line says what it dropped" \
  'anthropic: dropped request arguments the Messages API does not take: ["seed"]'
hb chat -g anthropic --base-url "$UP_URL/ok/v1" -m claude-sonnet-4-5 -o seed=7 "hi"
if grep -q "dropped request arguments" "$T/err"; then not_ok "without HB_LOG=debug it says nothing"
else ok "without HB_LOG=debug it says nothing"; fi
hb chat -g anthropic --base-url "$UP_URL/busy/v1" -m claude-sonnet-4-5 -o max_retries=0 "hi"
expect_status "an Anthropic error status fails the chat" 1
expect_err_has "with the message the anthropic plugin read from the body" "HTTP 529 from"
expect_err_has "that is, Anthropic's own message" "Overloaded right now"

# ---- a plugin built against ABI 1.0 ----
hb gateways check "$ABI10/hb-gateway-abi10.so"
expect_status "the 1.0 fixture passes hb gateways check" 0
expect_out_has "and loads as ABI 1.0" "loaded: gateway 'abi10' 1.0.0 (ABI 1.0)"
if nm -D --undefined-only "$ABI10/hb-gateway-abi10.so" | grep -q ' hvb_openai_prepare$'; then
  ok "it calls the library through exported symbols (1.0 has no host table)"
else not_ok "it calls the library through exported symbols (1.0 has no host table)"; fi
export OPENAI_API_KEY="sk-test-abi10-0123456789"
hb --gateway-path "$ABI10" chat -g abi10 --provider openai --base-url "$UP_URL/oa/v1" -m gpt-x "hi"
expect_out "a chat through the 1.0 plugin works" "Hello through ABI 1.0"
grep -q '"x-abi10":"openai"' "$UP_LOG" && ok "its prepare ran (its header reached the server)" ||
  not_ok "its prepare ran (its header reached the server)"
hb --gateway-path "$ABI10" chat -g abi10 --provider openai --base-url "$UP_URL/limited/v1" -m gpt-x -o max_retries=0 "hi"
expect_status "an error status through the 1.0 plugin fails the chat" 1
expect_err_has "and its body is read the OpenAI way, as before 1.1" "Rate limit reached for requests"
HB_TEST_ABI10_INIT_FAIL=1 hb gateways check "$ABI10/hb-gateway-abi10.so"
expect_status "a 1.0 plugin whose init fails is refused" 1
expect_out_has "at stage init with its message (init was called the 1.0 way)" \
  "broken at stage init: abi10: init was asked to fail"

# ---- a plugin built against a newer minor (1.3) ----
if nm -D --undefined-only "$FIX/hb-gateway-minor.so" | grep -q ' hvb_gateway_from_the_future$'; then
  ok "the 1.3 fixture needs a host function this library lacks"
else not_ok "the 1.3 fixture needs a host function this library lacks"; fi
hb gateways check "$FIX/hb-gateway-minor.so"
expect_status "hb gateways check refuses it" 1
expect_out_has "at stage abi, saying it needs a newer library (not a dlopen error)" \
  "incompatible at stage abi: built for ABI 1.3, which needs a newer HeavenBase library (this one has ABI 1.2)"
hb --gateway-path "$FIX" chat -p mock -g minor "hi"
expect_err_has "hb chat falls back and says why" "gateway 'minor' cannot be used"

# ---- our plugins call the library only through the host table ----
for so in "$HB_TEST_BUILDDIR"/plugins/*/.libs/hb-gateway-*.so; do
  undef=$(nm -D --undefined-only "$so" | awk '{print $2}' | grep '^hvb_' | tr '\n' ' ')
  if [ -z "$undef" ]; then ok "$(basename "$so") needs no hvb_* symbol from the process"
  else rc=0; not_ok "$(basename "$so") needs no hvb_* symbol from the process (it needs: $undef)"; fi
done

finish
