/* core/api/route-llm.c: a routed LLM's targets. Each target of the route is an LLM of its
 * own (its spec, gateway, connection pool), made once with the LLM, so a routed call costs
 * no resolution; the call walks them (core/api/chat.c, core/call/route.c). A target that
 * cannot be made refuses the whole route, with the reason, when the LLM is made.
 */
#include "api/handle.h"
#include "config/route.h"
#include "config/config.h"
#include "call/breaker.h"
#include "call/ratelimit-headers.h"
#include "base/log.h"
#include "base/common.h"
#include "base/error.h"

#include <glib.h>

struct hvb_routed {
  hvb_route_def *def;
  hvb_route route;
  hvb_llm **llms; /* def->ntargets */
  char **keys;    /* breaker keys, def->ntargets */
  char **limit_headers; /* HVB_RLH_COUNT names per target (NULL: not named) */
};

void hvb__routed_free(struct hvb_routed *r) {
  if (!r) return;
  for (size_t i = 0; r->def && i < r->def->ntargets; i++) hvb_llm_free(r->llms[i]);
  g_free(r->llms);
  g_strfreev(r->keys);
  for (size_t i = 0; r->def && r->limit_headers && i < r->def->ntargets * HVB_RLH_COUNT; i++)
    g_free(r->limit_headers[i]);
  g_free(r->limit_headers);
  g_free(r->route.targets);
  hvb__route_stats_free(r->route.stats);
  hvb__route_def_free(r->def);
  g_free(r);
}

static struct hvb_routed *routed_new_named(const hvb_config *cfg, const char *name,
                                          json_object *options, hvb_error *err);

struct hvb_routed *hvb__routed_new(const hvb_config *cfg, json_object *options,
                                   hvb_error *err) {
  const char *name = hvb__route_named(cfg, options);
  if (!name) {
    hvb__fail(err, HVB_CONFIG, "the options name no route");
    return NULL;
  }
  return routed_new_named(cfg, name, options, err);
}

/* The embedding size a target is known to give without asking it: its "dimensions"
 * argument, else its model's catalog "dimension"; 0 when neither says. */
static int64_t known_dimension(const hvb_spec *spec) {
  json_object *v = json_object_object_get(hvb_spec_args(spec), "dimensions");
  if (!json_object_is_type(v, json_type_int))
    v = json_object_object_get(hvb_spec_model_info(spec), "dimension");
  return json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : 0;
}

/* Targets whose embeddings differ in size cannot stand in for each other: vectors from two
 * of them could not be compared. Refused when the route is loaded, naming both. */
static bool same_dimensions(const struct hvb_routed *r, hvb_error *err) {
  size_t first = 0;
  int64_t dim = 0;
  for (size_t i = 0; i < r->def->ntargets; i++) {
    int64_t d = known_dimension(r->route.targets[i].spec);
    if (!d) continue;
    if (!dim) {
      dim = d, first = i;
    } else if (d != dim) {
      return hvb__fail(err, HVB_CONFIG,
                       "route '%s': targets[%zu] (%s) gives embeddings of %lld dimensions and "
                       "targets[%zu] (%s) of %lld: vectors of one route must be comparable",
                       r->def->name, first, r->def->labels[first], (long long)dim, i,
                       r->def->labels[i], (long long)d);
    }
  }
  return true;
}

/* The reply headers target i's rate limits are stated in: its gateway's catalog entry's
 * "rate_limit_headers" when it has one (a gateway may restate them), else its provider's.
 * Read once, here, so a call only compares names. */
