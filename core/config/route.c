/* core/config/route.c: routes of the catalog, heavenbase.llm.routes.NAME (see route.h).
 *
 * The route schema
 * ----------------
 *   route   "strategy"      "fallback" (default: in order), "weighted", "least-latency",
 *                           "least-busy" or "hash"
 *           "targets"       required, non-empty array; each a preset name (string) or an
 *                           object of LLM options ("preset", or "model"/"provider"/
 *                           "gateway"/"base_url"/"api_key_env"/"args"/"headers"/timeouts),
 *                           plus the route's own per-target fields "label" (a name for
 *                           logs and records) and "weight" (number >= 0, for "weighted")
 *           "fall_through"  array of HTTP statuses (429, 503...) and classes: "5xx",
 *                           "connect", "timeout", "unsupported". Default [429, "5xx",
 *                           "connect", "timeout", "unsupported"]. 400 and 401 never fall
 *                           through: the next target would refuse the same request
 *           "max_targets"   positive integer: targets tried per call (default: all)
 *           "deadline"      seconds for the whole routed call, every target included
 *           "retries"       false: every target is tried once (default true: the last
 *                           target tried keeps its own max_retries; earlier ones never
 *                           retry, since the next target is the better retry)
 *           "on_limit"      "next" (default: a target at its rpm/tpm limit is skipped) or
 *                           "wait" (a sync call waits for it within the deadline; an async
 *                           call, which never blocks, moves on)
 *           "breaker"       false, or an object: the circuit breaker per target
 *                           (core/call/breaker.c): "failures" (consecutive failures that
 *                           open it, default 5), "failure_rate" (0..1, with "min_calls",
 *                           default 10, in "window" seconds, default 60; off by default),
 *                           "cooldown" (seconds open before one trial call, default 30)
 *           "hedge"         true: a sync chat whose first target has not answered within
 *                           that target's p95 time to first byte (of its last 32 answers;
 *                           "hedge_after_ms" until 8 were measured) starts the next target
 *                           too; the first complete answer wins, the other is cancelled
 *           "hedge_after_ms"  milliseconds (> 0): with "hedge", the delay until 8 answers
 *                           were measured (default 1000); alone, a fixed delay, hedging on
 *           "description"   one line for people
 * A target may not itself be a route.
 */
#include "config/route.h"
#include "config/config.h"
#include "text/json.h"
#include "base/error.h"

#include <glib.h>
#include <math.h>
#include <string.h>

static const char *const strategy_names[] = {"fallback", "weighted", "least-latency",
                                             "least-busy", "hash", NULL};

/* Per-target fields that belong to the route, never passed to the target's LLM. */
static const char *const route_only[] = {"label", "weight", "rpm", "tpm", "burst", NULL};

/* Keys that define what a target is: the caller's values of these give way to the target. */
static const char *const defining[] = {"preset", "model", "provider", "gateway", "base_url",
                                       "api_key_env", NULL};

const char *hvb__route_strategy_name(hvb_route_strategy s) {
  return (size_t)s < G_N_ELEMENTS(strategy_names) - 1 ? strategy_names[s] : "?";
}

static bool in_list(const char *const *list, const char *s) {
  for (size_t i = 0; list[i]; i++)
    if (strcmp(list[i], s) == 0) return true;
  return false;
}

static bool fail_field(hvb_error *err, const char *name, const char *field, const char *want) {
  return hvb__fail(err, HVB_CONFIG, "catalog route '%s': '%s' must be %s", name, field, want);
}

