/* cli/cmd-route.c: hb route status [NAME] [--json]: the routes of the catalog and the state
 * of each target's circuit breaker: this process's, or the fleet's when the cache backend
 * shares breakers (hvb_route_status). */
#include "cli.h"

#include <string.h>

static void print_route(json_object *r) {
  const char *err = json_object_get_string(json_object_object_get(r, "error"));
  printf("route %s", json_object_get_string(json_object_object_get(r, "name")));
  if (err) {
    printf(": cannot be loaded: %s\n", err);
    return;
  }
  printf(" (%s)\n", json_object_get_string(json_object_object_get(r, "strategy")));
  json_object *targets = json_object_object_get(r, "targets");
  for (size_t i = 0; i < json_object_array_length(targets); i++) {
    json_object *t = json_object_array_get_idx(targets, i);
    json_object *b = json_object_object_get(t, "breaker");
    const char *state = b ? json_object_get_string(json_object_object_get(b, "state")) : "-";
    printf("  %zu  %-24s %-10s", i + 1, json_object_get_string(json_object_object_get(t, "label")),
           state);
    if (b)
      printf(" failures %s (%s in a row), successes %s, skipped %s",
             json_object_get_string(json_object_object_get(b, "failures")),
             json_object_get_string(json_object_object_get(b, "consecutive_failures")),
             json_object_get_string(json_object_object_get(b, "successes")),
             json_object_get_string(json_object_object_get(b, "skipped")));
    if (b && json_object_get_boolean(json_object_object_get(b, "shared"))) printf(" (fleet)");
    printf("\n");
  }
}

int hb_cmd_route(int argc, char **argv) {
  if (argc < 2) return hb_usage("route", "give a subcommand: status [NAME]");
  const hb_opt_id *accepted = hb_command_options_find("route", argv[1]);
  if (!accepted) return hb_usage("route", "unknown subcommand '%s' (status)", argv[1]);
  bool json = false;
  const char *name = NULL;
  hb_args a;
  hb_arg one;
  hb_args_init(&a, "route", accepted, argc, argv, 2);
  for (hb_args_kind k; (k = hb_args_next(&a, &one)) != HB_ARGS_END;) {
    if (k == HB_ARGS_ERROR) return HB_EXIT_USAGE;
    if (k == HB_ARGS_OPTION)
      json = true;
    else if (!name)
      name = one.value;
    else
      return hb_usage("route", "unexpected argument '%s'", one.value);
  }
  hvb_error err = HVB_ERROR_INIT;
  json_object *st = hvb_route_status(NULL, name, &err);
  if (!st) return hb_fail("route status", &err);
  if (json) {
    hb_print_json(stdout, st, false);
  } else if (name) {
    print_route(st);
  } else {
    if (!json_object_array_length(st)) printf("no routes (heavenbase.llm.routes is empty)\n");
    for (size_t i = 0; i < json_object_array_length(st); i++)
      print_route(json_object_array_get_idx(st, i));
  }
  json_object_put(st);
  return HB_EXIT_OK;
}
