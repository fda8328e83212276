/* core/api/route-llm.c: a routed LLM's targets. Each target of the route is an LLM of its
 * own (its spec, gateway, connection pool), made once with the LLM, so a routed call costs
 * no resolution; the call walks them (core/api/chat.c, core/call/route.c). A target that
 * cannot be made refuses the whole route, with the reason, when the LLM is made.
 */
#include "api/handle.h"
#include "config/route.h"
#include "base/error.h"

#include <glib.h>

struct hvb_routed {
  hvb_route_def *def;
  hvb_route route;
  hvb_llm **llms; /* def->ntargets */
};

void hvb__routed_free(struct hvb_routed *r) {
  if (!r) return;
  for (size_t i = 0; r->def && i < r->def->ntargets; i++) hvb_llm_free(r->llms[i]);
  g_free(r->llms);
  g_free(r->route.targets);
  hvb__route_def_free(r->def);
  g_free(r);
}

struct hvb_routed *hvb__routed_new(const hvb_config *cfg, json_object *options,
                                   hvb_error *err) {
  const char *name = hvb__route_named(cfg, options);
  if (!name) {
    hvb__fail(err, HVB_CONFIG, "the options name no route");
    return NULL;
  }
  hvb_route_def *def = hvb__route_def_load(cfg, name, err);
  if (!def) return NULL;
  struct hvb_routed *r = g_new0(struct hvb_routed, 1);
  r->def = def;
  r->route.def = def;
  r->route.targets = g_new0(hvb_route_target, def->ntargets);
  r->llms = g_new0(hvb_llm *, def->ntargets);
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
