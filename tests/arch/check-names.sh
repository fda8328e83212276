#!/bin/sh
# tests/arch/check-names.sh CORE_DIR: the core names no plugin, provider or vendor model (see
# "The core names no plugin or provider" in docs/architecture.md). What differs between them
# lives in the gateways (plugins/) or in catalog data (data/catalog.json), so a name in core/,
# even in a comment, is a special case waiting to happen. `openai` is allowed: the built-in
# gateway and the canonical wire form are the core's own.
#
# A name is a whole word, case-insensitive, bounded by anything but a letter or a digit (so
# HVB_EXPORT_ANTHROPIC and gpt-image-1 are hits, "coherent" is not). Prints each hit as
# FILE:LINE: names a plugin or provider: TEXT and exits 1 when there is one; exits 0 when
# there is none.
set -u
core=${1:?usage: check-names.sh CORE_DIR}
names="anthropic|portkey|bifrost|litellm|mock|redis|openrouter|deepseek|voyage|cohere|ollama|lmstudio"
names="$names|vllm|gpt-image|dall-e|claude|gemini"

out="${TMPDIR:-/tmp}/check-names.$$"
# Sources only: an in-tree build leaves objects next to them, and resources.c is generated
# from data/ (the catalog, where these names belong). /dev/null makes grep print file names
# even for a single file.
find "$core" -type f \( -name '*.c' -o -name '*.h' -o -name '*.sym' \) ! -name resources.c \
  -exec grep -n -i -E "(^|[^[:alnum:]])($names)([^[:alnum:]]|\$)" /dev/null {} + |
  sed 's/^\([^:]*:[0-9]*\):/\1: names a plugin or provider: /' > "$out"
bad=0
if [ -s "$out" ]; then
  sort -t: -k1,1 -k2,2n "$out"; bad=1
fi
rm -f "$out"
exit $bad
