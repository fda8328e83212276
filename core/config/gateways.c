/* core/config/gateways.c: which gateway names are known, for the fallback's sake.
 *
 * A gateway that cannot be used falls back to the built-in one only when it is a known gateway
 * whose plugin is missing or broken: a misspelt name (`hb chat -g portky`) must be an error,
 * not a quiet call to the provider that bypasses the gateway the caller asked for. Known is
 * data, never a list in the core: the catalog's gateways (its "gateways" section and what its
 * providers and presets name; drop-ins add more) and the names of the plugin files found.
 */
#include "config/spec.h"
#include "text/json.h"
#include "text/suggest.h"
#include "base/error.h"

#include <glib.h>

static void add_name(json_object *set, const char *name) {
  if (name && *name) json_object_object_add(set, name, NULL);
}

/* The gateway names of the catalog, as the keys of `out`. */
static void catalog_names(json_object *catalog, json_object *out) {
  json_object_object_foreach(json_object_object_get(catalog, "gateways"), name, server) {
    (void)server;
    add_name(out, name);
  }
  static const char *const naming[] = {"providers", "presets"};
  for (size_t s = 0; s < G_N_ELEMENTS(naming); s++) {
    json_object_object_foreach(json_object_object_get(catalog, naming[s]), key, entry) {
      (void)key;
      add_name(out, hvb__json_str(entry, "gateway"));
    }
  }
}

bool hvb__gateway_known(const char *name, json_object *catalog,
                        const hvb_spec_gateways *gateways, hvb_error *err) {
  json_object *known = json_object_new_object();
  catalog_names(catalog, known);
  add_name(known, gateways->fallback);
  bool ok = json_object_object_get_ex(known, name, NULL);
  if (!ok && gateways->names) {
    /* Opens every plugin file of the path: only on the way to an error or a fallback. */
    json_object *files = gateways->names();
    json_object_object_foreach(files, file_name, unused) {
      (void)unused;
      add_name(known, file_name);
    }
    json_object_put(files);
    ok = json_object_object_get_ex(known, name, NULL);
  }
  if (!ok) {
    const char *near = hvb__suggest(name, known);
    char *list = hvb__json_keys_list(known);
    hvb__fail(err, HVB_NOT_FOUND, "unknown gateway '%s'%s%s%s; known gateways: %s", name,
              near ? " (did you mean '" : "", near ? near : "", near ? "'?)" : "", list);
    g_free(list);
  }
  json_object_put(known);
  return ok;
}
