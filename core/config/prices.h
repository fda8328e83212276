/* core/config/prices.h: what a model costs, from the catalog (core/config/prices.c).
 *
 * Prices are catalog data: a model's "prices" object has one entry per provider,
 *   "prices": {"openai": {"input": 1.25, "output": 10, "cached_input": 0.125,
 *                         "prices_read": "2025-08"}}
 * in USD per million tokens ("input" is also the price of an embedding token), and for image
 * models "image": {"1024x1024": {"low": 0.011, "medium": 0.042, "high": 0.167}} in USD per
 * image. A drop-in catalog file overrides them like any catalog member (negotiated prices).
 * A model or provider without an entry has no price: its cost is unknown, never zero.
 * Thread-safe: the functions read the JSON they are given.
 */
#ifndef HVB_CONFIG_PRICES_H
#define HVB_CONFIG_PRICES_H

#include <stdbool.h>
#include <json-c/json.h>

typedef struct hvb_price {
  bool known;          /* the token prices below are set */
  double input;        /* USD per million input (and embedding) tokens */
  double output;       /* USD per million output tokens */
  double cached_input; /* USD per million cached input tokens (= input when not given) */
  json_object *entry;  /* the provider's price entry, borrowed from model_info (or NULL) */
} hvb_price;

/* The token prices of `provider` in `model_info` (a model's catalog object, may be NULL). */
hvb_price hvb__price_find(json_object *model_info, const char *provider);

/* USD for a call's tokens; `cached` of the input tokens were cached input. */
double hvb__price_tokens(const hvb_price *p, long long input, long long cached, long long output);

/* USD for one image of `size` ("1024x1024") and `quality` ("low"...; NULL or "auto": the
 * entry's "medium", else its only one); false when no such price is listed. */
bool hvb__price_image(const hvb_price *p, const char *size, const char *quality, double *usd);

/* What a JSON operation's answer cost, from the canonical request and response (borrowed,
 * either may be NULL): embeddings, the response's usage.prompt_tokens (else total_tokens) at
 * the input price; images, each image of the response's "data" at the price of the request's
 * "size" and "quality". `embedding` says which. Sets *tokens_in, *tokens_out (as the
 * response's usage reports them) and *usd; false when no price applies (*usd is then 0). */
bool hvb__price_answer(const hvb_price *p, bool embedding, json_object *request,
                       json_object *response, long long *tokens_in, long long *tokens_out,
                       double *usd);

#endif
