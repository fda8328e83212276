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

finish
