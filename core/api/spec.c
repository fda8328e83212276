/* core/api/spec.c: hvb_spec_resolve, the resolution of core/config/spec.c told which
 * gateways the registry can load. */
#include "base/common.h"
#include "config/spec.h"
#include "gateway/gateway.h"

static bool registry_usable(const char *name, char **why) {
  return hvb__registry_find(name, why) != NULL;
}

/* Opens every plugin file of the path: only asked on the way to an error. */
static json_object *registry_names(void) {
  json_object *names = json_object_new_object();
  const hvb_gateway_record *r;
  for (size_t i = 0; (r = hvb_gateway_at(i)) != NULL; i++)
    json_object_object_add(names, hvb_gateway_record_name(r), NULL);
  return names;
}

HVB_PUBLIC hvb_spec *hvb_spec_resolve(const hvb_config *cfg, json_object *options,
                                      hvb_error *err) {
  const hvb_spec_gateways gateways = {registry_usable, hvb__gateway_openai.name,
                                     registry_names};
  return hvb__spec_resolve(cfg, options, &gateways, err);
}
