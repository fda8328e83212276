#!/bin/sh
# hvb_session (examples/session.c) against the fake upstream: a saved and loaded session sends
# turn 3 byte for byte as an unbroken one; back and clear; the context limit drops whole turns.
. "$HB_TEST_SRCDIR/tests/cli/lib.sh"

EX="$HB_TEST_BUILDDIR/examples/session"
answer() {  # TEXT: an OpenAI chat completion answering TEXT, as a script response
  printf '{"body": "{\\"choices\\":[{\\"index\\":0,\\"message\\":{\\"role\\":\\"assistant\\",\\"content\\":\\"%s\\"},\\"finish_reason\\":\\"stop\\"}],\\"usage\\":{\\"prompt_tokens\\":10,\\"completion_tokens\\":3,\\"total_tokens\\":13}}"}' "$1"
}
TOOL_CALL='{"body": "{\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"call_w1\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":\"{\\\"city\\\":\\\"Paris\\\"}\"}}]},\"finish_reason\":\"tool_calls\"}]}"}'
SCRIPT="{\"routes\": {\"/v1/chat/completions\": [$TOOL_CALL, $(answer 'It is 14 C in Paris.'), $(answer 'Yes, take a light coat.'), $(answer 'Goodbye!')]}}"
ex() { ${HB_TEST_WRAPPER:-} "$EX" "$@" >"$T/out" 2>"$T/err"; rc=$?; }
# A new fake upstream (with a fresh script): start_upstream waits for a new port file.
restart_upstream() { rm -f "$T/port"; start_upstream "$1"; }
body_of() { sed -n "${2}p" "$1" | sed 's/.*"body_sha256":"\([0-9a-f]*\)".*/\1/'; }

# 1. Unbroken: three turns, the first running the tool.
start_upstream "$SCRIPT"
ex "$UP_URL/v1" full
expect_out "three turns with one executable tool" "turn 1: It is 14 C in Paris.
turn 2: Yes, take a light coat.
turn 3: Goodbye!
history: user assistant tool assistant user assistant user assistant"
cp "$UP_LOG" "$T/unbroken.log"
expect_true "the unbroken run made 4 requests" test "$(wc -l <"$T/unbroken.log")" = 4
expect_request_has "turn 3's request holds the tool call, its result and turn 2" \
  '"tool_call_id":"call_w1"' '{\"city\":\"Paris\",\"temp_c\":14}' 'Yes, take a light coat.' \
  '"content":"You are a weather assistant."'

# 2. Saved after turn 2, loaded in a new process: turn 3's body is the same bytes.
restart_upstream "$SCRIPT"
ex "$UP_URL/v1" save "$T/s.json"
expect_out_has "turns 1 and 2 ran before the save" "turn 2: Yes, take a light coat."
expect_true "the saved session is JSON with its messages" grep -q '"heavenbase_session": 1' "$T/s.json"
ex "$UP_URL/v1" load "$T/s.json"
expect_out "the loaded session answers turn 3" "turn 3: Goodbye!
history: user assistant tool assistant user assistant user assistant"
u3=$(body_of "$T/unbroken.log" 4); l3=$(body_of "$UP_LOG" 4)
if [ -n "$u3" ] && [ "$u3" = "$l3" ]; then ok "turn 3's request body after save/load is byte for byte the unbroken run's"
else not_ok "turn 3's request body differs after save/load ($u3 vs $l3)"; fi
for i in 1 2 3; do
  if [ "$(body_of "$T/unbroken.log" "$i")" = "$(body_of "$UP_LOG" "$i")" ]; then ok "request $i identical too"
  else not_ok "request $i differs between the runs"; fi
done

# 3. back and clear, seen in the requests.
restart_upstream "{\"routes\": {\"/v1/chat/completions\": [{\"echo\": true, \"repeat\": true}]}}"
ex "$UP_URL/v1" edit
expect_out_has "back: turn 3 follows turn 1" "history: user assistant user assistant"
expect_out_has "a streamed turn hands its text out in pieces" "streaming: echo: And should I take a coat?"
expect_out_has "and its result is the whole reply" "turn 2 (streamed in 2 pieces): echo: And should I take a coat?"
expect_request_has "clear: the last request holds only the system prompt and its prompt" \
  '"messages":[{"role":"system","content":"You are a weather assistant."},{"role":"user","content":"And should I take a coat?"}]'
req3=$(sed -n 3p "$UP_LOG")
case "$req3" in
  *"What is the weather in Paris?"*"echo: What is the weather in Paris?"*"Thanks. Say goodbye."*)
    case "$req3" in *"coat"*) not_ok "back: the dropped turn was still sent: $req3" ;;
      *) ok "back: the request after back lacks the dropped turn and keeps turn 1" ;; esac ;;
  *) not_ok "back: unexpected third request: $req3" ;;
esac

# 4. Context limit: a small window drops the oldest turn (the tool call and its result with
# it), never part of a turn.
restart_upstream "$SCRIPT"
ex "$UP_URL/v1" context 175
expect_out_has "the session ran three turns in a small window" "turn 3: Goodbye!"
expect_out_has "turn 1 (with its tool pair) left the history" "history: user assistant user assistant"
expect_request_has "turn 3's request keeps turn 2 whole" '"content":"And should I take a coat?"' \
  'Yes, take a light coat.'
expect_request_lacks "turn 3's request has neither turn 1 nor half of its tool pair" \
  'What is the weather in Paris?' 'call_w1' '"role":"tool"'
req3=$(sed -n 3p "$UP_LOG")
case "$req3" in
  *'"tool_call_id":"call_w1"'*'"content":"And should I take a coat?"'*) ok "turn 2's request still had turn 1 and its tool pair" ;;
  *) not_ok "turn 2's request lost turn 1 too early: $req3" ;;
esac
ex "$UP_URL/v1" context 20
expect_status "a prompt that alone exceeds the window fails" 1
expect_true "...saying so" grep -q "does not fit in the context window of 20 tokens" "$T/err"

# 5. The same window with "context_strategy": "summarize": turn 1 is summarised by a call, and
# the summary replaces it as one turn.
restart_upstream "{\"routes\": {\"/v1/chat/completions\": [$TOOL_CALL, $(answer 'It is 14 C in Paris.'), $(answer 'Yes, take a light coat.'), $(answer 'The user asked about Paris: 14 C.'), $(answer 'Goodbye!')]}}"
ex "$UP_URL/v1" summary 175
expect_out_has "the summarising session ran three turns" "turn 3: Goodbye!"
expect_out_has "its history starts with the summary turn" "history: user assistant user assistant user assistant"
req4=$(sed -n 4p "$UP_LOG")
case "$req4" in
  *"Summarise this conversation"*"What is the weather in Paris?"*"It is 14 C in Paris."*) ok "the summary call reads the dropped turn" ;;
  *) not_ok "unexpected summary request: $req4" ;;
esac
expect_request_has "turn 3's request holds the summary turn, then turn 2" \
  '"content":"Summarise our conversation so far."},{"role":"assistant","content":"The user asked about Paris: 14 C."},{"role":"user","content":"And should I take a coat?"}'
expect_request_lacks "and no half of the summarised tool pair" 'call_w1' '"role":"tool"'

finish
