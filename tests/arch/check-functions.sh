#!/bin/sh
# tests/arch/check-functions.sh [-a ALLOWLIST] PATH...: no function of the C files given (or of
# the .c files under the folders given) is longer than 80 lines. A function's length counts the
# lines from its opening brace to its closing brace, both included; a definition starts at
# column 0 and its closing brace is a "}" at column 0, as everywhere in this code base.
# Prints each offender as FILE:LINE: FUNCTION is N lines (max 80) and exits 1 when there is
# one; exits 0 when there is none. The allowlist (default: long-functions.allow next to this
# script) holds FILE:FUNCTION lines, FILE being a path suffix such as core/text/json.c: only
# the scanners' state machines belong there (issue #12: they read best whole). POSIX sh and
# awk only, so that it runs where there is no python.
set -u
max=80
allow=$(dirname "$0")/long-functions.allow
if [ "${1:-}" = "-a" ]; then
  allow=${2:?usage: check-functions.sh [-a ALLOWLIST] PATH...}; shift 2
fi
[ $# -gt 0 ] || { echo "usage: check-functions.sh [-a ALLOWLIST] PATH..." >&2; exit 2; }
[ -r "$allow" ] || allow=/dev/null

files=$(for p in "$@"; do
  if [ -d "$p" ]; then find "$p" -name '*.c' ! -name resources.c | LC_ALL=C sort
  elif [ -e "$p" ]; then echo "$p"
  else echo "check-functions.sh: no such file or folder: $p" >&2; echo "/nonexistent/$p"
  fi
done)
[ -n "$files" ] || exit 0

# shellcheck disable=SC2086 # the file names of this tree hold no blanks
awk -v max="$max" -v allow="$allow" '
BEGIN {
  while ((getline line < allow) > 0) {
    sub(/[ \t]*#.*/, "", line)
    if (line != "") allowed[line] = 1
  }
  bad = 0
}
function is_allowed(file, fn,    key, suffix) {
  for (key in allowed) {
    split(key, parts, ":")
    suffix = parts[1]
    if (parts[2] != fn) continue
    if (file == suffix || substr(file, length(file) - length(suffix)) == "/" suffix) return 1
  }
  return 0
}
# The name of the function a signature defines: the identifier right before its first "(",
# or "" when the text is no function definition (a struct, an initialiser, a macro).
function def_name(sig,    head) {
  if (sig !~ /\(/) return ""
  if (sig ~ /^(typedef|struct|union|enum)[ \t]/ && sig !~ /\)[ \t]*\{?[ \t]*$/) return ""
  head = substr(sig, 1, index(sig, "(") - 1)
  if (head ~ /=/) return ""
  sub(/[ \t]+$/, "", head)
  if (!match(head, /[A-Za-z_][A-Za-z_0-9]*$/)) return ""
  return substr(head, RSTART, RLENGTH)
}
FNR == 1 { sig = ""; infn = 0; incomment = 0 }
{
  line = $0
  if (infn) {
    if (line ~ /^}/) {
      n = FNR - start + 1
      if (n > max && !is_allowed(FILENAME, name)) {
        printf "%s:%d: %s is %d lines (max %d)\n", FILENAME, start, name, n, max
        bad = 1
      }
      infn = 0
    }
    next
  }
  # Outside a function: gather a signature that starts at column 0, up to its "{".
  if (incomment) { if (line ~ /\*\//) incomment = 0; next }
  if (line ~ /^[ \t]*\/\*/ && line !~ /\*\//) { incomment = 1; next }
  if (line ~ /^#/ || line ~ /^[ \t]*(\/\/|\/\*)/ || line ~ /^[ \t]*$/) { sig = ""; next }
  if (line ~ /^[A-Za-z_]/) sig = line
  else if (sig != "" && line ~ /^[ \t]/) sig = sig " " line
  else if (line ~ /^\{/) sig = sig " {"
  else { sig = ""; next }
  if (sig ~ /;[ \t]*$/) { sig = ""; next }
  if (sig ~ /\{[ \t]*(\/\*.*\*\/[ \t]*)?$/) {
    name = def_name(sig)
    sig = ""
    if (name != "") { infn = 1; start = FNR }
  }
}
END { exit bad }
' $files
