/* core/config/shape.c: request shapes that are catalog data (see core/config/shape.h).
 *
 * What differs between providers and models in the requests the library sends lives in the
 * catalog, never in code that names them: a provider's "embedding" object and a model's
 * "rejects_args" and "reference_images". This file only reads that data.
 */
#include "config/shape.h"
#include "text/json.h"
#include "base/error.h"

#include <glib.h>
#include <string.h>

/* Fields of the canonical request (embed.h) that OpenAI's embeddings API lacks: sent only to
 * a provider whose "embedding.fields" names them. */
static const char *const extension_fields[] = {"input_type", NULL};

static bool all_names(json_object *v, bool array) {
  if (array ? !json_object_is_type(v, json_type_array) : !json_object_is_type(v, json_type_object))
    return false;
  if (array) {
    for (size_t i = 0, n = json_object_array_length(v); i < n; i++) {
      json_object *item = json_object_array_get_idx(v, i);
      if (!json_object_is_type(item, json_type_string) || !json_object_get_string_len(item))
        return false;
    }
    return true;
  }
  json_object_object_foreach(v, key, val) {
    (void)key;
    if (!json_object_is_type(val, json_type_string) || !json_object_get_string_len(val))
      return false;
  }
  return true;
}

/* A provider's "embedding" object: {"fields": {name: name}, "rejects": [names], "set": {}}. */
bool hvb__embedding_shape_check(json_object *shape, hvb_error *err) {
  if (!json_object_is_type(shape, json_type_object))
    return hvb__fail(err, HVB_CONFIG, "'embedding' must be an object, not %s",
                     hvb__json_type_phrase(shape));
  json_object *v = json_object_object_get(shape, "fields");
  if (v && !all_names(v, false))
    return hvb__fail(err, HVB_CONFIG, "'embedding.fields' must be an object of non-empty "
                     "strings (request field -> the provider's name for it)");
  v = json_object_object_get(shape, "rejects");
  if (v && !all_names(v, true))
    return hvb__fail(err, HVB_CONFIG, "'embedding.rejects' must be an array of non-empty strings");
  v = json_object_object_get(shape, "set");
  if (v && !json_object_is_type(v, json_type_object))
    return hvb__fail(err, HVB_CONFIG, "'embedding.set' must be an object, not %s",
                     hvb__json_type_phrase(v));
  return true;
}

/* Fields renamed or kept ("fields"), then dropped ("rejects"), then set ("set"): the order
 * the schema documents. */
void hvb__embedding_shape_apply(const char *shape_text, json_object *body) {
  json_object *shape = shape_text ? json_tokener_parse(shape_text) : NULL;
  json_object *fields = json_object_object_get(shape, "fields");
  json_object *rejects = json_object_object_get(shape, "rejects");
  json_object *set = json_object_object_get(shape, "set");
  for (const char *const *f = extension_fields; *f; f++)
    if (!json_object_object_get_ex(fields, *f, NULL)) json_object_object_del(body, *f);
  if (json_object_is_type(fields, json_type_object)) {
    json_object_object_foreach(fields, from, to_val) {
      const char *to = json_object_get_string(to_val);
      json_object *v = json_object_object_get(body, from);
      if (!v || !strcmp(from, to)) continue;
      json_object_object_add(body, to, json_object_get(v));
      json_object_object_del(body, from);
    }
  }
  for (size_t i = 0; json_object_is_type(rejects, json_type_array) &&
                     i < json_object_array_length(rejects);
       i++)
    json_object_object_del(body, json_object_get_string(json_object_array_get_idx(rejects, i)));
  if (json_object_is_type(set, json_type_object)) {
    json_object_object_foreach(set, key, val) {
      json_object_object_add(body, key, hvb__json_copy(val));
    }
  }
  json_object_put(shape);
}

/* The "rejects_args" array of a model entry, or NULL. */
static json_object *rejected_args(json_object *model_info) {
  json_object *r = json_object_object_get(model_info, "rejects_args");
  return json_object_is_type(r, json_type_array) ? r : NULL;
}

bool hvb__rejected_args_has(json_object *model_info, const char *arg) {
  json_object *rejects = rejected_args(model_info);
  for (size_t i = 0; rejects && i < json_object_array_length(rejects); i++) {
    const char *name = json_object_get_string(json_object_array_get_idx(rejects, i));
    if (name && !strcmp(name, arg)) return true;
  }
  return false;
}

void hvb__rejected_args_drop(json_object *model_info, json_object *req) {
  json_object *rejects = rejected_args(model_info);
  for (size_t i = 0; rejects && i < json_object_array_length(rejects); i++) {
    const char *name = json_object_get_string(json_object_array_get_idx(rejects, i));
    if (name) json_object_object_del(req, name);
  }
}

hvb_refs_route hvb__reference_images_route(json_object *model_info) {
  json_object *v = json_object_object_get(model_info, "reference_images");
  if (!v || json_object_is_type(v, json_type_null)) return HVB_REFS_NONE;
  const char *route = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";
  if (!strcmp(route, "edits")) return HVB_REFS_EDITS;
  if (!strcmp(route, "generations")) return HVB_REFS_GENERATIONS;
  return HVB_REFS_INVALID;
}
