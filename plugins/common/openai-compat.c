/* plugins/common/openai-compat.c: the shared part of the OpenAI-compatible gateway servers.
 * See openai-compat.h. No GLib here: plugins link json-c only. */
#include "openai-compat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const compat_provider *find_provider(const compat_gateway *gw, const char *provider) {
  for (const compat_provider *p = gw->providers; p && p->provider; p++)
    if (provider && strcmp(p->provider, provider) == 0) return p;
  return NULL;
}

const char *compat_slug(const compat_gateway *gw, const hvb_spec *spec) {
  const char *provider = hvb_spec_provider(spec);
  const compat_provider *p = find_provider(gw, provider);
  return p ? p->slug : provider ? provider : "";
}

bool compat_needs_host(const compat_gateway *gw, const hvb_spec *spec) {
  const compat_provider *p = find_provider(gw, hvb_spec_provider(spec));
  return p && p->needs_host;
}

char *compat_model_id(const compat_gateway *gw, const hvb_spec *spec, const char *id) {
  const char *slug = compat_slug(gw, spec);
  size_t n = strlen(slug);
  /* An id that already names the provider ("openai/gpt-5" for openai) is left alone; an
   * OpenRouter id names the vendor, not OpenRouter, so it gets the prefix like any other. */
  bool prefixed = n > 0 && strncmp(id, slug, n) == 0 && id[n] == '/';
  if (!gw->prefix_model || n == 0 || prefixed) return strdup(id);
  size_t len = n + 1 + strlen(id) + 1;
  char *out = malloc(len);
  if (out) snprintf(out, len, "%s/%s", slug, id);
  return out;
}

json_object *compat_option(const hvb_spec *spec, json_object *canonical, const char *name) {
  json_object *v = NULL;
  if (json_object_is_type(canonical, json_type_object) &&
      json_object_object_get_ex(canonical, name, &v) && v)
    return v;
  v = NULL;
  json_object_object_get_ex(hvb_spec_args(spec), name, &v);
  return v;
}

static const char *op_phrase(hvb_gateway_op op) {
  switch (op) {
  case HVB_GATEWAY_OP_CHAT: return "chat";
  case HVB_GATEWAY_OP_EMBED: return "embeddings";
  case HVB_GATEWAY_OP_IMAGE: return "image generation";
  }
  return "this operation";
}

bool compat_supports(const compat_gateway *gw, const hvb_spec *spec, hvb_gateway_op op,
                     hvb_error *err) {
  const char *slug = compat_slug(gw, spec);
  for (const compat_unsupported *u = gw->unsupported; u && (u->slug || u->op); u++) {
    if (u->op != op) continue;
    if (!u->slug)
      return hvb_gateway_fail(err, HVB_UNSUPPORTED, "gateway '%s' does not support %s",
                              gw->name, op_phrase(op));
    if (strcmp(u->slug, slug) == 0)
      return hvb_gateway_fail(err, HVB_UNSUPPORTED,
                              "gateway '%s' does not support %s for provider '%s'", gw->name,
                              op_phrase(op), hvb_spec_provider(spec));
  }
  return true;
}

static bool is_gateway_option(const compat_gateway *gw, const char *key) {
  for (const char *const *o = gw->options; o && *o; o++)
    if (strcmp(*o, key) == 0) return true;
  return false;
}

bool compat_prepare(const compat_gateway *gw, const hvb_spec *spec, hvb_gateway_op op,
                    json_object *canonical, hvb_wire_request *out, hvb_error *err) {
  /* Again here, for a caller that did not ask `supports` first. */
  if (!compat_supports(gw, spec, op, err)) return false;
  if (!json_object_is_type(canonical, json_type_object))
    return hvb_gateway_fail(err, HVB_EINVAL, "gateway '%s': the %s request is not a JSON object",
                            gw->name, hvb_gateway_op_name(op));
  /* A shallow copy: the canonical request is the caller's (the cache keys on it). */
  json_object *body = json_object_new_object();
  if (!body) return hvb_gateway_fail(err, HVB_ENOMEM, "gateway '%s': out of memory", gw->name);
  json_object_object_foreach(canonical, key, val) {
    if (is_gateway_option(gw, key)) continue;
    json_object_object_add(body, key, json_object_get(val));
  }
  const char *id = NULL;
  json_object *model = json_object_object_get(body, "model");
  if (json_object_is_type(model, json_type_string)) id = json_object_get_string(model);
  if (!id || !*id) id = hvb_spec_model_id(spec);
  if (!id || !*id) {
    json_object_put(body);
    return hvb_gateway_fail(err, HVB_EINVAL, "gateway '%s': the request names no model",
                            gw->name);
  }
  char *shaped = compat_model_id(gw, spec, id);
  if (!shaped) {
    json_object_put(body);
    return hvb_gateway_fail(err, HVB_ENOMEM, "gateway '%s': out of memory", gw->name);
  }
  json_object_object_add(body, "model", json_object_new_string(shaped));
  free(shaped);
  bool ok = hvb_openai_prepare(spec, op, body, out, err);
  json_object_put(body);
  return ok;
}

bool compat_add_header(const hvb_spec *spec, hvb_wire_request *out, const char *name,
                       const char *value, hvb_error *err) {
  json_object *given = hvb_spec_headers(spec);
  if (json_object_is_type(given, json_type_object)) {
    json_object_object_foreach(given, have, v) {
      (void)v;
      if (strcasecmp(have, name) == 0) return true;
    }
  }
  return hvb_wire_request_add_header(out, name, value, err);
}
