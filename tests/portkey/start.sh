#!/bin/bash
# Start the real Portkey AI gateway on loopback, for the CLI tests: start.sh SCRATCH [PORT...]
#
# Installs @portkey-ai/gateway@1.15.2 once into a cache directory
#   ${HB_PEERS_DIR:-$HOME/.cache/heavenbase-test-peers}/portkey
# with @hono/node-server pinned to 1.13.5 through npm "overrides" (newer versions make Portkey
# 1.15.2 answer HTTP 500 to streams and embeddings: Portkey-AI/gateway#1389), then starts it
# with our preload (bind-loopback.cjs) so that it listens on 127.0.0.1 only. Tries each PORT
# in turn (default 18787..18796) and prints the one it got; the PID is in SCRATCH/portkey.pid
# (stop with kill), the log in SCRATCH/portkey.log. Every step is bounded in time; any failure
# exits non-zero with the reason on stderr.
# The install is tests/peers/npm-install.sh's.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
scratch=$1; shift
ports=${*:-$(seq 18787 18796)}
version=1.15.2
hono_pin=1.13.5
dir="${HB_PEERS_DIR:-$HOME/.cache/heavenbase-test-peers}/portkey"
entry="$dir/node_modules/@portkey-ai/gateway/build/start-server.js"

die() { echo "start.sh: $*" >&2; exit 1; }
command -v node >/dev/null 2>&1 || die "node is not installed (Debian: apt-get install nodejs npm)"
mkdir -p "$scratch" || die "cannot create $scratch"

"$here/../peers/npm-install.sh" portkey "@portkey-ai/gateway@$version" \
  --override "@hono/node-server@$hono_pin" >/dev/null
[ -f "$entry" ] || die "$entry is missing after the install"
# node keeps out of the HOME make check gives (the build tree), as npm did.
export HOME="$dir/home"

# Is Portkey answering on port $1? (node, not curl: node is what we need anyway)
answers() {
  timeout 3 node -e '
    require("http").get({host: "127.0.0.1", port: +process.argv[1], path: "/", timeout: 2000}, r => {
      let b = ""; r.on("data", d => b += d);
      r.on("end", () => process.exit(r.statusCode === 200 && /gateway/i.test(b) ? 0 : 1));
    }).on("error", () => process.exit(1)).on("timeout", () => process.exit(1));' "$1" 2>/dev/null
}

# Does nothing but loopback listen on TCP port $1? (/proc/net/tcp{,6}: local address in hex,
# state 0A = LISTEN; 127.0.0.1 is 0100007F, ::1 is 0...01000000.) Without /proc we cannot
# tell, and trust the preload.
loopback_only() {
  local hex; hex=$(printf '%04X' "$1")
  [ -r /proc/net/tcp ] || return 0
  ! awk -v p=":$hex" '$4 == "0A" && substr($2, length($2) - 4) == p &&
      $2 != "0100007F" p && $2 != "00000000000000000000000001000000" p { found = 1 }
    END { exit !found }' /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

for port in $ports; do
  # cd first, then start node itself in the background, so that $! is node's PID.
  cd "$dir"
  node --require "$here/bind-loopback.cjs" "$entry" --port="$port" --headless \
    >"$scratch/portkey.log" 2>&1 &
  pid=$!
  # Up when it answers; gone when the port was taken. Bounded: 20 s per port.
  i=0
  while [ $i -lt 80 ]; do
    kill -0 $pid 2>/dev/null || break
    if answers "$port"; then
      if ! loopback_only "$port"; then
        kill $pid 2>/dev/null || true
        die "Portkey listens on more than 127.0.0.1:$port (the preload did not take)"
      fi
      echo $pid > "$scratch/portkey.pid"
      echo "$port"
      exit 0
    fi
    sleep 0.25; i=$((i + 1))
  done
  kill $pid 2>/dev/null || true
  wait $pid 2>/dev/null || true
done
die "Portkey did not start on any of: $ports; last log: $(tail -n 5 "$scratch/portkey.log")"
