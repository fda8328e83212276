/* core/call/breaker.c: circuit breakers per route target (see breaker.h), and the built-in
 * in-process store: a hash table of states under one lock. */
#include "call/breaker.h"

#include <glib.h>
#include <string.h>

/* ---- the in-process store ---- */

static GMutex mem_lock;
static GHashTable *mem_states; /* key (g_strdup) -> hvb_breaker_state (g_new) */

/* A key is a client_key (64 hex digits of SHA-256, already uniform) and a model id: hashing
 * 16 of the digits and the model id is as good as hashing all, at a fraction of the cost of
 * two lookups per routed call. Any other key is hashed whole. */
static guint key_hash(gconstpointer p) {
  const char *k = p;
  size_t n = strlen(k);
  if (n <= 64 || k[64] != ':') return g_str_hash(k);
  guint h = 5381;
  for (size_t i = 0; i < 16; i++) h = h * 33 + (guchar)k[i];
  for (size_t i = 65; i < n; i++) h = h * 33 + (guchar)k[i];
  return h;
}

static void mem_update(void *data, const char *key, void (*fn)(hvb_breaker_state *, void *),
                       void *arg) {
  (void)data;
  g_mutex_lock(&mem_lock);
  if (!mem_states) mem_states = g_hash_table_new_full(key_hash, g_str_equal, g_free, g_free);
  hvb_breaker_state *st = g_hash_table_lookup(mem_states, key);
  if (!st) {
    st = g_new0(hvb_breaker_state, 1);
    g_hash_table_insert(mem_states, g_strdup(key), st);
  }
  fn(st, arg);
  g_mutex_unlock(&mem_lock);
}

static bool mem_get(void *data, const char *key, hvb_breaker_state *out) {
  (void)data;
  g_mutex_lock(&mem_lock);
  hvb_breaker_state *st = mem_states ? g_hash_table_lookup(mem_states, key) : NULL;
  if (st) *out = *st;
  g_mutex_unlock(&mem_lock);
  return st != NULL;
}

static const hvb_breaker_store mem_store = {.update = mem_update, .get = mem_get};
static const hvb_breaker_store *store; /* NULL: mem_store */

const hvb_breaker_store *hvb__breaker_store(void) {
  const hvb_breaker_store *s = g_atomic_pointer_get(&store);
  return s ? s : &mem_store;
}

void hvb__breaker_set_store(const hvb_breaker_store *s) {
  g_atomic_pointer_set(&store, s);
}

const char *hvb__breaker_phase_name(hvb_breaker_phase p) {
  return p == HVB_BREAKER_OPEN ? "open" : p == HVB_BREAKER_HALF_OPEN ? "half-open" : "closed";
}

/* ---- the rules ---- */

typedef struct allow_arg {
  const hvb_breaker_config *c;
  gint64 now;
  bool allowed;
  gint64 wait_us; /* refused: until the next trial may start */
  bool trial_running;
} allow_arg;

static void allow_fn(hvb_breaker_state *st, void *arg) {
  allow_arg *a = arg;
  a->allowed = true;
  if (st->phase == HVB_BREAKER_OPEN) {
    if (a->now - st->opened_us < a->c->cooldown_us) {
      a->allowed = false;
      a->wait_us = st->opened_us + a->c->cooldown_us - a->now;
    } else {
      st->phase = HVB_BREAKER_HALF_OPEN; /* this call is the trial */
      st->trial_us = a->now;
    }
  } else if (st->phase == HVB_BREAKER_HALF_OPEN) {
    /* One trial at a time; a trial whose call was abandoned (never recorded) gives way to a
     * new one after another cool-down. */
    if (st->trial_us && a->now - st->trial_us < a->c->cooldown_us) {
      a->allowed = false;
      a->trial_running = true;
    } else {
      st->trial_us = a->now;
    }
  }
  if (!a->allowed) st->skipped++;
}

bool hvb__breaker_allow(const hvb_breaker_store *s, const hvb_breaker_config *c, const char *key, char **why) {
  if (why) *why = NULL;
  if (!c->enabled) return true;
  allow_arg a = {.c = c, .now = g_get_monotonic_time()};
  if (!s) s = hvb__breaker_store();
  s->update(s->data, key, allow_fn, &a);
  if (!a.allowed && why)
    *why = a.trial_running
               ? g_strdup("circuit half-open: its trial call is running")
               : g_strdup_printf("circuit open: half-open in %.1f s", (double)a.wait_us / 1e6);
  return a.allowed;
}

typedef struct record_arg {
  const hvb_breaker_config *c;
  gint64 now;
  bool failed;
} record_arg;

static void open_it(hvb_breaker_state *st, gint64 now) {
  st->phase = HVB_BREAKER_OPEN;
  st->opened_us = now;
  st->trial_us = 0;
}

static void record_fn(hvb_breaker_state *st, void *arg) {
  record_arg *a = arg;
  const hvb_breaker_config *c = a->c;
  if (!st->window_start_us || a->now - st->window_start_us >= c->window_us) {
    st->window_start_us = a->now;
    st->window_calls = st->window_failures = 0;
  }
  st->window_calls++;
  if (!a->failed) {
    st->successes++;
    st->consecutive = 0;
    st->phase = HVB_BREAKER_CLOSED; /* a success closes it, a trial's included */
    st->trial_us = 0;
    return;
  }
  st->failures++;
  st->consecutive++;
  st->window_failures++;
  bool rate = c->failure_rate > 0 && st->window_calls >= c->min_calls &&
              (double)st->window_failures >= c->failure_rate * (double)st->window_calls;
  if (st->phase == HVB_BREAKER_HALF_OPEN || st->consecutive >= c->failures || rate)
    open_it(st, a->now);
}

void hvb__breaker_record(const hvb_breaker_store *s, const hvb_breaker_config *c, const char *key, bool failed) {
  if (!c->enabled) return;
  record_arg a = {.c = c, .now = g_get_monotonic_time(), .failed = failed};
  if (!s) s = hvb__breaker_store();
  s->update(s->data, key, record_fn, &a);
}

json_object *hvb__breaker_status(const hvb_breaker_store *s, const hvb_breaker_config *c, const char *key) {
  hvb_breaker_state st;
  memset(&st, 0, sizeof st);
  if (!s) s = hvb__breaker_store();
  s->get(s->data, key, &st);
  json_object *o = json_object_new_object();
  json_object_object_add(o, "state", json_object_new_string(hvb__breaker_phase_name(st.phase)));
  json_object_object_add(o, "consecutive_failures", json_object_new_int64(st.consecutive));
  json_object_object_add(o, "failures", json_object_new_int64(st.failures));
  json_object_object_add(o, "successes", json_object_new_int64(st.successes));
  json_object_object_add(o, "skipped", json_object_new_int64(st.skipped));
  if (st.phase == HVB_BREAKER_OPEN) {
    gint64 left = st.opened_us + c->cooldown_us - g_get_monotonic_time();
    json_object_object_add(o, "half_open_in_s",
                           json_object_new_double(left > 0 ? (double)(left / 1000) / 1000.0 : 0));
  }
  return o;
}
