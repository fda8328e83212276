#!/bin/bash
# Issue #18 with a real redis-server on loopback (tests/redis/redis.sh): a fleet of hosts, each
# a process with its own local cache tier, sharing one Redis through hb-cache-redis.so.
# - 8 processes x 4 threads, each making the same 200 deterministic calls against the fake
#   upstream: the upstream sees exactly 200 requests (shared single flight and entries).
# - Redis killed mid-run: every call still succeeds, and the log has one warning per outage.
# - A corrupt or foreign value under our prefix is ignored and overwritten.
# Under valgrind ($HB_TEST_WRAPPER) the counts are smaller, the assertions the same.
. "$HB_TEST_SRCDIR/tests/cli/lib.sh"
rc=0

HOST_BIN="$HB_TEST_BUILDDIR/tests/redis/fleet-host"
REDIS_SH="$HB_TEST_SRCDIR/tests/redis/redis.sh"
export HB_CACHE_BACKEND_PATH="$HB_TEST_BUILDDIR/plugins/cache-redis/.libs"
PROCS=8 THREADS=4 CALLS=200
if [ -n "${HB_TEST_WRAPPER:-}" ]; then PROCS=2 THREADS=2 CALLS=15; fi

port=$(sh "$REDIS_SH" start standalone "$T/redis") || {
  echo "not ok - redis-server could not be started"; exit 1; }
stop_redis() { sh "$REDIS_SH" stop "$T/redis" >/dev/null 2>&1; }
trap 'stop_redis; cleanup' EXIT

start_upstream '{"routes": {"/v1/chat/completions": [{"repeat": true, "echo": true,
  "chunks": [{"data": "", "delay_ms": 5}]}]}}'

# host N PREFIX THREADS CALLS: one host in the background, its output in $T/host-N.*
host() {
  # shellcheck disable=SC2086
  ${HB_TEST_WRAPPER:-} "$HOST_BIN" "$UP_URL" "127.0.0.1:$port" "$2" "$T/tier-$1" "$3" "$4" \
    >"$T/host-$1.out" 2>"$T/host-$1.err" &
}

hosts=""
for i in $(seq 1 $PROCS); do host "$i" "fleet:" $THREADS $CALLS; hosts="$hosts $!"; done
failed=0
for p in $hosts; do wait "$p" || failed=$((failed + 1)); done
if [ $failed = 0 ]; then ok "every call of the $PROCS hosts succeeded"
else not_ok "$failed hosts had failed calls: $(cat "$T"/host-*.err | head -5)"; fi
n=$(wc -l < "$UP_LOG")
if [ "$n" = "$CALLS" ]; then ok "the upstream saw exactly $CALLS requests for $PROCS x $THREADS x $CALLS calls"
else not_ok "the upstream saw $n requests, want $CALLS"; fi
if ls "$T"/tier-1/cache.sqlite >/dev/null 2>&1; then ok "each host keeps its own local tier"
else not_ok "host 1 has no local tier file"; fi
keys=$(redis-cli -p "$port" --scan --pattern 'fleet:e:text:*' | wc -l)
if [ "$keys" = "$CALLS" ]; then ok "Redis holds the $CALLS entries under the prefix"
else not_ok "Redis holds $keys entries, want $CALLS"; fi
# Keys are hashes; values are the encoded replies (the echo upstream's replies quote the
# prompt, so only the keys are searched for it), never the API key.
redis-cli -p "$port" --scan --pattern '*' > "$T/keys"
xargs -a "$T/keys" redis-cli -p "$port" MGET > "$T/values"
if grep -q "question" "$T/keys"; then not_ok "a prompt is in a Redis key"
else ok "no prompt in Redis keys (hashes)"; fi
if grep -q "sk-fleet-test" "$T/keys" "$T/values"; then not_ok "the API key is in Redis"
else ok "the API key is nowhere in Redis"; fi

# A corrupt value and a foreign one under our prefix: read as misses, then overwritten.
: > "$UP_LOG"
k=$(redis-cli -p "$port" --scan --pattern 'fleet:e:text:*' | head -1)
redis-cli -p "$port" SET "$k" "garbage" >/dev/null
redis-cli -p "$port" --scan --pattern 'fleet:e:text:*' | grep -v "^$k\$" |
  sed 's/^/SET /; s/$/ HVBE-not-ours/' | redis-cli -p "$port" >/dev/null
host c "fleet:" 1 $CALLS
wait $! && ok "a fresh host succeeds over corrupt and foreign values" || not_ok "a fresh host failed: $(cat "$T/host-c.err")"
n=$(wc -l < "$UP_LOG")
if [ "$n" = "$CALLS" ]; then ok "corrupt values are misses (the upstream answered all $CALLS)"
else not_ok "the upstream saw $n requests after corrupting, want $CALLS"; fi
v=$(redis-cli -p "$port" GET "$k" | head -c 4)
if [ "$v" = "HVBE" ] && [ "$(redis-cli -p "$port" STRLEN "$k")" -gt 20 ]; then ok "and they were overwritten"
else not_ok "the corrupt value was not overwritten ($v)"; fi

