#!/bin/bash
# Shell completions: the script `hb completion bash` prints, loaded into an interactive bash,
# completes commands, presets (one added by hb cfg set too) and the loaded gateways.
. "$(dirname "$0")/lib.sh"

"$HB_BIN" completion bash > "$T/hb.bash"
rc=$?
expect_status "hb completion bash prints a script" 0
"$HB_BIN" completion zsh > "$T/_hb"
expect_true "hb completion zsh prints a #compdef script" grep -q '^#compdef hb' "$T/_hb"
hb cfg set heavenbase.llm.presets.my-local.model mock-1

# complete WORDS...: the candidates bash offers for the last word (may be ""), one per line,
# sorted, from `bash -i` with the script sourced, as a user's shell would run it.
complete_words() {
  local words="" w
  for w in "$@"; do words="$words $(printf '%q' "$w")"; done
  HB_BIN="$HB_BIN" bash --norc -i -c '
    . "$1"
    COMP_WORDS=("$HB_BIN" '"$words"')
    COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
    _hb
    printf "%s\n" "${COMPREPLY[@]}"' complete "$T/hb.bash" 2>/dev/null | sort > "$T/out"
  rc=0
}

complete_words ch
expect_out "hb ch<TAB> completes to chat" "chat"

complete_words do
expect_out "hb do<TAB> completes to doctor" "doctor"

complete_words chat -p ""
expect_out_has "hb chat -p <TAB> lists the bundled presets" "chat"
expect_out_has "and mock" "mock"
expect_out_has "and the preset added with hb cfg set" "my-local"

complete_words chat -g ""
expect_out_has "hb chat -g <TAB> lists the loaded gateways: openai" "openai"
expect_out_has "and the mock plugin" "mock"
complete_words --gateway-path "$HB_TEST_SRCDIR/tests/gateways/notelf" chat -g ""
expect_true "a broken plugin is not offered" test -z "$(grep -x notelf "$T/out")"

complete_words chat --str
expect_out "options complete from the option table" "--stream"

complete_words chat --include text,th
expect_out "--include completes the field after the comma" "text,think"

complete_words cfg ""
expect_out_has "cfg subcommands complete" "trust"

complete_words embed -m text-embedding-3-
expect_out_has "models complete" "text-embedding-3-small"

mkdir -p "$T/work/sub"; : > "$T/work/prompts.txt"
complete_words chat -i pro
expect_out "a file option completes file names" "prompts.txt"

finish
