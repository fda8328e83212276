#!/bin/bash
# hb: version, help, usage errors, and chats on the offline mock preset.
. "$(dirname "$0")/lib.sh"

hb --version
expect_out_has "--version names the tool and library" "libheavenbase"
hb help
expect_out_has "help lists the chat command" "chat"
hb help chat
expect_out_has "help chat shows its usage" "usage: hb chat"
hb chat --help
expect_out_has "chat --help shows its usage" "--include FIELDS"
hb frobnicate
expect_status "an unknown command is a usage error" 2
expect_err_has "an unknown command is named" "unknown command 'frobnicate'"
hb chat -p mock --bogus "hi"
expect_status "an unknown option is a usage error" 2
hb chat -p mock "one" "two"
expect_status "two prompts are a usage error" 2

# One option table for every command: an option a command does not take is exit 2, named.
for cmd in "chat -p mock" "imagen -g mock" "embed -p mock" "spec" "cfg show" "cfg set" "cfg unset" \
  "cache stats" "gateways list" "gateways info" "repair"; do
  hb $cmd --bogus x
  expect_status "hb $cmd: an unknown option is exit 2" 2
  expect_err_has "hb $cmd: naming the option" "unknown option '--bogus'"
  expect_err_has "hb $cmd: with a pointer to the help" "Try 'hb help ${cmd%% *}'"
done
hb embed -p mock --stream x
expect_status "an option of another command (embed --stream) is exit 2" 2
expect_err_has "named as unknown" "unknown option '--stream'"
hb chat -p mock -Z x
expect_status "an unknown letter is exit 2" 2
expect_err_has "named" "unknown option '-Z'"
hb --bogus chat x
expect_status "an unknown option before the command is exit 2" 2
expect_err_has "named" "unknown option '--bogus'"
hb chat -p mock --json=yes x
expect_status "a value given to a flag is exit 2" 2
expect_err_has "saying so" "option '--json' takes no value"
hb chat -p mock x -s
expect_status "an option without its value is exit 2" 2
expect_err_has "naming it" "option '-s' needs a value"

# -o is KEY=VALUE across hb: without '=' it is a usage error naming the option.
hb chat -p mock -o temperature "x"
expect_status "hb chat -o without '=' is exit 2" 2
expect_err_has "naming -o and the value" "option -o wants KEY=VALUE, got 'temperature'"
hb embed -p mock -o out.txt "x"
expect_status "hb embed -o without '=' is exit 2" 2
expect_err_has "naming -o and the value" "option -o wants KEY=VALUE, got 'out.txt'"
expect_true "and no file is written" [ ! -e out.txt ]
hb chat -p mock --option=temperature=0 --system=Brief --include=messages "x"
expect_out_has "--name=VALUE forms work" '"content":"Brief"'
hb chat -p mock -sBrief --include messages "x"
expect_out_has "and -xVALUE" '"content":"Brief"'
hb chat -p mock -- --not-an-option
expect_out "after -- an argument is the prompt, dashes and all" "Mock reply to: --not-an-option"

hb chat -p mock "Hello there"
expect_out "a mock chat prints the deterministic reply" "Mock reply to: Hello there"
hb_in "From stdin" chat -p mock -
expect_out "'-' reads the prompt from stdin" "Mock reply to: From stdin"
hb_in "" chat -p mock
expect_status "an empty prompt is a usage error" 2
hb chat -p mock --stream "Stream me"
expect_out "a streamed mock chat prints the same text" "Mock reply to: Stream me"
hb chat -p mock --include usage "a b c"
expect_out_has "--include usage prints the usage object" '"total_tokens"'
hb chat -p mock --include text,usage --json "x"
expect_out_has "several fields give an object" '"text":"Mock reply to: x"'
hb chat -p mock --include nonsense "x"
expect_status "an unknown include field is a usage error" 2
expect_err_has "the unknown field is named" "unknown field 'nonsense'"
hb chat -p mock --include "text, usage" "x"
expect_out_has "a space after the comma is fine" '"total_tokens"'
hb chat -p mock --tools "$T/no-such-tools.json" "x"
expect_status "--tools naming a missing file is a usage error" 2
expect_err_has "saying it cannot be read, not that it is no array" "cannot read it: No such file"
printf '[{' > "$T/half.json"
hb chat -p mock --tools "$T/half.json" "x"
expect_err_has "a file that is not JSON is named as such" "not JSON"
printf 'a\nb\n' > "$T/prompts.txt"
hb chat -p mock -i "$T/prompts.txt" --stream
expect_status "-i with --stream is refused, not ignored" 2
expect_err_has "saying why" "--stream takes one prompt"
hb chat -p mock --stream --json "a b"
expect_out_has "--stream --json prints JSON deltas" '{"text":'
hb chat -p mock -s "Be brief" --include messages "hi"
expect_out_has "the system prompt is in the messages" '"role":"system"'

hb chat -p chta "hi"
expect_status "an unknown preset fails with exit 1" 1
expect_err_has "the unknown preset gets a suggestion" "did you mean 'chat'"


# Warnings the user must act on show without HB_LOG, once per process.
mkdir -p "$HB_CONFIG_DIR/catalog.d"
printf '{"providers": {"half": ' > "$HB_CONFIG_DIR/catalog.d/broken.json"
hb chat -p mock "hi"
expect_out "a broken catalog drop-in does not stop the chat" "Mock reply to: hi"
expect_err_has "and is named on stderr without HB_LOG" "catalog drop-in skipped"
expect_true "once" [ "$(grep -c 'broken.json' "$T/err")" = 1 ]
HB_LOG=off hb chat -p mock "hi"
expect_true "HB_LOG=off silences it" [ ! -s "$T/err" ]
rm -f "$HB_CONFIG_DIR/catalog.d/broken.json"
mkdir -p "$HB_CACHE_DIR/llm-cache"
printf 'this is not a database, it is much longer than a header of one hundred bytes %0100d' 0 \
  > "$HB_CACHE_DIR/llm-cache/cache.sqlite"
hb chat -p mock -o temperature=0 "cached?"
expect_out "a damaged cache does not stop the chat" "Mock reply to: cached?"
expect_err_has "and the user is told, without HB_LOG" "cache database"

finish
