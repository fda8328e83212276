#!/bin/sh
# Real Redis servers on loopback for the tests: standalone, a 3-master Cluster (with optional
# replicas), or a master, a replica and 3 Sentinels; each on a random free port, all inside one
# scratch directory DIR, stopped by their pids (never by name, never the Debian service).
#
#   redis.sh start standalone DIR [redis-server args...]  prints PORT
#   redis.sh start cluster DIR [REPLICAS_PER_MASTER]      prints the 3 masters' ports, then the replicas'
#   redis.sh start sentinel DIR                           prints MASTER REPLICA S1 S2 S3 (master name
#                                                         hbm, or $REDIS_SH_MASTER_NAME)
#   redis.sh stop DIR                                     stops every server of DIR
#   redis.sh kill DIR PORT                                SIGKILL to one server (a crash)
#   redis.sh restart DIR PORT                             starts it again, same port and args
#   redis.sh failover DIR                                 SENTINEL FAILOVER, waits for it, makes the old
#                                                         master a replica of the new; prints the new port
#   redis.sh master DIR                                   prints the port the sentinels name as master
#   redis.sh tls-certs DIR                                writes a CA (ca.crt), a server certificate for
#                                                         127.0.0.1 and localhost (server.crt/.key) and a
#                                                         client one (client.crt/.key) into DIR (openssl)
#   redis.sh wait-master DIR OLD_PORT [SECONDS]           waits until all sentinels name a master other
#                                                         than OLD_PORT (after a kill); prints it
#
# Extra args may contain @PORT@ (replaced by the port chosen), e.g. for TLS:
#   redis.sh start standalone DIR --port 0 --tls-port @PORT@ --tls-cert-file ... 
# Each server lives in DIR/PORT/ (its log, pid file, args; nodes.conf for a cluster node).
# A missing redis-server, redis-cli or openssl is an error (exit 1), not a skip: they are
# test dependencies, in the README's apt line and debian/control's Build-Depends.
set -eu

die() { echo "redis.sh: $*" >&2; exit 1; }
command -v redis-server >/dev/null 2>&1 || { echo "redis.sh: redis-server is not installed (Debian: apt-get install redis-server)" >&2; exit 1; }
command -v redis-cli >/dev/null 2>&1 || { echo "redis.sh: redis-cli is not installed (Debian: apt-get install redis-server)" >&2; exit 1; }

NAME=${REDIS_SH_MASTER_NAME:-hbm}

# A random port in 20000..49999: the cluster bus is port+10000, and below the ephemeral range
# start (32768) would be better still, but 15000 ports are too few for parallel runs.
random_port() {
  n=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
  echo $((20000 + n % 30000))
}

port_busy() { redis-cli -p "$1" --no-raw ping >/dev/null 2>&1 && return 0
  [ -d "$DIR/$1" ]; }

# wait_ready DIR/PORT: 0 when the server listens, 1 when it died (port taken, bad args).
wait_ready() {
  i=0
  while [ $i -lt 100 ]; do
    if grep -qE 'Ready to accept connections|Sentinel ID is' "$1/log" 2>/dev/null; then return 0; fi
    if grep -qiE 'Address already in use|FATAL|Fatal error|Bad directive|Unrecognized|Exiting|Aborting' "$1/log" 2>/dev/null
    then return 1; fi
    sleep 0.05; i=$((i + 1))
  done
  return 1
}

# launch PORT: (re)starts the server whose args are in DIR/PORT/args.
launch() {
  d="$DIR/$1"
  rm -f "$d/log" "$d/pid"
  # shellcheck disable=SC2046
  (cd "$d" && eval "set -- $(cat args)" && exec "$@") </dev/null >/dev/null 2>&1
  if wait_ready "$d" && [ -s "$d/pid" ]; then cp "$d/pid" "$d/server.pid"; return 0; fi
  [ -f "$d/pid" ] && kill "$(cat "$d/pid")" 2>/dev/null || true
  return 1
}

# alive PID: running (a zombie, reaped by nobody yet, is dead).
alive() { st=$(ps -o stat= -p "$1" 2>/dev/null) || return 1; case "$st" in Z*|"") return 1;; esac; }

# quote: each arg single-quoted for eval.
quote() { for a in "$@"; do printf "'%s' " "$(printf '%s' "$a" | sed "s/'/'\\\\''/g")"; done; }

# write_args PORT args...: the command line of the server on PORT, into DIR/PORT/args.
write_args() {
  p=$1; shift
  d="$DIR/$p"; mkdir -p "$d"
  extra=$(quote "$@" | sed "s/@PORT@/$p/g")
  if [ "$KIND" = sentinel ]; then
    printf 'port %s\nbind 127.0.0.1\ndir %s\n%s\n' "$p" "$d" "$SENTINEL_CONF" > "$d/sentinel.conf"
    echo "redis-server '$d/sentinel.conf' --sentinel --daemonize yes --logfile '$d/log' --pidfile '$d/pid' $extra" > "$d/args"
  else
    echo "redis-server --port $p --bind 127.0.0.1 --save '' --appendonly no --repl-diskless-sync-delay 0 --dir '$d' --daemonize yes --logfile '$d/log' --pidfile '$d/pid' $extra" > "$d/args"
  fi
}