static bool check_target(const char *name, size_t i, json_object *t, hvb_error *err) {
  char field[64];
  g_snprintf(field, sizeof field, "targets[%zu]", i);
  if (json_object_is_type(t, json_type_string))
    return json_object_get_string_len(t) > 0 ||
           fail_field(err, name, field, "a preset name or an object of options");
  if (!json_object_is_type(t, json_type_object))
    return fail_field(err, name, field, "a preset name or an object of options");
  json_object *w = json_object_object_get(t, "weight");
  g_snprintf(field, sizeof field, "targets[%zu].weight", i);
  if (w && (!hvb__json_is_number(w) || !isfinite(json_object_get_double(w)) ||
            json_object_get_double(w) < 0))
    return fail_field(err, name, field, "a number, 0 or more");
  const char *limits[] = {"rpm", "tpm", "burst"};
  for (size_t k = 0; k < 3; k++) {
    json_object *v = json_object_object_get(t, limits[k]);
    g_snprintf(field, sizeof field, "targets[%zu].%s", i, limits[k]);
    if (v && (!hvb__json_is_number(v) || !(json_object_get_double(v) > 0) ||
              !isfinite(json_object_get_double(v))))
      return fail_field(err, name, field, "a number above 0");
  }
  json_object *l = json_object_object_get(t, "label");
  g_snprintf(field, sizeof field, "targets[%zu].label", i);
  if (l && !json_object_is_type(l, json_type_string))
    return fail_field(err, name, field, "a string");
  return true;
}

static bool check_fall_through(const char *name, json_object *ft, hvb_error *err) {
  const char *want = "an array of HTTP statuses and \"5xx\", \"connect\", \"timeout\", "
                     "\"unsupported\"";
  if (!json_object_is_type(ft, json_type_array)) return fail_field(err, name, "fall_through", want);
  size_t n = json_object_array_length(ft);
  for (size_t i = 0; i < n; i++) {
    json_object *v = json_object_array_get_idx(ft, i);
    if (json_object_is_type(v, json_type_int)) {
      int64_t code = json_object_get_int64(v);
      if (code == 400 || code == 401)
        return hvb__fail(err, HVB_CONFIG,
                         "catalog route '%s': 'fall_through' may not hold %d: the next target "
                         "would refuse the same request (or key) too",
                         name, (int)code);
      if (code < 402 || code > 599) return fail_field(err, name, "fall_through", want);
      continue;
    }
    const char *s = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";
    if (strcmp(s, "5xx") && strcmp(s, "connect") && strcmp(s, "timeout") &&
        strcmp(s, "unsupported"))
      return fail_field(err, name, "fall_through", want);
  }
  if (n > HVB_ROUTE_MAX_CODES) return fail_field(err, name, "fall_through", "at most 16 items");
  return true;
}

static bool seconds_ok(json_object *v) {
  return hvb__json_is_number(v) && isfinite(json_object_get_double(v)) &&
         json_object_get_double(v) >= 0 && json_object_get_double(v) <= 1e7;
}

static bool check_breaker(const char *name, json_object *b, hvb_error *err) {
  if (json_object_is_type(b, json_type_boolean)) return true;
  if (!json_object_is_type(b, json_type_object))
    return fail_field(err, name, "breaker", "false or an object");
  json_object *v;
  if ((v = json_object_object_get(b, "failures")) &&
      (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 1))
    return fail_field(err, name, "breaker.failures", "a positive integer");
  if ((v = json_object_object_get(b, "min_calls")) &&
      (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 1))
    return fail_field(err, name, "breaker.min_calls", "a positive integer");
  if ((v = json_object_object_get(b, "failure_rate")) &&
      (!hvb__json_is_number(v) || !(json_object_get_double(v) >= 0) ||
       json_object_get_double(v) > 1))
    return fail_field(err, name, "breaker.failure_rate", "a number from 0 to 1");
  if ((v = json_object_object_get(b, "window")) && !seconds_ok(v))
    return fail_field(err, name, "breaker.window", "a number of seconds from 0 to 10000000");
  if ((v = json_object_object_get(b, "cooldown")) && !seconds_ok(v))
    return fail_field(err, name, "breaker.cooldown", "a number of seconds from 0 to 10000000");
  return true;
}

