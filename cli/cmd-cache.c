/* cli/cmd-cache.c: hb cache stats | clear [--namespace NS] | prune. */
#include "cli.h"

#include <inttypes.h>
#include <string.h>

static void print_stats(json_object *st) {
  json_object *nss = json_object_object_get(st, "namespaces");
  printf("%s (%" PRId64 " bytes on disk)\n", json_object_get_string(json_object_object_get(st, "path")),
         json_object_get_int64(json_object_object_get(st, "file_bytes")));
  printf("%-10s %9s %12s %9s %9s\n", "namespace", "entries", "bytes", "hits", "expired");
  json_object_object_foreach(nss, name, o) {
    printf("%-10s %9" PRId64 " %12" PRId64 " %9" PRId64 " %9" PRId64 "\n", name,
           json_object_get_int64(json_object_object_get(o, "entries")),
           json_object_get_int64(json_object_object_get(o, "bytes")),
           json_object_get_int64(json_object_object_get(o, "hits")),
           json_object_get_int64(json_object_object_get(o, "expired")));
  }
}

int hb_cmd_cache(int argc, char **argv) {
  const char *action = NULL, *ns = NULL;
  bool json = false;
  hb_args a;
  hb_arg arg;
  hb_args_init(&a, "cache", hb_command_options_find("cache", NULL), argc, argv, 1);
  for (hb_args_kind k; (k = hb_args_next(&a, &arg)) != HB_ARGS_END;) {
    if (k == HB_ARGS_ERROR) return HB_EXIT_USAGE;
    if (k == HB_ARGS_POSITIONAL && action)
      return hb_usage("cache", "unexpected argument '%s'", arg.value);
    if (k == HB_ARGS_POSITIONAL)
      action = arg.value;
    else if (arg.opt->id == HB_OPT_NAMESPACE)
      ns = arg.value;
    else
      json = true;
  }
  if (!action) return hb_usage("cache", "give an action: stats, clear or prune");
  bool stats = !strcmp(action, "stats"), clear = !strcmp(action, "clear"),
       prune = !strcmp(action, "prune");
  if (!stats && !clear && !prune)
    return hb_usage("cache", "unknown action '%s' (stats, clear or prune)", action);
  if (ns && !clear) return hb_usage("cache", "--namespace goes with 'clear' only");

  hvb_error err = HVB_ERROR_INIT;
  hvb_cache *cache = hvb_cache_open(NULL, NULL, &err);
  if (!cache) return hb_fail("cache", &err);
  int rc = HB_EXIT_OK;
  if (stats) {
    json_object *st = hvb_cache_stats(cache, &err);
    if (!st)
      rc = hb_fail("cache stats", &err);
    else if (json)
      hb_print_json(stdout, st, false);
    else
      print_stats(st);
    json_object_put(st);
  } else {
    int64_t removed = 0;
    bool ok = clear ? hvb_cache_clear(cache, ns, &removed, &err)
                    : hvb_cache_prune(cache, &removed, &err);
    if (!ok)
      rc = hb_fail(clear ? "cache clear" : "cache prune", &err);
    else
      printf("removed %" PRId64 " %s%s%s\n", removed, removed == 1 ? "entry" : "entries",
             ns ? " from " : "", ns ? ns : "");
  }
  hvb_cache_close(cache);
  return rc;
}