static bool target_limit_headers(const hvb_config *cfg, struct hvb_routed *r, size_t i,
                                 hvb_error *err) {
  const hvb_spec *spec = r->route.targets[i].spec;
  json_object *catalog = hvb__config_catalog(cfg);
  const char *owner = "gateway", *name = hvb_spec_gateway(spec);
  json_object *entry = json_object_object_get(json_object_object_get(catalog, "gateways"), name);
  json_object *decl = json_object_object_get(entry, "rate_limit_headers");
  if (!decl) {
    owner = "provider", name = hvb_spec_provider(spec);
    entry = json_object_object_get(json_object_object_get(catalog, "providers"), name);
    decl = json_object_object_get(entry, "rate_limit_headers");
  }
  if (!decl) return true;
  char *what = g_strdup_printf("%s '%s'", owner, name ? name : "");
  char **names = &r->limit_headers[i * HVB_RLH_COUNT];
  bool ok = hvb__ratelimit_headers_read(decl, what, names, err);
  g_free(what);
  bool any = false;
  for (int k = 0; k < HVB_RLH_COUNT; k++) any = any || names[k];
  if (any) r->route.targets[i].limit_headers = (const char *const *)names;
  return ok;
}

static struct hvb_routed *routed_new_named(const hvb_config *cfg, const char *name,
                                          json_object *options, hvb_error *err) {
  hvb_route_def *def = hvb__route_def_load(cfg, name, err);
  if (!def) return NULL;
  struct hvb_routed *r = g_new0(struct hvb_routed, 1);
  r->def = def;
  r->route.def = def;
  r->route.targets = g_new0(hvb_route_target, def->ntargets);
  r->route.stats = hvb__route_stats_new(def->ntargets);
  r->llms = g_new0(hvb_llm *, def->ntargets);
  r->keys = g_new0(char *, def->ntargets + 1);
  r->limit_headers = g_new0(char *, def->ntargets * HVB_RLH_COUNT);
  for (size_t i = 0; i < def->ntargets; i++) {
    json_object *topts = hvb__route_target_options(def, i, options);
    r->llms[i] = hvb_llm_new_with_config(cfg, topts, err);
    json_object_put(topts);
    if (!r->llms[i]) {
      hvb__error_prefix(err, "route '%s': targets[%zu] (%s)", def->name, i, def->labels[i]);
      if (err) err->status = HVB_CONFIG;
      hvb__routed_free(r);
      return NULL;
    }
    hvb_route_target *t = &r->route.targets[i];
    t->label = def->labels[i];
    t->spec = hvb__llm_spec(r->llms[i]);
    t->gw = hvb__llm_gateway(r->llms[i]);
    t->client = hvb__llm_client(r->llms[i]);
    /* client_key is a digest (the key never in clear): it and the model id name the target
     * whoever routes to it. */
    r->keys[i] = g_strconcat(hvb_spec_client_key(t->spec), ":", hvb_spec_model_id(t->spec), NULL);
    t->breaker_key = r->keys[i];
    if (!target_limit_headers(cfg, r, i, err)) {
      hvb__error_prefix(err, "route '%s': targets[%zu] (%s)", def->name, i, def->labels[i]);
      hvb__routed_free(r);
      return NULL;
    }
  }
  if (!same_dimensions(r, err)) {
    hvb__routed_free(r);
    return NULL;
  }
  return r;
}

const hvb_route *hvb__routed_route(const struct hvb_routed *r) {
  return &r->route;
}

bool hvb__routed_supports(const struct hvb_routed *r, hvb_gateway_op op, hvb_error *err) {
  hvb_error first = HVB_ERROR_INIT;
  for (size_t i = 0; i < r->def->ntargets; i++) {
    hvb_error e = HVB_ERROR_INIT;
    if (hvb_llm_supports(r->llms[i], op, &e)) return true;
    if (!i) first = e;
  }
  if (err) *err = first;
  return false;
}

/* ---- embeddings and images: the route walked around a whole call of each target ---- */

static void *routed_run(struct hvb_routed *r, json_object *call_options,
                        void *(*fn)(hvb_llm *target, void *args, hvb_error *err), void *args,
                        hvb_error *err) {
  hvb_route_call *rc = hvb__route_call_new(&r->route, call_options,
                                           hvb__log_enabled(HVB_LOG_INFO));
  hvb__route_call_set_may_wait(rc, true); /* a sync call: it owns its thread */
  hvb_error e = HVB_ERROR_INIT;
  void *out = NULL;
  const hvb_route_target *t;
  while (!out && (t = hvb__route_call_next(rc, &e))) {
    hvb_error te = HVB_ERROR_INIT;
    out = fn(r->llms[t - r->route.targets], args, &te);
    if (out) {
      hvb__route_call_answered(rc);
    } else {
      e = te;
      if (!hvb__route_call_failed(rc, &te)) break;
    }
  }
  hvb__route_call_free(rc);
  if (!out && err) *err = e;
  return out;
}

