/* core/call/ratelimit-shared.c: a route target's limits shared across a fleet, in the cache
 * backend's counters and small values (see ratelimit.h).
 *
 * Requests and tokens are counted per wall-clock minute ("rpm:<key>:<minute>",
 * "tpm:<key>:<minute>", expiring after two). A request fits when this minute's and the last
 * minute's requests together stay within rpm: any 60 s lies within two consecutive minutes,
 * so no 60 s ever sees more than rpm requests, whatever the number of processes. Tokens are
 * known only after the answer (its usage): a request goes while the two minutes' tokens are
 * below tpm, as the process's own bucket lets one go while it is above zero. The price is
 * conservatism: a fleet that used its whole limit in one minute waits through the next. A
 * token bucket would need a script per backend; counters are what every backend offers.
 *
 * A server's Retry-After is one small value per target ("pause:<key>", the wall-clock end of
 * the pause in ms, expiring with it): every host leaves the target alone until then. Hosts
 * need roughly synchronised clocks (NTP), as for the shared breakers.
 */
#include "call/ratelimit.h"
#include "cache/store.h"

#include <glib.h>
#include <stdio.h>

#define MINUTE_MS 60000

static int64_t now_ms(void) {
  return g_get_real_time() / 1000;
}

/* Add `delta` to this minute's counter of `kind` and read the last minute's: false when the
 * backend cannot count now (nothing shared). */
static bool window_add(hvb_cache *cache, const char *kind, const char *key, int64_t w,
                       int64_t delta, int64_t *cur, int64_t *prev) {
  char *c = g_strdup_printf("%s:%s:%lld", kind, key, (long long)w);
  char *p = g_strdup_printf("%s:%s:%lld", kind, key, (long long)(w - 1));
  bool ok = hvb__cache_counter_add(cache, c, delta, 2 * MINUTE_MS, cur) &&
            (!prev || hvb__cache_counter_add(cache, p, 0, 2 * MINUTE_MS, prev));
  g_free(c);
  g_free(p);
  return ok;
}

/* The fleet's Retry-After pause of `key`: its end (wall-clock ms), or 0. */
static int64_t paused_until(hvb_cache *cache, const char *key) {
  char *name = g_strdup_printf("pause:%s", key), *v = NULL;
  int64_t until = 0;
  if (hvb__cache_value_get(cache, name, &v) == 1) until = g_ascii_strtoll(v, NULL, 10);
  g_free(v);
  g_free(name);
  return until;
}

bool hvb__ratelimit_shared_take(hvb_cache *cache, const char *key, const hvb_rate_limits *l,
                                int64_t *wait_us, const char **why) {
  if (!cache) return true;
  int64_t now = now_ms(), w = now / MINUTE_MS, until = paused_until(cache, key);
  if (until > now) {
    *wait_us = (until - now) * 1000;
    *why = "Retry-After";
    return false;
  }
  int64_t v = 0, p = 0;
  *why = "rpm/tpm, fleet-wide";
  *wait_us = ((w + 1) * MINUTE_MS - now) * 1000;
  if (l->tpm > 0 && window_add(cache, "tpm", key, w, 0, &v, &p) && (double)(v + p) >= l->tpm)
    return false;
  if (l->rpm > 0 && window_add(cache, "rpm", key, w, 1, &v, &p) && (double)(v + p) > l->rpm) {
    window_add(cache, "rpm", key, w, -1, &v, NULL);
    return false;
  }
  *wait_us = 0;
  return true;
}

void hvb__ratelimit_shared_spend(hvb_cache *cache, const char *key, const hvb_rate_limits *l,
                                 int64_t tokens) {
  if (!cache || l->tpm <= 0 || tokens <= 0) return;
  int64_t v = 0;
  window_add(cache, "tpm", key, now_ms() / MINUTE_MS, tokens, &v, NULL);
}

void hvb__ratelimit_shared_pause(hvb_cache *cache, const char *key, int64_t ms) {
  if (!cache || ms <= 0 || !hvb__cache_shares_values(cache)) return;
  int64_t until = now_ms() + ms;
  if (paused_until(cache, key) >= until) return; /* a longer pause is already known */
  char *name = g_strdup_printf("pause:%s", key), v[32];
  snprintf(v, sizeof v, "%lld", (long long)until);
  hvb__cache_value_set(cache, name, v, ms);
  g_free(name);
}