static void load_breaker(hvb_breaker_config *c, json_object *b) {
  c->enabled = !json_object_is_type(b, json_type_boolean) || json_object_get_boolean(b);
  c->failures = 5;
  c->min_calls = 10;
  c->window_us = 60 * G_USEC_PER_SEC;
  c->cooldown_us = 30 * G_USEC_PER_SEC;
  if (!json_object_is_type(b, json_type_object)) return;
  json_object *v;
  if ((v = json_object_object_get(b, "failures"))) c->failures = json_object_get_int64(v);
  if ((v = json_object_object_get(b, "min_calls"))) c->min_calls = json_object_get_int64(v);
  if ((v = json_object_object_get(b, "failure_rate"))) c->failure_rate = json_object_get_double(v);
  if ((v = json_object_object_get(b, "window")))
    c->window_us = (int64_t)(json_object_get_double(v) * G_USEC_PER_SEC);
  if ((v = json_object_object_get(b, "cooldown")))
    c->cooldown_us = (int64_t)(json_object_get_double(v) * G_USEC_PER_SEC);
}

bool hvb__route_entry_check(const char *name, json_object *e, hvb_error *err) {
  if (!json_object_is_type(e, json_type_object))
    return hvb__fail(err, HVB_CONFIG, "catalog route '%s' must be an object", name);
  json_object *v = json_object_object_get(e, "strategy");
  if (v && (!json_object_is_type(v, json_type_string) ||
            !in_list(strategy_names, json_object_get_string(v))))
    return fail_field(err, name, "strategy",
                      "\"fallback\", \"weighted\", \"least-latency\", \"least-busy\" or \"hash\"");
  json_object *targets = json_object_object_get(e, "targets");
  if (!json_object_is_type(targets, json_type_array) || !json_object_array_length(targets))
    return fail_field(err, name, "targets", "a non-empty array of targets");
  for (size_t i = 0; i < json_object_array_length(targets); i++)
    if (!check_target(name, i, json_object_array_get_idx(targets, i), err)) return false;
  if ((v = json_object_object_get(e, "fall_through")) && !check_fall_through(name, v, err))
    return false;
  v = json_object_object_get(e, "max_targets");
  if (v && (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 1))
    return fail_field(err, name, "max_targets", "a positive integer");
  v = json_object_object_get(e, "deadline");
  if (v && (!hvb__json_is_number(v) || !isfinite(json_object_get_double(v)) ||
            json_object_get_double(v) < 0 || json_object_get_double(v) > 1e7))
    return fail_field(err, name, "deadline", "a number of seconds from 0 to 10000000");
  v = json_object_object_get(e, "retries");
  if (v && !json_object_is_type(v, json_type_boolean))
    return fail_field(err, name, "retries", "true or false");
  if ((v = json_object_object_get(e, "breaker")) && !check_breaker(name, v, err)) return false;
  v = json_object_object_get(e, "on_limit");
  if (v && (!json_object_is_type(v, json_type_string) ||
            (strcmp(json_object_get_string(v), "next") && strcmp(json_object_get_string(v), "wait"))))
    return fail_field(err, name, "on_limit", "\"next\" or \"wait\"");
  v = json_object_object_get(e, "hedge");
  if (v && !json_object_is_type(v, json_type_boolean))
    return fail_field(err, name, "hedge", "true or false");
  v = json_object_object_get(e, "hedge_after_ms");
  if (v && (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 1 ||
            json_object_get_int64(v) > 10000000))
    return fail_field(err, name, "hedge_after_ms", "a positive integer (milliseconds)");
  v = json_object_object_get(e, "description");
  if (v && !json_object_is_type(v, json_type_string))
    return fail_field(err, name, "description", "a string");
  return true;
}

static json_object *section(const hvb_config *cfg, const char *name) {
  return json_object_object_get(hvb__config_catalog(cfg), name);
}

