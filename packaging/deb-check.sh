#!/bin/bash
# packaging/deb-check.sh: build the Debian packages and prove them on a fresh Debian root.
#
#  1. dpkg-buildpackage -us -uc -b on a copy of the tree (make check runs in dh_auto_test unless
#     DEB_BUILD_OPTIONS has nocheck), then lintian, which must report no error.
#  2. A fresh Debian root made by debootstrap (minbase), from the mirror this machine's apt
#     configuration names (read at run time). The root is cached as a tarball in $HB_DEB_CACHE
#     (default ~/.cache/heavenbase-deb-check), together with a second one that also has the
#     build tools for third-party packages.
#  3. In a build root: install libheavenbase-dev from the .debs (apt pulls its dependencies),
#     build the third-party packages examples/skeleton-gateway (a gateway plugin) and
#     examples/catalog-provider (a catalog drop-in) against it, lintian them.
#  4. In a pristine root: apt-get install the .debs, then hb --version, ldconfig, hb gateways
#     list (the five plugins and openai), a mock chat, removal of heavenbase-gateway-bifrost
#     (hb spec -g bifrost reports the fallback), its reinstallation, the skeleton gateway and
#     the acme provider packages.
#
# Needs root and the Debian archive. Bounded: each long step runs under timeout; the mounts it
# makes are undone on exit, and the work directory is removed only when nothing is mounted in it.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
start=$(date +%s)
export DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8
cache=${HB_DEB_CACHE:-${HOME:-/root}/.cache/heavenbase-deb-check}
keep=${HB_DEB_KEEP:-}          # a directory to copy the .debs into
work=$(mktemp -d /tmp/hb-deb-check-XXXXXX)
mounts=()
pass=0; fail=0

say() { echo "deb-check: [$(( $(date +%s) - start )) s] $*"; }
ok() { pass=$((pass + 1)); echo "ok - $*"; }
not_ok() { fail=$((fail + 1)); echo "not ok - $*"; }
die() { echo "deb-check: FAIL: $*" >&2; exit 1; }

