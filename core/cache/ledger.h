/* core/cache/ledger.h: the usage ledger and the spend it answers budgets with
 * (core/cache/ledger.c).
 *
 * One row per call (time, operation, preset, route target, model, provider, gateway, tokens,
 * cost, cost saved by the cache, latency, outcome, cached, the caller's tag) in a SQLite
 * file of its own (see docs/usage.md for where, and why not the cache's database). Never a
 * prompt, a reply or a key. Rows are buffered per process and written in one transaction
 * when 256 are waiting, a second passed, a budget reads the spend, or the process exits; a
 * call whose LLM has budgets writes its row at once, so other processes see it.
 *
 * Budgets read the spend through hvb_spend_backend, so a shared cache backend can give
 * the spend of many machines: the SQLite ledger is the one backend today.
 *
 * Recording never fails a call: a ledger that cannot be written logs one warning and drops
 * rows. Thread safety: every function may be called from any thread.
 */
#ifndef HVB_CACHE_LEDGER_H
#define HVB_CACHE_LEDGER_H

#include <stdbool.h>
#include <stdint.h>
#include <json-c/json.h>
#include <heavenbase/config.h>
#include <heavenbase/error.h>
#include "base/fork.h"

/* One call. Strings are borrowed for the call of record; NULL reads as "". */
typedef struct hvb_usage_row {
  int64_t time_ms; /* Unix time, milliseconds (UTC) */
  const char *op, *preset, *route, *model, *provider, *gateway, *tag;
  const char *outcome; /* "ok", or the status name ("HTTP", "BUDGET"...) */
  long long tokens_in, tokens_out, tokens_cached;
  bool cost_known;
  double cost_usd;  /* 0 for a cache hit */
  double saved_usd; /* a cache hit: what the call would have cost */
  double latency_ms;
  bool cached;
} hvb_usage_row;

/* The calls a budget counts: since `since_ms`, over a scope. */
typedef struct hvb_spend_query {
  int64_t since_ms;
  const char *scope;       /* "all", "preset", "provider" or "tag" */
  const char *scope_value; /* the preset, provider or tag (NULL for "all") */
} hvb_spend_query;

typedef struct hvb_spend {
  double usd;        /* priced calls only */
  long long tokens;  /* input + output */
  long long unpriced; /* calls without a known cost */
  long long calls;    /* answered calls not from the cache (the average call of a budget) */
} hvb_spend;

/* What budgets need of a store of spending. `self` is the backend's. Append only. */
typedef struct hvb_spend_backend {
  const char *name;
  /* Add a row; `now`: write it through before returning (budgets across processes). */
  void (*record)(void *self, const hvb_usage_row *row, bool now);
  /* The spend matching `q`, rows of this process not yet written included. */
  bool (*spent)(void *self, const hvb_spend_query *q, hvb_spend *out, hvb_error *err);
  void *self;
} hvb_spend_backend;

/* What an LLM knows about usage: whether its calls are recorded, where, and its budgets
 * (the heavenbase.llm.usage and .budgets config; the budgets JSON is checked by
 * core/call/stage-budget.c). Reference counted; immutable. */
typedef struct hvb_usage_cfg {
  int refs;
  bool ledger;          /* heavenbase.llm.usage.ledger (default true) */
  char *path;           /* the ledger file */
  json_object *budgets; /* the budgets object (owned), NULL when none */
  int64_t hold_margin_ms; /* heavenbase.llm.usage.hold_margin: a shared budget hold lives for
                             its call's timeout and this (default 30 s) */
  hvb_spend_backend backend;
} hvb_usage_cfg;

/* From the config (cfg may be NULL: the defaults). Never NULL. */
hvb_usage_cfg *hvb__usage_cfg_new(const hvb_config *cfg);
hvb_usage_cfg *hvb__usage_cfg_ref(hvb_usage_cfg *u);
void hvb__usage_cfg_unref(hvb_usage_cfg *u); /* NULL is a no-op */

/* The ledger's file for a config: heavenbase.llm.usage.path, else $HB_CACHE_DIR/usage.sqlite,
 * else ${XDG_STATE_HOME:-~/.local/state}/heavenbase/usage.sqlite. New string (g_free). */
char *hvb__ledger_path(const hvb_config *cfg);

/* The SQLite backend of the file at `path` (one per path and process, never freed). */
hvb_spend_backend hvb__ledger_backend(const char *path);

/* Write every buffered row of every ledger now. */
void hvb__ledger_flush_all(void);

/* A report over the rows with since_ms <= time < until_ms (0: no bound) grouped `by`
 * ("day", "model", "preset", "provider", "tag", or NULL: one group): a new JSON object
 * {"groups": [...], "total": {...}}, each with key, calls, failed, cached, tokens_in,
 * tokens_out, tokens_cached, cost_usd, cost_partial, unpriced (answered calls without a
 * price), saved_usd, saved_partial, unpriced_cached (cache hits without a price). cost_usd
 * (saved_usd) is null when every call it counts had no price, and *_partial is true when
 * some had none, so that the sum is a lower bound.
 * A missing file is an empty report. NULL with err (HVB_IO) when the file cannot be read. */
json_object *hvb__ledger_report(const char *path, int64_t since_ms, int64_t until_ms,
                                const char *by, hvb_error *err);

/* Remove rows older than `before_ms`; their number, or -1 with err. */
long long hvb__ledger_prune(const char *path, int64_t before_ms, hvb_error *err);

void hvb__ledger_atfork(hvb_fork_phase phase);

#endif
