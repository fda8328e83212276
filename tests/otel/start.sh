#!/bin/bash
# Start the OTLP receiver of tests/otel on loopback: start.sh SCRATCH
#
# Installs protobufjs@7.5.4 once into a cache directory
#   ${HB_PEERS_DIR:-$HOME/.cache/heavenbase-test-peers}/protobufjs
# (tests/peers/npm-install.sh), then
# starts receiver.js, which decodes OTLP with the .proto files of tests/otel/proto. Prints
# the port; the PID is in SCRATCH/receiver.pid, the decoded spans go to SCRATCH/spans.jsonl,
# the log to SCRATCH/receiver.log. Every step is bounded in time; a failure exits non-zero
# with the reason on stderr.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
scratch=$1
die() { echo "start.sh: $*" >&2; exit 1; }
mkdir -p "$scratch" || die "cannot create $scratch"
dir=$("$here/../peers/npm-install.sh" protobufjs protobufjs@7.5.4)
# node keeps out of the HOME make check gives (the build tree), as npm did.
export HOME="$dir/home"

rm -f "$scratch/port"
: > "$scratch/spans.jsonl"
NODE_PATH="$dir/node_modules" node "$here/receiver.js" "$here/proto" "$scratch/port" \
  "$scratch/spans.jsonl" >"$scratch/receiver.log" 2>&1 &
echo $! > "$scratch/receiver.pid"
i=0
while [ ! -s "$scratch/port" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
[ -s "$scratch/port" ] || die "the receiver did not start: $(cat "$scratch/receiver.log")"
cat "$scratch/port"
