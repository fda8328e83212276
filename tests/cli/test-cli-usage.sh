#!/bin/bash
# Usage accounting through hb: cost by the catalog's price (a drop-in file), hb chat -v, the
# usage ledger after a scripted run of 50 calls (cached, failed, two models) against counts
# taken at the fake upstream, hb usage's formats and prune, and a daily budget that holds
# across processes.
. "$(dirname "$0")/lib.sh"

# 1,000 tokens in (200 of them cached), 500 out.
REPLY='{\"id\":\"c1\",\"object\":\"chat.completion\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"priced answer\"},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":1000,\"completion_tokens\":500,\"total_tokens\":1500,\"prompt_tokens_details\":{\"cached_tokens\":200}}}'
start_upstream "{\"routes\": {
  \"/a/v1/chat/completions\": [{\"repeat\": true, \"body\": \"$REPLY\"}],
  \"/b/v1/chat/completions\": [{\"repeat\": true, \"body\": \"$REPLY\"}],
  \"/budget/v1/chat/completions\": [{\"repeat\": true, \"body\": \"$REPLY\"}],
  \"/fail/v1/chat/completions\": [{\"repeat\": true, \"status\": 400, \"body\": \"{\\\"error\\\":{\\\"message\\\":\\\"bad request\\\"}}\"}]
}}"

# Negotiated prices in a drop-in catalog file. model-a: $2 in, $8 out, $0.5 cached in per
# million tokens: (800 * 2 + 200 * 0.5 + 500 * 8) / 1e6 = $0.0057 a call. model-b: $1 in,
# $4 out, no cached price (cached input costs as input): (1000 + 500 * 4) / 1e6 = $0.003.
mkdir -p "$HB_CONFIG_DIR/catalog.d"
cat > "$HB_CONFIG_DIR/catalog.d/prices.json" <<'JSON'
{"models": {
  "model-a": {"ids": {"openai": "model-a"}, "default_provider": "openai", "kind": "chat",
              "prices": {"openai": {"input": 2, "output": 8, "cached_input": 0.5,
                                    "prices_read": "negotiated"}}},
  "model-b": {"ids": {"openai": "model-b"}, "default_provider": "openai", "kind": "chat",
              "prices": {"openai": {"input": 1, "output": 4}}}
}}
JSON
export TEST_KEY=sk-usage-test-key-0123456789
A=(--provider openai --base-url "$UP_URL/a/v1" -m model-a --api-key-env TEST_KEY)
B=(--provider openai --base-url "$UP_URL/b/v1" -m model-b --api-key-env TEST_KEY)

# ---- cost and hb chat -v ----
hb chat "${A[@]}" -o temperature=0 --include cost "first"
expect_out_has "the cost is the catalog price by hand" '"usd":0.0057'
expect_out_has "and is known" '"known":true'
hb chat "${A[@]}" -o temperature=0 --include cost "first"
expect_out_has "a cached repeat costs nothing" '"usd":0,'
expect_out_has "and records what it saved" '"saved_usd":0.0057'
hb chat "${A[@]}" -o temperature=0 -v "second"
expect_out "hb chat -v prints the reply on stdout" "priced answer"
expect_err_has "and one usage line on stderr" "1,000 in / 500 out tokens · \$0.0057 · "
expect_err_has "with the time to first byte" " (ttfb "
expect_err_has "and whether it was cached" "· cached: no"
hb chat "${A[@]}" -o temperature=0 -v "second"
expect_err_has "a cached repeat says so, with the saving" "cached: yes (saved \$0.0057)"
hb chat "${A[@]}" -o temperature=0 --include timing "third"
expect_out_has "--include timing prints the breakdown" '"ttfb_ms":'
hb chat -p mock -v "unpriced"
expect_err_has "a model without a price has an unknown cost, not zero" '$? (no price)'

# ---- the ledger after a scripted run of 50 calls ----
rm -f "$HB_CACHE_DIR/usage.sqlite"* && rm -rf "$HB_CACHE_DIR/llm-cache"
: > "$UP_LOG"
# model-a: 25 calls, 15 distinct prompts (10 repeats answered by the cache).
: > "$T/a.txt"
for i in $(seq 1 15); do echo "question $i" >> "$T/a.txt"; done
for i in $(seq 1 10); do echo "question $i" >> "$T/a.txt"; done
hb chat "${A[@]}" -o temperature=0 -i "$T/a.txt"
expect_status "25 calls of model-a" 0
# model-b: 20 answered calls, and 5 that fail (HTTP 400).
seq 1 20 | sed 's/^/b question /' > "$T/b.txt"
hb chat "${B[@]}" -i "$T/b.txt"
expect_status "20 calls of model-b" 0
seq 1 5 | sed 's/^/failing /' > "$T/f.txt"
hb chat --provider openai --base-url "$UP_URL/fail/v1" -m model-b --api-key-env TEST_KEY -i "$T/f.txt"
expect_status "5 failing calls of model-b" 1
up_a=$(grep -c '"path":"/a/v1/chat/completions"' "$UP_LOG")
up_b=$(grep -c -e '"path":"/b/v1/chat/completions"' -e '"path":"/fail/v1/chat/completions"' "$UP_LOG")
[ "$up_a" = 15 ] && [ "$up_b" = 25 ] && ok "the upstream counted 15 and 25 requests" ||
  not_ok "the upstream counted 15 and 25 requests (got $up_a and $up_b)"

