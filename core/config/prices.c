/* core/config/prices.c: prices from the catalog (see prices.h). */
#include "config/prices.h"

#include <string.h>

/* A price is a finite number >= 0; anything else is no price (the catalog check leaves
 * drop-in files as they are, so a typo must not become a free model). */
static bool price_member(json_object *o, const char *key, double *out) {
  json_object *v = json_object_object_get(o, key);
  if (!v || !(json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int)))
    return false;
  double d = json_object_get_double(v);
  if (!(d >= 0 && d < 1e9)) return false;
  *out = d;
  return true;
}

hvb_price hvb__price_find(json_object *model_info, const char *provider) {
  hvb_price p = {0};
  json_object *prices = json_object_object_get(model_info, "prices");
  json_object *e = provider ? json_object_object_get(prices, provider) : NULL;
  if (!json_object_is_type(e, json_type_object)) return p;
  p.entry = e;
  /* A token price needs both directions; an embedding model lists input only. */
  if (price_member(e, "input", &p.input)) {
    p.known = true;
    if (!price_member(e, "output", &p.output)) p.output = 0;
    if (!price_member(e, "cached_input", &p.cached_input)) p.cached_input = p.input;
  }
  return p;
}

double hvb__price_tokens(const hvb_price *p, long long input, long long cached, long long output) {
  if (cached > input) cached = input;
  if (cached < 0) cached = 0;
  return ((double)(input - cached) * p->input + (double)cached * p->cached_input +
          (double)output * p->output) / 1e6;
}

bool hvb__price_image(const hvb_price *p, const char *size, const char *quality, double *usd) {
  json_object *sizes = json_object_object_get(p->entry, "image");
  json_object *q = size ? json_object_object_get(sizes, size) : NULL;
  if (!json_object_is_type(q, json_type_object)) return false;
  if (quality && *quality && strcmp(quality, "auto") != 0) return price_member(q, quality, usd);
  if (price_member(q, "medium", usd)) return true;
  if (json_object_object_length(q) != 1) return false;
  json_object_object_foreach(q, k, v) {
    (void)v;
    return price_member(q, k, usd);
  }
  return false;
}

static long long usage_int(json_object *usage, const char *key) {
  json_object *v = json_object_object_get(usage, key);
  return json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : -1;
}

bool hvb__price_answer(const hvb_price *p, bool embedding, json_object *request,
                       json_object *response, long long *tokens_in, long long *tokens_out,
                       double *usd) {
  json_object *usage = json_object_object_get(response, "usage");
  long long in = usage_int(usage, "prompt_tokens");
  if (in < 0) in = usage_int(usage, embedding ? "total_tokens" : "input_tokens");
  long long out = embedding ? 0 : usage_int(usage, "output_tokens");
  *tokens_in = in > 0 ? in : 0;
  *tokens_out = out > 0 ? out : 0;
  *usd = 0;
  if (embedding) {
    /* No usage reported: the tokens are not known, and so neither is the cost. */
    if (!p->known || in < 0) return false;
    *usd = hvb__price_tokens(p, in, 0, 0);
    return true;
  }
  json_object *data = json_object_object_get(response, "data");
  json_object *size = json_object_object_get(request, "size");
  json_object *quality = json_object_object_get(request, "quality");
  double each = 0;
  if (!json_object_is_type(data, json_type_array) ||
      !hvb__price_image(p, json_object_get_string(size),
                        quality ? json_object_get_string(quality) : NULL, &each))
    return false;
  *usd = each * (double)json_object_array_length(data);
  return true;
}
