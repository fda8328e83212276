/* core/config/keys.c: the table of config keys the library reads, with their types and ranges.
 *
 * One table, as data, used twice: when a layer file is read (a wrongly typed value is dropped
 * with a warning naming the file and the key, so the default stays in force: a timeout set to
 * "abc" or null must never become "no limit"), and by hvb_config_check before `hb cfg set`
 * writes a value (refused, naming the key and what it must be). The readers elsewhere (spec
 * resolution, cache settings, tool settings) keep their own checks for options, which are not
 * config; for config values they see only what passed here.
 *
 * Keys not in the table are kept as they are (a file written for a newer library still
 * loads), except under a "closed" key, whose readers refuse members they do not know.
 */
#include "config/keys.h"
#include "text/json.h"
#include "base/error.h"
#include "base/log.h"

#include <heavenbase/config.h>

#include <glib.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

typedef enum key_kind {
  K_OBJECT,     /* an object */
  K_OBJECT_MAP, /* an object of objects (catalog sections; entries are checked when used) */
  K_NAME,       /* a non-empty string */
  K_PATH,       /* a non-empty string (a file system path) */
  K_DIRS,       /* an array of absolute paths */
  K_BOOL,       /* true or false */
  K_SWITCH,     /* true, false or an object */
  K_SECONDS,    /* a number of seconds, 0 .. 1e7 (as options' timeouts) */
  K_TTL,        /* a number of seconds, 0 .. 1e12 (as the cache reads it) */
  K_RETRIES,    /* an integer 0 .. 100 */
  K_LIMIT,      /* an integer 1 .. 1000000 */
  K_BYTES,      /* an integer >= 0 */
  K_SIZE,       /* an integer >= 1 (a number of bytes) */
  K_POLICY,     /* a cache policy name */
  K_NAMES       /* an array of non-empty strings */
} key_kind;

enum {
  NULLABLE = 1u << 0, /* null is allowed: it clears what a lower layer set */
  CLOSED = 1u << 1    /* an object whose members must all be keys of the table */
};

typedef struct key_rule {
  const char *key;
  key_kind kind;
  unsigned flags;
} key_rule;

#define LLM "heavenbase.llm."
#define NAMESPACE(ns)                                                                          \
  {LLM "cache.namespaces." ns, K_OBJECT, NULLABLE | CLOSED},                                   \
  {LLM "cache.namespaces." ns ".enabled", K_BOOL, 0},                                          \
  {LLM "cache.namespaces." ns ".ttl_seconds", K_TTL, 0}

/* Parents before their members: a wrongly typed parent is dropped whole first. The defaults
 * of these keys are in data/config.json; core/config/spec.c, core/cache/settings.c,
 * core/api/tools.c, core/api/embed.c and core/call/image.c read them. */
static const key_rule rules[] = {
  {"heavenbase", K_OBJECT, 0},
  {"heavenbase.llm", K_OBJECT, 0},
  {"heavenbase.trusted_projects", K_DIRS, NULLABLE},
  {LLM "default_preset", K_NAME, NULLABLE},
  {LLM "default_provider", K_NAME, NULLABLE},
  {LLM "default_gateway", K_NAME, NULLABLE},
  {LLM "default_args", K_OBJECT, NULLABLE},
  {LLM "timeout", K_SECONDS, 0},
  {LLM "connect_timeout", K_SECONDS, 0},
  {LLM "idle_timeout", K_SECONDS, 0},
  {LLM "image_url_timeout", K_SECONDS, 0},
  {LLM "max_retries", K_RETRIES, 0},
  {LLM "max_response_bytes", K_SIZE, 0},
  {LLM "stream", K_BOOL, 0},
  {LLM "gateway_fallback", K_BOOL, 0},
  {LLM "embedding_batch_size", K_LIMIT, NULLABLE},
  {LLM "embedding_max_workers", K_LIMIT, 0},
  {LLM "max_steps", K_LIMIT, 0},
  {LLM "tool_call_repair", K_SWITCH, CLOSED},
  {LLM "tool_call_repair.enabled", K_BOOL, 0},
  {LLM "tool_call_repair.strict", K_BOOL, 0},
  {LLM "tool_call_repair.split", K_BOOL, 0},
  {LLM "usage", K_OBJECT, 0},
  {LLM "usage.ledger", K_BOOL, 0},
  {LLM "usage.path", K_PATH, NULLABLE},
  {LLM "usage.hold_margin", K_SECONDS, 0},
  {LLM "budgets", K_OBJECT_MAP, 0},
  {LLM "cache", K_OBJECT, 0},
  {LLM "cache.enabled", K_BOOL, 0},
  {LLM "cache.policy", K_POLICY, 0},
  {LLM "cache.max_bytes", K_BYTES, 0},
  {LLM "cache.path", K_PATH, NULLABLE},
  {LLM "cache.namespaces", K_OBJECT, CLOSED},
  /* Cache backends (core/cache/tier.c): the options are the backend's own, checked by it. */
  {LLM "cache.backend", K_NAME, 0},
  {LLM "cache.backend_fallback", K_BOOL, 0},
  {LLM "cache.backend_options", K_OBJECT, 0},
  {LLM "cache.tiers", K_NAMES, 0},
  {LLM "cache.flight_lock_seconds", K_SECONDS, 0},
  NAMESPACE("text"),
  NAMESPACE("embedding"),
  NAMESPACE("image"),
  {LLM "telemetry", K_OBJECT, CLOSED},
  {LLM "telemetry.otlp_endpoint", K_NAME, NULLABLE},
  {LLM "telemetry.service_name", K_NAME, NULLABLE},
  {LLM "telemetry.capture_content", K_BOOL, 0},
  {LLM "presets", K_OBJECT_MAP, NULLABLE},
  {LLM "models", K_OBJECT_MAP, NULLABLE},
  {LLM "providers", K_OBJECT_MAP, NULLABLE},
  {LLM "gateways", K_OBJECT_MAP, NULLABLE},
  {LLM "mcp", K_OBJECT_MAP, NULLABLE}, /* MCP servers by name: core/api/mcp-server.c */
  {LLM "routes", K_OBJECT_MAP, NULLABLE},
};

