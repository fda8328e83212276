#!/bin/bash
# Start the OTLP receiver of tests/otel on loopback: start.sh SCRATCH
#
# Installs protobufjs@7.5.4 once into a cache directory
#   ${HB_PEERS_DIR:-$HOME/.cache/heavenbase-test-peers}/protobufjs
# (npm gets a HOME and a cache of its own there, as tests/portkey/start.sh explains), then
# starts receiver.js, which decodes OTLP with the .proto files of tests/otel/proto. Prints
# the port; the PID is in SCRATCH/receiver.pid, the decoded spans go to SCRATCH/spans.jsonl,
# the log to SCRATCH/receiver.log. Every step is bounded in time; a failure exits non-zero
# with the reason on stderr.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
scratch=$1
version=7.5.4
dir="${HB_PEERS_DIR:-$HOME/.cache/heavenbase-test-peers}/protobufjs"
peer_home="$dir/home"

die() { echo "start.sh: $*" >&2; exit 1; }
command -v node >/dev/null 2>&1 || die "node is not installed (Debian: apt-get install nodejs npm)"
mkdir -p "$scratch" "$dir" "$peer_home" || die "cannot create $scratch or $dir"
export HOME="$peer_home" npm_config_cache="$dir/npm-cache"

installed() {
  node -e 'try { process.stdout.write(require(process.argv[1] + "/package.json").version) } catch (e) {}' \
    "$dir/node_modules/protobufjs"
}

exec 9>"$dir/.lock"
flock -w 660 9 || die "timed out waiting for another install in $dir"
if [ "$(installed)" != "$version" ]; then
  command -v npm >/dev/null 2>&1 || die "npm is not installed (Debian: apt-get install nodejs npm)"
  cat > "$dir/package.json" <<JSON
{
  "name": "heavenbase-test-protobufjs",
  "private": true,
  "description": "protobufjs for HeavenBase's OTLP tests (written by tests/otel/start.sh)",
  "dependencies": { "protobufjs": "$version" }
}
JSON
  echo "start.sh: installing protobufjs@$version into $dir" >&2
  (cd "$dir" && timeout 600 npm install --no-audit --no-fund --no-update-notifier --loglevel=error \
     >"$dir/npm-install.log" 2>&1) ||
    die "npm install of protobufjs@$version failed; see $dir/npm-install.log: $(tail -n 5 "$dir/npm-install.log")"
  [ "$(installed)" = "$version" ] || die "protobufjs@$version did not install"
fi
exec 9>&-

rm -f "$scratch/port"
: > "$scratch/spans.jsonl"
NODE_PATH="$dir/node_modules" node "$here/receiver.js" "$here/proto" "$scratch/port" \
  "$scratch/spans.jsonl" >"$scratch/receiver.log" 2>&1 &
echo $! > "$scratch/receiver.pid"
i=0
while [ ! -s "$scratch/port" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
[ -s "$scratch/port" ] || die "the receiver did not start: $(cat "$scratch/receiver.log")"
cat "$scratch/port"
