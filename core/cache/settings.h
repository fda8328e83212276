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
};

/* The handle's store, opened on first use; borrowed. NULL when it cannot be used now (the
 * reason is logged). */
hvb_cache_store *hvb__cache_store_of(hvb_cache *c);

#endif
