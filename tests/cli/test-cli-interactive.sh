#!/bin/bash
# The interactive hb chat (no prompt, a terminal on stdin), driven in tmux: streamed turns,
# multi-line input, /back, /save, a tool step run on the MCP reference server (--mcp), Ctrl-C
# during a slow reply, --session FILE.
. "$HB_TEST_SRCDIR/tests/cli/lib.sh"

command -v tmux >/dev/null 2>&1 || { echo "not ok - tmux is not installed (the README's apt-get line installs it)"; exit 1; }

# An OpenAI stream answering TEXT, as a script response; DELAY_MS before its end (slow reply).
sse() {  # TEXT [DELAY_MS]
  local c1 c2
  c1="data: {\\\"choices\\\":[{\\\"index\\\":0,\\\"delta\\\":{\\\"role\\\":\\\"assistant\\\",\\\"content\\\":\\\"$1\\\"},\\\"finish_reason\\\":null}]}\\n\\n"
  c2="data: {\\\"choices\\\":[{\\\"index\\\":0,\\\"delta\\\":{},\\\"finish_reason\\\":\\\"stop\\\"}],\\\"usage\\\":{\\\"prompt_tokens\\\":5,\\\"completion_tokens\\\":2,\\\"total_tokens\\\":7}}\\n\\ndata: [DONE]\\n\\n"
  printf '{"content_type": "text/event-stream", "chunked": true, "chunks": [{"data": "%s"}, {"data": "%s", "delay_ms": %s}]}' "$c1" "$c2" "${2:-0}"
}
# The tool the model asks for: echo of the MCP reference server (npm, tests/mcp/install.sh),
# run by hb as the turn goes on. A package build has no npm (HB_TEST_NO_NETWORK=1): there the
# step is a schema tool's, shown "(not run)".
MCP_ARGS=()
if [ "${HB_TEST_NO_NETWORK:-}" != 1 ]; then
  E=$(bash "$HB_TEST_SRCDIR/tests/mcp/install.sh" 2>"$T/install.err") ||
    { echo "not ok - the MCP reference server could not be installed (needs node and npm):"
      sed 's/^/  /' "$T/install.err"; exit 1; }
  MCP_ARGS=(--mcp "node $E stdio")
  TOOL=echo KEY=message STEP_SHOWN='STEP 1/20 echo(message="Paris") -> Echo: Paris' AFTER_TOOL="$(sse 'Echoed.'),"
else
  TOOL=get_weather KEY=city STEP_SHOWN='STEP 1/20 get_weather(city="Paris") -> (not run)' AFTER_TOOL=
fi
TOOL_SSE='{"content_type": "text/event-stream", "chunked": true, "chunks": [{"data": "data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"tool_calls\":[{\"index\":0,\"id\":\"call_p1\",\"type\":\"function\",\"function\":{\"name\":\"'$TOOL'\",\"arguments\":\"{\\\"'$KEY'\\\":\"}}]},\"finish_reason\":null}]}\n\ndata: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"\\\"Paris\\\"}\"}}]},\"finish_reason\":null}]}\n\ndata: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\ndata: [DONE]\n\n"}]}'
start_upstream "{\"routes\": {\"/v1/chat/completions\": [$(sse 'Reply one.'), $(sse 'Reply two.'), $TOOL_SSE, $AFTER_TOOL $(sse 'Slow start' 20000), $(sse 'Still here.'), $(sse 'Resumed.')]}}"
printf '[{"type": "function", "function": {"name": "get_weather", "description": "Weather of a city", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]' >"$T/tools.json"

SOCK="$T/tmux.sock"
tm() { tmux -S "$SOCK" "$@"; }
export HB_TEST_KEY=sk-test-interactive
tm new-session -d -x 160 -y 50 -s hb \
  "${HB_TEST_WRAPPER:-} $HB_BIN chat --provider openai -m gpt-4o-mini --base-url $UP_URL/v1 --api-key-env HB_TEST_KEY --tools $T/tools.json ${MCP_ARGS[*]@Q} --session $T/session.json 2>&1; echo EXITED-\$?; sleep 30"
