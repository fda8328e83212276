/* core/cache/policy.c: which requests the cache may answer, and their keys (see store.h). */
#include "cache/store.h"
#include "text/hash.h"
#include "text/json.h"

#include <glib.h>

/* Member `key`, NULL when absent or JSON null (an argument set to null is unset). */
static json_object *arg(json_object *req, const char *key) {
  json_object *v = NULL;
  if (!json_object_object_get_ex(req, key, &v) || json_object_is_type(v, json_type_null))
    return NULL;
  return v;
}

bool hvb__cache_policy_allows(hvb_cache_ns ns, json_object *request, bool runs_tools) {
  if (ns == HVB_NS_EMBEDDING) return true;
  bool seeded = arg(request, "seed") != NULL;
  if (ns == HVB_NS_IMAGE) return seeded;
  if (runs_tools) return false;
  json_object *t = arg(request, "temperature");
  bool fixed = t ? hvb__json_is_number(t) && json_object_get_double(t) == 0.0 : seeded;
  json_object *top_p = arg(request, "top_p");
  bool top_p_default =
      !top_p || (hvb__json_is_number(top_p) && json_object_get_double(top_p) == 1.0);
  return fixed && top_p_default && arg(request, "top_k") == NULL;
}

/* Request members that do not change the answer: how it travels, how long we wait, and what
 * must never be stored. */
static const char *const transport_fields[] = {
    "stream", "stream_options", "timeout", "connect_timeout", "idle_timeout", "max_retries",
    "api_key", "cache", NULL};

char *hvb__cache_key(hvb_cache_ns ns, const char *spec_hash, json_object *request) {
  /* The canonical text of {"namespace", "request" less transport_fields, "spec"} (keys in
   * their sorted order), written straight from the request: no filtered copy of it, and the
   * same key as hashing such an object (entries stored before stay reachable). */
  GString *text = g_string_sized_new(256);
  g_string_append(text, "{\"namespace\":");
  hvb__json_canonical_string_append(text, hvb__cache_ns_name(ns));
  g_string_append(text, ",\"request\":");
  if (json_object_is_type(request, json_type_object))
    hvb__json_canonical_append(text, request, transport_fields);
  else
    g_string_append(text, "{}");
  g_string_append(text, ",\"spec\":");
  hvb__json_canonical_string_append(text, spec_hash ? spec_hash : "");
  g_string_append_c(text, '}');
  char *hex = hvb__hash_text(text->str, text->len);
  g_string_free(text, TRUE);
  return hex;
}
