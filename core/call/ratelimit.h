/* core/call/ratelimit.h: client-side rate limits per route target (core/call/ratelimit.c): a
 * token bucket for requests per minute and one for tokens per minute, keyed like the
 * breakers (client_key + model id), so that every LLM of the process reaching the same
 * model with the same key shares them. A call that would exceed a limit is not sent: the
 * route moves on to its next target, or waits within its deadline (route "on_limit").
 * Besides the configured limits, a key learns what its server said: a Retry-After pause, and
 * "N requests (or tokens) remaining until T" from the headers its provider's catalog entry
 * names (core/call/ratelimit-headers.c reads them). Thread-safe (one lock).
 */
#ifndef HVB_CALL_RATELIMIT_H
#define HVB_CALL_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>
#include <heavenbase/cache.h>
#include "config/route.h" /* hvb_rate_limits: a target's settings */

/* Take one request from `key`'s buckets now: true when it may go. Otherwise false, *wait_us
 * says when it could (a bucket refills continuously) and *why (static text, may be NULL)
 * which limit holds it: "rpm/tpm", "Retry-After" or "remaining". */
bool hvb__ratelimit_take(const char *key, const hvb_rate_limits *l, int64_t *wait_us,
                         const char **why);

/* A call on `key` used `tokens` tokens (its usage): taken from the tokens-per-minute bucket,
 * which may go below zero (the next calls then wait for it to refill), and from what the
 * server said was left. */
void hvb__ratelimit_spend(const char *key, const hvb_rate_limits *l, int64_t tokens);

/* The server asked `key`'s callers to wait (Retry-After): no request is let through until
 * `until_us` (monotonic time), whatever the limits. */
void hvb__ratelimit_pause(const char *key, int64_t until_us);

/* The fleet-wide limits of `key` (ratelimit-shared.c), kept in the cache backend of `cache`
 * (borrowed; may be NULL) when it has counters and small values: true when no host heard a
 * Retry-After for it that still runs, the fleet's tokens of this minute and the last are below
 * l->tpm, and one more request fits in l->rpm over any 60 s (this minute's and the last one's
 * together; the request is counted). Else false, *wait_us until it could go and *why (static)
 * "Retry-After" or "rpm/tpm, fleet-wide". True when there is nothing to share them through. */
bool hvb__ratelimit_shared_take(hvb_cache *cache, const char *key, const hvb_rate_limits *l,
                                int64_t *wait_us, const char **why);
/* A call on `key` used `tokens` tokens: added to the fleet's count of this minute (l->tpm). */
void hvb__ratelimit_shared_spend(hvb_cache *cache, const char *key, const hvb_rate_limits *l,
                                 int64_t tokens);
/* The server asked `key`'s callers for `ms` of quiet (Retry-After): every host is told. */
void hvb__ratelimit_shared_pause(hvb_cache *cache, const char *key, int64_t ms);

typedef enum hvb_ratelimit_kind { HVB_RL_REQUESTS, HVB_RL_TOKENS } hvb_ratelimit_kind;

/* The server said `remaining` requests (or tokens) are left on `key` until `until_us`
 * (monotonic time), when its window resets: until then each request takes one from what is
 * left (tokens: each answer's usage), and none goes when nothing is left. Replaces what an
 * earlier reply said. */
void hvb__ratelimit_learn(const char *key, hvb_ratelimit_kind kind, double remaining,
                          int64_t until_us);

#endif
