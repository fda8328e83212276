/* core/cache/store.h: the response cache as the call pipelines see it.
 *
 * Three layers, bottom up:
 * - the store (one per database file and process, shared, reference counted): the SQLite
 *   connection under a lock, its prepared statements, corruption recovery, and the table of
 *   calls in flight (store.c, store-db.h);
 * - the handle (struct hvb_cache, the public type): resolved settings plus a store opened on
 *   first use, so an LLM whose calls never hit the cache never creates a database
 *   (settings.c, settings.h);
 * - the helpers a pipeline calls: policy and key (policy.c), fetch (lookup with single
 *   flight, flight.c), put, release. None of them ever fails a call: a broken cache logs a
 *   warning and reads as a miss.
 *
 * This header is the cache as the layers above see it; store-db.h and settings.h are
 * private to core/cache/.
 *
 * Thread safety: everything here may be called from any thread.
 */
#ifndef HVB_CACHE_INTERNAL_H
#define HVB_CACHE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <glib.h>
#include <json-c/json.h>
#include <heavenbase/cache.h>
#include <heavenbase/error.h>
#include "base/fork.h"

typedef enum hvb_cache_ns {
  HVB_NS_TEXT = 0,
  HVB_NS_EMBEDDING = 1,
  HVB_NS_IMAGE = 2,
  HVB_NS_COUNT = 3
} hvb_cache_ns;

/* "text", "embedding", "image". */
const char *hvb__cache_ns_name(hvb_cache_ns ns);

/* The database's file name in the cache directory (hvb_cache_check reads it too). */
#define HVB__CACHE_DB_NAME "cache.sqlite"

/* ---- handles ---- */

/* The cache settings object: heavenbase.llm.cache from `cfg` (borrowed, NULL: none) merged
 * with `over` (true, false, an object, or NULL). New reference; NULL with HVB_EINVAL naming
 * `what` ("option 'cache'") when `over` is of another type. Not yet checked: see
 * hvb__cache_new. */
json_object *hvb__cache_settings_merge(json_object *base, json_object *over, const char *what,
                                       hvb_error *err);
json_object *hvb__cache_settings_from_config(const hvb_config *cfg);

/* A handle for the settings object `settings` (borrowed). The store is opened on first use.
 * NULL with err when a setting is invalid (HVB_EINVAL naming `what` and the key). */
hvb_cache *hvb__cache_new(json_object *settings, const char *what, hvb_error *err);

/* Handles are reference counted: a stream holds its call's handle while it runs.
 * hvb_cache_close is hvb__cache_unref. */
hvb_cache *hvb__cache_ref(hvb_cache *cache);
void hvb__cache_unref(hvb_cache *cache); /* NULL is a no-op */

/* The handle's settings object, borrowed (for deriving a per-call handle). */
json_object *hvb__cache_settings(const hvb_cache *cache);

/* The handle a call uses for namespace `ns`: `base` (a new reference) or, when the call
 * options (borrowed, may be NULL) hold "cache", a new handle for base's settings merged with
 * it. *out is NULL when the namespace is off for this call (or base is NULL). false with
 * HVB_EINVAL naming the call option 'cache' when it is invalid. */
bool hvb__cache_for_call(hvb_cache *base, json_object *call_options, hvb_cache_ns ns,
                         hvb_cache **out, hvb_error *err);

/* Is namespace `ns` on (the cache and the namespace both enabled)? */
bool hvb__cache_enabled(const hvb_cache *cache, hvb_cache_ns ns);

/* The "deterministic" policy for a canonical request (borrowed; see cache.h). `runs_tools`:
 * the call will execute tools (the tool loop passes true; such chats bypass the text cache). */
bool hvb__cache_policy_allows(hvb_cache_ns ns, json_object *request, bool runs_tools);

/* The entry key: SHA-256 hex over {namespace, spec hash_key, request without the transport
 * fields}. New string (g_free). `request` is borrowed and left unchanged. */
char *hvb__cache_key(hvb_cache_ns ns, const char *spec_hash, json_object *request);

/* ---- entries; none of these fails: database trouble is logged and reads as a miss ---- */

/* The value stored under `key`, when present and not expired (a hit also counts and
 * refreshes the entry's LRU time). New GBytes (g_bytes_unref) or NULL. */
