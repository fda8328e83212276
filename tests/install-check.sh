#!/bin/bash
# tests/install-check.sh PREFIX: what a user of an installed tree sees. Compiles the README's
# C example with pkg-config, runs it on the mock preset, and runs the installed hb.
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
exported=$(nm -D --defined-only "$prefix/lib/libheavenbase.so.0" | awk '{print $3}' | grep -v '^HEAVENBASE_0$' | grep -v '^hvb_[a-z]' || true)
[ -z "$exported" ] || fail "libheavenbase exports non-API symbols: $exported"
echo "install-check: ok (README example, pkg-config variables, hb, man page, exports)"
