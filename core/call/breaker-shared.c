/* core/call/breaker-shared.c: circuit breakers shared by a fleet, in the cache backend's
 * small values (see breaker.h).
 *
 * A target's state is one value, "breaker:<key>", a line of numbers with the times in
 * wall-clock microseconds (a process's monotonic clock means nothing to another). An update
 * takes the lock "breaker:<key>" (2 s expiry: a holder that dies blocks nobody for long),
 * reads, runs the rule, writes and unlocks: read-modify-write across processes with only the
 * ABI's lock and values, no script per backend. The lock is waited for at most 200 ms; past
 * that the update goes ahead unlocked (a lost count is better than a stalled call). A
 * backend that is down, or has no values, keeps the process's own state for the call.
 */
#include "call/breaker.h"

#include <glib.h>
#include <stdio.h>
#include <unistd.h>

#define LOCK_MS 2000
#define LOCK_WAIT_US 200000
#define KEEP_MS INT64_C(86400000) /* a target quiet for a day starts afresh */

/* Monotonic to wall clock and back; 0 stays 0 ("never"). */
static int64_t to_wall(int64_t mono) {
  return mono ? mono - g_get_monotonic_time() + g_get_real_time() : 0;
}

static int64_t to_mono(int64_t wall) {
  return wall ? wall - g_get_real_time() + g_get_monotonic_time() : 0;
}

static char *encode(const hvb_breaker_state *s) {
  return g_strdup_printf("hb1 %d %lld %lld %lld %lld %lld %lld %lld %lld %lld", (int)s->phase,
                         (long long)s->consecutive, (long long)s->window_calls,
                         (long long)s->window_failures, (long long)to_wall(s->window_start_us),
                         (long long)to_wall(s->opened_us), (long long)to_wall(s->trial_us),
                         (long long)s->failures, (long long)s->successes, (long long)s->skipped);
}

/* A value that is not ours reads as no state (and is overwritten by the next update). */
static bool decode(const char *v, hvb_breaker_state *s) {
  int phase;
  long long n[9];
  if (sscanf(v, "hb1 %d %lld %lld %lld %lld %lld %lld %lld %lld %lld", &phase, &n[0], &n[1],
             &n[2], &n[3], &n[4], &n[5], &n[6], &n[7], &n[8]) != 10 ||
      phase < HVB_BREAKER_CLOSED || phase > HVB_BREAKER_HALF_OPEN)
    return false;
  *s = (hvb_breaker_state){.phase = (hvb_breaker_phase)phase, .consecutive = n[0],
                           .window_calls = n[1], .window_failures = n[2],
                           .window_start_us = to_mono(n[3]), .opened_us = to_mono(n[4]),
                           .trial_us = to_mono(n[5]), .failures = n[6], .successes = n[7],
                           .skipped = n[8]};
  return true;
}

/* 1 found, 0 none (or not ours), -1 unreachable. */
static int read_state(hvb_cache *cache, const char *name, hvb_breaker_state *out) {
  char *v = NULL;
  int rc = hvb__cache_value_get(cache, name, &v);
  if (rc == 1 && !decode(v, out)) rc = 0;
  g_free(v);
  return rc;
}

static char *lock_token(void) {
  static gint seq;
  char host[64] = "";
  gethostname(host, sizeof host - 1);
  return g_strdup_printf("%s:%ld:%p:%d", host, (long)getpid(), (void *)g_thread_self(),
                         g_atomic_int_add(&seq, 1));
}

/* Take the lock, waiting a little; false when the backend cannot be reached. */
static bool take_lock(hvb_cache *cache, const char *name, const char *token, bool *held) {
  gint64 until = g_get_monotonic_time() + LOCK_WAIT_US;
  *held = false;
  for (;;) {
    int rc = hvb__cache_value_lock(cache, name, token, LOCK_MS);
    if (rc < 0) return false;
    if (rc == 1) return *held = true;
    if (g_get_monotonic_time() >= until) return true;
    g_usleep(1000);
  }
}

static void shared_update(void *data, const char *key, void (*fn)(hvb_breaker_state *, void *),
                          void *arg) {
  hvb_cache *cache = data;
  char *name = g_strconcat("breaker:", key, NULL), *token = lock_token();
  char *lock = g_strconcat("breaker-lock:", key, NULL);
  bool held = false, done = false;
  hvb_breaker_state st = {0};
  if (take_lock(cache, lock, token, &held) && read_state(cache, name, &st) >= 0) {
    fn(&st, arg);
    char *v = encode(&st);
    done = hvb__cache_value_set(cache, name, v, KEEP_MS);
    g_free(v);
  }
  if (held) hvb__cache_value_unlock(cache, lock, token);
  g_free(lock);
  g_free(name);
  g_free(token);
  if (!done) { /* unreachable: this process's own breaker decides */
    const hvb_breaker_store *own = hvb__breaker_store();
    own->update(own->data, key, fn, arg);
  }
}

static bool shared_get(void *data, const char *key, hvb_breaker_state *out) {
  char *name = g_strconcat("breaker:", key, NULL);
  int rc = read_state(data, name, out);
  g_free(name);
  if (rc >= 0) return rc == 1;
  const hvb_breaker_store *own = hvb__breaker_store();
  return own->get(own->data, key, out);
}

bool hvb__breaker_shared_store(hvb_cache *cache, hvb_breaker_store *out) {
  if (!hvb__cache_shares_values(cache)) return false;
  *out = (hvb_breaker_store){.update = shared_update, .get = shared_get, .data = cache};
  return true;
}
