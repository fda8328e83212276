/* core/call/budget-shared.c: budget spend counted across a fleet, in the cache backend's
 * counters (see stage-budget.h).
 *
 * Each budget has three counters per period ("budget:<name>:<scope>:<match>:<period>:<start>"
 * with ":usd" in micro-USD, ":tok" in tokens and ":calls"), expiring a day after the period
 * could end. A call the budget lets through first holds the period's average call in the
 * counter it is limited by (an atomic add whose result says whether it still fits), and
 * when the exchange goes the hold is replaced by what the call cost. So concurrent calls on
 * many hosts cannot all pass on the same reading: the fleet stops within one call of the
 * limit.
 *
 * A backend with holds (ABI 1.1, CAP_HOLDS) keeps each hold apart from the counter, under a
 * token of its own, with a lifetime (the ref's hold_ms: the call's own timeout and a margin).
 * The committed spend is the counter plus the live holds, and a hold whose process dies
 * (SIGKILL between hold and settle) expires and stops counting. Settling drops the hold and
 * adds what the call cost, once per token, in one step the backend makes atomic. A backend
 * with counters only holds in the counter itself: a dead process's hold is then never given
 * back (the counter errs high, never low). A backend without counters, or one that is down,
 * shares nothing: the stage then reads the local ledger, as without a backend.
 */
#include "call/budget-shared.h"
#include "cache/store.h"

#include <glib.h>
#include <math.h>
#include <string.h>

#define DAY_MS INT64_C(86400000)

struct hvb_budget_hold {
  char *base;  /* the counters' common name */
  char *token; /* the backend's hold, or NULL: held in the counter itself */
  bool tokens;
  int64_t held; /* micro-USD or tokens */
  int64_t ttl_ms;
  hvb_budget_hold *next;
};

static int64_t ttl_for(const char *period) {
  int64_t days = !strcmp(period, "day") ? 1 : !strcmp(period, "week") ? 7 : 31;
  return (days + 1) * DAY_MS;
}

static bool counter(hvb_cache *cache, const char *base, const char *what, int64_t delta,
                    int64_t ttl_ms, int64_t *value) {
  char *name = g_strdup_printf("%s:%s", base, what);
  bool ok = hvb__cache_counter_add(cache, name, delta, ttl_ms, value);
  g_free(name);
  return ok;
}

/* Hold `amount` of the limited counter under a new token, expiring after the ref's hold_ms:
 * 1 held (*token new), 0 no room, -1 the backend could not be asked. *fleet's limited
 * amount becomes the committed spend (the counter and the live holds). */
static int expiring_hold(hvb_cache *cache, const char *base, const hvb_budget_ref *b,
                         int64_t amount, int64_t limit, char **token, hvb_spend *fleet) {
  char *name = g_strdup_printf("%s:%s", base, b->tokens ? "tok" : "usd");
  char *t = g_uuid_string_random();
  int64_t committed = 0;
  int rc = hvb__cache_hold(cache, name, t, amount, limit, b->hold_ms, ttl_for(b->period),
                           &committed);
  g_free(name);
  if (rc >= 0) {
    if (b->tokens) fleet->tokens = committed;
    else fleet->usd = (double)committed / 1e6;
  }
  if (rc == 1) *token = t;
  else g_free(t);
  return rc;
}

bool hvb__budget_shared_take(hvb_cache *cache, const hvb_budget_ref *b, hvb_spend *fleet,
                             bool *fits, hvb_budget_hold **holds) {
  if (!cache) return false;
  char *base = g_strdup_printf("budget:%s:%s:%s:%s:%lld", b->name, b->scope,
                               b->match ? b->match : "", b->period, (long long)b->start_ms);
  int64_t ttl = ttl_for(b->period), usd = 0, tok = 0, calls = 0;
  if (!counter(cache, base, "usd", 0, ttl, &usd) || !counter(cache, base, "tok", 0, ttl, &tok) ||
      !counter(cache, base, "calls", 0, ttl, &calls)) {
    g_free(base);
    return false;
  }
  *fleet = (hvb_spend){.usd = (double)usd / 1e6, .tokens = tok, .calls = calls};
  int64_t spent = b->tokens ? tok : usd;
  int64_t limit = b->tokens ? (int64_t)b->limit : (int64_t)llround(b->limit * 1e6);
  int64_t next = calls > 0 ? (spent + calls - 1) / calls : 0; /* the average call, rounded up */
  int64_t after = 0;
  char *token = NULL;
  if (hvb__cache_holds(cache)) {
    int rc = expiring_hold(cache, base, b, next, limit, &token, fleet);
    if (rc < 0) {
      g_free(base);
      return false;
    }
    *fits = rc == 1;
  } else {
    *fits = spent < limit && counter(cache, base, b->tokens ? "tok" : "usd", next, ttl, &after);
  }
  if (*fits && !token && after > limit) { /* others held it first: give it back */
    counter(cache, base, b->tokens ? "tok" : "usd", -next, ttl, &after);
    *fits = false;
  }
  if (!*fits) {
    g_free(base);
    return true;
  }
  hvb_budget_hold *h = g_new0(hvb_budget_hold, 1);
  *h = (hvb_budget_hold){.base = base, .token = token, .tokens = b->tokens, .held = next,
                         .ttl_ms = ttl, .next = *holds};
  *holds = h;
  return true;
}

void hvb__budget_shared_settle(hvb_cache *cache, hvb_budget_hold *holds,
                               const hvb_exchange_bill *bill) {
  while (holds) {
    hvb_budget_hold *h = holds;
    holds = h->next;
    int64_t usd = bill->priced ? (int64_t)llround(bill->usd * 1e6) : 0, v;
    if (h->token) { /* the hold becomes the cost; the other counters add theirs */
      char *name = g_strdup_printf("%s:%s", h->base, h->tokens ? "tok" : "usd");
      hvb__cache_hold_release(cache, name, h->token, h->tokens ? bill->tokens : usd, h->ttl_ms);
      g_free(name);
      counter(cache, h->base, h->tokens ? "usd" : "tok", h->tokens ? usd : bill->tokens,
              h->ttl_ms, &v);
    } else { /* every counter the call adds to, the held one corrected by what was held */
      counter(cache, h->base, "usd", usd - (h->tokens ? 0 : h->held), h->ttl_ms, &v);
      counter(cache, h->base, "tok", bill->tokens - (h->tokens ? h->held : 0), h->ttl_ms, &v);
    }
    if (bill->answered) counter(cache, h->base, "calls", 1, h->ttl_ms, &v);
    g_free(h->token);
    g_free(h->base);
    g_free(h);
  }
}
