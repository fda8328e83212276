/* core/cache/settings.c: cache settings and handles (see settings.h and store.h). */
#include "cache/settings.h"
#include "cache/store.h"
#include "cache/store-db.h"
#include "cache/backend.h"
#include "text/json.h"
#include "base/env.h"
#include "base/error.h"

#include <heavenbase/config.h>

#include <string.h>

#define DEFAULT_MAX_BYTES (1LL << 30)


/* true/false as {"enabled": b}; objects as they are (new reference); NULL for NULL/null. */
static json_object *settings_object(json_object *v) {
  if (!v || json_object_is_type(v, json_type_null)) return NULL;
  if (json_object_is_type(v, json_type_boolean)) {
    json_object *o = json_object_new_object();
    json_object_object_add(o, "enabled", json_object_new_boolean(json_object_get_boolean(v)));
    return o;
  }
  return json_object_get(v);
}

json_object *hvb__cache_settings_from_config(const hvb_config *cfg) {
  json_object *v = cfg ? hvb_config_get(cfg, "heavenbase.llm.cache") : NULL;
  return json_object_is_type(v, json_type_object) ? hvb__json_copy(v) : json_object_new_object();
}

json_object *hvb__cache_settings_merge(json_object *base, json_object *over, const char *what,
                                       hvb_error *err) {
  if (over && !json_object_is_type(over, json_type_null) &&
      !json_object_is_type(over, json_type_boolean) &&
      !json_object_is_type(over, json_type_object)) {
    hvb__fail(err, HVB_EINVAL, "%s must be true, false or a cache settings object, not %s", what,
              hvb__json_type_phrase(over));
    return NULL;
  }
  json_object *out = base ? hvb__json_copy(base) : json_object_new_object();
  json_object *o = settings_object(over);
  if (o) hvb__json_merge(out, o);
  json_object_put(o);
  return out;
}

static bool bad_setting(hvb_error *err, const char *what, const char *key, const char *want,
                        json_object *got) {
  return hvb__fail(err, HVB_EINVAL, "%s: '%s' must be %s, not %s", what, key, want,
                   hvb__json_type_phrase(got));
}

static char *expand_home(const char *path) {
  if (strncmp(path, "~/", 2) != 0) return g_strdup(path);
  char *home = hvb__home_dir();
  char *out = g_build_filename(home ? home : "/", path + 2, NULL);
  g_free(home);
  return out;
}

static char *default_dir(void) {
  const char *dir = hvb__getenv("HB_CACHE_DIR");
  if (dir) return g_build_filename(dir, "llm-cache", NULL);
  const char *xdg = hvb__getenv("XDG_CACHE_HOME");
  if (xdg && g_path_is_absolute(xdg)) return g_build_filename(xdg, "heavenbase", "llm-cache", NULL);
  char *home = hvb__home_dir();
  char *out = g_build_filename(home ? home : "/", ".cache", "heavenbase", "llm-cache", NULL);
  g_free(home);
  return out;
}

/* Fill the resolved fields of `c` from its settings object. */
static bool settings_resolve(hvb_cache *c, const char *what, hvb_error *err) {
  json_object *s = c->settings, *v;
  c->enabled = true;
  c->max_bytes = DEFAULT_MAX_BYTES;
  for (int i = 0; i < HVB_NS_COUNT; i++) c->ns_enabled[i] = true;
  if ((v = json_object_object_get(s, "enabled"))) {
    if (!json_object_is_type(v, json_type_boolean))
      return bad_setting(err, what, "enabled", "a boolean", v);
    c->enabled = json_object_get_boolean(v);
  }
  if ((v = json_object_object_get(s, "policy"))) {
    if (!json_object_is_type(v, json_type_string))
      return bad_setting(err, what, "policy", "a string", v);
    if (strcmp(json_object_get_string(v), "deterministic") != 0)
      return hvb__fail(err, HVB_EINVAL, "%s: unknown policy '%s' (known: deterministic)", what,
                       json_object_get_string(v));
  }
  if ((v = json_object_object_get(s, "max_bytes"))) {
    if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 0)
      return bad_setting(err, what, "max_bytes", "an integer >= 0", v);
    c->max_bytes = json_object_get_int64(v);
  }
  if ((v = json_object_object_get(s, "path"))) {
    if (!json_object_is_type(v, json_type_string) || json_object_get_string_len(v) == 0)
      return bad_setting(err, what, "path", "a non-empty string", v);
    c->dir = expand_home(json_object_get_string(v));
  }
  json_object *nss = json_object_object_get(s, "namespaces");
  if (nss && !json_object_is_type(nss, json_type_object))
    return bad_setting(err, what, "namespaces", "an object", nss);
  if (nss) {
    json_object_object_foreach(nss, name, conf) {
      int ns = hvb__cache_ns_from_name(name);
      if (ns < 0)
        return hvb__fail(err, HVB_EINVAL, "%s: unknown namespace '%s' (known: text, embedding, "
                         "image)", what, name);
      if (!conf || json_object_is_type(conf, json_type_null)) continue;
      char *key = g_strdup_printf("namespaces.%s", name);
      bool ok = json_object_is_type(conf, json_type_object) ||
                bad_setting(err, what, key, "an object", conf);
      g_free(key);
      if (!ok) return false;
      if ((v = json_object_object_get(conf, "enabled"))) {
        key = g_strdup_printf("namespaces.%s.enabled", name);
        ok = json_object_is_type(v, json_type_boolean) ||
             bad_setting(err, what, key, "a boolean", v);
        g_free(key);
        if (!ok) return false;
        c->ns_enabled[ns] = json_object_get_boolean(v);
      }
      if ((v = json_object_object_get(conf, "ttl_seconds"))) {
        key = g_strdup_printf("namespaces.%s.ttl_seconds", name);
        ok = (hvb__json_is_number(v) && json_object_get_double(v) >= 0 &&
              json_object_get_double(v) < 1e12) ||
             bad_setting(err, what, key, "a number of seconds >= 0", v);
        g_free(key);
        if (!ok) return false;
        c->ttl_ms[ns] = (int64_t)(json_object_get_double(v) * 1000.0);
      }
    }
  }
  if (!c->dir) c->dir = default_dir();
  return hvb__cache_tiers_resolve(c, what, err);
}

