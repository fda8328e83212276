/* cli/cmd-gateways.c: hb gateways list|info|check: what the plugin registry found, and why a
 * file was refused (the gst-inspect of HeavenBase). list and check are cli/plugins.c's. */
#include "cli.h"
#include "plugins.h"

#include <string.h>

static bool usable(const hvb_gateway_record *r) {
  hvb_gateway_state st = hvb_gateway_record_state(r);
  return st == HVB_GATEWAY_STATE_BUILTIN || st == HVB_GATEWAY_STATE_LOADED;
}

static const char *where(const hvb_gateway_record *r) {
  const char *path = hvb_gateway_record_path(r);
  return path ? path : "built in";
}

static json_object *at(size_t i) {
  return hvb_gateway_record_to_json(hvb_gateway_at(i));
}

static const hb_plugin_cli gateways = {
    .noun = "gateway",
    .caps_width = 32,
    .check_abi = true,
    .count = hvb_gateway_count,
    .at = at,
    .search_path = hvb_gateway_search_path,
};

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
  if (usable(r)) {
    json_object *o = hvb_gateway_record_to_json(r);
    printf("%-13s %s\n", "capabilities", hb_plugin_caps_text(o, caps, sizeof caps));
    json_object_put(o);
  }
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
  json_object *o = hvb_gateway_record_to_json(r);
  hvb_gateway_record_free(r);
  int rc = hb_plugin_check_print(&gateways, path, o, json);
  json_object_put(o);
  return rc;
}

int hb_cmd_gateways(int argc, char **argv) {
  if (argc < 2) return hb_usage("gateways", "give a subcommand: list, info NAME or check PATH");
  const char *sub = argv[1];
  const hb_opt_id *accepted = hb_command_options_find("gateways", sub);
  if (!accepted) return hb_usage("gateways", "unknown subcommand '%s' (list, info, check)", sub);
  bool all, json, listing = !strcmp(sub, "list");
  const char *arg;
  int rc = hb_plugin_args("gateways", accepted, argc, argv, listing, &all, &json, &arg);
  if (rc >= 0) return rc;
  if (listing) return hb_plugin_list(&gateways, all, json);
  if (!arg) return hb_usage("gateways", "%s needs %s", sub, *sub == 'i' ? "a NAME" : "a PATH");
  return *sub == 'i' ? info(arg, json) : check(arg, json);
}