typedef struct routed_embed {
  const char *const *texts;
  size_t n;
  json_object *options;
  hvb_embed_progress_fn progress;
  void *user_data;
} routed_embed;

static void *embed_target(hvb_llm *target, void *args, hvb_error *err) {
  routed_embed *a = args;
  return hvb_llm_embed_progress(target, a->texts, a->n, a->options, a->progress, a->user_data,
                                err);
}

hvb_embeddings *hvb__routed_embed(struct hvb_routed *r, const char *const *texts, size_t n,
                                  json_object *call_options, hvb_embed_progress_fn progress,
                                  void *user_data, hvb_error *err) {
  routed_embed a = {texts, n, call_options, progress, user_data};
  return routed_run(r, call_options, embed_target, &a, err);
}

typedef struct routed_imagen {
  const char *prompt;
  hvb_image *const *refs;
  size_t nrefs;
  json_object *options;
} routed_imagen;

static void *imagen_target(hvb_llm *target, void *args, hvb_error *err) {
  routed_imagen *a = args;
  return hvb_llm_imagen(target, a->prompt, a->refs, a->nrefs, a->options, err);
}

hvb_images *hvb__routed_imagen(struct hvb_routed *r, const char *prompt, hvb_image *const *refs,
                               size_t nrefs, json_object *options, hvb_error *err) {
  routed_imagen a = {prompt, refs, nrefs, options};
  return routed_run(r, options, imagen_target, &a, err);
}

/* ---- hvb_route_status ---- */

static json_object *route_status(const hvb_config *cfg, const char *name, hvb_error *err) {
  struct hvb_routed *r = routed_new_named(cfg, name, NULL, err);
  if (!r) return NULL;
  json_object *o = hvb__route_def_view(r->def);
  json_object *targets = json_object_object_get(o, "targets");
  for (size_t i = 0; i < r->def->ntargets; i++) {
    json_object *t = json_object_array_get_idx(targets, i);
    json_object_object_add(t, "model_id", json_object_new_string(hvb_spec_model_id(r->route.targets[i].spec)));
    /* A cache backend that shares breakers shows the fleet's state. */
    hvb_breaker_store shared;
    bool fleet = hvb__breaker_shared_store(hvb__llm_cache(r->llms[i]), &shared);
    json_object *b = r->def->breaker.enabled
                         ? hvb__breaker_status(fleet ? &shared : NULL, &r->def->breaker, r->keys[i])
                         : NULL;
    if (b) json_object_object_add(b, "shared", json_object_new_boolean(fleet));
    json_object_object_add(t, "breaker", b);
  }
  hvb__routed_free(r);
  return o;
}

HVB_PUBLIC json_object *hvb_route_status(const hvb_config *cfg, const char *name,
                                         hvb_error *err) {
  hvb_config *own = NULL;
  if (!cfg && !(cfg = own = hvb_config_load(err))) return NULL;
  json_object *out = NULL;
  if (name) {
    out = route_status(cfg, name, err);
  } else {
    out = json_object_new_array();
    json_object_object_foreach(json_object_object_get(hvb__config_catalog(cfg), "routes"), key,
                               val) {
      (void)val;
      hvb_error e = HVB_ERROR_INIT;
      json_object *one = route_status(cfg, key, &e);
      if (!one) { /* one broken route does not hide the others */
        one = json_object_new_object();
        json_object_object_add(one, "name", json_object_new_string(key));
        json_object_object_add(one, "error", json_object_new_string(e.message));
      }
      json_object_array_add(out, one);
    }
  }
  hvb_config_free(own);
  return out;
}
