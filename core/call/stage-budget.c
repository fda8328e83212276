/* core/call/stage-budget.c: budgets. Before a call starts, each budget whose scope covers it
 * reads its spend in the current period from the spend backend (the usage ledger,
 * core/cache/ledger.h; a shared backend later) and refuses the call with HVB_BUDGET when the
 * spend has reached the limit, or would cross it with a call of the period's average cost
 * (the cost of a call is known only after it). A budget past its warning fraction warns
 * once per process.
 *
 * It runs after the response cache: a cache hit costs nothing and is never refused.
 */
#include "call/pipeline.h"
#include "call/stage-budget.h"
#include "call/budget-shared.h"
#include "cache/ledger.h"
#include "text/json.h"
#include "base/error.h"
#include "base/log.h"

#include <glib.h>
#include <math.h>
#include <string.h>

#define HOUR_MS INT64_C(3600000)

typedef struct budget {
  const char *name;
  double limit;     /* USD, or tokens */
  bool tokens;      /* limit_tokens */
  const char *period, *scope, *match;
  double warn_at;
} budget;

static const char *member_string(json_object *o, const char *key, const char *fallback) {
  json_object *v = json_object_object_get(o, key);
  return json_object_is_type(v, json_type_string) ? json_object_get_string(v) : fallback;
}

static bool is_number(json_object *v) {
  return json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int);
}

static bool one_of(const char *s, const char *const *list) {
  for (; *list; list++)
    if (!strcmp(s, *list)) return true;
  return false;
}

/* Read one budget; false with HVB_CONFIG naming what is wrong. */
static bool budget_read(const char *name, json_object *o, budget *b, hvb_error *err) {
  static const char *const periods[] = {"day", "week", "month", NULL};
  static const char *const scopes[] = {"all", "preset", "provider", "tag", NULL};
  static const char *const keys[] = {"limit_usd", "limit_tokens", "period", "scope", "match",
                                     "warn_at", NULL};
#define BAD(...) hvb__fail(err, HVB_CONFIG, "heavenbase.llm.budgets." __VA_ARGS__)
  if (!json_object_is_type(o, json_type_object))
    return BAD("%s must be an object, not %s", name, hvb__json_type_phrase(o));
  json_object_object_foreach(o, k, v) {
    (void)v;
    if (!one_of(k, keys))
      return BAD("%s: unknown member '%s' (limit_usd, limit_tokens, period, scope, match, "
                 "warn_at)", name, k);
  }
  json_object *usd = json_object_object_get(o, "limit_usd");
  json_object *tok = json_object_object_get(o, "limit_tokens");
  if (!usd == !tok) return BAD("%s: give exactly one of limit_usd and limit_tokens", name);
  json_object *lim = usd ? usd : tok;
  if (!is_number(lim) || !(json_object_get_double(lim) >= 0))
    return BAD("%s.%s must be a number >= 0", name, usd ? "limit_usd" : "limit_tokens");
  *b = (budget){.name = name, .limit = json_object_get_double(lim), .tokens = tok != NULL,
                .period = member_string(o, "period", "day"),
                .scope = member_string(o, "scope", "all"), .match = member_string(o, "match", NULL),
                .warn_at = 0.8};
  if (!one_of(b->period, periods))
    return BAD("%s.period must be day, week or month, not '%s'", name, b->period);
  if (!one_of(b->scope, scopes))
    return BAD("%s.scope must be all, preset, provider or tag, not '%s'", name, b->scope);
  if (strcmp(b->scope, "all") != 0 && !b->match)
    return BAD("%s: scope '%s' needs \"match\": the %s it counts", name, b->scope, b->scope);
  json_object *w = json_object_object_get(o, "warn_at");
  if (w && (!is_number(w) || !(json_object_get_double(w) >= 0 && json_object_get_double(w) <= 1)))
    return BAD("%s.warn_at must be a fraction of the limit from 0 to 1", name);
  if (w) b->warn_at = json_object_get_double(w);
#undef BAD
  return true;
}

bool hvb__budgets_check(json_object *budgets, hvb_error *err) {
  if (!budgets) return true;
  if (!json_object_is_type(budgets, json_type_object))
    return hvb__fail(err, HVB_CONFIG, "heavenbase.llm.budgets must be an object of budgets");
  budget b;
  json_object_object_foreach(budgets, name, o) {
    if (!budget_read(name, o, &b, err)) return false;
  }
  return true;
}

/* The start of the current period, Unix milliseconds, UTC. */
static int64_t period_start(const char *period, int64_t now_ms) {
  int64_t day = now_ms / 86400000 * 86400000;
  if (!strcmp(period, "day")) return day;
  if (!strcmp(period, "week")) /* 1970-01-01 was a Thursday: Monday is 3 days later */
    return day - ((now_ms / 86400000 + 3) % 7) * 86400000;
  GDateTime *t = g_date_time_new_from_unix_utc(now_ms / 1000);
  GDateTime *m = g_date_time_new_utc(g_date_time_get_year(t), g_date_time_get_month(t), 1, 0, 0, 0);
  int64_t out = g_date_time_to_unix(m) * 1000;
  g_date_time_unref(m);
  g_date_time_unref(t);
  return out;
}