GBytes *hvb__cache_get(hvb_cache *cache, hvb_cache_ns ns, const char *key);

/* Store `len` bytes under `key` (replacing an older value), then evict the least recently
 * used entries beyond max_bytes. */
void hvb__cache_put(hvb_cache *cache, hvb_cache_ns ns, const char *key, const void *data,
                    size_t len);

/* ---- single flight: one request per key in flight in this process ---- */

typedef enum hvb_flight {
  HVB_FLIGHT_HIT,    /* *value holds the entry */
  HVB_FLIGHT_LEADER, /* no entry: the caller makes the request, puts its answer (or not) and
                        must call hvb__cache_release */
  HVB_FLIGHT_BUSY,   /* another call has the key in flight (only when not waiting) */
  HVB_FLIGHT_ALONE   /* no entry and no claim: the key is in flight on this very thread (a
                        stream it has not finished), or the wait timed out; request without
                        the cache's coordination (the answer may still be put) */
} hvb_flight;

/* Look `key` up; on a miss claim it. When another call holds the key: with `wait_ms` != 0
 * wait for it to finish (at most wait_ms milliseconds, -1: without limit) and look again;
 * with wait_ms == 0 return HVB_FLIGHT_BUSY. With HVB_FLIGHT_ONCE, never wait either, and
 * also return HVB_FLIGHT_BUSY (claiming nothing) when a call on another host leads the key
 * (the backend's lock is held): an async call then looks again later, from a timer. */
#define HVB_FLIGHT_ONCE (-2L)
hvb_flight hvb__cache_fetch(hvb_cache *cache, hvb_cache_ns ns, const char *key, long wait_ms,
                            GBytes **value);

/* Give up the claim on `key` (after the put, or after a failure: waiters then look again
 * and, finding nothing, one of them becomes the leader). */
void hvb__cache_release(hvb_cache *cache, const char *key);

/* ---- state shared through the backend (shared.c) ---- */

/* Add `delta` to the fleet-wide counter `name` (made at 0, expiring ttl_ms after it was
 * made): true with *value the new value; false when the handle's backend has no counters or
 * cannot be reached now (the caller keeps its own state). */
bool hvb__cache_counter_add(hvb_cache *cache, const char *name, int64_t delta, int64_t ttl_ms,
                            int64_t *value);

/* Small fleet-wide values (NUL-terminated strings) and locks over them, when the handle's
 * backend offers both and can be reached now (hvb__cache_shares_values). lock: 1 taken, 0
 * held by another, -1 not shared or error; unlock removes the lock only while `token` holds
 * it. get: 1 found (*value new, g_free), 0 none, -1 not shared or error. */
bool hvb__cache_shares_values(hvb_cache *cache);
int hvb__cache_value_lock(hvb_cache *cache, const char *name, const char *token, int64_t ttl_ms);
void hvb__cache_value_unlock(hvb_cache *cache, const char *name, const char *token);
int hvb__cache_value_get(hvb_cache *cache, const char *name, char **value);
bool hvb__cache_value_set(hvb_cache *cache, const char *name, const char *value, int64_t ttl_ms);

/* Holds that expire, for budgets shared by a fleet (the backend's hold and release,
 * <heavenbase/cache-backend.h>): hvb__cache_holds says whether the handle's backend offers
 * them (reachable or not). hold: 1 held, 0 no room (*committed: the counter `name` plus
 * its live holds), -1 not offered or error. release: drop hold `token` and add `spent` to
 * the counter, once; false when not offered or on error (the hold then expires). */
bool hvb__cache_holds(hvb_cache *cache);
int hvb__cache_hold(hvb_cache *cache, const char *name, const char *token, int64_t amount,
                    int64_t limit, int64_t hold_ms, int64_t ttl_ms, int64_t *committed);
bool hvb__cache_hold_release(hvb_cache *cache, const char *name, const char *token,
                             int64_t spent, int64_t ttl_ms);

/* ---- for tests ---- */

/* Replace the clock (milliseconds since the epoch) the cache uses for write times, LRU times
 * and expiry; NULL restores the real clock. */
void hvb__cache_set_clock(int64_t (*now_ms)(void));

/* fork() handler, called by core/api/atfork.c. */
void hvb__cache_atfork(hvb_fork_phase phase);

#endif
