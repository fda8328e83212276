/* core/call/ratelimit.c: token buckets per route target (see ratelimit.h). A bucket holds
 * up to its capacity and refills at rate/60 per second; a request takes 1 from the request
 * bucket and needs the token bucket above zero (tokens are spent after the answer, when the
 * usage is known). */
#include "call/ratelimit.h"

#include <glib.h>

typedef struct buckets {
  double requests, tokens; /* what is left */
  gint64 at_us;            /* when they were last refilled */
  gint64 paused_until_us;  /* Retry-After: nothing goes before this */
} buckets;

static GMutex lock;
static GHashTable *table; /* key -> buckets */

static buckets *find(const char *key, const hvb_rate_limits *l, gint64 now) {
  if (!table) table = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
  buckets *b = g_hash_table_lookup(table, key);
  double cap = l->burst > 0 ? l->burst : l->rpm;
  if (!b) {
    b = g_new0(buckets, 1);
    b->requests = cap;
    b->tokens = l->tpm;
    b->at_us = now;
    g_hash_table_insert(table, g_strdup(key), b);
    return b;
  }
  double secs = (double)(now - b->at_us) / 1e6;
  b->requests = MIN(cap, b->requests + secs * l->rpm / 60.0);
  b->tokens = MIN(l->tpm, b->tokens + secs * l->tpm / 60.0);
  b->at_us = now;
  return b;
}

static gint paused; /* a pause was ever asked for: the table is read for unlimited targets */

bool hvb__ratelimit_take(const char *key, const hvb_rate_limits *l, int64_t *wait_us) {
  *wait_us = 0;
  if (l->rpm <= 0 && l->tpm <= 0 && !g_atomic_int_get(&paused)) return true;
  gint64 now = g_get_monotonic_time();
  g_mutex_lock(&lock);
  buckets *b = find(key, l, now);
  if (b->paused_until_us > now) {
    *wait_us = b->paused_until_us - now;
    g_mutex_unlock(&lock);
    return false;
  }
  if (l->rpm <= 0 && l->tpm <= 0) {
    g_mutex_unlock(&lock);
    return true;
  }
  double wait_r = l->rpm > 0 && b->requests < 1 ? (1 - b->requests) * 60e6 / l->rpm : 0;
  double wait_t = l->tpm > 0 && b->tokens <= 0 ? (1 - b->tokens) * 60e6 / l->tpm : 0;
  bool ok = wait_r == 0 && wait_t == 0;
  if (ok && l->rpm > 0) b->requests -= 1;
  g_mutex_unlock(&lock);
  if (!ok) *wait_us = (int64_t)MAX(wait_r, wait_t) + 1;
  return ok;
}

void hvb__ratelimit_spend(const char *key, const hvb_rate_limits *l, int64_t tokens) {
  if (l->tpm <= 0 || tokens <= 0) return;
  g_mutex_lock(&lock);
  buckets *b = find(key, l, g_get_monotonic_time());
  b->tokens -= (double)tokens;
  g_mutex_unlock(&lock);
}

void hvb__ratelimit_pause(const char *key, int64_t until_us) {
  static const hvb_rate_limits none = {0};
  g_atomic_int_set(&paused, 1);
  g_mutex_lock(&lock);
  buckets *b = find(key, &none, g_get_monotonic_time());
  b->paused_until_us = MAX(b->paused_until_us, until_us);
  g_mutex_unlock(&lock);
}
