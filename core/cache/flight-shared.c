/* core/cache/flight-shared.c: single flight across processes and hosts, through a backend
 * that offers locks (<heavenbase/cache-backend.h>, HVB_CACHE_BACKEND_CAP_LOCK).
 *
 * flight.c makes one call per key in flight in this process; the call that leads here then
 * takes the backend's lock "flight:<ns>:<key>" with an expiry (flight_lock_seconds, default
 * 30). Taking it, it leads the fleet: it looks once more (the previous holder may have stored
 * and left between our lookup and our lock), calls, puts, and releases (hvb__cache_release,
 * which unlocks only while the lock still holds our token). Finding it held, it waits for the
 * entry: told by the backend's wait (pub/sub) when it has one, else polling, in slices of at
 * most WAIT_SLICE_MS, trying the lock again after each (a holder that died releases nothing;
 * its lock expires and a waiter takes it). Past the bound (the call's wait, or twice the lock's
 * expiry) it calls by itself. A backend error at any point: it calls by itself (the backend's
 * health is remote.c's business: one warning per outage). An async call (HVB_FLIGHT_ONCE)
 * never waits here: finding the lock held it gives up its claim in this process and is told
 * BUSY; its owner looks again from the engine's timers (core/call/stage-cache.c).
 */
#include "cache/settings.h"
#include "cache/backend.h"
#include "cache/store.h"
#include "base/common.h"
#include "base/error.h"

#include <unistd.h>

#define WAIT_SLICE_MS 200
#define POLL_MS 25

static GMutex tokens_lock;
static GHashTable *tokens; /* "<remote ptr>\n<key>" -> held* (the locks we hold) */

typedef struct held {
  char *name, *token;
} held;

static void held_free(gpointer p) {
  held *h = p;
  g_free(h->name);
  g_free(h->token);
  g_free(h);
}
static guint token_seq;

static char *slot_of(const hvb_cache *c, const char *key) {
  return g_strdup_printf("%p\n%s", (void *)c->remote, key);
}

static char *new_token(void) {
  char host[64] = "";
  gethostname(host, sizeof host - 1);
  return g_strdup_printf("%s:%ld:%p:%u", host, (long)getpid(), (void *)g_thread_self(),
                         g_atomic_int_add(&token_seq, 1));
}

static void remember(const hvb_cache *c, const char *key, char *name, char *token) {
  held *h = g_new(held, 1);
  h->name = name;
  h->token = token;
  g_mutex_lock(&tokens_lock);
  if (!tokens) tokens = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, held_free);
  g_hash_table_replace(tokens, slot_of(c, key), h);
  g_mutex_unlock(&tokens_lock);
}

static char *lock_name(hvb_cache_ns ns, const char *key) {
  return g_strdup_printf("flight:%s:%s", hvb__cache_ns_name(ns), key);
}

/* 1 taken (token remembered), 0 held by another, -1 backend error. */
static int try_lock(hvb_cache *c, hvb_cache_ns ns, const char *key) {
  hvb_remote *r = c->remote;
  char *name = lock_name(ns, key), *token = new_token();
  hvb_error e = HVB_ERROR_INIT;
  int rc = hvb__remote_ops(r)->lock(hvb__remote_inst(r), name, token, c->flight_lock_ms, &e);
  hvb__remote_note(r, rc >= 0, &e);
  if (rc == 1) {
    remember(c, key, name, token);
  } else {
    g_free(name);
    g_free(token);
  }
  return rc;
}

/* Wait up to ms for news of the entry: the backend's wait when it has one, else a nap. */
static void wait_for_entry(hvb_cache *c, hvb_cache_ns ns, const char *key, long ms) {
  hvb_remote *r = c->remote;
  if (hvb__remote_has(r, HVB_CACHE_BACKEND_CAP_WAIT)) {
    hvb_error e = HVB_ERROR_INIT;
    int rc = hvb__remote_ops(r)->wait(hvb__remote_inst(r), hvb__cache_ns_name(ns), key,
                                      (int)ms, &e);
    if (rc >= 0) return;
  }
  g_usleep((gulong)MIN(ms, POLL_MS) * 1000);
}

hvb_flight hvb__cache_shared_flight(hvb_cache *c, hvb_cache_ns ns, const char *key, long wait_ms,
                                    GBytes **value) {
  if (!c->remote || !hvb__remote_has(c->remote, HVB_CACHE_BACKEND_CAP_LOCK) ||
      !hvb__remote_usable(c->remote))
    return HVB_FLIGHT_LEADER;
  long bound = wait_ms > 0 ? wait_ms : 2 * c->flight_lock_ms;
  gint64 deadline = g_get_monotonic_time() + (gint64)bound * 1000;
  for (;;) {
    int rc = try_lock(c, ns, key);
    if (rc < 0) return HVB_FLIGHT_LEADER;
    if (rc == 0 && wait_ms == HVB_FLIGHT_ONCE) { /* the caller looks again later */
      hvb__cache_release(c, key);                /* the claim in this process */
      return HVB_FLIGHT_BUSY;
    }
    if (rc == 1 || wait_ms == 0) {
      /* Stored and released between our lookup and our lock? Then it is a hit. */
      if (rc == 1 && (*value = hvb__cache_get(c, ns, key))) {
        hvb__cache_release(c, key);
        return HVB_FLIGHT_HIT;
      }
      return HVB_FLIGHT_LEADER;
    }
    long left = (long)((deadline - g_get_monotonic_time()) / 1000);
    if (left <= 0) return HVB_FLIGHT_LEADER; /* waited long enough: call alone */
    wait_for_entry(c, ns, key, MIN(left, WAIT_SLICE_MS));
    if ((*value = hvb__cache_get(c, ns, key))) {
      hvb__cache_release(c, key); /* the claim in this process */
      return HVB_FLIGHT_HIT;
    }
  }
}

void hvb__cache_shared_release(hvb_cache *c, const char *key) {
  if (!c->remote) return;
  char *slot = slot_of(c, key), *orig = NULL;
  held *h = NULL;
  g_mutex_lock(&tokens_lock);
  if (tokens) g_hash_table_steal_extended(tokens, slot, (gpointer *)&orig, (gpointer *)&h);
  g_mutex_unlock(&tokens_lock);
  g_free(slot);
  g_free(orig);
  if (!h) return;
  hvb_remote *r = c->remote;
  hvb_error e = HVB_ERROR_INIT;
  bool ok = hvb__remote_ops(r)->unlock(hvb__remote_inst(r), h->name, h->token, &e);
  hvb__remote_note(r, ok, &e); /* when it fails, the lock expires */
  held_free(h);
}
