/* core/api/answer-cost.c: the cost of embeddings and images results (see answer-cost.h),
 * and their public getters (include/heavenbase/usage.h). */
#include "api/answer-cost.h"
#include "config/prices.h"
#include "base/common.h"

#include <string.h>

void hvb__embeddings_cost(const hvb_spec *spec, json_object *usage, size_t requests,
                          hvb_cost *out) {
  memset(out, 0, sizeof *out);
  hvb_price p = hvb__price_find(hvb_spec_model_info(spec), hvb_spec_provider(spec));
  out->cached = requests == 0;
  if (out->cached) {
    out->known = p.known;
    return;
  }
  json_object *response = json_object_new_object();
  if (usage) json_object_object_add(response, "usage", json_object_get(usage));
  long long unused = 0;
  out->known = hvb__price_answer(&p, true, NULL, response, &out->input_tokens, &unused,
                                 &out->usd);
  json_object_put(response);
}

void hvb__images_cost(const hvb_spec *spec, json_object *request, json_object *response,
                      bool cached, hvb_cost *out) {
  memset(out, 0, sizeof *out);
  hvb_price p = hvb__price_find(hvb_spec_model_info(spec), hvb_spec_provider(spec));
  double usd = 0;
  out->known = hvb__price_answer(&p, false, request, response, &out->input_tokens,
                                 &out->output_tokens, &usd);
  out->cached = cached;
  if (cached) out->saved_usd = usd;
  else out->usd = usd;
}

bool hvb__cost_copy(const hvb_cost *c, hvb_cost *out) {
  if (!out) return false;
  if (c) *out = *c;
  else memset(out, 0, sizeof *out);
  return out->known;
}