hb usage --by model --json
cp "$T/out" "$T/report.json"
field() { # MODEL FIELD: the value in the report
  python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); g=[g for g in r["groups"] if g["key"]==sys.argv[2]][0]; print(g[sys.argv[3]])' "$T/report.json" "$1" "$2"
}
total() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["total"][sys.argv[2]])' "$T/report.json" "$1"; }
a_sent=$(( $(field model-a calls) - $(field model-a cached) ))
b_sent=$(( $(field model-b calls) - $(field model-b cached) ))
[ "$a_sent" = "$up_a" ] && [ "$b_sent" = "$up_b" ] &&
  ok "calls not from the cache match the upstream's count per model" ||
  not_ok "calls not from the cache match the upstream's count per model ($a_sent/$up_a, $b_sent/$up_b)"
[ "$(total calls)" = 50 ] && [ "$(field model-a cached)" = 10 ] && [ "$(field model-b failed)" = 5 ] &&
  ok "50 calls: 10 cached, 5 failed" || not_ok "50 calls: 10 cached, 5 failed ($(cat "$T/report.json"))"
# Answered calls were billed 1,000 tokens in each: the upstream's count times that.
[ "$(field model-b tokens_in)" = $(( 20 * 1000 )) ] && ok "tokens in match the upstream's answers" ||
  not_ok "tokens in match the upstream's answers ($(field model-b tokens_in))"
python3 -c 'import sys; a,b,sa=map(float,sys.argv[1:4]); sys.exit(0 if abs(a-15*0.0057)<1e-9 and abs(b-20*0.003)<1e-9 and abs(sa-10*0.0057)<1e-9 else 1)' \
  "$(field model-a cost_usd)" "$(field model-b cost_usd)" "$(field model-a saved_usd)" &&
  ok "cost per model is the upstream's answers times the price, and the cache's saving" ||
  not_ok "cost per model ($(cat "$T/report.json"))"
hb usage --by model
expect_out_has "the table has a line per model" "model-a"
expect_out_has "and the totals" "total"
hb usage --by model --csv
expect_out_has "CSV has a header" "model,calls,failed,cached,tokens_in"
expect_out_has "and a row per model" "model-b,25,5,0,20000,"
hb usage --by day --since 2000-01-01 --until 2999-12-31
expect_out_has "--by day groups by UTC day" "$(date -u +%Y-%m-%d)"
hb usage --since 2999-01-01 --json
expect_out_has "--since in the future reports nothing" '"calls":0'
script -qec "$HB_BIN usage --by day" /dev/null > "$T/tty.txt" 2>&1
grep -q '█' "$T/tty.txt" && ok "on a terminal --by day draws bars" || not_ok "on a terminal --by day draws bars ($(cat "$T/tty.txt"))"
hb usage --since yesterday
expect_status "a bad date is an error" 1
expect_err_has "naming it" "'yesterday'"
hb usage --by colour
expect_status "an unknown grouping is a usage error" 2
grep -aq "question\|priced answer\|$TEST_KEY" "$HB_CACHE_DIR/usage.sqlite" "$HB_CACHE_DIR/usage.sqlite-wal" 2>/dev/null &&
  not_ok "the ledger holds no prompt, reply or key" || ok "the ledger holds no prompt, reply or key"
hb usage prune --before 2000-01-01
expect_out "prune before an old date removes nothing" "removed 0 rows"
hb usage prune --before 2999-01-01
expect_out "prune before a future date removes every row" "removed 50 rows"
hb usage prune
expect_status "prune needs --before" 2

# ---- the ledger can be turned off ----
hb cfg set heavenbase.llm.usage.ledger false
hb chat "${B[@]}" "not recorded"
hb usage --json
expect_out_has "with the ledger off nothing is recorded" '"calls":0'
hb cfg unset heavenbase.llm.usage.ledger

# ---- a daily budget of $0.01, each call a new process ----
hb cfg set heavenbase.llm.budgets.daily '{"limit_usd": 0.01, "scope": "tag", "match": "team-x", "warn_at": 0.5}'
expect_status "a budget is set with hb cfg" 0
: > "$UP_LOG"
BUD=(--provider openai --base-url "$UP_URL/budget/v1" -m model-b --api-key-env TEST_KEY -o tag=team-x)
hb chat "${BUD[@]}" "one"
expect_out "the first call runs" "priced answer"
hb chat "${BUD[@]}" "two"
expect_out "the second (\$0.006 spent) runs" "priced answer"
hb chat "${BUD[@]}" "three"
expect_out "the third runs" "priced answer"
expect_err_has "and warns: the budget is past half" "budget 'daily': \$0.0060 of \$0.0100 spent this day"
hb chat "${BUD[@]}" "four"
expect_status "the call that would cross \$0.01 fails" 1
expect_err_has "naming the budget and its spend" "budget 'daily' is spent: \$0.0090 of \$0.0100 this day"
[ "$(grep -c '/budget/' "$UP_LOG")" = 3 ] && ok "and makes no request" || not_ok "and makes no request"
hb chat "${B[@]}" "untagged"
expect_out "a call outside the budget's scope still runs" "priced answer"
hb cfg set heavenbase.llm.budgets.bad '{"limit_usd": 1, "period": "fortnight"}'
hb chat "${B[@]}" "x"
expect_status "a wrong budget is a config error" 1
expect_err_has "naming the budget and the member" "heavenbase.llm.budgets.bad.period"
finish
