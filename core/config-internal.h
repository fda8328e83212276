/* core/config-internal.h: what other core modules read from a loaded configuration. */
#ifndef HVB_CONFIG_INTERNAL_H
#define HVB_CONFIG_INTERNAL_H

#include <heavenbase/config.h>

/* The merged catalog, borrowed from cfg: {"presets": {...}, "models": {...},
 * "providers": {...}}, never NULL (members always present, possibly empty). Built from the
 * bundled catalog, then the catalog.d drop-in directories ($HB_DATA_DIR or $(pkgdatadir),
 * then $HB_SYSTEM_CONFIG_DIR or $(sysconfdir)/heavenbase, then the user config dir; *.json in
 * name order in each), then the config's heavenbase.llm.presets/models/providers on top. */
json_object *hvb__config_catalog(const hvb_config *cfg);

#endif
