#!/bin/bash
# hb cache and hb embed: cache hits, statistics, clearing, and an embeddings run of 1,000
# lines against the counting fake upstream.
. "$(dirname "$0")/lib.sh"

# ---- a repeated deterministic chat is a cache hit ----
hb chat -p mock -o temperature=0 "x"
expect_out "a mock chat answers" "Mock reply to: x"
hb chat -p mock -o temperature=0 "x"
expect_out "the same chat again gives the same answer" "Mock reply to: x"
hb cache stats --json
expect_out_has "and it was a cache hit" '"text":{"entries":1,"bytes":'
expect_out_has "counted once" '"hits":1'
hb cache stats
expect_out_has "stats as a table name the database" "llm-cache/cache.sqlite"
[ "$(stat -c %a "$HB_CACHE_DIR/llm-cache/cache.sqlite")" = 600 ] &&
  ok "the database is private (0600)" || not_ok "the database is private (0600)"
hb chat -p mock -o temperature=0.7 "y"
hb cache stats --json
expect_out_has "a sampling chat is not stored" '"text":{"entries":1,'
hb cache clear --namespace text
expect_out "clear says how many entries went" "removed 1 entry from text"
hb cache clear --namespace txt
expect_status "an unknown namespace is an error" 1
expect_err_has "that names it" "'txt'"
hb cache prune
expect_out "prune with no TTL removes nothing" "removed 0 entries"
hb cache
expect_status "hb cache without an action is a usage error" 2

# ---- hb embed: 1,000 lines, 10 % repeats, batches of at most 128 ----
start_upstream '{"routes": {"/v1/embeddings": [{"repeat": true, "embed_dim": 8}]}}'
: > "$T/lines"
for i in $(seq 0 899); do printf 'w%04d\n' "$i" >> "$T/lines"; done
# After every ninth line comes a repeat of an earlier one: 1,000 lines, 900 distinct.
awk '{ seen[NR] = $0; print } NR % 9 == 0 { print seen[int(NR / 2)] }' "$T/lines" > "$T/input"
lines=$(wc -l < "$T/input")
distinct=$(sort -u "$T/input" | wc -l)
[ "$lines" = 1000 ] && [ "$distinct" -lt 1000 ] && ok "the input has 1,000 lines with repeats" ||
  not_ok "the input has 1,000 lines with repeats ($lines lines, $distinct distinct)"

hb embed -i "$T/input" --provider openai --base-url "$UP_URL/v1" -m embed-test \
  -o embedding_batch_size=128 -o max_retries=0
expect_status "hb embed of a file succeeds" 0
[ "$(wc -l < "$T/out")" = 1000 ] && ok "it prints 1,000 vectors" || not_ok "it prints 1,000 vectors"
# The fake's vectors spell their text: read each back and compare with the input line.
awk -F, '{ gsub(/[][]/, ""); s = ""; for (i = 1; i <= NF; i++) if ($i + 0 > 0) s = s sprintf("%c", $i + 0); print s }' \
  "$T/out" > "$T/decoded"
cmp -s "$T/decoded" "$T/input" && ok "in input order" || not_ok "in input order"
grep -o '"input":\[[^]]*\]' "$UP_LOG" > "$T/batches"
requests=$(wc -l < "$T/batches")
[ "$requests" = $(((distinct + 127) / 128)) ] && ok "in $requests requests" ||
  not_ok "in $(((distinct + 127) / 128)) requests (got $requests)"
largest=$(awk -F, '{ if (NF > m) m = NF } END { print m }' "$T/batches")
[ "$largest" -le 128 ] && ok "no batch over 128 inputs" || not_ok "no batch over 128 inputs ($largest)"
sed 's/^"input":\[//; s/\]$//' "$T/batches" | tr ',' '\n' | tr -d '"' > "$T/sent"
[ "$(wc -l < "$T/sent")" = "$distinct" ] && [ -z "$(sort "$T/sent" | uniq -d)" ] &&
  ok "each distinct line was sent exactly once" || not_ok "each distinct line was sent exactly once"

hb embed -i "$T/input" --provider openai --base-url "$UP_URL/v1" -m embed-test --json
expect_out_has "a second run comes from the cache" '"cached":1000'
expect_out_has "with no request" '"requests":0'
[ "$(grep -c '"input"' "$UP_LOG")" = "$requests" ] && ok "the upstream saw nothing new" ||
  not_ok "the upstream saw nothing new"
hb embed
expect_status "hb embed with nothing to embed is a usage error" 2

finish
