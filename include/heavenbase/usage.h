/* heavenbase/usage.h: what a call cost, where its time went, and the usage ledger.
 *
 * Cost. Prices are catalog data (data/catalog.json, "prices" of each model, per provider:
 * USD per million input, output and cached input tokens; per image by size and quality);
 * a drop-in catalog file overrides them (negotiated prices). A model or provider with no
 * price has an unknown cost, never zero. A cache hit costs nothing and records what it saved.
 *
 * Timing. Every chat result carries a breakdown of its wall time in milliseconds, as a JSON
 * object (hvb_result_timing): the parts never overlap and add up to "total_ms" up to
 * "other_ms" (what no part names). See docs/usage.md for each part.
 *
 * The ledger. Each call (chat, each step of a tool loop) appends one row to a SQLite file:
 * time, operation, preset, route target, model, provider, gateway, tokens, cost, the cost the
 * cache saved, latency, outcome, cached, and the call option "tag". Never a prompt, a reply
 * or a key. On by default; heavenbase.llm.usage.ledger = false turns it off. The file is
 * heavenbase.llm.usage.path, else $HB_CACHE_DIR/usage.sqlite, else
 * ${XDG_STATE_HOME:-~/.local/state}/heavenbase/usage.sqlite.
 *
 * Budgets. heavenbase.llm.budgets.NAME = {"limit_usd" or "limit_tokens", "period": "day",
 * "week" or "month" (UTC), "scope": "all" (default), "preset", "provider" or "tag", "match":
 * the preset, provider or tag, "warn_at": a fraction of the limit (default 0.8)}. A call that
 * would start with a budget spent fails with HVB_BUDGET naming the budget and its spend.
 *
 * Thread safety: the result getters read a result (one thread at a time, as every result
 * getter); hvb_usage_report and hvb_usage_prune may be called from any thread.
 */
#ifndef HEAVENBASE_USAGE_H
#define HEAVENBASE_USAGE_H

#include <stdbool.h>
#include <json-c/json.h>
#include <heavenbase/error.h>
#include <heavenbase/llm.h>
#include <heavenbase/embed.h>
#include <heavenbase/image.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What one call cost. */
typedef struct hvb_cost {
  bool known;          /* false: the model or provider has no price; usd and saved_usd are 0 */
  bool cached;         /* replayed from the response cache: usd is 0, saved_usd what it saved */
  double usd;          /* USD spent */
  double saved_usd;    /* USD the cache saved (0 unless cached) */
  long long input_tokens, output_tokens, cached_tokens; /* as the provider reported them */
  /* Room for later fields without changing sizeof(hvb_cost). Zero; not to be read. */
  unsigned char reserved_[32];
} hvb_cost;

/* Fill *out with the cost of the call that made `r` (for a tool loop: the sum of its steps).
 * Returns out->known; false with *out zeroed for a NULL result or out. Thread safety: as the
 * other result getters. */
bool hvb_result_cost(const hvb_result *r, hvb_cost *out);

/* The cost of an embeddings call (the requests it made; texts answered by the cache cost
 * nothing, and what they saved is not known: cached vectors keep no token count) and of an
 * images call (per image, by the request's size and quality; a cache hit costs nothing and
 * records what it saved). Same contract as hvb_result_cost. */
bool hvb_embeddings_cost(const hvb_embeddings *e, hvb_cost *out);
bool hvb_images_cost(const hvb_images *r, hvb_cost *out);

/* The timing breakdown of the call, borrowed from the result (valid until hvb_result_free):
 * {"total_ms", "prepare_ms", "cache_lookup_ms", "queued_ms" {"engine_ms", "rate_limit_ms"},
 * "retries_ms", "dns_ms", "connect_ms", "tls_ms", "send_ms", "server_ms", "ttfb_ms",
 * "transfer_ms", "parse_ms", "repair_ms", "cache_store_ms", "accounting_ms", "tools_ms",
 * "steps" [per tool-loop step: {"model_ms", "tools_ms"}], "other_ms", "attempts"}; ttfb_ms
 * is the last attempt's start to its first byte and overlaps dns..server. NULL for NULL. */
json_object *hvb_result_timing(const hvb_result *r);

/* A report of the ledger: `query` (borrowed, may be NULL) with "since" and "until" (dates
 * "YYYY-MM-DD" in UTC, or times "YYYY-MM-DDTHH:MM:SSZ"; until is exclusive, a date means its
 * end) and "by" ("day", "model", "preset", "provider" or "tag"). A new object {"path",
 * "groups": [{"key", "calls", "failed", "cached", "tokens_in", "tokens_out",
 * "tokens_cached", "cost_usd", "cost_partial", "unpriced", "saved_usd", "saved_partial",
 * "unpriced_cached"}...], "total": {...}}: unpriced counts the answered calls without a price
 * and unpriced_cached the cache hits without one. A cost is never 0 for want of a price:
 * cost_usd (saved_usd) is null when none of the calls it covers had a price, and
 * cost_partial (saved_partial) is true when some had none (the sum is then a lower bound:
 * the priced calls only). Rows this process still
 * buffers are written first. NULL with HVB_EINVAL (a bad date or grouping, named) or HVB_IO
 * (the file cannot be read). The configuration is loaded from the environment. */
json_object *hvb_usage_report(json_object *query, hvb_error *err);

/* Remove the rows older than `before` (a date or time as above). The number removed, or -1
 * with err (HVB_EINVAL for a bad date, HVB_IO). */
long long hvb_usage_prune(const char *before, hvb_error *err);

#ifdef __cplusplus
}
#endif

#endif
