/* plugins/portkey/portkey.c: the portkey gateway, OpenAI-compatible requests through a Portkey
 * AI gateway (hosted, https://api.portkey.ai/v1, or self-hosted: @portkey-ai/gateway).
 *
 * Where requests go: the spec's base URL, which for this gateway is the Portkey server's
 * (option base_url, else $PORTKEY_BASE_URL, else the catalog's https://api.portkey.ai/v1; see
 * the "gateways" section of the catalog, core/config/spec.c).
 *
 * What Portkey is told, in headers (it routes on them; the body stays OpenAI's):
 *   x-portkey-provider     the provider in Portkey's naming (table below; a provider Portkey
 *                          does not list under another name keeps its own, so a drop-in
 *                          provider named like a Portkey slug, "groq", works)
 *   Authorization          Bearer <the provider's key>: Portkey forwards it to the provider
 *   x-portkey-api-key      $PORTKEY_API_KEY, for the hosted service (the spec resolves it
 *                          into the spec's headers, so the library redacts it like any key)
 *   x-portkey-custom-host  option "custom_host": the provider's address, for self-hosted or
 *                          OpenAI-compatible upstreams (hb chat -o custom_host=URL)
 *   x-portkey-config       option "portkey_config": a JSON object (sent compact) or a string
 *                          (a saved config's id, or JSON text), for routing, retries, keys
 * "custom_host" and "portkey_config" are the gateway's, not the provider's: they are removed
 * from the JSON body (a provider rejects unknown fields).
 *
 * Model ids: sent as the provider's own id, without a prefix. Portkey learns the provider
 * from x-portkey-provider and passes "model" through untouched, so a prefix would reach the
 * provider and be refused. (OpenRouter's own ids carry the vendor, "deepseek/deepseek-v4-flash":
 * that is OpenRouter's id, and is sent as it is.)
 *
 * Known-unsupported: embeddings for openrouter (Portkey has no embeddings route for it), and
 * embeddings and image generation for anthropic (Anthropic has neither API).
 */
#include <heavenbase/gateway.h>
#include <string.h>

#include "../common/openai-compat.h"

static const compat_provider portkey_providers[] = {
    /* Portkey has no slug for these OpenAI-compatible servers: "openai" with custom_host. */
    {"lmstudio", "openai", true},
    {"vllm", "openai", true},
    {"custom", "openai", true},
    /* Portkey knows Ollama, but not where this machine's runs. */
    {"ollama", "ollama", true},
    {NULL, NULL, false}};

static const char *const portkey_options[] = {"custom_host", "portkey_config", NULL};

static const compat_unsupported portkey_unsupported[] = {
    {"openrouter", HVB_GATEWAY_OP_EMBED},
    {"anthropic", HVB_GATEWAY_OP_EMBED},
    {"anthropic", HVB_GATEWAY_OP_IMAGE},
    {NULL, 0}};

static const compat_gateway portkey = {
    .name = "portkey",
    .providers = portkey_providers,
    .prefix_model = false,
    .options = portkey_options,
    .unsupported = portkey_unsupported,
};

static bool portkey_supports(const hvb_spec *spec, hvb_gateway_op op, hvb_error *err) {
  return compat_supports(&portkey, spec, op, err);
}

/* The x-portkey-config value of option `config`: an object as compact JSON, a string as is. */
static bool config_header(json_object *config, hvb_wire_request *out, const hvb_spec *spec,
                          hvb_error *err) {
  const char *text;
  if (json_object_is_type(config, json_type_object))
    text = json_object_to_json_string_ext(config, JSON_C_TO_STRING_PLAIN |
                                                      JSON_C_TO_STRING_NOSLASHESCAPE);
  else if (json_object_is_type(config, json_type_string) && json_object_get_string_len(config))
    text = json_object_get_string(config);
  else
    return hvb_gateway_fail(err, HVB_EINVAL,
                            "gateway 'portkey': option 'portkey_config' must be a JSON object "
                            "or a non-empty string");
  return compat_add_header(spec, out, "x-portkey-config", text, err);
}

static bool portkey_prepare(const hvb_spec *spec, hvb_gateway_op op, json_object *canonical,
                            hvb_wire_request *out, hvb_error *err) {
  json_object *host = compat_option(spec, canonical, "custom_host");
  json_object *config = compat_option(spec, canonical, "portkey_config");
  if (host && (!json_object_is_type(host, json_type_string) ||
               json_object_get_string_len(host) == 0))
    return hvb_gateway_fail(err, HVB_EINVAL,
                            "gateway 'portkey': option 'custom_host' must be a URL string");
  /* Without an address Portkey would send such a request, and the provider's key, to
   * api.openai.com: refuse it here instead. */
  if (!host && !config && compat_needs_host(&portkey, spec))
    return hvb_gateway_fail(err, HVB_CONFIG,
                            "gateway 'portkey': provider '%s' needs option 'custom_host' (its "
                            "base URL) or 'portkey_config'",
                            hvb_spec_provider(spec));

  if (!compat_prepare(&portkey, spec, op, canonical, out, err)) return false;
  if (!compat_add_header(spec, out, "x-portkey-provider", compat_slug(&portkey, spec), err))
    return false;
  if (host && !compat_add_header(spec, out, "x-portkey-custom-host",
                                 json_object_get_string(host), err))
    return false;
  return !config || config_header(config, out, spec, err);
}

HVB_GATEWAY_DEFINE(portkey, "1.0.0",
                   "Portkey AI gateway (hosted or self-hosted), OpenAI-compatible", "MIT",
                   HVB_GATEWAY_CAP_CHAT | HVB_GATEWAY_CAP_STREAM | HVB_GATEWAY_CAP_EMBED |
                       HVB_GATEWAY_CAP_IMAGE | HVB_GATEWAY_CAP_IMAGE_REFS |
                       HVB_GATEWAY_CAP_EXPORT_OPENAI,
                   .supports = portkey_supports, .prepare = portkey_prepare,
                   .parse = hvb_openai_parse_op, .parse_event = hvb_openai_parse_event_op,
                   .parse_error = hvb_openai_parse_error_op)
