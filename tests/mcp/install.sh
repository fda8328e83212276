#!/bin/bash
# Install the MCP reference server for the tests, once, into a cache directory: install.sh
#
# npm @modelcontextprotocol/server-everything@2026.8.31 goes into
#   ${HB_PEERS_DIR:-$HOME/.cache/heavenbase-test-peers}/mcp-everything
# (outside the build tree; npm gets a HOME and cache of its own there, as in
# tests/portkey/start.sh). Prints the path of the server's entry script (node ENTRY stdio |
# streamableHttp). Bounded in time; any failure exits non-zero with the reason on stderr.
set -eu
version=2026.8.31
dir="${HB_PEERS_DIR:-$HOME/.cache/heavenbase-test-peers}/mcp-everything"
entry="$dir/node_modules/@modelcontextprotocol/server-everything/dist/index.js"
peer_home="$dir/home"

die() { echo "install.sh: $*" >&2; exit 1; }
command -v node >/dev/null 2>&1 || die "node is not installed (Debian: apt-get install nodejs npm)"
mkdir -p "$dir" "$peer_home" || die "cannot create $dir"
export HOME="$peer_home" npm_config_cache="$dir/npm-cache"

installed() {
  node -e 'try { process.stdout.write(require(process.argv[1] + "/package.json").version) } catch (e) {}' \
    "$dir/node_modules/@modelcontextprotocol/server-everything"
}

exec 9>"$dir/.lock"
flock -w 660 9 || die "timed out waiting for another install in $dir"
if [ "$(installed)" != "$version" ] || [ ! -f "$entry" ]; then
  command -v npm >/dev/null 2>&1 || die "npm is not installed (Debian: apt-get install nodejs npm)"
  cat > "$dir/package.json" <<JSON
{
  "name": "heavenbase-test-mcp-everything",
  "private": true,
  "description": "The MCP reference server for HeavenBase's tests (written by tests/mcp/install.sh)",
  "dependencies": { "@modelcontextprotocol/server-everything": "$version" }
}
JSON
  echo "install.sh: installing @modelcontextprotocol/server-everything@$version into $dir" >&2
  (cd "$dir" && timeout 600 npm install --no-audit --no-fund --no-update-notifier --loglevel=error \
     >"$dir/npm-install.log" 2>&1) ||
    die "npm install failed; see $dir/npm-install.log: $(tail -n 5 "$dir/npm-install.log")"
  [ "$(installed)" = "$version" ] || die "@modelcontextprotocol/server-everything@$version did not install"
  [ -f "$entry" ] || die "$entry is missing after the install"
fi
exec 9>&-
echo "$entry"
