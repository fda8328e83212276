/* cli/cmd-gateways.c: hb gateways list|info|check: what the plugin registry found, and why a
 * file was refused (the gst-inspect of HeavenBase). */
#include "cli.h"

#include <string.h>

/* "chat,stream,..." (the names hvb_gateway_record_to_json gives) into buf; "-" when none. */
static const char *caps_text(const hvb_gateway_record *r, char *buf, size_t size) {
  json_object *o = hvb_gateway_record_to_json(r);
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

static bool usable(const hvb_gateway_record *r) {
  hvb_gateway_state st = hvb_gateway_record_state(r);
  return st == HVB_GATEWAY_STATE_BUILTIN || st == HVB_GATEWAY_STATE_LOADED;
}

static const char *where(const hvb_gateway_record *r) {
  const char *path = hvb_gateway_record_path(r);
  return path ? path : "built in";
}

static void print_row(const hvb_gateway_record *r, bool all) {
  char caps[96];
  const char *version = hvb_gateway_record_version(r);
  if (all)
    printf("%-12s %-12s %-9s %-32s %s\n", hvb_gateway_record_name(r),
           hvb_gateway_state_name(hvb_gateway_record_state(r)), version ? version : "-",
           caps_text(r, caps, sizeof caps), where(r));
  else
    printf("%-12s %-9s %-32s %s\n", hvb_gateway_record_name(r), version ? version : "-",
           caps_text(r, caps, sizeof caps), where(r));
  if (!usable(r)) {
    const char *stage = hvb_gateway_stage_name(hvb_gateway_record_stage(r));
    printf("%-12s %s%s%s\n", "", stage, *stage ? ": " : "", hvb_gateway_record_reason(r));
  }
}

static int list(bool all, bool json) {
  size_t n = hvb_gateway_count();
  json_object *arr = json ? json_object_new_array() : NULL;
  if (!json) {
    if (all)
      printf("%-12s %-12s %-9s %-32s %s\n", "NAME", "STATE", "VERSION", "CAPABILITIES", "PATH");
    else
      printf("%-12s %-9s %-32s %s\n", "NAME", "VERSION", "CAPABILITIES", "PATH");
  }
  for (size_t i = 0; i < n; i++) {
    const hvb_gateway_record *r = hvb_gateway_at(i);
    if (!all && !usable(r)) continue;
    if (json)
      json_object_array_add(arr, hvb_gateway_record_to_json(r));
    else
      print_row(r, all);
  }
  if (json) {
    hb_print_json(stdout, arr, false);
    json_object_put(arr);
  } else if (all) {
    json_object *dirs = hvb_gateway_search_path();
    printf("\nsearch path:\n");
    for (size_t i = 0; i < json_object_array_length(dirs); i++)
      printf("  %s\n", json_object_get_string(json_object_array_get_idx(dirs, i)));
    json_object_put(dirs);
  }
  return HB_EXIT_OK;
}

static void print_details(const hvb_gateway_record *r) {
  char caps[96];
  const char *stage = hvb_gateway_stage_name(hvb_gateway_record_stage(r));
  const char *v;
  printf("%-13s %s\n", "name", hvb_gateway_record_name(r));
  printf("%-13s %s\n", "state", hvb_gateway_state_name(hvb_gateway_record_state(r)));
  if (*stage) printf("%-13s %s\n", "stage", stage);
  if (*hvb_gateway_record_reason(r)) printf("%-13s %s\n", "reason", hvb_gateway_record_reason(r));
  printf("%-13s %s\n", "path", where(r));
  if ((v = hvb_gateway_record_version(r))) printf("%-13s %s\n", "version", v);
  if ((v = hvb_gateway_record_description(r))) printf("%-13s %s\n", "description", v);
  if ((v = hvb_gateway_record_license(r))) printf("%-13s %s\n", "license", v);
  if (hvb_gateway_record_abi_major(r) || hvb_gateway_record_abi_minor(r))
    printf("%-13s %u.%u\n", "abi", hvb_gateway_record_abi_major(r),
           hvb_gateway_record_abi_minor(r));
  if (usable(r))
    printf("%-13s %s\n", "capabilities", caps_text(r, caps, sizeof caps));
}

static void show(const hvb_gateway_record *r, bool json) {
  if (json) {
    json_object *o = hvb_gateway_record_to_json(r);
    hb_print_json(stdout, o, false);
    json_object_put(o);
  } else {
    print_details(r);
  }
}

/* The usable gateway `name`, else the first record of that name (the refused file). */
static int info(const char *name, bool json) {
  const hvb_gateway_record *r = hvb_gateway_lookup(name);
  for (size_t i = 0; !r && i < hvb_gateway_count(); i++)
    if (!strcmp(hvb_gateway_record_name(hvb_gateway_at(i)), name)) r = hvb_gateway_at(i);
  if (!r) {
    json_object *dirs = hvb_gateway_search_path();
    fprintf(stderr, "hb: gateways: no gateway '%s': no file hb-gateway-%s.so in %s\n", name,
            name,
            json_object_to_json_string_ext(dirs, JSON_C_TO_STRING_PLAIN |
                                                     JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(dirs);
    return HB_EXIT_FAIL;
  }
  show(r, json);
  return usable(r) ? HB_EXIT_OK : HB_EXIT_FAIL;
}

static int check(const char *path, bool json) {
  hvb_error err = HVB_ERROR_INIT;
  hvb_gateway_record *r = hvb_gateway_check(path, &err);
  if (!r) return hb_fail("gateways check", &err);
  int rc = usable(r) ? HB_EXIT_OK : HB_EXIT_FAIL;
  if (json) {
    show(r, true);
  } else if (rc == HB_EXIT_OK) {
    printf("%s: loaded: gateway '%s' %s (ABI %u.%u)\n", path, hvb_gateway_record_name(r),
           hvb_gateway_record_version(r) ? hvb_gateway_record_version(r) : "",
           hvb_gateway_record_abi_major(r), hvb_gateway_record_abi_minor(r));
  } else {
    const char *stage = hvb_gateway_stage_name(hvb_gateway_record_stage(r));
    printf("%s: %s%s%s: %s\n", path, hvb_gateway_state_name(hvb_gateway_record_state(r)),
           *stage ? " at stage " : "", stage, hvb_gateway_record_reason(r));
  }
  hvb_gateway_record_free(r);
  return rc;
}

int hb_cmd_gateways(int argc, char **argv) {
  if (argc < 2) return hb_usage("gateways", "give a subcommand: list, info NAME or check PATH");
  const char *sub = argv[1];
  const hb_opt_id *accepted = hb_command_options_find("gateways", sub);
  if (!accepted) return hb_usage("gateways", "unknown subcommand '%s' (list, info, check)", sub);
  bool all = false, json = false, listing = !strcmp(sub, "list");
  const char *arg = NULL;
  hb_args a;
  hb_arg one;
  hb_args_init(&a, "gateways", accepted, argc, argv, 2);
  for (hb_args_kind k; (k = hb_args_next(&a, &one)) != HB_ARGS_END;) {
    if (k == HB_ARGS_ERROR) return HB_EXIT_USAGE;
    if (k == HB_ARGS_OPTION && one.opt->id == HB_OPT_ALL)
      all = true;
    else if (k == HB_ARGS_OPTION)
      json = true;
    else if (!arg && !listing)
      arg = one.value;
    else
      return hb_usage("gateways", "unexpected argument '%s'", one.value);
  }
  if (listing) return list(all, json);
  if (!arg) return hb_usage("gateways", "%s needs %s", sub, *sub == 'i' ? "a NAME" : "a PATH");
  return *sub == 'i' ? info(arg, json) : check(arg, json);
}
