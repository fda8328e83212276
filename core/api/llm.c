/* core/api/llm.c: hvb_llm, the handle of a configured model, and the public chat entry points.
 *
 * What a call is made of lives below: the request (core/call/request.c), the accumulator
 * (core/call/accum.c), results (core/call/result.c); one exchange's state machine is
 * core/api/chat.c, JSON operations core/api/json-call.c, async kinds core/api/async.c.
 */
#include "api/handle.h"
#include "api/chat.h"
#include "api/embed.h"
#include "api/tools.h"
#include "call/stage-repair.h"
#include "call/telemetry.h"
#include "cache/store.h"
#include "cache/ledger.h"
#include "call/stage-budget.h"
#include "gateway/gateway.h"
#include "net/transport.h"
#include "base/common.h"
#include "base/log.h"
#include "base/error.h"

#include <glib.h>
#include <string.h>

/* ============================================================================================
 * LLM objects
 * ========================================================================================== */

struct hvb_llm {
  gint refs; /* the caller's + one per async call that needs the LLM after it started */
  hvb_repair_config repair; /* heavenbase.llm.tool_call_repair + option "tool_call_repair" */
  int max_steps;            /* heavenbase.llm.max_steps + option "max_steps" */
  hvb_spec *spec;
  const hvb_gateway_record *gw; /* the registry's: lives as long as the process */
  hvb_client *client;           /* NULL for an offline gateway */
  hvb_cache *cache;             /* the response cache's settings (store opened lazily) */
  hvb_usage_cfg *usage;         /* the usage ledger and budgets */
  hvb_embed_limits embed;
  struct hvb_routed *routed; /* a routed preset's targets (core/api/route-llm.c), else NULL */
  hvb_telemetry *telemetry; /* observer, OTLP export, trace context (call/telemetry.h) */
};

hvb_telemetry *hvb__llm_telemetry(const hvb_llm *llm) {
  return llm->telemetry;
}

HVB_PUBLIC void hvb_llm_set_observer(hvb_llm *llm, hvb_observer_fn fn, void *user_data) {
  if (llm) hvb__telemetry_set_observer(llm->telemetry, fn, user_data);
}

hvb_cache *hvb__llm_cache(const hvb_llm *llm) {
  return llm->cache;
}

const hvb_embed_limits *hvb__llm_embed_limits(const hvb_llm *llm) {
  return &llm->embed;
}

hvb_client *hvb__llm_client(const hvb_llm *llm) {
  return llm->client;
}

hvb_spec *hvb__llm_spec(const hvb_llm *llm) {
  return llm->spec;
}

/* The LLM's cache handle: heavenbase.llm.cache merged with the "cache" option. */
static hvb_cache *llm_cache_new(const hvb_config *cfg, json_object *options, hvb_error *err) {
  json_object *base = hvb__cache_settings_from_config(cfg);
  json_object *over = json_object_is_type(options, json_type_object)
                          ? json_object_object_get(options, "cache")
                          : NULL;
  json_object *merged = hvb__cache_settings_merge(base, over, "option 'cache'", err);
  json_object_put(base);
  if (!merged) return NULL;
  hvb_cache *c = hvb__cache_new(merged, over ? "option 'cache'" : "heavenbase.llm.cache", err);
  json_object_put(merged);
  return c;
}

