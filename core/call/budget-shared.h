/* core/call/budget-shared.h: budget spend counted across a fleet in the cache backend's
 * counters (core/call/budget-shared.c), for the budget stage. */
#ifndef HVB_CALL_BUDGET_SHARED_H
#define HVB_CALL_BUDGET_SHARED_H

#include <stdbool.h>
#include <stdint.h>
#include "call/pipeline.h"
#include "cache/ledger.h"

/* One budget as the counters see it (strings borrowed). */
typedef struct hvb_budget_ref {
  const char *name, *period, *scope, *match;
  int64_t start_ms; /* the period's start */
  int64_t hold_ms;  /* how long a hold may count when its call never settles it */
  double limit;     /* USD, or tokens */
  bool tokens;
} hvb_budget_ref;

/* What a call let through holds in the counters until the exchange goes. */
typedef struct hvb_budget_hold hvb_budget_hold;

/* Read the fleet's spend of `b` into *fleet and, when it leaves room for the period's
 * average call, hold that much (a new hold pushed on *holds) and set *fits. False when the
 * cache has no shared counters or cannot reach them now: the caller reads its own ledger. */
bool hvb__budget_shared_take(hvb_cache *cache, const hvb_budget_ref *b, hvb_spend *fleet,
                             bool *fits, hvb_budget_hold **holds);

/* Replace the holds by what the call cost (bill: the account stage's), and free them. */
void hvb__budget_shared_settle(hvb_cache *cache, hvb_budget_hold *holds,
                               const hvb_exchange_bill *bill);

#endif
