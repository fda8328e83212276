/* core/cache/flight.c: single flight, one request per key in flight in this process (see
 * store.h). The claims live in the store, so that every handle on one database file sees
 * them; a claim is held by a thread, which lets a thread that already holds a key (a stream
 * it has not finished) go on alone rather than wait for itself.
 */
#include "cache/store.h"
#include "cache/settings.h"
#include "cache/store-db.h"

#include <glib.h>

hvb_flight hvb__cache_fetch(hvb_cache *c, hvb_cache_ns ns, const char *key, long wait_ms,
                            GBytes **value) {
  *value = NULL;
  if (!hvb__cache_enabled(c, ns) || !key) return HVB_FLIGHT_ALONE;
  hvb_cache_store *st = hvb__cache_store_of(c);
  if (!st) return HVB_FLIGHT_ALONE;
  gint64 deadline = wait_ms > 0 ? g_get_monotonic_time() + (gint64)wait_ms * 1000 : 0;
  for (;;) {
    if ((*value = hvb__cache_get(c, ns, key))) return HVB_FLIGHT_HIT;
    g_mutex_lock(&st->flight_lock);
    GThread *owner = g_hash_table_lookup(st->flights, key);
    if (!owner) {
      g_hash_table_insert(st->flights, g_strdup(key), g_thread_self());
      g_mutex_unlock(&st->flight_lock);
      /* The previous leader may have stored and left between our lookup and our claim. */
      if ((*value = hvb__cache_get(c, ns, key))) {
        hvb__cache_release(c, key);
        return HVB_FLIGHT_HIT;
      }
      /* Leading in this process; across processes too, when the backend shares locks. */
      return hvb__cache_shared_flight(c, ns, key, wait_ms, value);
    }
    if (owner == g_thread_self() || wait_ms == 0 || wait_ms == HVB_FLIGHT_ONCE) {
      g_mutex_unlock(&st->flight_lock);
      return owner == g_thread_self() ? HVB_FLIGHT_ALONE : HVB_FLIGHT_BUSY;
    }
    bool timed_out = false;
    while (!timed_out && g_hash_table_contains(st->flights, key)) {
      if (deadline)
        timed_out = !g_cond_wait_until(&st->flight_cond, &st->flight_lock, deadline);
      else
        g_cond_wait(&st->flight_cond, &st->flight_lock);
    }
    g_mutex_unlock(&st->flight_lock);
    if (timed_out) {
      *value = hvb__cache_get(c, ns, key);
      return *value ? HVB_FLIGHT_HIT : HVB_FLIGHT_ALONE;
    }
  }
}

void hvb__cache_release(hvb_cache *c, const char *key) {
  hvb_cache_store *st = c ? c->store : NULL;
  if (!st || !key) return;
  hvb__cache_shared_release(c, key);
  g_mutex_lock(&st->flight_lock);
  g_hash_table_remove(st->flights, key);
  g_cond_broadcast(&st->flight_cond);
  g_mutex_unlock(&st->flight_lock);
}
