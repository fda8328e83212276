#!/bin/sh
# core/ names no plugin or provider, and the check really catches a file that does.
set -u
checker=check-names.sh
. "${HB_TEST_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/arch/lib.sh"

out=$(sh "$check" "$src/core" 2>&1) && ok "core/ names no plugin or provider" ||
  not_ok "core/ names plugins or providers:
$out"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/hb-names-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cp -R "$src/core" "$tmp/core"
# Start from a clean copy, so that the planted hits are the only ones even while the tree
# itself still has some (the first test reports those).
names='anthropic|portkey|bifrost|litellm|mock|openrouter|deepseek|voyage|cohere|ollama|lmstudio'
names="$names|vllm|gpt-image|dall-e|claude|gemini"
find "$tmp/core" -type f \( -name '*.c' -o -name '*.h' -o -name '*.sym' \) \
  -exec sed -i -E "s/($names)/NAME/gI" {} +
if out=$(sh "$check" "$tmp/core" 2>&1); then
  ok "a clean copy passes"
else
  not_ok "a clean copy fails: $out"
fi

# A planted special case, in code: the embeddings pipeline testing a provider's name.
printf 'static int quirk(const char *p) { return !strcmp(p, "Voyage"); }\n' \
  >> "$tmp/core/api/embed.c"
if out=$(sh "$check" "$tmp/core" 2>&1); then
  not_ok "a provider name in core/api/embed.c passed the check"
else
  case $out in
    *"core/api/embed.c:"*": names a plugin or provider: "*'"Voyage"'*) ok "refused: $out" ;;
    *) not_ok "refused, but the message does not name the file and line: $out" ;;
  esac
fi

# In a comment, and inside an identifier: both count.
printf '/* as the Anthropic gateway does */\n' >> "$tmp/core/base/log.c"
printf '#define HVB_EXPORT_LITELLM 3\n' >> "$tmp/core/base/error.h"
out=$(sh "$check" "$tmp/core" 2>&1)
case $out in
  *"core/base/log.c:"*"Anthropic gateway"*) ok "a name in a comment is refused" ;;
  *) not_ok "a name in a comment passed: $out" ;;
esac
case $out in
  *"core/base/error.h:"*"HVB_EXPORT_LITELLM"*) ok "a name inside an identifier is refused" ;;
  *) not_ok "a name inside an identifier passed: $out" ;;
esac

# What the check must not refuse: the core's own openai, and words that merely contain a name.
cp "$src/core/api/embed.c" "$tmp/core/api/embed.c"
sed -i -E "s/($names)/NAME/gI" "$tmp/core/api/embed.c"
printf '/* the openai gateway; a coherent plan; mocked-up text */\n' >> "$tmp/core/api/embed.c"
out=$(sh "$check" "$tmp/core" 2>&1)
case $out in
  *"core/api/embed.c:"*) not_ok "openai or a longer word was refused: $out" ;;
  *) ok "openai and words that contain a name pass" ;;
esac

[ $fails -eq 0 ]