hvb_cache *hvb__cache_new(json_object *settings, const char *what, hvb_error *err) {
  hvb_cache *c = g_new0(hvb_cache, 1);
  c->refs = 1;
  g_mutex_init(&c->lock);
  c->settings = settings ? hvb__json_copy(settings) : json_object_new_object();
  if (!json_object_is_type(c->settings, json_type_object) || !settings_resolve(c, what, err)) {
    if (!json_object_is_type(c->settings, json_type_object))
      hvb__fail(err, HVB_EINVAL, "%s must be a cache settings object", what);
    hvb__cache_unref(c);
    return NULL;
  }
  return c;
}

hvb_cache *hvb__cache_ref(hvb_cache *c) {
  if (c) g_atomic_int_inc(&c->refs);
  return c;
}

void hvb__cache_unref(hvb_cache *c) {
  if (!c || !g_atomic_int_dec_and_test(&c->refs)) return;
  hvb__store_unref(c->store);
  hvb__remote_unref(c->remote);
  json_object_put(c->settings);
  g_free(c->dir);
  g_mutex_clear(&c->lock);
  g_free(c);
}

json_object *hvb__cache_settings(const hvb_cache *c) {
  return c->settings;
}

bool hvb__cache_enabled(const hvb_cache *c, hvb_cache_ns ns) {
  return c && c->enabled && (unsigned)ns < HVB_NS_COUNT && c->ns_enabled[ns];
}

bool hvb__cache_for_call(hvb_cache *base, json_object *call_options, hvb_cache_ns ns,
                         hvb_cache **out, hvb_error *err) {
  *out = NULL;
  json_object *over = NULL;
  if (!base) return true;
  if (!json_object_is_type(call_options, json_type_object) ||
      !json_object_object_get_ex(call_options, "cache", &over) || !over) {
    if (hvb__cache_enabled(base, ns)) *out = hvb__cache_ref(base);
    return true;
  }
  json_object *merged = hvb__cache_settings_merge(base->settings, over, "call option 'cache'", err);
  if (!merged) return false;
  hvb_cache *c = hvb__cache_new(merged, "call option 'cache'", err);
  json_object_put(merged);
  if (!c) return false;
  if (hvb__cache_enabled(c, ns))
    *out = c;
  else
    hvb__cache_unref(c);
  return true;
}

hvb_cache_store *hvb__cache_store_of(hvb_cache *c) {
  g_mutex_lock(&c->lock);
  if (!c->store) c->store = hvb__store_get(c->dir);
  hvb_cache_store *st = c->store;
  g_mutex_unlock(&c->lock);
  hvb__store_lock(st);
  bool ok = hvb__store_open(st);
  hvb__store_unlock(st);
  return ok ? st : NULL;
}

/* ---- the public API of handles ---- */

HVB_PUBLIC hvb_cache *hvb_cache_open(const hvb_config *cfg, json_object *settings,
                                     hvb_error *err) {
  hvb_config *own = NULL;
  if (!cfg && !(cfg = own = hvb_config_load(err))) return NULL;
  json_object *base = hvb__cache_settings_from_config(cfg);
  hvb_config_free(own);
  json_object *merged = hvb__cache_settings_merge(base, settings, "cache settings", err);
  json_object_put(base);
  if (!merged) return NULL;
  hvb_cache *c = hvb__cache_new(merged, settings ? "cache settings" : "heavenbase.llm.cache", err);
  json_object_put(merged);
  if (!c) return NULL;
  if (!hvb__cache_store_of(c)) {
    hvb__fail(err, HVB_IO, "cannot open the cache database in %s (see the log for why)", c->dir);
    hvb__cache_unref(c);
    return NULL;
  }
  return c;
}

HVB_PUBLIC void hvb_cache_close(hvb_cache *cache) {
  hvb__cache_unref(cache);
}

HVB_PUBLIC const char *hvb_cache_path(const hvb_cache *cache) {
  return cache && cache->store ? cache->store->path : NULL;
}
