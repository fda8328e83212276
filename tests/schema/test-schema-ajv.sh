#!/bin/bash
# Differential test of core/text/jsonschema against ajv (draft 2020-12, ajv-formats): both
# judge every (schema, instance) pair of tests/schema/corpus.jsonl (made by gen-corpus.js) and
# must agree on valid/invalid for each. ajv is installed by tests/schema/ajv-install.sh, pinned,
# into the peers' cache outside the build tree. Prints "# N pairs, ours and ajv agree on all".
set -u
: "${HB_TEST_BUILDDIR:?run through make check}"
: "${HB_TEST_SRCDIR:?run through make check}"
here="$HB_TEST_SRCDIR/tests/schema"
corpus="$here/corpus.jsonl"
T=$(mktemp -d "${TMPDIR:-/tmp}/hb-schema-XXXXXX")
trap 'rm -rf "$T"' EXIT

echo "1..2"
dir=$("$here/ajv-install.sh" 2>"$T/install.err") || {
  echo "not ok 1 - ajv installed"; sed 's/^/# /' "$T/install.err"; exit 1; }
echo "ok 1 - ajv installed in $dir"

# shellcheck disable=SC2086
${HB_TEST_WRAPPER:-} "$HB_TEST_BUILDDIR/tests/schema/schema-corpus" "$corpus" >"$T/ours" 2>"$T/ours.err" ||
  { echo "not ok 2 - our validator ran over the corpus"; sed 's/^/# /' "$T/ours.err"; exit 1; }
timeout 120 node "$here/ajv-validate.cjs" "$dir" "$corpus" >"$T/ajv" 2>"$T/ajv.err" ||
  { echo "not ok 2 - ajv ran over the corpus"; sed 's/^/# /' "$T/ajv.err"; exit 1; }

pairs=$(grep -c . "$corpus")
ours=$(wc -l <"$T/ours"); theirs=$(wc -l <"$T/ajv")
if [ "$ours" != "$pairs" ] || [ "$theirs" != "$pairs" ]; then
  echo "not ok 2 - one verdict per pair ($pairs pairs; ours gave $ours, ajv $theirs)"; exit 1
fi
cut -c1 "$T/ours" | paste -d' ' - "$T/ajv" | awk '$1 != $2 { print NR, $1, $2 }' >"$T/diff"
if [ -s "$T/diff" ]; then
  echo "not ok 2 - ours and ajv agree on every pair ($(wc -l <"$T/diff") of $pairs differ)"
  head -n 10 "$T/diff" | while read -r n o a; do
    echo "# line $n: ours $o, ajv $a: $(sed -n "${n}p" "$corpus" | cut -c1-300)"
    echo "#   ours: $(sed -n "${n}p" "$T/ours" | cut -f2-)"
  done
  exit 1
fi
valid=$(grep -c '^1' "$T/ajv")
echo "ok 2 - ours and ajv agree on every pair"
echo "# $pairs pairs, ours and ajv agree on all ($valid valid, $((pairs - valid)) invalid)"
