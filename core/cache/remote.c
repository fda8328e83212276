/* core/cache/remote.c: open backend instances and their health (see backend.h).
 *
 * One instance per (backend, options) in a process, shared by every cache handle that names
 * them: a backend's connection pool is per process, not per call. Health is per instance: an
 * outage is a run of failures; its first failure is the one warning, the first success after
 * it the one "back" line (not one reported within the first backoff: that command was sent
 * before the outage). While down, calls skip the backend until a backoff delay has passed
 * (100 ms doubling to 5 s), then one call tries it again.
 */
#include "cache/backend.h"
#include "base/common.h"
#include "base/error.h"
#include "base/log.h"
#include "text/json.h"

#include <string.h>

#define BACKOFF_MIN_US (100 * 1000)
#define BACKOFF_MAX_US (5 * 1000 * 1000)

struct hvb_remote {
  gint refs; /* under table_lock */
  char *id;  /* name "\n" options: the table's key */
  const hvb_cache_backend_record *rec;
  void *inst;
  GMutex lock; /* health */
  bool down;
  gint64 retry_at, backoff_us; /* monotonic us */
  gint64 down_at;              /* when the current outage began */
};

static GMutex table_lock;
static GHashTable *table; /* id -> hvb_remote* */
static guint outages;

hvb_remote *hvb__remote_open(const hvb_cache_backend_record *rec, json_object *options,
                             hvb_error *err) {
  const char *opts = options ? json_object_to_json_string_ext(options, JSON_C_TO_STRING_PLAIN)
                             : "null";
  char *id = g_strconcat(rec->name, "\n", opts, NULL);
  g_mutex_lock(&table_lock);
  if (!table) table = g_hash_table_new(g_str_hash, g_str_equal);
  hvb_remote *r = g_hash_table_lookup(table, id);
  if (r) {
    r->refs++;
    g_mutex_unlock(&table_lock);
    g_free(id);
    return r;
  }
  hvb_error e = HVB_ERROR_INIT;
  void *inst = rec->ops.open(options, &e);
  if (!inst) {
    g_mutex_unlock(&table_lock);
    g_free(id);
    return hvb__fail(err, e.status ? e.status : HVB_EINVAL, "cache backend '%s': %s",
                     rec->name, e.message[0] ? e.message : "open failed without a message"),
           NULL;
  }
  r = g_new0(hvb_remote, 1);
  r->refs = 1;
  r->id = id;
  r->rec = rec;
  r->inst = inst;
  g_mutex_init(&r->lock);
  g_hash_table_insert(table, r->id, r);
  g_mutex_unlock(&table_lock);
  return r;
}

hvb_remote *hvb__remote_ref(hvb_remote *r) {
  if (!r) return NULL;
  g_mutex_lock(&table_lock);
  r->refs++;
  g_mutex_unlock(&table_lock);
  return r;
}

void hvb__remote_unref(hvb_remote *r) {
  if (!r) return;
  g_mutex_lock(&table_lock);
  bool last = --r->refs == 0;
  if (last) g_hash_table_remove(table, r->id);
  g_mutex_unlock(&table_lock);
  if (!last) return;
  if (r->rec->ops.close) r->rec->ops.close(r->inst);
  g_mutex_clear(&r->lock);
  g_free(r->id);
  g_free(r);
}

const hvb_cache_backend_descriptor *hvb__remote_ops(const hvb_remote *r) {
  return &r->rec->ops;
}

void *hvb__remote_inst(const hvb_remote *r) {
  return r->inst;
}

const char *hvb__remote_name(const hvb_remote *r) {
  return r->rec->name;
}

bool hvb__remote_has(const hvb_remote *r, uint32_t cap) {
  const hvb_cache_backend_descriptor *o = &r->rec->ops;
  if (!(o->caps & cap)) return false;
  switch (cap) {
  case HVB_CACHE_BACKEND_CAP_LOCK: return o->lock && o->unlock;
  case HVB_CACHE_BACKEND_CAP_WAIT: return o->wait != NULL;
  case HVB_CACHE_BACKEND_CAP_COUNTERS: return o->counter_add != NULL;
  case HVB_CACHE_BACKEND_CAP_KV: return o->kv_get && o->kv_set;
  case HVB_CACHE_BACKEND_CAP_HOLDS: return o->hold && o->release;
  default: return o->get && o->put;
  }
}

void hvb__remote_note(hvb_remote *r, bool ok, const hvb_error *err) {
  g_mutex_lock(&r->lock);
  bool was_down = r->down;
  gint64 now = g_get_monotonic_time();
  if (ok && was_down && now - r->down_at < BACKOFF_MIN_US) {
    /* A success this soon after the outage began is a command sent before it, reported
     * late by another thread (no probe goes before the first backoff): taking it for the
     * backend's return would end the outage at once and warn again at the next failure. */
    g_mutex_unlock(&r->lock);
    return;
  }
  if (ok) {
    r->down = false;
    r->backoff_us = 0;
  } else {
    r->backoff_us = r->backoff_us ? MIN(r->backoff_us * 2, BACKOFF_MAX_US) : BACKOFF_MIN_US;
    r->retry_at = now + r->backoff_us;
    r->down = true;
    if (!was_down) {
      r->down_at = now;
      g_atomic_int_inc(&outages);
    }
  }
  g_mutex_unlock(&r->lock);
  if (!ok && !was_down)
    hvb__log(HVB_LOG_WARN,
             "cache backend '%s' is unavailable (%s); calls use the other cache tiers until it "
             "is back", r->rec->name, err && err->message[0] ? err->message : "no reason given");
  else if (ok && was_down)
    hvb__log(HVB_LOG_INFO, "cache backend '%s' is back", r->rec->name);
}

bool hvb__remote_usable(hvb_remote *r) {
  g_mutex_lock(&r->lock);
  bool usable = !r->down || g_get_monotonic_time() >= r->retry_at;
  /* One caller probes; the others keep skipping until it has reported. */
  if (r->down && usable) r->retry_at = g_get_monotonic_time() + BACKOFF_MAX_US;
  g_mutex_unlock(&r->lock);
  return usable;
}

unsigned hvb__remote_outages(void) {
  return (unsigned)g_atomic_int_get(&outages);
}
