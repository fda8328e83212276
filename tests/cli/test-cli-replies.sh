#!/bin/bash
# hb chat against replies that do not have the shape of the protocol (each is an HVB_PARSE
# error naming the member, never an empty success, and never cached), and the cache under a
# file-size limit (ulimit -f): the chat still answers, the cache is off with one warning.
. "$(dirname "$0")/lib.sh"

# esc TEXT: TEXT as the inside of a JSON string.
esc() { printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g'; }

# serve BODY...: a fake upstream whose chat path answers each request with the next BODY
# (JSON bodies; the last one repeats).
serve() {
  local list="" b
  for b in "$@"; do list="$list${list:+,}{\"body\": \"$(esc "$b")\"}"; done
  list="${list%\}}, \"repeat\": true}"
  rm -f "$T/port"
  start_upstream "{\"routes\": {\"/v1/chat/completions\": [$list]}}"
}
# serve_sse EVENT...: a fake upstream whose chat path answers with an event stream of the
# EVENTs (data payloads) and [DONE], for every request.
serve_sse() {
  local sse="" e
  for e in "$@" '[DONE]'; do sse="${sse}data: $(esc "$e")\\n\\n"; done
  rm -f "$T/port"
  start_upstream "{\"routes\": {\"/v1/chat/completions\": [{\"content_type\": \"text/event-stream\", \"body\": \"$sse\", \"repeat\": true}]}}"
}
requests() { wc -l < "$UP_LOG" | tr -d ' '; }
ask() { hb chat --provider openai --base-url "$UP_URL/v1" -m test-model -o max_retries=0 "$@"; }

good='{"choices":[{"index":0,"message":{"role":"assistant","content":"fine"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}'
reply() {  # reply MESSAGE_MEMBERS [TOP_LEVEL_MEMBERS]
  printf '{"choices":[{"index":0,"message":{%s},"finish_reason":"stop"}]%s}' "$1" "${2:+,$2}"
}

# ---- wrongly typed replies: exit 1, HVB_PARSE, the member named ----
# expect_parse DESCRIPTION PATH-AND-TYPES: the last command failed with HVB_PARSE naming it.
expect_parse() {
  if [ "$rc" = 1 ] && grep -qF "(HVB_PARSE)" "$T/err" && grep -qF -- "$2" "$T/err"; then
    ok "$1"
  else
    not_ok "$1 (want exit 1, HVB_PARSE and: $2)"
  fi
}

serve "$(reply '"role":"assistant","content":42')"
ask "hi"
expect_parse "content 42 is a parse error naming it" \
  "choices[0].message.content: expected a string, an array or null, got an integer"
serve "$(reply '"role":7,"content":"hello"')"
ask "hi"
expect_parse "role 7 is a parse error naming it" \
  "choices[0].message.role: expected a string or null, got an integer"
serve "$(reply '"role":"assistant","content":"hello"' '"usage":"lots"')"
ask "hi"
expect_parse "usage \"lots\" is a parse error naming it" \
  "usage: expected an object or null, got a string"
serve "$(reply '"role":"assistant","content":"x"' '"usage":{"total_tokens":"9"}')"
ask "hi"
expect_parse "a token count as a string is a parse error naming it" \
  "usage.total_tokens: expected a number or null, got a string"
serve '{"choices":"hello"}'
ask "hi"
expect_parse "choices as a string is a parse error" "choices: expected an array, got a string"
serve '{"choices":[{"index":0,"message":"hello","finish_reason":"stop"}]}'
ask "hi"
expect_parse "a message that is not an object is a parse error" \
  "choices[0].message: expected an object, got a string"
serve "$(reply '"role":"assistant","content":"x"')" # control: the same shape, well typed
ask "hi"
expect_out "a well-typed reply of the same shape answers" "x"
serve '{"choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":{"a":1}}}]},"finish_reason":"tool_calls"}]}'
ask "hi"
expect_parse "tool-call arguments as an object are a parse error" \
  "choices[0].message.tool_calls[0].function.arguments: expected a string or null, got an object"
serve '{"choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[{"id":5,"type":"function","function":{"name":"f","arguments":"{}"}}]},"finish_reason":"tool_calls"}]}'
ask "hi"
expect_parse "a tool-call id as a number is a parse error" \
  "choices[0].message.tool_calls[0].id: expected a string or null, got an integer"
serve '{"choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"arguments":"{}"}}]},"finish_reason":"tool_calls"}]}'
ask "hi"
expect_parse "a tool call without a function name is a parse error" \
  "choices[0].message.tool_calls[0].function.name: missing (expected a string)"

# ---- the same in a stream ----
serve_sse '{"choices":"hello"}'
ask --stream "hi"
expect_parse "choices as a string in a stream is a parse error" \
  "choices: expected an array or null, got a string"
serve_sse '{"choices":[{"index":0,"delta":{"role":"assistant","content":"a"}}]}' \
  '{"choices":[{"index":0,"delta":{"content":5},"finish_reason":null}]}'
ask --stream "hi"
expect_parse "a delta's content 5 is a parse error naming it" \
  "choices[0].delta.content: expected a string or null, got an integer"
serve_sse '{"choices":[{"index":0,"delta":"hello"}]}'
ask --stream "hi"
expect_parse "a delta that is not an object is a parse error" \
  "choices[0].delta: expected an object or null, got a string"
serve_sse '{"choices":[{"index":0,"delta":{"tool_calls":[{"index":"0","function":{"name":"f"}}]}}]}'
ask --stream "hi"
expect_parse "a tool-call fragment's index as a string is a parse error" \
  "choices[0].delta.tool_calls[0].index: expected an integer or null, got a string"
serve_sse '{"choices":[{"index":0,"delta":{"content":"ok"},"finish_reason":"stop"}]}' \
  '{"choices":[],"usage":"lots"}'
ask --stream "hi"
expect_parse "usage \"lots\" in a stream is a parse error" \
  "usage: expected an object or null, got a string"
serve_sse '{"choices":[{"index":0,"delta":{"role":"assistant","content":"ok"}}]}' \
  '{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}' \
  '{"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}'
ask --stream "hi"
expect_out "a well-typed stream answers (usage-only chunk, empty delta)" "ok"

# ---- nothing wrong is cached ----
# A wrongly typed reply at temperature 0, then the same call: it reaches the upstream.
serve "$(reply '"role":"assistant","content":42')" "$good"
ask -o temperature=0 "cache me"
expect_parse "the wrongly typed reply at temperature 0 fails" "choices[0].message.content"
ask -o temperature=0 "cache me"
expect_out "the same call again answers" "fine"
[ "$(requests)" = 2 ] && ok "and reached the upstream (2 requests)" ||
  not_ok "and reached the upstream (want 2 requests, got $(requests))"
ask -o temperature=0 "cache me"
expect_out "a third time it comes from the cache" "fine"
[ "$(requests)" = 2 ] && ok "without a request" || not_ok "without a request (got $(requests))"

# The same with a stream whose choices is a string.
serve_sse '{"choices":"hello"}'
ask --stream -o temperature=0 "stream cache"
expect_parse "a wrongly typed stream at temperature 0 fails" "choices"
ask --stream -o temperature=0 "stream cache"
expect_parse "and fails again" "choices"
[ "$(requests)" = 2 ] && ok "reaching the upstream again (2 requests)" ||
  not_ok "reaching the upstream again (want 2 requests, got $(requests))"

# An empty reply (well typed: content "") is answered but not stored.
serve "$(reply '"role":"assistant","content":""')" "$good"
ask -o temperature=0 "empty"
expect_status "an empty reply is not an error" 0
ask -o temperature=0 "empty"
expect_out "the next identical call is not served the empty answer" "fine"
[ "$(requests)" = 2 ] && ok "it reached the upstream (2 requests)" ||
  not_ok "it reached the upstream (want 2 requests, got $(requests))"

# ---- embeddings: a wrongly typed vector ----
rm -f "$T/port"
start_upstream '{"routes": {"/v1/embeddings": [{"repeat": true, "body": "{\"data\":[{\"index\":0,\"embedding\":[0.5,\"x\"]}]}"}]}}'
hb embed --provider openai --base-url "$UP_URL/v1" -m embed-test -o max_retries=0 "text"
expect_parse "a string inside an embedding is a parse error naming it" \
  "data[0].embedding[1]: expected a number, got a string"

# ---- a file-size limit (SIGXFSZ) only turns the cache off ----
# The fake echoes the prompt, so each reply (and its cache entry, about twice its size) is
# far over the limit; replies go to a pipe, which the limit does not cover.
rm -f "$T/port"
start_upstream '{"routes": {"/v1/chat/completions": [{"repeat": true, "echo": true}]}}'
for n in 1 2; do
  { printf 'p%s ' "$n"; head -c 200000 /dev/zero | tr '\0' 'a'; echo; } >> "$T/prompts"
done
# limited ARGS...: hb under `ulimit -f 96` (96 KiB), stdout through a pipe, each line of it
# cut to 40 characters. HB_LOG=warn: the warning is what is looked for.
limited() {
  # shellcheck disable=SC2086
  ( (ulimit -f 96 && HB_LOG=warn exec ${HB_TEST_WRAPPER:-} "$HB_BIN" "$@") 2>"$T/err"
    echo "rc=$?" ) | cut -c 1-40 > "$T/out.raw"
  rc=$(sed -n 's/^rc=//p' "$T/out.raw" | tail -n 1)
  grep -v '^rc=' "$T/out.raw" > "$T/out"
}
limited chat -i "$T/prompts" --provider openai --base-url "$UP_URL/v1" -m test-model \
  -o temperature=0 -o max_retries=0
[ "$rc" != 153 ] && ok "no death by SIGXFSZ" || not_ok "no death by SIGXFSZ (killed by signal 25)"
expect_status "the chats answer (exit 0)" 0
[ "$(wc -l < "$T/out")" = 2 ] && [ "$(cut -c 1-9 "$T/out" | sort | tr '\n' ' ')" = "echo: p1  echo: p2  " ] &&
  ok "both replies are printed" || not_ok "both replies are printed"
warnings=$(grep -c "warn" "$T/err")
[ "$warnings" = 1 ] && ok "with one warning" || not_ok "with one warning (got $warnings)"
expect_err_has "which says the cache is off" "the cache is off"
[ "$(requests)" = 2 ] && ok "both reached the upstream" || not_ok "both reached the upstream"
# Without the limit the cache works again (the file was not damaged).
hb chat --provider openai --base-url "$UP_URL/v1" -m test-model -o temperature=0 "small"
expect_out "without the limit the chat answers" "echo: small"
hb chat --provider openai --base-url "$UP_URL/v1" -m test-model -o temperature=0 "small"
expect_out "and is cached" "echo: small"
[ "$(requests)" = 3 ] && ok "once (3 requests)" || not_ok "once (want 3 requests, got $(requests))"

finish
