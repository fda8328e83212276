#!/bin/bash
# hb usage never prints $0.00 for calls without a price: a group whose calls had none reads
# "unknown" (JSON null, an empty CSV cell), and a total that mixes priced and unpriced calls
# is marked as a lower bound, with a footnote.
. "$(dirname "$0")/lib.sh"

# 1,000 tokens in, 500 out.
REPLY='{\"id\":\"c1\",\"object\":\"chat.completion\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"an answer\"},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":1000,\"completion_tokens\":500,\"total_tokens\":1500}}'
start_upstream "{\"routes\": {
  \"/v1/chat/completions\": [{\"repeat\": true, \"body\": \"$REPLY\"}]
}}"
# model-p: $1 in, $4 out per million: (1000 + 500 * 4) / 1e6 = $0.003 a call.
# model-u: no price.
mkdir -p "$HB_CONFIG_DIR/catalog.d"
cat > "$HB_CONFIG_DIR/catalog.d/prices.json" <<'JSON'
{"models": {
  "model-p": {"ids": {"openai": "model-p"}, "default_provider": "openai", "kind": "chat",
              "prices": {"openai": {"input": 1, "output": 4}}},
  "model-u": {"ids": {"openai": "model-u"}, "default_provider": "openai", "kind": "chat"}
}}
JSON
export TEST_KEY=sk-usage-test-key-0123456789
P=(--provider openai --base-url "$UP_URL/v1" -m model-p --api-key-env TEST_KEY -o temperature=0)
U=(--provider openai --base-url "$UP_URL/v1" -m model-u --api-key-env TEST_KEY -o temperature=0)

hb chat "${P[@]}" "priced one"
hb chat "${P[@]}" "priced two"
hb chat "${U[@]}" "unpriced one"
hb chat "${U[@]}" "unpriced one"
expect_status "four calls: two priced, two unpriced (the second from the cache)" 0

hb usage --by model --json
cp "$T/out" "$T/report.json"
q() { python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(json.dumps(eval(sys.argv[2])))' "$T/report.json" "$1"; }
u='[g for g in r["groups"] if g["key"]=="model-u"][0]'
p='[g for g in r["groups"] if g["key"]=="model-p"][0]'
[ "$(q "$u[\"cost_usd\"]")" = null ] && ok "JSON: the unpriced model's cost is null" ||
  not_ok "JSON: the unpriced model's cost is null ($(q "$u"))"
[ "$(q "$u[\"saved_usd\"]")" = null ] && ok "JSON: and so is what its cache hit saved" ||
  not_ok "JSON: and so is what its cache hit saved ($(q "$u"))"
[ "$(q "$u[\"unpriced\"]")" = 1 ] && [ "$(q "$u[\"unpriced_cached\"]")" = 1 ] &&
  ok "JSON: one answered call and one cache hit without a price" ||
  not_ok "JSON: one answered call and one cache hit without a price ($(q "$u"))"
[ "$(q "$p[\"cost_usd\"]")" = 0.006 ] && [ "$(q "$p[\"cost_partial\"]")" = false ] &&
  ok "JSON: the priced model's cost is whole: 2 x \$0.003" ||
  not_ok "JSON: the priced model's cost is whole ($(q "$p"))"
[ "$(q 'r["total"]["cost_usd"]')" = 0.006 ] && [ "$(q 'r["total"]["cost_partial"]')" = true ] &&
  ok "JSON: the total is the priced calls' and says it is partial" ||
  not_ok "JSON: the total is partial ($(q 'r["total"]'))"

hb usage --by model
grep -E '^model-u ' "$T/out" > "$T/u.txt"
grep -q 'unknown' "$T/u.txt" && ! grep -q '\$0\.00' "$T/u.txt" &&
  ok "table: the unpriced model's cost reads unknown, not \$0.00" ||
  not_ok "table: the unpriced model's cost reads unknown ($(cat "$T/out"))"
grep -E '^model-p ' "$T/out" | grep -q '\$0\.0060' && ok "table: the priced model's cost" ||
  not_ok "table: the priced model's cost ($(cat "$T/out"))"
grep -E '^total ' "$T/out" | grep -q '≥ \$0\.0060' &&
  ok "table: the total is marked as a lower bound" ||
  not_ok "table: the total is marked as a lower bound ($(cat "$T/out"))"
expect_out_has "with a footnote for the mark" "≥ a lower bound: the priced calls only"
expect_out_has "and one for unknown" "unknown: none of its calls had a price"
expect_out_has "counting the calls without a price" "2 calls without a price"
# The cells line up: the cost column ends at the same place on every line.
python3 - "$T/out" <<'PY' && ok "table: the marked cells keep the columns aligned" || not_ok "table: the marked cells keep the columns aligned ($(cat "$T/out"))"
import sys
lines = [l for l in open(sys.argv[1], encoding="utf-8") if l.startswith(("model-", "total"))]
sys.exit(0 if len({len(l) for l in lines}) == 1 else 1)
PY

hb usage --by model --csv
grep -q '^model-u,2,0,1,2000,1000,0,,1,$' "$T/out" &&
  ok "CSV: the unpriced model's cost and saving are empty cells" ||
  not_ok "CSV: the unpriced model's cost and saving are empty cells ($(cat "$T/out"))"
grep -q '^model-p,2,0,0,2000,1000,0,0.006000,0,0.000000$' "$T/out" &&
  ok "CSV: the priced model's cost" || not_ok "CSV: the priced model's cost ($(cat "$T/out"))"

# Only unpriced calls: the whole report's cost is unknown.
hb usage prune --before 2999-01-01
hb chat "${U[@]}" "unpriced two"
hb usage
# (Its saving is $0.00: nothing came from the cache.)
grep -qE '^total +1 +0 +0 +1,000 +500 +0 +unknown +\$0\.00$' "$T/out" &&
  ok "a report of unpriced calls only says unknown in total" ||
  not_ok "a report of unpriced calls only says unknown in total ($(cat "$T/out"))"
hb usage --json
python3 -c 'import json,sys; t=json.load(open(sys.argv[1]))["total"]; sys.exit(0 if t["cost_usd"] is None and t["cost_partial"] is False else 1)' "$T/out" &&
  ok "JSON: its total cost is null" || not_ok "JSON: its total cost is null ($(cat "$T/out"))"
finish