static hvb_llm *llm_new_plain(const hvb_config *cfg, json_object *options, hvb_error *err) {
  /* Load the configuration once for the spec, the cache settings and the embedding limits. */
  hvb_config *own = NULL;
  if (!cfg && !(cfg = own = hvb_config_load(err))) return NULL;
  hvb_spec *spec = hvb_spec_resolve(cfg, options, err);
  hvb_cache *cache = spec ? llm_cache_new(cfg, options, err) : NULL;
  hvb_embed_limits limits = {0};
  hvb_repair_config repair = HVB_REPAIR_CONFIG_INIT;
  int max_steps = HVB_TOOLS_DEFAULT_MAX_STEPS;
  if (cache && (!hvb__embed_limits_init(cfg, spec, options, &limits, err) ||
                !hvb__tools_settings(cfg, options, &repair, &max_steps, err) ||
                !hvb__budgets_check(hvb_config_get(cfg, "heavenbase.llm.budgets"), err)))
    g_clear_pointer(&cache, hvb__cache_unref);
  hvb_telemetry *telemetry = cache ? hvb__telemetry_new(cfg, err) : NULL;
  if (!telemetry) g_clear_pointer(&cache, hvb__cache_unref);
  hvb_usage_cfg *usage = cache ? hvb__usage_cfg_new(cfg) : NULL;
  hvb_config_free(own);
  if (!cache) {
    hvb_spec_unref(spec);
    return NULL;
  }
  /* Resolution chose a usable gateway (or fell back); the lookup only fails if the registry
   * was reset in between, which only tests do. */
  char *why = NULL;
  const hvb_gateway_record *gw = hvb__registry_find(hvb_spec_gateway(spec), &why);
  if (!gw) {
    hvb__fail(err, HVB_GATEWAY, "gateway '%s' is not available: %s", hvb_spec_gateway(spec),
              why);
    g_free(why);
    hvb_spec_unref(spec);
    hvb__cache_unref(cache);
    hvb__usage_cfg_unref(usage);
    hvb__telemetry_unref(telemetry);
    return NULL;
  }
  /* The spec may have read the key from the environment: make sure no message shows it. */
  hvb__secret_register(hvb_spec_api_key(spec));
  hvb_llm *llm = g_new0(hvb_llm, 1);
  llm->refs = 1;
  llm->repair = repair;
  llm->max_steps = max_steps;
  llm->spec = spec;
  llm->gw = gw;
  llm->cache = cache;
  llm->usage = usage;
  llm->embed = limits;
  llm->telemetry = telemetry;
  if (!hvb__gateway_offline(gw)) llm->client = hvb__client_get(hvb_spec_client_key(spec));
  return llm;
}

/* A routed preset is an LLM of its first target (its spec says so, with the route attached)
 * that also holds every target's LLM. */
HVB_PUBLIC hvb_llm *hvb_llm_new_with_config(const hvb_config *cfg, json_object *options,
                                            hvb_error *err) {
  hvb__atfork_install();
  hvb_config *own = NULL;
  if (!cfg && !(cfg = own = hvb_config_load(err))) return NULL;
  hvb_llm *llm = llm_new_plain(cfg, options, err);
  if (llm && hvb_spec_route(llm->spec) && !(llm->routed = hvb__routed_new(cfg, options, err)))
    g_clear_pointer(&llm, hvb_llm_free);
  hvb_config_free(own);
  return llm;
}

struct hvb_routed *hvb__llm_routed(const hvb_llm *llm) {
  return llm ? llm->routed : NULL;
}

const hvb_route *hvb__llm_route(const hvb_llm *llm) {
  return llm->routed ? hvb__routed_route(llm->routed) : NULL;
}

HVB_PUBLIC bool hvb_llm_supports(const hvb_llm *llm, hvb_gateway_op op, hvb_error *err) {
  if (!llm) return hvb__fail(err, HVB_EINVAL, "llm is NULL");
  if (llm->routed) return hvb__routed_supports(llm->routed, op, err);
  return hvb__gateway_supports(llm->gw, llm->spec, op, err);
}

