/* core/api/handle.h: what the other modules of the core need of an hvb_llm (core/api/llm.c).
 *
 * An LLM is immutable once made (its spec, gateway, client pool, cache settings, limits), so
 * these getters are thread-safe; the references they give are borrowed for the LLM's life.
 */
#ifndef HVB_API_HANDLE_H
#define HVB_API_HANDLE_H

#include <stdbool.h>
#include <json-c/json.h>
#include <heavenbase/error.h>
#include <heavenbase/gateway.h>
#include <heavenbase/llm.h>
#include <heavenbase/embed.h>
#include <heavenbase/image.h>
#include <heavenbase/repair.h>
#include "gateway/gateway.h"
#include "net/transport.h"
#include "api/embed.h"
#include "call/pipeline.h"
#include "call/route.h"

struct hvb_cache;
/* The LLM's response cache handle and embedding limits, borrowed from it. */
struct hvb_cache *hvb__llm_cache(const hvb_llm *llm);
const hvb_embed_limits *hvb__llm_embed_limits(const hvb_llm *llm);

/* The LLM's spec, borrowed (take a reference to keep it beyond the LLM). */
hvb_spec *hvb__llm_spec(const hvb_llm *llm);

/* The LLM's connection pool; NULL for an offline gateway. */
hvb_client *hvb__llm_client(const hvb_llm *llm);

/* The registry record of the LLM's gateway (lives as long as the process); NULL for NULL. */
const hvb_gateway_record *hvb__llm_gateway(const hvb_llm *llm);


/* Start `x` (zeroed) as a call of `op` on the LLM: its spec (a reference), gateway, client,
 * cache and repair settings. The exchange may outlive the LLM. */
void hvb__llm_exchange_init(const hvb_llm *llm, hvb_exchange *x, hvb_gateway_op op);

/* ---- routes (core/api/route-llm.c) ---- */

/* A routed LLM's targets: the route `options` name (hvb__route_named), loaded from cfg, each
 * target an LLM of its own. NULL with err (HVB_CONFIG naming the route and target) when the
 * route or a target cannot be made. */
struct hvb_routed *hvb__routed_new(const hvb_config *cfg, json_object *options,
                                   hvb_error *err);
void hvb__routed_free(struct hvb_routed *r); /* NULL is a no-op */
const hvb_route *hvb__routed_route(const struct hvb_routed *r);
/* Whether some target supports `op`; else the first target's refusal. */
bool hvb__routed_supports(const struct hvb_routed *r, hvb_gateway_op op, hvb_error *err);
/* The LLM's routed targets, or NULL for an unrouted LLM. */
struct hvb_routed *hvb__llm_routed(const hvb_llm *llm);
/* Embeddings and images on a routed LLM: the whole call (hvb_llm_embed_progress,
 * hvb_llm_imagen) on each target in the route's order, with its breaker and rate limits, as
 * a sync chat walks them, until one gives a result or a failure does not fall through, or no
 * target is left (NULL with err: the last failure, or why none could be tried). Each target
 * is its own unrouted LLM: its own retries and timeouts apply. */
hvb_embeddings *hvb__routed_embed(struct hvb_routed *r, const char *const *texts, size_t n,
                                  json_object *call_options, hvb_embed_progress_fn progress,
                                  void *user_data, hvb_error *err);
hvb_images *hvb__routed_imagen(struct hvb_routed *r, const char *prompt, hvb_image *const *refs,
                               size_t nrefs, json_object *options, hvb_error *err);

/* The LLM's route (borrowed for the LLM's life), NULL for an LLM that is not routed. */
const hvb_route *hvb__llm_route(const hvb_llm *llm);

/* Whether gateway `gw` supports `op` for `spec` (hvb_llm_supports of one target). */
bool hvb__gateway_supports(const hvb_gateway_record *gw, const hvb_spec *spec,
                           hvb_gateway_op op, hvb_error *err);
/* The LLM's telemetry (call/telemetry.h), borrowed. */
struct hvb_telemetry *hvb__llm_telemetry(const hvb_llm *llm);

/* The LLM's max_steps. */
int hvb__llm_max_steps(const hvb_llm *llm);

/* The repair settings of one call: the LLM's, with "enabled" replaced by the call option
 * "repair_tool_calls" when given (HVB_EINVAL unless it is a boolean). */
bool hvb__llm_call_repair(const hvb_llm *llm, json_object *call_options, hvb_repair_config *out,
                          hvb_error *err);

/* A reference to the LLM for an async call that runs several requests (tool loops, images,
 * embeddings): hvb_llm_free drops one, the last frees it. */
hvb_llm *hvb__llm_ref(hvb_llm *llm);

/* Register the fork() handlers once. A constructor does it when the library is loaded;
 * hvb_llm_new calls it too, so that a program linking the core statically (the unit tests)
 * pulls the handlers in with the first LLM it makes. */
void hvb__atfork_install(void);

#endif
