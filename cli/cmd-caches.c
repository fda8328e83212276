/* cli/cmd-caches.c: hb caches list|check: the cache backends the library found, and why a file
 * was refused (the same records, states and stages as `hb gateways`; cli/plugins.c). */
#include "cli.h"
#include "plugins.h"

#include <heavenbase/cache-backend.h>
#include <string.h>

static json_object *at(size_t i) {
  return hvb_cache_backend_record_to_json(hvb_cache_backend_at(i));
}

static const hb_plugin_cli caches = {
    .noun = "cache backend",
    .caps_width = 30,
    .count = hvb_cache_backend_count,
    .at = at,
    .search_path = hvb_cache_backend_search_path,
};

static int check(const char *path, bool json) {
  hvb_error err = HVB_ERROR_INIT;
  hvb_cache_backend_record *r = hvb_cache_backend_check(path, &err);
  if (!r) return hb_fail("caches check", &err);
  json_object *o = hvb_cache_backend_record_to_json(r);
  hvb_cache_backend_record_free(r);
  int rc = hb_plugin_check_print(&caches, path, o, json);
  json_object_put(o);
  return rc;
}

int hb_cmd_caches(int argc, char **argv) {
  if (argc < 2) return hb_usage("caches", "give a subcommand: list or check PATH");
  const char *sub = argv[1];
  const hb_opt_id *accepted = hb_command_options_find("caches", sub);
  if (!accepted) return hb_usage("caches", "unknown subcommand '%s' (list, check)", sub);
  bool all, json, listing = !strcmp(sub, "list");
  const char *arg;
  int rc = hb_plugin_args("caches", accepted, argc, argv, listing, &all, &json, &arg);
  if (rc >= 0) return rc;
  if (listing) return hb_plugin_list(&caches, all, json);
  if (!arg) return hb_usage("caches", "check needs a PATH");
  return check(arg, json);
}
