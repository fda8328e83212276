/* core/cache/shared.c: state a fleet shares through the cache's backend (counters with an
 * expiry), for the layers above: shared rate limits (core/call/ratelimit-shared.c). A
 * backend without counters, or one that is down, shares nothing: the callers keep their
 * process's own state, as without a backend. */
#include "cache/settings.h"
#include "cache/backend.h"
#include "cache/store.h"

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