# Redis killed mid-run: every call succeeds on the local tier; one warning for the outage.
: > "$UP_LOG"
host k "killed:" $THREADS $CALLS
hk=$!
sleep 0.3
sh "$REDIS_SH" kill "$T/redis" "$port"
if wait $hk; then ok "with Redis killed mid-run every call succeeds"
else not_ok "calls failed after Redis was killed: $(head -3 "$T/host-k.err")"; fi
w=$(grep -c "cache backend 'redis' is unavailable" "$T/host-k.err")
if [ "$w" = 1 ]; then ok "the log has one warning for the outage"
else not_ok "the log has $w warnings for one outage: $(head -5 "$T/host-k.err")"; fi

# A 3-master Redis Cluster: the same fleet (8 x 4 x 200) makes one request per call, and the
# entries are spread over all three masters.
ports=$(sh "$REDIS_SH" start cluster "$T/cluster") || { not_ok "the cluster could not be started"; finish; exit 1; }
stop_cluster() { sh "$REDIS_SH" stop "$T/cluster" >/dev/null 2>&1; }
trap 'stop_cluster; stop_redis; cleanup' EXIT
seed=$(echo $ports | cut -d" " -f1)
: > "$UP_LOG"
CPROCS=$PROCS CCALLS=$CALLS
hosts=""
for i in $(seq 1 $CPROCS); do
  # shellcheck disable=SC2086
  ${HB_TEST_WRAPPER:-} "$HOST_BIN" "$UP_URL" "127.0.0.1:$seed" "cl:" "$T/ctier-$i" $THREADS $CCALLS \
    cluster >"$T/chost-$i.out" 2>"$T/chost-$i.err" &
  hosts="$hosts $!"
done
failed=0
for p in $hosts; do wait "$p" || failed=$((failed + 1)); done
if [ $failed = 0 ]; then ok "cluster: every call of the $CPROCS hosts succeeded"
else not_ok "cluster: $failed hosts failed: $(cat "$T"/chost-*.err | head -5)"; fi
n=$(wc -l < "$UP_LOG")
if [ "$n" = "$CCALLS" ]; then ok "cluster: the upstream saw exactly $CCALLS requests"
else not_ok "cluster: the upstream saw $n requests, want $CCALLS"; fi
spread=0
for p in $(echo $ports | cut -d" " -f1-3); do
  c=$(redis-cli -p "$p" --scan --pattern 'cl:e:text:*' | wc -l)
  [ "$c" -gt 0 ] && spread=$((spread + 1))
done
if [ $spread = 3 ]; then ok "cluster: entries are on all three masters"
else not_ok "cluster: entries are on $spread masters, want 3"; fi

# Sentinel: a master, a replica and three Sentinels. The master is killed mid-run: no call is
# lost (the local tier serves while the Sentinels fail over), and the run finishes on the
# promoted replica (entries written after the kill are there). A slower upstream makes the run
# outlast the failover (about 3 s).
if [ -z "${HB_TEST_WRAPPER:-}" ]; then
# (Not `set -- $(...) || ...`: set succeeds whatever the command did.)
sports=$(sh "$REDIS_SH" start sentinel "$T/sentinel") || {
  not_ok "sentinels could not be started"; finish; exit 1; }
# shellcheck disable=SC2086
set -- $sports
smaster=$1 s1=$3 s2=$4 s3=$5
stop_sentinel() { sh "$REDIS_SH" stop "$T/sentinel" >/dev/null 2>&1; }
trap 'stop_sentinel; stop_cluster; stop_redis; cleanup' EXIT
rm -f "$T/port"
start_upstream '{"routes": {"/v1/chat/completions": [{"repeat": true, "echo": true,
  "chunks": [{"data": "", "delay_ms": 20}]}]}}'
"$HOST_BIN" "$UP_URL" "127.0.0.1:$s1,127.0.0.1:$s2,127.0.0.1:$s3" "sen:" "$T/stier" 1 400 sentinel \
  >"$T/shost.out" 2>"$T/shost.err" &
sh_pid=$!
sleep 1
sh "$REDIS_SH" kill "$T/sentinel" "$smaster"
newm=$(sh "$REDIS_SH" wait-master "$T/sentinel" "$smaster" 20) || newm=""
before=$(redis-cli -p "${newm:-0}" --scan --pattern 'sen:e:text:*' 2>/dev/null | wc -l)
if wait $sh_pid; then ok "sentinel: killing the master mid-run loses no call"
else not_ok "sentinel: calls failed: $(head -3 "$T/shost.err")"; fi
after=$(redis-cli -p "${newm:-0}" --scan --pattern 'sen:e:text:*' 2>/dev/null | wc -l)
if [ -n "$newm" ] && [ "$newm" != "$smaster" ] && [ "$after" -gt "$before" ]; then
  ok "sentinel: the run finished on the promoted replica ($before entries at the failover, $after at the end)"
else not_ok "sentinel: new master '$newm', entries $before then $after"; fi
fi

finish
