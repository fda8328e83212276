# tests/cli/lib.sh: helpers for the shell tests of hb. Sourced by each tests/cli/test-*.sh.
# The Makefile's test environment provides HB_TEST_BUILDDIR, HB_TEST_SRCDIR and, under
# --enable-valgrind, HB_TEST_WRAPPER (valgrind through libtool).
set -u

: "${HB_TEST_BUILDDIR:?run through make check}"
: "${HB_TEST_SRCDIR:?run through make check}"
HB_BIN="$HB_TEST_BUILDDIR/cli/hb"
UPSTREAM_BIN="$HB_TEST_BUILDDIR/tests/upstream/hb-upstream"

fails=0
passes=0
T=$(mktemp -d "${TMPDIR:-/tmp}/hb-cli-XXXXXX")
# nginx workers (an unprivileged user when the tests run as root) must reach $T/nginx.
chmod 755 "$T"
pids=""
cleanup() {
  for p in $pids; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  rm -rf "$T"
}
trap cleanup EXIT

# Isolation: a fresh user config dir and an empty working directory (no project layer).
export HB_CONFIG_DIR="$T/config"
export HB_CACHE_DIR="$T/cache"
mkdir -p "$T/work"
cd "$T/work" || exit 1
unset HB_LOG OPENAI_API_KEY OPENROUTER_API_KEY DEEPSEEK_API_KEY
unset OTEL_EXPORTER_OTLP_ENDPOINT OTEL_EXPORTER_OTLP_TRACES_ENDPOINT TRACEPARENT

# hb ARGS...: run hb (under the test wrapper when there is one); stdout in $T/out, stderr in
# $T/err, status in $rc.
hb() {
  # shellcheck disable=SC2086
  ${HB_TEST_WRAPPER:-} "$HB_BIN" "$@" >"$T/out" 2>"$T/err"
  rc=$?
}
# hb_in INPUT ARGS...: the same with INPUT on stdin.
hb_in() {
  local input=$1; shift
  # shellcheck disable=SC2086
  printf '%s' "$input" | ${HB_TEST_WRAPPER:-} "$HB_BIN" "$@" >"$T/out" 2>"$T/err"
  rc=$?
}

ok() { passes=$((passes + 1)); echo "ok - $1"; }
not_ok() {
  fails=$((fails + 1)); echo "not ok - $1"
  echo "  exit status: $rc"; sed 's/^/  stdout: /' "$T/out" | head -20; sed 's/^/  stderr: /' "$T/err" | head -20
}

# expect DESCRIPTION STATUS [stdout-equals]
expect_status() { if [ "$rc" = "$2" ]; then ok "$1"; else not_ok "$1 (want exit $2)"; fi; }
expect_out() {
  if [ "$rc" = 0 ] && [ "$(cat "$T/out")" = "$2" ]; then ok "$1"; else not_ok "$1 (want stdout: $2)"; fi
}
expect_out_has() {
  if grep -qF -- "$2" "$T/out"; then ok "$1"; else not_ok "$1 (want stdout containing: $2)"; fi
}
expect_err_has() {
  if grep -qF -- "$2" "$T/err"; then ok "$1"; else not_ok "$1 (want stderr containing: $2)"; fi
}
expect_nowhere() {  # DESCRIPTION TEXT: TEXT appears in neither stdout nor stderr
  if grep -qF -- "$2" "$T/out" "$T/err"; then not_ok "$1 (leaked: $2)"; else ok "$1"; fi
}

# expect_true DESCRIPTION COMMAND...: COMMAND (a test, a cmp...) succeeds.
expect_true() {
  local desc=$1; shift
  if "$@"; then ok "$desc"; else not_ok "$desc"; fi
}

# What the fake upstream received (start_upstream): its log holds one JSON line per request.
# expect_log_has DESCRIPTION TEXT: some request contains TEXT.
expect_log_has() {
  if grep -qF -- "$2" "$UP_LOG"; then ok "$1"; else not_ok "$1 (want a request containing: $2)"; fi
}
# expect_request_has DESCRIPTION TEXT...: the last request contains every TEXT.
expect_request_has() {
  local desc=$1 req want; shift
  req=$(tail -n 1 "$UP_LOG")
  for want in "$@"; do
    case "$req" in *"$want"*) ;; *) not_ok "$desc (want $want in: $req)"; return ;; esac
  done
  ok "$desc"
}
# expect_request_lacks DESCRIPTION TEXT...: the last request contains none of TEXT.
expect_request_lacks() {
  local desc=$1 req bad; shift
  req=$(tail -n 1 "$UP_LOG")
  for bad in "$@"; do
    case "$req" in *"$bad"*) not_ok "$desc ($bad in: $req)"; return ;; esac
  done
  ok "$desc"
}

# start_upstream SCRIPT_JSON: run the fake upstream; sets UP_URL and UP_LOG.
start_upstream() {
  printf '%s' "$1" > "$T/script.json"
  UP_LOG="$T/upstream.log"
  : > "$UP_LOG"
  "$UPSTREAM_BIN" --script "$T/script.json" --port-file "$T/port" --log "$UP_LOG" \
    >"$T/upstream.out" 2>"$T/upstream.err" &
  pids="$pids $!"
  local i=0
  while [ ! -s "$T/port" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
  [ -s "$T/port" ] || { echo "fake upstream did not start: $(cat "$T/upstream.err")"; exit 1; }
  UP_URL="http://127.0.0.1:$(cat "$T/port")"
}

# start_nginx: the canned nginx upstream of tests/nginx; sets NGINX_URL.
start_nginx() {
  local port
  port=$(bash "$HB_TEST_SRCDIR/tests/nginx/start.sh" "$HB_TEST_SRCDIR/tests/nginx" "$T/nginx") ||
    { echo "not ok - nginx could not be started (the README's first command installs it)"; exit 1; }
  pids="$pids $(cat "$T/nginx/nginx.pid")"
  NGINX_URL="http://127.0.0.1:$port"
}

# start_portkey: the real Portkey gateway of tests/portkey (installed once into a cache dir);
# sets PORTKEY_URL. Fails the test, never skips it, when Portkey cannot be had.
start_portkey() {
  local port
  # A build without network (a Debian package build, say) may ask to skip, never by default.
  if [ "${HB_TEST_NO_NETWORK:-}" = 1 ]; then
    echo "# SKIP: HB_TEST_NO_NETWORK=1: the Portkey gateway is installed from npm"; exit 77
  fi
  port=$(bash "$HB_TEST_SRCDIR/tests/portkey/start.sh" "$T/portkey" 2>"$T/portkey.err")
  if [ -z "$port" ] || [ ! -s "$T/portkey/portkey.pid" ]; then
    echo "not ok - the Portkey gateway could not be installed or started (needs node and npm):"
    sed 's/^/  /' "$T/portkey.err"
    exit 1
  fi
  pids="$pids $(cat "$T/portkey/portkey.pid")"
  PORTKEY_URL="http://127.0.0.1:$port"
}

finish() {
  echo "$passes passed, $fails failed"
  [ "$fails" = 0 ]
}
