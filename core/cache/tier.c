/* core/cache/tier.c: the cache's tiers, a local SQLite store and a backend plugin
 * (<heavenbase/cache-backend.h>).
 *
 * Reads try the tiers in order and copy a hit into the tiers before the one that had it (a
 * fleet's shared entry lands in the host's own file, so the next read stays local); writes go
 * to every tier. A backend failure never fails a call: it reads as a miss, and remote.c turns
 * a run of failures into one warning and a backoff.
 */
#include "cache/settings.h"
#include "cache/backend.h"
#include "cache/store.h"
#include "base/common.h"
#include "base/error.h"
#include "base/log.h"
#include "text/json.h"

#include <stdlib.h>
#include <string.h>

static GMutex warned_lock;
static GHashTable *warned; /* backend names whose fallback has been logged */

/* A backend that cannot serve: false with err, or a warning (once per name) and sqlite. */
static bool fall_back(hvb_cache *c, const char *name, bool fallback, const char *why,
                      const char *what, hvb_error *err) {
  if (!fallback)
    return hvb__fail(err, HVB_CONFIG, "%s: cache backend '%s' cannot be used: %s "
                     "(backend_fallback is false)", what, name, why);
  g_mutex_lock(&warned_lock);
  if (!warned) warned = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  bool first = g_hash_table_add(warned, g_strdup(name));
  g_mutex_unlock(&warned_lock);
  if (first)
    hvb__log(HVB_LOG_WARN, "cache backend '%s' cannot be used (%s); the cache uses sqlite alone",
             name, why);
  c->ntiers = 1;
  c->tier_remote[0] = false;
  return true;
}

/* The "tiers" array into c (the backend being `name`). */
static bool read_tiers(hvb_cache *c, json_object *tiers, const char *name, const char *what,
                       hvb_error *err) {
  size_t n = json_object_array_length(tiers);
  if (n == 0 || n > 2)
    return hvb__fail(err, HVB_EINVAL, "%s: 'tiers' must list 1 or 2 tiers (\"sqlite\" and/or "
                     "\"%s\"), not %zu", what, name, n);
  c->ntiers = 0;
  for (size_t i = 0; i < n; i++) {
    json_object *t = json_object_array_get_idx(tiers, i);
    const char *s = json_object_is_type(t, json_type_string) ? json_object_get_string(t) : NULL;
    bool remote = s && strcmp(s, name) == 0 && strcmp(s, "sqlite") != 0;
    if (!s || (!remote && strcmp(s, "sqlite") != 0))
      return hvb__fail(err, HVB_EINVAL, "%s: 'tiers' item %zu must be \"sqlite\" or the backend "
                       "\"%s\", not %s", what, i, name, s ? s : hvb__json_type_phrase(t));
    if (i == 1 && c->tier_remote[0] == remote)
      return hvb__fail(err, HVB_EINVAL, "%s: 'tiers' names \"%s\" twice", what, s);
    c->tier_remote[c->ntiers++] = remote;
  }
  return true;
}

