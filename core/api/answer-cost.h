/* core/api/answer-cost.h: what an embeddings or an images call cost, for its result
 * (core/api/answer-cost.c). The ledger's rows are priced by the account stage, per request,
 * with the same catalog prices (config/prices.h). */
#ifndef HVB_API_ANSWER_COST_H
#define HVB_API_ANSWER_COST_H

#include <stdbool.h>
#include <stddef.h>
#include <json-c/json.h>
#include <heavenbase/spec.h>
#include <heavenbase/usage.h>
#include "call/result.h" /* hvb__cost_json */

/* An embeddings call: its usage summed over the requests made (borrowed, may be NULL) at the
 * spec's input price. `requests` 0 means every text came from the cache (cached, nothing
 * spent; what it saved is not known, as cached vectors keep no token count). */
void hvb__embeddings_cost(const hvb_spec *spec, json_object *usage, size_t requests,
                          hvb_cost *out);

/* An images call: the canonical request and response (borrowed) at the spec's price per
 * image; `cached`: replayed from the cache (usd 0, saved_usd what it would have cost). */
void hvb__images_cost(const hvb_spec *spec, json_object *request, json_object *response,
                      bool cached, hvb_cost *out);

/* *out = *c (zeroed for NULL c); returns out->known, false for NULL out. */
bool hvb__cost_copy(const hvb_cost *c, hvb_cost *out);

#endif
