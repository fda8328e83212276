#!/bin/bash
# Install npm packages for the tests, once, into a cache directory outside the build tree:
#   npm-install.sh NAME PKG@VERSION... [--override PKG@VERSION]...
# installs the packages, pinned, into ${HB_PEERS_DIR:-$HOME/.cache/heavenbase-test-peers}/NAME
# and prints that directory (its node_modules holds them). An --override pins a package
# deeper in the tree through npm "overrides" (Portkey needs an older @hono/node-server).
#
# Shared by the tests that run a peer from npm (Portkey, the MCP reference server, ajv,
# protobufjs), so that each is installed the same way:
# - npm and node get a HOME and an npm cache of their own inside the cache directory: make
#   check points HOME into the build tree, and npm's ~/.npm left there made `make distcheck`
#   fail its check that the build tree is clean;
# - one install at a time (flock), as several test runs share the cache under make -j;
# - a directory whose installed versions already match is used as it is;
# - every step is bounded in time, and any failure exits non-zero with the reason on stderr.
set -eu
me=npm-install.sh
die() { echo "$me: $*" >&2; exit 1; }
[ $# -ge 2 ] || die "usage: npm-install.sh NAME PKG@VERSION... [--override PKG@VERSION]..."
name=$1; shift
deps=() overrides=()
while [ $# -gt 0 ]; do
  case $1 in
    --override) [ $# -ge 2 ] || die "--override needs PKG@VERSION"; overrides+=("$2"); shift 2 ;;
    ?*@?*) deps+=("$1"); shift ;;
    *) die "not PKG@VERSION: $1" ;;
  esac
done
[ ${#deps[@]} -gt 0 ] || die "no package to install"

dir="${HB_PEERS_DIR:-$HOME/.cache/heavenbase-test-peers}/$name"
command -v node >/dev/null 2>&1 || die "node is not installed (Debian: apt-get install nodejs npm)"
mkdir -p "$dir/home" || die "cannot create $dir"
export HOME="$dir/home" npm_config_cache="$dir/npm-cache"

pkg() { echo "${1%@*}"; }     # @scope/name@1.2.3 -> @scope/name
ver() { echo "${1##*@}"; }    # @scope/name@1.2.3 -> 1.2.3
# The installed version of package $1, "" when absent.
installed() {
  node -e 'try { process.stdout.write(require(process.argv[1] + "/package.json").version) } catch (e) {}' \
    "$dir/node_modules/$1"
}
all_installed() {
  local p
  for p in "${deps[@]}" "${overrides[@]}"; do
    [ "$(installed "$(pkg "$p")")" = "$(ver "$p")" ] || return 1
  done
}
# "a": "1", "b": "2" for the package.json of the list given.
json_map() {
  local p sep=""
  for p in "$@"; do printf '%s"%s": "%s"' "$sep" "$(pkg "$p")" "$(ver "$p")"; sep=", "; done
}

exec 9>"$dir/.lock"
flock -w 660 9 || die "timed out waiting for another install in $dir"
if ! all_installed; then
  command -v npm >/dev/null 2>&1 || die "npm is not installed (Debian: apt-get install nodejs npm)"
  cat > "$dir/package.json" <<JSON
{
  "name": "heavenbase-test-$name",
  "private": true,
  "description": "Peers for HeavenBase's tests (written by tests/peers/npm-install.sh)",
  "dependencies": { $(json_map "${deps[@]}") },
  "overrides": { $(json_map "${overrides[@]}") }
}
JSON
  echo "$me: installing ${deps[*]} into $dir" >&2
  (cd "$dir" && timeout 600 npm install --no-audit --no-fund --no-update-notifier --loglevel=error \
     >"$dir/npm-install.log" 2>&1) ||
    die "npm install of ${deps[*]} failed; see $dir/npm-install.log: $(tail -n 5 "$dir/npm-install.log")"
  for p in "${deps[@]}" "${overrides[@]}"; do
    [ "$(installed "$(pkg "$p")")" = "$(ver "$p")" ] || die "$p did not install"
  done
fi
exec 9>&-
echo "$dir"