bool hvb__cache_tiers_resolve(hvb_cache *c, const char *what, hvb_error *err) {
  json_object *s = c->settings, *v;
  const char *name = "sqlite";
  bool fallback = true;
  c->ntiers = 1;
  c->tier_remote[0] = false;
  if ((v = json_object_object_get(s, "backend"))) {
    if (!json_object_is_type(v, json_type_string) || json_object_get_string_len(v) == 0)
      return hvb__fail(err, HVB_EINVAL, "%s: 'backend' must be a backend name (sqlite, or a "
                       "cache backend plugin's; see hb caches list), not %s", what,
                       hvb__json_type_phrase(v));
    name = json_object_get_string(v);
  }
  if ((v = json_object_object_get(s, "backend_fallback"))) {
    if (!json_object_is_type(v, json_type_boolean))
      return hvb__fail(err, HVB_EINVAL, "%s: 'backend_fallback' must be a boolean, not %s",
                       what, hvb__json_type_phrase(v));
    fallback = json_object_get_boolean(v);
  }
  c->flight_lock_ms = 30000;
  if ((v = json_object_object_get(s, "flight_lock_seconds"))) {
    if (!hvb__json_is_number(v) || json_object_get_double(v) < 0.01 ||
        json_object_get_double(v) > 3600)
      return hvb__fail(err, HVB_EINVAL, "%s: 'flight_lock_seconds' must be a number of seconds "
                       "from 0.01 to 3600", what);
    c->flight_lock_ms = (int64_t)(json_object_get_double(v) * 1000.0);
  }
  json_object *opts = json_object_object_get(s, "backend_options");
  if (opts && !json_object_is_type(opts, json_type_object))
    return hvb__fail(err, HVB_EINVAL, "%s: 'backend_options' must be an object, not %s", what,
                     hvb__json_type_phrase(opts));
  json_object *tiers = json_object_object_get(s, "tiers");
  if (tiers && !json_object_is_type(tiers, json_type_array))
    return hvb__fail(err, HVB_EINVAL, "%s: 'tiers' must be an array of tier names, not %s", what,
                     hvb__json_type_phrase(tiers));
  if (tiers && !read_tiers(c, tiers, name, what, err)) return false;
  if (strcmp(name, "sqlite") == 0) return true;
  if (!tiers) {
    c->ntiers = 2;
    c->tier_remote[0] = false;
    c->tier_remote[1] = true;
  }
  char *why = NULL;
  const hvb_cache_backend_record *rec = hvb__cache_backend_find(name, &why);
  if (!rec) {
    bool ok = fall_back(c, name, fallback, why, what, err);
    g_free(why);
    return ok;
  }
  hvb_error e = HVB_ERROR_INIT;
  c->remote = hvb__remote_open(rec, opts, &e);
  if (!c->remote) {
    if (e.status == HVB_EINVAL) {
      hvb__fail(err, HVB_EINVAL, "%s: 'backend_options': %s", what, e.message);
      return false;
    }
    return fall_back(c, name, fallback, e.message, what, err);
  }
  return true;
}

bool hvb__cache_has_local(const hvb_cache *c) {
  for (int i = 0; i < c->ntiers; i++)
    if (!c->tier_remote[i]) return true;
  return c->ntiers == 0;
}

static GBytes *remote_get(hvb_cache *c, hvb_cache_ns ns, const char *key) {
  hvb_remote *r = c->remote;
  if (!hvb__remote_usable(r)) return NULL;
  void *data = NULL;
  size_t len = 0;
  hvb_error e = HVB_ERROR_INIT;
  int rc = hvb__remote_ops(r)->get(hvb__remote_inst(r), hvb__cache_ns_name(ns), key, &data,
                                    &len, &e);
  hvb__remote_note(r, rc >= 0, &e);
  if (rc != 1) {
    free(data);
    return NULL;
  }
  return g_bytes_new_with_free_func(data, len, free, data);
}

static void remote_put(hvb_cache *c, hvb_cache_ns ns, const char *key, const void *data,
                       size_t len) {
  hvb_remote *r = c->remote;
  if (!hvb__remote_usable(r)) return;
  hvb_error e = HVB_ERROR_INIT;
  bool ok = hvb__remote_ops(r)->put(hvb__remote_inst(r), hvb__cache_ns_name(ns), key, data, len,
                                    c->ttl_ms[ns], &e);
  hvb__remote_note(r, ok, &e);
}

static GBytes *tier_get(hvb_cache *c, int i, hvb_cache_ns ns, const char *key) {
  return c->tier_remote[i] ? remote_get(c, ns, key) : hvb__cache_local_get(c, ns, key);
}

static void tier_put(hvb_cache *c, int i, hvb_cache_ns ns, const char *key, const void *data,
                     size_t len) {
  if (c->tier_remote[i])
    remote_put(c, ns, key, data, len);
  else
    hvb__cache_local_put(c, ns, key, data, len);
}

GBytes *hvb__cache_get(hvb_cache *c, hvb_cache_ns ns, const char *key) {
  if (!hvb__cache_enabled(c, ns) || !key) return NULL;
  if (!c->remote) return hvb__cache_local_get(c, ns, key);
  for (int i = 0; i < c->ntiers; i++) {
    GBytes *v = tier_get(c, i, ns, key);
    if (!v) continue;
    gsize n;
    const void *p = g_bytes_get_data(v, &n);
    for (int j = 0; j < i; j++) tier_put(c, j, ns, key, p, n);
    return v;
  }
  return NULL;
}

void hvb__cache_put(hvb_cache *c, hvb_cache_ns ns, const char *key, const void *data,
                    size_t len) {
  if (!hvb__cache_enabled(c, ns) || !key) return;
  if (!c->remote) {
    hvb__cache_local_put(c, ns, key, data, len);
    return;
  }
  for (int i = 0; i < c->ntiers; i++) tier_put(c, i, ns, key, data, len);
}
