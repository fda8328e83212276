/* core/cache/shared.c: state a fleet shares through the cache's backend (counters with an
 * expiry), for the layers above: shared rate limits (core/call/ratelimit-shared.c). A
 * backend without counters, or one that is down, shares nothing: the callers keep their
 * process's own state, as without a backend. */
#include "cache/settings.h"
#include "cache/backend.h"
#include "cache/store.h"

#include <glib.h>
#include <stdlib.h>

bool hvb__cache_counter_add(hvb_cache *c, const char *name, int64_t delta, int64_t ttl_ms,
                            int64_t *value) {
  if (!c || !c->remote || !hvb__remote_has(c->remote, HVB_CACHE_BACKEND_CAP_COUNTERS) ||
      !hvb__remote_usable(c->remote))
    return false;
  hvb_error e = HVB_ERROR_INIT;
  bool ok = hvb__remote_ops(c->remote)->counter_add(hvb__remote_inst(c->remote), name, delta,
                                                    ttl_ms, value, &e);
  hvb__remote_note(c->remote, ok, &e);
  return ok;
}

/* Shared small values under a lock (circuit breakers, core/call/breaker-shared.c). */
static bool has_kv(hvb_cache *c) {
  return c && c->remote && hvb__remote_has(c->remote, HVB_CACHE_BACKEND_CAP_KV) &&
         hvb__remote_has(c->remote, HVB_CACHE_BACKEND_CAP_LOCK) && hvb__remote_usable(c->remote);
}

bool hvb__cache_shares_values(hvb_cache *c) {
  return has_kv(c);
}

int hvb__cache_value_lock(hvb_cache *c, const char *name, const char *token, int64_t ttl_ms) {
  if (!has_kv(c)) return -1;
  hvb_error e = HVB_ERROR_INIT;
  int rc = hvb__remote_ops(c->remote)->lock(hvb__remote_inst(c->remote), name, token, ttl_ms, &e);
  hvb__remote_note(c->remote, rc >= 0, &e);
  return rc;
}

void hvb__cache_value_unlock(hvb_cache *c, const char *name, const char *token) {
  if (!c || !c->remote || !hvb__remote_has(c->remote, HVB_CACHE_BACKEND_CAP_LOCK)) return;
  hvb_error e = HVB_ERROR_INIT;
  bool ok = hvb__remote_ops(c->remote)->unlock(hvb__remote_inst(c->remote), name, token, &e);
  hvb__remote_note(c->remote, ok, &e);
}

int hvb__cache_value_get(hvb_cache *c, const char *name, char **value) {
  if (!has_kv(c)) return -1;
  hvb_error e = HVB_ERROR_INIT;
  char *v = NULL;
  int rc = hvb__remote_ops(c->remote)->kv_get(hvb__remote_inst(c->remote), name, &v, &e);
  hvb__remote_note(c->remote, rc >= 0, &e);
  *value = NULL;
  if (rc == 1) { /* the plugin's malloc, handed on as GLib memory */
    *value = g_strdup(v);
    free(v);
  }
  return rc;
}

bool hvb__cache_value_set(hvb_cache *c, const char *name, const char *value, int64_t ttl_ms) {
  if (!has_kv(c)) return false;
  hvb_error e = HVB_ERROR_INIT;
  bool ok = hvb__remote_ops(c->remote)->kv_set(hvb__remote_inst(c->remote), name, value, ttl_ms,
                                               &e);
  hvb__remote_note(c->remote, ok, &e);
  return ok;
}

/* Budget holds that expire (core/call/budget-shared.c). */
bool hvb__cache_holds(hvb_cache *c) {
  return c && c->remote && hvb__remote_has(c->remote, HVB_CACHE_BACKEND_CAP_HOLDS);
}

int hvb__cache_hold(hvb_cache *c, const char *name, const char *token, int64_t amount,
                    int64_t limit, int64_t hold_ms, int64_t ttl_ms, int64_t *committed) {
  if (!hvb__cache_holds(c) || !hvb__remote_usable(c->remote)) return -1;
  hvb_error e = HVB_ERROR_INIT;
  int rc = hvb__remote_ops(c->remote)->hold(hvb__remote_inst(c->remote), name, token, amount,
                                            limit, hold_ms, ttl_ms, committed, &e);
  hvb__remote_note(c->remote, rc >= 0, &e);
  return rc;
}

bool hvb__cache_hold_release(hvb_cache *c, const char *name, const char *token, int64_t spent,
                             int64_t ttl_ms) {
  /* Not gated on usable: a release is worth one attempt even in a backoff. */
  if (!hvb__cache_holds(c)) return false;
  hvb_error e = HVB_ERROR_INIT;
  bool ok = hvb__remote_ops(c->remote)->release(hvb__remote_inst(c->remote), name, token, spent,
                                                ttl_ms, &e);
  hvb__remote_note(c->remote, ok, &e);
  return ok;
}
