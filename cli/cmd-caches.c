/* cli/cmd-caches.c: hb caches list|check: the cache backends the library found, and why a file
 * was refused (the same records, states and stages as `hb gateways`). */
#include "cli.h"

#include <heavenbase/cache-backend.h>
#include <string.h>

static bool usable(const hvb_cache_backend_record *r) {
  hvb_gateway_state st = hvb_cache_backend_record_state(r);
  return st == HVB_GATEWAY_STATE_BUILTIN || st == HVB_GATEWAY_STATE_LOADED;
}

/* "entries,lock,..." into buf; "-" when none. */
static const char *caps_text(const hvb_cache_backend_record *r, char *buf, size_t size) {
  json_object *o = hvb_cache_backend_record_to_json(r);
  json_object *caps = json_object_object_get(o, "caps");
  buf[0] = '\0';
  for (size_t i = 0; i < json_object_array_length(caps); i++) {
    if (buf[0]) strncat(buf, ",", size - strlen(buf) - 1);
    strncat(buf, json_object_get_string(json_object_array_get_idx(caps, i)),
            size - strlen(buf) - 1);
  }
  json_object_put(o);
  if (!buf[0]) snprintf(buf, size, "-");
  return buf;
}

static void print_row(const hvb_cache_backend_record *r, bool all) {
  char caps[96];
  const char *version = hvb_cache_backend_record_version(r);
  const char *path = hvb_cache_backend_record_path(r);
  if (all)
    printf("%-12s %-12s %-9s %-30s %s\n", hvb_cache_backend_record_name(r),
           hvb_gateway_state_name(hvb_cache_backend_record_state(r)), version ? version : "-",
           caps_text(r, caps, sizeof caps), path ? path : "built in");
  else
    printf("%-12s %-9s %-30s %s\n", hvb_cache_backend_record_name(r), version ? version : "-",
           caps_text(r, caps, sizeof caps), path ? path : "built in");
  if (!usable(r)) {
    const char *stage = hvb_gateway_stage_name(hvb_cache_backend_record_stage(r));
    printf("%-12s %s%s%s\n", "", stage, *stage ? ": " : "", hvb_cache_backend_record_reason(r));
  }
}

static int list(bool all, bool json) {
  size_t n = hvb_cache_backend_count();
  json_object *arr = json ? json_object_new_array() : NULL;
  if (!json && all)
    printf("%-12s %-12s %-9s %-30s %s\n", "NAME", "STATE", "VERSION", "CAPABILITIES", "PATH");
  else if (!json)
    printf("%-12s %-9s %-30s %s\n", "NAME", "VERSION", "CAPABILITIES", "PATH");
  for (size_t i = 0; i < n; i++) {
    const hvb_cache_backend_record *r = hvb_cache_backend_at(i);
    if (!all && !usable(r)) continue;
    if (json)
      json_object_array_add(arr, hvb_cache_backend_record_to_json(r));
    else
      print_row(r, all);
  }
  if (json) {
    hb_print_json(stdout, arr, false);
    json_object_put(arr);
  } else if (all) {
    json_object *dirs = hvb_cache_backend_search_path();
    printf("\nsearch path:\n");
    for (size_t i = 0; i < json_object_array_length(dirs); i++)
      printf("  %s\n", json_object_get_string(json_object_array_get_idx(dirs, i)));
    json_object_put(dirs);
  }
  return HB_EXIT_OK;
}

static int check(const char *path, bool json) {
  hvb_error err = HVB_ERROR_INIT;
  hvb_cache_backend_record *r = hvb_cache_backend_check(path, &err);
  if (!r) return hb_fail("caches check", &err);
  int rc = usable(r) ? HB_EXIT_OK : HB_EXIT_FAIL;
  if (json) {
    json_object *o = hvb_cache_backend_record_to_json(r);
    hb_print_json(stdout, o, false);
    json_object_put(o);
  } else if (rc == HB_EXIT_OK) {
    const char *v = hvb_cache_backend_record_version(r);
    printf("%s: loaded: cache backend '%s' %s\n", path, hvb_cache_backend_record_name(r),
           v ? v : "");
  } else {
    const char *stage = hvb_gateway_stage_name(hvb_cache_backend_record_stage(r));
    printf("%s: %s%s%s: %s\n", path, hvb_gateway_state_name(hvb_cache_backend_record_state(r)),
           *stage ? " at stage " : "", stage, hvb_cache_backend_record_reason(r));
  }
  hvb_cache_backend_record_free(r);
  return rc;
}

int hb_cmd_caches(int argc, char **argv) {
  if (argc < 2) return hb_usage("caches", "give a subcommand: list or check PATH");
  const char *sub = argv[1];
  const hb_opt_id *accepted = hb_command_options_find("caches", sub);
  if (!accepted) return hb_usage("caches", "unknown subcommand '%s' (list, check)", sub);
  bool all = false, json = false, listing = !strcmp(sub, "list");
  const char *arg = NULL;
  hb_args a;
  hb_arg one;
  hb_args_init(&a, "caches", accepted, argc, argv, 2);
  for (hb_args_kind k; (k = hb_args_next(&a, &one)) != HB_ARGS_END;) {
    if (k == HB_ARGS_ERROR) return HB_EXIT_USAGE;
    if (k == HB_ARGS_OPTION && one.opt->id == HB_OPT_ALL)
      all = true;
    else if (k == HB_ARGS_OPTION)
      json = true;
    else if (!arg && !listing)
      arg = one.value;
    else
      return hb_usage("caches", "unexpected argument '%s'", one.value);
  }
  if (listing) return list(all, json);
  if (!arg) return hb_usage("caches", "check needs a PATH");
  return check(arg, json);
}