# free_port: a random port nobody answers on and none of ours uses.
free_port() {
  tries=0
  while [ $tries -lt 50 ]; do
    tries=$((tries + 1)); p=$(random_port)
    port_busy "$p" || { echo "$p"; return 0; }
  done
  die "no free port found"
}

# start_one args...: starts a server on a free port, prints the port.
start_one() {
  tries=0
  while [ $tries -lt 20 ]; do
    tries=$((tries + 1))
    p=$(free_port)
    write_args "$p" "$@"
    if launch "$p"; then echo "$p"; return 0; fi
    rm -rf "${DIR:?}/$p"
  done
  die "no free port after 20 tries"
}

stop_all() {
  for f in "$DIR"/*/server.pid; do
    [ -f "$f" ] || continue
    kill "$(cat "$f")" 2>/dev/null || true
  done
  for f in "$DIR"/*/server.pid; do
    [ -f "$f" ] || continue
    i=0; while alive "$(cat "$f")" && [ $i -lt 50 ]; do sleep 0.05; i=$((i + 1)); done
    alive "$(cat "$f")" && kill -9 "$(cat "$f")" 2>/dev/null
    rm -f "$f"
  done
}

cli() { p=$1; shift; redis-cli -p "$p" "$@" 2>/dev/null; }

start_cluster() {
  replicas=${1:-0}
  KIND=server
  masters=""; all=""
  for i in 1 2 3; do p=$(start_one --cluster-enabled yes --cluster-config-file nodes.conf \
    --cluster-node-timeout 2000); masters="$masters $p"; done
  reps=""
  j=0; while [ $j -lt $((3 * replicas)) ]; do
    p=$(start_one --cluster-enabled yes --cluster-config-file nodes.conf --cluster-node-timeout 2000)
    reps="$reps $p"; j=$((j + 1)); done
  # By hand rather than redis-cli --cluster create, which sleeps whole seconds between steps.
  k=0
  for p in $masters; do
    cli "$p" cluster addslotsrange $((k * 5462)) $(( k == 2 ? 16383 : k * 5462 + 5461 )) >/dev/null
    k=$((k + 1))
  done
  first=${masters%% *}; first=${masters# }; first=${first%% *}
  for p in $masters $reps; do cli "$first" cluster meet 127.0.0.1 "$p" >/dev/null; done
  k=0
  for p in $reps; do
    m=$(echo $masters | cut -d' ' -f$((k % 3 + 1)))
    id=$(cli "$m" cluster myid)
    i=0; until cli "$p" cluster nodes | grep -q "^$id "; do
      i=$((i + 1)); [ $i -lt 200 ] || die "replica $p never met $m"; sleep 0.05; done
    cli "$p" cluster replicate "$id" | grep -q OK || die "CLUSTER REPLICATE failed on $p"
    k=$((k + 1))
  done
  i=0
  while [ $i -lt 200 ]; do
    ok=1
    for p in $masters $reps; do cli "$p" cluster info | grep -q 'cluster_state:ok' || ok=0; done
    # every node must know all the others' slots before the first client asks
    for p in $masters $reps; do
      [ "$(cli "$p" cluster slots | grep -c '^127.0.0.1$')" -ge 3 ] || ok=0; done
    [ $ok = 1 ] && break
    sleep 0.05; i=$((i + 1))
  done
  [ $ok = 1 ] || die "cluster not ok after 10 s"
  echo $masters $reps
}

sentinel_master() { cli "$1" sentinel get-master-addr-by-name "$NAME" | sed -n 2p; }

# A 40-hex-digit Sentinel id.
sentinel_id() { od -An -N20 -tx1 /dev/urandom | tr -d ' \n'; }

# launch_sentinels MASTER REPLICA: three sentinels on new free ports (p1 p2 p3); 1 when one
# of them could not start (the others are then stopped and their directories removed).
launch_sentinels() {
  p1=$(free_port); p2=$(free_port); p3=$(free_port)
  [ "$p1" != "$p2" ] && [ "$p2" != "$p3" ] && [ "$p1" != "$p3" ] || return 1
  i1=$(sentinel_id); i2=$(sentinel_id); i3=$(sentinel_id)
  for me in 1 2 3; do
    eval "port=\$p$me id=\$i$me"
    SENTINEL_CONF="sentinel myid $id
sentinel monitor $NAME 127.0.0.1 $1 2
sentinel down-after-milliseconds $NAME 1000
sentinel failover-timeout $NAME 3000
sentinel parallel-syncs $NAME 1
sentinel known-replica $NAME 127.0.0.1 $2"
    for o in 1 2 3; do
      [ $o = $me ] && continue
      eval "SENTINEL_CONF=\"\$SENTINEL_CONF
sentinel known-sentinel $NAME 127.0.0.1 \$p$o \$i$o\""
    done
    write_args "$port"
    if ! launch "$port"; then
      for q in $p1 $p2 $p3; do
        [ -f "$DIR/$q/server.pid" ] && kill "$(cat "$DIR/$q/server.pid")" 2>/dev/null
        rm -rf "${DIR:?}/$q"
      done
      return 1
    fi
  done
  return 0
}

start_sentinel() {
  KIND=server
  m=$(start_one)
  r=$(start_one --replicaof 127.0.0.1 "$m")
  # Each sentinel is told its own id, the replica and the other two up front, as its config
  # file would after a while: discovering them (hello messages every 2 s) takes seconds. Their
  # configs name each other's ports, so a port found taken at launch (by a client socket of
  # the ephemeral range, say) means new ports for all three.
  KIND=sentinel
  tries=0
  until launch_sentinels "$m" "$r"; do
    tries=$((tries + 1)); [ $tries -lt 10 ] || die "the sentinels did not start in 10 tries"
  done
  s1=$p1; s2=$p2; s3=$p3
  i=0
  while [ $i -lt 300 ]; do
    ok=1
    for s in $s1 $s2 $s3; do
      cli "$s" sentinel master "$NAME" | tr '\n' ' ' | grep -q 'num-slaves 1 .*num-other-sentinels 2 ' || ok=0
    done
    cli "$r" info replication | grep -q 'master_link_status:up' || ok=0
    [ $ok = 1 ] && break
    sleep 0.05; i=$((i + 1))
  done
  [ $ok = 1 ] || die "sentinels not ready after 15 s"
  echo "$m $r $s1 $s2 $s3"
}

sentinels() { for d in "$DIR"/*/; do [ -f "$d/sentinel.conf" ] && basename "$d"; done; }

# wait_master OLD SECONDS: every sentinel names a master other than OLD, which says it is one.
wait_master() {
  old=$1; limit=$(($2 * 20)); i=0
  while [ $i -lt "$limit" ]; do
    new=""; ok=1
    for s in $(sentinels); do
      m=$(sentinel_master "$s")
      if [ -z "$m" ] || [ "$m" = "$old" ]; then ok=0; fi
      if [ -n "$new" ] && [ "$m" != "$new" ]; then ok=0; fi
      new=$m
    done
    if [ $ok = 1 ] && cli "$new" role | head -n 1 | grep -q '^master$'; then echo "$new"; return 0; fi
    sleep 0.05; i=$((i + 1))
  done
  die "no new master after $2 s"
}

tls_certs() {
  command -v openssl >/dev/null 2>&1 || { echo "redis.sh: openssl is not installed (Debian: apt-get install openssl)" >&2; exit 1; }
  mkdir -p "$DIR"; cd "$DIR"
  key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 -out "$1" 2>/dev/null; }
  key ca.key; key server.key; key client.key
  openssl req -x509 -new -key ca.key -out ca.crt -days 2 -subj /CN=hb-test-ca 2>/dev/null
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' > server.ext
  openssl req -new -key server.key -subj /CN=localhost 2>/dev/null |
    openssl x509 -req -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -extfile server.ext \
      -out server.crt 2>/dev/null
  openssl req -new -key client.key -subj /CN=hb-test-client 2>/dev/null |
    openssl x509 -req -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -out client.crt 2>/dev/null
  [ -s server.crt ] && [ -s client.crt ] || die "certificate generation failed"
  echo "$DIR"
}

[ $# -ge 1 ] || die "usage: redis.sh start|stop|kill|restart|failover|master|wait-master ..."
cmd=$1; shift
case "$cmd" in
  start)
    kind=$1; DIR=$2; shift 2
    mkdir -p "$DIR"; DIR=$(cd "$DIR" && pwd)
    case "$kind" in
      standalone) KIND=server; start_one "$@" ;;
      cluster) start_cluster "${1:-0}" ;;
      sentinel) start_sentinel ;;
      *) die "unknown kind $kind" ;;
    esac ;;
  stop) DIR=$1; [ -d "$DIR" ] && stop_all ;;
  kill) DIR=$1; f="$DIR/$2/server.pid"; [ -f "$f" ] || die "no server on port $2"
    pid=$(cat "$f"); kill -9 "$pid" 2>/dev/null || true
    i=0; while alive "$pid" && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
    rm -f "$f" ;;
  restart) DIR=$1; [ -f "$DIR/$2/args" ] || die "no server on port $2"; launch "$2" || die "restart failed" ;;
  failover) DIR=$1
    s=$(sentinels | head -n 1); old=$(sentinel_master "$s")
    cli "$s" sentinel failover "$NAME" | grep -q OK || die "SENTINEL FAILOVER refused"
    new=$(wait_master "$old" 20)
    # The sentinels demote the old master only at their next look at it (INFO every 10 s):
    # do it now, as they will, so that it replicates from the new one at once.
    cli "$old" replicaof 127.0.0.1 "$new" >/dev/null
    echo "$new" ;;
  master) DIR=$1; sentinel_master "$(sentinels | head -n 1)" ;;
  wait-master) DIR=$1; wait_master "$2" "${3:-20}" ;;
  tls-certs) DIR=$1; tls_certs ;;
  *) die "unknown command $cmd" ;;
esac