const char *hvb__route_named(const hvb_config *cfg, json_object *options) {
  json_object *routes = section(cfg, "routes");
  if (!routes || !json_object_object_length(routes)) return NULL; /* the common case */
  const char *preset = hvb__json_str(options, "preset");
  if (!preset) {
    json_object *v = hvb_config_get(cfg, "heavenbase.llm.default_preset");
    preset = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "chat";
  }
  json_object *p = json_object_object_get(section(cfg, "presets"), preset);
  const char *name = p ? hvb__json_str(p, "model") : preset;
  if (hvb__json_str(options, "model")) return NULL; /* the caller chose a model */
  if (!name || !json_object_object_get_ex(routes, name, NULL)) return NULL;
  return name;
}

static char *target_label(json_object *t, size_t i) {
  if (json_object_is_type(t, json_type_string))
    return g_strdup_printf("preset %s", json_object_get_string(t));
  const char *label = hvb__json_str(t, "label");
  if (label) return g_strdup(label);
  const char *preset = hvb__json_str(t, "preset"), *model = hvb__json_str(t, "model");
  const char *provider = hvb__json_str(t, "provider");
  if (model) return g_strdup_printf("%s%s%s", provider ? provider : "", provider ? "/" : "", model);
  if (preset) return g_strdup_printf("preset %s", preset);
  return g_strdup_printf("target %zu", i + 1);
}

static void load_fall_through(hvb_route_def *def, json_object *ft) {
  if (!ft) {
    def->ft_flags = HVB_ROUTE_FT_5XX | HVB_ROUTE_FT_CONNECT | HVB_ROUTE_FT_TIMEOUT |
                    HVB_ROUTE_FT_UNSUPPORTED;
    def->ft_codes[def->ft_ncodes++] = 429;
    return;
  }
  for (size_t i = 0; i < json_object_array_length(ft); i++) {
    json_object *v = json_object_array_get_idx(ft, i);
    const char *s = json_object_get_string(v);
    if (json_object_is_type(v, json_type_int))
      def->ft_codes[def->ft_ncodes++] = json_object_get_int(v);
    else if (!strcmp(s, "5xx")) def->ft_flags |= HVB_ROUTE_FT_5XX;
    else if (!strcmp(s, "connect")) def->ft_flags |= HVB_ROUTE_FT_CONNECT;
    else if (!strcmp(s, "timeout")) def->ft_flags |= HVB_ROUTE_FT_TIMEOUT;
    else def->ft_flags |= HVB_ROUTE_FT_UNSUPPORTED;
  }
}

/* Targets that are preset names of routes would route again: refused. */
static bool check_no_nesting(const hvb_config *cfg, const hvb_route_def *def, hvb_error *err) {
  for (size_t i = 0; i < def->ntargets; i++) {
    json_object *o = json_object_array_get_idx(def->targets, i);
    if (hvb__route_named(cfg, o))
      return hvb__fail(err, HVB_CONFIG, "catalog route '%s': targets[%zu] (%s) is a route: a "
                       "target must be a preset or model, not another route",
                       def->name, i, def->labels[i]);
  }
  return true;
}

