#!/bin/bash
# tests/install-check.sh PREFIX: what a user of an installed tree sees. Compiles the README's
# C example with pkg-config, runs it on the mock preset (a plugin), runs the installed hb, and
# builds, installs and uses the third-party skeleton gateway (examples/skeleton-gateway).
set -euo pipefail
prefix=$1
here=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/hb-install-check-XXXXXX)
trap 'rm -rf "$work"' EXIT
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
export LD_LIBRARY_PATH="$prefix/lib"
export HB_CONFIG_DIR="$work/config"
cd "$work"

fail() { echo "install-check: FAIL: $*"; exit 1; }

# The C example is the block that starts with "/* hello.c" in the README.
awk '/^```c$/ {inblock=1; buf=""; next} /^```$/ {if (inblock && buf ~ /hello\.c/) {printf "%s", buf; exit} inblock=0; next} inblock {buf = buf $0 "\n"}' \
  "$here/README.md" > hello.c
grep -q hvb_llm_chat hello.c || fail "no C example found in README.md"
# shellcheck disable=SC2046
cc -std=c11 -Wall -Wextra -Werror hello.c $(pkg-config --cflags --libs heavenbase) -o hello ||
  fail "the README example does not compile against the installed tree"
out=$(./hello mock) || fail "the README example failed"
[ "$out" = "Mock reply to: Say hello in five words." ] || fail "README example printed: $out"
[ "$(pkg-config --variable=gatewaydir heavenbase)" = "$prefix/lib/heavenbase/gateways-1" ] ||
  fail "heavenbase.pc has no gatewaydir"
[ -n "$(pkg-config --variable=catalogdir heavenbase)" ] || fail "heavenbase.pc has no catalogdir"
out=$("$prefix/bin/hb" chat -p mock "Hello") || fail "installed hb failed"
[ "$out" = "Mock reply to: Hello" ] || fail "installed hb printed: $out"
[ -f "$prefix/share/man/man1/hb.1" ] || fail "hb(1) is not installed"
[ -f "$prefix/share/heavenbase/catalog.json" ] || fail "the catalog is not installed"
[ -f "$prefix/lib/heavenbase/gateways-1/hb-gateway-mock.so" ] || fail "the mock plugin is not installed"
[ ! -e "$prefix/lib/heavenbase/gateways-1/hb-gateway-mock.la" ] || fail "a libtool .la is installed beside the plugins"

# A third-party gateway: the skeleton, built with nothing but pkg-config against this prefix,
# installed into its gatewaydir, then found by hb and used for a call to nginx, which answers
# only requests carrying the skeleton's header.
unset HB_GATEWAY_PATH
cp -r "$here/examples/skeleton-gateway" "$work/skeleton"
(cd "$work/skeleton" && autoreconf -fi && ./configure && make && make install) \
  >"$work/skeleton.log" 2>&1 || { tail -30 "$work/skeleton.log"; fail "the skeleton gateway does not build and install"; }
gatewaydir=$(pkg-config --variable=gatewaydir heavenbase)
[ -f "$gatewaydir/hb-gateway-skeleton.so" ] || fail "the skeleton is not in $gatewaydir"
# ABI 1.1: the skeleton calls the library through the host table only.
needs=$(nm -D --undefined-only "$gatewaydir/hb-gateway-skeleton.so" | awk '{print $2}' | grep '^hvb_' || true)
[ -z "$needs" ] || fail "the skeleton needs hvb_* symbols from the process: $needs"
"$prefix/bin/hb" gateways list > "$work/list" || fail "hb gateways list failed"
grep -q "^skeleton .*$gatewaydir/hb-gateway-skeleton.so" "$work/list" ||
  fail "hb gateways list does not show the skeleton: $(cat "$work/list")"
port=$(bash "$here/tests/nginx/start.sh" "$here/tests/nginx" "$work/nginx") ||
  fail "nginx could not be started"
trap 'kill -QUIT "$(cat "$work/nginx/nginx.pid")" 2>/dev/null; rm -rf "$work"' EXIT
out=$("$prefix/bin/hb" chat -g skeleton --provider openai --base-url "http://127.0.0.1:$port/skeleton/v1" \
  -m gpt-4o-mini "hi" 2>"$work/chat.err") || fail "hb chat through the skeleton failed: $(cat "$work/chat.err")"
[ "$out" = "Hello through the skeleton gateway." ] || fail "hb chat -g skeleton printed: $out"
! grep -q "warning" "$work/chat.err" || fail "hb chat -g skeleton fell back: $(cat "$work/chat.err")"

exported=$(nm -D --defined-only "$prefix/lib/libheavenbase.so.0" | awk '{print $3}' | grep -v '^HEAVENBASE_0$' | grep -v '^hvb_[a-z]' || true)
[ -z "$exported" ] || fail "libheavenbase exports non-API symbols: $exported"
echo "install-check: ok (README example, pkg-config variables, hb, man page, plugins, skeleton gateway, exports)"
