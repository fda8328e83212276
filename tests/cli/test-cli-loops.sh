#!/bin/bash
# The engine on the program's own loop (async.h: hvb_engine_fd / _timeout / _dispatch):
# examples/epoll-loop (a plain epoll set) and examples/uv-loop (libuv's uv_poll_t and
# uv_timer_t) each run 1,000 chats against the echoing fake upstream, every one with its own
# reply, with no library engine thread.
. "$(dirname "$0")/lib.sh"

start_upstream '{"routes": {"/v1/chat/completions": [{"repeat": true, "echo": true}]}}'
# Under valgrind fewer chats, the same checks.
N=1000
[ -n "${HB_TEST_WRAPPER:-}" ] && N=50

${HB_TEST_WRAPPER:-} "$HB_TEST_BUILDDIR/examples/epoll-loop" "$UP_URL/v1" $N >"$T/out" 2>"$T/err"
rc=$?
expect_status "examples/epoll-loop succeeds" 0
expect_out "examples/epoll-loop runs $N chats on its own epoll loop, each with its own reply, no library thread" "library engine threads: 0
$N succeeded, 0 failed, 0 wrong replies"

if [ -x "$HB_TEST_BUILDDIR/examples/uv-loop" ]; then
  ${HB_TEST_WRAPPER:-} "$HB_TEST_BUILDDIR/examples/uv-loop" "$UP_URL/v1" $N >"$T/out" 2>"$T/err"
  rc=$?
  expect_status "examples/uv-loop succeeds" 0
  expect_out "examples/uv-loop runs $N chats on a libuv loop, each with its own reply, no library thread" "library engine threads: 0
$N succeeded, 0 failed, 0 wrong replies"
else
  not_ok "examples/uv-loop was not built: install libuv1-dev (Debian) and run ./configure again"
fi

finish
