/* plugins/bifrost/bifrost.c: the bifrost gateway, OpenAI-compatible requests through a Bifrost
 * gateway server (maximhq/bifrost), which holds the provider keys itself.
 *
 * Where requests go: the spec's base URL, which for this gateway is the Bifrost server's
 * (option base_url, else $BIFROST_BASE_URL, else the catalog's http://localhost:8080/v1).
 * No key is sent unless one is asked for explicitly (option api_key or api_key_env): Bifrost
 * has its own, and the provider's key has no business on another server (see core/config/spec.c).
 *
 * Model ids: Bifrost routes on a provider prefix, "<provider>/<model id>"
 * ("deepseek/deepseek-v4-flash", "openrouter/deepseek/deepseek-v4-flash"); an id that already
 * starts with "<provider>/" is sent as it is. Providers keep their names, except "custom"
 * (any OpenAI-compatible endpoint), which Bifrost serves as "openai".
 *
 * Known-unsupported: image generation (Bifrost has no images route).
 */
#include <heavenbase/gateway.h>

#include "../common/openai-compat.h"

static const compat_provider bifrost_providers[] = {{"custom", "openai", false},
                                                    {NULL, NULL, false}};

static const compat_unsupported bifrost_unsupported[] = {{NULL, HVB_GATEWAY_OP_IMAGE},
                                                         {NULL, 0}};

static const compat_gateway bifrost = {
    .name = "bifrost",
    .providers = bifrost_providers,
    .prefix_model = true,
    .options = NULL,
    .unsupported = bifrost_unsupported,
};

static bool bifrost_supports(const hvb_spec *spec, hvb_gateway_op op, hvb_error *err) {
  return compat_supports(&bifrost, spec, op, err);
}

static bool bifrost_prepare(const hvb_spec *spec, hvb_gateway_op op, json_object *canonical,
                            hvb_wire_request *out, hvb_error *err) {
  return compat_prepare(&bifrost, spec, op, canonical, out, err);
}

HVB_GATEWAY_DEFINE(bifrost, "1.0.0", "Bifrost gateway server, OpenAI-compatible", "MIT",
                   HVB_GATEWAY_CAP_CHAT | HVB_GATEWAY_CAP_STREAM | HVB_GATEWAY_CAP_EMBED |
                       HVB_GATEWAY_CAP_EXPORT_OPENAI,
                   .supports = bifrost_supports, .prepare = bifrost_prepare,
                   .parse = hvb_openai_parse_op, .parse_event = hvb_openai_parse_event_op,
                   .parse_error = hvb_openai_parse_error_op)