cleanup() {
  local m i
  for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do
    m=${mounts[$i]}
    mountpoint -q "$m" && { umount "$m" 2>/dev/null || umount -l "$m" || true; }
  done
  if grep -q " $work/" /proc/mounts; then
    echo "deb-check: something is still mounted under $work: not removing it" >&2
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[ "$(id -u)" = 0 ] || die "run as root (debootstrap, chroot)"
[ -r /etc/os-release ] && . /etc/os-release
codename=${HB_DEB_SUITE:-bookworm}     # Debian 12, whatever the host is
arch=$(dpkg --print-architecture)

# ---- the mirror, from this machine's apt configuration (deb822 .sources or one-line .list)
# apt_uri SUITE: the first URI of an enabled Debian source that serves SUITE.
apt_uri() {
  local suite=$1 f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk -v want="$suite" '
      function flush() { if (uri != "" && (" " suites " ") ~ (" " want " ") && enabled != "no" && types ~ /(^| )deb( |$)/) { print uri; found = 1; exit } }
      /^[ \t]*$/ { flush(); uri = ""; suites = ""; enabled = ""; types = ""; next }
      /^[ \t]*#/ { next }
      tolower($1) == "uris:" { uri = $2 }
      tolower($1) == "suites:" { $1 = ""; suites = $0 }
      tolower($1) == "types:" { $1 = ""; types = $0 }
      tolower($1) == "enabled:" { enabled = tolower($2) }
      END { if (!found) flush() }' "$f"
  done | head -n 1
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    awk -v want="$suite" '$1 == "deb" { i = 2; if ($2 ~ /^\[/) { while ($i !~ /\]$/) i++; i++ } if ($(i + 1) == want) { print $i; exit } }' "$f"
  done | head -n 1
}
mirror=$(apt_uri "$codename" | head -n 1)
[ -n "$mirror" ] || mirror=$(apt_uri "${VERSION_CODENAME:-$codename}" | head -n 1)
[ -n "$mirror" ] || die "no Debian mirror for $codename in this machine's apt configuration"
updates=$(apt_uri "$codename-updates" | head -n 1)
security=$(apt_uri "$codename-security" | head -n 1)
say "suite $codename ($arch), mirror from apt configuration"

# ---- host tools
need=()
for p in debootstrap dpkg-dev debhelper lintian fakeroot; do
  [ "$(dpkg-query -W -f '${Status}' "$p" 2>/dev/null || true)" = "install ok installed" ] || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  say "installing ${need[*]}"
  timeout 900 apt-get update -q >/dev/null
  timeout 900 apt-get install -y -q "${need[@]}" >/dev/null
fi

# ---- 1. the packages
src=$work/src/heavenbase
mkdir -p "$src"
if git -C "$top" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  (cd "$top" && git ls-files -z --cached --others --exclude-standard |
    xargs -0 -I{} sh -c 'test -e "{}" && printf "%s\0" "{}"' | tar --null -T - -cf -) | tar -x -C "$src"
else
  cp -a "$top/." "$src/"
fi
say "build dependencies"
(cd "$src" && timeout 900 apt-get build-dep -y -q ./ >/dev/null)
say "dpkg-buildpackage -us -uc -b (DEB_BUILD_OPTIONS=${DEB_BUILD_OPTIONS:-})"
if ! (cd "$src" && timeout 1800 dpkg-buildpackage -us -uc -b) >"$work/build.log" 2>&1; then
  grep -E '^(FAIL|ERROR):' "$work/build.log" || true
  tail -n 60 "$work/build.log"
  die "dpkg-buildpackage failed"
fi
grep -E '^# (TOTAL|PASS|SKIP|FAIL|ERROR):' "$work/build.log" || true
ok "dpkg-buildpackage -us -uc -b"
debs=$work/src
changes=$(ls "$debs"/heavenbase_*_"$arch".changes)
say "lintian"
if lintian --fail-on error "$changes" >"$work/lintian.log" 2>&1; then
  ok "lintian: no errors ($(grep -c '^W:' "$work/lintian.log" || true) warnings)"
else
  not_ok "lintian reports errors"; cat "$work/lintian.log"
fi
grep -E '^[EW]:' "$work/lintian.log" | sed 's/^/  /' || true
if [ -n "$keep" ]; then mkdir -p "$keep" && cp "$debs"/*.deb "$changes" "$keep"/; fi
# lintian checks neither: the licence the packages declare is the tree's LICENSE, and the
# maintainer is a real address, not a placeholder.
words() { tr -s '[:space:]' ' ' | sed 's/^ //; s/ $//'; }
if [ -f "$top/LICENSE" ] &&
   [ "$(sed -n '/^ Permission/,$p' "$top/debian/copyright" | sed 's/^ \.$//' | words)" = \
     "$(sed -n '/^Permission/,$p' "$top/LICENSE" | words)" ]; then
  ok "debian/copyright's MIT text is the tree's LICENSE"
else
  not_ok "debian/copyright's MIT text is the tree's LICENSE (missing, or the texts differ)"
fi
if grep -Eq '^Maintainer: .+<[^@>]+@[^>]+>$' "$top/debian/control" &&
   ! grep -Eiq '^Maintainer: .*@(example\.(org|com|net)|localhost)' "$top/debian/control"; then
  ok "debian/control names a real maintainer address"
else
  not_ok "debian/control names a real maintainer address ($(grep '^Maintainer:' "$top/debian/control"))"
fi

# ---- 2. the roots
mkdir -p "$cache"
base_tgz=$cache/$codename-$arch-minbase.tar.gz
build_tgz=$cache/$codename-$arch-build.tar.gz
write_sources() {
  {
    echo "deb $mirror $codename main"
    [ -z "$updates" ] || echo "deb $updates $codename-updates main"
    [ -z "$security" ] || echo "deb $security $codename-security main"
  } >"$1/etc/apt/sources.list"
  printf '#!/bin/sh\nexit 101\n' >"$1/usr/sbin/policy-rc.d"; chmod 755 "$1/usr/sbin/policy-rc.d"
}
in_root() { # ROOT CMD...: run in the chroot, with a clean environment, bounded
  local root=$1; shift
  timeout 900 chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
    LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"
}
enter() { # ROOT: mount what apt and maintainer scripts expect
  mount -t proc proc "$1/proc"; mounts+=("$1/proc")
  cp -L /etc/resolv.conf "$1/etc/resolv.conf" 2>/dev/null || true
}
leave() { umount "$1/proc"; }
if [ ! -s "$base_tgz" ]; then
  say "debootstrap --variant=minbase $codename (cached afterwards in $cache)"
  r=$work/debootstrap
  timeout 1200 debootstrap --variant=minbase --arch="$arch" "$codename" "$r" "$mirror" >"$work/debootstrap.log" 2>&1 ||
    { tail -n 30 "$work/debootstrap.log"; die "debootstrap failed"; }
  write_sources "$r"
  rm -rf "$r/var/cache/apt/archives/"*.deb "$r/var/lib/apt/lists/"*_* 2>/dev/null || true
  tar -C "$r" -czf "$base_tgz.tmp" . && mv "$base_tgz.tmp" "$base_tgz"
  rm -rf "$r"
fi
if [ ! -s "$build_tgz" ]; then
  say "build root: the minbase root plus build-essential, debhelper, pkgconf, libtool"
  r=$work/buildroot-make; mkdir -p "$r"; tar -C "$r" -xzf "$base_tgz"
  enter "$r"
  in_root "$r" apt-get update -q >/dev/null
  in_root "$r" apt-get install -y -q --no-install-recommends build-essential debhelper pkgconf libtool >/dev/null
  in_root "$r" apt-get clean
  leave "$r"
  rm -rf "$r/var/lib/apt/lists/"*_* 2>/dev/null || true
  tar -C "$r" -czf "$build_tgz.tmp" . && mv "$build_tgz.tmp" "$build_tgz"
  rm -rf "$r"
fi

# ---- 3. the third-party packages, built against the installed libheavenbase-dev only
say "third-party packages in a build root"
b=$work/buildroot; mkdir -p "$b"; tar -C "$b" -xzf "$build_tgz"; write_sources "$b"
enter "$b"
mkdir -p "$b/debs" "$b/build"
cp "$debs"/*.deb "$b/debs/"
in_root "$b" apt-get update -q >/dev/null
in_root "$b" sh -c 'apt-get install -y -q --no-install-recommends ./debs/libheavenbase-dev_*.deb ./debs/libheavenbase0_*.deb ./debs/heavenbase-data_*.deb' >"$work/dev.log" 2>&1 ||
  { tail -n 20 "$work/dev.log"; die "libheavenbase-dev does not install"; }
ok "libheavenbase-dev installs with its dependencies"
gwdir=$(in_root "$b" pkg-config --variable=gatewaydir heavenbase)
[ "$gwdir" = "/usr/lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH)/heavenbase/gateways-1" ] &&
  ok "heavenbase.pc: gatewaydir is $gwdir" || not_ok "heavenbase.pc: gatewaydir is '$gwdir'"
cp -r "$top/examples/skeleton-gateway" "$b/build/skeleton"
cp -r "$top/examples/catalog-provider" "$b/build/provider"
for p in skeleton provider; do
  if in_root "$b" sh -c "cd /build/$p && dpkg-buildpackage -us -uc -b" >"$work/$p.log" 2>&1; then
    ok "the $p package builds against the installed libheavenbase-dev"
  else
    tail -n 30 "$work/$p.log"; not_ok "the $p package builds against the installed libheavenbase-dev"
  fi
done
leave "$b"
tp_debs=$(ls "$b"/build/*.deb 2>/dev/null || true)
[ -n "$tp_debs" ] || die "no third-party packages were built"
if lintian --fail-on error $tp_debs >"$work/lintian-tp.log" 2>&1; then
  ok "lintian on the third-party packages: no errors"
else
  not_ok "lintian on the third-party packages reports errors"; cat "$work/lintian-tp.log"
fi
grep -E '^[EW]:' "$work/lintian-tp.log" | sed 's/^/  /' || true
[ -z "$keep" ] || cp $tp_debs "$keep"/

# ---- 4. a pristine root: what a user of the packages sees
say "fresh root: install the packages"
r=$work/root; mkdir -p "$r"; tar -C "$r" -xzf "$base_tgz"; write_sources "$r"
enter "$r"
mkdir -p "$r/debs"
cp "$debs"/*.deb $tp_debs "$r/debs/"
rm -f "$r"/debs/*-dbgsym_*.deb
in_root "$r" apt-get update -q >/dev/null
pkgs="libheavenbase0 heavenbase-data heavenbase-cli heavenbase-gateway-anthropic heavenbase-gateway-portkey
  heavenbase-gateway-bifrost heavenbase-gateway-litellm heavenbase-gateway-mock heavenbase-cache-redis"
files=$(for p in $pkgs; do printf './debs/%s_*.deb ' "$p"; done)
in_root "$r" sh -c "apt-get install -y -q --no-install-recommends $files" >"$work/install.log" 2>&1 &&
  ok "apt-get install of the packages pulls their dependencies" ||
  { tail -n 20 "$work/install.log"; die "the packages do not install"; }

hb() { in_root "$r" hb "$@"; }
out=$(hb --version 2>&1) && ok "hb --version: $out" || not_ok "hb --version: $out"
grep -q 'libheavenbase.so.0 ' <<<"$(in_root "$r" ldconfig -p)" && ok "ldconfig finds libheavenbase.so.0" ||
  not_ok "ldconfig finds libheavenbase.so.0"
list=$(hb gateways list 2>&1) || true
echo "$list" | sed 's/^/  /'
for g in openai anthropic portkey bifrost litellm mock; do
  grep -q "^$g " <<<"$list" && ok "hb gateways list shows $g" || not_ok "hb gateways list shows $g"
done
grep -q '^redis ' <<<"$(hb caches list 2>&1)" && ok "hb caches list shows redis" ||
  not_ok "hb caches list shows redis"
out=$(hb chat -p mock "Hello" 2>&1) || true
[ "$out" = "Mock reply to: Hello" ] && ok "hb chat -p mock" || not_ok "hb chat -p mock printed: $out"
for f in /usr/share/bash-completion/completions/hb /usr/share/zsh/vendor-completions/_hb; do
  in_root "$r" grep -q 'hb __complete' "$f" && ok "heavenbase-cli installs $f" ||
    not_ok "heavenbase-cli installs $f"
done
out=$(hb spec -g bifrost 2>&1) || true
if grep -q '^gateway_fallback_reason ' <<<"$out"; then not_ok "hb spec -g bifrost uses the plugin: $out"
else ok "hb spec -g bifrost uses the bifrost plugin"; fi

in_root "$r" apt-get remove -y -q heavenbase-gateway-bifrost >/dev/null 2>&1 &&
  ok "apt-get remove heavenbase-gateway-bifrost" || not_ok "apt-get remove heavenbase-gateway-bifrost"
out=$(hb spec -g bifrost 2>&1) || true
grep -q '^gateway_fallback_reason ' <<<"$out" && grep -Eq '^requested_gateway +bifrost$' <<<"$out" &&
  ok "without the package, hb spec -g bifrost reports the fallback to openai" ||
  not_ok "without the package, hb spec -g bifrost reports the fallback: $out"
grep -E 'gateway' <<<"$out" | sed 's/^/  /' || true
list=$(hb gateways list 2>&1) || true
grep -q '^bifrost ' <<<"$list" && not_ok "hb gateways list no longer shows bifrost" ||
  ok "hb gateways list no longer shows bifrost"
in_root "$r" sh -c 'apt-get install -y -q ./debs/heavenbase-gateway-bifrost_*.deb' >/dev/null 2>&1 &&
  ok "reinstall heavenbase-gateway-bifrost" || not_ok "reinstall heavenbase-gateway-bifrost"
out=$(hb spec -g bifrost 2>&1) || true
grep -q '^gateway_fallback_reason ' <<<"$out" && not_ok "reinstalled, bifrost is used again: $out" ||
  ok "reinstalled, hb spec -g bifrost uses the plugin again"

in_root "$r" sh -c 'apt-get install -y -q ./debs/heavenbase-gateway-skeleton_*.deb' >/dev/null 2>&1 &&
  ok "apt-get install heavenbase-gateway-skeleton (third party)" || not_ok "apt-get install heavenbase-gateway-skeleton"
list=$(hb gateways list 2>&1) || true
grep -q "^skeleton .*$gwdir/hb-gateway-skeleton.so" <<<"$list" &&
  ok "hb gateways list shows the third-party skeleton gateway" ||
  not_ok "hb gateways list shows the skeleton: $list"
in_root "$r" sh -c 'apt-get install -y -q ./debs/heavenbase-provider-acme_*.deb' >/dev/null 2>&1 &&
  ok "apt-get install heavenbase-provider-acme (a catalog drop-in)" || not_ok "apt-get install heavenbase-provider-acme"
out=$(hb spec --provider acme -m acme-large 2>&1) || true
grep -Eq '^base_url +https://api.acme.example/v1$' <<<"$out" && ok "hb spec --provider acme takes the drop-in's base URL" ||
  not_ok "hb spec --provider acme: $out"
in_root "$r" apt-get purge -y -q heavenbase-gateway-skeleton heavenbase-provider-acme >/dev/null 2>&1 &&
  [ ! -e "$r$gwdir/hb-gateway-skeleton.so" ] && [ ! -e "$r/usr/share/heavenbase/catalog.d/acme.json" ] &&
  ok "purging the third-party packages removes their files" || not_ok "purging the third-party packages"
leave "$r"

say "done in $(( $(date +%s) - start )) s"
echo "deb-check: $pass passed, $fail failed"
[ "$fail" = 0 ]