hvb_route_def *hvb__route_def_load(const hvb_config *cfg, const char *name, hvb_error *err) {
  json_object *e = json_object_object_get(section(cfg, "routes"), name);
  if (!e) {
    hvb__fail(err, HVB_NOT_FOUND, "unknown route '%s'", name);
    return NULL;
  }
  if (!hvb__route_entry_check(name, e, err)) return NULL;
  hvb_route_def *def = g_atomic_rc_box_new0(hvb_route_def);
  def->name = g_strdup(name);
  const char *strategy = hvb__json_str(e, "strategy");
  for (int s = 0; strategy && strategy_names[s]; s++)
    if (!strcmp(strategy, strategy_names[s])) def->strategy = (hvb_route_strategy)s;
  json_object *targets = json_object_object_get(e, "targets");
  def->ntargets = json_object_array_length(targets);
  def->targets = json_object_new_array();
  def->labels = g_new0(char *, def->ntargets + 1);
  def->weights = g_new0(double, def->ntargets);
  def->limits = g_new0(hvb_rate_limits, def->ntargets);
  for (size_t i = 0; i < def->ntargets; i++) {
    json_object *t = json_object_array_get_idx(targets, i);
    def->labels[i] = target_label(t, i);
    json_object *w = json_object_object_get(t, "weight");
    def->weights[i] = w ? json_object_get_double(w) : 1.0;
    json_object *v;
    if ((v = json_object_object_get(t, "rpm"))) def->limits[i].rpm = json_object_get_double(v);
    if ((v = json_object_object_get(t, "tpm"))) def->limits[i].tpm = json_object_get_double(v);
    if ((v = json_object_object_get(t, "burst"))) def->limits[i].burst = json_object_get_double(v);
    json_object *o = json_object_new_object();
    if (json_object_is_type(t, json_type_string)) {
      json_object_object_add(o, "preset", json_object_get(t));
    } else {
      json_object_object_foreach(t, key, val) {
        if (!in_list(route_only, key)) json_object_object_add(o, key, hvb__json_copy(val));
      }
    }
    json_object_array_add(def->targets, o);
  }
  load_fall_through(def, json_object_object_get(e, "fall_through"));
  json_object *mt = json_object_object_get(e, "max_targets");
  def->max_targets = mt && (size_t)json_object_get_int64(mt) < def->ntargets
                         ? (size_t)json_object_get_int64(mt)
                         : def->ntargets;
  json_object *dl = json_object_object_get(e, "deadline");
  def->deadline_ms = dl ? (long)llround(json_object_get_double(dl) * 1000) : 0;
  json_object *rt = json_object_object_get(e, "retries");
  def->no_retries = rt && !json_object_get_boolean(rt);
  load_breaker(&def->breaker, json_object_object_get(e, "breaker"));
  const char *on_limit = hvb__json_str(e, "on_limit");
  def->wait_on_limit = on_limit && !strcmp(on_limit, "wait");
  json_object *hedge = json_object_object_get(e, "hedge");
  json_object *after = json_object_object_get(e, "hedge_after_ms");
  def->hedge = hedge ? json_object_get_boolean(hedge) : after != NULL;
  def->hedge_p95 = hedge && json_object_get_boolean(hedge);
  def->hedge_after_ms = after ? (long)json_object_get_int64(after) : 1000;
  if (!check_no_nesting(cfg, def, err)) {
    hvb__route_def_free(def);
    return NULL;
  }
  return def;
}

static void def_clear(gpointer p) {
  hvb_route_def *def = p;
  g_free(def->name);
  json_object_put(def->targets);
  g_strfreev(def->labels);
  g_free(def->weights);
  g_free(def->limits);
}

hvb_route_def *hvb__route_def_ref(hvb_route_def *def) {
  return g_atomic_rc_box_acquire(def);
}

void hvb__route_def_free(hvb_route_def *def) {
  if (def) g_atomic_rc_box_release_full(def, def_clear);
}

json_object *hvb__route_target_options(const hvb_route_def *def, size_t i,
                                       json_object *caller_options) {
  json_object *o = json_object_new_object();
  json_object *t = json_object_array_get_idx(def->targets, i);
  if (json_object_is_type(caller_options, json_type_object)) {
    json_object_object_foreach(caller_options, key, val) {
      if (!in_list(defining, key)) json_object_object_add(o, key, hvb__json_copy(val));
    }
  }
  json_object_object_foreach(t, key, val) json_object_object_add(o, key, hvb__json_copy(val));
  return o;
}

/* The call-time behaviours of a route (what a caller cannot see from its targets): what a
 * target at its rate limit does, and the hedge, if any. */
