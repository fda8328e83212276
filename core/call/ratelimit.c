/* core/call/ratelimit.c: token buckets per route target (see ratelimit.h). A bucket holds
 * up to its capacity and refills at rate/60 per second; a request takes 1 from the request
 * bucket and needs the token bucket above zero (tokens are spent after the answer, when the
 * usage is known). What the server said (a pause, what is left until when) is kept beside
 * the buckets and checked first. */
#include "call/ratelimit.h"

#include <glib.h>

typedef struct buckets {
  double requests, tokens; /* what is left */
  gint64 at_us;            /* when they were last refilled */
  bool sized;              /* filled to a target's limits once */
  gint64 paused_until_us;  /* Retry-After: nothing goes before this */
  double heard_left[2];    /* the server's remaining requests, tokens (hvb_ratelimit_kind) */
  gint64 heard_until_us[2]; /* ... until then; 0: it said nothing */
} buckets;

static GMutex lock;
static GHashTable *table; /* key -> buckets */

/* `key`'s buckets, refilled to `now`. A lookup without limits (a pause, a learned count)
 * leaves the buckets as they are; buckets made by one start full at the first lookup with
 * limits. */
static buckets *find(const char *key, const hvb_rate_limits *l, gint64 now) {
  if (!table) table = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
  buckets *b = g_hash_table_lookup(table, key);
  if (!b) {
    b = g_new0(buckets, 1);
    g_hash_table_insert(table, g_strdup(key), b);
  }
  if (l->rpm <= 0 && l->tpm <= 0) return b;
  double cap = l->burst > 0 ? l->burst : l->rpm;
  if (!b->sized) {
    b->sized = true;
    b->requests = cap;
    b->tokens = l->tpm;
    b->at_us = now;
    return b;
  }
  double secs = (double)(now - b->at_us) / 1e6;
  b->requests = MIN(cap, b->requests + secs * l->rpm / 60.0);
  b->tokens = MIN(l->tpm, b->tokens + secs * l->tpm / 60.0);
  b->at_us = now;
  return b;
}

/* The server ever said something (a pause, a remaining count): the table is read for
 * targets without limits of their own. Until then such a target costs no lock. */
static gint heard;

/* What the server said holds the request back: how long, or 0. */
static gint64 server_wait(buckets *b, gint64 now, const char **why) {
  if (b->paused_until_us > now) {
    *why = "Retry-After";
    return b->paused_until_us - now;
  }
  gint64 wait = 0;
  for (int k = HVB_RL_REQUESTS; k <= HVB_RL_TOKENS; k++) {
    if (b->heard_until_us[k] <= now) continue; /* its window reset: nothing known */
    if (b->heard_left[k] < (k == HVB_RL_REQUESTS ? 1 : 1e-9))
      wait = MAX(wait, b->heard_until_us[k] - now);
  }
  if (wait) *why = "remaining";
  return wait;
}

bool hvb__ratelimit_take(const char *key, const hvb_rate_limits *l, int64_t *wait_us,
                         const char **why_out) {
  const char *why = NULL;
  *wait_us = 0;
  if (l->rpm <= 0 && l->tpm <= 0 && !g_atomic_int_get(&heard)) return true;
  gint64 now = g_get_monotonic_time();
  g_mutex_lock(&lock);
  buckets *b = find(key, l, now);
  gint64 wait = server_wait(b, now, &why);
  if (!wait && (l->rpm > 0 || l->tpm > 0)) {
    double wait_r = l->rpm > 0 && b->requests < 1 ? (1 - b->requests) * 60e6 / l->rpm : 0;
    double wait_t = l->tpm > 0 && b->tokens <= 0 ? (1 - b->tokens) * 60e6 / l->tpm : 0;
    if (wait_r > 0 || wait_t > 0) wait = (gint64)MAX(wait_r, wait_t) + 1, why = "rpm/tpm";
  }
  if (!wait) {
    if (l->rpm > 0) b->requests -= 1;
    if (b->heard_until_us[HVB_RL_REQUESTS] > now) b->heard_left[HVB_RL_REQUESTS] -= 1;
  }
  g_mutex_unlock(&lock);
  *wait_us = wait;
  if (why_out) *why_out = why;
  return wait == 0;
}

void hvb__ratelimit_spend(const char *key, const hvb_rate_limits *l, int64_t tokens) {
  if (tokens <= 0 || (l->tpm <= 0 && !g_atomic_int_get(&heard))) return;
  g_mutex_lock(&lock);
  gint64 now = g_get_monotonic_time();
  buckets *b = find(key, l, now);
  if (l->tpm > 0) b->tokens -= (double)tokens;
  if (b->heard_until_us[HVB_RL_TOKENS] > now) b->heard_left[HVB_RL_TOKENS] -= (double)tokens;
  g_mutex_unlock(&lock);
}

void hvb__ratelimit_pause(const char *key, int64_t until_us) {
  static const hvb_rate_limits none = {0};
  g_atomic_int_set(&heard, 1);
  g_mutex_lock(&lock);
  buckets *b = find(key, &none, g_get_monotonic_time());
  b->paused_until_us = MAX(b->paused_until_us, until_us);
  g_mutex_unlock(&lock);
}

void hvb__ratelimit_learn(const char *key, hvb_ratelimit_kind kind, double remaining,
                          int64_t until_us) {
  static const hvb_rate_limits none = {0};
  g_atomic_int_set(&heard, 1);
  g_mutex_lock(&lock);
  buckets *b = find(key, &none, g_get_monotonic_time());
  b->heard_left[kind] = remaining;
  b->heard_until_us[kind] = until_us;
  g_mutex_unlock(&lock);
}
