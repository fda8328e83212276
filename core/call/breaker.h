/* core/call/breaker.h: circuit breakers per route target (core/call/breaker.c), keyed by the
 * target's client_key and model id, so that every route (and every LLM) reaching the same
 * model with the same key and endpoint shares one breaker.
 *
 * A breaker is closed (calls go through) until N consecutive failures, or a failure rate over
 * a window of time, open it; an open breaker skips its target until a cool-down passed, then
 * lets one trial call through (half-open); a success closes it, a failure opens it again.
 * Failures are those the route lets fall through (429, 5xx, connect failures, timeouts...);
 * a 400 says nothing of the target's health.
 *
 * The state lives behind a small store interface (get/put of one key's state) so that a
 * shared cache backend can hold it across processes (breaker-shared.c); the built-in store is
 * in process memory. Thread-safe: the in-process store has its own lock.
 */
#ifndef HVB_CALL_BREAKER_H
#define HVB_CALL_BREAKER_H

#include <stdbool.h>
#include <stdint.h>
#include <json-c/json.h>
#include "config/route.h" /* hvb_breaker_config: a route's settings */
#include "cache/store.h"

typedef enum hvb_breaker_phase {
  HVB_BREAKER_CLOSED,
  HVB_BREAKER_OPEN,
  HVB_BREAKER_HALF_OPEN,
} hvb_breaker_phase;

/* One target's breaker, as a store keeps it: plain numbers (a shared backend stores them as
 * a hash). Times are microseconds of this process's monotonic clock; a shared backend
 * converts them to wall-clock time. */
typedef struct hvb_breaker_state {
  hvb_breaker_phase phase;
  int64_t consecutive;     /* failures in a row */
  int64_t window_calls, window_failures;
  int64_t window_start_us;
  int64_t opened_us;       /* when it opened (or its trial started) */
  int64_t trial_us;        /* half-open: when the trial call started, 0: none yet */
  int64_t failures, successes, skipped; /* totals, for status */
} hvb_breaker_state;

/* Where breaker states live. get: false when the key has no state yet (closed). A store
 * serializes its own get/put; update runs fn on the key's state under the store's lock (a
 * shared backend: a transaction), then stores it. */
typedef struct hvb_breaker_store {
  void (*update)(void *data, const char *key,
                 void (*fn)(hvb_breaker_state *st, void *arg), void *arg);
  bool (*get)(void *data, const char *key, hvb_breaker_state *out);
  void *data;
} hvb_breaker_store;

/* The store in use: the in-process one unless another was set (borrowed, process-wide). */
const hvb_breaker_store *hvb__breaker_store(void);
void hvb__breaker_set_store(const hvb_breaker_store *store); /* NULL: back to in-process */

/* The store of a cache handle whose backend shares small values and locks (breaker-shared.c):
 * the fleet's breakers. False (nothing set) when it shares none. The store borrows the
 * handle: use it while the handle lives. A backend that is down at an operation falls back
 * to the in-process store for that operation. */
bool hvb__breaker_shared_store(hvb_cache *cache, hvb_breaker_store *out);

/* The functions below take the store to use; NULL: hvb__breaker_store().
 *
 * May a call go to the target of `key`? False when its breaker is open (then *why, a new
 * string, says so and for how long), or half-open with its trial running. An open breaker
 * whose cool-down passed becomes half-open and this call is its trial. */
bool hvb__breaker_allow(const hvb_breaker_store *s, const hvb_breaker_config *c, const char *key, char **why);

/* The outcome of a call that allow() let through: `failed` (a failure that counts) or not. */
void hvb__breaker_record(const hvb_breaker_store *s, const hvb_breaker_config *c, const char *key, bool failed);

/* The state of `key` as JSON (new): {"state": "closed"|"open"|"half-open",
 * "consecutive_failures", "failures", "successes", "skipped", "half_open_in_s" (open only)}. */
json_object *hvb__breaker_status(const hvb_breaker_store *s, const hvb_breaker_config *c, const char *key);

const char *hvb__breaker_phase_name(hvb_breaker_phase p);

#endif