static const char *scope_value(const hvb_exchange *x, const budget *b, const char *tag) {
  if (!strcmp(b->scope, "preset")) return hvb_spec_preset(x->spec);
  if (!strcmp(b->scope, "provider")) return hvb_spec_provider(x->spec);
  if (!strcmp(b->scope, "tag")) return tag;
  return NULL;
}

static void format_amount(char *buf, size_t n, const budget *b, double v) {
  if (b->tokens) g_snprintf(buf, n, "%.0f tokens", v);
  else g_snprintf(buf, n, "$%.4f", v);
}

/* The fleet's spend through the cache backend's counters: true when they could be read
 * (*refuse: the budget has no room left for the call, which otherwise holds its share). */
static bool fleet_allows(hvb_exchange *x, const budget *b, int64_t start_ms, void **holds,
                         hvb_spend *s, bool *refuse) {
  /* A hold outlives its call by the margin; a call without a timeout holds for an hour. */
  long timeout_ms = hvb_spec_timeout_ms(x->spec);
  int64_t hold_ms = (timeout_ms > 0 ? timeout_ms : HOUR_MS) + x->usage->hold_margin_ms;
  hvb_budget_ref ref = {.name = b->name, .period = b->period, .scope = b->scope,
                        .match = b->match, .start_ms = start_ms, .hold_ms = hold_ms,
                        .limit = b->limit, .tokens = b->tokens};
  bool fits = false;
  if (!hvb__budget_shared_take(x->llm_cache, &ref, s, &fits,
                               (hvb_budget_hold **)holds))
    return false;
  *refuse = !fits;
  return true;
}

/* One budget against the call; false with HVB_BUDGET when it refuses it. */
static bool budget_allows(hvb_exchange *x, const budget *b, const char *tag, void **holds,
                          hvb_error *err) {
  const char *value = scope_value(x, b, tag);
  if (b->match && value && strcmp(b->match, value) != 0) return true;
  if (strcmp(b->scope, "all") != 0 && !value) return true;
  hvb_spend_query q = {.since_ms = period_start(b->period, g_get_real_time() / 1000),
                       .scope = b->scope, .scope_value = b->match};
  hvb_spend s;
  hvb_error e = HVB_ERROR_INIT;
  bool refuse = false, fleet = fleet_allows(x, b, q.since_ms, holds, &s, &refuse);
  if (!fleet && !x->usage->backend.spent(x->usage->backend.self, &q, &s, &e)) {
    hvb__warn_once("budget-read", "budgets: %s: budgets are not enforced", e.message);
    return true;
  }
  double spent = b->tokens ? (double)s.tokens : s.usd;
  double next = s.calls > 0 ? spent / (double)s.calls : 0; /* the period's average call */
  char have[48], limit[48];
  format_amount(have, sizeof have, b, spent);
  format_amount(limit, sizeof limit, b, b->limit);
  if (fleet ? refuse : (spent >= b->limit || spent + next > b->limit))
    return hvb__fail(err, HVB_BUDGET,
                     "budget '%s' is spent: %s of %s this %s%s%s (heavenbase.llm.budgets.%s)",
                     b->name, have, limit, b->period, fleet ? " across the fleet" : "",
                     spent < b->limit ? ", and the next call would cross it" : "", b->name);
  if (spent >= b->warn_at * b->limit) {
    char *key = g_strdup_printf("budget-%s", b->name);
    hvb__warn_once(key, "budget '%s': %s of %s spent this %s", b->name, have, limit, b->period);
    g_free(key);
  }
  return true;
}

static hvb_stage_rc budget_request(hvb_exchange *x, void **state, hvb_error *err) {
  if (!x->usage || !x->usage->budgets || x->cached) return HVB_STAGE_NEXT;
  if (!x->usage->ledger) {
    hvb__warn_once("budget-ledger", "budgets are not enforced: the usage ledger is off "
                   "(heavenbase.llm.usage.ledger)");
    return HVB_STAGE_NEXT;
  }
  gint64 t = hvb__clock_us();
  json_object *tag = json_object_object_get(x->options, "tag");
  const char *tagv = json_object_is_type(tag, json_type_string) ? json_object_get_string(tag) : "";
  bool ok = true;
  budget b;
  json_object_object_foreach(x->usage->budgets, name, o) {
    if (budget_read(name, o, &b, NULL) && !(ok = budget_allows(x, &b, tagv, state, err))) break;
  }
  x->times.ledger_us += hvb__clock_us() - t;
  return ok ? HVB_STAGE_NEXT : HVB_STAGE_FAILED;
}

/* The exchange goes: what the call held in the fleet's counters becomes what it cost. */
static void budget_release(hvb_exchange *x, void **state) {
  if (*state) hvb__budget_shared_settle(x->llm_cache, *state, &x->bill);
  *state = NULL;
  x->bill = (hvb_exchange_bill){0}; /* a routed call's next target bills afresh */
}

const hvb_stage hvb__stage_budget = {.name = "budget", .request = budget_request,
                                     .release = budget_release};
