/* core/call/ratelimit-shared.c: a route target's requests per minute counted across a fleet,
 * in the cache backend's counters (see ratelimit.h).
 *
 * Counters are per wall-clock minute ("rpm:<key>:<minute>", expiring after two). A request
 * fits when this minute's and the last minute's requests together stay within rpm: any 60 s
 * lies within two consecutive minutes, so no 60 s ever sees more than rpm requests, whatever
 * the number of processes. The price is conservatism: a fleet that used its whole limit in
 * one minute waits through the next. A token bucket would need a script per backend; counters
 * are what every backend offers.
 */
#include "call/ratelimit.h"
#include "cache/store.h"

#include <glib.h>

#define MINUTE_MS 60000

bool hvb__ratelimit_shared_take(hvb_cache *cache, const char *key, const hvb_rate_limits *l,
                                int64_t *wait_us) {
  if (!cache || l->rpm <= 0) return true;
  int64_t now = g_get_real_time() / 1000, w = now / MINUTE_MS;
  char *cur = g_strdup_printf("rpm:%s:%lld", key, (long long)w);
  char *prev = g_strdup_printf("rpm:%s:%lld", key, (long long)(w - 1));
  int64_t v = 0, p = 0;
  bool ok = true;
  if (hvb__cache_counter_add(cache, cur, 1, 2 * MINUTE_MS, &v) &&
      hvb__cache_counter_add(cache, prev, 0, 2 * MINUTE_MS, &p) && (double)(v + p) > l->rpm) {
    int64_t undo;
    hvb__cache_counter_add(cache, cur, -1, 2 * MINUTE_MS, &undo);
    *wait_us = ((w + 1) * MINUTE_MS - now) * 1000;
    ok = false;
  }
  g_free(cur);
  g_free(prev);
  return ok;
}
