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
echo "== response cache: a hit beside a miss through the same upstream =="
"$build/libtool" --mode=execute "$build/bench/bench-cache" "http://127.0.0.1:$port" "${HB_BENCH_CACHE_CALLS:-5000}"
