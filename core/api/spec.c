/* core/api/spec.c: hvb_spec_resolve, the resolution of core/config/spec.c told which
 * gateways the registry can load. */
#include "base/common.h"
#include "config/spec.h"
#include "gateway/gateway.h"

static bool registry_usable(const char *name, char **why) {
  return hvb__registry_find(name, why) != NULL;
}

HVB_PUBLIC hvb_spec *hvb_spec_resolve(const hvb_config *cfg, json_object *options,
                                      hvb_error *err) {
  const hvb_spec_gateways gateways = {registry_usable, hvb__gateway_openai.name};
  return hvb__spec_resolve(cfg, options, &gateways, err);
}
