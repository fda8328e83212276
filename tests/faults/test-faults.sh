#!/bin/bash
# tests/faults/test-faults.sh: the fault suite. Runs every row of tests/faults/cases.sh (a table:
# one `row` per case) against hb, and the rows marked via=both against the library too
# (tests/faults/fault-call), each with a fresh config, cache and fake upstream
# (tests/upstream, scripted by tests/faults/scripts/*.json), and asserts for each: the exit
# status, the error class (library runs) and message, the time bound, the cache entries and
# upstream requests afterwards, and that no part of the API key appears anywhere (stdout,
# stderr at HB_LOG=debug, the cache files, `hb spec`). Under --enable-valgrind hb and the
# driver run under valgrind, like every CLI test. Prints the table "case | expected |
# observed | ok" at the end.
#
# Environment: HB_FAULTS_ONLY="name ..." (or a shell pattern such as 't-*') runs a subset;
# HB_FAULTS_PENDING=run runs the rows listed in PENDING too (they wait on a fix and are shown
# as PENDING otherwise).
. "$(dirname "$0")/../cli/lib.sh"

FAULTS_DIR="$HB_TEST_SRCDIR/tests/faults"
CALL_BIN="$HB_TEST_BUILDDIR/tests/faults/fault-call"
# The wrapper (valgrind) is slow to start; time bounds get this much more under it.
SLACK=0
[ -n "${HB_TEST_WRAPPER:-}" ] && SLACK=10
TABLE="$T/table"
# The fake upstreams of a case that did not finish (a failed setup, an interrupted run).
trap 'for f in "$T"/*/*.pid; do [ -e "$f" ] && kill "$(cat "$f")" 2>/dev/null; done; cleanup' EXIT
: >"$TABLE"
npending=0
nskipped=0

