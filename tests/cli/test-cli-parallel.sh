#!/bin/bash
# hb chat -i FILE --parallel N: one chat per line through the async engine, replies in order.
. "$(dirname "$0")/lib.sh"

for i in $(seq 1 100); do echo "prompt number $i"; done > "$T/prompts.txt"
for i in $(seq 1 100); do echo "Mock reply to: prompt number $i"; done > "$T/want.txt"

hb chat -p mock --parallel 32 -i "$T/prompts.txt"
expect_status "hb chat --parallel 32 -i succeeds" 0
if cmp -s "$T/out" "$T/want.txt"; then ok "one reply per line, in input order"
else not_ok "one reply per line, in input order"; fi
[ ! -s "$T/err" ] && ok "no progress bar when stderr is not a terminal" \
  || not_ok "no progress bar when stderr is not a terminal"

hb chat -p mock --parallel 4 -i "$T/prompts.txt" --json --include text,usage
expect_status "--json succeeds" 0
[ "$(wc -l < "$T/out")" = 100 ] && ok "--json prints one line per prompt" \
  || not_ok "--json prints one line per prompt"
head -1 "$T/out" | grep -qF '{"text":"Mock reply to: prompt number 1","usage":' \
  && ok "--json lines are the projected results" || not_ok "--json lines are the projected results"
sed -n 100p "$T/out" | grep -qF '"Mock reply to: prompt number 100"' \
  && ok "the last line is the last prompt's" || not_ok "the last line is the last prompt's"

printf 'a\n\nb\n' > "$T/blank.txt"
hb chat -p mock -i "$T/blank.txt"
expect_out "empty lines are skipped; -i alone runs one at a time" "Mock reply to: a
Mock reply to: b"

hb chat -p mock --parallel 2
expect_status "--parallel without -i is a usage error" 2
expect_err_has "which says what is missing" "--parallel needs -i FILE"

hb chat -p mock --parallel 0 -i "$T/prompts.txt"
expect_status "--parallel 0 is a usage error" 2

hb chat -p mock -i "$T/missing.txt"
expect_status "a missing prompts file fails" 1
expect_err_has "naming the file" "missing.txt"

# The README's example: 1,000 async chats against a loopback upstream, waited for.
start_upstream '{"routes": {"/v1/chat/completions": [{"repeat": true, "echo": true}]}}'
${HB_TEST_WRAPPER:-} "$HB_TEST_BUILDDIR/examples/async-chat" "$UP_URL/v1" 1000 >"$T/out" 2>"$T/err"
rc=$?
expect_out "examples/async-chat runs 1,000 chats to completion, each with its own reply, on one I/O thread" "threads while 1000 chats are in flight: 2
first reply: echo: question 0
1000 succeeded, 0 failed, 0 wrong replies"

finish