static void view_behaviour(json_object *v, const hvb_route_def *def) {
  json_object_object_add(v, "on_limit", json_object_new_string(def->wait_on_limit ? "wait" : "next"));
  if (!def->hedge) return;
  json_object *h = json_object_new_object();
  json_object_object_add(h, "delay", json_object_new_string(def->hedge_p95 ? "p95" : "fixed"));
  json_object_object_add(h, def->hedge_p95 ? "after_ms_until_measured" : "after_ms",
                         json_object_new_int64(def->hedge_after_ms));
  json_object_object_add(v, "hedge", h);
}

json_object *hvb__route_def_view(const hvb_route_def *def) {
  json_object *v = json_object_new_object();
  json_object_object_add(v, "name", json_object_new_string(def->name));
  json_object_object_add(v, "strategy",
                         json_object_new_string(hvb__route_strategy_name(def->strategy)));
  json_object *targets = json_object_new_array();
  for (size_t i = 0; i < def->ntargets; i++) {
    json_object *t = json_object_new_object();
    json_object *o = json_object_array_get_idx(def->targets, i);
    json_object_object_add(t, "label", json_object_new_string(def->labels[i]));
    const char *keys[] = {"preset", "model", "provider", "gateway", NULL};
    for (size_t k = 0; keys[k]; k++)
      if (hvb__json_str(o, keys[k]))
        json_object_object_add(t, keys[k], json_object_new_string(hvb__json_str(o, keys[k])));
    if (def->strategy == HVB_ROUTE_WEIGHTED)
      json_object_object_add(t, "weight", json_object_new_double(def->weights[i]));
    json_object_array_add(targets, t);
  }
  json_object_object_add(v, "targets", targets);
  json_object *ft = json_object_new_array();
  for (size_t i = 0; i < def->ft_ncodes; i++)
    json_object_array_add(ft, json_object_new_int(def->ft_codes[i]));
  const char *classes[] = {"5xx", "connect", "timeout", "unsupported"};
  for (unsigned c = 0; c < 4; c++)
    if (def->ft_flags & (1u << c)) json_object_array_add(ft, json_object_new_string(classes[c]));
  json_object_object_add(v, "fall_through", ft);
  json_object_object_add(v, "max_targets", json_object_new_int64((int64_t)def->max_targets));
  if (def->deadline_ms)
    json_object_object_add(v, "deadline", json_object_new_double(def->deadline_ms / 1000.0));
  view_behaviour(v, def);
  return v;
}

bool hvb__route_for_spec(const hvb_config *cfg, json_object *options,
                         json_object **target_options, json_object **view, hvb_error *err) {
  *target_options = *view = NULL;
  const char *name = hvb__route_named(cfg, options);
  if (!name) return true;
  hvb_route_def *def = hvb__route_def_load(cfg, name, err);
  if (!def) return false;
  *target_options = hvb__route_target_options(def, 0, options);
  *view = hvb__route_def_view(def);
  hvb__route_def_free(def);
  return true;
}

bool hvb__route_falls_through(const hvb_route_def *def, const hvb_error *e) {
  int code = e->http_status;
  if (code == 400 || code == 401) return false;
  if (e->status == HVB_HTTP || e->status == HVB_PROVIDER) {
    for (size_t i = 0; i < def->ft_ncodes; i++)
      if (def->ft_codes[i] == code) return true;
    return code >= 500 && code <= 599 && (def->ft_flags & HVB_ROUTE_FT_5XX);
  }
  switch (e->status) {
  case HVB_TRANSPORT: return def->ft_flags & HVB_ROUTE_FT_CONNECT;
  case HVB_TIMEOUT: return def->ft_flags & HVB_ROUTE_FT_TIMEOUT;
  case HVB_UNSUPPORTED: return def->ft_flags & HVB_ROUTE_FT_UNSUPPORTED;
  default: return false;
  }
}
