#!/bin/bash
# bench/run.sh BUILDDIR SRCDIR: start the canned nginx upstream on loopback, run the
# benchmarks against it, stop it. `make bench` calls this.
set -eu
build=$1; src=$2
prefix=$(mktemp -d "${TMPDIR:-/tmp}/hb-bench-XXXXXX")
port=$(bash "$src/tests/nginx/start.sh" "$src/tests/nginx" "$prefix")
trap 'kill -QUIT "$(cat "$prefix/nginx.pid")" 2>/dev/null; rm -rf "$prefix"' EXIT
echo "upstream: nginx on 127.0.0.1:$port ($(nproc) cores)"
echo
echo "== non-streamed chat: libheavenbase vs a plain libcurl keep-alive POST loop =="
"$build/libtool" --mode=execute "$build/bench/bench-chat" "http://127.0.0.1:$port" "${HB_BENCH_CALLS:-20000}"
echo
echo "== tool-call argument repair: throughput over tests/data/repair (no server) =="
"$build/libtool" --mode=execute "$build/bench/bench-repair" "$src/tests/data/repair/cases.jsonl" "${HB_BENCH_REPAIR_SECONDS:-1}"
echo
echo "== stream decoding: SSE decoder alone and to text deltas, recorded streams (no server) =="
"$build/libtool" --mode=execute "$build/bench/bench-sse" "$src/tests/data/sse" "${HB_BENCH_SSE_SECONDS:-1}"
echo
echo "== structured output: JSON Schema validation of replies (no server) =="
"$build/libtool" --mode=execute "$build/bench/bench-schema" "${HB_BENCH_SCHEMA_SECONDS:-1}"
echo
echo "== response cache: a hit beside a miss through the same upstream =="
"$build/libtool" --mode=execute "$build/bench/bench-cache" "http://127.0.0.1:$port" "${HB_BENCH_CACHE_CALLS:-5000}"
echo
if [ -x "$build/bench/bench-cache-redis" ] && command -v redis-server >/dev/null; then
  echo "== cache hit through Redis (local tier off) beside a plain GET of the same size, and the local tier =="
  rport=$(sh "$src/tests/redis/redis.sh" start standalone "$prefix/redis")
  HB_CACHE_BACKEND_PATH="$build/plugins/cache-redis/.libs" "$build/libtool" --mode=execute \
    "$build/bench/bench-cache-redis" "$rport" "${HB_BENCH_REDIS_CALLS:-5000}"
  sh "$src/tests/redis/redis.sh" stop "$prefix/redis"
  echo
fi
echo "== usage ledger: on (batched) and with a budget (written at once) against off =="
"$build/libtool" --mode=execute "$build/bench/bench-usage" "http://127.0.0.1:$port" "${HB_BENCH_USAGE_CALLS:-20000}"
echo "== routing: a routed call (one target; a fallback route whose first answers) against unrouted =="
"$build/libtool" --mode=execute "$build/bench/bench-route" "http://127.0.0.1:$port" "${HB_BENCH_CALLS:-20000}"
echo
echo "== telemetry: an observer, and OTLP export to nginx, against off (same run) =="
"$build/libtool" --mode=execute "$build/bench/bench-telemetry" "http://127.0.0.1:$port" "${HB_BENCH_CALLS:-20000}"
echo
echo "== async engine: C calls in flight vs wrk with C connections (same URL, 1 KB replies) =="
# wrk sends a GET; nginx serves the same canned body for it (error_page maps POST's 405 onto
# the file, a GET gets the file directly), so both sides receive the same bytes.
for c in ${HB_BENCH_ASYNC_C:-64 256 1024}; do
  secs=${HB_BENCH_ASYNC_SECONDS:-5}
  if command -v wrk >/dev/null; then
    wrk_rate=$(wrk -t1 -c"$c" -d"${secs}s" "http://127.0.0.1:$port/bench1k/v1/chat/completions" |
               awk '/Requests\/sec/ {print $2}')
    printf 'wrk     C=%-4d %10.0f requests/s\n' "$c" "$wrk_rate"
  else
    wrk_rate=""
    echo "wrk     not installed (apt-get install wrk): no baseline"
  fi
  line=$("$build/libtool" --mode=execute "$build/bench/bench-async" "http://127.0.0.1:$port" "$c" "$secs")
  echo "$line"
  rate=$(echo "$line" | awk '{print $3}')
  [ -n "$wrk_rate" ] && awk -v a="$rate" -v b="$wrk_rate" -v c="$c" \
    'BEGIN { printf "ratio   C=%-4d engine/wrk = %.2f\n", c, a / b }'
done
