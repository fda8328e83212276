/* core/call/route.h: a route at call time (core/call/route.c): which target a routed call
 * tries next, whether a failure falls through, and the record of what was tried.
 *
 * A hvb_route is the loaded route (core/config/route.h) with one resolved target per entry
 * (spec, gateway, connection pool), made by the routed LLM (core/api/route-llm.c), which
 * owns it; it is immutable and shared by the LLM's calls (thread-safe to read). A
 * hvb_route_call is one call's walk along it and belongs to that call's thread.
 */
#ifndef HVB_CALL_ROUTE_H
#define HVB_CALL_ROUTE_H

#include <stdbool.h>
#include <json-c/json.h>
#include <heavenbase/cache.h>
#include <heavenbase/error.h>
#include <heavenbase/spec.h>
#include "config/route.h"
#include "gateway/gateway.h"
#include "net/transport.h"

typedef struct hvb_route_target {
  const char *label;            /* borrowed from the def */
  hvb_spec *spec;               /* borrowed from the target's LLM */
  const hvb_gateway_record *gw; /* the registry's */
  hvb_client *client;           /* borrowed; NULL for an offline gateway */
  const char *breaker_key;      /* client_key + model id (core/call/breaker.h) */
  const char *const *limit_headers; /* HVB_RLH_COUNT reply header names whose values say
                                       the rate limit left (core/call/ratelimit-headers.h;
                                       NULL entries: not named), or NULL: none */
} hvb_route_target;

/* What the strategies learn as calls run (per routed LLM; thread-safe, own lock). */
typedef struct hvb_route_stats hvb_route_stats;
hvb_route_stats *hvb__route_stats_new(size_t ntargets);
void hvb__route_stats_free(hvb_route_stats *st);

typedef struct hvb_route {
  const hvb_route_def *def;  /* borrowed from the owner */
  hvb_route_target *targets; /* def->ntargets of them */
  hvb_route_stats *stats;    /* owned by the owner */
} hvb_route;

typedef struct hvb_route_call hvb_route_call;

/* A call's walk along `r` (borrowed; must outlive the call), in the order of its strategy:
 * fallback: as listed; weighted: the first target by smooth weighted round robin (exact
 * shares, as nginx does), then the others as listed; least-latency: by the EWMA of time to
 * first byte (unmeasured targets first); least-busy: fewest calls in flight; hash: by
 * rendezvous hashing of the call option "route_key" (a string; the same key keeps its
 * target while that target is there). `call_options` borrowed, may be NULL. `log_info`:
 * info-level logging is on (each decision is then logged). */
hvb_route_call *hvb__route_call_new(const hvb_route *r, json_object *call_options, bool log_info);
/* The LLM's cache (borrowed, may be NULL): a backend with counters shares the targets' request
 * limits across processes (ratelimit-shared.c). */
void hvb__route_call_set_cache(hvb_route_call *rc, hvb_cache *cache);
void hvb__route_call_free(hvb_route_call *rc);

/* The call may block its thread (a sync call): a route whose on_limit is "wait" then waits
 * for a target's rate limit within the deadline, rather than moving on. */
void hvb__route_call_set_may_wait(hvb_route_call *rc, bool may_wait);

/* The answering target's reply used `tokens` tokens: spent from its tokens-per-minute limit. */
void hvb__route_call_spend(hvb_route_call *rc, int64_t tokens);

/* The next target to try (borrowed), or NULL when none is left: every target tried, the
 * route's max_targets reached, or its deadline passed. Targets whose circuit breaker is open
 * are skipped (recorded, with why). Starts that target's clock. When NULL and `err` holds no
 * failure yet (no target could be tried), err says why. */
const hvb_route_target *hvb__route_call_next(hvb_route_call *rc, hvb_error *err);

/* The current target failed with `e`: recorded. True when the failure falls through (the
 * caller then asks hvb__route_call_next), false when the call fails with it. */
bool hvb__route_call_failed(hvb_route_call *rc, const hvb_error *e);

/* The current target's server asked for `ms` milliseconds of quiet (Retry-After): no routed
 * call of the process sends to it before then (core/call/ratelimit.c). */
void hvb__route_call_retry_after(hvb_route_call *rc, long ms);

/* The reply headers the current target's transfer should keep (the names its catalog entry
 * gives for its rate limits): *names (borrowed) and their count; 0 when none. */
size_t hvb__route_call_capture(const hvb_route_call *rc, const char *const **names);

/* The current target's transfer `t` ended (answered or failed): what its reply headers said
 * of the rate limit left is learned for every routed call of the process. */
void hvb__route_call_heard(hvb_route_call *rc, const hvb_transfer *t);

/* The current target's first reply byte arrived (time to first byte, for least-latency). */
void hvb__route_call_first_byte(hvb_route_call *rc);

/* The current target answered: recorded. */
void hvb__route_call_answered(hvb_route_call *rc);

/* Milliseconds left of the route's deadline (>= 1), or 0 when it has none. */
long hvb__route_call_remaining_ms(const hvb_route_call *rc);

/* Hedging: the milliseconds after which a second target should be started beside the
 * current one (the route's "hedge": its p95 time to first byte, or "hedge_after_ms"), or 0
 * when the route does not hedge or no further target may be tried. */
long hvb__route_call_hedge_ms(const hvb_route_call *rc);
/* The current target's index, or -1 when none runs. */
long hvb__route_call_current(const hvb_route_call *rc);
/* When the current attempt started (monotonic us), 0 when none runs. */
int64_t hvb__route_call_started_us(const hvb_route_call *rc);
/* This call never tries target `index` (a hedged call's other half runs it). */
void hvb__route_call_exclude(hvb_route_call *rc, size_t index);
/* Target `index`, started at `started_us` by the other half of a hedged call, lost the race
 * and was cancelled: recorded ("outcome": "cancelled", `why`) in this call's record. */
void hvb__route_call_lost(hvb_route_call *rc, size_t index, int64_t started_us, const char *why);

/* Whether the current target is the last the call may try (it keeps its own retries). */
bool hvb__route_call_is_last(const hvb_route_call *rc);

/* Give result `r` the route's record, made when first read (hvb_result_route): {"name",
 * "strategy", "answered": label or null, "attempts": [{"target", "index", "outcome":
 * "answered" | "failed" | "skipped", "status", "http_status", "reason", "ms"}...], "ms"}. */
struct hvb_result;
void hvb__route_call_record_into(const hvb_route_call *rc, struct hvb_result *r);

#endif