/* What a key must be, where the kind's own words are not enough. */
static const struct {
  const char *key, *want;
} wants[] = {
  {LLM "cache", "an object (to turn the cache off, set heavenbase.llm.cache.enabled to false)"},
};

static const char *want_text(const key_rule *r);

static const char *kind_text(key_kind kind) {
  switch (kind) {
  case K_OBJECT: return "an object";
  case K_OBJECT_MAP: return "an object of objects";
  case K_NAME: return "a non-empty string";
  case K_PATH: return "a non-empty string (a path)";
  case K_DIRS: return "an array of absolute directory paths";
  case K_BOOL: return "true or false";
  case K_SWITCH: return "true, false or an object";
  case K_SECONDS: return "a number of seconds from 0 to 10000000";
  case K_TTL: return "a number of seconds from 0 to 1000000000000";
  case K_RETRIES: return "an integer from 0 to 100";
  case K_LIMIT: return "an integer from 1 to 1000000";
  case K_BYTES: return "an integer number of bytes, 0 or more";
  case K_SIZE: return "an integer number of bytes, 1 or more";
  case K_POLICY: return "\"deterministic\"";
  case K_NAMES: return "an array of names";
  }
  return "valid";
}

static bool number_in(json_object *v, double lo, double hi) {
  if (!hvb__json_is_number(v)) return false;
  double d = json_object_get_double(v);
  return isfinite(d) && d >= lo && d <= hi;
}

static bool int_in(json_object *v, int64_t lo, int64_t hi) {
  return json_object_is_type(v, json_type_int) && json_object_get_int64(v) >= lo &&
         json_object_get_int64(v) <= hi;
}

static bool all_absolute(json_object *v) {
  for (size_t i = 0, n = json_object_array_length(v); i < n; i++) {
    json_object *item = json_object_array_get_idx(v, i);
    if (!json_object_is_type(item, json_type_string) ||
        !g_path_is_absolute(json_object_get_string(item)))
      return false;
  }
  return true;
}

static bool all_names(json_object *v) {
  for (size_t i = 0, n = json_object_array_length(v); i < n; i++) {
    json_object *item = json_object_array_get_idx(v, i);
    if (!json_object_is_type(item, json_type_string) || !json_object_get_string_len(item))
      return false;
  }
  return true;
}

