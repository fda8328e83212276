/* core/config/spec.h: resolving options into an hvb_spec (core/config/spec.c).
 *
 * Resolution needs to know whether a gateway can be used, and the registry that knows it
 * lives in a higher layer (gateway/). So the caller passes that knowledge in: the public
 * hvb_spec_resolve (core/api/spec.c) hands over the registry's answer, the unit tests may
 * hand over their own. */
#ifndef HVB_CONFIG_SPEC_H
#define HVB_CONFIG_SPEC_H

#include <json-c/json.h>
#include <heavenbase/config.h>
#include <heavenbase/spec.h>
#include "base/common.h"

typedef struct hvb_spec_gateways {
  /* Whether gateway `name` can be used; when not, *why gets a new string (g_free) saying
   * why. Thread-safe. */
  bool (*usable)(const char *name, char **why);
  /* The built-in gateway used in place of one that cannot be (never NULL). */
  const char *fallback;
  /* Every gateway name the registry has a record for, whatever its state (a plugin file
   * that exists, loadable or not, or a built-in), as the keys of a new object; may be NULL.
   * Asked only when a gateway cannot be used and the catalog does not name it. */
  json_object *(*names)(void);
} hvb_spec_gateways;

/* Whether the gateway `name`, which cannot be used, is a known one (core/config/gateways.c):
 * named by the merged `catalog` (its "gateways" section, or a provider's or preset's
 * "gateway"), by gateways->names (a plugin file of that name exists) or the fallback itself.
 * A known gateway may fall back; for any other name, false with HVB_NOT_FOUND naming it, the
 * nearest known name ("did you mean") and the known ones. */
bool hvb__gateway_known(const char *name, json_object *catalog,
                        const hvb_spec_gateways *gateways, hvb_error *err);

/* hvb_spec_resolve with the gateways' availability given by `gateways` (borrowed). */
hvb_spec *hvb__spec_resolve(const hvb_config *cfg, json_object *options,
                            const hvb_spec_gateways *gateways, hvb_error *err);

/* A preset of the catalog marked "offline" (answers without network or key), named in the
 * message of a call refused for a missing key; borrowed from `spec`, NULL when none. */
const char *hvb__spec_offline_preset(const hvb_spec *spec);

#endif
