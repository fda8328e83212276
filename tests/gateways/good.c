/* tests/gateways/good.c: a well-formed offline gateway. Chat answers "good reply"; it claims
 * embeddings too but refuses them for provider "openrouter" through `supports`, to test the
 * two halves of the operation check. */
#include <heavenbase/gateway.h>
#include <string.h>

static bool good_supports(const hvb_spec *spec, hvb_gateway_op op, hvb_error *err) {
  const char *provider = hvb_spec_provider(spec);
  if (op == HVB_GATEWAY_OP_EMBED && provider && strcmp(provider, "openrouter") == 0)
    return hvb_gateway_fail(err, HVB_UNSUPPORTED, "good has no embeddings for provider '%s'",
                            provider);
  return true;
}

static bool good_execute(const hvb_spec *spec, hvb_gateway_op op, json_object *canonical,
                         json_object *out, hvb_error *err) {
  (void)spec;
  (void)canonical;
  if (op != HVB_GATEWAY_OP_CHAT) return hvb_gateway_fail(err, HVB_UNSUPPORTED, "chat only");
  json_object *chunk = json_tokener_parse(
      "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"good reply\"},"
      "\"finish_reason\":\"stop\"}]}");
  json_object_array_add(out, chunk);
  return true;
}

HVB_GATEWAY_DEFINE(good, "1.2.3", "a well-formed test gateway", "MIT",
                   HVB_GATEWAY_CAP_CHAT | HVB_GATEWAY_CAP_EMBED | HVB_GATEWAY_CAP_OFFLINE,
                   .supports = good_supports, .execute = good_execute)