static bool fits(json_object *v, key_kind kind) {
  bool is_obj = json_object_is_type(v, json_type_object);
  bool is_str = json_object_is_type(v, json_type_string);
  switch (kind) {
  case K_OBJECT: return is_obj;
  case K_OBJECT_MAP: return is_obj; /* its entries: check_entries */
  case K_NAME:
  case K_PATH: return is_str && json_object_get_string_len(v) > 0;
  case K_DIRS: return json_object_is_type(v, json_type_array) && all_absolute(v);
  case K_BOOL: return json_object_is_type(v, json_type_boolean);
  case K_SWITCH: return is_obj || json_object_is_type(v, json_type_boolean);
  case K_SECONDS: return number_in(v, 0, 1e7);
  case K_TTL: return number_in(v, 0, 1e12);
  case K_RETRIES: return int_in(v, 0, 100);
  case K_LIMIT: return int_in(v, 1, 1000000);
  case K_BYTES: return int_in(v, 0, INT64_MAX);
  case K_SIZE: return int_in(v, 1, INT64_MAX);
  case K_POLICY: return is_str && !strcmp(json_object_get_string(v), "deterministic");
  case K_NAMES: return json_object_is_type(v, json_type_array) && all_names(v);
  }
  return false;
}

static const char *want_text(const key_rule *r) {
  for (size_t i = 0; i < G_N_ELEMENTS(wants); i++)
    if (!strcmp(wants[i].key, r->key)) return wants[i].want;
  return kind_text(r->kind);
}

/* What was found, for messages: numbers and booleans as they are, strings and containers by
 * type only (a misplaced string could be a key). */
static void got_text(json_object *v, key_kind kind, char *buf, size_t size) {
  json_type type = json_object_get_type(v);
  if (kind == K_POLICY && type == json_type_string) {
    snprintf(buf, size, "'%.40s'", json_object_get_string(v)); /* a name, not a secret */
  } else if (type == json_type_int || type == json_type_double || type == json_type_boolean) {
    char *text = hvb__json_canonical(v);
    snprintf(buf, size, "%s", text);
    g_free(text);
  } else {
    snprintf(buf, size, "%s", v ? hvb__json_type_phrase(v) : "null");
  }
}

/* The object of `tree` that holds the last part of `key`, or NULL when a part above it is
 * absent or not an object. *last points into `key`. */
static json_object *holder(json_object *tree, const char *key, const char **last) {
  const char *dot = strrchr(key, '.');
  *last = dot ? dot + 1 : key;
  if (!dot) return tree;
  char *parent = g_strndup(key, (gsize)(dot - key));
  json_object *h = hvb__json_path(tree, parent);
  g_free(parent);
  return json_object_is_type(h, json_type_object) ? h : NULL;
}

static bool is_rule(const char *key) {
  for (size_t i = 0; i < G_N_ELEMENTS(rules); i++)
    if (!strcmp(rules[i].key, key)) return true;
  return false;
}

/* One problem: an error (strict) or a warning and the member removed (sanitize). */
typedef struct walk {
  const char *file; /* NULL: strict */
  hvb_error *err;
  int removed;
} walk;

static bool problem(walk *w, json_object *obj, const char *member, const char *key,
                    const char *what) {
  if (!w->file) return hvb__fail(w->err, HVB_EINVAL, "config key '%s' %s", key, what);
  char *once = g_strconcat("config-key:", w->file, ":", key, NULL);
  hvb__warn_once(once, "config %s: key '%s' %s; ignored, the default stays in force", w->file,
                 key, what);
  g_free(once);
  json_object_object_del(obj, member);
  w->removed++;
  return true;
}

/* Members of a closed object that the table does not know. */
static bool check_closed(walk *w, json_object *obj, const char *key) {
  GPtrArray *unknown = g_ptr_array_new_with_free_func(g_free);
  json_object_object_foreach(obj, name, val) {
    (void)val;
    char *full = g_strconcat(key, ".", name, NULL);
    if (!is_rule(full)) g_ptr_array_add(unknown, g_strdup(name));
    g_free(full);
  }
  bool ok = true;
  for (guint i = 0; i < unknown->len && ok; i++) {
    char *full = g_strconcat(key, ".", (char *)unknown->pdata[i], NULL);
    GString *known = g_string_new(NULL);
    for (size_t r = 0; r < G_N_ELEMENTS(rules); r++) {
      const char *k = rules[r].key;
      if (g_str_has_prefix(k, key) && k[strlen(key)] == '.' && !strchr(k + strlen(key) + 1, '.'))
        g_string_append_printf(known, "%s%s", known->len ? ", " : "", k + strlen(key) + 1);
    }
    char *what = g_strdup_printf("is not a known key (known here: %s)", known->str);
    ok = problem(w, obj, unknown->pdata[i], full, what);
    g_free(what);
    g_string_free(known, TRUE);
    g_free(full);
  }
  g_ptr_array_free(unknown, TRUE);
  return ok;
}

/* The entries of a catalog section must be objects (or null, which removes one); a bad one
 * is named and dropped alone. */
