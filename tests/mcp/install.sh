#!/bin/bash
# Install the MCP reference server for the tests, once, into a cache directory: install.sh
#
# npm @modelcontextprotocol/server-everything@2026.8.31 goes into
#   ${HB_PEERS_DIR:-$HOME/.cache/heavenbase-test-peers}/mcp-everything
# by tests/peers/npm-install.sh. Prints the path of the server's entry script (node ENTRY
# stdio | streamableHttp). Any failure exits non-zero with the reason on stderr.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
dir=$("$here/../peers/npm-install.sh" mcp-everything @modelcontextprotocol/server-everything@2026.8.31)
entry="$dir/node_modules/@modelcontextprotocol/server-everything/dist/index.js"
[ -f "$entry" ] || { echo "install.sh: $entry is missing after the install" >&2; exit 1; }
echo "$entry"
