/* core/config/spec-impl.h: the hvb_spec struct, private to the spec's own files (spec.c
 * resolves it, spec-json.c shows it). Immutable once resolved: any thread may read it. */
#ifndef HVB_CONFIG_SPEC_IMPL_H
#define HVB_CONFIG_SPEC_IMPL_H

#include <stdbool.h>
#include <glib.h>
#include <json-c/json.h>

struct hvb_spec {
  gint refcount;
  char *preset, *model, *model_id, *provider, *gateway, *base_url;
  char *requested_gateway;       /* what resolution asked for */
  char *gateway_fallback_reason; /* NULL unless `gateway` is the fallback for it */
  char *api_key, *api_key_env;
  bool api_key_required; /* a call without the key fails before any request */
  char *offline_preset;  /* a preset marked "offline", named as the way out; may be NULL */
  char *hash_key, *client_key;
  json_object *args, *headers, *model_info;
  long timeout_ms, connect_timeout_ms, idle_timeout_ms;
  int max_retries;
  long long max_response_bytes;
  json_object *route; /* the route's view when the options named one (core/config/route.c) */
};

#endif
