# tests/faults/cases.sh: the fault suite's table, read by tests/faults/test-faults.sh.
#
#   row NAME field=value... -- COMMAND...
#
# COMMAND is an hb command line (via=hb), run by the library driver as well (via=both: the
# same `chat` arguments through tests/faults/fault-call), or a shell command (via=sh). The
# word @CHAT@ stands for `chat --provider openai --base-url @UP@/v1 -m gpt-4o-mini
# --api-key-env HB_FAULT_KEY`; @UP@, @UP2@, @KEY@, @KEYHEAD@, @CASE@, @SRC@, @BUILD@ and
# @DATE+N@ are replaced in the command and in the scripts (test-faults.sh: subst).
#
# Fields (all optional):
#   defect   the number of the defect of issue #13 the row checks ("-": a transport fault
#            that already held)
#   via      hb (default), both, sh
#   script   tests/faults/scripts/NAME.json for the fake upstream at @UP@; script2 for @UP2@
#   exit     the exit status: a number, '!0' or any (default 0)
#   class    the error class (hvb_status_name) the library run must report
#   err      an extended regex stderr must match (case-insensitive); noerr: must not match
#   out      an extended regex stdout must match
#   bound    seconds the run may take at most (valgrind adds its slack); min: at least
#   cache    the cache entries after the run; reqs, reqs2: requests the upstreams received
#   runs     how many times the command runs (default 1; the checks see the last run)
#   pre      a function run in the case's working directory before the command
#   check    a function run after it: returns non-zero and says why when the case failed
#   stdin    printf format of the command's standard input (default: empty)
#   env      VAR=VALUE words for the command; log: debug (default) or default (HB_LOG unset)
#   keylen   the length of the fake API key (default 200); ulimit: ulimit -f for the command
#   cwd      the working directory under the case's directory (default work)
# Every run also asserts that no 16-character piece of the key appears in stdout, stderr, the
# cache files or `hb spec` of the same setup.
#
# PENDING: rows that wait on a fix of issue #13 (their defect number is in the row). They are
# listed in the table and not run; HB_FAULTS_PENDING=run runs them. Emptied once the fixes are
# merged.
PENDING=""

# Functions the rows name (pre=, check=). They see $D (the case's directory), $W (its working
# directory), $UP and $UP2, $KEY, and the upstreams' request logs $D/up.log and $D/up2.log.

# The second upstream got no request carrying the key.
no_key_at_up2() {
  if grep -qF "$KEY" "$D/up2.log" 2>/dev/null; then echo "the key reached the second upstream"; return 1; fi
}

# ---- transport faults (held before issue #13) ------------------------------------------------
T_OPTS="-o temperature=0"

row t-429-retry-after-seconds via=both script=429-seconds exit=0 out='^fault-ok' min=0.9 bound=8 \
  cache=1 reqs=2 -- @CHAT@ $T_OPTS -o max_retries=2 hi
row t-429-retry-after-date via=both script=429-date exit=0 out='^fault-ok' min=0.5 bound=8 \
  cache=1 reqs=2 -- @CHAT@ $T_OPTS -o max_retries=2 hi
row t-5xx-then-success via=both script=5xx-then-ok exit=0 out='^fault-ok' bound=8 cache=1 reqs=3 \
  -- @CHAT@ $T_OPTS -o max_retries=2 hi
row t-5xx-retries-exhausted via=both script=503-always exit=1 class=HTTP err='503' bound=8 \
  cache=0 reqs=2 -- @CHAT@ $T_OPTS -o max_retries=1 hi
row t-connection-refused via=both exit=1 class=TRANSPORT err='127\.0\.0\.1:1' bound=8 cache=0 \
  -- chat --provider openai --base-url http://127.0.0.1:1/v1 -m gpt-4o-mini \
  --api-key-env HB_FAULT_KEY $T_OPTS -o max_retries=1 hi
row t-accept-never-answer via=both script=never-answers exit=1 class=TIMEOUT err='time' min=1.5 \
  bound=6 cache=0 reqs=1 -- @CHAT@ $T_OPTS -o timeout=2 -o max_retries=0 hi
row t-stall-after-headers via=both script=stall-after-headers exit=1 class=TIMEOUT err='idle' \
  bound=5 cache=0 -- @CHAT@ $T_OPTS -o idle_timeout=1 -o max_retries=0 --stream hi
row t-stall-mid-stream via=both script=stall-mid-stream exit=1 class=TIMEOUT err='idle' \
  out='Hel' bound=5 cache=0 reqs=1 -- @CHAT@ $T_OPTS -o idle_timeout=1 -o max_retries=1 --stream hi
row t-keepalive-comments-only via=both script=comments-only exit=1 class=TIMEOUT err='idle' \
  bound=5 cache=0 -- @CHAT@ $T_OPTS -o idle_timeout=1 -o max_retries=0 --stream hi
row t-truncated-stream via=both script=truncated-stream exit=1 class=TRUNCATED err='truncated' \
  out='Hel' bound=5 cache=0 reqs=1 -- @CHAT@ $T_OPTS -o max_retries=1 --stream hi
row t-connection-dropped-mid-stream via=both script=dropped-mid-stream exit=1 class=TRUNCATED \
  err='closed mid-body' bound=5 cache=0 reqs=2 -- @CHAT@ $T_OPTS -o max_retries=1 --stream hi
row t-body-shorter-than-length via=both script=short-content-length exit=1 class=TRUNCATED \
  err='remaining' bound=8 cache=0 reqs=2 -- @CHAT@ $T_OPTS -o max_retries=1 hi
row t-one-byte-writes via=both script=one-byte-writes exit=0 out='^fault-ok$' bound=8 cache=1 \
  reqs=1 -- @CHAT@ $T_OPTS hi
row t-one-byte-writes-stream via=both script=one-byte-writes-sse exit=0 out='^Hello' bound=8 \
  cache=1 reqs=1 -- @CHAT@ $T_OPTS --stream hi
row t-300kb-of-headers via=both script=huge-headers exit=1 class=TRANSPORT bound=8 cache=0 \
  -- @CHAT@ $T_OPTS -o max_retries=0 hi
row t-redirect-key-not-following via=both script=redirect script2=ok exit=1 class=HTTP err='307' \
  bound=8 cache=0 reqs=1 reqs2=0 check=no_key_at_up2 -- @CHAT@ $T_OPTS hi
row t-gzip-not-asked-for via=both script=gzip exit=1 class=PARSE bound=8 cache=0 reqs=1 \
  -- @CHAT@ $T_OPTS hi
