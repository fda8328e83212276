/* core/cache/settings.h: cache handles and their settings, private to core/cache/.
 *
 * The handle (struct hvb_cache, the public type) holds the resolved settings plus a store
 * opened on first use, so an LLM whose calls never hit the cache never creates a database.
 * The functions on handles that the pipelines call are declared in store.h.
 *
 * Thread safety: a handle may be used from any thread; its fields but `store` are read-only
 * once made.
 */
#ifndef HVB_CACHE_SETTINGS_H
#define HVB_CACHE_SETTINGS_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>
#include <json-c/json.h>
#include "cache/store.h"
#include "cache/store-db.h"

struct hvb_cache {
  gint refs;
  json_object *settings; /* the merged settings object, for deriving per-call handles */
  bool enabled;
  bool ns_enabled[HVB_NS_COUNT];
  int64_t ttl_ms[HVB_NS_COUNT];
  int64_t max_bytes;
  char *dir;
  GMutex lock; /* guards the lazy hvb_cache_store */
  hvb_cache_store *store;
  /* Tiers (tier.c): the backend instance (NULL: sqlite alone) and the read order. */
  struct hvb_remote *remote;
  int ntiers;
  bool tier_remote[2]; /* tier i is the remote backend (else the local store) */
  int64_t flight_lock_ms; /* the expiry of a shared single-flight lock */
};

/* The local store's lookup and write (store.c); hvb__cache_get/put (tier.c) go through the
 * tiers and call these for the local one. */
GBytes *hvb__cache_local_get(hvb_cache *c, hvb_cache_ns ns, const char *key);
void hvb__cache_local_put(hvb_cache *c, hvb_cache_ns ns, const char *key, const void *data,
                          size_t len);

/* Resolve "backend", "backend_options", "backend_fallback" and "tiers" of c->settings
 * (tier.c): false with err (HVB_EINVAL naming the key; HVB_CONFIG for a backend that cannot
 * be used while backend_fallback is false). */
bool hvb__cache_tiers_resolve(hvb_cache *c, const char *what, hvb_error *err);
/* Single flight across processes (flight-shared.c): called by the call that leads `key` in
 * this process; HVB_FLIGHT_LEADER (lead the fleet too, or call alone) or HVB_FLIGHT_HIT
 * (another process stored it: *value set, this process's claim released). */
hvb_flight hvb__cache_shared_flight(hvb_cache *c, hvb_cache_ns ns, const char *key, long wait_ms,
                                    GBytes **value);
/* Release the shared lock on `key` when this process holds it (from hvb__cache_release). */
void hvb__cache_shared_release(hvb_cache *c, const char *key);

/* Does the handle read or write the local store? */
bool hvb__cache_has_local(const hvb_cache *c);

/* The handle's store, opened on first use; borrowed. NULL when it cannot be used now (the
 * reason is logged). */
hvb_cache_store *hvb__cache_store_of(hvb_cache *c);

#endif
