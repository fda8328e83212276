/* plugins/litellm/litellm.c: the litellm gateway, OpenAI-compatible requests through a LiteLLM
 * proxy server, which holds the provider keys itself.
 *
 * Where requests go: the spec's base URL, which for this gateway is the proxy's (option
 * base_url, else $LITELLM_BASE_URL, else the catalog's http://localhost:4000/v1). The key is
 * the proxy's, $LITELLM_API_KEY, as "Authorization: Bearer" (option api_key or api_key_env
 * wins); the provider's key is never sent (see core/config/spec.c).
 *
 * Model ids: LiteLLM routes on a provider prefix, "<provider>/<model id>"
 * ("deepseek/deepseek-v4-flash", "openrouter/deepseek/deepseek-v4-flash"); an id that already
 * starts with "<provider>/" is sent as it is. Providers are named as LiteLLM names them
 * (table below; the others keep their names): its "hosted_vllm", "lm_studio", and "openai" for
 * any OpenAI-compatible endpoint.
 */
#include <heavenbase/gateway.h>

#include "../common/openai-compat.h"

static const compat_provider litellm_providers[] = {{"vllm", "hosted_vllm", false},
                                                    {"lmstudio", "lm_studio", false},
                                                    {"custom", "openai", false},
                                                    {NULL, NULL, false}};

static const compat_gateway litellm = {
    .name = "litellm",
    .providers = litellm_providers,
    .prefix_model = true,
    .options = NULL,
    .unsupported = NULL,
};

static bool litellm_prepare(const hvb_spec *spec, hvb_gateway_op op, json_object *canonical,
                            hvb_wire_request *out, hvb_error *err) {
  return compat_prepare(&litellm, spec, op, canonical, out, err);
}

HVB_GATEWAY_DEFINE(litellm, "1.0.0", "LiteLLM proxy server, OpenAI-compatible", "MIT",
                   HVB_GATEWAY_CAP_CHAT | HVB_GATEWAY_CAP_STREAM | HVB_GATEWAY_CAP_EMBED |
                       HVB_GATEWAY_CAP_IMAGE | HVB_GATEWAY_CAP_IMAGE_REFS,
                   .prepare = litellm_prepare, .parse = hvb_openai_parse_op,
                   .parse_event = hvb_openai_parse_event_op,
                   .parse_error = hvb_openai_parse_error_op)
