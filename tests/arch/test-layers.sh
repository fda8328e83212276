#!/bin/sh
# The layer rule of core/ holds, and the check really catches a file that breaks it.
set -u
checker=check-layers.sh
. "${HB_TEST_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/arch/lib.sh"

out=$(sh "$check" "$src/core" 2>&1) && ok "core/ has no upward include" ||
  not_ok "core/ breaks the layer rule: $out"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/hb-layers-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cp -R "$src/core" "$tmp/core"

# A planted upward include: the error module (base) reaching for the LLM (api).
sed -i '0,/#include "base\/error.h"/s//#include "base\/error.h"\n#include "api\/chat.h"/' \
  "$tmp/core/base/error.c"
grep -q '"api/chat.h"' "$tmp/core/base/error.c" || not_ok "could not plant the include"
if out=$(sh "$check" "$tmp/core" 2>&1); then
  not_ok "an upward include base -> api passed the check"
else
  case $out in
    *"base/error.c:"*"upward include: base/ may not include from api/"*) ok "upward include refused: $out" ;;
    *) not_ok "refused, but the message does not name the file and layers: $out" ;;
  esac
fi

# An include that names no layer hides its layer from the check: refused too.
cp "$src/core/base/error.c" "$tmp/core/base/error.c"
printf '#include "llm.h"\n' >> "$tmp/core/text/json.c"
if out=$(sh "$check" "$tmp/core" 2>&1); then
  not_ok "an include without a layer passed the check"
else
  case $out in
    *"text/json.c:"*'"llm.h" names no layer'*) ok "include without a layer refused" ;;
    *) not_ok "unexpected message: $out" ;;
  esac
fi

[ $fails -eq 0 ]