bool hvb__gateway_supports(const hvb_gateway_record *gw, const hvb_spec *spec,
                           hvb_gateway_op op, hvb_error *err) {
  uint32_t cap = hvb__gateway_op_cap(op);
  if (!cap) return hvb__fail(err, HVB_EINVAL, "unknown gateway operation %d", (int)op);
  /* The gateway's own answer first: it knows the better message ("use an embedding provider
   * such as ..."); the capabilities then catch what it did not refuse. */
  if (gw->ops.supports) {
    hvb_error e = HVB_ERROR_INIT;
    if (!gw->ops.supports(spec, op, &e)) {
      /* A plugin that forgot the message or the status still gets a useful error. */
      if (!e.message[0])
        hvb__fail(&e, HVB_UNSUPPORTED, "gateway '%s' does not support %s for provider '%s'",
                  gw->name, hvb__gateway_op_phrase(op), hvb_spec_provider(spec));
      if (e.status == HVB_OK) e.status = HVB_UNSUPPORTED;
      if (err) *err = e;
      return false;
    }
  }
  if (!(gw->ops.caps & cap))
    return hvb__fail(err, HVB_UNSUPPORTED, "gateway '%s' does not support %s", gw->name,
                     hvb__gateway_op_phrase(op));
  return true;
}

const hvb_gateway_record *hvb__llm_gateway(const hvb_llm *llm) {
  return llm ? llm->gw : NULL;
}

int hvb__llm_max_steps(const hvb_llm *llm) {
  return llm->max_steps;
}

bool hvb__llm_call_repair(const hvb_llm *llm, json_object *call_options, hvb_repair_config *out,
                          hvb_error *err) {
  return hvb__repair_settings_for_call(&llm->repair, call_options, out, err);
}

void hvb__llm_exchange_init(const hvb_llm *llm, hvb_exchange *x, hvb_gateway_op op) {
  x->op = op;
  x->spec = hvb_spec_ref(llm->spec);
  x->gw = llm->gw;
  x->client = llm->client;
  x->llm_cache = llm->cache;
  x->llm_repair = llm->repair;
  x->usage = hvb__usage_cfg_ref(llm->usage);
  x->telemetry = hvb__telemetry_ref(llm->telemetry);
}

HVB_PUBLIC hvb_llm *hvb_llm_new(json_object *options, hvb_error *err) {
  return hvb_llm_new_with_config(NULL, options, err);
}

HVB_PUBLIC hvb_llm *hvb_llm_new_preset(const char *preset, hvb_error *err) {
  if (!preset) {
    hvb__fail(err, HVB_EINVAL, "preset is NULL");
    return NULL;
  }
  json_object *opts = json_object_new_object();
  json_object_object_add(opts, "preset", json_object_new_string(preset));
  hvb_llm *llm = hvb_llm_new(opts, err);
  json_object_put(opts);
  return llm;
}

hvb_llm *hvb__llm_ref(hvb_llm *llm) {
  g_atomic_int_inc(&llm->refs);
  return llm;
}

HVB_PUBLIC void hvb_llm_free(hvb_llm *llm) {
  if (!llm || !g_atomic_int_dec_and_test(&llm->refs)) return;
  hvb__routed_free(llm->routed);
  hvb__client_unref(llm->client);
  hvb__cache_unref(llm->cache);
  hvb__usage_cfg_unref(llm->usage);
  hvb_spec_unref(llm->spec);
  hvb__telemetry_unref(llm->telemetry);
  g_free(llm);
}

HVB_PUBLIC const hvb_spec *hvb_llm_spec(const hvb_llm *llm) {
  return llm ? llm->spec : NULL;
}


/* ---- chat entry points ---- */

HVB_PUBLIC hvb_result *hvb_llm_chat(hvb_llm *llm, const char *prompt, json_object *messages,
                                    json_object *call_options, hvb_error *err) {
  if (!prompt == !messages) {
    hvb__fail(err, HVB_EINVAL, "give exactly one of prompt and messages");
    return NULL;
  }
  return hvb__llm_chat_ex(llm, prompt, messages, call_options, false, err);
}

HVB_PUBLIC hvb_stream *hvb_llm_stream(hvb_llm *llm, const char *prompt, json_object *messages,
                                      json_object *call_options, hvb_error *err) {
  if (!prompt == !messages) {
    hvb__fail(err, HVB_EINVAL, "give exactly one of prompt and messages");
    return NULL;
  }
  return hvb__chat_stream(llm, prompt, messages, call_options, err);
}

