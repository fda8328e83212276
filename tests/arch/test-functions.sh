#!/bin/sh
# No function of core/, cli/ or plugins/ is over 80 lines (but the scanners' state machines of
# long-functions.allow), and the check really catches one that is.
set -u
checker=check-functions.sh
. "${HB_TEST_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/arch/lib.sh"

out=$(sh "$check" "$src/core" "$src/cli" "$src/plugins" 2>&1) &&
  ok "no function of core/, cli/ or plugins/ is over 80 lines" ||
  not_ok "functions over 80 lines:
$out"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/hb-functions-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/core/base"

# plant NAME BODY_LINES: a function whose braces and body span BODY_LINES + 2 lines, with
# its signature on two lines as long ones are written here.
plant() {
  printf 'static int\n%s(int x) {\n' "$1"
  i=0
  while [ $i -lt "$2" ]; do printf '  x += %d;\n' $i; i=$((i + 1)); done
  printf '  return x;\n}\n\n'
}
{
  printf '/* planted */\n#include <stdio.h>\n\nstruct s {\n  int a;\n};\n\n'
  plant just_fits 77     # 80 lines from "{" to "}"
  plant one_too_many 78  # 81 lines
  printf 'static const int table[] = {\n  1,\n};\n'
} > "$tmp/core/base/planted.c"

if out=$(sh "$check" -a /dev/null "$tmp/core" 2>&1); then
  not_ok "an 81-line function passed the check"
else
  case $out in
    *"core/base/planted.c:"*": one_too_many is 81 lines (max 80)"*) ok "81-line function refused: $out" ;;
    *) not_ok "refused, but the message does not name the file and function: $out" ;;
  esac
fi
case $out in
  *just_fits*) not_ok "an 80-line function was refused: $out" ;;
  *) ok "an 80-line function passes" ;;
esac

# The allowlist lets a named function through, and only that one.
printf 'core/base/planted.c:one_too_many\n' > "$tmp/allow"
out=$(sh "$check" -a "$tmp/allow" "$tmp/core" 2>&1) && ok "an allowed function passes" ||
  not_ok "an allowed function was refused: $out"
printf 'core/base/other.c:one_too_many\n' > "$tmp/allow"
sh "$check" -a "$tmp/allow" "$tmp/core" >/dev/null 2>&1 &&
  not_ok "an entry for another file let the function through" || ok "the allowlist names the file"

# No file of core/ or plugins/ is over 900 lines (the generated resources.c aside): a module that grows
# past it holds more than one concern. The check proves itself on a planted 901-line file.
long_files() { # DIR: prints "FILE: N lines" for each .c/.h over 900 lines
  find "$1" -name '*.[ch]' ! -name resources.c -exec wc -l {} + |
    awk '$2 != "total" && $1 > 900 { print $2 ": " $1 " lines (max 900)" }'
}
out=$(long_files "$src/core"; long_files "$src/plugins")
[ -z "$out" ] && ok "no file of core/ or plugins/ is over 900 lines" || not_ok "files over 900 lines:
$out"
i=0; while [ $i -lt 901 ]; do echo "/* $i */"; i=$((i + 1)); done > "$tmp/core/base/big.c"
case $(long_files "$tmp/core") in
  *"core/base/big.c: 901 lines"*) ok "a 901-line file is found" ;;
  *) not_ok "a 901-line file was not found" ;;
esac

[ $fails -eq 0 ]