# An API key of `n` characters: "sk-hbfault-" and letters, every 16-character piece of it
# unlike anything else the suite prints, so that a partly redacted key is caught too.
make_key() {
  local n=$1 s="sk-hbfault-" i=0
  while [ ${#s} -lt "$n" ]; do
    s="$s$(printf 'hbfault%d' $i | sha256sum | cut -c1-64 | tr '0-9a-f' 'QwErTyUiOpAsDfGh')"
    i=$((i + 1))
  done
  printf '%s' "${s:0:$n}"
}

# The pieces of the key looked for in every output: 16 characters every 8.
key_pieces() {
  local k=$1 i=0
  while [ $((i + 16)) -le ${#k} ]; do printf '%s\n' "${k:$i:16}"; i=$((i + 8)); done
}

# Placeholders in a command word or a script: @UP@ and @UP2@ (the fake upstreams' URLs),
# @KEY@ (the key), @KEYHEAD@ (its first half), @CASE@ (the case's directory), @SRC@,
# @BUILD@, @DATE+N@ (an HTTP date N seconds ahead).
subst() {
  local s=$1 n d
  s=${s//@UP@/${UP:-http://127.0.0.1:1}}
  s=${s//@UP2@/${UP2:-http://127.0.0.1:1}}
  s=${s//@KEYHEAD@/${KEY:0:$((${#KEY} / 2))}}
  s=${s//@KEY@/$KEY}
  s=${s//@CASE@/$D}
  s=${s//@SRC@/$HB_TEST_SRCDIR}
  s=${s//@BUILD@/$HB_TEST_BUILDDIR}
  while [[ $s =~ @DATE\+([0-9]+)@ ]]; do
    n=${BASH_REMATCH[1]}
    d=$(LC_ALL=C date -u -d "@$(($(date +%s) + n))" '+%a, %d %b %Y %H:%M:%S GMT')
    s=${s//@DATE+$n@/$d}
  done
  printf '%s' "$s"
}

# start_up NAME SCRIPT: a fake upstream serving tests/faults/scripts/SCRIPT.json; prints its URL.
start_up() {
  local name=$1 script=$2 i=0
  subst "$(cat "$FAULTS_DIR/scripts/$script.json")" >"$D/$name.json"
  : >"$D/$name.log"
  "$UPSTREAM_BIN" --script "$D/$name.json" --port-file "$D/$name.port" --log "$D/$name.log" \
    >/dev/null 2>"$D/$name.err" &
  echo $! >"$D/$name.pid"
  while [ ! -s "$D/$name.port" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
  [ -s "$D/$name.port" ] || { echo "fake upstream $script did not start: $(cat "$D/$name.err")" >&2; return 1; }
  echo "http://127.0.0.1:$(cat "$D/$name.port")"
}

stop_ups() {
  local f
  for f in "$D"/*.pid; do
    [ -e "$f" ] || continue
    kill "$(cat "$f")" 2>/dev/null; wait "$(cat "$f")" 2>/dev/null; rm -f "$f"
  done
}

# hb_plain ARGS...: hb without the wrapper, for the suite's own look-ups (cache, spec).
hb_plain() { "$HB_BIN" "$@"; }

# Entries in the case's response cache, all namespaces ("-" when hb cannot tell).
cache_entries() {
  local n
  n=$(HB_LOG= hb_plain cache stats 2>/dev/null | awk '$1 == "text" || $1 == "embedding" || $1 == "image" { s += $2 } END { print s + 0 }')
  printf '%s' "${n:--}"
}

requests() { if [ -f "$D/$1.log" ]; then wc -l <"$D/$1.log" | tr -d ' '; else echo 0; fi; }

# The row's fields, reset for each row.
reset_fields() {
  r_defect=- r_via=hb r_script= r_script2= r_exit=0 r_class= r_err= r_noerr= r_out= r_noout= r_bound=
  r_min= r_cache= r_reqs= r_reqs2= r_runs=1 r_pre= r_check= r_stdin= r_env= r_keylen=200
  r_log=debug r_ulimit= r_cwd=work
}

# run_cmd ARGS...: one run of the case's command (already substituted) with its stdin, env
# and limits; stdout and stderr appended to $D/out and $D/err; sets rc and ms.
run_cmd() {
  local limit=$((${r_bound:-20} * 3 + 30 + SLACK * 4)) start
  local -a envs=()
  [ -n "$r_env" ] && read -r -a envs <<<"$(subst "$r_env")"
  if [ "$r_log" = default ]; then envs+=(HB_LOG=); else envs+=(HB_LOG="$r_log"); fi
  if [ -n "$r_ulimit" ]; then set -- bash -c "ulimit -f $r_ulimit; exec \"\$@\"" ulimit "$@"; fi
  start=$(date +%s%N)
  # shellcheck disable=SC2059
  printf "$r_stdin" | env "${envs[@]}" timeout -k 5 "$limit" "$@" 2>"$D/err.1" | cat >"$D/out.1"
  rc=${PIPESTATUS[1]}
  ms=$((($(date +%s%N) - start) / 1000000))
  cat "$D/out.1" >>"$D/out"; cat "$D/err.1" >>"$D/err"
}

fmt_s() { printf '%d.%01ds' $(($1 / 1000)) $((($1 % 1000) / 100)); }

# What the row expects, in a few words for the table.
expected_text() {
  local e="exit=$r_exit"
  [ "$1" = lib ] && [ -n "$r_class" ] && e="$e $r_class"
  [ -n "$r_err" ] && e="$e /$r_err/"
  [ -n "$r_out" ] && e="$e out:/$r_out/"
  [ -n "$r_noout" ] && e="$e out:!/$r_noout/"
  [ -n "$r_noerr" ] && e="$e !/$r_noerr/"
  [ -n "$r_bound" ] && e="$e <${r_bound}s"
  [ -n "$r_min" ] && e="$e >=${r_min}s"
  [ -n "$r_cache" ] && e="$e cache=$r_cache"
  [ -n "$r_reqs" ] && e="$e reqs=$r_reqs"
  [ -n "$r_reqs2" ] && e="$e reqs2=$r_reqs2"
  [ -n "$r_check" ] && e="$e +$r_check"
  printf '%s' "$e"
}

exit_ok() {
  case $r_exit in
    any) return 0 ;;
    '!0') [ "$rc" != 0 ] ;;
    *) [ "$rc" = "$r_exit" ] ;;
  esac
}

# check_run VIA: every assertion of the row on the finished run; sets observed and problems.
check_run() {
  local via=$1 class=- n secret
  problems=""
  observed="exit=$rc"
  exit_ok || problems="$problems; exit $rc, want $r_exit"
  if [ "$via" = lib ]; then
    class=$(sed -n 's/^fault-call: \([A-Z_]*\): .*/\1/p' "$D/err.1" | tail -n 1)
    observed="$observed ${class:--}"
    [ -z "$r_class" ] || [ "$class" = "$r_class" ] || problems="$problems; class ${class:-none}, want $r_class"
  fi
  if [ -n "$r_err" ] && ! grep -Eqi -- "$r_err" "$D/err.1"; then
    problems="$problems; stderr lacks /$r_err/"
  fi
  if [ -n "$r_noerr" ] && grep -Eqi -- "$r_noerr" "$D/err.1"; then
    problems="$problems; stderr has /$r_noerr/"
  fi
  if [ -n "$r_out" ] && ! grep -Eq -- "$r_out" "$D/out.1"; then
    problems="$problems; stdout lacks /$r_out/"
  fi
  if [ -n "$r_noout" ] && grep -Eqi -- "$r_noout" "$D/out.1"; then
    problems="$problems; stdout has /$r_noout/"
  fi
  observed="$observed $(fmt_s "$ms")"
  if [ -n "$r_bound" ] && [ "$ms" -gt $(((r_bound + SLACK) * 1000)) ]; then
    problems="$problems; took $(fmt_s "$ms"), bound ${r_bound}s"
  fi
  if [ -n "$r_min" ] && [ "$ms" -lt "$(awk -v m="$r_min" 'BEGIN { printf "%d", m * 1000 }')" ]; then
    problems="$problems; took $(fmt_s "$ms"), want at least ${r_min}s"
  fi
  if [ -n "$r_reqs" ]; then
    n=$(requests up); observed="$observed reqs=$n"
    [ "$n" = "$r_reqs" ] || problems="$problems; $n upstream requests, want $r_reqs"
  fi
  if [ -n "$r_reqs2" ]; then
    n=$(requests up2); observed="$observed reqs2=$n"
    [ "$n" = "$r_reqs2" ] || problems="$problems; $n requests to the second upstream, want $r_reqs2"
  fi
  # The key: in no output, not in the cache files, not in `hb spec` of the same setup.
  HB_LOG=debug hb_plain spec --provider openai --base-url "${UP:-http://127.0.0.1:1}/v1" \
    -m gpt-4o-mini --api-key-env HB_FAULT_KEY --json >"$D/spec" 2>&1
  key_pieces "$KEY" >"$D/pieces"
  secret=""
  for f in "$D/out" "$D/err" "$D/spec" "$D"/cache/llm-cache/*; do
    [ -f "$f" ] && grep -aqF -f "$D/pieces" "$f" && secret="$secret ${f#"$D"/}"
  done
  [ -z "$secret" ] || problems="$problems; key leaked in:$secret"
  if [ -n "$r_cache" ]; then
    n=$(cache_entries); observed="$observed cache=$n"
    [ "$n" = "$r_cache" ] || problems="$problems; $n cache entries, want $r_cache"
  fi
  if [ -n "$r_check" ]; then
    if "$r_check" >"$D/check" 2>&1; then observed="$observed +$r_check"
    else problems="$problems; $r_check: $(head -c 300 "$D/check" | tr '\n' ' ')"; fi
  fi
  [ -z "$secret" ] && observed="$observed nokey"
  problems=${problems#; }
}

# run_via NAME VIA ARGS...: one run of a row (hb or lib) in a fresh directory.
run_via() {
  local name=$1 via=$2 i word
  shift 2
  D="$T/$name.$via"
  mkdir -p "$D/config" "$D/cache" "$D/work" "$D/home"
  export HB_CONFIG_DIR="$D/config" HB_CACHE_DIR="$D/cache"
  KEY=$(make_key "$r_keylen")
  export HB_FAULT_KEY="$KEY"
  UP= UP2=
  if [ -n "$r_script2" ]; then UP2=$(start_up up2 "$r_script2") || return 1; fi
  if [ -n "$r_script" ]; then UP=$(start_up up "$r_script") || return 1; fi
  W="$D/$r_cwd"
  mkdir -p "$W"
  cd "$W" || return 1
  : >"$D/out"; : >"$D/err"
  if [ -n "$r_pre" ]; then
    "$r_pre" >"$D/pre" 2>&1
    case $? in
      0) ;;
      77) skipped="$(head -c 200 "$D/pre" | tr '\n' ' ')"; return 0 ;;
      *) problems="setup $r_pre failed: $(head -c 300 "$D/pre" | tr '\n' ' ')"; observed="-"
         return 0 ;;
    esac
  fi
  local -a cmd=()
  if [ "$via" = sh ]; then
    cmd=(bash -c "$(subst "$*")")
  else
    if [ "$via" = lib ]; then cmd=(${HB_TEST_WRAPPER:-} "$CALL_BIN"); else cmd=(${HB_TEST_WRAPPER:-} "$HB_BIN"); fi
    for word in "$@"; do
      if [ "$word" = @CHAT@ ]; then
        cmd+=(chat --provider openai --base-url "${UP:-http://127.0.0.1:1}/v1" -m gpt-4o-mini --api-key-env HB_FAULT_KEY)
      else
        cmd+=("$(subst "$word")")
      fi
    done
  fi
  for ((i = 0; i < r_runs; i++)); do run_cmd "${cmd[@]}"; done
  check_run "$via"
  stop_ups
  cd "$T" || return 1
}

# row NAME [field=value]... -- COMMAND...: one case (see cases.sh for the fields).
row() {
  local name=$1 f via e
  shift
  reset_fields
  while [ $# -gt 0 ] && [ "$1" != -- ]; do
    f=${1%%=*}
    case $f in
      defect|via|script|script2|exit|class|err|noerr|out|noout|bound|min|cache|reqs|reqs2|runs|pre|check|stdin|env|keylen|log|ulimit|cwd)
        printf -v "r_$f" '%s' "${1#*=}" ;;
      *) echo "cases.sh: row $name: unknown field '$1'"; exit 99 ;;
    esac
    shift
  done
  [ "${1:-}" = -- ] && shift
  if [ -n "${HB_FAULTS_ONLY:-}" ]; then
    local want match=0 wants
    read -r -a wants <<<"$HB_FAULTS_ONLY" # not `for want in $HB_FAULTS_ONLY`: no globbing
    for want in "${wants[@]}"; do
      # shellcheck disable=SC2053
      [[ $name == $want ]] && match=1
    done
    [ $match = 1 ] || return 0
  fi
  local vias=$r_via
  [ "$r_via" = both ] && vias="hb lib"
  local tag=""
  [ "$r_defect" != - ] && tag=" #13.$r_defect"
  for via in $vias; do
    e=$(expected_text "$via")
    if [[ " ${PENDING//$'\n'/ } " == *" $name "* ]] && [ "${HB_FAULTS_PENDING:-}" != run ]; then
      npending=$((npending + 1))
      printf '%s\t%s\t%s\t%s\n' "$name [$via]$tag" "$e" "(not run)" "PENDING #13.$r_defect" >>"$TABLE"
      echo "# $name [$via]: pending #13.$r_defect, not run"
      continue
    fi
    problems="" observed="-" skipped=""
    run_via "$name" "$via" "$@" || problems="could not set up: ${problems:-see above}"
    if [ -n "$skipped" ]; then
      echo "# $name [$via]$tag: SKIP: $skipped"
      printf '%s\t%s\t%s\t%s\n' "$name [$via]$tag" "$e" "(not run)" "SKIP: $skipped" >>"$TABLE"
      nskipped=$((nskipped + 1))
    elif [ -z "$problems" ]; then
      ok "$name [$via]$tag: $observed"
      printf '%s\t%s\t%s\t%s\n' "$name [$via]$tag" "$e" "$observed" "ok" >>"$TABLE"
    else
      fails=$((fails + 1))
      echo "not ok - $name [$via]$tag: $problems"
      sed 's/^/  stdout: /' "$D/out" | cat -v | head -n 10
      sed 's/^/  stderr: /' "$D/err" | grep -v '^  stderr: heavenbase: debug' | head -n 20
      printf '%s\t%s\t%s\t%s\n' "$name [$via]$tag" "$e" "$observed" "FAIL: $problems" >>"$TABLE"
    fi
    stop_ups
  done
}

print_table() {
  echo
  echo "# fault table: case | expected | observed | ok"
  awk -F '\t' '{ printf "%-34s | %-50s | %-44s | %s\n", $1, $2, $3, $4 }' "$TABLE"
  echo "# end of fault table: $passes ok, $fails failed, $npending pending, $nskipped skipped"
}

# Unless only a subset is asked for, every row runs (pending rows aside).
# shellcheck source=cases.sh
. "$FAULTS_DIR/cases.sh"
print_table
finish
