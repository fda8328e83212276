#!/bin/bash
# examples/export-multi: the documented program drives exported handles with its own multi loop.
. "$(dirname "$0")/lib.sh"

EXAMPLE="$HB_TEST_BUILDDIR/examples/export-multi"
start_upstream '{"routes": {"/v1/chat/completions": [{"repeat": true, "body": "{\"choices\": [{\"index\": 0, \"message\": {\"role\": \"assistant\", \"content\": \"canned answer\"}, \"finish_reason\": \"stop\"}]}"}]}}'
${HB_TEST_WRAPPER:-} "$EXAMPLE" "$UP_URL/v1" gpt-4o-mini 3 >"$T/out" 2>"$T/err"
rc=$?
expect_out "three exported handles run at once, each gets its reply" "0: canned answer
1: canned answer
2: canned answer"
${HB_TEST_WRAPPER:-} "$EXAMPLE" "$UP_URL/nothing" >"$T/out" 2>"$T/err"
rc=$?
expect_status "a reply without choices fails" 1
finish
