/* cli/plugins.c: the listing, check output and arguments of `hb gateways` and `hb caches`
 * (cli/plugins.h). */
#include "cli.h"
#include "plugins.h"

#include <string.h>

static const char *str(json_object *rec, const char *key) {
  return json_object_get_string(json_object_object_get(rec, key));
}

bool hb_plugin_usable(json_object *rec) {
  const char *st = str(rec, "state");
  return st && (!strcmp(st, "builtin") || !strcmp(st, "loaded"));
}

const char *hb_plugin_caps_text(json_object *rec, char *buf, size_t size) {
  json_object *caps = json_object_object_get(rec, "caps");
  buf[0] = '\0';
  for (size_t i = 0; i < json_object_array_length(caps); i++) {
    if (buf[0]) strncat(buf, ",", size - strlen(buf) - 1);
    strncat(buf, json_object_get_string(json_object_array_get_idx(caps, i)),
            size - strlen(buf) - 1);
  }
  if (!buf[0]) snprintf(buf, size, "-");
  return buf;
}

static void print_row(const hb_plugin_cli *c, json_object *rec, bool all) {
  char caps[96];
  const char *version = str(rec, "version"), *path = str(rec, "path");
  if (all)
    printf("%-12s %-12s %-9s %-*s %s\n", str(rec, "name"), str(rec, "state"),
           version ? version : "-", c->caps_width, hb_plugin_caps_text(rec, caps, sizeof caps),
           path ? path : "built in");
  else
    printf("%-12s %-9s %-*s %s\n", str(rec, "name"), version ? version : "-", c->caps_width,
           hb_plugin_caps_text(rec, caps, sizeof caps), path ? path : "built in");
  if (!hb_plugin_usable(rec)) {
    const char *stage = str(rec, "stage");
    printf("%-12s %s%s%s\n", "", stage, *stage ? ": " : "", str(rec, "reason"));
  }
}

int hb_plugin_list(const hb_plugin_cli *c, bool all, bool json) {
  size_t n = c->count();
  json_object *arr = json ? json_object_new_array() : NULL;
  if (!json && all)
    printf("%-12s %-12s %-9s %-*s %s\n", "NAME", "STATE", "VERSION", c->caps_width,
           "CAPABILITIES", "PATH");
  else if (!json)
    printf("%-12s %-9s %-*s %s\n", "NAME", "VERSION", c->caps_width, "CAPABILITIES", "PATH");
  for (size_t i = 0; i < n; i++) {
    json_object *rec = c->at(i);
    if (json && (all || hb_plugin_usable(rec)))
      json_object_array_add(arr, json_object_get(rec));
    else if (all || hb_plugin_usable(rec))
      print_row(c, rec, all);
    json_object_put(rec);
  }
  if (json) {
    hb_print_json(stdout, arr, false);
    json_object_put(arr);
  } else if (all) {
    json_object *dirs = c->search_path();
    printf("\nsearch path:\n");
    for (size_t i = 0; i < json_object_array_length(dirs); i++)
      printf("  %s\n", json_object_get_string(json_object_array_get_idx(dirs, i)));
    json_object_put(dirs);
  }
  return HB_EXIT_OK;
}

int hb_plugin_check_print(const hb_plugin_cli *c, const char *path, json_object *rec, bool json) {
  int rc = hb_plugin_usable(rec) ? HB_EXIT_OK : HB_EXIT_FAIL;
  const char *version = str(rec, "version"), *stage = str(rec, "stage");
  if (json)
    hb_print_json(stdout, rec, false);
  else if (rc == HB_EXIT_OK && c->check_abi)
    printf("%s: loaded: %s '%s' %s (ABI %s)\n", path, c->noun, str(rec, "name"),
           version ? version : "", str(rec, "abi"));
  else if (rc == HB_EXIT_OK)
    printf("%s: loaded: %s '%s' %s\n", path, c->noun, str(rec, "name"), version ? version : "");
  else
    printf("%s: %s%s%s: %s\n", path, str(rec, "state"), *stage ? " at stage " : "", stage,
           str(rec, "reason"));
  return rc;
}

int hb_plugin_args(const char *command, const hb_opt_id *accepted, int argc, char **argv,
                   bool listing, bool *all, bool *json, const char **arg) {
  hb_args a;
  hb_arg one;
  *all = *json = false;
  *arg = NULL;
  hb_args_init(&a, command, accepted, argc, argv, 2);
  for (hb_args_kind k; (k = hb_args_next(&a, &one)) != HB_ARGS_END;) {
    if (k == HB_ARGS_ERROR) return HB_EXIT_USAGE;
    if (k == HB_ARGS_OPTION && one.opt->id == HB_OPT_ALL)
      *all = true;
    else if (k == HB_ARGS_OPTION)
      *json = true;
    else if (!*arg && !listing)
      *arg = one.value;
    else
      return hb_usage(command, "unexpected argument '%s'", one.value);
  }
  return -1;
}
