/* core/api/embed-result.c: the embeddings result (hvb_embeddings) and its accessors; the
 * pipeline that makes one is core/api/embed.c. */
#include "api/embed.h"
#include "text/json.h"
#include "api/answer-cost.h"
#include "base/common.h"
#include "base/error.h"
#include <heavenbase/embed.h>
#include <glib.h>
#include <string.h>

HVB_PUBLIC size_t hvb_embeddings_count(const hvb_embeddings *e) { return e ? e->count : 0; }
HVB_PUBLIC size_t hvb_embeddings_dim(const hvb_embeddings *e) { return e ? e->dim : 0; }
HVB_PUBLIC const float *hvb_embeddings_at(const hvb_embeddings *e, size_t i) {
  return e && i < e->count ? e->data + i * e->dim : NULL;
}
HVB_PUBLIC json_object *hvb_embeddings_usage(const hvb_embeddings *e) { return e ? e->usage : NULL; }
HVB_PUBLIC json_object *hvb_embeddings_raw(const hvb_embeddings *e) { return e ? e->raw : NULL; }
HVB_PUBLIC size_t hvb_embeddings_cached(const hvb_embeddings *e) { return e ? e->cached : 0; }
HVB_PUBLIC size_t hvb_embeddings_requests(const hvb_embeddings *e) { return e ? e->requests : 0; }
HVB_PUBLIC double hvb_embeddings_elapsed(const hvb_embeddings *e) { return e ? e->elapsed : 0.0; }
HVB_PUBLIC bool hvb_embeddings_cost(const hvb_embeddings *e, hvb_cost *out) {
  return hvb__cost_copy(e ? &e->cost : NULL, out);
}

HVB_PUBLIC void hvb_embeddings_free(hvb_embeddings *e) {
  if (!e) return;
  g_free(e->data);
  json_object_put(e->usage);
  json_object_put(e->raw);
  g_free(e);
}

static const char *const embed_fields[] = {"embeddings", "usage", "raw", "elapsed", "dim",
                                           "cached", "requests", "cost", NULL};

/* A vector as a JSON array; floats print in their shortest round-trip form. */
static json_object *vector_json(const float *v, size_t dim) {
  json_object *a = json_object_new_array_ext((int)dim);
  for (size_t j = 0; j < dim; j++) json_object_array_add(a, json_object_new_double(v[j]));
  return a;
}

static json_object *embed_field(const void *obj, const char *f) {
  const hvb_embeddings *e = obj;
  if (!strcmp(f, "embeddings")) {
    json_object *all = json_object_new_array_ext((int)e->count);
    for (size_t i = 0; i < e->count; i++)
      json_object_array_add(all, vector_json(e->data + i * e->dim, e->dim));
    return all;
  }
  if (!strcmp(f, "usage")) return json_object_get(e->usage);
  if (!strcmp(f, "raw")) return json_object_get(e->raw);
  if (!strcmp(f, "elapsed")) return json_object_new_double(e->elapsed);
  if (!strcmp(f, "dim")) return json_object_new_int64((int64_t)e->dim);
  if (!strcmp(f, "cached")) return json_object_new_int64((int64_t)e->cached);
  if (!strcmp(f, "cost")) return hvb__cost_json(&e->cost);
  return json_object_new_int64((int64_t)e->requests);
}

HVB_PUBLIC json_object *hvb_embeddings_project(const hvb_embeddings *e, const char *include,
                                               bool *ok, hvb_error *err) {
  if (ok) *ok = false;
  if (!e) {
    hvb__fail(err, HVB_EINVAL, "embeddings result is NULL");
    return NULL;
  }
  return hvb__project(include, embed_fields, "embeddings", embed_field, e, ok, err);
}