static bool check_entries(walk *w, json_object *obj, const char *key) {
  GPtrArray *bad = g_ptr_array_new_with_free_func(g_free);
  json_object_object_foreach(obj, name, entry) {
    if (entry && !json_object_is_type(entry, json_type_object)) g_ptr_array_add(bad, g_strdup(name));
  }
  bool ok = true;
  for (guint i = 0; i < bad->len && ok; i++) {
    char got[64];
    got_text(json_object_object_get(obj, bad->pdata[i]), K_OBJECT, got, sizeof got);
    char *full = g_strconcat(key, ".", (char *)bad->pdata[i], NULL);
    char *what = g_strdup_printf("must be an object (a catalog entry), not %s", got);
    ok = problem(w, obj, bad->pdata[i], full, what);
    g_free(what);
    g_free(full);
  }
  g_ptr_array_free(bad, TRUE);
  return ok;
}

static bool walk_tree(walk *w, json_object *tree) {
  if (!json_object_is_type(tree, json_type_object)) return true;
  for (size_t i = 0; i < G_N_ELEMENTS(rules); i++) {
    const key_rule *r = &rules[i];
    const char *member;
    json_object *obj = holder(tree, r->key, &member), *v = NULL;
    if (!obj || !json_object_object_get_ex(obj, member, &v)) continue;
    if (!v && (r->flags & NULLABLE)) continue;
    if (!v || !fits(v, r->kind)) {
      char got[64];
      got_text(v, r->kind, got, sizeof got);
      char *what = g_strdup_printf("must be %s, not %s", want_text(r), got);
      bool ok = problem(w, obj, member, r->key, what);
      g_free(what);
      if (!ok) return false;
      continue;
    }
    if ((r->flags & CLOSED) && json_object_is_type(v, json_type_object) &&
        !check_closed(w, v, r->key))
      return false;
    if (r->kind == K_OBJECT_MAP && !check_entries(w, v, r->key)) return false;
  }
  return true;
}

int hvb__config_keys_sanitize(json_object *tree, const char *file) {
  walk w = {.file = file ? file : "(unnamed)"};
  walk_tree(&w, tree);
  return w.removed;
}

bool hvb__config_keys_check_tree(json_object *tree, hvb_error *err) {
  walk w = {.err = err};
  return walk_tree(&w, tree);
}

/* Split `key` within the limits; NULL with HVB_EINVAL naming what is wrong. */
static char **split_checked(const char *key, hvb_error *err) {
  if (!key || !*key) {
    hvb__fail(err, HVB_EINVAL, "empty config key");
    return NULL;
  }
  size_t len = strlen(key);
  if (len > HVB_CONFIG_KEY_MAX_BYTES) {
    hvb__fail(err, HVB_EINVAL, "config key of %zu bytes is longer than the %d allowed", len,
              HVB_CONFIG_KEY_MAX_BYTES);
    return NULL;
  }
  char **segs = g_strsplit(key, ".", -1);
  guint n = g_strv_length(segs);
  const char *why = n > HVB_CONFIG_KEY_MAX_PARTS ? "too many dotted parts" : NULL;
  for (guint i = 0; i < n && !why; i++)
    if (!*segs[i]) why = "empty segment";
  if (why) {
    if (n > HVB_CONFIG_KEY_MAX_PARTS)
      hvb__fail(err, HVB_EINVAL, "invalid config key '%s': %u dotted parts, at most %d allowed",
                key, n, HVB_CONFIG_KEY_MAX_PARTS);
    else
      hvb__fail(err, HVB_EINVAL, "invalid config key '%s': %s", key, why);
    g_strfreev(segs);
    return NULL;
  }
  return segs;
}

HVB_PUBLIC bool hvb_config_check(const char *key, json_object *value, hvb_error *err) {
  char **segs = split_checked(key, err);
  if (!segs) return false;
  /* The value as a layer holding only it, so that the walk sees it where the reader will. */
  json_object *tree = json_object_new_object(), *cur = tree;
  guint n = g_strv_length(segs);
  for (guint i = 0; i + 1 < n; i++) {
    json_object *next = json_object_new_object();
    json_object_object_add(cur, segs[i], next);
    cur = next;
  }
  json_object_object_add(cur, segs[n - 1], json_object_get(value));
  bool ok = hvb__config_keys_check_tree(tree, err);
  json_object_put(tree);
  g_strfreev(segs);
  return ok;
}

HVB_PUBLIC json_object *hvb_config_known_keys(void) {
  json_object *out = json_object_new_array();
  for (size_t i = 0; i < G_N_ELEMENTS(rules); i++)
    json_object_array_add(out, json_object_new_string(rules[i].key));
  return out;
}
