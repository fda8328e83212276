#!/bin/bash
# Start nginx as a canned upstream: start.sh SRCDIR PREFIX [PORT...]
# Tries each PORT in turn (default 18080..18099) and prints the one it got; the master's PID
# is in PREFIX/nginx.pid (stop with: kill -QUIT "$(cat PREFIX/nginx.pid)").
set -eu
here=$1; prefix=$2; shift 2
ports=${*:-$(seq 18080 18099)}
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || {
  echo "start.sh: nginx is not installed (Debian: apt-get install nginx)" >&2; exit 1; }
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
mkdir -p "$prefix/logs" "$prefix/tmp"
# Workers drop to an unprivileged user when started as root: they must be able to read static/.
chmod 755 "$prefix"

# A chat completion whose whole body is about N bytes: the content is filler text.
body() {
  filler=$(head -c "$1" /dev/zero | tr '\0' 'x')
  printf '{"id":"chatcmpl-bench","object":"chat.completion","created":1700000000,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"%s"},"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":6,"total_tokens":15}}' "$filler"
}
mkdir -p "$prefix/static/bench1k/v1/chat" "$prefix/static/bench10k/v1/chat"
body 790 > "$prefix/static/bench1k/v1/chat/completions"
body 10030 > "$prefix/static/bench10k/v1/chat/completions"
chmod -R a+rX "$prefix/static"

for port in $ports; do
  # A port something else already answers on (another test run's nginx) is not ours to use:
  # the check below would take that server for ours.
  if (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null; then continue; fi
  sed -e "s/@PORT@/$port/g" "$here/nginx.conf.in" > "$prefix/nginx.conf"
  "$NGINX" -p "$prefix" -c "$prefix/nginx.conf" -g 'daemon off;' >"$prefix/logs/stdout" 2>&1 &
  pid=$!
  # Up when it answers; gone when the port was taken. Bounded: 5 s per port.
  i=0
  while [ $i -lt 50 ]; do
    if ! kill -0 $pid 2>/dev/null; then break; fi
    if (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && kill -0 $pid 2>/dev/null; then
      echo $pid > "$prefix/nginx.pid"
      echo "$port"
      exit 0
    fi
    sleep 0.1; i=$((i + 1))
  done
  kill $pid 2>/dev/null || true
  wait $pid 2>/dev/null || true
done
echo "start.sh: nginx did not start on any of: $ports (see $prefix/logs/error.log)" >&2
exit 1
