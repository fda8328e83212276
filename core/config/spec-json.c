/* core/config/spec-json.c: the JSON view of a resolved spec (hvb_spec_to_json, `hb spec`). */
#include "config/spec-impl.h"
#include "base/common.h"
#include "base/log.h"
#include "text/json.h"

#include <string.h>

#include <heavenbase/spec.h>

static void add_str(json_object *obj, const char *key, const char *value) {
  json_object_object_add(obj, key, value ? json_object_new_string(value) : NULL);
}

/* Seconds as an integer when whole, so that `hb spec` shows 600 rather than 600.0. */
static json_object *seconds_json(long ms) {
  return ms % 1000 == 0 ? json_object_new_int64(ms / 1000) : json_object_new_double(ms / 1000.0);
}

static bool is_secret_header(const char *name) {
  char *lower = g_ascii_strdown(name, -1);
  bool secret = strstr(lower, "auth") || strstr(lower, "key") || strstr(lower, "token");
  g_free(lower);
  return secret;
}

HVB_PUBLIC json_object *hvb_spec_to_json(const hvb_spec *spec, bool include_secrets) {
  if (!spec) return NULL;
  json_object *o = json_object_new_object();
  add_str(o, "preset", spec->preset);
  add_str(o, "model", spec->model);
  add_str(o, "model_id", spec->model_id);
  add_str(o, "provider", spec->provider);
  add_str(o, "gateway", spec->gateway);
  if (spec->gateway_fallback_reason) {
    add_str(o, "requested_gateway", spec->requested_gateway);
    add_str(o, "gateway_fallback_reason", spec->gateway_fallback_reason);
  }
  /* A base URL may carry a credential ("https://user:key@host", "?key="): shown redacted, as
   * messages show it, unless the caller asked for secrets. */
  char *shown_url = include_secrets ? g_strdup(spec->base_url) : hvb__redact_url(spec->base_url);
  add_str(o, "base_url", shown_url);
  g_free(shown_url);
  add_str(o, "api_key_env", spec->api_key_env);
  if (spec->api_key) add_str(o, "api_key", include_secrets ? spec->api_key : "<set>");
  json_object_object_add(o, "api_key_set", json_object_new_boolean(spec->api_key != NULL));
  json_object_object_add(o, "api_key_required", json_object_new_boolean(spec->api_key_required));
  json_object_object_add(o, "args", hvb__json_copy(spec->args));
  json_object *headers = json_object_new_object();
  json_object_object_foreach(spec->headers, name, value) {
    /* A new string, not json_object_get(value): json-c's reference counts are not atomic,
     * and a spec is shared between threads. */
    json_object_object_add(headers, name,
                           json_object_new_string(include_secrets || !is_secret_header(name)
                                                      ? json_object_get_string(value)
                                                      : "<redacted>"));
  }
  json_object_object_add(o, "headers", headers);
  json_object_object_add(o, "timeout", seconds_json(spec->timeout_ms));
  json_object_object_add(o, "connect_timeout", seconds_json(spec->connect_timeout_ms));
  json_object_object_add(o, "idle_timeout", seconds_json(spec->idle_timeout_ms));
  json_object_object_add(o, "max_retries", json_object_new_int(spec->max_retries));
  json_object_object_add(o, "max_response_bytes", json_object_new_int64(spec->max_response_bytes));
  add_str(o, "hash_key", spec->hash_key);
  add_str(o, "client_key", spec->client_key);
  if (spec->route) json_object_object_add(o, "route", hvb__json_copy(spec->route));
  return o;
}