pids="$pids $(tm display-message -p '#{pid}')"
screen() { tm capture-pane -p -J -S -2000 -t hb; }
# wait_for TEXT: poll the screen for TEXT (30 s at most: valgrind runs are slow).
wait_for() {
  local i=0
  while [ $i -lt "${WAIT_TENTHS:-300}" ]; do
    screen | grep -qF -- "$1" && return 0
    sleep 0.1; i=$((i + 1))
  done
  return 1
}
# step DESCRIPTION TEXT: the screen shows TEXT (else the screen is the failure's output).
step() {
  if wait_for "$2"; then ok "$1"; else screen >"$T/out"; : >"$T/err"; rc=1; not_ok "$1 (want on screen: $2)"; fi
}
# wait_file_has FILE TEXT: FILE holds TEXT within 30 s.
wait_file_has() {
  local i=0
  while [ $i -lt 300 ]; do
    grep -qF -- "$2" "$1" 2>/dev/null && return 0
    sleep 0.1; i=$((i + 1))
  done
  return 1
}
send() { tm send-keys -t hb -l -- "$1"; tm send-keys -t hb Enter; }

step "with no prompt on a terminal, hb chat starts a session" "/help for commands"
send "hello one"
step "turn 1 is streamed" "Reply one."
send 'hello \'
send "two"
step "a message over two lines (backslash at the end of the first) makes turn 2" "Reply two."
expect_request_has "the two lines were sent as one message" '"content":"hello \ntwo"'
send "/back"
step "/back drops the last turn" "(back: the last turn is dropped)"
send "/save $T/saved.json"
step "/save writes the session" "(saved to $T/saved.json)"
expect_true "the saved session holds turn 1" grep -q '"Reply one."' "$T/saved.json"
expect_true "and not the turn /back dropped" sh -c "! grep -q 'Reply two' '$T/saved.json'"
send "weather in Paris?"
step "a tool step is shown as it runs, with its result" "$STEP_SHOWN"
if [ -n "$AFTER_TOOL" ]; then
  step "the turn goes on with the tool's result" "Echoed."
  expect_request_has "the MCP tool's result reached the model" '"tool_call_id":"call_p1","content":"{\"text\":\"Echo: Paris\"}"'
fi
expect_request_lacks "the request after /back lacks the dropped turn" "Reply two."
send "slow one"
step "a slow reply starts streaming" "Slow start"
tm send-keys -t hb C-c
step "Ctrl-C cancels the reply in progress" "(cancelled: the turn is dropped)"
send "after cancel"
step "the session is still usable after Ctrl-C" "Still here."
expect_request_lacks "the cancelled turn is not sent again" "slow one"
expect_request_has "the turns before it are" '"content":"hello one"' '"content":"Reply one."'
expect_true "--session keeps the file up to date after each turn" grep -q '"Still here."' "$T/session.json"
send "/exit"
step "/exit leaves with status 0" "EXITED-0"
tm kill-session -t hb
tm new-session -d -x 160 -y 50 -s hb \
  "${HB_TEST_WRAPPER:-} $HB_BIN chat --provider openai -m gpt-4o-mini --base-url $UP_URL/v1 --api-key-env HB_TEST_KEY --session $T/session.json 2>&1; echo EXITED-\$?; sleep 30"
step "hb chat --session FILE resumes the saved session" "(loaded $T/session.json"
send "and now?"
step "and goes on with it" "Resumed."
expect_request_has "the resumed turn is sent with the whole saved conversation" \
  '"content":"hello one"' '"content":"after cancel"' '"content":"Still here."' '"content":"and now?"'
# The turn is over (saved) before Ctrl-D, so that it meets the prompt, not the reply; leaving
# writes the ledger and, under valgrind on a loaded machine, checks for leaks: 90 s at most.
expect_true "the resumed turn is saved" wait_file_has "$T/session.json" '"Resumed."'
tm send-keys -t hb C-d
WAIT_TENTHS=900 step "Ctrl-D leaves with status 0" "EXITED-0"

finish
