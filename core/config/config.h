/* core/config/config.h: what other core modules read from a loaded configuration. */
#ifndef HVB_CONFIG_INTERNAL_H
#define HVB_CONFIG_INTERNAL_H

#include <stddef.h>
#include <json-c/json.h>
#include <heavenbase/config.h>
#include "base/common.h"

/* ---- bundled data (core/config/config.c, over core/config/resources.c made by glib-compile-resources) ---- */

/* Parse the bundled JSON resource `name` ("config.json", "catalog.json"), new reference. */
json_object *hvb__resource_json(const char *name, hvb_error *err);

/* The merged catalog, borrowed from cfg: {"presets": {...}, "models": {...},
 * "providers": {...}}, never NULL (members always present, possibly empty). Built from the
 * bundled catalog, then the catalog.d drop-in directories ($HB_DATA_DIR or $(pkgdatadir),
 * then $HB_SYSTEM_CONFIG_DIR or $(sysconfdir)/heavenbase, then the user config dir; *.json in
 * name order in each), then the config's heavenbase.llm.presets/models/providers on top.
 * Built on first use (thread-safe); a drop-in file that fails hvb__catalog_check is skipped
 * with a warning in the log. */
json_object *hvb__config_catalog(const hvb_config *cfg);

/* One config file's tree: true with *out NULL when the file does not exist; false with err
 * set (HVB_IO, HVB_PARSE, HVB_TOO_LARGE) when it cannot be read. No key checks. */
bool hvb__config_read_file(const char *path, json_object **out, hvb_error *err);

/* The user layer's file for the current environment (g_free), NULL without a home. */
char *hvb__config_user_file(void);

/* Parse the text of one config layer (a file's content, `len` bytes): a JSON object, or
 * nothing but whitespace (an empty layer). New reference, or NULL with HVB_PARSE naming `what`
 * (the file) and the line and column of the fault. Used by the loader and the fuzzer. */
json_object *hvb__config_parse_layer(const char *text, size_t len, const char *what,
                                     hvb_error *err);

/* Check a catalog fragment (a drop-in file's root, or the bundled catalog): an object whose
 * "presets", "models" and "providers" members, when present, are objects of entries that each
 * pass hvb__catalog_entry_check. HVB_CONFIG naming `what`, the section, entry and field. */
bool hvb__catalog_check(json_object *fragment, const char *what, hvb_error *err);

/* Check one catalog entry against the schema of `section` ("presets", "models" or
 * "providers"; documented at the top of core/config/spec.c). HVB_CONFIG naming the entry and field. */
bool hvb__catalog_entry_check(const char *section, const char *name, json_object *entry,
                              hvb_error *err);

#endif
